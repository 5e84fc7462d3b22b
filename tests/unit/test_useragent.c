/* useragent: the shipped rules (schemas/enrich/user_agents.json) over a
 * table of agents as AWS logs carry them -- browsers, mobile systems, AWS
 * tools and SDKs, service principals, HTTP libraries, crawlers -- and over
 * bad input (empty, "-", very long, not UTF-8, unbalanced brackets); rule
 * files with mistakes are refused with the rule named; ua_enrich adds the
 * fields through its cache; and over the shared corpus's CloudTrail agents
 * (skipped when absent), how many get a name. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testlib.h"
#include "useragent.h"

static struct ua_rules *rules;

/* Expected fields; NULL: absent. */
struct want {
    const char *ua;
    const char *name, *version, *os_name, *os_version, *os_full, *os_kernel, *device;
};

static const struct want agents[] = {
    { "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.91 Safari/537.36",
      "Chrome", "124.0.6367.91", "Windows", "10", "Windows 10", NULL, "Other" },
    { "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67",
      "Edge", "124.0.2478.67", "Windows", "10", "Windows 10", NULL, "Other" },
    { "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0",
      "Opera", "106.0.0.0", "Windows", "10", "Windows 10", NULL, "Other" },
    { "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:125.0) Gecko/20100101 Firefox/125.0",
      "Firefox", "125.0", "Mac OS X", "10.15", "Mac OS X 10.15", NULL, "Mac" },
    { "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
      "Safari", "17.4.1", "Mac OS X", "10.15.7", "Mac OS X 10.15.7", NULL, "Mac" },
    { "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
      "Mobile Safari", "17.4.1", "iOS", "17.4.1", "iOS 17.4.1", NULL, "iPhone" },
    { "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/123.0.6312.52 Mobile/15E148 Safari/604.1",
      "Chrome Mobile iOS", "123.0.6312.52", "iOS", "16.6", "iOS 16.6", NULL, "iPad" },
    { "Mozilla/5.0 (iPhone; CPU iPhone OS 16_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
      "Mobile Safari UI/WKWebView", NULL, "iOS", "16.5", "iOS 16.5", NULL, "iPhone" },
    { "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
      "Chrome Mobile", "124.0.6367.82", "Android", "14", "Android 14", NULL, "SM-S918B" },
    { "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
      "Chrome Mobile", "124.0.0.0", "Android", "10", "Android 10", NULL, "K" },
    { "Mozilla/5.0 (Linux; Android 13; SM-A536B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
      "Samsung Internet", "24.0", "Android", "13", "Android 13", NULL, "SM-A536B" },
    { "Mozilla/5.0 (Linux; Android 12; Pixel 6 Build/SQ3A.220705.004; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/103.0.5060.71 Mobile Safari/537.36",
      "Chrome Mobile WebView", "103.0.5060.71", "Android", "12", "Android 12", NULL, "Pixel 6" },
    /* language and "U" segments are not the device */
    { "Mozilla/5.0 (Linux; U; Android 4.0.3; ko-kr; LG-L160L Build/IML74K) AppleWebkit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30",
      "Android Browser", "4.0", "Android", "4.0.3", "Android 4.0.3", NULL, "LG-L160L" },
    { "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko",
      "IE", "11.0", "Windows", "7", "Windows 7", NULL, "Other" },
    { "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.2; Trident/6.0)",
      "IE", "10.0", "Windows", "8", "Windows 8", NULL, "Other" },
    { "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
      "Chrome", "124.0.0.0", "Chrome OS", "14541.0.0", "Chrome OS 14541.0.0", NULL, "Other" },
    { "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
      "Firefox", "125.0", "Ubuntu", NULL, "Ubuntu", NULL, "Other" },
    { "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.6367.60 Safari/537.36",
      "HeadlessChrome", "124.0.6367.60", "Linux", NULL, "Linux", NULL, "Other" },
    /* crawlers: the crawler wins over the browser it imitates */
    { "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.91 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
      "Googlebot", "2.1", "Android", "6.0.1", "Android 6.0.1", NULL, "Spider" },
    { "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
      "bingbot", "2.0", NULL, NULL, NULL, NULL, "Spider" },
    { "Mozilla/5.0 (compatible; ExampleCrawlBot/1.3; +https://crawler.example.com/about)",
      "ExampleCrawlBot", "1.3", NULL, NULL, NULL, NULL, "Spider" },
    { "Mozilla/5.0 zgrab/0.x", "zgrab", "0", NULL, NULL, NULL, NULL, "Spider" },
    /* AWS tools and SDKs */
    { "aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#5.10.213-201.855.amzn2.x86_64 md/arch#x86_64 lang/python#3.11.8 "
      "md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#amzn.2 md/prompt#off md/command#s3.ls",
      "aws-cli", "2.15.30", "Linux", NULL, "Linux", "5.10.213", "Other" },
    { "[aws-cli/1.18.69 Python/2.7.18 Linux/4.14.336-257.562.amzn2.x86_64 botocore/1.16.19]",
      "aws-cli", "1.18.69", "Linux", NULL, "Linux", "4.14.336", "Other" },
    { "aws-cli/1.10.32 Python/2.7.9 Windows/10 botocore/1.4.22",
      "aws-cli", "1.10.32", "Windows", "10", "Windows 10", NULL, "Other" },
    { "Boto3/1.34.84 md/Botocore#1.34.84 ua/2.0 os/linux#5.10.214 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython "
      "exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.84",
      "Boto3", "1.34.84", "Linux", NULL, "Linux", "5.10.214", "Other" },
    { "Botocore/1.34.84 ua/2.0 os/macos#23.4.0 md/arch#arm64 lang/python#3.12.2",
      "Botocore", "1.34.84", "Mac OS X", NULL, "Mac OS X", "23.4.0", "Other" },
    { "aws-sdk-go/1.51.21 (go1.22.2; linux; amd64)", "aws-sdk-go", "1.51.21", "Linux", NULL, "Linux", NULL, "Other" },
    { "aws-sdk-go-v2/1.26.1 os/macos lang/go#1.22.2 md/GOOS#darwin md/GOARCH#arm64 api/sts#1.28.6",
      "aws-sdk-go-v2", "1.26.1", "Mac OS X", NULL, "Mac OS X", NULL, "Other" },
    { "aws-sdk-java/2.25.35 Linux/6.1.84-99.169.amzn2023.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+8-LTS Java/17.0.10 "
      "vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy",
      "aws-sdk-java", "2.25.35", "Linux", NULL, "Linux", "6.1.84", "Other" },
    { "aws-sdk-js/3.556.0 ua/2.0 os/linux#5.10.214 lang/js md/nodejs#20.12.2 api/s3#3.556.0",
      "aws-sdk-js", "3.556.0", "Linux", NULL, "Linux", "5.10.214", "Other" },
    { "aws-sdk-dotnet-coreclr/3.7.300.73 ua/2.0 OS/Microsoft_Windows_10.0.20348 OSVer/10.0.20348 lang/.NET_Core#6.0.29",
      "aws-sdk-dotnet", "3.7.300.73", "Windows", "10.0.20348", "Windows 10.0.20348", NULL, "Other" },
    { "aws-sdk-kotlin/1.1.13 ua/2.0 api/s3#1.1.13 os/linux#6.5 lang/kotlin#1.9.23",
      "aws-sdk-kotlin", "1.1.13", "Linux", NULL, "Linux", "6.5", "Other" },
    { "APN/1.0 HashiCorp/1.0 Terraform/1.8.2 (+https://www.terraform.io) terraform-provider-aws/5.47.0 "
      "(+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.1 md/GOOS#linux",
      "Terraform", "1.8.2", "Linux", NULL, "Linux", NULL, "Other" },
    { "console.amazonaws.com", "AWS Console", NULL, NULL, NULL, NULL, NULL, "Other" },
    { "signin.amazonaws.com", "AWS Sign-In", NULL, NULL, NULL, NULL, NULL, "Other" },
    { "AWS Internal", "AWS Internal", NULL, NULL, NULL, NULL, NULL, "Other" },
    { "cloudformation.amazonaws.com", "cloudformation.amazonaws.com", NULL, NULL, NULL, NULL, NULL, "Other" },
    { "[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.488 Linux/5.10.218-186.862.amzn2int.x86_64 "
      "OpenJDK_64-Bit_Server_VM/25.372-b08 java/1.8.0_372 vendor/Oracle_Corporation cfg/retry-mode/standard]",
      "S3 Console", "0.4", "Linux", NULL, "Linux", "5.10.218", "Other" },
    { "aws-internal/3 aws-sdk-java/1.12.488 Linux/5.10.218", "AWS Internal", "3", "Linux", NULL, "Linux", "5.10.218", "Other" },
    { "ELB-HealthChecker/2.0", "ELB-HealthChecker", "2.0", NULL, NULL, NULL, NULL, "Other" },
    /* HTTP clients */
    { "curl/8.4.0", "curl", "8.4.0", NULL, NULL, NULL, NULL, "Other" },
    { "Wget/1.21.2", "Wget", "1.21.2", NULL, NULL, NULL, NULL, "Other" },
    { "python-requests/2.31.0", "Python Requests", "2.31.0", NULL, NULL, NULL, NULL, "Other" },
    { "Go-http-client/2.0", "Go-http-client", "2.0", NULL, NULL, NULL, NULL, "Other" },
    { "okhttp/4.12.0", "okhttp", "4.12.0", NULL, NULL, NULL, NULL, "Other" },
    { "Java/17.0.10", "Java", "17.0.10", NULL, NULL, NULL, NULL, "Other" },
    { "Apache-HttpClient/4.5.14 (Java/17.0.10)", "Apache-HttpClient", "4.5.14", NULL, NULL, NULL, NULL, "Other" },
    /* "Chrome/" is a word of its own: not found inside another name */
    { "MyChrome/3.0", "Other", NULL, NULL, NULL, NULL, NULL, "Other" },
    /* unknown, and bad input */
    { "Hello, world", "Other", NULL, NULL, NULL, NULL, NULL, "Other" },
    { "  curl/7.1  ", "curl", "7.1", NULL, NULL, NULL, NULL, "Other" },
    { "curl/..7", "curl", NULL, NULL, NULL, NULL, NULL, "Other" },
    { "curl/1234567890123456789012345678901234567890", "curl", "1234567890123456789012345678901", NULL, NULL, NULL, NULL, "Other" },
    { ")))(((;;;", "Other", NULL, NULL, NULL, NULL, NULL, "Other" },
    { "Mozilla/5.0 (Linux; Android 12; Pixel 7", "Other", NULL, "Android", "12", "Android 12", NULL, "Pixel 7" },
    { "Mozilla/5.0 (Linux; Android 12;", "Other", NULL, "Android", "12", "Android 12", NULL, "Other" },
    { "Mozilla/5.0 (Windows NT 10.0; Win64", "Other", NULL, "Windows", "10", "Windows 10", NULL, "Other" },
    { "[", "Other", NULL, NULL, NULL, NULL, NULL, "Other" },
};

