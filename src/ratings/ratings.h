/* ratings: 好差评 — the applicant's rating of a finished case (GB/T 39734-2020
 * 政务服务评价工作指南, GB/T 39735-2020 政务服务评价数据汇聚规范) and the 差评
 * tickets it opens.
 *
 * Who rates what, and when:
 *   - Only the case's applicant, once per case (409 on a second), and only when
 *     the case is finished: status 'delivered' (办结送达) or 'denied' (不予许可).
 *     A denial is included on purpose: an applicant who was turned down is the
 *     one whose view of the service matters most, and GB/T 39734 rates the
 *     service, not its outcome. Anyone else's case answers 404, as if it did
 *     not exist.
 *   - Five levels: 5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意.
 *     overall (整体满意度) is required, and so is every dimension of the case's
 *     channel: online — efficiency 办事效率, guide_accuracy 办事指南精确度,
 *     convenience 办事便捷度, usability 平台操作性; window, assisted and station
 *     (offline) — service_efficiency 服务效率, service_level 服务水平,
 *     service_attitude 服务态度. An optional comment of at most 500 characters.
 *
 * 差评 (overall 1 or 2) opens a ticket for the case's department in the same
 * transaction and tells the department's staff (notify_department_staff). The
 * ticket moves strictly in order, each step audited:
 *     open → callback (回访 recorded, required) → called_back
 *          → rectify (整改 recorded)            → rectifying
 *          → report (result to the rater: in-app + SMS) → still rectifying, reported
 *          → close                               → closed
 * rectify_due is the end of the 5th working day after opening (workcal); a
 * ticket not rectified by then is overdue. Staff and approvers act on their own
 * department's tickets (every department when their users.department is NULL),
 * supervisors on all; admins may look but not act.
 *
 * The case is read straight from the `cases` table (status, applicant_id,
 * department, item_code, channel): the applications core needs no hook. */
#ifndef ISLE_RATINGS_H
#define ISLE_RATINGS_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"
#include "db/db.h"

#define RATINGS_COMMENT_MAX  500  /* characters (UTF-8 code points) */
#define RATINGS_NOTE_MAX     1000 /* characters of a ticket note */
#define RATINGS_RECTIFY_DAYS 5    /* working days to rectify a 差评 */

/** Who is acting: the caller's id, one ROLE_* bit, and what the audit row shows. */
typedef struct ratings_actor {
    int64_t user_id;
    int role;
    const char *login;
    const char *request_id; /* may be NULL */
} ratings_actor;

/** A rating as submitted. dims is borrowed. */
typedef struct ratings_input {
    int overall;         /* 1–5 */
    json_t *dims;        /* {"efficiency": 5, …}: exactly the channel's dimensions */
    const char *comment; /* NULL or ≤ RATINGS_COMMENT_MAX characters */
} ratings_input;

/** The level's label: 5 → "非常满意" … 1 → "非常不满意"; NULL outside 1–5. */
const char *ratings_level_label(int level);
/** The dimensions of a channel as [{"key","label"}] (overall first). "online" gives the
 *  online set, anything else the offline one. Caller owns it. */
json_t *ratings_dimensions(const char *channel);

/** Rate a case (own transaction). *rating_id_out and *ticket_id_out (either may be NULL;
 *  ticket 0 when none was opened) get the new ids. Errors: 404 not the caller's case
 *  (or none), 409 field "status" not finished yet, 409 already rated, 400 naming the
 *  field ("overall", "dims.efficiency", "comment"). Audited as rating.create (and
 *  rating_ticket.open). */
int ratings_create(db *d, const ratings_actor *actor, int64_t case_id, const ratings_input *in,
                   int64_t *rating_id_out, int64_t *ticket_id_out, err *e);

/** The rating of a case for the caller: {"case_id", "channel", "status", "can_rate",
 *  "dimensions": [...], "rating": {...} | null, "ticket": {...} | null}. The applicant
 *  sees their own; department staff/approvers, supervisors and admins see any (with
 *  the ticket). Everyone else: 404. Caller owns it; NULL with e. */
json_t *ratings_case_get(db *d, const ratings_actor *actor, int64_t case_id, err *e);

typedef struct ratings_ticket_filter {
    const char *status;     /* open|called_back|rectifying|closed, NULL = any */
    const char *department; /* NULL = any the caller may see */
    int overdue;            /* -1 any, 1 only overdue, 0 only not overdue */
    int limit, offset;      /* 1–200 (default 50), ≥ 0 */
} ratings_ticket_filter;

/** Tickets the caller may see, newest first: {"items": [ticket…], "total"}. A staff
 *  member or approver tied to a department asking for another gets 403. Each ticket:
 *  {id, rating_id, case_id, case_no, item_name, department, status, overall,
 *  overall_label, comment, rater_name, rater_phone (masked), opened_at, rectify_due,
 *  overdue, callback_at, callback_by, callback_note, rectified_at, rectify_note,
 *  result_reported_at, result_note, closed_at}. Caller owns it. */
json_t *ratings_ticket_list(db *d, const ratings_actor *actor, const ratings_ticket_filter *f,
                            err *e);
/** One ticket (same shape), 404 when the caller may not see it. Caller owns it. */
json_t *ratings_ticket_get(db *d, const ratings_actor *actor, int64_t id, err *e);

/** The ticket steps (own transaction each, audited as rating_ticket.ACTION). note:
 *  required 1–RATINGS_NOTE_MAX characters except for close (optional). Out of order
 *  → 409 naming what must come first; not the caller's department → 404; an admin →
 *  403. report sends the rater template rating_ticket_result with note as {result}. */
int ratings_ticket_callback(db *d, const ratings_actor *actor, int64_t id, const char *note,
                            err *e);
int ratings_ticket_rectify(db *d, const ratings_actor *actor, int64_t id, const char *note, err *e);
int ratings_ticket_report(db *d, const ratings_actor *actor, int64_t id, const char *note, err *e);
int ratings_ticket_close(db *d, const ratings_actor *actor, int64_t id, const char *note, err *e);

/** Public figures per department, no personal data: {"items": [{department, count,
 *  average, levels: {"1".."5": n}, dimensions: {key: average}, bad_count, tickets,
 *  called_back, callback_rate, closed, closure_rate, overdue}], "totals": {count,
 *  average, bad_count, tickets, callback_rate, closure_rate, overdue}, "labels":
 *  {key: 中文}, "callback_goal": 1}. Averages are rounded to 2 decimals; rates are
 *  shares in [0,1], null when the department has no 差评. Caller owns it. */
json_t *ratings_department_summary(db *d, err *e);

/** City-wide totals for the KPI module. */
typedef struct ratings_totals_out {
    int64_t count;            /* ratings */
    double average;           /* mean overall, 0 when count is 0 */
    int64_t bad_count;        /* overall ≤ 2 (差评) */
    int64_t tickets;          /* 差评 tickets (= bad_count unless data was imported) */
    double called_back_share; /* tickets with a callback / tickets; 1 when tickets is 0 */
    double closed_share;      /* closed tickets / tickets; 1 when tickets is 0 */
    int64_t overdue;          /* tickets past rectify_due and not rectified */
} ratings_totals_out;

/** Fill *out. 0 or -1. */
int ratings_totals(db *d, ratings_totals_out *out, err *e);

#endif
