/* Unit tests for src/island/travel.c and coverage.c.
 *
 * Two worlds: a small synthetic one written straight into the places tables (five
 * islands, one bridge, ferries with 3, 2, 1 and 0 sailings, every port at its
 * island's point since no ports file is read), where every expected time is worked
 * out by hand; and the shipped Zhoushan data (imported from data/zhoushan), for the
 * acceptance case (东极 at 16:00 from the city is the next morning), name
 * resolution, properties that must hold for any query (FIFO, concatenation, three
 * code paths agreeing) and the service circle against brute force.
 *
 * Run from the repository root (data/ is read from there). */
#include "test.h"

#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/xmalloc.h"
#include "db/db.h"
#include "island/coverage.h"
#include "island/places.h"
#include "island/travel.h"
#include "workcal/workcal.h"

static const audit_actor travel_test_actor = {0, "system", NULL};

/* Shanghai local "YYYY-MM-DD HH:MM" → unix seconds. */
static int64_t at(const char *local) {
    int64_t t = 0;
    if (workcal_local_parse(local, &t) != 0) fprintf(stderr, "    bad time %s\n", local);
    return t;
}

static const char *fmt(int64_t t, char *buf) {
    if (t == TRAVEL_NEVER) return "never";
    return workcal_local_format(t, buf, 32);
}

#define CHECK_AT(t, want)                                                                          \
    do {                                                                                           \
        char b_[32];                                                                               \
        CHECK_STR(fmt((t), b_), (want));                                                           \
    } while (0)

/* ---- the synthetic world ---- */

static int exec_sql(db *d, const char *sql) {
    err e = {0};
    if (db_exec(d, sql, &e) != 0) {
        fprintf(stderr, "    sql: %s\n", e.message);
        return -1;
    }
    return 0;
}

/*   a (30.00,122.00) ══ bridge 5 min ══ b (30.00,122.10)
 *   a ── ferry 30 min, 3 a day 08:00–16:00 (08:00, 12:00, 16:00) ── c (30.10,122.00)
 *   b ── ferry 10 min, 2 a day 07:00–17:00 (07:00, 17:00) ── c
 *   c ── ferry 20 min, 1 a day at 09:00 ── d (30.20,122.20)
 *   a ── charter only (0 sailings) ── e (30.30,122.30)
 * Villages (population): A1 1000 (station S1 at a's point), A2 2000 (station S2,
 * 0.05° east), A3 3000 (no station: at the mean of S1 and S2), B1 500 (代办点 S3), C1
 * 400 (服务中心 S4), D1 100 (便民服务站 S5), E1 50 (no station, at e's point). */
static db *synthetic_db(void) {
    db *d = test_db_open();
    if (!d) return NULL;
    static const char *const sql[] = {
        "INSERT INTO towns VALUES ('339999001','甲镇','339999','测试县','a',30.0,122.0,'镇')",
        "INSERT INTO islands VALUES ('a','甲岛','339999001',30.00,122.00,6000,1),"
        "('b','乙岛','339999001',30.00,122.10,500,1),('c','丙岛','339999001',30.10,122.00,400,1),"
        "('d','丁山','339999001',30.20,122.20,100,1),('e','戊岛','339999001',30.30,122.30,50,1)",
        "INSERT INTO ferry_links VALUES "
        "('L1','a','b','甲桥','甲桥',5,NULL,NULL,NULL,'bridge'),"
        "('L2','a','c','甲码头','丙码头',30,3,'08:00','16:00','ferry'),"
        "('L3','b','c','乙码头','丙码头',10,2,'07:00','17:00','ferry'),"
        "('L4','c','d','丙码头','丁码头',20,1,'09:00','09:00','ferry'),"
        "('L5','a','e','甲码头','戊码头(包船)',15,0,NULL,NULL,'ferry')",
        "INSERT INTO villages VALUES ('339999001201','甲一村','339999001','a',1000,1),"
        "('339999001202','甲二村','339999001','a',2000,1),"
        "('339999001203','甲三村','339999001','a',3000,1),"
        "('339999001204','乙村','339999001','b',500,1),"
        "('339999001205','丙村','339999001','c',400,1),"
        "('339999001206','丁村','339999001','d',100,1),"
        "('339999001207','戊村','339999001','e',50,1)",
        "INSERT INTO stations (id, name, village_code, town_code, island_id, kind, lat, lon, "
        "staff) VALUES "
        "('S1','甲一站','339999001201','339999001','a','便民服务站',30.00,122.00,1),"
        "('S2','甲二站','339999001202','339999001','a','便民服务站',30.00,122.05,1),"
        "('S3','乙代办点','339999001204','339999001','b','代办点',30.00,122.10,1),"
        "('S4','甲镇便民服务中心','339999001205','339999001','c','服务中心',30.10,122.00,5),"
        "('S5','丁站','339999001206','339999001','d','便民服务站',30.20,122.20,1)",
    };
    for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++)
        if (exec_sql(d, sql[i]) != 0) {
            db_close(d);
            return NULL;
        }
    return d;
}

/* The synthetic graph, with no ports file (data dir without island/). */
static travel_graph *synthetic_graph(db **out) {
    db *d = synthetic_db();
    if (!d) return NULL;
    err e = {0};
    travel_graph *g = travel_load(d, "/nonexistent-isle-data", &e);
    if (!g) fprintf(stderr, "    travel_load: %s\n", e.message);
    if (out)
        *out = d;
    else
        db_close(d);
    return g;
}

static travel_place island(const travel_graph *g, const char *id) {
    travel_place p = {0};
    if (travel_place_island(g, id, &p) != 0) fprintf(stderr, "    no island %s\n", id);
    return p;
}

static int64_t trip(const travel_graph *g, const char *from, const char *to, const char *when) {
    travel_place a = island(g, from), b = island(g, to);
    return travel_time(g, &a, &b, at(when));
}

