/* decode: plain and gzip input, fed whole, in chunks and byte by byte;
 * concatenated members; truncated and corrupt streams are errors; one
 * decoder restarted for object after object (whatever state the previous
 * one ended in) decodes each like a new one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "buf.h"
#include "decode.h"
#include "testlib.h"

struct sink {
    buf_t data;
    int stop_after;     /* return non-zero from the callback after this many calls (0 = never) */
    int calls;
};

static int collect(void *arg, const char *p, size_t n)
{
    struct sink *s = arg;
    buf_append(&s->data, p, n);
    s->calls++;
    return s->stop_after && s->calls >= s->stop_after ? 7 : 0;
}

/* One gzip member of in. */
static void gzip(const char *in, size_t n, buf_t *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    size_t bound = deflateBound(&z, (uLong)n);
    buf_reserve(out, bound);
    z.next_in = (unsigned char *)in;
    z.avail_in = (uInt)n;
    z.next_out = (unsigned char *)out->data + out->len;
    z.avail_out = (uInt)bound;
    deflate(&z, Z_FINISH);
    out->len += bound - z.avail_out;
    deflateEnd(&z);
}

/* Decode in, fed in chunks of `chunk` bytes. Returns the first non-zero rc of
 * feed or finish; the output is in s->data. */
static int run(const char *in, size_t n, size_t chunk, struct sink *s, char *err, size_t errlen)
{
    struct decoder d;
    decoder_init(&d, collect, s);
    int rc = 0;
    for (size_t off = 0; off < n && rc == 0; off += chunk)
        rc = decoder_feed(&d, in + off, n - off < chunk ? n - off : chunk);
    if (rc == 0) rc = decoder_finish(&d);
    if (err) snprintf(err, errlen, "%s", d.err);
    decoder_free(&d);
    return rc;
}

static char *sample_text(size_t n)
{
    char *t = malloc(n);
    unsigned x = 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        t[i] = (i % 97 == 96) ? '\n' : (char)('a' + (x >> 16) % 26);
    }
    return t;
}

static int same(const buf_t *b, const char *p, size_t n) { return b->len == n && memcmp(b->data, p, n) == 0; }

static void test_plain(void)
{
    static const size_t chunks[] = { 1, 2, 3, 7, 4096, 1 << 20 };
    const char *text = "2 123456789012 eni-0123 192.0.2.1 198.51.100.7 443 49152 6 10 840 1 2 ACCEPT OK\n";
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        struct sink s = { 0 };
        CHECK_INT(run(text, strlen(text), chunks[c], &s, NULL, 0), 0);
        CHECK(same(&s.data, text, strlen(text)));
        buf_free(&s.data);
    }
    /* Empty and one-byte inputs. */
    struct sink s = { 0 };
    CHECK_INT(run("", 0, 1, &s, NULL, 0), 0);
    CHECK_INT(s.data.len, 0);
    CHECK_INT(run("x", 1, 1, &s, NULL, 0), 0);
    CHECK(same(&s.data, "x", 1));
    buf_reset(&s.data);
    /* 0x1f alone, or followed by something else, is text. */
    CHECK_INT(run("\x1fZ", 2, 1, &s, NULL, 0), 0);
    CHECK(same(&s.data, "\x1fZ", 2));
    buf_free(&s.data);
}

