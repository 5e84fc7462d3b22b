/* ipv4: ipv4_parse accepts exactly what inet_pton(AF_INET) accepts (text
 * without NUL bytes) and gives the same address: checked on edge cases and
 * on random strings over the characters that matter. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ipv4.h"
#include "testlib.h"

/* 1 when both parsers agree on s. */
static int agree(const char *s)
{
    unsigned char a[4] = { 0 }, b[4] = { 0 };
    int ours = ipv4_parse(s, strlen(s), a);
    int libc = inet_pton(AF_INET, s, b) == 1;
    return ours == libc && (!ours || memcmp(a, b, 4) == 0);
}

int main(void)
{
    static const char *const cases[] = {
        "0.0.0.0", "255.255.255.255", "10.1.2.3", "1.2.3.4", "192.168.0.1", "256.1.1.1", "1.2.3", "1.2.3.4.5",
        "01.2.3.4", "1.02.3.4", "1.2.3.00", "1..2.3", ".1.2.3", "1.2.3.", "1.2.3.4 ", " 1.2.3.4", "1.2.3.-4",
        "1234.1.1.1", "1.2.3.4a", "", "a.b.c.d", "::1", "1.2.3.255", "1.2.3.256", "001.2.3.4",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (!agree(cases[i])) fprintf(stderr, "disagree on \"%s\"\n", cases[i]);
        CHECK(agree(cases[i]));
    }
    unsigned char out[4];
    CHECK(ipv4_parse("10.20.30.40", 11, out) && out[0] == 10 && out[3] == 40);
    CHECK(ipv4_parse("10.20.30.40", 10, out) && out[3] == 4);   /* the length, not a NUL, ends the text */
    CHECK(!ipv4_parse("10.20.30.40", 9, out));
    static const char alphabet[] = "0123456789.....:a ";
    srand(5);
    int bad = 0;
    for (int round = 0; round < 200000; round++) {
        char s[20];
        int n = rand() % 18;
        for (int k = 0; k < n; k++) s[k] = alphabet[rand() % (sizeof alphabet - 1)];
        s[n] = 0;
        if (!agree(s) && bad++ < 5) fprintf(stderr, "disagree on \"%s\"\n", s);
    }
    CHECK_INT(bad, 0);
    return tl_done();
}
