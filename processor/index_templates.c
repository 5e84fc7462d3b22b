/* index_templates.c - index templates and lifecycle policies from the
 * schemas and the ECS table (see index_templates.h).
 * Owns: the JSON it builds (jansson; every json_t returned is a new
 * reference for the caller). Must never: contact a cluster. */
#include "index_templates.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define IGNORE_ABOVE 1024
#define ECS_VERSION "9.4.0"

/* Field sets the engine writes into every document (normalize.c):
 * @timestamp, event.ingested/module/dataset/original, ecs.version,
 * cloud.provider/account.id/region, related.ip/user. */
static const char *const engine_fieldsets[] = {"@timestamp", "event", "ecs", "cloud", "related"};

/* ---- groups ---------------------------------------------------------------- */

static struct tmpl_group *find_group(struct tmpl_groups *g, const char *index)
{
    for (int i = 0; i < g->n; i++)
        if (!strcmp(g->v[i].index, index))
            return &g->v[i];
    return NULL;
}

static struct tmpl_group *add_group(struct tmpl_groups *g, const char *index, bool rollover)
{
    g->v = xrealloc(g->v, (size_t)(g->n + 1) * sizeof *g->v);
    struct tmpl_group *n = &g->v[g->n++];
    *n = (struct tmpl_group){.index = xstrdup(index), .rollover = rollover};
    return n;
}

int tmpl_group_schemas(const struct schema_set *set, const char *index_prefix, struct tmpl_groups *out,
                       char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < set->n; i++) {
        const struct schema *sc = set->v[i];
        char name[256];
        snprintf(name, sizeof name, "%s%s", index_prefix ? index_prefix : "", sc->index_name);
        bool rollover = sc->rotation == ROT_NONE;
        struct tmpl_group *g = find_group(out, name);
        if (!g)
            g = add_group(out, name, rollover);
        if (g->rollover != rollover) {
            snprintf(err, errlen, "log types %s and %s write to index %s but only one rotates by time",
                     g->sc[0]->name, sc->name, g->index);
            tmpl_groups_free(out);
            return -1;
        }
        g->sc = xrealloc(g->sc, (size_t)(g->n + 1) * sizeof *g->sc);
        g->sc[g->n++] = sc;
    }
    return 0;
}

void tmpl_groups_free(struct tmpl_groups *g)
{
    for (int i = 0; i < g->n; i++) {
        free(g->v[i].index);
        free(g->v[i].sc);
    }
    free(g->v);
    memset(g, 0, sizeof *g);
}

void tmpl_template_name(const struct tmpl_group *g, char *out, size_t n)
{
    snprintf(out, n, "siemproc-%s", g->index);
}

/* Date suffixes (2026-11, 2026-w48) and rollover generations (000001) alike. */
void tmpl_index_pattern(const struct tmpl_group *g, char *out, size_t n)
{
    snprintf(out, n, "%s-*", g->index);
}

/* ---- field types ------------------------------------------------------------ */

static json_t *flattened_mapping(const struct tmpl_flavor *f)
{
    if (f->elasticsearch)
        return json_pack("{s:s}", "type", "flattened");
    if (f->serverless || f->major > 2 || (f->major == 2 && f->minor >= 7))
        return json_pack("{s:s}", "type", "flat_object");
    return json_pack("{s:s, s:b}", "type", "object", "enabled", 0); /* kept in _source, not indexed */
}

json_t *tmpl_type_mapping(enum ecs_type t, const struct tmpl_flavor *f)
{
    switch (t) {
    case ECS_TEXT: return json_pack("{s:s}", "type", "text");
    case ECS_LONG: return json_pack("{s:s}", "type", "long");
    case ECS_FLOAT: return json_pack("{s:s}", "type", "float");
    case ECS_DATE: return json_pack("{s:s}", "type", "date");
    case ECS_IP: return json_pack("{s:s}", "type", "ip");
    case ECS_BOOLEAN: return json_pack("{s:s}", "type", "boolean");
    case ECS_GEO_POINT: return json_pack("{s:s}", "type", "geo_point");
    case ECS_OBJECT: return json_pack("{s:s}", "type", "object");
    case ECS_NESTED: return json_pack("{s:s}", "type", "nested");
    case ECS_FLATTENED: return flattened_mapping(f);
    case ECS_KEYWORD:
    case ECS_UNKNOWN:
    default: return json_pack("{s:s, s:i}", "type", "keyword", "ignore_above", IGNORE_ABOVE);
    }
}

