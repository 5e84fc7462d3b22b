/* fuzz_pattern: libFuzzer target for the pattern parser (parsers/pattern.c).
 *
 * Input whose first byte is odd is "template\nrecord": the template text is
 * compiled (bad ones must be refused with an error, never crash) and, when
 * it compiles, matched against the record. Otherwise the whole input is a
 * record for a fixed configuration that uses every capture type, optional
 * groups, quoted values, stages and a log group stage. The record is an
 * exact-size copy, so AddressSanitizer flags any read past its end; every
 * value the parser returns is read back and must lie inside the record
 * unless it was unescaped. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fixed[] =
    "{\"stages\": ["
    " {\"patterns\": ["
    "  \"<%{pri:int}>%{v:int} %{t:ts} %{h:word} %{p:word} %{pid:word} %{mid:word} [%{sd}] %{msg}\","
    "  \"%[<%{pri:int}>%]%{t:ts} %{h:host} %{p:name}[%{pid:int}]: %{msg}\","
    "  \"[%{t:ts}] %{lvl:word} %{msg:greedy} (%{logger})\\n%{stack}\","
    "  \"%{t:ts},%{a},%{q:quoted},%{n:num}%{_}\","
    "  \"%[# Time: %{t:ts}\\n%]# User@Host: %{u}[%{_}] @ %{h} [%{ip}]%[ Id: %{id:int}%]\\n%{rest}\","
    "  {\"match\": \"skip %{_}\", \"skip\": \"fuzz\"},"
    "  {\"match\": \"%{msg}\", \"set\": {\"ev\": \"any\"}}]},"
    " {\"from\": \"msg\", \"patterns\": [\"%{u:word} : TTY=%{tty} ; %[PWD=%{pwd} ; %]COMMAND=%{cmd}\"]},"
    " {\"from\": \"$log_group\", \"patterns\": [\"/aws/rds/instance/%{inst}/%{log}\"]}]}";

static void *compile_text(const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    if (!j) return NULL;
    char err[256];
    void *cfg = parser_find("pattern")->compile(j, err, sizeof err);
    json_decref(j);
    return cfg;
}

/* {"stages": [{"patterns": ["<template>"]}]} with the template as given. */
static void *compile_template(const uint8_t *t, size_t n)
{
    json_t *tmpl = json_stringn_nocheck((const char *)t, n);
    json_t *root = json_pack("{s:[{s:[o]}]}", "stages", "patterns", tmpl);
    if (!root) return NULL;
    char err[256];
    void *cfg = parser_find("pattern")->compile(root, err, sizeof err);
    json_decref(root);
    return cfg;
}

static volatile unsigned sink;

static void check_values(const struct record *rec, const char *in, size_t n)
{
    for (int i = 0; i < rec->ncols; i++) {
        const struct span *v = &rec->cols[i];
        if (!v->p) continue;
        for (uint32_t k = 0; k < v->len; k++) sink += (unsigned char)v->p[k];
        int inside = v->p >= in && v->p + v->len <= in + n;
        int elsewhere = v->p + v->len <= in || v->p >= in + n;
        if (!inside && !elsewhere) abort();          /* straddles the end of the record */
    }
}

static void run(void *cfg, const uint8_t *rec_bytes, size_t n)
{
    const struct parser *p = parser_find("pattern");
    char *copy = malloc(n ? n : 1);
    if (!copy) return;
    memcpy(copy, rec_bytes, n);
    char group[64];
    size_t gl = n < sizeof group - 1 ? n : sizeof group - 1;
    memcpy(group, rec_bytes, gl);
    group[gl] = 0;
    struct stream_info si = { .type = "fuzz", .log_group = group };
    void *st = p->open(cfg, &si);
    struct record rec;
    record_clear(&rec);
    if (p->parse(st, copy, n, &rec) == PARSE_OK) check_values(&rec, copy, n);
    p->close(st);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static void *fixed_cfg;
    if (!fixed_cfg && !(fixed_cfg = compile_text(fixed))) abort();
    if (size && (data[0] & 1)) {
        const uint8_t *nl = memchr(data + 1, '\n', size - 1);
        size_t tl = nl ? (size_t)(nl - data - 1) : size - 1;
        void *cfg = compile_template(data + 1, tl);
        if (cfg) {
            size_t off = nl ? (size_t)(nl - data) + 1 : size;
            run(cfg, data + off, size - off);
            parser_find("pattern")->free_config(cfg);
        }
        return 0;
    }
    run(fixed_cfg, data, size);
    return 0;
}
