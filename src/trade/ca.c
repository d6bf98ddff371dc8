/* ca: the CA trust store, certificates, signatures, certificate login (see ca.h).
 *
 * OpenSSL 3 does the cryptography: X509_STORE + X509_verify_cert for chains
 * (time and CRLs through the verify parameters), EVP_DigestVerify for signatures.
 * SM2 needs the distinguishing ID set wherever OpenSSL verifies an SM2 signature:
 * on each SM2-signed certificate (X509_set0_distinguishing_id, read by
 * X509_verify) and on the verify context of a message signature. */
#include "trade/ca.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/roles.h"
#include "base/crypto.h"
#include "base/jsonx.h"
#include "base/timeutil.h"

/* ---- small helpers ---- */

static void hexlower(char *s) {
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'F') *s = (char)(*s - 'A' + 'a');
}

static void x509_fingerprint(X509 *x, char out[65]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    out[0] = '\0';
    if (X509_digest(x, EVP_sha256(), md, &n) == 1 && n == 32) crypto_hex(md, 32, out);
}

static void crl_sha256(X509_CRL *c, char out[65]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    out[0] = '\0';
    if (X509_CRL_digest(c, EVP_sha256(), md, &n) == 1 && n == 32) crypto_hex(md, 32, out);
}

/* One-line RFC 2253 name, UTF-8 kept as is. */
static void name_str(const X509_NAME *nm, char *out, size_t n) {
    out[0] = '\0';
    BIO *b = BIO_new(BIO_s_mem());
    if (!b) return;
    if (X509_NAME_print_ex(b, nm, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
        char *p = NULL;
        long len = BIO_get_mem_data(b, &p);
        if (len < 0) len = 0;
        if ((size_t)len >= n) {
            len = (long)n - 1;
            /* Do not cut a UTF-8 sequence in two. */
            while (len > 0 && ((unsigned char)p[len] & 0xC0) == 0x80)
                len--;
        }
        memcpy(out, p, (size_t)len);
        out[len] = '\0';
    }
    BIO_free(b);
}

/* The CN of a name, or "". */
static void name_cn(const X509_NAME *nm, char *out, size_t n) {
    out[0] = '\0';
    int i = X509_NAME_get_index_by_NID(nm, NID_commonName, -1);
    if (i < 0) return;
    ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, i));
    unsigned char *u = NULL;
    int len = ASN1_STRING_to_UTF8(&u, s);
    if (len > 0) snprintf(out, n, "%.*s", len, (char *)u);
    OPENSSL_free(u);
}

static int asn1_time_unix(const ASN1_TIME *t, int64_t *out) {
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return -1;
    *out = (int64_t)timegm(&tm);
    return 0;
}

static void asn1_time_iso(const ASN1_TIME *t, char *out, size_t n) {
    int64_t u = 0;
    if (asn1_time_unix(t, &u) == 0)
        time_iso(out, n, u);
    else
        snprintf(out, n, "%s", "");
}

/* rsa | ec | sm2, or NULL for keys isle does not take. */
static const char *key_type_of(EVP_PKEY *pk) {
    if (!pk) return NULL;
    if (EVP_PKEY_is_a(pk, "RSA")) return "rsa";
    if (EVP_PKEY_is_a(pk, "SM2")) return "sm2";
    if (EVP_PKEY_is_a(pk, "EC")) {
        char g[64] = "";
        size_t gl = 0;
        if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, g, sizeof(g), &gl) ==
                1 &&
            !strcmp(g, "SM2"))
            return "sm2";
        return "ec";
    }
    return NULL;
}

/* Give an SM2-signed certificate the default ID so that X509_verify checks it. */
static void sm2_id_on(X509 *x) {
    if (X509_get_signature_nid(x) != NID_SM2_with_SM3) return;
    ASN1_OCTET_STRING *id = ASN1_OCTET_STRING_new();
    if (!id) return;
    if (ASN1_OCTET_STRING_set(id, (const unsigned char *)CA_SM2_ID, (int)strlen(CA_SM2_ID)) != 1) {
        ASN1_OCTET_STRING_free(id);
        return;
    }
    X509_set0_distinguishing_id(x, id); /* takes id */
}

static int has_pem_marker(const void *data, size_t len, const char *marker) {
    return memmem(data, len, marker, strlen(marker)) != NULL;
}

/* Parse a PEM bundle (or one DER certificate) into a stack, leaf first. */
static STACK_OF(X509) * parse_certs(const void *data, size_t len, const char *field, err *e) {
    if (!data || len == 0) {
        err_invalid(e, field, "缺少证书");
        return NULL;
    }
    if (len > CA_PEM_MAX) {
        err_set(e, 413, "too_large", field, "证书数据超过 %d KiB", CA_PEM_MAX / 1024);
        return NULL;
    }
    STACK_OF(X509) *sk = sk_X509_new_null();
    if (!sk) {
        err_internal(e, "内存不足");
        return NULL;
    }
    if (has_pem_marker(data, len, "-----BEGIN CERTIFICATE-----")) {
        BIO *b = BIO_new_mem_buf(data, (int)len);
        X509 *x;
        while (b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
            if (sk_X509_num(sk) >= CA_CHAIN_MAX) {
                X509_free(x);
                BIO_free(b);
                sk_X509_pop_free(sk, X509_free);
                err_invalid(e, field, "证书链最多 %d 张证书", CA_CHAIN_MAX);
                return NULL;
            }
            sk_X509_push(sk, x);
        }
        BIO_free(b);
    } else {
        const unsigned char *p = data;
        X509 *x = d2i_X509(NULL, &p, (long)len);
        if (x && p == (const unsigned char *)data + len)
            sk_X509_push(sk, x);
        else
            X509_free(x);
    }
    ERR_clear_error();
    if (sk_X509_num(sk) == 0) {
        sk_X509_free(sk);
        err_invalid(e, field, "无法解析证书（应为 PEM 或 DER 格式的 X.509 证书）");
        return NULL;
    }
    for (int i = 0; i < sk_X509_num(sk); i++)
        sm2_id_on(sk_X509_value(sk, i));
    return sk;
}

static X509 *parse_one(const char *pem, size_t len, const char *field, err *e) {
    STACK_OF(X509) *sk = parse_certs(pem, len, field, e);
    if (!sk) return NULL;
    X509 *x = sk_X509_shift(sk);
    sk_X509_pop_free(sk, X509_free);
    return x;
}

static X509 *x509_from_text(const char *pem) {
    if (!pem) return NULL;
    STACK_OF(X509) *sk = parse_certs(pem, strlen(pem), "pem", NULL);
    if (!sk) return NULL;
    X509 *x = sk_X509_shift(sk);
    sk_X509_pop_free(sk, X509_free);
    return x;
}