TEST(travel_departures_model) {
    travel_graph *g = synthetic_graph(NULL);
    CHECK(g != NULL);
    if (!g) return;
    int deps[64];
    CHECK_INT(travel_departures(g, "L2", deps, 64), 3); /* evenly spaced */
    CHECK_INT(deps[0], 8 * 60);
    CHECK_INT(deps[1], 12 * 60);
    CHECK_INT(deps[2], 16 * 60);
    CHECK_INT(travel_departures(g, "L3", deps, 64), 2); /* first and last */
    CHECK_INT(deps[0], 7 * 60);
    CHECK_INT(deps[1], 17 * 60);
    CHECK_INT(travel_departures(g, "L4", deps, 64), 1); /* one sailing: at first */
    CHECK_INT(deps[0], 9 * 60);
    CHECK_INT(travel_departures(g, "L5", deps, 64), 0); /* charter only */
    CHECK_INT(travel_departures(g, "L1", deps, 64), 0); /* a bridge has no timetable */
    CHECK_INT(travel_departures(g, "L9", deps, 64), -1);
    travel_stats s = travel_graph_stats(g);
    CHECK_INT(s.islands, 5);
    CHECK_INT(s.links, 5);
    CHECK_INT(s.villages, 7);
    CHECK_INT(s.stations, 5);
    travel_free(g);
}

TEST(travel_departures_shipped_timetables) {
    db *d = test_db_open();
    CHECK(d != NULL);
    if (!d) return;
    err e = {0};
    CHECK_INT(places_import_dir(d, "data/zhoushan", &travel_test_actor, NULL, &e), 0);
    travel_graph *g = travel_load(d, "data", &e);
    CHECK(g != NULL);
    if (g) {
        int deps[64];
        /* L012: 12 sailings 06:50–17:00, 610 minutes in 11 gaps of 55.45 → 55 or 56. */
        CHECK_INT(travel_departures(g, "L012", deps, 64), 12);
        CHECK_INT(deps[0], 6 * 60 + 50);
        CHECK_INT(deps[11], 17 * 60);
        for (int i = 1; i < 12; i++)
            CHECK(deps[i] - deps[i - 1] == 55 || deps[i] - deps[i - 1] == 56);
        CHECK_INT(deps[1], 6 * 60 + 50 + 55); /* round(55.45) */
        /* L048: one sailing, first = last = 08:00. */
        CHECK_INT(travel_departures(g, "L048", deps, 64), 1);
        CHECK_INT(deps[0], 8 * 60);
        /* L045: 三江→嵊泗 10:30 and 13:30 (the looked-up pair). */
        CHECK_INT(travel_departures(g, "L045", deps, 64), 2);
        CHECK_INT(deps[0], 10 * 60 + 30);
        CHECK_INT(deps[1], 13 * 60 + 30);
        CHECK_INT(travel_departures(g, "L029", deps, 64), 0); /* 黄兴: charter */
        travel_free(g);
    }
    db_close(d);
}

TEST(travel_bridges_fixed_and_symmetric) {
    travel_graph *g = synthetic_graph(NULL);
    CHECK(g != NULL);
    if (!g) return;
    /* Bridges are always open, at any hour, in both directions. */
    CHECK_AT(trip(g, "a", "b", "2026-12-01 10:00"), "2026-12-01 10:05");
    CHECK_AT(trip(g, "b", "a", "2026-12-01 10:00"), "2026-12-01 10:05");
    CHECK_AT(trip(g, "a", "b", "2026-12-01 03:17"), "2026-12-01 03:22");
    CHECK_AT(trip(g, "a", "b", "2026-12-01 23:58"), "2026-12-02 00:03");
    CHECK_AT(trip(g, "a", "a", "2026-12-01 10:00"), "2026-12-01 10:00");
    travel_route r;
    travel_place a = island(g, "a"), b = island(g, "b");
    travel_route_find(g, &a, &b, at("2026-12-01 10:00"), &r);
    CHECK_INT(r.nlegs, 1);
    if (r.nlegs == 1) {
        CHECK_STR(r.legs[0].mode, "bridge");
        CHECK_STR(r.legs[0].from, "甲岛");
        CHECK_STR(r.legs[0].to, "乙岛");
        CHECK_STR(r.legs[0].via, "甲桥");
        CHECK_STR(r.legs[0].line, "L1");
    }
    travel_route_free(&r);
    travel_free(g);
}

TEST(travel_waiting_and_boarding) {
    travel_graph *g = synthetic_graph(NULL);
    CHECK(g != NULL);
    if (!g) return;
    /* a→c: sailings 08:00, 12:00, 16:00, at the pier 10 minutes before. */
    CHECK_AT(trip(g, "a", "c", "2026-12-01 07:00"), "2026-12-01 08:30");
    CHECK_AT(trip(g, "a", "c", "2026-12-01 07:50"), "2026-12-01 08:30"); /* just in time */
    CHECK_AT(trip(g, "a", "c", "2026-12-01 07:51"), "2026-12-01 12:30"); /* too late: wait */
    CHECK_AT(trip(g, "a", "c", "2026-12-01 09:00"), "2026-12-01 12:30");
    /* Seconds round up to the next minute. */
    CHECK_AT(trip(g, "a", "c", "2026-12-01 07:50:01"), "2026-12-01 12:30");
    /* The route shows the wait on the ferry leg. */
    travel_route r;
    travel_place a = island(g, "a"), c = island(g, "c");
    travel_route_find(g, &a, &c, at("2026-12-01 09:00"), &r);
    CHECK_INT(r.nlegs, 1);
    if (r.nlegs == 1) {
        CHECK_STR(r.legs[0].mode, "ferry");
        CHECK_STR(r.legs[0].from, "甲码头");
        CHECK_STR(r.legs[0].to, "丙码头");
        CHECK_AT(r.legs[0].depart, "2026-12-01 12:00");
        CHECK_INT(r.legs[0].wait_minutes, 180);
    }
    travel_route_free(&r);
    /* Changing boats also needs the boarding time: a→c 08:30, then c→d at 09:00 works
     * (at the pier by 08:50); leaving a at 07:51 misses it until tomorrow. */
    CHECK_AT(trip(g, "a", "d", "2026-12-01 07:00"), "2026-12-01 09:20");
    CHECK_AT(trip(g, "a", "d", "2026-12-01 07:51"), "2026-12-02 09:20");
    travel_free(g);
}

