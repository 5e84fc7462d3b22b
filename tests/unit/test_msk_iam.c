/* test_msk_iam.c - MSK IAM OAUTHBEARER token: decode it, check the URL
 * structure, verify the signature with an independent HMAC computation and
 * with the sigv4 module's query signing, check lifetimes, run the SigV4
 * suite's query cases through the same presign code path, and hand a token
 * to a real librdkafka client. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "aws_credentials.h"
#include "msk_iam.h"
#include "sigv4_suite.h"
#include "testlib.h"

#define T0 1440938160 /* 2015-08-30T12:36:00Z */

static const struct aws_creds example = {
    .access_key = "AKIDEXAMPLE",
    .secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};

/* base64url (no padding) decode; caller frees; NULL on a bad character. */
static char *b64url_decode(const char *s)
{
    size_t n = strlen(s), o = 0;
    char *out = malloc(n * 3 / 4 + 4);
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; out && i < n; i++) {
        const char *set = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        const char *p = strchr(set, s[i]);
        if (!p || !s[i]) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (unsigned)(p - set);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xFF);
        }
    }
    if (out)
        out[o] = 0;
    return out;
}

/* Value of query parameter name in url ("" when absent). */
static const char *param(const char *url, const char *name)
{
    static char v[4096];
    char key[64];
    snprintf(key, sizeof key, "%s=", name);
    v[0] = 0;
    for (const char *p = strchr(url, '?'); p; p = strchr(p + 1, '&')) {
        if (strncmp(p + 1, key, strlen(key)) == 0) {
            size_t len = strcspn(p + 1 + strlen(key), "&");
            snprintf(v, sizeof v, "%.*s", (int)len, p + 1 + strlen(key));
            break;
        }
    }
    return v;
}

static void hex(const unsigned char *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

/* The SigV4 algorithm written out once more, with OpenSSL's HMAC()/SHA256. */
static void independent_signature(const char *creq, const char *secret, char sig[65])
{
    unsigned char h[32], k[32];
    char creq_hex[65], sts[512], k0[160];
    unsigned int len = 0;
    EVP_Digest(creq, strlen(creq), h, &len, EVP_sha256(), NULL);
    hex(h, 32, creq_hex);
    snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/kafka-cluster/aws4_request\n%s",
             creq_hex);
    snprintf(k0, sizeof k0, "AWS4%s", secret);
    const char *chain[] = {"20150830", "us-east-1", "kafka-cluster", "aws4_request", sts};
    HMAC(EVP_sha256(), k0, (int)strlen(k0), (const unsigned char *)chain[0], strlen(chain[0]), k, &len);
    for (int i = 1; i < 5; i++)
        HMAC(EVP_sha256(), k, 32, (const unsigned char *)chain[i], strlen(chain[i]), k, &len);
    hex(k, 32, sig);
}

