/* travel_cli: `isle travel` and `isle coverage` — the travel graph and the
 * 10-minute service circle from the command line.
 *
 *   isle travel FROM TO [--at "YYYY-MM-DD HH:MM"] [--json]
 *   isle travel --bench [N]          N random queries (default 100000): speed
 *   isle coverage [--service CODE] [--town CODE] [--at TIME] [--json]
 *   isle coverage --services         the services and the kinds that offer them
 *
 * FROM and TO are what travel_resolve() accepts (island id or name, town, village
 * code, station id …). Times are Asia/Shanghai; --at defaults to now for travel
 * and to 10:00 on a working day for coverage. Exit status: 0 ok, 1 failure (or
 * no scheduled connection), 2 bad input. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "base/xmalloc.h"
#include "db/migrate.h"
#include "island/coverage.h"
#include "island/travel.h"
#include "workcal/workcal.h"

#define BENCH_DEFAULT 100000
#define BENCH_MAX     10000000

static int usage(const char *cmd) {
    if (!strcmp(cmd, "coverage"))
        fprintf(stderr,
                "usage: isle coverage [--service CODE] [--town CODE] [--at TIME] [--json]\n"
                "       isle coverage --services\n"
                "  the share of residents within %d minutes of a service point offering the\n"
                "  service (a code from data/island/station_services.json or a catalog item\n"
                "  code), per town, and the villages left out. TIME is HH:MM or\n"
                "  \"YYYY-MM-DD HH:MM\" (default %s, Asia/Shanghai).\n",
                COVERAGE_THRESHOLD_MINUTES, COVERAGE_DEFAULT_AT);
    else
        fprintf(stderr,
                "usage: isle travel FROM TO [--at \"YYYY-MM-DD HH:MM\"] [--json]\n"
                "       isle travel --bench [N]\n"
                "  the earliest arrival by road, bridge and ferry (timetables, %d minutes at\n"
                "  the pier before a sailing). FROM/TO: an island id or name (zhoushan,\n"
                "  庙子湖), a town (东极镇), a village code or a station id. --at defaults to\n"
                "  now (Asia/Shanghai).\n",
                TRAVEL_BOARDING_MINUTES);
    return 2;
}

static int print_json(json_t *j) {
    char *txt =
        j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12)) : NULL;
    json_decref(j);
    if (!txt) {
        fprintf(stderr, "isle: cannot encode the answer as JSON\n");
        return 1;
    }
    printf("%s\n", txt);
    free(txt);
    return 0;
}

/* Open the database and load the graph. NULL after printing why. */
static travel_graph *load_graph(const cli_env *env, db **out_db) {
    db *d = NULL;
    err e = {0};
    if (db_open(env->db_path, &d, &e) != 0 || db_migrate(d, NULL, &e) != 0) {
        fprintf(stderr, "isle: database: %s\n", e.message);
        db_close(d);
        return NULL;
    }
    travel_graph *g = travel_load(d, env->data_dir, &e);
    if (!g) {
        fprintf(stderr, "isle: travel: %s\n", e.message);
        db_close(d);
        return NULL;
    }
    if (out_db)
        *out_db = d;
    else
        db_close(d);
    return g;
}

/* ---- isle travel FROM TO ---- */

static void print_route(const travel_graph *g, const travel_place *from, const travel_place *to,
                        const travel_route *r) {
    char a[32], b[32];
    printf("%s → %s, leaving %s\n", travel_place_name(g, from), travel_place_name(g, to),
           workcal_local_format(r->depart, a, sizeof(a)));
    for (size_t i = 0; i < r->nlegs; i++) {
        const travel_leg *l = &r->legs[i];
        printf("  %s – %s  %-6s %s → %s (%lld min", workcal_local_format(l->depart, a, sizeof(a)),
               workcal_local_format(l->arrive, b, sizeof(b)) + 11, l->mode, l->from, l->to,
               (long long)((l->arrive - l->depart) / 60));
        if (l->line) printf(", %s", l->line);
        if (l->via) printf(" %s", l->via);
        if (!strcmp(l->mode, "ferry")) printf(", waiting %d min at the pier", l->wait_minutes);
        printf(")\n");
    }
    printf("arrival %s (%lld min)\n", workcal_local_format(r->arrive, a, sizeof(a)),
           (long long)((r->arrive - r->depart) / 60));
}

