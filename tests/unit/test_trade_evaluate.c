/* Unit tests for online evaluation (src/trade/evaluate.c): the three methods with
 * hand-computed numbers, outliers, savings, letters; then a tender in an in-memory
 * database: the draw with avoidance and the shortfall, the sealed panel, the
 * anonymised expert view, scoring (and a bidder refused), compute with an outlier,
 * the report PDF, publicity, an objection blocking the award, award and contract. */
#include "test.h"

#include <math.h>
#include <stdlib.h>

#include "audit/audit.h"
#include "auth/roles.h"
#include "base/jsonx.h"
#include "base/timeutil.h"
#include "db/db.h"
#include "proofs/proofs.h"
#include "trade/evaluate.h"
#include "trade/trade.h"

#define NEAR(a, b) (fabs((a) - (b)) < 1e-6)

static evaluate_bid mkbid(int64_t id, int64_t price_yuan, int64_t at, double tech) {
    evaluate_bid b;
    memset(&b, 0, sizeof(b));
    b.bid_id = id;
    b.price_fen = price_yuan * 100;
    b.submitted_at = at;
    b.tech_score = tech;
    b.valid = 1;
    return b;
}

/* ---- the pure methods ---- */

TEST(evaluate_composite_price_score) {
    /* 评标基准价 = 90 (lowest valid); A: 90/100 × 30 = 27, total 27 + 60 = 87; B: 30 + 55 = 85;
     * C above the budget (110) is invalid and does not set the reference. */
    evaluate_bid b[3] = {mkbid(1, 100, 10, 60), mkbid(2, 90, 20, 55), mkbid(3, 80 + 40, 5, 65)};
    evaluate_params p = {.method = "composite", .budget_fen = 11000, .price_weight = 30};
    double ref = 0;
    CHECK_INT(evaluate_rank(b, 3, &p, &ref), 2);
    CHECK(NEAR(ref, 9000));
    CHECK(NEAR(b[0].price_score, 27));
    CHECK(NEAR(b[0].total_score, 87));
    CHECK(NEAR(b[1].price_score, 30));
    CHECK(NEAR(b[1].total_score, 85));
    CHECK_INT(b[0].rank, 1);
    CHECK_INT(b[1].rank, 2);
    CHECK_INT(b[2].valid, 0);
    CHECK_INT(b[2].rank, 0);
    CHECK(strstr(b[2].reason, "最高限价") != NULL);
    /* Scores are rounded to 2 decimals: 90/97 × 30 = 27.835… → 27.84. */
    evaluate_bid c[2] = {mkbid(1, 97, 1, 50), mkbid(2, 90, 2, 50)};
    CHECK_INT(evaluate_rank(c, 2, &p, &ref), 2);
    CHECK(NEAR(c[0].price_score, 27.84));
    /* A tie on the total goes to the earlier submission. */
    evaluate_bid t[2] = {mkbid(1, 100, 50, 63), mkbid(2, 90, 40, 60)}; /* 27+63 = 30+60 */
    evaluate_rank(t, 2, &p, &ref);
    CHECK_INT(t[1].rank, 1);
    CHECK_INT(t[0].rank, 2);
}

TEST(evaluate_lowest_price_and_qualification) {
    evaluate_bid b[5] = {mkbid(1, 100, 10, 0), mkbid(2, 95, 30, 0), mkbid(3, 95, 20, 0),
                         mkbid(4, 130, 5, 0), mkbid(5, 80, 1, 0)};
    b[4].qual_total = 5;
    b[4].qual_fail = 3; /* a majority fails the cheapest bid */
    b[0].qual_total = 5;
    b[0].qual_fail = 2; /* a minority does not */
    evaluate_params p = {.method = "lowest_price", .budget_fen = 12000};
    double ref = 0;
    CHECK_INT(evaluate_rank(b, 5, &p, &ref), 3);
    CHECK(NEAR(ref, 9500));
    CHECK_INT(b[2].rank, 1); /* 95, earlier */
    CHECK_INT(b[1].rank, 2); /* 95, later */
    CHECK_INT(b[0].rank, 3);
    CHECK_INT(b[3].valid, 0);
    CHECK_INT(b[4].valid, 0);
    CHECK(strstr(b[4].reason, "资格审查未通过") != NULL);
    evaluate_params bad = {.method = "auction"};
    CHECK_INT(evaluate_rank(b, 5, &bad, &ref), -1);
}

