/* trade_cli: dispatch of `isle trade …` to the parts of src/trade/ (see trade_cli.h).
 * Each part adds one `else if` branch here for its own words. */
#include "trade/trade_cli.h"

#include <stdio.h>
#include <string.h>

#include "auth/roles.h"
#include "trade/tenders.h"
#include "trade/trade.h"

void trade_cli_actor(trade_actor *a) {
    memset(a, 0, sizeof(*a));
    a->role = ROLE_ADMIN;
    a->audit.login = "cli:root";
    snprintf(a->name, sizeof(a->name), "cli:root");
}

static int usage(void) {
    fprintf(stderr,
            "usage: isle trade backup-key init --custodians LOGIN,LOGIN,LOGIN --threshold 2 "
            "--out DIR\n"
            "       isle trade bids TENDER_NO [--json]\n"
            "       isle trade tender list|show|create|announce|cancel …\n");
    return 2;
}

int trade_cli(const cli_env *env, int argc, char **argv) {
    if (argc < 2) return usage();
    const char *w = argv[1];
    if (!strcmp(w, "backup-key") || !strcmp(w, "bids")) return bids_cli(env, argc - 1, argv + 1);
    if (!strcmp(w, "tender")) return tenders_cli(env, argc - 1, argv + 1);
    fprintf(stderr, "isle: unknown trade command \"%s\"\n", w);
    return usage();
}
