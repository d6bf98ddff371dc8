/* watch: the live tick and 无感监测 of dash.h.
 *
 * The tick reads the newest id of each event stream (one indexed MAX per table)
 * every ISLE_DASH_TICK_MS and, when any moved, publishes "changed" on SSE topic
 * "dash": every node runs its own tick against the shared database, so a change
 * made on any node reaches the dashboards open on every node within a tick.
 *
 * The monitor checks the month's figures of every town and department against
 * the rules below, opens an alert per crossing (a UNIQUE row per indicator,
 * dimension, key and month: with several nodes one INSERT wins), notifies the
 * supervisors responsible once, keeps the figure current while it stays open, and
 * resolves it when the figure is back within target. It also writes the city's
 * daily history (dash_daily), backfilling a few missing days per pass. */
#include "dash/dash.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "dash/internal.h"
#include "jobs/periodic.h"
#include "notify/notify.h"
#include "stats/stats.h"

/* ---- the live tick ---- */

static dash_publish_fn publish_hook;
void dash_set_publish_hook(dash_publish_fn fn) {
    publish_hook = fn;
}

#define NSTREAMS DASH_NSTREAMS
static const char *const stream_names[NSTREAMS] = {"cases",   "assist", "bids",  "hall",
                                                   "ratings", "proofs", "alerts"};
static int64_t last_sig[NSTREAMS];
static int have_sig;

/* Recompute the answers every dashboard asks for first (the default overview and
 * the city level) into the cache, so that the pages reloading on "changed" find
 * them ready. A failure only costs the warm-up: the request computes it then. */
static int64_t last_warm;
static void warm(db *d, int64_t now) {
    err we = {0};
    dash_cache_bypass(1);
    json_decref(dash_overview(d, NULL, NULL, now, &we));
    dash_drill_query q = {0};
    json_decref(dash_drill(d, &q, now, &we));
    dash_cache_bypass(0);
    last_warm = now;
}

static int tick(db *d, int64_t now, char *summary, size_t n, err *e) {
    db_stmt *s = db_query(d, e, "SELECT " DASH_STREAMS_SQL, "");
    if (!s) return -1;
    int64_t sig[NSTREAMS] = {0};
    int rc = db_step(s);
    if (rc == DB_ROW)
        for (int i = 0; i < NSTREAMS; i++)
            sig[i] = db_column_int64(s, i);
    db_reset(s);
    if (rc != DB_ROW) return err_internal(e, "读取事件位置失败");
    int changed = !have_sig;
    json_t *moved = json_array();
    for (int i = 0; i < NSTREAMS; i++)
        if (have_sig && sig[i] != last_sig[i]) {
            changed = 1;
            json_array_append_new(moved, json_string(stream_names[i]));
        }
    memcpy(last_sig, sig, sizeof(sig));
    /* On a change, and before the kept answers age out (figures that move with the
     * clock alone), so that a wall display is never the one that waits. */
    if ((changed || now - last_warm >= DASH_WARM_EVERY_S) && !getenv("ISLE_DASH_NO_WARM"))
        warm(d, now);
    if (changed && have_sig && publish_hook) {
        char at[40];
        time_iso_now_ms(at, sizeof(at));
        json_t *ev = json_pack("{s:o, s:s}", "streams", moved, "at", at);
        char *data = json_dumps(ev, JSON_COMPACT);
        json_decref(ev);
        if (data) publish_hook("dash", "changed", data);
        free(data);
        snprintf(summary, n, "dashboards told of a change");
    } else {
        json_decref(moved);
    }
    have_sig = 1;
    return 0;
}

/* ---- 无感监测 ---- */

/* A rule: an indicator of a dimension, the threshold (the registry's target, or
 * ours for the overdue rate) and which side is bad. */
typedef struct rule {
    const char *indicator; /* the alert's indicator id */
    const char *source;    /* the stats figure it is computed from */
    stats_dim dim;
    const char *dim_name;
    int share; /* 1: 100·num/den of the figure; 0: the figure's value */
    double target;
    int direction; /* +1: below target is bad; -1: above is bad */
    const char *name;
} rule;

