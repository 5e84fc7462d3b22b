/* test_kafka_source: kafka_source against librdkafka's mock cluster.
 * Messages are acknowledged out of order by a test worker; the committed
 * offsets are checked with a separate consumer of the same group: every
 * partition ends at its end offset, except one where a message was never
 * acknowledged (dropped): its commit stops exactly there. Backpressure must
 * have paused the partitions (max_inflight is small), and stop drains.
 * A second scenario moves partitions away while the source is paused and
 * gives them back after it resumed: they must be fetched again (librdkafka
 * keeps a partition's pause flag across unassign and assign). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include "kafka_source.h"
#include "testlib.h"

#define TOPIC "raw"
#define NPART 3
#define NMSG 300
#define HOLD_PARTITION 1
#define HOLD_OFFSET 17

struct harness {
    struct kafka_source *ks;
    pthread_mutex_t lock;
    struct ks_msg *queue[NMSG * 2];
    int nq, seen, acked, dropped, begun_refused;
    int64_t last_acked[NPART];
    int out_of_order;                 /* acks that went backwards within a partition */
};

static int dispatch(void *arg, struct ks_msg *m)
{
    struct harness *h = arg;
    pthread_mutex_lock(&h->lock);
    h->queue[h->nq++] = m;
    pthread_mutex_unlock(&h->lock);
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Take whatever is queued, shuffle it, acknowledge it (one message dropped). */
static void *worker(void *arg)
{
    struct harness *h = arg;
    unsigned seed = 7;
    while (h->seen < NMSG) {
        struct ks_msg *batch[NMSG * 2];
        pthread_mutex_lock(&h->lock);
        int n = h->nq;
        memcpy(batch, h->queue, (size_t)n * sizeof *batch);
        h->nq = 0;
        pthread_mutex_unlock(&h->lock);
        for (int i = n - 1; i > 0; i--) {
            int j = (int)(rand_r(&seed) % (unsigned)(i + 1));
            struct ks_msg *t = batch[i]; batch[i] = batch[j]; batch[j] = t;
        }
        for (int i = 0; i < n; i++) {
            struct ks_msg *m = batch[i];
            int32_t p = m->rkm->partition;
            int64_t off = m->rkm->offset;
            h->seen++;
            if (!kafka_source_begin(h->ks, m)) { h->begun_refused++; kafka_source_drop(h->ks, m); continue; }
            if (off < h->last_acked[p]) h->out_of_order++;
            h->last_acked[p] = off;
            if (p == HOLD_PARTITION && off == HOLD_OFFSET) { h->dropped++; kafka_source_drop(h->ks, m); }
            else { h->acked++; kafka_source_done(h->ks, m); }
        }
        sleep_ms(5);
    }
    sleep_ms(500);                    /* let a periodic commit happen before the stop */
    kafka_source_stop(h->ks);
    return NULL;
}

static int64_t end_offsets[NPART];

static const char *produce_all(rd_kafka_mock_cluster_t **mc, rd_kafka_t **mrk)
{
    char err[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "log_level", "3", err, sizeof err);
    *mrk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
    *mc = rd_kafka_mock_cluster_new(*mrk, 1);
    rd_kafka_mock_topic_create(*mc, TOPIC, NPART, 1);
    const char *boot = rd_kafka_mock_cluster_bootstraps(*mc);
    c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", boot, err, sizeof err);
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
    for (int i = 0; i < NMSG; i++) {
        char v[32];
        int len = snprintf(v, sizeof v, "message %d", i);
        rd_kafka_producev(p, RD_KAFKA_V_TOPIC(TOPIC), RD_KAFKA_V_PARTITION(i % NPART),
                          RD_KAFKA_V_VALUE(v, (size_t)len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        end_offsets[i % NPART]++;
    }
    CHECK_INT(rd_kafka_flush(p, 10000), 0);
    rd_kafka_destroy(p);
    return boot;
}

/* A plain consumer of the group; extra is a NULL-ended list of name, value. */
static rd_kafka_t *group_consumer(const char *boot, const char *group, const char *const *extra)
{
    char err[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", boot, err, sizeof err);
    rd_kafka_conf_set(c, "group.id", group, err, sizeof err);
    for (; extra && extra[0]; extra += 2) rd_kafka_conf_set(c, extra[0], extra[1], err, sizeof err);
    return rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof err);
}

static rd_kafka_topic_partition_list_t *committed_offsets(const char *boot, const char *group)
{
    rd_kafka_t *k = group_consumer(boot, group, NULL);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(NPART);
    for (int p = 0; p < NPART; p++) rd_kafka_topic_partition_list_add(l, TOPIC, p);
    CHECK_INT(rd_kafka_committed(k, l, 10000), 0);
    rd_kafka_consumer_close(k);
    rd_kafka_destroy(k);
    return l;
}

static int committed_to_end(const char *boot, const char *group)
{
    rd_kafka_topic_partition_list_t *l = committed_offsets(boot, group);
    int all = 1;
    for (int p = 0; p < NPART; p++) all &= l->elems[p].offset == end_offsets[p];
    rd_kafka_topic_partition_list_destroy(l);
    return all;
}

static void check_committed(const char *boot, const char *group, int hold_partition)
{
    rd_kafka_topic_partition_list_t *l = committed_offsets(boot, group);
    for (int p = 0; p < NPART; p++) {
        int64_t want = p == hold_partition ? HOLD_OFFSET : end_offsets[p];
        CHECK_INT(l->elems[p].offset, want);
    }
    rd_kafka_topic_partition_list_destroy(l);
}

/* ---- partitions revoked while paused, given back after the resume ---------- */

struct holder {
    struct kafka_source *ks;
    pthread_mutex_t lock;
    struct ks_msg *queue[NMSG * 4];
    int nq;
    atomic_int release, quit;
};

static int hold(void *arg, struct ks_msg *m)
{
    struct holder *h = arg;
    pthread_mutex_lock(&h->lock);
    h->queue[h->nq++] = m;
    pthread_mutex_unlock(&h->lock);
    return 0;
}

/* Keeps every message (so the source pauses) until released, then acks. */
static void *holder_worker(void *arg)
{
    struct holder *h = arg;
    while (!atomic_load(&h->quit)) {
        sleep_ms(5);
        if (!atomic_load(&h->release)) continue;
        pthread_mutex_lock(&h->lock);
        for (int i = 0; i < h->nq; i++) {
            if (kafka_source_begin(h->ks, h->queue[i])) kafka_source_done(h->ks, h->queue[i]);
            else kafka_source_drop(h->ks, h->queue[i]);
        }
        h->nq = 0;
        pthread_mutex_unlock(&h->lock);
    }
    return NULL;
}

static void *run_source(void *ks) { kafka_source_run(ks); return NULL; }

static int wait_for(struct kafka_source *ks, int (*cond)(const struct kafka_source_stats *), int timeout_ms)
{
    struct kafka_source_stats st;
    for (int waited = 0; waited < timeout_ms; waited += 20) {
        kafka_source_get_stats(ks, &st);
        if (cond(&st)) return 1;
        sleep_ms(20);
    }
    return 0;
}
static int paused_with_all(const struct kafka_source_stats *st) { return st->paused && st->assigned == NPART; }
static int lost_some(const struct kafka_source_stats *st) { return st->assigned < NPART; }
static int resumed(const struct kafka_source_stats *st) { return !st->paused; }
static int has_all(const struct kafka_source_stats *st) { return st->assigned == NPART; }

/* A plain member of the same group that takes partitions while it polls. */
struct other { rd_kafka_t *rk; atomic_int quit; };
static void *poll_other(void *arg)
{
    struct other *o = arg;
    while (!atomic_load(&o->quit)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(o->rk, 50);
        if (m) rd_kafka_message_destroy(m);
    }
    return NULL;
}

static rd_kafka_t *join_group(const char *boot, const char *group)
{
    static const char *const conf[] = {
        "partition.assignment.strategy", "cooperative-sticky", "enable.auto.commit", "false",
        "log_level", "3", "session.timeout.ms", "6000", "heartbeat.interval.ms", "200", NULL,
    };
    rd_kafka_t *rk = group_consumer(boot, group, conf);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, TOPIC, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    return rk;
}

static void reassign_while_paused(const char *boot, const struct config *cfg)
{
    char err[512];
    struct holder h = { 0 };
    pthread_mutex_init(&h.lock, NULL);
    struct kafka_source_opts o = { .group = "g2", .topics = TOPIC, .msg_size = sizeof(struct ks_msg),
                                   .dispatch = hold, .arg = &h };
    h.ks = kafka_source_new(cfg, &o, err, sizeof err);
    CHECK(h.ks != NULL);
    if (!h.ks) return;
    pthread_t run, work, poller;
    pthread_create(&work, NULL, holder_worker, &h);
    pthread_create(&run, NULL, run_source, h.ks);
    CHECK(wait_for(h.ks, paused_with_all, 20000));
    struct other b = { join_group(boot, "g2"), 0 };
    pthread_create(&poller, NULL, poll_other, &b);
    CHECK(wait_for(h.ks, lost_some, 30000));          /* revoked while paused */
    atomic_store(&h.release, 1);
    CHECK(wait_for(h.ks, resumed, 10000));            /* resumes what it still has */
    atomic_store(&b.quit, 1);
    pthread_join(poller, NULL);
    rd_kafka_consumer_close(b.rk);                    /* the partitions come back */
    rd_kafka_destroy(b.rk);
    CHECK(wait_for(h.ks, has_all, 30000));
    int done = 0;                                     /* the refetched rest, committed */
    for (int waited = 0; !done && waited < 30000; waited += 200) {
        sleep_ms(200);
        done = committed_to_end(boot, "g2");
    }
    CHECK(done);
    kafka_source_stop(h.ks);
    pthread_join(run, NULL);
    atomic_store(&h.quit, 1);
    pthread_join(work, NULL);
    kafka_source_free(h.ks);
    check_committed(boot, "g2", -1);                  /* every partition to its end */
}

int main(void)
{
    rd_kafka_mock_cluster_t *mc;
    rd_kafka_t *mrk;
    const char *boot = produce_all(&mc, &mrk);
    struct config cfg;
    config_init(&cfg);
    char err[512];
    config_set(&cfg, "brokers", boot, CFG_SRC_FLAG, err, sizeof err);
    config_set(&cfg, "max_inflight", "20", CFG_SRC_FLAG, err, sizeof err);
    config_set(&cfg, "commit_interval_ms", "50", CFG_SRC_FLAG, err, sizeof err);
    config_set(&cfg, "kafka.log_level", "3", CFG_SRC_FLAG, err, sizeof err);
    /* quick rebalances on the mock cluster */
    config_set(&cfg, "kafka.consumer.session.timeout.ms", "6000", CFG_SRC_FLAG, err, sizeof err);
    config_set(&cfg, "kafka.consumer.heartbeat.interval.ms", "200", CFG_SRC_FLAG, err, sizeof err);
    struct harness h = { 0 };
    pthread_mutex_init(&h.lock, NULL);
    struct kafka_source_opts o = { .group = "g1", .topics = TOPIC, .msg_size = sizeof(struct ks_msg),
                                   .dispatch = dispatch, .arg = &h };
    h.ks = kafka_source_new(&cfg, &o, err, sizeof err);
    CHECK(h.ks != NULL);
    if (!h.ks) { fprintf(stderr, "%s\n", err); return tl_done(); }
    pthread_t t;
    pthread_create(&t, NULL, worker, &h);
    CHECK_INT(kafka_source_run(h.ks), 0);
    pthread_join(t, NULL);
    struct kafka_source_stats st;
    kafka_source_get_stats(h.ks, &st);
    CHECK_INT(h.seen, NMSG);
    CHECK_INT(h.acked + h.dropped, NMSG);
    CHECK_INT(h.dropped, 1);
    CHECK(h.out_of_order > 0);        /* the acks really came out of order */
    CHECK(st.pauses > 0);             /* 300 messages through a window of 20 */
    CHECK_INT(st.inflight, 0);
    CHECK(st.commits > 0);
    kafka_source_free(h.ks);
    check_committed(boot, "g1", HOLD_PARTITION);
    reassign_while_paused(boot, &cfg);
    config_free(&cfg);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(mrk);
    return tl_done();
}
