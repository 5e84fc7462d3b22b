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
#include "buf.h"

enum dkind {
    DV_STR,    /* raw bytes, escaped on output */
    DV_JSTR,   /* already JSON-escaped string content (from a JSON record) */
    DV_NUM,    /* a JSON number literal */
    DV_BOOL,   /* "true" / "false" */
    DV_RAW     /* a JSON value written verbatim (objects, geo_point) */
};

struct doc_field {
    uint64_t    key, key2; /* path bytes 0-7 and 8-15, big-endian: most comparisons end here */
    const char *path;
    const char *v;
    uint32_t    vlen;
    uint16_t    plen;
    uint8_t     kind;
    uint8_t     array;     /* ECS normalizes this field to an array */
    uint32_t    seq;       /* insertion order: first added wins for scalars */
};

struct doc {
    struct doc_field *f;
    int      n, cap;
    struct doc_field *tmp;     /* merge buffer for doc_emit */
    int      tmp_cap;
    arena_t  arena;
    int      conflicts;    /* fields dropped because a parent path held a value */
};

void doc_init(struct doc *d);
void doc_free(struct doc *d);
void doc_reset(struct doc *d);
void doc_add(struct doc *d, const char *path, int kind, int array, const char *v, size_t vlen);
/* Copies v into the arena first. */
void doc_add_copy(struct doc *d, const char *path, int kind, int array, const char *v, size_t vlen);
const struct doc_field *doc_get(const struct doc *d, const char *path);
int  doc_remove(struct doc *d, const char *path);
/* Append the document as one line of nested JSON (no newline). */
void doc_emit(struct doc *d, buf_t *out);
#endif
