/* libFuzzer target: ua_parse with the shipped rules over any bytes. Every
 * field must lie inside the result's text and within its size, versions are
 * digits and dots, a field marked plain needs no escaping, and the document
 * ua_enrich builds (through the cache, twice) must emit as valid JSON with
 * the same fields both times. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "useragent.h"

static struct ua_rules *rules;
static struct ua_cache *cache;

static void load_rules(void)
{
    char err[512];
    rules = ua_rules_load(SIEMPROC_SCHEMA_DIR "/enrich/user_agents.json", err, sizeof err);
    if (!rules) { fprintf(stderr, "fuzz_useragent: %s\n", err); abort(); }
}

static void check_result(const struct ua_result *r)
{
    if (r->used > UA_TEXT_MAX) abort();
    if (!r->len[UA_NAME] || !r->len[UA_DEVICE]) abort();      /* "Other" at least */
    for (int f = 0; f < UA_NFIELDS; f++) {
        if (!r->len[f]) continue;
        if (r->off[f] + r->len[f] > r->used) abort();
        const char *p = r->text + r->off[f];
        for (size_t i = 0; r->plain[f] && i < r->len[f]; i++)
            if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7e || p[i] == '"' || p[i] == '\\') abort();
    }
    static const enum ua_field versions[] = { UA_VERSION, UA_OS_KERNEL };
    for (size_t k = 0; k < sizeof versions / sizeof versions[0]; k++) {
        enum ua_field f = versions[k];
        const char *p = r->text + r->off[f];
        if (r->len[f] > 31 || (r->len[f] && (p[0] < '0' || p[0] > '9' || p[r->len[f] - 1] == '.'))) abort();
        for (size_t i = 0; i < r->len[f]; i++)
            if ((p[i] < '0' || p[i] > '9') && p[i] != '.') abort();
    }
}

/* The document of s with its user_agent.* fields, as JSON text. */
static json_t *enriched(struct doc *d, const char *s, size_t n, buf_t *out)
{
    doc_reset(d);
    doc_add(d, "user_agent.original", DV_STR, 0, s, n);
    ua_enrich(rules, &cache, d);
    buf_reset(out);
    doc_emit(d, out);
    json_error_t je;
    json_t *j = json_loadb(out->data, out->len, JSON_ALLOW_NUL, &je);     /* "\u0000" is valid JSON */
    if (!j) { fprintf(stderr, "fuzz_useragent: invalid JSON: %s\n%.*s\n", je.text, (int)out->len, out->data); abort(); }
    return j;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!rules) load_rules();
    const char *s = (const char *)data;
    struct ua_result r;
    if (ua_parse(rules, s, size, &r) == 0) check_result(&r);
    struct doc d;
    buf_t out;
    doc_init(&d);
    buf_init(&out);
    json_t *a = enriched(&d, s, size, &out), *b = enriched(&d, s, size, &out);
    if (!json_equal(a, b)) abort();
    json_decref(a);
    json_decref(b);
    buf_free(&out);
    doc_free(&d);
    return 0;
}
