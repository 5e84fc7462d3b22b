/* normalize: the schema-driven engine (see normalize.h).
 *
 * Per record: collect values for each rule (first present source, or all),
 * transform (ops, map, split), coerce to the target's ECS type, add to the
 * document. A value that cannot be coerced is dropped, never emitted with the
 * wrong type: an ip field never holds a hostname (it moves to *.domain), a
 * long never holds "-". Composed rules (url.full, network.community_id) run
 * last, from what the others added. Then the fixed parts: @timestamp,
 * event.*, cloud.*, related.*, GeoIP, user_agent.*, the id and the index name. */
#include <ctype.h>
#include <float.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "compose.h"
#include "exclude.h"
#include "geoip.h"
#include "ipv4.h"
#include "jindex.h"
#include "jpath.h"
#include "jsonw.h"
#include "jscan.h"
#include "jvalue.h"
#include "normalize.h"
#include "ops.h"
#include "useragent.h"

#define BIND_JSON    -1
#define BIND_ABSENT  -2
#define BIND_S3KEY   -3
#define BIND_GROUP   -4

/* The fields the engine sets itself, in path order: added in this order
 * they make one sorted run for doc_emit. Prepared once per normalizer. */
enum fixed_field {
    FX_TIMESTAMP, FX_LOG_GROUP, FX_S3_KEY, FX_ACCOUNT, FX_PROVIDER, FX_REGION, FX_ECS_VERSION,
    FX_DATASET, FX_INGESTED, FX_MODULE, FX_ORIGINAL, FX_RELATED_IP, FX_RELATED_USER, FX_COUNT
};

static const char *const fixed_names[FX_COUNT] = {
    "@timestamp", "aws.cloudwatch.log_group", "aws.s3.object.key", "cloud.account.id", "cloud.provider",
    "cloud.region", "ecs.version", "event.dataset", "event.ingested", "event.module", "event.original",
    "related.ip", "related.user",
};

/* A column that "vendor_rest" puts under the vendor namespace. */
struct vendor_col {
    int col;
    struct doc_path path;
};

/* What an S3 key tells, worked out once per key (see key_facts). */
struct key_facts {
    buf_t  key;                  /* the key they were worked out for */
    int    known;
    int    safe;                 /* nothing to escape in it */
    struct span account, region; /* AWSLogs/<account>/<service>/<region>/..., or absent */
};

/* A date formatted recently (see iso_text). */
struct iso_memo {
    int64_t ms;
    size_t len;           /* 0: unused */
    char text[32];
};
#define ISO_MEMO 4

/* A related.* value waiting for the rules to finish. */
struct related_value {
    struct span v;
    int which;       /* RELATED_IP / RELATED_USER */
};

struct normalizer {
    struct normalizer_opts opts;
    struct doc doc;
    struct doc_path fixed[FX_COUNT];
    struct related_value *related;
    int nrelated, related_cap;
    /* Bindings of schema src_refs to the current layout's columns. */
    const struct schema *bound_schema;
    const struct layout *bound_layout;
    uint32_t bound_version;
    int *binding;
    int binding_cap;
    int *ref_seg;                /* JSON sources: their jindex segment */
    struct jindex jx;            /* the record's top-level keys, scanned at the first lookup */
    int jx_scanned;
    unsigned char *col_used;     /* vendor_rest: columns some rule consumed */
    struct vendor_col *vendor;   /* vendor_rest: the other columns, sorted by path */
    int nvendor;
    buf_t vendor_paths;          /* their paths, NUL-separated */
    EVP_MD_CTX *md;
    EVP_MD *sha256;              /* fetched once: EVP_sha256() per digest re-fetches in OpenSSL 3 */
    EVP_MD_CTX *prefix_md;       /* the digest after prefix_type and prefix_origin (doc_id_hash) */
    buf_t prefix_type, prefix_origin;
    const struct stream_info *si;
    /* Index name of the last record: most records of an object share it. */
    const struct schema *index_schema;
    int64_t index_from, index_to;
    char index_name[192];
    struct key_facts key;
    struct iso_memo iso[ISO_MEMO];
    unsigned iso_next;
    int64_t ingested_ms;
    char ingested[32];
    size_t ingested_len;
    struct op_memo memo;         /* splits shared by several rules' ops, cleared per record */
    struct jscan scratch;        /* re-parses values: embedded JSON, geo points */
    buf_t tmp;                   /* builds "object" rule values */
    struct ua_cache *ua_cache;   /* recent user agents parsed (created on first use) */
    struct span *slots;          /* the values composed rules read (schema.h), cleared per record */
    int slots_cap;
};

struct normalizer *normalizer_new(const struct normalizer_opts *opts)
{
    struct normalizer *nz = xcalloc(1, sizeof *nz);
    if (opts) nz->opts = *opts;
    doc_init(&nz->doc);
    for (int i = 0; i < FX_COUNT; i++) doc_path_init(&nz->fixed[i], fixed_names[i]);
    nz->md = EVP_MD_CTX_new();
    nz->prefix_md = EVP_MD_CTX_new();
    buf_init(&nz->prefix_type);
    buf_init(&nz->prefix_origin);
    nz->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!nz->md || !nz->prefix_md || !nz->sha256) { fputs("siemproc: EVP_MD_CTX_new failed\n", stderr); abort(); }
    nz->col_used = xcalloc(REC_MAX_COLS, 1);
    nz->vendor = xcalloc(REC_MAX_COLS, sizeof *nz->vendor);
    buf_init(&nz->vendor_paths);
    buf_init(&nz->key.key);
    jscan_init(&nz->scratch);
    jindex_init(&nz->jx);
    buf_init(&nz->tmp);
    return nz;
}

