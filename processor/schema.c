/* schema: load and compile schemas/<type>.json (see schema.h).
 *
 * Everything a schema says is checked here, at start-up, with an error that
 * names the file and the key: a target that is neither ECS nor under the
 * vendor namespace, a constant outside ECS's allowed values, a bad regex, an
 * unknown parser or op. Nothing is re-validated per record. */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "compose.h"
#include "jpath.h"
#include "ops.h"
#include "schema.h"
#include "useragent.h"

struct compile_ctx {
    struct schema *sc;
    const char *origin;
    char *err;
    size_t errlen;
    int failed;
    int refcap;
    const json_t *root;    /* the schema's JSON */
};

static void cerr(struct compile_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cerr(struct compile_ctx *c, const char *fmt, ...)
{
    if (c->failed) return;
    c->failed = 1;
    int n = snprintf(c->err, c->errlen, "%s: ", c->origin);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < c->errlen) vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

static char *opt_str(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

static struct src_ref make_ref(struct compile_ctx *c, const char *path)
{
    struct src_ref r = { xstrdup(path), strlen(path), c->sc->nrefs++, 0 };
    char perr[96];
    r.sel = jpath_has_selector(path, r.len);
    if (r.sel && jpath_check(path, r.len, perr, sizeof perr) < 0) cerr(c, "source path \"%s\": %s", path, perr);
    return r;
}

/* A string or an array of strings -> src_refs. */
static struct src_ref *compile_refs(struct compile_ctx *c, const json_t *v, int *count, const char *what)
{
    *count = 0;
    if (!v) return NULL;
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    struct src_ref *refs = xcalloc(n, sizeof *refs);
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_is_array(v) ? json_array_get(v, i) : v;
        if (!json_is_string(e)) { cerr(c, "%s: expected a string or an array of strings", what); break; }
        refs[(*count)++] = make_ref(c, json_string_value(e));
    }
    return refs;
}

static void compile_patterns(struct compile_ctx *c, const json_t *v, struct pattern_list *pl, const char *what)
{
    memset(pl, 0, sizeof *pl);
    if (!v) return;
    if (!json_is_array(v)) { cerr(c, "detect.%s: expected an array of regular expressions", what); return; }
    pl->re = xcalloc(json_array_size(v) + 1, sizeof *pl->re);
    pl->src = xcalloc(json_array_size(v) + 1, sizeof *pl->src);
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e) {
        const char *s = json_string_value(e);
        if (!s || regcomp(&pl->re[pl->n], s, REG_EXTENDED | REG_NOSUB) != 0) {
            cerr(c, "detect.%s[%zu]: invalid POSIX extended regular expression", what, i);
            return;
        }
        pl->src[pl->n++] = xstrdup(s);
    }
}

static int valid_path(const char *p)
{
    if (!*p || *p == '.') return 0;
    for (; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '@' || (*p == '.' && p[1] && p[1] != '.')))
            return 0;
    return 1;
}

/* source.ip -> source.domain: where a hostname found in an ip field goes. */
static void set_ip_domain(struct field_rule *r, size_t tl)
{
    char alt[256];
    if (tl < 3 || strcmp(r->target + tl - 3, ".ip") != 0 || tl + 4 >= sizeof alt) return;
    snprintf(alt, sizeof alt, "%.*s.domain", (int)(tl - 3), r->target);
    if (!ecs_lookup(alt)) return;
    r->ip_domain = xstrdup(alt);
    doc_path_init(&r->ip_domain_path, r->ip_domain);
}

static void resolve_target(struct compile_ctx *c, struct field_rule *r, const char *type_name)
{
    if (!valid_path(r->target)) {
        cerr(c, "fields.%s: field names may only hold letters, digits, '_', '@' and single dots", r->target);
        return;
    }
    r->ecs = ecs_lookup(r->target);
    size_t tl = strlen(r->target);
    if (r->ecs && r->ecs->type == ECS_IP && strcmp(r->target, "related.ip") != 0) r->related = RELATED_IP;
    else if (tl >= 9 && strcmp(r->target + tl - 9, "user.name") == 0) r->related = RELATED_USER;
    if (strcmp(r->target, "related.ip") == 0) r->related_target = RELATED_IP;
    else if (strcmp(r->target, "related.user") == 0) r->related_target = RELATED_USER;
    if (r->ecs) {
        if (r->ecs->type == ECS_IP) set_ip_domain(r, tl);
        r->allowed = r->ecs->allowed[0] != 0;
        r->type = r->ecs->type;
        r->array = r->ecs->array;
        if (type_name) cerr(c, "fields.%s: \"type\" is only for vendor fields; ECS decides this one", r->target);
        return;
    }
    size_t vl = c->sc->vendor ? strlen(c->sc->vendor) : 0;
    if (strncmp(r->target, "aws.", 4) != 0 && !(vl && strncmp(r->target, c->sc->vendor, vl) == 0)) {
        cerr(c, "fields.%s: not an ECS field and not under the vendor namespace aws.*", r->target);
        return;
    }
    r->type = type_name ? ecs_type_from_name(type_name) : ECS_UNKNOWN;
    if (type_name && r->type == ECS_UNKNOWN) cerr(c, "fields.%s: unknown type \"%s\"", r->target, type_name);
}

