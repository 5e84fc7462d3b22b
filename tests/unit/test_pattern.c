/* The pattern parser: template semantics, stages, and compile errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "parser.h"
#include "testlib.h"

struct run {
    void *cfg, *state;
    struct record rec;
    int rc;
    char val[512];
};

static const struct parser *pattern(void) { return parser_find("pattern"); }

static void *compile(const char *json_text, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *j = json_loads(json_text, 0, &jerr);
    if (!j) { snprintf(err, errlen, "bad test JSON: %s", jerr.text); return NULL; }
    void *cfg = pattern()->compile(j, err, errlen);
    json_decref(j);
    return cfg;
}

/* Compile a config whose one stage holds the given templates (a JSON array). */
static void *compile_templates(const char *templates)
{
    char text[4096], err[256] = "";
    snprintf(text, sizeof text, "{\"stages\": [{\"patterns\": %s}]}", templates);
    void *cfg = compile(text, err, sizeof err);
    if (!cfg) fprintf(stderr, "compile failed: %s\n", err);
    return cfg;
}

static int parse(struct run *r, void *cfg, const char *log_group, const char *line)
{
    struct stream_info si = { .type = "t", .log_group = log_group };
    r->cfg = cfg;
    r->state = pattern()->open(cfg, &si);
    record_clear(&r->rec);
    r->rc = pattern()->parse(r->state, line, strlen(line), &r->rec);
    return r->rc;
}

static void done(struct run *r)
{
    pattern()->close(r->state);
    pattern()->free_config(r->cfg);
}

/* A column's value, "(absent)" or "(no column)". */
static const char *col(struct run *r, const char *name)
{
    const struct layout *l = r->rec.layout;
    for (int i = 0; l && i < l->n; i++) {
        if (strcmp(l->names[i], name) != 0) continue;
        if (!r->rec.cols[i].p) return "(absent)";
        snprintf(r->val, sizeof r->val, "%.*s", (int)r->rec.cols[i].len, r->rec.cols[i].p);
        return r->val;
    }
    return "(no column)";
}

/* One template set, one line, one column's expected value. */
struct capture_case {
    const char *templates, *line, *name, *want;
};

#define OPTIONAL_ID "[\"user %{u:word}%[ Id: %{id:int}%] end\"]"
#define HALF_GROUP "[\"a%[ %{x:word} %{n:int}%] %{rest}\"]"
#define QUOTED "[\"%{a},%{o:quoted},%{r:int}\"]"
#define SSH_ALTERNATIVES \
    "[{\"match\": \"Accepted %{m:word} for %{user} from %{ip:host} port %{port:int}%{_}\"," \
    " \"set\": {\"event\": \"ok\"}}," \
    " {\"match\": \"Failed %{m:word} for %{user} from %{ip:host} port %{port:int}%{_}\"," \
    " \"set\": {\"event\": \"bad\"}}]"
#define SSH_ACCEPTED "Accepted publickey for moe from 10.1.2.3 port 4313 ssh2: ED25519 SHA256:x"

