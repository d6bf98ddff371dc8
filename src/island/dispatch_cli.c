/* dispatch_cli: `isle dispatch …` — the dispatcher from the command line.
 *
 *   isle dispatch simulate --day DATE --requests N [--seed S] [--json]
 *   isle dispatch explain REQUEST_ID [--at TIME] [--limit N] [--exclude ID,…] [--json]
 *   isle dispatch batch [--limit N] [--at TIME] [--greedy] [--json]
 *   isle dispatch bench [--requests N] [--singles M] [--at TIME] [--seed S] [--generate]
 *                       [--json]
 *
 * explain and batch only read (batch prints the plan for the requests waiting in
 * status new; the requests module assigns). bench times dispatch_batch() on the
 * newest N waiting requests and M single dispatch_pick() calls; --generate first adds
 * a synthetic roster (when the database has no agents) and N synthetic requests —
 * for throw-away benchmark databases only. Times are Asia/Shanghai ("YYYY-MM-DD
 * HH:MM"). Exit status: 0 ok, 1 failure, 2 usage. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/timeutil.h"
#include "base/xmalloc.h"
#include "island/dispatch.h"
#include "island/dispatch_internal.h"
#include "workcal/workcal.h"

#define SIM_DEFAULT_REQUESTS   2000
#define EXPLAIN_DEFAULT_LIMIT  10
#define BATCH_DEFAULT_LIMIT    10000
#define BENCH_DEFAULT_REQUESTS 10000
#define BENCH_DEFAULT_SINGLES  1000
#define BENCH_DEFAULT_AT       "2026-12-01 10:00"
#define TARGET_IMPROVEMENT     0.25

static int usage(void) {
    fprintf(stderr,
            "usage: isle dispatch simulate --day DATE [--requests N] [--seed S] [--json]\n"
            "         a synthetic day served by isle's dispatcher and by the nearest-agent\n"
            "         (straight line) baseline: mean and 95th-percentile time-to-serve, agent\n"
            "         utilisation (default %d requests, seed 1)\n"
            "       isle dispatch explain REQUEST_ID [--at TIME] [--limit N] [--exclude ID,…] "
            "[--json]\n"
            "         the ranking of the candidate agents with scores and reasons\n"
            "       isle dispatch batch [--limit N] [--at TIME] [--greedy] [--json]\n"
            "         the assignment of the requests waiting (status new) as one problem;\n"
            "         prints the plan, writes nothing\n"
            "       isle dispatch bench [--requests N] [--singles M] [--at TIME] [--seed S]\n"
            "                           [--generate] [--json]\n"
            "         batch of N waiting requests and M single dispatches, timed; --generate\n"
            "         adds a synthetic roster (if none) and N requests: benchmark databases only\n"
            "  TIME is \"YYYY-MM-DD HH:MM\" (Asia/Shanghai), default now.\n",
            SIM_DEFAULT_REQUESTS);
    return 2;
}

static const char *opt(int argc, char **argv, const char *name) {
    for (int i = 0; i < argc - 1; i++)
        if (!strcmp(argv[i], name)) return argv[i + 1];
    return NULL;
}

static int flag(int argc, char **argv, const char *name) {
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], name)) return 1;
    return 0;
}

/* Options known to a sub-command: flags take no value, the others one. */
static int check_opts(int argc, char **argv, const char *const *with_value,
                      const char *const *flags) {
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) != 0) continue;
        int ok = 0;
        for (const char *const *k = flags; k && *k; k++)
            if (!strcmp(argv[i], *k)) ok = 1;
        if (ok) continue;
        for (const char *const *k = with_value; k && *k; k++)
            if (!strcmp(argv[i], *k)) ok = 2;
        if (!ok) {
            fprintf(stderr, "isle: dispatch: unknown option %s\n", argv[i]);
            return -1;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "isle: dispatch: option %s needs a value\n", argv[i]);
            return -1;
        }
        i++;
    }
    return 0;
}

