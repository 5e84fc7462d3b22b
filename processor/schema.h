/* schema: one log type, loaded from schemas/<type>.json.
 *
 * A schema is data: how to recognise the type (S3 key and log group
 * patterns), which format parser reads it, how records are framed, and how
 * each raw value becomes an ECS field. Schemas are compiled once at start-up
 * and are immutable afterwards, so all worker threads share them. */
#ifndef SIEMPROC_SCHEMA_H
#define SIEMPROC_SCHEMA_H
#include <jansson.h>
#include <regex.h>
#include "doc.h"
#include "ecs.h"
#include "parser.h"
#include "timeparse.h"

struct ua_rules;

/* A source value: a column name or a JSON path. id indexes per-stream bindings.
 *
 * JSON paths are dotted ("userIdentity.sessionContext.attributes.mfaAuthenticated",
 * "answers.0.Rdata"; a key that itself contains dots or slashes, as in Security
 * Hub's ProductFields, matches whole) and may carry jpath selectors (jpath.h):
 *   httpRequest.headers[name=User-Agent].value   the element whose name is
 *                                                User-Agent, any case
 *   answers[].Rdata                              Rdata of every answer
 *   action.conn[direction=OUTBOUND].local.ip     only when direction is OUTBOUND
 *   action[][direction!=OUTBOUND].remote.ip      remote.ip of any action member
 *                                                that is not outbound
 *   groups[terminatingRule].ruleId               the element that has one
 *   [service.role=ACTOR].resource.ip             a condition on the record itself
 * A path with a selector yields every match for an array target (or "split"),
 * the first match anywhere else. "$s3_key" and "$log_group" name the object's
 * key and log group. */
struct src_ref {
    char *path;
    size_t len;
    int id;
    int sel;          /* the path has a jpath selector */
};

/* One member of an "object" rule: key <- path, relative to each source element. */
struct sub_field {
    char *key;
    char *path;
    size_t len;
    int sel;
    enum ecs_type type;   /* from the ECS field <target>.<key>, or ECS_UNKNOWN */
};

#define MAX_OPS 4
enum { RELATED_NONE, RELATED_IP, RELATED_USER };

struct field_rule {
    char              *target;        /* ECS path or vendor path (aws.*) */
    struct doc_path    tpath;         /* target, prepared for doc_add_path */
    const struct ecs_field *ecs;      /* NULL for vendor fields */
    int                allowed;       /* the ECS field lists its allowed values: values from data are checked */
    enum ecs_type      type;          /* coercion applied before the value is added */
    int                array;         /* ECS array field, or "array": true on a vendor field */
    struct src_ref    *from;
    int                nfrom;
    int                all;           /* add every present source, not just the first */
    int                ops[MAX_OPS];
    int                nops;
    char              *split;         /* split the value on this separator into many */
    json_t            *map;           /* value translation table (read-only) */
    char              *map_default;
    char              *value;         /* constant */
    char              *if_present, *if_absent;
    enum ts_format     ts_format;     /* for date targets */
    int                map_prefix;    /* "map_prefix": true -- keys match a prefix of the value, longest wins */
    int                map_drop;      /* "map_default": null -- values the map lacks are dropped */
    int                json_text;     /* "type": "json" (vendor fields): a string holding a JSON object
                                         is emitted as that object (mapped as flattened); any other
                                         string is dropped */
    struct sub_field  *sub;           /* "object": {"key": "path", ...} -- one JSON object per source
                                         element (or per source object), e.g. dns.answers */
    int                nsub;
    int                related;       /* RELATED_IP / RELATED_USER: also feeds related.* */
    int                related_target;/* RELATED_IP / RELATED_USER: the target is related.* itself */
    char              *ip_domain;     /* ip targets: the ECS *.domain field that takes hostnames, or NULL */
    struct doc_path    ip_domain_path;
    int                compose;       /* "compose": built from other fields of the document after all
                                         other rules (enum compose_id; COMPOSE_NONE: not composed) */
    char             **input_paths;   /* the fields that composer reads (its own paths, or the rule's "inputs") */
    int               *input_slots;   /* the slot of each, -1 when no rule of the schema fills it */
    int                ninputs;
    int                slot;          /* the slot this rule's target fills for composers, or -1 */
};

