/* Unit tests for src/stats/: the service indicators over a small hand-made data
 * set whose every figure is worked out by hand below (working days by the
 * 2026 calendar: 劳动节 1–5 May off, Saturday 9 May worked), the window and
 * cohort rules, splits and filters, empty windows, the incremental refresh, the
 * demo generator's consistency, and the parameter checks.
 * Run from the repository root (holiday files are read from data/holidays). */
#include "test.h"

#include <math.h>
#include <stdlib.h>

#include "base/timeutil.h"
#include "cases/demo.h"
#include "db/db.h"
#include "stats/stats.h"
#include "workcal/workcal.h"

#define DEP_A "部门甲"
#define DEP_B "部门乙"
#define T1    "330902001"
#define T2    "330902002"
/* 2026-06-15 10:00 Shanghai (Monday). */
#define NOW_ISO "2026-06-15T02:00:00Z"

static void add_item(db *d, const char *code, const char *dep, double legal, double promise,
                     int depth) {
    err e = {0};
    db_execf(d, &e,
             "INSERT INTO catalog_items (code, name, type, department, level, legal_days, "
             "promise_days, fee, online_depth, visits, commitment, instant, scope_cross_province, "
             "scope_province, scope_yongzhou, area_code, doc, version, updated_at, updated_by) "
             "VALUES ($1, $1, '行政许可', $2, '市级', $3, $4, '不收费', $5, 0, 0, 0, 0, 0, 0, "
             "'330900', '{}', 1, '2026-01-01T00:00:00Z', 'test')",
             "ssddi", code, dep, legal, promise, (int64_t)depth);
}

typedef struct case_in {
    int64_t id;
    const char *kind, *item, *dep, *channel, *town, *status;
    const char *submitted, *accepted, *decided, *deadline;
    int visits;
    double promise, legal;
    int64_t suspended;
} case_in;

static void add_case(db *d, int64_t applicant, const case_in *c) {
    err e = {0};
    char no[32];
    snprintf(no, sizeof(no), "ZS260601%07lld", (long long)c->id);
    int rc = db_execf(
        d, &e,
        "INSERT INTO cases (id, case_no, kind, item_code, item_name, applicant_id, channel, "
        "department, town_code, status, form, submitted_at, accepted_at, decided_at, "
        "deadline_at, visits, promise_days, legal_days, suspended_seconds, created_at, "
        "updated_at) VALUES ($1, $2, $3, $4, 'x', $5, $6, $7, $8, $9, '{}', $10, $11, $12, $13, "
        "$14, $15, $16, $17, '2026-04-01T00:00:00Z', '2026-06-14T00:00:00Z')",
        "isssissssssssiddi", c->id, no, c->kind ? c->kind : "item", c->item, applicant, c->channel,
        c->dep, c->town, c->status, c->submitted, c->accepted, c->decided, c->deadline,
        (int64_t)c->visits, c->promise, c->legal, c->suspended);
    if (rc != 0) fprintf(stderr, "    add_case %lld: %s\n", (long long)c->id, e.message);
}

static void add_material(db *d, int64_t case_id, int idx, int required, const char *by) {
    err e = {0};
    int waived = !strcmp(by, "licence") || !strcmp(by, "commitment");
    db_execf(d, &e,
             "INSERT INTO case_materials (case_id, idx, name, required, satisfied_by, waived, "
             "created_at) VALUES ($1, $2, 'm', $3, $4, $5, '2026-06-01T00:00:00Z')",
             "iiisi", case_id, (int64_t)idx, (int64_t)required, by, (int64_t)waived);
}

static void add_rating(db *d, int64_t id, int64_t case_id, int64_t rater, const char *dep,
                       const char *item, const char *channel, int overall, const char *at) {
    err e = {0};
    db_execf(d, &e,
             "INSERT INTO ratings (id, case_id, rater_id, department, item_code, channel, overall, "
             "dims, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, '{}', $8)",
             "iiisssis", id, case_id, rater, dep, item, channel, (int64_t)overall, at);
}

static void add_ticket(db *d, int64_t rating, int64_t case_id, const char *dep, const char *status,
                       const char *opened, const char *callback, const char *due) {
    err e = {0};
    db_execf(d, &e,
             "INSERT INTO rating_tickets (rating_id, case_id, department, status, opened_at, "
             "callback_at, rectify_due, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $5)",
             "iisssss", rating, case_id, dep, status, opened, callback, due);
}

/* The data set (times UTC; Shanghai is +8):
 *   1 A online  T1 delivered  acc Mon 06-01 10:00 → dec Wed 06-03 10:00 = 2.00 wd; 3 required
 *                             materials, 1 waived (licence); an optional licence (not counted)
 *   2 A window  T1 approved   acc Tue 06-02 09:00 → 14:00 = 3.5 h = 0.47 wd, same day; visits 1;
 *                             2 required, 1 waived (commitment)
 *   3 B assisted T2 denied    acc Wed 06-03 11:00 → Thu 09:30 = 6 h = 0.80 wd; deadline Wed
 *                             17:30 → late; 1 required, waived
 *   4 A online  T2 in_review  deadline 06-12 17:30 passed → open and overdue; 2 required uploads
 *   5 B station T1 submitted  visits 1, no materials, no deadline
 *   6 A online  T1 delivered  submitted 05-20 (before the window), decided Mon 06-01 10:00:
 *                             8 wd minus 1 day suspended = 7.00 wd; late (not in the cohort)
 *   7 a draft, 8 a bundle: never counted
 *   9 A online  T1 delivered  acc Thu 04-30 10:00 → Mon 05-11 10:00 across 劳动节 = 5.00 wd */
