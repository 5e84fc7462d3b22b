/* timeparse: hand-written scanners, no strptime: strptime is locale-dependent,
 * slow, and cannot express "seconds or milliseconds, whichever this is". */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "timeparse.h"

int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

int64_t ts_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* A tiny cursor over the input. */
struct cur { const char *s; size_t i, n; };

static int digits(struct cur *c, int count, int *out)
{
    int v = 0;
    for (int k = 0; k < count; k++) {
        if (c->i >= c->n || !isdigit((unsigned char)c->s[c->i])) return -1;
        v = v * 10 + (c->s[c->i++] - '0');
    }
    *out = v;
    return 0;
}

/* 1 or 2 digits (syslog days, 12-hour clocks). */
static int digits12(struct cur *c, int *out)
{
    if (digits(c, 1, out)) return -1;
    if (c->i < c->n && isdigit((unsigned char)c->s[c->i])) *out = *out * 10 + (c->s[c->i++] - '0');
    return 0;
}

static int lit(struct cur *c, char ch)
{
    if (c->i < c->n && c->s[c->i] == ch) { c->i++; return 0; }
    return -1;
}

static void skip_spaces(struct cur *c)
{
    while (c->i < c->n && c->s[c->i] == ' ') c->i++;
}

static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

static int month_name(struct cur *c, int *m)
{
    if (c->n - c->i < 3) return -1;
    for (int k = 0; k < 12; k++) {
        if (strncasecmp(c->s + c->i, months + 3 * k, 3) == 0) {
            *m = k + 1;
            c->i += 3;
            return 0;
        }
    }
    return -1;
}

/* Fraction of a second after '.' or ',' -> milliseconds (truncated). */
static int fraction_ms(struct cur *c)
{
    int ms = 0, k = 0;
    if (c->i < c->n && (c->s[c->i] == '.' || c->s[c->i] == ',')) {
        c->i++;
        while (c->i < c->n && isdigit((unsigned char)c->s[c->i])) {
            if (k < 3) { ms = ms * 10 + (c->s[c->i] - '0'); k++; }
            c->i++;
        }
        while (k++ < 3) ms *= 10;
    }
    return ms;
}

/* Optional zone: Z, +hh, +hh:mm, +hhmm, " UTC", " GMT". Returns 1 if one was present. */
/* Zone abbreviations (PostgreSQL's %t, some syslog daemons) that name one
 * offset; ambiguous ones (IST, CST, BST, SST, AST) are not guessed. */
static const struct { char name[6]; short minutes; } zone_names[] = {
    { "WET", 0 }, { "WEST", 60 }, { "CET", 60 }, { "CEST", 120 }, { "EET", 120 }, { "EEST", 180 },
    { "MSK", 180 }, { "PKT", 300 }, { "HKT", 480 }, { "SGT", 480 }, { "AWST", 480 }, { "JST", 540 },
    { "KST", 540 }, { "ACST", 570 }, { "ACDT", 630 }, { "AEST", 600 }, { "AEDT", 660 }, { "NZST", 720 },
    { "NZDT", 780 }, { "HST", -600 }, { "AKST", -540 }, { "AKDT", -480 }, { "PST", -480 }, { "PDT", -420 },
    { "MST", -420 }, { "MDT", -360 }, { "CDT", -300 }, { "EST", -300 }, { "EDT", -240 },
};

static int zone_name(struct cur *c, int *minutes)
{
    size_t l = 0;
    while (c->i + l < c->n && isupper((unsigned char)c->s[c->i + l])) l++;
    for (size_t k = 0; l >= 3 && k < sizeof zone_names / sizeof zone_names[0]; k++) {
        if (strlen(zone_names[k].name) == l && memcmp(zone_names[k].name, c->s + c->i, l) == 0) {
            c->i += l;
            *minutes = zone_names[k].minutes;
            return 1;
        }
    }
    return 0;
}

static int zone(struct cur *c, int *minutes)
{
    size_t save = c->i;
    skip_spaces(c);
    if (c->i >= c->n) { c->i = save; return 0; }
    char ch = c->s[c->i];
    if (ch == 'Z' || ch == 'z') { c->i++; *minutes = 0; return 1; }
    if (c->n - c->i >= 3 && (strncmp(c->s + c->i, "UTC", 3) == 0 || strncmp(c->s + c->i, "GMT", 3) == 0)) {
        c->i += 3;
        *minutes = 0;
        return 1;
    }
    if (zone_name(c, minutes)) return 1;
    if (ch == '+' || ch == '-') {
        int h, m = 0;
        c->i++;
        if (digits(c, 2, &h)) { c->i = save; return 0; }
        if (c->i < c->n && c->s[c->i] == ':') c->i++;
        if (c->i < c->n && isdigit((unsigned char)c->s[c->i]) && digits(c, 2, &m)) { c->i = save; return 0; }
        if (h > 23 || m > 59) { c->i = save; return 0; }
        *minutes = (ch == '-' ? -1 : 1) * (h * 60 + m);
        return 1;
    }
    c->i = save;
    return 0;
}

