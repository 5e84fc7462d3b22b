/* stage_retry: see stage_retry.h.
 *
 * Threads: the poll thread computes each message's due time and pushes it on
 * a min-heap; one worker pops what is due and produces it; the producer's
 * delivery thread settles it (or, when a re-submission is refused, sends it
 * to the DLQ instead). */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "kafka_source.h"
#include "retry_route.h"
#include "stage_common.h"
#include "stage_retry.h"

#define ATOMIC_FIELD(name) _Atomic uint64_t name;
#define CADD(field, n) atomic_fetch_add_explicit(&(field), (uint64_t)(n), memory_order_relaxed)
#define MAX_HEADERS (PRODUCER_MAX_HEADERS - 1) /* room for dlq.reason */

struct rmsg {
    struct ks_msg km;           /* first: allocated by kafka_source */
    struct rstage *st;
    struct producer_done pd;
    int64_t due_ms;             /* wall clock */
    int to_dlq;
    int no_origin;
    char reason[256];           /* dlq.reason header when set */
};

struct rstage {
    struct stage_base b;        /* first: consumer, producer, mu/cv, workers */
    struct rmsg **heap;         /* guarded by b.mu */
    size_t hn, hcap;
    struct { RETRY_COUNTERS(ATOMIC_FIELD) } c;
};

int64_t retry_due_ms(int64_t ts_ms, long attempts, long delay_ms, long max_ms)
{
    int64_t d = delay_ms;
    for (long i = 1; i < attempts && d < max_ms; i++)
        d *= 2;
    return ts_ms + (d < max_ms ? d : max_ms);
}

/* ---- heap of messages by due time -------------------------------------------- */

static void heap_swap(struct rstage *st, size_t a, size_t b)
{
    struct rmsg *t = st->heap[a];
    st->heap[a] = st->heap[b];
    st->heap[b] = t;
}

