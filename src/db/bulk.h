/* bulk: a buffer of rows for one table, written as multi-row INSERTs with bound
 * values (≤ DB_BULK_PARAMS per statement) — how the demo generators write hundreds
 * of thousands of rows fast on SQLite and PostgreSQL alike. Call inside a
 * transaction; the caller decides when to flush (e.g. every few thousand rows). */
#ifndef ISLE_DB_BULK_H
#define ISLE_DB_BULK_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "db/db.h"

#define DB_BULK_PARAMS 900 /* bound values per statement (SQLite allows 32,766) */

typedef struct db_bulk_cell {
    int type; /* DB_NULL, DB_INT, DB_FLOAT or DB_TEXT */
    int64_t i;
    double f;
    char *s;
} db_bulk_cell;

typedef struct db_bulk {
    const char *target; /* "table (col, col, …)": a constant, never from input */
    int ncols;
    db_bulk_cell *cells;
    size_t n, cap;
    int64_t rows; /* written so far */
} db_bulk;

/* Append one value of the current row; ncols values make a row. */
void db_bulk_int(db_bulk *t, int64_t v);
void db_bulk_real(db_bulk *t, double v);
void db_bulk_null(db_bulk *t);
/** Text (copied); NULL is SQL NULL. */
void db_bulk_text(db_bulk *t, const char *v);
/** An id, 0 meaning NULL. */
void db_bulk_id(db_bulk *t, int64_t v);
/** A unix time as ISO-8601 UTC, 0 meaning NULL. */
void db_bulk_time(db_bulk *t, int64_t v);
/** Write the buffered rows and empty the buffer. 0, or -1 with e (the buffer is
 *  emptied either way). */
int db_bulk_flush(db *d, db_bulk *t, err *e);
/** Free the buffer (unwritten rows are dropped). */
void db_bulk_free(db_bulk *t);

#endif
