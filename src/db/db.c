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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct db_cache_entry {
    char *sql;
    uint64_t hash;
    db_stmt *stmt;
};

static _Atomic uint64_t db_time_ns;

uint64_t db_time_total_ns(void) {
    return atomic_load(&db_time_ns);
}

static _Atomic uint64_t db_unavailable_count;

uint64_t db_unavailable_total(void) {
    return atomic_load(&db_unavailable_count);
}

void db_count_unavailable(void) {
    atomic_fetch_add(&db_unavailable_count, 1);
}

static uint64_t fnv1a(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

int db_dsn_is_postgres(const char *dsn) {
    return strncmp(dsn, "postgres://", 11) == 0 || strncmp(dsn, "postgresql://", 13) == 0;
}

const char *db_dsn_path(const char *dsn) {
    if (db_dsn_is_postgres(dsn)) return NULL;
    return strncmp(dsn, "sqlite:", 7) == 0 ? dsn + 7 : dsn;
}

char *db_dsn_redact(const char *dsn, char *buf, size_t n) {
    snprintf(buf, n, "%s", dsn);
    if (!db_dsn_is_postgres(dsn)) return buf;
    /* scheme://user:password@host… → scheme://user:***@host… */
    char *auth = strstr(buf, "://");
    if (!auth) return buf;
    auth += 3;
    char *at = strchr(auth, '@'), *slash = strchr(auth, '/');
    if (!at || (slash && slash < at)) return buf;
    char *colon = memchr(auth, ':', (size_t)(at - auth));
    if (!colon) return buf;
    char rest[512];
    snprintf(rest, sizeof(rest), "%s", at);
    snprintf(colon, n - (size_t)(colon - buf), ":***%s", rest);
    /* a password=… query parameter */
    char *pw = strstr(buf, "password=");
    if (pw) {
        char *end = strchr(pw, '&');
        snprintf(rest, sizeof(rest), "%s", end ? end : "");
        snprintf(pw, n - (size_t)(pw - buf), "password=***%s", rest);
    }
    return buf;
}

int db_open(const char *dsn, db **out, err *e) {
    if (!dsn || !*dsn) return err_set(e, 500, "internal", "db", "no database given");
    const db_ops *ops = db_dsn_is_postgres(dsn) ? &db_pg_ops : &db_sqlite_ops;
    const char *name = ops == &db_pg_ops ? dsn : db_dsn_path(dsn);
    if (!*name) return err_set(e, 500, "internal", "db", "no database path after sqlite:");
    int rc = ops->open(name, out, e);
    if (rc == 0) {
        (*out)->cache = NULL;
        (*out)->cache_len = (*out)->cache_cap = 0;
        (*out)->in_tx = 0;
        (*out)->sqlstate[0] = '\0';
        (*out)->unavailable = 0;
        (*out)->conn_errors = 0;
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
    return db_begin_mode(d, DB_TX_SERIAL, e);
}

int db_begin_mode(db *d, db_tx_mode mode, err *e) {
    if (d->in_tx) return err_internal(e, "nested transaction");
    uint64_t t0 = time_mono_ns();
    int rc = d->ops->begin(d, mode, e);
    atomic_fetch_add(&db_time_ns, time_mono_ns() - t0);
    if (rc != 0) return -1;
    d->in_tx = 1;
    return 0;
}

int db_retryable(db *d) {
    return strcmp(d->sqlstate, "40001") == 0 || strcmp(d->sqlstate, "40P01") == 0;
}

unsigned long db_conn_errors(db *d) {
    return d->conn_errors;
}

int db_tx_run(db *d, db_tx_mode mode, int (*fn)(db *d, void *arg, err *e), void *arg, err *e) {
    for (int attempt = 1;; attempt++) {
        if (db_begin_mode(d, mode, e) != 0) return -1;
        int rc = fn(d, arg, e);
        if (rc == 0) {
            rc = db_exec(d, "COMMIT", e);
            if (rc == 0) {
                d->in_tx = 0;
                return 0;
            }
        }
        int retry = db_retryable(d);
        db_rollback(d);
        if (!retry) return -1;
        if (attempt == 5)
            return err_conflict(e, "", "并发冲突，请重试 (serialization failure after %d attempts)",
                                attempt);
        /* 1–20 ms, growing with the attempt, so that the colliding transactions spread. */
        struct timespec ts = {0, (long)(1 + rand() % (5 * attempt)) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

int db_commit(db *d, err *e) {
    int rc = db_exec(d, "COMMIT", e);
    if (rc != 0) db_rollback(d);
    d->in_tx = 0;
    return rc;
}

int db_notify(db *d, const char *channel, const char *payload, err *e) {
    if (!d->ops->notify)
        return err_internal(e, "notifications need PostgreSQL (the database is %s)", d->ops->name);
    size_t n = channel ? strlen(channel) : 0;
    if (n < 1 || n > 63) return err_internal(e, "bad notification channel");
    for (size_t i = 0; i < n; i++)
        if (!((channel[i] >= 'a' && channel[i] <= 'z') ||
              (channel[i] >= '0' && channel[i] <= '9') || channel[i] == '_'))
            return err_internal(e, "bad notification channel");
    if (strlen(payload) >= 8000) return err_internal(e, "notification payload over 8000 bytes");
    return d->ops->notify(d, channel, payload, e);
}

int db_reset_identity(db *d, const char *table, err *e) {
    if (!*table || strlen(table) > 63) return err_internal(e, "bad table name");
    for (const char *p = table; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return err_internal(e, "bad table name");
    return d->ops->reset_identity ? d->ops->reset_identity(d, table, e) : 0;
}

db_listener *db_listen_start(const char *dsn, const char *channel, db_notify_fn on_notify,
                             db_listen_connected_fn on_connect, void *arg, err *e) {
    if (!db_dsn_is_postgres(dsn)) {
        err_internal(e, "LISTEN/NOTIFY needs PostgreSQL");
        return NULL;
    }
    return db_pg_listen_start(dsn, channel, on_notify, on_connect, arg, e);
}

void db_listen_stop(db_listener *l) {
    db_pg_listen_stop(l);
}

/* Fill e after a failed statement: 503 when the server could not be reached. */
static int db_fail(db *d, err *e, const char *what) {
    if (d->unavailable)
        return err_set(e, 503, "unavailable", "", "数据库暂时不可用，请稍后重试 (%s%s%s)", what,
                       *what ? ": " : "", db_errmsg(d));
    return err_internal(e, "%s%s%s", what, *what ? ": " : "", db_errmsg(d));
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
        db_fail(d, e, "bind failed");
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
    if (rc != 0) return db_fail(d, e, "bind failed");
    while ((rc = db_step(s)) == DB_ROW) {
    }
    if (rc == DB_ERROR) {
        const char *m = db_errmsg(d);
        if (strstr(m, "UNIQUE") || strstr(m, "unique") || !strcmp(d->sqlstate, "23505"))
            err_set(e, 409, "conflict", "", "%s", m);
        else
            db_fail(d, e, "");
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
    if (rc != 0) return db_fail(d, e, "bind failed");
    rc = db_step(s);
    if (rc == DB_ERROR) {
        db_fail(d, e, "");
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
        db_fail(s->d, e, "");
        json_decref(arr);
        db_reset(s);
        return NULL;
    }
    db_reset(s);
    return arr;
}
