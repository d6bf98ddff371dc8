/* api_trade_common: what every trading handler needs from a request (api.h). */
#include <string.h>

#include "api/api.h"
#include "trade/trade.h"

int api_trade_actor(http_req *r, trade_actor *a) {
    memset(a, 0, sizeof(*a));
    /* user_id 0 is the system, which trade.h counts as staff: never an anonymous caller */
    a->user_id = r->user.id ? r->user.id : -1;
    a->role = r->user.id ? r->user.role : 0;
    a->audit = api_actor(r);
    if (!r->user.id) return 0;
    err e = {0};
    if (trade_actor_load(r->db, a, &e) != 0) {
        http_reply_err(r, &e);
        return -1;
    }
    return 0;
}

int api_trade_body(http_req *r, const jsonx_field *spec, int optional, json_t **body,
                   trade_actor *a) {
    *body = api_body(r, spec, optional);
    if (!*body) return -1;
    if (api_trade_actor(r, a) != 0) {
        json_decref(*body);
        *body = NULL;
        return -1;
    }
    return 0;
}

void api_reply(http_req *r, int status, json_t *body, const err *e) {
    if (!body) {
        http_reply_err(r, e);
        return;
    }
    http_reply_json(r, status, body);
}
