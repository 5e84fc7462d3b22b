/* sink_file.c - the local NDJSON file sink.
 *
 * Owns: one file descriptor opened O_APPEND, and the rule that a batch is
 * acknowledged only after its bytes are written completely and fsync'ed.
 * Must never: acknowledge before fdatasync() returned, or leave half a batch
 * in the file (a failed write is cut off again, so a retry appends it whole).
 *
 * Delivery is at least once like the OpenSearch sink, but a file cannot
 * overwrite by id: after a crash between fsync and the offset commit a
 * batch can appear twice (same ids; dedupe by _id when reading). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sink.h"

struct file_sink {
    struct sink base;
    int fd;
    char *path;
};

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Append and fsync under an exclusive lock; on failure cut the file back. */
static int append_durably(struct file_sink *fs, const buf_t *body, char *why, size_t n)
{
    struct stat st;
    int rc = -1;
    if (flock(fs->fd, LOCK_EX) != 0) {
        snprintf(why, n, "%s: flock: %s", fs->path, strerror(errno));
        return -1;
    }
    if (fstat(fs->fd, &st) != 0)
        snprintf(why, n, "%s: fstat: %s", fs->path, strerror(errno));
    else if (write_all(fs->fd, body->data, body->len) != 0 || fdatasync(fs->fd) != 0) {
        snprintf(why, n, "%s: %s", fs->path, strerror(errno));
        if (ftruncate(fs->fd, st.st_size) != 0) /* best effort; the retry appends the batch whole */
            snprintf(why + strlen(why), n - strlen(why), " (and truncate: %s)", strerror(errno));
    } else
        rc = 0;
    flock(fs->fd, LOCK_UN);
    return rc;
}

static int file_write(struct sink *sk, struct os_batch *b, struct os_bulk_summary *s)
{
    struct file_sink *fs = (struct file_sink *)sk;
    memset(s, 0, sizeof *s);
    s->endpoint = -1;
    if (b->n == 0)
        return 0;
    char why[512];
    if (append_durably(fs, &b->body, why, sizeof why) == 0) {
        os_batch_mark(b, OS_OK, NULL, NULL);
        s->endpoint = 0;
        s->bytes_sent = b->body.len;
    } else {
        os_batch_mark(b, OS_RETRY, "file_write_error", why);
        snprintf(s->error, sizeof s->error, "%s", why);
    }
    s->requests = 1;
    os_batch_summarize(b, s);
    return s->status == OS_OK ? 0 : -1;
}

static void file_free(struct sink *sk)
{
    struct file_sink *fs = (struct file_sink *)sk;
    if (fs->fd >= 0)
        close(fs->fd);
    free(fs->path);
    free(fs);
}

static const struct sink_ops file_ops = {file_write, file_free};

struct sink *sink_file_new(const char *path, char *err, size_t errlen)
{
    if (!path || !*path) {
        snprintf(err, errlen, "file sink: no path");
        return NULL;
    }
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "file sink: %s: %s", path, strerror(errno));
        return NULL;
    }
    struct file_sink *fs = xcalloc(1, sizeof *fs);
    fs->base = (struct sink){.ops = &file_ops, .kind = "file", .action = "index"};
    fs->fd = fd;
    fs->path = xstrdup(path);
    return &fs->base;
}
