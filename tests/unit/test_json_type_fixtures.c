/* Edge cases of the JSON log types on our own fixtures (tests/fixtures/<type>/):
 * EventBridge envelopes, Security Hub batches, Inspector reports, WAF Classic,
 * DNS Firewall, Network Firewall TLS logs, FireLens with JSON log lines,
 * missing fields, a hostname in an ip field, bad records (counted, never
 * dropped), CloudWatch Logs payloads (in process and through `siemproc parse`
 * of a gzip file), and type detection by S3 key and log group. */
#include <unistd.h>
#include <zlib.h>
#include "golden_run.h"

static const char *fixture(const char *rel)
{
    static char path[8][1024];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, sizeof path[0], "tests/fixtures/%s", rel);
    return tl_src(p);
}

static void run(struct golden_run *r, const char *type, const char *rel)
{
    const char *path = fixture(rel);
    if (golden_run_file(r, type, path, 0) < 0) { tl_fail(__FILE__, __LINE__, "fixture readable", path); return; }
    golden_expect_same_ids(r, type, path);
}

static void test_waf(void)
{
    struct golden_run r;
    run(&r, "waf", "waf/waf-edge-cases.log");
    /* A timestamp that is not one and a syntax error: failed, counted. */
    golden_expect_counts(&r, "waf/waf-edge-cases.log", 3, 0, 2);
    GCHECK(&r, 0, "event.action", "captcha");
    GCHECK(&r, 0, "event.outcome", "failure");
    GHAS(&r, 0, "event.type", "denied");
    GCHECK(&r, 0, "rule.id", "AWS-AWSManagedRulesBotControlRuleSet");
    GCHECK(&r, 0, "rule.name", "CategoryHttpLibrary");
    GCHECK(&r, 0, "rule.ruleset", "AWS#AWSManagedRulesBotControlRuleSet");
    GCHECK(&r, 0, "user_agent.original", "python-requests/2.31.0");     /* lower-case header names */
    GCHECK(&r, 0, "url.domain", "shop.example.com");
    GCHECK(&r, 0, "url.query", "step=2&coupon=SPRING");
    GCHECK(&r, 0, "http.request.referrer", "https://shop.example.com/cart");
    GCHECK(&r, 0, "http.version", "2.0");
    GCHECK(&r, 0, "tls.client.ja3", "e7d705a3286e19ea42f587b344ee6865");
    GCHECK(&r, 0, "cloud.account.id", "210987654321");
    GCHECK(&r, 0, "aws.waf.captcha_response.failure_reason", "TOKEN_MISSING");
    GHAS(&r, 0, "aws.waf.labels", "awswaf:managed:aws:bot-control:signal:non_browser_user_agent");
    CHECK(r.n > 0 && json_array_size(golden_at(r.docs[0], "aws.waf.labels")) == 3);
    /* WAF Classic: the web ACL id is not an ARN, so no account or region from it. */
    GCHECK(&r, 1, "source.ip", "2a02:cf40::1234");
    GCHECK(&r, 1, "rule.id", "f0e1d2c3-b4a5-6978-8a9b-0c1d2e3f4a5b");
    GCHECK(&r, 1, "aws.waf.terminating_rule_type", "RATE_BASED");
    GCHECK(&r, 1, "aws.waf.rate_based_rule_list", "[{\"rateBasedRuleId\":\"f0e1d2c3-b4a5-6978-8a9b-0c1d2e3f4a5b\",\"limitKey\":\"IP\",\"maxRateAllowed\":2000}]");
    GCHECK(&r, 1, "url.domain", "d111111abcdef8.cloudfront.net");
    GABSENT(&r, 1, "cloud.account.id");
    GABSENT(&r, 1, "cloud.region");
    /* A hostname where an ip belongs goes to source.domain, never source.ip. */
    GABSENT(&r, 2, "source.ip");
    GCHECK(&r, 2, "source.domain", "edge-proxy.example.net");
    GABSENT(&r, 2, "related.ip");
    GCHECK(&r, 2, "cloud.region", "us-east-1");
    golden_free(&r);
}

