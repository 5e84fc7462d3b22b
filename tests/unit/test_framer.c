/* framer: lines, multiline and JSON framing. Every input is also fed split at
 * every byte (and byte by byte): framing must not depend on chunk boundaries.
 * A 200 MB {"Records":[...]} document checks that memory stays bounded. A
 * restarted framer frames the next stream like a new one, keeping its
 * buffer's memory unless one huge record grew it. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "framer.h"
#include "testlib.h"

/* Records seen, as "line:text" joined by '|'. */
struct seen {
    buf_t text;
    int n;
    int stop_at;     /* return non-zero at this record (1-based), 0 = never */
};

static int collect(void *arg, const char *rec, size_t len, uint64_t line)
{
    struct seen *s = arg;
    if (s->n) buf_putc(&s->text, '|');
    buf_printf(&s->text, "%llu:", (unsigned long long)line);
    buf_append(&s->text, rec, len);
    s->n++;
    return s->stop_at && s->n == s->stop_at ? 5 : 0;
}

struct result {
    char text[4096];
    int rc;
    char err[160];
};

/* Frame in with the given split points (sorted offsets, 0-terminated list). */
static void frame(enum framing mode, const char *split_key, const regex_t *re, const char *in, size_t n,
                  const size_t *cuts, size_t ncuts, struct result *r)
{
    struct seen s = { 0 };
    buf_init(&s.text);
    struct framer f;
    framer_init(&f, mode, split_key, re, collect, &s);
    size_t at = 0;
    r->rc = 0;
    for (size_t i = 0; i <= ncuts && r->rc == 0; i++) {
        size_t to = i < ncuts ? cuts[i] : n;
        r->rc = framer_feed(&f, in + at, to - at);
        at = to;
    }
    if (r->rc == 0) r->rc = framer_finish(&f);
    snprintf(r->err, sizeof r->err, "%s", f.err);
    snprintf(r->text, sizeof r->text, "%.*s", (int)s.text.len, s.text.data ? s.text.data : "");
    framer_free(&f);
    buf_free(&s.text);
}

/* Frame whole, at every single split point, and byte by byte: all must give
 * `want` (and return code `want_rc`). */
static void check_framing(enum framing mode, const char *key, const regex_t *re, const char *in,
                          const char *want, int want_rc)
{
    size_t n = strlen(in);
    struct result r;
    frame(mode, key, re, in, n, NULL, 0, &r);
    if (strcmp(r.text, want) || r.rc != want_rc) fprintf(stderr, "input: %s\nerr: %s\n", in, r.err);
    CHECK_STR(r.text, want);
    CHECK_INT(r.rc, want_rc);
    int bad = 0;
    for (size_t k = 0; k <= n && !bad; k++) {
        frame(mode, key, re, in, n, &k, 1, &r);
        if (strcmp(r.text, want) || r.rc != want_rc) {
            fprintf(stderr, "split at %zu gave %s (rc %d)\n", k, r.text, r.rc);
            bad = 1;
        }
    }
    CHECK(!bad);
    size_t *cuts = malloc((n + 1) * sizeof *cuts);
    for (size_t k = 0; k < n; k++) cuts[k] = k + 1;
    frame(mode, key, re, in, n, cuts, n ? n - 1 : 0, &r);
    free(cuts);
    CHECK_STR(r.text, want);
    CHECK_INT(r.rc, want_rc);
}

