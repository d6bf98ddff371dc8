/* api_opening: the remote opening hall (不见面开标). Handlers decode, call
 * src/trade/opening, encode; no SQL here.
 *
 *   GET  /api/v1/trade/tenders/{id}/hall              hall state for the caller (anyone,
 *                                                     anonymous watchers too)
 *   POST /api/v1/trade/tenders/{id}/hall/{action}     start signin begin_decrypt reveal
 *                                                     backup_reveal close_decrypt
 *                                                     open_objections object reply
 *                                                     begin_confirm confirm close
 *   GET  /api/v1/trade/tenders/{id}/hall/events?after=SEQ&limit=N   catch-up (anyone)
 *   GET  /api/v1/trade/tenders/{id}/hall/live         SSE stream of topic tender.<id>
 *                                                     (anyone; /api/v1/events/tender.<id>
 *                                                     serves logged-in users too)
 *   GET  /api/v1/trade/tenders/{id}/hall/record.pdf   the opening record (after
 *                                                     begin_confirm); headers
 *                                                     X-Record-SHA256, X-Record-Signature
 *
 * The trade module's hall events are published on the SSE hub through the hook this
 * file sets when the program starts (as api_assist.c does for agents' tasks). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "auth/roles.h"
#include "base/jsonx.h"
#include "http/sse.h"
#include "trade/opening.h"

static void publish_hall(const char *topic, const char *event, const char *data_json) {
    sse_publish(topic, event, data_json, NULL);
}

__attribute__((constructor)) static void api_opening_init(void) {
    trade_set_publish_hook(publish_hall);
}

/* The caller as a trade actor; *out NULL for anonymous watchers (opening.h's rule). */
static int actor_for(http_req *r, trade_actor *a, const trade_actor **out) {
    *out = NULL;
    if (api_trade_actor(r, a) != 0) return -1;
    if (r->user.id) *out = a;
    return 0;
}

/* The tender id, then the caller (actor_for). 0, or -1 after answering. */
static int begin(http_req *r, int64_t *id, trade_actor *a, const trade_actor **out) {
    if (api_path_id(r, "id", "项目", id) != 0) return -1;
    return actor_for(r, a, out);
}

/* A view of the hall: never cached, it changes with every event. */
static void reply_live(http_req *r, json_t *o, const err *e) {
    if (!o) {
        http_reply_err(r, e);
        return;
    }
    http_set_header(r, "Cache-Control", "no-store");
    http_reply_json(r, 200, o);
}

static void hall_get(http_req *r) {
    int64_t id;
    trade_actor a;
    const trade_actor *ap;
    if (begin(r, &id, &a, &ap) != 0) return;
    err e = {0};
    reply_live(r, opening_get(r->db, ap, id, &e), &e);
}

static void hall_act(http_req *r) {
    int64_t id;
    trade_actor a;
    const trade_actor *ap;
    if (begin(r, &id, &a, &ap) != 0) return;
    json_t *body = api_body(r, NULL, 1);
    if (!body) return;
    err e = {0};
    json_t *out = NULL;
    int rc = opening_act(r->db, ap, id, http_param(r, "action"), body, &out, &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, out);
}

static void hall_events(http_req *r) {
    int64_t id, after, limit;
    if (api_path_id(r, "id", "项目", &id) != 0) return;
    /* seq is a 32-bit column on PostgreSQL */
    if (http_query_int(r, "after", 0, 0, INT32_MAX, &after) != 0) return;
    if (http_query_int(r, "limit", 500, 1, 1000, &limit) != 0) return;
    trade_actor a;
    const trade_actor *ap;
    if (actor_for(r, &a, &ap) != 0) return;
    err e = {0};
    reply_live(r, opening_events(r->db, ap, id, after, (int)limit, &e), &e);
}

static void hall_live(http_req *r) {
    int64_t id;
    trade_actor a;
    const trade_actor *ap;
    if (begin(r, &id, &a, &ap) != 0) return;
    /* The same visibility as the hall (drafts are nobody's but staff's). */
    err e = {0};
    if (opening_visible(r->db, ap, id, &e) != 0) {
        http_reply_err(r, &e);
        return;
    }
    char topic[40];
    snprintf(topic, sizeof(topic), "tender.%lld", (long long)id);
    http_sse_start(r, topic);
}

static void hall_record(http_req *r) {
    int64_t id;
    trade_actor a;
    const trade_actor *ap;
    if (begin(r, &id, &a, &ap) != 0) return;
    err e = {0};
    unsigned char *pdf = NULL;
    size_t len = 0;
    char sha[65], sig[160];
    if (opening_record_get(r->db, ap, id, &pdf, &len, sha, sig, sizeof(sig), &e) != 0) {
        http_reply_err(r, &e);
        return;
    }
    char disp[96];
    snprintf(disp, sizeof(disp), "inline; filename=\"opening-record-%lld.pdf\"", (long long)id);
    http_set_header(r, "Content-Disposition", disp);
    http_set_header(r, "X-Record-SHA256", sha);
    if (sig[0]) http_set_header(r, "X-Record-Signature", sig);
    http_reply_bytes(r, 200, "application/pdf", pdf, len);
    free(pdf);
}

#define HALL_ACT_ROLES                                                                             \
    (ROLE_TRADING_STAFF | ROLE_ADMIN | ROLE_BIDDER | ROLE_COMPANY | ROLE_SUPERVISOR)

const http_route api_opening_routes[] = {
    {M_GET, "/api/v1/trade/tenders/{id}/hall", hall_get, 0, ROUTE_PUBLIC | ROUTE_OPTIONAL_AUTH},
    {M_GET, "/api/v1/trade/tenders/{id}/hall/events", hall_events, 0,
     ROUTE_PUBLIC | ROUTE_OPTIONAL_AUTH},
    {M_GET, "/api/v1/trade/tenders/{id}/hall/live", hall_live, 0,
     ROUTE_PUBLIC | ROUTE_OPTIONAL_AUTH},
    {M_GET, "/api/v1/trade/tenders/{id}/hall/record.pdf", hall_record, 0,
     ROUTE_PUBLIC | ROUTE_OPTIONAL_AUTH},
    /* A reveal carries the plaintext (≤ 48 MiB) as base64. */
    {M_POST, "/api/v1/trade/tenders/{id}/hall/{action}", hall_act, HALL_ACT_ROLES, 0,
     66u * 1024 * 1024, "/api/v1/trade/tenders/{id}/hall/{action}"},
};
const size_t api_opening_route_count = sizeof(api_opening_routes) / sizeof(api_opening_routes[0]);