TEST(evaluate_reasonable_low_benchmark) {
    /* Five valid: drop 100 and 80 → (96 + 92 + 88) / 3 = 92, × 0.96 = 88.32. Distances:
     * 88 → 0.32, 92 → 3.68, 96 → 7.68, 80 → 8.32, 100 → 11.68. 130 is above the budget. */
    evaluate_bid b[6] = {mkbid(1, 100, 1, 0), mkbid(2, 96, 2, 0), mkbid(3, 92, 3, 0),
                         mkbid(4, 88, 4, 0),  mkbid(5, 80, 5, 0), mkbid(6, 130, 6, 0)};
    evaluate_params p = {.method = "reasonable_low", .budget_fen = 12000, .benchmark_factor = 0.96};
    double ref = 0;
    CHECK_INT(evaluate_rank(b, 6, &p, &ref), 5);
    CHECK(NEAR(ref, 8832));
    CHECK_INT(b[3].rank, 1);
    CHECK_INT(b[2].rank, 2);
    CHECK_INT(b[1].rank, 3);
    CHECK_INT(b[4].rank, 4);
    CHECK_INT(b[0].rank, 5);
    CHECK_INT(b[5].valid, 0);
    /* Four valid: the plain mean (100 + 96 + 92 + 88) / 4 = 94 × 0.96 = 90.24 → 92 wins
     * (1.76) over 88 (2.24). */
    evaluate_bid c[4] = {mkbid(1, 100, 1, 0), mkbid(2, 96, 2, 0), mkbid(3, 92, 3, 0),
                         mkbid(4, 88, 4, 0)};
    CHECK_INT(evaluate_rank(c, 4, &p, &ref), 4);
    CHECK(NEAR(ref, 9024));
    CHECK_INT(c[2].rank, 1);
    CHECK_INT(c[3].rank, 2);
}

TEST(evaluate_outliers_flag) {
    /* 20 against others' mean 60.25 (sd ≈ 1.48): deviation 40.25 > max(14, 2.96). The
     * others are within their thresholds (for 60: mean 50.25, sd ≈ 17.5 → limit 35). */
    double s[5] = {60, 62, 58, 61, 20};
    int f[5];
    CHECK_INT(evaluate_outliers(s, 5, 70, f), 1);
    CHECK_INT(f[4], 1);
    CHECK_INT(f[0] + f[1] + f[2] + f[3], 0);
    /* 13 points apart at max 70 is within 20 % (14): not flagged. */
    double t[3] = {50, 50, 37};
    CHECK_INT(evaluate_outliers(t, 3, 70, f), 0);
    double u[3] = {50, 50, 35};
    CHECK_INT(evaluate_outliers(u, 3, 70, f), 1);
    CHECK_INT(f[2], 1);
    CHECK_INT(evaluate_outliers(t, 2, 70, f), 0); /* two experts: nothing to compare */
}

TEST(evaluate_savings_and_letters) {
    CHECK(NEAR(evaluate_savings(100000, 94500), 0.055));
    CHECK(NEAR(evaluate_savings(0, 100), 0));
    char b[8];
    CHECK_STR(evaluate_bid_letter(0, b, sizeof(b)), "A");
    CHECK_STR(evaluate_bid_letter(25, b, sizeof(b)), "Z");
    CHECK_STR(evaluate_bid_letter(26, b, sizeof(b)), "A1");
}

/* ---- a tender in a database ---- */

static const audit_actor t_audit = {0, "test", NULL};

