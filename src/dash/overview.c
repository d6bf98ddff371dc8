/* overview: the city overview (大屏) of dash.h — every headline figure from one
 * call, each an aggregate query (no rows loaded beyond what a figure needs). */
#include "dash/dash.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "island/coverage.h"
#include "island/travel.h"
#include "stats/stats.h"
#include "workcal/workcal.h"

#include "dash/internal.h"

static const struct {
    const char *key, *name;
} channels[] = {{"online", "网上申请"},
                {"window", "窗口申请"},
                {"assisted", "帮办代办"},
                {"station", "便民服务站"}};

static double round2(double v) {
    return round(v * 100.0) / 100.0;
}

json_t *dash_rate(double num, double den) {
    return den > 0 ? json_real(round2(100.0 * num / den)) : json_null();
}

int dash_window(const char *from, const char *to, int64_t now, stats_filter *f, char from_iso[32],
                char to_iso[32], err *e) {
    if (stats_filter_parse(f, from, to, NULL, NULL, NULL, NULL, now, e) != 0) return -1;
    time_iso(from_iso, 32, f->from);
    time_iso(to_iso, 32, f->to);
    return 0;
}

json_t *dash_window_json(const stats_filter *f, const char *from_iso, const char *to_iso) {
    return json_pack("{s:s, s:s, s:s, s:s}", "from", f->from_date, "to", f->to_date, "from_at",
                     from_iso, "to_at", to_iso);
}

/* Months of the window (Asia/Shanghai calendar months): cases submitted and online,
 * decided and their mean working days. Stored instants are UTC text, so SQL groups
 * by UTC hour ("YYYY-MM-DDTHH", at most 24 × 366 groups) and C moves each hour to
 * its Shanghai month — exact at month ends, and never a row per case. */
typedef struct month_acc {
    char month[8];
    int64_t submitted, online, decided;
    double days;
} month_acc;

static month_acc *month_get(month_acc *m, int *n, int cap, const char *utc_hour) {
    /* "YYYY-MM-DDTHH" + 8 h → the Shanghai month. */
    char iso[32];
    snprintf(iso, sizeof(iso), "%.13s:00:00Z", utc_hour);
    int64_t t = 0;
    if (time_parse_iso(iso, &t) != 0) return NULL;
    char sh[32];
    time_iso(sh, sizeof(sh), t + 8 * 3600);
    for (int i = 0; i < *n; i++)
        if (!strncmp(m[i].month, sh, 7)) return &m[i];
    if (*n == cap) return NULL;
    month_acc *a = &m[(*n)++];
    memset(a, 0, sizeof(*a));
    memcpy(a->month, sh, 7);
    return a;
}

/* The decided cases of [from, to) (instants) added to their Shanghai months as the
 * figures always were: per UTC hour in SQL, then in C in hour order (float sums). */
static int trend_decided_direct(db *d, const char *from, const char *to, month_acc *m, int *n,
                                int cap) {
    db_stmt *s =
        db_query(d, NULL,
                 "SELECT substr(decided_at, 1, 13), COUNT(*), SUM(working_days) FROM stats_cases "
                 "WHERE decided_at >= $1 AND decided_at < $2 AND working_days IS NOT NULL "
                 "GROUP BY substr(decided_at, 1, 13)",
                 "ss", from, to);
    if (!s) return -1;
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        month_acc *a = month_get(m, n, cap, db_column_text(s, 0));
        if (!a) continue;
        a->decided += db_column_int64(s, 1);
        a->days += db_column_double(s, 2);
    }
    db_reset(s);
    return rc == DB_ERROR ? -1 : 0;
}

/* Whether an instant written by dash_window() is a Shanghai midnight, and its date. */
static int sh_midnight(const char *iso, int64_t *t, workcal_date *day) {
    if (time_parse_iso(iso, t) != 0 || (*t + 8 * 3600) % 86400 != 0) return 0;
    *day = workcal_local_date(*t);
    return 1;
}

