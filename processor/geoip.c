/* geoip: see geoip.h.
 *
 * Concurrency: g->db[] is read under a shared lock for the whole of one
 * lookup (the values point into the database's mapping until they are copied
 * into the doc arena). A reload opens the new files with no lock held, takes
 * the write lock only to swap pointers, and closes the old databases after
 * releasing it: holding the write lock proves no lookup still uses them. The
 * lock prefers writers so a steady stream of lookups cannot starve a reload;
 * a lookup therefore waits at most for the lookups already in flight.
 * Most enrichments take no lock at all: a per-thread cache of finished
 * results answers repeated addresses (see "Per-thread cache" below).
 *
 * The hot path allocates nothing beyond the doc arena (and one cache per
 * enriching thread, on its first lookup): addresses are parsed into stack
 * buffers, database paths are static arrays for MMDB_aget_value (the variadic
 * MMDB_get_value mallocs its path), and numbers are formatted by hand
 * (printf's %g would also follow LC_NUMERIC and could write "51,5"). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE     /* pthread_rwlockattr_setkind_np, st_mtim */
#endif
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include "geoip.h"
#include "ipv4.h"

/* ---------------------------------------------------------------------------
 * Address classification: one table of non-public ranges per family. */

struct ipaddr {
    int     v4;                 /* 1: address in b[0..3] */
    uint8_t b[16];
};

struct net {
    uint8_t     b[16];
    uint8_t     bits;
    const char *what;
};

/* IANA IPv4 special-purpose registry, minus the globally reachable anycast
 * blocks (AS112, AMT), plus multicast and the reserved 240/4. */
static const struct net v4_special[] = {
    { {0},             8,  "this network" },
    { {10},            8,  "private" },
    { {100, 64},       10, "shared address space (CGNAT)" },
    { {127},           8,  "loopback" },
    { {169, 254},      16, "link-local" },
    { {172, 16},       12, "private" },
    { {192, 0, 0},     24, "IETF protocol assignments" },
    { {192, 0, 2},     24, "documentation (TEST-NET-1)" },
    { {192, 88, 99},   24, "6to4 relay anycast (deprecated)" },
    { {192, 168},      16, "private" },
    { {198, 18},       15, "benchmarking" },
    { {198, 51, 100},  24, "documentation (TEST-NET-2)" },
    { {203, 0, 113},   24, "documentation (TEST-NET-3)" },
    { {224},           4,  "multicast" },
    { {240},           4,  "reserved, limited broadcast" },
};

/* IPv6 is public only inside global unicast 2000::/3, which excludes
 * loopback, unspecified, unique-local fc00::/7, link-local fe80::/10,
 * multicast ff00::/8 and every unassigned block at once. Inside it: */
static const struct net v6_global = { {0x20}, 3, "global unicast" };
static const struct net v6_special[] = {
    { {0x20, 0x01, 0x00, 0x00}, 23, "IETF protocol assignments (Teredo, benchmarking, ORCHID)" },
    { {0x20, 0x01, 0x0d, 0xb8}, 32, "documentation" },
    { {0x3f, 0xff, 0x00, 0x00}, 20, "documentation" },
};

/* IPv6 prefixes whose last 32 bits are an IPv4 address to judge instead. */
static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
static const uint8_t v4_nat64[12]  = { 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0 };

static int in_net(const uint8_t *a, const struct net *n)
{
    unsigned bits = n->bits;
    for (unsigned i = 0; bits; i++) {        /* most ranges differ in byte 0 */
        unsigned take = bits < 8 ? bits : 8;
        if ((a[i] ^ n->b[i]) & (0xff00u >> take)) return 0;
        bits -= take;
    }
    return 1;
}

static int in_any(const uint8_t *a, const struct net *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (in_net(a, &t[i])) return 1;
    return 0;
}

static void unwrap_v4(struct ipaddr *a)
{
    if (memcmp(a->b, v4_mapped, 12) != 0 && memcmp(a->b, v4_nat64, 12) != 0) return;
    memmove(a->b, a->b + 12, 4);
    memset(a->b + 4, 0, 12);
    a->v4 = 1;
}

