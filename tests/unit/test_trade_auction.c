/* Unit tests of src/trade/auction.c: parameters, 挂牌 → 竞价 → award, bid rules,
 * 延时, deposits, secrecy of names, 流标 and 挂牌成交, the watcher's scan. */
#include "test.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>

#include "auth/roles.h"
#include "base/timeutil.h"
#include "db/db.h"
#include "trade/auction.h"

#define T0 1798761600LL /* 2027-01-01T00:00:00Z */

static void exec(db *d, const char *sql) {
    err e = {0};
    if (db_exec(d, sql, &e) != 0) fprintf(stderr, "    exec: %s\n    %s\n", e.message, sql);
}

/* Three bidding companies (ids 1..3, users 11..13), each with a user; companies 1 and
 * 2 paid the deposit of tender 1, company 3 paid too little. Tender 1: land, reserve
 * ¥1,000,000.00, increment ¥10,000, 挂牌 until T0 + 3600, 竞价 30 minutes, 延时 300 s. */
static db *setup(const char *params) {
    db *d = test_db_open();
    if (!d) return NULL;
    exec(d, "INSERT INTO users (id, login, display_name, role, password_hash, created_at, "
            "updated_at, password_changed_at) VALUES "
            "(11,'b1','甲','bidder','x','t','t','t'),(12,'b2','乙','bidder','x','t','t','t'),"
            "(13,'b3','丙','company','x','t','t','t'),(14,'ts','周交易','trading_staff','x','t',"
            "'t','t')");
    exec(d, "INSERT INTO trade_companies (id, uscc, name, created_at, updated_at) VALUES "
            "(1,'91330900MA2A000001','舟山甲置业有限公司','t','t'),"
            "(2,'91330900MA2A000002','定海乙实业有限公司','t','t'),"
            "(3,'91330900MA2A000003','普陀丙投资有限公司','t','t')");
    exec(d, "INSERT INTO trade_company_users (user_id, company_id, created_at) VALUES "
            "(11,1,'t'),(12,2,'t'),(13,3,'t')");
    char sql[1024];
    snprintf(
        sql, sizeof(sql),
        "INSERT INTO tenders (id, tender_no, kind, title, buyer, reserve_fen, deposit_fen, "
        "method, method_params, status, announce_at, deadline_at, created_at, updated_at) "
        "VALUES "
        "(1,'ZS-TD-2027-0001','land','定海区某地块国有建设用地使用权','舟山市自然资源和规划局',"
        "100000000,10000000,'auction','%s','announced','2026-12-31T00:00:00Z',"
        "'2027-01-01T01:00:00Z','t','t')",
        params);
    exec(d, sql);
    exec(d, "INSERT INTO trade_deposits (tender_id, company_id, amount_fen, account_no, "
            "account_name, paid_at) VALUES (1,1,10000000,'6222','甲','t'),"
            "(1,2,10000000,'6223','乙','t'),(1,3,100,'6224','丙','t')");
    return d;
}

static trade_actor actor(db *d, int64_t user_id, int role) {
    trade_actor a;
    memset(&a, 0, sizeof(a));
    a.user_id = user_id;
    a.role = role;
    a.audit.user_id = user_id;
    a.audit.login = "t";
    err e = {0};
    trade_actor_load(d, &a, &e);
    return a;
}

static int bid(db *d, const trade_actor *a, int64_t fen, err *e) {
    err_clear(e);
    return auction_bid(d, a, 1, fen, "127.0.0.1", NULL, e);
}

TEST(trade_auction_params) {
    auction_params p;
    err e = {0};
    CHECK_INT(auction_params_parse("{}", 100000000, &p, &e), 0);
    CHECK_INT(p.increment_fen, 1000000); /* 1% of ¥1,000,000 */
    CHECK_INT(p.extend_seconds, 300);
    CHECK_INT(p.auction_minutes, 30);
    CHECK_INT(auction_params_parse("{\"increment\":\"500.50\"}", 100, &p, &e), 0);
    CHECK_INT(p.increment_fen, 50050);
    CHECK_INT(auction_params_parse("{}", 5000, &p, &e), 0);
    CHECK_INT(p.increment_fen, 100); /* at least ¥1 */
    CHECK_INT(auction_params_parse("{\"increment_fen\":0}", 100, &p, &e), -1);
    CHECK_STR(e.field, "increment_fen");
    CHECK_INT(auction_params_parse("{\"extend_seconds\":5}", 100, &p, &e), -1);
    CHECK_STR(e.field, "extend_seconds");
    CHECK_INT(auction_params_parse("[1]", 100, &p, &e), -1);
    CHECK(fabs(auction_premium_rate(112500, 100000) - 0.125) < 1e-12);
    CHECK(auction_premium_rate(1, 0) == 0);
}

