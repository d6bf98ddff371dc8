/* stats_cli: `isle stats …`, the indicators from the command line.
 *
 *   isle stats services [--json] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--department NAME]
 *                       [--town CODE] [--item CODE] [--channel C] [--by DIM]
 *   isle stats trading [--json] [--from D] [--to D] [--kind K]   公共资源交易 indicators
 *   isle stats indicators [--json]          the registry: definitions, units, targets
 *   isle stats refresh [--full]             bring stats_cases up to date (--full: rebuild)
 *
 * `services --json` prints exactly what GET /api/v1/stats/services answers. */
#include "stats/stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "db/migrate.h"

static int usage(void) {
    fprintf(stderr, "usage: isle stats services [--json] [--from YYYY-MM-DD] [--to YYYY-MM-DD]\n"
                    "                           [--department NAME] [--town CODE] [--item CODE]\n"
                    "                           [--channel online|window|assisted|station]\n"
                    "                           [--by department|town|item|channel]\n"
                    "       isle stats trading [--json] [--from YYYY-MM-DD] [--to YYYY-MM-DD]\n"
                    "                          [--kind works|procurement|property|land|emission]\n"
                    "       isle stats indicators [--json]\n"
                    "       isle stats refresh [--full]\n");
    return 2;
}

static int fail(const char *what, const err *e) {
    if (e->field[0])
        fprintf(stderr, "isle: %s: %s (field: %s)\n", what, e->message, e->field);
    else
        fprintf(stderr, "isle: %s: %s\n", what, e->message);
    return e->status == 400 ? 2 : 1;
}

/* "--name VALUE" options from known[] (values[] in the same order) and flags[]. */
static int parse(int argc, char **argv, const char *const *known, const char **values,
                 const char *const *flags, int *set) {
    for (int i = 0; i < argc; i++) {
        int k = 0;
        while (known[k] && strcmp(known[k], argv[i]) != 0)
            k++;
        if (known[k]) {
            if (i + 1 >= argc) {
                fprintf(stderr, "isle: option %s needs a value\n", argv[i]);
                return -1;
            }
            values[k] = argv[++i];
            continue;
        }
        int f = 0;
        while (flags[f] && strcmp(flags[f], argv[i]) != 0)
            f++;
        if (flags[f]) {
            set[f] = 1;
            continue;
        }
        fprintf(stderr, "isle: unknown argument %s\n", argv[i]);
        return -1;
    }
    return 0;
}

static int open_db(const cli_env *env, db **d, err *e) {
    if (db_open(env->db_path, d, e) != 0) return -1;
    if (db_migrate(*d, NULL, e) != 0) {
        db_close(*d);
        return -1;
    }
    return 0;
}

static void print_json(json_t *o) {
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s) puts(s);
    free(s);
}

/* One indicator as a table line. */
static void print_figure(json_t *fg) {
    json_t *v = json_object_get(fg, "value"), *t = json_object_get(fg, "target");
    json_t *m = json_object_get(fg, "met"), *num = json_object_get(fg, "numerator");
    json_t *den = json_object_get(fg, "denominator");
    char val[32] = "—", tgt[32] = "", nd[64] = "";
    if (json_is_number(v)) snprintf(val, sizeof(val), "%.2f", json_number_value(v));
    if (json_is_number(t))
        snprintf(tgt, sizeof(tgt), "%s %g",
                 !strcmp(json_string_value(json_object_get(fg, "direction")), "higher") ? "≥" : "≤",
                 json_number_value(t));
    if (json_is_number(num) && json_is_number(den))
        snprintf(nd, sizeof(nd), "%g / %g", json_number_value(num), json_number_value(den));
    else if (json_is_number(den))
        snprintf(nd, sizeof(nd), "n = %g", json_number_value(den));
    printf("  %-22s %10s %-6s %-8s %-4s %s\n", json_string_value(json_object_get(fg, "name")), val,
           json_string_value(json_object_get(fg, "unit")), tgt,
           json_is_true(m)    ? "达标"
           : json_is_false(m) ? "未达"
                              : "",
           nd);
}

static void print_services(json_t *o) {
    json_t *w = json_object_get(o, "window"), *c = json_object_get(o, "counts");
    printf("一网通办服务指标 %s — %s（按受理日、决定日、评价日计入）\n",
           json_string_value(json_object_get(w, "from")),
           json_string_value(json_object_get(w, "to")));
    const char *keys[] = {"department", "town", "item", "channel"};
    for (size_t i = 0; i < 4; i++) {
        const char *v = json_string_value(json_object_get(json_object_get(o, "filters"), keys[i]));
        if (v) printf("  %s = %s\n", keys[i], v);
    }
    printf("办件：提交 %lld，决定 %lld，在办 %lld；评价 %lld\n",
           (long long)json_integer_value(json_object_get(c, "submitted")),
           (long long)json_integer_value(json_object_get(c, "decided")),
           (long long)json_integer_value(json_object_get(c, "open")),
           (long long)json_integer_value(json_object_get(c, "ratings")));
    size_t i;
    json_t *fg;
    json_array_foreach(json_object_get(o, "indicators"), i, fg) print_figure(fg);
    json_t *groups = json_object_get(o, "groups");
    if (!groups) return;
    printf("\n按 %s 分组（%zu 组）：\n", json_string_value(json_object_get(o, "by")),
           json_array_size(groups));
    printf("  %-36s %8s %8s %8s %8s %8s\n", "", "提交", "一网通办", "免提交", "平均天", "中位天");
    json_t *g;
    json_array_foreach(groups, i, g) {
        json_t *figs = json_object_get(g, "indicators");
        double vals[4] = {-1, -1, -1, -1};
        const char *ids[4] = {"online_rate", "material_waiver_rate", "avg_working_days",
                              "median_working_days"};
        size_t k;
        json_t *f;
        json_array_foreach(figs, k, f) {
            for (int j = 0; j < 4; j++)
                if (!strcmp(json_string_value(json_object_get(f, "id")), ids[j]) &&
                    json_is_number(json_object_get(f, "value")))
                    vals[j] = json_number_value(json_object_get(f, "value"));
        }
        printf("  %-36s %8lld", json_string_value(json_object_get(g, "name")),
               (long long)json_integer_value(
                   json_object_get(json_object_get(g, "counts"), "submitted")));
        for (int j = 0; j < 4; j++) {
            if (vals[j] < 0)
                printf(" %8s", "—");
            else
                printf(" %8.2f", vals[j]);
        }
        printf("\n");
    }
}

