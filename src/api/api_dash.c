/* api_dash: 数智分析 and 无感监测 (src/dash/).
 *
 *   GET /api/v1/dash/overview?from=&to=          the city overview (大屏)
 *   GET /api/v1/dash/services?level=&county=&town=&item=&from=&to=&offset=
 *        one level of the drill-down city → county → town → item → cases (offset: the
 *        cases level in pages of DASH_MAX_ROWS)
 *   GET /api/v1/dash/services.csv and services.xlsx   the same table as a file
 *   GET /api/v1/dash/alerts?status=&limit=&offset=     无感监测 alerts
 *   GET /api/v1/dash/history?indicator=&dim=&key=&days=   daily history
 *   GET /api/v1/dash/report?year= and report.pdf?year=    the year's 数说 report
 *
 * For the people who run the city: staff, approvers, trading staff, supervisors
 * and admins (the public has the /api/v1/stats aggregates and the trading results).
 * The drill's last level lists cases by number, never the people behind them. Live
 * updates: SSE topic "dash" on /api/v1/events, published by the dashboard tick. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/timeutil.h"
#include "dash/dash.h"
#include "http/sse.h"

#define DASH_ROLES  (ROLE_STAFF | ROLE_APPROVER | ROLE_TRADING_STAFF | ROLE_SUPERVISOR | ROLE_ADMIN)
#define ALERT_ROLES (ROLE_SUPERVISOR | ROLE_ADMIN | ROLE_STAFF | ROLE_APPROVER)

static const char *param(http_req *r, const char *name) {
    const char *v = http_query(r, name);
    return v && *v ? v : NULL;
}

static void overview(http_req *r) {
    err e = {0};
    json_t *o = dash_overview(r->db, param(r, "from"), param(r, "to"), time_now(), &e);
    if (!o)
        http_reply_err(r, &e);
    else
        http_reply_json(r, 200, o);
}

static json_t *drill(http_req *r, err *e) {
    dash_drill_query q = {.level = param(r, "level"),
                          .county = param(r, "county"),
                          .town = param(r, "town"),
                          .item = param(r, "item"),
                          .from = param(r, "from"),
                          .to = param(r, "to"),
                          .offset = param(r, "offset")};
    return dash_drill(r->db, &q, time_now(), e);
}

static void services(http_req *r) {
    err e = {0};
    json_t *t = drill(r, &e);
    if (!t)
        http_reply_err(r, &e);
    else
        http_reply_json(r, 200, t);
}

/* "isle-town-330902100-2026-01-01_2026-12-31.xlsx" */
static void disposition(http_req *r, json_t *t, const char *ext) {
    json_t *w = json_object_get(t, "window");
    const char *level = json_string_value(json_object_get(t, "level"));
    const char *key = param(r, "item")   ? param(r, "item")
                      : param(r, "town") ? param(r, "town")
                                         : "";
    char name[200], hdr[260];
    snprintf(name, sizeof(name), "isle-%s%s%s-%s_%s.%s", level ? level : "city", *key ? "-" : "",
             key, json_string_value(json_object_get(w, "from")),
             json_string_value(json_object_get(w, "to")), ext);
    /* Only safe characters reach the header. */
    for (char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            *p = '_';
    snprintf(hdr, sizeof(hdr), "attachment; filename=\"%s\"", name);
    http_set_header(r, "Content-Disposition", hdr);
}

static void services_csv(http_req *r) {
    err e = {0};
    json_t *t = drill(r, &e);
    char *csv = NULL;
    size_t len = 0;
    if (!t || dash_table_csv(t, &csv, &len, &e) != 0) {
        json_decref(t);
        http_reply_err(r, &e);
        return;
    }
    disposition(r, t, "csv");
    http_reply_bytes(r, 200, "text/csv; charset=utf-8", csv, len);
    free(csv);
    json_decref(t);
}

static void services_xlsx(http_req *r) {
    err e = {0};
    json_t *t = drill(r, &e);
    unsigned char *x = NULL;
    size_t len = 0;
    if (!t || dash_table_xlsx(t, &x, &len, &e) != 0) {
        json_decref(t);
        http_reply_err(r, &e);
        return;
    }
    disposition(r, t, "xlsx");
    http_reply_bytes(r, 200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", x,
                     len);
    free(x);
    json_decref(t);
}

static void alerts(http_req *r) {
    int64_t limit, offset;
    if (http_query_int(r, "limit", 50, 1, 200, &limit) != 0 ||
        http_query_int(r, "offset", 0, 0, 1000000, &offset) != 0)
        return;
    err e = {0};
    json_t *o = dash_alerts_list(r->db, param(r, "status"), (int)limit, (int)offset, &e);
    if (!o)
        http_reply_err(r, &e);
    else
        http_reply_json(r, 200, o);
}

static void history(http_req *r) {
    int64_t days;
    if (http_query_int(r, "days", 90, 1, 3660, &days) != 0) return;
    const char *dim = param(r, "dim");
    if (dim && strcmp(dim, "town")) {
        http_reply_error(r, 400, "invalid_argument", "dim", "dim 只能为 town（不填为全市）");
        return;
    }
    err e = {0};
    json_t *o =
        dash_history(r->db, param(r, "indicator"), dim, param(r, "key"), (int)days, time_now(), &e);
    if (!o)
        http_reply_err(r, &e);
    else
        http_reply_json(r, 200, o);
}

static int year_of(http_req *r, int *year) {
    int64_t y;
    char now_y[8];
    char iso[32];
    time_iso(iso, sizeof(iso), time_now() + 8 * 3600);
    memcpy(now_y, iso, 4);
    now_y[4] = '\0';
    if (http_query_int(r, "year", (int64_t)strtol(now_y, NULL, 10), 2000, 2100, &y) != 0) return -1;
    *year = (int)y;
    return 0;
}

static void report_json(http_req *r) {
    int year;
    if (year_of(r, &year) != 0) return;
    err e = {0};
    json_t *o = dash_report(r->db, year, time_now(), &e);
    if (!o)
        http_reply_err(r, &e);
    else
        http_reply_json(r, 200, o);
}

static void report_pdf(http_req *r) {
    int year;
    if (year_of(r, &year) != 0) return;
    err e = {0};
    json_t *o = dash_report(r->db, year, time_now(), &e);
    unsigned char *pdf = NULL;
    size_t len = 0;
    if (!o || dash_report_pdf(o, &pdf, &len, &e) != 0) {
        json_decref(o);
        http_reply_err(r, &e);
        return;
    }
    char hdr[80];
    snprintf(hdr, sizeof(hdr), "attachment; filename=\"isle-report-%d.pdf\"", year);
    http_set_header(r, "Content-Disposition", hdr);
    http_reply_bytes(r, 200, "application/pdf", pdf, len);
    free(pdf);
    json_decref(o);
}

static void publish(const char *topic, const char *event, const char *data) {
    sse_publish(topic, event, data, NULL);
}

__attribute__((constructor)) static void set_hook(void) {
    dash_set_publish_hook(publish);
}

const http_route api_dash_routes[] = {
    {M_GET, "/api/v1/dash/overview", overview, DASH_ROLES, 0, 0, NULL},
    {M_GET, "/api/v1/dash/services", services, DASH_ROLES, 0, 0, NULL},
    {M_GET, "/api/v1/dash/services.csv", services_csv, DASH_ROLES, 0, 0, NULL},
    {M_GET, "/api/v1/dash/services.xlsx", services_xlsx, DASH_ROLES, 0, 0, NULL},
    {M_GET, "/api/v1/dash/alerts", alerts, ALERT_ROLES, 0, 0, NULL},
    {M_GET, "/api/v1/dash/history", history, DASH_ROLES, 0, 0, NULL},
    {M_GET, "/api/v1/dash/report", report_json, DASH_ROLES, 0, 0, NULL},
    {M_GET, "/api/v1/dash/report.pdf", report_pdf, DASH_ROLES, 0, 0, NULL},
};
const size_t api_dash_route_count = sizeof(api_dash_routes) / sizeof(api_dash_routes[0]);