static int parse_long(const char *s, long lo, long hi, long *out) {
    if (!s || !*s) return -1;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int parse_at(const char *s, int64_t *out) {
    if (!s) {
        *out = time_now();
        return 0;
    }
    if (workcal_local_parse(s, out) != 0) {
        fprintf(stderr, "isle: dispatch: --at \"%s\" is not a local time \"YYYY-MM-DD HH:MM\"\n",
                s);
        return -1;
    }
    return 0;
}

static int fail(const char *what, const err *e) {
    fprintf(stderr, "isle: dispatch %s: %s\n", what, e->message);
    return e->status == 400 ? 2 : 1;
}

static int print_json(json_t *j) {
    char *txt = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(j);
    if (!txt) {
        fprintf(stderr, "isle: dispatch: cannot encode the answer as JSON\n");
        return 1;
    }
    printf("%s\n", txt);
    free(txt);
    return 0;
}

static const char *local(int64_t t, char *buf) {
    if (t <= 0) return "-";
    return workcal_local_format(t, buf, 32);
}

/* ---- simulate ---- */

static json_t *side_json(const dispatch_sim_side *s) {
    return json_pack("{s:f,s:f,s:f,s:i,s:i,s:i,s:f,s:i,s:i,s:f}", "mean_minutes", s->mean_minutes,
                     "p95_minutes", s->p95_minutes, "utilisation", s->utilisation, "served",
                     s->served, "remote", s->remote, "in_person", s->in_person,
                     "in_person_mean_minutes", s->in_person_mean_minutes, "next_day", s->next_day,
                     "queued", s->queued, "travel_minutes", s->travel_minutes_total);
}

static int cmd_simulate(const cli_env *env, int argc, char **argv) {
    static const char *const with_value[] = {"--day", "--requests", "--seed", NULL};
    static const char *const flags[] = {"--json", NULL};
    if (check_opts(argc, argv, with_value, flags) != 0) return usage();
    const char *day = opt(argc, argv, "--day");
    long n = SIM_DEFAULT_REQUESTS, seed = 1;
    char today[16];
    if (!day) {
        workcal_date_format(workcal_local_date(time_now()), today, sizeof(today));
        day = today;
    }
    if (opt(argc, argv, "--requests") && parse_long(opt(argc, argv, "--requests"), 1, 200000, &n))
        return fprintf(stderr, "isle: dispatch simulate: --requests must be 1–200000\n"), 2;
    if (opt(argc, argv, "--seed") && parse_long(opt(argc, argv, "--seed"), 0, 2147483647L, &seed))
        return fprintf(stderr, "isle: dispatch simulate: --seed must be a number\n"), 2;
    db *d;
    if (cli_open_db(env, &d) != 0) return 1;
    dispatch_sim_result r;
    err e = {0};
    int rc = dispatch_simulate(d, day, (int)n, (uint64_t)seed, &r, &e);
    db_close(d);
    if (rc != 0) return fail("simulate", &e);
    if (r.agents_generated)
        fprintf(stderr,
                "isle: dispatch simulate: the database has no agents; a roster of %d was made "
                "in memory, spread by population over the stations\n",
                r.agents);
    if (!r.workday)
        fprintf(stderr,
                "isle: dispatch simulate: %s is no working day: agents start on the next "
                "one\n",
                r.day);
    if (flag(argc, argv, "--json")) {
        json_t *j = json_pack(
            "{s:o,s:o,s:o,s:s,s:b,s:i,s:i,s:s,s:I,s:f,s:f,s:f,s:f}", "isle", side_json(&r.isle),
            "baseline", side_json(&r.baseline), "baseline_remote", side_json(&r.baseline_remote),
            "day", r.day, "workday", r.workday, "requests", r.requests, "agents", r.agents,
            "agents_source", r.agents_generated ? "generated" : "database", "seed",
            (json_int_t)r.seed, "improvement", r.improvement, "improvement_vs_baseline_remote",
            r.improvement_remote, "target", TARGET_IMPROVEMENT, "elapsed_ms", r.elapsed_ms);
        return print_json(j);
    }
    printf("isle dispatch simulate: %s%s, %d requests (seed %llu), %d agents (%s)\n", r.day,
           r.workday ? "" : " (no working day)", r.requests, (unsigned long long)r.seed, r.agents,
           r.agents_generated ? "made in memory: the database has none" : "from the database");
    const dispatch_sim_side *x = &r.isle, *y = &r.baseline, *z = &r.baseline_remote;
    printf("%-32s %10s %10s %16s\n", "", "isle", "baseline", "baseline+online");
    printf("%-32s %10.1f %10.1f %16.1f\n", "mean time-to-serve (min)", x->mean_minutes,
           y->mean_minutes, z->mean_minutes);
    printf("%-32s %10.1f %10.1f %16.1f\n", "95th percentile (min)", x->p95_minutes, y->p95_minutes,
           z->p95_minutes);
    printf("%-32s %9.1f%% %9.1f%% %15.1f%%\n", "agent utilisation", 100 * x->utilisation,
           100 * y->utilisation, 100 * z->utilisation);
    printf("%-32s %10d %10d %16d\n", "served remotely", x->remote, y->remote, z->remote);
    printf("%-32s %10.1f %10.1f %16.1f\n", "in person: mean (min)", x->in_person_mean_minutes,
           y->in_person_mean_minutes, z->in_person_mean_minutes);
    printf("%-32s %10d %10d %16d\n", "served after the day", x->next_day, y->next_day, z->next_day);
    printf("%-32s %10.0f %10.0f %16.0f\n", "travel, all agents (min)", x->travel_minutes_total,
           y->travel_minutes_total, z->travel_minutes_total);
    printf("%-32s %10d %10s %16s\n", "waited for a free agent", x->queued, "-", "-");
    printf("baseline: the skilled agent whose home station is nearest in a straight line (one on "
           "shift if any), blind to ferries, timetables and load; baseline+online: the same, "
           "online items done remotely\n");
    printf("isle's mean time-to-serve is %.1f%% lower than the baseline's (target >= %.0f%%), "
           "%.1f%% lower than baseline+online's; %.0f ms\n",
           100 * r.improvement, 100 * TARGET_IMPROVEMENT, 100 * r.improvement_remote, r.elapsed_ms);
    return 0;
}

/* ---- explain ---- */

static int parse_exclude(const char *s, int64_t *out, int max) {
    int n = 0;
    if (!s) return 0;
    const char *p = s;
    while (*p) {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || v <= 0 || n == max) return -1;
        out[n++] = v;
        p = end;
        if (*p == ',')
            p++;
        else if (*p)
            return -1;
    }
    return n;
}

