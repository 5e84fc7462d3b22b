/* doc: see doc.h. Emission sorts paths component-wise ('.' sorts before every
 * other byte) so that a parent and its children are adjacent and a value that
 * would collide with an object ("a.b" and "a.b.c") is detected in one pass.
 * Output is written through a raw pointer into space reserved per field: the
 * per-byte buffer checks of buf_putc were most of the cost of emitting. */
#include <stdlib.h>
#include <string.h>
#include "doc.h"
#include "jsonw.h"

/* The shape of a document emitted: its paths and array flags in insertion
 * order (path bytes are copied: a path in the arena is gone after
 * doc_reset), and what emitting them produced besides the values -- the sort
 * order, and for each group of fields sharing a path, the text before its
 * values (closing braces, comma, keys). The records of a stream give
 * documents of a few shapes: for a document of a shape seen recently,
 * doc_emit skips the sort and the key writing. */
struct shape_field {
    uint64_t key, key2;
    uint32_t rest;          /* path bytes after the first 16, in paths */
    uint16_t plen;
    uint8_t  array;
};

struct shape_group {
    int      i, j;          /* its fields: order[i..j) */
    int      dropped;       /* a conflict: not written */
    uint32_t text, text_len;
};

struct doc_shape {
    struct shape_field *f;
    int     n, fcap;
    int    *order;
    struct shape_group *g;
    int     ng, gcap;
    uint32_t end, end_len;  /* the closing braces */
    buf_t   paths, text;
};

/* Bytes copy_text may copy past the end of a shape text. */
#define TEXT_PAD 16

/* Longer string values are escaped through the buffer in pieces instead of
 * reserving their worst case (six times their length) at once. */
#define INLINE_ESCAPE_MAX 4096

void doc_init(struct doc *d)
{
    memset(d, 0, sizeof *d);
    arena_init(&d->arena);
}

static void shape_free(struct doc_shape *s)
{
    if (!s) return;
    free(s->f);
    free(s->order);
    free(s->g);
    buf_free(&s->paths);
    buf_free(&s->text);
    free(s);
}

void doc_free(struct doc *d)
{
    for (int i = 0; i < DOC_SHAPES; i++) shape_free(d->shapes[i]);
    free(d->f);
    free(d->order);
    free(d->tmp);
    free(d->open);
    arena_free(&d->arena);
}

void doc_reset(struct doc *d)
{
    d->n = 0;
    d->conflicts = 0;
    arena_reset(&d->arena);
}

/* Up to 8 bytes of s as a big-endian word, zero-padded: comparing two such
 * words compares the bytes in order, and a shorter path sorts first. */
static uint64_t be_word(const char *s, size_t n)
{
    uint64_t w = 0;
    if (n >= 8) memcpy(&w, s, 8);
    else memcpy(&w, s, n);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    return w;
}

void doc_path_init(struct doc_path *p, const char *path)
{
    size_t n = strlen(path);
    p->s = path;
    p->len = (uint16_t)n;
    p->key = be_word(path, n);
    p->key2 = n > 8 ? be_word(path + 8, n - 8) : 0;
}

/* Out of line and reached by a tail call, so that the common case of
 * doc_add_path saves no registers. */
static __attribute__((noinline)) void add_after_growing(struct doc *d, const struct doc_path *p, int kind, int array,
                                                        const char *v, size_t vlen)
{
    d->cap = d->cap ? d->cap * 2 : 64;
    d->f = xrealloc(d->f, (size_t)d->cap * sizeof *d->f);
    d->order = xrealloc(d->order, (size_t)d->cap * sizeof *d->order);
    d->tmp = xrealloc(d->tmp, (size_t)d->cap * sizeof *d->tmp);
    doc_add_path(d, p, kind, array, v, vlen);
}

void doc_add_path(struct doc *d, const struct doc_path *p, int kind, int array, const char *v, size_t vlen)
{
    if (d->n == d->cap) { add_after_growing(d, p, kind, array, v, vlen); return; }
    struct doc_field *f = &d->f[d->n++];
    f->key = p->key;
    f->key2 = p->key2;
    f->path = p->s;
    f->plen = p->len;
    f->kind = (uint8_t)kind;
    f->array = (uint8_t)array;
    f->v = v;
    f->vlen = (uint32_t)vlen;
}

