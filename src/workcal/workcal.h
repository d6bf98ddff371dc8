/* workcal: the working-day calendar (工作日历) — official 放假 days, 调休
 * make-up working days and office hours, for statutory and promised deadlines.
 *
 * Source of truth: the holiday files in data/holidays/ (holiday-cn format, one
 * YYYY.json per year, read at run time, so a new year's file needs no rebuild).
 * A day listed there with "isOffDay": true is off, with false is worked (调休),
 * even on a Saturday or Sunday; every other day is worked Monday to Friday.
 *
 * Years without a file: the same weekend rule, nothing else. Results that
 * looked at such a day are still computed, but they are *estimated* — callers
 * check workcal_covers() and show the deadline as provisional (the CLI warns on
 * stderr, the API answers "estimated": true). Dates are limited to the years
 * WORKCAL_YEAR_MIN..WORKCAL_YEAR_MAX.
 *
 * Time zone: Asia/Shanghai as a fixed UTC+8 offset. China has kept no daylight
 * saving time since 1991, so the offset is exact for every date that matters
 * here, and no tz database is needed. Instants are unix seconds (int64_t, like
 * time_now() and time_parse_iso()).
 *
 * Counting rules (the applications module relies on them):
 *   - Days are counted from the day after the start (民法典 art. 201: 开始的当日
 *     不计入): day 1 is the first working day strictly after the start date.
 *   - A deadline of N working days ends when day N's office hours end (17:30 by
 *     default). Half days are allowed (0.5, 1.5 …): N = k + 0.5 ends at noon —
 *     the schedule's half_day_end, 12:00 by default — of working day k + 1.
 *     N = 0 (即办) ends when the (deemed) receipt day's office hours end.
 *   - An application received outside office hours (a non-working day, before
 *     opening, the lunch break, after closing) is deemed received when office
 *     hours next begin: "the clock starts on the next working day". So an
 *     application received at 19:00 on Wednesday is deemed received on Thursday,
 *     and its day 1 is Friday; one received on Saturday is deemed received on
 *     Monday, day 1 is Tuesday. (Date arithmetic — workcal_add_days — knows
 *     no hours and takes the date as given.)
 *   - Hour clocks (企业开办 within 4 working hours) count working seconds only,
 *     from the deemed receipt instant.
 *
 * A workcal is immutable once loaded; any number of threads may read it. */
#ifndef ISLE_WORKCAL_H
#define ISLE_WORKCAL_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "cli.h"

#define WORKCAL_YEAR_MIN      1900
#define WORKCAL_YEAR_MAX      2999
#define WORKCAL_MAX_DAYS      3650   /* largest N of working days accepted */
#define WORKCAL_MAX_HOURS     100000 /* largest N of working hours accepted */
#define WORKCAL_MAX_SESSIONS  4      /* office-hour sessions per day */
#define WORKCAL_UTC_OFFSET    (8 * 3600)
#define WORKCAL_DUE_SOON_DAYS 1.0 /* workcal_due_state(): "due soon" at ≤ 1 working day left */
#define WORKCAL_FILE_MAX      (1u << 20) /* bytes of one holiday file */
#define WORKCAL_MAX_FILES     200
#define WORKCAL_NAME_MAX      64        /* bytes of a holiday's name */
#define WORKCAL_NEVER         INT64_MAX /* workcal_clock_start(): no office hours left */

/** The default office hours, in the format of workcal_schedule_parse(). */
#define WORKCAL_DEFAULT_SCHEDULE "08:30-12:00,13:30-17:30"

typedef struct workcal workcal;

/** A calendar date (proleptic Gregorian): year, month 1–12, day 1–31. */
typedef struct workcal_date {
    int year, month, day;
} workcal_date;

/** Office hours of a working day, in minutes after local midnight. Sessions are
 *  ascending and do not overlap; the day's hours end at the last session's close.
 *  A half-day deadline ends at half_day_end, which lies within the hours. */
typedef struct workcal_schedule {
    int nsessions; /* 1..WORKCAL_MAX_SESSIONS */
    struct {
        int open, close; /* minutes, 0 <= open < close <= 1440 */
    } sessions[WORKCAL_MAX_SESSIONS];
    int half_day_end; /* minutes */
} workcal_schedule;

/** What a date is, from workcal_day_info(). */
typedef enum workcal_day_kind {
    WORKCAL_WORKDAY = 0, /* Monday–Friday, nothing declared */
    WORKCAL_WEEKEND,     /* Saturday or Sunday, nothing declared */
    WORKCAL_HOLIDAY,     /* declared off (放假), whatever the weekday */
    WORKCAL_MAKEUP,      /* declared worked (调休上班), usually a Saturday or Sunday */
} workcal_day_kind;

