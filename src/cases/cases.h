/* cases: applications (办件) of 一网通办 — the lifecycle of one application for
 * a catalog item, or of a 一件事 bundle fanned out into member cases.
 *
 * Lifecycle (cases_transition() actions; every one audited, with a timeline row
 * in case_events and a notification to the applicant, in one transaction):
 *
 *   draft ──submit──▶ submitted ──accept──▶ accepted ──review──▶ in_review
 *     ▲                 │  │                   │  ╲                │   │
 *     └──(edit)  return─┘  └─reject            │   approve/deny ◀──┘   │
 *   returned_for_correction   rejected_at_intake                       │
 *                                              suspend ⇄ resume (clock stops)
 *   approved ──deliver──▶ delivered        withdraw: the applicant, while open
 *
 * Who may do what (cases_action_allowed()): the applicant (or the agent who
 * applied for them) submits, edits a draft or a returned case, and withdraws;
 * window staff (staff) accept, return, reject and deliver; approvers review,
 * approve, deny, suspend and resume; supervisors and admins reassign and read
 * everything. Staff and approvers see the cases of their department (users.
 * department, NULL = all, the 综合窗口); any window may take in an application
 * from any town (全城通办), and queues filter by town on request.
 *
 * Materials: each material of the item is satisfied at submit time by a valid
 * e-licence of the applicant (免提交, looked up in the licence library), by a
 * signed commitment (告知承诺, items marked commitment), by an upload (a PDF,
 * JPEG or PNG the applicant uploaded; the type is checked from the content), or
 * by the online form itself (application forms). A required material left
 * unsatisfied refuses the submit (400 naming materials[i]).
 *
 * Fast paths at submit: an item marked instant with 秒办 rules is decided by
 * the rules at once (approved, path 'instant', trace stored); anything the
 * rules cannot decide goes to the department's queue. An item marked commitment
 * whose materials were committed is approved on acceptance review with path
 * 'commitment' and a post-approval check scheduled.
 *
 * Deadlines: accept sets clock_start (the working-day rule of src/workcal/) and
 * deadline_at = workcal_deadline(accepted, promise_days) (or working hours for a
 * bundle's promise_hours); suspension moves the deadline by the working time
 * spent suspended. Times are UTC ISO-8601 in the database and the API. */
#ifndef ISLE_CASES_H
#define ISLE_CASES_H

#include <jansson.h>
#include <stdint.h>

#include "audit/audit.h"
#include "base/err.h"
#include "cli.h"
#include "db/db.h"

#define CASES_FORM_MAX      (64 * 1024) /* bytes of a form as JSON */
#define CASES_REASON_MAX    500         /* characters of a reason or note */
#define CASES_IDEM_MAX      64          /* bytes of an idempotency key */
#define CASES_DEFAULT_LIMIT 20
#define CASES_MAX_LIMIT     200
#define CASES_MAX_OFFSET    1000000

/** Who is acting: the user, their role bit (ROLE_*), department and town (NULL =
 *  none), and the audit identity. */
typedef struct cases_actor {
    int64_t user_id;
    int role;
    const char *department;
    const char *town_code;
    audit_actor audit;
} cases_actor;

/** Fill a->department and a->town_code from the users table (strings copied into
 *  the buffers given). 0 or -1. */
int cases_actor_load(db *d, cases_actor *a, char *dept_buf, size_t dept_n, char *town_buf,
                     size_t town_n, err *e);

/** Create an application. `in` is the request body (borrowed):
 *    {"item_code" | "bundle_code", "form": {…}, "materials": [{"idx", "by":
 *     "licence"|"commitment"|"upload"|"form", "file_id"}], "channel", "town_code",
 *     "on_behalf_of" (agents: the applicant's user id), "submit": true|false,
 *     "idempotency_key"}
 *  With submit (the default) the case is submitted at once (fast paths apply);
 *  otherwise it stays a draft. A repeated idempotency_key returns the existing case
 *  (*created = 0). *id_out gets the case id. Errors: 400 naming the field, 404 for
 *  an unknown item, 409 for an item that takes no online applications (online_depth
 *  < 2) or an open case of the same item and applicant. */
