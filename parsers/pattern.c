/* pattern: records matched against templates -- syslog headers, sshd/sudo
 * messages, RDS and MSK line prefixes -- instead of regular expressions.
 *
 * A template is literal text with captures, "%{name}" or "%{name:type}",
 * compiled once at load and matched left to right without backtracking:
 * a typed capture takes the characters of its type; an untyped one ends at
 * the first occurrence of the literal text that follows it (the last one,
 * for "greedy"), never crossing a line end unless it is the last element.
 * A run of blanks in a template matches a run of blanks; "%[ ... %]" is an
 * optional group, taken when it matches and skipped otherwise; "%%" is '%'.
 * Alternatives are tried in order, the first that matches wins. Types: int,
 * num, word (no blanks), name (a program name: no blanks nor []:=,;'"),
 * host (letters, digits, . - _ :), ts (2021-02-18T12:30:41Z, "2022-06-16
 * 17:58:40,123+0200", "Feb  6 00:00:38", MySQL's "161209 14:18:50"), quoted
 * ('...' or "..." with \ or doubled quotes, else untyped), greedy. A value
 * that is empty or "-" is absent; names starting with '_' are not kept. A
 * template may "set" constant columns, or "skip" the record with a reason.
 *
 * Stages apply a list of templates to the record, to a column an earlier
 * stage captured, or to the stream's log group or S3 key (matched once per
 * stream). The columns are the union of every capture name and "set" key:
 * one fixed layout per schema. A value is never copied unless a quoted
 * capture holds escapes; the parser owns no per-record allocation but that
 * arena. It never decides what a value means: that is the schema's job. */
#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "doc.h"
#include "parser.h"

enum elem_kind { E_LIT, E_BLANKS, E_CAP, E_OPT, E_OPT_END };

enum cap_type { T_TEXT, T_GREEDY, T_QUOTED, T_INT, T_NUM, T_WORD, T_NAME, T_HOST, T_TS };

static const char *const type_names[] = {
    [T_TEXT] = "text", [T_GREEDY] = "greedy", [T_QUOTED] = "quoted", [T_INT] = "int", [T_NUM] = "num",
    [T_WORD] = "word", [T_NAME] = "name", [T_HOST] = "host", [T_TS] = "ts",
};

#define MAX_CAPS 48
#define SRC_RECORD    -1
#define SRC_LOG_GROUP -2
#define SRC_S3_KEY    -3

struct elem {
    uint8_t kind;
    uint8_t type;        /* E_CAP */
    int16_t col;         /* E_CAP: column, or -1 to discard */
    int     end;         /* E_OPT: index of its E_OPT_END */
    char   *lit;         /* E_LIT */
    size_t  len;
};

struct tmpl {
    struct elem *e;
    int          n;
    int         *set_col;     /* constants this template assigns */
    char       **set_val;
    int          nset;
    char        *skip;        /* a match means "not an event": the reason */
};

struct stage {
    int          from;        /* SRC_* or a column */
    int          required;
    struct tmpl *t;
    int          nt;
};

struct pattern_cfg {
    struct stage *st;
    int           nst;
    struct layout layout;
};

struct pattern_state {
    const struct pattern_cfg *cfg;
    char        *group, *key;          /* copies: stream captures point into them */
    struct span  stream_cols[REC_MAX_COLS];
    arena_t      stream_arena;         /* unescaped captures of the stream stages */
    arena_t      arena;                /* unescaped captures of the current record */
};

struct cap { int col; const char *p; size_t len; };

struct match {
    const char *s;
    size_t      n;
    struct cap  caps[MAX_CAPS];
    int         ncaps;
    arena_t    *arena;
};

/* ---- character classes -------------------------------------------------- */

static int blank_char(int c) { return c == ' ' || c == '\t'; }

static size_t run_of(const char *s, size_t n, int (*ok)(int))
{
    size_t i = 0;
    while (i < n && ok((unsigned char)s[i])) i++;
    return i;
}

static int word_char(int c) { return c != ' ' && c != '\t' && c != '\n' && c != '\r'; }
static int name_char(int c)
{
    switch (c) {
    case '[': case ']': case ':': case '=': case ',': case ';': case '"': case '\'': return 0;
    default: return word_char(c);
    }
}
static int host_char(int c) { return isalnum(c) || c == '.' || c == '-' || c == '_' || c == ':'; }
static int digit_char(int c) { return isdigit(c); }
static int clock_char(int c) { return isdigit(c) || c == ':' || c == '.' || c == ','; }

