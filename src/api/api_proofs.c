/* api_proofs: 证明事项协同 — requests, the village → town → district steps, the
 * signed PDF, verification and the revocation list. Handlers decode, call
 * src/proofs/, encode.
 *
 *   GET  /api/v1/proofs/kinds                      the proofs one can ask for (public)
 *   GET  /api/v1/proofs/keys                       the published public keys (public)
 *   GET  /api/v1/proofs/revoked                    revocation list: numbers and dates (public)
 *   POST /api/v1/proofs/verify                     {"qr"} → verdict (public)
 *   POST /api/v1/proofs                            request (citizen)
 *   GET  /api/v1/proofs?mine=1&status=&town=       mine, or the staff queue of my jurisdiction
 *   GET  /api/v1/proofs/{id}                       one proof with its steps (404 if not mine
 *                                                   and not in my jurisdiction)
 *   GET  /api/v1/proofs/{id}/pdf                   the signed PDF
 *   POST /api/v1/proofs/{id}/actions/{action}      check_village | check_town | issue | refuse
 *   POST /api/v1/proofs/{id}/revoke                {"reason"}
 *   GET  /verify/{proof_no}                        verdict: JSON, or a page for browsers */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/jsonx.h"
#include "base/strbuf.h"
#include "proofs/proofs.h"

#define HANDLERS (ROLE_STAFF | ROLE_APPROVER)

static int actor_for(http_req *r, proofs_actor *a) {
    memset(a, 0, sizeof(*a));
    a->user_id = r->user.id;
    a->role = r->user.role;
    a->audit = api_actor(r);
    err e = {0};
    if (proofs_actor_load(r->db, a, &e) != 0) {
        http_reply_err(r, &e);
        return -1;
    }
    return 0;
}

static void reply_or_err(http_req *r, int status, json_t *body, const err *e) {
    if (!body) {
        http_reply_err(r, e);
        return;
    }
    http_reply_json(r, status, body);
}

static void reply_proof(http_req *r, int status, proofs_actor *a, int64_t id) {
    err e = {0};
    json_t *p = proofs_get(r->db, a, id, &e);
    reply_or_err(r, status, p ? json_pack("{s:o}", "proof", p) : NULL, &e);
}

/* ---- public ---- */

static void kinds(http_req *r) {
    err e = {0};
    reply_or_err(r, 200, proofs_kinds_json(r->db, &e), &e);
}

static void keys(http_req *r) {
    err e = {0};
    reply_or_err(r, 200, proofs_keys_json(r->db, &e), &e);
}

static void revoked(http_req *r) {
    int64_t limit, offset;
    if (http_query_int(r, "limit", 100, 1, 1000, &limit) != 0) return;
    if (http_query_int(r, "offset", 0, 0, 10000000, &offset) != 0) return;
    err e = {0};
    reply_or_err(r, 200, proofs_revoked_list(r->db, (int)limit, (int)offset, &e), &e);
}

static void verify_qr(http_req *r) {
    static const jsonx_field spec[] = {{"qr", JX_STRING, 1, PROOFS_QR_MAX}, {NULL}};
    json_t *body = http_json_body(r, NULL);
    if (!body) return;
    err e = {0};
    proofs_verdict v;
    int rc = jsonx_check(body, spec, &e);
    if (rc == 0) rc = proofs_verify_qr(r->db, jsonx_str(body, "qr"), &v, &e);
    json_decref(body);
    reply_or_err(r, 200, rc == 0 ? proofs_verdict_json(&v) : NULL, &e);
}

static void html_escaped(strbuf *b, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '<':
            strbuf_puts(b, "&lt;");
            break;
        case '>':
            strbuf_puts(b, "&gt;");
            break;
        case '&':
            strbuf_puts(b, "&amp;");
            break;
        case '"':
            strbuf_puts(b, "&quot;");
            break;
        case '\'':
            strbuf_puts(b, "&#39;");
            break;
        default:
            strbuf_append(b, s, 1);
        }
    }
}

