/* backup: the centre's Shamir-split backup key (see backup.h).
 *
 * What this file must never do: write the private key or a share anywhere (the
 * database keeps share hashes only), keep key material in memory after the call
 * that needed it, or decrypt before the deadline / outside the opening. */
#include "trade/backup.h"

#include <libgfshare.h>
#include <openssl/pem.h> /* before cms.h: declares PEM_read_bio_CMS */
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/roles.h"
#include "base/jsonx.h"
#include "base/timeutil.h"
#include "trade/bids.h"

#define SHARE_PREFIX "isle-backup-share:v1:"
#define KEY_BITS     3072
#define CERT_YEARS   10

/* OpenSSL's SHA-256 (SHA-NI/AVX2): libsodium's portable one was half of the server's
 * CPU time in the deadline burst (bench/bids.sh). */
static void sha256_hex(const void *data, size_t len, char out[65]) {
    unsigned char h[32];
    unsigned int n = 0;
    if (EVP_Digest(data, len, h, &n, EVP_sha256(), NULL) != 1 || n != 32) memset(h, 0, 32);
    sodium_bin2hex(out, 65, h, sizeof(h));
}

/* libgfshare's coefficients must come from a real random source (its default is NULL). */
static void gf_rand(unsigned char *buf, unsigned int n) {
    if (RAND_bytes(buf, (int)n) != 1) randombytes_buf(buf, n);
}

static X509 *x509_from_pem(const char *pem) {
    BIO *b = pem ? BIO_new_mem_buf(pem, -1) : NULL;
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    return x;
}

static int cert_fingerprint(X509 *x, char fp[65]) {
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    if (n <= 0) return -1;
    sha256_hex(der, (size_t)n, fp);
    OPENSSL_free(der);
    return 0;
}

void backup_free_shares(char **shares, int n) {
    if (!shares) return;
    for (int i = 0; i < n; i++)
        if (shares[i]) {
            sodium_memzero(shares[i], strlen(shares[i]));
            free(shares[i]);
        }
    free(shares);
}

/* A self-signed certificate for the backup key pair. */
static X509 *make_cert(EVP_PKEY *pk) {
    X509 *x = X509_new();
    if (!x) return NULL;
    unsigned char serial[16];
    RAND_bytes(serial, sizeof(serial));
    serial[0] &= 0x7f;
    BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
    X509_NAME *name = X509_NAME_new();
    X509V3_CTX ctx;
    X509_EXTENSION *ku = NULL, *bc = NULL;
    int ok =
        bn && name && X509_set_version(x, 2) && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) &&
        X509_gmtime_adj(X509_getm_notBefore(x), -60) &&
        X509_gmtime_adj(X509_getm_notAfter(x), (long)CERT_YEARS * 365 * 86400) &&
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                   (const unsigned char *)"舟山市公共资源交易中心", -1, -1, 0) &&
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   (const unsigned char *)"投标文件备份密钥", -1, -1, 0) &&
        X509_set_subject_name(x, name) && X509_set_issuer_name(x, name) && X509_set_pubkey(x, pk);
    if (ok) {
        X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
        ku = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage,
                                 "critical,keyEncipherment,dataEncipherment");
        bc = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:FALSE");
        ok = ku && bc && X509_add_ext(x, ku, -1) && X509_add_ext(x, bc, -1) &&
             X509_sign(x, pk, EVP_sha256()) > 0;
    }
    X509_EXTENSION_free(ku);
    X509_EXTENSION_free(bc);
    X509_NAME_free(name);
    BN_free(bn);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static char *cert_pem_string(X509 *x) {
    BIO *b = BIO_new(BIO_s_mem());
    char *out = NULL;
    if (b && PEM_write_bio_X509(b, x)) {
        BUF_MEM *m = NULL;
        BIO_get_mem_ptr(b, &m);
        out = malloc(m->length + 1);
        if (out) {
            memcpy(out, m->data, m->length);
            out[m->length] = '\0';
        }
    }
    BIO_free(b);
    return out;
}

