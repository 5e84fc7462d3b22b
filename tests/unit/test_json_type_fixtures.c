/* Edge cases of the JSON log types on our own fixtures (tests/fixtures/<type>/):
 * EventBridge envelopes, Security Hub batches, Inspector reports, WAF Classic,
 * DNS Firewall, Network Firewall TLS and ICMP logs (network.community_id),
 * FireLens with JSON log lines,
 * missing fields, a hostname in an ip field, bad records (counted, never
 * dropped), CloudWatch Logs payloads (in process and through `siemproc parse`
 * of a gzip file), and type detection by S3 key and log group. */
#include "golden_run.h"

static const struct golden_want waf_edge_cases[] = {
    { 0, "event.action", "captcha" },
    { 0, "event.outcome", "failure" },
    { 0, "event.type[]", "denied" },
    { 0, "rule.id", "AWS-AWSManagedRulesBotControlRuleSet" },
    { 0, "rule.name", "CategoryHttpLibrary" },
    { 0, "rule.ruleset", "AWS#AWSManagedRulesBotControlRuleSet" },
    { 0, "user_agent.original", "python-requests/2.31.0" },     /* lower-case header names */
    { 0, "user_agent.name", "Python Requests" },
    { 1, "user_agent.name", "Firefox" },
    { 1, "user_agent.os.name", "Linux" },
    { 0, "url.domain", "shop.example.com" },
    { 0, "url.query", "step=2&coupon=SPRING" },
    { 0, "http.request.referrer", "https://shop.example.com/cart" },
    { 0, "http.version", "2.0" },
    { 0, "tls.client.ja3", "e7d705a3286e19ea42f587b344ee6865" },
    { 0, "cloud.account.id", "210987654321" },
    { 0, "aws.waf.captcha_response.failure_reason", "TOKEN_MISSING" },
    { 0, "aws.waf.labels[]", "awswaf:managed:aws:bot-control:signal:non_browser_user_agent" },
    /* WAF Classic: the web ACL id is not an ARN, so no account or region from it. */
    { 1, "source.ip", "2a02:cf40::1234" },
    { 1, "rule.id", "f0e1d2c3-b4a5-6978-8a9b-0c1d2e3f4a5b" },
    { 1, "aws.waf.terminating_rule_type", "RATE_BASED" },
    { 1, "aws.waf.rate_based_rule_list", "[{\"rateBasedRuleId\":\"f0e1d2c3-b4a5-6978-8a9b-0c1d2e3f4a5b\",\"limitKey\":\"IP\",\"maxRateAllowed\":2000}]" },
    { 1, "url.domain", "d111111abcdef8.cloudfront.net" },
    { 1, "cloud.account.id", GOLDEN_ABSENT },
    { 1, "cloud.region", GOLDEN_ABSENT },
    /* A hostname where an ip belongs goes to source.domain, never source.ip. */
    { 2, "source.ip", GOLDEN_ABSENT },
    { 2, "source.domain", "edge-proxy.example.net" },
    { 2, "related.ip", GOLDEN_ABSENT },
    { 2, "cloud.region", "us-east-1" },
};

static void check_waf_edge_cases(const struct golden_run *r)
{
    CHECK(r->n > 0 && json_array_size(golden_at(r->docs[0], "aws.waf.labels")) == 3);
}

static const struct golden_want guardduty_eventbridge[] = {
    /* Outbound: the instance is the source, the remote host the destination. */
    { 0, "network.direction", "egress" },
    { 0, "source.ip", "10.20.3.41" },
    { 0, "source.port", "49822" },
    { 0, "destination.ip", "89.160.20.128" },
    { 0, "destination.port", "443" },
    { 0, "network.community_id", "1:VLJBJFv4Ut09Hq8KRYOikiVegQw=" },   /* a whole tuple: it joins the flow logs */
    { 0, "destination.geo.location.lat", "58.4167" },
    { 0, "destination.geo.location.lon", "15.6167" },
    { 0, "destination.as.number", "29518" },
    { 0, "source.geo", GOLDEN_ABSENT },
    { 0, "event.severity", "8" },
    { 0, "aws.guardduty.severity", "8" },
    { 0, "rule.id", "Backdoor:EC2/C&CActivity.B" },
    { 0, "threat.tactic", GOLDEN_ABSENT },
    { 0, "host.ip[]", "81.2.69.192" },
    { 0, "host.name", "ip-10-20-3-41.eu-central-1.compute.internal" },
    /* Port probe: the first probe's remote host is the source. */
    { 1, "source.ip", "216.160.83.56" },
    { 1, "source.geo.country_iso_code", "US" },
    { 1, "destination.ip", "10.20.3.41" },
    { 1, "destination.port", "22" },
    { 1, "network.community_id", GOLDEN_ABSENT },     /* a probe has no remote port or protocol */
    { 1, "event.severity", "2" },
    { 1, "event.action", "PORT_PROBE" },
};

