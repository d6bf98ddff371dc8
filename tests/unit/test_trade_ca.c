/* Unit tests for src/trade/ca.c (统一CA互认): parsing and size limits, the trust
 * store, chains through an intermediate, validity, CRL revocation, untrusted CAs,
 * RSA / ECDSA / SM2 (SM3, default ID) signatures made in C and with the openssl
 * CLI, registration, and challenge–response login with single-use nonces and the
 * foreign-CA count.
 *
 * The PKI comes from tests/tools/trade-pki.sh (run from the repository root). */
#include "test.h"

#include <openssl/pem.h>
#include <sodium.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth/roles.h"
#include "base/timeutil.h"
#include "db/db.h"
#include "trade/ca.h"

#define PKI "/tmp/isle-unit-trade-pki"

extern char **environ;

/* Run a shell command line; its exit status (-1 when it could not run). */
static int sh(const char *cmd) {
    char *argv[] = {"sh", "-c", (char *)cmd, NULL};
    pid_t pid;
    if (posix_spawnp(&pid, "sh", NULL, NULL, argv, environ) != 0) return -1;
    int st = 0;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st)) return -1;
    return WEXITSTATUS(st);
}

static int pki_ready(void) {
    static int done = -1;
    if (done < 0) {
        done = sh("sh tests/tools/trade-pki.sh " PKI " >/dev/null 2>&1") == 0 &&
               access(PKI "/done", F_OK) == 0;
        if (!done)
            fprintf(stderr, "    tests/tools/trade-pki.sh failed (run from the repo root)\n");
    }
    return done;
}

static char *slurp(const char *rel, size_t *len) {
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", PKI, rel);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = malloc(1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

static trade_actor staff(void) {
    trade_actor a;
    memset(&a, 0, sizeof(a));
    a.audit.login = "test";
    return a;
}

static trade_actor user_actor(db *d, const char *login) {
    trade_actor a;
    memset(&a, 0, sizeof(a));
    err e = {0};
    int64_t id = 0;
    db_query_int(d, &e, &id,
                 "INSERT INTO users (login, display_name, role, password_hash, created_at, "
                 "updated_at, password_changed_at) VALUES ($1, $1, 'bidder', 'x', "
                 "'2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z') "
                 "RETURNING id",
                 "s", login);
    a.user_id = id;
    a.role = ROLE_BIDDER;
    a.audit.user_id = id;
    a.audit.login = login;
    return a;
}

static int add_root(db *d, const char *rel, int home) {
    size_t n = 0;
    char *pem = slurp(rel, &n);
    trade_actor a = staff();
    err e = {0};
    int rc = pem ? ca_root_add(d, &a, pem, n, NULL, home, NULL, &e) : -1;
    if (rc != 0) fprintf(stderr, "    add_root %s: %s\n", rel, e.message);
    free(pem);
    return rc;
}

/* A database with the three test roots, RSA as home. */
static db *ca_db(void) {
    if (!pki_ready()) return NULL;
    db *d = test_db_open();
    if (!d) return NULL;
    if (add_root(d, "ca-rsa/root.crt", 1) || add_root(d, "ca-ec/root.crt", 0) ||
        add_root(d, "ca-sm2/root.crt", 0)) {
        db_close(d);
        return NULL;
    }
    return d;
}

static int check_file(db *d, const char *rel, int64_t at, ca_cert_info *ci, err *e) {
    size_t n = 0;
    char *pem = slurp(rel, &n);
    int rc = ca_cert_check(d, pem, n, at, ci, e);
    free(pem);
    return rc;
}

/* base64 signature of msg with the key file; sm2_id 0 signs SM2 with OpenSSL's empty ID. */
static char *sign_b64(const char *keyrel, const char *msg, int sm2_id) {
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", PKI, keyrel);
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!k) return NULL;
    int sm2 = EVP_PKEY_is_a(k, "SM2");
    EVP_MD_CTX *mc = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    unsigned char sig[1024];
    size_t sl = sizeof(sig);
    int ok = EVP_DigestSignInit_ex(mc, &pc, sm2 ? "SM3" : "SHA256", NULL, NULL, k, NULL) == 1;
    if (ok && sm2 && sm2_id) ok = EVP_PKEY_CTX_set1_id(pc, CA_SM2_ID, 16) == 1;
    if (ok) ok = EVP_DigestSign(mc, sig, &sl, (const unsigned char *)msg, strlen(msg)) == 1;
    EVP_MD_CTX_free(mc);
    EVP_PKEY_free(k);
    if (!ok) return NULL;
    char *out = malloc(sodium_base64_encoded_len(sl, sodium_base64_VARIANT_ORIGINAL));
    sodium_bin2base64(out, sodium_base64_encoded_len(sl, sodium_base64_VARIANT_ORIGINAL), sig, sl,
                      sodium_base64_VARIANT_ORIGINAL);
    return out;
}

