/* auth: users, passwords, sessions (see auth.h).
 *
 * Invariant: a write here is one transaction that also writes its audit row;
 * on any failure the transaction is rolled back and nothing is left behind. */
#include "auth/auth.h"
#include "base/crypto.h"
#include "base/idcard.h"
#include "base/jsonx.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "island/places.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USER_COLS "id, login, display_name, role, id_number, phone, town_code, disabled, created_at"

int auth_login_valid(const char *login) {
    size_t n = login ? strlen(login) : 0;
    if (n < 3 || n > 64) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)login[i];
        if (!isalnum(c) && c != '_' && c != '.' && c != '@' && c != '-') return 0;
    }
    return 1;
}

static int password_valid(const char *p, err *e, const char *field) {
    size_t n = p ? strlen(p) : 0;
    if (n < AUTH_PASSWORD_MIN)
        return err_invalid(e, field, "密码至少需要 %d 个字符", AUTH_PASSWORD_MIN);
    if (n > AUTH_PASSWORD_MAX)
        return err_invalid(e, field, "密码不能超过 %d 个字符", AUTH_PASSWORD_MAX);
    return 0;
}

static int phone_valid(const char *p) {
    size_t n = strlen(p);
    if (n < 5 || n > 20) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)p[i]) && !(i == 0 && p[i] == '+') && p[i] != '-') return 0;
    return 1;
}

static int town_valid(const char *t) {
    if (strlen(t) != 9) return 0;
    for (int i = 0; i < 9; i++)
        if (!isdigit((unsigned char)t[i])) return 0;
    return 1;
}

static int display_name_valid(const char *s) {
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 128) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20) return 0;
    return 1;
}

static json_t *user_row_json(db_stmt *s, int reveal) {
    json_t *o = json_object();
    int role = role_from_name(db_column_text(s, 3));
    json_object_set_new(o, "id", json_integer(db_column_int64(s, 0)));
    json_object_set_new(o, "login", jsonx_str_or_null(db_column_text(s, 1)));
    json_object_set_new(o, "display_name", jsonx_str_or_null(db_column_text(s, 2)));
    json_object_set_new(o, "role", jsonx_str_or_null(db_column_text(s, 3)));
    json_object_set_new(o, "role_name", jsonx_str_or_null(role_label_zh(role)));
    for (int c = 4; c <= 5; c++) {
        const char *v = db_column_text(s, c);
        char m[64];
        json_object_set_new(o, c == 4 ? "id_number" : "phone",
                            !v ? json_null()
                               : json_string(reveal ? v : audit_mask_id(v, m, sizeof(m))));
    }
    json_object_set_new(o, "town_code", jsonx_str_or_null(db_column_text(s, 6)));
    json_object_set_new(o, "disabled", json_boolean(db_column_int64(s, 7) != 0));
    json_object_set_new(o, "created_at", jsonx_str_or_null(db_column_text(s, 8)));
    return o;
}

json_t *auth_user_get(db *d, int64_t id, int reveal, err *e) {
    db_stmt *s = db_query(d, e, "SELECT " USER_COLS " FROM users WHERE id = $1", "i", id);
    if (!s) return NULL;
    int rc = db_step(s);
    json_t *o = NULL;
    if (rc == DB_ROW)
        o = user_row_json(s, reveal);
    else if (rc == DB_DONE)
        err_notfound(e, "没有编号为 %lld 的用户", (long long)id);
    else
        err_internal(e, "%s", db_errmsg(d));
    db_reset(s);
    return o;
}

int auth_user_find(db *d, const char *login, int64_t *id_out, err *e) {
    *id_out = 0;
    int rc = db_query_int(d, e, id_out, "SELECT id FROM users WHERE login = $1", "s", login);
    return rc < 0 ? -1 : 0;
}

