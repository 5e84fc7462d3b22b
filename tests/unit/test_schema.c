/* schema: every mistake a schema file can make is refused at load with a
 * message naming the file and the key; the shipped schemas load; detection
 * by S3 key and log group picks the right type. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "compose.h"
#include "ingest.h"
#include "schema.h"
#include "testlib.h"

/* A valid schema; each case below patches one key of it. */
static const char *base_schema =
    "{\"name\":\"t\",\"module\":\"m\",\"dataset\":\"aws.m\",\"vendor\":\"aws.m\","
    "\"detect\":{\"s3_key\":[\"/m/\"]},"
    "\"format\":{\"parser\":\"fields\",\"columns\":[\"time\",\"ip\",\"act\"]},"
    "\"timestamp\":{\"from\":\"time\",\"format\":\"iso8601\"},"
    "\"index\":{\"name\":\"log-aws-m\"},"
    "\"fields\":{\"source.ip\":\"ip\",\"event.action\":{\"from\":\"act\",\"op\":\"lower\"},\"aws.m.act\":\"act\"},"
    "\"static\":{\"event.kind\":\"event\",\"event.category\":[\"network\"]}}";

/* Compile base_schema with `patch` (a JSON object) merged in recursively.
 * Returns the error text ("" when it compiled). */
static const char *compile_with(const char *patch)
{
    static char err[512];
    json_error_t jerr;
    json_t *root = json_loads(base_schema, 0, &jerr);
    json_t *p = json_loads(patch, 0, &jerr);
    if (!root || !p) { fprintf(stderr, "bad test JSON: %s\n", patch); CHECK(0); return "bad test"; }
    json_object_update_recursive(root, p);
    err[0] = 0;
    struct schema *sc = schema_compile(root, "schemas/t.json", err, sizeof err);
    if (sc) { schema_free(sc); err[0] = 0; }
    json_decref(p);
    json_decref(root);
    return err;
}

/* Patches that must compile. */
static const char *const valid_patches[] = {
    "{}",
    "{\"fields\":{\"aws.m.extra\":{\"from\":\"act\",\"type\":\"long\"}}}",
    "{\"framing\":\"multiline\",\"first_line\":\"^[0-9]{4}-\"}",
    "{\"geoip\":[\"source\",\"destination\"],\"index\":{\"rotation\":\"weekly\",\"tz\":\"+09:00\"}}",
    "{\"user_agent\":true,\"fields\":{\"user_agent.original\":\"act\",\"url.full\":{\"compose\":\"url\"}}}",
    /* the record's own value first, composed without one; inputs of the schema's own fields */
    "{\"fields\":{\"network.community_id\":{\"from\":\"act\",\"compose\":\"community_id\","
    "\"inputs\":{\"icmp.type\":\"aws.m.act\",\"icmp.code\":\"event.kind\"}}}}",
};

static void test_valid(void)
{
    for (size_t i = 0; i < sizeof valid_patches / sizeof valid_patches[0]; i++)
        CHECK_STR(compile_with(valid_patches[i]), "");
}

/* Patches that must be refused with a message holding the file and every
 * fragment given (frag2 NULL: only frag1). */