json_t *dash_trend(db *d, const char *from, const char *to, err *e) {
    enum { CAP = 130 }; /* ten years of months, as STATS_MAX_WINDOW */
    month_acc m[CAP];
    int n = 0, rc;
    int64_t tf = 0, tt = 0;
    workcal_date df, dt;
    if (!sh_midnight(from, &tf, &df) || !sh_midnight(to, &tt, &dt) || tt <= tf) {
        err_invalid(e, "from", "时间范围须为整日");
        return NULL;
    }
    char day_from[11], day_to[11];
    workcal_date_format(df, day_from, sizeof(day_from));
    workcal_date_format(workcal_local_date(tt - 86400), day_to, sizeof(day_to));
    /* Months from the per-day rollup: the day is the Shanghai date, so its first seven
     * characters are the Shanghai month. */
    db_stmt *s = db_query(d, e,
                          "SELECT substr(day, 1, 7), SUM(submitted), SUM(online), SUM(decided), "
                          "SUM(wd_h) FROM stats_rollup_day WHERE day >= $1 AND day <= $2 "
                          "GROUP BY substr(day, 1, 7) ORDER BY substr(day, 1, 7)",
                          "ss", day_from, day_to);
    if (!s) return NULL;
    int64_t hundredths[CAP];
    while ((rc = db_step(s)) == DB_ROW) {
        int64_t sub = db_column_int64(s, 1), dec = db_column_int64(s, 3);
        if ((sub <= 0 && dec <= 0) || n == CAP || !db_column_text(s, 0)) continue;
        month_acc *a = &m[n];
        memset(a, 0, sizeof(*a));
        snprintf(a->month, sizeof(a->month), "%.7s", db_column_text(s, 0));
        a->submitted = sub;
        a->online = db_column_int64(s, 2);
        a->decided = dec;
        hundredths[n] = db_column_int64(s, 4);
        a->days = (double)hundredths[n] / 100.0;
        n++;
    }
    db_reset(s);
    if (rc == DB_ERROR) goto fail;
    /* A mean exactly halfway at its second decimal was rounded by the float error of
     * the sum it came from: such a month is summed again as it always was. */
    for (int i = 0; i < n; i++) {
        int64_t h = hundredths[i], k = m[i].decided;
        if (k <= 0 || (2 * h) % k != 0 || ((2 * h) / k) % 2 == 0) continue;
        workcal_date first = {0};
        sscanf(m[i].month, "%4d-%2d", &first.year, &first.month);
        first.day = 1;
        workcal_date next = first;
        if (++next.month > 12) {
            next.month = 1;
            next.year++;
        }
        int64_t a = workcal_local_instant(first, 0), b = workcal_local_instant(next, 0);
        char fa[32], fb[32];
        time_iso(fa, sizeof(fa), a > tf ? a : tf);
        time_iso(fb, sizeof(fb), b < tt ? b : tt);
        month_acc one = m[i]; /* the only month the range can add to (cap 1) */
        one.decided = 0;
        one.days = 0;
        int one_n = 1;
        if (trend_decided_direct(d, fa, fb, &one, &one_n, 1) != 0) goto fail;
        m[i].days = one.days;
    }
    json_t *out = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(
            out, json_pack("{s:s, s:I, s:I, s:o, s:I, s:o}", "month", m[i].month, "submitted",
                           (json_int_t)m[i].submitted, "online", (json_int_t)m[i].online,
                           "online_rate", dash_rate((double)m[i].online, (double)m[i].submitted),
                           "decided", (json_int_t)m[i].decided, "avg_days",
                           m[i].decided ? json_real(round2(m[i].days / (double)m[i].decided))
                                        : json_null()));
    return out;
fail:
    err_internal(e, "统计查询失败");
    return NULL;
}

