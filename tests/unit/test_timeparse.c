/* timeparse: every input format, the one output format, and index suffixes. */
#include <stdio.h>
#include <string.h>
#include "testlib.h"
#include "timeparse.h"

/* 2026-11-28T03:51:22Z and 2027-01-02T10:00:00Z as reference (delivery) times. */
#define REF_NOV ((int64_t)1795837882000LL)
#define REF_JAN ((int64_t)1798884000000LL)

/* Parse s with fmt and return the ISO text, or "ERR". */
static const char *iso_of(enum ts_format fmt, const char *s, int64_t ref, int tz)
{
    static char out[8][32];
    static int next;
    char *o = out[next++ % 8];
    struct ts_ctx ctx = { ref, tz };
    int64_t ms;
    if (ts_parse(fmt, s, strlen(s), &ctx, &ms) < 0) return "ERR";
    ts_format_iso(ms, o);
    return o;
}

static const char *iso(enum ts_format fmt, const char *s) { return iso_of(fmt, s, REF_NOV, 0); }

static void test_epoch(void)
{
    CHECK_STR(iso(TS_EPOCH, "1640000297"), "2021-12-20T11:38:17.000Z");
    CHECK_STR(iso(TS_EPOCH, "1640000297123"), "2021-12-20T11:38:17.123Z");
    CHECK_STR(iso(TS_EPOCH, "1640000297123456"), "2021-12-20T11:38:17.123Z");
    CHECK_STR(iso(TS_EPOCH, "1640000297123456789"), "2021-12-20T11:38:17.123Z");
    CHECK_STR(iso(TS_EPOCH, "1640000297.5"), "2021-12-20T11:38:17.500Z");
    CHECK_STR(iso(TS_EPOCH, "1640000297123.9"), "2021-12-20T11:38:17.124Z");
    CHECK_STR(iso(TS_EPOCH, "1.663703546405E9"), "2022-09-20T19:52:26.405Z");
    CHECK_STR(iso(TS_EPOCH, "1.640000297e12"), "2021-12-20T11:38:17.000Z");
    CHECK_STR(iso(TS_EPOCH, "164000066"), "1975-03-14T03:34:26.000Z");
    CHECK_STR(iso(TS_EPOCH, "0"), "1970-01-01T00:00:00.000Z");
    CHECK_STR(iso(TS_EPOCH, " 1640000297\r\n"), "2021-12-20T11:38:17.000Z");
    static const char *bad[] = { "", "abc", "-1", "0x10", "inf", "nan", "1e400", "1e25", "12a", "1 2",
                                 "123456789012345678901234567890123456789012" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) CHECK_STR(iso(TS_EPOCH, bad[i]), "ERR");
}

