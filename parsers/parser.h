/* parser: the one interface every log-format parser implements.
 *
 * A parser turns the bytes of one record into named values. It knows nothing
 * about ECS: the normalizer maps its values to ECS through the type's schema.
 * Lifetimes: compile() runs once per schema at start-up and its config is
 * shared read-only by all threads; open() makes per-stream state (one S3
 * object, one CloudWatch Logs payload), used by one thread only. Values in a
 * record point into the record's bytes or into the stream state and stay
 * valid until the next parse() on that stream. */
#ifndef SIEMPROC_PARSER_H
#define SIEMPROC_PARSER_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include "jscan.h"

#define REC_MAX_COLS 160

/* A value: p == NULL means absent. kind is a doc.h DV_* kind. */
struct span {
    const char *p;
    uint32_t    len;
    uint8_t     kind;
};

/* Column names of flat records; version changes whenever the names do
 * (a new header line), so the normalizer knows to rebind. */
struct layout {
    int       n;
    char    **names;
    uint32_t  version;
};

struct record {
    const char    *raw;
    size_t         raw_len;
    uint64_t       ordinal;      /* 0-based index of the record in its object/payload */
    int64_t        delivery_ms;  /* CloudWatch Logs event time, or object time; 0 unknown */
    const char    *event_id;     /* CloudWatch Logs event id, or NULL */
    /* Flat records (text formats). */
    const struct layout *layout;
    struct span    cols[REC_MAX_COLS];
    int            ncols;
    /* JSON records. */
    const struct jscan *json;
    int            json_root;
    /* Set by parse() on PARSE_SKIP / PARSE_ERROR. */
    const char    *skip_reason;
    char           err[192];
};

/* What a stream knows about where its records come from. */
struct stream_info {
    const char *type;
    const char *s3_key;          /* or NULL */
    const char *log_group;       /* or NULL */
    const char *account_id;      /* CloudWatch Logs payload owner, or NULL */
    int         key_is_local;    /* s3_key is a local file path: not emitted */
    int64_t     delivery_ms;
};

enum parse_result { PARSE_OK = 0, PARSE_SKIP = 1, PARSE_ERROR = -1 };

struct parser {
    const char *name;
    void *(*compile)(const json_t *format, char *err, size_t errlen);
    void  (*free_config)(void *cfg);
    void *(*open)(const void *cfg, const struct stream_info *info);
    int   (*parse)(void *state, const char *data, size_t len, struct record *rec);
    void  (*close)(void *state);
};

const struct parser *parser_find(const char *name);
/* For `siemproc types` and tests: the table of parsers, NULL-terminated. */
extern const struct parser *const parser_table[];

/* Helpers shared by parsers. */
void record_clear(struct record *rec);
int  record_fail(struct record *rec, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int  record_skip(struct record *rec, const char *reason);
/* Canonical column name: lower case, runs of non-alphanumerics become '_'
 * ("cs(User-Agent)" -> "cs_user_agent", "account-id" -> "account_id"). */
char *column_name(const char *s, size_t n);
#endif