static const struct { const char *patch, *frag1, *frag2; } refusals[] = {
    {"{\"detect\":{\"s3_key\":[\"ok\",\"(unclosed\"]}}", "detect.s3_key[1]", "regular expression"},
    {"{\"detect\":{\"log_group\":[\"[z-a]\"]}}", "detect.log_group[0]", "regular expression"},
    {"{\"detect\":{\"s3_key\":\"not-a-list\"}}", "detect.s3_key", NULL},
    {"{\"fields\":{\"foo.bar\":\"ip\"}}", "fields.foo.bar", "not an ECS field"},
    {"{\"fields\":{\"sourc.ip\":\"ip\"}}", "fields.sourc.ip", "not an ECS field"},
    {"{\"static\":{\"event.category\":[\"network\",\"bogus\"]}}", "static.event.category", "\"bogus\" is not an allowed"},
    {"{\"static\":{\"event.kind\":\"incident\"}}", "static.event.kind", "not an allowed"},
    {"{\"fields\":{\"event.outcome\":{\"from\":\"act\",\"map\":{\"A\":\"ok\"}}}}", "fields.event.outcome", "\"ok\""},
    {"{\"fields\":{\"event.type\":{\"from\":\"act\",\"map\":{},\"map_default\":\"nope\"}}}", "fields.event.type", "\"nope\""},
    {"{\"fields\":{\"event.outcome\":{\"from\":\"act\",\"if_present\":\"yes\"}}}", "fields.event.outcome", "\"yes\""},
    {"{\"fields\":{\"event.action\":{\"from\":\"act\",\"op\":\"reverse\"}}}", "fields.event.action", "unknown op \"reverse\""},
    {"{\"fields\":{\"event.action\":{\"from\":\"act\",\"op\":[\"lower\",\"frobnicate\"]}}}", "fields.event.action", "frobnicate"},
    {"{\"fields\":{\"event.action\":{\"from\":\"act\",\"op\":[\"lower\",\"lower\",\"lower\",\"lower\",\"lower\"]}}}",
     "fields.event.action", "more than"},
    {"{\"fields\":{\"source.port\":{\"from\":\"ip\",\"type\":\"long\"}}}", "fields.source.port", "ECS decides"},
    {"{\"fields\":{\"aws.m.x\":{\"from\":\"ip\",\"type\":\"complex\"}}}", "fields.aws.m.x", "unknown type \"complex\""},
    {"{\"fields\":{\"aws.m.x\":{\"op\":\"lower\"}}}", "fields.aws.m.x", "needs \"from\", \"value\" or \"compose\""},
    {"{\"fields\":{\"url.full\":{\"compose\":\"uri\"}}}", "fields.url.full.compose", "unknown composer \"uri\""},
    {"{\"fields\":{\"url.full\":{\"compose\":\"url\",\"value\":\"x\"}}}", "fields.url.full", "takes no"},
    {"{\"fields\":{\"network.community_id\":{\"compose\":\"community_id\",\"inputs\":{\"icmp.typ\":\"aws.m.act\"}}}}",
     "fields.network.community_id.inputs.icmp.typ", "no such input"},
    {"{\"fields\":{\"network.community_id\":{\"compose\":\"community_id\",\"inputs\":{\"icmp.type\":\"aws.m.typo\"}}}}",
     "fields.network.community_id.inputs.icmp.type", "a field this schema fills"},
    {"{\"fields\":{\"network.community_id\":{\"compose\":\"community_id\",\"inputs\":[\"aws.m.act\"]}}}",
     "fields.network.community_id.inputs", "an object"},
    {"{\"fields\":{\"event.action\":{\"from\":\"act\",\"inputs\":{\"icmp.type\":\"aws.m.act\"}}}}",
     "fields.event.action.inputs", "only a \"compose\" rule"},
    {"{\"user_agent\":true}", "user_agent", "needs a rule for user_agent.original"},
    {"{\"user_agent\":\"yes\"}", "user_agent", "true or false"},
    {"{\"fields\":{\"aws.m.x\":42}}", "fields.aws.m.x", NULL},
    {"{\"fields\":{\"event.start\":{\"from\":\"time\",\"format\":\"rfc822\"}}}", "fields.event.start", "rfc822"},
    {"{\"format\":{\"parser\":\"xml\"}}", "format.parser", "xml"},
    {"{\"format\":{\"columns\":\"time\"}}", "format", "columns"},
    {"{\"name\":null}", "name", NULL},
    {"{\"timestamp\":null}", "timestamp", NULL},
    {"{\"timestamp\":{\"format\":\"sometime\"}}", "timestamp.format", "sometime"},
    {"{\"timestamp\":{\"tz\":\"Tokyo\"}}", "timestamp.tz", "Tokyo"},
    {"{\"index\":{\"rotation\":\"hourly\"}}", "index.rotation", NULL},
    {"{\"index\":{\"name\":null}}", "index.name", NULL},
    {"{\"framing\":\"xml\"}", "framing", NULL},
    {"{\"framing\":\"multiline\",\"first_line\":\"(\"}", "first_line", NULL},
    {"{\"framing\":\"multiline\"}", "first_line", NULL},
    {"{\"geoip\":[\"user\"]}", "geoip[0]", "user.ip"},
    {"{\"fields\":{\"related.ip\":{\"from\":\"ip\",\"split\":\"\"}}}", "fields.related.ip.split", "empty"},
};

