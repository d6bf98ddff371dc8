/* api_auction: online ascending auctions of asset sales (网络竞价). Handlers
 * decode, call src/trade/auction, encode; no SQL here.
 *
 *   GET  /api/v1/trade/tenders/{id}/auction          the state (public; a bidding
 *                                                    company also sees its own position)
 *   POST /api/v1/trade/tenders/{id}/auction/bids     {"amount": yuan} or {"amount_fen": n}
 *                                                    (bidder, company)
 *   POST /api/v1/trade/tenders/{id}/auction/close    after the end (trading staff, admin)
 *
 * Live updates: events "auction_bid", "auction_started", "auction_result" on the SSE
 * topic tender.<id> (GET /api/v1/events/tender.<id>), also kept in the tender's event
 * log. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "auth/roles.h"
#include "base/jsonx.h"
#include "base/timeutil.h"
#include "trade/auction.h"

static void auction_get_h(http_req *r) {
    int64_t id;
    trade_actor a;
    if (api_path_id(r, "id", "项目", &id) != 0 || api_trade_actor(r, &a) != 0) return;
    err e = {0};
    json_t *st = auction_get(r->db, &a, id, time_now(), &e);
    if (!st) {
        http_reply_err(r, &e);
        return;
    }
    http_set_header(r, "Cache-Control", "no-store");
    http_reply_json(r, 200, st);
}

static void auction_bid_h(http_req *r) {
    static const jsonx_field spec[] = {
        {"amount", JX_ANY, 0, 0}, {"amount_fen", JX_INT, 0, 0}, {NULL}};
    int64_t id;
    if (api_path_id(r, "id", "项目", &id) != 0) return;
    json_t *body = api_body(r, spec, 0);
    if (!body) return;
    json_t *amount = json_object_get(body, "amount"), *fen = json_object_get(body, "amount_fen");
    int has_amount = amount && !json_is_null(amount), has_fen = fen && !json_is_null(fen);
    err e = {0};
    int64_t amount_fen = 0;
    if (has_amount == has_fen) {
        json_decref(body);
        http_reply_error(r, 400, "invalid_argument", "amount", "请给出报价 amount（元）");
        return;
    }
    if (has_fen) {
        amount_fen = json_integer_value(fen);
    } else if (trade_money_from_json(amount, "amount", &amount_fen, &e) != 0) {
        json_decref(body);
        http_reply_err(r, &e);
        return;
    }
    json_decref(body);
    trade_actor a;
    if (api_trade_actor(r, &a) != 0) return;
    json_t *st = NULL;
    if (auction_bid(r->db, &a, id, amount_fen, r->client_ip, &st, &e) != 0) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 201, st);
}

static void auction_close_h(http_req *r) {
    int64_t id;
    if (api_path_id(r, "id", "项目", &id) != 0) return;
    json_t *body = api_body(r, NULL, 1);
    if (!body) return;
    json_decref(body);
    trade_actor a;
    if (api_trade_actor(r, &a) != 0) return;
    err e = {0};
    json_t *st = NULL;
    if (auction_close(r->db, &a, id, &st, &e) != 0) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, st);
}

const http_route api_auction_routes[] = {
    {M_GET, "/api/v1/trade/tenders/{id}/auction", auction_get_h, 0,
     ROUTE_PUBLIC | ROUTE_OPTIONAL_AUTH, 0, NULL},
    {M_POST, "/api/v1/trade/tenders/{id}/auction/bids", auction_bid_h, ROLE_BIDDER | ROLE_COMPANY,
     0, 4096, NULL},
    {M_POST, "/api/v1/trade/tenders/{id}/auction/close", auction_close_h,
     ROLE_TRADING_STAFF | ROLE_ADMIN, 0, 4096, NULL},
};
const size_t api_auction_route_count = sizeof(api_auction_routes) / sizeof(api_auction_routes[0]);
