/* registry: the table of format parsers, and helpers they share. A new format
 * is one file in parsers/ plus one line here. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "buf.h"
#include "parser.h"

extern const struct parser parser_fields;
extern const struct parser parser_json;
extern const struct parser parser_pattern;

const struct parser *const parser_table[] = {
    &parser_fields,
    &parser_json,
    &parser_pattern,
    NULL,
};

const struct parser *parser_find(const char *name)
{
    for (int i = 0; parser_table[i]; i++)
        if (strcmp(parser_table[i]->name, name) == 0) return parser_table[i];
    return NULL;
}

void record_clear(struct record *rec)
{
    rec->layout = NULL;
    rec->ncols = 0;
    rec->json = NULL;
    rec->json_root = -1;
    rec->skip_reason = NULL;
    rec->err[0] = 0;
}

int record_fail(struct record *rec, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rec->err, sizeof rec->err, fmt, ap);
    va_end(ap);
    return PARSE_ERROR;
}

int record_skip(struct record *rec, const char *reason)
{
    rec->skip_reason = reason;
    return PARSE_SKIP;
}

char *column_name(const char *s, size_t n)
{
    char *out = xmalloc(n + 1);
    size_t o = 0;
    int pending = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c)) {
            if (pending && o) out[o++] = '_';
            pending = 0;
            out[o++] = (char)tolower(c);
        } else {
            pending = 1;
        }
    }
    out[o] = 0;
    return out;
}
