/* api_assist: 办事不出岛 — station details, agents, an agent's own record and live
 * task stream, and assisted requests (帮办代办). Handlers decode, call
 * src/island/agents and src/island/assist, encode; no SQL here.
 *
 *   GET  /api/v1/stations/{id}                  station with hours, services, phone (public)
 *   PUT  /api/v1/stations/{id}                  {"hours","services","phone"} (staff)
 *   GET  /api/v1/agents?town=&island=&station=&kind=&on_duty=&q=&limit=&offset=   (staff)
 *   POST /api/v1/agents                         create (staff)
 *   GET  /api/v1/agents/{id} · PUT /api/v1/agents/{id}                             (staff)
 *   GET  /api/v1/me/agent · PUT /api/v1/me/agent {"on_duty","position"}           (agent)
 *   GET  /api/v1/me/agent/events                SSE: the agent's topic agent.<id> (agent)
 *   POST /api/v1/assist                         intake (resident online, staff phone/station,
 *                                               agent at a station)
 *   GET  /api/v1/assist?status=&town=&village=&agent=&due=&mine=&q=&limit=&offset=
 *   GET  /api/v1/assist/{id}                    one request (404 for anyone else)
 *   POST /api/v1/assist/{id}/actions/{action}   accept decline start wait resume complete
 *                                               cancel reassign: {"note","file_id","agent_id",
 *                                               "version"}
 *   POST /api/v1/assist/{id}/consent            {"method","note"}
 *   POST /api/v1/assist/{id}/notes              {"text"}
 *   POST /api/v1/assist/{id}/case               the agent applies for the resident
 *
 * The requests module publishes "task" / "task_withdrawn" events through a hook this
 * file points at the SSE hub when the program starts (a constructor: every binary
 * that links the API also publishes, the server and the watcher thread alike). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "auth/roles.h"
#include "base/jsonx.h"
#include "base/timeutil.h"
#include "http/sse.h"
#include "island/agents.h"
#include "island/assist.h"

#define STAFF_ROLES  (ROLE_STAFF | ROLE_SUPERVISOR | ROLE_ADMIN)
#define INTAKE_ROLES (ROLE_CITIZEN | ROLE_COMPANY | ROLE_AGENT | STAFF_ROLES)

static void publish_task(int64_t agent_id, const char *event, const char *data_json) {
    char topic[48];
    snprintf(topic, sizeof(topic), "agent.%lld", (long long)agent_id);
    sse_publish(topic, event, data_json, NULL);
}

__attribute__((constructor)) static void api_assist_init(void) {
    assist_set_publish_hook(publish_task);
}

static void reply(http_req *r, int status, json_t *body, const err *e) {
    if (!body) {
        http_reply_err(r, e);
        return;
    }
    http_reply_json(r, status, body);
}

static int actor_for(http_req *r, assist_actor *a) {
    memset(a, 0, sizeof(*a));
    a->user_id = r->user.id;
    a->role = r->user.role;
    a->audit = api_actor(r);
    err e = {0};
    if (assist_actor_load(r->db, a, &e) != 0) {
        http_reply_err(r, &e);
        return -1;
    }
    return 0;
}

/* ---- stations ---- */

static void station_get(http_req *r) {
    err e = {0};
    reply(r, 200, agents_station_get(r->db, http_param(r, "id"), &e), &e);
}

