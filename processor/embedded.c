/* embedded: see embedded.h. */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "buf.h"
#include "cli.h"
#include "embedded.h"
#include "stage_normalize.h"
#include "stage_retry.h"
#include "stage_runner.h"
#include "stage_sink.h"

#define RAW_TOPIC "siemproc-raw"
#define RAW_PARTITIONS 2
#define DEFAULT_OUTPUT "siemproc-output/documents.ndjson"

struct sample_list {
    char **rel;     /* paths relative to the samples directory */
    int n, cap;
};

struct embedded {
    struct config cfg;                  /* view: the user's keys + the embedded defaults */
    char brokers[512], topics[64], output[4096], samples[4096];
    rd_kafka_t *host;                   /* owns the mock cluster */
    rd_kafka_mock_cluster_t *mc;
    struct { const char *stage, *topic; int partitions; rd_kafka_t *rk; } watch[3];
    int files, files_skipped;
    uint64_t messages;
};

/* ---- configuration view ---------------------------------------------------------- */

static int is_default_int(long v, long dflt) { return v == dflt; }

/* Defaults that suit a demo: quick linger, commits and retries. Keys the user
 * set keep their value. */
static void embedded_defaults(struct embedded *e, const struct config *user)
{
    struct config d;
    config_init(&d);
    struct config *c = &e->cfg;
    if (is_default_int(user->batch_linger_ms, d.batch_linger_ms)) c->batch_linger_ms = 50;
    if (is_default_int(user->commit_interval_ms, d.commit_interval_ms)) c->commit_interval_ms = 100;
    if (is_default_int(user->retry_delay_ms, d.retry_delay_ms)) c->retry_delay_ms = 200;
    if (is_default_int(user->retry_max_attempts, d.retry_max_attempts)) c->retry_max_attempts = 2;
    if (is_default_int(user->summary_interval_s, d.summary_interval_s)) c->summary_interval_s = 0;
    config_free(&d);
}

static int make_output(struct embedded *e, const struct config *user, char *err, size_t n)
{
    snprintf(e->output, sizeof e->output, "%s", user->sink_file[0] ? user->sink_file : DEFAULT_OUTPUT);
    char *slash = strrchr(e->output, '/');
    if (slash && !user->sink_file[0]) {
        *slash = 0;
        int rc = mkdir(e->output, 0755);
        *slash = '/';
        if (rc != 0 && errno != EEXIST) {
            snprintf(err, n, "cannot create %.*s: %s", (int)(slash - e->output), e->output, strerror(errno));
            return -1;
        }
    }
    FILE *f = fopen(e->output, "w"); /* each run starts a fresh output */
    if (!f) {
        snprintf(err, n, "%s: %s", e->output, strerror(errno));
        return -1;
    }
    fclose(f);
    e->cfg.sink_file = e->output;
    return 0;
}

/* ---- mock cluster ------------------------------------------------------------------ */

static int start_cluster(struct embedded *e, char *err, size_t n)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
    if (!(e->host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, n)))
        return -1;
    if (!(e->mc = rd_kafka_mock_cluster_new(e->host, 1))) {
        snprintf(err, n, "cannot start librdkafka's mock cluster");
        return -1;
    }
    snprintf(e->brokers, sizeof e->brokers, "%s", rd_kafka_mock_cluster_bootstraps(e->mc));
    const char *topics[] = {RAW_TOPIC, e->cfg.output_topic, e->cfg.retry_topic, e->cfg.dlq_topic};
    for (size_t i = 0; i < 4; i++) {
        rd_kafka_resp_err_t rc = rd_kafka_mock_topic_create(e->mc, topics[i], i ? 1 : RAW_PARTITIONS, 1);
        if (rc) {
            snprintf(err, n, "mock cluster: topic %s: %s", topics[i], rd_kafka_err2str(rc));
            return -1;
        }
    }
    e->cfg.brokers = e->brokers;
    snprintf(e->topics, sizeof e->topics, RAW_TOPIC);
    e->cfg.topics = e->topics;
    return 0;
}

/* ---- samples -------------------------------------------------------------------------- */

static struct sample_list *walk_list;
static size_t walk_root;

static int walk_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    if (flag == FTW_F && S_ISREG(sb->st_mode)) {
        struct sample_list *l = walk_list;
        if (l->n == l->cap) {
            l->cap = l->cap ? l->cap * 2 : 64;
            l->rel = xrealloc(l->rel, (size_t)l->cap * sizeof *l->rel);
        }
        l->rel[l->n++] = xstrdup(path + walk_root);
    }
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int list_samples(const char *dir, struct sample_list *l, char *err, size_t n)
{
    memset(l, 0, sizeof *l);
    walk_list = l; /* nftw has no user argument; used on this thread only */
    walk_root = strlen(dir) + 1;
    if (nftw(dir, walk_one, 16, FTW_PHYS) != 0) {
        snprintf(err, n, "samples: %s: %s", dir, strerror(errno));
        return -1;
    }
    qsort(l->rel, (size_t)l->n, sizeof *l->rel, cmp_str);
    return 0;
}

