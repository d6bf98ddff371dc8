/* report: the year's 数说 report of dash.h — the city's published sentences with
 * isle's own figures filled in, and every indicator behind them. */
#include "dash/dash.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "dash/internal.h"
#include "stats/stats.h"

static void put_ind(json_t *inds, const char *id, const char *name, json_t *value, const char *unit,
                    json_t *target) {
    json_object_set_new(inds, id,
                        json_pack("{s:s, s:o, s:s, s:o}", "name", name, "value",
                                  value ? value : json_null(), "unit", unit, "target",
                                  target ? target : json_null()));
}

static double num(json_t *v) {
    return json_is_number(v) ? json_number_value(v) : 0;
}

/* "94.12" / "—" for a sentence. */
static const char *fmt(json_t *v, char *buf, size_t n) {
    if (!json_is_number(v)) return "—";
    double x = json_number_value(v);
    if (fabs(x - round(x)) < 1e-9 && fabs(x) < 1e15)
        snprintf(buf, n, "%.0f", x);
    else
        snprintf(buf, n, "%.2f", x);
    return buf;
}

/* Towns and villages with a service point of their own (政务服务2.0 全覆盖). */
static int places_coverage(db *d, int64_t *towns, int64_t *towns_with, int64_t *villages,
                           int64_t *villages_with, err *e) {
    if (db_query_int(d, e, towns, "SELECT COUNT(*) FROM towns", "") < 0 ||
        db_query_int(d, e, towns_with,
                     "SELECT COUNT(*) FROM towns t WHERE EXISTS (SELECT 1 FROM stations s "
                     "WHERE s.town_code = t.code)",
                     "") < 0 ||
        db_query_int(d, e, villages, "SELECT COUNT(*) FROM villages", "") < 0 ||
        db_query_int(d, e, villages_with,
                     "SELECT COUNT(*) FROM villages v WHERE EXISTS (SELECT 1 FROM stations s "
                     "WHERE s.village_code = v.code)",
                     "") < 0)
        return -1;
    return 0;
}

