/* fuzz_ip_is_public: libFuzzer target for the address classifier. Input is
 * the raw, not NUL-terminated text of an address; the classifier must never
 * read past len, crash, or call a malformed address public. */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "geoip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exact-size copy so ASan flags any read beyond size. */
    char *ip = malloc(size ? size : 1);
    if (!ip) return 0;
    memcpy(ip, data, size);
    int pub = ip_is_public(ip, size);
    if (pub) {
        /* Whatever is public must be a well-formed address. */
        char z[64];
        unsigned char bin[16];
        if (size >= sizeof z) abort();
        memcpy(z, ip, size);
        z[size] = 0;
        if (inet_pton(strchr(z, ':') ? AF_INET6 : AF_INET, z, bin) != 1) abort();
    }
    free(ip);
    return 0;
}
