/* schema: every mistake a schema file can make is refused at load with a
 * message naming the file and the key; the shipped schemas load; detection
 * by S3 key and log group picks the right type. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
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

/* The patch must be refused with a message holding the file and every
 * fragment given. */
static void refused(const char *patch, const char *frag1, const char *frag2)
{
    const char *e = compile_with(patch);
    int ok = strncmp(e, "schemas/t.json: ", 16) == 0 && strstr(e, frag1) && (!frag2 || strstr(e, frag2));
    if (!ok) fprintf(stderr, "patch %s\n  gave \"%s\"\n  want \"%s\" and \"%s\"\n", patch, e, frag1, frag2 ? frag2 : "");
    CHECK(ok);
}

static void test_valid(void)
{
    CHECK_STR(compile_with("{}"), "");
    CHECK_STR(compile_with("{\"fields\":{\"aws.m.extra\":{\"from\":\"act\",\"type\":\"long\"}}}"), "");
    CHECK_STR(compile_with("{\"framing\":\"multiline\",\"first_line\":\"^[0-9]{4}-\"}"), "");
    CHECK_STR(compile_with("{\"geoip\":[\"source\",\"destination\"],\"index\":{\"rotation\":\"weekly\",\"tz\":\"+09:00\"}}"), "");
}

static void test_errors(void)
{
    refused("{\"detect\":{\"s3_key\":[\"ok\",\"(unclosed\"]}}", "detect.s3_key[1]", "regular expression");
    refused("{\"detect\":{\"log_group\":[\"[z-a]\"]}}", "detect.log_group[0]", "regular expression");
    refused("{\"detect\":{\"s3_key\":\"not-a-list\"}}", "detect.s3_key", NULL);
    refused("{\"fields\":{\"foo.bar\":\"ip\"}}", "fields.foo.bar", "not an ECS field");
    refused("{\"fields\":{\"sourc.ip\":\"ip\"}}", "fields.sourc.ip", "not an ECS field");
    refused("{\"static\":{\"event.category\":[\"network\",\"bogus\"]}}", "static.event.category", "\"bogus\" is not an allowed");
    refused("{\"static\":{\"event.kind\":\"incident\"}}", "static.event.kind", "not an allowed");
    refused("{\"fields\":{\"event.outcome\":{\"from\":\"act\",\"map\":{\"A\":\"ok\"}}}}", "fields.event.outcome", "\"ok\"");
    refused("{\"fields\":{\"event.type\":{\"from\":\"act\",\"map\":{},\"map_default\":\"nope\"}}}", "fields.event.type", "\"nope\"");
    refused("{\"fields\":{\"event.outcome\":{\"from\":\"act\",\"if_present\":\"yes\"}}}", "fields.event.outcome", "\"yes\"");
    refused("{\"fields\":{\"event.action\":{\"from\":\"act\",\"op\":\"reverse\"}}}", "fields.event.action", "unknown op \"reverse\"");
    refused("{\"fields\":{\"event.action\":{\"from\":\"act\",\"op\":[\"lower\",\"frobnicate\"]}}}", "fields.event.action", "frobnicate");
    refused("{\"fields\":{\"event.action\":{\"from\":\"act\",\"op\":[\"lower\",\"lower\",\"lower\",\"lower\",\"lower\"]}}}",
            "fields.event.action", "more than");
    refused("{\"fields\":{\"source.port\":{\"from\":\"ip\",\"type\":\"long\"}}}", "fields.source.port", "ECS decides");
    refused("{\"fields\":{\"aws.m.x\":{\"from\":\"ip\",\"type\":\"complex\"}}}", "fields.aws.m.x", "unknown type \"complex\"");
    refused("{\"fields\":{\"aws.m.x\":{\"op\":\"lower\"}}}", "fields.aws.m.x", "needs \"from\" or \"value\"");
    refused("{\"fields\":{\"aws.m.x\":42}}", "fields.aws.m.x", NULL);
    refused("{\"fields\":{\"event.start\":{\"from\":\"time\",\"format\":\"rfc822\"}}}", "fields.event.start", "rfc822");
    refused("{\"format\":{\"parser\":\"xml\"}}", "format.parser", "xml");
    refused("{\"format\":{\"columns\":\"time\"}}", "format", "columns");
    refused("{\"name\":null}", "name", NULL);
    refused("{\"timestamp\":null}", "timestamp", NULL);
    refused("{\"timestamp\":{\"format\":\"sometime\"}}", "timestamp.format", "sometime");
    refused("{\"timestamp\":{\"tz\":\"Tokyo\"}}", "timestamp.tz", "Tokyo");
    refused("{\"index\":{\"rotation\":\"hourly\"}}", "index.rotation", NULL);
    refused("{\"index\":{\"name\":null}}", "index.name", NULL);
    refused("{\"framing\":\"xml\"}", "framing", NULL);
    refused("{\"framing\":\"multiline\",\"first_line\":\"(\"}", "first_line", NULL);
    refused("{\"framing\":\"multiline\"}", "first_line", NULL);
    refused("{\"geoip\":[\"user\"]}", "geoip[0]", "user.ip");
    refused("{\"fields\":{\"related.ip\":{\"from\":\"ip\",\"split\":\"\"}}}", "fields.related.ip.split", "empty");
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
    rmdir(dir);
    CHECK_INT(schema_set_load(&set, "/nonexistent/schemas", err, sizeof err), -1);
    CHECK(strstr(err, "/nonexistent/schemas") != NULL);
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
    return tl_done();
}
