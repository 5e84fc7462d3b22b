/* stage_runner: runs one or several stream stages in one process, each on
 * its own thread: `--stage sink`, `--stage retry`, `--stage all` (normalize +
 * sink + retry), and the embedded default (see embedded.h).
 *
 * Owns: the per-stage configuration views (in `all`, the sink reads
 * output_topic and the retry stage retry_topic, each in its own consumer
 * group), the stage threads, and stopping every stage when one of them ends
 * (a fatal error in one must not leave the others running).
 * Must never: free a stage before its thread ended. */
#ifndef SIEMPROC_STAGE_RUNNER_H
#define SIEMPROC_STAGE_RUNNER_H
#include "config.h"

enum { RUN_NORMALIZE = 1, RUN_SINK = 2, RUN_RETRY = 4, RUN_ALL = 7, RUN_EMBEDDED = 8 };

struct stage_runner;

/* which: RUN_* bits, or RUN_EMBEDDED alone (all stages on the embedded
 * mock cluster, see embedded.h). cfg must outlive the runner. NULL with err. */
struct stage_runner *stage_runner_new(const struct config *cfg, int which, char *err, size_t errlen);
/* Run until every stage stopped (embedded: until all input is processed,
 * then print the report). 0, or 1 when a stage ended with an error. */
int  stage_runner_run(struct stage_runner *r);
/* Ask every stage to drain and stop (async-signal-safe). */
void stage_runner_stop(void *runner);
void stage_runner_free(struct stage_runner *r);

/* Stage name ("sink", "retry", "all") to RUN_* bits; 0 when unknown. */
int stage_runner_which(const char *name);
/* Consumer group of a stage when several run in one process:
 * "<group or siemproc>-<stage>". */
void stage_runner_group(const struct config *cfg, const char *stage, char *out, size_t n);

struct normalize_counters;
struct sink_counters;
struct retry_counters;
/* Counter snapshots of the stages that run (others are left zero). */
void stage_runner_counters(struct stage_runner *r, struct normalize_counters *n, struct sink_counters *s,
                           struct retry_counters *t);
#endif
