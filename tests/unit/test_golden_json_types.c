/* Golden tests of the JSON log types over the public corpus (../shared/corpus):
 * waf, guardduty, securityhub, inspector, networkfirewall, route53resolver and
 * route53-public. Every record is parsed or skipped for a stated reason, key
 * fields of specific records are checked, ids are deterministic, and where
 * the corpus has an -expected.json (Elastic's pipeline output) the shared ECS
 * fields must agree with it, record by record (matched by event.original). */
#include <unistd.h>
#include "geoip.h"
#include "golden_run.h"

static const char *corpus(const char *rel)
{
    static char path[8][1024];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, sizeof path[0], "corpus/%s", rel);
    return tl_shared(p);
}

/* Values equal for the golden comparison: a one-element array equals its
 * element; arrays compare as sets (Elastic and we order related.ip differently). */
static int same_value(json_t *ours, json_t *theirs)
{
    if (json_is_array(theirs) && !json_is_array(ours) && json_array_size(theirs) == 1) theirs = json_array_get(theirs, 0);
    if (json_is_array(ours) && json_is_array(theirs)) {
        size_t i, j;
        json_t *a, *b;
        if (json_array_size(ours) != json_array_size(theirs)) return 0;
        json_array_foreach(theirs, i, b) {
            int found = 0;
            json_array_foreach(ours, j, a) found |= json_equal(a, b);
            if (!found) return 0;
        }
        return 1;
    }
    if (json_is_number(ours) && json_is_number(theirs)) return json_number_value(ours) == json_number_value(theirs);
    return json_equal(ours, theirs);
}

/* Compare `fields` of every expected event with our document for the same
 * event.original. Returns the number of field comparisons made. */
static int compare_expected(const struct golden_run *r, const char *expected_path, const char *const *fields)
{
    json_error_t je;
    json_t *root = json_load_file(expected_path, 0, &je), *e;
    if (!root) { tl_fail(__FILE__, __LINE__, expected_path, je.text); return 0; }
    int compared = 0;
    size_t i;
    json_array_foreach(json_object_get(root, "expected"), i, e) {
        const char *orig = json_string_value(golden_at(e, "event.original"));
        json_t *ours = NULL;
        for (int k = 0; k < r->n && orig && !ours; k++) {
            const char *o = json_string_value(golden_at(r->docs[k], "event.original"));
            if (o && strcmp(o, orig) == 0) ours = r->docs[k];
        }
        if (!ours) { tl_fail(__FILE__, __LINE__, "expected event has a document", orig ? orig : "?"); continue; }
        for (int f = 0; fields[f]; f++) {
            json_t *want = golden_at(e, fields[f]);
            if (!want) continue;
            compared++;
            json_t *got = golden_at(ours, fields[f]);
            if (got && same_value(got, want)) { tl_passed++; continue; }
            char *w = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY);
            char detail[512];
            snprintf(detail, sizeof detail, "%s: %s, expected %s", fields[f], golden_str(ours, fields[f]), w ? w : "?");
            free(w);
            tl_fail(__FILE__, __LINE__, "field agrees with -expected.json", detail);
        }
    }
    json_decref(root);
    return compared;
}

static int load(struct golden_run *r, const char *type, const char *rel, int keep_original)
{
    const char *path = corpus(rel);
    if (!path) { printf("skip %s: not in the shared corpus\n", rel); return -1; }
    golden_run_file(r, type, path, keep_original);
    golden_expect_same_ids(r, type, path);
    return 0;
}

static void test_waf(void)
{
    struct golden_run r;
    if (load(&r, "waf", "waf/test-waf.log", 0) < 0) return;
    golden_expect_counts(&r, "waf/test-waf.log", 4, 0, 0);
    GCHECK(&r, 0, "@timestamp", "2019-12-13T23:40:12.771Z");
    GCHECK(&r, 0, "source.ip", "89.160.20.156");
    GCHECK(&r, 0, "source.geo.country_iso_code", "AU");
    GCHECK(&r, 0, "event.action", "block");
    GCHECK(&r, 0, "event.outcome", "failure");
    GHAS(&r, 0, "event.type", "denied");
    GCHECK(&r, 0, "rule.id", "STMTest_SQLi_XSS");
    GCHECK(&r, 0, "rule.name", "STMTest_SQLi_XSS");
    GCHECK(&r, 0, "user_agent.original", "curl/7.61.1");
    GCHECK(&r, 0, "url.domain", "localhost");
    GCHECK(&r, 0, "url.path", "/foo");
    GCHECK(&r, 0, "http.version", "1.1");
    GCHECK(&r, 0, "http.request.method", "GET");
    GCHECK(&r, 0, "cloud.region", "ap-southeast-2");
    GHAS(&r, 0, "aws.waf.labels", "value");
    CHECK_STR(r.index[0], "log-aws-waf-2019-12");
    GCHECK(&r, 1, "event.action", "allow");
    GCHECK(&r, 1, "event.outcome", "success");
    GHAS(&r, 1, "event.type", "allowed");
    GCHECK(&r, 1, "cloud.account.id", "123456789012");
    GHAS(&r, 1, "aws.waf.non_terminating_rule_ids", "TestRule");
    /* A rule group terminated the request: the rule inside it names it. */
    GCHECK(&r, 2, "rule.id", "RG-Reference");
    GCHECK(&r, 2, "rule.name", "RuleA-XSS");
    GCHECK(&r, 2, "rule.ruleset", "arn:aws:wafv2:us-east-1:123456789012:global/rulegroup/hello-world/c05lb698-1f11-4m41-aef4-99a506d53f4b");
    GCHECK(&r, 3, "http.request.method", "POST");
    GABSENT(&r, 3, "user_agent");
    GABSENT(&r, 3, "url.domain");
    golden_free(&r);
}

