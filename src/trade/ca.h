/* ca: the CA trust store (统一CA互认), certificate registration and verification,
 * signature checks and challenge–response certificate login.
 *
 * Any CA in the trust store (ca_roots) may issue the certificates bidders log in
 * and sign with: RSA, ECDSA (P-256 …) and SM2 with SM3. A certificate is good when
 * OpenSSL 3 builds a chain from it to an enabled root (intermediates from the PEM
 * bundle offered with it, or ones stored earlier in ca_intermediates), every
 * certificate is valid at the time asked, and none is listed by the newest stored
 * CRL of its issuer (a CA without a stored CRL is not checked for revocation).
 * Logins with certificates of roots other than the home CA (home = 1) count for
 * the CA mutual-recognition indicator (ca_stats).
 *
 * Signatures (base64 of what these produce; see tests/tools/trade-pki.sh):
 *   RSA / ECDSA: openssl dgst -sha256 -sign key.pem -out sig.bin msg.txt
 *                (RSA PKCS#1 v1.5 over SHA-256; ECDSA DER over SHA-256)
 *   SM2:         openssl dgst -sm3 -sign key.pem -sigopt distid:1234567812345678 -out sig.bin
 * msg.txt (OpenSSL 3.0's own default SM2 ID is empty: pass the standard default ID
 *                 "1234567812345678" of GM/T 0009 explicitly, as here; verification
 *                 uses SM3 and that ID.)
 *   base64:      openssl base64 -A -in sig.bin       (line breaks are accepted too)
 * SM2 certificates and CRLs are verified with the same default ID (an SM2 CA signs
 * them with `-sigopt distid:1234567812345678`, also `openssl ca -gencrl`).
 *
 * Errors: 400 "invalid_argument" field "certificate" / "signature" / "pem" for
 * malformed input; 422 "untrusted_ca", "cert_expired", "cert_revoked",
 * "bad_signature", "challenge_expired"; 409 for duplicates. Messages carry no
 * personal data (no subject names). */
#ifndef ISLE_TRADE_CA_H
#define ISLE_TRADE_CA_H

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"
#include "trade/trade.h"

#define CA_PEM_MAX       (64 * 1024) /* bytes of one PEM blob (certificate bundle, CRL: 1 MiB) */
#define CA_CRL_MAX       (1024 * 1024)
#define CA_CHAIN_MAX     8 /* certificates in one bundle */
#define CA_SIG_B64_MAX   4096
#define CA_NAME_MAX      100 /* bytes of a root's display name */
#define CA_CHALLENGE_TTL 300 /* seconds */
#define CA_SM2_ID        "1234567812345678"
#define CA_LOGIN_PREFIX  "isle-login:v1:"

typedef struct ca_cert_info {
    char fingerprint[65]; /* SHA-256 of the DER, lower-case hex */
    char serial[80];      /* lower-case hex */
    char subject[256];    /* RFC 2253, UTF-8 */
    char issuer[256];
    char key_type[8]; /* rsa | ec | sm2 */
    char pubkey_sha256[65];
    char not_before[32]; /* ISO-8601 UTC */
    char not_after[32];
    int64_t ca_root_id;
    int foreign_ca; /* 1 when the root is not a home CA */
} ca_cert_info;

/* ---- the trust store ---- */

/** Add a self-signed CA certificate (PEM) as a trusted root; name "" → its CN. Staff
 *  only (403). 409 when already present, 422 when not a CA / not self-signed /
 *  expired. *out (may be NULL) gets the root's public JSON. Own transaction. */
int ca_root_add(db *d, const trade_actor *a, const char *pem, size_t len, const char *name,
                int home, json_t **out, err *e);
/** The roots, oldest first: [{id,name,subject,key_type,home,fingerprint,not_after,
 *  disabled,added_at}]. with_disabled 0 hides disabled ones. Caller owns it. */
json_t *ca_roots_list(db *d, int with_disabled, err *e);
/** Disable (disabled = 1) or re-enable (0) root id. Staff only. Own transaction. */
int ca_root_disable(db *d, const trade_actor *a, int64_t id, int disabled, err *e);
/** Store a CRL (PEM or DER) after checking its signature against a known CA
 *  certificate (root or stored intermediate) with the CRL's issuer name. The newest
 *  (thisUpdate) CRL of an issuer is the one used; an older one than stored is 409.
 *  Registered certificates it lists become status 'revoked'. Staff only. *out (may
 *  be NULL) gets {id, issuer, this_update, next_update, revoked, certs_revoked}. */
