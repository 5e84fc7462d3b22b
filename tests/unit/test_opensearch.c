/* test_opensearch.c - the bulk client: NDJSON batch building, response
 * classification, then real HTTP against tests/unit/os_stub.py: per-item
 * results (201/409/429/400/503/403-block), gzip bodies, keep-alive, whole
 * request failures (429, 500, dropped connection), bisecting a rejected
 * batch, failover across endpoints (refused connection, 503), path prefixes,
 * basic auth, SigV4 for es and aoss (verified by the stub), mTLS with a
 * custom CA, and the cluster version. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_credentials.h"
#include "opensearch.h"
#include "pystub.h"
#include "testlib.h"

static struct pystub stub;

static void add(struct os_batch *b, const char *id, const char *doc)
{
    const char *why = NULL;
    CHECK_INT(os_batch_add(b, "logs-x", 6, id, id ? strlen(id) : 0, doc, strlen(doc), (void *)id, &why), 0);
}

static void test_batch(void)
{
    struct os_batch b;
    os_batch_init(&b, NULL);
    add(&b, "a\"1", "{\"x\":1}\n");
    add(&b, NULL, "{\"m\":\"l1\nl2\r\"}");
    CHECK_STR(buf_cstr(&b.body), "{\"create\":{\"_index\":\"logs-x\",\"_id\":\"a\\\"1\"}}\n{\"x\":1}\n"
                                 "{\"create\":{\"_index\":\"logs-x\"}}\n{\"m\":\"l1 l2 \"}\n");
    const char *why = NULL;
    CHECK_INT(os_batch_add(&b, "i", 1, "id", 2, " \n", 2, NULL, &why), -1);
    CHECK_STR(why, "empty document");
    CHECK_INT(os_batch_add(&b, "", 0, "id", 2, "{}", 2, NULL, &why), -1);
    CHECK_STR(why, "no target index");
    add(&b, "c", "{\"c\":3}");
    uint8_t keep[] = {0, 1, 1};
    os_batch_retain(&b, keep);
    CHECK_INT(b.n, 2);
    CHECK(b.items[0].opaque == NULL && !strcmp(b.items[1].opaque, "c"));
    CHECK_STR(buf_cstr(&b.body), "{\"create\":{\"_index\":\"logs-x\"}}\n{\"m\":\"l1 l2 \"}\n"
                                 "{\"create\":{\"_index\":\"logs-x\",\"_id\":\"c\"}}\n{\"c\":3}\n");
    os_batch_free(&b);
    os_batch_init(&b, "index");
    add(&b, "z", "{}");
    CHECK_STR(buf_cstr(&b.body), "{\"index\":{\"_index\":\"logs-x\",\"_id\":\"z\"}}\n{}\n");
    os_batch_free(&b);
}

static void test_classify(void)
{
    CHECK_INT(os_classify_request(200, 0), OS_OK);
    CHECK_INT(os_classify_request(0, 7), OS_RETRY);
    CHECK_INT(os_classify_request(429, 0), OS_RETRY);
    CHECK_INT(os_classify_request(503, 0), OS_RETRY);
    CHECK_INT(os_classify_request(401, 0), OS_RETRY);
    CHECK_INT(os_classify_request(400, 0), OS_FAIL);
    CHECK_INT(os_classify_request(413, 0), OS_FAIL);
    CHECK_INT(os_classify_item(201, NULL), OS_OK);
    CHECK_INT(os_classify_item(409, "version_conflict_engine_exception"), OS_OK);
    CHECK_INT(os_classify_item(429, "es_rejected_execution_exception"), OS_RETRY);
    CHECK_INT(os_classify_item(500, NULL), OS_RETRY);
    CHECK_INT(os_classify_item(403, "cluster_block_exception"), OS_RETRY);
    CHECK_INT(os_classify_item(400, "mapper_parsing_exception"), OS_FAIL);
    CHECK_INT(os_classify_item(404, "index_not_found_exception"), OS_FAIL);
}

static struct os_client *client(const struct os_options *o)
{
    char err[256] = "";
    struct os_client *c = os_client_new(o, err, sizeof err);
    if (!c)
        fprintf(stderr, "os_client_new: %s\n", err);
    CHECK(c != NULL);
    return c;
}

static void reset_stub(void)
{
    char buf[8192];
    pystub_get(&stub, "/_reset", buf);
}

static void stub_fail(int status, int times)
{
    char path[64], buf[8192];
    snprintf(path, sizeof path, "/_fail?status=%d&times=%d", status, times);
    pystub_get(&stub, path, buf);
}

static void test_items(void)
{
    reset_stub();
    struct os_options o = {.urls = stub.base, .gzip = true};
    struct os_client *c = client(&o);
    struct os_batch b;
    os_batch_init(&b, NULL);
    add(&b, "ok", "{\"a\":1}");
    add(&b, "dup", "{\"want\":409}");
    add(&b, "busy", "{\"want\":429}");
    add(&b, "bad", "{\"want\":400}");
    add(&b, "shard", "{\"want\":503}");
    add(&b, "block", "{\"want\":403}");
    struct os_bulk_summary s;
    CHECK_INT(os_bulk(c, &b, &s), -1);
    CHECK_INT(s.status, OS_RETRY);
    CHECK_INT(s.ok, 2);
    CHECK_INT(s.duplicates, 1);
    CHECK_INT(s.retry, 3);
    CHECK_INT(s.failed, 1);
    CHECK_INT(s.requests, 1);
    CHECK_INT(s.endpoint, 0);
    CHECK(s.bytes_sent > 0 && s.bytes_sent < b.body.len + 64);
    CHECK_INT(b.items[0].status, OS_OK);
    CHECK_INT(b.items[1].status, OS_OK);
    CHECK_INT(b.items[1].duplicate, 1);
    CHECK_INT(b.items[2].status, OS_RETRY);
    CHECK_STR(b.items[2].error_type, "es_rejected_execution_exception");
    CHECK_INT(b.items[3].status, OS_FAIL);
    CHECK_INT(b.items[3].http, 400);
    CHECK_STR(b.items[3].error_type, "mapper_parsing_exception");
    CHECK_STR(b.items[3].error_reason, "failed to parse field [source.ip] of type [ip] (caused by "
                                       "illegal_argument_exception: 'nope' is not an IP string literal.)");
    CHECK_INT(b.items[4].status, OS_RETRY);
    CHECK_INT(b.items[5].status, OS_RETRY);
    char enc[64], ctype[64], path[256];
    pystub_stat_str(&stub, "last_encoding", enc, sizeof enc);
    pystub_stat_str(&stub, "last_ctype", ctype, sizeof ctype);
    pystub_stat_str(&stub, "last_path", path, sizeof path);
    CHECK_STR(enc, "gzip");
    CHECK_STR(ctype, "application/x-ndjson");
    CHECK_STR(path, "/_bulk?filter_path=errors%2Citems.%2A.status%2Citems.%2A.error");

    /* Re-send only what is retriable: the stub now accepts them. */
    uint8_t keep[6];
    for (size_t i = 0; i < b.n; i++)
        keep[i] = b.items[i].status == OS_RETRY;
    os_batch_retain(&b, keep);
    CHECK_INT(b.n, 3);
    long conns = pystub_stat_int(&stub, "connections");
    for (int i = 0; i < 3; i++) {
        os_batch_reset(&b);
        add(&b, "again", "{\"want\":201}");
        CHECK_INT(os_bulk(c, &b, &s), 0);
        CHECK_INT(s.status, OS_OK);
    }
    /* keep-alive: the only new connection is the stats request itself */
    CHECK_INT(pystub_stat_int(&stub, "connections"), conns + 1);
    os_batch_free(&b);
    os_client_free(c);
}

