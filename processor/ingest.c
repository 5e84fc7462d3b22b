/* ingest: see ingest.h.
 *
 * The first decoded bytes decide what the object is: CloudWatch Logs
 * subscription payloads (JSON documents with "logEvents"; Firehose writes
 * several back to back, each with its own log group) or log data. Both are
 * streamed through a framer: payloads one document at a time, log data one
 * record at a time. Type detection follows: forced type, else the S3 key,
 * else the log group. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "decode.h"
#include "framer.h"
#include "ingest.h"
#include "jscan.h"

#define SNIFF_BYTES 4096

enum mode { MODE_SNIFF, MODE_STREAM, MODE_CWL, MODE_DEAD };

struct ingest {
    const struct schema_set *set;
    struct normalizer *nz;
    struct ingest_cb cb;
    void *arg;
    struct ingest_stats stats;
    /* Current object. */
    struct ingest_object obj;
    enum mode mode;
    int status;
    int skipped_object;
    uint64_t cwl_data, cwl_control;   /* payloads of each kind in this object */
    uint64_t cwl_event;               /* log events so far: their "line" in messages */
    char err[256];
    struct decoder dec;
    struct framer fr;
    int framer_live;             /* fr frames the current object (it is kept initialised between objects) */
    buf_t sniff;                 /* the first bytes, until the object's kind is known */
    const struct schema *sc;
    void *pstate;
    struct stream_info si;
    uint64_t ordinal;
    struct record rec;
    struct norm_result res;
    struct jscan cwl;
    buf_t msg;                   /* one unescaped CWL message */
};

static int on_decoded(void *arg, const char *data, size_t len);

struct ingest *ingest_new(const struct schema_set *set, struct normalizer *nz, const struct ingest_cb *cb, void *arg)
{
    struct ingest *ig = xcalloc(1, sizeof *ig);
    ig->set = set;
    ig->nz = nz;
    ig->cb = *cb;
    ig->arg = arg;
    ig->stats.by_type = xcalloc((size_t)set->n + 1, sizeof *ig->stats.by_type);
    buf_init(&ig->sniff);
    buf_init(&ig->msg);
    jscan_init(&ig->cwl);
    framer_init(&ig->fr, FRAME_LINES, NULL, NULL, NULL, NULL);   /* each object restarts them: memory is reused */
    decoder_init(&ig->dec, on_decoded, ig);
    return ig;
}

static void close_parser(struct ingest *ig)
{
    if (ig->pstate) ig->sc->parser->close(ig->pstate);
    ig->pstate = NULL;
}

static void close_stream(struct ingest *ig)
{
    close_parser(ig);
    ig->framer_live = 0;
}

void ingest_free(struct ingest *ig)
{
    if (!ig) return;
    close_stream(ig);
    framer_free(&ig->fr);
    decoder_free(&ig->dec);
    buf_free(&ig->sniff);
    buf_free(&ig->msg);
    jscan_free(&ig->cwl);
    free(ig->stats.by_type);
    free(ig);
}

const char *ingest_error(const struct ingest *ig) { return ig->err; }
const struct ingest_stats *ingest_stats(const struct ingest *ig) { return &ig->stats; }
const struct schema *ingest_current_schema(const struct ingest *ig) { return ig->sc; }

static int schema_index(const struct ingest *ig, const struct schema *sc)
{
    for (int i = 0; i < ig->set->n; i++) if (ig->set->v[i] == sc) return i;
    return ig->set->n;
}

static struct type_stats *stats_for(struct ingest *ig) { return &ig->stats.by_type[schema_index(ig, ig->sc)]; }

static int fail_object(struct ingest *ig, int status, const char *fmt, const char *detail)
{
    snprintf(ig->err, sizeof ig->err, fmt, detail);
    ig->status = status;
    ig->mode = MODE_DEAD;
    return status;
}

static void report(struct ingest *ig, int kind, uint64_t line, const char *msg)
{
    struct ingest_event ev = { ig->sc, &ig->rec, NULL, NULL, ig->obj.origin, line, msg };
    if (kind == NORM_SKIP) { stats_for(ig)->skipped++; if (ig->cb.on_skip) ig->cb.on_skip(ig->arg, &ev); }
    else { stats_for(ig)->failed++; if (ig->cb.on_fail) ig->cb.on_fail(ig->arg, &ev); }
}