static db *fixture(void) {
    workcal_default_set_data_dir("data");
    db *d = test_db_open();
    if (!d) return NULL;
    err e = {0};
    db_execf(d, &e,
             "INSERT INTO users (id, login, display_name, role, password_hash, created_at, "
             "updated_at, password_changed_at) VALUES (1, 'p', 'p', 'citizen', 'x', $1, $1, $1)",
             "s", "2026-01-01T00:00:00Z");
    add_item(d, "T-A-1", DEP_A, 20, 5, 4);
    add_item(d, "T-B-2", DEP_B, 10, 0, 3);
    add_item(d, "T-A-3", DEP_A, 0, 0, 4);   /* legal 0: left out of the compression ratio */
    add_item(d, "T-C-4", DEP_A, 30, 10, 1); /* no online applications: left out */
    static const case_in cs[] = {
        {1, NULL, "T-A-1", DEP_A, "online", T1, "delivered", "2026-06-01T01:00:00Z",
         "2026-06-01T02:00:00Z", "2026-06-03T02:00:00Z", "2026-06-08T09:30:00Z", 0, 5, 20, 0},
        {2, NULL, "T-A-1", DEP_A, "window", T1, "approved", "2026-06-02T01:00:00Z",
         "2026-06-02T01:00:00Z", "2026-06-02T06:00:00Z", "2026-06-09T09:30:00Z", 1, 5, 20, 0},
        {3, NULL, "T-B-2", DEP_B, "assisted", T2, "denied", "2026-06-03T03:00:00Z",
         "2026-06-03T03:00:00Z", "2026-06-04T01:30:00Z", "2026-06-03T09:30:00Z", 0, 0, 10, 0},
        {4, NULL, "T-A-1", DEP_A, "online", T2, "in_review", "2026-06-08T01:00:00Z",
         "2026-06-08T02:00:00Z", NULL, "2026-06-12T09:30:00Z", 0, 5, 20, 0},
        {5, NULL, "T-B-2", DEP_B, "station", T1, "submitted", "2026-06-10T02:00:00Z", NULL, NULL,
         NULL, 1, 0, 10, 0},
        {6, NULL, "T-A-1", DEP_A, "online", T1, "delivered", "2026-05-20T02:00:00Z",
         "2026-05-20T02:00:00Z", "2026-06-01T02:00:00Z", "2026-05-28T09:30:00Z", 0, 5, 20, 27000},
        {7, NULL, "T-A-1", DEP_A, "online", T1, "draft", NULL, NULL, NULL, NULL, 0, 5, 20, 0},
        {8, "bundle", NULL, DEP_A, "online", T1, "submitted", "2026-06-02T01:00:00Z", NULL, NULL,
         NULL, 0, -1, -1, 0},
        {9, NULL, "T-A-1", DEP_A, "online", T1, "delivered", "2026-04-30T01:00:00Z",
         "2026-04-30T02:00:00Z", "2026-05-11T02:00:00Z", "2026-05-08T09:30:00Z", 0, 5, 20, 0},
    };
    for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++)
        add_case(d, 1, &cs[i]);
    add_material(d, 1, 0, 1, "licence");
    add_material(d, 1, 1, 1, "upload");
    add_material(d, 1, 2, 1, "form");
    add_material(d, 1, 3, 0, "licence");
    add_material(d, 2, 0, 1, "commitment");
    add_material(d, 2, 1, 1, "upload");
    add_material(d, 3, 0, 1, "licence");
    add_material(d, 4, 0, 1, "upload");
    add_material(d, 4, 1, 1, "upload");
    /* Ratings in the window: 5, 1, 2, 2 → 2.50. Tickets: #1 called back, due passed;
     * #2 open, not yet due; #3 closed → callback 2/3, closure 1/2. */
    add_rating(d, 1, 1, 1, DEP_A, "T-A-1", "online", 5, "2026-06-04T01:00:00Z");
    add_rating(d, 2, 3, 1, DEP_B, "T-B-2", "assisted", 1, "2026-06-05T02:00:00Z");
    add_rating(d, 3, 2, 1, DEP_A, "T-A-1", "window", 2, "2026-06-12T01:00:00Z");
    add_rating(d, 4, 6, 1, DEP_A, "T-A-1", "online", 2, "2026-06-02T01:00:00Z");
    add_ticket(d, 2, 3, DEP_B, "called_back", "2026-06-05T02:00:00Z", "2026-06-05T05:00:00Z",
               "2026-06-12T09:30:00Z");
    add_ticket(d, 3, 2, DEP_A, "open", "2026-06-12T01:00:00Z", NULL, "2026-06-19T09:30:00Z");
    add_ticket(d, 4, 6, DEP_A, "closed", "2026-06-02T01:00:00Z", "2026-06-02T03:00:00Z",
               "2026-06-09T09:30:00Z");
    return d;
}

static int64_t now_t(void) {
    int64_t t = 0;
    time_parse_iso(NOW_ISO, &t);
    return t;
}

static const stats_figure *fig(const stats_group *g, const char *id) {
    for (size_t i = 0; i < g->nfig; i++)
        if (!strcmp(g->fig[i].ind->id, id)) return &g->fig[i];
    return NULL;
}

