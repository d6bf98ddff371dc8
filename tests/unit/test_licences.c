/* Unit tests for src/licences/ (the e-licence library) and src/cases/commitment.c
 * (告知承诺 follow-up): validity against the date asked about (expired by date,
 * revoked, superseded, valid_until inclusive), issuing that replaces a renewal or
 * a one-per-holder type but not a second property, validation naming the field,
 * audit rows with masked numbers, everything inside the caller's transaction
 * (rollback leaves nothing), revocation, the demo wallet; deterministic sampling,
 * scheduling with a working-day due date, results, credit records and the core's
 * revocation of a failed commitment.
 *
 * Run from the repository root (holiday files are read from data/holidays). */
#include "test.h"

#include <stdlib.h>

#include "base/jsonx.h"
#include "base/timeutil.h"
#include "cases/commitment.h"
#include "db/db.h"
#include "licences/licences.h"
#include "workcal/workcal.h"

static const audit_actor sys_actor = {0, "system", NULL};
static const audit_actor approver = {3, "approver", "req-9"};

#define NOW      "2026-06-15T02:00:00Z" /* 10:00 in Zhoushan, a Monday */
#define CITIZEN  "330902195203140021"
#define CITIZEN2 "330903198507152312"

/* A user row without the password machinery; returns its id. */
static int64_t add_user(db *d, const char *login, const char *role, const char *name,
                        const char *id_number, const char *town) {
    int64_t id = 0;
    err e = {0};
    if (db_query_int(d, &e, &id,
                     "INSERT INTO users (login, display_name, role, password_hash, id_number, "
                     "town_code, created_at, updated_at, password_changed_at) VALUES "
                     "($1,$2,$3,'x',$4,$5,$6,$6,$6) RETURNING id",
                     "ssssss", login, name, role, id_number, town, "2026-01-01T00:00:00Z") != 0)
        fprintf(stderr, "    add_user %s: %s\n", login, e.message);
    return id;
}

static void add_types(db *d) {
    static const char *const types[][2] = {{"居民身份证", "公安机关"},
                                           {"居民户口簿", "公安机关"},
                                           {"不动产权证书", "不动产登记机构"},
                                           {"机动车驾驶证", "公安机关交通管理部门"},
                                           {"营业执照", "市场监督管理部门"}};
    err e = {0};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        db_execf(d, &e,
                 "INSERT INTO catalog_licences (type, issuer, id_pattern, trust_level, updated_at) "
                 "VALUES ($1, $2, '编号', 'A', '2026-01-01T00:00:00Z')",
                 "ss", types[i][0], types[i][1]);
}

/* A case row of the given status for applicant (the columns the schema requires). */
static int64_t add_case(db *d, int64_t applicant, const char *item, const char *status,
                        const char *path) {
    static int seq;
    char no[32];
    snprintf(no, sizeof(no), "ZS260615%04d", ++seq);
    int64_t id = 0;
    err e = {0};
    if (db_query_int(d, &e, &id,
                     "INSERT INTO cases (case_no, kind, item_code, item_name, applicant_id, "
                     "channel, department, status, form, path, submitted_at, decided_at, "
                     "created_at, updated_at) VALUES ($1, 'item', $2, '测试事项', $3, 'online', "
                     "'舟山市测试局', $4, '{}', $5, $6, $6, $6, $6) RETURNING id",
                     "ssisss", no, item, applicant, status, path, NOW) != 0)
        fprintf(stderr, "    add_case: %s\n", e.message);
    return id;
}

typedef struct fixture {
    db *d;
    int64_t citizen, citizen2, company;
} fixture;

static int setup(fixture *f) {
    f->d = test_db_open();
    if (!f->d) return -1;
    add_types(f->d);
    f->citizen = add_user(f->d, "c1", "citizen", "张阿婆", CITIZEN, "330902100");
    f->citizen2 = add_user(f->d, "c2", "citizen", "李代办", CITIZEN2, "330903100");
    f->company = add_user(f->d, "co", "company", "舟渔水产有限公司", NULL, "330902006");
    return f->citizen && f->citizen2 && f->company ? 0 : -1;
}

