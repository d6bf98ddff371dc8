/* api_events: Server-Sent Events — subscribe to a topic, publish to it.
 * Topics starting with "public." are open to anyone; others need a login.
 * Publishing here is for administrators; domains publish through sse.h. */
#include "api/api.h"
#include "auth/roles.h"
#include "base/jsonx.h"
#include "http/sse.h"

#include <stdlib.h>
#include <string.h>

static void subscribe(http_req *r) {
    const char *topic = http_param(r, "topic");
    if (!sse_topic_valid(topic)) {
        http_reply_error(r, 400, "invalid_argument", "topic", "频道名须为 1–64 位 a-z 0-9 . _ -");
        return;
    }
    if (strncmp(topic, "public.", 7) != 0 && !r->user.id) {
        http_reply_error(r, 401, "unauthenticated", "", "订阅该频道需要登录");
        return;
    }
    /* An agent's task channel is theirs (GET /api/v1/me/agent/events) and the
     * dispatch desk's, nobody else's. */
    if (!strncmp(topic, "agent.", 6) &&
        !(r->user.role & (ROLE_STAFF | ROLE_SUPERVISOR | ROLE_ADMIN))) {
        http_reply_error(r, 403, "permission_denied", "topic", "无权订阅该频道");
        return;
    }
    /* The dashboards' change feed (src/dash/watch.c) says when cases, bids and alerts
     * move: for those who may open the dashboards (api_dash.c), not every login. */
    if (!strcmp(topic, "dash") &&
        !(r->user.role &
          (ROLE_STAFF | ROLE_APPROVER | ROLE_TRADING_STAFF | ROLE_SUPERVISOR | ROLE_ADMIN))) {
        http_reply_error(r, 403, "permission_denied", "topic", "无权订阅该频道");
        return;
    }
    http_sse_start(r, topic);
}

static void publish(http_req *r) {
    static const jsonx_field spec[] = {{"event", JX_STRING, 1, 64}, {"data", JX_ANY, 0, 0}, {NULL}};
    const char *topic = http_param(r, "topic");
    if (!sse_topic_valid(topic)) {
        http_reply_error(r, 400, "invalid_argument", "topic", "频道名须为 1–64 位 a-z 0-9 . _ -");
        return;
    }
    json_t *body = http_json_body(r, NULL);
    if (!body) return;
    err e = {0};
    if (jsonx_check(body, spec, &e) != 0) {
        json_decref(body);
        http_reply_err(r, &e);
        return;
    }
    const char *event = jsonx_str(body, "event");
    for (const char *p = event; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == ':') {
            json_decref(body);
            http_reply_error(r, 400, "invalid_argument", "event", "事件名不能包含换行或冒号");
            return;
        }
    json_t *data = json_object_get(body, "data");
    char *text = data ? json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER)
                      : strdup("null");
    int64_t id = 0;
    long subs = sse_publish(topic, event, text ? text : "null", &id);
    free(text);
    json_decref(body);
    if (subs < 0) {
        http_reply_error(r, 503, "unavailable", "", "实时事件暂时无法发布，请稍后重试");
        return;
    }
    http_reply_json(r, 202,
                    json_pack("{s:I, s:I}", "id", (json_int_t)id, "subscribers", (json_int_t)subs));
}

const http_route api_events_routes[] = {
    {M_GET, "/api/v1/events/{topic}", subscribe, 0, ROUTE_PUBLIC | ROUTE_OPTIONAL_AUTH},
    {M_POST, "/api/v1/events/{topic}", publish, ROLE_ADMIN, 0},
};
const size_t api_events_route_count = sizeof(api_events_routes) / sizeof(api_events_routes[0]);
