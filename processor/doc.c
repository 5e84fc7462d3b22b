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
    free(d->tmp);
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
    uint64_t key = 0, key2 = 0;
    for (size_t i = 0; i < 8; i++) key = key << 8 | (i < plen ? (unsigned char)path[i] : 0);
    for (size_t i = 8; i < 16; i++) key2 = key2 << 8 | (i < plen ? (unsigned char)path[i] : 0);
    f->key = key;
    f->key2 = key2;
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
    if (a->key2 != b->key2) return a->key2 < b->key2 ? -1 : 1;
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

/* Natural merge sort, stable. Rules are pre-sorted by target at schema load,
 * so a document is a long ascending run plus a few short ones (fixed fields,
 * related.*, vendor columns): merging runs costs a few passes, where an
 * insertion sort would drag each late field across the whole document. */
static void merge(const struct doc_field *a, int na, const struct doc_field *b, int nb, struct doc_field *out)
{
    int i = 0, j = 0, k = 0;
    while (i < na && j < nb) out[k++] = field_less(&b[j], &a[i]) ? b[j++] : a[i++];
    while (i < na) out[k++] = a[i++];
    while (j < nb) out[k++] = b[j++];
}

static void sort_fields(struct doc *d)
{
    int n = d->n;
    if (n < 2) return;
    if (d->tmp_cap < n) {
        d->tmp_cap = d->cap;
        d->tmp = xrealloc(d->tmp, (size_t)d->tmp_cap * sizeof *d->tmp);
    }
    struct doc_field *src = d->f, *dst = d->tmp;
    for (;;) {
        int runs = 0, i = 0;
        while (i < n) {
            int a0 = i;
            while (i + 1 < n && !field_less(&src[i + 1], &src[i])) i++;
            int a1 = ++i;
            while (i + 1 < n && !field_less(&src[i + 1], &src[i])) i++;
            int b1 = i < n ? ++i : i;
            merge(src + a0, a1 - a0, src + a1, b1 - a1, dst + a0);
            runs++;
        }
        struct doc_field *t = src; src = dst; dst = t;
        if (runs <= 1) break;
    }
    if (src != d->f) memcpy(d->f, src, (size_t)n * sizeof *src);
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

/* Write "name":{"name":{... for components of p from byte `from` on, up to
 * and including the leaf's key. Returns the number of objects opened. */
static int open_components(buf_t *out, const char *p, size_t plen, size_t from, int need_comma)
{
    int opened = 0;
    buf_reserve(out, plen - from + 4 * 8 + 4);
    for (;;) {
        const char *dot = memchr(p + from, '.', plen - from);
        size_t end = dot ? (size_t)(dot - p) : plen;
        buf_reserve(out, end - from + 6);
        char *o = out->data + out->len;
        if (need_comma) *o++ = ',';
        *o++ = '"';
        memcpy(o, p + from, end - from);      /* path characters need no escaping */
        o += end - from;
        *o++ = '"';
        *o++ = ':';
        if (dot) *o++ = '{';
        out->len = (size_t)(o - out->data);
        if (!dot) return opened;
        opened++;
        need_comma = 0;
        from = end + 1;
    }
}

void doc_emit(struct doc *d, buf_t *out)
{
    struct doc_field *f = d->f;
    sort_fields(d);
    const char *prev = "";     /* last leaf written; the open objects are its parents */
    size_t prevlen = 0;
    int depth = 0;
    buf_putc(out, '{');
    for (int i = 0; i < d->n;) {
        int j = i + 1;
        while (j < d->n && path_cmp(&f[i], &f[j]) == 0) j++;
        const char *p = f[i].path;
        size_t plen = f[i].plen;
        /* Common byte prefix with the previous leaf, cut back to a component boundary. */
        size_t k = 0, lim = plen < prevlen ? plen : prevlen, boundary = 0;
        int kept = 0;
        while (k < lim && p[k] == prev[k]) {
            if (p[k] == '.') { boundary = k + 1; kept++; }
            k++;
        }
        if (k == prevlen && prevlen && k < plen && p[k] == '.') {
            d->conflicts += j - i;     /* "a.b" holds a value, so "a.b.c" cannot be written */
            i = j;
            continue;
        }
        for (; depth > kept; depth--) buf_putc(out, '}');
        depth += open_components(out, p, plen, boundary, i > 0);
        write_group(out, f, i, j);
        prev = p;
        prevlen = plen;
        i = j;
    }
    for (; depth > 0; depth--) buf_putc(out, '}');
    buf_putc(out, '}');
}
