/* trading.c: the public resource trading indicators (公共资源交易, issue 6 part 8)
 * — the registry of the trading side and the figures behind
 * GET /api/v1/stats/trading and `isle stats trading`.
 *
 * Every figure is a GROUP BY in SQL over the trading tables (026_trade.sql); C only
 * adds the groups up and divides. Nothing loads tenders or bids into memory. The
 * SQL text is chosen among constants (with or without the kind filter); every value
 * is a bound parameter. Windows (Shanghai dates, `to` included) apply to:
 *   projects, e-rate        tenders announced in the window (进场)
 *   amount, savings, 增幅   tenders awarded in the window (status awarded/contracted)
 *   failed rate, bidders    tenders whose deadline (the opening) fell in the window
 *   remote rate             openings started in the window
 *   CA rate                 certificate logins in the window (not split by kind)
 * Months in by_month are UTC calendar months of the stored instants. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "stats/stats.h"
#include "trade/trade.h"

enum {
    TI_PROJECTS,
    TI_AMOUNT,
    TI_SAVINGS,
    TI_SAVINGS_RATE,
    TI_PREMIUM_RATE,
    TI_E_RATE,
    TI_REMOTE_OPENINGS,
    TI_REMOTE_RATE,
    TI_CA_RATE,
    TI_FAILED_RATE,
    TI_MAX_BIDDERS,
    TI_COUNT
};

static const stats_indicator trading_registry[TI_COUNT] = {
    [TI_PROJECTS] = {"trade.projects", "进场交易项目", "窗口内发布公告进场交易的项目（不含草稿）",
                     "项", 0, 0, +1, "announce_at", STATS_DIM_NONE},
    [TI_AMOUNT] = {"trade.amount", "交易金额", "窗口内确定中标（成交）的项目的中标价、成交价之和",
                   "亿元", 0, 0, +1, "awarded_at", STATS_DIM_NONE},
    [TI_SAVINGS] = {"trade.savings", "节约资金",
                    "建设工程与政府采购项目 Σ（预算或最高限价 − 中标价）", "亿元", 0, 0, +1,
                    "awarded_at", STATS_DIM_NONE},
    [TI_SAVINGS_RATE] = {"trade.savings_rate", "平均节约率",
                         "建设工程与政府采购项目 Σ（预算 − 中标价）÷ Σ 预算", "%", 0, 0, +1,
                         "awarded_at", STATS_DIM_NONE},
    [TI_PREMIUM_RATE] = {"trade.premium_rate", "出让增值率（增幅）",
                         "产权、土地、排污权出让 Σ（成交价 − 起拍价）÷ Σ 起拍价", "%", 0, 0, +1,
                         "awarded_at", STATS_DIM_NONE},
    [TI_E_RATE] = {"trade.e_rate", "全流程电子化率", "全流程电子化交易的项目 ÷ 进场交易项目", "%",
                   1, 100, +1, "announce_at", STATS_DIM_NONE},
    [TI_REMOTE_OPENINGS] = {"trade.remote_openings", "不见面开标",
                            "窗口内开始的远程（不见面）开标场次", "场", 0, 0, +1, "started_at",
                            STATS_DIM_NONE},
    [TI_REMOTE_RATE] = {"trade.remote_rate", "不见面开标率", "不见面开标场次 ÷ 全部开标场次", "%",
                        0, 0, +1, "started_at", STATS_DIM_NONE},
    [TI_CA_RATE] = {"trade.ca_rate", "CA互认率",
                    "使用外地（非本中心）CA 证书的登录 ÷ 全部证书登录（统一CA互认）", "%", 0, 0, +1,
                    "at", STATS_DIM_NONE},
    [TI_FAILED_RATE] = {"trade.failed_rate", "流标（流拍）率",
                        "流标、流拍项目 ÷ 开标（竞价）已有结果的项目", "%", 0, 0, -1, "deadline_at",
                        STATS_DIM_NONE},
    [TI_MAX_BIDDERS] = {"trade.max_bidders", "单场最多投标人", "一场开标中解密的投标文件数的最大值",
                        "家", 0, 0, +1, "deadline_at", STATS_DIM_NONE},
};

const stats_indicator *stats_trading_indicators(size_t *n) {
    *n = TI_COUNT;
    return trading_registry;
}

/* ---- accumulation ---- */

