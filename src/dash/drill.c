/* drill: the services drill-down of dash.h — city → county → town → item → the
 * cases. Every level is one stats_services() split (or, for the cases, one
 * indexed query), turned into the same table shape. */
#include "dash/dash.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases/cases.h"
#include "dash/internal.h"

/* The columns of the indicator levels and how a county sums its towns: a share is
 * 100·Σnum/Σden, a mean Σnum/Σden (sum and count), the submitted count a sum. */
enum agg { AGG_COUNT, AGG_SHARE, AGG_MEAN };
static const struct col {
    const char *key, *label, *unit, *indicator;
    enum agg agg;
} cols[] = {
    {"submitted", "办件量", "件", NULL, AGG_COUNT},
    {"online_rate", "一网通办率", "%", "online_rate", AGG_SHARE},
    {"material_waiver_rate", "材料免提交率", "%", "material_waiver_rate", AGG_SHARE},
    {"zero_visit_rate", "跑零次率", "%", "zero_visit_rate", AGG_SHARE},
    {"instant_rate", "即办率", "%", "instant_rate", AGG_SHARE},
    {"avg_working_days", "平均办理工作日", "工作日", "avg_working_days", AGG_MEAN},
    {"overdue_rate", "超期率", "%", "overdue_count", AGG_SHARE},
    {"rating_avg", "好差评均分", "分", "rating_avg", AGG_MEAN},
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

/* Sums of one row while folding groups. */
typedef struct sums {
    double num[NCOLS], den[NCOLS];
} sums;

static const stats_figure *fig_of(const stats_group *g, const char *id) {
    for (size_t i = 0; i < g->nfig; i++)
        if (g->fig[i].ind && !strcmp(g->fig[i].ind->id, id)) return &g->fig[i];
    return NULL;
}

static void sums_add(sums *s, const stats_group *g) {
    for (size_t c = 0; c < NCOLS; c++) {
        if (cols[c].agg == AGG_COUNT) {
            s->num[c] += (double)g->counts.submitted;
            continue;
        }
        const stats_figure *f = fig_of(g, cols[c].indicator);
        if (f && f->has_numerator) {
            s->num[c] += f->numerator;
            s->den[c] += f->denominator;
        }
    }
}

static json_t *sums_cells(const sums *s) {
    json_t *cells = json_object();
    for (size_t c = 0; c < NCOLS; c++) {
        json_t *v;
        if (cols[c].agg == AGG_COUNT)
            v = json_integer((json_int_t)llround(s->num[c]));
        else if (s->den[c] <= 0)
            v = json_null();
        else if (cols[c].agg == AGG_SHARE)
            v = dash_rate(s->num[c], s->den[c]);
        else
            v = json_real(round(s->num[c] / s->den[c] * 100.0) / 100.0);
        json_object_set_new(cells, cols[c].key, v);
    }
    return cells;
}

static json_t *indicator_columns(const char *first_label) {
    json_t *a = json_array();
    json_array_append_new(
        a, json_pack("{s:s, s:s, s:s}", "key", "label", "label", first_label, "unit", ""));
    for (size_t c = 0; c < NCOLS; c++)
        json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "key", cols[c].key, "label",
                                           cols[c].label, "unit", cols[c].unit));
    return a;
}

static json_t *next_of(const char *level, const char *k1, const char *v1, const char *k2,
                       const char *v2) {
    json_t *p = json_object();
    if (k1) json_object_set_new(p, k1, json_string(v1));
    if (k2) json_object_set_new(p, k2, json_string(v2));
    return json_pack("{s:s, s:o}", "level", level, "params", p);
}

static json_t *row(const char *key, const char *label, json_t *next, json_t *cells) {
    return json_pack("{s:s, s:s, s:o, s:o}", "key", key, "label", label, "next",
                     next ? next : json_null(), "cells", cells);
}

