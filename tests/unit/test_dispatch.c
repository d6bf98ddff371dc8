/* Unit tests for src/island/dispatch.c and dispatch_sim.c (智能派单).
 *
 * Two worlds: the shipped Zhoushan places (and catalog) with agents and requests
 * written straight into the tables — the 东极 case, skills, capacity, remote
 * handling, exclusion, nobody available, the staged single dispatch agreeing with
 * the full ranking, the synthetic day; and a small hand-made island where the batch
 * assignment must beat one-at-a-time greedy. The min-cost flow is checked against
 * brute force on random small instances.
 *
 * Run from the repository root (data/ is read from there). */
#include "test.h"

#include <math.h>
#include <stdlib.h>

#include "base/xmalloc.h"
#include "catalog/catalog.h"
#include "db/db.h"
#include "island/dispatch.h"
#include "island/dispatch_internal.h"
#include "island/places.h"
#include "island/travel.h"
#include "workcal/workcal.h"

static const audit_actor dispatch_test_actor = {0, "system", NULL};

#define POLICE_IN_PERSON "330900-GA-100013" /* 居民身份证首次申领: online_depth 2 */
#define CIVIL_ONLINE     "330900-MZ-300010" /* 老年人优待证办理: online_depth 4 */
#define DONGJI_VILLAGE   "330903105001"     /* 东极社区, on 庙子湖 */
#define DONGJI_STATION   "S0271"            /* 庙子湖村便民服务站 */
#define CITY_STATION     "S0001"            /* 昌国街道便民服务中心 */
#define FULL_DAY         "08:30-12:00,13:30-17:30"

static int64_t at(const char *local) {
    int64_t t = 0;
    if (workcal_local_parse(local, &t) != 0) fprintf(stderr, "    bad time %s\n", local);
    return t;
}

static const char *fmt(int64_t t, char *buf) {
    return workcal_local_format(t, buf, 32);
}

#define CHECK_AT(t, want)                                                                          \
    do {                                                                                           \
        char b_[32];                                                                               \
        CHECK_STR(fmt((t), b_), (want));                                                           \
    } while (0)

#define CHECK_HAS(s, part)                                                                         \
    do {                                                                                           \
        const char *s_ = (s);                                                                      \
        if (!strstr(s_, (part))) {                                                                 \
            fprintf(stderr, "    %s:%d: \"%s\" lacks \"%s\"\n", __FILE__, __LINE__, s_, (part));   \
            test_failures_in_current++;                                                            \
        }                                                                                          \
    } while (0)

/* Fresh caches: every test loads its own graph into travel_default(). */
static void fresh(void) {
    travel_default_reset();
    dsp_world_cache_reset();
    dsp_skills_cache_reset();
}

/* The shipped places (and, with_catalog, items), or NULL. */
static db *zhoushan_db(int with_catalog) {
    fresh();
    db *d = test_db_open();
    if (!d) return NULL;
    err e = {0};
    if (places_import_dir(d, "data/zhoushan", &dispatch_test_actor, NULL, &e) != 0 ||
        (with_catalog && catalog_import_file(d, "data/catalog/items.jsonl", NULL, NULL,
                                             &dispatch_test_actor, NULL, &e) != 0)) {
        fprintf(stderr, "    import: %s\n", e.message);
        db_close(d);
        return NULL;
    }
    return d;
}

static int64_t add_agent(db *d, const char *name, const char *station, const char *hours,
                         const char *skills, int capacity, int open, int on_duty) {
    err e = {0};
    if (db_execf(d, &e,
                 "INSERT INTO agents (name, kind, station_id, island_id, town_code, skills, hours, "
                 "capacity, open_tasks, on_duty, served_today, created_at, updated_at) "
                 "SELECT $1, 'full_time', id, island_id, town_code, $2, $3, $4, $5, $6, 0, "
                 "'2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z' FROM stations WHERE id = $7",
                 "sssiiis", name, skills, hours, (int64_t)capacity, (int64_t)open, (int64_t)on_duty,
                 station) != 0) {
        fprintf(stderr, "    add_agent: %s\n", e.message);
        return 0;
    }
    return test_db_count(d, "SELECT MAX(id) FROM agents");
}