static const char *const kinds[] = {"works", "procurement", "property", "land", "emission"};
#define NKINDS 5

typedef struct kind_fig {
    int64_t projects, electronic;
    int64_t awarded, amount, budget, budget_award, reserve, reserve_award;
    int64_t openings, remote, failed, concluded, max_bidders, bids;
} kind_fig;

static int kind_index(const char *k) {
    for (int i = 0; k && i < NKINDS; i++)
        if (!strcmp(kinds[i], k)) return i;
    return -1;
}

/* Run one of two statements (without / with the kind filter as $3) over the window
 * and hand each row to fn. 0 or -1. */
typedef void (*row_fn)(db_stmt *s, void *arg);
static int each_row(db *d, const char *sql_all, const char *sql_kind, const char *from,
                    const char *to, const char *kind, row_fn fn, void *arg, err *e) {
    db_stmt *s = kind ? db_query(d, e, sql_kind, "sss", from, to, kind)
                      : db_query(d, e, sql_all, "ss", from, to);
    if (!s) return -1;
    int rc;
    while ((rc = db_step(s)) == DB_ROW)
        fn(s, arg);
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "交易统计查询失败：%s", db_errmsg(d));
    return 0;
}

#define KIND_SQL(base, tail)                                                                       \
    { base tail, base " AND kind = $3" tail }

static const char *const q_projects[2] =
    KIND_SQL("SELECT kind, COUNT(*), SUM(electronic) FROM tenders WHERE status <> 'draft' "
             "AND announce_at >= $1 AND announce_at < $2",
             " GROUP BY kind");
static void on_projects(db_stmt *s, void *arg) {
    int k = kind_index(db_column_text(s, 0));
    if (k < 0) return;
    kind_fig *f = (kind_fig *)arg + k;
    f->projects += db_column_int64(s, 1);
    f->electronic += db_column_int64(s, 2);
}

static const char *const q_awards[2] =
    KIND_SQL("SELECT kind, COUNT(*), SUM(award_fen), "
             "SUM(CASE WHEN budget_fen IS NOT NULL THEN budget_fen ELSE 0 END), "
             "SUM(CASE WHEN budget_fen IS NOT NULL THEN award_fen ELSE 0 END), "
             "SUM(CASE WHEN reserve_fen IS NOT NULL THEN reserve_fen ELSE 0 END), "
             "SUM(CASE WHEN reserve_fen IS NOT NULL THEN award_fen ELSE 0 END) "
             "FROM tenders WHERE status IN ('awarded', 'contracted') AND award_fen IS NOT NULL "
             "AND awarded_at >= $1 AND awarded_at < $2",
             " GROUP BY kind");
static void on_awards(db_stmt *s, void *arg) {
    int k = kind_index(db_column_text(s, 0));
    if (k < 0) return;
    kind_fig *f = (kind_fig *)arg + k;
    f->awarded += db_column_int64(s, 1);
    f->amount += db_column_int64(s, 2);
    f->budget += db_column_int64(s, 3);
    f->budget_award += db_column_int64(s, 4);
    f->reserve += db_column_int64(s, 5);
    f->reserve_award += db_column_int64(s, 6);
}

static const char *const q_outcomes[2] = KIND_SQL(
    "SELECT kind, SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), COUNT(*) FROM tenders "
    "WHERE status IN ('failed', 'evaluation', 'publicity', 'awarded', 'contracted') "
    "AND deadline_at >= $1 AND deadline_at < $2",
    " GROUP BY kind");
static void on_outcomes(db_stmt *s, void *arg) {
    int k = kind_index(db_column_text(s, 0));
    if (k < 0) return;
    kind_fig *f = (kind_fig *)arg + k;
    f->failed += db_column_int64(s, 1);
    f->concluded += db_column_int64(s, 2);
}

