/* exclude: see exclude.h. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "exclude.h"

struct rule {
    const struct schema *schema;
    char   *field;
    char   *text;       /* exact match, or NULL */
    regex_t re;         /* anchored regex when text == NULL */
};

struct exclusions {
    struct rule *v;
    int n;
};

static int split_csv(char *line, char **cols, int max)
{
    int n = 0;
    for (char *p = line; n < max;) {
        cols[n++] = p;
        char *c = strchr(p, ',');
        if (!c) break;
        *c = 0;
        p = c + 1;
    }
    return n;
}

static int add_rule(struct exclusions *ex, const struct schema_set *set, char **cols, int ncols,
                    const char *path, int lineno, char *err, size_t errlen)
{
    if (ncols < 4) { snprintf(err, errlen, "%s:%d: expected log_type,field,pattern,pattern_type", path, lineno); return -1; }
    const struct schema *sc = schema_find(set, cols[0]);
    if (!sc) { snprintf(err, errlen, "%s:%d: unknown log type \"%s\"", path, lineno, cols[0]); return -1; }
    struct rule r = { sc, xstrdup(cols[1]), NULL, { 0 } };
    if (strcmp(cols[3], "text") == 0) {
        r.text = xstrdup(cols[2]);
    } else if (strcmp(cols[3], "regex") == 0) {
        char anchored[1024];
        snprintf(anchored, sizeof anchored, "^(%s)$", cols[2]);
        if (regcomp(&r.re, anchored, REG_EXTENDED | REG_NOSUB) != 0) {
            snprintf(err, errlen, "%s:%d: invalid regex \"%s\"", path, lineno, cols[2]);
            free(r.field);
            return -1;
        }
    } else {
        snprintf(err, errlen, "%s:%d: pattern_type must be text or regex, got \"%s\"", path, lineno, cols[3]);
        free(r.field);
        return -1;
    }
    ex->v = xrealloc(ex->v, (size_t)(ex->n + 1) * sizeof *ex->v);
    ex->v[ex->n++] = r;
    return 0;
}

struct exclusions *exclusions_load(const char *path, const struct schema_set *set, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "r");
    if (!fp) { snprintf(err, errlen, "cannot open exclusion list %s", path); return NULL; }
    struct exclusions *ex = xcalloc(1, sizeof *ex);
    char line[4096];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, fp)) {
        lineno++;
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0] || line[0] == '#' || strncmp(line, "log_type,", 9) == 0) continue;
        char *cols[5];
        int n = split_csv(line, cols, 5);
        rc = add_rule(ex, set, cols, n, path, lineno, err, errlen);
    }
    fclose(fp);
    if (rc < 0) { exclusions_free(ex); return NULL; }
    return ex;
}

void exclusions_free(struct exclusions *ex)
{
    if (!ex) return;
    for (int i = 0; i < ex->n; i++) {
        free(ex->v[i].field);
        if (ex->v[i].text) free(ex->v[i].text);
        else regfree(&ex->v[i].re);
    }
    free(ex->v);
    free(ex);
}

int exclusions_count(const struct exclusions *ex) { return ex ? ex->n : 0; }

static int rule_matches(const struct rule *r, const char *v, size_t n)
{
    if (r->text) return strlen(r->text) == n && memcmp(r->text, v, n) == 0;
    char tmp[2048];
    if (n >= sizeof tmp) return 0;
    memcpy(tmp, v, n);
    tmp[n] = 0;
    return regexec(&r->re, tmp, 0, NULL, 0) == 0;
}

int exclusions_match(const struct exclusions *ex, const struct schema *sc, exclude_lookup_fn lookup, void *arg)
{
    if (!ex) return 0;
    for (int i = 0; i < ex->n; i++) {
        const struct rule *r = &ex->v[i];
        const char *v;
        size_t n;
        if (r->schema == sc && lookup(arg, r->field, &v, &n) && rule_matches(r, v, n)) return 1;
    }
    return 0;
}
