/* test_sink_metrics.c - the OpenSearch sink's _bulk series against
 * tests/unit/os_stub.py: one duration observation and one request outcome
 * (ok, retry, fail) per batch, and every item counted under its HTTP status
 * ("none" when no answer arrived), also when a batch holds more distinct
 * statuses than the sink tallies at once. */
#include <stdio.h>
#include <string.h>

#include "metrics.h"
#include "pystub.h"
#include "sink.h"
#include "testlib.h"

static struct pystub stub;

static double items(const char *status)
{
    return mseries_value(METRIC_GET(metrics_std()->bulk_items, status));
}

static double outcomes(const char *outcome)
{
    return mseries_value(METRIC_GET(metrics_std()->bulk_requests, outcome));
}

static double batches(void)
{
    return mseries_value(metric_get(metrics_std()->bulk_duration, NULL));
}

/* Write one batch of documents {"want": status} (0: the stub's default, 201). */
static void write_batch(struct sink *sk, const int *want, int n)
{
    struct os_batch b;
    struct os_bulk_summary s;
    char id[16], doc[32];
    const char *why;
    os_batch_init(&b, sk->action);
    for (int i = 0; i < n; i++) {
        snprintf(id, sizeof id, "d%d", i);
        snprintf(doc, sizeof doc, want[i] ? "{\"want\":%d}" : "{}", want[i]);
        CHECK_INT(os_batch_add(&b, "logs-m", 6, id, strlen(id), doc, strlen(doc), NULL, &why), 0);
    }
    sink_write(sk, &b, &s);
    os_batch_free(&b);
}

static void test_statuses_and_outcomes(struct sink *sk)
{
    /* Ten distinct statuses: more than one tally holds, 201 on both sides of the overflow. */
    static const int mixed[] = { 201, 409, 201, 429, 400, 503, 403, 404, 500, 502, 504, 409, 201, 201 };
    write_batch(sk, mixed, (int)(sizeof mixed / sizeof mixed[0]));
    CHECK(items("201") == 4);
    CHECK(items("409") == 2);
    static const char *const once[] = { "429", "400", "503", "403", "404", "500", "502", "504" };
    for (size_t i = 0; i < sizeof once / sizeof once[0]; i++) CHECK(items(once[i]) == 1);
    CHECK(outcomes("retry") == 1);   /* 429/503/5xx items are to be sent again */
    CHECK(batches() == 1);

    static const int good[] = { 0, 0, 0 }, refused[] = { 201, 400 };
    write_batch(sk, good, 3);
    CHECK(outcomes("ok") == 1);
    CHECK(items("201") == 7);
    write_batch(sk, refused, 2);
    CHECK(outcomes("fail") == 1);    /* nothing to re-send, one refused for good */
    CHECK(items("400") == 2);
    CHECK(batches() == 3);
}

static void test_no_answer(struct sink *sk)
{
    char buf[8192];
    pystub_get(&stub, "/_fail?status=0&times=2", buf); /* curl re-sends once on a dead reused connection */
    static const int two[] = { 0, 0 };
    double retries = outcomes("retry");
    write_batch(sk, two, 2);
    CHECK(items("none") == 2);
    CHECK(items("0") == 0);
    CHECK(outcomes("retry") == retries + 1);
    CHECK(batches() == 4);
}

static void test_exposed(void)
{
    buf_t out;
    buf_init(&out);
    metrics_expose(metrics_global(), &out);
    const char *text = buf_cstr(&out);
    CHECK(strstr(text, "siemproc_bulk_items_total{status=\"201\"} 8\n") != NULL);
    CHECK(strstr(text, "siemproc_bulk_requests_total{outcome=\"ok\"} 1\n") != NULL);
    CHECK(strstr(text, "siemproc_bulk_duration_seconds_count 4\n") != NULL);
    buf_free(&out);
}

int main(void)
{
    if (pystub_start(&stub, "tests/unit/os_stub.py") != 0)
        tl_skip("python3 not available for the OpenSearch stub");
    struct os_options o = { .urls = stub.base };
    char err[256] = "";
    struct sink *sk = sink_opensearch_new(&o, err, sizeof err);
    CHECK(sk != NULL);
    if (sk) {
        CHECK(outcomes("ok") == 0 && batches() == 0);
        test_statuses_and_outcomes(sk);
        test_no_answer(sk);
        test_exposed();
        sink_free(sk);
    }
    pystub_stop(&stub);
    return tl_done();
}
