/* Unit tests for 办事不出岛 requests and agents (src/island/assist.c, agents.c,
 * assist_watch.c): the lifecycle table, SLA dues across a weekend and the 国庆
 * holiday, a request's life in an in-memory database with its timeline, audit
 * rows and messages, decline and re-dispatch, escalation once per request, nobody
 * on duty, visibility, and the demo roster.
 *
 * The dispatcher (dispatch.c) is another module: when it is linked in, requests are
 * dispatched at intake; the tests that depend on it say so and check the other
 * branch (the request waits for staff) when it is not. */
#include "test.h"

#include <stdlib.h>

#include "audit/audit.h"
#include "auth/auth.h"
#include "auth/roles.h"
#include "base/jsonx.h"
#include "base/timeutil.h"
#include "db/db.h"
#include "island/agents.h"
#include "island/assist.h"
#include "island/places.h"
#include "notify/notify.h"
#include "workcal/workcal.h"

static const audit_actor t_actor = {0, "test", NULL};

#define VILLAGE  "330903100204" /* 六横镇 嵊山村 (a 代办点, S0231) */
#define STATION  "S0231"
#define OTHER_ST "S0018" /* 六横镇便民服务中心 */

static int64_t at_local(const char *s) {
    int64_t t = 0;
    workcal_local_parse(s, &t);
    return t;
}

/* ---- rules ---- */

TEST(assist_rule_table) {
    const char *to = NULL;
    err e = {0};
    CHECK_INT(assist_rule("accept", "dispatched", ASSIST_REL_AGENT, &to, &e), 0);
    CHECK_STR(to, "accepted");
    CHECK_INT(assist_rule("accept", "dispatched", ASSIST_REL_RESIDENT, &to, &e), -1);
    CHECK_INT(e.status, 403);
    CHECK_INT(assist_rule("accept", "dispatched", ASSIST_REL_STAFF, &to, &e), -1);
    CHECK_INT(e.status, 403);
    CHECK_INT(assist_rule("accept", "new", ASSIST_REL_AGENT, &to, &e), -1);
    CHECK_INT(e.status, 409);
    CHECK_STR(e.field, "status");
    CHECK_INT(assist_rule("decline", "dispatched", ASSIST_REL_AGENT, &to, &e), 0);
    CHECK_STR(to, "new");
    CHECK_INT(assist_rule("decline", "accepted", ASSIST_REL_AGENT, &to, &e), -1);
    CHECK_INT(e.status, 409);
    CHECK_INT(assist_rule("start", "accepted", ASSIST_REL_AGENT, &to, &e), 0);
    CHECK_STR(to, "in_progress");
    CHECK_INT(assist_rule("wait", "in_progress", ASSIST_REL_AGENT, &to, &e), 0);
    CHECK_STR(to, "waiting_on_department");
    CHECK_INT(assist_rule("resume", "waiting_on_department", ASSIST_REL_AGENT, &to, &e), 0);
    CHECK_STR(to, "in_progress");
    CHECK_INT(assist_rule("complete", "waiting_on_department", ASSIST_REL_AGENT, &to, &e), 0);
    CHECK_STR(to, "done");
    CHECK_INT(assist_rule("complete", "accepted", ASSIST_REL_AGENT, &to, &e), 0);
    CHECK_INT(assist_rule("complete", "new", ASSIST_REL_AGENT, &to, &e), -1);
    CHECK_INT(e.status, 409);
    CHECK_INT(assist_rule("cancel", "in_progress", ASSIST_REL_RESIDENT, &to, &e), 0);
    CHECK_STR(to, "cancelled");
    CHECK_INT(assist_rule("cancel", "new", ASSIST_REL_STAFF, &to, &e), 0);
    CHECK_INT(assist_rule("cancel", "dispatched", ASSIST_REL_AGENT, &to, &e), -1);
    CHECK_INT(e.status, 403);
    CHECK_INT(assist_rule("cancel", "done", ASSIST_REL_RESIDENT, &to, &e), -1);
    CHECK_INT(e.status, 409);
    CHECK_INT(assist_rule("cancel", "cancelled", ASSIST_REL_STAFF, &to, &e), -1);
    CHECK_INT(e.status, 409);
    CHECK_INT(assist_rule("reassign", "in_progress", ASSIST_REL_STAFF, &to, &e), 0);
    CHECK_STR(to, "dispatched");
    CHECK_INT(assist_rule("reassign", "dispatched", ASSIST_REL_AGENT, &to, &e), -1);
    CHECK_INT(e.status, 403);
    CHECK_INT(assist_rule("reassign", "done", ASSIST_REL_STAFF, &to, &e), -1);
    CHECK_INT(e.status, 409);
    /* Two relations at once (an agent who is also the resident) still need the right one. */
    CHECK_INT(assist_rule("accept", "dispatched", ASSIST_REL_AGENT | ASSIST_REL_RESIDENT, &to, &e),
              0);
    CHECK_INT(assist_rule("fly", "new", ASSIST_REL_STAFF, &to, &e), -1);
    CHECK_INT(e.status, 400);
    CHECK_STR(e.field, "action");
    CHECK(assist_status_open("waiting_on_department"));
    CHECK(!assist_status_open("done"));
    CHECK(!assist_status_open("bogus"));
    CHECK_STR(assist_status_label("dispatched"), "已派单");
}

