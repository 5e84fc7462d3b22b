/* offset_tracker: the contiguous-prefix commit tracker of ONE partition.
 *
 * track(offset) when a message is handed out (offsets ascending, gaps
 * allowed: compacted topics, transaction markers); ack(offset) when all its
 * output is acknowledged, in any order. committable() is the offset to commit:
 * one past the highest tracked offset such that it and every lower tracked
 * offset are done. Everything is O(1) amortized (an ack whose offset is not
 * at its contiguous position falls back to a binary search).
 * Must never: report a committable offset past an offset not acked (a gap),
 * or go backwards. Not thread-safe: the owner (kafka_source) locks. */
#ifndef SIEMPROC_OFFSET_TRACKER_H
#define SIEMPROC_OFFSET_TRACKER_H
#include <stddef.h>
#include <stdint.h>

struct offset_tracker {
    int64_t       *off;          /* ring of tracked, not yet retired offsets, ascending */
    unsigned char *done;
    size_t         cap, head, n;
    int64_t        next_commit;  /* -1 until the first offset is retired */
    int64_t        last_tracked; /* -1 before the first track */
};

void offset_tracker_init(struct offset_tracker *t);
void offset_tracker_free(struct offset_tracker *t);
/* 0, or -1 when offset is not above every offset tracked before. */
int  offset_tracker_track(struct offset_tracker *t, int64_t offset);
/* 0, or -1 when offset is not tracked or was already acked. */
int  offset_tracker_ack(struct offset_tracker *t, int64_t offset);
/* Offset to commit (next to consume), or -1 when no prefix is done yet. */
static inline int64_t offset_tracker_committable(const struct offset_tracker *t) { return t->next_commit; }
/* Tracked offsets not yet retired (acked ones behind a gap included). */
static inline size_t offset_tracker_pending(const struct offset_tracker *t) { return t->n; }
#endif
