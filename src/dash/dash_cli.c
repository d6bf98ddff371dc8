/* dash_cli: the 数说 report and 无感监测 from the command line.
 *
 *   isle report --year YYYY [--json] [--pdf FILE]   the year's figures and sentences
 *   isle dash overview [--from D] [--to D]          the overview's JSON
 *   isle dash services [--level L] [--county C] [--town T] [--item I] [--from D] [--to D]
 *                      [--offset N]                 one drill level's table (JSON)
 *   isle dash alerts [--status open|resolved] [--json]
 *   isle dash monitor [--backfill N]                one monitoring pass now */
#include "dash/dash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "db/migrate.h"

static int usage(void) {
    fprintf(stderr, "usage: isle report --year YYYY [--json] [--pdf FILE]\n"
                    "       isle dash overview [--from YYYY-MM-DD] [--to YYYY-MM-DD]\n"
                    "       isle dash services [--level city|county|town|item] [--county C]\n"
                    "                          [--town CODE] [--item CODE] [--from D] [--to D]\n"
                    "                          [--offset N]\n"
                    "       isle dash alerts [--status open|resolved] [--json]\n"
                    "       isle dash monitor [--backfill N]\n");
    return 2;
}

static int fail(const char *what, const err *e) {
    if (e->field[0])
        fprintf(stderr, "isle: %s: %s (field: %s)\n", what, e->message, e->field);
    else
        fprintf(stderr, "isle: %s: %s\n", what, e->message);
    return e->status == 400 ? 2 : 1;
}

static void print_json(json_t *o) {
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s) puts(s);
    free(s);
}

