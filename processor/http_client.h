/* http_client: the libcurl plumbing the HTTP clients (opensearch.c, s3_client.c,
 * aws_credentials.c) share: curl's one-time global init, a connection (one
 * handle kept for keep-alive, with the timeouts, CA, client certificate and
 * user agent of every request on it), endpoint URLs split into scheme, host,
 * port and path, "Name: value" header lines, the headers every request
 * starts with, SigV4 signing into those headers, and the options every
 * request sets on the handle.
 *
 * Owns the connection's handle and its copies of the settings. Never sets
 * what a client decides for itself: which authentication, stall limits,
 * header callbacks; never retries. */
#ifndef HTTP_CLIENT_H
#define HTTP_CLIENT_H
#include <stddef.h>
#include <curl/curl.h>

/* curl_global_init, once per process; every client calls it before its first handle. */
void http_global_init(void);

/* The parts of an http or https URL (curl's strings; port and path may be NULL). */
struct http_url {
    char *scheme, *host, *port, *path;
};
enum { HTTP_URL_OK = 0, HTTP_URL_INVALID = -1, HTTP_URL_NOT_HTTP = -2 };

/* HTTP_URL_OK, or why not; u is to be freed with http_url_free either way. */
int http_url_split(const char *url, struct http_url *u);
void http_url_free(struct http_url *u);

/* Wipes a string that may hold a secret (a password, a token), then frees it. */
void http_free_secret(char *s);

/* Appends "name: value" to *hl; the formatted copy is wiped (it may hold a
 * secret: an Authorization or a session token). 0, or -1 out of memory. */
int http_header_add(struct curl_slist **hl, const char *name, const char *value);

/* The settings of a connection (strings are copied; NULL or "": none). */
struct http_conn_opts {
    long connect_ms, timeout_ms;    /* timeout_ms 0: no limit */
    const char *user_agent;         /* none: no User-Agent header */
    const char *ca_file;            /* none: the system's CAs */
    const char *client_cert, *client_key, *client_key_password;
    int tls_no_verify;              /* accept any server certificate */
};

struct http_conn {
    CURL *h;
    long connect_ms, timeout_ms;
    char *user_agent, *ca_file, *client_cert, *client_key, *client_key_password;
    int tls_no_verify;
};

/* curl's global init, a handle, copies of the settings. -1 (out of memory,
 * no handle) with err; c is to be closed either way. */
int  http_conn_open(struct http_conn *c, const struct http_conn_opts *o, char *err, size_t errlen);
void http_conn_close(struct http_conn *c);   /* wipes the key password */

/* "Host", "Expect:" (no 100-continue) and, unless NULL, "Content-Type".
 * 0, or -1 out of memory. */
int http_base_headers(struct curl_slist **hl, const char *host, const char *content_type);

/* Signs the request with the provider's credentials and appends the
 * signature headers to *hl (the credentials are wiped after use). */
struct aws_cred_provider;
struct sigv4_request;
struct sigv4_options;
enum { HTTP_SIGNED = 0, HTTP_SIGN_NO_CREDENTIALS = -1, HTTP_SIGN_FAILED = -2 };
/* HTTP_SIGNED, or why not (no credentials: the provider's reason in err). */
int http_sign_aws(struct aws_cred_provider *p, const struct sigv4_request *sr, const struct sigv4_options *so,
                  struct curl_slist **hl, char *err, size_t errlen);

/* One request on a connection. */
struct http_request {
    const char *url, *method;
    struct curl_slist *headers;
    const char *body;               /* NULL: none (GET, HEAD or a bodiless method) */
    size_t body_len;
    curl_write_callback on_body;
    void *body_arg;
    char *errbuf;                   /* CURL_ERROR_SIZE bytes */
};

/* Resets c->h (its live connections stay) and sets the connection's settings
 * and the request: http and https only, no signals, TCP keepalive. */
void http_prepare(const struct http_conn *c, const struct http_request *rq);
#endif