static void test_guardduty(void)
{
    struct golden_run r;
    if (load(&r, "guardduty", "guardduty/test-guardduty.log", 0) < 0) return;
    /* The last record is {"findings":[]}: not a finding, skipped. */
    golden_expect_counts(&r, "guardduty/test-guardduty.log", 4, 1, 0);
    CHECK_STR(r.ids[0], "d6012345678912345678912349f831b8f_2");
    CHECK_STR(r.index[0], "log-aws-guardduty-2022-11");
    GCHECK(&r, 0, "@timestamp", "2022-11-22T12:22:20.934Z");
    GCHECK(&r, 0, "event.kind", "alert");
    GCHECK(&r, 0, "event.severity", "5");
    GCHECK(&r, 0, "aws.guardduty.severity", "5");
    GCHECK(&r, 0, "rule.id", "Trojan:EC2/BlackholeTraffic!DNS");
    GCHECK(&r, 0, "rule.name", "Blackholed domain name queried by EC2 instance i-99999999.");
    GCHECK(&r, 0, "dns.question.name", "GeneratedFindingDomainName");
    GCHECK(&r, 0, "network.transport", "udp");
    GCHECK(&r, 0, "cloud.instance.id", "i-99999999");
    GCHECK(&r, 0, "destination.ip", "175.16.199.1");
    GCHECK(&r, 0, "cloud.account.id", "123412341234");
    GABSENT(&r, 0, "source.ip");
    GCHECK(&r, 1, "source.ip", "175.16.199.1");
    GCHECK(&r, 1, "source.geo.location.lat", "0");
    GCHECK(&r, 1, "source.geo.country_name", "GeneratedFindingCountryName");
    GCHECK(&r, 1, "user.name", "system:anonymous");
    GCHECK(&r, 1, "orchestrator.cluster.name", "GeneratedFindingEKSClusterName");
    GHAS(&r, 1, "threat.tactic.name", "Persistence");
    GCHECK(&r, 1, "threat.framework", "MITRE ATT&CK");
    GCHECK(&r, 1, "event.severity", "8");
    GCHECK(&r, 2, "user.name", "GeneratedFindingUserName");
    GCHECK(&r, 2, "user.id", "GeneratedFindingAccessKeyId");
    GHAS(&r, 2, "threat.tactic.id", "TA0007");
    GCHECK(&r, 3, "source.ip", "175.16.199.1");
    GHAS(&r, 3, "threat.tactic.name", "Credential Access");
    GCHECK(&r, 3, "@timestamp", "2022-12-07T10:28:35.948Z");
    golden_free(&r);
}

