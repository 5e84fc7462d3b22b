/* kafka_source: a consumer group member that hands raw messages to a stage
 * and commits only what the stage finished, in offset order per partition.
 *
 * Owns: the rd_kafka_t consumer (cooperative-sticky, enable.auto.commit and
 * enable.auto.offset.store off), the table of assigned partitions with one
 * offset_tracker each, backpressure (all partitions are paused while the
 * in-flight messages or bytes exceed max_inflight / max_inflight_mb and
 * resumed below 3/4 of that), periodic and final commits, rebalances and the
 * shutdown drain. The thread that calls kafka_source_run() is the poll
 * thread: it only polls, dispatches, pauses, resumes and commits, so
 * max.poll.interval.ms is never at risk however long a message takes.
 *
 * A message's life: dispatch() hands it to the stage (which queues it) ->
 * a worker calls kafka_source_begin() (0 = its partition was revoked, drop
 * it) -> when every output of the message is acknowledged, kafka_source_done()
 * (its offset becomes committable once every lower offset is done too) or
 * kafka_source_drop() (never committed: the next owner of the partition
 * processes it again).
 * On revoke: messages not begun are abandoned, those begun get up to
 * revoke_timeout_ms to finish, then the done prefix is committed
 * synchronously. On stop: partitions are paused, messages not begun are
 * abandoned, those begun get up to shutdown_timeout_ms to finish, the done
 * prefix is committed, the consumer closes.
 * Known librdkafka bug (the 2.8.0 linked here and older; confluentinc/
 * librdkafka#4059, fixed in 2.10 by PR #4908): a commit that races a
 * cooperative rebalance can fail with ILLEGAL_GENERATION and make librdkafka
 * declare the assignment lost. The partitions then arrive here as lost:
 * nothing is committed for them and their in-flight work is redone by the
 * next owner (same ids): work repeats, nothing is lost.
 * `kafka.consumer.partition.assignment.strategy = range` avoids it.
 * Must never: commit an offset whose message (or any lower one) is not done,
 * process or commit for a partition it no longer owns, or block the poll
 * thread on a worker except in the bounded revoke and shutdown waits. */
#ifndef SIEMPROC_KAFKA_SOURCE_H
#define SIEMPROC_KAFKA_SOURCE_H
#include <stdint.h>
#include <librdkafka/rdkafka.h>
#include "config.h"

struct ks_part;
struct kafka_source;

/* The head of every message the stage receives (the stage's own item
 * struct starts with it; kafka_source allocates msg_size bytes, zeroed). */
struct ks_msg {
    rd_kafka_message_t *rkm;
    struct ks_part     *part;
    int                 began;
};

struct kafka_source_opts {
    const char *group;
    const char *topics;                 /* comma separated; ^regex entries allowed */
    const char *const *conf_defaults;   /* extra consumer properties (name, value, ..., NULL), or NULL */
    size_t      msg_size;               /* >= sizeof(struct ks_msg) */
    /* Take the message (queue it). 0 = taken; -1 = not now (it is offered again later). */
    int  (*dispatch)(void *arg, struct ks_msg *m);
    /* Called about once a second on the poll thread (summaries, metrics). */
    void (*tick)(void *arg);
    void *arg;
};

struct kafka_source_stats {
    long     inflight, inflight_bytes;
    int      assigned, paused;
    uint64_t messages, commits, commit_errors, rebalances, pauses;
};

struct kafka_source *kafka_source_new(const struct config *cfg, const struct kafka_source_opts *o,
                                      char *err, size_t errlen);
/* Poll until stopped; then drain, commit, close. 0 = clean stop, 1 = fatal error. */
int  kafka_source_run(struct kafka_source *ks);
/* Ask run() to stop (async-signal-safe). */
void kafka_source_stop(struct kafka_source *ks);
/* A stage-level fatal error: stop; what is not done stays uncommitted. */
void kafka_source_fail(struct kafka_source *ks, const char *why);
void kafka_source_free(struct kafka_source *ks);

int  kafka_source_begin(struct kafka_source *ks, struct ks_msg *m);
void kafka_source_done(struct kafka_source *ks, struct ks_msg *m);
void kafka_source_drop(struct kafka_source *ks, struct ks_msg *m);
/* Non-zero once the message's partition is being revoked or the source is
 * closing: long work (a large S3 object) may stop early and drop the message. */
int  kafka_source_cancelled(struct kafka_source *ks, const struct ks_msg *m);

void kafka_source_get_stats(struct kafka_source *ks, struct kafka_source_stats *st);
rd_kafka_t *kafka_source_handle(struct kafka_source *ks);
#endif