static json_t *channel_split(db *d, const char *from, const char *to, err *e) {
    db_stmt *s = db_query(d, e,
                          "SELECT channel, SUM(submitted) FROM stats_rollup_day WHERE day >= $1 "
                          "AND day <= $2 GROUP BY channel",
                          "ss", from, to);
    if (!s) return NULL;
    int64_t counts[4] = {0};
    int rc;
    while ((rc = db_step(s)) == DB_ROW)
        for (int i = 0; i < 4; i++)
            if (!strcmp(db_column_text(s, 0), channels[i].key)) counts[i] = db_column_int64(s, 1);
    db_reset(s);
    if (rc == DB_ERROR) {
        err_internal(e, "统计查询失败");
        return NULL;
    }
    json_t *out = json_array();
    for (int i = 0; i < 4; i++)
        json_array_append_new(out, json_pack("{s:s, s:s, s:I}", "channel", channels[i].key, "name",
                                             channels[i].name, "cases", (json_int_t)counts[i]));
    return out;
}

static json_t *towns(db *d, const char *from, const char *to, err *e) {
    db_stmt *s = db_query(
        d, e,
        "SELECT t.code, t.name, t.county, t.lat, t.lon, COALESCE(x.n, 0), COALESCE(x.o, 0) "
        "FROM towns t LEFT JOIN (SELECT town_code, SUM(submitted) AS n, SUM(online) AS o "
        "FROM stats_rollup_town WHERE day >= $1 AND day <= $2 GROUP BY town_code) x "
        "ON x.town_code = t.code ORDER BY t.code",
        "ss", from, to);
    if (!s) return NULL;
    json_t *out = json_array();
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        double n = (double)db_column_int64(s, 5), on = (double)db_column_int64(s, 6);
        json_array_append_new(
            out, json_pack("{s:s, s:s, s:s, s:f, s:f, s:I, s:o}", "code", db_column_text(s, 0),
                           "name", db_column_text(s, 1), "county", db_column_text(s, 2), "lat",
                           db_column_double(s, 3), "lon", db_column_double(s, 4), "submitted",
                           (json_int_t)n, "online_rate", dash_rate(on, n)));
    }
    db_reset(s);
    if (rc == DB_ERROR) {
        json_decref(out);
        err_internal(e, "统计查询失败");
        return NULL;
    }
    return out;
}

/* Assisted requests of the window: how many, done, still open, and the mean
 * minutes from intake to acceptance (computed in C: times are ISO text). */
json_t *dash_assist_figures(db *d, const char *from, const char *to, err *e) {
    db_stmt *s = db_query(d, e,
                          "SELECT status, created_at, accepted_at FROM assist_requests "
                          "WHERE created_at >= $1 AND created_at < $2",
                          "ss", from, to);
    if (!s) return NULL;
    int64_t total = 0, done = 0, open = 0, accepted = 0;
    double minutes = 0;
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        const char *st = db_column_text(s, 0);
        total++;
        if (!strcmp(st, "done"))
            done++;
        else if (strcmp(st, "cancelled"))
            open++;
        int64_t c = 0, a = 0;
        if (db_column_text(s, 2) && time_parse_iso(db_column_text(s, 1), &c) == 0 &&
            time_parse_iso(db_column_text(s, 2), &a) == 0 && a >= c) {
            minutes += (double)(a - c) / 60.0;
            accepted++;
        }
    }
    db_reset(s);
    if (rc == DB_ERROR) {
        err_internal(e, "统计查询失败");
        return NULL;
    }
    return json_pack("{s:I, s:I, s:I, s:I, s:o}", "requests", (json_int_t)total, "done",
                     (json_int_t)done, "open", (json_int_t)open, "accepted", (json_int_t)accepted,
                     "avg_minutes_to_accept",
                     accepted ? json_real(round2(minutes / (double)accepted)) : json_null());
}

