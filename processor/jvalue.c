/* jvalue: see jvalue.h. Token text is copied verbatim only when jscan
 * accepted it (the record tape or the scratch tape), so the output is valid
 * JSON by construction; everything else goes through jsonw. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "jpath.h"
#include "jsonw.h"
#include "jvalue.h"

static int number_in(const struct jscan *js, int t, double lo, double hi)
{
    char tmp[40];
    size_t n = jscan_len(js, t);
    if (js->tok[t].type != J_NUM || n >= sizeof tmp) return 0;
    memcpy(tmp, jscan_ptr(js, t), n);
    tmp[n] = 0;
    double v = strtod(tmp, NULL);
    return v >= lo && v <= hi;
}

/* Value of the member named `name` in any ASCII case, or -1. */
static int member_nocase(const struct jscan *js, int obj, const char *name)
{
    size_t nl = strlen(name);
    for (int k = jscan_first(js, obj); k >= 0; k = jscan_next_elem(js, obj, k))
        if (!js->tok[k].escaped && jscan_len(js, k) == nl && strncasecmp(jscan_ptr(js, k), name, nl) == 0) return k + 1;
    return -1;
}

int jv_geo_point(struct jscan *scratch, const char *p, size_t n, arena_t *a, const char **out, size_t *outlen)
{
    if (jv_is_object(scratch, p, n) < 0) return -1;
    int lat = member_nocase(scratch, 0, "lat"), lon = member_nocase(scratch, 0, "lon");
    if (lat < 0 || lon < 0 || !number_in(scratch, lat, -90, 90) || !number_in(scratch, lon, -180, 180)) return -1;
    size_t latn = jscan_len(scratch, lat), lonn = jscan_len(scratch, lon);
    char *o = arena_alloc(a, latn + lonn + 20);
    memcpy(o, "{\"lat\":", 7);
    memcpy(o + 7, jscan_ptr(scratch, lat), latn);
    memcpy(o + 7 + latn, ",\"lon\":", 7);
    memcpy(o + 14 + latn, jscan_ptr(scratch, lon), lonn);
    o[14 + latn + lonn] = '}';
    *out = o;
    *outlen = 15 + latn + lonn;
    return 0;
}

const char *jv_one_line(const char *p, size_t *n, arena_t *a)
{
    if (!memchr(p, '\n', *n) && !memchr(p, '\r', *n)) return p;
    char *o = arena_alloc(a, *n);
    size_t k = 0;
    int in_str = 0, esc = 0;
    for (size_t i = 0; i < *n; i++) {
        char c = p[i];
        if (in_str) {
            if (esc) esc = 0;
            else if (c == '\\') esc = 1;
            else if (c == '"') in_str = 0;
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            continue;
        } else if (c == '"') {
            in_str = 1;
        }
        o[k++] = c;
    }
    *n = k;
    return o;
}

int jv_is_object(struct jscan *scratch, const char *p, size_t n)
{
    if (jscan_parse(scratch, p, n) < 0) return -1;
    return scratch->tok[0].type == J_OBJ ? 0 : -1;
}

/* A JSON integer: no leading zeros, at most 18 digits. */
static int is_integer_text(const char *s, size_t n)
{
    size_t i = n && s[0] == '-' ? 1 : 0;
    if (i == n || n - i > 18 || (s[i] == '0' && n - i > 1)) return 0;
    for (; i < n; i++) if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

/* A plain-digits string is also accepted where a number belongs ("ttl":"300"). */
static int write_number(buf_t *b, const struct jscan *js, int t, int integer)
{
    const char *p = jscan_ptr(js, t);
    size_t n = jscan_len(js, t);
    int type = js->tok[t].type;
    if (type == J_STR && !is_integer_text(p, n)) return 0;
    if (type != J_STR && type != J_NUM) return 0;
    if (integer && !is_integer_text(p, n)) return 0;
    buf_append(b, p, n);
    return 1;
}

/* Token t as the member's type. Returns 0 when it does not fit. */
static int write_member_value(buf_t *b, const struct jscan *js, int t, enum ecs_type type)
{
    const struct jtok *k = &js->tok[t];
    if (k->type == J_NULL || (k->type == J_STR && k->len == 0)) return 0;
    switch (type) {
    case ECS_LONG:  return write_number(b, js, t, 1);
    case ECS_FLOAT: return write_number(b, js, t, 0);
    case ECS_UNKNOWN: case ECS_OBJECT: case ECS_FLATTENED: case ECS_GEO_POINT: case ECS_NESTED:
        break;
    default:
        if (k->type == J_OBJ || k->type == J_ARR) return 0;
        if (k->type != J_STR) { jw_string(b, jscan_ptr(js, t), jscan_len(js, t)); return 1; }
        break;
    }
    if (k->type == J_STR) buf_putc(b, '"');
    buf_append(b, jscan_ptr(js, t), jscan_len(js, t));
    if (k->type == J_STR) buf_putc(b, '"');
    return 1;
}

int jv_build_object(const struct jscan *js, int node, const struct sub_field *sub, int nsub, buf_t *tmp,
                    arena_t *a, const char **out, size_t *outlen)
{
    buf_reset(tmp);
    buf_putc(tmp, '{');
    int members = 0;
    for (int i = 0; i < nsub; i++) {
        int t = sub[i].sel ? jpath_first(js, node, sub[i].path, sub[i].len) : jscan_path(js, node, sub[i].path, sub[i].len);
        if (t < 0) continue;
        size_t mark = tmp->len;
        if (members) buf_putc(tmp, ',');
        jw_string(tmp, sub[i].key, strlen(sub[i].key));
        buf_putc(tmp, ':');
        if (write_member_value(tmp, js, t, sub[i].type)) members++;
        else tmp->len = mark;
    }
    if (!members) return -1;
    buf_putc(tmp, '}');
    *out = arena_strndup(a, tmp->data, tmp->len);
    *outlen = tmp->len;
    return 0;
}
