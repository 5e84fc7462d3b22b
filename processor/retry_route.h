/* retry_route: what failed goes to the retry topic, with headers saying why,
 * from where and how many times; used by every stage.
 *
 * Headers of a retry message: error.type (short code, below), error.message,
 * origin.topic / origin.partition / origin.offset (the raw message it came
 * from), origin (s3://bucket/key#line or topic/partition/offset#line), log_type
 * and index when known, attempts (1 + the attempts header of the failed
 * message, so a message that fails again after a replay counts up) and
 * first_failure_ms (kept from the failed message, else now). The value and
 * key are the failed message's (or the failed record's bytes).
 * A value larger than the producer accepts is cut to RETRY_MAX_TRUNCATED
 * bytes and the header value.truncated gives the original length, so that a
 * poison message is still accounted for and never blocks its partition.
 * Must never: drop the message silently (a refusal is returned to the caller). */
#ifndef SIEMPROC_RETRY_ROUTE_H
#define SIEMPROC_RETRY_ROUTE_H
#include <stdint.h>
#include "producer.h"

/* error.type codes used by the normalize stage. */
#define RETRY_PARSE          "parse_error"       /* a record the parser or normalizer rejected */
#define RETRY_S3_NOT_FOUND   "s3_not_found"      /* 404: final */
#define RETRY_S3_FORBIDDEN   "s3_forbidden"      /* 403 and other 4xx: final */
#define RETRY_S3_UNAVAILABLE "s3_unavailable"    /* 5xx/throttling/network after the bounded retries */
#define RETRY_CORRUPT        "corrupt_object"    /* bad gzip, truncated or malformed content */
#define RETRY_UNKNOWN_TYPE   "unknown_type"      /* the log type cannot be determined */
#define RETRY_UNKNOWN        "unknown_payload"   /* a message that is none of the known kinds */
#define RETRY_DELIVERY       "delivery_failed"   /* the output topic refused a document */

#define RETRY_MAX_TRUNCATED (64 * 1024)

struct retry_info {
    const char *error_type;
    const char *error_message;
    const char *origin_topic;
    int32_t     origin_partition;
    int64_t     origin_offset;
    const char *origin;                 /* or NULL */
    const char *log_type;               /* or NULL */
    const char *index;                  /* or NULL */
    const rd_kafka_headers_t *prev;     /* headers of the failed message, or NULL */
};

/* 0 when accepted (d->fn runs once), else the producer's refusal. */
int retry_route_send(struct producer *p, rd_kafka_topic_t *t, const struct retry_info *ri, const void *key,
                     size_t klen, const void *value, size_t vlen, struct producer_done *d);

/* Value of a header as a C string in out (cut to fit); NULL when absent. */
const char *retry_header(const rd_kafka_headers_t *h, const char *name, char *out, size_t outlen);
#endif
