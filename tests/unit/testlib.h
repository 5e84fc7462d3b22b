/* Minimal test harness for the C unit tests.
 * Each test executable prints "N passed, N failed" and exits non-zero on any
 * failure, 77 (ctest's skip code) when a needed input is absent. */
#ifndef TESTLIB_H
#define TESTLIB_H
#include <stddef.h>
#include <string.h>

extern int tl_passed, tl_failed;
void tl_fail(const char *file, int line, const char *expr, const char *detail);

#define CHECK(cond) do { if (cond) tl_passed++; else tl_fail(__FILE__, __LINE__, #cond, NULL); } while (0)
#define CHECK_STR(a, b) do { const char *a_ = (a), *b_ = (b); \
    if (a_ && b_ && strcmp(a_, b_) == 0) tl_passed++; \
    else tl_fail(__FILE__, __LINE__, #a " == " #b, a_ ? a_ : "(null)"); } while (0)
#define CHECK_INT(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
    if (a_ == b_) tl_passed++; else { char d_[64]; snprintf(d_, sizeof d_, "%lld != %lld", a_, b_); \
    tl_fail(__FILE__, __LINE__, #a " == " #b, d_); } } while (0)

/* Path under ../shared (SIEMPROC_SHARED), or NULL when it is absent. */
const char *tl_shared(const char *rel);
/* Path under the source tree (SIEMPROC_SRC). */
const char *tl_src(const char *rel);
/* Read a whole file; caller frees. NULL on error. */
char *tl_read_file(const char *path, size_t *len);
/* Print the summary line and return the process exit code. */
int tl_done(void);
/* Print a skip reason and exit 77. */
void tl_skip(const char *why);
#endif
