/* stage_common: pieces every Kafka stage of the sink side needs: the
 * idempotent producer from the configuration, a check that a topic exists,
 * copying a consumed message's headers for re-producing, and a monotonic
 * clock. (stage_normalize has its own copies of the first two; it could use
 * these.)
 * Must never: hold state: every function here works on what it is given. */
#ifndef SIEMPROC_STAGE_COMMON_H
#define SIEMPROC_STAGE_COMMON_H
#include <stddef.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>
#include "config.h"
#include "producer.h"

/* Idempotent producer with the configured compression. NULL with err. */
struct producer *stage_producer_new(const struct config *cfg, char *err, size_t errlen);

/* 0 when the topic exists; else -1 with "key: topic "t" is not available: ...". */
int stage_check_topic(struct producer *p, const char *name, const char *key, char *err, size_t errlen);

/* The headers of a consumed message as producer headers (values point into
 * the message; valid while it lives). Returns the count, at most max; -1
 * when there are more than max. */
int stage_copy_headers(const rd_kafka_message_t *rkm, struct producer_header *out, int max);

int64_t stage_now_ms(void);   /* CLOCK_MONOTONIC */
int64_t stage_wall_ms(void);  /* CLOCK_REALTIME */
/* Sleep ms in steps of at most 50 ms; returns non-zero as soon as
 * stop(arg) does (a flag set by a signal handler, a cancelled partition). */
int stage_sleep_unless(long ms, int (*stop)(void *arg), void *arg);
/* Exponential backoff with equal jitter: attempt 0 waits base/2..base,
 * each attempt doubles, capped at max. */
long stage_backoff_ms(long base, long max, int attempt, unsigned *rng);
#endif
