/* facts.c: stats_cases, one narrow row of figures per submitted item case,
 * derived from `cases` and `case_materials` (014_stats.sql tells the columns).
 *
 * Incremental: every change of a case writes a row to its timeline, case_events
 * (cases.h: "every one … with a timeline row"; src/cases/ is the only writer of
 * cases), and case_events ids only grow, in commit order — isle's writes are
 * serialised (BEGIN IMMEDIATE on SQLite, the advisory write lock of db_begin() on
 * PostgreSQL). So the cases to re-derive are exactly those with a timeline row
 * after a watermark, the last case_events id derived, kept in stats_state:
 * nothing to do costs one read of the primary key's maximum, and the hot
 * `cases` table needs no extra index. A bulk writer that bypasses the timeline
 * (an import) calls stats_rebuild() afterwards; the demo generator does.
 *
 * The working-day duration needs the holiday calendar, which is why this is C
 * and not a SQL view. */
#include "stats/stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"

#define WM_KEY "case_events.id" /* the last timeline row derived */

static const char FACT_SELECT[] =
    "SELECT c.id, c.kind, c.submitted_at, c.accepted_at, c.decided_at, c.deadline_at, c.status, "
    "c.department, c.town_code, c.item_code, c.channel, c.visits, c.promise_days, c.legal_days, "
    "c.suspended_seconds, c.updated_at, "
    "(SELECT COUNT(*) FROM case_materials m WHERE m.case_id = c.id AND m.required = 1), "
    "(SELECT COUNT(*) FROM case_materials m WHERE m.case_id = c.id AND m.required = 1 "
    "AND m.waived = 1) FROM cases c";

#define FACT_COLS  21
#define FACT_BATCH 50 /* rows per multi-row upsert */

static const char FACT_INSERT[] =
    "INSERT INTO stats_cases (case_id, submitted_at, decided_at, department, town_code, "
    "item_code, channel, status, online, visits, zero_visit, materials_required, "
    "materials_waived, deadline_at, has_deadline, working_days, same_day, promise_days, "
    "legal_days, late, case_updated_at) VALUES ";
static const char FACT_CONFLICT[] =
    " ON CONFLICT (case_id) DO UPDATE SET submitted_at = excluded.submitted_at, "
    "decided_at = excluded.decided_at, department = excluded.department, "
    "town_code = excluded.town_code, item_code = excluded.item_code, channel = excluded.channel, "
    "status = excluded.status, online = excluded.online, visits = excluded.visits, "
    "zero_visit = excluded.zero_visit, materials_required = excluded.materials_required, "
    "materials_waived = excluded.materials_waived, deadline_at = excluded.deadline_at, "
    "has_deadline = excluded.has_deadline, "
    "working_days = excluded.working_days, same_day = excluded.same_day, "
    "promise_days = excluded.promise_days, legal_days = excluded.legal_days, "
    "late = excluded.late, case_updated_at = excluded.case_updated_at";

/* One derived row, as text or NULL per column (numbers formatted exactly: integers,
 * and doubles with %.17g so nothing is lost), so a batch can be bound at once. */
typedef struct fact {
    char v[FACT_COLS][48];
    char *big[FACT_COLS]; /* strings longer than 47 bytes (department names), owned */
    unsigned null_mask;
} fact;

typedef struct fact_batch {
    fact rows[FACT_BATCH];
    int n;
    char *sql_full, *sql_one;
} fact_batch;

static void fact_set(fact *f, int col, const char *s) {
    if (!s) {
        f->null_mask |= 1u << col;
        return;
    }
    if (strlen(s) < sizeof(f->v[col]))
        snprintf(f->v[col], sizeof(f->v[col]), "%s", s);
    else
        f->big[col] = strdup(s);
}

static void fact_int(fact *f, int col, int64_t x) {
    snprintf(f->v[col], sizeof(f->v[col]), "%lld", (long long)x);
}

static char *upsert_sql(int rows) {
    size_t cap = sizeof(FACT_INSERT) + sizeof(FACT_CONFLICT) + (size_t)rows * FACT_COLS * 8 + 16;
    char *sql = malloc(cap);
    if (!sql) abort();
    size_t len = (size_t)snprintf(sql, cap, "%s", FACT_INSERT);
    int p = 1;
    for (int r = 0; r < rows; r++) {
        len += (size_t)snprintf(sql + len, cap - len, "%s(", r ? ", " : "");
        for (int c = 0; c < FACT_COLS; c++)
            len += (size_t)snprintf(sql + len, cap - len, "%s$%d", c ? ", " : "", p++);
        len += (size_t)snprintf(sql + len, cap - len, ")");
    }
    snprintf(sql + len, cap - len, "%s", FACT_CONFLICT);
    return sql;
}

/* Integer and real columns travel as text like every other parameter (db_pg sends
 * text; SQLite converts by column affinity), so one binder serves them all. */
