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
 * and not a SQL view.
 *
 * The per-day rollups (037_dash_rollup.sql: what each row sums) move with the facts in
 * the same transaction: the refresh subtracts the rows of the cases it is about to
 * re-derive, upserts them, and adds the new rows; ratings (never changed once written)
 * are added once, behind their own watermark ('ratings.id'). The contributions are SQL
 * over the views stats_fact_keys / stats_rating_keys, the only place that knows the
 * Shanghai day of an instant, so the migration's backfill, the rebuild and every
 * refresh cannot disagree. */
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

/* ---- the per-day rollups (037_dash_rollup.sql: what each row sums) ---- */

#define RW_KEY "ratings.id" /* the last rating added to the rollups */

/* The measures, in the order of every statement below. */
#define MEASURES                                                                                   \
    "submitted, online, zero_visit, materials_required, materials_waived, has_deadline, late, "    \
    "open_cases, decided, wd_h, same_day, legal_n, legal_sum, wd_legal_h, ratings, rating_sum"

static const char *const measure_names[] = {
    "submitted",        "online",       "zero_visit", "materials_required",
    "materials_waived", "has_deadline", "late",       "open_cases",
    "decided",          "wd_h",         "same_day",   "legal_n",
    "legal_sum",        "wd_legal_h",   "ratings",    "rating_sum"};
#define NMEASURES (sizeof(measure_names) / sizeof(measure_names[0]))

/* The rollups of the same measures: table and key columns (its primary key). */
static const struct rollup_table {
    const char *name, *keys;
} rollup_tables[] = {
    {"stats_rollup", "town_code, day, item_code, department, channel"},
    {"stats_rollup_town", "day, town_code"},
    {"stats_rollup_department", "day, department, channel"},
    {"stats_rollup_day", "day, channel"},
};

/* The contributions of facts (two arms: the day submitted, the day decided), each arm
 * restricted by `where` (a constant fragment; "" = every fact). */
static void fact_rows_sql(char *out, size_t n, const char *where) {
    snprintf(out, n,
             "SELECT submitted_day AS day, town_key AS town_code, item_key AS item_code, "
             "department, channel, 1 AS submitted, online, zero_visit, materials_required, "
             "materials_waived, has_deadline, late, is_open AS open_cases, 0 AS decided, "
             "0 AS wd_h, 0 AS same_day, 0 AS legal_n, 0.0 AS legal_sum, 0 AS wd_legal_h, "
             "0 AS ratings, 0 AS rating_sum FROM stats_fact_keys%s%s "
             "UNION ALL SELECT decided_day, town_key, item_key, department, channel, 0, 0, 0, "
             "0, 0, 0, 0, 0, 1, wd_h, same_day, CASE WHEN legal_days IS NULL THEN 0 ELSE 1 END, "
             "COALESCE(legal_days, 0), CASE WHEN legal_days IS NULL THEN 0 ELSE wd_h END, 0, 0 "
             "FROM stats_fact_keys WHERE working_days IS NOT NULL%s%s",
             *where ? " WHERE " : "", where, *where ? " AND " : "", where);
}

static void rating_rows_sql(char *out, size_t n) {
    snprintf(out, n,
             "SELECT day, town_key AS town_code, item_key AS item_code, department, channel, "
             "0 AS submitted, 0 AS online, 0 AS zero_visit, 0 AS materials_required, "
             "0 AS materials_waived, 0 AS has_deadline, 0 AS late, 0 AS open_cases, "
             "0 AS decided, 0 AS wd_h, 0 AS same_day, 0 AS legal_n, 0.0 AS legal_sum, "
             "0 AS wd_legal_h, 1 AS ratings, overall AS rating_sum FROM stats_rating_keys "
             "WHERE rating_id > $1 AND rating_id <= $2");
}

/* Add (sign +1) or subtract (-1) the contributions `rows` yields to every rollup.
 * fmt/a/b: the parameters of rows ("" none, "ii" two). */
static int rollup_apply(db *d, const char *rows, int sign, const char *fmt, int64_t a, int64_t b,
                        err *e) {
    for (size_t t = 0; t < sizeof(rollup_tables) / sizeof(rollup_tables[0]); t++) {
        const struct rollup_table *rt = &rollup_tables[t];
        char sums[600] = "", sets[1200] = "", sql[6000];
        size_t ls = 0, lu = 0;
        for (size_t m = 0; m < NMEASURES; m++) {
            ls += (size_t)snprintf(sums + ls, sizeof(sums) - ls, ", %sSUM(%s)", sign < 0 ? "-" : "",
                                   measure_names[m]);
            lu += (size_t)snprintf(sets + lu, sizeof(sets) - lu, "%s%s = %s.%s + excluded.%s",
                                   m ? ", " : "", measure_names[m], rt->name, measure_names[m],
                                   measure_names[m]);
        }
        snprintf(sql, sizeof(sql),
                 "INSERT INTO %s (%s, " MEASURES ") SELECT %s%s FROM (%s) x GROUP BY %s "
                 "ON CONFLICT (%s) DO UPDATE SET %s",
                 rt->name, rt->keys, rt->keys, sums, rows, rt->keys, rt->keys, sets);
        int rc = *fmt ? db_execf(d, e, sql, fmt, a, b) : db_execf(d, e, sql, "");
        if (rc != 0) return -1;
    }
    return 0;
}

