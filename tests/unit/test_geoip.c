/* test_geoip.c - ip_is_public() over every special range, enrichment against
 * MaxMind's test databases (values from ../shared/testdata/README.md),
 * database discovery and fallbacks, open errors, and hot reload while other
 * threads keep enriching. Ends with a timing loop (SIEMPROC_GEOIP_BENCH_N,
 * default 200000 lookups; 0 skips it). */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "doc.h"
#include "geoip.h"
#include "testlib.h"

/* ---- ip_is_public ------------------------------------------------------- */

static const struct { const char *ip; int pub; } ip_cases[] = {
    /* public IPv4, including the addresses just outside each special range */
    { "81.2.69.142", 1 }, { "8.8.8.8", 1 }, { "1.1.1.1", 1 }, { "11.0.0.0", 1 },
    { "9.255.255.255", 1 }, { "100.63.255.255", 1 }, { "100.128.0.0", 1 },
    { "126.255.255.255", 1 }, { "128.0.0.0", 1 }, { "169.253.255.255", 1 },
    { "169.255.0.0", 1 }, { "172.15.255.255", 1 }, { "172.32.0.0", 1 },
    { "192.0.1.255", 1 }, { "192.0.3.0", 1 }, { "192.167.255.255", 1 },
    { "192.169.0.0", 1 }, { "198.17.255.255", 1 }, { "198.20.0.0", 1 },
    { "198.51.99.255", 1 }, { "203.0.112.255", 1 }, { "223.255.255.255", 1 },
    { "192.31.196.1", 1 }, { "192.175.48.1", 1 },
    /* non-public IPv4 */
    { "0.0.0.0", 0 }, { "0.1.2.3", 0 }, { "10.0.0.1", 0 }, { "10.255.255.255", 0 },
    { "100.64.0.1", 0 }, { "100.127.255.255", 0 }, { "127.0.0.1", 0 },
    { "127.255.255.254", 0 }, { "169.254.169.254", 0 }, { "172.16.0.1", 0 },
    { "172.31.255.255", 0 }, { "192.0.0.8", 0 }, { "192.0.2.1", 0 },
    { "192.88.99.1", 0 }, { "192.168.1.1", 0 }, { "198.18.0.1", 0 },
    { "198.19.255.255", 0 }, { "198.51.100.7", 0 }, { "203.0.113.9", 0 },
    { "224.0.0.1", 0 }, { "239.255.255.250", 0 }, { "240.0.0.1", 0 },
    { "255.255.255.255", 0 },
    /* public IPv6 */
    { "2001:218::", 1 }, { "2600:6000::", 1 }, { "2a00:1450:4001:81b::200e", 1 },
    { "2001:4860:4860::8888", 1 }, { "2001:200::1", 1 }, { "2002:c000:204::1", 1 },
    { "2001:0DB9::1", 1 }, { "3ffe:ffff::1", 1 }, { "2001:218:0:0:0:0:0:1", 1 },
    /* non-public IPv6 */
    { "::", 0 }, { "::1", 0 }, { "fe80::1", 0 }, { "febf:ffff::1", 0 }, { "fc00::1", 0 },
    { "fd12:3456:789a::1", 0 }, { "ff02::1", 0 }, { "ff0e::101", 0 }, { "2001:db8::1", 0 },
    { "2001:0db8:85a3::8a2e:0370:7334", 0 }, { "3fff::1", 0 }, { "3fff:fff::1", 0 },
    { "2001::1", 0 }, { "2001:2::1", 0 }, { "2001:1ff::1", 0 }, { "100::1", 0 },
    { "5f00::1", 0 }, { "::8.8.8.8", 0 }, { "1fff:ffff::1", 0 }, { "4000::1", 0 },
    /* IPv4-mapped and NAT64: judged by the embedded IPv4 address */
    { "::ffff:81.2.69.142", 1 }, { "::FFFF:8.8.8.8", 1 }, { "::ffff:5102:458e", 1 },
    { "64:ff9b::8.8.8.8", 1 }, { "64:ff9b::5102:458e", 1 },
    { "::ffff:10.0.0.1", 0 }, { "::ffff:127.0.0.1", 0 }, { "::ffff:192.168.0.1", 0 },
    { "::ffff:100.64.0.1", 0 }, { "::ffff:169.254.169.254", 0 }, { "::ffff:0:0", 0 },
    { "::ffff:224.0.0.1", 0 }, { "64:ff9b::10.0.0.1", 0 }, { "64:ff9b::7f00:1", 0 },
    /* not addresses */
    { "", 0 }, { "1.2.3", 0 }, { "1.2.3.4.5", 0 }, { "256.1.1.1", 0 }, { "01.2.3.4", 0 },
    { "1.2.3.4 ", 0 }, { " 1.2.3.4", 0 }, { "8.8.8.8/32", 0 }, { "[2001:218::]", 0 },
    { "2001:218::%eth0", 0 }, { "fe80::1%eth0", 0 }, { "gggg::", 0 }, { "abc", 0 },
    { ":::", 0 }, { "2001:218:::1", 0 }, { "1:2:3:4:5:6:7:8:9", 0 }, { "-1.2.3.4", 0 },
    { "0x8.8.8.8", 0 }, { "8.8.8.8.", 0 },
    { "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255x", 0 },
};

