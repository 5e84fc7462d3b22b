/* Golden tests for the text-format log types: cloudfront-standard and
 * -realtime, rds-mysql-{audit,error,general,slowquery}, rds-postgresql, msk,
 * linux-os-syslog and linux-secure.
 *
 * The engine (schemas/ + ingest) runs over the shared corpus (skipped with a
 * message when ../shared is absent) and over tests/fixtures/<type>/; every
 * file's parsed/skipped/failed counts are printed and checked, then key
 * fields of specific records. Ids must not change between runs. The last
 * test feeds gzipped CloudWatch Logs payloads to `siemproc parse`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "ecs.h"
#include "ingest.h"
#include "testlib.h"

static struct schema_set set;

/* Times the fixtures and the corpus are "delivered" at: they give syslog lines their year. */
#define DELIVERED_2026_06_01 1780272000000LL
#define DELIVERED_2025_01_01_0010 1735690200000LL

struct result {
    json_t  *docs, *ids, *indexes;
    uint64_t parsed, skipped, failed;
    int      status;
};

static int on_doc(void *arg, const struct ingest_event *ev)
{
    struct result *r = arg;
    buf_t b;
    buf_init(&b);
    doc_emit(ev->doc, &b);
    json_t *d = json_loadb(b.data, b.len, 0, NULL);
    CHECK(d != NULL);
    json_array_append_new(r->docs, d ? d : json_null());
    json_array_append_new(r->ids, json_string(ev->res->id));
    json_array_append_new(r->indexes, json_string(ev->res->index));
    buf_free(&b);
    return 0;
}

static void on_fail(void *arg, const struct ingest_event *ev)
{
    fprintf(stderr, "  %s:%llu: %s\n", ev->origin, (unsigned long long)ev->line, ev->message);
}

static struct result run_bytes(const char *type, const char *key, const char *group, int64_t delivery_ms,
                               const char *data, size_t len)
{
    struct result r = { json_array(), json_array(), json_array(), 0, 0, 0, 0 };
    struct normalizer *nz = normalizer_new(NULL);
    struct ingest_cb cb = { on_doc, NULL, on_fail };
    struct ingest *ig = ingest_new(&set, nz, &cb, &r);
    struct ingest_object obj = { .type = type, .s3_key = key, .log_group = group, .origin = key ? key : "bytes",
                                 .delivery_ms = delivery_ms, .key_is_local = 1 };
    ingest_begin(ig, &obj);
    ingest_feed(ig, data, len);
    r.status = ingest_end(ig);
    const struct ingest_stats *st = ingest_stats(ig);
    for (int i = 0; i <= set.n; i++) {
        r.parsed += st->by_type[i].parsed;
        r.skipped += st->by_type[i].skipped;
        r.failed += st->by_type[i].failed;
    }
    ingest_free(ig);
    normalizer_free(nz);
    return r;
}

static struct result run_file(const char *type, const char *path, int64_t delivery_ms)
{
    size_t len = 0;
    char *data = path ? tl_read_file(path, &len) : NULL;
    CHECK(data != NULL);
    struct result r = run_bytes(type, path, NULL, delivery_ms, data ? data : "", len);
    free(data);
    return r;
}

static void result_free(struct result *r)
{
    json_decref(r->docs);
    json_decref(r->ids);
    json_decref(r->indexes);
}

static json_t *path_get(json_t *doc, const char *path)
{
    char key[128];
    while (doc && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        snprintf(key, sizeof key, "%.*s", (int)n, path);
        doc = json_object_get(doc, key);
        path += n + (dot ? 1 : 0);
    }
    return doc;
}

/* A field of document i as text: strings as they are, anything else as JSON. */
static const char *field(const struct result *r, size_t i, const char *path)
{
    static char bufs[8][2048];
    static int next;
    char *out = bufs[next++ % 8];
    json_t *v = path_get(json_array_get(r->docs, i), path);
    if (!v) return "(absent)";
    if (json_is_string(v)) {
        snprintf(out, sizeof bufs[0], "%s", json_string_value(v));
    } else {
        char *d = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        snprintf(out, sizeof bufs[0], "%s", d ? d : "?");
        free(d);
    }
    return out;
}

static const char *index_of(const struct result *r, size_t i) { return json_string_value(json_array_get(r->indexes, i)); }

/* Counts as expected; a second run gives the same ids, all distinct. */
static void check_counts(const char *type, const char *name, const struct result *r, int parsed, int skipped, int failed)
{
    printf("golden: %-20s %-58s parsed %llu/%llu (skipped %llu, failed %llu)\n", type, name,
           (unsigned long long)r->parsed, (unsigned long long)(r->parsed + r->skipped + r->failed),
           (unsigned long long)r->skipped, (unsigned long long)r->failed);
    CHECK_INT(r->parsed, parsed);
    CHECK_INT(r->skipped, skipped);
    CHECK_INT(r->failed, failed);
    CHECK_INT(json_array_size(r->docs), parsed);
    json_t *seen = json_object();
    size_t i;
    json_t *id;
    json_array_foreach(r->ids, i, id) json_object_set(seen, json_string_value(id), json_true());
    CHECK_INT(json_object_size(seen), json_array_size(r->ids));
    json_decref(seen);
}