static int batch_flush(db *d, fact_batch *b, err *e) {
    int rc = 0;
    for (int at = 0; rc == 0 && at < b->n;) {
        int k = b->n - at == FACT_BATCH ? FACT_BATCH : 1;
        char **sqlp = k == FACT_BATCH ? &b->sql_full : &b->sql_one;
        if (!*sqlp) *sqlp = upsert_sql(k);
        db_stmt *s = db_prepare(d, *sqlp, e);
        if (!s) {
            rc = -1;
            break;
        }
        for (int r = 0; r < k; r++) {
            fact *f = &b->rows[at + r];
            for (int c = 0; c < FACT_COLS; c++) {
                int idx = r * FACT_COLS + c + 1;
                if (f->null_mask & (1u << c))
                    db_bind_null(s, idx);
                else
                    db_bind_text(s, idx, f->big[c] ? f->big[c] : f->v[c]);
            }
        }
        int st = db_step(s);
        db_reset(s);
        if (st == DB_ERROR) rc = err_internal(e, "保存统计数据失败：%s", db_errmsg(d));
        at += k;
    }
    for (int i = 0; i < b->n; i++)
        for (int c = 0; c < FACT_COLS; c++)
            free(b->rows[i].big[c]);
    b->n = 0;
    return rc;
}

static void batch_free(fact_batch *b) {
    for (int i = 0; i < b->n; i++)
        for (int c = 0; c < FACT_COLS; c++)
            free(b->rows[i].big[c]);
    free(b->sql_full);
    free(b->sql_one);
    free(b);
}

static const workcal *calendar(const workcal *cal, err *e) {
    if (cal) return cal;
    cal = workcal_default(e);
    if (!cal && e && !e->status) err_internal(e, "工作日历不可用");
    return cal;
}

/* Derive the row of the case under the cursor of sel (FACT_SELECT) into the batch,
 * flushing it when full. 1 added, 0 skipped (a bundle or a draft), -1 error. */
static int derive_one(db *d, const workcal *cal, db_stmt *sel, fact_batch *b, err *e) {
    const char *kind = db_column_text(sel, 1), *submitted = db_column_text(sel, 2);
    if (!kind || strcmp(kind, "item") != 0 || !submitted || !*submitted) return 0;
    const char *accepted = db_column_text(sel, 3), *decided = db_column_text(sel, 4);
    const char *deadline = db_column_text(sel, 5), *channel = db_column_text(sel, 10);
    int64_t ta = 0, td = 0, tdl = 0;
    int have_a = accepted && time_parse_iso(accepted, &ta) == 0;
    int have_d = decided && time_parse_iso(decided, &td) == 0;
    int have_dl = deadline && time_parse_iso(deadline, &tdl) == 0;
    fact *f = &b->rows[b->n++];
    memset(f, 0, sizeof(*f));
    fact_int(f, 0, db_column_int64(sel, 0));
    fact_set(f, 1, submitted);
    fact_set(f, 2, decided && *decided ? decided : NULL);
    fact_set(f, 3, db_column_text(sel, 7) ? db_column_text(sel, 7) : "");
    fact_set(f, 4, db_column_text(sel, 8));
    fact_set(f, 5, db_column_text(sel, 9));
    fact_set(f, 6, channel ? channel : "");
    fact_set(f, 7, db_column_text(sel, 6) ? db_column_text(sel, 6) : "");
    fact_int(f, 8, channel && (!strcmp(channel, "online") || !strcmp(channel, "assisted")));
    fact_int(f, 9, db_column_int64(sel, 11));
    fact_int(f, 10, db_column_int64(sel, 11) == 0);
    fact_int(f, 11, db_column_int64(sel, 16));
    fact_int(f, 12, db_column_int64(sel, 17));
    fact_set(f, 13, deadline && *deadline ? deadline : NULL);
    fact_int(f, 14, deadline && *deadline);
    if (have_a && have_d) {
        int64_t ws = workcal_working_seconds_between(cal, ta, td) - db_column_int64(sel, 14);
        if (ws < 0) ws = 0;
        /* Hundredths of a working day, as an exact decimal. */
        int64_t hundredths = llround((double)ws / (double)workcal_day_seconds(cal) * 100);
        snprintf(f->v[15], sizeof(f->v[15]), "%lld.%02lld", (long long)(hundredths / 100),
                 (long long)(hundredths % 100));
        workcal_date da = workcal_local_date(ta), dd = workcal_local_date(td);
        fact_int(f, 16, da.year == dd.year && da.month == dd.month && da.day == dd.day);
    } else {
        fact_set(f, 15, NULL);
        fact_set(f, 16, NULL);
    }
    for (int c = 12; c <= 13; c++) { /* promise_days, legal_days */
        int col = c == 12 ? 17 : 18;
        if (db_column_type(sel, c) == DB_NULL)
            fact_set(f, col, NULL);
        else
            snprintf(f->v[col], sizeof(f->v[col]), "%.17g", db_column_double(sel, c));
    }
    fact_int(f, 19, have_d && have_dl && td > tdl);
    fact_set(f, 20, db_column_text(sel, 15) ? db_column_text(sel, 15) : "");
    if (b->n == FACT_BATCH && batch_flush(d, b, e) != 0) return -1;
    return 1;
}