static int64_t add_request(db *d, const char *village, const char *item, int urgent,
                           const char *preferred_iso) {
    static int seq;
    char no[32];
    snprintf(no, sizeof(no), "BT%d", ++seq);
    err e = {0};
    if (db_execf(d, &e,
                 "INSERT INTO assist_requests (request_no, resident_name, item_code, channel, "
                 "village_code, town_code, island_id, urgency, preferred_at, status, created_at, "
                 "updated_at) SELECT $1, '测试', $2, 'phone', code, town_code, island_id, $3, $4, "
                 "'new', '2026-12-01T00:00:00Z', '2026-12-01T00:00:00Z' FROM villages "
                 "WHERE code = $5",
                 "sssss", no, item, urgent ? "urgent" : "normal", preferred_iso, village) != 0) {
        fprintf(stderr, "    add_request: %s\n", e.message);
        return 0;
    }
    return test_db_count(d, "SELECT MAX(id) FROM assist_requests");
}

static void sql(db *d, const char *q) {
    err e = {0};
    if (db_exec(d, q, &e) != 0) fprintf(stderr, "    sql: %s\n", e.message);
}

/* ---- working hours ---- */

TEST(dispatch_work_start_hours_weekends_holidays) {
    err e = {0};
    const workcal *cal = workcal_default(&e);
    CHECK(cal != NULL);
    if (!cal) return;
    workcal_schedule h;
    CHECK_INT(workcal_schedule_parse(FULL_DAY, &h, &e), 0);
    int64_t close = 0, next = 0;
    CHECK_AT(dsp_work_start(cal, &h, at("2026-12-01 10:00"), &close, &next), "2026-12-01 10:00");
    CHECK_AT(close, "2026-12-01 17:30");
    CHECK_AT(next, "2026-12-02 08:30");
    CHECK_AT(dsp_work_start(cal, &h, at("2026-12-01 07:10"), NULL, NULL), "2026-12-01 08:30");
    CHECK_AT(dsp_work_start(cal, &h, at("2026-12-01 12:30"), NULL, NULL), "2026-12-01 13:30");
    CHECK_AT(dsp_work_start(cal, &h, at("2026-12-01 17:45"), NULL, NULL), "2026-12-02 08:30");
    /* Friday evening → Monday; a Saturday → Monday. */
    CHECK_AT(dsp_work_start(cal, &h, at("2026-12-04 18:00"), &close, NULL), "2026-12-07 08:30");
    CHECK_AT(close, "2026-12-07 17:30");
    CHECK_AT(dsp_work_start(cal, &h, at("2026-12-05 10:00"), NULL, NULL), "2026-12-07 08:30");
    /* 国庆 2026-10-01…07 off; the Sunday 2026-09-20 is a 调休 working day. */
    CHECK_AT(dsp_work_start(cal, &h, at("2026-09-30 18:00"), NULL, NULL), "2026-10-08 08:30");
    CHECK_AT(dsp_work_start(cal, &h, at("2026-09-19 10:00"), NULL, NULL), "2026-09-20 08:30");
    /* A morning part-timer asked in the afternoon starts tomorrow morning. */
    workcal_schedule am;
    CHECK_INT(workcal_schedule_parse("08:00-12:00", &am, &e), 0);
    CHECK_AT(dsp_work_start(cal, &am, at("2026-12-01 16:00"), NULL, NULL), "2026-12-02 08:00");
}

/* ---- the 东极 case ---- */