static void check_ids_stable(const char *type, const char *path, const struct result *first, int64_t delivery_ms)
{
    struct result again = run_file(type, path, delivery_ms);
    CHECK(json_equal(first->ids, again.ids));
    result_free(&again);
}

/* ---- the shared corpus -------------------------------------------------- */

struct corpus_case {
    const char *type, *file;
    int parsed, skipped, failed;
    void (*check)(const struct result *r);
};

static void check_cloudfront(const struct result *r)
{
    CHECK_STR(field(r, 0, "@timestamp"), "2019-12-04T21:02:31.000Z");
    CHECK_STR(field(r, 0, "source.ip"), "89.160.20.112");
    CHECK_STR(field(r, 0, "source.port"), "11040");
    CHECK_STR(field(r, 0, "user_agent.original"),
              "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/78.0.3904.108 Safari/537.36");
    CHECK_STR(field(r, 0, "http.response.status_code"), "200");
    CHECK_STR(field(r, 0, "event.outcome"), "success");
    CHECK_STR(field(r, 0, "url.path"), "/index.html");
    CHECK_STR(index_of(r, 0), "log-aws-cloudfront-2019-12");
    CHECK_STR(field(r, 1, "source.ip"), "2a02:cf40:add:4002:91f2:a9b2:e09a:6fc6");
    CHECK_STR(field(r, 3, "http.response.status_code"), "502");
    CHECK_STR(field(r, 3, "event.outcome"), "failure");
    CHECK_STR(field(r, 7, "http.response.status_code"), "0");      /* "000": no leading zeros in JSON */
    CHECK_STR(field(r, 6, "url.query"), "source=global");
    CHECK_STR(field(r, 6, "http.request.method"), "POST");
    /* space separated copies; "a, b" in x-forwarded-for stays one column */
    for (size_t i = 8; i < 14; i++) {
        CHECK_STR(field(r, i, "network.forwarded_ip"), "81.2.69.142");
        CHECK_STR(field(r, i, "aws.cloudfront.ssl_protocol"), "TLSv1.2");
        CHECK_STR(field(r, i, "tls.cipher"), "ECDHE-RSA-AES128-GCM-SHA256");
    }
    CHECK_STR(field(r, 9, "aws.cloudfront.x_forwarded_for"), "81.2.69.142, 216.160.83.56");
    CHECK_STR(field(r, 10, "related.ip"), "[\"81.2.69.142\",\"216.160.83.56\",\"81.2.69.143\"]");
    CHECK_STR(field(r, 12, "url.path"), "/https/www.foo.test.com%2Ftest%2Ffoo%2Fbar%20baz%20(ABC).gif");
    CHECK_STR(field(r, 8, "http.version"), "1.1");
    CHECK_STR(field(r, 8, "event.duration"), "93000000");
}

static void check_mysql_error(const struct result *r)
{
    CHECK_STR(field(r, 0, "@timestamp"), "2016-12-09T14:18:50.000Z");
    CHECK_STR(field(r, 0, "log.level"), "Warning");
    CHECK_STR(field(r, 2, "message"), "InnoDB: The InnoDB memory heap is disabled");
    /* "InnoDB: ..." lines without a time belong to the entry above */
    CHECK_STR(field(r, 6, "message"),
              "InnoDB: Completed initialization of buffer pool\nInnoDB: The first specified data file ./ibdata1 did not exist:\n"
              "InnoDB: a new database to be created!");
    int errors = 0;
    for (size_t i = 0; i < json_array_size(r->docs); i++)
        if (strcmp(field(r, i, "log.level"), "ERROR") == 0) {
            errors++;
            CHECK_STR(field(r, i, "event.type"), "[\"error\"]");
        }
    CHECK_INT(errors, 4);
    CHECK_STR(index_of(r, 0), "log-aws-rds-mysql-2016-12");
}

static void check_slow_mysql57(const struct result *r)
{
    CHECK_STR(field(r, 0, "@timestamp"), "2018-08-07T08:27:47.169Z");
    CHECK_STR(field(r, 0, "user.name"), "root");
    CHECK_STR(field(r, 0, "source.ip"), "67.43.156.14");
    CHECK_STR(field(r, 0, "process.thread.id"), "7234");
    CHECK_STR(field(r, 0, "event.duration"), "15000223000");
    CHECK_STR(field(r, 0, "aws.rds.query"), "select sleep(15);");
    CHECK_STR(field(r, 1, "user.name"), "debian-sys-maint");
    CHECK_STR(field(r, 1, "source.ip"), "(absent)");
    CHECK_STR(field(r, 1, "source.address"), "localhost");
    CHECK_STR(field(r, 2, "aws.rds.rows_examined"), "1489615");
    CHECK(strstr(field(r, 2, "aws.rds.query"), "\n                    LIMIT 1000;") != NULL);
}

static void check_slow_mariadb(const struct result *r)
{
    CHECK_STR(field(r, 0, "@timestamp"), "2018-06-13T11:04:36.000Z");
    CHECK_STR(field(r, 0, "process.thread.id"), "5");
    CHECK_STR(field(r, 0, "event.duration"), "2000652000");
    CHECK_STR(field(r, 0, "aws.rds.query"), "select sleep(2);");
}

