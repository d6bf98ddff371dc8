/* services.c: the indicator registry and the service indicators of 一网通办
 * (see stats.h for the definitions and the design).
 *
 * Every figure is an aggregate in SQL; C only adds up groups, takes medians from
 * a histogram of durations and rounds. The SQL text is assembled from constant
 * fragments (column names from the tables below, never from input); every value
 * is a bound parameter. Never call stats_services() inside a transaction: it may
 * refresh stats_cases first, in its own. */
#include "stats/stats.h"

#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/xmalloc.h"

/* ---- the registry ---- */

#define ALL_DIMS  (STATS_DIM_DEPARTMENT | STATS_DIM_TOWN | STATS_DIM_ITEM | STATS_DIM_CHANNEL)
#define ITEM_DIMS (STATS_DIM_DEPARTMENT | STATS_DIM_ITEM)

enum {
    IND_ONLINE,
    IND_WAIVER,
    IND_AVG_DAYS,
    IND_MEDIAN_DAYS,
    IND_LEGAL_AVG,
    IND_TIME_SAVING,
    IND_PROMISE,
    IND_INSTANT,
    IND_ZERO_VISIT,
    IND_OVERDUE,
    IND_RATING_AVG,
    IND_CALLBACK,
    IND_CLOSURE,
    IND_COUNT
};

static const stats_indicator registry[IND_COUNT] = {
    [IND_ONLINE] =
        {"online_rate", "一网通办率",
         "通过网上平台提交的办件（申请人网上申请，或帮办代办员代为网上申请）÷ 全部提交办件", "%", 1,
         90, +1, "submitted_at", ALL_DIMS},
    [IND_WAIVER] = {"material_waiver_rate", "材料免提交率",
                    "免于提交的必要材料（电子证照复用、告知承诺）÷ 办件的全部必要材料", "%", 1, 25,
                    +1, "submitted_at", ALL_DIMS},
    [IND_AVG_DAYS] = {"avg_working_days", "平均办理时间",
                      "受理至作出决定的工作日数（扣除中止时间）的平均值", "工作日", 1, 3, -1,
                      "decided_at", ALL_DIMS},
    [IND_MEDIAN_DAYS] = {"median_working_days", "办理时间中位数",
                         "受理至作出决定的工作日数（扣除中止时间）的中位数", "工作日", 0, 0, -1,
                         "decided_at", ALL_DIMS},
    [IND_LEGAL_AVG] = {"legal_days_avg", "法定办结时限（平均）",
                       "同一批已决定办件所属事项的法定办结时限的平均值", "工作日", 0, 0, -1,
                       "decided_at", ALL_DIMS},
    [IND_TIME_SAVING] = {"time_saving_rate", "办理时间压缩比",
                         "1 − 实际办理工作日之和 ÷ 法定办结时限之和（同一批已决定办件）", "%", 0, 0,
                         +1, "decided_at", ALL_DIMS},
    [IND_PROMISE] = {"promise_compression", "承诺时限压缩比",
                     "1 − 承诺办结时限之和 ÷ 法定办结时限之和（可网上申请、法定时限大于 0 的事项）",
                     "%", 0, 0, +1, "catalog", ITEM_DIMS},
    [IND_INSTANT] = {"instant_rate", "即办率", "受理当日作出决定的办件 ÷ 已决定办件", "%", 0, 0, +1,
                     "decided_at", ALL_DIMS},
    [IND_ZERO_VISIT] = {"zero_visit_rate", "跑零次率", "无需到现场的办件 ÷ 全部提交办件", "%", 0, 0,
                        +1, "submitted_at", ALL_DIMS},
    [IND_OVERDUE] =
        {"overdue_count", "超期办件",
         "仍在办理且已过办结期限的办件 + 超过期限才作出决定的办件（分母：有办结期限的办件）", "件",
         1, 0, -1, "submitted_at", ALL_DIMS},
    [IND_RATING_AVG] = {"rating_avg", "好差评平均分",
                        "评价的整体满意度平均值（5 非常满意 … 1 非常不满意）", "分", 0, 0, +1,
                        "created_at", ALL_DIMS},
    [IND_CALLBACK] = {"bad_callback_rate", "差评回访率", "已回访的差评 ÷ 差评（每条差评都须回访）",
                      "%", 1, 100, +1, "opened_at", ALL_DIMS},
    [IND_CLOSURE] = {"bad_closure_rate", "差评整改办结率",
                     "已办结的差评 ÷（已办结或已过整改期限的差评）", "%", 1, 100, +1, "opened_at",
                     ALL_DIMS},
};

const stats_indicator *stats_indicators(size_t *n) {
    *n = IND_COUNT;
    return registry;
}

const stats_indicator *stats_indicator_find(const char *id) {
    for (size_t i = 0; id && i < IND_COUNT; i++)
        if (!strcmp(registry[i].id, id)) return &registry[i];
    return NULL;
}

static const struct {
    stats_dim dim;
    const char *name;
} dim_names[] = {{STATS_DIM_DEPARTMENT, "department"},
                 {STATS_DIM_TOWN, "town"},
                 {STATS_DIM_ITEM, "item"},
                 {STATS_DIM_CHANNEL, "channel"}};

static json_t *dims_json(unsigned dims) {
    json_t *a = json_array();
    for (size_t i = 0; i < sizeof(dim_names) / sizeof(dim_names[0]); i++)
        if (dims & dim_names[i].dim) json_array_append_new(a, json_string(dim_names[i].name));
    return a;
}

json_t *stats_indicators_json(void) {
    json_t *a = json_array();
    for (size_t i = 0; i < IND_COUNT; i++) {
        const stats_indicator *d = &registry[i];
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:o}", "id", d->id,
                                           "name", d->name, "definition", d->definition, "unit",
                                           d->unit, "target",
                                           d->has_target ? json_real(d->target) : json_null(),
                                           "direction", d->direction > 0 ? "higher" : "lower",
                                           "basis", d->basis, "dimensions", dims_json(d->dims)));
    }
    return a;
}

