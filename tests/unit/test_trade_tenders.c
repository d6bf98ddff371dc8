/* Unit tests for tenders, notices, companies and deposits (src/trade/tenders.c): time
 * parsing with zones, every create rule (kind/method, budget/reserve, the 2% deposit
 * cap, weights, factors, timetable, lots), numbering per kind, the legal minimum
 * bidding period and its override, the 15-day rule for late clarifications and
 * amendments (the deadline moves, evaluation_at with it), drafts-only editing,
 * visibility of drafts, results with savings and premium rates, 流标 inside a
 * caller's transaction, cancellation, company registration (USCC check digit,
 * duplicates) and deposits (period, amount, one per company, who sees them). */
#include "test.h"

#include <math.h>
#include <stdlib.h>

#include "auth/auth.h"
#include "auth/roles.h"
#include "base/jsonx.h"
#include "base/timeutil.h"
#include "db/db.h"
#include "trade/tenders.h"
#include "trade/trade.h"

#define USCC_A  "91330900MA2A00001Y"
#define USCC_B  "91330900MA2A000022"
#define DAYS(n) ((int64_t)(n)*86400)

static const trade_actor t_staff = {.user_id = 0, .audit = {0, "test", NULL}};

static char *iso_at(int64_t t, char *buf) {
    return time_iso(buf, 32, t);
}

static json_t *works_json(int64_t now, int deadline_days) {
    char dl[32], qu[32], ev[32];
    iso_at(now + DAYS(deadline_days), dl);
    iso_at(now + DAYS(deadline_days) - DAYS(5), qu);
    iso_at(now + DAYS(deadline_days) + 3600, ev);
    return json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:{s:i,s:i},s:[{s:s,s:s},{s:s,s:s}],s:s,s:s,s:s}", "kind",
        "works", "title", "六横镇海塘加固工程施工", "buyer", "舟山市普陀区六横镇人民政府", "budget",
        "12345678.90", "deposit", "200000", "method", "composite", "qualification",
        "水利水电工程施工总承包三级及以上", "method_params", "price_weight", 40, "tech_weight", 60,
        "lots", "name", "一标段", "budget", "6000000", "name", "二标段", "budget", "6000000",
        "deadline_at", dl, "questions_until", qu, "evaluation_at", ev);
}

static json_t *land_json(int64_t now) {
    char dl[32];
    iso_at(now + DAYS(30), dl);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:{s:s,s:i},s:s}", "kind", "land", "title",
                     "定海区临城街道 2026-12 号地块", "buyer", "舟山市自然资源和规划局", "reserve",
                     "50000000", "deposit", "10000000", "method", "auction", "method_params",
                     "increment", "100000", "extend_seconds", 300, "deadline_at", dl);
}

/* Create with one field changed; returns the error status (0 on success). */
static int create_with(db *d, json_t *base, const char *key, json_t *val, char *field_out) {
    json_t *in = json_deep_copy(base);
    if (val)
        json_object_set_new(in, key, val);
    else
        json_object_del(in, key);
    err e = {0};
    int64_t id = 0;
    int rc = tenders_create(d, &t_staff, in, &id, &e);
    json_decref(in);
    if (field_out) snprintf(field_out, 64, "%s", e.field);
    return rc == 0 ? 0 : e.status;
}

static int64_t make_user(db *d, const char *login, const char *role) {
    auth_user_input in = {
        .login = login, .password = "Zhoushan@2026", .role = role, .display_name = login};
    audit_actor aa = {0, "test", NULL};
    err e = {0};
    int64_t id = 0;
    if (auth_user_create(d, &aa, &in, &id, &e) != 0) {
        fprintf(stderr, "    user: %s\n", e.message);
        return 0;
    }
    return id;
}

static trade_actor actor_of(db *d, int64_t uid, int role) {
    trade_actor a = {.user_id = uid, .role = role, .audit = {uid, "test", NULL}};
    err e = {0};
    trade_actor_load(d, &a, &e);
    return a;
}

