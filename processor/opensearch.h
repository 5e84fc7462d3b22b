/* opensearch.h - HTTP client for OpenSearch and Elasticsearch: the _bulk API
 * and the plain requests `siemproc setup` needs.
 *
 * Owns: one keep-alive CURL easy handle per client, the list of endpoints and
 * which of them is in use (failover), authentication (none, basic, AWS SigV4
 * for Amazon OpenSearch Service "es" and OpenSearch Serverless "aoss"), TLS
 * options (custom CA, client certificate), gzip request bodies, the NDJSON
 * body of a bulk batch and the classification of the bulk response, item by
 * item.
 * Must never: retry or sleep (backoff is the caller's decision, the client
 * only says what is retriable), decide what happens to a failed document,
 * log, or put credentials into error strings.
 *
 * Compatibility: Elasticsearch 7/8 and OpenSearch 1/2/3 (no mapping types,
 * `_index`/`_id` only in the action line).
 *
 * Threads: a client is used by one thread at a time (one per sink worker);
 * the credential provider it borrows may be shared. */
#ifndef SIEMPROC_OPENSEARCH_H
#define SIEMPROC_OPENSEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct aws_cred_provider;

enum os_auth { OS_AUTH_NONE = 0, OS_AUTH_BASIC, OS_AUTH_SIGV4 };

#define OS_MAX_ENDPOINTS 32

struct os_options {
    const char *urls;              /* "https://a:9200,https://b:9200"; a path prefix is kept */
    enum os_auth auth;
    const char *username;          /* basic */
    const char *password;          /* basic */
    const char *aws_service;       /* SigV4: "es" or "aoss"; NULL: "aoss" for *.aoss.amazonaws.com, else "es" */
    const char *aws_region;        /* SigV4: NULL: from a *.<region>.(es|aoss).amazonaws.com host, else AWS_REGION... */
    struct aws_cred_provider *creds; /* SigV4, borrowed */
    const char *ca_file;           /* CA bundle to trust instead of the system one */
    const char *client_cert;       /* mTLS: PEM certificate */
    const char *client_key;        /* mTLS: PEM key */
    const char *client_key_password;
    bool tls_no_verify;            /* test clusters with self-signed certificates only */
    bool gzip;                     /* Content-Encoding: gzip request bodies */
    int gzip_level;                /* 1..9; 0 = 1 (fast: the sink must stay cheap) */
    const char *bulk_action;       /* "create" (default: re-delivery = 409 = success) or "index" */
    long connect_timeout_ms;       /* 0 = 5000 */
    long timeout_ms;               /* whole request; 0 = 60000 */
    long endpoint_down_ms;         /* a failed endpoint is skipped this long; 0 = 10000 */
    const char *user_agent;        /* NULL = "siemproc" */
};

enum os_status {
    OS_OK = 0,    /* acknowledged (created, updated, or already there: 409 on the same id) */
    OS_RETRY,     /* try again later: 429, 5xx, connection error, timeout, cluster block */
    OS_FAIL,      /* the document will never be accepted as it is (mapping error, ...) */
};

/* One document of a batch: where its two NDJSON lines are in the body, the
 * caller's opaque pointer, and after os_bulk() its result. */
struct os_item {
    size_t off, len;
    void *opaque;
    uint8_t status;        /* enum os_status */
    uint8_t duplicate;     /* OS_OK because the id existed (409) */
    short http;            /* item status from the response; 0 = none */
    char *error_type;      /* OS_RETRY / OS_FAIL: e.g. "mapper_parsing_exception"; owned by the batch */
    char *error_reason;    /* human text from the cluster or the client; owned by the batch */
};

struct os_batch {
    buf_t body;            /* the _bulk NDJSON body */
    arena_t arena;         /* error strings of the items */
    struct os_item *items;
    size_t n, cap;
    const char *action;    /* "create" or "index" */
};