static const char *const q_openings[2] = {
    "SELECT t.kind, COUNT(*), SUM(t.remote_opening) FROM openings o JOIN tenders t ON "
    "t.id = o.tender_id WHERE o.started_at >= $1 AND o.started_at < $2 GROUP BY t.kind",
    "SELECT t.kind, COUNT(*), SUM(t.remote_opening) FROM openings o JOIN tenders t ON "
    "t.id = o.tender_id WHERE o.started_at >= $1 AND o.started_at < $2 AND t.kind = $3 "
    "GROUP BY t.kind"};
static void on_openings(db_stmt *s, void *arg) {
    int k = kind_index(db_column_text(s, 0));
    if (k < 0) return;
    kind_fig *f = (kind_fig *)arg + k;
    f->openings += db_column_int64(s, 1);
    f->remote += db_column_int64(s, 2);
}

/* Opened bids per tender, then the largest and the sum per kind: the bids counted per
 * tender first (one pass over the covering index bids_tender), then only those tenders
 * looked up — rather than every tender probing its bids. */
static const char *const q_bidders[2] = {
    "SELECT t.kind, MAX(x.n), SUM(x.n) FROM (SELECT tender_id, COUNT(*) AS n FROM bids "
    "WHERE status IN ('opened', 'invalid', 'not_decrypted') GROUP BY tender_id) x "
    "JOIN tenders t ON t.id = x.tender_id WHERE t.deadline_at >= $1 AND t.deadline_at < $2 "
    "GROUP BY t.kind",
    "SELECT t.kind, MAX(x.n), SUM(x.n) FROM (SELECT tender_id, COUNT(*) AS n FROM bids "
    "WHERE status IN ('opened', 'invalid', 'not_decrypted') GROUP BY tender_id) x "
    "JOIN tenders t ON t.id = x.tender_id WHERE t.deadline_at >= $1 AND t.deadline_at < $2 "
    "AND t.kind = $3 GROUP BY t.kind"};
static void on_bidders(db_stmt *s, void *arg) {
    int k = kind_index(db_column_text(s, 0));
    if (k < 0) return;
    kind_fig *f = (kind_fig *)arg + k;
    f->max_bidders = db_column_int64(s, 1);
    f->bids += db_column_int64(s, 2);
}

/* by_month: two GROUP BYs merged by month key. */
#define MAX_MONTHS 130
typedef struct month_fig {
    char month[8];
    int64_t projects, awarded, amount;
} month_fig;
typedef struct months {
    month_fig m[MAX_MONTHS];
    int n;
    int awards; /* 0: the projects query, 1: the awards query */
} months;

static const char *const q_month_projects[2] =
    KIND_SQL("SELECT SUBSTR(announce_at, 1, 7), COUNT(*), 0 FROM tenders WHERE status <> 'draft' "
             "AND announce_at >= $1 AND announce_at < $2",
             " GROUP BY SUBSTR(announce_at, 1, 7)");
static const char *const q_month_awards[2] =
    KIND_SQL("SELECT SUBSTR(awarded_at, 1, 7), COUNT(*), SUM(award_fen) FROM tenders "
             "WHERE status IN ('awarded', 'contracted') AND award_fen IS NOT NULL "
             "AND awarded_at >= $1 AND awarded_at < $2",
             " GROUP BY SUBSTR(awarded_at, 1, 7)");
static void on_month(db_stmt *s, void *arg) {
    months *ms = arg;
    const char *key = db_column_text(s, 0);
    if (!key) return;
    int i = 0;
    while (i < ms->n && strcmp(ms->m[i].month, key) != 0)
        i++;
    if (i == ms->n) {
        if (ms->n == MAX_MONTHS) return;
        memset(&ms->m[i], 0, sizeof(ms->m[i]));
        snprintf(ms->m[i].month, sizeof(ms->m[i].month), "%.7s", key);
        ms->n++;
    }
    if (ms->awards) {
        ms->m[i].awarded += db_column_int64(s, 1);
        ms->m[i].amount += db_column_int64(s, 2);
    } else {
        ms->m[i].projects += db_column_int64(s, 1);
    }
}
static int month_cmp(const void *a, const void *b) {
    return strcmp(((const month_fig *)a)->month, ((const month_fig *)b)->month);
}

/* ---- JSON ---- */

