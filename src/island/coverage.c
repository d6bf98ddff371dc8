/* coverage: the 10-minute service circle (see coverage.h).
 *
 * One travel tree per village (an earliest-arrival search over the ports from
 * the village point at the representative time), then every station offering
 * the service is checked against it; a station on another island is skipped
 * when the earliest arrival at any port of its island already loses, so the
 * whole city (395 villages × 411 stations) takes a few milliseconds.
 *
 * Never writes; never builds SQL (the only database use is catalog_item_get()). */
#include "island/coverage.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/xmalloc.h"
#include "catalog/catalog.h"
#include "island/places.h"
#include "workcal/workcal.h"

#define CODE_MAX       32
#define NAME_MAX_BYTES 64

static const char *const kinds_all[] = {PLACES_KIND_CENTRE, PLACES_KIND_STATION, PLACES_KIND_AGENT};
#define NKINDS 3

typedef struct service_rec {
    char code[CODE_MAX + 1];
    char name[NAME_MAX_BYTES + 1];
    unsigned kinds; /* bit i = kinds_all[i] */
} service_rec;

struct coverage_services {
    service_rec services[COVERAGE_MAX_SERVICES];
    int nservices;
    int default_index;
    json_t *handle_at; /* {place: [kinds]}, validated */
};

static int kind_bit(const char *kind) {
    for (int i = 0; i < NKINDS; i++)
        if (kind && strcmp(kind, kinds_all[i]) == 0) return 1 << i;
    return 0;
}

static int code_ok(const char *s) {
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > CODE_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

/* A list of station kinds → bits; -1 when not an array of known kinds. */
static int kinds_mask(json_t *arr) {
    if (!json_is_array(arr) || json_array_size(arr) == 0) return -1;
    unsigned m = 0;
    size_t i;
    json_t *k;
    json_array_foreach(arr, i, k) {
        int b = kind_bit(json_string_value(k));
        if (!b) return -1;
        m |= (unsigned)b;
    }
    return (int)m;
}

#define BAD(field, ...) err_set(e, 422, "unprocessable", field, __VA_ARGS__)

coverage_services *coverage_services_load(const char *data_dir, err *e) {
    char path[1200];
    snprintf(path, sizeof(path), "%s/island/station_services.json",
             data_dir ? data_dir : travel_data_dir());
    struct stat st;
    if (stat(path, &st) != 0) {
        err_internal(e, "%s: missing", path);
        return NULL;
    }
    if ((size_t)st.st_size > COVERAGE_FILE_MAX) {
        err_set(e, 413, "payload_too_large", "", "%s: larger than %u bytes", path,
                COVERAGE_FILE_MAX);
        return NULL;
    }
    json_error_t je;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!doc) {
        BAD("", "%s line %d: %s", path, je.line, je.text);
        return NULL;
    }
    coverage_services *s = xcalloc(1, sizeof(*s));
    s->default_index = -1;
    json_t *arr = json_object_get(doc, "services");
    if (!json_is_array(arr) || json_array_size(arr) == 0 ||
        json_array_size(arr) > COVERAGE_MAX_SERVICES) {
        BAD("services", "%s: services must be an array of 1–%d services", path,
            COVERAGE_MAX_SERVICES);
        goto fail;
    }
    size_t i;
    json_t *row;
    json_array_foreach(arr, i, row) {
        const char *code = json_string_value(json_object_get(row, "code"));
        const char *name = json_string_value(json_object_get(row, "name"));
        int mask = kinds_mask(json_object_get(row, "kinds"));
        char field[64];
        if (!code_ok(code)) {
            snprintf(field, sizeof(field), "services[%zu].code", i);
            BAD(field, "%s: %s must be 1–%d characters of a-z 0-9 _", path, field, CODE_MAX);
            goto fail;
        }
        if (!name || !*name || strlen(name) > NAME_MAX_BYTES) {
            snprintf(field, sizeof(field), "services[%zu].name", i);
            BAD(field, "%s: %s must be 1–%d bytes", path, field, NAME_MAX_BYTES);
            goto fail;
        }
        if (mask < 0) {
            snprintf(field, sizeof(field), "services[%zu].kinds", i);
            BAD(field, "%s: %s must list station kinds (%s, %s, %s)", path, field, kinds_all[0],
                kinds_all[1], kinds_all[2]);
            goto fail;
        }
        for (int j = 0; j < s->nservices; j++)
            if (!strcmp(s->services[j].code, code)) {
                snprintf(field, sizeof(field), "services[%zu].code", i);
                BAD(field, "%s: %s: service %s appears twice", path, field, code);
                goto fail;
            }
        service_rec *r = &s->services[s->nservices++];
        snprintf(r->code, sizeof(r->code), "%s", code);
        snprintf(r->name, sizeof(r->name), "%s", name);
        r->kinds = (unsigned)mask;
    }
    const char *def = json_string_value(json_object_get(doc, "default"));
    for (int j = 0; def && j < s->nservices; j++)
        if (!strcmp(s->services[j].code, def)) s->default_index = j;
    if (s->default_index < 0) {
        BAD("default", "%s: default must name one of the services", path);
        goto fail;
    }
    json_t *ha = json_object_get(doc, "handle_at");
    if (ha && !json_is_object(ha)) {
        BAD("handle_at", "%s: handle_at must be an object of place → kinds", path);
        goto fail;
    }
    const char *place;
    json_t *kinds;
    json_object_foreach(ha, place, kinds) {
        if (kinds_mask(kinds) < 0) {
            BAD("handle_at", "%s: handle_at.%s must list station kinds", path, place);
            goto fail;
        }
    }
    s->handle_at = ha ? json_incref(ha) : json_object();
    json_decref(doc);
    return s;
fail:
    json_decref(doc);
    free(s);
    return NULL;
}

