/* jscan: iterative JSON tokenizer (see jscan.h). It never recurses, so a
 * hostile nesting depth costs tape entries, not stack; depth is still capped
 * because no log record legitimately nests 512 levels. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "jscan.h"

#define JSCAN_MAX_DEPTH 512

void jscan_init(struct jscan *js) { memset(js, 0, sizeof *js); }
void jscan_free(struct jscan *js) { free(js->tok); jscan_init(js); }

static int push_tok(struct jscan *js, int type, size_t start)
{
    if (js->ntok == js->cap) {
        js->cap = js->cap ? js->cap * 2 : 256;
        js->tok = xrealloc(js->tok, js->cap * sizeof *js->tok);
    }
    struct jtok *t = &js->tok[js->ntok];
    t->type = (uint8_t)type;
    t->escaped = 0;
    t->start = (uint32_t)start;
    t->len = 0;
    t->next = 0;
    return (int)js->ntok++;
}

static int fail(struct jscan *js, size_t at, const char *what)
{
    snprintf(js->err, sizeof js->err, "%s at byte %zu", what, at);
    return -1;
}

static size_t skip_ws(const char *s, size_t i, size_t n)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
    return i;
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* s[i] is the opening quote. Returns index after the closing quote or 0. */
static size_t scan_string(struct jscan *js, const char *s, size_t i, size_t n, int t)
{
    size_t j = i + 1;
    for (;;) {
        const char *q = memchr(s + j, '"', n - j);
        const char *bs = memchr(s + j, '\\', q ? (size_t)(q - (s + j)) : n - j);
        if (!bs) {
            if (!q) return 0;
            js->tok[t].start = (uint32_t)(i + 1);
            js->tok[t].len = (uint32_t)((size_t)(q - s) - i - 1);
            return (size_t)(q - s) + 1;
        }
        js->tok[t].escaped = 1;
        j = (size_t)(bs - s) + 1;
        if (j >= n) return 0;
        if (s[j] == 'u') {
            if (j + 4 >= n || !is_hex(s[j + 1]) || !is_hex(s[j + 2]) || !is_hex(s[j + 3]) || !is_hex(s[j + 4]))
                return 0;
            j += 5;
        } else if (strchr("\"\\/bfnrt", s[j]) && s[j]) {
            j++;
        } else {
            return 0;
        }
    }
}

static size_t scan_number(const char *s, size_t i, size_t n)
{
    size_t j = i;
    if (j < n && s[j] == '-') j++;
    size_t digits = j;
    while (j < n && s[j] >= '0' && s[j] <= '9') j++;
    if (j == digits) return 0;
    if (j < n && s[j] == '.') {
        size_t f = ++j;
        while (j < n && s[j] >= '0' && s[j] <= '9') j++;
        if (j == f) return 0;
    }
    if (j < n && (s[j] == 'e' || s[j] == 'E')) {
        j++;
        if (j < n && (s[j] == '+' || s[j] == '-')) j++;
        size_t e = j;
        while (j < n && s[j] >= '0' && s[j] <= '9') j++;
        if (j == e) return 0;
    }
    return j;
}

static size_t scan_literal(const char *s, size_t i, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    return (n - i >= l && memcmp(s + i, lit, l) == 0) ? i + l : 0;
}

/* Scan one scalar at s[i]; returns index after it or 0. */
static size_t scan_scalar(struct jscan *js, const char *s, size_t i, size_t n)
{
    int t;
    size_t end;
    switch (s[i]) {
    case '"':
        t = push_tok(js, J_STR, i);
        end = scan_string(js, s, i, n, t);
        break;
    case 't': t = push_tok(js, J_TRUE, i); end = scan_literal(s, i, n, "true"); break;
    case 'f': t = push_tok(js, J_FALSE, i); end = scan_literal(s, i, n, "false"); break;
    case 'n': t = push_tok(js, J_NULL, i); end = scan_literal(s, i, n, "null"); break;
    default:  t = push_tok(js, J_NUM, i); end = scan_number(s, i, n); break;
    }
    if (!end) return 0;
    if (js->tok[t].type != J_STR) js->tok[t].len = (uint32_t)(end - i);
    js->tok[t].next = js->ntok;
    return end;
}

int jscan_parse(struct jscan *js, const char *s, size_t n)
{
    int stack[JSCAN_MAX_DEPTH];
    uint32_t nchild[JSCAN_MAX_DEPTH];   /* direct children so far; in objects keys count too */
    int depth = 0;
    js->src = s;
    js->ntok = 0;
    js->err[0] = 0;
    if (n >= UINT32_MAX) return fail(js, 0, "record too large");
    size_t i = skip_ws(s, 0, n);

    for (;;) {
        /* A value (or, inside an object at an even position, a key). */
        if (i >= n) return fail(js, i, depth ? "unexpected end of input" : "empty input");
        if (depth) nchild[depth - 1]++;
        char c = s[i];
        if (c == '{' || c == '[') {
            if (depth == JSCAN_MAX_DEPTH) return fail(js, i, "nesting too deep");
            nchild[depth] = 0;
            stack[depth++] = push_tok(js, c == '{' ? J_OBJ : J_ARR, i);
            i = skip_ws(s, i + 1, n);
            if (i < n && s[i] == (c == '{' ? '}' : ']')) goto close;
            if (c == '{' && (i >= n || s[i] != '"')) return fail(js, i, "expected object key");
            continue;
        }
        size_t end = scan_scalar(js, s, i, n);
        if (!end) return fail(js, i, "invalid value");
        i = skip_ws(s, end, n);

        /* After a value: ':' (after a key), ',' or a closing bracket. */
        for (;;) {
            if (!depth) goto done;
            if (i >= n) return fail(js, i, "unexpected end of input");
            int top = stack[depth - 1];
            int in_obj = js->tok[top].type == J_OBJ;
            int after_key = in_obj && (nchild[depth - 1] & 1);
            if (after_key) {
                if (s[i] != ':') return fail(js, i, "expected ':'");
                i = skip_ws(s, i + 1, n);
                break;
            }
            if (s[i] == ',') {
                i = skip_ws(s, i + 1, n);
                if (in_obj && (i >= n || s[i] != '"')) return fail(js, i, "expected object key");
                break;
            }
            if (s[i] != (in_obj ? '}' : ']')) return fail(js, i, "unexpected character");
close:
            top = stack[depth - 1];
            js->tok[top].len = (uint32_t)(i + 1 - js->tok[top].start);
            js->tok[top].next = js->ntok;
            depth--;
            i = skip_ws(s, i + 1, n);
        }
    }
done:
    if (i != n) return fail(js, i, "trailing data after JSON value");
    return 0;
}

