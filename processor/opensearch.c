/* opensearch.c - _bulk and plain requests to OpenSearch / Elasticsearch.
 *
 * Owns: the client's CURL easy handle (reset, not recreated, between
 * requests so connections are kept alive), its zlib stream, the endpoint
 * list with the one in use, request signing, and reading bulk responses.
 * Must never: sleep or retry a failure that reached the cluster (the caller
 * owns backoff), drop an item without a result, or log.
 *
 * Failover: a transport error or a 502/503/504 marks the endpoint down for
 * endpoint_down_ms and the same request goes to the next endpoint at once;
 * every endpoint is tried at most once per call. 429 is the cluster pushing
 * back, not a node failing: it is returned, not failed over. */
#include "opensearch.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <zlib.h>

#include "aws_credentials.h"
#include "aws_sigv4.h"
#include "http_client.h"
#include "jscan.h"
#include "jsonw.h"

#define DEFAULT_CONNECT_MS 5000L
#define DEFAULT_TIMEOUT_MS 60000L
#define DEFAULT_DOWN_MS 10000L
#define RESPONSE_MAX (256u << 20)
/* Only what classification needs: keeps responses of large batches small. */
#define BULK_PATH "/_bulk?filter_path=errors%2Citems.%2A.status%2Citems.%2A.error"

struct endpoint {
    char *base;       /* scheme://host[:port][/prefix], no trailing slash */
    char *host;       /* Host header value */
    char *prefix;     /* path prefix, "" or "/x" (signed as part of the path) */
    int64_t down_until_ms;
};

struct os_client {
    struct http_conn conn;  /* one handle, reused: connections are kept alive */
    struct endpoint *ep;
    int nep, cur;
    enum os_auth auth;
    char *username, *password;
    char *service, *region;
    struct aws_cred_provider *creds;
    bool gzip;
    int gzip_level;
    long down_ms;
    z_stream zs;
    bool zs_ready;
    buf_t gz;         /* compressed body, reused */
    struct jscan js;  /* bulk response tape, reused */
};

/* One HTTP exchange as perform() sees it. */
struct exchange {
    const char *method, *path, *content_type;
    const char *body;
    size_t len;
    bool gzip;
    buf_t *resp;
    long status;
    int curl_code;
    int endpoint;
    int requests;
    size_t sent;
    char error[384];
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *dup_or_null(const char *s) { return s && *s ? xstrdup(s) : NULL; }

/* ---- classification ------------------------------------------------------ */

enum os_status os_classify_request(long http_status, int curl_code)
{
    if (curl_code != 0 || http_status == 0)
        return OS_RETRY;
    if (http_status >= 200 && http_status < 300)
        return OS_OK;
    /* 400 and 413 are about the content: bisecting finds the document at
     * fault. Everything else (401/403/404 from a misconfiguration, 429,
     * 5xx) says nothing against the documents: wait, never drop. */
    if (http_status == 400 || http_status == 413)
        return OS_FAIL;
    return OS_RETRY;
}

enum os_status os_classify_item(long http_status, const char *error_type)
{
    if ((http_status >= 200 && http_status < 300) || http_status == 409)
        return OS_OK;
    if (http_status == 429 || http_status >= 500 || http_status == 0)
        return OS_RETRY;
    /* A read-only block (flood-stage disk watermark) lifts by itself:
     * OpenSearch answers 403, Elasticsearch 429; both mean "later". */
    if (error_type && strcmp(error_type, "cluster_block_exception") == 0)
        return OS_RETRY;
    return OS_FAIL;
}

/* ---- batch --------------------------------------------------------------- */

void os_batch_init(struct os_batch *b, const char *action)
{
    memset(b, 0, sizeof *b);
    buf_init(&b->body);
    arena_init(&b->arena);
    b->action = action && !strcmp(action, "index") ? "index" : "create";
}

void os_batch_free(struct os_batch *b)
{
    arena_free(&b->arena);
    free(b->items);
    buf_free(&b->body);
    memset(b, 0, sizeof *b);
}

void os_batch_reset(struct os_batch *b)
{
    buf_reset(&b->body);
    b->n = 0;
    arena_reset(&b->arena);
}

static void grow_items(struct os_batch *b)
{
    b->cap = b->cap ? b->cap * 2 : 256;
    b->items = xrealloc(b->items, b->cap * sizeof *b->items);
}

/* Document text with CR/LF turned into spaces, appended to the body. */
static void append_one_line(buf_t *out, const char *doc, size_t len)
{
    size_t start = out->len;
    buf_append(out, doc, len);
    for (char *p = out->data + start, *end = out->data + out->len; p < end; p++) {
        p = memchr(p, '\n', (size_t)(end - p));
        if (!p)
            break;
        *p = ' ';
    }
    for (char *p = out->data + start, *end = out->data + out->len; p < end; p++) {
        p = memchr(p, '\r', (size_t)(end - p));
        if (!p)
            break;
        *p = ' ';
    }
}

static size_t trim_len(const char *s, size_t n)
{
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == '\t'))
        n--;
    return n;
}

