/* producer: see producer.h. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "buf.h"
#include "producer.h"

struct pending_send {               /* a send from the delivery thread that found the queue full */
    struct pending_send *next;
    rd_kafka_topic_t *rkt;
    void *key, *value;
    size_t klen, vlen;
    rd_kafka_headers_t *hdrs;
    struct producer_done *d;
};

struct topic_entry {
    char *name;
    rd_kafka_topic_t *rkt;
};

struct producer {
    rd_kafka_t *rk;
    pthread_t thread;
    pthread_mutex_t lock;           /* topics, backlog, space */
    pthread_cond_t space;
    struct topic_entry *topics;
    int ntopics;
    struct pending_send *backlog, **backlog_tail;
    atomic_long outstanding;
    atomic_int stop, closed, fatal;
    char refused[512];              /* the last authentication or TLS error, under lock */
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
    struct producer *p = opaque;
    struct producer_done *d = rkm->_private;
    d->fn(d, rkm);
    atomic_fetch_sub(&p->outstanding, 1);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct producer *p = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) atomic_store(&p->fatal, 1);
    if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION || err == RD_KAFKA_RESP_ERR__SSL) {
        pthread_mutex_lock(&p->lock);
        snprintf(p->refused, sizeof p->refused, "%s", reason);
        pthread_mutex_unlock(&p->lock);
    }
    fprintf(stderr, "siemproc: kafka producer: %s: %s\n", rd_kafka_err2name(err), reason);
}

static int is_delivery_thread(struct producer *p) { return pthread_equal(pthread_self(), p->thread); }

/* One produce call; headers are consumed on success only. */
static rd_kafka_resp_err_t produce(struct producer *p, rd_kafka_topic_t *t, const void *key, size_t klen,
                                   const void *value, size_t vlen, rd_kafka_headers_t *hdrs, struct producer_done *d)
{
    rd_kafka_vu_t vu[] = {
        { .vtype = RD_KAFKA_VTYPE_RKT, .u.rkt = t },
        { .vtype = RD_KAFKA_VTYPE_KEY, .u.mem = { (void *)key, klen } },
        { .vtype = RD_KAFKA_VTYPE_VALUE, .u.mem = { (void *)value, vlen } },
        { .vtype = RD_KAFKA_VTYPE_MSGFLAGS, .u.i = RD_KAFKA_MSG_F_COPY },
        { .vtype = RD_KAFKA_VTYPE_OPAQUE, .u.ptr = d },
        { .vtype = RD_KAFKA_VTYPE_HEADERS, .u.headers = hdrs },
    };
    rd_kafka_error_t *e = rd_kafka_produceva(p->rk, vu, hdrs ? 6 : 5);
    if (!e) return RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_resp_err_t err = rd_kafka_error_code(e);
    rd_kafka_error_destroy(e);
    return err;
}

static void add_backlog(struct producer *p, rd_kafka_topic_t *t, const void *key, size_t klen, const void *value,
                        size_t vlen, rd_kafka_headers_t *hdrs, struct producer_done *d)
{
    struct pending_send *ps = xcalloc(1, sizeof *ps);
    *ps = (struct pending_send){ NULL, t, klen ? xmalloc(klen) : NULL, xmalloc(vlen ? vlen : 1), klen, vlen, hdrs, d };
    if (klen) memcpy(ps->key, key, klen);
    if (vlen) memcpy(ps->value, value, vlen);
    pthread_mutex_lock(&p->lock);
    *p->backlog_tail = ps;
    p->backlog_tail = &ps->next;
    pthread_mutex_unlock(&p->lock);
}

/* Delivery thread: produce what the completions could not, in order. */
static void drain_backlog(struct producer *p)
{
    pthread_mutex_lock(&p->lock);
    while (p->backlog) {
        struct pending_send *ps = p->backlog;
        rd_kafka_resp_err_t err = atomic_load(&p->closed) ? RD_KAFKA_RESP_ERR__DESTROY
                                  : produce(p, ps->rkt, ps->key, ps->klen, ps->value, ps->vlen, ps->hdrs, ps->d);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
        if (err) {                       /* refused for good: report it like a failed delivery */
            rd_kafka_message_t m = { .err = err, .rkt = ps->rkt, .payload = ps->value, .len = ps->vlen,
                                     .key = ps->key, .key_len = ps->klen, ._private = ps->d };
            if (ps->hdrs) rd_kafka_headers_destroy(ps->hdrs);
            pthread_mutex_unlock(&p->lock);
            on_delivery(p->rk, &m, p);
            pthread_mutex_lock(&p->lock);
        }
        p->backlog = ps->next;
        if (!p->backlog) p->backlog_tail = &p->backlog;
        free(ps->key);
        free(ps->value);
        free(ps);
    }
    pthread_mutex_unlock(&p->lock);
}

static void *delivery_main(void *arg)
{
    struct producer *p = arg;
    pthread_setname_np(pthread_self(), "delivery");     /* for top -H and profiles */
    while (!atomic_load(&p->stop)) {
        rd_kafka_poll(p->rk, 50);
        drain_backlog(p);
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->space);
        pthread_mutex_unlock(&p->lock);
    }
    return NULL;
}

