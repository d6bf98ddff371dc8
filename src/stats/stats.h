/* stats: the platform's indicators (指标), computed from isle's own records.
 *
 * An indicator is defined once, in the registry (stats_indicators()): a stable
 * id, its Chinese name and definition, the unit, the target and its direction
 * (higher or lower is better; no target where none is published), the instant
 * the time window applies to, and the dimensions it can be split by. The
 * dashboards (issue 8) build on this module: they add indicators to the
 * registry and read figures through the same functions.
 *
 * Service indicators (一网通办, stats_services()):
 *   online_rate             一网通办率: cases filed through the online platform —
 *                           channel online, or assisted (a 帮办代办 agent filing
 *                           online for the applicant) — over all submitted cases
 *   material_waiver_rate    材料免提交率: required materials the applicant did not
 *                           hand in (e-licence reuse or 告知承诺) over required
 *                           materials
 *   avg_working_days        working days from acceptance to decision, mean …
 *   median_working_days     … and median (suspended time excluded)
 *   legal_days_avg          the statutory limit of the same decided cases, mean
 *   time_saving_rate        1 − Σ actual working days / Σ statutory days
 *   promise_compression     承诺时限压缩比: 1 − Σ promised / Σ statutory days over
 *                           the catalog items taking online applications
 *   instant_rate            即办率: decided on the day of acceptance / decided
 *   zero_visit_rate         跑零次率: cases that needed no visit / submitted
 *   overdue_count           超期办件: cases open past their deadline now plus
 *                           cases decided after it
 *   rating_avg              好差评 average of 整体满意度 (1–5)
 *   bad_callback_rate       差评回访率: 差评 tickets called back / tickets
 *   bad_closure_rate        差评整改办结率: closed / (closed or past rectify_due)
 *
 * Windows: the cohort of cases *submitted* in [from, to) for the submission
 * figures (online, waiver, zero visits, overdue), cases *decided* in it for
 * the durations and 即办率, ratings *created* and tickets *opened* in it.
 * Dates are Asia/Shanghai calendar days; `to` is inclusive.
 *
 * How it stays fast at a million cases: every case figure is an aggregate over
 * stats_cases (014_stats.sql), one narrow row per case derived from `cases` and
 * `case_materials` — including the working-day duration, which needs the
 * holiday calendar and so cannot be computed in SQL. stats_refresh() keeps the
 * table current incrementally (the cases with timeline rows since its
 * watermark) and every computation runs it first, so figures are never stale;
 * nothing loads the cases into memory. In the same transaction it keeps per-day
 * rollups of every additive figure (037_dash_rollup.sql: day × channel, day × town,
 * day × department, town × day × item × department × channel), so a figure over a
 * year sums a few hundred to a few tens of thousands of rows, whatever the number of
 * cases. What moves with the clock (open cases past their deadline now, the 差评
 * tickets' state) is read from small indexed sets; the city's median is located in a
 * per-day histogram by tenth of a working day and read exactly from the one or two
 * tenths of stats_cases_days around it; a split's medians are read per group from
 * the durations in index order (rounded to 0.01 working days), not from sorting
 * rows. Durations are summed as exact hundredths; a mean lying exactly halfway at its
 * second decimal is summed again as before (services.c), so no value changed. */
#ifndef ISLE_STATS_H
#define ISLE_STATS_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "base/err.h"
#include "cli.h"
#include "db/db.h"
#include "workcal/workcal.h"

#define STATS_MAX_INDICATORS 32
#define STATS_MAX_GROUPS     1000 /* groups of a split (by=item has ~370) */
#define STATS_MAX_WINDOW     3660 /* days in one window (ten years) */
#define STATS_TEXT_MAX       128  /* bytes of a department / item filter */
#define STATS_REBUILD_CHUNK  5000 /* cases per transaction of stats_rebuild() */

/** The dimensions an indicator may be split or filtered by (bit set). */
typedef enum stats_dim {
    STATS_DIM_NONE = 0,
    STATS_DIM_DEPARTMENT = 1 << 0,
    STATS_DIM_TOWN = 1 << 1,
    STATS_DIM_ITEM = 1 << 2,
    STATS_DIM_CHANNEL = 1 << 3,
} stats_dim;

