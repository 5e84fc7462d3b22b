/* cli_parse: `siemproc parse` -- files or stdin to ECS documents on stdout.
 * The batch tool for stored logs, and the reference the stream stages are
 * compared with: same engine, same ids. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"
#include "config.h"
#include "exclude.h"
#include "geoip.h"
#include "ingest.h"
#include "jsonw.h"

struct parse_opts {
    const char *type, *s3_key, *log_group, *geoip_dir, *schema_dir, *exclude_file, *own_user_agent, *cf_fields;
    int bulk, keep_original, quiet;
};

struct parse_run {
    buf_t out;
    const struct parse_opts *opts;
    uint64_t failures_reported;
};

static void flush_out(struct parse_run *pr, int force)
{
    if (pr->out.len && (force || pr->out.len >= (1u << 20))) {
        fwrite(pr->out.data, 1, pr->out.len, stdout);
        buf_reset(&pr->out);
    }
}

static int on_doc(void *arg, const struct ingest_event *ev)
{
    struct parse_run *pr = arg;
    if (pr->opts->bulk) {
        buf_puts(&pr->out, "{\"index\":{\"_index\":");
        jw_cstr(&pr->out, ev->res->index);
        buf_puts(&pr->out, ",\"_id\":");
        jw_cstr(&pr->out, ev->res->id);
        buf_puts(&pr->out, "}}\n");
    }
    doc_emit(ev->doc, &pr->out);
    buf_putc(&pr->out, '\n');
    flush_out(pr, 0);
    return 0;
}

static void on_fail(void *arg, const struct ingest_event *ev)
{
    struct parse_run *pr = arg;
    if (pr->opts->quiet && pr->failures_reported >= 20) return;
    pr->failures_reported++;
    fprintf(stderr, "siemproc: %s:%llu: %s: %s\n", ev->origin, (unsigned long long)ev->line,
            ev->schema ? ev->schema->name : "?", ev->message);
}

static int read_stream(struct ingest *ig, FILE *fp, const char *name)
{
    static char chunk[1 << 16];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        if (ingest_feed(ig, chunk, n) < 0) return 0;    /* the object failed; ingest_end says why */
    if (ferror(fp)) {
        fprintf(stderr, "siemproc: %s: read error: %s\n", name, strerror(errno));
        return -1;
    }
    return 0;
}

/* Returns 0, 1 (I/O) or 2 (type). */
static int parse_one(struct ingest *ig, const struct parse_opts *o, const char *path)
{
    int is_stdin = strcmp(path, "-") == 0;
    FILE *fp = is_stdin ? stdin : fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "siemproc: %s: %s\n", path, strerror(errno));
        return 1;
    }
    struct stat stt;
    int64_t mtime = (!is_stdin && fstat(fileno(fp), &stt) == 0) ? (int64_t)stt.st_mtime * 1000 : 0;
    struct ingest_object obj = {
        .type = o->type,
        .s3_key = o->s3_key ? o->s3_key : is_stdin ? NULL : path,
        .log_group = o->log_group,
        .origin = is_stdin ? "<stdin>" : path,
        .delivery_ms = mtime,
        .key_is_local = !o->s3_key,
    };
    int rc = ingest_begin(ig, &obj) < 0 ? -1 : 0;
    if (rc == 0 && read_stream(ig, fp, path) < 0) rc = 1;
    if (!is_stdin) fclose(fp);
    int st = ingest_end(ig);
    if (rc == 1) return 1;
    if (st == INGEST_ERR_TYPE) { fprintf(stderr, "siemproc: %s: %s\n", obj.origin, ingest_error(ig)); return 2; }
    if (st == INGEST_ERR_IO) { fprintf(stderr, "siemproc: %s: %s\n", obj.origin, ingest_error(ig)); return 1; }
    if (st == INGEST_SKIPPED) fprintf(stderr, "siemproc: %s: skipped: not log events\n", obj.origin);
    return 0;
}

static void print_summary(const struct ingest_stats *s, const struct schema_set *set)
{
    uint64_t p = 0, k = 0, f = 0;
    for (int i = 0; i <= set->n; i++) { p += s->by_type[i].parsed; k += s->by_type[i].skipped; f += s->by_type[i].failed; }
    fprintf(stderr, "summary: parsed=%llu skipped=%llu failed=%llu objects=%llu objects_skipped=%llu objects_failed=%llu\n",
            (unsigned long long)p, (unsigned long long)k, (unsigned long long)f, (unsigned long long)s->objects,
            (unsigned long long)s->objects_skipped, (unsigned long long)s->objects_failed);
    for (int i = 0; i < set->n; i++) {
        const struct type_stats *t = &s->by_type[i];
        if (t->parsed || t->skipped || t->failed)
            fprintf(stderr, "summary: type=%s parsed=%llu skipped=%llu failed=%llu\n", set->v[i]->name,
                    (unsigned long long)t->parsed, (unsigned long long)t->skipped, (unsigned long long)t->failed);
    }
}