/* ---- SLA ---- */

TEST(assist_sla_across_weekend) {
    err e = {0};
    workcal *cal = workcal_load("data/holidays", &e);
    CHECK(cal != NULL);
    if (!cal) return;
    char buf[32];
    int64_t acc, done;
    /* Friday 16:30: one working hour left on Friday, the second on Monday morning. */
    CHECK_INT(assist_sla_dues(cal, at_local("2026-11-27 16:30"), 0, 0, &acc, &done, &e), 0);
    CHECK_STR(workcal_local_format(acc, buf, sizeof(buf)), "2026-11-30 09:30");
    /* No item: ASSIST_DEFAULT_DONE_DAYS (5) working days, day 1 = Monday. */
    CHECK_STR(workcal_local_format(done, buf, sizeof(buf)), "2026-12-04 17:30");
    /* Saturday: the clock starts Monday 08:30. */
    CHECK_INT(assist_sla_dues(cal, at_local("2026-11-28 10:00"), 1, 3, &acc, &done, &e), 0);
    CHECK_STR(workcal_local_format(acc, buf, sizeof(buf)), "2026-11-30 10:30");
    CHECK_STR(workcal_local_format(done, buf, sizeof(buf)), "2026-12-03 17:30");
    workcal_free(cal);
}

TEST(assist_sla_across_national_day) {
    err e = {0};
    workcal *cal = workcal_load("data/holidays", &e);
    CHECK(cal != NULL);
    if (!cal) return;
    char buf[32];
    int64_t acc, done;
    /* Wednesday 30 September 16:00: 1.5 h that day, then 1–7 October are off. */
    int64_t t = at_local("2026-09-30 16:00");
    CHECK_INT(assist_sla_dues(cal, t, 1, 5, &acc, &done, &e), 0);
    CHECK_STR(workcal_local_format(acc, buf, sizeof(buf)), "2026-10-08 09:00");
    /* 5 working days: 8, 9, 10 (Saturday, 调休 worked), 12, 13 October. */
    CHECK_STR(workcal_local_format(done, buf, sizeof(buf)), "2026-10-13 17:30");
    /* An item promised 即办 (0 days) still gives the agent one working day. */
    CHECK_INT(assist_sla_dues(cal, t, 1, 0, &acc, &done, &e), 0);
    CHECK_STR(workcal_local_format(done, buf, sizeof(buf)), "2026-10-08 17:30");
    /* Half days round up to a half day: 1.2 → 1.5 ends at noon of day 2. */
    CHECK_INT(assist_sla_dues(cal, t, 1, 1.2, &acc, &done, &e), 0);
    CHECK_STR(workcal_local_format(done, buf, sizeof(buf)), "2026-10-09 12:00");
    workcal_free(cal);
}

/* ---- a world in memory ---- */

typedef struct world {
    db *d;
    int64_t staff, citizen, citizen2, agent_u1, agent_u2, supervisor, supervisor_far;
    int64_t a1, a2;
} world;

static int64_t mk_user(db *d, const char *login, const char *role, const char *name,
                       const char *phone, const char *town) {
    auth_user_input in = {.login = login,
                          .password = "Zhoushan@2026",
                          .role = role,
                          .display_name = name,
                          .phone = phone,
                          .town_code = town};
    int64_t id = 0;
    err e = {0};
    if (auth_user_create(d, &t_actor, &in, &id, &e) != 0)
        fprintf(stderr, "    user %s: %s\n", login, e.message);
    return id;
}

static int64_t mk_agent(db *d, int64_t user_id, const char *name, const char *station,
                        int on_duty) {
    json_t *in = json_pack("{s:s, s:s, s:s, s:s, s:b}", "name", name, "kind", "part_time",
                           "station_id", station, "phone", "13905800000", "on_duty", on_duty);
    if (user_id) json_object_set_new(in, "user_id", json_integer(user_id));
    int64_t id = 0;
    err e = {0};
    if (agents_create(d, &t_actor, in, &id, &e) != 0)
        fprintf(stderr, "    agent %s: %s (%s)\n", name, e.message, e.field);
    json_decref(in);
    return id;
}

static int world_open(world *w, int on_duty) {
    memset(w, 0, sizeof(*w));
    workcal_default_set_data_dir("data");
    notify_set_data_dir("data");
    w->d = test_db_open();
    if (!w->d) return -1;
    err e = {0};
    places_counts pc;
    if (places_import_dir(w->d, "data/zhoushan", &t_actor, &pc, &e) != 0) {
        fprintf(stderr, "    places: %s\n", e.message);
        return -1;
    }
    w->staff = mk_user(w->d, "staff", "staff", "王窗口", NULL, "330903100");
    w->citizen = mk_user(w->d, "citizen", "citizen", "张阿婆", "13905801234", "330903100");
    w->citizen2 = mk_user(w->d, "citizen2", "citizen", "李大伯", "13905809999", "330903100");
    w->agent_u1 = mk_user(w->d, "agent1", "agent", "金磊", "13905805678", "330903100");
    w->agent_u2 = mk_user(w->d, "agent2", "agent", "周敏", "13905805679", "330903100");
    w->supervisor = mk_user(w->d, "supervisor", "supervisor", "郑监管", NULL, NULL);
    w->supervisor_far = mk_user(w->d, "supervisor2", "supervisor", "嵊泗监管", NULL, "330922100");
    w->a1 = mk_agent(w->d, w->agent_u1, "金磊", STATION, on_duty);
    w->a2 = mk_agent(w->d, w->agent_u2, "周敏", STATION, on_duty);
    return w->a1 && w->a2 && w->staff && w->supervisor ? 0 : -1;
}

