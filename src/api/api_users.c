/* api_users: user administration (admin only). */
#include "api/api.h"
#include "auth/auth.h"
#include "base/jsonx.h"

#include <stdlib.h>
#include <string.h>

static void list(http_req *r) {
    int64_t limit, offset;
    if (http_query_int(r, "limit", 50, 1, 200, &limit) != 0) return;
    if (http_query_int(r, "offset", 0, 0, 1000000000, &offset) != 0) return;
    const char *role = http_query(r, "role");
    if (role && *role && !role_from_name(role)) {
        http_reply_error(r, 400, "invalid_argument", "role", "未知的角色");
        return;
    }
    const char *q = http_query(r, "q");
    if (q && strlen(q) > 64) {
        http_reply_error(r, 400, "invalid_argument", "q", "搜索文字不能超过 64 字节");
        return;
    }
    err e = {0};
    json_t *out =
        auth_user_list(r->db, role && *role ? role : NULL, q, (int)limit, (int)offset, &e);
    if (!out) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, out);
}

static void create(http_req *r) {
    static const jsonx_field spec[] = {
        {"login", JX_STRING, 1, 64},     {"password", JX_STRING, 1, 256},
        {"role", JX_STRING, 1, 32},      {"display_name", JX_STRING, 1, 128},
        {"id_number", JX_STRING, 0, 18}, {"phone", JX_STRING, 0, 20},
        {"town_code", JX_STRING, 0, 9},  {NULL}};
    json_t *body = http_json_body(r, NULL);
    if (!body) return;
    err e = {0};
    if (jsonx_check(body, spec, &e) != 0) {
        json_decref(body);
        http_reply_err(r, &e);
        return;
    }
    auth_user_input in = {.login = jsonx_str(body, "login"),
                          .password = jsonx_str(body, "password"),
                          .role = jsonx_str(body, "role"),
                          .display_name = jsonx_str(body, "display_name"),
                          .id_number = jsonx_str(body, "id_number"),
                          .phone = jsonx_str(body, "phone"),
                          .town_code = jsonx_str(body, "town_code")};
    audit_actor a = api_actor(r);
    int64_t id = 0;
    int rc = auth_user_create(r->db, &a, &in, &id, &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    json_t *user = auth_user_get(r->db, id, 0, &e);
    http_reply_json(r, 201, json_pack("{s:o}", "user", user ? user : json_null()));
}

static void get(http_req *r) {
    int64_t id;
    if (api_path_id(r, "id", "用户", &id) != 0) return;
    err e = {0};
    json_t *user = auth_user_get(r->db, id, 0, &e);
    if (!user) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, json_pack("{s:o}", "user", user));
}

static void patch(http_req *r) {
    static const jsonx_field spec[] = {{"role", JX_STRING, 0, 32},
                                       {"display_name", JX_STRING, 0, 128},
                                       {"disabled", JX_BOOL, 0, 0},
                                       {"town_code", JX_STRING, 0, 9},
                                       {NULL}};
    int64_t id;
    if (api_path_id(r, "id", "用户", &id) != 0) return;
    json_t *body = http_json_body(r, NULL);
    if (!body) return;
    err e = {0};
    if (jsonx_check(body, spec, &e) != 0) {
        json_decref(body);
        http_reply_err(r, &e);
        return;
    }
    if (id == r->user.id &&
        (jsonx_bool(body, "disabled", 0) ||
         (jsonx_str(body, "role") && strcmp(jsonx_str(body, "role"), "admin")))) {
        json_decref(body);
        http_reply_error(r, 409, "conflict", "disabled", "管理员不能停用或降级自己的账号");
        return;
    }
    auth_user_patch p = {.role = jsonx_str(body, "role"),
                         .display_name = jsonx_str(body, "display_name"),
                         .town_code = jsonx_str(body, "town_code"),
                         .disabled = jsonx_bool(body, "disabled", -1)};
    audit_actor a = api_actor(r);
    int rc = auth_user_update(r->db, &a, id, &p, &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    json_t *user = auth_user_get(r->db, id, 0, &e);
    http_reply_json(r, 200, json_pack("{s:o}", "user", user ? user : json_null()));
}

const http_route api_users_routes[] = {
    {M_GET, "/api/v1/users", list, ROLE_ADMIN, 0},
    {M_POST, "/api/v1/users", create, ROLE_ADMIN, 0},
    {M_GET, "/api/v1/users/{id}", get, ROLE_ADMIN, 0},
    {M_PATCH, "/api/v1/users/{id}", patch, ROLE_ADMIN, 0},
};
const size_t api_users_route_count = sizeof(api_users_routes) / sizeof(api_users_routes[0]);
