/* travel: the travel graph and its earliest-arrival queries (see travel.h for
 * the model).
 *
 * Layout: every table is an array sorted by its key (bsearch for exact lookups);
 * ports are numbered so that each island's ports are contiguous
 * (island_port_off), and edges are stored per port in one CSR array. A query
 * touches only the ports array, the edges and a per-query scratch of a few
 * arrays of nports entries, so it needs no lock and, for graphs of up to
 * TRAVEL_STACK_PORTS ports, no heap.
 *
 * Time inside a query is whole minutes since the unix epoch (UTC); a ferry's
 * departures are minutes after Shanghai midnight, so local = utc + 480.
 *
 * This file must never build SQL from input (it only reads whole tables) and
 * never writes to the database. */
#include "island/travel.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "base/xmalloc.h"
#include "workcal/workcal.h"

#define LOCAL_OFFSET_MIN (WORKCAL_UTC_OFFSET / 60)
#define DAY_MIN          1440
#define EARTH_RADIUS_KM  6371.0088
#define PORTS_FILE_MAX   (256u * 1024u)
#define NEVER_MIN        (INT64_MAX / 4) /* "unreached" inside a search, overflow-safe */
#define MAX_DEPARTURES   200             /* sailings a day per line */

typedef struct island_rec {
    char *id, *name, *town_code;
    double lat, lon;
    int64_t population;
} island_rec;

typedef struct town_rec {
    char *code, *name;
    int island; /* main island, -1 when unknown */
    double lat, lon;
} town_rec;

typedef struct port_rec {
    char *name;
    int island;
    double lat, lon;
} port_rec;

enum { LINK_FIXED = 0, LINK_FERRY = 1, LINK_NEVER = 2 };

typedef struct link_rec {
    char *id, *mode;
    int kind; /* LINK_* */
    int minutes;
    int ndeps;
    int *deps; /* minutes after local midnight, ascending, distinct */
} link_rec;

typedef struct edge_rec {
    int to;      /* port */
    int minutes; /* drive or crossing minutes */
    int link;    /* index into links, -1 for a drive edge */
} edge_rec;

struct travel_graph {
    int nislands, ntowns, nports, nlinks, nvillages, nstations, nedges, ndrive;
    island_rec *islands;  /* sorted by id */
    town_rec *towns;      /* sorted by code */
    port_rec *ports;      /* grouped by island */
    int *island_port_off; /* nislands + 1: ports of island i are [off[i], off[i+1]) */
    link_rec *links;      /* sorted by id */
    int *edge_off;        /* nports + 1 */
    edge_rec *edges;
    travel_village *villages; /* sorted by code */
    travel_station *stations; /* sorted by id */
    char **strings;           /* every string the graph owns, for travel_free() */
    size_t nstrings, cap_strings;
};

/* ---- small helpers ---- */

static char *own(travel_graph *g, const char *s) {
    if (g->nstrings == g->cap_strings) {
        g->cap_strings = g->cap_strings ? g->cap_strings * 2 : 1024;
        g->strings = xrealloc(g->strings, g->cap_strings * sizeof(*g->strings));
    }
    char *c = xstrdup(s ? s : "");
    g->strings[g->nstrings++] = c;
    return c;
}

static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
    return q;
}

static double haversine_km(double lat1, double lon1, double lat2, double lon2) {
    const double rad = M_PI / 180.0;
    double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    double a = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
    if (a > 1) a = 1;
    return 2 * EARTH_RADIUS_KM * asin(sqrt(a));
}

int travel_drive_minutes(double lat1, double lon1, double lat2, double lon2) {
    double km = haversine_km(lat1, lon1, lat2, lon2) * TRAVEL_ROAD_FACTOR;
    double min = km / TRAVEL_DRIVE_KMH * 60.0;
    return (int)ceil(min - 1e-9);
}

/* "HH:MM" → minutes after midnight, or -1. */
static int hhmm(const char *s) {
    if (!s || strlen(s) != 5 || s[2] != ':') return -1;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9')) return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 23 || m > 59) return -1;
    return h * 60 + m;
}

static int cmp_island(const void *a, const void *b) {
    return strcmp(((const island_rec *)a)->id, ((const island_rec *)b)->id);
}
static int cmp_town(const void *a, const void *b) {
    return strcmp(((const town_rec *)a)->code, ((const town_rec *)b)->code);
}
static int cmp_link(const void *a, const void *b) {
    return strcmp(((const link_rec *)a)->id, ((const link_rec *)b)->id);
}
static int cmp_village(const void *a, const void *b) {
    return strcmp(((const travel_village *)a)->code, ((const travel_village *)b)->code);
}
static int cmp_station(const void *a, const void *b) {
    return strcmp(((const travel_station *)a)->id, ((const travel_station *)b)->id);
}

static int find_island(const travel_graph *g, const char *id) {
    if (!id) return -1;
    island_rec key = {.id = (char *)id};
    island_rec *r = bsearch(&key, g->islands, (size_t)g->nislands, sizeof(key), cmp_island);
    return r ? (int)(r - g->islands) : -1;
}

int travel_town_find(const travel_graph *g, const char *code) {
    if (!code) return -1;
    town_rec key = {.code = (char *)code};
    town_rec *r = bsearch(&key, g->towns, (size_t)g->ntowns, sizeof(key), cmp_town);
    return r ? (int)(r - g->towns) : -1;
}

static int find_link(const travel_graph *g, const char *id) {
    if (!id) return -1;
    link_rec key = {.id = (char *)id};
    link_rec *r = bsearch(&key, g->links, (size_t)g->nlinks, sizeof(key), cmp_link);
    return r ? (int)(r - g->links) : -1;
}

static int find_village(const travel_graph *g, const char *code) {
    if (!code) return -1;
    travel_village key = {.code = code};
    travel_village *r = bsearch(&key, g->villages, (size_t)g->nvillages, sizeof(key), cmp_village);
    return r ? (int)(r - g->villages) : -1;
}

static int find_station(const travel_graph *g, const char *id) {
    if (!id) return -1;
    travel_station key = {.id = id};
    travel_station *r = bsearch(&key, g->stations, (size_t)g->nstations, sizeof(key), cmp_station);
    return r ? (int)(r - g->stations) : -1;
}

/* ---- the data directory ---- */

static pthread_mutex_t dir_lock = PTHREAD_MUTEX_INITIALIZER;
static char explicit_dir[1024];
static char resolved_dir[1024];