static const struct capture_case captures[] = {
    /* untyped captures */
    {"[\"%{a} - %{b}\"]", "x y - z - w", "a", "x y"},
    {"[\"%{a} - %{b}\"]", "x y - z - w", "b", "z - w"},
    {"[\"%{a:greedy} - %{b}\"]", "x y - z - w", "a", "x y - z"},
    {"[\"%{m:greedy} (%{logger})\"]", "msg (a) more (kafka.X)", "m", "msg (a) more"},
    {"[\"%{m:greedy} (%{logger})\"]", "msg (a) more (kafka.X)", "logger", "kafka.X"},
    /* the last capture takes the rest, newlines included, trailing blanks not */
    {"[\"%{a}: %{rest}\"]", "k: v1\n  v2  ", "rest", "v1\n  v2"},
    /* a capture in the middle never crosses a line end */
    {"[\"%{a} = %{b}\", \"%{whole}\"]", "x\ny = z", "whole", "x\ny = z"},

    /* typed captures */
    {"[\"%{n:int} %{w}\", \"%{all}\"]", "12x y", "all", "12x y"},
    {"[\"[%{pid:int}]: %{m}\"]", "[-42]: ok", "pid", "-42"},
    {"[\"%{q:num}s\"]", "0.000153s", "q", "0.000153"},
    {"[\"%{w:word} %{rest}\"]", "a:b,c  d", "w", "a:b,c"},
    {"[\"%{p:name}[%{pid:int}]: %{m}\"]", "postfix/smtpd[12]: hi", "p", "postfix/smtpd"},
    {"[\"%{h:host} %{m}\"]", "2001:db8::1 hello", "h", "2001:db8::1"},
    {"[\"%{t:ts} %{m}\"]", "Feb  9 21:19:40 host x", "t", "Feb  9 21:19:40"},
    {"[\"%{t:ts} %{m}\"]", "2022-06-16 17:58:40 UTC:x", "t", "2022-06-16 17:58:40"},
    {"[\"%{t:ts} %{m}\"]", "2026-05-27 13:33:12,000+0200 INFO", "t", "2026-05-27 13:33:12,000+0200"},
    {"[\"%{t:ts} %{m}\"]", "2021-02-18T12:30:41.777501Z 0 [Note]", "t", "2021-02-18T12:30:41.777501Z"},
    {"[\"%{t:ts} %{m}\"]", "161209  4:18:50 InnoDB: x", "t", "161209  4:18:50"},
    {"[\"%{t:ts},%{m}\"]", "20210715 05:45:55,host", "t", "20210715 05:45:55"},
    /* a typed capture must be followed by what the template says */
    {"[\"%{t:ts} %{m}\", \"%{other}\"]", "Fee  9 21:19:40 x", "other", "Fee  9 21:19:40 x"},

    /* blanks and absent values */
    {"[\"a %{b} c\"]", "a \t  b1  c", "b", "b1"},
    /* the blanks before an empty capture were already taken */
    {"[\"@ %{host} [%{ip}]\"]", "@  [10.0.0.1]", "host", "(absent)"},
    {"[\"@ %{host} [%{ip}]\"]", "@  [10.0.0.1]", "ip", "10.0.0.1"},
    /* blanks alone end a capture at the next blank run, never empty */
    {"[\"by %{user} %{ip:host} port %{p:int}\"]", "by oracle 203.0.113.9 port 5", "user", "oracle"},
    {"[\"x=%{x} y=%{y}\"]", "x=- y=", "x", "(absent)"},
    {"[\"x=%{x} y=%{y}\"]", "x=- y=", "y", "(absent)"},
    {"[\"%%{x} %{v}\"]", "%{x} 5", "v", "5"},

    /* optional groups */
    {OPTIONAL_ID, "user bob Id: 7 end", "id", "7"},
    {OPTIONAL_ID, "user bob end", "u", "bob"},
    /* a group that fails half way leaves nothing behind */
    {HALF_GROUP, "a keep no", "x", "(absent)"},
    {HALF_GROUP, "a keep no", "rest", "keep no"},

    /* quoted values */
    {QUOTED, "x,'a, b \\'c\\'',0", "o", "a, b 'c'"},
    {QUOTED, "x,\"say \"\"hi\"\"\",1", "o", "say \"hi\""},
    {QUOTED, "x,plain,2", "o", "plain"},
    {QUOTED, "x,\"\",3", "o", "(absent)"},

    /* alternatives, each with its constants */
    {SSH_ALTERNATIVES, "Failed password for root from 10.0.0.9 port 22 ssh2", "event", "bad"},
    {SSH_ALTERNATIVES, SSH_ACCEPTED, "event", "ok"},
    {SSH_ALTERNATIVES, SSH_ACCEPTED, "port", "4313"},
};

static void check_capture(const struct capture_case *c)
{
    struct run r;
    void *cfg = compile_templates(c->templates);
    CHECK(cfg != NULL);
    if (!cfg) return;
    CHECK_INT(parse(&r, cfg, NULL, c->line), PARSE_OK);
    CHECK_STR(col(&r, c->name), c->want);
    done(&r);
}

static void test_captures(void)
{
    for (size_t i = 0; i < sizeof captures / sizeof captures[0]; i++) {
        int failed = tl_failed;
        check_capture(&captures[i]);
        if (tl_failed > failed)
            fprintf(stderr, "  in capture case %zu: %s on \"%s\", column %s\n", i, captures[i].templates,
                    captures[i].line, captures[i].name);
    }
}

static void test_no_alternative_matches(void)
{
    struct run r;
    void *cfg = compile_templates(SSH_ALTERNATIVES);
    CHECK_INT(parse(&r, cfg, NULL, "Accepted password for x from h port nope"), PARSE_ERROR);
    CHECK(strstr(r.rec.err, "no template matches") != NULL);
    done(&r);
}

