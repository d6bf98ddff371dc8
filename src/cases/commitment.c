/* commitment: 告知承诺 follow-up — sampling, due dates, results, credit records
 * (see commitment.h). Nothing here begins or commits a transaction. */
#include "cases/commitment.h"
#include "cases/cases.h"
#include "base/jsonx.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "licences/licences.h"
#include "workcal/workcal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const statuses[] = {"pending", "passed", "failed", "not_sampled", NULL};

/* ---- sampling and settings ---- */

static uint64_t splitmix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

int commitment_sampled(int64_t case_id, double rate) {
    if (!(rate > 0)) return 0;
    if (rate >= 100) return 1;
    uint64_t bucket = splitmix64((uint64_t)case_id) % 10000u;
    return bucket < (uint64_t)llround(rate * 100.0);
}

/* A multiple of 0.5 within [lo, hi] (days), or any value within (rate). */
static int number_ok(double v, double lo, double hi, int halves) {
    if (!isfinite(v) || v < lo || v > hi) return 0;
    return !halves || fabs(v * 2 - round(v * 2)) < 1e-9;
}

static void env_override(const char *name, double lo, double hi, int halves, double *v) {
    const char *s = getenv(name);
    if (!s || !*s) return;
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (errno || *end || !number_ok(x, lo, hi, halves)) {
        log_warn("commitment: ignoring %s=%s (want %g–%g)", name, s, lo, hi);
        return;
    }
    *v = x;
}

int commitment_settings_get(db *d, double *rate, double *days, err *e) {
    double r = COMMITMENT_DEFAULT_RATE, dd = COMMITMENT_DEFAULT_DAYS;
    db_stmt *s =
        db_query(d, e, "SELECT sample_rate, verify_days FROM commitment_settings WHERE id = 1", "");
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ROW) {
        r = db_column_double(s, 0);
        dd = db_column_double(s, 1);
    }
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "settings lookup failed: %s", db_errmsg(d));
    env_override("ISLE_COMMITMENT_SAMPLE_RATE", 0, 100, 0, &r);
    env_override("ISLE_COMMITMENT_VERIFY_DAYS", 0, 365, 1, &dd);
    if (rate) *rate = r;
    if (days) *days = dd;
    return 0;
}

static json_t *settings_json(db *d, err *e) {
    db_stmt *s = db_query(d, e,
                          "SELECT sample_rate, verify_days, updated_at, updated_by FROM "
                          "commitment_settings WHERE id = 1",
                          "");
    if (!s) return NULL;
    int rc = db_step(s);
    json_t *o = rc == DB_ROW ? db_row_json(s) : NULL;
    db_reset(s);
    if (!o) err_internal(e, "settings row missing: %s", db_errmsg(d));
    return o;
}

int commitment_settings_set(db *d, const audit_actor *a, double rate, double days, err *e) {
    if (!number_ok(rate, 0, 100, 0))
        return err_invalid(e, "sample_rate", "抽查比例须为 0–100 之间的百分数");
    if (!number_ok(days, 0, 365, 1))
        return err_invalid(e, "verify_days", "核查期限须为 0–365 个工作日（可含半日）");
    json_t *before = settings_json(d, e);
    if (!before) return -1;
    char now[32];
    time_iso(now, sizeof(now), time_now());
    int rc = db_execf(d, e,
                      "UPDATE commitment_settings SET sample_rate = $1, verify_days = $2, "
                      "updated_at = $3, updated_by = $4 WHERE id = 1",
                      "ddss", rate, days, now, a && a->login ? a->login : "system");
    json_t *after = rc == 0 ? settings_json(d, e) : NULL;
    rc = after ? audit_record(d, a, "commitment.settings", "commitment_settings", "1", before,
                              after, e)
               : -1;
    json_decref(before);
    json_decref(after);
    return rc;
}

/* ---- scheduling ---- */

