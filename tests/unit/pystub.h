/* pystub.h - start a Python HTTP stub (a tests/unit script) as a child process
 * and talk to its control endpoints. Header-only, for the unit tests.
 *
 * Owns: the stub's process id (started with fork/exec, stopped with
 * SIGTERM + waitpid on that id only).
 * Must never: signal any process other than the one it started. */
#ifndef PYSTUB_H
#define PYSTUB_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "testlib.h"

struct pystub {
    pid_t pid;
    int port;
    char base[64]; /* "http://127.0.0.1:<port>" */
};

/* Runs python3 <tests/unit/script>; returns 0 once it printed its port. */
static inline int pystub_start(struct pystub *s, const char *script)
{
    int fds[2];
    memset(s, 0, sizeof *s);
    if (pipe(fds) != 0)
        return -1;
    const char *path = tl_src(script);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execlp("python3", "python3", path, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char line[64] = "";
    int ok = pid > 0 && f && fgets(line, sizeof line, f) && sscanf(line, "PORT %d", &s->port) == 1;
    if (f)
        fclose(f);
    else
        close(fds[0]);
    s->pid = pid > 0 ? pid : 0;
    if (!ok) {
        fprintf(stderr, "could not start python3 %s\n", path);
        return -1;
    }
    snprintf(s->base, sizeof s->base, "http://127.0.0.1:%d", s->port);
    return 0;
}

static inline void pystub_stop(struct pystub *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
    }
    s->pid = 0;
}

static inline size_t pystub_collect(char *p, size_t sz, size_t n, void *arg)
{
    char *buf = arg;
    size_t have = strlen(buf), add = sz * n;
    if (have + add < 8192) {
        memcpy(buf + have, p, add);
        buf[have + add] = 0;
    }
    return add;
}

/* GET base+path into buf (8192 bytes); returns the HTTP status or -1. */
static inline long pystub_get(const struct pystub *s, const char *path, char *buf)
{
    char url[512];
    long status = -1;
    snprintf(url, sizeof url, "%s%s", s->base, path);
    buf[0] = 0;
    CURL *h = curl_easy_init();
    if (!h)
        return -1;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, pystub_collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, buf);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    return status;
}

/* GET /_stats as JSON (caller decrefs); NULL when it fails. */
static inline json_t *pystub_stats(const struct pystub *s)
{
    char buf[8192];
    return pystub_get(s, "/_stats", buf) == 200 ? json_loads(buf, 0, NULL) : NULL;
}

/* Counter <name> from GET /_stats ({"counts": {...}}); 0 when absent, -1 when /_stats fails. */
static inline long pystub_count(const struct pystub *s, const char *name)
{
    json_t *j = pystub_stats(s);
    long v = j ? (long)json_integer_value(json_object_get(json_object_get(j, "counts"), name)) : -1;
    json_decref(j);
    return v;
}

/* Any top-level field of /_stats as integer or copied string. */
static inline long pystub_stat_int(const struct pystub *s, const char *name)
{
    json_t *j = pystub_stats(s);
    long v = j ? (long)json_integer_value(json_object_get(j, name)) : -1;
    json_decref(j);
    return v;
}

static inline void pystub_stat_str(const struct pystub *s, const char *name, char *out, size_t n)
{
    json_t *j = pystub_stats(s);
    const char *v = json_string_value(json_object_get(j, name));
    snprintf(out, n, "%s", v ? v : "");
    json_decref(j);
}
#endif