/* times: curl itself re-sends once when a reused connection dies unanswered */
static void expect_whole(struct os_client *c, int fail_status, int times, enum os_status want,
                         const char *type)
{
    struct os_batch b;
    os_batch_init(&b, NULL);
    add(&b, "w1", "{}");
    add(&b, "w2", "{}");
    stub_fail(fail_status, times);
    struct os_bulk_summary s;
    CHECK_INT(os_bulk(c, &b, &s), -1);
    CHECK_INT(s.status, want);
    CHECK_INT(s.retry, want == OS_RETRY ? 2 : 0);
    CHECK_STR(b.items[1].error_type, type);
    CHECK(s.error[0] != 0);
    os_batch_free(&b);
}

static void test_whole_request(void)
{
    reset_stub();
    struct os_options o = {.urls = stub.base};
    struct os_client *c = client(&o);
    expect_whole(c, 429, 1, OS_RETRY, "stub_failure");
    expect_whole(c, 500, 1, OS_RETRY, "stub_failure");
    expect_whole(c, 0, 2, OS_RETRY, "transport_error");

    /* A 400 for the whole batch: bisect down to the document at fault. */
    struct os_batch b;
    os_batch_init(&b, NULL);
    char id[16];
    for (int i = 0; i < 8; i++) {
        snprintf(id, sizeof id, "p%d", i);
        add(&b, xstrdup(id), i == 5 ? "{\"poison\":true}" : "{}");
    }
    struct os_bulk_summary s;
    CHECK_INT(os_bulk(c, &b, &s), -1);
    CHECK_INT(s.status, OS_FAIL);
    CHECK_INT(s.ok, 7);
    CHECK_INT(s.failed, 1);
    CHECK_INT(b.items[5].status, OS_FAIL);
    CHECK_STR(b.items[5].error_type, "illegal_argument_exception");
    CHECK_STR(b.items[5].error_reason, "poisoned batch");
    CHECK_INT(s.requests, 7); /* 8 -> 4+4 -> (2+2) -> (1+1) */
    for (size_t i = 0; i < b.n; i++)
        free(b.items[i].opaque);
    os_batch_free(&b);
    os_client_free(c);
}