static void compile_ops(struct compile_ctx *c, struct field_rule *r, const json_t *ops)
{
    if (!ops) return;
    size_t n = json_is_array(ops) ? json_array_size(ops) : 1;
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_is_array(ops) ? json_array_get(ops, i) : ops;
        const char *name = json_string_value(e);
        int op = name ? op_from_name(name) : -1;
        if (op < 0) { cerr(c, "fields.%s.op: unknown op \"%s\"", r->target, name ? name : "(not a string)"); return; }
        if (r->nops == MAX_OPS) { cerr(c, "fields.%s.op: more than %d ops", r->target, MAX_OPS); return; }
        r->ops[r->nops++] = op;
    }
}

static void check_constant(struct compile_ctx *c, const struct field_rule *r, const char *value)
{
    if (!value || !r->ecs) return;
    const char *sep = r->split && r->split[0] ? strstr(value, r->split) : NULL;
    if (sep) {      /* a list ("split"): each part must be allowed */
        char *head = xstrndup(value, (size_t)(sep - value));
        check_constant(c, r, head);
        free(head);
        check_constant(c, r, sep + strlen(r->split));
        return;
    }
    if (!ecs_value_allowed(r->ecs, value))
        cerr(c, "fields.%s: \"%s\" is not an allowed ECS value (%s)", r->target, value, r->ecs->allowed);
}

static void check_map_values(struct compile_ctx *c, const struct field_rule *r)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)r->map, k, v) {
        if (!json_is_string(v)) { cerr(c, "fields.%s: map values must be strings", r->target); return; }
        check_constant(c, r, json_string_value(v));
    }
}

/* "object": {"data": "Rdata", ...}: the members of one object built per source element. */
static void compile_object(struct compile_ctx *c, struct field_rule *r, const json_t *obj)
{
    if (!json_is_object(obj) || !json_object_size(obj)) {
        cerr(c, "fields.%s: \"object\" must map member names to source paths", r->target);
        return;
    }
    r->sub = xcalloc(json_object_size(obj), sizeof *r->sub);
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        struct sub_field *f = &r->sub[r->nsub++];
        f->key = xstrdup(k);
        const char *path = json_string_value(v);
        f->path = xstrdup(path ? path : "");
        f->len = strlen(f->path);
        f->sel = jpath_has_selector(f->path, f->len);
        char perr[96], full[256];
        if (!path || (f->sel && jpath_check(f->path, f->len, perr, sizeof perr) < 0)) {
            cerr(c, "fields.%s.object.%s: expected a valid source path", r->target, k);
            return;
        }
        snprintf(full, sizeof full, "%s.%s", r->target, k);
        const struct ecs_field *e = ecs_lookup(full);
        if (r->ecs && !e) { cerr(c, "fields.%s.object: %s is not an ECS field", r->target, full); return; }
        f->type = e ? e->type : ECS_UNKNOWN;
    }
    if (r->ecs && r->type != ECS_OBJECT && r->type != ECS_NESTED)
        cerr(c, "fields.%s: \"object\" needs an ECS object field", r->target);
}

/* Is path the target of a rule (or a static) of the schema? */
static int schema_targets(const struct compile_ctx *c, const char *path)
{
    return json_object_get(json_object_get(c->root, "fields"), path) ||
           json_object_get(json_object_get(c->root, "static"), path);
}

/* "inputs": {"<composer's path>": "<field of this schema>", ...}: where this
 * schema keeps what the composer reads. Every key must be one of its inputs. */