TEST(trade_tenders_parse_time) {
    int64_t t = 0;
    CHECK_INT(tenders_parse_time("2026-12-20T09:30:00Z", &t), 0);
    int64_t z = t;
    CHECK_INT(tenders_parse_time("2026-12-20T17:30:00+08:00", &t), 0);
    CHECK_INT(t, z);
    CHECK_INT(tenders_parse_time("2026-12-20T17:30+0800", &t), 0);
    CHECK_INT(t, z);
    CHECK_INT(tenders_parse_time("2026-12-20T09:30:00.123Z", &t), 0);
    CHECK_INT(t, z);
    CHECK_INT(tenders_parse_time("2026-12-20T09:30:00", &t), -1); /* no zone */
    CHECK_INT(tenders_parse_time("2026-02-30T09:30:00Z", &t), -1);
    CHECK_INT(tenders_parse_time("2026-12-20T24:00:00Z", &t), -1);
    CHECK_INT(tenders_parse_time("2026-12-20T09:30:00Zjunk", &t), -1);
    CHECK_INT(tenders_parse_time("", &t), -1);
}

TEST(trade_tenders_create_rules) {
    db *d = test_db_open();
    CHECK(d != NULL);
    if (!d) return;
    int64_t now = time_now();
    json_t *w = works_json(now, 30);
    char f[64];
    CHECK_INT(create_with(d, w, "method", json_string("auction"), f), 400);
    CHECK_STR(f, "method");
    CHECK_INT(create_with(d, w, "budget", NULL, f), 400);
    CHECK_STR(f, "budget");
    CHECK_INT(create_with(d, w, "budget", json_string("12.345"), f), 400);
    CHECK_STR(f, "budget");
    CHECK_INT(create_with(d, w, "reserve", json_string("100"), f), 400);
    CHECK_STR(f, "reserve");
    /* 2% of 12,345,678.90 = 246,913.578: 246913.57 passes, 246913.58 does not */
    CHECK_INT(create_with(d, w, "deposit", json_string("246913.57"), f), 0);
    CHECK_INT(create_with(d, w, "deposit", json_string("246913.58"), f), 400);
    CHECK_STR(f, "deposit");
    CHECK_INT(create_with(d, w, "method_params",
                          json_pack("{s:i,s:i}", "price_weight", 60, "tech_weight", 30), f),
              400);
    CHECK_STR(f, "method_params");
    json_t *rl = json_deep_copy(w);
    json_object_set_new(rl, "method", json_string("reasonable_low"));
    CHECK_INT(create_with(d, rl, "method_params",
                          json_pack("{s:f,s:f}", "factor_min", 0.85, "factor_max", 0.98), f),
              400);
    CHECK_INT(create_with(d, rl, "method_params",
                          json_pack("{s:f,s:f}", "factor_min", 0.92, "factor_max", 0.97), f),
              0);
    CHECK_INT(create_with(d, rl, "method_params", json_pack("{s:s}", "bogus", "1"), f), 400);
    json_decref(rl);
    char t1[32];
    CHECK_INT(create_with(d, w, "questions_until", json_string(iso_at(now + DAYS(31), t1)), f),
              400);
    CHECK_STR(f, "questions_until");
    CHECK_INT(create_with(d, w, "evaluation_at", json_string(iso_at(now + DAYS(29), t1)), f), 400);
    CHECK_STR(f, "evaluation_at");
    json_t *bare = json_deep_copy(w);
    json_object_del(bare, "questions_until");
    json_object_del(bare, "evaluation_at");
    CHECK_INT(create_with(d, bare, "deadline_at", json_string(iso_at(now - 60, t1)), f), 400);
    CHECK_STR(f, "deadline_at");
    json_decref(bare);
    CHECK_INT(create_with(d, w, "deadline_at", json_string("2027-01-01T09:00:00"), f), 400);
    CHECK_INT(create_with(d, w, "lots",
                          json_pack("[{s:s,s:s}]", "name", "一标段", "budget", "99999999"), f),
              400);
    CHECK_STR(f, "lots");
    json_t *many = json_array();
    for (int i = 0; i < 51; i++)
        json_array_append_new(many, json_pack("{s:s}", "name", "标段"));
    CHECK_INT(create_with(d, w, "lots", many, f), 400);
    char longt[TRADE_TITLE_MAX + 2];
    memset(longt, 'x', sizeof(longt) - 1);
    longt[sizeof(longt) - 1] = '\0';
    CHECK_INT(create_with(d, w, "title", json_string(longt), f), 400);
    CHECK_STR(f, "title");
    CHECK_INT(create_with(d, w, "town_code", json_string("999999999"), f), 400);
    CHECK_INT(create_with(d, w, "unknown", json_string("x"), f), 400);

    json_t *l = land_json(now);
    CHECK_INT(create_with(d, l, "method", json_string("lowest_price"), f), 400);
    CHECK_STR(f, "method");
    CHECK_INT(create_with(d, l, "reserve", NULL, f), 400);
    CHECK_INT(create_with(d, l, "method_params", json_object(), f), 400);
    CHECK_STR(f, "method_params");
    CHECK_INT(create_with(d, l, "deposit", json_string("60000000"), f), 400);

    /* non-staff cannot create */
    int64_t uid = make_user(d, "bidder_c1", "bidder");
    trade_actor b = actor_of(d, uid, ROLE_BIDDER);
    err e = {0};
    int64_t id = 0;
    CHECK_INT(tenders_create(d, &b, w, &id, &e), -1);
    CHECK_INT(e.status, 403);
    json_decref(w);
    json_decref(l);
    db_close(d);
}

