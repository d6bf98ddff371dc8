/* dash/internal.h: what the parts of src/dash/ share (not for other modules). */
#ifndef ISLE_DASH_INTERNAL_H
#define ISLE_DASH_INTERNAL_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"
#include "db/db.h"
#include "stats/stats.h"

/** 100 × num / den rounded to 2 decimals, or null when den is 0. */
json_t *dash_rate(double num, double den);
/** Parse the window as stats_filter_parse() does; from_iso/to_iso get the instants. */
int dash_window(const char *from, const char *to, int64_t now, stats_filter *f, char from_iso[32],
                char to_iso[32], err *e);
json_t *dash_window_json(const stats_filter *f, const char *from_iso, const char *to_iso);
/** The parts of the overview the report reuses (see dash_overview()). */
json_t *dash_trend(db *d, const char *from, const char *to, err *e);
json_t *dash_assist_figures(db *d, const char *from, const char *to, err *e);
json_t *dash_proof_figures(db *d, const char *from, const char *to, err *e);
json_t *dash_catalog_figures(db *d, err *e);
/** The 10-minute circle (cached ten minutes); JSON null when it cannot be computed. */
json_t *dash_coverage_figures(db *d, int64_t now);

/* The answer cache (cache.c). */
#define DASH_CACHE_MAX_S  120 /* an answer is served at most this old… */
#define DASH_WARM_EVERY_S 45  /* …and the tick recomputes the common ones this often */
/** On this thread, lookups miss (the answers computed are still stored). */
void dash_cache_bypass(int on);
/* The newest position of each event stream behind the figures, as select columns: the
 * tick's change detection (watch.c, one name each) and the start of the data signature.
 * Bids count once opened only: a sealed bid's arrival is nobody's business before the
 * opening, not even a dashboard's. */
#define DASH_STREAMS_SQL                                                                           \
    "(SELECT COALESCE(MAX(id), 0) FROM case_events), "                                             \
    "(SELECT COALESCE(MAX(id), 0) FROM assist_events), "                                           \
    "(SELECT COUNT(*) FROM bids WHERE status = 'opened'), "                                        \
    "(SELECT COALESCE(MAX(id), 0) FROM opening_events), "                                          \
    "(SELECT COALESCE(MAX(id), 0) FROM ratings), "                                                 \
    "(SELECT COALESCE(MAX(id), 0) FROM proof_steps), "                                             \
    "(SELECT COALESCE(MAX(id), 0) FROM dash_alerts)"
#define DASH_NSTREAMS 7
/** The data signature: the streams above, the newest tender change, the open alerts. */
int dash_data_sig(db *d, char *out, size_t n, err *e);
/** The cached answer for key under sig (a new value), or NULL. */
json_t *dash_cache_get(const char *key, const char *sig, int64_t now);
/** Keep value (copied as text) for key under sig. */
void dash_cache_put(const char *key, const char *sig, int64_t now, json_t *value);

#endif