int backup_key_create(db *d, const trade_actor *a, const int64_t *ids, int n, int threshold,
                      char ***shares_out, char **cert_pem_out, err *e) {
    if (!trade_actor_is_staff(a)) return err_forbidden(e, "只有交易中心管理人员可以生成备份密钥");
    if (n < 2 || n > BACKUP_SHARES_MAX)
        return err_invalid(e, "custodians", "保管人应为 2 至 %d 人", BACKUP_SHARES_MAX);
    if (threshold < 2 || threshold > n)
        return err_invalid(e, "threshold", "门限应在 2 与保管人数之间");
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < i; j++)
            if (ids[i] == ids[j]) return err_invalid(e, "custodians", "保管人不能重复");
        db_stmt *s = db_query(d, e, "SELECT role, disabled FROM users WHERE id = $1", "i", ids[i]);
        if (!s) return -1;
        int rc = db_step(s), ok = 0;
        if (rc == DB_ROW) {
            int role = role_from_name(db_column_text(s, 0));
            ok = (role & (ROLE_SUPERVISOR | ROLE_ADMIN)) && !db_column_int64(s, 1);
        }
        db_reset(s);
        if (rc == DB_ERROR) return err_internal(e, "读取用户失败");
        if (!ok) return err_invalid(e, "custodians", "第 %d 位保管人不是有效的监管人员", i + 1);
    }

    int rc = -1;
    EVP_PKEY *pk = EVP_RSA_gen(KEY_BITS);
    X509 *x = pk ? make_cert(pk) : NULL;
    unsigned char *der = NULL, *sharebuf = NULL;
    int der_len = 0;
    char **shares = calloc((size_t)n, sizeof(char *));
    char *pem = x ? cert_pem_string(x) : NULL;
    char fp[65] = "";
    gfshare_ctx *g = NULL;
    if (!pk || !x || !pem || !shares || cert_fingerprint(x, fp) != 0) {
        err_internal(e, "生成备份密钥失败");
        goto out;
    }
    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pk);
    der_len = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, &der) : 0;
    PKCS8_PRIV_KEY_INFO_free(p8);
    if (der_len <= 0) {
        err_internal(e, "导出备份密钥失败");
        goto out;
    }
    unsigned char nrs[BACKUP_SHARES_MAX];
    for (int i = 0; i < n; i++)
        nrs[i] = (unsigned char)(i + 1);
    gfshare_fill_rand = gf_rand;
    g = gfshare_ctx_init_enc(nrs, (unsigned)n, (unsigned char)threshold, (unsigned)der_len);
    sharebuf = malloc((size_t)der_len);
    if (!g || !sharebuf) {
        err_internal(e, "拆分备份密钥失败");
        goto out;
    }
    gfshare_ctx_enc_setsecret(g, der);
    size_t b64cap = sodium_base64_ENCODED_LEN((size_t)der_len, sodium_base64_VARIANT_ORIGINAL);
    for (int i = 0; i < n; i++) {
        gfshare_ctx_enc_getshare(g, (unsigned char)i, sharebuf);
        size_t cap = b64cap + 128;
        shares[i] = malloc(cap);
        char *b64 = malloc(b64cap);
        if (!shares[i] || !b64) {
            free(b64);
            err_internal(e, "拆分备份密钥失败");
            goto out;
        }
        sodium_bin2base64(b64, b64cap, sharebuf, (size_t)der_len, sodium_base64_VARIANT_ORIGINAL);
        snprintf(shares[i], cap, SHARE_PREFIX "%.16s:%d:%d:%s", fp, i + 1, threshold, b64);
        sodium_memzero(b64, strlen(b64));
        free(b64);
    }

    if (db_begin(d, e) != 0) goto out;
    char now[32];
    time_iso(now, sizeof(now), time_now());
    int64_t key_id = 0;
    if (db_execf(d, e, "UPDATE trade_backup_keys SET status = 'retired' WHERE status = 'active'",
                 "") != 0 ||
        db_query_int(
            d, e, &key_id,
            "INSERT INTO trade_backup_keys (fingerprint, cert_pem, threshold, shares, "
            "status, created_by, created_at) VALUES ($1, $2, $3, $4, 'active', NULLIF($5, 0), "
            "$6) RETURNING id",
            "ssiiis", fp, pem, (int64_t)threshold, (int64_t)n, a->user_id, now) != 0)
        goto fail;
    json_t *cust = json_array();
    for (int i = 0; i < n; i++) {
        char h[65];
        sha256_hex(shares[i], strlen(shares[i]), h);
        json_array_append_new(cust, json_integer(ids[i]));
        if (db_execf(d, e,
                     "INSERT INTO trade_backup_custodians (key_id, share_index, user_id, "
                     "share_sha256) VALUES ($1, $2, $3, $4)",
                     "iiis", key_id, (int64_t)(i + 1), ids[i], h) != 0) {
            json_decref(cust);
            goto fail;
        }
    }
    json_t *after = json_pack("{s:s,s:i,s:i,s:o}", "fingerprint", fp, "threshold", threshold,
                              "shares", n, "custodians", cust);
    char oid[24];
    snprintf(oid, sizeof(oid), "%lld", (long long)key_id);
    int arc = audit_record(d, &a->audit, "backup_key.create", "backup_key", oid, NULL, after, e);
    json_decref(after);
    if (arc != 0 || db_commit(d, e) != 0) goto fail;
    *shares_out = shares;
    shares = NULL;
    *cert_pem_out = pem;
    pem = NULL;
    rc = 0;
    goto out;