void os_batch_init(struct os_batch *b, const char *action);
void os_batch_free(struct os_batch *b);
void os_batch_reset(struct os_batch *b);
/* Append one document (action line + document line). id NULL or "" lets the
 * cluster choose one. Line breaks in doc become spaces (valid JSON
 * whitespace, and a raw line break cannot be inside a valid JSON string).
 * Returns 0, or -1 with the reason in *why when index or doc is empty. */
int os_batch_add(struct os_batch *b, const char *index, size_t index_len, const char *id,
                 size_t id_len, const char *doc, size_t doc_len, void *opaque, const char **why);
/* Give every item the same result (sinks other than OpenSearch, whole-batch
 * failures). type and reason are copied. */
void os_batch_mark(struct os_batch *b, enum os_status st, const char *type, const char *reason);
/* Keep the items with keep[i] != 0, in order (re-send the retriable ones). */
void os_batch_retain(struct os_batch *b, const uint8_t *keep);
static inline size_t os_batch_bytes(const struct os_batch *b) { return b->body.len; }

struct os_bulk_summary {
    enum os_status status;  /* OS_OK: all acknowledged; OS_RETRY: some must be re-sent later;
                               OS_FAIL: none to re-send, but some were refused */
    long http_status;       /* of the last answer; 0 = none */
    size_t ok, duplicates, retry, failed;
    int endpoint;           /* index of the endpoint that answered; -1 = none */
    int requests;           /* HTTP requests made (413 splits, failover) */
    size_t bytes_sent;      /* body bytes on the wire (after gzip) */
    char error[512];        /* whole-request error; "" when the request was answered with 2xx */
};

/* Count the items' results into s (status, ok, duplicates, retry, failed). */
void os_batch_summarize(const struct os_batch *b, struct os_bulk_summary *s);

struct os_client;

/* Returns NULL with a message in err (bad URL, missing region for SigV4, ...). */
struct os_client *os_client_new(const struct os_options *opt, char *err, size_t errlen);
void os_client_free(struct os_client *c);
int os_client_endpoints(const struct os_client *c);
const char *os_client_endpoint(const struct os_client *c, int i);

/* Send the batch. Every item ends OS_OK, OS_RETRY or OS_FAIL, and the summary
 * counts add up to b->n. A whole-request failure marks every item alike; a 413
 * splits the batch in halves. Returns 0 when every item is OS_OK, else -1. */
int os_bulk(struct os_client *c, struct os_batch *b, struct os_bulk_summary *s);

struct os_response {
    long status;      /* 0 = no answer from any endpoint */
    buf_t body;       /* response body (caller frees with buf_free) */
    char error[512];  /* transport error when status == 0 */
};

/* One request with failover; path includes the query string. body may be
 * NULL. Returns 0 when an endpoint answered (any HTTP status), else -1. */
int os_request(struct os_client *c, const char *method, const char *path, const char *body,
               size_t len, struct os_response *r);

struct os_cluster_info {
    char distribution[32]; /* "opensearch" or "elasticsearch" */
    char version[32];      /* "2.19.6" */
    int major, minor;
};

/* GET / and read the version. OpenSearch Serverless has no such endpoint: for
 * service "aoss" it returns {"opensearch", "serverless", 2, 0} without asking.
 * Returns 0, or -1 with err. */
int os_cluster_info(struct os_client *c, struct os_cluster_info *out, char *err, size_t errlen);

/* Read a 2xx _bulk response body into the items' results and count them in
 * s (exposed for tests and the fuzzer; os_bulk() uses it). An unreadable
 * body, or one without a result per item, leaves every item OS_RETRY. */
void os_read_bulk_response(struct os_client *c, struct os_batch *b, const char *body, size_t len,
                           struct os_bulk_summary *s);

/* Classification shared with tests: a whole response's HTTP status and curl
 * code, and one item's status and error type. */
enum os_status os_classify_request(long http_status, int curl_code);
enum os_status os_classify_item(long http_status, const char *error_type);

#endif
