/* idverify: verifications by the face-verification provider and by staff
 * witnesses (idverify.h tells the rules).
 *
 * Every state change is one transaction with its audit row. The provider call
 * in idverify_start() sits between two of them, outside any transaction, so a
 * slow provider holds no lock; the pending row written before it means every
 * provider call has a row, whatever happens next. The full ID number lives in
 * this file only on the stack of idverify_start() (to reach the provider) and
 * of subject_resolve(); it is wiped before returning and never logged. */
#include "idverify/idverify.h"
#include "auth/roles.h"
#include "base/crypto.h"
#include "base/hmac.h"
#include "base/idcard.h"
#include "base/jsonx.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/xmalloc.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPIRED_REASON "会话已过期"
#define TOKEN_BYTES    32

/* Roles that act for other people; STAFF_VIEW may read anyone's verification. */
#define ROLES_FOR_OTHERS (ROLE_STAFF | ROLE_APPROVER | ROLE_AGENT | ROLE_ADMIN)
#define ROLES_WITNESS    (ROLE_STAFF | ROLE_APPROVER)
#define ROLES_VIEW       (ROLE_STAFF | ROLE_APPROVER | ROLE_SUPERVISOR | ROLE_ADMIN)

#define ROW_COLS                                                                                   \
    "v.id, v.method, v.status, v.result, v.assurance, v.reason, v.note, v.user_id, "               \
    "v.subject_name, v.subject_id_masked, v.provider_ref, v.requested_by, v.fallback_for, "        \
    "v.created_at, v.expires_at, v.completed_at, u.id_number"

/* ---- subjects ---- */

typedef struct subject {
    int64_t user_id;
    char name[IDVERIFY_NAME_MAX + 1];
    char id_number[20]; /* canonical, in clear: wiped by subject_wipe() */
    char masked[32];
} subject;

static void subject_wipe(subject *s) {
    sodium_memzero(s->id_number, sizeof(s->id_number));
}

static int name_valid(const char *s) {
    size_t n = strlen(s);
    if (n < 1 || n > IDVERIFY_NAME_MAX || s[0] == ' ' || s[n - 1] == ' ') return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return 0;
    return 1;
}

static int id_number_take(const char *in, char *out, err *e) {
    if (!idcard_valid(in))
        return err_invalid(e, "id_number", "身份证号码无效（位数、出生日期或校验位不正确）");
    idcard_normalize(in, out, 20);
    return 0;
}

/* Who s names, checked, with the ID number to send to the provider. */
static int subject_resolve(db *d, const idverify_subject *s, subject *out, err *e) {
    memset(out, 0, sizeof(*out));
    if (s->name && !name_valid(s->name))
        return err_invalid(e, "name", "姓名须为 1–%d 字节，不含控制字符、首尾无空格",
                           IDVERIFY_NAME_MAX);
    char given[20] = "";
    if (s->id_number && id_number_take(s->id_number, given, e) != 0) return -1;
    int64_t user_id = s->user_id;
    if (user_id <= 0) {
        if (!s->name) return err_invalid(e, "name", "请提供被核验人的姓名 name");
        if (!given[0]) return err_invalid(e, "id_number", "请提供被核验人的身份证号 id_number");
        /* A resident who has an account after all is verified as that account. */
        int64_t found = 0;
        int rc =
            db_query_int(d, e, &found, "SELECT id FROM users WHERE id_number = $1", "s", given);
        if (rc < 0) return -1;
        if (rc == 0) user_id = found;
    }
    if (user_id > 0) {
        db_stmt *q =
            db_query(d, e, "SELECT display_name, id_number FROM users WHERE id = $1", "i", user_id);
        if (!q) return -1;
        int st = db_step(q), rc = 0;
        if (st == DB_ROW) {
            const char *dn = db_column_text(q, 0), *idn = db_column_text(q, 1);
            snprintf(out->name, sizeof(out->name), "%s", s->name ? s->name : dn ? dn : "");
            if (idn && *idn) {
                if (given[0] && strcmp(given, idn) != 0)
                    rc = err_invalid(e, "id_number", "身份证号与账号登记的不一致");
                else
                    snprintf(out->id_number, sizeof(out->id_number), "%s", idn);
            } else if (given[0]) {
                snprintf(out->id_number, sizeof(out->id_number), "%s", given);
            } else {
                rc = err_invalid(e, "id_number", "该账号未登记身份证号，请提供 id_number");
            }
        } else if (st == DB_DONE) {
            rc = err_set(e, 404, "not_found", "user_id", "没有这个用户");
        } else {
            rc = err_internal(e, "%s", db_errmsg(d));
        }
        db_reset(q);
        sodium_memzero(given, sizeof(given));
        if (rc != 0) {
            subject_wipe(out);
            return -1;
        }
        if (!name_valid(out->name)) snprintf(out->name, sizeof(out->name), "（未登记姓名）");
        out->user_id = user_id;
    } else {
        snprintf(out->name, sizeof(out->name), "%s", s->name);
        snprintf(out->id_number, sizeof(out->id_number), "%s", given);
        sodium_memzero(given, sizeof(given));
    }
    idcard_mask(out->id_number, out->masked, sizeof(out->masked));
    return 0;
}

