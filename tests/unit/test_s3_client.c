/* test_s3_client.c - S3 client: key encoding, URL building (virtual-hosted,
 * path-style, endpoints), error XML parsing and classification; then real
 * HTTP against tests/unit/s3_stub.py (which verifies SigV4 independently):
 * streaming chunks, keep-alive reuse, 404/403, 500/503/429-then-200 retries,
 * restart after a cut transfer, callback abort, stall timeout, PUT/GET of
 * awkward keys, anonymous and connection-refused requests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_credentials.h"
#include "pystub.h"
#include "s3_client.h"
#include "testlib.h"

static void check_enc(const char *key, const char *want)
{
    char *e = s3_encode_key(key);
    CHECK_STR(e, want);
    free(e);
}

static void test_encode(void)
{
    check_enc("logs/a b.gz", "logs/a%20b.gz");
    check_enc("a+b=c", "a%2Bb%3Dc");
    check_enc("dir/\xc3\xbc.json", "dir/%C3%BC.json");
    check_enc("\xe6\x97\xa5\xe6\x9c\xac", "%E6%97%A5%E6%9C%AC");
    check_enc("-._~AZaz09", "-._~AZaz09");
    check_enc("x?y#z&%", "x%3Fy%23z%26%25");
    check_enc("a//b/./c", "a//b/./c");
}

/* URL for (options, bucket, key), or NULL when building fails. */
static void check_url(const struct s3_options *o, const char *bucket, const char *key,
                      const char *want_url, const char *want_host)
{
    char err[256];
    struct s3_client *c = s3_client_new(o, err, sizeof err);
    struct s3_url u = {0};
    CHECK(c != NULL);
    int rc = c ? s3_build_url(c, bucket, key, &u) : -1;
    if (want_url) {
        CHECK_INT(rc, 0);
        CHECK_STR(u.url, want_url);
        CHECK_STR(u.host, want_host);
    } else {
        CHECK_INT(rc, -1);
    }
    s3_url_free(&u);
    s3_client_free(c);
}

static void test_urls(void)
{
    struct s3_options aws = {.region = "us-west-2"};
    check_url(&aws, "my-bucket", "logs/a b.gz", "https://my-bucket.s3.us-west-2.amazonaws.com/logs/a%20b.gz",
              "my-bucket.s3.us-west-2.amazonaws.com");
    check_url(&aws, "my.bucket", "k", "https://s3.us-west-2.amazonaws.com/my.bucket/k",
              "s3.us-west-2.amazonaws.com");
    check_url(&aws, "MyBucket", "k+1=2", "https://s3.us-west-2.amazonaws.com/MyBucket/k%2B1%3D2",
              "s3.us-west-2.amazonaws.com");
    check_url(&aws, "b", "k", "https://s3.us-west-2.amazonaws.com/b/k", "s3.us-west-2.amazonaws.com");
    check_url(&aws, "bkt", "", NULL, NULL);
    check_url(&aws, "a/b", "k", NULL, NULL);
    aws.style = S3_STYLE_PATH;
    check_url(&aws, "my-bucket", "k", "https://s3.us-west-2.amazonaws.com/my-bucket/k",
              "s3.us-west-2.amazonaws.com");
    struct s3_options cn = {.region = "cn-north-1"};
    check_url(&cn, "bkt", "k", "https://bkt.s3.cn-north-1.amazonaws.com.cn/k", "bkt.s3.cn-north-1.amazonaws.com.cn");
    struct s3_options def = {0};
    check_url(&def, "bkt", "k", "https://bkt.s3.us-east-1.amazonaws.com/k", "bkt.s3.us-east-1.amazonaws.com");

    struct s3_options minio = {.endpoint = "http://127.0.0.1:9000"};
    check_url(&minio, "bkt", "\xc3\xbc/x y", "http://127.0.0.1:9000/bkt/%C3%BC/x%20y", "127.0.0.1:9000");
    minio.endpoint = "http://minio.local:9000/";
    minio.style = S3_STYLE_VIRTUAL;
    check_url(&minio, "bkt", "k", "http://bkt.minio.local:9000/k", "bkt.minio.local:9000");
    minio.endpoint = "https://[::1]:9443";
    minio.style = S3_STYLE_AUTO;
    check_url(&minio, "bkt", "k", "https://[::1]:9443/bkt/k", "[::1]:9443");
}

static void test_bad_endpoints(void)
{
    const char *bad[] = {"http://host/prefix", "ftp://host", "not a url"};
    for (size_t i = 0; i < 3; i++) {
        char err[256] = "";
        struct s3_options o = {.endpoint = bad[i]};
        struct s3_client *c = s3_client_new(&o, err, sizeof err);
        CHECK(c == NULL);
        CHECK(strstr(err, "endpoint") != NULL);
        s3_client_free(c);
    }
}