static void cert_info_fill(X509 *x, ca_cert_info *o) {
    memset(o, 0, sizeof(*o));
    x509_fingerprint(x, o->fingerprint);
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *h = bn ? BN_bn2hex(bn) : NULL;
    snprintf(o->serial, sizeof(o->serial), "%s", h ? h : "");
    hexlower(o->serial);
    OPENSSL_free(h);
    BN_free(bn);
    name_str(X509_get_subject_name(x), o->subject, sizeof(o->subject));
    name_str(X509_get_issuer_name(x), o->issuer, sizeof(o->issuer));
    const char *kt = key_type_of(X509_get0_pubkey(x));
    snprintf(o->key_type, sizeof(o->key_type), "%s", kt ? kt : "");
    unsigned char *der = NULL;
    int dl = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
    if (dl > 0) crypto_sha256_hex(der, (size_t)dl, o->pubkey_sha256);
    OPENSSL_free(der);
    asn1_time_iso(X509_get0_notBefore(x), o->not_before, sizeof(o->not_before));
    asn1_time_iso(X509_get0_notAfter(x), o->not_after, sizeof(o->not_after));
}

static int audit_json(db *d, const trade_actor *a, const char *action, const char *type, int64_t id,
                      json_t *after, err *e) {
    char oid[24];
    snprintf(oid, sizeof(oid), "%lld", (long long)id);
    static const audit_actor sys = {.user_id = 0, .login = "system", .request_id = NULL};
    int rc = audit_record(d, a ? &a->audit : &sys, action, type, oid, NULL, after, e);
    json_decref(after);
    return rc;
}

static int finish(db *d, int rc, err *e) {
    if (rc == 0 && db_commit(d, e) == 0) return 0;
    db_rollback(d);
    return -1;
}

/* ---- the trust store ---- */

static json_t *root_json(db_stmt *s) {
    return db_row_json(s);
}

#define ROOT_COLS "id, name, subject, key_type, home, fingerprint, not_after, disabled, added_at"

static json_t *root_get(db *d, int64_t id, err *e) {
    db_stmt *s = db_query(d, e, "SELECT " ROOT_COLS " FROM ca_roots WHERE id = $1", "i", id);
    if (!s) return NULL;
    json_t *o = NULL;
    if (db_step(s) == DB_ROW) o = root_json(s);
    db_reset(s);
    if (!o) err_notfound(e, "没有这个根证书");
    return o;
}

int ca_root_add(db *d, const trade_actor *a, const char *pem, size_t len, const char *name,
                int home, json_t **out, err *e) {
    if (out) *out = NULL;
    if (!trade_actor_is_staff(a))
        return err_forbidden(e, "只有交易中心工作人员可以管理 CA 信任列表");
    if (name && strlen(name) > CA_NAME_MAX)
        return err_invalid(e, "name", "名称不能超过 %d 字节", CA_NAME_MAX);
    X509 *x = parse_one(pem, len, "pem", e);
    if (!x) return -1;
    int rc = 0;
    if (X509_check_ca(x) <= 0)
        rc = err_set(e, 422, "not_a_ca", "pem", "这不是 CA 证书（缺少 basicConstraints CA:TRUE）");
    else if (X509_check_issued(x, x) != X509_V_OK || X509_verify(x, X509_get0_pubkey(x)) != 1)
        rc = err_set(e, 422, "not_self_signed", "pem", "根证书必须是自签名的，且签名有效");
    const char *kt = key_type_of(X509_get0_pubkey(x));
    if (rc == 0 && !kt)
        rc = err_set(e, 422, "unsupported_key", "pem", "只支持 RSA、ECDSA 和 SM2 密钥");
    int64_t now = time_now(), na = 0;
    if (rc == 0 && (asn1_time_unix(X509_get0_notAfter(x), &na) != 0 || na < now))
        rc = err_set(e, 422, "cert_expired", "pem", "根证书已过期");
    ERR_clear_error();
    if (rc != 0) {
        X509_free(x);
        return -1;
    }
    ca_cert_info ci;
    cert_info_fill(x, &ci);
    char cn[CA_NAME_MAX + 1] = "";
    if (name && *name)
        snprintf(cn, sizeof(cn), "%s", name);
    else
        name_cn(X509_get_subject_name(x), cn, sizeof(cn));
    if (!cn[0]) snprintf(cn, sizeof(cn), "CA %.16s", ci.fingerprint);
    /* Store the certificate as canonical PEM, whatever form it came in. */
    BIO *b = BIO_new(BIO_s_mem());
    char *pp = NULL;
    if (b) PEM_write_bio_X509(b, x);
    long pl = b ? BIO_get_mem_data(b, &pp) : 0;
    char *canon = pl > 0 ? strndup(pp, (size_t)pl) : NULL;
    BIO_free(b);
    X509_free(x);
    if (!canon) return err_internal(e, "内存不足");

    char now_s[32];
    time_iso(now_s, sizeof(now_s), now);
    if (db_begin(d, e) != 0) {
        free(canon);
        return -1;
    }
    int64_t exists = 0, id = 0;
    rc = db_query_int(d, e, &exists, "SELECT id FROM ca_roots WHERE fingerprint = $1", "s",
                      ci.fingerprint);
    if (rc == 0)
        rc = err_conflict(e, "pem", "该根证书已在信任列表中（编号 %lld）", (long long)exists);
    else if (rc == 1)
        rc = db_query_int(d, e, &id,
                          "INSERT INTO ca_roots (name, subject, fingerprint, key_type, pem, home, "
                          "not_after, added_by, added_at) VALUES ($1,$2,$3,$4,$5,$6,$7,"
                          "NULLIF($8, 0),$9) RETURNING id",
                          "sssssisis", cn, ci.subject, ci.fingerprint, kt, canon,
                          (int64_t)(home ? 1 : 0), ci.not_after, a->user_id, now_s) == 0
                 ? 0
                 : -1;
    free(canon);
    if (rc == 0)
        rc = audit_json(d, a, "ca.root_add", "ca_root", id,
                        json_pack("{s:s, s:s, s:s, s:b}", "name", cn, "fingerprint", ci.fingerprint,
                                  "key_type", kt, "home", home ? 1 : 0),
                        e);
    if (finish(d, rc, e) != 0) return -1;
    if (out) *out = root_get(d, id, e);
    return 0;
}

json_t *ca_roots_list(db *d, int with_disabled, err *e) {
    db_stmt *s = db_query(d, e,
                          with_disabled ? "SELECT " ROOT_COLS " FROM ca_roots ORDER BY id"
                                        : "SELECT " ROOT_COLS
                                          " FROM ca_roots WHERE disabled = 0 ORDER BY id",
                          "");
    if (!s) return NULL;
    return db_rows_json(s, 1000, e);
}