static int state_get(db *d, const char *name, char *buf, size_t n, err *e) {
    buf[0] = '\0';
    db_stmt *s = db_query(d, e, "SELECT value FROM stats_state WHERE name = $1", "s", name);
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ROW && db_column_text(s, 0)) snprintf(buf, n, "%s", db_column_text(s, 0));
    db_reset(s);
    return rc == DB_ERROR ? err_internal(e, "读取统计状态失败") : 0;
}

static int state_set(db *d, const char *name, const char *value, err *e) {
    return db_execf(d, e,
                    "INSERT INTO stats_state (name, value) VALUES ($1, $2) "
                    "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    "ss", name, value);
}

/* The newest timeline row (0 when none). */
static int newest(db *d, int64_t *mx, err *e) {
    *mx = 0;
    return db_query_int(d, e, mx, "SELECT COALESCE(MAX(id), 0) FROM case_events", "") < 0 ? -1 : 0;
}

static int set_watermark(db *d, int64_t mx, err *e) {
    char num[32];
    snprintf(num, sizeof(num), "%lld", (long long)mx);
    return state_set(d, WM_KEY, num, e);
}

/* Derive every row sel yields (then reset it). Rows derived added to *done. */
static int derive_all(db *d, const workcal *cal, db_stmt *sel, fact_batch *b, int *rows,
                      int64_t *last_id, int64_t *done, err *e) {
    int rc;
    while ((rc = db_step(sel)) == DB_ROW) {
        (*rows)++;
        *last_id = db_column_int64(sel, 0);
        int w = derive_one(d, cal, sel, b, e);
        if (w < 0) {
            db_reset(sel);
            return -1;
        }
        *done += w;
    }
    db_reset(sel);
    if (rc == DB_ERROR) return err_internal(e, "读取办件失败：%s", db_errmsg(d));
    return batch_flush(d, b, e);
}

int stats_rebuild(db *d, const workcal *cal, int64_t *processed, err *e) {
    if (processed) *processed = 0;
    cal = calendar(cal, e);
    if (!cal) return -1;
    /* The watermark is taken first: a case changed while we work gets a timeline row
     * after it and is derived again by the next refresh. */
    int64_t mx;
    if (newest(d, &mx, e) != 0) return -1;
    char sql[1200];
    snprintf(sql, sizeof(sql), "%s WHERE c.id > $1 ORDER BY c.id LIMIT $2", FACT_SELECT);
    int64_t last = 0, done = 0;
    fact_batch *b = calloc(1, sizeof(*b));
    if (!b) abort();
    for (;;) {
        if (db_begin(d, e) != 0) goto out;
        db_stmt *s = db_query(d, e, sql, "ii", last, (int64_t)STATS_REBUILD_CHUNK);
        int rows = 0;
        if (!s || derive_all(d, cal, s, b, &rows, &last, &done, e) != 0) goto fail;
        if (rows < STATS_REBUILD_CHUNK) {
            if (set_watermark(d, mx, e) != 0) goto fail;
            if (db_commit(d, e) != 0) goto out;
            break;
        }
        if (db_commit(d, e) != 0) goto out;
    }
    if (processed) *processed = done;
    batch_free(b);
    return 0;
fail:
    db_rollback(d);
out:
    batch_free(b);
    return -1;
}

int stats_refresh(db *d, const workcal *cal, int64_t *processed, err *e) {
    if (processed) *processed = 0;
    char wm_text[32];
    int64_t mx;
    if (state_get(d, WM_KEY, wm_text, sizeof(wm_text), e) != 0) return -1;
    if (!wm_text[0]) return stats_rebuild(d, cal, processed, e);
    int64_t wm = strtoll(wm_text, NULL, 10);
    if (newest(d, &mx, e) != 0) return -1;
    if (mx <= wm) return 0; /* nothing new */
    cal = calendar(cal, e);
    if (!cal) return -1;
    fact_batch *b = calloc(1, sizeof(*b));
    if (!b) abort();
    if (db_begin(d, e) != 0) {
        batch_free(b);
        return -1;
    }
    /* Inside the transaction: the rows up to the newest id now, and nothing after. */
    char sql[1400];
    snprintf(sql, sizeof(sql),
             "%s WHERE c.id IN (SELECT case_id FROM case_events WHERE id > $1 AND id <= $2)",
             FACT_SELECT);
    int rows = 0;
    int64_t last = 0, done = 0;
    db_stmt *s = NULL;
    if (newest(d, &mx, e) != 0 || !(s = db_query(d, e, sql, "ii", wm, mx)) ||
        derive_all(d, cal, s, b, &rows, &last, &done, e) != 0 || set_watermark(d, mx, e) != 0) {
        db_rollback(d);
        batch_free(b);
        return -1;
    }
    batch_free(b);
    if (db_commit(d, e) != 0) return -1;
    if (processed) *processed = done;
    return 0;
}
