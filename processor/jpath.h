/* jpath: path expressions with array selectors over a jscan tape.
 *
 * A path is dotted segments (jscan_path: "a.b.0.c", keys that contain dots
 * match whole) plus bracketed selectors, which pick elements by content:
 *
 *   a[0].b          element 0 (the same as a.0.b)
 *   a[].b           every element of array a (every member value when a is
 *                   an object) that has b
 *   a[k=v].b        elements whose member k (a dotted path) is the scalar v,
 *                   compared ignoring ASCII case: headers[name=User-Agent].value
 *   a[k!=v].b       elements whose k is absent, null or not v
 *   a[k].b          elements where k is present and not null
 *
 * Applied to an object instead of an array, a [k=v] / [k!=v] / [k] selector
 * keeps or drops the object itself, which makes a condition:
 * action.conn[direction=OUTBOUND].local.ip exists only for outbound records.
 * Values cannot contain ']'. Selectors never nest ("a[b[c]]" is invalid) and a
 * path holds at most JPATH_MAX_SELECTORS, which bounds the recursion. jpath
 * only reads the tape; it never allocates. */
#ifndef SIEMPROC_JPATH_H
#define SIEMPROC_JPATH_H
#include <stddef.h>
#include "jscan.h"

#define JPATH_MAX_SELECTORS 8

/* First match in document order, or -1. */
int jpath_first(const struct jscan *js, int node, const char *path, size_t n);
/* Every match, in document order, at most max of them into out. Returns the count. */
int jpath_all(const struct jscan *js, int node, const char *path, size_t n, int *out, int max);
/* 1 when the path uses a selector (plain paths go straight to jscan_path). */
int jpath_has_selector(const char *path, size_t n);
/* Syntax check for schema loading: 0, or -1 with a reason in err. */
int jpath_check(const char *path, size_t n, char *err, size_t errlen);
#endif