static EVP_PKEY *cert_key(const char *rel) {
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", PKI, rel);
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    EVP_PKEY *k = x ? X509_get_pubkey(x) : NULL;
    X509_free(x);
    return k;
}

TEST(ca_refuses_malformed_input) {
    db *d = ca_db();
    CHECK(d != NULL);
    if (!d) return;
    err e = {0};
    CHECK(ca_cert_check(d, "garbage", 7, time_now(), NULL, &e) != 0);
    CHECK_INT(e.status, 400);
    CHECK_STR(e.field, "certificate");
    CHECK(ca_cert_check(d, "", 0, time_now(), NULL, &e) != 0);
    CHECK_INT(e.status, 400);
    const char *bad = "-----BEGIN CERTIFICATE-----\nMIIBnotreally\n-----END CERTIFICATE-----\n";
    CHECK(ca_cert_check(d, bad, strlen(bad), time_now(), NULL, &e) != 0);
    CHECK_INT(e.status, 400);
    char *big = malloc(CA_PEM_MAX + 10);
    memset(big, 'A', CA_PEM_MAX + 9);
    big[CA_PEM_MAX + 9] = '\0';
    CHECK(ca_cert_check(d, big, CA_PEM_MAX + 9, time_now(), NULL, &e) != 0);
    CHECK_INT(e.status, 413);
    free(big);
    /* More than CA_CHAIN_MAX certificates in one bundle. */
    size_t n = 0;
    char *one = slurp("users/ec1.crt", &n);
    char *many = malloc(n * (CA_CHAIN_MAX + 1) + 1);
    for (int i = 0; i <= CA_CHAIN_MAX; i++)
        memcpy(many + n * (size_t)i, one, n);
    many[n * (CA_CHAIN_MAX + 1)] = '\0';
    CHECK(ca_cert_check(d, many, strlen(many), time_now(), NULL, &e) != 0);
    CHECK_INT(e.status, 400);
    free(one);
    free(many);
    EVP_PKEY *k = cert_key("users/ec1.crt");
    CHECK(ca_verify_with_key(k, "x", 1, "***not base64***", &e) != 0);
    CHECK_INT(e.status, 400);
    CHECK_STR(e.field, "signature");
    EVP_PKEY_free(k);
    db_close(d);
}

TEST(ca_trust_store) {
    db *d = ca_db();
    CHECK(d != NULL);
    if (!d) return;
    err e = {0};
    size_t n = 0;
    char *pem = slurp("ca-sm2/root.crt", &n);
    trade_actor a = staff();
    CHECK(ca_root_add(d, &a, pem, n, "x", 0, NULL, &e) != 0);
    CHECK_INT(e.status, 409);
    free(pem);
    pem = slurp("users/rsa1.crt", &n);
    CHECK(ca_root_add(d, &a, pem, n, "x", 0, NULL, &e) != 0);
    CHECK_INT(e.status, 422);
    CHECK_STR(e.code, "not_a_ca");
    free(pem);
    pem = slurp("ca-rsa/inter.crt", &n); /* a CA, but not self-signed */
    CHECK(ca_root_add(d, &a, pem, n, "x", 0, NULL, &e) != 0);
    CHECK_STR(e.code, "not_self_signed");
    free(pem);
    trade_actor bidder = user_actor(d, "bidder1");
    pem = slurp("untrusted/root.crt", &n);
    CHECK(ca_root_add(d, &bidder, pem, n, "x", 0, NULL, &e) != 0);
    CHECK_INT(e.status, 403);
    free(pem);
    json_t *l = ca_roots_list(d, 1, &e);
    CHECK_INT(json_array_size(l), 3);
    CHECK_STR(json_string_value(json_object_get(json_array_get(l, 2), "key_type")), "sm2");
    CHECK_INT(json_integer_value(json_object_get(json_array_get(l, 0), "home")), 1);
    json_decref(l);
    /* A disabled root trusts nothing. */
    int64_t ec_id = 2;
    CHECK(ca_root_disable(d, &a, ec_id, 1, &e) == 0);
    CHECK(check_file(d, "users/ec1.crt", time_now(), NULL, &e) != 0);
    CHECK_STR(e.code, "untrusted_ca");
    CHECK(ca_root_disable(d, &a, ec_id, 0, &e) == 0);
    CHECK(check_file(d, "users/ec1.crt", time_now(), NULL, &e) == 0);
    CHECK(ca_root_disable(d, &a, 99, 1, &e) != 0);
    CHECK_INT(e.status, 404);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'ca.root%'"), 5);
    db_close(d);
}