TEST(trade_auction_full_run) {
    db *d = setup("{\"increment_fen\":1000000,\"extend_seconds\":300,\"auction_minutes\":30}");
    if (!d) {
        CHECK(0);
        return;
    }
    trade_actor a1 = actor(d, 11, ROLE_BIDDER), a2 = actor(d, 12, ROLE_BIDDER),
                a3 = actor(d, 13, ROLE_COMPANY), staff = actor(d, 14, ROLE_TRADING_STAFF),
                anon = actor(d, 0, 0);
    anon.user_id = 0;
    CHECK_INT(a1.company_id, 1);
    err e = {0};
    time_set_fake(T0 + 60);
    /* 挂牌: first offer at least the reserve, on the increment grid. */
    CHECK_INT(bid(d, &a1, 99000000, &e), -1);
    CHECK_STR(e.code, "bid_too_low");
    CHECK_INT(bid(d, &a1, 100500000, &e), -1);
    CHECK_STR(e.code, "bad_increment");
    CHECK_INT(bid(d, &a1, 100000000 + 101LL * 1000000, &e), -1);
    CHECK_STR(e.code, "bid_too_high");
    CHECK_INT(bid(d, &a3, 100000000, &e), -1);
    CHECK_STR(e.code, "deposit_required");
    CHECK_INT(bid(d, &a1, 100000000, &e), 0);
    CHECK_INT(bid(d, &a1, 101000000, &e), -1);
    CHECK_STR(e.code, "already_leading");
    CHECK_INT(bid(d, &a2, 100000000, &e), -1); /* not above the current price */
    CHECK_STR(e.code, "bid_too_low");
    CHECK_INT(bid(d, &a2, 101000000, &e), 0);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM auction_bids WHERE phase = 'listing'"), 2);
    CHECK_INT(test_db_count(d, "SELECT bidder_no FROM auction_bidders WHERE company_id = 2"), 2);

    /* The public state: price and numbers, never a name. */
    json_t *st = auction_get(d, &anon, 1, time_now(), &e);
    CHECK(st != NULL);
    if (st) {
        CHECK_STR(json_string_value(json_object_get(st, "phase")), "listing");
        CHECK_INT(json_integer_value(json_object_get(st, "price_fen")), 101000000);
        CHECK_INT(json_integer_value(json_object_get(st, "leader_no")), 2);
        CHECK_INT(json_integer_value(json_object_get(st, "min_bid_fen")), 102000000);
        char *text = json_dumps(st, 0);
        CHECK(text && !strstr(text, "有限公司") && !strstr(text, "913309"));
        free(text);
        CHECK(json_object_get(st, "me") == NULL);
        json_decref(st);
    }
    st = auction_get(d, &a2, 1, time_now(), &e);
    if (st) {
        json_t *me = json_object_get(st, "me");
        CHECK(json_is_true(json_object_get(me, "leading")));
        CHECK_STR(json_string_value(json_object_get(me, "message")), "您当前领先");
        json_decref(st);
    }
    /* Closing before the end is refused; bidders cannot close. */
    CHECK_INT(auction_close(d, &staff, 1, NULL, &e), -1);
    CHECK_STR(e.code, "not_ended");
    CHECK_INT(auction_close(d, &a1, 1, NULL, &e), -1);
    CHECK_INT(e.status, 403);

    /* The 挂牌 deadline passes with two bidders: 竞价 until deadline + 30 min. */
    time_set_fake(T0 + 3600);
    st = auction_get(d, &anon, 1, time_now(), &e);
    CHECK(st != NULL);
    if (st) {
        CHECK_STR(json_string_value(json_object_get(st, "status")), "auction");
        CHECK_STR(json_string_value(json_object_get(st, "auction_ends_at")),
                  "2027-01-01T01:30:00Z");
        CHECK_INT(json_integer_value(json_object_get(st, "seconds_left")), 1800);
        json_decref(st);
    }
    /* An early 竞价 bid does not extend; a late one does. */
    time_set_fake(T0 + 3600 + 60);
    CHECK_INT(bid(d, &a1, 102000000, &e), 0);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM tenders WHERE auction_ends_at = "
                               "'2027-01-01T01:30:00Z'"),
              1);
    time_set_fake(T0 + 3600 + 1700); /* 100 s before the end */
    CHECK_INT(bid(d, &a2, 105000000, &e), 0);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM tenders WHERE auction_ends_at = "
                               "'2027-01-01T01:33:20Z'"),
              1);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM opening_events WHERE kind = 'auction_bid'"),
              4);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM audit_log WHERE action = 'auction.bid'"), 4);
    /* Past the old end but before the extended one: still open. */
    time_set_fake(T0 + 3600 + 1850);
    CHECK_INT(bid(d, &a1, 106000000, &e), 0);
    /* After the end: bids refused, the watcher awards to the leader. */
    time_set_fake(T0 + 3600 + 1850 + 301);
    int moved = 0;
    CHECK_INT(auction_scan(d, time_now(), &moved, &e), 0);
    CHECK_INT(moved, 1);
    CHECK_INT(bid(d, &a2, 107000000, &e), -1);
    CHECK_STR(e.code, "not_open");
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM tenders WHERE status = 'awarded' AND "
                               "award_fen = 106000000 AND award_company_id = 1"),
              1);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM audit_log WHERE action = 'auction.award'"), 1);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM audit_log WHERE action = 'tender.awarded'"),
              1);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM tender_notices WHERE kind = 'award' AND "
                               "body LIKE '%增幅 6.00%%'"),
              1);
    st = auction_get(d, &anon, 1, time_now(), &e);
    if (st) {
        json_t *res = json_object_get(st, "result");
        CHECK_STR(json_string_value(json_object_get(res, "company_name")), "舟山甲置业有限公司");
        CHECK_STR(json_string_value(json_object_get(res, "premium")), "6.00%");
        json_decref(st);
    }
    CHECK_INT(auction_scan(d, time_now(), &moved, &e), 0);
    CHECK_INT(moved, 0);
    time_set_fake(0);
    db_close(d);
}