#define CHECK_NEAR(a, b) CHECK(fabs((double)(a) - (double)(b)) < 1e-9)

/* value (×100 to compare exactly), numerator and denominator of one figure. */
static void check_fig(const stats_group *g, const char *id, double value, double num, double den) {
    const stats_figure *f = fig(g, id);
    CHECK(f != NULL);
    if (!f) return;
    if (!f->has_value) {
        fprintf(stderr, "    %s: no value\n", id);
        CHECK(f->has_value);
        return;
    }
    if (llround(f->value * 100) != llround(value * 100) ||
        (num >= 0 && llround(f->numerator * 100) != llround(num * 100)) ||
        llround(f->denominator * 100) != llround(den * 100)) {
        fprintf(stderr, "    %s = %.4f (%.4f / %.4f), expected %.2f (%.2f / %.2f)\n", id, f->value,
                f->numerator, f->denominator, value, num, den);
        test_failures_in_current++;
    }
}

static int run(db *d, const char *from, const char *to, const char *dep, const char *town,
               const char *item, const char *channel, stats_dim by, stats_group **g, size_t *n) {
    stats_filter f;
    err e = {0};
    if (stats_filter_parse(&f, from, to, dep, town, item, channel, now_t(), &e) != 0) {
        fprintf(stderr, "    filter: %s\n", e.message);
        return -1;
    }
    if (stats_services(d, NULL, &f, by, g, n, &e) != 0) {
        fprintf(stderr, "    stats_services: %s\n", e.message);
        return -1;
    }
    return 0;
}

TEST(stats_services_city) {
    db *d = fixture();
    CHECK(d != NULL);
    if (!d) return;
    stats_group *g = NULL;
    size_t n = 0;
    CHECK_INT(run(d, "2026-06-01", "2026-06-12", NULL, NULL, NULL, NULL, STATS_DIM_NONE, &g, &n),
              0);
    CHECK_INT(n, 1);
    if (g && n == 1) {
        CHECK_STR(g->key, "");
        CHECK_INT(g->counts.submitted, 5);
        CHECK_INT(g->counts.decided, 4);
        CHECK_INT(g->counts.open, 2);
        CHECK_INT(g->counts.ratings, 4);
        check_fig(g, "online_rate", 60, 3, 5);
        check_fig(g, "material_waiver_rate", 37.5, 3, 8);
        /* 2.00 + 0.47 + 0.80 + 7.00 = 10.27 over 4 */
        check_fig(g, "avg_working_days", 2.57, 10.27, 4);
        check_fig(g, "median_working_days", 1.40, -1, 4);
        check_fig(g, "legal_days_avg", 17.5, 70, 4);
        check_fig(g, "time_saving_rate", 85.33, 10.27, 70);
        check_fig(g, "promise_compression", 83.33, 5, 30);
        check_fig(g, "instant_rate", 25, 1, 4);
        check_fig(g, "zero_visit_rate", 60, 3, 5);
        check_fig(g, "overdue_count", 2, 2, 4);
        check_fig(g, "rating_avg", 2.5, 10, 4);
        check_fig(g, "bad_callback_rate", 66.67, 2, 3);
        check_fig(g, "bad_closure_rate", 50, 1, 2);
        CHECK_INT(fig(g, "online_rate")->met, 0);          /* 60 < 90 */
        CHECK_INT(fig(g, "avg_working_days")->met, 1);     /* 2.57 ≤ 3 */
        CHECK_INT(fig(g, "overdue_count")->met, 0);        /* 2 > 0 */
        CHECK_INT(fig(g, "median_working_days")->met, -1); /* no target */
        CHECK(!fig(g, "median_working_days")->has_numerator);
    }
    free(g);
    db_close(d);
}

TEST(stats_services_holiday_and_empty_window) {
    db *d = fixture();
    if (!d) return;
    stats_group *g = NULL;
    size_t n = 0;
    /* May: only case 9 was decided, across 劳动节: 5 working days in 11 calendar days. */
    CHECK_INT(run(d, "2026-05-01", "2026-05-31", NULL, NULL, NULL, NULL, STATS_DIM_NONE, &g, &n),
              0);
    if (g && n == 1) {
        CHECK_INT(g->counts.decided, 1);
        check_fig(g, "avg_working_days", 5, 5, 1);
        check_fig(g, "median_working_days", 5, -1, 1);
        check_fig(g, "instant_rate", 0, 0, 1);
        /* Submitted in May: case 6 only (decided after its deadline: overdue). */
        CHECK_INT(g->counts.submitted, 1);
        check_fig(g, "overdue_count", 1, 1, 1);
    }
    free(g);
    /* A window without any case: every case figure is null, the catalog one is not. */
    CHECK_INT(run(d, "2020-01-01", "2020-01-31", NULL, NULL, NULL, NULL, STATS_DIM_NONE, &g, &n),
              0);
    if (g && n == 1) {
        CHECK_INT(g->counts.submitted, 0);
        CHECK(!fig(g, "online_rate")->has_value);
        CHECK(!fig(g, "avg_working_days")->has_value);
        CHECK(!fig(g, "median_working_days")->has_value);
        CHECK(!fig(g, "overdue_count")->has_value);
        CHECK(!fig(g, "rating_avg")->has_value);
        CHECK(!fig(g, "bad_closure_rate")->has_value);
        CHECK_INT(fig(g, "online_rate")->met, -1);
        check_fig(g, "promise_compression", 83.33, 5, 30);
    }
    free(g);
    db_close(d);
}

