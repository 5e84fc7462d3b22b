/* stage_sink: see stage_sink.h.
 *
 * Threads: the poll thread (kafka_source_run) only puts messages into the
 * queue (dispatch refuses when it is full: kafka_source keeps them and
 * pauses); each worker moves messages from the queue into its own batch
 * until it is full or has lingered long enough, sends it, and settles each
 * message; the producer's delivery thread settles messages sent to the
 * retry topic. A message belongs to exactly one of: the queue, a batch, the
 * producer. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aws_credentials.h"
#include "kafka_source.h"
#include "retry_route.h"
#include "sink.h"
#include "stage_common.h"
#include "stage_sink.h"

#define ATOMIC_FIELD(name) _Atomic uint64_t name;
#define CADD(field, n) atomic_fetch_add_explicit(&(field), (uint64_t)(n), memory_order_relaxed)
#define LOG_EVERY_MS 10000

struct smsg {
    struct ks_msg km;          /* first: allocated by kafka_source */
    struct sstage *st;
    struct producer_done pd;
};

struct sworker {
    struct sstage *st;
    struct sink *sink;
    struct os_batch b;
    uint8_t *keep;
    size_t keep_cap;
    int64_t deadline_ms;       /* linger deadline of the batch being filled */
    int64_t last_log_ms;
    unsigned rng;
};

struct sstage {
    struct stage_base b;       /* first: consumer, producer, mu/cv, workers */
    struct config view;        /* cfg with an in-flight bound that fits the batches */
    struct aws_cred_provider *creds;
    rd_kafka_topic_t *retry_t;
    struct sworker *w;
    int nw;
    struct smsg **q;           /* guarded by b.mu */
    size_t qcap, qhead, qn;
    size_t max_docs, max_bytes;
    struct { SINK_COUNTERS(ATOMIC_FIELD) } c;
};

/* ---- queue (poll thread -> workers) ------------------------------------------ */

static int dispatch(void *arg, struct ks_msg *km)
{
    struct sstage *st = arg;
    struct smsg *m = (struct smsg *)km;
    pthread_mutex_lock(&st->b.mu);
    int ok = st->qn < st->qcap;
    if (ok) {
        m->st = st;
        st->q[(st->qhead + st->qn++) % st->qcap] = m;
        pthread_cond_signal(&st->b.cv);
    }
    pthread_mutex_unlock(&st->b.mu);
    return ok ? 0 : -1;
}

/* Messages waiting for a worker (the monitor's queue depth gauge). */
static size_t queued(void *arg)
{
    struct sstage *st = arg;
    pthread_mutex_lock(&st->b.mu);
    size_t n = st->qn;
    pthread_mutex_unlock(&st->b.mu);
    return n;
}

/* Caller holds st->b.mu. */
static struct smsg *pop(struct sstage *st)
{
    struct smsg *m = st->q[st->qhead];
    st->qhead = (st->qhead + 1) % st->qcap;
    st->qn--;
    return m;
}

/* ---- settling a message --------------------------------------------------------- */

static void on_retry_delivered(struct producer_done *d, const rd_kafka_message_t *rkm)
{
    struct smsg *m = (struct smsg *)((char *)d - offsetof(struct smsg, pd));
    struct sstage *st = m->st;
    if (rkm->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        CADD(st->c.retry_acked, 1);
        kafka_source_done(st->b.ks, &m->km);
        return;
    }
    char why[512];
    snprintf(why, sizeof why, "the retry topic refused a document: %s", rd_kafka_err2str(rkm->err));
    kafka_source_fail(st->b.ks, why);
    kafka_source_drop(st->b.ks, &m->km);
}

