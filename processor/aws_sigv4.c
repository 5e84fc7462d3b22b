/* aws_sigv4.c - AWS Signature Version 4 (AWS4-HMAC-SHA256) request signer.
 *
 * Owns: canonical path/query/header construction, the string to sign, the
 * signing-key derivation and the values a signed request must carry.
 * Must never: do I/O, log, or keep secrets past a call (derived keys are
 * wiped with OPENSSL_cleanse before returning). */
#include "aws_sigv4.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define ALGORITHM "AWS4-HMAC-SHA256"
#define MAX_EXPIRES 604800u

/* ---- growable string ---------------------------------------------------- */

struct sb {
    char *p;
    size_t len, cap;
    bool bad;
};

static void sb_addn(struct sb *b, const char *s, size_t n)
{
    if (b->bad)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->bad = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void sb_add(struct sb *b, const char *s) { sb_addn(b, s, strlen(s)); }

/* Returns the string (caller frees) or NULL after an allocation failure. */
static char *sb_take(struct sb *b)
{
    if (!b->bad && !b->p)
        sb_addn(b, "", 0);
    if (b->bad) {
        free(b->p);
        return NULL;
    }
    return b->p;
}

/* ---- encoding ----------------------------------------------------------- */

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

static void encode_into(struct sb *b, const char *s, size_t n, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            sb_addn(b, &s[i], 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            sb_addn(b, e, 3);
        }
    }
}

char *sigv4_uri_encode(const char *s, size_t n, bool keep_slash)
{
    struct sb b = {0};
    encode_into(&b, s, n, keep_slash);
    return sb_take(&b);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode %XX escapes of s[0..n) in place into out (at least n bytes).
 * '+' is kept literally. Returns the decoded length. */
static size_t uri_decode(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 && (lo = hexval(s[i + 2])) >= 0) {
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    return o;
}

/* ---- hashing ------------------------------------------------------------ */

static void hex_of(const unsigned char *d, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[2 * n] = 0;
}

void sigv4_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(data ? data : "", len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
        out[0] = 0;
        return;
    }
    hex_of(md, 32, out);
}

static int hmac256(const void *key, size_t klen, const char *msg, unsigned char out[32])
{
    size_t outlen = 0;
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, klen, (const unsigned char *)msg,
                   strlen(msg), out, 32, &outlen))
        return -1;
    return outlen == 32 ? 0 : -1;
}

/* signature = HMAC(kSigning, sts) with kSigning derived from the secret. */
static int compute_signature(const char *secret, const char *date8, const char *region,
                             const char *service, const char *sts, char out[65])
{
    char k0[160];
    unsigned char k[32];
    int n = snprintf(k0, sizeof k0, "AWS4%s", secret);
    int rc = (n < 0 || (size_t)n >= sizeof k0) ? -1 : 0;
    if (rc == 0)
        rc = hmac256(k0, (size_t)n, date8, k);
    if (rc == 0)
        rc = hmac256(k, 32, region, k);
    if (rc == 0)
        rc = hmac256(k, 32, service, k);
    if (rc == 0)
        rc = hmac256(k, 32, "aws4_request", k);
    if (rc == 0)
        rc = hmac256(k, 32, sts, k);
    if (rc == 0)
        hex_of(k, 32, out);
    OPENSSL_cleanse(k0, sizeof k0);
    OPENSSL_cleanse(k, sizeof k);
    return rc;
}

/* ---- canonical path ----------------------------------------------------- */

struct seg {
    const char *p;
    size_t n;
};

/* RFC 3986 dot-segment removal plus collapsing of empty segments. */
static char *normalize_path(const char *path)
{
    size_t cap = strlen(path) + 1, nseg = 0;
    struct seg *segs = malloc(cap * sizeof *segs);
    if (!segs)
        return NULL;
    bool trailing = false;
    for (const char *s = path; *s;) {
        while (*s == '/')
            s++;
        if (!*s)
            break;
        const char *e = strchr(s, '/');
        if (!e)
            e = s + strlen(s);
        size_t len = (size_t)(e - s);
        if (len == 1 && s[0] == '.') {
            trailing = true;
        } else if (len == 2 && s[0] == '.' && s[1] == '.') {
            nseg -= nseg ? 1 : 0;
            trailing = true;
        } else {
            segs[nseg].p = s;
            segs[nseg++].n = len;
            trailing = (*e == '/');
        }
        s = e;
    }
    struct sb b = {0};
    for (size_t i = 0; i < nseg; i++) {
        sb_add(&b, "/");
        sb_addn(&b, segs[i].p, segs[i].n);
    }
    if (nseg == 0 || trailing)
        sb_add(&b, "/");
    free(segs);
    return sb_take(&b);
}