int os_batch_add(struct os_batch *b, const char *index, size_t index_len, const char *id,
                 size_t id_len, const char *doc, size_t doc_len, void *opaque, const char **why)
{
    const char *dummy;
    why = why ? why : &dummy;
    doc_len = doc ? trim_len(doc, doc_len) : 0;
    if (!index || !index_len) {
        *why = "no target index";
        return -1;
    }
    if (!doc_len) {
        *why = "empty document";
        return -1;
    }
    if (b->n == b->cap)
        grow_items(b);
    struct os_item *it = &b->items[b->n++];
    memset(it, 0, sizeof *it);
    it->off = b->body.len;
    it->opaque = opaque;
    buf_printf(&b->body, "{\"%s\":{\"_index\":", b->action);
    jw_string(&b->body, index, index_len);
    if (id && id_len) {
        buf_puts(&b->body, ",\"_id\":");
        jw_string(&b->body, id, id_len);
    }
    buf_puts(&b->body, "}}\n");
    append_one_line(&b->body, doc, doc_len);
    buf_putc(&b->body, '\n');
    it->len = b->body.len - it->off;
    return 0;
}

void os_batch_retain(struct os_batch *b, const uint8_t *keep)
{
    size_t w = 0, pos = 0;
    for (size_t r = 0; r < b->n; r++) {
        if (!keep[r])
            continue;
        struct os_item it = b->items[r];
        memmove(b->body.data + pos, b->body.data + it.off, it.len);
        it.off = pos;
        pos += it.len;
        b->items[w++] = it;
    }
    b->n = w;
    b->body.len = pos;
}

static void set_item(struct os_batch *b, struct os_item *it, enum os_status st, long http,
                     const char *type, size_t tlen, const char *reason, size_t rlen)
{
    it->status = (uint8_t)st;
    it->http = (short)http;
    it->duplicate = st == OS_OK && http == 409;
    it->error_type = it->error_reason = NULL;
    if (st != OS_OK) {
        it->error_type = arena_strndup(&b->arena, type ? type : "", type ? tlen : 0);
        it->error_reason = arena_strndup(&b->arena, reason ? reason : "", reason ? rlen : 0);
    }
}

static void mark_range(struct os_batch *b, size_t lo, size_t hi, enum os_status st, long http,
                       const char *type, const char *reason)
{
    for (size_t i = lo; i < hi; i++)
        set_item(b, &b->items[i], st, http, type, strlen(type), reason, strlen(reason));
}

void os_batch_mark(struct os_batch *b, enum os_status st, const char *type, const char *reason)
{
    mark_range(b, 0, b->n, st, 0, type ? type : "", reason ? reason : "");
}

/* ---- endpoints ----------------------------------------------------------- */

static void free_endpoint(struct endpoint *e)
{
    free(e->base);
    free(e->host);
    free(e->prefix);
}

static bool default_port(const char *scheme, const char *port)
{
    return !port || (!strcasecmp(scheme, "http") && !strcmp(port, "80")) ||
           (!strcasecmp(scheme, "https") && !strcmp(port, "443"));
}

