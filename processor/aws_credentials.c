/* aws_credentials.c - the standard AWS credential chain, cached and refreshed.
 *
 * Owns: the provider cache and its lock, one fetch function per source, the
 * shared-file (INI) reader, region resolution and the ISO 8601 / XML helpers.
 * Must never: write secrets to err or logs, fall through to another source
 * when a configured source fails (that could silently switch identity), or
 * use proxies for link-local metadata endpoints.
 *
 * Memory: the provider owns copies of its option strings; fetchers fill a
 * caller-provided struct aws_creds and free everything else they allocate.
 * Temporary buffers holding tokens are wiped before being freed. */
#include "aws_credentials.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "http_client.h"

#define DEFAULT_MARGIN_S 300
#define DEFAULT_CONNECT_MS 1000L
#define DEFAULT_TIMEOUT_MS 3000L
#define STS_MIN_TIMEOUT_MS 10000L
#define STS_CONNECT_MS 3000L
#define FAILED_REFRESH_RETRY_S 10
#define MAX_BODY (64 * 1024)
#define MAX_TOKEN_FILE (32 * 1024)
#define IMDS_DEFAULT "http://169.254.169.254"
#define IMDS_DEFAULT_V6 "http://[fd00:ec2::254]"
#define ECS_DEFAULT "http://169.254.170.2"
#define SKIP 1 /* fetch result: source not configured */

struct aws_cred_provider {
    pthread_mutex_t lock;
    char *profile;
    bool profile_explicit;
    char *region, *sts_endpoint, *imds_endpoint, *container_endpoint;
    unsigned sources;
    int margin_s;
    long connect_ms, timeout_ms;
    /* cache, under lock */
    struct aws_creds cached;
    bool have, invalid;
    enum aws_cred_source source;
    time_t retry_after;
};