TEST(stats_services_filters_and_splits) {
    db *d = fixture();
    if (!d) return;
    stats_group *g = NULL;
    size_t n = 0;
    /* Department B: cases 3 and 5; item B has promise 0 of legal 10. */
    CHECK_INT(run(d, "2026-06-01", "2026-06-12", DEP_B, NULL, NULL, NULL, STATS_DIM_NONE, &g, &n),
              0);
    if (g && n == 1) {
        CHECK_INT(g->counts.submitted, 2);
        check_fig(g, "online_rate", 50, 1, 2);
        check_fig(g, "avg_working_days", 0.8, 0.8, 1);
        check_fig(g, "promise_compression", 100, 0, 10);
        check_fig(g, "rating_avg", 1, 1, 1);
    }
    free(g);
    /* Town T2: cases 3 and 4 (ratings joined through the case's town). */
    CHECK_INT(run(d, "2026-06-01", "2026-06-12", NULL, T2, NULL, NULL, STATS_DIM_NONE, &g, &n), 0);
    if (g && n == 1) {
        check_fig(g, "online_rate", 100, 2, 2);
        check_fig(g, "material_waiver_rate", 33.33, 1, 3);
        check_fig(g, "rating_avg", 1, 1, 1);
        check_fig(g, "bad_callback_rate", 100, 1, 1);
    }
    free(g);
    /* Channel window: case 2. */
    CHECK_INT(
        run(d, "2026-06-01", "2026-06-12", NULL, NULL, NULL, "window", STATS_DIM_NONE, &g, &n), 0);
    if (g && n == 1) {
        check_fig(g, "online_rate", 0, 0, 1);
        check_fig(g, "instant_rate", 100, 1, 1);
    }
    free(g);
    /* Split by department: A first (3 submitted), then B. */
    CHECK_INT(
        run(d, "2026-06-01", "2026-06-12", NULL, NULL, NULL, NULL, STATS_DIM_DEPARTMENT, &g, &n),
        0);
    CHECK_INT(n, 2);
    if (g && n == 2) {
        CHECK_STR(g[0].key, DEP_A);
        CHECK_INT(g[0].counts.submitted, 3);
        check_fig(&g[0], "online_rate", 66.67, 2, 3);
        /* 2.00 + 0.47 + 7.00 = 9.47 over 3 = 3.1567; median 2.00 */
        check_fig(&g[0], "avg_working_days", 3.16, 9.47, 3);
        check_fig(&g[0], "median_working_days", 2, -1, 3);
        check_fig(&g[0], "promise_compression", 75, 5, 20);
        CHECK_STR(g[1].key, DEP_B);
        check_fig(&g[1], "online_rate", 50, 1, 2);
    }
    free(g);
    /* Split by town: the catalog figure does not split by town. */
    CHECK_INT(run(d, "2026-06-01", "2026-06-12", NULL, NULL, NULL, NULL, STATS_DIM_TOWN, &g, &n),
              0);
    CHECK_INT(n, 2);
    if (g && n == 2) {
        CHECK_STR(g[0].key, T1);
        CHECK_INT(g[0].counts.submitted, 3);
        CHECK(!fig(&g[0], "promise_compression")->has_value);
    }
    free(g);
    db_close(d);
}

/* A change as src/cases/ makes one: the case row and a timeline row. */
static void change(db *d, int64_t id, const char *set_sql) {
    err e = {0};
    if (db_execf(d, &e, set_sql, "i", id) != 0) fprintf(stderr, "    change: %s\n", e.message);
    db_execf(d, &e,
             "INSERT INTO case_events (case_id, at, action, from_status, to_status) "
             "VALUES ($1, '2026-06-15T01:00:00Z', 'test', NULL, NULL)",
             "i", id);
}

TEST(stats_refresh_is_incremental) {
    db *d = fixture();
    if (!d) return;
    err e = {0};
    int64_t n = -1;
    CHECK_INT(stats_refresh(d, NULL, &n, &e), 0); /* no watermark yet: a full rebuild */
    CHECK_INT(n, 7);                              /* the draft and the bundle are not facts */
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM stats_cases"), 7);
    CHECK_INT(stats_refresh(d, NULL, &n, &e), 0);
    CHECK_INT(n, 0); /* nothing changed */
    /* Case 4 is decided: exactly that case is derived again. */
    change(d, 4,
           "UPDATE cases SET status = 'approved', decided_at = '2026-06-15T01:00:00Z' "
           "WHERE id = $1");
    CHECK_INT(stats_refresh(d, NULL, &n, &e), 0);
    CHECK_INT(n, 1);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM stats_cases WHERE case_id = 4 AND "
                               "status = 'approved' AND working_days IS NOT NULL"),
              1);
    /* Two changes of two cases (one of them twice) since the last refresh. */
    change(d, 5, "UPDATE cases SET status = 'withdrawn' WHERE id = $1");
    change(d, 4, "UPDATE cases SET status = 'delivered' WHERE id = $1");
    change(d, 4, "UPDATE cases SET visits = 2 WHERE id = $1");
    CHECK_INT(stats_refresh(d, NULL, &n, &e), 0);
    CHECK_INT(n, 2);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM stats_cases WHERE (case_id = 5 AND status = "
                               "'withdrawn') OR (case_id = 4 AND status = 'delivered' AND "
                               "zero_visit = 0)"),
              2);
    CHECK_INT(stats_refresh(d, NULL, &n, &e), 0);
    CHECK_INT(n, 0);
    /* A full rebuild derives everything again and leaves nothing to do. */
    CHECK_INT(stats_rebuild(d, NULL, &n, &e), 0);
    CHECK_INT(n, 7);
    CHECK_INT(stats_refresh(d, NULL, &n, &e), 0);
    CHECK_INT(n, 0);
    db_close(d);
}

