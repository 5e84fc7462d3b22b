/* test_index_templates.c - the index templates and lifecycle policies that
 * `siemproc setup` installs: ECS types per cluster flavour (flattened ->
 * flat_object / flattened / disabled object), the fields a log type's
 * template declares (whole field sets of its targets, GeoIP, the engine's
 * own, typed vendor fields), grouping of types by index name and the errors
 * (rotation mismatch, conflicting vendor types), priorities, and the
 * ISM/ILM policy bodies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index_templates.h"
#include "testlib.h"

static const struct tmpl_flavor os219 = {.major = 2, .minor = 19};
static const struct tmpl_flavor os25 = {.major = 2, .minor = 5};
static const struct tmpl_flavor es8 = {.elasticsearch = true, .major = 8, .minor = 15};
static const struct tmpl_flavor aoss = {.serverless = true, .major = 2};
static const struct tmpl_settings settings = {.shards = 2, .replicas = 0, .retention_days = 30,
                                              .rollover_days = 1, .rollover_gb = 50};

static const char *base =
    "{\"name\":\"%s\",\"module\":\"m\",\"dataset\":\"aws.m\",\"vendor\":\"aws.m\","
    "\"detect\":{\"s3_key\":[\"/m/\"]},\"format\":{\"parser\":\"fields\",\"columns\":[\"time\",\"ip\",\"act\",\"n\"]},"
    "\"timestamp\":{\"from\":\"time\",\"format\":\"iso8601\"},\"index\":{\"name\":\"%s\",\"rotation\":\"%s\"},"
    "\"geoip\":[\"source\"],"
    "\"fields\":{\"source.ip\":\"ip\",\"event.action\":\"act\",\"aws.m.act\":\"act\",%s}}";

static struct schema *schema(const char *name, const char *index, const char *rotation, const char *vendor_type)
{
    char text[2048], err[512] = "";
    snprintf(text, sizeof text, base, name, index, rotation, vendor_type);
    json_error_t je;
    json_t *root = json_loads(text, 0, &je);
    struct schema *sc = root ? schema_compile(root, name, err, sizeof err) : NULL;
    if (!sc)
        fprintf(stderr, "schema %s: %s %s\n", name, err, root ? "" : je.text);
    json_decref(root);
    CHECK(sc != NULL);
    return sc;
}

static const char *type_at(json_t *props, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *node = NULL;
    for (char *save = NULL, *seg = strtok_r(buf, ".", &save); seg; seg = strtok_r(NULL, ".", &save)) {
        node = json_object_get(props, seg);
        props = json_object_get(node, "properties");
    }
    return node ? json_string_value(json_object_get(node, "type")) : NULL;
}

static void test_types(void)
{
    json_t *m = tmpl_type_mapping(ECS_FLATTENED, &os219);
    CHECK_STR(json_string_value(json_object_get(m, "type")), "flat_object");
    json_decref(m);
    m = tmpl_type_mapping(ECS_FLATTENED, &os25);
    CHECK_STR(json_string_value(json_object_get(m, "type")), "object");
    CHECK(json_is_false(json_object_get(m, "enabled")));
    json_decref(m);
    m = tmpl_type_mapping(ECS_FLATTENED, &es8);
    CHECK_STR(json_string_value(json_object_get(m, "type")), "flattened");
    json_decref(m);
    m = tmpl_type_mapping(ECS_KEYWORD, &os219);
    CHECK_INT(json_integer_value(json_object_get(m, "ignore_above")), 1024);
    json_decref(m);
    m = tmpl_type_mapping(ECS_IP, &es8);
    CHECK_STR(json_string_value(json_object_get(m, "type")), "ip");
    json_decref(m);
}

static void test_policies(const struct tmpl_groups *g)
{
    json_t *p = tmpl_policy(g, false, &settings, &os219);
    char *text = json_dumps(p, JSON_COMPACT);
    CHECK(strstr(text, "\"index_patterns\":[\"pfx-log-aws-m-*\"]") && strstr(text, "\"min_index_age\":\"30d\"") &&
          strstr(text, "{\"delete\":{}}") && !strstr(text, "rollover"));
    free(text);
    json_decref(p);
    p = tmpl_policy(g, true, &settings, &os219);
    text = json_dumps(p, JSON_COMPACT);
    CHECK(strstr(text, "\"index_patterns\":[\"pfx-log-aws-r-*\"]") &&
          strstr(text, "\"rollover\":{\"min_index_age\":\"1d\",\"min_primary_shard_size\":\"50gb\"}"));
    free(text);
    json_decref(p);
    p = tmpl_policy(g, true, &settings, &es8);
    text = json_dumps(p, JSON_COMPACT);
    CHECK(strstr(text, "\"max_primary_shard_size\":\"50gb\"") && strstr(text, "\"min_age\":\"30d\""));
    free(text);
    json_decref(p);
    struct tmpl_settings keep = settings;
    keep.retention_days = 0;
    CHECK(tmpl_policy(g, false, &keep, &os219) == NULL);
    CHECK(tmpl_policy(g, false, &settings, &aoss) == NULL);
    struct tmpl_flavor bare = os219;
    bare.no_ism = true;
    CHECK(tmpl_policy(g, true, &settings, &bare) == NULL);
}

static void test_properties(struct schema_set *set)
{
    struct tmpl_groups g;
    char err[512] = "";
    CHECK_INT(tmpl_group_schemas(set, "pfx-", &g, err, sizeof err), 0);
    CHECK_INT(g.n, 2);
    CHECK_STR(g.v[0].index, "pfx-log-aws-m");
    CHECK_INT(g.v[0].n, 2); /* t1 and t2 share the index */
    CHECK(!g.v[0].rollover && g.v[1].rollover);
    json_t *p = tmpl_properties(&g.v[0], &os219, err, sizeof err);
    CHECK(p != NULL);
    CHECK_STR(type_at(p, "@timestamp"), "date");
    CHECK_STR(type_at(p, "source.ip"), "ip");
    CHECK_STR(type_at(p, "source.port"), "long");           /* the whole source field set */
    CHECK_STR(type_at(p, "source.geo.location"), "geo_point");
    CHECK_STR(type_at(p, "source.as.number"), "long");
    CHECK_STR(type_at(p, "event.ingested"), "date");        /* added by the engine */
    CHECK_STR(type_at(p, "related.ip"), "ip");
    CHECK_STR(type_at(p, "cloud.account.id"), "keyword");
    CHECK_STR(type_at(p, "aws.m.n"), "long");               /* typed vendor field */
    CHECK_STR(type_at(p, "aws.m.req"), "flat_object");
    CHECK(type_at(p, "aws.m.act") == NULL);                 /* untyped: the dynamic template decides */
    CHECK(type_at(p, "destination.ip") == NULL);            /* a field set nobody writes */
    json_decref(p);

    json_t *t = tmpl_index_template(&g.v[0], &settings, &es8, err, sizeof err);
    CHECK_INT(json_integer_value(json_object_get(t, "priority")), 100 + (long)strlen("pfx-log-aws-m"));
    CHECK_STR(json_string_value(json_array_get(json_object_get(t, "index_patterns"), 0)), "pfx-log-aws-m-*");
    json_t *st = json_object_get(json_object_get(t, "template"), "settings");
    CHECK_STR(json_string_value(json_object_get(st, "index.lifecycle.name")), TMPL_POLICY_RETENTION);
    CHECK(json_integer_value(json_object_get(st, "index.mapping.total_fields.limit")) >= 2000);
    json_decref(t);
    t = tmpl_index_template(&g.v[1], &settings, &os219, err, sizeof err);
    st = json_object_get(json_object_get(t, "template"), "settings");
    CHECK_STR(json_string_value(json_object_get(st, "plugins.index_state_management.rollover_alias")),
              "pfx-log-aws-r");
    json_decref(t);

    json_t *base_c = tmpl_base_component(&settings, &aoss);
    CHECK(json_object_get(json_object_get(json_object_get(base_c, "template"), "settings"), "number_of_shards") == NULL);
    json_decref(base_c);
    base_c = tmpl_base_component(&settings, &os219);
    char *text = json_dumps(base_c, JSON_COMPACT);
    CHECK(strstr(text, "\"number_of_shards\":2") && strstr(text, "\"date_detection\":false") &&
          strstr(text, "\"match_mapping_type\":\"string\""));
    free(text);
    json_decref(base_c);
    test_policies(&g);
    tmpl_groups_free(&g);
}

