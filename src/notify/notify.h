/* notify: messages to people — the in-app inbox (站内信) and SMS through a
 * transactional outbox, shared by applications (一网通办), 好差评 and the island
 * services (帮办代办 dispatch).
 *
 * Sending is two halves:
 *   1. notify_send(), called INSIDE the caller's transaction (it never begins or
 *      commits one, and refuses to run outside one): renders the template, writes
 *      the in-app row (notifications), and when the template sends SMS, the
 *      recipient has a phone and has not opted out, an outbox row (status
 *      'pending', due now). All of it commits or rolls back with the event that
 *      caused it. A dedupe key, unique in both tables, makes a replayed event a
 *      no-op.
 *   2. The sender (notify_send_pending(), run by one worker thread per `isle
 *      serve` node and by `isle notify send-pending`) works on the outbox rows
 *      themselves, in batches (sender.c tells the order of writes):
 *        claim   one transaction takes up to ISLE_SMS_BATCH due rows: it applies
 *                the opt-outs (a non-essential row of an opted-out recipient turns
 *                'suppressed'), the per-recipient limit (rows over it are given a
 *                later run_after: delayed, never dropped) and the global rate
 *                limit (a token bucket in sms_rate shared by all nodes), and
 *                leases the rest (run_after = end of the lease, locked_by);
 *        send    the batch goes to the transport outside any transaction (the
 *                http transport runs up to ISLE_SMS_CONCURRENCY requests at once
 *                over kept-alive connections);
 *        record  one transaction writes every outcome: 'sent' (provider id kept),
 *                a retry later with exponential backoff, or 'failed' (refused, or
 *                attempts used up).
 *      The lease keeps two nodes off the same row; the "status = 'pending'"
 *      condition on every outcome keeps a row that was sent from being marked
 *      again. A row whose lease ran out (its sender died) is due again.
 *   The one window left is a crash after the gateway accepted a message and
 *   before its outcome was recorded: the message then goes again. The HTTP
 *   transport sends the outbox id and dedupe key so a gateway can drop it.
 *
 * Limits (environment of each node; see notify_limits_from_env): at most
 * ISLE_SMS_PER_PHONE (5) messages to one phone per ISLE_SMS_PHONE_WINDOW (600)
 * seconds, counted over rows handed to the gateway in the window, whatever node
 * sent them; at most ISLE_SMS_RATE (500) messages a second over all nodes.
 *
 * Opt-out policy: every template says in data/notify/templates.tsv whether it
 * sends SMS and whether that SMS is essential (the resident's own application
 * or proof changing status, work handed to staff and agents). A user may turn
 * non-essential SMS off (notify_settings_set, /api/v1/me/notification-settings);
 * a phone that replies TD/退订 through the gateway's inbound callback gets no
 * non-essential SMS whoever it belongs to, until its account holder turns
 * them back on. Essential SMS are always sent; the in-app inbox always gets
 * everything. Opt-outs are checked when the message is written and again when it
 * is claimed, so one that arrives while a message waits still stops it.
 *
 * Delivery receipts: the gateway reports delivered/failed per message (by
 * outbox id or its own id) to POST /api/v1/sms/receipts, signed like the http
 * transport's requests (base/hmac.h, ISLE_SMS_SECRET); the first receipt of a
 * row is kept, a repeat changes nothing.
 *
 * Templates: data/notify/templates.tsv (name, sms 0|1|essential, audience, title,
 * body with {placeholders}), read once per process. Rendering fails, naming the
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

#include "audit/audit.h"
#include "base/err.h"
#include "cli.h"
#include "db/db.h"

#define NOTIFY_NAME_MAX      64   /* bytes of a template name */
#define NOTIFY_DEDUPE_MAX    200  /* bytes of a dedupe key */
#define NOTIFY_LINK_MAX      512  /* bytes of a link */
#define NOTIFY_TEXT_MAX      2000 /* bytes of a rendered title or body */
#define NOTIFY_MAX_ATTEMPTS  20   /* claims of a row before it fails */
#define NOTIFY_LEASE_SECONDS 60   /* shortest lease of a claimed batch (see sender.c) */
#define NOTIFY_BATCH_MAX     1000 /* rows one claim may take */
#define NOTIFY_RECEIPTS_MAX  1000 /* receipts in one callback */
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
    int sms;       /* the template asks for an SMS too */
    int essential; /* … and that SMS goes even to those who turned non-essential SMS off */
} notify_rendered;

/** Render template `name` with params. 0, or -1 with e (404 "template" for an unknown
 *  name, 500 when the template file cannot be read, or notify_render_text's errors). */