/* ---- filters ---- */

static const char *const channels[] = {"online", "window", "assisted", "station", NULL};

static int channel_known(const char *c) {
    for (int i = 0; channels[i]; i++)
        if (!strcmp(channels[i], c)) return 1;
    return 0;
}

static int text_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > STATS_TEXT_MAX) return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f) return 0;
    return 1;
}

int stats_filter_parse(stats_filter *f, const char *from, const char *to, const char *department,
                       const char *town, const char *item, const char *channel, int64_t now,
                       err *e) {
    memset(f, 0, sizeof(*f));
    f->now = now ? now : time_now();
    workcal_date dt, df;
    if (to && *to) {
        if (workcal_date_parse(to, &dt) != 0) return err_invalid(e, "to", "to 须为日期 YYYY-MM-DD");
    } else {
        dt = workcal_local_date(f->now);
    }
    int64_t to_start = workcal_local_instant(dt, 0);
    if (from && *from) {
        if (workcal_date_parse(from, &df) != 0)
            return err_invalid(e, "from", "from 须为日期 YYYY-MM-DD");
    } else {
        df = workcal_local_date(to_start - 364 * 86400LL);
    }
    int64_t from_start = workcal_local_instant(df, 0);
    if (from_start > to_start) return err_invalid(e, "from", "from 不能晚于 to");
    if ((to_start - from_start) / 86400 + 1 > STATS_MAX_WINDOW)
        return err_invalid(e, "from", "时间范围最长 %d 天", STATS_MAX_WINDOW);
    f->from = from_start;
    /* to is inclusive: the window ends at the next Shanghai midnight. */
    f->to = workcal_local_instant(workcal_local_date(to_start + 86400 + 3600), 0);
    workcal_date_format(df, f->from_date, sizeof(f->from_date));
    workcal_date_format(dt, f->to_date, sizeof(f->to_date));
    if (department) {
        if (!text_ok(department))
            return err_invalid(e, "department", "department 须为 1–%d 字节的部门名称",
                               STATS_TEXT_MAX);
        f->department = department;
    }
    if (town) {
        if (strlen(town) != 9 || strspn(town, "0123456789") != 9)
            return err_invalid(e, "town", "town 须为 9 位乡镇（街道）代码");
        f->town_code = town;
    }
    if (item) {
        if (!text_ok(item) || strlen(item) > 40) return err_invalid(e, "item", "item 须为事项编码");
        f->item_code = item;
    }
    if (channel) {
        if (!channel_known(channel))
            return err_invalid(e, "channel", "channel 须为 online、window、assisted 或 station");
        f->channel = channel;
    }
    return 0;
}

int stats_dim_parse(const char *s, stats_dim *out, err *e) {
    *out = STATS_DIM_NONE;
    if (!s || !*s) return 0;
    for (size_t i = 0; i < sizeof(dim_names) / sizeof(dim_names[0]); i++)
        if (!strcmp(dim_names[i].name, s)) {
            *out = dim_names[i].dim;
            return 0;
        }
    return err_invalid(e, "by", "by 须为 department、town、item 或 channel");
}

/* ---- query assembly ---- */

/* Where each dimension lives in one source of figures (NULL: not available). */
typedef struct source_cols {
    const char *department, *town, *item, *channel;
} source_cols;

static const source_cols facts_cols = {"department", "town_code", "item_code", "channel"};
static const source_cols ticket_cols = {"t.department", "s.town_code", "r.item_code", "r.channel"};
static const source_cols catalog_cols = {"department", NULL, "code", NULL};

static const char *col_of(const source_cols *c, stats_dim dim) {
    switch (dim) {
    case STATS_DIM_DEPARTMENT:
        return c->department;
    case STATS_DIM_TOWN:
        return c->town;
    case STATS_DIM_ITEM:
        return c->item;
    case STATS_DIM_CHANNEL:
        return c->channel;
    default:
        return NULL;
    }
}

typedef struct qbuild {
    char sql[3072];
    size_t len;
    int n;
    const char *params[12];
} qbuild;

static void qb_add(qbuild *q, const char *s) {
    int k = snprintf(q->sql + q->len, sizeof(q->sql) - q->len, "%s", s);
    if (k > 0) q->len += (size_t)k;
    if (q->len >= sizeof(q->sql)) q->len = sizeof(q->sql) - 1;
}

static int qb_param(qbuild *q, const char *v) {
    q->params[q->n] = v;
    return ++q->n;
}

/* " AND col = $n" for every filter the source has a column for. */
static void qb_filters(qbuild *q, const source_cols *c, const stats_filter *f) {
    const char *vals[4] = {f->department, f->town_code, f->item_code, f->channel};
    const char *cols[4] = {c->department, c->town, c->item, c->channel};
    for (int i = 0; i < 4; i++) {
        if (!vals[i] || !cols[i]) continue;
        char frag[96];
        snprintf(frag, sizeof(frag), " AND %s = $%d", cols[i], qb_param(q, vals[i]));
        qb_add(q, frag);
    }
}

/* "SELECT <key>, " with the group key (the bare column, so that an index led by it
 * gives the grouping order; NULL reads as ""). */
static void qb_select_key(qbuild *q, const char *keycol) {
    char frag[128];
    if (keycol)
        snprintf(frag, sizeof(frag), "SELECT %s AS k, ", keycol);
    else
        snprintf(frag, sizeof(frag), "SELECT '' AS k, ");
    qb_add(q, frag);
}

static void qb_group(qbuild *q, const char *keycol, const char *extra) {
    char frag[160];
    if (keycol && extra)
        snprintf(frag, sizeof(frag), " GROUP BY %s, %s ORDER BY %s, %s", keycol, extra, keycol,
                 extra);
    else if (keycol)
        snprintf(frag, sizeof(frag), " GROUP BY %s", keycol);
    else if (extra)
        snprintf(frag, sizeof(frag), " GROUP BY %s ORDER BY %s", extra, extra);
    else
        frag[0] = '\0';
    qb_add(q, frag);
}

