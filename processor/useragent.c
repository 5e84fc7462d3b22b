/* useragent: see useragent.h.
 *
 * Three ordered lists of rules: "agents" (user_agent.name and .version, and
 * for crawlers the device), "os" (user_agent.os.*) and "devices"
 * (user_agent.device.name). In each list the first rule that matches wins.
 * A rule matches when its "find" token is in the string where "at" says
 * (by default at word edges: "Chrome/" is not found inside "HeadlessChrome/"),
 * every "and" token is present and no "not" token is. What it yields is its
 * "name", or text around the match ("name_from"); the version is the digits
 * and dots right after the token (or after "version_from").
 *
 * Most rules cannot match a given string: one pass over it first notes every
 * 4-byte sequence it holds (case folded, hashed into a bitset), and a rule
 * whose token starts with a sequence not noted is passed over without a
 * search. Results are also cached per thread by the whole string: CloudTrail
 * repeats a few agents for most of its events. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "useragent.h"

#define TOKEN_MAX   64      /* longest token a rule may name */
#define NAME_LEN_MAX   64      /* longest name or device taken from the data */
#define VERSION_MAX 31
#define MAX_LIST    1024    /* rules per list */

enum at { AT_WORD, AT_ANY, AT_START, AT_WHOLE, AT_END };
enum name_from { FROM_RULE, FROM_VALUE, FROM_WORD, FROM_SEGMENT };
enum list { L_AGENTS, L_OS, L_DEVICES, L_COUNT };

struct token {
    char  *s;          /* NULL: none */
    size_t n;
};

struct version_pair {
    char *from, *to;
};

struct ua_rule {
    struct token find;
    int gram;                      /* the bit of find's first 4 bytes (see "grams"), -1: none */
    int at, nocase;                /* nocase: find is stored lower-case */
    struct token *all, *none;      /* "and", "not" */
    int nall, nnone;
    char *name;                    /* FROM_RULE */
    int name_from;
    struct token version_from;     /* none: the version follows find */
    int skip_words;                /* words between the token and the version */
    int kernel;                    /* os: the version is the kernel's */
    struct version_pair *vmap;
    int nvmap;
    char *device;                  /* agents: the device the agent implies ("Spider") */
    struct token cut;              /* FROM_SEGMENT: the text from here on is dropped */
};

struct rule_list {
    struct ua_rule *v;
    int n;
};

struct ua_rules {
    struct rule_list list[L_COUNT];
    struct doc_path path[UA_NFIELDS];
    struct doc_path source;
};

static const char *const field_paths[UA_NFIELDS] = {
    "user_agent.name", "user_agent.version", "user_agent.os.name", "user_agent.os.version",
    "user_agent.os.full", "user_agent.os.kernel", "user_agent.device.name",
};

static const char *const list_names[L_COUNT + 1] = { "agents", "os", "devices", NULL };

/* The keys each list's rules may have, besides find, at, nocase, and, not. */
static const char *const list_keys[L_COUNT][6] = {
    { "name", "name_from", "version_from", "device", NULL },
    { "name", "version_from", "skip_words", "kernel", "version_map", NULL },
    { "name", "name_from", "cut", NULL },
};
static const char *const common_keys[] = { "find", "at", "nocase", "and", "not", NULL };
static const char *const at_names[] = { "word", "any", "start", "whole", "end", NULL };
static const char *const from_names[] = { "", "value", "word", "segment", NULL };
/* Which name_from values each list allows (bit per enum name_from). */
static const unsigned list_from[L_COUNT] = { 1u << FROM_VALUE | 1u << FROM_WORD, 0, 1u << FROM_SEGMENT };

const char *ua_field_path(enum ua_field f) { return f < UA_NFIELDS ? field_paths[f] : NULL; }

/* ---- compiling ------------------------------------------------------------ */

struct compile_ctx {
    const char *origin;
    char *err;
    size_t errlen;
    int failed;
    const char *list;
    int index;
};