static void test_ip_is_public(void)
{
    for (size_t i = 0; i < sizeof ip_cases / sizeof ip_cases[0]; i++) {
        int got = ip_is_public(ip_cases[i].ip, strlen(ip_cases[i].ip));
        if (got != ip_cases[i].pub)
            fprintf(stderr, "  ip_is_public(\"%s\") = %d\n", ip_cases[i].ip, got);
        CHECK_INT(got, ip_cases[i].pub);
    }
    /* The length bounds the input; it need not be NUL-terminated. */
    CHECK_INT(ip_is_public("8.8.8.8xyz", 7), 1);
    CHECK_INT(ip_is_public("8.8.8.8", 3), 0);
    CHECK_INT(ip_is_public("8.8.8.8\0", 8), 0);
    CHECK_INT(ip_is_public(NULL, 0), 0);
    char longs[200];
    memset(longs, '1', sizeof longs);
    CHECK_INT(ip_is_public(longs, sizeof longs), 0);
}

/* ---- helpers ------------------------------------------------------------ */

static char geo_src[4096];       /* ../shared/testdata/geoip */

static void copy_file(const char *from_name, const char *dir, const char *to_name)
{
    char src[4200], dst[4200];
    size_t n = 0;
    snprintf(src, sizeof src, "%s/%s", geo_src, from_name);
    snprintf(dst, sizeof dst, "%s/%s", dir, to_name);
    char *data = tl_read_file(src, &n);
    FILE *f = fopen(dst, "wb");
    int ok = data && f && fwrite(data, 1, n, f) == n;
    if (f) ok &= fclose(f) == 0;
    if (!ok) fprintf(stderr, "  cannot copy %s to %s\n", src, dst);
    CHECK(ok);
    free(data);
}

/* Copy to a temporary name, then rename into place, as geoipupdate does. */
static void replace_file(const char *from_name, const char *dir, const char *to_name)
{
    char tmp[4200], dst[4200];
    copy_file(from_name, dir, "replace.tmp");
    snprintf(tmp, sizeof tmp, "%s/replace.tmp", dir);
    snprintf(dst, sizeof dst, "%s/%s", dir, to_name);
    CHECK(rename(tmp, dst) == 0);
}

static char *make_dir(char *out, size_t n)
{
    const char *t = getenv("TMPDIR");
    snprintf(out, n, "%s/test_geoip.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(out)) { perror("mkdtemp"); exit(1); }
    return out;
}

static void remove_dir(const char *dir)
{
    DIR *dp = opendir(dir);
    if (!dp) return;
    for (struct dirent *de; (de = readdir(dp)) != NULL;) {
        char p[4200];
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        unlink(p);
    }
    closedir(dp);
    rmdir(dir);
}

/* Value of path as a C string (rotating buffers), NULL when absent. */
static const char *val(const struct doc *d, const char *path)
{
    static char bufs[8][256];
    static int next;
    const struct doc_field *f = doc_get(d, path);
    if (!f) return NULL;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%.*s", (int)f->vlen, f->v);
    return b;
}

static int kind_of(const struct doc *d, const char *path)
{
    const struct doc_field *f = doc_get(d, path);
    return f ? f->kind : -1;
}

/* One expected field of an enrichment: its value, or NULL for no such field. */
struct want {
    const char *path, *value;
};

static void expect_fields(const struct doc *d, const struct want *w, size_t n, int line)
{
    for (size_t i = 0; i < n; i++) {
        const char *got = val(d, w[i].path);
        if (w[i].value ? got && strcmp(got, w[i].value) == 0 : !got) {
            tl_passed++;
            continue;
        }
        char detail[600];
        snprintf(detail, sizeof detail, "%s, expected %s", got ? got : "(absent)", w[i].value ? w[i].value : "(absent)");
        tl_fail(__FILE__, line, w[i].path, detail);
    }
}
#define EXPECT_FIELDS(d, table) expect_fields(d, table, sizeof table / sizeof table[0], __LINE__)

static int enrich(struct geoip *g, struct doc *d, const char *prefix, const char *ip)
{
    doc_reset(d);
    int n = geoip_enrich(g, d, prefix, ip, strlen(ip));
    CHECK_INT(n, d->n);
    return n;
}

static int utf8_valid(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!len || i + len > n || (len == 2 && c < 0xc2)) return 0;
        for (size_t k = 1; k < len; k++)
            if ((s[i + k] & 0xc0) != 0x80) return 0;
        i += len;
    }
    return 1;
}

