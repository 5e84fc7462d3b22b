/* libFuzzer target: jscan_parse on arbitrary bytes. Checks that the tape is
 * consistent, that unescaped strings are valid UTF-8, and that jscan accepts
 * exactly what jansson accepts, jscan's depth cap and jansson's own limits
 * (number range, \u0000 in keys, a raw NUL ending the input) aside: what
 * jscan accepts is emitted verbatim, so it must be JSON. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jscan.h"

static void fail(const char *what, const uint8_t *data, size_t size)
{
    fprintf(stderr, "fuzz_jscan: %s on %zu bytes: %.*s\n", what, size, (int)(size > 300 ? 300 : size), (const char *)data);
    abort();
}

static int valid_utf8(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        if ((unsigned char)s[i] < 0x80) { i++; continue; }
        size_t l = utf8_seq_len((const unsigned char *)s + i, n - i);
        if (!l) return 0;
        i += l;
    }
    return 1;
}

static int max_depth(const uint8_t *d, size_t n)
{
    int depth = 0, max = 0, in_str = 0;
    for (size_t i = 0; i < n; i++) {
        if (in_str) { if (d[i] == '\\') i++; else if (d[i] == '"') in_str = 0; continue; }
        if (d[i] == '"') in_str = 1;
        else if (d[i] == '[' || d[i] == '{') { if (++depth > max) max = depth; }
        else if (d[i] == ']' || d[i] == '}') depth--;
    }
    return max;
}

static void check_tape(const struct jscan *js, const uint8_t *data, size_t size)
{
    char *tmp = malloc(size + 1);
    for (uint32_t t = 0; t < js->ntok; t++) {
        const struct jtok *k = &js->tok[t];
        if ((size_t)k->start + k->len > size || k->next <= t || k->next > js->ntok) fail("token out of range", data, size);
        if (k->type == J_OBJ || k->type == J_ARR) {
            int n = jscan_count(js, (int)t);
            if (n < 0 || (k->type == J_OBJ && jscan_key(js, (int)t, "a", 1) >= (int)js->ntok)) fail("bad container", data, size);
        }
        if (k->type == J_STR) {
            size_t n = json_unescape(jscan_ptr(js, (int)t), jscan_len(js, (int)t), tmp);
            if (n > k->len || !valid_utf8(tmp, n)) fail("unescaped string is not valid UTF-8", data, size);
        }
    }
    free(tmp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct jscan js;
    int rc = jscan_parse(&js, (const char *)data, size);
    if (rc == 0) {
        check_tape(&js, data, size);
        jscan_path(&js, 0, "a.b.0.c", 7);
        jscan_path(&js, 0, "0.1", 3);
    }
    json_error_t err;
    json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    int jansson_ok = j != NULL;
    json_decref(j);
    /* jansson refuses numbers beyond a double or a 64-bit integer; JSON does not. */
    if (!jansson_ok && (json_error_code(&err) == json_error_numeric_overflow ||
                        json_error_code(&err) == json_error_null_byte_in_key)) return 0;
    if (memchr(data, 0, size)) return 0;      /* jansson stops reading at a NUL byte */
    if (jansson_ok != (rc == 0) && max_depth(data, size) <= 512)
        fail(rc == 0 ? "jscan accepted what jansson rejects" : "jscan rejected what jansson accepts", data, size);
    return 0;
}