/* Town code → (name, county) from the places table. */
typedef struct town_info {
    char code[16], name[64], county[64];
} town_info;

static int load_towns(db *d, town_info **out, size_t *n, err *e) {
    db_stmt *s = db_query(d, e, "SELECT code, name, county FROM towns ORDER BY code", "");
    if (!s) return -1;
    size_t cap = 64, len = 0;
    town_info *t = malloc(cap * sizeof(*t));
    int rc;
    while (t && (rc = db_step(s)) == DB_ROW) {
        if (len == cap) {
            town_info *nt = realloc(t, (cap *= 2) * sizeof(*t));
            if (!nt) {
                free(t);
                t = NULL;
                break;
            }
            t = nt;
        }
        snprintf(t[len].code, sizeof(t[len].code), "%s", db_column_text(s, 0));
        snprintf(t[len].name, sizeof(t[len].name), "%s", db_column_text(s, 1));
        snprintf(t[len].county, sizeof(t[len].county), "%s", db_column_text(s, 2));
        len++;
    }
    db_reset(s);
    if (!t) return err_internal(e, "内存不足");
    if (rc == DB_ERROR) {
        free(t);
        return err_internal(e, "读取乡镇失败");
    }
    *out = t;
    *n = len;
    return 0;
}

static const town_info *town_find(const town_info *t, size_t n, const char *code) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(t[i].code, code)) return &t[i];
    return NULL;
}

static json_t *crumb(const char *level, const char *label, json_t *params) {
    return json_pack("{s:s, s:s, s:o}", "level", level, "label", label, "params",
                     params ? params : json_object());
}

static const char *channel_label(const char *c) {
    if (!c) return "";
    if (!strcmp(c, "online")) return "网上申请";
    if (!strcmp(c, "window")) return "窗口申请";
    if (!strcmp(c, "assisted")) return "帮办代办";
    if (!strcmp(c, "station")) return "便民服务站";
    return c;
}

/* The cases of one item in one town: the last level. No personal data. */
static int case_rows(db *d, const char *town, const char *item, const char *from, const char *to,
                     int64_t offset, json_t *rows, int64_t *total, err *e) {
    if (db_query_int(d, e, total,
                     "SELECT COUNT(*) FROM stats_cases WHERE item_code = $1 AND town_code = $2 AND "
                     "submitted_at >= $3 AND submitted_at < $4",
                     "ssss", item, town, from, to) < 0)
        return -1;
    db_stmt *s =
        db_query(d, e,
                 "SELECT c.id, c.case_no, s.status, s.channel, s.submitted_at, s.decided_at, "
                 "s.working_days, s.deadline_at, s.late FROM stats_cases s "
                 "JOIN cases c ON c.id = s.case_id WHERE s.item_code = $1 AND "
                 "s.town_code = $2 AND s.submitted_at >= $3 AND s.submitted_at < $4 "
                 "ORDER BY s.submitted_at DESC, s.case_id DESC LIMIT $5 OFFSET $6",
                 "ssssii", item, town, from, to, (int64_t)DASH_MAX_ROWS, offset);
    if (!s) return -1;
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        char id[24];
        snprintf(id, sizeof(id), "%lld", (long long)db_column_int64(s, 0));
        const char *st = db_column_text(s, 2);
        json_t *cells = json_pack(
            "{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:s}", "case_no", db_column_text(s, 1), "status",
            cases_status_label(st)[0] ? cases_status_label(st) : st, "channel",
            channel_label(db_column_text(s, 3)), "submitted_at", db_column_text(s, 4), "decided_at",
            db_column_text(s, 5) ? json_string(db_column_text(s, 5)) : json_null(), "working_days",
            db_column_type(s, 6) == DB_NULL ? json_null() : json_real(db_column_double(s, 6)),
            "deadline_at", db_column_text(s, 7) ? json_string(db_column_text(s, 7)) : json_null(),
            "late", db_column_int64(s, 8) ? "是" : "否");
        json_t *r = row(id, db_column_text(s, 1), NULL, cells);
        json_object_set_new(r, "link", json_sprintf("/cases/%s", id));
        json_array_append_new(rows, r);
    }
    db_reset(s);
    return rc == DB_ERROR ? err_internal(e, "读取办件失败") : 0;
}

