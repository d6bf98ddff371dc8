/* bids: sealed bid submission, replacement history, reveal (see bids.h).
 *
 * What this file must never do: hold or derive anything that opens an envelope,
 * write a bid row whose envelope is not durably on disk, or tell anyone but the
 * submitting company that a bid exists before the tender's bids are public. */
#include "trade/bids.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/pem.h> /* before cms.h: declares PEM_read_bio_CMS */
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/roles.h"
#include "base/crypto.h"
#include "base/jsonx.h"
#include "base/timeutil.h"
#include "proofs/proofs.h"
#include "trade/backup.h"
#include "trade/ca.h"

/* ---- small helpers ---- */

/* OpenSSL's SHA-256 (SHA-NI/AVX2): libsodium's portable one was half of the server's
 * CPU time in the deadline burst (bench/bids.sh). */
static void sha256_hex(const void *data, size_t len, char out[65]) {
    unsigned char h[32];
    unsigned int n = 0;
    if (EVP_Digest(data, len, h, &n, EVP_sha256(), NULL) != 1 || n != 32) memset(h, 0, 32);
    sodium_bin2hex(out, 65, h, sizeof(h));
}

static int is_hex64(const char *s) {
    if (!s || strlen(s) != 64) return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return 0;
    return 1;
}

static int is_hex_n(const char *s, size_t n) {
    if (!s || strlen(s) != n) return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')))
            return 0;
    return 1;
}

char *bids_commitment_string(const char *tender_no, const char *uscc, const char *sha256_hex_s,
                             char *buf, size_t n) {
    snprintf(buf, n, "isle-bid-commitment:v1:%s:%s:%s", tender_no, uscc, sha256_hex_s);
    return buf;
}