static int cmd_explain(const cli_env *env, int argc, char **argv) {
    static const char *const with_value[] = {"--at", "--limit", "--exclude", NULL};
    static const char *const flags[] = {"--json", NULL};
    if (check_opts(argc, argv, with_value, flags) != 0) return usage();
    const char *id_s = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "--", 2)) {
            if (strcmp(argv[i], "--json") != 0) i++;
            continue;
        }
        id_s = argv[i];
    }
    long id, limit = EXPLAIN_DEFAULT_LIMIT;
    if (!id_s || parse_long(id_s, 1, 0x7fffffffL, &id) != 0) return usage();
    if (opt(argc, argv, "--limit") &&
        parse_long(opt(argc, argv, "--limit"), 1, DISPATCH_RANK_MAX, &limit) != 0)
        return fprintf(stderr, "isle: dispatch explain: --limit must be 1–%d\n", DISPATCH_RANK_MAX),
               2;
    int64_t exclude[64];
    int nexclude = parse_exclude(opt(argc, argv, "--exclude"), exclude, 64);
    if (nexclude < 0)
        return fprintf(stderr, "isle: dispatch explain: --exclude takes agent ids: 12,34\n"), 2;
    int64_t at;
    if (parse_at(opt(argc, argv, "--at"), &at) != 0) return 2;
    db *d;
    if (cli_open_db(env, &d) != 0) return 1;
    dispatch_choice *c = xcalloc((size_t)limit, sizeof(*c));
    dispatch_rank_info info;
    err e = {0};
    int n = dispatch_rank(d, id, at, exclude, nexclude, c, (int)limit, &info, &e);
    dispatch_choice pick;
    if (n >= 0 && n == 0) dispatch_pick(d, id, at, exclude, nexclude, &pick, &e);
    db_close(d);
    if (n < 0) {
        free(c);
        return e.status == 404 ? (fprintf(stderr, "isle: dispatch explain: %s\n", e.message), 1)
                               : fail("explain", &e);
    }
    char b[32];
    if (flag(argc, argv, "--json")) {
        json_t *arr = json_array();
        for (int i = 0; i < n; i++)
            json_array_append_new(arr, json_pack("{s:i,s:I,s:f,s:s,s:b,s:s}", "rank", i + 1,
                                                 "agent_id", (json_int_t)c[i].agent_id, "score",
                                                 c[i].score, "eta", local(c[i].eta, b), "remote",
                                                 c[i].remote, "reason", c[i].reason));
        json_t *j =
            json_pack("{s:I,s:s,s:s,s:s,s:b,s:{s:i,s:i,s:i,s:i,s:i,s:i},s:o,s:s*}", "request_id",
                      (json_int_t)id, "at", local(at, b), "village", info.village, "item",
                      info.item_name, "remote", info.remote, "agents", "on_duty",
                      info.agents_on_duty, "no_skill", info.no_skill, "full", info.full, "excluded",
                      info.excluded, "unreachable", info.unreachable, "bad_hours", info.bad_hours,
                      "candidates", arr, "nobody", n == 0 ? pick.reason : NULL);
        free(c);
        return print_json(j);
    }
    printf("request %ld: %s, %s — %s, at %s\n", id, info.village,
           info.item_name[0] ? info.item_name : "(no item named)",
           info.remote ? "remote handling (can be done online)" : "in person", local(at, b));
    printf("agents on duty %d: without the skill %d, full %d, excluded %d, unreachable %d, "
           "hours unreadable %d\n",
           info.agents_on_duty, info.no_skill, info.full, info.excluded, info.unreachable,
           info.bad_hours);
    if (n == 0) {
        printf("nobody: %s\n", pick.reason);
        free(c);
        return 0;
    }
    printf("%-4s %-8s %9s  %-16s  %s\n", "rank", "agent", "score", "eta", "reason");
    for (int i = 0; i < n; i++)
        printf("%-4d %-8lld %9.2f  %-16s  %s\n", i + 1, (long long)c[i].agent_id, c[i].score,
               local(c[i].eta, b), c[i].reason);
    printf("score = urgency × minutes until with the resident + %.0f × open tasks + %.0f × served "
           "today (+%.0f remote from another town); lower is better\n",
           DISPATCH_LOAD_MINUTES, DISPATCH_FAIR_MINUTES, DISPATCH_REMOTE_OTHER_TOWN);
    free(c);
    return 0;
}