void travel_set_data_dir(const char *data_dir) {
    pthread_mutex_lock(&dir_lock);
    snprintf(explicit_dir, sizeof(explicit_dir), "%s", data_dir ? data_dir : "");
    resolved_dir[0] = '\0';
    pthread_mutex_unlock(&dir_lock);
}

const char *travel_data_dir(void) {
    pthread_mutex_lock(&dir_lock);
    if (!resolved_dir[0]) {
        if (explicit_dir[0]) {
            snprintf(resolved_dir, sizeof(resolved_dir), "%s", explicit_dir);
        } else {
            /* main.c resolves --data-dir for workcal; follow it (as cases/rules.c does). */
            const workcal *cal = workcal_default(NULL);
            const char *hol = cal ? workcal_dir(cal) : NULL;
            size_t n = hol ? strlen(hol) : 0;
            if (n > 9 && strcmp(hol + n - 9, "/holidays") == 0 && n - 9 < sizeof(resolved_dir))
                snprintf(resolved_dir, sizeof(resolved_dir), "%.*s", (int)(n - 9), hol);
            else
                snprintf(resolved_dir, sizeof(resolved_dir), "data");
        }
    }
    const char *d = resolved_dir;
    pthread_mutex_unlock(&dir_lock);
    return d;
}

/* ---- loading ---- */

static int load_islands(db *d, travel_graph *g, err *e) {
    db_stmt *s =
        db_query(d, e, "SELECT id, name, town_code, lat, lon, population FROM islands", "");
    if (!s) return -1;
    size_t cap = 64;
    g->islands = xcalloc(cap, sizeof(*g->islands));
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        if ((size_t)g->nislands == cap) {
            cap *= 2;
            g->islands = xrealloc(g->islands, cap * sizeof(*g->islands));
        }
        island_rec *r = &g->islands[g->nislands++];
        r->id = own(g, db_column_text(s, 0));
        r->name = own(g, db_column_text(s, 1));
        r->town_code = own(g, db_column_text(s, 2));
        r->lat = db_column_double(s, 3);
        r->lon = db_column_double(s, 4);
        r->population = db_column_int64(s, 5);
    }
    db_reset(s);
    if (rc != DB_DONE) return err_internal(e, "reading islands: %s", db_errmsg(d));
    qsort(g->islands, (size_t)g->nislands, sizeof(*g->islands), cmp_island);
    return 0;
}

static int load_towns(db *d, travel_graph *g, err *e) {
    db_stmt *s = db_query(d, e, "SELECT code, name, main_island, lat, lon FROM towns", "");
    if (!s) return -1;
    size_t cap = 64;
    g->towns = xcalloc(cap, sizeof(*g->towns));
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        if ((size_t)g->ntowns == cap) {
            cap *= 2;
            g->towns = xrealloc(g->towns, cap * sizeof(*g->towns));
        }
        town_rec *r = &g->towns[g->ntowns++];
        r->code = own(g, db_column_text(s, 0));
        r->name = own(g, db_column_text(s, 1));
        r->island = find_island(g, db_column_text(s, 2));
        r->lat = db_column_double(s, 3);
        r->lon = db_column_double(s, 4);
    }
    db_reset(s);
    if (rc != DB_DONE) return err_internal(e, "reading towns: %s", db_errmsg(d));
    qsort(g->towns, (size_t)g->ntowns, sizeof(*g->towns), cmp_town);
    return 0;
}

/* A link as read, before ports are numbered. */
typedef struct raw_link {
    int from_island, to_island;
    char *from_port, *to_port;
} raw_link;

/* Departures of a line with n sailings between first and last (see travel.h). */
static int make_departures(int n, int first, int last, int *out) {
    if (n <= 0 || first < 0 || last < 0) return 0;
    if (n > MAX_DEPARTURES) n = MAX_DEPARTURES;
    if (n == 1 || last <= first) {
        out[0] = first;
        return 1;
    }
    int k = 0;
    for (int i = 0; i < n; i++) {
        int dep = first + (int)lround((double)i * (last - first) / (n - 1));
        if (k == 0 || dep > out[k - 1]) out[k++] = dep;
    }
    return k;
}

static int load_links(db *d, travel_graph *g, raw_link **raw_out, err *e) {
    db_stmt *s =
        db_query(d, e,
                 "SELECT id, from_island, to_island, from_port, to_port, minutes, "
                 "sailings_per_day, first_departure, last_departure, mode FROM ferry_links",
                 "");
    if (!s) return -1;
    size_t cap = 64;
    link_rec *links = xcalloc(cap, sizeof(*links));
    raw_link *raw = xcalloc(cap, sizeof(*raw));
    int n = 0, rc;
    while ((rc = db_step(s)) == DB_ROW) {
        if ((size_t)n == cap) {
            cap *= 2;
            links = xrealloc(links, cap * sizeof(*links));
            raw = xrealloc(raw, cap * sizeof(*raw));
        }
        link_rec *l = &links[n];
        raw_link *r = &raw[n];
        memset(l, 0, sizeof(*l));
        l->id = own(g, db_column_text(s, 0));
        r->from_island = find_island(g, db_column_text(s, 1));
        r->to_island = find_island(g, db_column_text(s, 2));
        r->from_port = own(g, db_column_text(s, 3));
        r->to_port = own(g, db_column_text(s, 4));
        l->minutes = (int)db_column_int64(s, 5);
        l->mode = own(g, db_column_text(s, 9));
        if (r->from_island < 0 || r->to_island < 0 || l->minutes <= 0) continue; /* skipped */
        if (strcmp(l->mode, "ferry") != 0) {
            l->kind = LINK_FIXED;
        } else {
            int sailings = db_column_type(s, 6) == DB_NULL ? 0 : (int)db_column_int64(s, 6);
            int first = hhmm(db_column_text(s, 7)), last = hhmm(db_column_text(s, 8));
            int deps[MAX_DEPARTURES];
            int k = make_departures(sailings, first, last, deps);
            if (k == 0) {
                l->kind = LINK_NEVER;
            } else {
                l->kind = LINK_FERRY;
                l->ndeps = k;
                l->deps = xmalloc((size_t)k * sizeof(int));
                memcpy(l->deps, deps, (size_t)k * sizeof(int));
            }
        }
        n++;
    }
    db_reset(s);
    if (rc != DB_DONE) {
        for (int i = 0; i < n; i++)
            free(links[i].deps);
        free(links);
        free(raw);
        return err_internal(e, "reading ferry_links: %s", db_errmsg(d));
    }
    /* Sort links and their raw twins together: sort an index, then permute. */
    int *order = xmalloc((size_t)(n ? n : 1) * sizeof(int));
    for (int i = 0; i < n; i++)
        order[i] = i;
    for (int i = 1; i < n; i++) { /* insertion sort: links are few */
        int v = order[i], j = i - 1;
        while (j >= 0 && strcmp(links[order[j]].id, links[v].id) > 0) {
            order[j + 1] = order[j];
            j--;
        }
        order[j + 1] = v;
    }
    g->links = xcalloc((size_t)(n ? n : 1), sizeof(*g->links));
    raw_link *sorted_raw = xcalloc((size_t)(n ? n : 1), sizeof(*sorted_raw));
    for (int i = 0; i < n; i++) {
        g->links[i] = links[order[i]];
        sorted_raw[i] = raw[order[i]];
    }
    g->nlinks = n;
    free(order);
    free(links);
    free(raw);
    *raw_out = sorted_raw;
    return 0;
}