fail:
    db_rollback(d);
out:
    if (g) gfshare_ctx_free(g);
    if (sharebuf) OPENSSL_cleanse(sharebuf, (size_t)der_len);
    free(sharebuf);
    if (der) OPENSSL_clear_free(der, (size_t)der_len);
    backup_free_shares(shares, n);
    free(pem);
    X509_free(x);
    EVP_PKEY_free(pk); /* RSA private components are freed with BN_clear_free */
    return rc;
}

int backup_active_cert(db *d, char **pem, char *fingerprint, err *e) {
    db_stmt *s = db_query(d, e,
                          "SELECT cert_pem, fingerprint FROM trade_backup_keys WHERE status = "
                          "'active' ORDER BY id DESC LIMIT 1",
                          "");
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ROW) {
        *pem = strdup(db_column_text(s, 0));
        if (fingerprint) snprintf(fingerprint, 65, "%s", db_column_text(s, 1));
    }
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取备份证书失败");
    return rc == DB_ROW ? 0 : 1;
}

/* ---- decryption ---- */

static unsigned char *b64_decode(const char *s, size_t slen, size_t *out_len) {
    size_t cap = slen / 4 * 3 + 4;
    unsigned char *out = malloc(cap);
    const char *end = NULL;
    if (!out ||
        sodium_base642bin(out, cap, s, slen, "\r\n", out_len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != s + slen) {
        free(out);
        return NULL;
    }
    return out;
}

static int decrypt_cms(const unsigned char *env, size_t len, EVP_PKEY *pk, X509 *x,
                       unsigned char **plain, size_t *plain_len, err *e) {
    if (len > INT32_MAX) return err_set(e, 422, "decrypt_failed", "envelope", "数字信封过大");
    BIO *in = BIO_new_mem_buf(env, (int)len);
    CMS_ContentInfo *c = NULL;
    if (in && len > 10 && memcmp(env, "-----BEGIN", 10) == 0)
        c = PEM_read_bio_CMS(in, NULL, NULL, NULL);
    else if (in)
        c = d2i_CMS_bio(in, NULL);
    BIO_free(in);
    BIO *out = BIO_new(BIO_s_mem());
    int ok = c && out && CMS_decrypt(c, pk, x, NULL, out, CMS_BINARY) == 1;
    CMS_ContentInfo_free(c);
    if (ok) {
        BUF_MEM *m = NULL;
        BIO_get_mem_ptr(out, &m);
        *plain = malloc(m->length ? m->length : 1);
        if (*plain) memcpy(*plain, m->data, m->length);
        *plain_len = m->length;
        OPENSSL_cleanse(m->data, m->length);
        ok = *plain != NULL;
    }
    BIO_free(out);
    ERR_clear_error();
    if (!ok) return err_set(e, 422, "decrypt_failed", "envelope", "无法用该密钥解开数字信封");
    return 0;
}

/* The "sm2" container (bids.h): unwrap the SM4 key of the recipient whose certificate
 * is x (SM2, or RSA-OAEP-SHA256), then SM4-CBC with PKCS#7 padding. */
static int decrypt_sm2(const unsigned char *env, size_t len, EVP_PKEY *pk, X509 *x,
                       unsigned char **plain, size_t *plain_len, err *e) {
    char fp[65];
    if (cert_fingerprint(x, fp) != 0) return err_internal(e, "证书无法读取");
    json_t *o = json_loadb((const char *)env, len, 0, NULL);
    const char *ivh = jsonx_str(o, "iv"), *ct = jsonx_str(o, "ciphertext");
    const char *wrapped = NULL;
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(o, "recipients"), i, r) {
        const char *f = jsonx_str(r, "cert_sha256");
        if (f && !strcasecmp(f, fp)) wrapped = jsonx_str(r, "key");
    }
    unsigned char iv[16], key[512]; /* RSA wants room for a whole modulus */
    size_t ivn = 0, keyn = sizeof(key), wn = 0, ctn = 0;
    unsigned char *wb = wrapped ? b64_decode(wrapped, strlen(wrapped), &wn) : NULL;
    unsigned char *cb = ct ? b64_decode(ct, strlen(ct), &ctn) : NULL;
    int ok = wb && cb && ivh &&
             sodium_hex2bin(iv, sizeof(iv), ivh, strlen(ivh), NULL, &ivn, NULL) == 0 && ivn == 16;
    EVP_PKEY_CTX *pc = ok ? EVP_PKEY_CTX_new(pk, NULL) : NULL;
    ok = pc && EVP_PKEY_decrypt_init(pc) == 1;
    if (ok && EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA)
        ok = EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_oaep_md(pc, EVP_sha256()) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(pc, EVP_sha256()) == 1;
    ok = ok && EVP_PKEY_decrypt(pc, key, &keyn, wb, wn) == 1 && keyn == 16;
    EVP_PKEY_CTX_free(pc);
    unsigned char *out = ok ? malloc(ctn + 16) : NULL;
    int l1 = 0, l2 = 0;
    EVP_CIPHER_CTX *cc = out ? EVP_CIPHER_CTX_new() : NULL;
    ok = cc && EVP_DecryptInit_ex(cc, EVP_sm4_cbc(), NULL, key, iv) == 1 &&
         EVP_DecryptUpdate(cc, out, &l1, cb, (int)ctn) == 1 &&
         EVP_DecryptFinal_ex(cc, out + l1, &l2) == 1;
    EVP_CIPHER_CTX_free(cc);
    OPENSSL_cleanse(key, sizeof(key));
    free(wb);
    free(cb);
    json_decref(o);
    ERR_clear_error();
    if (!ok) {
        if (out) OPENSSL_clear_free(out, ctn + 16);
        return err_set(e, 422, "decrypt_failed", "envelope", "无法用该密钥解开数字信封");
    }
    *plain = out;
    *plain_len = (size_t)(l1 + l2);
    return 0;
}