static size_t scan_int(const char *s, size_t n)
{
    size_t sign = n && s[0] == '-';
    size_t d = run_of(s + sign, n - sign, digit_char);
    return d ? sign + d : 0;
}

static size_t scan_num(const char *s, size_t n)
{
    size_t i = scan_int(s, n);
    if (i && i + 1 < n && s[i] == '.' && isdigit((unsigned char)s[i + 1]))
        i += 1 + run_of(s + i + 1, n - i - 1, digit_char);
    return i;
}

/* h?h:mm:ss[.frac] */
static size_t scan_clock(const char *s, size_t n)
{
    size_t h = run_of(s, n, digit_char);
    if (h < 1 || h > 2 || n < h + 6 || s[h] != ':' || s[h + 3] != ':') return 0;
    if (!isdigit((unsigned char)s[h + 1]) || !isdigit((unsigned char)s[h + 2]) ||
        !isdigit((unsigned char)s[h + 4]) || !isdigit((unsigned char)s[h + 5]))
        return 0;
    size_t i = h + 6;
    if (i + 1 < n && (s[i] == '.' || s[i] == ',') && isdigit((unsigned char)s[i + 1]))
        i += 1 + run_of(s + i + 1, n - i - 1, digit_char);
    return i;
}

/* Z, +hh, +hhmm, +hh:mm right after a clock. */
static size_t scan_zone(const char *s, size_t n)
{
    if (n && (s[0] == 'Z' || s[0] == 'z')) return 1;
    if (n < 3 || (s[0] != '+' && s[0] != '-') || !isdigit((unsigned char)s[1]) || !isdigit((unsigned char)s[2]))
        return 0;
    size_t colon = n > 3 && s[3] == ':';
    if (n > 4 + colon && isdigit((unsigned char)s[3 + colon]) && isdigit((unsigned char)s[4 + colon]))
        return 5 + colon;
    return 3;
}

/* 2021-02-18, 2021-02-18T12:30:41.77Z, 2022-06-16 17:58:40,123+0200 */
static size_t scan_iso(const char *s, size_t n)
{
    if (n < 10 || run_of(s, 4, digit_char) != 4 || s[4] != '-' || s[7] != '-' ||
        !isdigit((unsigned char)s[5]) || !isdigit((unsigned char)s[6]) ||
        !isdigit((unsigned char)s[8]) || !isdigit((unsigned char)s[9]))
        return 0;
    size_t i = 10;
    if (i + 1 < n && (s[i] == 'T' || s[i] == ' ') && isdigit((unsigned char)s[i + 1])) {
        i++;
        i += run_of(s + i, n - i, clock_char);
        i += scan_zone(s + i, n - i);
    }
    return i;
}

static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";

/* Feb  6 00:00:38[.123] */
static size_t scan_syslog_time(const char *s, size_t n)
{
    if (n < 7 || !isalpha((unsigned char)s[0])) return 0;
    char m[4] = { (char)tolower((unsigned char)s[0]), (char)tolower((unsigned char)s[1]),
                  (char)tolower((unsigned char)s[2]), 0 };
    const char *hit = strstr(months, m);
    if (!hit || (hit - months) % 3 || !blank_char(s[3])) return 0;
    size_t i = 3 + run_of(s + 3, n - 3, blank_char);
    size_t d = run_of(s + i, n - i, digit_char);
    if (d < 1 || d > 2 || i + d >= n || !blank_char(s[i + d])) return 0;
    i += d;
    i += run_of(s + i, n - i, blank_char);
    size_t c = scan_clock(s + i, n - i);
    return c ? i + c : 0;
}

/* 161209 14:18:50, 20210715 05:45:55 (MySQL) */
static size_t scan_compact_time(const char *s, size_t n)
{
    size_t d = run_of(s, n, digit_char);
    if ((d != 6 && d != 8) || d >= n || !blank_char(s[d])) return 0;
    size_t i = d + run_of(s + d, n - d, blank_char);
    size_t c = scan_clock(s + i, n - i);
    return c ? i + c : 0;
}

