/* fields: delimited text records -- VPC Flow Logs, ELB, S3 access logs,
 * CloudFront. Columns are named by a header line in the data (VPC "version
 * account-id ...", W3C "#Fields:"), by a layout chosen by the column count, or
 * by the schema's default list. Double-quoted and [bracketed] values are one
 * column each; "-" means absent. Nothing is copied: columns point into the
 * record, or into the stream's unwrap buffer for {"message": "..."} lines. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "doc.h"
#include "jscan.h"
#include "parser.h"

enum sep { SEP_WS, SEP_TAB, SEP_SPACE, SEP_COMMA };

struct fields_cfg {
    enum sep       sep;
    unsigned char  sep_byte[256];    /* 1 for the bytes that separate columns */
    unsigned char  sep1, sep2;       /* the same bytes, for scanning a word at a time */
    int            quotes, brackets, allow_extra, min_columns;
    int            join_after_comma; /* "a, b": a space after a comma does not end the column */
    struct layout  deflt;
    struct layout *by_count;
    int            nby_count;
    char          *header_token;     /* first token of a header line, e.g. "version" */
    char          *header_prefix;    /* e.g. "#Fields:" */
    char          *comment;          /* lines starting with this are skipped */
    char          *json_message;     /* unwrap {"<key>": "..."} lines */
};

struct fields_state {
    const struct fields_cfg *cfg;
    struct layout  header;           /* from the data; n == 0 until one is seen */
    struct jscan   js;
    buf_t          unwrapped;
};

static atomic_uint layout_versions = 1;

static void layout_free(struct layout *l)
{
    for (int i = 0; i < l->n; i++) free(l->names[i]);
    free(l->names);
    l->names = NULL;
    l->n = 0;
}

static int layout_from_json(struct layout *l, const json_t *arr)
{
    memset(l, 0, sizeof *l);
    if (!json_is_array(arr) || json_array_size(arr) > REC_MAX_COLS) return -1;
    l->names = xcalloc(json_array_size(arr) + 1, sizeof *l->names);
    size_t i;
    const json_t *e;
    json_array_foreach(arr, i, e) {
        const char *s = json_string_value(e);
        if (!s) return -1;
        l->names[l->n++] = column_name(s, strlen(s));
    }
    l->version = atomic_fetch_add(&layout_versions, 1);
    return 0;
}

static int is_sep(enum sep sep, char c)
{
    switch (sep) {
    case SEP_WS:    return c == ' ' || c == '\t';
    case SEP_TAB:   return c == '\t';
    case SEP_SPACE: return c == ' ';
    default:        return c == ',';
    }
}

static char *opt(const json_t *f, const char *k)
{
    const char *s = json_string_value(json_object_get(f, k));
    return s ? xstrdup(s) : NULL;
}

static void fields_free_config(void *p)
{
    struct fields_cfg *c = p;
    layout_free(&c->deflt);
    for (int i = 0; i < c->nby_count; i++) layout_free(&c->by_count[i]);
    free(c->by_count);
    free(c->header_token);
    free(c->header_prefix);
    free(c->comment);
    free(c->json_message);
    free(c);
}

