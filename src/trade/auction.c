/* auction: online ascending auctions for asset sales (see auction.h). */
#include "trade/auction.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/roles.h"
#include "base/jsonx.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "jobs/periodic.h"
#include "trade/tenders.h"

/* The columns of a tender the auction needs, beyond trade_tender. */
typedef struct auc {
    trade_tender t;
    int64_t price_fen; /* 0: no offer yet */
    int64_t leader_id; /* company, 0 when none */
    int64_t ends_at;   /* 0 when not in 竞价 */
    int64_t award_fen, award_company_id, awarded_at;
    char failed_reason[256];
    auction_params p;
} auc;

/* ---- parameters ---- */

static int param_int(json_t *o, const char *key, long lo, long hi, long def, long *out, err *e) {
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return err_invalid(e, key, "竞价参数 %s 须为 %ld–%ld 的整数", key, lo, hi);
    *out = (long)json_integer_value(v);
    return 0;
}

int auction_params_parse(const char *text, int64_t reserve_fen, auction_params *p, err *e) {
    memset(p, 0, sizeof(*p));
    json_t *o = text && *text ? json_loads(text, 0, NULL) : json_object();
    if (!o || !json_is_object(o)) {
        json_decref(o);
        return err_invalid(e, "method_params", "竞价参数不是有效的 JSON 对象");
    }
    int rc = -1;
    long ext, mins, steps;
    json_t *inc_fen = json_object_get(o, "increment_fen"), *inc = json_object_get(o, "increment");
    if (inc_fen && !json_is_null(inc_fen)) {
        if (!json_is_integer(inc_fen) || json_integer_value(inc_fen) < 1 ||
            json_integer_value(inc_fen) > TRADE_MONEY_MAX_FEN) {
            err_invalid(e, "increment_fen", "加价幅度须为正整数（分）");
            goto out;
        }
        p->increment_fen = json_integer_value(inc_fen);
    } else if (inc && !json_is_null(inc)) {
        if (trade_money_from_json(inc, "increment", &p->increment_fen, e) != 0) goto out;
        if (p->increment_fen < 1) {
            err_invalid(e, "increment", "加价幅度须大于 0");
            goto out;
        }
    } else {
        /* 1% of the reserve in whole yuan, at least ¥1. */
        int64_t one = reserve_fen / 100;
        one = (one / 100) * 100;
        p->increment_fen = one < 100 ? 100 : one;
    }
    if (param_int(o, "extend_seconds", 10, 3600, AUCTION_EXTEND_DEFAULT, &ext, e) != 0) goto out;
    if (param_int(o, "auction_minutes", 1, 1440, AUCTION_MINUTES_DEFAULT, &mins, e) != 0) goto out;
    if (param_int(o, "max_steps", 1, 10000, AUCTION_MAX_STEPS, &steps, e) != 0) goto out;
    p->extend_seconds = (int)ext;
    p->auction_minutes = (int)mins;
    p->max_steps = (int)steps;
    rc = 0;
out:
    json_decref(o);
    return rc;
}

double auction_premium_rate(int64_t deal_fen, int64_t reserve_fen) {
    if (reserve_fen <= 0) return 0;
    return (double)(deal_fen - reserve_fen) / (double)reserve_fen;
}

/* "12.50%" */
static json_t *pct(double rate) {
    char buf[32];
    snprintf(buf, sizeof(buf), "%.2f%%", rate * 100.0);
    return json_string(buf);
}

static json_t *yuan(int64_t fen) {
    char buf[32];
    return json_string(trade_money_str(fen, buf, sizeof(buf)));
}

static json_t *iso_or_null(int64_t t) {
    char buf[32];
    return t ? json_string(time_iso(buf, sizeof(buf), t)) : json_null();
}

static int64_t col_time(db_stmt *s, int col) {
    const char *v = db_column_text(s, col);
    int64_t t = 0;
    if (v && time_parse_iso(v, &t) != 0) t = 0;
    return t;
}

/* ---- loading ---- */

