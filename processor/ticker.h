/* ticker: a thread that runs one function now and then every interval,
 * until stopped.
 *
 * Owns the thread and its timed wait. Stopping wakes the wait at once and
 * waits only for a call of fn already running. Used by the operations side
 * of a stage (lag measurement, GeoIP reload checks, gauges).
 * Must never: run fn twice at once, or after ticker_stop() returned. */
#ifndef SIEMPROC_TICKER_H
#define SIEMPROC_TICKER_H
#include <stddef.h>

struct ticker;

/* NULL with err when the thread cannot start. interval_ms >= 1. */
struct ticker *ticker_start(int interval_ms, void (*fn)(void *arg), void *arg, char *err, size_t errlen);
/* Wake and join the thread, free. NULL is a no-op. */
void ticker_stop(struct ticker *t);
#endif
