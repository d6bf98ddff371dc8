/* notify_cli: `isle notify …`, the outbox by hand (operators, tests).
 *
 *   isle notify send-pending [--max N] [--worker NAME]
 *       run the sender once with the configured transport (ISLE_SMS_TRANSPORT …)
 *       until no message is due (waiting for the global rate limit when it must);
 *       prints "sent N, retried N, failed N, deferred N, suppressed N"
 *   isle notify list [--status pending|sent|failed|suppressed] [--limit N]
 *       outbox rows, newest first, phone masked
 *   isle notify render NAME [--params JSON]
 *       the title and body a template gives (checks the parameters) */
#include "notify/notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int usage(void) {
    fprintf(stderr,
            "usage: isle notify send-pending [--max N] [--worker NAME]\n"
            "       isle notify list [--status pending|sent|failed|suppressed] [--limit N]\n"
            "       isle notify render NAME [--params JSON]\n");
    return 2;
}

static int fail(const char *what, const err *e) {
    if (e->field[0])
        fprintf(stderr, "isle: %s: %s (field: %s)\n", what, e->message, e->field);
    else
        fprintf(stderr, "isle: %s: %s\n", what, e->message);
    return 1;
}

static int send_pending(const cli_env *env, int argc, char **argv) {
    static const char *const known[] = {"--max", "--worker", NULL};
    const char *v[2] = {0};
    if (cli_parse(argc, argv, known, v, NULL, NULL, NULL, NULL, 0) != 0) return 2;
    long max = 10000000;
    if (v[0] && cli_number(v[0], "--max", 1, 10000000, &max) != 0) return 2;
    char worker[64];
    if (v[1])
        snprintf(worker, sizeof(worker), "%s", v[1]);
    else
        snprintf(worker, sizeof(worker), "cli:%ld", (long)getpid());
    err e = {0};
    notify_transport *t = notify_transport_from_env(env->db_path, &e);
    if (!t) return fail("notify", &e);
    db *d;
    if (cli_open_db(env, &d) != 0) {
        notify_transport_free(t);
        return 1;
    }
    notify_send_stats st;
    int rc = notify_send_pending(d, t, worker, (int)max, &st, &e);
    db_close(d);
    notify_transport_free(t);
    printf("sent %d, retried %d, failed %d, deferred %d, suppressed %d\n", st.sent, st.retried,
           st.failed, st.deferred, st.suppressed);
    return rc == 0 ? 0 : fail("notify send-pending", &e);
}

static int list(const cli_env *env, int argc, char **argv) {
    static const char *const known[] = {"--status", "--limit", NULL};
    const char *v[2] = {0};
    if (cli_parse(argc, argv, known, v, NULL, NULL, NULL, NULL, 0) != 0) return 2;
    long limit = 50;
    if (v[1] && cli_number(v[1], "--limit", 1, 500, &limit) != 0) return 2;
    err e = {0};
    db *d;
    if (cli_open_db(env, &d) != 0) return 1;
    json_t *out = notify_outbox_list(d, v[0], (int)limit, 0, &e);
    db_close(d);
    if (!out) return fail("notify list", &e);
    printf("%-6s %-8s %-3s %-12s %-22s %-21s %s\n", "id", "status", "try", "phone", "template",
           "created", "dedupe key / last error");
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(out, "items"), i, r) {
        const char *le = json_string_value(json_object_get(r, "last_error"));
        printf("%-6lld %-8s %-3lld %-12s %-22s %-21s %s%s%s\n",
               (long long)json_integer_value(json_object_get(r, "id")),
               json_string_value(json_object_get(r, "status")),
               (long long)json_integer_value(json_object_get(r, "attempts")),
               json_string_value(json_object_get(r, "phone")),
               json_string_value(json_object_get(r, "template")),
               json_string_value(json_object_get(r, "created_at")),
               json_string_value(json_object_get(r, "dedupe_key")), le ? " — " : "", le ? le : "");
    }
    json_t *c = json_object_get(out, "counts");
    printf("%lld pending, %lld sent, %lld failed, %lld suppressed\n",
           (long long)json_integer_value(json_object_get(c, "pending")),
           (long long)json_integer_value(json_object_get(c, "sent")),
           (long long)json_integer_value(json_object_get(c, "failed")),
           (long long)json_integer_value(json_object_get(c, "suppressed")));
    json_decref(out);
    return 0;
}

static int render(int argc, char **argv) {
    if (argc < 1 || argv[0][0] == '-') return usage();
    const char *name = argv[0];
    static const char *const known[] = {"--params", NULL};
    const char *v[1] = {0};
    if (cli_parse(argc - 1, argv + 1, known, v, NULL, NULL, NULL, NULL, 0) != 0) return 2;
    json_error_t je;
    json_t *params = v[0] ? json_loads(v[0], 0, &je) : json_object();
    if (!params || !json_is_object(params)) {
        fprintf(stderr, "isle: --params must be a JSON object\n");
        json_decref(params);
        return 2;
    }
    err e = {0};
    notify_rendered out;
    int rc = notify_render(name, params, &out, &e);
    json_decref(params);
    if (rc != 0) return fail("notify render", &e);
    printf("title: %s\nbody:  %s\nsms:   %s\n", out.title, out.body, out.sms ? "yes" : "no");
    notify_rendered_free(&out);
    return 0;
}

int notify_cli(const cli_env *env, int argc, char **argv) {
    if (argc < 2) return usage();
    if (env->data_dir) notify_set_data_dir(env->data_dir);
    const char *sub = argv[1];
    if (strcmp(sub, "send-pending") == 0) return send_pending(env, argc - 2, argv + 2);
    if (strcmp(sub, "list") == 0) return list(env, argc - 2, argv + 2);
    if (strcmp(sub, "render") == 0) return render(argc - 2, argv + 2);
    return usage();
}