static void test_failover(void)
{
    reset_stub();
    char urls[256];
    snprintf(urls, sizeof urls, "http://127.0.0.1:1, %s/", stub.base);
    struct os_options o = {.urls = urls, .connect_timeout_ms = 2000};
    struct os_client *c = client(&o);
    CHECK_INT(os_client_endpoints(c), 2);
    CHECK_STR(os_client_endpoint(c, 1), stub.base);
    struct os_batch b;
    os_batch_init(&b, NULL);
    add(&b, "f1", "{}");
    struct os_bulk_summary s;
    CHECK_INT(os_bulk(c, &b, &s), 0);
    CHECK_INT(s.endpoint, 1);
    CHECK_INT(s.requests, 2);
    CHECK_INT(os_bulk(c, &b, &s), 0);
    CHECK_INT(s.requests, 1); /* sticks to the endpoint that works */
    os_client_free(c);

    /* 503 from one node: the next takes the same request; prefixes are kept. */
    snprintf(urls, sizeof urls, "%s/a,%s/b", stub.base, stub.base);
    o.urls = urls;
    c = client(&o);
    stub_fail(503, 1);
    CHECK_INT(os_bulk(c, &b, &s), 0);
    CHECK_INT(s.endpoint, 1);
    char path[256];
    pystub_stat_str(&stub, "last_path", path, sizeof path);
    CHECK(strncmp(path, "/b/_bulk?", 9) == 0);

    /* All endpoints down: retriable, nothing lost. */
    os_client_free(c);
    o.urls = "http://127.0.0.1:1,http://127.0.0.1:2";
    c = client(&o);
    CHECK_INT(os_bulk(c, &b, &s), -1);
    CHECK_INT(s.status, OS_RETRY);
    CHECK_INT(s.endpoint, -1);
    CHECK_STR(b.items[0].error_type, "transport_error");
    os_batch_free(&b);
    os_client_free(c);
}

static void bulk_once(const struct os_options *o, int want_rc, const char *want_auth)
{
    struct os_client *c = client(o);
    if (!c)
        return;
    struct os_batch b;
    os_batch_init(&b, NULL);
    add(&b, "auth", "{\"u\":1}");
    struct os_bulk_summary s;
    CHECK_INT(os_bulk(c, &b, &s), want_rc);
    char auth[32];
    pystub_stat_str(&stub, "last_auth", auth, sizeof auth);
    CHECK_STR(auth, want_auth);
    os_batch_free(&b);
    os_client_free(c);
}

