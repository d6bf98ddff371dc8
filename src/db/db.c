/* db: backend dispatch, the statement cache and small helpers (see db.h).
 *
 * The cache is an open-addressing table keyed by the SQL text pointer's
 * content; callers use string literals, so the set is small and fixed, and a
 * linear probe over a few dozen entries is cheaper than anything cleverer. */
#include "db/db.h"
#include "base/timeutil.h"
#include "base/xmalloc.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct db_cache_entry {
    char *sql;
    uint64_t hash;
    db_stmt *stmt;
};

static _Atomic uint64_t db_time_ns;

uint64_t db_time_total_ns(void) {
    return atomic_load(&db_time_ns);
}

static uint64_t fnv1a(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

int db_open(const char *dsn, db **out, err *e) {
    if (strncmp(dsn, "postgres://", 11) == 0 || strncmp(dsn, "postgresql://", 13) == 0)
        return err_set(e, 500, "internal", "db", "the PostgreSQL backend is not built in yet");
    int rc = db_sqlite_ops.open(dsn, out, e);
    if (rc == 0) {
        (*out)->cache = NULL;
        (*out)->cache_len = (*out)->cache_cap = 0;
        (*out)->in_tx = 0;
    }
    return rc;
}

void db_close(db *d) {
    if (!d) return;
    for (size_t i = 0; i < d->cache_len; i++) {
        d->ops->finalize(d->cache[i].stmt);
        free(d->cache[i].sql);
    }
    free(d->cache);
    d->cache = NULL;
    d->ops->close(d);
}

const char *db_backend(db *d) {
    return d->ops->name;
}

db_stmt *db_prepare(db *d, const char *sql, err *e) {
    uint64_t h = fnv1a(sql);
    for (size_t i = 0; i < d->cache_len; i++) {
        if (d->cache[i].hash == h && strcmp(d->cache[i].sql, sql) == 0) {
            d->ops->reset(d->cache[i].stmt);
            return d->cache[i].stmt;
        }
    }
    db_stmt *s = d->ops->prepare(d, sql, e);
    if (!s) return NULL;
    if (d->cache_len == d->cache_cap) {
        d->cache_cap = d->cache_cap ? d->cache_cap * 2 : 32;
        d->cache = xrealloc(d->cache, d->cache_cap * sizeof(*d->cache));
    }
    d->cache[d->cache_len].sql = xstrdup(sql);
    d->cache[d->cache_len].hash = h;
    d->cache[d->cache_len].stmt = s;
    d->cache_len++;
    return s;
}

int db_bind_int64(db_stmt *s, int idx, int64_t v) {
    return s->d->ops->bind_int64(s, idx, v);
}
int db_bind_double(db_stmt *s, int idx, double v) {
    return s->d->ops->bind_double(s, idx, v);
}
int db_bind_text(db_stmt *s, int idx, const char *v) {
    return v ? s->d->ops->bind_text(s, idx, v, strlen(v)) : s->d->ops->bind_null(s, idx);
}
int db_bind_textn(db_stmt *s, int idx, const char *v, size_t n) {
    return s->d->ops->bind_text(s, idx, v, n);
}
int db_bind_blob(db_stmt *s, int idx, const void *v, size_t n) {
    return s->d->ops->bind_blob(s, idx, v, n);
}
int db_bind_null(db_stmt *s, int idx) {
    return s->d->ops->bind_null(s, idx);
}

int db_step(db_stmt *s) {
    uint64_t t0 = time_mono_ns();
    int rc = s->d->ops->step(s);
    atomic_fetch_add(&db_time_ns, time_mono_ns() - t0);
    return rc;
}

void db_reset(db_stmt *s) {
    s->d->ops->reset(s);
}
int db_column_count(db_stmt *s) {
    return s->d->ops->column_count(s);
}
const char *db_column_name(db_stmt *s, int col) {
    return s->d->ops->column_name(s, col);
}
int db_column_type(db_stmt *s, int col) {
    return s->d->ops->column_type(s, col);
}
int64_t db_column_int64(db_stmt *s, int col) {
    return s->d->ops->column_int64(s, col);
}
double db_column_double(db_stmt *s, int col) {
    return s->d->ops->column_double(s, col);
}
const char *db_column_text(db_stmt *s, int col) {
    return s->d->ops->column_text(s, col);
}
const void *db_column_blob(db_stmt *s, int col, size_t *n) {
    return s->d->ops->column_blob(s, col, n);
}

int db_exec(db *d, const char *sql, err *e) {
    uint64_t t0 = time_mono_ns();
    int rc = d->ops->exec(d, sql, e);
    atomic_fetch_add(&db_time_ns, time_mono_ns() - t0);
    return rc;
}

int db_begin(db *d, err *e) {
    if (d->in_tx) return err_internal(e, "nested transaction");
    if (db_exec(d, d->ops == &db_sqlite_ops ? "BEGIN IMMEDIATE" : "BEGIN", e) != 0) return -1;
    d->in_tx = 1;
    return 0;
}

int db_commit(db *d, err *e) {
    int rc = db_exec(d, "COMMIT", e);
    if (rc != 0) db_rollback(d);
    d->in_tx = 0;
    return rc;
}

void db_rollback(db *d) {
    if (!d->in_tx) return;
    /* Reset cached statements first: an active read statement would keep the
     * transaction's locks. */
    for (size_t i = 0; i < d->cache_len; i++)
        d->ops->reset(d->cache[i].stmt);
    d->ops->exec(d, "ROLLBACK", NULL);
    d->in_tx = 0;
}

int64_t db_changes(db *d) {
    return d->ops->changes(d);
}
const char *db_errmsg(db *d) {
    return d->ops->errmsg(d);
}
int db_backup(db *d, const char *path, err *e) {
    return d->ops->backup(d, path, e);
}

char *db_rewrite_ddl(db *d, const char *sql) {
    static const char token[] = "@id_pk@";
    const char *rep = d->ops->id_pk_ddl();
    size_t tl = sizeof(token) - 1, rl = strlen(rep), n = 0;
    for (const char *p = strstr(sql, token); p; p = strstr(p + tl, token))
        n++;
    char *out = xmalloc(strlen(sql) + n * rl + 1);
    char *o = out;
    const char *p = sql, *q;
    while ((q = strstr(p, token))) {
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, rep, rl);
        o += rl;
        p = q + tl;
    }
    size_t rest = strlen(p);
    memcpy(o, p, rest + 1);
    return out;
}

