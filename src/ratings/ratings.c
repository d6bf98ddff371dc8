/* ratings: 好差评 and 差评 tickets (see ratings.h for the rules).
 *
 * Every write is one DB_TX_SERIAL transaction holding the change, its audit
 * row and its notifications (notify_send joins the transaction), so a rating
 * without its ticket, or a ticket step without its message, cannot exist. The
 * read-then-write checks (already rated? which step comes next?) rely on that
 * one-writer-at-a-time transaction; the UNIQUE constraints are a second line. */
#include "ratings/ratings.h"
#include "audit/audit.h"
#include "auth/roles.h"
#include "base/jsonx.h"
#include "base/timeutil.h"
#include "base/xmalloc.h"
#include "notify/notify.h"
#include "workcal/workcal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct dim_def {
    const char *key, *label;
} dim_def;

static const dim_def online_dims[] = {
    {"efficiency", "办事效率"},
    {"guide_accuracy", "办事指南精确度"},
    {"convenience", "办事便捷度"},
    {"usability", "平台操作性"},
    {NULL, NULL},
};
static const dim_def offline_dims[] = {
    {"service_efficiency", "服务效率"},
    {"service_level", "服务水平"},
    {"service_attitude", "服务态度"},
    {NULL, NULL},
};

static const dim_def *dims_for(const char *channel) {
    return channel && strcmp(channel, "online") == 0 ? online_dims : offline_dims;
}

const char *ratings_level_label(int level) {
    static const char *labels[] = {NULL, "非常不满意", "不满意", "基本满意", "满意", "非常满意"};
    return level >= 1 && level <= 5 ? labels[level] : NULL;
}

json_t *ratings_dimensions(const char *channel) {
    json_t *a = json_array();
    json_array_append_new(a, json_pack("{s:s, s:s}", "key", "overall", "label", "整体满意度"));
    for (const dim_def *d = dims_for(channel); d->key; d++)
        json_array_append_new(a, json_pack("{s:s, s:s}", "key", d->key, "label", d->label));
    return a;
}

static audit_actor audit_of(const ratings_actor *a) {
    audit_actor x = {.user_id = a->user_id,
                     .login = a->login ? a->login : "system",
                     .request_id = a->request_id};
    return x;
}

/* UTF-8 code points in s, or -1 when s has control characters other than line breaks. */
static long text_chars(const char *s) {
    long n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p < 0x20 && *p != '\n' && *p != '\r' && *p != '\t') || *p == 0x7f) return -1;
        if ((*p & 0xc0) != 0x80) n++;
    }
    return n;
}

/* ---- the case as ratings see it ---- */

typedef struct case_row {
    int64_t id, applicant_id;
    char status[40], channel[16];
    char department[256], item_code[64], case_no[64], item_name[512];
} case_row;

/* 0 found, 1 absent, -1 error. */
static int case_load(db *d, int64_t id, case_row *c, err *e) {
    memset(c, 0, sizeof(*c));
    db_stmt *s = db_query(d, e,
                          "SELECT id, applicant_id, status, channel, department, item_code, "
                          "case_no, item_name FROM cases WHERE id = $1",
                          "i", id);
    if (!s) return -1;
    int st = db_step(s), rc = 1;
    if (st == DB_ROW) {
        c->id = db_column_int64(s, 0);
        c->applicant_id = db_column_int64(s, 1);
        const char *v;
#define COPY(field, col)                                                                           \
    v = db_column_text(s, col);                                                                    \
    snprintf(c->field, sizeof(c->field), "%s", v ? v : "")
        COPY(status, 2);
        COPY(channel, 3);
        COPY(department, 4);
        COPY(item_code, 5);
        COPY(case_no, 6);
        COPY(item_name, 7);
#undef COPY
        rc = 0;
    } else if (st == DB_ERROR) {
        rc = err_internal(e, "%s", db_errmsg(d));
    }
    db_reset(s);
    return rc;
}

static int case_finished(const char *status) {
    return !strcmp(status, "delivered") || !strcmp(status, "denied");
}

/* The caller's department: 0 with *out ("" = every department), or -1. */
static int actor_department(db *d, const ratings_actor *a, char *out, size_t n, err *e) {
    out[0] = '\0';
    db_stmt *s = db_query(d, e, "SELECT department FROM users WHERE id = $1", "i", a->user_id);
    if (!s) return -1;
    int st = db_step(s);
    if (st == DB_ROW && db_column_text(s, 0)) snprintf(out, n, "%s", db_column_text(s, 0));
    db_reset(s);
    if (st == DB_ERROR) return err_internal(e, "%s", db_errmsg(d));
    return 0;
}

/* May the caller see (and, for staff/approver/supervisor, act on) a department's
 * ratings and tickets? 1 yes, 0 no, -1 error. */
