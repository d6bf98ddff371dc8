/* api_places: the public, read-only places API (Zhoushan towns, islands,
 * villages, service stations). Handlers check the query parameters, call
 * src/island/places and encode the answer; no SQL here. */
#include <stddef.h>

#include "api/api.h"
#include "island/places.h"

/* Reply with the domain's object, or with its error. Steals body. */
static void reply(http_req *r, json_t *body, const err *e) {
    if (!body) {
        http_reply_err(r, e);
        return;
    }
    http_reply_json(r, 200, body);
}

/* The optional ?town= parameter: NULL when absent, else a 9-digit code.
 * Returns -1 after replying 400 when malformed. */
static int town_param(http_req *r, const char **out) {
    const char *town = http_query(r, "town");
    if (town && !places_town_code_valid(town)) {
        http_reply_error(r, 400, "invalid_argument", "town", "乡镇代码须为 9 位数字");
        return -1;
    }
    *out = town;
    return 0;
}

static void places_towns_get(http_req *r) {
    err e = {0};
    json_t *body = places_towns(r->db, &e);
    reply(r, body, &e);
}

static void places_islands_get(http_req *r) {
    err e = {0};
    json_t *body = places_islands(r->db, &e);
    reply(r, body, &e);
}

static void places_villages_get(http_req *r) {
    const char *town;
    if (town_param(r, &town) != 0) return;
    err e = {0};
    json_t *body = places_villages(r->db, town, &e);
    reply(r, body, &e);
}

static void places_stations_get(http_req *r) {
    places_station_filter f = {0};
    if (town_param(r, &f.town_code) != 0) return;
    f.island_id = http_query(r, "island");
    if (f.island_id && !places_island_id_valid(f.island_id)) {
        http_reply_error(r, 400, "invalid_argument", "island", "海岛编号须为 1–64 位 a-z 0-9 _");
        return;
    }
    f.kind = http_query(r, "kind");
    if (f.kind && !places_kind_valid(f.kind)) {
        http_reply_error(r, 400, "invalid_argument", "kind", "网点类型须为 %s、%s 或 %s",
                         PLACES_KIND_CENTRE, PLACES_KIND_STATION, PLACES_KIND_AGENT);
        return;
    }
    if (http_query_int(r, "limit", PLACES_DEFAULT_LIMIT, 1, PLACES_MAX_LIMIT, &f.limit) != 0)
        return;
    if (http_query_int(r, "offset", 0, 0, 1000000, &f.offset) != 0) return;
    err e = {0};
    json_t *body = places_stations(r->db, &f, &e);
    reply(r, body, &e);
}

const http_route api_places_routes[] = {
    {M_GET, "/api/v1/places/towns", places_towns_get, 0, ROUTE_PUBLIC, 0, NULL},
    {M_GET, "/api/v1/places/islands", places_islands_get, 0, ROUTE_PUBLIC, 0, NULL},
    {M_GET, "/api/v1/places/villages", places_villages_get, 0, ROUTE_PUBLIC, 0, NULL},
    {M_GET, "/api/v1/places/stations", places_stations_get, 0, ROUTE_PUBLIC, 0, NULL},
};
const size_t api_places_route_count = sizeof(api_places_routes) / sizeof(api_places_routes[0]);
