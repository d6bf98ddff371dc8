/* cases/internal.h: what the files of src/cases/ share (not for other modules). */
#ifndef ISLE_CASES_INTERNAL_H
#define ISLE_CASES_INTERNAL_H

#include "cases/cases.h"

/** One row of `cases`, as the lifecycle code works on it. */
typedef struct case_row {
    int64_t id, parent_id, applicant_id, agent_id, assignee_id, version, item_version;
    int64_t suspended_seconds;
    char case_no[32], kind[8], item_code[40], item_name[256], bundle_code[16];
    char channel[12], department[256], town_code[16], status[32], suspended_from[32], path[16];
    char submitted_at[32], accepted_at[32], clock_start[32], deadline_at[32], suspended_at[32];
    char decided_at[32], delivered_at[32], closed_at[32], created_at[32], updated_at[32];
    double promise_days, promise_hours, legal_days; /* -1 when NULL */
    char *form;                                     /* JSON text, owned */
    char *rule_trace;                               /* JSON text or NULL, owned */
} case_row;

/** Load case id (404 when missing). Free with case_row_free(). */
int case_load(db *d, int64_t id, case_row *c, err *e);
void case_row_free(case_row *c);
/** 1 when status is one of the open ones (submitted … suspended). */
int cases_status_open(const char *status);
/** 1 when the actor may see the case (owner, agent, or staff in scope). */
int cases_can_see(const cases_actor *a, const case_row *c);
/** Append a timeline row. actor_id 0 = the system. data borrowed (may be NULL). */
int case_event(db *d, int64_t case_id, int64_t actor_id, const char *action, const char *from,
               const char *to, const char *reason, json_t *data, err *e);

/* ---- hooks into the modules the lifecycle uses (hooks.c) ---- */
/** A valid e-licence of holder of type (1 found with *licence_id, 0 none, -1 error). */
int cases_licence_lookup(db *d, int64_t holder_id, const char *type, int64_t *licence_id, err *e);
/** On delivery: write the result back into the licence library when the item's
 *  result is an e-licence type. 0 or -1. */
int cases_licence_writeback(db *d, const audit_actor *aa, const case_row *c, err *e);
/** 秒办 rules for c: 1 approve, 0 a human decides (or the item has no rules), -1 error;
 *  *trace (new reference or NULL) gets the evaluation. role: the applicant's ROLE_*. */
int cases_rules_run(db *d, const case_row *c, int applicant_role, json_t **trace, err *e);
/** After approval on a signed commitment: schedule the post-approval check. */
int cases_commitment_schedule(db *d, const audit_actor *aa, const case_row *c, err *e);
/** Tell the applicant about the new status (inside the transaction). */
int cases_notify_hook(db *d, int64_t case_id, const char *status, const char *reason, err *e);

#endif
