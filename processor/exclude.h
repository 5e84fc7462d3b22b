/* exclude: operator rules that drop noisy events before they are indexed,
 * in the original system's format (one CSV line per rule):
 *
 *   log_type,field,pattern,pattern_type,comment
 *   cloudtrail,eventSource,athena.amazonaws.com,text,Athena is too chatty
 *   cloudtrail,userIdentity.invokedBy,.*\.amazonaws\.com,regex,AWS services
 *
 * field is a raw field of the log (a column or JSON path) or, failing that,
 * an ECS field of the document; text matches exactly, regex (POSIX extended)
 * must match the whole value. A dropped event is counted as skipped with the
 * reason "excluded", so its offset still advances. Rules are immutable after
 * loading and shared by all threads. */
#ifndef SIEMPROC_EXCLUDE_H
#define SIEMPROC_EXCLUDE_H
#include <stddef.h>
#include "schema.h"

struct exclusions;

struct exclusions *exclusions_load(const char *path, const struct schema_set *set, char *err, size_t errlen);
void exclusions_free(struct exclusions *ex);
int  exclusions_count(const struct exclusions *ex);

/* The value-lookup the rules need, provided by the normalizer. */
typedef int (*exclude_lookup_fn)(void *arg, const char *path, const char **v, size_t *n);
/* 1 when a rule for this log type matches. */
int exclusions_match(const struct exclusions *ex, const struct schema *sc, exclude_lookup_fn lookup, void *arg);
#endif
