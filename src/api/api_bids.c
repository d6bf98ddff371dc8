/* api_bids: sealed bids (电子投标). Handlers decode, call src/trade/bids, encode.
 *
 *   POST   /api/v1/trade/tenders/{id}/bids        multipart/form-data: envelope (file, ≤ 48
 *          MiB), envelope_kind (cms|sm2), commitment_sha256, commitment_sig (base64),
 *          cert_id (optional), machine_id (optional JSON)          (bidder, company)
 *          → 201 {bid_id, receipt, receipt_text, receipt_sig, key_id}
 *   GET    /api/v1/trade/tenders/{id}/bids        before the opening: the caller's own
 *          company's bids only (nobody else learns anything); after: every current bid
 *   DELETE /api/v1/trade/tenders/{id}/bids/mine   withdraw before the deadline
 *   GET    /api/v1/trade/bids/{id}/receipt        the signed receipt (own company; staff and
 *          supervisors after the opening)
 *   GET    /api/v1/trade/backup-cert              the centre's backup certificate (PEM, public)
 *
 * The body is spooled to disk by the server (ROUTE_UPLOAD); the envelope part is
 * read into memory (capped) because bids_submit() checks and hashes it whole. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "auth/roles.h"
#include "http/multipart.h"
#include "http/parse.h"
#include "trade/backup.h"
#include "trade/bids.h"

#define BIDDER_ROLES (ROLE_BIDDER | ROLE_COMPANY)
#define VIEW_ROLES   (ROLE_BIDDER | ROLE_COMPANY | ROLE_TRADING_STAFF | ROLE_SUPERVISOR | ROLE_ADMIN)
#define FIELD_MAX    4096

/* ---- the multipart form ---- */

enum { F_ENVELOPE, F_KIND, F_COMMIT, F_SIG, F_CERT, F_MACHINE, F_COUNT };
static const char *const field_names[F_COUNT] = {
    "envelope", "envelope_kind", "commitment_sha256", "commitment_sig", "cert_id", "machine_id"};

typedef struct bid_form {
    unsigned char *env;
    size_t env_len, env_cap;
    char *text[F_COUNT]; /* the small fields, NUL-terminated, FIELD_MAX each */
    size_t text_len[F_COUNT];
    int seen[F_COUNT];
    int current;     /* field being read, -1 none */
    size_t body_len; /* the whole upload's size */
    err e;
} bid_form;

static int form_begin(void *arg, const multipart_part_info *info) {
    bid_form *f = arg;
    f->current = -1;
    for (int i = 0; i < F_COUNT; i++)
        if (!strcmp(info->name, field_names[i])) f->current = i;
    if (f->current < 0) {
        err_invalid(&f->e, "body", "未知的表单字段");
        return -1;
    }
    if (f->seen[f->current]++) {
        err_invalid(&f->e, field_names[f->current], "表单字段 %s 重复", field_names[f->current]);
        return -1;
    }
    return 0;
}

static int form_data(void *arg, const char *data, size_t len) {
    bid_form *f = arg;
    int i = f->current;
    if (i < 0) return 0;
    if (i == F_ENVELOPE) {
        if (f->env_len + len > BIDS_ENVELOPE_MAX) {
            err_set(&f->e, 413, "payload_too_large", "envelope", "数字信封超过 %u 字节上限",
                    BIDS_ENVELOPE_MAX);
            return -1;
        }
        if (f->env_len + len > f->env_cap) {
            /* First guess: the whole body (one allocation, no regrowth copies). */
            size_t cap = f->env_cap ? f->env_cap : (f->body_len ? f->body_len : 1 << 20);
            while (cap < f->env_len + len)
                cap *= 2;
            if (cap > BIDS_ENVELOPE_MAX) cap = BIDS_ENVELOPE_MAX;
            unsigned char *n = realloc(f->env, cap);
            if (!n) {
                err_internal(&f->e, "内存不足");
                return -1;
            }
            f->env = n;
            f->env_cap = cap;
        }
        memcpy(f->env + f->env_len, data, len);
        f->env_len += len;
        return 0;
    }
    if (!f->text[i]) f->text[i] = calloc(1, FIELD_MAX + 1);
    if (!f->text[i] || f->text_len[i] + len > FIELD_MAX) {
        err_invalid(&f->e, field_names[i], "表单字段 %s 过长", field_names[i]);
        return -1;
    }
    memcpy(f->text[i] + f->text_len[i], data, len);
    f->text_len[i] += len;
    return 0;
}

static const char *form_text(bid_form *f, int i) {
    if (!f->text[i]) return NULL;
    /* Trim a trailing newline that shells add to `-F field=<file`. */
    while (f->text_len[i] &&
           (f->text[i][f->text_len[i] - 1] == '\n' || f->text[i][f->text_len[i] - 1] == '\r'))
        f->text[i][--f->text_len[i]] = '\0';
    if (strlen(f->text[i]) != f->text_len[i]) return ""; /* NUL inside: refused as empty */
    return f->text[i];
}

static void form_free(bid_form *f) {
    free(f->env);
    for (int i = 0; i < F_COUNT; i++)
        free(f->text[i]);
}

