/* db_pg: the PostgreSQL backend of db.h, on libpq.
 *
 * A connection is opened from a libpq URI ("postgres://user@host:port/db?…")
 * with isle's defaults added unless the URI sets them: application_name=isle,
 * connect_timeout=5, client_encoding=UTF8. Statements are server-side prepared
 * (PQprepare) under names unique to the connection and executed with
 * PQexecPrepared; parameters travel as text (blobs as binary), results come
 * back whole as text and are walked row by row by step(). column_type derives
 * from the result column's type OID: int2/4/8 and bool → DB_INT, float4/8 and
 * numeric → DB_FLOAT, bytea → DB_BLOB, NULL → DB_NULL, everything else DB_TEXT.
 *
 * Connection loss: before a statement outside a transaction, pending input is
 * read (PQconsumeInput), which notices a server that went away (a restart
 * sends "terminating connection" and closes); a bad connection is then reset
 * (PQreset, at most once a second while it keeps failing) and statements are
 * prepared again on first use (each remembers the connection generation it was
 * prepared in). Inside a transaction a lost connection fails the statement:
 * the transaction is gone. Failures of this kind set db.unavailable and count
 * in db.conn_errors.
 *
 * Error messages keep only PostgreSQL's primary message (never DETAIL, which
 * quotes row values) and pass through log_sanitize(), so personal numbers in a
 * rejected value never reach a log or a client. */
#include "base/log.h"
#include "base/timeutil.h"
#include "base/xmalloc.h"
#include "db/db.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Type OIDs from PostgreSQL's catalog/pg_type.h (stable across versions). */
enum {
    OID_BOOL = 16,
    OID_BYTEA = 17,
    OID_INT8 = 20,
    OID_INT2 = 21,
    OID_INT4 = 23,
    OID_OID = 26,
    OID_FLOAT4 = 700,
    OID_FLOAT8 = 701,
    OID_NUMERIC = 1700,
};

typedef struct pg_db {
    db base;
    PGconn *conn;
    uint64_t generation; /* bumped by every successful reset */
    unsigned next_stmt;
    uint64_t last_reset_ns;
    int64_t changes;
    char msg[512];
} pg_db;

typedef struct pg_stmt {
    db_stmt base;
    char name[24];
    char *sql;
    uint64_t generation; /* connection generation it is prepared in; 0 = not prepared */
    int nparams;
    char **values;
    int *lengths, *formats;
    PGresult *res;  /* after execution */
    PGresult *desc; /* PQdescribePrepared, when columns are asked for before a step */
    int row, nrows, executed;
    unsigned char *blob; /* unescaped bytea of the last column_blob() call */
} pg_stmt;

#define PG(d) ((pg_db *)(d))
#define PS(s) ((pg_stmt *)(s))

/* ---------- errors and connection state ---------- */

static void set_msg(pg_db *p, const char *m) {
    char raw[sizeof(p->msg)];
    snprintf(raw, sizeof(raw), "%s", m && *m ? m : "unknown PostgreSQL error");
    size_t n = strlen(raw);
    while (n && (raw[n - 1] == '\n' || raw[n - 1] == ' '))
        raw[--n] = '\0';
    log_sanitize(p->msg, sizeof(p->msg), raw);
}

static int is_connection_state(const char *st) {
    /* 08: connection exception; 57P01-03: admin shutdown, crash shutdown, cannot connect
     * now; 53300: too many connections. */
    return !strncmp(st, "08", 2) || !strcmp(st, "57P01") || !strcmp(st, "57P02") ||
           !strcmp(st, "57P03") || !strcmp(st, "53300");
}

/* Record a failure of the connection itself (no usable result). */
static void fail_connection(pg_db *p, const char *what) {
    char m[sizeof(p->msg)];
    snprintf(m, sizeof(m), "%s%s", what, p->conn ? PQerrorMessage(p->conn) : "");
    set_msg(p, m);
    snprintf(p->base.sqlstate, sizeof(p->base.sqlstate), "08006");
    p->base.unavailable = 1;
    p->base.conn_errors++;
    db_count_unavailable();
}

