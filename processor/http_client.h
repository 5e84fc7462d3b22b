/* http_client: the libcurl plumbing the HTTP clients (opensearch.c, s3_client.c,
 * aws_credentials.c) share: curl's one-time global init, endpoint URLs split
 * into scheme, host, port and path, "Name: value" header lines, and the options
 * every request of a client sets on its handle.
 *
 * Owns no handle and no connection. Never sets what a client decides for itself:
 * authentication, client certificates, stall limits, header callbacks. */
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

/* Appends "name: value" to *hl; the formatted copy is wiped (it may hold a
 * secret: an Authorization or a session token). 0, or -1 out of memory. */
int http_header_add(struct curl_slist **hl, const char *name, const char *value);

/* One request, as every client sets it up. */
struct http_request {
    const char *url, *method;
    struct curl_slist *headers;
    const char *body;               /* NULL: none (GET, HEAD or a bodiless method) */
    size_t body_len;
    long connect_ms, timeout_ms;    /* timeout_ms 0: no limit */
    const char *user_agent;
    const char *ca_file;            /* NULL: the system's CAs */
    curl_write_callback on_body;
    void *body_arg;
    char *errbuf;                   /* CURL_ERROR_SIZE bytes */
};

/* Resets h (its live connections stay) and sets the request: http and https
 * only, no signals, TCP keepalive. */
void http_prepare(CURL *h, const struct http_request *rq);
#endif