static void test_iso(void)
{
    CHECK_STR(iso(TS_ISO8601, "2020-12-23T01:23:45.123456Z"), "2020-12-23T01:23:45.123Z");
    CHECK_STR(iso(TS_ISO8601, "2020-12-23T01:23:45Z"), "2020-12-23T01:23:45.000Z");
    CHECK_STR(iso(TS_ISO8601, "2020-12-23T01:23:45"), "2020-12-23T01:23:45.000Z");
    CHECK_STR(iso(TS_ISO8601, "2020-12-23 01:23:45"), "2020-12-23T01:23:45.000Z");
    CHECK_STR(iso(TS_ISO8601, "2020-12-23T01:23:45.7"), "2020-12-23T01:23:45.700Z");
    CHECK_STR(iso(TS_ISO8601, "2020-12-23T01:23:45,25Z"), "2020-12-23T01:23:45.250Z");
    CHECK_STR(iso(TS_ISO8601, "2020-12-23T10:23:45+09:00"), "2020-12-23T01:23:45.000Z");
    CHECK_STR(iso(TS_ISO8601, "2020-12-23T10:23:45+0900"), "2020-12-23T01:23:45.000Z");
    CHECK_STR(iso(TS_ISO8601, "2020-12-23T10:23:45+09"), "2020-12-23T01:23:45.000Z");
    CHECK_STR(iso(TS_ISO8601, "2020-12-22T20:53:45.5-04:30"), "2020-12-23T01:23:45.500Z");
    CHECK_STR(iso(TS_ISO8601, "2020-12-23 01:23:45 UTC"), "2020-12-23T01:23:45.000Z");
    CHECK_STR(iso(TS_ISO8601, "2020-12-23 01:23:45 GMT"), "2020-12-23T01:23:45.000Z");
    CHECK_STR(iso(TS_ISO8601, "2020/12/23 01:23:45"), "2020-12-23T01:23:45.000Z");
    CHECK_STR(iso(TS_ISO8601, "2020-12-23T01:23Z"), "2020-12-23T01:23:00.000Z");
    CHECK_STR(iso(TS_ISO8601, "2020-12-23"), "2020-12-23T00:00:00.000Z");
    CHECK_STR(iso(TS_ISO8601, "2020-12-23T24:00:00Z"), "2020-12-24T00:00:00.000Z");
    CHECK_STR(iso(TS_ISO8601, "2016-12-31T23:59:60Z"), "2017-01-01T00:00:00.000Z");
    CHECK_STR(iso(TS_ISO8601, "2024-02-29T00:00:00Z"), "2024-02-29T00:00:00.000Z");
    CHECK_STR(iso(TS_ISO8601, "2000-02-29T00:00:00Z"), "2000-02-29T00:00:00.000Z");
    /* The zone assumed when the text has none; an explicit zone wins. */
    CHECK_STR(iso_of(TS_ISO8601, "2020-12-23 10:23:45", REF_NOV, 540), "2020-12-23T01:23:45.000Z");
    CHECK_STR(iso_of(TS_ISO8601, "2020-12-23 10:23:45Z", REF_NOV, 540), "2020-12-23T10:23:45.000Z");
    static const char *bad[] = {
        "2020-13-01", "2020-00-10", "2021-02-29", "2100-02-29", "2020-04-31", "2020-12-32", "2020-12-00",
        "2020-12-23T25:00:00Z", "2020-12-23T24:00:01Z", "2020-12-23T01:60:00Z", "2020-12-23T01:23:61Z",
        "2020-12-23T01:23:45+25:00", "2020-12-23T01:23:45+09:75", "2020-12-23T01:23:45 junk",
        "2020-12-23T1:23:45", "2020-12/23", "20201223", "", "2020-12-23T",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *r = iso(TS_ISO8601, bad[i]);
        if (strcmp(r, "ERR")) fprintf(stderr, "accepted %s as %s\n", bad[i], r);
        CHECK_STR(r, "ERR");
    }
}