/* Strict textual address: dotted quad (no leading zeros) or RFC 4291 IPv6. */
static int ip_parse(const char *s, size_t n, struct ipaddr *a)
{
    memset(a, 0, sizeof *a);
    int len = s ? ip_from_text(s, n, a->b) : 0;
    if (!len) return 0;
    a->v4 = len == 4;
    if (!a->v4) unwrap_v4(a);
    return 1;
}

static int addr_public(const struct ipaddr *a)
{
    if (a->v4)
        return !in_any(a->b, v4_special, sizeof v4_special / sizeof v4_special[0]);
    return in_net(a->b, &v6_global) &&
           !in_any(a->b, v6_special, sizeof v6_special / sizeof v6_special[0]);
}

int ip_is_public(const char *ip, size_t len)
{
    struct ipaddr a;
    return ip_parse(ip, len, &a) && addr_public(&a);
}

/* ---------------------------------------------------------------------------
 * ECS field paths: one list of fields, expanded into a row of static path
 * strings per common prefix and into suffixes for any other prefix. */

#define GEO_FIELDS(X, p) \
    X(p, GF_CITY,           ".geo.city_name") \
    X(p, GF_CONTINENT_CODE, ".geo.continent_code") \
    X(p, GF_CONTINENT_NAME, ".geo.continent_name") \
    X(p, GF_COUNTRY_ISO,    ".geo.country_iso_code") \
    X(p, GF_COUNTRY_NAME,   ".geo.country_name") \
    X(p, GF_REGION_ISO,     ".geo.region_iso_code") \
    X(p, GF_REGION_NAME,    ".geo.region_name") \
    X(p, GF_LOCATION,       ".geo.location") \
    X(p, GF_POSTAL,         ".geo.postal_code") \
    X(p, GF_TIMEZONE,       ".geo.timezone")
#define AS_FIELDS(X, p) \
    X(p, GF_AS_NUMBER,      ".as.number") \
    X(p, GF_AS_ORG,         ".as.organization.name")

#define F_ENUM(p, e, s)   e,
#define F_SUFFIX(p, e, s) [e] = s,
#define F_PATH(p, e, s)   [e] = p s,

enum gf { GEO_FIELDS(F_ENUM, _) AS_FIELDS(F_ENUM, _) GF_COUNT };

static const char *const suffix[GF_COUNT] = {
    GEO_FIELDS(F_SUFFIX, _) AS_FIELDS(F_SUFFIX, _)
};

struct prefix_paths {
    const char *prefix;
    const char *path[GF_COUNT];     /* NULL: ECS has no such field here */
};

#define GEO_AS_ROW(p) { p, { GEO_FIELDS(F_PATH, p) AS_FIELDS(F_PATH, p) } }
#define GEO_ROW(p)    { p, { GEO_FIELDS(F_PATH, p) } }

static const struct prefix_paths prefix_table[] = {
    GEO_AS_ROW("source"),
    GEO_AS_ROW("destination"),
    GEO_AS_ROW("client"),
    GEO_AS_ROW("server"),
    GEO_ROW("host"),
    GEO_ROW("observer"),
};

static const struct prefix_paths *prefix_find(const char *prefix)
{
    for (size_t i = 0; i < sizeof prefix_table / sizeof prefix_table[0]; i++)
        if (strcmp(prefix_table[i].prefix, prefix) == 0) return &prefix_table[i];
    return NULL;
}

/* NULL when the prefix's ECS field set lacks the field (host.as.*). */
static const char *field_path(struct doc *d, const char *prefix, const struct prefix_paths *pp,
                              enum gf f)
{
    if (pp) return pp->path[f];
    size_t pl = strlen(prefix), sl = strlen(suffix[f]);
    char *p = arena_alloc(&d->arena, pl + sl + 1);
    memcpy(p, prefix, pl);
    memcpy(p + pl, suffix[f], sl + 1);
    return p;
}