static int normalize_and_emit(struct ingest *ig, uint64_t line)
{
    int rc = normalize_record(ig->nz, ig->sc, &ig->si, &ig->rec, &ig->res);
    if (rc == NORM_SKIP) { report(ig, NORM_SKIP, line, ig->rec.skip_reason); return 0; }
    if (rc == NORM_FAIL) { report(ig, NORM_FAIL, line, ig->rec.err); return 0; }
    stats_for(ig)->parsed++;
    struct ingest_event ev = { ig->sc, &ig->rec, &ig->res, normalizer_doc(ig->nz), ig->obj.origin, line, NULL };
    return ig->cb.on_doc ? ig->cb.on_doc(ig->arg, &ev) : 0;
}

/* Events packed in an array inside one record (Security Hub's detail.findings). */
static int explode(struct ingest *ig, uint64_t line)
{
    const struct jscan *js = ig->rec.json;
    int arr = jscan_path(js, ig->rec.json_root, ig->sc->json_explode, strlen(ig->sc->json_explode));
    if (arr < 0 || js->tok[arr].type != J_ARR) return normalize_and_emit(ig, line);
    if (jscan_count(js, arr) == 0) { report(ig, NORM_SKIP, line, "no events in the array"); return 0; }
    for (int e = jscan_first(js, arr); e >= 0; e = jscan_next_elem(js, arr, e)) {
        ig->rec.json_root = e;
        int r = normalize_and_emit(ig, line);
        if (r) return r;
        ig->rec.ordinal = ig->ordinal++;
    }
    return 0;
}

/* One framed record (or one CWL message). */
static int handle_record(struct ingest *ig, const char *data, size_t len, uint64_t line, int64_t ts, const char *event_id)
{
    struct record *rec = &ig->rec;
    record_clear(rec);
    rec->raw = data;
    rec->raw_len = len;
    rec->ordinal = ig->ordinal++;
    rec->delivery_ms = ts;
    rec->event_id = event_id;
    int rc = ig->sc->parser->parse(ig->pstate, data, len, rec);
    if (rc == PARSE_SKIP) {
        /* Headers and blank lines are framing, not records: they are not counted. */
        if (strcmp(rec->skip_reason, "header") && strcmp(rec->skip_reason, "empty line") &&
            strcmp(rec->skip_reason, "comment"))
            report(ig, NORM_SKIP, line, rec->skip_reason);
        return 0;
    }
    if (rc == PARSE_ERROR) { report(ig, NORM_FAIL, line, rec->err); return 0; }
    if (ig->sc->json_explode && rec->json) return explode(ig, line);
    return normalize_and_emit(ig, line);
}

static int on_frame(void *arg, const char *data, size_t len, uint64_t line)
{
    return handle_record(arg, data, len, line, 0, NULL);
}

static void open_stream(struct ingest *ig, const struct schema *sc, const char *log_group, const char *account)
{
    ig->sc = sc;
    ig->si.type = sc->name;
    ig->si.s3_key = ig->obj.s3_key;
    ig->si.log_group = log_group;
    ig->si.account_id = account;
    ig->si.key_is_local = ig->obj.key_is_local;
    ig->si.delivery_ms = ig->obj.delivery_ms ? ig->obj.delivery_ms : ts_now_ms();
    ig->pstate = sc->parser->open(sc->parser_cfg, &ig->si);
}

static const struct schema *forced_type(struct ingest *ig)
{
    return ig->obj.type ? schema_find(ig->set, ig->obj.type) : NULL;
}

/* ---- CloudWatch Logs subscription payloads ------------------------------- */

static int looks_like_cwl(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) i++;
    if (i >= n || s[i] != '{') return 0;
    size_t l = n < SNIFF_BYTES ? n : SNIFF_BYTES;
    return memmem(s, l, "\"logEvents\"", 11) && memmem(s, l, "\"messageType\"", 13);
}

static char *token_cstr(struct ingest *ig, int t, buf_t *out)
{
    buf_reset(out);
    if (t < 0 || ig->cwl.tok[t].type != J_STR) return NULL;
    const char *p = jscan_ptr(&ig->cwl, t);
    size_t n = jscan_len(&ig->cwl, t);
    buf_reserve(out, n);
    if (ig->cwl.tok[t].escaped) out->len = json_unescape(p, n, out->data);
    else memcpy(out->data, p, out->len = n);     /* most messages: no escapes, a plain copy */
    return (char *)buf_cstr(out);
}