TEST(ca_chains_and_validity) {
    db *d = ca_db();
    CHECK(d != NULL);
    if (!d) return;
    err e = {0};
    ca_cert_info ci;
    CHECK(check_file(d, "users/rsa1.chain.pem", time_now(), &ci, &e) == 0);
    CHECK_STR(ci.key_type, "rsa");
    CHECK_INT(ci.foreign_ca, 0);
    CHECK_INT(ci.ca_root_id, 1);
    CHECK(strstr(ci.subject, "CN=rsa1") != NULL);
    CHECK_INT(strlen(ci.fingerprint), 64);
    CHECK(check_file(d, "users/ec1.crt", time_now(), &ci, &e) == 0);
    CHECK_STR(ci.key_type, "ec");
    CHECK_INT(ci.foreign_ca, 1);
    CHECK(check_file(d, "users/sm2a.crt", time_now(), &ci, &e) == 0);
    CHECK_STR(ci.key_type, "sm2");
    CHECK_INT(ci.foreign_ca, 1);
    CHECK_INT(ci.ca_root_id, 3);
    /* Without the intermediate (not stored yet) the chain cannot be built. */
    CHECK(check_file(d, "users/rsa1.crt", time_now(), &ci, &e) != 0);
    CHECK_STR(e.code, "untrusted_ca");
    CHECK(check_file(d, "untrusted/user.crt", time_now(), &ci, &e) != 0);
    CHECK_STR(e.code, "untrusted_ca");
    CHECK_INT(e.status, 422);
    CHECK(check_file(d, "users/expired1.chain.pem", time_now(), &ci, &e) != 0);
    CHECK_STR(e.code, "cert_expired");
    /* ... but it was good in 2020; and nothing is good before it was issued. */
    int64_t t2020 = 0;
    time_parse_iso("2020-06-01T00:00:00Z", &t2020);
    CHECK(check_file(d, "users/expired1.chain.pem", t2020, &ci, &e) != 0); /* inter not yet */
    CHECK_STR(e.code, "cert_expired");
    CHECK(check_file(d, "users/ec1.crt", time_now() + 86400LL * 365 * 5, &ci, &e) != 0);
    CHECK_STR(e.code, "cert_expired");
    /* A CA certificate is not a user certificate. */
    CHECK(check_file(d, "ca-rsa/inter.crt", time_now(), &ci, &e) != 0);
    CHECK_STR(e.code, "not_end_entity");
    db_close(d);
}

