/* places: import and query Zhoushan's geography (see places.h).
 *
 * Import runs in three phases so that the write lock is held only for the
 * writes: (1) read and parse each CSV with libcsv into an arena, checking the
 * size caps, the header and UTF-8; (2) validate every field of every row and
 * reject duplicate keys, still without touching the database; (3) in one
 * transaction upsert towns, islands, links, villages and stations in that
 * order, checking each foreign key against the database (so keys may resolve to
 * rows imported earlier), then write the audit row and commit. Any error rolls
 * the whole import back.
 *
 * Line numbers are physical lines of the file (the header is line 1). libcsv
 * does not track them, so the file is fed to it one line at a time and a record
 * starts on the line where its first field ended, minus the newlines quoted
 * inside that field.
 *
 * This file must never build SQL from input: every value is a bound parameter. */
#include "island/places.h"

#include <csv.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/arena.h"
#include "base/xmalloc.h"

#define MAX_COLUMNS 16

/* ---- column layouts (the order of each enum matches its name list) ---- */

enum { T_CODE, T_NAME, T_COUNTY_CODE, T_COUNTY, T_MAIN_ISLAND, T_LAT, T_LON, T_KIND };
static const char *const town_columns[] = {"code", "name", "county_code", "county", "main_island",
                                           "lat",  "lon",  "kind",        NULL};

enum { I_ID, I_NAME, I_TOWN_CODE, I_LAT, I_LON, I_POPULATION, I_INHABITED };
static const char *const island_columns[] = {"id",  "name",       "town_code", "lat",
                                             "lon", "population", "inhabited", NULL};

enum { F_ID, F_FROM, F_TO, F_FROM_PORT, F_TO_PORT, F_MINUTES, F_SAILINGS, F_FIRST, F_LAST, F_MODE };
static const char *const ferry_columns[] = {
    "id",    "from_island", "to_island", "from_port", "to_port", "minutes", "sailings_per_day",
    "first", "last",        "mode",      NULL};

enum { V_CODE, V_NAME, V_TOWN_CODE, V_ISLAND_ID, V_POPULATION, V_SYNTHETIC };
static const char *const village_columns[] = {"code",       "name",      "town_code", "island_id",
                                              "population", "synthetic", NULL};

enum { S_ID, S_NAME, S_VILLAGE_CODE, S_ISLAND_ID, S_KIND, S_LAT, S_LON, S_STAFF };
static const char *const station_columns[] = {"id",  "name", "village_code", "island_id", "kind",
                                              "lat", "lon",  "staff",        NULL};

static const char *const town_kinds[] = {"街道", "镇", "乡", NULL};
static const char *const station_kinds[] = {PLACES_KIND_CENTRE, PLACES_KIND_STATION,
                                            PLACES_KIND_AGENT, NULL};
static const char *const link_modes[] = {"ferry", "bridge", "road", NULL};

/* Zhoushan's bounding box, generous by a few km on every side. */
#define LAT_MIN 29.5
#define LAT_MAX 31.0
#define LON_MIN 121.5
#define LON_MAX 123.3

/* ---- parsed tables ---- */

typedef struct csv_row {
    long line;
    char **field; /* in the order of the table's column list */
} csv_row;

typedef struct csv_table {
    const char *file;           /* "towns.csv" */
    const char *const *columns; /* expected columns, NULL-terminated */
    int ncolumns;
    csv_row *rows; /* heap array, freed by table_free() */
    size_t nrows;
    size_t cap;
} csv_table;

static void table_init(csv_table *t, const char *file, const char *const *columns) {
    memset(t, 0, sizeof(*t));
    t->file = file;
    t->columns = columns;
    while (columns[t->ncolumns])
        t->ncolumns++;
}

static void table_free(csv_table *t) {
    free(t->rows);
    t->rows = NULL;
    t->nrows = t->cap = 0;
}

/* "FILE line N: field X: problem" as a 422 naming the column. Returns -1. */
static int row_error(err *e, const char *file, long line, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int row_error(err *e, const char *file, long line, const char *field, const char *fmt, ...) {
    char problem[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(problem, sizeof(problem), fmt, ap);
    va_end(ap);
    if (field && *field)
        return err_set(e, 422, "unprocessable", field, "%s line %ld: field %s: %s", file, line,
                       field, problem);
    return err_set(e, 422, "unprocessable", "", "%s line %ld: %s", file, line, problem);
}

/* ---- UTF-8 ---- */

/* 1 if s[0..n) is well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF). */
static int utf8_valid(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        unsigned min, cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2, min = 0x80, cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3, min = 0x800, cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4, min = 0x10000, cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i < len) return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
        i += len;
    }
    return 1;
}

/* ---- CSV parsing ---- */

typedef struct parse_state {
    arena *a;
    csv_table *t;
    err *e;
    int failed;
    long line;     /* physical line being fed to libcsv */
    long rec_line; /* line on which the current record started */
    int header_done;
    int nfile_columns;
    int file_to_column[MAX_COLUMNS]; /* header position → index in t->columns */
    char *cur[MAX_COLUMNS];
    int ncur;
} parse_state;

static const char *column_at(const parse_state *p, int pos) {
    if (!p->header_done || pos >= p->nfile_columns) return "";
    return p->t->columns[p->file_to_column[pos]];
}