static assist_actor actor(world *w, int64_t user_id, int role) {
    assist_actor a = {.user_id = user_id, .role = role, .audit = {user_id, "test", NULL}};
    err e = {0};
    if (assist_actor_load(w->d, &a, &e) != 0) fprintf(stderr, "    actor: %s\n", e.message);
    (void)w;
    return a;
}

static long long count(db *d, const char *sql, int64_t id) {
    int64_t n = -1;
    err e = {0};
    if (db_query_int(d, &e, &n, sql, "i", id) != 0) return -1;
    return n;
}

static void status_of(db *d, int64_t id, char *buf, size_t n) {
    err e = {0};
    db_stmt *s = db_query(d, &e, "SELECT status FROM assist_requests WHERE id = $1", "i", id);
    buf[0] = '\0';
    if (s && db_step(s) == DB_ROW) snprintf(buf, n, "%s", db_column_text(s, 0));
    if (s) db_reset(s);
}

static int64_t agent_of(db *d, int64_t id) {
    int64_t a = 0;
    err e = {0};
    db_query_int(d, &e, &a, "SELECT COALESCE(agent_id, 0) FROM assist_requests WHERE id = $1", "i",
                 id);
    return a;
}

static int64_t phone_intake(world *w, int64_t now) {
    assist_actor st = actor(w, w->staff, ROLE_STAFF);
    json_t *in = json_pack("{s:s, s:s, s:s, s:s, s:s}", "village_code", VILLAGE, "resident_name",
                           "陈阿公", "resident_phone", "13905807777", "description",
                           "想办理老年优待证，腿脚不便", "urgency", "urgent");
    int64_t id = 0;
    err e = {0};
    if (assist_create(w->d, &st, in, now, &id, &e) != 0)
        fprintf(stderr, "    create: %s (%s)\n", e.message, e.field);
    json_decref(in);
    return id;
}

TEST(assist_intake_validation) {
    world w;
    if (world_open(&w, 0) != 0) {
        CHECK(0);
        return;
    }
    assist_actor st = actor(&w, w.staff, ROLE_STAFF);
    assist_actor cz = actor(&w, w.citizen, ROLE_CITIZEN);
    assist_actor ap = {.user_id = w.staff, .role = ROLE_APPROVER, .audit = t_actor};
    int64_t now = at_local("2026-12-01 10:00"), id = 0;
    err e = {0};
    json_t *in = json_pack("{s:s, s:s, s:s}", "village_code", "330999999999", "resident_name",
                           "某人", "resident_phone", "13900000000");
    CHECK_INT(assist_create(w.d, &st, in, now, &id, &e), -1);
    CHECK_INT(e.status, 400);
    CHECK_STR(e.field, "village_code");
    json_decref(in);
    /* Without an account: name and phone are both needed. */
    in = json_pack("{s:s, s:s}", "village_code", VILLAGE, "resident_name", "某人");
    CHECK_INT(assist_create(w.d, &st, in, now, &id, &e), -1);
    CHECK_STR(e.field, "resident_phone");
    json_decref(in);
    in = json_pack("{s:s, s:s, s:s, s:s}", "village_code", VILLAGE, "resident_name", "某人",
                   "resident_phone", "13900000000", "item_code", "330900-GA-999999");
    CHECK_INT(assist_create(w.d, &st, in, now, &id, &e), -1);
    CHECK_STR(e.field, "item_code");
    json_decref(in);
    in = json_pack("{s:s, s:s}", "village_code", VILLAGE, "channel", "phone");
    CHECK_INT(assist_create(w.d, &cz, in, now, &id, &e), -1);
    CHECK_STR(e.field, "channel");
    json_decref(in);
    in = json_pack("{s:s, s:s}", "village_code", VILLAGE, "urgency", "yesterday");
    CHECK_INT(assist_create(w.d, &cz, in, now, &id, &e), -1);
    CHECK_STR(e.field, "urgency");
    json_decref(in);
    in = json_pack("{s:s, s:s}", "village_code", VILLAGE, "preferred_at", "tomorrow");
    CHECK_INT(assist_create(w.d, &cz, in, now, &id, &e), -1);
    CHECK_STR(e.field, "preferred_at");
    json_decref(in);
    in = json_pack("{s:s}", "village_code", VILLAGE);
    CHECK_INT(assist_create(w.d, &ap, in, now, &id, &e), -1);
    CHECK_INT(e.status, 403);
    /* The resident's own online request: their name and phone from the account. */
    CHECK_INT(assist_create(w.d, &cz, in, now, &id, &e), 0);
    json_decref(in);
    json_t *got = assist_get(w.d, &cz, id, now, &e);
    CHECK(got != NULL);
    if (got) {
        CHECK_STR(jsonx_str(got, "channel"), "online");
        CHECK_STR(jsonx_str(json_object_get(got, "resident"), "name"), "张阿婆");
        CHECK_STR(jsonx_str(json_object_get(got, "town"), "code"), "330903100");
        CHECK_STR(jsonx_str(json_object_get(got, "island"), "id"), "liuheng");
        CHECK_STR(jsonx_str(got, "item_name"), "帮办事项待确认");
        json_decref(got);
    }
    CHECK_INT(test_db_count(w.d, "SELECT COUNT(*) FROM assist_requests"), 1);
    db_close(w.d);
}

