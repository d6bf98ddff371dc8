/* cases/demo: a realistic year of demo applications for `isle demo`, so that
 * every queue, timeline, rating page and indicator has content.
 *
 * What a year looks like (deterministic for a seed and a "now"):
 *   - count applications submitted over the 365 days up to now, over the catalog
 *     items that take online applications (online_depth ≥ 2), weighted so that
 *     high-frequency services (户籍, 社保, 医保, 公积金, 企业登记 …) dominate;
 *   - seasonal: more in March and September, few on 春节 and 国庆 days (and the
 *     week before 春节), window and station applications on working days only,
 *     all from the holiday calendar (src/workcal/);
 *   - across the 36 towns, weighted by population (villages.csv), by a few hundred
 *     demo people and companies (logins demo.pNNNNN / demo.eNNNNN, valid resident
 *     ID numbers, a placeholder password hash no password matches: they cannot log
 *     in) — never by the named demo accounts (citizen, company …);
 *   - channels: ~92% online, the rest window, 帮办代办 (assisted) and stations;
 *   - lifecycles with consistent case_events: most delivered, some denied,
 *     withdrawn, rejected at intake, returned for correction and resubmitted,
 *     suspended and resumed, 秒办 (instant) approvals, and the last weeks still
 *     open — a few of them past their deadline; deadlines from workcal_deadline()
 *     and durations in working hours (workcal_add_hours()), mostly well inside the
 *     promise, so the mean acceptance→decision time comes out near 3 working days;
 *   - materials: about a quarter of the required ones waived (e-licence reuse —
 *     the licence is added to the applicant's wallet — or 告知承诺);
 *   - ratings for ~60% of delivered cases, ~3% of them 差评 with their tickets,
 *     almost all called back and closed.
 *
 * Speed and audit: rows go in with multi-row INSERTs, CASES_DEMO_BATCH cases per
 * transaction, and each batch writes ONE audit row ("demo.cases", object
 * "cases"/"demo-N", with the counts) instead of one per case: the demo is bulk
 * reference data, not a record of anybody's actions, and 3,000 cases × ~6 audit
 * rows would cost more than the rest of the demo together. Ids of cases, users,
 * licences and ratings are assigned explicitly (the next free ones) and the
 * identity sequences are moved past them in the same transaction. At the end
 * stats_rebuild() derives the KPI rows (the cases carry past timestamps).
 *
 * Idempotent: when the first demo person exists the year is considered present
 * and nothing is written. */
#ifndef ISLE_CASES_DEMO_H
#define ISLE_CASES_DEMO_H

#include <stdint.h>

#include "base/err.h"
#include "db/db.h"

#define CASES_DEMO_DEFAULT 3000    /* applications in the product's demo year */
#define CASES_DEMO_MAX     5000000 /* largest --cases */
#define CASES_DEMO_BATCH   2000    /* cases per transaction */
#define CASES_DEMO_SEED    20260101u

/** What cases_demo_run() wrote. */
typedef struct cases_demo_counts {
    int present;                      /* 1: the demo year was there already, nothing written */
    int64_t people, companies;        /* demo applicants created */
    int64_t cases, events, materials; /* rows */
    int64_t licences, ratings, tickets;
    int64_t open, overdue; /* of the cases: still open now; open and past deadline */
} cases_demo_counts;

/** Generate the demo year: count applications submitted in the 365 days up to now
 *  (unix seconds), deterministic for seed. data_dir/holidays is the holiday
 *  calendar (NULL: workcal_default()). Needs the catalog and places loaded and the
 *  demo staff users (staff, approver, agent) present (their ids are the actors;
 *  missing ones leave the actor empty). Writes nothing when the year is present.
 *  0, or -1 with e (a failed batch is rolled back; earlier batches stay). */
int cases_demo_year(db *d, const char *data_dir, int64_t now, unsigned seed, int count, err *e);
/** The same, with what was written in *out (may be NULL). */
int cases_demo_run(db *d, const char *data_dir, int64_t now, unsigned seed, int count,
                   cases_demo_counts *out, err *e);

/** What cases_demo_bench() measured. */
typedef struct cases_demo_bench_result {
    int64_t transitions, failed; /* cases_transition() calls that succeeded / failed */
    double seconds;              /* wall time of the loop */
    double p50_ms, p99_ms, max_ms;
    int64_t audit_rows; /* audit rows the loop wrote (checked: one per transition) */
} cases_demo_bench_result;

/** The transition benchmark of bench/cases.sh, through the real path: add `cases`
 *  submitted applications of one item by the demo citizen (one transaction, one
 *  audit row), then walk them, 1,000 at a time, through accept (the demo window
 *  staff), review and approve (the demo approver) with cases_transition() — each call
 *  its own durable transaction with the case row, timeline row, audit row and
 *  notification — for at most `seconds` seconds on this one connection. 0, or -1
 *  with e. */
int cases_demo_bench(db *d, int cases, double seconds, cases_demo_bench_result *out, err *e);

/** 0 when argv holds only `--cases N`, `--seed N` (and the hidden `--bench-transitions
 *  N`, `--bench-seconds S`) with valid numbers; else prints
 *  the problem to stderr and returns -1 (so `isle demo` refuses before doing work). */
int cases_demo_args_ok(int argc, char **argv);

/** For `isle demo`: read `--cases N` (default $ISLE_DEMO_CASES, else
 *  CASES_DEMO_DEFAULT; 0 skips the year) and `--seed N` from argv (argv[0] is the
 *  first option; anything else is refused), generate and print one summary line.
 *  Hidden, for bench/cases.sh: `--bench-transitions N [--bench-seconds S]` then runs
 *  cases_demo_bench() and prints its figures (`key value` lines).
 *  Returns the exit status: 0, 1 failure, 2 bad options. */
int cases_demo_cmd(db *d, const char *data_dir, int argc, char **argv);

#endif