static void test_auth(void)
{
    struct os_options o = {.urls = stub.base, .auth = OS_AUTH_BASIC, .username = "elastic", .password = "changeme"};
    bulk_once(&o, 0, "basic");
    o.password = "wrong";
    bulk_once(&o, -1, "basic-bad"); /* 403: retriable (configuration), never dropped */

    setenv("AWS_ACCESS_KEY_ID", "AKIDSTUB", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "stubsecret", 1);
    setenv("AWS_SESSION_TOKEN", "stubtoken", 1);
    struct aws_cred_options co = {.sources = AWS_CRED_BIT(AWS_CRED_SRC_ENV)};
    struct aws_cred_provider *p = aws_cred_provider_new(&co);
    struct os_options sv = {.urls = stub.base, .auth = OS_AUTH_SIGV4, .aws_region = "eu-west-1",
                            .creds = p, .gzip = true};
    bulk_once(&sv, 0, "sigv4");
    char svc[64];
    pystub_stat_str(&stub, "last_service", svc, sizeof svc);
    CHECK_STR(svc, "es/eu-west-1");
    char urls[128];
    snprintf(urls, sizeof urls, "%s/prefix/", stub.base);
    sv.urls = urls;
    sv.aws_service = "aoss";
    bulk_once(&sv, 0, "sigv4");
    pystub_stat_str(&stub, "last_service", svc, sizeof svc);
    CHECK_STR(svc, "aoss/eu-west-1");

    struct os_client *c = client(&sv);
    struct os_response r;
    buf_init(&r.body);
    CHECK_INT(os_request(c, "PUT", "/_index_template/t1", "{\"a\":[1]}", 9, &r), 0);
    CHECK_INT(r.status, 200);
    CHECK(strstr(buf_cstr(&r.body), "\"echo\": {\"a\": [1]}") != NULL);
    buf_free(&r.body);
    os_client_free(c);

    setenv("AWS_SECRET_ACCESS_KEY", "wrong", 1);
    aws_cred_invalidate(p);
    sv.aws_service = "es";
    bulk_once(&sv, -1, "sigv4-bad");
    aws_cred_provider_destroy(p);

    /* Region and service from an AWS host name; SigV4 without a region fails. */
    char err[256];
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    setenv("AWS_CONFIG_FILE", "/nonexistent", 1);
    struct os_options bad = {.urls = "https://x.example.com", .auth = OS_AUTH_SIGV4, .creds = NULL};
    CHECK(os_client_new(&bad, err, sizeof err) == NULL);
    CHECK(strstr(err, "region") != NULL);
    struct os_options bogus = {.urls = "ftp://x"};
    CHECK(os_client_new(&bogus, err, sizeof err) == NULL);
    CHECK(strstr(err, "http or https") != NULL);
}

static void test_info(void)
{
    struct os_options o = {.urls = stub.base};
    struct os_client *c = client(&o);
    struct os_cluster_info ci;
    char err[256];
    CHECK_INT(os_cluster_info(c, &ci, err, sizeof err), 0);
    CHECK_STR(ci.distribution, "opensearch");
    CHECK_INT(ci.major, 2);
    CHECK_INT(ci.minor, 19);
    struct os_response r;
    buf_init(&r.body);
    CHECK_INT(os_request(c, "GET", "/_missing", NULL, 0, &r), 0);
    CHECK_INT(r.status, 404);
    buf_free(&r.body);
    os_client_free(c);
}

static void test_mtls(void)
{
    char dir[] = "/tmp/os-stub-tls-XXXXXX";
    if (system("command -v openssl >/dev/null") != 0) {
        fprintf(stderr, "test_mtls: no openssl command to make certificates: skipped\n");
        return;
    }
    if (!mkdtemp(dir))
        return;
    struct pystub tls;
    setenv("OS_STUB_TLS_DIR", dir, 1);
    int rc = pystub_start(&tls, "tests/unit/os_stub.py");
    unsetenv("OS_STUB_TLS_DIR");
    CHECK_INT(rc, 0);
    char url[128], ca[256], cert[256], key[256];
    snprintf(url, sizeof url, "https://127.0.0.1:%d", tls.port);
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    snprintf(cert, sizeof cert, "%s/client.pem", dir);
    snprintf(key, sizeof key, "%s/client.key", dir);
    struct os_options o = {.urls = url, .ca_file = ca, .client_cert = cert, .client_key = key, .gzip = true};
    struct os_client *c = client(&o);
    struct os_batch b;
    os_batch_init(&b, NULL);
    add(&b, "tls", "{}");
    struct os_bulk_summary s;
    CHECK_INT(os_bulk(c, &b, &s), 0);
    os_client_free(c);
    o.client_cert = o.client_key = NULL; /* the server requires a client certificate */
    c = client(&o);
    CHECK_INT(os_bulk(c, &b, &s), -1);
    CHECK_INT(s.status, OS_RETRY);
    os_client_free(c);
    o.ca_file = NULL; /* unknown CA */
    o.client_cert = cert;
    o.client_key = key;
    c = client(&o);
    CHECK_INT(os_bulk(c, &b, &s), -1);
    CHECK_STR(b.items[0].error_type, "transport_error");
    os_client_free(c);
    os_batch_free(&b);
    pystub_stop(&tls);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_INT(system(cmd), 0);
}

int main(void)
{
    test_batch();
    test_classify();
    if (pystub_start(&stub, "tests/unit/os_stub.py") != 0)
        tl_skip("python3 not available for the OpenSearch stub");
    test_items();
    test_whole_request();
    test_failover();
    test_info();
    test_auth();
    test_mtls();
    pystub_stop(&stub);
    return tl_done();
}
