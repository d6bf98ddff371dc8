/* hmac: signed webhooks between isle and the services it calls or is called by
 * (the SMS gateway, the face-verification provider).
 *
 * One scheme both ways: the sender puts the unix time in X-Isle-Timestamp and
 * "sha256=" + lowercase hex HMAC-SHA256(secret, TIMESTAMP "." BODY) in
 * X-Isle-Signature; the receiver recomputes it over the exact body bytes,
 * compares in constant time, and refuses a timestamp too far from its clock
 * (a replayed request older than the window fails; inside the window the
 * endpoints are idempotent, so a replay changes nothing). libsodium computes
 * the MAC; nothing here logs the body or the secret. */
#ifndef ISLE_HMAC_H
#define ISLE_HMAC_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define HMAC_SIGNATURE_LEN    71  /* "sha256=" + 64 hex characters */
#define HMAC_MAX_SKEW         300 /* seconds a timestamp may differ from our clock */
#define HMAC_HEADER_TIME      "X-Isle-Timestamp"
#define HMAC_HEADER_SIGNATURE "X-Isle-Signature"

/** The signature of body (len bytes) at timestamp (decimal unix seconds) with secret:
 *  "sha256=<hex>" into out (≥ HMAC_SIGNATURE_LEN + 1 bytes). Returns out. */
char *hmac_webhook_sign(const char *secret, const char *timestamp, const void *body, size_t len,
                        char *out, size_t n);

/** Check a received webhook: timestamp and signature are the two header values (may be
 *  NULL), body the exact bytes received, now the current unix time. 0 when the
 *  signature matches and |now - timestamp| ≤ max_skew; else -1 with e: 401
 *  "unauthenticated" naming the header at fault (X-Isle-Timestamp missing, malformed
 *  or outside the window; X-Isle-Signature missing, malformed or wrong), or 503
 *  "unavailable" when secret is NULL or empty (the endpoint is not configured). */
int hmac_webhook_check(const char *secret, const char *timestamp, const char *signature,
                       const void *body, size_t len, int64_t now, int max_skew, err *e);

#endif
