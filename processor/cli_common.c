/* cli_common: helpers shared by the sub-commands. */
#include <stdio.h>
#include <stdlib.h>
#include "cli.h"
#include "config.h"

const char *cli_schema_dir(const char *dir)
{
    if (dir) return dir;
    const char *env = getenv("SIEMPROC_SCHEMAS");
    return env && *env ? env : SIEMPROC_SCHEMA_DIR;
}

int cli_load_schemas_with(struct schema_set *set, const char *dir, const char *cloudfront_realtime_fields)
{
    char err[1024], path[4096];
    const struct schema_columns cols = { "cloudfront-realtime", "cloudfront_realtime_fields", cloudfront_realtime_fields };
    dir = cli_schema_dir(dir);
    snprintf(path, sizeof path, "%s/ecs_fields.tsv", dir);
    if (ecs_load(path, err, sizeof err) < 0 || schema_set_load_columns(set, dir, &cols, 1, err, sizeof err) < 0) {
        fprintf(stderr, "siemproc: %s\n", err);
        return -1;
    }
    return 0;
}

int cli_load_schemas(struct schema_set *set, const char *dir) { return cli_load_schemas_with(set, dir, NULL); }

int cli_load_schemas_cfg(struct schema_set *set, const struct config *cfg)
{
    return cli_load_schemas_with(set, cfg->schemas[0] ? cfg->schemas : NULL, cfg->cloudfront_realtime_fields);
}

static void print_patterns(const char *label, const struct pattern_list *pl)
{
    for (int i = 0; i < pl->n; i++) printf("%s%s", i ? " | " : label, pl->src[i]);
}

int cmd_types(int argc, char **argv)
{
    struct schema_set set;
    if (cli_load_schemas(&set, NULL) < 0) return 2;
    for (int i = 0; i < set.n; i++) {
        const struct schema *sc = set.v[i];
        printf("%-22s %-28s", sc->name, sc->index_name);
        print_patterns(" s3_key: ", &sc->s3_key);
        print_patterns("  log_group: ", &sc->log_group);
        printf("\n");
    }
    schema_set_free(&set);
    return 0;
}
