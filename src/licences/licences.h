/* licences: the e-licence library (证照库) — the licences each user holds, so
 * that an application can reuse them instead of asking for the paper (免提交),
 * and so that what a case issues is written back for the next application.
 *
 * Validity: a licence counts as valid when its stored status is 'valid' and its
 * valid_until date (inclusive, Asia/Shanghai; NULL = 长期) is not before the day
 * of the instant asked about. Nothing sweeps statuses: a 'valid' licence past
 * its date is simply never found valid, and JSON shows it as "expired".
 *
 * Issuing replaces: licences_issue() marks 'superseded' (superseded_by = the
 * new id) every valid licence of the holder with the same type and the same
 * number (a renewal, 换证), and — for the one-per-holder types such as 居民身份证,
 * 居民户口簿, 社会保障卡, 机动车驾驶证, 营业执照, 结婚证 (licences_single_type()) —
 * every valid licence of that type whatever its number. Types a holder may
 * hold many of (不动产权证书, 机动车行驶证, ship certificates …) keep their other
 * licences. A superseded licence is kept for history and never valid again.
 *
 * Transactions: every function that writes (licences_issue, licences_revoke,
 * licences_revoke_by_case) runs inside the caller's transaction and never
 * begins or commits one, so the applications core can write a licence back in
 * the same transaction as the case's delivery, and the API wraps each call in
 * db_begin()/db_commit(). Each writes its audit row ("licence.issue",
 * "licence.revoke") in that transaction. licences_demo() alone runs its own.
 *
 * Personal data: licence numbers (an ID number is the 居民身份证's number) are
 * shown to the holder and to case-handling staff only; licences_mask() blanks
 * them for everyone else, and audit rows carry them masked. */
#ifndef ISLE_LICENCES_H
#define ISLE_LICENCES_H

#include <jansson.h>
#include <stdint.h>

#include "audit/audit.h"
#include "base/err.h"
#include "db/db.h"

#define LICENCES_TYPE_MAX   128 /* bytes of a type name */
#define LICENCES_NUMBER_MAX 128 /* bytes of a licence number */
#define LICENCES_REASON_MAX 500 /* bytes of a revocation reason */
#define LICENCES_LIST_MAX   500 /* licences listed for one holder */

/** What licences_lookup() found. */
typedef struct licences_found {
    int64_t id;                           /* 0 when the holder has no licence of the type */
    char status[16];                      /* effective: valid, expired, revoked, superseded */
    char number[LICENCES_NUMBER_MAX + 1]; /* personal data: never log it */
    char issued_at[16];                   /* YYYY-MM-DD */
    char valid_until[16];                 /* YYYY-MM-DD, "" for no expiry */
    json_t *data;                         /* the licence's data object or NULL; caller decrefs */
} licences_found;

/** Does holder_id hold a valid licence of type at now_iso (an ISO-8601 instant; its
 *  Shanghai date is compared with valid_until)? 1 found (*licence_id = its id; of
 *  several, the one valid longest, then the newest), 0 none (*licence_id = 0), -1
 *  error (400 naming "now" for an unreadable instant). licence_id may be NULL.
 *  Read-only; fine inside or outside a transaction. */
int licences_find_valid(db *d, int64_t holder_id, const char *type, const char *now_iso,
                        int64_t *licence_id, err *e);

/** As licences_find_valid(), with details in *out: on 1, the valid licence; on 0,
 *  the holder's newest licence of the type that is not valid (out->id > 0 and
 *  out->status "expired", "revoked" or "superseded", to explain why), or out->id 0
 *  when there is none. On 0 and 1, out->data (may be NULL) belongs to the caller. */
int licences_lookup(db *d, int64_t holder_id, const char *type, const char *now_iso,
                    licences_found *out, err *e);

/** Full form of licences_issue(). Strings are borrowed. */
typedef struct licences_new {
    int64_t holder_id;
    const char *type;        /* a catalog licence type (checked when the catalog has types) */
    const char *number;      /* NULL or "" = generated ("ZSL" + date + 6 random digits) */
    const char *issuer;      /* NULL = the catalog's issuer for the type */
    const char *issued_at;   /* YYYY-MM-DD; NULL = today (Shanghai) */
    const char *valid_until; /* YYYY-MM-DD; NULL or "" = no expiry */
    const char *status;      /* NULL = "valid"; "expired" for imported history */
    const char *source;      /* NULL = "case" when source_case_id, else "import"; or "demo" */
    int64_t source_case_id;  /* 0 = none; else must be a case */
    json_t *data;            /* NULL or an object; borrowed */
} licences_new;