static struct geoip *open_ok(const char *dir)
{
    char err[512] = "";
    struct geoip *g = geoip_open(dir, err, sizeof err);
    if (!g) fprintf(stderr, "  geoip_open(%s): %s\n", dir, err);
    CHECK(g != NULL);
    return g;
}

/* ---- enrichment with City + ASN ----------------------------------------- */

static void test_london(struct geoip *g, struct doc *d)
{
    static const struct want london[] = {
        { "source.geo.country_iso_code", "GB" },
        { "source.geo.country_name", "United Kingdom" },
        { "source.geo.continent_code", "EU" },
        { "source.geo.continent_name", "Europe" },
        { "source.geo.city_name", "London" },
        { "source.geo.region_iso_code", "GB-ENG" },
        { "source.geo.region_name", "England" },
        { "source.geo.timezone", "Europe/London" },
        { "source.geo.location", "{\"lat\":51.5142,\"lon\":-0.0931}" },
        { "source.geo.postal_code", NULL },
        { "source.as.number", NULL },                   /* not in the ASN db */
    };
    CHECK_INT(enrich(g, d, "source", "81.2.69.142"), 9);
    EXPECT_FIELDS(d, london);
    CHECK_INT(kind_of(d, "source.geo.location"), DV_RAW);
    CHECK_INT(kind_of(d, "source.geo.city_name"), DV_STR);

    buf_t out;
    buf_init(&out);
    doc_emit(d, &out);
    CHECK(strstr(buf_cstr(&out), "{\"source\":{\"geo\":{\"city_name\":\"London\",") == buf_cstr(&out));
    CHECK(strstr(buf_cstr(&out), "\"location\":{\"lat\":51.5142,\"lon\":-0.0931}") != NULL);
    buf_free(&out);

    /* The same address written as IPv4-mapped IPv6 or NAT64. */
    CHECK_INT(enrich(g, d, "source", "::ffff:81.2.69.142"), 9);
    CHECK_STR(val(d, "source.geo.city_name"), "London");
    CHECK_INT(enrich(g, d, "source", "64:ff9b::5102:458e"), 9);
    CHECK_STR(val(d, "source.geo.city_name"), "London");
}

static void test_milton(struct geoip *g, struct doc *d)
{
    static const struct want milton[] = {
        { "destination.geo.country_iso_code", "US" },
        { "destination.geo.city_name", "Milton" },
        { "destination.geo.region_iso_code", "US-WA" },
        { "destination.geo.region_name", "Washington" },
        { "destination.geo.postal_code", "98354" },
        { "destination.geo.continent_code", "NA" },
        { "destination.geo.timezone", "America/Los_Angeles" },
        { "destination.geo.location", "{\"lat\":47.2513,\"lon\":-122.3149}" },
        { "destination.as.number", "209" },
        { "destination.as.organization.name", NULL },
    };
    CHECK_INT(enrich(g, d, "destination", "216.160.83.56"), 11);
    EXPECT_FIELDS(d, milton);
    CHECK_INT(kind_of(d, "destination.as.number"), DV_NUM);
}