/* ---- the properties tree ------------------------------------------------------ */

static bool is_container(const json_t *node)
{
    const char *t = json_string_value(json_object_get(node, "type"));
    return !t || !strcmp(t, "object") || !strcmp(t, "nested");
}

/* The "properties" object under props[seg], created (as an object) if missing. */
static json_t *child_props(json_t *props, const char *seg, char *err, size_t errlen, const char *path)
{
    json_t *node = json_object_get(props, seg);
    if (!node) {
        node = json_object();
        json_object_set_new(props, seg, node);
    }
    if (!is_container(node)) {
        snprintf(err, errlen, "%s: %s is a %s and cannot hold fields", path, seg,
                 json_string_value(json_object_get(node, "type")));
        return NULL;
    }
    json_t *p = json_object_get(node, "properties");
    if (!p) {
        p = json_object();
        json_object_set_new(node, "properties", p);
    }
    return p;
}

/* Set the leaf; an existing identical leaf or a container gaining its type is fine. */
static int put_leaf(json_t *props, const char *seg, json_t *leaf, const char *path, char *err, size_t errlen)
{
    json_t *old = json_object_get(props, seg);
    if (!old) {
        json_object_set(props, seg, leaf);
        return 0;
    }
    json_t *old_props = json_object_get(old, "properties");
    if (old_props && is_container(leaf)) {
        json_object_set(old, "type", json_object_get(leaf, "type"));
        return 0;
    }
    if (json_equal(old, leaf))
        return 0;
    snprintf(err, errlen, "%s: declared as %s and as %s", path,
             json_string_value(json_object_get(old, "type")), json_string_value(json_object_get(leaf, "type")));
    return -1;
}

/* props[a][b][c] = leaf for path "a.b.c". Takes the leaf reference. */
static int put_path(json_t *props, const char *path, json_t *leaf, char *err, size_t errlen)
{
    char *copy = xstrdup(path), *save = NULL, *seg = strtok_r(copy, ".", &save), *next;
    int rc = 0;
    while (rc == 0 && seg && (next = strtok_r(NULL, ".", &save)) != NULL) {
        props = child_props(props, seg, err, errlen, path);
        rc = props ? 0 : -1;
        seg = next;
    }
    if (rc == 0 && seg)
        rc = put_leaf(props, seg, leaf, path, err, errlen);
    json_decref(leaf);
    free(copy);
    return rc;
}

struct fieldsets {
    char **v;
    int n;
};

static void fieldset_add(struct fieldsets *fs, const char *path)
{
    size_t len = strcspn(path, ".");
    for (int i = 0; i < fs->n; i++)
        if (strlen(fs->v[i]) == len && !strncmp(fs->v[i], path, len))
            return;
    fs->v = xrealloc(fs->v, (size_t)(fs->n + 1) * sizeof *fs->v);
    fs->v[fs->n++] = xstrndup(path, len);
}

static bool fieldset_has(const struct fieldsets *fs, const char *path)
{
    size_t len = strcspn(path, ".");
    for (int i = 0; i < fs->n; i++)
        if (strlen(fs->v[i]) == len && !strncmp(fs->v[i], path, len))
            return true;
    return false;
}

static void fieldsets_free(struct fieldsets *fs)
{
    for (int i = 0; i < fs->n; i++)
        free(fs->v[i]);
    free(fs->v);
}

static void collect_fieldsets(const struct tmpl_group *g, struct fieldsets *fs)
{
    for (size_t i = 0; i < sizeof engine_fieldsets / sizeof engine_fieldsets[0]; i++)
        fieldset_add(fs, engine_fieldsets[i]);
    for (int s = 0; s < g->n; s++) {
        const struct schema *sc = g->sc[s];
        for (int r = 0; r < sc->nrules; r++)
            if (sc->rules[r].ecs)
                fieldset_add(fs, sc->rules[r].target);
        for (int p = 0; p < sc->ngeoip; p++)
            fieldset_add(fs, sc->geoip[p]);
    }
}

static int add_ecs_fields(json_t *props, const struct fieldsets *fs, const struct tmpl_flavor *f,
                          char *err, size_t errlen)
{
    const struct ecs_field *e;
    for (int i = 0; (e = ecs_field_at(i)) != NULL; i++)
        if (fieldset_has(fs, e->name) && put_path(props, e->name, tmpl_type_mapping(e->type, f), err, errlen) != 0)
            return -1;
    return 0;
}

