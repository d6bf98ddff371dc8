/* workcal/clock.c: office hours and instants — deadlines, hour clocks, and the
 * working time between two instants.
 *
 * Local time is Asia/Shanghai as fixed UTC+8 (no DST since 1991), so a local
 * date is floor((t + 8 h) / 1 day) and no libc time-zone state is touched:
 * everything here is pure arithmetic and safe from any thread. Instants before
 * WORKCAL_YEAR_MIN or after WORKCAL_YEAR_MAX are refused or clamped, as each
 * function says, which also bounds every loop below. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "workcal/internal.h"

#define DAY_SECONDS 86400

/* ---- office hours ---- */

static int check_schedule(const workcal_schedule *s, err *e) {
    if (s->nsessions < 1 || s->nsessions > WORKCAL_MAX_SESSIONS)
        return err_invalid(e, "schedule", "办公时段须为 1–%d 段", WORKCAL_MAX_SESSIONS);
    int prev = 0;
    for (int i = 0; i < s->nsessions; i++) {
        int open = s->sessions[i].open, close = s->sessions[i].close;
        if (open < prev || open >= close || close > 24 * 60)
            return err_invalid(e, "schedule", "办公时段须在一天之内、按时间先后且互不重叠");
        prev = close;
    }
    if (s->half_day_end <= s->sessions[0].open ||
        s->half_day_end > s->sessions[s->nsessions - 1].close)
        return err_invalid(e, "schedule", "半日截止时间须在办公时间之内");
    return 0;
}

int workcal_set_schedule(workcal *cal, const workcal_schedule *s, err *e) {
    if (check_schedule(s, e) != 0) return -1;
    workcal_schedule copy = *s;
    int64_t secs = 0;
    for (int i = 0; i < copy.nsessions; i++)
        secs += (int64_t)(copy.sessions[i].close - copy.sessions[i].open) * 60;
    cal->schedule = copy;
    cal->day_seconds = secs;
    return 0;
}

workcal_schedule workcal_get_schedule(const workcal *cal) {
    return cal->schedule;
}

int64_t workcal_day_seconds(const workcal *cal) {
    return cal->day_seconds;
}

/* "HH:MM" at s (exactly five characters) → minutes, or -1. 24:00 is allowed. */
static int parse_hhmm(const char *s) {
    for (int i = 0; i < 5; i++)
        if (i == 2 ? s[i] != ':' : (s[i] < '0' || s[i] > '9')) return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && m != 0)) return -1;
    return h * 60 + m;
}

int workcal_schedule_parse(const char *spec, workcal_schedule *out, err *e) {
    static const char *const usage = "办公时段格式为 HH:MM-HH:MM[,HH:MM-HH:MM…][;half=HH:MM]";
    workcal_schedule s = {0};
    s.half_day_end = -1;
    const char *p = spec ? spec : "";
    for (;;) {
        if (s.nsessions == WORKCAL_MAX_SESSIONS)
            return err_invalid(e, "schedule", "办公时段须为 1–%d 段", WORKCAL_MAX_SESSIONS);
        if (strlen(p) < 11 || p[5] != '-') return err_invalid(e, "schedule", "%s", usage);
        int open = parse_hhmm(p), close = parse_hhmm(p + 6);
        if (open < 0 || close < 0) return err_invalid(e, "schedule", "%s", usage);
        s.sessions[s.nsessions].open = open;
        s.sessions[s.nsessions].close = close;
        s.nsessions++;
        p += 11;
        if (*p != ',') break;
        p++;
    }
    if (strncmp(p, ";half=", 6) == 0 && strlen(p) == 11) {
        s.half_day_end = parse_hhmm(p + 6);
        if (s.half_day_end < 0) return err_invalid(e, "schedule", "%s", usage);
        p += 11;
    }
    if (*p) return err_invalid(e, "schedule", "%s", usage);
    if (s.half_day_end < 0)
        s.half_day_end =
            s.nsessions > 1 ? s.sessions[0].close : (s.sessions[0].open + s.sessions[0].close) / 2;
    if (check_schedule(&s, e) != 0) return -1;
    *out = s;
    return 0;
}

/* ---- local time ---- */

