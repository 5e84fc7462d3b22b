/* ecs: see ecs.h. A flat open-addressing hash over ~1,700 names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "ecs.h"

static struct ecs_field *fields;
static int nfields;
static int *slots;          /* index into fields, -1 empty */
static unsigned nslots;

static unsigned hash_name(const char *s)
{
    unsigned h = 2166136261u;
    while (*s) h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

enum ecs_type ecs_type_from_name(const char *t)
{
    static const struct { const char *name; enum ecs_type type; } tab[] = {
        { "keyword", ECS_KEYWORD }, { "wildcard", ECS_KEYWORD }, { "constant_keyword", ECS_KEYWORD },
        { "text", ECS_TEXT }, { "match_only_text", ECS_TEXT }, { "long", ECS_LONG },
        { "float", ECS_FLOAT }, { "scaled_float", ECS_FLOAT }, { "double", ECS_FLOAT },
        { "date", ECS_DATE }, { "ip", ECS_IP }, { "boolean", ECS_BOOLEAN },
        { "geo_point", ECS_GEO_POINT }, { "object", ECS_OBJECT }, { "flattened", ECS_FLATTENED },
        { "nested", ECS_NESTED },
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (strcmp(tab[i].name, t) == 0) return tab[i].type;
    return ECS_UNKNOWN;
}

static void index_fields(void)
{
    nslots = 1;
    while (nslots < (unsigned)nfields * 2) nslots <<= 1;
    slots = xmalloc(nslots * sizeof *slots);
    memset(slots, 0xff, nslots * sizeof *slots);
    for (int i = 0; i < nfields; i++) {
        unsigned h = hash_name(fields[i].name) & (nslots - 1);
        while (slots[h] >= 0) h = (h + 1) & (nslots - 1);
        slots[h] = i;
    }
}

static int parse_line(char *line, struct ecs_field *f)
{
    char *cols[4] = { 0 };
    int n = 0;
    for (char *p = line; n < 4; n++) {
        cols[n] = p;
        char *tab = strchr(p, '\t');
        if (!tab) { n++; break; }
        *tab = 0;
        p = tab + 1;
    }
    if (n < 3) return -1;
    f->name = xstrdup(cols[0]);
    f->type_name = xstrdup(cols[1]);
    f->type = ecs_type_from_name(cols[1]);
    f->array = cols[2][0] == '1';
    f->allowed = xstrdup(n > 3 ? cols[3] : "");
    return 0;
}

int ecs_load(const char *path, char *err, size_t errlen)
{
    if (fields) return 0;
    FILE *fp = fopen(path, "r");
    if (!fp) { snprintf(err, errlen, "cannot open ECS field table %s", path); return -1; }
    char line[8192];
    int cap = 2048, lineno = 0;
    fields = xcalloc((size_t)cap, sizeof *fields);
    while (fgets(line, sizeof line, fp)) {
        lineno++;
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0] || line[0] == '#') continue;
        if (nfields == cap) { cap *= 2; fields = xrealloc(fields, (size_t)cap * sizeof *fields); }
        if (parse_line(line, &fields[nfields]) < 0) {
            snprintf(err, errlen, "%s:%d: malformed line", path, lineno);
            fclose(fp);
            return -1;
        }
        nfields++;
    }
    fclose(fp);
    index_fields();
    return 0;
}

const struct ecs_field *ecs_lookup(const char *name)
{
    if (!slots) return NULL;
    unsigned h = hash_name(name) & (nslots - 1);
    while (slots[h] >= 0) {
        if (strcmp(fields[slots[h]].name, name) == 0) return &fields[slots[h]];
        h = (h + 1) & (nslots - 1);
    }
    return NULL;
}

int ecs_value_allowed(const struct ecs_field *f, const char *value)
{
    return ecs_value_allowed_n(f, value, strlen(value));
}

int ecs_value_allowed_n(const struct ecs_field *f, const char *value, size_t n)
{
    if (!f->allowed[0]) return 1;
    for (const char *p = f->allowed; *p;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == n && memcmp(p, value, n) == 0) return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

const struct ecs_field *ecs_field_at(int i)
{
    return i >= 0 && i < nfields ? &fields[i] : NULL;
}