/* Vendor rules with a declared type; untyped ones are left to the dynamic templates. */
static int add_vendor_fields(json_t *props, const struct tmpl_group *g, const struct tmpl_flavor *f,
                             char *err, size_t errlen)
{
    for (int s = 0; s < g->n; s++) {
        const struct schema *sc = g->sc[s];
        for (int r = 0; r < sc->nrules; r++) {
            const struct field_rule *rule = &sc->rules[r];
            if (rule->ecs || rule->type == ECS_UNKNOWN)
                continue;
            if (put_path(props, rule->target, tmpl_type_mapping(rule->type, f), err, errlen) != 0)
                return -1;
        }
    }
    return 0;
}

json_t *tmpl_properties(const struct tmpl_group *g, const struct tmpl_flavor *f, char *err, size_t errlen)
{
    struct fieldsets fs = {0};
    collect_fieldsets(g, &fs);
    json_t *props = json_object();
    if (add_ecs_fields(props, &fs, f, err, errlen) != 0 || add_vendor_fields(props, g, f, err, errlen) != 0) {
        json_decref(props);
        props = NULL;
    }
    fieldsets_free(&fs);
    return props;
}

static size_t count_fields(const json_t *props)
{
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)props, k, v) {
        n++;
        json_t *sub = json_object_get(v, "properties");
        if (sub)
            n += count_fields(sub);
    }
    return n;
}

/* ---- templates ------------------------------------------------------------------ */

json_t *tmpl_base_component(const struct tmpl_settings *s, const struct tmpl_flavor *f)
{
    json_t *settings = json_object();
    if (!f->serverless) {
        json_object_set_new(settings, "number_of_shards", json_integer(s->shards));
        json_object_set_new(settings, "number_of_replicas", json_integer(s->replicas));
    }
    json_t *strings = json_pack("{s:{s:s, s:{s:s, s:i}}}", "strings_as_keyword", "match_mapping_type", "string",
                                "mapping", "type", "keyword", "ignore_above", IGNORE_ABOVE);
    json_t *mappings = json_pack("{s:b, s:b, s:[o]}", "date_detection", 0, "numeric_detection", 0,
                                 "dynamic_templates", strings);
    return json_pack("{s:{s:o, s:o}, s:{s:s, s:s}}", "template", "settings", settings, "mappings", mappings,
                     "_meta", "managed_by", "siemproc", "ecs_version", ECS_VERSION);
}

static json_t *template_settings(const struct tmpl_group *g, const struct tmpl_settings *s,
                                 const struct tmpl_flavor *f, size_t nfields)
{
    size_t limit = nfields * 2 > 2000 ? nfields * 2 : 2000; /* room for dynamic vendor fields */
    json_t *st = json_pack("{s:I}", "index.mapping.total_fields.limit", (json_int_t)limit);
    if (f->serverless)
        return st;
    if (f->elasticsearch && (g->rollover || s->retention_days > 0))
        json_object_set_new(st, "index.lifecycle.name",
                            json_string(g->rollover ? TMPL_POLICY_ROLLOVER : TMPL_POLICY_RETENTION));
    if (g->rollover && (f->elasticsearch || !f->no_ism))
        json_object_set_new(st, f->elasticsearch ? "index.lifecycle.rollover_alias"
                                                 : "plugins.index_state_management.rollover_alias",
                            json_string(g->index));
    return st;
}

static json_t *log_type_names(const struct tmpl_group *g)
{
    json_t *a = json_array();
    for (int i = 0; i < g->n; i++)
        json_array_append_new(a, json_string(g->sc[i]->name));
    return a;
}

json_t *tmpl_index_template(const struct tmpl_group *g, const struct tmpl_settings *s,
                            const struct tmpl_flavor *f, char *err, size_t errlen)
{
    json_t *props = tmpl_properties(g, f, err, errlen);
    if (!props)
        return NULL;
    char pattern[300];
    tmpl_index_pattern(g, pattern, sizeof pattern);
    /* Longer names win where patterns overlap ("x-*" also matches "x-public-2026-11"). */
    json_int_t priority = 100 + (json_int_t)strlen(g->index);
    json_t *settings = template_settings(g, s, f, count_fields(props));
    return json_pack("{s:[s], s:I, s:[s], s:{s:o, s:{s:o}}, s:{s:s, s:s, s:o}}",
                     "index_patterns", pattern, "priority", priority, "composed_of", TMPL_BASE_COMPONENT,
                     "template", "settings", settings, "mappings", "properties", props,
                     "_meta", "managed_by", "siemproc", "ecs_version", ECS_VERSION, "log_types",
                     log_type_names(g));
}

