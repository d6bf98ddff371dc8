/* api_eval: the expert pool, the panel draw, online scoring, the computed evaluation
 * and its report, candidate publicity with objections, award and contract
 * (src/trade/evaluate). Handlers decode, call, encode; the visibility rules (sealed
 * panel, anonymised bidders) live in the domain.
 *
 *   GET  /api/v1/trade/experts?q=                        the pool (staff)
 *   POST /api/v1/trade/experts                           add an expert (staff)
 *   POST /api/v1/trade/experts/{id}/conflicts            {"party","reason"} (staff)
 *   GET  /api/v1/trade/evaluations                       the caller's desk (expert / staff)
 *   POST /api/v1/trade/tenders/{id}/experts/draw         {"n":5} (staff)
 *   GET  /api/v1/trade/tenders/{id}/experts              the panel as the caller may see it
 *   GET  /api/v1/trade/tenders/{id}/evaluation           expert / staff / public view
 *   PUT  /api/v1/trade/tenders/{id}/scores               {"scores":[…]} (drawn expert)
 *   POST /api/v1/trade/tenders/{id}/scores/submit        final (drawn expert)
 *   POST /api/v1/trade/tenders/{id}/evaluation/compute   (staff)
 *   GET  /api/v1/trade/tenders/{id}/evaluation/report    the report as JSON
 *   GET  /api/v1/trade/tenders/{id}/evaluation/report.pdf
 *   POST /api/v1/trade/tenders/{id}/publicize            (staff)
 *   POST /api/v1/trade/tenders/{id}/objections           {"text"} (a bidder, in publicity)
 *   POST /api/v1/trade/tenders/{id}/objections/{oid}/reply {"reply"} (staff)
 *   POST /api/v1/trade/tenders/{id}/award                (staff, after publicity)
 *   POST /api/v1/trade/tenders/{id}/contract             {"contract_no","contract_amount"} */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "auth/roles.h"
#include "base/jsonx.h"
#include "trade/evaluate.h"
#include "trade/trade.h"

#define STAFF       (ROLE_TRADING_STAFF | ROLE_ADMIN)
#define PUBLIC_AUTH (ROUTE_PUBLIC | ROUTE_OPTIONAL_AUTH)

/* Decode actor and tender id; 0 or -1 (answered). */
static int begin(http_req *r, trade_actor *a, int64_t *id) {
    if (api_path_id(r, "id", "项目", id) != 0) return -1;
    return api_trade_actor(r, a);
}

/* After a state change: answer with the caller's evaluation view. */
static void done(http_req *r, int rc, const trade_actor *a, int64_t id, err *e) {
    if (rc != 0) {
        http_reply_err(r, e);
        return;
    }
    api_reply(r, 200, evaluate_get(r->db, a, id, e), e);
}

/* ---- the pool ---- */

static void experts_get(http_req *r) {
    trade_actor a;
    if (api_trade_actor(r, &a) != 0) return;
    err e = {0};
    api_reply(r, 200, evaluate_expert_list(r->db, &a, http_query(r, "q"), &e), &e);
}

static void experts_post(http_req *r) {
    trade_actor a;
    if (api_trade_actor(r, &a) != 0) return;
    json_t *body = api_body(r, NULL, 0);
    if (!body) return;
    err e = {0};
    int64_t id = 0;
    int rc = evaluate_expert_add(r->db, &a, body, &id, &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 201, json_pack("{s:I}", "id", (json_int_t)id));
}

static void conflicts_post(http_req *r) {
    int64_t id;
    if (api_path_id(r, "id", "专家", &id) != 0) return;
    trade_actor a;
    if (api_trade_actor(r, &a) != 0) return;
    static const jsonx_field spec[] = {
        {"party", JX_STRING, 1, TRADE_NAME_MAX}, {"reason", JX_STRING, 1, 500}, {NULL, 0, 0, 0}};
    json_t *body = api_body(r, spec, 0);
    if (!body) return;
    err e = {0};
    int rc = evaluate_expert_conflict_add(r->db, &a, id, jsonx_str(body, "party"),
                                          jsonx_str(body, "reason"), &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 201, json_pack("{s:I}", "expert_id", (json_int_t)id));
}

static void desk_get(http_req *r) {
    trade_actor a;
    if (api_trade_actor(r, &a) != 0) return;
    err e = {0};
    api_reply(r, 200, evaluate_assignments(r->db, &a, &e), &e);
}

