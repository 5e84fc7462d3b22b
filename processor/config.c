/* config: see config.h. */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "aws_credentials.h"
#include "buf.h"
#include "config.h"
#include "msk_iam.h"

enum cfg_type { CFG_STR, CFG_INT, CFG_BOOL };

struct config_key {
    const char *name;
    enum cfg_type type;
    const char *def;
    const char *check;
    int secret;
    const char *help;
    size_t offset;
};

#define CFG_ROW(t, field, name, def, check, secret, help) \
    { name, CFG_##t, def, check, secret, help, offsetof(struct config, field) },
static const struct config_key keys[CONFIG_NKEYS] = { SIEMPROC_CONFIG_KEYS(CFG_ROW) };

static const char *const source_names[] = { "default", "file", "env", "flag" };

static const struct config_key *find_key(const char *name)
{
    for (int i = 0; i < CONFIG_NKEYS; i++)
        if (strcmp(keys[i].name, name) == 0) return &keys[i];
    return NULL;
}

static void *field_of(const struct config *cfg, const struct config_key *k)
{
    return (char *)cfg + k->offset;
}

/* "s3_endpoint" -> "s3-endpoint" (flag) or "S3_ENDPOINT" (environment). */
static void derive_name(const char *name, int env, char *out, size_t n)
{
    size_t i = 0;
    for (; name[i] && i + 1 < n; i++) {
        char c = name[i];
        if (c == '.' || c == '_' || c == '-') c = env ? '_' : '-';
        out[i] = env ? (char)toupper((unsigned char)c) : c;
    }
    out[i] = 0;
}

/* ---- values -------------------------------------------------------------- */

static int parse_bool(const char *v, int *out)
{
    static const char *const yes[] = { "true", "1", "yes", "on" }, *const no[] = { "false", "0", "no", "off" };
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) { *out = 1; return 0; }
        if (strcasecmp(v, no[i]) == 0) { *out = 0; return 0; }
    }
    return -1;
}

