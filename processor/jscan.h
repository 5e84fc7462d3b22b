/* jscan: a JSON scanner that builds a flat token tape over the caller's text.
 *
 * No value is copied: tokens hold offsets into the source, which must outlive
 * the tape. Strings keep their escaped form (emit them verbatim, unescape only
 * when a value is compared or parsed). One tape is reused record after record,
 * so a steady stream of records does not allocate. jansson stays for
 * configuration and small envelopes; CloudTrail-sized volumes go through here. */
#ifndef SIEMPROC_JSCAN_H
#define SIEMPROC_JSCAN_H
#include <stddef.h>
#include <stdint.h>

enum jtype { J_OBJ, J_ARR, J_STR, J_NUM, J_TRUE, J_FALSE, J_NULL };

struct jtok {
    uint8_t  type;
    uint8_t  escaped;    /* J_STR: contains a backslash escape */
    uint32_t start;      /* J_STR: first byte after the quote; containers: the bracket */
    uint32_t len;        /* J_STR: bytes before the closing quote; containers: through the closing bracket */
    uint32_t next;       /* index of the token after this value's subtree */
};

struct jscan {
    const char  *src;
    struct jtok *tok;
    uint32_t     ntok, cap;
    char         err[128];
};

void jscan_init(struct jscan *js);
void jscan_free(struct jscan *js);
/* Parse exactly one JSON value (surrounding whitespace allowed). 0 = ok,
 * -1 = syntax error described in js->err. Token 0 is the root. */
int  jscan_parse(struct jscan *js, const char *src, size_t len);

/* Value of `key` in object `obj`, or -1. */
int  jscan_key(const struct jscan *js, int obj, const char *key, size_t keylen);
/* Follow a dotted path ("a.b.0.c") from `node`. Object keys that contain dots
 * themselves (Security Hub ProductFields) match too. -1 when absent. */
int  jscan_path(const struct jscan *js, int node, const char *path, size_t pathlen);
/* Number of elements of an array or members of an object. */
int  jscan_count(const struct jscan *js, int node);
/* First child (array element or object key) and the one after `child`. */
static inline int jscan_first(const struct jscan *js, int node)
{
    return (uint32_t)node + 1 < js->tok[node].next ? node + 1 : -1;
}
int  jscan_next_elem(const struct jscan *js, int parent, int child);

/* Text of a token: string content (escaped) or the literal / container text. */
static inline const char *jscan_ptr(const struct jscan *js, int t) { return js->src + js->tok[t].start; }
static inline size_t jscan_len(const struct jscan *js, int t) { return js->tok[t].len; }
/* Compare a string token with a C string (handles escapes). */
int  jscan_streq(const struct jscan *js, int t, const char *s);

/* Eight bytes at a time (w loaded with memcpy). Each returns a mask with the
 * high bit set in the bytes of w that match: the lowest set bit is exact
 * (word_skip finds it), higher ones can be false positives (borrows). */
static inline uint64_t word_has_byte(uint64_t w, unsigned char c)
{
    uint64_t x = w ^ (0x0101010101010101ULL * c);
    return (x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL;
}

/* Bytes that end plain JSON string content: < 0x20, '"', '\\', >= 0x80.
 * (w - 0x20..) | w has the high bit of the bytes < 0x20 and >= 0x80. */
static inline uint64_t word_json_special(uint64_t w)
{
    uint64_t q = w ^ 0x2222222222222222ULL, b = w ^ 0x5c5c5c5c5c5c5c5cULL;
    return ((w - 0x2020202020202020ULL) | w | ((q - 0x0101010101010101ULL) & ~q) |
            ((b - 0x0101010101010101ULL) & ~b)) & 0x8080808080808080ULL;
}

/* How many bytes of the word come before its first flagged one: a caller
 * may skip them. (0 where memory order is not the order of the exact bit.) */
static inline size_t word_skip(uint64_t mask)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return (size_t)__builtin_ctzll(mask) >> 3;
#else
    (void)mask;
    return 0;
#endif
}

/* Length of the valid UTF-8 sequence at s (n bytes left): 1-4, or 0 when
 * s[0] does not start one (overlong forms and surrogates are invalid). */
size_t utf8_seq_len(const unsigned char *s, size_t n);

/* Decode JSON string escapes of p[0..n) into out (at least n bytes). Returns
 * the decoded length. Invalid escapes are copied through; a lone UTF-16
 * surrogate becomes U+FFFD, so valid UTF-8 in gives valid UTF-8 out. */
size_t json_unescape(const char *p, size_t n, char *out);
#endif