static void check_slow_debian(const struct result *r)
{
    /* no "# Time:" line: the time comes from SET timestamp */
    CHECK_STR(field(r, 0, "@timestamp"), "2017-04-28T09:07:39.000Z");
    CHECK_STR(field(r, 2, "@timestamp"), "2017-04-28T09:31:31.133Z");
}

static void check_slow_mysql80(const struct result *r)
{
    CHECK_STR(field(r, 0, "aws.rds.database_name"), "employees");
    CHECK_STR(field(r, 1, "aws.rds.query"),
              "SELECT last_name, MAX(salary) AS salary FROM employees\n    INNER JOIN salaries ON employees.emp_no = "
              "salaries.emp_no\n    GROUP BY last_name\n    ORDER BY salary DESC\n    LIMIT 10;");
    CHECK_STR(field(r, 1, "aws.rds.lock_time"), "0.000145");
}

static void check_pg_aws(const struct result *r)
{
    CHECK_STR(field(r, 0, "@timestamp"), "2022-06-16T17:58:40.000Z");
    CHECK_STR(field(r, 0, "user.name"), "(absent)");
    CHECK_STR(field(r, 0, "process.pid"), "7770");
    CHECK_STR(field(r, 1, "source.ip"), "10.0.0.123");
    CHECK_STR(field(r, 1, "source.port"), "52834");
    CHECK_STR(field(r, 1, "user.name"), "postgres");
    CHECK_STR(field(r, 1, "aws.rds.database_name"), "tstdb");
    CHECK_STR(field(r, 1, "log.level"), "ERROR");
    CHECK_STR(field(r, 3, "source.ip"), "(absent)");
    CHECK_STR(field(r, 3, "user.name"), "master");
    CHECK(strstr(field(r, 4, "aws.rds.query"), "\n\tFROM pg_catalog.pg_database d\n\tORDER BY 1;") != NULL);
    CHECK_STR(index_of(r, 1), "log-aws-rds-postgresql-2019-03");
}

static void check_pg_debian(const struct result *r)
{
    CHECK_STR(field(r, 0, "event.action"), "password_authentication_failed");
    CHECK_STR(field(r, 0, "event.outcome"), "failure");
    CHECK_STR(field(r, 0, "user.name"), "elastic");
    CHECK_STR(field(r, 0, "@timestamp"), "2024-04-25T13:45:02.197Z");
    CHECK_STR(field(r, 7, "event.duration"), "37118000");
    CHECK_STR(field(r, 7, "aws.rds.database_name"), "postgres");
}

static void check_pg_csv(const struct result *r)
{
    CHECK_STR(field(r, 0, "@timestamp"), "2025-04-21T07:27:12.388Z");
    CHECK_STR(field(r, 0, "aws.rds.hint"), "Future log output will go to log destination \"csvlog\".");
    CHECK_STR(field(r, 2, "message"), "listening on IPv6 address \"::1\", port 542");
    CHECK_STR(field(r, 9, "event.action"), "connection_authorized");
    CHECK_STR(field(r, 9, "event.category"), "[\"authentication\",\"database\"]");
    CHECK_STR(field(r, 10, "event.duration"), "225000");
    CHECK_STR(field(r, 7, "source.address"), "(absent)");
}

static void check_pg_timezones(const struct result *r)
{
    CHECK_STR(field(r, 0, "@timestamp"), "2025-04-03T20:32:14.322Z");     /* CEST */
    CHECK_STR(field(r, 1, "@timestamp"), "2025-04-03T12:32:14.322Z");     /* AEST */
    CHECK_STR(field(r, 2, "@timestamp"), "2025-04-04T02:35:22.389Z");     /* EDT */
}

static void check_msk_controller(const struct result *r)
{
    CHECK_STR(field(r, 0, "@timestamp"), "2025-04-09T11:00:00.792Z");
    CHECK_STR(field(r, 0, "log.level"), "INFO");
    CHECK_STR(field(r, 0, "log.logger"), "kafka.controller.KafkaController");
    CHECK_STR(field(r, 0, "message"), "[Controller id=0] Processing automatic preferred replica leader election");
    CHECK_STR(field(r, 9, "message"), "[Topic Deletion Manager 0] Deletion of topic foo-1744196400-056880284 (re)started");
    CHECK_STR(index_of(r, 0), "log-aws-msk-2025-04");
}

static void check_msk_strimzi(const struct result *r)
{
    CHECK_STR(field(r, 0, "process.thread.name"), "quorum-controller-0-event-handler");
    CHECK_STR(field(r, 0, "log.logger"), "ConfigurationControlManager");
    CHECK_STR(field(r, 0, "log.origin.file.line"), "537");
    CHECK_STR(field(r, 19, "@timestamp"), "2026-05-27T11:33:12.000Z");
}

static void check_msk_authlog(const struct result *r)
{
    CHECK_STR(field(r, 1, "log.logger"), "org.apache.kafka.common.security.authenticator.SaslServerCallbackHandler");
    CHECK_STR(field(r, 1, "@timestamp"), "2025-01-01T12:40:15.875Z");
}