static int parse_int(const struct config_key *k, const char *v, long *out, char *err, size_t n)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end) {
        snprintf(err, n, "%s: \"%s\" is not an integer", k->name, v);
        return -1;
    }
    long lo, hi;
    if (sscanf(k->check, "%ld..%ld", &lo, &hi) == 2 && (x < lo || x > hi)) {
        snprintf(err, n, "%s: %ld is out of range %ld..%ld", k->name, x, lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

/* A STR key with a check accepts only the listed words. */
static int check_choice(const struct config_key *k, const char *v, char *err, size_t n)
{
    if (!k->check[0]) return 0;
    size_t len = strlen(v);
    for (const char *p = k->check; *p;) {
        const char *bar = strchr(p, '|');
        size_t wl = bar ? (size_t)(bar - p) : strlen(p);
        if (wl == len && strncmp(p, v, len) == 0) return 0;
        p += wl + (bar ? 1 : 0);
    }
    snprintf(err, n, "%s: \"%s\" is not one of %s", k->name, v, k->check);
    return -1;
}

static int set_key(struct config *cfg, const struct config_key *k, const char *v, char *err, size_t n)
{
    void *f = field_of(cfg, k);
    switch (k->type) {
    case CFG_INT: return parse_int(k, v, f, err, n);
    case CFG_BOOL:
        if (parse_bool(v, f) == 0) return 0;
        snprintf(err, n, "%s: \"%s\" is not a boolean (true/false)", k->name, v);
        return -1;
    case CFG_STR:
        if (check_choice(k, v, err, n) < 0) return -1;
        free(*(char **)f);
        *(char **)f = xstrdup(v);
        return 0;
    }
    return -1;
}

/* kafka.X, kafka.consumer.X, kafka.producer.X: a later value replaces an earlier one. */
static int set_kafka(struct config *cfg, const char *name, const char *value, char *err, size_t n)
{
    int role = CFG_ROLE_ALL;
    const char *prop = name + 6;
    if (strncmp(prop, "consumer.", 9) == 0) { role = CFG_ROLE_CONSUMER; prop += 9; }
    else if (strncmp(prop, "producer.", 9) == 0) { role = CFG_ROLE_PRODUCER; prop += 9; }
    if (!*prop) {
        snprintf(err, n, "%s: a librdkafka property name must follow the prefix", name);
        return -1;
    }
    for (int i = 0; i < cfg->nkafka; i++) {
        if (cfg->kafka[i].role == role && strcmp(cfg->kafka[i].name, prop) == 0) {
            free(cfg->kafka[i].value);
            cfg->kafka[i].value = xstrdup(value);
            return 0;
        }
    }
    cfg->kafka = xrealloc(cfg->kafka, (size_t)(cfg->nkafka + 1) * sizeof *cfg->kafka);
    cfg->kafka[cfg->nkafka++] = (struct config_kv){ xstrdup(prop), xstrdup(value), role };
    return 0;
}

int config_set(struct config *cfg, const char *name, const char *value, enum cfg_source src,
               char *err, size_t errlen)
{
    if (strncmp(name, "kafka.", 6) == 0) return set_kafka(cfg, name, value, err, errlen);
    const struct config_key *k = find_key(name);
    if (!k) {
        snprintf(err, errlen, "%s: unknown configuration key (see `siemproc config --describe`)", name);
        return -1;
    }
    if (set_key(cfg, k, value, err, errlen) < 0) return -1;
    cfg->source[k - keys] = (unsigned char)src;
    return 0;
}

void config_init(struct config *cfg)
{
    char err[256];
    memset(cfg, 0, sizeof *cfg);
    for (int i = 0; i < CONFIG_NKEYS; i++)
        if (set_key(cfg, &keys[i], keys[i].def, err, sizeof err) < 0) {
            fprintf(stderr, "siemproc: bad built-in default: %s\n", err);
            abort();
        }
}

void config_free(struct config *cfg)
{
    for (int i = 0; i < CONFIG_NKEYS; i++)
        if (keys[i].type == CFG_STR) free(*(char **)field_of(cfg, &keys[i]));
    for (int i = 0; i < cfg->nkafka; i++) { free(cfg->kafka[i].name); free(cfg->kafka[i].value); }
    free(cfg->kafka);
    free(cfg->config_file);
    memset(cfg, 0, sizeof *cfg);
}

/* ---- file ---------------------------------------------------------------- */

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = 0;
    return s;
}

/* One line: blank, "# comment", or "key = value" (a value may be quoted to keep
 * spaces or a '#'; otherwise " #..." ends it). */
static int file_line(struct config *cfg, char *line, const char *path, int lineno, char *err, size_t n)
{
    char *s = trim(line);
    if (!*s || *s == '#') return 0;
    char *eq = strchr(s, '=');
    if (!eq) {
        snprintf(err, n, "%s:%d: expected key = value", path, lineno);
        return -1;
    }
    *eq = 0;
    char *key = trim(s), *val = trim(eq + 1);
    size_t vl = strlen(val);
    if (vl >= 2 && (val[0] == '"' || val[0] == '\'') && val[vl - 1] == val[0]) {
        val[vl - 1] = 0;
        val++;
    } else {
        char *hash = strstr(val, " #");
        if (hash) { *hash = 0; val = trim(val); }
    }
    char kerr[400];
    if (config_set(cfg, key, val, CFG_SRC_FILE, kerr, sizeof kerr) < 0) {
        snprintf(err, n, "%s:%d: %s", path, lineno, kerr);
        return -1;
    }
    return 0;
}

int config_read_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        snprintf(err, errlen, "config: %s: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, rc = 0;
    while (rc == 0 && getline(&line, &cap, fp) > 0) rc = file_line(cfg, line, path, ++lineno, err, errlen);
    free(line);
    fclose(fp);
    return rc;
}

/* ---- environment ----------------------------------------------------------- */

extern char **environ;

/* SIEMPROC_<KEY> for table keys; SIEMPROC_KAFKA_A_B for kafka.a.b. Other
 * SIEMPROC_* variables belong to tools and tests and are left alone. */
static int load_env(struct config *cfg, char *err, size_t n)
{
    char envname[128];
    for (int i = 0; i < CONFIG_NKEYS; i++) {
        snprintf(envname, sizeof envname, "SIEMPROC_");
        derive_name(keys[i].name, 1, envname + 9, sizeof envname - 9);
        const char *v = getenv(envname);
        if (v && config_set(cfg, keys[i].name, v, CFG_SRC_ENV, err, n) < 0) return -1;
    }
    for (char **e = environ; *e; e++) {
        if (strncmp(*e, "SIEMPROC_KAFKA_", 15) != 0) continue;
        const char *eq = strchr(*e, '=');
        if (!eq) continue;
        char name[256];
        size_t len = (size_t)(eq - *e) - 9;
        if (len >= sizeof name) continue;
        for (size_t j = 0; j < len; j++) {
            char c = (*e)[9 + j];
            name[j] = c == '_' ? '.' : (char)tolower((unsigned char)c);
        }
        name[len] = 0;
        if (config_set(cfg, name, eq + 1, CFG_SRC_ENV, err, n) < 0) return -1;
    }
    return 0;
}

/* ---- flags --------------------------------------------------------------- */

static const struct config_key *find_flag(const char *flag, size_t len)
{
    char name[128];
    for (int i = 0; i < CONFIG_NKEYS; i++) {
        derive_name(keys[i].name, 0, name, sizeof name);
        if (strlen(name) == len && strncmp(name, flag, len) == 0) return &keys[i];
    }
    return NULL;
}

/* "--name[=value]" at argv[*i]; advances *i past what it used. */
static int one_flag(struct config *cfg, int argc, char **argv, int *i, config_extra_fn extra, void *arg,
                    char *err, size_t n)
{
    const char *opt = argv[*i] + 2, *eq = strchr(opt, '=');
    size_t len = eq ? (size_t)(eq - opt) : strlen(opt);
    const char *value = eq ? eq + 1 : *i + 1 < argc ? argv[*i + 1] : NULL;
    int used_next = !eq;
    const struct config_key *k = find_flag(opt, len);
    if (k && k->type == CFG_BOOL && !eq) { value = "true"; used_next = 0; }
    if (k || (len == 3 && strncmp(opt, "set", 3) == 0) || (len == 6 && strncmp(opt, "config", 6) == 0)) {
        if (!value) { snprintf(err, n, "--%.*s needs a value", (int)len, opt); return -1; }
        *i += 1 + used_next;
        if (k) return config_set(cfg, k->name, value, CFG_SRC_FLAG, err, n);
        if (opt[0] == 'c') return 0;             /* --config was read first */
        const char *e2 = strchr(value, '=');
        if (!e2) { snprintf(err, n, "--set %s: expected KEY=VALUE", value); return -1; }
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(e2 - value), value);
        return config_set(cfg, name, e2 + 1, CFG_SRC_FLAG, err, n);
    }
    char optname[128];
    snprintf(optname, sizeof optname, "%.*s", (int)len, opt);
    int consumed = 0;
    if (extra && extra(arg, optname, eq ? eq + 1 : *i + 1 < argc ? argv[*i + 1] : NULL, &consumed)) {
        *i += 1 + (eq ? 0 : consumed);
        return 0;
    }
    snprintf(err, n, "unknown option --%s (see `siemproc config --describe`)", optname);
    return -1;
}

