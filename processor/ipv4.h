/* ipv4: dotted-quad parsing without a copy, for the ip checks of the engine,
 * GeoIP and the community id (most ip values in AWS logs are IPv4). It
 * accepts exactly the text inet_pton(AF_INET) accepts -- four decimal octets
 * up to 255, no leading zeros -- and ip_from_text leaves the rest to
 * inet_pton. */
#ifndef SIEMPROC_IPV4_H
#define SIEMPROC_IPV4_H
#include <arpa/inet.h>
#include <stddef.h>
#include <string.h>

/* 1 and the address in out when s[0..n) is a dotted quad, else 0. */
static inline int ipv4_parse(const char *s, size_t n, unsigned char out[4])
{
    size_t i = 0;
    for (int octet = 0; octet < 4; octet++) {
        if (octet && (i >= n || s[i++] != '.')) return 0;
        size_t start = i;
        unsigned v = 0;
        while (i < n && i - start < 3 && s[i] >= '0' && s[i] <= '9') v = v * 10 + (unsigned)(s[i++] - '0');
        if (i == start || v > 255 || (s[start] == '0' && i - start > 1)) return 0;
        out[octet] = (unsigned char)v;
    }
    return i == n;
}

/* An address in text, either family: 4 or 16 with its bytes in out, or 0
 * when s[0..n) is not exactly one. */
static inline int ip_from_text(const char *s, size_t n, unsigned char out[16])
{
    char tmp[INET6_ADDRSTRLEN];
    if (ipv4_parse(s, n, out)) return 4;
    if (n == 0 || n >= sizeof tmp || !memchr(s, ':', n) || memchr(s, 0, n)) return 0;   /* inet_pton stops at a NUL */
    memcpy(tmp, s, n);
    tmp[n] = 0;
    return inet_pton(AF_INET6, tmp, out) == 1 ? 16 : 0;
}
#endif
