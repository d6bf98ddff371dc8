/* licences: the e-licence library (see licences.h for validity, replacement and
 * the transaction rule). Dates are compared as "YYYY-MM-DD" text, which sorts
 * as dates on both backends; "today" is the Shanghai date of the instant given
 * (or of time_now()), computed here and bound as a parameter, never by SQL.
 * Nothing here begins or commits a transaction except licences_demo(). */
#include "licences/licences.h"
#include "base/idcard.h"
#include "base/jsonx.h"
#include "base/timeutil.h"
#include "workcal/workcal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Types a holder has at most one valid licence of (see licences.h). */
static const char *const single_types[] = {"居民身份证",
                                           "居民户口簿",
                                           "社会保障卡",
                                           "居住证",
                                           "机动车驾驶证",
                                           "营业执照",
                                           "结婚证",
                                           "离婚证",
                                           "残疾人证",
                                           "医师资格证书",
                                           "执业药师注册证",
                                           "道路运输从业人员从业资格证",
                                           "普通话水平测试等级证书",
                                           "船员服务簿",
                                           "渔业船员证书",
                                           NULL};

int licences_single_type(const char *type) {
    if (!type) return 0;
    for (int i = 0; single_types[i]; i++)
        if (strcmp(single_types[i], type) == 0) return 1;
    return 0;
}

/* ---- small helpers ---- */

/* The Shanghai date of iso (NULL = now) as YYYY-MM-DD into out (≥ 11 bytes). */
static int local_today(const char *iso, char *out, size_t n, err *e) {
    int64_t t = time_now();
    if (iso && time_parse_iso(iso, &t) != 0)
        return err_invalid(e, "now", "时间须为 ISO-8601 格式（如 2026-11-28T04:30:00Z）");
    workcal_date_format(workcal_local_date(t), out, n);
    return 0;
}

static int date_ok(const char *s) {
    workcal_date d;
    return s && workcal_date_parse(s, &d) == 0;
}

/* 1 if s has no control characters (C0 or DEL). */
static int printable(const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f) return 0;
    return 1;
}

static void id_text(int64_t id, char *buf, size_t n) {
    snprintf(buf, n, "%lld", (long long)id);
}

/* Days from date a to date b (YYYY-MM-DD each). */
static long days_between(const char *a, const char *b) {
    workcal_date da, db_;
    if (workcal_date_parse(a, &da) != 0 || workcal_date_parse(b, &db_) != 0) return 0;
    int64_t ta = workcal_local_instant(da, 0), tb = workcal_local_instant(db_, 0);
    return (long)((tb - ta) / 86400);
}

/* Mask a UTF-8 string: keep `head` leading and `tail` trailing characters, one '*'
 * per character between (at most 16). Short strings become "****". */
static char *mask_utf8(const char *s, int head, int tail, char *out, size_t n) {
    size_t len = strlen(s);
    int chars = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80) chars++;
    if (chars < head + tail + 2) {
        snprintf(out, n, "****");
        return out;
    }
    size_t o = 0;
    int c = -1;
    int stars = 0;
    for (size_t i = 0; i < len && o + 5 < n; i++) {
        if (((unsigned char)s[i] & 0xc0) != 0x80) c++;
        if (c < head || c >= chars - tail) {
            out[o++] = s[i];
        } else if (((unsigned char)s[i] & 0xc0) != 0x80 && stars < 16) {
            out[o++] = '*';
            stars++;
        }
    }
    out[o] = '\0';
    return out;
}

void licences_mask(json_t *licence) {
    if (!json_is_object(licence)) return;
    char buf[LICENCES_NUMBER_MAX * 2];
    const char *num = jsonx_str(licence, "number");
    if (num)
        json_object_set_new(licence, "number", json_string(mask_utf8(num, 4, 4, buf, sizeof(buf))));
    json_t *data = json_object_get(licence, "data");
    static const char *const keys[] = {"id_number", "number", "household_no", "card_no", NULL};
    if (json_is_object(data))
        for (int i = 0; keys[i]; i++) {
            const char *v = jsonx_str(data, keys[i]);
            if (v)
                json_object_set_new(data, keys[i],
                                    json_string(mask_utf8(v, 4, 4, buf, sizeof(buf))));
        }
}

