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