static size_t scan_ts(const char *s, size_t n)
{
    size_t l = scan_iso(s, n);
    if (!l) l = scan_compact_time(s, n);
    if (!l) l = scan_syslog_time(s, n);
    return l;
}

static size_t scan_typed(int type, const char *s, size_t n)
{
    switch (type) {
    case T_INT:  return scan_int(s, n);
    case T_NUM:  return scan_num(s, n);
    case T_WORD: return run_of(s, n, word_char);
    case T_NAME: return run_of(s, n, name_char);
    case T_HOST: return run_of(s, n, host_char);
    case T_TS:   return scan_ts(s, n);
    }
    return 0;
}

/* ---- compiling templates ------------------------------------------------ */

struct compiler {
    struct layout *layout;
    char          *err;
    size_t         errlen;
    const char    *where;     /* "stages[1].patterns[3]" */
};

static int cfail(struct compiler *cc, const char *what, const char *detail)
{
    snprintf(cc->err, cc->errlen, "pattern: %s: %s%s", cc->where, what, detail ? detail : "");
    return -1;
}

static int valid_name(const char *s, size_t n)
{
    if (n == 0 || n > 64) return 0;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '_') return 0;
    return 1;
}

/* Column of a name, created on first use; -1 for "_..." (discarded), -2 when full. */
static int column_of(struct layout *l, const char *name, size_t n)
{
    if (name[0] == '_') return -1;
    for (int i = 0; i < l->n; i++)
        if (strlen(l->names[i]) == n && memcmp(l->names[i], name, n) == 0) return i;
    if (l->n == REC_MAX_COLS) return -2;
    l->names = xrealloc(l->names, (size_t)(l->n + 1) * sizeof *l->names);
    l->names[l->n] = xstrndup(name, n);
    return l->n++;
}

static struct elem *add_elem(struct tmpl *t, int kind)
{
    t->e = xrealloc(t->e, (size_t)(t->n + 1) * sizeof *t->e);
    struct elem *e = &t->e[t->n++];
    memset(e, 0, sizeof *e);
    e->kind = (uint8_t)kind;
    e->col = -1;
    return e;
}

static void add_lit(struct tmpl *t, const char *s, size_t n)
{
    struct elem *e = t->n && t->e[t->n - 1].kind == E_LIT ? &t->e[t->n - 1] : add_elem(t, E_LIT);
    e->lit = xrealloc(e->lit, e->len + n + 1);
    memcpy(e->lit + e->len, s, n);
    e->len += n;
    e->lit[e->len] = 0;
}

static int parse_capture(struct compiler *cc, struct tmpl *t, const char *s, size_t n)
{
    const char *colon = memchr(s, ':', n);
    size_t nl = colon ? (size_t)(colon - s) : n;
    if (!valid_name(s, nl)) return cfail(cc, "capture names are lower-case letters, digits and '_'", NULL);
    int type = T_TEXT;
    if (colon) {
        size_t tl = n - nl - 1;
        for (type = 0; type < (int)(sizeof type_names / sizeof *type_names); type++)
            if (strlen(type_names[type]) == tl && memcmp(type_names[type], colon + 1, tl) == 0) break;
        if (type == (int)(sizeof type_names / sizeof *type_names)) return cfail(cc, "unknown capture type in ", s);
    }
    int col = column_of(cc->layout, s, nl);
    if (col == -2) return cfail(cc, "too many columns", NULL);
    struct elem *e = add_elem(t, E_CAP);
    e->type = (uint8_t)type;
    e->col = (int16_t)col;
    return 0;
}

