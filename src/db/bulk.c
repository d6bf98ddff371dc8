/* bulk: buffered multi-row INSERTs (see bulk.h). */
#include "db/bulk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "base/xmalloc.h"

static db_bulk_cell *next_cell(db_bulk *t) {
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 1024;
        t->cells = xrealloc(t->cells, t->cap * sizeof(*t->cells));
    }
    db_bulk_cell *c = &t->cells[t->n++];
    memset(c, 0, sizeof(*c));
    c->type = DB_NULL;
    return c;
}

void db_bulk_int(db_bulk *t, int64_t v) {
    db_bulk_cell *c = next_cell(t);
    c->type = DB_INT;
    c->i = v;
}

void db_bulk_real(db_bulk *t, double v) {
    db_bulk_cell *c = next_cell(t);
    c->type = DB_FLOAT;
    c->f = v;
}

void db_bulk_null(db_bulk *t) {
    next_cell(t);
}

void db_bulk_text(db_bulk *t, const char *v) {
    db_bulk_cell *c = next_cell(t);
    if (!v) return;
    c->type = DB_TEXT;
    c->s = xstrdup(v);
}

void db_bulk_id(db_bulk *t, int64_t v) {
    if (v)
        db_bulk_int(t, v);
    else
        db_bulk_null(t);
}

void db_bulk_time(db_bulk *t, int64_t v) {
    char buf[32];
    if (v)
        db_bulk_text(t, time_iso(buf, sizeof(buf), v));
    else
        db_bulk_null(t);
}

/* "INSERT INTO target VALUES ($1, …), (…)" for rows rows. Caller frees. */
static char *insert_sql(const db_bulk *t, int rows) {
    size_t cap = strlen(t->target) + 32 + (size_t)rows * (size_t)t->ncols * 10;
    char *sql = xmalloc(cap);
    size_t len = (size_t)snprintf(sql, cap, "INSERT INTO %s VALUES ", t->target);
    int p = 1;
    for (int r = 0; r < rows; r++) {
        len += (size_t)snprintf(sql + len, cap - len, "%s(", r ? ", " : "");
        for (int c = 0; c < t->ncols; c++)
            len += (size_t)snprintf(sql + len, cap - len, "%s$%d", c ? ", " : "", p++);
        len += (size_t)snprintf(sql + len, cap - len, ")");
    }
    return sql;
}

int db_bulk_flush(db *d, db_bulk *t, err *e) {
    size_t rows = t->n / (size_t)t->ncols;
    int per = DB_BULK_PARAMS / t->ncols;
    if (per < 1) per = 1;
    if (per > 100) per = 100;
    char *full = NULL, *one = NULL;
    int rc = 0;
    size_t at = 0; /* cell index */
    while (rc == 0 && at < t->n) {
        size_t left = (t->n - at) / (size_t)t->ncols;
        int k = left >= (size_t)per ? per : 1;
        char **sqlp = k == per ? &full : &one;
        if (!*sqlp) *sqlp = insert_sql(t, k);
        db_stmt *s = db_prepare(d, *sqlp, e);
        if (!s) {
            rc = -1;
            break;
        }
        int nvals = k * t->ncols;
        for (int i = 0; i < nvals; i++) {
            const db_bulk_cell *c = &t->cells[at + (size_t)i];
            switch (c->type) {
            case DB_INT:
                db_bind_int64(s, i + 1, c->i);
                break;
            case DB_FLOAT:
                db_bind_double(s, i + 1, c->f);
                break;
            case DB_TEXT:
                db_bind_text(s, i + 1, c->s);
                break;
            default:
                db_bind_null(s, i + 1);
            }
        }
        int st = db_step(s);
        db_reset(s);
        if (st == DB_ERROR)
            rc = err_internal(e, "写入演示数据失败（%.40s）：%s", t->target, db_errmsg(d));
        at += (size_t)nvals;
    }
    for (size_t i = 0; i < t->n; i++)
        free(t->cells[i].s);
    t->n = 0;
    if (rc == 0) t->rows += (int64_t)rows;
    free(full);
    free(one);
    return rc;
}

void db_bulk_free(db_bulk *t) {
    for (size_t i = 0; i < t->n; i++)
        free(t->cells[i].s);
    free(t->cells);
    memset(t, 0, sizeof(*t));
}