static void test_securityhub(void)
{
    struct golden_run r;
    if (load(&r, "securityhub", "securityhub/test-securityhub-findings.log", 0) == 0) {
        golden_expect_counts(&r, "securityhub/test-securityhub-findings.log", 3, 0, 0);
        CHECK_STR(r.ids[0], "us-west-2/111111111111/98aebb2207407c87f51e89943f12b1ef");
        CHECK_STR(r.index[0], "log-aws-securityhub-2018-08");
        GCHECK(&r, 0, "@timestamp", "2018-08-31T00:15:09.000Z");
        GCHECK(&r, 0, "event.severity", "90");              /* from Severity.Label CRITICAL */
        GCHECK(&r, 0, "event.outcome", "success");          /* Compliance PASSED */
        GHAS(&r, 0, "event.category", "vulnerability");
        GCHECK(&r, 0, "source.ip", "1.128.0.0");
        GCHECK(&r, 0, "source.port", "42");
        GCHECK(&r, 0, "destination.port", "80");
        GCHECK(&r, 0, "network.direction", "ingress");
        GCHECK(&r, 0, "network.transport", "tcp");
        GCHECK(&r, 0, "cloud.instance.id", "i-cafebabe");
        GCHECK(&r, 0, "vulnerability.id", "CVE-2020-12345");
        GCHECK(&r, 0, "vulnerability.score.base", "4.7");
        GCHECK(&r, 0, "source.geo.location.lon", "0");
        GCHECK(&r, 0, "aws.securityhub.product_fields.aws/inspector/RulesPackageName", "Common Vulnerabilities and Exposures");
        GCHECK(&r, 1, "rule.id", "EC2.8");
        GCHECK(&r, 1, "event.severity", "70");
        GCHECK(&r, 1, "event.risk_score_norm", "70");
        GCHECK(&r, 1, "event.outcome", "failure");
        GHAS(&r, 1, "event.category", "configuration");
        GCHECK(&r, 1, "aws.securityhub.record_state", "ARCHIVED");
        GCHECK(&r, 2, "event.outcome", "unknown");          /* NOT_AVAILABLE */
        GCHECK(&r, 2, "aws.securityhub.resource.type", "AwsEc2Volume");
        golden_free(&r);
    }
    /* An Insight definition is not a finding. */
    if (load(&r, "securityhub", "securityhub/test-securityhub-insights.log", 0) == 0) {
        golden_expect_counts(&r, "securityhub/test-securityhub-insights.log", 0, 1, 0);
        golden_free(&r);
    }
}

static void test_inspector(void)
{
    struct golden_run r;
    if (load(&r, "inspector", "inspector/test-inspector.log", 1) < 0) return;
    golden_expect_counts(&r, "inspector/test-inspector.log", 1, 0, 0);
    CHECK_STR(r.ids[0], "arn:aws:s3:::sample");
    GCHECK(&r, 0, "event.kind", "state");
    GHAS(&r, 0, "event.category", "vulnerability");
    GCHECK(&r, 0, "vulnerability.score.base", "8.9");
    GCHECK(&r, 0, "vulnerability.severity", "INFORMATIONAL");
    GCHECK(&r, 0, "cloud.instance.id", "12345678");
    GHAS(&r, 0, "host.ip", "81.2.69.192");
    GCHECK(&r, 0, "aws.inspector.first_observed_at", "2022-09-20T19:52:26.405Z");
    static const char *const fields[] = {
        "@timestamp", "cloud.account.id", "cloud.region", "message", "network.transport", "related.ip",
        "vulnerability.id", "vulnerability.reference", NULL,
    };
    const char *exp = corpus("inspector/test-inspector.log-expected.json");
    if (exp) CHECK(compare_expected(&r, exp, fields) >= 7);
    golden_free(&r);
}

/* MaxMind's test City and ASN databases in a directory of their own (the
 * shared one also holds deliberately corrupt files). NULL when absent. */
static struct geoip *open_test_geoip(char *dir)
{
    const char *city = tl_shared("testdata/geoip/GeoLite2-City-Test.mmdb");
    const char *asn = tl_shared("testdata/geoip/GeoLite2-ASN-Test.mmdb");
    char link_city[600], link_asn[600], err[256];
    if (!city || !asn || !mkdtemp(dir)) return NULL;
    snprintf(link_city, sizeof link_city, "%s/GeoLite2-City-Test.mmdb", dir);
    snprintf(link_asn, sizeof link_asn, "%s/GeoLite2-ASN-Test.mmdb", dir);
    struct geoip *g = NULL;
    if (symlink(city, link_city) == 0 && symlink(asn, link_asn) == 0) g = geoip_open(dir, err, sizeof err);
    unlink(link_city);
    unlink(link_asn);
    rmdir(dir);
    return g;
}