static const char *field(const struct ua_result *r, enum ua_field f, char *buf, size_t n)
{
    if (!r->len[f]) return NULL;
    snprintf(buf, n, "%.*s", (int)r->len[f], r->text + r->off[f]);
    return buf;
}

/* One field against its expected value (NULL: absent); prints the agent on a mismatch. */
static void expect(const char *ua, const struct ua_result *r, enum ua_field f, const char *want)
{
    char buf[512];
    const char *got = field(r, f, buf, sizeof buf);
    int ok = (!got && !want) || (got && want && strcmp(got, want) == 0);
    if (!ok) {
        char what[768];
        snprintf(what, sizeof what, "%s of \"%.200s\"", ua_field_path(f), ua);
        tl_fail(__FILE__, __LINE__, what, got ? got : "(absent)");
        return;
    }
    tl_passed++;
}

static void expect_all(const struct want *w, const struct ua_result *r)
{
    const char *v[UA_NFIELDS] = { w->name, w->version, w->os_name, w->os_version, w->os_full, w->os_kernel, w->device };
    for (int f = 0; f < UA_NFIELDS; f++) expect(w->ua, r, f, v[f]);
}

static void test_table(void)
{
    for (size_t i = 0; i < sizeof agents / sizeof agents[0]; i++) {
        struct ua_result r;
        CHECK_INT(ua_parse(rules, agents[i].ua, strlen(agents[i].ua), &r), 0);
        expect_all(&agents[i], &r);
    }
}

