/* assist_cli.c: `isle assist list|show` — assisted requests (帮办代办) from the
 * command line, for operators and scripts. The CLI reads with operator rights
 * (every request is visible, as for staff); changes go through the API, where
 * each action has a person behind it. Text output masks phone numbers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/roles.h"
#include "base/timeutil.h"
#include "db/migrate.h"
#include "island/assist.h"
#include "notify/notify.h"

static int usage(void) {
    fprintf(stderr,
            "usage: isle assist list [--status S|open|closed] [--town CODE] [--village CODE]\n"
            "                        [--due overdue|accept_overdue|done_overdue] [--agent ID]\n"
            "                        [--limit N] [--json]\n"
            "       isle assist show ID [--json]\n");
    return 2;
}

static const char *str(json_t *o, const char *k) {
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "-";
}

static const char *sub_str(json_t *o, const char *k, const char *k2) {
    return str(json_object_get(o, k), k2);
}

static int parse_id(const char *s, int64_t *out) {
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v <= 0) return -1;
    *out = v;
    return 0;
}

static void print_show(json_t *o) {
    char masked[32];
    const char *phone = json_string_value(json_object_get(json_object_get(o, "resident"), "phone"));
    printf("%s  %s  %s\n", str(o, "request_no"), str(o, "item_name"), str(o, "status_label"));
    printf("  居民    %s  %s  渠道 %s  %s\n", sub_str(o, "resident", "name"),
           phone ? notify_mask_phone(phone, masked, sizeof(masked)) : "-", str(o, "channel"),
           str(o, "urgency"));
    printf("  地点    %s %s（%s）\n", sub_str(o, "town", "name"), sub_str(o, "village", "name"),
           sub_str(o, "island", "name"));
    json_t *ag = json_object_get(o, "agent");
    if (json_is_object(ag))
        printf("  代办员  %s（#%lld，%s）  %s\n", str(ag, "name"),
               (long long)json_integer_value(json_object_get(ag, "id")), str(ag, "station_name"),
               sub_str(o, "dispatch", "reason"));
    else
        printf("  代办员  —  %s\n", str(o, "waiting"));
    json_t *sla = json_object_get(o, "sla");
    printf("  时限    接单 %s%s  办结 %s%s\n", str(sla, "accept_due"),
           json_is_true(json_object_get(sla, "accept_overdue")) ? "（已超时）" : "",
           str(sla, "done_due"),
           json_is_true(json_object_get(sla, "done_overdue")) ? "（已超时）" : "");
    size_t i;
    json_t *ev;
    json_array_foreach(json_object_get(o, "events"), i, ev) {
        json_t *actor = json_object_get(ev, "actor");
        const char *note = json_string_value(json_object_get(ev, "note"));
        printf("  %s  %-12s %-10s %s%s%s\n", str(ev, "at"), str(ev, "action"),
               json_is_object(actor) ? str(actor, "name") : "系统", str(ev, "to_status"),
               note ? "  " : "", note ? note : "");
    }
}

int assist_cli(const cli_env *env, int argc, char **argv) {
    if (argc < 2) return usage();
    const char *sub = argv[1];
    if (strcmp(sub, "list") && strcmp(sub, "show")) return usage();
    int json = 0;
    assist_filter f = {0};
    int64_t id = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json"))
            json = 1;
        else if (!strcmp(a, "--status") && i + 1 < argc)
            f.status = argv[++i];
        else if (!strcmp(a, "--town") && i + 1 < argc)
            f.town_code = argv[++i];
        else if (!strcmp(a, "--village") && i + 1 < argc)
            f.village_code = argv[++i];
        else if (!strcmp(a, "--due") && i + 1 < argc)
            f.due = argv[++i];
        else if (!strcmp(a, "--agent") && i + 1 < argc) {
            if (parse_id(argv[++i], &f.agent_id) != 0) {
                fprintf(stderr, "isle: assist: --agent must be an agent id\n");
                return 2;
            }
        } else if (!strcmp(a, "--limit") && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 1 || v > ASSIST_MAX_LIMIT) {
                fprintf(stderr, "isle: assist: --limit must be 1–%d\n", ASSIST_MAX_LIMIT);
                return 2;
            }
            f.limit = v;
        } else if (!strcmp(sub, "show") && !id && a[0] != '-') {
            if (parse_id(a, &id) != 0) {
                fprintf(stderr, "isle: assist: not a request id: %s\n", a);
                return 2;
            }
        } else {
            return usage();
        }
    }
    if (!strcmp(sub, "show") && !id) return usage();
    err e = {0};
    db *d;
    if (db_open(env->db_path, &d, &e) != 0) {
        fprintf(stderr, "isle: assist: %s\n", e.message);
        return 1;
    }
    if (db_migrate(d, NULL, &e) != 0) {
        db_close(d);
        fprintf(stderr, "isle: assist: %s\n", e.message);
        return 1;
    }
    assist_actor op = {.user_id = 0, .role = ROLE_SUPERVISOR, .audit = {0, "cli", NULL}};
    snprintf(op.name, sizeof(op.name), "cli");
    int64_t now = time_now();
    json_t *out =
        !strcmp(sub, "show") ? assist_get(d, &op, id, now, &e) : assist_list(d, &op, &f, now, &e);
    db_close(d);
    if (!out) {
        if (e.field[0])
            fprintf(stderr, "isle: assist: %s (field: %s)\n", e.message, e.field);
        else
            fprintf(stderr, "isle: assist: %s\n", e.message);
        return e.status == 400 ? 2 : 1;
    }
    if (json) {
        char *t = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
        printf("%s\n", t ? t : "{}");
        free(t);
    } else if (!strcmp(sub, "show")) {
        print_show(out);
    } else {
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(out, "items"), i, r) {
            json_t *sla = json_object_get(r, "sla");
            int late = json_is_true(json_object_get(sla, "accept_overdue")) ||
                       json_is_true(json_object_get(sla, "done_overdue"));
            json_t *ag = json_object_get(r, "agent");
            printf("%lld\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
                   (long long)json_integer_value(json_object_get(r, "id")), str(r, "request_no"),
                   str(r, "status"), late ? "overdue" : "-", sub_str(r, "town", "name"),
                   sub_str(r, "village", "name"), json_is_object(ag) ? str(ag, "name") : "-",
                   str(r, "item_name"));
        }
        fprintf(stderr, "%lld requests\n",
                (long long)json_integer_value(json_object_get(out, "total")));
    }
    json_decref(out);
    return 0;
}