/* ---------------------------------------------------------------------------
 * Results: the fields found for one address, independent of the prefix. In a
 * fresh result the values point into the database mapping or into scratch;
 * in a cache slot they point into the slot. */

struct fval {
    const char *v;
    uint16_t    len;
    uint8_t     f, kind;
};

struct result {
    int         n;
    struct fval fv[GF_COUNT];
    char        scratch[128];   /* formatted values: location, region, AS number */
    size_t      used;
};

static void res_add(struct result *r, enum gf f, int kind, const char *v, size_t len)
{
    if (len > UINT16_MAX || r->n == GF_COUNT) return;
    r->fv[r->n++] = (struct fval){ v, (uint16_t)len, (uint8_t)f, (uint8_t)kind };
}

/* Add a value formatted in scratch[used..]; len bytes were written there. */
static void res_add_scratch(struct result *r, enum gf f, int kind, size_t len)
{
    res_add(r, f, kind, r->scratch + r->used, len);
    r->used += len;
}

static int emit(struct doc *d, const char *prefix, const struct fval *fv, int n)
{
    const struct prefix_paths *pp = prefix_find(prefix);
    int added = 0;
    for (int i = 0; i < n; i++) {
        const char *path = field_path(d, prefix, pp, (enum gf)fv[i].f);
        if (!path) continue;
        doc_add_copy(d, path, fv[i].kind, 0, fv[i].v, fv[i].len);
        added++;
    }
    return added;
}

/* ---------------------------------------------------------------------------
 * Reading records. Every path is a NULL-terminated static array. Each
 * top-level map is found once and its values read inside it: a lookup from
 * the record's top re-decodes (skips) every map before the key it wants,
 * which made reading a City record the bulk of an enrichment. */

static const char *const K_CITY[]        = { "city", NULL };
static const char *const K_CONTINENT[]   = { "continent", NULL };
static const char *const K_COUNTRY[]     = { "country", NULL };
static const char *const K_SUBDIVISION[] = { "subdivisions", "0", NULL };
static const char *const K_LOCATION[]    = { "location", NULL };
static const char *const K_POSTAL[]      = { "postal", NULL };
static const char *const P_NAME_EN[]     = { "names", "en", NULL };
static const char *const P_CODE[]        = { "code", NULL };
static const char *const P_ISO[]         = { "iso_code", NULL };
static const char *const P_LATITUDE[]    = { "latitude", NULL };
static const char *const P_LONGITUDE[]   = { "longitude", NULL };
static const char *const P_TIMEZONE[]    = { "time_zone", NULL };
static const char *const P_AS_NUMBER[]   = { "autonomous_system_number", NULL };
static const char *const P_AS_ORG[]      = { "autonomous_system_organization", NULL };

static int get_value(MMDB_entry_s *e, const char *const *path, int type, MMDB_entry_data_s *v)
{
    return MMDB_aget_value(e, v, path) == MMDB_SUCCESS && v->has_data && (int)v->type == type;
}

static int get_str(MMDB_entry_s *e, const char *const *path, const char **s, size_t *n)
{
    MMDB_entry_data_s v;
    if (!get_value(e, path, MMDB_DATA_TYPE_UTF8_STRING, &v) || v.data_size == 0) return 0;
    *s = v.utf8_string;
    *n = v.data_size;
    return 1;
}

/* The map at path below e, as an entry to look values up in. */
static int get_map(MMDB_entry_s *e, const char *const *path, MMDB_entry_s *map)
{
    MMDB_entry_data_s v;
    if (!get_value(e, path, MMDB_DATA_TYPE_MAP, &v)) return 0;
    map->mmdb = e->mmdb;
    map->offset = v.offset;
    return 1;
}

static void add_str(struct result *r, MMDB_entry_s *map, const char *const *path, enum gf f)
{
    const char *s;
    size_t n;
    if (get_str(map, path, &s, &n)) res_add(r, f, DV_STR, s, n);
}