/* ---- reading ---- */

#define LICENCE_COLUMNS                                                                            \
    "l.id, l.holder_id, l.holder_name, l.type, l.number, l.issuer, l.issued_at, l.valid_until, "   \
    "l.status, l.source, l.source_case_id, l.superseded_by, l.revoked_at, l.revoke_reason, "       \
    "l.data, l.created_at, l.updated_at, c.trust_level "                                           \
    "FROM licences l LEFT JOIN catalog_licences c ON c.type = l.type "

static const char *effective_status(const char *stored, const char *valid_until,
                                    const char *today) {
    if (stored && strcmp(stored, "valid") == 0 && valid_until && strcmp(valid_until, today) < 0)
        return "expired";
    return stored ? stored : "valid";
}

/* The current row of a LICENCE_COLUMNS query as JSON. */
static json_t *row_json(db_stmt *s, const char *today) {
    json_t *o = db_row_json(s);
    const char *stored = db_column_text(s, 8);
    const char *until = db_column_text(s, 7);
    json_object_set_new(o, "stored_status", json_string(stored ? stored : ""));
    json_object_set_new(o, "status", json_string(effective_status(stored, until, today)));
    if (until)
        json_object_set_new(o, "expires_in_days", json_integer(days_between(today, until)));
    else
        json_object_set_new(o, "expires_in_days", json_null());
    const char *data = db_column_text(s, 14);
    json_t *dj = data ? json_loads(data, 0, NULL) : NULL;
    json_object_set_new(o, "data", dj ? dj : json_object());
    return o;
}

json_t *licences_get(db *d, int64_t id, err *e) {
    char today[16];
    local_today(NULL, today, sizeof(today), NULL);
    db_stmt *s = db_query(d, e, "SELECT " LICENCE_COLUMNS "WHERE l.id = $1", "i", id);
    if (!s) return NULL;
    int rc = db_step(s);
    if (rc != DB_ROW) {
        db_reset(s);
        if (rc == DB_ERROR) {
            err_internal(e, "licence lookup failed: %s", db_errmsg(d));
            return NULL;
        }
        err_notfound(e, "没有这个证照");
        return NULL;
    }
    json_t *o = row_json(s, today);
    db_reset(s);
    return o;
}

json_t *licences_list(db *d, int64_t holder_id, err *e) {
    char today[16];
    local_today(NULL, today, sizeof(today), NULL);
    db_stmt *s = db_query(d, e,
                          "SELECT " LICENCE_COLUMNS "WHERE l.holder_id = $1 "
                          "ORDER BY CASE WHEN l.status = 'valid' AND (l.valid_until IS NULL OR "
                          "l.valid_until >= $2) THEN 0 ELSE 1 END, l.type, l.id DESC LIMIT $3",
                          "isi", holder_id, today, (int64_t)LICENCES_LIST_MAX);
    if (!s) return NULL;
    json_t *items = json_array();
    int rc;
    while ((rc = db_step(s)) == DB_ROW)
        json_array_append_new(items, row_json(s, today));
    db_reset(s);
    if (rc == DB_ERROR) {
        json_decref(items);
        err_internal(e, "licence list failed: %s", db_errmsg(d));
        return NULL;
    }
    return json_pack("{s:o}", "items", items);
}

static void copy_col(db_stmt *s, int col, char *out, size_t n) {
    const char *v = db_column_text(s, col);
    snprintf(out, n, "%s", v ? v : "");
}