static int cwl_events(struct ingest *ig, int events)
{
    const struct jscan *js = &ig->cwl;
    for (int e = jscan_first(js, events); e >= 0; e = jscan_next_elem(js, events, e)) {
        uint64_t n = ++ig->cwl_event;
        int m = jscan_key(js, e, "message", 7), ts = jscan_key(js, e, "timestamp", 9), id = jscan_key(js, e, "id", 2);
        int64_t ms = 0;
        if (ts >= 0) ts_parse(TS_EPOCH, jscan_ptr(js, ts), jscan_len(js, ts), NULL, &ms);
        char idbuf[128];
        size_t idlen = id >= 0 && jscan_len(js, id) < sizeof idbuf ? jscan_len(js, id) : 0;
        if (idlen) memcpy(idbuf, jscan_ptr(js, id), idlen);
        idbuf[idlen] = 0;
        if (!token_cstr(ig, m, &ig->msg)) {
            record_clear(&ig->rec);
            report(ig, NORM_FAIL, n, "CloudWatch Logs event without a message");
            continue;
        }
        int r = handle_record(ig, ig->msg.data, ig->msg.len, n, ms, idbuf[0] ? idbuf : NULL);
        if (r) return r;
    }
    return 0;
}

/* The events of one DATA_MESSAGE payload, typed by its log group. */
static int cwl_data(struct ingest *ig)
{
    const struct jscan *js = &ig->cwl;
    buf_t group, owner;
    buf_init(&group);
    buf_init(&owner);
    const char *lg = ig->obj.log_group ? ig->obj.log_group : token_cstr(ig, jscan_key(js, 0, "logGroup", 8), &group);
    const char *acct = token_cstr(ig, jscan_key(js, 0, "owner", 5), &owner);
    const struct schema *sc = forced_type(ig);
    if (!sc && lg) sc = schema_detect_log_group(ig->set, lg);
    int events = jscan_key(js, 0, "logEvents", 9), r;
    if (!sc) {
        r = fail_object(ig, INGEST_ERR_TYPE, "cannot determine the log type of log group \"%s\" (use --type)", lg ? lg : "?");
    } else if (events < 0 || js->tok[events].type != J_ARR) {
        r = fail_object(ig, INGEST_ERR_IO, "CloudWatch Logs payload without logEvents%s", "");
    } else {
        close_parser(ig);
        open_stream(ig, sc, lg, acct && acct[0] ? acct : NULL);
        r = cwl_events(ig, events);
        close_parser(ig);    /* the strings open_stream was given die here */
    }
    buf_free(&group);
    buf_free(&owner);
    return r;
}

/* Framer callback: one whole payload. */
static int cwl_payload(void *arg, const char *data, size_t len, uint64_t line)
{
    struct ingest *ig = arg;
    struct jscan *js = &ig->cwl;
    if (jscan_parse(js, data, len) < 0 || js->tok[0].type != J_OBJ) {
        char what[200];
        snprintf(what, sizeof what, "line %llu: %s", (unsigned long long)line, js->err[0] ? js->err : "not an object");
        return fail_object(ig, INGEST_ERR_IO, "invalid CloudWatch Logs payload at %s", what);
    }
    if (jscan_streq(js, jscan_key(js, 0, "messageType", 11), "CONTROL_MESSAGE")) {
        ig->cwl_control++;
        return 0;
    }
    ig->cwl_data++;
    return cwl_data(ig);
}

static int start_cwl(struct ingest *ig)
{
    ig->mode = MODE_CWL;
    framer_restart(&ig->fr, FRAME_JSON, NULL, NULL, cwl_payload, ig);
    ig->framer_live = 1;
    return 0;
}

/* ---- log data ------------------------------------------------------------ */

static int start_stream(struct ingest *ig)
{
    const struct schema *sc = forced_type(ig);
    int skip = 0;
    if (!sc && ig->obj.s3_key) sc = schema_detect_s3_key(ig->set, ig->obj.s3_key, &skip);
    if (!sc && ig->obj.log_group) sc = schema_detect_log_group(ig->set, ig->obj.log_group);
    if (skip) { ig->skipped_object = 1; ig->mode = MODE_DEAD; ig->sc = sc; return 0; }
    if (!sc)
        return fail_object(ig, INGEST_ERR_TYPE, "cannot determine the log type of \"%s\" (use --type or --s3-key)",
                           ig->obj.s3_key ? ig->obj.s3_key : ig->obj.origin ? ig->obj.origin : "input");
    open_stream(ig, sc, ig->obj.log_group, NULL);
    framer_restart(&ig->fr, sc->framing, sc->json_split, sc->has_first_line ? &sc->first_line : NULL, on_frame, ig);
    ig->framer_live = 1;
    ig->mode = MODE_STREAM;
    return 0;
}

