/* embedded: the default of `siemproc run` without brokers -- the whole
 * pipeline in one process with nothing installed: librdkafka's mock cluster
 * as the Kafka, the bundled sample logs as the input, the NDJSON file sink
 * as the output.
 *
 * Owns: the mock cluster and its topics, loading the samples into the raw
 * topic, the configuration view the stages run with (brokers of the mock
 * cluster, the file sink, short retry delays), deciding when everything
 * produced has been consumed and committed by every stage, and the report.
 * Must never: touch anything outside the output file it names.
 *
 * Samples: every file under the samples directory (default: the bundled
 * tests/fixtures) is one raw message -- an object without S3. A CloudWatch
 * Logs subscription payload goes as it is (its log group names the type);
 * any other file gets a log_type header: the type whose S3 key patterns
 * match the file's path (AWSLogs/...), else the type named by its first
 * directory (guardduty/..., firelens/... -> ecs-firelens). Files of no known
 * type are reported and skipped. */
#ifndef SIEMPROC_EMBEDDED_H
#define SIEMPROC_EMBEDDED_H
#include <stdatomic.h>
#include "config.h"

struct embedded;
struct normalize_counters;
struct sink_counters;
struct retry_counters;

/* Start the mock cluster and load the samples. NULL with err. */
struct embedded *embedded_new(const struct config *user, char *err, size_t errlen);
/* The configuration the stages run with (valid until embedded_free). */
const struct config *embedded_config(const struct embedded *e);
/* Wait until all stages are idle with everything committed (or forever with
 * --follow), or until *stopping is set. Returns 0 when done, 1 when stopped. */
int embedded_wait(struct embedded *e, atomic_int *stopping);
/* What happened and where the output is, on stdout. */
void embedded_report(const struct embedded *e, const struct normalize_counters *n, const struct sink_counters *s,
                     const struct retry_counters *t);
void embedded_free(struct embedded *e);
#endif
