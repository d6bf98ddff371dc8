/* dash: 数智分析 and 无感监测 — the city's figures as leaders, department heads
 * and the public need them, computed live from isle's own records through the
 * stats module (src/stats/), never from copies.
 *
 *   overview.c  the city overview (大屏): every headline indicator with its target,
 *               the monthly trend, channels, towns on their coordinates, trading
 *               by kind, coverage, 帮办代办, 证明, the catalog (dash_overview)
 *   drill.c     drill-down of the service indicators: city → county → town →
 *               item → the individual cases (dash_drill), as one table shape
 *               that the page draws and the exports write
 *   export.c    a drill table as CSV (UTF-8 with BOM, for Excel) or as an Excel
 *               workbook (libxlsxwriter) with Chinese headers
 *   report.c    the year's 数说 report: the city's published sentences with isle's
 *               figures, as JSON and as a PDF with charts (`isle report`)
 *   watch.c     the live tick (SSE topic "dash": an event within a second of any
 *               change, on every node) and 无感监测: thresholds checked every few
 *               minutes per town and department, alerts to the responsible role
 *               with the rows behind them, and a daily history of the figures
 *   cache.c     answers kept while the data behind them stands still (the newest id
 *               of every event stream, at most DASH_CACHE_MAX_S old); the tick
 *               recomputes the default overview and the city level on every change
 *               before it tells the dashboards, so their reload is served at once
 *
 * Windows are Shanghai calendar days, as in stats_filter_parse(). Every figure is
 * an aggregate query over the stats module's per-day rollups (or its covering
 * indexes), so a first computation is as cheap as a cached one is fast; a drill
 * level reads at most DASH_MAX_ROWS rows. */
#ifndef ISLE_DASH_H
#define ISLE_DASH_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "cli.h"
#include "db/db.h"

#define DASH_MAX_ROWS       2000 /* rows of one drill level or export */
#define DASH_MIN_ALERT_BASE 20   /* cases a town or department needs before it can alert */
#define DASH_OVERDUE_TARGET 5.0  /* % of a department's cases past their deadline */

/** The city overview for [from, to] (YYYY-MM-DD, Shanghai, both included; NULL: the
 *  last 365 days to today): {"window", "services":{indicators, counts},
 *  "trend":[{month, submitted, online, online_rate, decided, avg_days}],
 *  "channels":[{channel, name, cases}], "towns":[{code, name, county, lat, lon,
 *  submitted, online_rate}], "trading": stats_trading_json() or null, "coverage":
 *  {villages, villages_within, share_within_10min}, "assist":{requests, done,
 *  avg_minutes_to_accept, open}, "proofs":{issued, requested}, "catalog":{items,
 *  cross_province, province, yongzhou, instant, commitment, bundles},
 *  "alerts":{open}}. Served from the cache while the data has not moved (cache.c).
 *  Caller owns it; NULL with e. */
json_t *dash_overview(db *d, const char *from, const char *to, int64_t now, err *e);

/** One level of the services drill-down. */
typedef struct dash_drill_query {
    const char *level;  /* "city" (rows: counties), "county" (towns), "town" (items),
                           "item" (cases); NULL = city */
    const char *county; /* county name, for level county */
    const char *town;   /* town code, for levels town and item */
    const char *item;   /* item code, for level item */
    const char *from, *to;
    const char *offset; /* level item: the first case listed (digits; NULL = 0), pages of
                           DASH_MAX_ROWS, newest first */
} dash_drill_query;

/** The table of one level: {"level", "title", "crumbs":[{level, label, params}],
 *  "columns":[{key, label, unit}], "rows":[{key, label, next:{level, params}|null,
 *  cells:{column key: value}}], "total_rows", "window"}. Rates are recomputed from
 *  the summed numerators and denominators of the towns of a county (no average of
 *  averages). 400 naming level/county/town/item/from/to; 404 for an unknown county,
 *  town or item. Served from the cache while the data has not moved; the city split
 *  by town behind the city and county levels is computed once and shared (cache.c,
 *  drill.c). Caller owns it. */
json_t *dash_drill(db *d, const dash_drill_query *q, int64_t now, err *e);

/** A drill table as CSV (RFC 4180, UTF-8 with a BOM so that Excel reads Chinese),
 *  header = the columns' labels (with the unit). *out is malloc'd. 0 or -1. */
int dash_table_csv(json_t *table, char **out, size_t *len, err *e);
/** The same as an .xlsx workbook (libxlsxwriter): one sheet named by the level, a
 *  bold header row, numbers as numbers, percentages formatted, column widths set, a
 *  title row with the window. *out is malloc'd. 0 or -1. */
int dash_table_xlsx(json_t *table, unsigned char **out, size_t *len, err *e);

/** The year's report: {"year", "generated_at", "sentences":[…], "indicators":{id:{name,
 *  value, unit, target}}, "sections":{services, trading, island, catalog}} — each
 *  indicator id of the stats registries, plus coverage, assisted requests, proofs
 *  and catalog counts. Consistent: sums of parts equal totals (checked by tests).
 *  Caller owns it; NULL with e (400 "year"). */
json_t *dash_report(db *d, int year, int64_t now, err *e);
/** The report as a PDF (libharu, the CJK font of the proofs): title, the sentences,
 *  a table of indicators against their targets, bar charts of the monthly cases and
 *  the trading amounts by kind. *out is malloc'd. 0 or -1. */
int dash_report_pdf(json_t *report, unsigned char **out, size_t *len, err *e);

/** Alerts of 无感监测: {"items":[{id, indicator, name, dim, key, key_name, period,
 *  value, target, direction, status, role, opened_at, resolved_at, rows_link}],
 *  "total"}; status "open" | "resolved" | NULL (all). rows_link is the page with the
 *  rows behind the figure: a town's items over the alert's month (/dash/services?
 *  level=town&town=CODE&from=&to=), or the overdue queue for a department. Caller owns it. */
json_t *dash_alerts_list(db *d, const char *status, int limit, int offset, err *e);
/** One pass of the monitor at `now`: recompute this month's figures per town and
 *  department, open alerts for crossings (one per indicator, dimension, key and
 *  month; the responsible users are notified once), resolve the ones back within
 *  target, and write the daily history of the city figures for the days missing
 *  (at most `backfill` days per pass). *opened / *resolved (may be NULL) count. */
int dash_monitor(db *d, int64_t now, int backfill, int *opened, int *resolved, err *e);
/** Daily history of one indicator for the city (dim "", key "") or a town
 *  (dim "town", key code): {"indicator", "items":[{day, value, numerator,
 *  denominator}]} for the last `days` days. Caller owns it. */
json_t *dash_history(db *d, const char *indicator, const char *dim, const char *key, int days,
                     int64_t now, err *e);

/** Start the live tick (ISLE_DASH_TICK_MS, default 1000) and the monitor
 *  (ISLE_DASH_MONITOR_MS, default 300000) threads of `isle serve`. The tick publishes
 *  through the hook (the API layer sets it to the SSE hub). 0 or -1. */
typedef void (*dash_publish_fn)(const char *topic, const char *event, const char *data_json);
void dash_set_publish_hook(dash_publish_fn fn);
int dash_watch_start(const char *dsn, err *e);
void dash_watch_stop(void);

/** `isle report --year Y [--json] [--pdf FILE]` and `isle dash alerts|monitor`. */
int dash_cli(const cli_env *env, int argc, char **argv);

#endif