static void test_errors(void)
{
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        const char *patch = refusals[i].patch, *frag1 = refusals[i].frag1, *frag2 = refusals[i].frag2;
        const char *e = compile_with(patch);
        int ok = strncmp(e, "schemas/t.json: ", 16) == 0 && strstr(e, frag1) && (!frag2 || strstr(e, frag2));
        if (!ok) fprintf(stderr, "patch %s\n  gave \"%s\"\n  want \"%s\" and \"%s\"\n", patch, e, frag1, frag2 ? frag2 : "");
        CHECK(ok);
    }
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void test_set_load(void)
{
    struct schema_set set;
    char err[512] = "";
    CHECK_INT(schema_set_load(&set, tl_src("schemas"), err, sizeof err), 0);
    if (err[0]) fprintf(stderr, "%s\n", err);
    static const char *types[] = { "vpcflowlogs", "cloudtrail", "alb", "nlb", "clb", "s3accesslog" };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) CHECK(schema_find(&set, types[i]) != NULL);
    CHECK(schema_find(&set, "nosuchtype") == NULL);
    for (int i = 1; i < set.n; i++) CHECK(strcmp(set.v[i - 1]->name, set.v[i]->name) < 0);
    /* The types the original enriched with user agents get the set's rules. */
    static const char *ua_types[] = { "cloudtrail", "alb", "clb", "s3accesslog", "waf", "networkfirewall",
                                      "cloudfront-standard", "cloudfront-realtime" };
    for (size_t i = 0; i < sizeof ua_types / sizeof ua_types[0]; i++) {
        const struct schema *sc = schema_find(&set, ua_types[i]);
        CHECK(sc && sc->ua && sc->ua == set.ua);
    }
    CHECK(schema_find(&set, "vpcflowlogs")->ua == NULL);
    schema_set_free(&set);

    char dir[] = "/tmp/siemproc-schema-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    CHECK_INT(schema_set_load(&set, dir, err, sizeof err), -1);
    CHECK(strstr(err, "no schemas") != NULL);
    snprintf(path, sizeof path, "%s/broken.json", dir);
    write_file(path, "{\"name\": \"x\",\n  \"fields\": {,}\n}");
    CHECK_INT(schema_set_load(&set, dir, err, sizeof err), -1);
    CHECK(strstr(err, "broken.json:2") != NULL);
    unlink(path);
    snprintf(path, sizeof path, "%s/bad.json", dir);
    write_file(path, "{\"name\":\"x\",\"format\":{\"parser\":\"fields\",\"columns\":[\"a\"]},\"timestamp\":{\"from\":\"a\"},"
                     "\"index\":{\"name\":\"i\"},\"fields\":{\"host.nam\":\"a\"}}");
    CHECK_INT(schema_set_load(&set, dir, err, sizeof err), -1);
    CHECK(strstr(err, "bad.json") && strstr(err, "fields.host.nam"));
    unlink(path);
    /* A type that wants user agents parsed needs the rules next to it. */
    snprintf(path, sizeof path, "%s/ua.json", dir);
    write_file(path, "{\"name\":\"x\",\"format\":{\"parser\":\"fields\",\"columns\":[\"a\"]},\"timestamp\":{\"from\":\"a\"},"
                     "\"index\":{\"name\":\"i\"},\"user_agent\":true,\"fields\":{\"user_agent.original\":\"a\"}}");
    CHECK_INT(schema_set_load(&set, dir, err, sizeof err), -1);
    CHECK(strstr(err, "enrich/user_agents.json") != NULL);
    unlink(path);
    rmdir(dir);
    CHECK_INT(schema_set_load(&set, "/nonexistent/schemas", err, sizeof err), -1);
    CHECK(strstr(err, "/nonexistent/schemas") != NULL);
}

