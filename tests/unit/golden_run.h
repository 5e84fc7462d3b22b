/* golden_run.h -- run the real engine (schemas/ + ingest) over one file and
 * keep every document as a jansson object, with its id, index and the
 * parsed/skipped/failed counters, for the golden tests of the log types.
 * Documents are looked up by dotted ECS path ("source.geo.location.lat");
 * expected fields are tables of struct golden_want, and a golden_case says
 * what one file must give.
 * Also: paths of the shared corpus and of tests/fixtures, and `siemproc
 * parse --bulk` over a gzip file for the CloudWatch Logs delivery tests. */
#ifndef GOLDEN_RUN_H
#define GOLDEN_RUN_H
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
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
static int64_t golden_delivery_ms = 1700000000000LL;  /* the next runs' object time */

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

/* Path of rel under dir of the shared data (shared != 0, NULL when absent)
 * or of the source tree; rotating buffers, so a few can be in use at once. */
static inline const char *golden_path(int shared, const char *dir, const char *rel)
{
    static char path[8][1024];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, sizeof path[0], "%s/%s", dir, rel);
    return shared ? tl_shared(p) : tl_src(p);
}

/* A file of the shared corpus (NULL when absent), of tests/fixtures. */
static inline const char *golden_corpus(const char *rel) { return golden_path(1, "corpus", rel); }
static inline const char *golden_fixture(const char *rel) { return golden_path(0, "tests/fixtures", rel); }

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

/* One expected field of document `doc`: its text (golden_str) is value, or
 * with value GOLDEN_ABSENT it has no such field at all. A path ending in
 * "[]" names an array that holds value ("event.type[]", "denied"). */
#define GOLDEN_ABSENT NULL
struct golden_want {
    int         doc;
    const char *path, *value;
};

/* One file for the engine and what it must give: the counts, distinct ids,
 * the same ids on a second run, the fields of want and whatever check says. */
struct golden_case {
    const char *type;                    /* NULL: detect (S3 key, CloudWatch Logs log group) */
    const char *file;                    /* under the corpus or tests/fixtures */
    int         parsed, skipped, failed;
    const struct golden_want *want;      /* GOLDEN_WANT(table) */
    size_t      nwant;
    void      (*check)(const struct golden_run *r);   /* what a table cannot say */
    int         keep_original;
    int64_t     delivery_ms;             /* the object's time; 0: golden_delivery_ms */
};
#define GOLDEN_WANT(table) .want = table, .nwant = sizeof table / sizeof table[0]