static void compile_inputs(struct compile_ctx *c, struct field_rule *r, const json_t *over,
                           const char *const *paths, int n)
{
    if (over && !json_is_object(over)) { cerr(c, "fields.%s.inputs: expected an object", r->target); return; }
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)over, k, v) {
        int i = 0;
        while (i < n && strcmp(paths[i], k) != 0) i++;
        if (i == n) { cerr(c, "fields.%s.inputs.%s: the composer reads no such input", r->target, k); return; }
        const char *p = json_string_value(v);
        if (!p || !schema_targets(c, p)) {
            cerr(c, "fields.%s.inputs.%s: expected a field this schema fills", r->target, k);
            return;
        }
        free(r->input_paths[i]);
        r->input_paths[i] = xstrdup(p);
    }
}

/* "compose": "url": a value built from fields other rules add (compose.h). */
static void compile_compose(struct compile_ctx *c, struct field_rule *r, const json_t *spec)
{
    const char *name = json_string_value(json_object_get(spec, "compose"));
    r->compose = name ? compose_from_name(name) : COMPOSE_NONE;
    if (r->compose == COMPOSE_NONE) { cerr(c, "fields.%s.compose: unknown composer \"%s\"", r->target, name ? name : "?"); return; }
    if (r->value) cerr(c, "fields.%s: \"compose\" takes no \"value\"", r->target);
    const char *const *paths;
    int n = compose_inputs(r->compose, &paths);
    r->ninputs = n;
    r->input_paths = xcalloc((size_t)n, sizeof *r->input_paths);
    for (int i = 0; i < n; i++) r->input_paths[i] = xstrdup(paths[i]);
    compile_inputs(c, r, json_object_get(spec, "inputs"), paths, n);
    r->input_slots = xcalloc((size_t)n, sizeof *r->input_slots);
}

/* The rule keys added for JSON logs: map_prefix, map_default null, array, "type": "json". */
static const char *compile_json_options(struct compile_ctx *c, struct field_rule *r, const json_t *spec,
                                        const char *type_name)
{
    r->map_prefix = json_is_true(json_object_get(spec, "map_prefix"));
    r->map_drop = json_is_null(json_object_get(spec, "map_default"));
    int is_ecs = ecs_lookup(r->target) != NULL;
    const json_t *arr = json_object_get(spec, "array");
    if (arr && is_ecs) cerr(c, "fields.%s: \"array\" is only for vendor fields; ECS decides this one", r->target);
    r->array = json_is_true(arr);
    if (!type_name || strcmp(type_name, "json") != 0) return type_name;
    if (is_ecs) cerr(c, "fields.%s: \"type\": \"json\" is only for vendor fields", r->target);
    r->json_text = 1;
    return "flattened";     /* any application's keys: one mapping whatever they hold */
}

static void compile_rule(struct compile_ctx *c, struct field_rule *r, const char *target, const json_t *spec)
{
    memset(r, 0, sizeof *r);
    r->target = xstrdup(target);
    doc_path_init(&r->tpath, r->target);
    r->ts_format = TS_AUTO;
    const char *type_name = NULL;
    if (json_is_string(spec) || json_is_array(spec)) {
        r->from = compile_refs(c, spec, &r->nfrom, target);
    } else if (json_is_object(spec)) {
        r->from = compile_refs(c, json_object_get(spec, "from"), &r->nfrom, target);
        r->all = json_is_true(json_object_get(spec, "all"));
        r->split = opt_str(spec, "split");
        if (r->split && !r->split[0]) cerr(c, "fields.%s.split: the separator must not be empty", target);
        r->map = json_object_get(spec, "map");
        if (r->map) json_incref(r->map);
        r->map_default = opt_str(spec, "map_default");
        r->value = opt_str(spec, "value");
        r->if_present = opt_str(spec, "if_present");
        r->if_absent = opt_str(spec, "if_absent");
        type_name = compile_json_options(c, r, spec, json_string_value(json_object_get(spec, "type")));
        const char *fmt = json_string_value(json_object_get(spec, "format"));
        if (fmt && (int)(r->ts_format = ts_format_from_name(fmt)) < 0) cerr(c, "fields.%s: unknown time format %s", target, fmt);
        compile_ops(c, r, json_object_get(spec, "op"));
        if (json_object_get(spec, "compose")) compile_compose(c, r, spec);
        else if (json_object_get(spec, "inputs")) cerr(c, "fields.%s.inputs: only a \"compose\" rule has inputs", target);
    } else {
        cerr(c, "fields.%s: expected a source path, a list of them, or an object", target);
        return;
    }
    resolve_target(c, r, type_name);
    if (json_is_object(spec) && json_object_get(spec, "object")) compile_object(c, r, json_object_get(spec, "object"));
    if (!r->nfrom && !r->value && !r->compose) cerr(c, "fields.%s: needs \"from\", \"value\" or \"compose\"", target);
    check_constant(c, r, r->value);
    check_constant(c, r, r->if_present);
    check_constant(c, r, r->if_absent);
    check_constant(c, r, r->map_default);
    if (r->map) check_map_values(c, r);
}