TEST(travel_last_boat_means_tomorrow) {
    travel_graph *g = synthetic_graph(NULL);
    CHECK(g != NULL);
    if (!g) return;
    /* At 16:00 the last a→c boat (16:00) is gone, but the bridge to b and b's 17:00 boat
     * still work: 16:05 at b, 17:00 sailing, 17:10 on c. */
    CHECK_AT(trip(g, "a", "c", "2026-12-01 16:00"), "2026-12-01 17:10");
    CHECK_AT(trip(g, "a", "c", "2026-12-01 16:45"), "2026-12-01 17:10");
    /* After that, nothing until tomorrow's first boat (b 07:00 → c 07:10, via the bridge). */
    CHECK_AT(trip(g, "a", "c", "2026-12-01 16:46"), "2026-12-02 07:10");
    CHECK_AT(trip(g, "a", "c", "2026-12-01 23:59"), "2026-12-02 07:10");
    CHECK_AT(trip(g, "a", "c", "2026-12-02 00:00"), "2026-12-02 07:10");
    /* The one-a-day boat: missed at 08:51 → the next day's 09:00. */
    CHECK_AT(trip(g, "c", "d", "2026-12-01 08:50"), "2026-12-01 09:20");
    CHECK_AT(trip(g, "c", "d", "2026-12-01 08:51"), "2026-12-02 09:20");
    /* Across a month and a year end. */
    CHECK_AT(trip(g, "c", "d", "2026-12-31 12:00"), "2027-01-01 09:20");
    travel_free(g);
}

TEST(travel_asymmetric_routes_and_charter) {
    travel_graph *g = synthetic_graph(NULL);
    CHECK(g != NULL);
    if (!g) return;
    /* a→d at 07:00: 08:00 to c, 09:00 to d = 09:20. d→a at 07:00: 09:00 to c (09:20),
     * then the next boat to a is 12:00 (12:30) — the timetable makes the trip asymmetric. */
    CHECK_AT(trip(g, "a", "d", "2026-12-01 07:00"), "2026-12-01 09:20");
    CHECK_AT(trip(g, "d", "a", "2026-12-01 07:00"), "2026-12-01 12:30");
    /* Charter-only islands have no scheduled connection either way. */
    CHECK(trip(g, "a", "e", "2026-12-01 08:00") == TRAVEL_NEVER);
    CHECK(trip(g, "e", "a", "2026-12-01 08:00") == TRAVEL_NEVER);
    travel_route r;
    travel_place a = island(g, "a"), e = island(g, "e");
    travel_route_find(g, &a, &e, at("2026-12-01 08:00"), &r);
    CHECK(r.arrive == TRAVEL_NEVER);
    CHECK_INT(r.nlegs, 0);
    json_t *j = travel_route_json(g, &a, &e, &r);
    CHECK(json_is_false(json_object_get(j, "reachable")));
    CHECK(json_is_null(json_object_get(j, "arrival")));
    CHECK_INT(json_array_size(json_object_get(j, "legs")), 0);
    json_decref(j);
    travel_route_free(&r);
    travel_free(g);
}

TEST(travel_drive_model_and_village_points) {
    CHECK_INT(travel_drive_minutes(30.0, 122.0, 30.0, 122.0), 0);
    /* 0.05° of longitude at 30°N = 4.815 km; × 1.3 = 6.26 km at 40 km/h = 9.4 → 10 min. */
    CHECK_INT(travel_drive_minutes(30.0, 122.0, 30.0, 122.05), 10);
    CHECK_INT(travel_drive_minutes(30.0, 122.05, 30.0, 122.0), 10);
    /* 0.1° of latitude = 11.12 km × 1.3 = 14.46 km → 21.7 → 22 min. */
    CHECK_INT(travel_drive_minutes(30.0, 122.0, 30.1, 122.0), 22);
    travel_graph *g = synthetic_graph(NULL);
    CHECK(g != NULL);
    if (!g) return;
    travel_place v1, v2, v3, s2;
    CHECK_INT(travel_place_village(g, "339999001201", &v1), 0);
    CHECK_INT(travel_place_village(g, "339999001202", &v2), 0);
    CHECK_INT(travel_place_village(g, "339999001203", &v3), 0); /* no station of its own */
    CHECK_INT(travel_place_station(g, "S2", &s2), 0);
    CHECK(fabs(v2.lon - 122.05) < 1e-9);                                /* at its station */
    CHECK(fabs(v3.lon - 122.025) < 1e-9 && fabs(v3.lat - 30.0) < 1e-9); /* town stations' mean */
    int64_t t0 = at("2026-12-01 10:00");
    CHECK_AT(travel_time(g, &v1, &s2, t0), "2026-12-01 10:10");
    CHECK_AT(travel_time(g, &v1, &v3, t0), "2026-12-01 10:05");
    /* A village → a station across the bridge: 0 to the bridge head (at a's point), 5
     * across, then b's station at b's point. */
    travel_place s3;
    CHECK_INT(travel_place_station(g, "S3", &s3), 0);
    CHECK_AT(travel_time(g, &v1, &s3, t0), "2026-12-01 10:05");
    CHECK_AT(travel_time(g, &v2, &s3, t0), "2026-12-01 10:15"); /* 10 to the bridge + 5 */
    /* An agent's position on an island. */
    travel_place pt;
    CHECK_INT(travel_place_point(g, "a", 30.0, 122.05, &pt), 0);
    CHECK_AT(travel_time(g, &pt, &v1, t0), "2026-12-01 10:10");
    CHECK_INT(travel_place_point(g, "zz", 30.0, 122.0, &pt), -1);
    CHECK_INT(travel_place_point(g, "a", 91.0, 122.0, &pt), -1);
    CHECK_INT(travel_place_point(g, "a", 30.0, NAN, &pt), -1);
    travel_free(g);
}