static void check_guardduty_eventbridge(const struct golden_run *r)
{
    CHECK_STR(r->ids[0], "c6c6a8e3f0b24d5e9a7b1c2d3e4f5a6b_3");
    CHECK_STR(r->index[0], "log-aws-guardduty-2024-02");
}

static const struct golden_want guardduty_s3_export[] = {
    { 0, "user.name", "web-role" },
    { 0, "user.id", "ASIAEXAMPLEKEY123456" },
    { 0, "related.user[]", "web-role" },
    { 0, "source.ip", "175.16.199.1" },
    { 0, "user_agent.original", "aws-cli/2.15.10 Python/3.11.6 Linux/6.5.0 exe/x86_64.ubuntu.22" },
    { 0, "aws.guardduty.service.api", "DescribeInstances" },
    { 0, "threat.tactic", GOLDEN_ABSENT },          /* UnauthorizedAccess is not an ATT&CK tactic */
    /* No action at all and a fractional severity. */
    { 1, "event.severity", "2" },
    { 1, "aws.guardduty.severity", "2.5" },
    { 1, "source", GOLDEN_ABSENT },
    { 1, "destination", GOLDEN_ABSENT },
};

static void check_guardduty_s3_export(const struct golden_run *r)
{
    CHECK_STR(r->ids[1], "b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5_1");
}

static const struct golden_want securityhub_imported[] = {
    { 0, "event.id", "arn:aws:guardduty:us-west-2:123456789012:detector/4ec22961e1defabcdefabcdef2a1234/finding/6ec6a8e3f0b24d5e9a7b1c2d3e4f5a6b" },
    { 0, "event.provider", "GuardDuty" },
    { 0, "source.ip", "216.160.83.56" },
    { 0, "source.geo.location.lat", "47.2513" },                       /* from Lat/Lon */
    { 0, "source.geo.location.lon", "-122.315" },
    { 0, "destination.ip", "10.20.3.41" },
    { 0, "destination.port", "22" },
    { 0, "destination.nat.ip", "81.2.69.192" },                          /* ProductFields key with ".0_" */
    { 0, "cloud.instance.id", "i-0a1b2c3d4e5f67890" },
    { 0, "threat.tactic.name[]", "Discovery" },
    { 0, "event.category[]", "intrusion_detection" },
    { 0, "event.severity", "20" },
    { 0, "event.outcome", GOLDEN_ABSENT },
    { 1, "vulnerability.id", "CVE-2023-38545" },
    { 1, "vulnerability.score.base", "9.8" },
    { 1, "vulnerability.severity", "HIGH" },
    { 1, "event.outcome", "failure" },
    { 1, "aws.securityhub.workflow.status", "NOTIFIED" },
};

static void check_securityhub_imported(const struct golden_run *r)
{
    /* An Id longer than 100 bytes is hashed: same id for the same finding. */
    CHECK(r->n > 0 && strlen(r->ids[0]) == 22 && strchr(r->ids[0], ':') == NULL);
    CHECK_STR(r->ids[1], "arn:aws:inspector2:us-west-2:123456789012:finding/0d4b8ea7e12a6d09f5cf0e27cd0bd8da");
}