static int cmd_route(const cli_env *env, const char *from_s, const char *to_s, const char *at_s,
                     int json) {
    int64_t at = time_now();
    if (at_s && workcal_local_parse(at_s, &at) != 0) {
        fprintf(stderr, "isle: travel: --at \"%s\" is not a local time \"YYYY-MM-DD HH:MM\"\n",
                at_s);
        return 2;
    }
    travel_graph *g = load_graph(env, NULL);
    if (!g) return 1;
    travel_place from, to;
    err e = {0};
    if (travel_resolve(g, from_s, "from", &from, &e) != 0 ||
        travel_resolve(g, to_s, "to", &to, &e) != 0) {
        fprintf(stderr, "isle: travel: %s\n", e.message);
        travel_free(g);
        return 2;
    }
    travel_route r;
    travel_route_find(g, &from, &to, at, &r);
    int rc = 0;
    if (json) {
        rc = print_json(travel_route_json(g, &from, &to, &r));
    } else if (r.arrive != TRAVEL_NEVER) {
        print_route(g, &from, &to, &r);
    }
    if (r.arrive == TRAVEL_NEVER) {
        fprintf(stderr,
                "isle: travel: no scheduled connection from %s to %s (charter boats only)\n",
                travel_place_name(g, &from), travel_place_name(g, &to));
        rc = 1;
    }
    travel_route_free(&r);
    travel_free(g);
    return rc;
}

/* ---- isle travel --bench ---- */