void normalizer_free(struct normalizer *nz)
{
    if (!nz) return;
    doc_free(&nz->doc);
    EVP_MD_CTX_free(nz->md);
    EVP_MD_CTX_free(nz->prefix_md);
    buf_free(&nz->prefix_type);
    buf_free(&nz->prefix_origin);
    EVP_MD_free(nz->sha256);
    free(nz->binding);
    free(nz->ref_seg);
    jindex_free(&nz->jx);
    free(nz->related);
    free(nz->col_used);
    free(nz->vendor);
    buf_free(&nz->vendor_paths);
    buf_free(&nz->key.key);
    jscan_free(&nz->scratch);
    buf_free(&nz->tmp);
    ua_cache_free(nz->ua_cache);
    free(nz->slots);
    free(nz);
}

struct doc *normalizer_doc(struct normalizer *nz) { return &nz->doc; }

static int pseudo_binding(const struct src_ref *r)
{
    if (strcmp(r->path, "$s3_key") == 0) return BIND_S3KEY;
    if (strcmp(r->path, "$log_group") == 0) return BIND_GROUP;
    return 0;
}

/* The columns of layout l no rule reads, with their paths under the vendor
 * namespace, sorted by path: added in this order they make one sorted run. */
static void bind_vendor_rest(struct normalizer *nz, const struct schema *sc, const struct layout *l)
{
    size_t off[REC_MAX_COLS];
    nz->nvendor = 0;
    buf_reset(&nz->vendor_paths);
    if (!sc->vendor_rest || !sc->vendor || !l) return;
    for (int c = 0; c < l->n && c < REC_MAX_COLS; c++) {
        if (nz->col_used[c]) continue;
        off[nz->nvendor] = nz->vendor_paths.len;
        nz->vendor[nz->nvendor++].col = c;
        buf_printf(&nz->vendor_paths, "%s.%s%c", sc->vendor, l->names[c], 0);
    }
    for (int i = 0; i < nz->nvendor; i++) {    /* the buffer no longer moves */
        struct vendor_col v = nz->vendor[i];
        doc_path_init(&v.path, nz->vendor_paths.data + off[i]);
        int j = i;
        for (; j > 0 && strcmp(nz->vendor[j - 1].path.s, v.path.s) > 0; j--) nz->vendor[j] = nz->vendor[j - 1];
        nz->vendor[j] = v;
    }
}

/* Resolve every src_ref of the schema against the record's layout once per
 * layout, so the per-record cost of a flat lookup is an array index. */
static void bind_sources(struct normalizer *nz, const struct schema *sc, const struct record *rec)
{
    if (nz->bound_schema == sc && nz->bound_layout == rec->layout &&
        (!rec->layout || nz->bound_version == rec->layout->version) && nz->binding)
        return;
    if (nz->binding_cap < sc->nrefs) {
        nz->binding_cap = sc->nrefs;
        nz->binding = xrealloc(nz->binding, (size_t)sc->nrefs * sizeof *nz->binding);
        nz->ref_seg = xrealloc(nz->ref_seg, (size_t)sc->nrefs * sizeof *nz->ref_seg);
    }
    jindex_clear(&nz->jx);
    memset(nz->col_used, 0, REC_MAX_COLS);
    for (int i = 0; i < sc->nrefs; i++) {
        const struct src_ref *r = sc->refs[i];
        int b = pseudo_binding(r);
        if (!b) {
            b = rec->layout ? BIND_ABSENT : BIND_JSON;
            for (int c = 0; rec->layout && c < rec->layout->n; c++)
                if (strcmp(rec->layout->names[c], r->path) == 0) { b = c; nz->col_used[c] = 1; break; }
        }
        nz->binding[i] = b;
        nz->ref_seg[i] = b == BIND_JSON && !r->sel ? jindex_declare(&nz->jx, r->path, r->len) : -1;
    }
    bind_vendor_rest(nz, sc, rec->layout);
    nz->bound_schema = sc;
    nz->bound_layout = rec->layout;
    nz->bound_version = rec->layout ? rec->layout->version : 0;
}

static struct span span_of_token(const struct jscan *js, int t)
{
    struct span s = { NULL, 0, DV_STR };
    const struct jtok *k = &js->tok[t];
    switch (k->type) {
    case J_STR:   s.kind = DV_JSTR; break;
    case J_NUM:   s.kind = DV_NUM; break;
    case J_TRUE: case J_FALSE: s.kind = DV_BOOL; break;
    case J_NULL:  return s;
    default:      s.kind = DV_RAW; break;
    }
    s.p = js->src + k->start;
    s.len = k->len;
    if (k->type == J_STR && k->len == 0) s.p = NULL;     /* "" is absent */
    return s;
}

/* A source that is not a column: the key, the log group, a JSON path. */
static struct span get_bound_src(struct normalizer *nz, const struct record *rec, const struct src_ref *r, int b, int *tok)
{
    struct span none = { NULL, 0, DV_STR };
    if (b == BIND_S3KEY || b == BIND_GROUP) {
        const char *v = b == BIND_S3KEY ? nz->si->s3_key : nz->si->log_group;
        struct span s = { v, v ? (uint32_t)strlen(v) : 0, DV_STR };
        if (s.len == 0) s.p = NULL;
        return s;
    }
    if (b == BIND_JSON && rec->json) {
        if (!r->sel && !nz->jx_scanned) {
            jindex_scan(&nz->jx, rec->json, rec->json_root);
            nz->jx_scanned = 1;
        }
        int t = r->sel ? jpath_first(rec->json, rec->json_root, r->path, r->len)
                       : jindex_path(&nz->jx, nz->ref_seg[r->id], r->path, r->len);
        if (t < 0) return none;
        *tok = t;
        return span_of_token(rec->json, t);
    }
    return none;
}

