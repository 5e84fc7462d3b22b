/* buf: growable buffers and a chunked arena (see buf.h). Allocation failure
 * aborts: a log pipeline that cannot allocate a few KB cannot make progress,
 * and Kafka will redeliver everything that was not committed. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"

static void oom(void)
{
    fputs("siemproc: out of memory\n", stderr);
    abort();
}

void *xmalloc(size_t n) { void *p = malloc(n ? n : 1); if (!p) oom(); return p; }
void *xcalloc(size_t n, size_t m) { void *p = calloc(n ? n : 1, m ? m : 1); if (!p) oom(); return p; }
void *xrealloc(void *p, size_t n) { p = realloc(p, n ? n : 1); if (!p) oom(); return p; }
char *xstrdup(const char *s) { return xstrndup(s, strlen(s)); }
char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

void buf_init(buf_t *b) { b->data = NULL; b->len = b->cap = 0; }
void buf_free(buf_t *b) { free(b->data); buf_init(b); }

void buf_reserve(buf_t *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
}

void buf_append(buf_t *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void buf_puts(buf_t *b, const char *s) { buf_append(b, s, strlen(s)); }

void buf_printf(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

const char *buf_cstr(buf_t *b)
{
    buf_reserve(b, 0);
    b->data[b->len] = 0;
    return b->data;
}

void buf_consume(buf_t *b, size_t n)
{
    if (n >= b->len) { b->len = 0; return; }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

#define ARENA_BLOCK 65536

struct arena_block {
    struct arena_block *next;
    size_t used, size;
    char data[];
};

void arena_init(arena_t *a) { a->head = a->spare = NULL; }

static void free_chain(struct arena_block *b)
{
    while (b) { struct arena_block *n = b->next; free(b); b = n; }
}

void arena_free(arena_t *a)
{
    free_chain(a->head);
    free_chain(a->spare);
    arena_init(a);
}

void arena_reset(arena_t *a)
{
    /* Keep standard-size blocks for reuse; oversized ones go back to malloc. */
    struct arena_block *b = a->head;
    while (b) {
        struct arena_block *n = b->next;
        if (b->size == ARENA_BLOCK) { b->used = 0; b->next = a->spare; a->spare = b; }
        else free(b);
        b = n;
    }
    a->head = NULL;
}

void *arena_alloc(arena_t *a, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    struct arena_block *b = a->head;
    if (!b || b->size - b->used < n) {
        if (n <= ARENA_BLOCK && a->spare) {
            b = a->spare;
            a->spare = b->next;
        } else {
            size_t size = n > ARENA_BLOCK ? n : ARENA_BLOCK;
            b = xmalloc(sizeof *b + size);
            b->size = size;
        }
        b->used = 0;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

char *arena_strndup(arena_t *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}
