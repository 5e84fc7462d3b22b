/* doc: see doc.h. Emission sorts paths component-wise ('.' sorts before every
 * other byte) so that a parent and its children are adjacent and a value that
 * would collide with an object ("a.b" and "a.b.c") is detected in one pass. */
#include <stdlib.h>
#include <string.h>
#include "doc.h"
#include "jsonw.h"

void doc_init(struct doc *d)
{
    memset(d, 0, sizeof *d);
    arena_init(&d->arena);
}

void doc_free(struct doc *d)
{
    free(d->f);
    arena_free(&d->arena);
}

void doc_reset(struct doc *d)
{
    d->n = 0;
    d->conflicts = 0;
    arena_reset(&d->arena);
}

void doc_add(struct doc *d, const char *path, int kind, int array, const char *v, size_t vlen)
{
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 64;
        d->f = xrealloc(d->f, (size_t)d->cap * sizeof *d->f);
    }
    struct doc_field *f = &d->f[d->n];
    size_t plen = strlen(path);
    uint64_t key = 0;
    for (size_t i = 0; i < 8; i++) key = key << 8 | (i < plen ? (unsigned char)path[i] : 0);
    f->key = key;
    f->path = path;
    f->plen = (uint16_t)plen;
    f->kind = (uint8_t)kind;
    f->array = (uint8_t)array;
    f->v = v;
    f->vlen = (uint32_t)vlen;
    f->seq = (uint32_t)d->n++;
}

void doc_add_copy(struct doc *d, const char *path, int kind, int array, const char *v, size_t vlen)
{
    doc_add(d, path, kind, array, arena_strndup(&d->arena, v, vlen), vlen);
}

const struct doc_field *doc_get(const struct doc *d, const char *path)
{
    for (int i = 0; i < d->n; i++)
        if (strcmp(d->f[i].path, path) == 0) return &d->f[i];
    return NULL;
}

int doc_remove(struct doc *d, const char *path)
{
    int w = 0, removed = 0;
    for (int i = 0; i < d->n; i++) {
        if (strcmp(d->f[i].path, path) == 0) { removed++; continue; }
        d->f[w++] = d->f[i];
    }
    d->n = w;
    return removed;
}

/* Paths hold only [A-Za-z0-9_@.] (schema_compile and column_name enforce
 * it), and '.' sorts below all of those, so byte order is component order:
 * a parent and its children end up adjacent. */
static int path_cmp(const struct doc_field *a, const struct doc_field *b)
{
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    size_t n = a->plen < b->plen ? a->plen : b->plen;
    int c = memcmp(a->path, b->path, n);
    if (c) return c;
    return a->plen < b->plen ? -1 : a->plen > b->plen;
}

static int field_less(const struct doc_field *a, const struct doc_field *b)
{
    int c = path_cmp(a, b);
    return c < 0 || (c == 0 && a->seq < b->seq);
}

/* Insertion sort: rules are pre-sorted by target at schema load, so a
 * document arrives nearly sorted and this is close to one linear pass. */
static void sort_fields(struct doc_field *f, int n)
{
    for (int i = 1; i < n; i++) {
        if (!field_less(&f[i], &f[i - 1])) continue;
        struct doc_field x = f[i];
        int j = i - 1;
        while (j >= 0 && field_less(&x, &f[j])) { f[j + 1] = f[j]; j--; }
        f[j + 1] = x;
    }
}

static void write_value(buf_t *out, const struct doc_field *f)
{
    switch (f->kind) {
    case DV_STR:  jw_string(out, f->v, f->vlen); break;
    case DV_JSTR: buf_putc(out, '"'); buf_append(out, f->v, f->vlen); buf_putc(out, '"'); break;
    default:      buf_append(out, f->v, f->vlen); break;
    }
}

static int same_value(const struct doc_field *a, const struct doc_field *b)
{
    return a->vlen == b->vlen && memcmp(a->v, b->v, a->vlen) == 0;
}

/* Write the values of fields [i, j) that share one path. */
static void write_group(buf_t *out, const struct doc_field *f, int i, int j)
{
    if (!f[i].array) { write_value(out, &f[i]); return; }
    buf_putc(out, '[');
    for (int k = i; k < j; k++) {
        int dup = 0;
        for (int m = i; m < k && !dup; m++) dup = same_value(&f[m], &f[k]);
        if (dup) continue;
        if (k > i) buf_putc(out, ',');
        write_value(out, &f[k]);
    }
    buf_putc(out, ']');
}

/* Number of leading dotted components a and b share, at most max. */
static int common_components(const char *a, size_t al, const char *b, size_t bl, int max)
{
    int k = 0;
    size_t i = 0;
    while (k < max) {
        size_t ea = i, eb = i;
        while (ea < al && a[ea] != '.') ea++;
        while (eb < bl && b[eb] != '.') eb++;
        if (ea != eb || memcmp(a + i, b + i, ea - i) != 0) break;
        k++;
        if (ea >= al || eb >= bl) break;
        i = ea + 1;
    }
    return k;
}

static int count_dots(const char *p, size_t n)
{
    int c = 0;
    for (size_t i = 0; i < n; i++) c += p[i] == '.';
    return c;
}

void doc_emit(struct doc *d, buf_t *out)
{
    struct doc_field *f = d->f;
    sort_fields(f, d->n);
    const char *prev = "";     /* last leaf written; objects open = its parents */
    size_t prevlen = 0;
    int depth = 0;
    int written = 0;
    buf_putc(out, '{');
    for (int i = 0; i < d->n;) {
        int j = i + 1;
        while (j < d->n && path_cmp(&f[i], &f[j]) == 0) j++;
        const char *p = f[i].path;
        size_t plen = f[i].plen;
        if (prevlen && plen > prevlen && memcmp(p, prev, prevlen) == 0 && p[prevlen] == '.') {
            d->conflicts += j - i;     /* "a.b" holds a value, so "a.b.c" cannot be written */
            i = j;
            continue;
        }
        int parents = count_dots(p, plen);
        int keep = common_components(prev, prevlen, p, plen, depth < parents ? depth : parents);
        for (; depth > keep; depth--) buf_putc(out, '}');
        size_t pos = 0;
        for (int k = 0; k < keep; k++) pos = (size_t)((const char *)memchr(p + pos, '.', plen - pos) - p) + 1;
        int need_comma = written > 0;
        for (;;) {
            const char *dot = memchr(p + pos, '.', plen - pos);
            size_t end = dot ? (size_t)(dot - p) : plen;
            buf_reserve(out, end - pos + 4);
            if (need_comma) out->data[out->len++] = ',';
            out->data[out->len++] = '"';
            memcpy(out->data + out->len, p + pos, end - pos);     /* path characters need no escaping */
            out->len += end - pos;
            out->data[out->len++] = '"';
            out->data[out->len++] = ':';
            if (!dot) break;
            buf_putc(out, '{');
            depth++;
            need_comma = 0;
            pos = end + 1;
        }
        write_group(out, f, i, j);
        written++;
        prev = p;
        prevlen = plen;
        i = j;
    }
    for (; depth > 0; depth--) buf_putc(out, '}');
    buf_putc(out, '}');
}