/* Record the error of a result (which the caller clears). */
static void fail_result(pg_db *p, const PGresult *r) {
    const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (!r || !st || PQstatus(p->conn) != CONNECTION_OK) {
        fail_connection(p, "");
        return;
    }
    snprintf(p->base.sqlstate, sizeof(p->base.sqlstate), "%s", st);
    set_msg(p, PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
    p->base.unavailable = is_connection_state(st);
    if (p->base.unavailable) {
        p->base.conn_errors++;
        db_count_unavailable();
    }
}

static void clear_error(pg_db *p) {
    p->base.sqlstate[0] = '\0';
    p->base.unavailable = 0;
}

/* Make the connection usable before a statement: notice a server that went away and,
 * outside a transaction, reconnect. 0 when the connection is good. */
static int ensure_connection(pg_db *p) {
    if (PQstatus(p->conn) == CONNECTION_OK && !p->base.in_tx) {
        /* Read whatever the server sent meanwhile: a shutdown notice and EOF turn the
         * status to CONNECTION_BAD here rather than in the middle of our statement. */
        /* Readable while idle means the server said something (a FATAL before closing)
         * or closed: consume until the socket is quiet or the status turns bad.
         * Notifications stay queued for PQnotifies(). */
        for (int i = 0; i < 4 && PQstatus(p->conn) == CONNECTION_OK; i++) {
            struct pollfd pf = {.fd = PQsocket(p->conn), .events = POLLIN};
            if (poll(&pf, 1, 0) <= 0 || !(pf.revents & (POLLIN | POLLHUP | POLLERR))) break;
            if (!PQconsumeInput(p->conn)) break;
        }
    }
    if (PQstatus(p->conn) == CONNECTION_OK) return 0;
    if (p->base.in_tx) {
        fail_connection(p, "connection lost inside a transaction: ");
        return -1;
    }
    uint64_t now = time_mono_ns();
    if (p->last_reset_ns && now - p->last_reset_ns < 1000000000ull) {
        fail_connection(p, "reconnecting: ");
        return -1;
    }
    p->last_reset_ns = now;
    PQreset(p->conn);
    if (PQstatus(p->conn) != CONNECTION_OK) {
        fail_connection(p, "");
        return -1;
    }
    p->generation++;
    p->last_reset_ns = 0;
    log_info("database connection re-established");
    return 0;
}

/* ---------- open / close ---------- */

/* Text sorts by code point on SQLite; the database should do the same ("C" or
 * "C.UTF-8"), or lists ordered by name or code differ between backends. Said once. */
static void check_collation(PGconn *c) {
    static atomic_flag said = ATOMIC_FLAG_INIT;
    if (atomic_flag_test_and_set(&said)) return;
    PGresult *r =
        PQexec(c, "SELECT datcollate FROM pg_database WHERE datname = current_database()");
    if (r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        const char *coll = PQgetvalue(r, 0, 0);
        if (strcmp(coll, "C") && strcmp(coll, "POSIX") && strcmp(coll, "C.UTF-8") &&
            strcmp(coll, "C.utf8"))
            log_warn("database collation is %s: text will sort differently from SQLite; create "
                     "the database with --locale C.UTF-8 (docs/OPERATIONS.md)",
                     coll);
    }
    PQclear(r);
}

static void quiet_notice(void *arg, const char *message) {
    (void)arg;
    (void)message;
}

static int pg_open(const char *dsn, db **out, err *e) {
    /* The URI first (expand_dbname), then isle's defaults for what it does not set:
     * libpq lets the first occurrence of a keyword win only for the expanded dbname,
     * so add defaults only when absent. */
    const char *keys[8], *vals[8];
    int n = 0;
    keys[n] = "dbname";
    vals[n++] = dsn;
    if (!strstr(dsn, "application_name=")) {
        keys[n] = "application_name";
        vals[n++] = "isle";
    }
    if (!strstr(dsn, "connect_timeout=") && !getenv("PGCONNECT_TIMEOUT")) {
        keys[n] = "connect_timeout";
        vals[n++] = "5";
    }
    keys[n] = "client_encoding";
    vals[n++] = "UTF8";
    keys[n] = NULL;
    vals[n] = NULL;
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        char red[512], m[512];
        snprintf(m, sizeof(m), "%s", c ? PQerrorMessage(c) : "out of memory");
        size_t ml = strlen(m);
        while (ml && m[ml - 1] == '\n')
            m[--ml] = '\0';
        err_set(e, 503, "unavailable", "db", "cannot connect to %s: %s",
                db_dsn_redact(dsn, red, sizeof(red)), m);
        PQfinish(c);
        return -1;
    }
    /* Keep server notices (e.g. "relation already exists, skipping") out of stderr. */
    PQsetNoticeProcessor(c, quiet_notice, NULL);
    check_collation(c);
    pg_db *d = xcalloc(1, sizeof(*d));
    d->base.ops = &db_pg_ops;
    d->conn = c;
    d->generation = 1;
    *out = &d->base;
    return 0;
}

