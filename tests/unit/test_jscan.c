/* jscan: the token tape, strictness (what jscan accepts is emitted verbatim,
 * so it must be valid JSON), path lookups and string unescaping. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jscan.h"
#include "testlib.h"

static struct jscan js;

static int parse(const char *s) { return jscan_parse(&js, s, strlen(s)); }

/* Text of the token at path as a C string (static buffer). */
static const char *at(const char *path)
{
    static char out[256];
    int t = jscan_path(&js, 0, path, strlen(path));
    if (t < 0) return "(absent)";
    snprintf(out, sizeof out, "%.*s", (int)jscan_len(&js, t), jscan_ptr(&js, t));
    return out;
}

static void test_valid(void)
{
    static const char *ok[] = {
        "{}", "[]", "0", "-0", "1.5e10", "-12.25E-3", "true", "false", "null", "\"\"",
        "  {\"a\" : [1, 2.5, \"x\", true, false, null, {}, []]}  \n",
        "{\"k\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}",
        "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00\"]",
        "\t[\r\n1\r\n]",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int rc = parse(ok[i]);
        if (rc != 0) fprintf(stderr, "rejected valid JSON %s: %s\n", ok[i], js.err);
        CHECK_INT(rc, 0);
    }
}

static void test_invalid(void)
{
    static const char *bad[] = {
        "", "   ", "{", "[", "{\"a\":1", "[1,", "[1,]", "{\"a\":1,}", "{\"a\"}", "{\"a\" 1}", "{1:2}",
        "[1 2]", "{\"a\":1]", "[}", "\"abc", "tru", "nul", "01", "-01", "1.", ".5", "-", "1e", "1e+",
        "+1", "\"\\x\"", "\"\\u12\"", "\"\\u12g4\"", "\"a\tb\"", "\"a\nb\"", "\"\x01\"",
        "\"\xc0\x80\"",          /* overlong NUL */
        "\"\xed\xa0\x80\"",      /* UTF-8-encoded surrogate */
        "\"\x80\"",              /* lone continuation byte */
        "\"\xe2\x82\"",          /* truncated sequence */
        "\"\xf5\x80\x80\x80\"",  /* beyond U+10FFFF */
        "{} x", "{}{}", "[] []", "{\"a\":1}}", "\"a\\",
        "\"\\uD83D\"", "\"\\uDE00\"", "\"\\uD83Dx\"", "\"\\uD83D\\u0041\"", "\"\\uD83D\\uD83D\"",  /* lone surrogates */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse(bad[i]);
        if (rc == 0) fprintf(stderr, "accepted invalid JSON #%zu: %s\n", i, bad[i]);
        CHECK_INT(rc, -1);
        CHECK(js.err[0] != 0);
    }
    CHECK_INT(parse("{\"a\": 1} trailing"), -1);
    CHECK(strstr(js.err, "trailing") != NULL);
    CHECK(strstr(js.err, "byte 9") != NULL);
    /* A raw NUL inside a string is a control character. */
    CHECK_INT(jscan_parse(&js, "\"a\0b\"", 5), -1);
}

static void test_tape(void)
{
    CHECK_INT(parse("{\"a\":[1,{\"b\":null}],\"c\":\"x\"}"), 0);
    /* obj, "a", arr, 1, obj, "b", null, "c", "x" */
    CHECK_INT(js.ntok, 9);
    CHECK_INT(js.tok[0].type, J_OBJ);
    CHECK_INT(js.tok[0].next, 9);
    CHECK_INT(js.tok[2].type, J_ARR);
    CHECK_INT(js.tok[2].next, 7);
    CHECK_INT(jscan_len(&js, 2), strlen("[1,{\"b\":null}]"));
    CHECK_INT(jscan_count(&js, 0), 2);
    CHECK_INT(jscan_count(&js, 2), 2);
    CHECK_INT(jscan_key(&js, 0, "c", 1), 8);
    CHECK_INT(jscan_key(&js, 0, "zz", 2), -1);
    CHECK_INT(jscan_key(&js, 2, "a", 1), -1);     /* not an object */
    int k = jscan_first(&js, 0);
    CHECK_INT(k, 1);
    k = jscan_next_elem(&js, 0, k);
    CHECK_INT(k, 7);
    CHECK_INT(jscan_next_elem(&js, 0, k), -1);
    CHECK_INT(jscan_first(&js, 6), -1);           /* null has no children */
    CHECK_INT(parse("{}"), 0);
    CHECK_INT(jscan_first(&js, 0), -1);
    CHECK_INT(jscan_count(&js, 0), 0);
    /* The tape is reused: a smaller record after a larger one. */
    CHECK_INT(parse("[1]"), 0);
    CHECK_INT(js.ntok, 2);
}