void coverage_services_free(coverage_services *s) {
    if (!s) return;
    json_decref(s->handle_at);
    free(s);
}

static pthread_mutex_t default_lock = PTHREAD_MUTEX_INITIALIZER;
static coverage_services *default_services;

const coverage_services *coverage_services_default(err *e) {
    pthread_mutex_lock(&default_lock);
    if (!default_services) default_services = coverage_services_load(NULL, e);
    const coverage_services *s = default_services;
    pthread_mutex_unlock(&default_lock);
    return s;
}

void coverage_services_default_reset(void) {
    pthread_mutex_lock(&default_lock);
    coverage_services_free(default_services);
    default_services = NULL;
    pthread_mutex_unlock(&default_lock);
}

static json_t *kinds_json(unsigned mask) {
    json_t *a = json_array();
    for (int i = 0; i < NKINDS; i++)
        if (mask & (1u << i)) json_array_append_new(a, json_string(kinds_all[i]));
    return a;
}

json_t *coverage_services_json(const coverage_services *s) {
    json_t *arr = json_array();
    for (int i = 0; i < s->nservices; i++)
        json_array_append_new(arr, json_pack("{s:s, s:s, s:o}", "code", s->services[i].code, "name",
                                             s->services[i].name, "kinds",
                                             kinds_json(s->services[i].kinds)));
    return json_pack("{s:s, s:o}", "default", s->services[s->default_index].code, "services", arr);
}

double coverage_spread_minutes(int64_t population) {
    if (population <= 0) return 0;
    double radius_km = sqrt((double)population / (M_PI * COVERAGE_DENSITY_PER_KM2));
    double km = 2.0 / 3.0 * radius_km * TRAVEL_ROAD_FACTOR;
    return km / TRAVEL_DRIVE_KMH * 60.0;
}

/* The service asked for: its code, name and kinds, and whether it is a catalog item. */
typedef struct chosen {
    char code[64];
    char name[256];
    unsigned kinds;
    int item;
} chosen;

