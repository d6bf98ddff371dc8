/* Unit tests for src/island/places.c: importing the shipped Zhoushan data into an
 * in-memory SQLite database, the validation of bad rows (with their line numbers
 * and an all-or-nothing rollback), quoting and BOM handling, idempotent
 * re-import, and the filters of the query functions.
 *
 * Run from the repository root (the data is read from data/zhoushan). */
#include "test.h"

#include <stdlib.h>
#include <unistd.h>

#include "base/xmalloc.h"
#include "db/db.h"
#include "db/migrate.h"
#include "island/places.h"

#define DATA_DIR "data/zhoushan"

static const char *const csv_files[] = {"towns.csv",    "islands.csv",  "ferries.csv",
                                        "villages.csv", "stations.csv", NULL};

static const audit_actor test_actor = {0, "system", NULL};

static int64_t places_rows(db *d) {
    return test_db_count(d, "SELECT COUNT(*) FROM towns") +
           test_db_count(d, "SELECT COUNT(*) FROM islands") +
           test_db_count(d, "SELECT COUNT(*) FROM ferry_links") +
           test_db_count(d, "SELECT COUNT(*) FROM villages") +
           test_db_count(d, "SELECT COUNT(*) FROM stations");
}

static int64_t import_audits(db *d) {
    return test_db_count(d, "SELECT COUNT(*) FROM audit_log WHERE action = 'places.import'");
}

/* ---- temp copies of the data set ---- */

static char *slurp(const char *dir, const char *file, size_t *len) {
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = xmalloc(1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

static void spill(const char *dir, const char *file, const char *text) {
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(text, 1, strlen(text), f);
    fclose(f);
}

/* A new temp directory holding a copy of the shipped CSV files. Caller frees the name
 * after remove_copy(). */
static char *make_copy(void) {
    char *dir = xstrdup("/tmp/isle-places-XXXXXX");
    if (!mkdtemp(dir)) {
        free(dir);
        return NULL;
    }
    for (int i = 0; csv_files[i]; i++) {
        char *text = slurp(DATA_DIR, csv_files[i], NULL);
        if (!text) continue;
        spill(dir, csv_files[i], text);
        free(text);
    }
    return dir;
}

static void remove_copy(char *dir) {
    if (!dir) return;
    for (int i = 0; csv_files[i]; i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, csv_files[i]);
        unlink(path);
    }
    rmdir(dir);
    free(dir);
}

/* Replace line `line` (1-based, without its newline) of dir/file with `with`. */
static void replace_line(const char *dir, const char *file, int line, const char *with) {
    char *text = slurp(dir, file, NULL);
    if (!text) return;
    size_t cap = strlen(text) + strlen(with) + 1;
    char *out = xmalloc(cap);
    size_t o = 0;
    int cur = 1;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        const char *src = cur == line ? with : p;
        size_t sn = cur == line ? strlen(with) : n;
        memcpy(out + o, src, sn);
        o += sn;
        if (nl) out[o++] = '\n';
        p += n + (nl ? 1 : 0);
        cur++;
    }
    out[o] = '\0';
    spill(dir, file, out);
    free(out);
    free(text);
}

/* Import dir into a fresh database and expect a 422 naming field and starting with
 * prefix; the tables must stay empty. */
static void expect_bad(const char *dir, const char *field, const char *prefix) {
    db *d = test_db_open();
    CHECK(d != NULL);
    if (!d) return;
    err e = {0};
    places_counts c = {0};
    CHECK_INT(places_import_dir(d, dir, &test_actor, &c, &e), -1);
    CHECK_INT(e.status, 422);
    CHECK_STR(e.code, "unprocessable");
    CHECK_STR(e.field, field);
    if (strncmp(e.message, prefix, strlen(prefix)) != 0) {
        fprintf(stderr, "    message \"%s\" does not start with \"%s\"\n", e.message, prefix);
        test_failures_in_current++;
    }
    CHECK_INT(places_rows(d), 0);
    CHECK_INT(import_audits(d), 0);
    db_close(d);
}

/* ---- tests ---- */

