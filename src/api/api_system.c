/* api_system: health, metrics, roles. */
#include "api/api.h"
#include "base/strbuf.h"
#include "http/metrics.h"

#include <stdlib.h>

/* build/gen/version.c, written by the Makefile from `git describe`. */
extern const char isle_version[];
#define ISLE_VERSION isle_version

static void healthz(http_req *r) {
    err e = {0};
    int64_t one = 0;
    int ok = db_query_int(r->db, &e, &one, "SELECT 1", "") == 0 && one == 1;
    http_reply_json(r, ok ? 200 : 503,
                    json_pack("{s:s, s:s, s:s}", "status", ok ? "ok" : "degraded", "version",
                              ISLE_VERSION, "db", ok ? "ok" : "error"));
}

static void metrics(http_req *r) {
    strbuf b;
    strbuf_init(&b, 16 * 1024 * 1024);
    metrics_render(&b);
    http_reply_bytes(r, 200, "text/plain; version=0.0.4; charset=utf-8", strbuf_str(&b), b.len);
    strbuf_free(&b);
}

static void roles(http_req *r) {
    json_t *items = json_array();
    for (int i = 0; i < ROLE_COUNT; i++)
        json_array_append_new(items, json_pack("{s:s, s:s}", "role", role_name(role_at(i)), "name",
                                               role_label_zh(role_at(i))));
    http_reply_json(r, 200, json_pack("{s:o}", "items", items));
}

const http_route api_system_routes[] = {
    {M_GET, "/healthz", healthz, 0, ROUTE_PUBLIC},
    {M_GET, "/metrics", metrics, 0, ROUTE_PUBLIC},
    {M_GET, "/api/v1/roles", roles, 0, ROUTE_PUBLIC},
};
const size_t api_system_route_count = sizeof(api_system_routes) / sizeof(api_system_routes[0]);