TEST(travel_route_legs_late_as_possible) {
    travel_graph *g = synthetic_graph(NULL);
    CHECK(g != NULL);
    if (!g) return;
    /* Village 甲二 (10 min from a's pier) to 丁村 at 07:00 (too late for b's 07:00 boat):
     * drive, ferry a→c 08:00, ferry c→d 09:00. The drive is laid out to reach the pier at
     * 07:50, not at 07:10. */
    travel_place v2, d1;
    CHECK_INT(travel_place_village(g, "339999001202", &v2), 0);
    CHECK_INT(travel_place_village(g, "339999001206", &d1), 0);
    travel_route r;
    travel_route_find(g, &v2, &d1, at("2026-12-01 07:00"), &r);
    CHECK_AT(r.arrive, "2026-12-01 09:20");
    CHECK_INT(r.nlegs, 3);
    if (r.nlegs == 3) {
        CHECK_STR(r.legs[0].mode, "drive");
        CHECK_STR(r.legs[0].from, "甲二村");
        CHECK_STR(r.legs[0].to, "甲码头");
        CHECK_AT(r.legs[0].depart, "2026-12-01 07:40");
        CHECK_AT(r.legs[0].arrive, "2026-12-01 07:50");
        CHECK_STR(r.legs[1].line, "L2");
        CHECK_INT(r.legs[1].wait_minutes, 10);
        CHECK_STR(r.legs[2].line, "L4");
        CHECK_AT(r.legs[2].depart, "2026-12-01 09:00");
        CHECK_INT(r.legs[2].wait_minutes, 30);
        CHECK_STR(r.legs[2].to, "丁码头");
    }
    json_t *j = travel_route_json(g, &v2, &d1, &r);
    CHECK_STR(json_string_value(json_object_get(j, "arrival")), "2026-12-01 09:20");
    CHECK_STR(json_string_value(json_object_get(j, "depart")), "2026-12-01 07:00");
    CHECK_INT(json_integer_value(json_object_get(j, "minutes")), 140);
    json_t *leg = json_array_get(json_object_get(j, "legs"), 1);
    CHECK_STR(json_string_value(json_object_get(leg, "mode")), "ferry");
    CHECK_STR(json_string_value(json_object_get(leg, "depart")), "2026-12-01 08:00");
    CHECK_STR(json_string_value(json_object_get(leg, "arrive")), "2026-12-01 08:30");
    CHECK_INT(json_integer_value(json_object_get(leg, "minutes")), 30);
    CHECK_STR(json_string_value(json_object_get(json_object_get(j, "to"), "kind")), "village");
    json_decref(j);
    travel_route_free(&r);
    travel_free(g);
}

TEST(travel_resolve_bad_input) {
    travel_graph *g = synthetic_graph(NULL);
    CHECK(g != NULL);
    if (!g) return;
    travel_place p;
    err e = {0};
    CHECK_INT(travel_resolve(g, "nowhere", "from", &p, &e), -1);
    CHECK_INT(e.status, 400);
    CHECK_STR(e.field, "from");
    CHECK(strstr(e.message, "nowhere") != NULL);
    CHECK_INT(travel_resolve(g, "", "to", &p, &e), -1);
    CHECK_STR(e.field, "to");
    CHECK_INT(travel_resolve(g, NULL, "to", &p, &e), -1);
    char longname[300];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    CHECK_INT(travel_resolve(g, longname, "to", &p, &e), -1);
    CHECK_INT(travel_place_island(g, "A", &p), -1); /* ids are case-sensitive */
    CHECK_INT(travel_place_village(g, "339999001299", &p), -1);
    CHECK_INT(travel_place_station(g, "S9", &p), -1);
    /* Names, with and without their suffix. */
    CHECK_INT(travel_resolve(g, "甲岛", "from", &p, &e), 0);
    CHECK_STR(travel_place_id(g, &p), "a");
    CHECK_INT(travel_resolve(g, "丁", "from", &p, &e), 0); /* 丁山 without 山 */
    CHECK_STR(travel_place_id(g, &p), "d");
    CHECK_INT(travel_resolve(g, "甲", "from", &p, &e), 0); /* island 甲岛 beats town 甲镇 */
    CHECK_STR(travel_place_kind_name(&p), "island");
    CHECK_INT(travel_resolve(g, "甲镇", "from", &p, &e), 0);
    CHECK_STR(travel_place_kind_name(&p), "town");
    CHECK_INT(travel_resolve(g, "339999001", "from", &p, &e), 0);
    CHECK_STR(travel_place_kind_name(&p), "town");
    CHECK_INT(travel_resolve(g, "S4", "from", &p, &e), 0);
    CHECK_STR(travel_place_name(g, &p), "甲镇便民服务中心");
    CHECK_INT(travel_resolve(g, "丙村", "from", &p, &e), 0);
    CHECK_STR(travel_place_id(g, &p), "339999001205");
    travel_free(g);
}

TEST(travel_load_without_places_fails_clearly) {
    db *d = test_db_open();
    CHECK(d != NULL);
    if (!d) return;
    err e = {0};
    travel_graph *g = travel_load(d, "data", &e);
    CHECK(g == NULL);
    CHECK_INT(e.status, 404);
    CHECK(strstr(e.message, "isle demo") != NULL);
    travel_free(g);
    db_close(d);
}