static int auc_load(db *d, int64_t id, auc *x, err *e) {
    memset(x, 0, sizeof(*x));
    if (trade_tender_load(d, id, &x->t, e) != 0) return -1;
    if (strcmp(x->t.method, "auction") != 0) return err_notfound(e, "该项目不是网络竞价");
    db_stmt *s = db_query(d, e,
                          "SELECT auction_price_fen, auction_leader_id, auction_ends_at, "
                          "award_fen, award_company_id, awarded_at, failed_reason, method_params "
                          "FROM tenders WHERE id = $1",
                          "i", id);
    if (!s) return -1;
    int rc = db_step(s);
    char *params = NULL;
    if (rc == DB_ROW) {
        x->price_fen = db_column_int64(s, 0);
        x->leader_id = db_column_int64(s, 1);
        x->ends_at = col_time(s, 2);
        x->award_fen = db_column_int64(s, 3);
        x->award_company_id = db_column_int64(s, 4);
        x->awarded_at = col_time(s, 5);
        const char *fr = db_column_text(s, 6);
        snprintf(x->failed_reason, sizeof(x->failed_reason), "%s", fr ? fr : "");
        const char *mp = db_column_text(s, 7);
        params = strdup(mp ? mp : "{}");
    }
    db_reset(s);
    if (rc != DB_ROW) {
        free(params);
        return rc == DB_ERROR ? err_internal(e, "读取竞价失败") : err_notfound(e, "项目不存在");
    }
    int prc = auction_params_parse(params, x->t.reserve_fen, &x->p, e);
    free(params);
    return prc;
}

/* ---- moving the auction on (挂牌 end, 竞价 end) ---- */

static int notice(db *d, int64_t tender_id, const char *kind, const char *title, const char *body,
                  err *e) {
    char now[32];
    time_iso(now, sizeof(now), time_now());
    return db_execf(d, e,
                    "INSERT INTO tender_notices (tender_id, kind, title, body, created_at) "
                    "VALUES ($1, $2, $3, $4, $5)",
                    "issss", tender_id, kind, title, body, now);
}

/* 流标 through tenders_fail() (inside this transaction), which writes the 'failed'
 * notice every part shares; then the event for the auction page. */
static int fail_tender(db *d, const trade_actor *a, auc *x, const char *reason, err *e) {
    if (tenders_fail(d, a, &x->t, reason, e) != 0) return -1;
    json_t *ev = json_pack("{s:s,s:s}", "status", "failed", "reason", reason);
    int rc = trade_event_append(d, x->t.id, "auction_result", ev, NULL, e);
    json_decref(ev);
    return rc;
}

static int company_name(db *d, int64_t id, char *buf, size_t n, err *e) {
    db_stmt *s = db_query(d, e, "SELECT name FROM trade_companies WHERE id = $1", "i", id);
    if (!s) return -1;
    buf[0] = '\0';
    if (db_step(s) == DB_ROW) {
        const char *v = db_column_text(s, 0);
        snprintf(buf, n, "%s", v ? v : "");
    }
    db_reset(s);
    return 0;
}