static void test_linkoping(struct geoip *g, struct doc *d)
{
    static const struct want linkoping[] = {
        { "client.geo.country_iso_code", "SE" },
        { "client.geo.city_name", "Link\xc3\xb6ping" },
        { "client.geo.region_iso_code", "SE-E" },
        { "client.geo.region_name", "\xc3\x96sterg\xc3\xb6tland County" },
        { "client.as.number", "29518" },
        { "client.as.organization.name", "Bredband2 AB" },
    };
    CHECK_INT(enrich(g, d, "client", "89.160.20.112"), 11);
    EXPECT_FIELDS(d, linkoping);

    buf_t out;
    buf_init(&out);
    doc_emit(d, &out);
    const char *json = buf_cstr(&out);
    CHECK(utf8_valid((const unsigned char *)json, out.len));
    CHECK(strstr(json, "\"city_name\":\"Link\xc3\xb6ping\"") != NULL);
    CHECK(strstr(json, "\"as\":{\"number\":29518,\"organization\":{\"name\":\"Bredband2 AB\"}}") != NULL);
    buf_free(&out);
}

static void test_japan_ipv6(struct geoip *g, struct doc *d)
{
    static const struct want japan[] = {
        { "server.geo.country_iso_code", "JP" },
        { "server.geo.country_name", "Japan" },
        { "server.geo.continent_code", "AS" },
        { "server.geo.continent_name", "Asia" },
        { "server.geo.timezone", "Asia/Tokyo" },
        { "server.geo.location", "{\"lat\":35.68536,\"lon\":139.75309}" },
        { "server.geo.city_name", NULL },
        { "server.geo.region_iso_code", NULL },
        { "server.geo.region_name", NULL },
        { "server.geo.postal_code", NULL },
    };
    CHECK_INT(enrich(g, d, "server", "2001:218::"), 6);
    EXPECT_FIELDS(d, japan);
}

static void test_asn_only_hits(struct geoip *g, struct doc *d)
{
    CHECK_INT(enrich(g, d, "source", "1.128.0.0"), 2);
    CHECK_STR(val(d, "source.as.number"), "1221");
    CHECK_STR(val(d, "source.as.organization.name"), "Telstra Pty Ltd");
    CHECK_INT(enrich(g, d, "destination", "2600:6000::"), 2);
    CHECK_STR(val(d, "destination.as.number"), "237");
    CHECK_STR(val(d, "destination.as.organization.name"), "Merit Network Inc.");
}

static void test_nothing_added(struct geoip *g, struct doc *d)
{
    static const char *const none[] = {
        "10.0.0.1", "192.168.0.1", "127.0.0.1", "100.64.0.1", "::1", "fe80::1", "fd00::1",
        "::ffff:10.0.0.1", "8.8.8.8", "1.1.1.1", "2001:db8::1", "not an ip", "",
    };
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        int n = enrich(g, d, "source", none[i]);
        if (n) fprintf(stderr, "  %s added %d fields\n", none[i], n);
        CHECK_INT(n, 0);
    }
    doc_reset(d);
    CHECK_INT(geoip_enrich(NULL, d, "source", "81.2.69.142", 11), 0);
}

static void test_prefixes(struct geoip *g, struct doc *d)
{
    /* ECS has host.geo but no host.as. */
    CHECK_INT(enrich(g, d, "host", "89.160.20.112"), 9);
    CHECK_STR(val(d, "host.geo.city_name"), "Link\xc3\xb6ping");
    CHECK(doc_get(d, "host.as.number") == NULL);
    /* Any other prefix: paths built in the arena. */
    CHECK_INT(enrich(g, d, "threat.indicator", "89.160.20.112"), 11);
    CHECK_STR(val(d, "threat.indicator.geo.country_iso_code"), "SE");
    CHECK_STR(val(d, "threat.indicator.as.number"), "29518");
}

/* More addresses than cache slots, twice over: every answer stays exact. */
static void test_many_addresses(struct geoip *g, struct doc *d)
{
    int bad = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < 4096; i++) {
            char ip[48];
            snprintf(ip, sizeof ip, "2001:480:10:%x::%x", i, pass);
            const char *city;
            if (enrich(g, d, "source", ip) != 10 || !(city = val(d, "source.geo.city_name")) ||
                strcmp(city, "San Diego") != 0) bad++;
            if (i % 512 == 0) {
                test_london(g, d);
                CHECK_INT(enrich(g, d, "source", "1.128.0.0"), 2);
            }
        }
    }
    CHECK_INT(bad, 0);
}