/* ---- small helpers ------------------------------------------------------ */

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t n, const char *fmt, ...)
{
    if (err && n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static bool set(const char *s) { return s && *s; }

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static int copy_field(char *dst, size_t n, const char *src)
{
    size_t len = src ? strlen(src) : 0;
    if (len >= n)
        return -1;
    memcpy(dst, src ? src : "", len + 1);
    return 0;
}

static void trim_end(char *s)
{
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    trim_end(s);
    return s;
}

/* Whole small file, trailing whitespace trimmed; NULL if unreadable/too big. */
static char *read_small_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(MAX_TOKEN_FILE + 1);
    size_t n = buf ? fread(buf, 1, MAX_TOKEN_FILE + 1, f) : 0;
    fclose(f);
    if (!buf || n > MAX_TOKEN_FILE) {
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    trim_end(buf);
    return buf;
}

static bool has_crlf(const char *s) { return strpbrk(s, "\r\n") != NULL; }

/* ---- ISO 8601 and XML --------------------------------------------------- */

static int zone_offset(const char *z, long *off)
{
    int oh, om;
    if (*z == 0 || ((*z == 'Z' || *z == 'z') && z[1] == 0)) {
        *off = 0;
        return 0;
    }
    if ((*z != '+' && *z != '-') || sscanf(z + 1, "%2d:%2d", &oh, &om) != 2 || strlen(z) != 6)
        return -1;
    *off = (oh * 3600L + om * 60L) * (*z == '+' ? 1 : -1);
    return 0;
}

time_t aws_parse_iso8601(const char *s)
{
    struct tm tm = {0};
    int used = 0;
    long off = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6)
        return 0;
    const char *rest = s + used;
    if (*rest == '.')
        for (rest++; isdigit((unsigned char)*rest); rest++)
            ;
    if (zone_offset(rest, &off) != 0 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
        tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    return t == (time_t)-1 ? 0 : t - off;
}

static size_t utf8_put(unsigned long cp, char *o)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decode one entity at s ('&'); writes to o, returns bytes consumed (0 = not an entity). */
static size_t xml_entity(const char *s, const char *end, char *o, size_t *olen)
{
    static const struct { const char *name; char c; } named[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        size_t l = strlen(named[i].name);
        if ((size_t)(end - s) >= l && strncmp(s, named[i].name, l) == 0) {
            o[0] = named[i].c;
            *olen = 1;
            return l;
        }
    }
    const char *semi = memchr(s, ';', (size_t)(end - s));
    if (!semi || s[1] != '#' || semi - s > 10)
        return 0;
    char *stop;
    unsigned long cp = (s[2] == 'x' || s[2] == 'X') ? strtoul(s + 3, &stop, 16) : strtoul(s + 2, &stop, 10);
    if (stop != semi || cp == 0 || cp > 0x10FFFF)
        return 0;
    *olen = utf8_put(cp, o);
    return (size_t)(semi - s) + 1;
}

static int xml_unescape(const char *s, const char *end, char *out, size_t n)
{
    size_t o = 0;
    while (s < end) {
        char tmp[4];
        size_t tl = 1, used = *s == '&' ? xml_entity(s, end, tmp, &tl) : 0;
        if (!used) {
            tmp[0] = *s;
            used = 1;
            tl = 1;
        }
        if (o + tl >= n)
            return -1;
        memcpy(out + o, tmp, tl);
        o += tl;
        s += used;
    }
    if (n == 0)
        return -1;
    out[o] = 0;
    return 0;
}

int aws_xml_value(const char *xml, const char *tag, char *out, size_t outlen)
{
    char open[128], close[130];
    if (!xml || !tag || snprintf(open, sizeof open, "<%s>", tag) >= (int)sizeof open)
        return -1;
    snprintf(close, sizeof close, "</%s>", tag);
    const char *s = strstr(xml, open);
    if (!s)
        return -1;
    s += strlen(open);
    const char *e = strstr(s, close);
    return e ? xml_unescape(s, e, out, outlen) : -1;
}

/* ---- HTTP --------------------------------------------------------------- */

struct http_req {
    const char *method; /* "GET", "PUT" or "POST" */
    const char *url;
    const char *headers[3];
    const char *body;  /* POST/PUT body or NULL */
    long connect_ms, timeout_ms;
    bool no_proxy;
};

struct http_resp {
    long status;
    char *body; /* NUL-terminated, caller frees */
    size_t len;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct http_resp *r = arg;
    size_t n = size * nmemb;
    if (r->len + n > MAX_BODY)
        return 0;
    char *b = realloc(r->body, r->len + n + 1);
    if (!b)
        return 0;
    memcpy(b + r->len, ptr, n);
    r->len += n;
    b[r->len] = 0;
    r->body = b;
    return n;
}

/* Performs one request on a connection of its own. Returns 0 when an HTTP
 * response arrived (any status). */
static int http_do(const struct http_req *q, struct http_resp *r, char *err, size_t n)
{
    memset(r, 0, sizeof *r);
    struct http_conn c;
    struct http_conn_opts co = {.connect_ms = q->connect_ms, .timeout_ms = q->timeout_ms};
    if (http_conn_open(&c, &co, err, n) != 0) {
        http_conn_close(&c);
        return -1;
    }
    struct curl_slist *hl = curl_slist_append(NULL, "Expect:");
    for (size_t i = 0; i < 3 && q->headers[i]; i++)
        hl = curl_slist_append(hl, q->headers[i]);
    char ebuf[CURL_ERROR_SIZE] = "";
    /* A PUT or POST without a body still sends one, empty (IMDSv2's token PUT). */
    const char *body = q->body || strcmp(q->method, "GET") == 0 ? q->body : "";
    struct http_request rq = {.url = q->url, .method = q->method, .headers = hl, .body = body,
                              .body_len = body ? strlen(body) : 0, .on_body = on_body, .body_arg = r,
                              .errbuf = ebuf};
    http_prepare(&c, &rq);
    if (q->no_proxy)
        curl_easy_setopt(c.h, CURLOPT_NOPROXY, "*");
    CURLcode rc = curl_easy_perform(c.h);
    curl_easy_getinfo(c.h, CURLINFO_RESPONSE_CODE, &r->status);
    http_conn_close(&c);
    curl_slist_free_all(hl);
    if (rc != CURLE_OK) {
        free(r->body);
        r->body = NULL;
        return fail(err, n, "%s %s: %s", q->method, q->url, ebuf[0] ? ebuf : curl_easy_strerror(rc));
    }
    if (!r->body)
        r->body = strdup("");
    return r->body ? 0 : fail(err, n, "out of memory");
}

static void http_free(struct http_resp *r)
{
    http_free_secret(r->body);
    r->body = NULL;
}

/* "Header: value" in a fresh buffer (caller frees), or NULL. */
static char *header_line(const char *name, const char *value)
{
    size_t len = strlen(name) + strlen(value) + 3;
    char *s = malloc(len);
    if (s)
        snprintf(s, len, "%s: %s", name, value);
    return s;
}

/* ---- credential documents ----------------------------------------------- */

/* ECS / EKS / IMDS JSON: AccessKeyId, SecretAccessKey, Token, Expiration. */
static int parse_json_creds(const char *body, struct aws_creds *out, const char *who, char *err, size_t n)
{
    json_t *j = json_loads(body, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return fail(err, n, "%s: response is not a JSON object", who);
    }
    const char *code = json_string_value(json_object_get(j, "Code"));
    const char *ak = json_string_value(json_object_get(j, "AccessKeyId"));
    const char *sk = json_string_value(json_object_get(j, "SecretAccessKey"));
    const char *tok = json_string_value(json_object_get(j, "Token"));
    const char *exp = json_string_value(json_object_get(j, "Expiration"));
    int rc = 0;
    if (code && strcmp(code, "Success") != 0)
        rc = fail(err, n, "%s: Code=%.64s", who, code);
    else if (!set(ak) || !set(sk))
        rc = fail(err, n, "%s: AccessKeyId/SecretAccessKey missing", who);
    else if (copy_field(out->access_key, sizeof out->access_key, ak) ||
             copy_field(out->secret_key, sizeof out->secret_key, sk) ||
             copy_field(out->token, sizeof out->token, tok))
        rc = fail(err, n, "%s: credential field too long", who);
    else if (exp && (out->expiration = aws_parse_iso8601(exp)) == 0)
        rc = fail(err, n, "%s: bad Expiration '%.40s'", who, exp);
    json_decref(j);
    return rc;
}

/* STS XML: <Credentials><AccessKeyId/>...<Expiration/></Credentials>. */
static int parse_sts_creds(const char *xml, struct aws_creds *out, char *err, size_t n)
{
    char exp[64];
    if (aws_xml_value(xml, "AccessKeyId", out->access_key, sizeof out->access_key) ||
        aws_xml_value(xml, "SecretAccessKey", out->secret_key, sizeof out->secret_key) ||
        aws_xml_value(xml, "SessionToken", out->token, sizeof out->token) ||
        aws_xml_value(xml, "Expiration", exp, sizeof exp))
        return fail(err, n, "sts: credentials missing from AssumeRoleWithWebIdentity response");
    out->expiration = aws_parse_iso8601(exp);
    return out->expiration ? 0 : fail(err, n, "sts: bad Expiration '%.40s'", exp);
}

/* ---- environment -------------------------------------------------------- */

static int from_env(struct aws_cred_provider *p, struct aws_creds *out, char *err, size_t n)
{
    (void)p;
    const char *ak = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");
    if (!set(ak) && !set(sk))
        return SKIP;
    if (!set(ak) || !set(sk))
        return fail(err, n, "env: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must both be set");
    if (copy_field(out->access_key, sizeof out->access_key, ak) ||
        copy_field(out->secret_key, sizeof out->secret_key, sk) ||
        copy_field(out->token, sizeof out->token, getenv("AWS_SESSION_TOKEN")))
        return fail(err, n, "env: credential variable too long");
    return 0;
}

/* ---- shared files ------------------------------------------------------- */

struct profile_vals {
    bool found; /* section present */
    char ak[128], sk[128], token[4096], region[64];
    char unsupported[32]; /* a credential key this module does not implement */
    bool too_long;
};

/* File path from env (with "~/" expanded) or ~/.aws/<name>. */
static int aws_file_path(const char *env, const char *name, char *out, size_t n)
{
    const char *v = getenv(env), *home = getenv("HOME");
    int w;
    if (set(v) && strncmp(v, "~/", 2) != 0)
        w = snprintf(out, n, "%s", v);
    else if (set(v) && set(home))
        w = snprintf(out, n, "%s/%s", home, v + 2);
    else if (set(home))
        w = snprintf(out, n, "%s/.aws/%s", home, name);
    else
        return -1;
    return (w < 0 || (size_t)w >= n) ? -1 : 0;
}

/* "[name]" in credentials; "[profile name]" (or "[default]") in config. */
static bool section_matches(char *sec, const char *profile, bool config)
{
    if (!config || strcmp(sec, "default") == 0)
        return strcmp(sec, profile) == 0;
    if (strncmp(sec, "profile", 7) != 0 || !isspace((unsigned char)sec[7]))
        return false;
    return strcmp(trim(sec + 7), profile) == 0;
}

static void profile_set(struct profile_vals *v, const char *key, const char *val)
{
    struct { const char *key; char *dst; size_t n; } map[] = {
        {"aws_access_key_id", v->ak, sizeof v->ak},
        {"aws_secret_access_key", v->sk, sizeof v->sk},
        {"aws_session_token", v->token, sizeof v->token},
        {"region", v->region, sizeof v->region}};
    static const char *const unsupported[] = {"role_arn", "source_profile", "credential_process",
                                              "sso_session", "sso_start_url", "web_identity_token_file"};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcasecmp(key, map[i].key) == 0 && copy_field(map[i].dst, map[i].n, val) != 0)
            v->too_long = true;
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++)
        if (strcasecmp(key, unsupported[i]) == 0 && !v->unsupported[0])
            snprintf(v->unsupported, sizeof v->unsupported, "%s", unsupported[i]);
}

