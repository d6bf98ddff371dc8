/* migrate: apply embedded schema migrations in order (see migrate.h).
 *
 * One file serves both backends. Where a type or statement truly differs, a
 * migration may hold per-backend sections, each opened by a line that is
 * exactly "-- @sqlite" or "-- @postgres" and closed by "-- @end"; the lines of
 * the other backend's sections are dropped before the SQL runs:
 *
 *     -- @postgres
 *     CREATE INDEX … USING gin (…);
 *     -- @end
 *
 * Each migration runs in its own DB_TX_SERIAL transaction, which on
 * PostgreSQL also holds the cluster-wide write lock: two nodes starting at
 * once do not both apply it (the second sees it recorded and skips it). */
#include "db/migrate.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/xmalloc.h"
#include "db/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ensure_table(db *d, err *e) {
    static const char ddl[] =
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)";
    if (d->in_tx) return db_exec(d, ddl, e);
    if (db_begin(d, e) != 0) return -1;
    if (db_exec(d, ddl, e) != 0) {
        db_rollback(d);
        return -1;
    }
    return db_commit(d, e);
}

char *db_migration_sql(const char *sql, const char *backend) {
    size_t n = strlen(sql);
    char *out = xmalloc(n + 1);
    size_t o = 0;
    int skipping = 0, in_section = 0;
    const char *p = sql;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p + 1) : strlen(p);
        size_t body = len - (nl ? 1 : 0);
        while (body && (p[body - 1] == '\r' || p[body - 1] == ' '))
            body--;
        int marker = 1;
        if (body == 10 && !strncmp(p, "-- @sqlite", 10)) {
            in_section = 1;
            skipping = strcmp(backend, "sqlite") != 0;
        } else if (body == 12 && !strncmp(p, "-- @postgres", 12)) {
            in_section = 1;
            skipping = strcmp(backend, "postgres") != 0;
        } else if (body == 7 && !strncmp(p, "-- @end", 7) && in_section) {
            in_section = skipping = 0;
        } else {
            marker = 0;
        }
        if (!marker && !skipping) {
            memcpy(out + o, p, len);
            o += len;
        }
        p += len;
    }
    out[o] = '\0';
    return out;
}

int db_schema_version(db *d, err *e) {
    if (ensure_table(d, e) != 0) return -1;
    int64_t v = 0;
    int rc = db_query_int(d, e, &v, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", "");
    return rc < 0 ? -1 : (int)v;
}

int db_migrate(db *d, int *applied, err *e) {
    if (applied) *applied = 0;
    int current = db_schema_version(d, e);
    if (current < 0) return -1;
    for (int i = 0; i < migration_count; i++) {
        const struct migration *m = &migrations[i];
        if (m->version <= current) continue;
        char *filtered = db_migration_sql(m->sql, db_backend(d));
        char *sql = db_rewrite_ddl(d, filtered);
        free(filtered);
        char now[32];
        time_iso(now, sizeof(now), time_now());
        int rc = db_begin(d, e);
        int64_t done = 0;
        /* Another node may have applied it while we waited for the lock. */
        if (rc == 0)
            rc = db_query_int(d, e, &done,
                              "SELECT COUNT(*) FROM schema_migrations WHERE version = $1", "i",
                              (int64_t)m->version) < 0
                     ? -1
                     : 0;
        if (rc == 0 && done) {
            free(sql);
            if (db_commit(d, e) != 0) return -1;
            continue;
        }
        if (rc == 0) rc = db_exec(d, sql, e);
        if (rc == 0)
            rc = db_execf(d, e,
                          "INSERT INTO schema_migrations (version, name, applied_at) "
                          "VALUES ($1, $2, $3)",
                          "iss", (int64_t)m->version, m->name, now);
        free(sql);
        if (rc != 0) {
            db_rollback(d);
            char why[sizeof(e->message)];
            snprintf(why, sizeof(why), "%s", e ? e->message : "");
            err_set(e, e && e->status == 503 ? 503 : 500,
                    e && e->status == 503 ? "unavailable" : "internal", "",
                    "migration %s failed: %s", m->name, why);
            return -1;
        }
        if (db_commit(d, e) != 0) return -1;
        log_info("applied migration %s", m->name);
        if (applied) (*applied)++;
    }
    return 0;
}

int db_migration_status(db *d, migration_state **out, size_t *n, err *e) {
    *out = NULL;
    *n = 0;
    if (ensure_table(d, e) != 0) return -1;
    db_stmt *s = db_query(d, e,
                          "SELECT version, name, applied_at FROM schema_migrations "
                          "ORDER BY version",
                          "");
    if (!s) return -1;
    size_t cap = (size_t)migration_count + 8, len = 0;
    migration_state *st = xcalloc(cap, sizeof(*st));
    for (int i = 0; i < migration_count; i++) {
        st[len].version = migrations[i].version;
        snprintf(st[len].name, sizeof(st[len].name), "%s", migrations[i].name);
        st[len].known = 1;
        len++;
    }
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        int v = (int)db_column_int64(s, 0);
        migration_state *hit = NULL;
        for (size_t i = 0; i < len; i++)
            if (st[i].version == v) hit = &st[i];
        if (!hit) {
            /* Applied by a newer isle than this one. */
            if (len == cap) {
                cap *= 2;
                st = xrealloc(st, cap * sizeof(*st));
            }
            hit = &st[len++];
            memset(hit, 0, sizeof(*hit));
            hit->version = v;
            snprintf(hit->name, sizeof(hit->name), "%s", db_column_text(s, 1));
        }
        hit->applied = 1;
        snprintf(hit->applied_at, sizeof(hit->applied_at), "%s",
                 db_column_text(s, 2) ? db_column_text(s, 2) : "");
    }
    db_reset(s);
    if (rc == DB_ERROR) {
        free(st);
        return err_internal(e, "%s", db_errmsg(d));
    }
    *out = st;
    *n = len;
    return 0;
}
