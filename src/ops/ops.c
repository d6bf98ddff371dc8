/* ops: `isle migrate status` and `isle migrate-data` (see ops.h).
 *
 * migrate-data builds its SQL from table and column names, the one place that
 * does: names come from the embedded migrations (tables) and from the source's
 * result columns, and each is checked to be a plain lower-case identifier
 * before use; values always travel as bound parameters. */
#include "ops/ops.h"
#include "audit/audit.h"
#include "base/xmalloc.h"
#include "db/migrate.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int ident_ok(const char *s) {
    size_t n = s ? strlen(s) : 0;
    return n >= 1 && n <= 63 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n &&
           !(s[0] >= '0' && s[0] <= '9');
}

/* Tables created by the embedded migrations, in creation order (so that a table comes
 * after every table it references). schema_migrations comes first. */
static char **migration_tables(size_t *n) {
    size_t cap = 64, len = 0;
    char **out = xcalloc(cap, sizeof(*out));
    out[len++] = xstrdup("schema_migrations");
    for (int i = 0; i < migration_count; i++) {
        const char *p = migrations[i].sql;
        while ((p = strstr(p, "CREATE TABLE "))) {
            p += 13;
            if (!strncmp(p, "IF NOT EXISTS ", 14)) p += 14;
            size_t k = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_");
            if (k == 0 || k > 63) continue;
            char name[64];
            memcpy(name, p, k);
            name[k] = '\0';
            int dup = 0;
            for (size_t j = 0; j < len; j++)
                if (!strcmp(out[j], name)) dup = 1;
            if (dup) continue;
            if (len + 1 == cap) {
                cap *= 2;
                out = xrealloc(out, cap * sizeof(*out));
            }
            out[len++] = xstrdup(name);
        }
    }
    *n = len;
    return out;
}

static void free_tables(char **t, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(t[i]);
    free(t);
}

static int count_rows(db *d, const char *table, long long *out, err *e) {
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", table);
    int64_t v = 0;
    if (db_query_int(d, e, &v, sql, "") != 0) return -1;
    *out = (long long)v;
    return 0;
}

/* Tables that hold rows in a freshly migrated database: schema_migrations and every
 * table a migration inserts into. The copy replaces their rows with the source's. */
static int seeded(const char *t) {
    if (!strcmp(t, "schema_migrations")) return 1;
    size_t n = strlen(t);
    for (int i = 0; i < migration_count; i++)
        for (const char *p = migrations[i].sql; (p = strstr(p, "INSERT INTO ")); p++)
            if (!strncmp(p + 12, t, n) &&
                (!p[12 + n] || !strchr("abcdefghijklmnopqrstuvwxyz0123456789_", p[12 + n])))
                return 1;
    return 0;
}

static int target_empty(db *dst, char **tables, size_t n, err *e) {
    for (size_t i = 0; i < n; i++) {
        long long c = 0;
        if (count_rows(dst, tables[i], &c, e) != 0) return -1;
        if (c && !seeded(tables[i]))
            return err_conflict(e, "to",
                                "the target database is not empty (table %s has %lld rows); "
                                "migrate-data copies into a new, empty database only",
                                tables[i], c);
    }
    int64_t last = 0;
    if (db_query_int(dst, e, &last, "SELECT last_id FROM audit_head WHERE id = 1", "") < 0)
        return -1;
    if (last)
        return err_conflict(e, "to",
                            "the target database is not empty (its audit trail has %lld "
                            "rows recorded)",
                            (long long)last);
    return 0;
}

