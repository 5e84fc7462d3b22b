/* framer: see framer.h. The JSON splitter only tracks strings, brackets and
 * the keys of the outermost object; it does not validate -- the json parser
 * does that per record, so one bad record fails alone. It never drops bytes
 * silently: whatever is not part of a JSON value becomes a (bad) record. */
#include <stdio.h>
#include <string.h>
#include "framer.h"

#define MAX_RECORD (64u << 20)

void framer_init(struct framer *f, enum framing mode, const char *split_key, const regex_t *first_line,
                 frame_fn fn, void *arg)
{
    memset(f, 0, sizeof *f);
    f->mode = mode;
    f->split_key = split_key;
    f->split_len = split_key ? strlen(split_key) : 0;
    f->first_line = first_line;
    f->max_record = MAX_RECORD;
    f->fn = fn;
    f->arg = arg;
    buf_init(&f->acc);
    buf_init(&f->ml);
}

void framer_free(struct framer *f)
{
    buf_free(&f->acc);
    buf_free(&f->ml);
}

#define KEEP_BYTES (4u << 20)      /* a buffer grown larger by one huge record is given back */

static buf_t kept(buf_t b)
{
    if (b.cap > KEEP_BYTES) buf_free(&b);
    buf_reset(&b);
    return b;
}

void framer_restart(struct framer *f, enum framing mode, const char *split_key, const regex_t *first_line,
                    frame_fn fn, void *arg)
{
    buf_t acc = kept(f->acc), ml = kept(f->ml);
    framer_init(f, mode, split_key, first_line, fn, arg);
    f->acc = acc;
    f->ml = ml;
}

static int too_long(struct framer *f, uint64_t line)
{
    snprintf(f->err, sizeof f->err, "record at line %llu is longer than %zu bytes",
             (unsigned long long)line, f->max_record);
    return -1;
}

/* ---- multiline ---------------------------------------------------------- */

static int flush_multiline(struct framer *f)
{
    if (!f->ml.len) return 0;
    while (f->ml.len && (f->ml.data[f->ml.len - 1] == '\n' || f->ml.data[f->ml.len - 1] == '\r')) f->ml.len--;
    int r = f->ml.len ? f->fn(f->arg, f->ml.data, f->ml.len, f->ml_line) : 0;
    buf_reset(&f->ml);
    return r;
}

static int multiline_add(struct framer *f, const char *s, size_t n, uint64_t line)
{
    char tmp[512];
    size_t l = n < sizeof tmp - 1 ? n : sizeof tmp - 1;
    memcpy(tmp, s, l);
    tmp[l] = 0;
    if (regexec(f->first_line, tmp, 0, NULL, 0) == 0 || !f->ml.len) {
        int r = flush_multiline(f);
        if (r) return r;
        f->ml_line = line;
    }
    if (f->ml.len + n > f->max_record) return too_long(f, f->ml_line);
    if (f->ml.len) buf_putc(&f->ml, '\n');
    buf_append(&f->ml, s, n);
    return 0;
}

/* ---- lines -------------------------------------------------------------- */

static int emit_line(struct framer *f, const char *s, size_t n)
{
    f->line++;
    if (n && s[n - 1] == '\r') n--;
    if (f->mode == FRAME_MULTILINE) return multiline_add(f, s, n, f->line);
    return f->fn(f->arg, s, n, f->line);
}

static int feed_lines(struct framer *f, const char *s, size_t n)
{
    if (f->acc.len) {
        const char *nl = memchr(s, '\n', n);
        if (!nl) {
            if (f->acc.len + n > f->max_record) return too_long(f, f->line + 1);
            buf_append(&f->acc, s, n);
            return 0;
        }
        buf_append(&f->acc, s, (size_t)(nl - s));
        int r = emit_line(f, f->acc.data, f->acc.len);
        buf_reset(&f->acc);
        if (r) return r;
        n -= (size_t)(nl - s) + 1;
        s = nl + 1;
    }
    const char *nl;
    while ((nl = memchr(s, '\n', n))) {
        int r = emit_line(f, s, (size_t)(nl - s));
        if (r) return r;
        n -= (size_t)(nl - s) + 1;
        s = nl + 1;
    }
    if (n > f->max_record) return too_long(f, f->line + 1);
    buf_append(&f->acc, s, n);
    return 0;
}

/* ---- json --------------------------------------------------------------- */

static int json_emit(struct framer *f, size_t end)
{
    return f->fn(f->arg, f->acc.data + f->rec_start, end - f->rec_start, f->rec_line);
}

static void begin_record(struct framer *f)
{
    f->rec_start = f->scan;
    f->rec_line = f->scan_line;
}

/* Where the elements of the split array (or a top-level array) start. */
static int at_element(const struct framer *f)
{
    return (f->split_active && f->depth == 2) || (f->top_array && f->depth == 1);
}