static int64_t user_add(db *d, const char *login, const char *role) {
    err e = {0};
    int64_t id = 0;
    db_stmt *s =
        db_query(d, &e,
                 "INSERT INTO users (login, display_name, role, password_hash, created_at, "
                 "updated_at, password_changed_at) VALUES ($1, $1, $2, 'x', "
                 "'2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z') "
                 "RETURNING id",
                 "ss", login, role);
    if (s && db_step(s) == DB_ROW) id = db_column_int64(s, 0);
    if (s) db_reset(s);
    return id;
}

static int64_t one(db *d, const char *sql, const char *a1, const char *a2) {
    err e = {0};
    int64_t id = 0;
    db_stmt *s = db_query(d, &e, sql, "ss", a1, a2);
    if (s && db_step(s) == DB_ROW) id = db_column_int64(s, 0);
    if (s) db_reset(s);
    if (!id) fprintf(stderr, "    %s: %s\n", sql, e.message);
    return id;
}

static trade_actor actor(db *d, int64_t user_id, int role) {
    trade_actor a;
    memset(&a, 0, sizeof(a));
    a.user_id = user_id;
    a.role = role;
    a.audit = t_audit;
    a.audit.user_id = user_id;
    err e = {0};
    trade_actor_load(d, &a, &e);
    return a;
}

typedef struct fixture {
    db *d;
    int64_t tender, company[4], bidder_user[4], expert_user[9], expert[9];
    trade_actor staff;
} fixture;

#define BUYER "舟山市定海区交通运输局"
static const char *const companies[4] = {"东港建设集团有限公司", "舟山海天建设有限公司",
                                         "宁波甬江路桥有限公司", "浙江定海市政工程有限公司"};
static const char *const usccs[4] = {"91330900MA2A000001", "91330900MA2A000002",
                                     "91330900MA2A000003", "91330900MA2A000004"};

/* Four bidders (opened: 1000000, 950000, 980000, 1200000 yuan with a budget of
 * 1100000, so D is invalid); experts 1–5 eligible (works), 6 employed by bidder A, 7
 * tied to the buyer, 8 employed by the buyer, 9 a procurement specialist. */
