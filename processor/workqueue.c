/* workqueue: see workqueue.h. A mutex-protected ring with two condition
 * variables; a raw Kafka message is a coarse unit of work (an S3 object, a
 * CloudWatch Logs payload or a record), so one lock per item is cheap. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "workqueue.h"

struct worker {
    struct workqueue *q;
    void *ctx;
    pthread_t tid;
};

struct workqueue {
    pthread_mutex_t lock;
    pthread_cond_t  not_empty, not_full;
    void          **ring;
    size_t          cap, head, n;
    int             closed;
    work_fn         fn;
    struct worker  *workers;
    int             nworkers;
};

static void *pop(struct workqueue *q)
{
    pthread_mutex_lock(&q->lock);
    while (!q->n && !q->closed) pthread_cond_wait(&q->not_empty, &q->lock);
    void *item = NULL;
    if (q->n) {
        item = q->ring[q->head];
        q->head = (q->head + 1) % q->cap;
        if (q->n-- == q->cap) pthread_cond_broadcast(&q->not_full);
    }
    pthread_mutex_unlock(&q->lock);
    return item;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    void *item;
    pthread_setname_np(pthread_self(), "worker");      /* for top -H and profiles */
    while ((item = pop(w->q))) w->q->fn(w->ctx, item);
    return NULL;
}

struct workqueue *workqueue_new(size_t capacity, int nworkers, work_fn fn, void **ctxs, char *err, size_t errlen)
{
    struct workqueue *q = xcalloc(1, sizeof *q);
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->not_empty, NULL);
    pthread_cond_init(&q->not_full, NULL);
    q->cap = capacity ? capacity : 1;
    q->ring = xcalloc(q->cap, sizeof *q->ring);
    q->fn = fn;
    q->workers = xcalloc((size_t)nworkers, sizeof *q->workers);
    for (int i = 0; i < nworkers; i++) {
        q->workers[i] = (struct worker){ q, ctxs[i], 0 };
        int rc = pthread_create(&q->workers[i].tid, NULL, worker_main, &q->workers[i]);
        if (rc) {
            snprintf(err, errlen, "cannot start worker thread: %s", strerror(rc));
            workqueue_free(q);
            return NULL;
        }
        q->nworkers++;
    }
    return q;
}

static int push(struct workqueue *q, void *item, int wait)
{
    pthread_mutex_lock(&q->lock);
    while (wait && q->n == q->cap && !q->closed) pthread_cond_wait(&q->not_full, &q->lock);
    int rc = -1;
    if (!q->closed && q->n < q->cap) {
        q->ring[(q->head + q->n++) % q->cap] = item;
        pthread_cond_signal(&q->not_empty);
        rc = 0;
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}

int workqueue_try_push(struct workqueue *q, void *item) { return push(q, item, 0); }
int workqueue_push(struct workqueue *q, void *item) { return push(q, item, 1); }

size_t workqueue_depth(struct workqueue *q)
{
    pthread_mutex_lock(&q->lock);
    size_t n = q->n;
    pthread_mutex_unlock(&q->lock);
    return n;
}

void workqueue_close(struct workqueue *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = 1;
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->lock);
}

void workqueue_free(struct workqueue *q)
{
    if (!q) return;
    workqueue_close(q);
    for (int i = 0; i < q->nworkers; i++) pthread_join(q->workers[i].tid, NULL);
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
    free(q->ring);
    free(q->workers);
    free(q);
}
