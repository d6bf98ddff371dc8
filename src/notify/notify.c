/* notify: writing messages (inside the caller's transaction), the in-app
 * inbox and the outbox listing (see notify.h for the design).
 *
 * notify_send() must never open or close a transaction: its rows belong to the
 * caller's event and share its fate. It checks d->in_tx and refuses to run
 * without one, so a caller that forgets gets a loud 500 in its tests rather
 * than messages that outlive a rolled-back event. It never logs a phone.
 * Marking read is one conditional UPDATE of the caller's own rows, so it runs
 * in DB_TX_READ_COMMITTED (no cluster-wide write lock on PostgreSQL). */
#include "notify/notify.h"
#include "base/jsonx.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/xmalloc.h"
#include "notify/internal.h"
#include "workcal/workcal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *notify_mask_phone(const char *phone, char *out, size_t n) {
    size_t len = phone ? strlen(phone) : 0;
    if (len < 8)
        snprintf(out, n, "****");
    else
        snprintf(out, n, "%.3s****%s", phone, phone + len - 4);
    return out;
}

static int phone_valid(const char *p) {
    size_t n = strlen(p);
    if (n < 5 || n > 20) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)p[i]) && !(i == 0 && p[i] == '+') && p[i] != '-') return 0;
    return 1;
}

int notify_phone_normalize(const char *in, char *out, size_t n, err *e) {
    char buf[32];
    size_t k = 0;
    int plus = 0;
    if (!in) return err_invalid(e, "phone", "缺少手机号码");
    for (const char *p = in; *p; p++) {
        if (*p == ' ' || *p == '-') continue;
        if (*p == '+' && k == 0 && !plus) {
            plus = 1;
            continue;
        }
        if (!isdigit((unsigned char)*p) || k + 1 >= sizeof(buf))
            return err_invalid(e, "phone", "手机号码格式不正确");
        buf[k++] = *p;
    }
    buf[k] = '\0';
    const char *digits = buf;
    /* A mainland mobile number is 1 and ten digits; its country code is dropped. */
    if (k == 13 && !strncmp(buf, "86", 2) && buf[2] == '1') {
        digits = buf + 2;
        plus = 0;
    } else if (!plus && k == 15 && !strncmp(buf, "0086", 4) && buf[4] == '1') {
        digits = buf + 4;
    }
    size_t len = strlen(digits);
    if (len < 5 || len > 20) return err_invalid(e, "phone", "手机号码须为 5–20 位数字");
    snprintf(out, n, "%s%s", plus ? "+" : "", digits);
    return 0;
}

static int key_valid(const char *k) {
    size_t n = k ? strlen(k) : 0;
    if (n < 1 || n > NOTIFY_DEDUPE_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)k[i] <= 0x20 || k[i] == 0x7f) return 0;
    return 1;
}

static int link_valid(const char *l) {
    size_t n = strlen(l);
    if (n < 1 || n > NOTIFY_LINK_MAX || l[0] != '/' || l[1] == '/') return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)l[i] <= 0x20 || l[i] == 0x7f) return 0;
    return 1;
}

static const char *sms_sign(void) {
    const char *s = getenv("ISLE_SMS_SIGN");
    return s && *s && strlen(s) <= 64 ? s : NOTIFY_DEFAULT_SIGN;
}

/* The earlier message with this key: 1 (and *id its notification id, 0 if none) when
 * the key is taken, 0 when free, -1 on error. */
static int dedupe_taken(db *d, const char *key, int64_t *id, err *e) {
    *id = 0;
    int rc = db_query_int(d, e, id, "SELECT id FROM notifications WHERE dedupe_key = $1", "s", key);
    if (rc < 0) return -1;
    if (rc == 0) return 1;
    *id = 0;
    int64_t one = 0;
    rc = db_query_int(d, e, &one, "SELECT 1 FROM outbox WHERE dedupe_key = $1", "s", key);
    if (rc < 0) return -1;
    return rc == 0;
}

