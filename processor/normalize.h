/* normalize: one parsed record + its schema -> one ECS document.
 *
 * A normalizer is per worker thread: it owns the document being built, its
 * arena, the binding of schema sources to the current stream's columns, and
 * a hashing context. It never blocks and never touches shared mutable state
 * (the GeoIP handle is internally synchronised). */
#ifndef SIEMPROC_NORMALIZE_H
#define SIEMPROC_NORMALIZE_H
#include "doc.h"
#include "schema.h"

struct geoip;
struct exclusions;

struct normalizer_opts {
    struct geoip *geoip;        /* NULL: no enrichment */
    int keep_original;          /* add event.original */
    const char *index_prefix;   /* prepended to every index name, or NULL */
    const struct exclusions *exclude;   /* operator exclusion rules, or NULL */
    const char *own_user_agent; /* skip S3 GetObject events caused by us (CloudTrail, S3 access logs) */
};

struct norm_result {
    char    index[192];
    char    id[128];
    int64_t ts_ms;
};

enum { NORM_OK = 0, NORM_SKIP = 1, NORM_FAIL = -1 };

/* Skip reasons a caller may count apart. */
#define NORM_REASON_EXCLUDED   "excluded"
#define NORM_REASON_OWN_ACCESS "own access"

struct normalizer *normalizer_new(const struct normalizer_opts *opts);
void normalizer_free(struct normalizer *nz);
/* On NORM_OK the document is in normalizer_doc(); on NORM_SKIP rec->skip_reason
 * says why; on NORM_FAIL rec->err does. */
int  normalize_record(struct normalizer *nz, const struct schema *sc, const struct stream_info *si,
                      struct record *rec, struct norm_result *res);
struct doc *normalizer_doc(struct normalizer *nz);
/* Deterministic id of raw bytes from an origin: base64url of 16 bytes of SHA-256. */
void doc_id_hash(struct normalizer *nz, const char *type, const char *origin, uint64_t ordinal,
                 const char *raw, size_t rawlen, char out[32]);
#endif