static const struct golden_want inspector_eventbridge[] = {
    { 0, "@timestamp", "2024-02-11T00:10:05.000Z" },      /* "Feb 11, 2024, 12:10:05 AM" */
    { 0, "vulnerability.enumeration", "CVE" },
    { 0, "package.name", "curl" },
};

static const struct golden_want inspector_report[] = {
    { 1, "@timestamp", "2024-02-12T15:45:10.000Z" },
    { 1, "cloud.instance.id", GOLDEN_ABSENT },                          /* a container image, not an instance */
    { 1, "vulnerability.enumeration", GOLDEN_ABSENT },
    { 1, "vulnerability.category[]", "AWS_ECR_CONTAINER_IMAGE" },
};

static const struct golden_want macie_eventbridge[] = {
    { 0, "event.category[]", "file" },
    { 0, "file.path", "customer-exports/2024/02/customers.csv" },
    { 0, "file.name", "customers.csv" },
    { 0, "file.size", "48213" },
    { 0, "aws.macie.sensitive_data.categories", "[\"PERSONAL_INFORMATION\",\"FINANCIAL_INFORMATION\"]" },
    { 0, "aws.macie.sensitive_data.detection_types", "[\"NAME\",\"ADDRESS\",\"CREDIT_CARD_NUMBER\"]" },
    { 1, "event.action", "DeletePublicAccessBlock" },
    { 1, "event.severity", "3" },
    { 1, "user.name", "alice" },
    { 1, "source.ip", "81.2.69.142" },
    { 1, "source.geo.location.lon", "-0.0931" },
    { 1, "source.domain", GOLDEN_ABSENT },                             /* "" is absent */
};

static void check_macie_eventbridge(const struct golden_run *r)
{
    CHECK_STR(r->ids[0], "64b917aa3a6a4c8e8a3b9e1c2d3f4a5b_1");
    CHECK_STR(r->index[0], "log-aws-macie-2024-03");
    CHECK_STR(r->ids[1], "90b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5_2");
}

static const struct golden_want nfw_tls_alert_flow[] = {
    { 0, "@timestamp", "2024-02-19T16:46:29.441Z" },
    { 0, "source.port", "55930" },
    { 0, "event.action", "drop" },
    { 0, "event.outcome", "failure" },
    { 0, "tls.client.server_name", "revoked.badssl.example" },
    { 0, "cloud.region", "eu-west-1" },
    { 1, "event.kind", "alert" },
    { 1, "source.ip", "2001:db8:10::5" },
    { 1, "tls.server.subject", "CN=api.example.org" },
    { 1, "tls.client.ja3", "e7d705a3286e19ea42f587b344ee6865" },
    { 2, "source.bytes", "150" },
    { 2, "destination.bytes", "310" },
    { 2, "network.protocol", "dns" },
    { 2, "event.kind", "event" },
    { 0, "network.community_id", GOLDEN_ABSENT },     /* no protocol */
    { 1, "network.community_id", "1:sjzo30JuSuAcZfzI2POL312i1lw=" },
    { 2, "network.community_id", "1:A99D3aTUY0u1ZUftxJkd2Ov2w3M=" },
};

/* Community ids checked against an independent implementation of the spec:
 * an echo request and its reply share one, ICMPv6 port unreachable is
 * one-way, Suricata's own (seeded) id wins, ICMP without type and code has none. */
static const struct golden_want nfw_icmp[] = {
    { 0, "network.community_id", "1:q6EPS8aHFhr/b6c5rHQ8Dssf7Wg=" },
    { 0, "aws.networkfirewall.icmp_type", "8" },
    { 1, "network.community_id", "1:q6EPS8aHFhr/b6c5rHQ8Dssf7Wg=" },
    { 1, "aws.networkfirewall.icmp_type", "0" },
    { 2, "network.transport", "ipv6-icmp" },
    { 2, "network.community_id", "1:GOyBCQUTWue6QsgP5V0OWdRg0lo=" },
    { 2, "aws.networkfirewall.icmp_code", "4" },
    { 3, "network.community_id", "1:9JOrmjr5ytz1XouLO3xjNzcmi8g=" },     /* seed 1: ours would be 1:5Hne4G... */
    { 4, "network.transport", "icmp" },
    { 4, "network.community_id", GOLDEN_ABSENT },
};

