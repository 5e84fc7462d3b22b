/* retry_route: see retry_route.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "retry_route.h"
#include "timeparse.h"

const char *retry_header(const rd_kafka_headers_t *h, const char *name, char *out, size_t outlen)
{
    const void *v;
    size_t len;
    if (!h || rd_kafka_header_get_last(h, name, &v, &len) != RD_KAFKA_RESP_ERR_NO_ERROR || !v) return NULL;
    if (len >= outlen) len = outlen - 1;
    memcpy(out, v, len);
    out[len] = 0;
    return out;
}

static void add(struct producer_header *h, int *n, const char *name, const char *value)
{
    if (value) h[(*n)++] = (struct producer_header){ name, value, strlen(value) };
}

int retry_route_send(struct producer *p, rd_kafka_topic_t *t, const struct retry_info *ri, const void *key,
                     size_t klen, const void *value, size_t vlen, struct producer_done *d)
{
    char part[16], off[24], attempts[24], first[24], prev[32], truncated[24];
    snprintf(part, sizeof part, "%" PRId32, ri->origin_partition);
    snprintf(off, sizeof off, "%" PRId64, ri->origin_offset);
    long n_prev = retry_header(ri->prev, "attempts", prev, sizeof prev) ? strtol(prev, NULL, 10) : 0;
    snprintf(attempts, sizeof attempts, "%ld", (n_prev > 0 ? n_prev : 0) + 1);
    if (!retry_header(ri->prev, "first_failure_ms", first, sizeof first))
        snprintf(first, sizeof first, "%" PRId64, ts_now_ms());
    struct producer_header h[PRODUCER_MAX_HEADERS];
    int n = 0;
    add(h, &n, "error.type", ri->error_type);
    add(h, &n, "error.message", ri->error_message ? ri->error_message : "");
    add(h, &n, "origin.topic", ri->origin_topic);
    add(h, &n, "origin.partition", part);
    add(h, &n, "origin.offset", off);
    add(h, &n, "origin", ri->origin);
    add(h, &n, "log_type", ri->log_type);
    add(h, &n, "index", ri->index);
    add(h, &n, "attempts", attempts);
    add(h, &n, "first_failure_ms", first);
    int err = producer_send(p, t, key, klen, value, vlen, h, n, d);
    if (err != RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE || vlen <= RETRY_MAX_TRUNCATED) return err;
    snprintf(truncated, sizeof truncated, "%zu", vlen);
    add(h, &n, "value.truncated", truncated);
    return producer_send(p, t, key, klen, value, RETRY_MAX_TRUNCATED, h, n, d);
}
