/* siemproc: command dispatch. Each sub-command lives in its own cli_*.c. */
#include <stdio.h>
#include <string.h>
#include "cli.h"

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
