/* s3_client.c - streaming S3 GetObject / small PutObject over libcurl.
 *
 * Owns: the client's CURL easy handle (reused for keep-alive; reset, not
 * recreated, between requests), URL building, request signing, response
 * streaming, S3 error parsing, classification and the retry loop.
 * Must never: accumulate a 2xx body (it goes straight to on_chunk), follow
 * redirects, normalise object keys (PATH_AS_IS: "a//b/./c" is a valid key),
 * or retry after delivering bytes without the caller's on_restart consent.
 *
 * Memory: strings in struct s3_url are allocated here and freed by
 * s3_url_free(); request header lists live for one request only. */
#include "s3_client.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "aws_credentials.h"
#include "aws_sigv4.h"
#include "http_client.h"

#define DEFAULT_CONNECT_MS 3000L
#define DEFAULT_LOW_SPEED_S 30L
#define ERROR_BODY_MAX 16384

struct s3_client {
    struct http_conn conn;  /* one handle, reused: connections are kept alive */
    char *region;
    char *scheme;  /* "https" or "http" */
    char *host;    /* endpoint host[:port] */
    bool custom;   /* endpoint given */
    enum s3_style style;
    struct aws_cred_provider *creds;
    long low_speed_s;
    unsigned rng;
};

struct request {
    const char *method;
    const char *bucket, *key;
    const void *body; /* PUT only */
    size_t body_len;
    const char *content_type;
    s3_chunk_cb on_chunk;
    void *arg;
};

/* Per-request transfer state seen by the curl callbacks. */
struct xfer {
    struct s3_client *c;
    const struct request *rq;
    struct s3_result *res;
    long status;
    bool aborted;
    char errbody[ERROR_BODY_MAX + 1];
    size_t errlen;
};

/* ---- small helpers ------------------------------------------------------ */

__attribute__((format(printf, 1, 2)))
static char *str_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

__attribute__((format(printf, 3, 4)))
static void set_error(struct s3_result *res, enum s3_class cls, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->error, sizeof res->error, fmt, ap);
    va_end(ap);
    res->cls = cls;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- URLs --------------------------------------------------------------- */

char *s3_encode_key(const char *key)
{
    return key ? sigv4_uri_encode(key, strlen(key), true) : NULL;
}

/* Lowercase letters, digits and '-', 3..63 chars, alnum at both ends, no dots
 * (dots break TLS wildcard certificates in virtual-hosted style). */
static bool dns_safe_bucket(const char *b)
{
    size_t n = strlen(b);
    if (n < 3 || n > 63 || b[0] == '-' || b[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= '0' && b[i] <= '9') || b[i] == '-'))
            return false;
    return true;
}

static bool virtual_hosted(const struct s3_client *c, const char *bucket)
{
    if (c->style == S3_STYLE_VIRTUAL)
        return true;
    if (c->style == S3_STYLE_PATH)
        return false;
    return !c->custom && dns_safe_bucket(bucket);
}

int s3_build_url(const struct s3_client *c, const char *bucket, const char *key, struct s3_url *out)
{
    memset(out, 0, sizeof *out);
    if (!bucket || !*bucket || strchr(bucket, '/') || !key || !*key)
        return -1;
    char *ekey = s3_encode_key(key), *ebucket = s3_encode_key(bucket);
    if (ekey && ebucket) {
        if (virtual_hosted(c, bucket)) {
            out->host = str_printf("%s.%s", bucket, c->host);
            out->path = str_printf("/%s", ekey);
        } else {
            out->host = strdup(c->host);
            out->path = str_printf("/%s/%s", ebucket, ekey);
        }
        if (out->host && out->path)
            out->url = str_printf("%s://%s%s", c->scheme, out->host, out->path);
    }
    free(ekey);
    free(ebucket);
    if (!out->url) {
        s3_url_free(out);
        return -1;
    }
    return 0;
}

void s3_url_free(struct s3_url *u)
{
    free(u->url);
    free(u->host);
    free(u->path);
    memset(u, 0, sizeof *u);
}

/* ---- errors and classification ------------------------------------------ */

void s3_parse_error(const char *xml, struct s3_result *res)
{
    if (!xml || !*xml)
        return;
    if (aws_xml_value(xml, "Code", res->code, sizeof res->code) != 0)
        res->code[0] = 0;
    if (aws_xml_value(xml, "Message", res->message, sizeof res->message) != 0)
        res->message[0] = 0;
    if (!res->request_id[0] &&
        aws_xml_value(xml, "RequestId", res->request_id, sizeof res->request_id) != 0)
        res->request_id[0] = 0;
}

