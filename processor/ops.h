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
#endif