/* Value of a source in this record; returns the JSON token (or -1) via *tok.
 * Columns are looked up inline: most lookups of flat records are that. */
static inline struct span get_src(struct normalizer *nz, const struct record *rec, const struct src_ref *r, int *tok)
{
    struct span none = { NULL, 0, DV_STR };
    int b = nz->binding[r->id];
    *tok = -1;
    if (b >= 0) return b < rec->ncols ? rec->cols[b] : none;
    return get_bound_src(nz, rec, r, b, tok);
}

/* DV_JSTR content -> its text: in place when it has no escapes, else
 * unescaped into the arena (and then DV_STR, as it may need escaping). */
static struct span unescaped(struct normalizer *nz, struct span v)
{
    if (!memchr(v.p, '\\', v.len)) return v;
    char *o = arena_alloc(&nz->doc.arena, v.len + 1);
    v.len = (uint32_t)json_unescape(v.p, v.len, o);
    v.p = o;
    v.kind = DV_STR;
    return v;
}

/* The text of a value. DV_JSTR content without a backslash is its own text
 * and stays DV_JSTR: it needs no escaping on output either. */
static inline struct span plain(struct normalizer *nz, struct span v)
{
    return v.kind == DV_JSTR ? unescaped(nz, v) : v;
}

static int is_json_number(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '-') i++;
    if (i >= n || !isdigit((unsigned char)s[i])) return 0;
    if (s[i] == '0' && i + 1 < n && isdigit((unsigned char)s[i + 1])) return 0;
    while (i < n && isdigit((unsigned char)s[i])) i++;
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || !isdigit((unsigned char)s[i])) return 0;
        while (i < n && isdigit((unsigned char)s[i])) i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= n || !isdigit((unsigned char)s[i])) return 0;
        while (i < n && isdigit((unsigned char)s[i])) i++;
    }
    return i == n;
}

/* Digits within a long's range: OpenSearch rejects the whole document when a
 * long field overflows. */
static int is_integer(const char *s, size_t n)
{
    size_t i = n && s[0] == '-' ? 1 : 0;
    if (i >= n) return 0;
    for (size_t k = i; k < n; k++) if ((unsigned)(s[k] - '0') > 9) return 0;
    while (i + 1 < n && s[i] == '0') i++;
    const char *max = s[0] == '-' ? "9223372036854775808" : "9223372036854775807";
    return n - i < 19 || (n - i == 19 && memcmp(s + i, max, 19) <= 0);
}

/* JSON numbers have no leading zeros: "000" -> "0" (CloudFront's status of an
 * aborted request), "-07" -> "-7". */
static struct span canonical_integer(struct normalizer *nz, struct span v)
{
    size_t neg = v.p[0] == '-', i = neg;
    while (i + 1 < v.len && v.p[i] == '0') i++;
    if (i == neg) return v;
    if (!neg) { v.p += i; v.len -= (uint32_t)i; return v; }
    char *o = arena_alloc(&nz->doc.arena, v.len - i + 1);
    o[0] = '-';
    memcpy(o + 1, v.p + i, v.len - i);
    v.p = o;
    v.len = (uint32_t)(v.len - i + 1);
    return v;
}

/* A float field (and a dynamically mapped one) holds what OpenSearch's float
 * can: finite, at most FLT_MAX.
 * An integer literal too long for a 64-bit integer is written as a double,
 * because most JSON readers refuse it as an integer. */
/* A JSON number of at most 18 characters without an exponent is far inside
 * a float's range and is written as it is: no strtod needed. */
static int short_plain_number(const char *s, size_t n)
{
    if (n > 18) return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] == 'e' || s[i] == 'E') return 0;
    return 1;
}

static int float_in_range(struct normalizer *nz, struct span *v)
{
    if (short_plain_number(v->p, v->len)) return 1;
    char tmp[64];
    if (v->len >= sizeof tmp) return 0;
    memcpy(tmp, v->p, v->len);
    tmp[v->len] = 0;
    double d = strtod(tmp, NULL);
    if (!isfinite(d) || fabs(d) > FLT_MAX) return 0;
    if (v->len > 18 && !strpbrk(tmp, ".eE")) {
        char *o = arena_alloc(&nz->doc.arena, 32);
        v->len = (uint32_t)snprintf(o, 32, "%.17g", d);
        v->p = o;
    }
    return 1;
}

static int valid_ip(const char *s, size_t n)
{
    unsigned char bin[16];
    return ip_from_text(s, n, bin) != 0;      /* most are IPv4: no copy, no inet_pton */
}

static int looks_like_hostname(const char *s, size_t n)
{
    if (n == 0 || n > 253) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '-' && s[i] != '_') return 0;
    return 1;
}

/* related.* values (from ip and user.name fields, and rules that target
 * related.* themselves) wait until the rules are done and are then added
 * together, in the order they came: interleaved with the rules' fields they
 * would break the document's sorted run many times. */
static void related_push(struct normalizer *nz, int which, struct span v)
{
    if (nz->nrelated == nz->related_cap) {
        nz->related_cap = nz->related_cap ? nz->related_cap * 2 : 16;
        nz->related = xrealloc(nz->related, (size_t)nz->related_cap * sizeof *nz->related);
    }
    nz->related[nz->nrelated++] = (struct related_value){ v, which };
}

static void related_flush(struct normalizer *nz)
{
    for (int which = RELATED_IP; which <= RELATED_USER; which++) {
        const struct doc_path *p = &nz->fixed[which == RELATED_IP ? FX_RELATED_IP : FX_RELATED_USER];
        for (int i = 0; i < nz->nrelated; i++) {
            const struct span *v = &nz->related[i].v;
            if (nz->related[i].which == which) doc_add_path(&nz->doc, p, v->kind, 1, v->p, v->len);
        }
    }
    nz->nrelated = 0;
}

