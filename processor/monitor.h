/* monitor: the operations side of a running stage, started with one call,
 * and the process's metrics endpoint.
 *
 * Owns, per stage (monitor_start): the lag poller (lag.h), a one-second
 * ticker that copies the consumer's state (assigned and paused partitions,
 * messages in flight) and the worker queue depth into gauges and decides
 * the stage's readiness, and a ticker that reloads changed GeoIP databases
 * (geoip_reload_if_changed) so geoipupdate's new files are used without a
 * restart. Per process (monitor_serve): the HTTP server (metrics_http.h),
 * whose /readyz is ready when every running stage's monitor is (`--stage
 * all` runs three).
 * Ready = partitions assigned, and either the consumer took a message within
 * the window or the group has no lag (nothing to make progress on). Without
 * a consumer (a lag exporter) ready = a lag measurement is fresh.
 * Must never: touch the consumer except through kafka_source_get_stats(),
 * block a stage thread, or stop the process because a check failed. */
#ifndef SIEMPROC_MONITOR_H
#define SIEMPROC_MONITOR_H
#include <stddef.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>

struct kafka_source;
struct workqueue;
struct geoip;
struct metrics;
struct config;

/* Strings are borrowed: stage must outlive the monitor; group and topics
 * only until monitor_start() returns (the lag poller copies them). */
struct monitor_opts {
    const char *stage;            /* label value: normalize, sink, retry, lag */
    struct kafka_source *ks;      /* NULL: no consumer gauges, readiness from lag only */
    struct workqueue *wq;         /* NULL: queue_depth, if any, gives the depth */
    size_t (*queue_depth)(void *arg); /* a stage's own queue (any thread); used when wq is NULL */
    void *queue_arg;
    rd_kafka_t *rk;               /* lag poller's client; NULL: the consumer's (kafka_source_handle) */
    const char *group, *topics;   /* lag poller's group and topics; group NULL: no poller */
    int lag_interval_ms;          /* 0: 15000 */
    int ready_window_ms;          /* 0: 60000 */
    struct geoip *geoip;          /* NULL: no reload checks */
    int geoip_check_ms;           /* 0: 300000 */
    struct metrics *reg;          /* NULL: metrics_global() */
};

struct monitor;

/* A stage's options from its configuration: lag_interval_ms,
 * ready_window_ms, geoip_check_s, and the lag poller (group, topics) only
 * when metrics_port serves what it measures. The caller adds wq or
 * queue_depth, and geoip. */
struct monitor_opts monitor_stage_opts(const struct config *cfg, const char *stage, struct kafka_source *ks,
                                       const char *group, const char *topics);

/* Starts what the options ask for; the monitor counts for /readyz until
 * monitor_stop(). NULL with err. */
struct monitor *monitor_start(const struct monitor_opts *o, char *err, size_t errlen);
/* Last readiness decision of this stage: 1 ready, 0 not (why says which condition). */
int  monitor_ready(struct monitor *m, char *why, size_t whylen);
void monitor_stop(struct monitor *m);

/* /metrics (reg, NULL: the global registry), /healthz, and /readyz = every
 * running monitor ready (none running: not ready). port 0: an ephemeral one
 * (metrics_http_port). Stop with metrics_http_stop(). NULL with err. */
struct metrics_http;
struct metrics_http *monitor_serve(const char *address, int port, struct metrics *reg, char *err, size_t errlen);
/* The readiness /readyz answers, for any caller. */
int  monitor_ready_all(char *why, size_t whylen);

/* The readiness rule, kept apart to be tested: progress is any counter that
 * grows while the consumer works (messages taken); lag < 0 = unknown. */
struct readiness {
    int64_t  progress_ms;    /* when progress last moved (start counts) */
    uint64_t progress;
    int      seen;
};
int readiness_check(struct readiness *r, int64_t now_ms, int assigned, uint64_t progress, int64_t lag,
                    int window_ms, char *why, size_t whylen);
#endif
