/* Unit tests for src/ratings/: who may rate what and when, input checks per
 * channel, one rating per case, the 差评 ticket (deadline, notifications, the
 * strict step order, department scoping, audit), and the statistics. */
#include "test.h"

#include <stdlib.h>

#include "auth/roles.h"
#include "base/timeutil.h"
#include "db/db.h"
#include "notify/notify.h"
#include "ratings/ratings.h"
#include "workcal/workcal.h"

#define DEPT "舟山市公安局"

typedef struct fixture {
    db *d;
    int64_t citizen, other, staff, staff_other, approver_all, supervisor, admin;
    int64_t online_case, window_case, open_case;
} fixture;

static int64_t add_user(db *d, const char *login, const char *role, const char *phone,
                        const char *department) {
    int64_t id = 0;
    err e = {0};
    db_query_int(d, &e, &id,
                 "INSERT INTO users (login, display_name, role, password_hash, phone, department, "
                 "created_at, updated_at, password_changed_at) VALUES ($1, $1, $2, 'x', $3, $4, "
                 "'2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z') "
                 "RETURNING id",
                 "ssss", login, role, phone, department);
    return id;
}

static int64_t add_case(db *d, int64_t applicant, const char *status, const char *channel) {
    int64_t id = 0;
    err e = {0};
    static int seq;
    char no[32];
    snprintf(no, sizeof(no), "ZS260201%04d", ++seq);
    db_query_int(d, &e, &id,
                 "INSERT INTO cases (case_no, kind, item_code, item_name, applicant_id, channel, "
                 "department, status, form, created_at, updated_at) "
                 "VALUES ($1, 'item', 'X-1', '户口迁移', $2, $3, $4, $5, '{}', "
                 "'2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z') RETURNING id",
                 "sisss", no, applicant, channel, DEPT, status);
    return id;
}

static int setup(fixture *f) {
    memset(f, 0, sizeof(*f));
    unsetenv("ISLE_NOTIFY_TEMPLATES");
    notify_set_data_dir("data");
    workcal_default_set_data_dir("data");
    f->d = test_db_open();
    if (!f->d) return -1;
    f->citizen = add_user(f->d, "citizen", "citizen", "13905801234", NULL);
    f->other = add_user(f->d, "other", "citizen", NULL, NULL);
    f->staff = add_user(f->d, "staff", "staff", "13900000001", DEPT);
    f->staff_other = add_user(f->d, "staff2", "staff", "13900000002", "舟山市民政局");
    f->approver_all = add_user(f->d, "approver", "approver", NULL, NULL);
    f->supervisor = add_user(f->d, "supervisor", "supervisor", NULL, NULL);
    f->admin = add_user(f->d, "admin", "admin", NULL, NULL);
    f->online_case = add_case(f->d, f->citizen, "delivered", "online");
    f->window_case = add_case(f->d, f->citizen, "denied", "window");
    f->open_case = add_case(f->d, f->citizen, "in_review", "online");
    return 0;
}

static ratings_actor as(int64_t id, int role) {
    ratings_actor a = {.user_id = id, .role = role, .login = "t", .request_id = NULL};
    return a;
}

static json_t *online_dims(int v) {
    return json_pack("{s:i, s:i, s:i, s:i}", "efficiency", v, "guide_accuracy", v, "convenience", v,
                     "usability", v);
}

TEST(ratings_input_checks_per_channel) {
    fixture f;
    if (setup(&f) != 0) return;
    ratings_actor me = as(f.citizen, ROLE_CITIZEN);
    err e = {0};
    json_t *dims = online_dims(5);
    ratings_input in = {.overall = 0, .dims = dims};
    CHECK_INT(ratings_create(f.d, &me, f.online_case, &in, NULL, NULL, &e), -1);
    CHECK_STR(e.field, "overall");
    in.overall = 5;
    json_object_del(dims, "usability");
    CHECK_INT(ratings_create(f.d, &me, f.online_case, &in, NULL, NULL, &e), -1);
    CHECK_STR(e.field, "dims.usability");
    json_object_set_new(dims, "usability", json_integer(6));
    CHECK_INT(ratings_create(f.d, &me, f.online_case, &in, NULL, NULL, &e), -1);
    CHECK_STR(e.field, "dims.usability");
    json_object_set_new(dims, "usability", json_integer(5));
    json_object_set_new(dims, "service_attitude", json_integer(5));
    CHECK_INT(ratings_create(f.d, &me, f.online_case, &in, NULL, NULL, &e), -1);
    CHECK_STR(e.field, "dims.service_attitude");
    json_object_del(dims, "service_attitude");
    /* the window case wants the offline dimensions */
    CHECK_INT(ratings_create(f.d, &me, f.window_case, &in, NULL, NULL, &e), -1);
    CHECK_STR(e.field, "dims.service_efficiency");
    /* a comment of 501 characters is too long, 500 is fine */
    char comment[501 * 3 + 1];
    for (int i = 0; i < 501; i++)
        memcpy(comment + 3 * i, "好", 3);
    comment[501 * 3] = '\0';
    in.comment = comment;
    CHECK_INT(ratings_create(f.d, &me, f.online_case, &in, NULL, NULL, &e), -1);
    CHECK_STR(e.field, "comment");
    comment[500 * 3] = '\0';
    int64_t rid = 0, tid = 0;
    CHECK_INT(ratings_create(f.d, &me, f.online_case, &in, &rid, &tid, &e), 0);
    CHECK(rid > 0);
    CHECK_INT(tid, 0);
    CHECK_INT(test_db_count(f.d, "SELECT COUNT(*) FROM rating_scores"), 4);
    CHECK_INT(test_db_count(f.d, "SELECT COUNT(*) FROM audit_log WHERE action = 'rating.create'"),
              1);
    /* once per case */
    CHECK_INT(ratings_create(f.d, &me, f.online_case, &in, NULL, NULL, &e), -1);
    CHECK_INT(e.status, 409);
    json_decref(dims);
    db_close(f.d);
}