static void test_nothing_to_parse(void)
{
    static const char *const empty[] = { "", "-", "   ", " - ", "[]", "\t" };
    struct ua_result r;
    for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++)
        CHECK_INT(ua_parse(rules, empty[i], strlen(empty[i]), &r), -1);
    CHECK_INT(ua_parse(rules, NULL, 0, &r), -1);
}

/* Only the first UA_SCAN_MAX bytes count; nothing is read past n. */
static void test_long(void)
{
    size_t n = 3 * UA_SCAN_MAX;
    char *s = malloc(n + 32);
    memset(s, 'A', n);
    memcpy(s + n, " Chrome/1.0", 11);
    struct ua_result r;
    char buf[64];
    CHECK_INT(ua_parse(rules, s, n + 11, &r), 0);
    CHECK_STR(field(&r, UA_NAME, buf, sizeof buf), "Other");
    memcpy(s, "curl/7.1 ", 9);
    CHECK_INT(ua_parse(rules, s, n + 11, &r), 0);
    CHECK_STR(field(&r, UA_NAME, buf, sizeof buf), "curl");
    /* a name taken from the value is cut at 64 bytes */
    char host[200];
    memset(host, 'x', 150);
    memcpy(host + 150, ".amazonaws.com", 15);
    CHECK_INT(ua_parse(rules, host, strlen(host), &r), 0);
    CHECK_INT(r.len[UA_NAME], 64);
    free(s);
}