TEST(assist_lifecycle_with_timeline_audit_messages) {
    world w;
    if (world_open(&w, 0) != 0) { /* nobody on duty: the request waits for staff */
        CHECK(0);
        return;
    }
    int64_t now = at_local("2026-12-01 10:00");
    int64_t id = phone_intake(&w, now);
    CHECK(id > 0);
    char st[32];
    status_of(w.d, id, st, sizeof(st));
    CHECK_STR(st, "new");
    err e = {0};
    assist_actor staff = actor(&w, w.staff, ROLE_STAFF);
    assist_actor ag1 = actor(&w, w.agent_u1, ROLE_AGENT);
    assist_actor ag2 = actor(&w, w.agent_u2, ROLE_AGENT);
    assist_actor cz2 = actor(&w, w.citizen2, ROLE_CITIZEN);
    CHECK_INT(ag1.agent_id, w.a1);

    /* Agents see nothing of a request not theirs. */
    json_t *none = assist_get(w.d, &ag1, id, now, &e);
    CHECK(none == NULL);
    CHECK_INT(e.status, 404);
    CHECK(assist_get(w.d, &cz2, id, now, &e) == NULL);

    assist_act_input to_a1 = {.agent_id = w.a1};
    CHECK_INT(assist_act(w.d, &staff, id, "reassign", &to_a1, now + 60, &e), 0);
    status_of(w.d, id, st, sizeof(st));
    CHECK_STR(st, "dispatched");
    CHECK_INT(agent_of(w.d, id), w.a1);
    CHECK_INT(count(w.d, "SELECT open_tasks FROM agents WHERE id = $1", w.a1), 1);
    CHECK_INT(count(w.d, "SELECT served_today FROM agents WHERE id = $1", w.a1), 1);
    /* The agent got the task by SMS and in the app. */
    CHECK_INT(count(w.d,
                    "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND template = "
                    "'assist_dispatched'",
                    w.agent_u1),
              1);

    /* Another agent cannot accept it (and cannot see it). */
    CHECK_INT(assist_act(w.d, &ag2, id, "accept", NULL, now + 120, &e), -1);
    CHECK_INT(e.status, 404);
    /* The resident has no account: staff cannot accept either. */
    CHECK_INT(assist_act(w.d, &staff, id, "accept", NULL, now + 120, &e), -1);
    CHECK_INT(e.status, 403);
    assist_act_input stale = {.expected_version = 1};
    CHECK_INT(assist_act(w.d, &ag1, id, "accept", &stale, now + 120, &e), -1);
    CHECK_INT(e.status, 409);
    CHECK_INT(assist_act(w.d, &ag1, id, "accept", NULL, now + 120, &e), 0);
    CHECK_INT(assist_act(w.d, &ag1, id, "accept", NULL, now + 130, &e), -1);
    CHECK_INT(e.status, 409);
    CHECK_INT(assist_act(w.d, &ag1, id, "start", NULL, now + 600, &e), 0);
    CHECK_INT(assist_act(w.d, &ag1, id, "wait", NULL, now + 700, &e), -1);
    CHECK_STR(e.field, "note");
    assist_act_input wait = {.note = "等待民政部门审核"};
    CHECK_INT(assist_act(w.d, &ag1, id, "wait", &wait, now + 700, &e), 0);
    CHECK_INT(assist_act(w.d, &ag1, id, "resume", NULL, now + 800, &e), 0);
    assist_act_input photo = {.file_id = 999};
    CHECK_INT(assist_act(w.d, &ag1, id, "complete", &photo, now + 900, &e), -1);
    CHECK_STR(e.field, "file_id");
    assist_act_input done = {.note = "已办好，证件送到家"};
    CHECK_INT(assist_act(w.d, &ag1, id, "complete", &done, now + 900, &e), 0);
    status_of(w.d, id, st, sizeof(st));
    CHECK_STR(st, "done");
    CHECK_INT(count(w.d, "SELECT open_tasks FROM agents WHERE id = $1", w.a1), 0);
    /* Closed: nobody can cancel it now. */
    assist_actor cz = actor(&w, w.citizen, ROLE_CITIZEN);
    CHECK_INT(assist_act(w.d, &staff, id, "cancel", NULL, now + 1000, &e), -1);
    CHECK_INT(e.status, 409);
    (void)cz;

    /* Timeline: create, reassign, accept, start, wait, resume, complete. */
    CHECK_INT(count(w.d, "SELECT COUNT(*) FROM assist_events WHERE request_id = $1", id), 7);
    CHECK_INT(count(w.d,
                    "SELECT COUNT(*) FROM audit_log WHERE object_type = 'assist_request' AND "
                    "object_id = CAST($1 AS TEXT)",
                    id),
              7);
    /* The resident (a phone, no account) got SMS for the steps that send them. */
    CHECK(count(w.d,
                "SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE 'assist:' || $1 || ':%' "
                "AND dedupe_key LIKE '%:resident'",
                id) >= 4);
    audit_verify_result v;
    CHECK_INT(audit_verify(w.d, &v, &e), 0);
    CHECK(v.ok);

    json_t *got = assist_get(w.d, &ag1, id, now + 1000, &e);
    CHECK(got != NULL);
    if (got) {
        CHECK_INT(json_array_size(json_object_get(got, "events")), 7);
        CHECK_STR(jsonx_str(json_object_get(got, "resident"), "phone"), "13905807777");
        CHECK(json_is_string(json_object_get(got, "done_at")));
        json_decref(got);
    }
    db_close(w.d);
}

