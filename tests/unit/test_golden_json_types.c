/* Golden tests of the JSON log types over the public corpus (../shared/corpus):
 * waf, guardduty, securityhub, inspector, networkfirewall, route53resolver and
 * route53-public. Every record is parsed or skipped for a stated reason, key
 * fields of specific records are checked, ids are deterministic, and where
 * the corpus has an -expected.json (Elastic's pipeline output) the shared ECS
 * fields must agree with it, record by record (matched by event.original). */
#include <unistd.h>
#include "geoip.h"
#include "golden_run.h"

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

static const struct golden_want waf[] = {
    { 0, "@timestamp", "2019-12-13T23:40:12.771Z" },
    { 0, "source.ip", "89.160.20.156" },
    { 0, "source.geo.country_iso_code", "AU" },
    { 0, "event.action", "block" },
    { 0, "event.outcome", "failure" },
    { 0, "event.type[]", "denied" },
    { 0, "rule.id", "STMTest_SQLi_XSS" },
    { 0, "rule.name", "STMTest_SQLi_XSS" },
    { 0, "user_agent.original", "curl/7.61.1" },
    { 0, "user_agent.name", "curl" },
    { 0, "user_agent.version", "7.61.1" },
    { 0, "url.full", GOLDEN_ABSENT },           /* no scheme in these WAF logs */
    { 0, "url.domain", "localhost" },
    { 0, "url.path", "/foo" },
    { 0, "http.version", "1.1" },
    { 0, "http.request.method", "GET" },
    { 0, "cloud.region", "ap-southeast-2" },
    { 0, "aws.waf.labels[]", "value" },
    { 1, "event.action", "allow" },
    { 1, "event.outcome", "success" },
    { 1, "event.type[]", "allowed" },
    { 1, "cloud.account.id", "123456789012" },
    { 1, "aws.waf.non_terminating_rule_ids[]", "TestRule" },
    /* A rule group terminated the request: the rule inside it names it. */
    { 2, "rule.id", "RG-Reference" },
    { 2, "rule.name", "RuleA-XSS" },
    { 2, "rule.ruleset", "arn:aws:wafv2:us-east-1:123456789012:global/rulegroup/hello-world/c05lb698-1f11-4m41-aef4-99a506d53f4b" },
    { 3, "http.request.method", "POST" },
    { 3, "user_agent", GOLDEN_ABSENT },
    { 3, "url.domain", GOLDEN_ABSENT },
};

static void check_waf(const struct golden_run *r)
{
    CHECK_STR(r->index[0], "log-aws-waf-2019-12");
}

static const struct golden_want guardduty[] = {
    { 0, "@timestamp", "2022-11-22T12:22:20.934Z" },
    { 0, "event.kind", "alert" },
    { 0, "event.severity", "5" },
    { 0, "aws.guardduty.severity", "5" },
    { 0, "rule.id", "Trojan:EC2/BlackholeTraffic!DNS" },
    { 0, "rule.name", "Blackholed domain name queried by EC2 instance i-99999999." },
    { 0, "dns.question.name", "GeneratedFindingDomainName" },
    { 0, "network.transport", "udp" },
    { 0, "cloud.instance.id", "i-99999999" },
    { 0, "destination.ip", "175.16.199.1" },
    { 0, "cloud.account.id", "123412341234" },
    { 0, "source.ip", GOLDEN_ABSENT },
    { 1, "source.ip", "175.16.199.1" },
    { 1, "source.geo.location.lat", "0" },
    { 1, "source.geo.country_name", "GeneratedFindingCountryName" },
    { 1, "user.name", "system:anonymous" },
    { 1, "orchestrator.cluster.name", "GeneratedFindingEKSClusterName" },
    { 1, "threat.tactic.name[]", "Persistence" },
    { 1, "threat.framework", "MITRE ATT&CK" },
    { 1, "event.severity", "8" },
    { 2, "user.name", "GeneratedFindingUserName" },
    { 2, "user.id", "GeneratedFindingAccessKeyId" },
    { 2, "threat.tactic.id[]", "TA0007" },
    { 3, "source.ip", "175.16.199.1" },
    { 3, "threat.tactic.name[]", "Credential Access" },
    { 3, "@timestamp", "2022-12-07T10:28:35.948Z" },
};

static void check_guardduty(const struct golden_run *r)
{
    CHECK_STR(r->ids[0], "d6012345678912345678912349f831b8f_2");
    CHECK_STR(r->index[0], "log-aws-guardduty-2022-11");
}

