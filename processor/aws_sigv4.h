/* aws_sigv4.h - AWS Signature Version 4 (AWS4-HMAC-SHA256) request signer.
 *
 * Owns: the canonical request, string to sign and signature for one request,
 * the URI-encoding rules SigV4 uses, and the header or query values a signed
 * request must carry (header signing or presigned URL).
 * Must never: perform network or file I/O, log, or keep credentials or the
 * derived signing key after a call returns.
 *
 * Ownership: every char * in struct sigv4_result is allocated here and freed
 * by sigv4_result_free(). Inputs are borrowed for the duration of a call. */
#ifndef AWS_SIGV4_H
#define AWS_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Credentials as used for signing. token[0] == 0 means "no session token". */
struct aws_creds {
    char access_key[128];
    char secret_key[128];
    char token[4096];
    time_t expiration; /* 0 = never expires */
};

struct sigv4_header {
    const char *name;
    const char *value;
};

struct sigv4_request {
    const char *method;
    /* Path exactly as sent on the wire, i.e. already URI-encoded by the caller
     * (sigv4_uri_encode(raw, len, true)); NULL or "" = "/". The signer signs
     * what is sent: S3 (double_encode_path false) uses it verbatim, other
     * services encode it once more. */
    const char *path;
    const char *query;  /* raw query string (no '?') or NULL; %XX escapes are decoded first */
    const struct sigv4_header *headers; /* must include "host" */
    size_t nheaders;
    const void *body;
    size_t body_len;
    const char *payload_hash; /* optional hex SHA-256 or "UNSIGNED-PAYLOAD"; NULL = hash body */
};

struct sigv4_options {
    const char *service;
    const char *region;
    time_t timestamp;         /* signing time; 0 = now */
    bool double_encode_path;  /* true for most services (canonical = encode(path)), false for S3 */
    bool normalize_path;      /* remove dot segments and empty segments; false for S3 */
    bool sign_body_header;    /* header signing: add and sign x-amz-content-sha256 */
    bool omit_session_token;  /* send the token but leave it out of the signature */
    unsigned expires;         /* presign: X-Amz-Expires seconds (0 = 3600, max 604800) */
};

#define SIGV4_MAX_ADD 4

struct sigv4_added_header {
    const char *name; /* static string */
    char *value;
};

struct sigv4_result {
    char *canonical_request;
    char *string_to_sign;
    char *signed_headers;      /* "host;x-amz-date" */
    char signature[65];        /* lowercase hex */
    char amz_date[17];         /* YYYYMMDDTHHMMSSZ */
    /* Header signing: headers to add to the request, in this order. */
    struct sigv4_added_header add[SIGV4_MAX_ADD];
    size_t nadd;
    /* Query signing: the complete query string to send after '?', including
     * the original parameters and X-Amz-Signature (last). */
    char *query;
};

/* Sign with an Authorization header. Returns 0, or -1 on bad input or
 * allocation failure (out is then empty). Always call sigv4_result_free(). */
int sigv4_sign_headers(const struct sigv4_request *req, const struct aws_creds *creds,
                       const struct sigv4_options *opt, struct sigv4_result *out);

/* Sign as a presigned URL (query-string signing). Same return convention. */
int sigv4_presign(const struct sigv4_request *req, const struct aws_creds *creds,
                  const struct sigv4_options *opt, struct sigv4_result *out);

void sigv4_result_free(struct sigv4_result *r);

/* Percent-encode bytes s[0..n) per SigV4: everything but A-Z a-z 0-9 - . _ ~
 * becomes %XX (uppercase); '/' is kept when keep_slash. Caller frees. */
char *sigv4_uri_encode(const char *s, size_t n, bool keep_slash);

/* Lowercase hex SHA-256 of data into out[65]. */
void sigv4_sha256_hex(const void *data, size_t len, char out[65]);

/* Hex SHA-256 of the empty string, the payload hash of a body-less request. */
#define SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

#endif
