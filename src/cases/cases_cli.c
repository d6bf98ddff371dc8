/* cases_cli.c: `isle cases list|show` — applications from the command line, for
 * operators and scripts. The CLI reads with supervisor rights (every case is visible);
 * changes go through the API, where each action has a user behind it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/roles.h"
#include "cases/cases.h"
#include "db/migrate.h"

static int usage(void) {
    fprintf(stderr,
            "usage: isle cases list [--status S] [--due overdue|due_soon] [--department D]\n"
            "                       [--limit N] [--json]\n"
            "       isle cases show ID [--json]\n");
    return 2;
}

int cases_cli(const cli_env *env, int argc, char **argv) {
    if (argc < 2) return usage();
    const char *sub = argv[1];
    int json = 0;
    cases_filter f = {0};
    int64_t id = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json"))
            json = 1;
        else if (!strcmp(a, "--status") && i + 1 < argc)
            f.status = argv[++i];
        else if (!strcmp(a, "--due") && i + 1 < argc)
            f.due = argv[++i];
        else if (!strcmp(a, "--department") && i + 1 < argc)
            f.department = argv[++i];
        else if (!strcmp(a, "--limit") && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 1 || v > CASES_MAX_LIMIT) {
                fprintf(stderr, "isle: cases: --limit must be 1–%d\n", CASES_MAX_LIMIT);
                return 2;
            }
            f.limit = v;
        } else if (!strcmp(sub, "show") && !id) {
            char *end;
            long long v = strtoll(a, &end, 10);
            if (*end || v <= 0) {
                fprintf(stderr, "isle: cases: not a case id: %s\n", a);
                return 2;
            }
            id = v;
        } else {
            return usage();
        }
    }
    if (strcmp(sub, "list") && strcmp(sub, "show")) return usage();
    if (!strcmp(sub, "show") && !id) return usage();
    err e = {0};
    db *d;
    if (db_open(env->db_path, &d, &e) != 0 || db_migrate(d, NULL, &e) != 0) {
        fprintf(stderr, "isle: cases: %s\n", e.message);
        return 1;
    }
    cases_actor sys = {.user_id = 0, .role = ROLE_SUPERVISOR, .audit = {0, "cli", NULL}};
    json_t *out = !strcmp(sub, "show") ? cases_get(d, &sys, id, &e) : cases_list(d, &sys, &f, &e);
    db_close(d);
    if (!out) {
        fprintf(stderr, "isle: cases: %s\n", e.message);
        return e.status == 400 ? 2 : 1;
    }
    if (json) {
        char *t = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
        printf("%s\n", t ? t : "{}");
        free(t);
    } else if (!strcmp(sub, "show")) {
        printf("%s  %s  %s  %s\n", json_string_value(json_object_get(out, "case_no")),
               json_string_value(json_object_get(out, "item_name")),
               json_string_value(json_object_get(out, "status_label")),
               json_string_value(json_object_get(out, "department")));
        size_t i;
        json_t *ev;
        json_array_foreach(json_object_get(out, "events"), i, ev) {
            const char *reason = json_string_value(json_object_get(ev, "reason"));
            printf("  %s  %-8s %-10s %s%s%s\n", json_string_value(json_object_get(ev, "at")),
                   json_string_value(json_object_get(ev, "action")),
                   json_string_value(json_object_get(ev, "actor_name")),
                   json_string_value(json_object_get(ev, "to_label"))
                       ? json_string_value(json_object_get(ev, "to_label"))
                       : "",
                   reason ? "  " : "", reason ? reason : "");
        }
    } else {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(out, "items"), i, c) {
            const char *dl = json_string_value(json_object_get(c, "deadline_at"));
            const char *due = json_string_value(json_object_get(c, "due"));
            printf("%s\t%s\t%s\t%s\t%s\n", json_string_value(json_object_get(c, "case_no")),
                   json_string_value(json_object_get(c, "status")), dl ? dl : "-", due ? due : "-",
                   json_string_value(json_object_get(c, "item_name")));
        }
        fprintf(stderr, "%lld cases\n",
                (long long)json_integer_value(json_object_get(out, "total")));
    }
    json_decref(out);
    return 0;
}