static void submit(http_req *r) {
    int64_t tender_id;
    if (api_path_id(r, "id", "项目", &tender_id) != 0) return;
    const char *ct = http_header(r, "Content-Type");
    char *media = NULL, *boundary = NULL;
    if (!ct || http_parse_content_type(r->arena, ct, "boundary", &media, &boundary) != 0 ||
        strcmp(media, "multipart/form-data") != 0 || !boundary) {
        http_reply_error(r, 415, "unsupported_media_type", "Content-Type",
                         "请使用带 boundary 的 multipart/form-data 递交投标文件");
        return;
    }
    if (!r->upload_path) {
        http_reply_error(r, 400, "invalid_argument", "envelope", "缺少投标文件数字信封");
        return;
    }
    trade_actor a;
    if (api_trade_actor(r, &a) != 0) return;
    bid_form f = {.current = -1, .body_len = (size_t)r->upload_len};
    multipart_callbacks cb = {form_begin, form_data, NULL};
    multipart_limits lim = {.max_parts = F_COUNT + 1};
    err e = {0};
    if (multipart_parse_file(r->upload_path, boundary, &lim, &cb, &f, &e) != 0) {
        http_reply_err(r, f.e.status ? &f.e : &e);
        form_free(&f);
        return;
    }
    int64_t cert_id = 0;
    const char *cert = form_text(&f, F_CERT);
    if (cert && *cert) {
        char *end;
        long long v = strtoll(cert, &end, 10);
        if (*end || v <= 0) {
            http_reply_error(r, 400, "invalid_argument", "cert_id", "cert_id 应为正整数");
            form_free(&f);
            return;
        }
        cert_id = v;
    }
    bids_submission in = {.envelope = f.env,
                          .envelope_len = f.env_len,
                          .envelope_kind = form_text(&f, F_KIND),
                          .commitment_sha256 = form_text(&f, F_COMMIT),
                          .commitment_sig = form_text(&f, F_SIG),
                          .cert_id = cert_id,
                          .client_ip = r->client_ip,
                          .machine_id_json = form_text(&f, F_MACHINE)};
    int64_t bid_id = 0;
    json_t *receipt = NULL;
    int rc = bids_submit(r->db, &a, tender_id, &in, &bid_id, &receipt, &e);
    form_free(&f);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    json_object_set_new(receipt, "bid_id", json_integer(bid_id));
    json_object_set_new(receipt, "status", json_string("sealed"));
    http_reply_json(r, 201, receipt);
}

static void list(http_req *r) {
    int64_t tender_id;
    trade_actor a;
    if (api_path_id(r, "id", "项目", &tender_id) != 0 || api_trade_actor(r, &a) != 0) return;
    err e = {0};
    json_t *out = bids_list(r->db, &a, tender_id, &e);
    if (!out) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, out);
}

static void withdraw(http_req *r) {
    int64_t tender_id;
    trade_actor a;
    if (api_path_id(r, "id", "项目", &tender_id) != 0 || api_trade_actor(r, &a) != 0) return;
    err e = {0};
    if (bids_withdraw(r->db, &a, tender_id, &e) != 0) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, json_pack("{s:s}", "status", "withdrawn"));
}

static void receipt(http_req *r) {
    int64_t bid_id;
    trade_actor a;
    if (api_path_id(r, "id", "投标", &bid_id) != 0 || api_trade_actor(r, &a) != 0) return;
    err e = {0};
    json_t *out = bids_receipt_get(r->db, &a, bid_id, &e);
    if (!out) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, out);
}

static void backup_cert(http_req *r) {
    err e = {0};
    char *pem = NULL, fp[65] = "";
    int rc = backup_active_cert(r->db, &pem, fp, &e);
    if (rc < 0) {
        http_reply_err(r, &e);
        return;
    }
    if (rc == 1) {
        http_reply_error(r, 404, "not_found", "", "交易中心尚未生成备份密钥");
        return;
    }
    http_set_header(r, "X-Cert-SHA256", fp);
    http_reply_bytes(r, 200, "application/x-pem-file", pem, strlen(pem));
    free(pem);
}

const http_route api_bids_routes[] = {
    {M_GET, "/api/v1/trade/backup-cert", backup_cert, 0, ROUTE_PUBLIC, 0, NULL},
    {M_POST, "/api/v1/trade/tenders/{id}/bids", submit, BIDDER_ROLES, ROUTE_UPLOAD,
     BIDS_ENVELOPE_MAX + 256 * 1024, NULL},
    {M_GET, "/api/v1/trade/tenders/{id}/bids", list, VIEW_ROLES, 0, 0, NULL},
    {M_DELETE, "/api/v1/trade/tenders/{id}/bids/mine", withdraw, BIDDER_ROLES, 0, 0, NULL},
    {M_GET, "/api/v1/trade/bids/{id}/receipt", receipt, VIEW_ROLES, 0, 0, NULL},
};
const size_t api_bids_route_count = sizeof(api_bids_routes) / sizeof(api_bids_routes[0]);
