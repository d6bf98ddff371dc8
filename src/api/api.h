/* api: the HTTP ↔ domain layer. One file per domain; each exports a route
 * table. Handlers decode the request, call the domain, encode the answer —
 * nothing else (no SQL here). api.c gathers the tables for the server. */
#ifndef ISLE_API_H
#define ISLE_API_H

#include <stddef.h>

#include "http/http.h"

#define API_ROUTES(name)                                                                           \
    extern const http_route name##_routes[];                                                       \
    extern const size_t name##_route_count

API_ROUTES(api_system);
API_ROUTES(api_session);
API_ROUTES(api_users);
API_ROUTES(api_audit);
API_ROUTES(api_events);
API_ROUTES(api_uploads);
API_ROUTES(api_places);
API_ROUTES(api_search);
API_ROUTES(api_catalog);
API_ROUTES(api_assistant);
API_ROUTES(api_workcal);
API_ROUTES(api_cases);
API_ROUTES(api_notify);
API_ROUTES(api_ratings);
API_ROUTES(api_licences);
API_ROUTES(api_stats);
API_ROUTES(api_proofs);
API_ROUTES(api_travel);
API_ROUTES(api_assist);
API_ROUTES(api_idverify);
API_ROUTES(api_ca);
API_ROUTES(api_bids);
API_ROUTES(api_auction);
API_ROUTES(api_ocds);
API_ROUTES(api_opening);
API_ROUTES(api_trade);
API_ROUTES(api_eval);
API_ROUTES(api_dash);
API_ROUTES(api_screen);

/** Every route of the application, gathered once at start-up. *count gets the total.
 *  The array is static; never free it. */
const http_route *api_all_routes(size_t *count);

/** The audit actor for the request's caller. */
#include "audit/audit.h"
audit_actor api_actor(http_req *r);

/** The request's JSON body checked against spec (jsonx_check; NULL spec: any object).
 *  optional: an empty body is an empty object. NULL after replying 400/413/415. The
 *  caller owns the result. */
#include "base/jsonx.h"
json_t *api_body(http_req *r, const jsonx_field *spec, int optional);

/** The positive integer path parameter `name` ("id" for "{id}") into *id; otherwise
 *  replies 404 "没有这个<what>" naming the field and returns -1 (the handler returns). */
#include <stdint.h>
int api_path_id(http_req *r, const char *name, const char *what, int64_t *id);

/** The caller as a trade actor (trade/trade.h) with company, expert and name loaded;
 *  an anonymous caller is user_id -1 with no role (user_id 0 is the system, which
 *  counts as staff). 0, or -1 after replying the error (the handler returns).
 *  (api_trade_common.c) */
struct trade_actor;
int api_trade_actor(http_req *r, struct trade_actor *a);
/** api_body(r, spec, optional) into *body, then api_trade_actor(). 0, or -1 after
 *  replying; on success the caller owns *body. (api_trade_common.c) */
int api_trade_body(http_req *r, const jsonx_field *spec, int optional, json_t **body,
                   struct trade_actor *a);

/** Reply body with status, or e when body is NULL (a domain call that failed). Takes
 *  body's reference. (api_trade_common.c) */
void api_reply(http_req *r, int status, json_t *body, const err *e);

/** The server's session hook: resolve cookie or bearer token into r->user. */
void api_authenticate(http_req *r);

#endif