/* The message goes to the retry topic; it is done once that is acknowledged. */
static void route_to_retry(struct smsg *m, const char *type, const char *reason)
{
    struct sstage *st = m->st;
    const rd_kafka_message_t *rkm = m->km.rkm;
    rd_kafka_headers_t *h = NULL;
    char idx[256], log_type[128], origin[2048];
    rd_kafka_message_headers(rkm, &h);
    struct retry_info ri = {
        .error_type = type, .error_message = reason, .origin_topic = rd_kafka_topic_name(rkm->rkt),
        .origin_partition = rkm->partition, .origin_offset = rkm->offset,
        .origin = retry_header(h, "origin", origin, sizeof origin),
        .log_type = retry_header(h, "log_type", log_type, sizeof log_type),
        .index = retry_header(h, "index", idx, sizeof idx), .prev = h,
    };
    m->pd.fn = on_retry_delivered;
    int err = retry_route_send(st->b.prod, st->retry_t, &ri, rkm->key, rkm->key_len, rkm->payload, rkm->len, &m->pd);
    if (err) {
        char why[512];
        snprintf(why, sizeof why, "the retry topic refused a document from %s [%" PRId32 "] @%" PRId64 ": %s",
                 ri.origin_topic, ri.origin_partition, ri.origin_offset, rd_kafka_err2str(err));
        kafka_source_fail(st->b.ks, why);
        kafka_source_drop(st->b.ks, &m->km);
    }
}

/* ---- filling a batch --------------------------------------------------------------- */

static int batch_full(const struct sworker *w)
{
    return w->b.n >= w->st->max_docs || os_batch_bytes(&w->b) >= w->st->max_bytes;
}

static void take(struct sworker *w, struct smsg *m)
{
    struct sstage *st = w->st;
    if (!kafka_source_begin(st->b.ks, &m->km)) {
        kafka_source_drop(st->b.ks, &m->km);
        return;
    }
    CADD(st->c.messages, 1);
    const rd_kafka_message_t *rkm = m->km.rkm;
    rd_kafka_headers_t *h = NULL;
    char index[256];
    rd_kafka_message_headers(rkm, &h);
    const char *ix = retry_header(h, "index", index, sizeof index), *why = "no index header";
    if (!rkm->key_len)
        CADD(st->c.no_id, 1);
    if (!ix || os_batch_add(&w->b, ix, strlen(ix), rkm->key, rkm->key_len, rkm->payload, rkm->len, m, &why) != 0) {
        CADD(st->c.invalid, 1);
        route_to_retry(m, "invalid_document", why);
        return;
    }
    if (w->b.n == 1)
        w->deadline_ms = stage_now_ms() + st->b.cfg->batch_linger_ms;
}

static int ready(const struct sworker *w)
{
    return w->b.n && (batch_full(w) || stage_now_ms() >= w->deadline_ms || atomic_load(&w->st->b.draining));
}

static void wait_for_work(struct sworker *w)
{
    int64_t until = stage_now_ms() + 100;
    if (w->b.n && w->deadline_ms < until)
        until = w->deadline_ms;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ns = ts.tv_nsec + (until - stage_now_ms()) * 1000000L;
    ts.tv_sec += ns / 1000000000L;
    ts.tv_nsec = ns % 1000000000L;
    if (ts.tv_nsec < 0) ts.tv_nsec = 0;
    pthread_cond_timedwait(&w->st->b.cv, &w->st->b.mu, &ts);
}

/* Move queued messages into the batch until it is ready to send. */
static void collect(struct sworker *w)
{
    struct sstage *st = w->st;
    pthread_mutex_lock(&st->b.mu);
    while (!atomic_load(&st->b.abort) && !ready(w)) {
        if (st->qn) {
            struct smsg *m = pop(st);
            pthread_mutex_unlock(&st->b.mu);
            take(w, m);
            pthread_mutex_lock(&st->b.mu);
        } else {
            wait_for_work(w);
        }
    }
    pthread_mutex_unlock(&st->b.mu);
}

/* ---- sending a batch ------------------------------------------------------------------ */

static void log_failure(struct sworker *w, const struct os_bulk_summary *s, int attempt, long wait_ms)
{
    int64_t now = stage_now_ms();
    if (attempt && now - w->last_log_ms < LOG_EVERY_MS)
        return;
    w->last_log_ms = now;
    fprintf(stderr, "siemproc: sink: %zu document(s) not accepted yet (%s); attempt %d, next in %ld ms\n",
            s->retry, s->error, attempt + 1, wait_ms);
}

/* Settle what the sink decided; mark the items to send again in w->keep.
 * Returns how many are kept. */
