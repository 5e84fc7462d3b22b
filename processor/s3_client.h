/* s3_client.h - streaming S3 GetObject (and small PutObject) over libcurl.
 *
 * Owns: one keep-alive CURL easy handle per client, S3 URL construction
 * (virtual-hosted or path-style, S3 key encoding), SigV4 signing for service
 * "s3" (UNSIGNED-PAYLOAD on GET, no path normalisation, single encoding),
 * S3 error parsing and error classification, bounded retries with backoff.
 * Must never: buffer a whole object in memory (bodies go to the caller's
 * chunk callback as they arrive), retry non-retriable errors, retry after
 * bytes were delivered unless the caller agreed to restart, or log secrets.
 *
 * Threads: a client is used by one thread at a time (create one per worker);
 * the credential provider it borrows may be shared. */
#ifndef S3_CLIENT_H
#define S3_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aws_cred_provider;

/* Body bytes as they arrive. Return non-zero to abort the transfer. */
typedef int (*s3_chunk_cb)(const void *data, size_t len, void *arg);

/* Before a retry of a download that already delivered bytes: the caller must
 * discard what it got (reset its parser). Return non-zero to give up. */
typedef int (*s3_restart_cb)(void *arg, int next_attempt);

enum s3_class {
    S3_OK = 0,
    S3_RETRIABLE, /* 5xx, 429/SlowDown, network errors, timeouts */
    S3_FATAL,     /* 403, 404, other 4xx, aborted by the callback, bad input */
};

enum s3_style {
    S3_STYLE_AUTO = 0, /* virtual-hosted on AWS (DNS-safe bucket), path-style with an endpoint */
    S3_STYLE_PATH,
    S3_STYLE_VIRTUAL,
};

struct s3_options {
    const char *region;            /* signing region; NULL = "us-east-1" */
    const char *endpoint;          /* e.g. "http://127.0.0.1:9000"; NULL = https://s3.<region>.amazonaws.com */
    enum s3_style style;
    struct aws_cred_provider *creds; /* borrowed; NULL = anonymous (unsigned) requests */
    long connect_timeout_ms;       /* 0 = 3000 */
    long low_speed_time_s;         /* abort when under 1 byte/s for this long; 0 = 30 */
    long timeout_ms;               /* whole request; 0 = no limit (objects can be large) */
    const char *ca_file;           /* extra CA bundle for S3-compatible stores; NULL = system */
    const char *user_agent;        /* NULL = "siemproc"; the stages pass own_user_agent (ignore_own_logs) */
};

struct s3_result {
    long http_status;     /* 0 when no response arrived */
    enum s3_class cls;
    char code[64];        /* S3 error code, e.g. "NoSuchKey" */
    char message[256];    /* S3 error message */
    char request_id[64];  /* x-amz-request-id */
    char bucket_region[32]; /* x-amz-bucket-region (wrong-region hints) */
    uint64_t bytes;       /* body bytes delivered to on_chunk by the last attempt */
    int attempts;         /* requests made (retry wrapper) */
    int restarts;         /* on_restart calls (retry wrapper) */
    bool aborted;         /* on_chunk returned non-zero */
    char error[512];      /* human summary; "" on success */
};

struct s3_retry_policy {
    int max_attempts;   /* 0 = 4 */
    long base_delay_ms; /* 0 = 200; doubles each attempt */
    long max_delay_ms;  /* 0 = 5000 */
};

/* Returns NULL (message in err) on bad options or allocation failure. */
struct s3_client *s3_client_new(const struct s3_options *opt, char *err, size_t errlen);
void s3_client_free(struct s3_client *c);

/* One GET. Non-2xx bodies are parsed for the S3 error and never passed to
 * on_chunk. Returns 0 when res->cls == S3_OK, else -1. */
int s3_get_object(struct s3_client *c, const char *bucket, const char *key, s3_chunk_cb on_chunk,
                  void *arg, struct s3_result *res);

/* GET with retries of S3_RETRIABLE failures (exponential backoff, jitter).
 * If a failed attempt had already delivered bytes, on_restart is called
 * first; without on_restart such a failure is returned, not retried. */
int s3_get_object_retry(struct s3_client *c, const char *bucket, const char *key,
                        s3_chunk_cb on_chunk, s3_restart_cb on_restart, void *arg,
                        const struct s3_retry_policy *policy, struct s3_result *res);

/* Small PUT (body in memory, signed payload). content_type NULL = octet-stream. */
int s3_put_object(struct s3_client *c, const char *bucket, const char *key, const void *body,
                  size_t len, const char *content_type, struct s3_result *res);

/* ---- exposed for tests and tools ---- */

struct s3_url {
    char *url;  /* full URL */
    char *host; /* Host header value (host[:port]) */
    char *path; /* encoded path as sent and signed */
};

/* Returns 0 or -1 (empty key/bucket, allocation). Free with s3_url_free(). */
int s3_build_url(const struct s3_client *c, const char *bucket, const char *key, struct s3_url *out);
void s3_url_free(struct s3_url *u);

/* S3 key encoding: every byte except A-Z a-z 0-9 - . _ ~ / as %XX. Caller frees. */
char *s3_encode_key(const char *key);

/* Fill code/message/request_id from an S3 <Error> XML body (missing fields stay ""). */
void s3_parse_error(const char *xml, struct s3_result *res);

/* Classification of a finished request. curl_code: a CURLcode (0 = none),
 * which takes precedence over the HTTP status. A callback abort is always
 * S3_FATAL and is decided by the caller, not here. */
enum s3_class s3_classify(long http_status, const char *code, int curl_code);

#endif
