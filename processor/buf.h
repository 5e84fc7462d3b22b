/* buf: growable byte buffers and a chunked arena.
 *
 * A buf owns its memory; buf_reset() keeps the allocation so a buffer reused
 * per record stops allocating once it has grown to the largest record.
 * An arena hands out memory whose address never moves until arena_reset():
 * document values may point into it while more values are added. */
#ifndef SIEMPROC_BUF_H
#define SIEMPROC_BUF_H
#include <stddef.h>
#include <stdint.h>

typedef struct buf {
    char  *data;
    size_t len;
    size_t cap;
} buf_t;

void buf_init(buf_t *b);
void buf_free(buf_t *b);
static inline void buf_reset(buf_t *b) { b->len = 0; }
void buf_reserve(buf_t *b, size_t extra);      /* aborts on OOM */
void buf_append(buf_t *b, const void *p, size_t n);
void buf_puts(buf_t *b, const char *s);
void buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void buf_putc(buf_t *b, char c)
{
    if (b->len + 1 >= b->cap) buf_reserve(b, 1);
    b->data[b->len++] = c;
}
/* NUL-terminates without counting the NUL in len. */
const char *buf_cstr(buf_t *b);
/* Discard the first n bytes. */
void buf_consume(buf_t *b, size_t n);

struct arena_block;
typedef struct arena {
    struct arena_block *head;   /* block being filled */
    struct arena_block *spare;  /* blocks kept for reuse after reset */
} arena_t;

void  arena_init(arena_t *a);
void  arena_free(arena_t *a);
void  arena_reset(arena_t *a);
void *arena_alloc(arena_t *a, size_t n);
char *arena_strndup(arena_t *a, const char *s, size_t n);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
#endif
