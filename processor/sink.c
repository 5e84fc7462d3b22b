/* sink.c - the OpenSearch/Elasticsearch sink: the sink interface over the
 * _bulk client (the file sink is in sink_file.c).
 * Owns: one os_client per sink, and the _bulk series (siemproc_bulk_*:
 * duration, requests by outcome, items by status) it observes per batch.
 * Must never: retry (the stage decides). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_credentials.h"
#include "config.h"
#include "metrics.h"
#include "sink.h"

#define STATUS_KINDS 8   /* distinct item statuses counted per batch before a lookup each */

struct os_sink {
    struct sink base;
    struct os_client *client;
    struct mseries *duration, *outcome[3];  /* outcome by enum os_status */
};

struct status_tally {
    short http;
    uint64_t n;
};

static void add_tally(const struct status_tally *t, int n)
{
    for (int k = 0; k < n; k++) {
        char label[8] = "none";
        if (t[k].http)
            snprintf(label, sizeof label, "%d", t[k].http);
        mseries_add(METRIC_GET(metrics_std()->bulk_items, label), t[k].n);
    }
}

/* Items by HTTP status ("none": no answer arrived): one series update per status. */
static void count_items(const struct os_batch *b)
{
    struct status_tally t[STATUS_KINDS];
    int n = 0;
    for (size_t i = 0; i < b->n; i++) {
        int k = 0;
        while (k < n && t[k].http != b->items[i].http)
            k++;
        if (k == n) {
            if (n == STATUS_KINDS) {
                add_tally(t, n);
                n = k = 0;
            }
            t[n++] = (struct status_tally){b->items[i].http, 0};
        }
        t[k].n++;
    }
    add_tally(t, n);
}

static int os_sink_write(struct sink *sk, struct os_batch *b, struct os_bulk_summary *s)
{
    struct os_sink *o = (struct os_sink *)sk;
    double t0 = metrics_clock_s();
    int rc = os_bulk(o->client, b, s);
    mseries_observe(o->duration, metrics_clock_s() - t0);
    mseries_inc(o->outcome[s->status]);
    count_items(b);
    return rc;
}

static void os_sink_free(struct sink *sk)
{
    struct os_sink *o = (struct os_sink *)sk;
    os_client_free(o->client);
    free(o);
}

static const struct sink_ops os_ops = {os_sink_write, os_sink_free};

struct sink *sink_opensearch_new(const struct os_options *o, char *err, size_t errlen)
{
    struct os_client *c = os_client_new(o, err, errlen);
    if (!c)
        return NULL;
    struct os_sink *sk = xcalloc(1, sizeof *sk);
    sk->base = (struct sink){.ops = &os_ops, .kind = "opensearch",
                             .action = o->bulk_action && *o->bulk_action ? o->bulk_action : "create"};
    sk->client = c;
    const struct siemproc_metrics *m = metrics_std();
    sk->duration = metric_get(m->bulk_duration, NULL);
    sk->outcome[OS_OK] = METRIC_GET(m->bulk_requests, "ok");
    sk->outcome[OS_RETRY] = METRIC_GET(m->bulk_requests, "retry");
    sk->outcome[OS_FAIL] = METRIC_GET(m->bulk_requests, "fail");
    return &sk->base;
}

static enum os_auth auth_of(const char *name)
{
    return !strcmp(name, "basic") ? OS_AUTH_BASIC : !strcmp(name, "sigv4") ? OS_AUTH_SIGV4 : OS_AUTH_NONE;
}

struct aws_cred_provider *sink_cred_provider(const struct config *cfg)
{
    if (auth_of(cfg->opensearch_auth) != OS_AUTH_SIGV4)
        return NULL;
    struct aws_cred_options co = {.profile = cfg->aws_profile[0] ? cfg->aws_profile : NULL,
                                  .region = cfg->aws_region[0] ? cfg->aws_region : NULL};
    return aws_cred_provider_new(&co);
}

int sink_os_options(const struct config *cfg, struct aws_cred_provider *creds, struct os_options *o,
                    char *err, size_t errlen)
{
    *o = (struct os_options){
        .urls = cfg->opensearch_url, .auth = auth_of(cfg->opensearch_auth),
        .username = cfg->opensearch_user, .password = cfg->opensearch_password,
        .aws_service = strcmp(cfg->opensearch_aws_service, "auto") ? cfg->opensearch_aws_service : NULL,
        .aws_region = cfg->aws_region, .creds = creds, .ca_file = cfg->opensearch_ca_file,
        .client_cert = cfg->opensearch_client_cert, .client_key = cfg->opensearch_client_key,
        .tls_no_verify = !cfg->opensearch_tls_verify, .gzip = cfg->opensearch_gzip,
        .bulk_action = cfg->opensearch_bulk_action, .timeout_ms = cfg->opensearch_timeout_ms,
    };
    if (!cfg->opensearch_url[0]) {
        snprintf(err, errlen, "opensearch_url: missing (--opensearch-url or SIEMPROC_OPENSEARCH_URL)");
        return -1;
    }
    return 0;
}

struct sink *sink_from_config(const struct config *cfg, struct aws_cred_provider *creds, char *err,
                              size_t errlen)
{
    if (cfg->sink_file[0])
        return sink_file_new(cfg->sink_file, err, errlen);
    struct os_options o;
    if (sink_os_options(cfg, creds, &o, err, errlen) != 0)
        return NULL;
    return sink_opensearch_new(&o, err, errlen);
}
