/* cases.c: the application lifecycle (see cases.h for the design). */
#include "cases/cases.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/roles.h"
#include "base/jsonx.h"
#include "base/timeutil.h"
#include "base/xmalloc.h"
#include "cases/forms.h"
#include "cases/internal.h"
#include "catalog/catalog.h"
#include "files/files.h"
#include "workcal/workcal.h"

/* ---- small helpers ---- */

/* Fault injection for the crash tests: ISLE_FAULT=<point> kills the process at that
 * point, in the middle of a transaction, as `kill -9` would. */
static void fault_point(const char *name) {
    const char *f = getenv("ISLE_FAULT");
    if (f && !strcmp(f, name)) _exit(86);
}

static const char *const open_statuses[] = {"submitted", "accepted",  "returned_for_correction",
                                            "in_review", "suspended", NULL};

int cases_status_open(const char *s) {
    for (int i = 0; open_statuses[i]; i++)
        if (!strcmp(s, open_statuses[i])) return 1;
    return 0;
}

static char *now_iso(char *buf, size_t n) {
    return time_iso(buf, n, time_now());
}

static int iso_to_t(const char *s, int64_t *t) {
    return s && *s && time_parse_iso(s, t) == 0 ? 0 : -1;
}

void case_row_free(case_row *c) {
    if (!c) return;
    free(c->form);
    free(c->rule_trace);
    memset(c, 0, sizeof(*c));
}

#define COPY(dst, col)                                                                             \
    snprintf((dst), sizeof(dst), "%s", db_column_text(s, (col)) ? db_column_text(s, (col)) : "")

static const char CASE_COLS[] =
    "id, case_no, kind, item_code, item_name, bundle_code, parent_id, applicant_id, agent_id, "
    "channel, department, town_code, status, suspended_from, form, path, rule_trace, "
    "promise_days, promise_hours, submitted_at, accepted_at, clock_start, deadline_at, "
    "suspended_at, suspended_seconds, decided_at, delivered_at, closed_at, assignee_id, version, "
    "created_at, updated_at, item_version, legal_days";

static void row_from(db_stmt *s, case_row *c) {
    memset(c, 0, sizeof(*c));
    c->id = db_column_int64(s, 0);
    COPY(c->case_no, 1);
    COPY(c->kind, 2);
    COPY(c->item_code, 3);
    COPY(c->item_name, 4);
    COPY(c->bundle_code, 5);
    c->parent_id = db_column_int64(s, 6);
    c->applicant_id = db_column_int64(s, 7);
    c->agent_id = db_column_int64(s, 8);
    COPY(c->channel, 9);
    COPY(c->department, 10);
    COPY(c->town_code, 11);
    COPY(c->status, 12);
    COPY(c->suspended_from, 13);
    c->form = xstrdup(db_column_text(s, 14) ? db_column_text(s, 14) : "{}");
    COPY(c->path, 15);
    c->rule_trace = db_column_text(s, 16) ? xstrdup(db_column_text(s, 16)) : NULL;
    c->promise_days = db_column_type(s, 17) == DB_NULL ? -1 : db_column_double(s, 17);
    c->promise_hours = db_column_type(s, 18) == DB_NULL ? -1 : db_column_double(s, 18);
    COPY(c->submitted_at, 19);
    COPY(c->accepted_at, 20);
    COPY(c->clock_start, 21);
    COPY(c->deadline_at, 22);
    COPY(c->suspended_at, 23);
    c->suspended_seconds = db_column_int64(s, 24);
    COPY(c->decided_at, 25);
    COPY(c->delivered_at, 26);
    COPY(c->closed_at, 27);
    c->assignee_id = db_column_int64(s, 28);
    c->version = db_column_int64(s, 29);
    COPY(c->created_at, 30);
    COPY(c->updated_at, 31);
    c->item_version = db_column_int64(s, 32);
    c->legal_days = db_column_type(s, 33) == DB_NULL ? -1 : db_column_double(s, 33);
}

int case_load(db *d, int64_t id, case_row *c, err *e) {
    char sql[1024];
    snprintf(sql, sizeof(sql), "SELECT %s FROM cases WHERE id = $1", CASE_COLS);
    db_stmt *s = db_query(d, e, sql, "i", id);
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ROW) row_from(s, c);
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取办件失败：%s", db_errmsg(d));
    if (rc != DB_ROW) return err_notfound(e, "没有这个办件");
    return 0;
}

/* Staff side: the actor works for the case's department (NULL = every department,
 * the 综合窗口 of 一窗受理). Towns are not a boundary: an online application may be
 * taken in by any window (全城通办); queues filter by town on request. Supervisors
 * and admins see everything. */
static int staff_scope_ok(const cases_actor *a, const case_row *c) {
    if (a->role & (ROLE_SUPERVISOR | ROLE_ADMIN)) return 1;
    if (!(a->role & (ROLE_STAFF | ROLE_APPROVER))) return 0;
    if (a->department && *a->department && strcmp(a->department, c->department) != 0) return 0;
    return 1;
}

static int is_owner(const cases_actor *a, const case_row *c) {
    return a->user_id && (a->user_id == c->applicant_id || a->user_id == c->agent_id);
}

int cases_can_see(const cases_actor *a, const case_row *c) {
    return is_owner(a, c) || staff_scope_ok(a, c);
}

int cases_actor_load(db *d, cases_actor *a, char *dept_buf, size_t dept_n, char *town_buf,
                     size_t town_n, err *e) {
    dept_buf[0] = town_buf[0] = '\0';
    a->department = a->town_code = NULL;
    if (!a->user_id) return 0;
    db_stmt *s =
        db_query(d, e, "SELECT department, town_code FROM users WHERE id = $1", "i", a->user_id);
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ROW) {
        if (db_column_text(s, 0)) snprintf(dept_buf, dept_n, "%s", db_column_text(s, 0));
        if (db_column_text(s, 1)) snprintf(town_buf, town_n, "%s", db_column_text(s, 1));
    }
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取用户失败");
    a->department = dept_buf[0] ? dept_buf : NULL;
    a->town_code = town_buf[0] ? town_buf : NULL;
    return 0;
}

/* Load case id for actor a: 404 when it does not exist or a may not see it (never
 * reveal that it exists). */
static int load_visible(db *d, const cases_actor *a, int64_t id, case_row *c, err *e) {
    if (case_load(d, id, c, e) != 0) return -1;
    if (cases_can_see(a, c)) return 0;
    case_row_free(c);
    return err_notfound(e, "没有这个办件");
}

/* ---- timeline, audit, saving ---- */

int case_event(db *d, int64_t case_id, int64_t actor_id, const char *action, const char *from,
               const char *to, const char *reason, json_t *data, err *e) {
    char now[32];
    char *dj = data ? json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    int rc = actor_id
                 ? db_execf(d, e,
                            "INSERT INTO case_events (case_id, at, actor_id, action, from_status, "
                            "to_status, reason, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                            "isisssss", case_id, now_iso(now, sizeof(now)), actor_id, action, from,
                            to, reason, dj)
                 : db_execf(d, e,
                            "INSERT INTO case_events (case_id, at, actor_id, action, from_status, "
                            "to_status, reason, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                            "isnsssss", case_id, now_iso(now, sizeof(now)), action, from, to,
                            reason, dj);
    free(dj);
    return rc;
}

static int bind_opt(db_stmt *s, int idx, const char *v) {
    return v && *v ? db_bind_text(s, idx, v) : db_bind_null(s, idx);
}

/* Write the mutable columns of c back (version + 1, updated_at = now). */
static int case_save(db *d, case_row *c, err *e) {
    char now[32];
    now_iso(now, sizeof(now));
    snprintf(c->updated_at, sizeof(c->updated_at), "%s", now);
    c->version++;
    db_stmt *s = db_prepare(
        d,
        "UPDATE cases SET status = $1, suspended_from = $2, path = $3, rule_trace = $4, "
        "submitted_at = $5, accepted_at = $6, clock_start = $7, deadline_at = $8, "
        "suspended_at = $9, suspended_seconds = $10, decided_at = $11, delivered_at = $12, "
        "closed_at = $13, assignee_id = $14, version = $15, updated_at = $16, form = $17 "
        "WHERE id = $18 AND version = $19",
        e);
    if (!s) return -1;
    db_bind_text(s, 1, c->status);
    bind_opt(s, 2, c->suspended_from);
    db_bind_text(s, 3, c->path);
    bind_opt(s, 4, c->rule_trace);
    bind_opt(s, 5, c->submitted_at);
    bind_opt(s, 6, c->accepted_at);
    bind_opt(s, 7, c->clock_start);
    bind_opt(s, 8, c->deadline_at);
    bind_opt(s, 9, c->suspended_at);
    db_bind_int64(s, 10, c->suspended_seconds);
    bind_opt(s, 11, c->decided_at);
    bind_opt(s, 12, c->delivered_at);
    bind_opt(s, 13, c->closed_at);
    if (c->assignee_id)
        db_bind_int64(s, 14, c->assignee_id);
    else
        db_bind_null(s, 14);
    db_bind_int64(s, 15, c->version);
    db_bind_text(s, 16, now);
    db_bind_text(s, 17, c->form ? c->form : "{}");
    db_bind_int64(s, 18, c->id);
    db_bind_int64(s, 19, c->version - 1);
    int rc = db_step(s);
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "保存办件失败：%s", db_errmsg(d));
    if (db_changes(d) != 1) return err_conflict(e, "version", "办件已被他人修改，请刷新后重试");
    return 0;
}

/* After a status change of c from `from` (c already saved): timeline, audit and
 * the applicant's notification. */