/* Lookups (cache misses) caused by enriching fmt % i for i < n. */
static uint64_t lookups_for(struct geoip *g, struct doc *d, const char *fmt, int n)
{
    uint64_t before = geoip_lookups(g);
    for (int i = 0; i < n; i++) {
        char ip[48];
        snprintf(ip, sizeof ip, fmt, i / 256, i % 256);
        enrich(g, d, "source", ip);
    }
    return geoip_lookups(g) - before;
}

/* The per-thread cache answers repeats; 256 addresses fit its 512 slots
 * except for the few that share a slot (a hash that ignored some address
 * bits would put them all in a handful of slots). */
static void test_cache(struct geoip *g, struct doc *d)
{
    CHECK_INT(lookups_for(g, d, "216.160.%d.%d", 1), 1);
    CHECK_INT(lookups_for(g, d, "216.160.%d.%d", 1), 0);
    CHECK_INT(lookups_for(g, d, "10.0.%d.%d", 256), 0);
    static const char *const fmts[] = { "214.78.%d.%d", "2001:480:10:%x:%x::1", "2a02:%x%02x::1" };
    for (int k = 0; k < 3; k++) {
        CHECK_INT(lookups_for(g, d, fmts[k], 256), 256);
        uint64_t again = lookups_for(g, d, fmts[k], 256);
        printf("  cache: %s x256, second pass: %d lookups\n", fmts[k], (int)again);
        CHECK(again < 150);
    }
}

static void test_city_and_asn(const char *dir)
{
    copy_file("GeoIP2-City-Test.mmdb", dir, "GeoIP2-City-Test.mmdb");
    copy_file("GeoLite2-ASN-Test.mmdb", dir, "GeoLite2-ASN-Test.mmdb");
    copy_file("GeoLite2-Country-Test.mmdb", dir, "GeoLite2-Country-Test.mmdb");   /* City wins */
    copy_file("GeoIP2-ISP-Test.mmdb", dir, "GeoIP2-ISP-Test.mmdb");               /* ASN wins */
    copy_file("GeoIP2-City-Test.mmdb", dir, "GeoIP2-City-Test.mmdb.temp");        /* not *.mmdb */
    struct geoip *g = open_ok(dir);
    if (!g) return;
    char desc[1024];
    geoip_describe(g, desc, sizeof desc);
    printf("  %s\n", desc);
    CHECK(strstr(desc, "geo: ") && strstr(desc, "/GeoIP2-City-Test.mmdb (GeoIP2-City, built 2026-02-04)"));
    CHECK(strstr(desc, "/GeoLite2-ASN-Test.mmdb (GeoLite2-ASN,") != NULL);

    struct doc d;
    doc_init(&d);
    test_london(g, &d);
    test_milton(g, &d);
    test_linkoping(g, &d);
    test_japan_ipv6(g, &d);
    test_asn_only_hits(g, &d);
    test_nothing_added(g, &d);
    test_prefixes(g, &d);
    test_many_addresses(g, &d);
    test_cache(g, &d);
    CHECK_INT(geoip_reload_if_changed(g), 0);
    doc_free(&d);
    geoip_close(g);
}

/* ---- discovery fallbacks and open errors -------------------------------- */

static void test_fallbacks(void)
{
    char dir[4096];
    struct doc d;
    doc_init(&d);

    make_dir(dir, sizeof dir);          /* Country + ISP */
    copy_file("GeoLite2-Country-Test.mmdb", dir, "GeoLite2-Country.mmdb");
    copy_file("GeoIP2-ISP-Test.mmdb", dir, "GeoIP2-ISP.mmdb");
    struct geoip *g = open_ok(dir);
    if (g) {
        static const struct want country_isp[] = {
            { "source.geo.country_iso_code", "US" },
            { "source.geo.country_name", "United States" },
            { "source.geo.continent_code", "NA" },
            { "source.geo.city_name", NULL },
            { "source.as.number", "209" },                      /* ISP's isp/organization unused */
            { "source.as.organization.name", NULL },
        };
        CHECK_INT(enrich(g, &d, "source", "216.160.83.56"), 5);
        EXPECT_FIELDS(&d, country_isp);
        CHECK_INT(enrich(g, &d, "source", "1.128.0.0"), 2);
        CHECK_STR(val(&d, "source.as.organization.name"), "Telstra Pty Ltd");
        CHECK_INT(enrich(g, &d, "source", "81.2.69.160"), 4);     /* ISP record without ASN */
        CHECK(doc_get(&d, "source.as.number") == NULL);
        geoip_close(g);
    }
    remove_dir(dir);

    make_dir(dir, sizeof dir);          /* ASN only */
    copy_file("GeoLite2-ASN-Test.mmdb", dir, "GeoLite2-ASN.mmdb");
    if ((g = open_ok(dir))) {
        CHECK_INT(enrich(g, &d, "source", "89.160.20.112"), 2);
        CHECK_STR(val(&d, "source.as.number"), "29518");
        CHECK_INT(enrich(g, &d, "source", "81.2.69.142"), 0);
        geoip_close(g);
    }
    remove_dir(dir);
    doc_free(&d);
}