static const struct golden_want resolver_edge_cases[] = {
    { 0, "dns.resolved_ip", "[\"89.160.20.112\",\"89.160.20.113\"]" },
    { 0, "related.ip[]", "89.160.20.113" },
    { 1, "event.action", "alert" },
    { 1, "event.kind", "alert" },
    { 1, "event.outcome", "success" },
    { 1, "event.type[]", "allowed" },
    { 1, "network.transport", "tcp" },
    { 1, "dns.answers", GOLDEN_ABSENT },                              /* empty answers */
    { 2, "dns.answers", GOLDEN_ABSENT },                              /* no answers key */
    { 2, "cloud.instance.id", GOLDEN_ABSENT },
    { 2, "dns.response_code", "SERVFAIL" },
    { 2, "event.kind", "event" },
};

static void check_resolver_edge_cases(const struct golden_run *r)
{
    CHECK(r->n > 0 && json_array_size(golden_at(r->docs[0], "dns.answers")) == 3);
}

static const struct golden_want firelens_app[] = {
    { 0, "aws.firelens.log_json.status", "200" },
    { 0, "aws.firelens.log_json.msg", "request served" },
    { 0, "container.name", "web" },
    { 0, "orchestrator.cluster.name", "prod-cluster" },
    { 0, "cloud.region", "ap-northeast-1" },
    { 0, "cloud.account.id", "123456789012" },
    { 0, "@timestamp", "2024-03-05T07:21:44.512Z" },
    { 1, "aws.firelens.log_json", GOLDEN_ABSENT },                   /* plain text */
    { 2, "aws.firelens.source", "stderr" },
    { 2, "@timestamp", "2024-03-05T07:21:46.250Z" },    /* Fluent Bit "date" */
    { 3, "aws.firelens.log_json", GOLDEN_ABSENT },                   /* a JSON array is not an object */
    { 4, "aws.firelens.log_json", GOLDEN_ABSENT },                   /* truncated JSON */
    { 4, "message", "{\"truncated\": \"json" },
    { 3, "@timestamp", "2023-11-14T22:13:20.000Z" },    /* no time: the object's time */
    { 3, "orchestrator", GOLDEN_ABSENT },
};

/* The bundled CloudTrail sample: a console user, the CLI, a service principal. */
static const struct golden_want cloudtrail_sample[] = {
    { 0, "user_agent.name", "Safari" },
    { 0, "user_agent.version", "18.1" },
    { 0, "user_agent.os.full", "Mac OS X 10.15.7" },
    { 0, "user_agent.device.name", "Mac" },
    { 1, "user_agent.name", "aws-cli" },
    { 1, "user_agent.version", "2.22.4" },
    { 1, "user_agent.os.kernel", "6.8.0" },
    { 2, "user_agent.name", "ec2.amazonaws.com" },
    { 2, "user_agent.version", GOLDEN_ABSENT },
};

