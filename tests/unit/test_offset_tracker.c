/* test_offset_tracker: the contiguous-prefix commit tracker against a brute
 * force model (random acknowledgement order, gaps, ring growth and wrap),
 * plus the refusals (backwards track, unknown and double acks). */
#include <stdio.h>
#include <stdlib.h>
#include "offset_tracker.h"
#include "testlib.h"

static void test_basics(void)
{
    struct offset_tracker t;
    offset_tracker_init(&t);
    CHECK_INT(offset_tracker_committable(&t), -1);
    for (int64_t o = 10; o < 15; o++) CHECK_INT(offset_tracker_track(&t, o), 0);
    CHECK_INT(offset_tracker_track(&t, 14), -1);          /* not above the last */
    CHECK_INT(offset_tracker_track(&t, 3), -1);
    CHECK_INT(offset_tracker_ack(&t, 12), 0);
    CHECK_INT(offset_tracker_committable(&t), -1);        /* 10 and 11 are not done */
    CHECK_INT(offset_tracker_ack(&t, 10), 0);
    CHECK_INT(offset_tracker_committable(&t), 11);
    CHECK_INT(offset_tracker_ack(&t, 11), 0);
    CHECK_INT(offset_tracker_committable(&t), 13);        /* 12 was done already */
    CHECK_INT(offset_tracker_ack(&t, 12), -1);            /* retired: unknown now */
    CHECK_INT(offset_tracker_ack(&t, 14), 0);
    CHECK_INT(offset_tracker_ack(&t, 14), -1);            /* twice */
    CHECK_INT(offset_tracker_ack(&t, 99), -1);
    CHECK_INT(offset_tracker_committable(&t), 13);
    CHECK_INT(offset_tracker_pending(&t), 2);
    CHECK_INT(offset_tracker_ack(&t, 13), 0);
    CHECK_INT(offset_tracker_committable(&t), 15);
    CHECK_INT(offset_tracker_pending(&t), 0);
    offset_tracker_free(&t);
}

/* Offsets with gaps (compaction, transaction markers): the commit skips them. */
static void test_gaps(void)
{
    struct offset_tracker t;
    offset_tracker_init(&t);
    int64_t offs[] = { 5, 7, 8, 20, 21, 40 };
    for (int i = 0; i < 6; i++) offset_tracker_track(&t, offs[i]);
    CHECK_INT(offset_tracker_ack(&t, 6), -1);
    CHECK_INT(offset_tracker_ack(&t, 20), 0);             /* found by search: not at its contiguous slot */
    CHECK_INT(offset_tracker_ack(&t, 7), 0);
    CHECK_INT(offset_tracker_committable(&t), -1);
    CHECK_INT(offset_tracker_ack(&t, 5), 0);
    CHECK_INT(offset_tracker_committable(&t), 8);
    CHECK_INT(offset_tracker_ack(&t, 8), 0);
    CHECK_INT(offset_tracker_committable(&t), 21);
    CHECK_INT(offset_tracker_ack(&t, 40), 0);
    CHECK_INT(offset_tracker_ack(&t, 21), 0);
    CHECK_INT(offset_tracker_committable(&t), 41);
    offset_tracker_free(&t);
}

/* Model: committable = 1 + the highest tracked offset whose lower tracked offsets are all acked. */
static int64_t model_committable(const int64_t *off, const char *acked, int n)
{
    int64_t c = -1;
    for (int i = 0; i < n && acked[i]; i++) c = off[i] + 1;
    return c;
}

static void test_random(unsigned seed)
{
    enum { N = 5000 };
    static int64_t off[N];
    static char acked[N];
    struct offset_tracker t;
    offset_tracker_init(&t);
    srand(seed);
    int64_t o = rand() % 100;
    int tracked = 0, bad = 0;
    for (;;) {
        /* Hand out a few, acknowledge a few at random among those in flight. */
        for (int k = rand() % 8; k > 0 && tracked < N; k--) {
            o += 1 + (rand() % 10 == 0 ? rand() % 5 : 0);
            off[tracked] = o;
            acked[tracked] = 0;
            bad += offset_tracker_track(&t, o) != 0;
            tracked++;
        }
        int lo = 0;
        while (lo < tracked && acked[lo]) lo++;
        if (lo == tracked && tracked == N) break;
        for (int k = rand() % 8; k > 0 && lo < tracked; k--) {
            int i = lo + rand() % (tracked - lo < 300 ? tracked - lo : 300);
            if (acked[i]) continue;
            acked[i] = 1;
            bad += offset_tracker_ack(&t, off[i]) != 0;
        }
        bad += offset_tracker_committable(&t) != model_committable(off, acked, tracked);
    }
    CHECK_INT(bad, 0);
    CHECK_INT(offset_tracker_committable(&t), off[N - 1] + 1);
    CHECK_INT(offset_tracker_pending(&t), 0);
    offset_tracker_free(&t);
}

int main(void)
{
    test_basics();
    test_gaps();
    for (unsigned s = 1; s <= 5; s++) test_random(s);
    return tl_done();
}
