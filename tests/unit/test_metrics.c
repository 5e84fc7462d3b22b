/* metrics: registry, concurrent updates, and the Prometheus text format,
 * checked by parsing the exposition back. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "metrics.h"
#include "metrics_stages.h"
#include "stage_normalize.h"
#include "stage_retry.h"
#include "stage_sink.h"
#include "testlib.h"

/* ---- a small parser of the text format (what Prometheus would accept) ---- */

#define MAX_SAMPLES 256

struct sample {
    char name[128];
    char labels[512];   /* canonical: a="x",b="y" (values unescaped back) */
    double value;
};

struct parsed {
    struct sample s[MAX_SAMPLES];
    int n, errors;
    char types[64][2][128];   /* family name, type */
    int ntypes;
};

static int name_char(char c, int first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (!first && c >= '0' && c <= '9');
}

/* One label value: "..." with \\ \" \n escapes; returns chars consumed or -1. */
static int parse_value(const char *p, char *out, size_t cap)
{
    size_t o = 0;
    int i = 1;
    if (p[0] != '"') return -1;
    for (; p[i] && p[i] != '"'; i++) {
        char c = p[i];
        if (c == '\n') return -1;
        if (c == '\\') {
            c = p[++i];
            if (c == 'n') c = '\n';
            else if (c != '\\' && c != '"') return -1;
        }
        if (o + 1 < cap) out[o++] = c;
    }
    out[o] = '\0';
    return p[i] == '"' ? i + 1 : -1;
}

static int parse_sample(const char *line, struct sample *s)
{
    const char *p = line;
    size_t n = 0;
    while (name_char(*p, p == line)) s->name[n++] = *p++;
    s->name[n] = '\0';
    s->labels[0] = '\0';
    if (!n) return -1;
    if (*p == '{') {
        p++;
        while (*p != '}') {
            char lname[64], val[256];
            size_t ln = 0;
            while (name_char(*p, ln == 0) && ln + 1 < sizeof lname) lname[ln++] = *p++;
            lname[ln] = '\0';
            if (!ln || *p++ != '=') return -1;
            int used = parse_value(p, val, sizeof val);
            if (used < 0) return -1;
            p += used;
            size_t have = strlen(s->labels);
            snprintf(s->labels + have, sizeof s->labels - have, "%s%s=\"%s\"", have ? "," : "", lname, val);
            if (*p == ',') p++;
            else if (*p != '}') return -1;
        }
        p++;
    }
    if (*p++ != ' ') return -1;
    char *end;
    if (!strcmp(p, "+Inf")) s->value = INFINITY;
    else if (!strcmp(p, "NaN")) s->value = NAN;
    else {
        s->value = strtod(p, &end);
        if (end == p || *end) return -1;
    }
    return 0;
}

static void parse_exposition(const char *text, struct parsed *out)
{
    memset(out, 0, sizeof *out);
    char *copy = strdup(text), *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(line, "# TYPE ", 7)) {
            if (out->ntypes < 64 && sscanf(line + 7, "%127s %127s", out->types[out->ntypes][0], out->types[out->ntypes][1]) == 2)
                out->ntypes++;
            else out->errors++;
        } else if (line[0] == '#') {
            if (strncmp(line, "# HELP ", 7)) out->errors++;
        } else if (out->n < MAX_SAMPLES && parse_sample(line, &out->s[out->n]) == 0) {
            out->n++;
        } else {
            fprintf(stderr, "bad line: %s\n", line);
            out->errors++;
        }
    }
    free(copy);
}

static const struct sample *find(const struct parsed *p, const char *name, const char *labels)
{
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->s[i].name, name) && !strcmp(p->s[i].labels, labels)) return &p->s[i];
    return NULL;
}

static double value_of(const struct parsed *p, const char *name, const char *labels)
{
    const struct sample *s = find(p, name, labels);
    return s ? s->value : -12345;
}

static const char *type_of(const struct parsed *p, const char *name)
{
    for (int i = 0; i < p->ntypes; i++)
        if (!strcmp(p->types[i][0], name)) return p->types[i][1];
    return "";
}

static void expose_parse(struct metrics *r, struct parsed *p)
{
    buf_t b;
    buf_init(&b);
    metrics_expose(r, &b);
    parse_exposition(buf_cstr(&b), p);
    buf_free(&b);
}