static double round2(double v) {
    return round(v * 100.0) / 100.0;
}
static double yi(int64_t fen) {
    return round2((double)fen / 1e10);
} /* fen → 亿元 */
static json_t *rate(int64_t num, int64_t den) {
    return den > 0 ? json_real(round2(100.0 * (double)num / (double)den)) : json_null();
}

static void put_indicator(json_t *obj, int id, json_t *value, int64_t num, int64_t den,
                          int with_ratio) {
    const stats_indicator *d = &trading_registry[id];
    json_t *o =
        json_pack("{s:s, s:o, s:s, s:o, s:s, s:s}", "name", d->name, "value", value, "unit",
                  d->unit, "target", d->has_target ? json_real(d->target) : json_null(),
                  "direction", d->direction > 0 ? "higher" : "lower", "definition", d->definition);
    if (with_ratio) {
        json_object_set_new(o, "numerator", json_integer(num));
        json_object_set_new(o, "denominator", json_integer(den));
    }
    json_object_set_new(obj, d->id, o);
}

json_t *stats_trading_json(db *d, const char *from, const char *to, const char *kind, int64_t now,
                           err *e) {
    if (kind && !*kind) kind = NULL;
    if (kind && !trade_kind_valid(kind))
        return err_invalid(e, "kind", "kind 须为 works、procurement、property、land 或 emission"),
               NULL;
    stats_filter f;
    if (stats_filter_parse(&f, from, to, NULL, NULL, NULL, NULL, now, e) != 0) return NULL;
    char a[32], b[32];
    time_iso(a, sizeof(a), f.from);
    time_iso(b, sizeof(b), f.to);
    kind_fig k[NKINDS];
    memset(k, 0, sizeof(k));
    months *ms = calloc(1, sizeof(*ms));
    if (!ms) return err_internal(e, "内存不足"), NULL;
    int64_t logins = 0, foreign = 0;
    int rc = each_row(d, q_projects[0], q_projects[1], a, b, kind, on_projects, k, e);
    if (!rc) rc = each_row(d, q_awards[0], q_awards[1], a, b, kind, on_awards, k, e);
    if (!rc) rc = each_row(d, q_outcomes[0], q_outcomes[1], a, b, kind, on_outcomes, k, e);
    if (!rc) rc = each_row(d, q_openings[0], q_openings[1], a, b, kind, on_openings, k, e);
    if (!rc) rc = each_row(d, q_bidders[0], q_bidders[1], a, b, kind, on_bidders, k, e);
    if (!rc)
        rc = each_row(d, q_month_projects[0], q_month_projects[1], a, b, kind, on_month, ms, e);
    ms->awards = 1;
    if (!rc) rc = each_row(d, q_month_awards[0], q_month_awards[1], a, b, kind, on_month, ms, e);
    if (!rc) {
        db_stmt *s = db_query(d, e,
                              "SELECT COUNT(*), SUM(foreign_ca) FROM ca_logins "
                              "WHERE at >= $1 AND at < $2",
                              "ss", a, b);
        if (!s) {
            rc = -1;
        } else {
            int st = db_step(s);
            if (st == DB_ROW) {
                logins = db_column_int64(s, 0);
                foreign = db_column_int64(s, 1);
            }
            db_reset(s);
            if (st == DB_ERROR) rc = err_internal(e, "交易统计查询失败：%s", db_errmsg(d));
        }
    }
    if (rc) {
        free(ms);
        return NULL;
    }
    kind_fig t = {0};
    json_t *by_kind = json_array();
    for (int i = 0; i < NKINDS; i++) {
        kind_fig *x = &k[i];
        t.projects += x->projects, t.electronic += x->electronic, t.awarded += x->awarded;
        t.amount += x->amount, t.budget += x->budget, t.budget_award += x->budget_award;
        t.reserve += x->reserve, t.reserve_award += x->reserve_award;
        t.openings += x->openings, t.remote += x->remote, t.failed += x->failed;
        t.concluded += x->concluded, t.bids += x->bids;
        if (x->max_bidders > t.max_bidders) t.max_bidders = x->max_bidders;
        if (kind && strcmp(kind, kinds[i]) != 0) continue;
        json_array_append_new(
            by_kind,
            json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:f, s:I, s:I, s:o, s:I, s:o, s:I, s:I, s:I, "
                      "s:o, s:I, s:I}",
                      "kind", kinds[i], "name", trade_kind_label(kinds[i]), "projects",
                      (json_int_t)x->projects, "electronic", (json_int_t)x->electronic, "awarded",
                      (json_int_t)x->awarded, "amount_fen", (json_int_t)x->amount, "amount",
                      yi(x->amount), "budget_fen", (json_int_t)x->budget, "savings_fen",
                      (json_int_t)(x->budget - x->budget_award), "savings_rate",
                      rate(x->budget - x->budget_award, x->budget), "reserve_fen",
                      (json_int_t)x->reserve, "premium_rate",
                      rate(x->reserve_award - x->reserve, x->reserve), "openings",
                      (json_int_t)x->openings, "remote_openings", (json_int_t)x->remote, "failed",
                      (json_int_t)x->failed, "failed_rate", rate(x->failed, x->concluded),
                      "max_bidders", (json_int_t)x->max_bidders, "bids", (json_int_t)x->bids));
    }
    json_t *ind = json_object();
    put_indicator(ind, TI_PROJECTS, json_integer(t.projects), 0, 0, 0);
    put_indicator(ind, TI_AMOUNT, json_real(yi(t.amount)), t.amount, 0, 0);
    put_indicator(ind, TI_SAVINGS, json_real(yi(t.budget - t.budget_award)), 0, 0, 0);
    put_indicator(ind, TI_SAVINGS_RATE, rate(t.budget - t.budget_award, t.budget),
                  t.budget - t.budget_award, t.budget, 1);
    put_indicator(ind, TI_PREMIUM_RATE, rate(t.reserve_award - t.reserve, t.reserve),
                  t.reserve_award - t.reserve, t.reserve, 1);
    put_indicator(ind, TI_E_RATE, rate(t.electronic, t.projects), t.electronic, t.projects, 1);
    put_indicator(ind, TI_REMOTE_OPENINGS, json_integer(t.remote), 0, 0, 0);
    put_indicator(ind, TI_REMOTE_RATE, rate(t.remote, t.openings), t.remote, t.openings, 1);
    put_indicator(ind, TI_CA_RATE, rate(foreign, logins), foreign, logins, 1);
    put_indicator(ind, TI_FAILED_RATE, rate(t.failed, t.concluded), t.failed, t.concluded, 1);
    put_indicator(ind, TI_MAX_BIDDERS, json_integer(t.max_bidders), 0, 0, 0);
    qsort(ms->m, (size_t)ms->n, sizeof(month_fig), month_cmp);
    json_t *by_month = json_array();
    for (int i = 0; i < ms->n; i++)
        json_array_append_new(
            by_month,
            json_pack("{s:s, s:I, s:I, s:I, s:f}", "month", ms->m[i].month, "projects",
                      (json_int_t)ms->m[i].projects, "awarded", (json_int_t)ms->m[i].awarded,
                      "amount_fen", (json_int_t)ms->m[i].amount, "amount", yi(ms->m[i].amount)));
    free(ms);
    char sentence[600];
    int n = snprintf(sentence, sizeof(sentence), "累计进场交易项目%lld项，交易金额%.2f亿元",
                     (long long)t.projects, yi(t.amount));
    if (t.budget > 0)
        n += snprintf(sentence + n, sizeof(sentence) - (size_t)n,
                      "，节约资金%.2f亿元，平均节约率%.2f%%", yi(t.budget - t.budget_award),
                      100.0 * (double)(t.budget - t.budget_award) / (double)t.budget);
    if (t.reserve > 0)
        n += snprintf(sentence + n, sizeof(sentence) - (size_t)n, "，出让增值率%.2f%%",
                      100.0 * (double)(t.reserve_award - t.reserve) / (double)t.reserve);
    if (t.openings > 0)
        n += snprintf(sentence + n, sizeof(sentence) - (size_t)n,
                      "；不见面开标%lld场，不见面开标率%.2f%%", (long long)t.remote,
                      100.0 * (double)t.remote / (double)t.openings);
    if (t.projects > 0)
        n += snprintf(sentence + n, sizeof(sentence) - (size_t)n, "，全流程电子化率%.2f%%",
                      100.0 * (double)t.electronic / (double)t.projects);
    if (logins > 0)
        n += snprintf(sentence + n, sizeof(sentence) - (size_t)n, "，CA互认率%.2f%%",
                      100.0 * (double)foreign / (double)logins);
    snprintf(sentence + n, sizeof(sentence) - (size_t)n, "。");
    char fa[32], ta[32];
    return json_pack("{s:{s:s, s:s, s:s, s:s}, s:{s:o}, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I}, "
                     "s:o, s:o, s:s}",
                     "window", "from", f.from_date, "to", f.to_date, "from_at",
                     time_iso(fa, sizeof(fa), f.from), "to_at", time_iso(ta, sizeof(ta), f.to),
                     "filters", "kind", kind ? json_string(kind) : json_null(), "indicators", ind,
                     "counts", "projects", (json_int_t)t.projects, "awarded", (json_int_t)t.awarded,
                     "openings", (json_int_t)t.openings, "bids", (json_int_t)t.bids, "logins",
                     (json_int_t)logins, "failed", (json_int_t)t.failed, "by_kind", by_kind,
                     "by_month", by_month, "sentence", sentence);
}

