/* audit: the hash-chained audit trail.
 *
 * Every state change writes one row, inside the same transaction as the change
 * itself: who (actor), what (action, object type and id), when, and the object
 * before and after as JSON. Each row stores SHA-256(prev_hash || canonical row),
 * and the table `audit_head` holds the last id and hash, so that editing,
 * deleting or truncating rows breaks the chain; audit_verify() finds the first
 * broken link. Values under keys named id_number / password / password_hash /
 * token are masked or dropped before they are written. Never call outside a
 * transaction: the chain head must be read and written under the write lock. */
#ifndef ISLE_AUDIT_H
#define ISLE_AUDIT_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"
#include "db/db.h"

typedef struct audit_actor {
    int64_t user_id;        /* 0 for the system / CLI */
    const char *login;      /* "system", "cli:root", or the user's login */
    const char *request_id; /* HTTP request id or NULL */
} audit_actor;

/** Append one audit row. before/after may be NULL; they are not stolen.
 *  Must run inside db_begin()/db_commit(). Returns 0 or -1. */
int audit_record(db *d, const audit_actor *actor, const char *action, const char *object_type,
                 const char *object_id, json_t *before, json_t *after, err *e);

typedef struct audit_verify_result {
    int ok;
    int64_t rows;
    int64_t first_broken; /* id of the first row that fails, 0 if none */
    char reason[160];
} audit_verify_result;

/** Recompute the chain. Returns 0 when the check ran (result in *out), -1 on a DB error. */
int audit_verify(db *d, audit_verify_result *out, err *e);

typedef struct audit_filter {
    int64_t actor_id;        /* 0 = any */
    const char *actor_login; /* NULL = any */
    const char *action;      /* prefix match, NULL = any */
    const char *object_type;
    const char *object_id;
    const char *since; /* ISO time, inclusive */
    const char *until; /* ISO time, exclusive */
    int64_t before_id; /* rows with id < before_id; 0 = newest */
    int limit;
} audit_filter;

/** Newest-first page of audit rows as {"items":[…],"next_before":N|null}. Caller owns it. */
json_t *audit_list(db *d, const audit_filter *f, err *e);

/** Mask a resident ID number for display: "330902199001011234" → "3309**********1234".
 *  Other strings of 8+ characters keep their first 3 and last 4. out ≥ 32 bytes. */
char *audit_mask_id(const char *id, char *out, size_t n);

#endif