static int parse_template(struct compiler *cc, struct tmpl *t, const char *s)
{
    int open = -1;
    size_t n = strlen(s), i = 0;
    while (i < n) {
        if (blank_char(s[i])) {
            while (i < n && blank_char(s[i])) i++;
            add_elem(t, E_BLANKS);
        } else if (s[i] == '%' && i + 1 < n && s[i + 1] == '%') {
            add_lit(t, "%", 1);
            i += 2;
        } else if (s[i] == '%' && i + 1 < n && s[i + 1] == '{') {
            const char *close = strchr(s + i, '}');
            if (!close) return cfail(cc, "unclosed %{", NULL);
            if (parse_capture(cc, t, s + i + 2, (size_t)(close - s - i - 2)) < 0) return -1;
            i = (size_t)(close - s) + 1;
        } else if (s[i] == '%' && i + 1 < n && s[i + 1] == '[') {
            if (open >= 0) return cfail(cc, "optional groups do not nest", NULL);
            open = t->n;
            add_elem(t, E_OPT);
            i += 2;
        } else if (s[i] == '%' && i + 1 < n && s[i + 1] == ']') {
            if (open < 0 || open == t->n - 1) return cfail(cc, "%] without a non-empty %[ group", NULL);
            t->e[open].end = t->n;
            add_elem(t, E_OPT_END);
            open = -1;
            i += 2;
        } else {
            size_t j = i + 1;
            while (j < n && !blank_char(s[j]) && s[j] != '%') j++;
            add_lit(t, s + i, j - i);
            i = j;
        }
    }
    if (open >= 0) return cfail(cc, "unclosed %[ group", NULL);
    if (t->n == 0) return cfail(cc, "empty template", NULL);
    return 0;
}

static int ends_at_literal(int type) { return type == T_TEXT || type == T_GREEDY || type == T_QUOTED; }

/* An untyped capture must be followed by literal text (what ends it) or end
 * the template. A name captured twice keeps the last value. */
static int check_template(struct compiler *cc, const struct tmpl *t)
{
    int ncaps = 0;
    for (int k = 0; k < t->n; k++) {
        const struct elem *e = &t->e[k];
        if (e->kind != E_CAP) continue;
        if (++ncaps > MAX_CAPS) return cfail(cc, "too many captures in one template", NULL);
        int last = k + 1 == t->n;
        int lit_next = !last && (t->e[k + 1].kind == E_LIT || t->e[k + 1].kind == E_BLANKS);
        if (ends_at_literal(e->type) && !last && !lit_next)
            return cfail(cc, "an untyped capture must be followed by literal text or end the template", NULL);
    }
    return 0;
}

static int compile_set(struct compiler *cc, struct tmpl *t, const json_t *set)
{
    if (!set) return 0;
    if (!json_is_object(set)) return cfail(cc, "\"set\" must be an object of strings", NULL);
    t->set_col = xcalloc(json_object_size(set) + 1, sizeof *t->set_col);
    t->set_val = xcalloc(json_object_size(set) + 1, sizeof *t->set_val);
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)set, k, v) {
        int col = valid_name(k, strlen(k)) && k[0] != '_' ? column_of(cc->layout, k, strlen(k)) : -1;
        if (col < 0 || !json_is_string(v)) return cfail(cc, "bad \"set\" entry ", k);
        t->set_col[t->nset] = col;
        t->set_val[t->nset++] = xstrdup(json_string_value(v));
    }
    return 0;
}

static int compile_template(struct compiler *cc, struct tmpl *t, const json_t *j)
{
    const json_t *match = json_is_object(j) ? json_object_get(j, "match") : j;
    if (!json_is_string(match)) return cfail(cc, "expected a template string or {\"match\": ...}", NULL);
    if (parse_template(cc, t, json_string_value(match)) < 0 || check_template(cc, t) < 0) return -1;
    if (!json_is_object(j)) return 0;
    const json_t *skip = json_object_get(j, "skip");
    if (skip && !json_is_string(skip)) return cfail(cc, "\"skip\" must be a reason string", NULL);
    if (skip) t->skip = xstrdup(json_string_value(skip));
    return compile_set(cc, t, json_object_get(j, "set"));
}

static int stage_source(struct compiler *cc, struct stage *sg, const char *from)
{
    if (!from) sg->from = SRC_RECORD;
    else if (strcmp(from, "$log_group") == 0) sg->from = SRC_LOG_GROUP;
    else if (strcmp(from, "$s3_key") == 0) sg->from = SRC_S3_KEY;
    else {
        sg->from = -1;
        for (int i = 0; i < cc->layout->n; i++) if (strcmp(cc->layout->names[i], from) == 0) sg->from = i;
        if (sg->from < 0) return cfail(cc, "\"from\" names no column an earlier stage captures: ", from);
    }
    return 0;
}