TEST(dispatch_dongji_at_16_local_agent_next_morning) {
    db *d = zhoushan_db(0);
    CHECK(d != NULL);
    if (!d) return;
    /* A part-time local agent (mornings) on 庙子湖, a full-time one in the city with
     * the day still ahead of them. */
    int64_t local = add_agent(d, "王芳", DONGJI_STATION, "08:00-12:00", "{\"all\":true}", 3, 0, 1);
    int64_t city = add_agent(d, "金磊", CITY_STATION, FULL_DAY, "{\"all\":true}", 8, 0, 1);
    int64_t req = add_request(d, DONGJI_VILLAGE, NULL, 0, NULL);
    int64_t t = at("2026-12-01 16:00");
    dispatch_choice c;
    err e = {0};
    CHECK_INT(dispatch_pick(d, req, t, NULL, 0, &c, &e), 0);
    CHECK_INT(c.agent_id, local);
    CHECK_INT(c.remote, 0);
    char b[32];
    fmt(c.eta, b);
    CHECK(!strncmp(b, "2026-12-02 08:", 14) && c.eta <= at("2026-12-02 08:15"));
    CHECK_HAS(c.reason, "王芳: 同镇");
    CHECK_HAS(c.reason, "明天 08:00 出发");
    CHECK_HAS(c.reason, "当前 0 件");
    /* The ranking shows why not the city: after the last boat (14:00) nobody from the
     * city is there before the next morning's sailings — and not on the 07:30 boat,
     * which leaves before their working hours. */
    dispatch_choice r[4];
    dispatch_rank_info info;
    CHECK_INT(dispatch_rank(d, req, t, NULL, 0, r, 4, &info, &e), 2);
    CHECK_INT(r[0].agent_id, local);
    CHECK_INT(r[1].agent_id, city);
    CHECK(r[1].eta >= at("2026-12-02 10:00") && r[1].eta < at("2026-12-02 14:00"));
    CHECK_HAS(r[1].reason, "跨岛乘船");
    CHECK(r[1].score > r[0].score);
    CHECK_INT(info.agents_on_duty, 2);
    CHECK_STR(info.village, "东极社区");
    /* With the local agent off duty, the city agent is sent — for the next morning. */
    sql(d, "UPDATE agents SET on_duty = 0 WHERE name = '王芳'");
    CHECK_INT(dispatch_pick(d, req, t, NULL, 0, &c, &e), 0);
    CHECK_INT(c.agent_id, city);
    CHECK(c.eta >= at("2026-12-02 10:00"));
    /* A full-day local agent goes at once. */
    sql(d, "UPDATE agents SET on_duty = 1, hours = '08:30-12:00,13:30-17:30' WHERE name = '王芳'");
    CHECK_INT(dispatch_pick(d, req, t, NULL, 0, &c, &e), 0);
    CHECK_INT(c.agent_id, local);
    CHECK(c.eta >= t && c.eta <= t + 15 * 60);
    CHECK_HAS(c.reason, "分钟可达");
    db_close(d);
    fresh();
}

TEST(dispatch_exclusion_after_decline_and_nobody) {
    db *d = zhoushan_db(0);
    CHECK(d != NULL);
    if (!d) return;
    int64_t req = add_request(d, DONGJI_VILLAGE, NULL, 0, NULL);
    int64_t t = at("2026-12-01 10:00");
    dispatch_choice c;
    err e = {0};
    /* No agents at all: nobody, the request waits. */
    CHECK_INT(dispatch_pick(d, req, t, NULL, 0, &c, &e), 0);
    CHECK_INT(c.agent_id, 0);
    CHECK_HAS(c.reason, "暂无在岗人员");
    int64_t local = add_agent(d, "王芳", DONGJI_STATION, FULL_DAY, "{\"all\":true}", 3, 0, 1);
    int64_t city = add_agent(d, "金磊", CITY_STATION, FULL_DAY, "{\"all\":true}", 8, 0, 1);
    CHECK_INT(dispatch_pick(d, req, t, NULL, 0, &c, &e), 0);
    CHECK_INT(c.agent_id, local);
    /* The local agent declines: the next best, the city agent by boat. */
    CHECK_INT(dispatch_pick(d, req, t, &local, 1, &c, &e), 0);
    CHECK_INT(c.agent_id, city);
    CHECK_HAS(c.reason, "跨岛乘船");
    /* Both declined: nobody, and the reason says so. */
    int64_t both[2] = {local, city};
    CHECK_INT(dispatch_pick(d, req, t, both, 2, &c, &e), 0);
    CHECK_INT(c.agent_id, 0);
    CHECK_HAS(c.reason, "已拒单 2");
    /* Everyone off duty: nobody. */
    sql(d, "UPDATE agents SET on_duty = 0");
    CHECK_INT(dispatch_pick(d, req, t, NULL, 0, &c, &e), 0);
    CHECK_INT(c.agent_id, 0);
    /* Unknown and closed requests. */
    CHECK_INT(dispatch_pick(d, 999999, t, NULL, 0, &c, &e), -1);
    CHECK_INT(e.status, 404);
    sql(d, "UPDATE assist_requests SET status = 'done'");
    CHECK_INT(dispatch_pick(d, req, t, NULL, 0, &c, &e), -1);
    CHECK_INT(e.status, 409);
    db_close(d);
    fresh();
}

/* ---- skills, capacity, remote ---- */