TEST(trade_tenders_numbers_announce_notice) {
    db *d = test_db_open();
    if (!d) return;
    unsetenv("ISLE_TRADE_MIN_NOTICE_DAYS");
    int64_t now = time_now();
    err e = {0};
    int64_t id1 = 0, id2 = 0, id3 = 0;
    json_t *w = works_json(now, 18);
    CHECK_INT(tenders_create(d, &t_staff, w, &id1, &e), 0);
    json_decref(w);
    w = works_json(now, 25);
    CHECK_INT(tenders_create(d, &t_staff, w, &id2, &e), 0);
    json_decref(w);
    json_t *l = land_json(now);
    CHECK_INT(tenders_create(d, &t_staff, l, &id3, &e), 0);
    json_decref(l);
    trade_tender t1, t2, t3;
    CHECK_INT(trade_tender_load(d, id1, &t1, &e), 0);
    CHECK_INT(trade_tender_load(d, id2, &t2, &e), 0);
    CHECK_INT(trade_tender_load(d, id3, &t3, &e), 0);
    char year[16];
    time_t tt = (time_t)(now + 8 * 3600);
    struct tm tm;
    gmtime_r(&tt, &tm);
    snprintf(year, sizeof(year), "%04d", tm.tm_year + 1900);
    char want[40];
    snprintf(want, sizeof(want), "ZS-GC-%s-0001", year);
    CHECK_STR(t1.tender_no, want);
    snprintf(want, sizeof(want), "ZS-GC-%s-0002", year);
    CHECK_STR(t2.tender_no, want);
    snprintf(want, sizeof(want), "ZS-TD-%s-0001", year);
    CHECK_STR(t3.tender_no, want);
    CHECK_STR(t1.status, "draft");
    CHECK_INT(t1.budget_fen, 1234567890);
    CHECK_INT(t1.deposit_fen, 20000000);

    /* 招标投标法 art. 24: 18 days is too short, 25 is fine */
    CHECK_INT(tenders_announce(d, &t_staff, id1, NULL, &e), -1);
    CHECK_INT(e.status, 422);
    CHECK_STR(e.field, "deadline_at");
    CHECK_INT(tenders_announce(d, &t_staff, id2, NULL, &e), 0);
    CHECK_INT(trade_tender_load(d, id2, &t2, &e), 0);
    CHECK_STR(t2.status, "announced");
    CHECK(t2.announce_at >= now);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM tender_notices WHERE kind = 'announcement'"),
              1);
    CHECK_INT(tenders_announce(d, &t_staff, id2, NULL, &e), -1);
    CHECK_INT(e.status, 409);
    /* the override: 0 days */
    setenv("ISLE_TRADE_MIN_NOTICE_DAYS", "0", 1);
    CHECK_INT(tenders_min_notice_days("works"), 0);
    CHECK_INT(tenders_min_amend_days(), 0);
    CHECK_INT(tenders_announce(d, &t_staff, id1, NULL, &e), 0);
    unsetenv("ISLE_TRADE_MIN_NOTICE_DAYS");
    CHECK_INT(tenders_min_notice_days("works"), 20);
    CHECK_INT(tenders_min_notice_days("land"), 10);
    CHECK_INT(tenders_min_amend_days(), 15);

    /* editing: only drafts */
    json_t *patch = json_pack("{s:s}", "title", "改名");
    CHECK_INT(tenders_update(d, &t_staff, id2, patch, &e), -1);
    CHECK_INT(e.status, 409);
    CHECK_INT(tenders_update(d, &t_staff, id3, patch, &e), 0);
    json_decref(patch);
    patch = json_pack("{s:s}", "kind", "works");
    CHECK_INT(tenders_update(d, &t_staff, id3, patch, &e), -1);
    CHECK_STR(e.field, "kind");
    json_decref(patch);
    patch = json_pack("{s:s,s:I}", "buyer", "新出让人", "version", (json_int_t)99);
    CHECK_INT(tenders_update(d, &t_staff, id3, patch, &e), -1);
    CHECK_INT(e.status, 409);
    json_decref(patch);
    CHECK_INT(trade_tender_load(d, id3, &t3, &e), 0);
    CHECK_STR(t3.title, "改名");
    CHECK_INT(t3.reserve_fen, 5000000000LL);

    /* art. 23: id2's deadline is 25 days away: a clarification needs no move */
    json_t *n = json_pack("{s:s,s:s,s:s}", "kind", "clarification", "title", "澄清一", "body",
                          "工期以招标文件第三章为准。");
    CHECK_INT(tenders_notice(d, &t_staff, id2, n, NULL, &e), 0);
    json_decref(n);
    /* id1 (18 days, announced with the override) must move to ≥ 15 days … it already is */
    /* make id2 close to its deadline by moving the clock 20 days on */
    time_set_fake(now + DAYS(20));
    n = json_pack("{s:s,s:s,s:s}", "kind", "clarification", "title", "澄清二", "body", "补充说明");
    CHECK_INT(tenders_notice(d, &t_staff, id2, n, NULL, &e), -1);
    CHECK_INT(e.status, 422);
    CHECK_STR(e.field, "new_deadline_at");
    json_decref(n);
    char nd[32];
    n = json_pack("{s:s,s:s,s:s,s:s}", "kind", "amendment", "title", "修改一", "body", "截止顺延",
                  "new_deadline_at", iso_at(now + DAYS(20) + DAYS(10), nd));
    CHECK_INT(tenders_notice(d, &t_staff, id2, n, NULL, &e), -1); /* only 10 days after */
    CHECK_INT(e.status, 422);
    json_decref(n);
    n = json_pack("{s:s,s:s,s:s,s:s}", "kind", "clarification", "title", "修改一", "body", "x",
                  "new_deadline_at", iso_at(now + DAYS(20) + DAYS(16), nd));
    CHECK_INT(tenders_notice(d, &t_staff, id2, n, NULL, &e),
              -1); /* clarifications cannot move it */
    CHECK_STR(e.field, "new_deadline_at");
    json_decref(n);
    n = json_pack("{s:s,s:s,s:s,s:s}", "kind", "amendment", "title", "修改一", "body", "截止顺延",
                  "new_deadline_at", iso_at(now + DAYS(20) + DAYS(16), nd));
    int64_t nid = 0;
    CHECK_INT(tenders_notice(d, &t_staff, id2, n, &nid, &e), 0);
    CHECK(nid > 0);
    json_decref(n);
    CHECK_INT(trade_tender_load(d, id2, &t2, &e), 0);
    CHECK_INT(t2.deadline_at, now + DAYS(36));
    /* evaluation_at moved by the same 11 days */
    char ev[32];
    iso_at(now + DAYS(36) + 3600, ev);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM tenders WHERE evaluation_at IS NOT NULL"), 2);
    json_t *g = tenders_get(d, &t_staff, id2, &e);
    CHECK(g != NULL);
    CHECK_STR(jsonx_str(g, "evaluation_at"), ev);
    json_t *notices = json_object_get(g, "notices");
    CHECK_INT(json_array_size(notices), 3);
    json_t *am = json_array_get(notices, 2);
    CHECK_STR(jsonx_str(am, "kind"), "amendment");
    CHECK(jsonx_str(am, "old_deadline_at") != NULL);
    CHECK(jsonx_str(am, "new_deadline_at") != NULL);
    json_decref(g);
    /* an earlier deadline is refused */
    n = json_pack("{s:s,s:s,s:s,s:s}", "kind", "amendment", "title", "修改二", "body", "提前",
                  "new_deadline_at", iso_at(now + DAYS(35), nd));
    CHECK_INT(tenders_notice(d, &t_staff, id2, n, NULL, &e), -1);
    CHECK_INT(e.status, 400);
    json_decref(n);
    /* with the override at 0 a late clarification is fine */
    setenv("ISLE_TRADE_MIN_NOTICE_DAYS", "0", 1);
    time_set_fake(now + DAYS(35));
    n = json_pack("{s:s,s:s,s:s}", "kind", "clarification", "title", "澄清三", "body", "x");
    CHECK_INT(tenders_notice(d, &t_staff, id2, n, NULL, &e), 0);
    json_decref(n);
    unsetenv("ISLE_TRADE_MIN_NOTICE_DAYS");
    time_set_fake(0);
    CHECK(test_db_count(d, "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'tender.%'") >= 8);
    db_close(d);
}