static void cerr(struct compile_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cerr(struct compile_ctx *c, const char *fmt, ...)
{
    if (c->failed) return;
    c->failed = 1;
    int n = c->list ? snprintf(c->err, c->errlen, "%s: %s[%d]: ", c->origin, c->list, c->index)
                    : snprintf(c->err, c->errlen, "%s: ", c->origin);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < c->errlen) vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

static int in_list(const char *const *names, const char *s)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], s) == 0) return i;
    return -1;
}

static int is_word_char(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

/* Printable ASCII without '"' and '\\': written into JSON as it is. */
static int is_plain(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e || s[i] == '"' || s[i] == '\\') return 0;
    return 1;
}

/* A string of 1..max bytes without NULs, or "what" is an error. */
static const char *text_of(struct compile_ctx *c, const json_t *v, size_t max, const char *what)
{
    const char *s = json_string_value(v);
    if (!s || !*s || strlen(s) != json_string_length(v) || strlen(s) > max) {
        cerr(c, "%s: expected a string of 1 to %zu bytes", what, max);
        return NULL;
    }
    return s;
}

static struct token make_token(struct compile_ctx *c, const json_t *v, const char *what)
{
    struct token t = { NULL, 0 };
    const char *s = text_of(c, v, TOKEN_MAX, what);
    if (s) { t.s = xstrdup(s); t.n = strlen(s); }
    return t;
}

static struct token *make_tokens(struct compile_ctx *c, const json_t *v, int *count, const char *what)
{
    *count = 0;
    if (!v) return NULL;
    if (!json_is_array(v)) { cerr(c, "%s: expected an array of strings", what); return NULL; }
    struct token *t = xcalloc(json_array_size(v) + 1, sizeof *t);
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e) {
        t[*count] = make_token(c, e, what);
        if (t[*count].s) (*count)++;
    }
    return t;
}

/* A name that goes into documents as it is: printable ASCII. */
static const char *name_text(struct compile_ctx *c, const json_t *v, size_t max, const char *what)
{
    const char *s = text_of(c, v, max, what);
    if (s && !is_plain(s, strlen(s))) cerr(c, "%s: printable ASCII only, without '\"' or '\\'", what);
    return s;
}

static char *make_name(struct compile_ctx *c, const json_t *v, const char *what)
{
    const char *s = name_text(c, v, NAME_LEN_MAX, what);
    return s ? xstrdup(s) : NULL;
}

static void check_keys(struct compile_ctx *c, int list, const json_t *o)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)o, k, v)
        if (in_list(common_keys, k) < 0 && in_list(list_keys[list], k) < 0) cerr(c, "unknown key \"%s\"", k);
}

static void compile_version_map(struct compile_ctx *c, struct ua_rule *r, const json_t *m)
{
    if (!m) return;
    if (!json_is_object(m)) { cerr(c, "version_map: expected an object of version -> version"); return; }
    r->vmap = xcalloc(json_object_size(m) + 1, sizeof *r->vmap);
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)m, k, v) {
        if (!name_text(c, v, VERSION_MAX, "version_map")) return;
        r->vmap[r->nvmap].from = xstrdup(k);
        r->vmap[r->nvmap++].to = xstrdup(json_string_value(v));
    }
}

static void compile_name(struct compile_ctx *c, int list, struct ua_rule *r, const json_t *o)
{
    const json_t *name = json_object_get(o, "name"), *from = json_object_get(o, "name_from");
    if (from) {
        int f = json_is_string(from) ? in_list(from_names, json_string_value(from)) : -1;
        if (f <= 0 || !(list_from[list] & 1u << f)) { cerr(c, "name_from: not one this list allows"); return; }
        r->name_from = f;
    }
    if (!name == !from) { cerr(c, "needs either \"name\" or \"name_from\""); return; }
    if (name) r->name = make_name(c, name, "name");
}

/* ---- grams: which 4-byte sequences a string holds -------------------------- */

#define GRAM_BITS 12
#define GRAM_WORDS ((1u << GRAM_BITS) / 64)

/* Bit of the 4 bytes at p, case folded (p is lower-case already). */
static unsigned gram_of(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return (v * 0x9e3779b1u) >> (32 - GRAM_BITS);
}

