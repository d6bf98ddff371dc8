/* api_system: health, metrics, roles. */
#include "api/api.h"
#include "base/strbuf.h"
#include "http/metrics.h"
#include "search/search.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

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
    uint64_t hits, misses;
    search_cache_stats(&hits, &misses);
    strbuf_printf(&b,
                  "# HELP isle_search_cache_total Search API answers by cache outcome.\n"
                  "# TYPE isle_search_cache_total counter\n"
                  "isle_search_cache_total{outcome=\"hit\"} %llu\n"
                  "isle_search_cache_total{outcome=\"miss\"} %llu\n",
                  (unsigned long long)hits, (unsigned long long)misses);
    http_reply_bytes(r, 200, "text/plain; version=0.0.4; charset=utf-8", strbuf_str(&b), b.len);
    strbuf_free(&b);
}

/* The role list never changes while running: encode it once. */
static char *roles_json;
static size_t roles_len;
static pthread_once_t roles_once = PTHREAD_ONCE_INIT;

static void roles_build(void) {
    json_t *items = json_array();
    for (int i = 0; i < ROLE_COUNT; i++)
        json_array_append_new(items, json_pack("{s:s, s:s}", "role", role_name(role_at(i)), "name",
                                               role_label_zh(role_at(i))));
    json_t *doc = json_pack("{s:o}", "items", items);
    roles_json = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    roles_len = roles_json ? strlen(roles_json) : 0;
    json_decref(doc);
}

static void roles(http_req *r) {
    pthread_once(&roles_once, roles_build);
    if (!roles_json) {
        http_reply_error(r, 500, "internal", "", "系统内部错误");
        return;
    }
    http_reply_bytes(r, 200, "application/json; charset=utf-8", roles_json, roles_len);
}

const http_route api_system_routes[] = {
    {M_GET, "/healthz", healthz, 0, ROUTE_PUBLIC},
    {M_GET, "/metrics", metrics, 0, ROUTE_PUBLIC},
    {M_GET, "/api/v1/roles", roles, 0, ROUTE_PUBLIC},
};
const size_t api_system_route_count = sizeof(api_system_routes) / sizeof(api_system_routes[0]);