static int cmd_services(const cli_env *env, int argc, char **argv) {
    static const char *const known[] = {"--from", "--to",      "--department", "--town",
                                        "--item", "--channel", "--by",         NULL};
    static const char *const flags[] = {"--json", NULL};
    const char *v[8] = {0};
    int set[1] = {0};
    if (parse(argc, argv, known, v, flags, set) != 0) return usage();
    err e = {0};
    stats_filter f;
    stats_dim by;
    if (stats_filter_parse(&f, v[0], v[1], v[2], v[3], v[4], v[5], time_now(), &e) != 0 ||
        stats_dim_parse(v[6], &by, &e) != 0)
        return fail("stats services", &e);
    db *d;
    if (open_db(env, &d, &e) != 0) return fail("database", &e);
    json_t *o = stats_services_json(d, &f, by, &e);
    db_close(d);
    if (!o) return fail("stats services", &e);
    if (set[0])
        print_json(o);
    else
        print_services(o);
    json_decref(o);
    return 0;
}

/* `isle stats trading [--json] [--from D] [--to D] [--kind K]`: the JSON is exactly
 * what GET /api/v1/stats/trading answers. */
static int cmd_trading(const cli_env *env, int argc, char **argv) {
    static const char *const known[] = {"--from", "--to", "--kind", NULL};
    static const char *const flags[] = {"--json", NULL};
    const char *v[3] = {0};
    int set[1] = {0};
    if (parse(argc, argv, known, v, flags, set) != 0) return usage();
    err e = {0};
    db *d;
    if (open_db(env, &d, &e) != 0) return fail("database", &e);
    json_t *o = stats_trading_json(d, v[0], v[1], v[2], time_now(), &e);
    db_close(d);
    if (!o) return fail("stats trading", &e);
    if (set[0])
        print_json(o);
    else
        stats_trading_print(o, stdout);
    json_decref(o);
    return 0;
}

static int cmd_indicators(int argc, char **argv) {
    static const char *const known[] = {NULL};
    static const char *const flags[] = {"--json", NULL};
    const char *v[1] = {0};
    int set[1] = {0};
    if (parse(argc, argv, known, v, flags, set) != 0) return usage();
    json_t *a = stats_indicators_json();
    if (set[0]) {
        print_json(a);
    } else {
        size_t i;
        json_t *ind;
        json_array_foreach(a, i, ind) {
            json_t *t = json_object_get(ind, "target");
            printf("%-22s %s（%s）", json_string_value(json_object_get(ind, "id")),
                   json_string_value(json_object_get(ind, "name")),
                   json_string_value(json_object_get(ind, "unit")));
            if (json_is_number(t))
                printf(" 目标 %s %g",
                       !strcmp(json_string_value(json_object_get(ind, "direction")), "higher")
                           ? "≥"
                           : "≤",
                       json_number_value(t));
            printf("\n    %s\n", json_string_value(json_object_get(ind, "definition")));
        }
    }
    json_decref(a);
    return 0;
}

static int cmd_refresh(const cli_env *env, int argc, char **argv) {
    static const char *const known[] = {NULL};
    static const char *const flags[] = {"--full", NULL};
    const char *v[1] = {0};
    int set[1] = {0};
    if (parse(argc, argv, known, v, flags, set) != 0) return usage();
    err e = {0};
    db *d;
    if (open_db(env, &d, &e) != 0) return fail("database", &e);
    int64_t n = 0;
    uint64_t t0 = time_mono_ns();
    int rc = set[0] ? stats_rebuild(d, NULL, &n, &e) : stats_refresh(d, NULL, &n, &e);
    db_close(d);
    if (rc != 0) return fail("stats refresh", &e);
    printf("stats: %lld case%s derived in %.2f s\n", (long long)n, n == 1 ? "" : "s",
           (double)(time_mono_ns() - t0) / 1e9);
    return 0;
}

int stats_cli(const cli_env *env, int argc, char **argv) {
    if (argc < 2) return usage();
    const char *sub = argv[1];
    if (!strcmp(sub, "services")) return cmd_services(env, argc - 2, argv + 2);
    if (!strcmp(sub, "indicators")) return cmd_indicators(argc - 2, argv + 2);
    if (!strcmp(sub, "trading")) return cmd_trading(env, argc - 2, argv + 2);
    if (!strcmp(sub, "refresh")) return cmd_refresh(env, argc - 2, argv + 2);
    fprintf(stderr, "isle: unknown stats command \"%s\" (services, trading, indicators, refresh)\n",
            sub);
    return 2;
}