TEST(travel_bad_ports_file) {
    db *d = synthetic_db();
    CHECK(d != NULL);
    if (!d) return;
    char dir[] = "/tmp/isle-travel-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char sub[128], path[160];
    snprintf(sub, sizeof(sub), "%s/island", dir);
    mkdir(sub, 0700);
    snprintf(path, sizeof(path), "%s/ports.json", sub);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs("{\"ports\": [{\"island\": \"a\", \"port\": \"甲码头\", \"lat\": 95}]}", f);
        fclose(f);
    }
    err e = {0};
    travel_graph *g = travel_load(d, dir, &e);
    CHECK(g == NULL);
    CHECK_STR(e.field, "ports");
    CHECK(strstr(e.message, "ports[0]") != NULL);
    /* A good file moves the pier: a→c now starts with a drive to it. */
    f = fopen(path, "w");
    if (f) {
        fputs(
            "{\"ports\": [{\"island\": \"a\", \"port\": \"甲码头\", \"lat\": 30.0, \"lon\": "
            "122.05}, {\"island\": \"a\", \"port\": \"no such pier\", \"lat\": 30, \"lon\": 122}]}",
            f);
        fclose(f);
    }
    g = travel_load(d, dir, &e);
    CHECK(g != NULL);
    if (g) {
        CHECK_AT(trip(g, "a", "c", "2026-12-01 07:40"), "2026-12-01 08:30"); /* 10 min drive */
        CHECK_AT(trip(g, "a", "c", "2026-12-01 07:41"), "2026-12-01 12:30");
        travel_free(g);
    }
    unlink(path);
    rmdir(sub);
    rmdir(dir);
    db_close(d);
}

/* ---- the shipped data ---- */

static travel_graph *zhoushan_graph(db **out) {
    db *d = test_db_open();
    if (!d) return NULL;
    err e = {0};
    if (places_import_dir(d, "data/zhoushan", &travel_test_actor, NULL, &e) != 0) {
        fprintf(stderr, "    import: %s\n", e.message);
        db_close(d);
        return NULL;
    }
    travel_graph *g = travel_load(d, "data", &e);
    if (!g) fprintf(stderr, "    travel_load: %s\n", e.message);
    if (out)
        *out = d;
    else
        db_close(d);
    return g;
}

TEST(travel_dongji_at_16_is_next_morning) {
    travel_graph *g = zhoushan_graph(NULL);
    CHECK(g != NULL);
    if (!g) return;
    err e = {0};
    travel_place city, dongji, local, village;
    CHECK_INT(travel_resolve(g, "S0001", "from", &city, &e), 0); /* 昌国街道便民服务中心 */
    CHECK_INT(travel_resolve(g, "东极", "to", &dongji, &e), 0);
    CHECK_STR(travel_place_island_id(g, &dongji), "miaozihu");
    int64_t t = at("2026-12-01 16:00");
    /* The last boats to 东极 leave 沈家门 at 14:00 and 朱家尖 at 13:30: from the city at
     * 16:00 the earliest arrival is tomorrow on the 07:30 boat (80 min) — 08:50. */
    int64_t arr = travel_time(g, &city, &dongji, t);
    CHECK_AT(arr, "2026-12-02 08:50");
    travel_route r;
    travel_route_find(g, &city, &dongji, t, &r);
    CHECK(r.arrive == arr);
    int ferries = 0;
    for (size_t i = 0; i < r.nlegs; i++)
        if (!strcmp(r.legs[i].mode, "ferry")) {
            ferries++;
            CHECK_STR(r.legs[i].line, "L025");
            CHECK_AT(r.legs[i].depart, "2026-12-02 07:30");
        }
    CHECK_INT(ferries, 1);
    travel_route_free(&r);
    /* The same trip starting at 06:00 is the same boat, the same day. */
    CHECK_AT(travel_time(g, &city, &dongji, at("2026-12-01 06:00")), "2026-12-01 08:50");
    /* Someone already on 庙子湖 (its station) reaches a 庙子湖 village within minutes. */
    int found = 0;
    for (int i = 0; i < travel_station_count(g) && !found; i++)
        if (!strcmp(travel_island_id(g, travel_station_at(g, i)->island), "miaozihu")) {
            CHECK_INT(travel_place_station(g, travel_station_at(g, i)->id, &local), 0);
            found = 1;
        }
    CHECK(found);
    for (int i = 0; i < travel_village_count(g); i++)
        if (!strcmp(travel_island_id(g, travel_village_at(g, i)->island), "miaozihu")) {
            CHECK_INT(travel_place_village(g, travel_village_at(g, i)->code, &village), 0);
            int64_t a = travel_time(g, &local, &village, t);
            CHECK(a != TRAVEL_NEVER && a - t <= 15 * 60);
        }
    /* 黄兴 is charter only: no scheduled way at all. */
    travel_place hx;
    CHECK_INT(travel_resolve(g, "黄兴岛", "to", &hx, &e), 0);
    CHECK(travel_time(g, &city, &hx, t) == TRAVEL_NEVER);
    travel_free(g);
}