static int award_tender(db *d, const trade_actor *a, auc *x, const char *how, err *e) {
    if (trade_tender_set_status(d, a, &x->t, "awarded", e) != 0) return -1;
    char now[32];
    time_iso(now, sizeof(now), time_now());
    if (db_execf(d, e,
                 "UPDATE tenders SET award_fen = $1, award_company_id = $2, awarded_at = $3 "
                 "WHERE id = $4",
                 "iisi", x->price_fen, x->leader_id, now, x->t.id) != 0)
        return -1;
    char name[TRADE_NAME_MAX + 1], deal[40], reserve[40], title[TRADE_TITLE_MAX + 64], body[1024];
    if (company_name(d, x->leader_id, name, sizeof(name), e) != 0) return -1;
    double rate = auction_premium_rate(x->price_fen, x->t.reserve_fen);
    char oid[24];
    snprintf(oid, sizeof(oid), "%lld", (long long)x->t.id);
    json_t *after =
        json_pack("{s:s,s:I,s:I,s:I,s:f}", "how", how, "award_fen", (json_int_t)x->price_fen,
                  "award_company_id", (json_int_t)x->leader_id, "reserve_fen",
                  (json_int_t)x->t.reserve_fen, "premium_rate", rate);
    int arc = audit_record(d, &a->audit, "auction.award", "tender", oid, NULL, after, e);
    json_decref(after);
    if (arc != 0) return -1;
    trade_money_display(x->price_fen, deal, sizeof(deal));
    trade_money_display(x->t.reserve_fen, reserve, sizeof(reserve));
    snprintf(title, sizeof(title), "%s 成交公告", x->t.tender_no);
    snprintf(body, sizeof(body),
             "%s（%s）经%s，由 %s 竞得。成交价 %s，起拍价 %s，增幅 %.2f%%（(成交价 − 起拍价) ÷ "
             "起拍价）。",
             x->t.title, x->t.tender_no, how, name, deal, reserve, rate * 100.0);
    if (notice(d, x->t.id, "award", title, body, e) != 0) return -1;
    json_t *ev = json_pack("{s:s,s:s,s:I,s:o,s:s,s:o,s:f}", "status", "awarded", "how", how,
                           "award_fen", (json_int_t)x->price_fen, "award", yuan(x->price_fen),
                           "company_name", name, "premium", pct(rate), "premium_rate", rate);
    int rc = trade_event_append(d, x->t.id, "auction_result", ev, NULL, e);
    json_decref(ev);
    return rc;
}

static int count_listing_bidders(db *d, int64_t tender_id, int64_t *n, err *e) {
    return db_query_int(d, e, n,
                        "SELECT COUNT(DISTINCT company_id) FROM auction_bids WHERE tender_id = $1 "
                        "AND phase = 'listing'",
                        "i", tender_id) < 0
               ? -1
               : 0;
}

/* Inside a transaction: move x on if its moment has passed. *moved = 1 when it did. */
static int advance_tx(db *d, const trade_actor *a, auc *x, int64_t now, int *moved, err *e) {
    *moved = 0;
    if (!strcmp(x->t.status, "announced") && now >= x->t.deadline_at) {
        int64_t n = 0;
        if (count_listing_bidders(d, x->t.id, &n, e) != 0) return -1;
        *moved = 1;
        if (n == 0 || !x->leader_id) return fail_tender(d, a, x, "挂牌期内无人报价，流标", e);
        if (n == 1) return award_tender(d, a, x, "挂牌", e);
        if (trade_tender_set_status(d, a, &x->t, "auction", e) != 0) return -1;
        int64_t ends = x->t.deadline_at + (int64_t)x->p.auction_minutes * 60;
        char ends_s[32];
        time_iso(ends_s, sizeof(ends_s), ends);
        if (db_execf(d, e, "UPDATE tenders SET auction_ends_at = $1 WHERE id = $2", "si", ends_s,
                     x->t.id) != 0)
            return -1;
        x->ends_at = ends;
        json_t *ev = json_pack("{s:s,s:s,s:I,s:o,s:I}", "status", "auction", "ends_at", ends_s,
                               "price_fen", (json_int_t)x->price_fen, "price", yuan(x->price_fen),
                               "bidders", (json_int_t)n);
        int rc = trade_event_append(d, x->t.id, "auction_started", ev, NULL, e);
        json_decref(ev);
        if (rc != 0) return -1;
        /* Started so late that the 竞价 time is already over: close at once. */
        if (now >= ends) return award_tender(d, a, x, "网络竞价", e);
        return 0;
    }
    if (!strcmp(x->t.status, "auction") && x->ends_at && now >= x->ends_at) {
        *moved = 1;
        if (!x->leader_id) return fail_tender(d, a, x, "竞价期内无有效报价，流标", e);
        return award_tender(d, a, x, "网络竞价", e);
    }
    return 0;
}

static int due(const auc *x, int64_t now) {
    return (!strcmp(x->t.status, "announced") && now >= x->t.deadline_at) ||
           (!strcmp(x->t.status, "auction") && x->ends_at && now >= x->ends_at);
}