int notify_render(const char *name, json_t *params, notify_rendered *out, err *e);
void notify_rendered_free(notify_rendered *r);
/** 1 if a template of that name exists (loading the file if needed), else 0. */
int notify_template_exists(const char *name);
/** Every template as [{name, title, sms: "none"|"optional"|"essential"}] in file order
 *  (for the settings page). Caller owns it; NULL with e when the file is unusable. */
json_t *notify_templates_json(err *e);

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
 *  the account is not disabled, no_sms is 0, and — unless the template's SMS is
 *  essential — neither the account turned non-essential SMS off nor the phone
 *  replied TD. The phone is stored normalised (notify_phone_normalize). MUST be called inside the
 * caller's open transaction (db_begin … db_commit); it never begins, commits or rolls back, and
 * fails with 500 when no transaction is open. On an error the caller rolls back. Returns 0 when the
 * message was written, 1 when dedupe_key was already used (nothing written), -1 on error (400
 * naming the field, 404 no such user/template). *id_out (may be NULL) gets the notification id (0
 * when there is no in-app row); for a duplicate, the earlier one's. */
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

/** One spelling per number, so limits and opt-outs match however it was written:
 *  spaces and '-' dropped, a mainland mobile's +86 / 0086 / 86 prefix dropped
 *  ("+86 139-0580-1234" → "13905801234"); other numbers keep a leading '+'. 0, or -1
 *  (400 field "phone") unless 5–20 digits remain. out ≥ 32 bytes. */
int notify_phone_normalize(const char *in, char *out, size_t n, err *e);

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
 *  template, phone, body, status, essential, attempts, last_error, dedupe_key,
 *  created_at, run_after, sent_at, provider_id, receipt_status, receipt_at,
 *  receipt_error}], "total", "counts":{"pending","sent","failed","suppressed"}}. status
 *  NULL = any, else one of those four (400 field "status" otherwise). limit 1–500.
 *  Caller owns it. */
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

/** The outcome of one message of a batch. */
typedef struct notify_outcome {
    enum notify_send_result result;
    char provider_id[160]; /* the gateway's id ("" when none) */
    char why[256];         /* on failure: why, with no phone number in it */
} notify_outcome;

/** A way to hand an SMS over. send() and send_batch() may be called from several
 *  threads at once, so implementations keep no unlocked shared state. send() fills
 *  provider_id (may be left "") and, on failure, why (no phone number in it). */
