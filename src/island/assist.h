/* assist: assisted requests (帮办代办) — a resident asks for help with an item
 * (or with "I don't know what I need"), an agent is dispatched, comes by or
 * does it online, and the resident never boards a ferry.
 *
 * Intake: by phone (staff enter it; the resident may have no account: a name and
 * a phone), online (the resident's "帮我办"), at a station (staff, or an agent,
 * who then handles it: accepted at once). A request names the village (its town
 * and island follow), optionally the item, urgency, preferred time, address and a
 * description.
 *
 * Lifecycle (assist_rule() is the table; who: the assigned agent, the resident,
 * staff = staff/supervisor/admin):
 *
 *   new ──dispatch──▶ dispatched ──accept──▶ accepted ──start──▶ in_progress ──complete──▶ done
 *    ▲                  │ decline (agent)                         │  ▲
 *    └── nobody free ◀──┘ → re-dispatch without the decliners      wait│ │resume
 *                                                        waiting_on_department ──complete──▶ done
 *   cancel: the resident or staff, while open      reassign: staff, while open (to an agent
 *                                                  given, else the dispatcher)
 *
 * Every change writes, in ONE transaction: the request row (version + 1), an
 * assist_events row, an audit row and the notifications (the resident on every
 * visible step, the agent on dispatch and withdrawal, supervisors on escalation).
 * After the commit, the agent's live topic agent.<agent_id> gets the task event
 * through the publish hook (the API layer points it at the SSE hub).
 *
 * Dispatch: src/island/dispatch.h's dispatch_pick(). With nobody available a request stays new; the
 * watcher retries dispatch on every pass and escalates it when the accept SLA
 * passes, so nothing is ever dropped.
 *
 * SLA: accept_due = 2 working hours after intake (workcal_add_hours), done_due =
 * the item's promise days (workcal_deadline; at least ASSIST_MIN_DONE_DAYS, and
 * ASSIST_DEFAULT_DONE_DAYS without an item). The watcher (assist_watch.c, a thread
 * of `isle serve`, every ISLE_ASSIST_SCAN_MS) escalates each breach once per
 * request — a conditional UPDATE claims it, so with several nodes exactly one
 * escalates — to the town's supervisors (users with role supervisor and that
 * town_code, plus the city-wide ones without a town; all supervisors when there
 * are none).
 *
 * Applications on the resident's behalf: the resident's consent first (the
 * resident online, or staff recording it from a call or in person), then the
 * assigned agent opens the case through cases_create() with on_behalf_of; the
 * request keeps the link (case_id).
 *
 * Visibility: the resident sees their own requests, an agent the ones assigned to
 * them now, staff/supervisor/admin all of them; anyone else gets 404 (the request's
 * existence is not revealed). Times are UTC ISO-8601 in the database and the API. */
#ifndef ISLE_ASSIST_H
#define ISLE_ASSIST_H

#include <jansson.h>
#include <stdint.h>

#include "audit/audit.h"
#include "base/err.h"
#include "cli.h"
#include "db/db.h"
#include "workcal/workcal.h"

#define ASSIST_ACCEPT_HOURS       2.0 /* SLA: accepted within 2 working hours */
#define ASSIST_MIN_DONE_DAYS      1.0 /* an agent gets at least one working day */
#define ASSIST_DEFAULT_DONE_DAYS  5.0 /* done SLA of a request without an item */
#define ASSIST_NOTE_MAX           500 /* bytes of a note or reason */
#define ASSIST_DESCRIPTION_MAX    2000
#define ASSIST_ADDRESS_MAX        200
#define ASSIST_DEFAULT_LIMIT      20
#define ASSIST_MAX_LIMIT          200
#define ASSIST_MAX_EXCLUDE        64 /* decliners remembered for re-dispatch */
#define ASSIST_SCAN_BATCH         200
#define ASSIST_PREFERRED_MAX_DAYS 90 /* preferred_at at most this far ahead */

/** Who acts. Filled by assist_actor_load() from the user (role bit ROLE_*). */
typedef struct assist_actor {
    int64_t user_id; /* 0: the system / CLI operator (sees everything) */
    int role;        /* one ROLE_* bit */
    int64_t agent_id;
    char town_code[16];
    char name[129]; /* display name, for reasons and messages */
    audit_actor audit;
} assist_actor;

/** Complete a (user_id, role, audit) actor: agent_id, town_code and name from the
 *  users and agents tables. 0 or -1. */
int assist_actor_load(db *d, assist_actor *a, err *e);