static void add_static(struct compile_ctx *c, const char *target, const json_t *v)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_is_array(v) ? json_array_get(v, i) : v;
        if (!json_is_string(e)) { cerr(c, "static.%s: values must be strings", target); return; }
        json_t *spec = json_pack("{s:s}", "value", json_string_value(e));
        struct schema *sc = c->sc;
        sc->rules = xrealloc(sc->rules, (size_t)(sc->nrules + 1) * sizeof *sc->rules);
        int failed = c->failed;
        compile_rule(c, &sc->rules[sc->nrules++], target, spec);
        json_decref(spec);
        /* compile_rule names the key "fields.<target>"; this one is "static.<target>" (same length). */
        size_t at = strlen(c->origin) + 2;
        if (!failed && c->failed && c->errlen > at + 7 && strncmp(c->err + at, "fields.", 7) == 0)
            memcpy(c->err + at, "static.", 7);
    }
}

/* Composed rules read what the others add: they come last. */
static int rule_before(const struct field_rule *a, const struct field_rule *b)
{
    if (!a->compose != !b->compose) return !a->compose;
    return strcmp(a->target, b->target) < 0;
}

/* Documents are emitted sorted by path; adding fields in that order makes
 * doc_emit's sort a single pass. Stable, so for one target the "fields"
 * rules still come before the "static" defaults. */
static void sort_rules(struct schema *sc)
{
    for (int i = 1; i < sc->nrules; i++) {
        struct field_rule x = sc->rules[i];
        int j = i - 1;
        while (j >= 0 && rule_before(&x, &sc->rules[j])) { sc->rules[j + 1] = sc->rules[j]; j--; }
        sc->rules[j + 1] = x;
    }
}

/* The slot of the rules targeting path: theirs if one has one, else a new
 * one for them all; -1 when no rule targets path. */
static int slot_of(struct schema *sc, const char *path)
{
    int slot = -1, found = 0;
    for (int i = 0; i < sc->nrules; i++)
        if (strcmp(sc->rules[i].target, path) == 0) {
            found = 1;
            if (sc->rules[i].slot >= 0) slot = sc->rules[i].slot;
        }
    if (!found) return -1;
    if (slot < 0) slot = sc->nslots++;
    for (int i = 0; i < sc->nrules; i++)
        if (strcmp(sc->rules[i].target, path) == 0) sc->rules[i].slot = slot;
    return slot;
}

/* Composed rules read their inputs from slots the rules targeting them fill. */
static void assign_slots(struct schema *sc)
{
    for (int i = 0; i < sc->nrules; i++) sc->rules[i].slot = -1;
    for (int i = 0; i < sc->nrules; i++) {
        struct field_rule *r = &sc->rules[i];
        for (int k = 0; r->compose && k < r->ninputs; k++) r->input_slots[k] = slot_of(sc, r->input_paths[k]);
    }
}

static void compile_fields(struct compile_ctx *c, const json_t *root)
{
    const json_t *fields = json_object_get(root, "fields");
    const json_t *statics = json_object_get(root, "static");
    struct schema *sc = c->sc;
    sc->rules = xcalloc(json_object_size(fields) + 1, sizeof *sc->rules);
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)fields, k, v) compile_rule(c, &sc->rules[sc->nrules++], k, v);
    json_object_foreach((json_t *)statics, k, v) add_static(c, k, v);
    sort_rules(sc);
    assign_slots(sc);
}