static bool retriable_code(const char *code)
{
    static const char *const codes[] = {
        "SlowDown", "RequestTimeout", "Throttling", "ThrottlingException", "RequestLimitExceeded",
        "InternalError", "ServiceUnavailable", "ExpiredToken", "TokenRefreshRequired"};
    for (size_t i = 0; code && i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(code, codes[i]) == 0)
            return true;
    return false;
}

static bool retriable_curl(int rc)
{
    switch ((CURLcode)rc) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return true;
    default:
        return false;
    }
}

enum s3_class s3_classify(long http_status, const char *code, int curl_code)
{
    if (curl_code != 0)
        return retriable_curl(curl_code) ? S3_RETRIABLE : S3_FATAL;
    if (http_status >= 200 && http_status < 300)
        return S3_OK;
    if (http_status >= 500 || http_status == 429 || retriable_code(code))
        return S3_RETRIABLE;
    return S3_FATAL;
}

/* ---- curl callbacks ----------------------------------------------------- */

static size_t on_write(char *p, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * n;
    if (!x->status)
        curl_easy_getinfo(x->c->conn.h, CURLINFO_RESPONSE_CODE, &x->status);
    if (x->status < 200 || x->status >= 300) {
        size_t keep = len < ERROR_BODY_MAX - x->errlen ? len : ERROR_BODY_MAX - x->errlen;
        memcpy(x->errbody + x->errlen, p, keep);
        x->errlen += keep;
        x->errbody[x->errlen] = 0;
        return len;
    }
    if (x->rq->on_chunk && x->rq->on_chunk(p, len, x->rq->arg) != 0) {
        x->aborted = true;
        return 0;
    }
    x->res->bytes += len;
    return len;
}

/* Copy the value of header `name` from a raw header line, if it is that header. */
static void header_value(const char *line, size_t len, const char *name, char *out, size_t n)
{
    size_t nl = strlen(name);
    if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return;
    const char *v = line + nl + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    size_t vl = (size_t)(end - v) < n - 1 ? (size_t)(end - v) : n - 1;
    memcpy(out, v, vl);
    out[vl] = 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * n;
    if (len > 5 && strncmp(p, "HTTP/", 5) == 0) {
        x->res->request_id[0] = 0;
        x->res->bucket_region[0] = 0;
        x->status = 0;
    }
    header_value(p, len, "x-amz-request-id", x->res->request_id, sizeof x->res->request_id);
    header_value(p, len, "x-amz-bucket-region", x->res->bucket_region, sizeof x->res->bucket_region);
    return len;
}

/* ---- one request -------------------------------------------------------- */

static int add_signature(struct s3_client *c, const struct request *rq, const struct s3_url *u,
                         struct curl_slist **hl, struct s3_result *res)
{
    struct sigv4_header h[] = {{"host", u->host}};
    struct sigv4_request sr = {.method = rq->method, .path = u->path, .headers = h, .nheaders = 1,
                               .body = rq->body, .body_len = rq->body_len,
                               .payload_hash = rq->body ? NULL : SIGV4_UNSIGNED_PAYLOAD};
    struct sigv4_options so = {.service = "s3", .region = c->region, .sign_body_header = true};
    char err[384];
    int rc = http_sign_aws(c->creds, &sr, &so, hl, err, sizeof err);
    if (rc == HTTP_SIGN_NO_CREDENTIALS)
        set_error(res, S3_RETRIABLE, "credentials: %s", err);
    else if (rc != HTTP_SIGNED)
        set_error(res, S3_FATAL, "cannot sign the request");
    return rc == HTTP_SIGNED ? 0 : -1;
}

static int build_headers(struct s3_client *c, const struct request *rq, const struct s3_url *u,
                         struct curl_slist **hl, struct s3_result *res)
{
    *hl = NULL;
    const char *type = rq->content_type ? rq->content_type : "application/octet-stream";
    if (http_base_headers(hl, u->host, rq->body ? type : NULL) != 0) {
        set_error(res, S3_FATAL, "out of memory");
        return -1;
    }
    return c->creds ? add_signature(c, rq, u, hl, res) : 0;
}

