/* notify: messages to people — the in-app inbox (站内信) and SMS through a
 * transactional outbox, shared by applications (一网通办), 好差评 and the island
 * services (帮办代办 dispatch).
 *
 * Sending is two halves:
 *   1. notify_send(), called INSIDE the caller's transaction (it never begins or
 *      commits one, and refuses to run outside one): renders the template, writes
 *      the in-app row (notifications), and when the template sends SMS and the
 *      recipient has a phone, an outbox row plus a job (jobs kind "notify.sms").
 *      All of it commits or rolls back with the event that caused it. A dedupe
 *      key, unique in both tables, makes a replayed event a no-op.
 *   2. The sender (notify_send_pending(), run by one worker thread per `isle
 *      serve` node and by `isle notify send-pending`) claims jobs, re-checks the
 *      outbox row is still 'pending', hands it to a transport, then marks it
 *      'sent' and completes the job. The job lease keeps two nodes off the same
 *      row, the status check keeps a row that was sent from being sent again
 *      after a crash between "sent" and "job done". A transport failure retries
 *      with exponential backoff (jobs_fail) and the row turns 'failed' after the
 *      last attempt; a refusal (4xx) fails it at once.
 *   The one window left is a crash after the gateway accepted a message and
 *   before the row was marked sent: the message then goes again. The HTTP
 *   transport sends the outbox id and dedupe key so a gateway can drop it.
 *
 * Templates: data/notify/templates.tsv (name, sms flag, audience, title, body
 * with {placeholders}), read once per process. Rendering fails, naming the
 * placeholder, when a parameter is missing: no message goes out with a hole.
 *
 * Phone numbers are personal data: never written to the log, never in error
 * messages; logs, the log transport and the outbox API show them masked
 * (139****1234). */
#ifndef ISLE_NOTIFY_H
#define ISLE_NOTIFY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "cli.h"
#include "db/db.h"

#define NOTIFY_JOB_KIND      "notify.sms"
#define NOTIFY_NAME_MAX      64   /* bytes of a template name */
#define NOTIFY_DEDUPE_MAX    200  /* bytes of a dedupe key */
#define NOTIFY_LINK_MAX      512  /* bytes of a link */
#define NOTIFY_TEXT_MAX      2000 /* bytes of a rendered title or body */
#define NOTIFY_MAX_ATTEMPTS  20   /* hand-overs to the transport before a row fails */
#define NOTIFY_LEASE_SECONDS 60   /* a claimed job's lease (> the HTTP timeout) */
#define NOTIFY_DEFAULT_SIGN  "【舟山政务服务】"

/* ---- templates ---- */

/** Where the templates are read from: DATA_DIR/notify/templates.tsv. main.c calls it
 *  with the resolved --data-dir before threads start; without it the file is
 *  $ISLE_NOTIFY_TEMPLATES, else $ISLE_DATA_DIR/notify/templates.tsv, else
 *  ./data/notify/templates.tsv, else data/ next to the binary. The string is copied;
 *  the next use reloads. */
void notify_set_data_dir(const char *data_dir);

/** Replace every {name} in text with params' member of that name (a string, integer
 *  or real); "{{" and "}}" give literal braces. *out gets a new string the caller frees.
 *  0, or -1 with e: 400 field "params.NAME" naming a missing (or null, or non-scalar)
 *  parameter, 400 field "template" for a malformed placeholder, 400 field "params" when
 *  the result passes NOTIFY_TEXT_MAX bytes. params may be NULL (then any placeholder is
 *  missing). */
int notify_render_text(const char *text, json_t *params, char **out, err *e);

/** A rendered message. Strings are owned (notify_rendered_free). */
typedef struct notify_rendered {
    char *title;
    char *body;
    int sms; /* the template asks for an SMS too */
} notify_rendered;

/** Render template `name` with params. 0, or -1 with e (404 "template" for an unknown
 *  name, 500 when the template file cannot be read, or notify_render_text's errors). */
int notify_render(const char *name, json_t *params, notify_rendered *out, err *e);
void notify_rendered_free(notify_rendered *r);
/** 1 if a template of that name exists (loading the file if needed), else 0. */
int notify_template_exists(const char *name);

/* ---- sending (inside the caller's transaction) ---- */

/** One message. Strings and params are borrowed for the call. */
typedef struct notify_msg {
    int64_t user_id;           /* recipient account; 0 for a phone without an account */
    const char *phone;         /* explicit phone (5–20 of digits, '+', '-'); overrides the
                                  account's; required when user_id is 0 */
    const char *template_name; /* a name from templates.tsv */
    json_t *params;            /* JSON object with the template's placeholders */
    const char *dedupe_key;    /* required, 1–200 printable bytes: the same key never
                                  gives a second message (e.g. "case:12:accepted:v3") */
    const char *link;          /* optional in-app path starting with '/', e.g. /cases/12 */
    int no_sms;                /* 1: in-app only even if the template sends SMS */
} notify_msg;