TEST(ratings_only_the_applicant_and_only_when_finished) {
    fixture f;
    if (setup(&f) != 0) return;
    err e = {0};
    json_t *dims = online_dims(4);
    ratings_input in = {.overall = 4, .dims = dims};
    ratings_actor other = as(f.other, ROLE_CITIZEN), me = as(f.citizen, ROLE_CITIZEN);
    ratings_actor staff = as(f.staff, ROLE_STAFF);
    CHECK_INT(ratings_create(f.d, &other, f.online_case, &in, NULL, NULL, &e), -1);
    CHECK_INT(e.status, 404);
    CHECK_INT(ratings_create(f.d, &staff, f.online_case, &in, NULL, NULL, &e), -1);
    CHECK_INT(e.status, 404);
    CHECK_INT(ratings_create(f.d, &me, 9999, &in, NULL, NULL, &e), -1);
    CHECK_INT(e.status, 404);
    CHECK_INT(ratings_create(f.d, &me, f.open_case, &in, NULL, NULL, &e), -1);
    CHECK_INT(e.status, 409);
    CHECK_STR(e.field, "status");
    /* reading: the applicant, department staff, supervisors; not another citizen */
    json_t *g = ratings_case_get(f.d, &me, f.online_case, &e);
    CHECK(g && json_is_true(json_object_get(g, "can_rate")));
    CHECK(g && json_is_null(json_object_get(g, "rating")));
    CHECK_INT(json_array_size(json_object_get(g, "dimensions")), 5);
    json_decref(g);
    g = ratings_case_get(f.d, &me, f.open_case, &e);
    CHECK(g && json_is_false(json_object_get(g, "can_rate")));
    json_decref(g);
    CHECK(ratings_case_get(f.d, &other, f.online_case, &e) == NULL);
    CHECK_INT(e.status, 404);
    ratings_actor staff2 = as(f.staff_other, ROLE_STAFF);
    CHECK(ratings_case_get(f.d, &staff2, f.online_case, &e) == NULL);
    CHECK_INT(e.status, 404);
    CHECK_INT(ratings_create(f.d, &me, f.online_case, &in, NULL, NULL, &e), 0);
    g = ratings_case_get(f.d, &staff, f.online_case, &e);
    CHECK(g && json_integer_value(json_object_get(json_object_get(g, "rating"), "overall")) == 4);
    CHECK(g && json_is_false(json_object_get(g, "can_rate")));
    json_decref(g);
    json_decref(dims);
    db_close(f.d);
}