/* ---- rules (pure) ---- */

/** Relations of the actor to a request, for assist_rule(). */
enum {
    ASSIST_REL_AGENT = 1 << 0,    /* the agent assigned to it now */
    ASSIST_REL_RESIDENT = 1 << 1, /* its resident */
    ASSIST_REL_STAFF = 1 << 2,    /* staff, supervisor, admin (or the CLI) */
};

/** The status after `action` on a request in status `from` by someone with relations
 *  `rel` (ASSIST_REL_* bits). Actions: accept, decline, start, wait, resume, complete,
 *  cancel, reassign. *to gets a static string ("new" for decline: the re-dispatch
 *  decides). 0, or -1 with e: 400 field "action" for an unknown action, 403 when the
 *  actor may not, 409 field "status" when the status does not allow it. */
int assist_rule(const char *action, const char *from, unsigned rel, const char **to, err *e);

/** 1 if s is a request status. */
int assist_status_valid(const char *s);
/** The Chinese label of a status ("dispatched" → "已派单"); "" when unknown. */
const char *assist_status_label(const char *status);
/** 1 for the statuses still open (neither done nor cancelled). */
int assist_status_open(const char *status);

/** The SLA instants of a request received at `created`: accept_due = ASSIST_ACCEPT_HOURS
 *  working hours later; done_due = workcal_deadline with the item's promise_days
 *  (rounded up to a half day, at least ASSIST_MIN_DONE_DAYS) or, when has_item is 0,
 *  ASSIST_DEFAULT_DONE_DAYS. 0, or -1 with e. */
int assist_sla_dues(const workcal *cal, int64_t created, int has_item, double promise_days,
                    int64_t *accept_due, int64_t *done_due, err *e);

/* ---- requests ---- */

/** Create a request at `now` (unix seconds). in (borrowed):
 *    {"channel": "phone"|"online"|"station", "village_code" (required), "item_code",
 *     "resident_id", "resident_name", "resident_phone", "address", "urgency":
 *     "normal"|"urgent", "preferred_at" ("YYYY-MM-DD HH:MM" Shanghai or ISO UTC),
 *     "description"}
 *  citizen/company: channel online, the resident is the caller. staff/supervisor/admin:
 *  phone (default) or station; a resident_id (a citizen/company account) or a
 *  resident_name with a resident_phone. agent: channel station, assigned to the caller
 *  and accepted at once. Errors: 400 naming the field (a village or item that does not
 *  exist is 400 on village_code / item_code), 403 for other roles, 409 when the
 *  resident already has an open request for the item. *id_out gets the id; the request
 *  is dispatched in the same transaction when the dispatcher finds an agent. */
int assist_create(db *d, const assist_actor *a, json_t *in, int64_t now, int64_t *id_out, err *e);

/** What an action carries (all optional; strings borrowed). */
typedef struct assist_act_input {
    const char *note;         /* reason or note; required for wait */
    int64_t file_id;          /* complete: a photo (JPEG/PNG) the caller uploaded */
    int64_t agent_id;         /* reassign: the agent (0: ask the dispatcher) */
    int64_t expected_version; /* > 0: 409 when the request changed meanwhile */
} assist_act_input;

/** Apply an action (see assist_rule) at now. 404 when the actor may not see the
 *  request, else assist_rule's errors, 400 naming file_id/agent_id/note. 0 or -1. */
int assist_act(db *d, const assist_actor *a, int64_t id, const char *action,
               const assist_act_input *in, int64_t now, err *e);

/** Record the resident's consent for acting on their behalf (opening an application):
 *  by the resident themselves (method online), or by staff (method "phone" by default,
 *  or "station"), or by the assigned agent in person ("station"). Idempotent (a second
 *  call changes nothing). note optional. 404 / 403 / 409 for a closed request. */
int assist_consent(db *d, const assist_actor *a, int64_t id, const char *method, const char *note,
                   int64_t now, err *e);

/** Add a note to the timeline (anyone who sees the request). */
int assist_note(db *d, const assist_actor *a, int64_t id, const char *text, int64_t now, err *e);

/** The assigned agent opens an application for the resident: consent must be recorded
 *  (409 field "consent"), the resident must have an account (409 field "resident_id"),
 *  the request must be accepted, in progress or waiting, and have no case yet (409).
 *  in (borrowed): {"item_code" (default the request's), "form", "materials", "submit"}
 *  — passed to cases_create() with on_behalf_of = the resident, channel assisted and
 *  idempotency key "assist-ID" (a retry finds the same case). The link (case_id), an
 *  event and an audit row follow in a second transaction. *case_id_out gets the case.
 *  cases_create's errors pass through. *created is 1 when the case is new, 0 when the
 *  request was linked already (its case is returned). 0 or -1. */
