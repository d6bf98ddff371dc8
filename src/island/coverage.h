/* coverage: the 10-minute service circle (10 分钟便民服务圈) — for every village,
 * the time to the nearest service point that offers a service, and the share of
 * residents (by village population) within COVERAGE_THRESHOLD_MINUTES, per town
 * and overall, with the villages left out.
 *
 * Which points offer what comes from data/island/station_services.json: named
 * services (proxy = 帮办代办, social = 社保医保 …) each list the station kinds
 * that offer them; a catalog item code is a service too, offered by the kinds
 * its handle_at places map to ("村（社区）便民服务站" → 服务中心 and 便民服务站 …).
 *
 * The time of a village: the residents' spread around the village point (a
 * disc of area population / COVERAGE_DENSITY_PER_KM2 km²; the mean distance to
 * its centre is 2/3 of its radius, driven on the road model) plus the earliest
 * arrival at the best station leaving the village point at the representative
 * time — by road on the same island, across bridges, or by ferry with the wait
 * for the next sailing (travel.h). The representative time is 10:00 on a
 * working day (COVERAGE_DEFAULT_AT): the timetable model repeats daily, so only
 * the time of day matters, and mid-morning is when residents go to a station.
 * Minutes are whole (the spread rounded up). "Within" means ≤ the threshold.
 *
 * Nothing here writes; results are new jansson objects the caller owns. */
#ifndef ISLE_COVERAGE_H
#define ISLE_COVERAGE_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"
#include "db/db.h"
#include "island/travel.h"

#define COVERAGE_THRESHOLD_MINUTES 10
#define COVERAGE_DENSITY_PER_KM2   2000.0 /* residents per km² of a village's built area */
#define COVERAGE_DEFAULT_AT        "2026-12-01 10:00" /* a Tuesday, a working day */
#define COVERAGE_MAX_SERVICES      64
#define COVERAGE_FILE_MAX          (256u * 1024u)

typedef struct coverage_services coverage_services;

/** Read DATA_DIR/island/station_services.json (data_dir NULL: travel_data_dir()).
 *  Every service needs a code ([a-z0-9_], 1–32), a name and known station kinds; the
 *  default must be one of them. A missing or malformed file is an error naming the
 *  file and the field. Returns a new object (coverage_services_free()), or NULL
 *  with e. */
coverage_services *coverage_services_load(const char *data_dir, err *e);
void coverage_services_free(coverage_services *s);
/** The process-wide services, loaded at first use. Thread-safe; NULL with e when the
 *  file is unusable (not cached, so a fixed file is picked up). */
const coverage_services *coverage_services_default(err *e);
/** Free the process-wide services (tests and exit only). */
void coverage_services_default_reset(void);
/** {"default":"proxy","services":[{"code","name","kinds":[…]}]}. Caller owns it. */
json_t *coverage_services_json(const coverage_services *s);

/** What to compute. Strings are borrowed; NULLs mean the defaults. */
typedef struct coverage_query {
    const char *service;   /* a service code or a catalog item code; NULL = the default */
    const char *town_code; /* only this town's villages; NULL = every town */
    const char *at;        /* "HH:MM" or "YYYY-MM-DD HH:MM" (Shanghai); NULL = default */
} coverage_query;

/** The service circle: {"service":{"code","name","kinds":[…],"item":bool},
 *  "depart","threshold_minutes","stations","villages","villages_within",
 *  "population","population_within","share_within_10min",
 *  "towns":[{"code","name","villages","villages_within","population",
 *  "population_within","share_within_10min","max_minutes"}],
 *  "villages_outside":[{"code","name","town","town_code","island","minutes",
 *  "station","station_name"}]} — villages_outside slowest first, minutes null (and
 *  listed last) when no station can be reached at all. d is used only to look up a
 *  catalog item code (may be NULL: item codes are then refused). Errors (NULL with
 *  e): 400 naming "service", "town" or "at"; 404 for an unknown item or town; 422
 *  when the item is not handled at any service point. The caller owns the result. */
json_t *coverage_compute(db *d, const travel_graph *g, const coverage_services *s,
                         const coverage_query *q, err *e);

/** Minutes a village's residents need to reach its own point (the disc model). */
double coverage_spread_minutes(int64_t population);

#endif
