/* monitor: metrics server, lag poller, consumer gauges, readiness, GeoIP
 * reloads for a running stage. See monitor.h. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "config.h"
#include "geoip.h"
#include "kafka_source.h"
#include "lag.h"
#include "metrics.h"
#include "metrics_http.h"
#include "monitor.h"
#include "ticker.h"
#include "timeparse.h"
#include "workqueue.h"

struct monitor {
    struct monitor_opts o;
    const struct siemproc_metrics *m;
    struct siemproc_metrics own;     /* families of a private registry */
    struct lag_poller *lag;
    struct ticker *state_ticker, *geoip_ticker;
    struct readiness rd;
    pthread_mutex_t lock;            /* ready, why */
    int ready;
    char why[200];
    struct monitor *next;            /* the running monitors (running_lock) */
};

static pthread_mutex_t running_lock = PTHREAD_MUTEX_INITIALIZER;
static struct monitor *running;

int readiness_check(struct readiness *r, int64_t now_ms, int assigned, uint64_t progress, int64_t lag,
                    int window_ms, char *why, size_t whylen)
{
    if (!r->seen || progress != r->progress) {
        r->seen = 1;
        r->progress = progress;
        r->progress_ms = now_ms;
    }
    why[0] = '\0';
    if (assigned <= 0) {
        snprintf(why, whylen, "no partitions assigned");
        return 0;
    }
    if (lag == 0 || now_ms - r->progress_ms <= window_ms) return 1;
    snprintf(why, whylen, "no progress for %lld ms with lag %lld", (long long)(now_ms - r->progress_ms),
             (long long)lag);
    return 0;
}

static void set_ready(struct monitor *mon, int ready, const char *why)
{
    pthread_mutex_lock(&mon->lock);
    mon->ready = ready;
    snprintf(mon->why, sizeof mon->why, "%s", why);
    pthread_mutex_unlock(&mon->lock);
    mseries_set(METRIC_GET(mon->m->ready, mon->o.stage), ready);
}

/* Every second: consumer and queue gauges, then readiness. */
static void state_tick(void *arg)
{
    struct monitor *mon = arg;
    const char *stage = mon->o.stage;
    int64_t lag = mon->lag ? lag_poller_total(mon->lag) : -1;
    char why[200] = "";
    if (mon->o.wq) mseries_set(METRIC_GET(mon->m->queue_depth, stage), (double)workqueue_depth(mon->o.wq));
    else if (mon->o.queue_depth)
        mseries_set(METRIC_GET(mon->m->queue_depth, stage), (double)mon->o.queue_depth(mon->o.queue_arg));
    if (!mon->o.ks) {
        if (lag < 0) snprintf(why, sizeof why, "no recent lag measurement");
        set_ready(mon, lag >= 0, why);
        return;
    }
    struct kafka_source_stats st;
    kafka_source_get_stats(mon->o.ks, &st);
    mseries_set(METRIC_GET(mon->m->assigned_partitions, stage), st.assigned);
    /* kafka_source pauses all its partitions at once. */
    mseries_set(METRIC_GET(mon->m->paused_partitions, stage), st.paused ? st.assigned : 0);
    mseries_set(METRIC_GET(mon->m->inflight_messages, stage), (double)st.inflight);
    int ok = readiness_check(&mon->rd, ts_now_ms(), st.assigned, st.messages, lag, mon->o.ready_window_ms, why,
                             sizeof why);
    set_ready(mon, ok, why);
}

static void geoip_tick(void *arg)
{
    struct monitor *mon = arg;
    int rc = geoip_reload_if_changed(mon->o.geoip);
    if (rc == 0) return;
    char desc[512];
    if (rc > 0) geoip_describe(mon->o.geoip, desc, sizeof desc);
    fprintf(stderr, "siemproc: GeoIP %s: %s\n", rc > 0 ? "reloaded" : "reload failed, keeping the old databases",
            rc > 0 ? desc : geoip_error(mon->o.geoip));
    mseries_inc(METRIC_GET(mon->m->geoip_reloads, rc > 0 ? "ok" : "error"));
}

