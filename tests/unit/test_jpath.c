/* jpath selectors, jvalue builders, the ops added for JSON logs, and the
 * schema keys that use them (object, map_prefix, map_default null, array,
 * "type": "json"), including the errors schema loading must report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ecs.h"
#include "jpath.h"
#include "jvalue.h"
#include "ops.h"
#include "schema.h"
#include "testlib.h"

static struct jscan js;

static const char doc[] =
    "{\"headers\":[{\"name\":\"Host\",\"value\":\"a.example:8443\"},{\"name\":\"user-agent\",\"value\":\"curl/8\"},"
    "{\"name\":\"Cookie\",\"value\":\"x\"},{\"name\":\"Cookie\",\"value\":\"y\"},{\"name\":\"X\\u002dId\",\"value\":\"7\"}],"
    "\"answers\":[{\"Rdata\":\"a.b.\",\"Type\":\"CNAME\"},{\"Rdata\":\"192.0.2.1\",\"Type\":\"A\",\"TTL\":\"60\"},{\"Type\":\"A\"}],"
    "\"action\":{\"actionType\":\"NETWORK_CONNECTION\",\"conn\":{\"dir\":\"OUTBOUND\",\"local\":{\"ip\":\"10.0.0.1\"},"
    "\"remote\":{\"ip\":\"198.51.100.9\"}},\"api\":{\"remote\":{\"ip\":\"203.0.113.5\"}}},"
    "\"groups\":[{\"id\":\"g1\",\"term\":null},{\"id\":\"g2\",\"term\":{\"rule\":\"R2\"}}],"
    "\"ProductFields\":{\"aws/x/details.0_/ip\":\"192.0.2.7\"},\"n\":[[1,2],[3]],\"flag\":true}";

static const char *text(int t)
{
    static char out[256];
    if (t < 0) return "(absent)";
    snprintf(out, sizeof out, "%.*s", (int)jscan_len(&js, t), jscan_ptr(&js, t));
    return out;
}

static const char *first(const char *path) { return text(jpath_first(&js, 0, path, strlen(path))); }

/* All matches joined with '|'. */
static const char *all(const char *path)
{
    static char out[512];
    int tok[16];
    int n = jpath_all(&js, 0, path, strlen(path), tok, 16);
    out[0] = 0;
    for (int i = 0; i < n; i++) {
        if (i) strcat(out, "|");
        strncat(out, text(tok[i]), sizeof out - strlen(out) - 1);
    }
    return out;
}

static void test_selectors(void)
{
    CHECK_INT(jscan_parse(&js, doc, strlen(doc)), 0);
    CHECK_STR(first("headers[name=User-Agent].value"), "curl/8");      /* case ignored */
    CHECK_STR(first("headers[name=host].value"), "a.example:8443");
    CHECK_STR(first("headers[name=x-id].value"), "7");                 /* escaped key value */
    CHECK_STR(first("headers[name=Referer].value"), "(absent)");
    CHECK_STR(all("headers[name=Cookie].value"), "x|y");
    CHECK_STR(all("answers[].Rdata"), "a.b.|192.0.2.1");
    CHECK_STR(first("answers[].TTL"), "60");                            /* first element that has it */
    CHECK_STR(first("answers[1].Rdata"), "192.0.2.1");
    CHECK_STR(first("answers.1.Rdata"), "192.0.2.1");
    CHECK_STR(first("answers[7].Rdata"), "(absent)");
    CHECK_STR(all("answers[Type=A][TTL].Rdata"), "192.0.2.1");
    CHECK_STR(first("action.conn[dir=OUTBOUND].local.ip"), "10.0.0.1");
    CHECK_STR(first("action.conn[dir=INBOUND].local.ip"), "(absent)");
    CHECK_STR(all("action[][dir!=OUTBOUND].remote.ip"), "203.0.113.5");
    CHECK_STR(all("action[].remote.ip"), "198.51.100.9|203.0.113.5");
    CHECK_STR(first("groups[term].id"), "g2");                          /* null is not present */
    CHECK_STR(first("groups[term].term.rule"), "R2");
    CHECK_STR(first("groups[term!=x].id"), "g1");
    CHECK_STR(first("[flag=TRUE].groups[0].id"), "g1");                 /* a condition on the root */
    CHECK_STR(first("[flag=false].groups[0].id"), "(absent)");
    CHECK_STR(all("n[][]"), "1|2|3");
    CHECK_STR(first("ProductFields.aws/x/details.0_/ip"), "192.0.2.7");  /* dotted key, plain path */
    CHECK_STR(first("headers[name=Host"), "(absent)");                  /* malformed: no match, no crash */
    int one;
    CHECK_INT(jpath_all(&js, 0, "answers[].Type", 14, &one, 1), 1);     /* stops at max */
    CHECK_STR(text(one), "CNAME");
}