TEST(places_import_counts_and_rows) {
    db *d = test_db_open();
    CHECK(d != NULL);
    if (!d) return;
    err e = {0};
    places_counts c = {0};
    int rc = places_import_dir(d, DATA_DIR, &test_actor, &c, &e);
    if (rc != 0) fprintf(stderr, "    import: %s\n", e.message);
    CHECK_INT(rc, 0);
    CHECK_INT(c.towns, 36);
    CHECK_INT(c.islands, 48);
    CHECK_INT(c.ferry_links, 55);
    CHECK_INT(c.villages, 395);
    CHECK_INT(c.stations, 411);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM towns"), 36);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM islands"), 48);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM islands WHERE inhabited = 1"), 47);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM ferry_links"), 55);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM ferry_links WHERE mode = 'bridge'"), 11);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM ferry_links WHERE sailings_per_day IS NULL"),
              11);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM villages"), 395);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM villages WHERE synthetic = 0"), 33);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM stations"), 411);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM stations WHERE kind = '服务中心'"), 36);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM stations WHERE kind = '便民服务站'"), 341);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM stations WHERE kind = '代办点'"), 34);
    /* Every station's town is the prefix of its village code. */
    CHECK_INT(
        test_db_count(d, "SELECT COUNT(*) FROM stations WHERE town_code <> SUBSTR(village_code, 1, "
                         "9)"),
        0);
    CHECK_INT(import_audits(d), 1);

    /* Known rows. */
    db_stmt *s =
        db_query(d, &e, "SELECT name, county, main_island, kind, lat FROM towns WHERE code = $1",
                 "s", "330902002");
    CHECK(s != NULL);
    if (s && db_step(s) == DB_ROW) {
        CHECK_STR(db_column_text(s, 0), "昌国街道");
        CHECK_STR(db_column_text(s, 1), "定海区");
        CHECK_STR(db_column_text(s, 2), "zhoushan");
        CHECK_STR(db_column_text(s, 3), "街道");
        CHECK(db_column_double(s, 4) > 30.02 && db_column_double(s, 4) < 30.03);
    } else {
        CHECK(!"town 330902002 missing");
    }
    if (s) db_reset(s);
    s = db_query(d, &e,
                 "SELECT minutes, sailings_per_day, first_departure, last_departure, mode, "
                 "from_port FROM ferry_links WHERE id = $1",
                 "s", "L045");
    CHECK(s != NULL);
    if (s && db_step(s) == DB_ROW) {
        CHECK_INT(db_column_int64(s, 0), 120);
        CHECK_INT(db_column_int64(s, 1), 2);
        CHECK_STR(db_column_text(s, 2), "10:30");
        CHECK_STR(db_column_text(s, 3), "13:30");
        CHECK_STR(db_column_text(s, 4), "ferry");
        CHECK_STR(db_column_text(s, 5), "定海三江客运码头");
    } else {
        CHECK(!"link L045 missing");
    }
    if (s) db_reset(s);
    s = db_query(d, &e,
                 "SELECT sailings_per_day, first_departure, mode FROM ferry_links WHERE id = $1",
                 "s", "L001");
    if (s && db_step(s) == DB_ROW) {
        CHECK_INT(db_column_type(s, 0), DB_NULL);
        CHECK(db_column_text(s, 1) == NULL);
        CHECK_STR(db_column_text(s, 2), "bridge");
    } else {
        CHECK(!"link L001 missing");
    }
    if (s) db_reset(s);
    s = db_query(d, &e, "SELECT town_code, island_id, kind, staff FROM stations WHERE id = $1", "s",
                 "S0001");
    if (s && db_step(s) == DB_ROW) {
        CHECK_STR(db_column_text(s, 0), "330902002");
        CHECK_STR(db_column_text(s, 1), "zhoushan");
        CHECK_STR(db_column_text(s, 2), "服务中心");
        CHECK_INT(db_column_int64(s, 3), 17);
    } else {
        CHECK(!"station S0001 missing");
    }
    if (s) db_reset(s);
    db_close(d);
}

TEST(places_import_bad_row_rolls_back) {
    char *dir = make_copy();
    CHECK(dir != NULL);
    if (!dir) return;
    /* Stations are written last, so everything before them must be rolled back. */
    replace_line(dir, "stations.csv", 100,
                 "S0099,东山岙社区便民服务站,330902008005,zhoushan,便民服务站,39.0995,122.0846,2");
    expect_bad(dir, "lat", "stations.csv line 100: field lat:");
    remove_copy(dir);
}