int assist_open_case(db *d, const assist_actor *a, int64_t id, json_t *in, int64_t now,
                     int64_t *case_id_out, int *created, err *e);

/** One request with its timeline, SLA state and the actions the actor may take:
 *  {"id","request_no","status","status_label","channel","item_code","item_name",
 *   "resident":{"id","name","phone"},"village":{"code","name"},"town":{"code","name"},
 *   "island":{"id","name"},"address","urgency","preferred_at","description",
 *   "agent":{"id","name","phone","kind","station_id","station_name"}|null,"remote",
 *   "dispatch":{"reason","score","eta_at","dispatched_at"},"sla":{"accept_due",
 *   "done_due","accept_overdue","done_overdue","escalated_at","done_escalated_at"},
 *   "consent":{"at","by","method"}|null,"case":{"id","case_no","status"}|null,
 *   "created_at","accepted_at","started_at","done_at","cancelled_at","updated_at",
 *   "version","actions":[…],"events":[{"at","action","from_status","to_status","note",
 *   "actor","agent_id","file_id","data"}]} at now. 404 when the actor may not see it. */
json_t *assist_get(db *d, const assist_actor *a, int64_t id, int64_t now, err *e);

/** Filter of assist_list(). Strings borrowed; NULL = any. */
typedef struct assist_filter {
    int mine;              /* staff: requests they entered; residents always see their own */
    const char *status;    /* a status, "open" or "closed" */
    const char *town_code; /* staff */
    const char *village_code;
    int64_t agent_id; /* staff: one agent's tasks (> 0) */
    const char *due;  /* "overdue", "accept_overdue", "done_overdue" */
    const char *q;    /* request_no or resident name / item name substring */
    int64_t limit, offset;
} assist_filter;

/** A page of the requests the actor may see, newest first (overdue lists: most
 *  overdue first): {"items":[summary],"total","limit","offset"}. Residents: their own;
 *  agents: their tasks; staff: all, filtered. 400 naming a bad filter. */
json_t *assist_list(db *d, const assist_actor *a, const assist_filter *f, int64_t now, err *e);

/** After a commit that gave an agent a task (event "task") or took one away
 *  ("task_withdrawn"), the hook gets the agent and one line of JSON
 *  ({"request_id","request_no","item_name","place","urgency","accept_due","status"}):
 *  no personal data. Called on the committing thread (an HTTP worker or the watcher).
 *  NULL: nothing is published. The API layer sets it to publish on SSE topic
 *  "agent.<agent_id>". */
typedef void (*assist_publish_fn)(int64_t agent_id, const char *event, const char *data_json);
void assist_set_publish_hook(assist_publish_fn fn);

/* ---- the SLA watcher (assist_watch.c) ---- */

/** One pass at now: retry dispatch of requests still new (when the dispatcher is
 *  linked in), then escalate each accept breach (new/dispatched, never accepted, past
 *  accept_due) and each done breach (open, past done_due) once per request: event,
 *  audit row, messages to the supervisors, escalated_at / done_escalated_at set by a
 *  conditional UPDATE in the same transaction. *escalated gets the escalations,
 *  *dispatched (may be NULL) the requests dispatched. 0 or -1. */
int assist_sla_scan(db *d, int64_t now, int *escalated, int *dispatched, err *e);
/** Start the watcher thread of `isle serve` (every ISLE_ASSIST_SCAN_MS ms, default
 *  60000, 0 = off) with its own connection to dsn. 0, or -1 (400 for a bad setting). */
int assist_watch_start(const char *dsn, err *e);
void assist_watch_stop(void);

/* ---- command line (assist_cli.c) ---- */

/** `isle assist list [--status S] [--town C] [--due overdue] [--agent ID] [--limit N]
 *  [--json]` and `isle assist show ID [--json]` (argv[0] = "assist"). Exit 0/1/2. */
int assist_cli(const cli_env *env, int argc, char **argv);

/** `isle demo`: a year of assisted requests (assist_demo.c) — count requests over the
 *  villages, with agents of the resident's town, timelines and SLA dues; today's still
 *  open. Nothing when requests exist. *created (may be NULL) gets the count. 0 or -1. */
int assist_demo_run(db *d, int64_t now, unsigned seed, int count, int *created, err *e);

#endif