int notify_send(db *d, const notify_msg *m, int64_t *id_out, err *e) {
    if (id_out) *id_out = 0;
    if (!d->in_tx) return err_internal(e, "notify_send must run inside the caller's transaction");
    if (m->user_id < 0 || (m->user_id == 0 && !m->phone))
        return err_invalid(e, "user_id", "须指定接收人账号或手机号码");
    if (m->phone && !phone_valid(m->phone)) return err_invalid(e, "phone", "手机号码格式不正确");
    if (!key_valid(m->dedupe_key))
        return err_invalid(e, "dedupe_key", "去重键须为 1–%d 个可见字符", NOTIFY_DEDUPE_MAX);
    if (m->link && !link_valid(m->link))
        return err_invalid(e, "link", "链接须为以 / 开头的站内路径");
    if (m->params && !json_is_object(m->params))
        return err_invalid(e, "params", "模板参数须为 JSON 对象");

    notify_rendered msg;
    if (notify_render(m->template_name, m->params, &msg, e) != 0) return -1;

    int rc = 0;
    char phone[32] = "";
    int disabled = 0;
    if (m->phone && notify_phone_normalize(m->phone, phone, sizeof(phone), e) != 0) {
        notify_rendered_free(&msg);
        return -1;
    }
    if (m->user_id > 0) {
        db_stmt *s =
            db_query(d, e, "SELECT phone, disabled FROM users WHERE id = $1", "i", m->user_id);
        rc = s ? 0 : -1;
        if (s) {
            int st = db_step(s);
            if (st == DB_ROW) {
                const char *p = db_column_text(s, 0);
                if (!m->phone && p && phone_valid(p) &&
                    notify_phone_normalize(p, phone, sizeof(phone), NULL) != 0)
                    phone[0] = '\0';
                disabled = db_column_int64(s, 1) != 0;
            } else if (st == DB_DONE) {
                rc = err_set(e, 404, "not_found", "user_id", "没有这个接收人");
            } else {
                rc = err_internal(e, "%s", db_errmsg(d));
            }
            db_reset(s);
        }
    }
    int64_t earlier = 0;
    if (rc == 0) {
        int taken = dedupe_taken(d, m->dedupe_key, &earlier, e);
        if (taken < 0) rc = -1;
        if (taken == 1) {
            notify_rendered_free(&msg);
            if (id_out) *id_out = earlier;
            return 1;
        }
    }
    char now[32];
    time_iso(now, sizeof(now), time_now());
    int64_t nid = 0;
    if (rc == 0 && m->user_id > 0) {
        int q = db_query_int(d, e, &nid,
                             "INSERT INTO notifications (user_id, template, title, body, link, "
                             "dedupe_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) "
                             "RETURNING id",
                             "issssss", m->user_id, m->template_name, msg.title, msg.body, m->link,
                             m->dedupe_key, now);
        if (q > 0) q = err_internal(e, "insert returned no id");
        if (q != 0) rc = -1;
    }
    int sms = rc == 0 && msg.sms && !m->no_sms && phone[0] && !disabled;
    int opted_out = 0;
    if (sms && !msg.essential) {
        opted_out = notify_opted_out(d, m->user_id, phone, e);
        if (opted_out < 0) rc = -1;
        if (opted_out != 0) sms = 0;
    }
    int64_t oid = 0;
    if (sms) {
        size_t blen = strlen(sms_sign()) + strlen(msg.body) + 1;
        char *text = xmalloc(blen);
        snprintf(text, blen, "%s%s", sms_sign(), msg.body);
        static const char sql[] =
            "INSERT INTO outbox (notification_id, channel, template, phone, body, status, "
            "attempts, dedupe_key, created_at, essential, run_after) "
            "VALUES ($1, 'sms', $2, $3, $4, 'pending', 0, $5, $6, $7, $6) RETURNING id";
        int64_t essential = msg.essential ? 1 : 0;
        int q = nid ? db_query_int(d, e, &oid, sql, "isssssi", nid, m->template_name, phone, text,
                                   m->dedupe_key, now, essential)
                    : db_query_int(d, e, &oid, sql, "nsssssi", m->template_name, phone, text,
                                   m->dedupe_key, now, essential);
        free(text);
        if (q > 0) q = err_internal(e, "insert returned no id");
        if (q != 0) rc = -1;
    }
    if (rc == 0) {
        char masked[32];
        log_debug("notify: %s to user %lld%s%s%s", m->template_name, (long long)m->user_id,
                  sms ? ", sms to " : "", sms ? notify_mask_phone(phone, masked, 32) : "",
                  opted_out > 0 ? " (no sms: opted out)" : "");
        if (id_out) *id_out = nid;
    }
    notify_rendered_free(&msg);
    return rc;
}

