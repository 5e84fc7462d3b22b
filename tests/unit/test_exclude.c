/* Exclusion rules and "ignore own logs" through the real engine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include "cli.h"
#include "exclude.h"
#include "ingest.h"
#include "testlib.h"

struct counts { int docs, skipped; char last_reason[64]; };

static int on_doc(void *arg, const struct ingest_event *ev) { ((struct counts *)arg)->docs++; return 0; }
static void on_skip(void *arg, const struct ingest_event *ev)
{
    struct counts *c = arg;
    c->skipped++;
    snprintf(c->last_reason, sizeof c->last_reason, "%s", ev->message);
}

static const char *records =
    "{\"eventVersion\":\"1.08\",\"eventTime\":\"2026-11-28T03:00:00Z\",\"eventSource\":\"athena.amazonaws.com\","
    "\"eventName\":\"GetQueryExecution\",\"eventID\":\"e1\",\"sourceIPAddress\":\"81.2.69.142\"}\n"
    "{\"eventVersion\":\"1.08\",\"eventTime\":\"2026-11-28T03:00:01Z\",\"eventSource\":\"s3.amazonaws.com\","
    "\"eventName\":\"GetObject\",\"eventID\":\"e2\",\"userAgent\":\"siemproc/1.0 libcurl\",\"userIdentity\":{\"invokedBy\":\"x\"}}\n"
    "{\"eventVersion\":\"1.08\",\"eventTime\":\"2026-11-28T03:00:02Z\",\"eventSource\":\"s3.amazonaws.com\","
    "\"eventName\":\"PutObject\",\"eventID\":\"e3\",\"userIdentity\":{\"invokedBy\":\"config.amazonaws.com\"}}\n"
    "{\"eventVersion\":\"1.08\",\"eventTime\":\"2026-11-28T03:00:03Z\",\"eventSource\":\"ec2.amazonaws.com\","
    "\"eventName\":\"RunInstances\",\"eventID\":\"e4\"}\n";

static struct counts run(const struct schema_set *set, const struct exclusions *ex, const char *ua)
{
    struct counts c = { 0 };
    struct normalizer_opts no = { .exclude = ex, .own_user_agent = ua };
    struct normalizer *nz = normalizer_new(&no);
    struct ingest_cb cb = { on_doc, on_skip, NULL };
    struct ingest *ig = ingest_new(set, nz, &cb, &c);
    struct ingest_object obj = { .type = "cloudtrail", .origin = "test" };
    ingest_begin(ig, &obj);
    ingest_feed(ig, records, strlen(records));
    CHECK_INT(ingest_end(ig), INGEST_OK);
    ingest_free(ig);
    normalizer_free(nz);
    return c;
}

int main(void)
{
    struct schema_set set;
    setenv("SIEMPROC_SCHEMAS", tl_src("schemas"), 1);
    if (cli_load_schemas(&set, NULL) < 0) return 1;

    char path[] = "/tmp/siemproc-exclude-XXXXXX";
    int fd = mkstemp(path);
    const char *csv = "log_type,field,pattern,pattern_type,comment\n"
                      "cloudtrail,eventSource,athena.amazonaws.com,text,chatty\n"
                      "cloudtrail,userIdentity.invokedBy,.*\\.amazonaws\\.com,regex,AWS services\n";
    CHECK(write(fd, csv, strlen(csv)) == (ssize_t)strlen(csv));
    close(fd);
    char err[256];
    struct exclusions *ex = exclusions_load(path, &set, err, sizeof err);
    CHECK(ex != NULL);
    CHECK_INT(exclusions_count(ex), 2);

    struct counts none = run(&set, NULL, NULL);
    CHECK_INT(none.docs, 4);
    struct counts ex_only = run(&set, ex, NULL);
    CHECK_INT(ex_only.docs, 2);            /* athena and the config.amazonaws.com event are dropped */
    CHECK_INT(ex_only.skipped, 2);
    CHECK_STR(ex_only.last_reason, "excluded");
    struct counts both = run(&set, ex, "siemproc/");
    CHECK_INT(both.docs, 1);               /* our own GetObject is dropped too */
    CHECK_INT(both.skipped, 3);

    /* Bad rule files fail at load with the line named. */
    fd = open(path, O_WRONLY | O_TRUNC);
    const char *bad = "cloudtrail,eventSource,([,regex,x\n";
    CHECK(write(fd, bad, strlen(bad)) == (ssize_t)strlen(bad));
    close(fd);
    CHECK(exclusions_load(path, &set, err, sizeof err) == NULL);
    CHECK(strstr(err, ":1: invalid regex") != NULL);
    unlink(path);
    exclusions_free(ex);
    schema_set_free(&set);
    return tl_done();
}