static void test_nesting(void)
{
    char deep[2 * 600 + 1];
    for (int depth = 511; depth <= 513; depth++) {
        memset(deep, '[', (size_t)depth);
        memset(deep + depth, ']', (size_t)depth);
        deep[2 * depth] = 0;
        int rc = parse(deep);
        if (depth <= 512) CHECK_INT(rc, 0);
        else {
            CHECK_INT(rc, -1);
            CHECK(strstr(js.err, "nesting too deep") != NULL);
        }
    }
    /* A hostile depth costs no stack: a megabyte of '[' fails cleanly. */
    size_t n = 1 << 20;
    char *big = malloc(n);
    memset(big, '[', n);
    CHECK_INT(jscan_parse(&js, big, n), -1);
    free(big);
}

static void test_paths(void)
{
    CHECK_INT(parse("{\"userIdentity\":{\"sessionContext\":{\"sessionIssuer\":{\"userName\":\"admin\"}}},"
                    "\"items\":[{\"id\":\"i-1\"},{\"id\":\"i-2\"}],"
                    "\"ProductFields\":{\"aws/guardduty/service/action\":\"x\",\"k.v\":\"y\"},"
                    "\"a\":{\"b\":{\"d\":\"plain\"}},\"a.b\":{\"c\":\"dotted\"},\"esc\\u0061ped\":1}"), 0);
    CHECK_STR(at("userIdentity.sessionContext.sessionIssuer.userName"), "admin");
    CHECK_STR(at("items.0.id"), "i-1");
    CHECK_STR(at("items.1.id"), "i-2");
    CHECK_STR(at("items.2.id"), "(absent)");
    CHECK_STR(at("items.x"), "(absent)");
    CHECK_STR(at("items.-1"), "(absent)");
    CHECK_STR(at("items.1234567"), "(absent)");
    CHECK_STR(at("ProductFields.aws/guardduty/service/action"), "x");
    /* A key that contains dots, and a plain path sharing its prefix: each
     * resolves whichever way the rest of the path exists. */
    CHECK_STR(at("ProductFields.k.v"), "y");
    CHECK_STR(at("a.b.c"), "dotted");
    CHECK_STR(at("a.b.d"), "plain");
    CHECK_STR(at("a.b.e"), "(absent)");
    CHECK_STR(at("items."), "(absent)");
    CHECK_STR(at("a."), "(absent)");
    CHECK_STR(at("userIdentity.sessionContext.sessionIssuer.userName.more"), "(absent)");
    CHECK_STR(at("nope"), "(absent)");
    CHECK_INT(jscan_path(&js, 0, "", 0), 0);
    CHECK_INT(jscan_path(&js, -1, "a", 1), -1);
    /* jscan_key unescapes keys; jscan_streq unescapes values. */
    CHECK(jscan_key(&js, 0, "escaped", 7) >= 0);
    CHECK_INT(parse("{\"k\":\"a\\u0062c\",\"e\":\"\"}"), 0);
    CHECK(jscan_streq(&js, jscan_key(&js, 0, "k", 1), "abc"));
    CHECK(!jscan_streq(&js, jscan_key(&js, 0, "k", 1), "ab"));
    CHECK(jscan_streq(&js, jscan_key(&js, 0, "e", 1), ""));
    CHECK(!jscan_streq(&js, -1, "abc"));
    CHECK(!jscan_streq(&js, 0, "abc"));           /* an object is not a string */
}

static void check_unescape(const char *in, const char *want, size_t wantlen)
{
    char out[64];
    size_t n = json_unescape(in, strlen(in), out);
    CHECK(n <= strlen(in));
    int same = n == wantlen && memcmp(out, want, n) == 0;
    if (!same) fprintf(stderr, "unescape(%s) gave %zu bytes\n", in, n);
    CHECK(same);
}

static void test_unescape(void)
{
    check_unescape("plain", "plain", 5);
    check_unescape("a\\\"b\\\\c\\/d", "a\"b\\c/d", 7);
    check_unescape("\\b\\f\\n\\r\\t", "\b\f\n\r\t", 5);
    check_unescape("\\u0041\\u00e9\\u20ac", "A\xc3\xa9\xe2\x82\xac", 6);
    check_unescape("\\u0000", "\0", 1);
    check_unescape("\\uD83D\\uDE00", "\xf0\x9f\x98\x80", 4);              /* surrogate pair */
    check_unescape("\\ud83d\\ude00!", "\xf0\x9f\x98\x80!", 5);
    check_unescape("\\uD83D", "\xef\xbf\xbd", 3);                         /* lone high */
    check_unescape("\\uDE00x", "\xef\xbf\xbdx", 4);                       /* lone low */
    check_unescape("\\uD83D\\u0041", "\xef\xbf\xbd" "A", 4);              /* high + non-low */
    check_unescape("\\uD83D\\uD83D", "\xef\xbf\xbd\xef\xbf\xbd", 6);      /* high + high */
    check_unescape("\\uD83D\\uZZZZ", "\xef\xbf\xbd\\uZZZZ", 9);
    check_unescape("\\u12", "\\u12", 4);                                   /* invalid: copied */
    check_unescape("end\\", "end\\", 4);
}

int main(void)
{
    jscan_init(&js);
    test_valid();
    test_invalid();
    test_tape();
    test_nesting();
    test_paths();
    test_unescape();
    jscan_free(&js);
    return tl_done();
}