int jscan_next_elem(const struct jscan *js, int parent, int child)
{
    uint32_t nx = js->tok[child].next;
    if (js->tok[parent].type == J_OBJ) nx = js->tok[nx].next;  /* skip the value */
    return nx < js->tok[parent].next ? (int)nx : -1;
}

int jscan_count(const struct jscan *js, int node)
{
    int n = 0;
    for (int c = jscan_first(js, node); c >= 0; c = jscan_next_elem(js, node, c)) n++;
    return n;
}

static int key_matches(const struct jscan *js, int k, const char *key, size_t keylen)
{
    const struct jtok *t = &js->tok[k];
    if (!t->escaped) return t->len == keylen && memcmp(js->src + t->start, key, keylen) == 0;
    char tmp[256];
    if (t->len > sizeof tmp) return 0;
    size_t n = json_unescape(js->src + t->start, t->len, tmp);
    return n == keylen && memcmp(tmp, key, keylen) == 0;
}

int jscan_key(const struct jscan *js, int obj, const char *key, size_t keylen)
{
    if (obj < 0 || js->tok[obj].type != J_OBJ) return -1;
    for (int k = jscan_first(js, obj); k >= 0; k = jscan_next_elem(js, obj, k))
        if (key_matches(js, k, key, keylen)) return k + 1;
    return -1;
}

static int array_index(const struct jscan *js, int arr, const char *p, size_t n)
{
    size_t idx = 0;
    if (n == 0 || n > 6) return -1;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return -1;
        idx = idx * 10 + (size_t)(p[i] - '0');
    }
    for (int c = jscan_first(js, arr); c >= 0; c = jscan_next_elem(js, arr, c))
        if (idx-- == 0) return c;
    return -1;
}

int jscan_path(const struct jscan *js, int node, const char *path, size_t n)
{
    while (node >= 0 && n) {
        const struct jtok *t = &js->tok[node];
        if (t->type == J_ARR) {
            const char *dot = memchr(path, '.', n);
            size_t seg = dot ? (size_t)(dot - path) : n;
            node = array_index(js, node, path, seg);
            if (!dot) return node;
            path += seg + 1; n -= seg + 1;
            continue;
        }
        if (t->type != J_OBJ) return -1;
        /* Try every key that is the whole rest of the path or a dotted prefix of it. */
        int found = -1;
        size_t used = 0;
        for (int k = jscan_first(js, node); k >= 0; k = jscan_next_elem(js, node, k)) {
            size_t kl = js->tok[k].len;
            if (js->tok[k].escaped || kl > n || memcmp(js->src + js->tok[k].start, path, kl) != 0) continue;
            if (kl == n) return k + 1;
            if (path[kl] == '.' && kl > used) { found = k + 1; used = kl; }
        }
        if (found < 0) return -1;
        node = found;
        path += used + 1; n -= used + 1;
    }
    return node;
}

int jscan_streq(const struct jscan *js, int t, const char *s)
{
    return t >= 0 && js->tok[t].type == J_STR && key_matches(js, t, s, strlen(s));
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return c - 'A' + 10;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F)); return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F)); return 4;
}

static unsigned hex4(const char *p)
{
    return (unsigned)(hexval(p[0]) << 12 | hexval(p[1]) << 8 | hexval(p[2]) << 4 | hexval(p[3]));
}

size_t json_unescape(const char *p, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '\\' || i + 1 >= n) { out[o++] = p[i]; continue; }
        char c = p[++i];
        switch (c) {
        case 'b': out[o++] = '\b'; break;
        case 'f': out[o++] = '\f'; break;
        case 'n': out[o++] = '\n'; break;
        case 'r': out[o++] = '\r'; break;
        case 't': out[o++] = '\t'; break;
        case 'u': {
            if (i + 4 >= n || !is_hex(p[i + 1]) || !is_hex(p[i + 2]) || !is_hex(p[i + 3]) || !is_hex(p[i + 4])) {
                out[o++] = '\\'; out[o++] = c; break;
            }
            unsigned cp = hex4(p + i + 1);
            i += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && i + 6 < n && p[i + 1] == '\\' && p[i + 2] == 'u') {
                unsigned lo = hex4(p + i + 3);
                if (lo >= 0xDC00 && lo < 0xE000) { cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00); i += 6; }
            }
            o += put_utf8(out + o, cp);
            break;
        }
        default: out[o++] = c; break;
        }
    }
    return o;
}
