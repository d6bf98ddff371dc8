/* workcal/calendar.c: dates, the holiday files, and counting working days.
 *
 * Loading is all-or-nothing: one bad file (or two files that disagree about a
 * date) refuses the whole directory, so a half-read calendar can never produce
 * deadlines. Validation names the file and the field at fault. Files are read
 * in name order so that messages and conflicts are reproducible.
 *
 * Counting never walks day by day over long spans: working days in a range are
 * the Monday–Friday count (arithmetic) corrected by the declared days inside it
 * (binary search), so its cost does not depend on the span. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/jsonx.h"
#include "base/xmalloc.h"
#include "workcal/internal.h"

#define HOLIDAY_JSON_DEPTH 8
#define MAX_DAYS_PER_FILE  1000

/* ---- dates ---- */

static int is_leap(int y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

int64_t workcal_day_number(int y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

workcal_date workcal_day_date(int64_t z) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    int y = (int)(yoe + era * 400 + (m <= 2));
    return (workcal_date){y, m, d};
}

int64_t workcal_first_day(void) {
    return workcal_day_number(WORKCAL_YEAR_MIN, 1, 1);
}

int64_t workcal_last_day(void) {
    return workcal_day_number(WORKCAL_YEAR_MAX, 12, 31);
}

int workcal_date_valid(workcal_date d) {
    return d.year >= WORKCAL_YEAR_MIN && d.year <= WORKCAL_YEAR_MAX && d.month >= 1 &&
           d.month <= 12 && d.day >= 1 && d.day <= month_days(d.year, d.month);
}

static int digits(const char *s, int n) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int workcal_date_parse(const char *s, workcal_date *out) {
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-') return -1;
    workcal_date d = {digits(s, 4), digits(s + 5, 2), digits(s + 8, 2)};
    if (d.year < 0 || d.month < 0 || d.day < 0 || !workcal_date_valid(d)) return -1;
    *out = d;
    return 0;
}

char *workcal_date_format(workcal_date d, char *buf, size_t n) {
    snprintf(buf, n, "%04d-%02d-%02d", d.year, d.month, d.day);
    return buf;
}

static int day_weekday(int64_t day) {
    int64_t w = (day + 4) % 7; /* 1970-01-01 was a Thursday */
    return (int)(w < 0 ? w + 7 : w);
}

int workcal_weekday(workcal_date d) {
    return day_weekday(workcal_day_number(d.year, d.month, d.day));
}

int workcal_days_parse(const char *s, double *out) {
    if (!s || !*s) return -1;
    size_t i = 0, whole = 0;
    while (s[i] >= '0' && s[i] <= '9') {
        i++;
        whole++;
    }
    if (whole == 0 || whole > 5) return -1;
    if (s[i] == '.') {
        size_t frac = 0;
        i++;
        while (s[i] >= '0' && s[i] <= '9') {
            i++;
            frac++;
        }
        if (frac == 0 || frac > 6) return -1;
    }
    if (s[i]) return -1;
    double v = strtod(s, NULL);
    if (!(v >= 0 && v <= WORKCAL_MAX_DAYS) || v * 2 != floor(v * 2)) return -1;
    *out = v;
    return 0;
}

/* ---- queries ---- */

/* The declared entry for day, or NULL. */
static const workcal_declared *declared(const workcal *cal, int64_t day) {
    size_t lo = 0, hi = cal->ndays;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cal->days[mid].day < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < cal->ndays && cal->days[lo].day == day ? &cal->days[lo] : NULL;
}

/* Index of the first declared day >= day. */
static size_t lower_bound(const workcal *cal, int64_t day) {
    size_t lo = 0, hi = cal->ndays;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cal->days[mid].day < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int weekday_works(int64_t day) {
    int w = day_weekday(day);
    return w >= 1 && w <= 5;
}

int workcal_day_works(const workcal *cal, int64_t day) {
    const workcal_declared *dd = declared(cal, day);
    return dd ? !dd->off : weekday_works(day);
}

int64_t workcal_count_workdays(const workcal *cal, int64_t a, int64_t b) {
    if (b < a) return 0;
    int64_t n = b - a + 1, full = n / 7, total = full * 5;
    for (int64_t d = a + full * 7; d <= b; d++)
        total += weekday_works(d);
    for (size_t i = lower_bound(cal, a); i < cal->ndays && cal->days[i].day <= b; i++)
        total += !cal->days[i].off - weekday_works(cal->days[i].day);
    return total;
}

int workcal_is_workday(const workcal *cal, int y, int m, int d) {
    workcal_date date = {y, m, d};
    if (!workcal_date_valid(date)) return -1;
    return workcal_day_works(cal, workcal_day_number(y, m, d));
}

int workcal_day_info(const workcal *cal, workcal_date d, workcal_day *out, err *e) {
    if (!workcal_date_valid(d))
        return err_invalid(e, "date", "日期无效（须为 %d–%d 年的 YYYY-MM-DD）", WORKCAL_YEAR_MIN,
                           WORKCAL_YEAR_MAX);
    int64_t day = workcal_day_number(d.year, d.month, d.day);
    const workcal_declared *dd = declared(cal, day);
    memset(out, 0, sizeof(*out));
    out->estimated = !workcal_has_year(cal, d.year);
    if (dd) {
        out->kind = dd->off ? WORKCAL_HOLIDAY : WORKCAL_MAKEUP;
        out->name = dd->name;
    } else {
        out->kind = weekday_works(day) ? WORKCAL_WORKDAY : WORKCAL_WEEKEND;
    }
    out->workday = out->kind == WORKCAL_WORKDAY || out->kind == WORKCAL_MAKEUP;
    return 0;
}

int workcal_add_days(const workcal *cal, workcal_date from, double days, workcal_date *out,
                     err *e) {
    if (!workcal_date_valid(from))
        return err_invalid(e, "date", "日期无效（须为 %d–%d 年的 YYYY-MM-DD）", WORKCAL_YEAR_MIN,
                           WORKCAL_YEAR_MAX);
    if (!(days >= 0 && days <= WORKCAL_MAX_DAYS) || days * 2 != floor(days * 2))
        return err_invalid(e, "days", "工作日数须为 0–%d，以 0.5 为单位", WORKCAL_MAX_DAYS);
    int64_t day = workcal_day_number(from.year, from.month, from.day), last = workcal_last_day();
    int64_t whole = (int64_t)ceil(days);
    if (whole == 0) {
        while (day <= last && !workcal_day_works(cal, day))
            day++;
    } else {
        for (int64_t k = 0; k < whole && day <= last;)
            if (workcal_day_works(cal, ++day)) k++;
    }
    if (day > last) return err_invalid(e, "days", "结果超出 %d 年", WORKCAL_YEAR_MAX);
    *out = workcal_day_date(day);
    return 0;
}

long workcal_between(const workcal *cal, workcal_date from, workcal_date to) {
    if (!workcal_date_valid(from) || !workcal_date_valid(to)) return 0;
    int64_t a = workcal_day_number(from.year, from.month, from.day);
    int64_t b = workcal_day_number(to.year, to.month, to.day);
    if (b >= a) return (long)workcal_count_workdays(cal, a + 1, b);
    return -(long)workcal_count_workdays(cal, b + 1, a);
}

int workcal_years(const workcal *cal, int *first, int *last) {
    if (first) *first = cal->first_year;
    if (last) *last = cal->last_year;
    return cal->nyears;
}

int workcal_has_year(const workcal *cal, int year) {
    if (year < WORKCAL_YEAR_MIN || year > WORKCAL_YEAR_MAX) return 0;
    return cal->has_year[year - WORKCAL_YEAR_MIN];
}

int workcal_covers(const workcal *cal, workcal_date from, workcal_date to) {
    int a = from.year < to.year ? from.year : to.year;
    int b = from.year < to.year ? to.year : from.year;
    for (int y = a; y <= b; y++)
        if (!workcal_has_year(cal, y)) return 0;
    return 1;
}

const char *workcal_dir(const workcal *cal) {
    return cal->dir;
}

/* ---- loading ---- */

static char *keep(workcal *cal, const char *s) {
    cal->strings = xrealloc(cal->strings, (cal->nstrings + 1) * sizeof(*cal->strings));
    cal->strings[cal->nstrings] = xstrdup(s);
    return cal->strings[cal->nstrings++];
}

/* The same name once: holiday names repeat on every day of a holiday. */
static const char *keep_name(workcal *cal, const char *s) {
    for (size_t i = cal->nstrings; i-- > 0;)
        if (strcmp(cal->strings[i], s) == 0) return cal->strings[i];
    return keep(cal, s);
}

void workcal_free(workcal *cal) {
    if (!cal) return;
    for (size_t i = 0; i < cal->nstrings; i++)
        free(cal->strings[i]);
    free(cal->strings);
    free(cal->files);
    free(cal->days);
    free(cal->dir);
    free(cal);
}

/* Read path (a regular file of at most WORKCAL_FILE_MAX bytes). Caller frees. */
static char *read_file(const char *path, const char *name, size_t *len, err *e) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err_internal(e, "%s: 无法读取：%s", name, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)WORKCAL_FILE_MAX) {
        close(fd);
        err_internal(e, "%s: 不是普通文件或超过 %u 字节", name, WORKCAL_FILE_MAX);
        return NULL;
    }
    char *buf = xmalloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    if (got != (size_t)st.st_size) {
        free(buf);
        err_internal(e, "%s: 读取不完整", name);
        return NULL;
    }
    buf[got] = '\0';
    *len = got;
    return buf;
}