int commitment_schedule_id(db *d, const audit_actor *a, int64_t case_id,
                           const char *approved_at_iso, int64_t *check_id, err *e) {
    int64_t approved = time_now();
    if (approved_at_iso && time_parse_iso(approved_at_iso, &approved) != 0)
        return err_invalid(e, "approved_at", "批准时间须为 ISO-8601 格式");
    int64_t existing = 0;
    int rc = db_query_int(d, e, &existing, "SELECT id FROM commitment_checks WHERE case_id = $1",
                          "i", case_id);
    if (rc < 0) return -1;
    if (rc == 0) {
        if (check_id) *check_id = existing;
        return 0;
    }
    db_stmt *s = db_query(d, e,
                          "SELECT applicant_id, case_no, item_code, item_name, department "
                          "FROM cases WHERE id = $1",
                          "i", case_id);
    if (!s) return -1;
    rc = db_step(s);
    if (rc != DB_ROW) {
        db_reset(s);
        if (rc == DB_ERROR) return err_internal(e, "case lookup failed: %s", db_errmsg(d));
        return err_set(e, 404, "not_found", "case_id", "没有这个办件");
    }
    json_t *c = db_row_json(s);
    db_reset(s);
    double rate, days;
    if (commitment_settings_get(d, &rate, &days, e) != 0) {
        json_decref(c);
        return -1;
    }
    const workcal *cal = workcal_default(e);
    int64_t due = 0;
    if (!cal || workcal_deadline(cal, approved, days, &due, e) != 0) {
        json_decref(c);
        return -1;
    }
    int sampled = commitment_sampled(case_id, rate);
    char approved_iso[32], due_iso[32], now[32];
    time_iso(approved_iso, sizeof(approved_iso), approved);
    time_iso(due_iso, sizeof(due_iso), due);
    time_iso(now, sizeof(now), time_now());
    int64_t id = 0;
    rc = db_query_int(d, e, &id,
                      "INSERT INTO commitment_checks (case_id, applicant_id, case_no, item_code, "
                      "item_name, department, approved_at, sampled, sample_rate, due_at, status, "
                      "created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) RETURNING id",
                      "iisssssidsss", case_id, (int64_t)jsonx_int(c, "applicant_id", 0),
                      jsonx_str(c, "case_no"), jsonx_str(c, "item_code"), jsonx_str(c, "item_name"),
                      jsonx_str(c, "department"), approved_iso, (int64_t)sampled, rate, due_iso,
                      sampled ? "pending" : "not_sampled", now);
    json_decref(c);
    if (rc != 0) return rc < 0 ? -1 : err_internal(e, "insert returned no id");
    json_t *after = commitment_get(d, id, e);
    char oid[24];
    snprintf(oid, sizeof(oid), "%lld", (long long)id);
    rc = after ? audit_record(d, a, "commitment.schedule", "commitment_check", oid, NULL, after, e)
               : -1;
    json_decref(after);
    if (rc != 0) return -1;
    if (check_id) *check_id = id;
    return 0;
}

int commitment_schedule(db *d, const audit_actor *a, int64_t case_id, const char *approved_at_iso,
                        err *e) {
    return commitment_schedule_id(d, a, case_id, approved_at_iso, NULL, e);
}

/* ---- reading ---- */

#define CHECK_COLUMNS                                                                              \
    "id, case_id, case_no, applicant_id, item_code, item_name, department, approved_at, "          \
    "sampled, sample_rate, due_at, status, checked_at, checker_id, note, case_revoked, "           \
    "created_at FROM commitment_checks "