static int record_change(db *d, const audit_actor *aa, int64_t actor_id, case_row *c,
                         const char *action, const char *from, const char *reason, json_t *data,
                         err *e) {
    if (case_event(d, c->id, actor_id, action, from, c->status, reason, data, e) != 0) return -1;
    char act[48], oid[32];
    snprintf(act, sizeof(act), "case.%s", action);
    snprintf(oid, sizeof(oid), "%lld", (long long)c->id);
    json_t *before = json_pack("{s:s?}", "status", from);
    json_t *after = json_pack("{s:s, s:s, s:I, s:s?, s:s?}", "status", c->status, "path", c->path,
                              "version", (json_int_t)c->version, "deadline_at",
                              c->deadline_at[0] ? c->deadline_at : NULL, "reason", reason);
    int rc = audit_record(d, aa, act, "case", oid, before, after, e);
    json_decref(before);
    json_decref(after);
    if (rc != 0) return -1;
    if (from && strcmp(from, c->status) != 0 &&
        cases_notify_hook(d, c->id, c->status, reason, e) != 0)
        return -1;
    return 0;
}

/* ---- the clock ---- */

static const workcal *calendar(err *e) {
    const workcal *cal = workcal_default(e);
    if (!cal && e && !e->status) err_internal(e, "工作日历不可用");
    return cal;
}

/* Accepted now: clock start and deadline (working hours for an hour promise,
 * else working days; no promise = no deadline). */
static int start_clock(case_row *c, int64_t now, err *e) {
    const workcal *cal = calendar(e);
    if (!cal) return -1;
    int64_t start = workcal_clock_start(cal, now), due = 0;
    if (start == WORKCAL_NEVER) return err_internal(e, "工作日历没有后续工作日");
    time_iso(c->clock_start, sizeof(c->clock_start), start);
    int have = 0;
    if (c->promise_hours > 0) {
        if (workcal_add_hours(cal, now, c->promise_hours, &due, e) != 0) return -1;
        have = 1;
    } else if (c->promise_days >= 0) {
        double days = c->promise_days > WORKCAL_MAX_DAYS ? WORKCAL_MAX_DAYS : c->promise_days;
        days = floor(days * 2 + 0.5) / 2; /* the calendar counts halves */
        if (workcal_deadline(cal, now, days, &due, e) != 0) return -1;
        have = 1;
    }
    if (have)
        time_iso(c->deadline_at, sizeof(c->deadline_at), due);
    else
        c->deadline_at[0] = '\0';
    return 0;
}

/* Resumed now: the working time spent suspended moves the deadline. */
static int stop_suspension(case_row *c, int64_t now, err *e) {
    const workcal *cal = calendar(e);
    if (!cal) return -1;
    int64_t since;
    if (iso_to_t(c->suspended_at, &since) != 0) since = now;
    int64_t ws = workcal_working_seconds_between(cal, since, now);
    if (ws < 0) ws = 0;
    c->suspended_seconds += ws;
    int64_t due;
    if (ws > 0 && iso_to_t(c->deadline_at, &due) == 0) {
        int64_t moved;
        if (workcal_add_hours(cal, due, (double)ws / 3600.0, &moved, e) != 0) return -1;
        time_iso(c->deadline_at, sizeof(c->deadline_at), moved);
    }
    c->suspended_at[0] = '\0';
    return 0;
}

/* The due state of an open case with a deadline, for lists and the detail page:
 * "on_time", "due_soon", "overdue", or NULL (no clock running). */
static const char *due_state(const case_row *c, int64_t now, double *remaining) {
    *remaining = 0;
    if (!c->deadline_at[0]) return NULL;
    if (strcmp(c->status, "accepted") && strcmp(c->status, "in_review") &&
        strcmp(c->status, "suspended"))
        return NULL;
    const workcal *cal = workcal_default(NULL);
    int64_t due;
    if (!cal || iso_to_t(c->deadline_at, &due) != 0) return NULL;
    int64_t at = now;
    if (!strcmp(c->status, "suspended") && iso_to_t(c->suspended_at, &at) != 0) at = now;
    *remaining = workcal_remaining_days(cal, at, due);
    switch (workcal_due_state(cal, at, due)) {
    case WORKCAL_OVERDUE:
        return "overdue";
    case WORKCAL_DUE_SOON:
        return "due_soon";
    default:
        return "on_time";
    }
}

/* The instant one working day after now: deadlines up to it are "due soon". */
static int due_soon_limit(int64_t now, char *buf, size_t n, err *e) {
    const workcal *cal = calendar(e);
    if (!cal) return -1;
    int64_t t;
    if (workcal_add_hours(cal, now, (double)workcal_day_seconds(cal) / 3600.0, &t, e) != 0)
        return -1;
    time_iso(buf, n, t);
    return 0;
}

/* ---- materials ---- */

/* A stored upload's content is a PDF, JPEG or PNG (the client's name and type are
 * not trusted). 0, or -1 with 415 naming field. */
static int check_upload(db *d, int64_t file_id, int64_t owner_a, int64_t owner_b, const char *field,
                        err *e) {
    db_stmt *s = db_query(d, e, "SELECT sha256, owner_id FROM files WHERE id = $1", "i", file_id);
    if (!s) return -1;
    int rc = db_step(s);
    char sha[65] = "";
    int64_t owner = 0;
    if (rc == DB_ROW) {
        snprintf(sha, sizeof(sha), "%s", db_column_text(s, 0) ? db_column_text(s, 0) : "");
        owner = db_column_int64(s, 1);
    }
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取文件失败");
    if (rc != DB_ROW || (owner != owner_a && owner != owner_b) || strlen(sha) != 64)
        return err_set(e, 400, "invalid_argument", field, "没有这个上传文件");
    char path[1200];
    snprintf(path, sizeof(path), "%s/%.2s/%s", files_dir(), sha, sha);
    unsigned char head[8] = {0};
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(head, 1, sizeof(head), f) : 0;
    if (f) fclose(f);
    int pdf = n >= 5 && !memcmp(head, "%PDF-", 5);
    int jpg = n >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF;
    int png = n >= 8 && !memcmp(head, "\x89PNG\r\n\x1a\n", 8);
    if (!pdf && !jpg && !png)
        return err_set(e, 415, "unsupported_media_type", field,
                       "材料只接受 PDF、JPG 或 PNG 文件（按文件内容判断）");
    return 0;
}

/* The request's entry for material idx/name (borrowed) or NULL. */
static json_t *material_request(json_t *reqs, size_t idx, const char *name) {
    size_t i;
    json_t *m;
    json_array_foreach(reqs, i, m) {
        json_t *ix = json_object_get(m, "idx");
        const char *nm = json_string_value(json_object_get(m, "name"));
        if ((json_is_integer(ix) && (size_t)json_integer_value(ix) == idx) ||
            (!json_is_integer(ix) && nm && name && !strcmp(nm, name)))
            return m;
    }
    return NULL;
}

static int is_form_material(json_t *m) {
    const char *form = json_string_value(json_object_get(m, "form"));
    const char *name = json_string_value(json_object_get(m, "name"));
    if (form && !strcmp(form, "表格")) return 1;
    return name && (strstr(name, "申请表") || strstr(name, "申请书") || strstr(name, "登记表") ||
                    strstr(name, "申报表"));
}

/* Check the request's material entries (shape only). */
static int check_material_requests(json_t *reqs, err *e) {
    if (!reqs || json_is_null(reqs)) return 0;
    if (!json_is_array(reqs) || json_array_size(reqs) > 64)
        return err_invalid(e, "materials", "materials 须为数组（最多 64 项）");
    size_t i;
    json_t *m;
    json_array_foreach(reqs, i, m) {
        char fld[48];
        snprintf(fld, sizeof(fld), "materials[%zu]", i);
        if (!json_is_object(m)) return err_invalid(e, fld, "材料须为对象");
        const char *by = json_string_value(json_object_get(m, "by"));
        if (!by || (strcmp(by, "licence") && strcmp(by, "commitment") && strcmp(by, "upload") &&
                    strcmp(by, "form")))
            return err_invalid(e, fld, "by 须为 licence、commitment、upload 或 form");
        json_t *ix = json_object_get(m, "idx");
        if (ix && !json_is_integer(ix)) return err_invalid(e, fld, "idx 须为整数");
        if (!ix && !json_is_string(json_object_get(m, "name")))
            return err_invalid(e, fld, "须给出材料序号 idx 或名称 name");
        if (!strcmp(by, "upload") && !json_is_integer(json_object_get(m, "file_id")))
            return err_invalid(e, fld, "上传材料须给出 file_id");
    }
    return 0;
}

/* (Re)write the case's material rows from the item's materials and the request.
 * Every material with an e-licence type the applicant holds is reused (免提交);
 * otherwise the request decides (commitment only where the item allows it). */
static int resolve_materials(db *d, const case_row *c, json_t *item, json_t *reqs, int64_t uploader,
                             err *e) {
    if (db_execf(d, e, "DELETE FROM case_materials WHERE case_id = $1", "i", c->id) != 0) return -1;
    int commitment_ok = json_is_true(json_object_get(item, "commitment"));
    char now[32];
    now_iso(now, sizeof(now));
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(item, "materials"), i, m) {
        const char *name = json_string_value(json_object_get(m, "name"));
        const char *lic = json_string_value(json_object_get(m, "licence"));
        int required = json_is_true(json_object_get(m, "required"));
        json_t *rq = material_request(reqs, i, name);
        const char *by = rq ? json_string_value(json_object_get(rq, "by")) : NULL;
        char fld[48];
        snprintf(fld, sizeof(fld), "materials[%zu]", i);
        const char *sat = "none";
        int64_t licence_id = 0, file_id = 0;
        int waived = 0;
        if (lic && *lic) {
            int found = cases_licence_lookup(d, c->applicant_id, lic, &licence_id, e);
            if (found < 0) return -1;
            if (found) sat = "licence", waived = 1;
        }
        if (!strcmp(sat, "none") && by) {
            if (!strcmp(by, "licence")) {
                return err_invalid(e, fld, "您的电子证照库中没有有效的“%s”，请上传材料",
                                   lic ? lic : (name ? name : ""));
            } else if (!strcmp(by, "commitment")) {
                if (!commitment_ok)
                    return err_invalid(e, fld, "该事项不适用告知承诺，请提交“%s”",
                                       name ? name : "");
                sat = "commitment", waived = 1;
            } else if (!strcmp(by, "upload")) {
                file_id = json_integer_value(json_object_get(rq, "file_id"));
                char ff[64];
                snprintf(ff, sizeof(ff), "materials[%zu].file_id", i);
                if (check_upload(d, file_id, c->applicant_id, uploader, ff, e) != 0) return -1;
                sat = "upload";
            } else if (!strcmp(by, "form")) {
                if (!is_form_material(m))
                    return err_invalid(e, fld, "“%s”不是申请表，不能由在线表单代替",
                                       name ? name : "");
                sat = "form";
            }
        }
        if (!strcmp(sat, "none") && is_form_material(m)) sat = "form";
        db_stmt *s = db_prepare(d,
                                "INSERT INTO case_materials (case_id, idx, name, required, "
                                "licence_type, satisfied_by, licence_id, file_id, waived, "
                                "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                                e);
        if (!s) return -1;
        db_bind_int64(s, 1, c->id);
        db_bind_int64(s, 2, (int64_t)i);
        db_bind_text(s, 3, name ? name : "");
        db_bind_int64(s, 4, required);
        bind_opt(s, 5, lic);
        db_bind_text(s, 6, sat);
        if (licence_id)
            db_bind_int64(s, 7, licence_id);
        else
            db_bind_null(s, 7);
        if (file_id)
            db_bind_int64(s, 8, file_id);
        else
            db_bind_null(s, 8);
        db_bind_int64(s, 9, waived);
        db_bind_text(s, 10, now);
        int rc = db_step(s);
        db_reset(s);
        if (rc == DB_ERROR) return err_internal(e, "保存材料失败：%s", db_errmsg(d));
    }
    return 0;
}