/* ---- text ---- */

void stats_trading_print(json_t *o, FILE *out) {
    json_t *w = json_object_get(o, "window");
    const char *kind = json_string_value(json_object_get(json_object_get(o, "filters"), "kind"));
    fprintf(out, "公共资源交易指标 %s — %s%s%s\n", json_string_value(json_object_get(w, "from")),
            json_string_value(json_object_get(w, "to")), kind ? "，类别 " : "",
            kind ? trade_kind_label(kind) : "");
    fprintf(out, "%s\n\n", json_string_value(json_object_get(o, "sentence")));
    json_t *ind = json_object_get(o, "indicators");
    for (int i = 0; i < TI_COUNT; i++) {
        json_t *fg = json_object_get(ind, trading_registry[i].id);
        json_t *v = json_object_get(fg, "value");
        char val[32] = "—";
        if (json_is_integer(v))
            snprintf(val, sizeof(val), "%lld", (long long)json_integer_value(v));
        else if (json_is_number(v))
            snprintf(val, sizeof(val), "%.2f", json_number_value(v));
        fprintf(out, "  %-24s %12s %s\n", trading_registry[i].name, val, trading_registry[i].unit);
    }
    fprintf(out, "\n  %-14s %8s %8s %12s %10s %10s %8s\n", "类别", "项目", "成交", "金额(亿元)",
            "节约率%", "增值率%", "流标");
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(o, "by_kind"), i, k) {
        char sr[16] = "—", pr[16] = "—";
        json_t *s = json_object_get(k, "savings_rate"), *p = json_object_get(k, "premium_rate");
        if (json_is_number(s)) snprintf(sr, sizeof(sr), "%.2f", json_number_value(s));
        if (json_is_number(p)) snprintf(pr, sizeof(pr), "%.2f", json_number_value(p));
        fprintf(out, "  %-14s %8lld %8lld %12.2f %10s %10s %8lld\n",
                json_string_value(json_object_get(k, "name")),
                (long long)json_integer_value(json_object_get(k, "projects")),
                (long long)json_integer_value(json_object_get(k, "awarded")),
                json_number_value(json_object_get(k, "amount")), sr, pr,
                (long long)json_integer_value(json_object_get(k, "failed")));
    }
    json_t *bm = json_object_get(o, "by_month");
    if (json_array_size(bm)) {
        fprintf(out, "\n  %-8s %8s %8s %12s\n", "月份", "进场", "成交", "金额(亿元)");
        json_array_foreach(bm, i, k) {
            fprintf(out, "  %-8s %8lld %8lld %12.2f\n",
                    json_string_value(json_object_get(k, "month")),
                    (long long)json_integer_value(json_object_get(k, "projects")),
                    (long long)json_integer_value(json_object_get(k, "awarded")),
                    json_number_value(json_object_get(k, "amount")));
        }
    }
}
