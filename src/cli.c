/* cli: helpers shared by the domains' command-line entry points (see cli.h). */
#include "cli.h"

#include <stdio.h>
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