/* One INI line; *in tracks whether we are in the wanted section,
 * *nested whether indented lines belong to a "key =" sub-section. */
static void ini_line(char *line, const char *profile, bool config, struct profile_vals *v, bool *in,
                     bool *nested)
{
    bool indented = isspace((unsigned char)line[0]);
    char *s = trim(line);
    if (!*s || *s == '#' || *s == ';' || (indented && *nested))
        return;
    if (*s == '[') {
        char *close = strchr(s, ']');
        if (close)
            *close = 0;
        *in = close && section_matches(trim(s + 1), profile, config);
        v->found |= *in;
        *nested = false;
        return;
    }
    char *eq = strchr(s, '=');
    if (!*in || !eq)
        return;
    *eq = 0;
    char *val = trim(eq + 1);
    *nested = *val == 0;
    profile_set(v, trim(s), val);
}

static void read_profile(const char *path, const char *profile, bool config, struct profile_vals *v)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[8192];
    bool in = false, nested = false;
    while (fgets(line, sizeof line, f))
        ini_line(line, profile, config, v, &in, &nested);
    fclose(f);
}

static void load_profile(const char *profile, struct profile_vals *cred, struct profile_vals *conf)
{
    char path[4096];
    memset(cred, 0, sizeof *cred);
    memset(conf, 0, sizeof *conf);
    if (aws_file_path("AWS_SHARED_CREDENTIALS_FILE", "credentials", path, sizeof path) == 0)
        read_profile(path, profile, false, cred);
    if (aws_file_path("AWS_CONFIG_FILE", "config", path, sizeof path) == 0)
        read_profile(path, profile, true, conf);
}