TEST(dispatch_skills_and_capacity_are_hard) {
    db *d = zhoushan_db(1);
    CHECK(d != NULL);
    if (!d) return;
    /* The request is at the village of S0002 (环南街道). */
    int64_t wrong =
        add_agent(d, "甲", "S0002", FULL_DAY, "{\"departments\":[\"舟山市民政局\"]}", 3, 0, 1);
    int64_t full =
        add_agent(d, "乙", "S0002", FULL_DAY, "{\"departments\":[\"舟山市公安局\"]}", 3, 3, 1);
    int64_t by_item =
        add_agent(d, "丙", "S0003", FULL_DAY, "{\"items\":[\"" POLICE_IN_PERSON "\"]}", 3, 0, 1);
    int64_t broken = add_agent(d, "丁", "S0002", "whenever", "{\"all\":true}", 3, 0, 1);
    (void)wrong;
    (void)broken;
    int64_t req = add_request(d, "330902003001", POLICE_IN_PERSON, 0, NULL);
    int64_t t = at("2026-12-01 10:00");
    dispatch_choice c;
    err e = {0};
    CHECK_INT(dispatch_pick(d, req, t, NULL, 0, &c, &e), 0);
    CHECK_INT(c.agent_id, by_item); /* the nearer ones lack the skill, are full, have no hours */
    CHECK_INT(c.remote, 0);
    dispatch_choice r[8];
    dispatch_rank_info info;
    CHECK_INT(dispatch_rank(d, req, t, NULL, 0, r, 8, &info, &e), 1);
    CHECK_INT(info.no_skill, 1);
    CHECK_INT(info.full, 1);
    CHECK_INT(info.bad_hours, 1);
    /* A department skill matches the item's department by containment ("公安"). */
    int64_t partial =
        add_agent(d, "戊", "S0002", FULL_DAY, "{\"departments\":[\"公安\"]}", 3, 0, 1);
    CHECK_INT(dispatch_pick(d, req, t, NULL, 0, &c, &e), 0);
    CHECK_INT(c.agent_id, partial);
    CHECK_HAS(c.reason, "同村");
    /* With room again, the full one is back — but load counts: one open task (30) loses
     * against an idle agent at the same place. */
    sql(d, "UPDATE agents SET open_tasks = 1 WHERE name = '乙'");
    CHECK_INT(dispatch_pick(d, req, t, NULL, 0, &c, &e), 0);
    CHECK_INT(c.agent_id, partial);
    sql(d, "UPDATE agents SET open_tasks = 0 WHERE name = '乙'");
    sql(d, "UPDATE agents SET served_today = 2 WHERE name = '戊'");
    CHECK_INT(dispatch_pick(d, req, t, NULL, 0, &c, &e), 0);
    CHECK_INT(c.agent_id, full); /* fairness: 戊 has served two today */
    db_close(d);
    fresh();
}

TEST(dispatch_remote_when_the_item_is_online) {
    db *d = zhoushan_db(1);
    CHECK(d != NULL);
    if (!d) return;
    /* Nobody on the resident's island (东极) knows civil affairs; a city agent does. */
    add_agent(d, "王芳", DONGJI_STATION, FULL_DAY, "{\"departments\":[\"舟山市公安局\"]}", 3, 0, 1);
    int64_t city = add_agent(d, "金磊", CITY_STATION, FULL_DAY,
                             "{\"departments\":[\"舟山市民政局\"]}", 8, 2, 1);
    int64_t req = add_request(d, DONGJI_VILLAGE, CIVIL_ONLINE, 0, NULL);
    dispatch_choice c;
    err e = {0};
    int64_t t = at("2026-12-01 16:00"); /* after the last boat: no matter, nobody travels */
    CHECK_INT(dispatch_pick(d, req, t, NULL, 0, &c, &e), 0);
    CHECK_INT(c.agent_id, city);
    CHECK_INT(c.remote, 1);
    CHECK(c.eta == t);
    CHECK_HAS(c.reason, "远程办理：可全程网办");
    CHECK_HAS(c.reason, "金磊");
    CHECK_HAS(c.reason, "立即可办");
    CHECK_HAS(c.reason, "当前 2 件");
    /* Score: 2 open tasks × 30 + another town's agent 10. */
    CHECK(fabs(c.score - 70.0) < 0.01);
    /* In the evening the work starts when hours begin. */
    CHECK_INT(dispatch_pick(d, req, at("2026-12-01 19:00"), NULL, 0, &c, &e), 0);
    CHECK_AT(c.eta, "2026-12-02 08:30");
    CHECK_HAS(c.reason, "明天 08:30 起可办");
    /* An agent of the resident's own town with the skill is preferred. */
    int64_t own = add_agent(d, "李静", "S0272", FULL_DAY, "{\"departments\":[\"民政\"]}", 3, 2, 1);
    CHECK_INT(dispatch_pick(d, req, t, NULL, 0, &c, &e), 0);
    CHECK_INT(c.agent_id, own);
    CHECK(fabs(c.score - 60.0) < 0.01);
    db_close(d);
    fresh();
}

