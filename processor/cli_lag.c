/* cli_lag: `siemproc lag --brokers B --group G [--topics T] [--json]
 * [--max-lag N]` -- a consumer group's lag per partition and in total, as a
 * table or JSON, measured from the broker (lag.h). With --metrics-port N it
 * keeps running as a lag exporter: /metrics, /healthz, /readyz (monitor.h)
 * until SIGINT or SIGTERM.
 *
 * Exit codes: 0 measured (and within --max-lag), 3 total lag above
 * --max-lag (for alarms), 2 usage or configuration error, 1 the cluster
 * could not be asked. Must never: join the group or change its offsets. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "cli_ops.h"
#include "jsonw.h"
#include "lag.h"
#include "metrics_http.h"
#include "monitor.h"

#define EXIT_OVER_MAX 3

static void print_table(const struct lag_report *r, FILE *out)
{
    int w = (int)strlen("TOPIC");
    for (int i = 0; i < r->n; i++)
        if ((int)strlen(r->v[i].topic) > w) w = (int)strlen(r->v[i].topic);
    fprintf(out, "%-*s %9s %12s %12s %12s %12s\n", w, "TOPIC", "PARTITION", "COMMITTED", "START", "END", "LAG");
    for (int i = 0; i < r->n; i++) {
        const struct lag_partition *p = &r->v[i];
        char committed[24];
        snprintf(committed, sizeof committed, p->committed < 0 ? "-" : "%lld", (long long)p->committed);
        fprintf(out, "%-*s %9d %12s %12lld %12lld %12lld\n", w, p->topic, (int)p->partition, committed,
                (long long)p->start, (long long)p->end, (long long)p->lag);
    }
    fprintf(out, "%-*s %9s %12s %12s %12s %12lld\n", w, "TOTAL", "", "", "", "", (long long)r->total);
}

static void print_json(const char *group, const struct lag_report *r, long max_lag, FILE *out)
{
    buf_t b;
    buf_init(&b);
    buf_puts(&b, "{\"group\":");
    jw_cstr(&b, group);
    buf_printf(&b, ",\"total\":%lld", (long long)r->total);
    if (max_lag >= 0) buf_printf(&b, ",\"max_lag\":%ld,\"over\":%s", max_lag, r->total > max_lag ? "true" : "false");
    buf_puts(&b, ",\"partitions\":[");
    for (int i = 0; i < r->n; i++) {
        const struct lag_partition *p = &r->v[i];
        buf_puts(&b, i ? ",{\"topic\":" : "{\"topic\":");
        jw_cstr(&b, p->topic);
        buf_printf(&b, ",\"partition\":%d,\"committed\":", (int)p->partition);
        if (p->committed < 0) buf_puts(&b, "null");
        else buf_printf(&b, "%lld", (long long)p->committed);
        buf_printf(&b, ",\"start\":%lld,\"end\":%lld,\"lag\":%lld}", (long long)p->start, (long long)p->end,
                   (long long)p->lag);
    }
    buf_puts(&b, "]}\n");
    fwrite(b.data, 1, b.len, out);
    buf_free(&b);
}

static void usage(void)
{
    fputs("usage: siemproc lag --brokers HOST:PORT --group GROUP [--topics T1,T2,^regex] [--json]\n"
          "                    [--max-lag N] [--timeout-ms MS] [--config FILE] [--set kafka.X=Y]\n"
          "Lag per partition of the group's topics (default: those it has committed offsets for), measured\n"
          "from the broker's end offsets; partitions without a commit count from their start offset.\n"
          "Exit 3 when the total lag exceeds --max-lag.\n"
          "       siemproc lag --brokers B --group G [--topics T] --metrics-port N [--metrics-address A]\n"
          "                    [--interval-ms MS]\n"
          "Serve the lag as Prometheus metrics until SIGINT/SIGTERM.\n",
          stderr);
}

static volatile sig_atomic_t stop_signal;
static void on_signal(int sig) { stop_signal = sig; }

/* The lag exporter: poll and serve until a signal. */
static int serve_lag(rd_kafka_t *rk, const char *group, const char *topics, long port, const char *address,
                     long interval_ms)
{
    char err[512];
    struct monitor_opts mo = { .stage = "lag", .rk = rk, .group = group, .topics = topics,
                               .lag_interval_ms = (int)interval_ms };
    struct monitor *mon = monitor_start(&mo, err, sizeof err);
    struct metrics_http *http = mon ? monitor_serve(address, (int)port, NULL, err, sizeof err) : NULL;
    if (!http) {
        fprintf(stderr, "siemproc lag: %s\n", err);
        monitor_stop(mon);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    fprintf(stderr, "siemproc lag: serving the lag of group %s on %s:%d\n", group, address ? address : "0.0.0.0",
            metrics_http_port(http));
    while (!stop_signal) pause();
    metrics_http_stop(http);
    monitor_stop(mon);
    return 0;
}

int cmd_lag(int argc, char **argv)
{
    int json = 0, help = 0;
    long max_lag = -1, timeout_ms = 10000, port = 0, interval_ms = 15000;
    const char *address = NULL;
    const struct cli_opt opts[] = {
        { "json", OPT_FLAG, &json }, { "max-lag", OPT_LONG, &max_lag },
        { "timeout-ms", OPT_LONG, &timeout_ms }, { "help", OPT_FLAG, &help },
        { "metrics-port", OPT_LONG, &port }, { "metrics-address", OPT_STR, &address },
        { "interval-ms", OPT_LONG, &interval_ms }, { NULL, OPT_FLAG, NULL },
    };
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage();
        return 0;
    }
    struct config cfg;
    rd_kafka_t *rk;
    if (cli_ops_load("lag", argc, argv, opts, &cfg, &rk) < 0) return 2;
    char gbuf[256], err[512];
    const char *group = cli_ops_group(&cfg, gbuf, sizeof gbuf);
    struct lag_report r;
    int rc = 0;
    if (!group) {
        fprintf(stderr, "siemproc lag: group: missing (--group G)\n");
        rc = 2;
    } else if (port > 0) {
        rc = serve_lag(rk, group, cfg.topics, port, address, interval_ms);
    } else if (lag_measure(rk, group, cfg.topics, (int)timeout_ms, &r, err, sizeof err) < 0) {
        fprintf(stderr, "siemproc lag: %s\n", err);
        rc = 1;
    } else {
        if (json) print_json(group, &r, max_lag, stdout);
        else print_table(&r, stdout);
        if (max_lag >= 0 && r.total > max_lag) {
            fprintf(stderr, "siemproc lag: total lag %lld of group %s is above --max-lag %ld\n",
                    (long long)r.total, group, max_lag);
            rc = EXIT_OVER_MAX;
        }
        lag_report_free(&r);
    }
    rd_kafka_destroy(rk);
    config_free(&cfg);
    return rc;
}
