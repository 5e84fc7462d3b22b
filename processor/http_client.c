/* http_client: libcurl plumbing shared by the HTTP clients. See http_client.h. */
#include "http_client.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

void http_global_init(void) { pthread_once(&curl_once, curl_init_once); }

int http_url_split(const char *url, struct http_url *u)
{
    memset(u, 0, sizeof *u);
    CURLU *h = curl_url();
    int rc = HTTP_URL_INVALID;
    if (h && curl_url_set(h, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(h, CURLUPART_SCHEME, &u->scheme, 0) == CURLUE_OK &&
        curl_url_get(h, CURLUPART_HOST, &u->host, 0) == CURLUE_OK) {
        curl_url_get(h, CURLUPART_PORT, &u->port, 0);
        curl_url_get(h, CURLUPART_PATH, &u->path, 0);
        rc = strcasecmp(u->scheme, "http") == 0 || strcasecmp(u->scheme, "https") == 0 ? HTTP_URL_OK
                                                                                      : HTTP_URL_NOT_HTTP;
    }
    curl_url_cleanup(h);
    return rc;
}

void http_url_free(struct http_url *u)
{
    curl_free(u->scheme);
    curl_free(u->host);
    curl_free(u->port);
    curl_free(u->path);
    memset(u, 0, sizeof *u);
}

int http_header_add(struct curl_slist **hl, const char *name, const char *value)
{
    size_t n = strlen(name) + strlen(value) + 3;
    char *line = malloc(n);
    if (!line)
        return -1;
    snprintf(line, n, "%s: %s", name, value);
    struct curl_slist *l = curl_slist_append(*hl, line);
    OPENSSL_cleanse(line, n);
    free(line);
    if (!l)
        return -1;
    *hl = l;
    return 0;
}

void http_prepare(CURL *h, const struct http_request *rq)
{
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, rq->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, rq->headers);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, rq->connect_ms);
    if (rq->timeout_ms > 0)
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, rq->timeout_ms);
    curl_easy_setopt(h, CURLOPT_USERAGENT, rq->user_agent);
    if (rq->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, rq->ca_file);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, rq->errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, rq->on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, rq->body_arg);
    if (strcmp(rq->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (rq->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
    } else if (strcmp(rq->method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
    }
}