static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t local_day(int64_t t) {
    if (t > INT64_MAX - WORKCAL_UTC_OFFSET) t = INT64_MAX - WORKCAL_UTC_OFFSET; /* no overflow */
    return floor_div(t + WORKCAL_UTC_OFFSET, DAY_SECONDS);
}

static int64_t day_start(int64_t day) {
    return day * DAY_SECONDS - WORKCAL_UTC_OFFSET;
}

static int64_t first_instant(void) {
    return day_start(workcal_first_day());
}

static int64_t end_instant(void) { /* exclusive */
    return day_start(workcal_last_day() + 1);
}

static int64_t clamp(int64_t t) {
    if (t < first_instant()) return first_instant();
    if (t > end_instant()) return end_instant();
    return t;
}

workcal_date workcal_local_date(int64_t t) {
    return workcal_day_date(local_day(clamp(t)));
}

int64_t workcal_local_instant(workcal_date d, int minutes) {
    return day_start(workcal_day_number(d.year, d.month, d.day)) + (int64_t)minutes * 60;
}

int workcal_local_parse(const char *s, int64_t *utc) {
    if (!s) return -1;
    size_t n = strlen(s);
    if ((n != 16 && n != 19) || (s[10] != ' ' && s[10] != 'T')) return -1;
    char date[11];
    memcpy(date, s, 10);
    date[10] = '\0';
    workcal_date d;
    if (workcal_date_parse(date, &d) != 0) return -1;
    int minutes = parse_hhmm(s + 11), sec = 0;
    if (minutes < 0 || minutes >= 24 * 60) return -1;
    if (n == 19) {
        if (s[16] != ':' || s[17] < '0' || s[17] > '5' || s[18] < '0' || s[18] > '9') return -1;
        sec = (s[17] - '0') * 10 + (s[18] - '0');
    }
    *utc = workcal_local_instant(d, minutes) + sec;
    return 0;
}

char *workcal_local_format(int64_t t, char *buf, size_t n) {
    t = clamp(t);
    int64_t day = local_day(t), s = t + WORKCAL_UTC_OFFSET - day * DAY_SECONDS;
    workcal_date d = workcal_day_date(day);
    if (s % 60)
        snprintf(buf, n, "%04d-%02d-%02d %02d:%02d:%02d", d.year, d.month, d.day, (int)(s / 3600),
                 (int)(s / 60 % 60), (int)(s % 60));
    else
        snprintf(buf, n, "%04d-%02d-%02d %02d:%02d", d.year, d.month, d.day, (int)(s / 3600),
                 (int)(s / 60 % 60));
    return buf;
}

/* ---- working time ---- */

/* Working seconds of a working day between seconds-of-day a and b (a <= b). */
static int64_t day_work(const workcal *cal, int64_t a, int64_t b) {
    int64_t total = 0;
    for (int i = 0; i < cal->schedule.nsessions; i++) {
        int64_t open = cal->schedule.sessions[i].open * 60,
                close = cal->schedule.sessions[i].close * 60;
        int64_t from = a > open ? a : open, to = b < close ? b : close;
        if (to > from) total += to - from;
    }
    return total;
}

int workcal_in_hours(const workcal *cal, int64_t t) {
    if (t < first_instant() || t >= end_instant()) return 0;
    int64_t day = local_day(t), s = t - day_start(day);
    if (!workcal_day_works(cal, day)) return 0;
    for (int i = 0; i < cal->schedule.nsessions; i++)
        if (s >= cal->schedule.sessions[i].open * 60 && s < cal->schedule.sessions[i].close * 60)
            return 1;
    return 0;
}

int64_t workcal_clock_start(const workcal *cal, int64_t t) {
    if (t < first_instant()) t = first_instant();
    if (t >= end_instant()) return WORKCAL_NEVER;
    if (workcal_in_hours(cal, t)) return t;
    int64_t day = local_day(t), s = t - day_start(day), last = workcal_last_day();
    if (workcal_day_works(cal, day))
        for (int i = 0; i < cal->schedule.nsessions; i++)
            if (cal->schedule.sessions[i].open * 60 > s)
                return day_start(day) + cal->schedule.sessions[i].open * 60;
    do
        day++;
    while (day <= last && !workcal_day_works(cal, day));
    if (day > last) return WORKCAL_NEVER;
    return day_start(day) + cal->schedule.sessions[0].open * 60;
}

