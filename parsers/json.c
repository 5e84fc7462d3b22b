/* json: one JSON object per record (CloudTrail, GuardDuty, WAF, Network
 * Firewall, Route 53 Resolver, Security Hub, ...). The record is scanned into
 * a token tape; the normalizer looks up paths in it. An envelope can be
 * unwrapped: EventBridge events keep the finding under "detail". */
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "jscan.h"
#include "parser.h"

struct json_cfg {
    char **unwrap;       /* keys whose object value becomes the root, tried in order */
    int    nunwrap;
};

struct json_state {
    const struct json_cfg *cfg;
    struct jscan js;
};

static void json_free_config(void *p)
{
    struct json_cfg *c = p;
    for (int i = 0; i < c->nunwrap; i++) free(c->unwrap[i]);
    free(c->unwrap);
    free(c);
}

static void *json_compile(const json_t *f, char *err, size_t errlen)
{
    struct json_cfg *c = xcalloc(1, sizeof *c);
    const json_t *u = json_object_get(f, "unwrap");
    c->unwrap = xcalloc(json_array_size(u) + 1, sizeof *c->unwrap);
    size_t i;
    const json_t *e;
    json_array_foreach(u, i, e) {
        if (!json_is_string(e)) {
            snprintf(err, errlen, "json: \"unwrap\" must be an array of key names");
            json_free_config(c);
            return NULL;
        }
        c->unwrap[c->nunwrap++] = xstrdup(json_string_value(e));
    }
    return c;
}

static void *json_open(const void *cfg, const struct stream_info *info)
{
    struct json_state *st = xcalloc(1, sizeof *st);
    st->cfg = cfg;
    jscan_init(&st->js);
    return st;
}

static void json_close(void *p)
{
    struct json_state *st = p;
    jscan_free(&st->js);
    free(st);
}

static int json_parse(void *p, const char *s, size_t n, struct record *rec)
{
    struct json_state *st = p;
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
    if (i == n) return record_skip(rec, "empty line");
    if (jscan_parse(&st->js, s, n) < 0) return record_fail(rec, "invalid JSON: %s", st->js.err);
    if (st->js.tok[0].type != J_OBJ) return record_fail(rec, "expected a JSON object");
    int root = 0;
    for (int k = 0; k < st->cfg->nunwrap; k++) {
        int t = jscan_key(&st->js, 0, st->cfg->unwrap[k], strlen(st->cfg->unwrap[k]));
        if (t >= 0 && st->js.tok[t].type == J_OBJ) { root = t; break; }
    }
    rec->json = &st->js;
    rec->json_root = root;
    return PARSE_OK;
}

const struct parser parser_json = {
    .name = "json",
    .compile = json_compile,
    .free_config = json_free_config,
    .open = json_open,
    .parse = json_parse,
    .close = json_close,
};
