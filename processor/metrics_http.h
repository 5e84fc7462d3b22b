/* metrics_http: the operations HTTP endpoint of a running stage.
 *
 * Owns: one listening socket and one thread serving, one connection at a
 * time, GET (and HEAD) of /metrics (the registry in Prometheus text format),
 * /healthz (200 while the process serves) and /readyz (200 when the
 * readiness callback says so, else 503 with its reason). Plain sockets, one
 * request per connection, every read and write bounded by a timeout so a
 * slow or silent client cannot hold the thread.
 * Must never: block the stages (it only reads atomics and calls the
 * readiness callback), or serve anything but these paths. */
#ifndef SIEMPROC_METRICS_HTTP_H
#define SIEMPROC_METRICS_HTTP_H
#include <stddef.h>
#include "metrics.h"

/* 1 = ready; 0 = not ready, with the reason in why. Runs on the HTTP thread. */
typedef int (*metrics_ready_fn)(void *arg, char *why, size_t whylen);

struct metrics_http_opts {
    const char *address;     /* numeric IPv4/IPv6 address to bind; NULL or "": 0.0.0.0 */
    int port;                /* 0: an ephemeral port (see metrics_http_port) */
    struct metrics *reg;
    metrics_ready_fn ready;  /* NULL: ready whenever alive */
    void *ready_arg;
    int io_timeout_ms;       /* per read/write; 0: 2000 */
};

struct metrics_http;

/* Bind, listen and start the thread. NULL with err naming the address. */
struct metrics_http *metrics_http_start(const struct metrics_http_opts *o, char *err, size_t errlen);
int metrics_http_port(const struct metrics_http *h);
/* Stop the thread, close the socket, free. */
void metrics_http_stop(struct metrics_http *h);
#endif
