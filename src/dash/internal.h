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

#endif
