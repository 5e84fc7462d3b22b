/* golden_run.h -- run the real engine (schemas/ + ingest) over one file and
 * keep every document as a jansson object, with its id, index and the
 * parsed/skipped/failed counters, for the golden tests of the log types.
 * Documents are looked up by dotted ECS path ("source.geo.location.lat"). */
#ifndef GOLDEN_RUN_H
#define GOLDEN_RUN_H
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ecs.h"
#include "ingest.h"
#include "normalize.h"
#include "schema.h"
#include "testlib.h"

#define GOLDEN_MAX_DOCS 256

struct golden_run {
    json_t  *docs[GOLDEN_MAX_DOCS];
    char     ids[GOLDEN_MAX_DOCS][128];
    char     index[GOLDEN_MAX_DOCS][192];
    int      n;
    uint64_t parsed, skipped, failed;
    int      status;                      /* ingest_end() */
    char     last_error[256];
};

static struct schema_set golden_schemas;
static struct geoip *golden_geoip;          /* used by the next runs when set */

/* Load the ECS table and every schema of the source tree; exits on error. */
static inline void golden_init(void)
{
    char err[512];
    if (ecs_load(tl_src("schemas/ecs_fields.tsv"), err, sizeof err) < 0 ||
        schema_set_load(&golden_schemas, tl_src("schemas"), err, sizeof err) < 0) {
        fprintf(stderr, "cannot load schemas: %s\n", err);
        exit(1);
    }
}

static inline void golden_free(struct golden_run *r)
{
    for (int i = 0; i < r->n; i++) json_decref(r->docs[i]);
    memset(r, 0, sizeof *r);
}

static inline int golden_on_doc(void *arg, const struct ingest_event *ev)
{
    struct golden_run *r = arg;
    if (r->n == GOLDEN_MAX_DOCS) return 0;
    buf_t b;
    buf_init(&b);
    doc_emit(ev->doc, &b);
    if (memchr(b.data, '\n', b.len)) tl_fail(__FILE__, __LINE__, "document is one line", ev->res->id);
    json_error_t je;
    json_t *d = json_loadb(b.data, b.len, 0, &je);
    if (!d) tl_fail(__FILE__, __LINE__, "document is valid JSON", je.text);
    buf_free(&b);
    r->docs[r->n] = d;
    snprintf(r->ids[r->n], sizeof r->ids[0], "%s", ev->res->id);
    snprintf(r->index[r->n], sizeof r->index[0], "%s", ev->res->index);
    r->n++;
    return 0;
}

static inline void golden_on_fail(void *arg, const struct ingest_event *ev)
{
    struct golden_run *r = arg;
    snprintf(r->last_error, sizeof r->last_error, "line %llu: %s", (unsigned long long)ev->line, ev->message);
}

/* Bytes of one object through the engine. type NULL = detect (from s3_key or
 * the CloudWatch Logs payload's log group). */
static inline void golden_run_bytes(struct golden_run *r, const char *type, const char *s3_key, const char *origin,
                                    const char *data, size_t len, int keep_original)
{
    memset(r, 0, sizeof *r);
    struct normalizer_opts o = { .geoip = golden_geoip, .keep_original = keep_original };
    struct normalizer *nz = normalizer_new(&o);
    struct ingest_cb cb = { golden_on_doc, NULL, golden_on_fail };
    struct ingest *ig = ingest_new(&golden_schemas, nz, &cb, r);
    struct ingest_object obj = { .type = type, .s3_key = s3_key, .origin = origin, .delivery_ms = 1700000000000LL,
                                 .key_is_local = 1 };
    if (ingest_begin(ig, &obj) == 0) ingest_feed(ig, data, len);
    r->status = ingest_end(ig);
    if (r->status < 0) snprintf(r->last_error, sizeof r->last_error, "%s", ingest_error(ig));
    const struct ingest_stats *st = ingest_stats(ig);
    for (int i = 0; i <= golden_schemas.n; i++) {
        r->parsed += st->by_type[i].parsed;
        r->skipped += st->by_type[i].skipped;
        r->failed += st->by_type[i].failed;
    }
    ingest_free(ig);
    normalizer_free(nz);
}

/* A file through the engine; 0, or -1 when the file cannot be read. */
static inline int golden_run_file(struct golden_run *r, const char *type, const char *path, int keep_original)
{
    size_t len;
    char *data = tl_read_file(path, &len);
    if (!data) { memset(r, 0, sizeof *r); return -1; }
    golden_run_bytes(r, type, path, path, data, len, keep_original);
    free(data);
    return 0;
}

/* Print the counters (they go into the report) and check them. */
static inline void golden_expect_counts(const struct golden_run *r, const char *name, int parsed, int skipped, int failed)
{
    printf("%-48s parsed=%llu skipped=%llu failed=%llu%s%s\n", name, (unsigned long long)r->parsed,
           (unsigned long long)r->skipped, (unsigned long long)r->failed, r->last_error[0] ? "  last error: " : "",
           r->last_error);
    CHECK_INT(r->parsed, parsed);
    CHECK_INT(r->skipped, skipped);
    CHECK_INT(r->failed, failed);
    CHECK_INT(r->n, parsed);
}

/* Ids are a pure function of the input: a second run gives the same ones. */
static inline void golden_expect_same_ids(const struct golden_run *a, const char *type, const char *path)
{
    struct golden_run b;
    golden_run_file(&b, type, path, 0);
    CHECK_INT(b.n, a->n);
    for (int i = 0; i < a->n && i < b.n; i++) {
        CHECK_STR(b.ids[i], a->ids[i]);
        CHECK_STR(b.index[i], a->index[i]);
    }
    golden_free(&b);
}

/* Value at a dotted path in nested objects, or NULL. */
static inline json_t *golden_at(json_t *doc, const char *path)
{
    char key[128];
    while (doc && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof key) return NULL;
        memcpy(key, path, n);
        key[n] = 0;
        doc = json_object_get(doc, key);
        path += n + (dot ? 1 : 0);
    }
    return doc;
}

/* Text of a string or number value ("(absent)" when missing). */
static inline const char *golden_str(json_t *doc, const char *path)
{
    static char out[8][512];
    static int next;
    char *o = out[next++ % 8];
    json_t *v = golden_at(doc, path);
    if (!v) return "(absent)";
    if (json_is_string(v)) snprintf(o, 512, "%s", json_string_value(v));
    else if (json_is_integer(v)) snprintf(o, 512, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v)) snprintf(o, 512, "%g", json_real_value(v));
    else if (json_is_boolean(v)) snprintf(o, 512, "%s", json_is_true(v) ? "true" : "false");
    else {
        char *s = json_dumps(v, JSON_COMPACT);
        snprintf(o, 512, "%s", s ? s : "?");
        free(s);
    }
    return o;
}

/* Does the array at path hold this string? */
static inline int golden_has(json_t *doc, const char *path, const char *value)
{
    json_t *a = golden_at(doc, path), *e;
    size_t i;
    json_array_foreach(a, i, e) if (json_is_string(e) && strcmp(json_string_value(e), value) == 0) return 1;
    return 0;
}

#define GCHECK(run, i, path, want) do { \
    if ((i) < (run)->n) CHECK_STR(golden_str((run)->docs[i], path), want); \
    else tl_fail(__FILE__, __LINE__, path, "(no such document)"); } while (0)
#define GHAS(run, i, path, value) CHECK((i) < (run)->n && golden_has((run)->docs[i], path, value))
#define GABSENT(run, i, path) CHECK((i) < (run)->n && golden_at((run)->docs[i], path) == NULL)
#endif