int cases_create(db *d, const cases_actor *a, json_t *in, int64_t *id_out, int *created, err *e);

/** The form definition for an item or a bundle (one of the two codes) for a person
 *  (company = 0) or a company: see forms.h. NULL with 404 for an unknown code. */
json_t *cases_form_for(db *d, const char *item_code, const char *bundle_code, int company, err *e);
/** The Chinese label of a status ("accepted" → "已受理"). */
const char *cases_status_label(const char *status);

/** Replace the form/materials of a draft or returned case (applicant or agent). */
int cases_update(db *d, const cases_actor *a, int64_t id, json_t *in, err *e);

/** Apply an action (see the lifecycle above): "submit", "accept", "return", "reject",
 *  "review", "approve", "deny", "deliver", "withdraw", "suspend", "resume". reason
 *  (may be NULL) is required for return, reject, deny and suspend. expected_version
 *  > 0 makes it conditional (409 when the case changed meanwhile). 403 when the
 *  actor may not, 409 when the case's status does not allow it. */
int cases_transition(db *d, const cases_actor *a, int64_t id, const char *action,
                     const char *reason, int64_t expected_version, err *e);

/** Assign the case to a user of the right department (staff, approver;
 *  supervisor/admin or the case's department staff may reassign). Audited. */
int cases_assign(db *d, const cases_actor *a, int64_t id, int64_t assignee_id, err *e);

/** Add a note to the timeline (staff side, or the applicant). */
int cases_note(db *d, const cases_actor *a, int64_t id, const char *text, err *e);

/** One case with its materials, timeline, due state and bundle members:
 *  404 when the actor may not see it (never reveal that it exists). */
json_t *cases_get(db *d, const cases_actor *a, int64_t id, err *e);

/** Filter of cases_list(). Strings borrowed; NULL = any. */
typedef struct cases_filter {
    int mine;               /* 1: the actor's own applications (我的办件) */
    const char *status;     /* one status, or "open" / "closed" */
    const char *department; /* staff/supervisor filter */
    const char *town_code;
    const char *item_code;
    const char *due;     /* "overdue", "due_soon" */
    int64_t assignee_id; /* > 0: only this assignee; -1: unassigned */
    const char *q;       /* case_no or item name substring */
    const char *sort;    /* "deadline" (default for queues), "-created" (default mine) */
    int64_t limit, offset;
} cases_filter;

/** A page of cases the actor may see: {"items":[…summary…],"total","limit","offset"}. */
json_t *cases_list(db *d, const cases_actor *a, const cases_filter *f, err *e);

/** The stored file of material idx of case id, for someone who may see the case
 *  (404 otherwise, or when the material has no upload): its path on disk, the
 *  content type recorded at upload (the content was checked to be PDF/JPEG/PNG)
 *  and the uploader's file name. 0 or -1. */
int cases_material_file(db *d, const cases_actor *a, int64_t id, int idx, char *path, size_t path_n,
                        char *content_type, size_t ct_n, char *filename, size_t fn_n, err *e);

/** Revoke an approval whose 告知承诺 turned out false (the commitment check
 *  failed): the case goes back to denied with the reason, audited and notified.
 *  Called inside the caller's transaction. 0 or -1. */
int cases_revoke_for_failed_commitment(db *d, const audit_actor *a, int64_t case_id,
                                       const char *reason, err *e);

/** Escalate open cases past their deadline, once per deadline (timeline, audit, a
 *  message to the assignee or the department). *escalated gets the count. 0 or -1. */
int cases_overdue_scan(db *d, int64_t now, int *escalated, err *e);
/** The watcher thread of `isle serve` (every ISLE_CASES_SCAN_MS, default 60000; 0 = off),
 *  with its own connection to dsn. */
int cases_watch_start(const char *dsn, err *e);
void cases_watch_stop(void);

/** `isle cases …`: list, show, transition (for scripts and ops). */
int cases_cli(const cli_env *env, int argc, char **argv);

#endif
