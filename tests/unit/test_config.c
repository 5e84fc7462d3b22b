/* test_config: the configuration table and everything derived from it:
 * defaults, the file reader, environment overrides, flags, precedence,
 * validation messages that name the key and value, kafka.* pass-through into
 * a real rd_kafka_conf_t, secret masking, required keys, the README table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "config.h"
#include "testlib.h"

static char err[1024];

static const char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/siemproc-test-config-%d.conf", (int)getpid());
    FILE *fp = fopen(path, "w");
    fputs(text, fp);
    fclose(fp);
    return path;
}

static int load(struct config *cfg, int argc, char **argv)
{
    err[0] = 0;
    return config_load(cfg, argc, argv, NULL, NULL, err, sizeof err);
}

static void test_defaults(void)
{
    struct config c;
    config_init(&c);
    CHECK_STR(c.output_topic, "ecs-normalized");
    CHECK_STR(c.retry_topic, "ecs-retry");
    CHECK_INT(c.workers, 2);
    CHECK_INT(c.keep_original, 0);
    CHECK_STR(c.compression, "lz4");
    CHECK_INT(c.nkafka, 0);
    config_free(&c);
}

static void test_file_env_flags(void)
{
    const char *path = write_tmp("# a comment\n\nbrokers = a:1,b:2   # trailing comment\n"
                                 "workers=4\nindex_prefix = \"x # y\"\nkeep_original = yes\n"
                                 "kafka.security.protocol = SASL_SSL\nkafka.producer.linger.ms = 7\n");
    setenv("SIEMPROC_WORKERS", "5", 1);
    setenv("SIEMPROC_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512", 1);
    char *argv[] = { "run", "--config", (char *)path, "--output-topic=out", "--topics", "t1,t2",
                     "--keep-original=false", "--set", "kafka.consumer.fetch.wait.max.ms=50", NULL };
    struct config c;
    CHECK_INT(load(&c, 9, argv), 0);
    CHECK_STR(c.brokers, "a:1,b:2");
    CHECK_INT(c.workers, 5);                       /* env beats the file */
    CHECK_STR(c.index_prefix, "x # y");
    CHECK_INT(c.keep_original, 0);                 /* flag beats the file */
    CHECK_STR(c.output_topic, "out");
    CHECK_STR(c.topics, "t1,t2");
    CHECK_INT(c.nkafka, 4);
    char *out = NULL;
    size_t outlen = 0;
    FILE *fp = open_memstream(&out, &outlen);
    config_print(&c, fp);
    fclose(fp);
    CHECK(strstr(out, "workers              = 5") != NULL);
    CHECK(strstr(out, "# env") != NULL);
    CHECK(strstr(out, "kafka.producer.linger.ms = 7") != NULL);
    CHECK(strstr(out, "kafka.sasl.mechanism = SCRAM-SHA-512") != NULL);
    CHECK(strstr(out, "kafka.consumer.fetch.wait.max.ms = 50") != NULL);
    free(out);
    config_free(&c);
    unsetenv("SIEMPROC_WORKERS");
    unsetenv("SIEMPROC_KAFKA_SASL_MECHANISM");
    unlink(path);
}

static void check_load_error(const char *const *args, int n, const char *want)
{
    char *argv[16] = { "run" };
    for (int i = 0; i < n; i++) argv[i + 1] = (char *)args[i];
    struct config c;
    CHECK_INT(load(&c, n + 1, argv), -1);
    if (!strstr(err, want)) tl_fail(__FILE__, __LINE__, want, err);
    else tl_passed++;
    config_free(&c);
}

static void test_errors(void)
{
    check_load_error((const char *[]){ "--workers", "many" }, 2, "workers: \"many\" is not an integer");
    check_load_error((const char *[]){ "--workers=0" }, 1, "workers: 0 is out of range 1..256");
    check_load_error((const char *[]){ "--compression", "brotli" }, 2, "compression: \"brotli\" is not one of none|gzip|snappy|lz4|zstd");
    check_load_error((const char *[]){ "--keep-original=maybe" }, 1, "keep_original: \"maybe\" is not a boolean");
    check_load_error((const char *[]){ "--no-such-flag", "1" }, 2, "unknown option --no-such-flag");
    check_load_error((const char *[]){ "--set", "nosuchkey=1" }, 2, "nosuchkey: unknown configuration key");
    check_load_error((const char *[]){ "--set", "workers" }, 2, "expected KEY=VALUE");
    check_load_error((const char *[]){ "--brokers" }, 1, "--brokers needs a value");
    check_load_error((const char *[]){ "stray" }, 1, "unexpected argument \"stray\"");
    const char *path = write_tmp("brokers = x\nworkrs = 3\n");
    check_load_error((const char *[]){ "--config", path }, 2, ":2: workrs: unknown configuration key");
    path = write_tmp("just words\n");
    check_load_error((const char *[]){ "--config", path }, 2, ":1: expected key = value");
    unlink(path);
    check_load_error((const char *[]){ "--config", "/nonexistent/x.conf" }, 2, "/nonexistent/x.conf: No such file");
    setenv("SIEMPROC_MAX_INFLIGHT", "-3", 1);
    check_load_error(NULL, 0, "max_inflight: -3 is out of range");
    unsetenv("SIEMPROC_MAX_INFLIGHT");
}

