/* api_licences: the e-licence library (证照库), 告知承诺 verification and credit
 * records, and the public view of an item's 秒办 rules.
 *
 * Ownership: a licence is visible to its holder and to staff (staff, approver,
 * supervisor, admin); to anyone else it does not exist (404, the same answer as
 * for a missing id, so ids reveal nothing). Licence numbers are personal data:
 * shown to the holder and to case handlers (staff, approver), masked for
 * supervisors and admins. Every write runs in one transaction with its audit
 * row; nothing is half-written on an error. */
#include "api/api.h"
#include "base/jsonx.h"
#include "cases/commitment.h"
#include "cases/rules.h"
#include "licences/licences.h"

#include <stdlib.h>
#include <string.h>

#define CASE_HANDLERS (ROLE_STAFF | ROLE_APPROVER)
#define STAFF_ROLES   (ROLE_STAFF | ROLE_APPROVER | ROLE_SUPERVISOR | ROLE_ADMIN)

static int parse_id(const char *s, int64_t *id) {
    char *end;
    long long v = s && *s ? strtoll(s, &end, 10) : 0;
    if (!s || !*s || *end || v <= 0) return -1;
    *id = v;
    return 0;
}

static void reply_or_err(http_req *r, int status, json_t *body, const err *e) {
    if (!body) {
        http_reply_err(r, e);
        return;
    }
    http_reply_json(r, status, body);
}

/* ---- licences ---- */

static void my_licences(http_req *r) {
    err e = {0};
    reply_or_err(r, 200, licences_list(r->db, r->user.id, &e), &e);
}

static void holder_licences(http_req *r) {
    int64_t holder;
    if (parse_id(http_param(r, "id"), &holder) != 0) {
        http_reply_error(r, 404, "not_found", "id", "没有这个用户");
        return;
    }
    err e = {0};
    json_t *out = licences_list(r->db, holder, &e);
    if (out && !http_has_role(r, CASE_HANDLERS)) {
        size_t i;
        json_t *l;
        json_array_foreach(json_object_get(out, "items"), i, l) {
            licences_mask(l);
        }
    }
    reply_or_err(r, 200, out, &e);
}

/* The licence if the caller may see it (numbers masked as the caller's role requires),
 * else NULL with 404 sent. */
static json_t *visible_licence(http_req *r) {
    int64_t id;
    if (parse_id(http_param(r, "id"), &id) != 0) {
        http_reply_error(r, 404, "not_found", "id", "没有这个证照");
        return NULL;
    }
    err e = {0};
    json_t *l = licences_get(r->db, id, &e);
    if (!l) {
        http_reply_err(r, &e);
        return NULL;
    }
    int holder = jsonx_int(l, "holder_id", 0) == r->user.id;
    if (!holder && !http_has_role(r, STAFF_ROLES)) {
        json_decref(l);
        http_reply_error(r, 404, "not_found", "", "没有这个证照");
        return NULL;
    }
    if (!holder && !http_has_role(r, CASE_HANDLERS)) licences_mask(l);
    return l;
}

static void licence_get(http_req *r) {
    json_t *l = visible_licence(r);
    if (l) http_reply_json(r, 200, json_pack("{s:o}", "licence", l));
}

static void licence_revoke(http_req *r) {
    static const jsonx_field spec[] = {{"reason", JX_STRING, 1, LICENCES_REASON_MAX}, {NULL}};
    int64_t id;
    if (parse_id(http_param(r, "id"), &id) != 0) {
        http_reply_error(r, 404, "not_found", "id", "没有这个证照");
        return;
    }
    json_t *body = http_json_body(r, NULL);
    if (!body) return;
    err e = {0};
    int rc = jsonx_check(body, spec, &e);
    audit_actor a = api_actor(r);
    if (rc == 0) rc = db_begin(r->db, &e);
    if (rc == 0) {
        rc = licences_revoke(r->db, &a, id, jsonx_str(body, "reason"), &e);
        if (rc == 0) rc = db_commit(r->db, &e);
        if (rc != 0) db_rollback(r->db);
    }
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    json_t *l = licences_get(r->db, id, &e);
    if (l && !http_has_role(r, CASE_HANDLERS)) licences_mask(l);
    reply_or_err(r, 200, l ? json_pack("{s:o}", "licence", l) : NULL, &e);
}

/* ---- 秒办 rules (public: what an application must meet) ---- */

static void item_rules(http_req *r) {
    err e = {0};
    json_t *doc = rules_load(http_param(r, "code"), &e);
    if (!doc) {
        if (e.status == 404) {
            http_reply_error(r, 404, "not_found", "code", "该事项没有秒办规则");
        } else {
            http_reply_error(r, 500, "internal", "", "该事项的秒办规则文件有误");
        }
        return;
    }
    http_reply_json(r, 200, doc);
}

/* ---- 告知承诺 verification ---- */

static void checks_list(http_req *r) {
    int64_t limit;
    if (http_query_int(r, "limit", 50, 1, COMMITMENT_LIST_MAX, &limit) != 0) return;
    const char *dept_q = http_query(r, "department");
    if (dept_q && strlen(dept_q) > 128) {
        http_reply_error(r, 400, "invalid_argument", "department", "部门名称过长");
        return;
    }
    err e = {0};
    /* Staff and approvers of a department see its checks only; supervisors see all. */
    char dept[256] = "";
    if (!http_has_role(r, ROLE_SUPERVISOR) &&
        commitment_user_department(r->db, r->user.id, dept, sizeof(dept), &e) != 0) {
        http_reply_err(r, &e);
        return;
    }
    if (!dept[0] && dept_q) snprintf(dept, sizeof(dept), "%s", dept_q);
    commitment_filter f = {
        .status = http_query(r, "status"), .department = dept, .limit = (int)limit};
    reply_or_err(r, 200, commitment_list(r->db, &f, &e), &e);
}