static int parse_url(const char *url, struct endpoint *e, char *err, size_t n)
{
    struct http_url u;
    int rc = http_url_split(url, &u);
    if (rc == HTTP_URL_INVALID) {
        snprintf(err, n, "invalid opensearch url: %s", url);
    } else if (rc == HTTP_URL_NOT_HTTP) {
        snprintf(err, n, "opensearch url must be http or https: %s", url);
    } else {
        buf_t t;
        buf_init(&t);
        buf_printf(&t, "%s%s%s", u.host, default_port(u.scheme, u.port) ? "" : ":",
                   default_port(u.scheme, u.port) ? "" : u.port);
        e->host = xstrdup(buf_cstr(&t));
        size_t pl = u.path ? strlen(u.path) : 0;
        while (pl && u.path[pl - 1] == '/')
            pl--;
        e->prefix = xstrndup(u.path ? u.path : "", pl);
        buf_reset(&t);
        buf_printf(&t, "%s://%s%s", u.scheme, e->host, e->prefix);
        e->base = xstrdup(buf_cstr(&t));
        buf_free(&t);
    }
    http_url_free(&u);
    return rc == HTTP_URL_OK ? 0 : -1;
}

static int parse_endpoints(struct os_client *c, const char *urls, char *err, size_t n)
{
    if (!urls || !*urls) {
        snprintf(err, n, "no opensearch url");
        return -1;
    }
    for (const char *p = urls; *p;) {
        size_t len = strcspn(p, ", ");
        if (len) {
            if (c->nep == OS_MAX_ENDPOINTS) {
                snprintf(err, n, "more than %d opensearch urls", OS_MAX_ENDPOINTS);
                return -1;
            }
            char *one = xstrndup(p, len);
            c->ep = xrealloc(c->ep, (size_t)(c->nep + 1) * sizeof *c->ep);
            memset(&c->ep[c->nep], 0, sizeof c->ep[0]);
            int rc = parse_url(one, &c->ep[c->nep], err, n);
            free(one);
            if (rc != 0)
                return -1;
            c->nep++;
        }
        p += len;
        p += strspn(p, ", ");
    }
    if (!c->nep) {
        snprintf(err, n, "no opensearch url");
        return -1;
    }
    return 0;
}

int os_client_endpoints(const struct os_client *c) { return c->nep; }
const char *os_client_endpoint(const struct os_client *c, int i)
{
    return i >= 0 && i < c->nep ? c->ep[i].base : NULL;
}

/* Next endpoint to try, skipping those marked down unless all of them are. */
static int pick_endpoint(struct os_client *c, uint32_t tried)
{
    int64_t now = now_ms();
    int fallback = -1;
    for (int k = 0; k < c->nep; k++) {
        int i = (c->cur + k) % c->nep;
        if (tried & (1u << i))
            continue;
        if (c->ep[i].down_until_ms <= now)
            return i;
        if (fallback < 0 || c->ep[i].down_until_ms < c->ep[fallback].down_until_ms)
            fallback = i;
    }
    return fallback;
}

static bool endpoint_failed(long status, int curl_code)
{
    return curl_code != 0 || status == 502 || status == 503 || status == 504;
}

/* ---- signing ------------------------------------------------------------- */

/* The signed path is the prefix plus the request path without its query. */
static int sign_request(struct os_client *c, const struct endpoint *e, struct exchange *x,
                        const char *body, size_t len, struct curl_slist **hl)
{
    const char *q = strchr(x->path, '?');
    buf_t path;
    buf_init(&path);
    buf_puts(&path, e->prefix);
    buf_append(&path, x->path, q ? (size_t)(q - x->path) : strlen(x->path));
    struct sigv4_header h[] = {{"host", e->host}};
    struct sigv4_request sr = {.method = x->method, .path = buf_cstr(&path), .query = q ? q + 1 : NULL,
                               .headers = h, .nheaders = 1, .body = body, .body_len = len};
    struct sigv4_options so = {.service = c->service, .region = c->region,
                               .double_encode_path = true, .normalize_path = true,
                               .sign_body_header = true};
    char err[320];
    int rc = http_sign_aws(c->creds, &sr, &so, hl, err, sizeof err);
    buf_free(&path);
    if (rc == HTTP_SIGN_NO_CREDENTIALS)
        snprintf(x->error, sizeof x->error, "aws credentials: %s", err);
    else if (rc != HTTP_SIGNED)
        snprintf(x->error, sizeof x->error, "cannot sign the request");
    return rc == HTTP_SIGNED ? 0 : -1;
}