int licences_lookup(db *d, int64_t holder_id, const char *type, const char *now_iso,
                    licences_found *out, err *e) {
    memset(out, 0, sizeof(*out));
    char today[16];
    if (local_today(now_iso, today, sizeof(today), e) != 0) return -1;
    if (!type || !*type) return err_invalid(e, "type", "缺少证照类型");
    /* Valid ones first (longest validity, then newest); else the newest of the rest. */
    db_stmt *s = db_query(
        d, e,
        "SELECT id, status, number, issued_at, valid_until, data, "
        "CASE WHEN status = 'valid' AND (valid_until IS NULL OR valid_until >= $3) "
        "THEN 1 ELSE 0 END AS ok "
        "FROM licences WHERE holder_id = $1 AND type = $2 "
        "ORDER BY ok DESC, CASE WHEN valid_until IS NULL THEN 0 ELSE 1 END, valid_until DESC, "
        "id DESC LIMIT 1",
        "iss", holder_id, type, today);
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ERROR) {
        db_reset(s);
        return err_internal(e, "licence lookup failed: %s", db_errmsg(d));
    }
    if (rc == DB_DONE) {
        db_reset(s);
        return 0;
    }
    out->id = db_column_int64(s, 0);
    const char *stored = db_column_text(s, 1);
    const char *until = db_column_text(s, 4);
    snprintf(out->status, sizeof(out->status), "%s", effective_status(stored, until, today));
    copy_col(s, 2, out->number, sizeof(out->number));
    copy_col(s, 3, out->issued_at, sizeof(out->issued_at));
    copy_col(s, 4, out->valid_until, sizeof(out->valid_until));
    const char *data = db_column_text(s, 5);
    out->data = data ? json_loads(data, 0, NULL) : NULL;
    int ok = db_column_int64(s, 6) == 1;
    db_reset(s);
    return ok ? 1 : 0;
}

int licences_find_valid(db *d, int64_t holder_id, const char *type, const char *now_iso,
                        int64_t *licence_id, err *e) {
    licences_found f;
    int rc = licences_lookup(d, holder_id, type, now_iso, &f, e);
    json_decref(f.data);
    if (licence_id) *licence_id = rc == 1 ? f.id : 0;
    return rc;
}

/* ---- writing ---- */

/* The licence as stored, number masked, for audit rows. */
static json_t *audit_view(db *d, int64_t id, err *e) {
    json_t *o = licences_get(d, id, e);
    if (!o) return NULL;
    licences_mask(o);
    json_object_del(o, "holder_name");
    return o;
}

static int validate_new(const licences_new *n, err *e) {
    if (n->holder_id <= 0) return err_invalid(e, "holder_id", "缺少持证人");
    if (!n->type || !*n->type) return err_invalid(e, "type", "缺少证照类型");
    if (strlen(n->type) > LICENCES_TYPE_MAX || !printable(n->type))
        return err_invalid(e, "type", "证照类型不能超过 %d 字节且不能含控制字符",
                           LICENCES_TYPE_MAX);
    if (n->number && (strlen(n->number) > LICENCES_NUMBER_MAX || !printable(n->number)))
        return err_invalid(e, "number", "证照编号不能超过 %d 字节且不能含控制字符",
                           LICENCES_NUMBER_MAX);
    if (n->issuer && (strlen(n->issuer) > 256 || !printable(n->issuer)))
        return err_invalid(e, "issuer", "发证机关不能超过 256 字节");
    if (n->issued_at && !date_ok(n->issued_at))
        return err_invalid(e, "issued_at", "发证日期须为 YYYY-MM-DD");
    if (n->valid_until && *n->valid_until && !date_ok(n->valid_until))
        return err_invalid(e, "valid_until", "有效期须为 YYYY-MM-DD");
    if (n->issued_at && n->valid_until && *n->valid_until &&
        strcmp(n->valid_until, n->issued_at) < 0)
        return err_invalid(e, "valid_until", "有效期不能早于发证日期");
    if (n->status && strcmp(n->status, "valid") && strcmp(n->status, "expired"))
        return err_invalid(e, "status", "新证照的状态只能是 valid 或 expired");
    if (n->source && strcmp(n->source, "demo") && strcmp(n->source, "case") &&
        strcmp(n->source, "import"))
        return err_invalid(e, "source", "来源只能是 demo、case 或 import");
    if (n->data && !json_is_object(n->data)) return err_invalid(e, "data", "data 须为 JSON 对象");
    return 0;
}