static void test_errors(void)
{
    char err[512] = "";
    struct schema *a = schema("a", "log-x", "monthly", "\"aws.m.n\":{\"from\":\"n\",\"type\":\"long\"}");
    struct schema *b = schema("b", "log-x", "none", "\"aws.m.n\":{\"from\":\"n\",\"type\":\"long\"}");
    struct schema *c = schema("c", "log-x", "monthly", "\"aws.m.n\":{\"from\":\"n\",\"type\":\"float\"}");
    struct schema *ab[] = {a, b}, *ac[] = {a, c};
    struct schema_set s1 = {.v = ab, .n = 2}, s2 = {.v = ac, .n = 2};
    struct tmpl_groups g;
    CHECK_INT(tmpl_group_schemas(&s1, NULL, &g, err, sizeof err), -1);
    CHECK(strstr(err, "only one rotates by time") != NULL);
    CHECK_INT(tmpl_group_schemas(&s2, NULL, &g, err, sizeof err), 0);
    CHECK(tmpl_properties(&g.v[0], &os219, err, sizeof err) == NULL);
    CHECK(strstr(err, "aws.m.n: declared as long and as float") != NULL);
    tmpl_groups_free(&g);
    schema_free(a);
    schema_free(b);
    schema_free(c);
}

int main(void)
{
    char err[512];
    if (ecs_load(tl_src("schemas/ecs_fields.tsv"), err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    test_types();
    struct schema *t1 = schema("t1", "log-aws-m", "monthly", "\"aws.m.n\":{\"from\":\"n\",\"type\":\"long\"}");
    struct schema *t2 = schema("t2", "log-aws-m", "daily", "\"aws.m.req\":{\"from\":\"n\",\"type\":\"flattened\"}");
    struct schema *t3 = schema("t3", "log-aws-r", "none", "\"aws.m.n\":{\"from\":\"n\",\"type\":\"long\"}");
    struct schema *v[] = {t1, t2, t3};
    struct schema_set set = {.v = v, .n = 3};
    if (t1 && t2 && t3)
        test_properties(&set);
    test_errors();
    schema_free(t1);
    schema_free(t2);
    schema_free(t3);
    return tl_done();
}
