/* community_id: see community_id.h. */
#include <netinet/in.h>
#define OPENSSL_SUPPRESS_DEPRECATED   /* SHA1_*: see digest() */
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "community_id.h"

/* ICMP messages that come as request and reply (Zeek's lists, which the spec
 * adopts). Such a message's port-like values are its type and its
 * counterpart's type, so both directions get one id; any other message is
 * one-way: its type and code, its endpoints kept in the order they came. */
struct icmp_pair {
    uint8_t a, b;
};

static const struct icmp_pair icmp4_pairs[] = {
    { 8, 0 },       /* echo request, echo reply */
    { 10, 9 },      /* router solicitation, advertisement */
    { 13, 14 },     /* timestamp request, reply */
    { 15, 16 },     /* information request, reply */
    { 17, 18 },     /* address mask request, reply */
};

static const struct icmp_pair icmp6_pairs[] = {
    { 128, 129 },   /* echo request, reply */
    { 130, 131 },   /* multicast listener query, report */
    { 133, 134 },   /* router solicitation, advertisement */
    { 135, 136 },   /* neighbor solicitation, advertisement */
    { 139, 140 },   /* node information query, reply */
    { 144, 145 },   /* home agent address discovery request, reply */
};

/* The counterpart of ICMP message type `type`, or -1 for a one-way message. */
static int icmp_counterpart(unsigned proto, unsigned type)
{
    const struct icmp_pair *p = proto == IPPROTO_ICMP ? icmp4_pairs : icmp6_pairs;
    size_t n = proto == IPPROTO_ICMP ? sizeof icmp4_pairs / sizeof *p : sizeof icmp6_pairs / sizeof *p;
    for (size_t i = 0; i < n; i++) {
        if (p[i].a == type) return p[i].b;
        if (p[i].b == type) return p[i].a;
    }
    return -1;
}

int community_id_has_ports(unsigned proto)
{
    return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP || proto == IPPROTO_ICMP ||
           proto == IPPROTO_ICMPV6;
}

/* An id is computed for nearly every flow log record. OpenSSL 3.0's EVP
 * interface allocates and frees provider state on every digest init, a third
 * of an id's cost; the low-level SHA1_* calls work on a stack context. They
 * are deprecated since 3.0 but present in every 3.x release; if they go,
 * EVP_Digest() is the drop-in. */
static void digest(const unsigned char *in, size_t n, unsigned char md[SHA_DIGEST_LENGTH])
{
    SHA_CTX ctx;
    SHA1_Init(&ctx);
    SHA1_Update(&ctx, in, n);
    SHA1_Final(md, &ctx);
}

static void put16(unsigned char *o, uint16_t v)
{
    o[0] = (unsigned char)(v >> 8);
    o[1] = (unsigned char)v;
}

/* seed . first address . second address . proto . 0 . first port . second
 * port, the smaller (address, port) end first unless the flow is one-way;
 * returns its length (ports only for the protocols that have them). */
static size_t hash_input(const struct flow_tuple *t, uint16_t seed, unsigned char *o)
{
    uint16_t sport = t->sport, dport = t->dport;
    int one_way = 0;
    if (t->proto == IPPROTO_ICMP || t->proto == IPPROTO_ICMPV6) {
        int peer = icmp_counterpart(t->proto, sport);
        one_way = peer < 0;
        if (!one_way) dport = (uint16_t)peer;
    }
    int c = memcmp(t->src, t->dst, (size_t)t->addr_len);
    int flip = !one_way && (c > 0 || (c == 0 && sport > dport));
    size_t n = 0, al = (size_t)t->addr_len;
    put16(o, seed);
    n += 2;
    memcpy(o + n, flip ? t->dst : t->src, al);
    memcpy(o + n + al, flip ? t->src : t->dst, al);
    n += 2 * al;
    o[n++] = t->proto;
    o[n++] = 0;
    if (!community_id_has_ports(t->proto)) return n;
    put16(o + n, flip ? dport : sport);
    put16(o + n + 2, flip ? sport : dport);
    return n + 4;
}

void community_id_v1(const struct flow_tuple *t, uint16_t seed, char out[COMMUNITY_ID_LEN + 1])
{
    unsigned char in[2 + 16 + 16 + 2 + 4], md[SHA_DIGEST_LENGTH];
    digest(in, hash_input(t, seed, in), md);
    out[0] = '1';
    out[1] = ':';
    EVP_EncodeBlock((unsigned char *)out + 2, md, 20);      /* 28 characters and a NUL */
}
