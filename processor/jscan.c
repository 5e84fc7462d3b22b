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

/* 1 for the bytes that end a run of plain string content. */
static const unsigned char str_special[256] = {
    [0 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1, [0x80 ... 0xff] = 1,
};

size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
    else return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp < 0xE000))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return len;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return c - 'A' + 10;
}

static unsigned hex4(const char *p)
{
    return (unsigned)(hexval(p[0]) << 12 | hexval(p[1]) << 8 | hexval(p[2]) << 4 | hexval(p[3]));
}

/* "uXXXX" at s[j], or 0. */
static int u_escape(const char *s, size_t j, size_t n, unsigned *cp)
{
    if (j + 4 >= n || s[j] != 'u' || !is_hex(s[j + 1]) || !is_hex(s[j + 2]) || !is_hex(s[j + 3]) || !is_hex(s[j + 4]))
        return 0;
    *cp = hex4(s + j + 1);
    return 1;
}

/* Length of the escape sequence at s[j] (the byte after a backslash), or 0.
 * A UTF-16 surrogate must come as a high-low pair: a lone one encodes no
 * character (jansson and most consumers reject it). */
static size_t escape_len(const char *s, size_t j, size_t n)
{
    unsigned cp, lo;
    if (j >= n) return 0;
    if (s[j] != 'u') return s[j] && strchr("\"\\/bfnrt", s[j]) ? 1 : 0;
    if (!u_escape(s, j, n, &cp)) return 0;
    if (cp < 0xD800 || cp >= 0xE000) return 5;
    if (cp >= 0xDC00 || j + 5 >= n || s[j + 5] != '\\' || !u_escape(s, j + 6, n, &lo) || lo < 0xDC00 || lo >= 0xE000)
        return 0;
    return 11;
}

/* s[i] is the opening quote. Returns the index after the closing quote, or 0.
 * Raw control characters and invalid UTF-8 are rejected as RFC 8259 says:
 * string tokens are emitted verbatim, so whatever passes here must already be
 * valid JSON text. */
static size_t scan_string(struct jscan *js, const char *s, size_t i, size_t n, int t)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t j = i + 1;
    for (;;) {
        while (j + 8 <= n) {
            uint64_t w;
            memcpy(&w, u + j, 8);
            uint64_t m = word_json_special(w);
            if (m) { j += word_skip(m); break; }
            j += 8;
        }
        while (j < n && !str_special[u[j]]) j++;
        if (j >= n || u[j] < 0x20) return 0;
        if (u[j] == '"') break;
        size_t l;
        if (u[j] == '\\') {
            js->tok[t].escaped = 1;
            l = escape_len(s, j + 1, n);
            if (l) l++;
        } else {
            l = utf8_seq_len(u + j, n - j);
        }
        if (!l) return 0;
        j += l;
    }
    js->tok[t].start = (uint32_t)(i + 1);
    js->tok[t].len = (uint32_t)(j - i - 1);
    return j + 1;
}

static size_t scan_number(const char *s, size_t i, size_t n)
{
    size_t j = i;
    if (j < n && s[j] == '-') j++;
    size_t digits = j;
    while (j < n && s[j] >= '0' && s[j] <= '9') j++;
    if (j == digits || (s[digits] == '0' && j - digits > 1)) return 0;    /* no leading zeros */
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
        if (!end) return fail(js, i, c == '"' ? "invalid string (unterminated, bad escape, control character or invalid UTF-8)" : "invalid value");
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

/* In an object, every key that is the whole rest of the path or a dotted
 * prefix of it is a candidate ("a.b" and "a" for "a.b.c"); the first one the
 * rest of the path resolves under wins. Each level consumes at least one
 * path segment, so the recursion depth is bounded by the path. */
static int object_path(const struct jscan *js, int obj, const char *path, size_t n)
{
    for (int k = jscan_first(js, obj); k >= 0; k = jscan_next_elem(js, obj, k)) {
        size_t kl = js->tok[k].len;
        const char *key = js->src + js->tok[k].start;
        if (kl > n || !kl || key[0] != path[0] || js->tok[k].escaped || memcmp(key, path, kl) != 0) continue;
        if (kl == n) return k + 1;
        if (path[kl] != '.' || kl + 1 == n) continue;      /* "a." names nothing */
        int found = jscan_path(js, k + 1, path + kl + 1, n - kl - 1);
        if (found >= 0) return found;
    }
    return -1;
}

int jscan_path(const struct jscan *js, int node, const char *path, size_t n)
{
    if (node < 0 || n == 0) return node;
    const struct jtok *t = &js->tok[node];
    if (t->type == J_OBJ) return object_path(js, node, path, n);
    if (t->type != J_ARR) return -1;
    const char *dot = memchr(path, '.', n);
    size_t seg = dot ? (size_t)(dot - path) : n;
    int elem = array_index(js, node, path, seg);
    if (!dot) return elem;
    return seg + 1 < n ? jscan_path(js, elem, dot + 1, n - seg - 1) : -1;
}

int jscan_streq(const struct jscan *js, int t, const char *s)
{
    return t >= 0 && js->tok[t].type == J_STR && key_matches(js, t, s, strlen(s));
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

/* cp is a UTF-16 surrogate from "\uXXXX" ending at p[*i]. A high one
 * followed by "\uDC00".."\uDFFF" makes one code point; any other surrogate
 * becomes U+FFFD, because encoding it alone would produce invalid UTF-8. */
static unsigned surrogate_pair(const char *p, size_t n, size_t *i, unsigned cp)
{
    size_t k = *i;
    if (cp >= 0xDC00 || k + 6 >= n || p[k + 1] != '\\' || p[k + 2] != 'u' || !is_hex(p[k + 3]) ||
        !is_hex(p[k + 4]) || !is_hex(p[k + 5]) || !is_hex(p[k + 6]))
        return 0xFFFD;
    unsigned lo = hex4(p + k + 3);
    if (lo < 0xDC00 || lo >= 0xE000) return 0xFFFD;
    *i = k + 6;
    return 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
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
            if (cp >= 0xD800 && cp < 0xE000) cp = surrogate_pair(p, n, &i, cp);
            o += put_utf8(out + o, cp);
            break;
        }
        default: out[o++] = c; break;
        }
    }
    return o;
}