static void heap_push(struct rstage *st, struct rmsg *m)
{
    if (st->hn == st->hcap) {
        st->hcap = st->hcap ? st->hcap * 2 : 64;
        st->heap = xrealloc(st->heap, st->hcap * sizeof *st->heap);
    }
    size_t i = st->hn++;
    st->heap[i] = m;
    while (i && st->heap[(i - 1) / 2]->due_ms > st->heap[i]->due_ms) {
        heap_swap(st, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static struct rmsg *heap_pop(struct rstage *st)
{
    struct rmsg *top = st->heap[0];
    st->heap[0] = st->heap[--st->hn];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, min = i;
        if (l < st->hn && st->heap[l]->due_ms < st->heap[min]->due_ms) min = l;
        if (r < st->hn && st->heap[r]->due_ms < st->heap[min]->due_ms) min = r;
        if (min == i) break;
        heap_swap(st, i, min);
        i = min;
    }
    return top;
}

/* ---- poll thread ----------------------------------------------------------------- */

static long header_long(const rd_kafka_headers_t *h, const char *name, long dflt)
{
    char buf[32];
    const char *v = retry_header(h, name, buf, sizeof buf);
    char *end;
    long n = v ? strtol(v, &end, 10) : dflt;
    return v && *end ? dflt : n;
}

static void plan(struct rstage *st, struct rmsg *m)
{
    const struct config *cfg = st->b.cfg;
    const rd_kafka_message_t *rkm = m->km.rkm;
    rd_kafka_headers_t *h = NULL;
    char topic[256];
    rd_kafka_message_headers(rkm, &h);
    long attempts = header_long(h, "attempts", 1);
    int64_t ts = rd_kafka_message_timestamp(rkm, NULL);
    m->due_ms = retry_due_ms(ts > 0 ? ts : stage_wall_ms(), attempts, cfg->retry_delay_ms, cfg->retry_delay_max_ms);
    if (!retry_header(h, "origin.topic", topic, sizeof topic)) {
        m->to_dlq = m->no_origin = 1;
        m->due_ms = 0;
        snprintf(m->reason, sizeof m->reason, "no origin.topic header: cannot re-submit");
    } else if (attempts >= cfg->retry_max_attempts) {
        m->to_dlq = 1;
        m->due_ms = 0;
    }
}

static int dispatch(void *arg, struct ks_msg *km)
{
    struct rstage *st = arg;
    struct rmsg *m = (struct rmsg *)km;
    m->st = st;
    plan(st, m);
    pthread_mutex_lock(&st->b.mu);
    heap_push(st, m);
    pthread_cond_signal(&st->b.cv);
    pthread_mutex_unlock(&st->b.mu);
    return 0;
}

/* ---- producing ---------------------------------------------------------------------- */

static void send_copy(struct rmsg *m);

static void on_delivered(struct producer_done *d, const rd_kafka_message_t *rkm)
{
    struct rmsg *m = (struct rmsg *)((char *)d - offsetof(struct rmsg, pd));
    struct rstage *st = m->st;
    if (rkm->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        CADD(*(m->to_dlq ? &st->c.dead_lettered : &st->c.resubmitted), 1);
        kafka_source_done(st->b.ks, &m->km);
    } else if (!m->to_dlq) { /* the origin topic refused it: keep it for a human */
        m->to_dlq = 1;
        snprintf(m->reason, sizeof m->reason, "re-submission to %s failed: %s", rd_kafka_topic_name(rkm->rkt),
                 rd_kafka_err2str(rkm->err));
        send_copy(m);
    } else {
        char why[512];
        snprintf(why, sizeof why, "the DLQ topic %s refused a message: %s", st->b.cfg->dlq_topic,
                 rd_kafka_err2str(rkm->err));
        kafka_source_fail(st->b.ks, why);
        kafka_source_drop(st->b.ks, &m->km);
    }
}

/* Key, value and every header to the origin topic or the DLQ. */
static void send_copy(struct rmsg *m)
{
    struct rstage *st = m->st;
    const rd_kafka_message_t *rkm = m->km.rkm;
    struct producer_header h[PRODUCER_MAX_HEADERS];
    char topic[256];
    int nh = stage_copy_headers(rkm, h, MAX_HEADERS);
    rd_kafka_headers_t *src = NULL;
    rd_kafka_message_headers(rkm, &src);
    if (nh < 0) {
        kafka_source_fail(st->b.ks, "a retry message has more headers than can be copied");
        kafka_source_drop(st->b.ks, &m->km);
        return;
    }
    if (m->reason[0])
        h[nh++] = (struct producer_header){"dlq.reason", m->reason, strlen(m->reason)};
    const char *target = m->to_dlq ? st->b.cfg->dlq_topic : retry_header(src, "origin.topic", topic, sizeof topic);
    m->pd.fn = on_delivered;
    int err = producer_send(st->b.prod, producer_topic(st->b.prod, target), rkm->key, rkm->key_len, rkm->payload,
                            rkm->len, h, nh, &m->pd);
    if (!err)
        return;
    if (!m->to_dlq) {
        m->to_dlq = 1;
        snprintf(m->reason, sizeof m->reason, "re-submission to %s refused: %s", target, rd_kafka_err2str(err));
        send_copy(m);
        return;
    }
    char why[512];
    snprintf(why, sizeof why, "the DLQ topic %s refused a message: %s", target, rd_kafka_err2str(err));
    kafka_source_fail(st->b.ks, why);
    kafka_source_drop(st->b.ks, &m->km);
}

/* ---- worker ------------------------------------------------------------------------- */

static void timed_wait(struct rstage *st, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ns = ts.tv_nsec + (ms > 100 ? 100 : ms < 1 ? 1 : ms) * 1000000L;
    ts.tv_sec += ns / 1000000000L;
    ts.tv_nsec = ns % 1000000000L;
    pthread_cond_timedwait(&st->b.cv, &st->b.mu, &ts);
}

/* The next message to act on: due (send it) or, when stopping, not due
 * (drop it: uncommitted, it waits again after a restart). */
static struct rmsg *next_message(struct rstage *st, int *send)
{
    pthread_mutex_lock(&st->b.mu);
    struct rmsg *m = NULL;
    while (!m && !atomic_load(&st->b.abort)) {
        int64_t wait = st->hn ? st->heap[0]->due_ms - stage_wall_ms() : 100;
        if (st->hn && (wait <= 0 || atomic_load(&st->b.draining))) {
            *send = wait <= 0;
            m = heap_pop(st);
        } else {
            timed_wait(st, wait);
        }
    }
    pthread_mutex_unlock(&st->b.mu);
    return m;
}

static void *worker_main(void *arg)
{
    struct rstage *st = arg;
    int send;
    struct rmsg *m;
    while ((m = next_message(st, &send)) != NULL) {
        if (!send || !kafka_source_begin(st->b.ks, &m->km)) {
            kafka_source_drop(st->b.ks, &m->km);
            continue;
        }
        CADD(st->c.messages, 1);
        CADD(st->c.no_origin, m->no_origin);
        send_copy(m);
    }
    return NULL;
}

/* ---- counters and life cycle ----------------------------------------------------- */

void stage_retry_counters(struct rstage *st, struct retry_counters *out)
{
#define LOAD(name) out->name = atomic_load(&st->c.name);
    RETRY_COUNTERS(LOAD)
#undef LOAD
    pthread_mutex_lock(&st->b.mu);
    out->waiting = st->hn;
    pthread_mutex_unlock(&st->b.mu);
}

static void print_summary(struct stage_base *b, const char *when)
{
    struct retry_counters c;
    stage_retry_counters((struct rstage *)b, &c);
    fprintf(stderr, "siemproc: retry%s: messages=%" PRIu64 " resubmitted=%" PRIu64 " dead_lettered=%" PRIu64
            " no_origin=%" PRIu64 " waiting=%" PRIu64 "\n", when, c.messages, c.resubmitted, c.dead_lettered,
            c.no_origin, c.waiting);
}

/* Messages not due yet stay uncommitted: their wait resumes after a restart. */
static void drop_waiting(struct stage_base *b)
{
    struct rstage *st = (struct rstage *)b;
    while (st->hn)
        kafka_source_drop(b->ks, &heap_pop(st)->km);
}

static void release(struct stage_base *b)
{
    free(((struct rstage *)b)->heap);
}

static int start(struct stage_base *b, char *err, size_t n)
{
    const struct config *cfg = b->cfg;
    static const char *const need[] = {"brokers", "retry_topic", "dlq_topic", NULL};
    if (config_require(cfg, need, err, n) < 0)
        return -1;
    /* Held messages stay uncommitted (lag) until their backoff is due: only
     * a stall longer than the longest backoff is one. */
    struct stage_io io = {.default_topics = cfg->retry_topic, .out_topic = cfg->dlq_topic, .out_key = "dlq_topic",
                          .extra_ready_ms = cfg->retry_delay_max_ms};
    if (stage_base_open(b, &io, err, n) < 0)
        return -1;
    return stage_base_spawn(b, worker_main, b, err, n);
}

static const struct stage_kind retry_kind = {
    .name = "retry", .size = sizeof(struct rstage), .msg_size = sizeof(struct rmsg), .start = start,
    .dispatch = dispatch, .summary = print_summary, .drop_queued = drop_waiting, .release = release,
};

struct rstage *stage_retry_new(const struct config *cfg, char *err, size_t errlen)
{
    return (struct rstage *)stage_base_new(&retry_kind, cfg, err, errlen);
}

int stage_retry_run(struct rstage *st)
{
    fprintf(stderr, "siemproc: retry: %s -> origin topics after %ld ms (doubling, max %ld ms); after %ld attempts -> %s\n",
            st->b.topics, st->b.cfg->retry_delay_ms, st->b.cfg->retry_delay_max_ms, st->b.cfg->retry_max_attempts,
            st->b.cfg->dlq_topic);
    return stage_base_run(&st->b);
}

void stage_retry_stop(struct rstage *st)
{
    stage_base_stop(&st->b);
}

void stage_retry_free(struct rstage *st)
{
    stage_base_free(st ? &st->b : NULL);
}