enum framing { FRAME_LINES, FRAME_JSON, FRAME_MULTILINE };

struct pattern_list {
    regex_t *re;
    char   **src;
    int      n;
};

/* The fields GeoIP enrichment of one prefix reads, prepared for doc_get_path. */
struct geoip_paths {
    char           *ip, *location;      /* "<prefix>.ip", "<prefix>.geo.location" */
    struct doc_path ip_path, location_path;
};

struct schema {
    char               *name;
    char               *description;
    char               *module;           /* event.module, e.g. "vpcflow" */
    char               *dataset;          /* event.dataset, e.g. "aws.vpcflow" */
    struct pattern_list s3_key, s3_key_ignore, s3_key_skip, log_group;
    /* Record framing. */
    enum framing        framing;
    char               *json_split;       /* FRAME_JSON: top-level key of the array to split, or NULL */
    char               *json_explode;     /* JSON records: path of an array whose elements are the events */
    regex_t             first_line;       /* FRAME_MULTILINE */
    int                 has_first_line;
    /* Format parser. */
    const struct parser *parser;
    void               *parser_cfg;
    /* Mapping. */
    struct field_rule  *rules;
    int                 nrules;
    int                 nslots;           /* values kept per record for composed rules */
    struct src_ref     *ts_from;
    int                 nts;
    enum ts_format      ts_format;
    char               *ts_join;
    int                 ts_tz;            /* minutes, zone assumed when the text has none */
    int                 ts_delivery;      /* use the delivery time (CloudWatch Logs event time) */
    struct src_ref     *id_from;
    int                 nid;
    struct src_ref     *id_suffix;
    struct src_ref     *require;          /* records without all of these are not events */
    int                 nrequire;
    char               *vendor;           /* vendor namespace, e.g. "aws.vpcflow" */
    int                 vendor_rest;      /* flat formats: unmapped columns go under vendor */
    int                 user_agent;       /* "user_agent": true -- user_agent.* from user_agent.original */
    const struct ua_rules *ua;            /* their rules (the set's), NULL until a set attaches them */
    char              **geoip;            /* prefixes: "source", "destination" */
    struct geoip_paths *geoip_paths;      /* one per prefix */
    int                 ngeoip;
    char               *index_name;
    int                 rotation;         /* enum rotation */
    int                 index_tz;
    int                 nrefs;            /* total src_refs: size of a binding table */
    struct src_ref    **refs;             /* all src_refs by id */
};

struct schema_set {
    struct schema **v;
    int n;
    struct ua_rules *ua;                  /* dir/enrich/user_agents.json, when a schema wants it */
};

/* Load every *.json schema in dir (ecs_load must have run), and the user
 * agent rules of dir/enrich/ when a schema has "user_agent": true. 0 ok, -1 with err. */
int  schema_set_load(struct schema_set *set, const char *dir, char *err, size_t errlen);

/* A start-up choice of the columns of a type whose records carry a field
 * list the user picks (CloudFront real-time logs): `fields`, comma separated
 * in the records' order, replaces the schema's format.columns. Each must be
 * one of those columns, named as the service does ("c-ip") or as the schema
 * does ("c_ip"), at most once, and one must be a timestamp source. `key`
 * names the setting in errors; NULL or empty fields: the schema's own list. */
struct schema_columns {
    const char *type, *key, *fields;
};
/* schema_set_load with the column choices cols[0..n): -1 with an error that
 * names the key and its value when one is not valid, or its type is not in dir. */
int  schema_set_load_columns(struct schema_set *set, const char *dir, const struct schema_columns *cols, int n,
                             char *err, size_t errlen);
void schema_set_free(struct schema_set *set);
const struct schema *schema_find(const struct schema_set *set, const char *name);
/* Compile one schema from JSON text (used by the loader and by tests). */
struct schema *schema_compile(const json_t *root, const char *origin, char *err, size_t errlen);
void schema_free(struct schema *sc);

/* Detection. Returns the schema whose patterns match, or NULL. *skip is set
 * when the key matches a type's "skip" patterns (e.g. CloudTrail digests). */
const struct schema *schema_detect_s3_key(const struct schema_set *set, const char *key, int *skip);
const struct schema *schema_detect_log_group(const struct schema_set *set, const char *group);
#endif