int ca_root_disable(db *d, const trade_actor *a, int64_t id, int disabled, err *e) {
    if (!trade_actor_is_staff(a))
        return err_forbidden(e, "只有交易中心工作人员可以管理 CA 信任列表");
    if (db_begin(d, e) != 0) return -1;
    int rc = db_execf(d, e, "UPDATE ca_roots SET disabled = $2 WHERE id = $1", "ii", id,
                      (int64_t)(disabled ? 1 : 0));
    if (rc == 0 && db_changes(d) == 0)
        rc = err_notfound(e, "没有编号为 %lld 的根证书", (long long)id);
    if (rc == 0)
        rc = audit_json(d, a, disabled ? "ca.root_disable" : "ca.root_enable", "ca_root", id,
                        json_pack("{s:b}", "disabled", disabled ? 1 : 0), e);
    return finish(d, rc, e);
}

/* Every enabled root's certificate, or every stored intermediate. */
static STACK_OF(X509) * load_certs_sql(db *d, const char *sql, err *e) {
    db_stmt *s = db_query(d, e, sql, "");
    if (!s) return NULL;
    STACK_OF(X509) *sk = sk_X509_new_null();
    int rc;
    while (sk && (rc = db_step(s)) == DB_ROW) {
        X509 *x = x509_from_text(db_column_text(s, 0));
        if (x) sk_X509_push(sk, x);
    }
    db_reset(s);
    if (!sk) err_internal(e, "内存不足");
    return sk;
}

static X509_CRL *parse_crl(const void *data, size_t len, err *e) {
    X509_CRL *c = NULL;
    if (has_pem_marker(data, len, "-----BEGIN X509 CRL-----")) {
        BIO *b = BIO_new_mem_buf(data, (int)len);
        if (b) c = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
        BIO_free(b);
    } else {
        const unsigned char *p = data;
        c = d2i_X509_CRL(NULL, &p, (long)len);
        if (c && p != (const unsigned char *)data + len) {
            X509_CRL_free(c);
            c = NULL;
        }
    }
    ERR_clear_error();
    if (!c) err_invalid(e, "pem", "无法解析吊销列表（应为 PEM 或 DER 格式的 X.509 CRL）");
    return c;
}

static int chain_verify(db *d, STACK_OF(X509) * bundle, int64_t at, int allow_ca, ca_cert_info *out,
                        STACK_OF(X509) * *chain_out, err *e);
static char *pem_of(X509 *x);

/* Keep intermediate x (once per fingerprint) so that leaves it issued verify alone. */
static int intermediate_store(db *d, X509 *x, const char *now_s, err *e) {
    char fp[65], subj[256];
    x509_fingerprint(x, fp);
    name_str(X509_get_subject_name(x), subj, sizeof(subj));
    char *ip = pem_of(x);
    int rc = ip ? db_execf(d, e,
                           "INSERT INTO ca_intermediates (subject, fingerprint, pem, added_at) "
                           "VALUES ($1,$2,$3,$4) ON CONFLICT (fingerprint) DO NOTHING",
                           "ssss", subj, fp, ip, now_s)
                : err_internal(e, "内存不足");
    free(ip);
    return rc;
}

/* X509_CRL_verify in OpenSSL 3.0 has no way to pass an SM2 ID, so an SM2-signed CRL
 * (made with -sigopt distid:1234567812345678) is checked here over its TBS bytes. */
static int crl_sig_ok(X509_CRL *crl, EVP_PKEY *pk) {
    if (X509_CRL_get_signature_nid(crl) != NID_SM2_with_SM3) return X509_CRL_verify(crl, pk) == 1;
    const char *kt = key_type_of(pk);
    if (!kt || strcmp(kt, "sm2") != 0) return 0;
    unsigned char *tbs = NULL;
    int n = i2d_re_X509_CRL_tbs(crl, &tbs);
    const ASN1_BIT_STRING *sig = NULL;
    const X509_ALGOR *alg = NULL;
    X509_CRL_get0_signature(crl, &sig, &alg);
    EVP_MD_CTX *mc = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    int ok = n > 0 && sig && mc &&
             EVP_DigestVerifyInit_ex(mc, &pc, "SM3", NULL, NULL, pk, NULL) == 1 &&
             EVP_PKEY_CTX_set1_id(pc, CA_SM2_ID, strlen(CA_SM2_ID)) == 1 &&
             EVP_DigestVerify(mc, ASN1_STRING_get0_data(sig), (size_t)ASN1_STRING_length(sig), tbs,
                              (size_t)n) == 1;
    EVP_MD_CTX_free(mc);
    OPENSSL_free(tbs);
    ERR_clear_error();
    return ok;
}

