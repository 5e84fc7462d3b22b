/* compose: see compose.h. */
#include <netinet/in.h>
#include <string.h>
#include <strings.h>
#include "community_id.h"
#include "compose.h"
#include "ipv4.h"
#include "ops.h"

static const char *const names[COMPOSE_COUNT] = { "", "url", "community_id" };

enum { URL_SCHEME, URL_DOMAIN, URL_PORT, URL_PATH, URL_QUERY, URL_NINPUTS };
static const char *const url_inputs[URL_NINPUTS] = { "url.scheme", "url.domain", "url.port", "url.path", "url.query" };

enum { CID_SRC_IP, CID_SRC_PORT, CID_DST_IP, CID_DST_PORT, CID_IANA, CID_TRANSPORT, CID_ICMP_TYPE, CID_ICMP_CODE,
       CID_NINPUTS };
static const char *const cid_inputs[CID_NINPUTS] = {
    "source.ip", "source.port", "destination.ip", "destination.port", "network.iana_number", "network.transport",
    "icmp.type", "icmp.code",
};

_Static_assert(URL_NINPUTS <= COMPOSE_MAX_INPUTS && CID_NINPUTS <= COMPOSE_MAX_INPUTS, "COMPOSE_MAX_INPUTS holds them");

int compose_from_name(const char *name)
{
    for (int i = COMPOSE_NONE + 1; i < COMPOSE_COUNT; i++)
        if (strcmp(names[i], name) == 0) return i;
    return COMPOSE_NONE;
}

int compose_inputs(int id, const char *const **paths)
{
    switch (id) {
    case COMPOSE_URL:          *paths = url_inputs; return URL_NINPUTS;
    case COMPOSE_COMMUNITY_ID: *paths = cid_inputs; return CID_NINPUTS;
    default:                   return 0;
    }
}

struct text {
    const char *p;
    size_t n;
};

/* The inputs' values as text: absent ones empty. */
static void texts(const struct span *in, int n, struct text *part)
{
    for (int k = 0; k < n; k++) part[k] = (struct text){ in[k].p, in[k].p ? in[k].len : 0 };
}

struct default_port {
    const char *scheme, *port;
    size_t scheme_len, port_len;
};

/* Is port the one scheme implies? */
static int is_default_port(struct text scheme, struct text port)
{
    static const struct default_port known[] = {
        { "http", "80", 4, 2 }, { "https", "443", 5, 3 }, { "ws", "80", 2, 2 }, { "wss", "443", 3, 3 }, { "ftp", "21", 3, 2 },
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (scheme.n == known[i].scheme_len && strncasecmp(scheme.p, known[i].scheme, scheme.n) == 0)
            return port.n == known[i].port_len && memcmp(port.p, known[i].port, port.n) == 0;
    return 0;
}

/* Bytes a URL cannot hold as they are: blanks, controls, non-ASCII and
 * "#<>\\^`{|}. Percent-encoding them also leaves nothing that JSON needs
 * escaped. A table: this runs over every URL. */
static const unsigned char unsafe[256] = {
    1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, /* 00 */
    1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, /* 10 */
    1,0,1,1,0,0,0,0,0,0,0,0,0,0,0,0, /* 20 */
    0,0,0,0,0,0,0,0,0,0,0,0,1,0,1,0, /* 30 */
    0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, /* 40 */
    0,0,0,0,0,0,0,0,0,0,0,0,1,0,1,0, /* 50 */
    1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, /* 60 */
    0,0,0,0,0,0,0,0,0,0,0,1,1,1,0,1, /* 70 */
    1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, /* 80 */
    1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, /* 90 */
    1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, /* a0 */
    1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, /* b0 */
    1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, /* c0 */
    1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, /* d0 */
    1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, /* e0 */
    1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, /* f0 */
};

/* A host holds none of the bytes that end one in a URL (or blanks): a
 * Host header of "a.b/c" would make a URL of another host and path. */
static int valid_host(struct text h)
{
    for (size_t i = 0; i < h.n; i++) {
        unsigned char c = (unsigned char)h.p[i];
        if (c <= 0x20 || c == '/' || c == '?' || c == '#' || c == '@' || c == '\\') return 0;
    }
    return 1;
}

static char *put_escaped(char *o, struct text t)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i = 0;
    while (i < t.n) {
        size_t run = i;
        while (run < t.n && !unsafe[(unsigned char)t.p[run]]) run++;
        memcpy(o, t.p + i, run - i);
        o += run - i;
        if (run == t.n) break;
        unsigned char c = (unsigned char)t.p[run];
        *o++ = '%';
        *o++ = hex[c >> 4];
        *o++ = hex[c & 15];
        i = run + 1;
    }
    return o;
}