static void *fields_compile(const json_t *f, char *err, size_t errlen)
{
    struct fields_cfg *c = xcalloc(1, sizeof *c);
    const char *sep = json_string_value(json_object_get(f, "separator"));
    c->sep = !sep || !strcmp(sep, "ws") ? SEP_WS : !strcmp(sep, "tab") ? SEP_TAB : !strcmp(sep, "space") ? SEP_SPACE : SEP_COMMA;
    for (int b = 0; b < 256; b++) c->sep_byte[b] = (unsigned char)is_sep(c->sep, (char)b);
    c->sep1 = c->sep == SEP_WS || c->sep == SEP_SPACE ? ' ' : c->sep == SEP_TAB ? '\t' : ',';
    c->sep2 = c->sep == SEP_WS ? '\t' : c->sep1;
    c->quotes = json_is_true(json_object_get(f, "quotes"));
    c->brackets = json_is_true(json_object_get(f, "brackets"));
    c->allow_extra = json_is_true(json_object_get(f, "allow_extra"));
    c->join_after_comma = json_is_true(json_object_get(f, "join_after_comma"));
    c->min_columns = (int)json_integer_value(json_object_get(f, "min_columns"));
    c->header_token = opt(f, "header_token");
    c->header_prefix = opt(f, "header_prefix");
    c->comment = opt(f, "comment");
    c->json_message = opt(f, "json_message");
    if (layout_from_json(&c->deflt, json_object_get(f, "columns")) < 0) {
        snprintf(err, errlen, "fields: \"columns\" must be an array of at most %d names", REC_MAX_COLS);
        fields_free_config(c);
        return NULL;
    }
    const json_t *lays = json_object_get(f, "layouts");
    c->by_count = xcalloc(json_array_size(lays) + 1, sizeof *c->by_count);
    size_t i;
    const json_t *e;
    json_array_foreach(lays, i, e) {
        if (layout_from_json(&c->by_count[c->nby_count++], json_object_get(e, "columns")) < 0) {
            snprintf(err, errlen, "fields: layouts[%zu].columns is invalid", i);
            fields_free_config(c);
            return NULL;
        }
    }
    return c;
}

static void *fields_open(const void *cfg, const struct stream_info *info)
{
    struct fields_state *st = xcalloc(1, sizeof *st);
    st->cfg = cfg;
    jscan_init(&st->js);
    buf_init(&st->unwrapped);
    return st;
}

static void fields_close(void *p)
{
    struct fields_state *st = p;
    layout_free(&st->header);
    jscan_free(&st->js);
    buf_free(&st->unwrapped);
    free(st);
}


/* Index of the byte that closes a quoted column whose content starts at j,
 * or n. Inside double quotes a backslash escapes the byte after it. */
static size_t quoted_end(const char *s, size_t j, size_t n, char close)
{
    for (;;) {
        const char *q = memchr(s + j, close, n - j);
        size_t end = q ? (size_t)(q - s) : n;
        const char *bs = close == '"' ? memchr(s + j, '\\', end - j) : NULL;
        if (!bs) return end;
        j = (size_t)(bs - s) + 2;
        if (j >= n) return n;
    }
}

/* End of an unquoted column that starts at i. */
static size_t plain_end(const struct fields_cfg *c, const char *s, size_t i, size_t n)
{
    size_t j = i;
    for (;;) {
        while (j + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + j, 8);
            uint64_t m = word_has_byte(w, c->sep1) | word_has_byte(w, c->sep2);
            if (m) { j += word_skip(m); break; }
            j += 8;
        }
        while (j < n && !c->sep_byte[(unsigned char)s[j]]) j++;
        /* "a, b": a space after a comma does not end the column */
        if (j < n && c->join_after_comma && j > i && s[j] == ' ' && s[j - 1] == ',') { j++; continue; }
        return j;
    }
}

/* Split s into columns. Returns the count (may exceed max: extra ones are dropped). */
static int split_columns(const struct fields_cfg *c, const char *s, size_t n, struct span *cols, int max)
{
    size_t i = 0;
    int count = 0;
    while (i < n) {
        if (c->sep == SEP_WS) while (i < n && c->sep_byte[(unsigned char)s[i]]) i++;
        if (i >= n) break;
        const char *start = s + i;
        size_t len;
        char close = 0;
        if (c->quotes && s[i] == '"') close = '"';
        else if (c->brackets && s[i] == '[') close = ']';
        if (close) {
            size_t j = quoted_end(s, i + 1, n, close);
            start = s + i + 1;
            len = j - i - 1;
            i = j < n ? j + 1 : n;
        } else {
            size_t j = plain_end(c, s, i, n);
            len = j - i;
            i = j;
        }
        if (c->sep != SEP_WS && i < n && c->sep_byte[(unsigned char)s[i]]) i++;
        if (count < max) {
            int absent = len == 0 || (len == 1 && start[0] == '-');
            cols[count].p = absent ? NULL : start;
            cols[count].len = (uint32_t)len;
            cols[count].kind = DV_STR;
        }
        count++;
    }
    return count;
}

