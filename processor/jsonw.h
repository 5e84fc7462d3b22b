/* jsonw: append JSON text to a buf. Strings are escaped here and only here. */
#ifndef SIEMPROC_JSONW_H
#define SIEMPROC_JSONW_H
#include <stddef.h>
#include "buf.h"

/* "..." with quotes, control characters and invalid UTF-8 escaped/replaced. */
void jw_string(buf_t *b, const char *s, size_t n);
/* String content without the surrounding quotes. */
void jw_escape(buf_t *b, const char *s, size_t n);
static inline void jw_cstr(buf_t *b, const char *s) { jw_string(b, s, __builtin_strlen(s)); }

/* The escaped form of n bytes is at most JW_ESCAPED_MAX(n) bytes (a byte
 * can become "\u001f" or "\ufffd"). */
#define JW_ESCAPED_MAX(n) (6 * (n))
/* Escape s[0..n) into o, which has room for JW_ESCAPED_MAX(n) bytes; returns
 * the end of the output. For writers that reserve once for many values. */
char *jw_escape_to(char *o, const char *s, size_t n);
#endif
