/* verify: is this proof genuine, unaltered, unrevoked and in date?
 *
 * With the database (proofs_verify_qr), the order of checks is chosen so that
 * the answer names what is wrong: first the QR text's shape; then, when the
 * platform holds an issued record under that number, each signed field is
 * compared with the record (a changed holder or date says "altered: holder"
 * rather than only "bad signature"); then the key must be one the platform
 * published, the signature must hold, the proof must not be revoked, and its
 * valid_until (Shanghai date, inclusive) must not be past. Without a record the
 * key and signature are checked before saying "not_found", so a forgery with an
 * invented number reads "bad_signature".
 *
 * Nothing here writes; the public answers carry the masked holder at most. */
#include "proofs/proofs.h"
#include "base/jsonx.h"
#include "base/timeutil.h"
#include "workcal/workcal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set(proofs_verdict *v, const char *status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void set(proofs_verdict *v, const char *status, const char *field, const char *fmt, ...) {
    v->valid = !strcmp(status, "valid");
    snprintf(v->status, sizeof(v->status), "%s", status);
    snprintf(v->field, sizeof(v->field), "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->message, sizeof(v->message), fmt, ap);
    va_end(ap);
}

static void fill_public(proofs_verdict *v, const proofs_fields *f) {
    v->have_proof = 1;
    snprintf(v->proof_no, sizeof(v->proof_no), "%s", f->proof_no);
    snprintf(v->kind, sizeof(v->kind), "%s", f->kind);
    const proofs_kind *k = proofs_kind_find(f->kind);
    snprintf(v->title, sizeof(v->title), "%s", k ? k->title : "");
    snprintf(v->holder, sizeof(v->holder), "%s", f->holder);
    snprintf(v->issuer, sizeof(v->issuer), "%s", f->issuer);
    snprintf(v->issued_at, sizeof(v->issued_at), "%s", f->issued_at);
    snprintf(v->valid_until, sizeof(v->valid_until), "%s", f->valid_until);
    snprintf(v->key_id, sizeof(v->key_id), "%s", f->key_id);
}

static int expired(const char *valid_until) {
    char day[16];
    workcal_date_format(workcal_local_date(time_now()), day, sizeof(day));
    return strcmp(day, valid_until) > 0;
}

/* The public key registered under key_id: 1 found, 0 not, -1 error. */
static int find_key(db *d, const char *key_id, unsigned char pk[32], err *e) {
    db_stmt *s = db_query(d, e, "SELECT public_key FROM proof_keys WHERE key_id = $1", "s", key_id);
    if (!s) return -1;
    int rc = db_step(s);
    int found = 0;
    if (rc == DB_ROW) found = proofs_pubkey_parse(db_column_text(s, 0), pk) == 0;
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "%s", db_errmsg(d));
    return found;
}

/* The issued (or revoked) record of proof_no: its QR text and status. 1 found, 0 not. */
static int find_record(db *d, const char *proof_no, char **qr, char *status, size_t sn,
                       char *revoked_at, size_t rn, err *e) {
    *qr = NULL;
    status[0] = revoked_at[0] = '\0';
    db_stmt *s = db_query(d, e,
                          "SELECT status, payload, signature, revoked_at FROM proofs "
                          "WHERE proof_no = $1 AND status IN ('issued', 'revoked')",
                          "s", proof_no);
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ROW && db_column_text(s, 1) && db_column_text(s, 2)) {
        snprintf(status, sn, "%s", db_column_text(s, 0));
        if (db_column_text(s, 3)) snprintf(revoked_at, rn, "%s", db_column_text(s, 3));
        *qr = proofs_qr_text(db_column_text(s, 1), db_column_text(s, 2), proof_no);
    }
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "%s", db_errmsg(d));
    return *qr != NULL;
}

/* Signature, revocation and expiry of a record whose fields are trusted as parsed. */
static int finish(db *d, const proofs_parsed *q, const char *status, const char *revoked_at,
                  proofs_verdict *v, err *e) {
    unsigned char pk[32];
    int k = find_key(d, q->f.key_id, pk, e);
    if (k < 0) return -1;
    if (k == 0) {
        set(v, "unknown_key", "key_id", "签名密钥 %s 不是本平台公布的密钥", q->f.key_id);
        return 0;
    }
    if (!proofs_signature_ok(pk, q->payload, q->sig)) {
        set(v, "bad_signature", "signature", "签名不正确：二维码内容被改动或伪造");
        return 0;
    }
    if (!status) {
        set(v, "not_found", "proof_no", "签名有效，但平台没有编号为 %s 的证明记录", q->f.proof_no);
        return 0;
    }
    if (!strcmp(status, "revoked")) {
        snprintf(v->revoked_at, sizeof(v->revoked_at), "%s", revoked_at);
        set(v, "revoked", "", "证明已于 %.10s 吊销", revoked_at);
        return 0;
    }
    if (expired(q->f.valid_until)) {
        set(v, "expired", "valid_until", "证明已过期（有效期至 %s）", q->f.valid_until);
        return 0;
    }
    set(v, "valid", "", "证明有效：签名正确，未被吊销，在有效期内（至 %s）", q->f.valid_until);
    return 0;
}