/* Decode standard base64 (with padding; newlines tolerated) into a malloc'd buffer. */
static unsigned char *b64_decode(const char *s, size_t slen, size_t *out_len) {
    size_t cap = slen / 4 * 3 + 4;
    unsigned char *out = malloc(cap ? cap : 1);
    if (!out) return NULL;
    const char *end = NULL;
    if (sodium_base642bin(out, cap, s, slen, "\r\n", out_len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != s + slen) {
        free(out);
        return NULL;
    }
    return out;
}

/* SHA-256 of a certificate's DER from its PEM into fp. 0 or -1. */
static int cert_fingerprint(X509 *x, char fp[65]) {
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    if (n <= 0) return -1;
    sha256_hex(der, (size_t)n, fp);
    OPENSSL_free(der);
    return 0;
}

static X509 *x509_from_pem(const char *pem) {
    if (!pem) return NULL;
    BIO *b = BIO_new_mem_buf(pem, -1);
    if (!b) return NULL;
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    return x;
}

/* Write data to dir/name durably: temp file, fsync, rename, fsync of the directory.
 * An existing file of the same size is kept (content-addressed names); *created (may be
 * NULL) tells whether this call made the file. */
static int store_file(const char *name, const void *data, size_t len, int *created, err *e) {
    char dir[512], final[640], tmp[640];
    if (created) *created = 0;
    if (trade_dir("bids", dir, sizeof(dir), e) != 0) return -1;
    snprintf(final, sizeof(final), "%s/%s", dir, name);
    struct stat st;
    if (stat(final, &st) == 0 && (size_t)st.st_size == len) return 0;
    if (created) *created = 1;
    snprintf(tmp, sizeof(tmp), "%s/.tmp-XXXXXX", dir);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) return err_internal(e, "无法保存投标文件");
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            close(fd);
            unlink(tmp);
            return err_internal(e, "无法保存投标文件（磁盘写入失败）");
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        unlink(tmp);
        return err_internal(e, "无法保存投标文件（fsync 失败）");
    }
    if (rename(tmp, final) != 0) {
        unlink(tmp);
        return err_internal(e, "无法保存投标文件");
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

/* ---- envelope checks ---- */

static CMS_ContentInfo *cms_parse(const unsigned char *env, size_t len) {
    if (len > INT32_MAX) return NULL;
    BIO *b = BIO_new_mem_buf(env, (int)len);
    if (!b) return NULL;
    CMS_ContentInfo *c = NULL;
    if (len > 10 && memcmp(env, "-----BEGIN", 10) == 0) {
        c = PEM_read_bio_CMS(b, NULL, NULL, NULL);
    } else { /* straight from memory: d2i_CMS_bio would copy the whole envelope first */
        const unsigned char *p = env;
        c = d2i_CMS_ContentInfo(NULL, &p, (long)len);
    }
    BIO_free(b);
    ERR_clear_error();
    return c;
}

/* 1 if one of the CMS recipients is x (key transport or key agreement). */
static int cms_has_recipient(CMS_ContentInfo *c, X509 *x) {
    STACK_OF(CMS_RecipientInfo) *ris = CMS_get0_RecipientInfos(c);
    for (int i = 0; ris && i < sk_CMS_RecipientInfo_num(ris); i++) {
        CMS_RecipientInfo *ri = sk_CMS_RecipientInfo_value(ris, i);
        int t = CMS_RecipientInfo_type(ri);
        if (t == CMS_RECIPINFO_TRANS) {
            if (CMS_RecipientInfo_ktri_cert_cmp(ri, x) == 0) return 1;
        } else if (t == CMS_RECIPINFO_AGREE) {
            STACK_OF(CMS_RecipientEncryptedKey) *reks = CMS_RecipientInfo_kari_get0_reks(ri);
            for (int j = 0; reks && j < sk_CMS_RecipientEncryptedKey_num(reks); j++)
                if (CMS_RecipientEncryptedKey_cert_cmp(sk_CMS_RecipientEncryptedKey_value(reks, j),
                                                       x) == 0)
                    return 1;
        }
    }
    ERR_clear_error();
    return 0;
}

static int check_cms(const unsigned char *env, size_t len, X509 *bidder, X509 *backup,
                     int *to_backup, err *e) {
    CMS_ContentInfo *c = cms_parse(env, len);
    if (!c) return err_invalid(e, "envelope", "投标文件不是有效的 CMS 数字信封（DER 或 PEM）");
    int rc = 0;
    ASN1_OCTET_STRING **content = NULL;
    if (OBJ_obj2nid(CMS_get0_type(c)) != NID_pkcs7_enveloped) {
        rc = err_invalid(e, "envelope", "CMS 内容不是 EnvelopedData（数字信封）");
    } else if (!(content = CMS_get0_content(c)) || !*content || (*content)->length <= 0) {
        rc = err_invalid(e, "envelope", "数字信封中没有加密内容");
    } else if (!cms_has_recipient(c, bidder)) {
        rc = err_set(e, 422, "recipient_missing", "envelope", "数字信封的接收者不包含投标人的证书");
    } else {
        int b = backup ? cms_has_recipient(c, backup) : 0;
        if (backup && !b)
            rc = err_set(e, 422, "recipient_missing", "envelope",
                         "本项目要求投标文件同时加密给交易中心备份证书");
        if (to_backup) *to_backup = b;
    }
    CMS_ContentInfo_free(c);
    return rc;
}

/* The "sm2" container: {"v":1,"alg":"SM4-CBC","iv":hex32,"recipients":[{"cert_sha256",
 * "key"}],"ciphertext":base64}. Structure only: the server cannot open it. */
static int check_sm2(const unsigned char *env, size_t len, const char *bidder_fp,
                     const char *backup_fp, int *to_backup, err *e) {
    json_error_t je;
    json_t *o = json_loadb((const char *)env, len, JSON_REJECT_DUPLICATES, &je);
    if (!o || !json_is_object(o)) {
        json_decref(o);
        return err_invalid(e, "envelope", "SM2 数字信封不是有效的 JSON");
    }
    int rc = 0, has_bidder = 0, has_backup = 0;
    json_t *v = json_object_get(o, "v");
    const char *alg = jsonx_str(o, "alg"), *iv = jsonx_str(o, "iv");
    json_t *recips = json_object_get(o, "recipients");
    json_t *ct = json_object_get(o, "ciphertext");
    if (!json_is_integer(v) || json_integer_value(v) != 1 || !alg || strcmp(alg, "SM4-CBC") != 0)
        rc = err_invalid(e, "envelope", "SM2 数字信封版本或算法不支持（应为 v=1, SM4-CBC）");
    else if (!is_hex_n(iv, 32))
        rc = err_invalid(e, "envelope", "SM2 数字信封的 iv 应为 32 位十六进制");
    else if (!json_is_array(recips) || json_array_size(recips) < 1 || json_array_size(recips) > 8)
        rc = err_invalid(e, "envelope", "SM2 数字信封的 recipients 应为 1 至 8 项");
    else if (!json_is_string(ct) || json_string_length(ct) == 0)
        rc = err_invalid(e, "envelope", "SM2 数字信封缺少密文");
    if (rc == 0) {
        size_t n = 0;
        unsigned char *bin = b64_decode(json_string_value(ct), json_string_length(ct), &n);
        if (!bin || n == 0 || n % 16 != 0)
            rc = err_invalid(e, "envelope", "SM2 数字信封的密文不是有效的 SM4-CBC 密文（base64）");
        free(bin);
    }
    size_t i;
    json_t *r;
    if (rc == 0) json_array_foreach(recips, i, r) {
            const char *fp = jsonx_str(r, "cert_sha256"), *key = jsonx_str(r, "key");
            size_t kn = 0;
            unsigned char *kb = key ? b64_decode(key, strlen(key), &kn) : NULL;
            free(kb);
            if (!is_hex_n(fp, 64) || !kb || kn < 16 || kn > 1024) {
                rc = err_invalid(e, "envelope", "SM2 数字信封第 %zu 个接收者格式错误", i + 1);
                break;
            }
            if (!strcasecmp(fp, bidder_fp)) has_bidder = 1;
            if (backup_fp && !strcasecmp(fp, backup_fp)) has_backup = 1;
        }
    json_decref(o);
    if (rc != 0) return rc;
    if (!has_bidder)
        return err_set(e, 422, "recipient_missing", "envelope",
                       "数字信封的接收者不包含投标人的证书");
    if (backup_fp && !has_backup)
        return err_set(e, 422, "recipient_missing", "envelope",
                       "本项目要求投标文件同时加密给交易中心备份证书");
    if (to_backup) *to_backup = has_backup;
    return 0;
}

int bids_envelope_check(const unsigned char *env, size_t len, const char *kind,
                        const char *bidder_pem, const char *backup_pem, int *to_backup, err *e) {
    if (!env || !len) return err_invalid(e, "envelope", "缺少投标文件数字信封");
    if (len > BIDS_ENVELOPE_MAX)
        return err_set(e, 413, "payload_too_large", "envelope", "数字信封超过 %u 字节上限",
                       BIDS_ENVELOPE_MAX);
    X509 *bx = x509_from_pem(bidder_pem);
    X509 *kx = backup_pem ? x509_from_pem(backup_pem) : NULL;
    int rc;
    if (!bx || (backup_pem && !kx)) {
        rc = err_internal(e, "证书无法读取");
    } else if (kind && !strcmp(kind, "cms")) {
        rc = check_cms(env, len, bx, kx, to_backup, e);
    } else if (kind && !strcmp(kind, "sm2")) {
        char bfp[65], kfp[65];
        if (cert_fingerprint(bx, bfp) != 0 || (kx && cert_fingerprint(kx, kfp) != 0))
            rc = err_internal(e, "证书无法读取");
        else
            rc = check_sm2(env, len, bfp, kx ? kfp : NULL, to_backup, e);
    } else {
        rc = err_invalid(e, "envelope_kind", "envelope_kind 应为 cms 或 sm2");
    }
    X509_free(bx);
    X509_free(kx);
    ERR_clear_error();
    return rc;
}

/* ---- submission ---- */

static int load_company(db *d, int64_t company_id, char *uscc, size_t un, char *name, size_t nn,
                        err *e) {
    db_stmt *s =
        db_query(d, e, "SELECT uscc, name FROM trade_companies WHERE id = $1", "i", company_id);
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ROW) {
        snprintf(uscc, un, "%s", db_column_text(s, 0));
        if (name) snprintf(name, nn, "%s", db_column_text(s, 1));
    }
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取企业失败");
    if (rc != DB_ROW) return err_forbidden(e, "当前用户未关联投标企业");
    return 0;
}

