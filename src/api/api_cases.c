/* api_cases: applications (一网通办). Handlers decode, call src/cases/, encode.
 *
 *   GET  /api/v1/items/{code}/form                 the item's application form (optional login:
 *                                                   a company gets the company form)
 *   GET  /api/v1/bundles/{code}/form               the same for a 一件事 bundle
 *   POST /api/v1/cases                             apply (citizen, company; agent/staff on behalf)
 *   GET  /api/v1/cases?mine=&status=&…             my applications, or a staff queue
 *   GET  /api/v1/cases/{id}                        one case (404 for anyone who may not see it)
 *   PUT  /api/v1/cases/{id}                        edit a draft or returned case
 *   POST /api/v1/cases/{id}/actions/{action}       submit, accept, return, reject, review, approve,
 *                                                   deny, deliver, withdraw, suspend, resume
 *   POST /api/v1/cases/{id}/assign                 {"assignee_id"}
 *   POST /api/v1/cases/{id}/notes                  {"text"}
 *   GET  /api/v1/cases/{id}/materials/{idx}/file   an uploaded material (who may see the case) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "auth/roles.h"
#include "base/jsonx.h"
#include "cases/cases.h"

#define APPLY_ROLES (ROLE_CITIZEN | ROLE_COMPANY | ROLE_AGENT | ROLE_STAFF)

typedef struct actor_buf {
    cases_actor a;
    char dept[256], town[16];
} actor_buf;

static int actor_for(http_req *r, actor_buf *b) {
    memset(b, 0, sizeof(*b));
    b->a.user_id = r->user.id;
    b->a.role = r->user.role;
    b->a.audit = api_actor(r);
    err e = {0};
    if (cases_actor_load(r->db, &b->a, b->dept, sizeof(b->dept), b->town, sizeof(b->town), &e) !=
        0) {
        http_reply_err(r, &e);
        return -1;
    }
    return 0;
}

static void reply_case(http_req *r, int status, int64_t id, actor_buf *b) {
    err e = {0};
    json_t *c = cases_get(r->db, &b->a, id, &e);
    if (!c) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, status, c);
}

static void form_get(http_req *r, int bundle) {
    err e = {0};
    const char *code = http_param(r, "code");
    json_t *def = cases_form_for(r->db, bundle ? NULL : code, bundle ? code : NULL,
                                 r->user.role == ROLE_COMPANY, &e);
    if (!def) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, json_pack("{s:o}", "fields", def));
}

static void item_form(http_req *r) {
    form_get(r, 0);
}

static void bundle_form(http_req *r) {
    form_get(r, 1);
}

static void create(http_req *r) {
    json_t *body = http_json_body(r, NULL);
    if (!body) return;
    actor_buf b;
    if (actor_for(r, &b) != 0) {
        json_decref(body);
        return;
    }
    err e = {0};
    int64_t id = 0;
    int created = 0;
    int rc = cases_create(r->db, &b.a, body, &id, &created, &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    reply_case(r, created ? 201 : 200, id, &b);
}

static void list(http_req *r) {
    actor_buf b;
    if (actor_for(r, &b) != 0) return;
    cases_filter f = {0};
    const char *mine = http_query(r, "mine");
    f.mine = mine && (!strcmp(mine, "1") || !strcmp(mine, "true"));
    f.status = http_query(r, "status");
    f.department = http_query(r, "department");
    f.town_code = http_query(r, "town");
    f.item_code = http_query(r, "item");
    f.due = http_query(r, "due");
    f.q = http_query(r, "q");
    f.sort = http_query(r, "sort");
    const char *as = http_query(r, "assignee");
    if (as && *as) {
        if (!strcmp(as, "me"))
            f.assignee_id = r->user.id;
        else if (!strcmp(as, "none"))
            f.assignee_id = -1;
        else {
            char *end;
            long long v = strtoll(as, &end, 10);
            if (*end || v <= 0) {
                http_reply_error(r, 400, "invalid_argument", "assignee",
                                 "assignee 须为 me、none 或用户编号");
                return;
            }
            f.assignee_id = v;
        }
    }
    if (http_query_int(r, "limit", 20, 1, 200, &f.limit) != 0) return;
    if (http_query_int(r, "offset", 0, 0, 1000000, &f.offset) != 0) return;
    err e = {0};
    json_t *out = cases_list(r->db, &b.a, &f, &e);
    if (!out) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, out);
}

static void get(http_req *r) {
    int64_t id;
    actor_buf b;
    if (api_path_id(r, "id", "办件", &id) != 0 || actor_for(r, &b) != 0) return;
    reply_case(r, 200, id, &b);
}

static void update(http_req *r) {
    int64_t id;
    if (api_path_id(r, "id", "办件", &id) != 0) return;
    json_t *body = http_json_body(r, NULL);
    if (!body) return;
    actor_buf b;
    if (actor_for(r, &b) != 0) {
        json_decref(body);
        return;
    }
    err e = {0};
    int rc = cases_update(r->db, &b.a, id, body, &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    reply_case(r, 200, id, &b);
}

static void action(http_req *r) {
    static const jsonx_field spec[] = {
        {"reason", JX_STRING, 0, 1600}, {"version", JX_INT, 0, 0}, {NULL}};
    int64_t id;
    if (api_path_id(r, "id", "办件", &id) != 0) return;
    json_t *body = api_body(r, spec, 1);
    if (!body) return;
    err e = {0};
    actor_buf b;
    if (actor_for(r, &b) != 0) {
        json_decref(body);
        return;
    }
    int rc = cases_transition(r->db, &b.a, id, http_param(r, "action"), jsonx_str(body, "reason"),
                              jsonx_int(body, "version", 0), &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    reply_case(r, 200, id, &b);
}

static void assign(http_req *r) {
    static const jsonx_field spec[] = {{"assignee_id", JX_INT, 1, 0}, {NULL}};
    int64_t id;
    if (api_path_id(r, "id", "办件", &id) != 0) return;
    json_t *body = api_body(r, spec, 0);
    if (!body) return;
    err e = {0};
    actor_buf b;
    if (actor_for(r, &b) != 0) {
        json_decref(body);
        return;
    }
    int rc = cases_assign(r->db, &b.a, id, jsonx_int(body, "assignee_id", 0), &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    reply_case(r, 200, id, &b);
}

static void note(http_req *r) {
    static const jsonx_field spec[] = {{"text", JX_STRING, 1, 1600}, {NULL}};
    int64_t id;
    if (api_path_id(r, "id", "办件", &id) != 0) return;
    json_t *body = api_body(r, spec, 0);
    if (!body) return;
    err e = {0};
    actor_buf b;
    if (actor_for(r, &b) != 0) {
        json_decref(body);
        return;
    }
    int rc = cases_note(r->db, &b.a, id, jsonx_str(body, "text"), &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    reply_case(r, 201, id, &b);
}

#define MATERIAL_FILE_MAX (20 * 1024 * 1024)

/* The file of an uploaded material. Its type is taken from the content (only PDF,
 * JPEG and PNG are accepted as materials), never from the uploader's claim. */