static int bind_va(db_stmt *s, const char *fmt, va_list ap) {
    int idx = 1;
    for (const char *f = fmt ? fmt : ""; *f; f++, idx++) {
        int rc;
        switch (*f) {
        case 'i':
            rc = db_bind_int64(s, idx, va_arg(ap, int64_t));
            break;
        case 'd':
            rc = db_bind_double(s, idx, va_arg(ap, double));
            break;
        case 's':
            rc = db_bind_text(s, idx, va_arg(ap, const char *));
            break;
        case 'n':
            rc = db_bind_null(s, idx);
            break;
        default:
            abort(); /* a programming error, caught by any test */
        }
        if (rc != 0) return -1;
    }
    return 0;
}

db_stmt *db_query(db *d, err *e, const char *sql, const char *fmt, ...) {
    db_stmt *s = db_prepare(d, sql, e);
    if (!s) return NULL;
    va_list ap;
    va_start(ap, fmt);
    int rc = bind_va(s, fmt, ap);
    va_end(ap);
    if (rc != 0) {
        err_internal(e, "bind failed: %s", db_errmsg(d));
        return NULL;
    }
    return s;
}

int db_execf(db *d, err *e, const char *sql, const char *fmt, ...) {
    db_stmt *s = db_prepare(d, sql, e);
    if (!s) return -1;
    va_list ap;
    va_start(ap, fmt);
    int rc = bind_va(s, fmt, ap);
    va_end(ap);
    if (rc != 0) return err_internal(e, "bind failed: %s", db_errmsg(d));
    while ((rc = db_step(s)) == DB_ROW) {
    }
    if (rc == DB_ERROR) {
        const char *m = db_errmsg(d);
        int status = strstr(m, "UNIQUE") || strstr(m, "unique") ? 409 : 500;
        err_set(e, status, status == 409 ? "conflict" : "internal", "", "%s", m);
        db_reset(s);
        return -1;
    }
    db_reset(s);
    return 0;
}

int db_query_int(db *d, err *e, int64_t *out, const char *sql, const char *fmt, ...) {
    db_stmt *s = db_prepare(d, sql, e);
    if (!s) return -1;
    va_list ap;
    va_start(ap, fmt);
    int rc = bind_va(s, fmt, ap);
    va_end(ap);
    if (rc != 0) return err_internal(e, "bind failed: %s", db_errmsg(d));
    rc = db_step(s);
    if (rc == DB_ERROR) {
        err_internal(e, "%s", db_errmsg(d));
        db_reset(s);
        return -1;
    }
    if (rc == DB_DONE) {
        db_reset(s);
        return 1;
    }
    *out = db_column_int64(s, 0);
    db_reset(s);
    return 0;
}

json_t *db_row_json(db_stmt *s) {
    json_t *o = json_object();
    int n = db_column_count(s);
    for (int i = 0; i < n; i++) {
        json_t *v;
        switch (db_column_type(s, i)) {
        case DB_INT:
            v = json_integer(db_column_int64(s, i));
            break;
        case DB_FLOAT:
            v = json_real(db_column_double(s, i));
            break;
        case DB_TEXT:
            v = json_string(db_column_text(s, i));
            break;
        default:
            v = json_null();
            break;
        }
        json_object_set_new(o, db_column_name(s, i), v ? v : json_null());
    }
    return o;
}

json_t *db_rows_json(db_stmt *s, size_t max, err *e) {
    json_t *arr = json_array();
    int rc = DB_DONE;
    size_t n = 0;
    while (n < max && (rc = db_step(s)) == DB_ROW) {
        json_array_append_new(arr, db_row_json(s));
        n++;
    }
    if (n < max && rc == DB_ERROR) {
        err_internal(e, "%s", db_errmsg(s->d));
        json_decref(arr);
        db_reset(s);
        return NULL;
    }
    db_reset(s);
    return arr;
}
