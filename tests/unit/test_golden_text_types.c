/* Golden tests for the text-format log types: cloudfront-standard and
 * -realtime, rds-mysql-{audit,error,general,slowquery}, rds-postgresql, msk,
 * linux-os-syslog and linux-secure; the user_agent.* and url.full the
 * bundled ALB, CLB and S3 access log samples get, and the bundled VPC Flow
 * Logs sample's network.community_id.
 *
 * The engine (schemas/ + ingest, through golden_run.h) runs over the shared
 * corpus (skipped with a message when ../shared is absent) and over
 * tests/fixtures/<type>/; every file's parsed/skipped/failed counts are
 * printed and checked, then key fields of specific records. Ids must not
 * change between runs. The last test feeds gzipped CloudWatch Logs payloads
 * to `siemproc parse`. */
#include "golden_run.h"

/* Times the fixtures and the corpus are "delivered" at: they give syslog lines their year. */
#define DELIVERED_2026_06_01 1780272000000LL
#define DELIVERED_2025_01_01_0010 1735690200000LL

/* ---- the shared corpus -------------------------------------------------- */

static const struct golden_want cloudfront[] = {
    { 0, "@timestamp", "2019-12-04T21:02:31.000Z" },
    { 0, "source.ip", "89.160.20.112" },
    { 0, "source.port", "11040" },
    { 0, "user_agent.original", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/78.0.3904.108 Safari/537.36" },
    { 0, "user_agent.name", "Chrome" },
    { 0, "user_agent.version", "78.0.3904.108" },
    { 0, "user_agent.os.full", "Windows 10" },
    { 0, "user_agent.device.name", "Other" },
    { 0, "url.full", "https://d111111abcdef8.cloudfront.net/index.html" },
    { 5, "user_agent.name", "curl" },
    { 5, "user_agent.os", GOLDEN_ABSENT },
    { 6, "url.full", "https://test.com/getApplications?source=global" },
    { 8, "user_agent.name", "HeadlessChrome" },
    { 8, "user_agent.os.name", "Linux" },
    { 13, "url.full", GOLDEN_ABSENT },          /* its Host header ".0.0/ch.swisstopo" is no host */
    { 0, "http.response.status_code", "200" },
    { 0, "event.outcome", "success" },
    { 0, "url.path", "/index.html" },
    { 1, "source.ip", "2a02:cf40:add:4002:91f2:a9b2:e09a:6fc6" },
    { 3, "http.response.status_code", "502" },
    { 3, "event.outcome", "failure" },
    { 7, "http.response.status_code", "0" },      /* "000": no leading zeros in JSON */
    { 6, "url.query", "source=global" },
    { 6, "http.request.method", "POST" },
    { 9, "aws.cloudfront.x_forwarded_for", "81.2.69.142, 216.160.83.56" },
    { 10, "related.ip", "[\"81.2.69.142\",\"216.160.83.56\",\"81.2.69.143\"]" },
    { 12, "url.path", "/https/www.foo.test.com%2Ftest%2Ffoo%2Fbar%20baz%20(ABC).gif" },
    { 8, "http.version", "1.1" },
    { 8, "event.duration", "93000000" },
};

static void check_cloudfront(const struct golden_run *r)
{
    CHECK_STR(r->index[0], "log-aws-cloudfront-2019-12");
    /* space separated copies; "a, b" in x-forwarded-for stays one column */
    for (size_t i = 8; i < 14; i++) {
        GCHECK(r, i, "network.forwarded_ip", "81.2.69.142");
        GCHECK(r, i, "aws.cloudfront.ssl_protocol", "TLSv1.2");
        GCHECK(r, i, "tls.cipher", "ECDHE-RSA-AES128-GCM-SHA256");
    }
}

static const struct golden_want mysql_error[] = {
    { 0, "@timestamp", "2016-12-09T14:18:50.000Z" },
    { 0, "log.level", "Warning" },
    { 2, "message", "InnoDB: The InnoDB memory heap is disabled" },
    /* "InnoDB: ..." lines without a time belong to the entry above */
    { 6, "message", "InnoDB: Completed initialization of buffer pool\nInnoDB: The first specified data file ./ibdata1 did not exist:\n"
          "InnoDB: a new database to be created!" },
};

static void check_mysql_error(const struct golden_run *r)
{
    int errors = 0;
    for (int i = 0; i < r->n; i++)
        if (strcmp(golden_str(r->docs[i], "log.level"), "ERROR") == 0) {
            errors++;
            GCHECK(r, i, "event.type", "[\"error\"]");
        }
    CHECK_INT(errors, 4);
    CHECK_STR(r->index[0], "log-aws-rds-mysql-2016-12");
}

static const struct golden_want slow_mysql57[] = {
    { 0, "@timestamp", "2018-08-07T08:27:47.169Z" },
    { 0, "user.name", "root" },
    { 0, "source.ip", "67.43.156.14" },
    { 0, "process.thread.id", "7234" },
    { 0, "event.duration", "15000223000" },
    { 0, "aws.rds.query", "select sleep(15);" },
    { 1, "user.name", "debian-sys-maint" },
    { 1, "source.ip", GOLDEN_ABSENT },
    { 1, "source.address", "localhost" },
    { 2, "aws.rds.rows_examined", "1489615" },
};

static void check_slow_mysql57(const struct golden_run *r)
{
    CHECK(strstr(golden_str(r->docs[2], "aws.rds.query"), "\n                    LIMIT 1000;") != NULL);
}

static const struct golden_want slow_mariadb[] = {
    { 0, "@timestamp", "2018-06-13T11:04:36.000Z" },
    { 0, "process.thread.id", "5" },
    { 0, "event.duration", "2000652000" },
    { 0, "aws.rds.query", "select sleep(2);" },
};

static const struct golden_want slow_debian[] = {
    /* no "# Time:" line: the time comes from SET timestamp */
    { 0, "@timestamp", "2017-04-28T09:07:39.000Z" },
    { 2, "@timestamp", "2017-04-28T09:31:31.133Z" },
};

static const struct golden_want slow_mysql80[] = {
    { 0, "aws.rds.database_name", "employees" },
    { 1, "aws.rds.query", "SELECT last_name, MAX(salary) AS salary FROM employees\n    INNER JOIN salaries ON employees.emp_no = "
          "salaries.emp_no\n    GROUP BY last_name\n    ORDER BY salary DESC\n    LIMIT 10;" },
    { 1, "aws.rds.lock_time", "0.000145" },
};

static const struct golden_want pg_aws[] = {
    { 0, "@timestamp", "2022-06-16T17:58:40.000Z" },
    { 0, "user.name", GOLDEN_ABSENT },
    { 0, "process.pid", "7770" },
    { 1, "source.ip", "10.0.0.123" },
    { 1, "source.port", "52834" },
    { 1, "user.name", "postgres" },
    { 1, "aws.rds.database_name", "tstdb" },
    { 1, "log.level", "ERROR" },
    { 3, "source.ip", GOLDEN_ABSENT },
    { 3, "user.name", "master" },
};

static void check_pg_aws(const struct golden_run *r)
{
    CHECK(strstr(golden_str(r->docs[4], "aws.rds.query"), "\n\tFROM pg_catalog.pg_database d\n\tORDER BY 1;") != NULL);
    CHECK_STR(r->index[1], "log-aws-rds-postgresql-2019-03");
}

static const struct golden_want pg_debian[] = {
    { 0, "event.action", "password_authentication_failed" },
    { 0, "event.outcome", "failure" },
    { 0, "user.name", "elastic" },
    { 0, "@timestamp", "2024-04-25T13:45:02.197Z" },
    { 7, "event.duration", "37118000" },
    { 7, "aws.rds.database_name", "postgres" },
};

static const struct golden_want pg_csv[] = {
    { 0, "@timestamp", "2025-04-21T07:27:12.388Z" },
    { 0, "aws.rds.hint", "Future log output will go to log destination \"csvlog\"." },
    { 2, "message", "listening on IPv6 address \"::1\", port 542" },
    { 9, "event.action", "connection_authorized" },
    { 9, "event.category", "[\"authentication\",\"database\"]" },
    { 10, "event.duration", "225000" },
    { 7, "source.address", GOLDEN_ABSENT },
};

static const struct golden_want pg_timezones[] = {
    { 0, "@timestamp", "2025-04-03T20:32:14.322Z" },     /* CEST */
    { 1, "@timestamp", "2025-04-03T12:32:14.322Z" },     /* AEST */
    { 2, "@timestamp", "2025-04-04T02:35:22.389Z" },     /* EDT */
};

static const struct golden_want msk_controller[] = {
    { 0, "@timestamp", "2025-04-09T11:00:00.792Z" },
    { 0, "log.level", "INFO" },
    { 0, "log.logger", "kafka.controller.KafkaController" },
    { 0, "message", "[Controller id=0] Processing automatic preferred replica leader election" },
    { 9, "message", "[Topic Deletion Manager 0] Deletion of topic foo-1744196400-056880284 (re)started" },
};

static void check_msk_controller(const struct golden_run *r)
{
    CHECK_STR(r->index[0], "log-aws-msk-2025-04");
}

static const struct golden_want msk_strimzi[] = {
    { 0, "process.thread.name", "quorum-controller-0-event-handler" },
    { 0, "log.logger", "ConfigurationControlManager" },
    { 0, "log.origin.file.line", "537" },
    { 19, "@timestamp", "2026-05-27T11:33:12.000Z" },
};

static const struct golden_want msk_authlog[] = {
    { 1, "log.logger", "org.apache.kafka.common.security.authenticator.SaslServerCallbackHandler" },
    { 1, "@timestamp", "2025-01-01T12:40:15.875Z" },
};

static const struct golden_want secure_auth[] = {
    { 0, "@timestamp", "2026-02-21T21:54:44.000Z" },
    { 0, "event.action", "ssh_login" },
    { 0, "event.outcome", "success" },
    { 0, "event.category", "[\"authentication\",\"session\"]" },
    { 0, "user.name", "vagrant" },
    { 0, "source.ip", "10.0.2.2" },
    { 0, "source.port", "63673" },
    { 0, "process.name", "sshd" },
    { 0, "process.pid", "3402" },
    { 0, "host.hostname", "localhost" },
    { 2, "event.outcome", "failure" },
    { 2, "user.name", "test" },
    { 3, "user.name", "root" },
    { 3, "source.ip", "89.160.20.156" },
    { 4, "user.name", "vagrant" },
    { 4, "user.effective.name", "root" },
    { 4, "process.command_line", "/bin/ls" },
    { 7, "event.outcome", "failure" },
    { 7, "event.reason", "user NOT in sudoers" },
    { 8, "group.name", "apache" },
    { 8, "event.type", "[\"group\",\"creation\"]" },
    { 9, "user.target.name", "apache" },
    { 9, "user.target.id", "48" },
    { 10, "source.domain", "test.example.com" },
    { 10, "source.ip", GOLDEN_ABSENT },
};

static void check_secure_auth(const struct golden_run *r)
{
    CHECK_STR(r->index[0], "log-linux-secure-2026-02");
}

static const struct golden_want secure_5424[] = {
    { 0, "@timestamp", "2023-09-28T10:10:12.175Z" },
    { 0, "process.pid", "153589" },
    { 0, "log.syslog.priority", "30" },
    { 1, "process.pid", GOLDEN_ABSENT },
    { 8, "user.name", "moe" },
    { 8, "process.working_directory", "/home/moe" },
    { 11, "source.port", "43134" },
    /* BSD header, no year: October is after the June delivery, so last year */
    { 12, "@timestamp", "2025-10-23T16:54:59.000Z" },
    { 12, "user.name", "patrol" },
    { 12, "process.command_line", "/opt/ntp_check.pl -l 2000 -r 5000" },
};

static const struct golden_want secure_rhel7[] = {
    { 3, "event.action", "authentication_failure" },
    { 3, "source.ip", "202.109.143.106" },
    { 3, "user.name", "root" },
    { 6, "user.name", "tsg" },
    { 6, "process.command_line", "/bin/cp /var/log/secure ." },
};

static const struct golden_want secure_ubuntu[] = {
    { 0, "@timestamp", "2026-02-09T21:19:40.000Z" },
};

static void check_secure_ubuntu(const struct golden_run *r)
{
    int sessions = 0, sudo = 0;
    for (size_t i = 0; i < (size_t)r->n; i++) {
        if (strcmp(golden_str(r->docs[i], "event.action"), "session_opened") == 0) sessions++;
        if (strcmp(golden_str(r->docs[i], "event.action"), "sudo") == 0) sudo++;
    }
    CHECK_INT(sessions, 34);     /* grep -c "session opened" */
    CHECK_INT(sudo, 20);         /* 21 "user : " lines, one "(command continued)" */
}

static const struct golden_want syslog_tz[] = {
    { 0, "@timestamp", "1986-04-25T21:23:45.101Z" },
    { 0, "process.name", "shutdown" },
    { 1, "process.pid", GOLDEN_ABSENT },
};

static void check_syslog_tz(const struct golden_run *r)
{
    CHECK_STR(r->index[0], "log-linux-os-1986-04");
}

static const struct golden_want syslog_multiline[] = {
    { 0, "process.name", "GoogleSoftwareUpdateAgent" },
    { 0, "process.pid", "21412" },
};

static void check_syslog_multiline(const struct golden_run *r)
{
    CHECK(strstr(golden_str(r->docs[0], "message"), "\n\t\tinstalled products") != NULL);
}

static const struct golden_case corpus[] = {
    { "cloudfront-standard", "cloudfront/test-cloudfront.log", .parsed = 14, GOLDEN_WANT(cloudfront), .check = check_cloudfront },
    { "rds-mysql-error", "rds/mysql/error/test-mysql-ubuntu-5-5-53.log", .parsed = 167, GOLDEN_WANT(mysql_error), .check = check_mysql_error },
    { "rds-mysql-slowquery", "rds/mysql/slowlog/test-mariadb-10-1-21.log", .parsed = 1, GOLDEN_WANT(slow_mariadb) },
    { "rds-mysql-slowquery", "rds/mysql/slowlog/test-mysql-5-7-22.log", .parsed = 4, GOLDEN_WANT(slow_mysql57), .check = check_slow_mysql57 },
    { "rds-mysql-slowquery", "rds/mysql/slowlog/test-mysql-debian-5-7-17.log", .parsed = 3, GOLDEN_WANT(slow_debian) },
    /* the server start banner is skipped, not failed */
    { "rds-mysql-slowquery", "rds/mysql/slowlog/test-mysql-ubuntu-8-0-15.log", .parsed = 2, .skipped = 1, GOLDEN_WANT(slow_mysql80) },
    { "rds-postgresql", "rds/postgresql/test-postgresql-14-csv.log", .parsed = 12, GOLDEN_WANT(pg_csv) },
    { "rds-postgresql", "rds/postgresql/test-postgresql-9-6-debian-with-slowlog.log", .parsed = 21, GOLDEN_WANT(pg_debian) },
    { "rds-postgresql", "rds/postgresql/test-postgresql-aws.log", .parsed = 5, GOLDEN_WANT(pg_aws), .check = check_pg_aws },
    /* IST and SST name several zones: those two records fail, they are not guessed */
    { "rds-postgresql", "rds/postgresql/test-postgresql-timezones.log", .parsed = 9, .failed = 2, GOLDEN_WANT(pg_timezones) },
    { "msk", "msk/test-authlog-with-doublespace.log", .parsed = 1 },
    { "msk", "msk/test-authlog.log", .parsed = 3, GOLDEN_WANT(msk_authlog) },
    { "msk", "msk/test-controller-3-6-0.log", .parsed = 20, GOLDEN_WANT(msk_controller), .check = check_msk_controller },
    { "msk", "msk/test-server-3-6-0.log", .parsed = 20 },
    { "msk", "msk/test-state-change-3-6-0.log", .parsed = 37 },
    { "msk", "msk/test-strimzi_kafka-4-1-1.log", .parsed = 28, GOLDEN_WANT(msk_strimzi) },
    { "linux-secure", "linux/auth/test-5424.log", .parsed = 15, GOLDEN_WANT(secure_5424) },
    { "linux-secure", "linux/auth/test-auth-rhel79.log", .parsed = 3 },
    { "linux-secure", "linux/auth/test-auth-ubuntu1204.log", .parsed = 122, GOLDEN_WANT(secure_ubuntu), .check = check_secure_ubuntu },
    { "linux-secure", "linux/auth/test-auth.log", .parsed = 11, GOLDEN_WANT(secure_auth), .check = check_secure_auth },
    { "linux-secure", "linux/auth/test-gpasswd.log", .parsed = 2 },
    { "linux-secure", "linux/auth/test-groupdel.log", .parsed = 3 },
    { "linux-secure", "linux/auth/test-iam-systemctl.log", .parsed = 12 },
    { "linux-secure", "linux/auth/test-multiline.log", .parsed = 2 },
    { "linux-secure", "linux/auth/test-pam-chauthtok-iso8601.log", .parsed = 2 },
    { "linux-secure", "linux/auth/test-pam-extraction.log", .parsed = 5 },
    { "linux-secure", "linux/auth/test-pam-faillock.log", .parsed = 1 },
    { "linux-secure", "linux/auth/test-secure-rhel7.log", .parsed = 7, GOLDEN_WANT(secure_rhel7) },
    { "linux-secure", "linux/auth/test-sudo-no-tty.log", .parsed = 1 },
    { "linux-secure", "linux/auth/test-unix-chkpwd.log", .parsed = 1 },
    { "linux-secure", "linux/auth/test-userdel.log", .parsed = 5 },
    { "linux-secure", "linux/auth/test-usermod-group.log", .parsed = 2 },
    { "linux-os-syslog", "linux/syslog/test-iso8601-timestamp-multiline-syslog.log", .parsed = 1, GOLDEN_WANT(syslog_multiline), .check = check_syslog_multiline },
    { "linux-os-syslog", "linux/syslog/test-preserve-event-original.log", .parsed = 1 },
    { "linux-os-syslog", "linux/syslog/test-systemd.log", .parsed = 4 },
    { "linux-os-syslog", "linux/syslog/from-elastic-beats/suse-syslog.log", .parsed = 2 },
    { "linux-os-syslog", "linux/syslog/from-elastic-beats/tz-offset.log", .parsed = 3, GOLDEN_WANT(syslog_tz), .check = check_syslog_tz },
};


static void test_corpus(void)
{
    if (!golden_corpus(corpus[0].file)) {
        printf("golden: corpus skipped: ../shared/corpus is absent (set SIEMPROC_SHARED)\n");
        return;
    }
    for (size_t i = 0; i < sizeof corpus / sizeof corpus[0]; i++) golden_run_case(&corpus[i], golden_corpus(corpus[i].file));
}

/* ---- our fixtures (tests/fixtures/<type>/) ------------------------------ */

static const struct golden_want year_rollover[] = {
    { 0, "@timestamp", "2024-12-31T23:59:58.000Z" },
    { 2, "@timestamp", "2025-01-01T00:00:03.000Z" },
    { 1, "message", "ALERT exited abnormally with [1]" },
    { 3, "log.syslog.priority", "13" },
    { 3, "message", "manual note\n   second line of the note" },
    { 4, "@timestamp", "2024-12-31T23:00:05.250Z" },
    { 4, "process.name", "kernel" },
};

static void check_year_rollover(const struct golden_run *r)
{
    CHECK_STR(r->index[0], "log-linux-os-2024-12");
    CHECK_STR(r->index[2], "log-linux-os-2025-01");
}

static const struct golden_want sshd_invalid_user[] = {
    { 0, "event.action", "ssh_login" },
    { 0, "event.outcome", "failure" },
    { 1, "aws.linux.ssh.method", "password" },
    { 2, "event.action", "ssh_disconnect" },
    { 3, "source.ip", "2001:db8::5" },
    { 3, "event.outcome", "success" },
    { 4, "source.port", "2222" },
    { 5, "user.name", "bob" },
    { 6, "user.effective.name", "postgres" },
    { 6, "process.command_line", "/usr/bin/psql -c select 1" },
    { 6, "aws.linux.tty", "pts/1" },
    { 7, "user.target.name", "deploy" },
    { 7, "event.type", "[\"user\",\"creation\"]" },
    { 8, "event.outcome", "failure" },
    { 8, "user.effective.name", "root" },
    { 9, "user.name", "root" },
    { 9, "related.user", "[\"root\"]" },
};

static void check_sshd_invalid_user(const struct golden_run *r)
{
    for (int i = 0; i < 3; i++) {
        GCHECK(r, i, "user.name", "oracle");
        GCHECK(r, i, "source.ip", "203.0.113.9");
        GCHECK(r, i, "source.port", "52144");
    }
}

static const struct golden_want pg_multiline[] = {
    { 0, "aws.rds.query", "SELECT o.id,\n\t       o.total\n\tFROM orders o\n\tWHERE o.customer_id = 7;" },
    { 0, "event.duration", "1500250000" },
    { 0, "source.port", "40112" },
    { 1, "source.ip", "2001:db8::12" },
    { 1, "source.port", "5432" },
    { 2, "source.address", GOLDEN_ABSENT },
    { 2, "event.outcome", "failure" },
    { 3, "user.name", GOLDEN_ABSENT },
};

static const struct golden_want mysql_audit[] = {
    { 1, "aws.rds.query", "UPDATE t SET note = 'a, b' WHERE id = 1" },
    { 1, "event.type", "[\"access\"]" },
    { 2, "event.outcome", "failure" },
    { 2, "error.code", "1045" },
    { 2, "user.name", "mallory" },
    { 3, "@timestamp", "2024-03-01T10:15:03.000Z" },
};

static const struct golden_want mysql_general[] = {
    { 0, "user.name", "app" },
    { 0, "source.ip", "10.0.3.3" },
    { 0, "event.outcome", "success" },
    { 1, "aws.rds.query", "SELECT *\n  FROM items\n  WHERE id = 3" },
    { 2, "event.action", "quit" },
};

static const struct golden_want mysql80_error[] = {
    { 0, "error.code", "MY-011068" },
    { 1, "log.level", "ERROR" },
    { 1, "message", "Slave SQL for channel '': Error 'Duplicate entry' on query.\nDefault database: 'orders'." },
    { 2, "@timestamp", "2024-03-01T10:30:43.000Z" },
};

static const struct golden_want aurora_slowquery[] = {
    { 0, "event.duration", "3500000000" },
    { 0, "aws.rds.query", "SELECT COUNT(*)\n  FROM items\n  WHERE price > 10;" },
    { 0, "process.thread.id", "88" },
};

static const struct golden_want msk_stack_trace[] = {
    { 1, "log.level", "ERROR" },
    { 1, "log.logger", "kafka.server.ReplicaFetcherThread" },
    { 2, "log.logger", "org.apache.kafka.common.network.Selector" },
};

static void check_msk_stack_trace(const struct golden_run *r)
{
    CHECK(strncmp(golden_str(r->docs[1], "error.stack_trace"),
                  "org.apache.kafka.common.errors.UnknownTopicOrPartitionException", 60) == 0);
}

static const struct golden_want cloudfront_realtime[] = {
    { 0, "@timestamp", "2024-03-01T10:50:00.123Z" },
    { 0, "source.port", "50123" },
    { 0, "url.path", "/img/a b.png" },
    { 0, "url.query", "q=1 2" },
    { 0, "url.full", "https://www.example.com/img/a%20b.png?q=1%202" },     /* encoded again */
    { 0, "user_agent.name", "curl" },
    { 0, "source.geo.country_iso_code", "US" },
    { 0, "network.forwarded_ip", "203.0.113.1" },
};

static void check_cloudfront_realtime(const struct golden_run *r)
{
    CHECK_STR(r->index[0], "log-aws-cloudfront-2024-03");
}

/* The bundled samples `siemproc parse` shows first. */
#define FX_ELB "AWSLogs/123456789012/elasticloadbalancing/us-east-1/2026/11/28/123456789012_elasticloadbalancing_us-east-1_"

static const struct golden_want alb_sample[] = {
    { 0, "url.full", "https://www.example.com/api/orders?page=2" },        /* :443 is https's own */
    { 0, "user_agent.name", "Chrome" },
    { 0, "user_agent.version", "131.0.0.0" },
    { 0, "user_agent.os.name", "Windows" },
    { 0, "user_agent.os.version", "10" },
    { 0, "user_agent.device.name", "Other" },
    { 1, "user_agent.name", "okhttp" },
    { 2, "url.full", "http://www.example.com/login" },
    { 2, "user_agent.name", "Firefox" },
    { 3, "user_agent.name", "Python Requests" },
    { 4, "url.full", GOLDEN_ABSENT },
    { 4, "user_agent", GOLDEN_ABSENT },
};

static const struct golden_want clb_sample[] = {
    { 0, "url.full", "http://www.example.com/health" },
    { 0, "user_agent.name", "curl" },
    { 0, "user_agent.version", "8.5.0" },
    { 1, "user_agent.name", "Nuclei" },
    { 1, "user_agent.device.name", "Spider" },
    { 2, "user_agent", GOLDEN_ABSENT },
};

static const struct golden_want s3_sample[] = {
    { 0, "user_agent.name", "aws-cli" },
    { 0, "user_agent.version", "2.22.4" },
    { 0, "user_agent.os.name", "Linux" },
    { 0, "user_agent.os.kernel", "6.8.0" },
    { 0, "url.full", GOLDEN_ABSENT },           /* S3 access logs have no scheme */
    { 2, "user_agent.name", "Boto3" },
};

/* Community ids checked against an independent implementation of the spec:
 * both directions of a flow share one; ICMP (ports 0 and 0, no type and code)
 * and NODATA / SKIPDATA records ("-") get none. */
static const struct golden_want vpc_sample[] = {
    { 0, "network.community_id", "1:IYkukUDxYwZGLPT5qRKjRC7K/yI=" },
    { 1, "network.community_id", "1:IYkukUDxYwZGLPT5qRKjRC7K/yI=" },
    { 2, "network.community_id", "1:1r4gvN+Hh/rF2wPfYMyysCszDGs=" },
    { 3, "network.iana_number", "1" },
    { 3, "network.community_id", GOLDEN_ABSENT },
    { 4, "network.community_id", "1:4MAxhO7nCAvhuNoa2PgU9+SfILo=" },
    { 5, "network.community_id", "1:Dp3gEimRkWAdki7E6X3GKGs5kNY=" },
    { 6, "network", GOLDEN_ABSENT },
    { 7, "network", GOLDEN_ABSENT },
};

static const struct golden_case fixtures[] = {
    { "vpcflowlogs", "AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/28/"
      "123456789012_vpcflowlogs_us-east-1_fl-0b1c2d3e4f5a6b7c8_20261128T0355Z_7f3a9c1e.log", .parsed = 8,
      GOLDEN_WANT(vpc_sample) },
    { "alb", FX_ELB "app.web-alb.50dc6c495c0c9188_20261128T0355Z_192.0.2.10_2x8nj3k9.log", .parsed = 5, GOLDEN_WANT(alb_sample) },
    { "clb", FX_ELB "web-clb_20261128T0355Z_192.0.2.11_5m1q8c4d.log", .parsed = 4, GOLDEN_WANT(clb_sample) },
    { "s3accesslog", "s3-access-logs/2026-11-28-03-55-22-7C3E9A1B5D2F4E6A", .parsed = 4, GOLDEN_WANT(s3_sample) },
    /* delivered 2025-01-01 00:10 UTC: December lines are from 2024 */
    { "linux-os-syslog", "linux-os-syslog/year-rollover.log", .parsed = 5, GOLDEN_WANT(year_rollover), .check = check_year_rollover,
      .delivery_ms = DELIVERED_2025_01_01_0010 },
    { "linux-secure", "linux-secure/sshd-invalid-user.log", .parsed = 10, GOLDEN_WANT(sshd_invalid_user),
      .check = check_sshd_invalid_user },
    { "rds-postgresql", "rds-postgresql/multiline-statement.log", .parsed = 4, GOLDEN_WANT(pg_multiline) },
    { "rds-mysql-audit", "rds-mysql-audit/audit.log", .parsed = 4, GOLDEN_WANT(mysql_audit) },
    { "rds-mysql-general", "rds-mysql-general/general.log", .parsed = 3, GOLDEN_WANT(mysql_general) },
    { "rds-mysql-error", "rds-mysql-error/mysql80.log", .parsed = 3, GOLDEN_WANT(mysql80_error) },
    { "rds-mysql-slowquery", "rds-mysql-slowquery/aurora.log", .parsed = 1, GOLDEN_WANT(aurora_slowquery) },
    { "msk", "msk/stack-trace.log", .parsed = 3, GOLDEN_WANT(msk_stack_trace), .check = check_msk_stack_trace },
    { "cloudfront-realtime", "cloudfront-realtime/realtime.log", .parsed = 1, GOLDEN_WANT(cloudfront_realtime),
      .check = check_cloudfront_realtime },
};

/* Lines no template knows are failures, counted and reported, never dropped. */
static void test_bad_input(void)
{
    static const struct golden_case secure = { "linux-secure", "(bad input)", .parsed = 1, .failed = 2 };
    static const struct golden_case pg = { "rds-postgresql", "(bad input)", .failed = 1 };
    const char *lines = "not a syslog line\nFeb 30 10:00:00 host sshd[1]: impossible date\n"
                        "Feb 28 10:00:00 host sshd[1]: fine\n";
    const char *pg_line = "2024-03-01 10:00:00 nonsense\n";
    struct golden_run r;
    golden_run_bytes(&r, &secure, "bad.log", "bad.log", lines, strlen(lines));
    golden_expect_counts(&r, "linux-secure (bad input)", secure.parsed, secure.skipped, secure.failed);
    golden_free(&r);
    golden_run_bytes(&r, &pg, "bad.log", "bad.log", pg_line, strlen(pg_line));
    golden_expect_counts(&r, "rds-postgresql (bad input)", pg.parsed, pg.skipped, pg.failed);
    golden_free(&r);
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

static const struct golden_want cwl_rds_docs[] = {
    { 0, "event.dataset", "aws.rds" },
    { 0, "aws.rds.instance_identifier", "prod-db" },
    { 0, "aws.cloudwatch.log_group", "/aws/rds/instance/prod-db/postgresql" },
    { 0, "cloud.account.id", "123456789012" },
    { 0, "aws.rds.query", "SELECT 1,\n\t2" },
    { 0, "event.duration", "12500000" },
    { 1, "event.outcome", "failure" },
    { 1, "source.ip", "10.0.0.13" },
};

/* /ec2/linux/secure is linux-secure; the event time gives the December line its year */
static const struct golden_want cwl_secure_docs[] = {
    { 0, "event.dataset", "linux.secure" },
    { 0, "@timestamp", "2024-12-31T23:58:01.000Z" },
    { 0, "user.name", "admin" },
    { 0, "event.outcome", "failure" },
};

static void test_cloudwatch_delivery(void)
{
    char path[] = "/tmp/siemproc-cwl-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    close(fd);
    struct golden_run r, again;
    CHECK_INT(golden_write_gzip(path, cwl_rds, strlen(cwl_rds)), 0);
    if (golden_run_bulk(&r, path, NULL) == 0) {
        CHECK_INT(r.n, 2);
        GOLDEN_EXPECT(&r, cwl_rds_docs);
        CHECK_STR(r.index[0], "log-aws-rds-postgresql-2024-03");
        golden_run_bulk(&again, path, NULL);
        CHECK_STR(again.ids[0], r.ids[0]);
        golden_free(&again);
        golden_free(&r);

        CHECK_INT(golden_write_gzip(path, cwl_secure, strlen(cwl_secure)), 0);
        golden_run_bulk(&r, path, NULL);
        CHECK_INT(r.n, 1);
        GOLDEN_EXPECT(&r, cwl_secure_docs);
        CHECK_STR(r.index[0], "log-linux-secure-2024-12");
        golden_free(&r);
    }
    unlink(path);
}

int main(void)
{
    golden_init();
    golden_delivery_ms = DELIVERED_2026_06_01;
    test_corpus();
    golden_run_fixtures(fixtures, sizeof fixtures / sizeof fixtures[0]);
    test_bad_input();
    test_list_constants_validated();
    test_cloudwatch_delivery();
    schema_set_free(&golden_schemas);
    return tl_done();
}