/* " WHERE col >= $a AND col < $b" for the window. Split by a dimension, the column is
 * written as `col || ''` (the same text): SQLite then walks the dimension's covering
 * index in group order instead of taking the window's range and sorting the whole
 * year (measured at 1,000,000 cases: 0.6 s against 1.3–2.8 s). */
static void qb_window(qbuild *q, const char *lead, const char *col, stats_dim by, const char *from,
                      const char *to) {
    char frag[160];
    const char *cast = by != STATS_DIM_NONE ? " || ''" : "";
    int p1 = qb_param(q, from), p2 = qb_param(q, to);
    snprintf(frag, sizeof(frag), " %s %s%s >= $%d AND %s%s < $%d", lead, col, cast, p1, col, cast,
             p2);
    qb_add(q, frag);
}

static db_stmt *qb_prepare(db *d, qbuild *q, err *e) {
    db_stmt *s = db_prepare(d, q->sql, e);
    if (!s) return NULL;
    for (int i = 0; i < q->n; i++)
        db_bind_text(s, i + 1, q->params[i]);
    return s;
}

/* ---- accumulating groups ---- */

enum {
    A_SUB,
    A_ONLINE,
    A_ZERO,
    A_MREQ,
    A_MWAIVED,
    A_DEADLINE,
    A_OPEN_OVERDUE,
    A_LATE,
    A_OPEN,
    A_DEC,
    A_WD,
    A_SAME,
    A_LEGAL,
    A_LEGAL_N,
    A_WD_LEGAL,
    A_MEDIAN,
    A_RAT,
    A_RAT_SUM,
    A_TK,
    A_TK_CALLED,
    A_TK_CLOSED,
    A_TK_DUE,
    A_CAT,
    A_CAT_PROMISE,
    A_CAT_LEGAL,
    A_HAS_MEDIAN,
    A_COUNT
};

typedef struct acc_group {
    char key[STATS_TEXT_MAX + 1];
    double a[A_COUNT];
} acc_group;

typedef struct accs {
    acc_group *g;
    size_t n, cap;
    size_t last; /* index of the last hit, rows often come grouped */
    int overflow;
} accs;

static acc_group *acc_find(accs *A, const char *key, int create) {
    if (A->last < A->n && !strcmp(A->g[A->last].key, key)) return &A->g[A->last];
    for (size_t i = 0; i < A->n; i++)
        if (!strcmp(A->g[i].key, key)) {
            A->last = i;
            return &A->g[i];
        }
    if (!create) return NULL;
    if (A->n == 4 * STATS_MAX_GROUPS) {
        A->overflow = 1;
        return NULL;
    }
    if (A->n == A->cap) {
        A->cap = A->cap ? 2 * A->cap : 16;
        A->g = xrealloc(A->g, A->cap * sizeof(*A->g));
    }
    acc_group *g = &A->g[A->n];
    memset(g, 0, sizeof(*g));
    snprintf(g->key, sizeof(g->key), "%s", key);
    A->last = A->n++;
    return g;
}

static const char *key_of(db_stmt *s) {
    const char *k = db_column_text(s, 0);
    return k ? k : "";
}

static int step_error(db *d, err *e) {
    return err_internal(e, "统计查询失败：%s", db_errmsg(d));
}

/* Which rollup answers a query: the narrowest one holding every dimension the filters
 * and the split use (037_dash_rollup.sql). */
static const char *rollup_for(const stats_filter *f, stats_dim by) {
    unsigned dims = (unsigned)by;
    if (f->department) dims |= STATS_DIM_DEPARTMENT;
    if (f->town_code) dims |= STATS_DIM_TOWN;
    if (f->item_code) dims |= STATS_DIM_ITEM;
    if (f->channel) dims |= STATS_DIM_CHANNEL;
    if ((dims & STATS_DIM_ITEM) || ((dims & STATS_DIM_TOWN) && dims != STATS_DIM_TOWN))
        return "stats_rollup";
    if (dims & STATS_DIM_TOWN) return "stats_rollup_town";
    if (dims & STATS_DIM_DEPARTMENT) return "stats_rollup_department";
    return "stats_rollup_day";
}

/* Every additive figure from the per-day rollups: the cases submitted in the window
 * (channel, visits, materials, late decisions, still open), those decided in it
 * (durations in hundredths of a working day, 即办, statutory days) and the ratings
 * created in it — one GROUP BY over a few rows per day. With the town involved, the
 * ratings of cases without a fact (town '-') are left out, as the join with
 * stats_cases did. A group exists where something was submitted, decided or rated. */