static void check_rejects(const char *path, const char *why)
{
    char err[96] = "";
    int rc = jpath_check(path, strlen(path), err, sizeof err);
    CHECK_INT(rc, -1);
    if (rc == -1 && !strstr(err, why)) tl_fail(__FILE__, __LINE__, path, err);
}

static void test_check(void)
{
    char err[96];
    static const char *ok[] = { "a", "a[0]", "a[].b", "a[k=v].b[]", "[x].y", "a[k!=v][k2]", "a.b[c.d=1].e" };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) CHECK_INT(jpath_check(ok[i], strlen(ok[i]), err, sizeof err), 0);
    check_rejects("a[b", "without ']'");
    check_rejects("a]b", "without '['");
    check_rejects("a[b[c]]", "nested");
    check_rejects("a[=v]", "without a key");
    check_rejects("a[!=v]", "without a key");
    check_rejects("a[]b", "expected '.' or '['");
    check_rejects("a.[0]", "'.' before '['");
    check_rejects("a[].", "ends with '.'");
    check_rejects("a[][][][][][][][][]", "too many");
    CHECK(!jpath_has_selector("a.b.0", 5));
    CHECK(jpath_has_selector("a[0]", 4));
}

static void test_jvalue(void)
{
    struct jscan scratch;
    jscan_init(&scratch);
    arena_t a;
    arena_init(&a);
    const char *out;
    size_t n;
    const char *gd = "{\"lat\":51.5,\"lon\":-0.09}", *sh = "{\"Lon\":2,\"Lat\":-3.25}";
    CHECK_INT(jv_geo_point(&scratch, gd, strlen(gd), &a, &out, &n), 0);
    CHECK(n == strlen("{\"lat\":51.5,\"lon\":-0.09}") && memcmp(out, "{\"lat\":51.5,\"lon\":-0.09}", n) == 0);
    CHECK_INT(jv_geo_point(&scratch, sh, strlen(sh), &a, &out, &n), 0);
    CHECK(n == strlen("{\"lat\":-3.25,\"lon\":2}") && memcmp(out, "{\"lat\":-3.25,\"lon\":2}", n) == 0);
    static const char *bad[] = { "{\"lat\":91,\"lon\":0}", "{\"lat\":\"1\",\"lon\":2}", "{\"lat\":1}", "[1,2]", "{\"lat\":1," };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_INT(jv_geo_point(&scratch, bad[i], strlen(bad[i]), &a, &out, &n), -1);
    const char *pretty = "{\n  \"a\": [1, 2],\n  \"b\": \"x y\\\" z\"\n}";
    n = strlen(pretty);
    out = jv_one_line(pretty, &n, &a);
    CHECK(n == strlen("{\"a\":[1,2],\"b\":\"x y\\\" z\"}") && memcmp(out, "{\"a\":[1,2],\"b\":\"x y\\\" z\"}", n) == 0);
    const char *flat = "{ \"a\": 1 }";
    n = strlen(flat);
    CHECK(jv_one_line(flat, &n, &a) == flat && n == strlen(flat));        /* no line break: unchanged */
    CHECK_INT(jv_is_object(&scratch, "{\"a\":[1]}", 9), 0);
    CHECK_INT(jv_is_object(&scratch, "[1]", 3), -1);
    CHECK_INT(jv_is_object(&scratch, "{\"a\":\"\x01\"}", 9), -1);          /* raw control character */

    /* An object per answer, coerced to the members' ECS types. */
    CHECK_INT(jscan_parse(&js, doc, strlen(doc)), 0);
    struct sub_field sub[] = {
        { "data", "Rdata", 5, 0, ECS_KEYWORD }, { "type", "Type", 4, 0, ECS_KEYWORD }, { "ttl", "TTL", 3, 0, ECS_LONG },
    };
    buf_t tmp;
    buf_init(&tmp);
    int ans = jscan_path(&js, 0, "answers", 7);
    int e1 = jscan_next_elem(&js, ans, jscan_first(&js, ans));
    CHECK_INT(jv_build_object(&js, e1, sub, 3, &tmp, &a, &out, &n), 0);
    const char *want = "{\"data\":\"192.0.2.1\",\"type\":\"A\",\"ttl\":60}";
    CHECK(n == strlen(want) && memcmp(out, want, n) == 0);
    /* "04" is not a JSON number: the member is left out rather than emitted as 04. */
    const char *zero = "{\"Rdata\":\"x\",\"TTL\":\"04\"}";
    struct jscan z;
    jscan_init(&z);
    CHECK_INT(jscan_parse(&z, zero, strlen(zero)), 0);
    CHECK_INT(jv_build_object(&z, 0, sub, 3, &tmp, &a, &out, &n), 0);
    CHECK(n == strlen("{\"data\":\"x\"}") && memcmp(out, "{\"data\":\"x\"}", n) == 0);
    jscan_free(&z);
    struct sub_field none[] = { { "x", "missing", 7, 0, ECS_KEYWORD } };
    CHECK_INT(jv_build_object(&js, e1, none, 1, &tmp, &a, &out, &n), -1);
    buf_free(&tmp);
    arena_free(&a);
    jscan_free(&scratch);
}