/* A file's problem: 500 with "NAME: FIELD: message" and the field set. */
#define bad_file(e, name, field, fmt, ...)                                                         \
    err_set((e), 500, "invalid_holiday_file", (field), "%s: %s: " fmt, (name), (field),            \
            ##__VA_ARGS__)

typedef struct entries {
    workcal_declared *v;
    size_t n, cap;
} entries;

/* Validate one parsed file and append its days. */
static int take_file(workcal *cal, json_t *root, const char *name, int year, int file, entries *out,
                     err *e) {
    if (!json_is_object(root)) return bad_file(e, name, "(root)", "须为 JSON 对象");
    json_t *y = json_object_get(root, "year");
    if (!json_is_integer(y)) return bad_file(e, name, "year", "缺少或不是整数");
    if (json_integer_value(y) != year)
        return bad_file(e, name, "year", "为 %lld，与文件名不符", (long long)json_integer_value(y));
    json_t *days = json_object_get(root, "days");
    if (!json_is_array(days)) return bad_file(e, name, "days", "缺少或不是数组");
    if (json_array_size(days) > MAX_DAYS_PER_FILE)
        return bad_file(e, name, "days", "超过 %d 项", MAX_DAYS_PER_FILE);
    size_t first = out->n, i;
    json_t *it;
    json_array_foreach(days, i, it) {
        char field[WORKCAL_NAME_MAX];
        snprintf(field, sizeof(field), "days[%zu]", i);
        if (!json_is_object(it)) return bad_file(e, name, field, "须为对象");
        json_t *nm = json_object_get(it, "name"), *dt = json_object_get(it, "date"),
               *off = json_object_get(it, "isOffDay");
        snprintf(field, sizeof(field), "days[%zu].name", i);
        if (!json_is_string(nm) || json_string_length(nm) == 0 ||
            json_string_length(nm) > WORKCAL_NAME_MAX)
            return bad_file(e, name, field, "须为 1–%d 字节的字符串", WORKCAL_NAME_MAX);
        snprintf(field, sizeof(field), "days[%zu].date", i);
        workcal_date d;
        if (!json_is_string(dt) || workcal_date_parse(json_string_value(dt), &d) != 0)
            return bad_file(e, name, field, "须为 YYYY-MM-DD 格式的有效日期");
        if (d.year < year - 1 || d.year > year + 1)
            return bad_file(e, name, field, "%s 不在 %d 年前后", json_string_value(dt), year);
        snprintf(field, sizeof(field), "days[%zu].isOffDay", i);
        if (!json_is_boolean(off)) return bad_file(e, name, field, "须为 true 或 false");
        int64_t day = workcal_day_number(d.year, d.month, d.day);
        for (size_t j = first; j < out->n; j++)
            if (out->v[j].day == day) {
                snprintf(field, sizeof(field), "days[%zu].date", i);
                return bad_file(e, name, field, "%s 重复出现", json_string_value(dt));
            }
        if (out->n == out->cap) {
            out->cap = out->cap ? out->cap * 2 : 256;
            out->v = xrealloc(out->v, out->cap * sizeof(*out->v));
        }
        out->v[out->n++] = (workcal_declared){.day = day,
                                              .off = json_is_true(off),
                                              .file = file,
                                              .name = keep_name(cal, json_string_value(nm))};
    }
    return 0;
}

static int cmp_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_declared(const void *a, const void *b) {
    const workcal_declared *x = a, *y = b;
    if (x->day != y->day) return x->day < y->day ? -1 : 1;
    return x->file - y->file;
}

/* Names of the candidate files of dir, sorted. Returns the count or -1. */
static long list_files(const char *dir, char ***out, err *e) {
    DIR *dh = opendir(dir);
    if (!dh) {
        err_internal(e, "无法打开节假日目录 %s：%s", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(dh))) {
        size_t len = strlen(de->d_name);
        if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".json") != 0) continue;
        if (n == WORKCAL_MAX_FILES) {
            for (size_t i = 0; i < n; i++)
                free(names[i]);
            free(names);
            closedir(dh);
            err_internal(e, "节假日目录 %s 中的 .json 文件超过 %d 个", dir, WORKCAL_MAX_FILES);
            return -1;
        }
        names = xrealloc(names, (n + 1) * sizeof(*names));
        names[n++] = xstrdup(de->d_name);
    }
    closedir(dh);
    if (n) qsort(names, n, sizeof(*names), cmp_name);
    *out = names;
    return (long)n;
}

