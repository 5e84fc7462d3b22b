/* jindex: see jindex.h. Why the fallback cases matter: jscan_path also
 * matches keys that hold dots ("a.b" for the path "a.b.c") and, when a key
 * repeats, tries each occurrence in turn; an index of single segments cannot
 * do either, so objects with such keys are left to jscan_path. */
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "jindex.h"

void jindex_init(struct jindex *x) { memset(x, 0, sizeof *x); }

void jindex_free(struct jindex *x)
{
    free(x->seg);
    free(x->seg_len);
    free(x->slot);
    free(x->tok);
    jindex_init(x);
}

void jindex_clear(struct jindex *x)
{
    x->nseg = 0;
    if (x->slot) memset(x->slot, 0xff, (x->mask + 1) * sizeof *x->slot);
    x->js = NULL;
    x->usable = 0;
}

static unsigned hash(const char *s, size_t n)
{
    unsigned h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* The slot that holds segment s[0..n), or the empty slot where it would go. */
static unsigned find_slot(const struct jindex *x, const char *s, size_t n)
{
    unsigned h = hash(s, n) & x->mask;
    while (x->slot[h] >= 0) {
        int g = x->slot[h];
        if (x->seg_len[g] == n && memcmp(x->seg[g], s, n) == 0) break;
        h = (h + 1) & x->mask;
    }
    return h;
}

/* Keep the table at most half full. */
static void grow(struct jindex *x)
{
    if (x->nseg < x->seg_cap) return;
    x->seg_cap = x->seg_cap ? x->seg_cap * 2 : 32;
    x->seg = xrealloc(x->seg, (size_t)x->seg_cap * sizeof *x->seg);
    x->seg_len = xrealloc(x->seg_len, (size_t)x->seg_cap * sizeof *x->seg_len);
    x->tok = xrealloc(x->tok, (size_t)x->seg_cap * sizeof *x->tok);
    free(x->slot);
    x->mask = (unsigned)x->seg_cap * 2 - 1;
    x->slot = xmalloc((x->mask + 1) * sizeof *x->slot);
    memset(x->slot, 0xff, (x->mask + 1) * sizeof *x->slot);
    for (int g = 0; g < x->nseg; g++) x->slot[find_slot(x, x->seg[g], x->seg_len[g])] = g;
}

int jindex_declare(struct jindex *x, const char *path, size_t len)
{
    const char *dot = memchr(path, '.', len);
    size_t n = dot ? (size_t)(dot - path) : len;
    if (n == 0) return -1;
    grow(x);
    unsigned h = find_slot(x, path, n);
    if (x->slot[h] >= 0) return x->slot[h];
    x->seg[x->nseg] = path;
    x->seg_len[x->nseg] = n;
    x->slot[h] = x->nseg;
    return x->nseg++;
}

void jindex_scan(struct jindex *x, const struct jscan *js, int obj)
{
    x->js = js;
    x->obj = obj;
    x->usable = obj >= 0 && js->tok[obj].type == J_OBJ && x->nseg > 0;
    if (!x->usable) return;
    for (int g = 0; g < x->nseg; g++) x->tok[g] = -1;
    for (int k = jscan_first(js, obj); k >= 0; k = jscan_next_elem(js, obj, k)) {
        const struct jtok *t = &js->tok[k];
        if (t->escaped || t->len == 0) continue;      /* jscan_path never matches these */
        const char *key = js->src + t->start;
        int g = x->slot[find_slot(x, key, t->len)];
        if (g < 0 ? memchr(key, '.', t->len) != NULL : x->tok[g] >= 0) { x->usable = 0; return; }
        if (g >= 0) x->tok[g] = k + 1;
    }
}

int jindex_path(const struct jindex *x, int seg, const char *path, size_t len)
{
    if (!x->usable || seg < 0) return jscan_path(x->js, x->obj, path, len);
    int t = x->tok[seg];
    size_t n = x->seg_len[seg];
    if (t < 0 || n == len) return t;
    if (n + 1 == len) return -1;      /* "a." names nothing */
    return jscan_path(x->js, t, path + n + 1, len - n - 1);
}