json_t *dash_proof_figures(db *d, const char *from, const char *to, err *e) {
    int64_t requested = 0, issued = 0;
    if (db_query_int(d, e, &requested,
                     "SELECT COUNT(*) FROM proofs WHERE created_at >= $1 AND created_at < $2", "ss",
                     from, to) < 0 ||
        db_query_int(d, e, &issued,
                     "SELECT COUNT(*) FROM proofs WHERE issued_at >= $1 AND issued_at < $2", "ss",
                     from, to) < 0)
        return NULL;
    return json_pack("{s:I, s:I}", "requested", (json_int_t)requested, "issued",
                     (json_int_t)issued);
}

json_t *dash_catalog_figures(db *d, err *e) {
    db_stmt *s = db_query(d, e,
                          "SELECT COUNT(*), SUM(scope_cross_province), SUM(scope_province), "
                          "SUM(scope_yongzhou), SUM(instant), SUM(commitment), "
                          "SUM(CASE WHEN online_depth >= 2 THEN 1 ELSE 0 END) FROM catalog_items",
                          "");
    if (!s) return NULL;
    int rc = db_step(s);
    json_t *o = NULL;
    if (rc == DB_ROW)
        o = json_pack(
            "{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "items", (json_int_t)db_column_int64(s, 0),
            "cross_province", (json_int_t)db_column_int64(s, 1), "province",
            (json_int_t)db_column_int64(s, 2), "yongzhou", (json_int_t)db_column_int64(s, 3),
            "instant", (json_int_t)db_column_int64(s, 4), "commitment",
            (json_int_t)db_column_int64(s, 5), "online", (json_int_t)db_column_int64(s, 6));
    db_reset(s);
    if (!o) {
        err_internal(e, "统计查询失败");
        return NULL;
    }
    int64_t bundles = 0;
    if (db_query_int(d, e, &bundles, "SELECT COUNT(*) FROM catalog_bundles", "") < 0) {
        json_decref(o);
        return NULL;
    }
    json_object_set_new(o, "bundles", json_integer(bundles));
    return o;
}

/* The 10-minute service circle changes only with the places and stations: computed
 * once per process and kept ten minutes. */
static pthread_mutex_t cov_mu = PTHREAD_MUTEX_INITIALIZER;
static json_t *cov_cache;
static int64_t cov_at;

json_t *dash_coverage_figures(db *d, int64_t now) {
    pthread_mutex_lock(&cov_mu);
    if (cov_cache && now - cov_at < 600) {
        json_t *o = json_incref(cov_cache);
        pthread_mutex_unlock(&cov_mu);
        return o;
    }
    pthread_mutex_unlock(&cov_mu);
    err e = {0};
    const travel_graph *g = travel_default(d, &e);
    const coverage_services *sv = g ? coverage_services_default(&e) : NULL;
    json_t *full = NULL;
    if (g && sv) {
        coverage_query q = {0};
        full = coverage_compute(d, g, sv, &q, &e);
    }
    if (!full) return json_null();
    json_t *o = json_pack("{s:O, s:O, s:O, s:O, s:O, s:O}", "service",
                          json_object_get(json_object_get(full, "service"), "name"), "villages",
                          json_object_get(full, "villages"), "villages_within",
                          json_object_get(full, "villages_within"), "population",
                          json_object_get(full, "population"), "population_within",
                          json_object_get(full, "population_within"), "share_within_10min",
                          json_object_get(full, "share_within_10min"));
    json_decref(full);
    if (!o) return json_null();
    pthread_mutex_lock(&cov_mu);
    json_decref(cov_cache);
    cov_cache = json_incref(o);
    cov_at = now;
    pthread_mutex_unlock(&cov_mu);
    return o;
}

/* The trading figures move only with the trading records: kept under their own
 * signature, so that a new case (which changes the overview's) does not compute them
 * again. NULL when they cannot be computed (the overview shows null). */