static void row(strbuf *b, const char *label, const char *value) {
    strbuf_printf(b, "<dt>%s</dt><dd>", label);
    html_escaped(b, value);
    strbuf_puts(b, "</dd>");
}

/* The verdict as a small page for a phone that scanned the QR code. */
static void verify_page(http_req *r, int status, const proofs_verdict *v) {
    strbuf b;
    strbuf_init(&b, 64 * 1024);
    strbuf_puts(&b, "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                    "<title>证明核验</title><link rel=\"stylesheet\" href=\"/css/app.css\">"
                    "</head><body><main class=\"verify\"><h1>证明核验</h1>");
    strbuf_printf(&b, "<p class=\"verdict %s\" data-status=\"%s\"><strong>%s</strong> ",
                  v->valid ? "valid" : "invalid", v->status, v->valid ? "有效" : "无效");
    html_escaped(&b, v->message);
    strbuf_puts(&b, "</p>");
    if (v->have_proof) {
        strbuf_puts(&b, "<dl>");
        row(&b, "证明", v->title);
        row(&b, "编号", v->proof_no);
        row(&b, "持有人", v->holder);
        row(&b, "签发机关", v->issuer);
        row(&b, "签发时间", v->issued_at);
        row(&b, "有效期至", v->valid_until);
        if (v->revoked_at[0]) row(&b, "吊销时间", v->revoked_at);
        row(&b, "签名密钥", v->key_id);
        strbuf_puts(&b, "</dl>");
    }
    strbuf_puts(&b, "<p>核验结果以本平台记录为准。公钥见 <a href=\"/api/v1/proofs/keys\">"
                    "/api/v1/proofs/keys</a>，吊销名单见 <a href=\"/api/v1/proofs/revoked\">"
                    "/api/v1/proofs/revoked</a>。</p></main></body></html>\n");
    http_reply_bytes(r, status, "text/html; charset=utf-8", strbuf_str(&b), b.len);
    strbuf_free(&b);
}

static void verify_no(http_req *r) {
    err e = {0};
    proofs_verdict v;
    if (proofs_verify_no(r->db, http_param(r, "no"), &v, &e) != 0) {
        http_reply_err(r, &e);
        return;
    }
    int status = !strcmp(v.status, "not_found") ? 404 : 200;
    const char *format = http_query(r, "format");
    const char *accept = http_header(r, "Accept");
    int html = format
                   ? !strcmp(format, "html")
                   : accept && strstr(accept, "text/html") && !strstr(accept, "application/json");
    if (html) {
        verify_page(r, status, &v);
        return;
    }
    json_t *out = proofs_verdict_json(&v);
    if (status == 404)
        json_object_set_new(out, "error",
                            json_pack("{s:s, s:s, s:s}", "code", "not_found", "message", v.message,
                                      "field", "proof_no"));
    http_reply_json(r, status, out);
}

/* ---- residents and staff ---- */