static int choose_service(db *d, const coverage_services *s, const char *code, chosen *out,
                          err *e) {
    memset(out, 0, sizeof(*out));
    if (!code || !*code) code = s->services[s->default_index].code;
    for (int i = 0; i < s->nservices; i++)
        if (!strcmp(s->services[i].code, code)) {
            snprintf(out->code, sizeof(out->code), "%s", s->services[i].code);
            snprintf(out->name, sizeof(out->name), "%s", s->services[i].name);
            out->kinds = s->services[i].kinds;
            return 0;
        }
    if (!d || !catalog_code_valid(code)) {
        char list[512] = "";
        size_t n = 0;
        for (int i = 0; i < s->nservices && n < sizeof(list); i++)
            n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "",
                                  s->services[i].code);
        return err_invalid(e, "service",
                           "service 须为以下之一：%s，或事项编码（如 330900-GA-100001）", list);
    }
    json_t *item = catalog_item_get(d, code, e);
    if (!item) {
        if (e && e->status == 404) snprintf(e->field, sizeof(e->field), "service");
        return -1;
    }
    snprintf(out->code, sizeof(out->code), "%s", code);
    const char *item_name = json_string_value(json_object_get(item, "name"));
    snprintf(out->name, sizeof(out->name), "%s", item_name ? item_name : code);
    out->item = 1;
    size_t i;
    json_t *place;
    json_array_foreach(json_object_get(item, "handle_at"), i, place) {
        const char *where = json_string_value(place);
        json_t *kinds = where ? json_object_get(s->handle_at, where) : NULL;
        int m = kinds ? kinds_mask(kinds) : -1;
        if (m > 0) out->kinds |= (unsigned)m;
    }
    json_decref(item);
    if (!out->kinds)
        return err_set(e, 422, "unprocessable", "service",
                       "事项 %s 不在便民服务中心、服务站或代办点办理，没有服务圈可言", code);
    return 0;
}

static int parse_at(const char *at, int64_t *out, err *e) {
    if (!at || !*at) at = COVERAGE_DEFAULT_AT;
    char buf[40];
    if (strlen(at) == 5 && at[2] == ':') { /* HH:MM on the representative day */
        snprintf(buf, sizeof(buf), "%.10s %s", COVERAGE_DEFAULT_AT, at);
        at = buf;
    }
    if (workcal_local_parse(at, out) != 0)
        return err_invalid(e, "at", "at 须为 HH:MM 或 YYYY-MM-DD HH:MM（北京时间）");
    int64_t sec = ((*out % 60) + 60) % 60;
    if (sec) *out += 60 - sec; /* whole minutes, as travel counts them */
    return 0;
}

/* One village's result. */
typedef struct village_result {
    int minutes; /* -1 when nothing can be reached */
    int station; /* index, -1 when none */
} village_result;

static int cmp_outside(const village_result *x, const village_result *y) {
    int mx = x->minutes < 0 ? -1 : x->minutes, my = y->minutes < 0 ? -1 : y->minutes;
    if (mx == my) return 0;
    if (mx < 0) return 1; /* unreachable last */
    if (my < 0) return -1;
    return my - mx; /* slowest first */
}

/* The offering stations grouped by island (CSR over island indexes). */
typedef struct offer_index {
    int nislands;
    int *off;             /* nislands + 1 */
    travel_place *places; /* grouped by island */
    int *station;         /* station index of each place */
} offer_index;

static void offer_index_build(offer_index *x, const travel_graph *g, const travel_place *places,
                              const int *station, int n) {
    x->nislands = travel_graph_stats(g).islands;
    x->off = xcalloc((size_t)x->nislands + 2, sizeof(int));
    x->places = xcalloc((size_t)n + 1, sizeof(travel_place));
    x->station = xcalloc((size_t)n + 1, sizeof(int));
    for (int k = 0; k < n; k++)
        x->off[places[k].island + 1]++;
    for (int i = 0; i < x->nislands; i++)
        x->off[i + 1] += x->off[i];
    int *next = xcalloc((size_t)x->nislands + 1, sizeof(int));
    for (int k = 0; k < n; k++) {
        int at = x->off[places[k].island] + next[places[k].island]++;
        x->places[at] = places[k];
        x->station[at] = station[k];
    }
    free(next);
}

static void offer_index_free(offer_index *x) {
    free(x->off);
    free(x->places);
    free(x->station);
}

/* The earliest arrival at an offering station for the tree's last run (from `from`),
 * *station = its index. Same island first: by road the winner is among the stations
 * nearly as close as the nearest by a cheap planar distance (drive minutes grow with
 * distance; the 1 % slack covers the planar approximation), and every station is
 * checked only when a port route could still win. Then the other islands, each
 * skipped when its earliest port arrival already loses. */
