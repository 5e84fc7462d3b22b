/* sigv4_suite.h - loader for the aws-c-auth SigV4 test-suite cases
 * (testdata/sigv4/.../v4/<case>/context.json + request.txt), shared by
 * test_sigv4.c and test_msk_iam.c. Header-only (static functions).
 *
 * Owns: parsing a case folder into a struct sigv4_request + options.
 * Must never: sign anything itself or depend on expected-output files. */
#ifndef SIGV4_SUITE_H
#define SIGV4_SUITE_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "aws_sigv4.h"
#include "testlib.h"

#define SUITE_MAX_HDRS 32
#define SUITE_PATH_MAX 2048 /* case folder paths; file paths get +64 */

struct suite_case {
    char dir[SUITE_PATH_MAX];
    const char *name;            /* last path component of dir */
    struct aws_creds creds;
    struct sigv4_options opt;
    char service[64], region[64];
    char signed_body_value[80];  /* "" unless context.json sets it */
    char *raw;                   /* request.txt; path/query/body point into it */
    char method[16];
    struct sigv4_header hdrs[SUITE_MAX_HDRS];
    char *hvals[SUITE_MAX_HDRS]; /* owned header values (folded lines joined by '\n') */
    size_t nhdrs;
    struct sigv4_request req;
};

/* Read <dir>/<file>; caller frees; NULL when absent. */
static inline char *suite_read(const char *dir, const char *file)
{
    char path[SUITE_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    return tl_read_file(path, NULL);
}

static inline int suite_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted case folder names under dir; caller frees each and the array. */
static inline size_t suite_list(const char *dir, char ***out)
{
    DIR *d = opendir(dir);
    size_t n = 0, cap = 64;
    char **v = malloc(cap * sizeof *v);
    struct dirent *e;
    while (d && v && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap)
            v = realloc(v, (cap *= 2) * sizeof *v);
        if (v)
            v[n++] = strdup(e->d_name);
    }
    if (d)
        closedir(d);
    if (v && n)
        qsort(v, n, sizeof *v, suite_name_cmp);
    *out = v;
    return v ? n : 0;
}

static inline time_t suite_parse_time(const char *s)
{
    struct tm tm = {0};
    if (!s || sscanf(s, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                     &tm.tm_min, &tm.tm_sec) != 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return timegm(&tm);
}

static inline void suite_copy(char *dst, size_t n, json_t *v)
{
    snprintf(dst, n, "%s", json_is_string(v) ? json_string_value(v) : "");
}

static inline int suite_context(struct suite_case *c)
{
    char path[SUITE_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/context.json", c->dir);
    json_t *j = json_load_file(path, 0, NULL);
    if (!j)
        return -1;
    json_t *cr = json_object_get(j, "credentials");
    suite_copy(c->creds.access_key, sizeof c->creds.access_key, json_object_get(cr, "access_key_id"));
    suite_copy(c->creds.secret_key, sizeof c->creds.secret_key, json_object_get(cr, "secret_access_key"));
    suite_copy(c->creds.token, sizeof c->creds.token, json_object_get(cr, "token"));
    suite_copy(c->service, sizeof c->service, json_object_get(j, "service"));
    suite_copy(c->region, sizeof c->region, json_object_get(j, "region"));
    suite_copy(c->signed_body_value, sizeof c->signed_body_value, json_object_get(j, "signed_body_value"));
    c->opt.service = c->service;
    c->opt.region = c->region;
    c->opt.timestamp = suite_parse_time(json_string_value(json_object_get(j, "timestamp")));
    c->opt.double_encode_path = true;
    c->opt.normalize_path = json_is_true(json_object_get(j, "normalize"));
    c->opt.sign_body_header = json_is_true(json_object_get(j, "sign_body"));
    c->opt.omit_session_token = json_is_true(json_object_get(j, "omit_session_token"));
    c->opt.expires = (unsigned)json_integer_value(json_object_get(j, "expiration_in_seconds"));
    json_decref(j);
    return c->opt.timestamp ? 0 : -1;
}

/* "Name:value" or a folded continuation line (leading whitespace). */
static inline int suite_header_line(struct suite_case *c, char *line)
{
    if ((line[0] == ' ' || line[0] == '\t') && c->nhdrs > 0) {
        char **v = &c->hvals[c->nhdrs - 1];
        size_t a = strlen(*v), b = strlen(line);
        char *nv = realloc(*v, a + b + 2);
        if (!nv)
            return -1;
        nv[a] = '\n';
        memcpy(nv + a + 1, line, b + 1);
        *v = nv;
        return 0;
    }
    char *colon = strchr(line, ':');
    if (!colon || c->nhdrs == SUITE_MAX_HDRS)
        return -1;
    *colon = 0;
    c->hdrs[c->nhdrs].name = line;
    c->hvals[c->nhdrs++] = strdup(colon + 1);
    return 0;
}

/* Request line "METHOD target HTTP/1.1"; the target may contain spaces. */
static inline int suite_request_line(struct suite_case *c, char *line)
{
    char *sp = strchr(line, ' '), *last = strrchr(line, ' ');
    if (!sp || last == sp || (size_t)(sp - line) >= sizeof c->method)
        return -1;
    memcpy(c->method, line, (size_t)(sp - line));
    c->method[sp - line] = 0;
    *last = 0;
    char *target = sp + 1, *q = strchr(target, '?');
    if (q)
        *q++ = 0;
    c->req.path = target;
    c->req.query = q;
    return 0;
}

static inline int suite_request(struct suite_case *c)
{
    size_t len = 0;
    char path[SUITE_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/request.txt", c->dir);
    c->raw = tl_read_file(path, &len);
    if (!c->raw)
        return -1;
    char *body = strstr(c->raw, "\n\n");
    if (body) {
        body[1] = 0;
        c->req.body = body + 2;
        c->req.body_len = len - (size_t)(body + 2 - c->raw);
    }
    char *save = NULL, *line = strtok_r(c->raw, "\n", &save);
    if (!line || suite_request_line(c, line) != 0)
        return -1;
    while ((line = strtok_r(NULL, "\n", &save)) != NULL)
        if (suite_header_line(c, line) != 0)
            return -1;
    for (size_t i = 0; i < c->nhdrs; i++)
        c->hdrs[i].value = c->hvals[i];
    c->req.method = c->method;
    c->req.headers = c->hdrs;
    c->req.nheaders = c->nhdrs;
    c->req.payload_hash = c->signed_body_value[0] ? c->signed_body_value : NULL;
    return 0;
}

static inline void suite_free(struct suite_case *c)
{
    for (size_t i = 0; i < c->nhdrs; i++)
        free(c->hvals[i]);
    free(c->raw);
    memset(c, 0, sizeof *c);
}

/* Load one case folder; returns 0 or -1 (then suite_free is still safe). */
static inline int suite_load(const char *dir, struct suite_case *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->dir, sizeof c->dir, "%s", dir);
    const char *slash = strrchr(c->dir, '/');
    c->name = slash ? slash + 1 : c->dir;
    if (suite_context(c) != 0)
        return -1;
    return suite_request(c);
}

/* Directory of the v4 suite (or NULL): found via a file every copy has. */
static inline const char *suite_v4_dir(char *buf, size_t n)
{
    const char *p = tl_shared("testdata/sigv4/aws-signing-test-suite/v4/get-vanilla/context.json");
    if (!p)
        return NULL;
    snprintf(buf, n, "%s", p);
    char *cut = strstr(buf, "/get-vanilla/context.json");
    if (cut)
        *cut = 0;
    return buf;
}
#endif