/* Input, framing, and the records it must give ("line:text" joined by '|'). */
static const struct framing_case {
    enum framing mode;
    const char *key;     /* JSON split key */
    const char *in, *want;
    int rc;              /* framer_feed/framer_finish result */
} framing_cases[] = {
    /* Lines. */
    {FRAME_LINES, NULL, "a\nb\r\nc", "1:a|2:b|3:c", 0},
    {FRAME_LINES, NULL, "a\nb\n", "1:a|2:b", 0},
    {FRAME_LINES, NULL, "a\n\n\r\nb", "1:a|2:|3:|4:b", 0},
    {FRAME_LINES, NULL, "", "", 0},
    {FRAME_LINES, NULL, "\n", "1:", 0},
    {FRAME_LINES, NULL, "only", "1:only", 0},
    {FRAME_LINES, NULL, "x\r", "1:x", 0},
    {FRAME_LINES, NULL,
     "version account-id\n2 123456789012 eni-1 ACCEPT OK\r\n2 123456789012 eni-2 REJECT OK",
     "1:version account-id|2:2 123456789012 eni-1 ACCEPT OK|3:2 123456789012 eni-2 REJECT OK", 0},
    /* Multiline: a record starts at each line the first-line regex matches. */
    {FRAME_MULTILINE, NULL,
     "2024-01-01 a\n  cont1\n\tcont2\n2024-01-02 b\n2024-01-03 c\r\n  cont\r\n",
     "1:2024-01-01 a\n  cont1\n\tcont2|4:2024-01-02 b|5:2024-01-03 c\n  cont", 0},
    /* Lines before the first first-line make a record of their own. */
    {FRAME_MULTILINE, NULL, "orphan\nmore\n2024-01-01 x\nend", "1:orphan\nmore|3:2024-01-01 x\nend", 0},
    /* No final newline; trailing blank lines are not part of the record. */
    {FRAME_MULTILINE, NULL, "2024-01-01 a\n\n\n", "1:2024-01-01 a", 0},
    {FRAME_MULTILINE, NULL, "2024-01-01 a\n\nb\n", "1:2024-01-01 a\n\nb", 0},
    {FRAME_MULTILINE, NULL, "", "", 0},
    /* JSON Lines and pretty-printed JSON documents. */
    {FRAME_JSON, "Records", "{\"a\":1}\n{\"b\":2}\n", "1:{\"a\":1}|2:{\"b\":2}", 0},
    {FRAME_JSON, "Records",
     "{\n  \"a\": 1,\n  \"b\": [1, 2]\n}\n{\n  \"c\": 3\n}",
     "1:{\n  \"a\": 1,\n  \"b\": [1, 2]\n}|5:{\n  \"c\": 3\n}", 0},
    {FRAME_JSON, NULL, "{\"a\":1}{\"b\":2}", "1:{\"a\":1}|1:{\"b\":2}", 0},
    /* {"Records":[...]} is split into its elements; strings hide brackets and quotes. */
    {FRAME_JSON, "Records",
     "{\"Records\":[{\"a\":1},\n {\"b\":{\"c\":[1,2]}},{\"d\":\"x}]\\\"{\"}]}",
     "1:{\"a\":1}|2:{\"b\":{\"c\":[1,2]}}|2:{\"d\":\"x}]\\\"{\"}", 0},
    {FRAME_JSON, "Records",
     "{ \"Records\" : [ { \"a\" : 1 } ] }\n{\"Records\":[{\"b\":2}]}",
     "1:{ \"a\" : 1 }|2:{\"b\":2}", 0},
    /* Records nested deeper is not the split key; other top-level members are not records. */
    {FRAME_JSON, "Records", "{\"x\":{\"Records\":[1]},\"Records\":[{\"a\":1}],\"y\":[{\"z\":1}]}", "1:{\"a\":1}", 0},
    {FRAME_JSON, "Records", "{\"Records\":{\"a\":1}}", "1:{\"Records\":{\"a\":1}}", 0},
    {FRAME_JSON, "Records", "{\"k\":\"Records\",\"v\":[{\"a\":1}]}", "1:{\"k\":\"Records\",\"v\":[{\"a\":1}]}", 0},
    {FRAME_JSON, "Records", "{\"Records\":[]}", "", 0},
    {FRAME_JSON, NULL, "{\"Records\":[{\"a\":1}]}", "1:{\"Records\":[{\"a\":1}]}", 0},
    /* Top-level arrays: each element is a record. */
    {FRAME_JSON, "Records", "[{\"a\":1},\n{\"b\":[2]}]", "1:{\"a\":1}|2:{\"b\":[2]}", 0},
    {FRAME_JSON, "Records", "[]\n[ ]", "", 0},
    /* Scalar elements are records too (the parser will reject them), never dropped. */
    {FRAME_JSON, "Records", "{\"Records\":[1, \"two\" ,{\"c\":3},null]}", "1:1|1:\"two\"|1:{\"c\":3}|1:null", 0},
    {FRAME_JSON, "Records", "[ 1 , \"a,]\" ]", "1:1|1:\"a,]\"", 0},
    {FRAME_JSON, NULL, "[\"a\",\"b\",\"c\"]", "1:\"a\"|1:\"b\"|1:\"c\"", 0},
    /* Bytes that start no value: the rest of their line is one bad record. */
    {FRAME_JSON, "Records",
     "garbage here\n{\"a\":1}\n\"str\"\n}\n{\"b\":2}",
     "1:garbage here|2:{\"a\":1}|3:\"str\"|4:}|5:{\"b\":2}", 0},
    {FRAME_JSON, "Records", "{\"a\":1} trailing", "1:{\"a\":1}|1:trailing", 0},
    /* A string with a raw newline still counts lines. */
    {FRAME_JSON, NULL, "{\"a\":\"x\ny\"}\n{\"b\":1}", "1:{\"a\":\"x\ny\"}|3:{\"b\":1}", 0},
    /* Deep inside an element: quotes after runs of backslashes, brackets in
     * strings, line breaks in strings and between values. */
    {FRAME_JSON, "Records",
     "{\"Records\":[{\"a\":{\"b\":\"\\\\\",\"c\":\"\\\\\\\"}]\"},\n\"d\":[\"x\ny\",{\"e\":[]}]},\n{\"f\":{\n}}]}\n{\"g\":1}",
     "1:{\"a\":{\"b\":\"\\\\\",\"c\":\"\\\\\\\"}]\"},\n\"d\":[\"x\ny\",{\"e\":[]}]}|4:{\"f\":{\n}}|6:{\"g\":1}", 0},
    /* A top-level key without its colon: the nested colon still ends it. */
    {FRAME_JSON, "Records", "{\"Records\" {\"x\":1} :[{\"a\":1}]}", "1:{\"Records\" {\"x\":1} :[{\"a\":1}]}", 0},
    /* JSON cut short: the records before the cut, then an error. */
    {FRAME_JSON, "Records", "{\"Records\":[{\"a\":1},{\"b\":", "1:{\"a\":1}", -1},
    {FRAME_JSON, "Records", "{\"a\":\"unterminated", "", -1},
    {FRAME_JSON, "Records", "{\"a\":1}\n{", "1:{\"a\":1}", -1},
    {FRAME_JSON, "Records", "[1,2", "1:1", -1},
};