static void test_guardduty(void)
{
    struct golden_run r;
    run(&r, "guardduty", "guardduty/eventbridge.log");
    /* The third event's detail is empty: not a finding. */
    golden_expect_counts(&r, "guardduty/eventbridge.log", 2, 1, 0);
    CHECK_STR(r.ids[0], "c6c6a8e3f0b24d5e9a7b1c2d3e4f5a6b_3");
    CHECK_STR(r.index[0], "log-aws-guardduty-2024-02");
    /* Outbound: the instance is the source, the remote host the destination. */
    GCHECK(&r, 0, "network.direction", "egress");
    GCHECK(&r, 0, "source.ip", "10.20.3.41");
    GCHECK(&r, 0, "source.port", "49822");
    GCHECK(&r, 0, "destination.ip", "89.160.20.128");
    GCHECK(&r, 0, "destination.port", "443");
    GCHECK(&r, 0, "destination.geo.location.lat", "58.4167");
    GCHECK(&r, 0, "destination.geo.location.lon", "15.6167");
    GCHECK(&r, 0, "destination.as.number", "29518");
    GABSENT(&r, 0, "source.geo");
    GCHECK(&r, 0, "event.severity", "8");
    GCHECK(&r, 0, "aws.guardduty.severity", "8");
    GCHECK(&r, 0, "rule.id", "Backdoor:EC2/C&CActivity.B");
    GABSENT(&r, 0, "threat.tactic");
    GHAS(&r, 0, "host.ip", "81.2.69.192");
    GCHECK(&r, 0, "host.name", "ip-10-20-3-41.eu-central-1.compute.internal");
    /* Port probe: the first probe's remote host is the source. */
    GCHECK(&r, 1, "source.ip", "216.160.83.56");
    GCHECK(&r, 1, "source.geo.country_iso_code", "US");
    GCHECK(&r, 1, "destination.ip", "10.20.3.41");
    GCHECK(&r, 1, "destination.port", "22");
    GCHECK(&r, 1, "event.severity", "2");
    GCHECK(&r, 1, "event.action", "PORT_PROBE");
    golden_free(&r);

    run(&r, "guardduty", "guardduty/s3-export.log");
    golden_expect_counts(&r, "guardduty/s3-export.log", 2, 0, 0);
    GCHECK(&r, 0, "user.name", "web-role");
    GCHECK(&r, 0, "user.id", "ASIAEXAMPLEKEY123456");
    GHAS(&r, 0, "related.user", "web-role");
    GCHECK(&r, 0, "source.ip", "175.16.199.1");
    GCHECK(&r, 0, "user_agent.original", "aws-cli/2.15.10 Python/3.11.6 Linux/6.5.0 exe/x86_64.ubuntu.22");
    GCHECK(&r, 0, "aws.guardduty.service.api", "DescribeInstances");
    GABSENT(&r, 0, "threat.tactic");          /* UnauthorizedAccess is not an ATT&CK tactic */
    /* No action at all and a fractional severity. */
    GCHECK(&r, 1, "event.severity", "2");
    GCHECK(&r, 1, "aws.guardduty.severity", "2.5");
    GABSENT(&r, 1, "source");
    GABSENT(&r, 1, "destination");
    CHECK_STR(r.ids[1], "b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5_1");
    golden_free(&r);
}

static void test_securityhub(void)
{
    struct golden_run r;
    run(&r, "securityhub", "securityhub/eventbridge-imported.log");
    /* Two findings in one event; an event with an empty findings array is skipped. */
    golden_expect_counts(&r, "securityhub/eventbridge-imported.log", 2, 1, 0);
    /* An Id longer than 100 bytes is hashed: same id for the same finding. */
    CHECK(r.n > 0 && strlen(r.ids[0]) == 22 && strchr(r.ids[0], ':') == NULL);
    GCHECK(&r, 0, "event.id", "arn:aws:guardduty:us-west-2:123456789012:detector/4ec22961e1defabcdefabcdef2a1234/finding/6ec6a8e3f0b24d5e9a7b1c2d3e4f5a6b");
    GCHECK(&r, 0, "event.provider", "GuardDuty");
    GCHECK(&r, 0, "source.ip", "216.160.83.56");
    GCHECK(&r, 0, "source.geo.location.lat", "47.2513");                       /* from Lat/Lon */
    GCHECK(&r, 0, "source.geo.location.lon", "-122.315");
    GCHECK(&r, 0, "destination.ip", "10.20.3.41");
    GCHECK(&r, 0, "destination.port", "22");
    GCHECK(&r, 0, "destination.nat.ip", "81.2.69.192");                          /* ProductFields key with ".0_" */
    GCHECK(&r, 0, "cloud.instance.id", "i-0a1b2c3d4e5f67890");
    GHAS(&r, 0, "threat.tactic.name", "Discovery");
    GHAS(&r, 0, "event.category", "intrusion_detection");
    GCHECK(&r, 0, "event.severity", "20");
    GABSENT(&r, 0, "event.outcome");
    GCHECK(&r, 1, "vulnerability.id", "CVE-2023-38545");
    GCHECK(&r, 1, "vulnerability.score.base", "9.8");
    GCHECK(&r, 1, "vulnerability.severity", "HIGH");
    GCHECK(&r, 1, "event.outcome", "failure");
    GCHECK(&r, 1, "aws.securityhub.workflow.status", "NOTIFIED");
    CHECK_STR(r.ids[1], "arn:aws:inspector2:us-west-2:123456789012:finding/0d4b8ea7e12a6d09f5cf0e27cd0bd8da");
    golden_free(&r);
}