workcal *workcal_load(const char *dir, err *e) {
    char **names = NULL;
    long nfiles = list_files(dir, &names, e);
    if (nfiles < 0) return NULL;
    workcal *cal = xcalloc(1, sizeof(*cal));
    cal->dir = xstrdup(dir);
    err se = {0};
    if (workcal_schedule_parse(WORKCAL_DEFAULT_SCHEDULE, &cal->schedule, &se) != 0) abort();
    if (workcal_set_schedule(cal, &cal->schedule, &se) != 0) abort();
    cal->files = xcalloc(nfiles ? (size_t)nfiles : 1, sizeof(*cal->files));
    entries all = {0};
    int rc = 0;
    if (nfiles == 0) rc = err_internal(e, "节假日目录 %s 中没有 年份.json 文件", dir);
    for (long f = 0; f < nfiles && rc == 0; f++) {
        const char *name = names[f];
        cal->files[cal->nfiles++] = keep(cal, name);
        int year = strlen(name) == 9 ? digits(name, 4) : -1;
        if (year < WORKCAL_YEAR_MIN || year > WORKCAL_YEAR_MAX) {
            rc = err_set(e, 500, "invalid_holiday_file", "",
                         "%s: 文件名须为 年份.json（如 2027.json）", name);
            break;
        }
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        size_t len = 0;
        char *buf = read_file(path, name, &len, e);
        if (!buf) {
            rc = -1;
            break;
        }
        err je = {0};
        json_t *root = jsonx_parse(buf, len, HOLIDAY_JSON_DEPTH, &je);
        free(buf);
        if (!root) {
            rc = err_set(e, 500, "invalid_holiday_file", "", "%s: 不是有效的 JSON：%s", name,
                         je.message);
            break;
        }
        rc = take_file(cal, root, name, year, (int)f, &all, e);
        json_decref(root);
        if (rc == 0) {
            cal->has_year[year - WORKCAL_YEAR_MIN] = 1;
            cal->nyears++;
            if (!cal->first_year || year < cal->first_year) cal->first_year = year;
            if (year > cal->last_year) cal->last_year = year;
        }
    }
    for (long f = 0; f < nfiles; f++)
        free(names[f]);
    free(names);
    if (rc == 0 && all.n) {
        /* One entry per date: the same date in two files (a 元旦 holiday that begins in
         * December) must say the same thing. */
        qsort(all.v, all.n, sizeof(*all.v), cmp_declared);
        size_t w = 0;
        for (size_t i = 0; i < all.n && rc == 0; i++) {
            if (w && all.v[w - 1].day == all.v[i].day) {
                if (all.v[w - 1].off != all.v[i].off) {
                    char date[16];
                    workcal_date_format(workcal_day_date(all.v[i].day), date, sizeof(date));
                    rc = err_set(e, 500, "invalid_holiday_file", "isOffDay",
                                 "%s 与 %s 对 %s 是否放假的规定不一致",
                                 cal->files[all.v[w - 1].file], cal->files[all.v[i].file], date);
                }
                continue;
            }
            all.v[w++] = all.v[i];
        }
        all.n = w;
    }
    if (rc != 0) {
        free(all.v);
        workcal_free(cal);
        return NULL;
    }
    cal->days = all.v;
    cal->ndays = all.n;
    return cal;
}