static size_t settle(struct sworker *w)
{
    struct sstage *st = w->st;
    size_t kept = 0;
    for (size_t i = 0; i < w->b.n; i++) {
        const struct os_item *it = &w->b.items[i];
        struct smsg *m = it->opaque;
        w->keep[i] = 0;
        if (it->status == OS_OK) {
            CADD(st->c.acked, 1);
            CADD(st->c.duplicates, it->duplicate);
            kafka_source_done(st->b.ks, &m->km);
        } else if (it->status == OS_FAIL) {
            CADD(st->c.refused, 1);
            route_to_retry(m, it->error_type, it->error_reason);
        } else if (kafka_source_cancelled(st->b.ks, &m->km) || atomic_load(&st->b.abort)) {
            kafka_source_drop(st->b.ks, &m->km); /* revoked or shutting down: the next owner sends it */
        } else {
            w->keep[i] = 1;
            kept++;
        }
    }
    return kept;
}

static int stop_waiting(void *arg)
{
    struct sworker *w = arg;
    if (atomic_load(&w->st->b.abort))
        return 1;
    for (size_t i = 0; i < w->b.n; i++)
        if (kafka_source_cancelled(w->st->b.ks, &((struct smsg *)w->b.items[i].opaque)->km))
            return 1;
    return 0;
}

static void ensure_keep(struct sworker *w)
{
    if (w->keep_cap < w->b.n) {
        w->keep_cap = w->b.n;
        w->keep = xrealloc(w->keep, w->keep_cap);
    }
}

/* Drop the items whose partition went away (or all, on abort). */
static void prune(struct sworker *w)
{
    struct sstage *st = w->st;
    ensure_keep(w);
    for (size_t i = 0; i < w->b.n; i++) {
        struct smsg *m = w->b.items[i].opaque;
        w->keep[i] = !atomic_load(&st->b.abort) && !kafka_source_cancelled(st->b.ks, &m->km);
        if (!w->keep[i])
            kafka_source_drop(st->b.ks, &m->km);
    }
    os_batch_retain(&w->b, w->keep);
}

static void flush(struct sworker *w)
{
    struct sstage *st = w->st;
    ensure_keep(w);
    CADD(st->c.batches, 1);
    for (int attempt = 0; w->b.n; attempt++) {
        struct os_bulk_summary s;
        sink_write(w->sink, &w->b, &s);
        CADD(st->c.requests, s.requests);
        CADD(st->c.bytes_sent, s.bytes_sent);
        if (settle(w) == 0) {
            if (attempt)
                fprintf(stderr, "siemproc: sink: accepted again after %d attempt(s)\n", attempt + 1);
            break;
        }
        os_batch_retain(&w->b, w->keep);
        long wait = stage_backoff_ms(st->b.cfg->backoff_initial_ms, st->b.cfg->backoff_max_ms, attempt, &w->rng);
        log_failure(w, &s, attempt, wait);
        CADD(st->c.retries, 1);
        if (stage_sleep_unless(wait, stop_waiting, w))
            prune(w);
    }
    os_batch_reset(&w->b);
}

static void *worker_main(void *arg)
{
    struct sworker *w = arg;
    while (!atomic_load(&w->st->b.abort)) {
        collect(w);
        if (w->b.n && !atomic_load(&w->st->b.abort))
            flush(w);
    }
    prune(w); /* abort: whatever is left stays uncommitted */
    os_batch_reset(&w->b);
    return NULL;
}

/* ---- counters ---------------------------------------------------------------------- */

void stage_sink_counters(struct sstage *st, struct sink_counters *out)
{
#define LOAD(name) out->name = atomic_load(&st->c.name);
    SINK_COUNTERS(LOAD)
#undef LOAD
}

static void print_summary(struct stage_base *b, const char *when)
{
    struct sink_counters c;
    struct kafka_source_stats ks;
    stage_sink_counters((struct sstage *)b, &c);
    kafka_source_get_stats(b->ks, &ks);
    fprintf(stderr, "siemproc: sink%s: messages=%" PRIu64 " acked=%" PRIu64 " duplicates=%" PRIu64 " refused=%" PRIu64
            " invalid=%" PRIu64 " retry_acked=%" PRIu64 " batches=%" PRIu64 " requests=%" PRIu64 " retries=%" PRIu64
            " bytes_sent=%" PRIu64 " inflight=%ld paused=%d\n", when, c.messages, c.acked, c.duplicates, c.refused,
            c.invalid, c.retry_acked, c.batches, c.requests, c.retries, c.bytes_sent, ks.inflight, ks.paused);
}

/* ---- life cycle ------------------------------------------------------------------------ */

