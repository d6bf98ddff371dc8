/* Unit tests for storage (db, migrations), the audit chain and accounts,
 * on a real SQLite database in a temporary file. */
#include "test.h"

#include <stdlib.h>
#include <unistd.h>

#include "audit/audit.h"
#include "auth/auth.h"
#include "db/db.h"
#include "db/migrate.h"

static db *fresh_db(char *path, size_t n) {
    snprintf(path, n, "/tmp/isle-unit-XXXXXX");
    int fd = mkstemp(path);
    close(fd);
    db *d = NULL;
    err e = {0};
    if (db_open(path, &d, &e) != 0 || db_migrate(d, NULL, &e) != 0) {
        fprintf(stderr, "    cannot create test db: %s\n", e.message);
        return NULL;
    }
    return d;
}

static void drop_db(db *d, const char *path) {
    db_close(d);
    char p[300];
    unlink(path);
    snprintf(p, sizeof(p), "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", path);
    unlink(p);
}

static const audit_actor actor = {.user_id = 0, .login = "test", .request_id = "t-1"};

TEST(migrations_apply_once) {
    char path[64];
    db *d = fresh_db(path, sizeof(path));
    CHECK(d != NULL);
    if (!d) return;
    err e = {0};
    int applied = -1;
    CHECK_INT(db_migrate(d, &applied, &e), 0);
    CHECK_INT(applied, 0);
    CHECK_INT(db_schema_version(d, &e), migrations[migration_count - 1].version);
    drop_db(d, path);
}

TEST(db_helpers_and_rollback) {
    char path[64];
    db *d = fresh_db(path, sizeof(path));
    if (!d) return;
    err e = {0};
    CHECK_INT(db_exec(d, "CREATE TABLE t (id @id_pk@, name TEXT, v DOUBLE PRECISION)", &e), -1);
    char *ddl = db_rewrite_ddl(d, "CREATE TABLE t (id @id_pk@, name TEXT, v DOUBLE PRECISION)");
    CHECK(strstr(ddl, "INTEGER PRIMARY KEY") != NULL);
    CHECK_INT(db_exec(d, ddl, &e), 0);
    free(ddl);
    CHECK_INT(db_begin(d, &e), 0);
    CHECK_INT(db_execf(d, &e, "INSERT INTO t (name, v) VALUES ($1, $2)", "sd", "舟山", 1.5), 0);
    CHECK_INT(db_commit(d, &e), 0);
    CHECK_INT(db_begin(d, &e), 0);
    CHECK_INT(db_execf(d, &e, "INSERT INTO t (name, v) VALUES ($1, $2)", "sn", "gone"), 0);
    db_rollback(d);
    int64_t n = 0;
    CHECK_INT(db_query_int(d, &e, &n, "SELECT COUNT(*) FROM t", ""), 0);
    CHECK_INT(n, 1);
    CHECK_INT(db_query_int(d, &e, &n, "SELECT id FROM t WHERE name = $1", "s", "none"), 1);
    db_stmt *s = db_query(d, &e, "SELECT id, name, v, NULL AS x FROM t", "");
    json_t *rows = db_rows_json(s, 10, &e);
    CHECK_INT(json_array_size(rows), 1);
    json_t *r0 = json_array_get(rows, 0);
    CHECK_STR(json_string_value(json_object_get(r0, "name")), "舟山");
    CHECK(json_real_value(json_object_get(r0, "v")) == 1.5);
    CHECK(json_is_null(json_object_get(r0, "x")));
    json_decref(rows);
    /* a statement error reports and leaves no transaction open */
    CHECK_INT(db_execf(d, &e, "INSERT INTO nosuch VALUES (1)", ""), -1);
    CHECK_INT(db_begin(d, &e), 0);
    db_rollback(d);
    drop_db(d, path);
}