TEST(ratings_bad_rating_ticket_flow_in_order) {
    fixture f;
    if (setup(&f) != 0) return;
    err e = {0};
    /* opened on a Friday morning: due the next Friday 17:30 (Shanghai) */
    int64_t opened;
    workcal_local_parse("2026-03-06 10:00", &opened);
    time_set_fake(opened);
    json_t *dims = json_pack("{s:i, s:i, s:i}", "service_efficiency", 2, "service_level", 1,
                             "service_attitude", 1);
    ratings_input in = {.overall = 1, .dims = dims, .comment = "窗口态度差，等了两个小时"};
    ratings_actor me = as(f.citizen, ROLE_CITIZEN);
    int64_t rid = 0, tid = 0;
    CHECK_INT(ratings_create(f.d, &me, f.window_case, &in, &rid, &tid, &e), 0);
    CHECK(tid > 0);
    CHECK_INT(test_db_count(f.d, "SELECT COUNT(*) FROM rating_tickets WHERE status = 'open' AND "
                                 "rectify_due = '2026-03-13T09:30:00Z'"),
              1);
    /* the staff of the case's department are told; another department's staff and
     * users without a department are not (they hear only when the department has
     * nobody) */
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM notifications WHERE template = 'rating_ticket_opened' "
             "AND user_id = %lld",
             (long long)f.staff);
    CHECK_INT(test_db_count(f.d, sql), 1);
    CHECK_INT(test_db_count(f.d, "SELECT COUNT(*) FROM notifications WHERE template = "
                                 "'rating_ticket_opened'"),
              1);
    CHECK_INT(test_db_count(f.d, "SELECT COUNT(*) FROM outbox WHERE template = "
                                 "'rating_ticket_opened'"),
              1);

    ratings_actor staff = as(f.staff, ROLE_STAFF), staff2 = as(f.staff_other, ROLE_STAFF);
    ratings_actor admin = as(f.admin, ROLE_ADMIN), sup = as(f.supervisor, ROLE_SUPERVISOR);
    /* out of order */
    CHECK_INT(ratings_ticket_rectify(f.d, &staff, tid, "改进排队", &e), -1);
    CHECK_INT(e.status, 409);
    CHECK_INT(ratings_ticket_report(f.d, &staff, tid, "已整改", &e), -1);
    CHECK_INT(e.status, 409);
    CHECK_INT(ratings_ticket_close(f.d, &staff, tid, NULL, &e), -1);
    CHECK_INT(e.status, 409);
    /* not theirs, not an actor, no note */
    CHECK_INT(ratings_ticket_callback(f.d, &staff2, tid, "电话回访", &e), -1);
    CHECK_INT(e.status, 404);
    CHECK_INT(ratings_ticket_callback(f.d, &admin, tid, "电话回访", &e), -1);
    CHECK_INT(e.status, 403);
    CHECK_INT(ratings_ticket_callback(f.d, &staff, tid, "", &e), -1);
    CHECK_STR(e.field, "note");
    /* in order */
    CHECK_INT(ratings_ticket_callback(f.d, &staff, tid, "已电话回访，群众反映排队时间长", &e), 0);
    CHECK_INT(ratings_ticket_callback(f.d, &staff, tid, "again", &e), -1);
    CHECK_INT(e.status, 409);
    CHECK_INT(ratings_ticket_report(f.d, &staff, tid, "已整改", &e), -1);
    CHECK_INT(e.status, 409);
    CHECK_INT(ratings_ticket_rectify(f.d, &staff, tid, "增设午间窗口，开通预约", &e), 0);
    CHECK_INT(ratings_ticket_close(f.d, &staff, tid, NULL, &e), -1);
    CHECK_INT(e.status, 409);
    CHECK_INT(ratings_ticket_report(f.d, &sup, tid, "已增设午间窗口", &e), 0);
    CHECK_INT(ratings_ticket_report(f.d, &sup, tid, "twice", &e), -1);
    CHECK_INT(e.status, 409);
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM notifications WHERE template = 'rating_ticket_result' "
             "AND user_id = %lld AND body LIKE '%%已增设午间窗口%%'",
             (long long)f.citizen);
    CHECK_INT(test_db_count(f.d, sql), 1);
    CHECK_INT(ratings_ticket_close(f.d, &staff, tid, NULL, &e), 0);
    CHECK_INT(ratings_ticket_close(f.d, &staff, tid, NULL, &e), -1);
    CHECK_INT(e.status, 409);
    CHECK_INT(test_db_count(f.d, "SELECT COUNT(*) FROM rating_tickets WHERE status = 'closed' "
                                 "AND callback_at IS NOT NULL AND rectified_at IS NOT NULL AND "
                                 "result_reported_at IS NOT NULL AND closed_at IS NOT NULL"),
              1);
    CHECK_INT(test_db_count(f.d, "SELECT COUNT(*) FROM audit_log WHERE action LIKE "
                                 "'rating_ticket.%'"),
              5);
    json_t *t = ratings_ticket_get(f.d, &staff, tid, &e);
    CHECK(t && !strcmp(json_string_value(json_object_get(t, "rater_phone")), "139****1234"));
    CHECK(t && json_is_false(json_object_get(t, "overdue")));
    json_decref(t);
    CHECK(ratings_ticket_get(f.d, &staff2, tid, &e) == NULL);
    time_set_fake(0);
    json_decref(dims);
    db_close(f.d);
}