/* ---- lifecycle policies ----------------------------------------------------------- */

static json_t *patterns_of(const struct tmpl_groups *g, bool rollover)
{
    json_t *a = json_array();
    char p[300];
    for (int i = 0; i < g->n; i++) {
        if (g->v[i].rollover != rollover)
            continue;
        tmpl_index_pattern(&g->v[i], p, sizeof p);
        json_array_append_new(a, json_string(p));
    }
    return a;
}

static json_t *days(long d)
{
    char t[32];
    snprintf(t, sizeof t, "%ldd", d);
    return json_string(t);
}

static json_t *ism_rollover_action(const struct tmpl_settings *s, const struct tmpl_flavor *f)
{
    char size[32];
    snprintf(size, sizeof size, "%ldgb", s->rollover_gb);
    bool per_shard = f->major > 2 || (f->major == 2 && f->minor >= 4);
    return json_pack("{s:{s:o, s:s}}", "rollover", "min_index_age", days(s->rollover_days),
                     per_shard ? "min_primary_shard_size" : "min_size", size);
}

static json_t *ism_policy(json_t *patterns, bool rollover, const struct tmpl_settings *s,
                          const struct tmpl_flavor *f)
{
    json_t *hot_actions = json_array(), *transitions = json_array(), *states = json_array();
    if (rollover)
        json_array_append_new(hot_actions, ism_rollover_action(s, f));
    if (s->retention_days > 0)
        json_array_append_new(transitions, json_pack("{s:s, s:{s:o}}", "state_name", "delete", "conditions",
                                                     "min_index_age", days(s->retention_days)));
    json_array_append_new(states, json_pack("{s:s, s:o, s:o}", "name", "hot", "actions", hot_actions,
                                            "transitions", transitions));
    if (s->retention_days > 0)
        json_array_append_new(states, json_pack("{s:s, s:[{s:{}}], s:[]}", "name", "delete", "actions",
                                                "delete", "transitions"));
    return json_pack("{s:{s:s, s:s, s:o, s:[{s:o, s:i}]}}", "policy", "description",
                     rollover ? "siemproc: rollover of indices without time rotation, then delete by age"
                              : "siemproc: delete time-rotated indices by age",
                     "default_state", "hot", "states", states, "ism_template", "index_patterns", patterns,
                     "priority", 100);
}

static json_t *ilm_policy(bool rollover, const struct tmpl_settings *s, const struct tmpl_flavor *f)
{
    json_t *phases = json_object();
    if (rollover) {
        char size[32];
        snprintf(size, sizeof size, "%ldgb", s->rollover_gb);
        bool per_shard = f->major > 7 || (f->major == 7 && f->minor >= 13);
        json_object_set_new(phases, "hot", json_pack("{s:{s:{s:o, s:s}}}", "actions", "rollover", "max_age",
                                                     days(s->rollover_days),
                                                     per_shard ? "max_primary_shard_size" : "max_size", size));
    }
    if (s->retention_days > 0)
        json_object_set_new(phases, "delete", json_pack("{s:o, s:{s:{}}}", "min_age", days(s->retention_days),
                                                        "actions", "delete"));
    return json_pack("{s:{s:o, s:{s:s}}}", "policy", "phases", phases, "_meta", "managed_by", "siemproc");
}

json_t *tmpl_policy(const struct tmpl_groups *g, bool rollover, const struct tmpl_settings *s,
                    const struct tmpl_flavor *f)
{
    json_t *patterns = patterns_of(g, rollover);
    if (f->serverless || f->no_ism || !json_array_size(patterns) || (!rollover && s->retention_days <= 0)) {
        json_decref(patterns);
        return NULL;
    }
    if (f->elasticsearch) {
        json_decref(patterns);
        return ilm_policy(rollover, s, f);
    }
    return ism_policy(patterns, rollover, s, f);
}