TEST(ca_signatures_rsa_ec_sm2) {
    if (!pki_ready()) {
        CHECK(0);
        return;
    }
    const char *msg = "isle-bid-commitment:v1:ZS-GC-2026-0001:91330900MA2A0000XX:abc";
    static const char *names[] = {"rsa1", "ec1", "sm2a"};
    for (int i = 0; i < 3; i++) {
        char kr[64], cr[64];
        snprintf(kr, sizeof(kr), "users/%s.key", names[i]);
        snprintf(cr, sizeof(cr), "users/%s.crt", names[i]);
        char *sig = sign_b64(kr, msg, 1);
        EVP_PKEY *k = cert_key(cr);
        CHECK(sig != NULL && k != NULL);
        err e = {0};
        CHECK(ca_verify_with_key(k, msg, strlen(msg), sig, &e) == 0);
        CHECK(ca_verify_with_key(k, "tampered", 8, sig, &e) != 0);
        CHECK_STR(e.code, "bad_signature");
        CHECK_INT(e.status, 422);
        /* Another key's signature. */
        char *other = sign_b64(i ? "users/rsa2.key" : "users/ec2.key", msg, 1);
        CHECK(ca_verify_with_key(k, msg, strlen(msg), other, &e) != 0);
        CHECK_STR(e.code, "bad_signature");
        free(other);
        free(sig);
        EVP_PKEY_free(k);
    }
    /* SM2 is verified with the standard default ID, not OpenSSL 3.0's empty one. */
    char *noid = sign_b64("users/sm2a.key", msg, 0);
    EVP_PKEY *k = cert_key("users/sm2a.crt");
    err e = {0};
    CHECK(noid != NULL);
    CHECK(ca_verify_with_key(k, msg, strlen(msg), noid, &e) != 0);
    free(noid);
    /* The exact command of ca.h, run with the openssl CLI. */
    FILE *f = fopen(PKI "/msg.txt", "w");
    fputs(msg, f);
    fclose(f);
    int rc = sh("openssl dgst -sm3 -sign " PKI "/users/sm2a.key -sigopt distid:1234567812345678 "
                "-out " PKI "/msg.sig " PKI "/msg.txt && openssl base64 -in " PKI
                "/msg.sig -out " PKI "/msg.b64");
    CHECK_INT(rc, 0);
    char *b64 = slurp("msg.b64", NULL); /* wrapped at 64 columns: accepted */
    CHECK(b64 && ca_verify_with_key(k, msg, strlen(msg), b64, &e) == 0);
    free(b64);
    EVP_PKEY_free(k);
}

TEST(ca_register_crl_revocation) {
    db *d = ca_db();
    CHECK(d != NULL);
    if (!d) return;
    err e = {0};
    trade_actor u = user_actor(d, "bidder1"), v = user_actor(d, "bidder2");
    size_t n = 0;
    char *pem = slurp("users/revoked1.chain.pem", &n);
    int64_t id = 0, id2 = 0;
    CHECK(ca_cert_register(d, &u, pem, n, &id, &e) == 0);
    CHECK(id > 0);
    CHECK(ca_cert_register(d, &u, pem, n, &id2, &e) == 0); /* idempotent */
    CHECK_INT(id2, id);
    CHECK(ca_cert_register(d, &v, pem, n, &id2, &e) != 0);
    CHECK_INT(e.status, 409);
    free(pem);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM ca_intermediates"), 1);
    /* The leaf alone now verifies: the intermediate was remembered. */
    CHECK(check_file(d, "users/revoked1.crt", time_now(), NULL, &e) == 0);
    const char *msg = "hello";
    char *sig = sign_b64("users/revoked1.key", msg, 1);
    CHECK(ca_verify_signature(d, id, msg, 5, sig, &e) == 0);
    /* A CRL nobody trusted signed is refused. */
    const char *junk = "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n";
    trade_actor a = staff();
    CHECK(ca_crl_add(d, &a, junk, strlen(junk), NULL, &e) != 0);
    CHECK_INT(e.status, 400);
    char *crl = slurp("ca-rsa/inter.crl.pem", &n);
    CHECK(ca_crl_add(d, &u, crl, n, NULL, &e) != 0);
    CHECK_INT(e.status, 403);
    json_t *out = NULL;
    CHECK(ca_crl_add(d, &a, crl, n, &out, &e) == 0);
    CHECK_INT(json_integer_value(json_object_get(out, "revoked")), 1);
    CHECK_INT(json_integer_value(json_object_get(out, "certs_revoked")), 1);
    json_decref(out);
    CHECK(ca_crl_add(d, &a, crl, n, NULL, &e) != 0);
    CHECK_INT(e.status, 409);
    free(crl);
    CHECK(check_file(d, "users/revoked1.chain.pem", time_now(), NULL, &e) != 0);
    CHECK_STR(e.code, "cert_revoked");
    CHECK(ca_verify_signature(d, id, msg, 5, sig, &e) != 0);
    CHECK_STR(e.code, "cert_revoked");
    free(sig);
    /* rsa1 from the same intermediate is not listed. */
    CHECK(check_file(d, "users/rsa1.chain.pem", time_now(), NULL, &e) == 0);
    /* Registration refuses expired, untrusted and revoked certificates. */
    pem = slurp("users/expired1.chain.pem", &n);
    CHECK(ca_cert_register(d, &u, pem, n, &id2, &e) != 0);
    CHECK_STR(e.code, "cert_expired");
    free(pem);
    pem = slurp("untrusted/user.crt", &n);
    CHECK(ca_cert_register(d, &u, pem, n, &id2, &e) != 0);
    CHECK_STR(e.code, "untrusted_ca");
    free(pem);
    CHECK(ca_user_cert(d, u.user_id, 0, &id2, &e) != 0); /* the only one is revoked */
    CHECK_INT(e.status, 404);
    db_close(d);
}

