/* producer: the idempotent, compressing Kafka producer every stage writes with.
 *
 * Owns: one rd_kafka_t producer, a cache of topic handles, and a thread that
 * serves delivery reports. Each message carries a completion (struct
 * producer_done, embedded in the caller's own work item: no allocation per
 * message) whose fn runs exactly once per accepted message, on the delivery
 * thread, with the broker's verdict.
 * Backpressure: a full local queue makes producer_send() wait (the delivery
 * thread frees space); a send from inside a completion (the delivery thread
 * itself) is never blocked: it is kept in a backlog and produced after the
 * next poll.
 * Must never: call a completion for a message it did not accept, call it
 * twice, or block the delivery thread. */
#ifndef SIEMPROC_PRODUCER_H
#define SIEMPROC_PRODUCER_H
#include <stddef.h>
#include <librdkafka/rdkafka.h>

struct producer_done {
    /* rkm->err is RD_KAFKA_RESP_ERR_NO_ERROR when the broker acknowledged. */
    void (*fn)(struct producer_done *d, const rd_kafka_message_t *rkm);
};

struct producer_header {
    const char *name;
    const char *value;
    size_t      len;
};

#define PRODUCER_MAX_HEADERS 16

struct producer;

/* Takes conf (always). Sets the delivery callback and starts the thread.
 * enable.idempotence and compression must already be in conf. */
struct producer *producer_new(rd_kafka_conf_t *conf, char *err, size_t errlen);
/* Close (if not yet), flush up to the remaining budget, stop the thread, destroy. */
void producer_free(struct producer *p);

/* Cached handle of a topic (never NULL for a valid name). */
rd_kafka_topic_t *producer_topic(struct producer *p, const char *name);

/* Queue one message (key, value and headers are copied). Returns 0 when
 * accepted: d->fn will run once. Otherwise the rd_kafka_resp_err_t that
 * refused it (message too large, unknown topic, producer closed or fatal)
 * and d->fn will not run. */
int producer_send(struct producer *p, rd_kafka_topic_t *t, const void *key, size_t klen, const void *value,
                  size_t vlen, const struct producer_header *h, int nh, struct producer_done *d);

/* Wait until every accepted message has its completion, up to timeout_ms.
 * Returns the number still outstanding. */
int producer_flush(struct producer *p, int timeout_ms);
/* Stop waiting for queue space: blocked and later sends fail with
 * RD_KAFKA_RESP_ERR__DESTROY (shutdown past its deadline). */
void producer_close(struct producer *p);
/* Non-zero once librdkafka raised a fatal error (idempotence broken); the
 * message is copied into err. */
int producer_fatal(struct producer *p, char *err, size_t errlen);
/* Non-zero once a broker refused this client (authentication failed, TLS
 * handshake or certificate rejected); the last such message is copied into
 * err. librdkafka keeps retrying: the caller decides whether it is final. */
int producer_refused(struct producer *p, char *err, size_t errlen);
rd_kafka_t *producer_handle(struct producer *p);
/* Messages accepted and not yet completed. */
long producer_outstanding(struct producer *p);
#endif
