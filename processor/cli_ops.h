/* cli_ops: what the operations commands (lag, replay) share -- their own
 * options on top of the configuration keys, and the admin client.
 *
 * Owns the option table format (name, kind, destination) and its parse
 * errors. Must never: accept an option value it could not parse (the
 * command fails naming the option and the value). */
#ifndef SIEMPROC_CLI_OPS_H
#define SIEMPROC_CLI_OPS_H
#include <stddef.h>
#include <librdkafka/rdkafka.h>
#include "config.h"

enum cli_opt_kind { OPT_FLAG, OPT_LONG, OPT_STR };

struct cli_opt {
    const char *name;           /* without the leading -- */
    enum cli_opt_kind kind;
    void *dst;                  /* int *, long *, const char ** */
};

/* Take the table's options out of argv (they win over a configuration key
 * of the same name), load the configuration from the rest (file,
 * environment, flags), require brokers, and make an admin client. On
 * failure print "siemproc CMD: reason" and return -1 (cfg is freed). */
int cli_ops_load(const char *cmd, int argc, char **argv, const struct cli_opt *opts, struct config *cfg,
                 rd_kafka_t **rk);

/* The consumer group: --group, else siemproc-<stage> when a stage is
 * configured, else NULL. */
const char *cli_ops_group(const struct config *cfg, char *buf, size_t len);

/* Epoch ms from an ISO 8601 time (2026-01-02T03:04:05Z) or a number of
 * epoch milliseconds. -1 when neither. */
long long cli_ops_time(const char *s);
#endif