static int compile_stage(struct compiler *cc, struct stage *sg, const json_t *j, int index)
{
    char where[64];
    snprintf(where, sizeof where, "stages[%d]", index);
    cc->where = where;
    if (!json_is_object(j)) return cfail(cc, "expected an object", NULL);
    if (stage_source(cc, sg, json_string_value(json_object_get(j, "from"))) < 0) return -1;
    const json_t *req = json_object_get(j, "required");
    sg->required = req ? json_is_true(req) : sg->from == SRC_RECORD;
    if (sg->required && (sg->from == SRC_LOG_GROUP || sg->from == SRC_S3_KEY))
        return cfail(cc, "a log group or S3 key stage cannot be required", NULL);
    const json_t *pats = json_object_get(j, "patterns");
    if (!json_is_array(pats) || json_array_size(pats) == 0) return cfail(cc, "\"patterns\" must be a non-empty array", NULL);
    sg->t = xcalloc(json_array_size(pats), sizeof *sg->t);
    size_t i;
    const json_t *e;
    json_array_foreach(pats, i, e) {
        snprintf(where, sizeof where, "stages[%d].patterns[%zu]", index, i);
        if (compile_template(cc, &sg->t[sg->nt++], e) < 0) return -1;
    }
    return 0;
}

static void free_template(struct tmpl *t)
{
    for (int k = 0; k < t->n; k++) free(t->e[k].lit);
    free(t->e);
    for (int k = 0; k < t->nset; k++) free(t->set_val[k]);
    free(t->set_col);
    free(t->set_val);
    free(t->skip);
}

static void pattern_free_config(void *p)
{
    struct pattern_cfg *c = p;
    for (int i = 0; i < c->nst; i++) {
        for (int k = 0; k < c->st[i].nt; k++) free_template(&c->st[i].t[k]);
        free(c->st[i].t);
    }
    free(c->st);
    for (int i = 0; i < c->layout.n; i++) free(c->layout.names[i]);
    free(c->layout.names);
    free(c);
}

static atomic_uint layout_versions = 1;

static void *pattern_compile(const json_t *f, char *err, size_t errlen)
{
    struct pattern_cfg *c = xcalloc(1, sizeof *c);
    struct compiler cc = { &c->layout, err, errlen, "stages" };
    const json_t *stages = json_object_get(f, "stages");
    if (!json_is_array(stages) || json_array_size(stages) == 0) {
        cfail(&cc, "must be a non-empty array of {\"from\", \"patterns\"}", NULL);
        pattern_free_config(c);
        return NULL;
    }
    c->st = xcalloc(json_array_size(stages), sizeof *c->st);
    size_t i;
    const json_t *e;
    json_array_foreach(stages, i, e) {
        if (compile_stage(&cc, &c->st[c->nst++], e, (int)i) < 0) {
            pattern_free_config(c);
            return NULL;
        }
    }
    c->layout.version = atomic_fetch_add(&layout_versions, 1);
    return c;
}

/* ---- matching ----------------------------------------------------------- */

static int at_end(const struct match *m, size_t pos)
{
    while (pos < m->n && isspace((unsigned char)m->s[pos])) pos++;
    return pos == m->n;
}

/* One or more blanks; or none when the blanks before pos were already taken
 * ("@  [1.2.3.4]" against "@ %{host} [%{ip}]": the host is empty). */
static int match_blanks(const struct match *m, size_t *pos, int allow_none)
{
    size_t i = *pos;
    while (i < m->n && blank_char(m->s[i])) i++;
    if (i == *pos && !(allow_none && i > 0 && blank_char(m->s[i - 1]))) return -1;
    *pos = i;
    return 0;
}

static int match_lit(const struct match *m, const struct elem *e, size_t *pos)
{
    if (m->n - *pos < e->len || memcmp(m->s + *pos, e->lit, e->len) != 0) return -1;
    *pos += e->len;
    return 0;
}

/* The literal elements [from, to) at pos, as the end of a capture that began
 * at start. The capture may be empty only when literal text confirms it. */
static int match_anchor(const struct tmpl *t, int from, int to, const struct match *m, size_t pos, size_t start,
                        size_t *after)
{
    for (int k = from; k < to; k++) {
        const struct elem *e = &t->e[k];
        int none_ok = k == from && pos == start && to - from > 1;
        int r = e->kind == E_BLANKS ? match_blanks(m, &pos, none_ok) : match_lit(m, e, &pos);
        if (r < 0) return -1;
    }
    *after = pos;
    return 0;
}

