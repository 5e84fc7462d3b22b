/* lag: measurement and poller. See lag.h. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "kadmin.h"
#include "lag.h"
#include "ticker.h"
#include "timeparse.h"

static rd_kafka_topic_partition_list_t *partitions_to_measure(rd_kafka_t *rk, const char *topics,
                                                              const rd_kafka_topic_partition_list_t *committed,
                                                              int timeout_ms, char *err, size_t errlen)
{
    if (topics && *topics) return kadmin_partitions(rk, topics, 0, timeout_ms, err, errlen);
    char *own = kadmin_topics_of(committed);
    rd_kafka_topic_partition_list_t *l = kadmin_partitions(rk, own, 1, timeout_ms, err, errlen);
    free(own);
    return l;
}

static void fill_report(struct lag_report *out, const rd_kafka_topic_partition_list_t *start,
                        const rd_kafka_topic_partition_list_t *end, const rd_kafka_topic_partition_list_t *committed)
{
    out->v = xcalloc((size_t)start->cnt + 1, sizeof *out->v);
    out->n = start->cnt;
    out->total = 0;
    for (int i = 0; i < start->cnt; i++) {
        struct lag_partition *p = &out->v[i];
        const rd_kafka_topic_partition_t *c =
            rd_kafka_topic_partition_list_find(committed, start->elems[i].topic, start->elems[i].partition);
        p->topic = xstrdup(start->elems[i].topic);
        p->partition = start->elems[i].partition;
        p->start = start->elems[i].offset;
        p->end = end->elems[i].offset;
        p->committed = c ? c->offset : -1;
        int64_t from = p->committed > p->start ? p->committed : p->start;
        p->lag = p->end > from ? p->end - from : 0;
        out->total += p->lag;
    }
}

int lag_measure(rd_kafka_t *rk, const char *group, const char *topics, int timeout_ms, struct lag_report *out,
                char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    rd_kafka_topic_partition_list_t *committed = kadmin_committed(rk, group, timeout_ms, err, errlen), *start = NULL,
                                    *end = NULL;
    int rc = -1;
    if (!committed) return -1;
    start = partitions_to_measure(rk, topics, committed, timeout_ms, err, errlen);
    if (!start) goto done;
    end = rd_kafka_topic_partition_list_copy(start);
    if (kadmin_offsets_at(rk, start, KADMIN_EARLIEST, timeout_ms, err, errlen) < 0 ||
        kadmin_offsets_at(rk, end, KADMIN_LATEST, timeout_ms, err, errlen) < 0)
        goto done;
    fill_report(out, start, end, committed);
    rc = 0;
done:
    if (end) rd_kafka_topic_partition_list_destroy(end);
    if (start) rd_kafka_topic_partition_list_destroy(start);
    rd_kafka_topic_partition_list_destroy(committed);
    return rc;
}

void lag_report_free(struct lag_report *r)
{
    for (int i = 0; i < r->n; i++) free(r->v[i].topic);
    free(r->v);
    memset(r, 0, sizeof *r);
}

/* ---- poller ---- */

struct lag_poller {
    struct lag_poller_opts o;
    char *group, *topics;
    const struct siemproc_metrics *m;
    struct siemproc_metrics own;  /* families of a private registry */
    struct ticker *ticker;
    struct mseries **shown;       /* series set by the last measurement, sorted */
    size_t nshown;
    atomic_llong total;
    atomic_llong measured_ms;     /* time of the last success, 0 = never */
    char last_error[512];
};

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;
    return x < y ? -1 : x > y;
}

/* Hide the series of partitions the last measurement no longer reports. */
static void replace_shown(struct lag_poller *p, struct mseries **now, size_t n)
{
    qsort(now, n, sizeof *now, cmp_ptr);
    for (size_t i = 0; i < p->nshown; i++)
        if (!bsearch(&p->shown[i], now, n, sizeof *now, cmp_ptr)) mseries_hide(p->shown[i]);
    free(p->shown);
    p->shown = now;
    p->nshown = n;
}

static void publish(struct lag_poller *p, const struct lag_report *r)
{
    struct mseries **now = xcalloc((size_t)r->n * 3 + 1, sizeof *now);
    size_t n = 0;
    for (int i = 0; i < r->n; i++) {
        char part[16];
        snprintf(part, sizeof part, "%d", (int)r->v[i].partition);
        const char *const labels[] = { p->group, r->v[i].topic, part };
        mseries_set(now[n++] = metric_get(p->m->consumer_lag, labels), (double)r->v[i].lag);
        mseries_set(now[n++] = metric_get(p->m->committed_offset, labels), (double)r->v[i].committed);
        mseries_set(now[n++] = metric_get(p->m->end_offset, labels), (double)r->v[i].end);
    }
    replace_shown(p, now, n);
}

static void poll_once(void *arg)
{
    struct lag_poller *p = arg;
    struct lag_report r;
    char err[512];
    if (lag_measure(p->o.rk, p->group, p->topics, p->o.timeout_ms, &r, err, sizeof err) < 0) {
        mseries_inc(METRIC_GET(p->m->lag_polls, p->group, "error"));
        if (strcmp(err, p->last_error)) fprintf(stderr, "siemproc: lag of group %s: %s\n", p->group, err);
        snprintf(p->last_error, sizeof p->last_error, "%s", err);
        return;
    }
    p->last_error[0] = '\0';
    publish(p, &r);
    int64_t now = ts_now_ms();
    mseries_set(METRIC_GET(p->m->lag_poll_time, p->group), (double)now / 1000.0);
    mseries_inc(METRIC_GET(p->m->lag_polls, p->group, "ok"));
    atomic_store(&p->total, r.total);
    atomic_store(&p->measured_ms, now);
    lag_report_free(&r);
}

struct lag_poller *lag_poller_start(const struct lag_poller_opts *o, char *err, size_t errlen)
{
    struct lag_poller *p = xcalloc(1, sizeof *p);
    p->o = *o;
    if (p->o.interval_ms <= 0) p->o.interval_ms = 15000;
    if (p->o.timeout_ms <= 0) p->o.timeout_ms = 10000;
    p->group = xstrdup(o->group);
    p->topics = o->topics ? xstrdup(o->topics) : NULL;
    p->m = metrics_std_of(o->reg, &p->own);
    atomic_init(&p->total, -1);
    p->ticker = ticker_start(p->o.interval_ms, poll_once, p, err, errlen);
    if (!p->ticker) {
        lag_poller_stop(p);
        return NULL;
    }
    return p;
}

int64_t lag_poller_total(struct lag_poller *p)
{
    int64_t at = atomic_load(&p->measured_ms);
    if (!at || ts_now_ms() - at > 3LL * p->o.interval_ms) return -1;
    return atomic_load(&p->total);
}

void lag_poller_stop(struct lag_poller *p)
{
    if (!p) return;
    ticker_stop(p->ticker);
    free(p->shown);
    free(p->group);
    free(p->topics);
    free(p);
}
