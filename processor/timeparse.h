/* timeparse: every timestamp format AWS logs use, to epoch milliseconds UTC,
 * and back to the one format we emit (ISO 8601, UTC, milliseconds). */
#ifndef SIEMPROC_TIMEPARSE_H
#define SIEMPROC_TIMEPARSE_H
#include <stddef.h>
#include <stdint.h>

enum ts_format {
    TS_AUTO,      /* try the formats below in a safe order */
    TS_EPOCH,     /* seconds, ms, us or ns by magnitude; decimals and 1.6E9 too */
    TS_ISO8601,   /* 2020-12-23T01:23:45.123456Z, space separator, +09:00/+0900/UTC, '/' dates */
    TS_SYSLOG,    /* Feb  6 00:00:38 -- the year comes from the reference time */
    TS_CLF,       /* 06/Feb/2019:00:00:38 +0000 */
    TS_MYSQL,     /* 210723 12:33:18 (yymmdd), 20210723 12:33:18 */
    TS_US12H      /* Sep 20, 2022, 7:12:26 PM */
};

struct ts_ctx {
    int64_t ref_ms;      /* delivery/object time; "now" when 0. Gives syslog its year. */
    int     tz_minutes;  /* zone assumed when the text has none */
};

enum ts_format ts_format_from_name(const char *name);   /* -1 when unknown */
int  ts_parse(enum ts_format fmt, const char *s, size_t n, const struct ts_ctx *ctx, int64_t *ms_out);
/* "2026-11-28T03:51:22.000Z"; out must hold 32 bytes; returns length. */
size_t ts_format_iso(int64_t ms, char *out);
int64_t ts_now_ms(void);

enum rotation { ROT_DAILY, ROT_WEEKLY, ROT_MONTHLY, ROT_YEARLY, ROT_NONE };
int rotation_from_name(const char *name);   /* -1 when unknown */
/* Index-name suffix for ms shifted by tz_minutes: 2026-11-28 / 2026-w48 / 2026-11 / 2026 / "". */
size_t ts_index_suffix(int64_t ms, enum rotation rot, int tz_minutes, char *out);
/* Parse "+09:00" / "-04:00" / "Z" into minutes. */
int tz_parse_offset(const char *s, int *minutes);

/* Civil date helpers (proleptic Gregorian). */
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);
void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);
#endif
