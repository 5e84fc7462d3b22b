/* aws_credentials.h - the standard AWS credential chain and region lookup.
 *
 * Owns: finding credentials (environment, web identity via STS, shared
 * credentials/config files, ECS/EKS container endpoint, EC2 IMDSv2),
 * caching them and refreshing them before they expire; region resolution;
 * two small parsing helpers shared with the S3 client (ISO 8601, XML text).
 * Must never: log or put secrets (keys, tokens) into error strings, fall
 * through to a different identity when a configured source fails, or block
 * longer than the configured timeouts on metadata endpoints.
 *
 * Thread safety: one provider may be shared by any number of threads;
 * aws_cred_get() serialises refreshes (one fetch at a time, others wait and
 * then use the fresh result). */
#ifndef AWS_CREDENTIALS_H
#define AWS_CREDENTIALS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "aws_sigv4.h" /* struct aws_creds */

enum aws_cred_source {
    AWS_CRED_SRC_NONE = 0,
    AWS_CRED_SRC_ENV,          /* AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY [/ AWS_SESSION_TOKEN] */
    AWS_CRED_SRC_WEB_IDENTITY, /* AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN -> STS */
    AWS_CRED_SRC_PROFILE,      /* ~/.aws/credentials, ~/.aws/config */
    AWS_CRED_SRC_CONTAINER,    /* AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI */
    AWS_CRED_SRC_IMDS,         /* EC2 instance metadata, IMDSv2 only */
};

/* Bit for aws_cred_options.sources. */
#define AWS_CRED_BIT(src) (1u << (src))

struct aws_cred_options {
    const char *profile;            /* NULL: AWS_PROFILE, else "default" */
    const char *region;             /* STS region; NULL: aws_resolve_region() */
    const char *sts_endpoint;       /* NULL: AWS_ENDPOINT_URL_STS, else https://sts.<region>.amazonaws.com */
    const char *imds_endpoint;      /* NULL: AWS_EC2_METADATA_SERVICE_ENDPOINT, else http://169.254.169.254 */
    const char *container_endpoint; /* base for the RELATIVE_URI; NULL: http://169.254.170.2 */
    unsigned sources;               /* AWS_CRED_BIT() mask of sources to try; 0 = all */
    int refresh_margin_s;           /* refresh this long before expiry; 0 = 300 */
    long connect_timeout_ms;        /* metadata endpoints; 0 = 1000 */
    long timeout_ms;                /* whole metadata request; 0 = 3000 (STS: at least 10000) */
};

struct aws_cred_provider;

/* opt may be NULL. Strings are copied. Returns NULL on allocation failure. */
struct aws_cred_provider *aws_cred_provider_new(const struct aws_cred_options *opt);
void aws_cred_provider_destroy(struct aws_cred_provider *p);

/* Current credentials (cached, refreshed refresh_margin_s before expiry).
 * Returns 0 and fills out, or -1 with a message in err. When a refresh fails
 * but the cached credentials have not expired yet, returns 0 with a warning
 * in err (err[0] != 0) and retries the refresh at most every 10 s. */
int aws_cred_get(struct aws_cred_provider *p, struct aws_creds *out, char *err, size_t errlen);

/* Drop the cache so the next aws_cred_get() fetches (e.g. after ExpiredToken). */
void aws_cred_invalidate(struct aws_cred_provider *p);

/* Source of the cached credentials (for logs). */
enum aws_cred_source aws_cred_provider_source(struct aws_cred_provider *p);
const char *aws_cred_source_name(enum aws_cred_source src);

/* Region: AWS_REGION, AWS_DEFAULT_REGION, then "region" of the profile in
 * the config file (profile NULL: AWS_PROFILE or "default").
 * Returns 0 when found. */
int aws_resolve_region(const char *profile, char *out, size_t outlen);

/* "2015-08-30T12:36:00Z", optional fraction, "Z" or "+hh:mm"; 0 on error. */
time_t aws_parse_iso8601(const char *s);

/* Text of the first <tag>...</tag> in xml, entities decoded.
 * Returns 0, or -1 when absent or longer than outlen - 1. */
int aws_xml_value(const char *xml, const char *tag, char *out, size_t outlen);

#endif
