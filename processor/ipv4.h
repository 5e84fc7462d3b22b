/* ipv4: dotted-quad parsing without a copy, for the ip checks of the engine
 * and GeoIP (most ip values in AWS logs are IPv4). It accepts exactly the
 * text inet_pton(AF_INET) accepts -- four decimal octets up to 255, no
 * leading zeros -- so callers can keep inet_pton for everything else. */
#ifndef SIEMPROC_IPV4_H
#define SIEMPROC_IPV4_H
#include <stddef.h>

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
#endif