/* double encoding: encode the wire path once more ('%' becomes %25 and any
 * byte outside the unreserved set is escaped); otherwise use it verbatim. */
static char *canonical_path(const char *path, const struct sigv4_options *opt)
{
    const char *p = (path && *path) ? path : "/";
    char *norm = opt->normalize_path ? normalize_path(p) : strdup(p);
    if (!norm || !opt->double_encode_path)
        return norm;
    char *enc = sigv4_uri_encode(norm, strlen(norm), true);
    free(norm);
    return enc;
}

/* ---- canonical query ---------------------------------------------------- */

struct qparam {
    char *name, *value;
};

struct qlist {
    struct qparam *v;
    size_t n, cap;
    bool bad;
};

static void ql_free(struct qlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].value);
    }
    free(l->v);
}

/* Add one parameter from raw (unencoded) bytes. */
static void ql_add(struct qlist *l, const char *name, size_t nlen, const char *value, size_t vlen)
{
    if (l->bad)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        struct qparam *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->bad = true;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    char *n = sigv4_uri_encode(name, nlen, false);
    char *val = sigv4_uri_encode(value, vlen, false);
    if (!n || !val) {
        free(n);
        free(val);
        l->bad = true;
        return;
    }
    l->v[l->n].name = n;
    l->v[l->n++].value = val;
}

static void ql_add_str(struct qlist *l, const char *name, const char *value)
{
    ql_add(l, name, strlen(name), value, strlen(value));
}

/* Split a raw query on '&' and '=', decoding %XX before re-encoding. */
static void ql_parse(struct qlist *l, const char *query)
{
    size_t qlen = query ? strlen(query) : 0;
    char *tmp = malloc(qlen + 1);
    if (!tmp) {
        l->bad = true;
        return;
    }
    for (const char *s = query; s && *s;) {
        const char *amp = strchr(s, '&');
        const char *end = amp ? amp : s + strlen(s);
        const char *eq = memchr(s, '=', (size_t)(end - s));
        if (!eq)
            eq = end;
        if (end > s) {
            size_t nl = uri_decode(s, (size_t)(eq - s), tmp);
            char *name = malloc(nl + 1);
            if (!name) {
                l->bad = true;
                break;
            }
            memcpy(name, tmp, nl);
            const char *vs = eq < end ? eq + 1 : end;
            size_t vl = uri_decode(vs, (size_t)(end - vs), tmp);
            ql_add(l, name, nl, tmp, vl);
            free(name);
        }
        s = amp ? amp + 1 : end;
    }
    free(tmp);
}

static int qparam_cmp(const void *a, const void *b)
{
    const struct qparam *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

static char *ql_join(struct qlist *l)
{
    if (l->bad)
        return NULL;
    if (l->n)
        qsort(l->v, l->n, sizeof *l->v, qparam_cmp);
    struct sb b = {0};
    for (size_t i = 0; i < l->n; i++) {
        if (i)
            sb_add(&b, "&");
        sb_add(&b, l->v[i].name);
        sb_add(&b, "=");
        sb_add(&b, l->v[i].value);
    }
    return sb_take(&b);
}

/* ---- canonical headers -------------------------------------------------- */

struct chdr {
    char *name, *value;
    size_t order;
};

struct hlist {
    struct chdr *v;
    size_t n;
    bool bad;
};

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static char *lower_dup(const char *s)
{
    char *d = strdup(s);
    for (char *p = d; p && *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return d;
}

/* Trim and collapse runs of whitespace (including folded lines) to one space. */
static char *clean_value(const char *v)
{
    char *d = malloc(strlen(v) + 1);
    size_t o = 0;
    if (!d)
        return NULL;
    while (is_space(*v))
        v++;
    for (; *v; v++) {
        if (!is_space(*v))
            d[o++] = *v;
        else if (!is_space(v[1]) && v[1])
            d[o++] = ' ';
    }
    d[o] = 0;
    return d;
}

static void hl_add(struct hlist *l, const char *name, const char *value)
{
    char *n = lower_dup(name), *v = clean_value(value ? value : "");
    if (!n || !v || l->bad) {
        free(n);
        free(v);
        l->bad = true;
        return;
    }
    l->v[l->n].name = n;
    l->v[l->n].value = v;
    l->v[l->n].order = l->n;
    l->n++;
}

static void hl_free(struct hlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].value);
    }
    free(l->v);
}