static void test_gzip(void)
{
    size_t n = 3 << 20;
    char *text = sample_text(n);
    buf_t gz;
    buf_init(&gz);
    gzip(text, n, &gz);
    static const size_t chunks[] = { 2, 3, 1000, 65536, 1 << 24 };
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        struct sink s = { 0 };
        CHECK_INT(run(gz.data, gz.len, chunks[c], &s, NULL, 0), 0);
        CHECK(same(&s.data, text, n));
        buf_free(&s.data);
    }
    /* Byte by byte over a smaller object. */
    buf_t small;
    buf_init(&small);
    gzip(text, 5000, &small);
    struct sink s = { 0 };
    CHECK_INT(run(small.data, small.len, 1, &s, NULL, 0), 0);
    CHECK(same(&s.data, text, 5000));
    buf_free(&s.data);
    /* Counters. */
    struct decoder d;
    struct sink s2 = { 0 };
    decoder_init(&d, collect, &s2);
    CHECK_INT(decoder_feed(&d, small.data, small.len), 0);
    CHECK_INT(decoder_finish(&d), 0);
    CHECK_INT(d.in_bytes, small.len);
    CHECK_INT(d.out_bytes, 5000);
    decoder_free(&d);
    buf_free(&s2.data);
    /* The empty string compressed. */
    buf_reset(&small);
    gzip("", 0, &small);
    CHECK_INT(run(small.data, small.len, 1, &s, NULL, 0), 0);
    CHECK_INT(s.data.len, 0);
    buf_free(&s.data);
    buf_free(&small);
    buf_free(&gz);
    free(text);
}

static void test_multi_member(void)
{
    const char *a = "first member\n", *b = "second member\n", *c = "third\n";
    buf_t gz;
    buf_init(&gz);
    gzip(a, strlen(a), &gz);
    gzip(b, strlen(b), &gz);
    gzip("", 0, &gz);
    gzip(c, strlen(c), &gz);
    for (size_t chunk = 1; chunk <= gz.len; chunk = chunk * 2 + 1) {
        struct sink s = { 0 };
        CHECK_INT(run(gz.data, gz.len, chunk, &s, NULL, 0), 0);
        CHECK(same(&s.data, "first member\nsecond member\nthird\n", strlen(a) + strlen(b) + strlen(c)));
        buf_free(&s.data);
    }
    /* Zero padding after the last member is ignored. */
    buf_append(&gz, "\0\0\0\0", 4);
    struct sink s = { 0 };
    CHECK_INT(run(gz.data, gz.len, 5, &s, NULL, 0), 0);
    CHECK_INT(s.data.len, strlen(a) + strlen(b) + strlen(c));
    buf_free(&s.data);
    /* Anything else after a member is corrupt data, not silently dropped. */
    buf_append(&gz, "trailing junk", 13);
    char err[128];
    CHECK_INT(run(gz.data, gz.len, 4096, &s, err, sizeof err), -1);
    CHECK(strstr(err, "corrupt") != NULL);
    buf_free(&s.data);
    buf_free(&gz);
}

static void test_truncated(void)
{
    char *text = sample_text(200000);
    buf_t gz;
    buf_init(&gz);
    gzip(text, 200000, &gz);
    /* Every cut point short of the end is an error, whatever the feeding. */
    size_t cuts[] = { 2, 3, 10, 11, 100, gz.len / 2, gz.len - 8, gz.len - 4, gz.len - 1 };
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        for (size_t chunk = 1; chunk <= 65536; chunk *= 256) {
            struct sink s = { 0 };
            char err[128] = "";
            int rc = run(gz.data, cuts[i], chunk, &s, err, sizeof err);
            if (rc != -1) fprintf(stderr, "cut at %zu of %zu, chunk %zu: rc %d\n", cuts[i], gz.len, chunk, rc);
            CHECK_INT(rc, -1);
            CHECK(strstr(err, "truncated") != NULL || strstr(err, "corrupt") != NULL);
            buf_free(&s.data);
        }
    }
    /* A truncated second member. */
    buf_t two;
    buf_init(&two);
    gzip("a\n", 2, &two);
    size_t first = two.len;
    gzip("b\n", 2, &two);
    struct sink s = { 0 };
    char err[128];
    CHECK_INT(run(two.data, first + 5, 3, &s, err, sizeof err), -1);
    CHECK(strstr(err, "truncated") != NULL);
    buf_free(&s.data);
    buf_free(&two);
    buf_free(&gz);
    free(text);
}