json_t *auth_user_list(db *d, const char *role, const char *q, int limit, int offset, err *e) {
    char *like = NULL;
    if (q && *q) {
        /* Escape LIKE wildcards so the search is a plain substring match. */
        size_t n = strlen(q);
        like = malloc(n * 2 + 3);
        if (!like) abort();
        char *o = like;
        *o++ = '%';
        for (size_t i = 0; i < n; i++) {
            if (q[i] == '%' || q[i] == '_' || q[i] == '\\') *o++ = '\\';
            *o++ = q[i];
        }
        *o++ = '%';
        *o = '\0';
    }
    /* LOWER() on both sides: SQLite's LIKE ignores ASCII case, PostgreSQL's does not. */
    const char *where =
        " WHERE (CAST($1 AS TEXT) IS NULL OR role = $1) AND (CAST($2 AS TEXT) IS NULL OR "
        "LOWER(login) LIKE LOWER($2) ESCAPE '\\' OR LOWER(display_name) LIKE LOWER($2) "
        "ESCAPE '\\')";
    char sql[512];
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM users%s", where);
    int64_t total = 0;
    if (db_query_int(d, e, &total, sql, "ss", role, like) < 0) {
        free(like);
        return NULL;
    }
    snprintf(sql, sizeof(sql), "SELECT " USER_COLS " FROM users%s ORDER BY id LIMIT $3 OFFSET $4",
             where);
    db_stmt *s = db_query(d, e, sql, "ssii", role, like, (int64_t)limit, (int64_t)offset);
    free(like);
    if (!s) return NULL;
    json_t *items = json_array();
    int rc;
    while ((rc = db_step(s)) == DB_ROW)
        json_array_append_new(items, user_row_json(s, 0));
    db_reset(s);
    if (rc == DB_ERROR) {
        json_decref(items);
        err_internal(e, "%s", db_errmsg(d));
        return NULL;
    }
    return json_pack("{s:o, s:I}", "items", items, "total", (json_int_t)total);
}

static int check_town(db *d, const char *code, err *e) {
    int rc = places_town_exists(d, code, e);
    if (rc < 0) return -1;
    if (rc == 0) return err_invalid(e, "town_code", "没有代码为 %.12s 的乡镇（街道）", code);
    return 0;
}

static int validate_input(db *d, const auth_user_input *in, char *idnorm, size_t idn, err *e) {
    if (!auth_login_valid(in->login))
        return err_invalid(e, "login", "账号须为 3–64 位字母、数字或 _ . @ -");
    if (password_valid(in->password, e, "password") != 0) return -1;
    if (!role_from_name(in->role)) return err_invalid(e, "role", "未知的角色");
    if (!display_name_valid(in->display_name))
        return err_invalid(e, "display_name", "姓名/名称须为 1–128 字节的文字");
    idnorm[0] = '\0';
    if (in->id_number && *in->id_number) {
        if (!idcard_valid(in->id_number))
            return err_invalid(e, "id_number", "身份证号码无效（位数、出生日期或校验位不正确）");
        idcard_normalize(in->id_number, idnorm, idn);
    }
    if (in->phone && *in->phone && !phone_valid(in->phone))
        return err_invalid(e, "phone", "手机号码格式不正确");
    if (in->town_code && *in->town_code) {
        if (!town_valid(in->town_code)) return err_invalid(e, "town_code", "乡镇代码须为 9 位数字");
        if (check_town(d, in->town_code, e) != 0) return -1;
    }
    return 0;
}

int auth_user_create(db *d, const audit_actor *actor, const auth_user_input *in, int64_t *id_out,
                     err *e) {
    char idnorm[32];
    if (validate_input(d, in, idnorm, sizeof(idnorm), e) != 0) return -1;
    char hash[128];
    if (crypto_password_hash(in->password, hash) != 0)
        return err_internal(e, "password hashing failed");
    char now[32];
    time_iso(now, sizeof(now), time_now());
    if (db_begin(d, e) != 0) return -1;
    int64_t exists = 0;
    if (db_query_int(d, e, &exists, "SELECT id FROM users WHERE login = $1", "s", in->login) == 0) {
        db_rollback(d);
        return err_conflict(e, "login", "该账号已被使用");
    }
    if (idnorm[0] && db_query_int(d, e, &exists, "SELECT id FROM users WHERE id_number = $1", "s",
                                  idnorm) == 0) {
        db_rollback(d);
        return err_conflict(e, "id_number", "该身份证号已注册");
    }
    int64_t id = 0;
    int rc = db_query_int(
        d, e, &id,
        "INSERT INTO users (login, display_name, role, password_hash, id_number, phone, "
        "town_code, created_at, updated_at, password_changed_at) "
        "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$8,$8) RETURNING id",
        "ssssssss", in->login, in->display_name, in->role, hash, idnorm[0] ? idnorm : NULL,
        in->phone && *in->phone ? in->phone : NULL,
        in->town_code && *in->town_code ? in->town_code : NULL, now);
    if (rc != 0) {
        db_rollback(d);
        return rc < 0 ? -1 : err_internal(e, "insert returned no id");
    }
    json_t *after = auth_user_get(d, id, 1, e);
    char oid[24];
    snprintf(oid, sizeof(oid), "%lld", (long long)id);
    rc = after ? audit_record(d, actor, "user.create", "user", oid, NULL, after, e) : -1;
    json_decref(after);
    if (rc != 0 || db_commit(d, e) != 0) {
        db_rollback(d);
        return -1;
    }
    if (id_out) *id_out = id;
    return 0;
}

static int end_sessions(db *d, int64_t user_id, int64_t keep, err *e) {
    return db_execf(d, e, "DELETE FROM sessions WHERE user_id = $1 AND id <> $2", "ii", user_id,
                    keep);
}