static char *put_text(char *o, const char *s, size_t n)
{
    memcpy(o, s, n);
    return o + n;
}

static int compose_url(const struct span *in, arena_t *arena, const char **out, size_t *n)
{
    struct text part[URL_NINPUTS];
    texts(in, URL_NINPUTS, part);
    struct text scheme = part[URL_SCHEME], domain = part[URL_DOMAIN], port = part[URL_PORT];
    if (!scheme.n || !domain.n || !valid_host(domain)) return -1;
    int show_port = port.n && !is_default_port(scheme, port);
    int v6 = memchr(domain.p, ':', domain.n) && domain.p[0] != '[';
    size_t max = 3 * (scheme.n + domain.n + port.n + part[URL_PATH].n + part[URL_QUERY].n) + 8;
    char *o = arena_alloc(arena, max), *w = o;
    w = put_escaped(w, scheme);
    w = put_text(w, v6 ? "://[" : "://", v6 ? 4 : 3);
    w = put_escaped(w, domain);
    if (v6) *w++ = ']';
    if (show_port) { *w++ = ':'; w = put_escaped(w, port); }
    if (part[URL_PATH].n && part[URL_PATH].p[0] != '/') *w++ = '/';
    w = put_escaped(w, part[URL_PATH]);
    if (part[URL_QUERY].n) { *w++ = '?'; w = put_escaped(w, part[URL_QUERY]); }
    *out = o;
    *n = (size_t)(w - o);
    return 0;
}

/* Decimal digits only, at most max; -1 otherwise (absent, "-", a sign). */
static int small_number(struct text t, unsigned max)
{
    unsigned v = 0;
    if (t.n == 0 || t.n > 5) return -1;
    for (size_t i = 0; i < t.n; i++) {
        if ((unsigned)(t.p[i] - '0') > 9) return -1;
        v = v * 10 + (unsigned)(t.p[i] - '0');
    }
    return v <= max ? (int)v : -1;
}

/* network.iana_number, else network.transport by name or number. */
static int flow_proto(const struct text *part)
{
    if (part[CID_IANA].p) return small_number(part[CID_IANA], 255);
    struct text tr = part[CID_TRANSPORT];
    if (!tr.p) return -1;
    int v = small_number(tr, 255);
    return v >= 0 ? v : iana_number_of(tr.p, tr.n);
}

/* The ports, or for ICMP the message type and code; 0, or -1 when the
 * protocol needs them and one is missing or out of range. */
static int flow_ports(const struct text *part, struct flow_tuple *t)
{
    if (!community_id_has_ports(t->proto)) return 0;
    int icmp = t->proto == IPPROTO_ICMP || t->proto == IPPROTO_ICMPV6;
    unsigned max = icmp ? 255 : 65535;
    int s = small_number(part[icmp ? CID_ICMP_TYPE : CID_SRC_PORT], max);
    int d = small_number(part[icmp ? CID_ICMP_CODE : CID_DST_PORT], max);
    if (s < 0 || d < 0) return -1;
    t->sport = (uint16_t)s;
    t->dport = (uint16_t)d;
    return 0;
}

static int compose_community_id(const struct span *in, arena_t *arena, const char **out, size_t *n)
{
    struct text part[CID_NINPUTS];
    struct flow_tuple t = { 0 };
    texts(in, CID_NINPUTS, part);
    int proto = flow_proto(part);
    if (!part[CID_SRC_IP].p || !part[CID_DST_IP].p || proto < 0) return -1;
    t.proto = (uint8_t)proto;
    t.addr_len = ip_from_text(part[CID_SRC_IP].p, part[CID_SRC_IP].n, t.src);
    if (!t.addr_len || ip_from_text(part[CID_DST_IP].p, part[CID_DST_IP].n, t.dst) != t.addr_len) return -1;
    if (flow_ports(part, &t) < 0) return -1;
    char *o = arena_alloc(arena, COMMUNITY_ID_LEN + 1);
    community_id_v1(&t, 0, o);
    *out = o;
    *n = COMMUNITY_ID_LEN;
    return 0;
}

int compose_apply(int id, const struct span *in, arena_t *arena, const char **out, size_t *n)
{
    switch (id) {
    case COMPOSE_URL:          return compose_url(in, arena, out, n);
    case COMPOSE_COMMUNITY_ID: return compose_community_id(in, arena, out, n);
    default:                   return -1;
    }
}