TEST(ca_crl_with_issuer_bundle) {
    db *d = ca_db();
    CHECK(d != NULL);
    if (!d) return;
    err e = {0};
    trade_actor a = staff();
    size_t n1 = 0, n2 = 0;
    char *crl = slurp("ca-rsa/inter.crl.pem", &n1);
    char *inter = slurp("ca-rsa/inter.crt", &n2);
    /* The intermediate is unknown: the CRL alone cannot be checked. */
    CHECK(ca_crl_add(d, &a, crl, n1, NULL, &e) != 0);
    CHECK_STR(e.code, "untrusted_ca");
    char *both = malloc(n1 + n2 + 1);
    memcpy(both, crl, n1);
    memcpy(both + n1, inter, n2 + 1);
    CHECK(ca_crl_add(d, &a, both, n1 + n2, NULL, &e) == 0);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM ca_intermediates"), 1);
    CHECK(check_file(d, "users/revoked1.crt", time_now(), NULL, &e) != 0);
    CHECK_STR(e.code, "cert_revoked");
    free(both);
    free(crl);
    free(inter);
    db_close(d);
}

TEST(ca_login_challenge_response) {
    db *d = ca_db();
    CHECK(d != NULL);
    if (!d) return;
    err e = {0};
    trade_actor u = user_actor(d, "bidder1");
    static const char *files[] = {"users/rsa1.chain.pem", "users/ec1.crt", "users/sm2a.crt"};
    static const char *keys[] = {"users/rsa1.key", "users/ec1.key", "users/sm2a.key"};
    char *pems[3];
    int64_t ids[3];
    for (int i = 0; i < 3; i++) {
        size_t n = 0;
        pems[i] = slurp(files[i], &n);
        CHECK(ca_cert_register(d, &u, pems[i], n, &ids[i], &e) == 0);
    }
    int64_t newest = 0;
    CHECK(ca_user_cert(d, u.user_id, 0, &newest, &e) == 0);
    CHECK_INT(newest, ids[2]);
    CHECK(ca_user_cert(d, u.user_id + 1, ids[0], &newest, &e) != 0);
    CHECK_INT(e.status, 404);
    for (int i = 0; i < 3; i++) {
        char nonce[64], msg[128];
        int64_t exp = 0, uid = 0;
        CHECK(ca_challenge_new(d, nonce, sizeof(nonce), &exp, &e) == 0);
        CHECK(exp > time_now());
        snprintf(msg, sizeof(msg), "isle-login:v1:%s", nonce);
        char *sig = sign_b64(keys[i], msg, 1);
        CHECK(ca_login(d, nonce, pems[i], sig, "127.0.0.1", &uid, &e) == 0);
        CHECK_INT(uid, u.user_id);
        /* Replay. */
        CHECK(ca_login(d, nonce, pems[i], sig, "127.0.0.1", &uid, &e) != 0);
        CHECK_STR(e.code, "challenge_expired");
        free(sig);
    }
    /* Wrong signature, unknown nonce, expired nonce, unregistered certificate. */
    char nonce[64], msg[128];
    int64_t exp = 0, uid = 0;
    CHECK(ca_challenge_new(d, nonce, sizeof(nonce), &exp, &e) == 0);
    snprintf(msg, sizeof(msg), "isle-login:v1:%s", nonce);
    char *wrong = sign_b64("users/ec2.key", msg, 1);
    CHECK(ca_login(d, nonce, pems[1], wrong, NULL, &uid, &e) != 0);
    CHECK_STR(e.code, "bad_signature");
    free(wrong);
    char *sig = sign_b64("users/ec1.key", msg, 1);
    CHECK(ca_login(d, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", pems[1], sig, NULL, &uid,
                   &e) != 0);
    CHECK_STR(e.code, "challenge_expired");
    CHECK(ca_login(d, "not a nonce!", pems[1], sig, NULL, &uid, &e) != 0);
    CHECK_INT(e.status, 400);
    time_set_fake(time_now() + CA_CHALLENGE_TTL + 1);
    CHECK(ca_login(d, nonce, pems[1], sig, NULL, &uid, &e) != 0);
    CHECK_STR(e.code, "challenge_expired");
    time_set_fake(0);
    free(sig);
    CHECK(ca_challenge_new(d, nonce, sizeof(nonce), &exp, &e) == 0);
    snprintf(msg, sizeof(msg), "isle-login:v1:%s", nonce);
    sig = sign_b64("users/ec2.key", msg, 1);
    char *ec2 = slurp("users/ec2.crt", NULL);
    CHECK(ca_login(d, nonce, ec2, sig, NULL, &uid, &e) != 0);
    CHECK_INT(e.status, 401);
    free(ec2);
    free(sig);
    /* A session like a password login's. */
    sig = sign_b64("users/sm2a.key", msg, 1);
    auth_session s;
    CHECK(ca_login_session(d, nonce, pems[2], sig, NULL, "token", NULL, &s, &e) == 0);
    free(sig);
    auth_principal p;
    CHECK_INT(auth_session_lookup(d, s.token, &p, &e), 1);
    CHECK_INT(p.user_id, u.user_id);
    /* 4 logins: 1 home (RSA), 3 foreign (EC, SM2 twice). */
    json_t *st = ca_stats(d, NULL, NULL, &e);
    CHECK_INT(json_integer_value(json_object_get(st, "logins")), 4);
    CHECK_INT(json_integer_value(json_object_get(st, "foreign_logins")), 3);
    CHECK(json_real_value(json_object_get(st, "rate")) > 0.749 &&
          json_real_value(json_object_get(st, "rate")) < 0.751);
    CHECK_INT(json_array_size(json_object_get(st, "by_ca")), 3);
    json_decref(st);
    st = ca_stats(d, "2000-01-01", "2000-02-01", &e);
    CHECK_INT(json_integer_value(json_object_get(st, "logins")), 0);
    json_decref(st);
    for (int i = 0; i < 3; i++)
        free(pems[i]);
    audit_verify_result vr;
    CHECK(audit_verify(d, &vr, &e) == 0 && vr.ok);
    db_close(d);
}