/* Own transaction: reload under the write lock, move on if due. */
static int advance(db *d, const trade_actor *a, int64_t id, int64_t now, int *moved, err *e) {
    *moved = 0;
    if (db_begin(d, e) != 0) return -1;
    auc x;
    if (auc_load(d, id, &x, e) != 0 || advance_tx(d, a, &x, now, moved, e) != 0) {
        db_rollback(d);
        trade_event_discard();
        return -1;
    }
    if (!*moved) {
        db_rollback(d);
        return 0;
    }
    if (db_commit(d, e) != 0) {
        trade_event_discard();
        return -1;
    }
    trade_event_flush();
    return 0;
}

static void system_actor(trade_actor *a) {
    memset(a, 0, sizeof(*a));
    a->audit.user_id = 0;
    a->audit.login = "system";
    snprintf(a->name, sizeof(a->name), "system");
}

/* ---- the state ---- */

/* A company's 竞买号: its auction_bidders row, else (offers written by other means, such
 * as the demo year) its rank by first offer. 0 when it has none. */
static int64_t bidder_no_of(db *d, int64_t tender_id, int64_t company_id, err *e) {
    int64_t no = 0;
    if (!company_id) return 0;
    if (db_query_int(
            d, e, &no,
            "SELECT bidder_no FROM auction_bidders WHERE tender_id = $1 AND company_id = $2", "ii",
            tender_id, company_id) < 0)
        return -1;
    if (no) return no;
    if (db_query_int(d, e, &no, "SELECT " AUCTION_RANK_SQL("$1", "$2"), "ii", tender_id,
                     company_id) < 0)
        return -1;
    return no;
}

static int deposit_ok(db *d, const auc *x, int64_t company_id, int *ok, err *e) {
    int64_t n = 0;
    if (db_query_int(d, e, &n,
                     "SELECT COUNT(*) FROM trade_deposits WHERE tender_id = $1 AND company_id = $2 "
                     "AND status = 'paid' AND amount_fen >= $3",
                     "iii", x->t.id, company_id, x->t.deposit_fen) < 0)
        return -1;
    *ok = n > 0;
    return 0;
}

static const char *phase_of(const auc *x, int64_t now) {
    if (!strcmp(x->t.status, "announced")) {
        if (x->t.announce_at && now < x->t.announce_at) return "pending";
        return now < x->t.deadline_at ? "listing" : "ended";
    }
    if (!strcmp(x->t.status, "auction")) return now < x->ends_at ? "auction" : "ended";
    return "closed";
}

static int64_t min_bid(const auc *x) {
    return x->price_fen ? x->price_fen + x->p.increment_fen : x->t.reserve_fen;
}