static int profile_creds(const struct profile_vals *v, struct aws_creds *out)
{
    memcpy(out->access_key, v->ak, sizeof v->ak);
    memcpy(out->secret_key, v->sk, sizeof v->sk);
    memcpy(out->token, v->token, sizeof v->token);
    return 0;
}

static int from_profile(struct aws_cred_provider *p, struct aws_creds *out, char *err, size_t n)
{
    struct profile_vals cred, conf;
    int rc;
    load_profile(p->profile, &cred, &conf);
    if (cred.too_long || conf.too_long)
        rc = fail(err, n, "profile %s: value too long", p->profile);
    else if (cred.ak[0] && cred.sk[0])
        rc = profile_creds(&cred, out);
    else if (conf.ak[0] && conf.sk[0])
        rc = profile_creds(&conf, out);
    else if (cred.ak[0] || cred.sk[0] || conf.ak[0] || conf.sk[0])
        rc = fail(err, n, "profile %s: needs both aws_access_key_id and aws_secret_access_key",
                  p->profile);
    else if (cred.unsupported[0] || conf.unsupported[0])
        rc = fail(err, n, "profile %s: %s is not supported; use static keys, web identity "
                          "environment variables, the container endpoint or IMDS",
                  p->profile, cred.unsupported[0] ? cred.unsupported : conf.unsupported);
    else if (p->profile_explicit && !cred.found && !conf.found)
        rc = fail(err, n, "profile %s not found in the shared credentials/config files", p->profile);
    else
        rc = SKIP;
    OPENSSL_cleanse(&cred, sizeof cred);
    OPENSSL_cleanse(&conf, sizeof conf);
    return rc;
}