TEST(trade_auction_listing_outcomes) {
    err e = {0};
    /* No offer: 流标. */
    db *d = setup("{}");
    if (!d) {
        CHECK(0);
        return;
    }
    trade_actor staff = actor(d, 14, ROLE_TRADING_STAFF), a1 = actor(d, 11, ROLE_BIDDER);
    time_set_fake(T0 + 3600);
    CHECK_INT(auction_close(d, &staff, 1, NULL, &e), 0);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM tenders WHERE status = 'failed' AND "
                               "failed_reason IS NOT NULL"),
              1);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM tender_notices WHERE kind = 'failed'"), 1);
    CHECK_INT(auction_close(d, &staff, 1, NULL, &e), -1);
    CHECK_STR(e.code, "not_open");
    db_close(d);
    /* One bidder: 挂牌成交 at its offer. */
    d = setup("{}");
    a1 = actor(d, 11, ROLE_BIDDER);
    staff = actor(d, 14, ROLE_TRADING_STAFF);
    time_set_fake(T0 + 10);
    CHECK_INT(bid(d, &a1, 100000000, &e), 0);
    time_set_fake(T0 + 3600);
    CHECK_INT(bid(d, &a1, 101000000, &e), -1); /* the lazy move happens first */
    CHECK_STR(e.code, "not_open");
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM tenders WHERE status = 'awarded' AND "
                               "award_fen = 100000000 AND award_company_id = 1"),
              1);
    time_set_fake(0);
    db_close(d);
}

/* Offers written without auction_bidders rows (the demo year writes auction_bids
 * directly): numbers by first offer, and a live bidder gets the next free number. */
TEST(trade_auction_numbers_without_rows) {
    db *d = setup("{}");
    if (!d) {
        CHECK(0);
        return;
    }
    err e = {0};
    exec(d, "INSERT INTO auction_bids (tender_id, company_id, user_id, amount_fen, at, phase) "
            "VALUES (1, 3, 13, 100000000, '2027-01-01T00:00:10Z', 'listing')");
    exec(d, "UPDATE tenders SET auction_price_fen = 100000000, auction_leader_id = 3 WHERE id = 1");
    trade_actor a1 = actor(d, 11, ROLE_BIDDER), anon = actor(d, 0, 0);
    time_set_fake(T0 + 60);
    json_t *st = auction_get(d, &anon, 1, time_now(), &e);
    CHECK(st != NULL);
    if (st) {
        CHECK_INT(json_integer_value(json_object_get(st, "leader_no")), 1);
        CHECK_INT(json_integer_value(json_object_get(st, "bidders_count")), 1);
        json_decref(st);
    }
    CHECK_INT(bid(d, &a1, 101000000, &e), 0);
    CHECK_INT(test_db_count(d, "SELECT bidder_no FROM auction_bidders WHERE company_id = 1"), 2);
    st = auction_get(d, &anon, 1, time_now(), &e);
    if (st) {
        json_t *h = json_object_get(st, "history");
        CHECK_INT(json_integer_value(json_object_get(json_array_get(h, 0), "bidder_no")), 2);
        CHECK_INT(json_integer_value(json_object_get(json_array_get(h, 1), "bidder_no")), 1);
        json_decref(st);
    }
    time_set_fake(0);
    db_close(d);
}