static uint64_t lcg(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmd_bench(const cli_env *env, long n) {
    uint64_t t_load = time_mono_ns();
    db *d = NULL;
    travel_graph *g = load_graph(env, &d);
    if (!g) return 1;
    double load_ms = (double)(time_mono_ns() - t_load) / 1e6;
    travel_stats st = travel_graph_stats(g);
    int nv = travel_village_count(g), ns = travel_station_count(g);
    if (nv == 0 || ns == 0) {
        fprintf(stderr, "isle: travel: no villages or stations to benchmark\n");
        travel_free(g);
        db_close(d);
        return 1;
    }
    printf("graph: %d islands, %d ports, %d links, %d drive edges, %d villages, %d stations "
           "(loaded in %.1f ms)\n",
           st.islands, st.ports, st.links, st.drive_edges, st.villages, st.stations, load_ms);
    /* Queries: a random station to a random village at a random minute of a week. */
    int64_t base;
    workcal_local_parse("2026-12-01 00:00", &base);
    travel_place *from = xcalloc((size_t)n, sizeof(*from)), *to = xcalloc((size_t)n, sizeof(*to));
    int64_t *at = xcalloc((size_t)n, sizeof(*at));
    uint64_t seed = 20261201;
    for (long i = 0; i < n; i++) {
        travel_place_station(g, travel_station_at(g, (int)(lcg(&seed) % (uint64_t)ns))->id,
                             &from[i]);
        travel_place_village(g, travel_village_at(g, (int)(lcg(&seed) % (uint64_t)nv))->code,
                             &to[i]);
        at[i] = base + (int64_t)(lcg(&seed) % (7 * 1440)) * 60;
    }
    uint64_t *lat = xcalloc((size_t)n, sizeof(*lat));
    long unreachable = 0;
    int64_t total_minutes = 0;
    uint64_t t0 = time_mono_ns();
    for (long i = 0; i < n; i++) {
        uint64_t q0 = time_mono_ns();
        int64_t arr = travel_time(g, &from[i], &to[i], at[i]);
        lat[i] = time_mono_ns() - q0;
        if (arr == TRAVEL_NEVER)
            unreachable++;
        else
            total_minutes += (arr - at[i]) / 60;
    }
    double total_s = (double)(time_mono_ns() - t0) / 1e9;
    qsort(lat, (size_t)n, sizeof(*lat), cmp_u64);
    printf("travel_time: %ld queries in %.3f s: %.0f queries/s, mean %.2f µs, p50 %.2f µs, "
           "p99 %.2f µs, max %.2f µs (mean trip %.0f min, %ld unreachable)\n",
           n, total_s, (double)n / total_s, total_s * 1e6 / (double)n,
           (double)lat[(size_t)n / 2] / 1e3, (double)lat[(size_t)((double)n * 0.99)] / 1e3,
           (double)lat[(size_t)n - 1] / 1e3,
           n > unreachable ? (double)total_minutes / (double)(n - unreachable) : 0.0, unreachable);
    /* Routes with legs (allocates). */
    long nr = n < 20000 ? n : 20000;
    t0 = time_mono_ns();
    for (long i = 0; i < nr; i++) {
        travel_route r;
        travel_route_find(g, &from[i], &to[i], at[i], &r);
        travel_route_free(&r);
    }
    double route_s = (double)(time_mono_ns() - t0) / 1e9;
    printf("travel_route_find: %ld routes, mean %.2f µs\n", nr, route_s * 1e6 / (double)nr);
    /* One-to-many trees. */
    travel_tree *tree = travel_tree_new(g);
    t0 = time_mono_ns();
    for (long i = 0; i < nr; i++)
        travel_tree_run(tree, &from[i], at[i]);
    double tree_s = (double)(time_mono_ns() - t0) / 1e9;
    travel_tree_free(tree);
    printf("travel_tree_run (one-to-all ports): %ld runs, mean %.2f µs\n", nr,
           tree_s * 1e6 / (double)nr);
    /* The whole service circle. */
    err e = {0};
    coverage_services *svc = coverage_services_load(env->data_dir, &e);
    if (svc) {
        t0 = time_mono_ns();
        int runs = 10;
        for (int i = 0; i < runs; i++)
            json_decref(coverage_compute(d, g, svc, NULL, &e));
        printf("coverage_compute (all %d villages, default service): mean %.2f ms\n", nv,
               (double)(time_mono_ns() - t0) / 1e6 / runs);
        coverage_services_free(svc);
    } else {
        fprintf(stderr, "isle: coverage: %s\n", e.message);
    }
    free(lat);
    free(from);
    free(to);
    free(at);
    travel_free(g);
    db_close(d);
    return 0;
}

/* ---- isle coverage ---- */

static void print_coverage(json_t *c) {
    json_t *svc = json_object_get(c, "service");
    printf("10-minute service circle: %s (%s), leaving %s\n",
           json_string_value(json_object_get(svc, "name")),
           json_string_value(json_object_get(svc, "code")),
           json_string_value(json_object_get(c, "depart")));
    printf("offered at:");
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(svc, "kinds"), i, k) printf(" %s", json_string_value(k));
    printf(" (%lld points)\n", (long long)json_integer_value(json_object_get(c, "stations")));
    printf("residents within %lld min: %.1f %% (%lld of %lld); villages %lld of %lld\n\n",
           (long long)json_integer_value(json_object_get(c, "threshold_minutes")),
           json_number_value(json_object_get(c, "share_within_10min")) * 100,
           (long long)json_integer_value(json_object_get(c, "population_within")),
           (long long)json_integer_value(json_object_get(c, "population")),
           (long long)json_integer_value(json_object_get(c, "villages_within")),
           (long long)json_integer_value(json_object_get(c, "villages")));
    printf("%-10s %8s %7s %7s %5s  %s\n", "town", "villages", "within", "share", "max", "name");
    json_t *t;
    json_array_foreach(json_object_get(c, "towns"), i, t) {
        json_t *mx = json_object_get(t, "max_minutes");
        char max[16];
        if (json_is_integer(mx))
            snprintf(max, sizeof(max), "%lld", (long long)json_integer_value(mx));
        else
            snprintf(max, sizeof(max), "-");
        printf("%-10s %8lld %7lld %6.1f%% %5s  %s\n", json_string_value(json_object_get(t, "code")),
               (long long)json_integer_value(json_object_get(t, "villages")),
               (long long)json_integer_value(json_object_get(t, "villages_within")),
               json_number_value(json_object_get(t, "share_within_10min")) * 100, max,
               json_string_value(json_object_get(t, "name")));
    }
    json_t *out = json_object_get(c, "villages_outside");
    printf("\nvillages outside the circle: %zu (minutes, town, village → nearest point)\n",
           json_array_size(out));
    json_t *v;
    json_array_foreach(out, i, v) {
        json_t *m = json_object_get(v, "minutes");
        char mins[16];
        if (json_is_integer(m))
            snprintf(mins, sizeof(mins), "%lld", (long long)json_integer_value(m));
        else
            snprintf(mins, sizeof(mins), "none");
        const char *st = json_string_value(json_object_get(v, "station_name"));
        printf("  %s %5s min  %s %s → %s\n", json_string_value(json_object_get(v, "code")), mins,
               json_string_value(json_object_get(v, "town")),
               json_string_value(json_object_get(v, "name")), st ? st : "(none)");
    }
}