static const char *find_config_flag(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
        if (strncmp(argv[i], "--config=", 9) == 0) return argv[i] + 9;
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) return argv[i + 1];
    }
    return NULL;
}

int config_load(struct config *cfg, int argc, char **argv, config_extra_fn extra, void *arg,
                char *err, size_t errlen)
{
    config_init(cfg);
    const char *file = find_config_flag(argc, argv);
    if (!file) file = getenv("SIEMPROC_CONFIG");
    if (file && *file) {
        cfg->config_file = xstrdup(file);
        if (config_read_file(cfg, file, err, errlen) < 0) return -1;
    }
    if (load_env(cfg, err, errlen) < 0) return -1;
    for (int i = 1; i < argc;) {
        if (strcmp(argv[i], "--") == 0) break;
        if (strncmp(argv[i], "--", 2) != 0) {
            snprintf(err, errlen, "unexpected argument \"%s\"", argv[i]);
            return -1;
        }
        if (one_flag(cfg, argc, argv, &i, extra, arg, err, errlen) < 0) return -1;
    }
    return 0;
}

int config_require(const struct config *cfg, const char *const *names, char *err, size_t errlen)
{
    for (; *names; names++) {
        const struct config_key *k = find_key(*names);
        if (!k || k->type != CFG_STR) continue;
        const char *v = *(char **)field_of(cfg, k);
        if (v && *v) continue;
        char flag[128], env[128];
        derive_name(k->name, 0, flag, sizeof flag);
        derive_name(k->name, 1, env, sizeof env);
        snprintf(err, errlen, "%s: missing (--%s, SIEMPROC_%s or \"%s = ...\" in the config file)", k->name, flag, env,
                 k->name);
        return -1;
    }
    return 0;
}

/* ---- output -------------------------------------------------------------- */

int config_is_secret(const char *name)
{
    static const char *const words[] = { "password", "secret", "token", "sasl.oauthbearer.config",
                                         "ssl.key.pem", "ssl_key", "private" };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strstr(name, words[i])) return 1;
    return 0;
}