static int parse_header(struct fields_state *st, const char *s, size_t n, struct record *rec)
{
    struct span tmp[REC_MAX_COLS];
    int count = split_columns(st->cfg, s, n, tmp, REC_MAX_COLS);
    if (count > REC_MAX_COLS) return record_fail(rec, "header has more than %d columns", REC_MAX_COLS);
    layout_free(&st->header);
    st->header.names = xcalloc((size_t)count + 1, sizeof *st->header.names);
    for (int i = 0; i < count; i++) {
        char *name = tmp[i].p ? column_name(tmp[i].p, tmp[i].len) : xstrdup("");
        if (!name[0]) {      /* "-" or "***": no usable name, and an empty field name breaks OpenSearch */
            free(name);
            name = xmalloc(24);
            snprintf(name, 24, "column_%d", i + 1);
        }
        st->header.names[st->header.n++] = name;
    }
    st->header.version = atomic_fetch_add(&layout_versions, 1);
    return record_skip(rec, "header");
}

static int starts_with(const char *s, size_t n, const char *prefix)
{
    size_t l = strlen(prefix);
    return n >= l && memcmp(s, prefix, l) == 0;
}

/* {"message": "2 123456789012 eni-..."} as Firehose and some agents deliver lines. */
static int unwrap_message(struct fields_state *st, const char **s, size_t *n, struct record *rec)
{
    if (jscan_parse(&st->js, *s, *n) < 0) return record_fail(rec, "invalid JSON line: %s", st->js.err);
    int t = jscan_key(&st->js, 0, st->cfg->json_message, strlen(st->cfg->json_message));
    if (t < 0 || st->js.tok[t].type != J_STR) return record_fail(rec, "JSON line without a \"%s\" string", st->cfg->json_message);
    buf_reset(&st->unwrapped);
    buf_reserve(&st->unwrapped, jscan_len(&st->js, t));
    st->unwrapped.len = json_unescape(jscan_ptr(&st->js, t), jscan_len(&st->js, t), st->unwrapped.data);
    *s = st->unwrapped.data;
    *n = st->unwrapped.len;
    return PARSE_OK;
}

static const struct layout *choose_layout(const struct fields_state *st, int count)
{
    if (st->header.n) return &st->header;
    for (int i = 0; i < st->cfg->nby_count; i++)
        if (st->cfg->by_count[i].n == count) return &st->cfg->by_count[i];
    return &st->cfg->deflt;
}

static int fields_parse(void *p, const char *s, size_t n, struct record *rec)
{
    struct fields_state *st = p;
    const struct fields_cfg *c = st->cfg;
    while (n && (s[n - 1] == '\r' || s[n - 1] == ' ')) n--;
    if (n == 0) return record_skip(rec, "empty line");
    if (c->json_message && s[0] == '{' && unwrap_message(st, &s, &n, rec) != PARSE_OK) return PARSE_ERROR;
    if (c->header_prefix && starts_with(s, n, c->header_prefix))
        return parse_header(st, s + strlen(c->header_prefix), n - strlen(c->header_prefix), rec);
    if (c->comment && starts_with(s, n, c->comment)) return record_skip(rec, "comment");
    if (c->header_token && starts_with(s, n, c->header_token) && n > strlen(c->header_token) &&
        is_sep(SEP_WS, s[strlen(c->header_token)]))
        return parse_header(st, s, n, rec);
    int count = split_columns(c, s, n, rec->cols, REC_MAX_COLS);
    const struct layout *l = choose_layout(st, count);
    int need = c->min_columns && c->min_columns < l->n ? c->min_columns : l->n;
    if (count < need) return record_fail(rec, "expected %d columns, found %d", need, count);
    for (int i = count; i < l->n; i++) rec->cols[i].p = NULL;
    if (count > l->n && !c->allow_extra) return record_fail(rec, "expected %d columns, found %d", l->n, count);
    rec->layout = l;
    rec->ncols = l->n;
    return PARSE_OK;
}

const struct parser parser_fields = {
    .name = "fields",
    .compile = fields_compile,
    .free_config = fields_free_config,
    .open = fields_open,
    .parse = fields_parse,
    .close = fields_close,
};
