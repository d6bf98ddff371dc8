/* audit: hash-chained audit trail (see audit.h).
 *
 * Row hash = SHA-256(prev_hash "\n" canonical), where canonical is the compact
 * JSON array [id, at, actor_id, actor_login, action, object_type, object_id,
 * before_json, after_json, request_id] built from the values exactly as stored,
 * so verification recomputes it from the table alone. */
#include "audit/audit.h"
#include "base/crypto.h"
#include "base/idcard.h"
#include "base/jsonx.h"
#include "base/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *audit_mask_id(const char *id, char *out, size_t n) {
    if (strlen(id) == 18) return idcard_mask(id, out, n);
    size_t len = strlen(id);
    if (len < 8) {
        snprintf(out, n, "****");
        return out;
    }
    snprintf(out, n, "%.3s****%s", id, id + len - 4);
    return out;
}

/* A deep copy of v with secrets removed and personal numbers masked. */
static json_t *scrub(json_t *v) {
    if (json_is_object(v)) {
        json_t *o = json_object();
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) {
            if (!strcmp(k, "password") || !strcmp(k, "password_hash") || !strcmp(k, "token") ||
                !strcmp(k, "token_hash") || !strcmp(k, "csrf_token") ||
                !strcmp(k, "old_password") || !strcmp(k, "new_password"))
                continue;
            if ((!strcmp(k, "id_number") || !strcmp(k, "phone")) && json_is_string(x)) {
                char m[64];
                json_object_set_new(o, k,
                                    json_string(audit_mask_id(json_string_value(x), m, sizeof(m))));
                continue;
            }
            json_object_set_new(o, k, scrub(x));
        }
        return o;
    }
    if (json_is_array(v)) {
        json_t *a = json_array();
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) json_array_append_new(a, scrub(x));
        return a;
    }
    return json_incref(v);
}

static void row_hash(const char *prev, int64_t id, const char *at, int64_t actor_id, int has_actor,
                     const char *login, const char *action, const char *otype, const char *oid,
                     const char *before, const char *after, const char *reqid, char out[65]) {
    json_t *a = json_array();
    json_array_append_new(a, json_integer(id));
    json_array_append_new(a, json_string(at));
    json_array_append_new(a, has_actor ? json_integer(actor_id) : json_null());
    json_array_append_new(a, jsonx_str_or_null(login));
    json_array_append_new(a, jsonx_str_or_null(action));
    json_array_append_new(a, jsonx_str_or_null(otype));
    json_array_append_new(a, jsonx_str_or_null(oid));
    json_array_append_new(a, jsonx_str_or_null(before));
    json_array_append_new(a, jsonx_str_or_null(after));
    json_array_append_new(a, jsonx_str_or_null(reqid));
    char *canon = jsonx_dump(a);
    json_decref(a);
    size_t pl = strlen(prev), cl = strlen(canon);
    char *buf = malloc(pl + 1 + cl);
    if (!buf) abort();
    memcpy(buf, prev, pl);
    buf[pl] = '\n';
    memcpy(buf + pl + 1, canon, cl);
    crypto_sha256_hex(buf, pl + 1 + cl, out);
    free(buf);
    free(canon);
}