static int to_framer(struct ingest *ig, const char *data, size_t len)
{
    int r = framer_feed(&ig->fr, data, len);
    if (r < 0 && ig->mode == MODE_DEAD) return ig->status;     /* a payload failed the object */
    if (r < 0) return fail_object(ig, INGEST_ERR_IO, "%s", ig->fr.err);
    if (r) { ig->status = INGEST_ABORTED; ig->mode = MODE_DEAD; }
    return r;
}

static int decide_mode(struct ingest *ig)
{
    int r = looks_like_cwl(ig->sniff.data, ig->sniff.len) ? start_cwl(ig) : start_stream(ig);
    if (r || (ig->mode != MODE_STREAM && ig->mode != MODE_CWL)) return r;
    r = to_framer(ig, ig->sniff.data, ig->sniff.len);
    buf_reset(&ig->sniff);
    return r;
}

/* Decoded bytes arrive here. A non-zero return stops the decoder. */
static int on_decoded(void *arg, const char *data, size_t len)
{
    struct ingest *ig = arg;
    switch (ig->mode) {
    case MODE_STREAM: case MODE_CWL: return to_framer(ig, data, len);
    case MODE_DEAD: return 0;
    case MODE_SNIFF:
        buf_append(&ig->sniff, data, len);
        return ig->sniff.len < SNIFF_BYTES ? 0 : decide_mode(ig);
    }
    return 0;
}

int ingest_begin(struct ingest *ig, const struct ingest_object *obj)
{
    close_stream(ig);
    ig->obj = *obj;
    ig->mode = MODE_SNIFF;
    ig->status = INGEST_OK;
    ig->skipped_object = 0;
    ig->cwl_data = ig->cwl_control = ig->cwl_event = 0;
    ig->err[0] = 0;
    ig->sc = NULL;
    ig->ordinal = 0;
    buf_reset(&ig->sniff);
    decoder_restart(&ig->dec);
    ig->stats.objects++;
    if (obj->type && !forced_type(ig)) return fail_object(ig, INGEST_ERR_TYPE, "unknown log type \"%s\"", obj->type);
    return 0;
}

int ingest_feed(struct ingest *ig, const void *data, size_t len)
{
    if (ig->mode == MODE_DEAD) return ig->status;
    ig->stats.bytes_in += len;
    int r = decoder_feed(&ig->dec, data, len);
    if (r < 0 && ig->mode != MODE_DEAD) return fail_object(ig, INGEST_ERR_IO, "%s", ig->dec.err);
    return ig->mode == MODE_DEAD && ig->status < 0 ? ig->status : 0;
}

static int finish_object(struct ingest *ig)
{
    if (ig->mode != MODE_DEAD && decoder_finish(&ig->dec) < 0) fail_object(ig, INGEST_ERR_IO, "%s", ig->dec.err);
    if (ig->mode == MODE_SNIFF && decide_mode(ig) < 0) return ig->status;
    if (ig->mode == MODE_STREAM || ig->mode == MODE_CWL) {
        int r = framer_finish(&ig->fr);
        if (r < 0 && ig->mode != MODE_DEAD) fail_object(ig, INGEST_ERR_IO, "%s", ig->fr.err);
        else if (r > 0) ig->status = INGEST_ABORTED;
    }
    /* Only control messages (a subscription's health check): not log events. */
    if (ig->status == INGEST_OK && ig->cwl_control && !ig->cwl_data) ig->skipped_object = 1;
    return ig->status;
}

int ingest_end(struct ingest *ig)
{
    ig->stats.bytes_decoded += ig->dec.out_bytes;
    int st = finish_object(ig);
    close_stream(ig);
    if (st < 0) { ig->stats.objects_failed++; return st; }
    if (ig->skipped_object) { ig->stats.objects_skipped++; return INGEST_SKIPPED; }
    return INGEST_OK;
}
