/* test_sigv4.c - SigV4 signer against every aws-c-auth v4 suite case
 * (header and query signing), the removed UNSIGNED-PAYLOAD case, and the
 * public S3 examples from the AWS documentation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_sigv4.h"
#include "sigv4_suite.h"
#include "testlib.h"

static int cases_total, cases_ok;

static int starts_with(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Compare got with <dir>/<file>; returns 1 when equal. */
static int same_as_file(const struct suite_case *c, const char *file, const char *got)
{
    char *want = suite_read(c->dir, file);
    int ok = want && got && strcmp(want, got) == 0;
    if (!ok)
        fprintf(stderr, "  %s/%s mismatch\n  want: %s\n  got:  %s\n", c->name, file,
                want ? want : "(missing)", got ? got : "(null)");
    free(want);
    return ok;
}

/* Every header the signer adds must appear as a "Name:value" line. */
static int headers_in_signed_request(const struct suite_case *c, const struct sigv4_result *r)
{
    char *want = suite_read(c->dir, "header-signed-request.txt");
    int ok = want != NULL;
    for (size_t i = 0; ok && i < r->nadd; i++) {
        char line[8192];
        snprintf(line, sizeof line, "\n%s:%s\n", r->add[i].name, r->add[i].value);
        ok = strstr(want, line) != NULL;
        if (!ok)
            fprintf(stderr, "  %s: header-signed-request lacks %s", c->name, line + 1);
    }
    free(want);
    return ok;
}

/* Collect the X-Amz-* parameters of a query string, sorted, '&'-joined. */
static void amz_params(const char *q, char *out, size_t n)
{
    char *dup = strdup(q), *save = NULL, *v[32];
    size_t k = 0;
    for (char *p = strtok_r(dup, "&", &save); p && k < 32; p = strtok_r(NULL, "&", &save))
        if (strncmp(p, "X-Amz-", 6) == 0)
            v[k++] = p;
    qsort(v, k, sizeof *v, suite_name_cmp);
    out[0] = 0;
    for (size_t i = 0; i < k; i++) {
        strncat(out, v[i], n - strlen(out) - 2);
        strcat(out, "&");
    }
    free(dup);
}

/* The X-Amz-* parameters we emit equal those of the expected presigned request line. */
static int query_matches_signed_request(const struct suite_case *c, const struct sigv4_result *r)
{
    char *want = suite_read(c->dir, "query-signed-request.txt");
    if (!want)
        return 0;
    char *q = strchr(want, '?'), *sp = q ? strstr(q, " HTTP/1.1") : NULL;
    if (sp)
        *sp = 0;
    static char a[16384], b[16384];
    amz_params(q ? q + 1 : "", a, sizeof a);
    amz_params(r->query, b, sizeof b);
    int ok = q && strcmp(a, b) == 0;
    if (!ok)
        fprintf(stderr, "  %s: presigned params differ\n  want: %s\n  got:  %s\n", c->name, a, b);
    free(want);
    return ok;
}

static void run_header(const struct suite_case *c)
{
    struct sigv4_result r;
    int ok = sigv4_sign_headers(&c->req, &c->creds, &c->opt, &r) == 0;
    ok = ok && same_as_file(c, "header-canonical-request.txt", r.canonical_request);
    ok = ok && same_as_file(c, "header-string-to-sign.txt", r.string_to_sign);
    ok = ok && same_as_file(c, "header-signature.txt", r.signature);
    ok = ok && headers_in_signed_request(c, &r);
    CHECK(ok);
    cases_total++;
    cases_ok += ok;
    if (!ok)
        fprintf(stderr, "FAILED header case %s\n", c->name);
    sigv4_result_free(&r);
}

static void run_query(const struct suite_case *c)
{
    char *probe = suite_read(c->dir, "query-canonical-request.txt");
    if (!probe)
        return; /* the removed UNSIGNED-PAYLOAD case has header files only */
    free(probe);
    struct sigv4_result r;
    int ok = sigv4_presign(&c->req, &c->creds, &c->opt, &r) == 0;
    ok = ok && same_as_file(c, "query-canonical-request.txt", r.canonical_request);
    ok = ok && same_as_file(c, "query-string-to-sign.txt", r.string_to_sign);
    ok = ok && same_as_file(c, "query-signature.txt", r.signature);
    ok = ok && query_matches_signed_request(c, &r);
    CHECK(ok);
    cases_total++;
    cases_ok += ok;
    if (!ok)
        fprintf(stderr, "FAILED query case %s\n", c->name);
    sigv4_result_free(&r);
}

static void run_case(const char *dir)
{
    struct suite_case c;
    int loaded = suite_load(dir, &c) == 0;
    CHECK(loaded);
    if (loaded) {
        run_header(&c);
        run_query(&c);
    } else {
        fprintf(stderr, "cannot load case %s\n", dir);
    }
    suite_free(&c);
}

static void test_suite(void)
{
    char base[1024], dir[SUITE_PATH_MAX];
    if (!suite_v4_dir(base, sizeof base))
        tl_skip("testdata/sigv4 not found (set SIEMPROC_SHARED)");
    char **names;
    size_t n = suite_list(base, &names);
    CHECK_INT(n, 38);
    for (size_t i = 0; i < n; i++) {
        snprintf(dir, sizeof dir, "%s/%s", base, names[i]);
        run_case(dir);
        free(names[i]);
    }
    free(names);
    const char *extra = tl_shared("testdata/sigv4/aws-c-auth-removed-cases/v4/post-unsigned-payload/context.json");
    CHECK(extra != NULL);
    if (extra) {
        snprintf(dir, sizeof dir, "%s", extra);
        *strrchr(dir, '/') = 0;
        run_case(dir);
    }
    printf("sigv4 suite: %d/%d signings passed (%zu v4 cases x header+query, + post-unsigned-payload header)\n",
           cases_ok, cases_total, n);
}