int aws_resolve_region(const char *profile, char *out, size_t outlen)
{
    const char *env = getenv("AWS_REGION");
    if (!set(env))
        env = getenv("AWS_DEFAULT_REGION");
    if (set(env))
        return copy_field(out, outlen, env);
    const char *prof = set(profile) ? profile : getenv("AWS_PROFILE");
    struct profile_vals cred, conf;
    load_profile(set(prof) ? prof : "default", &cred, &conf);
    int rc = conf.region[0] ? copy_field(out, outlen, conf.region) : -1;
    OPENSSL_cleanse(&cred, sizeof cred);
    OPENSSL_cleanse(&conf, sizeof conf);
    return rc;
}

/* ---- web identity (STS AssumeRoleWithWebIdentity) ----------------------- */

static int sts_url(const struct aws_cred_provider *p, char *out, size_t n)
{
    const char *ep = set(p->sts_endpoint) ? p->sts_endpoint : getenv("AWS_ENDPOINT_URL_STS");
    char buf[64];
    const char *region = p->region;
    if (!set(region))
        region = aws_resolve_region(p->profile, buf, sizeof buf) == 0 ? buf : NULL;
    int w;
    if (set(ep))
        w = snprintf(out, n, "%s%s", ep, ep[strlen(ep) - 1] == '/' ? "" : "/");
    else if (region)
        w = snprintf(out, n, "https://sts.%s.amazonaws.com%s/", region,
                     strncmp(region, "cn-", 3) == 0 ? ".cn" : "");
    else
        w = snprintf(out, n, "https://sts.amazonaws.com/");
    return (w < 0 || (size_t)w >= n) ? -1 : 0;
}

static void form_add(char **body, size_t *len, const char *key, const char *val)
{
    char *enc = sigv4_uri_encode(val, strlen(val), false);
    size_t need = *len + strlen(key) + (enc ? strlen(enc) : 0) + 3;
    char *b = enc && *body ? realloc(*body, need) : NULL;
    if (!b) {
        free(enc);
        http_free_secret(*body);
        *body = NULL;
        return;
    }
    *len += (size_t)snprintf(b + *len, need - *len, "%s%s=%s", *len ? "&" : "", key, enc);
    http_free_secret(enc);
    *body = b;
}

static char *sts_body(const char *role, const char *session, const char *token)
{
    size_t len = 0;
    char *body = calloc(1, 1);
    form_add(&body, &len, "Action", "AssumeRoleWithWebIdentity");
    form_add(&body, &len, "Version", "2011-06-15");
    form_add(&body, &len, "RoleArn", role);
    form_add(&body, &len, "RoleSessionName", session);
    form_add(&body, &len, "WebIdentityToken", token);
    return body;
}

static int sts_error(const struct http_resp *r, char *err, size_t n)
{
    char code[128] = "", msg[256] = "";
    aws_xml_value(r->body, "Code", code, sizeof code);
    aws_xml_value(r->body, "Message", msg, sizeof msg);
    return fail(err, n, "sts: AssumeRoleWithWebIdentity HTTP %ld %s%s%s", r->status, code,
                msg[0] ? ": " : "", msg);
}

static int sts_call(const struct aws_cred_provider *p, const char *body, struct aws_creds *out,
                    char *err, size_t n)
{
    char url[2048];
    if (sts_url(p, url, sizeof url) != 0)
        return fail(err, n, "sts: endpoint URL too long");
    struct http_req q = {.method = "POST", .url = url, .body = body,
                         .headers = {"Content-Type: application/x-www-form-urlencoded"},
                         .connect_ms = p->connect_ms > STS_CONNECT_MS ? p->connect_ms : STS_CONNECT_MS,
                         .timeout_ms = p->timeout_ms > STS_MIN_TIMEOUT_MS ? p->timeout_ms : STS_MIN_TIMEOUT_MS};
    struct http_resp r;
    if (http_do(&q, &r, err, n) != 0)
        return -1;
    int rc = r.status == 200 ? parse_sts_creds(r.body, out, err, n) : sts_error(&r, err, n);
    http_free(&r);
    return rc;
}