TEST(stats_filter_checks) {
    stats_filter f;
    err e = {0};
    int64_t now = now_t();
    CHECK_INT(stats_filter_parse(&f, NULL, NULL, NULL, NULL, NULL, NULL, now, &e), 0);
    CHECK_STR(f.to_date, "2026-06-15");
    CHECK_STR(f.from_date, "2025-06-16"); /* 365 days, both ends included */
    CHECK_INT(f.to - f.from, 365 * 86400LL);
    struct {
        const char *from, *to, *dep, *town, *item, *channel, *field;
    } bad[] = {
        {"2026-13-01", NULL, NULL, NULL, NULL, NULL, "from"},
        {NULL, "yesterday", NULL, NULL, NULL, NULL, "to"},
        {"2026-06-02", "2026-06-01", NULL, NULL, NULL, NULL, "from"},
        {"2000-01-01", "2026-01-01", NULL, NULL, NULL, NULL, "from"},
        {NULL, NULL, "", NULL, NULL, NULL, "department"},
        {NULL, NULL, NULL, "33090200", NULL, NULL, "town"},
        {NULL, NULL, NULL, "33090200x", NULL, NULL, "town"},
        {NULL, NULL, NULL, NULL, NULL, "fax", "channel"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&e, 0, sizeof(e));
        CHECK_INT(stats_filter_parse(&f, bad[i].from, bad[i].to, bad[i].dep, bad[i].town,
                                     bad[i].item, bad[i].channel, now, &e),
                  -1);
        CHECK_INT(e.status, 400);
        CHECK_STR(e.field, bad[i].field);
    }
    stats_dim by;
    CHECK_INT(stats_dim_parse("town", &by, &e), 0);
    CHECK_INT(by, STATS_DIM_TOWN);
    memset(&e, 0, sizeof(e));
    CHECK_INT(stats_dim_parse("island", &by, &e), -1);
    CHECK_STR(e.field, "by");
}

TEST(stats_registry) {
    size_t n = 0;
    const stats_indicator *r = stats_indicators(&n);
    CHECK(n >= 13 && n <= STATS_MAX_INDICATORS);
    for (size_t i = 0; i < n; i++) {
        CHECK(r[i].id && r[i].name && r[i].definition && r[i].unit && r[i].basis);
        CHECK(r[i].direction == 1 || r[i].direction == -1);
        CHECK(stats_indicator_find(r[i].id) == &r[i]);
        for (size_t k = 0; k < i; k++)
            CHECK(strcmp(r[i].id, r[k].id) != 0);
    }
    CHECK(stats_indicator_find("online_rate")->has_target);
    CHECK(stats_indicator_find("nope") == NULL);
}

/* A tiny catalog for the demo generator: one town, two items with materials. */
static db *demo_db(void) {
    db *d = test_db_open();
    if (!d) return NULL;
    err e = {0};
    db_execf(d, &e,
             "INSERT INTO towns (code, name, county_code, county, main_island, lat, lon, kind) "
             "VALUES ('330902001', '测试街道', '330902', '定海区', 'x', 30, 122, '街道')",
             "");
    add_item(d, "T-A-1", DEP_A, 20, 5, 4);
    add_item(d, "T-B-2", DEP_B, 10, 0, 3);
    db_execf(
        d, &e, "UPDATE catalog_items SET doc = $1", "s",
        "{\"materials\":[{\"name\":\"居民身份证\",\"required\":true,\"licence\":\"居民身份证\"},"
        "{\"name\":\"申请表\",\"required\":true,\"form\":\"表格\"},"
        "{\"name\":\"证明\",\"required\":true}]}");
    return d;
}

/* Every case as "id status channel item submitted decided deadline;" (caller frees). */
static char *cases_text(db *d) {
    err e = {0};
    db_stmt *s = db_query(d, &e,
                          "SELECT id, status, channel, item_code, submitted_at, decided_at, "
                          "deadline_at FROM cases ORDER BY id",
                          "");
    size_t cap = 1 << 16, len = 0;
    char *out = calloc(1, cap);
    while (s && out && db_step(s) == DB_ROW) {
        if (cap - len < 256) {
            cap *= 2;
            out = realloc(out, cap);
            if (!out) break;
        }
        len += (size_t)snprintf(out + len, cap - len, "%lld %s %s %s %s %s %s;",
                                (long long)db_column_int64(s, 0), db_column_text(s, 1),
                                db_column_text(s, 2), db_column_text(s, 3),
                                db_column_text(s, 4) ? db_column_text(s, 4) : "-",
                                db_column_text(s, 5) ? db_column_text(s, 5) : "-",
                                db_column_text(s, 6) ? db_column_text(s, 6) : "-");
    }
    if (s) db_reset(s);
    return out;
}

/* The demo year on a tiny catalog: consistent with its own counts, idempotent,
 * deterministic for a seed, and its figures are what the module computes. */
