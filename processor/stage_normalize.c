/* stage_normalize: see stage_normalize.h.
 *
 * Threads: the poll thread (kafka_source_run) only dispatches raw messages
 * into the work queue; each worker takes one message at a time and turns it
 * into produced messages; the producer's delivery thread runs on_delivered().
 * A raw message (struct nmsg) counts its unacknowledged outputs in pending,
 * plus HOLD while a worker holds it; the last release reports it done. The
 * worker counts its documents in a plain variable and settles them with
 * HOLD when it lets go (one atomic per raw message, not one per document:
 * the counter's cache line stays with the delivery thread). */
#include <inttypes.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "aws_credentials.h"
#include "cli.h"
#include "exclude.h"
#include "geoip.h"
#include "ingest.h"
#include "kafka_source.h"
#include "metrics.h"
#include "monitor.h"
#include "producer.h"
#include "retry_route.h"
#include "s3_client.h"
#include "s3_event.h"
#include "stage_common.h"
#include "stage_normalize.h"
#include "timeparse.h"
#include "workqueue.h"

#define ATOMIC_FIELD(name) _Atomic uint64_t name;
#define CADD(field, n) atomic_fetch_add_explicit(&(field), (uint64_t)(n), memory_order_relaxed)
#define MAX_REGIONS 8
#define HOLD (1L << 62)             /* more than a worker can ever send for one message */

struct nmsg {                        /* one raw message in flight */
    struct ks_msg km;                /* first: allocated by kafka_source */
    struct producer_done pd;
    struct nstage *st;
    atomic_long pending;
    atomic_int lost;                 /* an output was refused by both topics */
    atomic_int abandoned;            /* cancelled half-way by a revoke or shutdown */
    const rd_kafka_headers_t *hdrs;  /* parsed once by the worker, read-only afterwards */
};

struct type_ctr { _Atomic uint64_t parsed, skipped, failed; };

struct region_client {
    char region[32];
    struct s3_client *c;
};

struct nworker {
    struct nstage *st;
    struct normalizer *nz;
    struct ingest *ig;
    struct region_client s3[MAX_REGIONS];
    int ns3;
    buf_t doc, b64, origin_base, origin;
    struct nmsg *cur;
    long sent;                       /* documents of cur accepted by the producer */
    struct ingest_object obj;        /* the S3 object being read, for restarts */
    const struct schema *last_sc;    /* cache of type_of() */
    struct type_ctr *last_ctr;
    struct { NORMALIZE_COUNTERS(ATOMIC_FIELD) } c;
    struct type_ctr *by_type;        /* set.n + 1 */
};

struct nstage {
    const struct config *cfg;
    struct schema_set set;
    int schemas_loaded;
    struct geoip *geo;
    struct exclusions *ex;           /* operator rules, loaded once, shared read-only by the workers */
    struct aws_cred_provider *creds;
    char s3_region[32];
    struct producer *prod;
    rd_kafka_topic_t *out_t, *retry_t;
    struct kafka_source *ks;
    struct workqueue *wq;
    struct nworker *w;
    int nw;
    struct { NORMALIZE_DELIVERY_COUNTERS(ATOMIC_FIELD) } d;
    struct monitor *mon;
    struct mseries *s3_duration, *s3_retriable, *s3_fatal;   /* siemproc_s3_get_* */
    int64_t last_summary_ms;
    uint64_t last_parsed;
};

/* ---- completion ---------------------------------------------------------- */

static void release_n(struct nmsg *m, long n)
{
    if (atomic_fetch_sub(&m->pending, n) != n) return;
    struct kafka_source *ks = m->st->ks;
    if (atomic_load(&m->lost)) {
        kafka_source_fail(ks, "an output was refused by both the output and the retry topic");
        kafka_source_drop(ks, &m->km);
    } else if (atomic_load(&m->abandoned)) {
        kafka_source_drop(ks, &m->km);
    } else {
        kafka_source_done(ks, &m->km);
    }
}