static void setup_curl(struct s3_client *c, const struct request *rq, const struct s3_url *u,
                       struct curl_slist *hl, struct xfer *x, char *ebuf)
{
    struct http_request hr = {.url = u->url, .method = rq->method, .headers = hl, .body = rq->body,
                              .body_len = rq->body_len, .on_body = on_write, .body_arg = x, .errbuf = ebuf};
    CURL *h = c->conn.h;
    http_prepare(&c->conn, &hr);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c->low_speed_s);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
}

static void describe(struct s3_result *res, const struct request *rq, CURLcode rc, const char *ebuf)
{
    const char *m = rq->method;
    if (res->aborted)
        set_error(res, S3_FATAL, "%s s3://%s/%s: aborted by the chunk callback after %llu bytes", m,
                  rq->bucket, rq->key, (unsigned long long)res->bytes);
    else if (rc != CURLE_OK)
        set_error(res, res->cls, "%s s3://%s/%s: %s (after %llu bytes)", m, rq->bucket, rq->key,
                  ebuf[0] ? ebuf : curl_easy_strerror(rc), (unsigned long long)res->bytes);
    else if (res->cls != S3_OK)
        set_error(res, res->cls, "%s s3://%s/%s: HTTP %ld %s%s%s%s%s%s%s%s", m, rq->bucket,
                  rq->key, res->http_status, res->code, res->message[0] ? ": " : "", res->message,
                  res->bucket_region[0] ? " (bucket region " : "", res->bucket_region,
                  res->bucket_region[0] ? ")" : "", res->request_id[0] ? " request-id=" : "",
                  res->request_id);
    else
        res->error[0] = 0;
}

static void finish(struct s3_client *c, const struct request *rq, struct xfer *x, CURLcode rc,
                   const char *ebuf)
{
    struct s3_result *res = x->res;
    curl_easy_getinfo(c->conn.h, CURLINFO_RESPONSE_CODE, &res->http_status);
    res->aborted = x->aborted;
    if (res->http_status && (res->http_status < 200 || res->http_status >= 300))
        s3_parse_error(x->errbody, res);
    res->cls = x->aborted ? S3_FATAL : s3_classify(res->http_status, res->code, (int)rc);
    if (c->creds && (strcmp(res->code, "ExpiredToken") == 0 || strcmp(res->code, "TokenRefreshRequired") == 0))
        aws_cred_invalidate(c->creds);
    describe(res, rq, rc, ebuf);
}

static int perform(struct s3_client *c, const struct request *rq, struct s3_result *res)
{
    memset(res, 0, sizeof *res);
    res->attempts = 1;
    struct s3_url u;
    if (!c || s3_build_url(c, rq->bucket, rq->key, &u) != 0) {
        set_error(res, S3_FATAL, "invalid bucket or key");
        return -1;
    }
    struct curl_slist *hl = NULL;
    struct xfer *x = calloc(1, sizeof *x);
    int rc = -1;
    if (!x)
        set_error(res, S3_FATAL, "out of memory");
    else if (build_headers(c, rq, &u, &hl, res) == 0) {
        char ebuf[CURL_ERROR_SIZE] = "";
        *x = (struct xfer){.c = c, .rq = rq, .res = res};
        setup_curl(c, rq, &u, hl, x, ebuf);
        CURLcode cc = curl_easy_perform(c->conn.h);
        finish(c, rq, x, cc, ebuf);
        rc = res->cls == S3_OK ? 0 : -1;
    }
    curl_easy_setopt(c->conn.h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hl);
    free(x);
    s3_url_free(&u);
    return rc;
}

/* ---- public requests ---------------------------------------------------- */

int s3_get_object(struct s3_client *c, const char *bucket, const char *key, s3_chunk_cb on_chunk,
                  void *arg, struct s3_result *res)
{
    struct request rq = {.method = "GET", .bucket = bucket, .key = key, .on_chunk = on_chunk, .arg = arg};
    return perform(c, &rq, res);
}

int s3_put_object(struct s3_client *c, const char *bucket, const char *key, const void *body,
                  size_t len, const char *content_type, struct s3_result *res)
{
    struct request rq = {.method = "PUT", .bucket = bucket, .key = key, .body = body ? body : "",
                         .body_len = body ? len : 0, .content_type = content_type};
    return perform(c, &rq, res);
}