TEST(assist_decline_goes_to_someone_else) {
    world w;
    if (world_open(&w, 1) != 0) {
        CHECK(0);
        return;
    }
    err e = {0};
    int64_t now = at_local("2026-12-01 10:00");
    int64_t id = phone_intake(&w, now);
    assist_actor staff = actor(&w, w.staff, ROLE_STAFF);
    char st[32];
    status_of(w.d, id, st, sizeof(st));
    CHECK_STR(st, "dispatched");
    int64_t first = agent_of(w.d, id);
    CHECK(first > 0);
    int64_t first_user = 0;
    db_query_int(w.d, &e, &first_user, "SELECT COALESCE(user_id, 0) FROM agents WHERE id = $1", "i",
                 first);
    if (!first_user) { /* the dispatcher chose someone else in town: hand it to ours */
        assist_act_input to_a1 = {.agent_id = w.a1};
        CHECK_INT(assist_act(w.d, &staff, id, "reassign", &to_a1, now, &e), 0);
        first = w.a1;
        first_user = w.agent_u1;
    }
    assist_actor decl = actor(&w, first_user, ROLE_AGENT);
    assist_act_input why = {.note = "今天在岱山开会"};
    CHECK_INT(assist_act(w.d, &decl, id, "decline", &why, now + 60, &e), 0);
    int64_t second = agent_of(w.d, id);
    CHECK(second != first);
    status_of(w.d, id, st, sizeof(st));
    CHECK_STR(st, "dispatched");
    CHECK(second > 0);
    CHECK_INT(count(w.d, "SELECT open_tasks FROM agents WHERE id = $1", first), 0);
    CHECK_INT(count(w.d,
                    "SELECT COUNT(*) FROM assist_events WHERE request_id = $1 AND action = "
                    "'decline' AND agent_id IS NOT NULL",
                    id),
              1);
    /* The decliner no longer sees it. */
    CHECK(assist_get(w.d, &decl, id, now + 60, &e) == NULL);
    CHECK_INT(e.status, 404);
    db_close(w.d);
}

TEST(assist_escalates_once_per_request) {
    world w;
    if (world_open(&w, 0) != 0) {
        CHECK(0);
        return;
    }
    err e = {0};
    int64_t now = at_local("2026-12-01 10:00");
    int64_t id = phone_intake(&w, now);
    int n = -1, sent = -1;
    /* Not due yet: nothing. */
    CHECK_INT(assist_sla_scan(w.d, now + 60, &n, &sent, &e), 0);
    CHECK_INT(n, 0);
    /* Past 2 working hours (12:00 + lunch → 13:30 … the due is 12:00): escalated once. */
    int64_t later = at_local("2026-12-01 14:00");
    CHECK_INT(assist_sla_scan(w.d, later, &n, &sent, &e), 0);
    CHECK_INT(n, 1);
    CHECK_INT(assist_sla_scan(w.d, later + 60, &n, &sent, &e), 0);
    CHECK_INT(n, 0);
    CHECK_INT(count(w.d,
                    "SELECT COUNT(*) FROM assist_requests WHERE id = $1 AND escalated_at IS "
                    "NOT NULL AND status = 'new'",
                    id),
              1);
    /* The city-wide supervisor was told; the one of another town was not. */
    CHECK_INT(count(w.d,
                    "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND template = "
                    "'assist_escalated'",
                    w.supervisor),
              1);
    CHECK_INT(count(w.d,
                    "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND template = "
                    "'assist_escalated'",
                    w.supervisor_far),
              0);
    /* Never dropped: still open, still listed among the overdue. */
    assist_actor staff = actor(&w, w.staff, ROLE_STAFF);
    assist_filter f = {.due = "overdue"};
    json_t *list = assist_list(w.d, &staff, &f, later, &e);
    CHECK(list != NULL);
    if (list) {
        CHECK_INT(json_integer_value(json_object_get(list, "total")), 1);
        json_decref(list);
    }
    /* The done SLA escalates separately, once. */
    int64_t much_later = at_local("2026-12-20 10:00");
    CHECK_INT(assist_sla_scan(w.d, much_later, &n, &sent, &e), 0);
    CHECK_INT(n, 1);
    CHECK_INT(assist_sla_scan(w.d, much_later, &n, &sent, &e), 0);
    CHECK_INT(n, 0);
    CHECK_INT(count(w.d,
                    "SELECT COUNT(*) FROM assist_events WHERE request_id = $1 AND action = "
                    "'escalated'",
                    id),
              2);
    char st[32];
    status_of(w.d, id, st, sizeof(st));
    CHECK_STR(st, "new");
    /* An accepted request is not escalated for acceptance. */
    int64_t id2 = phone_intake(&w, now);
    assist_act_input to_a1 = {.agent_id = w.a1};
    CHECK_INT(assist_act(w.d, &staff, id2, "reassign", &to_a1, now, &e), 0);
    assist_actor ag1 = actor(&w, w.agent_u1, ROLE_AGENT);
    CHECK_INT(assist_act(w.d, &ag1, id2, "accept", NULL, now + 60, &e), 0);
    CHECK_INT(assist_sla_scan(w.d, later, &n, &sent, &e), 0);
    CHECK_INT(n, 0);
    db_close(w.d);
}