/* Add a value to the rule's target, and keep the first one for the
 * composed rules that read it. */
static void add_target(struct normalizer *nz, const struct field_rule *r, int kind, const char *v, size_t n)
{
    doc_add_path(&nz->doc, &r->tpath, kind, r->array, v, n);
    if (r->slot >= 0 && !nz->slots[r->slot].p) nz->slots[r->slot] = (struct span){ v, (uint32_t)n, (uint8_t)kind };
}

/* Put an ip that is not an ip where ECS keeps names: source.ip -> source.domain. */
static void add_ip_fallback(struct normalizer *nz, const struct field_rule *r, struct span v)
{
    if (r->ip_domain && looks_like_hostname(v.p, v.len))
        doc_add_path(&nz->doc, &r->ip_domain_path, DV_STR, 0, v.p, v.len);
}

/* The ISO 8601 text of ms, in the arena. The last few are kept formatted:
 * the records of a file share few distinct times (a flow log's start and
 * end, @timestamp repeating one of them), and a copy is cheaper. */
static const char *iso_text(struct normalizer *nz, int64_t ms, size_t *n)
{
    struct iso_memo *m = NULL;
    for (int i = 0; i < ISO_MEMO && !m; i++)
        if (nz->iso[i].len && nz->iso[i].ms == ms) m = &nz->iso[i];
    if (!m) {
        m = &nz->iso[nz->iso_next++ % ISO_MEMO];
        m->ms = ms;
        m->len = ts_format_iso(ms, m->text);
    }
    char *o = arena_alloc(&nz->doc.arena, m->len);
    memcpy(o, m->text, m->len);
    *n = m->len;
    return o;
}

static void add_date(struct normalizer *nz, const struct field_rule *r, struct span v)
{
    int64_t ms;
    struct ts_ctx ctx = { nz->si->delivery_ms, 0 };
    if (v.kind == DV_NUM && r->ts_format == TS_AUTO) {
        if (ts_parse(TS_EPOCH, v.p, v.len, &ctx, &ms) < 0) return;
    } else if (ts_parse(r->ts_format, v.p, v.len, &ctx, &ms) < 0) {
        return;
    }
    size_t n;
    const char *iso = iso_text(nz, ms, &n);
    add_target(nz, r, DV_JSTR, iso, n);     /* nothing to escape */
}

/* Coerce a value to the rule's type and add it. */
/* "type": "json": the string is emitted as the object it holds, or not at all. */
static void add_json_text(struct normalizer *nz, const struct field_rule *r, struct span v)
{
    v = plain(nz, v);
    if ((v.kind != DV_STR && v.kind != DV_JSTR) || jv_is_object(&nz->scratch, v.p, v.len) < 0) return;
    size_t n = v.len;
    const char *p = jv_one_line(v.p, &n, &nz->doc.arena);
    add_target(nz, r, DV_RAW, p, n);
}

/* constant: v is one of the schema's values, checked against ECS at load. */
static void add_value(struct normalizer *nz, const struct field_rule *r, struct span v, int constant)
{
    if (!v.p) return;
    if (r->json_text) { add_json_text(nz, r, v); return; }
    if (v.kind == DV_RAW && r->type != ECS_GEO_POINT && r->type != ECS_OBJECT && r->type != ECS_FLATTENED)
        v.kind = DV_STR;      /* an object where a scalar belongs is kept as its JSON text */
    if (r->type != ECS_UNKNOWN && r->type != ECS_GEO_POINT) v = plain(nz, v);
    switch (r->type) {
    case ECS_IP:
        if (v.len > 2 && v.p[0] == '[' && v.p[v.len - 1] == ']') { v.p++; v.len -= 2; }
        if (!valid_ip(v.p, v.len)) { add_ip_fallback(nz, r, v); return; }
        v.kind = DV_JSTR;     /* hex digits, dots and colons: nothing to escape */
        break;
    case ECS_LONG:
        if (!is_integer(v.p, v.len)) return;
        v = canonical_integer(nz, v);
        v.kind = DV_NUM;
        break;
    case ECS_FLOAT:
        if (!is_json_number(v.p, v.len) || !float_in_range(nz, &v)) return;
        v.kind = DV_NUM;
        break;
    case ECS_BOOLEAN:
        if (v.len == 4 && strncasecmp(v.p, "true", 4) == 0) v.p = "true";
        else if (v.len == 5 && strncasecmp(v.p, "false", 5) == 0) v.p = "false";
        else return;
        v.kind = DV_BOOL;
        break;
    case ECS_DATE:
        add_date(nz, r, v);
        return;
    case ECS_GEO_POINT: {
        const char *gp;
        size_t gl;
        if (v.kind != DV_RAW || jv_geo_point(&nz->scratch, v.p, v.len, &nz->doc.arena, &gp, &gl) < 0) return;
        v.p = gp;
        v.len = (uint32_t)gl;
        break;
    }
    case ECS_UNKNOWN:
        /* OpenSearch maps a vendor number to a long or a float by its first value. */
        if (v.kind == DV_NUM && !is_integer(v.p, v.len) && !float_in_range(nz, &v)) return;
        break;
    default:
        if (v.kind == DV_NUM || v.kind == DV_BOOL) v.kind = DV_STR;
        if (r->allowed && !constant && !ecs_value_allowed_n(r->ecs, v.p, v.len)) return;
        break;
    }
    if (v.kind == DV_RAW) {
        size_t n = v.len;
        v.p = jv_one_line(v.p, &n, &nz->doc.arena);
        v.len = (uint32_t)n;
    }
    if (r->related_target) related_push(nz, r->related_target, v);
    else add_target(nz, r, v.kind, v.p, v.len);
    if (r->related) related_push(nz, r->related, v);
}

