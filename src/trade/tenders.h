/* tenders: tenders, their public notices, companies and deposits (src/trade/).
 *
 * A tender (招标/采购/出让项目) is created as a draft by trading staff, edited while
 * a draft, announced (公告: from then on public, bids and deposits accepted until
 * deadline_at, which is also the opening time), clarified or amended by notices (an
 * amendment may move the deadline), and cancelled with a reason in any state before
 * the award. The hall (opening.c), evaluation and auctions move it further; a
 * failure (流标) goes through tenders_fail() so every part writes the same notice.
 *
 * Rules kept here (the law they come from):
 *   - kinds and methods: works/procurement use lowest_price | composite |
 *     reasonable_low with a budget (最高限价); the asset-sale kinds (国有产权, 土地出让,
 *     排污权) are sold by auction from a reserve price (起拍价);
 *   - the deposit of works/procurement is at most 2% of the budget (招标投标法实施条例
 *     art. 26, 政府采购法实施条例 art. 33);
 *   - the bidding period from announcement to deadline is at least 20 days for
 *     works/procurement (招标投标法 art. 24; 政府采购 公开招标) and 10 days for sales;
 *   - a clarification or amendment published less than 15 days before the deadline
 *     moves the deadline to at least 15 days after its publication (招标投标法 art. 23).
 *   Both periods are scaled by the environment variable ISLE_TRADE_MIN_NOTICE_DAYS
 *   (an integer 0..60; tests and demos set 0): it replaces the 20/10-day minimum,
 *   and the 15-day rule uses min(15, that value).
 *
 * Visibility: the public (anyone, logged in or not) sees tenders once announced —
 * never a draft (404) — and never personal data (phones, people's names; company
 * names are public). Staff see everything; supervisors read everything, change
 * nothing. Deposits reveal who intends to bid, so before the deadline only the
 * paying company sees its own; staff and supervisors see them all after it.
 *
 * Every write is one transaction with its audit row (object type "tender",
 * "company", "deposit"); status moves go through trade_tender_set_status(). */
#ifndef ISLE_TENDERS_H
#define ISLE_TENDERS_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"
#include "cli.h"
#include "db/db.h"
#include "trade/trade.h"

#define TENDERS_LOTS_MAX         50
#define TENDERS_FILES_MAX        20 /* files attached to one notice */
#define TENDERS_REASON_MAX       1000
#define TENDERS_DEFAULT_LIMIT    20
#define TENDERS_MAX_LIMIT        100
#define TENDERS_WORKS_NOTICE     20 /* days, announcement → deadline (works, procurement) */
#define TENDERS_SALE_NOTICE      10 /* days (property, land, emission) */
#define TENDERS_AMEND_NOTICE     15 /* days, a late clarification/amendment → deadline */
#define TENDERS_DEPOSIT_PERMILLE 20 /* 2% of the budget at most (works, procurement) */
/** The warning of a 流标 for too few bids (the system's wording). */
#define TENDERS_FAIL_FEW_BIDS "有效投标人不足3家，依法流标"

/** The minimum days between announcement and deadline for kind, after the
 *  ISLE_TRADE_MIN_NOTICE_DAYS override. */
int tenders_min_notice_days(const char *kind);
/** The days a late clarification/amendment must leave before the deadline:
 *  min(15, ISLE_TRADE_MIN_NOTICE_DAYS) when set, else 15. */
int tenders_min_amend_days(void);

/* ---- tenders ---- */

/** Create a draft from JSON (staff only):
 *    {"kind","title","buyer","agency","town_code","budget","reserve","deposit" (yuan),
 *     "method","method_params":{price_weight,tech_weight | factor_min,factor_max |
 *     increment (yuan), extend_seconds},"qualification","description",
 *     "lots":[{"name","budget"}],"questions_until","deadline_at","evaluation_at"
 *     (ISO-8601 with Z or an offset),"publicity_days","allow_backup","remote_opening",
 *     "electronic"}
 *  The tender_no (ZS-GC/ZC/CQ/TD/PW-YYYY-NNNN) is assigned. *id gets the id. 0 or -1
 *  (400 naming the field, 403 for non-staff). */
int tenders_create(db *d, const trade_actor *a, json_t *in, int64_t *id, err *e);
/** Change a draft: the fields of in replace those stored (same rules as create; the
 *  kind cannot change). An optional "version" must match (409 otherwise). */
int tenders_update(db *d, const trade_actor *a, int64_t id, json_t *in, err *e);
/** draft → announced: announce_at = now, the minimum bidding period checked, the
 *  announcement notice written. in (may be NULL): {"body","files":[file ids]}. */
int tenders_announce(db *d, const trade_actor *a, int64_t id, json_t *in, err *e);
/** Publish a clarification or amendment while announced and before the deadline:
 *  {"kind":"clarification"|"amendment","title","body","new_deadline_at","files"}.
 *  Only an amendment may carry new_deadline_at (later than the current one); the
 *  15-day rule may require it (422 field new_deadline_at). evaluation_at moves with
 *  the deadline. *notice_id (may be NULL) gets the notice's id. */