typedef struct notify_transport notify_transport;
struct notify_transport {
    const char *name; /* "log", "http", or a test's */
    enum notify_send_result (*send)(notify_transport *t, const notify_sms *sms, char *provider_id,
                                    size_t provider_id_n, char *why, size_t why_n);
    /** Optional: hand over n messages, as many at once as the transport likes, and fill
     *  out[0..n) in the same order. NULL: the sender calls send() for each. */
    void (*send_batch)(notify_transport *t, const notify_sms *sms, size_t n, notify_outcome *out);
    void (*destroy)(notify_transport *t); /* frees t; NULL for a caller-owned transport */
    void *ctx;
    int timeout_ms;  /* the longest one call may take; 0 = short (local) */
    int concurrency; /* calls send_batch keeps in flight at once; 0 = 1 */
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
 *  ("sha256=" + hex HMAC-SHA256 over "TIMESTAMP.BODY", base/hmac.h). 2xx = sent (a JSON
 *  answer's "id" or "message_id" becomes provider_id); 408, 429, 5xx, timeouts and
 *  connection errors = retry; other 4xx = permanent. timeout_ms 100–60000; concurrency
 *  1–256 requests in flight in send_batch (libcurl multi). Connections are kept alive
 *  between calls. */
notify_transport *notify_transport_http_new(const char *url, const char *secret, int timeout_ms,
                                            int concurrency, err *e);
/** The transport the environment asks for: ISLE_SMS_TRANSPORT = "log" (default, or
 *  "http" when ISLE_SMS_URL is set); log: ISLE_SMS_LOG, default "<db file>-sms.log" for
 *  SQLite, "./isle-sms.log" for PostgreSQL; http: ISLE_SMS_URL, ISLE_SMS_SECRET,
 *  ISLE_SMS_TIMEOUT_MS (5000), ISLE_SMS_CONCURRENCY (32). NULL with e on a bad
 *  setting. */
notify_transport *notify_transport_from_env(const char *dsn, err *e);
/** Free a transport made by the functions above (NULL is fine). */
void notify_transport_free(notify_transport *t);

/* ---- the sender ---- */

/** The sender's limits. */
typedef struct notify_limits {
    int per_phone;      /* messages to one phone per window (ISLE_SMS_PER_PHONE, 5; 0 = off) */
    int window_seconds; /* ISLE_SMS_PHONE_WINDOW, 600 */
    double rate;        /* messages a second over all nodes (ISLE_SMS_RATE, 500; 0 = off) */
    int batch;          /* rows per claim (ISLE_SMS_BATCH, 200, 1–NOTIFY_BATCH_MAX) */
    int retry_base;     /* first retry delay in seconds (ISLE_SMS_RETRY_BASE, 2; 0 = at once) */
} notify_limits;

/** The limits from the environment (defaults above). 0, or -1 with e naming the
 *  variable that is not a number in its range (per phone 0–1000, window 1–86400, rate
 *  0–1000000, batch 1–NOTIFY_BATCH_MAX, retry base 0–600). */
int notify_limits_from_env(notify_limits *out, err *e);

/** The global limit's token bucket: refill *tokens by rate a second since *updated_ms
 *  (up to burst; a clock that went back refills nothing), then take up to want whole
 *  tokens. Returns how many were taken; *tokens and *updated_ms are updated. */
int notify_rate_take(double *tokens, int64_t *updated_ms, int64_t now_ms, double rate, double burst,
                     int want);

typedef struct notify_send_stats {
    int claimed;    /* rows leased and handed to the transport */
    int sent;       /* … and marked sent */
    int retried;    /* temporary failures, due again later */
    int failed;     /* rows marked failed (refused, or attempts used up) */
    int deferred;   /* rows held back by the per-recipient limit (due later) */
    int suppressed; /* non-essential rows of recipients who opted out */
    int rate_waits; /* times the global limit made the sender wait */
} notify_send_stats;

/** Deliver due outbox rows through t as worker (1–64 printable characters): claim a
 *  batch, send it, record the outcomes, again, until no row is due or max (1–10000000)
 *  rows were claimed. Waits (sleeps) when the global rate limit has no token left.
 *  Limits from notify_limits_from_env(). *st (may be NULL) gets the counts. 0, or -1
 *  with e on a database error or a bad limit setting (claimed rows then come back when
 *  their lease ends). */
int notify_send_pending(db *d, notify_transport *t, const char *worker, int max,
                        notify_send_stats *st, err *e);

/* ---- callbacks from the gateway, and the user's settings ---- */

/** Check a gateway callback's signature (base/hmac.h) with ISLE_SMS_SECRET: 0, or -1
 *  with e (401 naming the header, 503 when no secret is configured). */
int notify_callback_verify(const char *timestamp, const char *signature, const void *body,
                           size_t len, err *e);

/** Apply delivery receipts, in one transaction. body: one receipt {"id": outbox id
 *  and/or "provider_id", "status": "delivered"|"failed", "error": optional text ≤ 200}
 *  or {"receipts": [receipt, …]} (1–NOTIFY_RECEIPTS_MAX). The first receipt of a row is
 *  stored (receipt_status, receipt_at, receipt_error); a repeat is "duplicate", a
 *  different status afterwards "ignored". One receipt: {"id", "result":
 *  "recorded"|"duplicate"|"ignored", "receipt_status"}, 404 when no row matches. A
 *  list: {"results":[{"index","id","result"}], "recorded", "duplicate", "ignored",
 *  "not_found"} (result "not_found" per row). 400 names the field ("receipts[3].status").
 *  Caller owns the result; NULL with e. */
json_t *notify_receipts_apply(db *d, json_t *body, err *e);

/** An SMS a phone sent back through the gateway: {"phone", "text", "id": optional
 *  gateway message id}. A text of TD, T, 退订, STOP or UNSUBSCRIBE (any case,
 *  full-width letters too, spaces ignored) opts the phone out of non-essential SMS
 *  (sms_optouts, audited); anything else is ignored. {"action":
 *  "opted_out"|"already_opted_out"|"none"}. 400 naming the field. Caller owns it. */
json_t *notify_inbound_apply(db *d, const audit_actor *actor, json_t *body, err *e);

/** The user's notification settings: {"sms_optional": bool (non-essential SMS on),
 *  "phone": masked or null, "phone_opted_out": bool (the phone replied TD),
 *  "templates": notify_templates_json()}. 404 no such user. Caller owns it. */
json_t *notify_settings_get(db *d, int64_t user_id, err *e);

/** Turn the user's non-essential SMS on (1) or off (0), audited, in one transaction.
 *  Turning them on also lifts a TD opt-out of the account's phone (the holder has said
 *  yes again). *out (may be NULL) gets notify_settings_get()'s answer. 0 or -1. */
int notify_settings_set(db *d, const audit_actor *actor, int64_t user_id, int sms_optional,
                        json_t **out, err *e);

/** Start this node's sender thread: its own connection to dsn, the transport from
 *  notify_transport_from_env(), the limits from notify_limits_from_env(), a pass every
 *  ISLE_NOTIFY_POLL_MS milliseconds (default 1000, 50–60000) or at once when woken.
 *  ISLE_NOTIFY_WORKER=0 starts nothing (0 returned). A second start is refused. 0, or
 *  -1 with e (bad transport or limit setting, cannot connect). */
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