/* The type named by the first directory: "guardduty/x.log" -> guardduty,
 * "firelens/..." -> ecs-firelens (a '-'-separated part of the name). */
static const struct schema *type_by_dir(const struct schema_set *set, const char *rel)
{
    size_t len = strcspn(rel, "/");
    if (!rel[len])
        return NULL;
    for (int i = 0; i < set->n; i++) {
        const char *name = set->v[i]->name;
        size_t nl = strlen(name);
        if (nl == len && !strncmp(name, rel, len))
            return set->v[i];
        if (nl > len && name[nl - len - 1] == '-' && !strncmp(name + nl - len, rel, len))
            return set->v[i];
    }
    return NULL;
}

static int is_cwl_payload(const char *d, size_t n)
{
    return memmem(d, n < 4096 ? n : 4096, "\"logEvents\"", 11) != NULL;
}

/* Type for a sample, "" for a CloudWatch Logs payload, NULL when unknown. */
static const char *sample_type(const struct schema_set *set, const char *rel, const char *data, size_t len)
{
    if (is_cwl_payload(data, len))
        return "";
    int skip = 0;
    const struct schema *sc = schema_detect_s3_key(set, rel, &skip);
    if (!sc)
        sc = type_by_dir(set, rel);
    return sc ? sc->name : NULL;
}

static int produce_sample(struct embedded *e, rd_kafka_t *p, const char *rel, const char *type, char *data,
                          size_t len)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(1);
    if (*type)
        rd_kafka_header_add(h, "log_type", -1, type, -1);
    rd_kafka_resp_err_t rc = rd_kafka_producev(p, RD_KAFKA_V_TOPIC(RAW_TOPIC), RD_KAFKA_V_KEY(rel, strlen(rel)),
                                               RD_KAFKA_V_VALUE(data, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                               RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
    if (rc) {
        rd_kafka_headers_destroy(h);
        fprintf(stderr, "siemproc: sample %s: %s\n", rel, rd_kafka_err2str(rc));
        return -1;
    }
    e->messages++;
    return 0;
}

static void load_one(struct embedded *e, rd_kafka_t *p, const struct schema_set *set, const char *rel)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", e->samples, rel);
    FILE *f = fopen(path, "rb");
    buf_t b;
    buf_init(&b);
    char chunk[65536];
    size_t got;
    while (f && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&b, chunk, got);
    const char *type = f ? sample_type(set, rel, b.data ? b.data : "", b.len) : NULL;
    if (!f)
        fprintf(stderr, "siemproc: sample %s: %s\n", rel, strerror(errno));
    else if (!type)
        fprintf(stderr, "siemproc: sample %s: log type unknown (not an S3 key of a known type, no type directory): skipped\n", rel);
    if (!type || !b.len || produce_sample(e, p, rel, type, b.data, b.len) != 0)
        e->files_skipped++;
    else
        e->files++;
    if (f)
        fclose(f);
    buf_free(&b);
}

static int load_samples(struct embedded *e, char *err, size_t n)
{
    struct schema_set set;
    struct sample_list l;
    if (cli_load_schemas_cfg(&set, &e->cfg) < 0) {
        snprintf(err, n, "schemas: cannot load the log type schemas");
        return -1;
    }
    int rc = list_samples(e->samples, &l, err, n);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", e->brokers, NULL, 0);
    rd_kafka_t *p = rc == 0 ? rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, n) : NULL;
    if (!p) {
        rd_kafka_conf_destroy(conf);
        rc = -1;
    }
    for (int i = 0; rc == 0 && i < l.n; i++)
        load_one(e, p, &set, l.rel[i]);
    if (p && rd_kafka_flush(p, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, n, "samples: the mock cluster did not take them");
        rc = -1;
    }
    if (p)
        rd_kafka_destroy(p);
    for (int i = 0; i < l.n; i++)
        free(l.rel[i]);
    free(l.rel);
    schema_set_free(&set);
    return rc;
}

/* ---- completion ------------------------------------------------------------------------ */

static int start_watch(struct embedded *e, char *err, size_t n)
{
    const char *stages[] = {"normalize", "sink", "retry"};
    const char *topics[] = {RAW_TOPIC, e->cfg.output_topic, e->cfg.retry_topic};
    for (int i = 0; i < 3; i++) {
        char group[256];
        stage_runner_group(&e->cfg, stages[i], group, sizeof group);
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "bootstrap.servers", e->brokers, NULL, 0);
        rd_kafka_conf_set(conf, "group.id", group, NULL, 0);
        e->watch[i].stage = stages[i];
        e->watch[i].topic = topics[i];
        e->watch[i].partitions = i ? 1 : RAW_PARTITIONS;
        if (!(e->watch[i].rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, n))) {
            rd_kafka_conf_destroy(conf);
            return -1;
        }
    }
    return 0;
}