/* licences_add inside its own transaction; returns the id or 0 (error printed). */
static int64_t add(db *d, int64_t holder, const char *type, const char *number, const char *issued,
                   const char *until, const char *status) {
    licences_new n = {.holder_id = holder,
                      .type = type,
                      .number = number,
                      .issued_at = issued,
                      .valid_until = until,
                      .status = status,
                      .source = "import"};
    err e = {0};
    int64_t id = 0;
    if (db_begin(d, &e) != 0 || licences_add(d, &sys_actor, &n, &id, &e) != 0 ||
        db_commit(d, &e) != 0) {
        db_rollback(d);
        fprintf(stderr, "    add %s: %s (%s)\n", type, e.message, e.field);
        return 0;
    }
    return id;
}

static const char *stored_status(db *d, int64_t id) {
    static char buf[4][32];
    static int k;
    char *out = buf[k++ % 4];
    db_stmt *s = db_query(d, NULL, "SELECT status FROM licences WHERE id = $1", "i", id);
    out[0] = '\0';
    if (s && db_step(s) == DB_ROW) snprintf(out, 32, "%s", db_column_text(s, 0));
    if (s) db_reset(s);
    return out;
}

TEST(licences_find_valid_by_date_and_status) {
    fixture f;
    if (setup(&f) != 0) {
        CHECK(0);
        return;
    }
    err e = {0};
    int64_t lid = -1;
    /* Nothing yet. */
    CHECK_INT(licences_find_valid(f.d, f.citizen, "居民身份证", NOW, &lid, &e), 0);
    CHECK_INT(lid, 0);
    int64_t idc = add(f.d, f.citizen, "居民身份证", CITIZEN, "2018-03-20", NULL, NULL);
    int64_t drv = add(f.d, f.citizen, "机动车驾驶证", CITIZEN, "2010-08-22", "2026-06-14", NULL);
    int64_t hk =
        add(f.d, f.citizen, "居民户口簿", "330902100012345", "2014-06-02", "2026-06-15", NULL);
    CHECK(idc && drv && hk);
    /* No expiry: valid. */
    CHECK_INT(licences_find_valid(f.d, f.citizen, "居民身份证", NOW, &lid, &e), 1);
    CHECK_INT(lid, idc);
    /* Expired the day before: not valid, though still stored 'valid'. */
    CHECK_INT(licences_find_valid(f.d, f.citizen, "机动车驾驶证", NOW, &lid, &e), 0);
    CHECK_INT(lid, 0);
    CHECK_STR(stored_status(f.d, drv), "valid");
    /* valid_until is inclusive (Shanghai date): valid through 2026-06-15 … */
    CHECK_INT(licences_find_valid(f.d, f.citizen, "居民户口簿", NOW, &lid, &e), 1);
    /* … 23:59 Shanghai on that day is 15:59Z, still valid; 16:00Z is the 16th. */
    CHECK_INT(licences_find_valid(f.d, f.citizen, "居民户口簿", "2026-06-15T15:59:00Z", NULL, &e),
              1);
    CHECK_INT(licences_find_valid(f.d, f.citizen, "居民户口簿", "2026-06-15T16:00:00Z", NULL, &e),
              0);
    /* An earlier instant sees the driving licence valid. */
    CHECK_INT(licences_find_valid(f.d, f.citizen, "机动车驾驶证", "2020-01-01T00:00:00Z", NULL, &e),
              1);
    /* Another holder's licence is not mine. */
    CHECK_INT(licences_find_valid(f.d, f.citizen2, "居民身份证", NOW, NULL, &e), 0);
    /* Lookup explains a miss. */
    licences_found lf;
    CHECK_INT(licences_lookup(f.d, f.citizen, "机动车驾驶证", NOW, &lf, &e), 0);
    CHECK_INT(lf.id, drv);
    CHECK_STR(lf.status, "expired");
    CHECK_STR(lf.valid_until, "2026-06-14");
    json_decref(lf.data);
    /* A bad instant is an error naming "now". */
    CHECK_INT(licences_find_valid(f.d, f.citizen, "居民身份证", "yesterday", NULL, &e), -1);
    CHECK_STR(e.field, "now");
    db_close(f.d);
}

