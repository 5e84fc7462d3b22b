/* geoip: ECS geo.* and as.* enrichment of public IP addresses from MaxMind
 * databases (libmaxminddb), with hot reload when geoipupdate replaces them.
 *
 * Owns the open databases of one directory: a City database (fallback:
 * Country) and an ASN database (fallback: ISP). Lookups run concurrently on
 * worker threads; a reload swaps databases in under a write lock held only for
 * the pointer swap, and closes the old ones only after no lookup uses them.
 * It must never look up non-public addresses, never add a field that is not
 * ECS, never hand out a value from a closed database, and never allocate per
 * lookup outside the document's arena. */
#ifndef SIEMPROC_GEOIP_H
#define SIEMPROC_GEOIP_H
#include <stddef.h>
#include <stdint.h>
#include "doc.h"

struct geoip;

/* Find and open the databases in dir: the first *.mmdb (by name) whose name
 * contains "City", else "Country"; and the first containing "ASN", else
 * "ISP". Either may be missing, not both. NULL with a message in err when the
 * directory cannot be read, holds no database, or a database is corrupt. */
struct geoip *geoip_open(const char *dir, char *err, size_t errlen);
void geoip_close(struct geoip *g);

/* Add <prefix>.geo.* and <prefix>.as.* fields for ip (not NUL-terminated).
 * Returns the number of fields added: 0 for a NULL g, an unparsable or
 * non-public address, or one no database knows. Prefixes "source",
 * "destination", "client", "server", "host" and "observer" use static path
 * strings (host and observer have no as.* in ECS); any other prefix gets its
 * paths copied into the doc arena. Thread-safe; each calling thread keeps a
 * cache of recent results (about 250 KB, freed when the thread exits) that
 * a reload invalidates. */
int geoip_enrich(struct geoip *g, struct doc *d, const char *prefix, const char *ip, size_t iplen);

/* Re-scan the directory; when a chosen file changed (path, device, inode,
 * size or mtime) open the new one and swap it in. Returns 1 when something
 * was swapped, 0 when nothing changed, -1 when opening failed: the old
 * databases stay in use and geoip_error() says why. A file that disappeared
 * is not a change (the open copy stays in use). Serialized internally; safe
 * to call while other threads enrich. */
int geoip_reload_if_changed(struct geoip *g);
/* Message of the last failed reload; read it from the reloading thread. */
const char *geoip_error(const struct geoip *g);
/* Database lookups so far: enrichments of public addresses that the
 * per-thread result caches could not answer (a metric; hits are not counted
 * to keep them free of shared writes). */
uint64_t geoip_lookups(struct geoip *g);
/* One line naming the databases in use, e.g. for the start-up log. */
void geoip_describe(struct geoip *g, char *out, size_t n);

/* 1 when ip (len bytes, textual IPv4 or IPv6) is a globally routable unicast
 * address worth a geo lookup; 0 for anything unparsable, private, loopback,
 * link-local, CGNAT, multicast, reserved, documentation, benchmarking or
 * unique-local. IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d)
 * addresses are judged, and looked up, by their embedded IPv4 address. */
int ip_is_public(const char *ip, size_t len);
#endif