typedef struct workcal_day {
    workcal_day_kind kind;
    int workday;      /* 1 for WORKCAL_WORKDAY and WORKCAL_MAKEUP */
    int estimated;    /* 1 when the year has no holiday file (weekend rule only) */
    const char *name; /* the holiday's name ("春节") or NULL; owned by the calendar */
} workcal_day;

/** Due state of an open case, from workcal_due_state(). */
typedef enum workcal_due {
    WORKCAL_ON_TIME = 0, /* more than WORKCAL_DUE_SOON_DAYS working days left */
    WORKCAL_DUE_SOON,    /* at most WORKCAL_DUE_SOON_DAYS working days left, not yet due */
    WORKCAL_OVERDUE,     /* the deadline instant has passed */
} workcal_due;

/* ---- loading ---- */

/** Read every *.json file of dir (names starting with '.' are skipped). Each must be
 *  named YEAR.json and hold {"year": YEAR, "days": [{"name", "date", "isOffDay"}]}
 *  with dates in YEAR-1..YEAR+1 (a 元旦 holiday may begin in December); unknown keys
 *  are ignored. Two files that disagree about a date, a second file for a year, an
 *  unreadable, oversized or malformed file, or a dir with no holiday file at all is
 *  an error naming the file and the field ("2026.json: days[3].date: …", field
 *  "days[3].date"). The calendar gets the default schedule. Returns a new calendar
 *  the caller frees with workcal_free(), or NULL with e. */
workcal *workcal_load(const char *dir, err *e);
/** Free a calendar from workcal_load(); NULL is fine. Never free workcal_default()'s. */
void workcal_free(workcal *cal);
/** Set cal's office hours (validated as in workcal_schedule_parse). 0, or -1 with e
 *  (cal unchanged). Not thread-safe: do it before sharing cal. */
int workcal_set_schedule(workcal *cal, const workcal_schedule *s, err *e);
/** cal's office hours. */
workcal_schedule workcal_get_schedule(const workcal *cal);
/** Parse office hours "HH:MM-HH:MM[,HH:MM-HH:MM…][;half=HH:MM]". Without half=, a
 *  half day ends at the first session's close when there are several sessions, else
 *  at the middle of the only one. 0, or -1 with e (field "schedule"). */
int workcal_schedule_parse(const char *spec, workcal_schedule *out, err *e);
/** Working seconds in one full working day (27,000 = 7.5 h by default). */
int64_t workcal_day_seconds(const workcal *cal);

/** Loaded years: *first and *last (0 and 0 when none), and the count of years with a
 *  file (they need not be contiguous). Either pointer may be NULL. */
int workcal_years(const workcal *cal, int *first, int *last);
/** 1 if year has a holiday file in cal, else 0. */
int workcal_has_year(const workcal *cal, int year);
/** 1 if every year from from.year to to.year (either order) has a holiday file, i.e.
 *  results over that span are exact; 0 when some day used the weekend-only rule. */
int workcal_covers(const workcal *cal, workcal_date from, workcal_date to);
/** The holiday directory cal was loaded from. Owned by cal. */
const char *workcal_dir(const workcal *cal);

/* ---- the process-wide calendar (server, applications module) ---- */

/** Where workcal_default() looks: DATA_DIR/holidays. main.c calls this with the
 *  resolved --data-dir before any thread starts; without it the default is
 *  $ISLE_DATA_DIR/holidays, else ./data/holidays, else data/holidays next to the
 *  binary. The string is copied. Forces a reload at the next workcal_default(). */
void workcal_default_set_data_dir(const char *data_dir);
/** The shared calendar, loaded at first use with the office hours of
 *  $ISLE_WORKCAL_HOURS (else the default). Thread-safe. At most once a minute a call
 *  re-lists the directory; when a holiday file was added, changed or removed it
 *  reloads, so a running server picks up next year's file. A reload that fails is
 *  logged and the previous calendar kept. Returns NULL with e only when no calendar
 *  could ever be loaded. The result stays valid until workcal_default_reset(). */
const workcal *workcal_default(err *e);
/** Free every calendar workcal_default() handed out and forget the data dir. Tests
 *  and exit only: no other thread may be using one. */
void workcal_default_reset(void);

/* ---- dates ---- */

/** 1 if d is a real date within WORKCAL_YEAR_MIN..WORKCAL_YEAR_MAX, else 0. */
int workcal_date_valid(workcal_date d);
/** Parse exactly "YYYY-MM-DD" (a valid date in range). 0, or -1. */
int workcal_date_parse(const char *s, workcal_date *out);
/** Format d as "YYYY-MM-DD" into buf (at least 11 bytes). Returns buf. */
char *workcal_date_format(workcal_date d, char *buf, size_t n);
/** Day of the week, 0 = Sunday … 6 = Saturday. d must be valid. */
int workcal_weekday(workcal_date d);
/** Parse a count of working days: digits with an optional fraction, a multiple of 0.5,
 *  0..WORKCAL_MAX_DAYS ("5", "0.5", "2.50"). 0, or -1. */