/* ---- gzip ---------------------------------------------------------------- */

static int gzip_body(struct os_client *c, const char *body, size_t len)
{
    if (!c->zs_ready) {
        memset(&c->zs, 0, sizeof c->zs);
        if (deflateInit2(&c->zs, c->gzip_level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            return -1;
        c->zs_ready = true;
    } else if (deflateReset(&c->zs) != Z_OK) {
        return -1;
    }
    buf_reset(&c->gz);
    buf_reserve(&c->gz, deflateBound(&c->zs, (uLong)len) + 1);
    c->zs.next_in = (Bytef *)body;
    c->zs.avail_in = (uInt)len;
    c->zs.next_out = (Bytef *)c->gz.data;
    c->zs.avail_out = (uInt)(c->gz.cap - 1);
    int rc = deflate(&c->zs, Z_FINISH);
    if (rc != Z_STREAM_END)
        return -1;
    c->gz.len = c->gz.cap - 1 - c->zs.avail_out;
    return 0;
}

/* ---- one HTTP request ---------------------------------------------------- */

static size_t on_write(char *p, size_t size, size_t n, void *arg)
{
    buf_t *b = arg;
    size_t len = size * n;
    if (b->len + len > RESPONSE_MAX)
        return 0;
    buf_append(b, p, len);
    return len;
}

static int build_headers(struct os_client *c, const struct endpoint *e, struct exchange *x,
                         const char *body, size_t len, struct curl_slist **hl)
{
    int rc = http_base_headers(hl, e->host, body ? x->content_type : NULL);
    if (rc == 0 && body && x->gzip)
        rc = http_header_add(hl, "Content-Encoding", "gzip");
    if (rc != 0) {
        snprintf(x->error, sizeof x->error, "out of memory");
        return -1;
    }
    return c->auth == OS_AUTH_SIGV4 ? sign_request(c, e, x, body, len, hl) : 0;
}

static void setup_curl(struct os_client *c, const char *url, struct exchange *x, const char *body,
                       size_t len, struct curl_slist *hl, char *ebuf)
{
    struct http_request rq = {.url = url, .method = x->method, .headers = hl, .body = body, .body_len = len,
                              .on_body = on_write, .body_arg = x->resp, .errbuf = ebuf};
    CURL *h = c->conn.h;
    http_prepare(&c->conn, &rq);
    if (c->auth == OS_AUTH_BASIC) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, c->username ? c->username : "");
        curl_easy_setopt(h, CURLOPT_PASSWORD, c->password ? c->password : "");
    }
}

/* One request to endpoint i. Returns the CURLcode (0 = answered). */
static int send_to(struct os_client *c, int i, struct exchange *x, const char *body, size_t len)
{
    const struct endpoint *e = &c->ep[i];
    struct curl_slist *hl = NULL;
    char ebuf[CURL_ERROR_SIZE] = "";
    buf_t url;
    buf_init(&url);
    buf_printf(&url, "%s%s", e->base, x->path);
    buf_reset(x->resp);
    x->status = 0;
    int cc = CURLE_SEND_ERROR;
    if (build_headers(c, e, x, body, len, &hl) == 0) {
        setup_curl(c, buf_cstr(&url), x, body, len, hl, ebuf);
        cc = (int)curl_easy_perform(c->conn.h);
        curl_easy_getinfo(c->conn.h, CURLINFO_RESPONSE_CODE, &x->status);
        if (cc != CURLE_OK)
            snprintf(x->error, sizeof x->error, "%s %s: %s", x->method, e->base,
                     ebuf[0] ? ebuf : curl_easy_strerror((CURLcode)cc));
        x->requests++;
        x->sent += len;
    }
    curl_easy_setopt(c->conn.h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hl);
    buf_free(&url);
    return cc;
}