static void station_put(http_req *r) {
    json_t *body = http_json_body(r, NULL);
    if (!body) return;
    err e = {0};
    audit_actor aa = api_actor(r);
    const char *id = http_param(r, "id");
    int rc = agents_station_update(r->db, &aa, id, body, &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    reply(r, 200, agents_station_get(r->db, id, &e), &e);
}

/* ---- agents ---- */

static void agents_get_list(http_req *r) {
    agents_filter f = {.on_duty = -1};
    f.town_code = http_query(r, "town");
    f.island_id = http_query(r, "island");
    f.station_id = http_query(r, "station");
    f.kind = http_query(r, "kind");
    f.q = http_query(r, "q");
    const char *on = http_query(r, "on_duty");
    if (on) {
        if (!strcmp(on, "1") || !strcmp(on, "true"))
            f.on_duty = 1;
        else if (!strcmp(on, "0") || !strcmp(on, "false"))
            f.on_duty = 0;
        else {
            http_reply_error(r, 400, "invalid_argument", "on_duty", "on_duty 须为 true 或 false");
            return;
        }
    }
    if (http_query_int(r, "limit", AGENTS_DEFAULT_LIMIT, 1, AGENTS_MAX_LIMIT, &f.limit) != 0)
        return;
    if (http_query_int(r, "offset", 0, 0, 1000000, &f.offset) != 0) return;
    err e = {0};
    reply(r, 200, agents_list(r->db, &f, &e), &e);
}

static void agents_post(http_req *r) {
    json_t *body = http_json_body(r, NULL);
    if (!body) return;
    err e = {0};
    audit_actor aa = api_actor(r);
    int64_t id = 0;
    int rc = agents_create(r->db, &aa, body, &id, &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    reply(r, 201, agents_get(r->db, id, &e), &e);
}

static void agents_get_one(http_req *r) {
    int64_t id;
    if (api_path_id(r, "id", "代办员", &id) != 0) return;
    err e = {0};
    reply(r, 200, agents_get(r->db, id, &e), &e);
}

static void agents_put(http_req *r) {
    int64_t id;
    if (api_path_id(r, "id", "代办员", &id) != 0) return;
    json_t *body = http_json_body(r, NULL);
    if (!body) return;
    err e = {0};
    audit_actor aa = api_actor(r);
    int rc = agents_update(r->db, &aa, id, body, &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    reply(r, 200, agents_get(r->db, id, &e), &e);
}

/* ---- the agent's own record ---- */

static int my_agent(http_req *r, int64_t *id) {
    err e = {0};
    if (agents_of_user(r->db, r->user.id, id, &e) != 0) {
        http_reply_err(r, &e);
        return -1;
    }
    if (!*id) {
        http_reply_error(r, 404, "not_found", "", "您的账号尚未登记为代办员，请联系乡镇工作人员");
        return -1;
    }
    return 0;
}

static void me_agent_reply(http_req *r, int status) {
    int64_t id;
    if (my_agent(r, &id) != 0) return;
    err e = {0};
    json_t *a = agents_get(r->db, id, &e);
    if (a) {
        char topic[48];
        snprintf(topic, sizeof(topic), "agent.%lld", (long long)id);
        json_object_set_new(a, "topic", json_string(topic));
    }
    reply(r, status, a, &e);
}

static void me_agent_get(http_req *r) {
    me_agent_reply(r, 200);
}

static void me_agent_put(http_req *r) {
    json_t *body = http_json_body(r, NULL);
    if (!body) return;
    err e = {0};
    audit_actor aa = api_actor(r);
    int rc = agents_self_update(r->db, &aa, r->user.id, body, &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    me_agent_reply(r, 200);
}

static void me_agent_events(http_req *r) {
    int64_t id;
    if (my_agent(r, &id) != 0) return;
    char topic[48];
    snprintf(topic, sizeof(topic), "agent.%lld", (long long)id);
    http_sse_start(r, topic);
}

/* ---- requests ---- */

static void reply_request(http_req *r, int status, int64_t id, const assist_actor *a) {
    err e = {0};
    reply(r, status, assist_get(r->db, a, id, time_now(), &e), &e);
}

static void assist_post(http_req *r) {
    json_t *body = http_json_body(r, NULL);
    if (!body) return;
    assist_actor a;
    if (actor_for(r, &a) != 0) {
        json_decref(body);
        return;
    }
    err e = {0};
    int64_t id = 0;
    int rc = assist_create(r->db, &a, body, time_now(), &id, &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    reply_request(r, 201, id, &a);
}

static void assist_get_list(http_req *r) {
    assist_actor a;
    if (actor_for(r, &a) != 0) return;
    assist_filter f = {0};
    const char *mine = http_query(r, "mine");
    f.mine = mine && (!strcmp(mine, "1") || !strcmp(mine, "true"));
    f.status = http_query(r, "status");
    f.town_code = http_query(r, "town");
    f.village_code = http_query(r, "village");
    f.due = http_query(r, "due");
    f.q = http_query(r, "q");
    const char *agent = http_query(r, "agent");
    if (agent && *agent) {
        char *end;
        long long v = strtoll(agent, &end, 10);
        if (*end || v <= 0) {
            http_reply_error(r, 400, "invalid_argument", "agent", "agent 须为代办员编号");
            return;
        }
        f.agent_id = v;
    }
    if (http_query_int(r, "limit", ASSIST_DEFAULT_LIMIT, 1, ASSIST_MAX_LIMIT, &f.limit) != 0)
        return;
    if (http_query_int(r, "offset", 0, 0, 1000000, &f.offset) != 0) return;
    err e = {0};
    reply(r, 200, assist_list(r->db, &a, &f, time_now(), &e), &e);
}

static void assist_get_one(http_req *r) {
    int64_t id;
    assist_actor a;
    if (api_path_id(r, "id", "帮办请求", &id) != 0 || actor_for(r, &a) != 0) return;
    reply_request(r, 200, id, &a);
}

static void assist_action(http_req *r) {
    static const jsonx_field spec[] = {{"note", JX_STRING, 0, ASSIST_NOTE_MAX},
                                       {"file_id", JX_INT, 0, 0},
                                       {"agent_id", JX_INT, 0, 0},
                                       {"version", JX_INT, 0, 0},
                                       {NULL}};
    int64_t id;
    if (api_path_id(r, "id", "帮办请求", &id) != 0) return;
    json_t *body = api_body(r, spec, 1);
    if (!body) return;
    assist_actor a;
    if (actor_for(r, &a) != 0) {
        json_decref(body);
        return;
    }
    assist_act_input in = {.note = jsonx_str(body, "note"),
                           .file_id = jsonx_int(body, "file_id", 0),
                           .agent_id = jsonx_int(body, "agent_id", 0),
                           .expected_version = jsonx_int(body, "version", 0)};
    err e = {0};
    const char *action = http_param(r, "action");
    int rc = assist_act(r->db, &a, id, action, &in, time_now(), &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    json_t *out = assist_get(r->db, &a, id, time_now(), &e);
    if (!out && e.status == 404) /* a decline: the task is no longer the caller's to see */
        out = json_pack("{s:I, s:s, s:b}", "id", (json_int_t)id, "action", action, "visible", 0);
    reply(r, 200, out, &e);
}

static void assist_consent_post(http_req *r) {
    static const jsonx_field spec[] = {
        {"method", JX_STRING, 0, 16}, {"note", JX_STRING, 0, ASSIST_NOTE_MAX}, {NULL}};
    int64_t id;
    if (api_path_id(r, "id", "帮办请求", &id) != 0) return;
    json_t *body = api_body(r, spec, 1);
    if (!body) return;
    assist_actor a;
    if (actor_for(r, &a) != 0) {
        json_decref(body);
        return;
    }
    err e = {0};
    int rc = assist_consent(r->db, &a, id, jsonx_str(body, "method"), jsonx_str(body, "note"),
                            time_now(), &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    reply_request(r, 200, id, &a);
}

static void assist_note_post(http_req *r) {
    static const jsonx_field spec[] = {{"text", JX_STRING, 1, ASSIST_NOTE_MAX}, {NULL}};
    int64_t id;
    if (api_path_id(r, "id", "帮办请求", &id) != 0) return;
    json_t *body = api_body(r, spec, 0);
    if (!body) return;
    assist_actor a;
    if (actor_for(r, &a) != 0) {
        json_decref(body);
        return;
    }
    err e = {0};
    int rc = assist_note(r->db, &a, id, jsonx_str(body, "text"), time_now(), &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    reply_request(r, 201, id, &a);
}

static void assist_case_post(http_req *r) {
    int64_t id;
    if (api_path_id(r, "id", "帮办请求", &id) != 0) return;
    json_t *body = api_body(r, NULL, 1);
    if (!body) return;
    assist_actor a;
    if (actor_for(r, &a) != 0) {
        json_decref(body);
        return;
    }
    err e = {0};
    int64_t case_id = 0;
    int created = 0;
    int rc = assist_open_case(r->db, &a, id, body, time_now(), &case_id, &created, &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    json_t *req = assist_get(r->db, &a, id, time_now(), &e);
    if (!req) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, created ? 201 : 200,
                    json_pack("{s:I, s:o}", "case_id", (json_int_t)case_id, "request", req));
}

const http_route api_assist_routes[] = {
    {M_GET, "/api/v1/stations/{id}", station_get, 0, ROUTE_PUBLIC, 0, NULL},
    {M_PUT, "/api/v1/stations/{id}", station_put, STAFF_ROLES, 0, 0, NULL},
    {M_GET, "/api/v1/agents", agents_get_list, STAFF_ROLES, 0, 0, NULL},
    {M_POST, "/api/v1/agents", agents_post, STAFF_ROLES, 0, 0, NULL},
    {M_GET, "/api/v1/agents/{id}", agents_get_one, STAFF_ROLES, 0, 0, NULL},
    {M_PUT, "/api/v1/agents/{id}", agents_put, STAFF_ROLES, 0, 0, NULL},
    {M_GET, "/api/v1/me/agent", me_agent_get, ROLE_AGENT, 0, 0, NULL},
    {M_PUT, "/api/v1/me/agent", me_agent_put, ROLE_AGENT, 0, 0, NULL},
    {M_GET, "/api/v1/me/agent/events", me_agent_events, ROLE_AGENT, 0, 0, NULL},
    {M_POST, "/api/v1/assist", assist_post, INTAKE_ROLES, 0, 0, NULL},
    {M_GET, "/api/v1/assist", assist_get_list, ROLE_ANY, 0, 0, NULL},
    {M_GET, "/api/v1/assist/{id}", assist_get_one, ROLE_ANY, 0, 0, NULL},
    {M_POST, "/api/v1/assist/{id}/actions/{action}", assist_action, ROLE_ANY, 0, 0, NULL},
    {M_POST, "/api/v1/assist/{id}/consent", assist_consent_post, ROLE_ANY, 0, 0, NULL},
    {M_POST, "/api/v1/assist/{id}/notes", assist_note_post, ROLE_ANY, 0, 0, NULL},
    {M_POST, "/api/v1/assist/{id}/case", assist_case_post, ROLE_AGENT, 0, 0, NULL},
};
const size_t api_assist_route_count = sizeof(api_assist_routes) / sizeof(api_assist_routes[0]);