static size_t fmt_uint(unsigned long long v, char *out)
{
    char tmp[24];
    size_t n = 0;
    do tmp[n++] = (char)('0' + v % 10); while (v /= 10);
    for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    return n;
}

/* Decimal degrees rounded to 1e-7 (about 1 cm, finer than Elasticsearch
 * stores a geo_point), trailing zeros dropped. Returns the length. */
static size_t fmt_coord(double v, char *out)
{
    long long q = (long long)((v < 0 ? -v : v) * 1e7 + 0.5);
    char *p = out;
    if (v < 0 && q) *p++ = '-';
    p += fmt_uint((unsigned long long)(q / 10000000), p);
    long long frac = q % 10000000;
    if (frac) {
        char digits[8];
        for (int i = 6; i >= 0; i--, frac /= 10) digits[i] = (char)('0' + frac % 10);
        int last = 6;
        while (digits[last] == '0') last--;
        *p++ = '.';
        memcpy(p, digits, (size_t)last + 1);
        p += last + 1;
    }
    return (size_t)(p - out);
}

/* ECS geo_point as an object: {"lat":51.5142,"lon":-0.0931}. */
static void add_location(struct result *r, MMDB_entry_s *loc)
{
    MMDB_entry_data_s lat, lon;
    if (!get_value(loc, P_LATITUDE, MMDB_DATA_TYPE_DOUBLE, &lat) ||
        !get_value(loc, P_LONGITUDE, MMDB_DATA_TYPE_DOUBLE, &lon)) return;
    if (!(lat.double_value >= -90 && lat.double_value <= 90 &&
          lon.double_value >= -180 && lon.double_value <= 180)) return;    /* also NaN */
    if (sizeof r->scratch - r->used < 64) return;
    char *p = r->scratch + r->used, *start = p;
    memcpy(p, "{\"lat\":", 7), p += 7;
    p += fmt_coord(lat.double_value, p);
    memcpy(p, ",\"lon\":", 7), p += 7;
    p += fmt_coord(lon.double_value, p);
    *p++ = '}';
    res_add_scratch(r, GF_LOCATION, DV_RAW, (size_t)(p - start));
}

/* ECS region_iso_code is "<country>-<subdivision>", e.g. "GB-ENG". */
static void add_region_iso(struct result *r, MMDB_entry_s *sub, const char *cc, size_t ccn)
{
    const char *s;
    size_t sn;
    if (!ccn || !get_str(sub, P_ISO, &s, &sn) || ccn + 1 + sn > sizeof r->scratch - r->used) return;
    char *p = r->scratch + r->used;
    memcpy(p, cc, ccn);
    p[ccn] = '-';
    memcpy(p + ccn + 1, s, sn);
    res_add_scratch(r, GF_REGION_ISO, DV_STR, ccn + 1 + sn);
}

static int lookup(const MMDB_s *db, const struct sockaddr *sa, MMDB_entry_s *e)
{
    int err = MMDB_SUCCESS;
    MMDB_lookup_result_s lr = MMDB_lookup_sockaddr(db, sa, &err);
    if (err != MMDB_SUCCESS || !lr.found_entry) return 0;
    *e = lr.entry;
    return 1;
}

/* City or Country record: English names, as ECS expects. */
static void read_geo(struct result *r, const MMDB_s *db, const struct sockaddr *sa)
{
    MMDB_entry_s e, m;
    const char *cc = NULL;
    size_t ccn = 0;
    if (!lookup(db, sa, &e)) return;
    if (get_map(&e, K_COUNTRY, &m)) {
        if (get_str(&m, P_ISO, &cc, &ccn)) res_add(r, GF_COUNTRY_ISO, DV_STR, cc, ccn);
        add_str(r, &m, P_NAME_EN, GF_COUNTRY_NAME);
    }
    if (get_map(&e, K_CONTINENT, &m)) {
        add_str(r, &m, P_CODE, GF_CONTINENT_CODE);
        add_str(r, &m, P_NAME_EN, GF_CONTINENT_NAME);
    }
    if (get_map(&e, K_CITY, &m)) add_str(r, &m, P_NAME_EN, GF_CITY);
    if (get_map(&e, K_SUBDIVISION, &m)) {
        add_region_iso(r, &m, cc, ccn);
        add_str(r, &m, P_NAME_EN, GF_REGION_NAME);
    }
    if (get_map(&e, K_LOCATION, &m)) {
        add_location(r, &m);
        add_str(r, &m, P_TIMEZONE, GF_TIMEZONE);
    }
    if (get_map(&e, K_POSTAL, &m)) add_str(r, &m, P_CODE, GF_POSTAL);
}