/* Route to the retry topic on behalf of raw message m; ri's origin.* are filled here. */
static int send_retry(struct nmsg *m, struct retry_info *ri, const void *key, size_t klen, const void *value,
                      size_t vlen)
{
    const rd_kafka_message_t *rkm = m->km.rkm;
    ri->origin_topic = rd_kafka_topic_name(rkm->rkt);
    ri->origin_partition = rkm->partition;
    ri->origin_offset = rkm->offset;
    ri->prev = m->hdrs;
    atomic_fetch_add(&m->pending, 1);
    int err = retry_route_send(m->st->prod, m->st->retry_t, ri, key, klen, value, vlen, &m->pd);
    if (!err) return 0;
    atomic_fetch_sub(&m->pending, 1);
    if (err == RD_KAFKA_RESP_ERR__DESTROY) {     /* shutting down past the deadline: the next owner redoes it */
        atomic_store(&m->abandoned, 1);
        return err;
    }
    atomic_store(&m->lost, 1);
    CADD(m->st->d.outputs_lost, 1);
    fprintf(stderr, "siemproc: retry topic refused a message from %s [%" PRId32 "] @%" PRId64 ": %s\n",
            ri->origin_topic, ri->origin_partition, ri->origin_offset, rd_kafka_err2str(err));
    return err;
}

/* A document the output topic refused goes to the retry topic with its headers. */
static void reroute_doc(struct nmsg *m, const rd_kafka_message_t *rkm)
{
    rd_kafka_headers_t *h = NULL;
    char idx[192], type[64], origin[2048];
    rd_kafka_message_headers(rkm, &h);
    struct retry_info ri = { .error_type = RETRY_DELIVERY, .error_message = rd_kafka_err2str(rkm->err),
                             .origin = retry_header(h, "origin", origin, sizeof origin),
                             .log_type = retry_header(h, "log_type", type, sizeof type),
                             .index = retry_header(h, "index", idx, sizeof idx) };
    if (send_retry(m, &ri, rkm->key, rkm->key_len, rkm->payload, rkm->len) == 0) CADD(m->st->d.docs_rerouted, 1);
}

static void on_delivered(struct producer_done *d, const rd_kafka_message_t *rkm)
{
    struct nmsg *m = (struct nmsg *)((char *)d - offsetof(struct nmsg, pd));
    struct nstage *st = m->st;
    /* The handle we produced with comes back: compare names only when it is not the output topic's. */
    int to_retry = rkm->rkt != st->out_t && strcmp(rd_kafka_topic_name(rkm->rkt), st->cfg->retry_topic) == 0;
    if (!rkm->err && to_retry) {
        CADD(st->d.retry_out, 1);
    } else if (!rkm->err) {
        CADD(st->d.docs_out, 1);
        CADD(st->d.doc_bytes_out, rkm->len);
    } else if (!to_retry) {
        reroute_doc(m, rkm);
    } else {
        atomic_store(&m->lost, 1);
        CADD(st->d.outputs_lost, 1);
        fprintf(stderr, "siemproc: retry topic: delivery failed: %s\n", rd_kafka_err2str(rkm->err));
    }
    release_n(m, 1);
}

/* ---- records: ingest callbacks ---------------------------------------------- */

static struct type_ctr *type_of(struct nworker *w, const struct schema *sc)
{
    if (sc == w->last_sc && w->last_ctr) return w->last_ctr;
    int i = 0;
    while (i < w->st->set.n && w->st->set.v[i] != sc) i++;
    w->last_sc = sc;
    return w->last_ctr = &w->by_type[i];
}

/* origin_base#line, once per document (no printf: it showed in profiles). */
static const char *origin_of(struct nworker *w, uint64_t line)
{
    char digits[20];
    size_t n = sizeof digits;
    do { digits[--n] = (char)('0' + line % 10); line /= 10; } while (line);
    buf_reset(&w->origin);
    buf_append(&w->origin, w->origin_base.data, w->origin_base.len);
    buf_putc(&w->origin, '#');
    buf_append(&w->origin, digits + n, sizeof digits - n);
    return buf_cstr(&w->origin);
}

static int send_doc(struct nworker *w, const struct ingest_event *ev)
{
    struct nmsg *m = w->cur;
    const char *origin = origin_of(w, ev->line), *id = ev->res->id;
    struct producer_header h[3] = { { "index", ev->res->index, strlen(ev->res->index) },
                                    { "log_type", ev->schema->name, strlen(ev->schema->name) },
                                    { "origin", origin, w->origin.len } };
    int err = producer_send(w->st->prod, w->st->out_t, id, strlen(id), w->doc.data, w->doc.len, h, 3, &m->pd);
    if (!err) {
        w->sent++;
        return 0;
    }
    if (err == RD_KAFKA_RESP_ERR__DESTROY) {
        atomic_store(&m->abandoned, 1);
        return 1;
    }
    struct retry_info ri = { .error_type = RETRY_DELIVERY, .error_message = rd_kafka_err2str(err),
                             .origin = origin, .log_type = ev->schema->name, .index = ev->res->index };
    if (send_retry(m, &ri, id, strlen(id), w->doc.data, w->doc.len)) return 1;
    CADD(w->st->d.docs_rerouted, 1);
    return 0;
}