/* The certificate row: pem (malloc'd) and key type. */
static int load_cert(db *d, int64_t cert_id, char **pem, char key_type[8], err *e) {
    db_stmt *s =
        db_query(d, e, "SELECT pem, key_type FROM trade_certs WHERE id = $1", "i", cert_id);
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ROW) {
        *pem = strdup(db_column_text(s, 0));
        snprintf(key_type, 8, "%s", db_column_text(s, 1));
    }
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取证书失败");
    if (rc != DB_ROW || !*pem) return err_notfound(e, "证书不存在");
    return 0;
}

static int tender_open_for_bids(const trade_tender *t, err *e) {
    if (strcmp(t->status, "announced") != 0)
        return err_set(e, 409, "not_accepting", "status", "该项目当前不接受投标（%s）",
                       trade_status_label(t->status));
    if (time_now() >= t->deadline_at)
        return err_set(e, 409, "deadline_passed", "deadline_at",
                       "投标截止时间已过，不再接受投标文件");
    return 0;
}

static int is_bidder(const trade_actor *a) {
    return a->user_id && (a->role & (ROLE_BIDDER | ROLE_COMPANY));
}

/* Remove an envelope this submission stored when no bid row names it (the submission
 * failed after storing, e.g. the deadline passed meanwhile): nothing is left half-written.
 * Under the write lock, so a concurrent submission of the same bytes either committed
 * before (the file stays) or re-stores the file inside its own transaction after. */
static void drop_orphan(db *d, const char *sha) {
    err e2 = {0};
    int64_t n = 1;
    char dir[512], path[640];
    if (db_begin(d, &e2) != 0) return;
    if (db_query_int(d, &e2, &n, "SELECT COUNT(*) FROM bids WHERE envelope_sha256 = $1", "s",
                     sha) == 0 &&
        n == 0 && trade_dir("bids", dir, sizeof(dir), &e2) == 0) {
        snprintf(path, sizeof(path), "%s/%s", dir, sha);
        unlink(path);
    }
    db_rollback(d); /* nothing was written */
}