/* ---- helpers for the applications core ---- */

static const struct {
    const char *status, *template_name;
} status_templates[] = {
    {"submitted", "case_submitted"},
    {"accepted", "case_accepted"},
    {"returned_for_correction", "case_returned"},
    {"rejected_at_intake", "case_rejected"},
    {"in_review", "case_in_review"},
    {"approved", "case_approved"},
    {"denied", "case_denied"},
    {"delivered", "case_delivered"},
    {"withdrawn", "case_withdrawn"},
    {"suspended", "case_suspended"},
    {"resumed", "case_resumed"},
};

/* deadline_at (UTC ISO) as Shanghai local "YYYY-MM-DD HH:MM", or a phrase. */
static void deadline_text(const char *iso, char *out, size_t n) {
    int64_t t;
    if (iso && time_parse_iso(iso, &t) == 0)
        workcal_local_format(t, out, n);
    else
        snprintf(out, n, "以办件详情为准");
}

typedef struct case_info {
    int64_t applicant_id, assignee_id, version;
    char case_no[64];
    char item_name[512];
    char department[256];
    char deadline_at[40];
} case_info;

static int case_read(db *d, int64_t case_id, case_info *c, err *e) {
    memset(c, 0, sizeof(*c));
    db_stmt *s = db_query(d, e,
                          "SELECT applicant_id, case_no, item_name, version, deadline_at, "
                          "assignee_id, department FROM cases WHERE id = $1",
                          "i", case_id);
    if (!s) return -1;
    int rc = 0, st = db_step(s);
    if (st == DB_ROW) {
        c->applicant_id = db_column_int64(s, 0);
        snprintf(c->case_no, sizeof(c->case_no), "%s", db_column_text(s, 1));
        snprintf(c->item_name, sizeof(c->item_name), "%s", db_column_text(s, 2));
        c->version = db_column_int64(s, 3);
        const char *dl = db_column_text(s, 4);
        snprintf(c->deadline_at, sizeof(c->deadline_at), "%s", dl ? dl : "");
        c->assignee_id = db_column_int64(s, 5);
        const char *dep = db_column_text(s, 6);
        snprintf(c->department, sizeof(c->department), "%s", dep ? dep : "");
    } else if (st == DB_DONE) {
        rc = err_notfound(e, "没有这个办件");
    } else {
        rc = err_internal(e, "%s", db_errmsg(d));
    }
    db_reset(s);
    return rc;
}