TEST(assist_consent_case_rules_and_visibility) {
    world w;
    if (world_open(&w, 0) != 0) {
        CHECK(0);
        return;
    }
    err e = {0};
    int64_t now = at_local("2026-12-01 10:00");
    assist_actor cz = actor(&w, w.citizen, ROLE_CITIZEN);
    assist_actor cz2 = actor(&w, w.citizen2, ROLE_CITIZEN);
    assist_actor staff = actor(&w, w.staff, ROLE_STAFF);
    assist_actor ag1 = actor(&w, w.agent_u1, ROLE_AGENT);
    json_t *in = json_pack("{s:s}", "village_code", VILLAGE);
    int64_t id = 0;
    CHECK_INT(assist_create(w.d, &cz, in, now, &id, &e), 0);
    json_decref(in);
    /* Someone else's request: 404, also for consent and notes. */
    CHECK_INT(assist_consent(w.d, &cz2, id, NULL, NULL, now, &e), -1);
    CHECK_INT(e.status, 404);
    CHECK_INT(assist_note(w.d, &cz2, id, "hello", now, &e), -1);
    CHECK_INT(e.status, 404);
    assist_act_input to_a1 = {.agent_id = w.a1};
    CHECK_INT(assist_act(w.d, &staff, id, "reassign", &to_a1, now, &e), 0);
    CHECK_INT(assist_act(w.d, &ag1, id, "accept", NULL, now, &e), 0);
    /* The agent cannot apply before the resident consents. */
    json_t *cin = json_object();
    int64_t case_id = 0;
    int created = 0;
    CHECK_INT(assist_open_case(w.d, &ag1, id, cin, now, &case_id, &created, &e), -1);
    CHECK_INT(e.status, 409);
    CHECK_STR(e.field, "consent");
    /* Nor can the agent record consent in the resident's place. */
    CHECK_INT(assist_consent(w.d, &ag1, id, "station", NULL, now, &e), -1);
    CHECK_INT(e.status, 403);
    CHECK_INT(assist_consent(w.d, &cz, id, "phone", NULL, now, &e), -1);
    CHECK_STR(e.field, "method");
    CHECK_INT(assist_consent(w.d, &cz, id, NULL, "同意代办", now, &e), 0);
    CHECK_INT(assist_consent(w.d, &cz, id, NULL, NULL, now + 5, &e), 0); /* idempotent */
    CHECK_INT(count(w.d,
                    "SELECT COUNT(*) FROM assist_events WHERE request_id = $1 AND action = "
                    "'consent'",
                    id),
              1);
    /* Consent given, but no item named: the agent must say which. */
    CHECK_INT(assist_open_case(w.d, &ag1, id, cin, now, &case_id, &created, &e), -1);
    CHECK_STR(e.field, "item_code");
    json_decref(cin);
    /* The resident cancels; the agent is told and freed. */
    assist_act_input why = {.note = "家人已代为办理"};
    CHECK_INT(assist_act(w.d, &cz, id, "cancel", &why, now + 60, &e), 0);
    CHECK_INT(count(w.d, "SELECT open_tasks FROM agents WHERE id = $1", w.a1), 0);
    CHECK_INT(count(w.d,
                    "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND template = "
                    "'assist_task_withdrawn'",
                    w.agent_u1),
              1);
    /* Lists are scoped: the resident sees one, the other citizen none, the agent none now. */
    assist_filter f = {0};
    json_t *l = assist_list(w.d, &cz, &f, now, &e);
    CHECK_INT(json_integer_value(json_object_get(l, "total")), 1);
    json_decref(l);
    l = assist_list(w.d, &cz2, &f, now, &e);
    CHECK_INT(json_integer_value(json_object_get(l, "total")), 0);
    json_decref(l);
    f.status = "open";
    l = assist_list(w.d, &ag1, &f, now, &e);
    CHECK_INT(json_integer_value(json_object_get(l, "total")), 0);
    json_decref(l);
    f.status = "sleeping";
    CHECK(assist_list(w.d, &staff, &f, now, &e) == NULL);
    CHECK_STR(e.field, "status");
    db_close(w.d);
}