int auth_user_update(db *d, const audit_actor *actor, int64_t id, const auth_user_patch *p,
                     err *e) {
    if (p->role && !role_from_name(p->role)) return err_invalid(e, "role", "未知的角色");
    if (p->display_name && !display_name_valid(p->display_name))
        return err_invalid(e, "display_name", "姓名/名称须为 1–128 字节的文字");
    if (p->town_code && *p->town_code) {
        if (!town_valid(p->town_code)) return err_invalid(e, "town_code", "乡镇代码须为 9 位数字");
        if (check_town(d, p->town_code, e) != 0) return -1;
    }
    if (db_begin(d, e) != 0) return -1;
    json_t *before = auth_user_get(d, id, 1, e);
    if (!before) {
        db_rollback(d);
        return -1;
    }
    char now[32];
    time_iso(now, sizeof(now), time_now());
    int rc = db_execf(
        d, e,
        "UPDATE users SET role = COALESCE($2, role), "
        "display_name = COALESCE($3, display_name), "
        "town_code = CASE WHEN CAST($4 AS TEXT) IS NULL THEN town_code WHEN $4 = '' THEN NULL "
        "ELSE $4 END, "
        "disabled = CASE WHEN $5 < 0 THEN disabled ELSE $5 END, updated_at = $6 "
        "WHERE id = $1",
        "isssis", id, p->role, p->display_name, p->town_code, (int64_t)p->disabled, now);
    if (rc == 0 && p->disabled == 1) rc = end_sessions(d, id, 0, e);
    json_t *after = rc == 0 ? auth_user_get(d, id, 1, e) : NULL;
    char oid[24];
    snprintf(oid, sizeof(oid), "%lld", (long long)id);
    if (after)
        rc = audit_record(d, actor, "user.update", "user", oid, before, after, e);
    else
        rc = -1;
    json_decref(before);
    json_decref(after);
    if (rc != 0 || db_commit(d, e) != 0) {
        db_rollback(d);
        return -1;
    }
    return 0;
}

int auth_password_ok(db *d, int64_t id, const char *password) {
    db_stmt *s = db_query(d, NULL, "SELECT password_hash FROM users WHERE id = $1", "i", id);
    if (!s) return 0;
    int ok = 0;
    if (db_step(s) == DB_ROW) {
        char stored[160];
        snprintf(stored, sizeof(stored), "%s", db_column_text(s, 0) ? db_column_text(s, 0) : "");
        db_reset(s);
        ok = crypto_password_verify(stored, password);
    } else {
        db_reset(s);
    }
    return ok;
}

int auth_user_set_password(db *d, const audit_actor *actor, int64_t id, const char *password,
                           int64_t keep_session, err *e) {
    if (password_valid(password, e, "new_password") != 0) return -1;
    char hash[128];
    if (crypto_password_hash(password, hash) != 0)
        return err_internal(e, "password hashing failed");
    char now[32];
    time_iso(now, sizeof(now), time_now());
    if (db_begin(d, e) != 0) return -1;
    int rc = db_execf(d, e,
                      "UPDATE users SET password_hash = $2, password_changed_at = $3, "
                      "updated_at = $3 WHERE id = $1",
                      "iss", id, hash, now);
    if (rc == 0 && db_changes(d) == 0)
        rc = err_notfound(e, "没有编号为 %lld 的用户", (long long)id);
    if (rc == 0) rc = end_sessions(d, id, keep_session, e);
    char oid[24];
    snprintf(oid, sizeof(oid), "%lld", (long long)id);
    json_t *after = json_pack("{s:s}", "password_changed_at", now);
    if (rc == 0) rc = audit_record(d, actor, "user.password", "user", oid, NULL, after, e);
    json_decref(after);
    if (rc != 0 || db_commit(d, e) != 0) {
        db_rollback(d);
        return -1;
    }
    return 0;
}

