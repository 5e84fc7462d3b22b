/* stage_runner: see stage_runner.h. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "embedded.h"
#include "stage_normalize.h"
#include "stage_retry.h"
#include "stage_runner.h"
#include "stage_sink.h"

/* The three stages behind one interface. */
struct stage_ops {
    int bit;
    const char *name;
    void *(*make)(const struct config *cfg, char *err, size_t errlen);
    int (*run)(void *st);
    void (*stop)(void *st);
    void (*destroy)(void *st);
};

static void *make_normalize(const struct config *c, char *e, size_t n) { return stage_normalize_new(c, e, n); }
static int run_normalize(void *st) { return stage_normalize_run(st); }
static void stop_normalize(void *st) { stage_normalize_stop(st); }
static void free_normalize(void *st) { stage_normalize_free(st); }
static void *make_sink(const struct config *c, char *e, size_t n) { return stage_sink_new(c, e, n); }
static int run_sink(void *st) { return stage_sink_run(st); }
static void stop_sink(void *st) { stage_sink_stop(st); }
static void free_sink(void *st) { stage_sink_free(st); }
static void *make_retry(const struct config *c, char *e, size_t n) { return stage_retry_new(c, e, n); }
static int run_retry(void *st) { return stage_retry_run(st); }
static void stop_retry(void *st) { stage_retry_stop(st); }
static void free_retry(void *st) { stage_retry_free(st); }

static const struct stage_ops all_ops[] = {
    {RUN_NORMALIZE, "normalize", make_normalize, run_normalize, stop_normalize, free_normalize},
    {RUN_SINK, "sink", make_sink, run_sink, stop_sink, free_sink},
    {RUN_RETRY, "retry", make_retry, run_retry, stop_retry, free_retry},
};
#define NSTAGES (sizeof all_ops / sizeof all_ops[0])

struct slot {
    const struct stage_ops *ops;
    struct stage_runner *r;
    struct config cfg;          /* shallow view of the caller's configuration */
    char topics[512], group[256];
    void *st;
    pthread_t thread;
    int started, rc;
};

struct stage_runner {
    struct slot slots[NSTAGES];
    int n;
    atomic_int stopping;
    struct embedded *emb;
};

int stage_runner_which(const char *name)
{
    if (!strcmp(name, "all"))
        return RUN_ALL;
    for (size_t i = 0; i < NSTAGES; i++)
        if (!strcmp(name, all_ops[i].name))
            return all_ops[i].bit;
    return 0;
}

void stage_runner_group(const struct config *cfg, const char *stage, char *out, size_t n)
{
    snprintf(out, n, "%s-%s", cfg->group[0] ? cfg->group : "siemproc", stage);
}

/* Several stages in one process: each its own input topic and group. */
static void shared_view(struct slot *s, const struct config *cfg)
{
    const char *in = s->ops->bit == RUN_NORMALIZE ? cfg->topics
                   : s->ops->bit == RUN_SINK ? cfg->output_topic : cfg->retry_topic;
    snprintf(s->topics, sizeof s->topics, "%s", in);
    stage_runner_group(cfg, s->ops->name, s->group, sizeof s->group);
    s->cfg.topics = s->topics;
    s->cfg.group = s->group;
}

struct stage_runner *stage_runner_new(const struct config *cfg, int which, char *err, size_t errlen)
{
    struct stage_runner *r = xcalloc(1, sizeof *r);
    if (which == RUN_EMBEDDED) {
        if (!(r->emb = embedded_new(cfg, err, errlen))) {
            free(r);
            return NULL;
        }
        cfg = embedded_config(r->emb);
        which = RUN_ALL;
    }
    int several = (which & (which - 1)) != 0;
    for (size_t i = 0; i < NSTAGES; i++) {
        if (!(which & all_ops[i].bit))
            continue;
        struct slot *s = &r->slots[r->n++];
        s->ops = &all_ops[i];
        s->r = r;
        s->cfg = *cfg;
        if (several)
            shared_view(s, cfg);
        char why[1024];
        if (!(s->st = s->ops->make(&s->cfg, why, sizeof why))) {
            snprintf(err, errlen, "%s: %s", s->ops->name, why);
            stage_runner_free(r);
            return NULL;
        }
    }
    return r;
}

void stage_runner_stop(void *runner)
{
    struct stage_runner *r = runner;
    atomic_store(&r->stopping, 1);
    for (int i = 0; i < r->n; i++)
        r->slots[i].ops->stop(r->slots[i].st);
}

static void *slot_main(void *arg)
{
    struct slot *s = arg;
    s->rc = s->ops->run(s->st);
    stage_runner_stop(s->r); /* one stage ended: the others follow */
    return NULL;
}

static void report(struct stage_runner *r)
{
    struct normalize_counters n;
    struct sink_counters s;
    struct retry_counters t;
    stage_runner_counters(r, &n, &s, &t);
    embedded_report(r->emb, &n, &s, &t);
    normalize_counters_free(&n);
}

int stage_runner_run(struct stage_runner *r)
{
    if (r->n == 1)
        return r->slots[0].ops->run(r->slots[0].st);
    for (int i = 0; i < r->n; i++) {
        struct slot *s = &r->slots[i];
        if (pthread_create(&s->thread, NULL, slot_main, s) != 0) {
            fprintf(stderr, "siemproc: cannot start the %s stage thread\n", s->ops->name);
            s->rc = 1;
            stage_runner_stop(r);
            break;
        }
        s->started = 1;
    }
    if (r->emb && embedded_wait(r->emb, &r->stopping) == 0)
        stage_runner_stop(r);
    int rc = 0;
    for (int i = 0; i < r->n; i++) {
        if (r->slots[i].started)
            pthread_join(r->slots[i].thread, NULL);
        r->slots[i].started = 0;
        rc |= r->slots[i].rc != 0;
    }
    if (r->emb)
        report(r);
    return rc;
}

void stage_runner_counters(struct stage_runner *r, struct normalize_counters *n, struct sink_counters *s,
                           struct retry_counters *t)
{
    memset(n, 0, sizeof *n);
    memset(s, 0, sizeof *s);
    memset(t, 0, sizeof *t);
    for (int i = 0; i < r->n; i++) {
        void *st = r->slots[i].st;
        switch (r->slots[i].ops->bit) {
        case RUN_NORMALIZE: stage_normalize_counters(st, n); break;
        case RUN_SINK: stage_sink_counters(st, s); break;
        default: stage_retry_counters(st, t); break;
        }
    }
}

void stage_runner_free(struct stage_runner *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->n; i++)
        if (r->slots[i].st)
            r->slots[i].ops->destroy(r->slots[i].st);
    embedded_free(r->emb);
    free(r);
}