/* ---- batch and bench ---- */

/* The newest `limit` waiting requests (status new), oldest first. */
static int waiting_ids(db *d, long limit, int64_t **out, int *n, err *e) {
    db_stmt *s = db_query(d, e,
                          "SELECT id FROM assist_requests WHERE status = 'new' ORDER BY id DESC "
                          "LIMIT $1",
                          "i", (int64_t)limit);
    if (!s) return -1;
    int cap = 1024, rc;
    *out = xmalloc((size_t)cap * sizeof(int64_t));
    *n = 0;
    while ((rc = db_step(s)) == DB_ROW) {
        if (*n == cap) {
            cap *= 2;
            *out = xrealloc(*out, (size_t)cap * sizeof(int64_t));
        }
        (*out)[(*n)++] = db_column_int64(s, 0);
    }
    db_reset(s);
    if (rc == DB_ERROR) {
        free(*out);
        *out = NULL;
        return err_internal(e, "requests: %s", db_errmsg(d));
    }
    for (int i = 0; i < *n / 2; i++) {
        int64_t t = (*out)[i];
        (*out)[i] = (*out)[*n - 1 - i];
        (*out)[*n - 1 - i] = t;
    }
    return 0;
}

static int cmd_batch(const cli_env *env, int argc, char **argv) {
    static const char *const with_value[] = {"--limit", "--at", NULL};
    static const char *const flags[] = {"--json", "--greedy", NULL};
    if (check_opts(argc, argv, with_value, flags) != 0) return usage();
    long limit = BATCH_DEFAULT_LIMIT;
    if (opt(argc, argv, "--limit") &&
        parse_long(opt(argc, argv, "--limit"), 1, DISPATCH_BATCH_MAX, &limit) != 0)
        return fprintf(stderr, "isle: dispatch batch: --limit must be 1–%d\n", DISPATCH_BATCH_MAX),
               2;
    int64_t at;
    if (parse_at(opt(argc, argv, "--at"), &at) != 0) return 2;
    db *d;
    if (cli_open_db(env, &d) != 0) return 1;
    err e = {0};
    int64_t *ids = NULL;
    int n = 0;
    if (waiting_ids(d, limit, &ids, &n, &e) != 0) {
        db_close(d);
        return fail("batch", &e);
    }
    if (n == 0) {
        db_close(d);
        free(ids);
        if (flag(argc, argv, "--json"))
            return print_json(json_pack("{s:i,s:[]}", "requests", 0, "plan"));
        printf("no requests waiting\n");
        return 0;
    }
    dispatch_choice *out = xcalloc((size_t)n, sizeof(*out));
    dsp_assign_stats st;
    uint64_t t0 = time_mono_ns();
    int rc = dsp_batch_db(d, at, ids, n, flag(argc, argv, "--greedy"), out, &st, &e);
    double ms = (double)(time_mono_ns() - t0) / 1e6;
    db_close(d);
    if (rc != 0) {
        free(ids);
        free(out);
        return fail("batch", &e);
    }
    char b[32];
    if (flag(argc, argv, "--json")) {
        json_t *plan = json_array();
        for (int i = 0; i < n; i++)
            json_array_append_new(plan, json_pack("{s:I,s:I,s:b,s:f,s:s,s:s}", "request_id",
                                                  (json_int_t)ids[i], "agent_id",
                                                  (json_int_t)out[i].agent_id, "remote",
                                                  out[i].remote, "score", out[i].score, "eta",
                                                  local(out[i].eta, b), "reason", out[i].reason));
        json_t *j =
            json_pack("{s:i,s:i,s:i,s:i,s:f,s:f,s:o}", "requests", n, "assigned", st.assigned,
                      "waiting", st.unassigned, "remote", st.remote, "total_score",
                      round(st.total_score * 100) / 100, "ms", round(ms * 10) / 10, "plan", plan);
        free(ids);
        free(out);
        return print_json(j);
    }
    for (int i = 0; i < n; i++)
        printf("%lld\t%lld\t%s\t%.2f\t%s\n", (long long)ids[i], (long long)out[i].agent_id,
               local(out[i].eta, b), out[i].score, out[i].reason);
    fprintf(stderr,
            "%d requests: %d assigned (%d remote), %d waiting; total score %.0f; %.1f ms "
            "(candidates %.1f ms, %s %.1f ms)\n",
            n, st.assigned, st.remote, st.unassigned, st.total_score, ms, st.ms_candidates,
            flag(argc, argv, "--greedy") ? "greedy" : "min-cost flow", st.ms_flow);
    free(ids);
    free(out);
    return 0;
}