static int load_villages(db *d, travel_graph *g, err *e) {
    db_stmt *s =
        db_query(d, e, "SELECT code, name, town_code, island_id, population FROM villages", "");
    if (!s) return -1;
    size_t cap = 512;
    g->villages = xcalloc(cap, sizeof(*g->villages));
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        int island = find_island(g, db_column_text(s, 3));
        if (island < 0) continue;
        if ((size_t)g->nvillages == cap) {
            cap *= 2;
            g->villages = xrealloc(g->villages, cap * sizeof(*g->villages));
        }
        travel_village *v = &g->villages[g->nvillages++];
        v->code = own(g, db_column_text(s, 0));
        v->name = own(g, db_column_text(s, 1));
        v->town_code = own(g, db_column_text(s, 2));
        v->island = island;
        v->population = db_column_int64(s, 4);
    }
    db_reset(s);
    if (rc != DB_DONE) return err_internal(e, "reading villages: %s", db_errmsg(d));
    qsort(g->villages, (size_t)g->nvillages, sizeof(*g->villages), cmp_village);
    for (int i = 0; i < g->nvillages; i++)
        g->villages[i].town = travel_town_find(g, g->villages[i].town_code);
    return 0;
}

static int load_stations(db *d, travel_graph *g, err *e) {
    db_stmt *s = db_query(
        d, e, "SELECT id, name, kind, village_code, town_code, island_id, lat, lon FROM stations",
        "");
    if (!s) return -1;
    size_t cap = 512;
    g->stations = xcalloc(cap, sizeof(*g->stations));
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        int island = find_island(g, db_column_text(s, 5));
        if (island < 0) continue;
        if ((size_t)g->nstations == cap) {
            cap *= 2;
            g->stations = xrealloc(g->stations, cap * sizeof(*g->stations));
        }
        travel_station *st = &g->stations[g->nstations++];
        st->id = own(g, db_column_text(s, 0));
        st->name = own(g, db_column_text(s, 1));
        st->kind = own(g, db_column_text(s, 2));
        st->village_code = own(g, db_column_text(s, 3));
        st->town_code = own(g, db_column_text(s, 4));
        st->island = island;
        st->lat = db_column_double(s, 6);
        st->lon = db_column_double(s, 7);
    }
    db_reset(s);
    if (rc != DB_DONE) return err_internal(e, "reading stations: %s", db_errmsg(d));
    qsort(g->stations, (size_t)g->nstations, sizeof(*g->stations), cmp_station);
    return 0;
}

/* Village points: the mean of the village's stations; else of its town's stations on
 * its island; else the island's point. */
static void place_villages(travel_graph *g) {
    double *slat = xcalloc((size_t)g->nvillages + 1, sizeof(double));
    double *slon = xcalloc((size_t)g->nvillages + 1, sizeof(double));
    int *cnt = xcalloc((size_t)g->nvillages + 1, sizeof(int));
    for (int i = 0; i < g->nstations; i++) {
        int v = find_village(g, g->stations[i].village_code);
        if (v < 0 || g->villages[v].island != g->stations[i].island) continue;
        slat[v] += g->stations[i].lat;
        slon[v] += g->stations[i].lon;
        cnt[v]++;
    }
    for (int v = 0; v < g->nvillages; v++) {
        travel_village *vi = &g->villages[v];
        if (cnt[v]) {
            vi->lat = slat[v] / cnt[v];
            vi->lon = slon[v] / cnt[v];
            continue;
        }
        double la = 0, lo = 0;
        int n = 0;
        for (int i = 0; i < g->nstations; i++)
            if (g->stations[i].island == vi->island &&
                strcmp(g->stations[i].town_code, vi->town_code) == 0) {
                la += g->stations[i].lat;
                lo += g->stations[i].lon;
                n++;
            }
        if (n) {
            vi->lat = la / n;
            vi->lon = lo / n;
        } else {
            vi->lat = g->islands[vi->island].lat;
            vi->lon = g->islands[vi->island].lon;
        }
    }
    free(slat);
    free(slon);
    free(cnt);
}

/* Port points from DATA_DIR/island/ports.json: {"ports":[{"island","port","lat","lon"}]}.
 * Rows naming a port the graph lacks are logged and skipped. */
static int load_port_points(travel_graph *g, const char *data_dir, err *e) {
    char path[1200];
    snprintf(path, sizeof(path), "%s/island/ports.json", data_dir);
    struct stat st;
    if (stat(path, &st) != 0) return 0;
    if ((size_t)st.st_size > PORTS_FILE_MAX)
        return err_set(e, 413, "payload_too_large", "ports", "%s: larger than %u bytes", path,
                       PORTS_FILE_MAX);
    json_error_t je;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!doc)
        return err_set(e, 422, "unprocessable", "ports", "%s line %d: %s", path, je.line, je.text);
    json_t *arr = json_object_get(doc, "ports");
    if (!json_is_array(arr)) {
        json_decref(doc);
        return err_set(e, 422, "unprocessable", "ports", "%s: \"ports\" must be an array", path);
    }
    size_t i;
    json_t *row;
    json_array_foreach(arr, i, row) {
        const char *island = json_string_value(json_object_get(row, "island"));
        const char *port = json_string_value(json_object_get(row, "port"));
        json_t *lat = json_object_get(row, "lat"), *lon = json_object_get(row, "lon");
        if (!island || !port || !json_is_number(lat) || !json_is_number(lon) ||
            json_number_value(lat) < -90 || json_number_value(lat) > 90 ||
            json_number_value(lon) < -180 || json_number_value(lon) > 180) {
            json_decref(doc);
            return err_set(e, 422, "unprocessable", "ports",
                           "%s: ports[%zu] needs island, port, lat and lon", path, i);
        }
        int is = find_island(g, island), found = 0;
        for (int p = 0; is >= 0 && p < g->nports; p++)
            if (g->ports[p].island == is && strcmp(g->ports[p].name, port) == 0) {
                g->ports[p].lat = json_number_value(lat);
                g->ports[p].lon = json_number_value(lon);
                found = 1;
            }
        if (!found)
            log_warn("travel: %s: ports[%zu] %s/%s is no port of the data", path, i, island, port);
    }
    json_decref(doc);
    return 0;
}