/* Fields of the first document of a record, "|" separated ("-": absent). */
struct first_doc {
    const char *const *paths;
    int npaths;
    char text[256];
};

static int keep_first(void *arg, const struct ingest_event *ev)
{
    struct first_doc *fd = arg;
    if (fd->text[0]) return 0;
    for (int i = 0; i < fd->npaths; i++) {
        const struct doc_field *f = doc_get(ev->doc, fd->paths[i]);
        size_t at = strlen(fd->text);
        snprintf(fd->text + at, sizeof fd->text - at, "%s%.*s", i ? "|" : "", f ? (int)f->vlen : 1, f ? f->v : "-");
    }
    return 0;
}

static void first_doc(const struct schema_set *set, const char *type, const char *line, struct first_doc *fd)
{
    struct normalizer *nz = normalizer_new(NULL);
    struct ingest_cb cb = { keep_first, NULL, NULL };
    struct ingest *ig = ingest_new(set, nz, &cb, fd);
    struct ingest_object obj = { .type = type, .origin = "test", .delivery_ms = 1700000000000LL };
    fd->text[0] = 0;
    if (ingest_begin(ig, &obj) == 0) ingest_feed(ig, line, strlen(line));
    ingest_end(ig);
    ingest_free(ig);
    normalizer_free(nz);
}

static const char *const realtime_paths[] = { "source.ip", "http.response.status_code", "url.path" };

static void realtime_record(const struct schema_set *set, const char *line, struct first_doc *fd)
{
    fd->paths = realtime_paths;
    fd->npaths = 3;
    first_doc(set, "cloudfront-realtime", line, fd);
}

/* A composed rule reads the first value its input's rules add: the field's
 * own rule before a static default, as in the document. */
static void test_compose_inputs(void)
{
    const char *patch = "{\"format\":{\"columns\":[\"time\",\"ip\",\"act\",\"path\"]},"
                        "\"fields\":{\"url.path\":\"path\",\"url.domain\":\"ip\",\"url.full\":{\"compose\":\"url\"}},"
                        "\"static\":{\"url.scheme\":\"https\",\"url.path\":\"/default\"}}";
    json_t *root = json_loads(base_schema, 0, NULL), *p = json_loads(patch, 0, NULL);
    json_object_update_recursive(root, p);
    char err[512] = "";
    struct schema *sc = schema_compile(root, "schemas/t.json", err, sizeof err);
    CHECK_STR(err, "");
    json_decref(p);
    json_decref(root);
    if (!sc) return;
    struct schema_set set = { .v = &sc, .n = 1 };
    static const char *const paths[] = { "url.full", "url.path" };
    struct first_doc fd = { .paths = paths, .npaths = 2 };
    first_doc(&set, "t", "2024-03-01T10:50:00Z 192.0.2.1 GET /own\n", &fd);
    CHECK_STR(fd.text, "https://192.0.2.1/own|/own");
    first_doc(&set, "t", "2024-03-01T10:50:00Z 192.0.2.1 GET -\n", &fd);
    CHECK_STR(fd.text, "https://192.0.2.1/default|/default");
    schema_free(sc);
}

/* Loading with the fields of a CloudFront real-time log configuration as the
 * columns; an error naming the setting and its value when it is not valid. */
static const char *load_with(const char *dir, const char *fields, struct schema_set *set)
{
    static char err[1024];
    struct schema_columns c = { "cloudfront-realtime", "cloudfront_realtime_fields", fields };
    err[0] = 0;
    if (schema_set_load_columns(set, dir, &c, 1, err, sizeof err) == 0) return "";
    return err;
}