int notify_case_status(db *d, int64_t case_id, const char *new_status, const char *reason, err *e) {
    if (!new_status) return err_invalid(e, "status", "缺少办件状态");
    if (strcmp(new_status, "draft") == 0) return 0;
    const char *tname = NULL;
    for (size_t i = 0; i < sizeof(status_templates) / sizeof(status_templates[0]); i++)
        if (strcmp(status_templates[i].status, new_status) == 0)
            tname = status_templates[i].template_name;
    if (!tname) return err_invalid(e, "status", "未知的办件状态");
    case_info c;
    if (case_read(d, case_id, &c, e) != 0) return -1;
    /* A resumption arrives as the status the case went back to: the timeline's last
     * event (written before the hook) tells it came from 'suspended'. */
    if (strcmp(new_status, "suspended") != 0 && strcmp(new_status, "withdrawn") != 0 &&
        strcmp(new_status, "resumed") != 0) {
        db_stmt *s = db_query(d, e,
                              "SELECT from_status, to_status FROM case_events WHERE case_id = $1 "
                              "ORDER BY id DESC LIMIT 1",
                              "i", case_id);
        if (!s) return -1;
        int st = db_step(s);
        if (st == DB_ROW && db_column_text(s, 0) && db_column_text(s, 1) &&
            !strcmp(db_column_text(s, 0), "suspended") &&
            !strcmp(db_column_text(s, 1), new_status)) {
            new_status = "resumed";
            tname = "case_resumed";
        }
        db_reset(s);
        if (st == DB_ERROR) return err_internal(e, "%s", db_errmsg(d));
    }
    char deadline[40], key[NOTIFY_DEDUPE_MAX + 1], link[64];
    deadline_text(c.deadline_at[0] ? c.deadline_at : NULL, deadline, sizeof(deadline));
    snprintf(key, sizeof(key), "case:%lld:%s:v%lld", (long long)case_id, new_status,
             (long long)c.version);
    snprintf(link, sizeof(link), "/cases/%lld", (long long)case_id);
    json_t *params =
        json_pack("{s:s, s:s, s:s, s:s}", "case_no", c.case_no, "item_name", c.item_name, "reason",
                  reason && *reason ? reason : "未说明", "deadline", deadline);
    notify_msg m = {.user_id = c.applicant_id,
                    .template_name = tname,
                    .params = params,
                    .dedupe_key = key,
                    .link = link};
    int rc = notify_send(d, &m, NULL, e);
    json_decref(params);
    return rc < 0 ? -1 : 0;
}

int notify_department_staff(db *d, const char *department, const char *template_name,
                            json_t *params, const char *dedupe_prefix, const char *link,
                            int *sent_out, err *e) {
    if (sent_out) *sent_out = 0;
    enum { MAX_RECIPIENTS = 200 };
    int64_t ids[MAX_RECIPIENTS];
    size_t n = 0;
    for (int pass = 0; pass < 2 && n == 0; pass++) {
        db_stmt *s = pass == 0
                         ? db_query(d, e,
                                    "SELECT id FROM users WHERE role IN ('staff', 'approver') "
                                    "AND disabled = 0 AND department = $1 ORDER BY id LIMIT $2",
                                    "si", department ? department : "", (int64_t)MAX_RECIPIENTS)
                         : db_query(d, e,
                                    "SELECT id FROM users WHERE role = 'staff' AND disabled = 0 "
                                    "ORDER BY id LIMIT $1",
                                    "i", (int64_t)MAX_RECIPIENTS);
        if (!s) return -1;
        int st;
        while ((st = db_step(s)) == DB_ROW && n < MAX_RECIPIENTS)
            ids[n++] = db_column_int64(s, 0);
        db_reset(s);
        if (st == DB_ERROR) return err_internal(e, "%s", db_errmsg(d));
    }
    int sent = 0;
    for (size_t i = 0; i < n; i++) {
        char key[NOTIFY_DEDUPE_MAX + 1];
        int kl = snprintf(key, sizeof(key), "%s:u%lld", dedupe_prefix, (long long)ids[i]);
        if (kl < 0 || (size_t)kl >= sizeof(key)) return err_invalid(e, "dedupe_key", "去重键过长");
        notify_msg m = {.user_id = ids[i],
                        .template_name = template_name,
                        .params = params,
                        .dedupe_key = key,
                        .link = link};
        int rc = notify_send(d, &m, NULL, e);
        if (rc < 0) return -1;
        if (rc == 0) sent++;
    }
    if (sent_out) *sent_out = sent;
    return 0;
}

