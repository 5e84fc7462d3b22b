/* jindex: path lookups through the index of an object's keys must give
 * exactly what jscan_path gives, including for the objects it refuses to
 * index (a repeated key, a key with a dot) and for paths it cannot serve. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "jindex.h"
#include "testlib.h"

static struct jscan js;
static struct jindex x;

static const char *const paths[] = {
    "a", "b", "ab", "a.b", "a.b.c", "c", "a.0", "a.0.b", "ab.c", "a.", ".a", "b.a.b", "0", "c.a", "a.b.a", "",
};
#define NPATHS (int)(sizeof paths / sizeof paths[0])
static int seg[NPATHS];

/* Every path, through the index and through jscan_path, on doc. */
static int same_answers(const char *doc)
{
    if (jscan_parse(&js, doc, strlen(doc)) < 0) return 1;
    jindex_scan(&x, &js, 0);
    int same = 1;
    for (int p = 0; p < NPATHS; p++) {
        size_t n = strlen(paths[p]);
        int want = jscan_path(&js, 0, paths[p], n), got = jindex_path(&x, seg[p], paths[p], n);
        if (want != got) {
            fprintf(stderr, "%s: path \"%s\": jscan_path %d, jindex %d\n", doc, paths[p], want, got);
            same = 0;
        }
    }
    return same;
}

static void test_cases(void)
{
    CHECK(same_answers("{\"a\":{\"b\":{\"c\":1}},\"ab\":{\"c\":2},\"c\":[{\"a\":3}],\"0\":4}"));
    CHECK(x.usable);
    CHECK(same_answers("{\"a\":[{\"b\":1}],\"b\":{\"a\":{\"b\":2}}}"));
    /* A repeated key: jscan_path tries each; the index steps aside. */
    CHECK(same_answers("{\"a\":{\"x\":1},\"a\":{\"b\":2}}"));
    CHECK(!x.usable);
    /* A key with a dot can match two segments at once. */
    CHECK(same_answers("{\"a.b\":{\"c\":1},\"a\":{\"b\":{\"c\":2}}}"));
    CHECK(!x.usable);
    /* Escaped keys never match, in either. */
    CHECK(same_answers("{\"\\u0061\":1,\"b\":2}"));
    CHECK(x.usable);
    CHECK(same_answers("[{\"a\":1}]"));
    CHECK(same_answers("{}"));
    CHECK(same_answers("{\"\":1,\"a\":2}"));
}

static const char *const keys[] = { "a", "b", "ab", "a.b", "c", "a\\u0062", "0", "" };

static void random_value(buf_t *b, int depth);

static void random_object(buf_t *b, int depth)
{
    buf_putc(b, '{');
    for (int i = rand() % 5; i > 0; i--) {
        buf_printf(b, "\"%s\":", keys[rand() % 8]);
        random_value(b, depth + 1);
        if (i > 1) buf_putc(b, ',');
    }
    buf_putc(b, '}');
}

static void random_value(buf_t *b, int depth)
{
    int kind = depth > 3 ? 0 : rand() % 4;
    if (kind == 0) buf_printf(b, "%d", rand() % 10);
    else if (kind == 1) buf_printf(b, "\"s%d\"", rand() % 10);
    else if (kind == 2) random_object(b, depth);
    else {
        buf_putc(b, '[');
        for (int i = rand() % 3; i > 0; i--) {
            random_value(b, depth + 1);
            if (i > 1) buf_putc(b, ',');
        }
        buf_putc(b, ']');
    }
}

static void test_random(void)
{
    buf_t b;
    buf_init(&b);
    srand(3);
    int bad = 0, indexed = 0;
    for (int round = 0; round < 20000 && bad < 5; round++) {
        buf_reset(&b);
        if (rand() % 8 == 0) random_value(&b, 0);
        else random_object(&b, 0);
        bad += !same_answers(buf_cstr(&b));
        indexed += x.usable;
    }
    CHECK_INT(bad, 0);
    CHECK(indexed > 5000);      /* the index was used, not only the fallback */
    buf_free(&b);
}

int main(void)
{
    jscan_init(&js);
    jindex_init(&x);
    for (int p = 0; p < NPATHS; p++) seg[p] = jindex_declare(&x, paths[p], strlen(paths[p]));
    test_cases();
    test_random();
    /* Declaring again after a clear starts over. */
    jindex_clear(&x);
    CHECK_INT(jindex_declare(&x, "b.c", 3), 0);
    CHECK_INT(jindex_declare(&x, "b", 1), 0);
    CHECK_INT(jindex_declare(&x, ".x", 2), -1);
    jindex_free(&x);
    jscan_free(&js);
    return tl_done();
}