static json_t *check_json(db_stmt *s, const workcal *cal, int64_t now) {
    json_t *o = db_row_json(s);
    const char *status = jsonx_str(o, "status");
    const char *due = jsonx_str(o, "due_at");
    int64_t due_t;
    if (cal && status && !strcmp(status, "pending") && due && time_parse_iso(due, &due_t) == 0) {
        workcal_due st = workcal_due_state(cal, now, due_t);
        json_object_set_new(o, "due_state",
                            json_string(st == WORKCAL_OVERDUE    ? "overdue"
                                        : st == WORKCAL_DUE_SOON ? "due_soon"
                                                                 : "on_time"));
    } else {
        json_object_set_new(o, "due_state", json_null());
    }
    json_object_set_new(o, "sampled", json_boolean(jsonx_int(o, "sampled", 0)));
    json_object_set_new(o, "case_revoked", json_boolean(jsonx_int(o, "case_revoked", 0)));
    return o;
}

json_t *commitment_get(db *d, int64_t check_id, err *e) {
    db_stmt *s = db_query(d, e, "SELECT " CHECK_COLUMNS "WHERE id = $1", "i", check_id);
    if (!s) return NULL;
    int rc = db_step(s);
    if (rc != DB_ROW) {
        db_reset(s);
        if (rc == DB_ERROR)
            err_internal(e, "check lookup failed: %s", db_errmsg(d));
        else
            err_notfound(e, "没有这条承诺核查记录");
        return NULL;
    }
    json_t *o = check_json(s, workcal_default(NULL), time_now());
    db_reset(s);
    return o;
}

json_t *commitment_list(db *d, const commitment_filter *f, err *e) {
    const char *status = f && f->status && *f->status ? f->status : "";
    const char *dept = f && f->department && *f->department ? f->department : "";
    int limit = f && f->limit > 0 ? f->limit : 50;
    if (limit > COMMITMENT_LIST_MAX) limit = COMMITMENT_LIST_MAX;
    if (*status) {
        int ok = 0;
        for (int i = 0; statuses[i]; i++)
            ok |= !strcmp(statuses[i], status);
        if (!ok) {
            err_invalid(e, "status", "状态须为 pending、passed、failed 或 not_sampled");
            return NULL;
        }
    }
    db_stmt *s = db_query(d, e,
                          "SELECT " CHECK_COLUMNS "WHERE ($1 = '' OR status = $1) AND "
                          "($2 = '' OR department = $2) ORDER BY due_at, id LIMIT $3",
                          "ssi", status, dept, (int64_t)limit);
    if (!s) return NULL;
    const workcal *cal = workcal_default(NULL);
    int64_t now = time_now();
    json_t *items = json_array();
    int rc;
    while ((rc = db_step(s)) == DB_ROW)
        json_array_append_new(items, check_json(s, cal, now));
    db_reset(s);
    if (rc == DB_ERROR) {
        json_decref(items);
        err_internal(e, "check list failed: %s", db_errmsg(d));
        return NULL;
    }
    return json_pack("{s:o}", "items", items);
}

int commitment_user_department(db *d, int64_t user_id, char *out, size_t n, err *e) {
    out[0] = '\0';
    db_stmt *s = db_query(d, e, "SELECT department FROM users WHERE id = $1", "i", user_id);
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ROW) {
        const char *v = db_column_text(s, 0);
        snprintf(out, n, "%s", v ? v : "");
    }
    db_reset(s);
    return rc == DB_ERROR ? err_internal(e, "user lookup failed: %s", db_errmsg(d)) : 0;
}

json_t *commitment_credit_list(db *d, int64_t user_id, err *e) {
    db_stmt *s = db_query(d, e,
                          "SELECT cr.id, cr.case_id, c.case_no, c.item_name, cr.kind, cr.note, "
                          "cr.created_at FROM credit_records cr LEFT JOIN cases c ON "
                          "c.id = cr.case_id WHERE cr.user_id = $1 ORDER BY cr.id DESC LIMIT 200",
                          "i", user_id);
    if (!s) return NULL;
    json_t *items = db_rows_json(s, 200, e);
    if (!items) return NULL;
    return json_pack("{s:o}", "items", items);
}

/* ---- results ---- */

static int printable(const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 && *p != '\n') return 0;
    return 1;
}