static int anchor_end(const struct tmpl *t, int k)
{
    while (k < t->n && (t->e[k].kind == E_LIT || t->e[k].kind == E_BLANKS)) k++;
    return k;
}

static void add_cap(struct match *m, int col, const char *p, size_t len)
{
    if (col < 0) return;
    m->caps[m->ncaps].col = col;
    m->caps[m->ncaps].p = p;
    m->caps[m->ncaps].len = len;
    m->ncaps++;
}

/* An untyped capture: up to its anchor (first or, greedy, last occurrence on
 * this line) or, as the last element, the rest of the input. Returns the
 * index of the next element to match, or -1. */
static int match_untyped(const struct tmpl *t, int k, struct match *m, size_t *pos)
{
    const struct elem *e = &t->e[k];
    size_t start = *pos;
    int a = anchor_end(t, k + 1);
    if (a == k + 1) {
        size_t end = m->n;
        while (end > start && isspace((unsigned char)m->s[end - 1])) end--;
        add_cap(m, e->col, m->s + start, end - start);
        *pos = m->n;
        return a;
    }
    const char *nl = memchr(m->s + start, '\n', m->n - start);
    size_t limit = nl ? (size_t)(nl - m->s) : m->n, after;
    int terminal = a == t->n, greedy = e->type == T_GREEDY;
    const struct elem *first = &t->e[k + 1];
    size_t end = limit < m->n ? limit + 1 : m->n;       /* an anchor may start at the line end */
    for (size_t i = 0; i <= limit - start; i++) {
        size_t p = greedy ? limit - i : start + i;
        if (!greedy && first->kind == E_LIT) {          /* jump to the next place the literal can start */
            const char *hit = p < end ? memchr(m->s + p, first->lit[0], end - p) : NULL;
            if (!hit) break;
            p = (size_t)(hit - m->s);
            i = p - start;
        }
        if (match_anchor(t, k + 1, a, m, p, start, &after) == 0 && (!terminal || at_end(m, after))) {
            add_cap(m, e->col, m->s + start, p - start);
            *pos = after;
            return a;
        }
    }
    return -1;
}

/* 'it''s', "say \"hi\"" -> the text between the quotes, unescaped when needed. */
static int match_quoted(const struct tmpl *t, int k, struct match *m, size_t *pos)
{
    char q = *pos < m->n ? m->s[*pos] : 0;
    if (q != '"' && q != '\'') return match_untyped(t, k, m, pos);
    size_t start = *pos + 1, i = start;
    int escaped = 0;
    for (;; i++) {
        if (i >= m->n) return -1;
        if (m->s[i] == '\\' && i + 1 < m->n) { i++; escaped = 1; continue; }
        if (m->s[i] != q) continue;
        if (i + 1 < m->n && m->s[i + 1] == q) { i++; escaped = 1; continue; }
        break;
    }
    const char *v = m->s + start;
    size_t len = i - start;
    if (escaped) {
        char *o = arena_alloc(m->arena, len + 1);
        size_t n = 0;
        for (size_t j = 0; j < len; j++) {
            if (j + 1 < len && ((v[j] == '\\' && (v[j + 1] == q || v[j + 1] == '\\')) || (v[j] == q && v[j + 1] == q))) j++;
            o[n++] = v[j];
        }
        v = o;
        len = n;
    }
    add_cap(m, t->e[k].col, v, len);
    *pos = i + 1;
    return k + 1;
}

static int match_cap(const struct tmpl *t, int k, struct match *m, size_t *pos)
{
    const struct elem *e = &t->e[k];
    if (e->type == T_TEXT || e->type == T_GREEDY) return match_untyped(t, k, m, pos);
    if (e->type == T_QUOTED) return match_quoted(t, k, m, pos);
    size_t len = scan_typed(e->type, m->s + *pos, m->n - *pos);
    if (len == 0) return -1;
    add_cap(m, e->col, m->s + *pos, len);
    *pos += len;
    return k + 1;
}

static int match_seq(const struct tmpl *t, int k, int to, struct match *m, size_t *pos)
{
    while (k < to) {
        const struct elem *e = &t->e[k];
        if (e->kind == E_LIT || e->kind == E_BLANKS) {
            if ((e->kind == E_LIT ? match_lit(m, e, pos) : match_blanks(m, pos, 1)) < 0) return -1;
            k++;
        } else if (e->kind == E_OPT) {
            int ncaps = m->ncaps;
            size_t p = *pos;
            if (match_seq(t, k + 1, e->end, m, &p) == 0) *pos = p;
            else m->ncaps = ncaps;
            k = e->end + 1;
        } else if ((k = match_cap(t, k, m, pos)) < 0) {
            return -1;
        }
    }
    return 0;
}