static const char *apply(int op, const char *in)
{
    static char out[128];
    arena_t a;
    arena_init(&a);
    const char *p = in;
    size_t n = strlen(in);
    if (op_apply(op, &p, &n, &a) < 0) snprintf(out, sizeof out, "(none)");
    else snprintf(out, sizeof out, "%.*s", (int)n, p);
    arena_free(&a);
    return out;
}

static void test_ops(void)
{
    CHECK_STR(apply(op_from_name("integer"), "8.0"), "8");
    CHECK_STR(apply(op_from_name("integer"), "2.9"), "2");
    CHECK_STR(apply(op_from_name("integer"), "5"), "5");
    CHECK_STR(apply(op_from_name("integer"), "high"), "(none)");
    CHECK_STR(apply(op_from_name("integer"), "nan"), "(none)");
    CHECK_STR(apply(op_from_name("arn_region"), "arn:aws:wafv2:us-east-1:123456789012:global/webacl/x/1"), "us-east-1");
    CHECK_STR(apply(op_from_name("arn_region"), "arn:aws:iam::123456789012:role/x"), "(none)");
    CHECK_STR(apply(op_from_name("arn_account"), "arn:aws:ecs:eu-west-1:123456789012:task/c/1"), "123456789012");
    CHECK_STR(apply(op_from_name("az_region"), "us-east-2a"), "us-east-2");
    CHECK_STR(apply(op_from_name("az_region"), "us-gov-west-1b"), "us-gov-west-1");
    CHECK_STR(apply(op_from_name("az_region"), "us-west-2-lax-1a"), "us-west-2");
    CHECK_STR(apply(op_from_name("az_region"), "nowhere"), "(none)");
    CHECK_STR(apply(op_from_name("trim_dot"), "example.com."), "example.com");
    CHECK_STR(apply(op_from_name("trim_dot"), "."), ".");
}