/* Searched rules (word, any) whose token is long enough get a gram. */
static int rule_gram(const struct ua_rule *r)
{
    char low[4];
    if (r->find.n < 4 || (r->at != AT_WORD && r->at != AT_ANY)) return -1;
    for (int i = 0; i < 4; i++) low[i] = lower(r->find.s[i]);
    return (int)gram_of(low);
}

static void compile_rule(struct compile_ctx *c, int list, const json_t *o, struct ua_rule *r)
{
    memset(r, 0, sizeof *r);
    if (!json_is_object(o)) { cerr(c, "expected an object"); return; }
    check_keys(c, list, o);
    r->find = make_token(c, json_object_get(o, "find"), "find");
    const json_t *at = json_object_get(o, "at");
    r->at = at ? in_list(at_names, json_string_value(at) ? json_string_value(at) : "") : AT_WORD;
    if (r->at < 0) cerr(c, "at: expected word, any, start, whole or end");
    r->nocase = json_is_true(json_object_get(o, "nocase"));
    for (size_t i = 0; r->nocase && i < r->find.n; i++) r->find.s[i] = lower(r->find.s[i]);
    r->all = make_tokens(c, json_object_get(o, "and"), &r->nall, "and");
    r->none = make_tokens(c, json_object_get(o, "not"), &r->nnone, "not");
    compile_name(c, list, r, o);
    if (json_object_get(o, "version_from")) r->version_from = make_token(c, json_object_get(o, "version_from"), "version_from");
    if (json_object_get(o, "cut")) r->cut = make_token(c, json_object_get(o, "cut"), "cut");
    if (json_object_get(o, "device")) r->device = make_name(c, json_object_get(o, "device"), "device");
    const json_t *skip = json_object_get(o, "skip_words");
    r->skip_words = skip ? (int)json_integer_value(skip) : 0;
    if (skip && (!json_is_integer(skip) || r->skip_words < 0 || r->skip_words > 4)) cerr(c, "skip_words: expected 0 to 4");
    r->kernel = json_is_true(json_object_get(o, "kernel"));
    compile_version_map(c, r, json_object_get(o, "version_map"));
    r->gram = r->find.s && r->at >= 0 ? rule_gram(r) : -1;
}

static void free_rule(struct ua_rule *r)
{
    free(r->find.s);
    for (int i = 0; i < r->nall; i++) free(r->all[i].s);
    for (int i = 0; i < r->nnone; i++) free(r->none[i].s);
    free(r->all);
    free(r->none);
    free(r->name);
    free(r->version_from.s);
    for (int i = 0; i < r->nvmap; i++) { free(r->vmap[i].from); free(r->vmap[i].to); }
    free(r->vmap);
    free(r->device);
    free(r->cut.s);
}

static void compile_list(struct compile_ctx *c, struct ua_rules *u, int list, const json_t *arr)
{
    struct rule_list *l = &u->list[list];
    c->list = NULL;
    if (!json_is_array(arr) || json_array_size(arr) > MAX_LIST) {
        cerr(c, "%s: expected an array of at most %d rules", list_names[list], MAX_LIST);
        return;
    }
    l->v = xcalloc(json_array_size(arr) + 1, sizeof *l->v);
    c->list = list_names[list];
    size_t i;
    const json_t *o;
    json_array_foreach(arr, i, o) {
        c->index = (int)i;
        compile_rule(c, list, o, &l->v[l->n++]);
    }
    c->list = NULL;
}

struct ua_rules *ua_rules_compile(const json_t *root, const char *origin, char *err, size_t errlen)
{
    struct compile_ctx c = { origin, err, errlen, 0, NULL, 0 };
    struct ua_rules *u = xcalloc(1, sizeof *u);
    const char *k;
    const json_t *v;
    if (!json_is_object(root)) cerr(&c, "expected an object with the lists agents, os and devices");
    json_object_foreach((json_t *)root, k, v)
        if (strcmp(k, "about") != 0 && in_list(list_names, k) < 0) cerr(&c, "unknown key \"%s\"", k);
    for (int l = 0; l < L_COUNT && !c.failed; l++) compile_list(&c, u, l, json_object_get(root, list_names[l]));
    if (c.failed) { ua_rules_free(u); return NULL; }
    for (int f = 0; f < UA_NFIELDS; f++) doc_path_init(&u->path[f], field_paths[f]);
    doc_path_init(&u->source, "user_agent.original");
    return u;
}

