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

/** The argument words of a command, split:
 *  - "--option VALUE" for each option in `known` (NULL-terminated): values[k] = VALUE;
 *  - bare flags in `flags` (NULL-terminated, or NULL when there are none): set[f] = 1;
 *  - up to `max_positional` other words into positional[] (count in *npositional;
 *    positional and npositional may be NULL when max_positional is 0).
 *  Returns 0, or -1 after printing what is wrong (an unknown option, an option without
 *  its value, one word too many). The caller returns 2 (usage) on -1. */
int cli_parse(int argc, char **argv, const char *const *known, const char **values,
              const char *const *flags, int *set, const char **positional, int *npositional,
              int max_positional);
/** A whole number in [min, max] from option `name`'s value `s`: 0, or -1 after printing
 *  "isle: NAME must be a whole number from MIN to MAX". */
int cli_number(const char *s, const char *name, long min, long max, long *out);

#endif
