/* config: siemproc's configuration, from ONE table of keys.
 *
 * Owns: the key table (SIEMPROC_CONFIG_KEYS below: name, type, default,
 * check, secret, description), and everything derived from it: defaults,
 * the `key = value` file reader (# comments), SIEMPROC_<KEY> environment
 * overrides, the --key-name flag parser, validation that names the key and
 * the bad value, `siemproc config --print` (secrets masked), the reference
 * table for the README, and the `kafka.*` pass-through of librdkafka
 * properties (`kafka.X` for every client, `kafka.consumer.X` and
 * `kafka.producer.X` for one kind).
 * Precedence: default < file (--config) < environment < flags.
 * Must never: print a secret, accept an unknown key silently, or hold state
 * outside the struct config it fills.
 *
 * Adding a key is one line in SIEMPROC_CONFIG_KEYS: the struct field, the
 * flag (--name with '.' and '_' as '-'), the environment variable
 * (SIEMPROC_NAME with '.' and '-' as '_') and the documentation follow. */
#ifndef SIEMPROC_CONFIG_H
#define SIEMPROC_CONFIG_H
#include <stdio.h>
#include <librdkafka/rdkafka.h>

/* Value types. check: INT "min..max"; STR "a|b|c" for a closed set, or "". */
#define CFG_CTYPE_STR  char *
#define CFG_CTYPE_INT  long
#define CFG_CTYPE_BOOL int