/* "map_prefix": the entry whose key is the longest prefix of the value. */
static const json_t *map_lookup_prefix(const json_t *map, struct span v)
{
    const json_t *best = NULL, *e;
    size_t best_len = 0;
    const char *k;
    json_object_foreach((json_t *)map, k, e) {
        size_t kl = strlen(k);
        if (kl <= v.len && kl >= best_len && memcmp(v.p, k, kl) == 0) { best = e; best_len = kl; }
    }
    return best;
}

/* *constant tells whether the result is one of the map's values. */
static struct span map_value(struct normalizer *nz, const struct field_rule *r, struct span v, int *constant)
{
    char key[256];
    const json_t *m;
    if (r->map_prefix) {
        m = map_lookup_prefix(r->map, v);
    } else {
        if (v.len >= sizeof key) return v;
        memcpy(key, v.p, v.len);
        key[v.len] = 0;
        m = json_object_get(r->map, key);
    }
    const char *out = m ? json_string_value(m) : r->map_default;
    *constant = out != NULL;
    if (out) { v.p = out; v.len = (uint32_t)strlen(out); v.kind = DV_STR; }
    else if (!m && r->map_drop) v.p = NULL;
    return v;
}

static void transform_and_add(struct normalizer *nz, const struct field_rule *r, struct span v)
{
    if (r->nops || r->map || r->split) v = plain(nz, v);
    for (int i = 0; i < r->nops; i++) {
        const char *p = v.p;
        size_t n = v.len;
        if (op_apply_memo(r->ops[i], &p, &n, &nz->doc.arena, &nz->memo) < 0) return;
        v.p = p;
        v.len = (uint32_t)n;
        v.kind = DV_STR;          /* an op's output (url_decode) may need escaping */
    }
    int constant = 0;
    if (r->map) v = map_value(nz, r, v, &constant);
    if (!v.p) return;
    if (!r->split) { add_value(nz, r, v, constant); return; }
    size_t sl = strlen(r->split);
    const char *p = v.p, *end = v.p + v.len;
    while (p <= end) {
        const char *sep = memmem(p, (size_t)(end - p), r->split, sl);
        const char *e = sep ? sep : end;
        struct span part = { p, (uint32_t)(e - p), DV_STR };
        const char *pp = part.p;
        size_t pn = part.len;
        if (op_apply(OP_TRIM, &pp, &pn, &nz->doc.arena) == 0) {
            part.p = pp;
            part.len = (uint32_t)pn;
            add_value(nz, r, part, constant);
        }
        if (!sep) break;
        p = sep + sl;
    }
}

/* "object" rules: one object per element of an array source, or from an object source. */
static void add_built_object(struct normalizer *nz, const struct field_rule *r, const struct jscan *js, int node)
{
    const char *o;
    size_t n;
    if (js->tok[node].type == J_ARR) {
        for (int e = jscan_first(js, node); e >= 0; e = jscan_next_elem(js, node, e)) add_built_object(nz, r, js, e);
        return;
    }
    if (js->tok[node].type != J_OBJ || jv_build_object(js, node, r->sub, r->nsub, &nz->tmp, &nz->doc.arena, &o, &n) < 0)
        return;
    o = jv_one_line(o, &n, &nz->doc.arena);
    add_target(nz, r, DV_RAW, o, n);
}

/* One source token: a JSON array feeding an array field (related.ip,
 * event.category) adds each element. */
static void add_token(struct normalizer *nz, const struct field_rule *r, const struct jscan *js, int t)
{
    if (r->nsub) { add_built_object(nz, r, js, t); return; }
    if (js->tok[t].type != J_ARR || !(r->array || r->split)) { transform_and_add(nz, r, span_of_token(js, t)); return; }
    for (int e = jscan_first(js, t); e >= 0; e = jscan_next_elem(js, t, e)) transform_and_add(nz, r, span_of_token(js, e));
}

#define MAX_MATCHES 256

/* A selector path feeding an array field: every match. Returns 1 when any matched. */
static int add_matches(struct normalizer *nz, const struct field_rule *r, const struct record *rec, const struct src_ref *ref)
{
    int tok[MAX_MATCHES];
    int n = nz->binding[ref->id] == BIND_JSON && rec->json
            ? jpath_all(rec->json, rec->json_root, ref->path, ref->len, tok, MAX_MATCHES) : 0;
    int found = 0;
    for (int i = 0; i < n; i++) {
        if (!span_of_token(rec->json, tok[i]).p) continue;
        found = 1;
        if (!r->if_present) add_token(nz, r, rec->json, tok[i]);
    }
    return found;
}

static void add_composed(struct normalizer *nz, const struct field_rule *r)
{
    struct span in[COMPOSE_MAX_INPUTS] = { { 0 } };
    const char *v;
    size_t n;
    for (int k = 0; k < r->ninputs; k++)
        if (r->input_slots[k] >= 0) in[k] = nz->slots[r->input_slots[k]];
    if (compose_apply(r->compose, in, &nz->doc.arena, &v, &n) == 0)
        add_value(nz, r, (struct span){ v, (uint32_t)n, DV_JSTR }, 0);      /* nothing to escape */
}

