/* travel: how long it takes to get from one place in Zhoushan to another,
 * leaving at a given time — the travel graph of roads, bridges and ferries.
 *
 * The graph (read once from the places tables, then immutable):
 *   - nodes are the ports of each island: ferry piers and bridge heads, named as in
 *     ferries.csv (from_port/to_port). A port sits at its point from
 *     data/island/ports.json when listed there (the piers of the large islands,
 *     approximate), else at its island's point;
 *   - drive edges join every two ports of one island (the road model below);
 *   - bridge (and road) links: fixed minutes, always open, both ways;
 *   - ferry links: a daily timetable, the same in both directions. A line with n
 *     sailings a day departs at first + round(k × (last − first) / (n − 1)) for
 *     k = 0 … n − 1 (evenly spaced, to the minute); a line with one sailing departs
 *     at `first` only; a line with no sailings (charter only, 庙子湖→黄兴) or no
 *     times is never taken. A passenger must be at the pier TRAVEL_BOARDING_MINUTES
 *     before a departure (ticket, boarding), also when changing boats. The timetable
 *     repeats every day: after the day's last boat the next departure is tomorrow's
 *     first — there is no way across at night.
 *
 * Places (travel_place): an island (at its point), a town (at its seat on its main
 * island), a village, a station, or any point on an island (an agent's position).
 * Stations carry coordinates. Villages do not: a village sits at the mean point of
 * its own stations (the data puts 便民服务站 and 代办点 at village points); the few
 * villages without a station sit at the mean point of their town's stations on
 * their island, else at the island's point.
 *
 * Road model (within one island): haversine distance × TRAVEL_ROAD_FACTOR at
 * TRAVEL_DRIVE_KMH, rounded up to whole minutes. Times are whole minutes: a
 * departure time with seconds is rounded up to the next minute.
 *
 * travel_time() is the earliest arrival: a time-dependent Dijkstra on arrival
 * times over the ports. Every edge is FIFO (leaving later never arrives earlier:
 * waiting for the next sailing is allowed), so Dijkstra is exact.
 *
 * Time zone: Asia/Shanghai as UTC+8 (workcal.h); instants are unix seconds.
 *
 * Thread safety: a loaded graph is immutable; any number of threads may query it
 * at once. Queries allocate nothing for graphs of up to TRAVEL_STACK_PORTS ports
 * (the scratch lives on the stack). */
#ifndef ISLE_TRAVEL_H
#define ISLE_TRAVEL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "cli.h"
#include "db/db.h"

#define TRAVEL_BOARDING_MINUTES 10   /* at the pier this long before a sailing */
#define TRAVEL_ROAD_FACTOR      1.3  /* road distance / straight-line distance */
#define TRAVEL_DRIVE_KMH        40.0 /* average speed on island roads */
#define TRAVEL_NEVER            INT64_MAX
#define TRAVEL_STACK_PORTS      512 /* larger graphs use the heap per query */
#define TRAVEL_NAME_MAX         128 /* bytes of a place name accepted by travel_resolve() */

typedef struct travel_graph travel_graph;

/** What a travel_place was made from. */
typedef enum travel_place_kind {
    TRAVEL_PLACE_ISLAND = 1,
    TRAVEL_PLACE_TOWN,
    TRAVEL_PLACE_VILLAGE,
    TRAVEL_PLACE_STATION,
    TRAVEL_PLACE_POINT,
} travel_place_kind;

/** A place to travel from or to: a point on an island. A plain value; copy it freely.
 *  index is the island, town, village or station number within the graph (-1 for a
 *  point). */
typedef struct travel_place {
    travel_place_kind kind;
    int index;
    int island;
    double lat, lon;
} travel_place;

/** One leg of a route. Strings point into the graph (valid while it lives). */
typedef struct travel_leg {
    const char *mode; /* "drive", "bridge", "ferry" (or "road") */
    const char *from; /* place or port name */
    const char *to;
    const char *line; /* ferries.csv id for bridge/ferry legs, else NULL */
    const char *via;  /* bridge legs: the bridge's name (from and to are the islands) */
    int64_t depart;   /* unix seconds */
    int64_t arrive;
    int wait_minutes; /* ferry legs: from reaching the pier to sailing, boarding included */
} travel_leg;