/* The city split by town is what the city level and every county level are folded
 * from: computed once per data signature and window, and shared (the expensive
 * part of a drill at a million cases). A copy is handed out; caller frees. */
static pthread_mutex_t split_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char key[64];
    char sig[256];
    int64_t at;
    stats_group *groups;
    size_t n;
} split;

static int town_split(db *d, const stats_filter *f, int64_t now, stats_group **out, size_t *n,
                      err *e) {
    char key[64], sig[256];
    snprintf(key, sizeof(key), "%s|%s", f->from_date, f->to_date);
    if (dash_data_sig(d, sig, sizeof(sig), e) != 0) return -1;
    pthread_mutex_lock(&split_mu);
    if (split.groups && !strcmp(split.key, key) && !strcmp(split.sig, sig) &&
        now - split.at < DASH_CACHE_MAX_S && !getenv("ISLE_DASH_NO_CACHE")) {
        *out = malloc(split.n ? split.n * sizeof(stats_group) : 1);
        if (*out) {
            if (split.n) memcpy(*out, split.groups, split.n * sizeof(stats_group));
            *n = split.n;
        }
        pthread_mutex_unlock(&split_mu);
        return *out ? 0 : err_internal(e, "内存不足");
    }
    pthread_mutex_unlock(&split_mu);
    if (stats_services_ex(d, NULL, f, STATS_DIM_TOWN, STATS_NO_MEDIAN, out, n, e) != 0) return -1;
    stats_group *copy = malloc(*n ? *n * sizeof(stats_group) : 1);
    if (!copy) return 0; /* only the sharing is lost */
    if (*n) memcpy(copy, *out, *n * sizeof(stats_group));
    pthread_mutex_lock(&split_mu);
    free(split.groups);
    split.groups = copy;
    split.n = *n;
    split.at = now;
    snprintf(split.key, sizeof(split.key), "%s", key);
    snprintf(split.sig, sizeof(split.sig), "%s", sig);
    pthread_mutex_unlock(&split_mu);
    return 0;
}

