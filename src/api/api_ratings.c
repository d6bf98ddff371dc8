/* api_ratings: 好差评 — rating a finished case, the 差评 tickets, and the public
 * department figures (src/ratings/ has the rules).
 *
 *   POST /api/v1/cases/{id}/rating                 the case's applicant
 *   GET  /api/v1/cases/{id}/rating                 applicant; department staff, supervisor, admin
 *   GET  /api/v1/rating-tickets?status=&department=&overdue=&limit=&offset=
 *                                                  staff, approver, supervisor, admin
 *   GET  /api/v1/rating-tickets/{id}
 *   POST /api/v1/rating-tickets/{id}/callback|rectify|report|close   staff, approver, supervisor
 *   GET  /api/v1/ratings/departments               public, aggregated, no personal data */
#include "api/api.h"
#include "base/jsonx.h"
#include "ratings/ratings.h"

#include <stdlib.h>
#include <string.h>

#define TICKET_VIEWERS (ROLE_STAFF | ROLE_APPROVER | ROLE_SUPERVISOR | ROLE_ADMIN)
#define TICKET_ACTORS  (ROLE_STAFF | ROLE_APPROVER | ROLE_SUPERVISOR)

static ratings_actor actor_of(http_req *r) {
    ratings_actor a = {.user_id = r->user.id,
                       .role = r->user.role,
                       .login = r->user.login,
                       .request_id = r->request_id};
    return a;
}

static void rating_create(http_req *r) {
    static const jsonx_field spec[] = {{"overall", JX_INT, 1, 0},
                                       {"dims", JX_OBJECT, 1, 0},
                                       {"comment", JX_STRING, 0, 4 * RATINGS_COMMENT_MAX},
                                       {NULL}};
    int64_t case_id;
    if (api_path_id(r, "id", "办件", &case_id) != 0) return;
    json_t *body = http_json_body(r, NULL);
    if (!body) return;
    err e = {0};
    if (jsonx_check(body, spec, &e) != 0) {
        json_decref(body);
        http_reply_err(r, &e);
        return;
    }
    long long overall = jsonx_int(body, "overall", 0);
    ratings_input in = {.overall = overall >= 1 && overall <= 5 ? (int)overall : 0,
                        .dims = json_object_get(body, "dims"),
                        .comment = jsonx_str(body, "comment")};
    ratings_actor a = actor_of(r);
    int64_t rid = 0, tid = 0;
    int rc = ratings_create(r->db, &a, case_id, &in, &rid, &tid, &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    json_t *out = ratings_case_get(r->db, &a, case_id, &e);
    if (!out) {
        http_reply_err(r, &e);
        return;
    }
    json_object_set_new(out, "ticket_opened", json_boolean(tid != 0));
    http_reply_json(r, 201, out);
}

static void rating_get(http_req *r) {
    int64_t case_id;
    if (api_path_id(r, "id", "办件", &case_id) != 0) return;
    err e = {0};
    ratings_actor a = actor_of(r);
    json_t *out = ratings_case_get(r->db, &a, case_id, &e);
    if (!out) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, out);
}

static void tickets_list(http_req *r) {
    int64_t limit, offset;
    if (http_query_int(r, "limit", 50, 1, 200, &limit) != 0) return;
    if (http_query_int(r, "offset", 0, 0, 1000000000, &offset) != 0) return;
    const char *status = http_query(r, "status"), *dept = http_query(r, "department");
    const char *ov = http_query(r, "overdue");
    int overdue = -1;
    if (ov && *ov) {
        if (!strcmp(ov, "1") || !strcmp(ov, "true"))
            overdue = 1;
        else if (!strcmp(ov, "0") || !strcmp(ov, "false"))
            overdue = 0;
        else {
            http_reply_error(r, 400, "invalid_argument", "overdue", "overdue 须为 1 或 0");
            return;
        }
    }
    if (dept && strlen(dept) > 200) {
        http_reply_error(r, 400, "invalid_argument", "department", "部门名称过长");
        return;
    }
    ratings_ticket_filter f = {.status = status && *status ? status : NULL,
                               .department = dept && *dept ? dept : NULL,
                               .overdue = overdue,
                               .limit = (int)limit,
                               .offset = (int)offset};
    err e = {0};
    ratings_actor a = actor_of(r);
    json_t *out = ratings_ticket_list(r->db, &a, &f, &e);
    if (!out) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, out);
}

static void ticket_get(http_req *r) {
    int64_t id;
    if (api_path_id(r, "id", "工单", &id) != 0) return;
    err e = {0};
    ratings_actor a = actor_of(r);
    json_t *out = ratings_ticket_get(r->db, &a, id, &e);
    if (!out) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, json_pack("{s:o}", "ticket", out));
}

typedef int (*ticket_step_fn)(db *, const ratings_actor *, int64_t, const char *, err *);

static void ticket_step(http_req *r, ticket_step_fn fn) {
    static const jsonx_field spec[] = {{"note", JX_STRING, 0, 4 * RATINGS_NOTE_MAX}, {NULL}};
    int64_t id;
    if (api_path_id(r, "id", "工单", &id) != 0) return;
    json_t *body = http_json_body(r, NULL);
    if (!body) return;
    err e = {0};
    if (jsonx_check(body, spec, &e) != 0) {
        json_decref(body);
        http_reply_err(r, &e);
        return;
    }
    ratings_actor a = actor_of(r);
    int rc = fn(r->db, &a, id, jsonx_str(body, "note"), &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    json_t *out = ratings_ticket_get(r->db, &a, id, &e);
    if (!out) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, json_pack("{s:o}", "ticket", out));
}

static void ticket_callback(http_req *r) {
    ticket_step(r, ratings_ticket_callback);
}
static void ticket_rectify(http_req *r) {
    ticket_step(r, ratings_ticket_rectify);
}
static void ticket_report(http_req *r) {
    ticket_step(r, ratings_ticket_report);
}
static void ticket_close(http_req *r) {
    ticket_step(r, ratings_ticket_close);
}

static void departments(http_req *r) {
    err e = {0};
    json_t *out = ratings_department_summary(r->db, &e);
    if (!out) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, out);
}

const http_route api_ratings_routes[] = {
    {M_POST, "/api/v1/cases/{id}/rating", rating_create, ROLE_ANY, 0},
    {M_GET, "/api/v1/cases/{id}/rating", rating_get, ROLE_ANY, 0},
    {M_GET, "/api/v1/rating-tickets", tickets_list, TICKET_VIEWERS, 0},
    {M_GET, "/api/v1/rating-tickets/{id}", ticket_get, TICKET_VIEWERS, 0},
    {M_POST, "/api/v1/rating-tickets/{id}/callback", ticket_callback, TICKET_ACTORS, 0},
    {M_POST, "/api/v1/rating-tickets/{id}/rectify", ticket_rectify, TICKET_ACTORS, 0},
    {M_POST, "/api/v1/rating-tickets/{id}/report", ticket_report, TICKET_ACTORS, 0},
    {M_POST, "/api/v1/rating-tickets/{id}/close", ticket_close, TICKET_ACTORS, 0},
    {M_GET, "/api/v1/ratings/departments", departments, 0, ROUTE_PUBLIC},
};
const size_t api_ratings_route_count = sizeof(api_ratings_routes) / sizeof(api_ratings_routes[0]);