static int days_in_month(int y, int mo)
{
    static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return mo == 2 && leap ? 29 : dim[mo - 1];
}

/* 24:00:00 (end of day) and a leap second :60 are valid ISO 8601. */
static int valid_civil(int y, int mo, int d, int h, int mi, int s, int ms)
{
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo)) return 0;
    if (h == 24) return mi == 0 && s == 0 && ms == 0;
    return h >= 0 && h <= 23 && mi >= 0 && mi <= 59 && s >= 0 && s <= 60;
}

static int64_t to_ms(int y, int mo, int d, int h, int mi, int s, int ms, int tz)
{
    int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    return ((days * 86400 + h * 3600 + mi * 60 + s) - (int64_t)tz * 60) * 1000 + ms;
}

/* hh:mm[:ss[.frac]] */
static int clock_part(struct cur *c, int *h, int *mi, int *s, int *ms)
{
    *s = 0;
    *ms = 0;
    if (digits(c, 2, h) || lit(c, ':') || digits(c, 2, mi)) return -1;
    if (lit(c, ':') == 0) {
        if (digits(c, 2, s)) return -1;
        *ms = fraction_ms(c);
    }
    return 0;
}

static int finish(struct cur *c, int y, int mo, int d, int h, int mi, int s, int ms,
                  const struct ts_ctx *ctx, int64_t *out)
{
    int tz = ctx ? ctx->tz_minutes : 0;
    zone(c, &tz);
    skip_spaces(c);
    if (c->i != c->n || !valid_civil(y, mo, d, h, mi, s, ms)) return -1;
    *out = to_ms(y, mo, d, h, mi, s, ms, tz);
    return 0;
}

static int parse_iso(struct cur *c, const struct ts_ctx *ctx, int64_t *out)
{
    int y, mo, d, h = 0, mi = 0, s = 0, ms = 0;
    if (digits(c, 4, &y)) return -1;
    char sep = c->i < c->n ? c->s[c->i] : 0;
    if (sep != '-' && sep != '/') return -1;
    c->i++;
    if (digits(c, 2, &mo) || lit(c, sep) || digits(c, 2, &d)) return -1;
    if (c->i < c->n && (c->s[c->i] == 'T' || c->s[c->i] == ' ')) {
        c->i++;
        if (clock_part(c, &h, &mi, &s, &ms)) return -1;
    }
    return finish(c, y, mo, d, h, mi, s, ms, ctx, out);
}

static int parse_clf(struct cur *c, const struct ts_ctx *ctx, int64_t *out)
{
    int y, mo, d, h, mi, s, ms;
    if (c->i < c->n && c->s[c->i] == '[') c->i++;
    if (digits12(c, &d) || lit(c, '/') || month_name(c, &mo) || lit(c, '/') || digits(c, 4, &y) || lit(c, ':'))
        return -1;
    if (clock_part(c, &h, &mi, &s, &ms)) return -1;
    if (c->n > c->i && c->s[c->n - 1] == ']') c->n--;
    return finish(c, y, mo, d, h, mi, s, ms, ctx, out);
}

/* Syslog has no year: take the reference time's year, or the previous one when
 * that would put the event more than a month in the future (December logs
 * delivered in January). A year written after the clock is used as is. */
static int parse_syslog(struct cur *c, const struct ts_ctx *ctx, int64_t *out)
{
    int mo, d, h, mi, s, ms;
    if (month_name(c, &mo)) return -1;
    skip_spaces(c);
    if (digits12(c, &d) || lit(c, ' ')) return -1;
    skip_spaces(c);
    if (clock_part(c, &h, &mi, &s, &ms)) return -1;
    int64_t ref = ctx && ctx->ref_ms ? ctx->ref_ms : ts_now_ms();
    int64_t ry;
    unsigned rm, rd;
    civil_from_days(ref / 86400000, &ry, &rm, &rd);
    size_t save = c->i;
    int explicit_year;
    if (lit(c, ' ') == 0 && digits(c, 4, &explicit_year) == 0) return finish(c, explicit_year, mo, d, h, mi, s, ms, ctx, out);
    c->i = save;
    if (finish(c, (int)ry, mo, d, h, mi, s, ms, ctx, out) == 0 && *out <= ref + 31LL * 86400000) return 0;
    c->i = save;     /* the future, or Feb 29 of a non-leap year: last year */
    return finish(c, (int)ry - 1, mo, d, h, mi, s, ms, ctx, out);
}

