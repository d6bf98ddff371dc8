/* places: Zhoushan's geography — towns, islands, ferry/bridge links, villages and
 * service stations — imported from the CSV files in data/zhoushan/ and queried
 * for the public places API and for dispatch.
 *
 * The import is all-or-nothing: every row of all five files is validated
 * (required fields, numeric ranges, times, kinds, foreign keys, duplicate keys)
 * and written in one transaction with one audit row, so a bad row leaves the
 * tables exactly as they were. Rows are upserted by primary key; rows missing
 * from the files are kept (other tables may refer to them).
 *
 * Query functions return new jansson objects the caller owns; they never
 * write. */
#ifndef ISLE_PLACES_H
#define ISLE_PLACES_H

#include <jansson.h>
#include <stdint.h>

#include "audit/audit.h"
#include "base/err.h"
#include "db/db.h"

/* Limits on imported files (each file separately). */
#define PLACES_MAX_FILE_BYTES (8u * 1024u * 1024u)
#define PLACES_MAX_ROWS       100000
#define PLACES_MAX_FIELD      1024

/* Station list paging. */
#define PLACES_DEFAULT_LIMIT 50
#define PLACES_MAX_LIMIT     200

/* The three kinds of service point, as stored and as accepted by filters. */
#define PLACES_KIND_CENTRE  "服务中心"
#define PLACES_KIND_STATION "便民服务站"
#define PLACES_KIND_AGENT   "代办点"

/** Rows read from each file by places_import_dir() (all of them upserted). */
typedef struct places_counts {
    int64_t towns;
    int64_t islands;
    int64_t ferry_links;
    int64_t villages;
    int64_t stations;
} places_counts;

/** Import towns.csv, islands.csv, ferries.csv, villages.csv and stations.csv from dir
 *  in one transaction, with one "places.import" audit row by actor (borrowed). On a bad
 *  row e gets status 422 "unprocessable", field = the column name and a message
 *  "FILE line N: field X: problem", and nothing is written. A file over
 *  PLACES_MAX_FILE_BYTES or PLACES_MAX_ROWS gives 413 "payload_too_large". out (may be
 *  NULL) receives the row counts. Must not be called inside an open transaction.
 *  Returns 0 or -1. */
int places_import_dir(db *d, const char *dir, const audit_actor *actor, places_counts *out, err *e);

/** All towns ordered by code: {"items":[{"code","name","county","kind","main_island",
 *  "lat","lon","villages","stations"}]} where villages/stations are counts. The caller
 *  owns the result. NULL on error (e filled). */
json_t *places_towns(db *d, err *e);

/** All islands ordered by id: {"items":[{"id","name","town_code","lat","lon",
 *  "population","inhabited"(bool)}]}. The caller owns the result. NULL on error. */
json_t *places_islands(db *d, err *e);

/** Villages ordered by code, of one town when town_code is non-NULL (borrowed), else
 *  all: {"items":[{"code","name","town_code","town_name","island_id","island_name",
 *  "population","synthetic"(bool)}]}. The caller owns the result. NULL on error. */
json_t *places_villages(db *d, const char *town_code, err *e);

/** Filter for places_stations(). NULL strings match everything; strings are borrowed. */
typedef struct places_station_filter {
    const char *town_code; /* 9-digit town code */
    const char *island_id;
    const char *kind; /* one of the PLACES_KIND_* values */
    int64_t limit;    /* 0 = PLACES_DEFAULT_LIMIT; clamped to PLACES_MAX_LIMIT */
    int64_t offset;   /* rows to skip, >= 0 */
} places_station_filter;

/** One page of stations ordered by id: {"items":[{"id","name","kind","village_code",
 *  "village_name","town_code","town_name","island_id","island_name","lat","lon",
 *  "staff"}],"total":N,"limit":L,"offset":O}, total counting every match. f may be
 *  NULL (first page of all). The caller owns the result. NULL on error (e filled). */
json_t *places_stations(db *d, const places_station_filter *f, err *e);

/** 1 if s is one of the three station kinds. s may be NULL (gives 0). */
int places_kind_valid(const char *s);
/** 1 if s is a 9-digit town code. s may be NULL (gives 0). */
int places_town_code_valid(const char *s);
/** 1 if code names a town in the database, 0 if not (or malformed), -1 on a DB error. */
int places_town_exists(db *d, const char *code, err *e);
/** 1 if s is an island id: 1–64 characters of [a-z0-9_]. s may be NULL (gives 0). */
int places_island_id_valid(const char *s);

#endif
