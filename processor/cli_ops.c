/* cli_ops: options and admin client of `siemproc lag` and `siemproc replay`.
 * See cli_ops.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "cli_ops.h"
#include "kadmin.h"
#include "timeparse.h"

static int parse_long(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || !*s || *end || errno) return -1;
    *out = v;
    return 0;
}

static const struct cli_opt *find_opt(const struct cli_opt *opts, const char *name, size_t len)
{
    for (const struct cli_opt *o = opts; o && o->name; o++)
        if (strlen(o->name) == len && !strncmp(o->name, name, len)) return o;
    return NULL;
}

/* Set the option from its value; 0, or -1 with err. */
static int set_opt(const struct cli_opt *o, const char *value, char *err, size_t n)
{
    if (o->kind == OPT_FLAG) {
        *(int *)o->dst = 1;
        return 0;
    }
    if (!value) {
        snprintf(err, n, "--%s needs a value", o->name);
        return -1;
    }
    if (o->kind == OPT_STR) {
        *(const char **)o->dst = value;
        return 0;
    }
    if (parse_long(value, o->dst) < 0) {
        snprintf(err, n, "--%s: \"%s\" is not a whole number", o->name, value);
        return -1;
    }
    return 0;
}

/* Take the command's own options out of argv (they win over configuration
 * flags of the same name); the rest goes to config_load. keep[] gets argv[0]
 * and what is left. Returns the count kept, or -1 with err. */
static int take_opts(int argc, char **argv, const struct cli_opt *opts, char **keep, char *err, size_t n)
{
    int kept = 0;
    keep[kept++] = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *eq = strchr(a, '=');
        const struct cli_opt *o =
            strncmp(a, "--", 2) ? NULL : find_opt(opts, a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2));
        if (!strcmp(a, "--")) {
            while (i < argc) keep[kept++] = argv[i++];
            break;
        }
        if (!o) {
            keep[kept++] = argv[i];
            continue;
        }
        const char *value = eq ? eq + 1 : o->kind != OPT_FLAG && i + 1 < argc ? argv[++i] : NULL;
        if (set_opt(o, value, err, n) < 0) return -1;
    }
    keep[kept] = NULL;
    return kept;
}

int cli_ops_load(const char *cmd, int argc, char **argv, const struct cli_opt *opts, struct config *cfg,
                 rd_kafka_t **rk)
{
    static const char *const need[] = { "brokers", NULL };
    char err[512];
    char **rest = xcalloc((size_t)argc + 1, sizeof *rest);
    int nrest = take_opts(argc, argv, opts, rest, err, sizeof err);
    int rc = nrest < 0 ? -1 : config_load(cfg, nrest, rest, NULL, NULL, err, sizeof err);
    free(rest);
    if (rc == 0) rc = config_require(cfg, need, err, sizeof err);
    if (rc == 0 && !(*rk = kadmin_client(cfg, err, sizeof err))) rc = -1;
    if (rc < 0) {
        fprintf(stderr, "siemproc %s: %s\n", cmd, err);
        if (nrest >= 0) config_free(cfg);
    }
    return rc;
}

const char *cli_ops_group(const struct config *cfg, char *buf, size_t len)
{
    if (cfg->group && *cfg->group) return cfg->group;
    if (cfg->stage && *cfg->stage) {
        snprintf(buf, len, "siemproc-%s", cfg->stage);
        return buf;
    }
    return NULL;
}

long long cli_ops_time(const char *s)
{
    long v;
    if (parse_long(s, &v) == 0) return v >= 0 ? v : -1;
    int64_t ms;
    struct ts_ctx ctx = { 0, 0 };
    if (!s || ts_parse(TS_ISO8601, s, strlen(s), &ctx, &ms) != 0) return -1;
    return ms;
}