int audit_record(db *d, const audit_actor *actor, const char *action, const char *object_type,
                 const char *object_id, json_t *before, json_t *after, err *e) {
    if (!d->in_tx) return err_internal(e, "audit_record outside a transaction");
    db_stmt *s = db_query(d, e, "SELECT last_id, last_hash FROM audit_head WHERE id = 1", "");
    if (!s) return -1;
    if (db_step(s) != DB_ROW) {
        db_reset(s);
        return err_internal(e, "audit chain head is missing");
    }
    int64_t id = db_column_int64(s, 0) + 1;
    char prev[65];
    snprintf(prev, sizeof(prev), "%s", db_column_text(s, 1) ? db_column_text(s, 1) : "");
    db_reset(s);

    char at[32];
    time_iso(at, sizeof(at), time_now());
    char *bj = NULL, *aj = NULL;
    if (before) {
        json_t *c = scrub(before);
        bj = jsonx_dump(c);
        json_decref(c);
    }
    if (after) {
        json_t *c = scrub(after);
        aj = jsonx_dump(c);
        json_decref(c);
    }
    int has_actor = actor && actor->user_id > 0;
    const char *login = actor && actor->login ? actor->login : "system";
    const char *reqid = actor ? actor->request_id : NULL;
    char hash[65];
    row_hash(prev, id, at, has_actor ? actor->user_id : 0, has_actor, login, action, object_type,
             object_id, bj, aj, reqid, hash);

    db_stmt *ins = db_prepare(d,
                              "INSERT INTO audit_log (id, at, actor_id, actor_login, action, "
                              "object_type, object_id, before_json, after_json, request_id, "
                              "prev_hash, hash) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)",
                              e);
    int rc = -1;
    if (ins) {
        db_bind_int64(ins, 1, id);
        db_bind_text(ins, 2, at);
        if (has_actor)
            db_bind_int64(ins, 3, actor->user_id);
        else
            db_bind_null(ins, 3);
        db_bind_text(ins, 4, login);
        db_bind_text(ins, 5, action);
        db_bind_text(ins, 6, object_type);
        db_bind_text(ins, 7, object_id);
        db_bind_text(ins, 8, bj);
        db_bind_text(ins, 9, aj);
        db_bind_text(ins, 10, reqid);
        db_bind_text(ins, 11, prev);
        db_bind_text(ins, 12, hash);
        rc = db_step(ins) == DB_DONE ? 0 : err_internal(e, "audit insert: %s", db_errmsg(d));
        db_reset(ins);
    }
    free(bj);
    free(aj);
    if (rc != 0) return -1;
    return db_execf(d, e, "UPDATE audit_head SET last_id = $1, last_hash = $2 WHERE id = 1", "is",
                    id, hash);
}

int audit_verify(db *d, audit_verify_result *out, err *e) {
    memset(out, 0, sizeof(*out));
    out->ok = 1;
    db_stmt *s = db_query(d, e,
                          "SELECT id, at, actor_id, actor_login, action, object_type, object_id, "
                          "before_json, after_json, request_id, prev_hash, hash "
                          "FROM audit_log ORDER BY id",
                          "");
    if (!s) return -1;
    char prev[65] = "0000000000000000000000000000000000000000000000000000000000000000";
    int64_t expect_id = 1, last_id = 0;
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        int64_t id = db_column_int64(s, 0);
        out->rows++;
        const char *stored_prev = db_column_text(s, 10);
        const char *stored = db_column_text(s, 11);
        char h[65];
        row_hash(prev, id, db_column_text(s, 1) ? db_column_text(s, 1) : "", db_column_int64(s, 2),
                 db_column_type(s, 2) != DB_NULL, db_column_text(s, 3), db_column_text(s, 4),
                 db_column_text(s, 5), db_column_text(s, 6), db_column_text(s, 7),
                 db_column_text(s, 8), db_column_text(s, 9), h);
        const char *why = NULL;
        if (id != expect_id)
            why = "a row is missing before this one";
        else if (!stored_prev || strcmp(stored_prev, prev) != 0)
            why = "prev_hash does not match the previous row";
        else if (!stored || strcmp(stored, h) != 0)
            why = "the row's content does not match its hash";
        if (why) {
            out->ok = 0;
            out->first_broken = id;
            snprintf(out->reason, sizeof(out->reason), "%s", why);
            break;
        }
        snprintf(prev, sizeof(prev), "%s", stored);
        last_id = id;
        expect_id = id + 1;
    }
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "%s", db_errmsg(d));
    if (!out->ok) return 0;
    /* The head must point at the last row: otherwise rows were cut off the end. */
    s = db_query(d, e, "SELECT last_id, last_hash FROM audit_head WHERE id = 1", "");
    if (!s) return -1;
    if (db_step(s) == DB_ROW) {
        int64_t head_id = db_column_int64(s, 0);
        const char *head_hash = db_column_text(s, 1);
        if (head_id != last_id || !head_hash || strcmp(head_hash, prev) != 0) {
            out->ok = 0;
            out->first_broken = last_id + 1;
            snprintf(out->reason, sizeof(out->reason),
                     "the chain head names row %lld but the log ends at row %lld",
                     (long long)head_id, (long long)last_id);
        }
    } else {
        out->ok = 0;
        snprintf(out->reason, sizeof(out->reason), "the chain head row is missing");
    }
    db_reset(s);
    return 0;
}