static int64_t nearest(const travel_tree *tree, const travel_place *from, const offer_index *x,
                       int *station) {
    int64_t best = TRAVEL_NEVER;
    *station = -1;
    int lo = x->off[from->island], hi = x->off[from->island + 1];
    double coslat = cos(from->lat * M_PI / 180.0), dmin = INFINITY;
    for (int k = lo; k < hi; k++) {
        double dy = x->places[k].lat - from->lat, dx = (x->places[k].lon - from->lon) * coslat;
        double d2 = dx * dx + dy * dy;
        if (d2 < dmin) dmin = d2;
    }
    int all = hi > lo && travel_tree_island_earliest(tree, from->island) != TRAVEL_NEVER;
    for (int pass = 0; pass < 1 + all; pass++) {
        if (pass == 1 && travel_tree_island_earliest(tree, from->island) >= best) break;
        for (int k = lo; k < hi; k++) {
            double dy = x->places[k].lat - from->lat, dx = (x->places[k].lon - from->lon) * coslat;
            if (pass == 0 && dx * dx + dy * dy > dmin * 1.0201 + 1e-12) continue;
            int64_t t = travel_tree_arrival(tree, &x->places[k]);
            if (t < best) best = t, *station = x->station[k];
        }
    }
    for (int i = 0; i < x->nislands; i++) {
        if (i == from->island || x->off[i] == x->off[i + 1]) continue;
        if (travel_tree_island_earliest(tree, i) >= best) continue;
        for (int k = x->off[i]; k < x->off[i + 1]; k++) {
            int64_t t = travel_tree_arrival(tree, &x->places[k]);
            if (t < best) best = t, *station = x->station[k];
        }
    }
    return best;
}

typedef struct town_sum {
    int64_t villages, within, population, population_within;
    int max_minutes; /* -1 = some village unreachable */
    int seen;
} town_sum;

static double share(int64_t part, int64_t whole) {
    if (whole <= 0) return 1.0;
    return round((double)part / (double)whole * 10000.0) / 10000.0;
}

