/* receipts: delivery receipts from the SMS gateway (POST /api/v1/sms/receipts).
 *
 * A gateway reports, per message, delivered or failed, naming the message by
 * our outbox id (which the http transport sends as "id") and/or its own id
 * (provider_id, which it answered when it took the message). The receipt is
 * stored on the outbox row; the first one wins and a repeat is answered the
 * same way again, so the gateway may retry a callback as often as it likes.
 * A receipt may arrive before the sender recorded the hand-over (it is stored
 * all the same when it names the outbox id). A list of receipts is applied in
 * one transaction: all of them or, on a database error, none. Nothing here
 * reads or logs a phone number. */
#include "notify/notify.h"
#include "base/hmac.h"
#include "base/jsonx.h"
#include "base/timeutil.h"
#include "base/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int notify_callback_verify(const char *timestamp, const char *signature, const void *body,
                           size_t len, err *e) {
    return hmac_webhook_check(getenv("ISLE_SMS_SECRET"), timestamp, signature, body, len,
                              time_now(), HMAC_MAX_SKEW, e);
}

typedef struct receipt {
    int64_t id;              /* 0 when only provider_id was given */
    const char *provider_id; /* NULL when not given; borrowed from the body */
    const char *status;
    const char *error;
} receipt;

/* Check one receipt object; prefix names it in errors ("" or "receipts[3]."). */
static int receipt_parse(json_t *o, const char *prefix, receipt *r, err *e) {
    static const jsonx_field spec[] = {{"id", JX_INT, 0, 0},
                                       {"provider_id", JX_STRING, 0, 128},
                                       {"status", JX_STRING, 1, 16},
                                       {"error", JX_STRING, 0, 200},
                                       {NULL, JX_ANY, 0, 0}};
    char field[64];
    if (!json_is_object(o)) {
        snprintf(field, sizeof(field), "%.*s", (int)(prefix[0] ? strlen(prefix) - 1 : 0), prefix);
        return err_invalid(e, field, "回执须为 JSON 对象");
    }
    err ce = {0};
    if (jsonx_check(o, spec, &ce) != 0) {
        if (e) {
            char full[sizeof(ce.field) + 32];
            snprintf(full, sizeof(full), "%.31s%s", prefix, ce.field);
            *e = ce;
            snprintf(e->field, sizeof(e->field), "%.63s", full);
        }
        return -1;
    }
    memset(r, 0, sizeof(*r));
    json_t *id = json_object_get(o, "id");
    r->id = json_is_integer(id) ? json_integer_value(id) : 0;
    r->provider_id = jsonx_str(o, "provider_id");
    r->status = jsonx_str(o, "status");
    r->error = jsonx_str(o, "error");
    if (json_is_integer(id) && r->id <= 0) {
        snprintf(field, sizeof(field), "%sid", prefix);
        return err_invalid(e, field, "短信编号须为正整数");
    }
    if (r->provider_id && !*r->provider_id) r->provider_id = NULL;
    if (!r->id && !r->provider_id) {
        snprintf(field, sizeof(field), "%sid", prefix);
        return err_invalid(e, field, "须给出短信编号 id 或网关编号 provider_id");
    }
    if (strcmp(r->status, "delivered") != 0 && strcmp(r->status, "failed") != 0) {
        snprintf(field, sizeof(field), "%sstatus", prefix);
        return err_invalid(e, field, "回执状态须为 delivered 或 failed");
    }
    return 0;
}

enum outcome { R_RECORDED, R_DUPLICATE, R_IGNORED, R_NOT_FOUND };
static const char *outcome_names[] = {"recorded", "duplicate", "ignored", "not_found"};

/* Find the row: by id (and then provider_id must agree when both are known), or by
 * provider_id alone (exactly one row). *id_out 0 when none. */
static int receipt_row(db *d, const receipt *r, int64_t *id_out, err *e) {
    *id_out = 0;
    if (r->id) {
        db_stmt *s = db_query(d, e, "SELECT provider_id FROM outbox WHERE id = $1", "i", r->id);
        if (!s) return -1;
        int st = db_step(s);
        if (st == DB_ROW) {
            const char *pid = db_column_text(s, 0);
            if (!r->provider_id || !pid || strcmp(pid, r->provider_id) == 0) *id_out = r->id;
        }
        db_reset(s);
        return st == DB_ERROR ? err_internal(e, "%s", db_errmsg(d)) : 0;
    }
    db_stmt *s =
        db_query(d, e, "SELECT id FROM outbox WHERE provider_id = $1 LIMIT 2", "s", r->provider_id);
    if (!s) return -1;
    int st, n = 0;
    int64_t id = 0;
    while ((st = db_step(s)) == DB_ROW) {
        id = db_column_int64(s, 0);
        n++;
    }
    db_reset(s);
    if (st == DB_ERROR) return err_internal(e, "%s", db_errmsg(d));
    if (n == 1) *id_out = id; /* an id two rows share names neither */
    return 0;
}

