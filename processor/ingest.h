/* ingest: one object (an S3 object, a file, a CloudWatch Logs payload) from
 * raw bytes to ECS documents: decode -> detect type -> frame -> parse ->
 * normalize, streaming. Every record ends in exactly one callback: on_doc,
 * on_skip or on_fail; the counters in ingest_stats add up to the records seen.
 * An ingest is used by one thread; schemas are shared read-only. */
#ifndef SIEMPROC_INGEST_H
#define SIEMPROC_INGEST_H
#include <stdint.h>
#include "normalize.h"
#include "schema.h"

struct ingest_event {
    const struct schema     *schema;
    const struct record     *rec;
    const struct norm_result *res;     /* on_doc */
    struct doc              *doc;      /* on_doc */
    const char              *origin;   /* object name, for messages */
    uint64_t                 line;
    const char              *message;  /* on_skip / on_fail */
};

struct ingest_cb {
    int  (*on_doc)(void *arg, const struct ingest_event *ev);   /* non-zero aborts the object */
    void (*on_skip)(void *arg, const struct ingest_event *ev);
    void (*on_fail)(void *arg, const struct ingest_event *ev);
};

struct ingest_object {
    const char *type;          /* forced log type, or NULL to detect */
    const char *s3_key;        /* key used for detection, ids, account/region */
    const char *log_group;     /* overrides a CloudWatch Logs payload's group for detection */
    const char *origin;        /* how messages name the object (file path, s3://b/k) */
    int64_t     delivery_ms;   /* object time, gives syslog its year; 0 = now */
    int         key_is_local;  /* s3_key is a local path: used for detection and ids, not emitted */
};

struct type_stats {
    uint64_t parsed, skipped, failed;
};

struct ingest_stats {
    struct type_stats *by_type;          /* indexed like schema_set.v */
    uint64_t objects, objects_skipped, objects_failed;
    uint64_t bytes_in, bytes_decoded;
};

enum ingest_status {
    INGEST_OK = 0,
    INGEST_SKIPPED = 1,        /* not events (CloudTrail digest, CWL control message) */
    INGEST_ERR_IO = -1,        /* corrupt or truncated input */
    INGEST_ERR_TYPE = -2,      /* log type cannot be determined */
    INGEST_ABORTED = -3        /* a callback asked to stop */
};

struct ingest *ingest_new(const struct schema_set *set, struct normalizer *nz, const struct ingest_cb *cb, void *arg);
void ingest_free(struct ingest *ig);
int  ingest_begin(struct ingest *ig, const struct ingest_object *obj);
int  ingest_feed(struct ingest *ig, const void *data, size_t len);   /* <0 once the object failed */
int  ingest_end(struct ingest *ig);                                  /* enum ingest_status */
const char *ingest_error(const struct ingest *ig);
const struct ingest_stats *ingest_stats(const struct ingest *ig);
/* Records (not documents) of the current object, for origin headers. */
const struct schema *ingest_current_schema(const struct ingest *ig);
#endif
