/* decode: see decode.h. */
#include <stdio.h>
#include <string.h>
#include "decode.h"

#define OUT_CHUNK 65536

void decoder_init(struct decoder *d, decode_out_fn out, void *arg)
{
    memset(d, 0, sizeof *d);
    d->out = out;
    d->arg = arg;
}

void decoder_free(struct decoder *d)
{
    if (d->z_live) inflateEnd(&d->z);
    d->z_live = 0;
}

void decoder_restart(struct decoder *d)
{
    z_stream z = d->z;             /* copied back to the same address: zlib checks that */
    int live = d->z_live;
    decoder_init(d, d->out, d->arg);
    d->z = z;
    d->z_live = live;
}

static int start_gzip(struct decoder *d)
{
    if (d->z_live && inflateReset(&d->z) == Z_OK) return 0;
    decoder_free(d);
    memset(&d->z, 0, sizeof d->z);
    if (inflateInit2(&d->z, 16 + MAX_WBITS) != Z_OK) {
        snprintf(d->err, sizeof d->err, "zlib initialisation failed");
        return -1;
    }
    d->z_live = 1;
    return 0;
}

static int inflate_some(struct decoder *d, const unsigned char *in, size_t len)
{
    unsigned char out[OUT_CHUNK];
    d->z.next_in = (unsigned char *)in;
    d->z.avail_in = (uInt)len;
    while (d->z.avail_in > 0) {
        if (d->member_done) {
            /* Another member follows; bytes of zero padding after the last one are ignored. */
            if (d->z.next_in[0] == 0) { d->z.next_in++; d->z.avail_in--; continue; }
            inflateReset(&d->z);
            d->member_done = 0;
        }
        d->z.next_out = out;
        d->z.avail_out = sizeof out;
        int rc = inflate(&d->z, Z_NO_FLUSH);
        size_t produced = sizeof out - d->z.avail_out;
        d->out_bytes += produced;
        if (produced) {
            int r = d->out(d->arg, (const char *)out, produced);
            if (r) return r;
        }
        if (rc == Z_STREAM_END) { d->member_done = 1; continue; }
        if (rc == Z_BUF_ERROR && produced == 0) break;
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            snprintf(d->err, sizeof d->err, "corrupt gzip data (%s)", d->z.msg ? d->z.msg : "inflate error");
            return -1;
        }
    }
    return 0;
}

static int decide(struct decoder *d)
{
    d->mode = (d->nhead == 2 && d->head[0] == 0x1f && d->head[1] == 0x8b) ? 2 : 1;
    if (d->mode == 2) {
        if (start_gzip(d) < 0) return -1;
        return inflate_some(d, d->head, d->nhead);
    }
    return d->nhead ? d->out(d->arg, (const char *)d->head, d->nhead) : 0;
}

int decoder_feed(struct decoder *d, const void *data, size_t len)
{
    const unsigned char *p = data;
    d->in_bytes += len;
    while (!d->mode && len) {
        d->head[d->nhead++] = *p++;
        len--;
        if (d->nhead == 2) {
            int r = decide(d);
            if (r) return r;
        }
    }
    if (!len) return 0;
    if (d->mode == 1) return d->out(d->arg, (const char *)p, len);
    return inflate_some(d, p, len);
}

int decoder_finish(struct decoder *d)
{
    if (!d->mode) {
        int r = decide(d);
        if (r) return r;
    }
    if (d->mode == 2 && !d->member_done) {
        snprintf(d->err, sizeof d->err, "truncated gzip data (stream ended after %llu bytes)", d->in_bytes);
        return -1;
    }
    return 0;
}