static void test_syslog(void)
{
    CHECK_STR(iso_of(TS_SYSLOG, "Feb  6 00:00:38", REF_NOV, 0), "2026-02-06T00:00:38.000Z");
    CHECK_STR(iso_of(TS_SYSLOG, "Nov 28 03:51:22", REF_NOV, 0), "2026-11-28T03:51:22.000Z");
    /* A little in the future (clock skew) stays this year. */
    CHECK_STR(iso_of(TS_SYSLOG, "Dec 10 00:00:00", REF_NOV, 0), "2026-12-10T00:00:00.000Z");
    /* December logs delivered in January belong to last year. */
    CHECK_STR(iso_of(TS_SYSLOG, "Dec 31 23:59:59", REF_JAN, 0), "2026-12-31T23:59:59.000Z");
    CHECK_STR(iso_of(TS_SYSLOG, "Jan  2 09:59:00", REF_JAN, 0), "2027-01-02T09:59:00.000Z");
    CHECK_STR(iso_of(TS_SYSLOG, "Dec 31 23:59:59", REF_JAN, 540), "2026-12-31T14:59:59.000Z");
    /* The rollover keeps a zone written in the text. */
    CHECK_STR(iso_of(TS_SYSLOG, "Dec 31 23:59:59 Z", REF_JAN, 540), "2026-12-31T23:59:59.000Z");
    CHECK_STR(iso_of(TS_SYSLOG, "Dec 31 23:59:59 +0100", REF_JAN, 0), "2026-12-31T22:59:59.000Z");
    /* An explicit year is never rolled back. */
    CHECK_STR(iso_of(TS_SYSLOG, "Dec 31 23:59:59 2030", REF_JAN, 0), "2030-12-31T23:59:59.000Z");
    CHECK_STR(iso_of(TS_SYSLOG, "Jun  1 10:00:00 2019", REF_JAN, 0), "2019-06-01T10:00:00.000Z");
    /* Feb 29 seen in a non-leap year is last (leap) year's. */
    CHECK_STR(iso_of(TS_SYSLOG, "Feb 29 12:00:00", (int64_t)1741564800000LL, 0), "2024-02-29T12:00:00.000Z");
    CHECK_STR(iso_of(TS_SYSLOG, "Feb  6 00:00:38.250", REF_NOV, 0), "2026-02-06T00:00:38.250Z");
    CHECK_STR(iso_of(TS_SYSLOG, "feb  6 00:00:38", REF_NOV, 0), "2026-02-06T00:00:38.000Z");
    CHECK_STR(iso_of(TS_SYSLOG, "Foo  6 00:00:38", REF_NOV, 0), "ERR");
    CHECK_STR(iso_of(TS_SYSLOG, "Feb 32 00:00:38", REF_NOV, 0), "ERR");
    CHECK_STR(iso_of(TS_SYSLOG, "Feb  6 00:00:38 trailing", REF_NOV, 0), "ERR");
}

static void test_other_formats(void)
{
    CHECK_STR(iso(TS_CLF, "06/Feb/2019:00:00:38 +0000"), "2019-02-06T00:00:38.000Z");
    CHECK_STR(iso(TS_CLF, "[01/Aug/2019:00:24:41 +0000]"), "2019-08-01T00:24:41.000Z");
    CHECK_STR(iso(TS_CLF, "06/Feb/2019:09:00:38 +0900"), "2019-02-06T00:00:38.000Z");
    CHECK_STR(iso(TS_CLF, "6/Feb/2019:00:00:38 -0100"), "2019-02-06T01:00:38.000Z");
    CHECK_STR(iso(TS_CLF, "06/Fez/2019:00:00:38 +0000"), "ERR");
    CHECK_STR(iso(TS_CLF, "06/Feb/2019 00:00:38"), "ERR");
    CHECK_STR(iso(TS_MYSQL, "210723 12:33:18"), "2021-07-23T12:33:18.000Z");
    CHECK_STR(iso(TS_MYSQL, "210723  2:33:18"), "2021-07-23T02:33:18.000Z");
    CHECK_STR(iso(TS_MYSQL, "211323 12:33:18"), "ERR");
    CHECK_STR(iso(TS_US12H, "Sep 20, 2022, 7:12:26 PM"), "2022-09-20T19:12:26.000Z");
    CHECK_STR(iso(TS_US12H, "Sep 20, 2022, 12:00:00 AM"), "2022-09-20T00:00:00.000Z");
    CHECK_STR(iso(TS_US12H, "Sep 20, 2022, 12:30:00 pm"), "2022-09-20T12:30:00.000Z");
    CHECK_STR(iso(TS_US12H, "Sep 20, 2022, 11:59:59 AM"), "2022-09-20T11:59:59.000Z");
    CHECK_STR(iso(TS_US12H, "Sep 20, 2022, 13:00:00 PM"), "ERR");
    CHECK_STR(iso(TS_US12H, "Sep 20, 2022, 0:00:00 AM"), "ERR");
    CHECK_STR(iso(TS_US12H, "Sep 20, 2022, 7:12:26"), "ERR");
}