/* An SM2 root's CRL made by `openssl ca -gencrl` (sigopt: "" for OpenSSL's empty ID). */
static char *sm2_crl(const char *sigopt) {
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "set -e; D=" PKI "/sm2crl; rm -rf $D; mkdir -p $D/new; : > $D/index.txt; "
             "echo 01 > $D/serial; printf '%%s\\n' '[ca]' 'default_ca = c' '[c]' 'dir = '$D "
             "'database = $dir/index.txt' 'serial = $dir/serial' 'new_certs_dir = $dir/new' "
             "'certificate = " PKI "/ca-sm2/root.crt' 'private_key = " PKI "/ca-sm2/root.key' "
             "'default_md = sm3' 'default_crl_days = 30' > $D/ca.cnf; "
             "openssl ca -batch -config $D/ca.cnf -revoke " PKI "/users/sm2b.crt 2>/dev/null; "
             "openssl ca -batch -config $D/ca.cnf -gencrl %s -out $D/crl.pem 2>/dev/null",
             sigopt);
    if (sh(cmd) != 0) return NULL;
    return slurp("sm2crl/crl.pem", NULL);
}

TEST(ca_sm2_crl) {
    db *d = ca_db();
    CHECK(d != NULL);
    if (!d) return;
    err e = {0};
    trade_actor a = staff();
    CHECK(check_file(d, "users/sm2b.crt", time_now(), NULL, &e) == 0);
    /* Signed with OpenSSL 3.0's empty ID: not the standard, refused. */
    char *bad = sm2_crl("");
    CHECK(bad != NULL);
    if (bad) {
        CHECK(ca_crl_add(d, &a, bad, strlen(bad), NULL, &e) != 0);
        CHECK_STR(e.code, "untrusted_ca");
    }
    free(bad);
    char *crl = sm2_crl("-sigopt distid:1234567812345678");
    CHECK(crl != NULL);
    if (crl) CHECK(ca_crl_add(d, &a, crl, strlen(crl), NULL, &e) == 0);
    free(crl);
    CHECK(check_file(d, "users/sm2b.crt", time_now(), NULL, &e) != 0);
    CHECK_STR(e.code, "cert_revoked");
    CHECK(check_file(d, "users/sm2a.crt", time_now(), NULL, &e) == 0);
    db_close(d);
}