/* ---- the panel ---- */

static void draw_post(http_req *r) {
    trade_actor a;
    int64_t id;
    if (begin(r, &a, &id) != 0) return;
    static const jsonx_field spec[] = {{"n", JX_INT, 0, 0}, {NULL, 0, 0, 0}};
    json_t *body = api_body(r, spec, 1);
    if (!body) return;
    long long n = jsonx_int(body, "n", EVAL_DRAW_DEFAULT);
    json_decref(body);
    if (n < EVAL_DRAW_MIN || n > EVAL_DRAW_MAX) {
        http_reply_error(r, 400, "invalid_argument", "n", "评标专家人数须为 %d–%d 之间的奇数",
                         EVAL_DRAW_MIN, EVAL_DRAW_MAX);
        return;
    }
    err e = {0};
    json_t *out = NULL;
    if (evaluate_draw(r->db, &a, id, (int)n, &out, &e) != 0) {
        http_reply_err(r, &e);
        return;
    }
    api_reply(r, 201, out, &e);
}

static void panel_get(http_req *r) {
    trade_actor a;
    int64_t id;
    if (begin(r, &a, &id) != 0) return;
    err e = {0};
    api_reply(r, 200, evaluate_experts_get(r->db, &a, id, &e), &e);
}

/* ---- evaluation ---- */

static void evaluation_get(http_req *r) {
    trade_actor a;
    int64_t id;
    if (begin(r, &a, &id) != 0) return;
    err e = {0};
    api_reply(r, 200, evaluate_get(r->db, &a, id, &e), &e);
}

static void scores_put(http_req *r) {
    trade_actor a;
    int64_t id;
    if (begin(r, &a, &id) != 0) return;
    json_t *body = api_body(r, NULL, 0);
    if (!body) return;
    err e = {0};
    int rc = evaluate_scores_put(r->db, &a, id, body, &e);
    json_decref(body);
    done(r, rc, &a, id, &e);
}

static void scores_submit(http_req *r) {
    trade_actor a;
    int64_t id;
    if (begin(r, &a, &id) != 0) return;
    err e = {0};
    done(r, evaluate_scores_submit(r->db, &a, id, &e), &a, id, &e);
}

static void compute_post(http_req *r) {
    trade_actor a;
    int64_t id;
    if (begin(r, &a, &id) != 0) return;
    err e = {0};
    done(r, evaluate_compute(r->db, &a, id, &e), &a, id, &e);
}

static void report_get(http_req *r) {
    trade_actor a;
    int64_t id;
    if (begin(r, &a, &id) != 0) return;
    err e = {0};
    api_reply(r, 200, evaluate_report_json(r->db, &a, id, &e), &e);
}

static void report_pdf(http_req *r) {
    trade_actor a;
    int64_t id;
    if (begin(r, &a, &id) != 0) return;
    err e = {0};
    unsigned char *pdf = NULL;
    size_t len = 0;
    if (evaluate_report_pdf(r->db, &a, id, &pdf, &len, &e) != 0) {
        http_reply_err(r, &e);
        return;
    }
    char disp[96];
    snprintf(disp, sizeof(disp), "inline; filename=\"evaluation-%lld.pdf\"", (long long)id);
    http_set_header(r, "Content-Disposition", disp);
    http_set_header(r, "Cache-Control", "private, no-store");
    http_reply_bytes(r, 200, "application/pdf", pdf, len);
    free(pdf);
}

/* ---- publicity, objections, award, contract ---- */

static void publicize_post(http_req *r) {
    trade_actor a;
    int64_t id;
    if (begin(r, &a, &id) != 0) return;
    err e = {0};
    done(r, evaluate_publicize(r->db, &a, id, &e), &a, id, &e);
}

static void objection_post(http_req *r) {
    trade_actor a;
    int64_t id;
    if (begin(r, &a, &id) != 0) return;
    static const jsonx_field spec[] = {{"text", JX_STRING, 1, EVAL_OBJECTION_MAX}, {NULL, 0, 0, 0}};
    json_t *body = api_body(r, spec, 0);
    if (!body) return;
    err e = {0};
    int64_t oid = 0;
    int rc = evaluate_objection_add(r->db, &a, id, jsonx_str(body, "text"), &oid, &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 201, json_pack("{s:I}", "id", (json_int_t)oid));
}