TEST(places_import_bad_rows) {
    struct {
        const char *file;
        int line;
        const char *with;
        const char *field;
        const char *prefix;
    } cases[] = {
        {"ferries.csv", 46,
         "L045,zhoushan,sijiao,定海三江客运码头,嵊泗李柱山码头,120,2,25:00,13:30,ferry", "first",
         "ferries.csv line 46: field first:"},
        {"ferries.csv", 46,
         "L045,zhoushan,sijiao,定海三江客运码头,嵊泗李柱山码头,0,2,10:30,13:30,ferry", "minutes",
         "ferries.csv line 46: field minutes:"},
        {"ferries.csv", 46,
         "L045,zhoushan,sijiao,定海三江客运码头,嵊泗李柱山码头,120,2,10:30,13:30,boat", "mode",
         "ferries.csv line 46: field mode:"},
        {"ferries.csv", 46,
         "L045,zhoushan,atlantis,定海三江客运码头,嵊泗李柱山码头,120,2,10:30,13:30,ferry",
         "to_island", "ferries.csv line 46: field to_island: unknown island atlantis"},
        {"ferries.csv", 2, "L001,zhoushan,lidiao,岑港大桥,岑港大桥,3,4,,,bridge",
         "sailings_per_day", "ferries.csv line 2: field sailings_per_day:"},
        {"villages.csv", 11, "330902002010,芙蓉洲社区,330902002,nowhere,4810,1", "island_id",
         "villages.csv line 11: field island_id: unknown island nowhere"},
        {"villages.csv", 11, "330902002010,芙蓉洲社区,330902002,zhoushan,,1", "population",
         "villages.csv line 11: field population: required"},
        {"villages.csv", 11, "330902002010,芙蓉洲社区,330902002,zhoushan,12x,1", "population",
         "villages.csv line 11: field population:"},
        {"villages.csv", 12, "330902002010,人民社区,330902002,zhoushan,7380,1", "code",
         "villages.csv line 12: field code: 330902002010 repeats line 11"},
        {"villages.csv", 11, "330902002010,芙蓉洲社区,330902002,zhoushan,4810", "",
         "villages.csv line 11: expected 6 fields, found 5"},
        {"towns.csv", 20, "330903102,虾峙镇,330903,普陀区,xiazhi,29.7800,122.2750,市", "kind",
         "towns.csv line 20: field kind:"},
        {"towns.csv", 20, "330903102,虾峙镇,330903,普陀区,atlantis,29.7800,122.2750,镇",
         "main_island", "towns.csv line 20: field main_island: unknown island atlantis"},
        {"towns.csv", 20, "330903102,虾峙镇,330903,普陀区,xiazhi,29.7800,124.2750,镇", "lon",
         "towns.csv line 20: field lon:"},
        {"towns.csv", 1, "code,name,county_code,county,main_island,lat,lon", "kind",
         "towns.csv line 1: field kind: missing column"},
        {"islands.csv", 3, "jintang,金塘岛,330902999,30.0450,121.8800,40900,1", "town_code",
         "islands.csv line 3: field town_code: unknown town 330902999"},
        {"islands.csv", 3, "jintang,金塘岛,330902100,30.0450,121.8800,40900,2", "inhabited",
         "islands.csv line 3: field inhabited:"},
        {"stations.csv", 2,
         "S0001,昌国街道便民服务中心,330902002001,jintang,服务中心,30.0225,122.1005,17",
         "island_id", "stations.csv line 2: field island_id:"},
        {"stations.csv", 2,
         "S0001,昌国街道便民服务中心,330902002001,zhoushan,服务点,30.0225,122.1005,17", "kind",
         "stations.csv line 2: field kind:"},
        {"stations.csv", 2,
         "S0001,昌国街道便民服务中心,330902002999,zhoushan,服务中心,30.0225,122.1005,17",
         "village_code", "stations.csv line 2: field village_code: unknown village"},
        {"stations.csv", 2,
         "S0001,\"bad \"quote,330902002001,zhoushan,服务中心,30.0225,122.1005,17", "",
         "stations.csv line 2: malformed CSV"},
        {"stations.csv", 2, "S0001,\xe6\x98,330902002001,zhoushan,服务中心,30.0225,122.1005,17",
         "name", "stations.csv line 2: field name: not valid UTF-8"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *dir = make_copy();
        CHECK(dir != NULL);
        if (!dir) return;
        replace_line(dir, cases[i].file, cases[i].line, cases[i].with);
        int before = test_failures_in_current;
        expect_bad(dir, cases[i].field, cases[i].prefix);
        if (test_failures_in_current != before) fprintf(stderr, "    (case %zu)\n", i);
        remove_copy(dir);
    }
}

TEST(places_import_limits) {
    char *dir = make_copy();
    CHECK(dir != NULL);
    if (!dir) return;
    /* A field over 1 KiB names its column. */
    char line[1400];
    char big[1100];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    snprintf(line, sizeof(line), "330902002010,%s,330902002,zhoushan,4810,1", big);
    replace_line(dir, "villages.csv", 11, line);
    expect_bad(dir, "name", "villages.csv line 11: field name: longer than 1024 bytes");
    remove_copy(dir);

    /* A missing file. */
    dir = make_copy();
    CHECK(dir != NULL);
    if (!dir) return;
    char path[512];
    snprintf(path, sizeof(path), "%s/ferries.csv", dir);
    unlink(path);
    db *d = test_db_open();
    err e = {0};
    CHECK_INT(places_import_dir(d, dir, &test_actor, NULL, &e), -1);
    CHECK(strstr(e.message, "ferries.csv") != NULL);
    CHECK_INT(places_rows(d), 0);
    db_close(d);

    /* A file over 8 MiB is refused before parsing (413). */
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        static char chunk[65536];
        memset(chunk, '\n', sizeof(chunk));
        for (int i = 0; i < 129; i++)
            fwrite(chunk, 1, sizeof(chunk), f);
        fclose(f);
        d = test_db_open();
        err_clear(&e);
        CHECK_INT(places_import_dir(d, dir, &test_actor, NULL, &e), -1);
        CHECK_INT(e.status, 413);
        CHECK_STR(e.code, "payload_too_large");
        db_close(d);
    }
    remove_copy(dir);
}

