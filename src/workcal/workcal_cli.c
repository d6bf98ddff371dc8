/* workcal/workcal_cli.c: `isle workcal`, the working-day calendar from the
 * command line (for staff answering "when is my deadline?", and for tests).
 *
 *   isle workcal [--dir DIR] [--work-hours SPEC] [--json] COMMAND
 *     add DATE N                  date of the Nth working day after DATE
 *     between DATE DATE           working days after the first, up to and including the second
 *     is-workday DATE             yes/no and why
 *     deadline "YYYY-MM-DD HH:MM" N [--hours]   deadline for an application received then
 *     years                       the holiday files in use
 *
 * Dates and times are Asia/Shanghai. Bad input is a message on stderr and exit
 * 2; unusable holiday files exit 1. A result that used a year without a holiday
 * file is printed all the same, with a warning on stderr ("estimated": true in
 * --json). */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "workcal/internal.h"

#define MAX_POSITIONAL 4

static int usage(void) {
    fprintf(stderr,
            "usage: isle workcal [--dir DIR] [--work-hours SPEC] [--json] COMMAND\n"
            "  add DATE N                    the date of the Nth working day after DATE\n"
            "                                (DATE itself not counted; N in steps of 0.5)\n"
            "  between DATE DATE             working days after the first date up to and\n"
            "                                including the second\n"
            "  is-workday DATE               yes or no, and why\n"
            "  deadline \"YYYY-MM-DD HH:MM\" N [--hours]\n"
            "                                deadline of N working days (or hours) for an\n"
            "                                application received then\n"
            "  years                         the holiday files in use\n"
            "DATE is YYYY-MM-DD; times are Asia/Shanghai. --dir defaults to DATA_DIR/holidays,\n"
            "--work-hours to $ISLE_WORKCAL_HOURS or %s.\n",
            WORKCAL_DEFAULT_SCHEDULE);
    return 2;
}

/* A usage error: the message on stderr, exit status 2. */
__attribute__((format(printf, 1, 2))) static int bad(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "isle: workcal: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 2;
}

static json_t *number(double v) {
    return v == (double)(long long)v ? json_integer((long long)v) : json_real(v);
}

/* Print j (stolen) on one line. 0, or 1 when it could not be built (a path that is not
 * UTF-8, say). */
static int print_json(json_t *j) {
    char *txt = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (!txt) {
        fprintf(stderr, "isle: workcal: cannot encode the answer as JSON\n");
        return 1;
    }
    printf("%s\n", txt);
    free(txt);
    return 0;
}

/* Warn on stderr when the span from a to b used a year without a holiday file. */
static int warn_estimated(const workcal *cal, workcal_date a, workcal_date b) {
    if (workcal_covers(cal, a, b)) return 0;
    int lo = a.year < b.year ? a.year : b.year, hi = a.year < b.year ? b.year : a.year, y = lo;
    while (y <= hi && workcal_has_year(cal, y))
        y++;
    fprintf(stderr,
            "isle: workcal: warning: no holiday file for %d in %s; only Saturdays and Sundays "
            "are days off there, so the result is an estimate\n",
            y, workcal_dir(cal));
    return 1;
}

static int date_arg(const char *s, workcal_date *d) {
    if (workcal_date_parse(s, d) == 0) return 0;
    fprintf(stderr, "isle: workcal: \"%s\" is not a date YYYY-MM-DD (years %d–%d)\n", s,
            WORKCAL_YEAR_MIN, WORKCAL_YEAR_MAX);
    return -1;
}

static int days_arg(const char *s, double *n) {
    if (workcal_days_parse(s, n) == 0) return 0;
    fprintf(stderr,
            "isle: workcal: N must be a number of working days 0–%d in steps of 0.5, "
            "not \"%s\"\n",
            WORKCAL_MAX_DAYS, s);
    return -1;
}