struct ua_rules *ua_rules_load(const char *path, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) { snprintf(err, errlen, "%s:%d: %s", path, je.line, je.text); return NULL; }
    struct ua_rules *u = ua_rules_compile(root, path, err, errlen);
    json_decref(root);
    return u;
}

void ua_rules_free(struct ua_rules *u)
{
    if (!u) return;
    for (int l = 0; l < L_COUNT; l++) {
        for (int i = 0; i < u->list[l].n; i++) free_rule(&u->list[l].v[i]);
        free(u->list[l].v);
    }
    free(u);
}

int ua_rules_count(const struct ua_rules *u)
{
    int n = 0;
    for (int l = 0; l < L_COUNT; l++) n += u->list[l].n;
    return n;
}

/* ---- matching ----------------------------------------------------------------- */

/* The string being parsed, trimmed; its lower-case copy and its grams. */
struct subject {
    const char *s;
    size_t n;
    uint64_t grams[GRAM_WORDS];
    char lower[UA_SCAN_MAX];
};

/* Blanks around it and one pair of brackets (CloudTrail writes some agents
 * as "[aws-cli/... botocore/...]") are not part of it. */
static int subject_init(struct subject *x, const char *s, size_t n)
{
    while (n && (*s == ' ' || *s == '\t')) { s++; n--; }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') { s++; n -= 2; }
    if (n == 0 || (n == 1 && s[0] == '-')) return -1;
    x->s = s;
    x->n = n < UA_SCAN_MAX ? n : UA_SCAN_MAX;
    for (size_t i = 0; i < x->n; i++) x->lower[i] = lower(x->s[i]);
    memset(x->grams, 0, sizeof x->grams);
    for (size_t i = 0; i + 4 <= x->n; i++) {
        unsigned g = gram_of(x->lower + i);
        x->grams[g / 64] |= 1ULL << (g % 64);
    }
    return 0;
}

static int may_hold(const struct subject *x, const struct ua_rule *r)
{
    return r->gram < 0 || (x->grams[r->gram / 64] >> (r->gram % 64) & 1);
}

/* Where t is in hay, or NULL. memchr finds the candidates: for tokens this
 * short in strings this short it is several times faster than memmem, which
 * prepares a skip table on every call. */
static const char *find_bytes(const char *hay, size_t n, const char *t, size_t tn)
{
    if (tn > n) return NULL;
    const char *p = hay, *last = hay + n - tn;
    while (p <= last && (p = memchr(p, t[0], (size_t)(last - p) + 1)) != NULL) {
        if (memcmp(p + 1, t + 1, tn - 1) == 0) return p;
        p++;
    }
    return NULL;
}

static int word_edge(const char *hay, const char *end, const char *p, const struct token *t)
{
    int before = p == hay || !is_word_char((unsigned char)p[-1]) || !is_word_char((unsigned char)t->s[0]);
    const char *e = p + t->n;
    int after = e == end || !is_word_char((unsigned char)*e) || !is_word_char((unsigned char)t->s[t->n - 1]);
    return before && after;
}

static const char *find_word(const char *hay, size_t n, const struct token *t)
{
    const char *p = hay, *end = hay + n;
    while ((p = find_bytes(p, (size_t)(end - p), t->s, t->n)) != NULL) {
        if (word_edge(hay, end, p, t)) return p;
        p++;
    }
    return NULL;
}