static const rule rules[] = {
    {"online_rate", "online_rate", STATS_DIM_TOWN, "town", 0, 90, +1, "一网通办率"},
    {"overdue_rate", "overdue_count", STATS_DIM_DEPARTMENT, "department", 1, DASH_OVERDUE_TARGET,
     -1, "超期率"},
};

static const stats_figure *fig_of(const stats_group *g, const char *id) {
    for (size_t i = 0; i < g->nfig; i++)
        if (g->fig[i].ind && !strcmp(g->fig[i].ind->id, id)) return &g->fig[i];
    return NULL;
}

static void key_name(db *d, const rule *r, const char *key, char *out, size_t n) {
    snprintf(out, n, "%s", key);
    if (r->dim != STATS_DIM_TOWN) return;
    err e = {0};
    db_stmt *s = db_query(d, &e, "SELECT name FROM towns WHERE code = $1", "s", key);
    if (!s) return;
    if (db_step(s) == DB_ROW) snprintf(out, n, "%s", db_column_text(s, 0));
    db_reset(s);
}

/* Notify the supervisors responsible for an alert (town ones: that town's and the
 * city-wide; department ones: all), inside the caller's transaction. */
static int notify_alert(db *d, int64_t alert_id, const rule *r, const char *key, const char *kname,
                        const char *period, double value, int64_t sample, err *e) {
    db_stmt *s = r->dim == STATS_DIM_TOWN
                     ? db_query(d, e,
                                "SELECT id FROM users WHERE role = 'supervisor' AND disabled = 0 "
                                "AND (town_code = $1 OR town_code IS NULL) ORDER BY id LIMIT 50",
                                "s", key)
                     : db_query(d, e,
                                "SELECT id FROM users WHERE role = 'supervisor' AND disabled = 0 "
                                "ORDER BY id LIMIT 50",
                                "");
    if (!s) return -1;
    int64_t users[50];
    int nu = 0, rc;
    while ((rc = db_step(s)) == DB_ROW && nu < 50)
        users[nu++] = db_column_int64(s, 0);
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取监管人员失败");
    char v[32], t[32], samp[32], link[160], scope[160];
    snprintf(v, sizeof(v), "%.2f%%", value);
    snprintf(t, sizeof(t), "%.2f%%", r->target);
    snprintf(samp, sizeof(samp), "%lld", (long long)sample);
    snprintf(scope, sizeof(scope), "%s", kname);
    if (r->dim == STATS_DIM_TOWN)
        snprintf(link, sizeof(link), "/dash/services?level=town&town=%s", key);
    else
        snprintf(link, sizeof(link), "/dash/alerts");
    for (int i = 0; i < nu; i++) {
        char dk[128];
        snprintf(dk, sizeof(dk), "dash:%lld:u%lld", (long long)alert_id, (long long)users[i]);
        json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "scope", scope, "period",
                              period, "indicator", r->name, "value", v, "relation",
                              r->direction > 0 ? "低于" : "高于", "target", t, "sample", samp);
        notify_msg m = {.user_id = users[i],
                        .template_name = "dash_alert",
                        .params = p,
                        .dedupe_key = dk,
                        .link = link};
        int nr = notify_send(d, &m, NULL, e);
        json_decref(p);
        if (nr < 0) return -1;
    }
    return 0;
}