/* Every required material is satisfied. 0, or 400 naming the first missing one. */
static int materials_complete(db *d, int64_t case_id, err *e) {
    db_stmt *s =
        db_query(d, e,
                 "SELECT idx, name FROM case_materials WHERE case_id = $1 AND required = 1 "
                 "AND satisfied_by = 'none' ORDER BY idx LIMIT 1",
                 "i", case_id);
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ROW) {
        char fld[48], name[200];
        snprintf(fld, sizeof(fld), "materials[%lld]", (long long)db_column_int64(s, 0));
        snprintf(name, sizeof(name), "%s", db_column_text(s, 1) ? db_column_text(s, 1) : "");
        db_reset(s);
        return err_invalid(e, fld, "缺少必要材料：%s（可上传，或在适用时选择告知承诺）", name);
    }
    db_reset(s);
    return rc == DB_ERROR ? err_internal(e, "读取材料失败") : 0;
}

static int count_where(db *d, int64_t case_id, const char *sql, err *e, int64_t *n) {
    return db_query_int(d, e, n, sql, "i", case_id) < 0 ? -1 : 0;
}

/* ---- who applies ---- */

/* The applicant's role (ROLE_CITIZEN / ROLE_COMPANY) and town; 0 role when the
 * user is not someone who can apply. */
static int applicant_info(db *d, int64_t id, int *role, char *town, size_t town_n, err *e) {
    *role = 0;
    town[0] = '\0';
    db_stmt *s =
        db_query(d, e, "SELECT role, town_code, disabled FROM users WHERE id = $1", "i", id);
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ROW && !db_column_int64(s, 2)) {
        const char *r = db_column_text(s, 0);
        *role = r && !strcmp(r, "citizen")   ? ROLE_CITIZEN
                : r && !strcmp(r, "company") ? ROLE_COMPANY
                                             : 0;
        if (db_column_text(s, 1)) snprintf(town, town_n, "%s", db_column_text(s, 1));
    }
    db_reset(s);
    return rc == DB_ERROR ? err_internal(e, "读取申请人失败") : 0;
}

/* ---- submitting, with the fast paths ---- */

static const char *now_into(char *buf, size_t n) {
    return now_iso(buf, n);
}

static int bundle_refresh(db *d, const audit_actor *aa, int64_t parent_id, err *e);