static int fixture_open(fixture *f, const char *method) {
    memset(f, 0, sizeof(*f));
    f->d = test_db_open();
    if (!f->d) return -1;
    db *d = f->d;
    err e = {0};
    f->staff = actor(d, 0, ROLE_TRADING_STAFF);
    int64_t root =
        one(d,
            "INSERT INTO ca_roots (name, subject, fingerprint, key_type, pem, not_after, "
            "added_at) VALUES ($1, 'CN=t', $2, 'rsa', 'x', '2030-01-01T00:00:00Z', "
            "'2026-01-01T00:00:00Z') RETURNING id",
            "测试CA", "fp-root");
    f->tender =
        one(d,
            "INSERT INTO tenders (tender_no, kind, title, buyer, agency, budget_fen, method, "
            "method_params, status, deadline_at, benchmark_factor, created_at, updated_at) "
            "VALUES ('ZS-GC-2026-0901', 'works', '定海港区道路改造工程', $1, "
            "'舟山招标代理有限公司', 110000000, $2, '{\"price_weight\":30}', 'evaluation', "
            "'2026-10-01T02:00:00Z', 0.96, '2026-09-01T00:00:00Z', '2026-09-01T00:00:00Z') "
            "RETURNING id",
            BUYER, method);
    static const int64_t prices[4] = {100000000, 95000000, 98000000, 120000000};
    for (int i = 0; i < 4; i++) {
        char login[32], fp[32], at[32];
        snprintf(login, sizeof(login), "bidder%d", i);
        f->bidder_user[i] = user_add(d, login, "bidder");
        f->company[i] = one(d,
                            "INSERT INTO trade_companies (uscc, name, created_at, updated_at) "
                            "VALUES ($1, $2, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z') "
                            "RETURNING id",
                            usccs[i], companies[i]);
        db_execf(
            d, &e,
            "INSERT INTO trade_company_users (user_id, company_id, created_at) VALUES ($1, $2, "
            "'2026-01-01T00:00:00Z')",
            "ii", f->bidder_user[i], f->company[i]);
        snprintf(fp, sizeof(fp), "fp-%d", i);
        db_execf(
            d, &e,
            "INSERT INTO trade_certs (user_id, company_id, fingerprint, serial, subject, issuer, "
            "key_type, pubkey_sha256, ca_root_id, pem, not_before, not_after, registered_at) "
            "VALUES ($1, $2, $3, '01', 'CN=x', 'CN=t', 'rsa', 'k', $4, 'x', "
            "'2026-01-01T00:00:00Z', '2030-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
            "iisi", f->bidder_user[i], f->company[i], fp, root);
        snprintf(at, sizeof(at), "2026-09-30T0%d:00:00Z", i + 1);
        db_execf(
            d, &e,
            "INSERT INTO bids (tender_id, company_id, user_id, cert_id, seq, status, "
            "envelope_kind, envelope_sha256, envelope_size, commitment_sha256, commitment_sig, "
            "receipt, receipt_sig, submitted_at, price_fen, duration_days, quality, "
            "project_manager, created_at, updated_at) VALUES ($1, $2, $3, (SELECT id FROM "
            "trade_certs WHERE fingerprint = $4), 1, 'opened', 'cms', 'x', 0, 'x', 'x', '{}', "
            "'', $5, $6, 180, '合格', '项目经理甲', $5, $5)",
            "iiissi", f->tender, f->company[i], f->bidder_user[i], fp, at, prices[i]);
    }
    for (int i = 0; i < 9; i++) {
        char login[32], name[32];
        snprintf(login, sizeof(login), "expert%d", i + 1);
        snprintf(name, sizeof(name), "专家%d", i + 1);
        f->expert_user[i] = user_add(d, login, "expert");
        const char *spec = i == 8 ? "[\"procurement\"]" : "[\"works\",\"civil\"]";
        const char *employer = i == 5 ? companies[0] : i == 7 ? BUYER : "浙江海洋大学";
        const char *uscc = i == 5 ? usccs[0] : "12330900470000001X";
        db_execf(
            d, &e,
            "INSERT INTO experts (user_id, name, specialties, employer, employer_uscc, active, "
            "created_at) VALUES ($1, $2, $3, $4, $5, 1, '2026-01-01T00:00:00Z')",
            "issss", f->expert_user[i], name, spec, employer, uscc);
        f->expert[i] = one(d, "SELECT id FROM experts WHERE name = $1 AND $2 = $2", name, "");
    }
    db_execf(d, &e,
             "INSERT INTO expert_conflicts (expert_id, party, reason) VALUES ($1, $2, '曾任职')",
             "is", f->expert[6], BUYER);
    return f->tender ? 0 : -1;
}

static int contains(json_t *j, const char *needle) {
    char *s = jsonx_dump(j);
    int r = s && strstr(s, needle) != NULL;
    free(s);
    return r;
}

