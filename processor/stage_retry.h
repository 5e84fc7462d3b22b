/* stage_retry: `siemproc run --stage retry` -- the retry topic's consumer.
 *
 * Every message of the retry topic failed somewhere (normalize or sink) and
 * carries the retry_route headers. The stage holds each one until its
 * backoff is due -- the message's timestamp + retry_delay_ms * 2^(attempts-1),
 * capped at retry_delay_max_ms -- then re-submits it unchanged (key, value,
 * every header) to the topic it came from (origin.topic), where its stage
 * tries again and, on another failure, sends it back here with attempts + 1.
 * A message whose attempts reached retry_max_attempts, or that names no
 * origin topic, goes to the DLQ topic (dlq_topic) with every header, for a
 * human (`siemproc replay` sends it back).
 * Owns: the due-time heap, one producer, its counters.
 * A message is done when its copy (re-submitted or dead-lettered) was
 * acknowledged. Waiting messages are in flight: kafka_source bounds them
 * (max_inflight) and commits past none of them. On shutdown, messages not
 * yet due are left uncommitted; their wait resumes from the same timestamp.
 * Must never: re-submit before the backoff is due, drop a message, or lose a
 * header. */
#ifndef SIEMPROC_STAGE_RETRY_H
#define SIEMPROC_STAGE_RETRY_H
#include <stdint.h>
#include "config.h"

#define RETRY_COUNTERS(X) \
    X(messages)       /* messages taken from the retry topic */ \
    X(resubmitted)    /* re-submitted to their origin topic and acknowledged */ \
    X(dead_lettered)  /* moved to the DLQ topic and acknowledged */ \
    X(no_origin)      /* of which had no origin.topic header */

#define RETRY_C_FIELD(name) uint64_t name;
struct retry_counters {
    RETRY_COUNTERS(RETRY_C_FIELD)
    uint64_t waiting;  /* held until due, now */
};
#undef RETRY_C_FIELD

struct rstage;

/* Input: cfg->topics, or cfg->retry_topic when empty; group: cfg->group or
 * "siemproc-retry". Checks the DLQ topic. */
struct rstage *stage_retry_new(const struct config *cfg, char *err, size_t errlen);
int  stage_retry_run(struct rstage *st);
void stage_retry_stop(struct rstage *st);   /* async-signal-safe */
void stage_retry_free(struct rstage *st);
void stage_retry_counters(struct rstage *st, struct retry_counters *out);

/* When a message written at ts_ms with `attempts` failures is due again. */
int64_t retry_due_ms(int64_t ts_ms, long attempts, long delay_ms, long max_ms);
#endif