/* Number the ports (grouped by island), then build the CSR edges. */
static void build_ports_and_edges(travel_graph *g, const raw_link *raw) {
    /* Distinct (island, port) pairs, in link order. */
    int cap = 2 * g->nlinks + 1, n = 0;
    port_rec *tmp = xcalloc((size_t)cap, sizeof(*tmp));
    int *from_port = xcalloc((size_t)g->nlinks + 1, sizeof(int));
    int *to_port = xcalloc((size_t)g->nlinks + 1, sizeof(int));
    for (int l = 0; l < g->nlinks; l++) {
        for (int side = 0; side < 2; side++) {
            int island = side ? raw[l].to_island : raw[l].from_island;
            const char *name = side ? raw[l].to_port : raw[l].from_port;
            int found = -1;
            for (int p = 0; p < n; p++)
                if (tmp[p].island == island && strcmp(tmp[p].name, name) == 0) found = p;
            if (found < 0) {
                found = n++;
                tmp[found].name = (char *)name;
                tmp[found].island = island;
                tmp[found].lat = g->islands[island].lat;
                tmp[found].lon = g->islands[island].lon;
            }
            (side ? to_port : from_port)[l] = found;
        }
    }
    /* Group by island (stable): renumber. */
    g->island_port_off = xcalloc((size_t)g->nislands + 1, sizeof(int));
    for (int p = 0; p < n; p++)
        g->island_port_off[tmp[p].island + 1]++;
    for (int i = 0; i < g->nislands; i++)
        g->island_port_off[i + 1] += g->island_port_off[i];
    int *next = xcalloc((size_t)g->nislands + 1, sizeof(int));
    int *renum = xcalloc((size_t)n + 1, sizeof(int));
    g->ports = xcalloc((size_t)n + 1, sizeof(*g->ports));
    for (int p = 0; p < n; p++) {
        int at = g->island_port_off[tmp[p].island] + next[tmp[p].island]++;
        g->ports[at] = tmp[p];
        renum[p] = at;
    }
    g->nports = n;

    /* Edges: drive between the ports of one island, and both directions of each link. */
    int *deg = xcalloc((size_t)n + 1, sizeof(int));
    for (int i = 0; i < g->nislands; i++) {
        int k = g->island_port_off[i + 1] - g->island_port_off[i];
        for (int p = g->island_port_off[i]; p < g->island_port_off[i + 1]; p++)
            deg[p] += k - 1;
    }
    for (int l = 0; l < g->nlinks; l++) {
        deg[renum[from_port[l]]]++;
        deg[renum[to_port[l]]]++;
    }
    g->edge_off = xcalloc((size_t)n + 1, sizeof(int));
    for (int p = 0; p < n; p++)
        g->edge_off[p + 1] = g->edge_off[p] + deg[p];
    g->nedges = g->edge_off[n];
    g->edges = xcalloc((size_t)g->nedges + 1, sizeof(*g->edges));
    memset(deg, 0, (size_t)(n + 1) * sizeof(int));
    for (int i = 0; i < g->nislands; i++)
        for (int a = g->island_port_off[i]; a < g->island_port_off[i + 1]; a++)
            for (int b = g->island_port_off[i]; b < g->island_port_off[i + 1]; b++) {
                if (a == b) continue;
                edge_rec *ed = &g->edges[g->edge_off[a] + deg[a]++];
                ed->to = b;
                ed->link = -1;
                ed->minutes = travel_drive_minutes(g->ports[a].lat, g->ports[a].lon,
                                                   g->ports[b].lat, g->ports[b].lon);
                g->ndrive++;
            }
    for (int l = 0; l < g->nlinks; l++) {
        int a = renum[from_port[l]], b = renum[to_port[l]];
        edge_rec *ab = &g->edges[g->edge_off[a] + deg[a]++];
        *ab = (edge_rec){.to = b, .minutes = g->links[l].minutes, .link = l};
        edge_rec *ba = &g->edges[g->edge_off[b] + deg[b]++];
        *ba = (edge_rec){.to = a, .minutes = g->links[l].minutes, .link = l};
    }
    free(deg);
    free(next);
    free(renum);
    free(tmp);
    free(from_port);
    free(to_port);
}

/* Drive edges depend on port points, which ports.json may move: recompute them. */
static void recompute_drive_edges(travel_graph *g) {
    for (int a = 0; a < g->nports; a++)
        for (int k = g->edge_off[a]; k < g->edge_off[a + 1]; k++) {
            edge_rec *ed = &g->edges[k];
            if (ed->link >= 0) continue;
            ed->minutes = travel_drive_minutes(g->ports[a].lat, g->ports[a].lon,
                                               g->ports[ed->to].lat, g->ports[ed->to].lon);
        }
}

travel_graph *travel_load(db *d, const char *data_dir, err *e) {
    travel_graph *g = xcalloc(1, sizeof(*g));
    raw_link *raw = NULL;
    if (load_islands(d, g, e) != 0 || load_towns(d, g, e) != 0 || load_links(d, g, &raw, e) != 0 ||
        load_villages(d, g, e) != 0 || load_stations(d, g, e) != 0)
        goto fail;
    if (g->nislands == 0) {
        err_notfound(e, "no places imported: run `isle demo` (or import data/zhoushan) first");
        goto fail;
    }
    build_ports_and_edges(g, raw);
    free(raw);
    raw = NULL;
    if (load_port_points(g, data_dir ? data_dir : travel_data_dir(), e) != 0) goto fail;
    recompute_drive_edges(g);
    place_villages(g);
    return g;
fail:
    free(raw);
    travel_free(g);
    return NULL;
}

void travel_free(travel_graph *g) {
    if (!g) return;
    for (int i = 0; i < g->nlinks; i++)
        free(g->links[i].deps);
    for (size_t i = 0; i < g->nstrings; i++)
        free(g->strings[i]);
    free(g->strings);
    free(g->islands);
    free(g->towns);
    free(g->ports);
    free(g->island_port_off);
    free(g->links);
    free(g->edge_off);
    free(g->edges);
    free(g->villages);
    free(g->stations);
    free(g);
}