/* Copy one table: every row of src into dst with the same column values. */
static int copy_table(db *src, db *dst, const char *table, long long *copied, err *e) {
    char sql[4096];
    snprintf(sql, sizeof(sql), "SELECT * FROM %s", table);
    db_stmt *s = db_query(src, e, sql, "");
    if (!s) return -1;
    int ncol = db_column_count(s);
    if (ncol < 1 || ncol > 64) {
        db_reset(s);
        return err_internal(e, "table %s: unexpected column count %d", table, ncol);
    }
    size_t o = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO %s (", table);
    for (int c = 0; c < ncol; c++) {
        const char *name = db_column_name(s, c);
        if (!ident_ok(name)) {
            db_reset(s);
            return err_internal(e, "table %s: column name not copyable", table);
        }
        o += (size_t)snprintf(sql + o, sizeof(sql) - o, "%s%s", c ? ", " : "", name);
    }
    o += (size_t)snprintf(sql + o, sizeof(sql) - o, ") VALUES (");
    for (int c = 0; c < ncol; c++)
        o += (size_t)snprintf(sql + o, sizeof(sql) - o, "%s$%d", c ? ", " : "", c + 1);
    snprintf(sql + o, sizeof(sql) - o, ")");
    if (o + 2 >= sizeof(sql)) {
        db_reset(s);
        return err_internal(e, "table %s: statement too long", table);
    }
    char *insert = xstrdup(sql);
    int rc, result = 0;
    long long n = 0;
    while ((rc = db_step(s)) == DB_ROW) {
        db_stmt *ins = db_prepare(dst, insert, e);
        if (!ins) {
            result = -1;
            break;
        }
        for (int c = 0; c < ncol && result == 0; c++) {
            int brc;
            size_t len;
            const void *blob;
            switch (db_column_type(s, c)) {
            case DB_INT:
                brc = db_bind_int64(ins, c + 1, db_column_int64(s, c));
                break;
            case DB_FLOAT:
                brc = db_bind_double(ins, c + 1, db_column_double(s, c));
                break;
            case DB_TEXT:
                brc = db_bind_text(ins, c + 1, db_column_text(s, c));
                break;
            case DB_BLOB:
                blob = db_column_blob(s, c, &len);
                brc = db_bind_blob(ins, c + 1, blob, len);
                break;
            default:
                brc = db_bind_null(ins, c + 1);
                break;
            }
            if (brc != 0) result = err_internal(e, "table %s: bind failed", table);
        }
        if (result == 0 && db_step(ins) == DB_ERROR)
            result = err_internal(e, "table %s, row %lld: %s", table, n + 1, db_errmsg(dst));
        db_reset(ins);
        if (result != 0) break;
        n++;
    }
    if (result == 0 && rc == DB_ERROR)
        result = err_internal(e, "reading %s: %s", table, db_errmsg(src));
    db_reset(s);
    free(insert);
    *copied = n;
    return result;
}

int ops_migrate_data(db *src, db *dst, ops_table_count **counts, size_t *ncounts, FILE *out,
                     err *e) {
    *counts = NULL;
    *ncounts = 0;
    int want = migrations[migration_count - 1].version;
    int have = db_schema_version(src, e);
    if (have < 0) return -1;
    if (have != want)
        return err_invalid(e, "from",
                           "the source is at schema version %d and this isle at %d: run `isle "
                           "--db SOURCE init` with this isle first",
                           have, want);
    if (db_migrate(dst, NULL, e) != 0) return -1;
    size_t n = 0;
    char **tables = migration_tables(&n);
    if (target_empty(dst, tables, n, e) != 0) {
        free_tables(tables, n);
        return -1;
    }
    ops_table_count *tc = xcalloc(n, sizeof(*tc));
    int rc = db_begin_mode(src, DB_TX_SNAPSHOT, e);
    if (rc == 0 && db_begin(dst, e) != 0) {
        db_rollback(src);
        rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        snprintf(tc[i].table, sizeof(tc[i].table), "%s", tables[i]);
        char del[128];
        snprintf(del, sizeof(del), "DELETE FROM %s", tables[i]);
        long long copied = 0;
        if ((seeded(tables[i]) && db_execf(dst, e, del, "") != 0) ||
            copy_table(src, dst, tables[i], &copied, e) != 0 ||
            db_reset_identity(dst, tables[i], e) != 0)
            rc = -1;
    }
    /* Verify inside the transaction: a mismatch leaves the target as empty as it was. */
    int mismatch = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (count_rows(src, tables[i], &tc[i].source, e) != 0 ||
            count_rows(dst, tables[i], &tc[i].target, e) != 0)
            rc = -1;
        else if (tc[i].source != tc[i].target)
            mismatch = 1;
    }
    audit_verify_result v = {0};
    if (rc == 0 && audit_verify(dst, &v, e) != 0) rc = -1;
    if (out && rc == 0) {
        fprintf(out, "%-28s %10s %10s\n", "table", "source", "target");
        for (size_t i = 0; i < n; i++)
            fprintf(out, "%-28s %10lld %10lld  %s\n", tc[i].table, tc[i].source, tc[i].target,
                    tc[i].source == tc[i].target ? "ok" : "MISMATCH");
        if (v.ok)
            fprintf(out, "audit trail on the target: intact, %lld rows, hash chain verified\n",
                    (long long)v.rows);
        else
            fprintf(out, "audit trail on the target: BROKEN at row %lld: %s\n",
                    (long long)v.first_broken, v.reason);
    }
    if (rc == 0 && (mismatch || !v.ok))
        rc = err_set(e, 500, "internal", "",
                     mismatch ? "row counts differ between source and target; nothing was kept"
                              : "the audit trail does not verify on the target; nothing was kept");
    db_rollback(src);
    if (rc == 0) {
        if (db_commit(dst, e) != 0) rc = -1;
    } else {
        db_rollback(dst);
    }
    free_tables(tables, n);
    if (rc != 0) {
        free(tc);
        return -1;
    }
    *counts = tc;
    *ncounts = n;
    return 0;
}

