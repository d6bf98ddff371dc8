/* cli: what a domain's command-line entry point receives from main.c.
 *
 * Each domain with commands exports `int NAME_cli(const cli_env *env, int argc,
 * char **argv)` (argv[0] is the sub-command's first word) returning the process
 * exit status: 0 ok, 1 failure, 2 usage error. Messages go to stderr. */
#ifndef ISLE_CLI_H
#define ISLE_CLI_H

#include "base/err.h"

typedef struct cli_env {
    const char *db_path;  /* --db, $ISLE_DB or ./isle.db */
    const char *data_dir; /* shipped reference data (data/) */
} cli_env;

/* Small helpers for the commands' own argument words (cli.c). */

/** The word after option `name` (e.g. "--out"), or NULL when absent or last. The
 *  result points into argv. */
const char *cli_opt(int argc, char **argv, const char *name);
/** 1 when flag `name` (e.g. "--json") is among the words, else 0. */
int cli_flag(int argc, char **argv, const char *name);
/** Print "isle: WHAT: message (code; field: F)" to stderr; returns 1 (the exit status). */
int cli_error(const char *what, const err *e);
/** Open env's database and bring its schema up to date. 0, or 1 after printing why;
 *  on success the caller closes *d. */
struct db;
int cli_open_db(const cli_env *env, struct db **d);

#endif