int ca_crl_add(db *d, const trade_actor *a, const void *data, size_t len, json_t **out, err *e) {
    if (out) *out = NULL;
    if (!trade_actor_is_staff(a)) return err_forbidden(e, "只有交易中心工作人员可以导入吊销列表");
    if (!data || !len) return err_invalid(e, "pem", "缺少吊销列表");
    if (len > CA_CRL_MAX)
        return err_set(e, 413, "too_large", "pem", "吊销列表超过 %d KiB", CA_CRL_MAX / 1024);
    X509_CRL *crl = parse_crl(data, len, e);
    if (!crl) return -1;
    /* The CRL must be signed by a CA we know under the CRL's issuer name. */
    STACK_OF(X509) *roots = load_certs_sql(d, "SELECT pem FROM ca_roots WHERE disabled = 0", e);
    STACK_OF(X509) *inters =
        roots ? load_certs_sql(d, "SELECT pem FROM ca_intermediates", e) : NULL;
    if (!roots || !inters) {
        sk_X509_pop_free(roots, X509_free);
        X509_CRL_free(crl);
        return -1;
    }
    int verified = 0;
    for (int k = 0; k < 2 && !verified; k++) {
        STACK_OF(X509) *sk = k ? inters : roots;
        for (int i = 0; i < sk_X509_num(sk) && !verified; i++) {
            X509 *c = sk_X509_value(sk, i);
            if (X509_NAME_cmp(X509_get_subject_name(c), X509_CRL_get_issuer(crl)) == 0 &&
                crl_sig_ok(crl, X509_get0_pubkey(c)))
                verified = 1;
        }
    }
    ERR_clear_error();
    sk_X509_pop_free(roots, X509_free);
    sk_X509_pop_free(inters, X509_free);
    /* Not known yet: the issuing CA's certificate (and its chain) may come with the CRL
     * in the same PEM; it must chain to a trusted root now, and is then remembered. */
    X509 *new_inter = NULL;
    if (!verified && has_pem_marker(data, len, "-----BEGIN CERTIFICATE-----")) {
        STACK_OF(X509) *sk = sk_X509_new_null();
        BIO *b = BIO_new_mem_buf(data, (int)len);
        X509 *x;
        while (sk && b && sk_X509_num(sk) < CA_CHAIN_MAX &&
               (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
            sm2_id_on(x);
            sk_X509_push(sk, x);
        }
        BIO_free(b);
        ERR_clear_error();
        for (int i = 0; sk && i < sk_X509_num(sk) && !verified; i++) {
            X509 *c = sk_X509_value(sk, i);
            if (X509_NAME_cmp(X509_get_subject_name(c), X509_CRL_get_issuer(crl)) != 0 ||
                X509_check_ca(c) <= 0 || !crl_sig_ok(crl, X509_get0_pubkey(c)))
                continue;
            /* Chain check with c first and the others as helpers. */
            STACK_OF(X509) *b2 = sk_X509_new_null();
            sk_X509_push(b2, c);
            for (int j = 0; j < sk_X509_num(sk); j++)
                if (j != i) sk_X509_push(b2, sk_X509_value(sk, j));
            err e2 = {0};
            if (chain_verify(d, b2, time_now(), 1, NULL, NULL, &e2) == 0) {
                verified = 1;
                X509_up_ref(c);
                new_inter = c;
            }
            sk_X509_free(b2);
        }
        sk_X509_pop_free(sk, X509_free);
        ERR_clear_error();
    }
    if (!verified) {
        X509_CRL_free(crl);
        return err_set(e, 422, "untrusted_ca", "pem", "吊销列表的签发者不在信任列表中，或签名无效");
    }
    char issuer[256], sha[65], this_u[32] = "", next_u[32] = "";
    name_str(X509_CRL_get_issuer(crl), issuer, sizeof(issuer));
    crl_sha256(crl, sha);
    asn1_time_iso(X509_CRL_get0_lastUpdate(crl), this_u, sizeof(this_u));
    if (X509_CRL_get0_nextUpdate(crl))
        asn1_time_iso(X509_CRL_get0_nextUpdate(crl), next_u, sizeof(next_u));
    STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(crl);
    int nrev = rev ? sk_X509_REVOKED_num(rev) : 0;
    BIO *b = BIO_new(BIO_s_mem());
    char *pp = NULL;
    if (b) PEM_write_bio_X509_CRL(b, crl);
    long pl = b ? BIO_get_mem_data(b, &pp) : 0;
    char *canon = pl > 0 ? strndup(pp, (size_t)pl) : NULL;
    BIO_free(b);
    if (!canon || !this_u[0]) {
        free(canon);
        X509_free(new_inter);
        X509_CRL_free(crl);
        return err_invalid(e, "pem", "吊销列表缺少有效的 thisUpdate");
    }
    char now_s[32];
    time_iso(now_s, sizeof(now_s), time_now());
    int64_t id = 0, dup = 0, certs_revoked = 0;
    json_t *ids = json_array();
    int rc = db_begin(d, e);
    if (rc == 0) {
        int q = db_query_int(d, e, &dup, "SELECT id FROM ca_crls WHERE sha256 = $1", "s", sha);
        if (q == 0)
            rc = err_conflict(e, "pem", "该吊销列表已导入（编号 %lld）", (long long)dup);
        else if (q < 0)
            rc = -1;
    }
    if (rc == 0) {
        int64_t newer = 0;
        int q = db_query_int(d, e, &newer,
                             "SELECT COUNT(*) FROM ca_crls WHERE issuer = $1 AND this_update >= $2",
                             "ss", issuer, this_u);
        if (q < 0)
            rc = -1;
        else if (newer > 0)
            rc = err_conflict(e, "pem", "已有同一签发者更新的吊销列表");
    }
    if (rc == 0 && new_inter && X509_check_issued(new_inter, new_inter) != X509_V_OK)
        rc = intermediate_store(d, new_inter, now_s, e);
    X509_free(new_inter);
    new_inter = NULL;
    if (rc == 0)
        rc = db_query_int(d, e, &id,
                          "INSERT INTO ca_crls (issuer, sha256, pem, this_update, next_update, "
                          "added_at) VALUES ($1,$2,$3,$4,$5,$6) RETURNING id",
                          "ssssss", issuer, sha, canon, this_u, next_u[0] ? next_u : NULL,
                          now_s) == 0
                 ? 0
                 : -1;
    /* Registered certificates of this issuer that the CRL lists. */
    if (rc == 0) {
        db_stmt *s = db_query(d, e,
                              "SELECT id, serial FROM trade_certs WHERE issuer = $1 AND "
                              "status = 'active'",
                              "s", issuer);
        if (!s) rc = -1;
        while (s && db_step(s) == DB_ROW) {
            BIGNUM *bn = NULL;
            const char *hex = db_column_text(s, 1);
            if (!hex || !BN_hex2bn(&bn, hex)) continue;
            ASN1_INTEGER *ai = BN_to_ASN1_INTEGER(bn, NULL);
            X509_REVOKED *r = NULL;
            if (ai && X509_CRL_get0_by_serial(crl, &r, ai) == 1)
                json_array_append_new(ids, json_integer(db_column_int64(s, 0)));
            ASN1_INTEGER_free(ai);
            BN_free(bn);
        }
        if (s) db_reset(s);
    }
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) {
        if (rc != 0) break;
        rc = db_execf(d, e, "UPDATE trade_certs SET status = 'revoked' WHERE id = $1", "i",
                      (int64_t)json_integer_value(v));
        certs_revoked++;
    }
    free(canon);
    X509_CRL_free(crl);
    if (rc == 0)
        rc = audit_json(d, a, "ca.crl_add", "ca_crl", id,
                        json_pack("{s:s, s:s, s:i, s:O}", "sha256", sha, "this_update", this_u,
                                  "revoked", nrev, "certs_revoked", ids),
                        e);
    json_decref(ids);
    if (finish(d, rc, e) != 0) return -1;
    if (out)
        *out = json_pack("{s:I, s:s, s:s, s:o, s:i, s:I}", "id", (json_int_t)id, "issuer", issuer,
                         "this_update", this_u, "next_update",
                         jsonx_str_or_null(next_u[0] ? next_u : NULL), "revoked", nrev,
                         "certs_revoked", (json_int_t)certs_revoked);
    return 0;
}

/* ---- chains ---- */

/* Missing or stale CRLs do not fail a chain: a CA whose CRL we lack is not checked
 * for revocation, and a stale CRL still revokes what it lists. */
