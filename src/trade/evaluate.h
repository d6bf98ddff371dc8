/* evaluate: online evaluation (不见面开评标), candidate publicity, award and contract.
 *
 * The expert pool (评标专家库) holds experts with specialties (tender kinds or
 * specialty keys), an employer and declared conflicts. After the opening hall has
 * closed (tender status evaluation) trading staff draw a panel at random with a
 * CSPRNG (libsodium), avoiding any expert employed by or tied to a bidder, the
 * buyer or the agency. The panel is sealed: until the evaluation report exists
 * (tender_results written by evaluate_compute) only each drawn expert knows they
 * are on it; staff see the count, bidders nothing; the audit row keeps the ids.
 *
 * Experts see bidders only as 投标人A, B, C… (letters by bid id among the opened
 * bids) with the opened price, duration and quality — never a company name,
 * USCC, bid id or project manager — until the report. They score each bid's
 * technical part (综合评分法: 0..tech_weight) or pass/fail its qualification
 * (经评审的最低投标价法, 合理低价法: pass with an optional reason, fail with a
 * required one), then submit (final).
 *
 * Methods (evaluate_rank, pure, unit-tested):
 *   lowest_price    valid bids by price ascending;
 *   composite       价格分 = 评标基准价 / 投标报价 × price_weight, 评标基准价 = the
 *                   lowest valid price; 技术分 = mean of the experts' scores; total;
 *                   ranked by total descending;
 *   reasonable_low  基准价 = mean of the valid prices after dropping the single
 *                   highest and lowest (≥ 5 valid bids; else the plain mean) ×
 *                   benchmark_factor; ranked by |price − 基准价| ascending.
 * Invalid: price above the budget (最高限价), failed qualification by a majority
 * of experts, or an opening problem (not decrypted, unusable form). Ties go to the
 * earlier submission. Fewer than TRADE_MIN_VALID_BIDS valid bids: 流标.
 *
 * Outliers: an expert whose score on a bid deviates from the mean of the other
 * experts' scores by more than max(20 % of the maximum score, 2 × their standard
 * deviation) is flagged; the score is kept and the report shows it.
 *
 * Then: publicity of the top 3 candidates (publicity_days days, objections by
 * bidders, replies by staff) → award after publicity_until when every objection
 * has its reply → contract. 节约率 = (budget − award) / budget.
 *
 * Every state change is one transaction with an audit row (object "tender"). */
#ifndef ISLE_TRADE_EVALUATE_H
#define ISLE_TRADE_EVALUATE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "trade/trade.h"

#define EVAL_DRAW_DEFAULT         5
#define EVAL_DRAW_MIN             3
#define EVAL_DRAW_MAX             9
#define EVAL_COMMENT_MAX          1000 /* bytes */
#define EVAL_OBJECTION_MAX        2000
#define EVAL_EXPERT_NAME_MAX      100
#define EVAL_SPECIALTIES_MAX      12
#define EVAL_SPECIALTY_MAX        40
#define EVAL_BIDS_MAX             1000 /* scores in one PUT; letters run A…Z, A1, B1, … */
#define EVAL_EXPERTS_LIST_MAX     500
#define EVAL_PRICE_WEIGHT_DEFAULT 30.0
#define EVAL_TECH_WEIGHT_DEFAULT  70.0

/* ---- the pure core ---- */

/** One bid as the methods see it. Inputs: bid_id, price_fen, submitted_at (unix
 *  seconds, tie-break), tech_score (mean of the experts, composite), qual_fail and
 *  qual_total (experts failing / judging its qualification), valid (0 when the
 *  opening already made it invalid, with reason). Outputs: valid, reason,
 *  price_score, total_score, rank (1…, 0 for invalid). */
typedef struct evaluate_bid {
    int64_t bid_id;
    int64_t price_fen;
    int64_t submitted_at;
    double tech_score;
    int qual_fail, qual_total;
    int valid;
    char reason[160];
    double price_score, total_score;
    int rank;
} evaluate_bid;

typedef struct evaluate_params {
    const char *method;      /* lowest_price | composite | reasonable_low */
    int64_t budget_fen;      /* 0: no 最高限价 */
    double price_weight;     /* composite */
    double benchmark_factor; /* reasonable_low (0 → 1) */
} evaluate_params;

/** Apply the method to bids[0..n): validity, scores, ranks. *reference_fen gets the
 *  评标基准价 (composite: lowest valid price; reasonable_low: the benchmark; else the
 *  lowest valid price), 0 when no bid is valid. Returns the number of valid bids, or
 *  -1 for an unknown method. */
int evaluate_rank(evaluate_bid *bids, int n, const evaluate_params *p, double *reference_fen);

/** Flag outliers among n experts' scores on one bid: flags[i] = 1 when scores[i]
 *  deviates from the mean of the others by more than max(0.2 × max_score, 2 × the
 *  others' standard deviation). n < 3 flags nothing. Returns how many were flagged. */
int evaluate_outliers(const double *scores, int n, double max_score, int *flags);

/** 节约率 (budget − award) / budget, 0 when budget ≤ 0. */
double evaluate_savings(int64_t budget_fen, int64_t award_fen);