static int cmd_coverage(const cli_env *env, int argc, char **argv) {
    coverage_query q = {0};
    int json = 0, list = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--services")) {
            list = 1;
        } else if ((!strcmp(a, "--service") || !strcmp(a, "--town") || !strcmp(a, "--at")) &&
                   i + 1 < argc) {
            const char **slot = !strcmp(a, "--service") ? &q.service
                                : !strcmp(a, "--town")  ? &q.town_code
                                                        : &q.at;
            *slot = argv[++i];
        } else {
            fprintf(stderr, "isle: coverage: unexpected \"%s\"\n", a);
            return usage("coverage");
        }
    }
    err e = {0};
    coverage_services *svc = coverage_services_load(env->data_dir, &e);
    if (!svc) {
        fprintf(stderr, "isle: coverage: %s\n", e.message);
        return 1;
    }
    if (list) {
        int rc = print_json(coverage_services_json(svc));
        coverage_services_free(svc);
        return rc;
    }
    db *d = NULL;
    travel_graph *g = load_graph(env, &d);
    if (!g) {
        coverage_services_free(svc);
        return 1;
    }
    json_t *c = coverage_compute(d, g, svc, &q, &e);
    int rc = 0;
    if (!c) {
        fprintf(stderr, "isle: coverage: %s\n", e.message);
        rc = e.status >= 400 && e.status < 500 ? 2 : 1;
    } else if (json) {
        rc = print_json(c);
    } else {
        print_coverage(c);
        json_decref(c);
    }
    travel_free(g);
    db_close(d);
    coverage_services_free(svc);
    return rc;
}

int travel_cli(const cli_env *env, int argc, char **argv) {
    if (env && env->data_dir) travel_set_data_dir(env->data_dir);
    if (argc < 1) return usage("travel");
    if (!strcmp(argv[0], "coverage")) return cmd_coverage(env, argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "--bench")) {
        long n = BENCH_DEFAULT;
        if (argc > 3) return usage("travel");
        if (argc == 3) {
            char *end;
            n = strtol(argv[2], &end, 10);
            if (*end || n < 1 || n > BENCH_MAX) {
                fprintf(stderr, "isle: travel: --bench N must be 1–%d\n", BENCH_MAX);
                return 2;
            }
        }
        return cmd_bench(env, n);
    }
    const char *pos[2] = {NULL, NULL}, *at = NULL;
    int npos = 0, json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--at") && i + 1 < argc) {
            at = argv[++i];
        } else if (!strncmp(argv[i], "--", 2) || npos == 2) {
            fprintf(stderr, "isle: travel: unexpected \"%s\"\n", argv[i]);
            return usage("travel");
        } else {
            pos[npos++] = argv[i];
        }
    }
    if (npos != 2) return usage("travel");
    return cmd_route(env, pos[0], pos[1], at, json);
}