TEST(ratings_overdue_scope_and_statistics) {
    fixture f;
    if (setup(&f) != 0) return;
    err e = {0};
    int64_t opened;
    workcal_local_parse("2026-03-06 10:00", &opened);
    time_set_fake(opened);
    ratings_actor me = as(f.citizen, ROLE_CITIZEN);
    json_t *online = online_dims(2);
    ratings_input bad = {.overall = 2, .dims = online};
    int64_t tid = 0;
    CHECK_INT(ratings_create(f.d, &me, f.online_case, &bad, NULL, &tid, &e), 0);
    json_t *offline = json_pack("{s:i, s:i, s:i}", "service_efficiency", 5, "service_level", 5,
                                "service_attitude", 4);
    ratings_input good = {.overall = 5, .dims = offline};
    CHECK_INT(ratings_create(f.d, &me, f.window_case, &good, NULL, NULL, &e), 0);

    /* after the deadline the open ticket is overdue */
    time_set_fake(opened + 8 * 86400);
    ratings_actor staff = as(f.staff, ROLE_STAFF), staff2 = as(f.staff_other, ROLE_STAFF);
    ratings_actor all = as(f.approver_all, ROLE_APPROVER),
                  me_as_staff = as(f.citizen, ROLE_CITIZEN);
    ratings_ticket_filter flt = {.overdue = 1};
    json_t *l = ratings_ticket_list(f.d, &staff, &flt, &e);
    CHECK(l && json_integer_value(json_object_get(l, "total")) == 1);
    CHECK(l &&
          json_is_true(json_object_get(json_array_get(json_object_get(l, "items"), 0), "overdue")));
    json_decref(l);
    flt.overdue = 0;
    l = ratings_ticket_list(f.d, &staff, &flt, &e);
    CHECK(l && json_integer_value(json_object_get(l, "total")) == 0);
    json_decref(l);
    flt.overdue = -1;
    l = ratings_ticket_list(f.d, &staff2, &flt, &e); /* another department: none of theirs */
    CHECK(l && json_integer_value(json_object_get(l, "total")) == 0);
    json_decref(l);
    flt.department = DEPT;
    CHECK(ratings_ticket_list(f.d, &staff2, &flt, &e) == NULL);
    CHECK_INT(e.status, 403);
    l = ratings_ticket_list(f.d, &all, &flt, &e); /* no department: every department */
    CHECK(l && json_integer_value(json_object_get(l, "total")) == 1);
    json_decref(l);
    flt.department = NULL;
    CHECK(ratings_ticket_list(f.d, &me_as_staff, &flt, &e) == NULL);
    CHECK_INT(e.status, 403);
    flt.status = "bogus";
    CHECK(ratings_ticket_list(f.d, &staff, &flt, &e) == NULL);
    CHECK_STR(e.field, "status");

    ratings_totals_out t;
    CHECK_INT(ratings_totals(f.d, &t, &e), 0);
    CHECK_INT(t.count, 2);
    CHECK(t.average > 3.49 && t.average < 3.51);
    CHECK_INT(t.bad_count, 1);
    CHECK_INT(t.tickets, 1);
    CHECK(t.called_back_share == 0.0);
    CHECK_INT(t.overdue, 1);
    CHECK_INT(ratings_ticket_callback(f.d, &staff, tid, "已回访", &e), 0);
    CHECK_INT(ratings_totals(f.d, &t, &e), 0);
    CHECK(t.called_back_share == 1.0);
    CHECK(t.closed_share == 0.0);

    json_t *s = ratings_department_summary(f.d, &e);
    CHECK(s != NULL);
    json_t *items = json_object_get(s, "items");
    CHECK_INT(json_array_size(items), 1);
    json_t *dep = json_array_get(items, 0);
    CHECK_STR(json_string_value(json_object_get(dep, "department")), DEPT);
    CHECK_INT(json_integer_value(json_object_get(dep, "count")), 2);
    CHECK(json_real_value(json_object_get(dep, "average")) == 3.5);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(dep, "levels"), "2")), 1);
    CHECK(json_real_value(json_object_get(json_object_get(dep, "dimensions"), "efficiency")) ==
          2.0);
    CHECK(json_real_value(
              json_object_get(json_object_get(dep, "dimensions"), "service_attitude")) == 4.0);
    CHECK(json_real_value(json_object_get(dep, "callback_rate")) == 1.0);
    CHECK(json_real_value(json_object_get(dep, "closure_rate")) == 0.0);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(s, "totals"), "bad_count")), 1);
    /* no personal data in the public figures */
    char *text = json_dumps(s, 0);
    CHECK(strstr(text, "1390") == NULL && strstr(text, "citizen") == NULL);
    free(text);
    json_decref(s);
    time_set_fake(0);
    json_decref(online);
    json_decref(offline);
    db_close(f.d);
}
