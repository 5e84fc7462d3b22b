/* jindex: many dotted-path lookups in one JSON object, without scanning its
 * keys for each.
 *
 * A schema reads dozens of paths from each JSON record, most of them starting
 * at a top-level key of the record ("userIdentity.arn", "eventName"). The
 * paths are declared once; per record one pass over the object's keys notes
 * where each first path segment is, and a lookup continues from there.
 * Results are exactly jscan_path()'s: an object whose keys could make them
 * differ (a key that appears twice, a key with a dot in it) is not indexed and
 * its lookups are plain jscan_path() calls. Never allocates per record. */
#ifndef SIEMPROC_JINDEX_H
#define SIEMPROC_JINDEX_H
#include <stddef.h>
#include "jscan.h"

struct jindex {
    /* Declared first segments. */
    const char **seg;
    size_t      *seg_len;
    int          nseg, seg_cap;
    int         *slot;          /* hash table of segments: index into seg, -1 empty */
    unsigned     mask;
    /* The object indexed last. */
    const struct jscan *js;
    int          obj;
    int          usable;        /* 0: fall back to jscan_path */
    int         *tok;           /* per segment: its value token, or -1 */
};

void jindex_init(struct jindex *x);
void jindex_free(struct jindex *x);
/* Forget the declared paths. */
void jindex_clear(struct jindex *x);
/* Declare a path (which must outlive x's use of it); returns its segment
 * number for jindex_path, or -1 when lookups of it cannot use the index. */
int  jindex_declare(struct jindex *x, const char *path, size_t len);
/* Index object obj of js (any other token: every lookup falls back). */
void jindex_scan(struct jindex *x, const struct jscan *js, int obj);
/* jscan_path(js, obj, path, len) for the object last scanned; seg is what
 * jindex_declare returned for path. */
int  jindex_path(const struct jindex *x, int seg, const char *path, size_t len);
#endif