/* The catalog's issuer for type into out; 400 when the catalog has types and this is
 * not one of them. out = "" when the catalog has none. */
static int catalog_issuer(db *d, const char *type, char *out, size_t n, err *e) {
    out[0] = '\0';
    db_stmt *s = db_query(d, e, "SELECT issuer FROM catalog_licences WHERE type = $1", "s", type);
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ROW) copy_col(s, 0, out, n);
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "catalog lookup failed: %s", db_errmsg(d));
    if (rc == DB_ROW) return 0;
    int64_t types = 0;
    if (db_query_int(d, e, &types, "SELECT COUNT(*) FROM catalog_licences", "") < 0) return -1;
    if (types > 0) return err_invalid(e, "type", "证照目录中没有“%.100s”这一类型", type);
    return 0;
}

int licences_add(db *d, const audit_actor *a, const licences_new *n, int64_t *id_out, err *e) {
    if (validate_new(n, e) != 0) return -1;
    char holder_name[256] = "";
    db_stmt *s = db_query(d, e, "SELECT display_name FROM users WHERE id = $1", "i", n->holder_id);
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ROW) copy_col(s, 0, holder_name, sizeof(holder_name));
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "user lookup failed: %s", db_errmsg(d));
    if (rc != DB_ROW) return err_set(e, 404, "not_found", "holder_id", "没有这个持证人");
    char issuer[256];
    if (catalog_issuer(d, n->type, issuer, sizeof(issuer), e) != 0) return -1;
    if (n->issuer && *n->issuer) snprintf(issuer, sizeof(issuer), "%s", n->issuer);
    if (!issuer[0]) snprintf(issuer, sizeof(issuer), "发证机关");
    if (n->source_case_id > 0) {
        int64_t found = 0;
        rc = db_query_int(d, e, &found, "SELECT id FROM cases WHERE id = $1", "i",
                          n->source_case_id);
        if (rc < 0) return -1;
        if (rc == 1) return err_set(e, 404, "not_found", "source_case_id", "没有这个办件");
    }
    char today[16], issued[16];
    local_today(NULL, today, sizeof(today), NULL);
    snprintf(issued, sizeof(issued), "%s", n->issued_at ? n->issued_at : today);
    char number[LICENCES_NUMBER_MAX + 1];
    if (n->number && *n->number) {
        snprintf(number, sizeof(number), "%s", n->number);
    } else {
        char compact[16];
        snprintf(compact, sizeof(compact), "%.4s%.2s%.2s", today, today + 5, today + 8);
        snprintf(number, sizeof(number), "ZSL%s%06u", compact, randombytes_uniform(1000000));
    }
    const char *status = n->status ? n->status : "valid";
    const char *source = n->source ? n->source : n->source_case_id > 0 ? "case" : "import";
    const char *until = n->valid_until && *n->valid_until ? n->valid_until : NULL;
    char *data = n->data ? jsonx_dump(n->data) : NULL;
    char now[32];
    time_iso(now, sizeof(now), time_now());

    /* Which valid licences the new one replaces (collected before any write). */
    json_t *replaced = json_array();
    if (strcmp(status, "valid") == 0) {
        s = db_query(d, e,
                     "SELECT id FROM licences WHERE holder_id = $1 AND type = $2 AND "
                     "status = 'valid' AND (number = $3 OR $4 = 1) ORDER BY id",
                     "issi", n->holder_id, n->type, number, (int64_t)licences_single_type(n->type));
        if (!s) {
            free(data);
            json_decref(replaced);
            return -1;
        }
        while ((rc = db_step(s)) == DB_ROW)
            json_array_append_new(replaced, json_integer(db_column_int64(s, 0)));
        db_reset(s);
        if (rc == DB_ERROR) {
            free(data);
            json_decref(replaced);
            return err_internal(e, "licence lookup failed: %s", db_errmsg(d));
        }
    }
    int64_t id = 0;
    rc = db_query_int(
        d, e, &id,
        "INSERT INTO licences (holder_id, type, number, issuer, holder_name, "
        "issued_at, valid_until, status, source, source_case_id, data, created_at, "
        "updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,NULLIF($10, CAST(0 AS BIGINT)),$11,"
        "$12,$12) RETURNING id",
        "issssssssiss", n->holder_id, n->type, number, issuer, holder_name, issued, until, status,
        source, n->source_case_id, data, now);
    free(data);
    if (rc != 0) {
        json_decref(replaced);
        return rc < 0 ? -1 : err_internal(e, "insert returned no id");
    }
    size_t i;
    json_t *old;
    json_array_foreach(replaced, i, old) {
        if (db_execf(d, e,
                     "UPDATE licences SET status = 'superseded', superseded_by = $2, "
                     "updated_at = $3 WHERE id = $1",
                     "iis", (int64_t)json_integer_value(old), id, now) != 0) {
            json_decref(replaced);
            return -1;
        }
    }
    json_t *after = audit_view(d, id, e);
    if (!after) {
        json_decref(replaced);
        return -1;
    }
    json_object_set_new(after, "superseded", replaced);
    char oid[24];
    id_text(id, oid, sizeof(oid));
    rc = audit_record(d, a, "licence.issue", "licence", oid, NULL, after, e);
    json_decref(after);
    if (rc != 0) return -1;
    if (id_out) *id_out = id;
    return 0;
}