/* Submit c (draft or returned, materials resolved): status submitted, then 秒办. */
static int do_submit(db *d, const audit_actor *aa, int64_t actor_id, case_row *c, json_t *item,
                     int applicant_role, err *e) {
    if (materials_complete(d, c->id, e) != 0) return -1;
    int64_t ncommit = 0;
    if (count_where(d, c->id,
                    "SELECT COUNT(*) FROM case_materials WHERE case_id = $1 AND satisfied_by = "
                    "'commitment'",
                    e, &ncommit) != 0)
        return -1;
    snprintf(c->path, sizeof(c->path), "%s", ncommit ? "commitment" : "normal");
    char from[32];
    snprintf(from, sizeof(from), "%s", c->status);
    snprintf(c->status, sizeof(c->status), "submitted");
    now_into(c->submitted_at, sizeof(c->submitted_at));
    if (case_save(d, c, e) != 0) return -1;
    if (record_change(d, aa, actor_id, c, "submit", from, NULL, NULL, e) != 0) return -1;
    if (!item || !json_is_true(json_object_get(item, "instant"))) return 0;

    json_t *trace = NULL;
    int decided = cases_rules_run(d, c, applicant_role, &trace, e);
    if (decided < 0) return -1;
    free(c->rule_trace);
    c->rule_trace = trace ? json_dumps(trace, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    static const audit_actor sys = {0, "system", NULL};
    if (decided == 0) {
        /* The rules could not decide: a person will. Keep the trace for them. */
        int rc = case_save(d, c, e);
        if (rc == 0)
            rc = case_event(d, c->id, 0, "rules", "submitted", "submitted",
                            "秒办规则未能自动通过，转人工办理", trace, e);
        json_decref(trace);
        return rc;
    }
    int64_t now = time_now();
    snprintf(c->status, sizeof(c->status), "accepted");
    time_iso(c->accepted_at, sizeof(c->accepted_at), now);
    if (start_clock(c, now, e) != 0 || case_save(d, c, e) != 0 ||
        record_change(d, &sys, 0, c, "accept", "submitted", NULL, NULL, e) != 0) {
        json_decref(trace);
        return -1;
    }
    snprintf(c->status, sizeof(c->status), "approved");
    snprintf(c->path, sizeof(c->path), "instant");
    time_iso(c->decided_at, sizeof(c->decided_at), now);
    int rc = case_save(d, c, e) != 0 || record_change(d, &sys, 0, c, "approve", "accepted",
                                                      "智能秒办：规则全部通过", trace, e) != 0
                 ? -1
                 : 0;
    json_decref(trace);
    return rc;
}

/* ---- creating ---- */

static unsigned long long case_seq;

static int insert_case(db *d, case_row *c, const char *idem, int64_t *id_out, err *e) {
    char now[32], tmp[64];
    now_iso(now, sizeof(now));
    snprintf(tmp, sizeof(tmp), "tmp-%llx-%llx-%d", (unsigned long long)time_mono_ns(),
             __atomic_add_fetch(&case_seq, 1, __ATOMIC_RELAXED), (int)getpid());
    db_stmt *s = db_prepare(
        d,
        "INSERT INTO cases (case_no, kind, item_code, item_version, item_name, bundle_code, "
        "parent_id, applicant_id, agent_id, channel, department, town_code, status, form, path, "
        "promise_days, promise_hours, legal_days, idempotency_key, version, created_at, "
        "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'draft', $13, "
        "'normal', $14, $15, $16, $17, 1, $18, $18) RETURNING id",
        e);
    if (!s) return -1;
    db_bind_text(s, 1, tmp);
    db_bind_text(s, 2, c->kind);
    bind_opt(s, 3, c->item_code);
    if (c->item_version)
        db_bind_int64(s, 4, c->item_version);
    else
        db_bind_null(s, 4);
    db_bind_text(s, 5, c->item_name);
    bind_opt(s, 6, c->bundle_code);
    if (c->parent_id)
        db_bind_int64(s, 7, c->parent_id);
    else
        db_bind_null(s, 7);
    db_bind_int64(s, 8, c->applicant_id);
    if (c->agent_id)
        db_bind_int64(s, 9, c->agent_id);
    else
        db_bind_null(s, 9);
    db_bind_text(s, 10, c->channel);
    db_bind_text(s, 11, c->department);
    bind_opt(s, 12, c->town_code);
    db_bind_text(s, 13, c->form ? c->form : "{}");
    if (c->promise_days >= 0)
        db_bind_double(s, 14, c->promise_days);
    else
        db_bind_null(s, 14);
    if (c->promise_hours >= 0)
        db_bind_double(s, 15, c->promise_hours);
    else
        db_bind_null(s, 15);
    if (c->legal_days >= 0)
        db_bind_double(s, 16, c->legal_days);
    else
        db_bind_null(s, 16);
    bind_opt(s, 17, idem);
    db_bind_text(s, 18, now);
    int rc = db_step(s);
    int64_t id = rc == DB_ROW ? db_column_int64(s, 0) : 0;
    db_reset(s);
    if (rc != DB_ROW) return err_internal(e, "保存办件失败：%s", db_errmsg(d));
    c->id = id;
    c->version = 1;
    snprintf(c->status, sizeof(c->status), "draft");
    snprintf(c->path, sizeof(c->path), "normal");
    /* 受理编号: ZS + the Shanghai date + the id. */
    workcal_date day = workcal_local_date(time_now());
    snprintf(c->case_no, sizeof(c->case_no), "ZS%02d%02d%02d%07lld", day.year % 100, day.month,
             day.day, (long long)id);
    if (db_execf(d, e, "UPDATE cases SET case_no = $1 WHERE id = $2", "si", c->case_no, id) != 0)
        return -1;
    *id_out = id;
    return 0;
}

static double num_or(json_t *v, double def) {
    return json_is_number(v) ? json_number_value(v) : def;
}

/* Fill the item-derived columns of c. */
static void case_from_item(case_row *c, json_t *item) {
    snprintf(c->kind, sizeof(c->kind), "item");
    snprintf(c->item_code, sizeof(c->item_code), "%s", jsonx_str(item, "code"));
    snprintf(c->item_name, sizeof(c->item_name), "%s", jsonx_str(item, "name"));
    snprintf(c->department, sizeof(c->department), "%s",
             jsonx_str(item, "department") ? jsonx_str(item, "department") : "");
    c->item_version = jsonx_int(item, "version", 0);
    c->promise_days = num_or(json_object_get(item, "promise_days"), -1);
    c->legal_days = num_or(json_object_get(item, "legal_days"), -1);
    c->promise_hours = -1;
}

/* An open (or draft) case of the same item by the same applicant exists. */
static int open_duplicate(db *d, int64_t applicant, const char *item_code, err *e) {
    int64_t n = 0;
    if (db_query_int(d, e, &n,
                     "SELECT COUNT(*) FROM cases WHERE applicant_id = $1 AND item_code = $2 AND "
                     "status IN ('draft', 'submitted', 'accepted', 'returned_for_correction', "
                     "'in_review', 'suspended')",
                     "is", applicant, item_code) < 0)
        return -1;
    return n > 0;
}

/* A bundle's member as catalog_bundle_get() gives it ({"code","name",…}) or as
 * the bundle file has it (the code). */
static const char *member_code(json_t *v) {
    return json_is_string(v) ? json_string_value(v) : jsonx_str(v, "code");
}

static json_t *bundle_form_def(json_t *bundle, int company) {
    json_t *def = cases_form_def(NULL, company);
    json_t *note = json_incref(json_array_get(def, json_array_size(def) - 1));
    json_array_remove(def, json_array_size(def) - 1);
    size_t i;
    json_t *code;
    json_array_foreach(json_object_get(bundle, "items"), i, code) {
        json_t *one = cases_form_def(member_code(code), company);
        size_t k;
        json_t *f;
        json_array_foreach(one, k, f) {
            const char *nm = json_string_value(json_object_get(f, "name"));
            int dup = 0;
            size_t j;
            json_t *g;
            json_array_foreach(def, j, g) {
                if (!strcmp(json_string_value(json_object_get(g, "name")), nm)) dup = 1;
            }
            if (!dup && strcmp(nm, "note") != 0) json_array_append(def, f);
        }
        json_decref(one);
    }
    json_array_append_new(def, note);
    return def;
}

json_t *cases_form_for(db *d, const char *item_code, const char *bundle_code, int company, err *e) {
    if (bundle_code) {
        json_t *b = catalog_bundle_get(d, bundle_code, e);
        if (!b) return NULL;
        json_t *def = bundle_form_def(b, company);
        json_decref(b);
        return def;
    }
    json_t *item = catalog_item_get(d, item_code, e);
    if (!item) return NULL;
    json_decref(item);
    return cases_form_def(item_code, company);
}

static int create_in_tx(db *d, const cases_actor *a, json_t *in, int64_t *id_out, err *e) {
    const char *item_code = jsonx_str(in, "item_code");
    const char *bundle_code = jsonx_str(in, "bundle_code");
    if (!!item_code == !!bundle_code)
        return err_invalid(e, "item_code", "须给出 item_code 或 bundle_code 之一");
    /* Who applies. */
    int64_t applicant = a->user_id, agent = 0;
    json_t *behalf = json_object_get(in, "on_behalf_of");
    if (behalf && !json_is_null(behalf)) {
        if (!(a->role & (ROLE_AGENT | ROLE_STAFF)))
            return err_forbidden(e, "只有帮办代办员或窗口人员可以代为申请");
        applicant = json_integer_value(behalf);
        agent = a->user_id;
    }
    int arole;
    char atown[16];
    if (applicant_info(d, applicant, &arole, atown, sizeof(atown), e) != 0) return -1;
    if (!arole)
        return err_invalid(e, behalf ? "on_behalf_of" : "applicant", "申请人须为群众或企业账号");
    const char *channel = jsonx_str(in, "channel");
    if (!channel)
        channel = (a->role & ROLE_AGENT)   ? "assisted"
                  : (a->role & ROLE_STAFF) ? "window"
                                           : "online";
    if (strcmp(channel, "online") && strcmp(channel, "window") && strcmp(channel, "assisted") &&
        strcmp(channel, "station"))
        return err_invalid(e, "channel", "channel 须为 online、window、assisted 或 station");
    const char *town = jsonx_str(in, "town_code");
    if (town && (strlen(town) != 9 || strspn(town, "0123456789") != 9))
        return err_invalid(e, "town_code", "乡镇代码须为 9 位数字");
    if (!town) town = atown[0] ? atown : NULL;
    json_t *form = json_object_get(in, "form");
    if (!form)
        form = json_object();
    else
        json_incref(form);
    char *form_text = json_dumps(form, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!form_text || strlen(form_text) > CASES_FORM_MAX) {
        free(form_text);
        json_decref(form);
        return err_invalid(e, "form", "表单过大");
    }
    json_t *reqs = json_object_get(in, "materials");
    int rc = -1;
    json_t *item = NULL, *bundle = NULL, *def = NULL;
    case_row c;
    memset(&c, 0, sizeof(c));
    c.applicant_id = applicant;
    c.agent_id = agent;
    snprintf(c.channel, sizeof(c.channel), "%s", channel);
    snprintf(c.town_code, sizeof(c.town_code), "%s", town ? town : "");
    c.form = form_text;
    form_text = NULL;
    const char *idem = jsonx_str(in, "idempotency_key");
    int submit = jsonx_bool(in, "submit", 1);
    static const audit_actor sys = {0, "system", NULL};

    if (check_material_requests(reqs, e) != 0) goto out;
    if (item_code) {
        item = catalog_item_get(d, item_code, e);
        if (!item) {
            if (e->status == 404) snprintf(e->field, sizeof(e->field), "item_code");
            goto out;
        }
        if ((!strcmp(channel, "online") || !strcmp(channel, "assisted")) &&
            jsonx_int(item, "online_depth", 0) < 2) {
            err_set(e, 409, "not_online", "item_code",
                    "“%s”暂不支持网上申请，请到窗口办理或预约帮办代办", jsonx_str(item, "name"));
            goto out;
        }
        int dup = open_duplicate(d, applicant, item_code, e);
        if (dup < 0) goto out;
        if (dup) {
            err_conflict(e, "item_code", "您已有一件“%s”正在办理中，请勿重复申请",
                         jsonx_str(item, "name"));
            goto out;
        }
        def = cases_form_def(item_code, arole == ROLE_COMPANY);
        if (cases_form_validate(def, form, e) != 0) goto out;
        case_from_item(&c, item);
        if (insert_case(d, &c, idem, id_out, e) != 0) goto out;
        if (resolve_materials(d, &c, item, reqs, agent, e) != 0) goto out;
        if (case_event(d, c.id, a->user_id, "create", NULL, "draft", NULL, NULL, e) != 0) goto out;
        json_t *after = json_pack("{s:s, s:s, s:s}", "case_no", c.case_no, "item_code", c.item_code,
                                  "channel", c.channel);
        char oid[32];
        snprintf(oid, sizeof(oid), "%lld", (long long)c.id);
        int ar = audit_record(d, &a->audit, "case.create", "case", oid, NULL, after, e);
        json_decref(after);
        if (ar != 0) goto out;
        if (submit && do_submit(d, &a->audit, a->user_id, &c, item, arole, e) != 0) goto out;
        rc = 0;
        goto out;
    }

    /* A 一件事 bundle: the parent case and one member per item. */
    bundle = catalog_bundle_get(d, bundle_code, e);
    if (!bundle) {
        if (e->status == 404) snprintf(e->field, sizeof(e->field), "bundle_code");
        goto out;
    }
    def = bundle_form_def(bundle, arole == ROLE_COMPANY);
    if (cases_form_validate(def, form, e) != 0) goto out;
    json_t *codes = json_object_get(bundle, "items");
    size_t nitems = json_array_size(codes);
    if (!nitems) {
        err_invalid(e, "bundle_code", "该“一件事”没有事项");
        goto out;
    }
    for (size_t i = 0; i < nitems; i++) {
        const char *mc = member_code(json_array_get(codes, i));
        if (!mc) {
            err_internal(e, "“一件事”的事项编码缺失");
            goto out;
        }
        int dup = open_duplicate(d, applicant, mc, e);
        if (dup < 0) goto out;
        if (dup) {
            err_conflict(e, "bundle_code", "其中的事项已有正在办理的申请，请勿重复申请");
            goto out;
        }
    }
    snprintf(c.kind, sizeof(c.kind), "bundle");
    snprintf(c.bundle_code, sizeof(c.bundle_code), "%s", bundle_code);
    snprintf(c.item_name, sizeof(c.item_name), "%s", jsonx_str(bundle, "name"));
    c.promise_days = -1;
    c.legal_days = -1;
    c.promise_hours = num_or(json_object_get(bundle, "promise_hours"), -1);
    int parallel = json_is_true(json_object_get(bundle, "parallel"));
    /* The lead department is the first item's. */
    json_t *first = catalog_item_get(d, member_code(json_array_get(codes, 0)), e);
    if (!first) goto out;
    snprintf(c.department, sizeof(c.department), "%s", jsonx_str(first, "department"));
    json_decref(first);
    if (insert_case(d, &c, idem, id_out, e) != 0) goto out;
    if (case_event(d, c.id, a->user_id, "create", NULL, "draft", NULL, NULL, e) != 0) goto out;
    for (size_t i = 0; i < nitems; i++) {
        json_t *mi = catalog_item_get(d, member_code(json_array_get(codes, i)), e);
        if (!mi) goto out;
        case_row m;
        memset(&m, 0, sizeof(m));
        case_from_item(&m, mi);
        m.parent_id = c.id;
        m.applicant_id = applicant;
        m.agent_id = agent;
        snprintf(m.channel, sizeof(m.channel), "%s", channel);
        snprintf(m.town_code, sizeof(m.town_code), "%s", c.town_code);
        m.form = xstrdup(c.form);
        int64_t mid;
        /* Materials are shared by name across the members (entered once). */
        json_t *by_name = json_array();
        size_t k;
        json_t *r;
        json_array_foreach(reqs, k, r) {
            if (json_is_string(json_object_get(r, "name"))) {
                json_t *copy = json_deep_copy(r);
                json_object_del(copy, "idx");
                json_array_append_new(by_name, copy);
            }
        }
        int ok = insert_case(d, &m, NULL, &mid, e) == 0 &&
                 resolve_materials(d, &m, mi, by_name, agent, e) == 0 &&
                 case_event(d, m.id, a->user_id, "create", NULL, "draft", NULL, NULL, e) == 0;
        /* Every member's materials are checked now, also those of members a
         * sequential bundle submits later: the applicant hands everything in once. */
        if (ok && submit) ok = materials_complete(d, m.id, e) == 0;
        json_decref(by_name);
        if (ok && submit && (parallel || i == 0))
            ok = do_submit(d, &a->audit, a->user_id, &m, mi, arole, e) == 0;
        json_decref(mi);
        case_row_free(&m);
        if (!ok) goto out;
    }
    {
        json_t *after =
            json_pack("{s:s, s:s, s:s, s:I}", "case_no", c.case_no, "bundle_code", c.bundle_code,
                      "channel", c.channel, "members", (json_int_t)nitems);
        char oid[32];
        snprintf(oid, sizeof(oid), "%lld", (long long)c.id);
        int ar = audit_record(d, &a->audit, "case.create", "case", oid, NULL, after, e);
        json_decref(after);
        if (ar != 0) goto out;
    }
    if (submit) {
        /* The bundle is received as one: its hour clock starts now. */
        int64_t now = time_now();
        char from[32];
        snprintf(from, sizeof(from), "%s", c.status);
        snprintf(c.status, sizeof(c.status), "submitted");
        time_iso(c.submitted_at, sizeof(c.submitted_at), now);
        time_iso(c.accepted_at, sizeof(c.accepted_at), now);
        if (start_clock(&c, now, e) != 0 || case_save(d, &c, e) != 0 ||
            record_change(d, &a->audit, a->user_id, &c, "submit", from, NULL, NULL, e) != 0)
            goto out;
        if (bundle_refresh(d, &sys, c.id, e) != 0) goto out;
    }
    fault_point("cases.create.bundle");
    rc = 0;
out:
    json_decref(item);
    json_decref(bundle);
    json_decref(def);
    json_decref(form);
    free(form_text);
    case_row_free(&c);
    return rc;
}

int cases_create(db *d, const cases_actor *a, json_t *in, int64_t *id_out, int *created, err *e) {
    static const jsonx_field spec[] = {{"item_code", JX_STRING, 0, 40},
                                       {"bundle_code", JX_STRING, 0, 16},
                                       {"form", JX_OBJECT, 0, 0},
                                       {"materials", JX_ARRAY, 0, 64},
                                       {"channel", JX_STRING, 0, 16},
                                       {"town_code", JX_STRING, 0, 16},
                                       {"on_behalf_of", JX_INT, 0, 0},
                                       {"submit", JX_BOOL, 0, 0},
                                       {"idempotency_key", JX_STRING, 0, CASES_IDEM_MAX},
                                       {NULL}};
    *created = 0;
    if (jsonx_check(in, spec, e) != 0) return -1;
    const char *idem = jsonx_str(in, "idempotency_key");
    if (idem) {
        int64_t applicant = a->user_id;
        if (json_is_integer(json_object_get(in, "on_behalf_of")))
            applicant = json_integer_value(json_object_get(in, "on_behalf_of"));
        int64_t id = 0;
        int r = db_query_int(
            d, e, &id, "SELECT id FROM cases WHERE applicant_id = $1 AND idempotency_key = $2",
            "is", applicant, idem);
        if (r < 0) return -1;
        if (r == 0) {
            *id_out = id;
            return 0;
        }
    }
    if (db_begin(d, e) != 0) return -1;
    if (create_in_tx(d, a, in, id_out, e) != 0 || db_commit(d, e) != 0) {
        db_rollback(d);
        /* Two requests with one key raced: the loser's insert hit the unique
         * index; answer with the winner's case. */
        if (idem && e->status >= 500) {
            int64_t applicant = a->user_id, id = 0;
            if (json_is_integer(json_object_get(in, "on_behalf_of")))
                applicant = json_integer_value(json_object_get(in, "on_behalf_of"));
            err e2 = {0};
            if (db_query_int(d, &e2, &id,
                             "SELECT id FROM cases WHERE applicant_id = $1 AND "
                             "idempotency_key = $2",
                             "is", applicant, idem) == 0) {
                err_clear(e);
                *id_out = id;
                return 0;
            }
        }
        return -1;
    }
    *created = 1;
    return 0;
}

/* ---- transitions ---- */

enum { BY_OWNER = 1, BY_STAFF = 2 };

typedef struct action_def {
    const char *name;
    const char *from[7];
    const char *to; /* NULL: resume (back to suspended_from) */
    int by;         /* BY_OWNER or BY_STAFF */
    int roles;      /* BY_STAFF: the roles allowed */
    int reason;     /* 1 when a reason is required */
} action_def;

static const action_def actions[] = {
    {"submit", {"draft", "returned_for_correction"}, "submitted", BY_OWNER, 0, 0},
    {"accept", {"submitted"}, "accepted", BY_STAFF, ROLE_STAFF | ROLE_APPROVER, 0},
    {"return",
     {"submitted", "accepted"},
     "returned_for_correction",
     BY_STAFF,
     ROLE_STAFF | ROLE_APPROVER,
     1},
    {"reject", {"submitted"}, "rejected_at_intake", BY_STAFF, ROLE_STAFF | ROLE_APPROVER, 1},
    {"review", {"accepted"}, "in_review", BY_STAFF, ROLE_STAFF | ROLE_APPROVER, 0},
    {"approve", {"accepted", "in_review"}, "approved", BY_STAFF, ROLE_APPROVER, 0},
    {"deny", {"accepted", "in_review"}, "denied", BY_STAFF, ROLE_APPROVER, 1},
    {"deliver", {"approved"}, "delivered", BY_STAFF, ROLE_STAFF | ROLE_APPROVER, 0},
    {"withdraw",
     {"draft", "submitted", "accepted", "returned_for_correction", "in_review", "suspended"},
     "withdrawn",
     BY_OWNER,
     0,
     0},
    {"suspend", {"accepted", "in_review"}, "suspended", BY_STAFF, ROLE_STAFF | ROLE_APPROVER, 1},
    {"resume", {"suspended"}, NULL, BY_STAFF, ROLE_STAFF | ROLE_APPROVER, 0},
    {NULL, {NULL}, NULL, 0, 0, 0},
};

static const action_def *action_find(const char *name) {
    for (const action_def *ad = actions; name && ad->name; ad++)
        if (!strcmp(ad->name, name)) return ad;
    return NULL;
}

static int from_ok(const action_def *ad, const char *status) {
    for (int i = 0; i < 7 && ad->from[i]; i++)
        if (!strcmp(ad->from[i], status)) return 1;
    return 0;
}

static int may_act(const cases_actor *a, const case_row *c, const action_def *ad) {
    if (ad->by == BY_OWNER) return is_owner(a, c);
    return (a->role & ad->roles) && staff_scope_ok(a, c);
}

const char *cases_status_label(const char *s) {
    static const char *const map[][2] = {{"draft", "草稿"},
                                         {"submitted", "已提交"},
                                         {"accepted", "已受理"},
                                         {"returned_for_correction", "退回补正"},
                                         {"rejected_at_intake", "不予受理"},
                                         {"in_review", "审查中"},
                                         {"approved", "已批准"},
                                         {"denied", "不予批准"},
                                         {"delivered", "已办结"},
                                         {"withdrawn", "已撤回"},
                                         {"suspended", "已中止"},
                                         {NULL, NULL}};
    for (int i = 0; map[i][0]; i++)
        if (!strcmp(map[i][0], s)) return map[i][1];
    return s;
}

static int closed_status(const char *s) {
    return !strcmp(s, "rejected_at_intake") || !strcmp(s, "denied") || !strcmp(s, "delivered") ||
           !strcmp(s, "withdrawn");
}

/* Apply ad to c (loaded, permission checked) inside the transaction. */
static int apply_action(db *d, const audit_actor *aa, int64_t actor_id, case_row *c,
                        const action_def *ad, const char *reason, err *e) {
    int64_t now = time_now();
    char from[32];
    snprintf(from, sizeof(from), "%s", c->status);
    if (!strcmp(ad->name, "submit")) {
        json_t *item = c->item_code[0] ? catalog_item_get(d, c->item_code, e) : NULL;
        if (c->item_code[0] && !item) return -1;
        int role;
        char town[16];
        int rc = applicant_info(d, c->applicant_id, &role, town, sizeof(town), e) != 0
                     ? -1
                     : do_submit(d, aa, actor_id, c, item, role, e);
        json_decref(item);
        return rc;
    }
    if (ad->to)
        snprintf(c->status, sizeof(c->status), "%s", ad->to);
    else
        snprintf(c->status, sizeof(c->status), "%s",
                 c->suspended_from[0] ? c->suspended_from : "in_review");
    if (!strcmp(ad->name, "accept")) {
        time_iso(c->accepted_at, sizeof(c->accepted_at), now);
        if (start_clock(c, now, e) != 0) return -1;
    } else if (!strcmp(ad->name, "approve") || !strcmp(ad->name, "deny")) {
        time_iso(c->decided_at, sizeof(c->decided_at), now);
    } else if (!strcmp(ad->name, "deliver")) {
        time_iso(c->delivered_at, sizeof(c->delivered_at), now);
    } else if (!strcmp(ad->name, "suspend")) {
        snprintf(c->suspended_from, sizeof(c->suspended_from), "%s", from);
        time_iso(c->suspended_at, sizeof(c->suspended_at), now);
    } else if (!strcmp(ad->name, "resume")) {
        if (stop_suspension(c, now, e) != 0) return -1;
        c->suspended_from[0] = '\0';
    } else if (!strcmp(ad->name, "return")) {
        /* Back to the applicant: the clock restarts at the next acceptance. */
        c->accepted_at[0] = c->clock_start[0] = c->deadline_at[0] = '\0';
    }
    if (closed_status(c->status)) time_iso(c->closed_at, sizeof(c->closed_at), now);
    if (case_save(d, c, e) != 0) return -1;
    if (record_change(d, aa, actor_id, c, ad->name, from, reason, NULL, e) != 0) return -1;
    if (!strcmp(ad->name, "approve") && !strcmp(c->path, "commitment") &&
        cases_commitment_schedule(d, aa, c, e) != 0)
        return -1;
    if (!strcmp(ad->name, "deliver") && cases_licence_writeback(d, aa, c, e) != 0) return -1;
    return 0;
}

/* A bundle follows its members: the next member of a sequential bundle is
 * submitted when the previous one is approved; the bundle is in review while
 * any member is being handled, delivered when all are, denied when any member
 * ends without approval. */
static int bundle_refresh(db *d, const audit_actor *aa, int64_t parent_id, err *e) {
    case_row p;
    if (case_load(d, parent_id, &p, e) != 0) return -1;
    int rc = -1;
    json_t *bundle = catalog_bundle_get(d, p.bundle_code, e);
    if (!bundle) goto out;
    int parallel = json_is_true(json_object_get(bundle, "parallel"));
    db_stmt *s = db_query(d, e, "SELECT id, status FROM cases WHERE parent_id = $1 ORDER BY id",
                          "i", parent_id);
    if (!s) goto out;
    int64_t ids[64];
    char st[64][32];
    int n = 0, r;
    while ((r = db_step(s)) == DB_ROW && n < 64) {
        ids[n] = db_column_int64(s, 0);
        snprintf(st[n], sizeof(st[n]), "%s", db_column_text(s, 1));
        n++;
    }
    db_reset(s);
    if (r == DB_ERROR) {
        err_internal(e, "读取一件事成员失败");
        goto out;
    }
    /* Sequential: submit the first draft member once all before it are approved. */
    if (!parallel && (!strcmp(p.status, "submitted") || !strcmp(p.status, "in_review"))) {
        for (int i = 0; i < n; i++) {
            if (!strcmp(st[i], "approved") || !strcmp(st[i], "delivered")) continue;
            if (!strcmp(st[i], "draft")) {
                case_row m;
                if (case_load(d, ids[i], &m, e) != 0) goto out;
                json_t *item = catalog_item_get(d, m.item_code, e);
                int role;
                char town[16];
                int ok = item &&
                         applicant_info(d, m.applicant_id, &role, town, sizeof(town), e) == 0 &&
                         do_submit(d, aa, 0, &m, item, role, e) == 0;
                snprintf(st[i], sizeof(st[i]), "%s", m.status);
                json_decref(item);
                case_row_free(&m);
                if (!ok) goto out;
                /* An instant member may have been approved at once: go on. */
                if (!strcmp(st[i], "approved")) continue;
            }
            break;
        }
    }
    int done = 0, failed = 0, active = 0;
    for (int i = 0; i < n; i++) {
        if (!strcmp(st[i], "delivered"))
            done++;
        else if (!strcmp(st[i], "denied") || !strcmp(st[i], "rejected_at_intake") ||
                 !strcmp(st[i], "withdrawn"))
            failed++;
        else if (strcmp(st[i], "draft") && strcmp(st[i], "submitted"))
            active++;
    }
    const char *to = NULL;
    if (!strcmp(p.status, "submitted") || !strcmp(p.status, "in_review")) {
        if (failed && done + failed == n)
            to = "denied";
        else if (done == n)
            to = "delivered";
        else if (active && !strcmp(p.status, "submitted"))
            to = "in_review";
    }
    if (to) {
        char from[32];
        snprintf(from, sizeof(from), "%s", p.status);
        snprintf(p.status, sizeof(p.status), "%s", to);
        int64_t now = time_now();
        if (!strcmp(to, "delivered") || !strcmp(to, "denied")) {
            time_iso(p.decided_at, sizeof(p.decided_at), now);
            time_iso(p.closed_at, sizeof(p.closed_at), now);
            if (!strcmp(to, "delivered")) time_iso(p.delivered_at, sizeof(p.delivered_at), now);
        }
        if (case_save(d, &p, e) != 0 ||
            record_change(d, aa, 0, &p, !strcmp(to, "in_review") ? "progress" : "finish", from,
                          NULL, NULL, e) != 0)
            goto out;
    }
    rc = 0;
out:
    json_decref(bundle);
    case_row_free(&p);
    return rc;
}

int cases_transition(db *d, const cases_actor *a, int64_t id, const char *action,
                     const char *reason, int64_t expected_version, err *e) {
    const action_def *ad = action_find(action);
    if (!ad) return err_invalid(e, "action", "未知的操作：%s", action ? action : "");
    if (reason && strlen(reason) > CASES_REASON_MAX * 3)
        return err_invalid(e, "reason", "理由过长（最多 %d 字）", CASES_REASON_MAX);
    if (reason && !*reason) reason = NULL;
    if (ad->reason && !reason) return err_invalid(e, "reason", "请填写理由");
    if (db_begin(d, e) != 0) return -1;
    case_row c;
    int rc = -1;
    if (load_visible(d, a, id, &c, e) != 0) goto fail;
    if (expected_version > 0 && expected_version != c.version) {
        err_conflict(e, "version", "办件已被他人修改，请刷新后重试");
        goto done;
    }
    if (!strcmp(c.kind, "bundle") && strcmp(ad->name, "withdraw") != 0) {
        err_set(e, 409, "conflict", "action", "“一件事”按各部门事项分别办理，请操作其中的事项");
        goto done;
    }
    if (!may_act(a, &c, ad)) {
        err_forbidden(e, "您无权对此办件执行“%s”", ad->name);
        goto done;
    }
    if (!from_ok(ad, c.status)) {
        err_set(e, 409, "invalid_state", "action", "办件当前状态为“%s”，不能执行此操作",
                cases_status_label(c.status));
        goto done;
    }
    if (apply_action(d, &a->audit, a->user_id, &c, ad, reason, e) != 0) goto done;
    if (!strcmp(c.kind, "bundle")) {
        /* Withdrawing a bundle withdraws its open members. */
        db_stmt *s = db_query(d, e,
                              "SELECT id FROM cases WHERE parent_id = $1 AND status IN ('draft', "
                              "'submitted', 'accepted', 'returned_for_correction', 'in_review', "
                              "'suspended') ORDER BY id",
                              "i", c.id);
        if (!s) goto done;
        int64_t ids[64];
        int n = 0, r;
        while ((r = db_step(s)) == DB_ROW && n < 64)
            ids[n++] = db_column_int64(s, 0);
        db_reset(s);
        for (int i = 0; i < n; i++) {
            case_row m;
            if (case_load(d, ids[i], &m, e) != 0) goto done;
            int ok = apply_action(d, &a->audit, a->user_id, &m, ad, reason, e) == 0;
            case_row_free(&m);
            if (!ok) goto done;
        }
    } else if (c.parent_id && bundle_refresh(d, &a->audit, c.parent_id, e) != 0) {
        goto done;
    }
    rc = 0;
done:
    case_row_free(&c);
    if (rc != 0) goto fail;
    return db_commit(d, e);
fail:
    db_rollback(d);
    return -1;
}

int cases_revoke_for_failed_commitment(db *d, const audit_actor *aa, int64_t case_id,
                                       const char *reason, err *e) {
    case_row c;
    if (case_load(d, case_id, &c, e) != 0) return -1;
    int rc = -1;
    if (strcmp(c.status, "approved") && strcmp(c.status, "delivered")) {
        err_set(e, 409, "invalid_state", "case", "办件未获批准，无需撤销");
        goto out;
    }
    char from[32];
    snprintf(from, sizeof(from), "%s", c.status);
    snprintf(c.status, sizeof(c.status), "denied");
    time_iso(c.closed_at, sizeof(c.closed_at), time_now());
    if (case_save(d, &c, e) != 0) goto out;
    rc = record_change(d, aa, aa->user_id, &c, "revoke", from,
                       reason && *reason ? reason : "告知承诺核查不实，撤销审批决定", NULL, e);
out:
    case_row_free(&c);
    return rc;
}

int cases_update(db *d, const cases_actor *a, int64_t id, json_t *in, err *e) {
    static const jsonx_field spec[] = {{"form", JX_OBJECT, 0, 0},
                                       {"materials", JX_ARRAY, 0, 64},
                                       {"version", JX_INT, 0, 0},
                                       {NULL}};
    if (jsonx_check(in, spec, e) != 0) return -1;
    json_t *reqs = json_object_get(in, "materials");
    if (check_material_requests(reqs, e) != 0) return -1;
    if (db_begin(d, e) != 0) return -1;
    case_row c;
    json_t *item = NULL, *def = NULL;
    int rc = -1;
    if (load_visible(d, a, id, &c, e) != 0) goto fail;
    if (!is_owner(a, &c)) {
        err_forbidden(e, "只有申请人可以修改申请");
        goto done;
    }
    if (strcmp(c.status, "draft") && strcmp(c.status, "returned_for_correction")) {
        err_set(e, 409, "invalid_state", "status", "只有草稿或退回补正的办件可以修改");
        goto done;
    }
    if (!strcmp(c.kind, "bundle")) {
        err_set(e, 409, "conflict", "kind", "请修改“一件事”中的具体事项");
        goto done;
    }
    int64_t ver = jsonx_int(in, "version", 0);
    if (ver > 0 && ver != c.version) {
        err_conflict(e, "version", "办件已被他人修改，请刷新后重试");
        goto done;
    }
    item = catalog_item_get(d, c.item_code, e);
    if (!item) goto done;
    json_t *form = json_object_get(in, "form");
    if (form) {
        int role;
        char town[16];
        if (applicant_info(d, c.applicant_id, &role, town, sizeof(town), e) != 0) goto done;
        def = cases_form_def(c.item_code, role == ROLE_COMPANY);
        if (cases_form_validate(def, form, e) != 0) goto done;
        char *t = json_dumps(form, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!t || strlen(t) > CASES_FORM_MAX) {
            free(t);
            err_invalid(e, "form", "表单过大");
            goto done;
        }
        free(c.form);
        c.form = t;
    }
    if (reqs && resolve_materials(d, &c, item, reqs, c.agent_id, e) != 0) goto done;
    if (case_save(d, &c, e) != 0) goto done;
    if (case_event(d, c.id, a->user_id, "edit", c.status, c.status, NULL, NULL, e) != 0) goto done;
    {
        char oid[32];
        snprintf(oid, sizeof(oid), "%lld", (long long)c.id);
        json_t *after = json_pack("{s:I}", "version", (json_int_t)c.version);
        int ar = audit_record(d, &a->audit, "case.edit", "case", oid, NULL, after, e);
        json_decref(after);
        if (ar != 0) goto done;
    }
    rc = 0;
done:
    json_decref(item);
    json_decref(def);
    case_row_free(&c);
    if (rc != 0) goto fail;
    return db_commit(d, e);
fail:
    db_rollback(d);
    return -1;
}

int cases_assign(db *d, const cases_actor *a, int64_t id, int64_t assignee_id, err *e) {
    if (db_begin(d, e) != 0) return -1;
    case_row c;
    int rc = -1;
    if (load_visible(d, a, id, &c, e) != 0) goto fail;
    if (!staff_scope_ok(a, &c)) {
        err_forbidden(e, "您无权分派此办件");
        goto done;
    }
    /* The assignee works for the case's department. */
    db_stmt *s = db_query(d, e, "SELECT role, department, disabled FROM users WHERE id = $1", "i",
                          assignee_id);
    if (!s) goto done;
    int r = db_step(s);
    int ok = 0;
    if (r == DB_ROW) {
        const char *role = db_column_text(s, 0), *dep = db_column_text(s, 1);
        ok = role && (!strcmp(role, "staff") || !strcmp(role, "approver")) &&
             !db_column_int64(s, 2) && (!dep || !*dep || !strcmp(dep, c.department));
    }
    db_reset(s);
    if (!ok) {
        err_invalid(e, "assignee_id", "只能分派给该部门的窗口或审批人员");
        goto done;
    }
    int64_t before = c.assignee_id;
    c.assignee_id = assignee_id;
    if (case_save(d, &c, e) != 0) goto done;
    json_t *data =
        json_pack("{s:I, s:I}", "from", (json_int_t)before, "to", (json_int_t)assignee_id);
    int er = case_event(d, c.id, a->user_id, "assign", c.status, c.status, NULL, data, e);
    char oid[32];
    snprintf(oid, sizeof(oid), "%lld", (long long)c.id);
    if (er == 0) er = audit_record(d, &a->audit, "case.assign", "case", oid, NULL, data, e);
    json_decref(data);
    if (er != 0) goto done;
    rc = 0;
done:
    case_row_free(&c);
    if (rc != 0) goto fail;
    return db_commit(d, e);
fail:
    db_rollback(d);
    return -1;
}

int cases_note(db *d, const cases_actor *a, int64_t id, const char *text, err *e) {
    if (!text || !*text) return err_invalid(e, "text", "请填写内容");
    if (strlen(text) > CASES_REASON_MAX * 3) return err_invalid(e, "text", "内容过长");
    if (db_begin(d, e) != 0) return -1;
    case_row c;
    int rc = -1;
    if (load_visible(d, a, id, &c, e) != 0) goto fail;
    if (case_event(d, c.id, a->user_id, "note", c.status, c.status, text, NULL, e) != 0) goto done;
    char oid[32];
    snprintf(oid, sizeof(oid), "%lld", (long long)c.id);
    if (audit_record(d, &a->audit, "case.note", "case", oid, NULL, NULL, e) != 0) goto done;
    rc = 0;
done:
    case_row_free(&c);
    if (rc != 0) goto fail;
    return db_commit(d, e);
fail:
    db_rollback(d);
    return -1;
}

/* ---- reading ---- */

static json_t *str_or_null(const char *s) {
    return s && *s ? json_string(s) : json_null();
}

static json_t *user_ref(db *d, int64_t id) {
    if (!id) return json_null();
    err e = {0};
    db_stmt *s = db_query(d, &e, "SELECT login, display_name FROM users WHERE id = $1", "i", id);
    if (!s) return json_null();
    json_t *o = json_null();
    if (db_step(s) == DB_ROW)
        o = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)id, "login", db_column_text(s, 0),
                      "display_name", db_column_text(s, 1));
    db_reset(s);
    return o;
}