static const struct golden_want securityhub[] = {
    { 0, "@timestamp", "2018-08-31T00:15:09.000Z" },
    { 0, "event.severity", "90" },              /* from Severity.Label CRITICAL */
    { 0, "event.outcome", "success" },          /* Compliance PASSED */
    { 0, "event.category[]", "vulnerability" },
    { 0, "source.ip", "1.128.0.0" },
    { 0, "source.port", "42" },
    { 0, "destination.port", "80" },
    { 0, "network.direction", "ingress" },
    { 0, "network.transport", "tcp" },
    { 0, "cloud.instance.id", "i-cafebabe" },
    { 0, "vulnerability.id", "CVE-2020-12345" },
    { 0, "vulnerability.score.base", "4.7" },
    { 0, "source.geo.location.lon", "0" },
    { 0, "aws.securityhub.product_fields.aws/inspector/RulesPackageName", "Common Vulnerabilities and Exposures" },
    { 1, "rule.id", "EC2.8" },
    { 1, "event.severity", "70" },
    { 1, "event.risk_score_norm", "70" },
    { 1, "event.outcome", "failure" },
    { 1, "event.category[]", "configuration" },
    { 1, "aws.securityhub.record_state", "ARCHIVED" },
    { 2, "event.outcome", "unknown" },          /* NOT_AVAILABLE */
    { 2, "aws.securityhub.resource.type", "AwsEc2Volume" },
};

static void check_securityhub(const struct golden_run *r)
{
    CHECK_STR(r->ids[0], "us-west-2/111111111111/98aebb2207407c87f51e89943f12b1ef");
    CHECK_STR(r->index[0], "log-aws-securityhub-2018-08");
}

static const struct golden_want inspector[] = {
    { 0, "event.kind", "state" },
    { 0, "event.category[]", "vulnerability" },
    { 0, "vulnerability.score.base", "8.9" },
    { 0, "vulnerability.severity", "INFORMATIONAL" },
    { 0, "cloud.instance.id", "12345678" },
    { 0, "host.ip[]", "81.2.69.192" },
    { 0, "aws.inspector.first_observed_at", "2022-09-20T19:52:26.405Z" },
};

static void check_inspector(const struct golden_run *r)
{
    CHECK_STR(r->ids[0], "arn:aws:s3:::sample");
    static const char *const fields[] = {
        "@timestamp", "cloud.account.id", "cloud.region", "message", "network.transport", "related.ip",
        "vulnerability.id", "vulnerability.reference", NULL,
    };
    const char *exp = golden_corpus("inspector/test-inspector.log-expected.json");
    if (exp) CHECK(compare_expected(r, exp, fields) >= 7);
}

static const struct golden_want route53resolver[] = {
    { 0, "dns.question.name", "does-not-exist.abc.com" },
    { 0, "dns.response_code", "NXDOMAIN" },
    { 0, "source.ip", "172.31.86.159" },
    { 0, "source.port", "48701" },
    { 0, "network.transport", "udp" },
    { 0, "dns.answers", GOLDEN_ABSENT },
    { 1, "dns.answers", "[{\"data\":\"ip-172-31-86-159.ec2.internal.\",\"type\":\"PTR\",\"class\":\"IN\"}]" },
    { 1, "dns.resolved_ip", GOLDEN_ABSENT },
    { 10, "dns.answers", "[{\"data\":\"s3-r-w.dualstack.us-east-1.amazonaws.com.\",\"type\":\"CNAME\",\"class\":\"IN\"},"
          "{\"data\":\"2a02:cf40:add:4002:91f2:a9b2:e09a:6fc6\",\"type\":\"AAAA\",\"class\":\"IN\"}]" },
    { 10, "dns.resolved_ip", "[\"2a02:cf40:add:4002:91f2:a9b2:e09a:6fc6\"]" },
    { 10, "related.ip[]", "2a02:cf40:add:4002:91f2:a9b2:e09a:6fc6" },
    /* The DNS Firewall record. */
    { 32, "event.action", "block" },
    { 32, "event.outcome", "failure" },
    { 32, "event.kind", "alert" },
    { 32, "event.type[]", "denied" },
    { 32, "cloud.instance.id", "i-0d15cd0d3example" },
    { 32, "rule.ruleset", "rslvr-frg-01234567890abcdef" },
    { 32, "cloud.account.id", "111122223333" },
    { 32, "@timestamp", "2021-02-04T17:51:55.000Z" },
    { 33, "cloud.instance.id", "i-079c44232510ca8ff" },
};

