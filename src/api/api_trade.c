/* api_trade: tenders, notices, companies and deposits of public resource trading
 * (src/trade/tenders.c). Handlers decode, call the domain, encode; no SQL here.
 *
 *   GET   /api/v1/trade/tenders?kind=&status=&q=&phase=open|results|closed&mine=1&limit=&offset=
 *                                                 public (drafts only for staff/supervisors)
 *   POST  /api/v1/trade/tenders                   create a draft (trading staff, admin)
 *   GET   /api/v1/trade/tenders/{id}              one tender with notices, timeline, links
 *   PATCH /api/v1/trade/tenders/{id}              edit a draft (staff)
 *   POST  /api/v1/trade/tenders/{id}/announce     {"body","files"} draft → announced (staff)
 *   POST  /api/v1/trade/tenders/{id}/cancel       {"reason"} (staff)
 *   POST  /api/v1/trade/tenders/{id}/notices      clarification / amendment (staff)
 *   GET   /api/v1/trade/tenders/{id}/notices      public
 *   GET   /api/v1/trade/tenders/{id}/files/{fid}  a document attached to a notice (public)
 *   GET   /api/v1/trade/results?kind=&status=&q=  awarded, contracted, failed (public)
 *   POST  /api/v1/trade/companies                 register the caller's company (bidder, company)
 *   GET   /api/v1/trade/companies/me              the caller's company
 *   GET   /api/v1/trade/companies?q=              staff, supervisors
 *   POST  /api/v1/trade/tenders/{id}/deposits     {"amount","account_no","account_name","bank"}
 *   GET   /api/v1/trade/tenders/{id}/deposits     staff/supervisors after the deadline; a
 *                                                 bidder its own
 *
 * The public routes resolve a session when there is one. An anonymous caller is the
 * actor with user_id -1 (user_id 0 is the system, which trade.h treats as staff). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "auth/roles.h"
#include "base/jsonx.h"
#include "trade/tenders.h"
#include "trade/trade.h"

#define STAFF       (ROLE_TRADING_STAFF | ROLE_ADMIN)
#define SUPERVISE   (STAFF | ROLE_SUPERVISOR)
#define BIDDERS     (ROLE_BIDDER | ROLE_COMPANY)
#define FILE_MAX    (20u * 1024 * 1024)
#define PUBLIC_AUTH (ROUTE_PUBLIC | ROUTE_OPTIONAL_AUTH)

/* The path id (id NULL: none), the body (body NULL: none; see api_body) and the actor.
 * 0, or -1 after answering. On success the caller owns *body. */
static int begin(http_req *r, int64_t *id, const jsonx_field *spec, int optional, json_t **body,
                 trade_actor *a) {
    if (id && api_path_id(r, "id", "项目", id) != 0) return -1;
    return body ? api_trade_body(r, spec, optional, body, a) : api_trade_actor(r, a);
}

/* After a change (rc from the domain): the tender as the caller sees it, or e. */
static void reply_tender(http_req *r, int rc, int status, const trade_actor *a, int64_t id,
                         err *e) {
    if (rc != 0) {
        http_reply_err(r, e);
        return;
    }
    api_reply(r, status, tenders_get(r->db, a, id, e), e);
}

/* ---- lists ---- */

static void list_common(http_req *r, const char *phase) {
    trade_actor a;
    if (api_trade_actor(r, &a) != 0) return;
    tenders_filter f = {0};
    f.kind = http_query(r, "kind");
    f.status = http_query(r, "status");
    f.q = http_query(r, "q");
    f.phase = phase ? phase : http_query(r, "phase");
    const char *mine = http_query(r, "mine");
    f.mine = mine && (!strcmp(mine, "1") || !strcmp(mine, "true"));
    if (http_query_int(r, "limit", TENDERS_DEFAULT_LIMIT, 1, TENDERS_MAX_LIMIT, &f.limit) != 0)
        return;
    if (http_query_int(r, "offset", 0, 0, 1000000, &f.offset) != 0) return;
    if (f.mine && !(a.role & BIDDERS)) {
        http_reply_error(r, 403, "permission_denied", "mine", "只有投标人可以查看“我的投标”");
        return;
    }
    json_t *out = NULL;
    err e = {0};
    if (tenders_list(r->db, &a, &f, &out, &e) != 0) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, out);
}

static void tenders_get_list(http_req *r) {
    list_common(r, NULL);
}

