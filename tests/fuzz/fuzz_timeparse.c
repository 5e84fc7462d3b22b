/* libFuzzer target: ts_parse in every format. Whatever parses must format
 * to ISO 8601 that parses back to the same instant, and give an index suffix
 * for every rotation and zone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "timeparse.h"

#define YEAR1_MS (-62135596800000LL)      /* 0001-01-01T00:00:00Z */
#define YEAR9999_MS (253402300799999LL)   /* 9999-12-31T23:59:59.999Z */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    enum ts_format fmt = (enum ts_format)(data[0] % 7);
    struct ts_ctx ctx = { 1795837882000LL, ((int)data[1] - 128) * 15 };
    const char *s = (const char *)data + 2;
    size_t n = size - 2;
    int64_t ms;
    if (ts_parse(fmt, s, n, &ctx, &ms) < 0) return 0;
    char iso[32], suffix[32];
    size_t len = ts_format_iso(ms, iso);
    if (len != 24 || strlen(iso) != 24) abort();
    if (ms >= YEAR1_MS && ms <= YEAR9999_MS) {
        int64_t back;
        if (ts_parse(TS_ISO8601, iso, len, NULL, &back) < 0 || back != ms) {
            fprintf(stderr, "fuzz_timeparse: %.*s -> %lld -> %s does not round-trip\n", (int)n, s, (long long)ms, iso);
            abort();
        }
    }
    for (int rot = ROT_DAILY; rot <= ROT_NONE; rot++)
        if (ts_index_suffix(ms, (enum rotation)rot, ctx.tz_minutes, suffix) >= sizeof suffix) abort();
    return 0;
}