/* Where r's token is in x, or NULL. */
static const char *find_token(const struct ua_rule *r, const struct subject *x)
{
    if (!may_hold(x, r)) return NULL;
    const char *hay = r->nocase ? x->lower : x->s, *p = NULL;
    size_t tn = r->find.n;
    switch (r->at) {
    case AT_START: p = x->n >= tn && memcmp(hay, r->find.s, tn) == 0 ? hay : NULL; break;
    case AT_WHOLE: p = x->n == tn && memcmp(hay, r->find.s, tn) == 0 ? hay : NULL; break;
    case AT_END:   p = x->n >= tn && memcmp(hay + x->n - tn, r->find.s, tn) == 0 ? hay + x->n - tn : NULL; break;
    case AT_ANY:   p = find_bytes(hay, x->n, r->find.s, tn); break;
    default:       p = find_word(hay, x->n, &r->find); break;
    }
    return p ? x->s + (p - hay) : NULL;
}

static int has_any(const struct subject *x, const struct token *t, int n)
{
    for (int i = 0; i < n; i++)
        if (find_bytes(x->s, x->n, t[i].s, t[i].n)) return 1;
    return 0;
}

static const char *rule_match(const struct ua_rule *r, const struct subject *x)
{
    const char *at = find_token(r, x);
    if (!at || has_any(x, r->none, r->nnone)) return NULL;
    for (int i = 0; i < r->nall; i++)
        if (!find_bytes(x->s, x->n, r->all[i].s, r->all[i].n)) return NULL;
    return at;
}

/* ---- taking text ------------------------------------------------------------- */

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* The version at p: a digit, then digits and single dots (an OS version
 * also takes '_' for a dot: "10_15_7"). Returns its length in out. */
static size_t take_version(const char *p, const char *end, int os, char *out)
{
    size_t n = 0;
    if (p >= end || !is_digit(*p)) return 0;
    for (; p < end && n < VERSION_MAX; p++) {
        char c = os && *p == '_' ? '.' : *p;
        if (!is_digit(c) && (c != '.' || out[n - 1] == '.')) break;
        out[n++] = c;
    }
    while (n && out[n - 1] == '.') n--;
    return n;
}

static const char *skip_words(const char *p, const char *end, int words)
{
    for (int i = 0; i < words; i++) {
        while (p < end && *p != ' ') p++;
        while (p < end && *p == ' ') p++;
    }
    return p;
}

/* Where the version of a rule that matched at m starts; NULL when its
 * version_from token is not there. */
static const char *version_start(const struct ua_rule *r, const struct subject *x, const char *m)
{
    const char *p = m + r->find.n;
    if (r->version_from.s) {
        p = find_bytes(x->s, x->n, r->version_from.s, r->version_from.n);
        if (!p) return NULL;
        p += r->version_from.n;
    }
    return skip_words(p, x->s + x->n, r->skip_words);
}

static int is_name_char(char c) { return is_word_char((unsigned char)c) || c == '-' || c == '_' || c == '.'; }

/* The run of name characters around m: "Googlebot" for "bot/" in "Googlebot/2.1". */
static void word_around(const struct subject *x, const char *m, const char **w, size_t *wn)
{
    const char *b = m, *e = m, *end = x->s + x->n;
    while (b > x->s && is_name_char(b[-1])) b--;
    while (e < end && is_name_char(*e)) e++;
    *w = b;
    *wn = (size_t)(e - b);
}

/* "en-us", "ko_KR", "en", "U": language and security segments of old agents, not a device. */
static int locale_like(const char *p, size_t n)
{
    if (n == 1) return p[0] == 'U' || p[0] == 'I' || p[0] == 'N';
    if (n == 2) return p[0] >= 'a' && p[0] <= 'z' && p[1] >= 'a' && p[1] <= 'z';
    return n == 5 && (p[2] == '-' || p[2] == '_');
}

static const char *segment_end(const char *p, const char *end)
{
    while (p < end && *p != ';' && *p != ')') p++;
    return p;
}

/* The ';'-separated segment after the one holding m, in the same brackets:
 * "SM-S918B" in "(Linux; Android 13; SM-S918B Build/TP1A)". */