TEST(evaluate_draw_avoidance_and_seal) {
    fixture f;
    if (fixture_open(&f, "composite") != 0) {
        CHECK(0);
        return;
    }
    db *d = f.d;
    err e = {0};
    /* Only experts 1–5 qualify: 7 is a shortfall of 2, named in the message. */
    CHECK_INT(evaluate_draw(d, &f.staff, f.tender, 7, NULL, &e), -1);
    CHECK_INT(e.status, 409);
    CHECK(strstr(e.message, "仅 5 名") && strstr(e.message, "还差 2 名"));
    CHECK_INT(evaluate_draw(d, &f.staff, f.tender, 4, NULL, &e), -1); /* even */
    CHECK_INT(e.status, 400);
    trade_actor bidder = actor(d, f.bidder_user[0], ROLE_BIDDER);
    CHECK_INT(evaluate_draw(d, &bidder, f.tender, 5, NULL, &e), -1);
    CHECK_INT(e.status, 403);
    json_t *out = NULL;
    CHECK_INT(evaluate_draw(d, &f.staff, f.tender, 5, &out, &e), 0);
    json_decref(out);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM tender_experts"), 5);
    char sql[200];
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM tender_experts WHERE expert_id IN (%lld, %lld, %lld, %lld)",
             (long long)f.expert[5], (long long)f.expert[6], (long long)f.expert[7],
             (long long)f.expert[8]);
    CHECK_INT(test_db_count(d, sql), 0);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM tender_experts WHERE chair = 1"), 1);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM audit_log WHERE action = 'evaluate.draw'"), 1);
    CHECK_INT(evaluate_draw(d, &f.staff, f.tender, 5, NULL, &e), -1); /* once */
    CHECK_INT(e.status, 409);
    /* Sealed: staff see the count, no names; bidders nothing; an expert themselves. */
    json_t *p = evaluate_experts_get(d, &f.staff, f.tender, &e);
    CHECK(p && json_is_true(json_object_get(p, "sealed")));
    CHECK_INT(json_integer_value(json_object_get(p, "count")), 5);
    CHECK(p && !json_object_get(p, "items") && !contains(p, "专家1"));
    json_decref(p);
    CHECK(evaluate_experts_get(d, &bidder, f.tender, &e) == NULL);
    CHECK_INT(e.status, 403);
    trade_actor ex = actor(d, f.expert_user[0], ROLE_EXPERT);
    p = evaluate_experts_get(d, &ex, f.tender, &e);
    CHECK(p && json_object_get(p, "me") != NULL);
    json_decref(p);
    db_close(d);
}

/* Score as expert i: composite scores[] per letter A..C (D is over budget but scored). */
static int score(fixture *f, int i, const double *tech, err *e) {
    trade_actor ex = actor(f->d, f->expert_user[i], ROLE_EXPERT);
    json_t *in = json_pack("{s:[{s:s,s:f},{s:s,s:f},{s:s,s:f},{s:s,s:f,s:s}]}", "scores", "bid_ref",
                           "A", "tech_score", tech[0], "bid_ref", "B", "tech_score", tech[1],
                           "bid_ref", "C", "tech_score", tech[2], "bid_ref", "D", "tech_score",
                           tech[3], "comment", "方案完整");
    int rc = evaluate_scores_put(f->d, &ex, f->tender, in, e);
    json_decref(in);
    if (rc == 0) rc = evaluate_scores_submit(f->d, &ex, f->tender, e);
    return rc;
}