/* ---- the process-wide graph ---- */

static pthread_mutex_t default_lock = PTHREAD_MUTEX_INITIALIZER;
static travel_graph *default_graph;

const travel_graph *travel_default(db *d, err *e) {
    pthread_mutex_lock(&default_lock);
    if (!default_graph) {
        default_graph = travel_load(d, NULL, e);
        if (default_graph) {
            travel_stats s = travel_graph_stats(default_graph);
            log_info("travel: graph loaded: %d islands, %d ports, %d links, %d villages, %d "
                     "stations",
                     s.islands, s.ports, s.links, s.villages, s.stations);
        }
    }
    const travel_graph *g = default_graph;
    pthread_mutex_unlock(&default_lock);
    return g;
}

void travel_default_reset(void) {
    pthread_mutex_lock(&default_lock);
    travel_free(default_graph);
    default_graph = NULL;
    pthread_mutex_unlock(&default_lock);
}

/* ---- places ---- */

static travel_place make_place(travel_place_kind kind, int index, int island, double lat,
                               double lon) {
    travel_place p = {.kind = kind, .index = index, .island = island, .lat = lat, .lon = lon};
    return p;
}

int travel_place_island(const travel_graph *g, const char *island_id, travel_place *out) {
    int i = find_island(g, island_id);
    if (i < 0) return -1;
    *out = make_place(TRAVEL_PLACE_ISLAND, i, i, g->islands[i].lat, g->islands[i].lon);
    return 0;
}

int travel_place_village(const travel_graph *g, const char *code, travel_place *out) {
    int v = find_village(g, code);
    if (v < 0) return -1;
    const travel_village *vi = &g->villages[v];
    *out = make_place(TRAVEL_PLACE_VILLAGE, v, vi->island, vi->lat, vi->lon);
    return 0;
}

int travel_place_station(const travel_graph *g, const char *id, travel_place *out) {
    int s = find_station(g, id);
    if (s < 0) return -1;
    const travel_station *st = &g->stations[s];
    *out = make_place(TRAVEL_PLACE_STATION, s, st->island, st->lat, st->lon);
    return 0;
}

static int place_town(const travel_graph *g, int t, travel_place *out) {
    if (t < 0 || g->towns[t].island < 0) return -1;
    *out = make_place(TRAVEL_PLACE_TOWN, t, g->towns[t].island, g->towns[t].lat, g->towns[t].lon);
    return 0;
}

int travel_place_point(const travel_graph *g, const char *island_id, double lat, double lon,
                       travel_place *out) {
    int i = find_island(g, island_id);
    if (i < 0 || !(lat >= -90 && lat <= 90) || !(lon >= -180 && lon <= 180)) return -1;
    *out = make_place(TRAVEL_PLACE_POINT, -1, i, lat, lon);
    return 0;
}

const char *travel_place_name(const travel_graph *g, const travel_place *p) {
    switch (p->kind) {
    case TRAVEL_PLACE_TOWN:
        return g->towns[p->index].name;
    case TRAVEL_PLACE_VILLAGE:
        return g->villages[p->index].name;
    case TRAVEL_PLACE_STATION:
        return g->stations[p->index].name;
    case TRAVEL_PLACE_ISLAND:
    case TRAVEL_PLACE_POINT:
    default:
        return g->islands[p->island].name;
    }
}

const char *travel_place_id(const travel_graph *g, const travel_place *p) {
    switch (p->kind) {
    case TRAVEL_PLACE_ISLAND:
        return g->islands[p->index].id;
    case TRAVEL_PLACE_TOWN:
        return g->towns[p->index].code;
    case TRAVEL_PLACE_VILLAGE:
        return g->villages[p->index].code;
    case TRAVEL_PLACE_STATION:
        return g->stations[p->index].id;
    case TRAVEL_PLACE_POINT:
    default:
        return "";
    }
}

const char *travel_place_kind_name(const travel_place *p) {
    switch (p->kind) {
    case TRAVEL_PLACE_ISLAND:
        return "island";
    case TRAVEL_PLACE_TOWN:
        return "town";
    case TRAVEL_PLACE_VILLAGE:
        return "village";
    case TRAVEL_PLACE_STATION:
        return "station";
    case TRAVEL_PLACE_POINT:
    default:
        return "point";
    }
}

const char *travel_place_island_id(const travel_graph *g, const travel_place *p) {
    return g->islands[p->island].id;
}

/* s ends with suffix (bytes). */
static int ends_with(const char *s, size_t n, const char *suffix) {
    size_t k = strlen(suffix);
    return n > k && memcmp(s + n - k, suffix, k) == 0;
}

/* 1 if text names `name`: exactly, or name cut at '(' / '（', or what the parenthesis
 * holds ("衢山岛(大衢山)"), or either of the first two without one of the suffixes. */
static int name_matches(const char *name, const char *text, const char *const *suffixes) {
    if (strcmp(name, text) == 0) return 1;
    size_t tn = strlen(text), n = strlen(name);
    const char *paren = strchr(name, '(');
    const char *wide = strstr(name, "（");
    if (wide && (!paren || wide < paren)) paren = wide;
    size_t cut = paren ? (size_t)(paren - name) : n;
    if (paren) {
        const char *inner = paren + (*paren == '(' ? 1 : strlen("（"));
        const char *close = strchr(inner, ')');
        const char *wclose = strstr(inner, "）");
        if (wclose && (!close || wclose < close)) close = wclose;
        if (close && (size_t)(close - inner) == tn && memcmp(inner, text, tn) == 0) return 1;
    }
    for (int pass = 0; pass < 2; pass++) {
        size_t len = pass ? cut : n;
        if (pass && cut == n) break;
        if (len == tn && memcmp(name, text, len) == 0) return 1;
        for (const char *const *s = suffixes; s && *s; s++)
            if (ends_with(name, len, *s) && len - strlen(*s) == tn && memcmp(name, text, tn) == 0)
                return 1;
    }
    return 0;
}