static int add_rollup(db *d, const stats_filter *f, stats_dim by, accs *A, err *e) {
    const char *key = col_of(&facts_cols, by);
    char frag[160];
    qbuild q = {0};
    qb_select_key(&q, key);
    snprintf(frag, sizeof(frag),
             "SUM(submitted), SUM(online), SUM(zero_visit), SUM(materials_required), "
             "SUM(materials_waived), SUM(has_deadline), SUM(late), SUM(open_cases), ");
    qb_add(&q, frag);
    qb_add(&q, "SUM(decided), SUM(wd_h), SUM(same_day), SUM(legal_n), SUM(legal_sum), "
               "SUM(wd_legal_h), SUM(ratings), SUM(rating_sum) FROM ");
    qb_add(&q, rollup_for(f, by));
    int p1 = qb_param(&q, f->from_date), p2 = qb_param(&q, f->to_date);
    snprintf(frag, sizeof(frag), " WHERE day >= $%d AND day <= $%d", p1, p2);
    qb_add(&q, frag);
    if (f->town_code || by == STATS_DIM_TOWN) qb_add(&q, " AND town_code <> '-'");
    qb_filters(&q, &facts_cols, f);
    qb_group(&q, key, NULL);
    db_stmt *s = qb_prepare(d, &q, e);
    if (!s) return -1;
    static const int slots[] = {A_SUB,   A_ONLINE,   A_ZERO, A_MREQ,   A_MWAIVED, A_DEADLINE,
                                A_LATE,  A_OPEN,     A_DEC,  A_WD,     A_SAME,    A_LEGAL_N,
                                A_LEGAL, A_WD_LEGAL, A_RAT,  A_RAT_SUM};
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        int any =
            db_column_int64(s, 1) > 0 || db_column_int64(s, 9) > 0 || db_column_int64(s, 15) > 0;
        acc_group *g = acc_find(A, key_of(s), any);
        if (!g) continue;
        for (int i = 0; i < 16; i++) {
            int slot = slots[i];
            if (slot == A_WD || slot == A_WD_LEGAL) /* exact hundredths */
                g->a[slot] += (double)db_column_int64(s, i + 1) / 100.0;
            else if (slot == A_LEGAL)
                g->a[slot] += db_column_double(s, i + 1);
            else
                g->a[slot] += (double)db_column_int64(s, i + 1);
        }
    }
    db_reset(s);
    return rc == DB_ERROR ? step_error(d, e) : 0;
}

/* Of the cases submitted in the window and still open, those past their deadline
 * now: it moves with the clock, so it is read from stats_cases (a range of
 * stats_cases_open: few rows). */
static int add_open_overdue(db *d, const stats_filter *f, stats_dim by, accs *A, err *e) {
    const char *key = col_of(&facts_cols, by);
    char now_iso[32], from_iso[32], to_iso[32], frag[256];
    time_iso(now_iso, sizeof(now_iso), f->now);
    time_iso(from_iso, sizeof(from_iso), f->from);
    time_iso(to_iso, sizeof(to_iso), f->to);
    qbuild q = {0};
    qb_select_key(&q, key);
    int pn = qb_param(&q, now_iso), p1 = qb_param(&q, from_iso), p2 = qb_param(&q, to_iso);
    snprintf(frag, sizeof(frag),
             "COUNT(*) FROM stats_cases WHERE status IN ('accepted', 'in_review') AND "
             "deadline_at < $%d AND submitted_at >= $%d AND submitted_at < $%d",
             pn, p1, p2);
    qb_add(&q, frag);
    /* The filters as `col || ''` (the same text), so that SQLite takes the few open
     * cases past their deadline from stats_cases_open rather than every case of a
     * town or item from their indexes. */
    const char *vals[4] = {f->department, f->town_code, f->item_code, f->channel};
    const char *cols[4] = {"department", "town_code", "item_code", "channel"};
    for (int i = 0; i < 4; i++) {
        if (!vals[i]) continue;
        snprintf(frag, sizeof(frag), " AND %s || '' = $%d", cols[i], qb_param(&q, vals[i]));
        qb_add(&q, frag);
    }
    qb_group(&q, key, NULL);
    db_stmt *s = qb_prepare(d, &q, e);
    if (!s) return -1;
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        acc_group *g = acc_find(A, key_of(s), 0);
        if (g) g->a[A_OPEN_OVERDUE] += db_column_double(s, 1);
    }
    db_reset(s);
    return rc == DB_ERROR ? step_error(d, e) : 0;
}

/* Median of a histogram (values ascending, counts), the ranks counted from `seen`
 * cases below the first value. 0 when the ranks are not in it. */
static int hist_median_from(const double *v, const double *c, size_t n, int64_t total, int64_t seen,
                            double *out) {
    if (total <= 0) return 0;
    int64_t lo = (total - 1) / 2, hi = total / 2; /* 0-based ranks of the middle one or two */
    double vlo = 0;
    int got_lo = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t k = (int64_t)llround(c[i]);
        if (!got_lo && lo < seen + k) {
            vlo = v[i];
            got_lo = 1;
        }
        if (hi < seen + k) {
            if (!got_lo) return 0;
            *out = (vlo + v[i]) / 2;
            return 1;
        }
        seen += k;
    }
    return 0;
}

/* Medians of the durations of the cases decided in the window, per group: a
 * histogram over stats_cases in index order (the dimension's *_days index). */
static int add_median_direct(db *d, const stats_filter *f, stats_dim by, accs *A, err *e) {
    qbuild q = {0};
    const char *key = col_of(&facts_cols, by);
    char from_iso[32], to_iso[32];
    time_iso(from_iso, sizeof(from_iso), f->from);
    time_iso(to_iso, sizeof(to_iso), f->to);
    qb_select_key(&q, key);
    qb_add(&q, "working_days, COUNT(*) FROM stats_cases");
    qb_window(&q, "WHERE", "decided_at", by, from_iso, to_iso);
    qb_add(&q, " AND working_days IS NOT NULL");
    qb_filters(&q, &facts_cols, f);
    qb_group(&q, key, "working_days");
    db_stmt *s = qb_prepare(d, &q, e);
    if (!s) return -1;
    size_t hn = 0, hcap = 0;
    double *hv = NULL, *hc = NULL, total = 0;
    /* Groups by index: acc_find() may move them (the pointer of the group before would
     * dangle — the figures used to lose that group's median). */
    size_t cur = SIZE_MAX;
    int rc;
    for (;;) {
        rc = db_step(s);
        acc_group *g = rc == DB_ROW ? acc_find(A, key_of(s), 1) : NULL;
        size_t gi = g ? (size_t)(g - A->g) : SIZE_MAX;
        if (rc != DB_ROW || gi != cur) {
            double m;
            if (cur != SIZE_MAX && hn &&
                hist_median_from(hv, hc, hn, (int64_t)llround(total), 0, &m)) {
                A->g[cur].a[A_MEDIAN] = m;
                A->g[cur].a[A_HAS_MEDIAN] = 1;
            }
            hn = 0;
            total = 0;
            cur = gi;
        }
        if (rc != DB_ROW) break;
        if (!g) continue;
        if (hn == hcap) {
            hcap = hcap ? 2 * hcap : 256;
            hv = xrealloc(hv, hcap * sizeof(*hv));
            hc = xrealloc(hc, hcap * sizeof(*hc));
        }
        hv[hn] = db_column_double(s, 1);
        hc[hn] = db_column_double(s, 2);
        total += hc[hn++];
    }
    free(hv);
    free(hc);
    db_reset(s);
    return rc == DB_ERROR ? step_error(d, e) : 0;
}