static void put_col(struct span *cols, int col, const char *p, size_t len)
{
    int absent = len == 0 || (len == 1 && p[0] == '-');
    cols[col].p = absent ? NULL : p;
    cols[col].len = (uint32_t)len;
    cols[col].kind = DV_STR;
}

/* The first template of the stage that matches all of s, its values put in cols. */
static const struct tmpl *run_stage(const struct stage *sg, const char *s, size_t n, struct match *m, struct span *cols)
{
    m->s = s;
    m->n = n;
    for (int i = 0; i < sg->nt; i++) {
        const struct tmpl *t = &sg->t[i];
        size_t pos = 0;
        m->ncaps = 0;
        if (match_seq(t, 0, t->n, m, &pos) < 0 || !at_end(m, pos)) continue;
        for (int c = 0; c < m->ncaps; c++) put_col(cols, m->caps[c].col, m->caps[c].p, m->caps[c].len);
        for (int c = 0; c < t->nset; c++) put_col(cols, t->set_col[c], t->set_val[c], strlen(t->set_val[c]));
        return t;
    }
    return NULL;
}

/* ---- streams and records ------------------------------------------------ */

static void *pattern_open(const void *cfg, const struct stream_info *info)
{
    struct pattern_state *st = xcalloc(1, sizeof *st);
    st->cfg = cfg;
    arena_init(&st->arena);
    arena_init(&st->stream_arena);
    st->group = info->log_group ? xstrdup(info->log_group) : NULL;
    st->key = info->s3_key ? xstrdup(info->s3_key) : NULL;
    struct match m = { .arena = &st->stream_arena };
    for (int i = 0; i < st->cfg->nst; i++) {
        const struct stage *sg = &st->cfg->st[i];
        const char *src = sg->from == SRC_LOG_GROUP ? st->group : sg->from == SRC_S3_KEY ? st->key : NULL;
        if (src) run_stage(sg, src, strlen(src), &m, st->stream_cols);
    }
    return st;
}

static void pattern_close(void *p)
{
    struct pattern_state *st = p;
    free(st->group);
    free(st->key);
    arena_free(&st->arena);
    arena_free(&st->stream_arena);
    free(st);
}

static int no_match(struct record *rec, const char *s, size_t n)
{
    const char *nl = memchr(s, '\n', n);
    size_t show = nl ? (size_t)(nl - s) : n;
    return record_fail(rec, "no template matches \"%.*s%s\"", (int)(show > 80 ? 80 : show), s,
                       show > 80 || nl ? "..." : "");
}

static int pattern_parse(void *p, const char *s, size_t n, struct record *rec)
{
    struct pattern_state *st = p;
    const struct pattern_cfg *c = st->cfg;
    while (n && isspace((unsigned char)s[n - 1])) n--;
    if (n == 0) return record_skip(rec, "empty line");
    arena_reset(&st->arena);
    memcpy(rec->cols, st->stream_cols, (size_t)c->layout.n * sizeof *rec->cols);
    rec->layout = &c->layout;
    rec->ncols = c->layout.n;
    struct match m = { .arena = &st->arena };
    for (int i = 0; i < c->nst; i++) {
        const struct stage *sg = &c->st[i];
        if (sg->from == SRC_LOG_GROUP || sg->from == SRC_S3_KEY) continue;
        const struct span in = sg->from == SRC_RECORD ? (struct span){ s, (uint32_t)n, DV_STR } : rec->cols[sg->from];
        if (!in.p) continue;
        const struct tmpl *t = run_stage(sg, in.p, in.len, &m, rec->cols);
        if (t && t->skip) return record_skip(rec, t->skip);
        if (!t && sg->required) return no_match(rec, in.p, in.len);
    }
    return PARSE_OK;
}

const struct parser parser_pattern = {
    .name = "pattern",
    .compile = pattern_compile,
    .free_config = pattern_free_config,
    .open = pattern_open,
    .parse = pattern_parse,
    .close = pattern_close,
};
