/* auction: the online ascending auction (网络竞价) of asset sales — 国有产权,
 * 土地出让, 排污权 (tenders of a sale kind with method "auction").
 *
 * The life of one auction:
 *   1. 挂牌 (listing): the tender is "announced" until deadline_at. Companies whose
 *      deposit is paid (trade_deposits, amount ≥ tenders.deposit_fen) place 挂牌
 *      offers: the first at least the reserve (起拍价), each next one at least the
 *      current price + the increment, always reserve + k × increment.
 *   2. At deadline_at: no offer → failed (流标); one company → awarded at its offer
 *      (挂牌成交); two or more → status "auction" (竞价) ending at deadline_at +
 *      auction_minutes, starting from the highest 挂牌 offer.
 *   3. 竞价: the same bid rules; a bid within extend_seconds of the end moves the
 *      end to now + extend_seconds (延时).
 *   4. After the end: awarded to the leader at its price, with an 'award' notice
 *      stating 增幅 = (deal − reserve) / reserve.
 * Steps 2 and 4 happen on the first request after the moment (lazily) or by the
 * watcher thread of `isle serve` (auction_watch_start), whichever comes first; the
 * conditional UPDATE on status and version makes them happen once.
 *
 * tenders.method_params (JSON) sets the rules: "increment_fen" (integer fen) or
 * "increment" (yuan, number or string), default 1% of the reserve in whole yuan
 * (at least ¥1); "extend_seconds" (default 300, 10..3600); "auction_minutes"
 * (default 30, 1..1440); "max_steps" (largest jump in increments, default 100).
 *
 * Secrecy: everyone sees the price, the end and the history by anonymous 竞买号;
 * a bidding company also sees its own number and whether it leads ("您当前领先").
 * No company name appears anywhere until the result. */
#ifndef ISLE_TRADE_AUCTION_H
#define ISLE_TRADE_AUCTION_H

#include <jansson.h>
#include <stdint.h>

#include "trade/trade.h"

#define AUCTION_EXTEND_DEFAULT  300
#define AUCTION_MINUTES_DEFAULT 30
#define AUCTION_MAX_STEPS       100
#define AUCTION_HISTORY_MAX     200 /* bids listed in the state (newest first) */

/* SQL for a company's 竞买号 in a query over auction_bids b LEFT JOIN auction_bidders n
 * (on tender and company): the number given at its first offer, else its rank by first
 * offer (rows written by other means, e.g. the demo year, have no auction_bidders row). */
#define AUCTION_RANK_SQL(tender, company)                                                          \
    "(SELECT COUNT(DISTINCT r2.company_id) FROM auction_bids r2 WHERE r2.tender_id = " tender      \
    " AND r2.id <= (SELECT MIN(r3.id) FROM auction_bids r3 WHERE r3.tender_id = " tender           \
    " AND r3.company_id = " company "))"
#define AUCTION_BIDDER_NO_SQL                                                                      \
    "COALESCE(n.bidder_no, " AUCTION_RANK_SQL("b.tender_id", "b.company_id") ")"

typedef struct auction_params {
    int64_t increment_fen;
    int extend_seconds;
    int auction_minutes;
    int max_steps;
} auction_params;

/** Parse method_params (JSON text, may be NULL or "{}") for a tender whose reserve is
 *  reserve_fen. 0, or -1 with e 400 naming the bad parameter. */
int auction_params_parse(const char *method_params, int64_t reserve_fen, auction_params *p, err *e);

/** 增幅 (deal − reserve) / reserve as a fraction (0.125 = 12.5%); 0 when reserve ≤ 0. */
double auction_premium_rate(int64_t deal_fen, int64_t reserve_fen);

/** The auction as the actor sees it at `now` (moves it on first if its moment has
 *  passed). a->user_id 0 is an anonymous visitor here. 404 for drafts (unless staff or
 *  supervisor) and for tenders that are not auctions. Caller owns the result. */
json_t *auction_get(db *d, const trade_actor *a, int64_t tender_id, int64_t now, err *e);

/** Place a 挂牌 offer or 竞价 bid of amount_fen for the actor's company, at
 *  time_now(). One transaction: rules above, deposit, not already leading, the
 *  bidder's 竞买号, the conditional UPDATE of the tender's price/leader/end, the
 *  auction_bids row, an audit row and an "auction_bid" event (published after the
 *  commit). *out (may be NULL) gets the new state for the actor. Errors: 403 no
 *  company; 422 "deposit_required", "bid_too_low", "bad_increment", "bid_too_high",
 *  "already_leading"; 409 "not_open" (before the announcement, after the end), 409
 *  "conflict" when the price moved meanwhile. 0 or -1. */
int auction_bid(db *d, const trade_actor *a, int64_t tender_id, int64_t amount_fen,
                const char *client_ip, json_t **out, err *e);

/** Close the auction (trading staff or the system): only once its moment has passed
 *  (409 "not_ended" before). Moves 挂牌 → failed/awarded/auction or 竞价 → awarded.
 *  *out (may be NULL) gets the state. 0 or -1. */
int auction_close(db *d, const trade_actor *a, int64_t tender_id, json_t **out, err *e);

/** Move on every auction whose moment is before `now` (the watcher). *moved gets how
 *  many changed. 0 or -1. */
int auction_scan(db *d, int64_t now, int *moved, err *e);

/** The watcher thread of `isle serve`: auction_scan every $ISLE_AUCTION_SCAN_MS
 *  (default 5000; 0 = off). */
int auction_watch_start(const char *dsn, err *e);
void auction_watch_stop(void);

#endif