static void test_token_structure(void)
{
    struct msk_iam_token t;
    char err[256];
    CHECK_INT(msk_iam_build_token("us-east-1", &example, T0, "siemproc-test/1.0", &t, err, sizeof err), 0);
    CHECK(strspn(t.token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == strlen(t.token));
    char *url = b64url_decode(t.token);
    CHECK_STR(url, t.url);
    const char *want_prefix = "https://kafka.us-east-1.amazonaws.com/?Action=kafka-cluster%3AConnect&X-Amz-Algorithm=AWS4-HMAC-SHA256&";
    CHECK(url && strncmp(url, want_prefix, strlen(want_prefix)) == 0);
    CHECK_STR(param(url, "X-Amz-Credential"), "AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fkafka-cluster%2Faws4_request");
    CHECK_STR(param(url, "X-Amz-Date"), "20150830T123600Z");
    CHECK_STR(param(url, "X-Amz-Expires"), "900");
    CHECK_STR(param(url, "X-Amz-SignedHeaders"), "host");
    CHECK_STR(param(url, "X-Amz-Security-Token"), "");
    CHECK_STR(param(url, "User-Agent"), "siemproc-test%2F1.0");
    CHECK(url && strstr(url, "&User-Agent=") > strstr(url, "&X-Amz-Signature=")); /* appended after signing */
    CHECK_INT(t.expiry_ms, (T0 + 900) * 1000LL);

    char sig[65];
    independent_signature("GET\n/\n"
                          "Action=kafka-cluster%3AConnect&X-Amz-Algorithm=AWS4-HMAC-SHA256"
                          "&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fkafka-cluster%2Faws4_request"
                          "&X-Amz-Date=20150830T123600Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host\n"
                          "host:kafka.us-east-1.amazonaws.com\n\nhost\n" SIGV4_EMPTY_SHA256,
                          example.secret_key, sig);
    CHECK_STR(param(url, "X-Amz-Signature"), sig);
    free(url);
    msk_iam_token_free(&t);
}

/* Same signature as a plain sigv4_presign of the equivalent request, also
 * with a session token; token lifetime capped by the credentials. */
static void test_against_presign(void)
{
    struct aws_creds c = example;
    snprintf(c.token, sizeof c.token, "FwoGZXIvYXdzE+/=token");
    c.expiration = T0 + 600;
    struct msk_iam_token t;
    char err[256];
    CHECK_INT(msk_iam_build_token("us-east-1", &c, T0, NULL, &t, err, sizeof err), 0);
    struct sigv4_header h[] = {{"Host", "kafka.us-east-1.amazonaws.com"}};
    struct sigv4_request rq = {.method = "GET", .path = "/", .query = "Action=kafka-cluster:Connect",
                               .headers = h, .nheaders = 1, .payload_hash = SIGV4_EMPTY_SHA256};
    struct sigv4_options o = {.service = "kafka-cluster", .region = "us-east-1", .timestamp = T0,
                              .double_encode_path = true, .normalize_path = true, .expires = 900};
    struct sigv4_result r;
    CHECK_INT(sigv4_presign(&rq, &c, &o, &r), 0);
    CHECK_STR(param(t.url, "X-Amz-Signature"), r.signature);
    CHECK_STR(param(t.url, "X-Amz-Security-Token"), "FwoGZXIvYXdzE%2B%2F%3Dtoken");
    CHECK(strstr(r.canonical_request, "&X-Amz-Security-Token=FwoGZXIvYXdzE%2B%2F%3Dtoken&") != NULL);
    CHECK_STR(param(t.url, "User-Agent"), "siemproc-msk-iam%2F1.0");
    CHECK_INT(t.expiry_ms, (T0 + 600) * 1000LL);
    sigv4_result_free(&r);
    msk_iam_token_free(&t);
}

static void test_regions_and_errors(void)
{
    struct msk_iam_token t;
    char err[256];
    CHECK_INT(msk_iam_build_token("cn-north-1", &example, T0, NULL, &t, err, sizeof err), 0);
    CHECK(t.url && strncmp(t.url, "https://kafka.cn-north-1.amazonaws.com.cn/?", 43) == 0);
    msk_iam_token_free(&t);
    CHECK_INT(msk_iam_build_token("", &example, T0, NULL, &t, err, sizeof err), -1);
    struct aws_creds none = {0};
    CHECK_INT(msk_iam_build_token("us-east-1", &none, T0, NULL, &t, err, sizeof err), -1);
    CHECK(t.token == NULL);
}

/* The suite's query cases through sigv4_presign, the code path MSK uses. */
static void test_suite_query_cases(void)
{
    char base[1024], dir[SUITE_PATH_MAX];
    if (!suite_v4_dir(base, sizeof base)) {
        printf("note: testdata/sigv4 not found, suite query cases not run\n");
        return;
    }
    char **names;
    size_t n = suite_list(base, &names), ok = 0;
    for (size_t i = 0; i < n; i++) {
        struct suite_case c;
        struct sigv4_result r = {0};
        snprintf(dir, sizeof dir, "%s/%s", base, names[i]);
        char *want = suite_read(dir, "query-signature.txt");
        int good = suite_load(dir, &c) == 0 && sigv4_presign(&c.req, &c.creds, &c.opt, &r) == 0 &&
                   want && strcmp(want, r.signature) == 0;
        if (!good)
            fprintf(stderr, "query case %s failed\n", names[i]);
        ok += good;
        free(want);
        sigv4_result_free(&r);
        suite_free(&c);
        free(names[i]);
    }
    free(names);
    CHECK_INT(ok, n);
    CHECK_INT(n, 38);
    printf("sigv4 suite query cases via presign: %zu/%zu\n", ok, n);
}

/* ---- librdkafka integration ---------------------------------------------- */

static int refreshes, refresh_ok;

static void refresh_cb(rd_kafka_t *rk, const char *cfg, void *opaque)
{
    (void)cfg;
    refreshes++;
    refresh_ok += msk_iam_refresh(rk, opaque) == 0;
}

static rd_kafka_t *oauth_client(struct msk_iam_ctx *ctx)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *kv[][2] = {{"bootstrap.servers", "127.0.0.1:1"}, {"security.protocol", "SASL_PLAINTEXT"},
                           {"sasl.mechanisms", "OAUTHBEARER"}, {"log_level", "0"}};
    for (size_t i = 0; i < 4; i++)
        if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], err, sizeof err) != RD_KAFKA_CONF_OK)
            fprintf(stderr, "conf %s: %s\n", kv[i][0], err);
    rd_kafka_conf_set_opaque(conf, ctx);
    rd_kafka_conf_set_oauthbearer_token_refresh_cb(conf, refresh_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk)
        fprintf(stderr, "rd_kafka_new: %s\n", err);
    return rk;
}

static void test_rdkafka(void)
{
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
    struct aws_cred_options co = {.sources = AWS_CRED_BIT(AWS_CRED_SRC_ENV)};
    struct aws_cred_provider *p = aws_cred_provider_new(&co);
    struct msk_iam_ctx ctx = {.creds = p, .region = "eu-west-1"};
    rd_kafka_t *rk = oauth_client(&ctx);
    CHECK(rk != NULL);
    for (int i = 0; rk && i < 20 && !refreshes; i++)
        rd_kafka_poll(rk, 100);
    CHECK(refreshes >= 1);
    CHECK_INT(refresh_ok, refreshes); /* librdkafka accepted the token */
    if (rk)
        rd_kafka_destroy(rk);
    aws_cred_provider_destroy(p);

    /* no credentials: the failure is reported to librdkafka, not hidden */
    struct aws_cred_options none = {.sources = AWS_CRED_BIT(AWS_CRED_SRC_CONTAINER)};
    p = aws_cred_provider_new(&none);
    ctx.creds = p;
    refreshes = refresh_ok = 0;
    rk = oauth_client(&ctx);
    for (int i = 0; rk && i < 20 && !refreshes; i++)
        rd_kafka_poll(rk, 100);
    CHECK(refreshes >= 1);
    CHECK_INT(refresh_ok, 0);
    if (rk)
        rd_kafka_destroy(rk);
    aws_cred_provider_destroy(p);
}

int main(void)
{
    test_token_structure();
    test_against_presign();
    test_regions_and_errors();
    test_suite_query_cases();
    test_rdkafka();
    return tl_done();
}
