/* compose: values built from several ECS fields other rules fill, for field
 * rules with "compose": "<name>" (e.g. "url.full": {"compose": "url"}).
 *
 * A composer names the fields it reads; the schema gives each a slot that the
 * rules targeting that field fill as they add it (the first value wins, as
 * in the document), and the engine runs composed rules after all other rules,
 * from those values. A composer reads only the values it is given: it never
 * adds to the document, and it never keeps a value past the call.
 *
 *   url   scheme://domain[:port]path[?query] from url.scheme, url.domain,
 *         url.port, url.path, url.query: the port only when it is not the
 *         scheme's default, an IPv6 domain in brackets, bytes a URL cannot
 *         hold (blanks, controls, non-ASCII, "#<>\"{}|\\^`) percent-encoded.
 *         Nothing without a scheme and a domain, or when the domain holds
 *         what cannot be in a host ("/?#@\\", blanks).
 *   community_id
 *         the Community ID (community_id.h) of source.ip, source.port,
 *         destination.ip, destination.port and the protocol: the number in
 *         network.iana_number, else network.transport's name or number. ICMP
 *         and ICMPv6 hash the message type and code from icmp.type and
 *         icmp.code instead of the ports: no ECS field holds them, so a
 *         schema whose records have them names its own fields in the rule's
 *         "inputs" -- without, an ICMP flow gets no id (VPC Flow Logs write
 *         ports 0 and 0 for ICMP: nothing to tell an echo from its reply).
 *         Nothing when an address is missing or not an address, the two are
 *         of different families, or the protocol or a port it needs is
 *         missing or out of range; other protocols hash the addresses only.
 *
 * A rule may name other fields of its schema for a composer's inputs, keyed
 * by the paths above ("inputs": {"icmp.type": "aws.networkfirewall.icmp_type"}),
 * and may have "from" sources too: the record's own value then wins and the
 * composer runs only when they give none (Suricata logs its community_id
 * when configured to, with its own seed). */
#ifndef SIEMPROC_COMPOSE_H
#define SIEMPROC_COMPOSE_H
#include <stddef.h>
#include "buf.h"
#include "doc.h"        /* the kinds of values (DV_*) */
#include "parser.h"     /* struct span */

enum compose_id { COMPOSE_NONE, COMPOSE_URL, COMPOSE_COMMUNITY_ID, COMPOSE_COUNT };
#define COMPOSE_MAX_INPUTS 8     /* the most inputs a composer reads */

int compose_from_name(const char *name);        /* COMPOSE_NONE when unknown */
/* The paths of the fields composer id reads, in the order compose_apply
 * takes their values; returns how many. */
int compose_inputs(int id, const char *const **paths);
/* Build the value from the inputs' values (p NULL: absent); 0 with the text
 * in the arena, -1 when the values it needs are absent or unusable. The text
 * never needs JSON escaping. */
int compose_apply(int id, const struct span *in, arena_t *arena, const char **out, size_t *n);
#endif