static void check_secure_auth(const struct result *r)
{
    CHECK_STR(field(r, 0, "@timestamp"), "2026-02-21T21:54:44.000Z");
    CHECK_STR(field(r, 0, "event.action"), "ssh_login");
    CHECK_STR(field(r, 0, "event.outcome"), "success");
    CHECK_STR(field(r, 0, "event.category"), "[\"authentication\",\"session\"]");
    CHECK_STR(field(r, 0, "user.name"), "vagrant");
    CHECK_STR(field(r, 0, "source.ip"), "10.0.2.2");
    CHECK_STR(field(r, 0, "source.port"), "63673");
    CHECK_STR(field(r, 0, "process.name"), "sshd");
    CHECK_STR(field(r, 0, "process.pid"), "3402");
    CHECK_STR(field(r, 0, "host.hostname"), "localhost");
    CHECK_STR(field(r, 2, "event.outcome"), "failure");
    CHECK_STR(field(r, 2, "user.name"), "test");
    CHECK_STR(field(r, 3, "user.name"), "root");
    CHECK_STR(field(r, 3, "source.ip"), "89.160.20.156");
    CHECK_STR(field(r, 4, "user.name"), "vagrant");
    CHECK_STR(field(r, 4, "user.effective.name"), "root");
    CHECK_STR(field(r, 4, "process.command_line"), "/bin/ls");
    CHECK_STR(field(r, 7, "event.outcome"), "failure");
    CHECK_STR(field(r, 7, "event.reason"), "user NOT in sudoers");
    CHECK_STR(field(r, 8, "group.name"), "apache");
    CHECK_STR(field(r, 8, "event.type"), "[\"group\",\"creation\"]");
    CHECK_STR(field(r, 9, "user.target.name"), "apache");
    CHECK_STR(field(r, 9, "user.target.id"), "48");
    CHECK_STR(field(r, 10, "source.domain"), "test.example.com");
    CHECK_STR(field(r, 10, "source.ip"), "(absent)");
    CHECK_STR(index_of(r, 0), "log-linux-secure-2026-02");
}

static void check_secure_5424(const struct result *r)
{
    CHECK_STR(field(r, 0, "@timestamp"), "2023-09-28T10:10:12.175Z");
    CHECK_STR(field(r, 0, "process.pid"), "153589");
    CHECK_STR(field(r, 0, "log.syslog.priority"), "30");
    CHECK_STR(field(r, 1, "process.pid"), "(absent)");
    CHECK_STR(field(r, 8, "user.name"), "moe");
    CHECK_STR(field(r, 8, "process.working_directory"), "/home/moe");
    CHECK_STR(field(r, 11, "source.port"), "43134");
    /* BSD header, no year: October is after the June delivery, so last year */
    CHECK_STR(field(r, 12, "@timestamp"), "2025-10-23T16:54:59.000Z");
    CHECK_STR(field(r, 12, "user.name"), "patrol");
    CHECK_STR(field(r, 12, "process.command_line"), "/opt/ntp_check.pl -l 2000 -r 5000");
}

static void check_secure_rhel7(const struct result *r)
{
    CHECK_STR(field(r, 3, "event.action"), "authentication_failure");
    CHECK_STR(field(r, 3, "source.ip"), "202.109.143.106");
    CHECK_STR(field(r, 3, "user.name"), "root");
    CHECK_STR(field(r, 6, "user.name"), "tsg");
    CHECK_STR(field(r, 6, "process.command_line"), "/bin/cp /var/log/secure .");
}

static void check_secure_ubuntu(const struct result *r)
{
    int sessions = 0, sudo = 0;
    for (size_t i = 0; i < json_array_size(r->docs); i++) {
        if (strcmp(field(r, i, "event.action"), "session_opened") == 0) sessions++;
        if (strcmp(field(r, i, "event.action"), "sudo") == 0) sudo++;
    }
    CHECK_INT(sessions, 34);     /* grep -c "session opened" */
    CHECK_INT(sudo, 20);         /* 21 "user : " lines, one "(command continued)" */
    CHECK_STR(field(r, 0, "@timestamp"), "2026-02-09T21:19:40.000Z");
}

static void check_syslog_tz(const struct result *r)
{
    CHECK_STR(field(r, 0, "@timestamp"), "1986-04-25T21:23:45.101Z");
    CHECK_STR(field(r, 0, "process.name"), "shutdown");
    CHECK_STR(field(r, 1, "process.pid"), "(absent)");
    CHECK_STR(index_of(r, 0), "log-linux-os-1986-04");
}

static void check_syslog_multiline(const struct result *r)
{
    CHECK_STR(field(r, 0, "process.name"), "GoogleSoftwareUpdateAgent");
    CHECK_STR(field(r, 0, "process.pid"), "21412");
    CHECK(strstr(field(r, 0, "message"), "\n\t\tinstalled products") != NULL);
}

