/* stage_common: see stage_common.h. */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "buf.h"
#include "monitor.h"
#include "stage_common.h"

struct producer *stage_producer_new(const struct config *cfg, char *err, size_t errlen)
{
    const char *const defaults[] = {
        "linger.ms", "20", "message.timeout.ms", "300000", NULL,
    };
    rd_kafka_conf_t *c = config_kafka_conf(cfg, CFG_ROLE_PRODUCER, defaults, err, errlen);
    if (!c)
        return NULL;
    if (rd_kafka_conf_set(c, "enable.idempotence", "true", err, errlen) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(c, "compression.type", cfg->compression, err, errlen) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(c);
        return NULL;
    }
    return producer_new(c, err, errlen);
}

/* librdkafka before 2.6.1 sends a SCRAM proof that Kafka 4.x brokers reject
 * as invalid credentials (confluentinc/librdkafka#4895): say so when it is
 * the one linked and a SCRAM login was refused. */
static void scram_hint(rd_kafka_t *rk, char *out, size_t n)
{
    char mech[64] = "";
    size_t ml = sizeof mech;
    out[0] = 0;
    if (rd_kafka_version() >= 0x02060100 ||
        rd_kafka_conf_get(rd_kafka_conf(rk), "sasl.mechanisms", mech, &ml) != RD_KAFKA_CONF_OK ||
        strncmp(mech, "SCRAM", 5) != 0)
        return;
    snprintf(out, n, " (note: librdkafka %s, linked here, cannot log in with SCRAM to Kafka 4.x brokers; "
             "fixed in 2.6.1, confluentinc/librdkafka#4895)", rd_kafka_version_str());
}

/* Metadata in one-second slices for up to 15 s: a broker that refuses our
 * credentials or TLS at start-up is a configuration error, reported at once. */
int stage_check_topic(struct producer *p, const char *name, const char *key, char *err, size_t errlen)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *t = producer_topic(p, name);
    rd_kafka_t *rk = producer_handle(p);
    char why[512], hint[256];
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR__TIMED_OUT;
    for (int slice = 0; slice < 15; slice++) {
        e = rd_kafka_metadata(rk, 0, t, &md, 1000);
        if (e != RD_KAFKA_RESP_ERR__TIMED_OUT && e != RD_KAFKA_RESP_ERR__TRANSPORT)
            break;
        if (producer_refused(p, why, sizeof why)) {
            scram_hint(rk, hint, sizeof hint);
            snprintf(err, errlen, "%s: cannot reach topic \"%s\": the broker refused the connection: %s%s", key,
                     name, why, hint);
            return -1;
        }
    }
    if (!e && md->topic_cnt == 1)
        e = md->topics[0].err;
    if (e)
        snprintf(err, errlen, "%s: topic \"%s\" is not available: %s", key, name, rd_kafka_err2str(e));
    if (md)
        rd_kafka_metadata_destroy(md);
    return e ? -1 : 0;
}

int stage_copy_headers(const rd_kafka_message_t *rkm, struct producer_header *out, int max)
{
    rd_kafka_headers_t *h = NULL;
    if (rd_kafka_message_headers(rkm, &h) != RD_KAFKA_RESP_ERR_NO_ERROR || !h)
        return 0;
    const char *name;
    const void *value;
    size_t len;
    int n = 0;
    for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &value, &len) == RD_KAFKA_RESP_ERR_NO_ERROR; i++) {
        if (n == max)
            return -1;
        out[n++] = (struct producer_header){name, value ? value : "", value ? len : 0};
    }
    return n;
}

static int64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t stage_now_ms(void) { return clock_ms(CLOCK_MONOTONIC); }
int64_t stage_wall_ms(void) { return clock_ms(CLOCK_REALTIME); }

int stage_sleep_unless(long ms, int (*stop)(void *arg), void *arg)
{
    int64_t end = stage_now_ms() + ms;
    while (!stop(arg)) {
        int64_t left = end - stage_now_ms();
        if (left <= 0)
            return 0;
        struct timespec ts = {0, (left < 50 ? left : 50) * 1000000L};
        nanosleep(&ts, NULL);
    }
    return 1;
}

long stage_backoff_ms(long base, long max, int attempt, unsigned *rng)
{
    long d = base > 0 ? base : 1;
    for (int i = 0; i < attempt && d < max; i++)
        d *= 2;
    if (d > max)
        d = max;
    long half = d / 2;
    return half + (long)((unsigned long)rand_r(rng) % (unsigned long)(d - half + 1));
}