/* Equal jitter: half the exponential delay plus a random part of the other half. */
static long backoff_ms(struct s3_client *c, const struct s3_retry_policy *p, int attempt)
{
    long base = p && p->base_delay_ms > 0 ? p->base_delay_ms : 200;
    long max = p && p->max_delay_ms > 0 ? p->max_delay_ms : 5000;
    long d = base;
    for (int i = 1; i < attempt && d < max; i++)
        d *= 2;
    if (d > max)
        d = max;
    long half = d / 2;
    return half + (long)((unsigned long)rand_r(&c->rng) % (unsigned long)(half + 1));
}

int s3_get_object_retry(struct s3_client *c, const char *bucket, const char *key,
                        s3_chunk_cb on_chunk, s3_restart_cb on_restart, void *arg,
                        const struct s3_retry_policy *policy, struct s3_result *res)
{
    int max = policy && policy->max_attempts > 0 ? policy->max_attempts : 4;
    int restarts = 0, rc;
    for (int attempt = 1;; attempt++) {
        rc = s3_get_object(c, bucket, key, on_chunk, arg, res);
        res->attempts = attempt;
        res->restarts = restarts;
        if (res->cls != S3_RETRIABLE || attempt >= max)
            break;
        if (res->bytes > 0) {
            if (!on_restart || on_restart(arg, attempt + 1) != 0)
                break;
            restarts++;
        }
        sleep_ms(backoff_ms(c, policy, attempt));
    }
    return rc;
}

/* ---- client ------------------------------------------------------------- */

/* scheme and host[:port] of an endpoint URL; only a root path is accepted. */
static int parse_endpoint(struct s3_client *c, const char *endpoint, char *err, size_t n)
{
    struct http_url u;
    int split = http_url_split(endpoint, &u), rc = -1;
    if (split == HTTP_URL_INVALID)
        snprintf(err, n, "invalid s3 endpoint URL: %s", endpoint);
    else if (u.path && strcmp(u.path, "/") != 0 && *u.path)
        snprintf(err, n, "s3 endpoint must not have a path: %s", endpoint);
    else if (split == HTTP_URL_NOT_HTTP)
        snprintf(err, n, "s3 endpoint must be http or https: %s", endpoint);
    else {
        c->scheme = strdup(u.scheme);
        c->host = u.port ? str_printf("%s:%s", u.host, u.port) : strdup(u.host);
        rc = c->scheme && c->host ? 0 : -1;
    }
    http_url_free(&u);
    return rc;
}

static int set_endpoint(struct s3_client *c, const struct s3_options *o, char *err, size_t n)
{
    if (o->endpoint && *o->endpoint) {
        c->custom = true;
        return parse_endpoint(c, o->endpoint, err, n);
    }
    c->scheme = strdup("https");
    c->host = str_printf("s3.%s.amazonaws.com%s", c->region,
                         strncmp(c->region, "cn-", 3) == 0 ? ".cn" : "");
    return c->scheme && c->host ? 0 : -1;
}

struct s3_client *s3_client_new(const struct s3_options *opt, char *err, size_t errlen)
{
    static const struct s3_options defaults;
    const struct s3_options *o = opt ? opt : &defaults;
    char dummy[8];
    if (!err || !errlen) {
        err = dummy;
        errlen = sizeof dummy;
    }
    err[0] = 0;
    struct s3_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->region = strdup(o->region && *o->region ? o->region : "us-east-1");
    c->style = o->style;
    c->creds = o->creds;
    c->low_speed_s = o->low_speed_time_s > 0 ? o->low_speed_time_s : DEFAULT_LOW_SPEED_S;
    c->rng = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)c ^ (unsigned)getpid();
    struct http_conn_opts co = {.connect_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : DEFAULT_CONNECT_MS,
                                .timeout_ms = o->timeout_ms, .ca_file = o->ca_file,
                                .user_agent = o->user_agent ? o->user_agent : "siemproc"};
    if (http_conn_open(&c->conn, &co, err, errlen) != 0 || !c->region || set_endpoint(c, o, err, errlen) != 0) {
        if (!err[0])
            snprintf(err, errlen, "s3 client: out of memory");
        s3_client_free(c);
        return NULL;
    }
    return c;
}

void s3_client_free(struct s3_client *c)
{
    if (!c)
        return;
    http_conn_close(&c->conn);
    free(c->region);
    free(c->scheme);
    free(c->host);
    free(c);
}
