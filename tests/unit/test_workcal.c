/* Unit tests for src/workcal/: the working-day calendar against the official
 * 2025 and 2026 holiday notices (国办发明电〔2024〕12号 and 〔2025〕7号), typed in
 * here independently of data/holidays/ — every day of both years, every 调休
 * Saturday and Sunday, 春节, 劳动节, 国庆/中秋 — plus date arithmetic, half
 * days, the receipt rule (after hours, lunch break, non-working days), hour
 * clocks, working time between instants, due flags, office-hour parsing, the
 * weekend-only fallback for years without a file, holiday-file validation (file
 * and field named), and the process-wide calendar picking up a new file.
 *
 * Run from the repository root (the shipped files are read from data/holidays). */
#include "test.h"

#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/timeutil.h"
#include "workcal/internal.h"

#define HOLIDAYS "data/holidays"

/* ---- the official calendars, typed in from the notices ---- */

typedef struct range {
    const char *from, *to, *name;
} range;

static const range off_days[] = {
    /* 2025 */
    {"2025-01-01", "2025-01-01", "元旦"},
    {"2025-01-28", "2025-02-04", "春节"},
    {"2025-04-04", "2025-04-06", "清明节"},
    {"2025-05-01", "2025-05-05", "劳动节"},
    {"2025-05-31", "2025-06-02", "端午节"},
    {"2025-10-01", "2025-10-08", "国庆节、中秋节"},
    /* 2026 */
    {"2026-01-01", "2026-01-03", "元旦"},
    {"2026-02-15", "2026-02-23", "春节"},
    {"2026-04-04", "2026-04-06", "清明节"},
    {"2026-05-01", "2026-05-05", "劳动节"},
    {"2026-06-19", "2026-06-21", "端午节"},
    {"2026-09-25", "2026-09-27", "中秋节"},
    {"2026-10-01", "2026-10-07", "国庆节"},
};