TEST(assist_agent_off_duty_hands_tasks_back) {
    world w;
    if (world_open(&w, 1) != 0) {
        CHECK(0);
        return;
    }
    err e = {0};
    int64_t now = time_now();
    int64_t id = phone_intake(&w, now);
    assist_actor staff = actor(&w, w.staff, ROLE_STAFF);
    if (agent_of(w.d, id) != w.a1) {
        assist_act_input to_a1 = {.agent_id = w.a1};
        CHECK_INT(assist_act(w.d, &staff, id, "reassign", &to_a1, now, &e), 0);
    }
    CHECK_INT(agent_of(w.d, id), w.a1);
    json_t *off = json_pack("{s:b}", "on_duty", 0);
    CHECK_INT(agents_self_update(w.d, &t_actor, w.agent_u1, off, &e), 0);
    json_decref(off);
    CHECK(agent_of(w.d, id) != w.a1);
    CHECK_INT(count(w.d,
                    "SELECT COUNT(*) FROM assist_events WHERE request_id = $1 AND action = "
                    "'release'",
                    id),
              1);
    CHECK_INT(count(w.d, "SELECT on_duty FROM agents WHERE id = $1", w.a1), 0);
    /* Position: an island that exists, a point in range. */
    json_t *pos = json_pack("{s:{s:s, s:f, s:f}}", "position", "island_id", "liuheng", "lat", 29.74,
                            "lon", 122.11);
    CHECK_INT(agents_self_update(w.d, &t_actor, w.agent_u1, pos, &e), 0);
    json_decref(pos);
    pos = json_pack("{s:{s:s}}", "position", "island_id", "atlantis");
    CHECK_INT(agents_self_update(w.d, &t_actor, w.agent_u1, pos, &e), -1);
    CHECK_STR(e.field, "position.island_id");
    json_decref(pos);
    pos = json_pack("{s:{s:s, s:f, s:f}}", "position", "island_id", "liuheng", "lat", 129.0, "lon",
                    122.0);
    CHECK_INT(agents_self_update(w.d, &t_actor, w.agent_u1, pos, &e), -1);
    CHECK_STR(e.field, "position.lat");
    json_decref(pos);
    json_t *a = agents_get(w.d, w.a1, &e);
    CHECK(a != NULL);
    if (a) {
        CHECK_STR(jsonx_str(json_object_get(a, "position"), "island_id"), "liuheng");
        json_decref(a);
    }
    /* A user who is no agent has no agent record. */
    json_t *empty = json_object();
    CHECK_INT(agents_self_update(w.d, &t_actor, w.citizen, empty, &e), -1);
    CHECK_INT(e.status, 404);
    json_decref(empty);
    db_close(w.d);
}

