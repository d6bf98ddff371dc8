/* api_session: login, logout, the current session, self-registration and the
 * caller's own account. Login is rate limited per login name (5 failures per
 * 15 minutes) and per client address (30 attempts per minute). */
#include "api/api.h"
#include "auth/auth.h"
#include "base/jsonx.h"
#include "base/ratelimit.h"
#include "base/timeutil.h"
#include "http/server.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define LOGIN_FAILURES       5
#define LOGIN_FAILURE_WINDOW (15 * 60)
#define ADDRESS_ATTEMPTS     30
#define ADDRESS_WINDOW       60

static ratelimit *by_login, *by_address;
static pthread_once_t limits_once = PTHREAD_ONCE_INIT;

static void limits_init(void) {
    by_login = ratelimit_new(LOGIN_FAILURES, LOGIN_FAILURE_WINDOW);
    by_address = ratelimit_new(ADDRESS_ATTEMPTS, ADDRESS_WINDOW);
}

static json_t *session_json(http_req *r, int64_t user_id, const char *csrf, const char *expires) {
    err e = {0};
    json_t *user = auth_user_get(r->db, user_id, 1, &e);
    if (!user) return NULL;
    return json_pack("{s:o, s:s, s:s}", "user", user, "csrf_token", csrf, "expires_at", expires);
}

static void too_many(http_req *r, int wait) {
    char s[16];
    snprintf(s, sizeof(s), "%d", wait > 0 ? wait : 1);
    http_set_header(r, "Retry-After", s);
    http_reply_error(r, 429, "rate_limited", "", "登录尝试过多，请 %d 秒后再试", wait);
}

static void login(http_req *r) {
    static const jsonx_field spec[] = {{"login", JX_STRING, 1, 64},
                                       {"password", JX_STRING, 1, 256},
                                       {"token", JX_BOOL, 0, 0},
                                       {NULL}};
    json_t *body = http_json_body(r, NULL);
    if (!body) return;
    err e = {0};
    if (jsonx_check(body, spec, &e) != 0) {
        json_decref(body);
        http_reply_err(r, &e);
        return;
    }
    pthread_once(&limits_once, limits_init);
    const char *lg = jsonx_str(body, "login");
    const char *pw = jsonx_str(body, "password");
    int want_token = jsonx_bool(body, "token", 0);
    int64_t now = time_now();
    char key[96];
    snprintf(key, sizeof(key), "l:%s", lg);
    int wait = ratelimit_blocked(by_address, r->client_ip, now);
    int wait2 = ratelimit_blocked(by_login, key, now);
    if (wait2 > wait) wait = wait2;
    if (wait > 0) {
        json_decref(body);
        too_many(r, wait);
        return;
    }
    ratelimit_hit(by_address, r->client_ip, now);
    auth_session s;
    if (auth_login(r->db, lg, pw, want_token ? "token" : "cookie", r->request_id, &s, &e) != 0) {
        if (e.status == 401) ratelimit_hit(by_login, key, now);
        json_decref(body);
        http_reply_err(r, &e);
        return;
    }
    ratelimit_clear(by_login, key);
    json_decref(body);
    if (want_token) {
        json_t *user = auth_user_get(r->db, s.user_id, 1, &e);
        http_reply_json(r, 200,
                        json_pack("{s:o, s:s, s:s}", "user", user ? user : json_null(), "token",
                                  s.token, "expires_at", s.expires_at));
        return;
    }
    json_t *out = session_json(r, s.user_id, s.csrf, s.expires_at);
    http_set_session_cookie(r, s.token, AUTH_COOKIE_TTL);
    http_reply_json(r, 200, out);
}

static void session_get(http_req *r) {
    json_t *out =
        session_json(r, r->user.id, r->user.via_cookie ? r->user.csrf : "", r->user.expires_at);
    if (!out) {
        http_reply_error(r, 500, "internal", "", "无法读取用户信息");
        return;
    }
    http_reply_json(r, 200, out);
}

static void logout(http_req *r) {
    err e = {0};
    audit_actor a = api_actor(r);
    if (auth_logout(r->db, &a, r->user.session_id, &e) != 0) {
        http_reply_err(r, &e);
        return;
    }
    if (r->user.via_cookie) http_set_session_cookie(r, NULL, 0);
    http_reply_status(r, 204);
}

static void register_citizen(http_req *r) {
    static const jsonx_field spec[] = {
        {"login", JX_STRING, 1, 64},         {"password", JX_STRING, 1, 256},
        {"display_name", JX_STRING, 1, 128}, {"id_number", JX_STRING, 0, 18},
        {"phone", JX_STRING, 0, 20},         {NULL}};
    json_t *body = http_json_body(r, NULL);
    if (!body) return;
    err e = {0};
    pthread_once(&limits_once, limits_init);
    int64_t now = time_now();
    int wait = ratelimit_blocked(by_address, r->client_ip, now);
    if (wait > 0) {
        json_decref(body);
        too_many(r, wait);
        return;
    }
    ratelimit_hit(by_address, r->client_ip, now);
    if (jsonx_check(body, spec, &e) != 0) {
        json_decref(body);
        http_reply_err(r, &e);
        return;
    }
    auth_user_input in = {.login = jsonx_str(body, "login"),
                          .password = jsonx_str(body, "password"),
                          .role = "citizen",
                          .display_name = jsonx_str(body, "display_name"),
                          .id_number = jsonx_str(body, "id_number"),
                          .phone = jsonx_str(body, "phone")};
    audit_actor a = {.user_id = 0, .login = "self-registration", .request_id = r->request_id};
    int64_t id = 0;
    int rc = auth_user_create(r->db, &a, &in, &id, &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    json_t *user = auth_user_get(r->db, id, 1, &e);
    http_reply_json(r, 201, json_pack("{s:o}", "user", user ? user : json_null()));
}

static void me(http_req *r) {
    err e = {0};
    json_t *user = auth_user_get(r->db, r->user.id, 1, &e);
    if (!user) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, json_pack("{s:o}", "user", user));
}

static void me_password(http_req *r) {
    static const jsonx_field spec[] = {
        {"old_password", JX_STRING, 1, 256}, {"new_password", JX_STRING, 1, 256}, {NULL}};
    json_t *body = http_json_body(r, NULL);
    if (!body) return;
    err e = {0};
    if (jsonx_check(body, spec, &e) != 0) {
        json_decref(body);
        http_reply_err(r, &e);
        return;
    }
    if (!auth_password_ok(r->db, r->user.id, jsonx_str(body, "old_password"))) {
        json_decref(body);
        http_reply_error(r, 400, "invalid_argument", "old_password", "当前密码不正确");
        return;
    }
    audit_actor a = api_actor(r);
    int rc = auth_user_set_password(r->db, &a, r->user.id, jsonx_str(body, "new_password"),
                                    r->user.session_id, &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_status(r, 204);
}

const http_route api_session_routes[] = {
    {M_POST, "/api/v1/session", login, 0, ROUTE_PUBLIC | ROUTE_NO_CSRF},
    {M_GET, "/api/v1/session", session_get, ROLE_ANY, 0},
    {M_DELETE, "/api/v1/session", logout, ROLE_ANY, 0},
    {M_POST, "/api/v1/register", register_citizen, 0, ROUTE_PUBLIC | ROUTE_NO_CSRF},
    {M_GET, "/api/v1/me", me, ROLE_ANY, 0},
    {M_POST, "/api/v1/me/password", me_password, ROLE_ANY, 0},
};
const size_t api_session_route_count = sizeof(api_session_routes) / sizeof(api_session_routes[0]);
