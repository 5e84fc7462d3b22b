/* stage_sink: `siemproc run --stage sink` -- ECS documents from Kafka
 * (ecs-normalized) into OpenSearch/Elasticsearch or a file, at least once,
 * committed only after acknowledgement.
 *
 * Owns: the batch queue between the poll thread and the sink workers, one
 * sink (client or file) and one batch per worker, the backoff of retriable
 * failures, routing refused documents to the retry topic, and the counters.
 * A message is done -- its offset may be committed, in offset order per
 * partition, by kafka_source -- when the sink acknowledged its document
 * (created, updated, or already there: 409 on the same id), or when the
 * retry topic acknowledged the copy sent there. Nothing else moves an offset.
 * Retriable failures (429, 5xx, connection errors, timeouts, cluster blocks)
 * keep the same batch: the worker waits (exponential backoff, jitter) and
 * sends the remaining documents again; while it waits the queue fills and
 * kafka_source pauses the partitions. Never a tight loop, never a drop.
 * Must never: acknowledge a message its sink did not acknowledge, or let a
 * document out of the stage other than into the sink or the retry topic.
 * Document ids are the message keys: re-delivery overwrites or is a 409. */
#ifndef SIEMPROC_STAGE_SINK_H
#define SIEMPROC_STAGE_SINK_H
#include <stdint.h>
#include "config.h"

#define SINK_COUNTERS(X) \
    X(messages)      /* documents taken from Kafka */ \
    X(acked)         /* acknowledged by the sink */ \
    X(duplicates)    /* of which already there (409 on create: a re-delivery) */ \
    X(refused)       /* refused for good by the sink (mapping errors, ...): to the retry topic */ \
    X(invalid)       /* messages that are no document (no index header, empty value): to the retry topic */ \
    X(retry_acked)   /* copies acknowledged by the retry topic */ \
    X(no_id)         /* documents without a key: the cluster chose the id */ \
    X(batches)       /* batches written */ \
    X(requests)      /* sink requests (bulk requests, file writes) */ \
    X(retries)       /* waits before sending a batch's retriable documents again */ \
    X(bytes_sent)    /* request bytes (after gzip) */

#define SINK_C_FIELD(name) uint64_t name;
struct sink_counters {
    SINK_COUNTERS(SINK_C_FIELD)
};
#undef SINK_C_FIELD

struct sstage;

/* Input topics: cfg->topics, or cfg->output_topic when empty; group:
 * cfg->group or "siemproc-sink". Validates (errors name the key), checks
 * the retry topic, opens the sinks, starts the workers. */
struct sstage *stage_sink_new(const struct config *cfg, char *err, size_t errlen);
/* Consume until stage_sink_stop(); drain; commit. 0, or 1 after a fatal error. */
int  stage_sink_run(struct sstage *st);
void stage_sink_stop(struct sstage *st);   /* async-signal-safe */
void stage_sink_free(struct sstage *st);
void stage_sink_counters(struct sstage *st, struct sink_counters *out);
#endif