/* The fields every listing shows. */
static json_t *case_summary(const case_row *c, int64_t now) {
    double remaining;
    const char *due = due_state(c, now, &remaining);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(c->id));
    json_object_set_new(o, "case_no", json_string(c->case_no));
    json_object_set_new(o, "kind", json_string(c->kind));
    json_object_set_new(o, "item_code", str_or_null(c->item_code));
    json_object_set_new(o, "bundle_code", str_or_null(c->bundle_code));
    json_object_set_new(o, "item_name", json_string(c->item_name));
    json_object_set_new(o, "parent_id", c->parent_id ? json_integer(c->parent_id) : json_null());
    json_object_set_new(o, "applicant_id", json_integer(c->applicant_id));
    json_object_set_new(o, "channel", json_string(c->channel));
    json_object_set_new(o, "department", json_string(c->department));
    json_object_set_new(o, "town_code", str_or_null(c->town_code));
    json_object_set_new(o, "status", json_string(c->status));
    json_object_set_new(o, "status_label", json_string(cases_status_label(c->status)));
    json_object_set_new(o, "path", json_string(c->path));
    json_object_set_new(o, "submitted_at", str_or_null(c->submitted_at));
    json_object_set_new(o, "accepted_at", str_or_null(c->accepted_at));
    json_object_set_new(o, "deadline_at", str_or_null(c->deadline_at));
    json_object_set_new(o, "due", due ? json_string(due) : json_null());
    json_object_set_new(o, "remaining_days",
                        due ? json_real(round(remaining * 100) / 100) : json_null());
    json_object_set_new(o, "decided_at", str_or_null(c->decided_at));
    json_object_set_new(o, "delivered_at", str_or_null(c->delivered_at));
    json_object_set_new(o, "assignee_id",
                        c->assignee_id ? json_integer(c->assignee_id) : json_null());
    json_object_set_new(o, "version", json_integer(c->version));
    json_object_set_new(o, "created_at", json_string(c->created_at));
    json_object_set_new(o, "updated_at", json_string(c->updated_at));
    return o;
}