/* Send with failover. Returns 0 when some endpoint answered. */
static int perform(struct os_client *c, struct exchange *x)
{
    const char *body = x->body;
    size_t len = x->len;
    if (body && x->gzip) {
        if (gzip_body(c, x->body, x->len) != 0) {
            snprintf(x->error, sizeof x->error, "gzip failed");
            return -1;
        }
        body = c->gz.data;
        len = c->gz.len;
    }
    uint32_t tried = 0;
    x->endpoint = -1;
    for (int k = 0; k < c->nep; k++) {
        int i = pick_endpoint(c, tried);
        tried |= 1u << i;
        x->error[0] = 0;
        x->curl_code = send_to(c, i, x, body, len);
        if (c->creds && (x->status == 401 || x->status == 403))
            aws_cred_invalidate(c->creds); /* expired session token: fetch again next time */
        if (!endpoint_failed(x->status, x->curl_code)) {
            c->cur = i;
            x->endpoint = i;
            return x->curl_code == 0 ? 0 : -1;
        }
        c->ep[i].down_until_ms = now_ms() + c->down_ms;
        if (x->curl_code == 0) /* a 502/503/504 is still an answer if no one else does better */
            x->endpoint = i;
    }
    return x->endpoint >= 0 ? 0 : -1;
}

/* ---- bulk response ------------------------------------------------------- */

/* Copy a string token unescaped into the batch arena. */
static const char *tok_text(struct os_client *c, int t, size_t *len, char *tmp, size_t tmpsz)
{
    if (t < 0 || c->js.tok[t].type != J_STR) {
        *len = 0;
        return NULL;
    }
    size_t n = jscan_len(&c->js, t);
    if (n >= tmpsz)
        n = tmpsz - 1;
    *len = json_unescape(jscan_ptr(&c->js, t), n, tmp);
    return tmp;
}

/* "reason (caused by <type>: <reason>)" */
static void error_reason(struct os_client *c, int err, buf_t *out)
{
    char tmp[1024];
    size_t n;
    const char *r = tok_text(c, jscan_key(&c->js, err, "reason", 6), &n, tmp, sizeof tmp);
    if (r)
        buf_append(out, r, n);
    int cause = jscan_key(&c->js, err, "caused_by", 9);
    if (cause < 0)
        return;
    r = tok_text(c, jscan_key(&c->js, cause, "type", 4), &n, tmp, sizeof tmp);
    buf_puts(out, " (caused by ");
    buf_append(out, r ? r : "?", r ? n : 1);
    r = tok_text(c, jscan_key(&c->js, cause, "reason", 6), &n, tmp, sizeof tmp);
    if (r) {
        buf_puts(out, ": ");
        buf_append(out, r, n);
    }
    buf_putc(out, ')');
}

static void read_item(struct os_client *c, struct os_batch *b, struct os_item *it, int obj, buf_t *scratch)
{
    int op = jscan_first(&c->js, obj); /* {"create": {...}}: the key, its value follows */
    int body = op >= 0 ? op + 1 : -1;
    int st = jscan_key(&c->js, body, "status", 6);
    long http = st >= 0 && c->js.tok[st].type == J_NUM ? strtol(jscan_ptr(&c->js, st), NULL, 10) : 0;
    int err = jscan_key(&c->js, body, "error", 5);
    char type[128];
    size_t tlen = 0;
    const char *t = err >= 0 ? tok_text(c, jscan_key(&c->js, err, "type", 4), &tlen, type, sizeof type) : NULL;
    if (t)
        type[tlen] = 0;
    enum os_status s = os_classify_item(http, t);
    buf_reset(scratch);
    if (s != OS_OK && err >= 0)
        error_reason(c, err, scratch);
    else if (s != OS_OK)
        buf_printf(scratch, "item status %ld without an error", http);
    if (!t)
        tlen = strlen(t = "bulk_item_error");
    set_item(b, it, s, http, t, tlen, scratch->data, scratch->len);
}