/* ---- tests ---- */

struct adder { struct mseries *s; int n; };

static void *add_many(void *arg)
{
    struct adder *a = arg;
    for (int i = 0; i < a->n; i++) mseries_inc(a->s);
    return NULL;
}

static void test_concurrent_counter(void)
{
    struct metrics *r = metrics_new();
    struct metric *c = metrics_add(r, METRIC_COUNTER, "t_records_total", "records", "stage", NULL, 0);
    struct adder a = { METRIC_GET(c, "normalize"), 200000 };
    pthread_t th[4];
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, add_many, &a);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    CHECK_INT((long long)mseries_value(a.s), 800000);
    CHECK(METRIC_GET(c, "normalize") == a.s);   /* the same series, not a new one */
    struct parsed p;
    expose_parse(r, &p);
    CHECK_INT(p.errors, 0);
    CHECK_INT((long long)value_of(&p, "t_records_total", "stage=\"normalize\""), 800000);
    CHECK_STR(type_of(&p, "t_records_total"), "counter");
    metrics_free(r);
}

static void test_gauge_and_labels(void)
{
    struct metrics *r = metrics_new();
    struct metric *g = metrics_add(r, METRIC_GAUGE, "t_lag", "lag \\ of\na partition", "topic,partition", NULL, 0);
    mseries_set(METRIC_GET(g, "raw-vpc", "0"), 42);
    mseries_set(METRIC_GET(g, "raw-vpc", "1"), 1.5);
    mseries_gauge_add(METRIC_GET(g, "raw-vpc", "1"), -0.25);
    mseries_set(METRIC_GET(g, "we\"ird\\to\npic", "7"), -3);
    struct parsed p;
    expose_parse(r, &p);
    CHECK_INT(p.errors, 0);
    CHECK(value_of(&p, "t_lag", "topic=\"raw-vpc\",partition=\"0\"") == 42);
    CHECK(value_of(&p, "t_lag", "topic=\"raw-vpc\",partition=\"1\"") == 1.25);
    CHECK(value_of(&p, "t_lag", "topic=\"we\"ird\\to\npic\",partition=\"7\"") == -3);
    CHECK_STR(type_of(&p, "t_lag"), "gauge");

    /* Hidden series leave the exposition and come back when set. */
    mseries_hide(METRIC_GET(g, "raw-vpc", "0"));
    expose_parse(r, &p);
    CHECK(find(&p, "t_lag", "topic=\"raw-vpc\",partition=\"0\"") == NULL);
    CHECK(find(&p, "t_lag", "topic=\"raw-vpc\",partition=\"1\"") != NULL);
    mseries_set(METRIC_GET(g, "raw-vpc", "0"), 7);
    expose_parse(r, &p);
    CHECK(value_of(&p, "t_lag", "topic=\"raw-vpc\",partition=\"0\"") == 7);
    metrics_free(r);
}

static void test_histogram(void)
{
    struct metrics *r = metrics_new();
    const double bounds[] = { 0.1, 1, 10 };
    struct metric *h = metrics_add(r, METRIC_HISTOGRAM, "t_bulk_seconds", "bulk", "", bounds, 3);
    struct mseries *s = metric_get(h, NULL);
    const double obs[] = { 0.05, 0.1, 0.5, 1, 2, 20, 30 };
    for (size_t i = 0; i < sizeof obs / sizeof obs[0]; i++) mseries_observe(s, obs[i]);
    struct parsed p;
    expose_parse(r, &p);
    CHECK_INT(p.errors, 0);
    CHECK_STR(type_of(&p, "t_bulk_seconds"), "histogram");
    /* le is "less than or equal": 0.1 falls in the 0.1 bucket; buckets are cumulative. */
    CHECK(value_of(&p, "t_bulk_seconds_bucket", "le=\"0.1\"") == 2);
    CHECK(value_of(&p, "t_bulk_seconds_bucket", "le=\"1\"") == 4);
    CHECK(value_of(&p, "t_bulk_seconds_bucket", "le=\"10\"") == 5);
    CHECK(value_of(&p, "t_bulk_seconds_bucket", "le=\"+Inf\"") == 7);
    CHECK(value_of(&p, "t_bulk_seconds_count", "") == 7);
    CHECK(fabs(value_of(&p, "t_bulk_seconds_sum", "") - 53.65) < 1e-9);
    CHECK_INT((long long)mseries_value(s), 7);
    metrics_free(r);
}

