/* metrics_http over loopback (/metrics, /healthz, /readyz, errors, a silent
 * client), the readiness rule, the ticker, and the monitor without Kafka. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "metrics_http.h"
#include "monitor.h"
#include "ticker.h"
#include "timeparse.h"
#include "testlib.h"

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Send a raw request, read the whole answer. Returns the status code. */
static int request(int port, const char *raw, char *resp, size_t cap)
{
    int fd = connect_to(port);
    if (fd < 0) return -1;
    send(fd, raw, strlen(raw), 0);
    size_t len = 0;
    ssize_t n;
    while (len + 1 < cap && (n = recv(fd, resp + len, cap - 1 - len, 0)) > 0) len += (size_t)n;
    resp[len] = '\0';
    close(fd);
    int status = -1;
    sscanf(resp, "HTTP/1.1 %d", &status);
    return status;
}

static int get(int port, const char *path, char *resp, size_t cap)
{
    char req[256];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", path);
    return request(port, req, resp, cap);
}

static const char *body_of(const char *resp)
{
    const char *b = strstr(resp, "\r\n\r\n");
    return b ? b + 4 : "";
}

struct ready_state { atomic_int ready; };

static int ready_cb(void *arg, char *why, size_t n)
{
    struct ready_state *st = arg;
    if (!atomic_load(&st->ready)) snprintf(why, n, "no partitions assigned");
    return atomic_load(&st->ready);
}

static void test_endpoints(void)
{
    static char resp[65536];
    struct metrics *r = metrics_new();
    struct metric *c = metrics_add(r, METRIC_COUNTER, "t_requests_total", "requests", "path", NULL, 0);
    mseries_add(METRIC_GET(c, "/x"), 5);
    struct ready_state st = { 0 };
    char err[256];
    struct metrics_http_opts o = { "127.0.0.1", 0, r, ready_cb, &st, 300 };
    struct metrics_http *h = metrics_http_start(&o, err, sizeof err);
    CHECK(h != NULL);
    if (!h) return;
    int port = metrics_http_port(h);
    CHECK(port > 0);

    CHECK_INT(get(port, "/metrics", resp, sizeof resp), 200);
    CHECK(strstr(resp, "Content-Type: text/plain; version=0.0.4") != NULL);
    CHECK(strstr(body_of(resp), "t_requests_total{path=\"/x\"} 5\n") != NULL);
    CHECK(strstr(body_of(resp), "# TYPE t_requests_total counter\n") != NULL);
    /* Content-Length matches the body. */
    long clen = -1;
    const char *cl = strstr(resp, "Content-Length: ");
    if (cl) clen = atol(cl + 16);
    CHECK_INT(clen, (long)strlen(body_of(resp)));

    CHECK_INT(get(port, "/healthz", resp, sizeof resp), 200);
    CHECK_INT(get(port, "/readyz", resp, sizeof resp), 503);
    CHECK(strstr(body_of(resp), "not ready: no partitions assigned") != NULL);
    atomic_store(&st.ready, 1);
    CHECK_INT(get(port, "/readyz?verbose=1", resp, sizeof resp), 200);

    CHECK_INT(get(port, "/nothing", resp, sizeof resp), 404);
    CHECK_INT(request(port, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", resp, sizeof resp), 405);
    CHECK_INT(request(port, "garbage\r\n\r\n", resp, sizeof resp), 400);
    CHECK_INT(request(port, "HEAD /metrics HTTP/1.1\r\n\r\n", resp, sizeof resp), 200);
    CHECK_STR(body_of(resp), "");

    /* A client that connects and says nothing holds the server for at most
     * the I/O timeout; the next request is answered. */
    int silent = connect_to(port);
    int64_t t0 = ts_now_ms();
    CHECK_INT(get(port, "/healthz", resp, sizeof resp), 200);
    CHECK(ts_now_ms() - t0 < 2000);
    close(silent);

    /* The same port cannot be bound twice; the error names it. */
    struct metrics_http_opts o2 = { "127.0.0.1", port, r, NULL, NULL, 0 };
    CHECK(metrics_http_start(&o2, err, sizeof err) == NULL);
    CHECK(strstr(err, "127.0.0.1") != NULL);
    struct metrics_http_opts o3 = { "not-an-address", 0, r, NULL, NULL, 0 };
    CHECK(metrics_http_start(&o3, err, sizeof err) == NULL);

    metrics_http_stop(h);
    CHECK(connect_to(port) < 0);   /* closed */
    metrics_free(r);
}

static void test_ipv6_loopback(void)
{
    char err[256], resp[4096];
    struct metrics *r = metrics_new();
    struct metrics_http_opts o = { "::1", 0, r, NULL, NULL, 0 };
    struct metrics_http *h = metrics_http_start(&o, err, sizeof err);
    if (!h) {
        printf("skipping IPv6: %s\n", err);
        metrics_free(r);
        return;
    }
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)metrics_http_port(h)) };
    inet_pton(AF_INET6, "::1", &a.sin6_addr);
    CHECK(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
    send(fd, "GET /healthz HTTP/1.0\r\n\r\n", 25, 0);
    ssize_t n = recv(fd, resp, sizeof resp - 1, MSG_WAITALL);
    resp[n > 0 ? n : 0] = '\0';
    CHECK(strncmp(resp, "HTTP/1.1 200", 12) == 0);
    close(fd);
    metrics_http_stop(h);
    metrics_free(r);
}

