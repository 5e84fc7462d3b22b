/* stage_normalize: `siemproc run --stage normalize` -- raw log topics to
 * ECS documents on the output topic, at least once.
 *
 * Owns: the worker contexts (normalizer, ingest, S3 clients), the handling
 * of each raw message kind (S3 notification -> GET each object and stream it
 * through ingest; CloudWatch Logs payload, gzip/plain/base64; raw record with
 * its type from the log_type header or topic_types), output messages
 * (value = document, key = id, headers index/log_type/origin), routing of
 * everything that fails to the retry topic, and the counters below.
 * A raw message is done -- its offset may be committed -- when every
 * message made from it (documents and retry messages) was acknowledged.
 * Must never: acknowledge a raw message whose output was refused by both
 * topics (the stage stops instead, leaving it uncommitted), or let a record
 * vanish: each one is parsed, skipped (counted) or routed to the retry topic.
 * Documents and ids are those of `siemproc parse --s3-key KEY` for an S3
 * object; for a Kafka payload the id origin is topic/partition/offset. */
#ifndef SIEMPROC_STAGE_NORMALIZE_H
#define SIEMPROC_STAGE_NORMALIZE_H
#include <stdint.h>
#include "config.h"

/* Counters of raw messages, objects and payloads (summed over workers). */
#define NORMALIZE_COUNTERS(X) \
    X(messages)          /* raw messages taken from Kafka */ \
    X(bytes_in)          /* their value bytes */ \
    X(excluded)          /* records skipped by an exclusion rule (exclude_file) */ \
    X(own_access)        /* records skipped as siemproc's own S3 reads (ignore_own_logs) */ \
    X(notifications)     /* messages that were S3 notifications */ \
    X(events_skipped)    /* test events, non-create records, subscription messages */ \
    X(objects)           /* S3 objects named by notifications */ \
    X(objects_skipped)   /* objects that are not logs (CloudTrail digests, ...) */ \
    X(objects_failed)    /* objects routed to the retry topic (GET failed, corrupt, unknown type) */ \
    X(object_bytes)      /* bytes read from S3 */ \
    X(object_restarts)   /* downloads restarted after a cut transfer (documents repeat, same ids) */ \
    X(cwl_payloads)      /* CloudWatch Logs payloads */ \
    X(raw_messages)      /* raw records (log lines, JSON records) */ \
    X(payloads_skipped)  /* CloudWatch Logs control messages */ \
    X(payloads_failed)   /* corrupt payloads routed to the retry topic */ \
    X(unknown_payloads)  /* messages of no known kind, or of an unknown type, routed to the retry topic */

/* Counters of the delivery thread. */
#define NORMALIZE_DELIVERY_COUNTERS(X) \
    X(docs_out)          /* documents acknowledged on the output topic */ \
    X(doc_bytes_out)     /* their value bytes */ \
    X(retry_out)         /* messages acknowledged on the retry topic */ \
    X(docs_rerouted)     /* documents the output topic refused, sent to the retry topic */ \
    X(outputs_lost)      /* refused by both topics: the stage stops */

/* Records per log type: parsed (documents made) + skipped + failed (routed
 * to the retry topic) = records seen. */
struct normalize_type_counters {
    uint64_t parsed, skipped, failed;
};

#define NC_FIELD(name) uint64_t name;
struct normalize_counters {
    NORMALIZE_COUNTERS(NC_FIELD)
    NORMALIZE_DELIVERY_COUNTERS(NC_FIELD)
    int ntypes;
    const char **type_names;                   /* ntypes names, then "unknown" */
    struct normalize_type_counters *by_type;   /* ntypes + 1 */
};
#undef NC_FIELD

struct nstage;

/* Validates the configuration (errors name the key), loads schemas, checks
 * that the output and retry topics exist, starts the workers. */
struct nstage *stage_normalize_new(const struct config *cfg, char *err, size_t errlen);
/* Consume until stage_normalize_stop(); drain; commit. 0, or 1 after a fatal error. */
int  stage_normalize_run(struct nstage *st);
void stage_normalize_stop(struct nstage *st);    /* async-signal-safe */
void stage_normalize_free(struct nstage *st);

/* Snapshot (any thread). Free with normalize_counters_free(). */
void stage_normalize_counters(struct nstage *st, struct normalize_counters *out);
void normalize_counters_free(struct normalize_counters *c);
#endif