static void test_require_and_secrets(void)
{
    struct config c;
    config_init(&c);
    const char *const req[] = { "output_topic", "brokers", NULL };
    CHECK_INT(config_require(&c, req, err, sizeof err), -1);
    CHECK(strstr(err, "brokers: missing (--brokers, SIEMPROC_BROKERS") != NULL);
    CHECK_INT(config_set(&c, "brokers", "h:1", CFG_SRC_FLAG, err, sizeof err), 0);
    CHECK_INT(config_require(&c, req, err, sizeof err), 0);
    CHECK_INT(config_set(&c, "kafka.sasl.password", "hunter2", CFG_SRC_FILE, err, sizeof err), 0);
    CHECK_INT(config_set(&c, "kafka.ssl.key.password", "hunter3", CFG_SRC_FILE, err, sizeof err), 0);
    CHECK_INT(config_set(&c, "kafka.sasl.password", "hunter4", CFG_SRC_FILE, err, sizeof err), 0);
    CHECK_INT(c.nkafka, 2);                        /* a later value replaces the earlier */
    CHECK_INT(config_set(&c, "kafka.", "x", CFG_SRC_FILE, err, sizeof err), -1);
    char *out = NULL;
    size_t outlen = 0;
    FILE *fp = open_memstream(&out, &outlen);
    config_print(&c, fp);
    fclose(fp);
    CHECK(strstr(out, "hunter") == NULL);
    CHECK(strstr(out, "kafka.sasl.password = ********") != NULL);
    free(out);
    CHECK(config_is_secret("opensearch_password"));
    CHECK(!config_is_secret("brokers"));
    config_free(&c);
}

static void test_kafka_conf(void)
{
    struct config c;
    config_init(&c);
    config_set(&c, "brokers", "h1:9092", CFG_SRC_FLAG, err, sizeof err);
    config_set(&c, "kafka.linger.ms", "15", CFG_SRC_FILE, err, sizeof err);
    config_set(&c, "kafka.producer.linger.ms", "25", CFG_SRC_FILE, err, sizeof err);
    config_set(&c, "kafka.consumer.fetch.wait.max.ms", "77", CFG_SRC_FILE, err, sizeof err);
    const char *const defaults[] = { "linger.ms", "5", "batch.num.messages", "1234", NULL };
    char v[256];
    size_t vl;
    rd_kafka_conf_t *p = config_kafka_conf(&c, CFG_ROLE_PRODUCER, defaults, err, sizeof err);
    CHECK(p != NULL);
    vl = sizeof v;
    CHECK(rd_kafka_conf_get(p, "bootstrap.servers", v, &vl) == RD_KAFKA_CONF_OK && strcmp(v, "h1:9092") == 0);
    vl = sizeof v;
    CHECK(rd_kafka_conf_get(p, "linger.ms", v, &vl) == RD_KAFKA_CONF_OK && strcmp(v, "25") == 0);
    vl = sizeof v;
    CHECK(rd_kafka_conf_get(p, "batch.num.messages", v, &vl) == RD_KAFKA_CONF_OK && strcmp(v, "1234") == 0);
    vl = sizeof v;
    CHECK(rd_kafka_conf_get(p, "fetch.wait.max.ms", v, &vl) == RD_KAFKA_CONF_OK && strcmp(v, "77") != 0);
    rd_kafka_conf_destroy(p);
    rd_kafka_conf_t *k = config_kafka_conf(&c, CFG_ROLE_CONSUMER, NULL, err, sizeof err);
    vl = sizeof v;
    CHECK(rd_kafka_conf_get(k, "linger.ms", v, &vl) == RD_KAFKA_CONF_OK && strcmp(v, "15") == 0);
    vl = sizeof v;
    CHECK(rd_kafka_conf_get(k, "fetch.wait.max.ms", v, &vl) == RD_KAFKA_CONF_OK && strcmp(v, "77") == 0);
    rd_kafka_conf_destroy(k);
    config_set(&c, "kafka.no.such.property", "1", CFG_SRC_FILE, err, sizeof err);
    CHECK(config_kafka_conf(&c, CFG_ROLE_CONSUMER, NULL, err, sizeof err) == NULL);
    CHECK(strstr(err, "kafka.no.such.property:") != NULL);
    config_free(&c);
}