/* Items lo..hi from a 2xx bulk response. A response that cannot be read
 * leaves the items OS_RETRY: nothing is known about them. */
static void read_bulk_response(struct os_client *c, struct os_batch *b, size_t lo, size_t hi,
                               const char *body, size_t len, struct os_bulk_summary *s)
{
    int items = -1;
    if (jscan_parse(&c->js, body ? body : "", len) == 0)
        items = jscan_key(&c->js, 0, "items", 5);
    if (items < 0 || c->js.tok[items].type != J_ARR || (size_t)jscan_count(&c->js, items) != hi - lo) {
        mark_range(b, lo, hi, OS_RETRY, 200, "bulk_response_unreadable",
                   "the bulk response does not list one result per document");
        snprintf(s->error, sizeof s->error, "bulk response unreadable or with the wrong item count");
        return;
    }
    buf_t scratch;
    buf_init(&scratch);
    size_t i = lo;
    for (int e = jscan_first(&c->js, items); e >= 0; e = jscan_next_elem(&c->js, items, e))
        read_item(c, b, &b->items[i++], e, &scratch);
    buf_free(&scratch);
}

/* Error type and reason of a non-2xx whole response ({"error":{...}} or text). */
static void request_error(struct os_client *c, const struct exchange *x, char *type, size_t tn,
                          buf_t *reason)
{
    snprintf(type, tn, x->curl_code ? "transport_error" : "http_%ld", x->status);
    if (x->curl_code || !x->resp->len) {
        buf_puts(reason, x->error[0] ? x->error : "no response");
        return;
    }
    int err = jscan_parse(&c->js, x->resp->data, x->resp->len) == 0 ? jscan_key(&c->js, 0, "error", 5) : -1;
    if (err >= 0 && c->js.tok[err].type == J_OBJ) {
        size_t n;
        char tmp[128];
        const char *t = tok_text(c, jscan_key(&c->js, err, "type", 4), &n, tmp, sizeof tmp);
        if (t)
            snprintf(type, tn, "%.*s", (int)n, t);
        error_reason(c, err, reason);
    } else {
        buf_printf(reason, "HTTP %ld: %.*s", x->status, (int)(x->resp->len < 300 ? x->resp->len : 300),
                   x->resp->data);
    }
}

static void bulk_range(struct os_client *c, struct os_batch *b, size_t lo, size_t hi,
                       struct os_bulk_summary *s, buf_t *resp)
{
    size_t off = b->items[lo].off, end = b->items[hi - 1].off + b->items[hi - 1].len;
    struct exchange x = {.method = "POST", .path = BULK_PATH, .content_type = "application/x-ndjson",
                         .body = b->body.data + off, .len = end - off, .gzip = c->gzip, .resp = resp};
    perform(c, &x);
    s->requests += x.requests;
    s->bytes_sent += x.sent;
    s->http_status = x.status;
    if (x.endpoint >= 0)
        s->endpoint = x.endpoint;
    enum os_status st = os_classify_request(x.status, x.curl_code);
    if (st == OS_OK) {
        read_bulk_response(c, b, lo, hi, resp->data, resp->len, s);
        return;
    }
    if (st == OS_FAIL && hi - lo > 1) { /* find the document(s) at fault */
        size_t mid = lo + (hi - lo) / 2;
        bulk_range(c, b, lo, mid, s, resp);
        bulk_range(c, b, mid, hi, s, resp);
        return;
    }
    char type[128];
    buf_t reason;
    buf_init(&reason);
    request_error(c, &x, type, sizeof type, &reason);
    mark_range(b, lo, hi, st, x.status, type, buf_cstr(&reason));
    snprintf(s->error, sizeof s->error, "%s: %s", type, buf_cstr(&reason));
    buf_free(&reason);
}

void os_read_bulk_response(struct os_client *c, struct os_batch *b, const char *body, size_t len,
                           struct os_bulk_summary *s)
{
    memset(s, 0, sizeof *s);
    s->endpoint = -1;
    if (b->n)
        read_bulk_response(c, b, 0, b->n, body, len, s);
    os_batch_summarize(b, s);
}

