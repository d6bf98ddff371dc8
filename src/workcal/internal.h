/* workcal/internal.h: the calendar's representation, shared by the files of
 * src/workcal/ and its white-box unit tests. Nothing else includes this file.
 *
 * Days are numbered from 1970-01-01 (day 0), negative before it. A calendar is
 * the sorted list of declared days (the holiday files' entries, one per date)
 * plus which years had a file; every other day follows the weekend rule. */
#ifndef ISLE_WORKCAL_INTERNAL_H
#define ISLE_WORKCAL_INTERNAL_H

#include <stdint.h>

#include "workcal/workcal.h"

#define WORKCAL_NYEARS (WORKCAL_YEAR_MAX - WORKCAL_YEAR_MIN + 1)

/** One declared date. */
typedef struct workcal_declared {
    int64_t day;      /* day number */
    int off;          /* 1 放假, 0 调休上班 */
    int file;         /* index into workcal.files (for conflict messages) */
    const char *name; /* owned by the calendar */
} workcal_declared;

struct workcal {
    char *dir;
    workcal_declared *days; /* sorted by day, no two alike */
    size_t ndays;
    char **strings; /* every string the calendar owns (names, file names) */
    size_t nstrings;
    char **files; /* loaded file names, by index (entries of strings) */
    size_t nfiles;
    unsigned char has_year[WORKCAL_NYEARS];
    int first_year, last_year, nyears;
    workcal_schedule schedule;
    int64_t day_seconds; /* working seconds of one full day */
};

/** Day number of a valid y-m-d (Howard Hinnant's days_from_civil). */
int64_t workcal_day_number(int y, int m, int d);
/** The date of a day number. */
workcal_date workcal_day_date(int64_t day);
/** First and last day numbers of the supported years. */
int64_t workcal_first_day(void);
int64_t workcal_last_day(void);
/** 1 if day number `day` is a working day in cal. */
int workcal_day_works(const workcal *cal, int64_t day);
/** Working days among day numbers a..b inclusive (0 when b < a). O(declared days). */
int64_t workcal_count_workdays(const workcal *cal, int64_t a, int64_t b);

#endif