TEST(licences_issue_replaces_renewals_and_single_types) {
    fixture f;
    if (setup(&f) != 0) {
        CHECK(0);
        return;
    }
    err e = {0};
    /* One-per-holder type: a new 居民身份证 supersedes the old whatever its number. */
    int64_t old_id =
        add(f.d, f.citizen, "居民身份证", "OLD-NUMBER-0001", "2008-01-01", "2028-01-01", NULL);
    int64_t new_id = 0;
    CHECK_INT(db_begin(f.d, &e), 0);
    CHECK_INT(
        licences_issue(f.d, &approver, f.citizen, "居民身份证", CITIZEN, NULL, 0, &new_id, &e), 0);
    CHECK_INT(db_commit(f.d, &e), 0);
    CHECK(new_id > old_id);
    CHECK_STR(stored_status(f.d, old_id), "superseded");
    CHECK_INT(test_db_count(f.d, "SELECT superseded_by FROM licences WHERE id = 1"), new_id);
    int64_t lid = 0;
    CHECK_INT(licences_find_valid(f.d, f.citizen, "居民身份证", NOW, &lid, &e), 1);
    CHECK_INT(lid, new_id);
    /* Issued today, from the catalog's issuer, source 'import' without a case. */
    json_t *l = licences_get(f.d, new_id, &e);
    CHECK(l != NULL);
    CHECK_STR(jsonx_str(l, "issuer"), "公安机关");
    CHECK_STR(jsonx_str(l, "source"), "import");
    CHECK_STR(jsonx_str(l, "holder_name"), "张阿婆");
    CHECK_STR(jsonx_str(l, "trust_level"), "A");
    CHECK(json_is_null(json_object_get(l, "source_case_id")));
    CHECK(json_is_null(json_object_get(l, "valid_until")));
    json_decref(l);

    /* Several of a kind: a second property keeps the first; a renewal (same number)
     * replaces. */
    int64_t p1 = add(f.d, f.citizen, "不动产权证书", "浙（2019）舟山市不动产权第0012345号",
                     "2019-11-06", NULL, NULL);
    int64_t p2 = add(f.d, f.citizen, "不动产权证书", "浙（2024）舟山市不动产权第0099999号",
                     "2024-01-06", NULL, NULL);
    CHECK_STR(stored_status(f.d, p1), "valid");
    CHECK_STR(stored_status(f.d, p2), "valid");
    int64_t p1b = add(f.d, f.citizen, "不动产权证书", "浙（2019）舟山市不动产权第0012345号",
                      "2026-06-01", NULL, NULL);
    CHECK_STR(stored_status(f.d, p1), "superseded");
    CHECK_STR(stored_status(f.d, p2), "valid");
    CHECK_STR(stored_status(f.d, p1b), "valid");
    /* Another holder's licences are never touched. */
    int64_t other = add(f.d, f.citizen2, "居民身份证", CITIZEN2, "2020-09-03", NULL, NULL);
    CHECK_STR(stored_status(f.d, new_id), "valid");
    CHECK_STR(stored_status(f.d, other), "valid");

    /* The audit row: one per issue, number masked, superseded ids listed. */
    CHECK_INT(test_db_count(f.d, "SELECT COUNT(*) FROM audit_log WHERE action = 'licence.issue'"),
              6);
    db_stmt *s = db_query(f.d, &e,
                          "SELECT after_json, actor_login FROM audit_log WHERE action = "
                          "'licence.issue' AND object_id = $1",
                          "s", "2");
    CHECK(s && db_step(s) == DB_ROW);
    if (s) {
        const char *after = db_column_text(s, 0);
        CHECK(after && strstr(after, CITIZEN) == NULL);
        CHECK(after && strstr(after, "3309**********0021") != NULL);
        CHECK(after && strstr(after, "\"superseded\":[1]") != NULL);
        CHECK_STR(db_column_text(s, 1), "approver");
        db_reset(s);
    }
    db_close(f.d);
}

