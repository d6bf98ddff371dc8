/* api_travel: the public travel-time and service-circle API. Handlers check
 * the query parameters, ask src/island/travel and src/island/coverage (the
 * process-wide graph, loaded from the places tables at first use) and encode
 * the answer; no SQL here.
 *
 *   GET /api/v1/travel?from=&to=[&at=YYYY-MM-DD HH:MM]     public
 *   GET /api/v1/coverage[?service=&town=&at=]              public
 *   GET /api/v1/coverage/services                          public
 *
 * A missing or unknown from/to, or a malformed at, is 400 naming the field. A
 * trip with no scheduled connection (charter-only islands) is 200 with
 * "reachable": false and "arrival": null. */
#include <stddef.h>

#include "api/api.h"
#include "base/timeutil.h"
#include "island/coverage.h"
#include "island/travel.h"
#include "workcal/workcal.h"

/* The shared graph, or NULL after replying (503-ish 500 when no places are loaded). */
static const travel_graph *graph(http_req *r) {
    err e = {0};
    const travel_graph *g = travel_default(r->db, &e);
    if (!g) http_reply_err(r, &e);
    return g;
}

static void travel_get(http_req *r) {
    const char *from_s = http_query(r, "from"), *to_s = http_query(r, "to");
    const char *at_s = http_query(r, "at");
    if (!from_s || !*from_s) {
        http_reply_error(r, 400, "invalid_argument", "from",
                         "from 不能为空（出发地：海岛、乡镇、村社区或网点）");
        return;
    }
    if (!to_s || !*to_s) {
        http_reply_error(r, 400, "invalid_argument", "to",
                         "to 不能为空（目的地：海岛、乡镇、村社区或网点）");
        return;
    }
    int64_t at = time_now();
    if (at_s && workcal_local_parse(at_s, &at) != 0) {
        http_reply_error(r, 400, "invalid_argument", "at", "at 须为北京时间 YYYY-MM-DD HH:MM");
        return;
    }
    const travel_graph *g = graph(r);
    if (!g) return;
    travel_place from, to;
    err e = {0};
    if (travel_resolve(g, from_s, "from", &from, &e) != 0 ||
        travel_resolve(g, to_s, "to", &to, &e) != 0) {
        http_reply_err(r, &e);
        return;
    }
    travel_route route;
    travel_route_find(g, &from, &to, at, &route);
    json_t *body = travel_route_json(g, &from, &to, &route);
    travel_route_free(&route);
    http_reply_json(r, 200, body);
}

static void coverage_get(http_req *r) {
    coverage_query q = {.service = http_query(r, "service"),
                        .town_code = http_query(r, "town"),
                        .at = http_query(r, "at")};
    if (q.service && !*q.service) q.service = NULL;
    if (q.town_code && !*q.town_code) q.town_code = NULL;
    if (q.at && !*q.at) q.at = NULL;
    err e = {0};
    const coverage_services *s = coverage_services_default(&e);
    if (!s) {
        http_reply_err(r, &e);
        return;
    }
    const travel_graph *g = graph(r);
    if (!g) return;
    json_t *body = coverage_compute(r->db, g, s, &q, &e);
    if (!body) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, body);
}

static void coverage_services_get(http_req *r) {
    err e = {0};
    const coverage_services *s = coverage_services_default(&e);
    if (!s) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, coverage_services_json(s));
}

const http_route api_travel_routes[] = {
    {M_GET, "/api/v1/travel", travel_get, 0, ROUTE_PUBLIC, 0, NULL},
    {M_GET, "/api/v1/coverage", coverage_get, 0, ROUTE_PUBLIC, 0, NULL},
    {M_GET, "/api/v1/coverage/services", coverage_services_get, 0, ROUTE_PUBLIC, 0, NULL},
};
const size_t api_travel_route_count = sizeof(api_travel_routes) / sizeof(api_travel_routes[0]);