struct producer *producer_new(rd_kafka_conf_t *conf, char *err, size_t errlen)
{
    struct producer *p = xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->space, NULL);
    p->backlog_tail = &p->backlog;
    rd_kafka_conf_set_opaque(conf, p);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);
    char rkerr[512];
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, rkerr, sizeof rkerr);
    if (!p->rk) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "kafka producer: %s", rkerr);
        free(p);
        return NULL;
    }
    if (pthread_create(&p->thread, NULL, delivery_main, p)) {
        snprintf(err, errlen, "kafka producer: cannot start the delivery thread");
        rd_kafka_destroy(p->rk);
        free(p);
        return NULL;
    }
    return p;
}

rd_kafka_topic_t *producer_topic(struct producer *p, const char *name)
{
    pthread_mutex_lock(&p->lock);
    rd_kafka_topic_t *t = NULL;
    for (int i = 0; i < p->ntopics && !t; i++)
        if (strcmp(p->topics[i].name, name) == 0) t = p->topics[i].rkt;
    if (!t && (t = rd_kafka_topic_new(p->rk, name, NULL))) {
        p->topics = xrealloc(p->topics, (size_t)(p->ntopics + 1) * sizeof *p->topics);
        p->topics[p->ntopics++] = (struct topic_entry){ xstrdup(name), t };
    }
    pthread_mutex_unlock(&p->lock);
    return t;
}

static rd_kafka_headers_t *make_headers(const struct producer_header *h, int nh)
{
    if (nh <= 0) return NULL;
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new((size_t)nh);
    for (int i = 0; i < nh; i++) rd_kafka_header_add(hdrs, h[i].name, -1, h[i].value, (ssize_t)h[i].len);
    return hdrs;
}

static void wait_for_space(struct producer *p)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 20 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
    pthread_mutex_lock(&p->lock);
    pthread_cond_timedwait(&p->space, &p->lock, &ts);
    pthread_mutex_unlock(&p->lock);
}

int producer_send(struct producer *p, rd_kafka_topic_t *t, const void *key, size_t klen, const void *value,
                  size_t vlen, const struct producer_header *h, int nh, struct producer_done *d)
{
    rd_kafka_headers_t *hdrs = make_headers(h, nh);
    atomic_fetch_add(&p->outstanding, 1);
    for (;;) {
        rd_kafka_resp_err_t err = atomic_load(&p->closed) ? RD_KAFKA_RESP_ERR__DESTROY
                                                          : produce(p, t, key, klen, value, vlen, hdrs, d);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return 0;
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && is_delivery_thread(p)) {
            add_backlog(p, t, key, klen, value, vlen, hdrs, d);
            return 0;
        }
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            if (hdrs) rd_kafka_headers_destroy(hdrs);
            atomic_fetch_sub(&p->outstanding, 1);
            return err;
        }
        wait_for_space(p);
    }
}

long producer_outstanding(struct producer *p) { return atomic_load(&p->outstanding); }

int producer_flush(struct producer *p, int timeout_ms)
{
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        long n = producer_outstanding(p);
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (n == 0 || elapsed >= timeout_ms) return (int)n;
        wait_for_space(p);
    }
}

void producer_close(struct producer *p)
{
    atomic_store(&p->closed, 1);
    pthread_mutex_lock(&p->lock);
    pthread_cond_broadcast(&p->space);
    pthread_mutex_unlock(&p->lock);
}

int producer_fatal(struct producer *p, char *err, size_t errlen)
{
    if (!atomic_load(&p->fatal)) return 0;
    rd_kafka_fatal_error(p->rk, err, errlen);
    return 1;
}

int producer_refused(struct producer *p, char *err, size_t errlen)
{
    pthread_mutex_lock(&p->lock);
    int seen = p->refused[0] != 0;
    if (seen) snprintf(err, errlen, "%s", p->refused);
    pthread_mutex_unlock(&p->lock);
    return seen;
}

rd_kafka_t *producer_handle(struct producer *p) { return p->rk; }

void producer_free(struct producer *p)
{
    if (!p) return;
    producer_close(p);
    /* Whatever is still queued completes now, with a purge error. */
    rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    producer_flush(p, 5000);
    atomic_store(&p->stop, 1);
    pthread_join(p->thread, NULL);
    rd_kafka_poll(p->rk, 0);
    for (struct pending_send *ps = p->backlog, *next; ps; ps = next) {
        next = ps->next;
        if (ps->hdrs) rd_kafka_headers_destroy(ps->hdrs);
        free(ps->key);
        free(ps->value);
        free(ps);
    }
    for (int i = 0; i < p->ntopics; i++) {
        rd_kafka_topic_destroy(p->topics[i].rkt);
        free(p->topics[i].name);
    }
    free(p->topics);
    rd_kafka_destroy(p->rk);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->space);
    free(p);
}
