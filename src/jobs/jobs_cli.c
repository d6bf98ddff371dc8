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
#include "db/migrate.h"

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

/* "--name VALUE" pairs only from known, and flags (no value) from flags. */
static int parse(int argc, char **argv, const char *const *known, const char *const *flags,
                 const char **values, int *set_flags) {
    for (int i = 0; i < argc; i++) {
        int k = 0, f = 0;
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
        while (flags && flags[f] && strcmp(flags[f], argv[i]) != 0)
            f++;
        if (flags && flags[f]) {
            set_flags[f] = 1;
            continue;
        }
        fprintf(stderr, "isle: unknown argument %s\n", argv[i]);
        return -1;
    }
    return 0;
}

/* A whole number in [min, max], or -1 after printing the problem. */
static int number(const char *s, const char *name, long min, long max, long *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < min || v > max) {
        fprintf(stderr, "isle: %s must be a whole number from %ld to %ld\n", name, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

static int open_db(const cli_env *env, db **d, err *e) {
    if (db_open(env->db_path, d, e) != 0) return -1;
    if (db_migrate(*d, NULL, e) != 0) {
        db_close(*d);
        *d = NULL;
        return -1;
    }
    return 0;
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
        if (parse(argc, argv, known, NULL, v, NULL) != 0) return 2;
        long delay = 0, max = 0, count = 1;
        if (!v[0]) return usage();
        if ((v[2] && number(v[2], "--delay", 0, 366L * 86400, &delay) != 0) ||
            (v[3] && number(v[3], "--max-attempts", 1, 100, &max) != 0) ||
            (v[4] && number(v[4], "--count", 1, 100000, &count) != 0))
            return 2;
        if (open_db(env, &d, &e) != 0) return fail("database", &e);
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
        if (parse(argc, argv, known, flags, v, f) != 0) return 2;
        long lease = 300;
        if (!v[0]) return usage();
        if (v[2] && number(v[2], "--lease", 1, 86400, &lease) != 0) return 2;
        if (open_db(env, &d, &e) != 0) return fail("database", &e);
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
        if (parse(argc, argv, known, NULL, v, NULL) != 0) return 2;
        long id = 0, delay = 60;
        if (!v[0] || !v[1]) return usage();
        if (number(v[0], "--id", 1, 0x7fffffffL, &id) != 0) return 2;
        if (v[3] && number(v[3], "--retry-delay", 0, 86400, &delay) != 0) return 2;
        if (open_db(env, &d, &e) != 0) return fail("database", &e);
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
        if (parse(argc, argv, known, NULL, v, NULL) != 0) return 2;
        long limit = 100;
        if (v[2] && number(v[2], "--limit", 1, 1000, &limit) != 0) return 2;
        if (open_db(env, &d, &e) != 0) return fail("database", &e);
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