static void test_open_errors(void)
{
    char dir[4096], err[512];

    make_dir(dir, sizeof dir);
    copy_file("GeoIP2-City-Test-Invalid-Node-Count.mmdb", dir, "GeoIP2-City-Test-Invalid-Node-Count.mmdb");
    copy_file("GeoLite2-ASN-Test.mmdb", dir, "GeoLite2-ASN-Test.mmdb");
    err[0] = 0;
    CHECK(geoip_open(dir, err, sizeof err) == NULL);
    printf("  corrupt: %s\n", err);
    CHECK(strstr(err, "GeoIP2-City-Test-Invalid-Node-Count.mmdb") != NULL);
    CHECK(strstr(err, "invalid metadata") != NULL);
    remove_dir(dir);

    make_dir(dir, sizeof dir);
    copy_file("LICENSE-MIT", dir, "README.txt");
    err[0] = 0;
    CHECK(geoip_open(dir, err, sizeof err) == NULL);
    printf("  empty: %s\n", err);
    CHECK(strstr(err, "no database") != NULL);
    remove_dir(dir);

    err[0] = 0;
    CHECK(geoip_open("/nonexistent/geoip", err, sizeof err) == NULL);
    printf("  missing: %s\n", err);
    CHECK(strstr(err, "/nonexistent/geoip") && strstr(err, "No such file"));
}

/* ---- hot reload --------------------------------------------------------- */

struct reader {
    struct geoip *g;
    atomic_int   *stop;
    atomic_long   iters;
    long          bad;
};

static char us_ips[4096][48], telstra_ips[4096][48];   /* cycled: most lookups miss the cache */

static int has(const struct doc *d, const char *path, const char *want)
{
    const struct doc_field *f = doc_get(d, path);
    return f && f->vlen == strlen(want) && memcmp(f->v, want, f->vlen) == 0;
}

/* Every answer must be complete whichever database is in place: London is
 * GB and 2001:480:10::/48 is US in both City and Country; the ASN db is
 * never replaced. */
static void *reader_main(void *arg)
{
    struct reader *r = arg;
    struct doc d;
    doc_init(&d);
    for (long i = 0; !atomic_load(r->stop); i++) {
        const char *us = us_ips[i % 4096], *au = telstra_ips[(i * 7) % 4096];
        doc_reset(&d);
        geoip_enrich(r->g, &d, "source", "81.2.69.142", 11);
        geoip_enrich(r->g, &d, "destination", us, strlen(us));
        geoip_enrich(r->g, &d, "client", au, strlen(au));
        if (!has(&d, "source.geo.country_iso_code", "GB") ||
            !has(&d, "destination.geo.country_iso_code", "US") ||
            !has(&d, "client.as.number", "1221")) r->bad++;
        atomic_fetch_add(&r->iters, 1);
    }
    doc_free(&d);
    return NULL;
}

static void wait_iters(struct reader *r, long more)
{
    long until = atomic_load(&r->iters) + more;
    struct timespec ts = { 0, 1000000 };
    for (int i = 0; i < 10000 && atomic_load(&r->iters) < until; i++) nanosleep(&ts, NULL);
}

static void check_city(struct geoip *g, int want_city)
{
    struct doc d;
    doc_init(&d);
    enrich(g, &d, "source", "81.2.69.142");
    CHECK_STR(val(&d, "source.geo.country_iso_code"), "GB");
    if (want_city) CHECK_STR(val(&d, "source.geo.city_name"), "London");
    else CHECK(doc_get(&d, "source.geo.city_name") == NULL);
    doc_free(&d);
}