TEST(evaluate_composite_flow) {
    fixture f;
    if (fixture_open(&f, "composite") != 0) {
        CHECK(0);
        return;
    }
    db *d = f.d;
    err e = {0};
    CHECK_INT(evaluate_draw(d, &f.staff, f.tender, 5, NULL, &e), 0);
    /* The expert's view: letters, prices, no company name, USCC, bid id or manager. */
    trade_actor ex = actor(d, f.expert_user[0], ROLE_EXPERT);
    json_t *v = evaluate_get(d, &ex, f.tender, &e);
    CHECK(v != NULL);
    CHECK_STR(jsonx_str(v, "view"), "expert");
    CHECK_INT(json_array_size(json_object_get(v, "bids")), 4);
    CHECK_STR(jsonx_str(json_array_get(json_object_get(v, "bids"), 1), "ref"), "B");
    for (int i = 0; i < 4; i++) {
        CHECK(!contains(v, companies[i]));
        CHECK(!contains(v, usccs[i]));
    }
    CHECK(!contains(v, "项目经理甲") && !contains(v, "bid_id") && !contains(v, "company"));
    json_decref(v);
    /* Not on the panel (expert 9) / a bidder: refused. */
    trade_actor other = actor(d, f.expert_user[8], ROLE_EXPERT);
    double sc[4] = {60, 55, 50, 65};
    json_t *in = json_pack("{s:[{s:s,s:f}]}", "scores", "bid_ref", "A", "tech_score", 50.0);
    CHECK_INT(evaluate_scores_put(d, &other, f.tender, in, &e), -1);
    CHECK_INT(e.status, 403);
    trade_actor bidder = actor(d, f.bidder_user[1], ROLE_BIDDER);
    CHECK_INT(evaluate_scores_put(d, &bidder, f.tender, in, &e), -1);
    CHECK_INT(e.status, 403);
    json_decref(in);
    /* Out of range and unknown letters name the field. */
    in = json_pack("{s:[{s:s,s:f}]}", "scores", "bid_ref", "A", "tech_score", 71.0);
    CHECK_INT(evaluate_scores_put(d, &ex, f.tender, in, &e), -1);
    CHECK_INT(e.status, 400);
    CHECK_STR(e.field, "scores[0].tech_score");
    json_decref(in);
    in = json_pack("{s:[{s:s,s:f}]}", "scores", "bid_ref", "Q", "tech_score", 1.0);
    CHECK_INT(evaluate_scores_put(d, &ex, f.tender, in, &e), -1);
    CHECK_STR(e.field, "scores[0]");
    json_decref(in);
    /* Compute before everyone submitted: 409. */
    CHECK_INT(evaluate_compute(d, &f.staff, f.tender, &e), -1);
    CHECK_INT(e.status, 409);
    /* Panel members by draw order; the fourth gives A 20 (an outlier). */
    int64_t uid[5];
    {
        db_stmt *s = db_query(d, &e,
                              "SELECT x.user_id FROM tender_experts t JOIN experts x ON x.id = "
                              "t.expert_id ORDER BY t.draw_seq",
                              "");
        int k = 0;
        while (s && db_step(s) == DB_ROW && k < 5)
            uid[k++] = db_column_int64(s, 0);
        if (s) db_reset(s);
    }
    for (int k = 0; k < 5; k++) {
        int idx = -1;
        for (int j = 0; j < 9; j++)
            if (f.expert_user[j] == uid[k]) idx = j;
        double mine[4] = {k == 3 ? 20 : 60, 55, 50, 65};
        if (k == 3) mine[0] = 20;
        CHECK_INT(score(&f, idx, k == 3 ? mine : sc, &e), 0);
    }
    CHECK_INT(score(&f, 0, sc, &e), -1); /* submitted already */
    CHECK_INT(e.status, 409);
    CHECK_INT(evaluate_compute(d, &f.staff, f.tender, &e), 0);
    /* Tech A = (60×4 + 20)/5 = 52; price A = 950000/1000000 × 30 = 28.5 → 80.5.
     * B: 30 + 55 = 85 (rank 1). C: 950000/980000 × 30 = 29.08 + 50 = 79.08. D invalid. */
    CHECK_INT(test_db_count(d, "SELECT rank FROM tender_results r JOIN bids b ON b.id = r.bid_id "
                               "WHERE b.price_fen = 95000000"),
              1);
    CHECK_INT(test_db_count(d, "SELECT CAST(total_score * 100 AS INTEGER) FROM tender_results r "
                               "JOIN bids b ON b.id = r.bid_id WHERE b.price_fen = 100000000"),
              8050);
    CHECK_INT(test_db_count(d,
                            "SELECT CAST(ROUND(total_score * 100) AS INTEGER) FROM "
                            "tender_results r JOIN bids b ON b.id = r.bid_id WHERE b.price_fen = "
                            "98000000"),
              7908);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM tender_results WHERE valid = 0 AND reason "
                               "LIKE '%最高限价%'"),
              1);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM tender_results WHERE outliers LIKE "
                               "'%others_mean%'"),
              1);
    /* The panel is unsealed now; the expert sees company names. */
    json_t *p = evaluate_experts_get(d, &bidder, f.tender, &e);
    CHECK(p && json_array_size(json_object_get(p, "items")) == 5);
    json_decref(p);
    v = evaluate_get(d, &ex, f.tender, &e);
    CHECK(v && contains(v, companies[1]));
    json_decref(v);
    /* The report. */
    if (proofs_font_path()) {
        unsigned char *pdf = NULL;
        size_t len = 0;
        CHECK_INT(evaluate_report_pdf(d, &f.staff, f.tender, &pdf, &len, &e), 0);
        CHECK(pdf && len > 1000 && !memcmp(pdf, "%PDF", 4));
        free(pdf);
    }
    CHECK_INT(evaluate_report_pdf(d, &bidder, f.tender, &(unsigned char *){NULL}, &(size_t){0}, &e),
              -1);
    CHECK_INT(e.status, 403);
    /* Publicity → objection → award blocked → reply → award → contract. */
    CHECK_INT(evaluate_award(d, &f.staff, f.tender, &e), -1);
    CHECK_INT(e.status, 409);
    CHECK_INT(evaluate_publicize(d, &f.staff, f.tender, &e), 0);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM tender_notices WHERE kind = 'candidates'"), 1);
    v = evaluate_get(d, &(trade_actor){.user_id = -1}, f.tender, &e);
    CHECK(v && json_array_size(json_object_get(v, "candidates")) == 3);
    CHECK_STR(jsonx_str(json_array_get(json_object_get(v, "candidates"), 0), "company_name"),
              companies[1]);
    json_decref(v);
    int64_t oid = 0;
    CHECK_INT(evaluate_objection_add(d, &bidder, f.tender, "第一中标候选人业绩证明存疑", &oid, &e),
              0);
    CHECK_INT(evaluate_award(d, &f.staff, f.tender, &e), -1); /* publicity not over */
    CHECK_STR(e.field, "publicity_until");
    db_execf(d, &e, "UPDATE tenders SET publicity_until = '2026-01-01T00:00:00Z' WHERE id = $1",
             "i", f.tender);
    CHECK_INT(evaluate_award(d, &f.staff, f.tender, &e), -1); /* the objection waits */
    CHECK_STR(e.field, "objections");
    CHECK_INT(evaluate_objection_reply(d, &f.staff, f.tender, oid, "经核查，业绩真实有效。", &e),
              0);
    CHECK_INT(evaluate_objection_reply(d, &f.staff, f.tender, oid, "again", &e), -1);
    CHECK_INT(e.status, 409);
    CHECK_INT(evaluate_award(d, &f.staff, f.tender, &e), 0);
    CHECK_INT(test_db_count(d, "SELECT award_fen FROM tenders"), 95000000);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM tender_notices WHERE kind = 'award' AND body "
                               "LIKE '%节约率 13.64%%'"),
              1);
    CHECK_INT(evaluate_contract(d, &f.staff, f.tender, "", 0, &e), -1);
    CHECK_STR(e.field, "contract_no");
    CHECK_INT(evaluate_contract(d, &f.staff, f.tender, "HT-2026-0901", 0, &e), 0);
    CHECK_INT(test_db_count(d, "SELECT contract_fen FROM tenders"), 95000000);
    trade_tender t;
    trade_tender_load(d, f.tender, &t, &e);
    CHECK_STR(t.status, "contracted");
    audit_verify_result av;
    CHECK_INT(audit_verify(d, &av, &e), 0);
    CHECK(av.ok);
    db_close(d);
}