static int check_rule(db *d, const rule *r, const stats_filter *f, const char *period, int64_t now,
                      int *opened, int *resolved, err *e) {
    stats_group *g = NULL;
    size_t ng = 0;
    if (stats_services_ex(d, NULL, f, r->dim, STATS_NO_MEDIAN, &g, &ng, e) != 0) return -1;
    char now_s[32];
    time_iso(now_s, sizeof(now_s), now);
    static const audit_actor sys = {.user_id = 0, .login = "system", .request_id = NULL};
    int rc = 0;
    for (size_t i = 0; i < ng && rc == 0; i++) {
        const stats_figure *fg = fig_of(&g[i], r->source);
        if (!fg || !g[i].key[0]) continue;
        double sample = r->share ? fg->denominator : (double)g[i].counts.submitted;
        int has = r->share ? fg->denominator > 0 : fg->has_value;
        if (!has || sample < DASH_MIN_ALERT_BASE) continue;
        double value =
            r->share ? round(10000.0 * fg->numerator / fg->denominator) / 100.0 : fg->value;
        int bad = r->direction > 0 ? value < r->target : value > r->target;
        if (db_begin(d, e) != 0) {
            rc = -1;
            break;
        }
        int64_t id = 0;
        int found = db_query_int(d, e, &id,
                                 "SELECT id FROM dash_alerts WHERE indicator = $1 AND dim = $2 AND "
                                 "key = $3 AND period = $4",
                                 "ssss", r->indicator, r->dim_name, g[i].key, period);
        if (found < 0)
            rc = -1;
        else if (bad && found == 1) {
            char kname[160];
            key_name(d, r, g[i].key, kname, sizeof(kname));
            db_stmt *s = db_query(
                d, e,
                "INSERT INTO dash_alerts (indicator, dim, key, key_name, period, value, target, "
                "direction, sample, status, role, notified, opened_at, checked_at) VALUES ($1, $2, "
                "$3, $4, $5, $6, $7, $8, $9, 'open', 'supervisor', 1, $10, $10) RETURNING id",
                "sssssddiis", r->indicator, r->dim_name, g[i].key, kname, period, value, r->target,
                (int64_t)r->direction, (int64_t)sample, now_s);
            if (!s || db_step(s) != DB_ROW)
                rc = err_internal(e, "写预警失败");
            else
                id = db_column_int64(s, 0);
            if (s) db_reset(s);
            if (rc == 0) {
                char ids[24];
                snprintf(ids, sizeof(ids), "%lld", (long long)id);
                json_t *after = json_pack("{s:s, s:s, s:s, s:s, s:f, s:f}", "indicator",
                                          r->indicator, "dim", r->dim_name, "key", g[i].key,
                                          "period", period, "value", value, "target", r->target);
                rc = audit_record(d, &sys, "dash.alert_open", "dash_alert", ids, NULL, after, e);
                json_decref(after);
            }
            if (rc == 0)
                rc = notify_alert(d, id, r, g[i].key, kname, period, value, (int64_t)sample, e);
            if (rc == 0) (*opened)++;
        } else if (found == 0) {
            if (bad)
                rc = db_execf(d, e,
                              "UPDATE dash_alerts SET value = $1, sample = $2, checked_at = $3, "
                              "status = 'open', resolved_at = NULL WHERE id = $4",
                              "disi", value, (int64_t)sample, now_s, id);
            else {
                rc = db_execf(
                    d, e,
                    "UPDATE dash_alerts SET value = $1, sample = $2, checked_at = $3, "
                    "status = 'resolved', resolved_at = $3 WHERE id = $4 AND status = 'open'",
                    "disi", value, (int64_t)sample, now_s, id);
                if (rc == 0 && db_changes(d) == 1) {
                    char ids[24];
                    snprintf(ids, sizeof(ids), "%lld", (long long)id);
                    json_t *after = json_pack("{s:s, s:f}", "status", "resolved", "value", value);
                    rc = audit_record(d, &sys, "dash.alert_resolve", "dash_alert", ids, NULL, after,
                                      e);
                    json_decref(after);
                    if (rc == 0) (*resolved)++;
                }
            }
        }
        if (rc == 0)
            rc = db_commit(d, e);
        else
            db_rollback(d);
    }
    free(g);
    return rc;
}

/* The city's figures of one day into dash_daily (one transaction). */
static int history_day(db *d, const char *day, int64_t now, err *e) {
    stats_filter f;
    if (stats_filter_parse(&f, day, day, NULL, NULL, NULL, NULL, now, e) != 0) return -1;
    stats_group *g = NULL;
    size_t ng = 0;
    if (stats_services(d, NULL, &f, STATS_DIM_NONE, &g, &ng, e) != 0) return -1;
    char now_s[32];
    time_iso(now_s, sizeof(now_s), now);
    int rc = db_begin(d, e);
    for (size_t i = 0; rc == 0 && ng && i < g[0].nfig; i++) {
        const stats_figure *fg = &g[0].fig[i];
        if (!fg->ind) continue;
        db_stmt *s = db_query(
            d, e,
            "INSERT INTO dash_daily (day, indicator, dim, key, value, numerator, denominator, "
            "computed_at) VALUES ($1, $2, '', '', $3, $4, $5, $6) ON CONFLICT (indicator, dim, "
            "key, day) DO NOTHING",
            "ss", day, fg->ind->id);
        if (!s) {
            rc = -1;
            break;
        }
        if (fg->has_value)
            db_bind_double(s, 3, fg->value);
        else
            db_bind_null(s, 3);
        if (fg->has_numerator)
            db_bind_double(s, 4, fg->numerator);
        else
            db_bind_null(s, 4);
        db_bind_double(s, 5, fg->denominator);
        db_bind_text(s, 6, now_s);
        if (db_step(s) != DB_DONE) rc = err_internal(e, "写历史失败");
        db_reset(s);
    }
    free(g);
    if (rc == 0) return db_commit(d, e);
    if (d->in_tx) db_rollback(d);
    return -1;
}