/* ---- reading ---- */

static json_t *str_or_null(db_stmt *q, int col) {
    return jsonx_str_or_null(db_column_text(q, col));
}

static json_t *int_or_null(db_stmt *q, int col) {
    return db_column_type(q, col) == DB_NULL ? json_null() : json_integer(db_column_int64(q, col));
}

/* The row as JSON; reveal: the subject's own full ID number from their account. */
static json_t *row_json(db_stmt *q, int reveal) {
    const char *full = db_column_text(q, 16);
    json_t *subject_o = json_pack("{s:o, s:o, s:s}", "user_id", int_or_null(q, 7), "name",
                                  str_or_null(q, 8), "id_number",
                                  reveal && full && *full ? full
                                  : db_column_text(q, 9)  ? db_column_text(q, 9)
                                                          : "");
    return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:o, s:o, s:o, s:o}", "id",
                     (json_int_t)db_column_int64(q, 0), "method", str_or_null(q, 1), "status",
                     str_or_null(q, 2), "result", str_or_null(q, 3), "assurance", str_or_null(q, 4),
                     "reason", str_or_null(q, 5), "note", str_or_null(q, 6), "subject", subject_o,
                     "provider_ref", str_or_null(q, 10), "requested_by",
                     (json_int_t)db_column_int64(q, 11), "fallback_for", int_or_null(q, 12),
                     "created_at", str_or_null(q, 13), "expires_at", str_or_null(q, 14),
                     "completed_at", str_or_null(q, 15));
}

/* Read one row: 1 found (*out set unless out is NULL; *owner, *requester filled), 0 not
 * found, -1 error. */
static int row_read(db *d, int64_t id, int reveal_for, json_t **out, int64_t *owner,
                    int64_t *requester, err *e) {
    db_stmt *q = db_query(d, e,
                          "SELECT " ROW_COLS " FROM verifications v LEFT JOIN users u ON "
                          "u.id = v.user_id WHERE v.id = $1",
                          "i", id);
    if (!q) return -1;
    int st = db_step(q), rc = 0;
    if (st == DB_ROW) {
        int64_t uid = db_column_type(q, 7) == DB_NULL ? 0 : db_column_int64(q, 7);
        if (owner) *owner = uid;
        if (requester) *requester = db_column_int64(q, 11);
        if (out) *out = row_json(q, reveal_for > 0 && uid == reveal_for);
        rc = 1;
    } else if (st == DB_ERROR) {
        rc = err_internal(e, "%s", db_errmsg(d));
    }
    db_reset(q);
    return rc;
}

json_t *idverify_get(db *d, const idverify_actor *a, int64_t id, err *e) {
    int64_t owner = 0, requester = 0;
    json_t *v = NULL;
    int rc = row_read(d, id, a->user_id, &v, &owner, &requester, e);
    if (rc < 0) return NULL;
    int entitled = rc == 1 && ((owner && owner == a->user_id) || requester == a->user_id ||
                               (a->role & ROLES_VIEW));
    if (!entitled) {
        json_decref(v);
        err_set(e, 404, "not_found", "id", "没有这条核验记录");
        return NULL;
    }
    return v;
}

/* The row as the audit trail keeps it: masked, no token. */
static json_t *audit_json(db *d, int64_t id, err *e) {
    json_t *v = NULL;
    if (row_read(d, id, 0, &v, NULL, NULL, e) != 1) return NULL;
    return v;
}

static int audit_change(db *d, const audit_actor *actor, const char *action, int64_t id,
                        json_t *before, err *e) {
    json_t *after = audit_json(d, id, e);
    if (!after) return -1;
    char oid[32];
    snprintf(oid, sizeof(oid), "%lld", (long long)id);
    int rc = audit_record(d, actor, action, "verification", oid, before, after, e);
    json_decref(after);
    return rc;
}