static void create(http_req *r) {
    json_t *body = http_json_body(r, NULL);
    if (!body) return;
    proofs_actor a;
    if (actor_for(r, &a) != 0) {
        json_decref(body);
        return;
    }
    err e = {0};
    int64_t id = 0;
    int rc = proofs_request(r->db, &a, body, &id, &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    reply_proof(r, 201, &a, id);
}

static void list(http_req *r) {
    proofs_actor a;
    if (actor_for(r, &a) != 0) return;
    proofs_filter f = {0};
    const char *mine = http_query(r, "mine");
    f.mine = mine && (!strcmp(mine, "1") || !strcmp(mine, "true"));
    f.status = http_query(r, "status");
    f.town = http_query(r, "town");
    int64_t limit, offset;
    if (http_query_int(r, "limit", 20, 1, PROOFS_LIST_MAX, &limit) != 0) return;
    if (http_query_int(r, "offset", 0, 0, 1000000, &offset) != 0) return;
    f.limit = (int)limit;
    f.offset = (int)offset;
    err e = {0};
    reply_or_err(r, 200, proofs_list(r->db, &a, &f, &e), &e);
}

static void get(http_req *r) {
    int64_t id;
    proofs_actor a;
    if (api_path_id(r, "id", "证明", &id) != 0 || actor_for(r, &a) != 0) return;
    reply_proof(r, 200, &a, id);
}

static void pdf(http_req *r) {
    int64_t id;
    proofs_actor a;
    if (api_path_id(r, "id", "证明", &id) != 0 || actor_for(r, &a) != 0) return;
    err e = {0};
    unsigned char *data = NULL;
    size_t len = 0;
    char name[64], disp[128];
    if (proofs_pdf_get(r->db, &a, id, &data, &len, name, sizeof(name), &e) != 0) {
        http_reply_err(r, &e);
        return;
    }
    snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", name);
    http_set_header(r, "Content-Disposition", disp);
    http_reply_bytes(r, 200, "application/pdf", data, len);
    free(data);
}

static void action(http_req *r) {
    static const jsonx_field spec[] = {{"note", JX_STRING, 0, PROOFS_REASON_MAX},
                                       {"reason", JX_STRING, 0, PROOFS_REASON_MAX},
                                       {"valid_until", JX_STRING, 0, 16},
                                       {NULL}};
    int64_t id;
    if (api_path_id(r, "id", "证明", &id) != 0) return;
    json_t *body = api_body(r, spec, 1);
    if (!body) return;
    err e = {0};
    proofs_actor a;
    if (actor_for(r, &a) != 0) {
        json_decref(body);
        return;
    }
    const char *act = http_param(r, "action");
    const char *text =
        act && !strcmp(act, "refuse") ? jsonx_str(body, "reason") : jsonx_str(body, "note");
    int rc = proofs_act(r->db, &a, id, act, text, jsonx_str(body, "valid_until"), &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    reply_proof(r, 200, &a, id);
}

static void revoke(http_req *r) {
    static const jsonx_field spec[] = {{"reason", JX_STRING, 1, PROOFS_REASON_MAX}, {NULL}};
    int64_t id;
    if (api_path_id(r, "id", "证明", &id) != 0) return;
    json_t *body = api_body(r, spec, 0);
    if (!body) return;
    err e = {0};
    proofs_actor a;
    if (actor_for(r, &a) != 0) {
        json_decref(body);
        return;
    }
    int rc = proofs_revoke(r->db, &a, id, jsonx_str(body, "reason"), &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    reply_proof(r, 200, &a, id);
}

const http_route api_proofs_routes[] = {
    {M_GET, "/api/v1/proofs/kinds", kinds, 0, ROUTE_PUBLIC, 0, NULL},
    {M_GET, "/api/v1/proofs/keys", keys, 0, ROUTE_PUBLIC, 0, NULL},
    {M_GET, "/api/v1/proofs/revoked", revoked, 0, ROUTE_PUBLIC, 0, NULL},
    {M_POST, "/api/v1/proofs/verify", verify_qr, 0, ROUTE_PUBLIC, 16 * 1024, NULL},
    {M_POST, "/api/v1/proofs", create, ROLE_CITIZEN, 0, 0, NULL},
    {M_GET, "/api/v1/proofs", list, ROLE_ANY, 0, 0, NULL},
    {M_GET, "/api/v1/proofs/{id}", get, ROLE_ANY, 0, 0, NULL},
    {M_GET, "/api/v1/proofs/{id}/pdf", pdf, ROLE_ANY, 0, 0, NULL},
    {M_POST, "/api/v1/proofs/{id}/actions/{action}", action, HANDLERS, 0, 0, NULL},
    {M_POST, "/api/v1/proofs/{id}/revoke", revoke, HANDLERS, 0, 0, NULL},
    {M_GET, "/verify/{no}", verify_no, 0, ROUTE_PUBLIC, 0, NULL},
};
const size_t api_proofs_route_count = sizeof(api_proofs_routes) / sizeof(api_proofs_routes[0]);
