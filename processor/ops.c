/* ops: see ops.h. None of these allocate unless the output differs from a
 * slice of the input (URL decoding, case changes, unit conversions). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "ops.h"

static const char *const names[OP_COUNT] = {
    "lower", "upper", "trim", "hostport_host", "hostport_port",
    "request_method", "request_url", "request_version",
    "url_scheme", "url_domain", "url_port", "url_path", "url_query",
    "url_decode", "iana_protocol", "seconds_to_ns", "ms_to_ns", "us_to_ns",
    "arn_account", "arn_region", "basename", "strip_brackets", "http_outcome",
    "integer", "trim_dot", "az_region", "hex_unescape",
};

int op_from_name(const char *name)
{
    for (int i = 0; i < OP_COUNT; i++) if (strcmp(names[i], name) == 0) return i;
    return -1;
}

const char *op_name(int op) { return op >= 0 && op < OP_COUNT ? names[op] : "?"; }

static int set(const char **p, size_t *n, const char *np, size_t nn)
{
    if (nn == 0) return -1;
    *p = np;
    *n = nn;
    return 0;
}

static int change_case(const char **p, size_t *n, arena_t *a, int upper)
{
    char *o = arena_alloc(a, *n + 1);
    for (size_t i = 0; i < *n; i++) o[i] = (char)(upper ? toupper((unsigned char)(*p)[i]) : tolower((unsigned char)(*p)[i]));
    *p = o;
    return 0;
}

static int trim(const char **p, size_t *n)
{
    const char *s = *p;
    size_t l = *n;
    while (l && isspace((unsigned char)*s)) { s++; l--; }
    while (l && isspace((unsigned char)s[l - 1])) l--;
    return set(p, n, s, l);
}

/* A part that is there: empty text counts as absent, as for set(). */
static void part(const char **dst, size_t *dst_len, const char *s, size_t n)
{
    *dst = n ? s : NULL;
    *dst_len = n;
}

static int pick(const char **p, size_t *n, const char *s, size_t len)
{
    return s ? set(p, n, s, len) : -1;
}

/* "1.2.3.4:80", "[2001:db8::1]:443", "2001:db8::1" (no port). */
static void hostport_split(const char *s, size_t l, struct hostport_parts *h)
{
    memset(h, 0, sizeof *h);
    if (l && s[0] == '[') {
        const char *close = memchr(s, ']', l);
        if (!close) return;
        part(&h->host, &h->host_len, s + 1, (size_t)(close - s) - 1);
        size_t rest = l - (size_t)(close - s) - 1;
        if (rest > 1 && close[1] == ':') part(&h->port, &h->port_len, close + 2, rest - 1);
        return;
    }
    const char *colon = memrchr(s, ':', l);
    if (!colon || memchr(s, ':', l) != colon) {       /* no port, or bare IPv6 */
        part(&h->host, &h->host_len, s, l);
        return;
    }
    part(&h->host, &h->host_len, s, (size_t)(colon - s));
    part(&h->port, &h->port_len, colon + 1, l - (size_t)(colon - s) - 1);
}

/* "GET http://host:80/path?q HTTP/1.1" */
static void request_split(const char *s, size_t l, struct request_parts *r)
{
    memset(r, 0, sizeof *r);
    while (l && s[l - 1] == ' ') l--;      /* Classic LB TCP listeners log "- - - " */
    const char *sp1 = memchr(s, ' ', l);
    if (!sp1) return;
    if (!(sp1 - s == 1 && s[0] == '-')) part(&r->method, &r->method_len, s, (size_t)(sp1 - s));
    const char *rest = sp1 + 1;
    size_t rl = l - (size_t)(rest - s);
    const char *sp2 = memrchr(rest, ' ', rl);
    int has_version = sp2 && rl - (size_t)(sp2 - rest) > 5 && strncmp(sp2 + 1, "HTTP/", 5) == 0;
    if (has_version) part(&r->version, &r->version_len, sp2 + 6, rl - (size_t)(sp2 - rest) - 6);
    int no_version = sp2 && rl - (size_t)(sp2 - rest) == 2 && sp2[1] == '-';    /* "- - -" */
    size_t ul = has_version || no_version ? (size_t)(sp2 - rest) : rl;
    if (!(ul == 1 && rest[0] == '-')) part(&r->url, &r->url_len, rest, ul);
}