static int validate(const struct config *cfg, char *err, size_t n)
{
    static const char *const need[] = {"brokers", "retry_topic", NULL};
    if (config_require(cfg, need, err, n) < 0)
        return -1;
    if (!cfg->sink_file[0] && !cfg->opensearch_url[0]) {
        snprintf(err, n, "opensearch_url: missing (--opensearch-url, SIEMPROC_OPENSEARCH_URL, or sink_file for a file)");
        return -1;
    }
    return 0;
}

static int start_workers(struct sstage *st, char *err, size_t n)
{
    st->nw = (int)st->b.cfg->workers;
    st->w = xcalloc((size_t)st->nw, sizeof *st->w);
    for (int i = 0; i < st->nw; i++) {
        struct sworker *w = &st->w[i];
        w->st = st;
        w->rng = (unsigned)getpid() ^ (unsigned)(i * 7919) ^ (unsigned)stage_wall_ms();
        if (!(w->sink = sink_from_config(st->b.cfg, st->creds, err, n)))
            return -1;
        os_batch_init(&w->b, w->sink->action);
    }
    for (int i = 0; i < st->nw; i++)
        if (stage_base_spawn(&st->b, worker_main, &st->w[i], err, n) < 0)
            return -1;
    return 0;
}

static int start(struct stage_base *b, char *err, size_t n)
{
    struct sstage *st = (struct sstage *)b;
    const struct config *cfg = b->cfg;
    if (validate(cfg, err, n) < 0)
        return -1;
    st->max_docs = (size_t)cfg->batch_max_docs;
    st->max_bytes = (size_t)cfg->batch_max_kb * 1024;
    /* Every worker can fill a batch while another one is out: in-flight
     * messages below two full batches per worker would starve the sink. */
    st->view = *cfg;
    if (st->view.max_inflight < 2 * cfg->workers * cfg->batch_max_docs)
        st->view.max_inflight = 2 * cfg->workers * cfg->batch_max_docs;
    st->qcap = (size_t)st->view.max_inflight + 64;
    st->q = xcalloc(st->qcap, sizeof *st->q);
    st->creds = sink_cred_provider(cfg);
    struct stage_io io = {.default_topics = cfg->output_topic, .out_topic = cfg->retry_topic, .out_key = "retry_topic",
                          .source_cfg = &st->view, .queue_depth = queued};
    if (stage_base_open(b, &io, err, n) < 0)
        return -1;
    st->retry_t = producer_topic(b->prod, cfg->retry_topic);
    return start_workers(st, err, n);
}

/* Caller holds b->mu. */
static void drop_queued(struct stage_base *b)
{
    struct sstage *st = (struct sstage *)b;
    while (st->qn)
        kafka_source_drop(b->ks, &pop(st)->km);
}

static void release(struct stage_base *b)
{
    struct sstage *st = (struct sstage *)b;
    for (int i = 0; st->w && i < st->nw; i++) {
        sink_free(st->w[i].sink);
        os_batch_free(&st->w[i].b);
        free(st->w[i].keep);
    }
    free(st->w);
    free(st->q);
    aws_cred_provider_destroy(st->creds);
}

static const struct stage_kind sink_kind = {
    .name = "sink", .size = sizeof(struct sstage), .msg_size = sizeof(struct smsg), .start = start,
    .dispatch = dispatch, .summary = print_summary, .drop_queued = drop_queued, .release = release,
};

struct sstage *stage_sink_new(const struct config *cfg, char *err, size_t errlen)
{
    return (struct sstage *)stage_base_new(&sink_kind, cfg, err, errlen);
}

int stage_sink_run(struct sstage *st)
{
    const struct config *cfg = st->b.cfg;
    fprintf(stderr, "siemproc: sink: %d worker(s), %s -> %s %s (retry %s), batches of %zu docs / %zu KiB / %ld ms\n",
            st->nw, st->b.topics, st->w[0].sink->kind, cfg->sink_file[0] ? cfg->sink_file : cfg->opensearch_url,
            cfg->retry_topic, st->max_docs, st->max_bytes / 1024, cfg->batch_linger_ms);
    return stage_base_run(&st->b);
}

void stage_sink_stop(struct sstage *st)
{
    stage_base_stop(&st->b);
}

void stage_sink_free(struct sstage *st)
{
    stage_base_free(st ? &st->b : NULL);
}