static void pg_close(db *d) {
    PQfinish(PG(d)->conn);
    free(d);
}

/* ---------- statements ---------- */

/* The highest $N outside quotes and comments: the number of parameters. */
static int count_params(const char *sql) {
    int max = 0;
    char quote = 0;
    for (const char *p = sql; *p; p++) {
        if (quote) {
            if (*p == quote) quote = 0;
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
        } else if (*p == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                p++;
            if (!*p) break;
        } else if (*p == '$' && p[1] >= '1' && p[1] <= '9') {
            int v = 0;
            const char *q = p + 1;
            while (*q >= '0' && *q <= '9' && v < 100000)
                v = v * 10 + (*q++ - '0');
            if (v > max) max = v;
            p = q - 1;
        }
    }
    return max;
}

static int prepare_on_server(pg_db *p, pg_stmt *s) {
    PGresult *r = PQprepare(p->conn, s->name, s->sql, 0, NULL);
    int ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) fail_result(p, r);
    PQclear(r);
    if (!ok) return -1;
    s->generation = p->generation;
    if (s->desc) {
        PQclear(s->desc);
        s->desc = NULL;
    }
    return 0;
}

static void fill_prepare_err(pg_db *p, err *e) {
    if (p->base.unavailable)
        err_set(e, 503, "unavailable", "", "数据库暂时不可用，请稍后重试 (%s)", p->msg);
    else
        err_internal(e, "SQL prepare failed: %s", p->msg);
}

static db_stmt *pg_prepare(db *d, const char *sql, err *e) {
    pg_db *p = PG(d);
    clear_error(p);
    pg_stmt *s = xcalloc(1, sizeof(*s));
    s->base.d = d;
    snprintf(s->name, sizeof(s->name), "isle_%u", ++p->next_stmt);
    s->sql = xstrdup(sql);
    s->nparams = count_params(sql);
    if (s->nparams) {
        s->values = xcalloc((size_t)s->nparams, sizeof(*s->values));
        s->lengths = xcalloc((size_t)s->nparams, sizeof(*s->lengths));
        s->formats = xcalloc((size_t)s->nparams, sizeof(*s->formats));
    }
    s->row = -1;
    if (ensure_connection(p) != 0 || prepare_on_server(p, s) != 0) {
        fill_prepare_err(p, e);
        free(s->values);
        free(s->lengths);
        free(s->formats);
        free(s->sql);
        free(s);
        return NULL;
    }
    return &s->base;
}

static void clear_result(pg_stmt *s) {
    PQclear(s->res);
    s->res = NULL;
    s->row = -1;
    s->nrows = 0;
    s->executed = 0;
    if (s->blob) {
        PQfreemem(s->blob);
        s->blob = NULL;
    }
}

static void clear_bindings(pg_stmt *s) {
    for (int i = 0; i < s->nparams; i++) {
        free(s->values[i]);
        s->values[i] = NULL;
        s->lengths[i] = 0;
        s->formats[i] = 0;
    }
}

static void pg_finalize(db_stmt *st) {
    pg_stmt *s = PS(st);
    clear_result(s);
    clear_bindings(s);
    PQclear(s->desc);
    free(s->values);
    free(s->lengths);
    free(s->formats);
    free(s->sql);
    free(s);
}