int notify_case_overdue(db *d, int64_t case_id, int *sent_out, err *e) {
    if (sent_out) *sent_out = 0;
    case_info c;
    if (case_read(d, case_id, &c, e) != 0) return -1;
    char deadline[40], key[NOTIFY_DEDUPE_MAX + 1], link[64];
    deadline_text(c.deadline_at[0] ? c.deadline_at : NULL, deadline, sizeof(deadline));
    snprintf(key, sizeof(key), "case:%lld:overdue:%s", (long long)case_id,
             c.deadline_at[0] ? c.deadline_at : "none");
    snprintf(link, sizeof(link), "/cases/%lld", (long long)case_id);
    json_t *params = json_pack("{s:s, s:s, s:s}", "case_no", c.case_no, "item_name", c.item_name,
                               "deadline", deadline);
    int rc;
    if (c.assignee_id > 0) {
        notify_msg m = {.user_id = c.assignee_id,
                        .template_name = "case_overdue",
                        .params = params,
                        .dedupe_key = key,
                        .link = link};
        rc = notify_send(d, &m, NULL, e);
        if (rc == 0 && sent_out) *sent_out = 1;
        rc = rc < 0 ? -1 : 0;
    } else {
        rc = notify_department_staff(d, c.department, "case_overdue", params, key, link, sent_out,
                                     e);
    }
    json_decref(params);
    return rc;
}

/* ---- the inbox ---- */

#define NOTE_COLS "id, template, title, body, link, created_at, read_at"

json_t *notify_inbox_list(db *d, int64_t user_id, int unread_only, int limit, int offset, err *e) {
    if (limit < 1 || limit > 200) limit = 50;
    if (offset < 0) offset = 0;
    int64_t unread_flag = unread_only ? 1 : 0;
    db_stmt *s = db_query(d, e,
                          "SELECT " NOTE_COLS " FROM notifications WHERE user_id = $1 "
                          "AND ($2 = 0 OR read_at IS NULL) ORDER BY id DESC LIMIT $3 OFFSET $4",
                          "iiii", user_id, unread_flag, (int64_t)limit, (int64_t)offset);
    if (!s) return NULL;
    json_t *items = db_rows_json(s, (size_t)limit, e);
    if (!items) return NULL;
    int64_t total = 0, unread = 0;
    if (db_query_int(d, e, &total,
                     "SELECT COUNT(*) FROM notifications WHERE user_id = $1 "
                     "AND ($2 = 0 OR read_at IS NULL)",
                     "ii", user_id, unread_flag) < 0 ||
        notify_inbox_unread(d, user_id, &unread, e) != 0) {
        json_decref(items);
        return NULL;
    }
    return json_pack("{s:o, s:I, s:I}", "items", items, "total", (json_int_t)total, "unread",
                     (json_int_t)unread);
}

int notify_inbox_unread(db *d, int64_t user_id, int64_t *count_out, err *e) {
    *count_out = 0;
    return db_query_int(d, e, count_out,
                        "SELECT COUNT(*) FROM notifications WHERE user_id = $1 "
                        "AND read_at IS NULL",
                        "i", user_id) < 0
               ? -1
               : 0;
}

int notify_inbox_mark_read(db *d, int64_t user_id, int64_t id, json_t **out, err *e) {
    if (out) *out = NULL;
    char now[32];
    time_iso(now, sizeof(now), time_now());
    if (db_begin_mode(d, DB_TX_READ_COMMITTED, e) != 0) return -1;
    int rc = db_execf(d, e,
                      "UPDATE notifications SET read_at = $3 WHERE id = $1 AND user_id = $2 "
                      "AND read_at IS NULL",
                      "iis", id, user_id, now);
    json_t *row = NULL;
    if (rc == 0) {
        db_stmt *s = db_query(d, e,
                              "SELECT " NOTE_COLS " FROM notifications WHERE id = $1 "
                              "AND user_id = $2",
                              "ii", id, user_id);
        rc = s ? 0 : -1;
        if (s) {
            int st = db_step(s);
            if (st == DB_ROW)
                row = db_row_json(s);
            else if (st == DB_DONE)
                rc = err_notfound(e, "没有这条通知");
            else
                rc = err_internal(e, "%s", db_errmsg(d));
            db_reset(s);
        }
    }
    if (rc != 0 || db_commit(d, e) != 0) {
        db_rollback(d);
        json_decref(row);
        return -1;
    }
    if (out)
        *out = row;
    else
        json_decref(row);
    return 0;
}

