/* test_aws_credentials.c - credential chain: environment, shared files and
 * profiles, region resolution and parsing helpers; then the network sources
 * (IMDSv2, ECS/EKS container, STS web identity) against
 * tests/unit/aws_metadata_stub.py, including expiry parsing,
 * refresh-before-expiry caching, stale-cache fallback and concurrency. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aws_credentials.h"
#include "pystub.h"
#include "testlib.h"

static char tmpdir[256];

static void clear_env(void)
{
    static const char *const vars[] = {
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
        "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
        "AWS_ENDPOINT_URL_STS", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "AWS_EC2_METADATA_DISABLED"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
    setenv("HOME", tmpdir, 1); /* no real ~/.aws */
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

static const char *tmp_file(const char *name, const char *content)
{
    static char path[8][512];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, sizeof path[0], "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(content, f);
        fclose(f);
    }
    return p;
}

static const char *const tmp_names[] = {"credentials", "config", "eks-token", "web-token", "bad-token"};

static void remove_tmpdir(void)
{
    char path[512];
    for (size_t i = 0; i < sizeof tmp_names / sizeof tmp_names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", tmpdir, tmp_names[i]);
        unlink(path);
    }
    if (rmdir(tmpdir) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
}

/* Fresh provider, one get; returns aws_cred_get's result. */
static int get_once(const struct aws_cred_options *o, struct aws_creds *c, enum aws_cred_source *src,
                    char *err, size_t n)
{
    struct aws_cred_provider *p = aws_cred_provider_new(o);
    memset(c, 0, sizeof *c);
    int rc = aws_cred_get(p, c, err, n);
    *src = aws_cred_provider_source(p);
    aws_cred_provider_destroy(p);
    return rc;
}

static void test_env(void)
{
    struct aws_creds c;
    enum aws_cred_source src;
    char err[512];
    clear_env();
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    setenv("AWS_SESSION_TOKEN", "envtoken", 1);
    CHECK_INT(get_once(NULL, &c, &src, err, sizeof err), 0);
    CHECK_INT(src, AWS_CRED_SRC_ENV);
    CHECK_STR(c.access_key, "AKIDENV");
    CHECK_STR(c.secret_key, "envsecret");
    CHECK_STR(c.token, "envtoken");
    CHECK_INT(c.expiration, 0);
    CHECK_STR(aws_cred_source_name(src), "environment");

    unsetenv("AWS_SECRET_ACCESS_KEY");
    CHECK_INT(get_once(NULL, &c, &src, err, sizeof err), -1);
    CHECK(strstr(err, "AWS_SECRET_ACCESS_KEY") != NULL);
    CHECK(strstr(err, "AKIDENV") == NULL); /* never echo key material */
}

static const char *creds_ini =
    "# comment\n"
    "[default]\n"
    "aws_access_key_id = AKIDDEFAULT\n"
    "aws_secret_access_key=defaultsecret\n"
    "\n"
    "[ other ]\n"
    "aws_access_key_id = AKIDOTHER\n"
    "aws_secret_access_key = othersecret\n"
    "aws_session_token = othertoken\n"
    "; another comment\n"
    "[halfkey]\n"
    "aws_access_key_id = AKIDHALF\n";

static const char *config_ini =
    "[default]\n"
    "region = eu-west-1\n"
    "s3 =\n"
    "  region = nested-should-be-ignored\n"
    "[profile cfgonly]\n"
    "region = ap-south-1\n"
    "aws_access_key_id = AKIDCONFIG\n"
    "aws_secret_access_key = configsecret\n"
    "[profile assumer]\n"
    "role_arn = arn:aws:iam::123456789012:role/x\n"
    "source_profile = default\n"
    "[cfgnoprefix]\n"
    "aws_access_key_id = AKIDWRONG\n"
    "aws_secret_access_key = wrong\n";

static void setup_files(void)
{
    setenv("AWS_SHARED_CREDENTIALS_FILE", tmp_file("credentials", creds_ini), 1);
    setenv("AWS_CONFIG_FILE", tmp_file("config", config_ini), 1);
}

static void test_profiles(void)
{
    struct aws_creds c;
    enum aws_cred_source src;
    char err[512];
    clear_env();
    setup_files();
    CHECK_INT(get_once(NULL, &c, &src, err, sizeof err), 0);
    CHECK_INT(src, AWS_CRED_SRC_PROFILE);
    CHECK_STR(c.access_key, "AKIDDEFAULT");
    CHECK_STR(c.secret_key, "defaultsecret");
    CHECK_STR(c.token, "");

    setenv("AWS_PROFILE", "other", 1);
    CHECK_INT(get_once(NULL, &c, &src, err, sizeof err), 0);
    CHECK_STR(c.access_key, "AKIDOTHER");
    CHECK_STR(c.token, "othertoken");

    struct aws_cred_options o = {.profile = "cfgonly"};
    CHECK_INT(get_once(&o, &c, &src, err, sizeof err), 0);
    CHECK_STR(c.access_key, "AKIDCONFIG");

    o.profile = "cfgnoprefix"; /* config sections need "profile " */
    CHECK_INT(get_once(&o, &c, &src, err, sizeof err), -1);
    CHECK(strstr(err, "not found") != NULL);

    o.profile = "assumer"; /* never fall through to another identity */
    CHECK_INT(get_once(&o, &c, &src, err, sizeof err), -1);
    CHECK(strstr(err, "role_arn is not supported") != NULL);

    o.profile = "halfkey";
    CHECK_INT(get_once(&o, &c, &src, err, sizeof err), -1);
    CHECK(strstr(err, "aws_secret_access_key") != NULL);

    /* "~/" in the file variable expands to $HOME */
    setenv("AWS_SHARED_CREDENTIALS_FILE", "~/credentials", 1);
    unsetenv("AWS_PROFILE");
    CHECK_INT(get_once(NULL, &c, &src, err, sizeof err), 0);
    CHECK_STR(c.access_key, "AKIDDEFAULT");

    /* environment wins over files */
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    CHECK_INT(get_once(NULL, &c, &src, err, sizeof err), 0);
    CHECK_INT(src, AWS_CRED_SRC_ENV);
    /* ...unless excluded by the source mask */
    o = (struct aws_cred_options){.sources = AWS_CRED_BIT(AWS_CRED_SRC_PROFILE)};
    CHECK_INT(get_once(&o, &c, &src, err, sizeof err), 0);
    CHECK_INT(src, AWS_CRED_SRC_PROFILE);
}

static void test_nothing_found(void)
{
    struct aws_creds c;
    enum aws_cred_source src;
    char err[512];
    clear_env(); /* IMDS disabled, no files */
    CHECK_INT(get_once(NULL, &c, &src, err, sizeof err), -1);
    CHECK(strstr(err, "no AWS credentials") != NULL);
    CHECK_INT(src, AWS_CRED_SRC_NONE);
}

static void test_region(void)
{
    char r[64];
    clear_env();
    CHECK_INT(aws_resolve_region(NULL, r, sizeof r), -1);
    setup_files();
    CHECK_INT(aws_resolve_region(NULL, r, sizeof r), 0);
    CHECK_STR(r, "eu-west-1");
    CHECK_INT(aws_resolve_region("cfgonly", r, sizeof r), 0);
    CHECK_STR(r, "ap-south-1");
    setenv("AWS_PROFILE", "cfgonly", 1);
    CHECK_INT(aws_resolve_region(NULL, r, sizeof r), 0);
    CHECK_STR(r, "ap-south-1");
    setenv("AWS_DEFAULT_REGION", "us-west-2", 1);
    CHECK_INT(aws_resolve_region(NULL, r, sizeof r), 0);
    CHECK_STR(r, "us-west-2");
    setenv("AWS_REGION", "us-east-2", 1);
    CHECK_INT(aws_resolve_region(NULL, r, sizeof r), 0);
    CHECK_STR(r, "us-east-2");
}

static void test_parsers(void)
{
    CHECK_INT(aws_parse_iso8601("2015-08-30T12:36:00Z"), 1440938160);
    CHECK_INT(aws_parse_iso8601("2015-08-30T12:36:00.123Z"), 1440938160);
    CHECK_INT(aws_parse_iso8601("2015-08-30T14:36:00+02:00"), 1440938160);
    CHECK_INT(aws_parse_iso8601("2015-08-30T12:36:00"), 1440938160);
    CHECK_INT(aws_parse_iso8601("2015-13-30T12:36:00Z"), 0);
    CHECK_INT(aws_parse_iso8601("yesterday"), 0);
    CHECK_INT(aws_parse_iso8601("2015-08-30T12:36:00Zjunk"), 0);

    char v[32];
    const char *xml = "<R><Code>A&amp;B&lt;&#67;&#x44;&gt;</Code><Empty></Empty><Long>0123456789012345678901234567890123</Long></R>";
    CHECK_INT(aws_xml_value(xml, "Code", v, sizeof v), 0);
    CHECK_STR(v, "A&B<CD>");
    CHECK_INT(aws_xml_value(xml, "Empty", v, sizeof v), 0);
    CHECK_STR(v, "");
    CHECK_INT(aws_xml_value(xml, "Missing", v, sizeof v), -1);
    CHECK_INT(aws_xml_value(xml, "Long", v, sizeof v), -1);
}

/* ---- network sources against the stub ------------------------------------ */

static struct pystub stub;

static void stub_config(const char *query)
{
    char buf[8192], path[256];
    snprintf(path, sizeof path, "/_config?%s", query);
    CHECK_INT(pystub_get(&stub, path, buf), 200);
}

static struct aws_cred_options imds_only(void)
{
    struct aws_cred_options o = {.sources = AWS_CRED_BIT(AWS_CRED_SRC_IMDS)};
    return o;
}

static void test_imds(void)
{
    char err[512], buf[8192];
    clear_env();
    unsetenv("AWS_EC2_METADATA_DISABLED");
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", stub.base, 1);
    /* the stub really requires the IMDSv2 token */
    CHECK_INT(pystub_get(&stub, "/latest/meta-data/iam/security-credentials/", buf), 401);
    stub_config("expire_in=3600&fail=0");
    long before = pystub_count(&stub, "imds_creds");
    struct aws_cred_options o = imds_only();
    struct aws_cred_provider *p = aws_cred_provider_new(&o);
    struct aws_creds c;
    CHECK_INT(aws_cred_get(p, &c, err, sizeof err), 0);
    CHECK_STR(err, "");
    CHECK_INT(aws_cred_provider_source(p), AWS_CRED_SRC_IMDS);
    CHECK_STR(c.access_key, "ASIAIMDS");
    CHECK_STR(c.secret_key, "IMDS-secret/+=");
    CHECK_STR(c.token, "IMDS-session-token");
    CHECK_INT(c.expiration, pystub_stat_int(&stub, "last_expiration"));
    CHECK_INT(aws_cred_get(p, &c, err, sizeof err), 0); /* cached: no request */
    CHECK_INT(pystub_count(&stub, "imds_creds"), before + 1);
    aws_cred_invalidate(p);
    CHECK_INT(aws_cred_get(p, &c, err, sizeof err), 0);
    CHECK_INT(pystub_count(&stub, "imds_creds"), before + 2);
    aws_cred_provider_destroy(p);

    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    p = aws_cred_provider_new(&o);
    CHECK_INT(aws_cred_get(p, &c, err, sizeof err), -1);
    aws_cred_provider_destroy(p);
}

/* Credentials expiring inside the refresh margin are fetched again on
 * every get; long-lived ones are served from the cache. */
static void test_refresh_before_expiry(void)
{
    char err[512];
    clear_env();
    unsetenv("AWS_EC2_METADATA_DISABLED");
    struct aws_cred_options o = imds_only();
    o.imds_endpoint = stub.base;
    o.refresh_margin_s = 300;
    struct aws_cred_provider *p = aws_cred_provider_new(&o);
    struct aws_creds c;
    stub_config("expire_in=200&fail=0"); /* 200 s < 300 s margin */
    long n0 = pystub_count(&stub, "imds_creds");
    CHECK_INT(aws_cred_get(p, &c, err, sizeof err), 0);
    CHECK_INT(aws_cred_get(p, &c, err, sizeof err), 0);
    CHECK_INT(pystub_count(&stub, "imds_creds"), n0 + 2);
    long left = (long)(c.expiration - time(NULL));
    CHECK(left > 190 && left <= 200);

    stub_config("expire_in=3600");
    CHECK_INT(aws_cred_get(p, &c, err, sizeof err), 0); /* refresh (old one was inside margin) */
    CHECK_INT(aws_cred_get(p, &c, err, sizeof err), 0); /* cached */
    CHECK_INT(aws_cred_get(p, &c, err, sizeof err), 0); /* cached */
    CHECK_INT(pystub_count(&stub, "imds_creds"), n0 + 3);
    aws_cred_provider_destroy(p);
}

/* A failed refresh keeps serving unexpired cached credentials and does not
 * hammer the endpoint. */
static void test_stale_fallback(void)
{
    char err[512];
    clear_env();
    unsetenv("AWS_EC2_METADATA_DISABLED");
    struct aws_cred_options o = imds_only();
    o.imds_endpoint = stub.base;
    struct aws_cred_provider *p = aws_cred_provider_new(&o);
    struct aws_creds c;
    stub_config("expire_in=200&fail=0");
    CHECK_INT(aws_cred_get(p, &c, err, sizeof err), 0);
    stub_config("fail=1");
    long n0 = pystub_count(&stub, "imds_creds");
    CHECK_INT(aws_cred_get(p, &c, err, sizeof err), 0);
    CHECK(strstr(err, "refresh failed") != NULL && strstr(err, "HTTP 500") != NULL);
    CHECK(strstr(err, "IMDS-secret") == NULL);
    CHECK_STR(c.access_key, "ASIAIMDS");
    CHECK_INT(aws_cred_get(p, &c, err, sizeof err), 0); /* within the 10 s retry pause */
    CHECK_INT(pystub_count(&stub, "imds_creds"), n0 + 1);
    aws_cred_invalidate(p); /* invalidated + failing endpoint = hard error */
    CHECK_INT(aws_cred_get(p, &c, err, sizeof err), -1);
    stub_config("fail=0");
    aws_cred_provider_destroy(p);
}

struct race {
    struct aws_cred_provider *p;
    int rc;
    char key[128];
};

static void *race_get(void *arg)
{
    struct race *r = arg;
    struct aws_creds c;
    char err[256];
    r->rc = aws_cred_get(r->p, &c, err, sizeof err);
    memcpy(r->key, c.access_key, sizeof r->key);
    return NULL;
}

static void test_concurrent(void)
{
    clear_env();
    unsetenv("AWS_EC2_METADATA_DISABLED");
    stub_config("expire_in=3600&fail=0");
    struct aws_cred_options o = imds_only();
    o.imds_endpoint = stub.base;
    struct aws_cred_provider *p = aws_cred_provider_new(&o);
    long n0 = pystub_count(&stub, "imds_creds");
    pthread_t t[8];
    struct race r[8];
    for (int i = 0; i < 8; i++) {
        r[i].p = p;
        pthread_create(&t[i], NULL, race_get, &r[i]);
    }
    int ok = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        ok += r[i].rc == 0 && strcmp(r[i].key, "ASIAIMDS") == 0;
    }
    CHECK_INT(ok, 8);
    CHECK_INT(pystub_count(&stub, "imds_creds"), n0 + 1);
    aws_cred_provider_destroy(p);
}

