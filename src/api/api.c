/* api: the route table of the whole application and shared handler helpers. */
#include "api/api.h"
#include "base/jsonx.h"
#include "auth/auth.h"
#include "base/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GATHER(name)                                                                               \
    { name##_routes, &name##_route_count }

const http_route *api_all_routes(size_t *count) {
    static http_route *all;
    static size_t n;
    if (!all) {
        const struct {
            const http_route *routes;
            const size_t *count;
        } tables[] = {
            GATHER(api_system),  GATHER(api_session),   GATHER(api_users),    GATHER(api_audit),
            GATHER(api_events),  GATHER(api_uploads),   GATHER(api_places),   GATHER(api_catalog),
            GATHER(api_search),  GATHER(api_assistant), GATHER(api_workcal),  GATHER(api_cases),
            GATHER(api_notify),  GATHER(api_ratings),   GATHER(api_licences), GATHER(api_stats),
            GATHER(api_proofs),  GATHER(api_travel),    GATHER(api_assist),   GATHER(api_idverify),
            GATHER(api_ca),      GATHER(api_bids),      GATHER(api_auction),  GATHER(api_ocds),
            GATHER(api_opening), GATHER(api_trade),     GATHER(api_eval),     GATHER(api_dash),
            GATHER(api_screen)};
        size_t total = 0;
        for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
            total += *tables[i].count;
        all = xcalloc(total, sizeof(*all));
        for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
            for (size_t j = 0; j < *tables[i].count; j++)
                all[n++] = tables[i].routes[j];
    }
    *count = n;
    return all;
}

audit_actor api_actor(http_req *r) {
    audit_actor a = {.user_id = r->user.id,
                     .login = r->user.id ? r->user.login : "anonymous",
                     .request_id = r->request_id};
    return a;
}

void api_authenticate(http_req *r) {
    const char *secret = NULL;
    int bearer = 0;
    const char *authz = http_header(r, "Authorization");
    if (authz && strncmp(authz, "Bearer ", 7) == 0) {
        secret = authz + 7;
        bearer = 1;
    } else {
        secret = http_cookie(r, "isle_session");
    }
    if (!secret || !*secret) return;
    auth_principal p;
    err e = {0};
    if (auth_session_lookup(r->db, secret, &p, &e) != 1) return;
    /* A bearer token must not be usable as a cookie and vice versa. */
    if (bearer == p.via_cookie) return;
    r->user.id = p.user_id;
    r->user.role = p.role;
    r->user.session_id = p.session_id;
    r->user.via_cookie = p.via_cookie;
    snprintf(r->user.login, sizeof(r->user.login), "%s", p.login);
    snprintf(r->user.display_name, sizeof(r->user.display_name), "%s", p.display_name);
    snprintf(r->user.csrf, sizeof(r->user.csrf), "%s", p.csrf);
    snprintf(r->user.expires_at, sizeof(r->user.expires_at), "%s", p.expires_at);
}

json_t *api_body(http_req *r, const jsonx_field *spec, int optional) {
    json_t *body = optional && !r->body_len ? json_object() : http_json_body(r, NULL);
    if (!body) return NULL;
    err e = {0};
    if (spec && jsonx_check(body, spec, &e) != 0) {
        json_decref(body);
        http_reply_err(r, &e);
        return NULL;
    }
    return body;
}

int api_path_id(http_req *r, const char *name, const char *what, int64_t *id) {
    const char *s = http_param(r, name);
    char *end = NULL;
    long long v = s && *s ? strtoll(s, &end, 10) : 0;
    if (!s || !*s || *end || v <= 0) {
        http_reply_error(r, 404, "not_found", name, "没有这个%s", what);
        return -1;
    }
    *id = v;
    return 0;
}