static void apply_rule(struct normalizer *nz, const struct field_rule *r, const struct record *rec)
{
    if (r->compose && !r->nfrom) { add_composed(nz, r); return; }
    if (r->value && !r->nfrom) {
        struct span c = { r->value, (uint32_t)strlen(r->value), DV_STR };
        add_value(nz, r, c, 1);
        return;
    }
    int found = 0;
    for (int i = 0; i < r->nfrom; i++) {
        if (r->from[i].sel && (r->array || r->split || r->nsub)) {
            if (!add_matches(nz, r, rec, &r->from[i])) continue;
            found = 1;
            if (r->if_present || !r->all) break;
            continue;
        }
        int tok;
        struct span v = get_src(nz, rec, &r->from[i], &tok);
        if (!v.p) continue;
        found = 1;
        if (r->if_present) break;
        if (tok >= 0) add_token(nz, r, rec->json, tok);
        else transform_and_add(nz, r, v);
        if (!r->all) break;
    }
    if (r->compose && !found) add_composed(nz, r);      /* the record's own value wins */
    const char *constant = found ? r->if_present : r->if_absent;
    if (constant) {
        struct span c = { constant, (uint32_t)strlen(constant), DV_STR };
        add_value(nz, r, c, 1);
    }
}

static int first_present(struct normalizer *nz, const struct record *rec, const struct src_ref *refs, int n,
                         struct span *out)
{
    for (int i = 0; i < n; i++) {
        int tok;
        struct span v = get_src(nz, rec, &refs[i], &tok);
        if (v.p) { *out = plain(nz, v); return 1; }
    }
    return 0;
}

static int event_time(struct normalizer *nz, const struct schema *sc, struct record *rec, int64_t *ms)
{
    struct ts_ctx ctx = { rec->delivery_ms ? rec->delivery_ms : nz->si->delivery_ms, sc->ts_tz };
    struct span v;
    if (sc->ts_join && sc->nts > 1) {
        buf_t tmp;
        buf_init(&tmp);
        for (int i = 0; i < sc->nts; i++) {
            int tok;
            struct span part = get_src(nz, rec, &sc->ts_from[i], &tok);
            if (!part.p) { buf_free(&tmp); goto delivery; }
            if (i) buf_puts(&tmp, sc->ts_join);
            buf_append(&tmp, part.p, part.len);
        }
        int rc = ts_parse(sc->ts_format, tmp.data, tmp.len, &ctx, ms);
        if (rc < 0) record_fail(rec, "timestamp: cannot parse \"%.*s\"", (int)(tmp.len > 64 ? 64 : tmp.len), tmp.data);
        buf_free(&tmp);
        return rc;
    }
    if (first_present(nz, rec, sc->ts_from, sc->nts, &v)) {
        if (ts_parse(sc->ts_format, v.p, v.len, &ctx, ms) == 0) return 0;
        return record_fail(rec, "timestamp: cannot parse \"%.*s\"", (int)(v.len > 64 ? 64 : v.len), v.p);
    }
delivery:
    if (sc->ts_delivery && ctx.ref_ms) { *ms = ctx.ref_ms; return 0; }
    return record_fail(rec, "timestamp: no value in %s", sc->nts ? sc->ts_from[0].path : "delivery time");
}

/* Scalar string fields the engine sets itself (none of them is an ECS array). */
static void add_fixed(struct normalizer *nz, enum fixed_field f, int kind, const char *v, size_t n)
{
    doc_add_path(&nz->doc, &nz->fixed[f], kind, 0, v, n);
}

static void add_cstr(struct normalizer *nz, enum fixed_field f, const char *v)
{
    add_fixed(nz, f, DV_STR, v, strlen(v));
}

/* AWSLogs/<account>/<service>/<region>/... in an S3 key: the account and region, when there. */
static void key_cloud(const char *key, struct span *account, struct span *region)
{
    const char *p = key ? strstr(key, "AWSLogs/") : NULL;
    if (!p) return;
    p += 8;
    size_t n = 0;
    while (isdigit((unsigned char)p[n])) n++;
    if (n != 12 || p[n] != '/') return;
    *account = (struct span){ p, (uint32_t)n, DV_STR };
    const char *svc = p + n + 1, *slash = strchr(svc, '/');
    const char *reg = slash ? slash + 1 : NULL, *rend = reg ? strchr(reg, '/') : NULL;
    if (rend && rend - reg >= 9 && rend - reg < 20 && reg[2] == '-')
        *region = (struct span){ reg, (uint32_t)(rend - reg), DV_STR };
}

/* The facts of the stream's key (NULL without one). The records of an
 * object share its key, so they are worked out when the key changes; keys
 * are compared by content, as a caller may reuse the memory of a key. The
 * spans point into the memo's copy. */
static const struct key_facts *key_facts(struct normalizer *nz)
{
    const char *key = nz->si->s3_key;
    if (!key) return NULL;
    struct key_facts *k = &nz->key;
    size_t n = strlen(key);
    if (k->known && k->key.len == n && memcmp(k->key.data, key, n) == 0) return k;
    buf_reset(&k->key);
    buf_append(&k->key, key, n);
    buf_t esc;
    buf_init(&esc);
    jw_escape(&esc, key, n);
    k->safe = esc.len == n && memcmp(esc.data, key, n) == 0;
    buf_free(&esc);
    k->account = k->region = (struct span){ NULL, 0, DV_STR };
    key_cloud(buf_cstr(&k->key), &k->account, &k->region);
    k->known = 1;
    return k;
}

/* cloud.*: what the rules found wins; the account comes next from the
 * CloudWatch Logs payload owner, then from the key. */
static void add_cloud(struct normalizer *nz, const struct key_facts *k)
{
    if (!doc_get_path(&nz->doc, &nz->fixed[FX_ACCOUNT])) {
        if (nz->si->account_id) add_cstr(nz, FX_ACCOUNT, nz->si->account_id);
        else if (k && k->account.p) add_fixed(nz, FX_ACCOUNT, DV_STR, k->account.p, k->account.len);
    }
    add_fixed(nz, FX_PROVIDER, DV_JSTR, "aws", 3);
    if (k && k->region.p && !doc_get_path(&nz->doc, &nz->fixed[FX_REGION]))
        add_fixed(nz, FX_REGION, DV_STR, k->region.p, k->region.len);
}

