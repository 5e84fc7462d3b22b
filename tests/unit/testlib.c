#include <stdio.h>
#include <stdlib.h>
#include "testlib.h"

int tl_passed, tl_failed;

void tl_fail(const char *file, int line, const char *expr, const char *detail)
{
    tl_failed++;
    fprintf(stderr, "FAIL %s:%d: %s%s%s\n", file, line, expr, detail ? " -- got: " : "", detail ? detail : "");
}

static const char *join(const char *env, const char *fallback, const char *rel)
{
    static char bufs[8][4096];
    static int next;
    const char *base = getenv(env);
    if (!base) base = fallback;
    char *out = bufs[next++ % 8];
    snprintf(out, sizeof bufs[0], "%s/%s", base, rel);
    return out;
}

const char *tl_shared(const char *rel)
{
    const char *p = join("SIEMPROC_SHARED", "../shared", rel);
    FILE *f = fopen(p, "r");
    if (!f) return NULL;
    fclose(f);
    return p;
}

const char *tl_src(const char *rel) { return join("SIEMPROC_SRC", ".", rel); }

char *tl_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); buf = NULL; }
    fclose(f);
    if (buf) { buf[n] = 0; if (len) *len = (size_t)n; }
    return buf;
}

int tl_done(void)
{
    printf("%d passed, %d failed\n", tl_passed, tl_failed);
    return tl_failed ? 1 : 0;
}

void tl_skip(const char *why)
{
    printf("SKIP: %s\n", why);
    exit(77);
}