static void test_container(void)
{
    struct aws_creds c;
    enum aws_cred_source src;
    char err[512], url[256];
    clear_env();
    struct aws_cred_options o = {.container_endpoint = stub.base};
    setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/ecs/relative", 1);
    CHECK_INT(get_once(&o, &c, &src, err, sizeof err), 0);
    CHECK_INT(src, AWS_CRED_SRC_CONTAINER);
    CHECK_STR(c.access_key, "ASIAECSREL");
    CHECK_INT(c.expiration, pystub_stat_int(&stub, "last_expiration"));

    unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    snprintf(url, sizeof url, "%s/ecs/full", stub.base);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "stub-container-token", 1);
    CHECK_INT(get_once(NULL, &c, &src, err, sizeof err), 0);
    CHECK_STR(c.access_key, "ASIAECSFULL");
    CHECK_STR(c.token, "ECSFULL-session-token");
    CHECK_INT(c.expiration, pystub_stat_int(&stub, "last_expiration")); /* ".123Z" form */

    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong", 1);
    CHECK_INT(get_once(NULL, &c, &src, err, sizeof err), -1);
    CHECK(strstr(err, "HTTP 401") != NULL);

    /* the token file wins over the variable (EKS Pod Identity style) */
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tmp_file("eks-token", "stub-container-token\n"), 1);
    CHECK_INT(get_once(NULL, &c, &src, err, sizeof err), 0);
    CHECK_STR(c.access_key, "ASIAECSFULL");

    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://198.51.100.7/creds", 1);
    CHECK_INT(get_once(NULL, &c, &src, err, sizeof err), -1);
    CHECK(strstr(err, "FULL_URI") != NULL);
}