int commitment_record(db *d, const audit_actor *a, int64_t check_id, const char *result,
                      const char *note, err *e) {
    int failed = result && !strcmp(result, "failed");
    if (!result || (!failed && strcmp(result, "passed") != 0))
        return err_invalid(e, "result", "核查结果须为 passed（属实）或 failed（不属实）");
    if (note && (strlen(note) > COMMITMENT_NOTE_MAX || !printable(note)))
        return err_invalid(e, "note", "核查说明不能超过 %d 字节且不能含控制字符",
                           COMMITMENT_NOTE_MAX);
    if (failed && (!note || !*note))
        return err_invalid(e, "note", "核查不属实时须写明情况（将记入信用记录）");
    json_t *before = commitment_get(d, check_id, e);
    if (!before) return -1;
    const char *status = jsonx_str(before, "status");
    if (strcmp(status, "pending") != 0 && strcmp(status, "not_sampled") != 0) {
        int rc = err_conflict(e, "status", "该承诺已核查（%s），不能再次登记",
                              !strcmp(status, "passed") ? "属实" : "不属实");
        json_decref(before);
        return rc;
    }
    int64_t case_id = jsonx_int(before, "case_id", 0);
    int64_t applicant = jsonx_int(before, "applicant_id", 0);
    char now[32];
    time_iso(now, sizeof(now), time_now());
    int rc = db_execf(d, e,
                      "UPDATE commitment_checks SET status = $2, checked_at = $3, note = $4 "
                      "WHERE id = $1",
                      "isss", check_id, result, now, note && *note ? note : NULL);
    if (rc == 0 && a && a->user_id > 0)
        rc = db_execf(d, e, "UPDATE commitment_checks SET checker_id = $2 WHERE id = $1", "ii",
                      check_id, a->user_id);
    if (rc == 0 && failed) {
        char reason[COMMITMENT_NOTE_MAX + 64];
        snprintf(reason, sizeof(reason), "告知承诺核查不属实：%s", note);
        int64_t credit_id = 0;
        rc = db_query_int(d, e, &credit_id,
                          "INSERT INTO credit_records (user_id, case_id, kind, note, created_by, "
                          "created_at) VALUES ($1, $2, 'commitment_failed', $3, "
                          "NULLIF($4, CAST(0 AS BIGINT)), $5) RETURNING id",
                          "iisis", applicant, case_id, reason,
                          a && a->user_id > 0 ? a->user_id : (int64_t)0, now);
        if (rc == 1) rc = err_internal(e, "insert returned no id");
        if (rc == 0) {
            json_t *cr = json_pack("{s:I, s:I, s:I, s:s, s:s}", "id", (json_int_t)credit_id,
                                   "user_id", (json_int_t)applicant, "case_id", (json_int_t)case_id,
                                   "kind", "commitment_failed", "note", reason);
            char cid[24];
            snprintf(cid, sizeof(cid), "%lld", (long long)credit_id);
            rc = audit_record(d, a, "credit.record", "credit_record", cid, NULL, cr, e);
            json_decref(cr);
        }
        if (rc == 0) rc = licences_revoke_by_case(d, a, case_id, reason, NULL, e);
        /* The approval itself is the core's to revoke (status, timeline, notice). */
        if (rc == 0) rc = cases_revoke_for_failed_commitment(d, a, case_id, reason, e);
        if (rc == 0)
            rc = db_execf(d, e, "UPDATE commitment_checks SET case_revoked = 1 WHERE id = $1", "i",
                          check_id);
    }
    json_t *after = rc == 0 ? commitment_get(d, check_id, e) : NULL;
    char oid[24];
    snprintf(oid, sizeof(oid), "%lld", (long long)check_id);
    if (after)
        rc = audit_record(d, a, "commitment.check", "commitment_check", oid, before, after, e);
    else
        rc = -1;
    json_decref(before);
    json_decref(after);
    return rc;
}