/* The city's median without reading every decided case: the per-day histogram by
 * tenth of a working day (stats_rollup_wd) tells which tenths hold the middle
 * ranks, and only those are read from stats_cases_days, value by value. Falls back
 * to the direct histogram if the two ever disagree. */
static int add_median_city(db *d, const stats_filter *f, accs *A, err *e) {
    acc_group *g = acc_find(A, "", 1);
    db_stmt *s = db_query(d, e,
                          "SELECT tenth, SUM(cases) FROM stats_rollup_wd WHERE day >= $1 AND "
                          "day <= $2 GROUP BY tenth ORDER BY tenth",
                          "ss", f->from_date, f->to_date);
    if (!s) return -1;
    size_t n = 0, cap = 0;
    int64_t *tenth = NULL, *count = NULL, total = 0;
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        int64_t k = db_column_int64(s, 1);
        if (k <= 0) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            tenth = xrealloc(tenth, cap * sizeof(*tenth));
            count = xrealloc(count, cap * sizeof(*count));
        }
        tenth[n] = db_column_int64(s, 0);
        count[n++] = k;
        total += k;
    }
    db_reset(s);
    if (rc == DB_ERROR || !g || total == 0) {
        free(tenth);
        free(count);
        return rc == DB_ERROR ? step_error(d, e) : 0;
    }
    int64_t lo = (total - 1) / 2, hi = total / 2, seen = 0, below = 0;
    size_t ilo = n, ihi = n;
    for (size_t i = 0; i < n; i++) {
        if (ilo == n && lo < seen + count[i]) {
            ilo = i;
            below = seen;
        }
        if (hi < seen + count[i]) {
            ihi = i;
            break;
        }
        seen += count[i];
    }
    int found = 0;
    if (ilo < n && ihi < n) {
        char from_iso[32], to_iso[32];
        time_iso(from_iso, sizeof(from_iso), f->from);
        time_iso(to_iso, sizeof(to_iso), f->to);
        /* Tenths as exact decimals: b / 10.0 is the double nearest b/10, the same as
         * the stored "x.yz" values are parsed to, so the range holds exactly the cases
         * counted in those tenths. */
        s = db_query(d, e,
                     "SELECT working_days, COUNT(*) FROM stats_cases WHERE working_days >= $1 AND "
                     "working_days < $2 AND decided_at >= $3 AND decided_at < $4 "
                     "GROUP BY working_days ORDER BY working_days",
                     "ddss", (double)tenth[ilo] / 10.0, (double)(tenth[ihi] + 1) / 10.0, from_iso,
                     to_iso);
        if (!s) {
            free(tenth);
            free(count);
            return -1;
        }
        size_t hn = 0, hcap = 0;
        double *hv = NULL, *hc = NULL, m = 0;
        while ((rc = db_step(s)) == DB_ROW) {
            if (hn == hcap) {
                hcap = hcap ? 2 * hcap : 256;
                hv = xrealloc(hv, hcap * sizeof(*hv));
                hc = xrealloc(hc, hcap * sizeof(*hc));
            }
            hv[hn] = db_column_double(s, 0);
            hc[hn++] = db_column_double(s, 1);
        }
        db_reset(s);
        if (rc != DB_ERROR && hist_median_from(hv, hc, hn, total, below, &m)) {
            g->a[A_MEDIAN] = m;
            g->a[A_HAS_MEDIAN] = 1;
            found = 1;
        }
        free(hv);
        free(hc);
        if (rc == DB_ERROR) {
            free(tenth);
            free(count);
            return step_error(d, e);
        }
    }
    free(tenth);
    free(count);
    if (found) return 0;
    log_warn("stats: the duration histogram disagrees with the facts; median read directly");
    return add_median_direct(d, f, STATS_DIM_NONE, A, e);
}

/* 1 when num/den (integers, den > 0) lies exactly halfway between two integers. */
static int exact_half(int64_t num, int64_t den) {
    return den > 0 && (2 * num) % den == 0 && ((2 * num) / den) % 2 != 0;
}

/* Rounding ties. The rollups hold durations as exact hundredths, and every figure
 * rounds the same way it always did — except when the exact value lies exactly
 * halfway at its second decimal (a mean of 2.555): then the direction was decided by
 * the floating-point error of the sum the figure used to be computed with, Σ wd·n
 * over the group's durations in ascending order. For such a group (rare, and then
 * mostly a small one) that sum is computed again as before, so that every value
 * stays what it was. */