TEST(dispatch_urgency_and_preferred_time) {
    db *d = zhoushan_db(0);
    CHECK(d != NULL);
    if (!d) return;
    int64_t near_busy = add_agent(d, "近", "S0002", FULL_DAY, "{\"all\":true}", 8, 1, 1);
    int64_t far_idle = add_agent(d, "远", "S0010", FULL_DAY, "{\"all\":true}", 8, 0, 1);
    int64_t t = at("2026-12-01 10:00");
    err e = {0};
    dispatch_choice r[2];
    int64_t normal = add_request(d, "330902003001", NULL, 0, NULL);
    int64_t urgent = add_request(d, "330902003001", NULL, 1, NULL);
    CHECK_INT(dispatch_rank(d, normal, t, NULL, 0, r, 2, NULL, &e), 2);
    /* Whatever the order, urgency multiplies the travel part only. */
    double travel_far = 0;
    for (int i = 0; i < 2; i++)
        if (r[i].agent_id == far_idle) travel_far = r[i].score;
    dispatch_choice u[2];
    CHECK_INT(dispatch_rank(d, urgent, t, NULL, 0, u, 2, NULL, &e), 2);
    for (int i = 0; i < 2; i++)
        if (u[i].agent_id == far_idle) CHECK(fabs(u[i].score - 3 * travel_far) < 0.02);
    for (int i = 0; i < 2; i++)
        if (u[i].agent_id == near_busy) CHECK(u[i].score >= 30.0);
    /* A preferred time tomorrow: both can be there by then; the idle one wins, and the
     * reason names the appointment. */
    int64_t later = add_request(d, "330902003001", NULL, 0, "2026-12-02T02:00:00Z"); /* 10:00 */
    dispatch_choice c;
    CHECK_INT(dispatch_pick(d, later, t, NULL, 0, &c, &e), 0);
    CHECK_INT(c.agent_id, far_idle);
    CHECK_AT(c.eta, "2026-12-02 10:00");
    CHECK(c.score < 0.01);
    CHECK_HAS(c.reason, "按预约 明天 10:00 上门");
    db_close(d);
    fresh();
}

/* ---- the staged single dispatch agrees with the full ranking ---- */

TEST(dispatch_pick_agrees_with_full_ranking) {
    db *d = zhoushan_db(1);
    CHECK(d != NULL);
    if (!d) return;
    err e = {0};
    dsp_bench_seeded seeded;
    int64_t t = at("2026-12-01 10:00");
    CHECK_INT(dsp_bench_seed(d, 1470, 200, 7, t, &seeded, &e), 0);
    CHECK_INT(seeded.agents_added, 1470);
    CHECK_INT(seeded.requests_added, 200);
    /* Some load, some positions away from home, so the stages matter. */
    sql(d, "UPDATE agents SET open_tasks = id % 3, served_today = id % 5");
    sql(d, "UPDATE agents SET position_island = 'daishan' WHERE id % 97 = 0");
    int mismatches = 0, remote = 0;
    for (int64_t id = 1; id <= 200; id++) {
        int64_t when = t + (id % 4) * 3 * 3600; /* 10:00, 13:00, 16:00, 19:00 */
        dispatch_choice a, b;
        CHECK_INT(dispatch_pick(d, id, when, NULL, 0, &a, &e), 0);
        CHECK_INT(dispatch_rank(d, id, when, NULL, 0, &b, 1, NULL, &e), 1);
        if (a.agent_id != b.agent_id || fabs(a.score - b.score) > 1e-9) {
            if (mismatches++ < 3)
                fprintf(stderr, "    request %lld: pick %lld (%.2f) vs rank %lld (%.2f)\n",
                        (long long)id, (long long)a.agent_id, a.score, (long long)b.agent_id,
                        b.score);
        }
        remote += a.remote;
        CHECK(strlen(a.reason) > 0 && strlen(a.reason) < sizeof(a.reason) - 1);
    }
    CHECK_INT(mismatches, 0);
    CHECK(remote > 20 && remote < 180);
    db_close(d);
    fresh();
}

/* ---- batch ---- */

/* One island, one town; stations on a line (longitudes), villages at their stations:
 *   V0 121.970   SX 122.000 (agent X)   V1 122.045   SY 122.100 (agent Y) */