static void test_parse_error(void)
{
    struct s3_result r = {0};
    s3_parse_error("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code>"
                   "<Message>The specified key &quot;a&amp;b&quot; does not exist.</Message>"
                   "<Key>a&amp;b</Key><RequestId>4442587FB7D0A2F9</RequestId></Error>", &r);
    CHECK_STR(r.code, "NoSuchKey");
    CHECK_STR(r.message, "The specified key \"a&b\" does not exist.");
    CHECK_STR(r.request_id, "4442587FB7D0A2F9");
    struct s3_result e = {0};
    s3_parse_error("<html>bad gateway</html>", &e);
    CHECK_STR(e.code, "");
    CHECK_STR(e.message, "");
    s3_parse_error(NULL, &e);
    CHECK_STR(e.code, "");
}

static void test_classify(void)
{
    CHECK_INT(s3_classify(200, NULL, 0), S3_OK);
    CHECK_INT(s3_classify(206, "", 0), S3_OK);
    CHECK_INT(s3_classify(500, "InternalError", 0), S3_RETRIABLE);
    CHECK_INT(s3_classify(503, "SlowDown", 0), S3_RETRIABLE);
    CHECK_INT(s3_classify(429, "", 0), S3_RETRIABLE);
    CHECK_INT(s3_classify(400, "RequestTimeout", 0), S3_RETRIABLE);
    CHECK_INT(s3_classify(400, "ExpiredToken", 0), S3_RETRIABLE);
    CHECK_INT(s3_classify(403, "AccessDenied", 0), S3_FATAL);
    CHECK_INT(s3_classify(403, "SignatureDoesNotMatch", 0), S3_FATAL);
    CHECK_INT(s3_classify(404, "NoSuchKey", 0), S3_FATAL);
    CHECK_INT(s3_classify(400, "InvalidArgument", 0), S3_FATAL);
    CHECK_INT(s3_classify(301, "PermanentRedirect", 0), S3_FATAL);
    CHECK_INT(s3_classify(0, NULL, 28 /* CURLE_OPERATION_TIMEDOUT */), S3_RETRIABLE);
    CHECK_INT(s3_classify(0, NULL, 7 /* CURLE_COULDNT_CONNECT */), S3_RETRIABLE);
    CHECK_INT(s3_classify(200, NULL, 18 /* CURLE_PARTIAL_FILE */), S3_RETRIABLE);
    CHECK_INT(s3_classify(200, NULL, 56 /* CURLE_RECV_ERROR */), S3_RETRIABLE);
    CHECK_INT(s3_classify(0, NULL, 60 /* CURLE_PEER_FAILED_VERIFICATION */), S3_FATAL);
    CHECK_INT(s3_classify(0, NULL, 3 /* CURLE_URL_MALFORMAT */), S3_FATAL);
}

/* ---- against the stub ----------------------------------------------------- */

static struct pystub stub;
static struct aws_cred_provider *creds;

/* Checks the "big" pattern (byte i = i % 251) as it streams. */
struct sink {
    size_t pos;
    int chunks, resets, abort_after;
    bool pattern_ok;
    char *copy; /* when set, bytes are copied here (small objects) */
    size_t cap;
};

static int on_chunk(const void *data, size_t len, void *arg)
{
    struct sink *s = arg;
    const unsigned char *d = data;
    for (size_t i = 0; !s->copy && i < len; i++)
        s->pattern_ok &= d[i] == (unsigned char)((s->pos + i) % 251);
    if (s->copy && s->pos + len <= s->cap)
        memcpy(s->copy + s->pos, d, len);
    s->pos += len;
    s->chunks++;
    return s->abort_after && s->chunks >= s->abort_after;
}

static int on_restart(void *arg, int next_attempt)
{
    struct sink *s = arg;
    (void)next_attempt;
    s->resets++;
    s->pos = 0;
    s->chunks = 0;
    s->pattern_ok = true;
    return 0;
}

static struct s3_client *stub_client(long timeout_ms)
{
    char err[256];
    struct s3_options o = {.endpoint = stub.base, .region = "us-east-1", .creds = creds,
                           .timeout_ms = timeout_ms, .connect_timeout_ms = 1000};
    struct s3_client *c = s3_client_new(&o, err, sizeof err);
    CHECK(c != NULL);
    return c;
}

static long stub_connections(void)
{
    return pystub_stat_int(&stub, "connections");
}

static const struct s3_retry_policy fast = {.max_attempts = 3, .base_delay_ms = 10, .max_delay_ms = 40};

