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
#endif