TEST(travel_resolve_shipped_names) {
    travel_graph *g = zhoushan_graph(NULL);
    CHECK(g != NULL);
    if (!g) return;
    err e = {0};
    travel_place p;
    static const struct {
        const char *text, *kind, *island;
    } cases[] = {
        {"zhoushan", "island", "zhoushan"},
        {"舟山本岛", "island", "zhoushan"},
        {"庙子湖", "island", "miaozihu"},
        {"庙子湖岛", "island", "miaozihu"},
        {"东极", "town", "miaozihu"},
        {"东极镇", "town", "miaozihu"},
        {"330903105", "town", "miaozihu"},
        {"衢山", "island", "qushan"},
        {"衢山岛", "island", "qushan"},
        {"大衢山", "island", "qushan"},
        {"六横", "island", "liuheng"},
        {"六横镇", "town", "liuheng"},
        {"泗礁", "island", "sijiao"},
        {"S0001", "station", "zhoushan"},
        {"330902002001", "village", "zhoushan"},
        {"昌国街道便民服务中心", "station", "zhoushan"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = travel_resolve(g, cases[i].text, "from", &p, &e);
        if (rc != 0) fprintf(stderr, "    %s: %s\n", cases[i].text, e.message);
        CHECK_INT(rc, 0);
        if (rc) continue;
        CHECK_STR(travel_place_kind_name(&p), cases[i].kind);
        CHECK_STR(travel_place_island_id(g, &p), cases[i].island);
    }
    CHECK_INT(travel_resolve(g, "上海", "to", &p, &e), -1);
    CHECK_STR(e.field, "to");
    travel_free(g);
}

/* Every row of data/island/ports.json names a real port of ferries.csv. */
TEST(travel_ports_file_matches_the_data) {
    db *d = NULL;
    travel_graph *g = zhoushan_graph(&d);
    CHECK(g != NULL);
    if (!g) return;
    json_error_t je;
    json_t *doc = json_load_file("data/island/ports.json", 0, &je);
    CHECK(doc != NULL);
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(doc, "ports"), i, row) {
        const char *island = json_string_value(json_object_get(row, "island"));
        const char *port = json_string_value(json_object_get(row, "port"));
        int64_t n = 0;
        err e = {0};
        CHECK_INT(db_query_int(d, &e, &n,
                               "SELECT COUNT(*) FROM ferry_links WHERE (from_island = $1 AND "
                               "from_port = $2) OR (to_island = $1 AND to_port = $2)",
                               "ss", island, port),
                  0);
        if (n == 0) fprintf(stderr, "    ports.json: %s/%s is no port\n", island, port);
        CHECK(n > 0);
        double lat = json_number_value(json_object_get(row, "lat"));
        double lon = json_number_value(json_object_get(row, "lon"));
        CHECK(lat > 29.5 && lat < 31.0 && lon > 121.5 && lon < 123.3);
    }
    CHECK(i > 10);
    json_decref(doc);
    travel_free(g);
    db_close(d);
}

