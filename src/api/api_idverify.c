/* api_idverify: identity verification (src/idverify/ tells the rules).
 *
 *   POST /api/v1/idverify            start a face verification at the provider:
 *                                    {} for oneself (residents), or {"user_id"} /
 *                                    {"name", "id_number"} (staff, approvers, agents,
 *                                    admins) → 201 {"verification", "session": {"url",
 *                                    "token", "expires_at"}}
 *   POST /api/v1/idverify/callback   the provider's result (no session: signed with
 *                                    ISLE_IDV_SECRET, checked over the exact body bytes)
 *   GET  /api/v1/idverify/{id}       the subject (full ID number), the requester, staff
 *   POST /api/v1/idverify/witness    staff: {"user_id"} or {"name", "id_number"}, "note",
 *                                    "fallback_for"?
 * The start answers 503 when no provider is configured, 502/504 when the provider
 * fails (the verification is then recorded as 'error'). */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/hmac.h"
#include "base/jsonx.h"
#include "idverify/idverify.h"

static idverify_actor actor_of(http_req *r) {
    idverify_actor a = {.user_id = r->user.id, .role = r->user.role, .audit = api_actor(r)};
    return a;
}

static idverify_subject subject_of(json_t *body) {
    idverify_subject s = {.user_id = jsonx_int(body, "user_id", 0),
                          .name = jsonx_str(body, "name"),
                          .id_number = jsonx_str(body, "id_number")};
    return s;
}

static int user_id_ok(http_req *r, json_t *body) {
    json_t *u = json_object_get(body, "user_id");
    if (u && json_is_integer(u) && json_integer_value(u) <= 0) {
        http_reply_error(r, 400, "invalid_argument", "user_id", "user_id 须为正整数");
        return 0;
    }
    return 1;
}

static void start(http_req *r) {
    static const jsonx_field spec[] = {{"user_id", JX_INT, 0, 0},
                                       {"name", JX_STRING, 0, IDVERIFY_NAME_MAX},
                                       {"id_number", JX_STRING, 0, 32},
                                       {NULL, JX_ANY, 0, 0}};
    json_t *body = api_body(r, spec, 1);
    if (!body) return;
    if (!user_id_ok(r, body)) {
        json_decref(body);
        return;
    }
    err e = {0};
    idverify_provider *p = idverify_provider_from_env(&e);
    if (!p) {
        json_decref(body);
        http_reply_err(r, &e);
        return;
    }
    idverify_actor a = actor_of(r);
    idverify_subject s = subject_of(body);
    json_t *out = NULL;
    int rc = idverify_start(r->db, p, &a, &s, &out, &e);
    idverify_provider_free(p);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 201, out);
}

static void callback(http_req *r) {
    err e = {0};
    if (idverify_callback_verify(http_header(r, HMAC_HEADER_TIME),
                                 http_header(r, HMAC_HEADER_SIGNATURE), r->body, r->body_len,
                                 &e) != 0) {
        http_reply_err(r, &e);
        return;
    }
    json_t *body = http_json_body(r, NULL);
    if (!body) return;
    audit_actor a = {.user_id = 0, .login = "idverify-provider", .request_id = r->request_id};
    json_t *out = idverify_callback(r->db, &a, body, &e);
    json_decref(body);
    if (!out) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, out);
}

static void get_one(http_req *r) {
    const char *s = http_param(r, "id");
    char *end;
    long long id = s && *s ? strtoll(s, &end, 10) : 0;
    if (!s || !*s || *end || id <= 0) {
        http_reply_error(r, 404, "not_found", "id", "没有这条核验记录");
        return;
    }
    err e = {0};
    idverify_actor a = actor_of(r);
    json_t *v = idverify_get(r->db, &a, id, &e);
    if (!v) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, json_pack("{s:o}", "verification", v));
}

static void witness(http_req *r) {
    static const jsonx_field spec[] = {
        {"user_id", JX_INT, 0, 0},       {"name", JX_STRING, 0, IDVERIFY_NAME_MAX},
        {"id_number", JX_STRING, 0, 32}, {"note", JX_STRING, 1, IDVERIFY_NOTE_MAX},
        {"fallback_for", JX_INT, 0, 0},  {NULL, JX_ANY, 0, 0}};
    json_t *body = api_body(r, spec, 0);
    if (!body) return;
    if (!user_id_ok(r, body)) {
        json_decref(body);
        return;
    }
    long long fallback = jsonx_int(body, "fallback_for", 0);
    if (json_object_get(body, "fallback_for") && fallback <= 0) {
        json_decref(body);
        http_reply_error(r, 400, "invalid_argument", "fallback_for", "fallback_for 须为正整数");
        return;
    }
    err e = {0};
    idverify_actor a = actor_of(r);
    idverify_subject s = subject_of(body);
    json_t *out = idverify_witness(r->db, &a, &s, jsonx_str(body, "note"), fallback, &e);
    json_decref(body);
    if (!out) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 201, out);
}

const http_route api_idverify_routes[] = {
    {M_POST, "/api/v1/idverify", start, ROLE_ANY, 0},
    {M_POST, "/api/v1/idverify/callback", callback, 0, ROUTE_PUBLIC | ROUTE_NO_CSRF},
    {M_POST, "/api/v1/idverify/witness", witness, ROLE_STAFF | ROLE_APPROVER, 0},
    {M_GET, "/api/v1/idverify/{id}", get_one, ROLE_ANY, 0},
};
const size_t api_idverify_route_count =
    sizeof(api_idverify_routes) / sizeof(api_idverify_routes[0]);
