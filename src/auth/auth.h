/* auth: user accounts, passwords and sessions.
 *
 * Passwords are hashed with argon2id (libsodium). A session is either a cookie
 * session or a bearer token; the secret handed to the client is 256 random
 * bits and only its SHA-256 is stored. Cookie sessions carry a CSRF token.
 * Every change to a user or session writes an audit row in the same
 * transaction. Resident ID numbers are validated (GB 11643) and stored in one
 * canonical form; JSON for anyone but the owner shows them masked. */
#ifndef ISLE_AUTH_H
#define ISLE_AUTH_H

#include <jansson.h>
#include <stdint.h>

#include "audit/audit.h"
#include "auth/roles.h"
#include "base/err.h"
#include "db/db.h"

#define AUTH_COOKIE_TTL   (12 * 3600)      /* cookie sessions: 12 hours */
#define AUTH_TOKEN_TTL    (30 * 24 * 3600) /* bearer tokens: 30 days */
#define AUTH_PASSWORD_MIN 8
#define AUTH_PASSWORD_MAX 128

typedef struct auth_user_input {
    const char *login;
    const char *password;
    const char *role; /* role name */
    const char *display_name;
    const char *id_number; /* optional */
    const char *phone;     /* optional */
    const char *town_code; /* optional, 9 digits */
} auth_user_input;

/** Validate and create a user (argon2id hash), audited as "user.create". *id_out gets
 *  the new id. 409 when the login or ID number is taken; 400 naming the field when
 *  input is invalid. */
int auth_user_create(db *d, const audit_actor *actor, const auth_user_input *in, int64_t *id_out,
                     err *e);

/** The user as JSON: {id, login, display_name, role, role_name, id_number, phone,
 *  town_code, disabled, created_at}. reveal=1 shows id_number and phone unmasked
 *  (the owner); otherwise they are masked. NULL with 404 when absent. Caller owns it. */
json_t *auth_user_get(db *d, int64_t id, int reveal, err *e);
/** Look a user up by login; *id_out = 0 when absent. Returns 0 or -1 on DB error. */
int auth_user_find(db *d, const char *login, int64_t *id_out, err *e);

/** {"items":[user…],"total":N} filtered by role name (NULL = all) and a substring of
 *  login or display name (NULL = all). Caller owns it. */
json_t *auth_user_list(db *d, const char *role, const char *q, int limit, int offset, err *e);

typedef struct auth_user_patch {
    const char *role;         /* NULL = unchanged */
    const char *display_name; /* NULL = unchanged */
    const char *town_code;    /* NULL = unchanged, "" = clear */
    int disabled;             /* -1 = unchanged, 0/1 */
} auth_user_patch;

/** Apply patch to user id, audited as "user.update" with before/after. Disabling ends
 *  every session of the user. */
int auth_user_update(db *d, const audit_actor *actor, int64_t id, const auth_user_patch *p, err *e);

/** Set a new password (validated), audited as "user.password". Ends every session of the
 *  user except keep_session (0 = end all). */
int auth_user_set_password(db *d, const audit_actor *actor, int64_t id, const char *password,
                           int64_t keep_session, err *e);
/** 1 if password is the user's current password, 0 if not (or no such user). */
int auth_password_ok(db *d, int64_t id, const char *password);

/** A newly created session; the secrets are shown to the client once. */
typedef struct auth_session {
    int64_t session_id;
    int64_t user_id;
    char token[64]; /* the secret (cookie value or bearer token) */
    char csrf[64];
    char expires_at[32];
} auth_session;

/** Check login+password and open a session of kind "cookie" or "token". Returns 0, or -1
 *  with 401 "unauthenticated" (same message whether the login or the password is wrong,
 *  and for disabled users). Audited as "session.create". */
int auth_login(db *d, const char *login, const char *password, const char *kind,
               const char *request_id, auth_session *out, err *e);

/** The principal behind a session secret. */
typedef struct auth_principal {
    int64_t user_id;
    int64_t session_id;
    int role;
    int via_cookie;
    char login[65];
    char display_name[129];
    char csrf[64];
    char expires_at[32];
} auth_principal;

/** Resolve a secret to its live session. Returns 1 found, 0 not found/expired/disabled,
 *  -1 DB error. */
int auth_session_lookup(db *d, const char *secret, auth_principal *out, err *e);
/** End one session, audited as "session.delete". */
int auth_logout(db *d, const audit_actor *actor, int64_t session_id, err *e);
/** Delete expired sessions (housekeeping). Returns how many, or -1. */
int64_t auth_sessions_purge(db *d, err *e);

/** 1 if login is 3–64 of [A-Za-z0-9_.@-]. */
int auth_login_valid(const char *login);

#endif