static void results_get(http_req *r) {
    const char *p = http_query(r, "phase");
    list_common(r, p && !strcmp(p, "closed") ? "closed" : "results");
}

/* ---- one tender ---- */

static void tenders_post(http_req *r) {
    json_t *body;
    trade_actor a;
    if (begin(r, NULL, NULL, 0, &body, &a) != 0) return;
    err e = {0};
    int64_t id = 0;
    int rc = tenders_create(r->db, &a, body, &id, &e);
    json_decref(body);
    reply_tender(r, rc, 201, &a, id, &e);
}

static void tender_get_one(http_req *r) {
    int64_t id;
    trade_actor a;
    if (begin(r, &id, NULL, 0, NULL, &a) != 0) return;
    err e = {0};
    reply_tender(r, 0, 200, &a, id, &e);
}

static void tender_patch(http_req *r) {
    int64_t id;
    json_t *body;
    trade_actor a;
    if (begin(r, &id, NULL, 0, &body, &a) != 0) return;
    err e = {0};
    int rc = tenders_update(r->db, &a, id, body, &e);
    json_decref(body);
    reply_tender(r, rc, 200, &a, id, &e);
}

static void tender_announce(http_req *r) {
    int64_t id;
    json_t *body;
    trade_actor a;
    if (begin(r, &id, NULL, 1, &body, &a) != 0) return;
    err e = {0};
    int rc = tenders_announce(r->db, &a, id, body, &e);
    json_decref(body);
    reply_tender(r, rc, 200, &a, id, &e);
}

static void tender_cancel(http_req *r) {
    static const jsonx_field spec[] = {
        {"reason", JX_STRING, 1, TENDERS_REASON_MAX}, {"version", JX_INT, 0, 0}, {NULL, 0, 0, 0}};
    int64_t id;
    json_t *body;
    trade_actor a;
    if (begin(r, &id, spec, 0, &body, &a) != 0) return;
    err e = {0};
    int rc = tenders_cancel(r->db, &a, id, jsonx_str(body, "reason"), &e);
    json_decref(body);
    reply_tender(r, rc, 200, &a, id, &e);
}

static void notices_post(http_req *r) {
    int64_t id;
    json_t *body;
    trade_actor a;
    if (begin(r, &id, NULL, 0, &body, &a) != 0) return;
    err e = {0};
    int64_t nid = 0;
    int rc = tenders_notice(r->db, &a, id, body, &nid, &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    json_t *t = tenders_get(r->db, &a, id, &e);
    if (!t) {
        http_reply_err(r, &e);
        return;
    }
    json_object_set_new(t, "notice_id", json_integer(nid));
    http_reply_json(r, 201, t);
}

static void notices_get(http_req *r) {
    int64_t id;
    trade_actor a;
    if (begin(r, &id, NULL, 0, NULL, &a) != 0) return;
    err e = {0};
    api_reply(r, 200, tenders_notices(r->db, &a, id, &e), &e);
}

static void file_get(http_req *r) {
    int64_t id, fid;
    trade_actor a;
    if (api_path_id(r, "id", "项目", &id) != 0 || api_path_id(r, "fid", "文件", &fid) != 0 ||
        api_trade_actor(r, &a) != 0)
        return;
    char path[700], name[300], type[160];
    err e = {0};
    if (tenders_file(r->db, &a, id, fid, path, sizeof(path), name, sizeof(name), type, sizeof(type),
                     &e) != 0) {
        http_reply_err(r, &e);
        return;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        http_reply_error(r, 404, "not_found", "fid", "文件已不存在");
        return;
    }
    char *buf = malloc(FILE_MAX);
    size_t n = buf ? fread(buf, 1, FILE_MAX, f) : 0;
    fclose(f);
    if (!buf) {
        http_reply_error(r, 500, "internal", "", "内存不足");
        return;
    }
    /* the client's filename only as a percent-encoded display name */
    char disp[1000];
    size_t o = (size_t)snprintf(disp, sizeof(disp), "attachment; filename*=UTF-8''");
    for (const unsigned char *p = (const unsigned char *)name; *p && o + 4 < sizeof(disp); p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '.' || *p == '-' || *p == '_')
            disp[o++] = (char)*p;
        else
            o += (size_t)snprintf(disp + o, sizeof(disp) - o, "%%%02X", *p);
    }
    disp[o] = '\0';
    http_set_header(r, "Content-Disposition", disp);
    http_set_header(r, "X-Content-Type-Options", "nosniff");
    /* stored types come from uploaders: serve anything but PDF as a download */
    http_reply_bytes(r, 200, strcmp(type, "application/pdf") ? "application/octet-stream" : type,
                     buf, n);
    free(buf);
}