static db *line_db(void) {
    fresh();
    db *d = test_db_open();
    if (!d) return NULL;
    static const char *const q[] = {
        "INSERT INTO towns VALUES ('339999001','甲镇','339999','测试县','a',30.0,122.0,'镇')",
        "INSERT INTO islands VALUES ('a','甲岛','339999001',30.00,122.00,6000,1)",
        "INSERT INTO villages VALUES ('339999001200','零村','339999001','a',100,1),"
        "('339999001201','一村','339999001','a',100,1),('339999001202','X村','339999001','a',100,1)"
        ","
        "('339999001203','Y村','339999001','a',100,1)",
        "INSERT INTO stations (id, name, village_code, town_code, island_id, kind, lat, lon, "
        "staff) "
        "VALUES ('S0','零站','339999001200','339999001','a','便民服务站',30.00,121.97,1),"
        "('S1','一站','339999001201','339999001','a','便民服务站',30.00,122.045,1),"
        "('SX','X站','339999001202','339999001','a','便民服务站',30.00,122.00,1),"
        "('SY','Y站','339999001203','339999001','a','便民服务站',30.00,122.10,1)",
    };
    for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++)
        sql(d, q[i]);
    return d;
}

static void mem_agent(const travel_graph *g, dsp_skills_gen *gen, dsp_agent *a, int64_t id,
                      const char *name, const char *station, int capacity) {
    memset(a, 0, sizeof(*a));
    a->id = id;
    snprintf(a->name, sizeof(a->name), "%s", name);
    snprintf(a->town_code, sizeof(a->town_code), "339999001");
    CHECK_INT(travel_place_station(g, station, &a->home), 0);
    a->origin = a->home;
    a->at_home = 1;
    a->skills = dsp_skills_get(gen, "{\"all\":true}", strlen("{\"all\":true}"));
    err e = {0};
    a->hours_ok = workcal_schedule_parse(FULL_DAY, &a->hours, &e) == 0;
    a->capacity = capacity;
}

static void mem_request(const travel_graph *g, dsp_request *r, int64_t id, const char *village) {
    memset(r, 0, sizeof(*r));
    r->id = id;
    CHECK_INT(travel_place_village(g, village, &r->place), 0);
    snprintf(r->village_code, sizeof(r->village_code), "%s", village);
    snprintf(r->town_code, sizeof(r->town_code), "339999001");
}

TEST(dispatch_batch_beats_greedy) {
    db *d = line_db();
    CHECK(d != NULL);
    if (!d) return;
    err e = {0};
    travel_graph *g = travel_load(d, "/nonexistent-isle-data", &e);
    const workcal *cal = workcal_default(&e);
    CHECK(g != NULL && cal != NULL);
    if (!g || !cal) {
        db_close(d);
        return;
    }
    dsp_world w;
    CHECK_INT(dsp_world_init(&w, d, g, cal, &e), 0);
    dsp_skills_gen *gen = dsp_skills_hold();
    dsp_agent ag[2];
    mem_agent(g, gen, &ag[0], 1, "X", "SX", 1);
    mem_agent(g, gen, &ag[1], 2, "Y", "SY", 1);
    /* r1 at V1 (X 9 min, Y 11 min), then r2 at V0 (X 6 min, Y 25 min). One at a time,
     * r1 takes X and leaves r2 to Y: 9 + 25. As one problem: r1 → Y, r2 → X: 11 + 6. */
    dsp_request rq[2];
    mem_request(g, &rq[0], 1, "339999001201");
    mem_request(g, &rq[1], 2, "339999001200");
    int64_t t = at("2026-12-01 10:00");
    dsp_cand cand;
    CHECK_INT(dsp_eval(&w, &rq[0], &ag[0], t, &cand), 0);
    CHECK_INT(cand.wait_minutes, 9);
    CHECK_INT(dsp_eval(&w, &rq[0], &ag[1], t, &cand), 0);
    CHECK_INT(cand.wait_minutes, 11);
    CHECK_INT(dsp_eval(&w, &rq[1], &ag[0], t, &cand), 0);
    CHECK_INT(cand.wait_minutes, 6);
    CHECK_INT(dsp_eval(&w, &rq[1], &ag[1], t, &cand), 0);
    CHECK_INT(cand.wait_minutes, 25);
    dsp_cand best[2], greedy[2];
    dsp_assign_stats sb, sg;
    CHECK_INT(dsp_assign(&w, rq, 2, ag, 2, t, best, NULL, &sb), 0);
    CHECK_INT(dsp_assign_greedy(&w, rq, 2, ag, 2, t, greedy, NULL, &sg), 0);
    CHECK_INT(greedy[0].agent, 0);
    CHECK_INT(greedy[1].agent, 1);
    CHECK_INT(best[0].agent, 1);
    CHECK_INT(best[1].agent, 0);
    CHECK_INT(sb.assigned, 2);
    CHECK(sb.total_score < sg.total_score);
    CHECK_INT((int)lround(sb.total_score), 17);
    CHECK_INT((int)lround(sg.total_score), 34);
    /* The batch's travel (one tree per agent class) agrees with the single route. */
    for (int i = 0; i < 2; i++) {
        dsp_cand single;
        CHECK_INT(dsp_eval(&w, &rq[i], &ag[best[i].agent], t, &single), 0);
        CHECK(single.arrive == best[i].arrive && single.depart == best[i].depart);
    }
    /* Capacity 2 for X: X takes both, the second one scored with X's load. */
    ag[0].capacity = 2;
    dsp_cand two[2];
    int load[2];
    CHECK_INT(dsp_assign(&w, rq, 2, ag, 2, t, two, load, &sb), 0);
    CHECK(two[0].agent >= 0 && two[1].agent >= 0);
    /* Nobody with room: both wait. */
    ag[0].open_tasks = 2;
    ag[1].open_tasks = 1;
    CHECK_INT(dsp_assign(&w, rq, 2, ag, 2, t, two, NULL, &sb), 0);
    CHECK_INT(two[0].agent, -1);
    CHECK_INT(two[1].agent, -1);
    CHECK_INT(sb.unassigned, 2);
    dsp_skills_release(gen);
    dsp_world_free(&w);
    travel_free(g);
    db_close(d);
    fresh();
}