static json_t *allowed_actions(const cases_actor *a, const case_row *c) {
    json_t *arr = json_array();
    for (const action_def *ad = actions; ad->name; ad++) {
        if (!strcmp(c->kind, "bundle") && strcmp(ad->name, "withdraw")) continue;
        if (from_ok(ad, c->status) && may_act(a, c, ad))
            json_array_append_new(arr, json_string(ad->name));
    }
    return arr;
}

json_t *cases_get(db *d, const cases_actor *a, int64_t id, err *e) {
    case_row c;
    if (load_visible(d, a, id, &c, e) != 0) return NULL;
    int64_t now = time_now();
    json_t *o = case_summary(&c, now);
    json_t *form = json_loads(c.form, 0, NULL);
    json_object_set_new(o, "form", form ? form : json_object());
    json_t *trace = c.rule_trace ? json_loads(c.rule_trace, 0, NULL) : NULL;
    json_object_set_new(o, "rule_trace", trace ? trace : json_null());
    json_object_set_new(o, "applicant", user_ref(d, c.applicant_id));
    json_object_set_new(o, "agent", user_ref(d, c.agent_id));
    json_object_set_new(o, "assignee", user_ref(d, c.assignee_id));
    json_object_set_new(o, "promise_days",
                        c.promise_days >= 0 ? json_real(c.promise_days) : json_null());
    json_object_set_new(o, "promise_hours",
                        c.promise_hours >= 0 ? json_real(c.promise_hours) : json_null());
    json_object_set_new(o, "legal_days", c.legal_days >= 0 ? json_real(c.legal_days) : json_null());
    json_object_set_new(o, "clock_start", str_or_null(c.clock_start));
    json_object_set_new(o, "suspended_at", str_or_null(c.suspended_at));
    json_object_set_new(o, "suspended_seconds", json_integer(c.suspended_seconds));
    json_object_set_new(o, "closed_at", str_or_null(c.closed_at));
    json_object_set_new(o, "actions", allowed_actions(a, &c));
    if (c.promise_hours > 0 && c.accepted_at[0]) {
        /* Hour clocks: working hours used so far (to the decision, or now). */
        const workcal *cal = workcal_default(NULL);
        int64_t t0, t1 = now;
        if (cal && iso_to_t(c.accepted_at, &t0) == 0) {
            if (c.closed_at[0]) iso_to_t(c.closed_at, &t1);
            double used = (double)workcal_working_seconds_between(cal, t0, t1) / 3600.0;
            json_object_set_new(o, "working_hours_used", json_real(round(used * 100) / 100));
        }
    }

    db_stmt *s = db_query(d, e,
                          "SELECT idx, name, required, licence_type, satisfied_by, licence_id, "
                          "file_id, waived FROM case_materials WHERE case_id = $1 ORDER BY idx",
                          "i", id);
    json_t *mats = s ? db_rows_json(s, 200, e) : NULL;
    if (!mats) goto fail;
    json_object_set_new(o, "materials", mats);
    s = db_query(d, e,
                 "SELECT ev.at, ev.action, ev.from_status, ev.to_status, ev.reason, ev.data, "
                 "u.display_name AS actor_name, u.role AS actor_role FROM case_events ev "
                 "LEFT JOIN users u ON u.id = ev.actor_id WHERE ev.case_id = $1 ORDER BY ev.id",
                 "i", id);
    json_t *events = s ? db_rows_json(s, 1000, e) : NULL;
    if (!events) goto fail;
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev) {
        const char *dj = json_string_value(json_object_get(ev, "data"));
        json_t *data = dj ? json_loads(dj, 0, NULL) : NULL;
        json_object_set_new(ev, "data", data ? data : json_null());
        const char *to = json_string_value(json_object_get(ev, "to_status"));
        if (to) json_object_set_new(ev, "to_label", json_string(cases_status_label(to)));
        if (json_is_null(json_object_get(ev, "actor_name")))
            json_object_set_new(ev, "actor_name", json_string("系统"));
    }
    json_object_set_new(o, "events", events);
    if (!strcmp(c.kind, "bundle")) {
        char sql[1024];
        snprintf(sql, sizeof(sql), "SELECT %s FROM cases WHERE parent_id = $1 ORDER BY id",
                 CASE_COLS);
        s = db_query(d, e, sql, "i", id);
        if (!s) goto fail;
        json_t *members = json_array();
        int done = 0, n = 0, r;
        while ((r = db_step(s)) == DB_ROW) {
            case_row m;
            row_from(s, &m);
            json_array_append_new(members, case_summary(&m, now));
            n++;
            if (!strcmp(m.status, "delivered") || !strcmp(m.status, "approved")) done++;
            case_row_free(&m);
        }
        db_reset(s);
        json_object_set_new(o, "members", members);
        json_object_set_new(o, "progress", json_pack("{s:i, s:i}", "done", done, "total", n));
    }
    case_row_free(&c);
    return o;