TEST(licences_issue_validation_and_transactions) {
    fixture f;
    if (setup(&f) != 0) {
        CHECK(0);
        return;
    }
    err e = {0};
    int64_t id = 0;
    CHECK_INT(db_begin(f.d, &e), 0);
    /* Unknown type while the catalog has types. */
    CHECK_INT(licences_issue(f.d, &sys_actor, f.citizen, "登月许可证", "X1", NULL, 0, &id, &e), -1);
    CHECK_INT(e.status, 400);
    CHECK_STR(e.field, "type");
    CHECK_INT(
        licences_issue(f.d, &sys_actor, f.citizen, "居民身份证", "X1", "2026-13-01", 0, &id, &e),
        -1);
    CHECK_STR(e.field, "valid_until");
    CHECK_INT(licences_issue(f.d, &sys_actor, 999, "居民身份证", "X1", NULL, 0, &id, &e), -1);
    CHECK_INT(e.status, 404);
    CHECK_STR(e.field, "holder_id");
    CHECK_INT(licences_issue(f.d, &sys_actor, f.citizen, "居民身份证", "X1", NULL, 12345, &id, &e),
              -1);
    CHECK_INT(e.status, 404);
    CHECK_STR(e.field, "source_case_id");
    CHECK_INT(licences_issue(f.d, &sys_actor, f.citizen, "", "X1", NULL, 0, &id, &e), -1);
    CHECK_STR(e.field, "type");
    /* A generated number; from a case: source 'case'. */
    int64_t case_id = add_case(f.d, f.company, "330902-SC-400011", "approved", "normal");
    CHECK_INT(licences_issue(f.d, &sys_actor, f.company, "营业执照", NULL, NULL, case_id, &id, &e),
              0);
    json_t *l = licences_get(f.d, id, &e);
    CHECK(l && strncmp(jsonx_str(l, "number"), "ZSL", 3) == 0 &&
          strlen(jsonx_str(l, "number")) == 3 + 8 + 6);
    CHECK_STR(jsonx_str(l, "source"), "case");
    CHECK_INT(jsonx_int(l, "source_case_id", 0), case_id);
    json_decref(l);
    /* Nothing is committed here: the caller's rollback takes it all back. */
    db_rollback(f.d);
    CHECK_INT(test_db_count(f.d, "SELECT COUNT(*) FROM licences"), 0);
    CHECK_INT(test_db_count(f.d, "SELECT COUNT(*) FROM audit_log"), 0);
    db_close(f.d);
}

TEST(licences_revoke_and_revoke_by_case) {
    fixture f;
    if (setup(&f) != 0) {
        CHECK(0);
        return;
    }
    err e = {0};
    int64_t id = add(f.d, f.citizen, "居民户口簿", "330902100012345", "2014-06-02", NULL, NULL);
    CHECK_INT(db_begin(f.d, &e), 0);
    CHECK_INT(licences_revoke(f.d, &approver, id, "", &e), -1);
    CHECK_STR(e.field, "reason");
    CHECK_INT(licences_revoke(f.d, &approver, 4242, "x", &e), -1);
    CHECK_INT(e.status, 404);
    CHECK_INT(licences_revoke(f.d, &approver, id, "户口迁出", &e), 0);
    CHECK_INT(licences_revoke(f.d, &approver, id, "再次", &e), -1);
    CHECK_INT(e.status, 409);
    CHECK_INT(db_commit(f.d, &e), 0);
    CHECK_STR(stored_status(f.d, id), "revoked");
    CHECK_INT(licences_find_valid(f.d, f.citizen, "居民户口簿", NOW, NULL, &e), 0);
    json_t *l = licences_get(f.d, id, &e);
    CHECK_STR(jsonx_str(l, "status"), "revoked");
    CHECK_STR(jsonx_str(l, "revoke_reason"), "户口迁出");
    json_decref(l);
    CHECK_INT(test_db_count(f.d, "SELECT COUNT(*) FROM audit_log WHERE action = 'licence.revoke' "
                                 "AND before_json IS NOT NULL AND after_json IS NOT NULL"),
              1);
    CHECK_INT(test_db_count(f.d, "SELECT revoked_by FROM licences WHERE status = 'revoked'"), 3);
    /* Every valid licence a case issued. */
    int64_t case_id = add_case(f.d, f.company, "330902-SC-400011", "delivered", "commitment");
    int64_t a = 0, b = 0;
    CHECK_INT(db_begin(f.d, &e), 0);
    CHECK_INT(licences_issue(f.d, &sys_actor, f.company, "营业执照", "91330902MA2A1B3C4D", NULL,
                             case_id, &a, &e),
              0);
    CHECK_INT(licences_issue(f.d, &sys_actor, f.citizen, "居民户口簿", "H2", NULL, case_id, &b, &e),
              0);
    int n = 0;
    CHECK_INT(licences_revoke_by_case(f.d, &sys_actor, case_id, "审批撤销", &n, &e), 0);
    CHECK_INT(n, 2);
    CHECK_INT(db_commit(f.d, &e), 0);
    CHECK_STR(stored_status(f.d, a), "revoked");
    CHECK_STR(stored_status(f.d, b), "revoked");
    db_close(f.d);
}