/* Shanghai calendar date of an instant. */
static void sh_date(int64_t t, char out[11]) {
    char iso[32];
    time_iso(iso, sizeof(iso), t + 8 * 3600);
    memcpy(out, iso, 10);
    out[10] = '\0';
}

int dash_monitor(db *d, int64_t now, int backfill, int *opened, int *resolved, err *e) {
    int o = 0, r = 0;
    char today[11], first[11], period[8];
    sh_date(now, today);
    memcpy(first, today, 8);
    memcpy(first + 8, "01", 3);
    memcpy(period, today, 7);
    period[7] = '\0';
    stats_filter f;
    if (stats_filter_parse(&f, first, today, NULL, NULL, NULL, NULL, now, e) != 0) return -1;
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        if (check_rule(d, &rules[i], &f, period, now, &o, &r, e) != 0) return -1;
    /* Daily history: yesterday backwards, the first `backfill` days missing. */
    int done = 0;
    for (int back = 1; back <= 366 && done < backfill; back++) {
        char day[11];
        sh_date(now - (int64_t)back * 86400, day);
        int64_t have = 0;
        if (db_query_int(d, e, &have,
                         "SELECT COUNT(*) FROM dash_daily WHERE indicator = 'online_rate' AND "
                         "dim = '' AND key = '' AND day = $1",
                         "s", day) < 0)
            return -1;
        if (have) continue;
        if (history_day(d, day, now, e) != 0) return -1;
        done++;
    }
    if (opened) *opened = o;
    if (resolved) *resolved = r;
    return 0;
}

json_t *dash_history(db *d, const char *indicator, const char *dim, const char *key, int days,
                     int64_t now, err *e) {
    if (!indicator || !*indicator || strlen(indicator) > 64) {
        err_invalid(e, "indicator", "缺少 indicator");
        return NULL;
    }
    if (days <= 0 || days > 3660) days = 90;
    char since[11];
    sh_date(now - (int64_t)days * 86400, since);
    db_stmt *s = db_query(d, e,
                          "SELECT day, value, numerator, denominator FROM dash_daily WHERE "
                          "indicator = $1 AND dim = $2 AND key = $3 AND day >= $4 ORDER BY day",
                          "ssss", indicator, dim ? dim : "", key ? key : "", since);
    if (!s) return NULL;
    json_t *items = json_array();
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        json_array_append_new(
            items,
            json_pack(
                "{s:s, s:o, s:o, s:f}", "day", db_column_text(s, 0), "value",
                db_column_type(s, 1) == DB_NULL ? json_null() : json_real(db_column_double(s, 1)),
                "numerator",
                db_column_type(s, 2) == DB_NULL ? json_null() : json_real(db_column_double(s, 2)),
                "denominator", db_column_double(s, 3)));
    }
    db_reset(s);
    if (rc == DB_ERROR) {
        json_decref(items);
        err_internal(e, "读取历史失败");
        return NULL;
    }
    return json_pack("{s:s, s:o}", "indicator", indicator, "items", items);
}