static void reload_steps(struct geoip *g, const char *dir, struct reader *r)
{
    char desc[1024];
    CHECK_INT(geoip_reload_if_changed(g), 0);
    check_city(g, 1);

    /* The City file becomes a Country database, renamed into place. */
    replace_file("GeoIP2-Country-Test.mmdb", dir, "GeoIP2-City-Test.mmdb");
    CHECK_INT(geoip_reload_if_changed(g), 1);
    check_city(g, 0);
    geoip_describe(g, desc, sizeof desc);
    CHECK(strstr(desc, "(GeoIP2-Country,") != NULL);
    CHECK_INT(geoip_reload_if_changed(g), 0);
    wait_iters(r, 50);

    for (int i = 0; i < 20; i++) {   /* swap back and forth under load */
        replace_file(i % 2 ? "GeoIP2-Country-Test.mmdb" : "GeoIP2-City-Test.mmdb", dir,
                     "GeoIP2-City-Test.mmdb");
        CHECK_INT(geoip_reload_if_changed(g), 1);
        check_city(g, i % 2 == 0);
        wait_iters(r, 5);
    }

    /* A corrupt replacement is refused and the old database stays. */
    replace_file("GeoIP2-City-Test-Invalid-Node-Count.mmdb", dir, "GeoIP2-City-Test.mmdb");
    CHECK_INT(geoip_reload_if_changed(g), -1);
    printf("  failed reload: %s\n", geoip_error(g));
    CHECK(strstr(geoip_error(g), "invalid metadata") != NULL);
    check_city(g, 0);
    CHECK_INT(geoip_reload_if_changed(g), -1);
    wait_iters(r, 50);

    replace_file("GeoIP2-City-Test.mmdb", dir, "GeoIP2-City-Test.mmdb");
    CHECK_INT(geoip_reload_if_changed(g), 1);
    check_city(g, 1);
    CHECK_INT(geoip_reload_if_changed(g), 0);

    /* A file that disappears keeps its open copy in use. */
    char p[4200];
    snprintf(p, sizeof p, "%s/GeoIP2-City-Test.mmdb", dir);
    CHECK(unlink(p) == 0);
    CHECK_INT(geoip_reload_if_changed(g), 0);
    check_city(g, 1);
    wait_iters(r, 50);
}

static void test_reload(void)
{
    char dir[4096];
    make_dir(dir, sizeof dir);
    copy_file("GeoIP2-City-Test.mmdb", dir, "GeoIP2-City-Test.mmdb");
    copy_file("GeoLite2-ASN-Test.mmdb", dir, "GeoLite2-ASN-Test.mmdb");
    struct geoip *g = open_ok(dir);
    if (!g) { remove_dir(dir); return; }
    for (int i = 0; i < 4096; i++) {
        snprintf(us_ips[i], sizeof us_ips[i], "2001:480:10:%x::1", i);
        snprintf(telstra_ips[i], sizeof telstra_ips[i], "1.%d.%d.%d", 128 + i % 32, i / 32, i % 251);
    }

    atomic_int stop = 0;
    struct reader r[2];
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        r[i].g = g;
        r[i].stop = &stop;
        atomic_init(&r[i].iters, 0);
        r[i].bad = 0;
        CHECK(pthread_create(&th[i], NULL, reader_main, &r[i]) == 0);
    }
    wait_iters(&r[0], 100);
    reload_steps(g, dir, &r[0]);
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        printf("  reader %d: %ld iterations, %ld inconsistent\n", i, atomic_load(&r[i].iters), r[i].bad);
        CHECK(atomic_load(&r[i].iters) > 100);
        CHECK_INT(r[i].bad, 0);
    }
    geoip_close(g);
    remove_dir(dir);
}

/* A database that appears after open is picked up by the next reload. */
static void test_reload_new_file(void)
{
    char dir[4096];
    struct doc d;
    make_dir(dir, sizeof dir);
    copy_file("GeoLite2-City-Test.mmdb", dir, "GeoLite2-City.mmdb");
    struct geoip *g = open_ok(dir);
    if (!g) { remove_dir(dir); return; }
    doc_init(&d);
    CHECK_INT(enrich(g, &d, "source", "1.128.0.0"), 0);
    replace_file("GeoLite2-ASN-Test.mmdb", dir, "GeoLite2-ASN.mmdb");
    CHECK_INT(geoip_reload_if_changed(g), 1);
    CHECK_INT(enrich(g, &d, "source", "1.128.0.0"), 2);
    CHECK_STR(val(&d, "source.as.number"), "1221");
    CHECK_INT(enrich(g, &d, "source", "81.2.69.142"), 9);
    CHECK_STR(val(&d, "source.geo.city_name"), "London");
    doc_free(&d);
    geoip_close(g);
    remove_dir(dir);
}