static json_t *state_json(db *d, const trade_actor *a, const auc *x, int64_t now, err *e) {
    const char *phase = phase_of(x, now);
    int64_t end = x->ends_at ? x->ends_at : x->t.deadline_at; /* 竞价 end once there is one */
    int64_t left = (!strcmp(phase, "listing") || !strcmp(phase, "auction")) ? end - now : 0;
    int64_t leader_no = bidder_no_of(d, x->t.id, x->leader_id, e);
    if (leader_no < 0) return NULL;
    json_t *o = json_object();
    json_object_set_new(o, "tender_id", json_integer(x->t.id));
    json_object_set_new(o, "tender_no", json_string(x->t.tender_no));
    json_object_set_new(o, "title", json_string(x->t.title));
    json_object_set_new(o, "kind", json_string(x->t.kind));
    json_object_set_new(o, "kind_label", json_string(trade_kind_label(x->t.kind)));
    json_object_set_new(o, "status", json_string(x->t.status));
    json_object_set_new(o, "status_label", json_string(trade_status_label(x->t.status)));
    json_object_set_new(o, "phase", json_string(phase));
    json_object_set_new(o, "reserve_fen", json_integer(x->t.reserve_fen));
    json_object_set_new(o, "reserve", yuan(x->t.reserve_fen));
    json_object_set_new(o, "deposit_fen", json_integer(x->t.deposit_fen));
    json_object_set_new(o, "deposit", yuan(x->t.deposit_fen));
    json_object_set_new(o, "increment_fen", json_integer(x->p.increment_fen));
    json_object_set_new(o, "increment", yuan(x->p.increment_fen));
    json_object_set_new(o, "extend_seconds", json_integer(x->p.extend_seconds));
    json_object_set_new(o, "auction_minutes", json_integer(x->p.auction_minutes));
    json_object_set_new(o, "max_steps", json_integer(x->p.max_steps));
    json_object_set_new(o, "deadline_at", iso_or_null(x->t.deadline_at));
    json_object_set_new(o, "auction_ends_at", iso_or_null(x->ends_at));
    json_object_set_new(o, "ends_at", iso_or_null(end));
    json_object_set_new(o, "now", iso_or_null(now));
    json_object_set_new(o, "seconds_left", json_integer(left > 0 ? left : 0));
    json_object_set_new(o, "price_fen", x->price_fen ? json_integer(x->price_fen) : json_null());
    json_object_set_new(o, "price", x->price_fen ? yuan(x->price_fen) : json_null());
    json_object_set_new(o, "leader_no", leader_no ? json_integer(leader_no) : json_null());
    json_object_set_new(o, "min_bid_fen", json_integer(min_bid(x)));
    json_object_set_new(o, "min_bid", yuan(min_bid(x)));
    if (x->price_fen)
        json_object_set_new(o, "premium",
                            pct(auction_premium_rate(x->price_fen, x->t.reserve_fen)));

    /* History: newest first, by 竞买号 only. */
    db_stmt *s = db_query(d, e,
                          "SELECT b.id, b.amount_fen, b.at, b.phase, " AUCTION_BIDDER_NO_SQL
                          ", b.company_id "
                          "FROM auction_bids b LEFT JOIN auction_bidders n ON n.tender_id = "
                          "b.tender_id AND n.company_id = b.company_id WHERE b.tender_id = $1 "
                          "ORDER BY b.id DESC LIMIT $2",
                          "ii", x->t.id, (int64_t)AUCTION_HISTORY_MAX);
    if (!s) {
        json_decref(o);
        return NULL;
    }
    json_t *hist = json_array();
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        json_t *h = json_pack("{s:I,s:I,s:o,s:s,s:s,s:I}", "id", (json_int_t)db_column_int64(s, 0),
                              "amount_fen", (json_int_t)db_column_int64(s, 1), "amount",
                              yuan(db_column_int64(s, 1)), "at", db_column_text(s, 2), "phase",
                              db_column_text(s, 3), "bidder_no", (json_int_t)db_column_int64(s, 4));
        if (a->company_id && db_column_int64(s, 5) == a->company_id)
            json_object_set_new(h, "mine", json_true());
        json_array_append_new(hist, h);
    }
    db_reset(s);
    if (rc == DB_ERROR) {
        json_decref(hist);
        json_decref(o);
        err_internal(e, "读取竞价记录失败");
        return NULL;
    }
    json_object_set_new(o, "history", hist);
    int64_t nbids = 0, nbidders = 0;
    if (db_query_int(d, e, &nbids, "SELECT COUNT(*) FROM auction_bids WHERE tender_id = $1", "i",
                     x->t.id) < 0 ||
        db_query_int(d, e, &nbidders,
                     "SELECT COUNT(DISTINCT company_id) FROM auction_bids WHERE tender_id = $1",
                     "i", x->t.id) < 0) {
        json_decref(o);
        return NULL;
    }
    json_object_set_new(o, "bids_count", json_integer(nbids));
    json_object_set_new(o, "bidders_count", json_integer(nbidders));

    /* The caller's own position. */
    if (a->company_id) {
        int dep = 0;
        int64_t my_no = bidder_no_of(d, x->t.id, a->company_id, e);
        if (my_no < 0 || deposit_ok(d, x, a->company_id, &dep, e) != 0) {
            json_decref(o);
            return NULL;
        }
        int leading = x->leader_id && x->leader_id == a->company_id;
        int won = x->award_company_id && x->award_company_id == a->company_id;
        const char *msg;
        if (!strcmp(phase, "closed"))
            msg = won ? "您已竞得" : my_no ? "未竞得" : "竞价已结束";
        else if (!strcmp(phase, "ended"))
            msg = leading ? "您当前领先，等待结果" : "报价已截止，等待结果";
        else
            msg = leading ? "您当前领先"
                  : !dep  ? "尚未缴纳足额保证金，不能报价"
                  : my_no ? "您已被超越，可继续加价"
                          : "可以报价";
        json_object_set_new(o, "me",
                            json_pack("{s:b,s:o,s:b,s:b,s:s}", "deposit_paid", dep, "bidder_no",
                                      my_no ? json_integer(my_no) : json_null(), "leading", leading,
                                      "won", won, "message", msg));
    }
    /* The result, once there is one: only now a company name. */
    if (!strcmp(x->t.status, "awarded") || !strcmp(x->t.status, "contracted")) {
        char name[TRADE_NAME_MAX + 1];
        if (company_name(d, x->award_company_id, name, sizeof(name), e) != 0) {
            json_decref(o);
            return NULL;
        }
        double rate = auction_premium_rate(x->award_fen, x->t.reserve_fen);
        json_object_set_new(o, "result",
                            json_pack("{s:s,s:I,s:o,s:s,s:o,s:f,s:o,s:o}", "status", "awarded",
                                      "award_fen", (json_int_t)x->award_fen, "award",
                                      yuan(x->award_fen), "company_name", name, "premium",
                                      pct(rate), "premium_rate", rate, "awarded_at",
                                      iso_or_null(x->awarded_at), "bidder_no",
                                      leader_no ? json_integer(leader_no) : json_null()));
    } else if (!strcmp(x->t.status, "failed") || !strcmp(x->t.status, "cancelled")) {
        json_object_set_new(o, "result",
                            json_pack("{s:s,s:s}", "status", x->t.status, "reason",
                                      x->failed_reason[0] ? x->failed_reason : ""));
    }
    return o;
}