static void format_value(const struct config *cfg, const struct config_key *k, buf_t *out)
{
    const void *f = field_of(cfg, k);
    switch (k->type) {
    case CFG_INT: buf_printf(out, "%ld", *(const long *)f); break;
    case CFG_BOOL: buf_puts(out, *(const int *)f ? "true" : "false"); break;
    case CFG_STR: {
        const char *s = *(char *const *)f;
        buf_puts(out, (k->secret || config_is_secret(k->name)) && *s ? "********" : s);
        break;
    }
    }
}

void config_print(const struct config *cfg, FILE *out)
{
    static const char *const prefix[] = { "kafka.", "kafka.consumer.", "kafka.producer." };
    buf_t v;
    buf_init(&v);
    fprintf(out, "# siemproc effective configuration; config file: %s\n",
            cfg->config_file ? cfg->config_file : "(none)");
    for (int i = 0; i < CONFIG_NKEYS; i++) {
        buf_reset(&v);
        format_value(cfg, &keys[i], &v);
        fprintf(out, "%-20s = %-30s # %s\n", keys[i].name, buf_cstr(&v), source_names[cfg->source[i]]);
    }
    for (int i = 0; i < cfg->nkafka; i++) {
        const struct config_kv *kv = &cfg->kafka[i];
        fprintf(out, "%s%s = %s\n", prefix[kv->role], kv->name, config_is_secret(kv->name) ? "********" : kv->value);
    }
    buf_free(&v);
}

static const char *type_name(const struct config_key *k)
{
    return k->type == CFG_INT ? "integer" : k->type == CFG_BOOL ? "boolean" : k->check[0] ? "choice" : "string";
}

/* A Markdown table cell: '|' must be escaped. */
static void md_cell(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '|') fputc('\\', out);
        fputc(*s, out);
    }
}

static void describe_key(FILE *out, const struct config_key *k, int markdown)
{
    char flag[128], env[128], range[96] = "";
    derive_name(k->name, 0, flag, sizeof flag);
    derive_name(k->name, 1, env, sizeof env);
    if (k->check[0]) snprintf(range, sizeof range, " (%s)", k->check);
    if (!markdown) {
        fprintf(out, "# %s. %s%s, --%s, SIEMPROC_%s\n#%s = %s\n\n", k->help, type_name(k), range, flag, env,
                k->name, k->def);
        return;
    }
    fprintf(out, "| `%s` | `--%s` | `SIEMPROC_%s` | %s", k->name, flag, env, type_name(k));
    md_cell(out, range);
    fprintf(out, k->def[0] ? " | `%s` | " : " | %s(empty) | ", k->def);
    md_cell(out, k->help);
    fputs(" |\n", out);
}

void config_describe(FILE *out, int markdown)
{
    if (markdown)
        fputs("| key | flag | environment | type | default | description |\n| --- | --- | --- | --- | --- | --- |\n", out);
    else
        fputs("# siemproc configuration file: `key = value`, one per line; # starts a comment.\n"
              "# Every key can also be given as --flag or SIEMPROC_<KEY>; precedence: default < file < env < flag.\n"
              "# librdkafka properties pass through as kafka.<property> (all clients),\n"
              "# kafka.consumer.<property> or kafka.producer.<property>.\n\n", out);
    for (int i = 0; i < CONFIG_NKEYS; i++) describe_key(out, &keys[i], markdown);
    if (!markdown) fputs("# Example librdkafka pass-through:\n#kafka.security.protocol = SASL_SSL\n", out);
}

/* ---- librdkafka ---------------------------------------------------------- */

static int rk_set(rd_kafka_conf_t *c, const char *name, const char *value, char *err, size_t n)
{
    char rkerr[256];
    if (rd_kafka_conf_set(c, name, value, rkerr, sizeof rkerr) == RD_KAFKA_CONF_OK) return 0;
    snprintf(err, n, "kafka.%s: %s", name, rkerr);
    return -1;
}

/* ---- MSK IAM ---------------------------------------------------------------
 * librdkafka hands the refresh callback the sasl.oauthbearer.config string
 * (the client's opaque belongs to its owner), so that string carries what the
 * callback needs: "region=R profile=P". A credential provider per refresh is
 * cheap: librdkafka refreshes a 15-minute token once every 12 minutes. */