static void test_auto(void)
{
    CHECK_STR(iso(TS_AUTO, "1640000297"), "2021-12-20T11:38:17.000Z");
    CHECK_STR(iso(TS_AUTO, "1640000297123"), "2021-12-20T11:38:17.123Z");
    CHECK_STR(iso(TS_AUTO, "1.663703546405E9"), "2022-09-20T19:52:26.405Z");
    CHECK_STR(iso(TS_AUTO, "2020-12-23T01:23:45.123Z"), "2020-12-23T01:23:45.123Z");
    CHECK_STR(iso(TS_AUTO, "2020/12/23 01:23:45"), "2020-12-23T01:23:45.000Z");
    CHECK_STR(iso(TS_AUTO, "06/Feb/2019:00:00:38 +0000"), "2019-02-06T00:00:38.000Z");
    CHECK_STR(iso(TS_AUTO, "[01/Aug/2019:00:24:41 +0000]"), "2019-08-01T00:24:41.000Z");
    CHECK_STR(iso(TS_AUTO, "210723 12:33:18"), "2021-07-23T12:33:18.000Z");
    CHECK_STR(iso(TS_AUTO, "Sep 20, 2022, 7:12:26 PM"), "2022-09-20T19:12:26.000Z");
    CHECK_STR(iso(TS_AUTO, "Feb  6 00:00:38"), "2026-02-06T00:00:38.000Z");
    CHECK_STR(iso(TS_AUTO, ""), "ERR");
    CHECK_STR(iso(TS_AUTO, "   "), "ERR");
    CHECK_STR(iso(TS_AUTO, "yesterday"), "ERR");
    CHECK_STR(iso(TS_AUTO, "-"), "ERR");
}

static void test_format_iso(void)
{
    char out[32];
    CHECK_INT(ts_format_iso(0, out), 24);
    CHECK_STR(out, "1970-01-01T00:00:00.000Z");
    ts_format_iso(-1, out);
    CHECK_STR(out, "1969-12-31T23:59:59.999Z");
    ts_format_iso(951782400000LL, out);
    CHECK_STR(out, "2000-02-29T00:00:00.000Z");
    ts_format_iso(951868800000LL, out);
    CHECK_STR(out, "2000-03-01T00:00:00.000Z");
    ts_format_iso(253402300799999LL, out);
    CHECK_STR(out, "9999-12-31T23:59:59.999Z");
    /* Out of range: clamped to a valid date, never garbage. */
    ts_format_iso(INT64_MAX, out);
    CHECK_STR(out, "9999-12-31T23:59:59.999Z");
    ts_format_iso(INT64_MIN, out);
    CHECK_STR(out, "0000-01-01T00:00:00.000Z");
    /* Round trip through the parser for a spread of instants. */
    for (int64_t ms = -86400000LL * 365 * 3; ms < 4102444800000LL; ms += 7777777777LL) {
        int64_t back;
        ts_format_iso(ms, out);
        CHECK(ts_parse(TS_ISO8601, out, strlen(out), NULL, &back) == 0 && back == ms);
    }
}

static void test_civil(void)
{
    CHECK_INT(days_from_civil(1970, 1, 1), 0);
    CHECK_INT(days_from_civil(2000, 3, 1), 11017);
    CHECK_INT(days_from_civil(1969, 12, 31), -1);
    for (int64_t z = -800000; z < 800000; z += 997) {
        int64_t y;
        unsigned m, d;
        civil_from_days(z, &y, &m, &d);
        CHECK(days_from_civil(y, m, d) == z && m >= 1 && m <= 12 && d >= 1 && d <= 31);
    }
}

static const char *suffix(const char *when, enum rotation rot, int tz)
{
    static char out[4][32];
    static int next;
    char *o = out[next++ % 4];
    int64_t ms;
    if (ts_parse(TS_ISO8601, when, strlen(when), NULL, &ms) < 0) return "BADTIME";
    size_t n = ts_index_suffix(ms, rot, tz, o);
    CHECK_INT(n, strlen(o));
    return o;
}

