/* api_ca: the CA trust store (统一CA互认), bidders' certificates and
 * challenge–response certificate login. Handlers decode, call src/trade/ca, encode.
 *
 *   GET   /api/v1/ca/roots              trusted roots (public; staff also see disabled ones)
 *   POST  /api/v1/ca/roots              {"pem","name","home"} add a root (trading staff, admin)
 *   PATCH /api/v1/ca/roots/{id}         {"disabled"} stop / resume trusting (trading staff, admin)
 *   POST  /api/v1/ca/crls               {"pem"} import a CRL (trading staff, admin)
 *   GET   /api/v1/ca/stats?from=&to=    certificate logins, share from other CAs (staff,
 * supervisor) POST  /api/v1/trade/certs           {"certificate"} register a certificate (bidder,
 * company) GET   /api/v1/trade/certs/me        the caller's certificates POST
 * /api/v1/auth/cert/challenge   → {"nonce","message","expires_at"} (no login) POST
 * /api/v1/auth/cert/login       {"nonce","certificate","signature","token"} → a session, as POST
 * /api/v1/session answers
 *
 * Certificate login is rate limited like password login: 30 attempts a minute per
 * client address, 5 failures per 15 minutes per certificate. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "auth/auth.h"
#include "auth/roles.h"
#include "base/crypto.h"
#include "base/jsonx.h"
#include "base/ratelimit.h"
#include "base/timeutil.h"
#include "http/server.h"
#include "trade/ca.h"

#define CA_STAFF       (ROLE_TRADING_STAFF | ROLE_ADMIN)
#define CERT_FAILURES  5
#define CERT_WINDOW    (15 * 60)
#define ADDRESS_TRIES  30
#define ADDRESS_WINDOW 60

static ratelimit *by_cert, *by_address, *challenges_by_address;
static pthread_once_t limits_once = PTHREAD_ONCE_INIT;

static void limits_init(void) {
    by_cert = ratelimit_new(CERT_FAILURES, CERT_WINDOW);
    by_address = ratelimit_new(ADDRESS_TRIES, ADDRESS_WINDOW);
    challenges_by_address = ratelimit_new(ADDRESS_TRIES, ADDRESS_WINDOW);
}

static void too_many(http_req *r, int wait) {
    char s[16];
    snprintf(s, sizeof(s), "%d", wait > 0 ? wait : 1);
    http_set_header(r, "Retry-After", s);
    http_reply_error(r, 429, "rate_limited", "", "登录尝试过多，请 %d 秒后再试", wait);
}

static void roots_list(http_req *r) {
    err e = {0};
    int staff = r->user.id && http_has_role(r, CA_STAFF);
    json_t *items = ca_roots_list(r->db, staff, &e);
    if (!items) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, json_pack("{s:o}", "items", items));
}

/* The element of items whose "id" is id (a new reference), or NULL; items (NULL
 * accepted) is released. */
static json_t *take_by_id(json_t *items, int64_t id) {
    json_t *found = NULL;
    size_t i;
    json_t *v;
    json_array_foreach(items, i, v) {
        if (json_integer_value(json_object_get(v, "id")) == id) found = json_incref(v);
    }
    json_decref(items);
    return found;
}

static void roots_add(http_req *r) {
    static const jsonx_field spec[] = {{"pem", JX_STRING, 1, CA_PEM_MAX},
                                       {"name", JX_STRING, 0, CA_NAME_MAX},
                                       {"home", JX_BOOL, 0, 0},
                                       {NULL}};
    json_t *body;
    trade_actor a;
    if (api_trade_body(r, spec, 0, &body, &a) != 0) return;
    err e = {0};
    json_t *out = NULL;
    const char *pem = jsonx_str(body, "pem");
    int rc = ca_root_add(r->db, &a, pem, strlen(pem), jsonx_str(body, "name"),
                         jsonx_bool(body, "home", 0), &out, &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 201, json_pack("{s:o}", "root", out ? out : json_null()));
}