static int start_parts(struct monitor *mon, char *err, size_t errlen)
{
    const struct monitor_opts *o = &mon->o;
    rd_kafka_t *rk = o->rk ? o->rk : o->ks ? kafka_source_handle(o->ks) : NULL;
    if (o->group && rk) {
        struct lag_poller_opts lo = { rk, o->group, o->topics, o->lag_interval_ms, 0, o->reg };
        if (!(mon->lag = lag_poller_start(&lo, err, errlen))) return -1;
    }
    if (!(mon->state_ticker = ticker_start(1000, state_tick, mon, err, errlen))) return -1;
    if (o->geoip && !(mon->geoip_ticker = ticker_start(o->geoip_check_ms, geoip_tick, mon, err, errlen))) return -1;
    return 0;
}

struct monitor_opts monitor_stage_opts(const struct config *cfg, const char *stage, struct kafka_source *ks,
                                       const char *group, const char *topics)
{
    int served = cfg->metrics_port > 0;
    return (struct monitor_opts){ .stage = stage, .ks = ks, .group = served ? group : NULL,
                                  .topics = served ? topics : NULL, .lag_interval_ms = (int)cfg->lag_interval_ms,
                                  .ready_window_ms = (int)cfg->ready_window_ms,
                                  .geoip_check_ms = (int)cfg->geoip_check_s * 1000 };
}

struct monitor *monitor_start(const struct monitor_opts *o, char *err, size_t errlen)
{
    struct monitor *mon = xcalloc(1, sizeof *mon);
    mon->o = *o;
    if (!mon->o.stage) mon->o.stage = "";
    if (!mon->o.reg) mon->o.reg = metrics_global();
    if (mon->o.lag_interval_ms <= 0) mon->o.lag_interval_ms = 15000;
    if (mon->o.ready_window_ms <= 0) mon->o.ready_window_ms = 60000;
    if (mon->o.geoip_check_ms <= 0) mon->o.geoip_check_ms = 300000;
    mon->m = metrics_std_of(mon->o.reg, &mon->own);
    pthread_mutex_init(&mon->lock, NULL);
    snprintf(mon->why, sizeof mon->why, "starting");
    if (start_parts(mon, err, errlen) < 0) {
        monitor_stop(mon);
        return NULL;
    }
    pthread_mutex_lock(&running_lock);
    mon->next = running;
    running = mon;
    pthread_mutex_unlock(&running_lock);
    return mon;
}

int monitor_ready(struct monitor *m, char *why, size_t whylen)
{
    pthread_mutex_lock(&m->lock);
    int ready = m->ready;
    snprintf(why, whylen, "%s", m->why);
    pthread_mutex_unlock(&m->lock);
    return ready;
}

void monitor_stop(struct monitor *m)
{
    if (!m) return;
    pthread_mutex_lock(&running_lock);
    for (struct monitor **p = &running; *p; p = &(*p)->next)
        if (*p == m) {
            *p = m->next;
            break;
        }
    pthread_mutex_unlock(&running_lock);
    ticker_stop(m->geoip_ticker);
    ticker_stop(m->state_ticker);
    lag_poller_stop(m->lag);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

int monitor_ready_all(char *why, size_t whylen)
{
    char one[200];
    int ready = 1;
    snprintf(why, whylen, "no stage running");
    pthread_mutex_lock(&running_lock);
    if (!running) ready = 0;
    for (struct monitor *m = running; m && ready; m = m->next)
        if (!monitor_ready(m, one, sizeof one)) {
            snprintf(why, whylen, "%s: %s", m->o.stage, one);
            ready = 0;
        }
    pthread_mutex_unlock(&running_lock);
    if (ready) why[0] = '\0';
    return ready;
}

static int ready_all_cb(void *arg, char *why, size_t whylen)
{
    return monitor_ready_all(why, whylen);
}

struct metrics_http *monitor_serve(const char *address, int port, struct metrics *reg, char *err, size_t errlen)
{
    struct metrics_http_opts ho = { address, port, reg ? reg : metrics_global(), ready_all_cb, NULL, 0 };
    return metrics_http_start(&ho, err, errlen);
}