static int from_web_identity(struct aws_cred_provider *p, struct aws_creds *out, char *err, size_t n)
{
    const char *file = getenv("AWS_WEB_IDENTITY_TOKEN_FILE"), *role = getenv("AWS_ROLE_ARN");
    if (!set(file) || !set(role))
        return SKIP;
    char *token = read_small_file(file);
    if (!token || !*token) {
        free(token);
        return fail(err, n, "web identity: cannot read token file %s", file);
    }
    char session[128];
    const char *name = getenv("AWS_ROLE_SESSION_NAME");
    if (set(name))
        snprintf(session, sizeof session, "%s", name);
    else
        snprintf(session, sizeof session, "siemproc-%ld", (long)time(NULL));
    char *body = sts_body(role, session, token);
    http_free_secret(token);
    if (!body)
        return fail(err, n, "out of memory");
    int rc = sts_call(p, body, out, err, n);
    http_free_secret(body);
    return rc;
}

/* ---- ECS / EKS container endpoint --------------------------------------- */

/* FULL_URI must be https, loopback, or one of the ECS/EKS link-local hosts. */
static bool full_uri_allowed(const char *uri)
{
    struct http_url u;
    bool ok = false;
    if (http_url_split(uri, &u) == HTTP_URL_OK) {
        const char *host = u.host;
        ok = strcasecmp(u.scheme, "https") == 0 ||
             strcasecmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 ||
             strcmp(host, "[::1]") == 0 || strcmp(host, "169.254.170.2") == 0 ||
             strcmp(host, "169.254.170.23") == 0 || strcasecmp(host, "[fd00:ec2::23]") == 0;
    }
    http_url_free(&u);
    return ok;
}

/* Authorization value from the token file (preferred) or variable; NULL = none. */
static int container_auth(char **out, char *err, size_t n)
{
    const char *file = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *tok = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    *out = NULL;
    if (set(file)) {
        char *t = read_small_file(file);
        if (!t)
            return fail(err, n, "container: cannot read %s", file);
        *out = header_line("Authorization", t);
        http_free_secret(t);
    } else if (set(tok)) {
        *out = header_line("Authorization", tok);
    } else {
        return 0;
    }
    if (!*out || has_crlf(*out)) {
        http_free_secret(*out);
        *out = NULL;
        return fail(err, n, "container: invalid authorization token");
    }
    return 0;
}

static int container_url(const struct aws_cred_provider *p, char *url, size_t n, char *err, size_t en)
{
    const char *rel = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    int w;
    if (set(rel))
        w = snprintf(url, n, "%s%s", set(p->container_endpoint) ? p->container_endpoint : ECS_DEFAULT, rel);
    else if (!full_uri_allowed(full))
        return fail(err, en, "container: AWS_CONTAINER_CREDENTIALS_FULL_URI must be https or a loopback/ECS/EKS host");
    else
        w = snprintf(url, n, "%s", full);
    return (w < 0 || (size_t)w >= n) ? fail(err, en, "container: URI too long") : 0;
}