int licences_issue(db *d, const audit_actor *a, int64_t holder_id, const char *type,
                   const char *number, const char *valid_until, int64_t source_case_id,
                   int64_t *id_out, err *e) {
    licences_new n = {.holder_id = holder_id,
                      .type = type,
                      .number = number,
                      .valid_until = valid_until,
                      .source_case_id = source_case_id};
    return licences_add(d, a, &n, id_out, e);
}

int licences_revoke(db *d, const audit_actor *a, int64_t id, const char *reason, err *e) {
    if (!reason || !*reason) return err_invalid(e, "reason", "请填写撤销原因");
    if (strlen(reason) > LICENCES_REASON_MAX || !printable(reason))
        return err_invalid(e, "reason", "撤销原因不能超过 %d 字节且不能含控制字符",
                           LICENCES_REASON_MAX);
    json_t *before = audit_view(d, id, e);
    if (!before) return -1;
    const char *stored = jsonx_str(before, "stored_status");
    if (!stored || strcmp(stored, "valid") != 0) {
        int rc = err_conflict(e, "status", "该证照已%s，不能撤销",
                              stored && !strcmp(stored, "revoked") ? "撤销" : "失效");
        json_decref(before);
        return rc;
    }
    char now[32];
    time_iso(now, sizeof(now), time_now());
    int rc = db_execf(d, e,
                      "UPDATE licences SET status = 'revoked', revoked_at = $2, revoked_by = $3, "
                      "revoke_reason = $4, updated_at = $2 WHERE id = $1 AND status = 'valid'",
                      "isns", id, now, reason);
    if (rc == 0 && a && a->user_id > 0)
        rc = db_execf(d, e, "UPDATE licences SET revoked_by = $2 WHERE id = $1", "ii", id,
                      a->user_id);
    json_t *after = rc == 0 ? audit_view(d, id, e) : NULL;
    char oid[24];
    id_text(id, oid, sizeof(oid));
    if (after)
        rc = audit_record(d, a, "licence.revoke", "licence", oid, before, after, e);
    else
        rc = -1;
    json_decref(before);
    json_decref(after);
    return rc;
}