/* ---------- the commands ---------- */

static int fail(const char *what, const err *e) {
    if (e->field[0])
        fprintf(stderr, "isle: %s: %s (field: %s)\n", what, e->message, e->field);
    else
        fprintf(stderr, "isle: %s: %s\n", what, e->message);
    return 1;
}

static int migrate_status(const cli_env *env) {
    db *d;
    err e = {0};
    if (db_open(env->db_path, &d, &e) != 0) return fail("database", &e);
    migration_state *st = NULL;
    size_t n = 0;
    int rc = db_migration_status(d, &st, &n, &e);
    db_close(d);
    if (rc != 0) return fail("migrate status", &e);
    int pending = 0, unknown = 0;
    printf("%-8s %-32s %-8s %s\n", "version", "name", "state", "applied at");
    for (size_t i = 0; i < n; i++) {
        const char *state = st[i].applied ? (st[i].known ? "applied" : "unknown") : "pending";
        printf("%-8d %-32s %-8s %s\n", st[i].version, st[i].name, state,
               st[i].applied ? st[i].applied_at : "-");
        pending += !st[i].applied;
        unknown += !st[i].known;
    }
    printf("%d pending", pending);
    if (unknown)
        printf(", %d applied by a newer isle than this one (%s)", unknown, "upgrade this binary");
    printf("%s\n", pending ? "; `isle init` (or `isle serve`) applies them" : "");
    free(st);
    return 0;
}

static int migrate_data(const cli_env *env, int argc, char **argv) {
    (void)env;
    const char *from = NULL, *to = NULL;
    for (int i = 0; i < argc; i++) {
        const char **slot = !strcmp(argv[i], "--from") ? &from
                            : !strcmp(argv[i], "--to") ? &to
                                                       : NULL;
        if (!slot) {
            fprintf(stderr, "isle: unknown argument %s\n", argv[i]);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "isle: option %s needs a value\n", argv[i]);
            return 2;
        }
        *slot = argv[++i];
    }
    if (!from || !to) {
        fprintf(stderr,
                "usage: isle migrate-data --from sqlite:PATH --to postgres://USER@HOST:PORT/DB\n");
        return 2;
    }
    if (!strcmp(from, to)) {
        fprintf(stderr, "isle: --from and --to name the same database\n");
        return 2;
    }
    const char *path = db_dsn_path(from);
    if (path && access(path, R_OK) != 0) {
        fprintf(stderr, "isle: migrate-data: cannot read %s\n", path);
        return 1;
    }
    db *src = NULL, *dst = NULL;
    err e = {0};
    if (db_open(from, &src, &e) != 0) return fail("source database", &e);
    if (db_open(to, &dst, &e) != 0) {
        db_close(src);
        return fail("target database", &e);
    }
    ops_table_count *counts = NULL;
    size_t n = 0;
    int rc = ops_migrate_data(src, dst, &counts, &n, stdout, &e);
    db_close(src);
    db_close(dst);
    if (rc != 0) return fail("migrate-data", &e);
    long long rows = 0;
    for (size_t i = 0; i < n; i++)
        rows += counts[i].target;
    free(counts);
    char red[512];
    printf("copied %lld rows in %zu tables into %s\n", rows, n,
           db_dsn_redact(to, red, sizeof(red)));
    return 0;
}

int ops_cli(const cli_env *env, int argc, char **argv) {
    if (!strcmp(argv[0], "migrate-data")) return migrate_data(env, argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "status") && argc == 2) return migrate_status(env);
    fprintf(stderr,
            "usage: isle migrate status\n"
            "       isle migrate-data --from sqlite:PATH --to postgres://USER@HOST:PORT/DB\n");
    return 2;
}