static int decrypt_with(const unsigned char *env, size_t len, const char *kind, EVP_PKEY *pk,
                        X509 *x, unsigned char **plain, size_t *plain_len, err *e) {
    if (kind && !strcmp(kind, "cms")) return decrypt_cms(env, len, pk, x, plain, plain_len, e);
    if (kind && !strcmp(kind, "sm2")) return decrypt_sm2(env, len, pk, x, plain, plain_len, e);
    return err_invalid(e, "envelope_kind", "envelope_kind 应为 cms 或 sm2");
}

int backup_envelope_decrypt(const unsigned char *env, size_t len, const char *kind, const char *key,
                            size_t key_len, const char *cert_pem, unsigned char **plain,
                            size_t *plain_len, err *e) {
    BIO *b = BIO_new_mem_buf(key, (int)key_len);
    EVP_PKEY *pk = NULL;
    if (b && key_len > 10 && memcmp(key, "-----BEGIN", 10) == 0)
        pk = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    else if (b)
        pk = d2i_PrivateKey_bio(b, NULL);
    BIO_free(b);
    X509 *x = x509_from_pem(cert_pem);
    int rc = (!pk || !x) ? err_set(e, 422, "decrypt_failed", "key", "密钥或证书无法读取")
                         : decrypt_with(env, len, kind, pk, x, plain, plain_len, e);
    EVP_PKEY_free(pk);
    X509_free(x);
    ERR_clear_error();
    return rc;
}

