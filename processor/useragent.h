/* useragent: ECS user_agent.* (name, version, os.name/version/full/kernel,
 * device.name) from user_agent.original, by ordered rules that are data
 * (schemas/enrich/user_agents.json).
 *
 * Owns the compiled rules (immutable after loading, shared by all worker
 * threads) and the per-thread cache of recent results. A rule is a literal
 * token looked for in the string, with conditions (other tokens present or
 * absent, where it must sit) and how to take the name and version from the
 * text around it; the first matching rule of each list wins. Matching is
 * plain substring search over at most UA_SCAN_MAX bytes: its cost is bounded
 * by rules x length and nothing backtracks.
 * Must never: add a field outside ECS user_agent.*, read past the string,
 * fail a record (an unknown agent is "Other", a string with nothing in it
 * gets no fields). */
#ifndef SIEMPROC_USERAGENT_H
#define SIEMPROC_USERAGENT_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include "doc.h"

/* Only this many leading bytes are looked at: real agents are far shorter,
 * and an attacker's 8 KB header must not cost 8 KB per rule. */
#define UA_SCAN_MAX 1024

enum ua_field {
    UA_NAME, UA_VERSION, UA_OS_NAME, UA_OS_VERSION, UA_OS_FULL, UA_OS_KERNEL, UA_DEVICE, UA_NFIELDS
};

/* One parse: every field's text in one block, so a result can be copied
 * (into the cache) as it is. len 0: the field is absent. */
#define UA_TEXT_MAX 400
struct ua_result {
    uint16_t off[UA_NFIELDS];
    uint8_t  len[UA_NFIELDS];
    uint8_t  plain[UA_NFIELDS];  /* nothing in it needs JSON escaping */
    uint16_t used;
    char     text[UA_TEXT_MAX];
};

struct ua_rules;
struct ua_cache;

/* Compile rules from their JSON (see the file's "about"); NULL with a message
 * naming origin and the offending rule in err. */
struct ua_rules *ua_rules_compile(const json_t *root, const char *origin, char *err, size_t errlen);
struct ua_rules *ua_rules_load(const char *path, char *err, size_t errlen);
void ua_rules_free(struct ua_rules *r);
/* Rules in all lists (agents, os, devices). */
int ua_rules_count(const struct ua_rules *r);

/* Parse n bytes (any bytes). 0 with *out filled, or -1 when there is nothing
 * to parse: empty, "-", only blanks. */
int ua_parse(const struct ua_rules *r, const char *s, size_t n, struct ua_result *out);
/* The ECS path of a field ("user_agent.os.full"). */
const char *ua_field_path(enum ua_field f);

/* Add the user_agent.* fields of the doc's user_agent.original to d. Parses
 * through *cache (created on first use; one per thread, freed with
 * ua_cache_free). The added values point into the cache: they stay valid
 * until the next ua_enrich with the same cache, which is why the normalizer
 * calls it once per record, after doc_reset. Returns the fields added. */
int ua_enrich(const struct ua_rules *r, struct ua_cache **cache, struct doc *d);
void ua_cache_free(struct ua_cache *c);
#endif