/* yymmdd or yyyymmdd, then h:mm:ss (MySQL error and slow logs, MariaDB audit). */
static int parse_mysql(struct cur *c, const struct ts_ctx *ctx, int64_t *out)
{
    int y, mo, d, h, mi, s, ms;
    int wide = c->n - c->i > 8 && isdigit((unsigned char)c->s[c->i + 6]) && isdigit((unsigned char)c->s[c->i + 7]);
    if (digits(c, wide ? 4 : 2, &y) || digits(c, 2, &mo) || digits(c, 2, &d)) return -1;
    if (!wide) y += 2000;
    skip_spaces(c);
    if (digits12(c, &h) || lit(c, ':') || digits(c, 2, &mi) || lit(c, ':') || digits(c, 2, &s)) return -1;
    ms = fraction_ms(c);
    return finish(c, y, mo, d, h, mi, s, ms, ctx, out);
}

static int parse_us12h(struct cur *c, const struct ts_ctx *ctx, int64_t *out)
{
    int y, mo, d, h, mi, s;
    if (month_name(c, &mo)) return -1;
    skip_spaces(c);
    if (digits12(c, &d) || lit(c, ',')) return -1;
    skip_spaces(c);
    if (digits(c, 4, &y) || lit(c, ',')) return -1;
    skip_spaces(c);
    if (digits12(c, &h) || lit(c, ':') || digits(c, 2, &mi) || lit(c, ':') || digits(c, 2, &s)) return -1;
    skip_spaces(c);
    if (c->n - c->i < 2) return -1;
    int pm = strncasecmp(c->s + c->i, "PM", 2) == 0;
    if (!pm && strncasecmp(c->s + c->i, "AM", 2) != 0) return -1;
    c->i += 2;
    if (h < 1 || h > 12) return -1;
    h = (h % 12) + (pm ? 12 : 0);
    return finish(c, y, mo, d, h, mi, s, 0, ctx, out);
}

/* Digits with an optional fraction and exponent: what strtod may read here
 * (it would also take "inf", "nan", hex and leading blanks). */
static int epoch_chars(const char *s, size_t n)
{
    if (!isdigit((unsigned char)s[0])) return 0;
    for (size_t i = 1; i < n; i++)
        if (!isdigit((unsigned char)s[i]) && !strchr(".eE+-", s[i])) return 0;
    return 1;
}

/* The unit follows from the magnitude: seconds up to 1e11 (year 5138),
 * then milliseconds, microseconds, nanoseconds. */
static int parse_epoch(const char *s, size_t n, int64_t *out)
{
    char tmp[40];
    if (n == 0 || n >= sizeof tmp || !epoch_chars(s, n)) return -1;
    if (n <= 18) {          /* the common case, plain integer seconds or ms: no strtod */
        int64_t i = 0;
        size_t k = 0;
        while (k < n && isdigit((unsigned char)s[k])) i = i * 10 + (s[k++] - '0');
        if (k == n) {
            *out = i < 100000000000LL ? i * 1000 : i < 100000000000000LL ? i : i < 100000000000000000LL ? i / 1000 : i / 1000000;
            return 0;
        }
    }
    memcpy(tmp, s, n);
    tmp[n] = 0;
    char *end;
    double v = strtod(tmp, &end);
    if (*end || !isfinite(v) || v >= 1e20) return -1;
    if (strspn(tmp, "0123456789") == n) {      /* integers exactly, without the double's rounding */
        long long i = strtoll(tmp, NULL, 10);
        *out = v < 1e11 ? i * 1000 : v < 1e14 ? i : v < 1e17 ? i / 1000 : i / 1000000;
        return 0;
    }
    double ms = v < 1e11 ? v * 1000.0 : v < 1e14 ? v : v < 1e17 ? v / 1e3 : v / 1e6;
    *out = (int64_t)llround(ms);
    return 0;
}

int ts_parse(enum ts_format fmt, const char *s, size_t n, const struct ts_ctx *ctx, int64_t *out)
{
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\r')) n--;
    while (n && *s == ' ') { s++; n--; }
    struct cur c = { s, 0, n };
    switch (fmt) {
    case TS_EPOCH:   return parse_epoch(s, n, out);
    case TS_ISO8601: return parse_iso(&c, ctx, out);
    case TS_SYSLOG:  return parse_syslog(&c, ctx, out);
    case TS_CLF:     return parse_clf(&c, ctx, out);
    case TS_MYSQL:   return parse_mysql(&c, ctx, out);
    case TS_US12H:   return parse_us12h(&c, ctx, out);
    case TS_AUTO:    break;
    }
    if (n == 0) return -1;
    if (n >= 5 && isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[3]) && (s[4] == '-' || s[4] == '/'))
        return parse_iso(&c, ctx, out);
    if (n >= 7 && isdigit((unsigned char)s[0]) && (s[6] == ' ' || (n >= 9 && s[8] == ' ')))
        return parse_mysql(&c, ctx, out);
    if (isdigit((unsigned char)s[0]) && parse_epoch(s, n, out) == 0) return 0;
    if (parse_clf(&c, ctx, out) == 0) return 0;
    c.i = 0;
    c.n = n;
    if (parse_us12h(&c, ctx, out) == 0) return 0;
    c.i = 0;
    return parse_syslog(&c, ctx, out);
}

