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

static void one(const char *templates, const char *line, const char *name, const char *want)
{
    struct run r;
    void *cfg = compile_templates(templates);
    CHECK(cfg != NULL);
    if (!cfg) return;
    CHECK_INT(parse(&r, cfg, NULL, line), PARSE_OK);
    CHECK_STR(col(&r, name), want);
    done(&r);
}

static void test_untyped(void)
{
    one("[\"%{a} - %{b}\"]", "x y - z - w", "a", "x y");
    one("[\"%{a} - %{b}\"]", "x y - z - w", "b", "z - w");
    one("[\"%{a:greedy} - %{b}\"]", "x y - z - w", "a", "x y - z");
    one("[\"%{m:greedy} (%{logger})\"]", "msg (a) more (kafka.X)", "m", "msg (a) more");
    one("[\"%{m:greedy} (%{logger})\"]", "msg (a) more (kafka.X)", "logger", "kafka.X");
    /* the last capture takes the rest, newlines included, trailing blanks not */
    one("[\"%{a}: %{rest}\"]", "k: v1\n  v2  ", "rest", "v1\n  v2");
    /* a capture in the middle never crosses a line end */
    one("[\"%{a} = %{b}\", \"%{whole}\"]", "x\ny = z", "whole", "x\ny = z");
}

static void test_typed(void)
{
    one("[\"%{n:int} %{w}\", \"%{all}\"]", "12x y", "all", "12x y");
    one("[\"[%{pid:int}]: %{m}\"]", "[-42]: ok", "pid", "-42");
    one("[\"%{q:num}s\"]", "0.000153s", "q", "0.000153");
    one("[\"%{w:word} %{rest}\"]", "a:b,c  d", "w", "a:b,c");
    one("[\"%{p:name}[%{pid:int}]: %{m}\"]", "postfix/smtpd[12]: hi", "p", "postfix/smtpd");
    one("[\"%{h:host} %{m}\"]", "2001:db8::1 hello", "h", "2001:db8::1");
    one("[\"%{t:ts} %{m}\"]", "Feb  9 21:19:40 host x", "t", "Feb  9 21:19:40");
    one("[\"%{t:ts} %{m}\"]", "2022-06-16 17:58:40 UTC:x", "t", "2022-06-16 17:58:40");
    one("[\"%{t:ts} %{m}\"]", "2026-05-27 13:33:12,000+0200 INFO", "t", "2026-05-27 13:33:12,000+0200");
    one("[\"%{t:ts} %{m}\"]", "2021-02-18T12:30:41.777501Z 0 [Note]", "t", "2021-02-18T12:30:41.777501Z");
    one("[\"%{t:ts} %{m}\"]", "161209  4:18:50 InnoDB: x", "t", "161209  4:18:50");
    one("[\"%{t:ts},%{m}\"]", "20210715 05:45:55,host", "t", "20210715 05:45:55");
    /* a typed capture must be followed by what the template says */
    one("[\"%{t:ts} %{m}\", \"%{other}\"]", "Fee  9 21:19:40 x", "other", "Fee  9 21:19:40 x");
}

static void test_blanks_and_absent(void)
{
    one("[\"a %{b} c\"]", "a \t  b1  c", "b", "b1");
    /* the blanks before an empty capture were already taken */
    one("[\"@ %{host} [%{ip}]\"]", "@  [10.0.0.1]", "host", "(absent)");
    one("[\"@ %{host} [%{ip}]\"]", "@  [10.0.0.1]", "ip", "10.0.0.1");
    /* blanks alone end a capture at the next blank run, never empty */
    one("[\"by %{user} %{ip:host} port %{p:int}\"]", "by oracle 203.0.113.9 port 5", "user", "oracle");
    one("[\"x=%{x} y=%{y}\"]", "x=- y=", "x", "(absent)");
    one("[\"x=%{x} y=%{y}\"]", "x=- y=", "y", "(absent)");
    one("[\"%%{x} %{v}\"]", "%{x} 5", "v", "5");
}