static void pg_reset(db_stmt *st) {
    clear_result(PS(st));
    clear_bindings(PS(st));
}

static int set_param(db_stmt *st, int i, char *v, int len, int format) {
    pg_stmt *s = PS(st);
    if (i < 1 || i > s->nparams) {
        free(v);
        set_msg(PG(st->d), "bind index out of range");
        return -1;
    }
    free(s->values[i - 1]);
    s->values[i - 1] = v;
    s->lengths[i - 1] = len;
    s->formats[i - 1] = format;
    return 0;
}

static int pg_bind_int64(db_stmt *s, int i, int64_t v) {
    char buf[24];
    snprintf(buf, sizeof(buf), "%" PRId64, v);
    return set_param(s, i, xstrdup(buf), 0, 0);
}

static int pg_bind_double(db_stmt *s, int i, double v) {
    char buf[40];
    snprintf(buf, sizeof(buf), "%.17g", v);
    return set_param(s, i, xstrdup(buf), 0, 0);
}

static int pg_bind_text(db_stmt *s, int i, const char *v, size_t n) {
    if (memchr(v, '\0', n)) {
        set_msg(PG(s->d), "text contains a NUL byte");
        return -1;
    }
    char *c = xmalloc(n + 1);
    memcpy(c, v, n);
    c[n] = '\0';
    return set_param(s, i, c, 0, 0);
}

static int pg_bind_blob(db_stmt *s, int i, const void *v, size_t n) {
    if (n > INT32_MAX) return -1;
    char *c = xmalloc(n ? n : 1);
    if (n) memcpy(c, v, n);
    return set_param(s, i, c, (int)n, 1);
}

static int pg_bind_null(db_stmt *s, int i) {
    return set_param(s, i, NULL, 0, 0);
}

static int64_t parse_changes(PGresult *r) {
    const char *t = PQcmdTuples(r);
    return t && *t ? strtoll(t, NULL, 10) : 0;
}

static int pg_step(db_stmt *st) {
    pg_stmt *s = PS(st);
    pg_db *p = PG(st->d);
    if (!s->executed) {
        clear_error(p);
        if (ensure_connection(p) != 0) return DB_ERROR;
        if (s->generation != p->generation && prepare_on_server(p, s) != 0) return DB_ERROR;
        PGresult *r = PQexecPrepared(p->conn, s->name, s->nparams, (const char *const *)s->values,
                                     s->lengths, s->formats, 0);
        ExecStatusType status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
            fail_result(p, r);
            PQclear(r);
            return DB_ERROR;
        }
        s->executed = 1;
        s->res = r;
        s->nrows = status == PGRES_TUPLES_OK ? PQntuples(r) : 0;
        s->row = -1;
        p->changes = parse_changes(r);
    }
    if (s->blob) {
        PQfreemem(s->blob);
        s->blob = NULL;
    }
    if (s->row + 1 < s->nrows) {
        s->row++;
        return DB_ROW;
    }
    s->row = s->nrows;
    return DB_DONE;
}

/* The result that describes the columns: the executed one, else a description. */
static PGresult *columns_of(pg_stmt *s) {
    if (s->res) return s->res;
    if (!s->desc) {
        pg_db *p = PG(s->base.d);
        if (s->generation != p->generation && prepare_on_server(p, s) != 0) return NULL;
        s->desc = PQdescribePrepared(p->conn, s->name);
        if (s->desc && PQresultStatus(s->desc) != PGRES_COMMAND_OK) {
            PQclear(s->desc);
            s->desc = NULL;
        }
    }
    return s->desc;
}

static int has_value(pg_stmt *s, int c) {
    return s->res && s->row >= 0 && s->row < s->nrows && c >= 0 && c < PQnfields(s->res) &&
           !PQgetisnull(s->res, s->row, c);
}

static int pg_column_count(db_stmt *st) {
    PGresult *r = columns_of(PS(st));
    return r ? PQnfields(r) : 0;
}

static const char *pg_column_name(db_stmt *st, int c) {
    PGresult *r = columns_of(PS(st));
    return r && c >= 0 && c < PQnfields(r) ? PQfname(r, c) : NULL;
}