static void msk_token_refresh(rd_kafka_t *rk, const char *oauthbearer_config, void *opaque)
{
    char region[64] = "", profile[128] = "";
    if (oauthbearer_config) sscanf(oauthbearer_config, "region=%63s profile=%127s", region, profile);
    struct aws_cred_options co = { .profile = profile[0] && strcmp(profile, "-") ? profile : NULL, .region = region };
    struct aws_cred_provider *creds = aws_cred_provider_new(&co);
    struct msk_iam_ctx ctx = { .creds = creds, .region = region };
    if (creds) msk_iam_refresh(rk, &ctx);
    else rd_kafka_oauthbearer_set_token_failure(rk, "aws_msk_iam: out of memory");
    aws_cred_provider_destroy(creds);
}

static int msk_iam_setup(const struct config *cfg, rd_kafka_conf_t *c, char *err, size_t n)
{
    char mech[64] = "", region[64], oc[256];
    size_t ml = sizeof mech;
    rd_kafka_conf_get(c, "sasl.mechanisms", mech, &ml);
    if (strcmp(mech, "OAUTHBEARER") != 0) {
        snprintf(err, n, "aws_msk_iam: needs kafka.sasl.mechanism = OAUTHBEARER, not \"%s\"", mech);
        return -1;
    }
    const char *profile = cfg->aws_profile[0] ? cfg->aws_profile : NULL;
    if (cfg->aws_region[0]) snprintf(region, sizeof region, "%s", cfg->aws_region);
    else if (aws_resolve_region(profile, region, sizeof region) != 0) {
        snprintf(err, n, "aws_region: missing (aws_msk_iam signs for a region: --aws-region, AWS_REGION)");
        return -1;
    }
    snprintf(oc, sizeof oc, "region=%s profile=%s", region, profile ? profile : "-");
    if (rk_set(c, "sasl.oauthbearer.config", oc, err, n) < 0) return -1;
    rd_kafka_conf_set_oauthbearer_token_refresh_cb(c, msk_token_refresh);
    return 0;
}

rd_kafka_conf_t *config_kafka_conf(const struct config *cfg, int role, const char *const *defaults,
                                   char *err, size_t errlen)
{
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    int rc = cfg->brokers && *cfg->brokers ? rk_set(c, "bootstrap.servers", cfg->brokers, err, errlen) : 0;
    rc = rc ? rc : rk_set(c, "client.id", "siemproc", err, errlen);
    if (rc == 0 && cfg->aws_msk_iam) {          /* MSK's IAM listener: overridable like any default */
        rc = rk_set(c, "security.protocol", "SASL_SSL", err, errlen);
        rc = rc ? rc : rk_set(c, "sasl.mechanism", "OAUTHBEARER", err, errlen);
    }
    for (; rc == 0 && defaults && defaults[0]; defaults += 2) rc = rk_set(c, defaults[0], defaults[1], err, errlen);
    for (int pass = 0; pass < 2 && rc == 0; pass++)          /* kafka.X first, then the role's own */
        for (int i = 0; i < cfg->nkafka && rc == 0; i++)
            if ((pass == 0 && cfg->kafka[i].role == CFG_ROLE_ALL) || (pass == 1 && cfg->kafka[i].role == role))
                rc = rk_set(c, cfg->kafka[i].name, cfg->kafka[i].value, err, errlen);
    if (rc == 0 && cfg->aws_msk_iam) rc = msk_iam_setup(cfg, c, err, errlen);
    if (rc < 0) {
        rd_kafka_conf_destroy(c);
        return NULL;
    }
    return c;
}

const char *config_map_get(const char *map, const char *key, char *out, size_t outlen)
{
    size_t kl = strlen(key);
    for (const char *p = map; p && *p;) {
        const char *comma = strchr(p, ','), *end = comma ? comma : p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (eq) {
            const char *k = p, *ke = eq, *v = eq + 1, *ve = end;
            while (k < ke && isspace((unsigned char)*k)) k++;
            while (ke > k && isspace((unsigned char)ke[-1])) ke--;
            while (v < ve && isspace((unsigned char)*v)) v++;
            while (ve > v && isspace((unsigned char)ve[-1])) ve--;
            if ((size_t)(ke - k) == kl && strncmp(k, key, kl) == 0) {
                if ((size_t)(ve - v) >= outlen) return NULL;
                memcpy(out, v, (size_t)(ve - v));
                out[ve - v] = 0;
                return out;
            }
        }
        p = comma ? comma + 1 : end;
    }
    return NULL;
}