void os_batch_summarize(const struct os_batch *b, struct os_bulk_summary *s)
{
    s->ok = s->duplicates = s->retry = s->failed = 0;
    for (size_t i = 0; i < b->n; i++) {
        const struct os_item *it = &b->items[i];
        if (it->status == OS_OK)
            s->ok++, s->duplicates += it->duplicate;
        else if (it->status == OS_RETRY)
            s->retry++;
        else
            s->failed++;
    }
    s->status = s->retry ? OS_RETRY : s->failed ? OS_FAIL : OS_OK;
    if (s->status == OS_OK || s->error[0])
        return;
    const struct os_item *first = b->items;
    while (first->status == OS_OK)
        first++;
    snprintf(s->error, sizeof s->error, "%zu of %zu documents not accepted, e.g. HTTP %d %s: %s", b->n - s->ok, b->n,
             first->http, first->error_type, first->error_reason);
}

int os_bulk(struct os_client *c, struct os_batch *b, struct os_bulk_summary *s)
{
    memset(s, 0, sizeof *s);
    s->endpoint = -1;
    if (b->n == 0)
        return 0;
    buf_t resp;
    buf_init(&resp);
    bulk_range(c, b, 0, b->n, s, &resp);
    buf_free(&resp);
    os_batch_summarize(b, s);
    return s->ok == b->n ? 0 : -1;
}

/* ---- plain requests -------------------------------------------------------- */

int os_request(struct os_client *c, const char *method, const char *path, const char *body,
               size_t len, struct os_response *r)
{
    r->status = 0;
    r->error[0] = 0;
    struct exchange x = {.method = method, .path = path, .content_type = "application/json",
                         .body = body, .len = body ? len : 0, .resp = &r->body};
    int rc = perform(c, &x);
    r->status = x.status;
    if (rc != 0)
        snprintf(r->error, sizeof r->error, "%s", x.error[0] ? x.error : "no endpoint answered");
    return rc;
}

static int parse_version(const char *v, struct os_cluster_info *out)
{
    snprintf(out->version, sizeof out->version, "%s", v);
    return sscanf(v, "%d.%d", &out->major, &out->minor) == 2 ? 0 : -1;
}

int os_cluster_info(struct os_client *c, struct os_cluster_info *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (c->auth == OS_AUTH_SIGV4 && !strcmp(c->service, "aoss")) {
        snprintf(out->distribution, sizeof out->distribution, "opensearch");
        snprintf(out->version, sizeof out->version, "serverless");
        out->major = 2;
        return 0;
    }
    struct os_response r;
    buf_init(&r.body);
    int rc = -1;
    if (os_request(c, "GET", "/", NULL, 0, &r) != 0) {
        snprintf(err, errlen, "%s", r.error);
    } else if (r.status != 200) {
        snprintf(err, errlen, "GET /: HTTP %ld", r.status);
    } else {
        int ver = jscan_parse(&c->js, r.body.data, r.body.len) == 0 ? jscan_key(&c->js, 0, "version", 7) : -1;
        char num[32] = "", dist[32] = "elasticsearch";
        size_t n;
        const char *t = tok_text(c, jscan_key(&c->js, ver, "number", 6), &n, num, sizeof num);
        if (t)
            num[n] = 0;
        t = tok_text(c, jscan_key(&c->js, ver, "distribution", 12), &n, dist, sizeof dist);
        if (t)
            dist[n] = 0;
        snprintf(out->distribution, sizeof out->distribution, "%s", dist);
        if (ver >= 0 && parse_version(num, out) == 0)
            rc = 0;
        else
            snprintf(err, errlen, "GET /: no version.number in the answer");
    }
    buf_free(&r.body);
    return rc;
}

/* ---- client -------------------------------------------------------------- */