static int chdr_cmp(const void *a, const void *b)
{
    const struct chdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Headers never signed: hop-by-hop or commonly rewritten by proxies. */
static bool never_signed(const char *lname)
{
    static const char *const skip[] = {"authorization", "connection", "expect",
                                       "transfer-encoding", "upgrade", "user-agent",
                                       "x-amzn-trace-id"};
    for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
        if (strcmp(lname, skip[i]) == 0)
            return true;
    return false;
}

/* extra: NULL-name-terminated list of headers the signer adds; caller headers
 * with the same names are dropped. */
static void hl_build(struct hlist *l, const struct sigv4_request *req, const struct sigv4_header *extra,
                     size_t nextra)
{
    l->v = calloc(req->nheaders + nextra + 1, sizeof *l->v);
    if (!l->v) {
        l->bad = true;
        return;
    }
    for (size_t i = 0; i < req->nheaders; i++) {
        char *ln = lower_dup(req->headers[i].name ? req->headers[i].name : "");
        bool drop = !ln || !*ln || never_signed(ln);
        for (size_t j = 0; ln && j < nextra && !drop; j++)
            drop = strcmp(ln, extra[j].name) == 0;
        free(ln);
        if (!drop)
            hl_add(l, req->headers[i].name, req->headers[i].value);
    }
    for (size_t j = 0; j < nextra; j++)
        hl_add(l, extra[j].name, extra[j].value);
    if (!l->bad && l->n)
        qsort(l->v, l->n, sizeof *l->v, chdr_cmp);
}

/* canonical headers ("name:v1,v2\n" per name) and the signed-header list */
static int hl_render(const struct hlist *l, char **canon, char **signed_headers)
{
    struct sb c = {0}, s = {0};
    for (size_t i = 0; i < l->n; i++) {
        bool same = i > 0 && strcmp(l->v[i].name, l->v[i - 1].name) == 0;
        if (same) {
            sb_add(&c, ",");
        } else {
            if (i > 0) {
                sb_add(&c, "\n");
                sb_add(&s, ";");
            }
            sb_add(&c, l->v[i].name);
            sb_add(&c, ":");
            sb_add(&s, l->v[i].name);
        }
        sb_add(&c, l->v[i].value);
    }
    if (l->n)
        sb_add(&c, "\n");
    *canon = sb_take(&c);
    *signed_headers = sb_take(&s);
    if (!*canon || !*signed_headers) {
        free(*canon);
        free(*signed_headers);
        *canon = *signed_headers = NULL;
        return -1;
    }
    return 0;
}

/* ---- common signing steps ----------------------------------------------- */

struct ctx {
    char amz_date[17];
    char date8[9];
    char scope[256];
    char payload_hash[128];
};

static int ctx_init(struct ctx *c, const struct sigv4_request *req, const struct aws_creds *cr,
                    const struct sigv4_options *opt)
{
    if (!req || !req->method || !cr || !opt || !opt->service || !opt->region ||
        !cr->access_key[0] || !cr->secret_key[0])
        return -1;
    time_t t = opt->timestamp ? opt->timestamp : time(NULL);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(c->amz_date, sizeof c->amz_date, "%Y%m%dT%H%M%SZ", &tm) != 16)
        return -1;
    memcpy(c->date8, c->amz_date, 8);
    c->date8[8] = 0;
    int n = snprintf(c->scope, sizeof c->scope, "%s/%s/%s/aws4_request", c->date8, opt->region,
                     opt->service);
    if (n < 0 || (size_t)n >= sizeof c->scope)
        return -1;
    if (req->payload_hash) {
        if (strlen(req->payload_hash) >= sizeof c->payload_hash)
            return -1;
        strcpy(c->payload_hash, req->payload_hash);
    } else {
        sigv4_sha256_hex(req->body, req->body ? req->body_len : 0, c->payload_hash);
    }
    return c->payload_hash[0] ? 0 : -1;
}