static void test_stream_and_keepalive(struct s3_client *c)
{
    long conn0 = stub_connections();
    for (int i = 0; i < 3; i++) {
        struct sink s = {.pattern_ok = true};
        struct s3_result r;
        CHECK_INT(s3_get_object(c, "bucket", "big", on_chunk, &s, &r), 0);
        CHECK_INT(r.http_status, 200);
        CHECK_INT(r.cls, S3_OK);
        CHECK_INT(r.bytes, 262144);
        CHECK_INT(s.pos, 262144);
        CHECK(s.pattern_ok);
        CHECK(s.chunks > 1); /* delivered as it arrived, not in one piece */
        CHECK_STR(r.error, "");
    }
    /* one connection for the three GETs, plus the one of this /_stats query */
    CHECK_INT(stub_connections(), conn0 + 2);
}

static void test_fatal_errors(struct s3_client *c)
{
    struct sink s = {.pattern_ok = true};
    struct s3_result r;
    CHECK_INT(s3_get_object_retry(c, "bucket", "missing", on_chunk, on_restart, &s, &fast, &r), -1);
    CHECK_INT(r.http_status, 404);
    CHECK_INT(r.cls, S3_FATAL);
    CHECK_INT(r.attempts, 1);
    CHECK_STR(r.code, "NoSuchKey");
    CHECK_STR(r.message, "The specified key does not exist.");
    CHECK_STR(r.request_id, "STUBREQ");
    CHECK(strstr(r.error, "HTTP 404 NoSuchKey") != NULL);
    CHECK_INT(s.chunks, 0); /* error bodies never reach the callback */

    CHECK_INT(s3_get_object(c, "bucket", "denied", on_chunk, &s, &r), -1);
    CHECK_INT(r.http_status, 403);
    CHECK_STR(r.code, "AccessDenied");
    CHECK_INT(r.cls, S3_FATAL);
}

static void test_retries(struct s3_client *c)
{
    char buf[8192];
    pystub_get(&stub, "/_reset", buf);
    struct s3_result r;
    struct sink s = {.pattern_ok = true};
    CHECK_INT(s3_get_object(c, "bucket", "flaky", on_chunk, &s, &r), -1);
    CHECK_INT(r.http_status, 500);
    CHECK_INT(r.cls, S3_RETRIABLE);
    CHECK_STR(r.code, "InternalError");

    const char *keys[] = {"slowdown", "throttled"};
    const long status[] = {503, 429};
    for (int i = 0; i < 2; i++) {
        s = (struct sink){.pattern_ok = true};
        CHECK_INT(s3_get_object(c, "bucket", keys[i], on_chunk, &s, &r), -1);
        CHECK_INT(r.http_status, status[i]);
        CHECK_INT(r.cls, S3_RETRIABLE);
    }
    pystub_get(&stub, "/_reset", buf);
    for (int i = 0; i < 2; i++) {
        s = (struct sink){.pattern_ok = true};
        CHECK_INT(s3_get_object_retry(c, "bucket", keys[i], on_chunk, on_restart, &s, &fast, &r), 0);
        CHECK_INT(r.attempts, 2);
        CHECK_INT(r.restarts, 0); /* the failed attempt delivered nothing */
        CHECK_INT(s.resets, 0);
        CHECK_INT(s.pos, 262144);
        CHECK(s.pattern_ok);
    }
}

/* A transfer cut mid-body is retriable, but only with the caller's consent. */
static void test_restart(struct s3_client *c)
{
    char buf[8192];
    struct s3_result r;
    pystub_get(&stub, "/_reset", buf);
    struct sink s = {.pattern_ok = true};
    CHECK_INT(s3_get_object_retry(c, "bucket", "truncated", on_chunk, NULL, &s, &fast, &r), -1);
    CHECK_INT(r.cls, S3_RETRIABLE);
    CHECK_INT(r.attempts, 1);
    CHECK_INT(r.bytes, 131072);
    CHECK(strstr(r.error, "after 131072 bytes") != NULL);

    pystub_get(&stub, "/_reset", buf);
    s = (struct sink){.pattern_ok = true};
    CHECK_INT(s3_get_object_retry(c, "bucket", "truncated", on_chunk, on_restart, &s, &fast, &r), 0);
    CHECK_INT(r.attempts, 2);
    CHECK_INT(r.restarts, 1);
    CHECK_INT(s.resets, 1);
    CHECK_INT(s.pos, 262144);
    CHECK_INT(r.bytes, 262144);
    CHECK(s.pattern_ok);
}

static void test_abort(struct s3_client *c)
{
    struct sink s = {.pattern_ok = true, .abort_after = 2};
    struct s3_result r;
    CHECK_INT(s3_get_object_retry(c, "bucket", "big", on_chunk, on_restart, &s, &fast, &r), -1);
    CHECK(r.aborted);
    CHECK_INT(r.cls, S3_FATAL);
    CHECK_INT(r.attempts, 1);
    CHECK_INT(s.chunks, 2);
    CHECK(strstr(r.error, "aborted") != NULL);
    /* the client stays usable */
    s = (struct sink){.pattern_ok = true};
    CHECK_INT(s3_get_object(c, "bucket", "big", on_chunk, &s, &r), 0);
}

