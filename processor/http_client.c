/* http_client: libcurl plumbing shared by the HTTP clients. See http_client.h. */
#include "http_client.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include "aws_credentials.h"
#include "aws_sigv4.h"

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

void http_free_secret(char *s)
{
    if (s)
        OPENSSL_cleanse(s, strlen(s));
    free(s);
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

static char *dup_set(const char *s, int *failed)
{
    char *d = s && *s ? strdup(s) : NULL;
    *failed |= s && *s && !d;
    return d;
}

int http_conn_open(struct http_conn *c, const struct http_conn_opts *o, char *err, size_t n)
{
    int failed = 0;
    memset(c, 0, sizeof *c);
    http_global_init();
    c->connect_ms = o->connect_ms;
    c->timeout_ms = o->timeout_ms;
    c->tls_no_verify = o->tls_no_verify;
    c->user_agent = dup_set(o->user_agent, &failed);
    c->ca_file = dup_set(o->ca_file, &failed);
    c->client_cert = dup_set(o->client_cert, &failed);
    c->client_key = dup_set(o->client_key, &failed);
    c->client_key_password = dup_set(o->client_key_password, &failed);
    if (failed) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    if (!(c->h = curl_easy_init())) {
        snprintf(err, n, "curl_easy_init failed");
        return -1;
    }
    return 0;
}

void http_conn_close(struct http_conn *c)
{
    if (c->h)
        curl_easy_cleanup(c->h);
    free(c->user_agent);
    free(c->ca_file);
    free(c->client_cert);
    free(c->client_key);
    http_free_secret(c->client_key_password);
    memset(c, 0, sizeof *c);
}

int http_base_headers(struct curl_slist **hl, const char *host, const char *content_type)
{
    int rc = http_header_add(hl, "Host", host);
    if (rc == 0)
        rc = http_header_add(hl, "Expect", "");
    if (rc == 0 && content_type)
        rc = http_header_add(hl, "Content-Type", content_type);
    return rc;
}

int http_sign_aws(struct aws_cred_provider *p, const struct sigv4_request *sr, const struct sigv4_options *so,
                  struct curl_slist **hl, char *err, size_t n)
{
    struct aws_creds cr;
    if (aws_cred_get(p, &cr, err, n) != 0)
        return HTTP_SIGN_NO_CREDENTIALS;
    struct sigv4_result sig;
    int rc = sigv4_sign_headers(sr, &cr, so, &sig);
    OPENSSL_cleanse(&cr, sizeof cr);
    for (size_t i = 0; rc == 0 && i < sig.nadd; i++)
        rc = http_header_add(hl, sig.add[i].name, sig.add[i].value);
    sigv4_result_free(&sig);
    return rc == 0 ? HTTP_SIGNED : HTTP_SIGN_FAILED;
}

/* The client certificate and the verification switch. */
static void set_tls(const struct http_conn *c)
{
    if (c->ca_file)
        curl_easy_setopt(c->h, CURLOPT_CAINFO, c->ca_file);
    if (c->client_cert)
        curl_easy_setopt(c->h, CURLOPT_SSLCERT, c->client_cert);
    if (c->client_key)
        curl_easy_setopt(c->h, CURLOPT_SSLKEY, c->client_key);
    if (c->client_key_password)
        curl_easy_setopt(c->h, CURLOPT_KEYPASSWD, c->client_key_password);
    if (c->tls_no_verify) {
        curl_easy_setopt(c->h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c->h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
}

void http_prepare(const struct http_conn *c, const struct http_request *rq)
{
    CURL *h = c->h;
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, rq->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, rq->headers);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_ms);
    if (c->timeout_ms > 0)
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
    set_tls(c);
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
