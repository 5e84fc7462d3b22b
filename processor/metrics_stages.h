/* metrics_stages: the stages' own counters, exported as siemproc series.
 *
 * Owns the mapping from the counter snapshots of stage_normalize.h,
 * stage_sink.h and stage_retry.h to the SIEMPROC_METRICS series (records
 * and bytes in/out per stage and log type, skips, parse failures, retry and
 * DLQ counts, duplicates). It runs as a collector at each scrape, so the
 * stages keep counting once, in their per-worker atomics, and the hot path
 * pays nothing for metrics.
 * Must never: add to these series (they are set from the stages' totals;
 * a second writer would be overwritten). */
#ifndef SIEMPROC_METRICS_STAGES_H
#define SIEMPROC_METRICS_STAGES_H
#include "metrics.h"

struct normalize_counters;
struct sink_counters;
struct retry_counters;
struct stage_runner;

/* Set the series from snapshots. A normalize snapshot without type names,
 * or a sink/retry snapshot of zeros, is a stage that does not run here and
 * is left out. */
void metrics_export_counters(struct metrics *reg, const struct normalize_counters *n,
                             const struct sink_counters *s, const struct retry_counters *t);

/* Export stage_runner_counters(runner) at every exposition of reg (NULL:
 * the global registry), until metrics_unwatch(reg, runner), which must come
 * before the runner is freed. */
int  metrics_watch_runner(struct metrics *reg, struct stage_runner *runner);
void metrics_unwatch(struct metrics *reg, struct stage_runner *runner);
#endif
