/* jsonw: JSON string escaping. Runs of safe bytes are copied in one append;
 * invalid UTF-8 becomes U+FFFD so every document we emit is valid JSON that
 * OpenSearch will accept, whatever bytes the log contained. */
#include <stdint.h>
#include <string.h>
#include "jsonw.h"

static const char hexd[] = "0123456789abcdef";

/* Length of a valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
    else return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp < 0xE000))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return len;
}

/* 1 for bytes that end a run of bytes copied verbatim. */
static const unsigned char special[256] = {
    [0 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1, [0x80 ... 0xff] = 1,
};

void jw_escape(buf_t *b, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t run = 0, i = 0;
    buf_reserve(b, n + 2);
    while (i < n) {
        /* Eight bytes at a time while none is special. */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            uint64_t hi = w & 0x8080808080808080ULL;
            uint64_t ctl = (w - 0x2020202020202020ULL) & ~w & 0x8080808080808080ULL;
            uint64_t q = w ^ 0x2222222222222222ULL, bs = w ^ 0x5c5c5c5c5c5c5c5cULL;
            uint64_t zq = (q - 0x0101010101010101ULL) & ~q & 0x8080808080808080ULL;
            uint64_t zb = (bs - 0x0101010101010101ULL) & ~bs & 0x8080808080808080ULL;
            if (hi | ctl | zq | zb) break;
            i += 8;
        }
        while (i < n && !special[s[i]]) i++;
        if (i >= n) break;
        unsigned c = s[i];
        if (c >= 0x80) {
            size_t l = utf8_len(s + i, n - i);
            if (l) { i += l; continue; }
        }
        buf_append(b, s + run, i - run);
        if (c == '"' || c == '\\') { buf_putc(b, '\\'); buf_putc(b, (char)c); }
        else if (c == '\n') buf_append(b, "\\n", 2);
        else if (c == '\r') buf_append(b, "\\r", 2);
        else if (c == '\t') buf_append(b, "\\t", 2);
        else if (c < 0x20) {
            char u[6] = { '\\', 'u', '0', '0', hexd[c >> 4], hexd[c & 15] };
            buf_append(b, u, 6);
        } else buf_append(b, "\\ufffd", 6);
        i++;
        run = i;
    }
    buf_append(b, s + run, n - run);
}

void jw_string(buf_t *b, const char *s, size_t n)
{
    buf_putc(b, '"');
    jw_escape(b, s, n);
    buf_putc(b, '"');
}
