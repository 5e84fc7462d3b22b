/* framer: plain text of an object -> its records, streaming.
 *
 * Lines; multiline records (a regex recognises the first line of each);
 * and JSON: a stream of JSON values (JSON lines, pretty-printed documents,
 * top-level arrays), where the array under one top-level key ("Records") is
 * split element by element, so a CloudTrail object of any size is processed
 * with memory bounded by its largest record, not by the object. */
#ifndef SIEMPROC_FRAMER_H
#define SIEMPROC_FRAMER_H
#include <regex.h>
#include <stdint.h>
#include "buf.h"
#include "schema.h"

/* line: 1-based line where the record starts. Non-zero return stops. */
typedef int (*frame_fn)(void *arg, const char *rec, size_t len, uint64_t line);

struct framer {
    enum framing   mode;
    const char    *split_key;
    size_t         split_len;
    const regex_t *first_line;
    size_t         max_record;
    frame_fn       fn;
    void          *arg;
    buf_t          acc;          /* bytes not yet framed */
    uint64_t       line;         /* newlines seen before acc[0] */
    /* multiline */
    buf_t          ml;
    uint64_t       ml_line;
    /* json */
    size_t         scan, rec_start, key_start, key_end;
    uint64_t       rec_line, scan_line;
    int            depth, in_str, esc, top_array;
    int            expect_key, key_open, key_done, want_array, split_active, split_happened;
    int            scalar_open;  /* a scalar element of the split/top-level array is being read */
    int            junk_open;    /* bytes that start no JSON value: a bad record up to the newline */
    char           err[160];
};

void framer_init(struct framer *f, enum framing mode, const char *split_key, const regex_t *first_line,
                 frame_fn fn, void *arg);
/* 0 ok; -1 malformed framing (f->err); callback's non-zero passed up. */
int  framer_feed(struct framer *f, const char *data, size_t len);
int  framer_finish(struct framer *f);
void framer_free(struct framer *f);
/* framer_init for the next stream of a framer initialised before: the
 * buffers keep their memory (up to a bound) instead of growing again. */
void framer_restart(struct framer *f, enum framing mode, const char *split_key, const regex_t *first_line,
                    frame_fn fn, void *arg);
#endif