/* ---- companies ---- */

static void companies_post(http_req *r) {
    json_t *body;
    trade_actor a;
    if (begin(r, NULL, NULL, 0, &body, &a) != 0) return;
    err e = {0};
    int64_t cid = 0;
    int rc = tenders_company_register(r->db, &a, body, &cid, &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    a.company_id = cid;
    api_reply(r, 201, tenders_company_me(r->db, &a, &e), &e);
}

static void companies_me(http_req *r) {
    trade_actor a;
    if (api_trade_actor(r, &a) != 0) return;
    err e = {0};
    api_reply(r, 200, tenders_company_me(r->db, &a, &e), &e);
}

static void companies_get_list(http_req *r) {
    trade_actor a;
    if (api_trade_actor(r, &a) != 0) return;
    int64_t limit, offset;
    if (http_query_int(r, "limit", 50, 1, 200, &limit) != 0) return;
    if (http_query_int(r, "offset", 0, 0, 1000000, &offset) != 0) return;
    err e = {0};
    api_reply(r, 200, tenders_company_list(r->db, &a, http_query(r, "q"), limit, offset, &e), &e);
}

/* ---- deposits ---- */

static void deposits_post(http_req *r) {
    int64_t id;
    json_t *body;
    trade_actor a;
    if (begin(r, &id, NULL, 0, &body, &a) != 0) return;
    err e = {0};
    int64_t did = 0;
    int rc = tenders_deposit_pay(r->db, &a, id, body, &did, &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    json_t *list = tenders_deposits(r->db, &a, id, &e);
    json_t *mine = NULL;
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(list, "items"), i, x) {
        if (json_integer_value(json_object_get(x, "id")) == did) mine = json_incref(x);
    }
    json_decref(list);
    if (!mine) mine = json_pack("{s:I}", "id", (json_int_t)did);
    http_reply_json(r, 201, mine);
}

static void deposits_get(http_req *r) {
    int64_t id;
    trade_actor a;
    if (begin(r, &id, NULL, 0, NULL, &a) != 0) return;
    err e = {0};
    api_reply(r, 200, tenders_deposits(r->db, &a, id, &e), &e);
}

const http_route api_trade_routes[] = {
    {M_GET, "/api/v1/trade/tenders", tenders_get_list, 0, PUBLIC_AUTH, 0, NULL},
    {M_POST, "/api/v1/trade/tenders", tenders_post, STAFF, 0, 0, NULL},
    {M_GET, "/api/v1/trade/tenders/{id}", tender_get_one, 0, PUBLIC_AUTH, 0, NULL},
    {M_PATCH, "/api/v1/trade/tenders/{id}", tender_patch, STAFF, 0, 0, NULL},
    {M_POST, "/api/v1/trade/tenders/{id}/announce", tender_announce, STAFF, 0, 0, NULL},
    {M_POST, "/api/v1/trade/tenders/{id}/cancel", tender_cancel, STAFF, 0, 0, NULL},
    {M_POST, "/api/v1/trade/tenders/{id}/notices", notices_post, STAFF, 0, 0, NULL},
    {M_GET, "/api/v1/trade/tenders/{id}/notices", notices_get, 0, PUBLIC_AUTH, 0, NULL},
    {M_GET, "/api/v1/trade/tenders/{id}/files/{fid}", file_get, 0, PUBLIC_AUTH, 0, NULL},
    {M_GET, "/api/v1/trade/results", results_get, 0, PUBLIC_AUTH, 0, NULL},
    {M_POST, "/api/v1/trade/companies", companies_post, BIDDERS, 0, 0, NULL},
    {M_GET, "/api/v1/trade/companies/me", companies_me, BIDDERS, 0, 0, NULL},
    {M_GET, "/api/v1/trade/companies", companies_get_list, SUPERVISE, 0, 0, NULL},
    {M_POST, "/api/v1/trade/tenders/{id}/deposits", deposits_post, BIDDERS | STAFF, 0, 0, NULL},
    {M_GET, "/api/v1/trade/tenders/{id}/deposits", deposits_get, BIDDERS | SUPERVISE, 0, 0, NULL},
};
const size_t api_trade_route_count = sizeof(api_trade_routes) / sizeof(api_trade_routes[0]);