TEST(licences_list_get_and_mask) {
    fixture f;
    if (setup(&f) != 0) {
        CHECK(0);
        return;
    }
    err e = {0};
    add(f.d, f.citizen, "机动车驾驶证", CITIZEN, "1990-01-01", "2000-01-01", NULL);
    add(f.d, f.citizen, "居民身份证", CITIZEN, "2018-03-20", NULL, NULL);
    add(f.d, f.citizen, "不动产权证书", "浙（2019）舟山市不动产权第0012345号", "2019-11-06",
        "2999-12-31", "expired");
    add(f.d, f.citizen2, "居民身份证", CITIZEN2, "2020-09-03", NULL, NULL);
    json_t *list = licences_list(f.d, f.citizen, &e);
    json_t *items = json_object_get(list, "items");
    CHECK_INT(json_array_size(items), 3);
    /* Valid first; an old date shows expired; a recorded 'expired' stays expired. */
    CHECK_STR(jsonx_str(json_array_get(items, 0), "type"), "居民身份证");
    CHECK_STR(jsonx_str(json_array_get(items, 0), "status"), "valid");
    json_t *drv = NULL, *prop = NULL;
    size_t i;
    json_t *x;
    json_array_foreach(items, i, x) {
        if (!strcmp(jsonx_str(x, "type"), "机动车驾驶证")) drv = x;
        if (!strcmp(jsonx_str(x, "type"), "不动产权证书")) prop = x;
    }
    CHECK(drv && prop);
    if (drv && prop) {
        CHECK_STR(jsonx_str(drv, "status"), "expired");
        CHECK_STR(jsonx_str(drv, "stored_status"), "valid");
        CHECK(jsonx_int(drv, "expires_in_days", 0) < 0);
        CHECK_STR(jsonx_str(prop, "status"), "expired");
    }
    json_t *id0 = json_array_get(items, 0);
    CHECK_STR(jsonx_str(id0, "number"), CITIZEN);
    licences_mask(id0);
    CHECK_STR(jsonx_str(id0, "number"), "3309**********0021");
    if (prop) {
        licences_mask(prop);
        CHECK_STR(jsonx_str(prop, "number"), "浙（20***************345号");
    }
    json_decref(list);
    CHECK(licences_get(f.d, 999, &e) == NULL);
    CHECK_INT(e.status, 404);
    CHECK(licences_single_type("居民身份证") && !licences_single_type("不动产权证书"));
    db_close(f.d);
}

TEST(licences_demo_wallet) {
    db *d = test_db_open();
    if (!d) {
        CHECK(0);
        return;
    }
    add_user(d, "citizen", "citizen", "张阿婆", CITIZEN, "330902100");
    add_user(d, "company", "company", "舟渔水产有限公司", NULL, "330902006");
    add_user(d, "agent", "agent", "李代办", NULL, "330903100");
    err e = {0};
    int n = 0;
    CHECK_INT(licences_demo(d, &n, &e), 0);
    CHECK(n >= 15);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM licences"), n);
    /* Idempotent. */
    int again = -1;
    CHECK_INT(licences_demo(d, &again, &e), 0);
    CHECK_INT(again, 0);
    /* The mix: valid ID card with the user's number, a revoked, a superseded, an expired. */
    int64_t citizen = test_db_count(d, "SELECT id FROM users WHERE login = 'citizen'");
    CHECK_INT(licences_find_valid(d, citizen, "居民身份证", NULL, NULL, &e), 1);
    CHECK_INT(licences_find_valid(d, citizen, "机动车驾驶证", NULL, NULL, &e), 0);
    CHECK(test_db_count(d, "SELECT COUNT(*) FROM licences WHERE status = 'revoked'") >= 1);
    CHECK(test_db_count(d, "SELECT COUNT(*) FROM licences WHERE status = 'superseded'") >= 1);
    CHECK(test_db_count(d, "SELECT COUNT(*) FROM licences WHERE status = 'expired'") >= 1);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM licences l JOIN users u ON u.id = l.holder_id "
                               "WHERE l.type = '居民身份证' AND u.login = 'citizen' AND "
                               "l.number = u.id_number"),
              1);
    /* The agent's driving licence is in its renewal window (valid, under 90 days). */
    int64_t agent = test_db_count(d, "SELECT id FROM users WHERE login = 'agent'");
    licences_found lf;
    CHECK_INT(licences_lookup(d, agent, "机动车驾驶证", NULL, &lf, &e), 1);
    json_decref(lf.data);
    CHECK(lf.valid_until[0] != '\0');
    /* Missing users (bidder) are skipped. */
    CHECK_INT(test_db_count(d, "SELECT COUNT(DISTINCT holder_id) FROM licences"), 3);
    db_close(d);
}

