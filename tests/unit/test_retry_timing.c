/* test_retry_timing.c - when things are tried again: the sink's backoff
 * (exponential, equal jitter, capped) and the retry stage's due time
 * (message time + delay * 2^(attempts-1), capped). */
#include <stdio.h>

#include "stage_common.h"
#include "stage_retry.h"
#include "testlib.h"

static void test_backoff(void)
{
    unsigned rng = 12345;
    for (int attempt = 0; attempt < 12; attempt++) {
        long full = 250L << attempt;
        if (full > 30000)
            full = 30000;
        long lo = 1L << 40, hi = 0;
        for (int i = 0; i < 2000; i++) {
            long d = stage_backoff_ms(250, 30000, attempt, &rng);
            lo = d < lo ? d : lo;
            hi = d > hi ? d : hi;
        }
        CHECK(lo >= full / 2 && hi <= full);
        CHECK(hi > lo); /* jitter: not every worker waits the same */
    }
    CHECK(stage_backoff_ms(0, 10, 0, &rng) <= 1);
}

static void test_due(void)
{
    CHECK_INT(retry_due_ms(1000, 1, 500, 60000), 1500);
    CHECK_INT(retry_due_ms(1000, 2, 500, 60000), 2000);
    CHECK_INT(retry_due_ms(1000, 4, 500, 60000), 5000);
    CHECK_INT(retry_due_ms(1000, 40, 500, 60000), 61000);
    CHECK_INT(retry_due_ms(1000, 0, 500, 60000), 1500); /* no attempts header yet: one delay */
    CHECK_INT(retry_due_ms(1000, 3, 0, 60000), 1000);
}

int main(void)
{
    test_backoff();
    test_due();
    return tl_done();
}