static void on_field(void *data, size_t len, void *user) {
    parse_state *p = user;
    if (p->failed) return;
    const char *s = data ? data : "";
    if (!data) len = 0;
    if (p->ncur == 0) {
        long nl = 0;
        for (size_t i = 0; i < len; i++)
            nl += s[i] == '\n';
        p->rec_line = p->line - nl;
    }
    if (p->ncur >= MAX_COLUMNS) {
        p->failed = 1;
        row_error(p->e, p->t->file, p->rec_line, "", "more than %d fields", MAX_COLUMNS);
        return;
    }
    const char *col = column_at(p, p->ncur);
    if (len > PLACES_MAX_FIELD) {
        p->failed = 1;
        row_error(p->e, p->t->file, p->rec_line, col, "longer than %d bytes", PLACES_MAX_FIELD);
        return;
    }
    if (memchr(s, '\0', len) || !utf8_valid((const unsigned char *)s, len)) {
        p->failed = 1;
        row_error(p->e, p->t->file, p->rec_line, col, "not valid UTF-8 text");
        return;
    }
    p->cur[p->ncur++] = arena_strndup(p->a, s, len);
}

static void take_header(parse_state *p) {
    csv_table *t = p->t;
    int seen[MAX_COLUMNS] = {0};
    for (int pos = 0; pos < p->ncur; pos++) {
        int found = -1;
        for (int k = 0; k < t->ncolumns; k++)
            if (strcmp(p->cur[pos], t->columns[k]) == 0) found = k;
        if (found < 0) {
            p->failed = 1;
            row_error(p->e, t->file, p->rec_line, p->cur[pos], "unknown column");
            return;
        }
        if (seen[found]++) {
            p->failed = 1;
            row_error(p->e, t->file, p->rec_line, p->cur[pos], "column given twice");
            return;
        }
        p->file_to_column[pos] = found;
    }
    for (int k = 0; k < t->ncolumns; k++) {
        if (!seen[k]) {
            p->failed = 1;
            row_error(p->e, t->file, p->rec_line, t->columns[k], "missing column");
            return;
        }
    }
    p->nfile_columns = p->ncur;
    p->header_done = 1;
}

static void on_record(int terminator, void *user) {
    (void)terminator;
    parse_state *p = user;
    if (p->failed) return;
    csv_table *t = p->t;
    if (!p->header_done) {
        take_header(p);
    } else if (p->ncur != p->nfile_columns) {
        p->failed = 1;
        row_error(p->e, t->file, p->rec_line, "", "expected %d fields, found %d", p->nfile_columns,
                  p->ncur);
    } else if (t->nrows >= PLACES_MAX_ROWS) {
        p->failed = 1;
        err_set(p->e, 413, "payload_too_large", "", "%s: more than %d rows", t->file,
                PLACES_MAX_ROWS);
    } else {
        if (t->nrows == t->cap) {
            t->cap = t->cap ? t->cap * 2 : 64;
            t->rows = xrealloc(t->rows, t->cap * sizeof(*t->rows));
        }
        csv_row *r = &t->rows[t->nrows++];
        r->line = p->rec_line;
        r->field = arena_alloc(p->a, (size_t)t->ncolumns * sizeof(char *));
        for (int pos = 0; pos < p->ncur; pos++)
            r->field[p->file_to_column[pos]] = p->cur[pos];
    }
    p->ncur = 0;
}

/* Read dir/file (at most PLACES_MAX_FILE_BYTES) into a new heap buffer. */
static int read_whole_file(const char *dir, const char *file, char **out, size_t *outlen, err *e) {
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s/%s", dir, file);
    if (n < 0 || (size_t)n >= sizeof(path)) return err_invalid(e, "dir", "directory path too long");
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(e, 422, "unprocessable", "", "%s: cannot open: %s", file, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return err_set(e, 422, "unprocessable", "", "%s: not a regular file", file);
    }
    if ((uint64_t)st.st_size > PLACES_MAX_FILE_BYTES) {
        fclose(f);
        return err_set(e, 413, "payload_too_large", "", "%s: larger than %u bytes", file,
                       PLACES_MAX_FILE_BYTES);
    }
    /* Read one byte past the size seen so that a file that grew meanwhile is noticed. */
    size_t size = (size_t)st.st_size;
    char *buf = xmalloc(size + 2);
    size_t len = fread(buf, 1, size + 1, f);
    int bad = ferror(f) || len != size;
    fclose(f);
    if (bad) {
        free(buf);
        return err_set(e, 422, "unprocessable", "", "%s: read error or file changed", file);
    }
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    return 0;
}