static const struct corpus_case corpus[] = {
    { "cloudfront-standard", "cloudfront/test-cloudfront.log", 14, 0, 0, check_cloudfront },
    { "rds-mysql-error", "rds/mysql/error/test-mysql-ubuntu-5-5-53.log", 167, 0, 0, check_mysql_error },
    { "rds-mysql-slowquery", "rds/mysql/slowlog/test-mariadb-10-1-21.log", 1, 0, 0, check_slow_mariadb },
    { "rds-mysql-slowquery", "rds/mysql/slowlog/test-mysql-5-7-22.log", 4, 0, 0, check_slow_mysql57 },
    { "rds-mysql-slowquery", "rds/mysql/slowlog/test-mysql-debian-5-7-17.log", 3, 0, 0, check_slow_debian },
    /* the server start banner is skipped, not failed */
    { "rds-mysql-slowquery", "rds/mysql/slowlog/test-mysql-ubuntu-8-0-15.log", 2, 1, 0, check_slow_mysql80 },
    { "rds-postgresql", "rds/postgresql/test-postgresql-14-csv.log", 12, 0, 0, check_pg_csv },
    { "rds-postgresql", "rds/postgresql/test-postgresql-9-6-debian-with-slowlog.log", 21, 0, 0, check_pg_debian },
    { "rds-postgresql", "rds/postgresql/test-postgresql-aws.log", 5, 0, 0, check_pg_aws },
    /* IST and SST name several zones: those two records fail, they are not guessed */
    { "rds-postgresql", "rds/postgresql/test-postgresql-timezones.log", 9, 0, 2, check_pg_timezones },
    { "msk", "msk/test-authlog-with-doublespace.log", 1, 0, 0, NULL },
    { "msk", "msk/test-authlog.log", 3, 0, 0, check_msk_authlog },
    { "msk", "msk/test-controller-3-6-0.log", 20, 0, 0, check_msk_controller },
    { "msk", "msk/test-server-3-6-0.log", 20, 0, 0, NULL },
    { "msk", "msk/test-state-change-3-6-0.log", 37, 0, 0, NULL },
    { "msk", "msk/test-strimzi_kafka-4-1-1.log", 28, 0, 0, check_msk_strimzi },
    { "linux-secure", "linux/auth/test-5424.log", 15, 0, 0, check_secure_5424 },
    { "linux-secure", "linux/auth/test-auth-rhel79.log", 3, 0, 0, NULL },
    { "linux-secure", "linux/auth/test-auth-ubuntu1204.log", 122, 0, 0, check_secure_ubuntu },
    { "linux-secure", "linux/auth/test-auth.log", 11, 0, 0, check_secure_auth },
    { "linux-secure", "linux/auth/test-gpasswd.log", 2, 0, 0, NULL },
    { "linux-secure", "linux/auth/test-groupdel.log", 3, 0, 0, NULL },
    { "linux-secure", "linux/auth/test-iam-systemctl.log", 12, 0, 0, NULL },
    { "linux-secure", "linux/auth/test-multiline.log", 2, 0, 0, NULL },
    { "linux-secure", "linux/auth/test-pam-chauthtok-iso8601.log", 2, 0, 0, NULL },
    { "linux-secure", "linux/auth/test-pam-extraction.log", 5, 0, 0, NULL },
    { "linux-secure", "linux/auth/test-pam-faillock.log", 1, 0, 0, NULL },
    { "linux-secure", "linux/auth/test-secure-rhel7.log", 7, 0, 0, check_secure_rhel7 },
    { "linux-secure", "linux/auth/test-sudo-no-tty.log", 1, 0, 0, NULL },
    { "linux-secure", "linux/auth/test-unix-chkpwd.log", 1, 0, 0, NULL },
    { "linux-secure", "linux/auth/test-userdel.log", 5, 0, 0, NULL },
    { "linux-secure", "linux/auth/test-usermod-group.log", 2, 0, 0, NULL },
    { "linux-os-syslog", "linux/syslog/test-iso8601-timestamp-multiline-syslog.log", 1, 0, 0, check_syslog_multiline },
    { "linux-os-syslog", "linux/syslog/test-preserve-event-original.log", 1, 0, 0, NULL },
    { "linux-os-syslog", "linux/syslog/test-systemd.log", 4, 0, 0, NULL },
    { "linux-os-syslog", "linux/syslog/from-elastic-beats/suse-syslog.log", 2, 0, 0, NULL },
    { "linux-os-syslog", "linux/syslog/from-elastic-beats/tz-offset.log", 3, 0, 0, check_syslog_tz },
};

static void test_corpus(void)
{
    char rel[256];
    snprintf(rel, sizeof rel, "corpus/%s", corpus[0].file);
    if (!tl_shared(rel)) {
        printf("golden: corpus skipped: ../shared/corpus is absent (set SIEMPROC_SHARED)\n");
        return;
    }
    for (size_t i = 0; i < sizeof corpus / sizeof corpus[0]; i++) {
        const struct corpus_case *c = &corpus[i];
        snprintf(rel, sizeof rel, "corpus/%s", c->file);
        const char *path = tl_shared(rel);
        struct result r = run_file(c->type, path, DELIVERED_2026_06_01);
        check_counts(c->type, c->file, &r, c->parsed, c->skipped, c->failed);
        if (c->check) c->check(&r);
        check_ids_stable(c->type, path, &r, DELIVERED_2026_06_01);
        result_free(&r);
    }
}

/* ---- our fixtures (tests/fixtures/<type>/) ------------------------------ */

static struct result fixture(const char *type, const char *file, int64_t delivery_ms, int parsed)
{
    char rel[256];
    snprintf(rel, sizeof rel, "tests/fixtures/%s/%s", type, file);
    const char *path = tl_src(rel);
    struct result r = run_file(type, path, delivery_ms);
    check_counts(type, rel + strlen("tests/fixtures/"), &r, parsed, 0, 0);
    check_ids_stable(type, path, &r, delivery_ms);
    return r;
}