/* Length of the scheme when s starts with "scheme://" (RFC 3986: a letter,
 * then letters, digits, '+', '-', '.'), else 0: "/r?u=http://x" has none. */
static size_t scheme_len(const char *s, size_t l)
{
    size_t i = 0;
    if (!l || !isalpha((unsigned char)s[0])) return 0;
    while (i < l && (isalnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.')) i++;
    return l - i >= 3 && memcmp(s + i, "://", 3) == 0 ? i : 0;
}

/* "scheme://user@host:port/path?query" or "/path?query". */
static void url_split(const char *s, size_t l, struct url_parts *u)
{
    memset(u, 0, sizeof *u);
    const char *end = s + l;
    const char *q = s;
    size_t sl = scheme_len(s, l);
    if (sl) {
        u->scheme = s;
        u->scheme_len = sl;
        const char *a = s + sl + 3;
        const char *ae = a;
        while (ae < end && *ae != '/' && *ae != '?' && *ae != '#') ae++;
        const char *at = memrchr(a, '@', (size_t)(ae - a));
        if (at) a = at + 1;                    /* userinfo is not the host */
        struct hostport_parts h;
        hostport_split(a, (size_t)(ae - a), &h);
        u->host = h.host;
        u->host_len = h.host_len;
        u->port = h.port;
        u->port_len = h.port_len;
        q = ae;
    }
    const char *hash = memchr(q, '#', (size_t)(end - q));
    if (hash) end = hash;                      /* a fragment is neither path nor query */
    const char *qm = memchr(q, '?', (size_t)(end - q));
    part(&u->path, &u->path_len, q, (size_t)((qm ? qm : end) - q));
    if (qm) { u->query = qm + 1; u->query_len = (size_t)(end - qm - 1); }
}

static int hexv(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* esc followed by two hex digits -> that byte; anything else is kept. */
static int unescape_hex(const char **p, size_t *n, arena_t *a, const char *esc)
{
    const char *s = *p;
    size_t el = strlen(esc);
    if (!memmem(s, *n, esc, el)) return 0;
    char *o = arena_alloc(a, *n + 1);
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        int h, l;
        if (s[i] == esc[0] && i + el + 1 < *n && memcmp(s + i, esc, el) == 0 &&
            (h = hexv((unsigned char)s[i + el])) >= 0 && (l = hexv((unsigned char)s[i + el + 1])) >= 0) {
            o[k++] = (char)(h * 16 + l);
            i += el + 1;
        } else {
            o[k++] = s[i];
        }
    }
    return set(p, n, o, k);
}

/* %XX decoding; CloudFront also writes "%2520" for a literal "%20", which a
 * single pass turns into "%20" -- as the original system did. */
static int url_decode(const char **p, size_t *n, arena_t *a) { return unescape_hex(p, n, a, "%"); }

/* \xHH escapes -> bytes: CloudFront writes a space in a list as \x20. */
static int hex_unescape(const char **p, size_t *n, arena_t *a) { return unescape_hex(p, n, a, "\\x"); }

static const char *const iana[] = {
    [0] = "hopopt", [1] = "icmp", [2] = "igmp", [4] = "ipv4", [6] = "tcp", [8] = "egp",
    [17] = "udp", [41] = "ipv6", [43] = "ipv6-route", [44] = "ipv6-frag", [47] = "gre",
    [50] = "esp", [51] = "ah", [58] = "ipv6-icmp", [59] = "ipv6-nonxt", [60] = "ipv6-opts",
    [88] = "eigrp", [89] = "ospf", [103] = "pim", [112] = "vrrp", [115] = "l2tp", [132] = "sctp",
};

static int iana_protocol(const char **p, size_t *n)
{
    char tmp[8];
    if (*n == 0 || *n >= sizeof tmp) return -1;
    memcpy(tmp, *p, *n);
    tmp[*n] = 0;
    char *end;
    long v = strtol(tmp, &end, 10);
    if (*end || v < 0 || v >= (long)(sizeof iana / sizeof iana[0]) || !iana[v]) return -1;
    return set(p, n, iana[v], strlen(iana[v]));
}

int iana_number_of(const char *name, size_t n)
{
    for (size_t v = 0; v < sizeof iana / sizeof iana[0]; v++)
        if (iana[v] && strlen(iana[v]) == n && strncasecmp(iana[v], name, n) == 0) return (int)v;
    return -1;
}

/* The whole of p, n as a finite decimal or JSON number; -1 when it is not one. */
static int parse_number(const char *p, size_t n, double *v)
{
    char tmp[40];
    if (n == 0 || n >= sizeof tmp) return -1;
    memcpy(tmp, p, n);
    tmp[n] = 0;
    char *end;
    *v = strtod(tmp, &end);
    return *end || !isfinite(*v) ? -1 : 0;
}

/* Decimal seconds/ms/us to integer nanoseconds (event.duration). */
static int to_ns(const char **p, size_t *n, arena_t *a, double scale)
{
    double v;
    if (parse_number(*p, *n, &v) != 0 || v < 0) return -1;     /* ALB writes -1 for "no value" */
    if (v * scale >= 9.2e18) return -1;               /* beyond a long */
    char *o = arena_alloc(a, 32);
    int len = snprintf(o, 32, "%lld", (long long)llround(v * scale));
    return set(p, n, o, (size_t)len);
}

/* arn:partition:service:region:account:resource -> field 3 (region) or 4 (account) */
static int arn_field(const char **p, size_t *n, int want)
{
    const char *s = *p, *end = s + *n;
    if (*n < 4 || strncmp(s, "arn:", 4) != 0) return -1;
    for (int field = 0; field < want; field++) {
        const char *c = memchr(s, ':', (size_t)(end - s));
        if (!c) return -1;
        s = c + 1;
    }
    const char *c = memchr(s, ':', (size_t)(end - s));
    return c ? set(p, n, s, (size_t)(c - s)) : -1;
}

/* A JSON or decimal number -> its integer part: GuardDuty's severity 8.0 -> 8. */
static int integer_part(const char **p, size_t *n, arena_t *a)
{
    double v;
    if (parse_number(*p, *n, &v) != 0 || fabs(v) >= 9e18) return -1;
    char *o = arena_alloc(a, 24);
    int len = snprintf(o, 24, "%lld", (long long)trunc(v));
    return set(p, n, o, (size_t)len);
}

/* Availability zone -> region: the name up to the digits of the first part
 * that starts with one ("us-east-2a", "us-gov-west-1b", "us-west-2-lax-1a"). */
static int az_region(const char **p, size_t *n)
{
    const char *s = *p;
    for (size_t i = 1; i < *n; i++) {
        if (s[i - 1] != '-' || !isdigit((unsigned char)s[i])) continue;
        while (i < *n && isdigit((unsigned char)s[i])) i++;
        return set(p, n, s, i);
    }
    return -1;
}

/* "example.com." -> "example.com": DNS names as logged end with the root dot. */
static int trim_dot(const char **p, size_t *n)
{
    if (*n > 1 && (*p)[*n - 1] == '.') return set(p, n, *p, *n - 1);
    return 0;
}

static int basename_op(const char **p, size_t *n)
{
    const char *slash = memrchr(*p, '/', *n);
    if (!slash) return 0;
    return set(p, n, slash + 1, *n - (size_t)(slash - *p) - 1);
}

static int strip_brackets(const char **p, size_t *n)
{
    if (*n >= 2 && (*p)[0] == '[' && (*p)[*n - 1] == ']') return set(p, n, *p + 1, *n - 2);
    return 0;
}

/* HTTP status -> event.outcome: 1xx-3xx success, 4xx-5xx failure. */
static int http_outcome(const char **p, size_t *n)
{
    const char *s = *p;
    if (*n != 3 || s[0] < '1' || s[0] > '5' || !isdigit((unsigned char)s[1]) || !isdigit((unsigned char)s[2])) return -1;
    const char *o = (*p)[0] >= '4' ? "failure" : "success";
    return set(p, n, o, strlen(o));
}

void op_memo_clear(struct op_memo *m)
{
    m->hp_key.in = m->req_key.in = m->url_key.in = NULL;
}

/* Was the memo keyed by k made from another value than s, l? From now on it
 * is keyed by s, l: the caller splits s into it. */
static int memo_miss(struct memo_key *k, const char *s, size_t l)
{
    if (k->in == s && k->len == l) return 0;
    k->in = s;
    k->len = l;
    return 1;
}

/* The split of s, l: the memo's when it was made from this very value. */
static const struct hostport_parts *hostport_of(const char *s, size_t l, struct op_memo *m)
{
    if (memo_miss(&m->hp_key, s, l)) hostport_split(s, l, &m->hp);
    return &m->hp;
}

static const struct request_parts *request_of(const char *s, size_t l, struct op_memo *m)
{
    if (memo_miss(&m->req_key, s, l)) request_split(s, l, &m->req);
    return &m->req;
}

static const struct url_parts *url_of(const char *s, size_t l, struct op_memo *m)
{
    if (memo_miss(&m->url_key, s, l)) url_split(s, l, &m->url);
    return &m->url;
}

/* The ops that pick a part of a split. */
static int split_op(int op, const char **p, size_t *n, struct op_memo *m)
{
    const struct hostport_parts *h;
    const struct request_parts *r;
    const struct url_parts *u;
    switch (op) {
    case OP_HOSTPORT_HOST: h = hostport_of(*p, *n, m); return pick(p, n, h->host, h->host_len);
    case OP_HOSTPORT_PORT: h = hostport_of(*p, *n, m); return pick(p, n, h->port, h->port_len);
    case OP_REQUEST_METHOD: r = request_of(*p, *n, m); return pick(p, n, r->method, r->method_len);
    case OP_REQUEST_URL: r = request_of(*p, *n, m); return pick(p, n, r->url, r->url_len);
    case OP_REQUEST_VERSION: r = request_of(*p, *n, m); return pick(p, n, r->version, r->version_len);
    }
    u = url_of(*p, *n, m);
    switch (op) {
    case OP_URL_SCHEME: return pick(p, n, u->scheme, u->scheme_len);
    case OP_URL_DOMAIN: return pick(p, n, u->host, u->host_len);
    case OP_URL_PORT:   return pick(p, n, u->port, u->port_len);
    case OP_URL_PATH:   return pick(p, n, u->path, u->path_len);
    default:            return pick(p, n, u->query, u->query_len);
    }
}

int op_apply(int op, const char **p, size_t *n, arena_t *a)
{
    struct op_memo m;
    op_memo_clear(&m);
    return op_apply_memo(op, p, n, a, &m);
}

int op_apply_memo(int op, const char **p, size_t *n, arena_t *a, struct op_memo *m)
{
    switch (op) {
    case OP_LOWER: return change_case(p, n, a, 0);
    case OP_UPPER: return change_case(p, n, a, 1);
    case OP_TRIM: return trim(p, n);
    case OP_HOSTPORT_HOST: case OP_HOSTPORT_PORT:
    case OP_REQUEST_METHOD: case OP_REQUEST_URL: case OP_REQUEST_VERSION:
    case OP_URL_SCHEME: case OP_URL_DOMAIN: case OP_URL_PORT: case OP_URL_PATH: case OP_URL_QUERY:
        return split_op(op, p, n, m);
    case OP_URL_DECODE: return url_decode(p, n, a);
    case OP_IANA_PROTOCOL: return iana_protocol(p, n);
    case OP_SECONDS_TO_NS: return to_ns(p, n, a, 1e9);
    case OP_MS_TO_NS: return to_ns(p, n, a, 1e6);
    case OP_US_TO_NS: return to_ns(p, n, a, 1e3);
    case OP_ARN_ACCOUNT: return arn_field(p, n, 4);
    case OP_ARN_REGION: return arn_field(p, n, 3);
    case OP_BASENAME: return basename_op(p, n);
    case OP_STRIP_BRACKETS: return strip_brackets(p, n);
    case OP_HTTP_OUTCOME: return http_outcome(p, n);
    case OP_INTEGER: return integer_part(p, n, a);
    case OP_TRIM_DOT: return trim_dot(p, n);
    case OP_AZ_REGION: return az_region(p, n);
    case OP_HEX_UNESCAPE: return hex_unescape(p, n, a);
    }
    return -1;
}