/* Flat formats: every column no rule used goes under the vendor namespace. */
static void add_vendor_rest(struct normalizer *nz, const struct record *rec)
{
    for (int i = 0; i < nz->nvendor; i++) {
        const struct vendor_col *vc = &nz->vendor[i];
        const struct span *v = &rec->cols[vc->col];
        if (vc->col >= rec->ncols || !v->p) continue;
        doc_add_path(&nz->doc, &vc->path, v->kind == DV_JSTR ? DV_JSTR : DV_STR, 0, v->p, v->len);
    }
}

static void add_geoip(struct normalizer *nz, const struct schema *sc)
{
    if (!nz->opts.geoip) return;
    for (int i = 0; i < sc->ngeoip; i++) {
        const struct geoip_paths *gp = &sc->geoip_paths[i];
        const struct doc_field *f = doc_get_path(&nz->doc, &gp->ip_path);
        if (f && !doc_get_path(&nz->doc, &gp->location_path))
            geoip_enrich(nz->opts.geoip, &nz->doc, sc->geoip[i], f->v, f->vlen);
    }
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void encode_b64url(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        out[o++] = b64url[v >> 18 & 63];
        out[o++] = b64url[v >> 12 & 63];
        if (i + 1 < n) out[o++] = b64url[v >> 6 & 63];
        if (i + 2 < n) out[o++] = b64url[v & 63];
    }
    out[o] = 0;
}

static int same_text(buf_t *b, const char *s)
{
    return b->len && strcmp(buf_cstr(b), s) == 0;
}

/* The digest state after type and origin. The records of an object share
 * both, and hashing the key is a good part of each record's digest: the
 * state is kept and copied while they stay the same. */
static const EVP_MD_CTX *hash_prefix(struct normalizer *nz, const char *type, const char *origin)
{
    if (same_text(&nz->prefix_type, type) && same_text(&nz->prefix_origin, origin)) return nz->prefix_md;
    EVP_DigestInit_ex(nz->prefix_md, nz->sha256, NULL);
    EVP_DigestUpdate(nz->prefix_md, type, strlen(type) + 1);
    EVP_DigestUpdate(nz->prefix_md, origin, strlen(origin) + 1);
    buf_reset(&nz->prefix_type);
    buf_append(&nz->prefix_type, type, strlen(type) + 1);
    buf_reset(&nz->prefix_origin);
    buf_append(&nz->prefix_origin, origin, strlen(origin) + 1);
    return nz->prefix_md;
}

void doc_id_hash(struct normalizer *nz, const char *type, const char *origin, uint64_t ordinal,
                 const char *raw, size_t rawlen, char out[32])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen;
    char ord[24];
    int ol = 0;
    char rev[24];
    do { rev[ol++] = (char)('0' + ordinal % 10); ordinal /= 10; } while (ordinal);
    for (int i = 0; i < ol; i++) ord[i] = rev[ol - 1 - i];
    ord[ol] = 0;
    EVP_MD_CTX_copy_ex(nz->md, hash_prefix(nz, type, origin ? origin : ""));
    EVP_DigestUpdate(nz->md, ord, (size_t)ol + 1);
    EVP_DigestUpdate(nz->md, raw, rawlen);
    EVP_DigestFinal_ex(nz->md, md, &mdlen);
    encode_b64url(md, 16, out);
}

#define MAX_NATURAL_ID 100

static void make_id(struct normalizer *nz, const struct schema *sc, struct record *rec, struct norm_result *res)
{
    struct span v, sfx;
    if (first_present(nz, rec, sc->id_from, sc->nid, &v)) {
        int has_sfx = sc->id_suffix && first_present(nz, rec, sc->id_suffix, 1, &sfx);
        size_t len = v.len + (has_sfx ? sfx.len + 1 : 0);
        char *id = arena_alloc(&nz->doc.arena, len + 1);
        snprintf(id, len + 1, "%.*s%s%.*s", (int)v.len, v.p, has_sfx ? "_" : "", has_sfx ? (int)sfx.len : 0,
                 has_sfx ? sfx.p : "");
        /* A longer id (Security Hub finding ARNs) is hashed: still a function of the id alone. */
        if (len < MAX_NATURAL_ID) memcpy(res->id, id, len + 1);
        else doc_id_hash(nz, sc->name, "id", 0, id, len, res->id);
        return;
    }
    /* No id of its own: hash the record with where it came from. A CloudWatch
     * Logs event id is unique; otherwise the object key and record ordinal. */
    const char *origin = rec->event_id ? rec->event_id : nz->si->s3_key ? nz->si->s3_key : nz->si->log_group;
    doc_id_hash(nz, sc->name, origin, rec->event_id ? 0 : rec->ordinal, rec->raw, rec->raw_len, res->id);
}

/* The index name changes at most daily; reuse it while the record's time
 * falls in the same UTC hour as the last one (every rotation boundary, in
 * any whole-quarter-hour zone, is also an hour boundary in UTC or 15 min). */
static void make_index(struct normalizer *nz, const struct schema *sc, struct norm_result *res)
{
    if (nz->index_schema != sc || res->ts_ms < nz->index_from || res->ts_ms >= nz->index_to) {
        char suffix[32];
        size_t n = ts_index_suffix(res->ts_ms, (enum rotation)sc->rotation, sc->index_tz, suffix);
        snprintf(nz->index_name, sizeof nz->index_name, "%s%s%s%s", nz->opts.index_prefix ? nz->opts.index_prefix : "",
                 sc->index_name, n ? "-" : "", suffix);
        nz->index_schema = sc;
        nz->index_from = res->ts_ms - (res->ts_ms % 900000 + 900000) % 900000;
        nz->index_to = nz->index_from + 900000;
    }
    memcpy(res->index, nz->index_name, sizeof res->index);
}