/* One parsed share line. */
typedef struct share {
    char fp16[17];
    int index, threshold;
    unsigned char *bytes;
    size_t len;
    int64_t user_id;
} share;

static int parse_share(const char *line, share *s, err *e) {
    memset(s, 0, sizeof(*s));
    size_t n = line ? strlen(line) : 0;
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
        n--;
    if (n < sizeof(SHARE_PREFIX) || n > BACKUP_SHARE_TEXT_MAX ||
        strncmp(line, SHARE_PREFIX, strlen(SHARE_PREFIX)) != 0)
        return err_set(e, 422, "bad_share", "shares", "密钥分片格式错误");
    const char *p = line + strlen(SHARE_PREFIX);
    char b64[BACKUP_SHARE_TEXT_MAX + 1];
    int used = 0;
    if (sscanf(p, "%16[0-9a-f]:%d:%d:%n", s->fp16, &s->index, &s->threshold, &used) != 3 ||
        strlen(s->fp16) != 16 || s->index < 1 || s->index > BACKUP_SHARES_MAX || !used)
        return err_set(e, 422, "bad_share", "shares", "密钥分片格式错误");
    size_t rest = n - (size_t)(p + used - line);
    memcpy(b64, p + used, rest);
    b64[rest] = '\0';
    s->bytes = b64_decode(b64, rest, &s->len);
    if (!s->bytes || !s->len) return err_set(e, 422, "bad_share", "shares", "密钥分片格式错误");
    return 0;
}

static void share_wipe(share *s) {
    if (s->bytes) OPENSSL_clear_free(s->bytes, s->len);
    s->bytes = NULL;
}