static int may_see_department(db *d, const ratings_actor *a, const char *department, err *e) {
    if (a->role & (ROLE_SUPERVISOR | ROLE_ADMIN)) return 1;
    if (!(a->role & (ROLE_STAFF | ROLE_APPROVER))) return 0;
    char mine[256];
    if (actor_department(d, a, mine, sizeof(mine), e) != 0) return -1;
    return !mine[0] || !strcmp(mine, department);
}

/* ---- rating ---- */

static int check_input(const ratings_input *in, const char *channel, err *e) {
    if (in->overall < 1 || in->overall > 5)
        return err_invalid(e, "overall", "整体满意度须为 1–5（5 非常满意 … 1 非常不满意）");
    if (!json_is_object(in->dims)) return err_invalid(e, "dims", "各项评价须为对象");
    const dim_def *want = dims_for(channel);
    for (const dim_def *dd = want; dd->key; dd++) {
        json_t *v = json_object_get(in->dims, dd->key);
        char field[64];
        snprintf(field, sizeof(field), "dims.%s", dd->key);
        if (!v) return err_invalid(e, field, "缺少“%s”评价", dd->label);
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 5)
            return err_invalid(e, field, "“%s”须为 1–5", dd->label);
    }
    const char *k;
    json_t *v;
    json_object_foreach(in->dims, k, v) {
        int known = 0;
        for (const dim_def *dd = want; dd->key; dd++)
            if (!strcmp(dd->key, k)) known = 1;
        if (!known) {
            char field[64];
            snprintf(field, sizeof(field), "dims.%.50s", k);
            return err_invalid(e, field, "%s渠道的评价没有这一项",
                               !strcmp(channel, "online") ? "网上办事" : "线下（窗口、帮办）");
        }
    }
    if (in->comment) {
        long n = text_chars(in->comment);
        if (n < 0) return err_invalid(e, "comment", "评价内容含有不允许的控制字符");
        if (n > RATINGS_COMMENT_MAX)
            return err_invalid(e, "comment", "评价内容不能超过 %d 个字", RATINGS_COMMENT_MAX);
    }
    return 0;
}

/* Open the 差评 ticket for a rating inside the caller's transaction. */
static int ticket_open(db *d, const ratings_actor *a, int64_t rating_id, const case_row *c,
                       int overall, const char *now_iso, int64_t now, int64_t *ticket_id, err *e) {
    const workcal *cal = workcal_default(e);
    if (!cal) return -1;
    int64_t due;
    if (workcal_deadline(cal, now, RATINGS_RECTIFY_DAYS, &due, e) != 0) return -1;
    char due_iso[32];
    time_iso(due_iso, sizeof(due_iso), due);
    int rc = db_query_int(d, e, ticket_id,
                          "INSERT INTO rating_tickets (rating_id, case_id, department, status, "
                          "opened_at, rectify_due, updated_at) "
                          "VALUES ($1, $2, $3, 'open', $4, $5, $4) RETURNING id",
                          "iisss", rating_id, c->id, c->department, now_iso, due_iso);
    if (rc > 0) rc = err_internal(e, "insert returned no id");
    if (rc != 0) return -1;
    audit_actor aa = audit_of(a);
    char oid[32];
    snprintf(oid, sizeof(oid), "%lld", (long long)*ticket_id);
    json_t *after = json_pack("{s:I, s:I, s:s, s:s, s:s}", "rating_id", (json_int_t)rating_id,
                              "case_id", (json_int_t)c->id, "department", c->department, "status",
                              "open", "rectify_due", due_iso);
    rc = audit_record(d, &aa, "rating_ticket.open", "rating_ticket", oid, NULL, after, e);
    json_decref(after);
    if (rc != 0) return -1;
    char due_local[24], prefix[64], link[64];
    workcal_local_format(due, due_local, sizeof(due_local));
    snprintf(prefix, sizeof(prefix), "ticket:%lld:opened", (long long)*ticket_id);
    snprintf(link, sizeof(link), "/rating-tickets/%lld", (long long)*ticket_id);
    json_t *params =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "case_no", c->case_no, "item_name",
                  c->item_name, "overall_label", ratings_level_label(overall), "department",
                  c->department, "due", due_local, "ticket_id", (json_int_t)*ticket_id);
    rc = notify_department_staff(d, c->department, "rating_ticket_opened", params, prefix, link,
                                 NULL, e);
    json_decref(params);
    return rc;
}

