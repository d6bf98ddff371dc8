/* trade/demo: a year of public resource trading for `isle demo`, calibrated to
 * Zhoushan's published scale (累计进场交易项目521项，交易金额200.06亿元，平均资金节增率
 * 5.51%, 不见面开标 600余场, one opening with 119 bidders), so that every list,
 * hall, result page, indicator and the collusion screening have content.
 *
 * What it writes (deterministic names, amounts and dates for a seed and "now";
 * key material comes from OpenSSL's RNG and differs between runs):
 *   - about count × 10/13 companies (at least 150) with valid unified social credit
 *     codes, legal representatives, addresses, one login each (demo.tNNNN, role
 *     bidder, a placeholder password hash no password matches: they cannot log in);
 *     the demo users `bidder` (东港建设集团) and `company` (舟渔水产有限公司) are
 *     linked to companies of their own, which take no part in the generated bids;
 *   - a demo PKI: three roots in ca_roots (舟山市公共资源交易CA, the home CA, ECDSA
 *     P-256; 浙江省数字证书CA, ECDSA P-256; 国信SM2 CA, SM2 with SM3) and one real
 *     X.509 certificate per company (about 60% from the two foreign CAs), made with
 *     OpenSSL; ca_logins rows (two per bid: submission and opening sign-in);
 *   - count tenders over the 365 days before now: ~45% works, ~35% procurement,
 *     ~20% asset sales; ~98% electronic, ~95% of the openings remote; most
 *     contracted or awarded, some failed (流标), a few cancelled, ~3% still announced
 *     (deadline ahead), two in evaluation, one in publicity; notices for each step;
 *     paper tenders (electronic 0, ~2%) have no electronic bid, hall or result rows;
 *   - sealed bids (3–30 per opened tender, one opening with 119 bidders), deposits,
 *     closed openings with the hall's event log (opening_events: start, sign-ins,
 *     decryption, 唱标 per bid, objections window, close) and, for the 3 latest,
 *     the signed opening record (record.c's PDF under trade_dir("openings"),
 *     record_sha256/record_sig as opening.c's close writes them; older halls have
 *     none: their record.pdf answers 404); results ranked by evaluate_rank() as
 *     evaluate_compute() writes them (综合评分法: technical points 0..70, total =
 *     price score + tech), awards at the first-ranked bid's price (savings ≈ 5.5% of
 *     the budgets), contracts; auctions run as auction.c runs them: 挂牌 offers
 *     (phase listing) before the deadline, 竞价 bids (phase auction) after it with
 *     延时, a 竞买号 per company (auction_bidders); 增幅 10–30% when contested, the
 *     reserve price when not;
 *   - live items for the pages: 3 sales in 竞价 (status auction, ending within the
 *     next ~3 hours) and one procurement hall in progress (status opening, hall
 *     'decrypting': bidders signed in, half the bids opened, the rest sealed in real
 *     envelopes until the window closes);
 *   - ~6 planted collusive groups of 3–5 companies (cover bidding, rotation, shared
 *     traces, price patterns), listed in trade_demo_planted (031_trade_demo.sql):
 *     the ground truth the screening is measured against;
 *   - an expert pool (experts) and the drawn panels (tender_experts).
 * Money is rescaled at the end so that the awarded amount is 200.06亿元 × count/521.
 *
 * Envelopes: bids of tenders still open carry a real CMS EnvelopedData (AES-256-CBC,
 * to the company's certificate) stored as trade_dir("bids")/<sha256>. Bids of
 * historical tenders carry envelope_size 0 and the SHA-256 of the empty string: the
 * archived envelopes were purged after the opening (retention), only the revealed
 * form, the commitment and the receipt remain. Commitments are real signatures with
 * the company's key over the pinned commitment string; receipts are signed with the
 * deployment's proof key (proofs_key_current) when one is available, else
 * receipt_sig is "".
 *
 * Speed and audit: multi-row INSERTs in one transaction and one audit row
 * ("demo.trade") for the whole year, like the cases demo. Idempotent: when the
 * first demo company's login exists nothing is written. */
#ifndef ISLE_TRADE_DEMO_H
#define ISLE_TRADE_DEMO_H

#include <stdint.h>

#include "base/err.h"
#include "db/db.h"

#define TRADE_DEMO_DEFAULT     520   /* tenders in the product's demo year */
#define TRADE_DEMO_MAX         20000 /* largest ISLE_DEMO_TENDERS */
#define TRADE_DEMO_SEED        20260601u
#define TRADE_DEMO_BIDDER_USCC "91330900MA2B7E8F9J" /* 东港建设集团 (the demo user bidder) */

/** What trade_demo_run() wrote. */
typedef struct trade_demo_counts {
    int present; /* 1: the demo year was there already, nothing written */
    int64_t companies, certs, tenders, bids, envelopes, auction_bids, deposits, logins, experts;
    int64_t groups;      /* planted collusive groups */
    int64_t amount_fen;  /* awarded amount, all kinds */
    int64_t budget_fen;  /* budgets of the awarded works and procurement tenders */
    int64_t savings_fen; /* Σ (budget − award) of those */
    int64_t max_bidders; /* the largest opening */
    double seconds;      /* wall time */
} trade_demo_counts;

/** Generate the trading year: count tenders over the 365 days before now (unix
 *  seconds), deterministic for seed. data_dir is unused for now (name lists are
 *  built in) and may be NULL. Needs the schema; uses the demo users trading_staff
 *  (host of the openings), bidder and company when present. Envelopes of open
 *  tenders go under trade_dir("bids") (files_dir() must be set: the receipts' proof key
 *  is made there too when missing). 0, or -1 with e (rolled back). */
int trade_demo_run(db *d, const char *data_dir, int64_t now, unsigned seed, int count,
                   trade_demo_counts *out, err *e);

/** For `isle demo`: count from $ISLE_DEMO_TENDERS (default TRADE_DEMO_DEFAULT; 0
 *  skips), generate and print the one summary line. use_files = 0 when there is no
 *  files directory to write to (PostgreSQL without $ISLE_FILES_DIR: `serve` takes
 *  --files-dir, `demo` cannot guess it): then no envelope is stored, the tenders
 *  still open get no sealed bids and receipts are unsigned (receipt_sig ""), and
 *  no proof key is made. Returns the exit status. */
int trade_demo_cmd(db *d, const char *data_dir, int use_files);

#endif