/** Send m: an in-app notification to user_id (when > 0), and an SMS through the outbox
 *  when the template says so, the recipient has a phone (explicit or the account's),
 *  the account is not disabled and no_sms is 0. MUST be called inside the caller's
 *  open transaction (db_begin … db_commit); it never begins, commits or rolls back,
 *  and fails with 500 when no transaction is open. On an error the caller rolls back.
 *  Returns 0 when the message was written, 1 when dedupe_key was already used (nothing
 *  written), -1 on error (400 naming the field, 404 no such user/template). *id_out
 *  (may be NULL) gets the notification id (0 when there is no in-app row); for a
 *  duplicate, the earlier one's. */
int notify_send(db *d, const notify_msg *m, int64_t *id_out, err *e);

/** For the applications core, inside its transaction, AFTER it updated the case row:
 *  tell the applicant about the case's new status with the matching template
 *  (submitted → case_submitted, accepted → case_accepted, returned_for_correction →
 *  case_returned, rejected_at_intake → case_rejected, in_review → case_in_review,
 *  approved → case_approved, denied → case_denied, delivered → case_delivered,
 *  withdrawn → case_withdrawn, suspended → case_suspended; "resumed", or a status
 *  whose latest case_events row came from 'suspended', → case_resumed). reason (may
 *  be NULL) fills {reason}. Call it after the case_events row is written. Reads the case
 *  (applicant_id, case_no, item_name, deadline_at, version); the dedupe key is
 *  "case:ID:STATUS:vVERSION", the link /cases/ID. "draft" sends nothing. 0, or -1 with
 *  e (404 no such case, 400 field "status" for an unknown status). */
int notify_case_status(db *d, int64_t case_id, const char *new_status, const char *reason, err *e);

/** Inside the caller's transaction: tell the case's assignee, or when it has none the
 *  department's staff (notify_department_staff), that the case is overdue (template
 *  case_overdue). Once per case and deadline (dedupe "case:ID:overdue:DEADLINE").
 *  *sent_out (may be NULL) gets the number of new messages. 0 or -1. */
int notify_case_overdue(db *d, int64_t case_id, int *sent_out, err *e);

/** Inside the caller's transaction: send template to every active user with role staff
 *  or approver whose department is `department`, or, when there is none, to every
 *  active staff user (at most 200). Each gets dedupe key "PREFIX:uUSER_ID". *sent_out
 *  (may be NULL) gets the number of new messages. 0 or -1. */
int notify_department_staff(db *d, const char *department, const char *template_name,
                            json_t *params, const char *dedupe_prefix, const char *link,
                            int *sent_out, err *e);

/** Mask a phone for logs and lists: first 3 and last 4 kept, "139****1234"; shorter
 *  than 8 characters → "****". Writes into out (≥ 32 bytes) and returns it. */
char *notify_mask_phone(const char *phone, char *out, size_t n);

/* ---- the in-app inbox (each function runs its own short transaction) ---- */

/** The user's notifications, newest first: {"items":[{id, template, title, body, link,
 *  created_at, read_at}], "total", "unread"}. unread_only = 1 keeps unread ones (total
 *  counts those). limit 1–200, offset ≥ 0. Caller owns it; NULL on error. */
json_t *notify_inbox_list(db *d, int64_t user_id, int unread_only, int limit, int offset, err *e);
/** Mark one of the user's notifications read (idempotent: read_at keeps its first
 *  value). 404 when it does not exist or is someone else's. *out (may be NULL) gets
 *  the notification as JSON (caller owns it). Not audited: reading is no state change
 *  of a case. */
int notify_inbox_mark_read(db *d, int64_t user_id, int64_t id, json_t **out, err *e);
/** Mark all the user's unread notifications read; *count_out (may be NULL) gets how many. */
int notify_inbox_mark_all_read(db *d, int64_t user_id, int64_t *count_out, err *e);
/** The number of the user's unread notifications. 0 or -1. */
int notify_inbox_unread(db *d, int64_t user_id, int64_t *count_out, err *e);

/* ---- the outbox (operators) ---- */

/** Outbox rows newest first, phone masked: {"items":[{id, notification_id, channel,
 *  template, phone, body, status, attempts, last_error, dedupe_key, created_at, sent_at,
 *  provider_id}], "total", "counts":{"pending","sent","failed"}}. status NULL = any,
 *  else pending|sent|failed (400 otherwise). limit 1–500. Caller owns it. */
json_t *notify_outbox_list(db *d, const char *status, int limit, int offset, err *e);

/* ---- transports ---- */