static void test_syslog_year_rollover(void)
{
    /* delivered 2025-01-01 00:10 UTC: December lines are from 2024 */
    struct result r = fixture("linux-os-syslog", "year-rollover.log", DELIVERED_2025_01_01_0010, 5);
    CHECK_STR(field(&r, 0, "@timestamp"), "2024-12-31T23:59:58.000Z");
    CHECK_STR(index_of(&r, 0), "log-linux-os-2024-12");
    CHECK_STR(field(&r, 2, "@timestamp"), "2025-01-01T00:00:03.000Z");
    CHECK_STR(index_of(&r, 2), "log-linux-os-2025-01");
    CHECK_STR(field(&r, 1, "message"), "ALERT exited abnormally with [1]");
    CHECK_STR(field(&r, 3, "log.syslog.priority"), "13");
    CHECK_STR(field(&r, 3, "message"), "manual note\n   second line of the note");
    CHECK_STR(field(&r, 4, "@timestamp"), "2024-12-31T23:00:05.250Z");
    CHECK_STR(field(&r, 4, "process.name"), "kernel");
    result_free(&r);
}

static void test_secure_fixture(void)
{
    struct result r = fixture("linux-secure", "sshd-invalid-user.log", DELIVERED_2026_06_01, 10);
    for (size_t i = 0; i < 3; i++) {
        CHECK_STR(field(&r, i, "user.name"), "oracle");
        CHECK_STR(field(&r, i, "source.ip"), "203.0.113.9");
        CHECK_STR(field(&r, i, "source.port"), "52144");
    }
    CHECK_STR(field(&r, 0, "event.action"), "ssh_login");
    CHECK_STR(field(&r, 0, "event.outcome"), "failure");
    CHECK_STR(field(&r, 1, "aws.linux.ssh.method"), "password");
    CHECK_STR(field(&r, 2, "event.action"), "ssh_disconnect");
    CHECK_STR(field(&r, 3, "source.ip"), "2001:db8::5");
    CHECK_STR(field(&r, 3, "event.outcome"), "success");
    CHECK_STR(field(&r, 4, "source.port"), "2222");
    CHECK_STR(field(&r, 5, "user.name"), "bob");
    CHECK_STR(field(&r, 6, "user.effective.name"), "postgres");
    CHECK_STR(field(&r, 6, "process.command_line"), "/usr/bin/psql -c select 1");
    CHECK_STR(field(&r, 6, "aws.linux.tty"), "pts/1");
    CHECK_STR(field(&r, 7, "user.target.name"), "deploy");
    CHECK_STR(field(&r, 7, "event.type"), "[\"user\",\"creation\"]");
    CHECK_STR(field(&r, 8, "event.outcome"), "failure");
    CHECK_STR(field(&r, 8, "user.effective.name"), "root");
    CHECK_STR(field(&r, 9, "user.name"), "root");
    CHECK_STR(field(&r, 9, "related.user"), "[\"root\"]");
    result_free(&r);
}

static void test_rds_fixtures(void)
{
    struct result r = fixture("rds-postgresql", "multiline-statement.log", DELIVERED_2026_06_01, 4);
    CHECK_STR(field(&r, 0, "aws.rds.query"), "SELECT o.id,\n\t       o.total\n\tFROM orders o\n\tWHERE o.customer_id = 7;");
    CHECK_STR(field(&r, 0, "event.duration"), "1500250000");
    CHECK_STR(field(&r, 0, "source.port"), "40112");
    CHECK_STR(field(&r, 1, "source.ip"), "2001:db8::12");
    CHECK_STR(field(&r, 1, "source.port"), "5432");
    CHECK_STR(field(&r, 2, "source.address"), "(absent)");
    CHECK_STR(field(&r, 2, "event.outcome"), "failure");
    CHECK_STR(field(&r, 3, "user.name"), "(absent)");
    result_free(&r);

    r = fixture("rds-mysql-audit", "audit.log", DELIVERED_2026_06_01, 4);
    CHECK_STR(field(&r, 1, "aws.rds.query"), "UPDATE t SET note = 'a, b' WHERE id = 1");
    CHECK_STR(field(&r, 1, "event.type"), "[\"access\"]");
    CHECK_STR(field(&r, 2, "event.outcome"), "failure");
    CHECK_STR(field(&r, 2, "error.code"), "1045");
    CHECK_STR(field(&r, 2, "user.name"), "mallory");
    CHECK_STR(field(&r, 3, "@timestamp"), "2024-03-01T10:15:03.000Z");
    result_free(&r);

    r = fixture("rds-mysql-general", "general.log", DELIVERED_2026_06_01, 3);
    CHECK_STR(field(&r, 0, "user.name"), "app");
    CHECK_STR(field(&r, 0, "source.ip"), "10.0.3.3");
    CHECK_STR(field(&r, 0, "event.outcome"), "success");
    CHECK_STR(field(&r, 1, "aws.rds.query"), "SELECT *\n  FROM items\n  WHERE id = 3");
    CHECK_STR(field(&r, 2, "event.action"), "quit");
    result_free(&r);

    r = fixture("rds-mysql-error", "mysql80.log", DELIVERED_2026_06_01, 3);
    CHECK_STR(field(&r, 0, "error.code"), "MY-011068");
    CHECK_STR(field(&r, 1, "log.level"), "ERROR");
    CHECK_STR(field(&r, 1, "message"), "Slave SQL for channel '': Error 'Duplicate entry' on query.\nDefault database: 'orders'.");
    CHECK_STR(field(&r, 2, "@timestamp"), "2024-03-01T10:30:43.000Z");
    result_free(&r);

    r = fixture("rds-mysql-slowquery", "aurora.log", DELIVERED_2026_06_01, 1);
    CHECK_STR(field(&r, 0, "event.duration"), "3500000000");
    CHECK_STR(field(&r, 0, "aws.rds.query"), "SELECT COUNT(*)\n  FROM items\n  WHERE price > 10;");
    CHECK_STR(field(&r, 0, "process.thread.id"), "88");
    result_free(&r);
}