static json_t *drill_compute(db *d, const dash_drill_query *q, int64_t now, err *e) {
    const char *level = q->level && *q->level ? q->level : "city";
    if (strcmp(level, "city") && strcmp(level, "county") && strcmp(level, "town") &&
        strcmp(level, "item")) {
        err_invalid(e, "level", "level 应为 city、county、town 或 item");
        return NULL;
    }
    stats_filter f;
    char from_iso[32], to_iso[32];
    if (dash_window(q->from, q->to, now, &f, from_iso, to_iso, e) != 0) return NULL;
    town_info *towns = NULL;
    size_t ntowns = 0;
    if (load_towns(d, &towns, &ntowns, e) != 0) return NULL;

    json_t *out = json_object(), *rows = json_array(), *crumbs = json_array();
    json_array_append_new(crumbs, crumb("city", "舟山市", NULL));
    stats_group *groups = NULL;
    size_t ngroups = 0;
    int64_t total = 0;
    char title[512];

    if (!strcmp(level, "city") || !strcmp(level, "county")) {
        const char *county = q->county;
        if (!strcmp(level, "county")) {
            int known = 0;
            for (size_t i = 0; county && i < ntowns; i++)
                known |= !strcmp(towns[i].county, county);
            if (!county || !*county) {
                err_invalid(e, "county", "缺少 county");
                goto fail;
            }
            if (!known) {
                err_notfound(e, "没有这个县区");
                goto fail;
            }
            json_array_append_new(crumbs,
                                  crumb("county", county, json_pack("{s:s}", "county", county)));
        }
        if (town_split(d, &f, now, &groups, &ngroups, e) != 0) goto fail;
        if (!strcmp(level, "city")) {
            /* Fold the towns into their counties, in the order of the places table. */
            const char *seen[64];
            size_t nseen = 0;
            for (size_t i = 0; i < ntowns && nseen < 64; i++) {
                int dup = 0;
                for (size_t j = 0; j < nseen; j++)
                    dup |= !strcmp(seen[j], towns[i].county);
                if (!dup) seen[nseen++] = towns[i].county;
            }
            for (size_t k = 0; k < nseen; k++) {
                sums s = {0};
                for (size_t g = 0; g < ngroups; g++) {
                    const town_info *t = town_find(towns, ntowns, groups[g].key);
                    if (t && !strcmp(t->county, seen[k])) sums_add(&s, &groups[g]);
                }
                json_array_append_new(rows, row(seen[k], seen[k],
                                                next_of("county", "county", seen[k], NULL, NULL),
                                                sums_cells(&s)));
            }
            snprintf(title, sizeof(title), "舟山市 · 各县区");
        } else {
            for (size_t i = 0; i < ntowns; i++) {
                if (strcmp(towns[i].county, county)) continue;
                sums s = {0};
                for (size_t g = 0; g < ngroups; g++)
                    if (!strcmp(groups[g].key, towns[i].code)) sums_add(&s, &groups[g]);
                json_array_append_new(rows, row(towns[i].code, towns[i].name,
                                                next_of("town", "town", towns[i].code, NULL, NULL),
                                                sums_cells(&s)));
            }
            snprintf(title, sizeof(title), "%s · 各乡镇（街道）", county);
        }
        json_object_set_new(out, "columns",
                            indicator_columns(!strcmp(level, "city") ? "县区" : "乡镇（街道）"));
        total = (int64_t)json_array_size(rows);
    } else {
        const town_info *t = q->town ? town_find(towns, ntowns, q->town) : NULL;
        if (!q->town || !*q->town) {
            err_invalid(e, "town", "缺少 town");
            goto fail;
        }
        if (!t) {
            err_notfound(e, "没有这个乡镇");
            goto fail;
        }
        json_array_append_new(crumbs,
                              crumb("county", t->county, json_pack("{s:s}", "county", t->county)));
        json_array_append_new(crumbs, crumb("town", t->name, json_pack("{s:s}", "town", t->code)));
        if (!strcmp(level, "town")) {
            f.town_code = t->code;
            if (stats_services_ex(d, NULL, &f, STATS_DIM_ITEM, STATS_NO_MEDIAN, &groups, &ngroups,
                                  e) != 0)
                goto fail;
            for (size_t g = 0; g < ngroups && g < DASH_MAX_ROWS; g++) {
                char name[256] = "";
                db_stmt *s = db_query(d, e, "SELECT name FROM catalog_items WHERE code = $1", "s",
                                      groups[g].key);
                if (!s) goto fail;
                if (db_step(s) == DB_ROW) snprintf(name, sizeof(name), "%s", db_column_text(s, 0));
                db_reset(s);
                sums sm = {0};
                sums_add(&sm, &groups[g]);
                json_array_append_new(rows,
                                      row(groups[g].key, name[0] ? name : groups[g].key,
                                          next_of("item", "town", t->code, "item", groups[g].key),
                                          sums_cells(&sm)));
            }
            json_object_set_new(out, "columns", indicator_columns("事项"));
            total = (int64_t)ngroups;
            snprintf(title, sizeof(title), "%s · 各事项", t->name);
        } else {
            if (!q->item || !*q->item) {
                err_invalid(e, "item", "缺少 item");
                goto fail;
            }
            char name[256] = "";
            db_stmt *s =
                db_query(d, e, "SELECT name FROM catalog_items WHERE code = $1", "s", q->item);
            if (!s) goto fail;
            if (db_step(s) == DB_ROW) snprintf(name, sizeof(name), "%s", db_column_text(s, 0));
            db_reset(s);
            if (!name[0]) {
                err_notfound(e, "没有这个事项");
                goto fail;
            }
            json_array_append_new(
                crumbs,
                crumb("item", name, json_pack("{s:s, s:s}", "town", t->code, "item", q->item)));
            int64_t offset = 0;
            if (q->offset && *q->offset) {
                char *end = NULL;
                long long v = strtoll(q->offset, &end, 10);
                if (*end || strspn(q->offset, "0123456789") != strlen(q->offset) || v < 0 ||
                    v > 1000000000LL) {
                    err_invalid(e, "offset", "offset 应为 0–1000000000 的整数");
                    goto fail;
                }
                offset = v;
            }
            if (case_rows(d, t->code, q->item, from_iso, to_iso, offset, rows, &total, e) != 0)
                goto fail;
            json_object_set_new(out, "offset", json_integer(offset));
            json_object_set_new(out, "limit", json_integer(DASH_MAX_ROWS));
            json_object_set_new(
                out, "columns",
                json_pack("[{s:s,s:s,s:s},{s:s,s:s,s:s},{s:s,s:s,s:s},{s:s,s:s,s:s},"
                          "{s:s,s:s,s:s},{s:s,s:s,s:s},{s:s,s:s,s:s},{s:s,s:s,s:s}]",
                          "key", "case_no", "label", "受理编号", "unit", "", "key", "status",
                          "label", "状态", "unit", "", "key", "channel", "label", "渠道", "unit",
                          "", "key", "submitted_at", "label", "提交时间", "unit", "", "key",
                          "decided_at", "label", "办结时间", "unit", "", "key", "working_days",
                          "label", "办理用时", "unit", "工作日", "key", "deadline_at", "label",
                          "办结时限", "unit", "", "key", "late", "label", "超期", "unit", ""));
            snprintf(title, sizeof(title), "%s · %s · 办件", t->name, name);
        }
    }
    free(groups);
    free(towns);
    json_object_set_new(out, "level", json_string(level));
    json_object_set_new(out, "title", json_string(title));
    json_object_set_new(out, "crumbs", crumbs);
    json_object_set_new(out, "rows", rows);
    json_object_set_new(out, "total_rows", json_integer(total));
    json_object_set_new(out, "window", dash_window_json(&f, from_iso, to_iso));
    return out;
fail:
    free(groups);
    free(towns);
    json_decref(out);
    json_decref(rows);
    json_decref(crumbs);
    return NULL;
}

json_t *dash_drill(db *d, const dash_drill_query *q, int64_t now, err *e) {
    stats_filter f;
    char from_iso[32], to_iso[32], key[512], sig[256];
    if (dash_window(q->from, q->to, now, &f, from_iso, to_iso, e) != 0) return NULL;
    /* Only short, plain parameters make a key (anything else is computed and
     * refused as before). */
    const char *parts[] = {q->level, q->county, q->town, q->item, q->offset};
    size_t len = 0;
    for (size_t i = 0; i < 5; i++)
        len += parts[i] ? strlen(parts[i]) : 0;
    if (len > 300) return drill_compute(d, q, now, e);
    snprintf(key, sizeof(key), "drill|%s|%s|%s|%s|%s|%s|%s", q->level ? q->level : "",
             q->county ? q->county : "", q->town ? q->town : "", q->item ? q->item : "",
             q->offset ? q->offset : "", f.from_date, f.to_date);
    if (dash_data_sig(d, sig, sizeof(sig), e) != 0) return NULL;
    json_t *o = dash_cache_get(key, sig, now);
    if (o) return o;
    o = drill_compute(d, q, now, e);
    if (o) dash_cache_put(key, sig, now, o);
    return o;
}
