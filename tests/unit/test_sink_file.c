/* test_sink_file.c - the file sink: batches are appended whole in the _bulk
 * format and acknowledged; a write that fails (ENOSPC on /dev/full) leaves
 * every item retriable with the reason; a missing directory is an error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sink.h"
#include "testlib.h"

static void fill(struct os_batch *b, const char *id, const char *doc)
{
    CHECK_INT(os_batch_add(b, "log-x", 5, id, strlen(id), doc, strlen(doc), NULL, NULL), 0);
}

int main(void)
{
    char dir[] = "/tmp/sink-file-XXXXXX", path[256], err[256];
    if (!mkdtemp(dir))
        tl_skip("no temporary directory");
    snprintf(path, sizeof path, "%s/out.ndjson", dir);
    struct sink *sk = sink_file_new(path, err, sizeof err);
    CHECK(sk != NULL);
    CHECK_STR(sk->kind, "file");
    struct os_batch b;
    os_batch_init(&b, sk->action);
    fill(&b, "1", "{\"a\":1}");
    fill(&b, "2", "{\"a\":2}");
    struct os_bulk_summary s;
    CHECK_INT(sink_write(sk, &b, &s), 0);
    CHECK_INT(s.ok, 2);
    CHECK_INT(b.items[1].status, OS_OK);
    os_batch_reset(&b);
    fill(&b, "3", "{\"a\":3}");
    CHECK_INT(sink_write(sk, &b, &s), 0);
    sink_free(sk);
    char *text = tl_read_file(path, NULL);
    CHECK_STR(text, "{\"index\":{\"_index\":\"log-x\",\"_id\":\"1\"}}\n{\"a\":1}\n"
                    "{\"index\":{\"_index\":\"log-x\",\"_id\":\"2\"}}\n{\"a\":2}\n"
                    "{\"index\":{\"_index\":\"log-x\",\"_id\":\"3\"}}\n{\"a\":3}\n");
    free(text);

    sk = sink_file_new("/dev/full", err, sizeof err);
    CHECK(sk != NULL);
    CHECK_INT(sink_write(sk, &b, &s), -1);
    CHECK_INT(s.status, OS_RETRY);
    CHECK_INT(s.retry, 1);
    CHECK_STR(b.items[0].error_type, "file_write_error");
    CHECK(strstr(b.items[0].error_reason, "No space left") != NULL);
    sink_free(sk);

    snprintf(path, sizeof path, "%s/missing/out.ndjson", dir);
    CHECK(sink_file_new(path, err, sizeof err) == NULL);
    CHECK(strstr(err, "No such file") != NULL);
    os_batch_free(&b);
    snprintf(path, sizeof path, "%s/out.ndjson", dir);
    unlink(path);
    rmdir(dir);
    return tl_done();
}