static void test_msk_and_realtime_fixtures(void)
{
    struct result r = fixture("msk", "stack-trace.log", DELIVERED_2026_06_01, 3);
    CHECK_STR(field(&r, 1, "log.level"), "ERROR");
    CHECK_STR(field(&r, 1, "log.logger"), "kafka.server.ReplicaFetcherThread");
    CHECK(strncmp(field(&r, 1, "error.stack_trace"), "org.apache.kafka.common.errors.UnknownTopicOrPartitionException", 60) == 0);
    CHECK_STR(field(&r, 2, "log.logger"), "org.apache.kafka.common.network.Selector");
    result_free(&r);

    r = fixture("cloudfront-realtime", "realtime.log", DELIVERED_2026_06_01, 1);
    CHECK_STR(field(&r, 0, "@timestamp"), "2024-03-01T10:50:00.123Z");
    CHECK_STR(field(&r, 0, "source.port"), "50123");
    CHECK_STR(field(&r, 0, "url.path"), "/img/a b.png");
    CHECK_STR(field(&r, 0, "url.query"), "q=1 2");
    CHECK_STR(field(&r, 0, "source.geo.country_iso_code"), "US");
    CHECK_STR(field(&r, 0, "network.forwarded_ip"), "203.0.113.1");
    CHECK_STR(index_of(&r, 0), "log-aws-cloudfront-2024-03");
    result_free(&r);
}

/* Lines no template knows are failures, counted and reported, never dropped. */
static void test_bad_input(void)
{
    const char *lines = "not a syslog line\nFeb 30 10:00:00 host sshd[1]: impossible date\n"
                        "Feb 28 10:00:00 host sshd[1]: fine\n";
    struct result r = run_bytes("linux-secure", "bad.log", NULL, DELIVERED_2026_06_01, lines, strlen(lines));
    check_counts("linux-secure", "(bad input)", &r, 1, 0, 2);
    result_free(&r);
    r = run_bytes("rds-postgresql", "bad.log", NULL, DELIVERED_2026_06_01, "2024-03-01 10:00:00 nonsense\n", 29);
    check_counts("rds-postgresql", "(bad input)", &r, 0, 0, 1);
    result_free(&r);
}

/* Constants of a "split" rule are lists: each member must be an ECS value. */
static void test_list_constants_validated(void)
{
    const char *text = "{\"name\": \"t\", \"format\": {\"parser\": \"pattern\", \"stages\": [{\"patterns\": [\"%{e}\"]}]},"
                       " \"timestamp\": {\"delivery\": true}, \"index\": {\"name\": \"t\"},"
                       " \"fields\": {\"event.type\": {\"from\": \"e\", \"split\": \",\", \"map\": {\"x\": \"user,%s\"}}}}";
    char buf[1024], err[512] = "";
    snprintf(buf, sizeof buf, text, "creation");
    json_t *j = json_loads(buf, 0, NULL);
    struct schema *sc = schema_compile(j, "ok.json", err, sizeof err);
    CHECK(sc != NULL);
    schema_free(sc);
    json_decref(j);
    snprintf(buf, sizeof buf, text, "bogus");
    j = json_loads(buf, 0, NULL);
    sc = schema_compile(j, "bad.json", err, sizeof err);
    CHECK(sc == NULL);
    CHECK(strstr(err, "\"bogus\" is not an allowed ECS value") != NULL);
    schema_free(sc);
    json_decref(j);
}

/* ---- CloudWatch Logs delivery through `siemproc parse` ------------------ */

static int write_gzip(const char *path, const char *text)
{
    gzFile gz = gzopen(path, "wb");
    if (!gz) return -1;
    int ok = gzwrite(gz, text, (unsigned)strlen(text)) == (int)strlen(text);
    return gzclose(gz) == Z_OK && ok ? 0 : -1;
}

/* Runs `siemproc parse --bulk path`; returns its stdout lines as a JSON array. */
static json_t *siemproc_parse(const char *path)
{
    const char *bin = getenv("SIEMPROC_BIN");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' parse --bulk '%s' 2>/dev/null", bin, path);
    FILE *p = popen(cmd, "r");
    json_t *lines = json_array();
    char line[16384];
    while (p && fgets(line, sizeof line, p)) {
        json_t *j = json_loads(line, 0, NULL);
        CHECK(j != NULL);
        if (j) json_array_append_new(lines, j);
    }
    if (p) CHECK_INT(pclose(p), 0);
    return lines;
}