static void test_framing_cases(void)
{
    regex_t re;
    CHECK_INT(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2} ", REG_EXTENDED | REG_NOSUB), 0);
    for (size_t i = 0; i < sizeof framing_cases / sizeof framing_cases[0]; i++) {
        const struct framing_case *c = &framing_cases[i];
        check_framing(c->mode, c->key, c->mode == FRAME_MULTILINE ? &re : NULL, c->in, c->want, c->rc);
    }
    regfree(&re);
}

static void test_lines_limits(void)
{
    /* A line longer than the limit is an error naming its line. */
    struct seen s = { 0 };
    buf_init(&s.text);
    struct framer f;
    framer_init(&f, FRAME_LINES, NULL, NULL, collect, &s);
    f.max_record = 16;
    CHECK_INT(framer_feed(&f, "short\n", 6), 0);
    CHECK_INT(framer_feed(&f, "0123456789", 10), 0);
    CHECK_INT(framer_feed(&f, "0123456789", 10), -1);
    CHECK(strstr(f.err, "line 2") != NULL);
    framer_free(&f);
    /* A non-zero callback return stops framing and is passed up. */
    buf_reset(&s.text);
    s.n = 0;
    s.stop_at = 2;
    framer_init(&f, FRAME_LINES, NULL, NULL, collect, &s);
    CHECK_INT(framer_feed(&f, "a\nb\nc\n", 6), 5);
    CHECK_INT(s.n, 2);
    framer_free(&f);
    buf_free(&s.text);
}

static void test_json_truncated(void)
{
    struct result r;
    const char *in = "{\"a\":1}\n\n{\"b\":[";
    frame(FRAME_JSON, NULL, NULL, in, strlen(in), NULL, 0, &r);
    CHECK(strstr(r.err, "truncated") && strstr(r.err, "line 3"));
    /* A record over the limit. */
    struct seen s = { 0 };
    buf_init(&s.text);
    struct framer f;
    framer_init(&f, FRAME_JSON, "Records", NULL, collect, &s);
    f.max_record = 64;
    const char *small = "{\"Records\":[{\"a\":1},";
    CHECK_INT(framer_feed(&f, small, strlen(small)), 0);
    char big[100];
    memset(big, ' ', sizeof big);
    big[0] = '{';
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++) rc = framer_feed(&f, big, sizeof big);
    CHECK_INT(rc, -1);
    CHECK(strstr(f.err, "longer than 64") != NULL);
    CHECK_INT(s.n, 1);
    framer_free(&f);
    buf_free(&s.text);
}

/* ---- a 200 MB CloudTrail object through 64 KB chunks ---------------------- */

struct big {
    uint64_t n, bad;
    size_t max_acc;
};

static int count_record(void *arg, const char *rec, size_t len, uint64_t line)
{
    struct big *b = arg;
    char want[32];
    int wl = snprintf(want, sizeof want, "\"eventID\":\"%llu\"", (unsigned long long)b->n);
    if (len < 2 || rec[0] != '{' || rec[len - 1] != '}' || !memmem(rec, len, want, (size_t)wl)) b->bad++;
    b->n++;
    return 0;
}