/* ---- starting a provider verification ---- */

static int session_seconds(void) {
    const char *v = getenv("ISLE_IDV_SESSION_SECONDS");
    if (v && *v) {
        char *end;
        long s = strtol(v, &end, 10);
        if (!*end && s >= 60 && s <= 3600) return (int)s;
    }
    return 900;
}

/* Resolve who is verified, by whom may. */
static int start_subject(db *d, const idverify_actor *a, const idverify_subject *s, subject *out,
                         err *e) {
    idverify_subject self = *s;
    int nobody = s->user_id <= 0 && !s->name && !s->id_number;
    if (nobody && (a->role & ROLES_FOR_OTHERS))
        return err_invalid(e, "user_id", "须指定账号 user_id，或姓名 name 与身份证号 id_number");
    if (!(a->role & ROLES_FOR_OTHERS)) {
        if (s->user_id > 0 && s->user_id != a->user_id) return err_forbidden(e, "只能核验本人身份");
        self.user_id = a->user_id;
    }
    if (subject_resolve(d, &self, out, e) != 0) return -1;
    if (!(a->role & ROLES_FOR_OTHERS) && out->user_id != a->user_id) {
        subject_wipe(out);
        return err_forbidden(e, "只能核验本人身份");
    }
    return 0;
}

static int start_allowed(db *d, const idverify_actor *a, err *e) {
    char since[32];
    time_iso(since, sizeof(since), time_now() - 3600);
    int64_t n = 0;
    if (db_query_int(d, e, &n,
                     "SELECT COUNT(*) FROM verifications WHERE requested_by = $1 AND "
                     "method = 'provider' AND created_at > $2",
                     "is", a->user_id, since) < 0)
        return -1;
    int limit = (a->role & ROLES_FOR_OTHERS) ? IDVERIFY_START_STAFF : IDVERIFY_START_CITIZEN;
    if (n >= limit)
        return err_set(e, 429, "rate_limited", "", "一小时内最多发起 %d 次人脸核验，请稍后再试",
                       limit);
    return 0;
}

int idverify_start(db *d, idverify_provider *p, const idverify_actor *a, const idverify_subject *s,
                   json_t **out, err *e) {
    *out = NULL;
    subject sub;
    if (start_subject(d, a, s, &sub, e) != 0) return -1;
    char token[64], token_hash[65], now[32], expires[32];
    crypto_random_token(token, sizeof(token), TOKEN_BYTES);
    crypto_sha256_hex(token, strlen(token), token_hash);
    int64_t t = time_now();
    time_iso(now, sizeof(now), t);
    time_iso(expires, sizeof(expires), t + session_seconds());

    /* 1. the pending row */
    int64_t id = 0;
    if (db_begin(d, e) != 0) {
        subject_wipe(&sub);
        return -1;
    }
    int rc = start_allowed(d, a, e);
    if (rc == 0) {
        static const char sql[] =
            "INSERT INTO verifications (user_id, subject_name, subject_id_masked, method, status, "
            "token_hash, requested_by, created_at, expires_at) VALUES ($1, $2, $3, 'provider', "
            "'pending', $4, $5, $6, $7) RETURNING id";
        rc = sub.user_id ? db_query_int(d, e, &id, sql, "isssiss", sub.user_id, sub.name,
                                        sub.masked, token_hash, a->user_id, now, expires)
                         : db_query_int(d, e, &id, sql, "nsssiss", sub.name, sub.masked, token_hash,
                                        a->user_id, now, expires);
        if (rc > 0) rc = err_internal(e, "insert returned no id");
    }
    if (rc == 0) rc = audit_change(d, &a->audit, "idverify.start", id, NULL, e);
    if (rc != 0 || db_commit(d, e) != 0) {
        db_rollback(d);
        subject_wipe(&sub);
        return -1;
    }

    /* 2. the provider, outside any transaction */
    char callback[1200] = "";
    const char *pub = getenv("ISLE_PUBLIC_URL");
    if (pub && *pub && strlen(pub) < 1000)
        snprintf(callback, sizeof(callback), "%s/api/v1/idverify/callback", pub);
    idverify_request req = {.verification_id = id,
                            .name = sub.name,
                            .id_number = sub.id_number,
                            .token = token,
                            .expires_at = expires,
                            .callback_url = callback[0] ? callback : NULL};
    idverify_session session;
    err pe = {0};
    int prc = p->start(p, &req, &session, &pe);
    subject_wipe(&sub);
    if (prc == 0) {
        int64_t taken = 0;
        int q = db_query_int(d, e, &taken, "SELECT id FROM verifications WHERE provider_ref = $1",
                             "s", session.session_id);
        if (q < 0) return -1;
        if (q == 0) {
            prc = err_set(&pe, 502, "provider_error", "", "人脸核验服务返回了重复的会话编号");
        }
    }

    /* 3. its answer */
    json_t *before = NULL;
    if (db_begin(d, e) != 0) return -1;
    before = audit_json(d, id, e);
    rc = before ? 0 : -1;
    if (rc == 0 && prc == 0)
        rc = db_execf(d, e,
                      "UPDATE verifications SET provider_ref = $2 WHERE id = $1 AND "
                      "status = 'pending'",
                      "is", id, session.session_id);
    else if (rc == 0)
        rc = db_execf(d, e,
                      "UPDATE verifications SET status = 'error', result = 'error', reason = $2, "
                      "completed_at = $3 WHERE id = $1 AND status = 'pending'",
                      "iss", id, pe.message, now);
    if (rc == 0)
        rc = audit_change(d, &a->audit, prc == 0 ? "idverify.session" : "idverify.error", id,
                          before, e);
    json_decref(before);
    if (rc != 0 || db_commit(d, e) != 0) {
        db_rollback(d);
        return -1;
    }
    if (prc != 0) {
        log_warn("idverify: verification %lld: provider %s failed: %s", (long long)id, p->name,
                 pe.message);
        err_set(e, pe.status, pe.code, "", "%.180s（核验记录 %lld 已记为 error）", pe.message,
                (long long)id);
        return -1;
    }
    json_t *v = idverify_get(d, a, id, e);
    if (!v) return -1;
    *out = json_pack("{s:o, s:{s:s?, s:s, s:s}}", "verification", v, "session", "url",
                     session.url[0] ? session.url : NULL, "token", token, "expires_at", expires);
    sodium_memzero(token, sizeof(token));
    return 0;
}

