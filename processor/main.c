/* siemproc: command dispatch. Each sub-command lives in its own cli_*.c. */
#include <stdio.h>
#include <string.h>
#include <curl/curl.h>
#include <librdkafka/rdkafka.h>
#include <openssl/crypto.h>
#include "cli.h"

/* The libraries this binary runs on; librdkafka with its compiled-in
 * features (ssl, sasl_scram, zstd, ...), as support questions need them. */
static int cmd_version(int argc, char **argv)
{
    char features[512] = "?";
    size_t n = sizeof features;
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_get(c, "builtin.features", features, &n);
    rd_kafka_conf_destroy(c);
    printf("librdkafka %s (features: %s)\n", rd_kafka_version_str(), features);
    printf("libcurl %s\n", curl_version_info(CURLVERSION_NOW)->version);
    printf("%s\n", OpenSSL_version(OPENSSL_VERSION));
    return 0;
}

static const struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} commands[] = {
    { "parse", cmd_parse, "normalize log files (plain or gzip) or stdin to ECS JSON lines" },
    { "types", cmd_types, "list the supported log types with their detection patterns" },
    { "run", cmd_run, "run a stream stage (--stage normalize): Kafka topics in, Kafka topics out" },
    { "config", cmd_config, "print the effective configuration (--print) or every key (--describe)" },
    { "setup", cmd_setup, "install index templates, lifecycle policies and dashboards into OpenSearch" },
    { "lag", cmd_lag, "consumer lag of a group per partition, from the broker (--json, --max-lag N: exit 3 above)" },
    { "replay", cmd_replay, "reset a stopped group's offsets, or copy DLQ/retry messages back (dry-run unless --execute)" },
    { "version", cmd_version, "versions of the libraries in use (librdkafka with its features, libcurl, OpenSSL)" },
};

static void usage(FILE *out)
{
    fputs("usage: siemproc COMMAND [OPTIONS]\n\ncommands:\n", out);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
    if (argc < 2) { usage(stderr); return 2; }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].fn(argc - 1, argv + 1);
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) { usage(stdout); return 0; }
    fprintf(stderr, "siemproc: unknown command \"%s\"\n", argv[1]);
    usage(stderr);
    return 2;
}
