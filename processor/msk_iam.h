/* msk_iam.h - Amazon MSK IAM authentication tokens for SASL/OAUTHBEARER.
 *
 * Owns: building the token the AWS MSK IAM SASL signers produce: a SigV4
 * presigned "GET https://kafka.<region>.amazonaws.com/?Action=kafka-cluster%3AConnect"
 * (service kafka-cluster, X-Amz-Expires 900, empty-payload hash, only the
 * host header signed), with an unsigned User-Agent parameter appended, then
 * base64url-encoded without padding; and handing it to librdkafka.
 * Must never: log the token or the credentials (the token is a bearer
 * credential for 15 minutes).
 *
 * Memory: strings in struct msk_iam_token are allocated here and freed by
 * msk_iam_token_free(). */
#ifndef MSK_IAM_H
#define MSK_IAM_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "aws_sigv4.h"

#define MSK_IAM_EXPIRES_S 900
#define MSK_IAM_DEFAULT_USER_AGENT "siemproc-msk-iam/1.0"

struct aws_cred_provider;
struct rd_kafka_s;

struct msk_iam_token {
    char *token;       /* base64url, no padding: the OAUTHBEARER token value */
    char *url;         /* the presigned URL the token encodes */
    int64_t expiry_ms; /* epoch ms: signing time + 900 s, or the credentials' expiry if sooner */
};

/* now: signing time (0 = current time); user_agent NULL = default.
 * Returns 0, or -1 with a message in err. */
int msk_iam_build_token(const char *region, const struct aws_creds *creds, time_t now,
                        const char *user_agent, struct msk_iam_token *out, char *err, size_t errlen);
void msk_iam_token_free(struct msk_iam_token *t);

/* librdkafka glue: call from the OAUTHBEARER token refresh callback.
 * Gets credentials, builds a token and calls rd_kafka_oauthbearer_set_token()
 * (or _set_token_failure() with the reason). Returns 0 on success. */
struct msk_iam_ctx {
    struct aws_cred_provider *creds; /* borrowed, shared */
    const char *region;
    const char *user_agent;          /* NULL = default */
    const char *principal;           /* NULL = "siemproc" (librdkafka needs one; MSK ignores it) */
};
int msk_iam_refresh(struct rd_kafka_s *rk, const struct msk_iam_ctx *ctx);

/* Ready-made refresh callback for rd_kafka_conf_set_oauthbearer_token_refresh_cb()
 * when the configuration opaque (rd_kafka_conf_set_opaque) is a struct msk_iam_ctx. */
void msk_iam_refresh_cb(struct rd_kafka_s *rk, const char *oauthbearer_config, void *opaque);

#endif