TEST(places_import_quotes_bom_and_line_numbers) {
    char *dir = make_copy();
    CHECK(dir != NULL);
    if (!dir) return;
    /* A BOM before the header, quoted fields, CRLF line ends, and a quoted newline. */
    char *towns = slurp(dir, "towns.csv", NULL);
    CHECK(towns != NULL);
    if (towns) {
        size_t n = strlen(towns);
        char *with_bom = xmalloc(n + 4);
        memcpy(with_bom, "\xEF\xBB\xBF", 3);
        memcpy(with_bom + 3, towns, n + 1);
        spill(dir, "towns.csv", with_bom);
        free(with_bom);
        free(towns);
    }
    replace_line(dir, "towns.csv", 2,
                 "330902002,\"昌国街道\",330902,\"定海区\",zhoushan,30.0225,122.1005,街道\r");
    replace_line(dir, "villages.csv", 10,
                 "330902002009,\"东管\n庙社区\",330902002,zhoushan,4330,1");
    replace_line(dir, "islands.csv", 3,
                 "jintang,\"金塘岛, \"\"金塘\"\"\",330902100,30.0450,121.8800,40900,1");

    db *d = test_db_open();
    err e = {0};
    places_counts c = {0};
    int rc = places_import_dir(d, dir, &test_actor, &c, &e);
    if (rc != 0) fprintf(stderr, "    import: %s\n", e.message);
    CHECK_INT(rc, 0);
    CHECK_INT(c.towns, 36);
    CHECK_INT(c.villages, 395);
    db_stmt *s = db_query(d, &e, "SELECT name FROM towns WHERE code = $1", "s", "330902002");
    if (s && db_step(s) == DB_ROW)
        CHECK_STR(db_column_text(s, 0), "昌国街道");
    else
        CHECK(!"town missing");
    if (s) db_reset(s);
    s = db_query(d, &e, "SELECT name FROM islands WHERE id = $1", "s", "jintang");
    if (s && db_step(s) == DB_ROW)
        CHECK_STR(db_column_text(s, 0), "金塘岛, \"金塘\"");
    else
        CHECK(!"island missing");
    if (s) db_reset(s);
    s = db_query(d, &e, "SELECT name FROM villages WHERE code = $1", "s", "330902002009");
    if (s && db_step(s) == DB_ROW)
        CHECK_STR(db_column_text(s, 0), "东管\n庙社区");
    else
        CHECK(!"village missing");
    if (s) db_reset(s);
    db_close(d);

    /* The quoted newline moves later rows down one physical line: the row that was
     * line 20 is now on line 21, and the error says so. */
    replace_line(dir, "villages.csv", 21, "330902003007,晓峰社区,330902003,zhoushan,-5,1");
    expect_bad(dir, "population", "villages.csv line 21: field population:");
    remove_copy(dir);
}