json_t *audit_list(db *d, const audit_filter *f, err *e) {
    int limit = f->limit > 0 && f->limit <= 200 ? f->limit : 50;
    /* Optional filters use the "CAST($n AS T) IS NULL OR col = $n" form so one statement
     * serves all (the CAST tells PostgreSQL the parameter's type). */
    db_stmt *s = db_prepare(
        d,
        "SELECT id, at, actor_id, actor_login, action, object_type, object_id, before_json, "
        "after_json, request_id, hash FROM audit_log WHERE "
        "(CAST($1 AS BIGINT) IS NULL OR actor_id = $1) AND "
        "(CAST($2 AS TEXT) IS NULL OR actor_login = $2) AND "
        "(CAST($3 AS TEXT) IS NULL OR substr(action, 1, length($3)) = $3) AND "
        "(CAST($4 AS TEXT) IS NULL OR object_type = $4) AND "
        "(CAST($5 AS TEXT) IS NULL OR object_id = $5) AND "
        "(CAST($6 AS TEXT) IS NULL OR at >= $6) AND (CAST($7 AS TEXT) IS NULL OR at < $7) AND "
        "(CAST($8 AS BIGINT) IS NULL OR id < $8) "
        "ORDER BY id DESC LIMIT $9",
        e);
    if (!s) return NULL;
    if (f->actor_id > 0)
        db_bind_int64(s, 1, f->actor_id);
    else
        db_bind_null(s, 1);
    db_bind_text(s, 2, f->actor_login);
    db_bind_text(s, 3, f->action);
    db_bind_text(s, 4, f->object_type);
    db_bind_text(s, 5, f->object_id);
    db_bind_text(s, 6, f->since);
    db_bind_text(s, 7, f->until);
    if (f->before_id > 0)
        db_bind_int64(s, 8, f->before_id);
    else
        db_bind_null(s, 8);
    db_bind_int64(s, 9, limit + 1); /* one more row tells whether another page exists */
    json_t *items = json_array();
    int rc, n = 0, more = 0;
    int64_t last = 0;
    while ((rc = db_step(s)) == DB_ROW) {
        if (n == limit) {
            more = 1;
            break;
        }
        json_t *row = json_object();
        last = db_column_int64(s, 0);
        json_object_set_new(row, "id", json_integer(last));
        json_object_set_new(row, "at", jsonx_str_or_null(db_column_text(s, 1)));
        json_object_set_new(row, "actor_id",
                            db_column_type(s, 2) == DB_NULL ? json_null()
                                                            : json_integer(db_column_int64(s, 2)));
        json_object_set_new(row, "actor_login", jsonx_str_or_null(db_column_text(s, 3)));
        json_object_set_new(row, "action", jsonx_str_or_null(db_column_text(s, 4)));
        json_object_set_new(row, "object_type", jsonx_str_or_null(db_column_text(s, 5)));
        json_object_set_new(row, "object_id", jsonx_str_or_null(db_column_text(s, 6)));
        for (int c = 7; c <= 8; c++) {
            const char *t = db_column_text(s, c);
            json_t *v = t ? json_loads(t, JSON_DECODE_ANY, NULL) : NULL;
            json_object_set_new(row, c == 7 ? "before" : "after", v ? v : json_null());
        }
        json_object_set_new(row, "request_id", jsonx_str_or_null(db_column_text(s, 9)));
        json_object_set_new(row, "hash", jsonx_str_or_null(db_column_text(s, 10)));
        json_array_append_new(items, row);
        n++;
    }
    db_reset(s);
    if (!more && rc == DB_ERROR) {
        json_decref(items);
        err_internal(e, "%s", db_errmsg(d));
        return NULL;
    }
    return json_pack("{s:o, s:o}", "items", items, "next_before",
                     more ? json_integer(last) : json_null());
}