static int is_json_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* A scalar element ("x", 12, null) is a record too: the parser rejects it
 * with a message, where skipping it would lose it silently. */
static int end_scalar(struct framer *f)
{
    size_t end = f->scan;
    while (end > f->rec_start && is_json_ws(f->acc.data[end - 1])) end--;
    f->scalar_open = 0;
    return json_emit(f, end);
}

/* Bytes between values that cannot start one: the rest of the line is one
 * bad record, so a corrupt line in JSON Lines fails alone. */
static int start_junk(struct framer *f)
{
    begin_record(f);
    f->junk_open = 1;
    return 0;
}

static int json_open(struct framer *f, char c)
{
    if (f->depth == 0) {
        begin_record(f);
        f->top_array = c == '[';
        f->split_active = f->split_happened = 0;
    } else if (at_element(f) && !f->scalar_open) {
        begin_record(f);
    }
    if (f->depth == 1 && c == '[' && f->want_array) f->split_active = f->split_happened = 1;
    f->want_array = 0;
    f->depth++;
    f->expect_key = c == '{' && f->depth == 1;
    return 0;
}

static int json_close(struct framer *f)
{
    if (f->depth == 0) return start_junk(f);
    if (at_element(f) && f->scalar_open) {
        int r = end_scalar(f);
        if (r) return r;
    }
    f->depth--;
    size_t end = f->scan + 1;
    if (f->scalar_open) return 0;                      /* "1{}" is part of a scalar element */
    if (at_element(f)) return json_emit(f, end);
    if (f->split_active && f->depth == 1) { f->split_active = 0; return 0; }
    if (f->depth == 0 && !f->split_happened && !f->top_array) return json_emit(f, end);
    return 0;
}

static void json_key_end(struct framer *f)
{
    f->key_open = 0;
    f->key_done = 1;
    f->key_end = f->scan;
}

static int json_colon(struct framer *f)
{
    if (f->depth == 1 && f->key_done && f->split_key && f->key_end - f->key_start == f->split_len &&
        memcmp(f->acc.data + f->key_start, f->split_key, f->split_len) == 0)
        f->want_array = 1;
    f->key_done = 0;
    f->expect_key = 0;
    return 0;
}

static int json_string_byte(struct framer *f, char c)
{
    if (c == '\n') f->scan_line++;
    if (f->esc) f->esc = 0;
    else if (c == '\\') f->esc = 1;
    else if (c == '"') { f->in_str = 0; if (f->key_open) json_key_end(f); }
    return 0;
}

static int json_junk_byte(struct framer *f, char c)
{
    if (c != '\n') return 0;
    f->junk_open = 0;
    int r = json_emit(f, f->scan);
    f->scan_line++;
    return r;
}

/* A byte that starts a scalar value. */
static int json_scalar_byte(struct framer *f, char c)
{
    if (f->depth == 0) return start_junk(f);
    if (at_element(f) && !f->scalar_open) {
        begin_record(f);
        f->scalar_open = 1;
    }
    if (c == '"') {
        f->in_str = 1;
        if (f->depth == 1 && f->expect_key) { f->key_open = 1; f->key_start = f->scan + 1; }
    } else {
        f->want_array = 0;
    }
    return 0;
}

static int json_step(struct framer *f, char c)
{
    if (f->junk_open) return json_junk_byte(f, c);
    if (f->in_str) return json_string_byte(f, c);
    switch (c) {
    case '{': case '[': return json_open(f, c);
    case '}': case ']': return json_close(f);
    case ',':
        if (at_element(f) && f->scalar_open) {
            int r = end_scalar(f);
            if (r) return r;
        }
        if (f->depth == 1 && !f->top_array) f->expect_key = 1;
        f->want_array = 0;
        return 0;
    case ':': return json_colon(f);
    case '\n': f->scan_line++; return 0;
    case ' ': case '\t': case '\r': return 0;
    default: return json_scalar_byte(f, c);
    }
}

/* Drop what no future record needs: between elements of a split array,
 * everything before the scan point. */
static void json_compact(struct framer *f)
{
    size_t keep = f->scan;
    int between = at_element(f) || (f->split_happened && f->depth == 1);
    int inside = f->junk_open || (f->depth > 0 && (!between || f->scalar_open));
    if (inside) keep = f->rec_start;
    if (f->key_open || f->key_done) keep = keep < f->key_start ? keep : f->key_start;
    if (!keep) return;
    buf_consume(&f->acc, keep);
    f->scan -= keep;
    f->rec_start = f->rec_start >= keep ? f->rec_start - keep : 0;
    f->key_start = f->key_start >= keep ? f->key_start - keep : 0;
    f->key_end = f->key_end >= keep ? f->key_end - keep : 0;
}