static int group_sums_direct(db *d, const stats_filter *f, stats_dim by, const char *key,
                             double *wd_sum, double *wd_legal, err *e) {
    char from_iso[32], to_iso[32], frag[160];
    time_iso(from_iso, sizeof(from_iso), f->from);
    time_iso(to_iso, sizeof(to_iso), f->to);
    /* One item in one town: `working_days + 0` (the same value) keeps SQLite from
     * walking an index for its order instead of the pair's (stats_cases_town_item). */
    int pair = (f->town_code || by == STATS_DIM_TOWN) && (f->item_code || by == STATS_DIM_ITEM);
    const char *wd = pair ? "working_days + 0" : "working_days";
    qbuild q = {0};
    snprintf(frag, sizeof(frag), "SELECT %s, COUNT(*), COUNT(legal_days) FROM stats_cases", wd);
    qb_add(&q, frag);
    qb_window(&q, "WHERE", "decided_at", STATS_DIM_NONE, from_iso, to_iso);
    qb_add(&q, " AND working_days IS NOT NULL");
    qb_filters(&q, &facts_cols, f);
    const char *col = col_of(&facts_cols, by);
    if (col && *key) { /* the group as an equality: an index led by it (or by the filter) */
        snprintf(frag, sizeof(frag), " AND %s = $%d", col, qb_param(&q, key));
        qb_add(&q, frag);
    } else if (col) { /* "" is NULL or empty */
        snprintf(frag, sizeof(frag), " AND (%s IS NULL OR %s = '')", col, col);
        qb_add(&q, frag);
    }
    snprintf(frag, sizeof(frag), " GROUP BY %s ORDER BY %s", wd, wd);
    qb_add(&q, frag);
    db_stmt *s = qb_prepare(d, &q, e);
    if (!s) return -1;
    *wd_sum = *wd_legal = 0;
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        double v = db_column_double(s, 0);
        *wd_sum += v * db_column_double(s, 1);
        *wd_legal += v * db_column_double(s, 2);
    }
    db_reset(s);
    return rc == DB_ERROR ? step_error(d, e) : 0;
}

static int fix_ties(db *d, const stats_filter *f, stats_dim by, accs *A, err *e) {
    for (size_t i = 0; i < A->n; i++) {
        acc_group *g = &A->g[i];
        int64_t n = llround(g->a[A_DEC]), h = llround(g->a[A_WD] * 100);
        int64_t hl = llround(g->a[A_WD_LEGAL] * 100);
        double legal = g->a[A_LEGAL];
        int tie = exact_half(h, n); /* avg_working_days ×100 = h / n */
        if (legal > 0) {            /* time_saving_rate ×100 = 10000 − 200·hl / (2·legal) */
            if (legal == floor(legal) && legal < 1e15)
                tie |= exact_half(100 * hl, (int64_t)legal);
            else
                tie = 1;
        }
        if (tie && group_sums_direct(d, f, by, g->key, &g->a[A_WD], &g->a[A_WD_LEGAL], e) != 0)
            return -1;
    }
    return 0;
}

static int add_median(db *d, const stats_filter *f, stats_dim by, accs *A, err *e) {
    if (by == STATS_DIM_NONE && !f->department && !f->town_code && !f->item_code && !f->channel)
        return add_median_city(d, f, A, e);
    return add_median_direct(d, f, by, A, e);
}

/* The 差评 tickets opened in the window: their state moves (回访, 整改) and so does
 * the clock they are due by, so they are read as they are (few rows). */
static int add_tickets(db *d, const stats_filter *f, stats_dim by, accs *A, err *e) {
    char now_iso[32], from_iso[32], to_iso[32], frag[512];
    time_iso(now_iso, sizeof(now_iso), f->now);
    time_iso(from_iso, sizeof(from_iso), f->from);
    time_iso(to_iso, sizeof(to_iso), f->to);
    int need_town = f->town_code || by == STATS_DIM_TOWN;
    const char *key = col_of(&ticket_cols, by);
    qbuild q = {0};
    qb_select_key(&q, key);
    int pn = qb_param(&q, now_iso);
    snprintf(frag, sizeof(frag),
             "COUNT(*), SUM(CASE WHEN t.callback_at IS NOT NULL THEN 1 ELSE 0 END), "
             "SUM(CASE WHEN t.status = 'closed' THEN 1 ELSE 0 END), "
             "SUM(CASE WHEN t.status = 'closed' OR t.rectify_due < $%d THEN 1 ELSE 0 END) "
             "FROM rating_tickets t",
             pn);
    qb_add(&q, frag);
    /* The rating only for its item or channel (every ticket has its rating: a foreign
     * key, and neither is ever deleted). */
    if (f->item_code || f->channel || by == STATS_DIM_ITEM || by == STATS_DIM_CHANNEL)
        qb_add(&q, " JOIN ratings r ON r.id = t.rating_id");
    /* The town from an index, not from the case's row (SQLite would take the primary
     * key's and read the row). */
    if (need_town)
        qb_add(&q, strcmp(db_backend(d), "sqlite")
                       ? " JOIN stats_cases s ON s.case_id = t.case_id"
                       : " JOIN stats_cases s INDEXED BY stats_cases_case_town ON s.case_id = "
                         "t.case_id");
    int p1 = qb_param(&q, from_iso), p2 = qb_param(&q, to_iso);
    snprintf(frag, sizeof(frag), " WHERE t.opened_at >= $%d AND t.opened_at < $%d", p1, p2);
    qb_add(&q, frag);
    qb_filters(&q, &ticket_cols, f);
    qb_group(&q, key, NULL);
    db_stmt *s = qb_prepare(d, &q, e);
    if (!s) return -1;
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        if (db_column_int64(s, 1) == 0) continue;
        acc_group *g = acc_find(A, key_of(s), 1);
        if (!g) continue;
        g->a[A_TK] += db_column_double(s, 1);
        g->a[A_TK_CALLED] += db_column_double(s, 2);
        g->a[A_TK_CLOSED] += db_column_double(s, 3);
        g->a[A_TK_DUE] += db_column_double(s, 4);
    }
    db_reset(s);
    return rc == DB_ERROR ? step_error(d, e) : 0;
}

/* 承诺时限压缩比 over the catalog items that take online applications. Only the
 * department and item dimensions apply; a split by town or channel leaves it out. */