int auth_login(db *d, const char *login, const char *password, const char *kind,
               const char *request_id, auth_session *out, err *e) {
    memset(out, 0, sizeof(*out));
    static const char *bad = "账号或密码错误";
    db_stmt *s = db_query(d, e, "SELECT id, password_hash, disabled FROM users WHERE login = $1",
                          "s", login);
    if (!s) return -1;
    int64_t uid = 0, disabled = 0;
    char stored[160] = "";
    if (db_step(s) == DB_ROW) {
        uid = db_column_int64(s, 0);
        snprintf(stored, sizeof(stored), "%s", db_column_text(s, 1) ? db_column_text(s, 1) : "");
        disabled = db_column_int64(s, 2);
    }
    db_reset(s);
    if (!uid) {
        /* Spend the same time as a real check so timing does not reveal logins. */
        static char dummy[128];
        if (!dummy[0]) crypto_password_hash("isle-timing-equaliser", dummy);
        crypto_password_verify(dummy, password);
        return err_set(e, 401, "unauthenticated", "", "%s", bad);
    }
    if (!crypto_password_verify(stored, password) || disabled) {
        log_info("login refused for user %lld%s", (long long)uid, disabled ? " (disabled)" : "");
        return err_set(e, 401, "unauthenticated", "", "%s", bad);
    }
    int is_token = strcmp(kind, "token") == 0;
    crypto_random_token(out->token, sizeof(out->token), 32);
    crypto_random_token(out->csrf, sizeof(out->csrf), 24);
    char token_hash[65];
    crypto_sha256_hex(out->token, strlen(out->token), token_hash);
    int64_t now = time_now();
    char now_s[32];
    time_iso(now_s, sizeof(now_s), now);
    time_iso(out->expires_at, sizeof(out->expires_at),
             now + (is_token ? AUTH_TOKEN_TTL : AUTH_COOKIE_TTL));
    if (db_begin(d, e) != 0) return -1;
    int64_t sid = 0;
    int rc = db_query_int(
        d, e, &sid,
        "INSERT INTO sessions (token_hash, user_id, kind, csrf_token, created_at, "
        "expires_at, last_seen_at) VALUES ($1,$2,$3,$4,$5,$6,$5) RETURNING id",
        "sisss"
        "s",
        token_hash, uid, is_token ? "token" : "cookie", out->csrf, now_s, out->expires_at);
    char oid[24];
    snprintf(oid, sizeof(oid), "%lld", (long long)sid);
    json_t *after = json_pack("{s:I, s:s, s:s}", "user_id", (json_int_t)uid, "kind",
                              is_token ? "token" : "cookie", "expires_at", out->expires_at);
    audit_actor actor = {.user_id = uid, .login = login, .request_id = request_id};
    if (rc == 0) rc = audit_record(d, &actor, "session.create", "session", oid, NULL, after, e);
    json_decref(after);
    if (rc != 0 || db_commit(d, e) != 0) {
        db_rollback(d);
        return -1;
    }
    out->session_id = sid;
    out->user_id = uid;
    return 0;
}

int auth_session_lookup(db *d, const char *secret, auth_principal *out, err *e) {
    memset(out, 0, sizeof(*out));
    size_t n = strlen(secret);
    if (n < 20 || n > 128) return 0;
    char token_hash[65];
    crypto_sha256_hex(secret, n, token_hash);
    char now[32];
    time_iso(now, sizeof(now), time_now());
    db_stmt *s = db_query(d, e,
                          "SELECT s.id, s.kind, s.csrf_token, s.expires_at, u.id, u.login, "
                          "u.display_name, u.role FROM sessions s JOIN users u ON u.id = s.user_id "
                          "WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = 0",
                          "ss", token_hash, now);
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ROW) {
        out->session_id = db_column_int64(s, 0);
        out->via_cookie = strcmp(db_column_text(s, 1), "cookie") == 0;
        snprintf(out->csrf, sizeof(out->csrf), "%s", db_column_text(s, 2));
        snprintf(out->expires_at, sizeof(out->expires_at), "%s", db_column_text(s, 3));
        out->user_id = db_column_int64(s, 4);
        snprintf(out->login, sizeof(out->login), "%s", db_column_text(s, 5));
        snprintf(out->display_name, sizeof(out->display_name), "%s", db_column_text(s, 6));
        out->role = role_from_name(db_column_text(s, 7));
    }
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "%s", db_errmsg(d));
    return rc == DB_ROW ? 1 : 0;
}

int auth_logout(db *d, const audit_actor *actor, int64_t session_id, err *e) {
    if (db_begin(d, e) != 0) return -1;
    int rc = db_execf(d, e, "DELETE FROM sessions WHERE id = $1", "i", session_id);
    char oid[24];
    snprintf(oid, sizeof(oid), "%lld", (long long)session_id);
    if (rc == 0) rc = audit_record(d, actor, "session.delete", "session", oid, NULL, NULL, e);
    if (rc != 0 || db_commit(d, e) != 0) {
        db_rollback(d);
        return -1;
    }
    return 0;
}

int64_t auth_sessions_purge(db *d, err *e) {
    char now[32];
    time_iso(now, sizeof(now), time_now());
    if (db_begin(d, e) != 0) return -1;
    if (db_execf(d, e, "DELETE FROM sessions WHERE expires_at <= $1", "s", now) != 0) {
        db_rollback(d);
        return -1;
    }
    int64_t n = db_changes(d);
    if (db_commit(d, e) != 0) return -1;
    return n;
}