/* The check if the caller's department may see it, else NULL with 404 sent. */
static json_t *visible_check(http_req *r, int64_t *id) {
    if (parse_id(http_param(r, "id"), id) != 0) {
        http_reply_error(r, 404, "not_found", "id", "没有这条承诺核查记录");
        return NULL;
    }
    err e = {0};
    json_t *c = commitment_get(r->db, *id, &e);
    char dept[256] = "";
    if (c && !http_has_role(r, ROLE_SUPERVISOR) &&
        commitment_user_department(r->db, r->user.id, dept, sizeof(dept), &e) != 0) {
        json_decref(c);
        c = NULL;
    }
    if (!c) {
        http_reply_err(r, &e);
        return NULL;
    }
    const char *cd = jsonx_str(c, "department");
    if (dept[0] && (!cd || strcmp(cd, dept) != 0)) {
        json_decref(c);
        http_reply_error(r, 404, "not_found", "", "没有这条承诺核查记录");
        return NULL;
    }
    return c;
}

static void check_get(http_req *r) {
    int64_t id;
    json_t *c = visible_check(r, &id);
    if (c) http_reply_json(r, 200, json_pack("{s:o}", "check", c));
}

static void check_record(http_req *r) {
    static const jsonx_field spec[] = {
        {"result", JX_STRING, 1, 16}, {"note", JX_STRING, 0, COMMITMENT_NOTE_MAX}, {NULL}};
    int64_t id;
    json_t *c = visible_check(r, &id);
    if (!c) return;
    json_decref(c);
    json_t *body = http_json_body(r, NULL);
    if (!body) return;
    err e = {0};
    int rc = jsonx_check(body, spec, &e);
    audit_actor a = api_actor(r);
    if (rc == 0) rc = db_begin(r->db, &e);
    if (rc == 0) {
        rc = commitment_record(r->db, &a, id, jsonx_str(body, "result"), jsonx_str(body, "note"),
                               &e);
        if (rc == 0) rc = db_commit(r->db, &e);
        if (rc != 0) db_rollback(r->db);
    }
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    json_t *out = commitment_get(r->db, id, &e);
    reply_or_err(r, 200, out ? json_pack("{s:o}", "check", out) : NULL, &e);
}

static json_t *settings_body(http_req *r, err *e) {
    double rate, days;
    if (commitment_settings_get(r->db, &rate, &days, e) != 0) return NULL;
    return json_pack("{s:f, s:f}", "sample_rate", rate, "verify_days", days);
}

static void settings_get(http_req *r) {
    err e = {0};
    reply_or_err(r, 200, settings_body(r, &e), &e);
}

static void settings_put(http_req *r) {
    static const jsonx_field spec[] = {
        {"sample_rate", JX_NUMBER, 1, 0}, {"verify_days", JX_NUMBER, 1, 0}, {NULL}};
    json_t *body = http_json_body(r, NULL);
    if (!body) return;
    err e = {0};
    int rc = jsonx_check(body, spec, &e);
    audit_actor a = api_actor(r);
    if (rc == 0) rc = db_begin(r->db, &e);
    if (rc == 0) {
        rc = commitment_settings_set(r->db, &a,
                                     json_number_value(json_object_get(body, "sample_rate")),
                                     json_number_value(json_object_get(body, "verify_days")), &e);
        if (rc == 0) rc = db_commit(r->db, &e);
        if (rc != 0) db_rollback(r->db);
    }
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    reply_or_err(r, 200, settings_body(r, &e), &e);
}

static void my_credit(http_req *r) {
    err e = {0};
    reply_or_err(r, 200, commitment_credit_list(r->db, r->user.id, &e), &e);
}

const http_route api_licences_routes[] = {
    {M_GET, "/api/v1/me/licences", my_licences, ROLE_ANY, 0, 0, NULL},
    {M_GET, "/api/v1/users/{id}/licences", holder_licences, STAFF_ROLES, 0, 0, NULL},
    {M_GET, "/api/v1/licences/{id}", licence_get, ROLE_ANY, 0, 0, NULL},
    {M_POST, "/api/v1/licences/{id}/revoke", licence_revoke, ROLE_APPROVER | ROLE_ADMIN, 0, 0,
     NULL},
    {M_GET, "/api/v1/items/{code}/rules", item_rules, 0, ROUTE_PUBLIC, 0, NULL},
    {M_GET, "/api/v1/commitment-checks", checks_list, CASE_HANDLERS | ROLE_SUPERVISOR, 0, 0, NULL},
    {M_GET, "/api/v1/commitment-checks/{id}", check_get, CASE_HANDLERS | ROLE_SUPERVISOR, 0, 0,
     NULL},
    {M_POST, "/api/v1/commitment-checks/{id}", check_record, CASE_HANDLERS, 0, 0, NULL},
    {M_GET, "/api/v1/commitment-settings", settings_get, STAFF_ROLES, 0, 0, NULL},
    {M_PUT, "/api/v1/commitment-settings", settings_put, ROLE_ADMIN, 0, 0, NULL},
    {M_GET, "/api/v1/me/credit", my_credit, ROLE_ANY, 0, 0, NULL},
};
const size_t api_licences_route_count =
    sizeof(api_licences_routes) / sizeof(api_licences_routes[0]);