static void check_route53resolver(const struct golden_run *r)
{
    CHECK_STR(r->index[0], "log-aws-r53resolver-2021-12");
}

static const struct golden_want route53_public[] = {
    { 2, "source.ip", "2a02:cf40:add:4002:91f2:a9b2:e09a:6fc6" },
    { 2, "aws.route53_public.edns_client_subnet", "2001:db8:abcd::/48" },
    { 6, "dns.question.type", "SPF" },
};

static void check_route53_public(const struct golden_run *r)
{
    static const char *const fields[] = {
        "@timestamp", "source.ip", "dns.question.name", "dns.question.type", "dns.response_code",
        "network.transport", "network.protocol", NULL,
    };
    const char *exp = golden_corpus("route53/public/test-route53.log-expected.json");
    if (exp) CHECK(compare_expected(r, exp, fields) >= 40);
}

static const struct golden_case corpus[] = {
    { "waf", "waf/test-waf.log", .parsed = 4, GOLDEN_WANT(waf), .check = check_waf },
    /* The last record is {"findings":[]}: not a finding, skipped. */
    { "guardduty", "guardduty/test-guardduty.log", .parsed = 4, .skipped = 1, GOLDEN_WANT(guardduty),
      .check = check_guardduty },
    { "securityhub", "securityhub/test-securityhub-findings.log", .parsed = 3, GOLDEN_WANT(securityhub),
      .check = check_securityhub },
    /* An Insight definition is not a finding. */
    { "securityhub", "securityhub/test-securityhub-insights.log", .skipped = 1 },
    { "inspector", "inspector/test-inspector.log", .parsed = 1, GOLDEN_WANT(inspector), .check = check_inspector,
      .keep_original = 1 },
    { "route53resolver", "route53/resolver/test-route53.log", .parsed = 34, GOLDEN_WANT(route53resolver),
      .check = check_route53resolver },
    { "route53-public", "route53/public/test-route53.log", .parsed = 7, GOLDEN_WANT(route53_public),
      .check = check_route53_public, .keep_original = 1 },
};

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

static const struct golden_want networkfirewall[] = {
    { 0, "event.action", "blocked" },
    { 0, "event.outcome", "failure" },
    { 0, "rule.version", "1" },
    { 0, "url.domain", "216.160.83.57" },
    { 0, "observer.name", "AWSNetworkFirewall" },
    { 1, "network.bytes", "40" },
    { 1, "source.packets", "1" },
    { 1, "event.outcome", GOLDEN_ABSENT },
};

static void check_networkfirewall(const struct golden_run *r)
{
    static const char *const fields[] = {
        "@timestamp", "source.ip", "source.port", "destination.ip", "destination.port", "event.action",
        "event.outcome", "event.kind", "event.severity", "event.category", "network.transport", "rule.id",
        "rule.name", "cloud.availability_zone", "cloud.region", "http.request.method", "http.version",
        "user_agent.original", "user_agent.name", "user_agent.version", "user_agent.os.name", "user_agent.os.version",
        "user_agent.os.full", "user_agent.device.name", "url.path", "related.ip", "observer.name", "source.geo.city_name",
        "source.geo.country_iso_code", "source.geo.location", "destination.geo.country_iso_code",
        "destination.geo.region_iso_code", "destination.as.number", "network.community_id", NULL,
    };
    const char *exp = golden_corpus("networkfirewall/test-firewall.log-expected.json");
    if (exp) CHECK(compare_expected(r, exp, fields) >= 32);
}

/* Network Firewall with the GeoIP test databases, when they are there. */
static void test_networkfirewall(void)
{
    static const struct golden_case c = { "networkfirewall", "networkfirewall/test-firewall.log", .parsed = 2,
                                           GOLDEN_WANT(networkfirewall), .check = check_networkfirewall,
                                           .keep_original = 1 };
    char geodir[] = "/tmp/siemproc-geo-XXXXXX";
    golden_geoip = open_test_geoip(geodir);
    if (!golden_geoip) printf("networkfirewall: GeoIP test databases not available, geo fields not compared\n");
    golden_run_case(&c, golden_corpus(c.file));
    if (golden_geoip) geoip_close(golden_geoip);
    golden_geoip = NULL;
}

int main(void)
{
    if (!tl_shared("corpus/SOURCES.md")) tl_skip("the shared corpus (../shared/corpus) is not available");
    golden_init();
    golden_run_corpus(corpus, sizeof corpus / sizeof corpus[0]);
    test_networkfirewall();
    schema_set_free(&golden_schemas);
    return tl_done();
}
