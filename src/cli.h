/* cli: what a domain's command-line entry point receives from main.c.
 *
 * Each domain with commands exports `int NAME_cli(const cli_env *env, int argc,
 * char **argv)` (argv[0] is the sub-command's first word) returning the process
 * exit status: 0 ok, 1 failure, 2 usage error. Messages go to stderr. */
#ifndef ISLE_CLI_H
#define ISLE_CLI_H

typedef struct cli_env {
    const char *db_path;  /* --db, $ISLE_DB or ./isle.db */
    const char *data_dir; /* shipped reference data (data/) */
} cli_env;

#endif