/** A route from travel_route(): legs in order. Free with travel_route_free(). */
typedef struct travel_route {
    int64_t depart, arrive; /* arrive = TRAVEL_NEVER when there is no way */
    size_t nlegs;
    travel_leg *legs;
} travel_route;

/* ---- loading ---- */

/** Build the graph from the places tables of d (islands, towns, ferry_links,
 *  villages, stations) and the pier points of DATA_DIR/island/ports.json (data_dir
 *  may be NULL: travel_data_dir()). A missing ports file is fine (every port at its
 *  island's point); a malformed one is an error naming the file. No islands → 404
 *  "not_found" ("no places imported; run isle demo"). Returns a graph the caller
 *  frees with travel_free(), or NULL with e. */
travel_graph *travel_load(db *d, const char *data_dir, err *e);
/** Free a graph from travel_load(); NULL is fine. Never free travel_default()'s. */
void travel_free(travel_graph *g);

/** Where travel and coverage read data/island/ from: main.c (or a CLI) sets the
 *  resolved --data-dir; without it, the directory next to workcal's holiday files,
 *  else ./data. The string is copied. Does not drop travel_default()'s graph. */
void travel_set_data_dir(const char *data_dir);
/** The data directory in use (static storage, valid until the next set). */
const char *travel_data_dir(void);

/** The process-wide graph, loaded from d at first use and kept (restart the server
 *  after re-importing places). Thread-safe; a failed load is not cached, so the next
 *  call tries again. NULL with e when no graph can be loaded. */
const travel_graph *travel_default(db *d, err *e);
/** Free travel_default()'s graph. Tests and exit only: no other thread may use it. */
void travel_default_reset(void);

/* ---- places ---- */

/** Resolve what a person typed: an island id or name (also without its 岛/山 suffix
 *  or parenthesis: "庙子湖", "衢山"), a town code or name ("东极", "东极镇"), a
 *  station id or name, a village code or name. When several kinds match, islands win
 *  over towns, towns over stations, stations over villages; two matches of one kind
 *  are ambiguous. 0, or -1 with e (400 invalid_argument, field `field`, message
 *  naming the text). */
int travel_resolve(const travel_graph *g, const char *text, const char *field, travel_place *out,
                   err *e);
/** Exact lookups by key. 0, or -1 when there is no such key. */
int travel_place_island(const travel_graph *g, const char *island_id, travel_place *out);
int travel_place_village(const travel_graph *g, const char *code, travel_place *out);
int travel_place_station(const travel_graph *g, const char *id, travel_place *out);
/** A point on an island (an agent's position). 0, or -1 for an unknown island or a
 *  point outside lat −90…90 / lon −180…180. */
int travel_place_point(const travel_graph *g, const char *island_id, double lat, double lon,
                       travel_place *out);
/** The place's display name (island, town, village or station name; the island's
 *  name for a point). Owned by the graph. */
const char *travel_place_name(const travel_graph *g, const travel_place *p);
/** Stable id of the place: island id, town code, village code, station id ("" for a
 *  point). Owned by the graph. */
const char *travel_place_id(const travel_graph *g, const travel_place *p);
/** "island", "town", "village", "station" or "point". */
const char *travel_place_kind_name(const travel_place *p);
/** The island id of a place. Owned by the graph. */
const char *travel_place_island_id(const travel_graph *g, const travel_place *p);

/* ---- queries ---- */

/** Earliest arrival (unix seconds) at `to` leaving `from` at depart_at, or
 *  TRAVEL_NEVER when no scheduled connection exists. Thread-safe. */
int64_t travel_time(const travel_graph *g, const travel_place *from, const travel_place *to,
                    int64_t depart_at);
/** The same trip with its legs. out->arrive is TRAVEL_NEVER (and no legs) when there
 *  is no way. Legs are laid out as late as possible: a drive or bridge before a
 *  sailing starts so as to reach the pier TRAVEL_BOARDING_MINUTES before it (so the
 *  first leg's depart is the latest time to leave); sailings and the arrival are
 *  those of the earliest-arrival search. The caller frees out with travel_route_free(). */
