/* cli_run: `siemproc run --stage S` (the stream stages) and `siemproc config`.
 *
 * Owns: the table of stages, the SIGTERM/SIGINT handling that asks the
 * running stage to drain and stop (a second signal exits at once: nothing
 * is lost, uncommitted work is done again by the next owner), and the
 * configuration commands, and the operations endpoint of the stages it runs
 * (metrics_port: /metrics with their counters, /healthz, /readyz). Must
 * never: run a stage with a configuration that failed validation. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "config.h"
#include "metrics_http.h"
#include "metrics_stages.h"
#include "monitor.h"
#include "stage_runner.h"

static void (*volatile stop_fn)(void *);
static void *volatile stop_arg;
static volatile sig_atomic_t signals_seen;

static void on_signal(int sig)
{
    if (signals_seen++) _exit(128 + sig);
    if (stop_fn) stop_fn(stop_arg);
}

static void watch_signals(void (*fn)(void *), void *arg)
{
    stop_arg = arg;
    stop_fn = fn;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* The operations endpoint when metrics_port asks for one (*http NULL when
 * not). watched: what registering the stage counters' collector returned.
 * -1 when either failed: the stage must not start unobservable. */
static int serve_metrics(const struct config *cfg, int watched, struct metrics_http **http)
{
    char err[512];
    *http = NULL;
    if (watched < 0) {
        fprintf(stderr, "siemproc: metrics: cannot export the stage counters (too many collectors)\n");
        return -1;
    }
    if (cfg->metrics_port <= 0) return 0;
    if (!(*http = monitor_serve(cfg->metrics_address, (int)cfg->metrics_port, NULL, err, sizeof err))) {
        fprintf(stderr, "siemproc: metrics_port: %s\n", err);
        return -1;
    }
    fprintf(stderr, "siemproc: /metrics, /healthz and /readyz on %s port %d\n", cfg->metrics_address,
            metrics_http_port(*http));
    return 0;
}

/* After the stages ended (the last scrapes saw their final counters), before they are freed. */
static void stop_metrics(struct metrics_http *http, struct stage_runner *r)
{
    metrics_http_stop(http);
    metrics_unwatch(NULL, r);
}

/* Every stage, alone or together (all), and the embedded default (no stage, no brokers). */
static int run_stages(const struct config *cfg)
{
    char err[1024];
    int which = cfg->stage[0] ? stage_runner_which(cfg->stage) : RUN_EMBEDDED;
    struct metrics_http *http;
    struct stage_runner *r = stage_runner_new(cfg, which, err, sizeof err);
    if (!r) {
        fprintf(stderr, "siemproc: %s\n", err);
        return 2;
    }
    if (serve_metrics(cfg, metrics_watch_runner(NULL, r), &http) < 0) {
        metrics_unwatch(NULL, r);
        stage_runner_free(r);
        return 2;
    }
    watch_signals(stage_runner_stop, r);
    int rc = stage_runner_run(r);
    stop_fn = NULL;
    stop_metrics(http, r);
    stage_runner_free(r);
    return rc;
}

static const struct stage_entry {
    const char *name;
    const char *help;
} stages[] = {
    { "normalize", "raw log topics -> ECS documents on output_topic" },
    { "sink", "output_topic -> OpenSearch/Elasticsearch (opensearch_url) or a file (sink_file)" },
    { "retry", "retry_topic -> back to each message's origin topic after a backoff; dlq_topic after retry_max_attempts" },
    { "all", "normalize + sink + retry in one process" },
};

static void run_usage(FILE *out)
{
    fputs("usage: siemproc run --stage STAGE [--config FILE] [--KEY VALUE ...] [--set KEY=VALUE ...]\n"
          "       siemproc run [--follow] [--samples DIR] [--sink-file FILE]   (no brokers: embedded mode, the\n"
          "       whole pipeline in-process on librdkafka's mock cluster, bundled samples -> a local file)\n\nstages:\n", out);
    for (size_t i = 0; i < sizeof stages / sizeof stages[0]; i++)
        fprintf(out, "  %-10s %s\n", stages[i].name, stages[i].help);
    fputs("\nEvery configuration key is a flag: see `siemproc config --describe`.\n", out);
}

static int help_option(void *arg, const char *opt, const char *value, int *consumed)
{
    if (strcmp(opt, "help") != 0) return 0;
    *(int *)arg = 1;
    *consumed = 0;
    return 1;
}

int cmd_run(int argc, char **argv)
{
    struct config cfg;
    char err[1024];
    int help = 0;
    if (config_load(&cfg, argc, argv, help_option, &help, err, sizeof err) < 0) {
        fprintf(stderr, "siemproc: %s\n", err);
        config_free(&cfg);
        return 2;
    }
    int rc = 2;
    if (help) {
        run_usage(stdout);
        rc = 0;
    } else if (!cfg.stage[0] && !cfg.brokers[0]) {
        rc = run_stages(&cfg); /* the embedded default: everything in-process, on the bundled samples */
    } else if (!cfg.stage[0]) {
        fprintf(stderr, "siemproc: stage: missing (--stage, SIEMPROC_STAGE or \"stage = ...\" in the config file)\n");
        run_usage(stderr);
    } else if (stage_runner_which(cfg.stage)) {
        rc = run_stages(&cfg);
    } else {
        fprintf(stderr, "siemproc: stage: \"%s\" is not a stage (see `siemproc run --help`)\n", cfg.stage);
    }
    config_free(&cfg);
    return rc;
}

enum { CFG_PRINT, CFG_DESCRIBE, CFG_MARKDOWN, CFG_HELP };

static int config_option(void *arg, const char *opt, const char *value, int *consumed)
{
    static const char *const names[] = { "print", "describe", "markdown", "help" };
    for (int i = 0; i < 4; i++)
        if (strcmp(opt, names[i]) == 0) { *(int *)arg = i; *consumed = 0; return 1; }
    return 0;
}

int cmd_config(int argc, char **argv)
{
    struct config cfg;
    char err[1024];
    int what = CFG_PRINT;
    int rc = config_load(&cfg, argc, argv, config_option, &what, err, sizeof err);
    if (rc < 0) fprintf(stderr, "siemproc: %s\n", err);
    else if (what == CFG_PRINT) config_print(&cfg, stdout);
    else if (what == CFG_HELP)
        fputs("usage: siemproc config [--print | --describe | --markdown] [--config FILE] [--KEY VALUE ...]\n"
              "  --print     the effective configuration (default; secrets masked)\n"
              "  --describe  every key with its default, as a commented configuration file\n"
              "  --markdown  every key as a Markdown table\n", stdout);
    else config_describe(stdout, what == CFG_MARKDOWN);
    config_free(&cfg);
    return rc < 0 ? 2 : 0;
}