/** One indicator of the registry. Static; never freed. */
typedef struct stats_indicator {
    const char *id;         /* "online_rate" */
    const char *name;       /* "一网通办率" */
    const char *definition; /* the formula in Chinese */
    const char *unit;       /* "%", "工作日", "件", "分" */
    int has_target;         /* 0: no published target (target and met are null) */
    double target;          /* in the unit */
    int direction;          /* +1 higher is better, -1 lower is better */
    const char *basis;      /* the window applies to: submitted_at, decided_at, created_at,
                               opened_at, or catalog (no window) */
    unsigned dims;          /* stats_dim bits it can be split/filtered by */
} stats_indicator;

/** The registry, in display order; *n gets its length. */
const stats_indicator *stats_indicators(size_t *n);
/** The indicator with this id, or NULL. */
const stats_indicator *stats_indicator_find(const char *id);
/** The registry as JSON: [{id, name, definition, unit, target, direction, basis,
 *  dimensions: [...]}]. Caller owns it. */
json_t *stats_indicators_json(void);

/** What to compute over. Strings are borrowed; NULL = all. */
typedef struct stats_filter {
    int64_t from, to;   /* the instants [from, to): Shanghai midnights */
    char from_date[11]; /* the same as YYYY-MM-DD; to_date is the last day included */
    char to_date[11];
    const char *department; /* exact department name */
    const char *town_code;  /* 9 digits */
    const char *item_code;
    const char *channel; /* online | window | assisted | station */
    int64_t now;         /* "now" for open cases past their deadline */
} stats_filter;

/** Fill f from text (API query, CLI options; any may be NULL). from/to are
 *  "YYYY-MM-DD" Shanghai dates, both included; defaults: to = today, from = to − 364
 *  days (a year). 0, or -1 with 400 naming the field: "from"/"to" (format, order,
 *  more than STATS_MAX_WINDOW days), "department"/"item" (empty or too long), "town"
 *  (not 9 digits), "channel" (not one of the four). */
int stats_filter_parse(stats_filter *f, const char *from, const char *to, const char *department,
                       const char *town, const char *item, const char *channel, int64_t now,
                       err *e);
/** "department" | "town" | "item" | "channel" → the stats_dim; NULL or "" →
 *  STATS_DIM_NONE. 0, or -1 with 400 naming "by". */
int stats_dim_parse(const char *s, stats_dim *out, err *e);

/** One computed figure. value is in the indicator's unit, rounded to 2 decimals;
 *  numerator and denominator are what it was computed from (for a mean: the sum and
 *  the count; for a compression ratio: the two sums of 1 − num/den; for the median:
 *  no numerator). */
typedef struct stats_figure {
    const stats_indicator *ind;
    int has_value; /* 0: nothing to compute it over (value null) */
    double value;
    int has_numerator;
    double numerator, denominator;
    int met; /* 1 met, 0 missed, -1 no target or no value */
} stats_figure;

/** Counts behind the figures, for context. */
typedef struct stats_counts {
    int64_t submitted; /* cases submitted in the window */
    int64_t decided;   /* cases decided in the window */
    int64_t open;      /* of the submitted, still open */
    int64_t ratings;   /* ratings created in the window */
} stats_counts;

/** The figures of one group of a split (or of the whole selection: key ""). */
typedef struct stats_group {
    char key[STATS_TEXT_MAX + 1]; /* department / town code / item code / channel; "" = none */
    stats_counts counts;
    size_t nfig;
    stats_figure fig[STATS_MAX_INDICATORS]; /* in registry order */
} stats_group;

/** The figures of every service indicator for f: one group (key "") when by is
 *  STATS_DIM_NONE, else one per value of the dimension found in the data (at most
 *  STATS_MAX_GROUPS, by submitted cases). Runs stats_refresh() first. cal NULL =
 *  workcal_default(). On success *groups (caller frees with free()) and *ngroups. */