static void roots_patch(http_req *r) {
    static const jsonx_field spec[] = {{"disabled", JX_BOOL, 1, 0}, {NULL}};
    int64_t id;
    if (api_path_id(r, "id", "根证书", &id) != 0) return;
    json_t *body;
    trade_actor a;
    if (api_trade_body(r, spec, 0, &body, &a) != 0) return;
    err e = {0};
    int rc = ca_root_disable(r->db, &a, id, jsonx_bool(body, "disabled", 0), &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    json_t *found = take_by_id(ca_roots_list(r->db, 1, &e), id);
    http_reply_json(r, 200, json_pack("{s:o}", "root", found ? found : json_null()));
}

static void crls_add(http_req *r) {
    static const jsonx_field spec[] = {{"pem", JX_STRING, 1, CA_CRL_MAX}, {NULL}};
    json_t *body;
    trade_actor a;
    if (api_trade_body(r, spec, 0, &body, &a) != 0) return;
    err e = {0};
    json_t *out = NULL;
    const char *pem = jsonx_str(body, "pem");
    int rc = ca_crl_add(r->db, &a, pem, strlen(pem), &out, &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 201, json_pack("{s:o}", "crl", out));
}

static void stats(http_req *r) {
    const char *from = http_query(r, "from"), *to = http_query(r, "to");
    int64_t t;
    if (from && *from && strlen(from) != 10 && time_parse_iso(from, &t) != 0) {
        http_reply_error(r, 400, "invalid_argument", "from", "from 应为日期或 ISO-8601 时间");
        return;
    }
    if (to && *to && strlen(to) != 10 && time_parse_iso(to, &t) != 0) {
        http_reply_error(r, 400, "invalid_argument", "to", "to 应为日期或 ISO-8601 时间");
        return;
    }
    if ((from && strlen(from) > 32) || (to && strlen(to) > 32)) {
        http_reply_error(r, 400, "invalid_argument", "from", "时间过长");
        return;
    }
    err e = {0};
    json_t *out = ca_stats(r->db, from, to, &e);
    if (!out) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, out);
}

static json_t *cert_by_id(http_req *r, int64_t user_id, int64_t id) {
    err e = {0};
    return take_by_id(ca_user_certs(r->db, user_id, &e), id);
}

static void certs_register(http_req *r) {
    static const jsonx_field spec[] = {{"certificate", JX_STRING, 1, CA_PEM_MAX}, {NULL}};
    json_t *body;
    trade_actor a;
    if (api_trade_body(r, spec, 0, &body, &a) != 0) return;
    err e = {0};
    int64_t id = 0;
    const char *pem = jsonx_str(body, "certificate");
    int rc = ca_cert_register(r->db, &a, pem, strlen(pem), &id, &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    json_t *c = cert_by_id(r, r->user.id, id);
    http_reply_json(r, 201, json_pack("{s:o}", "cert", c ? c : json_null()));
}

static void certs_me(http_req *r) {
    err e = {0};
    json_t *items = ca_user_certs(r->db, r->user.id, &e);
    if (!items) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, json_pack("{s:o}", "items", items));
}

static void challenge(http_req *r) {
    pthread_once(&limits_once, limits_init);
    int64_t now = time_now();
    int wait = ratelimit_blocked(challenges_by_address, r->client_ip, now);
    if (wait > 0) {
        too_many(r, wait);
        return;
    }
    ratelimit_hit(challenges_by_address, r->client_ip, now);
    char nonce[64], exp_s[32], msg[128];
    int64_t exp = 0;
    err e = {0};
    if (ca_challenge_new(r->db, nonce, sizeof(nonce), &exp, &e) != 0) {
        http_reply_err(r, &e);
        return;
    }
    time_iso(exp_s, sizeof(exp_s), exp);
    snprintf(msg, sizeof(msg), "%s%s", CA_LOGIN_PREFIX, nonce);
    http_reply_json(
        r, 201, json_pack("{s:s, s:s, s:s}", "nonce", nonce, "message", msg, "expires_at", exp_s));
}