int licences_revoke_by_case(db *d, const audit_actor *a, int64_t case_id, const char *reason,
                            int *count, err *e) {
    if (count) *count = 0;
    db_stmt *s = db_query(d, e,
                          "SELECT id FROM licences WHERE source_case_id = $1 AND status = 'valid' "
                          "ORDER BY id",
                          "i", case_id);
    if (!s) return -1;
    json_t *ids = json_array();
    int rc;
    while ((rc = db_step(s)) == DB_ROW)
        json_array_append_new(ids, json_integer(db_column_int64(s, 0)));
    db_reset(s);
    if (rc == DB_ERROR) {
        json_decref(ids);
        return err_internal(e, "licence lookup failed: %s", db_errmsg(d));
    }
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) {
        if (licences_revoke(d, a, (int64_t)json_integer_value(v), reason, e) != 0) {
            json_decref(ids);
            return -1;
        }
        if (count) (*count)++;
    }
    json_decref(ids);
    return 0;
}

/* ---- helpers for the applications core ---- */

int licences_result_type(db *d, const char *result, char *type, size_t n, err *e) {
    static const char *const not_issued[] = {"签注",   "注销", "记录", "挂失", "审验",
                                             "发放至", "返还", "临时", "副本", NULL};
    type[0] = '\0';
    if (!result || !*result) return 0;
    for (int i = 0; not_issued[i]; i++)
        if (strstr(result, not_issued[i])) return 0;
    db_stmt *s = db_query(d, e, "SELECT type FROM catalog_licences ORDER BY type", "");
    if (!s) return -1;
    const char *best_at = NULL;
    size_t best_len = 0;
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        const char *t = db_column_text(s, 0);
        const char *at = t && *t ? strstr(result, t) : NULL;
        size_t len = at ? strlen(t) : 0;
        if (at && (!best_at || at < best_at || (at == best_at && len > best_len))) {
            best_at = at;
            best_len = len;
            snprintf(type, n, "%s", t);
        }
    }
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "catalog lookup failed: %s", db_errmsg(d));
    return best_at ? 1 : 0;
}

int licences_default_valid_until(const char *type, const char *issued, const char *id_number,
                                 char *out, size_t n) {
    static const struct {
        const char *type;
        int years;
    } terms[] = {{"机动车驾驶证", 6},       {"食品经营许可证", 5},
                 {"渔业捕捞许可证", 5},     {"道路运输从业人员从业资格证", 6},
                 {"社会保障卡", 10},        {"建筑业企业资质证书", 5},
                 {"医疗机构执业许可证", 5}, {"营业性演出许可证", 2}};
    workcal_date d;
    if (!type || !issued || workcal_date_parse(issued, &d) != 0) return 0;
    int years = 0;
    for (size_t i = 0; i < sizeof(terms) / sizeof(terms[0]); i++)
        if (!strcmp(terms[i].type, type)) years = terms[i].years;
    if (!strcmp(type, "居民身份证")) {
        if (!id_number || !idcard_valid(id_number)) return 0;
        int by = 0, bm = 0, bd = 0;
        if (sscanf(id_number + 6, "%4d%2d%2d", &by, &bm, &bd) != 3) return 0;
        int age = d.year - by - (d.month < bm || (d.month == bm && d.day < bd));
        years = age < 16 ? 5 : age <= 25 ? 10 : age <= 45 ? 20 : 0;
    }
    if (!years) return 0;
    /* Valid through the day before the anniversary (of 29 February: 1 March). */
    workcal_date end = {d.year + years, d.month, d.day};
    if (!workcal_date_valid(end)) end = (workcal_date){d.year + years, 3, 1};
    int64_t t = workcal_local_instant(end, 0) - 86400;
    workcal_date_format(workcal_local_date(t), out, n);
    return 1;
}