/* ASN or ISP record. */
static void read_as(struct result *r, const MMDB_s *db, const struct sockaddr *sa)
{
    MMDB_entry_s e;
    MMDB_entry_data_s v;
    if (!lookup(db, sa, &e)) return;
    if (get_value(&e, P_AS_NUMBER, MMDB_DATA_TYPE_UINT32, &v) && sizeof r->scratch - r->used >= 10)
        res_add_scratch(r, GF_AS_NUMBER, DV_NUM, fmt_uint(v.uint32, r->scratch + r->used));
    add_str(r, &e, P_AS_ORG, GF_AS_ORG);
}

/* ---------------------------------------------------------------------------
 * Per-thread cache of results. Log streams repeat a few addresses (the
 * shared corpus: 252 public IPv4 mentions, 16 distinct), and a cache hit
 * costs a hash and the arena copies instead of a record decode. Slots are
 * tagged with a generation that is unique across all geoip objects and
 * changes on every swap, so a reload or a new object invalidates them
 * without touching other threads. Not-found results are cached too. */

#define CACHE_BITS  9
#define CACHE_SLOTS (1u << CACHE_BITS)  /* 480 bytes each: ~250 KB per enriching thread */
#define CACHE_DATA  256         /* value bytes per slot; larger results are not cached */

struct slot {
    uint64_t    gen;            /* 0: empty */
    uint8_t     key[16];        /* IPv6, IPv4 as ::ffff:a.b.c.d */
    int         n;
    struct fval fv[GF_COUNT];   /* values point into data */
    char        data[CACHE_DATA];
};

struct cache {
    struct slot slot[CACHE_SLOTS];
};

static _Atomic uint64_t next_gen = 1;
static pthread_key_t    cache_key;
static pthread_once_t   cache_once = PTHREAD_ONCE_INIT;
static _Thread_local struct cache *thread_cache;

static void cache_key_init(void)
{
    pthread_key_create(&cache_key, free);   /* frees a thread's cache at its exit */
}

static struct cache *cache_get(void)
{
    if (!thread_cache) {
        pthread_once(&cache_once, cache_key_init);
        thread_cache = xcalloc(1, sizeof *thread_cache);
        pthread_setspecific(cache_key, thread_cache);
    }
    return thread_cache;
}

static void cache_key_of(const struct ipaddr *a, uint8_t key[16])
{
    if (!a->v4) { memcpy(key, a->b, 16); return; }
    memcpy(key, v4_mapped, 12);
    memcpy(key + 12, a->b, 4);
}

/* Multiplicative hashing: only the top bits of a product depend on every
 * bit of the key (an IPv4 address sits in the key's last four bytes). */
static struct slot *cache_slot(struct cache *c, const uint8_t key[16])
{
    uint64_t w0, w1;
    memcpy(&w0, key, 8);
    memcpy(&w1, key + 8, 8);
    uint64_t h = (w0 * 0x9e3779b97f4a7c15u) ^ (w1 * 0xc2b2ae3d27d4eb4fu);
    return &c->slot[h >> (64 - CACHE_BITS)];
}

static void cache_put(struct slot *s, uint64_t gen, const uint8_t key[16], const struct result *r)
{
    size_t used = 0;
    s->gen = 0;
    for (int i = 0; i < r->n; i++) {
        if (r->fv[i].len > sizeof s->data - used) return;
        memcpy(s->data + used, r->fv[i].v, r->fv[i].len);
        s->fv[i] = r->fv[i];
        s->fv[i].v = s->data + used;
        used += r->fv[i].len;
    }
    s->n = r->n;
    memcpy(s->key, key, 16);
    s->gen = gen;
}