int backup_decrypt_bid(db *d, const trade_actor *a, int64_t bid_id, const char *const *lines,
                       int nshares, unsigned char **plain, size_t *plain_len, err *e) {
    if (!trade_actor_can_supervise(a)) return err_forbidden(e, "无权使用备份密钥");
    db_stmt *st =
        db_query(d, e, "SELECT tender_id, to_backup, status FROM bids WHERE id = $1", "i", bid_id);
    if (!st) return -1;
    int64_t tender_id = 0, to_backup = 0;
    char status[16] = "";
    int r0 = db_step(st);
    if (r0 == DB_ROW) {
        tender_id = db_column_int64(st, 0);
        to_backup = db_column_int64(st, 1);
        snprintf(status, sizeof(status), "%s", db_column_text(st, 2));
    }
    db_reset(st);
    if (r0 == DB_ERROR) return err_internal(e, "读取投标失败");
    if (r0 != DB_ROW) return err_notfound(e, "投标不存在");
    trade_tender t;
    if (trade_tender_load(d, tender_id, &t, e) != 0) return -1;
    if (time_now() < t.deadline_at)
        return err_set(e, 409, "before_deadline", "deadline_at", "投标截止前不能使用备份密钥");
    if (strcmp(t.status, "opening") != 0)
        return err_set(e, 409, "not_opening", "status", "项目未在开标中，不能使用备份密钥");
    if (strcmp(status, "sealed") != 0 && strcmp(status, "not_decrypted") != 0)
        return err_conflict(e, "status", "该投标文件不在待解密状态");
    if (!to_backup)
        return err_set(e, 409, "not_sealed_to_backup", "bid", "该投标文件未加密给备份密钥");
    if (nshares < 1 || nshares > BACKUP_SHARES_MAX || !lines)
        return err_set(e, 422, "not_enough_shares", "shares", "密钥分片数量不足");

    share sh[BACKUP_SHARES_MAX];
    memset(sh, 0, sizeof(sh));
    int rc = -1, k = 0;
    int64_t key_id = 0, threshold = 0;
    char *cert_pem = NULL;
    unsigned char *secret = NULL, *env = NULL, *out = NULL;
    size_t secret_len = 0, env_len = 0, out_len = 0;
    EVP_PKEY *pk = NULL;
    X509 *x = NULL;
    gfshare_ctx *g = NULL;
    json_t *cust = json_array();
    for (int i = 0; i < nshares; i++) {
        share s;
        if (parse_share(lines[i], &s, e) != 0) goto out;
        int dup = 0;
        for (int j = 0; j < k; j++)
            if (sh[j].index == s.index) dup = 1;
        if (dup) { /* the same custodian twice counts once */
            share_wipe(&s);
            continue;
        }
        if (k && (strcmp(s.fp16, sh[0].fp16) != 0 || s.len != sh[0].len)) {
            share_wipe(&s);
            err_set(e, 422, "bad_share", "shares", "密钥分片不属于同一备份密钥");
            goto out;
        }
        sh[k++] = s;
    }
    /* The key: by the fingerprint prefix the shares carry. */
    st = db_query(d, e,
                  "SELECT id, threshold, cert_pem FROM trade_backup_keys WHERE "
                  "SUBSTR(fingerprint, 1, 16) = $1",
                  "s", sh[0].fp16);
    if (!st) goto out;
    if (db_step(st) == DB_ROW) {
        key_id = db_column_int64(st, 0);
        threshold = db_column_int64(st, 1);
        cert_pem = strdup(db_column_text(st, 2));
    }
    db_reset(st);
    if (!key_id) {
        err_set(e, 422, "bad_share", "shares", "密钥分片不属于任何备份密钥");
        goto out;
    }
    for (int i = 0; i < k; i++) {
        /* Recognise the share by the SHA-256 of its canonical line. */
        char line[BACKUP_SHARE_TEXT_MAX + 64], h[65];
        size_t b64cap = sodium_base64_ENCODED_LEN(sh[i].len, sodium_base64_VARIANT_ORIGINAL);
        char *b64 = malloc(b64cap);
        if (!b64) goto out;
        sodium_bin2base64(b64, b64cap, sh[i].bytes, sh[i].len, sodium_base64_VARIANT_ORIGINAL);
        snprintf(line, sizeof(line), SHARE_PREFIX "%s:%d:%d:%s", sh[i].fp16, sh[i].index,
                 sh[i].threshold, b64);
        sodium_memzero(b64, strlen(b64));
        free(b64);
        sha256_hex(line, strlen(line), h);
        sodium_memzero(line, sizeof(line));
        int64_t uid = 0;
        int q = db_query_int(d, e, &uid,
                             "SELECT user_id FROM trade_backup_custodians WHERE key_id = $1 AND "
                             "share_index = $2 AND share_sha256 = $3",
                             "iis", key_id, (int64_t)sh[i].index, h);
        if (q < 0) goto out;
        if (q == 1) {
            err_set(e, 422, "bad_share", "shares", "第 %d 个密钥分片无效", i + 1);
            goto out;
        }
        sh[i].user_id = uid;
        json_array_append_new(cust, json_integer(uid));
    }
    if (k < threshold) {
        err_set(e, 422, "not_enough_shares", "shares", "需要至少 %lld 位保管人的密钥分片，现有 %d",
                (long long)threshold, k);
        goto out;
    }
    unsigned char nrs[BACKUP_SHARES_MAX];
    for (int i = 0; i < k; i++)
        nrs[i] = (unsigned char)sh[i].index;
    secret_len = sh[0].len;
    secret = malloc(secret_len);
    gfshare_fill_rand = gf_rand; /* gfshare_ctx_free() scrubs with it: never leave it NULL */
    g = secret ? gfshare_ctx_init_dec(nrs, (unsigned)k, (unsigned)secret_len) : NULL;
    if (!g) {
        err_internal(e, "恢复备份密钥失败");
        goto out;
    }
    for (int i = 0; i < k; i++)
        gfshare_ctx_dec_giveshare(g, (unsigned char)i, sh[i].bytes);
    gfshare_ctx_dec_extract(g, secret);
    const unsigned char *p = secret;
    PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)secret_len);
    pk = p8 ? EVP_PKCS82PKEY(p8) : NULL;
    PKCS8_PRIV_KEY_INFO_free(p8);
    x = x509_from_pem(cert_pem);
    if (!pk || !x || EVP_PKEY_eq(pk, X509_get0_pubkey(x)) != 1) {
        ERR_clear_error();
        err_set(e, 422, "bad_share", "shares", "密钥分片无法恢复备份密钥");
        goto out;
    }
    char kind[4], commit[65], got[65];
    if (bids_envelope_load(d, bid_id, &env, &env_len, kind, commit, e) != 0) goto out;
    if (decrypt_with(env, env_len, kind, pk, x, &out, &out_len, e) != 0) goto out;
    sha256_hex(out, out_len, got);
    if (strcmp(got, commit) != 0) {
        err_set(e, 422, "commitment_mismatch", "plaintext",
                "解密后的投标文件与投标时签名承诺的摘要不一致");
        goto out;
    }
    int own_tx = !d->in_tx;
    if (own_tx && db_begin(d, e) != 0) goto out;
    char now[32], oid[24];
    time_iso(now, sizeof(now), time_now());
    char *cj = json_dumps(cust, JSON_COMPACT);
    int w = db_execf(d, e,
                     "INSERT INTO trade_backup_uses (tender_id, bid_id, key_id, custodians, "
                     "reason, at) VALUES ($1, $2, $3, $4, $5, $6)",
                     "iiisss", tender_id, bid_id, key_id, cj ? cj : "[]",
                     "投标人未能解密，经保管人授权使用备份密钥", now);
    free(cj);
    if (w == 0) {
        snprintf(oid, sizeof(oid), "%lld", (long long)bid_id);
        json_t *after = json_pack("{s:I,s:O}", "key_id", (json_int_t)key_id, "custodians", cust);
        w = audit_record(d, &a->audit, "bid.backup_decrypt", "bid", oid, NULL, after, e);
        json_decref(after);
    }
    if (own_tx) {
        if (w == 0) w = db_commit(d, e);
        if (w != 0) db_rollback(d);
    }
    if (w != 0) goto out;
    *plain = out;
    *plain_len = out_len;
    out = NULL;
    rc = 0;
out:
    if (g) gfshare_ctx_free(g);
    if (secret) OPENSSL_clear_free(secret, secret_len);
    for (int i = 0; i < k; i++)
        share_wipe(&sh[i]);
    if (out) OPENSSL_clear_free(out, out_len);
    free(env);
    free(cert_pem);
    EVP_PKEY_free(pk);
    X509_free(x);
    json_decref(cust);
    return rc;
}