/* X(type, field, "name", "default", "check", secret, "description") */
#define SIEMPROC_CONFIG_KEYS(X) \
    X(STR,  stage,              "stage",              "",               "", 0, "stage to run: normalize, or another stage of `siemproc run`") \
    X(STR,  brokers,            "brokers",            "",               "", 0, "Kafka bootstrap servers, host:port[,host:port...]") \
    X(STR,  group,              "group",              "",               "", 0, "consumer group id (default siemproc-<stage>)") \
    X(STR,  topics,             "topics",             "",               "", 0, "raw topics to consume, comma separated; an entry starting with ^ is a regex") \
    X(STR,  output_topic,       "output_topic",       "ecs-normalized", "", 0, "topic of the ECS documents") \
    X(STR,  retry_topic,        "retry_topic",        "ecs-retry",      "", 0, "topic of records, objects and payloads that failed, with error headers") \
    X(STR,  topic_types,        "topic_types",        "",               "", 0, "log type of raw records per topic without a log_type header: topic=type[,topic=type...]") \
    X(INT,  workers,            "workers",            "2",              "1..256", 0, "worker threads (one ingest and S3 client each)") \
    X(INT,  max_inflight,       "max_inflight",       "1000",           "1..1000000", 0, "raw messages in flight (queued, processing or awaiting broker acks) before partitions are paused") \
    X(INT,  max_inflight_mb,    "max_inflight_mb",    "256",            "1..65536", 0, "raw message bytes in flight, MiB, before partitions are paused") \
    X(INT,  commit_interval_ms, "commit_interval_ms", "1000",           "10..600000", 0, "how often the done offset prefix is committed") \
    X(INT,  revoke_timeout_ms,  "revoke_timeout_ms",  "10000",          "0..600000", 0, "on a rebalance, how long to wait for in-flight work of revoked partitions") \
    X(INT,  shutdown_timeout_ms,"shutdown_timeout_ms","30000",          "0..3600000", 0, "on SIGTERM/SIGINT, how long messages already begun may take to finish (queued ones are left to the next owner) before the commit and exit") \
    X(INT,  summary_interval_s, "summary_interval_s", "30",             "0..86400", 0, "period of the one-line counter summary on stderr (0 = off)") \
    X(STR,  compression,        "compression",        "lz4",            "none|gzip|snappy|lz4|zstd", 0, "compression of produced messages") \
    X(STR,  schemas,            "schemas",            "",               "", 0, "directory of the log type schemas (default: the built-in one)") \
    X(STR,  cloudfront_realtime_fields, "cloudfront_realtime_fields", "", "", 0, "fields of the CloudFront real-time log configuration in its order, comma separated (timestamp,c-ip,sc-status,...); empty: all, in the documented order") \
    X(STR,  geoip_dir,          "geoip_dir",          "",               "", 0, "directory of GeoLite2/GeoIP2 .mmdb files (empty: no GeoIP enrichment)") \
    X(STR,  index_prefix,       "index_prefix",       "",               "", 0, "prefix of every index name") \
    X(STR,  exclude_file,       "exclude_file",       "",               "", 0, "CSV of exclusion rules, log_type,field,pattern,text|regex[,comment] per line: matching events are skipped and acknowledged (empty: none)") \
    X(BOOL, ignore_own_logs,    "ignore_own_logs",    "true",           "", 0, "skip S3 GetObject events (CloudTrail, S3 access logs) made with own_user_agent: siemproc's own reads") \
    X(STR,  own_user_agent,     "own_user_agent",     "siemproc",       "", 0, "User-Agent of siemproc's S3 requests, which ignore_own_logs recognises") \
    X(BOOL, keep_original,      "keep_original",      "false",          "", 0, "add event.original to every document") \
    X(STR,  s3_endpoint,        "s3_endpoint",        "",               "", 0, "S3-compatible endpoint URL (empty: AWS S3)") \
    X(STR,  s3_region,          "s3_region",          "",               "", 0, "S3 signing region (empty: aws_region, the AWS environment, or us-east-1)") \
    X(BOOL, s3_path_style,      "s3_path_style",      "false",          "", 0, "path-style S3 URLs (always used with s3_endpoint)") \
    X(STR,  s3_ca_file,         "s3_ca_file",         "",               "", 0, "extra CA bundle for the S3 endpoint") \
    X(INT,  s3_max_attempts,    "s3_max_attempts",    "4",              "1..100", 0, "GET attempts for 5xx, throttling and network errors (403/404 are final)") \
    X(INT,  s3_retry_base_ms,   "s3_retry_base_ms",   "200",            "1..600000", 0, "first S3 retry delay, doubled per attempt") \
    X(INT,  s3_retry_max_ms,    "s3_retry_max_ms",    "5000",           "1..600000", 0, "longest S3 retry delay") \
    X(STR,  aws_profile,        "aws_profile",        "",               "", 0, "AWS shared config profile (empty: AWS_PROFILE or default)") \
    X(STR,  aws_region,         "aws_region",         "",               "", 0, "AWS region for MSK IAM and S3 (empty: AWS_REGION, the profile)") \
    X(BOOL, aws_msk_iam,        "aws_msk_iam",        "false",          "", 0, "authenticate to Amazon MSK with IAM (SASL/OAUTHBEARER token from the AWS credential chain)") \
    X(STR,  opensearch_url,     "opensearch_url",     "",               "", 0, "sink: OpenSearch/Elasticsearch URLs, comma separated (failover in order)") \
    X(STR,  opensearch_auth,    "opensearch_auth",    "none",           "none|basic|sigv4", 0, "sink: none, basic (opensearch_user/opensearch_password) or sigv4 (AWS credential chain)") \
    X(STR,  opensearch_user,    "opensearch_user",    "",               "", 0, "sink: basic auth user") \
    X(STR,  opensearch_password,"opensearch_password","",               "", 1, "sink: basic auth password") \
    X(STR,  opensearch_aws_service, "opensearch_aws_service", "auto",   "auto|es|aoss", 0, "sigv4 service: es (Amazon OpenSearch Service), aoss (Serverless); auto: aoss for *.aoss.amazonaws.com") \
    X(STR,  opensearch_ca_file, "opensearch_ca_file", "",               "", 0, "sink: CA bundle trusted for the cluster (empty: the system's)") \
    X(STR,  opensearch_client_cert, "opensearch_client_cert", "",       "", 0, "sink: client certificate (PEM) for mTLS") \
    X(STR,  opensearch_client_key, "opensearch_client_key", "",         "", 0, "sink: client key (PEM) for mTLS") \
    X(BOOL, opensearch_tls_verify, "opensearch_tls_verify", "true",     "", 0, "sink: verify the cluster's certificate and host name") \
    X(BOOL, opensearch_gzip,    "opensearch_gzip",    "true",           "", 0, "sink: gzip _bulk request bodies") \
    X(STR,  opensearch_bulk_action, "opensearch_bulk_action", "create", "create|index", 0, "sink: create (a re-delivered id is a 409 = already there) or index (overwrite)") \
    X(INT,  opensearch_timeout_ms, "opensearch_timeout_ms", "60000",    "100..3600000", 0, "sink: whole _bulk request timeout (a timeout is retried)") \
    X(STR,  sink_file,          "sink_file",          "",               "", 0, "sink: append documents to this file (_bulk NDJSON) instead of OpenSearch") \
    X(INT,  batch_max_docs,     "batch_max_docs",     "1000",           "1..100000", 0, "sink: documents per _bulk request") \
    X(INT,  batch_max_kb,       "batch_max_kb",       "5120",           "1..1048576", 0, "sink: uncompressed KiB per _bulk request") \
    X(INT,  batch_linger_ms,    "batch_linger_ms",    "200",            "0..600000", 0, "sink: longest wait for a batch to fill") \
    X(INT,  backoff_initial_ms, "backoff_initial_ms", "250",            "1..600000", 0, "sink: first wait after a retriable failure (429, 5xx, down), doubled each time, with jitter") \
    X(INT,  backoff_max_ms,     "backoff_max_ms",     "30000",          "1..3600000", 0, "sink: longest wait between retries of a batch") \
    X(STR,  dlq_topic,          "dlq_topic",          "ecs-dlq",        "", 0, "retry stage: where messages go after retry_max_attempts (kept for a human)") \
    X(INT,  retry_max_attempts, "retry_max_attempts", "5",              "1..1000", 0, "retry stage: failed attempts before a message moves to the DLQ") \
    X(INT,  retry_delay_ms,     "retry_delay_ms",     "30000",          "0..86400000", 0, "retry stage: wait after the first failure before re-submitting, doubled per attempt") \
    X(INT,  retry_delay_max_ms, "retry_delay_max_ms", "3600000",        "0..604800000", 0, "retry stage: longest wait before a re-submission") \
    X(INT,  index_shards,       "index_shards",       "1",              "1..1024", 0, "setup: primary shards per index") \
    X(INT,  index_replicas,     "index_replicas",     "1",              "0..16", 0, "setup: replicas per index") \
    X(INT,  index_retention_days, "index_retention_days", "90",         "0..36500", 0, "setup: ISM/ILM deletes indices older than this (0 = never)") \
    X(INT,  index_rollover_days, "index_rollover_days", "1",            "1..3650", 0, "setup: rollover age of indices without time rotation (write alias)") \
    X(INT,  index_rollover_gb,  "index_rollover_gb",  "50",             "1..10000", 0, "setup: rollover primary shard size of indices without time rotation") \
    X(STR,  samples,            "samples",            "",               "", 0, "embedded mode (run without brokers): directory of sample logs (default: the bundled ones)") \
    X(BOOL, follow,             "follow",             "false",          "", 0, "embedded mode: keep running after the samples are processed (stop with Ctrl-C)") \
    X(INT,  metrics_port,       "metrics_port",       "0",              "0..65535", 0, "port of /metrics, /healthz and /readyz (0 = off)") \
    X(STR,  metrics_address,    "metrics_address",    "0.0.0.0",        "", 0, "address the metrics server binds") \
    X(INT,  lag_interval_ms,    "lag_interval_ms",    "15000",          "1000..3600000", 0, "how often consumer lag is measured from the broker") \
    X(INT,  ready_window_ms,    "ready_window_ms",    "60000",          "1000..3600000", 0, "/readyz fails when there is lag and no message was taken for this long") \
    X(INT,  geoip_check_s,      "geoip_check_s",      "300",            "1..86400", 0, "how often changed GeoIP .mmdb files are looked for and reloaded")