/* Parse the text buf[0..len) of t->file into t (rows live in arena a). */
static int parse_csv(arena *a, csv_table *t, const char *buf, size_t len, err *e) {
    struct csv_parser cp;
    if (csv_init(&cp, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0)
        return err_internal(e, "csv_init failed");
    parse_state p = {.a = a, .t = t, .e = e, .line = 1, .rec_line = 1};
    const char *pos = buf, *end = buf + len;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) pos += 3; /* UTF-8 BOM */
    while (pos < end && !p.failed) {
        const char *nl = memchr(pos, '\n', (size_t)(end - pos));
        size_t n = nl ? (size_t)(nl - pos) + 1 : (size_t)(end - pos);
        if (csv_parse(&cp, pos, n, on_field, on_record, &p) != n && !p.failed) {
            p.failed = 1;
            row_error(e, t->file, p.line, "", "malformed CSV (%s)", csv_strerror(csv_error(&cp)));
        }
        pos += n;
        if (nl && !p.failed) p.line++;
    }
    if (!p.failed && csv_fini(&cp, on_field, on_record, &p) != 0 && !p.failed) {
        p.failed = 1;
        err_set(e, 422, "unprocessable", "", "%s: unterminated quoted field at end of file",
                t->file);
    }
    csv_free(&cp);
    if (p.failed) return -1;
    if (!p.header_done)
        return err_set(e, 422, "unprocessable", "", "%s: empty file (no header line)", t->file);
    return 0;
}

static int load_table(arena *a, const char *dir, csv_table *t, err *e) {
    char *buf;
    size_t len;
    if (read_whole_file(dir, t->file, &buf, &len, e) != 0) return -1;
    int rc = parse_csv(a, t, buf, len, e);
    free(buf);
    return rc;
}

/* ---- field validation (no database) ---- */

#define FIELD(t, r, col) ((r)->field[(col)])
#define NAME(t, col)     ((t)->columns[(col)])

static int check_text(const csv_table *t, const csv_row *r, int col, err *e) {
    if (!*FIELD(t, r, col)) return row_error(e, t->file, r->line, NAME(t, col), "required");
    return 0;
}