json_t *coverage_compute(db *d, const travel_graph *g, const coverage_services *s,
                         const coverage_query *q, err *e) {
    coverage_query none = {0};
    if (!q) q = &none;
    chosen svc;
    if (choose_service(d, s, q->service, &svc, e) != 0) return NULL;
    int town_filter = -1;
    if (q->town_code) {
        if (!places_town_code_valid(q->town_code)) {
            err_invalid(e, "town", "town 须为 9 位乡镇代码");
            return NULL;
        }
        town_filter = travel_town_find(g, q->town_code);
        if (town_filter < 0) {
            err_set(e, 404, "not_found", "town", "没有乡镇 %s", q->town_code);
            return NULL;
        }
    }
    int64_t depart;
    if (parse_at(q->at, &depart, e) != 0) return NULL;

    int nst = travel_station_count(g), nv = travel_village_count(g), nt = travel_town_count(g);
    int *offering = xcalloc((size_t)nst + 1, sizeof(int));
    travel_place *st_place = xcalloc((size_t)nst + 1, sizeof(travel_place));
    int noffer = 0;
    for (int i = 0; i < nst; i++) {
        const travel_station *st = travel_station_at(g, i);
        if (!(svc.kinds & (unsigned)kind_bit(st->kind))) continue;
        travel_place_station(g, st->id, &st_place[noffer]);
        offering[noffer++] = i;
    }

    offer_index by;
    offer_index_build(&by, g, st_place, offering, noffer);
    village_result *res = xcalloc((size_t)nv + 1, sizeof(*res));
    int *order = xcalloc((size_t)nv + 1, sizeof(int));
    town_sum *towns = xcalloc((size_t)nt + 1, sizeof(*towns));
    travel_tree *tree = travel_tree_new(g);
    int64_t pop = 0, pop_within = 0, vil = 0, vil_within = 0;
    int nout = 0;
    for (int v = 0; v < nv; v++) {
        const travel_village *vi = travel_village_at(g, v);
        if (town_filter >= 0 && vi->town != town_filter) {
            res[v].minutes = -2; /* not asked for */
            continue;
        }
        travel_place from;
        travel_place_village(g, vi->code, &from);
        travel_tree_run(tree, &from, depart);
        int best_station = -1;
        int64_t best = nearest(tree, &from, &by, &best_station);
        int minutes = -1;
        if (best != TRAVEL_NEVER)
            minutes = (int)((best - depart) / 60) +
                      (int)ceil(coverage_spread_minutes(vi->population) - 1e-9);
        res[v].minutes = minutes;
        res[v].station = best_station;
        int within = minutes >= 0 && minutes <= COVERAGE_THRESHOLD_MINUTES;
        vil++;
        pop += vi->population;
        if (within) {
            vil_within++;
            pop_within += vi->population;
        } else {
            order[nout++] = v;
        }
        if (vi->town >= 0) {
            town_sum *ts = &towns[vi->town];
            if (!ts->seen) ts->max_minutes = 0;
            ts->seen = 1;
            ts->villages++;
            ts->population += vi->population;
            if (within) {
                ts->within++;
                ts->population_within += vi->population;
            }
            if (minutes < 0)
                ts->max_minutes = -1;
            else if (ts->max_minutes >= 0 && minutes > ts->max_minutes)
                ts->max_minutes = minutes;
        }
    }
    travel_tree_free(tree);

    /* villages_outside, slowest first (unreachable last), then by code. */
    village_result *outside = xcalloc((size_t)nout + 1, sizeof(*outside));
    for (int i = 0; i < nout; i++)
        outside[i] = res[order[i]];
    /* Sort indexes by their results: a stable insertion sort keeps code order on ties. */
    for (int i = 1; i < nout; i++) {
        int idx = order[i];
        village_result r = outside[i];
        int j = i - 1;
        while (j >= 0 && cmp_outside(&outside[j], &r) > 0) {
            outside[j + 1] = outside[j];
            order[j + 1] = order[j];
            j--;
        }
        outside[j + 1] = r;
        order[j + 1] = idx;
    }
    json_t *out_arr = json_array();
    for (int i = 0; i < nout; i++) {
        const travel_village *vi = travel_village_at(g, order[i]);
        const village_result *r = &outside[i];
        const travel_station *st = r->station >= 0 ? travel_station_at(g, r->station) : NULL;
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "code", vi->code, "name", vi->name,
                              "town", vi->town >= 0 ? travel_town_name(g, vi->town) : "",
                              "town_code", vi->town_code, "island", travel_island_id(g, vi->island),
                              "island_name", travel_island_name(g, vi->island));
        json_object_set_new(o, "population", json_integer(vi->population));
        json_object_set_new(o, "minutes", r->minutes >= 0 ? json_integer(r->minutes) : json_null());
        json_object_set_new(o, "station", st ? json_string(st->id) : json_null());
        json_object_set_new(o, "station_name", st ? json_string(st->name) : json_null());
        json_array_append_new(out_arr, o);
    }
    json_t *town_arr = json_array();
    for (int t = 0; t < nt; t++) {
        const town_sum *ts = &towns[t];
        if (!ts->seen) continue;
        json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:f}", "code", travel_town_code(g, t),
                              "name", travel_town_name(g, t), "villages", (json_int_t)ts->villages,
                              "villages_within", (json_int_t)ts->within, "population",
                              (json_int_t)ts->population, "population_within",
                              (json_int_t)ts->population_within, "share_within_10min",
                              share(ts->population_within, ts->population));
        json_object_set_new(o, "max_minutes",
                            ts->max_minutes >= 0 ? json_integer(ts->max_minutes) : json_null());
        json_array_append_new(town_arr, o);
    }
    char at_buf[32];
    json_t *result = json_object();
    json_object_set_new(result, "service",
                        json_pack("{s:s, s:s, s:o, s:b}", "code", svc.code, "name", svc.name,
                                  "kinds", kinds_json(svc.kinds), "item", svc.item));
    json_object_set_new(result, "town", q->town_code ? json_string(q->town_code) : json_null());
    json_object_set_new(result, "depart",
                        json_string(workcal_local_format(depart, at_buf, sizeof(at_buf))));
    json_object_set_new(result, "threshold_minutes", json_integer(COVERAGE_THRESHOLD_MINUTES));
    json_object_set_new(result, "stations", json_integer(noffer));
    json_object_set_new(result, "villages", json_integer(vil));
    json_object_set_new(result, "villages_within", json_integer(vil_within));
    json_object_set_new(result, "population", json_integer(pop));
    json_object_set_new(result, "population_within", json_integer(pop_within));
    json_object_set_new(result, "share_within_10min", json_real(share(pop_within, pop)));
    json_object_set_new(result, "towns", town_arr);
    json_object_set_new(result, "villages_outside", out_arr);
    offer_index_free(&by);
    free(outside);
    free(order);
    free(towns);
    free(res);
    free(offering);
    free(st_place);
    return result;
}
