/* decode: bytes of an object as they arrive -> its plain text, streaming.
 * Gzip is recognised by its magic bytes, not by a file name; concatenated
 * gzip members (what S3 multi-part writers produce) are all decoded.
 * Memory is the zlib window plus one output chunk, whatever the object size. */
#ifndef SIEMPROC_DECODE_H
#define SIEMPROC_DECODE_H
#include <stddef.h>
#include <zlib.h>

typedef int (*decode_out_fn)(void *arg, const char *data, size_t len);   /* non-zero stops */

struct decoder {
    int        mode;         /* 0 undecided, 1 plain, 2 gzip */
    z_stream   z;
    int        z_live;
    int        member_done;  /* the last gzip member ended cleanly */
    unsigned char head[2];
    size_t     nhead;
    decode_out_fn out;
    void      *arg;
    char       err[128];
    unsigned long long in_bytes, out_bytes;
};

void decoder_init(struct decoder *d, decode_out_fn out, void *arg);
/* 0 ok; -1 corrupt input (d->err); a non-zero value returned by out is passed up. */
int  decoder_feed(struct decoder *d, const void *data, size_t len);
/* End of input: -1 when a gzip stream was truncated. */
int  decoder_finish(struct decoder *d);
void decoder_free(struct decoder *d);
/* decoder_init for the next object of a decoder initialised before: zlib's
 * state (about 40 KB) is reset, not allocated again. */
void decoder_restart(struct decoder *d);
#endif