static void test_inspector_macie(void)
{
    struct golden_run r;
    run(&r, "inspector", "inspector/eventbridge.log");
    golden_expect_counts(&r, "inspector/eventbridge.log", 1, 0, 0);
    GCHECK(&r, 0, "@timestamp", "2024-02-11T00:10:05.000Z");      /* "Feb 11, 2024, 12:10:05 AM" */
    GCHECK(&r, 0, "vulnerability.enumeration", "CVE");
    GCHECK(&r, 0, "package.name", "curl");
    golden_free(&r);
    /* A findings report: {"findings": [...]}, pretty printed, one document per finding. */
    run(&r, "inspector", "inspector/findings-report.json");
    golden_expect_counts(&r, "inspector/findings-report.json", 2, 0, 0);
    GCHECK(&r, 1, "@timestamp", "2024-02-12T15:45:10.000Z");
    GABSENT(&r, 1, "cloud.instance.id");                          /* a container image, not an instance */
    GABSENT(&r, 1, "vulnerability.enumeration");
    GHAS(&r, 1, "vulnerability.category", "AWS_ECR_CONTAINER_IMAGE");
    golden_free(&r);

    run(&r, "macie", "macie/eventbridge.log");
    golden_expect_counts(&r, "macie/eventbridge.log", 2, 0, 0);
    CHECK_STR(r.ids[0], "64b917aa3a6a4c8e8a3b9e1c2d3f4a5b_1");
    CHECK_STR(r.index[0], "log-aws-macie-2024-03");
    GHAS(&r, 0, "event.category", "file");
    GCHECK(&r, 0, "file.path", "customer-exports/2024/02/customers.csv");
    GCHECK(&r, 0, "file.name", "customers.csv");
    GCHECK(&r, 0, "file.size", "48213");
    GCHECK(&r, 0, "aws.macie.sensitive_data.categories", "[\"PERSONAL_INFORMATION\",\"FINANCIAL_INFORMATION\"]");
    GCHECK(&r, 0, "aws.macie.sensitive_data.detection_types", "[\"NAME\",\"ADDRESS\",\"CREDIT_CARD_NUMBER\"]");
    CHECK_STR(r.ids[1], "90b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5_2");
    GCHECK(&r, 1, "event.action", "DeletePublicAccessBlock");
    GCHECK(&r, 1, "event.severity", "3");
    GCHECK(&r, 1, "user.name", "alice");
    GCHECK(&r, 1, "source.ip", "81.2.69.142");
    GCHECK(&r, 1, "source.geo.location.lon", "-0.0931");
    GABSENT(&r, 1, "source.domain");                             /* "" is absent */
    golden_free(&r);
}

static void test_network(void)
{
    struct golden_run r;
    run(&r, "networkfirewall", "networkfirewall/tls-alert-flow.log");
    golden_expect_counts(&r, "networkfirewall/tls-alert-flow.log", 3, 0, 0);
    /* TLS log: ports as strings, a numeric event_timestamp, a revocation drop. */
    GCHECK(&r, 0, "@timestamp", "2024-02-19T16:46:29.441Z");
    GCHECK(&r, 0, "source.port", "55930");
    GCHECK(&r, 0, "event.action", "drop");
    GCHECK(&r, 0, "event.outcome", "failure");
    GCHECK(&r, 0, "tls.client.server_name", "revoked.badssl.example");
    GCHECK(&r, 0, "cloud.region", "eu-west-1");
    GCHECK(&r, 1, "event.kind", "alert");
    GCHECK(&r, 1, "source.ip", "2001:db8:10::5");
    GCHECK(&r, 1, "tls.server.subject", "CN=api.example.org");
    GCHECK(&r, 1, "tls.client.ja3", "e7d705a3286e19ea42f587b344ee6865");
    GCHECK(&r, 2, "source.bytes", "150");
    GCHECK(&r, 2, "destination.bytes", "310");
    GCHECK(&r, 2, "network.protocol", "dns");
    GCHECK(&r, 2, "event.kind", "event");
    golden_free(&r);

    run(&r, "route53resolver", "route53resolver/edge-cases.log");
    golden_expect_counts(&r, "route53resolver/edge-cases.log", 3, 0, 0);
    GCHECK(&r, 0, "dns.resolved_ip", "[\"89.160.20.112\",\"89.160.20.113\"]");
    CHECK(r.n > 0 && json_array_size(golden_at(r.docs[0], "dns.answers")) == 3);
    GHAS(&r, 0, "related.ip", "89.160.20.113");
    GCHECK(&r, 1, "event.action", "alert");
    GCHECK(&r, 1, "event.kind", "alert");
    GCHECK(&r, 1, "event.outcome", "success");
    GHAS(&r, 1, "event.type", "allowed");
    GCHECK(&r, 1, "network.transport", "tcp");
    GABSENT(&r, 1, "dns.answers");                              /* empty answers */
    GABSENT(&r, 2, "dns.answers");                              /* no answers key */
    GABSENT(&r, 2, "cloud.instance.id");
    GCHECK(&r, 2, "dns.response_code", "SERVFAIL");
    GCHECK(&r, 2, "event.kind", "event");
    golden_free(&r);
}