void doc_add(struct doc *d, const char *path, int kind, int array, const char *v, size_t vlen)
{
    struct doc_path p;
    doc_path_init(&p, path);
    doc_add_path(d, &p, kind, array, v, vlen);
}

void doc_add_copy(struct doc *d, const char *path, int kind, int array, const char *v, size_t vlen)
{
    doc_add(d, path, kind, array, arena_strndup(&d->arena, v, vlen), vlen);
}

const struct doc_field *doc_get_path(const struct doc *d, const struct doc_path *p)
{
    for (int i = 0; i < d->n; i++)
        if (doc_field_is(&d->f[i], p)) return &d->f[i];
    return NULL;
}

const struct doc_field *doc_get(const struct doc *d, const char *path)
{
    struct doc_path p;
    doc_path_init(&p, path);
    return doc_get_path(d, &p);
}

int doc_remove(struct doc *d, const char *path)
{
    struct doc_path p;
    doc_path_init(&p, path);
    int w = 0, removed = 0;
    for (int i = 0; i < d->n; i++) {
        if (doc_field_is(&d->f[i], &p)) { removed++; continue; }
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
    int c = n > 16 ? memcmp(a->path + 16, b->path + 16, n - 16) : 0;
    if (c) return c;
    return a->plen < b->plen ? -1 : a->plen > b->plen;
}

/* Field a goes before field b: by path, then in insertion order (the
 * indexes are insertion order), which keeps the first added scalar first. */
static int before(const struct doc_field *f, int a, int b)
{
    int c = path_cmp(&f[a], &f[b]);
    return c < 0 || (c == 0 && a < b);
}

/* Natural merge sort of the field indexes. Rules are pre-sorted by target at
 * schema load, so a document is a long ascending run plus a few short ones
 * (fixed fields, related.*, vendor columns): merging runs costs a few passes,
 * where an insertion sort would drag each late field across the document. */
static void merge(const struct doc_field *f, const int *a, int na, const int *b, int nb, int *out)
{
    int i = 0, j = 0, k = 0;
    while (i < na && j < nb) out[k++] = before(f, b[j], a[i]) ? b[j++] : a[i++];
    while (i < na) out[k++] = a[i++];
    while (j < nb) out[k++] = b[j++];
}

/* End of the ascending run that starts at i. */
static int run_end(const struct doc_field *f, const int *idx, int i, int n)
{
    while (i + 1 < n && !before(f, idx[i + 1], idx[i])) i++;
    return i + 1;
}

static void sort_fields(struct doc *d)
{
    int n = d->n;
    for (int i = 0; i < n; i++) d->order[i] = i;
    int *src = d->order, *dst = d->tmp;
    for (;;) {
        int runs = 0;
        for (int i = 0; i < n; runs++) {
            int a1 = run_end(d->f, src, i, n);
            int b1 = a1 < n ? run_end(d->f, src, a1, n) : n;
            merge(d->f, src + i, a1 - i, src + a1, b1 - a1, dst + i);
            i = b1;
        }
        int *t = src; src = dst; dst = t;
        if (runs <= 1) break;
    }
    if (src != d->order) memcpy(d->order, src, (size_t)n * sizeof *src);
}

/* Room for n more bytes at o, which points into out; the buffer may move. */
static inline char *room(buf_t *out, char *o, size_t n)
{
    if ((size_t)(out->data + out->cap - o) > n) return o;
    out->len = (size_t)(o - out->data);
    buf_reserve(out, n);
    return out->data + out->len;
}

static inline char *write_value(buf_t *out, char *o, const struct doc_field *f)
{
    if (f->kind == DV_STR && f->vlen > INLINE_ESCAPE_MAX) {
        out->len = (size_t)(o - out->data);
        jw_string(out, f->v, f->vlen);
        return out->data + out->len;
    }
    if (f->kind == DV_STR) {
        o = room(out, o, JW_ESCAPED_MAX(f->vlen) + 2);
        *o++ = '"';
        o = jw_escape_to(o, f->v, f->vlen);
        *o++ = '"';
        return o;
    }
    o = room(out, o, f->vlen + 2);
    if (f->kind == DV_JSTR) *o++ = '"';
    memcpy(o, f->v, f->vlen);
    o += f->vlen;
    if (f->kind == DV_JSTR) *o++ = '"';
    return o;
}

static int same_value(const struct doc_field *a, const struct doc_field *b)
{
    return a->vlen == b->vlen && memcmp(a->v, b->v, a->vlen) == 0;
}

/* Write the values of the fields idx[i..j), which share one path. */
static char *write_group(const struct doc *d, const int *idx, buf_t *out, char *o, int i, int j)
{
    const struct doc_field *f = d->f;
    if (!f[idx[i]].array) return write_value(out, o, &f[idx[i]]);
    o = room(out, o, 1);
    *o++ = '[';
    for (int k = i; k < j; k++) {
        int dup = 0;
        for (int m = i; m < k && !dup; m++) dup = same_value(&f[idx[m]], &f[idx[k]]);
        if (dup) continue;
        if (k > i) *o++ = ',';
        o = write_value(out, o, &f[idx[k]]);
        o = room(out, o, 1);
    }
    *o++ = ']';
    return o;
}

/* Bytes two paths share before they differ. */
static size_t common_prefix(const struct doc_field *a, const struct doc_field *b)
{
    uint64_t x = a->key ^ b->key;
    if (x) return (size_t)__builtin_clzll(x) / 8;
    x = a->key2 ^ b->key2;
    if (x) return 8 + (size_t)__builtin_clzll(x) / 8;
    size_t n = a->plen < b->plen ? a->plen : b->plen, k = 16;
    while (k < n && a->path[k] == b->path[k]) k++;
    return k < n ? k : n;
}

/* Write "name":{"name":{..."leaf": for the components of f's path from byte
 * `from` on, pushing each object opened onto d->open. */
static char *open_components(struct doc *d, char *o, const struct doc_field *f, size_t from, int *depth)
{
    *o++ = '"';
    for (size_t k = from; k < f->plen; k++) {      /* path characters need no escaping */
        char c = f->path[k];
        if (c != '.') { *o++ = c; continue; }
        memcpy(o, "\":{\"", 4);
        o += 4;
        d->open[(*depth)++] = (int)k;
    }
    *o++ = '"';
    *o++ = ':';
    return o;
}

static void shape_add_group(struct doc_shape *s, int i, int j, int dropped, size_t text, size_t text_end)
{
    if (s->ng == s->gcap) {
        s->gcap = s->gcap ? s->gcap * 2 : 64;
        s->g = xrealloc(s->g, (size_t)s->gcap * sizeof *s->g);
    }
    s->g[s->ng++] = (struct shape_group){ i, j, dropped, (uint32_t)text, (uint32_t)(text_end - text) };
}

/* Write the sorted fields, noting in s where each group's text is in out
 * (from `base`, where this document starts). */
static char *emit_sorted(struct doc *d, struct doc_shape *s, buf_t *out, char *o, size_t base)
{
    const struct doc_field *prev = NULL;    /* last leaf written; the open objects are its parents */
    int depth = 0;
    for (int i = 0; i < d->n;) {
        const struct doc_field *f = &d->f[d->order[i]];
        int j = i + 1;
        while (j < d->n && path_cmp(f, &d->f[d->order[j]]) == 0) j++;
        size_t shared = prev ? common_prefix(prev, f) : 0;
        size_t text = (size_t)(o - out->data) - base;
        if (prev && shared == prev->plen && shared < f->plen && f->path[shared] == '.') {
            d->conflicts += j - i;     /* "a.b" holds a value, so "a.b.c" cannot be written */
            shape_add_group(s, i, j, 1, text, text);
            i = j;
            continue;
        }
        if (d->open_cap < depth + f->plen) {
            d->open_cap = depth + f->plen;
            d->open = xrealloc(d->open, (size_t)d->open_cap * sizeof *d->open);
        }
        o = room(out, o, (size_t)depth + 5 * (size_t)f->plen + 8);
        for (; depth > 0 && (size_t)d->open[depth - 1] >= shared; depth--) *o++ = '}';
        if (prev) *o++ = ',';
        o = open_components(d, o, f, depth ? (size_t)d->open[depth - 1] + 1 : 0, &depth);
        shape_add_group(s, i, j, 0, text, (size_t)(o - out->data) - base);
        o = write_group(d, d->order, out, o, i, j);
        prev = f;
        i = j;
    }
    s->end = (uint32_t)((size_t)(o - out->data) - base);
    o = room(out, o, (size_t)depth + 1);
    for (; depth > 0; depth--) *o++ = '}';
    *o++ = '}';
    s->end_len = (uint32_t)((size_t)(o - out->data) - base - s->end);
    return o;
}

/* Move a text noted by emit_sorted (at out[base + *at..]) into s->text. */
static void keep_text(struct doc_shape *s, const buf_t *out, size_t base, uint32_t *at, uint32_t len)
{
    size_t from = base + *at;
    *at = (uint32_t)s->text.len;
    buf_append(&s->text, out->data + from, len);
}

/* Remember the paths, the order and the texts (not the values: a shape
 * holds a few bytes per field whatever the documents hold). */
static void shape_save(const struct doc *d, struct doc_shape *s, const buf_t *out, size_t base)
{
    if (s->fcap < d->n) {
        s->fcap = d->cap;
        s->f = xrealloc(s->f, (size_t)s->fcap * sizeof *s->f);
        s->order = xrealloc(s->order, (size_t)s->fcap * sizeof *s->order);
    }
    buf_reset(&s->paths);
    for (int i = 0; i < d->n; i++) {
        const struct doc_field *f = &d->f[i];
        s->f[i] = (struct shape_field){ f->key, f->key2, (uint32_t)s->paths.len, f->plen, f->array };
        if (f->plen > 16) buf_append(&s->paths, f->path + 16, f->plen - 16u);
    }
    s->n = d->n;
    if (d->n) memcpy(s->order, d->order, (size_t)d->n * sizeof *d->order);
    buf_reset(&s->text);
    for (int k = 0; k < s->ng; k++) keep_text(s, out, base, &s->g[k].text, s->g[k].text_len);
    keep_text(s, out, base, &s->end, s->end_len);
    static const char pad[TEXT_PAD];       /* so that copy_text may read past the last text */
    buf_append(&s->text, pad, sizeof pad);
}

static int shape_matches(const struct doc *d, const struct doc_shape *s)
{
    if (!s || s->n != d->n) return 0;
    for (int i = 0; i < d->n; i++) {
        const struct doc_field *f = &d->f[i];
        const struct shape_field *c = &s->f[i];
        if (f->key != c->key || f->key2 != c->key2 || f->plen != c->plen || f->array != c->array) return 0;
        if (f->plen > 16 && memcmp(f->path + 16, s->paths.data + c->rest, f->plen - 16u) != 0) return 0;
    }
    return 1;
}

/* Copy a text of the shape: most are short ("},\"ip\":"), and one fixed-size
 * copy of TEXT_PAD bytes is a couple of instructions where a memcpy of the
 * exact length is a call. The shape's texts are padded for it, and the
 * caller leaves room for it. */
static inline char *copy_text(char *o, const char *t, size_t n)
{
    if (n <= TEXT_PAD) memcpy(o, t, TEXT_PAD);
    else memcpy(o, t, n);
    return o + n;
}

/* A shape seen before: its texts around this document's values. */
static char *emit_shaped(struct doc *d, const struct doc_shape *s, buf_t *out, char *o)
{
    for (int k = 0; k < s->ng; k++) {
        const struct shape_group *g = &s->g[k];
        if (g->dropped) { d->conflicts += g->j - g->i; continue; }
        o = room(out, o, g->text_len + TEXT_PAD);
        o = copy_text(o, s->text.data + g->text, g->text_len);
        const struct doc_field *f = &d->f[s->order[g->i]];
        o = f->array ? write_group(d, s->order, out, o, g->i, g->j) : write_value(out, o, f);
    }
    o = room(out, o, s->end_len);
    memcpy(o, s->text.data + s->end, s->end_len);
    return o + s->end_len;
}

void doc_emit(struct doc *d, buf_t *out)
{
    size_t base = out->len;
    buf_reserve(out, 1);
    char *o = out->data + base;
    *o++ = '{';
    for (int i = 0; i < DOC_SHAPES; i++) {
        if (!shape_matches(d, d->shapes[i])) continue;
        out->len = (size_t)(emit_shaped(d, d->shapes[i], out, o) - out->data);
        return;
    }
    struct doc_shape **s = &d->shapes[d->next_shape++ % DOC_SHAPES];
    if (!*s) *s = xcalloc(1, sizeof **s);
    (*s)->ng = 0;
    sort_fields(d);
    out->len = (size_t)(emit_sorted(d, *s, out, o, base) - out->data);
    shape_save(d, *s, out, base);
}
