/* trade_cli: `isle trade …` — the trading module's commands. trade_cli.c dispatches
 * on the second word; each part adds one branch and its own NAME_cli function. */
#ifndef ISLE_TRADE_CLI_H
#define ISLE_TRADE_CLI_H

#include "cli.h"

struct trade_actor;
/** The operator at the console as a trade actor: the system itself, user_id 0 (acting as
 *  trading staff), role admin, audited as "cli:root". */
void trade_cli_actor(struct trade_actor *a);

/** `isle trade WORD …` (argv[0] is "trade"). 0 ok, 1 failure, 2 usage. */
int trade_cli(const cli_env *env, int argc, char **argv);

/** bids_cli.c: `isle trade backup-key init …` and `isle trade bids TENDER_NO [--json]`
 *  (argv[0] is "backup-key" or "bids"). */
int bids_cli(const cli_env *env, int argc, char **argv);

#endif