static int on_doc(void *arg, const struct ingest_event *ev)
{
    struct nworker *w = arg;
    buf_reset(&w->doc);
    doc_emit(ev->doc, &w->doc);
    CADD(type_of(w, ev->schema)->parsed, 1);
    return send_doc(w, ev);
}

static void on_skip(void *arg, const struct ingest_event *ev)
{
    struct nworker *w = arg;
    CADD(type_of(w, ev->schema)->skipped, 1);
    if (!ev->message) return;
    if (strcmp(ev->message, NORM_REASON_EXCLUDED) == 0) CADD(w->c.excluded, 1);
    else if (strcmp(ev->message, NORM_REASON_OWN_ACCESS) == 0) CADD(w->c.own_access, 1);
}

static void on_fail(void *arg, const struct ingest_event *ev)
{
    struct nworker *w = arg;
    const rd_kafka_message_t *rkm = w->cur->km.rkm;
    CADD(type_of(w, ev->schema)->failed, 1);
    struct retry_info ri = { .error_type = RETRY_PARSE, .error_message = ev->message,
                             .origin = origin_of(w, ev->line), .log_type = ev->schema ? ev->schema->name : NULL };
    const char *raw = ev->rec && ev->rec->raw ? ev->rec->raw : "";
    send_retry(w->cur, &ri, rkm->key, rkm->key_len, raw, ev->rec && ev->rec->raw ? ev->rec->raw_len : 0);
}

/* The whole raw message goes to the retry topic (an object or payload failed). */
static void route_message(struct nworker *w, const char *type, const char *why, const char *log_type)
{
    const rd_kafka_message_t *rkm = w->cur->km.rkm;
    struct retry_info ri = { .error_type = type, .error_message = why, .origin = buf_cstr(&w->origin_base),
                             .log_type = log_type };
    send_retry(w->cur, &ri, rkm->key, rkm->key_len, rkm->payload, rkm->len);
}

/* ---- S3 objects --------------------------------------------------------------- */

static struct s3_client *client_for(struct nworker *w, const char *region)
{
    const struct config *cfg = w->st->cfg;
    if (!region[0] || cfg->s3_endpoint[0] || cfg->s3_region[0]) region = w->st->s3_region;
    for (int i = 0; i < w->ns3; i++)
        if (strcmp(w->s3[i].region, region) == 0) return w->s3[i].c;
    /* The user agent is own_user_agent: the one ignore_own_logs recognises in CloudTrail and S3 access logs. */
    struct s3_options o = { .region = region, .endpoint = cfg->s3_endpoint[0] ? cfg->s3_endpoint : NULL,
                            .style = cfg->s3_path_style ? S3_STYLE_PATH : S3_STYLE_AUTO, .creds = w->st->creds,
                            .ca_file = cfg->s3_ca_file[0] ? cfg->s3_ca_file : NULL,
                            .user_agent = cfg->own_user_agent };
    char err[256];
    struct s3_client *c = s3_client_new(&o, err, sizeof err);
    if (!c) {
        fprintf(stderr, "siemproc: s3 client for region %s: %s\n", region, err);
        return NULL;
    }
    int slot = w->ns3 < MAX_REGIONS ? w->ns3++ : MAX_REGIONS - 1;
    if (w->s3[slot].c) s3_client_free(w->s3[slot].c);
    snprintf(w->s3[slot].region, sizeof w->s3[slot].region, "%s", region);
    return w->s3[slot].c = c;
}

static int on_chunk(const void *data, size_t len, void *arg)
{
    struct nworker *w = arg;
    CADD(w->c.object_bytes, len);
    if (kafka_source_cancelled(w->st->ks, &w->cur->km)) {
        atomic_store(&w->cur->abandoned, 1);
        return 1;
    }
    return ingest_feed(w->ig, data, len) < 0;
}

/* A cut transfer is read again from the start: documents repeat with the same ids. */
static int on_restart(void *arg, int next_attempt)
{
    struct nworker *w = arg;
    (void)next_attempt;
    if (kafka_source_cancelled(w->st->ks, &w->cur->km)) return 1;
    CADD(w->c.object_restarts, 1);
    ingest_end(w->ig);
    return ingest_begin(w->ig, &w->obj) < 0;
}

