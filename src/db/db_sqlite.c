/* db_sqlite: the SQLite backend of db.h.
 *
 * Each connection: WAL journal, synchronous=NORMAL (durable at checkpoint,
 * never corrupt), foreign_keys=ON, busy_timeout so that writers from other
 * threads wait instead of failing, BEGIN IMMEDIATE for writes (db.c). SQLite
 * accepts PostgreSQL-style $1 parameters natively. */
#include "db/db.h"
#include "base/xmalloc.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

typedef struct sqlite_db {
    db base;
    sqlite3 *conn;
} sqlite_db;

typedef struct sqlite_stmt {
    db_stmt base;
    sqlite3_stmt *st;
} sqlite_stmt;

#define CONN(d) (((sqlite_db *)(d))->conn)
#define ST(s)   (((sqlite_stmt *)(s))->st)

static int s_open(const char *dsn, db **out, err *e) {
    sqlite3 *c = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(dsn, &c, flags, NULL) != SQLITE_OK) {
        err_set(e, 500, "internal", "db", "cannot open database %s: %s", dsn,
                c ? sqlite3_errmsg(c) : "out of memory");
        sqlite3_close(c);
        return -1;
    }
    /* How long a writer waits for another (ISLE_DB_BUSY_MS, default 10 s) before the
     * request is answered 503. */
    const char *busy = getenv("ISLE_DB_BUSY_MS");
    long busy_ms = busy ? strtol(busy, NULL, 10) : 10000;
    sqlite3_busy_timeout(c, busy_ms >= 0 && busy_ms <= 600000 ? (int)busy_ms : 10000);
    sqlite3_extended_result_codes(c, 1);
    /* A bigger page cache (32 MiB per connection, allocated as used) and a checkpoint
     * every ~40 MB of WAL instead of ~4 MB: a case transition touches ~40 pages over
     * several tables and indexes, and frequent checkpoints set the write rate
     * (bench/cases.sh: +25% transitions/s, p99 0.7 ms instead of 4–5 ms). */
    const char *pragmas = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                          "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;"
                          "PRAGMA cache_size=-32768; PRAGMA wal_autocheckpoint=10000;";
    char *msg = NULL;
    if (sqlite3_exec(c, pragmas, NULL, NULL, &msg) != SQLITE_OK) {
        err_set(e, 500, "internal", "db", "cannot configure database: %s", msg ? msg : "?");
        sqlite3_free(msg);
        sqlite3_close(c);
        return -1;
    }
    sqlite_db *d = xcalloc(1, sizeof(*d));
    d->base.ops = &db_sqlite_ops;
    d->conn = c;
    *out = &d->base;
    return 0;
}

static void s_close(db *d) {
    sqlite3_close(CONN(d));
    free(d);
}

/* SQLite reads "$1" as a *named* parameter whose index is its order of first
 * appearance, so "... = $2 WHERE id = $1" would bind backwards. "?1" is the
 * numbered form with PostgreSQL's meaning: rewrite $N to ?N outside quotes. */
static char *numbered_params(const char *sql) {
    char *out = xstrdup(sql);
    char quote = 0;
    for (char *p = out; *p; p++) {
        if (quote) {
            if (*p == quote) quote = 0;
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
        } else if (*p == '$' && p[1] >= '0' && p[1] <= '9') {
            *p = '?';
        }
    }
    return out;
}