/* Qualification methods: pass/fail, a majority fail invalidates, fewer than three valid
 * bids fail the tender. */
TEST(evaluate_qualification_fails_tender) {
    fixture f;
    if (fixture_open(&f, "lowest_price") != 0) {
        CHECK(0);
        return;
    }
    db *d = f.d;
    err e = {0};
    CHECK_INT(evaluate_draw(d, &f.staff, f.tender, 3, NULL, &e), 0);
    db_stmt *s = db_query(d, &e,
                          "SELECT x.user_id FROM tender_experts t JOIN experts x ON x.id = "
                          "t.expert_id ORDER BY t.draw_seq",
                          "");
    int64_t uid[3];
    int k = 0;
    while (s && db_step(s) == DB_ROW && k < 3)
        uid[k++] = db_column_int64(s, 0);
    if (s) db_reset(s);
    for (k = 0; k < 3; k++) {
        trade_actor ex = actor(d, uid[k], ROLE_EXPERT);
        /* Without a reason a fail is refused. */
        json_t *in = json_pack("{s:[{s:s,s:b}]}", "scores", "bid_ref", "B", "pass", 0);
        CHECK_INT(evaluate_scores_put(d, &ex, f.tender, in, &e), -1);
        CHECK_STR(e.field, "scores[0].reason");
        json_decref(in);
        /* Two of three fail B (the cheapest): B invalid; D over budget → 2 valid → 流标. */
        in = json_pack("{s:[{s:s,s:b},{s:s,s:b,s:s},{s:s,s:b},{s:s,s:b}]}", "scores", "bid_ref",
                       "A", "pass", 1, "bid_ref", "B", "pass", k == 2, "reason", "业绩不满足",
                       "bid_ref", "C", "pass", 1, "bid_ref", "D", "pass", 1);
        CHECK_INT(evaluate_scores_put(d, &ex, f.tender, in, &e), 0);
        json_decref(in);
        CHECK_INT(evaluate_scores_submit(d, &ex, f.tender, &e), 0);
    }
    CHECK_INT(evaluate_compute(d, &f.staff, f.tender, &e), 0);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM tender_results WHERE valid = 1"), 2);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM tender_results WHERE reason LIKE "
                               "'%资格审查未通过（2/3%'"),
              1);
    trade_tender t;
    trade_tender_load(d, f.tender, &t, &e);
    CHECK_STR(t.status, "failed");
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM tender_notices WHERE kind = 'failed'"), 1);
    db_close(d);
}