static void test_firelens(void)
{
    struct golden_run r;
    run(&r, "ecs-firelens", "firelens/firelens-app.log");
    /* The last record has no log line: skipped. */
    golden_expect_counts(&r, "firelens/firelens-app.log", 5, 1, 0);
    GCHECK(&r, 0, "aws.firelens.log_json.status", "200");
    GCHECK(&r, 0, "aws.firelens.log_json.msg", "request served");
    GCHECK(&r, 0, "container.name", "web");
    GCHECK(&r, 0, "orchestrator.cluster.name", "prod-cluster");
    GCHECK(&r, 0, "cloud.region", "ap-northeast-1");
    GCHECK(&r, 0, "cloud.account.id", "123456789012");
    GCHECK(&r, 0, "@timestamp", "2024-03-05T07:21:44.512Z");
    GABSENT(&r, 1, "aws.firelens.log_json");                   /* plain text */
    GCHECK(&r, 2, "aws.firelens.source", "stderr");
    GCHECK(&r, 2, "@timestamp", "2024-03-05T07:21:46.250Z");    /* Fluent Bit "date" */
    GABSENT(&r, 3, "aws.firelens.log_json");                   /* a JSON array is not an object */
    GABSENT(&r, 4, "aws.firelens.log_json");                   /* truncated JSON */
    GCHECK(&r, 4, "message", "{\"truncated\": \"json");
    GCHECK(&r, 3, "@timestamp", "2023-11-14T22:13:20.000Z");    /* no time: the object's time */
    GABSENT(&r, 3, "orchestrator");
    golden_free(&r);
}

/* CloudWatch Logs subscription payloads: the type comes from the log group. */
static void test_cwl_in_process(void)
{
    struct golden_run r;
    size_t len;
    char *data = tl_read_file(fixture("guardduty/cwl-eventbridge.json"), &len);
    CHECK(data != NULL);
    if (!data) return;
    golden_run_bytes(&r, NULL, NULL, "cwl-eventbridge.json", data, len, 0);
    free(data);
    golden_expect_counts(&r, "guardduty/cwl-eventbridge.json (CWL)", 2, 1, 0);
    CHECK_STR(r.ids[0], "c6c6a8e3f0b24d5e9a7b1c2d3e4f5a6b_3");
    GCHECK(&r, 0, "aws.cloudwatch.log_group", "/aws/events/guardduty");
    GCHECK(&r, 0, "event.dataset", "aws.guardduty");
    golden_free(&r);

    data = tl_read_file(fixture("firelens/cwl-firelens.json"), &len);
    CHECK(data != NULL);
    if (!data) return;
    golden_run_bytes(&r, NULL, NULL, "cwl-firelens.json", data, len, 0);
    free(data);
    golden_expect_counts(&r, "firelens/cwl-firelens.json (CWL)", 2, 0, 0);
    GCHECK(&r, 0, "event.dataset", "aws.firelens");
    GCHECK(&r, 0, "@timestamp", "2024-03-05T07:21:44.512Z");
    GCHECK(&r, 1, "aws.cloudwatch.log_group", "/ecs/firelens/web-app");
    golden_free(&r);
}

