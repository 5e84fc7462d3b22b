/* test_kafka_source: kafka_source against librdkafka's mock cluster.
 * Messages are acknowledged out of order by a test worker; the committed
 * offsets are checked with a separate consumer of the same group: every
 * partition ends at its end offset, except one where a message was never
 * acknowledged (dropped): its commit stops exactly there. Backpressure must
 * have paused the partitions (max_inflight is small), and stop drains. */
#include <pthread.h>
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

static void check_committed(const char *boot, const char *group)
{
    char err[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", boot, err, sizeof err);
    rd_kafka_conf_set(c, "group.id", group, err, sizeof err);
    rd_kafka_t *k = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof err);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(NPART);
    for (int p = 0; p < NPART; p++) rd_kafka_topic_partition_list_add(l, TOPIC, p);
    CHECK_INT(rd_kafka_committed(k, l, 10000), 0);
    for (int p = 0; p < NPART; p++) {
        int64_t want = p == HOLD_PARTITION ? HOLD_OFFSET : end_offsets[p];
        CHECK_INT(l->elems[p].offset, want);
    }
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_consumer_close(k);
    rd_kafka_destroy(k);
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
    check_committed(boot, "g1");
    config_free(&cfg);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(mrk);
    return tl_done();
}
