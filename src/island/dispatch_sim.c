/* dispatch_sim: `isle dispatch simulate` — a synthetic day of assisted requests
 * served twice, by isle's dispatcher and by the nearest-agent-by-straight-line
 * baseline, with the same agents and the same requests; and the synthetic roster
 * and backlog of the benchmark (`isle dispatch bench --generate`).
 *
 * The day: `requests` requests at minutes drawn from an office-hours profile (most
 * between 08:00 and 17:30, a few in the lunch break and the evening), from villages
 * by population, for catalog items weighted by how likely a resident asks for help
 * with them (items handled by 帮办代办 ×3, at a town or village station ×2,
 * popularity), 5 % naming no item, 10 % urgent.
 *
 * The agents: the database's (its open tasks and positions forgotten: a fresh day,
 * everyone at the home station), or — with no agents in the database — a roster of
 * SIM_AGENTS made here the way the demo spreads its roster: every station at least
 * one, the rest by the population of the station's village; 专职 (capacity 8, office
 * hours, every skill) at the town service centres, 兼职 (capacity 3, office hours or
 * a half day, some departments) at the village stations and 代办点.
 *
 * The event model: requests arrive in time order. A dispatcher picks an agent (isle:
 * dsp_rank() with what the database would show — open tasks, served today, the
 * position reported at the last finished task; the baseline: the skilled agent whose
 * home station is nearest the village in a straight line — one on shift at that moment
 * when there is one — whatever their load or the water between). The agent serves its
 * tasks in order: it sets off when free and within working hours, travels by the graph
 * (timetables, boarding, no waiting overnight at a pier: dsp_trip), works the item's
 * service minutes (20–40), and is then at the village. A remote task starts when the
 * agent is free and in hours and takes the same minutes. Time-to-serve = arrival
 * (remote: start) − request time. isle never exceeds capacity: a request nobody can take
 * waits and is offered again whenever an agent finishes a task. Utilisation = travel +
 * service minutes / the agents' scheduled minutes of the day.
 *
 * Never writes, except dsp_bench_seed() (explicitly for benchmark databases). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "base/xmalloc.h"
#include "catalog/catalog.h"
#include "island/dispatch.h"
#include "island/dispatch_internal.h"

#define SIM_AGENTS       1470
#define SIM_MAX_REQUESTS 200000
#define SIM_NO_ITEM      0.05
#define SIM_URGENT       0.10
#define FULL_HOURS       "08:30-12:00,13:30-17:30"

/* ---- randomness (splitmix64, as the demo) ---- */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r) {
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double U(rng *r) {
    return (double)(rng_next(r) >> 11) / 9007199254740992.0;
}

static int pick_cdf(rng *r, const double *cdf, int n) {
    double x = U(r) * cdf[n - 1];
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (cdf[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* ---- the catalog ---- */

typedef struct item_list {
    dsp_item *items;
    int n, cap;
} item_list;

static int has_place(json_t *item, const char *place) {
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(item, "handle_at"), i, v) {
        const char *s = json_string_value(v);
        if (s && strstr(s, place)) return 1;
    }
    return 0;
}

static int collect_item(void *ctx, json_t *item) {
    item_list *l = ctx;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 512;
        l->items = xrealloc(l->items, (size_t)l->cap * sizeof(dsp_item));
    }
    dsp_item *it = &l->items[l->n++];
    dsp_item_from_json(item, it);
    double w = 1.0 + (double)json_integer_value(json_object_get(item, "popularity"));
    if (has_place(item, "帮办代办")) w *= 3.0;
    if (has_place(item, "便民服务")) w *= 2.0;
    it->weight = w;
    return 0;
}

int dsp_sim_items(db *d, dsp_item **out, int *n, err *e) {
    item_list l = {0};
    if (catalog_for_each(d, collect_item, &l, e) != 0) {
        free(l.items);
        return -1;
    }
    *out = l.items;
    *n = l.n;
    return 0;
}

/* ---- the synthetic roster ---- */

static const char *const surnames[] = {"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周",
                                       "徐", "孙", "胡", "朱", "高", "林", "何", "郭", "马", "金",
                                       "虞", "邬", "乐", "贺", "应", "毛", "翁", "鲍", "竺", "忻"};
static const char *const given[] = {"磊",   "芳",   "伟",   "静",   "勇",   "丽",   "军",
                                    "敏",   "强",   "燕",   "海波", "雪梅", "建华", "晓东",
                                    "海燕", "志刚", "丹丹", "文杰", "佳怡", "国平", "亚萍",
                                    "立新", "春燕", "建国", "美玲", "浩"};
#define NSURNAMES (int)(sizeof(surnames) / sizeof(surnames[0]))
#define NGIVEN    (int)(sizeof(given) / sizeof(given[0]))

/* Departments weighted by their items' weights, for part-time skills. */
typedef struct dept_w {
    const char *name;
    double w;
} dept_w;

static int dept_cmp(const void *x, const void *y) {
    const dept_w *a = x, *b = y;
    return a->w < b->w ? 1 : a->w > b->w ? -1 : strcmp(a->name, b->name);
}

static int departments_of(const dsp_item *items, int nitems, dept_w **out) {
    dept_w *d = xcalloc((size_t)(nitems ? nitems : 1), sizeof(*d));
    int n = 0;
    for (int i = 0; i < nitems; i++) {
        int k = 0;
        while (k < n && strcmp(d[k].name, items[i].department) != 0)
            k++;
        if (k == n) d[n++].name = items[i].department;
        d[k].w += items[i].weight;
    }
    qsort(d, (size_t)n, sizeof(*d), dept_cmp);
    *out = d;
    return n;
}

int dsp_sim_roster(const travel_graph *g, const dsp_item *items, int nitems, int nagents,
                   uint64_t seed, dsp_sim_agent_spec **out, int *n) {
    int ns = travel_station_count(g);
    if (ns == 0 || nagents < 1) {
        *out = NULL;
        *n = 0;
        return -1;
    }
    if (nagents < ns) nagents = ns;
    /* Weight of a station: its village's population shared among the village's
     * stations; a town centre counts twice (it serves the whole town). */
    double *w = xcalloc((size_t)ns, sizeof(double));
    int *per = xcalloc((size_t)ns, sizeof(int));
    double total = 0;
    for (int i = 0; i < ns; i++) {
        const travel_station *st = travel_station_at(g, i);
        travel_place vp;
        int same = 0;
        for (int j = 0; j < ns; j++)
            if (!strcmp(travel_station_at(g, j)->village_code, st->village_code)) same++;
        double pop = 1000;
        if (travel_place_village(g, st->village_code, &vp) == 0)
            pop = (double)travel_village_at(g, vp.index)->population;
        w[i] = pop / (same ? same : 1) * (!strcmp(st->kind, "服务中心") ? 2.0 : 1.0);
        total += w[i];
    }
    /* Every station one agent; the rest by largest remainder. */
    int rest = nagents - ns, given_n = 0;
    double *frac = xcalloc((size_t)ns, sizeof(double));
    for (int i = 0; i < ns; i++) {
        double share = total > 0 ? rest * w[i] / total : 0;
        per[i] = 1 + (int)floor(share);
        frac[i] = share - floor(share);
        given_n += per[i];
    }
    while (given_n < nagents) {
        int best = 0;
        for (int i = 1; i < ns; i++)
            if (frac[i] > frac[best]) best = i;
        per[best]++;
        frac[best] = -1;
        given_n++;
    }
    dept_w *depts;
    int nd = departments_of(items, nitems, &depts);
    double *dcdf = xcalloc((size_t)(nd ? nd : 1), sizeof(double));
    for (int i = 0; i < nd; i++)
        dcdf[i] = (i ? dcdf[i - 1] : 0) + depts[i].w;
    rng r = {seed ^ 0xA6E57D15u};
    dsp_sim_agent_spec *a = xcalloc((size_t)nagents, sizeof(*a));
    int k = 0;
    for (int i = 0; i < ns; i++) {
        const travel_station *st = travel_station_at(g, i);
        int centre = !strcmp(st->kind, "服务中心");
        for (int j = 0; j < per[i] && k < nagents; j++, k++) {
            dsp_sim_agent_spec *s = &a[k];
            snprintf(s->name, sizeof(s->name), "%s%s", surnames[rng_next(&r) % NSURNAMES],
                     given[rng_next(&r) % NGIVEN]);
            snprintf(s->station_id, sizeof(s->station_id), "%s", st->id);
            snprintf(s->island_id, sizeof(s->island_id), "%s", travel_island_id(g, st->island));
            snprintf(s->town_code, sizeof(s->town_code), "%s", st->town_code);
            s->full_time = centre;
            s->capacity = centre ? 8 : 3;
            double u = U(&r);
            snprintf(s->hours, sizeof(s->hours), "%s",
                     centre || u < 0.6 ? FULL_HOURS
                     : u < 0.8         ? "08:00-12:00"
                                       : "14:00-18:00");
            if (centre || U(&r) < 0.35 || nd == 0) {
                snprintf(s->skills, sizeof(s->skills), "{\"all\":true}");
            } else {
                /* Six departments, most asked-for first by weight. */
                int chosen[6], nc = 0;
                for (int tries = 0; tries < 60 && nc < 6; tries++) {
                    int x = pick_cdf(&r, dcdf, nd), dup = 0;
                    for (int q = 0; q < nc; q++)
                        dup |= chosen[q] == x;
                    if (!dup) chosen[nc++] = x;
                }
                size_t len = (size_t)snprintf(s->skills, sizeof(s->skills), "{\"departments\":[");
                for (int q = 0; q < nc && len < sizeof(s->skills); q++)
                    len += (size_t)snprintf(s->skills + len, sizeof(s->skills) - len, "%s\"%s\"",
                                            q ? "," : "", depts[chosen[q]].name);
                if (len < sizeof(s->skills))
                    snprintf(s->skills + len, sizeof(s->skills) - len, "]}");
            }
        }
    }
    free(w);
    free(per);
    free(frac);
    free(depts);
    free(dcdf);
    *out = a;
    *n = k;
    return 0;
}

/* Agents of a roster, as dispatch sees them. */
static void fleet_from_roster(const travel_graph *g, const dsp_sim_agent_spec *specs, int n,
                              dsp_fleet *f) {
    memset(f, 0, sizeof(*f));
    f->agents = xcalloc((size_t)(n ? n : 1), sizeof(dsp_agent));
    f->skills = dsp_skills_hold();
    for (int i = 0; i < n; i++) {
        dsp_agent *a = &f->agents[f->n];
        memset(a, 0, sizeof(*a));
        if (travel_place_station(g, specs[i].station_id, &a->home) != 0) continue;
        a->id = i + 1;
        snprintf(a->name, sizeof(a->name), "%s", specs[i].name);
        snprintf(a->town_code, sizeof(a->town_code), "%s", specs[i].town_code);
        snprintf(a->village_code, sizeof(a->village_code), "%s",
                 travel_station_at(g, a->home.index)->village_code);
        a->origin = a->home;
        a->at_home = 1;
        a->skills = dsp_skills_get(f->skills, specs[i].skills, strlen(specs[i].skills));
        err e = {0};
        a->hours_ok = workcal_schedule_parse(specs[i].hours, &a->hours, &e) == 0;
        a->capacity = specs[i].capacity;
        f->n++;
    }
}

/* ---- the day ---- */

typedef dsp_sim_request_spec sim_req;

static int req_cmp(const void *x, const void *y) {
    const sim_req *a = x, *b = y;
    return a->at < b->at ? -1 : a->at > b->at;
}

/* Minute of the day from the office-hours profile. */
static int sim_minute(rng *r) {
    double u = U(r), v = U(r);
    if (u < 0.45) return 8 * 60 + (int)(v * 210);       /* 08:00–11:30 */
    if (u < 0.90) return 13 * 60 + 30 + (int)(v * 240); /* 13:30–17:30 */
    if (u < 0.96) return 11 * 60 + 30 + (int)(v * 120); /* 11:30–13:30 */
    return 17 * 60 + 30 + (int)(v * 150);               /* 17:30–20:00 */
}

int dsp_sim_requests(const travel_graph *g, const dsp_item *items, int nitems, workcal_date day,
                     int n, uint64_t seed, dsp_sim_request_spec *out) {
    int nv = travel_village_count(g);
    if (nv == 0) return -1;
    double *vcdf = xcalloc((size_t)nv, sizeof(double));
    for (int i = 0; i < nv; i++)
        vcdf[i] = (i ? vcdf[i - 1] : 0) + (double)travel_village_at(g, i)->population + 1.0;
    double *icdf = xcalloc((size_t)(nitems ? nitems : 1), sizeof(double));
    for (int i = 0; i < nitems; i++)
        icdf[i] = (i ? icdf[i - 1] : 0) + items[i].weight;
    rng r = {seed};
    for (int i = 0; i < n; i++) {
        out[i].at = workcal_local_instant(day, sim_minute(&r)) + (int64_t)(rng_next(&r) % 60);
        out[i].village = pick_cdf(&r, vcdf, nv);
        out[i].item = nitems && U(&r) >= SIM_NO_ITEM ? pick_cdf(&r, icdf, nitems) : -1;
        out[i].urgent = U(&r) < SIM_URGENT;
    }
    free(vcdf);
    free(icdf);
    return 0;
}

/* ---- the event simulation ---- */

typedef struct task_end {
    int64_t end;
    int agent;
    int in_person;
    travel_place place;
} task_end;

typedef struct sim_state {
    const dsp_world *w;
    const dsp_fleet *fleet;
    dsp_agent *view; /* what the dispatcher sees */
    int64_t *free_at;
    travel_place *pos; /* where each agent is after its last assigned task */
    double *busy;
    double travel; /* minutes on the road or the water, all agents */
    task_end *heap;
    int nheap, heap_cap;
    int *queue, nqueue;
    double *tts; /* minutes, per request; -1 unserved */
    int *remote, *queued;
    int64_t *serve_at;
} sim_state;

static void heap_push(sim_state *s, task_end t) {
    if (s->nheap == s->heap_cap) {
        s->heap_cap = s->heap_cap ? 2 * s->heap_cap : 1024;
        s->heap = xrealloc(s->heap, (size_t)s->heap_cap * sizeof(task_end));
    }
    int i = s->nheap++;
    while (i > 0 && s->heap[(i - 1) / 2].end > t.end) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = t;
}

static task_end heap_pop(sim_state *s) {
    task_end top = s->heap[0], last = s->heap[--s->nheap];
    int i = 0;
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        int64_t mk = last.end;
        if (l < s->nheap && s->heap[l].end < mk) {
            m = l;
            mk = s->heap[l].end;
        }
        if (r < s->nheap && s->heap[r].end < mk) m = r;
        if (m == i) break;
        s->heap[i] = s->heap[m];
        i = m;
    }
    if (s->nheap > 0) s->heap[i] = last;
    return top;
}

typedef struct sim_ctx {
    const dsp_world *w;
    const dsp_fleet *fleet;
    const dsp_item *items;
    const sim_req *reqs;
    dsp_request *dreqs;
    int n;
} sim_ctx;

/* The agent serves request i from now on (after its earlier tasks). */
static void sim_assign(const sim_ctx *c, sim_state *s, int agent, int i, int64_t now, int remote) {
    const dsp_request *r = &c->dreqs[i];
    const dsp_agent *a = &c->fleet->agents[agent];
    int service = r->item ? r->item->service_minutes : 30;
    int64_t start = now > s->free_at[agent] ? now : s->free_at[agent];
    int64_t serve, end;
    if (remote) {
        serve = dsp_work_start(c->w->cal, &a->hours, start, NULL, NULL);
        if (serve == WORKCAL_NEVER) return;
        end = serve + (int64_t)service * 60;
        s->busy[agent] += service;
    } else {
        int64_t dep, arr;
        if (dsp_trip(c->w, &a->hours, &s->pos[agent], &r->place, start, &dep, &arr) != 0) return;
        serve = arr;
        end = arr + (int64_t)service * 60;
        s->busy[agent] += (double)(arr - dep) / 60.0 + service;
        s->travel += (double)(arr - dep) / 60.0;
        s->pos[agent] = r->place;
    }
    s->free_at[agent] = end;
    s->serve_at[i] = serve;
    s->tts[i] = (double)(serve - c->reqs[i].at) / 60.0;
    s->remote[i] = remote;
    s->view[agent].open_tasks++;
    heap_push(s, (task_end){end, agent, !remote, r->place});
}

/* isle: the best agent by dsp_rank() on the dispatcher's view; 0 when placed. */
static int sim_isle(const sim_ctx *c, sim_state *s, int i, int64_t now) {
    dsp_cand best;
    if (dsp_rank(c->w, &c->dreqs[i], s->view, c->fleet->n, now, NULL, 0, &best, 1, NULL) == 0)
        return -1;
    sim_assign(c, s, best.agent, i, now, best.remote);
    return 0;
}

/* The baseline: the skilled agent whose home station is nearest in a straight line
 * (any load; agents on islands no scheduled boat reaches at all are skipped, or the
 * request could never be served). */
static double haversine_km(double lat1, double lon1, double lat2, double lon2) {
    const double rad = 3.14159265358979323846 / 180.0;
    double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    double h = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
    return 2 * 6371.0 * asin(sqrt(h));
}

static int sim_baseline(const sim_ctx *c, sim_state *s, int i, int64_t now, int online) {
    const dsp_request *r = &c->dreqs[i];
    int best = -1, best_on_shift = -1;
    double bd = 0, bds = 0;
    for (int k = 0; k < c->fleet->n; k++) {
        const dsp_agent *a = &c->fleet->agents[k];
        if (!a->hours_ok || !dsp_skills_match(a->skills, r->item)) continue;
        if (c->w->lb[a->home.island * c->w->nislands + r->place.island] >= DSP_LB_NONE) continue;
        double dkm = haversine_km(a->home.lat, a->home.lon, r->place.lat, r->place.lon);
        if (best < 0 || dkm < bd) {
            best = k;
            bd = dkm;
        }
        /* Who is working right now (a dispatcher on the phone knows the shifts). */
        if ((best_on_shift < 0 || dkm < bds) &&
            dsp_work_start(c->w->cal, &a->hours, now, NULL, NULL) == now) {
            best_on_shift = k;
            bds = dkm;
        }
    }
    if (best_on_shift >= 0) best = best_on_shift;
    if (best < 0) return -1;
    sim_assign(c, s, best, i, now, online && r->item && r->item->remote);
    return 0;
}

/* A task ends: the agent has room again and reports where it is; isle offers the
 * waiting requests again. */
static void sim_finish(const sim_ctx *c, sim_state *s, task_end t, int isle) {
    dsp_agent *v = &s->view[t.agent];
    v->open_tasks--;
    v->served_today++;
    if (t.in_person) {
        v->origin = t.place;
        v->at_home = 0;
    }
    if (!isle) return;
    int k = 0;
    for (int q = 0; q < s->nqueue; q++) {
        int i = s->queue[q];
        if (v->open_tasks < v->capacity && dsp_skills_match(v->skills, c->dreqs[i].item) &&
            sim_isle(c, s, i, t.end) == 0)
            continue; /* placed */
        s->queue[k++] = i;
    }
    s->nqueue = k;
}

static int dbl_cmp(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* kind: 1 isle, 0 the baseline, 2 the baseline with the online channel. */
static void sim_run(const sim_ctx *c, int kind, workcal_date day, dispatch_sim_side *out) {
    int isle = kind == 1;
    int na = c->fleet->n, n = c->n;
    sim_state s = {0};
    s.view = xcalloc((size_t)(na ? na : 1), sizeof(dsp_agent));
    memcpy(s.view, c->fleet->agents, (size_t)na * sizeof(dsp_agent));
    s.free_at = xcalloc((size_t)(na ? na : 1), sizeof(int64_t));
    s.pos = xcalloc((size_t)(na ? na : 1), sizeof(travel_place));
    s.busy = xcalloc((size_t)(na ? na : 1), sizeof(double));
    for (int a = 0; a < na; a++)
        s.pos[a] = c->fleet->agents[a].home;
    s.queue = xmalloc((size_t)(n ? n : 1) * sizeof(int));
    s.tts = xmalloc((size_t)(n ? n : 1) * sizeof(double));
    s.remote = xcalloc((size_t)(n ? n : 1), sizeof(int));
    s.queued = xcalloc((size_t)(n ? n : 1), sizeof(int));
    s.serve_at = xcalloc((size_t)(n ? n : 1), sizeof(int64_t));
    for (int i = 0; i < n; i++)
        s.tts[i] = -1;
    for (int i = 0; i < n; i++) {
        int64_t now = c->reqs[i].at;
        while (s.nheap > 0 && s.heap[0].end <= now)
            sim_finish(c, &s, heap_pop(&s), isle);
        int placed = isle ? sim_isle(c, &s, i, now) : sim_baseline(c, &s, i, now, kind == 2);
        if (placed != 0 && isle) {
            s.queue[s.nqueue++] = i;
            s.queued[i] = 1;
        }
    }
    while (s.nheap > 0 && s.nqueue > 0)
        sim_finish(c, &s, heap_pop(&s), isle);
    /* Figures. */
    memset(out, 0, sizeof(*out));
    double *v = xmalloc((size_t)(n ? n : 1) * sizeof(double));
    int m = 0;
    double sum = 0, sum_ip = 0;
    int64_t day_end = workcal_local_instant(day, 24 * 60);
    for (int i = 0; i < n; i++) {
        if (s.queued[i]) out->queued++;
        if (s.tts[i] < 0) continue;
        v[m++] = s.tts[i];
        sum += s.tts[i];
        if (s.remote[i]) {
            out->remote++;
        } else {
            out->in_person++;
            sum_ip += s.tts[i];
        }
        if (s.serve_at[i] >= day_end) out->next_day++;
    }
    out->served = m;
    if (m > 0) {
        qsort(v, (size_t)m, sizeof(double), dbl_cmp);
        out->mean_minutes = sum / m;
        int k = (int)ceil(0.95 * m) - 1;
        out->p95_minutes = v[k < 0 ? 0 : k];
    }
    if (out->in_person > 0) out->in_person_mean_minutes = sum_ip / out->in_person;
    double busy = 0, sched = 0;
    for (int a = 0; a < na; a++) {
        const dsp_agent *ag = &c->fleet->agents[a];
        busy += s.busy[a];
        if (!ag->hours_ok) continue;
        for (int k = 0; k < ag->hours.nsessions; k++)
            sched += ag->hours.sessions[k].close - ag->hours.sessions[k].open;
    }
    out->utilisation = sched > 0 ? busy / sched : 0;
    out->travel_minutes_total = round(s.travel);
    free(v);
    free(s.view);
    free(s.free_at);
    free(s.pos);
    free(s.busy);
    free(s.heap);
    free(s.queue);
    free(s.tts);
    free(s.remote);
    free(s.queued);
    free(s.serve_at);
}

static double round2(double x) {
    return round(x * 100.0) / 100.0;
}

int dispatch_simulate(db *d, const char *day_s, int requests, uint64_t seed,
                      dispatch_sim_result *out, err *e) {
    memset(out, 0, sizeof(*out));
    workcal_date day;
    if (!day_s || workcal_date_parse(day_s, &day) != 0)
        return err_invalid(e, "day", "--day must be a date YYYY-MM-DD");
    if (requests < 1 || requests > SIM_MAX_REQUESTS)
        return err_invalid(e, "requests", "--requests must be 1–%d", SIM_MAX_REQUESTS);
    uint64_t t0 = time_mono_ns();
    const travel_graph *g = travel_default(d, e);
    if (!g) return -1;
    const workcal *cal = workcal_default(e);
    if (!cal) return -1;
    dsp_world w;
    if (dsp_world_init(&w, d, g, cal, e) != 0) return -1;
    dsp_item *items = NULL;
    int nitems = 0;
    dsp_fleet fleet = {0};
    int ret = -1;
    if (dsp_sim_items(d, &items, &nitems, e) != 0) goto done;
    if (dsp_load_agents(d, g, 1, &fleet, e) != 0) goto done;
    if (fleet.n == 0) {
        dsp_fleet_free(&fleet);
        dsp_sim_agent_spec *specs;
        int nspecs;
        if (dsp_sim_roster(g, items, nitems, SIM_AGENTS, seed, &specs, &nspecs) != 0) {
            err_set(e, 404, "not_found", "", "no stations to place agents at (run isle demo)");
            goto done;
        }
        fleet_from_roster(g, specs, nspecs, &fleet);
        free(specs);
        out->agents_generated = 1;
    }
    /* A fresh day: nobody has open tasks, everyone starts at the home station. */
    for (int a = 0; a < fleet.n; a++) {
        fleet.agents[a].open_tasks = 0;
        fleet.agents[a].served_today = 0;
        fleet.agents[a].origin = fleet.agents[a].home;
        fleet.agents[a].at_home = 1;
        fleet.agents[a].free_at = 0;
    }
    dsp_sim_request_spec *specs = xcalloc((size_t)requests, sizeof(*specs));
    if (dsp_sim_requests(g, items, nitems, day, requests, seed, specs) != 0) {
        free(specs);
        err_set(e, 404, "not_found", "", "no villages (run isle demo)");
        goto done;
    }
    sim_req *reqs = specs;
    qsort(reqs, (size_t)requests, sizeof(*reqs), req_cmp);
    dsp_request *dreqs = xcalloc((size_t)requests, sizeof(*dreqs));
    for (int i = 0; i < requests; i++) {
        const travel_village *v = travel_village_at(g, reqs[i].village);
        dsp_request *r = &dreqs[i];
        r->id = i + 1;
        travel_place_village(g, v->code, &r->place);
        snprintf(r->village_code, sizeof(r->village_code), "%s", v->code);
        snprintf(r->town_code, sizeof(r->town_code), "%s", v->town_code ? v->town_code : "");
        r->item = reqs[i].item >= 0 ? &items[reqs[i].item] : NULL;
        r->urgent = reqs[i].urgent;
    }
    sim_ctx c = {&w, &fleet, items, reqs, dreqs, requests};
    sim_run(&c, 1, day, &out->isle);
    sim_run(&c, 0, day, &out->baseline);
    sim_run(&c, 2, day, &out->baseline_remote);
    free(reqs);
    free(dreqs);
    workcal_date_format(day, out->day, sizeof(out->day));
    out->workday = workcal_is_workday(cal, day.year, day.month, day.day) == 1;
    out->requests = requests;
    out->agents = fleet.n;
    out->seed = seed;
    dispatch_sim_side *sides[3] = {&out->isle, &out->baseline, &out->baseline_remote};
    for (int k = 0; k < 3; k++) {
        sides[k]->mean_minutes = round2(sides[k]->mean_minutes);
        sides[k]->p95_minutes = round2(sides[k]->p95_minutes);
        sides[k]->in_person_mean_minutes = round2(sides[k]->in_person_mean_minutes);
        sides[k]->utilisation = round(sides[k]->utilisation * 10000.0) / 10000.0;
    }
    out->improvement =
        out->baseline.mean_minutes > 0
            ? round(10000.0 * (1.0 - out->isle.mean_minutes / out->baseline.mean_minutes)) / 10000.0
            : 0;
    out->improvement_remote =
        out->baseline_remote.mean_minutes > 0
            ? round(10000.0 * (1.0 - out->isle.mean_minutes / out->baseline_remote.mean_minutes)) /
                  10000.0
            : 0;
    out->elapsed_ms = round2((double)(time_mono_ns() - t0) / 1e6);
    ret = 0;
done:
    free(items);
    dsp_fleet_free(&fleet);
    dsp_world_free(&w);
    return ret;
}

/* ---- benchmark databases ---- */

int dsp_bench_seed(db *d, int nagents, int nrequests, uint64_t seed, int64_t at,
                   dsp_bench_seeded *out, err *e) {
    memset(out, 0, sizeof(*out));
    if (nrequests < 0 || nrequests > DISPATCH_BATCH_MAX)
        return err_invalid(e, "requests", "0–%d requests", DISPATCH_BATCH_MAX);
    const travel_graph *g = travel_default(d, e);
    if (!g) return -1;
    dsp_item *items = NULL;
    int nitems = 0;
    if (dsp_sim_items(d, &items, &nitems, e) != 0) return -1;
    int64_t have = 0, maxid = 0;
    if (db_query_int(d, e, &have, "SELECT COUNT(*) FROM agents", "") < 0 ||
        db_query_int(d, e, &maxid, "SELECT COALESCE(MAX(id), 0) FROM assist_requests", "") < 0) {
        free(items);
        return -1;
    }
    dsp_sim_agent_spec *roster = NULL;
    int nroster = 0;
    if (have == 0 && dsp_sim_roster(g, items, nitems, nagents, seed, &roster, &nroster) != 0) {
        free(items);
        return err_set(e, 404, "not_found", "", "no stations to place agents at (run isle demo)");
    }
    dsp_sim_request_spec *reqs = xcalloc((size_t)(nrequests ? nrequests : 1), sizeof(*reqs));
    if (nrequests > 0 &&
        dsp_sim_requests(g, items, nitems, workcal_local_date(at), nrequests, seed, reqs) != 0) {
        free(items);
        free(roster);
        free(reqs);
        return err_set(e, 404, "not_found", "", "no villages (run isle demo)");
    }
    char ts[40], no[40], ymd[16];
    time_iso(ts, sizeof(ts), at);
    workcal_date day = workcal_local_date(at);
    snprintf(ymd, sizeof(ymd), "%02d%02d%02d", day.year % 100, day.month, day.day);
    int ret = db_begin(d, e);
    for (int i = 0; ret == 0 && i < nroster; i++) {
        const dsp_sim_agent_spec *a = &roster[i];
        ret =
            db_execf(d, e,
                     "INSERT INTO agents (name, kind, station_id, island_id, town_code, skills, "
                     "hours, capacity, open_tasks, on_duty, served_today, created_at, "
                     "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, 1, 0, $9, $9)",
                     "sssssssis", a->name, a->full_time ? "full_time" : "part_time", a->station_id,
                     a->island_id, a->town_code, a->skills, a->hours, (int64_t)a->capacity, ts);
        if (ret == 0) out->agents_added++;
    }
    for (int i = 0; ret == 0 && i < nrequests; i++) {
        const travel_village *v = travel_village_at(g, reqs[i].village);
        const dsp_item *it = reqs[i].item >= 0 ? &items[reqs[i].item] : NULL;
        snprintf(no, sizeof(no), "BX%s%lld", ymd, (long long)(maxid + i + 1));
        ret = db_execf(d, e,
                       "INSERT INTO assist_requests (request_no, resident_name, item_code, "
                       "item_name, channel, village_code, town_code, island_id, urgency, status, "
                       "created_at, updated_at) VALUES ($1, '基准测试', $2, $3, 'phone', $4, $5, "
                       "$6, $7, 'new', $8, $8)",
                       "ssssssss", no, it ? it->code : NULL, it ? it->name : NULL, v->code,
                       v->town_code, travel_island_id(g, v->island),
                       reqs[i].urgent ? "urgent" : "normal", ts);
        if (ret == 0) out->requests_added++;
    }
    if (ret == 0)
        ret = db_commit(d, e);
    else
        db_rollback(d);
    free(items);
    free(roster);
    free(reqs);
    return ret;
}