/* Sum of (end offset - committed offset) of one stage's input; -1 when unknown. */
static int64_t lag_of(struct embedded *e, int w, int64_t *end_sum)
{
    rd_kafka_t *rk = e->watch[w].rk;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(e->watch[w].partitions);
    for (int p = 0; p < e->watch[w].partitions; p++)
        rd_kafka_topic_partition_list_add(l, e->watch[w].topic, p);
    int64_t lag = rd_kafka_committed(rk, l, 5000) ? -1 : 0;
    for (int p = 0; lag >= 0 && p < l->cnt; p++) {
        int64_t lo, hi;
        if (rd_kafka_query_watermark_offsets(rk, e->watch[w].topic, p, &lo, &hi, 5000)) {
            lag = -1;
            break;
        }
        int64_t c = l->elems[p].offset >= 0 ? l->elems[p].offset : lo;
        lag += hi - c;
        *end_sum += hi;
    }
    rd_kafka_topic_partition_list_destroy(l);
    return lag;
}

/* Every stage's committed offsets at the end of its input, twice in a row
 * with the same ends (a re-submission between two reads moves an end). */
int embedded_wait(struct embedded *e, atomic_int *stopping)
{
    int64_t last_ends = -1;
    while (!atomic_load(stopping)) {
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
        int64_t ends = 0, lag = 0;
        for (int w = 0; w < 3 && lag == 0; w++) {
            int64_t l = lag_of(e, w, &ends);
            lag = l < 0 ? 1 : l;
        }
        if (lag == 0 && ends == last_ends && !e->cfg.follow)
            return 0;
        last_ends = lag == 0 ? ends : -1;
    }
    return 1;
}

/* ---- life cycle --------------------------------------------------------------------------- */

const struct config *embedded_config(const struct embedded *e) { return &e->cfg; }

struct embedded *embedded_new(const struct config *user, char *err, size_t errlen)
{
    struct embedded *e = xcalloc(1, sizeof *e);
    e->cfg = *user;
    embedded_defaults(e, user);
    snprintf(e->samples, sizeof e->samples, "%s", user->samples[0] ? user->samples : SIEMPROC_SAMPLE_DIR);
    e->cfg.samples = e->samples;
    if (make_output(e, user, err, errlen) != 0 || start_cluster(e, err, errlen) != 0 ||
        load_samples(e, err, errlen) != 0 || start_watch(e, err, errlen) != 0) {
        embedded_free(e);
        return NULL;
    }
    printf("siemproc: embedded mode: in-process Kafka (librdkafka mock cluster at %s), %d sample file(s) from %s\n",
           e->brokers, e->files, e->samples);
    fflush(stdout);
    return e;
}

static uint64_t count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    uint64_t n = 0;
    int c;
    while (f && (c = getc(f)) != EOF)
        n += c == '\n';
    if (f)
        fclose(f);
    return n;
}

void embedded_report(const struct embedded *e, const struct normalize_counters *n, const struct sink_counters *s,
                     const struct retry_counters *t)
{
    uint64_t parsed = 0, skipped = 0, failed = 0;
    for (int i = 0; i <= n->ntypes && n->by_type; i++) {
        parsed += n->by_type[i].parsed;
        skipped += n->by_type[i].skipped;
        failed += n->by_type[i].failed;
    }
    printf("siemproc: %d sample file(s) -> %" PRIu64 " record(s): %" PRIu64 " documents, %" PRIu64 " skipped (not events), "
           "%" PRIu64 " failed\n", e->files, parsed + skipped + failed, parsed, skipped, failed);
    for (int i = 0; i < n->ntypes && n->by_type; i++)
        if (n->by_type[i].parsed || n->by_type[i].failed)
            printf("  %-22s %6" PRIu64 " documents %4" PRIu64 " failed\n", n->type_names[i], n->by_type[i].parsed,
                   n->by_type[i].failed);
    printf("siemproc: %" PRIu64 " documents written to %s (%" PRIu64 " lines: an action line + a document each, the "
           "_bulk format)\n", s->acked, e->output, count_lines(e->output));
    if (t->dead_lettered || n->retry_out)
        printf("siemproc: %" PRIu64 " message(s) failed, were retried and are in the %s topic (in memory: gone on exit; "
               "with real Kafka they wait there for `siemproc replay`)\n", t->dead_lettered, e->cfg.dlq_topic);
    if (e->files_skipped)
        printf("siemproc: %d sample file(s) skipped (see above)\n", e->files_skipped);
    printf("next: load them into OpenSearch:  siemproc setup --opensearch-url URL && curl -H 'Content-Type: "
           "application/x-ndjson' --data-binary @%s URL/_bulk\n      or run against Kafka:  siemproc run --stage all "
           "--brokers HOST:9092 --topics RAW --opensearch-url URL\n", e->output);
}

void embedded_free(struct embedded *e)
{
    if (!e)
        return;
    for (int i = 0; i < 3; i++)
        if (e->watch[i].rk)
            rd_kafka_destroy(e->watch[i].rk);
    if (e->mc)
        rd_kafka_mock_cluster_destroy(e->mc);
    if (e->host)
        rd_kafka_destroy(e->host);
    free(e);
}
