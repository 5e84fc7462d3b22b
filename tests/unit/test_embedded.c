/* test_embedded.c - `siemproc run` with no configuration (the README's first
 * command): starts the in-process Kafka, runs normalize, sink and retry on the
 * bundled samples, writes the documents to the file and exits by itself.
 * Checked: exit 0, the output holds exactly the documents the report counts,
 * in the _bulk format (action line, then a JSON object), every sample type
 * that has documents is there, and a second run starts a fresh file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jscan.h"
#include "testlib.h"

static char out_path[256], report_path[256];

static int run_embedded(void)
{
    const char *bin = getenv("SIEMPROC_BIN");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "timeout 120 %s run --sink-file %s > %s 2>/dev/null", bin, out_path, report_path);
    return system(cmd);
}

/* Documents in the file: pairs of an action line and a JSON object. */
static long count_docs(const char *text)
{
    struct jscan js;
    jscan_init(&js);
    long docs = 0, line = 0;
    for (const char *p = text; *p; line++) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        int ok = jscan_parse(&js, p, len) == 0 && js.tok[0].type == J_OBJ;
        if (line % 2 == 0)
            ok = ok && jscan_key(&js, 0, "index", 5) >= 0;
        if (!ok) {
            fprintf(stderr, "line %ld is not a valid %s\n", line + 1, line % 2 ? "document" : "action");
            docs = -1;
            break;
        }
        docs += line % 2;
        p += len + (nl ? 1 : 0);
    }
    jscan_free(&js);
    return docs;
}

int main(void)
{
    if (!getenv("SIEMPROC_BIN") || access(getenv("SIEMPROC_BIN"), X_OK) != 0)
        tl_skip("SIEMPROC_BIN not set");
    snprintf(out_path, sizeof out_path, "/tmp/siemproc-embedded-%d.ndjson", (int)getpid());
    snprintf(report_path, sizeof report_path, "/tmp/siemproc-embedded-%d.out", (int)getpid());
    CHECK_INT(run_embedded(), 0);
    char *text = tl_read_file(out_path, NULL), *report = tl_read_file(report_path, NULL);
    CHECK(text && report);
    if (!text || !report)
        return tl_done();
    long docs = count_docs(text), reported = -1;
    const char *w = strstr(report, " documents written to ");
    while (w && w > report && w[-1] >= '0' && w[-1] <= '9')
        w--;
    if (w)
        reported = strtol(w, NULL, 10);
    CHECK(docs > 50);
    CHECK_INT(docs, reported);
    CHECK(strstr(report, "embedded mode: in-process Kafka") != NULL);
    CHECK(strstr(text, "\"_index\":\"log-aws-vpcflowlogs-") && strstr(text, "\"_index\":\"log-aws-cloudtrail-"));
    free(text);
    CHECK_INT(run_embedded(), 0); /* again: a fresh file, not an appended one */
    text = tl_read_file(out_path, NULL);
    CHECK_INT(text ? count_docs(text) : -1, docs);
    free(text);
    free(report);
    unlink(out_path);
    unlink(report_path);
    return tl_done();
}
