/* metrics: counters, gauges and histograms, and their Prometheus text
 * exposition.
 *
 * Owns: a registry of metric families (name, help, type, label names,
 * histogram bucket bounds) and their series (one per distinct tuple of label
 * values), plus the table of the series siemproc exports (SIEMPROC_METRICS,
 * which the README, the alert rules and the dashboard are checked against).
 * A series is created on first use and lives as long as its registry, so a
 * hot path looks it up once and keeps the pointer. Updates never lock or
 * allocate: a counter is spread over METRICS_STRIPES cache-line-sized atomic
 * slots (each thread adds to its own slot; exposition sums them), gauges and
 * histograms are single atomics. Lookups are lock-free too; only creating a
 * series takes the family's mutex.
 * Must never: block or allocate on an update, print a label value unescaped,
 * or free a series while its registry lives (a series that stops applying,
 * such as a revoked partition, is hidden and shows again when next set). */
#ifndef SIEMPROC_METRICS_H
#define SIEMPROC_METRICS_H
#include <stddef.h>
#include <stdint.h>
#include "buf.h"

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

#define METRICS_MAX_LABELS  4
#define METRICS_MAX_BUCKETS 16
#define METRICS_STRIPES     8

struct metrics;
struct metric;
struct mseries;

struct metrics *metrics_new(void);
void metrics_free(struct metrics *r);

/* Register a family. labels: comma-separated names ("" for none). bounds:
 * ascending upper bounds of a histogram's buckets (+Inf is implicit). NULL
 * when the name or a label name is not a valid Prometheus name, the family
 * exists, or the limits are exceeded (the reason goes to stderr once). */
struct metric *metrics_add(struct metrics *r, enum metric_type t, const char *name, const char *help,
                           const char *labels, const double *bounds, int nbounds);
struct metric *metrics_find(struct metrics *r, const char *name);

/* The series with these label values (as many as the family has label
 * names; NULL for none), created on first use. NULL only for a NULL family;
 * every update accepts NULL and does nothing, so a missing family never
 * crashes a stage. */
struct mseries *metric_get(struct metric *m, const char *const *values);
#define METRIC_GET(m, ...) metric_get((m), (const char *const[]){ __VA_ARGS__ })

void mseries_add(struct mseries *s, uint64_t n);   /* counter */
void mseries_inc(struct mseries *s);               /* counter + 1 */
/* Gauge value; for a counter kept elsewhere (a stage's own totals), the
 * latest cumulative total. A counter is either added to or set, not both. */
void mseries_set(struct mseries *s, double v);
void mseries_gauge_add(struct mseries *s, double delta);
void mseries_observe(struct mseries *s, double v); /* histogram */
/* Leave the series out of the exposition until it is next updated. */
void mseries_hide(struct mseries *s);
/* Counter total, gauge value, or histogram observation count. */
double mseries_value(const struct mseries *s);

/* fn(arg, r) runs before every exposition (in registration order), to set
 * series from snapshots. At most 16 collectors. */
int metrics_on_collect(struct metrics *r, void (*fn)(void *arg, struct metrics *r), void *arg);
/* Remove every collector registered with arg (before arg is freed); waits
 * for an exposition in progress. */
void metrics_off_collect(struct metrics *r, void *arg);

/* Prometheus text format 0.0.4, families in registration order, series in
 * creation order. Exposures are serialized. */
void metrics_expose(struct metrics *r, buf_t *out);

/* Monotonic seconds: the start and end of a duration to observe. */
double metrics_clock_s(void);

/* Seconds, for request latencies (S3 GET, _bulk). */
#define METRICS_LATENCY_BUCKETS 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60

/* The series siemproc exports. X(type, field, "name", "labels", "help").
 * Label values: stage = normalize|sink|retry|lag; log_type = a schema name,
 * "unknown", or "all" where a stage does not count per type; status = the
 * HTTP status of a _bulk item; outcome = ok|retry|fail; class =
 * retriable|fatal. */
