/* opening: the remote opening hall (不见面开标) of a tender.
 *
 * The host (trading staff) drives the hall through its steps; each bidder takes
 * part from its own office; anyone may watch. The hall's status (openings.status):
 *
 *   waiting ──start──▶ signin ──begin_decrypt──▶ decrypting ──close_decrypt──▶ announced
 *     ──open_objections──▶ objections ──begin_confirm──▶ confirming ──close──▶ closed
 *
 *   start            host; the tender is announced and its deadline has passed:
 *                    tender → opening, the hall opens to watchers
 *   signin           a bidder whose company has a current sealed bid (one per company)
 *   begin_decrypt    host; decrypt_until = now + minutes (default 30, 1..120)
 *   reveal           a signed-in bidder, inside the window: the plaintext it decrypted
 *                    locally with its own key (the key never reaches the server); the
 *                    server checks it against the signed commitment (bids_reveal_tx)
 *                    and announces it (唱标, event bid_opened). A mismatch is a 422 and
 *                    the bid stays sealed: the bidder may try again until the window ends
 *   backup_reveal    host, with shares of the centre's backup key from ≥ 2 custodians,
 *                    for a bid its bidder could not open through the system's fault
 *                    (电子招标投标办法 art. 31); during decrypting or after close_decrypt
 *   close_decrypt    host; at or after decrypt_until (earlier only when nothing is left
 *                    sealed): every bid still sealed becomes not_decrypted (the
 *                    bidder's fault: counts as withdrawn) unless listed in
 *                    system_fault_bid_ids (kept sealed for backup_reveal). For
 *                    reasonable_low tenders the benchmark factor is drawn (抽取)
 *   open_objections  host; objections_until = now + minutes (default 15, 1..120)
 *   object           a bidder of the tender, inside the window; text ≤ 1000 characters
 *   reply            host; {"objection_id","text"}
 *   begin_confirm    host; after the objection window, every objection answered and
 *                    nothing left for the backup path: the opening record (PDF) is
 *                    built and its SHA-256 fixed
 *   confirm          a signed-in bidder: its certificate's signature over
 *                    "isle-opening-confirm:v1:<tender_no>:<record sha256>"
 *   close            host; the record's SHA-256 is signed with the server's Ed25519
 *                    key; the tender moves to evaluation, or to failed (流标) when
 *                    fewer than TRADE_MIN_VALID_BIDS bids were opened
 *
 * An action out of order is a 409 "wrong_step" naming the current step; an action of
 * the wrong party is a 403. Every action is one transaction with an audit row
 * ("opening.<action>") and one or more hall events (trade_event_append), published
 * on SSE topic tender.<id> after the commit. */
#ifndef ISLE_TRADE_OPENING_H
#define ISLE_TRADE_OPENING_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "trade/trade.h"

#define OPENING_OBJECTION_MAX     1000               /* characters of an objection or reply */
#define OPENING_REASON_MAX        500                /* bytes of a backup reason */
#define OPENING_PLAIN_MAX         (48 * 1024 * 1024) /* bytes of a bid plaintext */
#define OPENING_DECRYPT_MIN_DEF   30
#define OPENING_OBJECTION_MIN_DEF 15
#define OPENING_WINDOW_MAX        120 /* minutes */
#define OPENING_RECORD_MAX        (16 * 1024 * 1024)

/** Take action on tender_id's hall (see above). in: the action's JSON body (may be
 *  NULL). *out (may be NULL) gets {"status","seq",…action-specific}. 0 or -1 with e. */
int opening_act(db *d, const trade_actor *a, int64_t tender_id, const char *action, json_t *in,
                json_t **out, err *e);

/** The hall as a sees it (a NULL: an anonymous watcher): tender summary, status and
 *  step, countdown targets, signed-in companies, the 唱标 table, objections,
 *  confirmations, the record, the caller's own position and the last event seq.
 *  Before the start nobody sees bidders. NULL with e (404 for drafts). */
json_t *opening_get(db *d, const trade_actor *a, int64_t tender_id, err *e);

/** 0 when a (NULL: anonymous) may see tender_id's hall; -1 with e (404: unknown, or a
 *  draft for anyone but staff). */
int opening_visible(db *d, const trade_actor *a, int64_t tender_id, err *e);

/** The hall's events after seq (catch-up for reconnecting clients). 404 for drafts
 *  (a NULL: anonymous). */
json_t *opening_events(db *d, const trade_actor *a, int64_t tender_id, int64_t after, int limit,
                       err *e);

/** The stored opening record PDF (after begin_confirm), checked against its SHA-256.
 *  *out caller frees; sha (65 bytes) and sig (≥ 160 bytes, "" before close) filled. */
int opening_record_get(db *d, const trade_actor *a, int64_t tender_id, unsigned char **out,
                       size_t *len, char *sha, char *sig, size_t sig_n, err *e);

/** The benchmark factor draw (抽取): uniform over lo..hi in steps of 0.0001, from the
 *  OS CSPRNG (libsodium randombytes_uniform, no modulo bias). */
double opening_draw_factor(double lo, double hi);

/** "isle-opening-confirm:v1:<tender_no>:<sha>" into buf. Returns buf. */
char *opening_confirm_string(const char *tender_no, const char *sha, char *buf, size_t n);
/** "isle-opening-record:v1:<tender_no>:<sha>": what the server's Ed25519 key signs. */
char *opening_record_payload(const char *tender_no, const char *sha, char *buf, size_t n);

/* record.c */
/** Render the opening record of tender t (as it stands in the database: signins,
 *  the 唱标 table, the benchmark factor, objections and replies, the hall's times)
 *  as a PDF. *pdf caller frees. 0 or -1. */
int opening_record_render(db *d, const trade_tender *t, unsigned char **pdf, size_t *len, err *e);

#endif
