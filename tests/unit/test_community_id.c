/* community_id: the Community ID v1 of flow tuples against the published
 * test data of the spec (corelight/community-id-spec baseline tables and
 * JSON, pycommunityid's tests: TCP, UDP, SCTP, ICMP, ICMPv6, a port-less
 * protocol, IPv4 and IPv6, seeds 0 and 1); the same id whichever end is the
 * source; and the "community_id" composer on field values: which tuples give
 * an id and which give none. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include "community_id.h"
#include "compose.h"
#include "testlib.h"

struct vector {
    unsigned proto;
    const char *src, *dst;
    unsigned sport, dport;      /* ports, or ICMP type and code */
    unsigned seed;
    const char *want;
};

static const struct vector vectors[] = {
    /* the spec's baseline tables, seed 0 */
    { 6, "1.2.3.4", "5.6.7.8", 1122, 3344, 0, "1:wCb3OG7yAFWelaUydu0D+125CLM=" },
    { 6, "5.6.7.8", "1.2.3.4", 3344, 1122, 0, "1:wCb3OG7yAFWelaUydu0D+125CLM=" },
    { 17, "1.2.3.4", "5.6.7.8", 1122, 3344, 0, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=" },
    { 17, "5.6.7.8", "1.2.3.4", 3344, 1122, 0, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=" },
    { 132, "1.2.3.4", "5.6.7.8", 1122, 3344, 0, "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8=" },
    { 1, "1.2.3.4", "5.6.7.8", 8, 0, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=" },            /* echo request ... */
    { 1, "5.6.7.8", "1.2.3.4", 0, 0, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=" },            /* ... and reply */
    { 1, "1.2.3.4", "5.6.7.8", 11, 0, 0, "1:f/YiSyWqczrTgfUCZlBUnvHRcPk=" },           /* one-way */
    { 58, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", 128, 0, 0,
      "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=" },
    { 58, "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", 129, 0, 0,
      "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=" },
    { 58, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", 146, 0, 0,
      "1:fYC8+pz24E+EhANP1EZhpX0Dw10=" },
    { 46, "1.2.3.4", "5.6.7.8", 0, 0, 0, "1:ikv3kmf89luf73WPz1jOs49S768=" },
    { 46, "5.6.7.8", "1.2.3.4", 0, 0, 0, "1:ikv3kmf89luf73WPz1jOs49S768=" },
    { 46, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", 0, 0, 0,
      "1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0=" },
    /* seed 1 */
    { 6, "1.2.3.4", "5.6.7.8", 1122, 3344, 1, "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=" },
    { 17, "5.6.7.8", "1.2.3.4", 3344, 1122, 1, "1:OShq+iKDAMVouh/4bMxB9Sz4amw=" },
    { 132, "1.2.3.4", "5.6.7.8", 1122, 3344, 1, "1:uitchpn5MMGAQKBJh7bIr/bAr7s=" },
    { 1, "1.2.3.4", "5.6.7.8", 8, 0, 1, "1:9pr4ZGTICiuZoIh90RRYE2RyXpU=" },
    { 1, "5.6.7.8", "1.2.3.4", 0, 0, 1, "1:9pr4ZGTICiuZoIh90RRYE2RyXpU=" },
    { 1, "1.2.3.4", "5.6.7.8", 11, 0, 1, "1:1DD7cWGC/Yg91YGsQeni8du3pIA=" },
    { 58, "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", 129, 0, 1,
      "1:IO27GQzPuCtNnwFvjWALMHu5tJE=" },
    { 58, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", 146, 0, 1,
      "1:Cv4IKJe56BNkF0MBW2YxQ3Nwc3s=" },
    { 46, "5.6.7.8", "1.2.3.4", 0, 0, 1, "1:/buhqeOmaRCopOZFy9HnoJd5XW8=" },
    { 46, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", 0, 0, 1,
      "1:j6EyyfBzL4vWKHFXgUqb5Az3OxM=" },
    /* the baseline JSON (flows of the spec's pcaps) */
    { 58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 135, 0, 0, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=" },
    { 58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 136, 0, 0, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=" },
    { 58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 135, 0, 0, "1:zavyT/cezQr1fmImYCwYnMXbgck=" },
    { 58, "3ffe:501:1800:2345::2", "3ffe:507:0:1:200:86ff:fe05:80da", 3, 0, 0, "1:2ObVBgIn28oZvibYZhZMBgh7WdQ=" },
    { 58, "3ffe:501:410:0:2c0:dfff:fe47:33e", "3ffe:507:0:1:200:86ff:fe05:80da", 1, 4, 0,
      "1:hLZd0XGWojozrvxqE0dWB1iM6R0=" },
    { 58, "3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2", 128, 0, 0, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=" },
    { 58, "3ffe:501:0:1001::2", "3ffe:507:0:1:200:86ff:fe05:80da", 129, 0, 0, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=" },
    { 58, "fe80::200:86ff:fe05:80da", "ff02::2", 133, 0, 0, "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=" },
    { 58, "fe80::260:97ff:fe07:69ea", "ff02::1", 134, 0, 0, "1:pkvHqCL88/tg1k4cPigmZXUtL00=" },
    { 58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 135, 0, 1, "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY=" },
    { 1, "192.168.0.89", "192.168.0.1", 8, 0, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=" },
    { 1, "192.168.0.1", "192.168.0.89", 0, 8, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=" },
    { 1, "10.0.0.1", "10.0.0.2", 11, 0, 0, "1:YHxtAirCG//0OzkcVAukqKQN9xM=" },
    { 1, "10.0.0.1", "10.0.0.2", 11, 0, 1, "1:XjUibYHaafLQ3pxQeiMI8g25q20=" },
    { 6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, 0,
      "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=" },
    { 6, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, 1,
      "1:eJYTW6AOzFLlSUoESovMjnu7rMw=" },
    { 132, "192.168.170.8", "192.168.170.56", 7, 7, 0, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=" },
    { 132, "192.168.170.56", "192.168.170.8", 7, 7, 1, "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg=" },
    { 6, "128.232.110.120", "66.35.250.204", 34855, 80, 0, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=" },
    { 6, "66.35.250.204", "128.232.110.120", 80, 34855, 1, "1:3V71V58M3Ksw/yuFALMcW0LAHvc=" },
    { 17, "192.168.1.52", "8.8.8.8", 54585, 53, 0, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=" },
    { 17, "8.8.8.8", "192.168.1.52", 53, 54585, 1, "1:Q9We8WO3piVF8yEQBNJF4uiSVrI=" },
    { 46, "10.1.12.2", "10.1.12.1", 0, 0, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=" },
    { 46, "10.1.12.1", "10.1.12.2", 0, 0, 1, "1:rYir8gphR31noO9iDRQmF/BteEI=" },
    /* pycommunityid's tests */
    { 6, "10.0.0.1", "10.0.0.2", 10, 11569, 0, "1:SXBGMX1lBOwhhoDrZynfROxnhnM=" },   /* ports compared as numbers */
    { 132, "192.168.170.56", "192.168.170.8", 80, 7, 0, "1:jQgCxbku+pNGw8WPbEc/TS/uTpQ=" },
    { 1, "192.168.0.89", "192.168.0.1", 20, 0, 0, "1:3o2RFccXzUgjl7zDpqmY7yJi8rI=" },  /* one-way: the code counts */
    { 1, "192.168.0.89", "192.168.0.1", 20, 1, 0, "1:tz/fHIDUHs19NkixVVoOZywde+I=" },
    { 1, "192.168.0.1", "192.168.0.89", 0, 20, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=" },  /* echo reply: it does not */
    { 58, "3ffe:507:0:1:260:97ff:fe07:69ea", "3ffe:507:0:1:200:86ff:fe05:80da", 3, 0, 0,
      "1:NdobDX8PQNJbAyfkWxhtL2Pqp5w=" },                                          /* one-way: not reordered */
    { 58, "3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:507:0:1:260:97ff:fe07:69ea", 3, 0, 0,
      "1:/OGBt9BN1ofenrmSPWYicpij2Vc=" },
    { 58, "3ffe:507:0:1:260:97ff:fe07:69ea", "3ffe:507:0:1:200:86ff:fe05:80da", 3, 0, 1,
      "1:OlOWx9psIbBFi7lOCw/4MhlKR9M=" },
    { 46, "10.1.24.4", "10.1.12.1", 0, 0, 0, "1:/nQI4Rh/TtY3mf0R2gJFBkVlgS4=" },
    { 46, "10.1.12.1", "10.1.24.4", 0, 0, 1, "1:BK3BVW3U2eemuwVQVN3zd/GULno=" },
};

static int parse_addr(const char *s, unsigned char out[16])
{
    if (inet_pton(AF_INET, s, out) == 1) return 4;
    return inet_pton(AF_INET6, s, out) == 1 ? 16 : 0;
}

static struct flow_tuple tuple_of(const struct vector *v)
{
    struct flow_tuple t = { .proto = (uint8_t)v->proto, .sport = (uint16_t)v->sport, .dport = (uint16_t)v->dport };
    t.addr_len = parse_addr(v->src, t.src);
    CHECK_INT(parse_addr(v->dst, t.dst), t.addr_len);
    return t;
}

static void test_vectors(void)
{
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        const struct vector *v = &vectors[i];
        struct flow_tuple t = tuple_of(v);
        char id[COMMUNITY_ID_LEN + 1];
        memset(id, 'x', sizeof id);
        community_id_v1(&t, (uint16_t)v->seed, id);
        CHECK_INT(strlen(id), COMMUNITY_ID_LEN);
        if (strcmp(id, v->want) != 0) {
            char what[160];
            snprintf(what, sizeof what, "vector %zu: proto %u %s %u -> %s %u seed %u: %s", i, v->proto, v->src,
                     v->sport, v->dst, v->dport, v->seed, v->want);
            tl_fail(__FILE__, __LINE__, what, id);
        } else {
            tl_passed++;
        }
    }
}

static void id_of(const struct flow_tuple *t, char *out) { community_id_v1(t, 0, out); }

/* Swapping the ends of a flow (addresses and ports) gives its id again,
 * for every protocol but one-way ICMP messages. */
static void test_symmetry(void)
{
    unsigned r = 12345;
    const unsigned protos[] = { 6, 17, 132, 47, 50 };
    for (int i = 0; i < 2000; i++) {
        struct flow_tuple a = { .addr_len = i % 4 ? 4 : 16 }, b;
        for (int k = 0; k < a.addr_len; k++) {
            r = r * 1103515245u + 12345u;
            a.src[k] = (unsigned char)(r >> 16);
            a.dst[k] = (unsigned char)(i % 7 ? r >> 8 : r >> 16);       /* some flows between one address */
        }
        r = r * 1103515245u + 12345u;
        a.proto = (uint8_t)protos[(r >> 8) % 5];
        a.sport = (uint16_t)(r >> 16);
        a.dport = (uint16_t)(i % 5 ? r : r >> 16);                     /* some with equal ports */
        b = a;
        memcpy(b.src, a.dst, 16);
        memcpy(b.dst, a.src, 16);
        b.sport = a.dport;
        b.dport = a.sport;
        char ia[COMMUNITY_ID_LEN + 1], ib[COMMUNITY_ID_LEN + 1];
        id_of(&a, ia);
        id_of(&b, ib);
        CHECK_STR(ib, ia);
    }
    /* an echo request and its reply; a one-way message and its mirror image differ */
    struct flow_tuple req = { .addr_len = 4, .proto = 1, .src = { 10, 0, 0, 9 }, .dst = { 10, 0, 0, 1 }, .sport = 8 };
    struct flow_tuple rep = { .addr_len = 4, .proto = 1, .src = { 10, 0, 0, 1 }, .dst = { 10, 0, 0, 9 }, .sport = 0 };
    char a[COMMUNITY_ID_LEN + 1], b[COMMUNITY_ID_LEN + 1];
    id_of(&req, a);
    id_of(&rep, b);
    CHECK_STR(b, a);
    req.sport = rep.sport = 3;        /* destination unreachable */
    id_of(&req, a);
    id_of(&rep, b);
    CHECK(strcmp(a, b) != 0);
}

/* Ports of protocols without them are not hashed. */
static void test_portless(void)
{
    struct flow_tuple t = { .addr_len = 4, .proto = 50, .src = { 10, 0, 0, 1 }, .dst = { 10, 0, 0, 2 } };
    char a[COMMUNITY_ID_LEN + 1], b[COMMUNITY_ID_LEN + 1];
    id_of(&t, a);
    t.sport = 500;
    t.dport = 4500;
    id_of(&t, b);
    CHECK_STR(b, a);
    CHECK(community_id_has_ports(6) && community_id_has_ports(17) && community_id_has_ports(132));
    CHECK(community_id_has_ports(1) && community_id_has_ports(58));
    CHECK(!community_id_has_ports(50) && !community_id_has_ports(47) && !community_id_has_ports(0));
}

/* The composer's inputs, in its order; NULL: absent. */
struct doc_case {
    const char *src_ip, *src_port, *dst_ip, *dst_port, *iana, *transport, *icmp_type, *icmp_code;
    const char *want;        /* NULL: no id */
};

static const struct doc_case doc_cases[] = {
    { "1.2.3.4", "1122", "5.6.7.8", "3344", "6", "tcp", NULL, NULL, "1:wCb3OG7yAFWelaUydu0D+125CLM=" },
    { "5.6.7.8", "3344", "1.2.3.4", "1122", "6", NULL, NULL, NULL, "1:wCb3OG7yAFWelaUydu0D+125CLM=" },
    { "1.2.3.4", "1122", "5.6.7.8", "3344", NULL, "udp", NULL, NULL, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=" },
    { "1.2.3.4", "1122", "5.6.7.8", "3344", NULL, "SCTP", NULL, NULL, "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8=" },
    { "1.2.3.4", "1122", "5.6.7.8", "3344", NULL, "17", NULL, NULL, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=" },
    { "1.2.3.4", "1122", "5.6.7.8", "3344", "17", "tcp", NULL, NULL, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=" },  /* the number wins */
    { "2001:470:e5bf:dead:4957:2174:e82c:4887", "63943", "2607:f8b0:400c:c03::1a", "25", "6", NULL, NULL, NULL,
      "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=" },
    { "1.2.3.4", "0", "5.6.7.8", "0", "46", NULL, NULL, NULL, "1:ikv3kmf89luf73WPz1jOs49S768=" },
    { "1.2.3.4", NULL, "5.6.7.8", NULL, "46", NULL, NULL, NULL, "1:ikv3kmf89luf73WPz1jOs49S768=" },     /* no ports needed */
    /* ICMP: type and code from their inputs, never from the ports */
    { "1.2.3.4", "0", "5.6.7.8", "0", "1", "icmp", "8", "0", "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=" },
    { "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", NULL, "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", NULL, NULL,
      "ipv6-icmp", "128", "0", "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=" },
    { "1.2.3.4", "8", "5.6.7.8", "0", "1", "icmp", NULL, NULL, NULL },        /* VPC: ports, no type and code */
    { "1.2.3.4", NULL, "5.6.7.8", NULL, "1", NULL, "256", "0", NULL },
    /* incomplete or malformed tuples */
    { NULL, "1122", "5.6.7.8", "3344", "6", NULL, NULL, NULL, NULL },
    { "1.2.3.4", "1122", NULL, "3344", "6", NULL, NULL, NULL, NULL },
    { "1.2.3.4", NULL, "5.6.7.8", "3344", "6", NULL, NULL, NULL, NULL },
    { "1.2.3.4", "1122", "5.6.7.8", NULL, "17", NULL, NULL, NULL, NULL },
    { "1.2.3.4", "1122", "5.6.7.8", "3344", NULL, NULL, NULL, NULL, NULL },
    { "1.2.3.4", "1122", "5.6.7.8", "3344", "-", "tcp", NULL, NULL, NULL },
    { "1.2.3.4", "1122", "5.6.7.8", "3344", "256", NULL, NULL, NULL, NULL },
    { "1.2.3.4", "1122", "5.6.7.8", "3344", NULL, "quic", NULL, NULL, NULL },
    { "1.2.3.4", "65536", "5.6.7.8", "3344", "6", NULL, NULL, NULL, NULL },
    { "1.2.3.4", "-1", "5.6.7.8", "3344", "6", NULL, NULL, NULL, NULL },
    { "1.2.3.4", "1122", "::ffff:5.6.7.8", "3344", "6", NULL, NULL, NULL, NULL },     /* two families */
    { "-", "1122", "5.6.7.8", "3344", "6", NULL, NULL, NULL, NULL },
    { "1.2.3.4", "1122", "host.example", "3344", "6", NULL, NULL, NULL, NULL },
    { "1.2.3.4", "1122", "5.6.7.8:80", "3344", "6", NULL, NULL, NULL, NULL },
};

static void test_composer(void)
{
    const char *const *names;
    CHECK_INT(compose_inputs(COMPOSE_COMMUNITY_ID, &names), 8);
    CHECK_STR(names[0], "source.ip");
    CHECK_STR(names[6], "icmp.type");
    CHECK_INT(compose_from_name("community_id"), COMPOSE_COMMUNITY_ID);
    arena_t arena;
    arena_init(&arena);
    for (size_t i = 0; i < sizeof doc_cases / sizeof doc_cases[0]; i++) {
        const struct doc_case *c = &doc_cases[i];
        const char *v[8] = { c->src_ip, c->src_port, c->dst_ip, c->dst_port, c->iana, c->transport, c->icmp_type,
                             c->icmp_code };
        struct span in[8];
        for (int k = 0; k < 8; k++) in[k] = (struct span){ v[k], v[k] ? (uint32_t)strlen(v[k]) : 0, DV_STR };
        const char *out;
        size_t len;
        int rc = compose_apply(COMPOSE_COMMUNITY_ID, in, &arena, &out, &len);
        char got[64], what[64];
        snprintf(got, sizeof got, "%.*s", rc == 0 ? (int)len : 0, rc == 0 ? out : "(none)");
        snprintf(what, sizeof what, "composer case %zu", i);
        if (c->want ? rc == 0 && strcmp(got, c->want) == 0 : rc == -1) tl_passed++;
        else tl_fail(__FILE__, __LINE__, what, got);
    }
    arena_free(&arena);
}

int main(void)
{
    test_vectors();
    test_symmetry();
    test_portless();
    test_composer();
    return tl_done();
}
