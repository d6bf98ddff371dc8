/* idverify: identity verification for residents without their ID card (办事不出岛:
 * a resident on a far island who lost the card, or never carries it, must still
 * be able to prove who they are).
 *
 * Two ways, each recorded as a row of `verifications` (025_idverify.sql) with an
 * audit row per change:
 *   provider  an external face-verification service (the national CTID service
 *             or the province's) behind the idverify_provider interface. isle
 *             asks it, in one signed request, to open a liveness + face session
 *             for the resident's name and ID number and a one-time token; the
 *             resident's phone then talks to the provider, never to isle, and
 *             the provider calls back (POST /api/v1/idverify/callback, signed
 *             with the same secret) with match / no_match / error and an
 *             assurance level. isle never sees or stores a face image.
 *   witness   staff record that they checked the person in person (what they
 *             checked, in a note): passed at once, assurance "substantial".
 * Assurance levels, lowest first: low, substantial, high. A provider match is
 * "high" unless the provider says otherwise.
 *
 * Rules:
 *   - A citizen or company account verifies itself only; staff, approvers,
 *     agents and admins start verifications for an account or for a resident
 *     without one (name + ID number); only staff and approvers witness, never
 *     for themselves.
 *   - Starts are limited per requester: 5 an hour for residents, 200 for staff
 *     (each one costs a provider call).
 *   - The provider call runs outside any transaction: the row is written
 *     pending first, then completed with the provider's session or marked
 *     'error' when the provider failed (so every call has its row).
 *   - Callbacks are idempotent: the same outcome again changes nothing; a
 *     different outcome for a finished verification is refused (409); one that
 *     comes after the session expired marks it 'error'.
 *   - ID numbers are personal data: never logged, never in error messages,
 *     stored only masked; responses show the full number only to the subject
 *     (from their account). */
#ifndef ISLE_IDVERIFY_H
#define ISLE_IDVERIFY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "base/err.h"
#include "db/db.h"

#define IDVERIFY_NAME_MAX      64   /* bytes of a subject's name */
#define IDVERIFY_NOTE_MAX      500  /* bytes of a witness note */
#define IDVERIFY_REF_MAX       128  /* bytes of a provider session id */
#define IDVERIFY_URL_MAX       1024 /* bytes of a provider session URL */
#define IDVERIFY_GRACE         60   /* seconds a callback may come after the session ended */
#define IDVERIFY_START_CITIZEN 5    /* provider starts an hour by a resident's account */
#define IDVERIFY_START_STAFF   200  /* … by a staff account */

/* ---- the provider interface ---- */

/** What isle asks the provider to check. Borrowed for the call. */
typedef struct idverify_request {
    int64_t verification_id;
    const char *name;
    const char *id_number;    /* in clear: only the provider sees it */
    const char *token;        /* the one-time token binding the liveness session */
    const char *expires_at;   /* when the session must be over (UTC ISO) */
    const char *callback_url; /* where the result goes, or NULL (configured at the provider) */
} idverify_request;

/** The session the provider opened. */
typedef struct idverify_session {
    char session_id[IDVERIFY_REF_MAX + 1];
    char url[IDVERIFY_URL_MAX + 1]; /* the page the resident's phone opens; "" when none */
} idverify_session;

typedef struct idverify_provider idverify_provider;
struct idverify_provider {
    const char *name; /* "http", or a test's */
    /** Open a session. 0 with out filled, or -1 with e: 502 "provider_error" (refused,
     *  or an answer that is not {"session_id", "url"?}), 504 "provider_timeout". Never
     *  puts the ID number or the name in e. May be called from several threads. */
    int (*start)(idverify_provider *p, const idverify_request *req, idverify_session *out, err *e);
    void (*destroy)(idverify_provider *p); /* NULL for a caller-owned provider */
    void *ctx;
};

/** The HTTP provider: POST url a JSON body {"request_id", "name", "id_number", "token",
 *  "expires_at", "callback_url"?}, signed (base/hmac.h) with secret (required);
 *  expects 2xx {"session_id": 1–128 printable characters, "url": optional http(s)
 *  URL}. timeout_ms 100–30000. libcurl. NULL with e (400 naming ISLE_IDV_*) on a bad
 *  setting. */