TEST(audit_chain_verifies_and_detects_tampering) {
    char path[64];
    db *d = fresh_db(path, sizeof(path));
    if (!d) return;
    err e = {0};
    for (int i = 0; i < 5; i++) {
        CHECK_INT(db_begin(d, &e), 0);
        json_t *after = json_pack("{s:i, s:s, s:s}", "n", i, "id_number", "330902195203140021",
                                  "password", "secret");
        CHECK_INT(audit_record(d, &actor, "thing.update", "thing", "7", NULL, after, &e), 0);
        json_decref(after);
        CHECK_INT(db_commit(d, &e), 0);
    }
    audit_verify_result v;
    CHECK_INT(audit_verify(d, &v, &e), 0);
    CHECK(v.ok);
    CHECK_INT(v.rows, 5);
    /* personal data is masked and secrets dropped */
    db_stmt *s = db_query(d, &e, "SELECT after_json FROM audit_log WHERE id = 1", "");
    CHECK_INT(db_step(s), DB_ROW);
    const char *aj = db_column_text(s, 0);
    CHECK(strstr(aj, "3309**********0021") != NULL);
    CHECK(strstr(aj, "secret") == NULL);
    db_reset(s);
    /* the list shows newest first and pages */
    audit_filter f = {.limit = 2};
    json_t *page = audit_list(d, &f, &e);
    CHECK_INT(json_array_size(json_object_get(page, "items")), 2);
    CHECK_INT(json_integer_value(
                  json_object_get(json_array_get(json_object_get(page, "items"), 0), "id")),
              5);
    CHECK_INT(json_integer_value(json_object_get(page, "next_before")), 4);
    json_decref(page);
    audit_filter last = {.limit = 2, .before_id = 3}; /* rows 2 and 1: nothing after */
    page = audit_list(d, &last, &e);
    CHECK_INT(json_array_size(json_object_get(page, "items")), 2);
    CHECK(json_is_null(json_object_get(page, "next_before")));
    json_decref(page);
    /* an audit row outside a transaction is refused */
    CHECK_INT(audit_record(d, &actor, "x", "y", NULL, NULL, NULL, &e), -1);
    /* tamper with row 3 */
    CHECK_INT(db_exec(d, "UPDATE audit_log SET after_json = '{}' WHERE id = 3", &e), 0);
    CHECK_INT(audit_verify(d, &v, &e), 0);
    CHECK(!v.ok);
    CHECK_INT(v.first_broken, 3);
    drop_db(d, path);
}

TEST(audit_detects_deleted_and_truncated_rows) {
    char path[64];
    db *d = fresh_db(path, sizeof(path));
    if (!d) return;
    err e = {0};
    for (int i = 0; i < 4; i++) {
        db_begin(d, &e);
        audit_record(d, &actor, "a", "b", NULL, NULL, NULL, &e);
        db_commit(d, &e);
    }
    audit_verify_result v;
    CHECK_INT(db_exec(d, "DELETE FROM audit_log WHERE id = 4", &e), 0);
    CHECK_INT(audit_verify(d, &v, &e), 0);
    CHECK(!v.ok); /* the head still names row 4 */
    CHECK_INT(db_exec(d, "DELETE FROM audit_log WHERE id = 2", &e), 0);
    CHECK_INT(audit_verify(d, &v, &e), 0);
    CHECK(!v.ok);
    CHECK_INT(v.first_broken, 3);
    drop_db(d, path);
}

TEST(auth_users_sessions_and_passwords) {
    char path[64];
    db *d = fresh_db(path, sizeof(path));
    if (!d) return;
    err e = {0};
    auth_user_input in = {.login = "amah",
                          .password = "long-enough-pw",
                          .role = "citizen",
                          .display_name = "阿妈",
                          .id_number = "330902195203140021",
                          .phone = "13905801234"};
    int64_t id = 0;
    CHECK_INT(auth_user_create(d, &actor, &in, &id, &e), 0);
    CHECK(id > 0);
    /* duplicate login, bad role, bad id number, short password */
    CHECK_INT(auth_user_create(d, &actor, &in, NULL, &e), -1);
    CHECK_INT(e.status, 409);
    auth_user_input bad = in;
    bad.login = "other";
    bad.role = "king";
    CHECK_INT(auth_user_create(d, &actor, &bad, NULL, &e), -1);
    CHECK_STR(e.field, "role");
    bad.role = "citizen";
    bad.id_number = "330902195203140022";
    CHECK_INT(auth_user_create(d, &actor, &bad, NULL, &e), -1);
    CHECK_STR(e.field, "id_number");
    bad.id_number = NULL;
    bad.password = "short";
    CHECK_INT(auth_user_create(d, &actor, &bad, NULL, &e), -1);
    CHECK_STR(e.field, "password");
    bad.password = "long-enough-pw";
    bad.login = "x";
    CHECK_INT(auth_user_create(d, &actor, &bad, NULL, &e), -1);
    CHECK_STR(e.field, "login");

    /* masked for others, plain for the owner */
    json_t *u = auth_user_get(d, id, 0, &e);
    CHECK_STR(json_string_value(json_object_get(u, "id_number")), "3309**********0021");
    json_decref(u);
    u = auth_user_get(d, id, 1, &e);
    CHECK_STR(json_string_value(json_object_get(u, "id_number")), "330902195203140021");
    json_decref(u);

    auth_session s;
    CHECK_INT(auth_login(d, "amah", "wrong-password", "cookie", NULL, &s, &e), -1);
    CHECK_INT(e.status, 401);
    CHECK_INT(auth_login(d, "nobody", "wrong-password", "cookie", NULL, &s, &e), -1);
    CHECK_INT(e.status, 401);
    CHECK_INT(auth_login(d, "amah", "long-enough-pw", "cookie", NULL, &s, &e), 0);
    auth_principal p;
    CHECK_INT(auth_session_lookup(d, s.token, &p, &e), 1);
    CHECK_INT(p.user_id, id);
    CHECK_INT(p.role, ROLE_CITIZEN);
    CHECK(p.via_cookie);
    CHECK_STR(p.csrf, s.csrf);
    CHECK_INT(auth_session_lookup(d, "not-a-real-token-at-all-xxxxxxxx", &p, &e), 0);

    /* the token is stored hashed only */
    int64_t n = 0;
    CHECK_INT(db_query_int(d, &e, &n, "SELECT COUNT(*) FROM sessions WHERE token_hash = $1", "s",
                           s.token),
              0);
    CHECK_INT(n, 0);

    /* password change ends other sessions but keeps the given one */
    auth_session s2;
    CHECK_INT(auth_login(d, "amah", "long-enough-pw", "token", NULL, &s2, &e), 0);
    CHECK_INT(auth_user_set_password(d, &actor, id, "new-password-1", s2.session_id, &e), 0);
    CHECK_INT(auth_session_lookup(d, s.token, &p, &e), 0);
    CHECK_INT(auth_session_lookup(d, s2.token, &p, &e), 1);
    CHECK(auth_password_ok(d, id, "new-password-1"));
    CHECK(!auth_password_ok(d, id, "long-enough-pw"));

    /* disabling ends sessions and refuses login */
    auth_user_patch patch = {.disabled = 1};
    CHECK_INT(auth_user_update(d, &actor, id, &patch, &e), 0);
    CHECK_INT(auth_session_lookup(d, s2.token, &p, &e), 0);
    CHECK_INT(auth_login(d, "amah", "new-password-1", "cookie", NULL, &s, &e), -1);

    /* list filters by role and text */
    json_t *l = auth_user_list(d, "citizen", "阿", 10, 0, &e);
    CHECK_INT(json_integer_value(json_object_get(l, "total")), 1);
    json_decref(l);
    l = auth_user_list(d, "admin", NULL, 10, 0, &e);
    CHECK_INT(json_integer_value(json_object_get(l, "total")), 0);
    json_decref(l);

    /* every change left an audit row, and the chain holds */
    audit_verify_result v;
    CHECK_INT(audit_verify(d, &v, &e), 0);
    CHECK(v.ok);
    CHECK_INT(v.rows, 5); /* create, 2 logins, password, update */
    drop_db(d, path);
}

