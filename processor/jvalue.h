/* jvalue: JSON values the normalizer builds from a record's tape for one
 * document -- a canonical geo_point, an object embedded as a JSON string
 * ("type": "json"), and objects assembled from members of a source element
 * ("object" rules, e.g. dns.answers). Output text lives in the document's
 * arena. jvalue never emits text that jscan did not accept as JSON, so what
 * it returns can be written verbatim. */
#ifndef SIEMPROC_JVALUE_H
#define SIEMPROC_JVALUE_H
#include <stddef.h>
#include "buf.h"
#include "jscan.h"
#include "schema.h"

/* An object with numeric lat and lon members, keys in any case (GuardDuty
 * "lat"/"lon", Security Hub "Lat"/"Lon") -> {"lat":x,"lon":y}. -1 when
 * either is missing, not a number or out of range. scratch is reused. */
int jv_geo_point(struct jscan *scratch, const char *p, size_t n, arena_t *a, const char **out, size_t *outlen);

/* Valid JSON text p[0..n) on one line: when it holds a line break (pretty
 * printed input), the whitespace between tokens is dropped into a copy in a;
 * otherwise p itself is returned. Documents are written one per line. */
const char *jv_one_line(const char *p, size_t *n, arena_t *a);

/* 0 when p[0..n) is exactly one JSON object, else -1. */
int jv_is_object(struct jscan *scratch, const char *p, size_t n);

/* {"key": value, ...} from the sub fields resolved under node; values are
 * coerced to each member's ECS type (numbers for long/float, strings for
 * keywords) and members that do not fit are left out. -1 when no member has
 * a value. tmp is scratch space. */
int jv_build_object(const struct jscan *js, int node, const struct sub_field *sub, int nsub, buf_t *tmp,
                    arena_t *a, const char **out, size_t *outlen);
#endif
