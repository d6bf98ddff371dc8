/* commitment: the follow-up of 告知承诺 approvals — an application approved on
 * the applicant's signed commitment (cases.path 'commitment') is verified
 * afterwards: a share of such cases is sampled for an on-site check, due a
 * number of working days after approval; a check that finds the commitment
 * untrue revokes the approval and leaves a credit record (信用记录) against
 * the applicant.
 *
 * Sampling is deterministic: case id → a 64-bit mix (splitmix64) → a number
 * in [0, 10000) compared with the rate in basis points, so the same case is
 * always sampled or not at a given rate, and nobody can steer it. The rate
 * (default 20 %) and the working days (default 20) live in the one-row table
 * commitment_settings; $ISLE_COMMITMENT_SAMPLE_RATE (0–100) and
 * $ISLE_COMMITMENT_VERIFY_DAYS override them. The rate in force is stored on
 * each check.
 *
 * Transactions: every function that writes runs inside the caller's
 * transaction and never begins or commits (the core schedules in the same
 * transaction as the approval; the API wraps its calls). Each writes its audit
 * row: "commitment.schedule", "commitment.check", "credit.record",
 * "commitment.settings".
 *
 * Revocation is the applications core's: a failed check calls
 * cases_revoke_for_failed_commitment() (cases/cases.h) inside the same
 * transaction, after revoking the licences the case issued. */
#ifndef ISLE_COMMITMENT_H
#define ISLE_COMMITMENT_H

#include <jansson.h>
#include <stdint.h>

#include "audit/audit.h"
#include "base/err.h"
#include "db/db.h"

#define COMMITMENT_DEFAULT_RATE 20.0 /* percent of commitment approvals checked on site */
#define COMMITMENT_DEFAULT_DAYS 20.0 /* working days to complete a check */
#define COMMITMENT_NOTE_MAX     1000 /* bytes of a checker's note */
#define COMMITMENT_LIST_MAX     200

/** 1 if case_id is sampled at rate percent (0–100), else 0. Pure and deterministic. */
int commitment_sampled(int64_t case_id, double rate);

/** The settings in force (table, then environment overrides). Either pointer may be
 *  NULL. Returns 0 or -1. */
int commitment_settings_get(db *d, double *rate, double *days, err *e);

/** Change the stored settings (rate 0–100, days 0–365, multiples of 0.5), audited as
 *  "commitment.settings" with before and after. 400 naming "sample_rate" or
 *  "verify_days". Inside the caller's transaction. Returns 0 or -1. */
int commitment_settings_set(db *d, const audit_actor *a, double rate, double days, err *e);

/** Record the verification of case_id, approved at approved_at_iso (ISO-8601 UTC;
 *  NULL = now): sampled or not, due = the end of the verify_days-th working day after
 *  approval (workcal's deadline rule), status 'pending' or 'not_sampled'. Audited as
 *  "commitment.schedule". Idempotent: a case already scheduled is left as it is (0).
 *  404 no such case, 400 "approved_at". Inside the caller's transaction. Returns 0 or
 *  -1. */
int commitment_schedule(db *d, const audit_actor *a, int64_t case_id, const char *approved_at_iso,
                        err *e);
/** As commitment_schedule(); *check_id (may be NULL) gets the check's id (the existing
 *  one when the case was already scheduled). */
int commitment_schedule_id(db *d, const audit_actor *a, int64_t case_id,
                           const char *approved_at_iso, int64_t *check_id, err *e);

/** Filter for commitment_list(). */
typedef struct commitment_filter {
    const char *status;     /* pending, passed, failed, not_sampled, or NULL = all */
    const char *department; /* exact department, NULL = all */
    int limit;              /* 1..COMMITMENT_LIST_MAX; 0 = 50 */
} commitment_filter;

/** {"items":[check…]} ordered by due date (oldest first): each {id, case_id, case_no,
 *  applicant_id, item_code, item_name, department, approved_at, sampled, sample_rate,
 *  due_at, status, checked_at, checker_id, note, case_revoked, created_at, due_state:
 *  on_time|due_soon|overdue|null (open checks only)}. 400 "status" for an unknown
 *  status. Caller owns the result; NULL on error. */
json_t *commitment_list(db *d, const commitment_filter *f, err *e);

/** One check as in commitment_list(); NULL with 404. Caller owns the result. */
json_t *commitment_get(db *d, int64_t check_id, err *e);

/** Record a check's result ("passed" or "failed") by checker a, with note (required
 *  when failed). Allowed from 'pending' and 'not_sampled' (a check prompted by a
 *  complaint); 409 when already decided. A failure writes a credit record against the
 *  applicant, revokes the licences the case issued (licences_revoke_by_case) and has
 *  the core revoke the approval (see the file comment). Audited as
 *  "commitment.check" (and "credit.record"). Inside the caller's transaction. Returns
 *  0 or -1 (400 naming "result" or "note", 404). */
int commitment_record(db *d, const audit_actor *a, int64_t check_id, const char *result,
                      const char *note, err *e);

/** Look up the department the user works for (users.department) into out; "" when none
 *  (every department). Returns 0 or -1. */
int commitment_user_department(db *d, int64_t user_id, char *out, size_t n, err *e);

/** {"items":[{id, case_id, case_no, item_name, kind, note, created_at}]} for user_id,
 *  newest first. Caller owns the result; NULL on error. */
json_t *commitment_credit_list(db *d, int64_t user_id, err *e);

#endif
