/* trade: public resource trading — the shared core of src/trade/.
 *
 * The module is a folder of parts, each a .c/.h pair with its own prefix:
 *
 *   trade.c      this header: kinds, methods, statuses and their labels, money,
 *                the unified social credit code, the actor, loading a tender,
 *                the hall's event log (trade_event_*), file paths
 *   tenders.c    tenders_*: create/edit/announce, notices (clarifications and
 *                amendments that move the deadline), cancel, lists for the public,
 *                companies and their users, deposits
 *   ca.c         ca_*: the CA trust store (统一CA互认), CRLs, certificate
 *                registration and verification (RSA, ECDSA, SM2/SM3), signature
 *                checks, challenge–response certificate login
 *   bids.c       bids_*: sealed bid submission (CMS or SM2 envelope, signed
 *                commitment, server receipt), replacement history, deadline
 *   backup.c     backup_*: the centre's backup key split by Shamir (libgfshare)
 *   opening.c    opening_*: the remote opening hall (不见面开标): sign-in,
 *                decryption window, 唱标, objections, confirmations, signed record
 *   evaluate.c   evaluate_*: expert pool, random draw with avoidance, scoring,
 *                the three methods, outliers, report, publicity, award, contract
 *   auction.c    auction_*: ascending online auction for asset sales
 *   ocds.c       ocds_*: OCDS 1.1.5 release packages (with the bids extension)
 *   demo.c       trade_demo_*: a year of tenders calibrated to the city's scale
 *
 * Conventions (as in the rest of isle): functions return 0 / -1 with err; every
 * state change runs in one transaction with an audit row (object type "tender",
 * "bid", "opening", …); times are UTC ISO-8601 in the database and the API; money
 * is integer fen inside, and the API shows both "…_fen" integers and yuan strings.
 *
 * Secrecy rules every part keeps:
 *   - before the tender's opening, nobody but the submitting company sees that a
 *     bid exists (not staff, not other bidders): lists of bidders appear only
 *     when the hall opens (status opening or later);
 *   - nothing sealed can be read by the server before the opening: the server
 *     stores ciphertext, never a key that opens it alone;
 *   - experts see bidders as 投标人A/B/C… until the evaluation report is signed;
 *   - screening results (src/screen/) never reach bidders. */
#ifndef ISLE_TRADE_H
#define ISLE_TRADE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "base/err.h"
#include "db/db.h"

#define TRADE_TITLE_MAX      200 /* bytes */
#define TRADE_TEXT_MAX       20000
#define TRADE_NAME_MAX       200
#define TRADE_MONEY_MAX_FEN  100000000000000LL /* ¥1万亿 */
#define TRADE_MIN_VALID_BIDS 3                 /* fewer: 流标 */

/* ---- vocabularies (static tables; labels are the UI's Simplified Chinese) ---- */

/** 1 if kind is a tender kind: works, procurement, property, land, emission. */
int trade_kind_valid(const char *kind);
/** "works" → "建设工程"; "" when unknown. */
const char *trade_kind_label(const char *kind);
/** 1 for the asset-sale kinds (property, land, emission), sold by auction. */
int trade_kind_is_sale(const char *kind);
/** 1 if method is one of lowest_price, composite, reasonable_low, auction. */
int trade_method_valid(const char *method);
const char *trade_method_label(const char *method);
/** 1 if status is a tender status (see 026_trade.sql). */
int trade_status_valid(const char *status);
const char *trade_status_label(const char *status);
/** 1 when the tender's bids are public (the hall has opened): status opening,
 *  evaluation, publicity, awarded, contracted, or failed after an opening. */
int trade_status_bids_public(const char *status);

/* ---- money ---- */

/** Parse an amount in yuan, as a JSON number or string ("1234.5", "1,234.50",
 *  "1234.567" is refused: at most 2 decimals) into fen. Refuses negatives, NaN and
 *  amounts above TRADE_MONEY_MAX_FEN. 0, or -1 with e 400 naming field. */
int trade_money_from_json(json_t *v, const char *field, int64_t *fen, err *e);
/** fen → "1234.50" (no grouping). buf ≥ 32 bytes. */
char *trade_money_str(int64_t fen, char *buf, size_t n);
/** fen → "1,234.50万元"-free display: "¥1,234.50". buf ≥ 40 bytes. */
char *trade_money_display(int64_t fen, char *buf, size_t n);