static void test_columns(void)
{
    struct schema_set set;
    struct first_doc fd;
    CHECK_STR(load_with(tl_src("schemas"), "timestamp, sc-status ,c_ip,cs-uri-stem", &set), "");
    realtime_record(&set, "1709290200.123\t404\t198.51.100.7\t/x.png\n", &fd);
    CHECK_STR(fd.text, "198.51.100.7|404|/x.png");
    schema_set_free(&set);
    CHECK_STR(load_with(tl_src("schemas"), "", &set), "");     /* empty: every field, documented order */
    size_t len;
    char *all = tl_read_file(tl_src("tests/fixtures/cloudfront-realtime/realtime.log"), &len);
    CHECK(all != NULL);
    realtime_record(&set, all ? all : "", &fd);
    CHECK_STR(fd.text, "198.51.100.7|200|/img/a b.png");
    free(all);
    schema_set_free(&set);

    static const struct { const char *fields, *why; } bad[] = {
        { "timestamp,c-ip,sc-statuss", "unknown field \"sc-statuss\"" },
        { "timestamp,c-ip,c_ip", "repeated field \"c_ip\"" },
        { "timestamp,,c-ip", "empty field name \"\"" },
        { "c-ip,sc-status", "no timestamp field" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *e = load_with(tl_src("schemas"), bad[i].fields, &set);
        char value[128];
        snprintf(value, sizeof value, "\"%s\"", bad[i].fields);
        int ok = strncmp(e, "cloudfront_realtime_fields: ", 28) == 0 && strstr(e, value) && strstr(e, bad[i].why);
        if (!ok) fprintf(stderr, "fields %s gave \"%s\"\n", bad[i].fields, e);
        CHECK(ok);
    }
    /* a directory without the type */
    char dir[] = "/tmp/siemproc-columns-XXXXXX", path[256];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/x.json", dir);
    write_file(path, "{\"name\":\"x\",\"format\":{\"parser\":\"fields\",\"columns\":[\"a\"]},\"timestamp\":{\"from\":\"a\"},"
                     "\"index\":{\"name\":\"i\"},\"fields\":{\"aws.x.a\":\"a\"}}");
    const char *e = load_with(dir, "timestamp,c-ip", &set);
    CHECK(strstr(e, "cloudfront_realtime_fields: \"timestamp,c-ip\"") && strstr(e, "no schema for"));
    CHECK_STR(load_with(dir, NULL, &set), "");
    schema_set_free(&set);
    unlink(path);
    rmdir(dir);
}

/* network.community_id is composed where records carry a whole flow tuple,
 * into the ECS keyword field, and is a keyword in the ECS table. */
static void test_community_id(void)
{
    const struct ecs_field *f = ecs_lookup("network.community_id");
    CHECK(f && f->type == ECS_KEYWORD && !f->array && !f->allowed[0]);
    struct schema_set set;
    char err[512] = "", with[256] = "";
    CHECK_INT(schema_set_load(&set, tl_src("schemas"), err, sizeof err), 0);
    for (int i = 0; i < set.n; i++) {
        for (int k = 0; k < set.v[i]->nrules; k++) {
            const struct field_rule *r = &set.v[i]->rules[k];
            if (r->compose != COMPOSE_COMMUNITY_ID) continue;
            CHECK_STR(r->target, "network.community_id");
            CHECK(r->ecs == f && r->type == ECS_KEYWORD);
            snprintf(with + strlen(with), sizeof with - strlen(with), "%s ", set.v[i]->name);
        }
    }
    CHECK_STR(with, "guardduty networkfirewall vpcflowlogs ");
    schema_set_free(&set);
}

static const char *detect_key(const struct schema_set *set, const char *key, int *skip)
{
    const struct schema *sc = schema_detect_s3_key(set, key, skip);
    return sc ? sc->name : "(none)";
}

static void test_detect(void)
{
    struct schema_set set;
    char err[512];
    CHECK_INT(schema_set_load(&set, tl_src("schemas"), err, sizeof err), 0);
    int skip = 7;
    CHECK_STR(detect_key(&set, "AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/28/"
                               "123456789012_vpcflowlogs_us-east-1_fl-0123456789abcdef0_20261128T0350Z_0a1b2c3d.log.gz", &skip),
              "vpcflowlogs");
    CHECK_INT(skip, 0);
    CHECK_STR(detect_key(&set, "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/28/"
                               "123456789012_CloudTrail_us-east-1_20261128T0355Z_AbCdEfGhIjKlMnOp.json.gz", &skip),
              "cloudtrail");
    CHECK_INT(skip, 0);
    CHECK_STR(detect_key(&set, "AWSLogs/o-abc123/123456789012/CloudTrail-Insight/us-east-1/2026/11/28/x.json.gz", &skip),
              "cloudtrail");
    CHECK_STR(detect_key(&set, "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/11/28/"
                               "123456789012_CloudTrail-Digest_us-east-1_trail_us-east-1_20261128T035522Z.json.gz", &skip),
              "cloudtrail");
    CHECK_INT(skip, 1);
    CHECK_STR(detect_key(&set, "AWSLogs/123456789012/elasticloadbalancing/us-east-2/2026/11/28/"
                               "123456789012_elasticloadbalancing_us-east-2_app.my-alb.50dc6c495c0c9188_20261128T0355Z_192.0.2.10_2x8nj3k9.log.gz", &skip),
              "alb");
    CHECK_STR(detect_key(&set, "AWSLogs/123456789012/elasticloadbalancing/us-east-2/2026/11/28/"
                               "123456789012_elasticloadbalancing_us-east-2_net.my-nlb.c6e77e28c25b2234_20261128T0355Z_5d4b2a1c.log.gz", &skip),
              "nlb");
    CHECK_STR(detect_key(&set, "AWSLogs/123456789012/elasticloadbalancing/us-east-2/2026/11/28/"
                               "123456789012_elasticloadbalancing_us-east-2_my-clb_20261128T0355Z_192.0.2.10_2x8nj3k9.log", &skip),
              "clb");
    /* A decompressed copy keeps its type: the load balancer id decides, not ".gz". */
    CHECK_STR(detect_key(&set, "123456789012_elasticloadbalancing_us-east-2_app.my-alb.50dc6c495c0c9188_"
                               "20261128T0355Z_192.0.2.10_2x8nj3k9.log", &skip), "alb");
    CHECK_STR(detect_key(&set, "123456789012_elasticloadbalancing_us-east-2_my-clb_20261128T0355Z_192.0.2.10_2x8nj3k9.log.gz",
                         &skip), "clb");
    /* ALB connection logs are another log: not taken for access logs. */
    CHECK_STR(detect_key(&set, "AWSLogs/123456789012/elasticloadbalancing/eu-central-1/2026/11/28/conn_log_123456789012_"
                               "elasticloadbalancing_eu-central-1_app.my-alb.5ede558f4b0e97a9_20261128T0955Z_192.0.2.10_b38hdhc6.log.gz",
                         &skip), "(none)");
    CHECK_STR(detect_key(&set, "s3-access/2026-11-28-03-55-22-0A1B2C3D4E5F6A7B", &skip), "s3accesslog");
    CHECK_STR(detect_key(&set, "random/path/file.log", &skip), "(none)");
    const struct schema *sc = schema_detect_log_group(&set, "/aws/vpc/vpcflowlogs-prod");
    CHECK_STR(sc ? sc->name : "(none)", "vpcflowlogs");
    sc = schema_detect_log_group(&set, "aws-cloudtrail-logs-123456789012-0a1b2c3d");
    CHECK_STR(sc ? sc->name : "(none)", "cloudtrail");
    sc = schema_detect_log_group(&set, "/aws/lambda/my-function");
    CHECK(sc == NULL);
    schema_set_free(&set);
}

int main(void)
{
    char err[512];
    if (ecs_load(tl_src("schemas/ecs_fields.tsv"), err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    test_valid();
    test_errors();
    test_set_load();
    test_detect();
    test_community_id();
    test_columns();
    test_compose_inputs();
    return tl_done();
}
