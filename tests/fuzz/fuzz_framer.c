/* libFuzzer target: the framer in all three modes. The first byte picks the
 * mode, the second where the rest is split into two chunks; the records (and
 * the outcome) must be the same as when the input is fed whole. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "framer.h"

struct capture {
    buf_t text;
};

static int record(void *arg, const char *rec, size_t len, uint64_t line)
{
    struct capture *c = arg;
    buf_printf(&c->text, "%llu:%zu:", (unsigned long long)line, len);
    buf_append(&c->text, rec, len);
    return 0;
}

static int frame(enum framing mode, const regex_t *re, const char *in, size_t n, size_t split, struct capture *c)
{
    struct framer f;
    framer_init(&f, mode, mode == FRAME_JSON ? "Records" : NULL, re, record, c);
    int rc = framer_feed(&f, in, split);
    if (rc == 0) rc = framer_feed(&f, in + split, n - split);
    if (rc == 0) rc = framer_finish(&f);
    framer_free(&f);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static regex_t first_line;
    static int ready;
    if (!ready) {
        regcomp(&first_line, "^[0-9]{4}-[0-9]{2}-[0-9]{2}|^[A-Z][a-z]{2} ", REG_EXTENDED | REG_NOSUB);
        ready = 1;
    }
    if (size < 2) return 0;
    static const enum framing modes[] = { FRAME_LINES, FRAME_MULTILINE, FRAME_JSON };
    enum framing mode = modes[data[0] % 3];
    const char *in = (const char *)data + 2;
    size_t n = size - 2;
    size_t split = n ? (size_t)data[1] * n / 255 : 0;
    struct capture whole = { { 0 } }, parts = { { 0 } };
    int rc_whole = frame(mode, &first_line, in, n, n, &whole);
    int rc_parts = frame(mode, &first_line, in, n, split, &parts);
    if (rc_whole != rc_parts || whole.text.len != parts.text.len ||
        (whole.text.len && memcmp(whole.text.data, parts.text.data, whole.text.len) != 0)) {
        fprintf(stderr, "fuzz_framer: mode %d, split at %zu of %zu: rc %d vs %d, records differ\n", (int)mode, split, n,
                rc_whole, rc_parts);
        abort();
    }
    buf_free(&whole.text);
    buf_free(&parts.text);
    return 0;
}