/* "search-x-abc.eu-west-1.es.amazonaws.com" -> service "es", region "eu-west-1" */
static void aws_host_hints(const char *host, char *service, char *region, size_t n)
{
    static const char *const svcs[] = {"es", "aoss"};
    char h[256];
    snprintf(h, sizeof h, "%s", host);
    char *colon = strchr(h, ':');
    if (colon)
        *colon = 0;
    for (size_t i = 0; i < 2; i++) {
        char suffix[32];
        snprintf(suffix, sizeof suffix, ".%s.amazonaws.com", svcs[i]);
        size_t hl = strlen(h), sl = strlen(suffix);
        if (hl <= sl || strcmp(h + hl - sl, suffix))
            continue;
        snprintf(service, n, "%s", svcs[i]);
        h[hl - sl] = 0;
        char *dot = strrchr(h, '.');
        if (dot)
            snprintf(region, n, "%s", dot + 1);
        return;
    }
}

static int setup_sigv4(struct os_client *c, const struct os_options *o, char *err, size_t n)
{
    char service[32] = "es", region[64] = "";
    aws_host_hints(c->ep[0].host, service, region, sizeof region);
    if (o->aws_service && *o->aws_service)
        snprintf(service, sizeof service, "%s", o->aws_service);
    if (o->aws_region && *o->aws_region)
        snprintf(region, sizeof region, "%s", o->aws_region);
    if (!region[0] && aws_resolve_region(NULL, region, sizeof region) != 0) {
        snprintf(err, n, "sigv4: no AWS region (set the region option or AWS_REGION)");
        return -1;
    }
    if (strcmp(service, "es") && strcmp(service, "aoss")) {
        snprintf(err, n, "sigv4: service must be es or aoss, not \"%s\"", service);
        return -1;
    }
    if (!o->creds) {
        snprintf(err, n, "sigv4: no credential provider");
        return -1;
    }
    c->service = xstrdup(service);
    c->region = xstrdup(region);
    c->creds = o->creds;
    return 0;
}

static int copy_options(struct os_client *c, const struct os_options *o, char *err, size_t n)
{
    c->auth = o->auth;
    c->username = dup_or_null(o->username);
    c->password = dup_or_null(o->password);
    c->gzip = o->gzip;
    c->gzip_level = o->gzip_level > 0 && o->gzip_level <= 9 ? o->gzip_level : 1;
    c->down_ms = o->endpoint_down_ms > 0 ? o->endpoint_down_ms : DEFAULT_DOWN_MS;
    struct http_conn_opts co = {
        .connect_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : DEFAULT_CONNECT_MS,
        .timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS,
        .user_agent = o->user_agent && *o->user_agent ? o->user_agent : "siemproc", .ca_file = o->ca_file,
        .client_cert = o->client_cert, .client_key = o->client_key,
        .client_key_password = o->client_key_password, .tls_no_verify = o->tls_no_verify,
    };
    return http_conn_open(&c->conn, &co, err, n);
}

struct os_client *os_client_new(const struct os_options *o, char *err, size_t errlen)
{
    char dummy[8];
    if (!err || !errlen) {
        err = dummy;
        errlen = sizeof dummy;
    }
    err[0] = 0;
    struct os_client *c = xcalloc(1, sizeof *c);
    buf_init(&c->gz);
    jscan_init(&c->js);
    if (copy_options(c, o, err, errlen) != 0 || parse_endpoints(c, o->urls, err, errlen) != 0 ||
        (c->auth == OS_AUTH_BASIC && !c->username && (snprintf(err, errlen, "basic auth: no username"), 1)) ||
        (c->auth == OS_AUTH_SIGV4 && setup_sigv4(c, o, err, errlen) != 0)) {
        os_client_free(c);
        return NULL;
    }
    return c;
}

void os_client_free(struct os_client *c)
{
    if (!c)
        return;
    http_conn_close(&c->conn);
    for (int i = 0; i < c->nep; i++)
        free_endpoint(&c->ep[i]);
    free(c->ep);
    free(c->username);
    http_free_secret(c->password);
    free(c->service);
    free(c->region);
    if (c->zs_ready)
        deflateEnd(&c->zs);
    buf_free(&c->gz);
    jscan_free(&c->js);
    free(c);
}