int workcal_ends_at(const workcal *cal, double days) {
    if (days != floor(days)) return cal->schedule.half_day_end;
    return cal->schedule.sessions[cal->schedule.nsessions - 1].close;
}

int workcal_deadline(const workcal *cal, int64_t received, double days, int64_t *due, err *e) {
    if (!(days >= 0 && days <= WORKCAL_MAX_DAYS) || days * 2 != floor(days * 2))
        return err_invalid(e, "days", "工作日数须为 0–%d，以 0.5 为单位", WORKCAL_MAX_DAYS);
    if (received < first_instant() || received >= end_instant())
        return err_invalid(e, "received", "受理时间须在 %d–%d 年之间", WORKCAL_YEAR_MIN,
                           WORKCAL_YEAR_MAX);
    int64_t start = workcal_clock_start(cal, received);
    if (start == WORKCAL_NEVER)
        return err_invalid(e, "received", "受理时间超出 %d 年", WORKCAL_YEAR_MAX);
    /* The deemed receipt date is not counted; day 1 is the working day after it. */
    workcal_date deemed = workcal_local_date(start), last;
    if (workcal_add_days(cal, deemed, ceil(days), &last, e) != 0) return -1;
    *due = workcal_local_instant(last, workcal_ends_at(cal, days));
    return 0;
}

int workcal_add_hours(const workcal *cal, int64_t start, double hours, int64_t *end, err *e) {
    if (!(hours >= 0 && hours <= WORKCAL_MAX_HOURS))
        return err_invalid(e, "hours", "工作小时数须为 0–%d", WORKCAL_MAX_HOURS);
    int64_t need = llround(hours * 3600), t = workcal_clock_start(cal, start);
    if (t == WORKCAL_NEVER) return err_invalid(e, "hours", "结果超出 %d 年", WORKCAL_YEAR_MAX);
    int64_t day = local_day(t), s = t - day_start(day), last = workcal_last_day();
    for (;;) {
        if (workcal_day_works(cal, day)) {
            if (s == 0 && need > cal->day_seconds) {
                need -= cal->day_seconds; /* a whole day */
            } else {
                for (int i = 0; i < cal->schedule.nsessions; i++) {
                    int64_t open = cal->schedule.sessions[i].open * 60;
                    int64_t close = cal->schedule.sessions[i].close * 60;
                    if (close <= s) continue;
                    int64_t from = s > open ? s : open;
                    if (need <= close - from) {
                        *end = day_start(day) + from + need;
                        return 0;
                    }
                    need -= close - from;
                }
            }
        }
        if (++day > last) return err_invalid(e, "hours", "结果超出 %d 年", WORKCAL_YEAR_MAX);
        s = 0;
    }
}

int64_t workcal_working_seconds_between(const workcal *cal, int64_t t0, int64_t t1) {
    if (t1 < t0) return -workcal_working_seconds_between(cal, t1, t0);
    t0 = clamp(t0);
    t1 = clamp(t1);
    int64_t d0 = local_day(t0), d1 = local_day(t1);
    int64_t s0 = t0 - day_start(d0), s1 = t1 - day_start(d1);
    if (d0 == d1) return workcal_day_works(cal, d0) ? day_work(cal, s0, s1) : 0;
    int64_t total = workcal_count_workdays(cal, d0 + 1, d1 - 1) * cal->day_seconds;
    if (workcal_day_works(cal, d0)) total += day_work(cal, s0, DAY_SECONDS);
    if (d1 <= workcal_last_day() && workcal_day_works(cal, d1)) total += day_work(cal, 0, s1);
    return total;
}

double workcal_days_between_instants(const workcal *cal, int64_t t0, int64_t t1) {
    return (double)workcal_working_seconds_between(cal, t0, t1) / (double)cal->day_seconds;
}

double workcal_remaining_days(const workcal *cal, int64_t now, int64_t due) {
    return workcal_days_between_instants(cal, now, due);
}

workcal_due workcal_due_state(const workcal *cal, int64_t now, int64_t due) {
    if (now > due) return WORKCAL_OVERDUE;
    int64_t left = workcal_working_seconds_between(cal, now, due);
    if ((double)left <= WORKCAL_DUE_SOON_DAYS * (double)cal->day_seconds) return WORKCAL_DUE_SOON;
    return WORKCAL_ON_TIME;
}