int proofs_verify_qr(db *d, const char *qr, proofs_verdict *v, err *e) {
    memset(v, 0, sizeof(*v));
    proofs_parsed q;
    err pe = {0};
    if (proofs_qr_parse(qr, &q, &pe) != 0) {
        set(v, "malformed", pe.field, "二维码内容无法识别：%s", pe.message);
        return 0;
    }
    fill_public(v, &q.f);
    char *rec_qr = NULL, status[20], revoked_at[32];
    int found = find_record(d, q.f.proof_no, &rec_qr, status, sizeof(status), revoked_at,
                            sizeof(revoked_at), e);
    if (found < 0) return -1;
    if (!found) return finish(d, &q, NULL, NULL, v, e);
    proofs_parsed r;
    int bad = proofs_qr_parse(rec_qr, &r, &pe);
    free(rec_qr);
    if (bad) return err_internal(e, "the stored record of %s is unreadable", q.f.proof_no);
    const struct {
        const char *name, *got, *want;
    } cmp[] = {{"kind", q.f.kind, r.f.kind},
               {"holder", q.f.holder, r.f.holder},
               {"issuer", q.f.issuer, r.f.issuer},
               {"issued_at", q.f.issued_at, r.f.issued_at},
               {"valid_until", q.f.valid_until, r.f.valid_until},
               {"content_sha256", q.f.content_sha256, r.f.content_sha256},
               {"key_id", q.f.key_id, r.f.key_id}};
    for (size_t i = 0; i < sizeof(cmp) / sizeof(cmp[0]); i++) {
        if (strcmp(cmp[i].got, cmp[i].want) != 0) {
            set(v, "altered", cmp[i].name, "字段 %s 与签发记录不符：二维码内容被改动", cmp[i].name);
            return 0;
        }
    }
    return finish(d, &q, status, revoked_at, v, e);
}

int proofs_verify_no(db *d, const char *proof_no, proofs_verdict *v, err *e) {
    memset(v, 0, sizeof(*v));
    char *rec_qr = NULL, status[20], revoked_at[32];
    int found = proof_no && strlen(proof_no) == PROOFS_NO_LEN
                    ? find_record(d, proof_no, &rec_qr, status, sizeof(status), revoked_at,
                                  sizeof(revoked_at), e)
                    : 0;
    if (found < 0) return -1;
    if (!found) {
        set(v, "not_found", "proof_no", "没有这份证明");
        return 0;
    }
    proofs_parsed r;
    err pe = {0};
    int bad = proofs_qr_parse(rec_qr, &r, &pe);
    free(rec_qr);
    if (bad) return err_internal(e, "the stored record of %s is unreadable", proof_no);
    fill_public(v, &r.f);
    return finish(d, &r, status, revoked_at, v, e);
}

void proofs_verify_offline(const unsigned char pk[32], const char *qr, proofs_verdict *v) {
    memset(v, 0, sizeof(*v));
    proofs_parsed q;
    err pe = {0};
    if (proofs_qr_parse(qr, &q, &pe) != 0) {
        set(v, "malformed", pe.field, "二维码内容无法识别：%s", pe.message);
        return;
    }
    fill_public(v, &q.f);
    char kid[17];
    proofs_key_id(pk, kid);
    if (strcmp(kid, q.f.key_id) != 0) {
        set(v, "unknown_key", "key_id", "签名密钥 %s 不是所给的公钥（%s）", q.f.key_id, kid);
        return;
    }
    if (!proofs_signature_ok(pk, q.payload, q.sig)) {
        set(v, "bad_signature", "signature", "签名不正确：二维码内容被改动或伪造");
        return;
    }
    if (expired(q.f.valid_until)) {
        set(v, "expired", "valid_until", "证明已过期（有效期至 %s）", q.f.valid_until);
        return;
    }
    set(v, "valid", "", "签名正确，在有效期内（离线核验未查询吊销名单）");
}

json_t *proofs_verdict_json(const proofs_verdict *v) {
    json_t *o =
        json_pack("{s:b, s:s, s:s}", "valid", v->valid, "status", v->status, "message", v->message);
    if (v->field[0]) json_object_set_new(o, "field", json_string(v->field));
    if (v->have_proof) {
        json_object_set_new(
            o, "proof",
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "proof_no", v->proof_no,
                      "kind", v->kind, "title", v->title, "holder", v->holder, "issuer", v->issuer,
                      "issued_at", v->issued_at, "valid_until", v->valid_until, "key_id", v->key_id,
                      "revoked_at", jsonx_str_or_null(v->revoked_at[0] ? v->revoked_at : NULL)));
    }
    return o;
}