int stats_services(db *d, const workcal *cal, const stats_filter *f, stats_dim by,
                   stats_group **groups, size_t *ngroups, err *e);

/** Flags of stats_services_ex(). */
#define STATS_NO_MEDIAN                                                                            \
    1u /* leave median_working_days out (no value): the drill-down and the                         \
          monitor do not show it, and a split's medians are the one                                \
          figure not summed from the rollups */
/** stats_services() with flags (STATS_NO_MEDIAN). */
int stats_services_ex(db *d, const workcal *cal, const stats_filter *f, stats_dim by,
                      unsigned flags, stats_group **groups, size_t *ngroups, err *e);

/** stats_services() as JSON:
 *    {"window": {"from", "to", "from_at", "to_at"}, "filters": {department, town,
 *     item, channel}, "counts": {...}, "indicators": [{id, name, value, unit, target,
 *     met, numerator, denominator, direction, definition}],
 *     "groups": [{"key", "name", "counts", "indicators"}] (only with by)}
 *  Caller owns it; NULL with e. */
json_t *stats_services_json(db *d, const stats_filter *f, stats_dim by, err *e);

/** Bring stats_cases up to date with `cases`: re-derive every case with a timeline row
 *  (case_events) after the watermark, in one transaction; nothing to do costs one read
 *  of case_events' largest id and no transaction. With no watermark yet it runs
 *  stats_rebuild(). *processed (may be NULL) gets the rows derived. cal NULL =
 *  workcal_default(). 0 or -1. Must not be called inside a transaction. */
int stats_refresh(db *d, const workcal *cal, int64_t *processed, err *e);
/** Re-derive every case (STATS_REBUILD_CHUNK per transaction), then set the watermark.
 *  For after a bulk write that bypasses the timeline (an import), and the demo. */
int stats_rebuild(db *d, const workcal *cal, int64_t *processed, err *e);

/* ---- trading indicators (公共资源交易, src/stats/trading.c) ---- */

/** The trading registry (ids "trade.projects", "trade.amount", "trade.savings",
 *  "trade.savings_rate", "trade.premium_rate", "trade.e_rate", "trade.remote_openings",
 *  "trade.remote_rate", "trade.ca_rate", "trade.failed_rate", "trade.max_bidders"), in
 *  display order; *n gets its length. Separate from stats_indicators() (the 一网通办
 *  side). */
const stats_indicator *stats_trading_indicators(size_t *n);
/** The trading figures over [from, to] (Shanghai dates, both included; defaults as
 *  stats_filter_parse: the last 365 days), optionally of one tender kind:
 *    {"window":{from,to,from_at,to_at}, "filters":{"kind"}, "indicators":{id:{name,
 *     value, unit, target, direction, definition[, numerator, denominator]}},
 *     "counts":{projects, awarded, openings, bids, logins, failed},
 *     "by_kind":[{kind, name, projects, electronic, awarded, amount_fen, amount (亿元),
 *       budget_fen, savings_fen, savings_rate, reserve_fen, premium_rate, openings,
 *       remote_openings, failed, failed_rate, max_bidders, bids}],
 *     "by_month":[{month "YYYY-MM" (UTC), projects, awarded, amount_fen, amount}],
 *     "sentence":"累计进场交易项目N项，交易金额X亿元，…"}
 *  Aggregates only (public). NULL with e (400 naming from/to/kind). Caller owns it. */
json_t *stats_trading_json(db *d, const char *from, const char *to, const char *kind, int64_t now,
                           err *e);
/** The text form of stats_trading_json()'s answer (the city's sentence, the
 *  indicators, by kind and by month) to out. */
void stats_trading_print(json_t *o, FILE *out);

/** `isle stats …` (argv[0] = "stats"): services [--json] [--from D] [--to D]
 *  [--department X] [--town CODE] [--item CODE] [--channel C] [--by DIM];
 *  indicators; refresh [--full]. Returns the exit status. */
int stats_cli(const cli_env *env, int argc, char **argv);

#endif