/** The anonymous label of the i-th (0-based) opened bid: "A"…"Z", "A1"… buf ≥ 8. */
char *evaluate_bid_letter(int i, char *buf, size_t n);

/* ---- the expert pool (trading staff) ---- */

/** Add an expert from {"name", "specialties":[…], "employer", "employer_uscc",
 *  "user_login", "conflicts":[{"party","reason"}]}. user_login must name an
 *  expert-role user not yet linked. *id gets the new id. Own transaction. 0 or -1. */
int evaluate_expert_add(db *d, const trade_actor *a, json_t *in, int64_t *id, err *e);
/** Add a declared conflict (party: a USCC or a buyer name). Own transaction. */
int evaluate_expert_conflict_add(db *d, const trade_actor *a, int64_t expert_id, const char *party,
                                 const char *reason, err *e);
/** {"items":[{id,name,specialties,employer,employer_uscc,user_login,active,conflicts,
 *  drawn}…],"total"} for staff (q filters by name/employer/specialty). Caller owns. */
json_t *evaluate_expert_list(db *d, const trade_actor *a, const char *q, err *e);
/** Make sure the pool holds at least n demo experts (varied specialties and
 *  employers), the demo user "expert" linked to the first. Idempotent. 0 or -1. */
int evaluate_demo_experts(db *d, const audit_actor *aa, int n, err *e);

/* ---- the panel ---- */

/** Draw n experts (odd, EVAL_DRAW_MIN..EVAL_DRAW_MAX) for a tender in status
 *  evaluation, with the avoidance rules; the first drawn chairs. 409 when drawn
 *  already or when too few experts qualify (the message names the shortfall).
 *  Own transaction. *out (may be NULL) gets the caller's view of the panel. */
int evaluate_draw(db *d, const trade_actor *a, int64_t tender_id, int n, json_t **out, err *e);
/** The panel as the caller may see it: before the report staff and supervisors get
 *  {"sealed":true,"count","submitted"}, a drawn expert also "me"; after it everyone
 *  who may see the tender gets the names. Others 403. Caller owns. */
json_t *evaluate_experts_get(db *d, const trade_actor *a, int64_t tender_id, err *e);

/** The caller's evaluation desk: an expert gets the tenders it was drawn for
 *  ({"role":"expert","expert":{…},"items":[{id,tender_no,title,…,chair,submitted}]});
 *  staff and supervisors the tenders in evaluation or publicity and the latest
 *  awarded ones with the panel's progress. Others 403. Caller owns. */
json_t *evaluate_assignments(db *d, const trade_actor *a, err *e);

/* ---- scoring (drawn experts) ---- */

/** Save the expert's scores: {"scores":[{"bid_ref":"A","tech_score":55,"comment"}]}
 *  (composite) or [{"bid_ref":"A","pass":true|false,"reason"}] (qualification).
 *  Refused after submit. Own transaction. */
int evaluate_scores_put(db *d, const trade_actor *a, int64_t tender_id, json_t *in, err *e);
/** Make the expert's scores final; every opened bid must be scored. */
int evaluate_scores_submit(db *d, const trade_actor *a, int64_t tender_id, err *e);

/* ---- results ---- */

/** Compute the ranking (staff): every drawn expert must have submitted. Writes
 *  tender_results in one transaction (this is the evaluation report: the panel is
 *  unsealed); with too few valid bids the tender fails (流标). Re-running while in
 *  status evaluation recomputes. */
int evaluate_compute(db *d, const trade_actor *a, int64_t tender_id, err *e);
/** The evaluation as the caller may see it (view "expert", "staff" or "public").
 *  Caller owns. */
json_t *evaluate_get(db *d, const trade_actor *a, int64_t tender_id, err *e);
/** The full report (staff/supervisor/drawn experts, after compute) as JSON. */
json_t *evaluate_report_json(db *d, const trade_actor *a, int64_t tender_id, err *e);
/** The evaluation report as an A4 PDF (evaluate_report.c). *pdf is malloc'd; caller
 *  frees. 0 or -1. */
int evaluate_report_pdf(db *d, const trade_actor *a, int64_t tender_id, unsigned char **pdf,
                        size_t *len, err *e);

/* ---- publicity, objections, award, contract (staff, except objections) ---- */

int evaluate_publicize(db *d, const trade_actor *a, int64_t tender_id, err *e);
/** A bidder of the tender objects during publicity. *id gets the objection id. */
int evaluate_objection_add(db *d, const trade_actor *a, int64_t tender_id, const char *text,
                           int64_t *id, err *e);
int evaluate_objection_reply(db *d, const trade_actor *a, int64_t tender_id, int64_t objection_id,
                             const char *reply, err *e);
/** Award the first-ranked candidate after publicity_until; 409 while an objection
 *  waits for its reply. */
int evaluate_award(db *d, const trade_actor *a, int64_t tender_id, err *e);
/** Record the contract: contract_no (1..64 bytes), contract_fen (0: the award). */
int evaluate_contract(db *d, const trade_actor *a, int64_t tender_id, const char *contract_no,
                      int64_t contract_fen, err *e);

#endif