/* ---------------------------------------------------------------------------
 * Databases and their files. */

enum role { ROLE_GEO, ROLE_ASN, NROLES };

/* File-name substrings per role, best first. */
static const char *const role_names[NROLES][2] = {
    [ROLE_GEO] = { "City", "Country" },
    [ROLE_ASN] = { "ASN", "ISP" },
};

struct fileid {
    dev_t           dev;
    ino_t           ino;
    off_t           size;
    struct timespec mtime;
};

struct geodb {
    MMDB_s        mmdb;
    char         *path;
    struct fileid id;
};

struct geoip {
    char            *dir;
    pthread_rwlock_t lock;          /* shared: one lookup; exclusive: swapping db[] */
    pthread_mutex_t  reload;        /* one reload at a time; guards err */
    struct geodb    *db[NROLES];    /* either may be NULL */
    _Atomic uint64_t gen;           /* changes with db[]; tags cache slots */
    _Atomic uint64_t lookups;       /* enrichments no cache could answer */
    char             err[512];
};

static int file_id(const char *path, struct fileid *id)
{
    struct stat st;
    if (stat(path, &st) != 0) return -1;
    id->dev = st.st_dev;
    id->ino = st.st_ino;
    id->size = st.st_size;
    id->mtime = st.st_mtim;
    return 0;
}

static int same_file(const struct geodb *db, const char *path, const struct fileid *id)
{
    return db && strcmp(db->path, path) == 0 && db->id.dev == id->dev && db->id.ino == id->ino &&
           db->id.size == id->size && db->id.mtime.tv_sec == id->mtime.tv_sec &&
           db->id.mtime.tv_nsec == id->mtime.tv_nsec;
}

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && memcmp(s + n - m, suf, m) == 0;
}

/* Rank of name for role r: 0 or 1 by role_names, -1 when it does not fit. */
static int name_rank(const char *name, enum role r)
{
    for (int k = 0; k < 2; k++)
        if (strstr(name, role_names[r][k])) return k;
    return -1;
}

/* Choose one file per role; paths[r] is malloc'd or NULL. -1 on a dir error. */
static int scan_dir(const char *dir, char *paths[NROLES], char *err, size_t errlen)
{
    char best[NROLES][256] = { { 0 } };
    int rank[NROLES] = { 2, 2 };
    DIR *dp = opendir(dir);
    if (!dp) {
        snprintf(err, errlen, "geoip: cannot read directory %s: %s", dir, strerror(errno));
        return -1;
    }
    for (struct dirent *de; (de = readdir(dp)) != NULL;) {
        const char *name = de->d_name;
        if (name[0] == '.' || !ends_with(name, ".mmdb") || strlen(name) >= sizeof best[0]) continue;
        for (int r = 0; r < NROLES; r++) {
            int k = name_rank(name, (enum role)r);
            if (k < 0 || k > rank[r] || (k == rank[r] && strcmp(name, best[r]) >= 0)) continue;
            rank[r] = k;
            strcpy(best[r], name);
        }
    }
    closedir(dp);
    for (int r = 0; r < NROLES; r++) {
        paths[r] = NULL;
        if (!best[r][0]) continue;
        size_t n = strlen(dir) + strlen(best[r]) + 2;
        paths[r] = xmalloc(n);
        snprintf(paths[r], n, "%s/%s", dir, best[r]);
    }
    return 0;
}

static void db_close(struct geodb *db)
{
    if (!db) return;
    MMDB_close(&db->mmdb);
    free(db->path);
    free(db);
}

/* Open path, recording id taken before the open: if the file is replaced in
 * between, the next reload sees a difference and opens it again. */
