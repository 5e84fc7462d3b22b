/* ops: the value transforms a schema can name ("op": "hostport_host", ...).
 * Each takes plain text and yields plain text: a slice of the input or new
 * bytes in the arena. A transform that finds nothing returns -1 (absent). */
#ifndef SIEMPROC_OPS_H
#define SIEMPROC_OPS_H
#include <stddef.h>
#include "buf.h"

enum op_id {
    OP_LOWER, OP_UPPER, OP_TRIM, OP_HOSTPORT_HOST, OP_HOSTPORT_PORT,
    OP_REQUEST_METHOD, OP_REQUEST_URL, OP_REQUEST_VERSION,
    OP_URL_SCHEME, OP_URL_DOMAIN, OP_URL_PORT, OP_URL_PATH, OP_URL_QUERY,
    OP_URL_DECODE, OP_IANA_PROTOCOL, OP_SECONDS_TO_NS, OP_MS_TO_NS, OP_US_TO_NS,
    OP_ARN_ACCOUNT, OP_ARN_REGION, OP_BASENAME, OP_STRIP_BRACKETS, OP_HTTP_OUTCOME,
    OP_INTEGER, OP_TRIM_DOT, OP_AZ_REGION, OP_HEX_UNESCAPE, OP_COUNT
};

int op_from_name(const char *name);      /* -1 when unknown */
const char *op_name(int op);
int op_apply(int op, const char **p, size_t *n, arena_t *arena);
/* The IANA number of a protocol named as "iana_protocol" names it ("tcp",
 * "ipv6-icmp"; any case), or -1. */
int iana_number_of(const char *name, size_t n);

/* Parts of a value that sibling ops pick from; NULL = absent. */
struct hostport_parts { const char *host, *port; size_t host_len, port_len; };
struct request_parts { const char *method, *url, *version; size_t method_len, url_len, version_len; };
struct url_parts {
    const char *scheme, *host, *port, *path, *query;
    size_t scheme_len, host_len, port_len, path_len, query_len;
};

/* The last value each kind of split was made from, and its parts: a schema
 * often takes several parts of one value (ALB's request line feeds eight
 * fields). Values are compared by address, so a memo must be cleared
 * whenever the memory of the values it saw may be reused -- per record. */
/* The value a memoized split was made from: the same pointer and length. */
struct memo_key { const char *in; size_t len; };
struct op_memo {
    struct memo_key hp_key, req_key, url_key;
    struct hostport_parts hp;
    struct request_parts req;
    struct url_parts url;
};

void op_memo_clear(struct op_memo *m);
/* op_apply, reusing and keeping splits in m. */
int op_apply_memo(int op, const char **p, size_t *n, arena_t *arena, struct op_memo *m);
#endif
