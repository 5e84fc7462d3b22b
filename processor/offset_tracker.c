/* offset_tracker: see offset_tracker.h.
 *
 * The ring holds the tracked offsets in ascending order with a done flag;
 * the done prefix is retired at each ack, so the ring only holds the window
 * between the oldest unfinished message and the newest one handed out. */
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "offset_tracker.h"

void offset_tracker_init(struct offset_tracker *t)
{
    memset(t, 0, sizeof *t);
    t->next_commit = -1;
    t->last_tracked = -1;
}

void offset_tracker_free(struct offset_tracker *t)
{
    free(t->off);
    free(t->done);
    offset_tracker_init(t);
}

static size_t slot(const struct offset_tracker *t, size_t i) { return (t->head + i) & (t->cap - 1); }

static void grow(struct offset_tracker *t)
{
    size_t cap = t->cap ? t->cap * 2 : 64;
    int64_t *off = xmalloc(cap * sizeof *off);
    unsigned char *done = xmalloc(cap);
    for (size_t i = 0; i < t->n; i++) {
        off[i] = t->off[slot(t, i)];
        done[i] = t->done[slot(t, i)];
    }
    free(t->off);
    free(t->done);
    t->off = off;
    t->done = done;
    t->cap = cap;
    t->head = 0;
}

int offset_tracker_track(struct offset_tracker *t, int64_t offset)
{
    if (offset <= t->last_tracked || offset < 0) return -1;
    if (t->n == t->cap) grow(t);
    size_t s = slot(t, t->n++);
    t->off[s] = offset;
    t->done[s] = 0;
    t->last_tracked = offset;
    return 0;
}

/* Logical index of offset in the ring, or -1. */
static long find(const struct offset_tracker *t, int64_t offset)
{
    if (!t->n || offset < t->off[t->head]) return -1;
    uint64_t guess = (uint64_t)(offset - t->off[t->head]);
    if (guess < t->n && t->off[slot(t, guess)] == offset) return (long)guess;
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int64_t v = t->off[slot(t, mid)];
        if (v == offset) return (long)mid;
        if (v < offset) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

int offset_tracker_ack(struct offset_tracker *t, int64_t offset)
{
    long i = find(t, offset);
    if (i < 0 || t->done[slot(t, (size_t)i)]) return -1;
    t->done[slot(t, (size_t)i)] = 1;
    while (t->n && t->done[t->head]) {
        t->next_commit = t->off[t->head] + 1;
        t->head = (t->head + 1) & (t->cap - 1);
        t->n--;
    }
    return 0;
}
