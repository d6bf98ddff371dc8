/* db: storage behind a small vtable, so SQLite and PostgreSQL share one API.
 *
 * One `db` is one connection, owned by one thread (the HTTP server opens one
 * per worker). SQL is written once for both backends: standard SQL with $1..$n
 * parameters, TEXT/INTEGER/BIGINT/DOUBLE PRECISION types, ISO-8601 TEXT times,
 * `INSERT ... RETURNING id` instead of backend-specific last-id calls where it
 * matters. DDL may use the token `@id_pk@`, rewritten per backend to an
 * auto-increment primary key.
 *
 * Statements from db_prepare() are cached per connection by SQL text: do not
 * finalize them; call db_reset() (or let db_prepare() reset) before reuse.
 * Every write runs inside db_begin()/db_commit() (BEGIN IMMEDIATE on SQLite). */
#ifndef ISLE_DB_H
#define ISLE_DB_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

typedef struct db db;
typedef struct db_stmt db_stmt;
struct db_ops;

/* Backends embed these as their first member. */
struct db {
    const struct db_ops *ops;
    struct db_cache_entry *cache; /* prepared statements by SQL text */
    size_t cache_len, cache_cap;
    int in_tx;
};
struct db_stmt {
    db *d;
};

enum { DB_ROW = 1, DB_DONE = 0, DB_ERROR = -1 };
enum db_type { DB_NULL = 0, DB_INT = 1, DB_FLOAT = 2, DB_TEXT = 3, DB_BLOB = 4 };

/** The backend interface. Each backend fills one static instance. */
typedef struct db_ops {
    const char *name;
    int (*open)(const char *dsn, db **out, err *e);
    void (*close)(db *d);
    db_stmt *(*prepare)(db *d, const char *sql, err *e);
    int (*bind_int64)(db_stmt *s, int idx, int64_t v);
    int (*bind_double)(db_stmt *s, int idx, double v);
    int (*bind_text)(db_stmt *s, int idx, const char *v, size_t n);
    int (*bind_blob)(db_stmt *s, int idx, const void *v, size_t n);
    int (*bind_null)(db_stmt *s, int idx);
    int (*step)(db_stmt *s);
    void (*finalize)(db_stmt *s);
    void (*reset)(db_stmt *s);
    int (*column_count)(db_stmt *s);
    const char *(*column_name)(db_stmt *s, int col);
    int (*column_type)(db_stmt *s, int col);
    int64_t (*column_int64)(db_stmt *s, int col);
    double (*column_double)(db_stmt *s, int col);
    const char *(*column_text)(db_stmt *s, int col);
    const void *(*column_blob)(db_stmt *s, int col, size_t *n);
    int (*exec)(db *d, const char *sql, err *e);
    const char *(*errmsg)(db *d);
    int64_t (*changes)(db *d);
    int (*backup)(db *d, const char *path, err *e);
    const char *(*id_pk_ddl)(void);
} db_ops;

/** Open a connection. dsn is a file path for SQLite ("postgres://..." reserved for the
 *  PostgreSQL backend). On success *out is owned by the caller (db_close()). */
int db_open(const char *dsn, db **out, err *e);
/** Close the connection and every cached statement. NULL is accepted. */
void db_close(db *d);
/** The backend name ("sqlite" or "postgres"). */
const char *db_backend(db *d);

/** Prepare (or fetch from the cache and reset) a statement. NULL on error, with e filled.
 *  The statement belongs to the connection; never free it. */
db_stmt *db_prepare(db *d, const char *sql, err *e);
int db_bind_int64(db_stmt *s, int idx, int64_t v);
int db_bind_double(db_stmt *s, int idx, double v);
/** Bind text; v == NULL binds SQL NULL. The text is copied. */
int db_bind_text(db_stmt *s, int idx, const char *v);
int db_bind_textn(db_stmt *s, int idx, const char *v, size_t n);
int db_bind_blob(db_stmt *s, int idx, const void *v, size_t n);
int db_bind_null(db_stmt *s, int idx);
/** Step: DB_ROW, DB_DONE or DB_ERROR. Time spent is counted in db_time_total_ns(). */
int db_step(db_stmt *s);
void db_reset(db_stmt *s);
int db_column_count(db_stmt *s);
const char *db_column_name(db_stmt *s, int col);
int db_column_type(db_stmt *s, int col);
int64_t db_column_int64(db_stmt *s, int col);
double db_column_double(db_stmt *s, int col);
/** Text of a column, or NULL for SQL NULL. Valid until the next step/reset. */
const char *db_column_text(db_stmt *s, int col);
const void *db_column_blob(db_stmt *s, int col, size_t *n);

/** Run one or more statements without parameters (DDL, pragmas). */
int db_exec(db *d, const char *sql, err *e);
/** Start a write transaction (SQLite: BEGIN IMMEDIATE). */
int db_begin(db *d, err *e);
int db_commit(db *d, err *e);
/** Roll back; safe to call when no transaction is open. */
void db_rollback(db *d);
/** Rows changed by the last statement. */
int64_t db_changes(db *d);
const char *db_errmsg(db *d);
/** Consistent online copy of the whole database into a new file at path. */
int db_backup(db *d, const char *path, err *e);
/** Replace `@id_pk@` in DDL with the backend's auto-increment key. Caller frees. */
char *db_rewrite_ddl(db *d, const char *sql);

/* Convenience helpers built on the vtable. `fmt` describes the parameters bound to
 * $1..$n in order: 'i' int64_t, 'd' double, 's' const char * (NULL binds NULL),
 * 'n' SQL NULL (no argument). */

/** Prepare and bind in one go. NULL on error (e filled). */
db_stmt *db_query(db *d, err *e, const char *sql, const char *fmt, ...);
/** Prepare, bind, step to completion. Returns 0 or -1. */
int db_execf(db *d, err *e, const char *sql, const char *fmt, ...);
/** Run a query returning one integer (first column of the first row).
 *  Returns 0 and sets *out, 1 when there is no row, -1 on error. */
int db_query_int(db *d, err *e, int64_t *out, const char *sql, const char *fmt, ...);

/** Total nanoseconds spent inside db_step()/db_exec() by all threads (for /metrics). */
uint64_t db_time_total_ns(void);

/* Registered backends. */
extern const db_ops db_sqlite_ops;

#include <jansson.h>
/** The current row as a JSON object keyed by column name (INTEGER → integer,
 *  REAL → real, TEXT → string, NULL → null). Caller owns the result. */
json_t *db_row_json(db_stmt *s);
/** Step through up to max rows into a JSON array of row objects; the statement
 *  is reset afterwards. NULL on a step error (e filled). Caller owns the result. */
json_t *db_rows_json(db_stmt *s, size_t max, err *e);
#endif