static void compile_timestamp(struct compile_ctx *c, const json_t *ts)
{
    struct schema *sc = c->sc;
    sc->ts_format = TS_AUTO;
    if (!ts) { cerr(c, "timestamp: missing"); return; }
    sc->ts_from = compile_refs(c, json_object_get(ts, "from"), &sc->nts, "timestamp.from");
    sc->ts_join = opt_str(ts, "join");
    sc->ts_delivery = json_is_true(json_object_get(ts, "delivery"));
    const char *fmt = json_string_value(json_object_get(ts, "format"));
    if (fmt && (int)(sc->ts_format = ts_format_from_name(fmt)) < 0) cerr(c, "timestamp.format: unknown %s", fmt);
    const char *tz = json_string_value(json_object_get(ts, "tz"));
    if (tz && tz_parse_offset(tz, &sc->ts_tz) < 0) cerr(c, "timestamp.tz: expected +hh:mm, got %s", tz);
    if (!sc->nts && !sc->ts_delivery) cerr(c, "timestamp: needs \"from\" or \"delivery\": true");
}

static void compile_index(struct compile_ctx *c, const json_t *ix)
{
    struct schema *sc = c->sc;
    sc->index_name = opt_str(ix, "name");
    if (!sc->index_name) { cerr(c, "index.name: missing"); return; }
    const char *rot = json_string_value(json_object_get(ix, "rotation"));
    sc->rotation = rotation_from_name(rot ? rot : "monthly");
    if (sc->rotation < 0) cerr(c, "index.rotation: expected daily, weekly, monthly, yearly or none");
    const char *tz = json_string_value(json_object_get(ix, "tz"));
    if (tz && tz_parse_offset(tz, &sc->index_tz) < 0) cerr(c, "index.tz: expected +hh:mm");
}

static void compile_framing(struct compile_ctx *c, const json_t *root)
{
    struct schema *sc = c->sc;
    const char *fr = json_string_value(json_object_get(root, "framing"));
    sc->json_split = opt_str(root, "json_split");
    sc->json_explode = opt_str(root, "json_explode");
    if (!fr || strcmp(fr, "lines") == 0) sc->framing = FRAME_LINES;
    else if (strcmp(fr, "json") == 0) sc->framing = FRAME_JSON;
    else if (strcmp(fr, "multiline") == 0) {
        sc->framing = FRAME_MULTILINE;
        const char *fl = json_string_value(json_object_get(root, "first_line"));
        if (!fl || regcomp(&sc->first_line, fl, REG_EXTENDED | REG_NOSUB) != 0)
            cerr(c, "first_line: a valid POSIX extended regex is required for multiline framing");
        else sc->has_first_line = 1;
    } else cerr(c, "framing: expected lines, json or multiline");
}

static void compile_parser(struct compile_ctx *c, const json_t *format)
{
    const char *name = json_string_value(json_object_get(format, "parser"));
    c->sc->parser = name ? parser_find(name) : NULL;
    if (!c->sc->parser) { cerr(c, "format.parser: unknown parser %s", name ? name : "(missing)"); return; }
    char perr[256] = "";
    c->sc->parser_cfg = c->sc->parser->compile(format, perr, sizeof perr);
    if (!c->sc->parser_cfg) cerr(c, "format: %s", perr);
}

static void compile_geoip(struct compile_ctx *c, const json_t *g)
{
    struct schema *sc = c->sc;
    sc->geoip = xcalloc(json_array_size(g) + 1, sizeof *sc->geoip);
    sc->geoip_paths = xcalloc(json_array_size(g) + 1, sizeof *sc->geoip_paths);
    size_t i;
    const json_t *e;
    json_array_foreach(g, i, e) {
        const char *p = json_string_value(e);
        char ipfield[128];
        snprintf(ipfield, sizeof ipfield, "%s.ip", p ? p : "");
        if (!p || !ecs_lookup(ipfield)) { cerr(c, "geoip[%zu]: %s.ip is not an ECS ip field", i, p ? p : "?"); return; }
        struct geoip_paths *gp = &sc->geoip_paths[sc->ngeoip];
        gp->ip = xstrdup(ipfield);
        gp->location = xmalloc(strlen(p) + sizeof ".geo.location");
        strcat(strcpy(gp->location, p), ".geo.location");
        doc_path_init(&gp->ip_path, gp->ip);
        doc_path_init(&gp->location_path, gp->location);
        sc->geoip[sc->ngeoip++] = xstrdup(p);
    }
}