/* Bytes that are not UTF-8 pass through as text (the JSON writer replaces
 * them); such a field is marked as needing escaping. NULs are bytes too. */
static void test_not_utf8(void)
{
    static const char s[] = "Mozilla/5.0 (Linux; Android 12; \xc3\x28\xff\"Phone Build/X) Chrome/1.2 Mobile Safari/5";
    struct ua_result r;
    char buf[64];
    CHECK_INT(ua_parse(rules, s, sizeof s - 1, &r), 0);
    CHECK_STR(field(&r, UA_DEVICE, buf, sizeof buf), "\xc3\x28\xff\"Phone");
    CHECK_INT(r.plain[UA_DEVICE], 0);
    CHECK_INT(r.plain[UA_NAME], 1);
    CHECK_STR(field(&r, UA_NAME, buf, sizeof buf), "Chrome Mobile");
    static const char nul[] = "curl/7.1\0Chrome/9";
    CHECK_INT(ua_parse(rules, nul, sizeof nul - 1, &r), 0);
    CHECK_STR(field(&r, UA_NAME, buf, sizeof buf), "curl");
}

/* Rule files with mistakes: refused, with the list and the rule's index. */
static void test_bad_rules(void)
{
    static const struct { const char *json, *frag; } bad[] = {
        { "[]", "expected an object" },
        { "{\"agents\":[],\"os\":[],\"devices\":[],\"extra\":1}", "unknown key \"extra\"" },
        { "{\"agents\":{},\"os\":[],\"devices\":[]}", "agents: expected an array" },
        { "{\"agents\":[],\"os\":[],\"devices\":[]}", NULL },
        { "{\"agents\":[{\"find\":\"a/\",\"name\":\"A\"},{\"find\":\"b/\",\"nme\":\"B\"}],\"os\":[],\"devices\":[]}",
          "agents[1]: unknown key \"nme\"" },
        { "{\"agents\":[{\"find\":\"\",\"name\":\"A\"}],\"os\":[],\"devices\":[]}", "agents[0]: find" },
        { "{\"agents\":[{\"name\":\"A\"}],\"os\":[],\"devices\":[]}", "agents[0]: find" },
        { "{\"agents\":[{\"find\":\"a\",\"at\":\"middle\",\"name\":\"A\"}],\"os\":[],\"devices\":[]}", "agents[0]: at" },
        { "{\"agents\":[{\"find\":\"a\"}],\"os\":[],\"devices\":[]}", "agents[0]: needs either" },
        { "{\"agents\":[{\"find\":\"a\",\"name\":\"A\",\"name_from\":\"word\"}],\"os\":[],\"devices\":[]}", "needs either" },
        { "{\"agents\":[],\"os\":[{\"find\":\"a\",\"name_from\":\"word\"}],\"devices\":[]}", "os[0]: unknown key \"name_from\"" },
        { "{\"agents\":[{\"find\":\"a\",\"name_from\":\"segment\"}],\"os\":[],\"devices\":[]}", "agents[0]: name_from" },
        { "{\"agents\":[{\"find\":\"a\",\"name\":\"caf\xc3\xa9\"}],\"os\":[],\"devices\":[]}", "agents[0]: name: printable ASCII" },
        { "{\"agents\":[{\"find\":\"a\",\"name\":\"A\",\"and\":\"b\"}],\"os\":[],\"devices\":[]}", "agents[0]: and" },
        { "{\"agents\":[],\"os\":[{\"find\":\"a\",\"name\":\"A\",\"skip_words\":9}],\"devices\":[]}", "os[0]: skip_words" },
        { "{\"agents\":[],\"os\":[{\"find\":\"a\",\"name\":\"A\",\"version_map\":{\"1\":2}}],\"devices\":[]}", "os[0]: version_map" },
        { "{\"agents\":[],\"os\":[],\"devices\":[{\"find\":\"a\",\"name\":\"A\",\"version_from\":\"v\"}]}",
          "devices[0]: unknown key \"version_from\"" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        json_error_t je;
        json_t *root = json_loads(bad[i].json, 0, &je);
        if (!root) { tl_fail(__FILE__, __LINE__, "test JSON parses", bad[i].json); continue; }
        struct ua_rules *u = ua_rules_compile(root, "t.json", err, sizeof err);
        json_decref(root);
        if (!bad[i].frag) { CHECK(u != NULL); ua_rules_free(u); continue; }
        CHECK(u == NULL);
        if (!strstr(err, bad[i].frag) || strncmp(err, "t.json: ", 8) != 0)
            tl_fail(__FILE__, __LINE__, bad[i].frag, err);
        else tl_passed++;
    }
    char err[256];
    CHECK(ua_rules_load("/nonexistent/user_agents.json", err, sizeof err) == NULL);
    CHECK(strstr(err, "/nonexistent/user_agents.json") != NULL);
}

/* ua_enrich: the fields of the doc's user_agent.original, also from the cache. */
static void test_enrich(void)
{
    struct doc d;
    struct ua_cache *cache = NULL;
    doc_init(&d);
    CHECK_INT(ua_enrich(rules, &cache, &d), 0);          /* no user_agent.original */
    for (int round = 0; round < 3; round++) {
        doc_reset(&d);
        doc_add(&d, "user_agent.original", DV_STR, 0, "curl/8.4.0", 10);
        CHECK_INT(ua_enrich(rules, &cache, &d), 3);      /* name, version, device */
        const struct doc_field *f = doc_get(&d, "user_agent.version");
        CHECK(f && f->vlen == 5 && memcmp(f->v, "8.4.0", 5) == 0 && f->kind == DV_JSTR);
        f = doc_get(&d, "user_agent.name");
        CHECK(f && f->vlen == 4 && memcmp(f->v, "curl", 4) == 0);
    }
    doc_reset(&d);
    doc_add(&d, "user_agent.original", DV_STR, 0, "-", 1);
    CHECK_INT(ua_enrich(rules, &cache, &d), 0);
    /* longer than what the cache keeps: parsed each time, same result */
    char longua[700];
    memset(longua, 'x', sizeof longua);
    memcpy(longua, "Wget/1.2 ", 9);
    doc_reset(&d);
    doc_add(&d, "user_agent.original", DV_STR, 0, longua, sizeof longua);
    CHECK_INT(ua_enrich(rules, &cache, &d), 3);
    const struct doc_field *f = doc_get(&d, "user_agent.name");
    CHECK(f && f->vlen == 4 && memcmp(f->v, "Wget", 4) == 0);
    ua_cache_free(cache);
    doc_free(&d);
}

/* ---- the shared corpus's CloudTrail agents ------------------------------ */

struct names {
    char **v;
    int n;
};

static void collect(const json_t *j, struct names *seen)
{
    const char *k;
    const json_t *v;
    size_t i;
    if (json_is_array(j)) json_array_foreach(j, i, v) collect(v, seen);
    if (!json_is_object(j)) return;
    json_object_foreach((json_t *)j, k, v) {
        if (strcmp(k, "userAgent") != 0 || !json_is_string(v)) { collect(v, seen); continue; }
        for (int s = 0; s < seen->n; s++)
            if (strcmp(seen->v[s], json_string_value(v)) == 0) goto next;
        seen->v = realloc(seen->v, (size_t)(seen->n + 1) * sizeof *seen->v);
        seen->v[seen->n++] = strdup(json_string_value(v));
    next:;
    }
}

static void collect_file(const char *path, struct names *seen)
{
    size_t len;
    char *data = tl_read_file(path, &len);
    for (char *line = data, *nl; line && *line; line = nl ? nl + 1 : line + strlen(line)) {
        nl = strchr(line, '\n');
        json_t *j = json_loadb(line, nl ? (size_t)(nl - line) : strlen(line), 0, NULL);
        collect(j, seen);
        json_decref(j);
    }
    free(data);
}

static void test_corpus(void)
{
    const char *dir = tl_shared("corpus/cloudtrail");
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d) { printf("corpus: ../shared/corpus/cloudtrail not available, coverage not measured\n"); return; }
    struct names seen = { NULL, 0 };
    struct dirent *e;
    while ((e = readdir(d))) {
        char path[1024];
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".log") != 0) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        collect_file(path, &seen);
    }
    closedir(d);
    int named = 0;
    for (int i = 0; i < seen.n; i++) {
        struct ua_result r;
        if (ua_parse(rules, seen.v[i], strlen(seen.v[i]), &r) == 0 &&
            !(r.len[UA_NAME] == 5 && memcmp(r.text + r.off[UA_NAME], "Other", 5) == 0)) named++;
        else printf("corpus: no name for \"%s\"\n", seen.v[i]);
        free(seen.v[i]);
    }
    free(seen.v);
    printf("corpus: %d of %d distinct CloudTrail user agents named\n", named, seen.n);
    CHECK(seen.n >= 20);
    CHECK(named >= seen.n - 2);       /* "REDACTED" and the like stay Other */
}

int main(void)
{
    char err[512];
    rules = ua_rules_load(tl_src("schemas/enrich/user_agents.json"), err, sizeof err);
    if (!rules) { fprintf(stderr, "%s\n", err); return 1; }
    CHECK(ua_rules_count(rules) >= 100);
    test_table();
    test_nothing_to_parse();
    test_long();
    test_not_utf8();
    test_bad_rules();
    test_enrich();
    test_corpus();
    ua_rules_free(rules);
    return tl_done();
}
