/* doc: nested emission, array merging, conflicts, escaping. Every emitted
 * document is checked with jansson (duplicate keys rejected): whatever the
 * fields held, the output must be valid JSON. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "doc.h"
#include "testlib.h"

static struct doc d;
static buf_t out;

/* Emit d and parse it back; NULL (and a failed check) when it is not valid JSON. */
static json_t *emit(void)
{
    buf_reset(&out);
    doc_emit(&d, &out);
    json_error_t err;
    json_t *j = json_loadb(out.data, out.len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
    if (!j) fprintf(stderr, "invalid JSON (%s): %.*s\n", err.text, (int)out.len, out.data);
    CHECK(j != NULL);
    return j;
}

static void add(const char *path, int kind, int array, const char *v)
{
    doc_add(&d, path, kind, array, v, strlen(v));
}

static const char *str_at(json_t *j, const char *path)
{
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", path);
    json_t *cur = j;
    for (char *tok = strtok(tmp, "."); tok && cur; tok = strtok(NULL, ".")) cur = json_object_get(cur, tok);
    return cur && json_is_string(cur) ? json_string_value(cur) : NULL;
}

#define N(a) (sizeof (a) / sizeof (a)[0])

struct field { const char *path; int kind, array; const char *v; };
struct want { const char *path, *v; };

/* A fresh document of these fields. */
static void set_fields(const struct field *f, size_t n)
{
    doc_reset(&d);
    for (size_t i = 0; i < n; i++)
        add(f[i].path, f[i].kind, f[i].array, f[i].v);
}

static json_t *emit_fields(const struct field *f, size_t n)
{
    set_fields(f, n);
    return emit();
}

/* Each path holds that string. */
static void check_strings(json_t *j, const struct want *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        CHECK_STR(str_at(j, w[i].path), w[i].v);
}

static void test_nesting(void)
{
    static const struct field fields[] = {
        {"source.port", DV_NUM, 0, "443"},
        {"@timestamp", DV_STR, 0, "2026-11-28T03:51:22.000Z"},
        {"source.ip", DV_STR, 0, "192.0.2.1"},
        {"aws.vpcflow.version", DV_STR, 0, "5"},
        {"source.geo.country_iso_code", DV_STR, 0, "SE"},
        {"destination.ip", DV_STR, 0, "198.51.100.7"},
        {"event.kind", DV_STR, 0, "event"},
        {"aws.vpcflow.tcp_flags", DV_STR, 0, "2"},
        {"source.geo.location", DV_RAW, 0, "{\"lat\":58.4167,\"lon\":15.6167}"},
        {"network.bytes", DV_NUM, 0, "1024"},
        {"event.outcome", DV_STR, 0, "success"},
    };
    static const struct want strings[] = {
        {"source.ip", "192.0.2.1"},
        {"source.geo.country_iso_code", "SE"},
        {"aws.vpcflow.tcp_flags", "2"},
        {"event.outcome", "success"},
    };
    json_t *j = emit_fields(fields, N(fields));
    CHECK_INT(json_object_size(j), 6);       /* @timestamp aws destination event network source */
    check_strings(j, strings, N(strings));
    json_t *port = json_object_get(json_object_get(j, "source"), "port");
    CHECK(json_is_integer(port) && json_integer_value(port) == 443);
    json_t *loc = json_object_get(json_object_get(json_object_get(j, "source"), "geo"), "location");
    CHECK(json_is_real(json_object_get(loc, "lat")));
    CHECK_INT(json_object_size(json_object_get(j, "source")), 3);
    CHECK_INT(d.conflicts, 0);
    json_decref(j);
}

static void test_arrays(void)
{
    static const struct field fields[] = {
        {"related.ip", DV_STR, 1, "192.0.2.1"},
        {"event.category", DV_STR, 1, "network"},
        {"related.ip", DV_STR, 1, "198.51.100.7"},
        {"related.ip", DV_STR, 1, "192.0.2.1"},           /* duplicate */
        {"related.user", DV_STR, 1, "alice"},             /* one value: still an array */
        {"related.ip", DV_STR, 1, "2001:db8::1"},
        {"related.ip", DV_STR, 1, "198.51.100.7"},        /* duplicate */
    };
    json_t *j = emit_fields(fields, N(fields));
    json_t *ips = json_object_get(json_object_get(j, "related"), "ip");
    CHECK(json_is_array(ips));
    CHECK_INT(json_array_size(ips), 3);
    CHECK_STR(json_string_value(json_array_get(ips, 0)), "192.0.2.1");     /* insertion order */
    CHECK_STR(json_string_value(json_array_get(ips, 1)), "198.51.100.7");
    CHECK_STR(json_string_value(json_array_get(ips, 2)), "2001:db8::1");
    json_t *users = json_object_get(json_object_get(j, "related"), "user");
    CHECK(json_is_array(users) && json_array_size(users) == 1);
    CHECK(json_is_array(json_object_get(json_object_get(j, "event"), "category")));
    json_decref(j);
    /* A scalar field added twice: the first value wins, no array. */
    static const struct field twice[] = {{"user.name", DV_STR, 0, "first"}, {"user.name", DV_STR, 0, "second"}};
    j = emit_fields(twice, N(twice));
    CHECK_STR(str_at(j, "user.name"), "first");
    json_decref(j);
}

static void test_conflicts(void)
{
    static const struct field fields[] = {
        {"aws.cloudtrail.request_parameters.bucket", DV_STR, 0, "b1"},
        {"aws.cloudtrail.request_parameters", DV_STR, 0, "{...}"},
        {"aws.cloudtrail.request_parameters.key", DV_STR, 0, "k1"},
        {"aws.cloudtrail.request_parameters.a.b", DV_STR, 0, "deep"},
        {"aws.cloudtrail.request_parameters_x", DV_STR, 0, "sibling"},
        {"aws.cloudtrail.event_type", DV_STR, 0, "AwsApiCall"},
    };
    /* The value at the parent path wins; its would-be children are dropped and counted. */
    static const struct want strings[] = {
        {"aws.cloudtrail.request_parameters", "{...}"},
        {"aws.cloudtrail.request_parameters_x", "sibling"},
        {"aws.cloudtrail.event_type", "AwsApiCall"},
    };
    json_t *j = emit_fields(fields, N(fields));
    check_strings(j, strings, N(strings));
    CHECK_INT(d.conflicts, 3);
    json_decref(j);
    doc_reset(&d);
    CHECK_INT(d.conflicts, 0);
    static const struct field short_paths[] = {{"a", DV_STR, 0, "x"}, {"a.b", DV_STR, 0, "y"}, {"ab", DV_STR, 0, "z"}};
    static const struct want short_strings[] = {{"a", "x"}, {"ab", "z"}};
    j = emit_fields(short_paths, N(short_paths));
    check_strings(j, short_strings, N(short_strings));
    CHECK_INT(d.conflicts, 1);
    json_decref(j);
}

static void test_escaping(void)
{
    static const struct field fields[] = {
        {"a.quote", DV_STR, 0, "say \"hi\" \\o/"},
        {"a.ctl", DV_STR, 0, "tab\there\nnew\rline\x01\x1f"},
        {"a.utf8", DV_STR, 0, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
        {"a.bad", DV_STR, 0, "x\xff\xfey\xc3(z\xed\xa0\x80!\xc0\xaf"},
        {"a.truncated", DV_STR, 0, "end\xe2\x82"},
        {"a.jstr", DV_JSTR, 0, "already \\\"escaped\\\" \\u00e9"},
        {"a.num", DV_NUM, 0, "-1.5e3"},
        {"a.bool", DV_BOOL, 0, "true"},
    };
    /* Valid text comes back as it went in. */
    static const struct want strings[] = {
        {"a.quote", "say \"hi\" \\o/"},
        {"a.ctl", "tab\there\nnew\rline\x01\x1f"},
        {"a.utf8", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
    };
    set_fields(fields, N(fields));
    doc_add(&d, "a.nul", DV_STR, 0, "a\0b", 3);
    json_t *j = emit();
    check_strings(j, strings, N(strings));
    /* Each invalid byte becomes U+FFFD; valid neighbours survive. */
    const char *bad = str_at(j, "a.bad");
    CHECK(bad && strncmp(bad, "x\xef\xbf\xbd\xef\xbf\xbdy", 8) == 0);
    CHECK(bad && strstr(bad, "(z") && strstr(bad, "!"));
    CHECK(bad && !strchr(bad, '\xff'));
    const char *tr = str_at(j, "a.truncated");
    CHECK(tr && strncmp(tr, "end", 3) == 0 && strstr(tr, "\xef\xbf\xbd"));
    CHECK_STR(str_at(j, "a.jstr"), "already \"escaped\" \xc3\xa9");
    json_t *a = json_object_get(j, "a");
    CHECK(json_is_real(json_object_get(a, "num")) && json_real_value(json_object_get(a, "num")) == -1500.0);
    CHECK(json_is_true(json_object_get(a, "bool")));
    json_t *nul = json_object_get(a, "nul");
    CHECK(nul && json_string_length(nul) == 3 && memcmp(json_string_value(nul), "a\0b", 3) == 0);
    json_decref(j);
}

static void test_api(void)
{
    doc_reset(&d);
    char tmp[16];
    strcpy(tmp, "copied");
    doc_add_copy(&d, "x.copy", DV_STR, 0, tmp, strlen(tmp));
    strcpy(tmp, "CHANGED");
    add("x.other", DV_STR, 0, "o");
    add("x.dup", DV_STR, 1, "1");
    add("x.dup", DV_STR, 1, "2");
    const struct doc_field *f = doc_get(&d, "x.copy");
    CHECK(f && f->vlen == 6 && memcmp(f->v, "copied", 6) == 0);
    CHECK(doc_get(&d, "x.none") == NULL);
    CHECK_INT(doc_remove(&d, "x.dup"), 2);
    CHECK_INT(doc_remove(&d, "x.dup"), 0);
    CHECK(doc_get(&d, "x.dup") == NULL);
    json_t *j = emit();
    CHECK_STR(str_at(j, "x.copy"), "copied");
    CHECK_INT(json_object_size(json_object_get(j, "x")), 2);
    json_decref(j);
    /* Empty document. */
    doc_reset(&d);
    j = emit();
    CHECK(json_is_object(j) && json_object_size(j) == 0);
    json_decref(j);
    /* Many fields: the field table and the arena grow. */
    doc_reset(&d);
    char path[64];
    for (int i = 0; i < 3000; i++) {
        snprintf(path, sizeof path, "aws.many.f%d.v", i);
        doc_add_copy(&d, arena_strndup(&d.arena, path, strlen(path)), DV_STR, 0, path, strlen(path));
    }
    j = emit();
    json_t *many = json_object_get(json_object_get(j, "aws"), "many");
    CHECK_INT(json_object_size(many), 3000);
    CHECK_STR(json_string_value(json_object_get(json_object_get(many, "f2999"), "v")), "aws.many.f2999.v");
    json_decref(j);
}

static const char *emitted(void)
{
    buf_reset(&out);
    doc_emit(&d, &out);
    return buf_cstr(&out);
}

/* A document with the paths of the one before reuses its shape (order and
 * key text): the values, duplicates and conflicts must still be its own. */
static void test_shape_reuse(void)
{
    static const char *const want[] = {
        "{\"a\":22,\"b\":{\"x\":\"v0\"},\"related\":{\"ip\":[\"1.1.1.1\",\"2.2.2.2\"]}}",
        "{\"a\":1,\"b\":{\"x\":\"v\\\"1\"},\"related\":{\"ip\":[\"1.1.1.1\",\"2.2.2.2\"]}}",
        "{\"a\":22,\"b\":{\"x\":\"v2\"},\"related\":{\"ip\":[\"1.1.1.1\"]}}",
    };
    for (int round = 0; round < 3; round++) {
        doc_reset(&d);
        add("b.x", DV_STR, 0, round == 1 ? "v\"1" : round ? "v2" : "v0");
        add("a", DV_NUM, 0, round == 1 ? "1" : "22");
        add("related.ip", DV_STR, 1, "1.1.1.1");
        add("related.ip", DV_STR, 1, round == 2 ? "1.1.1.1" : "2.2.2.2");
        add("b.x.y", DV_STR, 0, "dropped");
        CHECK_STR(emitted(), want[round]);
        CHECK_INT(d.conflicts, 1);
    }
    /* Paths are compared by content: the arena hands out the same address
     * for a different path after a reset. */
    const char *const paths[] = { "x.aaaaaaaaaaaaaaaaaaaa", "x.aaaaaaaaaaaaaaaaaaab" };
    for (int round = 0; round < 2; round++) {
        doc_reset(&d);
        doc_add(&d, arena_strndup(&d.arena, paths[round], strlen(paths[round])), DV_STR, 0, "1", 1);
        CHECK_STR(emitted(), round ? "{\"x\":{\"aaaaaaaaaaaaaaaaaaab\":\"1\"}}" : "{\"x\":{\"aaaaaaaaaaaaaaaaaaaa\":\"1\"}}");
    }
    /* The array flag is part of the shape. */
    for (int array = 0; array < 2; array++) {
        doc_reset(&d);
        add("t", DV_STR, array, "v");
        CHECK_STR(emitted(), array ? "{\"t\":[\"v\"]}" : "{\"t\":\"v\"}");
    }
    /* Prepared paths give the same documents as plain ones. */
    struct doc_path pp;
    doc_path_init(&pp, "event.kind");
    doc_reset(&d);
    doc_add_path(&d, &pp, DV_STR, 0, "event", 5);
    add("@timestamp", DV_JSTR, 0, "2026-11-28T03:51:22.000Z");
    CHECK_STR(emitted(), "{\"@timestamp\":\"2026-11-28T03:51:22.000Z\",\"event\":{\"kind\":\"event\"}}");
    CHECK(doc_get_path(&d, &pp) == doc_get(&d, "event.kind") && doc_get(&d, "event.kind") != NULL);
}

/* Values longer than what doc_emit escapes in place go through the buffer in
 * pieces: the text must be the same as for short ones. */
static void test_long_value(void)
{
    size_t n = 3 * 4096 + 5;
    char *v = malloc(n);
    for (size_t i = 0; i < n; i++) v[i] = (char)("ab\"\x01\xc3\xa9\xe2\x82\xac\xff"[i % 10]);
    doc_reset(&d);
    doc_add(&d, "long", DV_STR, 0, v, n);
    json_t *j = emit();
    const char *got = json_string_value(json_object_get(j, "long"));
    size_t expect_len = 0;     /* the \xff bytes become U+FFFD (3 bytes), the rest stays */
    for (size_t i = 0; i < n; i++) expect_len += (unsigned char)v[i] == 0xff ? 3 : 1;
    CHECK(got && strlen(got) == expect_len);
    CHECK(got && memcmp(got, "ab\"\x01\xc3\xa9\xe2\x82\xac", 9) == 0);
    json_decref(j);
    free(v);
}

/* Random documents from a small alphabet of path components and arbitrary
 * value bytes: the output must always parse, with no duplicate keys. */
static void test_random(void)
{
    static const char *comp[] = { "a", "b", "ab", "a_b", "b0", "x", "@t" };
    static const int kinds[] = { DV_STR, DV_STR, DV_NUM, DV_BOOL };
    srand(12345);
    char paths[40][64];
    unsigned char vals[40][16];
    for (int round = 0; round < 2000; round++) {
        doc_reset(&d);
        int n = rand() % 40;
        for (int i = 0; i < n; i++) {
            int depth = 1 + rand() % 4;
            paths[i][0] = 0;
            for (int k = 0; k < depth; k++) {
                if (k) strcat(paths[i], ".");
                strcat(paths[i], comp[rand() % 7]);
            }
            int kind = kinds[rand() % 4];
            size_t vl = (size_t)(rand() % 16);
            for (size_t b = 0; b < vl; b++) vals[i][b] = (unsigned char)(rand() % 256);
            const char *v = (const char *)vals[i];
            if (kind == DV_NUM) { v = "42"; vl = 2; }
            if (kind == DV_BOOL) { v = "false"; vl = 5; }
            doc_add(&d, paths[i], kind, rand() % 2, v, vl);
        }
        json_t *j = emit();
        json_decref(j);
        if (!j) break;
    }
}

int main(void)
{
    doc_init(&d);
    buf_init(&out);
    test_nesting();
    test_arrays();
    test_conflicts();
    test_escaping();
    test_api();
    test_random();
    test_shape_reuse();
    test_long_value();
    doc_free(&d);
    buf_free(&out);
    return tl_done();
}