/* Options: the value after each known name; flags alone. -1 on anything else. */
static int opts(int argc, char **argv, const char *const *names, const char **vals,
                const char *const *flags, int *set) {
    for (int i = 0; i < argc; i++) {
        int k = 0, f = 0;
        while (names[k] && strcmp(names[k], argv[i]))
            k++;
        if (names[k]) {
            if (i + 1 >= argc) {
                fprintf(stderr, "isle: option %s needs a value\n", argv[i]);
                return -1;
            }
            vals[k] = argv[++i];
            continue;
        }
        while (flags[f] && strcmp(flags[f], argv[i]))
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

static int report(db *d, int argc, char **argv) {
    static const char *const names[] = {"--year", "--pdf", NULL};
    static const char *const flags[] = {"--json", NULL};
    const char *vals[2] = {0};
    int set[1] = {0};
    if (opts(argc, argv, names, vals, flags, set) != 0 || !vals[0]) return usage();
    char *end;
    long year = strtol(vals[0], &end, 10);
    if (*end || year < 2000 || year > 2100) {
        fprintf(stderr, "isle: --year must be a year such as 2026\n");
        return 2;
    }
    err e = {0};
    json_t *r = dash_report(d, (int)year, time_now(), &e);
    if (!r) return fail("report", &e);
    int rc = 0;
    if (vals[1]) {
        unsigned char *pdf = NULL;
        size_t len = 0;
        if (dash_report_pdf(r, &pdf, &len, &e) != 0)
            rc = fail("report pdf", &e);
        else {
            FILE *f = fopen(vals[1], "wb");
            if (!f || fwrite(pdf, 1, len, f) != len || fclose(f) != 0) {
                fprintf(stderr, "isle: cannot write %s\n", vals[1]);
                rc = 1;
            } else {
                fprintf(stderr, "report: %s (%zu bytes)\n", vals[1], len);
            }
            free(pdf);
        }
    }
    if (rc == 0) {
        if (set[0] || !vals[1]) {
            if (set[0])
                print_json(r);
            else {
                size_t i;
                json_t *s;
                json_array_foreach(json_object_get(r, "sentences"), i, s)
                    printf("%s\n", json_string_value(s));
            }
        }
    }
    json_decref(r);
    return rc;
}

int dash_cli(const cli_env *env, int argc, char **argv) {
    int is_report = argc >= 1 && !strcmp(argv[0], "report");
    if (!is_report && argc < 2) return usage();
    db *d = NULL;
    err e = {0};
    if (db_open(env->db_path, &d, &e) != 0 || db_migrate(d, NULL, &e) != 0) {
        db_close(d);
        return fail("database", &e);
    }
    int rc;
    if (is_report) {
        rc = report(d, argc - 1, argv + 1);
    } else if (!strcmp(argv[1], "overview")) {
        static const char *const names[] = {"--from", "--to", NULL};
        static const char *const flags[] = {NULL};
        const char *vals[2] = {0};
        if (opts(argc - 2, argv + 2, names, vals, flags, NULL) != 0)
            rc = usage();
        else {
            json_t *o = dash_overview(d, vals[0], vals[1], time_now(), &e);
            rc = o ? 0 : fail("overview", &e);
            if (o) print_json(o);
            json_decref(o);
        }
    } else if (!strcmp(argv[1], "services")) {
        static const char *const names[] = {"--level", "--county", "--town",   "--item",
                                            "--from",  "--to",     "--offset", NULL};
        static const char *const flags[] = {NULL};
        const char *vals[7] = {0};
        if (opts(argc - 2, argv + 2, names, vals, flags, NULL) != 0)
            rc = usage();
        else {
            dash_drill_query q = {.level = vals[0],
                                  .county = vals[1],
                                  .town = vals[2],
                                  .item = vals[3],
                                  .from = vals[4],
                                  .to = vals[5],
                                  .offset = vals[6]};
            json_t *o = dash_drill(d, &q, time_now(), &e);
            rc = o ? 0 : fail("services", &e);
            if (o) print_json(o);
            json_decref(o);
        }
    } else if (!strcmp(argv[1], "alerts")) {
        static const char *const names[] = {"--status", NULL};
        static const char *const flags[] = {"--json", NULL};
        const char *vals[1] = {0};
        int set[1] = {0};
        if (opts(argc - 2, argv + 2, names, vals, flags, set) != 0)
            rc = usage();
        else {
            json_t *o = dash_alerts_list(d, vals[0], 200, 0, &e);
            rc = o ? 0 : fail("alerts", &e);
            if (o && set[0])
                print_json(o);
            else if (o) {
                size_t i;
                json_t *a;
                json_array_foreach(json_object_get(o, "items"), i, a)
                    printf("%-8s %-7s %-10s %-24s %8.2f (目标 %.2f) %s\n",
                           json_string_value(json_object_get(a, "status")),
                           json_string_value(json_object_get(a, "period")),
                           json_string_value(json_object_get(a, "name")),
                           json_string_value(json_object_get(a, "key_name")),
                           json_number_value(json_object_get(a, "value")),
                           json_number_value(json_object_get(a, "target")),
                           json_string_value(json_object_get(a, "opened_at")));
                fprintf(stderr, "%lld alerts\n",
                        (long long)json_integer_value(json_object_get(o, "total")));
            }
            json_decref(o);
        }
    } else if (!strcmp(argv[1], "monitor")) {
        static const char *const names[] = {"--backfill", NULL};
        static const char *const flags[] = {NULL};
        const char *vals[1] = {0};
        if (opts(argc - 2, argv + 2, names, vals, flags, NULL) != 0)
            rc = usage();
        else {
            int opened = 0, resolved = 0;
            int back = vals[0] ? (int)strtol(vals[0], NULL, 10) : 31;
            if (back < 0 || back > 366) back = 31;
            rc = dash_monitor(d, time_now(), back, &opened, &resolved, &e) == 0
                     ? (printf("alerts: %d opened, %d resolved\n", opened, resolved), 0)
                     : fail("monitor", &e);
        }
    } else {
        rc = usage();
    }
    db_close(d);
    return rc;
}