int travel_resolve(const travel_graph *g, const char *text, const char *field, travel_place *out,
                   err *e) {
    if (!text || !*text)
        return err_invalid(e, field, "%s: 请填写地点（海岛、乡镇、村社区代码或网点编号）", field);
    if (strlen(text) > TRAVEL_NAME_MAX)
        return err_invalid(e, field, "%s: 地点名称过长（最多 %d 字节）", field, TRAVEL_NAME_MAX);
    /* Exact keys. */
    if (travel_place_island(g, text, out) == 0 || travel_place_village(g, text, out) == 0 ||
        travel_place_station(g, text, out) == 0 ||
        place_town(g, travel_town_find(g, text), out) == 0)
        return 0;
    /* Names, by kind in order of preference. */
    static const char *const island_suffixes[] = {"岛", "山", NULL};
    static const char *const town_suffixes[] = {"街道", "镇", "乡", NULL};
    int hit = -1, hits = 0;
    for (int i = 0; i < g->nislands; i++)
        if (name_matches(g->islands[i].name, text, island_suffixes)) hit = i, hits++;
    if (hits == 1) {
        *out = make_place(TRAVEL_PLACE_ISLAND, hit, hit, g->islands[hit].lat, g->islands[hit].lon);
        return 0;
    }
    if (hits > 1) goto ambiguous;
    for (int i = 0; i < g->ntowns; i++)
        if (g->towns[i].island >= 0 && name_matches(g->towns[i].name, text, town_suffixes))
            hit = i, hits++;
    if (hits == 1) return place_town(g, hit, out);
    if (hits > 1) goto ambiguous;
    for (int i = 0; i < g->nstations; i++)
        if (strcmp(g->stations[i].name, text) == 0) hit = i, hits++;
    if (hits == 1) {
        const travel_station *st = &g->stations[hit];
        *out = make_place(TRAVEL_PLACE_STATION, hit, st->island, st->lat, st->lon);
        return 0;
    }
    if (hits > 1) goto ambiguous;
    for (int i = 0; i < g->nvillages; i++)
        if (strcmp(g->villages[i].name, text) == 0) hit = i, hits++;
    if (hits == 1) {
        const travel_village *v = &g->villages[hit];
        *out = make_place(TRAVEL_PLACE_VILLAGE, hit, v->island, v->lat, v->lon);
        return 0;
    }
    if (hits > 1) goto ambiguous;
    return err_invalid(
        e, field, "%s: 未知地点“%s”（可用海岛编号或名称、乡镇名称或代码、村社区代码、网点编号）",
        field, text);
ambiguous:
    return err_invalid(e, field, "%s: “%s”对应 %d 个地点，请改用编号或代码", field, text, hits);
}

/* ---- the search ---- */

/* Per-query arrays of nports entries. */
typedef struct scratch {
    int64_t *arr;      /* earliest arrival (minutes) at each port */
    int *heap, *pos;   /* indexed binary min-heap on arr; pos -1 = not in heap, -2 = done */
    int *pred;         /* previous port, -1 = from the source */
    int *pred_edge;    /* edge taken into the port (route mode) */
    int64_t *pred_dep; /* when that edge was entered (departure for a ferry) */
    int nheap;
    void *heap_block; /* non-NULL when the arrays live on the heap */
} scratch;

static void heap_swap(scratch *s, int i, int j) {
    int a = s->heap[i], b = s->heap[j];
    s->heap[i] = b;
    s->heap[j] = a;
    s->pos[b] = i;
    s->pos[a] = j;
}

static void heap_up(scratch *s, int i) {
    while (i > 0) {
        int parent = (i - 1) / 2;
        if (s->arr[s->heap[parent]] <= s->arr[s->heap[i]]) break;
        heap_swap(s, i, parent);
        i = parent;
    }
}

static void heap_down(scratch *s, int i) {
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < s->nheap && s->arr[s->heap[l]] < s->arr[s->heap[m]]) m = l;
        if (r < s->nheap && s->arr[s->heap[r]] < s->arr[s->heap[m]]) m = r;
        if (m == i) return;
        heap_swap(s, i, m);
        i = m;
    }
}

/* Lower arr[p] to t (when better) and queue p. Returns 1 if improved. */
static int relax(scratch *s, int p, int64_t t) {
    if (s->pos[p] == -2 || t >= s->arr[p]) return 0;
    s->arr[p] = t;
    if (s->pos[p] == -1) {
        s->heap[s->nheap] = p;
        s->pos[p] = s->nheap++;
    }
    heap_up(s, s->pos[p]);
    return 1;
}

static int heap_pop(scratch *s) {
    int top = s->heap[0];
    s->nheap--;
    if (s->nheap > 0) {
        s->heap[0] = s->heap[s->nheap];
        s->pos[s->heap[0]] = 0;
        heap_down(s, 0);
    }
    s->pos[top] = -2;
    return top;
}

/* When a traveller at the start of edge ed at minute t reaches its end; *dep gets the
 * moment the edge is entered (the sailing for a ferry). NEVER_MIN when never. */
static int64_t edge_arrival(const travel_graph *g, const edge_rec *ed, int64_t t, int64_t *dep) {
    *dep = t;
    if (ed->link < 0) return t + ed->minutes;
    const link_rec *l = &g->links[ed->link];
    if (l->kind == LINK_FIXED) return t + ed->minutes;
    if (l->kind == LINK_NEVER) return NEVER_MIN;
    int64_t local = t + TRAVEL_BOARDING_MINUTES + LOCAL_OFFSET_MIN;
    int64_t day = floor_div(local, DAY_MIN);
    int m = (int)(local - day * DAY_MIN);
    int lo = 0, hi = l->ndeps; /* first departure >= m */
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (l->deps[mid] < m)
            lo = mid + 1;
        else
            hi = mid;
    }
    int64_t when = lo < l->ndeps ? day * DAY_MIN + l->deps[lo] : (day + 1) * DAY_MIN + l->deps[0];
    *dep = when - LOCAL_OFFSET_MIN;
    return *dep + ed->minutes;
}

static void scratch_init(scratch *s, const travel_graph *g, void *stack_block, size_t stack_bytes,
                         int with_preds) {
    size_t n = (size_t)g->nports + 1;
    size_t need = n * (sizeof(int64_t) * 2 + sizeof(int) * 4);
    char *b;
    s->heap_block = NULL;
    if (need <= stack_bytes) {
        b = stack_block;
    } else {
        b = xmalloc(need);
        s->heap_block = b;
    }
    s->arr = (int64_t *)b;
    s->pred_dep = (int64_t *)(b + n * sizeof(int64_t));
    int *ints = (int *)(b + 2 * n * sizeof(int64_t));
    s->heap = ints;
    s->pos = ints + n;
    s->pred = ints + 2 * n;
    s->pred_edge = ints + 3 * n;
    s->nheap = 0;
    for (size_t i = 0; i < n; i++) {
        s->arr[i] = NEVER_MIN;
        s->pos[i] = -1;
    }
    if (with_preds)
        for (size_t i = 0; i < n; i++)
            s->pred[i] = -1, s->pred_edge[i] = -1, s->pred_dep[i] = 0;
}