static int segment_after(const struct ua_rule *r, const struct subject *x, const char *m, const char **o, size_t *on)
{
    const char *end = x->s + x->n, *p = segment_end(m, end);
    while (p < end && *p == ';') {
        p++;
        while (p < end && *p == ' ') p++;
        const char *e = segment_end(p, end), *next = e;
        const char *cut = r->cut.s ? find_bytes(p, (size_t)(e - p), r->cut.s, r->cut.n) : NULL;
        if (cut) e = cut;
        while (e > p && e[-1] == ' ') e--;
        if (!locale_like(p, (size_t)(e - p))) { *o = p; *on = (size_t)(e - p); return 0; }
        p = next;
    }
    return -1;
}

/* ---- results ------------------------------------------------------------------ */

static void put(struct ua_result *res, enum ua_field f, const char *p, size_t n)
{
    if (!n || res->len[f] || (size_t)res->used + n > UA_TEXT_MAX) return;
    memcpy(res->text + res->used, p, n);
    res->off[f] = res->used;
    res->len[f] = (uint8_t)n;
    res->plain[f] = (uint8_t)is_plain(p, n);
    res->used = (uint16_t)(res->used + n);
}

static void put_str(struct ua_result *res, enum ua_field f, const char *s) { put(res, f, s, strlen(s)); }

/* The name a rule gives at match m (and where its version follows, for
 * names taken from a word); -1 when the text around m has none. */
static int rule_name(const struct ua_rule *r, const struct subject *x, const char *m, const char **name,
                     size_t *n, const char **vat)
{
    *vat = NULL;
    switch (r->name_from) {
    case FROM_VALUE:
        *name = x->s;
        *n = x->n;
        break;
    case FROM_WORD:
        word_around(x, m, name, n);
        if (*name + *n < x->s + x->n && (*name)[*n] == '/') *vat = *name + *n + 1;
        break;
    case FROM_SEGMENT:
        if (segment_after(r, x, m, name, n) < 0) return -1;
        break;
    default:
        *name = r->name;
        *n = strlen(r->name);
        return 0;
    }
    if (*n > NAME_LEN_MAX) *n = NAME_LEN_MAX;
    return *n ? 0 : -1;
}

/* user_agent.name and .version; returns the device the agent implies, or NULL. */
static const char *parse_agent(const struct rule_list *l, const struct subject *x, struct ua_result *res)
{
    for (int i = 0; i < l->n; i++) {
        const struct ua_rule *r = &l->v[i];
        const char *m = rule_match(r, x), *name, *vat;
        size_t n;
        if (!m || rule_name(r, x, m, &name, &n, &vat) < 0) continue;
        put(res, UA_NAME, name, n);
        if (!vat || r->version_from.s) vat = version_start(r, x, m);
        char v[VERSION_MAX + 1];
        put(res, UA_VERSION, v, vat ? take_version(vat, x->s + x->n, 0, v) : 0);
        return r->device;
    }
    put_str(res, UA_NAME, "Other");
    return NULL;
}

static const char *mapped_version(const struct ua_rule *r, const char *v, size_t n)
{
    for (int i = 0; i < r->nvmap; i++)
        if (strlen(r->vmap[i].from) == n && memcmp(r->vmap[i].from, v, n) == 0) return r->vmap[i].to;
    return NULL;
}

/* user_agent.os.*: name, then version (or kernel) and "name version". */
static void parse_os(const struct rule_list *l, const struct subject *x, struct ua_result *res)
{
    for (int i = 0; i < l->n; i++) {
        const struct ua_rule *r = &l->v[i];
        const char *m = rule_match(r, x);
        if (!m) continue;
        const char *vat = version_start(r, x, m);
        char v[VERSION_MAX + 1], full[NAME_LEN_MAX + VERSION_MAX + 2];
        size_t vn = vat ? take_version(vat, x->s + x->n, 1, v) : 0;
        const char *to = vn ? mapped_version(r, v, vn) : NULL;
        if (to) {
            vn = strlen(to);
            memcpy(v, to, vn);
        }
        put_str(res, UA_OS_NAME, r->name);
        if (r->kernel || !vn) {
            put(res, UA_OS_KERNEL, v, vn);
            put_str(res, UA_OS_FULL, r->name);
            return;
        }
        put(res, UA_OS_VERSION, v, vn);
        put(res, UA_OS_FULL, full, (size_t)snprintf(full, sizeof full, "%s %.*s", r->name, (int)vn, v));
        return;
    }
}