/* The city's histogram of durations by tenth of a working day (median, services.c). */
static int rollup_wd_apply(db *d, const char *where, int sign, const char *fmt, int64_t a,
                           int64_t b, err *e) {
    char sql[1200];
    snprintf(sql, sizeof(sql),
             "INSERT INTO stats_rollup_wd (day, tenth, cases) SELECT decided_day, wd_h / 10, "
             "%sCOUNT(*) FROM stats_fact_keys WHERE working_days IS NOT NULL%s%s "
             "GROUP BY decided_day, wd_h / 10 ON CONFLICT (day, tenth) DO UPDATE SET "
             "cases = stats_rollup_wd.cases + excluded.cases",
             sign < 0 ? "-" : "", *where ? " AND " : "", where);
    return *fmt ? db_execf(d, e, sql, fmt, a, b) : db_execf(d, e, sql, "");
}

/* The facts of the cases with a timeline row in (wm, mx], into (+1) or out of (-1) the
 * rollups: the refresh subtracts them before it re-derives them and adds them after. */
static const char CHANGED[] = "case_id IN (SELECT case_id FROM case_events WHERE id > $1 AND "
                              "id <= $2)";
static int rollup_changed(db *d, int sign, int64_t wm, int64_t mx, err *e) {
    char rows[3000];
    fact_rows_sql(rows, sizeof(rows), CHANGED);
    if (rollup_apply(d, rows, sign, "ii", wm, mx, e) != 0) return -1;
    return rollup_wd_apply(d, CHANGED, sign, "ii", wm, mx, e);
}

static int state_set(db *d, const char *name, const char *value, err *e);

/* The ratings in (from, to] into the rollups, and the watermark to `to`. */
static int rollup_ratings(db *d, int64_t from, int64_t to, err *e) {
    char rows[1200], num[32];
    rating_rows_sql(rows, sizeof(rows));
    if (to > from && rollup_apply(d, rows, +1, "ii", from, to, e) != 0) return -1;
    snprintf(num, sizeof(num), "%lld", (long long)to);
    return state_set(d, RW_KEY, num, e);
}

static int newest_rating(db *d, int64_t *mx, err *e) {
    *mx = 0;
    return db_query_int(d, e, mx, "SELECT COALESCE(MAX(id), 0) FROM ratings", "") < 0 ? -1 : 0;
}

/* Every rollup from scratch: from every fact and every rating. Inside the caller's
 * transaction. */
static int rollup_rebuild(db *d, err *e) {
    static const char *const tables[] = {"stats_rollup", "stats_rollup_town",
                                         "stats_rollup_department", "stats_rollup_day",
                                         "stats_rollup_wd"};
    char sql[64], rows[3000];
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        snprintf(sql, sizeof(sql), "DELETE FROM %s", tables[i]);
        if (db_execf(d, e, sql, "") != 0) return -1;
    }
    fact_rows_sql(rows, sizeof(rows), "");
    int64_t rmx;
    if (rollup_apply(d, rows, +1, "", 0, 0, e) != 0 ||
        rollup_wd_apply(d, "", +1, "", 0, 0, e) != 0 || newest_rating(d, &rmx, e) != 0)
        return -1;
    return rollup_ratings(d, 0, rmx, e);
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
            /* The rollups with the last chunk: they never disagree with the facts. */
            if (rollup_rebuild(d, e) != 0 || set_watermark(d, mx, e) != 0) goto fail;
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
    char wm_text[32], rw_text[32];
    int64_t mx, rmx;
    if (state_get(d, WM_KEY, wm_text, sizeof(wm_text), e) != 0) return -1;
    if (!wm_text[0]) return stats_rebuild(d, cal, processed, e);
    if (state_get(d, RW_KEY, rw_text, sizeof(rw_text), e) != 0 || newest(d, &mx, e) != 0 ||
        newest_rating(d, &rmx, e) != 0)
        return -1;
    if (rw_text[0] && mx <= strtoll(wm_text, NULL, 10) && rmx <= strtoll(rw_text, NULL, 10))
        return 0; /* nothing new */
    cal = calendar(cal, e);
    if (!cal) return -1;
    fact_batch *b = calloc(1, sizeof(*b));
    if (!b) abort();
    if (db_begin(d, e) != 0) {
        batch_free(b);
        return -1;
    }
    /* Inside the transaction (writers are serialised): the watermarks as another
     * refresh may just have left them, the rows up to the newest ids now, nothing
     * after. A rating must never be added twice. */
    char sql[1400];
    snprintf(sql, sizeof(sql),
             "%s WHERE c.id IN (SELECT case_id FROM case_events WHERE id > $1 AND id <= $2)",
             FACT_SELECT);
    int rows = 0;
    int64_t last = 0, done = 0, wm = 0;
    db_stmt *s = NULL;
    if (state_get(d, WM_KEY, wm_text, sizeof(wm_text), e) != 0 ||
        state_get(d, RW_KEY, rw_text, sizeof(rw_text), e) != 0 || newest(d, &mx, e) != 0 ||
        newest_rating(d, &rmx, e) != 0)
        goto fail;
    wm = strtoll(wm_text, NULL, 10);
    if (mx > wm) {
        /* The old facts of the cases that moved out of the rollups, the new ones in. */
        if (rollup_changed(d, -1, wm, mx, e) != 0 || !(s = db_query(d, e, sql, "ii", wm, mx)) ||
            derive_all(d, cal, s, b, &rows, &last, &done, e) != 0 ||
            rollup_changed(d, +1, wm, mx, e) != 0 || set_watermark(d, mx, e) != 0)
            goto fail;
    }
    if (!rw_text[0]) { /* no rollups yet that can be trusted: all of them */
        if (rollup_rebuild(d, e) != 0) goto fail;
    } else {
        int64_t rw = strtoll(rw_text, NULL, 10);
        if (rmx > rw && rollup_ratings(d, rw, rmx, e) != 0) goto fail;
    }
    batch_free(b);
    if (db_commit(d, e) != 0) return -1;
    if (processed) *processed = done;
    return 0;
fail:
    db_rollback(d);
    batch_free(b);
    return -1;
}