static int pg_column_type(db_stmt *st, int c) {
    pg_stmt *s = PS(st);
    if (!has_value(s, c)) return DB_NULL;
    switch (PQftype(s->res, c)) {
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
    case OID_OID:
    case OID_BOOL:
        return DB_INT;
    case OID_FLOAT4:
    case OID_FLOAT8:
    case OID_NUMERIC:
        return DB_FLOAT;
    case OID_BYTEA:
        return DB_BLOB;
    default:
        return DB_TEXT;
    }
}

static const char *pg_column_text(db_stmt *st, int c) {
    pg_stmt *s = PS(st);
    if (!has_value(s, c)) return NULL;
    const char *v = PQgetvalue(s->res, s->row, c);
    /* Booleans read as SQLite's 0/1. */
    if (PQftype(s->res, c) == OID_BOOL) return v[0] == 't' ? "1" : "0";
    return v;
}

static int64_t pg_column_int64(db_stmt *st, int c) {
    const char *v = pg_column_text(st, c);
    if (!v) return 0;
    int t = pg_column_type(st, c);
    if (t == DB_FLOAT) return (int64_t)strtod(v, NULL);
    return strtoll(v, NULL, 10);
}

static double pg_column_double(db_stmt *st, int c) {
    const char *v = pg_column_text(st, c);
    return v ? strtod(v, NULL) : 0.0;
}

static const void *pg_column_blob(db_stmt *st, int c, size_t *n) {
    pg_stmt *s = PS(st);
    *n = 0;
    if (!has_value(s, c)) return NULL;
    const char *v = PQgetvalue(s->res, s->row, c);
    if (PQftype(s->res, c) != OID_BYTEA) {
        *n = (size_t)PQgetlength(s->res, s->row, c);
        return v;
    }
    if (s->blob) PQfreemem(s->blob);
    s->blob = PQunescapeBytea((const unsigned char *)v, n);
    return s->blob;
}

/* ---------- connection-level calls ---------- */

static int pg_exec(db *d, const char *sql, err *e) {
    pg_db *p = PG(d);
    clear_error(p);
    /* ROLLBACK after a lost connection: nothing to roll back, and no reconnect needed. */
    int is_rollback = strcmp(sql, "ROLLBACK") == 0;
    if (is_rollback && PQstatus(p->conn) != CONNECTION_OK) return 0;
    if (ensure_connection(p) != 0) {
        if (e) err_set(e, 503, "unavailable", "", "数据库暂时不可用，请稍后重试 (%s)", p->msg);
        return -1;
    }
    PGresult *r = PQexec(p->conn, sql);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    int rc = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
        fail_result(p, r);
        rc = -1;
    } else if (strcmp(sql, "COMMIT") == 0 && strcmp(PQcmdStatus(r), "ROLLBACK") == 0) {
        /* COMMIT of a transaction that had failed: PostgreSQL rolls it back. */
        set_msg(p, "the transaction had failed and was rolled back");
        snprintf(p->base.sqlstate, sizeof(p->base.sqlstate), "25P02");
        rc = -1;
    } else {
        p->changes = parse_changes(r);
    }
    PQclear(r);
    if (rc != 0 && e) {
        if (p->base.unavailable)
            err_set(e, 503, "unavailable", "", "数据库暂时不可用，请稍后重试 (%s)", p->msg);
        else
            err_internal(e, "%s", p->msg);
    }
    return rc;
}