#define SIEMPROC_METRICS(X) \
    X(GAUGE,     consumer_lag,       "siemproc_consumer_lag",                   "group,topic,partition", "messages from the group's committed offset (the earliest offset when none) to the partition's end offset, measured from the broker") \
    X(GAUGE,     committed_offset,   "siemproc_consumer_committed_offset",      "group,topic,partition", "the group's committed offset (-1: none)") \
    X(GAUGE,     end_offset,         "siemproc_partition_end_offset",           "group,topic,partition", "the partition's end offset (high watermark)") \
    X(COUNTER,   lag_polls,          "siemproc_lag_polls_total",                "group,result",          "lag measurements (result ok|error)") \
    X(GAUGE,     lag_poll_time,      "siemproc_lag_poll_timestamp_seconds",     "group",                 "time of the last successful lag measurement") \
    X(COUNTER,   records_in,         "siemproc_records_in_total",               "stage,log_type",        "records taken by a stage") \
    X(COUNTER,   records_out,        "siemproc_records_out_total",              "stage,log_type",        "records a stage delivered (documents produced or indexed)") \
    X(COUNTER,   records_skipped,    "siemproc_records_skipped_total",          "stage,log_type",        "records dropped on purpose (exclusion rules, own logs, control messages) and acknowledged") \
    X(COUNTER,   bytes_in,           "siemproc_bytes_in_total",                 "stage,log_type",        "bytes taken by a stage (raw messages, S3 objects, documents)") \
    X(COUNTER,   bytes_out,          "siemproc_bytes_out_total",                "stage,log_type",        "bytes a stage delivered") \
    X(COUNTER,   parse_failures,     "siemproc_parse_failures_total",           "log_type",              "records the parser or normalizer rejected (routed to the retry topic)") \
    X(COUNTER,   retry_messages,     "siemproc_retry_messages_total",           "stage",                 "messages a stage routed to the retry topic (acknowledged)") \
    X(COUNTER,   resubmitted,        "siemproc_retry_resubmitted_total",        "",                      "retry stage: messages sent back to their origin topic after their backoff") \
    X(COUNTER,   dlq_messages,       "siemproc_dlq_messages_total",             "",                      "retry stage: messages moved to the dead-letter topic (attempts exhausted or no origin)") \
    X(GAUGE,     retry_waiting,      "siemproc_retry_waiting",                  "",                      "retry stage: messages held until their backoff is due") \
    X(COUNTER,   duplicates,         "siemproc_duplicates_total",               "stage",                 "documents already in the index (409 on create): re-deliveries and replays, never new documents") \
    X(HISTOGRAM, bulk_duration,      "siemproc_bulk_duration_seconds",          "",                      "duration of _bulk requests") \
    X(COUNTER,   bulk_requests,      "siemproc_bulk_requests_total",            "outcome",               "_bulk requests by outcome (ok: every item durable, retry: retriable failure, fail: final failure)") \
    X(COUNTER,   bulk_items,         "siemproc_bulk_items_total",               "status",                "_bulk items by HTTP status (201 created, 409 already there, 429 rejected, ...)") \
    X(HISTOGRAM, s3_get_duration,    "siemproc_s3_get_duration_seconds",        "",                      "duration of S3 GetObject requests, retries included") \
    X(COUNTER,   s3_get_errors,      "siemproc_s3_get_errors_total",            "class",                 "S3 GetObject failures after the bounded retries (class retriable|fatal)") \
    X(GAUGE,     assigned_partitions,"siemproc_assigned_partitions",            "stage",                 "partitions assigned to this instance") \
    X(GAUGE,     paused_partitions,  "siemproc_paused_partitions",              "stage",                 "partitions paused by backpressure") \
    X(GAUGE,     inflight_messages,  "siemproc_inflight_messages",              "stage",                 "messages taken and not yet done") \
    X(GAUGE,     queue_depth,        "siemproc_worker_queue_depth",             "stage",                 "messages waiting for a worker") \
    X(GAUGE,     ready,              "siemproc_ready",                          "stage",                 "1 when /readyz answers 200 (partitions assigned, progress within the window)") \
    X(COUNTER,   geoip_reloads,      "siemproc_geoip_reloads_total",            "result",                "GeoIP database checks that swapped in a new file (result ok) or failed to open one (result error)")

#define METRICS_STD_FIELD(t, field, ...) struct metric *field;
struct siemproc_metrics {
    SIEMPROC_METRICS(METRICS_STD_FIELD)
};
#undef METRICS_STD_FIELD

/* Register the SIEMPROC_METRICS families in r. 0, or -1 when one fails. */
int metrics_add_std(struct metrics *r, struct siemproc_metrics *out);

/* The process-wide registry with the siemproc series, created on first call
 * (thread-safe); what the stages update and /metrics serves. */
struct metrics *metrics_global(void);
const struct siemproc_metrics *metrics_std(void);
/* The siemproc families of reg: metrics_std() for the global registry (or
 * NULL), else looked up by name into *own (a family not registered is NULL,
 * and updates of it do nothing). */
const struct siemproc_metrics *metrics_std_of(struct metrics *reg, struct siemproc_metrics *own);
#endif