static void objection_reply(http_req *r) {
    trade_actor a;
    int64_t id, oid;
    if (begin(r, &a, &id) != 0) return;
    if (api_path_id(r, "oid", "异议", &oid) != 0) return;
    static const jsonx_field spec[] = {{"reply", JX_STRING, 1, EVAL_OBJECTION_MAX},
                                       {NULL, 0, 0, 0}};
    json_t *body = api_body(r, spec, 0);
    if (!body) return;
    err e = {0};
    int rc = evaluate_objection_reply(r->db, &a, id, oid, jsonx_str(body, "reply"), &e);
    json_decref(body);
    done(r, rc, &a, id, &e);
}

static void award_post(http_req *r) {
    trade_actor a;
    int64_t id;
    if (begin(r, &a, &id) != 0) return;
    err e = {0};
    done(r, evaluate_award(r->db, &a, id, &e), &a, id, &e);
}

static void contract_post(http_req *r) {
    trade_actor a;
    int64_t id;
    if (begin(r, &a, &id) != 0) return;
    static const jsonx_field spec[] = {
        {"contract_no", JX_STRING, 1, 64}, {"contract_amount", JX_ANY, 0, 0}, {NULL, 0, 0, 0}};
    json_t *body = api_body(r, spec, 0);
    if (!body) return;
    err e = {0};
    int64_t fen = 0;
    json_t *amt = json_object_get(body, "contract_amount");
    if (amt && !json_is_null(amt) && trade_money_from_json(amt, "contract_amount", &fen, &e) != 0) {
        json_decref(body);
        http_reply_err(r, &e);
        return;
    }
    int rc = evaluate_contract(r->db, &a, id, jsonx_str(body, "contract_no"), fen, &e);
    json_decref(body);
    done(r, rc, &a, id, &e);
}

const http_route api_eval_routes[] = {
    {M_GET, "/api/v1/trade/experts", experts_get, STAFF, 0, 0, NULL},
    {M_POST, "/api/v1/trade/experts", experts_post, STAFF, 0, 0, NULL},
    {M_POST, "/api/v1/trade/experts/{id}/conflicts", conflicts_post, STAFF, 0, 0, NULL},
    {M_GET, "/api/v1/trade/evaluations", desk_get, ROLE_ANY, 0, 0, NULL},
    {M_POST, "/api/v1/trade/tenders/{id}/experts/draw", draw_post, STAFF, 0, 0, NULL},
    {M_GET, "/api/v1/trade/tenders/{id}/experts", panel_get, ROLE_ANY, 0, 0, NULL},
    {M_GET, "/api/v1/trade/tenders/{id}/evaluation", evaluation_get, 0, PUBLIC_AUTH, 0, NULL},
    {M_PUT, "/api/v1/trade/tenders/{id}/scores", scores_put, ROLE_ANY, 0, 0, NULL},
    {M_POST, "/api/v1/trade/tenders/{id}/scores/submit", scores_submit, ROLE_ANY, 0, 0, NULL},
    {M_POST, "/api/v1/trade/tenders/{id}/evaluation/compute", compute_post, STAFF, 0, 0, NULL},
    {M_GET, "/api/v1/trade/tenders/{id}/evaluation/report", report_get, ROLE_ANY, 0, 0, NULL},
    {M_GET, "/api/v1/trade/tenders/{id}/evaluation/report.pdf", report_pdf, ROLE_ANY, 0, 0, NULL},
    {M_POST, "/api/v1/trade/tenders/{id}/publicize", publicize_post, STAFF, 0, 0, NULL},
    {M_POST, "/api/v1/trade/tenders/{id}/objections", objection_post, ROLE_ANY, 0, 0, NULL},
    {M_POST, "/api/v1/trade/tenders/{id}/objections/{oid}/reply", objection_reply, STAFF, 0, 0,
     NULL},
    {M_POST, "/api/v1/trade/tenders/{id}/award", award_post, STAFF, 0, 0, NULL},
    {M_POST, "/api/v1/trade/tenders/{id}/contract", contract_post, STAFF, 0, 0, NULL},
};
const size_t api_eval_route_count = sizeof(api_eval_routes) / sizeof(api_eval_routes[0]);
