/* cli: the siemproc sub-commands and what they share. */
#ifndef SIEMPROC_CLI_H
#define SIEMPROC_CLI_H
#include "schema.h"

struct config;

/* Load the ECS table and every schema (dir NULL: $SIEMPROC_SCHEMAS or the
 * built-in default). Prints the error and returns -1 on failure. */
int cli_load_schemas(struct schema_set *set, const char *dir);
/* The same with the fields of the CloudFront real-time log configuration
 * (the cloudfront_realtime_fields setting; NULL or "": all, documented order). */
int cli_load_schemas_with(struct schema_set *set, const char *dir, const char *cloudfront_realtime_fields);
/* The same as the stages' configuration says: schemas, cloudfront_realtime_fields. */
int cli_load_schemas_cfg(struct schema_set *set, const struct config *cfg);
const char *cli_schema_dir(const char *dir);

int cmd_parse(int argc, char **argv);
int cmd_types(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_setup(int argc, char **argv);
int cmd_lag(int argc, char **argv);
int cmd_replay(int argc, char **argv);
#endif