static void test_optional_groups(void)
{
    const char *t = "[\"user %{u:word}%[ Id: %{id:int}%] end\"]";
    one(t, "user bob Id: 7 end", "id", "7");
    one(t, "user bob end", "u", "bob");
    /* a group that fails half way leaves nothing behind */
    one("[\"a%[ %{x:word} %{n:int}%] %{rest}\"]", "a keep no", "x", "(absent)");
    one("[\"a%[ %{x:word} %{n:int}%] %{rest}\"]", "a keep no", "rest", "keep no");
}

static void test_quoted(void)
{
    one("[\"%{a},%{o:quoted},%{r:int}\"]", "x,'a, b \\'c\\'',0", "o", "a, b 'c'");
    one("[\"%{a},%{o:quoted},%{r:int}\"]", "x,\"say \"\"hi\"\"\",1", "o", "say \"hi\"");
    one("[\"%{a},%{o:quoted},%{r:int}\"]", "x,plain,2", "o", "plain");
    one("[\"%{a},%{o:quoted},%{r:int}\"]", "x,\"\",3", "o", "(absent)");
}

static void test_alternatives_and_set(void)
{
    const char *t = "[{\"match\": \"Accepted %{m:word} for %{user} from %{ip:host} port %{port:int}%{_}\","
                    " \"set\": {\"event\": \"ok\"}},"
                    " {\"match\": \"Failed %{m:word} for %{user} from %{ip:host} port %{port:int}%{_}\","
                    " \"set\": {\"event\": \"bad\"}}]";
    one(t, "Failed password for root from 10.0.0.9 port 22 ssh2", "event", "bad");
    one(t, "Accepted publickey for moe from 10.1.2.3 port 4313 ssh2: ED25519 SHA256:x", "event", "ok");
    one(t, "Accepted publickey for moe from 10.1.2.3 port 4313 ssh2: ED25519 SHA256:x", "port", "4313");
    struct run r;
    void *cfg = compile_templates(t);
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

static void compile_fails(const char *stages, const char *want)
{
    char text[1024], err[256] = "";
    snprintf(text, sizeof text, "{\"stages\": %s}", stages);
    void *cfg = compile(text, err, sizeof err);
    CHECK(cfg == NULL);
    if (cfg) pattern()->free_config(cfg);
    else if (!strstr(err, want)) tl_fail(__FILE__, __LINE__, want, err);
    else tl_passed++;
}

static void test_compile_errors(void)
{
    compile_fails("[]", "non-empty array");
    compile_fails("[{\"patterns\": []}]", "non-empty array");
    compile_fails("[{\"patterns\": [\"%{a}%{b}\"]}]", "followed by literal text");
    compile_fails("[{\"patterns\": [\"%{a:float} x\"]}]", "unknown capture type");
    compile_fails("[{\"patterns\": [\"%{Bad} x\"]}]", "lower-case");
    compile_fails("[{\"patterns\": [\"%{a x\"]}]", "unclosed %{");
    compile_fails("[{\"patterns\": [\"%[a %[b%] %]\"]}]", "do not nest");
    compile_fails("[{\"patterns\": [\"%[a %{x}%] b\"]}]", "followed by literal text");
    compile_fails("[{\"patterns\": [\"%{a}%[ x%] b\"]}]", "followed by literal text");
    compile_fails("[{\"patterns\": [\"a %]\"]}]", "without a non-empty");
    compile_fails("[{\"patterns\": [\"%[a\"]}]", "unclosed %[");
    compile_fails("[{\"patterns\": [\"%{a}\"]}, {\"from\": \"b\", \"patterns\": [\"%{c}\"]}]", "earlier stage");
    compile_fails("[{\"from\": \"$log_group\", \"required\": true, \"patterns\": [\"%{c}\"]}]", "cannot be required");
    compile_fails("[{\"patterns\": [{\"match\": \"%{a}\", \"set\": {\"b\": 1}}]}]", "bad \"set\"");
    compile_fails("[{\"patterns\": [{\"match\": 5}]}]", "template string");
}

int main(void)
{
    test_untyped();
    test_typed();
    test_blanks_and_absent();
    test_optional_groups();
    test_quoted();
    test_alternatives_and_set();
    test_stages();
    test_compile_errors();
    return tl_done();
}