json_t *dash_report(db *d, int year, int64_t now, err *e) {
    if (year < 2000 || year > 2100) {
        err_invalid(e, "year", "year 应为 2000–2100 的年份");
        return NULL;
    }
    char from[11], to[11];
    snprintf(from, sizeof(from), "%04d-01-01", year);
    snprintf(to, sizeof(to), "%04d-12-31", year);
    stats_filter f;
    char from_iso[32], to_iso[32];
    if (dash_window(from, to, now, &f, from_iso, to_iso, e) != 0) return NULL;

    json_t *services = stats_services_json(d, &f, STATS_DIM_NONE, e);
    if (!services) return NULL;
    json_t *by_channel = stats_services_json(d, &f, STATS_DIM_CHANNEL, e);
    if (!by_channel) {
        json_decref(services);
        return NULL;
    }
    err te = {0};
    json_t *trading = stats_trading_json(d, from, to, NULL, now, &te);
    json_t *assist = dash_assist_figures(d, from_iso, to_iso, e);
    json_t *proofs = assist ? dash_proof_figures(d, from_iso, to_iso, e) : NULL;
    json_t *catalog = proofs ? dash_catalog_figures(d, e) : NULL;
    int64_t towns = 0, towns_with = 0, villages = 0, villages_with = 0;
    if (!catalog || places_coverage(d, &towns, &towns_with, &villages, &villages_with, e) != 0) {
        json_decref(services);
        json_decref(by_channel);
        json_decref(trading);
        json_decref(assist);
        json_decref(proofs);
        json_decref(catalog);
        return NULL;
    }
    json_t *coverage = dash_coverage_figures(d, now);
    json_t *months = dash_trend(d, from_iso, to_iso, e);
    if (!months) months = json_array();

    json_t *inds = json_object();
    /* Every service indicator of the registry. */
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(services, "indicators"), i, it) {
        const char *id = json_string_value(json_object_get(it, "id"));
        put_ind(inds, id, json_string_value(json_object_get(it, "name")),
                json_incref(json_object_get(it, "value")),
                json_string_value(json_object_get(it, "unit")),
                json_incref(json_object_get(it, "target")));
    }
    /* Every trading indicator. */
    if (trading) {
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(trading, "indicators"), k, v) put_ind(
            inds, k, json_string_value(json_object_get(v, "name")),
            json_incref(json_object_get(v, "value")), json_string_value(json_object_get(v, "unit")),
            json_incref(json_object_get(v, "target")));
    }
    put_ind(inds, "island.towns_covered", "实现政务服务2.0全覆盖的乡镇（街道）",
            json_integer(towns_with), "个", json_integer(towns));
    put_ind(inds, "island.villages_covered", "实现政务服务2.0全覆盖的村（社区）",
            json_integer(villages_with), "个", json_integer(villages));
    put_ind(inds, "island.circle_share", "10分钟帮办代办服务圈覆盖人口比例",
            json_is_object(coverage)
                ? json_real(round(num(json_object_get(coverage, "share_within_10min")) * 10000.0) /
                            100.0)
                : json_null(),
            "%", json_real(100));
    put_ind(inds, "island.assist_requests", "帮办代办受理",
            json_incref(json_object_get(assist, "requests")), "件", NULL);
    put_ind(inds, "island.assist_done", "帮办代办办结",
            json_incref(json_object_get(assist, "done")), "件", NULL);
    put_ind(inds, "island.assist_accept_minutes", "帮办代办平均接单用时",
            json_incref(json_object_get(assist, "avg_minutes_to_accept")), "分钟", NULL);
    put_ind(inds, "island.proofs_issued", "签发电子证明",
            json_incref(json_object_get(proofs, "issued")), "份", NULL);
    put_ind(inds, "catalog.items", "政务服务事项", json_incref(json_object_get(catalog, "items")),
            "项", NULL);
    put_ind(inds, "catalog.cross_province", "跨省通办事项",
            json_incref(json_object_get(catalog, "cross_province")), "项", NULL);
    put_ind(inds, "catalog.province", "全省通办事项",
            json_incref(json_object_get(catalog, "province")), "项", NULL);
    put_ind(inds, "catalog.yongzhou", "甬舟通办事项",
            json_incref(json_object_get(catalog, "yongzhou")), "项", NULL);
    put_ind(inds, "catalog.instant", "智能秒办事项",
            json_incref(json_object_get(catalog, "instant")), "项", NULL);
    put_ind(inds, "catalog.bundles", "一件事集成服务",
            json_incref(json_object_get(catalog, "bundles")), "件", NULL);

    /* The sentences, in the shape of the city's published summary. */
    json_t *sent = json_array();
    char a[32], b[32], c[32], d4[32], x[512];
    json_t *counts = json_object_get(services, "counts");
    snprintf(x, sizeof(x),
             "全市%lld个乡镇（街道）中%lld个、%lld个村（社区）中%"
             "lld个设有便民服务站点，实现政务服务2.0覆盖。",
             (long long)towns, (long long)towns_with, (long long)villages,
             (long long)villages_with);
    json_array_append_new(sent, json_string(x));
    snprintf(
        x, sizeof(x), "全年受理办件%s件，一网通办率%s%%，材料免提交率%s%%。",
        fmt(json_object_get(counts, "submitted"), a, sizeof(a)),
        fmt(json_object_get(json_object_get(inds, "online_rate"), "value"), b, sizeof(b)),
        fmt(json_object_get(json_object_get(inds, "material_waiver_rate"), "value"), c, sizeof(c)));
    json_array_append_new(sent, json_string(x));
    snprintf(x, sizeof(x), "办理时间由法定平均%s个工作日压缩到平均%s个工作日，即办率%s%%。",
             fmt(json_object_get(json_object_get(inds, "legal_days_avg"), "value"), a, sizeof(a)),
             fmt(json_object_get(json_object_get(inds, "avg_working_days"), "value"), b, sizeof(b)),
             fmt(json_object_get(json_object_get(inds, "instant_rate"), "value"), c, sizeof(c)));
    json_array_append_new(sent, json_string(x));
    snprintf(x, sizeof(x), "帮办代办受理%s件、办结%s件，平均%s分钟接单；签发电子证明%s份。",
             fmt(json_object_get(assist, "requests"), a, sizeof(a)),
             fmt(json_object_get(assist, "done"), b, sizeof(b)),
             fmt(json_object_get(assist, "avg_minutes_to_accept"), c, sizeof(c)),
             fmt(json_object_get(proofs, "issued"), d4, sizeof(d4)));
    json_array_append_new(sent, json_string(x));
    if (trading && json_is_string(json_object_get(trading, "sentence")))
        json_array_append(sent, json_object_get(trading, "sentence"));
    snprintf(x, sizeof(x), "政务服务事项%s项，其中跨省通办%s项、全省通办%s项、甬舟通办%s项。",
             fmt(json_object_get(catalog, "items"), a, sizeof(a)),
             fmt(json_object_get(catalog, "cross_province"), b, sizeof(b)),
             fmt(json_object_get(catalog, "province"), c, sizeof(c)),
             fmt(json_object_get(catalog, "yongzhou"), d4, sizeof(d4)));
    json_array_append_new(sent, json_string(x));

    char gen[32];
    time_iso(gen, sizeof(gen), now);
    json_t *sections =
        json_pack("{s:{s:O, s:O, s:O, s:o}, s:o, s:{s:O, s:O, s:O}, s:O}", "services", "counts",
                  counts, "indicators", json_object_get(services, "indicators"), "by_channel",
                  json_object_get(by_channel, "groups"), "by_month", months, "trading",
                  trading ? json_incref(trading) : json_null(), "island", "assist", assist,
                  "proofs", proofs, "coverage", coverage, "catalog", catalog);
    json_t *out = json_pack("{s:i, s:s, s:o, s:o, s:o, s:o}", "year", year, "generated_at", gen,
                            "window", dash_window_json(&f, from_iso, to_iso), "sentences", sent,
                            "indicators", inds, "sections", sections);
    json_decref(services);
    json_decref(by_channel);
    json_decref(trading);
    json_decref(assist);
    json_decref(proofs);
    json_decref(catalog);
    json_decref(coverage);
    return out;
}
