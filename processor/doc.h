/* doc: the ECS document of one record, built field by field, emitted once.
 *
 * Fields are (dotted path, value) pairs in any order; doc_emit() sorts them and
 * writes nested JSON objects, merging repeated paths of array fields into one
 * array without duplicates. The doc never copies a value: it must stay valid
 * until doc_reset() -- point into the record, a schema constant, or doc->arena. */
#ifndef SIEMPROC_DOC_H
#define SIEMPROC_DOC_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "buf.h"

enum dkind {
    DV_STR,    /* raw bytes, escaped on output */
    DV_JSTR,   /* already JSON-escaped string content (from a JSON record), or
                  text known to need no escaping (dates, ips): written as is */
    DV_NUM,    /* a JSON number literal */
    DV_BOOL,   /* "true" / "false" */
    DV_RAW     /* a JSON value written verbatim (objects, geo_point) */
};

/* A path prepared for adding: its length and its first 16 bytes as two
 * big-endian words, so that most comparisons while sorting are one or two
 * integer compares. Paths known in advance (schema targets, the engine's own
 * fields) are prepared once with doc_path_init(). */
struct doc_path {
    uint64_t    key, key2;
    const char *s;
    uint16_t    len;
};

struct doc_field {
    uint64_t    key, key2; /* as in doc_path */
    const char *path;
    const char *v;
    uint32_t    vlen;
    uint16_t    plen;
    uint8_t     kind;
    uint8_t     array;     /* ECS normalizes this field to an array */
};

struct doc_shape;          /* doc.c: what emitting a document's paths produced */
#define DOC_SHAPES 8       /* shapes kept: records with and without optional fields alternate */

struct doc {
    struct doc_field *f;   /* in insertion order: for scalars the first added wins */
    int      n, cap;
    int     *order;        /* doc_emit: field indexes sorted by path */
    int     *tmp;          /* merge buffer for the sort */
    int     *open;         /* doc_emit: where each open object's component ends in the last path */
    int      open_cap;
    struct doc_shape *shapes[DOC_SHAPES];
    unsigned next_shape;   /* the one replaced next */
    arena_t  arena;
    int      conflicts;    /* fields dropped because a parent path held a value */
};

void doc_init(struct doc *d);
void doc_free(struct doc *d);
void doc_reset(struct doc *d);
/* path must be a C string that outlives p. */
void doc_path_init(struct doc_path *p, const char *path);
void doc_add_path(struct doc *d, const struct doc_path *p, int kind, int array, const char *v, size_t vlen);
void doc_add(struct doc *d, const char *path, int kind, int array, const char *v, size_t vlen);
/* Copies v into the arena first. */
void doc_add_copy(struct doc *d, const char *path, int kind, int array, const char *v, size_t vlen);
/* Is f's path p? */
static inline int doc_field_is(const struct doc_field *f, const struct doc_path *p)
{
    return f->key == p->key && f->key2 == p->key2 && f->plen == p->len &&
           (p->len <= 16 || memcmp(f->path + 16, p->s + 16, p->len - 16u) == 0);
}

/* The first field added at path, or NULL. */
const struct doc_field *doc_get(const struct doc *d, const char *path);
const struct doc_field *doc_get_path(const struct doc *d, const struct doc_path *p);
int  doc_remove(struct doc *d, const char *path);
/* Append the document as one line of nested JSON (no newline). */
void doc_emit(struct doc *d, buf_t *out);
#endif
