/* cli: helpers shared by the domains' command-line entry points (see cli.h). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "db/migrate.h"

const char *cli_opt(int argc, char **argv, const char *name) {
    for (int i = 0; i < argc - 1; i++)
        if (!strcmp(argv[i], name)) return argv[i + 1];
    return NULL;
}

int cli_flag(int argc, char **argv, const char *name) {
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], name)) return 1;
    return 0;
}

int cli_error(const char *what, const err *e) {
    if (e->field[0])
        fprintf(stderr, "isle: %s: %s (%s; field: %s)\n", what, e->message, e->code, e->field);
    else
        fprintf(stderr, "isle: %s: %s (%s)\n", what, e->message, e->code);
    return 1;
}

int cli_open_db(const cli_env *env, db **d) {
    err e = {0};
    if (db_open(env->db_path, d, &e) != 0) return cli_error("database", &e);
    if (db_migrate(*d, NULL, &e) != 0) {
        db_close(*d);
        return cli_error("migrate", &e);
    }
    return 0;
}

/* Index of word w in the NULL-terminated list, or -1. */
static int word_index(const char *const *list, const char *w) {
    for (int k = 0; list && list[k]; k++)
        if (!strcmp(list[k], w)) return k;
    return -1;
}

int cli_parse(int argc, char **argv, const char *const *known, const char **values,
              const char *const *flags, int *set, const char **positional, int *npositional,
              int max_positional) {
    if (npositional) *npositional = 0;
    for (int i = 0; i < argc; i++) {
        int k = word_index(known, argv[i]);
        if (k >= 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "isle: option %s needs a value\n", argv[i]);
                return -1;
            }
            values[k] = argv[++i];
            continue;
        }
        int f = word_index(flags, argv[i]);
        if (f >= 0) {
            set[f] = 1;
            continue;
        }
        if (strncmp(argv[i], "--", 2) == 0) {
            fprintf(stderr, "isle: unknown option %s\n", argv[i]);
            return -1;
        }
        if (!npositional || *npositional >= max_positional) {
            fprintf(stderr, "isle: unexpected argument %s\n", argv[i]);
            return -1;
        }
        positional[(*npositional)++] = argv[i];
    }
    return 0;
}

int cli_number(const char *s, const char *name, long min, long max, long *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < min || v > max) {
        fprintf(stderr, "isle: %s must be a whole number from %ld to %ld\n", name, min, max);
        return -1;
    }
    *out = v;
    return 0;
}