static size_t make_record(char *out, uint64_t i)
{
    return (size_t)sprintf(out,
        "{\"eventVersion\":\"1.08\",\"eventTime\":\"2026-11-28T03:51:22Z\",\"eventSource\":\"s3.amazonaws.com\","
        "\"eventName\":\"GetObject\",\"sourceIPAddress\":\"192.0.2.%llu\",\"userAgent\":\"[aws-cli/2.0 \\\"x\\\"]\","
        "\"requestParameters\":{\"bucketName\":\"b\",\"key\":\"k/%llu.json}]\",\"tags\":[1,2,{\"x\":[]}]},"
        "\"resources\":[{\"ARN\":\"arn:aws:s3:::b/k\",\"type\":\"AWS::S3::Object\"}],"
        "\"padding\":\"%0*d\",\"eventID\":\"%llu\"}",
        (unsigned long long)(i % 250), (unsigned long long)i, (int)(200 + i % 700), 0, (unsigned long long)i);
}

static void test_json_bounded_memory(void)
{
    const size_t target = 200u << 20, chunk = 64u << 10;
    struct big b = { 0 };
    struct framer f;
    framer_init(&f, FRAME_JSON, "Records", NULL, count_record, &b);
    buf_t pending;
    buf_init(&pending);
    buf_puts(&pending, "{\"Records\":[\n");
    size_t total = 0, max_rec = 0;
    uint64_t made = 0;
    char rec[2048];
    int rc = 0;
    while (rc == 0 && total < target) {
        while (pending.len < chunk) {
            size_t l = make_record(rec, made);
            if (l > max_rec) max_rec = l;
            if (made++) buf_putc(&pending, ',');
            buf_append(&pending, rec, l);
        }
        rc = framer_feed(&f, pending.data, chunk);
        buf_consume(&pending, chunk);
        total += chunk;
        if (f.acc.len > b.max_acc) b.max_acc = f.acc.len;
    }
    buf_puts(&pending, "\n]}\n");
    if (rc == 0) rc = framer_feed(&f, pending.data, pending.len);
    if (rc == 0) rc = framer_finish(&f);
    CHECK_INT(rc, 0);
    CHECK_INT(b.n, made);
    CHECK_INT(b.bad, 0);
    /* What stays buffered between feeds is at most the record in progress. */
    if (b.max_acc > max_rec) fprintf(stderr, "framer kept %zu bytes (largest record %zu)\n", b.max_acc, max_rec);
    CHECK(b.max_acc <= max_rec);
    /* The buffer's allocation: one chunk plus a few records, not the object. */
    CHECK(f.acc.cap <= 2 * (chunk + 4 * max_rec));
    printf("200 MB Records document: %llu records, at most %zu bytes kept between feeds, buffer %zu bytes\n",
           (unsigned long long)b.n, b.max_acc, f.acc.cap);
    framer_free(&f);
    buf_free(&pending);
}

static void test_restart(void)
{
    struct seen s = { 0 };
    buf_init(&s.text);
    struct framer f;
    framer_init(&f, FRAME_JSON, "Records", NULL, collect, &s);
    const char *half = "{\"Records\":[{\"a\":1},{\"b\":";
    CHECK_INT(framer_feed(&f, half, strlen(half)), 0);             /* ends mid-record: bytes left in acc */
    size_t cap = f.acc.cap;
    CHECK(cap > 0);
    framer_restart(&f, FRAME_LINES, NULL, NULL, collect, &s);
    CHECK_INT(f.acc.cap, cap);                                      /* the memory is kept ... */
    s.n = 0;
    buf_reset(&s.text);
    const char *lines = "x\ny\n";
    CHECK_INT(framer_feed(&f, lines, strlen(lines)), 0);
    CHECK_INT(framer_finish(&f), 0);
    CHECK_STR(buf_cstr(&s.text), "1:x|2:y");                         /* ... nothing of the old stream is */
    size_t big = (5u << 20) + 1;
    char *rec = malloc(big);
    memset(rec, 'z', big);
    CHECK_INT(framer_feed(&f, rec, big), 0);                        /* one line longer than what is kept */
    framer_restart(&f, FRAME_LINES, NULL, NULL, collect, &s);
    CHECK_INT(f.acc.cap, 0);
    framer_free(&f);
    buf_free(&s.text);
    free(rec);
}

int main(void)
{
    test_framing_cases();
    test_lines_limits();
    test_json_truncated();
    test_json_bounded_memory();
    test_restart();
    return tl_done();
}
