/* index_templates.h - the cluster objects `siemproc setup` installs, built
 * from the schemas and the ECS table (never written by hand): composable
 * index templates with ECS mappings per index, the shared component
 * template, and the retention / rollover policy (ISM on OpenSearch, ILM on
 * Elasticsearch).
 *
 * Owns: grouping log types by index name, the ECS-type -> mapping-type table
 * per cluster flavour, which fields a template declares, policy JSON.
 * Must never: talk to a cluster (cli_setup.c does), or declare a field with
 * a type other than the one ECS or the schema gives it.
 *
 * Which fields: every ECS field of every field set a log type writes to
 * (source.ip -> all of source.*, so GeoIP's source.geo.location and
 * source.as.* are there too), the field sets the engine adds to every
 * document (@timestamp, event, ecs, cloud, related), the GeoIP prefixes, and
 * the vendor fields (aws.*) whose schema rule declares a type. Anything else
 * is mapped by the dynamic templates of the component template: strings as
 * keyword (ignore_above 1024), no date detection. */
#ifndef SIEMPROC_INDEX_TEMPLATES_H
#define SIEMPROC_INDEX_TEMPLATES_H

#include <jansson.h>
#include <stdbool.h>

#include "schema.h"

#define TMPL_BASE_COMPONENT "siemproc-base"
#define TMPL_POLICY_RETENTION "siemproc-retention"
#define TMPL_POLICY_ROLLOVER "siemproc-rollover"

struct tmpl_flavor {
    bool elasticsearch;   /* else OpenSearch */
    bool serverless;      /* OpenSearch Serverless: no shard settings, no ISM */
    bool no_ism;          /* OpenSearch without the ISM plugin: its settings would be refused */
    int major, minor;
};

struct tmpl_settings {
    long shards, replicas;
    long retention_days;  /* 0 = keep forever */
    long rollover_days, rollover_gb;
    const char *index_prefix; /* "" or NULL for none */
};

/* The log types that write to one index name. */
struct tmpl_group {
    char *index;          /* prefix + schema index name */
    const struct schema **sc;
    int n;
    bool rollover;        /* no time rotation: a write alias with rollover */
};

struct tmpl_groups {
    struct tmpl_group *v;
    int n;
};

/* Group the schemas by index name (two types of one index must agree on
 * rotation). Returns 0, or -1 with err. */
int tmpl_group_schemas(const struct schema_set *set, const char *index_prefix, struct tmpl_groups *out,
                       char *err, size_t errlen);
void tmpl_groups_free(struct tmpl_groups *g);

/* Name and index pattern of the group's template ("siemproc-log-aws-elb",
 * "log-aws-elb-*"), into out. */
void tmpl_template_name(const struct tmpl_group *g, char *out, size_t n);
void tmpl_index_pattern(const struct tmpl_group *g, char *out, size_t n);

/* Mapping of one ECS type for the flavour, e.g. {"type":"ip"}. New reference. */
json_t *tmpl_type_mapping(enum ecs_type t, const struct tmpl_flavor *f);

/* The "properties" tree of a group. NULL with err on a type conflict. */
json_t *tmpl_properties(const struct tmpl_group *g, const struct tmpl_flavor *f, char *err, size_t errlen);

/* PUT _component_template/siemproc-base body: settings and dynamic templates. */
json_t *tmpl_base_component(const struct tmpl_settings *s, const struct tmpl_flavor *f);

/* PUT _index_template/<name> body. NULL with err. */
json_t *tmpl_index_template(const struct tmpl_group *g, const struct tmpl_settings *s,
                            const struct tmpl_flavor *f, char *err, size_t errlen);

/* Lifecycle policy body for the groups with (rollover) or without time
 * rotation: ISM (_plugins/_ism/policies/<name>) or ILM (_ilm/policy/<name>).
 * NULL when there is nothing to manage (no such groups, or retention 0 and
 * no rollover, or serverless). */
json_t *tmpl_policy(const struct tmpl_groups *g, bool rollover, const struct tmpl_settings *s,
                    const struct tmpl_flavor *f);
#endif