static void scratch_done(scratch *s) {
    free(s->heap_block);
}

#define STACK_SCRATCH_BYTES ((TRAVEL_STACK_PORTS + 1) * (sizeof(int64_t) * 2 + sizeof(int) * 4))

static int64_t to_minutes(int64_t t) {
    return floor_div(t + 59, 60);
}

static int drive_to(const travel_graph *g, int port, const travel_place *p) {
    return travel_drive_minutes(g->ports[port].lat, g->ports[port].lon, p->lat, p->lon);
}

/* Dijkstra from `from` at minute t0. With `to`, stops once nothing can beat the best
 * arrival at `to` and returns it (*best_port = the port it came from, -1 = direct
 * drive); without, runs to the end and returns NEVER_MIN. */
static int64_t search(const travel_graph *g, scratch *s, const travel_place *from, int64_t t0,
                      const travel_place *to, int *best_port, int with_preds) {
    int64_t best = NEVER_MIN;
    if (best_port) *best_port = -1;
    if (to && to->island == from->island)
        best = t0 + travel_drive_minutes(from->lat, from->lon, to->lat, to->lon);
    for (int p = g->island_port_off[from->island]; p < g->island_port_off[from->island + 1]; p++)
        relax(s, p, t0 + drive_to(g, p, from));
    while (s->nheap > 0) {
        int u = heap_pop(s);
        int64_t tu = s->arr[u];
        if (to && tu >= best) break;
        if (to && g->ports[u].island == to->island) {
            int64_t cand = tu + drive_to(g, u, to);
            if (cand < best) {
                best = cand;
                if (best_port) *best_port = u;
            }
        }
        for (int k = g->edge_off[u]; k < g->edge_off[u + 1]; k++) {
            const edge_rec *ed = &g->edges[k];
            if (s->pos[ed->to] == -2) continue;
            int64_t dep;
            int64_t ta = edge_arrival(g, ed, tu, &dep);
            if (ta >= NEVER_MIN) continue;
            if (relax(s, ed->to, ta) && with_preds) {
                s->pred[ed->to] = u;
                s->pred_edge[ed->to] = k;
                s->pred_dep[ed->to] = dep;
            }
        }
    }
    return best;
}

int64_t travel_time(const travel_graph *g, const travel_place *from, const travel_place *to,
                    int64_t depart_at) {
    int64_t stack_block[STACK_SCRATCH_BYTES / sizeof(int64_t) + 1];
    scratch s;
    scratch_init(&s, g, stack_block, sizeof(stack_block), 0);
    int64_t best = search(g, &s, from, to_minutes(depart_at), to, NULL, 0);
    scratch_done(&s);
    return best >= NEVER_MIN ? TRAVEL_NEVER : best * 60;
}

static const char *port_label(const travel_graph *g, int p) {
    return g->ports[p].name;
}

void travel_route_find(const travel_graph *g, const travel_place *from, const travel_place *to,
                       int64_t depart_at, travel_route *out) {
    memset(out, 0, sizeof(*out));
    int64_t t0 = to_minutes(depart_at);
    out->depart = t0 * 60;
    int64_t stack_block[STACK_SCRATCH_BYTES / sizeof(int64_t) + 1];
    scratch s;
    scratch_init(&s, g, stack_block, sizeof(stack_block), 1);
    int best_port;
    int64_t best = search(g, &s, from, t0, to, &best_port, 1);
    if (best >= NEVER_MIN) {
        out->arrive = TRAVEL_NEVER;
        scratch_done(&s);
        return;
    }
    out->arrive = best * 60;
    /* Ports on the way, from the last back to the first. */
    int chain_len = 0;
    for (int p = best_port; p >= 0; p = s.pred[p])
        chain_len++;
    int *chain = xcalloc((size_t)chain_len + 1, sizeof(int));
    int k = chain_len;
    for (int p = best_port; p >= 0; p = s.pred[p])
        chain[--k] = p;
    out->legs = xcalloc((size_t)chain_len + 2, sizeof(travel_leg));
    size_t n = 0;
    const char *src = travel_place_name(g, from), *dst = travel_place_name(g, to);
    if (best_port < 0) {
        out->legs[n++] = (travel_leg){
            .mode = "drive", .from = src, .to = dst, .depart = t0 * 60, .arrive = best * 60};
    } else {
        if (s.arr[chain[0]] > t0)
            out->legs[n++] = (travel_leg){.mode = "drive",
                                          .from = src,
                                          .to = port_label(g, chain[0]),
                                          .depart = t0 * 60,
                                          .arrive = s.arr[chain[0]] * 60};
        for (int i = 1; i < chain_len; i++) {
            int p = chain[i], prev = chain[i - 1];
            const edge_rec *ed = &g->edges[s.pred_edge[p]];
            if (ed->link < 0 && ed->minutes == 0) continue;
            travel_leg leg = {.from = port_label(g, prev),
                              .to = port_label(g, p),
                              .depart = s.pred_dep[p] * 60,
                              .arrive = s.arr[p] * 60};
            if (ed->link < 0) {
                leg.mode = "drive";
            } else {
                const link_rec *l = &g->links[ed->link];
                leg.mode = l->mode;
                leg.line = l->id;
                if (l->kind == LINK_FIXED) { /* a bridge: name the islands, the bridge is via */
                    leg.via = g->ports[prev].name;
                    leg.from = g->islands[g->ports[prev].island].name;
                    leg.to = g->islands[g->ports[p].island].name;
                }
            }
            out->legs[n++] = leg;
        }
        int last = chain[chain_len - 1];
        if (best > s.arr[last])
            out->legs[n++] = (travel_leg){.mode = "drive",
                                          .from = port_label(g, last),
                                          .to = dst,
                                          .depart = s.arr[last] * 60,
                                          .arrive = best * 60};
    }
    out->nlegs = n;
    free(chain);
    scratch_done(&s);
    /* Show the legs as late as possible: a drive or bridge before a sailing starts so as
     * to reach the pier TRAVEL_BOARDING_MINUTES before it, not hours early. Sailings and
     * the arrival stay; only slack moves. */
    int64_t latest_end = out->arrive;
    for (size_t i = n; i-- > 0;) {
        travel_leg *l = &out->legs[i];
        if (!strcmp(l->mode, "ferry")) {
            latest_end = l->depart - (int64_t)TRAVEL_BOARDING_MINUTES * 60;
            continue;
        }
        if (l->arrive < latest_end) {
            int64_t shift = latest_end - l->arrive;
            l->depart += shift;
            l->arrive += shift;
        }
        latest_end = l->depart;
    }
    for (size_t i = 0; i < n; i++)
        if (!strcmp(out->legs[i].mode, "ferry"))
            out->legs[i].wait_minutes =
                (int)((out->legs[i].depart - (i ? out->legs[i - 1].arrive : out->depart)) / 60);
}