static void test_stages(void)
{
    char err[256] = "";
    const char *text =
        "{\"stages\": ["
        " {\"patterns\": [{\"match\": \"banner %{_}\", \"skip\": \"banner\"}, \"%{proc}: %{message}\"]},"
        " {\"from\": \"message\", \"patterns\": [\"user=%{user:word} %{_}\"]},"
        " {\"from\": \"$log_group\", \"patterns\": [\"/aws/rds/instance/%{instance}/%{log}\"]}]}";
    void *cfg = compile(text, err, sizeof err);
    CHECK(cfg != NULL);
    if (!cfg) { fprintf(stderr, "%s\n", err); return; }
    struct run r;
    CHECK_INT(parse(&r, cfg, "/aws/rds/instance/db-1/postgresql", "sshd: user=alice logged in"), PARSE_OK);
    CHECK_STR(col(&r, "user"), "alice");
    CHECK_STR(col(&r, "instance"), "db-1");
    CHECK_STR(col(&r, "log"), "postgresql");
    CHECK_INT(r.rec.layout->n, 5);
    CHECK_STR(r.rec.layout->names[0], "proc");
    /* the next record starts clean but keeps the stream's columns */
    CHECK_INT(pattern()->parse(r.state, "cron: nothing", 13, &r.rec), PARSE_OK);
    CHECK_STR(col(&r, "user"), "(absent)");
    CHECK_STR(col(&r, "instance"), "db-1");
    CHECK_INT(pattern()->parse(r.state, "banner v1", 9, &r.rec), PARSE_SKIP);
    CHECK_STR(r.rec.skip_reason, "banner");
    CHECK_INT(pattern()->parse(r.state, " \r\n", 3, &r.rec), PARSE_SKIP);
    CHECK_INT(pattern()->parse(r.state, "no colon here", 13, &r.rec), PARSE_ERROR);
    done(&r);
}

/* Stages that must not compile, and a part of the error that says why. */
static const struct { const char *stages, *want; } bad_configs[] = {
    {"[]", "non-empty array"},
    {"[{\"patterns\": []}]", "non-empty array"},
    {"[{\"patterns\": [\"%{a}%{b}\"]}]", "followed by literal text"},
    {"[{\"patterns\": [\"%{a:float} x\"]}]", "unknown capture type"},
    {"[{\"patterns\": [\"%{Bad} x\"]}]", "lower-case"},
    {"[{\"patterns\": [\"%{a x\"]}]", "unclosed %{"},
    {"[{\"patterns\": [\"%[a %[b%] %]\"]}]", "do not nest"},
    {"[{\"patterns\": [\"%[a %{x}%] b\"]}]", "followed by literal text"},
    {"[{\"patterns\": [\"%{a}%[ x%] b\"]}]", "followed by literal text"},
    {"[{\"patterns\": [\"a %]\"]}]", "without a non-empty"},
    {"[{\"patterns\": [\"%[a\"]}]", "unclosed %["},
    {"[{\"patterns\": [\"%{a}\"]}, {\"from\": \"b\", \"patterns\": [\"%{c}\"]}]", "earlier stage"},
    {"[{\"from\": \"$log_group\", \"required\": true, \"patterns\": [\"%{c}\"]}]", "cannot be required"},
    {"[{\"patterns\": [{\"match\": \"%{a}\", \"set\": {\"b\": 1}}]}]", "bad \"set\""},
    {"[{\"patterns\": [{\"match\": 5}]}]", "template string"},
};

static void test_compile_errors(void)
{
    for (size_t i = 0; i < sizeof bad_configs / sizeof bad_configs[0]; i++) {
        char text[1024], err[256] = "";
        snprintf(text, sizeof text, "{\"stages\": %s}", bad_configs[i].stages);
        void *cfg = compile(text, err, sizeof err);
        CHECK(cfg == NULL);
        if (cfg) pattern()->free_config(cfg);
        else if (!strstr(err, bad_configs[i].want)) tl_fail(__FILE__, __LINE__, bad_configs[i].want, err);
        else tl_passed++;
    }
}

int main(void)
{
    test_captures();
    test_no_alternative_matches();
    test_stages();
    test_compile_errors();
    return tl_done();
}