static uint64_t lcg(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

static travel_place random_place(const travel_graph *g, uint64_t *seed) {
    travel_place p;
    if (lcg(seed) % 2)
        travel_place_station(
            g, travel_station_at(g, (int)(lcg(seed) % (uint64_t)travel_station_count(g)))->id, &p);
    else
        travel_place_village(
            g, travel_village_at(g, (int)(lcg(seed) % (uint64_t)travel_village_count(g)))->code,
            &p);
    return p;
}

/* Properties of any earliest-arrival answer: three code paths agree, leaving later
 * never arrives earlier (FIFO), going via any third place is never faster
 * (concatenation), and route legs are contiguous and end at the arrival. */
TEST(travel_properties_on_zhoushan) {
    travel_graph *g = zhoushan_graph(NULL);
    CHECK(g != NULL);
    if (!g) return;
    uint64_t seed = 42;
    int64_t base = at("2026-12-01 00:00");
    travel_tree *tree = travel_tree_new(g);
    int fails = 0;
    for (int i = 0; i < 400 && fails < 5; i++) {
        travel_place a = random_place(g, &seed), b = random_place(g, &seed),
                     c = random_place(g, &seed);
        int64_t t = base + (int64_t)(lcg(&seed) % (2 * 1440)) * 60;
        int64_t ab = travel_time(g, &a, &b, t);
        travel_tree_run(tree, &a, t);
        int64_t ab_tree = travel_tree_arrival(tree, &b);
        travel_route r;
        travel_route_find(g, &a, &b, t, &r);
        if (ab != ab_tree || ab != r.arrive) {
            fprintf(stderr, "    paths disagree: %lld %lld %lld\n", (long long)ab,
                    (long long)ab_tree, (long long)r.arrive);
            fails++;
        }
        CHECK(ab != TRAVEL_NEVER); /* stations and villages are all reachable */
        CHECK(ab >= t);
        /* FIFO */
        int64_t later = travel_time(g, &a, &b, t + 37 * 60);
        if (later < ab) fails++;
        /* Concatenation: a→c then c→b is never earlier than a→b. */
        int64_t ac = travel_time(g, &a, &c, t);
        int64_t acb = travel_time(g, &c, &b, ac);
        if (acb < ab) {
            fprintf(stderr, "    via beats direct: %lld < %lld\n", (long long)acb, (long long)ab);
            fails++;
        }
        /* Legs: contiguous, each non-negative, last ends at the arrival. */
        int64_t prev = r.depart;
        for (size_t k = 0; k < r.nlegs; k++) {
            if (r.legs[k].depart < prev || r.legs[k].arrive < r.legs[k].depart) fails++;
            prev = r.legs[k].arrive;
        }
        if (r.nlegs && r.legs[r.nlegs - 1].arrive != r.arrive) fails++;
        travel_route_free(&r);
    }
    CHECK_INT(fails, 0);
    travel_tree_free(tree);
    travel_free(g);
}

/* ---- coverage ---- */

static coverage_services *services(void) {
    err e = {0};
    coverage_services *s = coverage_services_load("data", &e);
    if (!s) fprintf(stderr, "    services: %s\n", e.message);
    return s;
}

TEST(coverage_synthetic_by_hand) {
    db *d = NULL;
    travel_graph *g = synthetic_graph(&d);
    coverage_services *s = services();
    CHECK(g != NULL && s != NULL);
    if (g && s) {
        err e = {0};
        /* 户籍 (服务中心 only: S4 on c). At 10:00 only 丙村 is within 10 minutes. */
        coverage_query q = {.service = "household"};
        json_t *c = coverage_compute(d, g, s, &q, &e);
        CHECK(c != NULL);
        CHECK_INT(json_integer_value(json_object_get(c, "stations")), 1);
        CHECK_INT(json_integer_value(json_object_get(c, "villages")), 7);
        CHECK_INT(json_integer_value(json_object_get(c, "villages_within")), 1);
        CHECK_INT(json_integer_value(json_object_get(c, "population")), 7050);
        CHECK_INT(json_integer_value(json_object_get(c, "population_within")), 400);
        CHECK(fabs(json_number_value(json_object_get(c, "share_within_10min")) - 0.0567) < 1e-9);
        json_t *out = json_object_get(c, "villages_outside");
        CHECK_INT(json_array_size(out), 6);
        /* Slowest first, the unreachable 戊村 last with minutes null. */
        json_t *last = json_array_get(out, json_array_size(out) - 1);
        CHECK_STR(json_string_value(json_object_get(last, "code")), "339999001207");
        CHECK(json_is_null(json_object_get(last, "minutes")));
        /* 丁村 at 10:00: the 09:00 boat is gone, tomorrow 09:00 → c 09:20 = 23 h 20 min,
         * plus the spread of 100 people (1 min). */
        json_t *first = json_array_get(out, 0);
        CHECK_STR(json_string_value(json_object_get(first, "code")), "339999001206");
        CHECK_INT(json_integer_value(json_object_get(first, "minutes")), 23 * 60 + 20 + 1);
        CHECK_STR(json_string_value(json_object_get(first, "station")), "S4");
        /* 甲一村 (1000 people): 10:00 → the 12:00 boat → 12:30, + 1 = 151. */
        int seen = 0;
        size_t i;
        json_t *v;
        json_array_foreach(
            out, i, v) if (!strcmp(json_string_value(json_object_get(v, "code")), "339999001201")) {
            CHECK_INT(json_integer_value(json_object_get(v, "minutes")), 151);
            CHECK_STR(json_string_value(json_object_get(v, "town")), "甲镇");
            seen = 1;
        }
        CHECK(seen);
        json_t *town = json_array_get(json_object_get(c, "towns"), 0);
        CHECK_STR(json_string_value(json_object_get(town, "code")), "339999001");
        CHECK(json_is_null(json_object_get(town, "max_minutes"))); /* 戊村 unreachable */
        json_decref(c);

        /* 帮办代办 (every kind): a, b, c and d villages have their own point; 戊 none. */
        q.service = NULL;
        c = coverage_compute(d, g, s, &q, &e);
        CHECK(c != NULL);
        CHECK_STR(json_string_value(json_object_get(json_object_get(c, "service"), "code")),
                  "proxy");
        CHECK_INT(json_integer_value(json_object_get(c, "stations")), 5);
        CHECK_INT(json_integer_value(json_object_get(c, "villages_within")), 6);
        CHECK_INT(json_integer_value(json_object_get(c, "population_within")), 7000);
        json_decref(c);

        /* At 08:45 丁村 catches the 09:00 boat: 35 + 1 minutes. */
        q.service = "household";
        q.at = "08:45";
        c = coverage_compute(d, g, s, &q, &e);
        CHECK(c != NULL);
        CHECK_STR(json_string_value(json_object_get(c, "depart")), "2026-12-01 08:45");
        seen = 0;
        json_array_foreach(json_object_get(c, "villages_outside"), i, v) {
            if (strcmp(json_string_value(json_object_get(v, "code")), "339999001206") != 0)
                continue;
            CHECK_INT(json_integer_value(json_object_get(v, "minutes")), 35 + 1);
            seen = 1;
        }
        CHECK(seen);
        json_decref(c);
    }
    coverage_services_free(s);
    travel_free(g);
    db_close(d);
}

TEST(coverage_bad_input) {
    db *d = NULL;
    travel_graph *g = synthetic_graph(&d);
    coverage_services *s = services();
    CHECK(g != NULL && s != NULL);
    if (g && s) {
        err e = {0};
        coverage_query q = {.service = "nope"};
        CHECK(coverage_compute(d, g, s, &q, &e) == NULL);
        CHECK_INT(e.status, 400);
        CHECK_STR(e.field, "service");
        CHECK(strstr(e.message, "household") != NULL);
        q = (coverage_query){.service = "330900-GA-999999"}; /* well-formed, not in catalog */
        CHECK(coverage_compute(d, g, s, &q, &e) == NULL);
        CHECK_INT(e.status, 404);
        CHECK_STR(e.field, "service");
        q = (coverage_query){.town_code = "12"};
        CHECK(coverage_compute(d, g, s, &q, &e) == NULL);
        CHECK_INT(e.status, 400);
        CHECK_STR(e.field, "town");
        q = (coverage_query){.town_code = "339999002"};
        CHECK(coverage_compute(d, g, s, &q, &e) == NULL);
        CHECK_INT(e.status, 404);
        CHECK_STR(e.field, "town");
        q = (coverage_query){.at = "25:00"};
        CHECK(coverage_compute(d, g, s, &q, &e) == NULL);
        CHECK_STR(e.field, "at");
        q = (coverage_query){.at = "tomorrow"};
        CHECK(coverage_compute(d, g, s, &q, &e) == NULL);
        CHECK_STR(e.field, "at");
    }
    coverage_services_free(s);
    travel_free(g);
    db_close(d);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

TEST(coverage_services_file_checked) {
    char dir[] = "/tmp/isle-coverage-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char sub[128], path[160];
    snprintf(sub, sizeof(sub), "%s/island", dir);
    mkdir(sub, 0700);
    snprintf(path, sizeof(path), "%s/station_services.json", sub);
    err e = {0};
    CHECK(coverage_services_load(dir, &e) == NULL); /* missing */
    static const struct {
        const char *text, *field;
    } bad[] = {
        {"{", ""},
        {"{\"default\":\"x\",\"services\":[]}", "services"},
        {"{\"default\":\"x\",\"services\":[{\"code\":\"X\",\"name\":\"n\",\"kinds\":[\"服务中心\"]}"
         "]}",
         "services[0].code"},
        {"{\"default\":\"x\",\"services\":[{\"code\":\"x\",\"kinds\":[\"服务中心\"]}]}",
         "services[0].name"},
        {"{\"default\":\"x\",\"services\":[{\"code\":\"x\",\"name\":\"n\",\"kinds\":[\"码头\"]}]}",
         "services[0].kinds"},
        {"{\"default\":\"y\",\"services\":[{\"code\":\"x\",\"name\":\"n\",\"kinds\":[\"代办点\"]}]"
         "}",
         "default"},
        {"{\"default\":\"x\",\"services\":[{\"code\":\"x\",\"name\":\"n\",\"kinds\":[\"代办点\"]},"
         "{\"code\":\"x\",\"name\":\"m\",\"kinds\":[\"代办点\"]}]}",
         "services[1].code"},
        {"{\"default\":\"x\",\"services\":[{\"code\":\"x\",\"name\":\"n\",\"kinds\":[\"代办点\"]}],"
         "\"handle_at\":{\"p\":[\"?\"]}}",
         "handle_at"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_file(path, bad[i].text);
        memset(&e, 0, sizeof(e));
        coverage_services *s = coverage_services_load(dir, &e);
        CHECK(s == NULL);
        if (s) fprintf(stderr, "    accepted: %s\n", bad[i].text);
        CHECK_STR(e.field, bad[i].field);
        coverage_services_free(s);
    }
    write_file(path, "{\"default\":\"x\",\"services\":[{\"code\":\"x\",\"name\":\"n\",\"kinds\":"
                     "[\"代办点\"]}]}");
    coverage_services *s = coverage_services_load(dir, &e);
    CHECK(s != NULL);
    json_t *j = s ? coverage_services_json(s) : NULL;
    CHECK_STR(json_string_value(json_object_get(j, "default")), "x");
    json_decref(j);
    coverage_services_free(s);
    unlink(path);
    rmdir(sub);
    rmdir(dir);
}

/* The service circle of the shipped data agrees with brute force: for every village,
 * the best of travel_time() to every offering station, plus the spread. */
TEST(coverage_zhoushan_matches_brute_force) {
    db *d = NULL;
    travel_graph *g = zhoushan_graph(&d);
    coverage_services *s = services();
    CHECK(g != NULL && s != NULL);
    if (g && s) {
        err e = {0};
        coverage_query q = {.service = "household"};
        json_t *c = coverage_compute(d, g, s, &q, &e);
        CHECK(c != NULL);
        int64_t t = at(COVERAGE_DEFAULT_AT);
        int64_t pop = 0, within = 0;
        int outside = 0, mismatches = 0;
        json_t *out = json_object_get(c, "villages_outside");
        for (int v = 0; v < travel_village_count(g); v++) {
            const travel_village *vi = travel_village_at(g, v);
            travel_place from;
            travel_place_village(g, vi->code, &from);
            int64_t best = TRAVEL_NEVER;
            for (int k = 0; k < travel_station_count(g); k++) {
                const travel_station *st = travel_station_at(g, k);
                if (strcmp(st->kind, PLACES_KIND_CENTRE) != 0) continue;
                travel_place to;
                travel_place_station(g, st->id, &to);
                int64_t a = travel_time(g, &from, &to, t);
                if (a < best) best = a;
            }
            int minutes =
                (int)((best - t) / 60) + (int)ceil(coverage_spread_minutes(vi->population) - 1e-9);
            pop += vi->population;
            if (minutes <= COVERAGE_THRESHOLD_MINUTES) {
                within += vi->population;
                continue;
            }
            outside++;
            size_t i;
            json_t *o;
            int found = 0;
            json_array_foreach(
                out, i, o) if (!strcmp(json_string_value(json_object_get(o, "code")), vi->code)) {
                found = 1;
                if (json_integer_value(json_object_get(o, "minutes")) != minutes) mismatches++;
            }
            if (!found) mismatches++;
        }
        CHECK_INT(mismatches, 0);
        CHECK_INT((int64_t)json_array_size(out), outside);
        CHECK_INT(json_integer_value(json_object_get(c, "population")), pop);
        CHECK_INT(json_integer_value(json_object_get(c, "population_within")), within);
        double share = json_number_value(json_object_get(c, "share_within_10min"));
        CHECK(share > 0.5 && share < 1.0);
        /* Per-town rows add up. */
        int64_t sum = 0;
        size_t i;
        json_t *town;
        json_array_foreach(json_object_get(c, "towns"), i, town) {
            sum += json_integer_value(json_object_get(town, "population_within"));
            double ts = json_number_value(json_object_get(town, "share_within_10min"));
            CHECK(ts >= 0 && ts <= 1);
        }
        CHECK_INT(sum, within);
        CHECK_INT(json_array_size(json_object_get(c, "towns")), 36);
        json_decref(c);

        /* More kinds of point can only help: 帮办代办 (all) ≥ 证明 (two) ≥ 户籍 (one). */
        double last = 2;
        const char *order[] = {"proxy", "certificate", "household"};
        for (int k = 0; k < 3; k++) {
            q.service = order[k];
            c = coverage_compute(d, g, s, &q, &e);
            CHECK(c != NULL);
            double sh = json_number_value(json_object_get(c, "share_within_10min"));
            CHECK(sh <= last);
            last = sh;
            json_decref(c);
        }
        /* One town only. */
        q = (coverage_query){.service = "household", .town_code = "330903105"}; /* 东极镇 */
        c = coverage_compute(d, g, s, &q, &e);
        CHECK(c != NULL);
        CHECK_INT(json_array_size(json_object_get(c, "towns")), 1);
        CHECK_INT(json_integer_value(json_object_get(c, "villages")), 4);
        json_decref(c);
    }
    coverage_services_free(s);
    travel_free(g);
    db_close(d);
}
