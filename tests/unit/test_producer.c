/* test_producer: producer against librdkafka's mock cluster.
 * Two threads send values of many sizes (empty to 70 KB) through a
 * deliberately small local queue, so sends wait for space; a fifth of the
 * completions send a follow-up from the delivery thread, which finds the
 * queue full and goes through the backlog. Every completion must run
 * exactly once without error, and every value read back from the topic must
 * be byte for byte what was sent (the senders reuse their buffer at once, a
 * second round sends other bytes under the same ids). Refused sends report
 * the error and never complete. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include "producer.h"
#include "testlib.h"

#define TOPIC "out"
#define NPART 3
#define NFIRST 3000                   /* per round, sent by two threads */
#define FOLLOW_EVERY 5                /* first-round ids that send a follow-up from their completion */
#define NALL (NFIRST + NFIRST / FOLLOW_EVERY)
#define BIG 70000

struct item {
    struct producer_done d;
    int id;
    atomic_int calls, errors;
};

static struct producer *prod;
static rd_kafka_topic_t *topic;
static struct item items[NALL];
static int round_base;                /* values differ per round */
static atomic_int refused;            /* sends from the threads that did not return 0 (testlib is not thread-safe) */

static size_t value_len(int id)
{
    if (id % 7 == 0) return 0;
    if (id % 97 == 0) return BIG;
    return 100 + (size_t)(id * 37 % 3000);
}

static void value_for(int id, char *out)
{
    size_t n = value_len(id);
    for (size_t i = 0; i < n; i++) out[i] = (char)('a' + (id + round_base + (int)i) % 26);
}

static int send_id(int id)
{
    static _Thread_local char v[BIG];
    char key[16];
    int kl = snprintf(key, sizeof key, "k%d", id);
    value_for(id, v);
    struct producer_header h[2] = { { "round", "x", 1 }, { "id", key, (size_t)kl } };
    return producer_send(prod, topic, key, (size_t)kl, v, value_len(id), h, 2, &items[id].d);
}

static void on_done(struct producer_done *d, const rd_kafka_message_t *rkm)
{
    struct item *it = (struct item *)d;
    atomic_fetch_add(&it->calls, 1);
    if (rkm->err) atomic_fetch_add(&it->errors, 1);
    if (it->id < NFIRST && it->id % FOLLOW_EVERY == 0)          /* on the delivery thread, like a reroute */
        if (send_id(NFIRST + it->id / FOLLOW_EVERY)) atomic_fetch_add(&refused, 1);
}

static void *sender(void *arg)
{
    int first = *(int *)arg;
    for (int id = first; id < NFIRST; id += 2)
        if (send_id(id)) atomic_fetch_add(&refused, 1);
    return NULL;
}

/* Read the topic from offset `from` per partition until every id of the round arrived; check the values. */
static void read_back(const char *boot, int64_t from[NPART])
{
    char err[256], *want = malloc(BIG);
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", boot, err, sizeof err);
    rd_kafka_conf_set(c, "group.id", "reader", err, sizeof err);
    rd_kafka_t *k = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof err);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(NPART);
    for (int p = 0; p < NPART; p++) rd_kafka_topic_partition_list_add(l, TOPIC, p)->offset = from[p];
    rd_kafka_assign(k, l);
    int got = 0, bad = 0, idle = 0;
    static unsigned char seen[NALL];
    memset(seen, 0, sizeof seen);
    while (got < NALL && idle < 100) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(k, 100);
        if (!m) { idle++; continue; }
        idle = 0;
        if (!m->err) {
            int id = atoi((const char *)m->key + 1);
            value_for(id, want);
            if (id < 0 || id >= NALL || seen[id]++ || m->len != value_len(id) || (m->len && memcmp(m->payload, want, m->len)))
                bad++;
            got++;
            from[m->partition] = m->offset + 1;
        }
        rd_kafka_message_destroy(m);
    }
    CHECK_INT(got, NALL);
    CHECK_INT(bad, 0);
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_consumer_close(k);
    rd_kafka_destroy(k);
    free(want);
}

static void one_round(const char *boot, int64_t from[NPART])
{
    for (int i = 0; i < NALL; i++) {
        items[i].d.fn = on_done;
        items[i].id = i;
        atomic_store(&items[i].calls, 0);
        atomic_store(&items[i].errors, 0);
    }
    pthread_t t[2];
    int first[2] = { 0, 1 };
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, sender, &first[i]);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    CHECK_INT(producer_flush(prod, 30000), 0);
    CHECK_INT(atomic_load(&refused), 0);
    int once = 0, errors = 0;
    for (int i = 0; i < NALL; i++) {
        once += atomic_load(&items[i].calls) == 1;
        errors += atomic_load(&items[i].errors);
    }
    CHECK_INT(once, NALL);
    CHECK_INT(errors, 0);
    read_back(boot, from);
}

static void refused_sends(void)
{
    static char huge[2000000];
    struct item it = { .d.fn = on_done, .id = NALL };
    CHECK_INT(producer_send(prod, topic, "k", 1, huge, sizeof huge, NULL, 0, &it.d), RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
    producer_close(prod);
    CHECK_INT(producer_send(prod, topic, "k", 1, "small", 5, NULL, 0, &it.d), RD_KAFKA_RESP_ERR__DESTROY);
    CHECK_INT(producer_send(prod, topic, "k", 1, huge, BIG, NULL, 0, &it.d), RD_KAFKA_RESP_ERR__DESTROY);
    CHECK_INT(atomic_load(&it.calls), 0);
    CHECK_INT(producer_outstanding(prod), 0);
}

int main(void)
{
    char err[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "log_level", "3", err, sizeof err);
    rd_kafka_t *mrk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(mrk, 1);
    rd_kafka_mock_topic_create(mc, TOPIC, NPART, 1);
    const char *boot = rd_kafka_mock_cluster_bootstraps(mc);

    c = rd_kafka_conf_new();
    const char *props[] = { "bootstrap.servers", boot, "enable.idempotence", "true", "compression.type", "lz4",
                            "linger.ms", "2", "queue.buffering.max.messages", "40", "log_level", "3", NULL };
    for (const char **p = props; *p; p += 2) CHECK_INT(rd_kafka_conf_set(c, p[0], p[1], err, sizeof err), RD_KAFKA_CONF_OK);
    prod = producer_new(c, err, sizeof err);
    CHECK(prod != NULL);
    if (!prod) return tl_done();
    topic = producer_topic(prod, TOPIC);
    int64_t from[NPART] = { 0 };
    one_round(boot, from);
    round_base = 1;
    one_round(boot, from);
    refused_sends();
    producer_free(prod);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(mrk);
    return tl_done();
}