static int is_digits(const char *s, size_t n) {
    if (strlen(s) != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

static int check_digits(const csv_table *t, const csv_row *r, int col, size_t n, err *e) {
    if (check_text(t, r, col, e) != 0) return -1;
    if (!is_digits(FIELD(t, r, col), n))
        return row_error(e, t->file, r->line, NAME(t, col), "\"%s\" is not %zu digits",
                         FIELD(t, r, col), n);
    return 0;
}

static int check_slug(const csv_table *t, const csv_row *r, int col, err *e) {
    if (check_text(t, r, col, e) != 0) return -1;
    if (!places_island_id_valid(FIELD(t, r, col)))
        return row_error(e, t->file, r->line, NAME(t, col), "\"%s\" is not an id of [a-z0-9_]",
                         FIELD(t, r, col));
    return 0;
}

/* Ids of links and stations: 1–64 characters of [A-Za-z0-9_-]. */
static int check_code_id(const csv_table *t, const csv_row *r, int col, err *e) {
    const char *s = FIELD(t, r, col);
    if (check_text(t, r, col, e) != 0) return -1;
    size_t n = strlen(s);
    int ok = n <= 64;
    for (size_t i = 0; ok && i < n; i++) {
        char c = s[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '-';
    }
    if (!ok)
        return row_error(e, t->file, r->line, NAME(t, col), "\"%s\" is not an id of [A-Za-z0-9_-]",
                         s);
    return 0;
}

static int parse_double(const char *s, double *out) {
    if (!*s || !(s[0] == '-' || s[0] == '+' || s[0] == '.' || (s[0] >= '0' && s[0] <= '9')))
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static int parse_int(const char *s, long long *out) {
    if (!*s || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9'))) return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0') return -1;
    *out = v;
    return 0;
}

static int check_double(const csv_table *t, const csv_row *r, int col, double min, double max,
                        err *e) {
    double v;
    if (check_text(t, r, col, e) != 0) return -1;
    if (parse_double(FIELD(t, r, col), &v) != 0)
        return row_error(e, t->file, r->line, NAME(t, col), "\"%s\" is not a number",
                         FIELD(t, r, col));
    if (v < min || v > max)
        return row_error(e, t->file, r->line, NAME(t, col), "%s is outside %.1f–%.1f",
                         FIELD(t, r, col), min, max);
    return 0;
}

/* Integer in [min,max]; when optional, an empty field is accepted. */
static int check_int(const csv_table *t, const csv_row *r, int col, long long min, long long max,
                     int optional, err *e) {
    long long v;
    if (optional && !*FIELD(t, r, col)) return 0;
    if (check_text(t, r, col, e) != 0) return -1;
    if (parse_int(FIELD(t, r, col), &v) != 0)
        return row_error(e, t->file, r->line, NAME(t, col), "\"%s\" is not an integer",
                         FIELD(t, r, col));
    if (v < min || v > max)
        return row_error(e, t->file, r->line, NAME(t, col), "%s is outside %lld–%lld",
                         FIELD(t, r, col), min, max);
    return 0;
}

static int is_hhmm(const char *s) {
    return strlen(s) == 5 && s[0] >= '0' && s[0] <= '2' && s[1] >= '0' && s[1] <= '9' &&
           (s[0] < '2' || s[1] <= '3') && s[2] == ':' && s[3] >= '0' && s[3] <= '5' &&
           s[4] >= '0' && s[4] <= '9';
}

/* Optional "HH:MM" (24-hour). */
static int check_time(const csv_table *t, const csv_row *r, int col, err *e) {
    const char *s = FIELD(t, r, col);
    if (*s && !is_hhmm(s))
        return row_error(e, t->file, r->line, NAME(t, col), "\"%s\" is not a HH:MM time", s);
    return 0;
}

static int in_set(const char *s, const char *const *set) {
    for (; s && *set; set++)
        if (strcmp(s, *set) == 0) return 1;
    return 0;
}

static int check_oneof(const csv_table *t, const csv_row *r, int col, const char *const *set,
                       err *e) {
    if (check_text(t, r, col, e) != 0) return -1;
    if (!in_set(FIELD(t, r, col), set))
        return row_error(e, t->file, r->line, NAME(t, col), "\"%s\" is not a known value",
                         FIELD(t, r, col));
    return 0;
}

static int check_lat_lon(const csv_table *t, const csv_row *r, int lat, int lon, err *e) {
    if (check_double(t, r, lat, LAT_MIN, LAT_MAX, e) != 0) return -1;
    return check_double(t, r, lon, LON_MIN, LON_MAX, e);
}

static int validate_town(const csv_table *t, const csv_row *r, err *e) {
    if (check_digits(t, r, T_CODE, 9, e) || check_text(t, r, T_NAME, e) ||
        check_digits(t, r, T_COUNTY_CODE, 6, e) || check_text(t, r, T_COUNTY, e) ||
        check_slug(t, r, T_MAIN_ISLAND, e) || check_lat_lon(t, r, T_LAT, T_LON, e) ||
        check_oneof(t, r, T_KIND, town_kinds, e))
        return -1;
    if (strncmp(FIELD(t, r, T_CODE), FIELD(t, r, T_COUNTY_CODE), 6) != 0)
        return row_error(e, t->file, r->line, NAME(t, T_COUNTY_CODE),
                         "%s is not the county part of code %s", FIELD(t, r, T_COUNTY_CODE),
                         FIELD(t, r, T_CODE));
    return 0;
}

static int validate_island(const csv_table *t, const csv_row *r, err *e) {
    if (check_slug(t, r, I_ID, e) || check_text(t, r, I_NAME, e) ||
        check_digits(t, r, I_TOWN_CODE, 9, e) || check_lat_lon(t, r, I_LAT, I_LON, e) ||
        check_int(t, r, I_POPULATION, 0, 10000000, 0, e) ||
        check_int(t, r, I_INHABITED, 0, 1, 0, e))
        return -1;
    return 0;
}

static int validate_ferry(const csv_table *t, const csv_row *r, err *e) {
    if (check_code_id(t, r, F_ID, e) || check_slug(t, r, F_FROM, e) || check_slug(t, r, F_TO, e) ||
        check_text(t, r, F_FROM_PORT, e) || check_text(t, r, F_TO_PORT, e) ||
        check_int(t, r, F_MINUTES, 1, 24 * 60, 0, e) ||
        check_int(t, r, F_SAILINGS, 0, 1000, 1, e) || check_time(t, r, F_FIRST, e) ||
        check_time(t, r, F_LAST, e) || check_oneof(t, r, F_MODE, link_modes, e))
        return -1;
    const char *first = FIELD(t, r, F_FIRST), *last = FIELD(t, r, F_LAST);
    if (strcmp(FIELD(t, r, F_FROM), FIELD(t, r, F_TO)) == 0)
        return row_error(e, t->file, r->line, NAME(t, F_TO), "a link must join two islands");
    if (strcmp(FIELD(t, r, F_MODE), "ferry") != 0) {
        /* Bridges and roads are always open: a timetable would be a data error. */
        if (*FIELD(t, r, F_SAILINGS) || *first || *last)
            return row_error(e, t->file, r->line, NAME(t, F_SAILINGS),
                             "a %s link has no sailings or departure times", FIELD(t, r, F_MODE));
        return 0;
    }
    if (!*first != !*last)
        return row_error(e, t->file, r->line, NAME(t, *first ? F_LAST : F_FIRST),
                         "first and last departures go together");
    if (*first && strcmp(first, last) > 0)
        return row_error(e, t->file, r->line, NAME(t, F_LAST), "%s is before first departure %s",
                         last, first);
    return 0;
}

static int validate_village(const csv_table *t, const csv_row *r, err *e) {
    if (check_digits(t, r, V_CODE, 12, e) || check_text(t, r, V_NAME, e) ||
        check_digits(t, r, V_TOWN_CODE, 9, e) || check_slug(t, r, V_ISLAND_ID, e) ||
        check_int(t, r, V_POPULATION, 0, 10000000, 0, e) ||
        check_int(t, r, V_SYNTHETIC, 0, 1, 0, e))
        return -1;
    if (strncmp(FIELD(t, r, V_CODE), FIELD(t, r, V_TOWN_CODE), 9) != 0)
        return row_error(e, t->file, r->line, NAME(t, V_CODE),
                         "%s does not start with town_code %s", FIELD(t, r, V_CODE),
                         FIELD(t, r, V_TOWN_CODE));
    return 0;
}

static int validate_station(const csv_table *t, const csv_row *r, err *e) {
    if (check_code_id(t, r, S_ID, e) || check_text(t, r, S_NAME, e) ||
        check_digits(t, r, S_VILLAGE_CODE, 12, e) || check_slug(t, r, S_ISLAND_ID, e) ||
        check_oneof(t, r, S_KIND, station_kinds, e) || check_lat_lon(t, r, S_LAT, S_LON, e) ||
        check_int(t, r, S_STAFF, 0, 10000, 0, e))
        return -1;
    return 0;
}

typedef struct key_line {
    const char *key;
    long line;
} key_line;

static int key_line_cmp(const void *a, const void *b) {
    const key_line *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c) return c;
    return (x->line > y->line) - (x->line < y->line);
}

/* Refuse a primary key that appears twice in one file (an upsert would hide it). */
static int check_unique(const csv_table *t, int col, err *e) {
    if (t->nrows < 2) return 0;
    key_line *k = xcalloc(t->nrows, sizeof(*k));
    for (size_t i = 0; i < t->nrows; i++) {
        k[i].key = t->rows[i].field[col];
        k[i].line = t->rows[i].line;
    }
    qsort(k, t->nrows, sizeof(*k), key_line_cmp);
    int rc = 0;
    for (size_t i = 1; i < t->nrows && rc == 0; i++)
        if (strcmp(k[i].key, k[i - 1].key) == 0)
            rc = row_error(e, t->file, k[i].line, NAME(t, col), "%s repeats line %ld", k[i].key,
                           k[i - 1].line);
    free(k);
    return rc;
}

static int validate_table(const csv_table *t, int (*row)(const csv_table *, const csv_row *, err *),
                          int key_col, err *e) {
    for (size_t i = 0; i < t->nrows; i++)
        if (row(t, &t->rows[i], e) != 0) return -1;
    return check_unique(t, key_col, e);
}

/* ---- writing (inside the transaction) ---- */

static double num(const char *s) {
    double v = 0;
    parse_double(s, &v); /* validated already */
    return v;
}

static int64_t integer(const char *s) {
    long long v = 0;
    parse_int(s, &v); /* validated already */
    return (int64_t)v;
}

/* 1 if the row exists, 0 if not, -1 on a database error. */
static int key_exists(db *d, const char *sql, const char *key, err *e) {
    int64_t one;
    int rc = db_query_int(d, e, &one, sql, "s", key);
    return rc < 0 ? -1 : rc == 0;
}

static int check_ref(db *d, const csv_table *t, const csv_row *r, int col, const char *sql,
                     const char *what, err *e) {
    int rc = key_exists(d, sql, FIELD(t, r, col), e);
    if (rc < 0) return -1;
    if (rc == 0)
        return row_error(e, t->file, r->line, NAME(t, col), "unknown %s %s", what,
                         FIELD(t, r, col));
    return 0;
}

static const char sql_town_exists[] = "SELECT 1 FROM towns WHERE code = $1";
static const char sql_island_exists[] = "SELECT 1 FROM islands WHERE id = $1";

/* Prefix a database error with the row it happened on, keeping its status. */
static int write_failed(const csv_table *t, const csv_row *r, err *e) {
    if (e) {
        char msg[sizeof(e->message)];
        snprintf(msg, sizeof(msg), "%s", e->message);
        snprintf(e->message, sizeof(e->message), "%s line %ld: %.200s", t->file, r->line, msg);
    }
    return -1;
}

static int write_towns(db *d, const csv_table *t, err *e) {
    static const char sql[] =
        "INSERT INTO towns (code, name, county_code, county, main_island, lat, lon, kind) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (code) DO UPDATE SET "
        "name = excluded.name, county_code = excluded.county_code, county = excluded.county, "
        "main_island = excluded.main_island, lat = excluded.lat, lon = excluded.lon, "
        "kind = excluded.kind";
    for (size_t i = 0; i < t->nrows; i++) {
        char **f = t->rows[i].field;
        if (db_execf(d, e, sql, "sssssdds", f[T_CODE], f[T_NAME], f[T_COUNTY_CODE], f[T_COUNTY],
                     f[T_MAIN_ISLAND], num(f[T_LAT]), num(f[T_LON]), f[T_KIND]) != 0)
            return write_failed(t, &t->rows[i], e);
    }
    return 0;
}

/* towns.main_island can only be checked once the islands are in. */
static int check_town_islands(db *d, const csv_table *t, err *e) {
    for (size_t i = 0; i < t->nrows; i++)
        if (check_ref(d, t, &t->rows[i], T_MAIN_ISLAND, sql_island_exists, "island", e) != 0)
            return -1;
    return 0;
}

static int write_islands(db *d, const csv_table *t, err *e) {
    static const char sql[] =
        "INSERT INTO islands (id, name, town_code, lat, lon, population, inhabited) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO UPDATE SET "
        "name = excluded.name, town_code = excluded.town_code, lat = excluded.lat, "
        "lon = excluded.lon, population = excluded.population, inhabited = excluded.inhabited";
    for (size_t i = 0; i < t->nrows; i++) {
        const csv_row *r = &t->rows[i];
        char **f = r->field;
        if (check_ref(d, t, r, I_TOWN_CODE, sql_town_exists, "town", e) != 0) return -1;
        if (db_execf(d, e, sql, "sssddii", f[I_ID], f[I_NAME], f[I_TOWN_CODE], num(f[I_LAT]),
                     num(f[I_LON]), integer(f[I_POPULATION]), integer(f[I_INHABITED])) != 0)
            return write_failed(t, r, e);
    }
    return 0;
}

static int write_ferries(db *d, const csv_table *t, err *e) {
    static const char sql[] =
        "INSERT INTO ferry_links (id, from_island, to_island, from_port, to_port, minutes, "
        "sailings_per_day, first_departure, last_departure, mode) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO UPDATE SET "
        "from_island = excluded.from_island, to_island = excluded.to_island, "
        "from_port = excluded.from_port, to_port = excluded.to_port, "
        "minutes = excluded.minutes, sailings_per_day = excluded.sailings_per_day, "
        "first_departure = excluded.first_departure, last_departure = excluded.last_departure, "
        "mode = excluded.mode";
    static const char sql_null_sailings[] =
        "INSERT INTO ferry_links (id, from_island, to_island, from_port, to_port, minutes, "
        "sailings_per_day, first_departure, last_departure, mode) "
        "VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8, $9) ON CONFLICT (id) DO UPDATE SET "
        "from_island = excluded.from_island, to_island = excluded.to_island, "
        "from_port = excluded.from_port, to_port = excluded.to_port, "
        "minutes = excluded.minutes, sailings_per_day = excluded.sailings_per_day, "
        "first_departure = excluded.first_departure, last_departure = excluded.last_departure, "
        "mode = excluded.mode";
    for (size_t i = 0; i < t->nrows; i++) {
        const csv_row *r = &t->rows[i];
        char **f = r->field;
        if (check_ref(d, t, r, F_FROM, sql_island_exists, "island", e) != 0 ||
            check_ref(d, t, r, F_TO, sql_island_exists, "island", e) != 0)
            return -1;
        const char *first = *f[F_FIRST] ? f[F_FIRST] : NULL;
        const char *last = *f[F_LAST] ? f[F_LAST] : NULL;
        int rc;
        if (*f[F_SAILINGS])
            rc = db_execf(d, e, sql, "sssssiisss", f[F_ID], f[F_FROM], f[F_TO], f[F_FROM_PORT],
                          f[F_TO_PORT], integer(f[F_MINUTES]), integer(f[F_SAILINGS]), first, last,
                          f[F_MODE]);
        else
            rc = db_execf(d, e, sql_null_sailings, "sssssisss", f[F_ID], f[F_FROM], f[F_TO],
                          f[F_FROM_PORT], f[F_TO_PORT], integer(f[F_MINUTES]), first, last,
                          f[F_MODE]);
        if (rc != 0) return write_failed(t, r, e);
    }
    return 0;
}

static int write_villages(db *d, const csv_table *t, err *e) {
    static const char sql[] =
        "INSERT INTO villages (code, name, town_code, island_id, population, synthetic) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (code) DO UPDATE SET "
        "name = excluded.name, town_code = excluded.town_code, island_id = excluded.island_id, "
        "population = excluded.population, synthetic = excluded.synthetic";
    for (size_t i = 0; i < t->nrows; i++) {
        const csv_row *r = &t->rows[i];
        char **f = r->field;
        if (check_ref(d, t, r, V_TOWN_CODE, sql_town_exists, "town", e) != 0 ||
            check_ref(d, t, r, V_ISLAND_ID, sql_island_exists, "island", e) != 0)
            return -1;
        if (db_execf(d, e, sql, "ssssii", f[V_CODE], f[V_NAME], f[V_TOWN_CODE], f[V_ISLAND_ID],
                     integer(f[V_POPULATION]), integer(f[V_SYNTHETIC])) != 0)
            return write_failed(t, r, e);
    }
    return 0;
}

/* The station's town comes from its village; its island must be the village's. */
static int station_village(db *d, const csv_table *t, const csv_row *r, char town[16], err *e) {
    db_stmt *s = db_query(d, e, "SELECT town_code, island_id FROM villages WHERE code = $1", "s",
                          FIELD(t, r, S_VILLAGE_CODE));
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ERROR) {
        err_internal(e, "%s", db_errmsg(d));
        db_reset(s);
        return -1;
    }
    if (rc == DB_DONE) {
        db_reset(s);
        return row_error(e, t->file, r->line, NAME(t, S_VILLAGE_CODE), "unknown village %s",
                         FIELD(t, r, S_VILLAGE_CODE));
    }
    const char *tc = db_column_text(s, 0), *island = db_column_text(s, 1);
    int same_island = island && strcmp(island, FIELD(t, r, S_ISLAND_ID)) == 0;
    snprintf(town, 16, "%s", tc ? tc : "");
    char village_island[80];
    snprintf(village_island, sizeof(village_island), "%s", island ? island : "");
    db_reset(s);
    if (!same_island)
        return row_error(e, t->file, r->line, NAME(t, S_ISLAND_ID),
                         "%s is not the island of village %s (%s)", FIELD(t, r, S_ISLAND_ID),
                         FIELD(t, r, S_VILLAGE_CODE), village_island);
    return 0;
}

static int write_stations(db *d, const csv_table *t, err *e) {
    static const char sql[] =
        "INSERT INTO stations (id, name, village_code, town_code, island_id, kind, lat, lon, "
        "staff) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO UPDATE SET "
        "name = excluded.name, village_code = excluded.village_code, "
        "town_code = excluded.town_code, island_id = excluded.island_id, kind = excluded.kind, "
        "lat = excluded.lat, lon = excluded.lon, staff = excluded.staff";
    for (size_t i = 0; i < t->nrows; i++) {
        const csv_row *r = &t->rows[i];
        char **f = r->field;
        char town[16];
        if (check_ref(d, t, r, S_ISLAND_ID, sql_island_exists, "island", e) != 0 ||
            station_village(d, t, r, town, e) != 0)
            return -1;
        if (db_execf(d, e, sql, "ssssssddi", f[S_ID], f[S_NAME], f[S_VILLAGE_CODE], town,
                     f[S_ISLAND_ID], f[S_KIND], num(f[S_LAT]), num(f[S_LON]),
                     integer(f[S_STAFF])) != 0)
            return write_failed(t, r, e);
    }
    return 0;
}

static json_t *counts_json(const places_counts *c) {
    return json_pack("{sIsIsIsIsI}", "towns", (json_int_t)c->towns, "islands",
                     (json_int_t)c->islands, "ferry_links", (json_int_t)c->ferry_links, "villages",
                     (json_int_t)c->villages, "stations", (json_int_t)c->stations);
}

static int count_rows(db *d, places_counts *c, err *e) {
    if (db_query_int(d, e, &c->towns, "SELECT COUNT(*) FROM towns", "") < 0 ||
        db_query_int(d, e, &c->islands, "SELECT COUNT(*) FROM islands", "") < 0 ||
        db_query_int(d, e, &c->ferry_links, "SELECT COUNT(*) FROM ferry_links", "") < 0 ||
        db_query_int(d, e, &c->villages, "SELECT COUNT(*) FROM villages", "") < 0 ||
        db_query_int(d, e, &c->stations, "SELECT COUNT(*) FROM stations", "") < 0)
        return -1;
    return 0;
}

enum { TB_TOWNS, TB_ISLANDS, TB_FERRIES, TB_VILLAGES, TB_STATIONS, TB_COUNT };

static int write_all(db *d, const csv_table *tb, const char *object_id, const audit_actor *actor,
                     places_counts *counts, err *e) {
    places_counts before = {0};
    if (db_begin(d, e) != 0) return -1;
    int rc = count_rows(d, &before, e);
    if (rc == 0) rc = write_towns(d, &tb[TB_TOWNS], e);
    if (rc == 0) rc = write_islands(d, &tb[TB_ISLANDS], e);
    if (rc == 0) rc = check_town_islands(d, &tb[TB_TOWNS], e);
    if (rc == 0) rc = write_ferries(d, &tb[TB_FERRIES], e);
    if (rc == 0) rc = write_villages(d, &tb[TB_VILLAGES], e);
    if (rc == 0) rc = write_stations(d, &tb[TB_STATIONS], e);
    if (rc == 0) {
        json_t *jb = counts_json(&before), *ja = counts_json(counts);
        rc = audit_record(d, actor, "places.import", "places", object_id, jb, ja, e);
        json_decref(jb);
        json_decref(ja);
    }
    if (rc != 0) {
        db_rollback(d);
        return -1;
    }
    return db_commit(d, e);
}

int places_import_dir(db *d, const char *dir, const audit_actor *actor, places_counts *out,
                      err *e) {
    static const char *const files[TB_COUNT] = {"towns.csv", "islands.csv", "ferries.csv",
                                                "villages.csv", "stations.csv"};
    static const char *const *const layouts[TB_COUNT] = {
        town_columns, island_columns, ferry_columns, village_columns, station_columns};
    static int (*const validators[TB_COUNT])(const csv_table *, const csv_row *, err *) = {
        validate_town, validate_island, validate_ferry, validate_village, validate_station};
    static const int key_columns[TB_COUNT] = {T_CODE, I_ID, F_ID, V_CODE, S_ID};

    if (!dir || !*dir) return err_invalid(e, "dir", "no data directory given");
    if (!actor) return err_internal(e, "places_import_dir: no actor");
    arena *a = arena_new();
    csv_table tb[TB_COUNT];
    for (int i = 0; i < TB_COUNT; i++)
        table_init(&tb[i], files[i], layouts[i]);
    int rc = 0;
    for (int i = 0; i < TB_COUNT && rc == 0; i++) {
        rc = load_table(a, dir, &tb[i], e);
        if (rc == 0) rc = validate_table(&tb[i], validators[i], key_columns[i], e);
    }
    places_counts counts = {
        .towns = (int64_t)tb[TB_TOWNS].nrows,
        .islands = (int64_t)tb[TB_ISLANDS].nrows,
        .ferry_links = (int64_t)tb[TB_FERRIES].nrows,
        .villages = (int64_t)tb[TB_VILLAGES].nrows,
        .stations = (int64_t)tb[TB_STATIONS].nrows,
    };
    if (rc == 0) {
        /* The audit object id is the data set's directory name ("zhoushan"). */
        const char *slash = strrchr(dir, '/');
        const char *object_id = slash && slash[1] ? slash + 1 : dir;
        rc = write_all(d, tb, object_id, actor, &counts, e);
    }
    for (int i = 0; i < TB_COUNT; i++)
        table_free(&tb[i]);
    arena_free(a);
    if (rc == 0 && out) *out = counts;
    return rc;
}

/* ---- queries ---- */

static json_t *wrap_items(json_t *items) {
    if (!items) return NULL;
    return json_pack("{so}", "items", items);
}

/* Turn 0/1 integer members named key into JSON booleans. */
static void members_to_bool(json_t *items, const char *key) {
    size_t i;
    json_t *row;
    json_array_foreach(items, i, row) {
        json_t *v = json_object_get(row, key);
        json_object_set_new(row, key, json_boolean(v && json_integer_value(v) != 0));
    }
}

json_t *places_towns(db *d, err *e) {
    db_stmt *s = db_query(d, e,
                          "SELECT t.code, t.name, t.county, t.kind, t.main_island, t.lat, t.lon, "
                          "(SELECT COUNT(*) FROM villages v WHERE v.town_code = t.code) "
                          "AS villages, "
                          "(SELECT COUNT(*) FROM stations s WHERE s.town_code = t.code) "
                          "AS stations "
                          "FROM towns t ORDER BY t.code",
                          "");
    if (!s) return NULL;
    return wrap_items(db_rows_json(s, PLACES_MAX_ROWS, e));
}

json_t *places_islands(db *d, err *e) {
    db_stmt *s = db_query(d, e,
                          "SELECT id, name, town_code, lat, lon, population, inhabited "
                          "FROM islands ORDER BY id",
                          "");
    if (!s) return NULL;
    json_t *items = db_rows_json(s, PLACES_MAX_ROWS, e);
    if (!items) return NULL;
    members_to_bool(items, "inhabited");
    return wrap_items(items);
}

json_t *places_villages(db *d, const char *town_code, err *e) {
    static const char sql_all[] =
        "SELECT v.code, v.name, v.town_code, t.name AS town_name, v.island_id, "
        "i.name AS island_name, v.population, v.synthetic "
        "FROM villages v JOIN towns t ON t.code = v.town_code "
        "JOIN islands i ON i.id = v.island_id ORDER BY v.code";
    static const char sql_town[] =
        "SELECT v.code, v.name, v.town_code, t.name AS town_name, v.island_id, "
        "i.name AS island_name, v.population, v.synthetic "
        "FROM villages v JOIN towns t ON t.code = v.town_code "
        "JOIN islands i ON i.id = v.island_id WHERE v.town_code = $1 ORDER BY v.code";
    db_stmt *s = town_code ? db_query(d, e, sql_town, "s", town_code) : db_query(d, e, sql_all, "");
    if (!s) return NULL;
    json_t *items = db_rows_json(s, PLACES_MAX_ROWS, e);
    if (!items) return NULL;
    members_to_bool(items, "synthetic");
    return wrap_items(items);
}

/* A NULL filter matches everything: COALESCE($n, column) compares the column with
 * itself, which keeps one SQL text for both backends without building SQL. */
#define STATION_WHERE                                                                              \
    "WHERE s.town_code = COALESCE($1, s.town_code) AND s.island_id = COALESCE($2, s.island_id) "   \
    "AND s.kind = COALESCE($3, s.kind) "

json_t *places_stations(db *d, const places_station_filter *f, err *e) {
    places_station_filter none = {0};
    if (!f) f = &none;
    int64_t limit = f->limit <= 0 ? PLACES_DEFAULT_LIMIT : f->limit;
    if (limit > PLACES_MAX_LIMIT) limit = PLACES_MAX_LIMIT;
    int64_t offset = f->offset < 0 ? 0 : f->offset;

    int64_t total = 0;
    if (db_query_int(d, e, &total, "SELECT COUNT(*) FROM stations s " STATION_WHERE, "sss",
                     f->town_code, f->island_id, f->kind) < 0)
        return NULL;
    db_stmt *s = db_query(d, e,
                          "SELECT s.id, s.name, s.kind, s.village_code, v.name AS village_name, "
                          "s.town_code, t.name AS town_name, s.island_id, i.name AS island_name, "
                          "s.lat, s.lon, s.staff "
                          "FROM stations s JOIN villages v ON v.code = s.village_code "
                          "JOIN towns t ON t.code = s.town_code "
                          "JOIN islands i ON i.id = s.island_id " STATION_WHERE
                          "ORDER BY s.id LIMIT $4 OFFSET $5",
                          "sssii", f->town_code, f->island_id, f->kind, limit, offset);
    if (!s) return NULL;
    json_t *items = db_rows_json(s, (size_t)limit, e);
    if (!items) return NULL;
    return json_pack("{sosIsIsI}", "items", items, "total", (json_int_t)total, "limit",
                     (json_int_t)limit, "offset", (json_int_t)offset);
}

/* ---- validators shared with the API ---- */

int places_kind_valid(const char *s) {
    return in_set(s, station_kinds);
}

int places_town_code_valid(const char *s) {
    return s && is_digits(s, 9);
}

int places_town_exists(db *d, const char *code, err *e) {
    if (!places_town_code_valid(code)) return 0;
    int64_t one = 0;
    int rc = db_query_int(d, e, &one, "SELECT 1 FROM towns WHERE code = $1", "s", code);
    return rc < 0 ? -1 : rc == 0;
}

int places_island_id_valid(const char *s) {
    if (!s || !*s) return 0;
    size_t n = strlen(s);
    if (n > 64) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return 0;
    }
    return 1;
}