TEST(places_reimport_is_idempotent) {
    db *d = test_db_open();
    CHECK(d != NULL);
    if (!d) return;
    err e = {0};
    places_counts c = {0};
    CHECK_INT(places_import_dir(d, DATA_DIR, &test_actor, &c, &e), 0);
    CHECK_INT(places_import_dir(d, DATA_DIR, &test_actor, &c, &e), 0);
    CHECK_INT(c.stations, 411);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM towns"), 36);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM stations"), 411);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM villages"), 395);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM ferry_links"), 55);
    CHECK_INT(import_audits(d), 2);
    /* The audit rows record the counts and keep the chain intact. */
    int64_t audited = 0;
    CHECK_INT(db_query_int(d, &e, &audited,
                           "SELECT COUNT(*) FROM audit_log WHERE action = 'places.import' AND "
                           "object_type = 'places' AND object_id = 'zhoushan' AND "
                           "after_json LIKE '%\"stations\":411%'",
                           ""),
              0);
    CHECK_INT(audited, 2);
    audit_verify_result vr = {0};
    CHECK_INT(audit_verify(d, &vr, &e), 0);
    CHECK(vr.ok);

    /* A changed row is updated in place. */
    char *dir = make_copy();
    CHECK(dir != NULL);
    if (dir) {
        replace_line(dir, "stations.csv", 2,
                     "S0001,昌国街道便民服务中心,330902002001,zhoushan,服务中心,30.0225,122.1005,"
                     "20");
        CHECK_INT(places_import_dir(d, dir, &test_actor, &c, &e), 0);
        int64_t staff = 0;
        CHECK_INT(
            db_query_int(d, &e, &staff, "SELECT staff FROM stations WHERE id = $1", "s", "S0001"),
            0);
        CHECK_INT(staff, 20);
        CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM stations"), 411);
        remove_copy(dir);
    }
    db_close(d);
}

static json_t *find_item(json_t *items, const char *key, const char *value) {
    size_t i;
    json_t *row;
    json_array_foreach(items, i, row) {
        const char *v = json_string_value(json_object_get(row, key));
        if (v && strcmp(v, value) == 0) return row;
    }
    return NULL;
}

static int64_t total_of(json_t *o) {
    return json_integer_value(json_object_get(o, "total"));
}

static size_t items_of(json_t *o) {
    return json_array_size(json_object_get(o, "items"));
}

