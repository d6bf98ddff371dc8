/* api_screen: 防围串标 in the platform (src/screen/platform.h) — supervisors and
 * admins only; bidders (and everyone else) get 403.
 *
 *   GET  /api/v1/screen/alerts?status=&limit=&offset=   the queue (default new + watch)
 *   GET  /api/v1/screen/alerts/{id}                      one alert with its evidence
 *   POST /api/v1/screen/alerts/{id}/triage               {action, reason, title, version}
 *   POST /api/v1/screen/run                              {tender_id?}: screen now
 *   GET  /api/v1/screen/cases?status=                    investigation cases (立案)
 *   GET  /api/v1/screen/cases/{id}                       a case: alerts, entries
 *   POST /api/v1/screen/cases/{id}/entries               {kind, text}
 *   POST /api/v1/screen/cases/{id}/alerts                {alert_id}
 *   POST /api/v1/screen/cases/{id}/close                 {decision}
 *   GET  /api/v1/screen/cases/{id}/dossier.pdf           the PDF dossier */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/timeutil.h"
#include "screen/platform.h"

#define SCREEN_ROLES (ROLE_SUPERVISOR | ROLE_ADMIN)

static void reply(http_req *r, int status, json_t *o, const err *e) {
    if (!o)
        http_reply_err(r, e);
    else
        http_reply_json(r, status, o);
}

static void alerts(http_req *r) {
    int64_t limit, offset;
    if (http_query_int(r, "limit", 50, 1, 200, &limit) != 0 ||
        http_query_int(r, "offset", 0, 0, 100000, &offset) != 0)
        return;
    err e = {0};
    reply(r, 200, screen_alerts_list(r->db, http_query(r, "status"), (int)limit, (int)offset, &e),
          &e);
}

static void alert_one(http_req *r) {
    int64_t id;
    if (api_path_id(r, "id", "预警", &id) != 0) return;
    err e = {0};
    reply(r, 200, screen_alert_get(r->db, id, &e), &e);
}

static void triage(http_req *r) {
    static const jsonx_field spec[] = {{"action", JX_STRING, 1, 16},
                                       {"reason", JX_STRING, 0, SCREEN_NOTE_MAX},
                                       {"title", JX_STRING, 0, 400},
                                       {"version", JX_INT, 0, 0},
                                       {NULL}};
    int64_t id;
    if (api_path_id(r, "id", "预警", &id) != 0) return;
    json_t *body = api_body(r, spec, 0);
    if (!body) return;
    audit_actor a = api_actor(r);
    err e = {0};
    int64_t case_id = 0;
    int rc =
        screen_alert_triage(r->db, &a, id, jsonx_str(body, "action"), jsonx_str(body, "reason"),
                            jsonx_str(body, "title"), jsonx_int(body, "version", 0), &case_id, &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    json_t *o = screen_alert_get(r->db, id, &e);
    if (o && case_id) json_object_set_new(o, "case_id", json_integer(case_id));
    reply(r, 200, o, &e);
}

static void run(http_req *r) {
    static const jsonx_field spec[] = {{"tender_id", JX_INT, 0, 0}, {NULL}};
    json_t *body = api_body(r, spec, 1);
    if (!body) return;
    int64_t tender = jsonx_int(body, "tender_id", 0);
    json_decref(body);
    err e = {0};
    screen_run_counts c;
    if (screen_platform_run(r->db, tender ? "manual" : "nightly", tender, time_now(), &c, &e) !=
        0) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200,
                    json_pack("{s:I, s:i, s:i, s:i}", "run_id", (json_int_t)c.run_id, "tenders",
                              c.tenders, "flagged", c.flagged, "new_alerts", c.new_alerts));
}

static void cases(http_req *r) {
    int64_t limit, offset;
    if (http_query_int(r, "limit", 50, 1, 200, &limit) != 0 ||
        http_query_int(r, "offset", 0, 0, 100000, &offset) != 0)
        return;
    err e = {0};
    reply(r, 200, screen_cases_list(r->db, http_query(r, "status"), (int)limit, (int)offset, &e),
          &e);
}

static void case_one(http_req *r) {
    int64_t id;
    if (api_path_id(r, "id", "案件", &id) != 0) return;
    err e = {0};
    reply(r, 200, screen_case_get(r->db, id, &e), &e);
}