/** Insert a licence as n describes, superseding as the file comment says, audited as
 *  "licence.issue" (the number masked; "superseded": [ids]). The holder's name is
 *  copied from the user. Inside the caller's transaction. Errors: 400 naming the
 *  field (type unknown to the catalog, bad dates, too long), 404 no such holder or
 *  case. *id_out (may be NULL) gets the new id. Returns 0 or -1. */
int licences_add(db *d, const audit_actor *a, const licences_new *n, int64_t *id_out, err *e);

/** Write back a licence issued by a delivered case: licences_add() with source
 *  "case" (or "import" when source_case_id is 0), issued today, the catalog's
 *  issuer. number NULL = generated; valid_until NULL = no expiry. Inside the
 *  caller's transaction. Returns 0 or -1. */
int licences_issue(db *d, const audit_actor *a, int64_t holder_id, const char *type,
                   const char *number, const char *valid_until, int64_t source_case_id,
                   int64_t *id_out, err *e);

/** Revoke licence id (stored status 'valid', even if past its date) with reason
 *  (required, ≤ LICENCES_REASON_MAX bytes), audited as "licence.revoke" with before
 *  and after. 404 no such licence, 409 already revoked or superseded, 400 "reason".
 *  Inside the caller's transaction. Returns 0 or -1. */
int licences_revoke(db *d, const audit_actor *a, int64_t id, const char *reason, err *e);

/** Revoke every still-valid licence that case_id issued (when the case's approval is
 *  revoked, e.g. a failed 告知承诺). *count (may be NULL) gets how many. Inside the
 *  caller's transaction. Returns 0 or -1. */
int licences_revoke_by_case(db *d, const audit_actor *a, int64_t case_id, const char *reason,
                            int *count, err *e);

/** {"items":[licence…]} of holder_id, valid ones first, then by type and newest first,
 *  at most LICENCES_LIST_MAX. Numbers unmasked: mask with licences_mask() for anyone
 *  but the holder and case staff. Caller owns the result; NULL on error. */
json_t *licences_list(db *d, int64_t holder_id, err *e);

/** One licence: {id, holder_id, holder_name, type, number, issuer, issued_at,
 *  valid_until, status (effective), stored_status, source, source_case_id,
 *  superseded_by, revoked_at, revoke_reason, data, created_at, updated_at,
 *  trust_level}. NULL with 404 "not_found" when absent. Numbers unmasked. Caller
 *  owns the result. */
json_t *licences_get(db *d, int64_t id, err *e);

/** Mask the personal data of one licence object in place: number ("3309**********0021"
 *  style) and any string in data under "id_number", "number" or "household_no". */
void licences_mask(json_t *licence);

/** 1 if a holder keeps at most one valid licence of this type (issuing a new one
 *  supersedes the old whatever its number), else 0. */
int licences_single_type(const char *type);

/** Which licence an item's result (catalog item "result", e.g. "营业执照（纸质营业执照及
 *  电子营业执照）") produces, for the write-back on delivery: the catalog type named
 *  earliest in the text (the longest at the same place) into type (≥ LICENCES_TYPE_MAX
 *  + 1 bytes). Results that only act on an existing licence or are no licence at all
 *  produce none: texts with 签注, 注销, 记录, 挂失, 审验, 发放至, 返还, 临时 or
 *  副本. Returns 1 found, 0 none, -1 error. */
int licences_result_type(db *d, const char *result, char *type, size_t n, err *e);

/** The usual term of a newly issued licence of type, issued on issued (YYYY-MM-DD): for
 *  居民身份证 by the holder's age from id_number (under 16: 5 years, 16–25: 10, 26–45:
 *  20, 46 and over: 长期), and fixed terms for 机动车驾驶证 (6), 食品经营许可证 (5),
 *  渔业捕捞许可证 (5), 道路运输从业人员从业资格证 (6), 社会保障卡 (10), 建筑业企业资质证书
 *  (5), 医疗机构执业许可证 (5), 营业性演出许可证 (2). Writes valid_until (the day before
 *  the anniversary, ≥ 11 bytes) and returns 1; returns 0 for no expiry (other types, or
 *  a 居民身份证 without a usable ID number: treated as 长期). */
int licences_default_valid_until(const char *type, const char *issued, const char *id_number,
                                 char *out, size_t n);

/** Give the demo users (isle demo: citizen 张阿婆, company 舟渔水产有限公司, agent
 *  李代办, bidder 东港建设集团) a realistic set of licences, some expired, revoked or
 *  superseded, in one transaction, each with its "licence.issue" audit row. Users that are
 *  missing are skipped; a user who already has demo licences is left alone
 *  (idempotent). Runs after the catalog import (issuers come from it). *created (may
 *  be NULL) gets the number of licences added. Must not be called inside a
 *  transaction. Returns 0 or -1. */
int licences_demo(db *d, int *created, err *e);

#endif