static void test_corrupt(void)
{
    char *text = sample_text(100000);
    buf_t gz;
    buf_init(&gz);
    gzip(text, 100000, &gz);
    /* A flipped byte in the deflate data or the CRC trailer. */
    size_t spots[] = { 12, gz.len / 3, gz.len - 6 };
    for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++) {
        buf_t bad;
        buf_init(&bad);
        buf_append(&bad, gz.data, gz.len);
        bad.data[spots[i]] ^= 0x55;
        struct sink s = { 0 };
        char err[128] = "";
        CHECK_INT(run(bad.data, bad.len, 4096, &s, err, sizeof err), -1);
        CHECK(strstr(err, "corrupt") != NULL || strstr(err, "truncated") != NULL);
        buf_free(&s.data);
        buf_free(&bad);
    }
    /* A gzip header with a bad compression method. */
    struct sink s = { 0 };
    char err[128] = "";
    CHECK_INT(run("\x1f\x8b\x09\x00\x00\x00\x00\x00\x00\x03xxxxxxxx", 18, 1, &s, err, sizeof err), -1);
    CHECK(strstr(err, "corrupt") != NULL);
    buf_free(&s.data);
    buf_free(&gz);
    free(text);
}

static void test_stop(void)
{
    /* A non-zero return from the callback stops decoding and is passed up. */
    char *text = sample_text(1 << 20);
    buf_t gz;
    buf_init(&gz);
    gzip(text, 1 << 20, &gz);
    struct sink s = { .stop_after = 2 };
    CHECK_INT(run(gz.data, gz.len, gz.len, &s, NULL, 0), 7);
    CHECK_INT(s.calls, 2);
    buf_free(&s.data);
    struct sink p = { .stop_after = 1 };
    CHECK_INT(run(text, 100, 10, &p, NULL, 0), 7);
    buf_free(&p.data);
    buf_free(&gz);
    free(text);
}

/* Feed one object to a decoder restarted for it; the rc of feed or finish. */
static int restarted(struct decoder *d, struct sink *s, const char *in, size_t n, size_t chunk)
{
    decoder_restart(d);
    s->data.len = 0;
    s->calls = 0;
    int rc = 0;
    for (size_t off = 0; off < n && rc == 0; off += chunk)
        rc = decoder_feed(d, in + off, n - off < chunk ? n - off : chunk);
    return rc ? rc : decoder_finish(d);
}

static void test_restart(void)
{
    char *text = sample_text(300000);
    buf_t gz, bad;
    buf_init(&gz);
    buf_init(&bad);
    gzip(text, 300000, &gz);
    buf_append(&bad, gz.data, gz.len);
    bad.data[gz.len / 2] ^= 0x55;
    struct sink s = { 0 };
    struct decoder d;
    decoder_init(&d, collect, &s);
    CHECK_INT(restarted(&d, &s, gz.data, gz.len, 4096), 0);
    CHECK(same(&s.data, text, 300000));
    CHECK_INT(restarted(&d, &s, text, 5000, 333), 0);              /* plain after gzip */
    CHECK(same(&s.data, text, 5000));
    CHECK_INT(restarted(&d, &s, bad.data, bad.len, 4096), -1);     /* a corrupt one ... */
    CHECK_INT(restarted(&d, &s, gz.data, gz.len / 3, 4096), -1);   /* ... a truncated one ... */
    s.stop_after = 1;
    CHECK_INT(restarted(&d, &s, gz.data, gz.len, 4096), 7);        /* ... one stopped half-way ... */
    s.stop_after = 0;
    CHECK_INT(restarted(&d, &s, gz.data, gz.len, 1000), 0);        /* ... and the next is whole again */
    CHECK(same(&s.data, text, 300000));
    CHECK_INT(d.in_bytes, gz.len);
    CHECK_INT(d.out_bytes, 300000);
    decoder_free(&d);
    buf_free(&s.data);
    buf_free(&gz);
    buf_free(&bad);
    free(text);
}

int main(void)
{
    test_plain();
    test_gzip();
    test_multi_member();
    test_truncated();
    test_corrupt();
    test_stop();
    test_restart();
    return tl_done();
}