TEST(licences_result_type_and_default_terms) {
    db *d = test_db_open();
    if (!d) {
        CHECK(0);
        return;
    }
    add_types(d);
    err e = {0};
    char t[LICENCES_TYPE_MAX + 1];
    CHECK_INT(licences_result_type(d, "营业执照（纸质营业执照及电子营业执照）", t, sizeof(t), &e),
              1);
    CHECK_STR(t, "营业执照");
    CHECK_INT(licences_result_type(d, "中华人民共和国机动车驾驶证（换发）", t, sizeof(t), &e), 1);
    CHECK_STR(t, "机动车驾驶证");
    CHECK_INT(licences_result_type(d, "补发的不动产权证书或不动产登记证明", t, sizeof(t), &e), 1);
    CHECK_STR(t, "不动产权证书");
    CHECK_INT(licences_result_type(d, "中华人民共和国临时居民身份证", t, sizeof(t), &e), 0);
    CHECK_INT(licences_result_type(d, "机动车驾驶证审验合格记录", t, sizeof(t), &e), 0);
    CHECK_INT(licences_result_type(d, "老年人优待证（电子证照）", t, sizeof(t), &e), 0);
    CHECK_INT(licences_result_type(d, NULL, t, sizeof(t), &e), 0);
    db_close(d);
    char out[16];
    CHECK_INT(licences_default_valid_until("机动车驾驶证", "2026-06-15", NULL, out, sizeof(out)),
              1);
    CHECK_STR(out, "2032-06-14");
    CHECK_INT(licences_default_valid_until("结婚证", "2026-06-15", NULL, out, sizeof(out)), 0);
    CHECK_INT(licences_default_valid_until("食品经营许可证", "2024-02-29", NULL, out, sizeof(out)),
              1);
    CHECK_STR(out, "2029-02-28");
    /* ID cards by age: 74 → 长期; 40 → 20 years; 10 → 5 years. */
    CHECK_INT(licences_default_valid_until("居民身份证", "2026-06-15", CITIZEN, out, sizeof(out)),
              0);
    CHECK_INT(licences_default_valid_until("居民身份证", "2026-06-15", CITIZEN2, out, sizeof(out)),
              1);
    CHECK_STR(out, "2046-06-14");
    CHECK_INT(licences_default_valid_until("居民身份证", "2026-06-15", NULL, out, sizeof(out)), 0);
}

/* ---- 告知承诺 ---- */

TEST(commitment_sampling_is_deterministic) {
    int hits = 0;
    for (int64_t id = 1; id <= 10000; id++) {
        int s = commitment_sampled(id, 20);
        CHECK_INT(s, commitment_sampled(id, 20));
        hits += s;
        if (commitment_sampled(id, 0) || !commitment_sampled(id, 100)) {
            CHECK(0);
            break;
        }
        /* Monotone: sampled at 20 % implies sampled at 50 %. */
        if (s && !commitment_sampled(id, 50)) {
            CHECK(0);
            break;
        }
    }
    CHECK(hits > 1800 && hits < 2200);
}