/* ---- the provider's callback ---- */

int idverify_callback_verify(const char *timestamp, const char *signature, const void *body,
                             size_t len, err *e) {
    return hmac_webhook_check(getenv("ISLE_IDV_SECRET"), timestamp, signature, body, len,
                              time_now(), HMAC_MAX_SKEW, e);
}

static int level_valid(const char *s) {
    return s && (!strcmp(s, "low") || !strcmp(s, "substantial") || !strcmp(s, "high"));
}

static int same(const char *a, const char *b) {
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

json_t *idverify_callback(db *d, const audit_actor *actor, json_t *body, err *e) {
    static const jsonx_field spec[] = {
        {"request_id", JX_INT, 1, 0},  {"session_id", JX_STRING, 1, IDVERIFY_REF_MAX},
        {"result", JX_STRING, 1, 16},  {"assurance", JX_STRING, 0, 16},
        {"reason", JX_STRING, 0, 200}, {NULL, JX_ANY, 0, 0}};
    if (!json_is_object(body)) {
        err_invalid(e, "", "请求体须为 JSON 对象");
        return NULL;
    }
    if (jsonx_check(body, spec, e) != 0) return NULL;
    int64_t id = jsonx_int(body, "request_id", 0);
    const char *sid = jsonx_str(body, "session_id"), *result = jsonx_str(body, "result");
    const char *level = jsonx_str(body, "assurance"), *reason = jsonx_str(body, "reason");
    const char *status = !strcmp(result, "match")      ? "passed"
                         : !strcmp(result, "no_match") ? "failed"
                         : !strcmp(result, "error")    ? "error"
                                                       : NULL;
    if (!status) {
        err_invalid(e, "result", "result 须为 match、no_match 或 error");
        return NULL;
    }
    if (level && !level_valid(level)) {
        err_invalid(e, "assurance", "assurance 须为 low、substantial 或 high");
        return NULL;
    }
    if (level && strcmp(result, "match") != 0) {
        err_invalid(e, "assurance", "只有 match 才带 assurance");
        return NULL;
    }
    const char *assurance = !strcmp(result, "match") ? (level ? level : "high") : NULL;
    if (db_begin(d, e) != 0) return NULL;
    char now[32];
    int64_t t = time_now();
    time_iso(now, sizeof(now), t);
    db_stmt *q = db_query(d, e,
                          "SELECT method, status, result, assurance, provider_ref, expires_at, "
                          "reason FROM verifications WHERE id = $1",
                          "i", id);
    int rc = q ? 0 : -1;
    char method[16] = "", cur_status[16] = "", cur_result[16] = "", cur_level[16] = "";
    char ref[IDVERIFY_REF_MAX + 1] = "", expires[32] = "", cur_reason[64] = "";
    int found = 0, has_result = 0, has_level = 0;
    if (q) {
        int st = db_step(q);
        if (st == DB_ROW) {
            found = 1;
#define COPY(buf, col)                                                                             \
    snprintf(buf, sizeof(buf), "%s", db_column_text(q, col) ? db_column_text(q, col) : "")
            COPY(method, 0);
            COPY(cur_status, 1);
            COPY(cur_result, 2);
            COPY(cur_level, 3);
            COPY(ref, 4);
            COPY(expires, 5);
            COPY(cur_reason, 6);
#undef COPY
            has_result = db_column_text(q, 2) != NULL;
            has_level = db_column_text(q, 3) != NULL;
        } else if (st == DB_ERROR) {
            rc = err_internal(e, "%s", db_errmsg(d));
        }
        db_reset(q);
    }
    const char *outcome = "recorded";
    if (rc == 0 && !found) rc = err_set(e, 404, "not_found", "request_id", "没有这条核验记录");
    if (rc == 0 && strcmp(method, "provider") != 0)
        rc = err_conflict(e, "request_id", "这条核验记录不是人脸核验");
    if (rc == 0 && strcmp(ref, sid) != 0)
        rc = err_conflict(e, "session_id", "会话编号与核验记录不符");
    json_t *before = NULL;
    if (rc == 0 && strcmp(cur_status, "pending") != 0) {
        /* Finished: the same news again is a duplicate; anything else is refused. */
        int expired = !strcmp(cur_status, "error") && !strcmp(cur_reason, EXPIRED_REASON);
        if (has_result && !strcmp(cur_result, result) &&
            (expired || same(has_level ? cur_level : NULL, assurance)))
            outcome = expired ? "expired" : "duplicate";
        else
            rc = err_conflict(e, "result", "该核验已有结果（%s），不能改为 %s", cur_status, result);
    } else if (rc == 0) {
        before = audit_json(d, id, e);
        if (!before) rc = -1;
        int64_t until = 0;
        int late = time_parse_iso(expires, &until) == 0 && t > until + IDVERIFY_GRACE;
        if (rc == 0 && late) {
            outcome = "expired";
            rc = db_execf(d, e,
                          "UPDATE verifications SET status = 'error', result = $2, reason = $3, "
                          "completed_at = $4 WHERE id = $1 AND status = 'pending'",
                          "isss", id, result, EXPIRED_REASON, now);
        } else if (rc == 0) {
            rc = db_execf(d, e,
                          "UPDATE verifications SET status = $2, result = $3, assurance = $4, "
                          "reason = $5, completed_at = $6 WHERE id = $1 AND status = 'pending'",
                          "isssss", id, status, result, assurance, reason, now);
        }
        if (rc == 0)
            rc = audit_change(d, actor, late ? "idverify.expired" : "idverify.result", id, before,
                              e);
    }
    json_decref(before);
    json_t *v = NULL;
    if (rc == 0) {
        v = audit_json(d, id, e);
        if (!v) rc = -1;
    }
    if (rc != 0 || db_commit(d, e) != 0) {
        db_rollback(d);
        json_decref(v);
        return NULL;
    }
    return json_pack("{s:o, s:s}", "verification", v, "result", outcome);
}

/* ---- staff witness ---- */

static int note_valid(const char *n) {
    size_t len = n ? strlen(n) : 0;
    size_t visible = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)n[i];
        if (c < 0x20 && c != '\n') return 0;
        if (c > 0x20) visible++;
    }
    return len <= IDVERIFY_NOTE_MAX && visible >= 2;
}