/* ---- the unified social credit code (GB 32100-2015) ---- */

/** 1 if s is an 18-character USCC whose check character is right, else 0. */
int trade_uscc_valid(const char *s);

/* ---- the actor ---- */

typedef struct trade_actor {
    int64_t user_id;    /* 0: the system / CLI operator (acts as trading staff) */
    int role;           /* one ROLE_* bit (auth/roles.h) */
    int64_t company_id; /* the user's company (trade_company_users), 0 if none */
    int64_t expert_id;  /* the user's expert record, 0 if none */
    char name[129];
    audit_actor audit;
} trade_actor;

/** Fill company_id, expert_id and name of an actor whose user_id, role and audit
 *  are set. 0 or -1. */
int trade_actor_load(db *d, trade_actor *a, err *e);
/** 1 for trading staff, admin and the system itself, user_id 0. */
int trade_actor_is_staff(const trade_actor *a);
/** 1 for supervisors (监管), who see everything read-only, and staff. */
int trade_actor_can_supervise(const trade_actor *a);

/* ---- tenders ---- */

/** The columns of a tender every part needs (strings are copies, NUL-terminated). */
typedef struct trade_tender {
    int64_t id;
    char tender_no[40];
    char kind[16];
    char method[20];
    char status[16];
    char title[TRADE_TITLE_MAX + 1];
    char buyer[TRADE_NAME_MAX + 1];
    int64_t budget_fen;  /* 0 when NULL */
    int64_t reserve_fen; /* 0 when NULL */
    int64_t deposit_fen;
    int64_t deadline_at; /* unix seconds */
    int64_t announce_at; /* 0 when NULL */
    int allow_backup, remote_opening, electronic;
    double benchmark_factor; /* 0 when NULL */
    int publicity_days;
    int64_t version;
} trade_tender;

/** Load tender id into *t. 404 "not_found" when there is none. (Visibility of a
 *  draft to non-staff is the caller's check: drafts are 404 for them.) 0 or -1. */
int trade_tender_load(db *d, int64_t id, trade_tender *t, err *e);
/** Same by tender_no. */
int trade_tender_load_no(db *d, const char *tender_no, trade_tender *t, err *e);
/** Move the tender from status `from` to `to` (conditional UPDATE on status and
 *  version: 409 field "status" when it moved meanwhile), bumping version and
 *  updated_at, with an audit row "tender.<to>". Inside a transaction. 0 or -1. */
int trade_tender_set_status(db *d, const trade_actor *a, trade_tender *t, const char *to, err *e);

/** The company of a user, 0 when none (or on error). */
int64_t trade_company_of_user(db *d, int64_t user_id);

/* ---- the hall's event log (opening_events) and live push ---- */

/** Append an event to tender_id's log with the next seq, inside the caller's
 *  transaction; *seq_out (may be NULL) gets the seq. data is not stolen. The event
 *  is remembered and published on SSE topic "tender.<id>" by trade_event_flush()
 *  after the commit. 0 or -1. */
int trade_event_append(db *d, int64_t tender_id, const char *kind, json_t *data, int64_t *seq_out,
                       err *e);
/** Publish the events appended on this thread since the last flush (call after a
 *  successful commit), or forget them (after a rollback: trade_event_discard). */
void trade_event_flush(void);
void trade_event_discard(void);
/** Events of tender_id with seq > after, oldest first, at most limit (≤ 1000), as
 *  {"items":[{"seq","kind","data","at"}…],"last_seq":N}. Caller owns it. */
json_t *trade_events_since(db *d, int64_t tender_id, int64_t after, int limit, err *e);

/** Publish hook: the API layer points it at the SSE hub (topic, event, data). NULL:
 *  nothing is published (CLI, unit tests). */
typedef void (*trade_publish_fn)(const char *topic, const char *event, const char *data_json);
void trade_set_publish_hook(trade_publish_fn fn);

/* ---- files ---- */

/** Directory for trade files under the files directory (files_dir()/sub, made on
 *  demand): "bids" for envelopes and plaintexts, "openings" for records. buf gets
 *  the path. 0 or -1. */
int trade_dir(const char *sub, char *buf, size_t n, err *e);

#endif
