/* kadmin: the Kafka cluster queries behind the operations commands and the
 * lag poller -- partitions of topics, a group's committed offsets, the
 * earliest/latest/by-time offsets of partitions, a group's state, and
 * resetting a group's offsets.
 *
 * Owns nothing but the admin requests it makes: every call is synchronous,
 * bounded by timeout_ms, and works on any client handle (a stage's consumer
 * or a client of its own); none joins a group or disturbs its members.
 * Partition lists are librdkafka's (rd_kafka_topic_partition_list_t, freed
 * with rd_kafka_topic_partition_list_destroy).
 * Must never: change a group's offsets anywhere but kadmin_alter_offsets. */
#ifndef SIEMPROC_KADMIN_H
#define SIEMPROC_KADMIN_H
#include <stddef.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>
#include "config.h"

#define KADMIN_EARLIEST (-2)   /* "when" of kadmin_offsets_at: the log start offset */
#define KADMIN_LATEST   (-1)   /* the end offset (high watermark) */

/* A client for admin queries, from the configuration (brokers, kafka.* and
 * kafka.consumer.* properties). NULL with err. */
rd_kafka_t *kadmin_client(const struct config *cfg, char *err, size_t errlen);

/* Every partition of the topics named in a comma-separated list; an entry
 * starting with ^ is a POSIX extended regex matched against the cluster's
 * topic names. Sorted by topic and partition, offsets unset. NULL with err
 * when a regex is invalid or a named topic does not exist (unless
 * missing_ok: then it is left out). */
rd_kafka_topic_partition_list_t *kadmin_partitions(rd_kafka_t *rk, const char *topics, int missing_ok,
                                                   int timeout_ms, char *err, size_t errlen);

/* The distinct topics of a sorted list, comma separated (caller frees). */
char *kadmin_topics_of(const rd_kafka_topic_partition_list_t *l);

/* Every partition for which the group has a committed offset (an empty
 * list for an unknown group). NULL with err. */
rd_kafka_topic_partition_list_t *kadmin_committed(rd_kafka_t *rk, const char *group, int timeout_ms, char *err,
                                                  size_t errlen);

/* Set each element's offset: when = KADMIN_EARLIEST, KADMIN_LATEST, or a
 * time in epoch ms (the first offset whose timestamp is at or after it; the
 * end offset when there is none). 0, or -1 with err. */
int kadmin_offsets_at(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *l, int64_t when, int timeout_ms, char *err,
                      size_t errlen);

struct kadmin_group {
    char state[32];   /* Empty, Stable, PreparingRebalance, CompletingRebalance, Dead, Unknown */
    int  members;
};
int kadmin_describe_group(rd_kafka_t *rk, const char *group, int timeout_ms, struct kadmin_group *g, char *err,
                          size_t errlen);

/* Commit the list's offsets for the group. The broker refuses while the
 * group has members. 0, or -1 with err naming the first refused partition. */
int kadmin_alter_offsets(rd_kafka_t *rk, const char *group, const rd_kafka_topic_partition_list_t *l,
                         int timeout_ms, char *err, size_t errlen);

#endif