static const struct golden_case fixtures[] = {
    { "cloudtrail", "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/28/"
      "123456789012_CloudTrail_us-east-1_20261128T0355Z_Qm7xT2vL9pRkW4sZ.json", .parsed = 3, GOLDEN_WANT(cloudtrail_sample) },
    /* A timestamp that is not one and a syntax error: failed, counted. */
    { "waf", "waf/waf-edge-cases.log", .parsed = 3, .failed = 2, GOLDEN_WANT(waf_edge_cases),
      .check = check_waf_edge_cases },
    /* The third event's detail is empty: not a finding. */
    { "guardduty", "guardduty/eventbridge.log", .parsed = 2, .skipped = 1, GOLDEN_WANT(guardduty_eventbridge),
      .check = check_guardduty_eventbridge },
    { "guardduty", "guardduty/s3-export.log", .parsed = 2, GOLDEN_WANT(guardduty_s3_export),
      .check = check_guardduty_s3_export },
    /* Two findings in one event; an event with an empty findings array is skipped. */
    { "securityhub", "securityhub/eventbridge-imported.log", .parsed = 2, .skipped = 1,
      GOLDEN_WANT(securityhub_imported), .check = check_securityhub_imported },
    { "inspector", "inspector/eventbridge.log", .parsed = 1, GOLDEN_WANT(inspector_eventbridge) },
    /* A findings report: {"findings": [...]}, pretty printed, one document per finding. */
    { "inspector", "inspector/findings-report.json", .parsed = 2, GOLDEN_WANT(inspector_report) },
    { "macie", "macie/eventbridge.log", .parsed = 2, GOLDEN_WANT(macie_eventbridge), .check = check_macie_eventbridge },
    /* TLS log: ports as strings, a numeric event_timestamp, a revocation drop. */
    { "networkfirewall", "networkfirewall/tls-alert-flow.log", .parsed = 3, GOLDEN_WANT(nfw_tls_alert_flow) },
    { "networkfirewall", "networkfirewall/icmp-community-id.log", .parsed = 5, GOLDEN_WANT(nfw_icmp) },
    { "route53resolver", "route53resolver/edge-cases.log", .parsed = 3, GOLDEN_WANT(resolver_edge_cases),
      .check = check_resolver_edge_cases },
    /* The last record has no log line: skipped. */
    { "ecs-firelens", "firelens/firelens-app.log", .parsed = 5, .skipped = 1, GOLDEN_WANT(firelens_app) },
};

/* CloudWatch Logs subscription payloads: no S3 key, the type comes from the log group. */
static const struct golden_want cwl_guardduty[] = {
    { 0, "aws.cloudwatch.log_group", "/aws/events/guardduty" },
    { 0, "event.dataset", "aws.guardduty" },
};

static const struct golden_want cwl_firelens[] = {
    { 0, "event.dataset", "aws.firelens" },
    { 0, "@timestamp", "2024-03-05T07:21:44.512Z" },
    { 1, "aws.cloudwatch.log_group", "/ecs/firelens/web-app" },
};

static const struct golden_case cwl_payloads[] = {
    { NULL, "guardduty/cwl-eventbridge.json", .parsed = 2, .skipped = 1, GOLDEN_WANT(cwl_guardduty),
      .check = check_guardduty_eventbridge },
    { NULL, "firelens/cwl-firelens.json", .parsed = 2, GOLDEN_WANT(cwl_firelens) },
};

static void test_cwl_in_process(void)
{
    for (size_t i = 0; i < sizeof cwl_payloads / sizeof cwl_payloads[0]; i++) {
        const struct golden_case *c = &cwl_payloads[i];
        struct golden_run r;
        size_t len;
        char *data = tl_read_file(golden_fixture(c->file), &len);
        CHECK(data != NULL);
        if (!data) continue;
        golden_run_bytes(&r, c, NULL, c->file, data, len);
        free(data);
        golden_expect_case(&r, c);
        golden_free(&r);
    }
}

/* The same payload gzip-compressed through the siemproc binary, --bulk. */
static void test_cwl_cli(void)
{
    size_t len;
    char *data = tl_read_file(golden_fixture("guardduty/cwl-eventbridge.json"), &len);
    char gz[] = "/tmp/siemproc-cwl-XXXXXX";
    int fd = mkstemp(gz);
    CHECK(data && fd >= 0);
    if (fd >= 0) close(fd);
    struct golden_run r;
    if (data && fd >= 0 && golden_write_gzip(gz, data, len) == 0 && golden_run_bulk(&r, gz, tl_src("schemas")) == 0) {
        CHECK_INT(r.n, 2);                  /* two findings */
        CHECK_STR(r.index[0], "log-aws-guardduty-2024-02");
        CHECK_STR(r.index[1], "log-aws-guardduty-2024-02");
        CHECK_STR(r.ids[0], "c6c6a8e3f0b24d5e9a7b1c2d3e4f5a6b_3");
        golden_expect_distinct_ids(&r);
        golden_free(&r);
    }
    free(data);
    if (fd >= 0) unlink(gz);
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
    golden_run_fixtures(fixtures, sizeof fixtures / sizeof fixtures[0]);
    test_cwl_in_process();
    test_cwl_cli();
    test_detection();
    schema_set_free(&golden_schemas);
    return tl_done();
}