/* "user_agent": true enriches user_agent.original: a rule must fill it. */
static void compile_user_agent(struct compile_ctx *c, const json_t *v)
{
    struct schema *sc = c->sc;
    if (v && !json_is_boolean(v)) { cerr(c, "user_agent: expected true or false"); return; }
    sc->user_agent = json_is_true(v);
    for (int i = 0; sc->user_agent && i < sc->nrules; i++)
        if (strcmp(sc->rules[i].target, "user_agent.original") == 0) return;
    if (sc->user_agent) cerr(c, "user_agent: true needs a rule for user_agent.original");
}

/* Collect every src_ref into sc->refs so bindings can be indexed by id. */
static void index_refs(struct schema *sc)
{
    sc->refs = xcalloc((size_t)sc->nrefs + 1, sizeof *sc->refs);
    for (int i = 0; i < sc->nrules; i++)
        for (int j = 0; j < sc->rules[i].nfrom; j++) sc->refs[sc->rules[i].from[j].id] = &sc->rules[i].from[j];
    for (int i = 0; i < sc->nts; i++) sc->refs[sc->ts_from[i].id] = &sc->ts_from[i];
    for (int i = 0; i < sc->nid; i++) sc->refs[sc->id_from[i].id] = &sc->id_from[i];
    for (int i = 0; i < sc->nrequire; i++) sc->refs[sc->require[i].id] = &sc->require[i];
    if (sc->id_suffix) sc->refs[sc->id_suffix->id] = sc->id_suffix;
}

struct schema *schema_compile(const json_t *root, const char *origin, char *err, size_t errlen)
{
    struct schema *sc = xcalloc(1, sizeof *sc);
    struct compile_ctx c = { sc, origin, err, errlen, 0, 0, root };
    sc->name = opt_str(root, "name");
    if (!sc->name) { cerr(&c, "name: missing"); goto out; }
    sc->description = opt_str(root, "description");
    sc->module = opt_str(root, "module");
    sc->dataset = opt_str(root, "dataset");
    sc->vendor = opt_str(root, "vendor");
    sc->vendor_rest = json_is_true(json_object_get(root, "vendor_rest"));
    const json_t *det = json_object_get(root, "detect");
    compile_patterns(&c, json_object_get(det, "s3_key"), &sc->s3_key, "s3_key");
    compile_patterns(&c, json_object_get(det, "s3_key_ignore"), &sc->s3_key_ignore, "s3_key_ignore");
    compile_patterns(&c, json_object_get(det, "s3_key_skip"), &sc->s3_key_skip, "s3_key_skip");
    compile_patterns(&c, json_object_get(det, "log_group"), &sc->log_group, "log_group");
    compile_framing(&c, root);
    compile_parser(&c, json_object_get(root, "format"));
    compile_fields(&c, root);
    compile_timestamp(&c, json_object_get(root, "timestamp"));
    const json_t *id = json_object_get(root, "doc_id");
    sc->id_from = compile_refs(&c, json_object_get(id, "from"), &sc->nid, "doc_id.from");
    const char *suffix = json_string_value(json_object_get(id, "suffix"));
    if (suffix) { sc->id_suffix = xcalloc(1, sizeof *sc->id_suffix); *sc->id_suffix = make_ref(&c, suffix); }
    sc->require = compile_refs(&c, json_object_get(root, "require"), &sc->nrequire, "require");
    compile_index(&c, json_object_get(root, "index"));
    compile_geoip(&c, json_object_get(root, "geoip"));
    compile_user_agent(&c, json_object_get(root, "user_agent"));
    index_refs(sc);
out:
    if (c.failed) { schema_free(sc); return NULL; }
    return sc;
}

static void free_patterns(struct pattern_list *pl)
{
    for (int i = 0; i < pl->n; i++) { regfree(&pl->re[i]); free(pl->src[i]); }
    free(pl->re);
    free(pl->src);
}

static void free_refs(struct src_ref *r, int n)
{
    for (int i = 0; i < n; i++) free(r[i].path);
    free(r);
}

static void free_rule(struct field_rule *r)
{
    free(r->target);
    free(r->ip_domain);
    free_refs(r->from, r->nfrom);
    free(r->split);
    json_decref(r->map);
    free(r->map_default);
    free(r->value);
    free(r->if_present);
    free(r->if_absent);
    for (int i = 0; i < r->nsub; i++) { free(r->sub[i].key); free(r->sub[i].path); }
    free(r->sub);
    for (int i = 0; i < r->ninputs; i++) free(r->input_paths[i]);
    free(r->input_paths);
    free(r->input_slots);
}