static int from_container(struct aws_cred_provider *p, struct aws_creds *out, char *err, size_t n)
{
    if (!set(getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) &&
        !set(getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI")))
        return SKIP;
    char url[2048], *auth = NULL;
    if (container_url(p, url, sizeof url, err, n) != 0 || container_auth(&auth, err, n) != 0)
        return -1;
    struct http_req q = {.method = "GET", .url = url, .headers = {auth}, .no_proxy = true,
                         .connect_ms = p->connect_ms, .timeout_ms = p->timeout_ms};
    struct http_resp r;
    int rc = http_do(&q, &r, err, n);
    http_free_secret(auth);
    if (rc != 0)
        return -1;
    if (r.status != 200)
        rc = fail(err, n, "container: %s returned HTTP %ld", url, r.status);
    else
        rc = parse_json_creds(r.body, out, "container", err, n);
    http_free(&r);
    return rc;
}

/* ---- EC2 instance metadata (IMDSv2) ------------------------------------- */

static void imds_base(const struct aws_cred_provider *p, char *out, size_t n)
{
    const char *ep = set(p->imds_endpoint) ? p->imds_endpoint : getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    const char *mode = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
    if (!set(ep))
        ep = (mode && strcasecmp(mode, "IPv6") == 0) ? IMDS_DEFAULT_V6 : IMDS_DEFAULT;
    snprintf(out, n, "%s", ep);
    size_t len = strlen(out);
    while (len && out[len - 1] == '/')
        out[--len] = 0;
}

/* GET/PUT base+path with one header; 200 body in *body (caller frees). */
static int imds_call(const struct aws_cred_provider *p, const char *method, const char *path,
                     const char *header, char **body, char *err, size_t n)
{
    char base[1024], url[1400];
    imds_base(p, base, sizeof base);
    snprintf(url, sizeof url, "%s%s", base, path);
    struct http_req q = {.method = method, .url = url, .headers = {header}, .no_proxy = true,
                         .connect_ms = p->connect_ms, .timeout_ms = p->timeout_ms};
    struct http_resp r;
    *body = NULL;
    if (http_do(&q, &r, err, n) != 0)
        return -1;
    if (r.status != 200) {
        http_free(&r);
        return fail(err, n, "imds: %s %s returned HTTP %ld", method, path, r.status);
    }
    *body = r.body;
    return 0;
}

static bool role_name_ok(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("+=,.@_-", *s))
            return false;
    return true;
}

static int imds_role(const struct aws_cred_provider *p, const char *auth, char *role, size_t rn,
                     char *err, size_t n)
{
    char *body = NULL;
    if (imds_call(p, "GET", "/latest/meta-data/iam/security-credentials/", auth, &body, err, n) != 0)
        return -1;
    char *nl = strpbrk(body, "\r\n");
    if (nl)
        *nl = 0;
    char *name = trim(body);
    int rc = (role_name_ok(name) && copy_field(role, rn, name) == 0)
                 ? 0 : fail(err, n, "imds: no usable instance profile role");
    free(body);
    return rc;
}

static int from_imds(struct aws_cred_provider *p, struct aws_creds *out, char *err, size_t n)
{
    const char *off = getenv("AWS_EC2_METADATA_DISABLED");
    if (off && strcasecmp(off, "true") == 0)
        return SKIP;
    char *token = NULL, *auth = NULL, *body = NULL, role[256], path[512];
    int rc = imds_call(p, "PUT", "/latest/api/token", "X-aws-ec2-metadata-token-ttl-seconds: 21600",
                       &token, err, n);
    if (rc == 0) {
        trim_end(token);
        auth = header_line("X-aws-ec2-metadata-token", token);
        rc = (!auth || has_crlf(token) || !*token) ? fail(err, n, "imds: bad session token") : 0;
    }
    if (rc == 0)
        rc = imds_role(p, auth, role, sizeof role, err, n);
    if (rc == 0) {
        snprintf(path, sizeof path, "/latest/meta-data/iam/security-credentials/%s", role);
        rc = imds_call(p, "GET", path, auth, &body, err, n);
    }
    if (rc == 0)
        rc = parse_json_creds(body, out, "imds", err, n);
    http_free_secret(token);
    http_free_secret(auth);
    http_free_secret(body);
    return rc;
}

/* ---- chain and cache ---------------------------------------------------- */

typedef int (*fetch_fn)(struct aws_cred_provider *, struct aws_creds *, char *, size_t);

static const struct {
    enum aws_cred_source src;
    fetch_fn fetch;
} chain[] = {
    {AWS_CRED_SRC_ENV, from_env},
    {AWS_CRED_SRC_WEB_IDENTITY, from_web_identity},
    {AWS_CRED_SRC_PROFILE, from_profile},
    {AWS_CRED_SRC_CONTAINER, from_container},
    {AWS_CRED_SRC_IMDS, from_imds},
};

/* First configured source wins; its failure is final (no identity switch). */
static int resolve(struct aws_cred_provider *p, struct aws_creds *out, enum aws_cred_source *src,
                   char *err, size_t n)
{
    for (size_t i = 0; i < sizeof chain / sizeof chain[0]; i++) {
        if (p->sources && !(p->sources & AWS_CRED_BIT(chain[i].src)))
            continue;
        memset(out, 0, sizeof *out);
        int rc = chain[i].fetch(p, out, err, n);
        if (rc == SKIP)
            continue;
        if (rc == 0)
            *src = chain[i].src;
        return rc;
    }
    return fail(err, n, "no AWS credentials found (environment, web identity, profile %s, "
                        "container, IMDS)", p->profile);
}

static bool still_valid(const struct aws_cred_provider *p, time_t now)
{
    return p->have && !p->invalid && (p->cached.expiration == 0 || now < p->cached.expiration);
}

static bool fresh(const struct aws_cred_provider *p, time_t now)
{
    return still_valid(p, now) &&
           (p->cached.expiration == 0 || now < p->cached.expiration - p->margin_s);
}

/* Called with the lock held. */
static int refresh(struct aws_cred_provider *p, time_t now, char *err, size_t n)
{
    if (still_valid(p, now) && now < p->retry_after)
        return 0;
    struct aws_creds c;
    enum aws_cred_source src = AWS_CRED_SRC_NONE;
    char why[512] = "";
    int rc = resolve(p, &c, &src, why, sizeof why);
    if (rc == 0) {
        p->cached = c;
        p->have = true;
        p->invalid = false;
        p->source = src;
        p->retry_after = 0;
    } else if (still_valid(p, now)) {
        p->retry_after = now + FAILED_REFRESH_RETRY_S;
        fail(err, n, "credential refresh failed (%s); using cached %s credentials for %ld more s",
             why, aws_cred_source_name(p->source), (long)(p->cached.expiration - now));
        rc = 0;
    } else {
        fail(err, n, "%s", why);
    }
    OPENSSL_cleanse(&c, sizeof c);
    return rc;
}

int aws_cred_get(struct aws_cred_provider *p, struct aws_creds *out, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = 0;
    if (!p || !out)
        return fail(err, errlen, "no credential provider");
    pthread_mutex_lock(&p->lock);
    time_t now = time(NULL);
    int rc = fresh(p, now) ? 0 : refresh(p, now, err, errlen);
    if (rc == 0)
        *out = p->cached;
    pthread_mutex_unlock(&p->lock);
    return rc;
}

void aws_cred_invalidate(struct aws_cred_provider *p)
{
    pthread_mutex_lock(&p->lock);
    p->invalid = true;
    p->retry_after = 0;
    pthread_mutex_unlock(&p->lock);
}

enum aws_cred_source aws_cred_provider_source(struct aws_cred_provider *p)
{
    pthread_mutex_lock(&p->lock);
    enum aws_cred_source s = p->have ? p->source : AWS_CRED_SRC_NONE;
    pthread_mutex_unlock(&p->lock);
    return s;
}

const char *aws_cred_source_name(enum aws_cred_source src)
{
    switch (src) {
    case AWS_CRED_SRC_ENV: return "environment";
    case AWS_CRED_SRC_WEB_IDENTITY: return "web-identity";
    case AWS_CRED_SRC_PROFILE: return "profile";
    case AWS_CRED_SRC_CONTAINER: return "container";
    case AWS_CRED_SRC_IMDS: return "imds";
    default: return "none";
    }
}

/* Copies the options; returns -1 when a copy failed. */
static int apply_options(struct aws_cred_provider *p, const struct aws_cred_options *o)
{
    const char *env_prof = getenv("AWS_PROFILE");
    const char *prof = set(o->profile) ? o->profile : set(env_prof) ? env_prof : "default";
    p->profile = strdup(prof);
    p->profile_explicit = set(o->profile) || set(env_prof);
    p->region = dup_or_null(o->region);
    p->sts_endpoint = dup_or_null(o->sts_endpoint);
    p->imds_endpoint = dup_or_null(o->imds_endpoint);
    p->container_endpoint = dup_or_null(o->container_endpoint);
    p->sources = o->sources;
    p->margin_s = o->refresh_margin_s > 0 ? o->refresh_margin_s : DEFAULT_MARGIN_S;
    p->connect_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : DEFAULT_CONNECT_MS;
    p->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
    bool lost = !p->profile || (o->region && !p->region) || (o->sts_endpoint && !p->sts_endpoint) ||
                (o->imds_endpoint && !p->imds_endpoint) ||
                (o->container_endpoint && !p->container_endpoint);
    return lost ? -1 : 0;
}

static void free_fields(struct aws_cred_provider *p)
{
    OPENSSL_cleanse(&p->cached, sizeof p->cached);
    free(p->profile);
    free(p->region);
    free(p->sts_endpoint);
    free(p->imds_endpoint);
    free(p->container_endpoint);
}

struct aws_cred_provider *aws_cred_provider_new(const struct aws_cred_options *opt)
{
    static const struct aws_cred_options defaults;
    struct aws_cred_provider *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    if (apply_options(p, opt ? opt : &defaults) != 0 || pthread_mutex_init(&p->lock, NULL) != 0) {
        free_fields(p);
        free(p);
        return NULL;
    }
    return p;
}

void aws_cred_provider_destroy(struct aws_cred_provider *p)
{
    if (!p)
        return;
    pthread_mutex_destroy(&p->lock);
    free_fields(p);
    free(p);
}
