/* kafka_source: see kafka_source.h.
 *
 * Locking: the partition table (parts) is touched only by the poll thread.
 * A partition's tracker and counters are shared with the workers and the
 * delivery thread (through ks_msg.part) and guarded by ks->lock; a partition
 * lives as long as it is assigned or any message of it is in flight (refs). */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "buf.h"
#include "kafka_source.h"
#include "offset_tracker.h"

struct ks_part {
    char   *topic;
    int32_t partition;
    struct offset_tracker tr;
    int64_t committed;          /* poll thread: last offset committed (or being committed) */
    int     inflight;           /* tracked, not done or dropped */
    int     started;            /* begun, not done or dropped */
    atomic_int revoking;        /* set under the lock, read without it by kafka_source_cancelled() */
    int     refs;               /* 1 while assigned + 1 per message in flight */
};

struct kafka_source {
    rd_kafka_t *rk;
    struct kafka_source_opts o;
    long max_inflight, max_bytes;
    int commit_interval_ms, revoke_timeout_ms, shutdown_timeout_ms;
    pthread_mutex_t lock;
    struct ks_part **parts;
    int nparts, capparts;
    struct ks_msg **held;       /* taken from Kafka but refused by dispatch(): offered again */
    int nheld, capheld;
    int paused;
    atomic_int stop, fatal, draining, closing;
    atomic_long inflight, inflight_bytes;
    atomic_ulong messages, commits, commit_errors, rebalances, pauses;
    atomic_int assigned, paused_flag;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* ---- partition table (poll thread) ---------------------------------------- */

static struct ks_part *find_part(struct kafka_source *ks, const char *topic, int32_t partition)
{
    for (int i = 0; i < ks->nparts; i++)
        if (ks->parts[i]->partition == partition && strcmp(ks->parts[i]->topic, topic) == 0) return ks->parts[i];
    return NULL;
}

static void add_part(struct kafka_source *ks, const char *topic, int32_t partition)
{
    if (find_part(ks, topic, partition)) return;
    struct ks_part *p = xcalloc(1, sizeof *p);
    p->topic = xstrdup(topic);
    p->partition = partition;
    p->committed = -1;
    p->refs = 1;
    offset_tracker_init(&p->tr);
    if (ks->nparts == ks->capparts) {
        ks->capparts = ks->capparts ? ks->capparts * 2 : 16;
        ks->parts = xrealloc(ks->parts, (size_t)ks->capparts * sizeof *ks->parts);
    }
    ks->parts[ks->nparts++] = p;
    atomic_store(&ks->assigned, ks->nparts);
}

/* Caller holds ks->lock. */
static void unref_part(struct ks_part *p)
{
    if (--p->refs) return;
    offset_tracker_free(&p->tr);
    free(p->topic);
    free(p);
}

static void remove_part(struct kafka_source *ks, struct ks_part *p)
{
    for (int i = 0; i < ks->nparts; i++)
        if (ks->parts[i] == p) { ks->parts[i] = ks->parts[--ks->nparts]; break; }
    atomic_store(&ks->assigned, ks->nparts);
    pthread_mutex_lock(&ks->lock);
    unref_part(p);
    pthread_mutex_unlock(&ks->lock);
}

/* ---- commits --------------------------------------------------------------- */

/* Commit the done prefix of the given partitions (all assigned when v is NULL). */
static void commit_parts(struct kafka_source *ks, struct ks_part **v, int n, int sync)
{
    if (!v) { v = ks->parts; n = ks->nparts; }
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(n ? n : 1);
    pthread_mutex_lock(&ks->lock);
    for (int i = 0; i < n; i++) {
        int64_t c = offset_tracker_committable(&v[i]->tr);
        if (c > v[i]->committed) {
            rd_kafka_topic_partition_list_add(list, v[i]->topic, v[i]->partition)->offset = c;
            v[i]->committed = c;
        }
    }
    pthread_mutex_unlock(&ks->lock);
    if (list->cnt) {
        rd_kafka_resp_err_t err = rd_kafka_commit(ks->rk, list, !sync);
        if (sync && err) {
            atomic_fetch_add(&ks->commit_errors, 1);
            fprintf(stderr, "siemproc: kafka: commit failed: %s\n", rd_kafka_err2str(err));
        } else if (sync) {
            atomic_fetch_add(&ks->commits, 1);
        }
    }
    rd_kafka_topic_partition_list_destroy(list);
}

/* Async commit results. A failed partition is committed again next time. */
static void on_commit(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    struct kafka_source *ks = opaque;
    if (err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;
    atomic_fetch_add(err ? &ks->commit_errors : &ks->commits, 1);
    for (int i = 0; offsets && i < offsets->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &offsets->elems[i];
        if (!err && !tp->err) continue;
        struct ks_part *p = find_part(ks, tp->topic, tp->partition);
        if (p && p->committed == tp->offset) p->committed = -1;
        fprintf(stderr, "siemproc: kafka: commit of %s [%" PRId32 "] @%" PRId64 " failed: %s\n", tp->topic,
                tp->partition, tp->offset, rd_kafka_err2str(err ? err : tp->err));
    }
}

/* ---- pause / resume --------------------------------------------------------- */

static void set_paused(struct kafka_source *ks, int paused)
{
    rd_kafka_topic_partition_list_t *list = NULL;
    if (rd_kafka_assignment(ks->rk, &list) == RD_KAFKA_RESP_ERR_NO_ERROR && list) {
        if (paused) rd_kafka_pause_partitions(ks->rk, list);
        else rd_kafka_resume_partitions(ks->rk, list);
    }
    if (list) rd_kafka_topic_partition_list_destroy(list);
    ks->paused = paused;
    atomic_store(&ks->paused_flag, paused);
    if (paused) atomic_fetch_add(&ks->pauses, 1);
}

static void backpressure(struct kafka_source *ks)
{
    long n = atomic_load(&ks->inflight), b = atomic_load(&ks->inflight_bytes);
    int over = n >= ks->max_inflight || b >= ks->max_bytes || ks->nheld;
    int under = n <= ks->max_inflight * 3 / 4 && b <= ks->max_bytes * 3 / 4 && !ks->nheld;
    if (!ks->paused && over) set_paused(ks, 1);
    else if (ks->paused && under && !ks->draining) set_paused(ks, 0);
}

/* ---- rebalances ------------------------------------------------------------- */

static int started_of(struct kafka_source *ks, struct ks_part **v, int n)
{
    int s = 0;
    pthread_mutex_lock(&ks->lock);
    for (int i = 0; i < n; i++) s += v[i]->started;
    pthread_mutex_unlock(&ks->lock);
    return s;
}

static void release_held(struct kafka_source *ks, int only_revoking)
{
    int kept = 0;
    for (int i = 0; i < ks->nheld; i++) {
        struct ks_msg *m = ks->held[i];
        if (!only_revoking || m->part->revoking) kafka_source_drop(ks, m);
        else ks->held[kept++] = m;
    }
    ks->nheld = kept;
}

static void revoke(struct kafka_source *ks, rd_kafka_topic_partition_list_t *list, int lost)
{
    struct ks_part **v = xcalloc((size_t)list->cnt + 1, sizeof *v);
    int n = 0;
    pthread_mutex_lock(&ks->lock);
    for (int i = 0; i < list->cnt; i++) {
        struct ks_part *p = find_part(ks, list->elems[i].topic, list->elems[i].partition);
        if (p) { p->revoking = 1; v[n++] = p; }
    }
    pthread_mutex_unlock(&ks->lock);
    release_held(ks, 1);
    int64_t deadline = mono_ms() + ks->revoke_timeout_ms;
    while (!lost && !atomic_load(&ks->closing) && started_of(ks, v, n) && mono_ms() < deadline) sleep_ms(5);
    if (!lost) commit_parts(ks, v, n, 1);
    int left = started_of(ks, v, n);
    if (left)
        fprintf(stderr, "siemproc: kafka: %d in-flight message(s) of revoked partitions abandoned%s\n", left,
                lost ? " (assignment lost)" : "");
    for (int i = 0; i < n; i++) remove_part(ks, v[i]);
    free(v);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *list, void *opaque)
{
    struct kafka_source *ks = opaque;
    int coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    rd_kafka_error_t *e = NULL;
    atomic_fetch_add(&ks->rebalances, 1);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        for (int i = 0; i < list->cnt; i++) add_part(ks, list->elems[i].topic, list->elems[i].partition);
        if (coop) e = rd_kafka_incremental_assign(rk, list);
        else rd_kafka_assign(rk, list);
        if (ks->paused) rd_kafka_pause_partitions(rk, list);
    } else {
        if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
            fprintf(stderr, "siemproc: kafka: rebalance error: %s\n", rd_kafka_err2str(err));
        revoke(ks, list, rd_kafka_assignment_lost(rk));
        /* librdkafka keeps a partition's pause flag across unassign and a later
         * assign (confluentinc/librdkafka#1849): a partition revoked or lost while
         * we were paused, and given back after we resumed, would never fetch again.
         * Resuming here, before the unassign, avoids racing the next assign's
         * fetch start (#2190). */
        if (ks->paused) rd_kafka_resume_partitions(rk, list);
        if (coop) e = rd_kafka_incremental_unassign(rk, list);
        else rd_kafka_assign(rk, NULL);
    }
    if (e) {
        fprintf(stderr, "siemproc: kafka: rebalance: %s\n", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
}

/* ---- messages --------------------------------------------------------------- */

static void offer(struct kafka_source *ks, struct ks_msg *m)
{
    if (!ks->nheld && ks->o.dispatch(ks->o.arg, m) == 0) return;
    if (ks->nheld == ks->capheld) {
        ks->capheld = ks->capheld ? ks->capheld * 2 : 8;
        ks->held = xrealloc(ks->held, (size_t)ks->capheld * sizeof *ks->held);
    }
    ks->held[ks->nheld++] = m;
}

static void redispatch(struct kafka_source *ks)
{
    int i = 0;
    while (i < ks->nheld && ks->o.dispatch(ks->o.arg, ks->held[i]) == 0) i++;
    memmove(ks->held, ks->held + i, (size_t)(ks->nheld - i) * sizeof *ks->held);
    ks->nheld -= i;
}

static void consumer_error(struct kafka_source *ks, rd_kafka_message_t *rkm)
{
    if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;
    fprintf(stderr, "siemproc: kafka: consumer: %s%s%s\n", rd_kafka_message_errstr(rkm),
            rkm->rkt ? " topic " : "", rkm->rkt ? rd_kafka_topic_name(rkm->rkt) : "");
    if (rkm->err == RD_KAFKA_RESP_ERR__FATAL) kafka_source_fail(ks, "fatal consumer error");
}

static void handle(struct kafka_source *ks, rd_kafka_message_t *rkm)
{
    struct ks_part *p = NULL;
    if (rkm->err) consumer_error(ks, rkm);
    else if (!ks->draining) p = find_part(ks, rd_kafka_topic_name(rkm->rkt), rkm->partition);
    int tracked = 0;
    if (p) {
        pthread_mutex_lock(&ks->lock);
        if (!p->revoking && offset_tracker_track(&p->tr, rkm->offset) == 0) {
            p->inflight++;
            p->refs++;
            tracked = 1;
        }
        pthread_mutex_unlock(&ks->lock);
    }
    if (!tracked) {                 /* not ours (any more), or seen before: the owner processes it */
        rd_kafka_message_destroy(rkm);
        return;
    }
    atomic_fetch_add(&ks->inflight, 1);
    atomic_fetch_add(&ks->inflight_bytes, (long)rkm->len);
    atomic_fetch_add(&ks->messages, 1);
    struct ks_msg *m = xcalloc(1, ks->o.msg_size);
    m->rkm = rkm;
    m->part = p;
    offer(ks, m);
}

static void finish(struct kafka_source *ks, struct ks_msg *m, int ack)
{
    struct ks_part *p = m->part;
    long len = (long)m->rkm->len;
    pthread_mutex_lock(&ks->lock);
    if (ack && offset_tracker_ack(&p->tr, m->rkm->offset) < 0)
        fprintf(stderr, "siemproc: kafka: %s [%" PRId32 "] @%" PRId64 " acknowledged twice\n", p->topic, p->partition,
                m->rkm->offset);
    p->inflight--;
    if (m->began) p->started--;
    unref_part(p);
    pthread_mutex_unlock(&ks->lock);
    atomic_fetch_sub(&ks->inflight, 1);
    atomic_fetch_sub(&ks->inflight_bytes, len);
    rd_kafka_message_destroy(m->rkm);
    free(m);
}

int kafka_source_begin(struct kafka_source *ks, struct ks_msg *m)
{
    pthread_mutex_lock(&ks->lock);
    int ok = !m->part->revoking && !atomic_load(&ks->draining);
    if (ok) { m->began = 1; m->part->started++; }
    pthread_mutex_unlock(&ks->lock);
    return ok;
}

void kafka_source_done(struct kafka_source *ks, struct ks_msg *m) { finish(ks, m, 1); }

int kafka_source_cancelled(struct kafka_source *ks, const struct ks_msg *m)
{
    return atomic_load(&m->part->revoking) || atomic_load(&ks->closing);
}
void kafka_source_drop(struct kafka_source *ks, struct ks_msg *m) { finish(ks, m, 0); }

/* ---- life cycle ------------------------------------------------------------- */

static int subscribe(struct kafka_source *ks, const char *topics, char *err, size_t errlen)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(4);
    char *copy = xstrdup(topics), *save = NULL;
    for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
        rd_kafka_topic_partition_list_add(list, t, RD_KAFKA_PARTITION_UA);
    free(copy);
    rd_kafka_resp_err_t e = list->cnt ? rd_kafka_subscribe(ks->rk, list) : RD_KAFKA_RESP_ERR__INVALID_ARG;
    if (e) snprintf(err, errlen, "topics: cannot subscribe to \"%s\": %s", topics, rd_kafka_err2str(e));
    rd_kafka_topic_partition_list_destroy(list);
    return e ? -1 : 0;
}

static rd_kafka_conf_t *consumer_conf(struct kafka_source *ks, const struct config *cfg, char *err, size_t errlen)
{
    static const char *const defaults[] = {
        "partition.assignment.strategy", "cooperative-sticky", "auto.offset.reset", "earliest",
        "enable.partition.eof", "false", "queued.max.messages.kbytes", "32768", NULL,
    };
    rd_kafka_conf_t *c = config_kafka_conf(cfg, CFG_ROLE_CONSUMER, defaults, err, errlen);
    for (const char *const *d = ks->o.conf_defaults; c && d && d[0]; d += 2)
        if (rd_kafka_conf_set(c, d[0], d[1], err, errlen) != RD_KAFKA_CONF_OK) { rd_kafka_conf_destroy(c); c = NULL; }
    /* At-least-once depends on these: they are not configurable. */
    const char *forced[] = { "group.id", ks->o.group, "enable.auto.commit", "false",
                             "enable.auto.offset.store", "false", NULL };
    for (const char **f = forced; c && f[0]; f += 2)
        if (rd_kafka_conf_set(c, f[0], f[1], err, errlen) != RD_KAFKA_CONF_OK) { rd_kafka_conf_destroy(c); c = NULL; }
    if (!c) return NULL;
    rd_kafka_conf_set_opaque(c, ks);
    rd_kafka_conf_set_rebalance_cb(c, on_rebalance);
    rd_kafka_conf_set_offset_commit_cb(c, on_commit);
    return c;
}

struct kafka_source *kafka_source_new(const struct config *cfg, const struct kafka_source_opts *o,
                                      char *err, size_t errlen)
{
    struct kafka_source *ks = xcalloc(1, sizeof *ks);
    ks->o = *o;
    if (ks->o.msg_size < sizeof(struct ks_msg)) ks->o.msg_size = sizeof(struct ks_msg);
    ks->max_inflight = cfg->max_inflight;
    ks->max_bytes = cfg->max_inflight_mb << 20;
    ks->commit_interval_ms = (int)cfg->commit_interval_ms;
    ks->revoke_timeout_ms = (int)cfg->revoke_timeout_ms;
    ks->shutdown_timeout_ms = (int)cfg->shutdown_timeout_ms;
    pthread_mutex_init(&ks->lock, NULL);
    rd_kafka_conf_t *c = consumer_conf(ks, cfg, err, errlen);
    char rkerr[512];
    if (c && !(ks->rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, rkerr, sizeof rkerr))) {
        rd_kafka_conf_destroy(c);
        snprintf(err, errlen, "kafka consumer: %s", rkerr);
    }
    if (!ks->rk) {
        pthread_mutex_destroy(&ks->lock);
        free(ks);
        return NULL;
    }
    rd_kafka_poll_set_consumer(ks->rk);
    if (subscribe(ks, o->topics, err, errlen) < 0) {
        kafka_source_free(ks);
        return NULL;
    }
    return ks;
}

void kafka_source_stop(struct kafka_source *ks) { atomic_store(&ks->stop, 1); }

void kafka_source_fail(struct kafka_source *ks, const char *why)
{
    if (!atomic_exchange(&ks->fatal, 1)) fprintf(stderr, "siemproc: stopping: %s\n", why);
    atomic_store(&ks->stop, 1);
}

/* Stop fetching; messages not begun are abandoned (the next owner takes them
 * again), those begun get up to shutdown_timeout_ms; commit; close. */
static void drain(struct kafka_source *ks)
{
    atomic_store(&ks->draining, 1);
    set_paused(ks, 1);
    release_held(ks, 0);
    int64_t start = mono_ms(), deadline = start + ks->shutdown_timeout_ms, next_commit = start;
    while (atomic_load(&ks->inflight) > 0 && mono_ms() < deadline) {
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(ks->rk, 20);
        if (rkm) handle(ks, rkm);
        if (mono_ms() >= next_commit) { commit_parts(ks, NULL, 0, 0); next_commit = mono_ms() + ks->commit_interval_ms; }
    }
    long left = atomic_load(&ks->inflight);
    if (left)
        fprintf(stderr, "siemproc: shutdown: %ld message(s) unfinished after %d ms stay uncommitted\n", left,
                ks->shutdown_timeout_ms);
    atomic_store(&ks->closing, 1);
    commit_parts(ks, NULL, 0, 1);
    rd_kafka_consumer_close(ks->rk);
}

int kafka_source_run(struct kafka_source *ks)
{
    int64_t next_commit = mono_ms() + ks->commit_interval_ms, next_tick = mono_ms() + 1000;
    while (!atomic_load(&ks->stop)) {
        if (ks->nheld) redispatch(ks);
        backpressure(ks);
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(ks->rk, 100);
        if (rkm) handle(ks, rkm);
        int64_t now = mono_ms();
        if (now >= next_commit) { commit_parts(ks, NULL, 0, 0); next_commit = now + ks->commit_interval_ms; }
        if (now >= next_tick) { if (ks->o.tick) ks->o.tick(ks->o.arg); next_tick = now + 1000; }
    }
    drain(ks);
    return atomic_load(&ks->fatal) ? 1 : 0;
}

void kafka_source_free(struct kafka_source *ks)
{
    if (!ks) return;
    release_held(ks, 0);
    while (ks->nparts) remove_part(ks, ks->parts[ks->nparts - 1]);
    if (ks->rk) rd_kafka_destroy(ks->rk);
    free(ks->parts);
    free(ks->held);
    pthread_mutex_destroy(&ks->lock);
    free(ks);
}

void kafka_source_get_stats(struct kafka_source *ks, struct kafka_source_stats *st)
{
    st->inflight = atomic_load(&ks->inflight);
    st->inflight_bytes = atomic_load(&ks->inflight_bytes);
    st->assigned = atomic_load(&ks->assigned);
    st->paused = atomic_load(&ks->paused_flag);
    st->messages = atomic_load(&ks->messages);
    st->commits = atomic_load(&ks->commits);
    st->commit_errors = atomic_load(&ks->commit_errors);
    st->rebalances = atomic_load(&ks->rebalances);
    st->pauses = atomic_load(&ks->pauses);
}

rd_kafka_t *kafka_source_handle(struct kafka_source *ks) { return ks->rk; }