TEST(commitment_schedule_and_settings) {
    fixture f;
    if (setup(&f) != 0) {
        CHECK(0);
        return;
    }
    unsetenv("ISLE_COMMITMENT_SAMPLE_RATE");
    unsetenv("ISLE_COMMITMENT_VERIFY_DAYS");
    err e = {0};
    double rate = 0, days = 0;
    CHECK_INT(commitment_settings_get(f.d, &rate, &days, &e), 0);
    CHECK(rate == 20 && days == 20);
    int64_t c1 = add_case(f.d, f.citizen, "330921-GJJ-200048", "approved", "commitment");
    int64_t check = 0;
    CHECK_INT(db_begin(f.d, &e), 0);
    CHECK_INT(commitment_schedule_id(f.d, &approver, c1, NOW, &check, &e), 0);
    /* Idempotent: the same check. */
    int64_t again = 0;
    CHECK_INT(commitment_schedule_id(f.d, &approver, c1, NOW, &again, &e), 0);
    CHECK_INT(again, check);
    CHECK_INT(commitment_schedule(f.d, &approver, 9999, NOW, &e), -1);
    CHECK_INT(e.status, 404);
    CHECK_INT(commitment_schedule(f.d, &approver, c1, "soon", &e), -1);
    CHECK_STR(e.field, "approved_at");
    CHECK_INT(db_commit(f.d, &e), 0);
    json_t *c = commitment_get(f.d, check, &e);
    CHECK(c != NULL);
    int sampled = commitment_sampled(c1, 20);
    CHECK_INT(json_is_true(json_object_get(c, "sampled")), sampled);
    CHECK_STR(jsonx_str(c, "status"), sampled ? "pending" : "not_sampled");
    /* Due: end of the 20th working day after Monday 2026-06-15 10:00 — 端午 (06-19) is
     * off, so day 20 is 2026-07-14, 17:30 Shanghai = 09:30Z. */
    CHECK_STR(jsonx_str(c, "due_at"), "2026-07-14T09:30:00Z");
    CHECK_STR(jsonx_str(c, "approved_at"), NOW);
    CHECK_STR(jsonx_str(c, "item_code"), "330921-GJJ-200048");
    json_decref(c);
    CHECK_INT(test_db_count(f.d, "SELECT COUNT(*) FROM audit_log WHERE action = "
                                 "'commitment.schedule'"),
              1);
    /* The rate in force decides; the environment overrides the table. */
    setenv("ISLE_COMMITMENT_SAMPLE_RATE", "100", 1);
    int64_t c2 = add_case(f.d, f.citizen, "330903-WJ-300017", "approved", "commitment");
    CHECK_INT(db_begin(f.d, &e), 0);
    CHECK_INT(commitment_schedule_id(f.d, &approver, c2, NOW, &check, &e), 0);
    CHECK_INT(db_commit(f.d, &e), 0);
    unsetenv("ISLE_COMMITMENT_SAMPLE_RATE");
    c = commitment_get(f.d, check, &e);
    CHECK_STR(jsonx_str(c, "status"), "pending");
    CHECK(json_real_value(json_object_get(c, "sample_rate")) == 100);
    json_decref(c);
    /* Settings: validated, audited. */
    CHECK_INT(db_begin(f.d, &e), 0);
    CHECK_INT(commitment_settings_set(f.d, &approver, 120, 20, &e), -1);
    CHECK_STR(e.field, "sample_rate");
    CHECK_INT(commitment_settings_set(f.d, &approver, 30, 2.25, &e), -1);
    CHECK_STR(e.field, "verify_days");
    CHECK_INT(commitment_settings_set(f.d, &approver, 35, 10.5, &e), 0);
    CHECK_INT(db_commit(f.d, &e), 0);
    CHECK_INT(commitment_settings_get(f.d, &rate, &days, &e), 0);
    CHECK(rate == 35 && days == 10.5);
    CHECK_INT(test_db_count(f.d, "SELECT COUNT(*) FROM audit_log WHERE action = "
                                 "'commitment.settings'"),
              1);
    /* Listing: by status; an unknown status names the field. */
    commitment_filter cf = {.status = "pending"};
    json_t *list = commitment_list(f.d, &cf, &e);
    CHECK(list != NULL);
    CHECK(json_array_size(json_object_get(list, "items")) >= 1);
    json_t *first = json_array_get(json_object_get(list, "items"), 0);
    CHECK(json_is_string(json_object_get(first, "due_state")));
    json_decref(list);
    cf.status = "bogus";
    CHECK(commitment_list(f.d, &cf, &e) == NULL);
    CHECK_STR(e.field, "status");
    db_close(f.d);
}