static void test_rejections(void)
{
    struct metrics *r = metrics_new();
    const double bad_bounds[] = { 1, 1 };
    CHECK(metrics_add(r, METRIC_COUNTER, "9starts_with_digit", "", "", NULL, 0) == NULL);
    CHECK(metrics_add(r, METRIC_COUNTER, "has-dash", "", "", NULL, 0) == NULL);
    CHECK(metrics_add(r, METRIC_COUNTER, "ok_total", "", "a:b", NULL, 0) == NULL);
    CHECK(metrics_add(r, METRIC_COUNTER, "ok_total", "", "__reserved", NULL, 0) == NULL);
    CHECK(metrics_add(r, METRIC_COUNTER, "ok_total", "", "a,b,c,d,e", NULL, 0) == NULL);
    CHECK(metrics_add(r, METRIC_HISTOGRAM, "h_seconds", "", "le", (const double[]){ 1 }, 1) == NULL);
    CHECK(metrics_add(r, METRIC_HISTOGRAM, "h_seconds", "", "", bad_bounds, 2) == NULL);
    CHECK(metrics_add(r, METRIC_HISTOGRAM, "h_seconds", "", "", NULL, 0) == NULL);
    CHECK(metrics_add(r, METRIC_COUNTER, "ok_total", "", "a", NULL, 0) != NULL);
    CHECK(metrics_add(r, METRIC_GAUGE, "ok_total", "", "", NULL, 0) == NULL);   /* duplicate */
    /* NULL families and series are inert. */
    CHECK(metric_get(NULL, NULL) == NULL);
    mseries_inc(NULL);
    mseries_set(NULL, 1);
    mseries_observe(NULL, 1);
    /* Wrong-type updates do nothing. */
    struct mseries *c = METRIC_GET(metrics_find(r, "ok_total"), "x");
    mseries_observe(c, 5);
    mseries_gauge_add(c, 5);
    CHECK_INT((long long)mseries_value(c), 0);
    /* A missing label value is the empty string, not a crash. */
    CHECK(metric_get(metrics_find(r, "ok_total"), NULL) == METRIC_GET(metrics_find(r, "ok_total"), ""));
    metrics_free(r);
}

static void collect(void *arg, struct metrics *r)
{
    (*(int *)arg)++;
    mseries_set(METRIC_GET(metrics_find(r, "t_snapshot_total"), "normalize"), 1000.0 * *(int *)arg);
}

static void test_collector_and_counter_snapshot(void)
{
    struct metrics *r = metrics_new();
    metrics_add(r, METRIC_COUNTER, "t_snapshot_total", "from a stage's own totals", "stage", NULL, 0);
    int calls = 0;
    CHECK_INT(metrics_on_collect(r, collect, &calls), 0);
    struct parsed p;
    expose_parse(r, &p);
    expose_parse(r, &p);
    CHECK_INT(calls, 2);
    CHECK(value_of(&p, "t_snapshot_total", "stage=\"normalize\"") == 2000);
    metrics_off_collect(r, &calls);
    expose_parse(r, &p);
    CHECK_INT(calls, 2);   /* removed: not called again */
    metrics_free(r);
}