TEST(trade_tenders_visibility_lists_fail_cancel) {
    db *d = test_db_open();
    if (!d) return;
    setenv("ISLE_TRADE_MIN_NOTICE_DAYS", "0", 1);
    int64_t now = time_now();
    err e = {0};
    int64_t draft = 0, pub = 0, sold = 0;
    json_t *w = works_json(now, 30);
    CHECK_INT(tenders_create(d, &t_staff, w, &draft, &e), 0);
    CHECK_INT(tenders_create(d, &t_staff, w, &pub, &e), 0);
    json_decref(w);
    json_t *l = land_json(now);
    CHECK_INT(tenders_create(d, &t_staff, l, &sold, &e), 0);
    json_decref(l);
    CHECK_INT(tenders_announce(d, &t_staff, pub, NULL, &e), 0);
    CHECK_INT(tenders_announce(d, &t_staff, sold, NULL, &e), 0);
    trade_actor anon = {.user_id = -1, .audit = {0, "anonymous", NULL}};
    int64_t sup_id = make_user(d, "super_v1", "supervisor");
    trade_actor sup = actor_of(d, sup_id, ROLE_SUPERVISOR);

    json_t *g = tenders_get(d, &anon, draft, &e);
    CHECK(g == NULL);
    CHECK_INT(e.status, 404);
    g = tenders_get(d, &sup, draft, &e);
    CHECK(g != NULL);
    CHECK(!json_is_true(json_object_get(json_object_get(g, "can"), "edit")));
    json_decref(g);
    g = tenders_get(d, &anon, pub, &e);
    CHECK(g != NULL);
    if (g) {
        CHECK_STR(jsonx_str(g, "budget"), "12345678.90");
        CHECK_INT(json_integer_value(json_object_get(g, "budget_fen")), 1234567890);
        CHECK_STR(jsonx_str(g, "kind_label"), "建设工程");
        CHECK_STR(jsonx_str(g, "status_label"), "公告中");
        CHECK_INT(json_array_size(json_object_get(g, "lots")), 2);
        CHECK_INT(json_integer_value(
                      json_object_get(json_object_get(g, "method_params"), "price_weight")),
                  40);
        CHECK(json_is_true(json_object_get(g, "open_for_bids")));
        CHECK(json_object_get(g, "created_by") == NULL);
        json_decref(g);
    }
    g = tenders_get(d, &anon, sold, &e);
    CHECK(g != NULL);
    if (g) {
        CHECK_STR(jsonx_str(json_object_get(g, "method_params"), "increment"), "100000.00");
        CHECK(jsonx_str(json_object_get(g, "links"), "auction") != NULL);
        json_decref(g);
    }

    tenders_filter f = {.limit = 20};
    json_t *out = NULL;
    CHECK_INT(tenders_list(d, &anon, &f, &out, &e), 0);
    CHECK_INT(json_integer_value(json_object_get(out, "total")), 2);
    json_decref(out);
    CHECK_INT(tenders_list(d, &t_staff, &f, &out, &e), 0);
    CHECK_INT(json_integer_value(json_object_get(out, "total")), 3);
    json_decref(out);
    f.kind = "land";
    CHECK_INT(tenders_list(d, &anon, &f, &out, &e), 0);
    CHECK_INT(json_integer_value(json_object_get(out, "total")), 1);
    json_decref(out);
    f.kind = NULL;
    f.q = "海塘";
    CHECK_INT(tenders_list(d, &anon, &f, &out, &e), 0);
    CHECK_INT(json_integer_value(json_object_get(out, "total")), 1);
    json_decref(out);
    f.q = "100%";
    CHECK_INT(tenders_list(d, &anon, &f, &out, &e), 0);
    CHECK_INT(json_integer_value(json_object_get(out, "total")), 0);
    json_decref(out);
    f.q = NULL;
    f.status = "draft";
    CHECK_INT(tenders_list(d, &anon, &f, &out, &e), -1);
    CHECK_INT(e.status, 400);
    f.status = "bogus";
    CHECK_INT(tenders_list(d, &t_staff, &f, &out, &e), -1);
    f.status = NULL;

    /* results: an award on the works tender, a deal on the land */
    CHECK_INT(db_exec(d,
                      "INSERT INTO trade_companies (id, uscc, name, phone, created_at, updated_at) "
                      "VALUES (7, '" USCC_A "', '舟山海建集团', '13800000000', "
                      "'2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
                      &e),
              0);
    char sql[400];
    snprintf(sql, sizeof(sql),
             "UPDATE tenders SET status = 'awarded', award_company_id = 7, award_fen = 1111111101, "
             "awarded_at = '2026-11-01T00:00:00Z' WHERE id = %lld",
             (long long)pub);
    CHECK_INT(db_exec(d, sql, &e), 0);
    snprintf(sql, sizeof(sql),
             "UPDATE tenders SET status = 'awarded', award_company_id = 7, award_fen = 6000000000, "
             "awarded_at = '2026-11-02T00:00:00Z' WHERE id = %lld",
             (long long)sold);
    CHECK_INT(db_exec(d, sql, &e), 0);
    f.phase = "results";
    CHECK_INT(tenders_list(d, &anon, &f, &out, &e), 0);
    CHECK_INT(json_integer_value(json_object_get(out, "total")), 2);
    json_t *first = json_array_get(json_object_get(out, "items"), 0);
    json_t *second = json_array_get(json_object_get(out, "items"), 1);
    CHECK_STR(jsonx_str(first, "kind"), "land"); /* the latest award first */
    CHECK(fabs(json_real_value(json_object_get(first, "premium_rate")) - 0.2) < 1e-9);
    CHECK(fabs(json_real_value(json_object_get(second, "savings_rate")) - 0.1) < 1e-4);
    CHECK_STR(jsonx_str(json_object_get(first, "award_company"), "name"), "舟山海建集团");
    char *dump = jsonx_dump(out);
    CHECK(strstr(dump, "13800000000") == NULL); /* no phones in public lists */
    free(dump);
    json_decref(out);

    /* cancel: not after the award; with a reason before */
    CHECK_INT(tenders_cancel(d, &t_staff, pub, "项目调整", &e), -1);
    CHECK_INT(e.status, 409);
    CHECK_INT(tenders_cancel(d, &t_staff, draft, "", &e), -1);
    CHECK_STR(e.field, "reason");
    CHECK_INT(tenders_cancel(d, &sup, draft, "x", &e), -1);
    CHECK_INT(e.status, 403);
    CHECK_INT(tenders_cancel(d, &t_staff, draft, "立项调整", &e), 0);
    g = tenders_get(d, &anon, draft, &e); /* a cancelled draft stays hidden */
    CHECK(g == NULL);

    /* 流标 inside the caller's transaction (as the hall does) */
    int64_t hall = 0;
    w = works_json(now, 30);
    CHECK_INT(tenders_create(d, &t_staff, w, &hall, &e), 0);
    json_decref(w);
    CHECK_INT(tenders_announce(d, &t_staff, hall, NULL, &e), 0);
    snprintf(sql, sizeof(sql), "UPDATE tenders SET status = 'opening' WHERE id = %lld",
             (long long)hall);
    CHECK_INT(db_exec(d, sql, &e), 0);
    trade_tender t;
    CHECK_INT(trade_tender_load(d, hall, &t, &e), 0);
    CHECK_INT(db_begin(d, &e), 0);
    CHECK_INT(tenders_fail(d, &t_staff, &t, NULL, &e), 0);
    db_rollback(d); /* the caller's rollback undoes it all */
    CHECK_INT(trade_tender_load(d, hall, &t, &e), 0);
    CHECK_STR(t.status, "opening");
    CHECK_INT(tenders_fail(d, &t_staff, &t, NULL, &e), 0);
    CHECK_STR(t.status, "failed");
    g = tenders_get(d, &anon, hall, &e);
    CHECK(g != NULL);
    if (g) {
        CHECK_STR(jsonx_str(g, "failed_reason"), TENDERS_FAIL_FEW_BIDS);
        json_t *ns = json_object_get(g, "notices");
        json_t *last = json_array_get(ns, json_array_size(ns) - 1);
        CHECK_STR(jsonx_str(last, "kind"), "failed");
        CHECK_STR(jsonx_str(last, "body"), TENDERS_FAIL_FEW_BIDS);
        json_t *tl = json_object_get(g, "timeline");
        CHECK_STR(jsonx_str(json_array_get(tl, 0), "state"), "done"); /* announced */
        CHECK_STR(jsonx_str(json_array_get(tl, 2), "state"), "todo"); /* evaluation */
        json_t *end = json_array_get(tl, json_array_size(tl) - 1);
        CHECK_STR(jsonx_str(end, "status"), "failed");
        CHECK_STR(jsonx_str(end, "state"), "current");
        json_decref(g);
    }
    CHECK_INT(tenders_fail(d, &t_staff, &t, NULL, &e), -1);
    CHECK_INT(e.status, 409);
    unsetenv("ISLE_TRADE_MIN_NOTICE_DAYS");
    db_close(d);
}

