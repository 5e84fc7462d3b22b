/* Shared by the ingest-level fuzz targets: runs bytes through the whole
 * object path (decode -> frame -> parse -> normalize -> emit) with a forced
 * log type, fed in two chunks, and checks what comes out: every document is
 * valid JSON without duplicate keys, has an index and an id, and every record
 * ends in exactly one of on_doc / on_skip / on_fail as the counters say. */
#ifndef FUZZ_INGEST_HARNESS_H
#define FUZZ_INGEST_HARNESS_H
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ingest.h"

struct harness {
    struct schema_set set;
    struct normalizer *nz;
    struct ingest *ig;
    buf_t out;
    uint64_t docs, skips, fails;
};

static int harness_doc(void *arg, const struct ingest_event *ev)
{
    struct harness *h = arg;
    h->docs++;
    buf_reset(&h->out);
    doc_emit(ev->doc, &h->out);
    json_error_t err;
    json_t *j = json_loadb(h->out.data, h->out.len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &err);
    if (!j || !ev->res->index[0] || !ev->res->id[0]) {
        fprintf(stderr, "bad document (%s): %.*s\n", j ? "no index or id" : err.text, (int)h->out.len, h->out.data);
        abort();
    }
    json_decref(j);
    return 0;
}

static void harness_skip(void *arg, const struct ingest_event *ev) { ((struct harness *)arg)->skips++; }
static void harness_fail(void *arg, const struct ingest_event *ev)
{
    if (!ev->message || !ev->message[0]) abort();       /* a failure always says why */
    ((struct harness *)arg)->fails++;
}

static struct harness *harness_get(void)
{
    static struct harness h;
    static int ready;
    if (ready) return &h;
    char err[512];
    if (ecs_load(SIEMPROC_SCHEMA_DIR "/ecs_fields.tsv", err, sizeof err) < 0 ||
        schema_set_load(&h.set, SIEMPROC_SCHEMA_DIR, err, sizeof err) < 0) {
        fprintf(stderr, "fuzz harness: %s\n", err);
        abort();
    }
    static const struct ingest_cb cb = { harness_doc, harness_skip, harness_fail };
    h.nz = normalizer_new(NULL);
    h.ig = ingest_new(&h.set, h.nz, &cb, &h);
    buf_init(&h.out);
    ready = 1;
    return &h;
}

static uint64_t harness_total(const struct harness *h)
{
    uint64_t n = 0;
    const struct ingest_stats *s = ingest_stats(h->ig);
    for (int i = 0; i <= h->set.n; i++) n += s->by_type[i].parsed + s->by_type[i].skipped + s->by_type[i].failed;
    return n;
}

/* One object of `type`: data[0] picks the split point of the rest. */
static void harness_run(const char *type, const uint8_t *data, size_t size)
{
    if (size < 1) return;
    struct harness *h = harness_get();
    size_t n = size - 1, split = (size_t)data[0] * n / 255;
    const uint8_t *in = data + 1;
    uint64_t before = harness_total(h), seen = h->docs + h->skips + h->fails;
    struct ingest_object obj = { .type = type, .origin = "fuzz", .delivery_ms = 1795837882000LL };
    if (ingest_begin(h->ig, &obj) == 0 && ingest_feed(h->ig, in, split) >= 0)
        ingest_feed(h->ig, in + split, n - split);
    int st = ingest_end(h->ig);
    if (st < 0 && !ingest_error(h->ig)[0]) abort();      /* a failed object says why */
    if (harness_total(h) - before != h->docs + h->skips + h->fails - seen) abort();
}
#endif