static const char cwl_rds[] =
    "{\"messageType\":\"DATA_MESSAGE\",\"owner\":\"123456789012\",\"logGroup\":\"/aws/rds/instance/prod-db/postgresql\","
    "\"logStream\":\"prod-db.0\",\"subscriptionFilters\":[\"siem\"],\"logEvents\":["
    "{\"id\":\"37400000000000000000000000000000000000000000000000000001\",\"timestamp\":1709287200000,"
    "\"message\":\"2024-03-01 10:00:00 UTC:10.0.0.12(40112):app@orders:[4242]:LOG:  duration: 12.5 ms  statement: SELECT 1,\\n\\t2\"},"
    "{\"id\":\"37400000000000000000000000000000000000000000000000000002\",\"timestamp\":1709287201000,"
    "\"message\":\"2024-03-01 10:00:01 UTC:10.0.0.13(40113):mallory@orders:[4243]:FATAL:  password authentication failed for user \\\"mallory\\\"\"}]}";

static const char cwl_secure[] =
    "{\"messageType\":\"DATA_MESSAGE\",\"owner\":\"123456789012\",\"logGroup\":\"/ec2/linux/secure\","
    "\"logStream\":\"i-0abc\",\"subscriptionFilters\":[\"siem\"],\"logEvents\":["
    "{\"id\":\"37400000000000000000000000000000000000000000000000000003\",\"timestamp\":1735690200000,"
    "\"message\":\"Dec 31 23:58:01 ip-10-0-0-5 sshd[811]: Invalid user admin from 198.51.100.4 port 40022\"}]}";

static json_t *bulk_doc(json_t *lines, size_t n) { return json_array_get(lines, 2 * n + 1); }

static const char *bulk_action(json_t *lines, size_t n, const char *key)
{
    return json_string_value(json_object_get(json_object_get(json_array_get(lines, 2 * n), "index"), key));
}

static void test_cloudwatch_delivery(void)
{
    if (!getenv("SIEMPROC_BIN") || access(getenv("SIEMPROC_BIN"), X_OK) != 0) {
        printf("golden: CloudWatch Logs test skipped: SIEMPROC_BIN is not set\n");
        return;
    }
    char path[] = "/tmp/siemproc-cwl-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    close(fd);

    CHECK_INT(write_gzip(path, cwl_rds), 0);
    json_t *lines = siemproc_parse(path);
    CHECK_INT(json_array_size(lines), 4);
    struct result r = { json_array(), NULL, NULL, 0, 0, 0, 0 };
    json_array_append(r.docs, bulk_doc(lines, 0));
    json_array_append(r.docs, bulk_doc(lines, 1));
    CHECK_STR(field(&r, 0, "event.dataset"), "aws.rds");
    CHECK_STR(field(&r, 0, "aws.rds.instance_identifier"), "prod-db");
    CHECK_STR(field(&r, 0, "aws.cloudwatch.log_group"), "/aws/rds/instance/prod-db/postgresql");
    CHECK_STR(field(&r, 0, "cloud.account.id"), "123456789012");
    CHECK_STR(field(&r, 0, "aws.rds.query"), "SELECT 1,\n\t2");
    CHECK_STR(field(&r, 0, "event.duration"), "12500000");
    CHECK_STR(field(&r, 1, "event.outcome"), "failure");
    CHECK_STR(field(&r, 1, "source.ip"), "10.0.0.13");
    CHECK_STR(bulk_action(lines, 0, "_index"), "log-aws-rds-postgresql-2024-03");
    char first_id[64];
    snprintf(first_id, sizeof first_id, "%s", bulk_action(lines, 0, "_id") ? bulk_action(lines, 0, "_id") : "");
    json_decref(lines);
    lines = siemproc_parse(path);
    CHECK_STR(bulk_action(lines, 0, "_id"), first_id);
    json_decref(lines);
    json_decref(r.docs);

    /* /ec2/linux/secure is linux-secure; the event time gives the December line its year */
    CHECK_INT(write_gzip(path, cwl_secure), 0);
    lines = siemproc_parse(path);
    CHECK_INT(json_array_size(lines), 2);
    r.docs = json_array();
    json_array_append(r.docs, bulk_doc(lines, 0));
    CHECK_STR(field(&r, 0, "event.dataset"), "linux.secure");
    CHECK_STR(field(&r, 0, "@timestamp"), "2024-12-31T23:58:01.000Z");
    CHECK_STR(field(&r, 0, "user.name"), "admin");
    CHECK_STR(field(&r, 0, "event.outcome"), "failure");
    CHECK_STR(bulk_action(lines, 0, "_index"), "log-linux-secure-2024-12");
    json_decref(lines);
    json_decref(r.docs);
    unlink(path);
}

int main(void)
{
    char err[512];
    if (ecs_load(tl_src("schemas/ecs_fields.tsv"), err, sizeof err) < 0 ||
        schema_set_load(&set, tl_src("schemas"), err, sizeof err) < 0) {
        fprintf(stderr, "cannot load schemas: %s\n", err);
        return 1;
    }
    test_corpus();
    test_syslog_year_rollover();
    test_secure_fixture();
    test_rds_fixtures();
    test_msk_and_realtime_fixtures();
    test_bad_input();
    test_list_constants_validated();
    test_cloudwatch_delivery();
    schema_set_free(&set);
    return tl_done();
}