static int required_present(struct normalizer *nz, const struct schema *sc, const struct record *rec)
{
    for (int i = 0; i < sc->nrequire; i++) {
        int tok;
        if (!get_src(nz, rec, &sc->require[i], &tok).p) return 0;
    }
    return 1;
}

static void add_fixed_fields(struct normalizer *nz, const struct schema *sc, const struct record *rec, int64_t ts)
{
    size_t n;
    const char *iso = iso_text(nz, ts, &n);
    add_fixed(nz, FX_TIMESTAMP, DV_JSTR, iso, n);      /* our own text: nothing to escape */
    if (nz->si->log_group) add_cstr(nz, FX_LOG_GROUP, nz->si->log_group);
    const struct key_facts *k = key_facts(nz);
    if (k && !nz->si->key_is_local) add_fixed(nz, FX_S3_KEY, k->safe ? DV_JSTR : DV_STR, k->key.data, k->key.len);
    add_cloud(nz, k);
    add_fixed(nz, FX_ECS_VERSION, DV_JSTR, "9.4.0", 5);
    if (sc->dataset) add_cstr(nz, FX_DATASET, sc->dataset);
    /* One ingest time per millisecond: formatting it per record is measurable. */
    int64_t now = ts_now_ms();
    if (now != nz->ingested_ms) { nz->ingested_ms = now; nz->ingested_len = ts_format_iso(now, nz->ingested); }
    add_fixed(nz, FX_INGESTED, DV_JSTR, nz->ingested, nz->ingested_len);
    if (sc->module) add_cstr(nz, FX_MODULE, sc->module);
    if (nz->opts.keep_original) add_fixed(nz, FX_ORIGINAL, DV_STR, rec->raw, rec->raw_len);
}

struct lookup_ctx {
    struct normalizer *nz;
    const struct record *rec;
};

/* A raw field by name (column or JSON path), else an ECS field of the document. */
static int lookup_any(void *arg, const char *path, const char **v, size_t *n)
{
    struct lookup_ctx *lc = arg;
    const struct record *rec = lc->rec;
    struct span sp = { NULL, 0, DV_STR };
    for (int c = 0; rec->layout && c < rec->layout->n && c < rec->ncols; c++)
        if (strcmp(rec->layout->names[c], path) == 0) { sp = rec->cols[c]; break; }
    if (!sp.p && rec->json) {
        int t = jscan_path(rec->json, rec->json_root, path, strlen(path));
        if (t >= 0) sp = span_of_token(rec->json, t);
    }
    if (!sp.p) {
        const struct doc_field *f = doc_get(&lc->nz->doc, path);
        if (!f) return 0;
        sp.p = f->v;
        sp.len = f->vlen;
        sp.kind = f->kind;
    }
    sp = plain(lc->nz, sp);
    *v = sp.p;
    *n = sp.len;
    return 1;
}

/* The original system's "ignore own logs": our own S3 reads show up in
 * CloudTrail data events and S3 access logs; indexing them would feed back. */
static int own_access(struct normalizer *nz)
{
    const char *ua = nz->opts.own_user_agent;
    if (!ua || !*ua) return 0;
    const struct doc_field *f = doc_get(&nz->doc, "user_agent.original");
    const struct doc_field *a = doc_get(&nz->doc, "event.action");
    if (!f || !a || !memmem(f->v, f->vlen, ua, strlen(ua))) return 0;
    return (a->vlen == 9 && memcmp(a->v, "GetObject", 9) == 0) || (a->vlen == 15 && memcmp(a->v, "REST.GET.OBJECT", 15) == 0);
}

static void clear_slots(struct normalizer *nz, const struct schema *sc)
{
    if (nz->slots_cap < sc->nslots) {
        nz->slots_cap = sc->nslots;
        nz->slots = xrealloc(nz->slots, (size_t)sc->nslots * sizeof *nz->slots);
    }
    if (sc->nslots) memset(nz->slots, 0, (size_t)sc->nslots * sizeof *nz->slots);
}

int normalize_record(struct normalizer *nz, const struct schema *sc, const struct stream_info *si,
                     struct record *rec, struct norm_result *res)
{
    doc_reset(&nz->doc);
    nz->nrelated = 0;
    op_memo_clear(&nz->memo);
    nz->jx_scanned = 0;
    nz->si = si;
    bind_sources(nz, sc, rec);
    clear_slots(nz, sc);
    if (!required_present(nz, sc, rec)) { rec->skip_reason = "not an event"; return NORM_SKIP; }
    if (event_time(nz, sc, rec, &res->ts_ms) < 0) return NORM_FAIL;
    for (int i = 0; i < sc->nrules; i++) apply_rule(nz, &sc->rules[i], rec);
    related_flush(nz);
    struct lookup_ctx lc = { nz, rec };
    if (exclusions_match(nz->opts.exclude, sc, lookup_any, &lc)) { rec->skip_reason = NORM_REASON_EXCLUDED; return NORM_SKIP; }
    if (own_access(nz)) { rec->skip_reason = NORM_REASON_OWN_ACCESS; return NORM_SKIP; }
    add_fixed_fields(nz, sc, rec, res->ts_ms);
    add_vendor_rest(nz, rec);
    add_geoip(nz, sc);
    if (sc->ua) ua_enrich(sc->ua, &nz->ua_cache, &nz->doc);
    make_id(nz, sc, rec, res);
    make_index(nz, sc, res);
    return NORM_OK;
}