static void test_index_suffix(void)
{
    CHECK_STR(suffix("2026-11-28T03:51:22Z", ROT_DAILY, 0), "2026-11-28");
    CHECK_STR(suffix("2026-11-28T03:51:22Z", ROT_MONTHLY, 0), "2026-11");
    CHECK_STR(suffix("2026-11-28T03:51:22Z", ROT_YEARLY, 0), "2026");
    CHECK_STR(suffix("2026-11-28T03:51:22Z", ROT_NONE, 0), "");
    CHECK_STR(suffix("2026-11-28T03:51:22Z", ROT_WEEKLY, 0), "2026-w48");
    /* The index zone moves events across day, month and year boundaries. */
    CHECK_STR(suffix("2026-11-30T20:00:00Z", ROT_DAILY, 540), "2026-12-01");
    CHECK_STR(suffix("2026-11-30T20:00:00Z", ROT_MONTHLY, 540), "2026-12");
    CHECK_STR(suffix("2026-12-31T20:00:00Z", ROT_YEARLY, 540), "2027");
    CHECK_STR(suffix("2027-01-01T02:00:00Z", ROT_YEARLY, -300), "2026");
    CHECK_STR(suffix("1969-12-31T23:00:00Z", ROT_DAILY, 0), "1969-12-31");
    /* ISO weeks around new year: the week belongs to the year of its Thursday. */
    static const struct { const char *day, *week; } weeks[] = {
        { "2021-01-03T12:00:00Z", "2020-w53" }, { "2021-01-04T12:00:00Z", "2021-w01" },
        { "2019-12-30T12:00:00Z", "2020-w01" }, { "2018-12-31T12:00:00Z", "2019-w01" },
        { "2016-01-01T12:00:00Z", "2015-w53" }, { "2024-12-30T12:00:00Z", "2025-w01" },
        { "2027-01-01T12:00:00Z", "2026-w53" }, { "2020-12-31T12:00:00Z", "2020-w53" },
        { "2015-12-28T12:00:00Z", "2015-w53" }, { "1970-01-01T00:00:00Z", "1970-w01" },
    };
    for (size_t i = 0; i < sizeof weeks / sizeof weeks[0]; i++)
        CHECK_STR(suffix(weeks[i].day, ROT_WEEKLY, 0), weeks[i].week);
    /* Sunday 2021-01-03 20:00Z is already Monday 2021-01-04 at +09:00. */
    CHECK_STR(suffix("2021-01-03T20:00:00Z", ROT_WEEKLY, 540), "2021-w01");
}

static void test_names(void)
{
    CHECK_INT(ts_format_from_name("epoch"), TS_EPOCH);
    CHECK_INT(ts_format_from_name("iso8601"), TS_ISO8601);
    CHECK_INT(ts_format_from_name("syslog"), TS_SYSLOG);
    CHECK_INT(ts_format_from_name("clf"), TS_CLF);
    CHECK_INT(ts_format_from_name("mysql"), TS_MYSQL);
    CHECK_INT(ts_format_from_name("us12h"), TS_US12H);
    CHECK_INT(ts_format_from_name("auto"), TS_AUTO);
    CHECK_INT((int)ts_format_from_name("rfc2822"), -1);
    CHECK_INT(rotation_from_name("daily"), ROT_DAILY);
    CHECK_INT(rotation_from_name("weekly"), ROT_WEEKLY);
    CHECK_INT(rotation_from_name("none"), ROT_NONE);
    CHECK_INT(rotation_from_name("hourly"), -1);
    int m = 1;
    CHECK(tz_parse_offset("+09:00", &m) == 0 && m == 540);
    CHECK(tz_parse_offset("-04:00", &m) == 0 && m == -240);
    CHECK(tz_parse_offset("+0530", &m) == 0 && m == 330);
    CHECK(tz_parse_offset("Z", &m) == 0 && m == 0);
    m = 7;
    CHECK(tz_parse_offset("", &m) == 0 && m == 0);
    CHECK_INT(tz_parse_offset("Asia/Tokyo", &m), -1);
    CHECK_INT(tz_parse_offset("+09:00x", &m), -1);
    CHECK_INT(tz_parse_offset("+24:00", &m), -1);
}

int main(void)
{
    test_epoch();
    test_iso();
    test_syslog();
    test_other_formats();
    test_auto();
    test_format_iso();
    test_civil();
    test_index_suffix();
    test_names();
    return tl_done();
}