int bids_submit(db *d, const trade_actor *a, int64_t tender_id, const bids_submission *in,
                int64_t *bid_id, json_t **receipt, err *e) {
    if (!is_bidder(a)) return err_forbidden(e, "只有投标企业用户可以递交投标文件");
    if (!a->company_id) return err_forbidden(e, "当前用户未关联投标企业");
    const char *kind = in->envelope_kind;
    if (!kind || (strcmp(kind, "cms") != 0 && strcmp(kind, "sm2") != 0))
        return err_invalid(e, "envelope_kind", "envelope_kind 应为 cms 或 sm2");
    if (!in->envelope || !in->envelope_len)
        return err_invalid(e, "envelope", "缺少投标文件数字信封");
    if (in->envelope_len > BIDS_ENVELOPE_MAX)
        return err_set(e, 413, "payload_too_large", "envelope", "数字信封超过 %u 字节上限",
                       BIDS_ENVELOPE_MAX);
    if (!is_hex64(in->commitment_sha256))
        return err_invalid(e, "commitment_sha256", "commitment_sha256 应为 64 位小写十六进制");
    if (!in->commitment_sig || !*in->commitment_sig || strlen(in->commitment_sig) > 2048)
        return err_invalid(e, "commitment_sig", "缺少承诺签名（base64）");
    char *machine = NULL;
    if (in->machine_id_json && *in->machine_id_json) {
        if (strlen(in->machine_id_json) > BIDS_MACHINE_ID_MAX)
            return err_invalid(e, "machine_id", "machine_id 过长");
        json_t *m = json_loads(in->machine_id_json, 0, NULL);
        if (!json_is_object(m)) {
            json_decref(m);
            return err_invalid(e, "machine_id", "machine_id 应为 JSON 对象");
        }
        machine = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(m);
    }

    trade_tender t;
    char uscc[32], cname[TRADE_NAME_MAX + 1], key_type[8] = "";
    char *bidder_pem = NULL, *backup_pem = NULL;
    int64_t cert_id = 0, dep = 0;
    int to_backup = 0, rc = -1, created = 0;
    char env_sha[65], msg[200];
    json_t *rec = NULL;
    char *rec_text = NULL;

    if (trade_tender_load(d, tender_id, &t, e) != 0) goto out;
    if (!strcmp(t.status, "draft")) {
        err_notfound(e, "项目不存在");
        goto out;
    }
    if (tender_open_for_bids(&t, e) != 0) goto out;
    if (t.deposit_fen > 0) {
        int q = db_query_int(d, e, &dep,
                             "SELECT COUNT(*) FROM trade_deposits WHERE tender_id = $1 AND "
                             "company_id = $2 AND status = 'paid'",
                             "ii", tender_id, a->company_id);
        if (q < 0) goto out;
        if (dep == 0) {
            err_set(e, 409, "deposit_missing", "deposit", "尚未缴纳本项目投标保证金");
            goto out;
        }
    }
    if (load_company(d, a->company_id, uscc, sizeof(uscc), cname, sizeof(cname), e) != 0) goto out;
    if (ca_user_cert(d, a->user_id, in->cert_id, &cert_id, e) != 0) goto out;
    if (load_cert(d, cert_id, &bidder_pem, key_type, e) != 0) goto out;
    if (!strcmp(key_type, "sm2") != !strcmp(kind, "sm2")) {
        err_set(e, 422, "envelope_kind_mismatch", "envelope_kind",
                "SM2 证书请使用 sm2 数字信封，RSA/ECDSA 证书请使用 cms 数字信封");
        goto out;
    }
    if (t.allow_backup) {
        int b = backup_active_cert(d, &backup_pem, NULL, e);
        if (b < 0) goto out;
    }
    if (bids_envelope_check(in->envelope, in->envelope_len, kind, bidder_pem, backup_pem,
                            &to_backup, e) != 0)
        goto out;
    bids_commitment_string(t.tender_no, uscc, in->commitment_sha256, msg, sizeof(msg));
    if (ca_verify_signature(d, cert_id, msg, strlen(msg), in->commitment_sig, e) != 0) {
        if (!e->field[0] || !strcmp(e->field, "signature") || !strcmp(e->code, "bad_signature"))
            snprintf(e->field, sizeof(e->field), "commitment_sig");
        goto out;
    }
    sha256_hex(in->envelope, in->envelope_len, env_sha);
    /* Durable before the row exists: a receipt never names a file that is not there. */
    if (store_file(env_sha, in->envelope, in->envelope_len, &created, e) != 0) goto out;

    proofs_key key;
    if (proofs_key_current(&key, e) != 0) goto out;
    if (db_begin(d, e) != 0) {
        proofs_key_wipe(&key);
        goto out;
    }
    /* Re-check under the write lock: the deadline and the status are what they are at
     * the moment the row commits, not when the upload began. */
    trade_tender now_t;
    int64_t seq = 0, id = 0;
    char received[40], now[32];
    time_iso_now_ms(received, sizeof(received));
    time_iso(now, sizeof(now), time_now());
    if (trade_tender_load(d, tender_id, &now_t, e) != 0 || tender_open_for_bids(&now_t, e) != 0)
        goto fail;
    /* A failed submission of the same bytes may have removed the file meanwhile (below,
     * under this same lock): make sure it is there before the row names it. */
    if (store_file(env_sha, in->envelope, in->envelope_len, NULL, e) != 0) goto fail;
    if (db_query_int(d, e, &seq,
                     "SELECT COALESCE(MAX(seq), 0) + 1 FROM bids WHERE tender_id = $1 AND "
                     "company_id = $2",
                     "ii", tender_id, a->company_id) < 0)
        goto fail;
    if (db_execf(d, e,
                 "UPDATE bids SET status = 'replaced', updated_at = $1 WHERE tender_id = $2 AND "
                 "company_id = $3 AND status = 'sealed'",
                 "sii", now, tender_id, a->company_id) != 0)
        goto fail;
    int64_t replaced = db_changes(d);
    if (db_query_int(d, e, &id,
                     "INSERT INTO bids (tender_id, company_id, user_id, cert_id, seq, status, "
                     "envelope_kind, envelope_sha256, envelope_size, to_backup, "
                     "commitment_sha256, commitment_sig, receipt, receipt_sig, client_ip, "
                     "machine_id, submitted_at, created_at, updated_at) VALUES ($1, $2, $3, $4, "
                     "$5, 'sealed', $6, $7, $8, $9, $10, $11, '', '', $12, $13, $14, $15, $15) "
                     "RETURNING id",
                     "iiiiissiissssss", tender_id, a->company_id, a->user_id, cert_id, seq, kind,
                     env_sha, (int64_t)in->envelope_len, (int64_t)to_backup, in->commitment_sha256,
                     in->commitment_sig, in->client_ip, machine, received, now) != 0)
        goto fail;
    rec = json_pack("{s:I,s:s,s:s,s:I,s:s,s:I,s:s,s:s,s:s}", "bid_id", (json_int_t)id, "tender_no",
                    t.tender_no, "uscc", uscc, "seq", (json_int_t)seq, "envelope_sha256", env_sha,
                    "envelope_size", (json_int_t)in->envelope_len, "commitment_sha256",
                    in->commitment_sha256, "received_at", received, "key_id", key.key_id);
    rec_text = rec ? json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (!rec_text) {
        err_internal(e, "回执编码失败");
        goto fail;
    }
    char sig[100];
    proofs_sign(&key, rec_text, sig, sizeof(sig));
    if (db_execf(d, e, "UPDATE bids SET receipt = $1, receipt_sig = $2 WHERE id = $3", "ssi",
                 rec_text, sig, id) != 0 ||
        proofs_key_register(d, &key, e) != 0)
        goto fail;
    /* Before the opening nobody may learn who bid on what, and supervisors and admins
     * read the audit trail: the row is written by a sealed actor and names only the
     * envelope and the receipt's hash. Who submitted is in the bids row (user_id),
     * readable once the hall opens, and bid.reveal is audited with the company. */
    char rec_sha[65];
    crypto_sha256_hex(rec_text, strlen(rec_text), rec_sha);
    json_t *after = json_pack("{s:s,s:s,s:I}", "envelope_sha256", env_sha, "receipt_sha256",
                              rec_sha, "replaced", (json_int_t)(replaced ? 1 : 0));
    audit_actor sealed = {
        .user_id = 0, .login = "sealed-bidder", .request_id = a->audit.request_id};
    int arc = audit_record(d, &sealed, "bid.submit", "bid", env_sha, NULL, after, e);
    json_decref(after);
    if (arc != 0 || db_commit(d, e) != 0) goto fail;
    char key_id[sizeof(key.key_id)];
    snprintf(key_id, sizeof(key_id), "%s", key.key_id);
    proofs_key_wipe(&key);
    if (bid_id) *bid_id = id;
    if (receipt)
        *receipt = json_pack("{s:O,s:s,s:s,s:s}", "receipt", rec, "receipt_text", rec_text,
                             "receipt_sig", sig, "key_id", key_id);
    rc = 0;
    goto out;
fail:
    db_rollback(d);
    proofs_key_wipe(&key);
out:
    if (rc != 0 && created) drop_orphan(d, env_sha);
    json_decref(rec);
    free(rec_text);
    free(machine);
    free(bidder_pem);
    free(backup_pem);
    return rc;
}

