/*
 * pp_time.c - RFC 3339 UTC timestamps <-> Unix milliseconds.
 *
 * Calendar arithmetic uses the proleptic Gregorian calendar with 400-year
 * eras (146097 days each), which is exact for every year 0000..9999 and
 * needs no tables or platform time functions (gmtime is not reentrant
 * everywhere, and timegm is not standard C).
 */
#include "pp_internal.h"

#define MS_PER_DAY 86400000LL

/* Days from 1970-01-01 to y-m-d. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2; /* count years from March so Feb 29 is the last day */
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);                      /* 0..399 */
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* 0..365 */
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* 0..146096 */
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
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

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return (m == 2 && is_leap(y)) ? 29u : dim[m - 1];
}

/* n decimal digits at s; -1 if any is not a digit. */
static long num(const char *s, size_t n)
{
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

#define TIME_MIN_MS (days_from_civil(0, 1, 1) * MS_PER_DAY)
#define TIME_MAX_MS (days_from_civil(9999, 12, 31) * MS_PER_DAY + MS_PER_DAY - 1)

int pp_time_in_range(int64_t ms)
{
    return ms >= TIME_MIN_MS && ms <= TIME_MAX_MS;
}

pipes_proto_status pipes_proto_time_parse(const char *s, size_t len, int64_t *out_ms)
{
    /* YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z */
    if (s == NULL || out_ms == NULL || len < 20)
        return PIPES_PROTO_ERR_BAD_TIME;
    if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
        s[16] != ':')
        return PIPES_PROTO_ERR_BAD_TIME;
    long year = num(s, 4), mon = num(s + 5, 2), day = num(s + 8, 2);
    long hour = num(s + 11, 2), min = num(s + 14, 2), sec = num(s + 17, 2);
    if (year < 0 || mon < 1 || mon > 12 || day < 1 || hour < 0 || hour > 23 || min < 0 ||
        min > 59 || sec < 0 || sec > 59)
        return PIPES_PROTO_ERR_BAD_TIME;
    if ((unsigned long)day > days_in_month(year, (unsigned)mon))
        return PIPES_PROTO_ERR_BAD_TIME;
    size_t i = 19;
    long ms = 0;
    if (s[i] == '.') {
        size_t digits = 0;
        i++;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (digits < 3)
                ms = ms * 10 + (s[i] - '0');
            digits++;
            i++;
        }
        if (digits == 0 || digits > 9)
            return PIPES_PROTO_ERR_BAD_TIME;
        for (size_t k = digits; k < 3; k++)
            ms *= 10; /* ".5" is 500 ms */
    }
    if (i + 1 != len || (s[i] != 'Z' && s[i] != 'z'))
        return PIPES_PROTO_ERR_BAD_TIME;
    int64_t days = days_from_civil(year, (unsigned)mon, (unsigned)day);
    *out_ms = days * MS_PER_DAY + ((int64_t)hour * 3600 + min * 60 + sec) * 1000 + ms;
    return PIPES_PROTO_OK;
}

static void put2(char *out, unsigned v)
{
    out[0] = (char)('0' + v / 10);
    out[1] = (char)('0' + v % 10);
}

size_t pipes_proto_time_format(int64_t ms, char out[PIPES_PROTO_TIME_BUFSIZE])
{
    if (out == NULL)
        return 0;
    out[0] = '\0';
    if (!pp_time_in_range(ms))
        return 0;
    /* Floor division so times before 1970 split into day + time of day. */
    int64_t days = ms / MS_PER_DAY;
    int64_t rem = ms % MS_PER_DAY;
    if (rem < 0) {
        rem += MS_PER_DAY;
        days--;
    }
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    unsigned msec = (unsigned)(rem % 1000);
    unsigned secs = (unsigned)(rem / 1000);
    put2(out, (unsigned)(y / 100));
    put2(out + 2, (unsigned)(y % 100));
    out[4] = '-';
    put2(out + 5, m);
    out[7] = '-';
    put2(out + 8, d);
    out[10] = 'T';
    put2(out + 11, secs / 3600);
    out[13] = ':';
    put2(out + 14, secs / 60 % 60);
    out[16] = ':';
    put2(out + 17, secs % 60);
    size_t n = 19;
    if (msec != 0) {
        out[n++] = '.';
        out[n++] = (char)('0' + msec / 100);
        out[n++] = (char)('0' + msec / 10 % 10);
        out[n++] = (char)('0' + msec % 10);
    }
    out[n++] = 'Z';
    out[n] = '\0';
    return n;
}

int64_t pipes_proto_time_from_filetime(uint64_t filetime)
{
    /* 11644473600 s lie between 1601-01-01 and 1970-01-01. */
    return (int64_t)(filetime / 10000u) - 11644473600000LL;
}