/* Every siemproc series registers, exposes HELP and TYPE, and parses. */
static void test_std_series(void)
{
    struct metrics *r = metrics_new();
    struct siemproc_metrics m;
    CHECK_INT(metrics_add_std(r, &m), 0);
    int n = 0;
#define COUNT_STD(t, field, name, ...) n++; CHECK(m.field != NULL);
    SIEMPROC_METRICS(COUNT_STD)
#undef COUNT_STD
    mseries_observe(metric_get(m.bulk_duration, NULL), 0.3);
    mseries_inc(METRIC_GET(m.bulk_items, "429"));
    mseries_set(METRIC_GET(m.consumer_lag, "siemproc-normalize", "raw-cloudtrail", "3"), 17);
    struct parsed p;
    expose_parse(r, &p);
    CHECK_INT(p.errors, 0);
    CHECK_INT(p.ntypes, n);
    CHECK_STR(type_of(&p, "siemproc_bulk_duration_seconds"), "histogram");
    CHECK(value_of(&p, "siemproc_bulk_items_total", "status=\"429\"") == 1);
    CHECK(value_of(&p, "siemproc_consumer_lag", "group=\"siemproc-normalize\",topic=\"raw-cloudtrail\",partition=\"3\"") == 17);
    CHECK(value_of(&p, "siemproc_bulk_duration_seconds_bucket", "le=\"0.5\"") == 1);
    CHECK(value_of(&p, "siemproc_bulk_duration_seconds_bucket", "le=\"0.25\"") == 0);
    metrics_free(r);

    /* The global registry holds the same families. */
    CHECK(metrics_find(metrics_global(), "siemproc_consumer_lag") == metrics_std()->consumer_lag);
    struct siemproc_metrics own;
    CHECK(metrics_std_of(metrics_global(), &own) == metrics_std());
}

/* Stage snapshots become per stage / log type series; absent stages stay out. */
static void test_stage_counters(void)
{
    struct metrics *r = metrics_new();
    struct siemproc_metrics m;
    metrics_add_std(r, &m);
    const char *names[] = { "cloudtrail", "vpcflowlogs", "unknown" };
    struct normalize_type_counters by_type[] = { { 90, 5, 5 }, { 0, 0, 0 }, { 0, 0, 3 } };
    struct normalize_counters n = { .bytes_in = 1000, .object_bytes = 50000, .doc_bytes_out = 70000,
                                    .retry_out = 8, .ntypes = 2, .type_names = names, .by_type = by_type };
    struct sink_counters s = { .messages = 90, .acked = 88, .duplicates = 10, .retry_acked = 2, .bytes_sent = 4096 };
    metrics_export_counters(r, &n, &s, NULL);
    struct parsed p;
    expose_parse(r, &p);
    CHECK_INT(p.errors, 0);
    CHECK(value_of(&p, "siemproc_records_in_total", "stage=\"normalize\",log_type=\"cloudtrail\"") == 100);
    CHECK(value_of(&p, "siemproc_records_out_total", "stage=\"normalize\",log_type=\"cloudtrail\"") == 90);
    CHECK(value_of(&p, "siemproc_records_skipped_total", "stage=\"normalize\",log_type=\"cloudtrail\"") == 5);
    CHECK(value_of(&p, "siemproc_parse_failures_total", "log_type=\"cloudtrail\"") == 5);
    CHECK(value_of(&p, "siemproc_parse_failures_total", "log_type=\"unknown\"") == 3);
    CHECK(find(&p, "siemproc_records_in_total", "stage=\"normalize\",log_type=\"vpcflowlogs\"") == NULL);
    CHECK(value_of(&p, "siemproc_bytes_in_total", "stage=\"normalize\",log_type=\"all\"") == 51000);
    CHECK(value_of(&p, "siemproc_retry_messages_total", "stage=\"normalize\"") == 8);
    CHECK(value_of(&p, "siemproc_records_out_total", "stage=\"sink\",log_type=\"all\"") == 88);
    CHECK(value_of(&p, "siemproc_duplicates_total", "stage=\"sink\"") == 10);
    CHECK(find(&p, "siemproc_dlq_messages_total", "") == NULL);   /* no retry stage here */
    /* Later snapshots replace the totals (set, not added). */
    by_type[0].parsed = 190;
    struct retry_counters t = { .messages = 4, .resubmitted = 1, .dead_lettered = 3, .waiting = 2 };
    metrics_export_counters(r, &n, NULL, &t);
    expose_parse(r, &p);
    CHECK(value_of(&p, "siemproc_records_out_total", "stage=\"normalize\",log_type=\"cloudtrail\"") == 190);
    CHECK(value_of(&p, "siemproc_dlq_messages_total", "") == 3);
    CHECK(value_of(&p, "siemproc_retry_waiting", "") == 2);
    metrics_free(r);
}

int main(void)
{
    test_stage_counters();
    test_concurrent_counter();
    test_gauge_and_labels();
    test_histogram();
    test_rejections();
    test_collector_and_counter_snapshot();
    test_std_series();
    return tl_done();
}