int ratings_create(db *d, const ratings_actor *a, int64_t case_id, const ratings_input *in,
                   int64_t *rating_id_out, int64_t *ticket_id_out, err *e) {
    if (rating_id_out) *rating_id_out = 0;
    if (ticket_id_out) *ticket_id_out = 0;
    if (db_begin(d, e) != 0) return -1;
    case_row c;
    int rc = case_load(d, case_id, &c, e);
    if (rc == 1 || (rc == 0 && c.applicant_id != a->user_id)) rc = err_notfound(e, "没有这个办件");
    if (rc == 0 && !case_finished(c.status))
        rc = err_conflict(e, "status", "办件办结（送达或不予许可）后才能评价");
    if (rc == 0) rc = check_input(in, c.channel, e);
    int64_t existing = 0;
    if (rc == 0) {
        int q = db_query_int(d, e, &existing,
                             "SELECT id FROM ratings WHERE case_id = $1 AND rater_id = $2", "ii",
                             case_id, a->user_id);
        if (q < 0) rc = -1;
        if (q == 0) rc = err_conflict(e, "case_id", "您已评价过该办件");
    }
    int64_t now = time_now(), rid = 0, tid = 0;
    char now_iso[32];
    time_iso(now_iso, sizeof(now_iso), now);
    /* dims in the channel's order, whatever order the client used */
    json_t *dims = json_object();
    for (const dim_def *dd = dims_for(c.channel); rc == 0 && dd->key; dd++)
        json_object_set(dims, dd->key, json_object_get(in->dims, dd->key));
    char *dims_text = jsonx_dump(dims);
    if (rc == 0) {
        int q = db_query_int(d, e, &rid,
                             "INSERT INTO ratings (case_id, rater_id, department, item_code, "
                             "channel, overall, dims, comment, created_at) "
                             "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                             "iisssisss", case_id, a->user_id, c.department,
                             c.item_code[0] ? c.item_code : NULL, c.channel, (int64_t)in->overall,
                             dims_text, in->comment && *in->comment ? in->comment : NULL, now_iso);
        if (q > 0) q = err_internal(e, "insert returned no id");
        if (q != 0) rc = -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach(dims, k, v) {
        if (rc != 0) break;
        rc = db_execf(d, e,
                      "INSERT INTO rating_scores (rating_id, dimension, score) VALUES ($1, $2, $3)",
                      "isi", rid, k, (int64_t)json_integer_value(v));
    }
    if (rc == 0) {
        audit_actor aa = audit_of(a);
        char oid[32];
        snprintf(oid, sizeof(oid), "%lld", (long long)rid);
        json_t *after = json_pack("{s:I, s:s, s:i, s:O, s:s?}", "case_id", (json_int_t)case_id,
                                  "channel", c.channel, "overall", in->overall, "dims", dims,
                                  "comment", in->comment && *in->comment ? in->comment : NULL);
        rc = audit_record(d, &aa, "rating.create", "rating", oid, NULL, after, e);
        json_decref(after);
    }
    if (rc == 0 && in->overall <= 2)
        rc = ticket_open(d, a, rid, &c, in->overall, now_iso, now, &tid, e);
    free(dims_text);
    json_decref(dims);
    if (rc != 0 || db_commit(d, e) != 0) {
        db_rollback(d);
        return -1;
    }
    if (tid) notify_worker_wake();
    if (rating_id_out) *rating_id_out = rid;
    if (ticket_id_out) *ticket_id_out = tid;
    return 0;
}

/* ---- reading ---- */

static json_t *rating_json(db *d, int64_t case_id, int64_t rater_id, err *e, int *found) {
    *found = 0;
    db_stmt *s = db_query(d, e,
                          "SELECT id, case_id, rater_id, department, item_code, channel, overall, "
                          "dims, comment, created_at FROM ratings WHERE case_id = $1 "
                          "AND ($2 = 0 OR rater_id = $2) ORDER BY id LIMIT 1",
                          "ii", case_id, rater_id);
    if (!s) return NULL;
    int st = db_step(s);
    json_t *o = NULL;
    if (st == DB_ROW) {
        o = db_row_json(s);
        json_t *dims = json_loads(json_string_value(json_object_get(o, "dims")), 0, NULL);
        json_object_set_new(o, "dims", dims ? dims : json_object());
        int overall = (int)json_integer_value(json_object_get(o, "overall"));
        json_object_set_new(o, "overall_label", json_string(ratings_level_label(overall)));
        *found = 1;
    } else if (st == DB_ERROR) {
        err_internal(e, "%s", db_errmsg(d));
    }
    db_reset(s);
    if (st == DB_ERROR) return NULL;
    return o ? o : json_null();
}

#define TICKET_SELECT                                                                              \
    "SELECT t.id, t.rating_id, t.case_id, c.case_no, c.item_name, t.department, t.status, "        \
    "r.overall, r.comment, u.display_name, u.phone, t.opened_at, t.rectify_due, t.callback_at, "   \
    "t.callback_by, t.callback_note, t.rectified_at, t.rectify_note, t.result_reported_at, "       \
    "t.result_note, t.closed_at, t.updated_at "                                                    \
    "FROM rating_tickets t JOIN ratings r ON r.id = t.rating_id "                                  \
    "JOIN cases c ON c.id = t.case_id JOIN users u ON u.id = r.rater_id "

static json_t *ticket_row_json(db_stmt *s, const char *now_iso) {
    json_t *o = db_row_json(s);
    int overall = (int)json_integer_value(json_object_get(o, "overall"));
    json_object_set_new(o, "overall_label", json_string(ratings_level_label(overall)));
    json_object_del(o, "display_name");
    json_object_set_new(o, "rater_name", jsonx_str_or_null(db_column_text(s, 9)));
    char m[32];
    const char *phone = db_column_text(s, 10);
    json_object_del(o, "phone");
    json_object_set_new(o, "rater_phone",
                        phone ? json_string(notify_mask_phone(phone, m, sizeof(m))) : json_null());
    const char *due = db_column_text(s, 12), *status = db_column_text(s, 6);
    const char *rectified = db_column_text(s, 16);
    int overdue = strcmp(status, "closed") != 0 && !rectified && strcmp(due, now_iso) < 0;
    json_object_set_new(o, "overdue", json_boolean(overdue));
    json_object_set_new(o, "rectified_late", json_boolean(rectified && strcmp(rectified, due) > 0));
    return o;
}

static json_t *ticket_for_case(db *d, int64_t case_id, err *e) {
    char now[32];
    time_iso(now, sizeof(now), time_now());
    db_stmt *s =
        db_query(d, e, TICKET_SELECT "WHERE t.case_id = $1 ORDER BY t.id LIMIT 1", "i", case_id);
    if (!s) return NULL;
    int st = db_step(s);
    json_t *o = st == DB_ROW ? ticket_row_json(s, now) : json_null();
    db_reset(s);
    if (st == DB_ERROR) {
        json_decref(o);
        err_internal(e, "%s", db_errmsg(d));
        return NULL;
    }
    return o;
}

json_t *ratings_case_get(db *d, const ratings_actor *a, int64_t case_id, err *e) {
    case_row c;
    int rc = case_load(d, case_id, &c, e);
    if (rc < 0) return NULL;
    int own = rc == 0 && c.applicant_id == a->user_id;
    int staff = 0;
    if (rc == 0 && !own) {
        staff = may_see_department(d, a, c.department, e);
        if (staff < 0) return NULL;
    }
    if (rc == 1 || (!own && !staff)) {
        err_notfound(e, "没有这个办件");
        return NULL;
    }
    int found;
    json_t *rating = rating_json(d, case_id, own ? a->user_id : 0, e, &found);
    if (!rating) return NULL;
    json_t *ticket = staff ? ticket_for_case(d, case_id, e) : json_null();
    if (!ticket) {
        json_decref(rating);
        return NULL;
    }
    return json_pack("{s:I, s:s, s:s, s:b, s:o, s:o, s:o}", "case_id", (json_int_t)case_id,
                     "channel", c.channel, "status", c.status, "can_rate",
                     own && !found && case_finished(c.status), "dimensions",
                     ratings_dimensions(c.channel), "rating", rating, "ticket", ticket);
}

static int ticket_status_valid(const char *s) {
    return !strcmp(s, "open") || !strcmp(s, "called_back") || !strcmp(s, "rectifying") ||
           !strcmp(s, "closed");
}

json_t *ratings_ticket_list(db *d, const ratings_actor *a, const ratings_ticket_filter *f, err *e) {
    if (f->status && !ticket_status_valid(f->status)) {
        err_invalid(e, "status", "状态须为 open、called_back、rectifying 或 closed");
        return NULL;
    }
    const char *department = f->department;
    char mine[256] = "";
    if (!(a->role & (ROLE_SUPERVISOR | ROLE_ADMIN))) {
        if (!(a->role & (ROLE_STAFF | ROLE_APPROVER))) {
            err_forbidden(e, "无权查看差评工单");
            return NULL;
        }
        if (actor_department(d, a, mine, sizeof(mine), e) != 0) return NULL;
        if (mine[0]) {
            if (department && strcmp(department, mine) != 0) {
                err_forbidden(e, "只能查看本部门的差评工单");
                return NULL;
            }
            department = mine;
        }
    }
    int limit = f->limit < 1 || f->limit > 200 ? 50 : f->limit;
    int offset = f->offset < 0 ? 0 : f->offset;
    char now[32];
    time_iso(now, sizeof(now), time_now());
    /* overdue: -1 any; 1 past due, not rectified, not closed; 0 the rest. */
    db_stmt *s = db_query(
        d, e,
        TICKET_SELECT "WHERE t.status = COALESCE($1, t.status) AND t.department = COALESCE($2, "
                      "t.department) AND ($3 < 0 OR (CASE WHEN t.status <> 'closed' AND "
                      "t.rectified_at IS NULL AND t.rectify_due < $4 THEN 1 ELSE 0 END) = $3) "
                      "ORDER BY t.id DESC LIMIT $5 OFFSET $6",
        "ssisii", f->status, department, (int64_t)f->overdue, now, (int64_t)limit, (int64_t)offset);
    if (!s) return NULL;
    json_t *items = json_array();
    int st;
    while ((st = db_step(s)) == DB_ROW && json_array_size(items) < (size_t)limit)
        json_array_append_new(items, ticket_row_json(s, now));
    db_reset(s);
    if (st == DB_ERROR) {
        json_decref(items);
        err_internal(e, "%s", db_errmsg(d));
        return NULL;
    }
    int64_t total = 0;
    if (db_query_int(d, e, &total,
                     "SELECT COUNT(*) FROM rating_tickets t "
                     "WHERE t.status = COALESCE($1, t.status) AND t.department = COALESCE($2, "
                     "t.department) AND ($3 < 0 OR (CASE WHEN t.status <> 'closed' AND "
                     "t.rectified_at IS NULL AND t.rectify_due < $4 THEN 1 ELSE 0 END) = $3)",
                     "ssis", f->status, department, (int64_t)f->overdue, now) < 0) {
        json_decref(items);
        return NULL;
    }
    return json_pack("{s:o, s:I}", "items", items, "total", (json_int_t)total);
}

json_t *ratings_ticket_get(db *d, const ratings_actor *a, int64_t id, err *e) {
    char now[32];
    time_iso(now, sizeof(now), time_now());
    db_stmt *s = db_query(d, e, TICKET_SELECT "WHERE t.id = $1", "i", id);
    if (!s) return NULL;
    int st = db_step(s);
    json_t *o = NULL;
    char department[256] = "";
    if (st == DB_ROW) {
        o = ticket_row_json(s, now);
        snprintf(department, sizeof(department), "%s", db_column_text(s, 5));
    }
    db_reset(s);
    if (st == DB_ERROR) {
        err_internal(e, "%s", db_errmsg(d));
        return NULL;
    }
    int ok = o ? may_see_department(d, a, department, e) : 0;
    if (ok < 0) {
        json_decref(o);
        return NULL;
    }
    if (!ok) {
        json_decref(o);
        err_notfound(e, "没有这个工单");
        return NULL;
    }
    return o;
}

/* ---- ticket steps ---- */

enum ticket_action { T_CALLBACK, T_RECTIFY, T_REPORT, T_CLOSE };

typedef struct ticket_row {
    int64_t id, rating_id, case_id, rater_id;
    char status[16], department[256];
    int reported, overall;
} ticket_row;

static int ticket_load(db *d, int64_t id, ticket_row *t, err *e) {
    memset(t, 0, sizeof(*t));
    db_stmt *s = db_query(d, e,
                          "SELECT t.id, t.rating_id, t.case_id, r.rater_id, t.status, "
                          "t.department, t.result_reported_at, r.overall FROM rating_tickets t "
                          "JOIN ratings r ON r.id = t.rating_id WHERE t.id = $1",
                          "i", id);
    if (!s) return -1;
    int st = db_step(s), rc = 1;
    if (st == DB_ROW) {
        t->id = db_column_int64(s, 0);
        t->rating_id = db_column_int64(s, 1);
        t->case_id = db_column_int64(s, 2);
        t->rater_id = db_column_int64(s, 3);
        snprintf(t->status, sizeof(t->status), "%s", db_column_text(s, 4));
        snprintf(t->department, sizeof(t->department), "%s", db_column_text(s, 5));
        t->reported = db_column_text(s, 6) != NULL;
        t->overall = (int)db_column_int64(s, 7);
        rc = 0;
    } else if (st == DB_ERROR) {
        rc = err_internal(e, "%s", db_errmsg(d));
    }
    db_reset(s);
    return rc;
}

/* 409 unless the ticket is where action may happen. */
static int step_allowed(const ticket_row *t, enum ticket_action act, err *e) {
    const char *s = t->status;
    if (!strcmp(s, "closed")) return err_conflict(e, "status", "工单已关闭");
    switch (act) {
    case T_CALLBACK:
        if (strcmp(s, "open") != 0) return err_conflict(e, "status", "该工单已回访");
        return 0;
    case T_RECTIFY:
        if (!strcmp(s, "open")) return err_conflict(e, "status", "须先回访，再记录整改");
        if (strcmp(s, "called_back") != 0) return err_conflict(e, "status", "整改已记录");
        return 0;
    case T_REPORT:
        if (!strcmp(s, "open")) return err_conflict(e, "status", "须先回访和整改，再反馈结果");
        if (!strcmp(s, "called_back")) return err_conflict(e, "status", "须先记录整改，再反馈结果");
        if (t->reported) return err_conflict(e, "status", "整改结果已反馈");
        return 0;
    case T_CLOSE:
        if (strcmp(s, "rectifying") != 0 || !t->reported)
            return err_conflict(e, "status", "须先完成回访、整改并向评价人反馈结果，才能关闭");
        return 0;
    }
    return err_internal(e, "unknown step");
}

static const char *action_name(enum ticket_action act) {
    switch (act) {
    case T_CALLBACK:
        return "callback";
    case T_RECTIFY:
        return "rectify";
    case T_REPORT:
        return "report";
    case T_CLOSE:
        return "close";
    }
    return "?";
}

static int ticket_step(db *d, const ratings_actor *a, int64_t id, enum ticket_action act,
                       const char *note, err *e) {
    if (a->role & ROLE_ADMIN) return err_forbidden(e, "系统管理员不能处理差评工单");
    if (!(a->role & (ROLE_STAFF | ROLE_APPROVER | ROLE_SUPERVISOR)))
        return err_forbidden(e, "无权处理差评工单");
    long n = note ? text_chars(note) : 0;
    if (n < 0) return err_invalid(e, "note", "说明含有不允许的控制字符");
    if (act != T_CLOSE && n == 0)
        return err_invalid(e, "note",
                           act == T_CALLBACK  ? "请填写回访情况"
                           : act == T_RECTIFY ? "请填写整改措施"
                                              : "请填写向评价人反馈的整改结果");
    if (n > RATINGS_NOTE_MAX)
        return err_invalid(e, "note", "说明不能超过 %d 个字", RATINGS_NOTE_MAX);
    if (db_begin(d, e) != 0) return -1;
    ticket_row t;
    int rc = ticket_load(d, id, &t, e);
    if (rc == 0) {
        int ok = may_see_department(d, a, t.department, e);
        if (ok < 0) rc = -1;
        if (ok == 0) rc = 1;
    }
    if (rc == 1) rc = err_notfound(e, "没有这个工单");
    if (rc == 0) rc = step_allowed(&t, act, e);
    char now[32];
    time_iso(now, sizeof(now), time_now());
    const char *to = t.status;
    if (rc == 0) {
        const char *text = note && *note ? note : NULL;
        switch (act) {
        case T_CALLBACK:
            to = "called_back";
            rc = db_execf(d, e,
                          "UPDATE rating_tickets SET status = 'called_back', callback_at = $2, "
                          "callback_by = $3, callback_note = $4, updated_at = $2 WHERE id = $1",
                          "isis", id, now, a->user_id, text);
            break;
        case T_RECTIFY:
            to = "rectifying";
            rc = db_execf(d, e,
                          "UPDATE rating_tickets SET status = 'rectifying', rectified_at = $2, "
                          "rectified_by = $3, rectify_note = $4, updated_at = $2 WHERE id = $1",
                          "isis", id, now, a->user_id, text);
            break;
        case T_REPORT:
            rc = db_execf(d, e,
                          "UPDATE rating_tickets SET result_reported_at = $2, result_note = $3, "
                          "updated_at = $2 WHERE id = $1",
                          "iss", id, now, text);
            break;
        case T_CLOSE:
            to = "closed";
            rc = db_execf(d, e,
                          "UPDATE rating_tickets SET status = 'closed', closed_at = $2, "
                          "closed_by = $3, updated_at = $2 WHERE id = $1",
                          "isi", id, now, a->user_id);
            break;
        }
    }
    if (rc == 0) {
        audit_actor aa = audit_of(a);
        char oid[32], action[48];
        snprintf(oid, sizeof(oid), "%lld", (long long)id);
        snprintf(action, sizeof(action), "rating_ticket.%s", action_name(act));
        json_t *before = json_pack("{s:s}", "status", t.status);
        json_t *after = json_pack("{s:s, s:s?}", "status", to, "note", note && *note ? note : NULL);
        if (act == T_REPORT) json_object_set_new(after, "result_reported_at", json_string(now));
        rc = audit_record(d, &aa, action, "rating_ticket", oid, before, after, e);
        json_decref(before);
        json_decref(after);
    }
    if (rc == 0 && act == T_REPORT) {
        case_row c;
        int q = case_load(d, t.case_id, &c, e);
        if (q == 1) q = err_internal(e, "ticket %lld: case gone", (long long)id);
        if (q == 0) {
            char key[64], link[64];
            snprintf(key, sizeof(key), "ticket:%lld:result", (long long)id);
            snprintf(link, sizeof(link), "/cases/%lld", (long long)t.case_id);
            json_t *params = json_pack("{s:s, s:s, s:s}", "case_no", c.case_no, "item_name",
                                       c.item_name, "result", note);
            notify_msg m = {.user_id = t.rater_id,
                            .template_name = "rating_ticket_result",
                            .params = params,
                            .dedupe_key = key,
                            .link = link};
            q = notify_send(d, &m, NULL, e) < 0 ? -1 : 0;
            json_decref(params);
        }
        rc = q;
    }
    if (rc != 0 || db_commit(d, e) != 0) {
        db_rollback(d);
        return -1;
    }
    if (act == T_REPORT) notify_worker_wake();
    return 0;
}

int ratings_ticket_callback(db *d, const ratings_actor *a, int64_t id, const char *note, err *e) {
    return ticket_step(d, a, id, T_CALLBACK, note, e);
}
int ratings_ticket_rectify(db *d, const ratings_actor *a, int64_t id, const char *note, err *e) {
    return ticket_step(d, a, id, T_RECTIFY, note, e);
}
int ratings_ticket_report(db *d, const ratings_actor *a, int64_t id, const char *note, err *e) {
    return ticket_step(d, a, id, T_REPORT, note, e);
}
int ratings_ticket_close(db *d, const ratings_actor *a, int64_t id, const char *note, err *e) {
    return ticket_step(d, a, id, T_CLOSE, note, e);
}

/* ---- statistics ---- */

static json_t *avg_json(double sum, int64_t n) {
    if (n <= 0) return json_null();
    return json_real(round(sum / (double)n * 100.0) / 100.0);
}

static json_t *share_json(int64_t part, int64_t whole) {
    if (whole <= 0) return json_null();
    return json_real(round((double)part / (double)whole * 10000.0) / 10000.0);
}

/* The department's entry in items (by name), created on first sight. */
static json_t *dept_entry(json_t *by_name, const char *department) {
    json_t *o = json_object_get(by_name, department);
    if (o) return o;
    o = json_pack("{s:s, s:i, s:n, s:{s:i, s:i, s:i, s:i, s:i}, s:{}, s:i, s:i, s:i, s:n, s:i, "
                  "s:n, s:i}",
                  "department", department, "count", 0, "average", "levels", "1", 0, "2", 0, "3", 0,
                  "4", 0, "5", 0, "dimensions", "bad_count", 0, "tickets", 0, "called_back", 0,
                  "callback_rate", "closed", 0, "closure_rate", "overdue", 0);
    json_object_set_new(by_name, department, o);
    return o;
}

json_t *ratings_department_summary(db *d, err *e) {
    json_t *by_name = json_object();
    int st = DB_DONE;
    /* counts and levels */
    db_stmt *s = db_query(d, e,
                          "SELECT department, overall, COUNT(*) FROM ratings "
                          "GROUP BY department, overall ORDER BY department, overall",
                          "");
    if (!s) goto fail;
    while ((st = db_step(s)) == DB_ROW) {
        json_t *o = dept_entry(by_name, db_column_text(s, 0));
        int level = (int)db_column_int64(s, 1);
        int64_t n = db_column_int64(s, 2);
        char key[4];
        snprintf(key, sizeof(key), "%d", level);
        json_object_set_new(json_object_get(o, "levels"), key, json_integer(n));
        json_object_set_new(o, "count",
                            json_integer(json_integer_value(json_object_get(o, "count")) + n));
        /* running sum of overall in "average" until the end */
        json_t *sum = json_object_get(o, "_sum");
        double acc = (sum ? json_real_value(sum) : 0) + (double)level * (double)n;
        json_object_set_new(o, "_sum", json_real(acc));
        if (level <= 2)
            json_object_set_new(
                o, "bad_count",
                json_integer(json_integer_value(json_object_get(o, "bad_count")) + n));
    }
    db_reset(s);
    if (st == DB_ERROR) goto dberr;
    /* dimensions */
    s = db_query(d, e,
                 "SELECT r.department, sc.dimension, SUM(sc.score), COUNT(*) FROM rating_scores sc "
                 "JOIN ratings r ON r.id = sc.rating_id GROUP BY r.department, sc.dimension "
                 "ORDER BY r.department, sc.dimension",
                 "");
    if (!s) goto fail;
    while ((st = db_step(s)) == DB_ROW) {
        json_t *o = dept_entry(by_name, db_column_text(s, 0));
        json_object_set_new(json_object_get(o, "dimensions"), db_column_text(s, 1),
                            avg_json((double)db_column_int64(s, 2), db_column_int64(s, 3)));
    }
    db_reset(s);
    if (st == DB_ERROR) goto dberr;
    /* tickets */
    char now[32];
    time_iso(now, sizeof(now), time_now());
    s = db_query(d, e,
                 "SELECT department, COUNT(*), "
                 "SUM(CASE WHEN callback_at IS NOT NULL THEN 1 ELSE 0 END), "
                 "SUM(CASE WHEN status = 'closed' THEN 1 ELSE 0 END), "
                 "SUM(CASE WHEN status <> 'closed' AND rectified_at IS NULL AND rectify_due < $1 "
                 "THEN 1 ELSE 0 END) FROM rating_tickets GROUP BY department",
                 "s", now);
    if (!s) goto fail;
    while ((st = db_step(s)) == DB_ROW) {
        json_t *o = dept_entry(by_name, db_column_text(s, 0));
        int64_t n = db_column_int64(s, 1), cb = db_column_int64(s, 2),
                closed = db_column_int64(s, 3);
        json_object_set_new(o, "tickets", json_integer(n));
        json_object_set_new(o, "called_back", json_integer(cb));
        json_object_set_new(o, "callback_rate", share_json(cb, n));
        json_object_set_new(o, "closed", json_integer(closed));
        json_object_set_new(o, "closure_rate", share_json(closed, n));
        json_object_set_new(o, "overdue", json_integer(db_column_int64(s, 4)));
    }
    db_reset(s);
    if (st == DB_ERROR) goto dberr;

    json_t *items = json_array();
    const char *k;
    json_t *o;
    json_object_foreach(by_name, k, o) {
        json_t *sum = json_object_get(o, "_sum");
        json_object_set_new(o, "average",
                            avg_json(sum ? json_real_value(sum) : 0,
                                     json_integer_value(json_object_get(o, "count"))));
        json_object_del(o, "_sum");
        json_array_append(items, o);
    }
    json_decref(by_name);
    ratings_totals_out t;
    if (ratings_totals(d, &t, e) != 0) {
        json_decref(items);
        return NULL;
    }
    json_t *labels = json_object();
    json_object_set_new(labels, "overall", json_string("整体满意度"));
    for (const dim_def *dd = online_dims; dd->key; dd++)
        json_object_set_new(labels, dd->key, json_string(dd->label));
    for (const dim_def *dd = offline_dims; dd->key; dd++)
        json_object_set_new(labels, dd->key, json_string(dd->label));
    json_t *totals = json_pack(
        "{s:I, s:o, s:I, s:I, s:o, s:o, s:I}", "count", (json_int_t)t.count, "average",
        avg_json(t.average * (double)t.count, t.count), "bad_count", (json_int_t)t.bad_count,
        "tickets", (json_int_t)t.tickets, "callback_rate",
        t.tickets ? json_real(round(t.called_back_share * 10000) / 10000) : json_null(),
        "closure_rate", t.tickets ? json_real(round(t.closed_share * 10000) / 10000) : json_null(),
        "overdue", (json_int_t)t.overdue);
    return json_pack("{s:o, s:o, s:o, s:i}", "items", items, "totals", totals, "labels", labels,
                     "callback_goal", 1);
dberr:
    err_internal(e, "%s", db_errmsg(d));
fail:
    json_decref(by_name);
    return NULL;
}

int ratings_totals(db *d, ratings_totals_out *out, err *e) {
    memset(out, 0, sizeof(*out));
    db_stmt *s = db_query(d, e,
                          "SELECT COUNT(*), COALESCE(SUM(overall), 0), "
                          "COALESCE(SUM(CASE WHEN overall <= 2 THEN 1 ELSE 0 END), 0) "
                          "FROM ratings",
                          "");
    if (!s) return -1;
    int st = db_step(s);
    if (st == DB_ROW) {
        out->count = db_column_int64(s, 0);
        int64_t sum = db_column_int64(s, 1);
        out->average = out->count ? (double)sum / (double)out->count : 0;
        out->bad_count = db_column_int64(s, 2);
    }
    db_reset(s);
    if (st == DB_ERROR) return err_internal(e, "%s", db_errmsg(d));
    char now[32];
    time_iso(now, sizeof(now), time_now());
    s = db_query(d, e,
                 "SELECT COUNT(*), "
                 "COALESCE(SUM(CASE WHEN callback_at IS NOT NULL THEN 1 ELSE 0 END), 0), "
                 "COALESCE(SUM(CASE WHEN status = 'closed' THEN 1 ELSE 0 END), 0), "
                 "COALESCE(SUM(CASE WHEN status <> 'closed' AND rectified_at IS NULL "
                 "AND rectify_due < $1 THEN 1 ELSE 0 END), 0) FROM rating_tickets",
                 "s", now);
    if (!s) return -1;
    st = db_step(s);
    if (st == DB_ROW) {
        out->tickets = db_column_int64(s, 0);
        int64_t cb = db_column_int64(s, 1), closed = db_column_int64(s, 2);
        out->called_back_share = out->tickets ? (double)cb / (double)out->tickets : 1.0;
        out->closed_share = out->tickets ? (double)closed / (double)out->tickets : 1.0;
        out->overdue = db_column_int64(s, 3);
    }
    db_reset(s);
    if (st == DB_ERROR) return err_internal(e, "%s", db_errmsg(d));
    return 0;
}