void schema_free(struct schema *sc)
{
    if (!sc) return;
    free(sc->name); free(sc->description); free(sc->module); free(sc->dataset);
    free_patterns(&sc->s3_key); free_patterns(&sc->s3_key_ignore);
    free_patterns(&sc->s3_key_skip); free_patterns(&sc->log_group);
    free(sc->json_split);
    free(sc->json_explode);
    if (sc->has_first_line) regfree(&sc->first_line);
    if (sc->parser && sc->parser_cfg) sc->parser->free_config(sc->parser_cfg);
    for (int i = 0; i < sc->nrules; i++) free_rule(&sc->rules[i]);
    free(sc->rules);
    free_refs(sc->ts_from, sc->nts);
    free(sc->ts_join);
    free_refs(sc->id_from, sc->nid);
    if (sc->id_suffix) free_refs(sc->id_suffix, 1);
    free_refs(sc->require, sc->nrequire);
    free(sc->vendor);
    for (int i = 0; i < sc->ngeoip; i++) {
        free(sc->geoip[i]);
        free(sc->geoip_paths[i].ip);
        free(sc->geoip_paths[i].location);
    }
    free(sc->geoip);
    free(sc->geoip_paths);
    free(sc->index_name);
    free(sc->refs);
    free(sc);
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(struct schema *const *)a)->name, (*(struct schema *const *)b)->name);
}

/* The user agent rules, loaded once for the schemas that ask for them. */
static int attach_user_agent_rules(struct schema_set *set, const char *dir, char *err, size_t errlen)
{
    for (int i = 0; i < set->n; i++) {
        if (!set->v[i]->user_agent) continue;
        if (!set->ua) {
            char path[4096];
            snprintf(path, sizeof path, "%s/enrich/user_agents.json", dir);
            set->ua = ua_rules_load(path, err, errlen);
            if (!set->ua) return -1;
        }
        set->v[i]->ua = set->ua;
    }
    return 0;
}

/* Is name (normalized) an element of the string array arr? */
static int json_has_string(const json_t *arr, const char *name)
{
    size_t i;
    const json_t *e;
    json_array_foreach(arr, i, e) if (json_is_string(e) && strcmp(json_string_value(e), name) == 0) return 1;
    return 0;
}

/* The normalized column names of a choice's list, each a known column and
 * given once; NULL with err otherwise. */
static json_t *chosen_columns(const struct schema_columns *c, const json_t *known, char *err, size_t errlen)
{
    json_t *out = json_array();
    const char *p = c->fields;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char *name = column_name(p, len);
        const char *why = !name[0] ? "empty field name" : !json_has_string(known, name) ? "unknown field"
                        : json_has_string(out, name) ? "repeated field" : NULL;
        if (why) {
            snprintf(err, errlen, "%s: %s \"%.*s\" in \"%s\" (the fields of %s are its format.columns)", c->key, why,
                     (int)len, p, c->fields, c->type);
            free(name);
            json_decref(out);
            return NULL;
        }
        json_array_append_new(out, json_string(name));
        free(name);
        if (!end) return out;
        p = end + 1;
    }
}

/* A timestamp source must be among the chosen columns: without one no record is an event. */
static int has_timestamp(const json_t *root, const json_t *cols)
{
    const json_t *from = json_object_get(json_object_get(root, "timestamp"), "from");
    size_t n = json_is_array(from) ? json_array_size(from) : 1;
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_is_array(from) ? json_array_get(from, i) : from;
        if (json_is_string(e) && json_has_string(cols, json_string_value(e))) return 1;
    }
    return 0;
}

/* Apply the choice for root's type, if there is one; marks it used. */
static int apply_columns(json_t *root, const struct schema_columns *cols, int n, int *used, char *err, size_t errlen)
{
    const char *name = json_string_value(json_object_get(root, "name"));
    json_t *format = json_object_get(root, "format");
    for (int i = 0; name && i < n; i++) {
        if (!cols[i].fields || !cols[i].fields[0] || strcmp(cols[i].type, name) != 0) continue;
        used[i] = 1;
        json_t *chosen = chosen_columns(&cols[i], json_object_get(format, "columns"), err, errlen);
        if (!chosen) return -1;
        if (!has_timestamp(root, chosen)) {
            snprintf(err, errlen, "%s: \"%s\" has no timestamp field (%s needs one of its timestamp.from)",
                     cols[i].key, cols[i].fields, name);
            json_decref(chosen);
            return -1;
        }
        json_object_set_new(format, "columns", chosen);
    }
    return 0;
}