int bids_withdraw(db *d, const trade_actor *a, int64_t tender_id, err *e) {
    if (!is_bidder(a) || !a->company_id) return err_forbidden(e, "只有投标企业用户可以撤回投标");
    if (db_begin(d, e) != 0) return -1;
    trade_tender t;
    char now[32];
    time_iso(now, sizeof(now), time_now());
    if (trade_tender_load(d, tender_id, &t, e) != 0 || !strcmp(t.status, "draft") ||
        tender_open_for_bids(&t, e) != 0)
        goto fail;
    int64_t id = 0;
    int q = db_query_int(d, e, &id,
                         "SELECT id FROM bids WHERE tender_id = $1 AND company_id = $2 AND "
                         "status = 'sealed'",
                         "ii", tender_id, a->company_id);
    if (q < 0) goto fail;
    if (q == 1) {
        err_notfound(e, "没有可撤回的投标文件");
        goto fail;
    }
    if (db_execf(d, e, "UPDATE bids SET status = 'withdrawn', updated_at = $1 WHERE id = $2", "si",
                 now, id) != 0)
        goto fail;
    /* Sealed like the submission: nothing here says which tender or company. */
    char env_sha[65] = "";
    db_stmt *es = db_query(d, e, "SELECT envelope_sha256 FROM bids WHERE id = $1", "i", id);
    if (!es) goto fail;
    if (db_step(es) == DB_ROW) snprintf(env_sha, sizeof(env_sha), "%s", db_column_text(es, 0));
    db_reset(es);
    json_t *after = json_pack("{s:s}", "status", "withdrawn");
    audit_actor sealed = {
        .user_id = 0, .login = "sealed-bidder", .request_id = a->audit.request_id};
    int arc = audit_record(d, &sealed, "bid.withdraw", "bid", env_sha, NULL, after, e);
    json_decref(after);
    if (arc != 0 || db_commit(d, e) != 0) goto fail;
    return 0;
fail:
    if (!e->status) err_notfound(e, "项目不存在");
    db_rollback(d);
    return -1;
}

int bids_count_current(db *d, int64_t tender_id, int64_t *n, err *e) {
    return db_query_int(d, e, n,
                        "SELECT COUNT(*) FROM bids WHERE tender_id = $1 AND status = 'sealed'", "i",
                        tender_id) < 0
               ? -1
               : 0;
}

/* ---- reveal ---- */

static json_t *json_str_or_null(const char *s) {
    return s ? json_string(s) : json_null();
}

