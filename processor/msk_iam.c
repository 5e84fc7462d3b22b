/* msk_iam.c - Amazon MSK IAM SASL/OAUTHBEARER tokens.
 *
 * Owns: the presigned kafka-cluster:Connect URL, its base64url encoding, the
 * token lifetime, and the librdkafka set_token / set_token_failure calls.
 * Must never: sign anything but the host header (MSK verifies exactly that
 * request), put the token or credentials into error strings or logs. */
#include "msk_iam.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "aws_credentials.h"

static int fail(char *err, size_t n, const char *msg)
{
    if (err && n)
        snprintf(err, n, "%s", msg);
    return -1;
}

/* base64url without padding; caller frees. */
static char *base64url(const char *in, size_t len)
{
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    if (!out)
        return NULL;
    int n = EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in, (int)len);
    while (n > 0 && out[n - 1] == '=')
        n--;
    out[n] = 0;
    for (char *p = out; *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    return out;
}

static int kafka_host(const char *region, char *out, size_t n)
{
    int w = snprintf(out, n, "kafka.%s.amazonaws.com%s", region,
                     strncmp(region, "cn-", 3) == 0 ? ".cn" : "");
    return (w < 0 || (size_t)w >= n) ? -1 : 0;
}

/* https://<host>/?<signed query>&User-Agent=<ua>; caller frees. */
static char *presigned_url(const char *host, const char *query, const char *user_agent)
{
    char *ua = sigv4_uri_encode(user_agent, strlen(user_agent), false);
    size_t len = strlen(host) + strlen(query) + (ua ? strlen(ua) : 0) + 32;
    char *url = ua ? malloc(len) : NULL;
    if (url)
        snprintf(url, len, "https://%s/?%s&User-Agent=%s", host, query, ua);
    free(ua);
    return url;
}

static int presign_connect(const char *region, const char *host, const struct aws_creds *creds,
                           time_t now, struct sigv4_result *sig)
{
    struct sigv4_header h[] = {{"host", host}};
    struct sigv4_request rq = {.method = "GET", .path = "/", .query = "Action=kafka-cluster%3AConnect",
                               .headers = h, .nheaders = 1};
    struct sigv4_options o = {.service = "kafka-cluster", .region = region, .timestamp = now,
                              .double_encode_path = true, .normalize_path = true,
                              .expires = MSK_IAM_EXPIRES_S};
    return sigv4_presign(&rq, creds, &o, sig);
}

int msk_iam_build_token(const char *region, const struct aws_creds *creds, time_t now,
                        const char *user_agent, struct msk_iam_token *out, char *err, size_t errlen)
{
    char host[256];
    struct sigv4_result sig;
    memset(out, 0, sizeof *out);
    if (!region || !*region || kafka_host(region, host, sizeof host) != 0)
        return fail(err, errlen, "msk iam: bad region");
    if (!now)
        now = time(NULL);
    if (!creds || presign_connect(region, host, creds, now, &sig) != 0)
        return fail(err, errlen, "msk iam: cannot sign (missing credentials?)");
    out->url = presigned_url(host, sig.query, user_agent ? user_agent : MSK_IAM_DEFAULT_USER_AGENT);
    sigv4_result_free(&sig);
    out->token = out->url ? base64url(out->url, strlen(out->url)) : NULL;
    if (!out->token) {
        msk_iam_token_free(out);
        return fail(err, errlen, "msk iam: out of memory");
    }
    time_t until = now + MSK_IAM_EXPIRES_S;
    if (creds->expiration && creds->expiration < until)
        until = creds->expiration; /* the URL dies with the session token */
    out->expiry_ms = (int64_t)until * 1000;
    return 0;
}

void msk_iam_token_free(struct msk_iam_token *t)
{
    if (!t)
        return;
    if (t->token)
        OPENSSL_cleanse(t->token, strlen(t->token));
    if (t->url)
        OPENSSL_cleanse(t->url, strlen(t->url));
    free(t->token);
    free(t->url);
    memset(t, 0, sizeof *t);
}

int msk_iam_refresh(struct rd_kafka_s *rk, const struct msk_iam_ctx *ctx)
{
    struct aws_creds creds;
    struct msk_iam_token tok;
    char err[512];
    int rc = aws_cred_get(ctx->creds, &creds, err, sizeof err);
    if (rc == 0)
        rc = msk_iam_build_token(ctx->region, &creds, 0, ctx->user_agent, &tok, err, sizeof err);
    OPENSSL_cleanse(&creds, sizeof creds);
    if (rc != 0) {
        rd_kafka_oauthbearer_set_token_failure(rk, err);
        return -1;
    }
    rd_kafka_resp_err_t e = rd_kafka_oauthbearer_set_token(
        rk, tok.token, tok.expiry_ms, ctx->principal ? ctx->principal : "siemproc", NULL, 0, err, sizeof err);
    msk_iam_token_free(&tok);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_oauthbearer_set_token_failure(rk, err);
        return -1;
    }
    return 0;
}

void msk_iam_refresh_cb(struct rd_kafka_s *rk, const char *oauthbearer_config, void *opaque)
{
    (void)oauthbearer_config;
    msk_iam_refresh(rk, opaque);
}