static int verify_cb(int ok, X509_STORE_CTX *ctx) {
    if (ok) return 1;
    switch (X509_STORE_CTX_get_error(ctx)) {
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_CRL_NOT_YET_VALID:
        return 1;
    case X509_V_ERR_CRL_SIGNATURE_FAILURE: {
        /* SM2 CRLs: OpenSSL 3.0 checks them without the ID; ca_crl_add checked
         * them with it before storing, and only stored CRLs are in the store. */
        X509_CRL *c = X509_STORE_CTX_get0_current_crl(ctx);
        return c && X509_CRL_get_signature_nid(c) == NID_SM2_with_SM3;
    }
    default:
        return 0;
    }
}

static int store_add_crls(db *d, X509_STORE *st, err *e) {
    /* The newest CRL of each issuer. */
    db_stmt *s = db_query(d, e,
                          "SELECT c.pem FROM ca_crls c WHERE c.this_update = (SELECT "
                          "MAX(c2.this_update) FROM ca_crls c2 WHERE c2.issuer = c.issuer)",
                          "");
    if (!s) return -1;
    while (db_step(s) == DB_ROW) {
        const char *pem = db_column_text(s, 0);
        X509_CRL *c = pem ? parse_crl(pem, strlen(pem), NULL) : NULL;
        if (c) {
            X509_STORE_add_crl(st, c);
            X509_CRL_free(c);
        }
    }
    db_reset(s);
    ERR_clear_error();
    return 0;
}

static int map_verify_error(int code, int depth, err *e) {
    const char *what = depth == 0 ? "证书" : "上级 CA 证书";
    switch (code) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
        return err_set(e, 422, "cert_expired", "certificate", "%s已过期", what);
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return err_set(e, 422, "cert_expired", "certificate", "%s尚未生效", what);
    case X509_V_ERR_CERT_REVOKED:
        return err_set(e, 422, "cert_revoked", "certificate", "%s已被吊销", what);
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        return err_set(e, 422, "untrusted_ca", "certificate",
                       "证书不是由信任列表中的 CA 签发的（统一CA互认列表）");
    default:
        return err_set(e, 422, "untrusted_ca", "certificate", "证书链验证失败：%s",
                       X509_verify_cert_error_string(code));
    }
}

/* Check the bundle at `at`; *chain_out (may be NULL) gets the verified chain, leaf
 * first, root last. */
static int chain_verify(db *d, STACK_OF(X509) * bundle, int64_t at, int allow_ca, ca_cert_info *out,
                        STACK_OF(X509) * *chain_out, err *e) {
    if (chain_out) *chain_out = NULL;
    X509 *leaf = sk_X509_value(bundle, 0);
    ca_cert_info info;
    cert_info_fill(leaf, &info);
    int rc = 0;
    if (!info.key_type[0])
        rc = err_set(e, 422, "unsupported_key", "certificate", "只支持 RSA、ECDSA 和 SM2 密钥");
    else if (!allow_ca && X509_check_ca(leaf) > 0)
        rc = err_set(e, 422, "not_end_entity", "certificate",
                     "这是 CA 证书，请提交用户（单位）证书");
    X509_STORE *st = rc == 0 ? X509_STORE_new() : NULL;
    STACK_OF(X509) *untrusted = NULL, *roots = NULL;
    if (rc == 0 && !st) rc = err_internal(e, "内存不足");
    if (rc == 0) {
        roots = load_certs_sql(d, "SELECT pem FROM ca_roots WHERE disabled = 0", e);
        untrusted = roots ? load_certs_sql(d, "SELECT pem FROM ca_intermediates", e) : NULL;
        if (!roots || !untrusted) rc = -1;
    }
    if (rc == 0) {
        for (int i = 0; i < sk_X509_num(roots); i++)
            X509_STORE_add_cert(st, sk_X509_value(roots, i));
        for (int i = 1; i < sk_X509_num(bundle); i++) {
            X509 *x = sk_X509_value(bundle, i);
            X509_up_ref(x);
            sk_X509_push(untrusted, x);
        }
        rc = store_add_crls(d, st, e);
    }
    X509_STORE_CTX *ctx = NULL;
    if (rc == 0) {
        X509_STORE_set_verify_cb(st, verify_cb);
        X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
        ctx = X509_STORE_CTX_new();
        if (!ctx || X509_STORE_CTX_init(ctx, st, leaf, untrusted) != 1)
            rc = err_internal(e, "无法初始化证书验证");
    }
    if (rc == 0) {
        X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
        X509_VERIFY_PARAM_set_time(vp, (time_t)at);
        if (X509_verify_cert(ctx) != 1)
            rc = map_verify_error(X509_STORE_CTX_get_error(ctx),
                                  X509_STORE_CTX_get_error_depth(ctx), e);
    }
    if (rc == 0) {
        STACK_OF(X509) *chain = X509_STORE_CTX_get1_chain(ctx);
        X509 *root = chain ? sk_X509_value(chain, sk_X509_num(chain) - 1) : NULL;
        char fp[65] = "";
        if (root) x509_fingerprint(root, fp);
        db_stmt *s = db_query(d, e,
                              "SELECT id, home FROM ca_roots WHERE fingerprint = $1 AND "
                              "disabled = 0",
                              "s", fp);
        if (!s)
            rc = -1;
        else if (db_step(s) == DB_ROW) {
            info.ca_root_id = db_column_int64(s, 0);
            info.foreign_ca = db_column_int64(s, 1) ? 0 : 1;
        }
        if (s) db_reset(s);
        if (rc == 0 && !info.ca_root_id)
            rc = err_set(e, 422, "untrusted_ca", "certificate", "证书链的根不在信任列表中");
        if (rc == 0 && chain_out)
            *chain_out = chain;
        else
            sk_X509_pop_free(chain, X509_free);
    }
    ERR_clear_error();
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    sk_X509_pop_free(roots, X509_free);
    sk_X509_pop_free(untrusted, X509_free);
    if (rc == 0 && out) *out = info;
    return rc;
}

static int cert_check(db *d, const char *pem, size_t len, int64_t at, ca_cert_info *out,
                      STACK_OF(X509) * *chain_out, err *e) {
    STACK_OF(X509) *bundle = parse_certs(pem, len, "certificate", e);
    if (!bundle) return -1;
    int rc = chain_verify(d, bundle, at, 0, out, chain_out, e);
    sk_X509_pop_free(bundle, X509_free);
    return rc;
}

int ca_cert_check(db *d, const char *pem, size_t len, int64_t at, ca_cert_info *out, err *e) {
    return cert_check(d, pem, len, at, out, NULL, e);
}

static char *pem_of(X509 *x) {
    BIO *b = BIO_new(BIO_s_mem());
    char *pp = NULL, *s = NULL;
    if (b && PEM_write_bio_X509(b, x) == 1) {
        long pl = BIO_get_mem_data(b, &pp);
        if (pl > 0) s = strndup(pp, (size_t)pl);
    }
    BIO_free(b);
    return s;
}

