/* community_id: Community ID flow hashing, version 1 (the corelight
 * community-id-spec, as Zeek, Suricata and Elastic compute it). The id names
 * a flow by its 5-tuple whichever end sent the packet, so the documents of
 * different tools about one connection (a VPC flow log record, a Network
 * Firewall alert, an IDS event) can be joined on network.community_id.
 *
 * Owns the hashed byte layout, the ordering of the two endpoints and the
 * mapping of ICMP / ICMPv6 type and code to port-like values. A function of
 * the tuple alone (and thread-safe): it never reads a document and never
 * guesses -- deciding which tuple is complete is the caller's job. */
#ifndef SIEMPROC_COMMUNITY_ID_H
#define SIEMPROC_COMMUNITY_ID_H
#include <stdint.h>

#define COMMUNITY_ID_LEN 30      /* "1:" and the base64 text of a SHA-1 digest */

struct flow_tuple {
    unsigned char src[16], dst[16];   /* addresses in network byte order */
    int           addr_len;           /* 4 (IPv4) or 16 (IPv6): both ends alike */
    uint8_t       proto;              /* IANA protocol number */
    uint16_t      sport, dport;       /* TCP, UDP, SCTP: the ports; ICMP, ICMPv6:
                                         the message type and code; other
                                         protocols: not used */
};

/* Does proto's id include ports (or ICMP type and code)? */
int community_id_has_ports(unsigned proto);

/* The id of t hashed with seed (0 unless the tools agree on another),
 * NUL-terminated in out. */
void community_id_v1(const struct flow_tuple *t, uint16_t seed, char out[COMMUNITY_ID_LEN + 1]);
#endif
