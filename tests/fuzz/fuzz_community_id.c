/* fuzz_community_id: libFuzzer target for the "community_id" composer on
 * any field text. Input: the composer's inputs (source.ip, source.port,
 * destination.ip, destination.port, network.iana_number, network.transport,
 * icmp.type, icmp.code) separated by newlines; an empty or missing one is
 * absent. An id, when there is one, is "1:" and 28 base64 characters, and
 * the same with the two ends swapped unless the flow is ICMP (one-way ICMP
 * messages are not reordered). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "compose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { NIN = 8 };

static int compose(arena_t *a, const char *const *v, const size_t *n, char *out)
{
    struct span in[NIN];
    for (int k = 0; k < NIN; k++) in[k] = (struct span){ n[k] ? v[k] : NULL, (uint32_t)n[k], DV_STR };
    const char *id;
    size_t len;
    arena_reset(a);
    if (compose_apply(COMPOSE_COMMUNITY_ID, in, a, &id, &len) < 0) return -1;
    if (len != 30 || memcmp(id, "1:", 2) != 0 || id[29] != '=') abort();
    for (size_t i = 2; i < 29; i++)
        if (!id[i] || !strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", id[i])) abort();
    memcpy(out, id, len);
    return 0;
}

/* Might this protocol text name ICMP or ICMPv6 (as a number, or a name
 * holding "icmp" in any case)? Then the swapped flow is not checked. */
static int maybe_icmp(const char *v, size_t n)
{
    unsigned num = 0;
    size_t i = 0;
    while (i < n && v[i] >= '0' && v[i] <= '9' && num < 1000) num = num * 10 + (unsigned)(v[i++] - '0');
    if (n && i == n) return num == 1 || num == 58;
    for (i = 0; i + 4 <= n; i++)
        if (strncasecmp(v + i, "icmp", 4) == 0) return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static arena_t arena;
    static int ready;
    if (!ready) {
        const char *const *names;
        if (compose_inputs(COMPOSE_COMMUNITY_ID, &names) != NIN) abort();
        arena_init(&arena);
        ready = 1;
    }
    const char *v[NIN] = { 0 };
    size_t n[NIN] = { 0 };
    const char *p = (const char *)data, *end = p + size;
    for (int k = 0; k < NIN && p <= end; k++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        v[k] = p;
        n[k] = (size_t)(e - p);
        if (!nl) break;
        p = nl + 1;
    }
    char a[30], b[30];
    if (compose(&arena, v, n, a) < 0) return 0;
    if (n[4] ? maybe_icmp(v[4], n[4]) : maybe_icmp(v[5], n[5])) return 0;
    const char *sv[NIN] = { v[2], v[3], v[0], v[1], v[4], v[5], v[6], v[7] };
    size_t sn[NIN] = { n[2], n[3], n[0], n[1], n[4], n[5], n[6], n[7] };
    if (compose(&arena, sv, sn, b) < 0 || memcmp(a, b, 30) != 0) abort();
    return 0;
}