/* Bytes of one object through the engine as case c says. */
static inline void golden_run_bytes(struct golden_run *r, const struct golden_case *c, const char *s3_key,
                                    const char *origin, const char *data, size_t len)
{
    memset(r, 0, sizeof *r);
    struct normalizer_opts o = { .geoip = golden_geoip, .keep_original = c->keep_original };
    struct normalizer *nz = normalizer_new(&o);
    struct ingest_cb cb = { golden_on_doc, NULL, golden_on_fail };
    struct ingest *ig = ingest_new(&golden_schemas, nz, &cb, r);
    struct ingest_object obj = { .type = c->type, .s3_key = s3_key, .origin = origin, .key_is_local = 1,
                                 .delivery_ms = c->delivery_ms ? c->delivery_ms : golden_delivery_ms };
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
static inline int golden_run_file(struct golden_run *r, const struct golden_case *c, const char *path)
{
    size_t len;
    char *data = path ? tl_read_file(path, &len) : NULL;
    if (!data) { memset(r, 0, sizeof *r); return -1; }
    golden_run_bytes(r, c, path, path, data, len);
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

/* No two documents of a run share an id. */
static inline void golden_expect_distinct_ids(const struct golden_run *r)
{
    int same = 0;
    for (int i = 0; i < r->n; i++)
        for (int j = 0; j < i; j++) same += strcmp(r->ids[i], r->ids[j]) == 0;
    CHECK_INT(same, 0);
}

/* Ids are a pure function of the input: a second run gives the same ones. */
static inline void golden_expect_same_ids(const struct golden_run *a, const struct golden_case *c, const char *path)
{
    struct golden_run b;
    golden_run_file(&b, c, path);
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
    static char out[8][2048];
    static int next;
    char *o = out[next++ % 8];
    json_t *v = golden_at(doc, path);
    if (!v) return "(absent)";
    if (json_is_string(v)) snprintf(o, sizeof out[0], "%s", json_string_value(v));
    else if (json_is_integer(v)) snprintf(o, sizeof out[0], "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v)) snprintf(o, sizeof out[0], "%g", json_real_value(v));
    else if (json_is_boolean(v)) snprintf(o, sizeof out[0], "%s", json_is_true(v) ? "true" : "false");
    else {
        char *s = json_dumps(v, JSON_COMPACT);
        snprintf(o, sizeof out[0], "%s", s ? s : "?");
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

static inline void golden_check(const struct golden_run *r, const struct golden_want *w, const char *name,
                                const char *file, int line)
{
    char what[512], path[256], detail[2300];
    size_t len = strlen(w->path);
    int holds = len > 2 && strcmp(w->path + len - 2, "[]") == 0;
    snprintf(path, sizeof path, "%.*s", (int)(holds ? len - 2 : len), w->path);
    snprintf(what, sizeof what, "%s%sdocument %d: %s", name, *name ? ": " : "", w->doc, w->path);
    if (w->doc >= r->n) { tl_fail(file, line, what, "(no such document)"); return; }
    json_t *d = r->docs[w->doc];
    int ok = !w->value ? golden_at(d, path) == NULL
           : holds ? golden_has(d, path, w->value)
           : strcmp(golden_str(d, path), w->value) == 0;
    if (ok) { tl_passed++; return; }
    snprintf(detail, sizeof detail, "%s, expected %s%s", golden_str(d, path), holds ? "it to hold " : "",
             w->value ? w->value : "(absent)");
    tl_fail(file, line, what, detail);
}

static inline void golden_expect_at(const struct golden_run *r, const struct golden_want *w, size_t n,
                                    const char *name, const char *file, int line)
{
    for (size_t i = 0; i < n; i++) golden_check(r, &w[i], name, file, line);
}

/* Check a static table of golden_want against a run. */
#define GOLDEN_EXPECT(run, table) \
    golden_expect_at(run, table, sizeof table / sizeof table[0], #table, __FILE__, __LINE__)
/* One check, where it does not belong in a table (in a loop, say). */
#define GCHECK(run, i, path, want) \
    golden_check(run, &(struct golden_want){ (int)(i), path, want }, "", __FILE__, __LINE__)

/* What case c says of a run: counts, distinct ids, want and check. */
static inline void golden_expect_case(const struct golden_run *r, const struct golden_case *c)
{
    golden_expect_counts(r, c->file, c->parsed, c->skipped, c->failed);
    golden_expect_distinct_ids(r);
    golden_expect_at(r, c->want, c->nwant, c->file, __FILE__, __LINE__);
    if (c->check) c->check(r);
}

/* Case c over the file at path (NULL or unreadable: a failure); a second
 * run must give the same ids. */
static inline void golden_run_case(const struct golden_case *c, const char *path)
{
    struct golden_run r;
    if (golden_run_file(&r, c, path) < 0) { tl_fail(__FILE__, __LINE__, "file is readable", c->file); return; }
    golden_expect_case(&r, c);
    golden_expect_same_ids(&r, c, path);
    golden_free(&r);
}

/* Every case of a table, files under tests/fixtures. */
static inline void golden_run_fixtures(const struct golden_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++) golden_run_case(&c[i], golden_fixture(c[i].file));
}

/* Every case of a table, files under the shared corpus: none, with a
 * message, when the corpus is absent. */
static inline void golden_run_corpus(const struct golden_case *c, size_t n)
{
    if (!golden_corpus("SOURCES.md")) {
        printf("golden: corpus skipped: ../shared/corpus is absent (set SIEMPROC_SHARED)\n");
        return;
    }
    for (size_t i = 0; i < n; i++) golden_run_case(&c[i], golden_corpus(c[i].file));
}

/* Writes text gzip-compressed to path; 0 or -1. */
static inline int golden_write_gzip(const char *path, const char *data, size_t len)
{
    gzFile gz = gzopen(path, "wb");
    if (!gz) return -1;
    int ok = gzwrite(gz, data, (unsigned)len) == (int)len;
    return gzclose(gz) == Z_OK && ok ? 0 : -1;
}

/* `siemproc parse --bulk path` (with --schemas when schemas is not NULL)
 * into r: each action line's _id and _index, and the document after it.
 * -1, with a message, when SIEMPROC_BIN is not set. */
static inline int golden_run_bulk(struct golden_run *r, const char *path, const char *schemas)
{
    memset(r, 0, sizeof *r);
    const char *bin = getenv("SIEMPROC_BIN");
    if (!bin || access(bin, X_OK) != 0) { printf("skip siemproc parse: SIEMPROC_BIN is not set\n"); return -1; }
    char cmd[2048], opt[1100] = "", line[65536];
    if (schemas) snprintf(opt, sizeof opt, "--schemas '%s' ", schemas);
    snprintf(cmd, sizeof cmd, "'%s' parse --bulk %s'%s' 2>/dev/null", bin, opt, path);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    json_t *action = NULL;
    while (p && fgets(line, sizeof line, p)) {
        json_t *j = json_loads(line, 0, NULL);
        CHECK(j != NULL);
        if (!j) continue;
        if (!action) { action = j; continue; }
        json_t *meta = json_object_get(action, "index");
        const char *id = json_string_value(json_object_get(meta, "_id"));
        const char *index = json_string_value(json_object_get(meta, "_index"));
        if (r->n < GOLDEN_MAX_DOCS) {
            snprintf(r->ids[r->n], sizeof r->ids[0], "%s", id ? id : "(none)");
            snprintf(r->index[r->n], sizeof r->index[0], "%s", index ? index : "(none)");
            r->docs[r->n++] = j;
        } else {
            json_decref(j);
        }
        json_decref(action);
        action = NULL;
    }
    CHECK(action == NULL);                  /* every action line has its document */
    json_decref(action);
    if (p) CHECK_INT(r->status = pclose(p), 0);
    return 0;
}
#endif
