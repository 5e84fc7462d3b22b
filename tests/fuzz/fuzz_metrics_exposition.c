/* fuzz_metrics_exposition: label values and gauge values come from outside
 * (topic names, log types, HTTP statuses); whatever they hold, the
 * exposition must stay one sample per line, with every label value quoted
 * and escaped. Input: up to three label values separated by NUL bytes; the
 * last 8 bytes, when present, are also a gauge value. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A sample line: name{l="...",...} value -- quotes balanced, escapes valid. */
static void check_line(const char *s, size_t n)
{
    if (n && s[0] == '#') return;
    int quoted = 0;
    for (size_t i = 0; i < n; i++) {
        if (quoted && s[i] == '\\') {
            if (i + 1 >= n || (s[i + 1] != '\\' && s[i + 1] != '"' && s[i + 1] != 'n')) abort();
            i++;
        } else if (s[i] == '"') {
            quoted = !quoted;
        }
    }
    if (quoted) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    const char *values[3] = { "", "", "" };
    size_t off = 0;
    for (int i = 0; i < 3 && off <= size; i++) {
        values[i] = copy + off;
        off += strlen(copy + off) + 1;
    }
    double g = 0;
    if (size >= 8) memcpy(&g, data + size - 8, 8);

    struct metrics *r = metrics_new();
    struct metric *c = metrics_add(r, METRIC_COUNTER, "f_total", "fuzz \\ help\nline", "a,b,c", NULL, 0);
    struct metric *ga = metrics_add(r, METRIC_GAUGE, "f_gauge", "", "a", NULL, 0);
    mseries_add(metric_get(c, values), 3);
    mseries_set(metric_get(ga, values), g);
    buf_t out;
    buf_init(&out);
    metrics_expose(r, &out);
    /* 2 families x (HELP + TYPE) + 2 samples = 6 lines, whatever the values. */
    int lines = 0;
    const char *p = out.data, *end = out.data + out.len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) abort();
        check_line(p, (size_t)(nl - p));
        lines++;
        p = nl + 1;
    }
    if (lines != 6) abort();
    buf_free(&out);
    metrics_free(r);
    free(copy);
    return 0;
}