/* The flow against brute force: every way to give each request one of its candidates
 * or nothing, within the capacities. */
typedef struct small_inst {
    int nr, na;
    int cstart[9], cagent[32];
    int64_t ccost[32], penalty[8];
    int rem[4], open[4];
    int64_t slot;
} small_inst;

static int64_t brute(const small_inst *p, int i, int *used) {
    if (i == p->nr) return 0;
    int64_t best = p->penalty[i] + brute(p, i + 1, used);
    for (int j = p->cstart[i]; j < p->cstart[i + 1]; j++) {
        int a = p->cagent[j];
        if (used[a] >= p->rem[a]) continue;
        int64_t c = p->ccost[j] + p->slot * (p->open[a] + used[a]);
        used[a]++;
        c += brute(p, i + 1, used);
        used[a]--;
        if (c < best) best = c;
    }
    return best;
}

TEST(dispatch_flow_matches_brute_force) {
    uint64_t s = 12345;
    int bad = 0;
    for (int round = 0; round < 400; round++) {
        small_inst p;
        memset(&p, 0, sizeof(p));
#define RND(n) ((int)((s = s * 6364136223846793005ULL + 1442695040888963407ULL) >> 33) % (n))
        p.nr = 1 + RND(7);
        p.na = 1 + RND(3);
        p.slot = RND(3) * 150;
        for (int a = 0; a < p.na; a++) {
            p.rem[a] = RND(3);
            p.open[a] = RND(3);
        }
        int k = 0;
        for (int i = 0; i < p.nr; i++) {
            p.cstart[i] = k;
            int seen = 0;
            int nc = 1 + RND(p.na);
            for (int c = 0; c < nc; c++) {
                int a = RND(p.na);
                if (seen & (1 << a)) continue;
                seen |= 1 << a;
                p.cagent[k] = a;
                p.ccost[k] = RND(1000);
                k++;
            }
            p.penalty[i] = 500 + RND(3) * 1000;
        }
        p.cstart[p.nr] = k;
        int asg[8], used[4] = {0};
        dsp_flow_solve(p.nr, p.na, p.cstart, p.cagent, p.ccost, p.penalty, p.rem, p.open, p.slot,
                       NULL, asg);
        /* The flow's cost, checking it is feasible. */
        int64_t cost = 0;
        int cnt[4] = {0};
        for (int i = 0; i < p.nr; i++) {
            if (asg[i] < 0) {
                cost += p.penalty[i];
                continue;
            }
            int found = 0;
            for (int j = p.cstart[i]; j < p.cstart[i + 1]; j++)
                if (p.cagent[j] == asg[i]) {
                    cost += p.ccost[j];
                    found = 1;
                }
            CHECK(found);
            cnt[asg[i]]++;
        }
        for (int a = 0; a < p.na; a++) {
            CHECK(cnt[a] <= p.rem[a]);
            for (int q = 0; q < cnt[a]; q++)
                cost += p.slot * (p.open[a] + q);
        }
        int64_t want = brute(&p, 0, used);
        if (cost != want && bad++ < 3)
            fprintf(stderr, "    round %d: flow %lld, optimum %lld\n", round, (long long)cost,
                    (long long)want);
    }
    CHECK_INT(bad, 0);
}