static struct schema *compile(const char *fields, char *err, size_t errlen)
{
    char text_[2048];
    snprintf(text_, sizeof text_,
             "{\"name\":\"t\",\"vendor\":\"aws.t\",\"format\":{\"parser\":\"json\"},\"timestamp\":{\"from\":\"ts\"},"
             "\"index\":{\"name\":\"log-t\"},\"fields\":{%s}}", fields);
    json_error_t je;
    json_t *root = json_loads(text_, 0, &je);
    if (!root) { snprintf(err, errlen, "bad test JSON: %s", je.text); return NULL; }
    struct schema *sc = schema_compile(root, "test", err, errlen);
    json_decref(root);
    return sc;
}

static void expect_error(const char *fields, const char *why)
{
    char err[256] = "";
    struct schema *sc = compile(fields, err, sizeof err);
    CHECK(sc == NULL);
    if (sc) schema_free(sc);
    else if (!strstr(err, why)) tl_fail(__FILE__, __LINE__, fields, err);
}

static void test_schema_keys(void)
{
    char err[256] = "";
    struct schema *sc = compile(
        "\"dns.answers\":{\"from\":\"answers\",\"object\":{\"data\":\"Rdata\",\"type\":\"Type\"}},"
        "\"dns.resolved_ip\":\"answers[].Rdata\","
        "\"aws.t.labels\":{\"from\":\"labels[].name\",\"array\":true},"
        "\"aws.t.body\":{\"from\":\"log\",\"type\":\"json\"},"
        "\"threat.tactic.name\":{\"from\":\"type\",\"map_prefix\":true,\"map\":{\"Discovery:\":\"Discovery\"},\"map_default\":null}",
        err, sizeof err);
    CHECK(sc != NULL);
    if (!sc) { tl_fail(__FILE__, __LINE__, "compile", err); return; }
    for (int i = 0; i < sc->nrules; i++) {
        const struct field_rule *r = &sc->rules[i];
        if (!strcmp(r->target, "dns.answers")) { CHECK_INT(r->nsub, 2); CHECK_INT(r->sub[0].type, ECS_KEYWORD); }
        if (!strcmp(r->target, "dns.resolved_ip")) CHECK_INT(r->from[0].sel, 1);
        if (!strcmp(r->target, "aws.t.labels")) CHECK_INT(r->array, 1);
        if (!strcmp(r->target, "aws.t.body")) { CHECK_INT(r->json_text, 1); CHECK_INT(r->type, ECS_FLATTENED); }
        if (!strcmp(r->target, "threat.tactic.name")) { CHECK_INT(r->map_prefix, 1); CHECK_INT(r->map_drop, 1); }
    }
    schema_free(sc);
    expect_error("\"source.ip\":\"a[b\"", "without ']'");
    expect_error("\"dns.answers\":{\"from\":\"answers\",\"object\":{\"nope\":\"X\"}}", "not an ECS field");
    expect_error("\"dns.question.name\":{\"from\":\"q\",\"object\":{\"a\":\"b\"}}", "not an ECS field");
    expect_error("\"source.ip\":{\"from\":\"x\",\"array\":true}", "only for vendor fields");
    expect_error("\"message\":{\"from\":\"log\",\"type\":\"json\"}", "only for vendor fields");
    expect_error("\"event.kind\":{\"from\":\"k\",\"map_prefix\":true,\"map\":{\"A\":\"bogus\"}}", "not an allowed ECS value");
}

int main(void)
{
    char err[256];
    if (ecs_load(tl_src("schemas/ecs_fields.tsv"), err, sizeof err) < 0) { fprintf(stderr, "%s\n", err); return 1; }
    jscan_init(&js);
    test_selectors();
    test_check();
    test_jvalue();
    test_ops();
    test_schema_keys();
    jscan_free(&js);
    return tl_done();
}
