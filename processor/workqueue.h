/* workqueue: a bounded multi-producer multi-consumer queue of pointers and
 * the worker threads that drain it.
 *
 * Each worker gets its own context (made by the caller before start) and
 * calls fn(ctx, item) for every item it pops. Items are processed in any
 * order. close() lets the workers finish what is queued and exit; join()
 * waits for them.
 * Must never: drop an item (every pushed item reaches fn exactly once,
 * unless the queue is closed before it is pushed: then push fails), or make
 * the pusher block when it asked not to. */
#ifndef SIEMPROC_WORKQUEUE_H
#define SIEMPROC_WORKQUEUE_H
#include <stddef.h>

typedef void (*work_fn)(void *ctx, void *item);

struct workqueue;

/* ctxs[nworkers] are borrowed until join. Returns NULL (err) when a thread cannot start. */
struct workqueue *workqueue_new(size_t capacity, int nworkers, work_fn fn, void **ctxs, char *err, size_t errlen);
/* 0 queued; -1 full (try) or closed. */
int    workqueue_try_push(struct workqueue *q, void *item);
/* Waits while full. 0 queued, -1 closed. */
int    workqueue_push(struct workqueue *q, void *item);
size_t workqueue_depth(struct workqueue *q);
/* No more pushes; workers exit once the queue is empty. */
void   workqueue_close(struct workqueue *q);
/* close() + wait for the workers; frees the queue. */
void   workqueue_free(struct workqueue *q);
#endif