static const char *s3_error_type(const struct s3_result *r)
{
    if (r->cls == S3_RETRIABLE) return RETRY_S3_UNAVAILABLE;
    return r->http_status == 404 ? RETRY_S3_NOT_FOUND : RETRY_S3_FORBIDDEN;
}

/* After the GET: route what failed, count what was skipped. */
static void object_outcome(struct nworker *w, const struct s3_result *res, int st)
{
    char why[768];
    const struct schema *sc = ingest_current_schema(w->ig);
    if (atomic_load(&w->cur->abandoned) || st == INGEST_ABORTED) return;
    if (res->cls != S3_OK && !res->aborted) {
        snprintf(why, sizeof why, "%s (%d attempt%s)", res->error, res->attempts, res->attempts == 1 ? "" : "s");
        CADD(w->c.objects_failed, 1);
        mseries_inc(res->cls == S3_RETRIABLE ? w->st->s3_retriable : w->st->s3_fatal);
        route_message(w, s3_error_type(res), why, NULL);
    } else if (st == INGEST_ERR_IO || st == INGEST_ERR_TYPE) {
        CADD(w->c.objects_failed, 1);
        route_message(w, st == INGEST_ERR_IO ? RETRY_CORRUPT : RETRY_UNKNOWN_TYPE, ingest_error(w->ig),
                      sc ? sc->name : NULL);
    } else if (st == INGEST_SKIPPED) {
        CADD(w->c.objects_skipped, 1);
    }
}

static void process_object(struct nworker *w, const struct s3_event_object *o)
{
    const struct config *cfg = w->st->cfg;
    int skip = 0;
    CADD(w->c.objects, 1);
    buf_reset(&w->origin_base);
    buf_printf(&w->origin_base, "s3://%s/%s", o->bucket, o->key);
    schema_detect_s3_key(&w->st->set, o->key, &skip);
    if (skip) {                      /* not log data (a CloudTrail digest): no need to fetch it */
        CADD(w->c.objects_skipped, 1);
        return;
    }
    struct s3_client *c = client_for(w, o->region);
    struct s3_result res = { 0 };
    w->obj = (struct ingest_object){ .s3_key = o->key, .origin = buf_cstr(&w->origin_base), .delivery_ms = o->time_ms };
    ingest_begin(w->ig, &w->obj);
    if (c) {
        struct s3_retry_policy pol = { (int)cfg->s3_max_attempts, cfg->s3_retry_base_ms, cfg->s3_retry_max_ms };
        double t0 = metrics_clock_s();
        s3_get_object_retry(c, o->bucket, o->key, on_chunk, on_restart, w, &pol, &res);
        mseries_observe(w->st->s3_duration, metrics_clock_s() - t0);
    } else {
        res = (struct s3_result){ .cls = S3_FATAL, .attempts = 0 };
        snprintf(res.error, sizeof res.error, "no S3 client for region \"%s\"", o->region);
    }
    object_outcome(w, &res, ingest_end(w->ig));
}

static void process_notification(struct nworker *w, const struct s3_event *ev)
{
    CADD(w->c.notifications, 1);
    CADD(w->c.events_skipped, ev->skipped);
    for (int i = 0; i < ev->n && !atomic_load(&w->cur->abandoned) && !atomic_load(&w->cur->lost); i++)
        process_object(w, &ev->obj[i]);
}

/* ---- Kafka payloads: CloudWatch Logs and raw records ----------------------------- */

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Base64 (line breaks allowed) into out; -1 on anything else. */
static int b64_decode(const char *s, size_t n, buf_t *out)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t i = 0;
    buf_reset(out);
    buf_reserve(out, n / 4 * 3 + 3);
    for (; i < n && s[i] != '='; i++) {
        if (s[i] == '\n' || s[i] == '\r') continue;
        int v = b64val((unsigned char)s[i]);
        if (v < 0) return -1;
        acc = acc << 6 | (uint32_t)v;
        if ((bits += 6) >= 8) { bits -= 8; out->data[out->len++] = (char)(acc >> bits & 0xff); }
    }
    while (i < n && (s[i] == '=' || s[i] == '\n' || s[i] == '\r' || s[i] == ' ')) i++;
    return i == n ? 0 : -1;
}

/* Firehose and Kinesis hand CloudWatch Logs payloads over base64-encoded: a
 * payload is decoded when its first bytes decode to gzip or a JSON object. */
