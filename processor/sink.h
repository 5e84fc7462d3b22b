/* sink.h - where documents are delivered, behind one small interface:
 * OpenSearch/Elasticsearch (_bulk) or a local NDJSON file.
 *
 * A sink takes a batch (struct os_batch: documents with index and id) and
 * gives every item a result: OS_OK once the document is durable (the cluster
 * acknowledged it, or the file was fsync'ed), OS_RETRY when it may succeed
 * later, OS_FAIL when it never will as it is. The caller commits, backs off
 * or routes to the retry topic; a sink never retries, sleeps or drops.
 * Threads: one sink per worker thread; file sinks writing the same path
 * serialise their writes with flock(). */
#ifndef SIEMPROC_SINK_H
#define SIEMPROC_SINK_H

#include "opensearch.h"

struct sink;

struct sink_ops {
    /* Deliver b; every item gets a result and s counts them. 0 = all OS_OK. */
    int (*write)(struct sink *sk, struct os_batch *b, struct os_bulk_summary *s);
    void (*free)(struct sink *sk);
};

struct sink {
    const struct sink_ops *ops;
    const char *kind;      /* "opensearch" or "file" */
    const char *action;    /* bulk action of the batches it takes: "create" or "index" */
};

static inline int sink_write(struct sink *sk, struct os_batch *b, struct os_bulk_summary *s)
{
    return sk->ops->write(sk, b, s);
}

static inline void sink_free(struct sink *sk)
{
    if (sk)
        sk->ops->free(sk);
}

struct config;
struct aws_cred_provider;

/* The AWS credential provider for opensearch_auth = sigv4, else NULL. One
 * per process, shared by every sink; destroy it after them. */
struct aws_cred_provider *sink_cred_provider(const struct config *cfg);

/* Client options from the opensearch_* configuration keys (strings point
 * into cfg). Returns 0, or -1 with err when opensearch_url is missing. */
int sink_os_options(const struct config *cfg, struct aws_cred_provider *creds, struct os_options *o,
                    char *err, size_t errlen);

/* The sink the configuration asks for: the file sink when sink_file is set,
 * else OpenSearch at opensearch_url. NULL with err. */
struct sink *sink_from_config(const struct config *cfg, struct aws_cred_provider *creds, char *err,
                              size_t errlen);

/* The client is created from o (see os_client_new). NULL with err. */
struct sink *sink_opensearch_new(const struct os_options *o, char *err, size_t errlen);

/* Appends to path (created 0644; its directory must exist). The
 * file holds the _bulk body: an action line ({"index":{"_index":...,"_id":...}})
 * then the document, exactly what `siemproc parse --bulk` writes, so it can be
 * compared with it or posted to a cluster's _bulk as it is. NULL with err. */
struct sink *sink_file_new(const char *path, char *err, size_t errlen);
#endif