static void test_networkfirewall(void)
{
    struct golden_run r;
    char geodir[] = "/tmp/siemproc-geo-XXXXXX";
    golden_geoip = open_test_geoip(geodir);
    if (!golden_geoip) printf("networkfirewall: GeoIP test databases not available, geo fields not compared\n");
    int rc = load(&r, "networkfirewall", "networkfirewall/test-firewall.log", 1);
    if (golden_geoip) geoip_close(golden_geoip);
    golden_geoip = NULL;
    if (rc < 0) return;
    golden_expect_counts(&r, "networkfirewall/test-firewall.log", 2, 0, 0);
    GCHECK(&r, 0, "event.action", "blocked");
    GCHECK(&r, 0, "event.outcome", "failure");
    GCHECK(&r, 0, "rule.version", "1");
    GCHECK(&r, 0, "url.domain", "216.160.83.57");
    GCHECK(&r, 0, "observer.name", "AWSNetworkFirewall");
    GCHECK(&r, 1, "network.bytes", "40");
    GCHECK(&r, 1, "source.packets", "1");
    GABSENT(&r, 1, "event.outcome");
    static const char *const fields[] = {
        "@timestamp", "source.ip", "source.port", "destination.ip", "destination.port", "event.action",
        "event.outcome", "event.kind", "event.severity", "event.category", "network.transport", "rule.id",
        "rule.name", "cloud.availability_zone", "cloud.region", "http.request.method", "http.version",
        "user_agent.original", "url.path", "related.ip", "observer.name", "source.geo.city_name",
        "source.geo.country_iso_code", "source.geo.location", "destination.geo.country_iso_code",
        "destination.geo.region_iso_code", "destination.as.number", NULL,
    };
    const char *exp = corpus("networkfirewall/test-firewall.log-expected.json");
    if (exp) CHECK(compare_expected(&r, exp, fields) >= 30);
    golden_free(&r);
}

static void test_route53(void)
{
    struct golden_run r;
    if (load(&r, "route53resolver", "route53/resolver/test-route53.log", 0) == 0) {
        golden_expect_counts(&r, "route53/resolver/test-route53.log", 34, 0, 0);
        CHECK_STR(r.index[0], "log-aws-r53resolver-2021-12");
        GCHECK(&r, 0, "dns.question.name", "does-not-exist.abc.com");
        GCHECK(&r, 0, "dns.response_code", "NXDOMAIN");
        GCHECK(&r, 0, "source.ip", "172.31.86.159");
        GCHECK(&r, 0, "source.port", "48701");
        GCHECK(&r, 0, "network.transport", "udp");
        GABSENT(&r, 0, "dns.answers");
        GCHECK(&r, 1, "dns.answers", "[{\"data\":\"ip-172-31-86-159.ec2.internal.\",\"type\":\"PTR\",\"class\":\"IN\"}]");
        GABSENT(&r, 1, "dns.resolved_ip");
        GCHECK(&r, 10, "dns.answers", "[{\"data\":\"s3-r-w.dualstack.us-east-1.amazonaws.com.\",\"type\":\"CNAME\",\"class\":\"IN\"},"
                                      "{\"data\":\"2a02:cf40:add:4002:91f2:a9b2:e09a:6fc6\",\"type\":\"AAAA\",\"class\":\"IN\"}]");
        GCHECK(&r, 10, "dns.resolved_ip", "[\"2a02:cf40:add:4002:91f2:a9b2:e09a:6fc6\"]");
        GHAS(&r, 10, "related.ip", "2a02:cf40:add:4002:91f2:a9b2:e09a:6fc6");
        /* The DNS Firewall record. */
        GCHECK(&r, 32, "event.action", "block");
        GCHECK(&r, 32, "event.outcome", "failure");
        GCHECK(&r, 32, "event.kind", "alert");
        GHAS(&r, 32, "event.type", "denied");
        GCHECK(&r, 32, "cloud.instance.id", "i-0d15cd0d3example");
        GCHECK(&r, 32, "rule.ruleset", "rslvr-frg-01234567890abcdef");
        GCHECK(&r, 32, "cloud.account.id", "111122223333");
        GCHECK(&r, 32, "@timestamp", "2021-02-04T17:51:55.000Z");
        GCHECK(&r, 33, "cloud.instance.id", "i-079c44232510ca8ff");
        golden_free(&r);
    }
    if (load(&r, "route53-public", "route53/public/test-route53.log", 1) == 0) {
        golden_expect_counts(&r, "route53/public/test-route53.log", 7, 0, 0);
        GCHECK(&r, 2, "source.ip", "2a02:cf40:add:4002:91f2:a9b2:e09a:6fc6");
        GCHECK(&r, 2, "aws.route53_public.edns_client_subnet", "2001:db8:abcd::/48");
        GCHECK(&r, 6, "dns.question.type", "SPF");
        static const char *const fields[] = {
            "@timestamp", "source.ip", "dns.question.name", "dns.question.type", "dns.response_code",
            "network.transport", "network.protocol", NULL,
        };
        const char *exp = corpus("route53/public/test-route53.log-expected.json");
        if (exp) CHECK(compare_expected(&r, exp, fields) >= 40);
        golden_free(&r);
    }
}

int main(void)
{
    if (!tl_shared("corpus/SOURCES.md")) tl_skip("the shared corpus (../shared/corpus) is not available");
    golden_init();
    test_waf();
    test_guardduty();
    test_securityhub();
    test_inspector();
    test_networkfirewall();
    test_route53();
    schema_set_free(&golden_schemas);
    return tl_done();
}