static void maybe_base64(struct nworker *w, const char **data, size_t *len)
{
    const char *s = *data;
    size_t n = *len;
    while (n && (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')) { s++; n--; }
    if (n < 8 || b64_decode(s, 4, &w->b64) < 0 || w->b64.len < 2) return;
    unsigned char b0 = (unsigned char)w->b64.data[0], b1 = (unsigned char)w->b64.data[1];
    if (!(b0 == 0x1f && b1 == 0x8b) && b0 != '{') return;
    if (b64_decode(s, n, &w->b64) < 0) return;
    *data = w->b64.data;
    *len = w->b64.len;
}

static int looks_like_cwl(const char *d, size_t n)
{
    return (n >= 2 && (unsigned char)d[0] == 0x1f && (unsigned char)d[1] == 0x8b) ||
           memmem(d, n < 4096 ? n : 4096, "\"logEvents\"", 11);
}

static void payload_outcome(struct nworker *w, int st, const char *type, int cwl)
{
    const struct schema *sc = ingest_current_schema(w->ig);
    if (st == INGEST_SKIPPED) {
        CADD(w->c.payloads_skipped, 1);
    } else if (st == INGEST_ERR_IO) {
        CADD(w->c.payloads_failed, 1);
        route_message(w, RETRY_CORRUPT, ingest_error(w->ig), sc ? sc->name : type);
    } else if (st == INGEST_ERR_TYPE) {
        char why[512];
        CADD(w->c.unknown_payloads, 1);
        if (!type && !cwl)
            snprintf(why, sizeof why, "neither an S3 notification nor a CloudWatch Logs payload, and topic %s has "
                     "no log_type header or topic_types entry", rd_kafka_topic_name(w->cur->km.rkm->rkt));
        route_message(w, type || cwl ? RETRY_UNKNOWN_TYPE : RETRY_UNKNOWN, type || cwl ? ingest_error(w->ig) : why, type);
    }
}

/* type: from the log_type header or topic_types, or NULL (CloudWatch Logs
 * payloads name their log group). The id origin of a record without an id of
 * its own is topic/partition/offset, so a replay of the same offsets repeats ids. */
static void process_payload(struct nworker *w, const char *type)
{
    const rd_kafka_message_t *rkm = w->cur->km.rkm;
    const char *data = rkm->payload ? rkm->payload : "";
    size_t len = rkm->len;
    maybe_base64(w, &data, &len);
    int cwl = looks_like_cwl(data, len);
    CADD(*(cwl ? &w->c.cwl_payloads : &w->c.raw_messages), 1);
    buf_reset(&w->origin_base);
    buf_printf(&w->origin_base, "%s/%" PRId32 "/%" PRId64, rd_kafka_topic_name(rkm->rkt), rkm->partition, rkm->offset);
    int64_t ts = rd_kafka_message_timestamp(rkm, NULL);
    struct ingest_object obj = { .type = type, .s3_key = type ? buf_cstr(&w->origin_base) : NULL,
                                 .origin = buf_cstr(&w->origin_base), .delivery_ms = ts > 0 ? ts : 0,
                                 .key_is_local = 1 };
    if (ingest_begin(w->ig, &obj) == 0) ingest_feed(w->ig, data, len);
    payload_outcome(w, ingest_end(w->ig), type, cwl);
}

/* ---- one raw message ------------------------------------------------------------- */

static const char *type_for(struct nworker *w, char *buf, size_t n)
{
    const rd_kafka_message_t *rkm = w->cur->km.rkm;
    const char *t = retry_header(w->cur->hdrs, "log_type", buf, n);
    return t ? t : config_map_get(w->st->cfg->topic_types, rd_kafka_topic_name(rkm->rkt), buf, n);
}

static void process(struct nworker *w)
{
    const rd_kafka_message_t *rkm = w->cur->km.rkm;
    char type[128];
    struct s3_event ev;
    CADD(w->c.messages, 1);
    CADD(w->c.bytes_in, rkm->len);
    if (rkm->payload && s3_event_parse(rkm->payload, rkm->len, &ev)) {
        process_notification(w, &ev);
        s3_event_free(&ev);
    } else {
        process_payload(w, type_for(w, type, sizeof type));
    }
}

static void work(void *ctx, void *item)
{
    struct nworker *w = ctx;
    struct nmsg *m = item;
    struct kafka_source *ks = w->st->ks;
    if (!kafka_source_begin(ks, &m->km)) {
        kafka_source_drop(ks, &m->km);
        return;
    }
    rd_kafka_headers_t *h = NULL;
    rd_kafka_message_headers(m->km.rkm, &h);   /* parsed here, once, before other threads read them */
    m->hdrs = h;
    m->st = w->st;
    m->pd.fn = on_delivered;
    atomic_store(&m->pending, HOLD);
    w->cur = m;
    w->sent = 0;
    process(w);
    w->cur = NULL;
    release_n(m, HOLD - w->sent);
}

static int dispatch(void *arg, struct ks_msg *km)
{
    struct nstage *st = arg;
    return workqueue_try_push(st->wq, km);
}

/* ---- counters ---------------------------------------------------------------------- */

void stage_normalize_counters(struct nstage *st, struct normalize_counters *out)
{
    memset(out, 0, sizeof *out);
    out->ntypes = st->set.n;
    out->type_names = xcalloc((size_t)st->set.n + 1, sizeof *out->type_names);
    out->by_type = xcalloc((size_t)st->set.n + 1, sizeof *out->by_type);
    for (int t = 0; t <= st->set.n; t++) out->type_names[t] = t < st->set.n ? st->set.v[t]->name : "unknown";
#define SUM(name) out->name += atomic_load_explicit(&w->c.name, memory_order_relaxed);
    for (int i = 0; i < st->nw; i++) {
        struct nworker *w = &st->w[i];
        NORMALIZE_COUNTERS(SUM)
        for (int t = 0; t <= st->set.n; t++) {
            out->by_type[t].parsed += atomic_load_explicit(&w->by_type[t].parsed, memory_order_relaxed);
            out->by_type[t].skipped += atomic_load_explicit(&w->by_type[t].skipped, memory_order_relaxed);
            out->by_type[t].failed += atomic_load_explicit(&w->by_type[t].failed, memory_order_relaxed);
        }
    }
#undef SUM
#define COPY(name) out->name = atomic_load_explicit(&st->d.name, memory_order_relaxed);
    NORMALIZE_DELIVERY_COUNTERS(COPY)
#undef COPY
}

void normalize_counters_free(struct normalize_counters *c)
{
    free(c->type_names);
    free(c->by_type);
    memset(c, 0, sizeof *c);
}

static void print_summary(struct nstage *st, int per_type)
{
    struct normalize_counters c;
    struct kafka_source_stats ks;
    stage_normalize_counters(st, &c);
    kafka_source_get_stats(st->ks, &ks);
    uint64_t parsed = 0, skipped = 0, failed = 0;
    for (int t = 0; t <= c.ntypes; t++) {
        parsed += c.by_type[t].parsed;
        skipped += c.by_type[t].skipped;
        failed += c.by_type[t].failed;
    }
    int64_t now = ts_now_ms();
    double secs = st->last_summary_ms ? (double)(now - st->last_summary_ms) / 1000.0 : 0;
    fprintf(stderr,
            "siemproc: normalize: messages=%" PRIu64 " notifications=%" PRIu64 " objects=%" PRIu64 " objects_skipped=%" PRIu64
            " objects_failed=%" PRIu64 " cwl=%" PRIu64 " raw=%" PRIu64 " unknown=%" PRIu64 " records: parsed=%" PRIu64
            " skipped=%" PRIu64 " excluded=%" PRIu64 " own_access=%" PRIu64 " failed=%" PRIu64 " out: docs=%" PRIu64 " retry=%" PRIu64 " lost=%" PRIu64
            " bytes_in=%" PRIu64 " object_bytes=%" PRIu64 " doc_bytes=%" PRIu64 " inflight=%ld paused=%d"
            " partitions=%d rate=%.0f/s\n",
            c.messages, c.notifications, c.objects, c.objects_skipped, c.objects_failed, c.cwl_payloads, c.raw_messages,
            c.unknown_payloads, parsed, skipped, c.excluded, c.own_access, failed, c.docs_out, c.retry_out, c.outputs_lost, c.bytes_in,
            c.object_bytes, c.doc_bytes_out, ks.inflight, ks.paused, ks.assigned,
            secs > 0 ? (double)(parsed - st->last_parsed) / secs : 0.0);
    for (int t = 0; per_type && t <= c.ntypes; t++)
        if (c.by_type[t].parsed || c.by_type[t].skipped || c.by_type[t].failed)
            fprintf(stderr, "siemproc: normalize: type=%s parsed=%" PRIu64 " skipped=%" PRIu64 " failed=%" PRIu64 "\n",
                    c.type_names[t], c.by_type[t].parsed, c.by_type[t].skipped, c.by_type[t].failed);
    st->last_summary_ms = now;
    st->last_parsed = parsed;
    normalize_counters_free(&c);
}

static void tick(void *arg)
{
    struct nstage *st = arg;
    long every = st->cfg->summary_interval_s * 1000;
    if (every > 0 && ts_now_ms() - st->last_summary_ms >= every) print_summary(st, 0);
}

/* ---- life cycle -------------------------------------------------------------------- */

static int validate(const struct config *cfg, const struct schema_set *set, char *err, size_t n)
{
    static const char *const required[] = { "brokers", "topics", "output_topic", "retry_topic", "own_user_agent",
                                            NULL };
    if (config_require(cfg, required, err, n) < 0) return -1;
    if (strcmp(cfg->output_topic, cfg->retry_topic) == 0) {
        snprintf(err, n, "retry_topic: \"%s\" must differ from output_topic", cfg->retry_topic);
        return -1;
    }
    char *copy = xstrdup(cfg->topic_types), *save = NULL;
    int rc = 0;
    for (char *e = strtok_r(copy, ",", &save); e && rc == 0; e = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(e, '='), *type = eq ? eq + 1 : NULL;
        while (type && *type == ' ') type++;
        for (char *end = type ? type + strlen(type) : NULL; end && end > type && end[-1] == ' ';) *--end = 0;
        if (!eq || eq == e || !*type) {
            snprintf(err, n, "topic_types: \"%s\" is not topic=type", e);
            rc = -1;
        } else if (!schema_find(set, type)) {
            snprintf(err, n, "topic_types: unknown log type \"%s\" (see `siemproc types`)", type);
            rc = -1;
        }
    }
    free(copy);
    return rc;
}

static int start_producer(struct nstage *st, char *err, size_t n)
{
    const struct config *cfg = st->cfg;
    if (!(st->prod = stage_producer_new(cfg, err, n))) return -1;
    st->out_t = producer_topic(st->prod, cfg->output_topic);
    st->retry_t = producer_topic(st->prod, cfg->retry_topic);
    if (stage_check_topic(st->prod, cfg->output_topic, "output_topic", err, n) < 0) return -1;
    return stage_check_topic(st->prod, cfg->retry_topic, "retry_topic", err, n);
}

static int start_workers(struct nstage *st, char *err, size_t n)
{
    const struct config *cfg = st->cfg;
    struct normalizer_opts no = { .geoip = st->geo, .keep_original = cfg->keep_original,
                                  .index_prefix = cfg->index_prefix[0] ? cfg->index_prefix : NULL, .exclude = st->ex,
                                  .own_user_agent = cfg->ignore_own_logs ? cfg->own_user_agent : NULL };
    struct ingest_cb cb = { on_doc, on_skip, on_fail };
    st->nw = (int)cfg->workers;
    st->w = xcalloc((size_t)st->nw, sizeof *st->w);
    void **ctxs = xcalloc((size_t)st->nw, sizeof *ctxs);
    for (int i = 0; i < st->nw; i++) {
        struct nworker *w = &st->w[i];
        w->st = st;
        w->nz = normalizer_new(&no);
        w->ig = ingest_new(&st->set, w->nz, &cb, w);
        w->by_type = xcalloc((size_t)st->set.n + 1, sizeof *w->by_type);
        buf_init(&w->doc);
        buf_init(&w->b64);
        buf_init(&w->origin_base);
        buf_init(&w->origin);
        ctxs[i] = w;
    }
    st->wq = workqueue_new((size_t)cfg->max_inflight + 64, st->nw, work, ctxs, err, n);
    free(ctxs);
    return st->wq ? 0 : -1;
}

static void resolve_s3_region(struct nstage *st)
{
    const struct config *cfg = st->cfg;
    const char *r = cfg->s3_region[0] ? cfg->s3_region : cfg->aws_region;
    if (r[0]) snprintf(st->s3_region, sizeof st->s3_region, "%s", r);
    else if (aws_resolve_region(cfg->aws_profile[0] ? cfg->aws_profile : NULL, st->s3_region, sizeof st->s3_region))
        snprintf(st->s3_region, sizeof st->s3_region, "us-east-1");
}

/* Gauges, readiness, lag and GeoIP reloads (monitor.h); the S3 series the workers observe. */
static int start_monitor(struct nstage *st, const char *group, char *err, size_t n)
{
    const struct siemproc_metrics *m = metrics_std();
    st->s3_duration = metric_get(m->s3_get_duration, NULL);
    st->s3_retriable = METRIC_GET(m->s3_get_errors, "retriable");
    st->s3_fatal = METRIC_GET(m->s3_get_errors, "fatal");
    struct monitor_opts mo = monitor_stage_opts(st->cfg, "normalize", st->ks, group, st->cfg->topics);
    mo.wq = st->wq;
    mo.geoip = st->geo;
    st->mon = monitor_start(&mo, err, n);
    return st->mon ? 0 : -1;
}

static int load_exclusions(struct nstage *st, char *err, size_t n)
{
    const char *path = st->cfg->exclude_file;
    char why[512];
    if (!path[0]) return 0;
    if ((st->ex = exclusions_load(path, &st->set, why, sizeof why))) return 0;
    snprintf(err, n, "exclude_file: %s", why);
    return -1;
}

static int start(struct nstage *st, char *err, size_t n)
{
    const struct config *cfg = st->cfg;
    if (cli_load_schemas_cfg(&st->set, cfg) < 0) {
        snprintf(err, n, "schemas: cannot load the log type schemas");
        return -1;
    }
    st->schemas_loaded = 1;
    if (validate(cfg, &st->set, err, n) < 0) return -1;
    if (cfg->geoip_dir[0] && !(st->geo = geoip_open(cfg->geoip_dir, err, n))) return -1;
    if (load_exclusions(st, err, n) < 0) return -1;
    resolve_s3_region(st);
    struct aws_cred_options co = { .profile = cfg->aws_profile[0] ? cfg->aws_profile : NULL, .region = st->s3_region };
    st->creds = aws_cred_provider_new(&co);
    if (start_producer(st, err, n) < 0 || start_workers(st, err, n) < 0) return -1;
    char group[256];
    snprintf(group, sizeof group, "%s", cfg->group[0] ? cfg->group : "siemproc-normalize");
    struct kafka_source_opts ko = { .group = group, .topics = cfg->topics, .msg_size = sizeof(struct nmsg),
                                    .dispatch = dispatch, .tick = tick, .arg = st };
    if (!(st->ks = kafka_source_new(cfg, &ko, err, n))) return -1;
    return start_monitor(st, group, err, n);
}

struct nstage *stage_normalize_new(const struct config *cfg, char *err, size_t errlen)
{
    struct nstage *st = xcalloc(1, sizeof *st);
    st->cfg = cfg;
    if (start(st, err, errlen) < 0) {
        stage_normalize_free(st);
        return NULL;
    }
    st->last_summary_ms = ts_now_ms();
    return st;
}

int stage_normalize_run(struct nstage *st)
{
    const struct config *cfg = st->cfg;
    fprintf(stderr, "siemproc: normalize: %d worker(s), topics %s -> %s (retry %s), %d exclusion rule(s)%s%s\n",
            st->nw, cfg->topics, cfg->output_topic, cfg->retry_topic, exclusions_count(st->ex),
            cfg->ignore_own_logs ? ", ignoring S3 reads by user agent " : "",
            cfg->ignore_own_logs ? cfg->own_user_agent : "");
    int rc = kafka_source_run(st->ks);
    monitor_stop(st->mon);     /* the consumer is closed: nothing left to watch */
    st->mon = NULL;
    char err[512];
    if (producer_fatal(st->prod, err, sizeof err)) {
        fprintf(stderr, "siemproc: kafka producer: fatal: %s\n", err);
        rc = 1;
    }
    print_summary(st, 1);
    return rc;
}

void stage_normalize_stop(struct nstage *st) { kafka_source_stop(st->ks); }

static void free_worker(struct nworker *w)
{
    ingest_free(w->ig);
    normalizer_free(w->nz);
    for (int i = 0; i < w->ns3; i++) s3_client_free(w->s3[i].c);
    free(w->by_type);
    buf_free(&w->doc);
    buf_free(&w->b64);
    buf_free(&w->origin_base);
    buf_free(&w->origin);
}

/* Order matters: a worker still busy after the shutdown deadline must not wait
 * for producer queue space; workers stop (queued messages are dropped), the
 * producer completes or purges what it holds, then the consumer goes. */
void stage_normalize_free(struct nstage *st)
{
    if (!st) return;
    monitor_stop(st->mon);     /* it reads the queue, the consumer and the GeoIP handle */
    if (st->prod) producer_close(st->prod);
    workqueue_free(st->wq);
    producer_free(st->prod);
    kafka_source_free(st->ks);
    for (int i = 0; i < st->nw; i++) free_worker(&st->w[i]);
    free(st->w);
    aws_cred_provider_destroy(st->creds);
    if (st->geo) geoip_close(st->geo);
    exclusions_free(st->ex);
    if (st->schemas_loaded) schema_set_free(&st->set);
    free(st);
}