void travel_route_find(const travel_graph *g, const travel_place *from, const travel_place *to,
                       int64_t depart_at, travel_route *out);
/** Free the legs of a route (not the struct itself); NULL is fine. */
void travel_route_free(travel_route *r);

/** Minutes of driving between two points (the road model). */
int travel_drive_minutes(double lat1, double lon1, double lat2, double lon2);

/** One-to-many: earliest arrivals from one place at every port, then at any number
 *  of places cheaply. Make with travel_tree_new(), fill with travel_tree_run() (as
 *  often as wanted), read with travel_tree_arrival(), free with travel_tree_free().
 *  One tree per thread. */
typedef struct travel_tree travel_tree;
travel_tree *travel_tree_new(const travel_graph *g);
void travel_tree_run(travel_tree *t, const travel_place *from, int64_t depart_at);
/** Earliest arrival at `to` for the last run, or TRAVEL_NEVER. */
int64_t travel_tree_arrival(const travel_tree *t, const travel_place *to);
/** Earliest arrival at any port of island i for the last run (unix seconds), or
 *  TRAVEL_NEVER: a lower bound for every place on that island other than the start's. */
int64_t travel_tree_island_earliest(const travel_tree *t, int island);
void travel_tree_free(travel_tree *t);

/** A ferry line's departures as minutes after local midnight: fills up to max into
 *  out and returns how many the line has (0 for bridges and charter lines, -1 for an
 *  unknown id). For tests and the timetable display. */
int travel_departures(const travel_graph *g, const char *link_id, int *out, int max);

/** {"from":{id,name,kind,island},"to":{…},"depart":"YYYY-MM-DD HH:MM",
 *  "arrival":"YYYY-MM-DD HH:MM" or null,"minutes":N or null,"reachable":bool,
 *  "legs":[{"from","to","mode","depart","arrive","minutes"[,"line"][,"via"]
 *  [,"wait_minutes"]}]}
 *  for a route (times local). The caller owns the result. */
json_t *travel_route_json(const travel_graph *g, const travel_place *from, const travel_place *to,
                          const travel_route *r);

/** Counts of what the graph holds, for the CLI and tests. */
typedef struct travel_stats {
    int islands, towns, villages, stations, ports, links, drive_edges;
} travel_stats;
travel_stats travel_graph_stats(const travel_graph *g);

/* ---- for coverage.c (read-only access to the places the graph holds) ---- */

/** A village as the graph holds it. Strings are owned by the graph. */
typedef struct travel_village {
    const char *code, *name, *town_code;
    int island, town; /* indexes; town -1 when unknown */
    double lat, lon;
    int64_t population;
} travel_village;
typedef struct travel_station {
    const char *id, *name, *kind, *village_code, *town_code;
    int island;
    double lat, lon;
} travel_station;
int travel_village_count(const travel_graph *g);
const travel_village *travel_village_at(const travel_graph *g, int i);
int travel_station_count(const travel_graph *g);
const travel_station *travel_station_at(const travel_graph *g, int i);
int travel_town_count(const travel_graph *g);
/** Town i's code and name (owned by the graph). */
const char *travel_town_code(const travel_graph *g, int i);
const char *travel_town_name(const travel_graph *g, int i);
/** Index of a town code, or -1. */
int travel_town_find(const travel_graph *g, const char *code);
/** Island i's id and name. */
const char *travel_island_id(const travel_graph *g, int i);
const char *travel_island_name(const travel_graph *g, int i);

/* ---- command line (travel_cli.c) ---- */

/** `isle travel FROM TO [--at "YYYY-MM-DD HH:MM"] [--json]`, `isle travel --bench [N]`
 *  and `isle coverage [--service CODE] [--town CODE] [--at …] [--json]` (argv[0] is
 *  "travel" or "coverage"). Returns the exit status: 0 ok, 1 failure or no
 *  connection, 2 bad input. */
int travel_cli(const cli_env *env, int argc, char **argv);

#endif