int ca_cert_register(db *d, const trade_actor *a, const char *pem, size_t len, int64_t *cert_id,
                     err *e) {
    *cert_id = 0;
    if (!a || !a->user_id) return err_forbidden(e, "证书只能登记到登录用户名下");
    ca_cert_info ci;
    STACK_OF(X509) *chain = NULL;
    if (cert_check(d, pem, len, time_now(), &ci, &chain, e) != 0) return -1;
    char *leaf_pem = pem_of(sk_X509_value(chain, 0));
    if (!leaf_pem) {
        sk_X509_pop_free(chain, X509_free);
        return err_internal(e, "内存不足");
    }
    int64_t company = trade_company_of_user(d, a->user_id);
    char now_s[32];
    time_iso(now_s, sizeof(now_s), time_now());
    int rc = db_begin(d, e);
    /* The chain's intermediates, so that the leaf alone verifies later. */
    for (int i = 1; rc == 0 && i < sk_X509_num(chain) - 1; i++) {
        rc = intermediate_store(d, sk_X509_value(chain, i), now_s, e);
    }
    sk_X509_pop_free(chain, X509_free);
    int64_t id = 0, owner = 0;
    char status[16] = "";
    if (rc == 0) {
        db_stmt *s =
            db_query(d, e, "SELECT id, user_id, status FROM trade_certs WHERE fingerprint = $1",
                     "s", ci.fingerprint);
        if (!s)
            rc = -1;
        else if (db_step(s) == DB_ROW) {
            id = db_column_int64(s, 0);
            owner = db_column_int64(s, 1);
            snprintf(status, sizeof(status), "%s", db_column_text(s, 2));
        }
        if (s) db_reset(s);
    }
    const char *action = NULL;
    if (rc == 0 && id) {
        if (owner != a->user_id)
            rc = err_conflict(e, "certificate", "该证书已登记在其他用户名下");
        else if (!strcmp(status, "revoked"))
            rc = err_set(e, 422, "cert_revoked", "certificate", "证书已被吊销");
        else if (!strcmp(status, "removed")) {
            rc = db_execf(d, e, "UPDATE trade_certs SET status = 'active' WHERE id = $1", "i", id);
            action = "trade_cert.reactivate";
        }
    } else if (rc == 0) {
        rc = db_query_int(d, e, &id,
                          "INSERT INTO trade_certs (user_id, company_id, fingerprint, serial, "
                          "subject, issuer, key_type, pubkey_sha256, ca_root_id, pem, not_before, "
                          "not_after, status, registered_at) VALUES ($1, NULLIF($2, 0), $3, $4, "
                          "$5, $6, $7, $8, $9, $10, $11, $12, 'active', $13) RETURNING id",
                          "iissssssissss", a->user_id, company, ci.fingerprint, ci.serial,
                          ci.subject, ci.issuer, ci.key_type, ci.pubkey_sha256, ci.ca_root_id,
                          leaf_pem, ci.not_before, ci.not_after, now_s) == 0
                 ? 0
                 : -1;
        action = "trade_cert.register";
    }
    free(leaf_pem);
    if (rc == 0 && action)
        rc = audit_json(d, a, action, "trade_cert", id,
                        json_pack("{s:s, s:s, s:s, s:I, s:I}", "fingerprint", ci.fingerprint,
                                  "key_type", ci.key_type, "not_after", ci.not_after, "ca_root_id",
                                  (json_int_t)ci.ca_root_id, "company_id", (json_int_t)company),
                        e);
    if (finish(d, rc, e) != 0) return -1;
    *cert_id = id;
    return 0;
}

/* ---- signatures ---- */