static void test_readiness_rule(void)
{
    struct readiness rd = { 0 };
    char why[128];
    CHECK_INT(readiness_check(&rd, 1000, 0, 0, -1, 60000, why, sizeof why), 0);
    CHECK_STR(why, "no partitions assigned");
    /* Assigned: the start counts as progress, so the window is a grace period. */
    CHECK_INT(readiness_check(&rd, 2000, 3, 0, 500, 60000, why, sizeof why), 1);
    /* No progress with lag past the window: stuck. */
    CHECK_INT(readiness_check(&rd, 62000, 3, 0, 500, 60000, why, sizeof why), 0);
    CHECK(strstr(why, "no progress for 61000 ms with lag 500") != NULL);
    /* Progress moves: ready again. */
    CHECK_INT(readiness_check(&rd, 63000, 3, 10, 500, 60000, why, sizeof why), 1);
    /* Idle without lag stays ready however long. */
    CHECK_INT(readiness_check(&rd, 999000, 3, 10, 0, 60000, why, sizeof why), 1);
    /* Unknown lag and no progress: not ready after the window. */
    CHECK_INT(readiness_check(&rd, 999000, 3, 10, -1, 60000, why, sizeof why), 0);
}

static void count_tick(void *arg) { atomic_fetch_add((atomic_int *)arg, 1); }

static void test_ticker(void)
{
    atomic_int n = 0;
    char err[64];
    struct ticker *t = ticker_start(20, count_tick, &n, err, sizeof err);
    usleep(150 * 1000);
    ticker_stop(t);
    int seen = atomic_load(&n);
    CHECK(seen >= 3 && seen <= 9);
    usleep(60 * 1000);
    CHECK_INT(atomic_load(&n), seen);   /* nothing after stop */

    /* A long interval: the first run is immediate and stop does not wait for the next. */
    atomic_store(&n, 0);
    int64_t t0 = ts_now_ms();
    t = ticker_start(60000, count_tick, &n, err, sizeof err);
    usleep(50 * 1000);
    ticker_stop(t);
    CHECK_INT(atomic_load(&n), 1);
    CHECK(ts_now_ms() - t0 < 1000);
}

/* Monitors without a consumer or a lag poller: never ready (no lag
 * measurement); /readyz of monitor_serve answers for every running monitor;
 * /healthz alive; siemproc_ready 0 on /metrics. */
static void test_monitor_without_kafka(void)
{
    static char resp[65536];
    struct metrics *r = metrics_new();
    struct siemproc_metrics m;
    metrics_add_std(r, &m);
    char err[256];
    CHECK_INT(monitor_ready_all(err, sizeof err), 0);
    CHECK_STR(err, "no stage running");

    struct metrics_http *h = monitor_serve("127.0.0.1", 0, r, err, sizeof err);
    CHECK(h != NULL);
    if (!h) return;
    int port = metrics_http_port(h);
    CHECK_INT(get(port, "/readyz", resp, sizeof resp), 503);
    CHECK(strstr(body_of(resp), "not ready: no stage running") != NULL);

    struct monitor_opts o = { .stage = "normalize", .reg = r };
    struct monitor *mon = monitor_start(&o, err, sizeof err);
    struct monitor_opts o2 = { .stage = "sink", .reg = r };
    struct monitor *mon2 = monitor_start(&o2, err, sizeof err);
    CHECK(mon != NULL && mon2 != NULL);
    usleep(100 * 1000);
    CHECK_INT(monitor_ready(mon, err, sizeof err), 0);
    CHECK_STR(err, "no recent lag measurement");
    CHECK_INT(get(port, "/readyz", resp, sizeof resp), 503);
    CHECK(strstr(body_of(resp), ": no recent lag measurement") != NULL);
    CHECK_INT(get(port, "/healthz", resp, sizeof resp), 200);
    CHECK_INT(get(port, "/metrics", resp, sizeof resp), 200);
    CHECK(strstr(body_of(resp), "siemproc_ready{stage=\"normalize\"} 0\n") != NULL);
    CHECK(strstr(body_of(resp), "siemproc_ready{stage=\"sink\"} 0\n") != NULL);
    monitor_stop(mon2);
    monitor_stop(mon);
    CHECK_INT(monitor_ready_all(err, sizeof err), 0);
    CHECK_STR(err, "no stage running");
    metrics_http_stop(h);
    metrics_free(r);
}

int main(void)
{
    test_endpoints();
    test_ipv6_loopback();
    test_readiness_rule();
    test_ticker();
    test_monitor_without_kafka();
    return tl_done();
}
