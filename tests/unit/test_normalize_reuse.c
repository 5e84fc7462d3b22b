/* normalize: what the normalizer keeps from one record or object to the next
 * to save work -- the facts of the S3 key, formatted dates, the shape of the
 * last document, op splits -- must never show in a later one. One normalizer
 * runs objects whose keys are written into the same buffer, and records whose
 * times outnumber the dates it keeps and whose fields come and go. */
#include "golden_run.h"

struct docs {
    json_t *d[16];
    int n;
};

static int keep_doc(void *arg, const struct ingest_event *ev)
{
    struct docs *out = arg;
    buf_t b;
    buf_init(&b);
    doc_emit(ev->doc, &b);
    json_error_t je;
    json_t *j = json_loadb(b.data, b.len, 0, &je);
    CHECK(j != NULL);
    if (j && out->n < 16) out->d[out->n++] = j;
    else json_decref(j);
    buf_free(&b);
    return 0;
}

static void run(struct normalizer *nz, const char *key, const char *data, struct docs *out)
{
    memset(out, 0, sizeof *out);
    struct ingest_cb cb = { keep_doc, NULL, NULL };
    struct ingest *ig = ingest_new(&golden_schemas, nz, &cb, out);
    struct ingest_object obj = { .type = "vpcflowlogs", .s3_key = key, .origin = "test" };
    if (ingest_begin(ig, &obj) == 0) ingest_feed(ig, data, strlen(data));
    CHECK_INT(ingest_end(ig), INGEST_OK);
    ingest_free(ig);
}

static void drop(struct docs *out)
{
    for (int i = 0; i < out->n; i++) json_decref(out->d[i]);
    out->n = 0;
}

static const char *text(json_t *doc, const char *path)
{
    json_t *v = golden_at(doc, path);
    return json_is_string(v) ? json_string_value(v) : "(absent)";
}

/* Two keys of the same length in one buffer: the second object's documents
 * carry the second key, its account and region, escaped as it needs. */
static void test_key_buffer_reuse(struct normalizer *nz)
{
    static const struct { const char *key, *region; } objects[] = {
        {"AWSLogs/111111111111/vpcflowlogs/us-east-1/2026/11/28/xyz", "us-east-1"},
        {"AWSLogs/222222222222/vpcflowlogs/eu-west-1/2026/11/28/y\"z", "eu-west-1"},
    };
    char key[128];
    const char *line = "2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1700000000 1700000060 ACCEPT OK\n";
    struct docs out;
    for (size_t i = 0; i < sizeof objects / sizeof objects[0]; i++) {
        snprintf(key, sizeof key, "%s", objects[i].key);
        run(nz, key, line, &out);
        CHECK_INT(out.n, 1);
        if (out.n) {
            CHECK_STR(text(out.d[0], "aws.s3.object.key"), key);
            CHECK_STR(text(out.d[0], "cloud.region"), objects[i].region);
            CHECK_STR(text(out.d[0], "cloud.account.id"), "123456789012");    /* the record's own wins */
        }
        drop(&out);
    }
}

/* Six records, each with its own start and end: more distinct times than
 * the normalizer keeps formatted, and fields that come and go. */
static void test_records(struct normalizer *nz)
{
    buf_t data;
    buf_init(&data);
    for (int i = 0; i < 6; i++) {
        long long start = 1700000000LL + i * 7, end = start + 60 + i;
        buf_printf(&data, "2 123456789012 eni-%d 10.0.0.%d 10.0.0.2 %s 49152 6 10 840 %lld %lld %s OK\n", i, i + 1,
                   i % 2 ? "-" : "443", start, end, i % 3 ? "ACCEPT" : "REJECT");
    }
    struct docs out;
    run(nz, "AWSLogs/111111111111/vpcflowlogs/us-east-1/2026/11/28/records", buf_cstr(&data), &out);
    CHECK_INT(out.n, 6);
    for (int i = 0; i < out.n; i++) {
        char want[32], ip[32];
        long long start = 1700000000LL + i * 7, end = start + 60 + i;
        ts_format_iso(start * 1000, want);
        CHECK_STR(text(out.d[i], "event.start"), want);
        ts_format_iso(end * 1000, want);
        CHECK_STR(text(out.d[i], "event.end"), want);
        CHECK_STR(text(out.d[i], "@timestamp"), want);
        snprintf(ip, sizeof ip, "10.0.0.%d", i + 1);
        CHECK_STR(text(out.d[i], "source.ip"), ip);
        CHECK_STR(text(out.d[i], "event.outcome"), i % 3 ? "success" : "failure");
        CHECK(i % 2 ? golden_at(out.d[i], "source.port") == NULL
                    : json_integer_value(golden_at(out.d[i], "source.port")) == 443);
    }
    drop(&out);
    buf_free(&data);
}

int main(void)
{
    golden_init();
    struct normalizer *nz = normalizer_new(NULL);
    test_key_buffer_reuse(nz);
    test_records(nz);
    test_key_buffer_reuse(nz);
    normalizer_free(nz);
    schema_set_free(&golden_schemas);
    return tl_done();
}