static int add_catalog(db *d, const stats_filter *f, stats_dim by, accs *A, err *e) {
    if (by != STATS_DIM_NONE && !col_of(&catalog_cols, by)) return 0;
    qbuild q = {0};
    const char *key = col_of(&catalog_cols, by);
    qb_select_key(&q, key);
    qb_add(&q, "COUNT(*), SUM(promise_days), SUM(legal_days) FROM catalog_items "
               "WHERE online_depth >= 2 AND legal_days > 0");
    qb_filters(&q, &catalog_cols, f);
    qb_group(&q, key, NULL);
    db_stmt *s = qb_prepare(d, &q, e);
    if (!s) return -1;
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        if (db_column_int64(s, 1) == 0) continue;
        /* Catalog groups are only kept where the data has cases, or without a split. */
        acc_group *g = acc_find(A, key_of(s), by == STATS_DIM_NONE);
        if (!g) continue;
        g->a[A_CAT] += db_column_double(s, 1);
        g->a[A_CAT_PROMISE] += db_column_double(s, 2);
        g->a[A_CAT_LEGAL] += db_column_double(s, 3);
    }
    db_reset(s);
    return rc == DB_ERROR ? step_error(d, e) : 0;
}

/* ---- figures ---- */

static double round2(double x) {
    return round(x * 100) / 100;
}

static void set_fig(stats_figure *fg, const stats_indicator *ind, int has, double value,
                    int has_num, double num, double den) {
    memset(fg, 0, sizeof(*fg));
    fg->ind = ind;
    fg->has_value = has;
    fg->value = has ? round2(value) : 0;
    fg->has_numerator = has_num;
    fg->numerator = num;
    fg->denominator = den;
    fg->met = -1;
    if (has && ind->has_target)
        fg->met = ind->direction > 0 ? fg->value >= ind->target : fg->value <= ind->target;
}

static void share(stats_figure *fg, int ind, double num, double den) {
    set_fig(fg, &registry[ind], den > 0, den > 0 ? 100 * num / den : 0, 1, num, den);
}

static void figures_of(const acc_group *g, stats_group *out) {
    const double *a = g->a;
    memset(out, 0, sizeof(*out));
    snprintf(out->key, sizeof(out->key), "%s", g->key);
    out->counts.submitted = (int64_t)a[A_SUB];
    out->counts.decided = (int64_t)a[A_DEC];
    out->counts.open = (int64_t)a[A_OPEN];
    out->counts.ratings = (int64_t)a[A_RAT];
    out->nfig = IND_COUNT;
    stats_figure *fg = out->fig;
    share(&fg[IND_ONLINE], IND_ONLINE, a[A_ONLINE], a[A_SUB]);
    share(&fg[IND_WAIVER], IND_WAIVER, a[A_MWAIVED], a[A_MREQ]);
    set_fig(&fg[IND_AVG_DAYS], &registry[IND_AVG_DAYS], a[A_DEC] > 0,
            a[A_DEC] > 0 ? a[A_WD] / a[A_DEC] : 0, 1, round2(a[A_WD]), a[A_DEC]);
    set_fig(&fg[IND_MEDIAN_DAYS], &registry[IND_MEDIAN_DAYS], a[A_HAS_MEDIAN] > 0, a[A_MEDIAN], 0,
            0, a[A_DEC]);
    set_fig(&fg[IND_LEGAL_AVG], &registry[IND_LEGAL_AVG], a[A_LEGAL_N] > 0,
            a[A_LEGAL_N] > 0 ? a[A_LEGAL] / a[A_LEGAL_N] : 0, 1, round2(a[A_LEGAL]), a[A_LEGAL_N]);
    set_fig(&fg[IND_TIME_SAVING], &registry[IND_TIME_SAVING], a[A_LEGAL] > 0,
            a[A_LEGAL] > 0 ? 100 * (1 - a[A_WD_LEGAL] / a[A_LEGAL]) : 0, 1, round2(a[A_WD_LEGAL]),
            round2(a[A_LEGAL]));
    set_fig(&fg[IND_PROMISE], &registry[IND_PROMISE], a[A_CAT_LEGAL] > 0,
            a[A_CAT_LEGAL] > 0 ? 100 * (1 - a[A_CAT_PROMISE] / a[A_CAT_LEGAL]) : 0, 1,
            round2(a[A_CAT_PROMISE]), round2(a[A_CAT_LEGAL]));
    share(&fg[IND_INSTANT], IND_INSTANT, a[A_SAME], a[A_DEC]);
    share(&fg[IND_ZERO_VISIT], IND_ZERO_VISIT, a[A_ZERO], a[A_SUB]);
    double overdue = a[A_OPEN_OVERDUE] + a[A_LATE];
    set_fig(&fg[IND_OVERDUE], &registry[IND_OVERDUE], a[A_SUB] > 0, overdue, 1, overdue,
            a[A_DEADLINE]);
    set_fig(&fg[IND_RATING_AVG], &registry[IND_RATING_AVG], a[A_RAT] > 0,
            a[A_RAT] > 0 ? a[A_RAT_SUM] / a[A_RAT] : 0, 1, a[A_RAT_SUM], a[A_RAT]);
    share(&fg[IND_CALLBACK], IND_CALLBACK, a[A_TK_CALLED], a[A_TK]);
    share(&fg[IND_CLOSURE], IND_CLOSURE, a[A_TK_CLOSED], a[A_TK_DUE]);
}

static int group_cmp(const void *x, const void *y) {
    const stats_group *a = x, *b = y;
    if (a->counts.submitted != b->counts.submitted)
        return a->counts.submitted > b->counts.submitted ? -1 : 1;
    return strcmp(a->key, b->key);
}

int stats_services(db *d, const workcal *cal, const stats_filter *f, stats_dim by,
                   stats_group **groups, size_t *ngroups, err *e) {
    return stats_services_ex(d, cal, f, by, 0, groups, ngroups, e);
}

