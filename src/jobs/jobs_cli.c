/* jobs_cli: `isle jobs …`, the job queue by hand (operators, tests).
 *
 *   isle jobs enqueue --kind K [--payload JSON] [--delay S] [--max-attempts N] [--count N]
 *   isle jobs claim --kind K [--worker NAME] [--lease S] [--all]
 *   isle jobs complete --id N --worker NAME
 *   isle jobs fail --id N --worker NAME [--error TEXT] [--retry-delay S]
 *   isle jobs list [--kind K] [--status S] [--limit N]
 *
 * claim prints one line per job claimed, "ID<TAB>ATTEMPT<TAB>PAYLOAD", and
 * nothing when no job is ready; --all claims until none is left. */
#include "jobs/jobs.h"
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int usage(void) {
    fprintf(stderr,
            "usage: isle jobs enqueue --kind K [--payload JSON] [--delay S] [--max-attempts N] "
            "[--count N]\n"
            "       isle jobs claim --kind K [--worker NAME] [--lease S] [--all]\n"
            "       isle jobs complete --id N --worker NAME\n"
            "       isle jobs fail --id N --worker NAME [--error TEXT] [--retry-delay S]\n"
            "       isle jobs list [--kind K] [--status S] [--limit N]\n");
    return 2;
}

static int fail(const char *what, const err *e) {
    if (e->field[0])
        fprintf(stderr, "isle: %s: %s (field: %s)\n", what, e->message, e->field);
    else
        fprintf(stderr, "isle: %s: %s\n", what, e->message);
    return 1;
}

int jobs_cli(const cli_env *env, int argc, char **argv) {
    if (argc < 2) return usage();
    const char *sub = argv[1];
    argc -= 2;
    argv += 2;
    char default_worker[128];
    char host[64] = "host";
    gethostname(host, sizeof(host) - 1);
    snprintf(default_worker, sizeof(default_worker), "%.40s:%ld", host, (long)getpid());
    err e = {0};
    db *d = NULL;
    int rc = 0;
    if (strcmp(sub, "enqueue") == 0) {
        static const char *const known[] = {"--kind",         "--payload", "--delay",
                                            "--max-attempts", "--count",   NULL};
        const char *v[5] = {0};
        if (cli_parse(argc, argv, known, v, NULL, NULL, NULL, NULL, 0) != 0) return 2;
        long delay = 0, max = 0, count = 1;
        if (!v[0]) return usage();
        if ((v[2] && cli_number(v[2], "--delay", 0, 366L * 86400, &delay) != 0) ||
            (v[3] && cli_number(v[3], "--max-attempts", 1, 100, &max) != 0) ||
            (v[4] && cli_number(v[4], "--count", 1, 100000, &count) != 0))
            return 2;
        if (cli_open_db(env, &d) != 0) return 1;
        for (long i = 0; i < count && rc == 0; i++) {
            int64_t id = 0;
            if (jobs_enqueue(d, v[0], v[1], (int)delay, (int)max, &id, &e) != 0)
                rc = fail("jobs enqueue", &e);
            else
                printf("%lld\n", (long long)id);
        }
    } else if (strcmp(sub, "claim") == 0) {
        static const char *const known[] = {"--kind", "--worker", "--lease", NULL};
        static const char *const flags[] = {"--all", NULL};
        const char *v[3] = {0};
        int f[1] = {0};
        if (cli_parse(argc, argv, known, v, flags, f, NULL, NULL, 0) != 0) return 2;
        long lease = 300;
        if (!v[0]) return usage();
        if (v[2] && cli_number(v[2], "--lease", 1, 86400, &lease) != 0) return 2;
        if (cli_open_db(env, &d) != 0) return 1;
        for (;;) {
            jobs_job j;
            int got = jobs_claim(d, v[0], v[1] ? v[1] : default_worker, (int)lease, &j, &e);
            if (got < 0) {
                rc = fail("jobs claim", &e);
                break;
            }
            if (!got) break;
            printf("%lld\t%d\t%s\n", (long long)j.id, j.attempts, j.payload);
            jobs_job_free(&j);
            if (!f[0]) break;
        }
    } else if (strcmp(sub, "complete") == 0 || strcmp(sub, "fail") == 0) {
        static const char *const known[] = {"--id", "--worker", "--error", "--retry-delay", NULL};
        const char *v[4] = {0};
        if (cli_parse(argc, argv, known, v, NULL, NULL, NULL, NULL, 0) != 0) return 2;
        long id = 0, delay = 60;
        if (!v[0] || !v[1]) return usage();
        if (cli_number(v[0], "--id", 1, 0x7fffffffL, &id) != 0) return 2;
        if (v[3] && cli_number(v[3], "--retry-delay", 0, 86400, &delay) != 0) return 2;
        if (cli_open_db(env, &d) != 0) return 1;
        if (sub[0] == 'c') {
            if (jobs_complete(d, id, v[1], &e) != 0)
                rc = fail("jobs complete", &e);
            else
                printf("job %ld done\n", id);
        } else {
            int final = 0;
            if (jobs_fail(d, id, v[1], v[2], (int)delay, &final, &e) != 0)
                rc = fail("jobs fail", &e);
            else
                printf("job %ld %s\n", id, final ? "failed for good" : "queued again");
        }
    } else if (strcmp(sub, "list") == 0) {
        static const char *const known[] = {"--kind", "--status", "--limit", NULL};
        const char *v[3] = {0};
        if (cli_parse(argc, argv, known, v, NULL, NULL, NULL, NULL, 0) != 0) return 2;
        long limit = 100;
        if (v[2] && cli_number(v[2], "--limit", 1, 1000, &limit) != 0) return 2;
        if (cli_open_db(env, &d) != 0) return 1;
        json_t *list = jobs_list(d, v[0], v[1], (int)limit, &e);
        if (!list) {
            rc = fail("jobs list", &e);
        } else {
            printf("%-8s %-20s %-8s %-8s %-20s %s\n", "id", "kind", "status", "attempts", "updated",
                   "last error");
            size_t i;
            json_t *j;
            json_array_foreach(json_object_get(list, "items"), i, j) {
                printf("%-8lld %-20s %-8s %lld/%-6lld %-20s %s\n",
                       (long long)json_integer_value(json_object_get(j, "id")),
                       json_string_value(json_object_get(j, "kind")),
                       json_string_value(json_object_get(j, "status")),
                       (long long)json_integer_value(json_object_get(j, "attempts")),
                       (long long)json_integer_value(json_object_get(j, "max_attempts")),
                       json_string_value(json_object_get(j, "updated_at")),
                       json_is_string(json_object_get(j, "last_error"))
                           ? json_string_value(json_object_get(j, "last_error"))
                           : "");
            }
            json_decref(list);
        }
    } else {
        return usage();
    }
    db_close(d);
    return rc;
}
