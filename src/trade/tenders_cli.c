/* tenders_cli.c: `isle trade tender …` — tenders from the command line for
 * operators and scripts (the CLI acts as the system, i.e. as trading staff, and is
 * audited as "cli"):
 *
 *   isle trade tender list [--kind K] [--status S] [--phase open|results|closed] [--q TEXT]
 *                          [--limit N] [--json]
 *   isle trade tender show TENDER_NO [--json]
 *   isle trade tender create FILE.json        a draft from create's JSON; prints its number
 *   isle trade tender announce TENDER_NO
 *   isle trade tender cancel TENDER_NO REASON
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "db/db.h"
#include "trade/tenders.h"

static int usage(void) {
    fprintf(stderr,
            "usage: isle trade tender list [--kind K] [--status S] [--phase open|results|closed]\n"
            "                              [--q TEXT] [--limit N] [--json]\n"
            "       isle trade tender show TENDER_NO [--json]\n"
            "       isle trade tender create FILE.json\n"
            "       isle trade tender announce TENDER_NO\n"
            "       isle trade tender cancel TENDER_NO REASON\n");
    return 2;
}

static const char *str(json_t *o, const char *k) {
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "-";
}

static int fail(const err *e) {
    if (e->field[0])
        fprintf(stderr, "isle: trade tender: %s (field: %s)\n", e->message, e->field);
    else
        fprintf(stderr, "isle: trade tender: %s\n", e->message);
    return e->status == 400 ? 2 : 1;
}

static void print_json(json_t *o) {
    char *t = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    printf("%s\n", t ? t : "{}");
    free(t);
}

static int run(db *d, const trade_actor *op, const char *sub, int argc, char **argv) {
    err e = {0};
    int json = 0;
    if (!strcmp(sub, "list")) {
        tenders_filter f = {.limit = TENDERS_MAX_LIMIT};
        for (int i = 2; i < argc; i++) {
            const char *a = argv[i];
            if (!strcmp(a, "--json"))
                json = 1;
            else if (!strcmp(a, "--kind") && i + 1 < argc)
                f.kind = argv[++i];
            else if (!strcmp(a, "--status") && i + 1 < argc)
                f.status = argv[++i];
            else if (!strcmp(a, "--phase") && i + 1 < argc)
                f.phase = argv[++i];
            else if (!strcmp(a, "--q") && i + 1 < argc)
                f.q = argv[++i];
            else if (!strcmp(a, "--limit") && i + 1 < argc) {
                char *end;
                long v = strtol(argv[++i], &end, 10);
                if (*end || v < 1 || v > TENDERS_MAX_LIMIT) return usage();
                f.limit = v;
            } else
                return usage();
        }
        json_t *out = NULL;
        if (tenders_list(d, op, &f, &out, &e) != 0) return fail(&e);
        if (json)
            print_json(out);
        else {
            size_t i;
            json_t *r;
            json_array_foreach(json_object_get(out, "items"), i, r) {
                json_t *money = json_object_get(
                    r, json_is_true(json_object_get(r, "sale")) ? "reserve" : "budget");
                printf("%s\t%s\t%s\t%s\t%s\t%s\n", str(r, "tender_no"), str(r, "kind_label"),
                       str(r, "status"), str(r, "deadline_at"),
                       json_is_string(money) ? json_string_value(money) : "-", str(r, "title"));
            }
            fprintf(stderr, "%lld tenders\n",
                    (long long)json_integer_value(json_object_get(out, "total")));
        }
        json_decref(out);
        return 0;
    }
    if (!strcmp(sub, "create")) {
        if (argc != 3) return usage();
        json_error_t je;
        json_t *in = json_load_file(argv[2], JSON_REJECT_DUPLICATES, &je);
        if (!in) {
            fprintf(stderr, "isle: trade tender: %s: %s (line %d)\n", argv[2], je.text, je.line);
            return 2;
        }
        int64_t id = 0;
        int rc = tenders_create(d, op, in, &id, &e);
        json_decref(in);
        if (rc != 0) return fail(&e);
        trade_tender t;
        if (trade_tender_load(d, id, &t, &e) != 0) return fail(&e);
        printf("%s\n", t.tender_no);
        return 0;
    }
    if (argc < 3) return usage();
    trade_tender t;
    if (trade_tender_load_no(d, argv[2], &t, &e) != 0) return fail(&e);
    if (!strcmp(sub, "show")) {
        for (int i = 3; i < argc; i++) {
            if (!strcmp(argv[i], "--json"))
                json = 1;
            else
                return usage();
        }
        json_t *o = tenders_get(d, op, t.id, &e);
        if (!o) return fail(&e);
        if (json)
            print_json(o);
        else {
            printf("%s  %s  %s\n", str(o, "tender_no"), str(o, "title"), str(o, "status_label"));
            printf("  %s · %s · 招标人 %s\n", str(o, "kind_label"), str(o, "method_label"),
                   str(o, "buyer"));
            printf("  公告 %s  截止 %s\n", str(o, "announce_at"), str(o, "deadline_at"));
            size_t i;
            json_t *n;
            json_array_foreach(json_object_get(o, "notices"), i, n) printf(
                "  %s  %s  %s\n", str(n, "created_at"), str(n, "kind_label"), str(n, "title"));
        }
        json_decref(o);
        return 0;
    }
    if (!strcmp(sub, "announce")) {
        if (argc != 3) return usage();
        if (tenders_announce(d, op, t.id, NULL, &e) != 0) return fail(&e);
        printf("%s announced\n", t.tender_no);
        return 0;
    }
    if (!strcmp(sub, "cancel")) {
        if (argc != 4) return usage();
        if (tenders_cancel(d, op, t.id, argv[3], &e) != 0) return fail(&e);
        printf("%s cancelled\n", t.tender_no);
        return 0;
    }
    return usage();
}

int tenders_cli(const cli_env *env, int argc, char **argv) {
    if (argc < 2) return usage();
    const char *sub = argv[1];
    if (strcmp(sub, "list") && strcmp(sub, "show") && strcmp(sub, "create") &&
        strcmp(sub, "announce") && strcmp(sub, "cancel"))
        return usage();
    db *d;
    if (cli_open_db(env, &d) != 0) return 1;
    trade_actor op = {.user_id = 0, .audit = {0, "cli", NULL}};
    snprintf(op.name, sizeof(op.name), "cli");
    int rc = run(d, &op, sub, argc, argv);
    db_close(d);
    return rc;
}