idverify_provider *idverify_provider_http_new(const char *url, const char *secret, int timeout_ms,
                                              err *e);
/** The provider the environment configures: ISLE_IDV_URL, ISLE_IDV_SECRET,
 *  ISLE_IDV_TIMEOUT_MS (5000). NULL with e: 503 "unavailable" when ISLE_IDV_URL or
 *  ISLE_IDV_SECRET is not set, 400 naming the variable when one is malformed. */
idverify_provider *idverify_provider_from_env(err *e);
/** Free a provider from the functions above (NULL is fine). */
void idverify_provider_free(idverify_provider *p);

/* ---- verifications ---- */

/** Who asks. role is one ROLE_* bit (auth/roles.h). */
typedef struct idverify_actor {
    int64_t user_id;
    int role;
    audit_actor audit;
} idverify_actor;

/** Whom to verify: an account (user_id > 0), or a resident without one (user_id 0,
 *  name and id_number required). With an account, name (optional) is the legal name
 *  (default: the account's display name) and id_number (optional) must equal the
 *  account's when the account has one, and is required when it has none. Borrowed. */
typedef struct idverify_subject {
    int64_t user_id;
    const char *name;
    const char *id_number;
} idverify_subject;

/** Start a provider verification. A citizen or company actor verifies itself (s->user_id
 *  0 or its own id); other roles name the subject. Writes the pending row, calls the
 *  provider, records its session. 0 with *out = {"verification": …, "session": {"url",
 *  "token", "expires_at"}} (the token only here, once), or -1 with e: 400 naming the
 *  field, 403, 404 (no such user), 429 (too many starts), 502/504 from the provider
 *  (the row is then 'error' and the message gives its id). Caller owns *out. */
int idverify_start(db *d, idverify_provider *p, const idverify_actor *a, const idverify_subject *s,
                   json_t **out, err *e);

/** Check a provider callback's signature with ISLE_IDV_SECRET (base/hmac.h): 0, or -1
 *  with e (401 naming the header, 503 when no secret is configured). */
int idverify_callback_verify(const char *timestamp, const char *signature, const void *body,
                             size_t len, err *e);

/** Apply a provider callback {"request_id": verification id, "session_id", "result":
 *  "match"|"no_match"|"error", "assurance": optional low|substantial|high (a match
 *  only), "reason": optional text ≤ 200}, in one transaction. {"verification": … (ID
 *  masked), "result": "recorded"|"duplicate"|"expired"}. -1 with e: 400 naming the
 *  field, 404 no such verification, 409 a provider session that does not match, or a
 *  different outcome for a finished one. Caller owns the result. */
json_t *idverify_callback(db *d, const audit_actor *actor, json_t *body, err *e);

/** Record a staff-witnessed verification (staff and approvers only; never of oneself):
 *  passed, assurance "substantial", note 2–500 bytes saying what was checked.
 *  fallback_for (0 = none) names a provider verification of the same subject that
 *  failed or erred. {"verification": …}. -1 with e (400 naming the field, 403, 404).
 *  Caller owns the result. */
json_t *idverify_witness(db *d, const idverify_actor *a, const idverify_subject *s,
                         const char *note, int64_t fallback_for, err *e);

/** One verification as {"id", "method", "status", "result", "assurance", "reason", "note",
 *  "subject": {"user_id", "name", "id_number"}, "provider_ref", "requested_by",
 *  "fallback_for", "created_at", "expires_at", "completed_at"} for a caller entitled to
 *  it: its subject (who sees the full ID number of their account), its requester, or
 *  staff, approvers, supervisors and admins (masked). 404 for anyone else. Caller owns
 *  the result. */
json_t *idverify_get(db *d, const idverify_actor *a, int64_t id, err *e);

/** The highest assurance of the account's passed verifications completed in the last
 *  max_age_seconds, into out (≥ 16 bytes): "high", "substantial", "low", or "" when
 *  none. For other modules that ask for a verified identity. 0 or -1. */
int idverify_user_assurance(db *d, int64_t user_id, int64_t max_age_seconds, char *out, size_t n,
                            err *e);

#endif