static int receipt_apply(db *d, const receipt *r, const char *now, int64_t *id_out,
                         enum outcome *out, err *e) {
    int64_t id = 0;
    if (receipt_row(d, r, &id, e) != 0) return -1;
    *id_out = id;
    if (!id) {
        *out = R_NOT_FOUND;
        return 0;
    }
    if (db_execf(d, e,
                 "UPDATE outbox SET receipt_status = $2, receipt_at = $3, receipt_error = $4 "
                 "WHERE id = $1 AND receipt_status IS NULL",
                 "isss", id, r->status, now,
                 strcmp(r->status, "failed") == 0 ? r->error : NULL) != 0)
        return -1;
    if (db_changes(d) > 0) {
        *out = R_RECORDED;
        return 0;
    }
    db_stmt *s = db_query(d, e, "SELECT receipt_status FROM outbox WHERE id = $1", "i", id);
    if (!s) return -1;
    int st = db_step(s);
    *out = st == DB_ROW && db_column_text(s, 0) && strcmp(db_column_text(s, 0), r->status) == 0
               ? R_DUPLICATE
               : R_IGNORED;
    db_reset(s);
    return st == DB_ERROR ? err_internal(e, "%s", db_errmsg(d)) : 0;
}

json_t *notify_receipts_apply(db *d, json_t *body, err *e) {
    if (!json_is_object(body)) {
        err_invalid(e, "", "请求体须为 JSON 对象");
        return NULL;
    }
    json_t *list = json_object_get(body, "receipts");
    int batch = list != NULL;
    size_t n = 1;
    if (batch) {
        if (json_object_size(body) != 1) {
            const char *k;
            json_t *v;
            json_object_foreach(body, k, v) {
                if (strcmp(k, "receipts") != 0) {
                    err_invalid(e, k, "批量回执只能包含 receipts");
                    return NULL;
                }
            }
        }
        if (!json_is_array(list) || json_array_size(list) < 1 ||
            json_array_size(list) > NOTIFY_RECEIPTS_MAX) {
            err_invalid(e, "receipts", "receipts 须为 1–%d 条回执的数组", NOTIFY_RECEIPTS_MAX);
            return NULL;
        }
        n = json_array_size(list);
    }
    receipt *rs = xcalloc(n, sizeof(*rs));
    for (size_t i = 0; i < n; i++) {
        char prefix[32] = "";
        if (batch) snprintf(prefix, sizeof(prefix), "receipts[%zu].", i);
        if (receipt_parse(batch ? json_array_get(list, i) : body, prefix, &rs[i], e) != 0) {
            free(rs);
            return NULL;
        }
    }
    char now[32];
    time_iso(now, sizeof(now), time_now());
    /* Single-row conditional updates: row locks suffice (no cluster-wide lock). */
    if (db_begin_mode(d, DB_TX_READ_COMMITTED, e) != 0) {
        free(rs);
        return NULL;
    }
    json_t *results = json_array();
    int counts[4] = {0};
    int rc = 0;
    int64_t id = 0;
    enum outcome oc = R_NOT_FOUND;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = receipt_apply(d, &rs[i], now, &id, &oc, e);
        if (rc != 0) break;
        counts[oc]++;
        if (batch)
            json_array_append_new(results, json_pack("{s:I, s:o, s:s}", "index", (json_int_t)i,
                                                     "id", id ? json_integer(id) : json_null(),
                                                     "result", outcome_names[oc]));
    }
    if (rc != 0 || db_commit(d, e) != 0) {
        db_rollback(d);
        json_decref(results);
        free(rs);
        return NULL;
    }
    json_t *out;
    if (batch) {
        out = json_pack("{s:o, s:i, s:i, s:i, s:i}", "results", results, "recorded",
                        counts[R_RECORDED], "duplicate", counts[R_DUPLICATE], "ignored",
                        counts[R_IGNORED], "not_found", counts[R_NOT_FOUND]);
    } else {
        json_decref(results);
        if (oc == R_NOT_FOUND) {
            err_set(e, 404, "not_found", rs[0].id ? "id" : "provider_id", "没有这条短信");
            out = NULL;
        } else {
            out = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)id, "result", outcome_names[oc],
                            "receipt_status",
                            oc == R_IGNORED
                                ? (strcmp(rs[0].status, "delivered") == 0 ? "failed" : "delivered")
                                : rs[0].status);
        }
    }
    free(rs);
    return out;
}