TEST(trade_tenders_companies_deposits) {
    db *d = test_db_open();
    if (!d) return;
    setenv("ISLE_TRADE_MIN_NOTICE_DAYS", "0", 1);
    int64_t now = time_now();
    err e = {0};
    int64_t ua = make_user(d, "bidder_a", "bidder"), ub = make_user(d, "company_b", "company"),
            uc = make_user(d, "citizen_c", "citizen");
    trade_actor a = actor_of(d, ua, ROLE_BIDDER), b = actor_of(d, ub, ROLE_COMPANY),
                c = actor_of(d, uc, ROLE_CITIZEN);
    int64_t ca = 0, cb = 0;
    json_t *in = json_pack("{s:s,s:s,s:s,s:s}", "uscc", "91330900MA2A00001X", "name", "甲公司",
                           "legal_rep", "王五", "phone", "0580-2020202");
    CHECK_INT(tenders_company_register(d, &a, in, &ca, &e), -1);
    CHECK_STR(e.field, "uscc");
    json_object_set_new(in, "uscc", json_string("91330900ma2a00001y")); /* lower case is fine */
    CHECK_INT(tenders_company_register(d, &c, in, &ca, &e), -1);
    CHECK_INT(e.status, 403);
    CHECK_INT(tenders_company_register(d, &a, in, &ca, &e), 0);
    CHECK_INT(tenders_company_register(d, &a, in, &ca, &e), -1);
    CHECK_INT(e.status, 409);
    CHECK_STR(e.field, "user");
    CHECK_INT(tenders_company_register(d, &b, in, &cb, &e), -1);
    CHECK_INT(e.status, 409);
    CHECK_STR(e.field, "uscc");
    json_object_set_new(in, "uscc", json_string(USCC_B));
    json_object_set_new(in, "name", json_string("乙公司"));
    json_object_set_new(in, "phone", json_string("call me"));
    CHECK_INT(tenders_company_register(d, &b, in, &cb, &e), -1);
    CHECK_STR(e.field, "phone");
    json_object_del(in, "phone");
    CHECK_INT(tenders_company_register(d, &b, in, &cb, &e), 0);
    json_decref(in);
    a = actor_of(d, ua, ROLE_BIDDER);
    b = actor_of(d, ub, ROLE_COMPANY);
    CHECK_INT(a.company_id, ca);
    CHECK_INT(b.company_id, cb);
    json_t *me = tenders_company_me(d, &a, &e);
    CHECK(me != NULL);
    CHECK_STR(jsonx_str(me, "uscc"), USCC_A);
    json_decref(me);
    json_t *list = tenders_company_list(d, &c, NULL, 10, 0, &e);
    CHECK(list == NULL);
    list = tenders_company_list(d, &t_staff, "乙", 10, 0, &e);
    CHECK_INT(json_integer_value(json_object_get(list, "total")), 1);
    json_decref(list);

    int64_t tid = 0, dep = 0;
    json_t *w = works_json(now, 30);
    CHECK_INT(tenders_create(d, &t_staff, w, &tid, &e), 0);
    json_decref(w);
    json_t *pay = json_pack("{s:s,s:s,s:s,s:s}", "amount", "200000", "account_no",
                            "6222 0212 3456 7890", "account_name", "甲公司", "bank", "舟山农商行");
    CHECK_INT(tenders_deposit_pay(d, &a, tid, pay, &dep, &e), -1); /* a draft */
    CHECK_INT(e.status, 404);
    CHECK_INT(tenders_announce(d, &t_staff, tid, NULL, &e), 0);
    json_object_set_new(pay, "amount", json_string("199999.99"));
    CHECK_INT(tenders_deposit_pay(d, &a, tid, pay, &dep, &e), -1);
    CHECK_STR(e.field, "amount");
    json_object_set_new(pay, "amount", json_string("200000"));
    json_object_set_new(pay, "account_no", json_string("62220212abc"));
    CHECK_INT(tenders_deposit_pay(d, &a, tid, pay, &dep, &e), -1);
    CHECK_STR(e.field, "account_no");
    json_object_set_new(pay, "account_no", json_string("6222 0212 3456 7890"));
    CHECK_INT(tenders_deposit_pay(d, &c, tid, pay, &dep, &e), -1);
    CHECK_INT(e.status, 403);
    CHECK_INT(tenders_deposit_pay(d, &a, tid, pay, &dep, &e), 0);
    CHECK(dep > 0);
    CHECK_INT(tenders_deposit_pay(d, &a, tid, pay, &dep, &e), -1);
    CHECK_INT(e.status, 409);
    json_object_set_new(pay, "company_id", json_integer(cb));
    CHECK_INT(tenders_deposit_pay(d, &a, tid, pay, &dep, &e), -1); /* not for another company */
    CHECK_INT(e.status, 403);
    CHECK_INT(tenders_deposit_pay(d, &t_staff, tid, pay, &dep, &e), 0); /* staff records it */
    json_decref(pay);
    int64_t got = 0, amount = 0;
    CHECK_INT(tenders_deposit_of(d, tid, cb, &got, &amount, &e), 0);
    CHECK_INT(got, dep);
    CHECK_INT(amount, 20000000);
    CHECK_STR(test_db_count(d, "SELECT COUNT(*) FROM trade_deposits WHERE account_no = "
                               "'6222021234567890'") == 2
                  ? "normalised"
                  : "not",
              "normalised");

    /* who sees them: a bidder its own; staff only after the deadline */
    json_t *mine = tenders_deposits(d, &a, tid, &e);
    CHECK(mine != NULL);
    CHECK_INT(json_array_size(json_object_get(mine, "items")), 1);
    json_decref(mine);
    CHECK(tenders_deposits(d, &t_staff, tid, &e) == NULL);
    CHECK_INT(e.status, 403);
    CHECK(tenders_deposits(d, &c, tid, &e) == NULL);
    /* "mine" lists */
    tenders_filter f = {.limit = 10, .mine = 1};
    json_t *out = NULL;
    CHECK_INT(tenders_list(d, &a, &f, &out, &e), 0);
    CHECK_INT(json_integer_value(json_object_get(out, "total")), 1);
    json_decref(out);
    json_t *g = tenders_get(d, &a, tid, &e);
    CHECK(json_is_object(json_object_get(g, "my_deposit")));
    CHECK(json_is_true(json_object_get(json_object_get(g, "can"), "bid")));
    json_decref(g);

    time_set_fake(now + DAYS(31));
    json_t *all = tenders_deposits(d, &t_staff, tid, &e);
    CHECK(all != NULL);
    CHECK_INT(json_array_size(json_object_get(all, "items")), 2);
    json_decref(all);
    pay = json_pack("{s:s,s:s,s:s}", "amount", "200000", "account_no", "6222021234567891",
                    "account_name", "x");
    CHECK_INT(tenders_deposit_pay(d, &b, tid, pay, &dep, &e), -1); /* after the deadline */
    CHECK_INT(e.status, 409);
    json_decref(pay);
    time_set_fake(0);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM audit_log WHERE action = 'deposit.pay'"), 2);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM audit_log WHERE action = 'company.register'"),
              2);
    unsetenv("ISLE_TRADE_MIN_NOTICE_DAYS");
    db_close(d);
}