/** One SMS handed to a transport. Borrowed for the call. */
typedef struct notify_sms {
    int64_t outbox_id;
    const char *phone; /* in clear: only the transport sees it */
    const char *body;
    const char *template_name;
    const char *dedupe_key;
} notify_sms;

enum notify_send_result {
    NOTIFY_SENT = 0,      /* the gateway took it */
    NOTIFY_RETRY = 1,     /* temporary: timeout, 5xx, 429 … try again later */
    NOTIFY_PERMANENT = 2, /* refused for good (4xx): retrying cannot help */
};

/** A way to hand an SMS over. send() may be called from several threads at once, so
 *  implementations keep no unlocked shared state. It fills provider_id (may be left
 *  "") and, on failure, why (no phone number in it). */
typedef struct notify_transport notify_transport;
struct notify_transport {
    const char *name; /* "log", "http", or a test's */
    enum notify_send_result (*send)(notify_transport *t, const notify_sms *sms, char *provider_id,
                                    size_t provider_id_n, char *why, size_t why_n);
    void (*destroy)(notify_transport *t); /* frees t; NULL for a caller-owned transport */
    void *ctx;
};

/** The "log" transport: appends one line per SMS to path (created 0600 at the first
 *  SMS): "TIME<TAB>OUTBOX_ID<TAB>MASKED_PHONE<TAB>DEDUPE_KEY<TAB>BODY" (tabs and line
 *  breaks in the body become spaces), one write(2) per line with O_APPEND, so several
 *  processes may share the file. A write that fails is a retry. NULL with e for an
 *  empty or overlong path. */
notify_transport *notify_transport_log_new(const char *path, err *e);
/** The "http" transport: POST to url (http:// or https://) a JSON body {"id": outbox
 *  id, "dedupe_key", "template", "phone", "text"} with Content-Type application/json;
 *  when secret is non-empty, X-Isle-Timestamp (unix seconds) and X-Isle-Signature
 *  ("sha256=" + hex HMAC-SHA256 over "TIMESTAMP.BODY"). 2xx = sent (a JSON answer's
 *  "id" or "message_id" becomes provider_id); 408, 429, 5xx, timeouts and connection
 *  errors = retry; other 4xx = permanent. timeout_ms 100–60000. libcurl. */
notify_transport *notify_transport_http_new(const char *url, const char *secret, int timeout_ms,
                                            err *e);
/** The transport the environment asks for: ISLE_SMS_TRANSPORT = "log" (default, or
 *  "http" when ISLE_SMS_URL is set); log: ISLE_SMS_LOG, default "<db file>-sms.log" for
 *  SQLite, "./isle-sms.log" for PostgreSQL; http: ISLE_SMS_URL, ISLE_SMS_SECRET,
 *  ISLE_SMS_TIMEOUT_MS (5000). NULL with e on a bad setting. */
notify_transport *notify_transport_from_env(const char *dsn, err *e);
/** Free a transport made by the functions above (NULL is fine). */
void notify_transport_free(notify_transport *t);

/* ---- the sender ---- */

typedef struct notify_send_stats {
    int claimed; /* jobs taken */
    int sent;    /* rows handed over and marked sent */
    int retried; /* temporary failures queued again */
    int failed;  /* rows marked failed (refused, or attempts used up) */
    int skipped; /* jobs whose row was already sent/failed or gone */
} notify_send_stats;

/** Claim and deliver up to max (1–100000) ready "notify.sms" jobs as worker (1–64
 *  printable characters), one at a time, through t. Retry delays grow as base · 2^(n-1)
 *  seconds up to 600 s, base from ISLE_SMS_RETRY_BASE (default 2; 0 = at once). *st
 *  (may be NULL) gets the counts. 0, or -1 with e on a database error (claimed jobs
 *  then come back when their lease ends). */
int notify_send_pending(db *d, notify_transport *t, const char *worker, int max,
                        notify_send_stats *st, err *e);

/** Start this node's sender thread: its own connection to dsn, the transport from
 *  notify_transport_from_env(), a pass every ISLE_NOTIFY_POLL_MS milliseconds (default
 *  1000, 50–60000). ISLE_NOTIFY_WORKER=0 starts nothing (0 returned). A second start is
 *  refused. 0, or -1 with e (bad transport setting, cannot connect). */
int notify_worker_start(const char *dsn, err *e);
/** Wake the sender for an immediate pass (e.g. after a commit that queued SMS). Safe
 *  from any thread; a no-op when no worker runs. */
void notify_worker_wake(void);
/** Stop the sender thread (finishes the message in hand) and free it. No-op if none. */
void notify_worker_stop(void);

/** `isle notify …` (argv[0] = "notify"): send-pending [--max N] [--worker NAME],
 *  list [--status S] [--limit N], render NAME [--params JSON]. Exit 0/1/2. */
int notify_cli(const cli_env *env, int argc, char **argv);

#endif