TEST(stats_demo_year_small) {
    workcal_default_set_data_dir("data");
    db *d = demo_db();
    if (!d) return;
    err e = {0};
    cases_demo_counts c;
    int rc = cases_demo_run(d, "data", now_t(), 7, 300, &c, &e);
    if (rc != 0) fprintf(stderr, "    demo: %s\n", e.message);
    CHECK_INT(rc, 0);
    CHECK_INT(c.cases, 300);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM cases"), 300);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM case_events"), c.events);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM stats_cases"), 300);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM audit_log WHERE action = 'demo.cases'"), 1);
    /* Every case's timeline starts with create and ends in its status. */
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM cases c WHERE c.status <> (SELECT "
                               "ev.to_status FROM case_events ev WHERE ev.case_id = c.id ORDER BY "
                               "ev.id DESC LIMIT 1)"),
              0);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM cases c WHERE (SELECT ev.action FROM "
                               "case_events ev WHERE ev.case_id = c.id ORDER BY ev.id LIMIT 1) "
                               "<> 'create'"),
              0);
    /* Instants never run backwards along a timeline, and none lies after now. */
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM case_events a JOIN case_events b ON "
                               "b.case_id = a.case_id AND b.id = a.id + 1 WHERE b.at < a.at"),
              0);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM case_events WHERE at > '" NOW_ISO "'"), 0);
    /* Waived materials by licence point at a licence of the applicant. */
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM case_materials m JOIN cases c ON c.id = "
                               "m.case_id LEFT JOIN licences l ON l.id = m.licence_id WHERE "
                               "m.satisfied_by = 'licence' AND (l.holder_id IS NULL OR "
                               "l.holder_id <> c.applicant_id)"),
              0);
    /* Demo people cannot log in: no password matches the placeholder. */
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM users WHERE login LIKE 'demo.%' AND "
                               "password_hash LIKE '$argon2%'"),
              0);
    /* Again: the year is there, nothing is written. */
    cases_demo_counts again;
    CHECK_INT(cases_demo_run(d, "data", now_t(), 7, 300, &again, &e), 0);
    CHECK_INT(again.present, 1);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM cases"), 300);
    /* Same seed, same now: the same year in another database. */
    db *d2 = demo_db();
    if (d2) {
        CHECK_INT(cases_demo_run(d2, "data", now_t(), 7, 300, NULL, &e), 0);
        char *a = cases_text(d), *b = cases_text(d2);
        CHECK(a && b && strlen(a) > 1000 && !strcmp(a, b));
        free(a);
        free(b);
        db_close(d2);
    }
    stats_group *g = NULL;
    size_t n = 0;
    CHECK_INT(run(d, NULL, "2026-06-15", NULL, NULL, NULL, NULL, STATS_DIM_NONE, &g, &n), 0);
    if (g && n == 1) {
        CHECK_INT(g->counts.submitted, 300);
        CHECK(fig(g, "online_rate")->value > 85);
        CHECK_INT(g->counts.decided + g->counts.open,
                  test_db_count(
                      d,
                      "SELECT COUNT(*) FROM "
                      "cases WHERE decided_at IS NOT NULL OR status IN ('submitted', 'accepted', "
                      "'returned_for_correction', 'in_review', 'suspended')"));
    }
    free(g);
    db_close(d);
}

/* The rollups as text, table by table, in key order (for comparing two states). */
static char *rollups_text(db *d) {
    static const char *const sql[] = {
        "SELECT town_code || '|' || day || '|' || item_code || '|' || department || '|' || "
        "channel || ':' || submitted || ',' || online || ',' || zero_visit || ',' || "
        "materials_required || ',' || materials_waived || ',' || has_deadline || ',' || late || "
        "',' || open_cases || ',' || decided || ',' || wd_h || ',' || same_day || ',' || legal_n "
        "|| ',' || legal_sum || ',' || wd_legal_h || ',' || ratings || ',' || rating_sum FROM "
        "stats_rollup WHERE submitted <> 0 OR decided <> 0 OR ratings <> 0 ORDER BY town_code, "
        "day, item_code, department, channel",
        "SELECT day || '|' || town_code || ':' || submitted || ',' || online || ',' || decided || "
        "',' || wd_h || ',' || legal_sum || ',' || ratings || ',' || rating_sum || ',' || "
        "open_cases FROM stats_rollup_town WHERE submitted <> 0 OR decided <> 0 OR ratings <> 0 "
        "ORDER BY day, town_code",
        "SELECT day || '|' || department || '|' || channel || ':' || submitted || ',' || late || "
        "',' || decided || ',' || wd_legal_h || ',' || ratings FROM stats_rollup_department "
        "WHERE submitted <> 0 OR decided <> 0 OR ratings <> 0 ORDER BY day, department, channel",
        "SELECT day || '|' || channel || ':' || submitted || ',' || zero_visit || ',' || decided "
        "|| ',' || same_day || ',' || ratings FROM stats_rollup_day WHERE submitted <> 0 OR "
        "decided <> 0 OR ratings <> 0 ORDER BY day, channel",
        "SELECT day || '|' || tenth || ':' || cases FROM stats_rollup_wd WHERE cases <> 0 ORDER "
        "BY day, tenth",
    };
    size_t cap = 1 << 16, len = 0;
    char *out = calloc(1, cap);
    err e = {0};
    for (size_t i = 0; out && i < sizeof(sql) / sizeof(sql[0]); i++) {
        db_stmt *s = db_query(d, &e, sql[i], "");
        while (s && db_step(s) == DB_ROW) {
            const char *t = db_column_text(s, 0);
            size_t n = t ? strlen(t) : 0;
            if (cap - len < n + 2) {
                cap = 2 * cap + n;
                out = realloc(out, cap);
                if (!out) break;
            }
            len += (size_t)snprintf(out + len, cap - len, "%s\n", t ? t : "");
        }
        if (s) db_reset(s);
        if (!s) fprintf(stderr, "    rollups_text: %s\n", e.message);
    }
    return out;
}

