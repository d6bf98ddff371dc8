/* migrate: apply embedded schema migrations in order (see migrate.h). */
#include "db/migrate.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "db/db.h"

#include <stdio.h>
#include <stdlib.h>

static int ensure_table(db *d, err *e) {
    return db_exec(d,
                   "CREATE TABLE IF NOT EXISTS schema_migrations ("
                   " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
                   e);
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
        char *sql = db_rewrite_ddl(d, m->sql);
        char now[32];
        time_iso(now, sizeof(now), time_now());
        int rc = db_begin(d, e);
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
            err_set(e, 500, "internal", "", "migration %s failed: %s", m->name, why);
            return -1;
        }
        if (db_commit(d, e) != 0) return -1;
        log_info("applied migration %s", m->name);
        if (applied) (*applied)++;
    }
    return 0;
}