/* Fills canonical_request, string_to_sign and signature of out. */
static int sign_parts(const struct ctx *c, const struct sigv4_request *req, const char *path,
                      const char *query, const char *headers, const char *signed_headers,
                      const struct aws_creds *cr, const struct sigv4_options *opt,
                      struct sigv4_result *out)
{
    struct sb b = {0};
    const char *parts[] = {req->method, "\n", path, "\n", query, "\n", headers, "\n",
                           signed_headers, "\n", c->payload_hash};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        sb_add(&b, parts[i]);
    out->canonical_request = sb_take(&b);
    if (!out->canonical_request)
        return -1;
    char creq_hash[65];
    sigv4_sha256_hex(out->canonical_request, strlen(out->canonical_request), creq_hash);
    struct sb s = {0};
    const char *sparts[] = {ALGORITHM "\n", c->amz_date, "\n", c->scope, "\n", creq_hash};
    for (size_t i = 0; i < sizeof sparts / sizeof sparts[0]; i++)
        sb_add(&s, sparts[i]);
    out->string_to_sign = sb_take(&s);
    if (!out->string_to_sign)
        return -1;
    memcpy(out->amz_date, c->amz_date, sizeof out->amz_date);
    return compute_signature(cr->secret_key, c->date8, opt->region, opt->service,
                             out->string_to_sign, out->signature);
}

static int add_header(struct sigv4_result *out, const char *name, const char *value)
{
    char *v = strdup(value);
    if (!v || out->nadd >= SIGV4_MAX_ADD) {
        free(v);
        return -1;
    }
    out->add[out->nadd].name = name;
    out->add[out->nadd++].value = v;
    return 0;
}

static int add_authorization(struct sigv4_result *out, const struct aws_creds *cr, const struct ctx *c)
{
    const char *fmt = ALGORITHM " Credential=%s/%s, SignedHeaders=%s, Signature=%s";
    int n = snprintf(NULL, 0, fmt, cr->access_key, c->scope, out->signed_headers, out->signature);
    char *v = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (!v)
        return -1;
    snprintf(v, (size_t)n + 1, fmt, cr->access_key, c->scope, out->signed_headers, out->signature);
    int rc = add_header(out, "Authorization", v);
    free(v);
    return rc;
}

/* ---- header signing ----------------------------------------------------- */

static int header_result(struct sigv4_result *out, const struct aws_creds *cr,
                         const struct sigv4_options *opt, const struct ctx *c)
{
    int rc = 0;
    if (cr->token[0])
        rc |= add_header(out, "X-Amz-Security-Token", cr->token);
    rc |= add_header(out, "X-Amz-Date", c->amz_date);
    if (opt->sign_body_header)
        rc |= add_header(out, "x-amz-content-sha256", c->payload_hash);
    rc |= add_authorization(out, cr, c);
    return rc ? -1 : 0;
}

/* The canonical parts of one request while it is signed. */
struct canon {
    struct hlist hl;
    struct qlist ql;
    char *path, *query, *headers;
};

/* Frees the parts, and out too when rc says the signing failed; returns rc. */
static int canon_done(struct canon *cn, struct sigv4_result *out, int rc)
{
    free(cn->path);
    free(cn->query);
    free(cn->headers);
    hl_free(&cn->hl);
    ql_free(&cn->ql);
    if (rc != 0)
        sigv4_result_free(out);
    return rc;
}