/* ---- the synthetic day ---- */

TEST(dispatch_simulate_beats_the_straight_line_baseline) {
    db *d = zhoushan_db(1);
    CHECK(d != NULL);
    if (!d) return;
    dispatch_sim_result r;
    err e = {0};
    CHECK_INT(dispatch_simulate(d, "2026-12-01", 400, 3, &r, &e), 0);
    CHECK_INT(r.agents_generated, 1);
    CHECK_INT(r.agents, 1470);
    CHECK_INT(r.requests, 400);
    CHECK(r.workday);
    CHECK(r.isle.served >= 395 && r.baseline.served >= 395);
    CHECK(r.isle.mean_minutes > 0 && r.baseline.mean_minutes > 0);
    CHECK(r.isle.p95_minutes > 0 && r.isle.p95_minutes < r.baseline.p95_minutes);
    CHECK(r.improvement >= 0.25);
    CHECK(r.isle.remote > 0 && r.baseline.remote == 0);
    /* The baseline given the online channel too is better than without, and still
     * behind: the gain is not only remote handling. */
    CHECK_INT(r.baseline_remote.remote, r.isle.remote);
    CHECK(r.baseline_remote.mean_minutes < r.baseline.mean_minutes);
    CHECK(r.isle.mean_minutes < r.baseline_remote.mean_minutes);
    CHECK(r.isle.utilisation > 0 && r.isle.utilisation < 1);
    /* Deterministic for a seed. */
    dispatch_sim_result again;
    CHECK_INT(dispatch_simulate(d, "2026-12-01", 400, 3, &again, &e), 0);
    CHECK(again.isle.mean_minutes == r.isle.mean_minutes);
    CHECK(again.baseline.p95_minutes == r.baseline.p95_minutes);
    CHECK_INT(dispatch_simulate(d, "2026-13-01", 10, 1, &r, &e), -1);
    CHECK_STR(e.field, "day");
    db_close(d);
    fresh();
}

TEST(dispatch_batch_on_the_database) {
    db *d = zhoushan_db(1);
    CHECK(d != NULL);
    if (!d) return;
    err e = {0};
    dsp_bench_seeded seeded;
    int64_t t = at("2026-12-01 10:00");
    CHECK_INT(dsp_bench_seed(d, 1470, 600, 11, t, &seeded, &e), 0);
    int64_t ids[600];
    for (int i = 0; i < 600; i++)
        ids[i] = i + 1;
    dispatch_choice *out = xcalloc(600, sizeof(*out));
    dsp_assign_stats sb, sg;
    CHECK_INT(dsp_batch_db(d, t, ids, 600, 0, out, &sb, &e), 0);
    int assigned = 0;
    for (int i = 0; i < 600; i++)
        if (out[i].agent_id) {
            assigned++;
            CHECK(out[i].eta >= t);
            CHECK(strlen(out[i].reason) > 0);
        }
    CHECK_INT(assigned, sb.assigned);
    CHECK_INT(sb.assigned, 600); /* 1,470 agents have room for 600 */
    CHECK_INT(dsp_batch_db(d, t, ids, 600, 1, out, &sg, &e), 0);
    CHECK(sb.total_score <= sg.total_score + 1e-6);
    /* No agent gets more than its room. */
    CHECK_INT(dispatch_batch(d, t, ids, 600, out, &e), 0);
    int64_t maxid = test_db_count(d, "SELECT MAX(id) FROM agents");
    int *per = xcalloc((size_t)maxid + 1, sizeof(int));
    for (int i = 0; i < 600; i++)
        if (out[i].agent_id) per[out[i].agent_id]++;
    int over = 0;
    for (int64_t a = 1; a <= maxid; a++) {
        char q[128];
        snprintf(q, sizeof(q), "SELECT capacity - open_tasks FROM agents WHERE id = %lld",
                 (long long)a);
        if (per[a] > test_db_count(d, q)) over++;
    }
    CHECK_INT(over, 0);
    free(per);
    /* Errors: an unknown id, a closed request. */
    ids[0] = 999999;
    CHECK_INT(dispatch_batch(d, t, ids, 2, out, &e), -1);
    CHECK_INT(e.status, 404);
    sql(d, "UPDATE assist_requests SET status = 'cancelled' WHERE id = 2");
    CHECK_INT(dispatch_batch(d, t, ids + 1, 2, out, &e), -1);
    CHECK_INT(e.status, 409);
    CHECK_INT(dispatch_batch(d, t, ids, 0, out, &e), -1);
    free(out);
    db_close(d);
    fresh();
}