int ca_verify_with_key(EVP_PKEY *pkey, const void *msg, size_t len, const char *sig_b64, err *e) {
    if (!sig_b64 || !*sig_b64) return err_invalid(e, "signature", "缺少签名");
    size_t bl = strlen(sig_b64);
    if (bl > CA_SIG_B64_MAX) return err_invalid(e, "signature", "签名过长");
    unsigned char sig[CA_SIG_B64_MAX];
    size_t sl = 0;
    if (sodium_base642bin(sig, sizeof(sig), sig_b64, bl, " \t\r\n", &sl, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        sl == 0)
        return err_invalid(e, "signature", "签名应为标准 base64 编码");
    const char *kt = key_type_of(pkey);
    if (!kt) return err_set(e, 422, "unsupported_key", "certificate", "不支持的密钥类型");
    int sm2 = !strcmp(kt, "sm2");
    EVP_MD_CTX *mc = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    int ok =
        mc && EVP_DigestVerifyInit_ex(mc, &pc, sm2 ? "SM3" : "SHA256", NULL, NULL, pkey, NULL) == 1;
    /* SM2: the Z value is computed at the first update, so the ID may follow init. */
    if (ok && sm2) ok = EVP_PKEY_CTX_set1_id(pc, CA_SM2_ID, strlen(CA_SM2_ID)) == 1;
    if (ok) ok = EVP_DigestVerify(mc, sig, sl, msg, len) == 1;
    EVP_MD_CTX_free(mc);
    ERR_clear_error();
    if (!ok)
        return err_set(e, 422, "bad_signature", "signature",
                       "签名验证失败（RSA/ECDSA 应为 SHA-256，SM2 应为 SM3 与默认标识）");
    return 0;
}

/* pem + status of a registered certificate. Caller frees *pem. */
static int cert_row(db *d, int64_t cert_id, char **pem, char status[16], int64_t *user_id, err *e) {
    *pem = NULL;
    db_stmt *s =
        db_query(d, e, "SELECT pem, status, user_id FROM trade_certs WHERE id = $1", "i", cert_id);
    if (!s) return -1;
    if (db_step(s) == DB_ROW) {
        const char *p = db_column_text(s, 0);
        *pem = p ? strdup(p) : NULL;
        snprintf(status, 16, "%s", db_column_text(s, 1) ? db_column_text(s, 1) : "");
        if (user_id) *user_id = db_column_int64(s, 2);
    }
    db_reset(s);
    if (!*pem) return err_notfound(e, "没有这个证书");
    return 0;
}

int ca_verify_signature(db *d, int64_t cert_id, const void *msg, size_t len, const char *sig_b64,
                        err *e) {
    char *pem = NULL, status[16];
    if (cert_row(d, cert_id, &pem, status, NULL, e) != 0) return -1;
    int rc = 0;
    if (!strcmp(status, "revoked"))
        rc = err_set(e, 422, "cert_revoked", "certificate", "证书已被吊销");
    else if (strcmp(status, "active") != 0)
        rc = err_set(e, 422, "cert_inactive", "certificate", "证书已注销");
    if (rc == 0) rc = ca_cert_check(d, pem, strlen(pem), time_now(), NULL, e);
    X509 *x = rc == 0 ? x509_from_text(pem) : NULL;
    free(pem);
    if (rc != 0) return -1;
    if (!x) return err_internal(e, "无法读取已登记的证书");
    rc = ca_verify_with_key(X509_get0_pubkey(x), msg, len, sig_b64, e);
    X509_free(x);
    return rc;
}

int ca_user_cert(db *d, int64_t user_id, int64_t cert_id_or_0, int64_t *cert_id, err *e) {
    *cert_id = 0;
    int64_t id = 0;
    int q = cert_id_or_0
                ? db_query_int(d, e, &id,
                               "SELECT id FROM trade_certs WHERE id = $1 AND user_id = $2 AND "
                               "status = 'active'",
                               "ii", cert_id_or_0, user_id)
                : db_query_int(d, e, &id,
                               "SELECT id FROM trade_certs WHERE user_id = $1 AND status = "
                               "'active' ORDER BY registered_at DESC, id DESC",
                               "i", user_id);
    if (q < 0) return -1;
    if (q == 1)
        return err_set(e, 404, "not_found", "cert_id",
                       cert_id_or_0 ? "没有这个有效证书" : "尚未登记有效的数字证书");
    *cert_id = id;
    return 0;
}

X509 *ca_cert_x509(db *d, int64_t cert_id, err *e) {
    char *pem = NULL, status[16];
    if (cert_row(d, cert_id, &pem, status, NULL, e) != 0) return NULL;
    X509 *x = x509_from_text(pem);
    free(pem);
    if (!x) err_internal(e, "无法读取已登记的证书");
    return x;
}

EVP_PKEY *ca_cert_pubkey(db *d, int64_t cert_id, err *e) {
    X509 *x = ca_cert_x509(d, cert_id, e);
    if (!x) return NULL;
    EVP_PKEY *k = X509_get_pubkey(x);
    X509_free(x);
    if (!k) err_internal(e, "无法读取证书公钥");
    return k;
}

json_t *ca_user_certs(db *d, int64_t user_id, err *e) {
    db_stmt *s =
        db_query(d, e,
                 "SELECT c.id, c.fingerprint, c.serial, c.subject, c.issuer, c.key_type, "
                 "c.ca_root_id, r.name AS ca_name, 1 - r.home AS foreign_ca, c.company_id, "
                 "c.not_before, c.not_after, c.status, c.registered_at FROM trade_certs c "
                 "JOIN ca_roots r ON r.id = c.ca_root_id WHERE c.user_id = $1 "
                 "ORDER BY c.registered_at DESC, c.id DESC",
                 "i", user_id);
    if (!s) return NULL;
    return db_rows_json(s, 100, e);
}

/* ---- certificate login ---- */

int ca_challenge_new(db *d, char *nonce, size_t n, int64_t *expires_at, err *e) {
    if (n < 48) return err_internal(e, "buffer too small");
    crypto_random_token(nonce, n, 32);
    int64_t now = time_now();
    char now_s[32], exp_s[32], old_s[32];
    time_iso(now_s, sizeof(now_s), now);
    time_iso(exp_s, sizeof(exp_s), now + CA_CHALLENGE_TTL);
    time_iso(old_s, sizeof(old_s), now - 3600);
    if (db_begin(d, e) != 0) return -1;
    /* Housekeeping: challenges are worthless an hour after they expire. */
    int rc = db_execf(d, e, "DELETE FROM ca_challenges WHERE expires_at < $1", "s", old_s);
    if (rc == 0)
        rc = db_execf(d, e,
                      "INSERT INTO ca_challenges (nonce, created_at, expires_at) VALUES ($1,$2,$3)",
                      "sss", nonce, now_s, exp_s);
    if (rc == 0) {
        static const audit_actor anon = {.user_id = 0, .login = "anonymous", .request_id = NULL};
        json_t *after = json_pack("{s:s}", "expires_at", exp_s);
        rc = audit_record(d, &anon, "ca.challenge", "ca_challenge", nonce, NULL, after, e);
        json_decref(after);
    }
    if (finish(d, rc, e) != 0) return -1;
    *expires_at = now + CA_CHALLENGE_TTL;
    return 0;
}

static int nonce_valid(const char *s) {
    size_t n = s ? strlen(s) : 0;
    if (n < 16 || n > 64) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

static int open_session(db *d, int64_t uid, const char *login, const char *kind,
                        const char *request_id, auth_session *out, err *e) {
    int is_token = !strcmp(kind, "token");
    crypto_random_token(out->token, sizeof(out->token), 32);
    crypto_random_token(out->csrf, sizeof(out->csrf), 24);
    char token_hash[65];
    crypto_sha256_hex(out->token, strlen(out->token), token_hash);
    int64_t now = time_now();
    char now_s[32];
    time_iso(now_s, sizeof(now_s), now);
    time_iso(out->expires_at, sizeof(out->expires_at),
             now + (is_token ? AUTH_TOKEN_TTL : AUTH_COOKIE_TTL));
    int64_t sid = 0;
    int rc =
        db_query_int(d, e, &sid,
                     "INSERT INTO sessions (token_hash, user_id, kind, csrf_token, created_at, "
                     "expires_at, last_seen_at) VALUES ($1,$2,$3,$4,$5,$6,$5) RETURNING id",
                     "sissss", token_hash, uid, is_token ? "token" : "cookie", out->csrf, now_s,
                     out->expires_at) == 0
            ? 0
            : -1;
    if (rc == 0) {
        char oid[24];
        snprintf(oid, sizeof(oid), "%lld", (long long)sid);
        json_t *after = json_pack("{s:I, s:s, s:s, s:s}", "user_id", (json_int_t)uid, "kind",
                                  is_token ? "token" : "cookie", "expires_at", out->expires_at,
                                  "via", "certificate");
        audit_actor actor = {.user_id = uid, .login = login, .request_id = request_id};
        rc = audit_record(d, &actor, "session.create", "session", oid, NULL, after, e);
        json_decref(after);
    }
    out->session_id = sid;
    out->user_id = uid;
    return rc;
}

static int login_impl(db *d, const char *nonce, const char *cert_pem, const char *sig_b64,
                      const char *ip, const char *kind, const char *request_id, int64_t *user_id,
                      auth_session *sess, err *e) {
    *user_id = 0;
    if (!nonce_valid(nonce)) return err_invalid(e, "nonce", "nonce 格式不正确");
    if (!cert_pem || !*cert_pem) return err_invalid(e, "certificate", "缺少证书");
    if (!sig_b64 || !*sig_b64) return err_invalid(e, "signature", "缺少签名");
    int64_t now = time_now();
    char now_s[32];
    time_iso(now_s, sizeof(now_s), now);
    /* The challenge first: a stale one needs no crypto. */
    db_stmt *s = db_query(d, e, "SELECT expires_at, used_at FROM ca_challenges WHERE nonce = $1",
                          "s", nonce);
    if (!s) return -1;
    int found = 0, used = 0;
    int64_t exp = 0;
    if (db_step(s) == DB_ROW) {
        found = 1;
        const char *x = db_column_text(s, 0);
        if (!x || time_parse_iso(x, &exp) != 0) exp = 0;
        used = db_column_text(s, 1) != NULL;
    }
    db_reset(s);
    if (!found)
        return err_set(e, 422, "challenge_expired", "nonce", "登录挑战不存在或已过期，请重新获取");
    if (used) return err_set(e, 422, "challenge_expired", "nonce", "登录挑战已使用，请重新获取");
    if (exp <= now)
        return err_set(e, 422, "challenge_expired", "nonce", "登录挑战已过期，请重新获取");

    ca_cert_info ci;
    if (ca_cert_check(d, cert_pem, strlen(cert_pem), now, &ci, e) != 0) return -1;
    s = db_query(d, e,
                 "SELECT c.id, c.user_id, c.status, u.disabled, u.login FROM trade_certs c "
                 "JOIN users u ON u.id = c.user_id WHERE c.fingerprint = $1",
                 "s", ci.fingerprint);
    if (!s) return -1;
    int64_t cert_id = 0, uid = 0, disabled = 1;
    char status[16] = "", login[65] = "";
    if (db_step(s) == DB_ROW) {
        cert_id = db_column_int64(s, 0);
        uid = db_column_int64(s, 1);
        snprintf(status, sizeof(status), "%s", db_column_text(s, 2));
        disabled = db_column_int64(s, 3);
        snprintf(login, sizeof(login), "%s", db_column_text(s, 4));
    }
    db_reset(s);
    if (!cert_id || disabled)
        return err_set(e, 401, "unauthenticated", "certificate", "该证书未登记到可用的账号");
    if (!strcmp(status, "revoked"))
        return err_set(e, 422, "cert_revoked", "certificate", "证书已被吊销");
    if (strcmp(status, "active") != 0)
        return err_set(e, 401, "unauthenticated", "certificate", "该证书已注销");

    char msg[128];
    int ml = snprintf(msg, sizeof(msg), "%s%s", CA_LOGIN_PREFIX, nonce);
    X509 *x = x509_from_text(cert_pem);
    if (!x) return err_invalid(e, "certificate", "无法解析证书");
    int rc = ca_verify_with_key(X509_get0_pubkey(x), msg, (size_t)ml, sig_b64, e);
    X509_free(x);
    if (rc != 0) return -1;

    if (db_begin(d, e) != 0) return -1;
    /* Single use: only the first of concurrent logins with one nonce gets through. */
    rc = db_execf(d, e,
                  "UPDATE ca_challenges SET used_at = $2 WHERE nonce = $1 AND used_at IS NULL "
                  "AND expires_at > $2",
                  "ss", nonce, now_s);
    if (rc == 0 && db_changes(d) != 1)
        rc = err_set(e, 422, "challenge_expired", "nonce", "登录挑战已使用，请重新获取");
    int64_t lid = 0;
    if (rc == 0)
        rc = db_query_int(d, e, &lid,
                          "INSERT INTO ca_logins (user_id, cert_id, ca_root_id, foreign_ca, at) "
                          "VALUES ($1,$2,$3,$4,$5) RETURNING id",
                          "iiiis", uid, cert_id, ci.ca_root_id, (int64_t)ci.foreign_ca, now_s) == 0
                 ? 0
                 : -1;
    if (rc == 0) {
        audit_actor actor = {.user_id = uid, .login = login, .request_id = request_id};
        json_t *after =
            json_pack("{s:I, s:I, s:b, s:s}", "cert_id", (json_int_t)cert_id, "ca_root_id",
                      (json_int_t)ci.ca_root_id, "foreign_ca", ci.foreign_ca, "ip", ip ? ip : "");
        char oid[24];
        snprintf(oid, sizeof(oid), "%lld", (long long)lid);
        rc = audit_record(d, &actor, "ca.login", "ca_login", oid, NULL, after, e);
        json_decref(after);
    }
    if (rc == 0 && sess)
        rc = open_session(d, uid, login, kind ? kind : "cookie", request_id, sess, e);
    if (finish(d, rc, e) != 0) return -1;
    *user_id = uid;
    return 0;
}

int ca_login(db *d, const char *nonce, const char *cert_pem, const char *sig_b64, const char *ip,
             int64_t *user_id, err *e) {
    return login_impl(d, nonce, cert_pem, sig_b64, ip, NULL, NULL, user_id, NULL, e);
}

int ca_login_session(db *d, const char *nonce, const char *cert_pem, const char *sig_b64,
                     const char *ip, const char *kind, const char *request_id, auth_session *out,
                     err *e) {
    memset(out, 0, sizeof(*out));
    int64_t uid = 0;
    return login_impl(d, nonce, cert_pem, sig_b64, ip, kind, request_id, &uid, out, e);
}

json_t *ca_stats(db *d, const char *from, const char *to, err *e) {
    const char *f = from && *from ? from : "0000";
    const char *t = to && *to ? to : "9999";
    int64_t total = 0, foreign = 0;
    if (db_query_int(d, e, &total, "SELECT COUNT(*) FROM ca_logins WHERE at >= $1 AND at < $2",
                     "ss", f, t) < 0 ||
        db_query_int(d, e, &foreign,
                     "SELECT COUNT(*) FROM ca_logins WHERE at >= $1 AND at < $2 AND foreign_ca = 1",
                     "ss", f, t) < 0)
        return NULL;
    db_stmt *s = db_query(d, e,
                          "SELECT r.id AS ca_root_id, r.name, r.home, r.key_type, COUNT(l.id) AS "
                          "logins FROM ca_roots r LEFT JOIN ca_logins l ON l.ca_root_id = r.id AND "
                          "l.at >= $1 AND l.at < $2 GROUP BY r.id, r.name, r.home, r.key_type "
                          "ORDER BY r.id",
                          "ss", f, t);
    json_t *by = s ? db_rows_json(s, 1000, e) : NULL;
    if (!by) return NULL;
    double rate = total ? (double)foreign / (double)total : 0.0;
    return json_pack("{s:I, s:I, s:f, s:o, s:o, s:o}", "logins", (json_int_t)total,
                     "foreign_logins", (json_int_t)foreign, "rate", rate, "from",
                     jsonx_str_or_null(from && *from ? from : NULL), "to",
                     jsonx_str_or_null(to && *to ? to : NULL), "by_ca", by);
}