static void test_put_get_keys(struct s3_client *c)
{
    const char *keys[] = {"dir/a b+c=d/\xc3\xbc \xe6\x97\xa5\xe6\x9c\xac.json", "a//b/./c", "x/../y", "~t%41"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char body[64], got[64] = "", path[256];
        snprintf(body, sizeof body, "{\"n\":%zu}", i);
        struct s3_result r;
        CHECK_INT(s3_put_object(c, "bucket", keys[i], body, strlen(body), "application/json", &r), 0);
        if (r.cls != S3_OK)
            fprintf(stderr, "put %s: %s\n", keys[i], r.error);
        struct sink s = {.copy = got, .cap = sizeof got - 1};
        CHECK_INT(s3_get_object(c, "bucket", keys[i], on_chunk, &s, &r), 0);
        if (r.cls != S3_OK)
            fprintf(stderr, "get %s: %s\n", keys[i], r.error);
        CHECK_STR(got, body);
        char *enc = s3_encode_key(keys[i]);
        snprintf(path, sizeof path, "/bucket/%s", enc);
        free(enc);
        pystub_stat_str(&stub, "last_path", got, sizeof got);
        CHECK_STR(got, path); /* sent verbatim: no dot-segment removal */
    }
}

/* A stalled body ends in a retriable timeout. (The low-speed check, default
 * 30 s, averages over ~5 s inside curl, so the test uses the total timeout.) */
static void test_stall(void)
{
    struct s3_client *c = stub_client(1500);
    struct sink s = {.pattern_ok = true};
    struct s3_result r;
    CHECK_INT(s3_get_object(c, "bucket", "stall", on_chunk, &s, &r), -1);
    CHECK_INT(r.cls, S3_RETRIABLE);
    CHECK_INT(r.bytes, 1000);
    CHECK(strstr(r.error, "timed out") != NULL && strstr(r.error, "after 1000 bytes") != NULL);
    s3_client_free(c);
}

static void test_anonymous_and_refused(void)
{
    char err[256];
    struct s3_options o = {.endpoint = stub.base};
    struct s3_client *c = s3_client_new(&o, err, sizeof err);
    struct s3_result r;
    CHECK_INT(s3_get_object(c, "bucket", "big", NULL, NULL, &r), -1);
    CHECK_INT(r.http_status, 403);
    CHECK_STR(r.code, "AccessDenied");
    s3_client_free(c);

    /* the stub's independent SigV4 check really rejects a wrong secret */
    setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret", 1);
    struct aws_cred_options co = {.sources = AWS_CRED_BIT(AWS_CRED_SRC_ENV)};
    struct aws_cred_provider *wrong = aws_cred_provider_new(&co);
    o.creds = wrong;
    c = s3_client_new(&o, err, sizeof err);
    CHECK_INT(s3_get_object(c, "bucket", "big", NULL, NULL, &r), -1);
    CHECK_INT(r.http_status, 403);
    CHECK_STR(r.code, "SignatureDoesNotMatch");
    CHECK_INT(r.cls, S3_FATAL);
    s3_client_free(c);
    aws_cred_provider_destroy(wrong);
    setenv("AWS_SECRET_ACCESS_KEY", "stubsecret", 1);

    o.creds = NULL;
    o.endpoint = "http://127.0.0.1:1";
    o.connect_timeout_ms = 500;
    c = s3_client_new(&o, err, sizeof err);
    CHECK_INT(s3_get_object(c, "bucket", "big", NULL, NULL, &r), -1);
    CHECK_INT(r.http_status, 0);
    CHECK_INT(r.cls, S3_RETRIABLE);
    s3_client_free(c);
}

static void test_network(void)
{
    if (pystub_start(&stub, "tests/unit/s3_stub.py") != 0) {
        CHECK(!"s3_stub.py did not start (python3 needed)");
        return;
    }
    setenv("AWS_ACCESS_KEY_ID", "AKIDSTUB", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "stubsecret", 1);
    setenv("AWS_SESSION_TOKEN", "stubtoken", 1);
    struct aws_cred_options co = {.sources = AWS_CRED_BIT(AWS_CRED_SRC_ENV)};
    creds = aws_cred_provider_new(&co);
    struct s3_client *c = stub_client(0);
    test_stream_and_keepalive(c);
    test_fatal_errors(c);
    test_retries(c);
    test_restart(c);
    test_abort(c);
    test_put_get_keys(c);
    s3_client_free(c);
    test_stall();
    test_anonymous_and_refused();
    aws_cred_provider_destroy(creds);
    pystub_stop(&stub);
}

int main(void)
{
    test_encode();
    test_urls();
    test_bad_endpoints();
    test_parse_error();
    test_classify();
    test_network();
    return tl_done();
}