static void cert_login(http_req *r) {
    static const jsonx_field spec[] = {{"nonce", JX_STRING, 1, 64},
                                       {"certificate", JX_STRING, 1, CA_PEM_MAX},
                                       {"signature", JX_STRING, 1, CA_SIG_B64_MAX},
                                       {"token", JX_BOOL, 0, 0},
                                       {NULL}};
    json_t *body = api_body(r, spec, 0);
    if (!body) return;
    pthread_once(&limits_once, limits_init);
    const char *pem = jsonx_str(body, "certificate");
    int want_token = jsonx_bool(body, "token", 0);
    /* Failures count per certificate (by the hash of what was sent). */
    char key[80] = "c:";
    crypto_sha256_hex(pem, strlen(pem), key + 2);
    int64_t now = time_now();
    int wait = ratelimit_blocked(by_address, r->client_ip, now);
    int wait2 = ratelimit_blocked(by_cert, key, now);
    if (wait2 > wait) wait = wait2;
    if (wait > 0) {
        json_decref(body);
        too_many(r, wait);
        return;
    }
    ratelimit_hit(by_address, r->client_ip, now);
    err e = {0};
    auth_session s;
    int rc = ca_login_session(r->db, jsonx_str(body, "nonce"), pem, jsonx_str(body, "signature"),
                              r->client_ip, want_token ? "token" : "cookie", r->request_id, &s, &e);
    json_decref(body);
    if (rc != 0) {
        if (e.status == 401 || e.status == 422) ratelimit_hit(by_cert, key, now);
        http_reply_err(r, &e);
        return;
    }
    ratelimit_clear(by_cert, key);
    json_t *user = auth_user_get(r->db, s.user_id, 1, &e);
    if (want_token) {
        http_reply_json(r, 200,
                        json_pack("{s:o, s:s, s:s}", "user", user ? user : json_null(), "token",
                                  s.token, "expires_at", s.expires_at));
        return;
    }
    http_set_session_cookie(r, s.token, AUTH_COOKIE_TTL);
    http_reply_json(r, 200,
                    json_pack("{s:o, s:s, s:s}", "user", user ? user : json_null(), "csrf_token",
                              s.csrf, "expires_at", s.expires_at));
}

const http_route api_ca_routes[] = {
    {M_GET, "/api/v1/ca/roots", roots_list, 0, ROUTE_PUBLIC | ROUTE_OPTIONAL_AUTH},
    {M_POST, "/api/v1/ca/roots", roots_add, CA_STAFF, 0, 256 * 1024},
    {M_PATCH, "/api/v1/ca/roots/{id}", roots_patch, CA_STAFF, 0},
    {M_POST, "/api/v1/ca/crls", crls_add, CA_STAFF, 0, 3 * CA_CRL_MAX},
    {M_GET, "/api/v1/ca/stats", stats, ROLE_TRADING_STAFF | ROLE_ADMIN | ROLE_SUPERVISOR, 0},
    {M_POST, "/api/v1/trade/certs", certs_register, ROLE_BIDDER | ROLE_COMPANY, 0, 256 * 1024},
    {M_GET, "/api/v1/trade/certs/me", certs_me, ROLE_ANY, 0},
    {M_POST, "/api/v1/auth/cert/challenge", challenge, 0, ROUTE_PUBLIC | ROUTE_NO_CSRF},
    {M_POST, "/api/v1/auth/cert/login", cert_login, 0, ROUTE_PUBLIC | ROUTE_NO_CSRF, 256 * 1024},
};
const size_t api_ca_route_count = sizeof(api_ca_routes) / sizeof(api_ca_routes[0]);