/* Every 调休 working day of 2025 and 2026 (all of them a Saturday or a Sunday). */
static const range makeup_days[] = {
    {"2025-01-26", NULL, "春节"},           {"2025-02-08", NULL, "春节"},
    {"2025-04-27", NULL, "劳动节"},         {"2025-09-28", NULL, "国庆节、中秋节"},
    {"2025-10-11", NULL, "国庆节、中秋节"}, {"2026-01-04", NULL, "元旦"},
    {"2026-02-14", NULL, "春节"},           {"2026-02-28", NULL, "春节"},
    {"2026-05-09", NULL, "劳动节"},         {"2026-09-20", NULL, "国庆节"},
    {"2026-10-10", NULL, "国庆节"},
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ---- */

static workcal *shipped(void) {
    err e = {0};
    workcal *cal = workcal_load(HOLIDAYS, &e);
    if (!cal) fprintf(stderr, "    workcal_load(%s): %s\n", HOLIDAYS, e.message);
    return cal;
}

static workcal_date D(const char *s) {
    workcal_date d = {0, 0, 0};
    if (workcal_date_parse(s, &d) != 0) fprintf(stderr, "    bad test date %s\n", s);
    return d;
}

static int64_t day_of(const char *s) {
    workcal_date d = D(s);
    return workcal_day_number(d.year, d.month, d.day);
}

/* Rotating result buffers so that several results fit in one CHECK. */
static char *slot(void) {
    static char bufs[8][64];
    static int next;
    return bufs[next++ % 8];
}

static const char *add(const workcal *cal, const char *from, double n) {
    workcal_date out;
    err e = {0};
    if (workcal_add_days(cal, D(from), n, &out, &e) != 0) return "error";
    return workcal_date_format(out, slot(), 64);
}

static int64_t at(const char *local) {
    int64_t t = 0;
    if (workcal_local_parse(local, &t) != 0) fprintf(stderr, "    bad test time %s\n", local);
    return t;
}

static const char *local(int64_t t) {
    return workcal_local_format(t, slot(), 64);
}

static const char *deadline(const workcal *cal, const char *received, double days) {
    int64_t due;
    err e = {0};
    if (workcal_deadline(cal, at(received), days, &due, &e) != 0) return "error";
    return local(due);
}

static const char *hours_end(const workcal *cal, const char *start, double hours) {
    int64_t end;
    err e = {0};
    if (workcal_add_hours(cal, at(start), hours, &end, &e) != 0) return "error";
    return local(end);
}

static int expected_workday(int64_t day) {
    for (size_t i = 0; i < N_OF(off_days); i++)
        if (day >= day_of(off_days[i].from) && day <= day_of(off_days[i].to)) return 0;
    for (size_t i = 0; i < N_OF(makeup_days); i++)
        if (day == day_of(makeup_days[i].from)) return 1;
    workcal_date d = workcal_day_date(day);
    int w = workcal_weekday(d);
    return w >= 1 && w <= 5;
}

static char *temp_dir(void) {
    char *dir = malloc(64);
    snprintf(dir, 64, "/tmp/isle-workcal-XXXXXX");
    if (!mkdtemp(dir)) {
        free(dir);
        return NULL;
    }
    return dir;
}

static void put_file(const char *dir, const char *name, const char *text) {
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static void copy_shipped(const char *dir, const char *name) {
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", HOLIDAYS, name);
    FILE *f = fopen(path, "rb");
    if (!f) return;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    put_file(dir, name, buf);
}

static void remove_dir(char *dir) {
    static const char *const names[] = {"2022.json", "2023.json",     "2025.json", "2026.json",
                                        "2027.json", "holidays.json", "README.md"};
    char path[256];
    for (size_t i = 0; i < N_OF(names); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    free(dir);
}

/* Load a directory holding just one file with this text; the error in *e. */
static workcal *load_one(const char *name, const char *text, err *e) {
    char *dir = temp_dir();
    if (!dir) return NULL;
    put_file(dir, name, text);
    workcal *cal = workcal_load(dir, e);
    remove_dir(dir);
    return cal;
}

/* ---- the official calendars ---- */

TEST(workcal_every_day_of_2025_and_2026_matches_the_notices) {
    workcal *cal = shipped();
    if (!cal) {
        CHECK(0);
        return;
    }
    int mismatches = 0;
    for (int64_t day = day_of("2025-01-01"); day <= day_of("2026-12-31"); day++) {
        if (workcal_day_works(cal, day) != expected_workday(day)) {
            char buf[16];
            fprintf(stderr, "    %s: workcal says %d\n",
                    workcal_date_format(workcal_day_date(day), buf, sizeof(buf)),
                    workcal_day_works(cal, day));
            mismatches++;
        }
    }
    CHECK_INT(mismatches, 0);
    /* 2025 and 2026 both have 248 working days. */
    CHECK_INT(workcal_between(cal, D("2024-12-31"), D("2025-12-31")), 248);
    CHECK_INT(workcal_between(cal, D("2025-12-31"), D("2026-12-31")), 248);
    CHECK(workcal_covers(cal, D("2025-01-01"), D("2026-12-31")));
    workcal_free(cal);
}

TEST(workcal_every_makeup_weekend_day_is_a_working_day) {
    workcal *cal = shipped();
    if (!cal) {
        CHECK(0);
        return;
    }
    for (size_t i = 0; i < N_OF(makeup_days); i++) {
        workcal_date d = D(makeup_days[i].from);
        int w = workcal_weekday(d);
        CHECK(w == 0 || w == 6); /* a Saturday or Sunday */
        CHECK_INT(workcal_is_workday(cal, d.year, d.month, d.day), 1);
        workcal_day info;
        err e = {0};
        CHECK_INT(workcal_day_info(cal, d, &info, &e), 0);
        CHECK_INT(info.kind, WORKCAL_MAKEUP);
        CHECK_INT(info.workday, 1);
        CHECK_INT(info.estimated, 0);
        CHECK_STR(info.name, makeup_days[i].name);
    }
    /* The Saturday/Sunday next to each one stays off. */
    CHECK_INT(workcal_is_workday(cal, 2025, 1, 25), 0);
    CHECK_INT(workcal_is_workday(cal, 2025, 2, 9), 0);
    CHECK_INT(workcal_is_workday(cal, 2026, 2, 15), 0);
    CHECK_INT(workcal_is_workday(cal, 2026, 9, 19), 0);
    CHECK_INT(workcal_is_workday(cal, 2026, 10, 11), 0);
    workcal_free(cal);
}

TEST(workcal_day_info_kinds_and_names) {
    workcal *cal = shipped();
    if (!cal) {
        CHECK(0);
        return;
    }
    for (size_t i = 0; i < N_OF(off_days); i++) {
        workcal_day info;
        err e = {0};
        CHECK_INT(workcal_day_info(cal, D(off_days[i].to), &info, &e), 0);
        CHECK_INT(info.kind, WORKCAL_HOLIDAY);
        CHECK_INT(info.workday, 0);
        CHECK_STR(info.name, off_days[i].name);
    }
    workcal_day info;
    err e = {0};
    CHECK_INT(workcal_day_info(cal, D("2026-03-04"), &info, &e), 0);
    CHECK_INT(info.kind, WORKCAL_WORKDAY);
    CHECK(info.name == NULL);
    CHECK_INT(workcal_day_info(cal, D("2026-03-07"), &info, &e), 0);
    CHECK_INT(info.kind, WORKCAL_WEEKEND);
    CHECK_INT(info.workday, 0);
    workcal_date bad = {2026, 2, 29};
    CHECK_INT(workcal_day_info(cal, bad, &info, &e), -1);
    CHECK_STR(e.field, "date");
    CHECK_INT(workcal_is_workday(cal, 2026, 2, 29), -1);
    CHECK_INT(workcal_is_workday(cal, 2026, 13, 1), -1);
    /* 2023.json declares 2022-12-31 (元旦 began on a Saturday in December). */
    CHECK_INT(workcal_day_info(cal, D("2022-12-31"), &info, &e), 0);
    CHECK_INT(info.kind, WORKCAL_HOLIDAY);
    CHECK_STR(info.name, "元旦");
    workcal_free(cal);
}

/* ---- adding working days ---- */

TEST(workcal_add_2026_09_30_5_is_2026_10_13) {
    workcal *cal = shipped();
    if (!cal) {
        CHECK(0);
        return;
    }
    /* By hand from 2026.json: 10-01..10-07 off; 10-08 Thu (1), 10-09 Fri (2),
     * 10-10 Sat 调休 (3), 10-11 Sun off, 10-12 Mon (4), 10-13 Tue (5). */
    CHECK_STR(add(cal, "2026-09-30", 5), "2026-10-13");
    CHECK_STR(add(cal, "2026-09-30", 1), "2026-10-08");
    CHECK_STR(add(cal, "2026-09-30", 3), "2026-10-10");
    CHECK_STR(add(cal, "2026-09-30", 4), "2026-10-12");
    CHECK_INT(workcal_between(cal, D("2026-09-30"), D("2026-10-13")), 5);
    workcal_free(cal);
}

TEST(workcal_add_across_national_day_and_mid_autumn) {
    workcal *cal = shipped();
    if (!cal) {
        CHECK(0);
        return;
    }
    /* 2025: 10-01..10-08 off, 09-28 Sun and 10-11 Sat worked. */
    CHECK_STR(add(cal, "2025-09-26", 1), "2025-09-28");
    CHECK_STR(add(cal, "2025-09-28", 1), "2025-09-29");
    CHECK_STR(add(cal, "2025-09-30", 1), "2025-10-09");
    CHECK_STR(add(cal, "2025-09-30", 3), "2025-10-11");
    CHECK_STR(add(cal, "2025-09-30", 4), "2025-10-13");
    CHECK_STR(add(cal, "2025-10-03", 2), "2025-10-10");
    /* 2026: 中秋 09-25..09-27, 09-20 Sun worked, 国庆 10-01..10-07. */
    CHECK_STR(add(cal, "2026-09-18", 1), "2026-09-20");
    CHECK_STR(add(cal, "2026-09-24", 1), "2026-09-28");
    CHECK_STR(add(cal, "2026-09-24", 3), "2026-09-30");
    CHECK_STR(add(cal, "2026-09-24", 4), "2026-10-08");
    CHECK_STR(add(cal, "2026-10-09", 1), "2026-10-10");
    workcal_free(cal);
}

TEST(workcal_add_across_spring_festival_labour_day_and_new_year) {
    workcal *cal = shipped();
    if (!cal) {
        CHECK(0);
        return;
    }
    /* 春节 2025: 01-28..02-04 off, 01-26 Sun and 02-08 Sat worked. */
    CHECK_STR(add(cal, "2025-01-24", 1), "2025-01-26");
    CHECK_STR(add(cal, "2025-01-24", 2), "2025-01-27");
    CHECK_STR(add(cal, "2025-01-27", 1), "2025-02-05");
    CHECK_STR(add(cal, "2025-01-27", 4), "2025-02-08");
    CHECK_STR(add(cal, "2025-01-27", 5), "2025-02-10");
    /* 春节 2026: 02-15..02-23 off, 02-14 and 02-28 Sat worked. */
    CHECK_STR(add(cal, "2026-02-13", 1), "2026-02-14");
    CHECK_STR(add(cal, "2026-02-14", 1), "2026-02-24");
    CHECK_STR(add(cal, "2026-02-24", 4), "2026-02-28");
    CHECK_STR(add(cal, "2026-02-12", 10), "2026-03-04"); /* 02-13, 02-14, 02-24..28, 03-02..04 */
    /* 劳动节 2025: 05-01..05-05 off, 04-27 Sun worked; 2026: 05-09 Sat worked. */
    CHECK_STR(add(cal, "2025-04-25", 1), "2025-04-27");
    CHECK_STR(add(cal, "2025-04-30", 1), "2025-05-06");
    CHECK_STR(add(cal, "2026-04-30", 1), "2026-05-06");
    CHECK_STR(add(cal, "2026-05-08", 1), "2026-05-09");
    CHECK_STR(add(cal, "2026-05-08", 2), "2026-05-11");
    /* 元旦 2026 (01-01..01-03 off, 01-04 Sun worked), across the year boundary. */
    CHECK_STR(add(cal, "2025-12-31", 1), "2026-01-04");
    CHECK_STR(add(cal, "2025-12-31", 2), "2026-01-05");
    /* 清明 and 端午. */
    CHECK_STR(add(cal, "2026-04-03", 1), "2026-04-07");
    CHECK_STR(add(cal, "2026-06-18", 1), "2026-06-22");
    CHECK_STR(add(cal, "2025-05-30", 1), "2025-06-03");
    workcal_free(cal);
}

TEST(workcal_add_zero_half_days_and_bad_input) {
    workcal *cal = shipped();
    if (!cal) {
        CHECK(0);
        return;
    }
    /* N = 0: the date itself when it is a working day, else the next one. */
    CHECK_STR(add(cal, "2026-09-29", 0), "2026-09-29");
    CHECK_STR(add(cal, "2026-10-01", 0), "2026-10-08");
    CHECK_STR(add(cal, "2026-10-10", 0), "2026-10-10");
    /* A half ends at noon of the next whole day: 0.5 → day 1, 1.5 → day 2. */
    CHECK_STR(add(cal, "2026-09-30", 0.5), "2026-10-08");
    CHECK_STR(add(cal, "2026-09-30", 1.5), "2026-10-09");
    CHECK_STR(add(cal, "2026-09-30", 4.5), "2026-10-13");
    CHECK_INT(workcal_ends_at(cal, 4.5), 12 * 60);
    CHECK_INT(workcal_ends_at(cal, 5), 17 * 60 + 30);
    CHECK_INT(workcal_ends_at(cal, 0), 17 * 60 + 30);
    err e = {0};
    workcal_date out;
    CHECK_INT(workcal_add_days(cal, D("2026-09-30"), 0.3, &out, &e), -1);
    CHECK_STR(e.field, "days");
    CHECK_INT(workcal_add_days(cal, D("2026-09-30"), -1, &out, &e), -1);
    CHECK_INT(workcal_add_days(cal, D("2026-09-30"), NAN, &out, &e), -1);
    CHECK_INT(workcal_add_days(cal, D("2026-09-30"), WORKCAL_MAX_DAYS + 1, &out, &e), -1);
    workcal_date bad = {2026, 9, 31};
    CHECK_INT(workcal_add_days(cal, bad, 1, &out, &e), -1);
    CHECK_STR(e.field, "date");
    /* The last supported year is a hard edge, not a crash. */
    CHECK_INT(workcal_add_days(cal, D("2999-12-30"), 5, &out, &e), -1);
    CHECK_STR(e.field, "days");
    CHECK_INT(workcal_add_days(cal, D("2026-09-30"), WORKCAL_MAX_DAYS, &out, &e), 0);
    workcal_free(cal);
}

TEST(workcal_between_is_the_inverse_of_add) {
    workcal *cal = shipped();
    if (!cal) {
        CHECK(0);
        return;
    }
    CHECK_INT(workcal_between(cal, D("2026-09-30"), D("2026-09-30")), 0);
    CHECK_INT(workcal_between(cal, D("2026-10-13"), D("2026-09-30")), -5);
    CHECK_INT(workcal_between(cal, D("2026-10-01"), D("2026-10-07")), 0);
    CHECK_INT(workcal_between(cal, D("2025-01-27"), D("2025-02-08")), 4);
    workcal_date bad = {2026, 2, 30};
    CHECK_INT(workcal_between(cal, bad, D("2026-03-01")), 0);
    /* Against a day-by-day count, and add(from, between(from, x)) == x. */
    int bad_count = 0, bad_inverse = 0;
    for (int64_t a = day_of("2024-12-20"); a <= day_of("2027-01-10"); a += 3) {
        int64_t naive = 0;
        for (int64_t b = a + 1; b <= a + 60; b++) {
            naive += workcal_day_works(cal, b);
            workcal_date da = workcal_day_date(a), db = workcal_day_date(b);
            long n = workcal_between(cal, da, db);
            if (n != naive || workcal_between(cal, db, da) != -naive) bad_count++;
            if (workcal_day_works(cal, b) && n > 0) {
                workcal_date back;
                err e = {0};
                if (workcal_add_days(cal, da, (double)n, &back, &e) != 0 ||
                    workcal_day_number(back.year, back.month, back.day) != b)
                    bad_inverse++;
            }
        }
    }
    CHECK_INT(bad_count, 0);
    CHECK_INT(bad_inverse, 0);
    /* A long span is counted without walking it (and agrees with the sum of years). */
    long sum = 0;
    for (int y = 2020; y <= 2026; y++) {
        workcal_date a = {y - 1, 12, 31}, b = {y, 12, 31};
        sum += workcal_between(cal, a, b);
    }
    CHECK_INT(workcal_between(cal, D("2019-12-31"), D("2026-12-31")), sum);
    CHECK(workcal_between(cal, D("1900-01-01"), D("2999-12-31")) > 250000);
    workcal_free(cal);
}

/* ---- instants ---- */

TEST(workcal_local_time_is_utc_plus_8) {
    int64_t t, u;
    CHECK_INT(workcal_local_parse("2026-09-30 10:00", &t), 0);
    CHECK_INT(time_parse_iso("2026-09-30T02:00:00Z", &u), 0);
    CHECK_INT(t, u);
    CHECK_INT(workcal_local_parse("2026-01-01T00:30:15", &t), 0);
    CHECK_INT(time_parse_iso("2025-12-31T16:30:15Z", &u), 0);
    CHECK_INT(t, u);
    CHECK_STR(local(u), "2026-01-01 00:30:15");
    CHECK_STR(local(at("2026-10-13 17:30")), "2026-10-13 17:30");
    workcal_date d = workcal_local_date(u);
    CHECK_INT(d.year, 2026);
    CHECK_INT(d.day, 1);
    CHECK_INT(workcal_local_date(u - 16 * 3600).day, 31); /* 08:30 UTC on Dec 31 */
    CHECK_INT(workcal_local_date(-1).day, 1);             /* 1970-01-01 07:59:59 local */
    CHECK_INT(workcal_local_parse("2026-09-30 24:00", &t), -1);
    CHECK_INT(workcal_local_parse("2026-09-30 10:60", &t), -1);
    CHECK_INT(workcal_local_parse("2026-09-30 10:00:60", &t), -1);
    CHECK_INT(workcal_local_parse("2026-09-30", &t), -1);
    CHECK_INT(workcal_local_parse("2026-09-30 9:00", &t), -1);
    CHECK_INT(workcal_local_parse("2026-02-30 09:00", &t), -1);
    CHECK_INT(workcal_local_parse(NULL, &t), -1);
}

TEST(workcal_deadline_counts_from_the_day_after_receipt) {
    workcal *cal = shipped();
    if (!cal) {
        CHECK(0);
        return;
    }
    /* Received within hours: day 1 is the next working day. */
    CHECK_STR(deadline(cal, "2026-09-30 10:00", 5), "2026-10-13 17:30");
    CHECK_STR(deadline(cal, "2026-09-30 17:29", 1), "2026-10-08 17:30");
    CHECK_STR(deadline(cal, "2026-03-04 09:00", 1), "2026-03-05 17:30");
    /* Before opening on a working day: deemed received at 08:30 the same day. */
    CHECK_STR(deadline(cal, "2026-09-29 07:00", 1), "2026-09-30 17:30");
    /* Lunch break: the same day. */
    CHECK_STR(deadline(cal, "2026-09-29 12:30", 1), "2026-09-30 17:30");
    /* After hours (17:30 sharp counts as after): deemed received on the next working
     * day, which is then not counted. */
    CHECK_STR(deadline(cal, "2026-09-30 17:30", 1), "2026-10-09 17:30");
    CHECK_STR(deadline(cal, "2026-09-30 19:00", 5), "2026-10-14 17:30");
    /* Non-working days: a Sunday, a holiday, and a 调休 Saturday (which is worked). */
    CHECK_STR(deadline(cal, "2026-03-08 10:00", 1), "2026-03-10 17:30");
    CHECK_STR(deadline(cal, "2026-10-03 10:00", 1), "2026-10-09 17:30");
    CHECK_STR(deadline(cal, "2026-10-10 10:00", 1), "2026-10-12 17:30");
    CHECK_STR(deadline(cal, "2026-10-11 10:00", 1), "2026-10-13 17:30");
    /* 春节 2026. */
    CHECK_STR(deadline(cal, "2026-02-13 16:00", 3), "2026-02-25 17:30");
    CHECK_STR(deadline(cal, "2026-02-14 18:00", 3), "2026-02-27 17:30");
    CHECK_STR(deadline(cal, "2026-02-16 10:00", 4), "2026-02-28 17:30");
    /* 即办 (0 days): the end of the (deemed) receipt day. */
    CHECK_STR(deadline(cal, "2026-09-29 10:00", 0), "2026-09-29 17:30");
    CHECK_STR(deadline(cal, "2026-09-30 19:00", 0), "2026-10-08 17:30");
    /* Half days end at noon. */
    CHECK_STR(deadline(cal, "2026-09-30 10:00", 0.5), "2026-10-08 12:00");
    CHECK_STR(deadline(cal, "2026-09-30 10:00", 1.5), "2026-10-09 12:00");
    CHECK_STR(deadline(cal, "2026-09-30 19:00", 0.5), "2026-10-09 12:00");
    /* Before 1970 instants are negative: still ordinary instants (no file: weekends only). */
    CHECK_STR(deadline(cal, "1960-03-02 10:00", 1), "1960-03-03 17:30");
    CHECK_STR(deadline(cal, "1969-12-31 23:59", 0), "1970-01-01 17:30");
    /* Bad input. */
    int64_t due;
    err e = {0};
    CHECK_INT(workcal_deadline(cal, at("2026-09-30 10:00"), 0.25, &due, &e), -1);
    CHECK_STR(e.field, "days");
    CHECK_INT(workcal_deadline(cal, -5000000000LL, 1, &due, &e), -1);
    CHECK_STR(e.field, "received");
    CHECK_INT(workcal_deadline(cal, INT64_MAX, 1, &due, &e), -1);
    workcal_free(cal);
}

TEST(workcal_hour_clocks_count_office_hours_only) {
    workcal *cal = shipped();
    if (!cal) {
        CHECK(0);
        return;
    }
    /* 企业开办 within 4 working hours. */
    CHECK_STR(hours_end(cal, "2026-09-30 10:00", 4), "2026-09-30 15:30");
    CHECK_STR(hours_end(cal, "2026-09-30 16:00", 4), "2026-10-08 11:00");
    CHECK_STR(hours_end(cal, "2026-09-30 19:00", 4), "2026-10-08 14:00");
    CHECK_STR(hours_end(cal, "2026-09-30 12:15", 4), "2026-09-30 17:30");
    /* Running out exactly at a session's close ends there. */
    CHECK_STR(hours_end(cal, "2026-09-30 08:30", 3.5), "2026-09-30 12:00");
    CHECK_STR(hours_end(cal, "2026-09-30 08:30", 7.5), "2026-09-30 17:30");
    /* Whole days, through a 调休 Saturday. */
    CHECK_STR(hours_end(cal, "2026-10-09 08:30", 15), "2026-10-10 17:30");
    CHECK_STR(hours_end(cal, "2026-10-09 08:30", 15.5), "2026-10-12 09:00");
    /* Zero hours: when the clock starts. */
    CHECK_STR(hours_end(cal, "2026-09-30 19:00", 0), "2026-10-08 08:30");
    CHECK_STR(hours_end(cal, "2026-09-30 11:00", 0), "2026-09-30 11:00");
    CHECK_STR(hours_end(cal, "2026-09-30 10:00", 0.25), "2026-09-30 10:15");
    CHECK_STR(local(workcal_clock_start(cal, at("2026-09-29 12:10"))), "2026-09-29 13:30");
    CHECK_INT(workcal_in_hours(cal, at("2026-09-29 12:00")), 0);
    CHECK_INT(workcal_in_hours(cal, at("2026-09-29 11:59:59")), 1);
    CHECK_INT(workcal_in_hours(cal, at("2026-10-10 09:00")), 1); /* 调休 Saturday */
    CHECK_INT(workcal_in_hours(cal, at("2026-10-11 09:00")), 0);
    CHECK_STR(hours_end(cal, "1900-01-01 00:00", 10), "1900-01-02 11:00");
    CHECK_STR(hours_end(cal, "1969-12-31 17:00", 1), "1970-01-01 09:00");
    CHECK(workcal_clock_start(cal, at("2999-12-31 18:00")) == WORKCAL_NEVER);
    CHECK(workcal_clock_start(cal, INT64_MAX) == WORKCAL_NEVER);
    CHECK_STR(local(workcal_clock_start(cal, INT64_MIN)), "1900-01-01 08:30");
    int64_t end;
    err e = {0};
    CHECK_INT(workcal_add_hours(cal, at("2999-12-31 17:00"), 1, &end, &e), -1);
    CHECK_INT(workcal_add_hours(cal, at("2026-09-30 10:00"), -1, &end, &e), -1);
    CHECK_STR(e.field, "hours");
    CHECK_INT(workcal_add_hours(cal, at("2026-09-30 10:00"), INFINITY, &end, &e), -1);
    CHECK_INT(workcal_add_hours(cal, at("2026-09-30 10:00"), WORKCAL_MAX_HOURS, &end, &e), 0);
    workcal_free(cal);
}

TEST(workcal_working_time_between_instants) {
    workcal *cal = shipped();
    if (!cal) {
        CHECK(0);
        return;
    }
    CHECK_INT(workcal_day_seconds(cal), 27000);
    CHECK_INT(workcal_working_seconds_between(cal, at("2026-09-30 10:00"), at("2026-10-08 10:00")),
              27000);
    CHECK_INT(workcal_working_seconds_between(cal, at("2026-10-08 10:00"), at("2026-09-30 10:00")),
              -27000);
    CHECK_INT(workcal_working_seconds_between(cal, at("2026-10-01 00:00"), at("2026-10-07 23:59")),
              0);
    CHECK_INT(workcal_working_seconds_between(cal, at("2026-03-04 11:00"), at("2026-03-04 14:00")),
              3600 + 1800);
    CHECK_INT(workcal_working_seconds_between(cal, at("2025-12-31 17:30"), at("2026-12-31 17:30")),
              248LL * 27000);
    CHECK(fabs(workcal_days_between_instants(cal, at("2026-03-04 10:00"), at("2026-03-05 10:00")) -
               1.0) < 1e-9);
    CHECK(fabs(workcal_days_between_instants(cal, at("2026-09-30 10:00"), at("2026-10-13 17:30")) -
               (5.0 + 6.0 / 7.5)) < 1e-9);
    /* Far outside the supported years: clamped, no overflow, no crash. */
    CHECK(workcal_working_seconds_between(cal, INT64_MIN, INT64_MAX) > 0);
    workcal_free(cal);
}

TEST(workcal_due_soon_and_overdue_flags) {
    workcal *cal = shipped();
    if (!cal) {
        CHECK(0);
        return;
    }
    int64_t due = at("2026-10-13 17:30"); /* 5 days from 2026-09-30 10:00 */
    CHECK_INT(workcal_due_state(cal, at("2026-09-30 10:00"), due), WORKCAL_ON_TIME);
    CHECK_INT(workcal_due_state(cal, at("2026-10-05 10:00"), due), WORKCAL_ON_TIME);
    CHECK_INT(workcal_due_state(cal, at("2026-10-12 17:00"), due), WORKCAL_ON_TIME);
    CHECK_INT(workcal_due_state(cal, at("2026-10-12 17:30"), due), WORKCAL_DUE_SOON);
    CHECK_INT(workcal_due_state(cal, at("2026-10-13 09:00"), due), WORKCAL_DUE_SOON);
    CHECK_INT(workcal_due_state(cal, due, due), WORKCAL_DUE_SOON);
    CHECK_INT(workcal_due_state(cal, due + 1, due), WORKCAL_OVERDUE);
    CHECK_INT(workcal_due_state(cal, at("2026-10-14 09:00"), due), WORKCAL_OVERDUE);
    CHECK(fabs(workcal_remaining_days(cal, at("2026-10-05 10:00"), due) - 5.0) < 1e-9);
    CHECK(fabs(workcal_remaining_days(cal, at("2026-10-12 13:30"), due) - (1.0 + 4.0 / 7.5)) <
          1e-9);
    CHECK(fabs(workcal_remaining_days(cal, at("2026-10-13 18:00"), due)) < 1e-9);
    CHECK(fabs(workcal_remaining_days(cal, at("2026-10-14 10:00"), due) + 1.5 / 7.5) < 1e-9);
    workcal_free(cal);
}

/* ---- office hours ---- */

TEST(workcal_schedule_parse_and_custom_hours) {
    workcal_schedule s;
    err e = {0};
    CHECK_INT(workcal_schedule_parse(WORKCAL_DEFAULT_SCHEDULE, &s, &e), 0);
    CHECK_INT(s.nsessions, 2);
    CHECK_INT(s.sessions[0].open, 8 * 60 + 30);
    CHECK_INT(s.sessions[1].close, 17 * 60 + 30);
    CHECK_INT(s.half_day_end, 12 * 60);
    CHECK_INT(workcal_schedule_parse("09:00-17:00", &s, &e), 0);
    CHECK_INT(s.half_day_end, 13 * 60);
    CHECK_INT(workcal_schedule_parse("09:00-12:00,14:00-18:00;half=11:00", &s, &e), 0);
    CHECK_INT(s.half_day_end, 11 * 60);
    CHECK_INT(workcal_schedule_parse("00:00-24:00", &s, &e), 0);
    static const char *const bad[] = {
        "",
        "8:30-12:00",
        "12:00-08:30",
        "08:30-12:00,11:00-17:30",
        "08:30-12:00;",
        "08:30-12:00,",
        "08:30-12:00 ",
        "24:30-25:00",
        "08:60-12:00",
        "08:30-12:00;half=18:00",
        "08:30-12:00;half=08:30",
        "01:00-02:00,03:00-04:00,05:00-06:00,07:00-08:00,09:00-10:00",
    };
    for (size_t i = 0; i < N_OF(bad); i++) {
        err be = {0};
        if (workcal_schedule_parse(bad[i], &s, &be) != -1) {
            fprintf(stderr, "    accepted schedule \"%s\"\n", bad[i]);
            CHECK(0);
        } else {
            CHECK_STR(be.field, "schedule");
        }
    }
    CHECK_INT(workcal_schedule_parse(NULL, &s, &e), -1);

    workcal *cal = shipped();
    if (!cal) {
        CHECK(0);
        return;
    }
    CHECK_INT(workcal_schedule_parse("09:00-12:00,14:00-18:00", &s, &e), 0);
    CHECK_INT(workcal_set_schedule(cal, &s, &e), 0);
    CHECK_INT(workcal_day_seconds(cal), 7 * 3600);
    CHECK_STR(deadline(cal, "2026-09-30 10:00", 5), "2026-10-13 18:00");
    CHECK_STR(deadline(cal, "2026-09-30 10:00", 0.5), "2026-10-08 12:00");
    CHECK_STR(deadline(cal, "2026-09-30 08:45", 1), "2026-10-08 18:00");
    CHECK_STR(hours_end(cal, "2026-09-30 17:00", 2), "2026-10-08 10:00");
    workcal_schedule broken = s;
    broken.sessions[1].open = 11 * 60; /* overlaps the morning */
    CHECK_INT(workcal_set_schedule(cal, &broken, &e), -1);
    CHECK_INT(workcal_day_seconds(cal), 7 * 3600); /* unchanged */
    workcal_free(cal);
}

/* ---- dates and numbers ---- */

TEST(workcal_date_and_days_parsing_is_strict) {
    workcal_date d;
    CHECK_INT(workcal_date_parse("2024-02-29", &d), 0);
    CHECK_INT(workcal_date_parse("2000-02-29", &d), 0);
    CHECK_INT(workcal_weekday(D("2026-09-30")), 3); /* Wednesday */
    CHECK_INT(workcal_weekday(D("1970-01-01")), 4);
    CHECK_INT(workcal_weekday(D("1900-01-01")), 1);
    static const char *const bad_dates[] = {
        "2026-02-29", "1900-02-29", "2026-9-30",  "2026-09-31", " 2026-09-30", "2026-09-30x",
        "1899-12-31", "3000-01-01", "2026/09/30", "",           "2026-00-10",  "2026-10-00"};
    for (size_t i = 0; i < N_OF(bad_dates); i++)
        if (workcal_date_parse(bad_dates[i], &d) != -1) {
            fprintf(stderr, "    accepted date \"%s\"\n", bad_dates[i]);
            CHECK(0);
        }
    CHECK_INT(workcal_date_parse(NULL, &d), -1);
    /* Day numbers round-trip over the whole supported range. */
    int bad_round = 0;
    for (int64_t z = workcal_first_day(); z <= workcal_last_day(); z += 17) {
        workcal_date x = workcal_day_date(z);
        if (!workcal_date_valid(x) || workcal_day_number(x.year, x.month, x.day) != z) bad_round++;
    }
    CHECK_INT(bad_round, 0);
    CHECK_INT(workcal_day_number(1970, 1, 1), 0);

    double n;
    CHECK_INT(workcal_days_parse("5", &n), 0);
    CHECK(n == 5);
    CHECK_INT(workcal_days_parse("0.5", &n), 0);
    CHECK(n == 0.5);
    CHECK_INT(workcal_days_parse("2.50", &n), 0);
    CHECK(n == 2.5);
    CHECK_INT(workcal_days_parse("3650", &n), 0);
    static const char *const bad_days[] = {"",    ".5", "5.",  "-1", "0.3",  "1e1", "3651",
                                           "nan", " 5", "0x5", "5 ", "1.25", "inf", "+5"};
    for (size_t i = 0; i < N_OF(bad_days); i++)
        if (workcal_days_parse(bad_days[i], &n) != -1) {
            fprintf(stderr, "    accepted days \"%s\"\n", bad_days[i]);
            CHECK(0);
        }
}

/* ---- years without a file ---- */

TEST(workcal_years_without_a_file_use_weekends_only) {
    workcal *cal = shipped();
    if (!cal) {
        CHECK(0);
        return;
    }
    int first, last;
    CHECK_INT(workcal_years(cal, &first, &last), 7);
    CHECK_INT(first, 2020);
    CHECK_INT(last, 2026);
    CHECK_INT(workcal_has_year(cal, 2027), 0);
    CHECK_INT(workcal_has_year(cal, 1800), 0);
    /* 2027-01-01 is a Friday: with no 2027 file it counts as a working day, flagged. */
    CHECK_INT(workcal_is_workday(cal, 2027, 1, 1), 1);
    workcal_day info;
    err e = {0};
    CHECK_INT(workcal_day_info(cal, D("2027-01-01"), &info, &e), 0);
    CHECK_INT(info.estimated, 1);
    CHECK_INT(info.kind, WORKCAL_WORKDAY);
    CHECK_INT(workcal_is_workday(cal, 2027, 1, 2), 0);
    CHECK_STR(add(cal, "2026-12-30", 5), "2027-01-06");
    CHECK_INT(workcal_covers(cal, D("2026-12-30"), D("2027-01-06")), 0);
    CHECK_INT(workcal_covers(cal, D("2027-01-06"), D("2026-12-30")), 0);
    CHECK_INT(workcal_covers(cal, D("2020-01-01"), D("2026-12-31")), 1);
    CHECK_INT(workcal_covers(cal, D("2019-12-31"), D("2020-01-02")), 0);
    workcal_free(cal);
}

/* ---- loading and validation ---- */

static const char *const file_2027 =
    "{\"year\": 2027, \"papers\": [], \"days\": ["
    "{\"name\": \"元旦\", \"date\": \"2027-01-01\", \"isOffDay\": true},"
    "{\"name\": \"测试调休\", \"date\": \"2027-01-09\", \"isOffDay\": false}]}";

TEST(workcal_load_rejects_bad_files_naming_file_and_field) {
    static const struct {
        const char *name, *text, *field, *in_message;
    } cases[] = {
        {"2027.json", "{\"year\": 2027, \"days\": [", "", "2027.json"},
        {"2027.json", "[]", "(root)", "2027.json"},
        {"2027.json", "{\"days\": []}", "year", "2027.json: year"},
        {"2027.json", "{\"year\": 2028, \"days\": []}", "year", "2027.json: year"},
        {"2027.json", "{\"year\": 2027}", "days", "2027.json: days"},
        {"2027.json", "{\"year\": 2027, \"days\": [1]}", "days[0]", "2027.json: days[0]"},
        {"2027.json",
         "{\"year\": 2027, \"days\": [{\"date\": \"2027-01-01\", \"isOffDay\": true}]}",
         "days[0].name", "2027.json: days[0].name"},
        {"2027.json",
         "{\"year\": 2027, \"days\": [{\"name\": \"元旦\", \"date\": \"2027-01-01\", \"isOffDay\": "
         "true}, {\"name\": \"春节\", \"date\": \"2027-02-30\", \"isOffDay\": true}]}",
         "days[1].date", "2027.json: days[1].date"},
        {"2027.json",
         "{\"year\": 2027, \"days\": [{\"name\": \"x\", \"date\": \"2029-01-01\", \"isOffDay\": "
         "true}]}",
         "days[0].date", "2027.json"},
        {"2027.json",
         "{\"year\": 2027, \"days\": [{\"name\": \"x\", \"date\": \"2027-01-01\", \"isOffDay\": "
         "\"true\"}]}",
         "days[0].isOffDay", "2027.json: days[0].isOffDay"},
        {"2027.json",
         "{\"year\": 2027, \"days\": [{\"name\": \"x\", \"date\": \"2027-01-01\", \"isOffDay\": "
         "true}, {\"name\": \"x\", \"date\": \"2027-01-01\", \"isOffDay\": true}]}",
         "days[1].date", "2027.json"},
        {"2027.json", "{\"year\": 2027, \"year\": 2027, \"days\": []}", "", "2027.json"},
        {"holidays.json", "{\"year\": 2027, \"days\": []}", "", "holidays.json"},
    };
    for (size_t i = 0; i < N_OF(cases); i++) {
        err e = {0};
        workcal *cal = load_one(cases[i].name, cases[i].text, &e);
        if (cal) {
            fprintf(stderr, "    case %zu loaded\n", i);
            CHECK(0);
            workcal_free(cal);
            continue;
        }
        if (strcmp(e.field, cases[i].field) != 0 || !strstr(e.message, cases[i].in_message)) {
            fprintf(stderr, "    case %zu: field \"%s\" message \"%s\"\n", i, e.field, e.message);
            CHECK(0);
        }
    }
    /* An empty or missing directory is an error too. */
    char *dir = temp_dir();
    if (dir) {
        err e = {0};
        CHECK(workcal_load(dir, &e) == NULL);
        CHECK(strstr(e.message, dir) != NULL);
        put_file(dir, "README.md", "not a holiday file"); /* ignored: not *.json */
        CHECK(workcal_load(dir, &e) == NULL);
        remove_dir(dir);
    }
    err e = {0};
    CHECK(workcal_load("/nonexistent/isle-holidays", &e) == NULL);
    CHECK(strstr(e.message, "/nonexistent/isle-holidays") != NULL);
}

TEST(workcal_load_checks_files_agree_about_shared_dates) {
    char *dir = temp_dir();
    if (!dir) {
        CHECK(0);
        return;
    }
    /* 2023.json declares 2022-12-31 off; a 2022.json that says it is worked disagrees. */
    copy_shipped(dir, "2023.json");
    put_file(dir, "2022.json",
             "{\"year\": 2022, \"days\": [{\"name\": \"x\", \"date\": \"2022-12-31\", "
             "\"isOffDay\": false}]}");
    err e = {0};
    workcal *cal = workcal_load(dir, &e);
    CHECK(cal == NULL);
    CHECK(strstr(e.message, "2022.json") && strstr(e.message, "2023.json"));
    CHECK(strstr(e.message, "2022-12-31") != NULL);
    workcal_free(cal);
    /* Saying the same thing twice is fine. */
    put_file(dir, "2022.json",
             "{\"year\": 2022, \"days\": [{\"name\": \"元旦\", \"date\": \"2022-12-31\", "
             "\"isOffDay\": true}]}");
    cal = workcal_load(dir, &e);
    CHECK(cal != NULL);
    if (cal) {
        CHECK_INT(workcal_is_workday(cal, 2022, 12, 31), 0);
        CHECK_INT(workcal_years(cal, NULL, NULL), 2);
    }
    workcal_free(cal);
    remove_dir(dir);
}

TEST(workcal_a_new_years_file_is_picked_up_without_a_rebuild) {
    char *dir = temp_dir();
    if (!dir) {
        CHECK(0);
        return;
    }
    enum log_level level = log_get_level();
    log_set_level(LOG_OFF); /* the failed reloads below are logged on purpose */
    char holidays[128];
    snprintf(holidays, sizeof(holidays), "%s/holidays", dir);
    mkdir(holidays, 0755);
    copy_shipped(holidays, "2026.json");
    workcal_default_set_data_dir(dir);
    err e = {0};
    const workcal *cal = workcal_default(&e);
    CHECK(cal != NULL);
    if (cal) {
        CHECK_INT(workcal_has_year(cal, 2027), 0);
        CHECK_INT(workcal_is_workday(cal, 2027, 1, 1), 1); /* weekend rule only */
        CHECK(workcal_default(&e) == cal);                 /* no change, same calendar */
    }
    /* Drop in 2027.json: a plain load sees it, and so does the shared calendar. */
    put_file(holidays, "2027.json", file_2027);
    workcal *fresh = workcal_load(holidays, &e);
    CHECK(fresh != NULL);
    if (fresh) {
        CHECK_INT(workcal_is_workday(fresh, 2027, 1, 1), 0);
        CHECK_INT(workcal_is_workday(fresh, 2027, 1, 9), 1); /* a Saturday, declared worked */
    }
    workcal_free(fresh);
    workcal_default_set_data_dir(dir); /* what the once-a-minute check would do */
    const workcal *now = workcal_default(&e);
    CHECK(now != NULL);
    if (now) {
        CHECK_INT(workcal_has_year(now, 2027), 1);
        CHECK_INT(workcal_is_workday(now, 2027, 1, 1), 0);
    }
    CHECK(cal == NULL || workcal_is_workday(cal, 2027, 1, 1) == 1); /* the old one still valid */
    /* A broken file keeps the calendar in use. */
    put_file(holidays, "2027.json", "{\"year\": 2027, \"days\": [");
    workcal_default_set_data_dir(dir);
    const workcal *kept = workcal_default(&e);
    CHECK(kept == now);
    workcal_default_reset();
    /* Nothing loadable at all: NULL with the reason. */
    char path[256];
    snprintf(path, sizeof(path), "%s/2026.json", holidays);
    unlink(path);
    snprintf(path, sizeof(path), "%s/2027.json", holidays);
    unlink(path);
    rmdir(holidays);
    workcal_default_set_data_dir(dir);
    err none = {0};
    CHECK(workcal_default(&none) == NULL);
    CHECK(none.message[0] != '\0');
    workcal_default_reset();
    rmdir(dir);
    free(dir);
    log_set_level(level);
}

TEST(workcal_shared_calendar_honours_work_hours_setting) {
    enum log_level level = log_get_level();
    log_set_level(LOG_OFF);
    setenv("ISLE_WORKCAL_HOURS", "09:00-12:00,14:00-18:00", 1);
    workcal_default_reset();
    workcal_default_set_data_dir("data");
    err e = {0};
    const workcal *cal = workcal_default(&e);
    CHECK(cal != NULL);
    if (cal) CHECK_INT(workcal_day_seconds(cal), 7 * 3600);
    workcal_default_reset();
    setenv("ISLE_WORKCAL_HOURS", "nonsense", 1);
    workcal_default_set_data_dir("data");
    CHECK(workcal_default(&e) == NULL);
    CHECK_STR(e.field, "ISLE_WORKCAL_HOURS");
    workcal_default_reset();
    unsetenv("ISLE_WORKCAL_HOURS");
    log_set_level(level);
}