static const struct aws_creds doc_creds = {
    .access_key = "AKIAIOSFODNN7EXAMPLE",
    .secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
};

static struct sigv4_options s3_opts(void)
{
    struct sigv4_options o = {.service = "s3", .region = "us-east-1", .timestamp = 1369353600,
                              .double_encode_path = false, .normalize_path = false,
                              .sign_body_header = true};
    return o; /* 2013-05-24T00:00:00Z */
}

/* "GET Object" example of the S3 SigV4 documentation. */
static void test_s3_doc_get(void)
{
    struct sigv4_header h[] = {{"Host", "examplebucket.s3.amazonaws.com"}, {"Range", "bytes=0-9"}};
    struct sigv4_request req = {.method = "GET", .path = "/test.txt", .headers = h, .nheaders = 2};
    struct sigv4_options o = s3_opts();
    struct sigv4_result r;
    CHECK_INT(sigv4_sign_headers(&req, &doc_creds, &o, &r), 0);
    CHECK_STR(r.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    CHECK_STR(r.signed_headers, "host;range;x-amz-content-sha256;x-amz-date");
    CHECK_INT(r.nadd, 3);
    CHECK_STR(r.add[1].value, SIGV4_EMPTY_SHA256);
    sigv4_result_free(&r);
}

/* Presigned-URL example of the S3 documentation (UNSIGNED-PAYLOAD, 86400 s). */
static void test_s3_doc_presign(void)
{
    struct sigv4_header h[] = {{"Host", "examplebucket.s3.amazonaws.com"}};
    struct sigv4_request req = {.method = "GET", .path = "/test.txt", .headers = h, .nheaders = 1,
                                .payload_hash = SIGV4_UNSIGNED_PAYLOAD};
    struct sigv4_options o = s3_opts();
    o.expires = 86400;
    struct sigv4_result r;
    CHECK_INT(sigv4_presign(&req, &doc_creds, &o, &r), 0);
    CHECK_STR(r.signature, "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
    CHECK(r.query && strstr(r.query, "X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bb"));
    sigv4_result_free(&r);
}

static void test_encoding(void)
{
    char *e = sigv4_uri_encode("a b/c+d=e~", 10, true);
    CHECK_STR(e, "a%20b/c%2Bd%3De~");
    free(e);
    e = sigv4_uri_encode("a/\xc3\xbc", 4, false);
    CHECK_STR(e, "a%2F%C3%BC");
    free(e);
}

/* The path is the wire path: S3 signs it verbatim (single encoding, no
 * normalization); other services encode it once more. */
static void test_path_modes(void)
{
    struct sigv4_header h[] = {{"host", "h"}};
    struct sigv4_request req = {.method = "GET", .path = "/a//./b%25c%20d", .headers = h, .nheaders = 1};
    struct sigv4_options o = s3_opts();
    struct sigv4_result r;
    CHECK_INT(sigv4_sign_headers(&req, &doc_creds, &o, &r), 0);
    CHECK(r.canonical_request && starts_with(r.canonical_request, "GET\n/a//./b%25c%20d\n\n"));
    sigv4_result_free(&r);
    o.double_encode_path = o.normalize_path = true;
    CHECK_INT(sigv4_sign_headers(&req, &doc_creds, &o, &r), 0);
    CHECK(r.canonical_request && starts_with(r.canonical_request, "GET\n/a/b%2525c%2520d\n\n"));
    sigv4_result_free(&r);
}

static void test_bad_input(void)
{
    struct sigv4_request req = {.method = "GET", .path = "/"};
    struct sigv4_options o = s3_opts();
    struct aws_creds none = {0};
    struct sigv4_result r;
    CHECK_INT(sigv4_sign_headers(&req, &none, &o, &r), -1);
    sigv4_result_free(&r);
    o.expires = 604801;
    CHECK_INT(sigv4_presign(&req, &doc_creds, &o, &r), -1);
    sigv4_result_free(&r);
    o.service = NULL;
    CHECK_INT(sigv4_sign_headers(&req, &doc_creds, &o, &r), -1);
    sigv4_result_free(&r);
}

/* Query parameters: %XX decoded then re-encoded; bare keys get "="; '+' is literal. */
static void test_query_canon(void)
{
    struct sigv4_header h[] = {{"host", "h"}};
    struct sigv4_request req = {.method = "GET", .path = "/", .query = "b=2&a&c=x+y&a=%7e1",
                                .headers = h, .nheaders = 1};
    struct sigv4_options o = s3_opts();
    struct sigv4_result r;
    CHECK_INT(sigv4_sign_headers(&req, &doc_creds, &o, &r), 0);
    CHECK(r.canonical_request && strstr(r.canonical_request, "\na=&a=~1&b=2&c=x%2By\n"));
    sigv4_result_free(&r);
}

int main(void)
{
    test_suite();
    test_encoding();
    test_path_modes();
    test_bad_input();
    test_query_canon();
    test_s3_doc_get();
    test_s3_doc_presign();
    return tl_done();
}
