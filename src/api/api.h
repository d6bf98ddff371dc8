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

/** The server's session hook: resolve cookie or bearer token into r->user. */
void api_authenticate(http_req *r);

#endif