/* ---- life cycle of a consuming stage ---------------------------------------------- */

static void tick(void *arg)
{
    struct stage_base *b = arg;
    int64_t now = stage_now_ms();
    if (b->cfg->summary_interval_s > 0 && now - b->last_summary_ms >= b->cfg->summary_interval_s * 1000) {
        b->last_summary_ms = now;
        b->kind->summary(b, "");
    }
}

int stage_base_open(struct stage_base *b, const struct stage_io *io, char *err, size_t n)
{
    const struct config *cfg = b->cfg;
    snprintf(b->topics, sizeof b->topics, "%s", cfg->topics[0] ? cfg->topics : io->default_topics);
    if (cfg->group[0])
        snprintf(b->group, sizeof b->group, "%s", cfg->group);
    else
        snprintf(b->group, sizeof b->group, "siemproc-%s", b->kind->name);
    if (!(b->prod = stage_producer_new(cfg, err, n)) || stage_check_topic(b->prod, io->out_topic, io->out_key, err, n) < 0)
        return -1;
    struct kafka_source_opts ko = {.group = b->group, .topics = b->topics, .msg_size = b->kind->msg_size,
                                   .dispatch = b->kind->dispatch, .tick = tick, .arg = b};
    if (!(b->ks = kafka_source_new(io->source_cfg ? io->source_cfg : cfg, &ko, err, n)))
        return -1;
    struct monitor_opts mo = monitor_stage_opts(cfg, b->kind->name, b->ks, b->group, b->topics);
    mo.queue_depth = io->queue_depth;
    mo.queue_arg = b;
    mo.ready_window_ms += (int)io->extra_ready_ms;
    b->mon = monitor_start(&mo, err, n);
    return b->mon ? 0 : -1;
}

int stage_base_spawn(struct stage_base *b, void *(*fn)(void *), void *arg, char *err, size_t n)
{
    b->threads = xrealloc(b->threads, (size_t)(b->nthreads + 1) * sizeof *b->threads);
    if (pthread_create(&b->threads[b->nthreads], NULL, fn, arg) != 0) {
        snprintf(err, n, "cannot start the %s worker threads", b->kind->name);
        return -1;
    }
    b->nthreads++;
    return 0;
}

struct stage_base *stage_base_new(const struct stage_kind *k, const struct config *cfg, char *err, size_t errlen)
{
    struct stage_base *b = xcalloc(1, k->size);
    b->cfg = cfg;
    b->kind = k;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    b->last_summary_ms = stage_now_ms();
    if (k->start(b, err, errlen) < 0) {
        stage_base_free(b);
        return NULL;
    }
    return b;
}

/* Wake the workers into their abort path, join them, and give back what
 * they left in the queue: uncommitted, it is consumed again. */
static void stop_workers(struct stage_base *b)
{
    atomic_store(&b->abort, 1);
    pthread_mutex_lock(&b->mu);
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    for (int i = 0; i < b->nthreads; i++)
        pthread_join(b->threads[i], NULL);
    b->nthreads = 0;
    pthread_mutex_lock(&b->mu);
    b->kind->drop_queued(b);
    pthread_mutex_unlock(&b->mu);
}

int stage_base_run(struct stage_base *b)
{
    int rc = kafka_source_run(b->ks);
    monitor_stop(b->mon); /* the consumer is closed: nothing left to watch */
    b->mon = NULL;
    stop_workers(b);
    producer_flush(b->prod, (int)b->cfg->shutdown_timeout_ms);
    char err[512];
    if (producer_fatal(b->prod, err, sizeof err)) {
        fprintf(stderr, "siemproc: kafka producer: fatal: %s\n", err);
        rc = 1;
    }
    b->kind->summary(b, " (final)");
    return rc;
}

void stage_base_stop(struct stage_base *b)
{
    atomic_store(&b->draining, 1);
    kafka_source_stop(b->ks);
}

void stage_base_free(struct stage_base *b)
{
    if (!b)
        return;
    monitor_stop(b->mon);
    if (b->ks)
        stop_workers(b);
    producer_free(b->prod);
    kafka_source_free(b->ks);
    if (b->kind->release)
        b->kind->release(b);
    free(b->threads);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
    free(b);
}