int sigv4_sign_headers(const struct sigv4_request *req, const struct aws_creds *cr,
                       const struct sigv4_options *opt, struct sigv4_result *out)
{
    struct ctx c;
    memset(out, 0, sizeof *out);
    if (ctx_init(&c, req, cr, opt) != 0)
        return -1;
    struct sigv4_header extra[3] = {{"x-amz-date", c.amz_date}};
    size_t nextra = 1;
    if (cr->token[0] && !opt->omit_session_token)
        extra[nextra++] = (struct sigv4_header){"x-amz-security-token", cr->token};
    if (opt->sign_body_header)
        extra[nextra++] = (struct sigv4_header){"x-amz-content-sha256", c.payload_hash};

    struct canon cn = {0};
    cn.path = canonical_path(req->path, opt);
    hl_build(&cn.hl, req, extra, nextra);
    ql_parse(&cn.ql, req->query);
    cn.query = ql_join(&cn.ql);
    int rc = (!cn.path || !cn.query || cn.hl.bad) ? -1 : hl_render(&cn.hl, &cn.headers, &out->signed_headers);
    if (rc == 0)
        rc = sign_parts(&c, req, cn.path, cn.query, cn.headers, out->signed_headers, cr, opt, out);
    if (rc == 0)
        rc = header_result(out, cr, opt, &c);
    return canon_done(&cn, out, rc);
}

/* ---- query signing ------------------------------------------------------ */

static void presign_params(struct qlist *ql, const struct ctx *c, const struct aws_creds *cr,
                           const struct sigv4_options *opt, const char *signed_headers)
{
    char cred[512], expires[16];
    snprintf(cred, sizeof cred, "%s/%s", cr->access_key, c->scope);
    snprintf(expires, sizeof expires, "%u", opt->expires ? opt->expires : 3600u);
    ql_add_str(ql, "X-Amz-Algorithm", ALGORITHM);
    ql_add_str(ql, "X-Amz-Credential", cred);
    ql_add_str(ql, "X-Amz-Date", c->amz_date);
    ql_add_str(ql, "X-Amz-Expires", expires);
    ql_add_str(ql, "X-Amz-SignedHeaders", signed_headers);
    if (cr->token[0] && !opt->omit_session_token)
        ql_add_str(ql, "X-Amz-Security-Token", cr->token);
}

/* canonical query + unsigned token (when omitted) + X-Amz-Signature */
static int presign_query(struct sigv4_result *out, const char *canon_query, const struct aws_creds *cr,
                         const struct sigv4_options *opt)
{
    struct sb b = {0};
    sb_add(&b, canon_query);
    if (cr->token[0] && opt->omit_session_token) {
        sb_add(&b, "&X-Amz-Security-Token=");
        encode_into(&b, cr->token, strlen(cr->token), false);
    }
    sb_add(&b, "&X-Amz-Signature=");
    sb_add(&b, out->signature);
    out->query = sb_take(&b);
    return out->query ? 0 : -1;
}

int sigv4_presign(const struct sigv4_request *req, const struct aws_creds *cr,
                  const struct sigv4_options *opt, struct sigv4_result *out)
{
    struct ctx c;
    memset(out, 0, sizeof *out);
    if (ctx_init(&c, req, cr, opt) != 0 || opt->expires > MAX_EXPIRES)
        return -1;
    struct canon cn = {0};
    cn.path = canonical_path(req->path, opt);
    hl_build(&cn.hl, req, NULL, 0);
    int rc = (!cn.path || cn.hl.bad) ? -1 : hl_render(&cn.hl, &cn.headers, &out->signed_headers);
    if (rc == 0) {
        ql_parse(&cn.ql, req->query);
        presign_params(&cn.ql, &c, cr, opt, out->signed_headers);
        cn.query = ql_join(&cn.ql);
        rc = cn.query ? 0 : -1;
    }
    if (rc == 0)
        rc = sign_parts(&c, req, cn.path, cn.query, cn.headers, out->signed_headers, cr, opt, out);
    if (rc == 0)
        rc = presign_query(out, cn.query, cr, opt);
    return canon_done(&cn, out, rc);
}

void sigv4_result_free(struct sigv4_result *r)
{
    if (!r)
        return;
    free(r->canonical_request);
    free(r->string_to_sign);
    free(r->signed_headers);
    free(r->query);
    for (size_t i = 0; i < r->nadd; i++) {
        if (r->add[i].value)
            OPENSSL_cleanse(r->add[i].value, strlen(r->add[i].value));
        free(r->add[i].value);
    }
    memset(r, 0, sizeof *r);
}