static void parse_device(const struct rule_list *l, const struct subject *x, struct ua_result *res)
{
    for (int i = 0; i < l->n; i++) {
        const struct ua_rule *r = &l->v[i];
        const char *m = rule_match(r, x), *name, *vat;
        size_t n;
        if (!m || rule_name(r, x, m, &name, &n, &vat) < 0) continue;
        put(res, UA_DEVICE, name, n);
        return;
    }
    put_str(res, UA_DEVICE, "Other");
}

int ua_parse(const struct ua_rules *u, const char *s, size_t n, struct ua_result *out)
{
    struct subject x;
    memset(out, 0, offsetof(struct ua_result, text));
    if (!s || subject_init(&x, s, n) < 0) return -1;
    const char *device = parse_agent(&u->list[L_AGENTS], &x, out);
    parse_os(&u->list[L_OS], &x, out);
    if (device) put_str(out, UA_DEVICE, device);
    else parse_device(&u->list[L_DEVICES], &x, out);
    return 0;
}

/* ---- per-thread cache --------------------------------------------------------- */

#define CACHE_SLOTS   256      /* two-way: a string may sit in either slot of its pair */
#define CACHE_KEY_MAX 512      /* longer agents are parsed every time */

struct ua_slot {
    uint32_t len;              /* 0: empty */
    int      rc;               /* ua_parse's */
    uint64_t hash;
    uint64_t used;             /* the cache's clock when last used */
    struct ua_result res;
    char     key[CACHE_KEY_MAX];
};

struct ua_cache {
    const struct ua_rules *rules;       /* the results are these rules' */
    uint64_t clock;
    struct ua_result scratch;           /* the last uncached result */
    struct ua_slot slot[CACHE_SLOTS];
};

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 31;
    }
    for (; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    h ^= h >> 33;              /* every bit of h into the low ones the slot index takes */
    h *= 0xff51afd7ed558ccdULL;
    return h ^ h >> 33;
}

/* The result for s, from the cache when it is there; NULL when s has nothing to parse. */
static const struct ua_result *cached_parse(struct ua_cache *c, const char *s, size_t n)
{
    if (n > CACHE_KEY_MAX) return ua_parse(c->rules, s, n, &c->scratch) == 0 ? &c->scratch : NULL;
    uint64_t h = hash_bytes(s, n);
    struct ua_slot *pair = &c->slot[h % (CACHE_SLOTS / 2) * 2], *sl = NULL;
    for (int i = 0; i < 2 && !sl; i++)
        if (pair[i].len == n && pair[i].hash == h && memcmp(pair[i].key, s, n) == 0) sl = &pair[i];
    if (!sl) {
        sl = pair[0].used <= pair[1].used ? &pair[0] : &pair[1];
        sl->rc = ua_parse(c->rules, s, n, &sl->res);
        memcpy(sl->key, s, n);
        sl->len = (uint32_t)n;
        sl->hash = h;
    }
    sl->used = ++c->clock;
    return sl->rc == 0 ? &sl->res : NULL;
}

int ua_enrich(const struct ua_rules *u, struct ua_cache **cache, struct doc *d)
{
    const struct doc_field *src = doc_get_path(d, &u->source);
    if (!src) return 0;
    if (!*cache) *cache = xcalloc(1, sizeof **cache);
    struct ua_cache *c = *cache;
    if (c->rules != u) {
        for (int i = 0; i < CACHE_SLOTS; i++) c->slot[i].len = 0;
        c->rules = u;
    }
    const struct ua_result *res = cached_parse(c, src->v, src->vlen);
    int added = 0;
    for (int f = 0; res && f < UA_NFIELDS; f++) {
        if (!res->len[f]) continue;
        doc_add_path(d, &u->path[f], res->plain[f] ? DV_JSTR : DV_STR, 0, res->text + res->off[f], res->len[f]);
        added++;
    }
    return added;
}

void ua_cache_free(struct ua_cache *c) { free(c); }