/* The same payload gzip-compressed through the siemproc binary, --bulk. */
static void test_cwl_cli(void)
{
    const char *bin = getenv("SIEMPROC_BIN");
    if (!bin || access(bin, X_OK) != 0) { printf("skip siemproc parse: SIEMPROC_BIN not set\n"); return; }
    size_t len;
    char *data = tl_read_file(fixture("guardduty/cwl-eventbridge.json"), &len);
    char gz[] = "/tmp/siemproc-cwl-XXXXXX";
    int fd = mkstemp(gz);
    CHECK(data && fd >= 0);
    if (!data || fd < 0) { free(data); return; }
    gzFile g = gzdopen(fd, "wb");
    CHECK(g && gzwrite(g, data, (unsigned)len) == (int)len);
    gzclose(g);
    free(data);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' parse --bulk --schemas '%s' '%s' 2>/dev/null", bin, tl_src("schemas"), gz);
    FILE *p = popen(cmd, "r");
    char line[65536];
    int lines = 0, guardduty_index = 0, finding_id = 0;
    while (p && fgets(line, sizeof line, p)) {
        lines++;
        guardduty_index += strstr(line, "\"_index\":\"log-aws-guardduty-2024-02\"") != NULL;
        finding_id += strstr(line, "\"_id\":\"c6c6a8e3f0b24d5e9a7b1c2d3e4f5a6b_3\"") != NULL;
    }
    int rc = p ? pclose(p) : -1;
    unlink(gz);
    CHECK_INT(rc, 0);
    CHECK_INT(lines, 4);             /* two findings: action line + document each */
    CHECK_INT(guardduty_index, 2);
    CHECK_INT(finding_id, 1);
}

static void expect_s3(const char *key, const char *type)
{
    int skip = 0;
    const struct schema *sc = schema_detect_s3_key(&golden_schemas, key, &skip);
    CHECK_STR(sc ? sc->name : "(none)", type);
    CHECK_INT(skip, 0);
}

static void expect_group(const char *group, const char *type)
{
    const struct schema *sc = schema_detect_log_group(&golden_schemas, group);
    CHECK_STR(sc ? sc->name : "(none)", type);
}

static void test_detection(void)
{
    expect_s3("AWSLogs/123456789012/WAFLogs/us-east-1/shop-acl/2024/03/05/08/05/"
              "123456789012_waflogs_us-east-1_shop-acl_20240305T0805Z_1a2b3c4d.log.gz", "waf");
    expect_s3("waf/aws-waf-logs-shop-1-2024-03-05-08-05-00-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d.gz", "waf");
    expect_s3("AWSLogs/123456789012/GuardDuty/eu-central-1/2024/02/11/6f3e1a2b-9c8d-4e7f-a6b5-c4d3e2f1a0b9.jsonl.gz", "guardduty");
    expect_s3("AWSLogs/123456789012/network-firewall/alert/us-east-2/egress-fw/2021/11/08/14/"
              "123456789012_network-firewall_alert_us-east-2_egress-fw_202111081420_1a2b3c4d.log.gz", "networkfirewall");
    expect_s3("AWSLogs/123456789012/vpcdnsquerylogs/vpc-01e31a7c/2021/12/11/"
              "vpc-01e31a7c_vpcdnsquerylogs_123456789012_20211211T2245Z_3b1f4e2a.log.gz", "route53resolver");
    expect_s3("AWSLogs/123456789012/SecurityHub/us-west-2/2024/02/11/08/siem-securityhub-1-2024-02-11-08-41-01-aa.gz", "securityhub");
    expect_s3("AWSLogs/123456789012/Inspector2_Finding/us-west-2/2024/02/11/siem-inspector-1-2024-02-11-00-10-06-bb.gz", "inspector");
    expect_s3("AWSLogs/123456789012/Macie/us-east-1/2024/03/01/siem-macie-1-2024-03-01-12-00-06-cc.gz", "macie");
    expect_s3("FireLens/web-app/2024/03/05/firelens-web-app-1-2024-03-05-07-21-45-dd.gz", "ecs-firelens");
    expect_group("aws-waf-logs-shop", "waf");
    expect_group("/aws/events/guardduty", "guardduty");
    expect_group("/aws/events/securityhub", "securityhub");
    expect_group("/aws/events/macie", "macie");
    expect_group("/aws/events/inspector2", "inspector");
    expect_group("/aws/network-firewall/alert", "networkfirewall");
    expect_group("/aws/route53/example.com", "route53-public");
    expect_group("/aws/route53resolver/querylogs", "route53resolver");
    expect_group("/ecs/firelens/web-app", "ecs-firelens");
}

int main(void)
{
    golden_init();
    test_waf();
    test_guardduty();
    test_securityhub();
    test_inspector_macie();
    test_network();
    test_firelens();
    test_cwl_in_process();
    test_cwl_cli();
    test_detection();
    schema_set_free(&golden_schemas);
    return tl_done();
}