TEST(agents_validation_and_station_details) {
    world w;
    if (world_open(&w, 1) != 0) {
        CHECK(0);
        return;
    }
    err e = {0};
    json_t *sk = json_loads("{\"departments\":[\"舟山市民政局\"],\"items\":[\"330900-GA-100001\"]}",
                            0, NULL);
    CHECK_INT(agents_skills_valid(sk, &e), 0);
    json_decref(sk);
    sk = json_loads("{\"items\":[\"nope\"]}", 0, NULL);
    CHECK_INT(agents_skills_valid(sk, &e), -1);
    CHECK_STR(e.field, "skills.items[0]");
    json_decref(sk);
    sk = json_loads("{\"all\":false}", 0, NULL);
    CHECK_INT(agents_skills_valid(sk, &e), -1);
    CHECK_STR(e.field, "skills");
    json_decref(sk);
    int64_t id = 0;
    json_t *in =
        json_pack("{s:s, s:s, s:s}", "name", "某", "kind", "part_time", "station_id", "S9999");
    CHECK_INT(agents_create(w.d, &t_actor, in, &id, &e), -1);
    CHECK_STR(e.field, "station_id");
    json_decref(in);
    in = json_pack("{s:s, s:s, s:s, s:s}", "name", "某", "kind", "part_time", "station_id", STATION,
                   "hours", "25:00-26:00");
    CHECK_INT(agents_create(w.d, &t_actor, in, &id, &e), -1);
    CHECK_STR(e.field, "hours");
    json_decref(in);
    /* A user already linked cannot be linked twice; a citizen cannot be an agent. */
    in = json_pack("{s:s, s:s, s:s, s:I}", "name", "某", "kind", "part_time", "station_id", STATION,
                   "user_id", (json_int_t)w.agent_u1);
    CHECK_INT(agents_create(w.d, &t_actor, in, &id, &e), -1);
    CHECK_INT(e.status, 409);
    json_decref(in);
    in = json_pack("{s:s, s:s, s:s, s:I}", "name", "某", "kind", "part_time", "station_id", STATION,
                   "user_id", (json_int_t)w.citizen);
    CHECK_INT(agents_create(w.d, &t_actor, in, &id, &e), -1);
    CHECK_STR(e.field, "user_id");
    json_decref(in);
    /* Moving an agent moves its island and town with the station. */
    in = json_pack("{s:s, s:i}", "station_id", OTHER_ST, "capacity", 6);
    CHECK_INT(agents_update(w.d, &t_actor, w.a2, in, &e), 0);
    json_decref(in);
    json_t *a = agents_get(w.d, w.a2, &e);
    CHECK_STR(jsonx_str(a, "station_id"), OTHER_ST);
    CHECK_INT(jsonx_int(a, "capacity", 0), 6);
    json_decref(a);
    agents_filter f = {.on_duty = 1, .station_id = STATION};
    json_t *l = agents_list(w.d, &f, &e);
    CHECK_INT(json_integer_value(json_object_get(l, "total")), 1);
    json_decref(l);

    /* Station details: defaults by kind, then an edit, then back to the default. */
    json_t *s = agents_station_get(w.d, STATION, &e);
    CHECK(s != NULL);
    CHECK(json_is_true(json_object_get(s, "hours_default")));
    CHECK(json_is_true(json_object_get(s, "services_default")));
    CHECK_INT(json_integer_value(json_object_get(json_object_get(s, "agents"), "total")), 1);
    json_decref(s);
    json_t *up = json_loads("{\"hours\":\"08:00-11:00\",\"services\":[\"proxy\",\"social\"],"
                            "\"phone\":\"0580-6012345\"}",
                            0, NULL);
    CHECK_INT(agents_station_update(w.d, &t_actor, STATION, up, &e), 0);
    json_decref(up);
    s = agents_station_get(w.d, STATION, &e);
    CHECK_STR(jsonx_str(s, "hours"), "08:00-11:00");
    CHECK_STR(jsonx_str(s, "phone"), "0580-6012345");
    CHECK_INT(json_array_size(json_object_get(s, "services")), 2);
    CHECK_STR(jsonx_str(json_array_get(json_object_get(s, "services"), 1), "name"), "社保医保");
    json_decref(s);
    up = json_loads("{\"services\":[\"proxy\",\"teleport\"]}", 0, NULL);
    CHECK_INT(agents_station_update(w.d, &t_actor, STATION, up, &e), -1);
    CHECK_STR(e.field, "services[1]");
    json_decref(up);
    up = json_loads("{\"hours\":null}", 0, NULL);
    CHECK_INT(agents_station_update(w.d, &t_actor, STATION, up, &e), 0);
    json_decref(up);
    s = agents_station_get(w.d, STATION, &e);
    CHECK(json_is_true(json_object_get(s, "hours_default")));
    json_decref(s);
    CHECK(agents_station_get(w.d, "S9999", &e) == NULL);
    CHECK_INT(e.status, 404);
    db_close(w.d);
}

TEST(agents_demo_roster) {
    workcal_default_set_data_dir("data");
    db *d = test_db_open();
    if (!d) {
        CHECK(0);
        return;
    }
    err e = {0};
    places_counts pc;
    CHECK_INT(places_import_dir(d, "data/zhoushan", &t_actor, &pc, &e), 0);
    int64_t uid = mk_user(d, "agent", "agent", "李代办", "13905805678", "330903100");
    agents_demo_counts c;
    uint64_t t0 = time_mono_ns();
    CHECK_INT(agents_demo(d, &t_actor, &c, &e), 0);
    uint64_t ms = (time_mono_ns() - t0) / 1000000;
    CHECK(ms < 2000);
    CHECK_INT(c.present, 0);
    CHECK_INT(c.agents, AGENTS_DEMO_TOTAL);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM agents"), AGENTS_DEMO_TOTAL);
    CHECK_INT(c.full_time + c.part_time, AGENTS_DEMO_TOTAL);
    CHECK(c.full_time >= 72 && c.full_time < 200);
    CHECK(c.on_duty > AGENTS_DEMO_TOTAL * 3 / 4);
    CHECK_INT(c.linked_user, uid);
    /* Every station has someone; full-time agents only at the town centres. */
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM stations s WHERE NOT EXISTS (SELECT 1 FROM "
                               "agents a WHERE a.station_id = s.id)"),
              0);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM agents a JOIN stations s ON s.id = "
                               "a.station_id WHERE a.kind = 'full_time' AND s.kind <> '服务中心'"),
              0);
    /* 李代办 works at 六横镇便民服务中心. */
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM agents WHERE name = '李代办' AND station_id "
                               "= 'S0018' AND kind = 'full_time' AND user_id IS NOT NULL"),
              1);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM stations WHERE hours IS NULL"), 0);
    /* The big urban communities get more agents than a small island village. */
    CHECK(test_db_count(d, "SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM agents GROUP BY "
                           "station_id) x") > 3);
    /* Idempotent. */
    CHECK_INT(agents_demo(d, &t_actor, &c, &e), 0);
    CHECK_INT(c.present, 1);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM agents"), AGENTS_DEMO_TOTAL);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM audit_log WHERE action = 'demo.agents'"), 1);
    db_close(d);
}