static json_t *trading_figures(db *d, const stats_filter *f, int64_t now) {
    err te = {0};
    char key[64], sig[256] = "";
    snprintf(key, sizeof(key), "trading|%s|%s", f->from_date, f->to_date);
    db_stmt *s = db_query(d, &te,
                          "SELECT (SELECT COALESCE(MAX(updated_at), '') FROM tenders), "
                          "(SELECT COUNT(*) FROM bids WHERE status IN ('opened', 'invalid', "
                          "'not_decrypted')), (SELECT COUNT(*) FROM openings), "
                          "(SELECT COALESCE(MAX(started_at), '') FROM openings), "
                          "(SELECT COALESCE(MAX(id), 0) FROM ca_logins)",
                          "");
    if (s && db_step(s) == DB_ROW)
        snprintf(sig, sizeof(sig), "%s,%lld,%lld,%s,%lld",
                 db_column_text(s, 0) ? db_column_text(s, 0) : "", (long long)db_column_int64(s, 1),
                 (long long)db_column_int64(s, 2), db_column_text(s, 3) ? db_column_text(s, 3) : "",
                 (long long)db_column_int64(s, 4));
    if (s) db_reset(s);
    json_t *o = sig[0] ? dash_cache_get(key, sig, now) : NULL;
    if (o) return o;
    o = stats_trading_json(d, f->from_date, f->to_date, NULL, now, &te);
    if (o && sig[0]) dash_cache_put(key, sig, now, o);
    return o;
}

static json_t *overview_compute(db *d, const char *from, const char *to, int64_t now, err *e) {
    stats_filter f;
    char from_iso[32], to_iso[32];
    if (dash_window(from, to, now, &f, from_iso, to_iso, e) != 0) return NULL;
    json_t *services = stats_services_json(d, &f, STATS_DIM_NONE, e);
    if (!services) return NULL;
    json_t *o = json_object();
    json_object_set_new(o, "window", dash_window_json(&f, from_iso, to_iso));
    json_object_set_new(o, "services",
                        json_pack("{s:O, s:O}", "indicators",
                                  json_object_get(services, "indicators"), "counts",
                                  json_object_get(services, "counts")));
    json_decref(services);
    json_t *part;
    if (!(part = dash_trend(d, from_iso, to_iso, e))) goto fail;
    json_object_set_new(o, "trend", part);
    if (!(part = channel_split(d, f.from_date, f.to_date, e))) goto fail;
    json_object_set_new(o, "channels", part);
    if (!(part = towns(d, f.from_date, f.to_date, e))) goto fail;
    json_object_set_new(o, "towns", part);
    part = trading_figures(d, &f, now);
    json_object_set_new(o, "trading", part ? part : json_null());
    json_object_set_new(o, "coverage", dash_coverage_figures(d, now));
    if (!(part = dash_assist_figures(d, from_iso, to_iso, e))) goto fail;
    json_object_set_new(o, "assist", part);
    if (!(part = dash_proof_figures(d, from_iso, to_iso, e))) goto fail;
    json_object_set_new(o, "proofs", part);
    if (!(part = dash_catalog_figures(d, e))) goto fail;
    json_object_set_new(o, "catalog", part);
    int64_t open_alerts = 0;
    if (db_query_int(d, e, &open_alerts, "SELECT COUNT(*) FROM dash_alerts WHERE status = 'open'",
                     "") < 0)
        goto fail;
    json_object_set_new(o, "alerts", json_pack("{s:I}", "open", (json_int_t)open_alerts));
    return o;
fail:
    json_decref(o);
    return NULL;
}

json_t *dash_overview(db *d, const char *from, const char *to, int64_t now, err *e) {
    stats_filter f;
    char from_iso[32], to_iso[32], key[96], sig[256];
    if (dash_window(from, to, now, &f, from_iso, to_iso, e) != 0) return NULL;
    snprintf(key, sizeof(key), "overview|%s|%s", f.from_date, f.to_date);
    if (dash_data_sig(d, sig, sizeof(sig), e) != 0) return NULL;
    json_t *o = dash_cache_get(key, sig, now);
    if (o) return o;
    o = overview_compute(d, from, to, now, e);
    if (o) dash_cache_put(key, sig, now, o);
    return o;
}