json_t *idverify_witness(db *d, const idverify_actor *a, const idverify_subject *s,
                         const char *note, int64_t fallback_for, err *e) {
    if (!(a->role & ROLES_WITNESS)) {
        err_forbidden(e, "只有窗口工作人员或审批人员可以见证核验");
        return NULL;
    }
    if (!note || !note_valid(note)) {
        err_invalid(e, "note", "请写明当面核验了什么（2–%d 字节）", IDVERIFY_NOTE_MAX);
        return NULL;
    }
    if (s->user_id <= 0 && !s->name && !s->id_number) {
        err_invalid(e, "user_id", "须指定账号 user_id，或姓名 name 与身份证号 id_number");
        return NULL;
    }
    subject sub;
    if (subject_resolve(d, s, &sub, e) != 0) return NULL;
    subject_wipe(&sub);
    if (sub.user_id && sub.user_id == a->user_id) {
        err_forbidden(e, "不能为自己作见证核验");
        return NULL;
    }
    char now[32];
    time_iso(now, sizeof(now), time_now());
    if (db_begin(d, e) != 0) return NULL;
    int rc = 0;
    if (fallback_for > 0) {
        db_stmt *q = db_query(d, e,
                              "SELECT method, status, user_id, subject_id_masked FROM "
                              "verifications WHERE id = $1",
                              "i", fallback_for);
        rc = q ? 0 : -1;
        if (q) {
            int st = db_step(q);
            if (st == DB_ROW) {
                const char *m = db_column_text(q, 0), *stt = db_column_text(q, 1);
                int64_t uid = db_column_type(q, 2) == DB_NULL ? 0 : db_column_int64(q, 2);
                const char *masked = db_column_text(q, 3);
                if (strcmp(m, "provider") != 0 ||
                    (strcmp(stt, "failed") != 0 && strcmp(stt, "error") != 0))
                    rc = err_invalid(e, "fallback_for", "只能替代失败或出错的人脸核验");
                else if (uid != sub.user_id || !masked || strcmp(masked, sub.masked) != 0)
                    rc = err_invalid(e, "fallback_for", "被替代的核验不是同一个人");
            } else if (st == DB_DONE) {
                rc = err_invalid(e, "fallback_for", "没有这条核验记录");
            } else {
                rc = err_internal(e, "%s", db_errmsg(d));
            }
            db_reset(q);
        }
    }
    int64_t id = 0;
    if (rc == 0) {
        static const char sql[] =
            "INSERT INTO verifications (user_id, subject_name, subject_id_masked, method, status, "
            "assurance, note, fallback_for, requested_by, created_at, completed_at) VALUES ($1, "
            "$2, $3, 'witness', 'passed', 'substantial', $4, $5, $6, $7, $7) RETURNING id";
        int q =
            sub.user_id
                ? (fallback_for > 0 ? db_query_int(d, e, &id, sql, "isssiis", sub.user_id, sub.name,
                                                   sub.masked, note, fallback_for, a->user_id, now)
                                    : db_query_int(d, e, &id, sql, "isssnis", sub.user_id, sub.name,
                                                   sub.masked, note, a->user_id, now))
                : (fallback_for > 0 ? db_query_int(d, e, &id, sql, "nsssiis", sub.name, sub.masked,
                                                   note, fallback_for, a->user_id, now)
                                    : db_query_int(d, e, &id, sql, "nsssnis", sub.name, sub.masked,
                                                   note, a->user_id, now));
        if (q > 0) q = err_internal(e, "insert returned no id");
        rc = q;
    }
    if (rc == 0) rc = audit_change(d, &a->audit, "idverify.witness", id, NULL, e);
    if (rc != 0 || db_commit(d, e) != 0) {
        db_rollback(d);
        return NULL;
    }
    json_t *v = idverify_get(d, a, id, e);
    return v ? json_pack("{s:o}", "verification", v) : NULL;
}

/* ---- for other modules ---- */

int idverify_user_assurance(db *d, int64_t user_id, int64_t max_age_seconds, char *out, size_t n,
                            err *e) {
    out[0] = '\0';
    char since[32];
    time_iso(since, sizeof(since), time_now() - max_age_seconds);
    db_stmt *q = db_query(d, e,
                          "SELECT assurance FROM verifications WHERE user_id = $1 AND "
                          "status = 'passed' AND completed_at >= $2",
                          "is", user_id, since);
    if (!q) return -1;
    static const char *order[] = {"low", "substantial", "high"};
    int best = -1, st;
    while ((st = db_step(q)) == DB_ROW) {
        const char *l = db_column_text(q, 0);
        for (int i = 0; l && i < 3; i++)
            if (!strcmp(l, order[i]) && i > best) best = i;
    }
    db_reset(q);
    if (st == DB_ERROR) return err_internal(e, "%s", db_errmsg(d));
    if (best >= 0) snprintf(out, n, "%s", order[best]);
    return 0;
}