struct config_kv {
    char *name;     /* librdkafka property, without the kafka[.consumer|.producer]. prefix */
    char *value;
    int   role;     /* CFG_ROLE_* */
};

enum { CFG_ROLE_ALL = 0, CFG_ROLE_CONSUMER = 1, CFG_ROLE_PRODUCER = 2 };
enum cfg_source { CFG_SRC_DEFAULT = 0, CFG_SRC_FILE, CFG_SRC_ENV, CFG_SRC_FLAG };

#define CFG_FIELD(t, field, ...) CFG_CTYPE_##t field;
#define CFG_COUNT(...) +1
enum { CONFIG_NKEYS = 0 SIEMPROC_CONFIG_KEYS(CFG_COUNT) };

struct config {
    SIEMPROC_CONFIG_KEYS(CFG_FIELD)
    unsigned char source[CONFIG_NKEYS];   /* enum cfg_source of each key */
    struct config_kv *kafka;              /* pass-through properties, in the order given */
    int nkafka;
    char *config_file;                    /* the --config file, or NULL */
};

/* Defaults only. */
void config_init(struct config *cfg);
void config_free(struct config *cfg);

/* Defaults, then --config FILE, then SIEMPROC_* environment, then flags.
 * argv[0] is skipped; options end at "--". Flags: --name VALUE, --name=VALUE,
 * a bare --name for booleans, --set KEY=VALUE (any key, kafka.* included),
 * --config FILE. Other arguments are an error unless extra is given: extra()
 * returns 1 if it took the option (and *consumed arguments), 0 if unknown.
 * Returns 0, or -1 with a message naming the key and value in err. */