json_t *dash_alerts_list(db *d, const char *status, int limit, int offset, err *e) {
    if (status && *status && strcmp(status, "open") && strcmp(status, "resolved")) {
        err_invalid(e, "status", "status 应为 open 或 resolved");
        return NULL;
    }
    if (limit <= 0 || limit > 200) limit = 50;
    if (offset < 0) offset = 0;
    /* No status: every alert ("status <> ''" keeps one statement shape). */
    const char *st = status && *status ? status : "";
    const char *where = *st ? "status = $1" : "status <> $1";
    char count_sql[96], list_sql[512];
    snprintf(count_sql, sizeof(count_sql), "SELECT COUNT(*) FROM dash_alerts WHERE %s", where);
    snprintf(list_sql, sizeof(list_sql),
             "SELECT id, indicator, dim, key, key_name, period, value, target, direction, sample, "
             "status, role, opened_at, checked_at, resolved_at FROM dash_alerts WHERE %s "
             "ORDER BY status, opened_at DESC, id DESC LIMIT $2 OFFSET $3",
             where);
    int64_t total = 0;
    if (db_query_int(d, e, &total, count_sql, "s", st) < 0) return NULL;
    db_stmt *s = db_query(d, e, list_sql, "sii", st, (int64_t)limit, (int64_t)offset);
    if (!s) return NULL;
    json_t *items = json_array();
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        const char *ind = db_column_text(s, 1), *dim = db_column_text(s, 2),
                   *key = db_column_text(s, 3);
        const char *name = "超期率";
        for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
            if (!strcmp(rules[i].indicator, ind)) name = rules[i].name;
        char link[200];
        const char *period = db_column_text(s, 5);
        int py = 0, pm = 0;
        /* The town's items over the alert's month: the rows behind the figure. */
        if (!strcmp(dim, "town") && period && sscanf(period, "%4d-%2d", &py, &pm) == 2 && pm >= 1 &&
            pm <= 12) {
            static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
            int last =
                mdays[pm - 1] + (pm == 2 && ((py % 4 == 0 && py % 100 != 0) || py % 400 == 0));
            snprintf(link, sizeof(link),
                     "/dash/services?level=town&town=%s&from=%04d-%02d-01&to=%04d-%02d-%02d", key,
                     py, pm, py, pm, last);
        } else if (!strcmp(dim, "town"))
            snprintf(link, sizeof(link), "/dash/services?level=town&town=%s", key);
        else
            snprintf(link, sizeof(link), "/work/queue?due=overdue");
        json_array_append_new(
            items,
            json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:f, s:f, s:I, s:I, s:s, s:s, s:s, "
                      "s:s, s:o, s:s}",
                      "id", (json_int_t)db_column_int64(s, 0), "indicator", ind, "name", name,
                      "dim", dim, "key", key, "key_name", db_column_text(s, 4), "period",
                      db_column_text(s, 5), "value", db_column_double(s, 6), "target",
                      db_column_double(s, 7), "direction", (json_int_t)db_column_int64(s, 8),
                      "sample", (json_int_t)db_column_int64(s, 9), "status", db_column_text(s, 10),
                      "role", db_column_text(s, 11), "opened_at", db_column_text(s, 12),
                      "checked_at", db_column_text(s, 13), "resolved_at",
                      db_column_text(s, 14) ? json_string(db_column_text(s, 14)) : json_null(),
                      "rows_link", link));
    }
    db_reset(s);
    if (rc == DB_ERROR) {
        json_decref(items);
        err_internal(e, "读取预警失败");
        return NULL;
    }
    return json_pack("{s:o, s:I}", "items", items, "total", (json_int_t)total);
}

/* ---- the threads ---- */

static periodic *tick_task, *monitor_task;

static int monitor_run(db *d, int64_t now, char *summary, size_t n, err *e) {
    int o = 0, r = 0;
    if (dash_monitor(d, now, 31, &o, &r, e) != 0) return -1;
    if (o || r) snprintf(summary, n, "indicator alerts: %d opened, %d resolved", o, r);
    return 0;
}

int dash_watch_start(const char *dsn, err *e) {
    if (periodic_start("dashboard tick", dsn, "ISLE_DASH_TICK_MS", 1000, tick, &tick_task, e) != 0)
        return -1;
    if (periodic_start("indicator monitor", dsn, "ISLE_DASH_MONITOR_MS", 300000, monitor_run,
                       &monitor_task, e) != 0) {
        periodic_stop(tick_task);
        tick_task = NULL;
        return -1;
    }
    return 0;
}

void dash_watch_stop(void) {
    periodic_stop(tick_task);
    periodic_stop(monitor_task);
    tick_task = monitor_task = NULL;
}