static int pg_begin(db *d, db_tx_mode mode, err *e) {
    switch (mode) {
    case DB_TX_SERIALIZABLE:
        return pg_exec(d, "BEGIN ISOLATION LEVEL SERIALIZABLE", e);
    case DB_TX_READ_COMMITTED:
        return pg_exec(d, "BEGIN ISOLATION LEVEL READ COMMITTED", e);
    case DB_TX_SNAPSHOT:
        return pg_exec(d, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", e);
    case DB_TX_SERIAL:
    default: {
        /* One round trip: BEGIN and the cluster-wide write lock, released at the end. */
        char sql[128];
        snprintf(sql, sizeof(sql),
                 "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock(%lld)",
                 (long long)DB_WRITE_LOCK_KEY);
        int rc = pg_exec(d, sql, e);
        if (rc != 0 && PQtransactionStatus(PG(d)->conn) != PQTRANS_IDLE) {
            PGresult *r = PQexec(PG(d)->conn, "ROLLBACK");
            PQclear(r);
        }
        return rc;
    }
    }
}

static const char *pg_errmsg(db *d) {
    return PG(d)->msg[0] ? PG(d)->msg : "no error";
}

static int64_t pg_changes(db *d) {
    return PG(d)->changes;
}

static int pg_backup(db *d, const char *path, err *e) {
    (void)d;
    (void)path;
    return err_set(e, 400, "invalid_argument", "",
                   "isle backup copies SQLite databases only; back up PostgreSQL with pg_dump "
                   "(pg_dump -Fc -f isle.dump DATABASE_URL) or pg_basebackup; see "
                   "docs/OPERATIONS.md");
}

static const char *pg_id_pk(void) {
    return "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY";
}

static int pg_notify(db *d, const char *channel, const char *payload, err *e) {
    db_stmt *s = db_query(d, e, "SELECT pg_notify($1, $2)", "ss", channel, payload);
    if (!s) return -1;
    int rc = db_step(s);
    db_reset(s);
    if (rc == DB_ERROR) {
        if (PG(d)->base.unavailable)
            return err_set(e, 503, "unavailable", "", "数据库暂时不可用，请稍后重试 (%s)",
                           PG(d)->msg);
        return err_internal(e, "NOTIFY failed: %s", PG(d)->msg);
    }
    return 0;
}

/* Identity columns of table, each restarted after the largest value present. The table
 * and column names are identifiers checked by db_reset_identity() and taken from the
 * catalog; values are never spliced. */
static int pg_reset_identity(db *d, const char *table, err *e) {
    db_stmt *s = db_query(d, e,
                          "SELECT column_name FROM information_schema.columns "
                          "WHERE table_schema = current_schema() AND table_name = $1 "
                          "AND is_identity = 'YES'",
                          "s", table);
    if (!s) return -1;
    char cols[8][64];
    int n = 0, rc;
    while ((rc = db_step(s)) == DB_ROW && n < 8)
        snprintf(cols[n++], sizeof(cols[0]), "%s", db_column_text(s, 0));
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "%s", PG(d)->msg);
    for (int i = 0; i < n; i++) {
        char sql[1024];
        if (snprintf(sql, sizeof(sql),
                     "SELECT setval(pg_get_serial_sequence('%s', '%s'), "
                     "COALESCE((SELECT MAX(\"%s\") FROM \"%s\"), 0) + 1, false)",
                     table, cols[i], cols[i], table) >= (int)sizeof(sql))
            return err_internal(e, "table name too long");
        if (pg_exec(d, sql, e) != 0) return -1;
    }
    return 0;
}

const db_ops db_pg_ops = {
    .name = "postgres",
    .open = pg_open,
    .close = pg_close,
    .prepare = pg_prepare,
    .bind_int64 = pg_bind_int64,
    .bind_double = pg_bind_double,
    .bind_text = pg_bind_text,
    .bind_blob = pg_bind_blob,
    .bind_null = pg_bind_null,
    .step = pg_step,
    .finalize = pg_finalize,
    .reset = pg_reset,
    .column_count = pg_column_count,
    .column_name = pg_column_name,
    .column_type = pg_column_type,
    .column_int64 = pg_column_int64,
    .column_double = pg_column_double,
    .column_text = pg_column_text,
    .column_blob = pg_column_blob,
    .exec = pg_exec,
    .errmsg = pg_errmsg,
    .changes = pg_changes,
    .backup = pg_backup,
    .id_pk_ddl = pg_id_pk,
    .begin = pg_begin,
    .notify = pg_notify,
    .reset_identity = pg_reset_identity,
};

/* ---------- LISTEN ---------- */

struct db_listener {
    char *dsn;
    char channel[64];
    db_notify_fn on_notify;
    db_listen_connected_fn on_connect;
    void *arg;
    pthread_t thread;
    int wake[2]; /* a byte written to wake[1] stops the thread */
    _Atomic int stop;
    db *conn;
};