/* ---- timing ------------------------------------------------------------- */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);   /* steady on a shared machine */
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

struct bench {
    struct geoip *g;
    char        (*ips)[48];     /* cycled through */
    long          nips, n;
    double        ns, fields;   /* per call */
};

static void *bench_main(void *arg)
{
    struct bench *b = arg;
    struct doc d;
    long fields = 0;
    doc_init(&d);
    double t0 = now_ns();
    for (long i = 0; i < b->n; i++) {
        const char *ip = b->ips[i % b->nips];
        doc_reset(&d);
        fields += geoip_enrich(b->g, &d, "source", ip, strlen(ip));
    }
    b->ns = (now_ns() - t0) / (double)b->n;
    b->fields = (double)fields / (double)b->n;
    doc_free(&d);
    return NULL;
}

static void bench_one(struct geoip *g, const char *what, char (*ips)[48], long nips, long n,
                      int threads)
{
    struct bench b[4];
    pthread_t th[4];
    for (int i = 0; i < threads; i++) {
        b[i] = (struct bench){ g, ips, nips, n, 0, 0 };
        pthread_create(&th[i], NULL, bench_main, &b[i]);
    }
    double sum = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        sum += b[i].ns;
    }
    printf("  bench: %-36s %d thread%s x %ld: %5.0f ns CPU per geoip_enrich, %.1f fields\n", what,
           threads, threads > 1 ? "s" : " ", n, sum / threads, b[0].fields);
}

static void bench(const char *dir)
{
    const char *env = getenv("SIEMPROC_GEOIP_BENCH_N");
    long n = env ? atol(env) : 200000;
    if (n <= 0) return;
    struct geoip *g = open_ok(dir);
    if (!g) return;
    static char one[4][48] = { "81.2.69.142", "89.160.20.112", "8.8.8.8", "10.0.0.1" };
    static char v6[4096][48], v4[1024][48];
    for (int i = 0; i < 4096; i++) snprintf(v6[i], sizeof v6[i], "2001:480:10:%x::1", i);
    for (int i = 0; i < 1024; i++) snprintf(v4[i], sizeof v4[i], "214.78.%d.%d", 120 + i / 256, i % 256);

    /* One address again and again: the per-thread cache answers. */
    bench_one(g, "81.2.69.142 (cached)", &one[0], 1, n, 1);
    bench_one(g, "89.160.20.112 (cached)", &one[1], 1, n, 1);
    bench_one(g, "8.8.8.8 (in no db, cached)", &one[2], 1, n, 1);
    bench_one(g, "10.0.0.1 (private, no lookup)", &one[3], 1, n, 1);
    /* 4096 addresses of one network cycled through 512 slots: every lookup
     * misses and decodes the San Diego City record (no ASN record). */
    bench_one(g, "2001:480:10:X::1 (uncached)", v6, 4096, n, 1);
    /* 1024 addresses, two per slot: every lookup misses; City and ASN records. */
    bench_one(g, "214.78.120-123.X (uncached)", v4, 1024, n, 1);
    bench_one(g, "89.160.20.112 (cached)", &one[1], 1, n, 2);
    bench_one(g, "2001:480:10:X::1 (uncached)", v6, 4096, n, 2);
    geoip_close(g);
}

int main(void)
{
    test_ip_is_public();
    const char *p = tl_shared("testdata/geoip/GeoIP2-City-Test.mmdb");
    if (!p) {
        if (tl_failed) return tl_done();
        tl_skip("../shared/testdata/geoip is absent (set SIEMPROC_SHARED)");
    }
    snprintf(geo_src, sizeof geo_src, "%.*s", (int)(strrchr(p, '/') - p), p);

    char dir[4096];
    make_dir(dir, sizeof dir);
    test_city_and_asn(dir);
    test_fallbacks();
    test_open_errors();
    test_reload();
    test_reload_new_file();
    bench(dir);
    remove_dir(dir);
    return tl_done();
}
