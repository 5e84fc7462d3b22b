/* jsonw: JSON string escaping. Safe bytes are copied eight at a time;
 * invalid UTF-8 becomes U+FFFD so every document we emit is valid JSON that
 * OpenSearch will accept, whatever bytes the log contained. */
#include <stdint.h>
#include <string.h>
#include "jscan.h"
#include "jsonw.h"

static const char hexd[] = "0123456789abcdef";

/* 1 for bytes that cannot be copied as they are. */
static const unsigned char special[256] = {
    [0 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1, [0x80 ... 0xff] = 1,
};

/* The escape of one special byte c (not valid UTF-8 when >= 0x80). */
static char *escape_byte(char *o, unsigned c)
{
    *o++ = '\\';
    switch (c) {
    case '"': case '\\': *o++ = (char)c; return o;
    case '\n': *o++ = 'n'; return o;
    case '\r': *o++ = 'r'; return o;
    case '\t': *o++ = 't'; return o;
    }
    if (c >= 0x80) { memcpy(o, "ufffd", 5); return o + 5; }
    memcpy(o, "u00", 3);
    o[3] = hexd[c >> 4];
    o[4] = hexd[c & 15];
    return o + 5;
}

char *jw_escape_to(char *o, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    for (;;) {
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            uint64_t m = word_json_special(w);
            memcpy(o, &w, 8);     /* o has room: at least 6 bytes per byte left */
            if (m) {
                o += word_skip(m);
                i += word_skip(m);
                break;
            }
            o += 8;
            i += 8;
        }
        while (i < n && !special[s[i]]) *o++ = (char)s[i++];
        if (i >= n) return o;
        size_t l = s[i] >= 0x80 ? utf8_seq_len(s + i, n - i) : 0;
        if (l) {
            memcpy(o, s + i, l);
            o += l;
            i += l;
        } else {
            o = escape_byte(o, s[i++]);
        }
    }
}

/* Largest k <= max such that s[0..k) does not end inside a valid UTF-8
 * sequence: escaping a string in pieces must give what escaping it whole does. */
static size_t piece_end(const unsigned char *s, size_t n, size_t max)
{
    if (n <= max) return n;
    for (size_t back = 1; back <= 3; back++) {
        if ((s[max - back] & 0xC0) == 0x80) continue;
        return utf8_seq_len(s + max - back, n - (max - back)) > back ? max - back : max;
    }
    return max;
}

#define PIECE 4096

/* In pieces, so a huge value reserves a few times a piece, not 6x itself. */
void jw_escape(buf_t *b, const char *s, size_t n)
{
    while (n) {
        size_t k = piece_end((const unsigned char *)s, n, PIECE);
        buf_reserve(b, JW_ESCAPED_MAX(k));
        b->len = (size_t)(jw_escape_to(b->data + b->len, s, k) - b->data);
        s += k;
        n -= k;
    }
}

void jw_string(buf_t *b, const char *s, size_t n)
{
    buf_putc(b, '"');
    jw_escape(b, s, n);
    buf_putc(b, '"');
}