TEST(db_parameters_bind_by_number_not_by_appearance) {
    char path[64];
    db *d = fresh_db(path, sizeof(path));
    if (!d) return;
    err e = {0};
    CHECK_INT(db_exec(d, "CREATE TABLE p (a INTEGER, b TEXT)", &e), 0);
    CHECK_INT(db_execf(d, &e, "INSERT INTO p (b, a) VALUES ($2, $1)", "is", (int64_t)7, "seven"),
              0);
    int64_t a = 0;
    CHECK_INT(db_query_int(d, &e, &a, "SELECT a FROM p WHERE b = $1 AND '$2' = '$2'", "s", "seven"),
              0);
    CHECK_INT(a, 7);
    CHECK_INT(db_execf(d, &e, "UPDATE p SET b = $2 WHERE a = $1", "is", (int64_t)7, "七"), 0);
    CHECK_INT(db_changes(d), 1);
    drop_db(d, path);
}

/* A writer that waits past the busy timeout for another gets 503 "unavailable" (retry),
 * not 500, whether it fails at BEGIN or at a statement; the other writer is unharmed. */
TEST(db_sqlite_busy_is_503) {
    char path[64];
    setenv("ISLE_DB_BUSY_MS", "50", 1);
    db *a = fresh_db(path, sizeof(path));
    db *b = NULL;
    err e = {0};
    CHECK(a != NULL);
    if (!a) goto out;
    CHECK_INT(db_open(path, &b, &e), 0);
    if (!b) goto out;
    CHECK_INT(db_exec(a, "CREATE TABLE busy_t (v INTEGER)", &e), 0);
    CHECK_INT(db_begin(a, &e), 0);
    CHECK_INT(db_execf(a, &e, "INSERT INTO busy_t (v) VALUES (1)", ""), 0);
    err eb = {0};
    CHECK_INT(db_begin(b, &eb), -1);
    CHECK_INT(eb.status, 503);
    CHECK_STR(eb.code, "unavailable");
    err es = {0};
    CHECK_INT(db_execf(b, &es, "INSERT INTO busy_t (v) VALUES (2)", ""), -1);
    CHECK_INT(es.status, 503);
    CHECK_INT(db_commit(a, &e), 0);
    int64_t n = 0;
    CHECK_INT(db_query_int(b, &e, &n, "SELECT COUNT(*) FROM busy_t", ""), 0);
    CHECK_INT(n, 1);
out:
    if (b) db_close(b);
    if (a) drop_db(a, path);
    unsetenv("ISLE_DB_BUSY_MS");
}