static struct geodb *db_open(const char *path, const struct fileid *id, char *err, size_t errlen)
{
    struct geodb *db = xcalloc(1, sizeof *db);
    int rc = MMDB_open(path, MMDB_MODE_MMAP, &db->mmdb);
    if (rc != MMDB_SUCCESS) {
        int e = errno;
        snprintf(err, errlen, "geoip: cannot open %s: %s%s%s", path, MMDB_strerror(rc),
                 rc == MMDB_IO_ERROR ? ": " : "", rc == MMDB_IO_ERROR ? strerror(e) : "");
        free(db);
        return NULL;
    }
    db->path = xstrdup(path);
    db->id = *id;
    return db;
}

static void free_paths(char *paths[NROLES])
{
    for (int r = 0; r < NROLES; r++) free(paths[r]);
}

/* Open the files in paths that differ from g->db into fresh[]; 1 when any
 * did, 0 when none, -1 (fresh[] closed) when one failed to open. */
static int open_changed(struct geoip *g, char *paths[NROLES], struct geodb *fresh[NROLES],
                        char *err, size_t errlen)
{
    int changed = 0;
    for (int r = 0; r < NROLES; r++) {
        struct fileid id;
        fresh[r] = NULL;
        if (!paths[r] || file_id(paths[r], &id) != 0) continue;    /* gone: keep ours */
        if (same_file(g->db[r], paths[r], &id)) continue;
        fresh[r] = db_open(paths[r], &id, err, errlen);
        if (!fresh[r]) {
            for (int k = 0; k < r; k++) db_close(fresh[k]);
            return -1;
        }
        changed = 1;
    }
    return changed;
}

/* Install fresh[] and close what it replaces once no lookup can use it. */
static void swap_in(struct geoip *g, struct geodb *fresh[NROLES])
{
    struct geodb *old[NROLES] = { NULL };
    pthread_rwlock_wrlock(&g->lock);
    for (int r = 0; r < NROLES; r++) {
        if (!fresh[r]) continue;
        old[r] = g->db[r];
        g->db[r] = fresh[r];
    }
    atomic_store(&g->gen, atomic_fetch_add(&next_gen, 1));
    pthread_rwlock_unlock(&g->lock);
    for (int r = 0; r < NROLES; r++) db_close(old[r]);
}

static void init_locks(struct geoip *g)
{
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&g->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    pthread_mutex_init(&g->reload, NULL);
}

struct geoip *geoip_open(const char *dir, char *err, size_t errlen)
{
    char *paths[NROLES] = { NULL };
    struct geoip *g = xcalloc(1, sizeof *g);
    g->dir = xstrdup(dir);
    g->gen = atomic_fetch_add(&next_gen, 1);
    init_locks(g);
    if (scan_dir(dir, paths, err, errlen) != 0) goto fail;
    if (!paths[ROLE_GEO] && !paths[ROLE_ASN]) {
        snprintf(err, errlen, "geoip: no database in %s (want *City*.mmdb or *Country*.mmdb, "
                 "*ASN*.mmdb or *ISP*.mmdb)", dir);
        goto fail;
    }
    for (int r = 0; r < NROLES; r++) {
        struct fileid id;
        if (!paths[r]) continue;
        if (file_id(paths[r], &id) != 0) {
            snprintf(err, errlen, "geoip: cannot stat %s: %s", paths[r], strerror(errno));
            goto fail;
        }
        if (!(g->db[r] = db_open(paths[r], &id, err, errlen))) goto fail;
    }
    free_paths(paths);
    return g;
fail:
    free_paths(paths);
    geoip_close(g);
    return NULL;
}

void geoip_close(struct geoip *g)
{
    if (!g) return;
    for (int r = 0; r < NROLES; r++) db_close(g->db[r]);
    pthread_rwlock_destroy(&g->lock);
    pthread_mutex_destroy(&g->reload);
    free(g->dir);
    free(g);
}