/* Inside a string only '"' and '\\' matter: jump to the next of them.
 * Returns 1 when it moved the scan position (the caller re-checks state). */
static int skip_string_body(struct framer *f)
{
    const char *p = f->acc.data + f->scan, *end = f->acc.data + f->acc.len;
    const char *q = memchr(p, '"', (size_t)(end - p));
    const char *b = memchr(p, '\\', (size_t)((q ? q : end) - p));
    const char *stop = b ? b : q ? q : end;
    if (stop == p) return 0;
    /* Raw newlines are invalid in JSON strings, but line numbers must stay right. */
    for (const char *nl = p; (nl = memchr(nl, '\n', (size_t)(stop - nl))); nl++) f->scan_line++;
    f->scan = (size_t)(stop - f->acc.data);
    return 1;
}

/* Index of the quote that closes a string whose content starts at j, or n
 * when it does not close in s[0..n): a quote after an odd run of
 * backslashes is escaped. */
static size_t string_close(const char *s, size_t j, size_t n)
{
    size_t from = j;
    for (;;) {
        const char *q = memchr(s + j, '"', n - j);
        if (!q) return n;
        size_t k = (size_t)(q - s), b = k;
        while (b > from && s[b - 1] == '\\') b--;
        if ((k - b) % 2 == 0) return k;
        j = k + 1;
    }
}

static size_t count_newlines(const char *s, size_t n)
{
    size_t lines = 0;
    for (const char *nl = s; (nl = memchr(nl, '\n', (size_t)(s + n - nl))); nl++) lines++;
    return lines;
}

/* 1 for the bytes skip_nested stops at. */
static const unsigned char nested_stop[256] = {
    ['"'] = 1, ['{'] = 1, ['['] = 1, ['}'] = 1, [']'] = 1, [':'] = 1,
};

/* Deeper inside a value than the levels the splitter tracks (the top-level
 * keys, the elements of the split array), json_step only counts brackets
 * and skips strings: do that here in a tight loop, up to the bracket that
 * closes back to those levels or a string that the buffer cuts. (A colon
 * still ends a top-level key that had none: malformed input frames as it
 * always did.) Returns 1 when it moved. */
static int skip_nested(struct framer *f)
{
    int top = f->split_active ? 3 : 2;
    const char *s = f->acc.data;
    size_t i = f->scan, n = f->acc.len;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (!nested_stop[c]) { i++; continue; }
        if (c == '"') {
            size_t e = string_close(s, i + 1, n);
            if (e == n) break;
            i = e + 1;
        } else if (c == '{' || c == '[') {
            f->depth++;
            i++;
        } else if (c == ':') {
            f->key_done = 0;
            i++;
        } else {
            if (f->depth <= top) break;
            f->depth--;
            i++;
        }
    }
    if (i == f->scan) return 0;
    f->scan_line += count_newlines(s + f->scan, i - f->scan);
    f->scan = i;
    return 1;
}

static int feed_json(struct framer *f, const char *s, size_t n)
{
    if (f->acc.len + n > f->max_record) {
        json_compact(f);
        if (f->acc.len + n > f->max_record) return too_long(f, f->rec_line);
    }
    buf_append(&f->acc, s, n);
    if (f->scan_line == 0) f->scan_line = 1;
    while (f->scan < f->acc.len) {
        if (f->in_str && !f->esc && skip_string_body(f)) continue;
        if (!f->in_str && !f->junk_open && !f->scalar_open && f->depth >= (f->split_active ? 3 : 2) && skip_nested(f))
            continue;
        int r = json_step(f, f->acc.data[f->scan]);
        if (r) return r;
        f->scan++;
    }
    json_compact(f);
    return 0;
}

static int finish_json(struct framer *f)
{
    if (f->junk_open) {
        f->junk_open = 0;
        int r = json_emit(f, f->scan);
        if (r) return r;
    }
    if (f->depth || f->in_str) {
        snprintf(f->err, sizeof f->err, "truncated JSON: the value starting at line %llu never ends",
                 (unsigned long long)f->rec_line);
        return -1;
    }
    return 0;
}

int framer_feed(struct framer *f, const char *data, size_t len)
{
    if (len == 0) return 0;     /* an empty chunk (an empty S3 object) may come with data == NULL */
    return f->mode == FRAME_JSON ? feed_json(f, data, len) : feed_lines(f, data, len);
}

int framer_finish(struct framer *f)
{
    if (f->mode == FRAME_JSON) return finish_json(f);
    if (f->acc.len) {
        int r = emit_line(f, f->acc.data, f->acc.len);
        buf_reset(&f->acc);
        if (r) return r;
    }
    return f->mode == FRAME_MULTILINE ? flush_multiline(f) : 0;
}