void travel_route_free(travel_route *r) {
    if (!r) return;
    free(r->legs);
    r->legs = NULL;
    r->nlegs = 0;
}

/* ---- one-to-many ---- */

struct travel_tree {
    const travel_graph *g;
    travel_place from;
    int64_t t0;
    int64_t *arr; /* minutes, NEVER_MIN when unreached */
};

travel_tree *travel_tree_new(const travel_graph *g) {
    travel_tree *t = xcalloc(1, sizeof(*t));
    t->g = g;
    t->arr = xcalloc((size_t)g->nports + 1, sizeof(int64_t));
    return t;
}

void travel_tree_run(travel_tree *t, const travel_place *from, int64_t depart_at) {
    const travel_graph *g = t->g;
    t->from = *from;
    t->t0 = to_minutes(depart_at);
    int64_t stack_block[STACK_SCRATCH_BYTES / sizeof(int64_t) + 1];
    scratch s;
    scratch_init(&s, g, stack_block, sizeof(stack_block), 0);
    search(g, &s, from, t->t0, NULL, NULL, 0);
    memcpy(t->arr, s.arr, (size_t)g->nports * sizeof(int64_t));
    scratch_done(&s);
}

int64_t travel_tree_arrival(const travel_tree *t, const travel_place *to) {
    const travel_graph *g = t->g;
    int64_t best = NEVER_MIN;
    if (to->island == t->from.island)
        best = t->t0 + travel_drive_minutes(t->from.lat, t->from.lon, to->lat, to->lon);
    for (int p = g->island_port_off[to->island]; p < g->island_port_off[to->island + 1]; p++) {
        if (t->arr[p] >= best) continue; /* driving on cannot make it earlier */
        int64_t cand = t->arr[p] + drive_to(g, p, to);
        if (cand < best) best = cand;
    }
    return best >= NEVER_MIN ? TRAVEL_NEVER : best * 60;
}

int64_t travel_tree_island_earliest(const travel_tree *t, int island) {
    const travel_graph *g = t->g;
    int64_t best = NEVER_MIN;
    for (int p = g->island_port_off[island]; p < g->island_port_off[island + 1]; p++)
        if (t->arr[p] < best) best = t->arr[p];
    return best >= NEVER_MIN ? TRAVEL_NEVER : best * 60;
}

void travel_tree_free(travel_tree *t) {
    if (!t) return;
    free(t->arr);
    free(t);
}

int travel_departures(const travel_graph *g, const char *link_id, int *out, int max) {
    int l = find_link(g, link_id);
    if (l < 0) return -1;
    const link_rec *lk = &g->links[l];
    if (lk->kind != LINK_FERRY) return 0;
    for (int i = 0; i < lk->ndeps && i < max; i++)
        out[i] = lk->deps[i];
    return lk->ndeps;
}

/* ---- JSON ---- */

static json_t *place_json(const travel_graph *g, const travel_place *p) {
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", travel_place_id(g, p), "name",
                          travel_place_name(g, p), "kind", travel_place_kind_name(p), "island",
                          travel_place_island_id(g, p), "island_name", g->islands[p->island].name);
    json_object_set_new(o, "lat", json_real(round(p->lat * 1e4) / 1e4));
    json_object_set_new(o, "lon", json_real(round(p->lon * 1e4) / 1e4));
    return o;
}

json_t *travel_route_json(const travel_graph *g, const travel_place *from, const travel_place *to,
                          const travel_route *r) {
    char a[32], b[32];
    json_t *o = json_object();
    json_object_set_new(o, "from", place_json(g, from));
    json_object_set_new(o, "to", place_json(g, to));
    json_object_set_new(o, "depart", json_string(workcal_local_format(r->depart, a, sizeof(a))));
    int reachable = r->arrive != TRAVEL_NEVER;
    json_object_set_new(o, "reachable", json_boolean(reachable));
    json_object_set_new(o, "arrival",
                        reachable ? json_string(workcal_local_format(r->arrive, b, sizeof(b)))
                                  : json_null());
    json_object_set_new(o, "minutes",
                        reachable ? json_integer((r->arrive - r->depart) / 60) : json_null());
    json_t *legs = json_array();
    for (size_t i = 0; i < r->nlegs; i++) {
        const travel_leg *l = &r->legs[i];
        json_t *lj =
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "from", l->from, "to", l->to, "mode",
                      l->mode, "depart", workcal_local_format(l->depart, a, sizeof(a)), "arrive",
                      workcal_local_format(l->arrive, b, sizeof(b)), "minutes",
                      (json_int_t)((l->arrive - l->depart) / 60));
        if (l->line) json_object_set_new(lj, "line", json_string(l->line));
        if (l->via) json_object_set_new(lj, "via", json_string(l->via));
        if (!strcmp(l->mode, "ferry"))
            json_object_set_new(lj, "wait_minutes", json_integer(l->wait_minutes));
        json_array_append_new(legs, lj);
    }
    json_object_set_new(o, "legs", legs);
    return o;
}

/* ---- accessors ---- */

travel_stats travel_graph_stats(const travel_graph *g) {
    travel_stats s = {.islands = g->nislands,
                      .towns = g->ntowns,
                      .villages = g->nvillages,
                      .stations = g->nstations,
                      .ports = g->nports,
                      .links = g->nlinks,
                      .drive_edges = g->ndrive};
    return s;
}

int travel_village_count(const travel_graph *g) {
    return g->nvillages;
}
const travel_village *travel_village_at(const travel_graph *g, int i) {
    return &g->villages[i];
}
int travel_station_count(const travel_graph *g) {
    return g->nstations;
}
const travel_station *travel_station_at(const travel_graph *g, int i) {
    return &g->stations[i];
}
int travel_town_count(const travel_graph *g) {
    return g->ntowns;
}
const char *travel_town_code(const travel_graph *g, int i) {
    return g->towns[i].code;
}
const char *travel_town_name(const travel_graph *g, int i) {
    return g->towns[i].name;
}
const char *travel_island_id(const travel_graph *g, int i) {
    return g->islands[i].id;
}
const char *travel_island_name(const travel_graph *g, int i) {
    return g->islands[i].name;
}