static void usage(void)
{
    fputs("usage: siemproc parse [--type T] [--s3-key KEY] [--log-group G] [--bulk] [--geoip-dir DIR]\n"
          "                      [--schemas DIR] [--keep-original] [--quiet] [--exclude CSV]\n"
          "                      [--own-user-agent UA] [--cloudfront-realtime-fields LIST] [FILE... | -]\n"
          "S3 GetObject events made with UA are skipped (default: the stages' own_user_agent;\n"
          "--own-user-agent '' keeps them). LIST: the fields of the CloudFront real-time log\n"
          "configuration in its order, as the stages' cloudfront_realtime_fields.\n", stderr);
}

/* Without --own-user-agent, the stages' default (own_user_agent when
 * ignore_own_logs), so parse and the stages skip the same events. */
static const char *own_user_agent(const char *flag, char *buf, size_t n)
{
    if (flag) return flag;
    struct config cfg;
    config_init(&cfg);
    snprintf(buf, n, "%s", cfg.ignore_own_logs ? cfg.own_user_agent : "");
    config_free(&cfg);
    return buf;
}

int cmd_parse(int argc, char **argv)
{
    struct parse_opts o = { 0 };
    static const struct option longopts[] = {
        { "type", required_argument, 0, 't' }, { "s3-key", required_argument, 0, 'k' },
        { "log-group", required_argument, 0, 'g' }, { "bulk", no_argument, 0, 'b' },
        { "geoip-dir", required_argument, 0, 'G' }, { "schemas", required_argument, 0, 'S' },
        { "keep-original", no_argument, 0, 'o' }, { "quiet", no_argument, 0, 'q' },
        { "exclude", required_argument, 0, 'x' }, { "own-user-agent", required_argument, 0, 'u' },
        { "cloudfront-realtime-fields", required_argument, 0, 'F' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "t:k:g:bG:S:oqx:u:F:h", longopts, NULL)) != -1) {
        switch (c) {
        case 't': o.type = optarg; break;
        case 'k': o.s3_key = optarg; break;
        case 'g': o.log_group = optarg; break;
        case 'b': o.bulk = 1; break;
        case 'G': o.geoip_dir = optarg; break;
        case 'S': o.schema_dir = optarg; break;
        case 'o': o.keep_original = 1; break;
        case 'q': o.quiet = 1; break;
        case 'x': o.exclude_file = optarg; break;
        case 'u': o.own_user_agent = optarg; break;
        case 'F': o.cf_fields = optarg; break;
        case 'h': usage(); return 0;
        default: usage(); return 2;
        }
    }
    struct schema_set set;
    if (cli_load_schemas_with(&set, o.schema_dir, o.cf_fields) < 0) return 2;
    if (o.type && !schema_find(&set, o.type)) {
        fprintf(stderr, "siemproc: unknown log type \"%s\" (see `siemproc types`)\n", o.type);
        schema_set_free(&set);
        return 2;
    }
    struct geoip *geo = NULL;
    if (o.geoip_dir) {
        char err[256];
        if (!(geo = geoip_open(o.geoip_dir, err, sizeof err))) {
            fprintf(stderr, "siemproc: geoip: %s\n", err);
            schema_set_free(&set);
            return 1;
        }
    }
    struct exclusions *ex = NULL;
    if (o.exclude_file) {
        char err[512];
        if (!(ex = exclusions_load(o.exclude_file, &set, err, sizeof err))) {
            fprintf(stderr, "siemproc: %s\n", err);
            if (geo) geoip_close(geo);
            schema_set_free(&set);
            return 2;
        }
    }
    char ua[256];
    struct normalizer_opts nopts = { .geoip = geo, .keep_original = o.keep_original, .exclude = ex,
                                     .own_user_agent = own_user_agent(o.own_user_agent, ua, sizeof ua) };
    struct normalizer *nz = normalizer_new(&nopts);
    struct parse_run pr = { .opts = &o };
    buf_init(&pr.out);
    struct ingest_cb cb = { on_doc, NULL, on_fail };
    struct ingest *ig = ingest_new(&set, nz, &cb, &pr);
    int rc = 0;
    if (optind == argc) rc = parse_one(ig, &o, "-");
    for (int i = optind; i < argc; i++) {
        int r = parse_one(ig, &o, argv[i]);
        if (r > rc) rc = r;
    }
    flush_out(&pr, 1);
    fflush(stdout);
    print_summary(ingest_stats(ig), &set);
    ingest_free(ig);
    normalizer_free(nz);
    buf_free(&pr.out);
    if (geo) geoip_close(geo);
    exclusions_free(ex);
    schema_set_free(&set);
    return rc;
}