/* Sleep up to ms, waking early when asked to stop. 1 when stopping. */
static int listener_pause(db_listener *l, int ms) {
    struct pollfd pf = {.fd = l->wake[0], .events = POLLIN};
    poll(&pf, 1, ms);
    return atomic_load(&l->stop);
}

static int listener_connect(db_listener *l) {
    err e = {0};
    if (db_open(l->dsn, &l->conn, &e) != 0) return -1;
    char sql[96];
    snprintf(sql, sizeof(sql), "LISTEN %s", l->channel);
    if (db_exec(l->conn, sql, &e) != 0) {
        db_close(l->conn);
        l->conn = NULL;
        return -1;
    }
    if (l->on_connect) l->on_connect(l->conn, l->arg);
    return 0;
}

static void listener_drain(db_listener *l) {
    PGnotify *n;
    while (l->conn && (n = PQnotifies(PG(l->conn)->conn))) {
        if (strcmp(n->relname, l->channel) == 0)
            l->on_notify(l->conn, n->relname, n->extra ? n->extra : "", l->arg);
        PQfreemem(n);
    }
}

static void *listener_main(void *arg) {
    db_listener *l = arg;
    int backoff = 100, had_connection = l->conn != NULL;
    while (!atomic_load(&l->stop)) {
        if (!l->conn) {
            if (listener_connect(l) != 0) {
                if (listener_pause(l, backoff)) break;
                backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
                continue;
            }
            backoff = 100;
            if (had_connection) log_info("notification listener reconnected");
            had_connection = 1;
        }
        PGconn *c = PG(l->conn)->conn;
        listener_drain(l);
        struct pollfd pf[2] = {{.fd = PQsocket(c), .events = POLLIN},
                               {.fd = l->wake[0], .events = POLLIN}};
        int n = poll(pf, 2, 10000);
        if (atomic_load(&l->stop)) break;
        if (n < 0 && errno != EINTR) break;
        if (n > 0 && (pf[0].revents & (POLLIN | POLLERR | POLLHUP))) {
            if (!PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK) {
                log_warn("notification listener lost its connection; reconnecting");
                db_close(l->conn);
                l->conn = NULL;
                continue;
            }
        }
        listener_drain(l);
    }
    return NULL;
}

db_listener *db_pg_listen_start(const char *dsn, const char *channel, db_notify_fn on_notify,
                                db_listen_connected_fn on_connect, void *arg, err *e) {
    size_t n = strlen(channel);
    if (n < 1 || n > 63 || strspn(channel, "abcdefghijklmnopqrstuvwxyz0123456789_") != n) {
        err_internal(e, "bad notification channel");
        return NULL;
    }
    db_listener *l = xcalloc(1, sizeof(*l));
    l->dsn = xstrdup(dsn);
    snprintf(l->channel, sizeof(l->channel), "%s", channel);
    l->on_notify = on_notify;
    l->on_connect = on_connect;
    l->arg = arg;
    if (pipe(l->wake) != 0) {
        err_internal(e, "pipe: %s", strerror(errno));
        free(l->dsn);
        free(l);
        return NULL;
    }
    /* The first connection is made here so that a wrong URL fails at start. */
    if (listener_connect(l) != 0) {
        err_set(e, 503, "unavailable", "db", "the notification listener cannot connect");
        close(l->wake[0]);
        close(l->wake[1]);
        free(l->dsn);
        free(l);
        return NULL;
    }
    if (pthread_create(&l->thread, NULL, listener_main, l) != 0) {
        err_internal(e, "cannot start the notification listener thread");
        db_close(l->conn);
        close(l->wake[0]);
        close(l->wake[1]);
        free(l->dsn);
        free(l);
        return NULL;
    }
    return l;
}

void db_pg_listen_stop(db_listener *l) {
    if (!l) return;
    atomic_store(&l->stop, 1);
    ssize_t w = write(l->wake[1], "x", 1);
    (void)w;
    pthread_join(l->thread, NULL);
    db_close(l->conn);
    close(l->wake[0]);
    close(l->wake[1]);
    free(l->dsn);
    free(l);
}