int geoip_reload_if_changed(struct geoip *g)
{
    char *paths[NROLES];
    struct geodb *fresh[NROLES];
    pthread_mutex_lock(&g->reload);
    int rc = scan_dir(g->dir, paths, g->err, sizeof g->err);
    if (rc == 0) {
        rc = open_changed(g, paths, fresh, g->err, sizeof g->err);
        free_paths(paths);
        if (rc > 0) swap_in(g, fresh);
    }
    pthread_mutex_unlock(&g->reload);
    return rc;
}

const char *geoip_error(const struct geoip *g)
{
    return g->err;
}

uint64_t geoip_lookups(struct geoip *g)
{
    return atomic_load_explicit(&g->lookups, memory_order_relaxed);
}

static void describe_db(const struct geodb *db, const char *role, char *out, size_t n)
{
    size_t len = strlen(out);
    if (!db) {
        snprintf(out + len, n - len, "%s%s: none", len ? ", " : "", role);
        return;
    }
    time_t t = (time_t)db->mmdb.metadata.build_epoch;
    struct tm tm;
    char day[16] = "?";
    if (gmtime_r(&t, &tm)) strftime(day, sizeof day, "%Y-%m-%d", &tm);
    snprintf(out + len, n - len, "%s%s: %s (%s, built %s)", len ? ", " : "", role, db->path,
             db->mmdb.metadata.database_type ? db->mmdb.metadata.database_type : "?", day);
}

void geoip_describe(struct geoip *g, char *out, size_t n)
{
    if (!n) return;
    out[0] = 0;
    pthread_rwlock_rdlock(&g->lock);
    describe_db(g->db[ROLE_GEO], "geo", out, n);
    describe_db(g->db[ROLE_ASN], "as", out, n);
    pthread_rwlock_unlock(&g->lock);
}

/* ---------------------------------------------------------------------------
 * Enrichment. */

union anyaddr {
    struct sockaddr     sa;
    struct sockaddr_in  in4;
    struct sockaddr_in6 in6;
};

static void to_sockaddr(const struct ipaddr *a, union anyaddr *u)
{
    memset(u, 0, sizeof *u);
    if (a->v4) {
        u->in4.sin_family = AF_INET;
        memcpy(&u->in4.sin_addr, a->b, 4);
    } else {
        u->in6.sin6_family = AF_INET6;
        memcpy(&u->in6.sin6_addr, a->b, 16);
    }
}

/* Look a up in both databases, emit, and remember the result in s. Values
 * point into the mappings, so all of it happens under the shared lock. */
static int enrich_miss(struct geoip *g, struct doc *d, const char *prefix, const struct ipaddr *a,
                       struct slot *s, const uint8_t key[16])
{
    union anyaddr u;
    struct result r;
    r.n = 0;
    r.used = 0;
    to_sockaddr(a, &u);
    atomic_fetch_add_explicit(&g->lookups, 1, memory_order_relaxed);
    pthread_rwlock_rdlock(&g->lock);
    if (g->db[ROLE_GEO]) read_geo(&r, &g->db[ROLE_GEO]->mmdb, &u.sa);
    if (g->db[ROLE_ASN]) read_as(&r, &g->db[ROLE_ASN]->mmdb, &u.sa);
    int added = emit(d, prefix, r.fv, r.n);
    cache_put(s, atomic_load_explicit(&g->gen, memory_order_relaxed), key, &r);
    pthread_rwlock_unlock(&g->lock);
    return added;
}

int geoip_enrich(struct geoip *g, struct doc *d, const char *prefix, const char *ip, size_t iplen)
{
    struct ipaddr a;
    uint8_t key[16];
    if (!g || !ip_parse(ip, iplen, &a) || !addr_public(&a)) return 0;
    cache_key_of(&a, key);
    struct slot *s = cache_slot(cache_get(), key);
    /* A hit copies values the thread owns: a concurrent swap cannot hurt it. */
    if (s->gen == atomic_load_explicit(&g->gen, memory_order_relaxed) && memcmp(s->key, key, 16) == 0)
        return emit(d, prefix, s->fv, s->n);
    return enrich_miss(g, d, prefix, &a, s, key);
}