json_t *auction_get(db *d, const trade_actor *a, int64_t id, int64_t now, err *e) {
    auc x;
    if (auc_load(d, id, &x, e) != 0) return NULL;
    /* an anonymous visitor has user_id -1 (the API never passes the system, user 0) */
    if (!strcmp(x.t.status, "draft") && !(a->user_id && trade_actor_can_supervise(a))) {
        err_notfound(e, "项目不存在");
        return NULL;
    }
    if (due(&x, now)) {
        trade_actor sys;
        system_actor(&sys);
        int moved = 0;
        if (advance(d, &sys, id, now, &moved, e) != 0) return NULL;
        if (auc_load(d, id, &x, e) != 0) return NULL;
    }
    return state_json(d, a, &x, now, e);
}

/* ---- bidding ---- */

int auction_bid(db *d, const trade_actor *a, int64_t id, int64_t amount, const char *ip,
                json_t **out, err *e) {
    if (out) *out = NULL;
    int64_t now = time_now();
    if (!a->company_id) return err_forbidden(e, "请先登记竞买企业后再报价");
    if (amount <= 0 || amount > TRADE_MONEY_MAX_FEN)
        return err_invalid(e, "amount", "报价金额超出范围");
    auc x;
    if (auc_load(d, id, &x, e) != 0) return -1;
    if (!strcmp(x.t.status, "draft")) return err_notfound(e, "项目不存在");
    if (due(&x, now)) { /* the moment passed: move on first, then refuse below */
        trade_actor sys;
        system_actor(&sys);
        int moved = 0;
        if (advance(d, &sys, id, now, &moved, e) != 0) return -1;
    }
    if (db_begin(d, e) != 0) return -1;
    /* Reload under the write lock: the price and the end are read and written in the
     * same transaction, and the UPDATE below is conditional on the version. */
    if (auc_load(d, id, &x, e) != 0) goto fail;
    const char *phase = phase_of(&x, now);
    if (strcmp(phase, "listing") != 0 && strcmp(phase, "auction") != 0) {
        err_set(e, 409, "not_open", "status",
                !strcmp(phase, "pending") ? "尚未开始挂牌，不能报价" : "报价已截止");
        goto fail;
    }
    int dep = 0;
    if (deposit_ok(d, &x, a->company_id, &dep, e) != 0) goto fail;
    if (!dep) {
        err_set(e, 422, "deposit_required", "deposit", "未缴纳足额保证金，不能报价");
        goto fail;
    }
    if (x.leader_id == a->company_id) {
        err_set(e, 422, "already_leading", "amount", "您当前领先，无需加价");
        goto fail;
    }
    int64_t lo = min_bid(&x);
    char buf[40], buf2[40];
    if (amount < lo) {
        err_set(e, 422, "bid_too_low", "amount", "报价须不低于 %s",
                trade_money_display(lo, buf, sizeof(buf)));
        goto fail;
    }
    if ((amount - x.t.reserve_fen) % x.p.increment_fen != 0) {
        err_set(e, 422, "bad_increment", "amount", "报价须为起拍价 %s 加整数倍加价幅度 %s",
                trade_money_display(x.t.reserve_fen, buf, sizeof(buf)),
                trade_money_display(x.p.increment_fen, buf2, sizeof(buf2)));
        goto fail;
    }
    int64_t base = x.price_fen ? x.price_fen : x.t.reserve_fen - x.p.increment_fen;
    if ((amount - base) / x.p.increment_fen > x.p.max_steps) {
        err_set(e, 422, "bid_too_high", "amount", "单次加价不得超过 %d 个加价幅度", x.p.max_steps);
        goto fail;
    }
    /* The 竞买号. */
    int64_t no = bidder_no_of(d, id, a->company_id, e);
    if (no < 0) goto fail;
    char now_s[32];
    time_iso(now_s, sizeof(now_s), now);
    int64_t have = 0;
    if (db_query_int(
            d, e, &have,
            "SELECT COUNT(*) FROM auction_bidders WHERE tender_id = $1 AND company_id = $2", "ii",
            id, a->company_id) < 0)
        goto fail;
    if (!have) {
        /* A new number above both the numbers given and the companies that offered. */
        int64_t top = 0, seen = 0;
        if (!no && (db_query_int(d, e, &top,
                                 "SELECT COALESCE(MAX(bidder_no), 0) FROM auction_bidders WHERE "
                                 "tender_id = $1",
                                 "i", id) < 0 ||
                    db_query_int(
                        d, e, &seen,
                        "SELECT COUNT(DISTINCT company_id) FROM auction_bids WHERE tender_id = $1",
                        "i", id) < 0))
            goto fail;
        if (!no) no = (top > seen ? top : seen) + 1;
        if (db_execf(d, e,
                     "INSERT INTO auction_bidders (tender_id, company_id, bidder_no, created_at) "
                     "VALUES ($1, $2, $3, $4)",
                     "iiis", id, a->company_id, no, now_s) != 0)
            goto fail;
    }
    /* 延时: a late 竞价 bid moves the end. */
    int extended = 0;
    int64_t ends = x.ends_at;
    if (!strcmp(phase, "auction") && ends - now < x.p.extend_seconds) {
        ends = now + x.p.extend_seconds;
        extended = 1;
    }
    char ends_s[32];
    if (ends) time_iso(ends_s, sizeof(ends_s), ends);
    if (db_execf(d, e,
                 "UPDATE tenders SET auction_price_fen = $1, auction_leader_id = $2, "
                 "auction_ends_at = $3, updated_at = $4, version = version + 1 WHERE id = $5 AND "
                 "status = $6 AND version = $7 AND COALESCE(auction_price_fen, 0) = $8",
                 "iissisii", amount, a->company_id, ends ? ends_s : NULL, now_s, id, x.t.status,
                 x.t.version, x.price_fen) != 0)
        goto fail;
    if (db_changes(d) != 1) {
        err_conflict(e, "amount", "价格已变化，请刷新后重新报价");
        goto fail;
    }
    if (db_execf(d, e,
                 "INSERT INTO auction_bids (tender_id, company_id, user_id, amount_fen, client_ip, "
                 "at, phase) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                 "iiiisss", id, a->company_id, a->user_id, amount, ip, now_s, phase) != 0)
        goto fail;
    char oid[24];
    snprintf(oid, sizeof(oid), "%lld", (long long)id);
    json_t *before = json_pack("{s:I,s:I}", "price_fen", (json_int_t)x.price_fen, "leader_id",
                               (json_int_t)x.leader_id);
    json_t *after = json_pack("{s:I,s:I,s:I,s:s,s:o}", "price_fen", (json_int_t)amount, "leader_id",
                              (json_int_t)a->company_id, "bidder_no", (json_int_t)no, "phase",
                              phase, "ends_at", ends ? json_string(ends_s) : json_null());
    int arc = audit_record(d, &a->audit, "auction.bid", "tender", oid, before, after, e);
    json_decref(before);
    json_decref(after);
    if (arc != 0) goto fail;
    json_t *ev = json_pack("{s:s,s:I,s:o,s:I,s:o,s:b,s:I}", "phase", phase, "price_fen",
                           (json_int_t)amount, "price", yuan(amount), "bidder_no", (json_int_t)no,
                           "ends_at", ends ? json_string(ends_s) : json_null(), "extended",
                           extended, "next_min_fen", (json_int_t)(amount + x.p.increment_fen));
    int erc = trade_event_append(d, id, "auction_bid", ev, NULL, e);
    json_decref(ev);
    if (erc != 0) goto fail;
    if (db_commit(d, e) != 0) {
        trade_event_discard();
        return -1;
    }
    trade_event_flush();
    if (out) {
        err e2 = {0};
        if (auc_load(d, id, &x, &e2) == 0) *out = state_json(d, a, &x, now, &e2);
    }
    return 0;
fail:
    db_rollback(d);
    trade_event_discard();
    return -1;
}

/* ---- closing ---- */

int auction_close(db *d, const trade_actor *a, int64_t id, json_t **out, err *e) {
    if (out) *out = NULL;
    if (!trade_actor_is_staff(a)) return err_forbidden(e, "只有交易中心工作人员可以结束竞价");
    int64_t now = time_now();
    auc x;
    if (auc_load(d, id, &x, e) != 0) return -1;
    if (strcmp(x.t.status, "announced") != 0 && strcmp(x.t.status, "auction") != 0)
        return err_set(e, 409, "not_open", "status", "竞价已结束（%s）",
                       trade_status_label(x.t.status));
    if (!due(&x, now)) return err_set(e, 409, "not_ended", "status", "竞价尚未结束，不能提前结束");
    int moved = 0;
    if (advance(d, a, id, now, &moved, e) != 0) return -1;
    if (out) *out = auction_get(d, a, id, now, e);
    return 0;
}

int auction_scan(db *d, int64_t now, int *moved_out, err *e) {
    *moved_out = 0;
    char now_s[32];
    time_iso(now_s, sizeof(now_s), now);
    int64_t ids[100];
    int n = 0;
    db_stmt *s = db_query(d, e,
                          "SELECT id FROM tenders WHERE method = 'auction' AND ((status = "
                          "'announced' AND deadline_at <= $1) OR (status = 'auction' AND "
                          "auction_ends_at <= $1)) ORDER BY id LIMIT 100",
                          "s", now_s);
    if (!s) return -1;
    int rc;
    while (n < 100 && (rc = db_step(s)) == DB_ROW)
        ids[n++] = db_column_int64(s, 0);
    db_reset(s);
    trade_actor sys;
    system_actor(&sys);
    for (int i = 0; i < n; i++) {
        int moved = 0;
        err e2 = {0};
        if (advance(d, &sys, ids[i], now, &moved, &e2) != 0) {
            if (e2.status >= 500) {
                *e = e2;
                return -1;
            }
            log_warn("auction watcher: tender %lld: %s", (long long)ids[i], e2.message);
            continue;
        }
        *moved_out += moved;
    }
    return 0;
}

static int scan(db *d, int64_t now, char *summary, size_t n, err *e) {
    int moved = 0;
    if (auction_scan(d, now, &moved, e) != 0) return -1;
    if (moved) snprintf(summary, n, "%d auction(s) moved on", moved);
    return 0;
}

static periodic *watcher;

int auction_watch_start(const char *dsn, err *e) {
    if (watcher) return 0;
    return periodic_start("auction watcher", dsn, "ISLE_AUCTION_SCAN_MS", 5000, scan, &watcher, e);
}

void auction_watch_stop(void) {
    periodic_stop(watcher);
    watcher = NULL;
}
