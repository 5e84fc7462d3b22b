/* stage_common: pieces every Kafka stage of the sink side needs: the
 * idempotent producer from the configuration, a check that a topic exists,
 * copying a consumed message's headers for re-producing, a monotonic clock,
 * and the life cycle the sink and retry stages share (struct stage_base).
 * (stage_normalize has its own copies of the first two; it could use these.)
 * Must never: hold state of its own: the helpers work on what they are
 * given, the life cycle on the stage's struct stage_base. */
#ifndef SIEMPROC_STAGE_COMMON_H
#define SIEMPROC_STAGE_COMMON_H
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>
#include "config.h"
#include "kafka_source.h"
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

/* ---- life cycle of a consuming stage (stage_sink, stage_retry) ----------
 * One consumer (kafka_source) whose poll thread hands messages to the
 * stage's worker threads through the stage's own queue, guarded by mu/cv;
 * one producer; the monitor; the periodic summary line. The stage's struct
 * starts with a struct stage_base: kafka_source's arg and every callback
 * below get that pointer.
 * Order: new = allocate, kind->start (validate, stage_base_open, spawn
 * workers); run = consume until stopped, then the monitor, the workers, the
 * producer flush, the final summary; free = the same stops, then producer
 * before consumer (deliveries settle the consumer's messages), then
 * kind->release. */
struct stage_base;

struct stage_kind {
    const char *name;               /* "sink": log lines, monitor label, default group siemproc-<name> */
    size_t size;                    /* the stage's struct, struct stage_base first */
    size_t msg_size;                /* the stage's message struct, struct ks_msg first */
    int  (*start)(struct stage_base *b, char *err, size_t errlen);
    int  (*dispatch)(void *arg, struct ks_msg *m);           /* kafka_source's dispatch */
    void (*summary)(struct stage_base *b, const char *when); /* when: "" or " (final)" */
    void (*drop_queued)(struct stage_base *b);   /* workers ended, mu held: kafka_source_drop what waits */
    void (*release)(struct stage_base *b);       /* the stage's own parts (NULL: none) */
};

/* What stage_base_open connects. */
struct stage_io {
    const char *default_topics;     /* input when cfg->topics is empty */
    const char *out_topic, *out_key;  /* the topic produced to, checked; out_key names its setting */
    const struct config *source_cfg;  /* the consumer's configuration; NULL: the stage's */
    size_t (*queue_depth)(void *arg); /* the monitor's queue gauge (arg: the stage); NULL: none */
    long extra_ready_ms;            /* added to the monitor's readiness window */
};

struct stage_base {
    const struct config *cfg;
    const struct stage_kind *kind;
    char topics[512], group[256];
    struct producer *prod;
    struct kafka_source *ks;
    struct monitor *mon;
    pthread_mutex_t mu;             /* guards the stage's queue */
    pthread_cond_t cv;              /* the queue grew, or the stage aborts */
    atomic_int draining;            /* stop asked: send what is due without lingering */
    atomic_int abort;               /* the consumer finished: workers drop what is left */
    pthread_t *threads;
    int nthreads;
    int64_t last_summary_ms;
};

/* A stage of that kind, started. NULL with err. */
struct stage_base *stage_base_new(const struct stage_kind *k, const struct config *cfg, char *err, size_t errlen);
/* From kind->start: the producer (out_topic must exist), the consumer, the monitor. -1 with err. */
int  stage_base_open(struct stage_base *b, const struct stage_io *io, char *err, size_t errlen);
/* From kind->start: one worker thread fn(arg), joined when the stage stops. -1 with err. */
int  stage_base_spawn(struct stage_base *b, void *(*fn)(void *), void *arg, char *err, size_t errlen);
/* Consume until stage_base_stop(); drain; commit. 0, or 1 after a fatal error. */
int  stage_base_run(struct stage_base *b);
void stage_base_stop(struct stage_base *b);   /* async-signal-safe */
void stage_base_free(struct stage_base *b);
#endif