/* One figure of stats_services() against the same aggregate computed directly over
 * stats_cases and ratings with the windows' text comparisons (the way the figures were
 * computed before the rollups). */
static void check_direct(db *d, const char *from, const char *to, stats_dim by) {
    stats_group *g = NULL;
    size_t n = 0;
    if (run(d, from, to, NULL, NULL, NULL, NULL, by, &g, &n) != 0) return;
    stats_filter f;
    err e = {0};
    stats_filter_parse(&f, from, to, NULL, NULL, NULL, NULL, now_t(), &e);
    char a[32], b[32];
    time_iso(a, sizeof(a), f.from);
    time_iso(b, sizeof(b), f.to);
    const char *col = by == STATS_DIM_TOWN         ? "town_code"
                      : by == STATS_DIM_DEPARTMENT ? "department"
                      : by == STATS_DIM_ITEM       ? "item_code"
                      : by == STATS_DIM_CHANNEL    ? "channel"
                                                   : "''";
    for (size_t i = 0; i < n; i++) {
        char sql[1024];
        /* submitted, online, open; decided, Σ hundredths, 即办 */
        snprintf(sql, sizeof(sql),
                 "SELECT (SELECT COUNT(*) || ',' || COALESCE(SUM(online), 0) || ',' || "
                 "COALESCE(SUM(CASE WHEN status IN ('submitted', 'accepted', "
                 "'returned_for_correction', 'in_review', 'suspended') THEN 1 ELSE 0 END), 0) "
                 "FROM stats_cases WHERE submitted_at >= $1 AND submitted_at < $2 AND "
                 "COALESCE(%s, '') = $3) || ';' || (SELECT COUNT(*) || ',' || "
                 "COALESCE(SUM(CAST(ROUND(working_days * 100) AS BIGINT)), 0) || ',' || "
                 "COALESCE(SUM(same_day), 0) FROM stats_cases WHERE decided_at >= $1 AND "
                 "decided_at < $2 AND working_days IS NOT NULL AND COALESCE(%s, '') = $3)",
                 col, col);
        char want[256] = "", got[256];
        db_stmt *s = db_query(d, &e, sql, "sss", a, b, g[i].key);
        if (s && db_step(s) == DB_ROW) snprintf(want, sizeof(want), "%s", db_column_text(s, 0));
        if (s) db_reset(s);
        const stats_figure *online = fig(&g[i], "online_rate");
        const stats_figure *avg = fig(&g[i], "avg_working_days");
        const stats_figure *instant = fig(&g[i], "instant_rate");
        snprintf(
            got, sizeof(got), "%lld,%lld,%lld;%lld,%lld,%lld", (long long)g[i].counts.submitted,
            online->has_value ? llround(online->numerator) : 0LL, (long long)g[i].counts.open,
            (long long)g[i].counts.decided, avg->has_value ? llround(avg->numerator * 100) : 0LL,
            instant->has_value ? llround(instant->numerator) : 0LL);
        if (strcmp(want, got) != 0) {
            fprintf(stderr, "    %s..%s by %d, group '%s': rollups %s, direct %s\n",
                    from ? from : "-", to, (int)by, g[i].key, got, want);
            test_failures_in_current++;
        }
        /* Ratings: joined to the case's town only when the town is involved. */
        snprintf(sql, sizeof(sql),
                 by == STATS_DIM_TOWN
                     ? "SELECT COUNT(*) || ',' || COALESCE(SUM(r.overall), 0) FROM ratings r JOIN "
                       "stats_cases s ON s.case_id = r.case_id WHERE r.created_at >= $1 AND "
                       "r.created_at < $2 AND COALESCE(s.town_code, '') = $3"
                     : "SELECT COUNT(*) || ',' || COALESCE(SUM(r.overall), 0) FROM ratings r "
                       "WHERE r.created_at >= $1 AND r.created_at < $2 AND COALESCE(r.%s, '') "
                       "= $3",
                 by == STATS_DIM_NONE ? "''" : col);
        if (by == STATS_DIM_NONE)
            snprintf(sql, sizeof(sql),
                     "SELECT COUNT(*) || ',' || COALESCE(SUM(overall), 0) FROM ratings WHERE "
                     "created_at >= $1 AND created_at < $2 AND '' = $3");
        s = db_query(d, &e, sql, "sss", a, b, g[i].key);
        want[0] = '\0';
        if (s && db_step(s) == DB_ROW) snprintf(want, sizeof(want), "%s", db_column_text(s, 0));
        if (s) db_reset(s);
        const stats_figure *rat = fig(&g[i], "rating_avg");
        snprintf(got, sizeof(got), "%lld,%lld", (long long)g[i].counts.ratings,
                 rat->has_value ? llround(rat->numerator) : 0LL);
        if (strcmp(want, got) != 0) {
            fprintf(stderr, "    %s..%s by %d, group '%s': ratings %s, direct %s\n",
                    from ? from : "-", to, (int)by, g[i].key, got, want);
            test_failures_in_current++;
        }
    }
    free(g);
}

