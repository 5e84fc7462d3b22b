/* libFuzzer target: the decoder on arbitrary bytes (gzip when they start
 * with the magic), fed whole and in two chunks split at a byte from the
 * input: same outcome, and the same output when both succeed. */
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "decode.h"

static int collect(void *arg, const char *p, size_t n)
{
    buf_t *b = arg;
    if (b->len < (64u << 20)) buf_append(b, p, n);     /* a gzip bomb is decoded, not kept */
    return 0;
}

static int decode(const uint8_t *in, size_t n, size_t split, buf_t *out)
{
    struct decoder d;
    decoder_init(&d, collect, out);
    int rc = decoder_feed(&d, in, split);
    if (rc == 0) rc = decoder_feed(&d, in + split, n - split);
    if (rc == 0) rc = decoder_finish(&d);
    if (rc && !d.err[0]) abort();                       /* every failure says why */
    decoder_free(&d);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t n = size - 1;
    const uint8_t *in = data + 1;
    size_t split = (size_t)data[0] * n / 255;
    buf_t whole, parts;
    buf_init(&whole);
    buf_init(&parts);
    int a = decode(in, n, n, &whole);
    int b = decode(in, n, split, &parts);
    if (a != b) abort();
    if (a == 0 && (whole.len != parts.len || (whole.len && memcmp(whole.data, parts.data, whole.len)))) abort();
    /* Plain input comes out unchanged. */
    if (a == 0 && !(n >= 2 && in[0] == 0x1f && in[1] == 0x8b) && (whole.len != n || (n && memcmp(whole.data, in, n))))
        abort();
    buf_free(&whole);
    buf_free(&parts);
    return 0;
}