int notify_inbox_mark_all_read(db *d, int64_t user_id, int64_t *count_out, err *e) {
    if (count_out) *count_out = 0;
    char now[32];
    time_iso(now, sizeof(now), time_now());
    if (db_begin_mode(d, DB_TX_READ_COMMITTED, e) != 0) return -1;
    int rc = db_execf(d, e,
                      "UPDATE notifications SET read_at = $2 WHERE user_id = $1 "
                      "AND read_at IS NULL",
                      "is", user_id, now);
    int64_t n = rc == 0 ? db_changes(d) : 0;
    if (rc != 0 || db_commit(d, e) != 0) {
        db_rollback(d);
        return -1;
    }
    if (count_out) *count_out = n;
    return 0;
}

/* ---- the outbox ---- */

json_t *notify_outbox_list(db *d, const char *status, int limit, int offset, err *e) {
    if (status && strcmp(status, "pending") != 0 && strcmp(status, "sent") != 0 &&
        strcmp(status, "failed") != 0 && strcmp(status, "suppressed") != 0) {
        err_invalid(e, "status", "状态须为 pending、sent、failed 或 suppressed");
        return NULL;
    }
    if (limit < 1 || limit > 500) limit = 50;
    if (offset < 0) offset = 0;
    db_stmt *s = db_query(d, e,
                          "SELECT id, notification_id, channel, template, phone, body, status, "
                          "essential, attempts, last_error, dedupe_key, created_at, run_after, "
                          "sent_at, provider_id, receipt_status, receipt_at, receipt_error "
                          "FROM outbox WHERE status = COALESCE($1, status) "
                          "ORDER BY id DESC LIMIT $2 OFFSET $3",
                          "sii", status, (int64_t)limit, (int64_t)offset);
    if (!s) return NULL;
    json_t *items = db_rows_json(s, (size_t)limit, e);
    if (!items) return NULL;
    size_t i;
    json_t *row;
    json_array_foreach(items, i, row) {
        char m[32];
        const char *p = json_string_value(json_object_get(row, "phone"));
        json_object_set_new(row, "phone", json_string(notify_mask_phone(p, m, sizeof(m))));
        json_object_set_new(row, "essential",
                            json_boolean(json_integer_value(json_object_get(row, "essential"))));
    }
    json_t *counts =
        json_pack("{s:i, s:i, s:i, s:i}", "pending", 0, "sent", 0, "failed", 0, "suppressed", 0);
    int64_t total = 0;
    db_stmt *c = db_query(d, e, "SELECT status, COUNT(*) FROM outbox GROUP BY status", "");
    int st = DB_ERROR;
    if (c) {
        while ((st = db_step(c)) == DB_ROW) {
            json_object_set_new(counts, db_column_text(c, 0), json_integer(db_column_int64(c, 1)));
            if (!status || strcmp(status, db_column_text(c, 0)) == 0)
                total += db_column_int64(c, 1);
        }
        db_reset(c);
        if (st == DB_ERROR) err_internal(e, "%s", db_errmsg(d));
    }
    if (st == DB_ERROR) {
        json_decref(items);
        json_decref(counts);
        return NULL;
    }
    return json_pack("{s:o, s:I, s:o}", "items", items, "total", (json_int_t)total, "counts",
                     counts);
}
