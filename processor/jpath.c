/* jpath: see jpath.h. The plain runs between selectors are resolved by
 * jscan_path, so dotted keys behave exactly as in plain paths; this module
 * only adds the selectors. Matching is a depth-first walk whose recursion
 * depth is the number of selectors passed, at most JPATH_MAX_SELECTORS. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "jpath.h"

enum sel_kind { SEL_ALL, SEL_INDEX, SEL_HAS, SEL_EQ, SEL_NE };

struct selector {
    enum sel_kind kind;
    const char *key, *value;
    size_t keylen, valuelen;
};

struct walk {
    const struct jscan *js;
    int *out;
    int max, n;
};

static int all_digits(const char *s, size_t n)
{
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++) if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

/* body is the text between '[' and ']'. */
static void parse_selector(const char *body, size_t n, struct selector *s)
{
    memset(s, 0, sizeof *s);
    const char *eq = memchr(body, '=', n);
    if (!eq) {
        s->kind = n == 0 ? SEL_ALL : all_digits(body, n) ? SEL_INDEX : SEL_HAS;
        s->key = body;
        s->keylen = n;
        return;
    }
    int ne = eq > body && eq[-1] == '!';
    s->kind = ne ? SEL_NE : SEL_EQ;
    s->key = body;
    s->keylen = (size_t)(eq - body) - (size_t)ne;
    s->value = eq + 1;
    s->valuelen = n - (size_t)(eq - body) - 1;
}

/* Does scalar token t hold the selector's value (ASCII case ignored)? */
static int value_matches(const struct jscan *js, int t, const struct selector *s)
{
    const struct jtok *k = &js->tok[t];
    if (k->type == J_OBJ || k->type == J_ARR || k->type == J_NULL) return 0;
    const char *p = jscan_ptr(js, t);
    size_t len = jscan_len(js, t);
    char tmp[256];
    if (k->type == J_STR && k->escaped) {
        if (len > sizeof tmp) return 0;
        len = json_unescape(p, len, tmp);
        p = tmp;
    }
    return len == s->valuelen && strncasecmp(p, s->value, len) == 0;
}

static int keeps(const struct jscan *js, int node, const struct selector *s)
{
    if (s->kind == SEL_ALL) return 1;
    int v = js->tok[node].type == J_OBJ ? jscan_path(js, node, s->key, s->keylen) : -1;
    int present = v >= 0 && js->tok[v].type != J_NULL;
    switch (s->kind) {
    case SEL_HAS: return present;
    case SEL_EQ:  return present && value_matches(js, v, s);
    case SEL_NE:  return !present || !value_matches(js, v, s);
    default:      return 0;
    }
}

static int element_at(const struct jscan *js, int arr, const struct selector *s)
{
    if (js->tok[arr].type != J_ARR || s->keylen > 6) return -1;
    size_t idx = 0;
    for (size_t i = 0; i < s->keylen; i++) idx = idx * 10 + (size_t)(s->key[i] - '0');
    for (int c = jscan_first(js, arr); c >= 0; c = jscan_next_elem(js, arr, c))
        if (idx-- == 0) return c;
    return -1;
}

static int walk(struct walk *w, int node, const char *p, size_t n, int depth);

/* p[0] is '['. Apply the selector to node and walk the rest from each kept value. */
static int walk_selector(struct walk *w, int node, const char *p, size_t n, int depth)
{
    const char *close = memchr(p, ']', n);
    if (!close || depth >= JPATH_MAX_SELECTORS) return 0;
    struct selector s;
    parse_selector(p + 1, (size_t)(close - p) - 1, &s);
    const char *rest = close + 1;
    size_t rn = n - (size_t)(rest - p);
    if (rn && rest[0] == '.') { rest++; rn--; }
    if (s.kind == SEL_INDEX) return walk(w, element_at(w->js, node, &s), rest, rn, depth + 1);
    const struct jscan *js = w->js;
    int type = js->tok[node].type;
    if (type == J_ARR || (type == J_OBJ && s.kind == SEL_ALL)) {
        for (int c = jscan_first(js, node); c >= 0; c = jscan_next_elem(js, node, c)) {
            int v = type == J_OBJ ? c + 1 : c;
            if (keeps(js, v, &s) && walk(w, v, rest, rn, depth + 1)) return 1;
        }
        return 0;
    }
    if (type == J_OBJ && keeps(js, node, &s)) return walk(w, node, rest, rn, depth + 1);
    return 0;
}

/* Returns 1 once w->max matches are collected (stop), else 0. */
static int walk(struct walk *w, int node, const char *p, size_t n, int depth)
{
    if (node < 0) return 0;
    const char *br = memchr(p, '[', n);
    size_t plain = br ? (size_t)(br - p) : n;
    if (plain) {
        node = jscan_path(w->js, node, p, plain);
        if (node < 0) return 0;
        p += plain;
        n -= plain;
    }
    if (n == 0) {
        w->out[w->n++] = node;
        return w->n >= w->max;
    }
    return walk_selector(w, node, p, n, depth);
}

int jpath_all(const struct jscan *js, int node, const char *path, size_t n, int *out, int max)
{
    struct walk w = { js, out, max, 0 };
    if (max > 0) walk(&w, node, path, n, 0);
    return w.n;
}

int jpath_first(const struct jscan *js, int node, const char *path, size_t n)
{
    int t = -1;
    return jpath_all(js, node, path, n, &t, 1) ? t : -1;
}

int jpath_has_selector(const char *path, size_t n) { return memchr(path, '[', n) != NULL; }

static int check_fail(char *err, size_t errlen, const char *what, size_t at)
{
    snprintf(err, errlen, "%s at offset %zu", what, at);
    return -1;
}

int jpath_check(const char *path, size_t n, char *err, size_t errlen)
{
    int selectors = 0;
    if (n == 0) return check_fail(err, errlen, "empty path", 0);
    for (size_t i = 0; i < n; i++) {
        if (path[i] == ']') return check_fail(err, errlen, "']' without '['", i);
        if (path[i] != '[') continue;
        if (i > 0 && path[i - 1] == '.') return check_fail(err, errlen, "'.' before '['", i);
        const char *close = memchr(path + i, ']', n - i);
        if (!close) return check_fail(err, errlen, "'[' without ']'", i);
        size_t end = (size_t)(close - path);
        if (memchr(path + i + 1, '[', end - i - 1)) return check_fail(err, errlen, "nested '['", i);
        const char *eq = memchr(path + i + 1, '=', end - i - 1);
        if (eq && (eq == path + i + 1 || (eq[-1] == '!' && eq == path + i + 2)))
            return check_fail(err, errlen, "selector without a key", i);
        if (++selectors > JPATH_MAX_SELECTORS) return check_fail(err, errlen, "too many selectors", i);
        size_t next = end + 1;
        if (next < n && path[next] != '.' && path[next] != '[')
            return check_fail(err, errlen, "expected '.' or '[' after ']'", next);
        if (next < n && path[next] == '.' && next + 1 == n) return check_fail(err, errlen, "path ends with '.'", next);
        i = end;
    }
    return 0;
}