static void test_web_identity(void)
{
    struct aws_creds c;
    enum aws_cred_source src;
    char err[512], session[128];
    clear_env();
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tmp_file("web-token", "stub-web-token\n"), 1);
    setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/stub", 1);
    setenv("AWS_ROLE_SESSION_NAME", "siem-test", 1);
    setenv("AWS_ENDPOINT_URL_STS", stub.base, 1);
    long n0 = pystub_count(&stub, "sts");
    CHECK_INT(get_once(NULL, &c, &src, err, sizeof err), 0);
    CHECK_INT(src, AWS_CRED_SRC_WEB_IDENTITY);
    CHECK_STR(c.access_key, "ASIASTS");
    CHECK_STR(c.secret_key, "sts-secret");
    CHECK_STR(c.token, "sts-session&token");
    CHECK_INT(c.expiration, pystub_stat_int(&stub, "last_expiration"));
    pystub_stat_str(&stub, "last_session_name", session, sizeof session);
    CHECK_STR(session, "siem-test");
    CHECK_INT(pystub_count(&stub, "sts"), n0 + 1);

    /* endpoint from the options instead of the environment */
    unsetenv("AWS_ENDPOINT_URL_STS");
    unsetenv("AWS_ROLE_SESSION_NAME");
    struct aws_cred_options o = {.sts_endpoint = stub.base};
    CHECK_INT(get_once(&o, &c, &src, err, sizeof err), 0);
    pystub_stat_str(&stub, "last_session_name", session, sizeof session);
    CHECK(strncmp(session, "siemproc-", 9) == 0);

    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tmp_file("bad-token", "not-the-token"), 1);
    CHECK_INT(get_once(&o, &c, &src, err, sizeof err), -1);
    CHECK(strstr(err, "InvalidIdentityToken") != NULL && strstr(err, "HTTP 400") != NULL);
    CHECK(strstr(err, "not-the-token") == NULL);

    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token", 1);
    CHECK_INT(get_once(&o, &c, &src, err, sizeof err), -1);
    CHECK(strstr(err, "token file") != NULL);
}

static void test_network(void)
{
    if (pystub_start(&stub, "tests/unit/aws_metadata_stub.py") != 0) {
        CHECK(!"aws_metadata_stub.py did not start (python3 needed)");
        return;
    }
    test_imds();
    test_refresh_before_expiry();
    test_stale_fallback();
    test_concurrent();
    test_container();
    test_web_identity();
    pystub_stop(&stub);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/siemproc-credtest-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_parsers();
    test_env();
    test_profiles();
    test_nothing_found();
    test_region();
    test_network();
    remove_tmpdir();
    return tl_done();
}