/* After a mix of events — new cases either side of a Shanghai midnight, a decision across
 * 劳动节, a withdrawal, ratings (one of a bundle, which has no fact) — the rollups kept by
 * the incremental refresh are exactly those a rebuild computes from scratch, and the
 * figures read from them equal the direct aggregates over the facts. */
TEST(stats_rollups_match_the_facts) {
    workcal_default_set_data_dir("data");
    db *d = demo_db();
    if (!d) return;
    err e = {0};
    CHECK_INT(cases_demo_run(d, "data", now_t(), 11, 300, NULL, &e), 0);
    /* users: the demo's applicants; rater 1 is one of them */
    int64_t applicant = 0;
    db_query_int(d, &e, &applicant, "SELECT MIN(id) FROM users", "");
    static const case_in more[] = {
        /* 23:59:59 and 00:00:00 Shanghai on 2026-06-10/11 */
        {900001, NULL, "T-A-1", DEP_A, "online", T1, "submitted", "2026-06-10T15:59:59Z", NULL,
         NULL, NULL, 0, 5, 20, 0},
        {900002, NULL, "T-B-2", DEP_B, "window", T1, "accepted", "2026-06-10T16:00:00Z",
         "2026-06-10T16:30:00Z", NULL, "2026-06-12T09:30:00Z", 1, 0, 10, 0},
        /* across 劳动节: accepted 30 April, decided 11 May */
        {900003, NULL, "T-A-1", DEP_A, "assisted", NULL, "accepted", "2026-04-30T01:00:00Z",
         "2026-04-30T02:00:00Z", NULL, "2026-05-20T09:30:00Z", 0, 5, 20, 0},
        {900004, "bundle", NULL, DEP_A, "online", T1, "delivered", "2026-06-02T01:00:00Z", NULL,
         "2026-06-05T01:00:00Z", NULL, 0, -1, -1, 0},
    };
    for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++) {
        add_case(d, applicant, &more[i]);
        change(d, more[i].id, "UPDATE cases SET visits = visits WHERE id = $1");
    }
    int64_t n = 0;
    CHECK_INT(stats_refresh(d, NULL, &n, &e), 0);
    /* A decision across the holiday, a withdrawal, an acceptance of a demo case. */
    change(
        d, 900003,
        "UPDATE cases SET status = 'approved', decided_at = '2026-05-11T02:00:00Z' WHERE id = $1");
    change(d, 900001, "UPDATE cases SET status = 'withdrawn' WHERE id = $1");
    int64_t some = 0;
    db_query_int(d, &e, &some,
                 "SELECT MIN(id) FROM cases WHERE status = 'submitted' AND kind = 'item'", "");
    if (some)
        change(d, some,
               "UPDATE cases SET status = 'accepted', accepted_at = '2026-06-14T02:00:00Z', "
               "deadline_at = '2026-06-15T01:00:00Z' WHERE id = $1");
    int64_t rid = 0;
    db_query_int(d, &e, &rid, "SELECT COALESCE(MAX(id), 0) FROM ratings", "");
    add_rating(d, rid + 1, 900003, applicant, DEP_A, "T-A-1", "assisted", 4,
               "2026-06-14T16:00:00Z");
    add_rating(d, rid + 2, 900004, applicant, DEP_A, NULL, "online", 1, "2026-06-06T01:00:00Z");
    CHECK_INT(stats_refresh(d, NULL, &n, &e), 0);
    CHECK(n >= 2);
    char *incremental = rollups_text(d);
    CHECK(incremental && strlen(incremental) > 1000);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM stats_rollup WHERE town_code = '-'"), 1);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM stats_rollup_wd WHERE day = '2026-05-11' "
                               "AND tenth = 50"),
              1); /* 5.00 working days across the holiday */

    /* Every figure against the facts, whole year, one month, single days either side of
     * the midnight, split every way. */
    static const char *const windows[][2] = {{NULL, "2026-06-15"},
                                             {"2026-06-01", "2026-06-30"},
                                             {"2026-06-10", "2026-06-10"},
                                             {"2026-06-11", "2026-06-11"},
                                             {"2026-05-01", "2026-05-31"}};
    static const stats_dim dims[] = {STATS_DIM_NONE, STATS_DIM_TOWN, STATS_DIM_DEPARTMENT,
                                     STATS_DIM_ITEM, STATS_DIM_CHANNEL};
    for (size_t w = 0; w < sizeof(windows) / sizeof(windows[0]); w++)
        for (size_t k = 0; k < sizeof(dims) / sizeof(dims[0]); k++)
            check_direct(d, windows[w][0], windows[w][1], dims[k]);

    /* A rebuild from scratch gives the very same rows. */
    CHECK_INT(stats_rebuild(d, NULL, &n, &e), 0);
    char *rebuilt = rollups_text(d);
    CHECK(incremental && rebuilt && !strcmp(incremental, rebuilt));
    if (incremental && rebuilt && strcmp(incremental, rebuilt)) {
        fprintf(stderr, "    incremental and rebuilt rollups differ (%zu / %zu bytes)\n",
                strlen(incremental), strlen(rebuilt));
    }
    free(incremental);
    free(rebuilt);
    db_close(d);
}