int schema_set_load(struct schema_set *set, const char *dir, char *err, size_t errlen)
{
    return schema_set_load_columns(set, dir, NULL, 0, err, errlen);
}

/* One schema file, with the column choices applied; NULL with err. */
static struct schema *load_file(const char *path, const struct schema_columns *cols, int n, int *used, char *err,
                                size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) {
        snprintf(err, errlen, "%s:%d: %s", path, jerr.line, jerr.text);
        return NULL;
    }
    struct schema *sc = apply_columns(root, cols, n, used, err, errlen) == 0 ? schema_compile(root, path, err, errlen) : NULL;
    json_decref(root);
    return sc;
}

/* A choice for a type the directory has no schema for is a mistake too. */
static int choices_used(const struct schema_columns *cols, int n, const int *used, const char *dir, char *err,
                        size_t errlen)
{
    for (int i = 0; i < n; i++)
        if (cols[i].fields && cols[i].fields[0] && !used[i]) {
            snprintf(err, errlen, "%s: \"%s\" is for %s, which %s has no schema for", cols[i].key, cols[i].fields,
                     cols[i].type, dir);
            return -1;
        }
    return 0;
}

int schema_set_load_columns(struct schema_set *set, const char *dir, const struct schema_columns *cols, int n,
                            char *err, size_t errlen)
{
    memset(set, 0, sizeof *set);
    DIR *d = opendir(dir);
    if (!d) { snprintf(err, errlen, "cannot open schema directory %s", dir); return -1; }
    int *used = xcalloc((size_t)n + 1, sizeof *used);
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) && rc == 0) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct schema *sc = load_file(path, cols, n, used, err, errlen);
        if (!sc) { rc = -1; break; }
        set->v = xrealloc(set->v, (size_t)(set->n + 1) * sizeof *set->v);
        set->v[set->n++] = sc;
    }
    closedir(d);
    if (rc == 0 && set->n == 0) { snprintf(err, errlen, "no schemas found in %s", dir); rc = -1; }
    if (rc == 0) rc = choices_used(cols, n, used, dir, err, errlen);
    free(used);
    if (rc == 0) rc = attach_user_agent_rules(set, dir, err, errlen);
    if (rc < 0) { schema_set_free(set); return -1; }
    qsort(set->v, (size_t)set->n, sizeof *set->v, by_name);
    return 0;
}

void schema_set_free(struct schema_set *set)
{
    for (int i = 0; i < set->n; i++) schema_free(set->v[i]);
    free(set->v);
    ua_rules_free(set->ua);
    memset(set, 0, sizeof *set);
}

const struct schema *schema_find(const struct schema_set *set, const char *name)
{
    for (int i = 0; i < set->n; i++)
        if (strcmp(set->v[i]->name, name) == 0) return set->v[i];
    return NULL;
}

static int matches(const struct pattern_list *pl, const char *s)
{
    for (int i = 0; i < pl->n; i++)
        if (regexec(&pl->re[i], s, 0, NULL, 0) == 0) return 1;
    return 0;
}

/* Several types can match one key ("/Linux/" and "/Linux/.../secure"): the
 * most specific pattern -- the longest -- decides. */
static const struct schema *best_match(const struct schema_set *set, const char *s, int use_s3, int *skip)
{
    const struct schema *best = NULL;
    size_t best_len = 0;
    for (int i = 0; i < set->n; i++) {
        const struct schema *sc = set->v[i];
        const struct pattern_list *pl = use_s3 ? &sc->s3_key : &sc->log_group;
        if (use_s3 && matches(&sc->s3_key_skip, s)) { if (skip) *skip = 1; return sc; }
        for (int k = 0; k < pl->n; k++) {
            if (regexec(&pl->re[k], s, 0, NULL, 0) != 0) continue;
            if (use_s3 && matches(&sc->s3_key_ignore, s)) break;
            size_t l = strlen(pl->src[k]);
            if (!best || l > best_len) { best = sc; best_len = l; }
        }
    }
    return best;
}

const struct schema *schema_detect_s3_key(const struct schema_set *set, const char *key, int *skip)
{
    if (skip) *skip = 0;
    return best_match(set, key, 1, skip);
}

const struct schema *schema_detect_log_group(const struct schema_set *set, const char *group)
{
    return best_match(set, group, 0, NULL);
}
