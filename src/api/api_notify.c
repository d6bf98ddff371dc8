/* api_notify: the caller's in-app inbox (站内信) and the SMS outbox for
 * operators. Only the caller's own notifications are ever reachable through
 * /me; someone else's id answers 404. Phones in the outbox are masked.
 *
 *   GET  /api/v1/me/notifications?unread=&limit=&offset=   any logged-in user
 *   GET  /api/v1/me/notifications/unread-count
 *   POST /api/v1/me/notifications/read-all
 *   POST /api/v1/me/notifications/{id}/read
 *   GET  /api/v1/me/notification-settings                   non-essential SMS on/off, TD state
 *   PUT  /api/v1/me/notification-settings                   {"sms_optional": bool}
 *   GET  /api/v1/outbox?status=&limit=&offset=             admin, supervisor
 *   POST /api/v1/sms/receipts                               the gateway: delivery receipts
 *   POST /api/v1/sms/inbound                                the gateway: replies (TD opts out)
 * The two gateway callbacks carry no session: they are signed like the http
 * transport's requests (X-Isle-Timestamp, X-Isle-Signature, ISLE_SMS_SECRET) and
 * the signature is checked over the exact body bytes before anything is parsed. */
#include "api/api.h"
#include "base/hmac.h"
#include "notify/notify.h"

#include <stdlib.h>
#include <string.h>

/* unread=1|true|0|false; -1 after replying 400. */
static int flag_param(http_req *r, const char *name, int *out) {
    const char *v = http_query(r, name);
    *out = 0;
    if (!v || !*v || !strcmp(v, "0") || !strcmp(v, "false")) return 0;
    if (!strcmp(v, "1") || !strcmp(v, "true")) {
        *out = 1;
        return 0;
    }
    http_reply_error(r, 400, "invalid_argument", name, "%s 须为 1 或 0", name);
    return -1;
}

static void inbox_list(http_req *r) {
    int unread;
    int64_t limit, offset;
    if (flag_param(r, "unread", &unread) != 0) return;
    if (http_query_int(r, "limit", 50, 1, 200, &limit) != 0) return;
    if (http_query_int(r, "offset", 0, 0, 1000000000, &offset) != 0) return;
    err e = {0};
    json_t *out = notify_inbox_list(r->db, r->user.id, unread, (int)limit, (int)offset, &e);
    if (!out) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, out);
}

static void inbox_unread(http_req *r) {
    err e = {0};
    int64_t n = 0;
    if (notify_inbox_unread(r->db, r->user.id, &n, &e) != 0) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, json_pack("{s:I}", "unread", (json_int_t)n));
}

static void inbox_read_all(http_req *r) {
    err e = {0};
    int64_t n = 0;
    if (notify_inbox_mark_all_read(r->db, r->user.id, &n, &e) != 0) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, json_pack("{s:I, s:i}", "updated", (json_int_t)n, "unread", 0));
}

static void inbox_read(http_req *r) {
    const char *s = http_param(r, "id");
    char *end;
    long long id = s ? strtoll(s, &end, 10) : 0;
    if (!s || *end || id <= 0) {
        http_reply_error(r, 404, "not_found", "id", "没有这条通知");
        return;
    }
    err e = {0};
    json_t *n = NULL;
    if (notify_inbox_mark_read(r->db, r->user.id, id, &n, &e) != 0) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, json_pack("{s:o}", "notification", n));
}

static void outbox_list(http_req *r) {
    int64_t limit, offset;
    if (http_query_int(r, "limit", 50, 1, 500, &limit) != 0) return;
    if (http_query_int(r, "offset", 0, 0, 1000000000, &offset) != 0) return;
    const char *status = http_query(r, "status");
    err e = {0};
    json_t *out =
        notify_outbox_list(r->db, status && *status ? status : NULL, (int)limit, (int)offset, &e);
    if (!out) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, out);
}

static void settings_get(http_req *r) {
    err e = {0};
    json_t *out = notify_settings_get(r->db, r->user.id, &e);
    if (!out) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, out);
}

static void settings_put(http_req *r) {
    static const jsonx_field spec[] = {{"sms_optional", JX_BOOL, 1, 0}, {NULL, JX_ANY, 0, 0}};
    json_t *body = api_body(r, spec, 0);
    if (!body) return;
    int on = json_is_true(json_object_get(body, "sms_optional"));
    json_decref(body);
    err e = {0};
    audit_actor a = api_actor(r);
    json_t *out = NULL;
    if (notify_settings_set(r->db, &a, r->user.id, on, &out, &e) != 0) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, out);
}

/* The signature first: an unsigned body is never parsed. NULL after replying. */
static json_t *gateway_body(http_req *r) {
    err e = {0};
    if (notify_callback_verify(http_header(r, HMAC_HEADER_TIME),
                               http_header(r, HMAC_HEADER_SIGNATURE), r->body, r->body_len,
                               &e) != 0) {
        http_reply_err(r, &e);
        return NULL;
    }
    return http_json_body(r, NULL);
}

static void sms_receipts(http_req *r) {
    json_t *body = gateway_body(r);
    if (!body) return;
    err e = {0};
    json_t *out = notify_receipts_apply(r->db, body, &e);
    json_decref(body);
    if (!out) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, out);
}

static void sms_inbound(http_req *r) {
    json_t *body = gateway_body(r);
    if (!body) return;
    err e = {0};
    audit_actor a = {.user_id = 0, .login = "sms-gateway", .request_id = r->request_id};
    json_t *out = notify_inbound_apply(r->db, &a, body, &e);
    json_decref(body);
    if (!out) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, out);
}

const http_route api_notify_routes[] = {
    {M_GET, "/api/v1/me/notifications", inbox_list, ROLE_ANY, 0},
    {M_GET, "/api/v1/me/notifications/unread-count", inbox_unread, ROLE_ANY, 0},
    {M_POST, "/api/v1/me/notifications/read-all", inbox_read_all, ROLE_ANY, 0},
    {M_POST, "/api/v1/me/notifications/{id}/read", inbox_read, ROLE_ANY, 0},
    {M_GET, "/api/v1/me/notification-settings", settings_get, ROLE_ANY, 0},
    {M_PUT, "/api/v1/me/notification-settings", settings_put, ROLE_ANY, 0},
    {M_GET, "/api/v1/outbox", outbox_list, ROLE_ADMIN | ROLE_SUPERVISOR, 0},
    {M_POST, "/api/v1/sms/receipts", sms_receipts, 0, ROUTE_PUBLIC | ROUTE_NO_CSRF},
    {M_POST, "/api/v1/sms/inbound", sms_inbound, 0, ROUTE_PUBLIC | ROUTE_NO_CSRF},
};
const size_t api_notify_route_count = sizeof(api_notify_routes) / sizeof(api_notify_routes[0]);
