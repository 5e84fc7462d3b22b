/* fuzz_jpath: libFuzzer target for jpath (selectors over a jscan tape) and
 * the jvalue builders. Input: a path, a newline, then JSON text. The path is
 * checked and walked whether or not jpath_check accepts it (the walker must
 * be safe on any path); every match must be a token of the tape; a built
 * object, a geo point and a one-line copy must all be valid JSON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "jpath.h"
#include "jvalue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct jscan js, scratch;

/* Anything jvalue returns must parse again as JSON. */
static void must_parse(const char *p, size_t n)
{
    if (jscan_parse(&scratch, p, n) < 0) abort();
}

static void build_values(int node, arena_t *a, buf_t *tmp)
{
    static const struct sub_field sub[] = {
        { "data", "Rdata", 5, 0, ECS_KEYWORD }, { "ttl", "TTL", 3, 0, ECS_LONG },
        { "score", "a[k=v].b", 8, 1, ECS_FLOAT }, { "raw", "x", 1, 0, ECS_UNKNOWN },
    };
    const char *out;
    size_t n;
    if (js.tok[node].type != J_OBJ) return;
    if (jv_build_object(&js, node, sub, 4, tmp, a, &out, &n) == 0) must_parse(out, n);
    const char *text = jscan_ptr(&js, node);
    n = jscan_len(&js, node);
    if (jv_geo_point(&scratch, text, n, a, &out, &n) == 0) must_parse(out, n);
    n = jscan_len(&js, node);
    out = jv_one_line(text, &n, a);
    if (memchr(out, '\n', n)) abort();
    must_parse(out, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *nl = memchr(data, '\n', size);
    if (!nl) return 0;
    size_t plen = (size_t)(nl - (const char *)data);
    /* Exact-size copies so ASan flags any read beyond either part. */
    char *path = malloc(plen ? plen : 1), *text = malloc(size - plen);
    if (!path || !text) { free(path); free(text); return 0; }
    memcpy(path, data, plen);
    memcpy(text, nl + 1, size - plen - 1);
    char err[96];
    (void)jpath_check(path, plen, err, sizeof err);
    if (jscan_parse(&js, text, size - plen - 1) == 0) {
        int tok[64];
        int n = jpath_all(&js, 0, path, plen, tok, 64);
        int first = jpath_first(&js, 0, path, plen);
        if ((n > 0) != (first >= 0) || (n > 0 && tok[0] != first)) abort();
        for (int i = 0; i < n; i++) if (tok[i] < 0 || (uint32_t)tok[i] >= js.ntok) abort();
        arena_t a;
        buf_t tmp;
        arena_init(&a);
        buf_init(&tmp);
        build_values(0, &a, &tmp);
        for (int i = 0; i < n; i++) build_values(tok[i], &a, &tmp);
        buf_free(&tmp);
        arena_free(&a);
    }
    free(path);
    free(text);
    return 0;
}