int bids_reveal_tx(db *d, const trade_actor *a, int64_t bid_id, const void *plain, size_t len,
                   const char *via, json_t **announce, err *e) {
    if (!via || (strcmp(via, "bidder") != 0 && strcmp(via, "backup") != 0))
        return err_invalid(e, "via", "via 应为 bidder 或 backup");
    if (!plain || len > BIDS_PLAINTEXT_MAX) return err_invalid(e, "plaintext", "明文为空或过大");
    db_stmt *s = db_query(d, e,
                          "SELECT b.tender_id, b.company_id, b.status, b.commitment_sha256, "
                          "c.uscc, c.name FROM bids b JOIN trade_companies c ON c.id = "
                          "b.company_id WHERE b.id = $1",
                          "i", bid_id);
    if (!s) return -1;
    int64_t tender_id = 0, company_id = 0;
    char status[16] = "", commit[65] = "", uscc[32] = "", cname[TRADE_NAME_MAX + 1] = "";
    int rc = db_step(s);
    if (rc == DB_ROW) {
        tender_id = db_column_int64(s, 0);
        company_id = db_column_int64(s, 1);
        snprintf(status, sizeof(status), "%s", db_column_text(s, 2));
        snprintf(commit, sizeof(commit), "%s", db_column_text(s, 3));
        snprintf(uscc, sizeof(uscc), "%s", db_column_text(s, 4));
        snprintf(cname, sizeof(cname), "%s", db_column_text(s, 5));
    }
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取投标失败");
    if (rc != DB_ROW) return err_notfound(e, "投标不存在");
    if (strcmp(status, "sealed") != 0 && strcmp(status, "not_decrypted") != 0)
        return err_conflict(e, "status", "该投标文件不在待解密状态");
    trade_tender t;
    if (trade_tender_load(d, tender_id, &t, e) != 0) return -1;
    if (strcmp(t.status, "opening") != 0)
        return err_set(e, 409, "not_opening", "status", "项目未在开标中，不能解密投标文件");
    char got[65];
    sha256_hex(plain, len, got);
    if (strcmp(got, commit) != 0)
        return err_set(e, 422, "commitment_mismatch", "plaintext",
                       "解密后的投标文件与投标时签名承诺的摘要不一致");

    /* Parse the form; anything unusable makes the bid invalid, with the reason. */
    const char *reason = NULL;
    int64_t price_fen = 0;
    long long duration = 0;
    const char *quality = NULL, *pm = NULL, *dref = NULL;
    json_t *docs_out = json_array(), *form = NULL;
    json_t *root = json_loadb(plain, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(root)) {
        reason = "投标文件不是有效的 JSON";
    } else if (!jsonx_str(root, "tender_no") || strcmp(jsonx_str(root, "tender_no"), t.tender_no)) {
        reason = "投标文件中的项目编号与本项目不符";
    } else if (!jsonx_str(root, "uscc") || strcmp(jsonx_str(root, "uscc"), uscc)) {
        reason = "投标文件中的统一社会信用代码与投标人不符";
    } else if (!json_is_object(form = json_object_get(root, "form"))) {
        reason = "投标文件缺少投标函（form）";
    } else {
        err pe = {0};
        json_t *dj = json_object_get(form, "duration_days");
        if (trade_money_from_json(json_object_get(form, "price"), "price", &price_fen, &pe) != 0)
            reason = "投标报价格式错误";
        else if (dj && !(json_is_integer(dj) && json_integer_value(dj) > 0 &&
                         json_integer_value(dj) <= 3650))
            reason = "工期（duration_days）应为 1 至 3650 天";
        duration = dj ? json_integer_value(dj) : 0;
        quality = jsonx_str(form, "quality");
        pm = jsonx_str(form, "project_manager");
        dref = jsonx_str(form, "deposit_ref");
        json_t *docs = json_object_get(root, "documents"), *doc;
        size_t i;
        if (!reason && docs && !json_is_array(docs)) reason = "documents 应为数组";
        if (!reason) json_array_foreach(docs, i, doc) {
                const char *name = jsonx_str(doc, "name");
                const char *c64 = jsonx_str(doc, "content_base64");
                size_t dn = 0;
                unsigned char *bin = c64 ? b64_decode(c64, strlen(c64), &dn) : NULL;
                if (!name || !bin) {
                    free(bin);
                    reason = "documents 中的文件格式错误";
                    break;
                }
                char h[65];
                sha256_hex(bin, dn, h);
                free(bin);
                json_array_append_new(docs_out, json_pack("{s:s,s:s,s:I}", "name", name, "sha256",
                                                          h, "size", (json_int_t)dn));
            }
    }
    char pname[80];
    snprintf(pname, sizeof(pname), "%s.plain", got);
    char *form_text = (!reason && form) ? json_dumps(form, JSON_COMPACT) : NULL;
    char *docs_text = json_dumps(docs_out, JSON_COMPACT);
    char now[32];
    time_iso(now, sizeof(now), time_now());
    const char *new_status = reason ? "invalid" : "opened";
    int out = store_file(pname, plain, len, NULL, e);
    if (out == 0 && !reason)
        out = db_execf(d, e,
                       "UPDATE bids SET status = $1, decrypted_at = $2, decrypted_via = $3, "
                       "price_fen = $4, duration_days = $5, quality = $6, project_manager = $7, "
                       "deposit_ref = $8, form = $9, documents = $10, invalid_reason = NULL, "
                       "updated_at = $2 WHERE id = $11",
                       "sssi"
                       "i"
                       "sssssi",
                       new_status, now, via, price_fen, (int64_t)duration, quality, pm, dref,
                       form_text, docs_text, bid_id);
    else if (out == 0)
        out = db_execf(d, e,
                       "UPDATE bids SET status = $1, decrypted_at = $2, decrypted_via = $3, "
                       "invalid_reason = $4, updated_at = $2 WHERE id = $5",
                       "ssssi", new_status, now, via, reason, bid_id);
    char price[32] = "";
    if (!reason) trade_money_str(price_fen, price, sizeof(price));
    json_t *ann = NULL;
    if (out == 0) {
        ann = json_pack("{s:I,s:I,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:s,s:o}", "bid_id",
                        (json_int_t)bid_id, "company_id", (json_int_t)company_id, "company_name",
                        cname, "uscc", uscc, "price_fen",
                        reason ? json_null() : json_integer(price_fen), "price",
                        reason ? json_null() : json_string(price), "duration_days",
                        (reason || !duration) ? json_null() : json_integer(duration), "quality",
                        json_str_or_null(reason ? NULL : quality), "project_manager",
                        json_str_or_null(reason ? NULL : pm), "deposit_ref",
                        json_str_or_null(reason ? NULL : dref), "status", new_status,
                        "invalid_reason", json_str_or_null(reason));
        char oid[24];
        snprintf(oid, sizeof(oid), "%lld", (long long)bid_id);
        json_t *after =
            json_pack("{s:s,s:s,s:s}", "status", new_status, "via", via, "plaintext_sha256", got);
        out = audit_record(d, &a->audit, "bid.reveal", "bid", oid, NULL, after, e);
        json_decref(after);
    }
    free(form_text);
    free(docs_text);
    json_decref(docs_out);
    json_decref(root);
    if (out != 0) {
        json_decref(ann);
        return -1;
    }
    if (announce)
        *announce = ann;
    else
        json_decref(ann);
    return 0;
}