static db_stmt *s_prepare(db *d, const char *sql, err *e) {
    sqlite3_stmt *st = NULL;
    char *q = numbered_params(sql);
    int rc = sqlite3_prepare_v3(CONN(d), q, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    free(q);
    if (rc != SQLITE_OK) {
        err_internal(e, "SQL prepare failed: %s", sqlite3_errmsg(CONN(d)));
        return NULL;
    }
    sqlite_stmt *s = xcalloc(1, sizeof(*s));
    s->base.d = d;
    s->st = st;
    return &s->base;
}

static void s_finalize(db_stmt *s) {
    sqlite3_finalize(ST(s));
    free(s);
}

static int ok(int rc) {
    return rc == SQLITE_OK ? 0 : -1;
}
static int s_bind_int64(db_stmt *s, int i, int64_t v) {
    return ok(sqlite3_bind_int64(ST(s), i, v));
}
static int s_bind_double(db_stmt *s, int i, double v) {
    return ok(sqlite3_bind_double(ST(s), i, v));
}
static int s_bind_text(db_stmt *s, int i, const char *v, size_t n) {
    return ok(sqlite3_bind_text64(ST(s), i, v, n, SQLITE_TRANSIENT, SQLITE_UTF8));
}
static int s_bind_blob(db_stmt *s, int i, const void *v, size_t n) {
    return ok(sqlite3_bind_blob64(ST(s), i, v, n, SQLITE_TRANSIENT));
}
static int s_bind_null(db_stmt *s, int i) {
    return ok(sqlite3_bind_null(ST(s), i));
}

/* SQLITE_BUSY/LOCKED after the busy timeout: another writer held the database too
 * long. Transient, so callers answer 503 "retry" (db.c's db_fail), not 500. */
static int is_busy(int rc) {
    return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

static int s_step(db_stmt *s) {
    int rc = sqlite3_step(ST(s));
    if (rc == SQLITE_ROW) return DB_ROW;
    if (rc == SQLITE_DONE) return DB_DONE;
    s->d->unavailable = is_busy(rc);
    return DB_ERROR;
}

static void s_reset(db_stmt *s) {
    sqlite3_reset(ST(s));
    sqlite3_clear_bindings(ST(s));
}

static int s_column_count(db_stmt *s) {
    return sqlite3_column_count(ST(s));
}
static const char *s_column_name(db_stmt *s, int c) {
    return sqlite3_column_name(ST(s), c);
}
static int s_column_type(db_stmt *s, int c) {
    switch (sqlite3_column_type(ST(s), c)) {
    case SQLITE_INTEGER:
        return DB_INT;
    case SQLITE_FLOAT:
        return DB_FLOAT;
    case SQLITE_TEXT:
        return DB_TEXT;
    case SQLITE_BLOB:
        return DB_BLOB;
    default:
        return DB_NULL;
    }
}
static int64_t s_column_int64(db_stmt *s, int c) {
    return sqlite3_column_int64(ST(s), c);
}
static double s_column_double(db_stmt *s, int c) {
    return sqlite3_column_double(ST(s), c);
}
static const char *s_column_text(db_stmt *s, int c) {
    return (const char *)sqlite3_column_text(ST(s), c);
}
static const void *s_column_blob(db_stmt *s, int c, size_t *n) {
    const void *p = sqlite3_column_blob(ST(s), c);
    *n = (size_t)sqlite3_column_bytes(ST(s), c);
    return p;
}

static int s_exec(db *d, const char *sql, err *e) {
    char *msg = NULL;
    int rc = sqlite3_exec(CONN(d), sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        if (is_busy(rc))
            err_set(e, 503, "unavailable", "", "数据库正忙，请稍后重试 (%s)",
                    msg ? msg : sqlite3_errmsg(CONN(d)));
        else
            err_internal(e, "%s", msg ? msg : sqlite3_errmsg(CONN(d)));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static const char *s_errmsg(db *d) {
    return sqlite3_errmsg(CONN(d));
}
static int64_t s_changes(db *d) {
    return sqlite3_changes64(CONN(d));
}

static int s_backup(db *d, const char *path, err *e) {
    sqlite3 *dst = NULL;
    if (sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        err_set(e, 500, "internal", "out", "cannot create %s: %s", path,
                dst ? sqlite3_errmsg(dst) : "out of memory");
        sqlite3_close(dst);
        return -1;
    }
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", CONN(d), "main");
    if (!b) {
        err_internal(e, "backup failed: %s", sqlite3_errmsg(dst));
        sqlite3_close(dst);
        return -1;
    }
    /* Copy in steps so writers on other connections are not blocked for long;
     * the backup restarts by itself if the source changes meanwhile. */
    int rc;
    while ((rc = sqlite3_backup_step(b, 256)) == SQLITE_OK || rc == SQLITE_BUSY ||
           rc == SQLITE_LOCKED)
        sqlite3_sleep(5);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        err_internal(e, "backup failed: %s", sqlite3_errstr(rc));
        sqlite3_close(dst);
        return -1;
    }
    sqlite3_close(dst);
    return 0;
}

static const char *s_id_pk(void) {
    return "INTEGER PRIMARY KEY";
}

/* One writer at a time whatever the mode; a snapshot needs no write lock. */
static int s_begin(db *d, db_tx_mode mode, err *e) {
    return s_exec(d, mode == DB_TX_SNAPSHOT ? "BEGIN" : "BEGIN IMMEDIATE", e);
}

const db_ops db_sqlite_ops = {
    .name = "sqlite",
    .open = s_open,
    .close = s_close,
    .prepare = s_prepare,
    .bind_int64 = s_bind_int64,
    .bind_double = s_bind_double,
    .bind_text = s_bind_text,
    .bind_blob = s_bind_blob,
    .bind_null = s_bind_null,
    .step = s_step,
    .finalize = s_finalize,
    .reset = s_reset,
    .column_count = s_column_count,
    .column_name = s_column_name,
    .column_type = s_column_type,
    .column_int64 = s_column_int64,
    .column_double = s_column_double,
    .column_text = s_column_text,
    .column_blob = s_column_blob,
    .exec = s_exec,
    .errmsg = s_errmsg,
    .changes = s_changes,
    .backup = s_backup,
    .id_pk_ddl = s_id_pk,
    .begin = s_begin,
};