enum ts_format ts_format_from_name(const char *name)
{
    static const struct { const char *name; enum ts_format f; } tab[] = {
        { "auto", TS_AUTO }, { "epoch", TS_EPOCH }, { "iso8601", TS_ISO8601 }, { "syslog", TS_SYSLOG },
        { "clf", TS_CLF }, { "mysql", TS_MYSQL }, { "us12h", TS_US12H },
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (strcmp(tab[i].name, name) == 0) return tab[i].f;
    return (enum ts_format)-1;
}

static void two(char *o, unsigned v) { o[0] = (char)('0' + v / 10 % 10); o[1] = (char)('0' + v % 10); }

#define ISO_MIN_MS (-62167219200000LL)    /* 0000-01-01T00:00:00.000Z */
#define ISO_MAX_MS (253402300799999LL)    /* 9999-12-31T23:59:59.999Z */

size_t ts_format_iso(int64_t ms, char *out)
{
    ms = ms < ISO_MIN_MS ? ISO_MIN_MS : ms > ISO_MAX_MS ? ISO_MAX_MS : ms;
    int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    int64_t rem = ms - secs * 1000;
    int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    int64_t sod = secs - days * 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    unsigned yy = (unsigned)y;
    out[0] = (char)('0' + yy / 1000); out[1] = (char)('0' + yy / 100 % 10);
    out[2] = (char)('0' + yy / 10 % 10); out[3] = (char)('0' + yy % 10);
    out[4] = '-'; two(out + 5, m); out[7] = '-'; two(out + 8, d); out[10] = 'T';
    two(out + 11, (unsigned)(sod / 3600)); out[13] = ':';
    two(out + 14, (unsigned)(sod / 60 % 60)); out[16] = ':';
    two(out + 17, (unsigned)(sod % 60)); out[19] = '.';
    out[20] = (char)('0' + rem / 100); out[21] = (char)('0' + rem / 10 % 10); out[22] = (char)('0' + rem % 10);
    out[23] = 'Z';
    out[24] = 0;
    return 24;
}

int rotation_from_name(const char *name)
{
    static const char *names[] = { "daily", "weekly", "monthly", "yearly", "none" };
    for (int i = 0; i < 5; i++) if (strcmp(names[i], name) == 0) return i;
    return -1;
}

/* ISO 8601 week-numbering year and week of a day count. */
static void iso_week(int64_t days, int64_t *wy, unsigned *wk)
{
    int64_t wd = ((days % 7) + 7 + 3) % 7;          /* 0 = Monday; 1970-01-01 was a Thursday */
    int64_t thursday = days - wd + 3;
    int64_t y;
    unsigned m, d;
    civil_from_days(thursday, &y, &m, &d);
    *wy = y;
    *wk = (unsigned)((thursday - days_from_civil(y, 1, 1)) / 7 + 1);
}

size_t ts_index_suffix(int64_t ms, enum rotation rot, int tz_minutes, char *out)
{
    int64_t local = ms + (int64_t)tz_minutes * 60000;
    int64_t days = local >= 0 ? local / 86400000 : (local - 86399999) / 86400000;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    char tmp[32];
    int n;
    switch (rot) {
    case ROT_DAILY:   n = snprintf(tmp, sizeof tmp, "%04lld-%02u-%02u", (long long)y, m, d); break;
    case ROT_MONTHLY: n = snprintf(tmp, sizeof tmp, "%04lld-%02u", (long long)y, m); break;
    case ROT_YEARLY:  n = snprintf(tmp, sizeof tmp, "%04lld", (long long)y); break;
    case ROT_WEEKLY: {
        int64_t wy;
        unsigned wk;
        iso_week(days, &wy, &wk);
        n = snprintf(tmp, sizeof tmp, "%04lld-w%02u", (long long)wy, wk);
        break;
    }
    default: n = 0; tmp[0] = 0; break;
    }
    memcpy(out, tmp, (size_t)n + 1);
    return (size_t)n;
}

int tz_parse_offset(const char *s, int *minutes)
{
    struct cur c = { s, 0, strlen(s) };
    if (c.n == 0) { *minutes = 0; return 0; }
    if (!zone(&c, minutes) || c.i != c.n) return -1;
    return 0;
}