static void case_after(http_req *r, int64_t id, int rc, const err *e0) {
    if (rc != 0) {
        http_reply_err(r, e0);
        return;
    }
    err e = {0};
    reply(r, 200, screen_case_get(r->db, id, &e), &e);
}

static void case_entry(http_req *r) {
    static const jsonx_field spec[] = {
        {"kind", JX_STRING, 1, 16}, {"text", JX_STRING, 1, SCREEN_NOTE_MAX}, {NULL}};
    int64_t id;
    if (api_path_id(r, "id", "案件", &id) != 0) return;
    json_t *body = api_body(r, spec, 0);
    if (!body) return;
    audit_actor a = api_actor(r);
    err e = {0};
    int rc = screen_case_add(r->db, &a, id, jsonx_str(body, "kind"), jsonx_str(body, "text"), &e);
    json_decref(body);
    case_after(r, id, rc, &e);
}

static void case_attach(http_req *r) {
    static const jsonx_field spec[] = {{"alert_id", JX_INT, 1, 0}, {NULL}};
    int64_t id;
    if (api_path_id(r, "id", "案件", &id) != 0) return;
    json_t *body = api_body(r, spec, 0);
    if (!body) return;
    audit_actor a = api_actor(r);
    err e = {0};
    int rc = screen_case_attach(r->db, &a, id, jsonx_int(body, "alert_id", 0), &e);
    json_decref(body);
    case_after(r, id, rc, &e);
}

static void case_close(http_req *r) {
    static const jsonx_field spec[] = {{"decision", JX_STRING, 1, SCREEN_NOTE_MAX}, {NULL}};
    int64_t id;
    if (api_path_id(r, "id", "案件", &id) != 0) return;
    json_t *body = api_body(r, spec, 0);
    if (!body) return;
    audit_actor a = api_actor(r);
    err e = {0};
    int rc = screen_case_close(r->db, &a, id, jsonx_str(body, "decision"), &e);
    json_decref(body);
    case_after(r, id, rc, &e);
}

static void case_pdf(http_req *r) {
    int64_t id;
    if (api_path_id(r, "id", "案件", &id) != 0) return;
    err e = {0};
    unsigned char *pdf = NULL;
    size_t len = 0;
    if (screen_case_pdf(r->db, id, &pdf, &len, &e) != 0) {
        http_reply_err(r, &e);
        return;
    }
    char disp[80];
    snprintf(disp, sizeof(disp), "attachment; filename=\"screen-case-%lld.pdf\"", (long long)id);
    http_set_header(r, "Content-Disposition", disp);
    http_reply_bytes(r, 200, "application/pdf", pdf, len);
    free(pdf);
}

const http_route api_screen_routes[] = {
    {M_GET, "/api/v1/screen/alerts", alerts, SCREEN_ROLES, 0, 0, NULL},
    {M_GET, "/api/v1/screen/alerts/{id}", alert_one, SCREEN_ROLES, 0, 0, NULL},
    {M_POST, "/api/v1/screen/alerts/{id}/triage", triage, SCREEN_ROLES, 0, 0, NULL},
    {M_POST, "/api/v1/screen/run", run, SCREEN_ROLES, 0, 0, NULL},
    {M_GET, "/api/v1/screen/cases", cases, SCREEN_ROLES, 0, 0, NULL},
    {M_GET, "/api/v1/screen/cases/{id}", case_one, SCREEN_ROLES, 0, 0, NULL},
    {M_POST, "/api/v1/screen/cases/{id}/entries", case_entry, SCREEN_ROLES, 0, 0, NULL},
    {M_POST, "/api/v1/screen/cases/{id}/alerts", case_attach, SCREEN_ROLES, 0, 0, NULL},
    {M_POST, "/api/v1/screen/cases/{id}/close", case_close, SCREEN_ROLES, 0, 0, NULL},
    {M_GET, "/api/v1/screen/cases/{id}/dossier.pdf", case_pdf, SCREEN_ROLES, 0, 0, NULL},
};
const size_t api_screen_route_count = sizeof(api_screen_routes) / sizeof(api_screen_routes[0]);