/* Working hours: digits with an optional fraction, 0..WORKCAL_MAX_HOURS. */
static int hours_arg(const char *s, double *n) {
    size_t whole = strspn(s, "0123456789"), frac = 0, end = whole;
    if (s[whole] == '.') {
        frac = strspn(s + whole + 1, "0123456789");
        end = whole + 1 + frac;
    }
    int shape = whole >= 1 && whole <= 6 && frac <= 6 && !s[end] && (s[whole] != '.' || frac);
    double v = shape ? strtod(s, NULL) : -1;
    if (v >= 0 && v <= WORKCAL_MAX_HOURS) {
        *n = v;
        return 0;
    }
    fprintf(stderr, "isle: workcal: N must be a number of working hours 0–%d, not \"%s\"\n",
            WORKCAL_MAX_HOURS, s);
    return -1;
}

static int cmd_add(const workcal *cal, char **pos, int npos, int json) {
    workcal_date from, to;
    double n;
    if (npos != 3) return usage();
    if (date_arg(pos[1], &from) != 0 || days_arg(pos[2], &n) != 0) return 2;
    err e = {0};
    if (workcal_add_days(cal, from, n, &to, &e) != 0) return bad("%s", e.message);
    int est = warn_estimated(cal, from, to);
    char a[16], b[16];
    workcal_date_format(from, a, sizeof(a));
    workcal_date_format(to, b, sizeof(b));
    if (!json) {
        printf("%s\n", b);
        return 0;
    }
    /* The same shape as GET /api/v1/workcal/add. */
    int end = workcal_ends_at(cal, n);
    char deadline[64];
    snprintf(deadline, sizeof(deadline), "%sT%02d:%02d:00+08:00", b, end / 60 % 100, end % 60);
    return print_json(json_pack("{s:s, s:o, s:s, s:s, s:b}", "date", a, "days", number(n), "result",
                                b, "deadline", deadline, "estimated", est));
}

static int cmd_between(const workcal *cal, char **pos, int npos, int json) {
    workcal_date a, b;
    if (npos != 3) return usage();
    if (date_arg(pos[1], &a) != 0 || date_arg(pos[2], &b) != 0) return 2;
    long n = workcal_between(cal, a, b);
    int est = warn_estimated(cal, a, b);
    if (!json) {
        printf("%ld\n", n);
        return 0;
    }
    char x[16], y[16];
    return print_json(json_pack(
        "{s:s, s:s, s:I, s:b}", "from", workcal_date_format(a, x, sizeof(x)), "to",
        workcal_date_format(b, y, sizeof(y)), "working_days", (json_int_t)n, "estimated", est));
}

static int cmd_is_workday(const workcal *cal, char **pos, int npos, int json) {
    static const char *const kinds[] = {"workday", "weekend", "holiday", "makeup"};
    workcal_date d;
    if (npos != 2) return usage();
    if (date_arg(pos[1], &d) != 0) return 2;
    workcal_day info;
    err e = {0};
    if (workcal_day_info(cal, d, &info, &e) != 0) return bad("%s", e.message);
    warn_estimated(cal, d, d);
    char buf[16];
    if (json) {
        return print_json(json_pack(
            "{s:s, s:b, s:s, s:o, s:b}", "date", workcal_date_format(d, buf, sizeof(buf)),
            "workday", info.workday, "kind", kinds[info.kind], "name",
            info.name ? json_string(info.name) : json_null(), "estimated", info.estimated));
    }
    printf("%s\t%s%s%s\n", info.workday ? "yes" : "no", kinds[info.kind], info.name ? "\t" : "",
           info.name ? info.name : "");
    return 0;
}

static int cmd_deadline(const workcal *cal, char **pos, int npos, int json, int hours) {
    int64_t received, due;
    double n;
    if (npos != 3) return usage();
    if (workcal_local_parse(pos[1], &received) != 0)
        return bad("\"%s\" is not a local time \"YYYY-MM-DD HH:MM\"", pos[1]);
    if ((hours ? hours_arg(pos[2], &n) : days_arg(pos[2], &n)) != 0) return 2;
    err e = {0};
    int rc = hours ? workcal_add_hours(cal, received, n, &due, &e)
                   : workcal_deadline(cal, received, n, &due, &e);
    if (rc != 0) return bad("%s", e.message);
    int est = warn_estimated(cal, workcal_local_date(received), workcal_local_date(due));
    char out[32];
    workcal_local_format(due, out, sizeof(out));
    if (!json) {
        printf("%s\n", out);
        return 0;
    }
    char in[32], start[32], utc[32];
    workcal_local_format(received, in, sizeof(in));
    workcal_local_format(workcal_clock_start(cal, received), start, sizeof(start));
    time_iso(utc, sizeof(utc), due);
    return print_json(json_pack("{s:s, s:s, s:o, s:s, s:s, s:b}", "received", in, "clock_starts",
                                start, hours ? "hours" : "days", number(n), "deadline", out,
                                "deadline_utc", utc, "estimated", est));
}