TEST(places_queries_and_filters) {
    db *d = test_db_open();
    CHECK(d != NULL);
    if (!d) return;
    err e = {0};
    CHECK_INT(places_import_dir(d, DATA_DIR, &test_actor, NULL, &e), 0);

    json_t *towns = places_towns(d, &e);
    CHECK(towns != NULL);
    CHECK_INT(items_of(towns), 36);
    json_t *liuheng = find_item(json_object_get(towns, "items"), "code", "330903100");
    CHECK(liuheng != NULL);
    if (liuheng) {
        CHECK_STR(json_string_value(json_object_get(liuheng, "name")), "六横镇");
        CHECK_STR(json_string_value(json_object_get(liuheng, "county")), "普陀区");
        CHECK_STR(json_string_value(json_object_get(liuheng, "kind")), "镇");
        CHECK_STR(json_string_value(json_object_get(liuheng, "main_island")), "liuheng");
        CHECK(json_is_real(json_object_get(liuheng, "lat")));
        CHECK_INT(json_integer_value(json_object_get(liuheng, "villages")), 26);
        CHECK_INT(json_integer_value(json_object_get(liuheng, "stations")), 27);
    }
    long long villages = 0, stations = 0;
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(towns, "items"), i, row) {
        villages += json_integer_value(json_object_get(row, "villages"));
        stations += json_integer_value(json_object_get(row, "stations"));
    }
    CHECK_INT(villages, 395);
    CHECK_INT(stations, 411);
    json_decref(towns);

    json_t *islands = places_islands(d, &e);
    CHECK(islands != NULL);
    CHECK_INT(items_of(islands), 48);
    json_t *yushan = find_item(json_object_get(islands, "items"), "id", "yushan");
    CHECK(yushan && json_is_false(json_object_get(yushan, "inhabited")));
    json_t *zhoushan = find_item(json_object_get(islands, "items"), "id", "zhoushan");
    CHECK(zhoushan && json_is_true(json_object_get(zhoushan, "inhabited")));
    json_decref(islands);

    json_t *v = places_villages(d, NULL, &e);
    CHECK_INT(items_of(v), 395);
    json_decref(v);
    v = places_villages(d, "330903100", &e);
    CHECK_INT(items_of(v), 26);
    row = json_array_get(json_object_get(v, "items"), 0);
    CHECK_STR(json_string_value(json_object_get(row, "town_name")), "六横镇");
    CHECK(json_is_boolean(json_object_get(row, "synthetic")));
    json_decref(v);
    v = places_villages(d, "330999999", &e);
    CHECK_INT(items_of(v), 0);
    json_decref(v);

    json_t *st = places_stations(d, NULL, &e);
    CHECK_INT(total_of(st), 411);
    CHECK_INT(items_of(st), PLACES_DEFAULT_LIMIT);
    row = json_array_get(json_object_get(st, "items"), 0);
    CHECK_STR(json_string_value(json_object_get(row, "id")), "S0001");
    CHECK_STR(json_string_value(json_object_get(row, "town_name")), "昌国街道");
    CHECK_STR(json_string_value(json_object_get(row, "island_name")), "舟山本岛");
    CHECK_STR(json_string_value(json_object_get(row, "village_code")), "330902002001");
    json_decref(st);

    places_station_filter f = {.kind = PLACES_KIND_CENTRE, .limit = 200};
    st = places_stations(d, &f, &e);
    CHECK_INT(total_of(st), 36);
    CHECK_INT(items_of(st), 36);
    json_decref(st);

    f = (places_station_filter){.town_code = "330903100"};
    st = places_stations(d, &f, &e);
    CHECK_INT(total_of(st), 27);
    json_decref(st);

    f = (places_station_filter){.town_code = "330903100", .kind = PLACES_KIND_STATION};
    st = places_stations(d, &f, &e);
    CHECK_INT(total_of(st), 21);
    CHECK_INT(items_of(st), 21);
    json_array_foreach(json_object_get(st, "items"), i, row) {
        CHECK_STR(json_string_value(json_object_get(row, "kind")), PLACES_KIND_STATION);
        CHECK_STR(json_string_value(json_object_get(row, "town_code")), "330903100");
    }
    json_decref(st);

    f = (places_station_filter){.island_id = "liuheng"};
    st = places_stations(d, &f, &e);
    CHECK_INT(total_of(st), 23);
    json_decref(st);

    f = (places_station_filter){.island_id = "atlantis"};
    st = places_stations(d, &f, &e);
    CHECK_INT(total_of(st), 0);
    CHECK_INT(items_of(st), 0);
    json_decref(st);

    /* Paging: the last page, and a limit past the maximum is clamped. */
    f = (places_station_filter){.limit = 200, .offset = 400};
    st = places_stations(d, &f, &e);
    CHECK_INT(total_of(st), 411);
    CHECK_INT(items_of(st), 11);
    json_decref(st);
    f = (places_station_filter){.limit = 5000};
    st = places_stations(d, &f, &e);
    CHECK_INT(items_of(st), PLACES_MAX_LIMIT);
    CHECK_INT(json_integer_value(json_object_get(st, "limit")), PLACES_MAX_LIMIT);
    json_decref(st);
    db_close(d);
}

TEST(places_validators) {
    CHECK(places_town_code_valid("330903100"));
    CHECK(!places_town_code_valid("33090310"));
    CHECK(!places_town_code_valid("3309031000"));
    CHECK(!places_town_code_valid("33090310x"));
    CHECK(!places_town_code_valid(NULL));
    CHECK(places_kind_valid("代办点"));
    CHECK(!places_kind_valid("代办"));
    CHECK(!places_kind_valid(NULL));
    CHECK(places_island_id_valid("da_changtu2"));
    CHECK(!places_island_id_valid("Liuheng"));
    CHECK(!places_island_id_valid(""));
    CHECK(!places_island_id_valid("a-b"));
}