TEST(commitment_failed_check_revokes_and_records_credit) {
    fixture f;
    if (setup(&f) != 0) {
        CHECK(0);
        return;
    }
    err e = {0};
    setenv("ISLE_COMMITMENT_SAMPLE_RATE", "100", 1);
    int64_t ok_case = add_case(f.d, f.citizen, "330903-WJ-300017", "approved", "commitment");
    int64_t bad_case = add_case(f.d, f.citizen, "330921-GJJ-200048", "approved", "commitment");
    int64_t ok_check = 0, bad_check = 0, lic = 0;
    CHECK_INT(db_begin(f.d, &e), 0);
    CHECK_INT(commitment_schedule_id(f.d, &sys_actor, ok_case, NOW, &ok_check, &e), 0);
    CHECK_INT(commitment_schedule_id(f.d, &sys_actor, bad_case, NOW, &bad_check, &e), 0);
    CHECK_INT(
        licences_issue(f.d, &sys_actor, f.citizen, "居民户口簿", "H-1", NULL, bad_case, &lic, &e),
        0);
    CHECK_INT(db_commit(f.d, &e), 0);
    unsetenv("ISLE_COMMITMENT_SAMPLE_RATE");

    CHECK_INT(db_begin(f.d, &e), 0);
    CHECK_INT(commitment_record(f.d, &approver, ok_check, "maybe", NULL, &e), -1);
    CHECK_STR(e.field, "result");
    CHECK_INT(commitment_record(f.d, &approver, bad_check, "failed", "", &e), -1);
    CHECK_STR(e.field, "note");
    CHECK_INT(commitment_record(f.d, &approver, 777, "passed", NULL, &e), -1);
    CHECK_INT(e.status, 404);
    CHECK_INT(commitment_record(f.d, &approver, ok_check, "passed", "现场核查属实", &e), 0);
    CHECK_INT(commitment_record(f.d, &approver, ok_check, "failed", "again", &e), -1);
    CHECK_INT(e.status, 409);
    int rc = commitment_record(f.d, &approver, bad_check, "failed", "名下有房产，承诺不实", &e);
    CHECK_INT(rc, 0);
    if (rc != 0) fprintf(stderr, "    record: %s\n", e.message);
    CHECK_INT(db_commit(f.d, &e), 0);

    json_t *c = commitment_get(f.d, bad_check, &e);
    CHECK_STR(jsonx_str(c, "status"), "failed");
    CHECK_INT(jsonx_int(c, "checker_id", 0), 3);
    CHECK(json_is_true(json_object_get(c, "case_revoked")));
    json_decref(c);
    /* The core revoked the approval; the licence the case issued is revoked too. */
    CHECK_INT(test_db_count(f.d, "SELECT COUNT(*) FROM cases WHERE status = 'denied'"), 1);
    CHECK_STR(stored_status(f.d, lic), "revoked");
    /* One credit record, against the applicant, with the note. */
    json_t *credit = commitment_credit_list(f.d, f.citizen, &e);
    json_t *items = json_object_get(credit, "items");
    CHECK_INT(json_array_size(items), 1);
    CHECK_STR(jsonx_str(json_array_get(items, 0), "kind"), "commitment_failed");
    CHECK(strstr(jsonx_str(json_array_get(items, 0), "note"), "承诺不实") != NULL);
    CHECK_INT(jsonx_int(json_array_get(items, 0), "case_id", 0), bad_case);
    json_decref(credit);
    credit = commitment_credit_list(f.d, f.citizen2, &e);
    CHECK_INT(json_array_size(json_object_get(credit, "items")), 0);
    json_decref(credit);
    CHECK_INT(test_db_count(f.d, "SELECT COUNT(*) FROM audit_log WHERE action IN "
                                 "('commitment.check', 'credit.record')"),
              3);
    /* A failure that cannot revoke (the case is no longer approved) leaves nothing. */
    setenv("ISLE_COMMITMENT_SAMPLE_RATE", "100", 1);
    int64_t gone = add_case(f.d, f.citizen2, "330921-GJJ-200048", "withdrawn", "commitment");
    int64_t gone_check = 0;
    CHECK_INT(db_begin(f.d, &e), 0);
    CHECK_INT(commitment_schedule_id(f.d, &sys_actor, gone, NOW, &gone_check, &e), 0);
    CHECK_INT(db_commit(f.d, &e), 0);
    unsetenv("ISLE_COMMITMENT_SAMPLE_RATE");
    CHECK_INT(db_begin(f.d, &e), 0);
    CHECK_INT(commitment_record(f.d, &approver, gone_check, "failed", "不实", &e), -1);
    db_rollback(f.d);
    CHECK_INT(test_db_count(f.d, "SELECT COUNT(*) FROM credit_records"), 1);
    c = commitment_get(f.d, gone_check, &e);
    CHECK_STR(jsonx_str(c, "status"), "pending");
    json_decref(c);
    db_close(f.d);
}