int workcal_days_parse(const char *s, double *out);

/* ---- days ---- */

/** 1 if y-m-d is a working day, 0 if not, -1 if it is not a valid date in range. */
int workcal_is_workday(const workcal *cal, int y, int m, int d);
/** What d is (kind, holiday name, whether estimated). 0, or -1 with e for an invalid
 *  date (field "date"). */
int workcal_day_info(const workcal *cal, workcal_date d, workcal_day *out, err *e);
/** The date of the Nth working day after from (from itself not counted); for a half
 *  (N = k + 0.5) the date of day k + 1, whose noon ends it. N = 0: from if it is a
 *  working day, else the next working day. 0, or -1 with e (field "date" or "days")
 *  for an invalid date, an N that workcal_days_parse would refuse, or a result past
 *  WORKCAL_YEAR_MAX. */
int workcal_add_days(const workcal *cal, workcal_date from, double days, workcal_date *out, err *e);
/** Minutes after local midnight at which a deadline of `days` working days ends on its
 *  last day: half_day_end for a half (k + 0.5), else the close of office hours. */
int workcal_ends_at(const workcal *cal, double days);
/** Working days after from up to and including to; negative (minus the working days
 *  after to up to and including from) when to is before from. So for a working day
 *  x after from, workcal_add_days(from, workcal_between(from, x)) == x. 0 when either
 *  date is invalid. */
long workcal_between(const workcal *cal, workcal_date from, workcal_date to);

/* ---- instants (unix seconds; local time is Asia/Shanghai, UTC+8) ---- */

/** The Shanghai calendar date of instant t (clamped to the supported years). */
workcal_date workcal_local_date(int64_t t);
/** The instant of d (a valid date) at minutes after Shanghai midnight. */
int64_t workcal_local_instant(workcal_date d, int minutes);
/** Parse Shanghai local time "YYYY-MM-DD HH:MM[:SS]" (or with 'T') into *utc. 0, or -1. */
int workcal_local_parse(const char *s, int64_t *utc);
/** Format t as Shanghai local "YYYY-MM-DD HH:MM", with ":SS" when the seconds are not
 *  zero, into buf (at least 20 bytes). t is clamped to the supported years. Returns buf. */
char *workcal_local_format(int64_t t, char *buf, size_t n);
/** 1 if t falls within office hours of a working day. */
int workcal_in_hours(const workcal *cal, int64_t t);
/** When the clock starts for something received at t: t itself within office hours,
 *  else the next opening. WORKCAL_NEVER when no office hours remain before the end of
 *  WORKCAL_YEAR_MAX. (Instants before 1970 are negative, so -1 is no sentinel.) */
int64_t workcal_clock_start(const workcal *cal, int64_t t);
/** The deadline of `days` working days (0, 0.5 … WORKCAL_MAX_DAYS) for an application
 *  received at `received`, by the counting rules above: the end of office hours (or
 *  half_day_end for a half) of working day ceil(days) after the deemed receipt date.
 *  0 with *due, or -1 with e (field "days", or "received" out of range). */
int workcal_deadline(const workcal *cal, int64_t received, double days, int64_t *due, err *e);
/** The instant `hours` working hours (0 … WORKCAL_MAX_HOURS, to the second) after
 *  start, counting office hours only from workcal_clock_start(start). A clock that
 *  runs out exactly at a session's close ends there (12:00, not 13:30). 0 with *end,
 *  or -1 with e (field "hours"). */
int workcal_add_hours(const workcal *cal, int64_t start, double hours, int64_t *end, err *e);
/** Working seconds between t0 and t1 (negative when t1 < t0). Instants outside the
 *  supported years are clamped to them. */
int64_t workcal_working_seconds_between(const workcal *cal, int64_t t0, int64_t t1);
/** Working days elapsed from t0 to t1: working seconds / workcal_day_seconds(), so
 *  received Wednesday 10:00 and decided Thursday 10:00 is 1.0. For KPIs such as the
 *  average working days from acceptance to decision. */
double workcal_days_between_instants(const workcal *cal, int64_t t0, int64_t t1);
/** Working days left from now until due (fractional, working time only); negative —
 *  the working days overdue — once due has passed. After hours on the due day itself it
 *  is 0 although the case is late: use workcal_due_state() for the overdue flag. */
double workcal_remaining_days(const workcal *cal, int64_t now, int64_t due);
/** The due flag of an open case: OVERDUE once now > due, DUE_SOON while at most
 *  WORKCAL_DUE_SOON_DAYS working days remain, else ON_TIME. */
workcal_due workcal_due_state(const workcal *cal, int64_t now, int64_t due);

/* ---- command line ---- */

/** `isle workcal …` (argv[0] = "workcal"): add, between, is-workday, deadline, years.
 *  Returns the exit status (0 ok, 1 holiday files unusable, 2 bad input). */
int workcal_cli(const cli_env *env, int argc, char **argv);

#endif
