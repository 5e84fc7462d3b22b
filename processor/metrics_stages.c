/* metrics_stages: stage counter snapshots -> siemproc series. See metrics_stages.h. */
#include <string.h>
#include "metrics_stages.h"
#include "stage_normalize.h"
#include "stage_retry.h"
#include "stage_runner.h"
#include "stage_sink.h"

static void set_counter(struct metric *m, const char *const *labels, uint64_t v)
{
    mseries_set(metric_get(m, labels), (double)v);
}

static void export_normalize(const struct siemproc_metrics *m, const struct normalize_counters *n)
{
    for (int t = 0; t <= n->ntypes; t++) {
        const struct normalize_type_counters *c = &n->by_type[t];
        const char *const labels[] = { "normalize", n->type_names[t] };
        if (!c->parsed && !c->skipped && !c->failed) continue;   /* types never seen stay out */
        set_counter(m->records_in, labels, c->parsed + c->skipped + c->failed);
        set_counter(m->records_out, labels, c->parsed);
        set_counter(m->records_skipped, labels, c->skipped);
        set_counter(m->parse_failures, labels + 1, c->failed);
    }
    /* Bytes are counted per stage, not per type: raw message bytes plus the
     * bytes of the S3 objects they name; documents out. */
    const char *const all[] = { "normalize", "all" };
    set_counter(m->bytes_in, all, n->bytes_in + n->object_bytes);
    set_counter(m->bytes_out, all, n->doc_bytes_out);
    set_counter(m->retry_messages, all, n->retry_out);
}

static void export_sink(const struct siemproc_metrics *m, const struct sink_counters *s)
{
    const char *const all[] = { "sink", "all" };
    set_counter(m->records_in, all, s->messages);
    set_counter(m->records_out, all, s->acked);
    set_counter(m->bytes_out, all, s->bytes_sent);
    set_counter(m->retry_messages, all, s->retry_acked);
    set_counter(m->duplicates, all, s->duplicates);
}

static void export_retry(const struct siemproc_metrics *m, const struct retry_counters *t)
{
    const char *const all[] = { "retry", "all" };
    set_counter(m->records_in, all, t->messages);
    set_counter(m->records_out, all, t->resubmitted + t->dead_lettered);
    set_counter(m->resubmitted, NULL, t->resubmitted);
    set_counter(m->dlq_messages, NULL, t->dead_lettered);
    mseries_set(metric_get(m->retry_waiting, NULL), (double)t->waiting);
}

static int all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i]) return 0;
    return 1;
}

void metrics_export_counters(struct metrics *reg, const struct normalize_counters *n,
                             const struct sink_counters *s, const struct retry_counters *t)
{
    struct siemproc_metrics own;
    const struct siemproc_metrics *m = metrics_std_of(reg, &own);
    if (n && n->type_names) export_normalize(m, n);
    if (s && !all_zero(s, sizeof *s)) export_sink(m, s);
    if (t && !all_zero(t, sizeof *t)) export_retry(m, t);
}

static void collect_runner(void *arg, struct metrics *reg)
{
    struct normalize_counters n;
    struct sink_counters s;
    struct retry_counters t;
    stage_runner_counters(arg, &n, &s, &t);
    metrics_export_counters(reg, &n, &s, &t);
    normalize_counters_free(&n);
}

int metrics_watch_runner(struct metrics *reg, struct stage_runner *runner)
{
    return metrics_on_collect(reg ? reg : metrics_global(), collect_runner, runner);
}

void metrics_unwatch(struct metrics *reg, struct stage_runner *runner)
{
    metrics_off_collect(reg ? reg : metrics_global(), runner);
}