/* ---- lists and receipts ---- */

#define BID_COLUMNS                                                                                \
    "b.id, b.seq, b.status, b.envelope_kind, b.envelope_sha256, b.envelope_size, b.to_backup, "    \
    "b.commitment_sha256, b.submitted_at, b.receipt, b.receipt_sig, b.company_id, c.name, "        \
    "c.uscc, b.price_fen, b.duration_days, b.quality, b.project_manager, b.deposit_ref, "          \
    "b.invalid_reason, b.decrypted_via, b.decrypted_at, b.tender_id"

/* One row as JSON; revealed = include the company and the opened fields. */
static json_t *bid_row(db_stmt *s, int revealed) {
    const char *rt = db_column_text(s, 9);
    json_t *rec = rt && *rt ? json_loads(rt, 0, NULL) : NULL;
    json_t *o = json_pack(
        "{s:I,s:I,s:I,s:s,s:s,s:s,s:I,s:b,s:s,s:s,s:o,s:s}", "id",
        (json_int_t)db_column_int64(s, 0), "tender_id", (json_int_t)db_column_int64(s, 22), "seq",
        (json_int_t)db_column_int64(s, 1), "status", db_column_text(s, 2), "envelope_kind",
        db_column_text(s, 3), "envelope_sha256", db_column_text(s, 4), "envelope_size",
        (json_int_t)db_column_int64(s, 5), "to_backup", (int)db_column_int64(s, 6),
        "commitment_sha256", db_column_text(s, 7), "submitted_at", db_column_text(s, 8), "receipt",
        rec ? rec : json_null(), "receipt_sig", db_column_text(s, 10));
    if (revealed) {
        json_object_set_new(o, "company_id", json_integer(db_column_int64(s, 11)));
        json_object_set_new(o, "company_name", json_string(db_column_text(s, 12)));
        json_object_set_new(o, "uscc", json_string(db_column_text(s, 13)));
        if (db_column_type(s, 14) != DB_NULL) {
            char p[32];
            int64_t fen = db_column_int64(s, 14);
            json_object_set_new(o, "price_fen", json_integer(fen));
            json_object_set_new(o, "price", json_string(trade_money_str(fen, p, sizeof(p))));
        } else {
            json_object_set_new(o, "price_fen", json_null());
            json_object_set_new(o, "price", json_null());
        }
        json_object_set_new(
            o, "duration_days",
            db_column_type(s, 15) == DB_NULL ? json_null() : json_integer(db_column_int64(s, 15)));
        json_object_set_new(o, "quality", json_str_or_null(db_column_text(s, 16)));
        json_object_set_new(o, "project_manager", json_str_or_null(db_column_text(s, 17)));
        json_object_set_new(o, "deposit_ref", json_str_or_null(db_column_text(s, 18)));
        json_object_set_new(o, "invalid_reason", json_str_or_null(db_column_text(s, 19)));
        json_object_set_new(o, "decrypted_via", json_str_or_null(db_column_text(s, 20)));
        json_object_set_new(o, "decrypted_at", json_str_or_null(db_column_text(s, 21)));
    }
    return o;
}

static json_t *rows(db_stmt *s, int revealed, err *e) {
    json_t *items = json_array();
    int rc;
    while ((rc = db_step(s)) == DB_ROW)
        json_array_append_new(items, bid_row(s, revealed));
    db_reset(s);
    if (rc == DB_ERROR) {
        json_decref(items);
        err_internal(e, "读取投标失败");
        return NULL;
    }
    return items;
}