int stats_services_ex(db *d, const workcal *cal, const stats_filter *f, stats_dim by,
                      unsigned flags, stats_group **groups, size_t *ngroups, err *e) {
    *groups = NULL;
    *ngroups = 0;
    if (stats_refresh(d, cal, NULL, e) != 0) return -1;
    accs A = {0};
    if (by == STATS_DIM_NONE) acc_find(&A, "", 1); /* one group even with no data */
    if (add_rollup(d, f, by, &A, e) != 0 || fix_ties(d, f, by, &A, e) != 0 ||
        add_open_overdue(d, f, by, &A, e) != 0 ||
        ((flags & STATS_NO_MEDIAN) == 0 && add_median(d, f, by, &A, e) != 0) ||
        add_tickets(d, f, by, &A, e) != 0 || add_catalog(d, f, by, &A, e) != 0) {
        free(A.g);
        return -1;
    }
    if (A.overflow) log_warn("stats: more than %d groups; the rest left out", 4 * STATS_MAX_GROUPS);
    stats_group *out = xcalloc(A.n ? A.n : 1, sizeof(*out));
    for (size_t i = 0; i < A.n; i++)
        figures_of(&A.g[i], &out[i]);
    free(A.g);
    size_t n = A.n;
    if (by != STATS_DIM_NONE) {
        qsort(out, n, sizeof(*out), group_cmp);
        if (n > STATS_MAX_GROUPS) n = STATS_MAX_GROUPS;
    }
    *groups = out;
    *ngroups = n;
    return 0;
}

/* ---- JSON ---- */

static json_t *num_json(double v) {
    if (v == floor(v) && fabs(v) < 9e15) return json_integer((json_int_t)v);
    return json_real(v);
}

static json_t *figure_json(const stats_figure *fg, int by_ok) {
    const stats_indicator *ind = fg->ind;
    int has = fg->has_value && by_ok;
    return json_pack("{s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:s, s:s}", "id", ind->id, "name",
                     ind->name, "value", has ? num_json(fg->value) : json_null(), "unit", ind->unit,
                     "target", ind->has_target ? num_json(ind->target) : json_null(), "met",
                     has && fg->met >= 0 ? json_boolean(fg->met) : json_null(), "numerator",
                     has && fg->has_numerator ? num_json(fg->numerator) : json_null(),
                     "denominator", has ? num_json(fg->denominator) : json_null(), "direction",
                     ind->direction > 0 ? "higher" : "lower", "definition", ind->definition);
}

static json_t *group_figures(const stats_group *g, stats_dim by) {
    json_t *a = json_array();
    for (size_t i = 0; i < g->nfig; i++)
        json_array_append_new(
            a, figure_json(&g->fig[i], by == STATS_DIM_NONE || (g->fig[i].ind->dims & by)));
    return a;
}

static json_t *counts_json(const stats_counts *c) {
    return json_pack("{s:I, s:I, s:I, s:I}", "submitted", (json_int_t)c->submitted, "decided",
                     (json_int_t)c->decided, "open", (json_int_t)c->open, "ratings",
                     (json_int_t)c->ratings);
}

static const char *channel_label(const char *c) {
    static const char *const map[][2] = {{"online", "网上申请"},
                                         {"window", "窗口受理"},
                                         {"assisted", "帮办代办"},
                                         {"station", "便民服务站"},
                                         {NULL, NULL}};
    for (int i = 0; map[i][0]; i++)
        if (!strcmp(map[i][0], c)) return map[i][1];
    return c;
}

/* The display name of a group key: town and item names from their tables. */
static json_t *group_name(db *d, stats_dim by, const char *key) {
    if (!*key) return json_string("未知");
    const char *sql = by == STATS_DIM_TOWN   ? "SELECT name FROM towns WHERE code = $1"
                      : by == STATS_DIM_ITEM ? "SELECT name FROM catalog_items WHERE code = $1"
                                             : NULL;
    if (by == STATS_DIM_CHANNEL) return json_string(channel_label(key));
    if (!sql) return json_string(key);
    db_stmt *s = db_query(d, NULL, sql, "s", key);
    json_t *name = NULL;
    if (s && db_step(s) == DB_ROW && db_column_text(s, 0)) name = json_string(db_column_text(s, 0));
    if (s) db_reset(s);
    return name ? name : json_string(key);
}

json_t *stats_services_json(db *d, const stats_filter *f, stats_dim by, err *e) {
    stats_group *total = NULL, *groups = NULL;
    size_t nt = 0, ng = 0;
    if (stats_services(d, NULL, f, STATS_DIM_NONE, &total, &nt, e) != 0) return NULL;
    if (by != STATS_DIM_NONE && stats_services(d, NULL, f, by, &groups, &ng, e) != 0) {
        free(total);
        return NULL;
    }
    char from_iso[32], to_iso[32];
    json_t *o = json_pack(
        "{s:{s:s, s:s, s:s, s:s}, s:{s:o, s:o, s:o, s:o}, s:o, s:o}", "window", "from",
        f->from_date, "to", f->to_date, "from_at", time_iso(from_iso, sizeof(from_iso), f->from),
        "to_at", time_iso(to_iso, sizeof(to_iso), f->to), "filters", "department",
        jsonx_str_or_null(f->department), "town", jsonx_str_or_null(f->town_code), "item",
        jsonx_str_or_null(f->item_code), "channel", jsonx_str_or_null(f->channel), "counts",
        counts_json(&total[0].counts), "indicators", group_figures(&total[0], STATS_DIM_NONE));
    if (by != STATS_DIM_NONE) {
        json_t *ga = json_array();
        for (size_t i = 0; i < ng; i++)
            json_array_append_new(ga, json_pack("{s:s, s:o, s:o, s:o}", "key", groups[i].key,
                                                "name", group_name(d, by, groups[i].key), "counts",
                                                counts_json(&groups[i].counts), "indicators",
                                                group_figures(&groups[i], by)));
        json_object_set_new(o, "by",
                            json_string(dim_names[by == STATS_DIM_DEPARTMENT ? 0
                                                  : by == STATS_DIM_TOWN     ? 1
                                                  : by == STATS_DIM_ITEM     ? 2
                                                                             : 3]
                                            .name));
        json_object_set_new(o, "groups", ga);
    }
    free(total);
    free(groups);
    return o;
}
