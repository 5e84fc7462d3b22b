/* ecs: the ECS field table (schemas/ecs_fields.tsv), loaded once at start-up
 * and read-only afterwards, so worker threads share it without locks. */
#ifndef SIEMPROC_ECS_H
#define SIEMPROC_ECS_H

enum ecs_type {
    ECS_UNKNOWN = 0, ECS_KEYWORD, ECS_TEXT, ECS_LONG, ECS_FLOAT, ECS_DATE, ECS_IP,
    ECS_BOOLEAN, ECS_GEO_POINT, ECS_OBJECT, ECS_FLATTENED, ECS_NESTED
};

struct ecs_field {
    const char *name;
    const char *type_name;     /* as ECS spells it: keyword, wildcard, scaled_float, ... */
    enum ecs_type type;
    int array;                 /* ECS normalizes it to an array */
    const char *allowed;       /* comma-separated allowed values, or "" */
};

/* Load the table; 0 on success, -1 with a message in err. Safe to call again. */
int ecs_load(const char *path, char *err, size_t errlen);
const struct ecs_field *ecs_lookup(const char *name);
/* Is value (len n) one of the field's allowed values? 1 when the field has no list. */
int ecs_value_allowed(const struct ecs_field *f, const char *value);
int ecs_value_allowed_n(const struct ecs_field *f, const char *value, size_t n);
enum ecs_type ecs_type_from_name(const char *type_name);
/* Iterate all fields (for index templates); returns NULL past the end. */
const struct ecs_field *ecs_field_at(int i);
#endif