int tenders_notice(db *d, const trade_actor *a, int64_t id, json_t *in, int64_t *notice_id, err *e);
/** Cancel (终止) with a reason, in any state before the award (staff). */
int tenders_cancel(db *d, const trade_actor *a, int64_t id, const char *reason, err *e);
/** 流标: move t (status announced, opening, evaluation, publicity or auction) to
 *  failed with failed_reason = reason (NULL or "": TENDERS_FAIL_FEW_BIDS) and a
 *  'failed' notice. Runs inside the caller's transaction when one is open (the hall,
 *  auctions), else in its own. t is updated. */
int tenders_fail(db *d, const trade_actor *a, trade_tender *t, const char *reason, err *e);

/** One tender for the caller: every column the caller may see, labels, money as *_fen
 *  and yuan strings, lots, method_params, notices (with files), the status timeline,
 *  links (hall, auction), what the caller may do ("can") and, for a bidder's company,
 *  its own deposit ("my_deposit"). Drafts are 404 unless staff/supervisor. Caller
 *  owns the result; NULL with e on error. */
json_t *tenders_get(db *d, const trade_actor *a, int64_t id, err *e);
/** The notices of a tender, oldest first: {"items":[…]}. Same visibility as get. */
json_t *tenders_notices(db *d, const trade_actor *a, int64_t id, err *e);
/** The stored path, name and type of a file attached to one of the tender's notices
 *  (for download; 404 when the file is not one of them). path ≥ 600, name ≥ 256,
 *  type ≥ 128 bytes. */
int tenders_file(db *d, const trade_actor *a, int64_t id, int64_t file_id, char *path,
                 size_t path_n, char *name, size_t name_n, char *type, size_t type_n, err *e);

typedef struct tenders_filter {
    const char *kind;   /* NULL or "": any */
    const char *status; /* NULL or "": any the phase allows */
    const char *q;      /* keyword in title, tender_no, buyer */
    const char *phase;  /* "open" (announced…auction), "results" (awarded, contracted,
                           failed), "closed" (results + cancelled) or NULL/"": all */
    int mine;           /* 1: tenders the caller's company has a deposit or bid in */
    int64_t limit, offset;
} tenders_filter;

/** Tenders for the caller: {"items":[…],"total","limit","offset"}; the public sees
 *  announced and later, staff/supervisors everything. Result rows carry the award
 *  (company name, amount), savings_rate = (budget − award)/budget for works and
 *  procurement, premium_rate = (deal − reserve)/reserve for sales. *out is the
 *  caller's. 0 or -1 (400 naming a bad filter). */
int tenders_list(db *d, const trade_actor *a, const tenders_filter *f, json_t **out, err *e);

/* ---- companies ---- */

/** Register the caller's company (role bidder or company): {"uscc","name","legal_rep",
 *  "address","phone"} and link the caller to it. 409 field "uscc" when the code is
 *  taken, 409 field "user" when the caller already has a company. */
int tenders_company_register(db *d, const trade_actor *a, json_t *in, int64_t *company_id, err *e);
/** The caller's company with its phone and address (404 when none). */
json_t *tenders_company_me(db *d, const trade_actor *a, err *e);
/** Companies for staff/supervisors: {"items","total"}; q matches name or uscc. */
json_t *tenders_company_list(db *d, const trade_actor *a, const char *q, int64_t limit,
                             int64_t offset, err *e);

/* ---- deposits (保证金) ---- */

/** Record a deposit for tender id: {"amount" (yuan),"account_no","account_name","bank"}
 *  by the bidder's company, or by staff with "company_id". Only while announced and
 *  before the deadline; at least the required deposit; one per company (409). */
int tenders_deposit_pay(db *d, const trade_actor *a, int64_t id, json_t *in, int64_t *deposit_id,
                        err *e);
/** Deposits of a tender: staff/supervisors after the deadline see all; a bidder's
 *  company only its own, at any time. {"items":[…]}. */
json_t *tenders_deposits(db *d, const trade_actor *a, int64_t id, err *e);
/** The deposit of company_id on tender id: *deposit_id = 0 when none, *amount_fen
 *  (may be NULL) its amount. For the bids part. 0 or -1. */
int tenders_deposit_of(db *d, int64_t id, int64_t company_id, int64_t *deposit_id,
                       int64_t *amount_fen, err *e);

/* ---- time ---- */

/** Parse an ISO-8601 instant "YYYY-MM-DDTHH:MM[:SS[.fff]](Z|±HH:MM)" into unix
 *  seconds. A zone is required (a bare local time is ambiguous). 0 or -1. */
int tenders_parse_time(const char *s, int64_t *out);

/** `isle tender …` (list, show, announce, cancel): see tenders_cli.c. */
int tenders_cli(const cli_env *env, int argc, char **argv);

#endif
