/* lag: a consumer group's lag per partition, measured from the broker.
 *
 * Owns the measurement (the group's committed offsets from the group
 * coordinator, the partitions' start and end offsets from their leaders) and
 * a poller that repeats it on a ticker thread and publishes it as the
 * siemproc_consumer_lag / _committed_offset / _end_offset series. Because it
 * asks the broker and not librdkafka's fetcher statistics, it is right for
 * idle partitions, for partitions assigned to other instances, and when the
 * group has no member at all.
 * Lag of a partition = end offset - max(committed, start offset); a
 * partition without a committed offset counts from its start offset (the
 * stages start from the earliest offset), and committed is -1.
 * Must never: join the group or change its offsets. */
#ifndef SIEMPROC_LAG_H
#define SIEMPROC_LAG_H
#include <stddef.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>
#include "metrics.h"

struct lag_partition {
    char   *topic;
    int32_t partition;
    int64_t committed;   /* -1: none */
    int64_t start, end;
    int64_t lag;
};

struct lag_report {
    struct lag_partition *v;   /* sorted by topic and partition */
    int     n;
    int64_t total;
};

/* Lag of group on topics (comma separated, ^regex entries allowed; NULL or
 * "": every topic the group has committed offsets for). rk: any client of
 * the cluster. 0, or -1 with err. */
int  lag_measure(rd_kafka_t *rk, const char *group, const char *topics, int timeout_ms, struct lag_report *out,
                 char *err, size_t errlen);
void lag_report_free(struct lag_report *r);

struct lag_poller_opts {
    rd_kafka_t *rk;          /* borrowed; must outlive the poller (a stage's consumer works) */
    const char *group;
    const char *topics;      /* as lag_measure */
    int interval_ms;         /* 0: 15000 */
    int timeout_ms;          /* per measurement; 0: 10000 */
    struct metrics *reg;     /* NULL: metrics_global() */
};

struct lag_poller;

/* Measures at once, then every interval. NULL with err. */
struct lag_poller *lag_poller_start(const struct lag_poller_opts *o, char *err, size_t errlen);
/* Total lag of the last successful measurement; -1 before the first one or
 * when the last one is older than three intervals. */
int64_t lag_poller_total(struct lag_poller *p);
void lag_poller_stop(struct lag_poller *p);
#endif
