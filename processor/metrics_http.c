/* metrics_http: /metrics, /healthz, /readyz over plain sockets.
 * See metrics_http.h for what it owns and must never do. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include "metrics_http.h"

#define REQUEST_MAX 8192

struct metrics_http {
    struct metrics_http_opts o;
    int fd, port;
    int stop_pipe[2];
    pthread_t thread;
    buf_t body;
};

static int bind_listen(const char *address, int port, char *err, size_t errlen)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV };
    struct addrinfo *ai = NULL;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    int rc = getaddrinfo(address, portstr, &hints, &ai);
    if (rc) {
        snprintf(err, errlen, "metrics address %s: %s", address, gai_strerror(rc));
        return -1;
    }
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0), one = 1;
    if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 16) < 0) {
        snprintf(err, errlen, "metrics address %s port %d: %s", address, port, strerror(errno));
        if (fd >= 0) close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) return -1;
    char port[16];
    if (getnameinfo((struct sockaddr *)&ss, len, NULL, 0, port, sizeof port, NI_NUMERICSERV)) return -1;
    return atoi(port);
}

static void set_timeouts(int fd, int ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* Read until the end of the headers. Returns the length, or -1. */
static int read_request(int fd, char *req, size_t cap)
{
    size_t len = 0;
    while (len + 1 < cap) {
        ssize_t n = recv(fd, req + len, cap - 1 - len, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        len += (size_t)n;
        req[len] = '\0';
        if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n")) return (int)len;
    }
    return -1;
}

static void send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        p += w;
        n -= (size_t)w;
    }
}

static void respond(int fd, int status, const char *reason, const char *ctype, const char *body, size_t blen,
                    int head)
{
    char hdr[256];
    int n = snprintf(hdr, sizeof hdr,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                     status, reason, ctype, blen);
    send_all(fd, hdr, (size_t)n);
    if (!head) send_all(fd, body, blen);
}

static void respond_text(int fd, int status, const char *reason, const char *text, int head)
{
    respond(fd, status, reason, "text/plain; charset=utf-8", text, strlen(text), head);
}

static void serve_ready(struct metrics_http *h, int fd, int head)
{
    char why[256] = "", text[300];
    int ok = !h->o.ready || h->o.ready(h->o.ready_arg, why, sizeof why);
    snprintf(text, sizeof text, "%s%s%s\n", ok ? "ready" : "not ready", *why ? ": " : "", why);
    respond_text(fd, ok ? 200 : 503, ok ? "OK" : "Service Unavailable", text, head);
}

/* "GET /path?query HTTP/1.1": the method and the path without the query. */
static int parse_request_line(char *req, const char **method, const char **path)
{
    char *sp = strchr(req, ' ');
    if (!sp) return -1;
    *sp = '\0';
    *method = req;
    *path = sp + 1;
    size_t n = strcspn(sp + 1, " ?\r\n");
    if (!n) return -1;
    sp[1 + n] = '\0';
    return 0;
}

static void serve(struct metrics_http *h, int fd)
{
    char req[REQUEST_MAX];
    const char *method, *path;
    if (read_request(fd, req, sizeof req) < 0) return;
    if (parse_request_line(req, &method, &path) < 0) {
        respond_text(fd, 400, "Bad Request", "bad request\n", 0);
        return;
    }
    int head = !strcmp(method, "HEAD");
    if (!head && strcmp(method, "GET")) {
        respond_text(fd, 405, "Method Not Allowed", "only GET and HEAD\n", 0);
    } else if (!strcmp(path, "/metrics")) {
        buf_reset(&h->body);
        metrics_expose(h->o.reg, &h->body);
        respond(fd, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", h->body.data ? h->body.data : "",
                h->body.len, head);
    } else if (!strcmp(path, "/healthz")) {
        respond_text(fd, 200, "OK", "ok\n", head);
    } else if (!strcmp(path, "/readyz")) {
        serve_ready(h, fd, head);
    } else {
        respond_text(fd, 404, "Not Found", "not found: try /metrics, /healthz, /readyz\n", head);
    }
}

static void *http_thread(void *arg)
{
    struct metrics_http *h = arg;
    struct pollfd pf[2] = { { .fd = h->fd, .events = POLLIN }, { .fd = h->stop_pipe[0], .events = POLLIN } };
    for (;;) {
        if (poll(pf, 2, -1) < 0 && errno != EINTR) break;
        if (pf[1].revents) break;
        if (!(pf[0].revents & POLLIN)) continue;
        int c = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) continue;
        set_timeouts(c, h->o.io_timeout_ms);
        serve(h, c);
        shutdown(c, SHUT_WR);
        close(c);
    }
    return NULL;
}

struct metrics_http *metrics_http_start(const struct metrics_http_opts *o, char *err, size_t errlen)
{
    struct metrics_http *h = xcalloc(1, sizeof *h);
    h->o = *o;
    if (!h->o.address || !*h->o.address) h->o.address = "0.0.0.0";
    if (h->o.io_timeout_ms <= 0) h->o.io_timeout_ms = 2000;
    buf_init(&h->body);
    h->fd = bind_listen(h->o.address, o->port, err, errlen);
    if (h->fd < 0) goto fail;
    h->port = bound_port(h->fd);
    if (pipe2(h->stop_pipe, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "metrics server: pipe: %s", strerror(errno));
        goto fail_fd;
    }
    if (pthread_create(&h->thread, NULL, http_thread, h)) {
        snprintf(err, errlen, "metrics server: cannot start its thread");
        close(h->stop_pipe[0]);
        close(h->stop_pipe[1]);
        goto fail_fd;
    }
    return h;
fail_fd:
    close(h->fd);
fail:
    buf_free(&h->body);
    free(h);
    return NULL;
}

int metrics_http_port(const struct metrics_http *h) { return h->port; }

void metrics_http_stop(struct metrics_http *h)
{
    if (!h) return;
    ssize_t w = write(h->stop_pipe[1], "x", 1);
    (void)w;
    pthread_join(h->thread, NULL);
    close(h->stop_pipe[0]);
    close(h->stop_pipe[1]);
    close(h->fd);
    buf_free(&h->body);
    free(h);
}