/* CPU time of the calling thread: what a call costs, whatever else runs on the machine. */
static uint64_t thread_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The q-quantile (nearest rank) of n sorted nanosecond values, in ms. */
static double quantile_ms(const uint64_t *v, long n, double q) {
    if (n <= 0) return 0;
    long k = (long)ceil(q * (double)n) - 1;
    if (k < 0) k = 0;
    if (k >= n) k = n - 1;
    return (double)v[k] / 1e6;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmd_bench(const cli_env *env, int argc, char **argv) {
    static const char *const with_value[] = {"--requests", "--singles", "--at", "--seed", NULL};
    static const char *const flags[] = {"--json", "--generate", NULL};
    if (check_opts(argc, argv, with_value, flags) != 0) return usage();
    long nreq = BENCH_DEFAULT_REQUESTS, nsingle = BENCH_DEFAULT_SINGLES, seed = 1;
    if ((opt(argc, argv, "--requests") &&
         parse_long(opt(argc, argv, "--requests"), 1, DISPATCH_BATCH_MAX, &nreq) != 0) ||
        (opt(argc, argv, "--singles") &&
         parse_long(opt(argc, argv, "--singles"), 0, 1000000, &nsingle) != 0) ||
        (opt(argc, argv, "--seed") &&
         parse_long(opt(argc, argv, "--seed"), 0, 2147483647L, &seed) != 0))
        return usage();
    int64_t at;
    if (parse_at(opt(argc, argv, "--at") ? opt(argc, argv, "--at") : BENCH_DEFAULT_AT, &at) != 0)
        return 2;
    db *d;
    if (cli_open_db(env, &d) != 0) return 1;
    err e = {0};
    dsp_bench_seeded seeded = {0};
    if (flag(argc, argv, "--generate") &&
        dsp_bench_seed(d, 1470, (int)nreq, (uint64_t)seed, at, &seeded, &e) != 0) {
        db_close(d);
        return fail("bench", &e);
    }
    int64_t nagents = 0, on_duty = 0;
    db_query_int(d, &e, &nagents, "SELECT COUNT(*) FROM agents", "");
    db_query_int(d, &e, &on_duty, "SELECT COUNT(*) FROM agents WHERE on_duty = 1", "");
    int64_t *ids = NULL;
    int n = 0;
    if (waiting_ids(d, nreq, &ids, &n, &e) != 0 || n == 0) {
        db_close(d);
        free(ids);
        if (n == 0) fprintf(stderr, "isle: dispatch bench: no requests waiting (--generate)\n");
        return n == 0 ? 1 : fail("bench", &e);
    }
    /* Warm-up: the travel graph and the calendar are loaded once per process. */
    dispatch_choice one;
    if (dispatch_pick(d, ids[0], at, NULL, 0, &one, &e) != 0) {
        db_close(d);
        free(ids);
        return fail("bench", &e);
    }
    dispatch_choice *out = xcalloc((size_t)n, sizeof(*out));
    dsp_assign_stats st, gst;
    uint64_t t0 = time_mono_ns();
    int rc = dsp_batch_db(d, at, ids, n, 0, out, &st, &e);
    double batch_ms = (double)(time_mono_ns() - t0) / 1e6;
    t0 = time_mono_ns();
    if (rc == 0) rc = dsp_batch_db(d, at, ids, n, 1, out, &gst, &e);
    double greedy_ms = (double)(time_mono_ns() - t0) / 1e6;
    if (rc != 0) {
        db_close(d);
        free(ids);
        free(out);
        return fail("bench", &e);
    }
    /* Single dispatches: requests spread over the backlog. */
    uint64_t *lat = xcalloc((size_t)(nsingle ? nsingle : 1), sizeof(uint64_t));
    uint64_t *cpu = xcalloc((size_t)(nsingle ? nsingle : 1), sizeof(uint64_t));
    int assigned_single = 0;
    t0 = time_mono_ns();
    for (long i = 0; i < nsingle && rc == 0; i++) {
        int64_t id = ids[(size_t)(i * 7919) % (size_t)n];
        uint64_t q0 = time_mono_ns(), c0 = thread_cpu_ns();
        rc = dispatch_pick(d, id, at, NULL, 0, &one, &e);
        cpu[i] = thread_cpu_ns() - c0;
        lat[i] = time_mono_ns() - q0;
        if (one.agent_id) assigned_single++;
    }
    double singles_s = (double)(time_mono_ns() - t0) / 1e9;
    db_close(d);
    if (rc != 0) {
        free(ids);
        free(out);
        free(lat);
        free(cpu);
        return fail("bench", &e);
    }
    qsort(lat, (size_t)nsingle, sizeof(uint64_t), cmp_u64);
    qsort(cpu, (size_t)nsingle, sizeof(uint64_t), cmp_u64);
    double p50 = quantile_ms(lat, nsingle, 0.50), p99 = quantile_ms(lat, nsingle, 0.99);
    double cpu50 = quantile_ms(cpu, nsingle, 0.50), cpu99 = quantile_ms(cpu, nsingle, 0.99);
    double pmax = nsingle ? (double)lat[nsingle - 1] / 1e6 : 0;
    double mean = nsingle ? singles_s * 1e3 / (double)nsingle : 0;
    if (flag(argc, argv, "--json")) {
        json_t *j = json_pack(
            "{s:I,s:I,s:i,s:i,s:i,s:f,s:f,s:f,s:i,s:i,s:i,s:i,s:i,s:f,s:f,s:f,s:i,s:f,s:f,s:f,"
            "s:f,s:f,s:f,s:i}",
            "agents", (json_int_t)nagents, "agents_on_duty", (json_int_t)on_duty, "agents_added",
            seeded.agents_added, "requests_added", seeded.requests_added, "requests", n, "batch_ms",
            round(batch_ms * 10) / 10, "batch_candidates_ms", round(st.ms_candidates * 10) / 10,
            "batch_flow_ms", round(st.ms_flow * 10) / 10, "batch_assigned", st.assigned,
            "batch_waiting", st.unassigned, "batch_remote", st.remote, "batch_arcs", st.candidates,
            "batch_settled", st.searches_nodes, "batch_total_score", round(st.total_score),
            "greedy_total_score", round(gst.total_score), "greedy_ms", round(greedy_ms * 10) / 10,
            "greedy_assigned", gst.assigned, "pick_p50_ms", round(p50 * 1000) / 1000, "pick_p99_ms",
            round(p99 * 1000) / 1000, "pick_max_ms", round(pmax * 1000) / 1000, "pick_mean_ms",
            round(mean * 1000) / 1000, "pick_cpu_p50_ms", round(cpu50 * 1000) / 1000,
            "pick_cpu_p99_ms", round(cpu99 * 1000) / 1000, "picks", (int)nsingle);
        free(ids);
        free(out);
        free(lat);
        free(cpu);
        return print_json(j);
    }
    printf("agents %lld (%lld on duty)%s; requests waiting %d%s\n", (long long)nagents,
           (long long)on_duty, seeded.agents_added ? " (synthetic roster added)" : "", n,
           seeded.requests_added ? " (synthetic, added)" : "");
    printf("batch: %.1f ms (candidates %.1f ms, min-cost flow %.1f ms, %d arcs): %d assigned "
           "(%d remote), %d waiting; total score %.0f\n",
           batch_ms, st.ms_candidates, st.ms_flow, st.candidates, st.assigned, st.remote,
           st.unassigned, st.total_score);
    printf("greedy on the same candidates: %.1f ms: %d assigned; total score %.0f\n", greedy_ms,
           gst.assigned, gst.total_score);
    printf("dispatch_pick: %ld calls: mean %.3f ms, p50 %.3f ms, p99 %.3f ms, max %.3f ms (%d "
           "with an agent); CPU time p50 %.3f ms, p99 %.3f ms\n",
           nsingle, mean, p50, p99, pmax, assigned_single, cpu50, cpu99);
    free(ids);
    free(out);
    free(lat);
    free(cpu);
    return 0;
}

int dispatch_cli(const cli_env *env, int argc, char **argv) {
    if (argc < 2) return usage();
    const char *sub = argv[1];
    if (!strcmp(sub, "simulate")) return cmd_simulate(env, argc - 1, argv + 1);
    if (!strcmp(sub, "explain")) return cmd_explain(env, argc - 1, argv + 1);
    if (!strcmp(sub, "batch")) return cmd_batch(env, argc - 1, argv + 1);
    if (!strcmp(sub, "bench")) return cmd_bench(env, argc - 1, argv + 1);
    if (!strcmp(sub, "help") || !strcmp(sub, "--help")) {
        usage();
        return 0;
    }
    fprintf(stderr, "isle: dispatch: unknown sub-command \"%s\"\n", sub);
    return usage();
}
