/* screen/platform: 防围串标 inside the platform — the screening engine of screen.h
 * run over the trading module's own records, and the supervisors' work on what it
 * finds (036_screen.sql).
 *
 *   runs      after each opening (the watcher screens every tender whose bids were
 *             opened and that has no screening yet, within a minute) and nightly
 *             over every opened tender (after 02:00 Shanghai, once a day), or by
 *             hand (`isle screen run`). A tender's bids are read with the traces
 *             the trading module recorded: upload IP, machine fingerprint, the
 *             certificate's key, the technical document's hash and author, the
 *             deposit's paying account, the project manager.
 *   alerts    one row per tender (the latest screening): score, the model's price
 *             probability, reasons, and the evidence — the price screens and what
 *             drove the score, price patterns, each trace with the article of
 *             招标投标法实施条例 art. 40 it supports, every pair of bids sharing a
 *             document, and the bidders' co-bidding network across all tenders.
 *             Flagged ones enter the queue (status new); triage: dismiss (with a
 *             reason), watch, or 立案 (open a case). Later runs refresh the evidence
 *             but never undo a triage.
 *   cases     立案: gather alerts, notes, evidence and decisions, close with a
 *             decision, export a PDF dossier.
 *
 * Only supervisors and admins see any of it (the API checks); bidders never do.
 * Every state change is audited in its transaction. */
#ifndef ISLE_SCREEN_PLATFORM_H
#define ISLE_SCREEN_PLATFORM_H

#include <jansson.h>
#include <stdint.h>

#include "audit/audit.h"
#include "base/err.h"
#include "db/db.h"

#define SCREEN_NOTE_MAX  4000 /* bytes of a note, reason or decision */
#define SCREEN_RUN_BATCH 50   /* tenders screened per watcher pass after openings */
#define SCREEN_MAX_BIDS  2000 /* bids read for one tender */

/** Where the shipped model lives: DATA_DIR/screen/model.json. */
void screen_platform_set_data_dir(const char *dir);

typedef struct screen_run_counts {
    int64_t run_id;
    int tenders, flagged, new_alerts;
} screen_run_counts;

/** Screen tender_id (kind "opening" or "manual"), or every tender with opened bids
 *  (kind "nightly", tender_id 0). 0, or -1 with e. */
int screen_platform_run(db *d, const char *kind, int64_t tender_id, int64_t now,
                        screen_run_counts *out, err *e);
/** The watcher's pass: tenders opened and not yet screened (SCREEN_RUN_BATCH at a
 *  time), and the nightly run when it is due. */
int screen_platform_tick(db *d, int64_t now, char *summary, size_t n, err *e);

/** The queue: {"items":[{id, tender:{id, tender_no, title, kind, kind_label}, score,
 *  price_score, flag, reasons, status, status_label, case_id, updated_at}], "total"}.
 *  status: new|watch|dismissed|case|clear|open (new+watch, the default)|all. */
json_t *screen_alerts_list(db *d, const char *status, int limit, int offset, err *e);
/** One alert with its evidence and the tender. 404 when there is none. */
json_t *screen_alert_get(db *d, int64_t id, err *e);
/** Triage: action dismiss (reason required) | watch | open_case (立案; title optional,
 *  reason becomes the first note) | reopen (back to new). version: the alert's
 *  version (409 when stale; 0 skips the check). *case_id gets the case for open_case.
 *  400 action/reason, 404, 409 status. */
int screen_alert_triage(db *d, const audit_actor *a, int64_t id, const char *action,
                        const char *reason, const char *title, int64_t version, int64_t *case_id,
                        err *e);

/** Cases: list {"items":[{id, case_no, title, status, opened_at, alerts}], "total"}. */
json_t *screen_cases_list(db *d, const char *status, int limit, int offset, err *e);
/** One case: its alerts (with their evidence summaries) and entries. */
json_t *screen_case_get(db *d, int64_t id, err *e);
/** Add a note, evidence or decision entry (≤ SCREEN_NOTE_MAX bytes). 409 when closed. */
int screen_case_add(db *d, const audit_actor *a, int64_t id, const char *kind, const char *text,
                    err *e);
/** Attach another alert to an open case (the alert moves to status case). */
int screen_case_attach(db *d, const audit_actor *a, int64_t id, int64_t alert_id, err *e);
/** Close with a decision (required). 409 when already closed. */
int screen_case_close(db *d, const audit_actor *a, int64_t id, const char *decision, err *e);
/** The case's dossier as a PDF (*out malloc'd). */
int screen_case_pdf(db *d, int64_t id, unsigned char **out, size_t *len, err *e);

/** `isle screen run [--tender NO] [--json]` and `isle screen alerts [--status S] [--json]`
 *  (argv[0] = "screen"). */
#include "cli.h"
int screen_platform_cli(const cli_env *env, int argc, char **argv);

/** Start/stop the watcher thread of `isle serve` (ISLE_SCREEN_SCAN_MS, default
 *  60000; 0 = off). */
int screen_watch_start(const char *dsn, err *e);
void screen_watch_stop(void);

#endif
