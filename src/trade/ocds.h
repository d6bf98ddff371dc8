/* ocds: Open Contracting Data Standard 1.1.5 release packages of the tenders, with
 * the bids extension (ocds_bid_extension) and, for tenders with lots, the lots
 * extension.
 *
 * One release per tender (every status but draft): ocid = prefix + "-" + tender_no,
 * id = ocid + "-v" + version, date = updated_at, tag from the status (tender,
 * tenderAmendment, tenderUpdate, award, contract, tenderCancellation), parties
 * (buyer, procuringEntity, tenderers and suppliers identified by scheme "CN-USCC"),
 * tender (status planning/active/cancelled/unsuccessful/complete, value or minValue in
 * CNY yuan, tenderPeriod, awardPeriod, numberOfTenderers, lots), bids, awards and
 * contracts. Company names only, never a person.
 *
 * Secrecy: before the opening (sealed bids) or the end of 挂牌 (auctions) a release
 * carries neither a bids object nor numberOfTenderers; during a 竞价 the bids carry
 * the anonymous 竞买号 but no company until the result.
 *
 * The package is streamed: the header, then one release at a time, so an export of
 * many thousands of tenders never holds more than one release in memory. */
#ifndef ISLE_TRADE_OCDS_H
#define ISLE_TRADE_OCDS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "trade/trade.h"

#define OCDS_PREFIX_DEFAULT "ocds-isle0zs"
#define OCDS_PREFIX_MAX     64
#define OCDS_PUBLISHER      "舟山市公共资源交易中心"
#define OCDS_BID_EXTENSION                                                                         \
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/v1.1.5/"     \
    "extension.json"
#define OCDS_LOTS_EXTENSION                                                                        \
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_lots_extension/v1.1.5/"    \
    "extension.json"

/** Receives the package text piece by piece; 0, or -1 to stop (with e filled). */
typedef int (*ocds_write_fn)(void *arg, const char *buf, size_t len, err *e);

typedef struct ocds_opts {
    const char *prefix; /* NULL: $ISLE_OCDS_PREFIX, else OCDS_PREFIX_DEFAULT */
    const char *since;  /* NULL or "YYYY-MM-DD" / ISO-8601: tenders updated at or after */
    const char *uri;    /* the package's uri; NULL: $ISLE_PUBLIC_URL + /api/v1/ocds/releases */
    int64_t tender_id;  /* > 0: that tender only */
    int64_t limit;      /* 0: no limit */
    int64_t offset;
} ocds_opts;

/** 1 if p is a usable ocid prefix: 1..64 characters of A-Z a-z 0-9 and '-'. */
int ocds_prefix_valid(const char *p);
/** The prefix in force: o_prefix if given, else $ISLE_OCDS_PREFIX, else the default. */
const char *ocds_prefix(const char *o_prefix);
/** Normalise --since ("2026-03-01" or "2026-03-01T08:00:00Z") into buf as ISO-8601.
 *  0, or -1 with e 400 field "since". */
int ocds_since(const char *s, char *buf, size_t n, err *e);

/** The release of one tender (NULL for drafts: 404). Caller owns it. */
json_t *ocds_release(db *d, const char *prefix, int64_t tender_id, err *e);

/** Write the release package of the tenders chosen by o through w, inside one read
 *  snapshot. *count (may be NULL) gets the number of releases; *more (may be NULL) is
 *  set to 1 when limit cut the list short. 0 or -1. */
int ocds_write_package(db *d, const ocds_opts *o, ocds_write_fn w, void *arg, int64_t *count,
                       int *more, err *e);

/** `isle export ocds [--out FILE] [--since DATE] [--prefix PREFIX]` (ocds_cli.c):
 *  argv[0] "export", argv[1] "ocds". Exit status 0, 1 or 2. */
#include "cli.h"
int ocds_cli(const cli_env *env, int argc, char **argv);

#endif