typedef int (*config_extra_fn)(void *arg, const char *opt, const char *value, int *consumed);
int config_load(struct config *cfg, int argc, char **argv, config_extra_fn extra, void *arg,
                char *err, size_t errlen);

/* Set one key ("workers", "kafka.security.protocol") from text: parsed,
 * range-checked. Returns 0 or -1 with err. */
int config_set(struct config *cfg, const char *name, const char *value, enum cfg_source src,
               char *err, size_t errlen);
/* Read a `key = value` file. */
int config_read_file(struct config *cfg, const char *path, char *err, size_t errlen);

/* Every name in names (NULL-terminated) must be non-empty: else -1 with
 * "brokers: missing (--brokers or SIEMPROC_BROKERS)". */
int config_require(const struct config *cfg, const char *const *names, char *err, size_t errlen);

/* Effective configuration as a config file, secrets masked, with the source of each value. */
void config_print(const struct config *cfg, FILE *out);
/* The key table as Markdown (README) or as a commented example file. */
void config_describe(FILE *out, int markdown);

/* Whether a name looks secret (passwords, keys, tokens): its value is masked. */
int config_is_secret(const char *name);

/* librdkafka configuration for a client of the role (CFG_ROLE_CONSUMER or
 * CFG_ROLE_PRODUCER): bootstrap.servers, the caller's defaults (name, value
 * pairs, NULL-terminated; may be NULL), then the pass-through properties,
 * which override them. With aws_msk_iam: SASL_SSL + OAUTHBEARER by default and
 * a token refresh callback that signs MSK IAM tokens with the AWS credential
 * chain (aws_profile) for aws_region. NULL with err naming the key or
 * property on a bad one. */
rd_kafka_conf_t *config_kafka_conf(const struct config *cfg, int role, const char *const *defaults,
                                   char *err, size_t errlen);

/* Value of key in "key=value,key=value" (topic_types), copied into out.
 * NULL when the key is absent or its value does not fit. */
const char *config_map_get(const char *map, const char *key, char *out, size_t outlen);
#endif