int ca_crl_add(db *d, const trade_actor *a, const void *data, size_t len, json_t **out, err *e);

/* ---- certificates ---- */

/** Check a certificate (PEM bundle: leaf first, then intermediates; or one DER
 *  certificate) at time `at` (unix seconds): chain to a trusted, enabled root,
 *  validity, revocation. Fills *out (may be NULL). No writes. */
int ca_cert_check(db *d, const char *pem, size_t len, int64_t at, ca_cert_info *out, err *e);
/** Check now and register the leaf for the actor (a user; its company from
 *  trade_company_users). Idempotent per fingerprint for the same user (returns the
 *  existing id, re-activating a removed one); 409 when another user holds it.
 *  Intermediates of the bundle are remembered. Own transaction. */
int ca_cert_register(db *d, const trade_actor *a, const char *pem, size_t len, int64_t *cert_id,
                     err *e);
/** Re-check registered certificate cert_id now (validity, revocation, trust) and
 *  verify sig_b64 over msg. 422 "bad_signature" when it does not verify. */
int ca_verify_signature(db *d, int64_t cert_id, const void *msg, size_t len, const char *sig_b64,
                        err *e);
/** The user's active certificate: cert_id_or_0 must be the user's (404 otherwise);
 *  0 → the newest active one (404 when none). */
int ca_user_cert(db *d, int64_t user_id, int64_t cert_id_or_0, int64_t *cert_id, err *e);
/** The public key / certificate of a registered certificate (caller frees). NULL with e. */
EVP_PKEY *ca_cert_pubkey(db *d, int64_t cert_id, err *e);
X509 *ca_cert_x509(db *d, int64_t cert_id, err *e);
/** A user's certificates, newest first: [{id,fingerprint,serial,subject,issuer,
 *  key_type,ca_root_id,ca_name,foreign_ca,not_before,not_after,status,registered_at}]. */
json_t *ca_user_certs(db *d, int64_t user_id, err *e);
/** Verify sig_b64 over msg with pkey (RSA/ECDSA: SHA-256; SM2: SM3 with CA_SM2_ID).
 *  0, or -1 with 422 "bad_signature" (400 field "signature" when not base64). */
int ca_verify_with_key(EVP_PKEY *pkey, const void *msg, size_t len, const char *sig_b64, err *e);

/* ---- certificate login ---- */

/** A fresh single-use challenge: nonce (base64url of 32 random bytes, buffer ≥ 48)
 *  and its expiry (now + CA_CHALLENGE_TTL). The client signs CA_LOGIN_PREFIX nonce. */
int ca_challenge_new(db *d, char *nonce, size_t n, int64_t *expires_at, err *e);
/** Log in with a signed challenge: the certificate must be registered to an
 *  enabled user, pass ca_cert_check now, and sign "isle-login:v1:<nonce>"; the nonce
 *  is consumed (a second use is 422 "challenge_expired"). Records ca_logins
 *  (foreign_ca = the root is not home). *user_id gets the user. Own transaction. */
int ca_login(db *d, const char *nonce, const char *cert_pem, const char *sig_b64, const char *ip,
             int64_t *user_id, err *e);
/** ca_login plus, in the same transaction, a session of kind "cookie" or "token" exactly
 *  as auth_login() opens one (audited "session.create"). */
int ca_login_session(db *d, const char *nonce, const char *cert_pem, const char *sig_b64,
                     const char *ip, const char *kind, const char *request_id, auth_session *out,
                     err *e);
/** Certificate logins between from and to (ISO times, NULL = open):
 *  {logins, foreign_logins, rate, by_ca:[{ca_root_id,name,home,logins}]}. */
json_t *ca_stats(db *d, const char *from, const char *to, err *e);

/* ---- command line (ca_cli.c) ---- */

struct cli_env;
/** `isle ca add|list|crl|disable|enable|check …`; argv[0] is "ca". Exit status. */
int ca_cli(const struct cli_env *env, int argc, char **argv);

#endif
