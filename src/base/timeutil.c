/* timeutil: clocks and formatting (see timeutil.h). */
#include "base/timeutil.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static _Atomic int64_t fake_now = 0;

uint64_t time_mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int64_t time_now(void) {
    int64_t f = atomic_load(&fake_now);
    return f ? f : (int64_t)time(NULL);
}

void time_set_fake(int64_t t) {
    atomic_store(&fake_now, t);
}

char *time_iso(char *buf, size_t n, int64_t t) {
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

char *time_iso_now_ms(char *buf, size_t n) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char base[32];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, n, "%s.%03ldZ", base, ts.tv_nsec / 1000000L);
    return buf;
}

int time_parse_iso(const char *s, int64_t *out) {
    int y, mo, d, h, mi, se;
    char sep, z = 0;
    if (!s || sscanf(s, "%4d-%2d-%2d%c%2d:%2d:%2d%c", &y, &mo, &d, &sep, &h, &mi, &se, &z) < 7)
        return -1;
    if ((sep != 'T' && sep != ' ') || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
        se > 60 || y < 1970 || y > 9999)
        return -1;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    *out = (int64_t)timegm(&tm);
    return 0;
}

char *time_http_date(char *buf, size_t n, int64_t t) {
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, n, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}