TEST(evaluate_demo_pool) {
    db *d = test_db_open();
    if (!d) {
        CHECK(0);
        return;
    }
    err e = {0};
    int64_t u = user_add(d, "expert", "expert");
    CHECK_INT(evaluate_demo_experts(d, &t_audit, 40, &e), 0);
    CHECK_INT(evaluate_demo_experts(d, &t_audit, 40, &e), 0); /* idempotent */
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM experts"), 40);
    char sql[100];
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM experts WHERE user_id = %lld", (long long)u);
    CHECK_INT(test_db_count(d, sql), 1);
    CHECK_INT(test_db_count(d, "SELECT COUNT(DISTINCT employer) FROM experts"), 10);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM experts WHERE specialties LIKE '%works%'"),
              25);
    /* The generated employer codes pass the USCC check (the add API enforces it). */
    db_stmt *s = db_query(d, &e, "SELECT DISTINCT employer_uscc FROM experts", "");
    while (s && db_step(s) == DB_ROW)
        CHECK(trade_uscc_valid(db_column_text(s, 0)));
    if (s) db_reset(s);
    trade_actor staff = actor(d, 0, ROLE_TRADING_STAFF);
    json_t *in = json_pack("{s:s,s:[s],s:s}", "name", "新专家", "specialties", "works",
                           "employer_uscc", "91330900MA2A000009");
    int64_t id = 0;
    CHECK_INT(evaluate_expert_add(d, &staff, in, &id, &e), -1);
    CHECK_STR(e.field, "employer_uscc");
    json_object_del(in, "employer_uscc");
    CHECK_INT(evaluate_expert_add(d, &staff, in, &id, &e), 0);
    json_object_set_new(in, "user_login", json_string("expert"));
    CHECK_INT(evaluate_expert_add(d, &staff, in, &id, &e), -1); /* linked already */
    CHECK_INT(e.status, 409);
    json_decref(in);
    db_close(d);
}