static int cmd_years(const workcal *cal, int json) {
    int first, last, n = workcal_years(cal, &first, &last);
    json_t *arr = json_array();
    for (int y = first; n && y <= last; y++) {
        if (!workcal_has_year(cal, y)) continue;
        int off = 0, work = 0;
        int64_t a = workcal_day_number(y, 1, 1), b = workcal_day_number(y, 12, 31);
        for (size_t i = 0; i < cal->ndays; i++)
            if (cal->days[i].day >= a && cal->days[i].day <= b) {
                off += cal->days[i].off;
                work += !cal->days[i].off;
            }
        if (json)
            json_array_append_new(arr, json_pack("{s:i, s:i, s:i, s:I}", "year", y, "days_off", off,
                                                 "makeup_days", work, "working_days",
                                                 (json_int_t)workcal_count_workdays(cal, a, b)));
        else
            printf("%d\t%d declared days off, %d make-up working days, %lld working days\n", y, off,
                   work, (long long)workcal_count_workdays(cal, a, b));
    }
    if (json) return print_json(json_pack("{s:s, s:o}", "dir", workcal_dir(cal), "years", arr));
    json_decref(arr);
    return 0;
}

int workcal_cli(const cli_env *env, int argc, char **argv) {
    const char *dir = NULL, *hours_spec = getenv("ISLE_WORKCAL_HOURS");
    int json = 0, hours = 0, npos = 0;
    char *pos[MAX_POSITIONAL];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--hours")) {
            hours = 1;
        } else if (!strcmp(a, "--dir") || !strcmp(a, "--work-hours")) {
            if (i + 1 >= argc) return bad("option %s needs a value", a);
            if (!strcmp(a, "--dir"))
                dir = argv[++i];
            else
                hours_spec = argv[++i];
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "isle: workcal: unknown option %s\n", a);
            return usage();
        } else if (npos == MAX_POSITIONAL) {
            return usage();
        } else {
            pos[npos++] = argv[i];
        }
    }
    if (npos == 0) return usage();
    const char *cmd = pos[0];
    if (strcmp(cmd, "add") && strcmp(cmd, "between") && strcmp(cmd, "is-workday") &&
        strcmp(cmd, "deadline") && strcmp(cmd, "years")) {
        fprintf(stderr, "isle: workcal: unknown command \"%s\"\n", cmd);
        return usage();
    }
    if (hours && strcmp(cmd, "deadline")) return bad("%s", "--hours goes with deadline only");
    char holidays[4096];
    if (!dir) {
        snprintf(holidays, sizeof(holidays), "%s/holidays", env->data_dir);
        dir = holidays;
    }
    err e = {0};
    workcal *cal = workcal_load(dir, &e);
    if (!cal) {
        fprintf(stderr, "isle: workcal: %s\n", e.message);
        return 1;
    }
    if (hours_spec && *hours_spec) {
        workcal_schedule s;
        if (workcal_schedule_parse(hours_spec, &s, &e) != 0 ||
            workcal_set_schedule(cal, &s, &e) != 0) {
            workcal_free(cal);
            return bad("--work-hours: %s", e.message);
        }
    }
    int rc;
    if (!strcmp(cmd, "add"))
        rc = cmd_add(cal, pos, npos, json);
    else if (!strcmp(cmd, "between"))
        rc = cmd_between(cal, pos, npos, json);
    else if (!strcmp(cmd, "is-workday"))
        rc = cmd_is_workday(cal, pos, npos, json);
    else if (!strcmp(cmd, "deadline"))
        rc = cmd_deadline(cal, pos, npos, json, hours);
    else
        rc = npos == 1 ? cmd_years(cal, json) : usage();
    workcal_free(cal);
    return rc;
}