static void material_file(http_req *r) {
    int64_t id;
    if (api_path_id(r, "id", "办件", &id) != 0) return;
    const char *ix = http_param(r, "idx");
    char *end;
    long idx = ix ? strtol(ix, &end, 10) : -1;
    if (!ix || *end || idx < 0 || idx > 1000) {
        http_reply_error(r, 404, "not_found", "idx", "没有这个材料");
        return;
    }
    actor_buf b;
    if (actor_for(r, &b) != 0) return;
    char path[1200], ctype[128], fname[300];
    err e = {0};
    if (cases_material_file(r->db, &b.a, id, (int)idx, path, sizeof(path), ctype, sizeof(ctype),
                            fname, sizeof(fname), &e) != 0) {
        http_reply_err(r, &e);
        return;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        http_reply_error(r, 404, "not_found", "idx", "文件已不存在");
        return;
    }
    char *buf = malloc(MATERIAL_FILE_MAX);
    size_t n = buf ? fread(buf, 1, MATERIAL_FILE_MAX, f) : 0;
    fclose(f);
    if (!buf) {
        http_reply_error(r, 500, "internal", "", "内存不足");
        return;
    }
    const char *type = "application/octet-stream";
    if (n >= 5 && !memcmp(buf, "%PDF-", 5))
        type = "application/pdf";
    else if (n >= 3 && (unsigned char)buf[0] == 0xFF && (unsigned char)buf[1] == 0xD8)
        type = "image/jpeg";
    else if (n >= 8 && !memcmp(buf, "\x89PNG\r\n\x1a\n", 8))
        type = "image/png";
    http_set_header(r, "Content-Disposition", "inline");
    http_set_header(r, "Cache-Control", "private, no-store");
    http_reply_bytes(r, 200, type, buf, n);
    free(buf);
}

const http_route api_cases_routes[] = {
    {M_GET, "/api/v1/items/{code}/form", item_form, 0, ROUTE_PUBLIC | ROUTE_OPTIONAL_AUTH},
    {M_GET, "/api/v1/bundles/{code}/form", bundle_form, 0, ROUTE_PUBLIC | ROUTE_OPTIONAL_AUTH},
    {M_POST, "/api/v1/cases", create, APPLY_ROLES, 0},
    {M_GET, "/api/v1/cases", list, ROLE_ANY, 0},
    {M_GET, "/api/v1/cases/{id}", get, ROLE_ANY, 0},
    {M_PUT, "/api/v1/cases/{id}", update, ROLE_ANY, 0},
    {M_POST, "/api/v1/cases/{id}/actions/{action}", action, ROLE_ANY, 0},
    {M_POST, "/api/v1/cases/{id}/assign", assign,
     ROLE_STAFF | ROLE_APPROVER | ROLE_SUPERVISOR | ROLE_ADMIN, 0},
    {M_POST, "/api/v1/cases/{id}/notes", note, ROLE_ANY, 0},
    {M_GET, "/api/v1/cases/{id}/materials/{idx}/file", material_file, ROLE_ANY, 0},
};
const size_t api_cases_route_count = sizeof(api_cases_routes) / sizeof(api_cases_routes[0]);