fail:
    json_decref(o);
    case_row_free(&c);
    return NULL;
}

/* Dynamic WHERE with positional parameters (all text or integer). */
typedef struct qbuild {
    char sql[2048];
    size_t len;
    int n;
    const char *sv[16];
    int64_t iv[16];
    char kind[16];
} qbuild;

static void qb_add(qbuild *q, const char *frag) {
    q->len += (size_t)snprintf(q->sql + q->len, sizeof(q->sql) - q->len, "%s", frag);
}
static int qb_s(qbuild *q, const char *v) {
    q->sv[q->n] = v;
    q->kind[q->n] = 's';
    return ++q->n;
}
static int qb_i(qbuild *q, int64_t v) {
    q->iv[q->n] = v;
    q->kind[q->n] = 'i';
    return ++q->n;
}
static void qb_bind(qbuild *q, db_stmt *s) {
    for (int i = 0; i < q->n; i++) {
        if (q->kind[i] == 's')
            db_bind_text(s, i + 1, q->sv[i]);
        else
            db_bind_int64(s, i + 1, q->iv[i]);
    }
}

json_t *cases_list(db *d, const cases_actor *a, const cases_filter *f, err *e) {
    int64_t limit = f->limit ? f->limit : CASES_DEFAULT_LIMIT, offset = f->offset;
    if (limit < 1 || limit > CASES_MAX_LIMIT) {
        err_invalid(e, "limit", "limit 须在 1 到 %d 之间", CASES_MAX_LIMIT);
        return NULL;
    }
    if (offset < 0 || offset > CASES_MAX_OFFSET) {
        err_invalid(e, "offset", "offset 超出范围");
        return NULL;
    }
    int staff = (a->role & (ROLE_STAFF | ROLE_APPROVER | ROLE_SUPERVISOR | ROLE_ADMIN)) != 0;
    int mine = f->mine || !staff;
    qbuild q = {0};
    char tmp[256];
    qb_add(&q, " FROM cases WHERE 1 = 1");
    if (mine) {
        /* A 一件事 is listed once; its members are on its page. */
        int p = qb_i(&q, a->user_id);
        snprintf(tmp, sizeof(tmp),
                 " AND (applicant_id = $%d OR agent_id = $%d) AND parent_id IS NULL", p, p);
        qb_add(&q, tmp);
    } else {
        /* Queues: item cases (bundles are handled through their members). */
        qb_add(&q, " AND kind = 'item' AND status <> 'draft'");
        if ((a->role & (ROLE_STAFF | ROLE_APPROVER)) && a->department) {
            snprintf(tmp, sizeof(tmp), " AND department = $%d", qb_s(&q, a->department));
            qb_add(&q, tmp);
        }
    }
    if (f->status && *f->status) {
        if (!strcmp(f->status, "open"))
            qb_add(&q, " AND status IN ('submitted', 'accepted', 'returned_for_correction', "
                       "'in_review', 'suspended')");
        else if (!strcmp(f->status, "closed"))
            qb_add(&q, " AND status IN ('approved', 'denied', 'delivered', 'withdrawn', "
                       "'rejected_at_intake')");
        else if (!strcmp(f->status, "todo"))
            qb_add(&q, " AND status IN ('submitted', 'accepted', 'in_review', 'approved')");
        else if (!strcmp(cases_status_label(f->status), f->status)) {
            err_invalid(e, "status", "未知的状态：%s", f->status);
            return NULL;
        } else {
            snprintf(tmp, sizeof(tmp), " AND status = $%d", qb_s(&q, f->status));
            qb_add(&q, tmp);
        }
    }
    if (f->department && *f->department) {
        snprintf(tmp, sizeof(tmp), " AND department = $%d", qb_s(&q, f->department));
        qb_add(&q, tmp);
    }
    if (f->town_code && *f->town_code) {
        snprintf(tmp, sizeof(tmp), " AND town_code = $%d", qb_s(&q, f->town_code));
        qb_add(&q, tmp);
    }
    if (f->item_code && *f->item_code) {
        snprintf(tmp, sizeof(tmp), " AND item_code = $%d", qb_s(&q, f->item_code));
        qb_add(&q, tmp);
    }
    if (f->assignee_id > 0) {
        snprintf(tmp, sizeof(tmp), " AND assignee_id = $%d", qb_i(&q, f->assignee_id));
        qb_add(&q, tmp);
    } else if (f->assignee_id < 0) {
        qb_add(&q, " AND assignee_id IS NULL");
    }
    char like[200];
    if (f->q && *f->q) {
        if (strlen(f->q) > 100) {
            err_invalid(e, "q", "搜索内容过长");
            return NULL;
        }
        snprintf(like, sizeof(like), "%%%s%%", f->q);
        int p = qb_s(&q, like);
        snprintf(tmp, sizeof(tmp), " AND (case_no LIKE $%d OR item_name LIKE $%d)", p, p);
        qb_add(&q, tmp);
    }
    int64_t now = time_now();
    char now_s[32], soon[32];
    time_iso(now_s, sizeof(now_s), now);
    if (f->due && *f->due) {
        if (!strcmp(f->due, "overdue")) {
            snprintf(tmp, sizeof(tmp),
                     " AND status IN ('accepted', 'in_review') AND deadline_at < $%d",
                     qb_s(&q, now_s));
            qb_add(&q, tmp);
        } else if (!strcmp(f->due, "due_soon")) {
            if (due_soon_limit(now, soon, sizeof(soon), e) != 0) return NULL;
            int p1 = qb_s(&q, now_s), p2 = qb_s(&q, soon);
            snprintf(tmp, sizeof(tmp),
                     " AND status IN ('accepted', 'in_review') AND deadline_at >= $%d AND "
                     "deadline_at <= $%d",
                     p1, p2);
            qb_add(&q, tmp);
        } else {
            err_invalid(e, "due", "due 须为 overdue 或 due_soon");
            return NULL;
        }
    }
    const char *order = NULL;
    const char *sort = f->sort && *f->sort ? f->sort : (mine ? "-created" : "deadline");
    if (!strcmp(sort, "deadline"))
        order = " ORDER BY CASE WHEN deadline_at IS NULL THEN 1 ELSE 0 END, deadline_at, id";
    else if (!strcmp(sort, "-created"))
        order = " ORDER BY id DESC";
    else if (!strcmp(sort, "created"))
        order = " ORDER BY id";
    else {
        err_invalid(e, "sort", "sort 须为 deadline、created 或 -created");
        return NULL;
    }

    char sql[4096];
    snprintf(sql, sizeof(sql), "SELECT COUNT(*)%s", q.sql);
    db_stmt *s = db_prepare(d, sql, e);
    if (!s) return NULL;
    qb_bind(&q, s);
    int64_t total = 0;
    if (db_step(s) == DB_ROW) total = db_column_int64(s, 0);
    db_reset(s);
    int pl = qb_i(&q, limit), po = qb_i(&q, offset);
    snprintf(sql, sizeof(sql), "SELECT %s%s%s LIMIT $%d OFFSET $%d", CASE_COLS, q.sql, order, pl,
             po);
    s = db_prepare(d, sql, e);
    if (!s) return NULL;
    qb_bind(&q, s);
    json_t *items = json_array();
    int r;
    while ((r = db_step(s)) == DB_ROW) {
        case_row c;
        row_from(s, &c);
        json_array_append_new(items, case_summary(&c, now));
        case_row_free(&c);
    }
    db_reset(s);
    if (r == DB_ERROR) {
        json_decref(items);
        err_internal(e, "读取办件失败：%s", db_errmsg(d));
        return NULL;
    }
    return json_pack("{s:o, s:I, s:I, s:I}", "items", items, "total", (json_int_t)total, "limit",
                     (json_int_t)limit, "offset", (json_int_t)offset);
}

int cases_material_file(db *d, const cases_actor *a, int64_t id, int idx, char *path, size_t path_n,
                        char *content_type, size_t ct_n, char *filename, size_t fn_n, err *e) {
    case_row c;
    if (load_visible(d, a, id, &c, e) != 0) return -1;
    case_row_free(&c);
    db_stmt *s = db_query(d, e,
                          "SELECT f.sha256, f.content_type, f.filename FROM case_materials m "
                          "JOIN files f ON f.id = m.file_id WHERE m.case_id = $1 AND m.idx = $2",
                          "ii", id, (int64_t)idx);
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ROW) {
        const char *sha = db_column_text(s, 0);
        snprintf(path, path_n, "%s/%.2s/%s", files_dir(), sha ? sha : "", sha ? sha : "");
        snprintf(content_type, ct_n, "%s", db_column_text(s, 1) ? db_column_text(s, 1) : "");
        snprintf(filename, fn_n, "%s", db_column_text(s, 2) ? db_column_text(s, 2) : "");
    }
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取材料失败");
    if (rc != DB_ROW) return err_set(e, 404, "not_found", "idx", "该材料没有上传文件");
    return 0;
}