json_t *bids_list(db *d, const trade_actor *a, int64_t tender_id, err *e) {
    trade_tender t;
    if (trade_tender_load(d, tender_id, &t, e) != 0) return NULL;
    if (!strcmp(t.status, "draft") && !trade_actor_is_staff(a)) {
        err_notfound(e, "项目不存在");
        return NULL;
    }
    int pub = trade_status_bids_public(t.status);
    json_t *mine = NULL, *all = NULL;
    if (a->company_id && a->user_id) {
        db_stmt *s = db_query(d, e,
                              "SELECT " BID_COLUMNS " FROM bids b JOIN trade_companies c ON "
                              "c.id = b.company_id WHERE b.tender_id = $1 AND b.company_id = $2 "
                              "ORDER BY b.seq DESC",
                              "ii", tender_id, a->company_id);
        if (!s || !(mine = rows(s, 1, e))) return NULL;
    }
    if (!pub) /* before the opening: one's own bids or nothing, never a count */
        return json_pack("{s:o,s:b}", "items", mine ? mine : json_array(), "public", 0);
    db_stmt *s = db_query(d, e,
                          "SELECT " BID_COLUMNS " FROM bids b JOIN trade_companies c ON c.id = "
                          "b.company_id WHERE b.tender_id = $1 AND b.status NOT IN ('replaced', "
                          "'withdrawn') ORDER BY b.submitted_at, b.id",
                          "i", tender_id);
    if (!s || !(all = rows(s, 1, e))) {
        json_decref(mine);
        return NULL;
    }
    return json_pack("{s:o,s:o,s:b}", "items", all, "mine", mine ? mine : json_array(), "public",
                     1);
}

json_t *bids_receipt_get(db *d, const trade_actor *a, int64_t bid_id, err *e) {
    db_stmt *s = db_query(d, e,
                          "SELECT " BID_COLUMNS " FROM bids b JOIN trade_companies c ON c.id = "
                          "b.company_id WHERE b.id = $1",
                          "i", bid_id);
    if (!s) return NULL;
    json_t *items = rows(s, 0, e);
    if (!items) return NULL;
    json_t *row = json_array_get(items, 0);
    int64_t company = 0, tender_id = 0;
    if (row) {
        tender_id = json_integer_value(json_object_get(row, "tender_id"));
        db_query_int(d, e, &company, "SELECT company_id FROM bids WHERE id = $1", "i", bid_id);
    }
    int ok = 0;
    if (row && a->user_id && a->company_id && a->company_id == company) ok = 1;
    if (row && !ok && trade_actor_can_supervise(a)) {
        trade_tender t;
        if (trade_tender_load(d, tender_id, &t, e) == 0 && trade_status_bids_public(t.status))
            ok = 1;
    }
    if (!ok) {
        json_decref(items);
        err_notfound(e, "投标回执不存在");
        return NULL;
    }
    db_stmt *k = db_query(d, e, "SELECT receipt FROM bids WHERE id = $1", "i", bid_id);
    char *text = NULL;
    if (k && db_step(k) == DB_ROW) text = strdup(db_column_text(k, 0));
    if (k) db_reset(k);
    json_t *rec = json_object_get(row, "receipt");
    json_t *out =
        json_pack("{s:O?,s:s,s:O?,s:O?,s:O?}", "receipt", rec, "receipt_text", text ? text : "",
                  "receipt_sig", json_object_get(row, "receipt_sig"), "key_id",
                  json_object_get(rec, "key_id"), "status", json_object_get(row, "status"));
    free(text);
    json_decref(items);
    if (!out) err_internal(e, "回执编码失败");
    return out;
}

json_t *bids_operator_list(db *d, int64_t tender_id, err *e) {
    db_stmt *s = db_query(d, e,
                          "SELECT " BID_COLUMNS " FROM bids b JOIN trade_companies c ON c.id = "
                          "b.company_id WHERE b.tender_id = $1 ORDER BY b.submitted_at, b.id",
                          "i", tender_id);
    if (!s) return NULL;
    return rows(s, 0, e);
}

int bids_envelope_load(db *d, int64_t bid_id, unsigned char **buf, size_t *len, char *kind,
                       char *commitment, err *e) {
    db_stmt *s = db_query(d, e,
                          "SELECT envelope_sha256, envelope_kind, commitment_sha256, "
                          "envelope_size FROM bids WHERE id = $1",
                          "i", bid_id);
    if (!s) return -1;
    char sha[65] = "";
    int64_t size = 0;
    int rc = db_step(s);
    if (rc == DB_ROW) {
        snprintf(sha, sizeof(sha), "%s", db_column_text(s, 0));
        snprintf(kind, 4, "%s", db_column_text(s, 1));
        snprintf(commitment, 65, "%s", db_column_text(s, 2));
        size = db_column_int64(s, 3);
    }
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取投标失败");
    if (rc != DB_ROW || !is_hex64(sha)) return err_notfound(e, "投标不存在");
    char dir[512], path[640];
    if (trade_dir("bids", dir, sizeof(dir), e) != 0) return -1;
    snprintf(path, sizeof(path), "%s/%s", dir, sha);
    FILE *f = fopen(path, "rb");
    if (!f) return err_internal(e, "投标文件数字信封缺失");
    unsigned char *b = malloc(size > 0 ? (size_t)size : 1);
    size_t got = b ? fread(b, 1, (size_t)size, f) : 0;
    fclose(f);
    char check[65];
    if (b) sha256_hex(b, got, check);
    if (!b || got != (size_t)size || strcmp(check, sha) != 0) {
        free(b);
        return err_internal(e, "投标文件数字信封已损坏");
    }
    *buf = b;
    *len = got;
    return 0;
}