static void test_map_and_describe(void)
{
    char v[64];
    CHECK_STR(config_map_get("raw-vpc=vpcflowlogs, raw-ct = cloudtrail", "raw-ct", v, sizeof v), "cloudtrail");
    CHECK_STR(config_map_get("raw-vpc=vpcflowlogs,raw-ct=cloudtrail", "raw-vpc", v, sizeof v), "vpcflowlogs");
    CHECK(config_map_get("raw-vpc=vpcflowlogs", "raw", v, sizeof v) == NULL);
    CHECK(config_map_get("", "raw", v, sizeof v) == NULL);
    char *out = NULL;
    size_t outlen = 0;
    FILE *fp = open_memstream(&out, &outlen);
    config_describe(fp, 1);
    fclose(fp);
    CHECK(strstr(out, "| `s3_endpoint` | `--s3-endpoint` | `SIEMPROC_S3_ENDPOINT` | string |") != NULL);
    CHECK(strstr(out, "| `workers` | `--workers` | `SIEMPROC_WORKERS` | integer (1..256) | `2` |") != NULL);
    free(out);
}

static int extra_seen;
static int extra(void *arg, const char *opt, const char *value, int *consumed)
{
    if (strcmp(opt, "dry-run") != 0) return 0;
    extra_seen++;
    *consumed = 0;
    return 1;
}

static void test_extra_options(void)
{
    char *argv[] = { "x", "--dry-run", "--workers", "3", "--", "ignored", NULL };
    struct config c;
    CHECK_INT(config_load(&c, 6, argv, extra, NULL, err, sizeof err), 0);
    CHECK_INT(extra_seen, 1);
    CHECK_INT(c.workers, 3);
    config_free(&c);
}

static char token_error[512];
static void on_client_error(rd_kafka_t *rk, int e, const char *reason, void *opaque)
{
    if (strstr(reason, "OAUTHBEARER")) snprintf(token_error, sizeof token_error, "%s", reason);
}

/* The refresh callback runs when the client starts; a failure comes back as an error event. */
static const char *token_refresh_outcome(rd_kafka_conf_t *k)
{
    token_error[0] = 0;
    rd_kafka_conf_set_error_cb(k, on_client_error);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, k, err, sizeof err);
    for (int i = 0; i < 10; i++) rd_kafka_poll(rk, 50);
    rd_kafka_destroy(rk);
    return token_error;
}

static void test_msk_iam(void)
{
    struct config c;
    config_init(&c);
    setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    config_set(&c, "brokers", "127.0.0.1:1", CFG_SRC_FLAG, err, sizeof err);
    config_set(&c, "aws_msk_iam", "true", CFG_SRC_FLAG, err, sizeof err);
    config_set(&c, "kafka.log_level", "0", CFG_SRC_FLAG, err, sizeof err);    /* connection refused is expected */
    CHECK(config_kafka_conf(&c, CFG_ROLE_PRODUCER, NULL, err, sizeof err) == NULL);
    CHECK(strstr(err, "aws_region: missing") != NULL);
    config_set(&c, "aws_region", "eu-west-1", CFG_SRC_FLAG, err, sizeof err);
    char v[256];
    size_t vl = sizeof v;
    rd_kafka_conf_t *k = config_kafka_conf(&c, CFG_ROLE_PRODUCER, NULL, err, sizeof err);
    CHECK(k != NULL);
    CHECK(rd_kafka_conf_get(k, "security.protocol", v, &vl) == RD_KAFKA_CONF_OK && strcasecmp(v, "SASL_SSL") == 0);
    vl = sizeof v;
    CHECK(rd_kafka_conf_get(k, "sasl.mechanisms", v, &vl) == RD_KAFKA_CONF_OK && strcmp(v, "OAUTHBEARER") == 0);
    vl = sizeof v;
    CHECK(rd_kafka_conf_get(k, "sasl.oauthbearer.config", v, &vl) == RD_KAFKA_CONF_OK &&
          strcmp(v, "region=eu-west-1 profile=-") == 0);
    /* No credentials anywhere: the token cannot be made, and librdkafka says why. */
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    CHECK(strstr(token_refresh_outcome(k), "OAUTHBEARER") != NULL);
    /* With credentials the token is set: no failure event. */
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
    k = config_kafka_conf(&c, CFG_ROLE_PRODUCER, NULL, err, sizeof err);
    CHECK_STR(token_refresh_outcome(k), "");
    config_set(&c, "kafka.sasl.mechanism", "SCRAM-SHA-512", CFG_SRC_FLAG, err, sizeof err);
    CHECK(config_kafka_conf(&c, CFG_ROLE_CONSUMER, NULL, err, sizeof err) == NULL);
    CHECK(strstr(err, "aws_msk_iam: needs kafka.sasl.mechanism = OAUTHBEARER, not \"SCRAM-SHA-512\"") != NULL);
    config_free(&c);
}

int main(void)
{
    test_defaults();
    test_file_env_flags();
    test_errors();
    test_require_and_secrets();
    test_kafka_conf();
    test_map_and_describe();
    test_extra_options();
    test_msk_iam();
    return tl_done();
}
