/* dispatch: 智能派单 — who goes to a resident's assisted request, and when (the
 * score is in dispatch.h; the in-memory core in dispatch_internal.h).
 *
 * Single dispatch (dispatch_pick, dispatch_rank): read the request, its item and
 * the on-duty agents; keep those with the skill and room; remote candidates are
 * scored directly (no travel); in-person ones get a lower bound first — the agent's
 * next working instant plus the island-to-island bound of bridges and sailings
 * (boarding included, drives as 0) — and are routed by the graph (travel_time,
 * ~3 µs) only while that bound can still beat the best found. Same-island agents
 * have a bound of 0 minutes of travel and come first, so most of 1,470 agents are
 * never routed, and islands no link reaches are never tried.
 *
 * Batch (dispatch_batch → dsp_assign): agents who set off from the same place with
 * the same hours form a class; one travel tree per class (one-to-all from where they
 * set off, at their start) gives the arrival at any village. Each request keeps its
 * DISPATCH_BATCH_CANDIDATES best agents (other islands skipped by the bound), then
 * a min-cost flow assigns them: successive shortest paths (Dijkstra on reduced
 * costs with potentials), one request added at a time, so after each step the
 * assignment is optimal for the requests added so far; an agent's k-th extra task
 * costs DISPATCH_LOAD_MINUTES × (open_tasks + k), waiting costs
 * DISPATCH_UNASSIGNED_MINUTES (× the urgency factor). A second round offers the
 * requests left waiting to the agents who still have room.
 *
 * Never writes. The only SQL reads agents, assist_requests and ferry_links; items
 * come through catalog_item_get(). */
#include "island/dispatch.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "base/xmalloc.h"
#include "catalog/catalog.h"
#include "island/dispatch_internal.h"

#define SKILLS_BUCKETS   4096
#define SKILLS_CACHE_MAX 8192  /* distinct texts kept; the cache starts over beyond */
#define SKILLS_TEXT_MAX  16384 /* bytes of one skills text */
#define SKILLS_LIST_MAX  256   /* departments or items read from one text */
#define WORK_MEMO        16
#define STAGES_MAX_LEFT  8 /* single dispatch: more stages in play: read everyone */
#define BATCH_ROUNDS     2

/* ---- deterministic tie-breaking ---- */

static uint64_t mix64(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Equal scores are broken by a hash of (request, agent), so that many requests with
 * equally good agents (remote work) spread over them instead of all choosing the
 * lowest id. */
static uint64_t tie_of(int64_t request_id, int64_t agent_id) {
    return mix64((uint64_t)request_id * 0x100000001B3ull ^ mix64((uint64_t)agent_id));
}

/* ---- skills ---- */

typedef struct skills_entry {
    struct skills_entry *next;
    uint64_t hash;
    size_t len;
    char *text;
    dsp_skills s; /* strings in block */
    char *block;
} skills_entry;

#define DEPT_BUCKETS 1024

struct dsp_skills_gen {
    int refs; /* holders, + 1 while it is the current generation */
    int count;
    skills_entry *bucket[SKILLS_BUCKETS];
    /* Interned department names: ids are stable for the generation's life. */
    int ndepts;
    char *depts[DSP_DEPTS_MAX];
    int dept_next[DSP_DEPTS_MAX];
    int dept_bucket[DEPT_BUCKETS]; /* 0 = empty, else id + 1 */
};

static pthread_mutex_t skills_mu = PTHREAD_MUTEX_INITIALIZER;
static dsp_skills_gen *skills_current;

/* A fast hash of len bytes, eight at a time (the entry comparison settles collisions). */
static uint64_t bytes_hash(const char *s, size_t len) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ len;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
        h ^= h >> 29;
    }
    uint64_t w = 0;
    memcpy(&w, s + i, len - i);
    return mix64(h ^ w);
}

static void skills_gen_free(dsp_skills_gen *g) {
    for (int i = 0; i < SKILLS_BUCKETS; i++) {
        skills_entry *x = g->bucket[i];
        while (x) {
            skills_entry *n = x->next;
            free(x->text);
            free(x->block);
            free(x);
            x = n;
        }
    }
    for (int i = 0; i < g->ndepts; i++)
        free(g->depts[i]);
    free(g);
}

/* The id of department name in g (under the lock), or -1 when the table is full. */
static int dept_intern(dsp_skills_gen *g, const char *name) {
    uint64_t h = bytes_hash(name, strlen(name)) % DEPT_BUCKETS;
    for (int k = g->dept_bucket[h] - 1; k >= 0; k = g->dept_next[k] - 1)
        if (!strcmp(g->depts[k], name)) return k;
    if (g->ndepts == DSP_DEPTS_MAX) return -1;
    int id = g->ndepts++;
    g->depts[id] = xstrdup(name);
    g->dept_next[id] = g->dept_bucket[h];
    g->dept_bucket[h] = id + 1;
    return id;
}

/* Retire the current generation (under the lock): freed when its last holder leaves. */
static void skills_retire_locked(void) {
    if (!skills_current) return;
    if (--skills_current->refs == 0) skills_gen_free(skills_current);
    skills_current = NULL;
}

void dsp_skills_cache_reset(void) {
    pthread_mutex_lock(&skills_mu);
    skills_retire_locked();
    pthread_mutex_unlock(&skills_mu);
}

dsp_skills_gen *dsp_skills_hold(void) {
    pthread_mutex_lock(&skills_mu);
    if (skills_current && skills_current->count >= SKILLS_CACHE_MAX) skills_retire_locked();
    if (!skills_current) {
        skills_current = xcalloc(1, sizeof(*skills_current));
        skills_current->refs = 1;
    }
    dsp_skills_gen *g = skills_current;
    g->refs++;
    pthread_mutex_unlock(&skills_mu);
    return g;
}

void dsp_skills_release(dsp_skills_gen *g) {
    if (!g) return;
    pthread_mutex_lock(&skills_mu);
    if (--g->refs == 0) skills_gen_free(g);
    pthread_mutex_unlock(&skills_mu);
}

/* Strings of a JSON array (at most SKILLS_LIST_MAX). */
static int string_list(json_t *arr, const char **out) {
    int n = 0;
    size_t i;
    json_t *v;
    if (!json_is_array(arr)) return 0;
    json_array_foreach(arr, i, v) {
        const char *s = json_string_value(v);
        if (s && *s && n < SKILLS_LIST_MAX) out[n++] = s;
    }
    return n;
}

/* Parse text into a heap entry (its strings in one block). */
static skills_entry *skills_entry_new(dsp_skills_gen *g, const char *text, size_t len,
                                      uint64_t hash) {
    skills_entry *x = xcalloc(1, sizeof(*x));
    x->hash = hash;
    x->len = len;
    x->text = xstrndup(text, len);
    json_t *j = len <= SKILLS_TEXT_MAX ? json_loadb(text, len, 0, NULL) : NULL;
    if (!json_is_object(j)) {
        json_decref(j);
        return x; /* valid = 0 */
    }
    const char *dv[SKILLS_LIST_MAX], *iv[SKILLS_LIST_MAX];
    int nd = string_list(json_object_get(j, "departments"), dv);
    int ni = string_list(json_object_get(j, "items"), iv);
    size_t bytes = (size_t)(nd + ni) * sizeof(char *) + (size_t)nd * sizeof(int);
    for (int i = 0; i < nd; i++)
        bytes += strlen(dv[i]) + 1;
    for (int i = 0; i < ni; i++)
        bytes += strlen(iv[i]) + 1;
    x->block = xmalloc(bytes ? bytes : 1);
    char **ptrs = (char **)x->block;
    int *ids = (int *)(x->block + (size_t)(nd + ni) * sizeof(char *));
    char *str = (char *)(ids + nd);
    for (int i = 0; i < nd + ni; i++) {
        const char *src = i < nd ? dv[i] : iv[i - nd];
        size_t n = strlen(src) + 1;
        memcpy(str, src, n);
        ptrs[i] = str;
        str += n;
    }
    x->s.valid = 1;
    x->s.all = json_is_true(json_object_get(j, "all"));
    x->s.ndepartments = nd;
    x->s.nitems = ni;
    x->s.departments = nd ? ptrs : NULL;
    for (int i = 0; i < nd; i++)
        ids[i] = dept_intern(g, ptrs[i]);
    x->s.department_ids = nd ? ids : NULL;
    x->s.items = ni ? ptrs + nd : NULL;
    json_decref(j);
    return x;
}

const dsp_skills *dsp_skills_get(dsp_skills_gen *g, const char *text, size_t len) {
    static const dsp_skills none = {0};
    if (!text) return &none;
    uint64_t h = bytes_hash(text, len);
    pthread_mutex_lock(&skills_mu);
    skills_entry **b = &g->bucket[h % SKILLS_BUCKETS];
    skills_entry *x = *b;
    while (x && (x->hash != h || x->len != len || memcmp(x->text, text, len) != 0))
        x = x->next;
    if (!x) {
        x = skills_entry_new(g, text, len, h);
        x->next = *b;
        *b = x;
        g->count++;
    }
    pthread_mutex_unlock(&skills_mu);
    return &x->s;
}

void dsp_matcher_init(dsp_matcher *m, const dsp_item *item) {
    m->item = item;
    memset(m->memo, -1, sizeof(m->memo));
}

int dsp_matcher_match(dsp_matcher *m, const dsp_skills *s) {
    const dsp_item *item = m->item;
    if (!item || !item->known) return 1;
    if (!s->valid) return 0;
    if (s->all) return 1;
    for (int i = 0; i < s->nitems; i++)
        if (!strcmp(s->items[i], item->code)) return 1;
    for (int i = 0; i < s->ndepartments; i++) {
        int id = s->department_ids ? s->department_ids[i] : -1;
        if (id >= 0 && id < DSP_DEPTS_MAX && m->memo[id] >= 0) {
            if (m->memo[id]) return 1;
            continue;
        }
        int ok = s->departments[i][0] && strstr(item->department, s->departments[i]) != NULL;
        if (id >= 0 && id < DSP_DEPTS_MAX) m->memo[id] = (signed char)ok;
        if (ok) return 1;
    }
    return 0;
}

int dsp_skills_match(const dsp_skills *s, const dsp_item *item) {
    if (!item || !item->known) return 1; /* no item named: anyone can go and find out */
    if (!s->valid) return 0;
    if (s->all) return 1;
    for (int i = 0; i < s->nitems; i++)
        if (!strcmp(s->items[i], item->code)) return 1;
    for (int i = 0; i < s->ndepartments; i++)
        if (s->departments[i][0] && strstr(item->department, s->departments[i])) return 1;
    return 0;
}

/* ---- items ---- */

int dsp_item_remote(int online_depth, int visits) {
    if (online_depth >= 4) return DSP_REMOTE_FULL;
    if (online_depth == 3 && visits == 0) return DSP_REMOTE_ZERO_VISIT;
    return DSP_REMOTE_NO;
}

/* Copy src (NULL: "") into dst of n bytes, cut at n - 1 bytes (callers size dst for
 * the whole value). */
static void copy_str(char *dst, size_t n, const char *src) {
    size_t len = src ? strnlen(src, n - 1) : 0;
    if (len) memcpy(dst, src, len);
    dst[len] = '\0';
}

void dsp_item_from_json(json_t *item, dsp_item *out) {
    memset(out, 0, sizeof(*out));
    copy_str(out->code, sizeof(out->code), json_string_value(json_object_get(item, "code")));
    copy_str(out->name, sizeof(out->name), json_string_value(json_object_get(item, "name")));
    copy_str(out->department, sizeof(out->department),
             json_string_value(json_object_get(item, "department")));
    out->online_depth = (int)json_integer_value(json_object_get(item, "online_depth"));
    out->visits = (int)json_integer_value(json_object_get(item, "visits"));
    out->remote = dsp_item_remote(out->online_depth, out->visits);
    out->service_minutes = 20 + (int)(bytes_hash(out->code, strlen(out->code)) % 21); /* 20–40 */
    out->weight = 1.0;
    out->known = 1;
}

int dsp_load_item(db *d, const char *code, dsp_item *out, err *e) {
    memset(out, 0, sizeof(*out));
    err e2 = {0};
    json_t *j = catalog_item_get(d, code, &e2);
    if (!j) {
        if (e2.status != 404) {
            if (e) *e = e2;
            return -1;
        }
        copy_str(out->code, sizeof(out->code), code); /* unknown item: in person, anyone */
        out->service_minutes = 30;
        return 0;
    }
    dsp_item_from_json(j, out);
    json_decref(j);
    return 0;
}

/* ---- working hours ---- */

int64_t dsp_work_start(const workcal *cal, const workcal_schedule *h, int64_t t, int64_t *day_close,
                       int64_t *next_open) {
    if (h->nsessions < 1) return WORKCAL_NEVER;
    workcal_date d = workcal_local_date(t);
    for (int guard = 0; guard < 400; guard++) {
        if (workcal_is_workday(cal, d.year, d.month, d.day) == 1) {
            for (int i = 0; i < h->nsessions; i++) {
                int64_t close = workcal_local_instant(d, h->sessions[i].close);
                if (t >= close) continue;
                int64_t open = workcal_local_instant(d, h->sessions[i].open);
                if (day_close)
                    *day_close = workcal_local_instant(d, h->sessions[h->nsessions - 1].close);
                if (next_open) {
                    workcal_date nd;
                    *next_open = workcal_add_days(cal, d, 1, &nd, NULL) == 0
                                     ? workcal_local_instant(nd, h->sessions[0].open)
                                     : WORKCAL_NEVER;
                }
                return t > open ? t : open;
            }
        }
        workcal_date nd;
        if (workcal_add_days(cal, d, 1, &nd, NULL) != 0) return WORKCAL_NEVER;
        d = nd;
        int64_t midnight = workcal_local_instant(d, 0);
        if (t < midnight) t = midnight;
    }
    return WORKCAL_NEVER;
}

/* ---- the world: island lower bounds ---- */

int dsp_world_init_links(dsp_world *w, const travel_graph *g, const workcal *cal, int n,
                         const char *const *from, const char *const *to, const int *minutes,
                         const int *ferry, err *e) {
    (void)e;
    memset(w, 0, sizeof(*w));
    w->g = g;
    w->cal = cal;
    int ni = travel_graph_stats(g).islands;
    w->nislands = ni;
    w->lb = xmalloc((size_t)(ni > 0 ? ni * ni : 1) * sizeof(int));
    for (int i = 0; i < ni * ni; i++)
        w->lb[i] = DSP_LB_NONE;
    for (int i = 0; i < ni; i++)
        w->lb[i * ni + i] = 0;
    for (int k = 0; k < n; k++) {
        travel_place a, b;
        if (travel_place_island(g, from[k], &a) != 0 || travel_place_island(g, to[k], &b) != 0)
            continue;
        int c = minutes[k] + (ferry[k] ? TRAVEL_BOARDING_MINUTES : 0);
        if (c < w->lb[a.island * ni + b.island]) {
            w->lb[a.island * ni + b.island] = c;
            w->lb[b.island * ni + a.island] = c;
        }
    }
    for (int k = 0; k < ni; k++)
        for (int i = 0; i < ni; i++) {
            int ik = w->lb[i * ni + k];
            if (ik >= DSP_LB_NONE) continue;
            for (int j = 0; j < ni; j++) {
                int kj = w->lb[k * ni + j];
                if (kj < DSP_LB_NONE && ik + kj < w->lb[i * ni + j]) w->lb[i * ni + j] = ik + kj;
            }
        }
    return 0;
}

#define LINKS_MAX 4096

/* The island bounds of the last graph seen (the default graph lives until restart). */
static pthread_mutex_t world_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    const travel_graph *g;
    travel_stats st;
    int n;
    int *lb;
} world_cache;

void dsp_world_cache_reset(void) {
    pthread_mutex_lock(&world_mu);
    free(world_cache.lb);
    memset(&world_cache, 0, sizeof(world_cache));
    pthread_mutex_unlock(&world_mu);
}

int dsp_world_init(dsp_world *w, db *d, const travel_graph *g, const workcal *cal, err *e) {
    travel_stats st = travel_graph_stats(g);
    pthread_mutex_lock(&world_mu);
    if (world_cache.lb && world_cache.g == g && !memcmp(&world_cache.st, &st, sizeof(st))) {
        memset(w, 0, sizeof(*w));
        w->g = g;
        w->cal = cal;
        w->nislands = world_cache.n;
        size_t bytes = (size_t)(w->nislands > 0 ? w->nislands * w->nislands : 1) * sizeof(int);
        w->lb = xmalloc(bytes);
        memcpy(w->lb, world_cache.lb, bytes);
        pthread_mutex_unlock(&world_mu);
        return 0;
    }
    pthread_mutex_unlock(&world_mu);
    db_stmt *s = db_prepare(d, "SELECT from_island, to_island, minutes, mode FROM ferry_links", e);
    if (!s) return -1;
    char **from = xcalloc(LINKS_MAX, sizeof(char *)), **to = xcalloc(LINKS_MAX, sizeof(char *));
    int *minutes = xcalloc(LINKS_MAX, sizeof(int)), *ferry = xcalloc(LINKS_MAX, sizeof(int));
    int n = 0, rc, ret = 0;
    while ((rc = db_step(s)) == DB_ROW && n < LINKS_MAX) {
        from[n] = xstrdup(db_column_text(s, 0) ? db_column_text(s, 0) : "");
        to[n] = xstrdup(db_column_text(s, 1) ? db_column_text(s, 1) : "");
        minutes[n] = (int)db_column_int64(s, 2);
        const char *mode = db_column_text(s, 3);
        ferry[n] = mode && !strcmp(mode, "ferry");
        n++;
    }
    if (rc == DB_ERROR) ret = err_internal(e, "ferry links: %s", db_errmsg(d));
    db_reset(s);
    if (ret == 0)
        ret = dsp_world_init_links(w, g, cal, n, (const char *const *)from, (const char *const *)to,
                                   minutes, ferry, e);
    for (int i = 0; i < n; i++) {
        free(from[i]);
        free(to[i]);
    }
    free(from);
    free(to);
    free(minutes);
    free(ferry);
    if (ret == 0) {
        size_t bytes = (size_t)(w->nislands > 0 ? w->nislands * w->nislands : 1) * sizeof(int);
        pthread_mutex_lock(&world_mu);
        free(world_cache.lb);
        world_cache.g = g;
        world_cache.st = st;
        world_cache.n = w->nislands;
        world_cache.lb = xmalloc(bytes);
        memcpy(world_cache.lb, w->lb, bytes);
        pthread_mutex_unlock(&world_mu);
    }
    return ret;
}

void dsp_world_free(dsp_world *w) {
    if (!w) return;
    free(w->lb);
    w->lb = NULL;
}

static int lb_minutes(const dsp_world *w, int from_island, int to_island) {
    if (from_island < 0 || to_island < 0 || from_island >= w->nislands || to_island >= w->nislands)
        return 0;
    return w->lb[from_island * w->nislands + to_island];
}

/* ---- trips and scores ---- */

/* The rule of dsp_trip() on known arrivals: a1 leaving at s1 (its day's hours end at
 * close1), a2 leaving at s2 (ending close2). */
static int trip_choose(int64_t s1, int64_t a1, int64_t close1, int64_t s2, int64_t a2,
                       int64_t close2, int64_t *depart, int64_t *arrive) {
    if (a1 != TRAVEL_NEVER && a1 <= close1) {
        *depart = s1;
        *arrive = a1;
        return 0;
    }
    if (a2 != TRAVEL_NEVER && (a2 <= close2 || a1 == TRAVEL_NEVER || a2 < a1)) {
        *depart = s2;
        *arrive = a2;
        return 0;
    }
    if (a1 == TRAVEL_NEVER) return -1;
    *depart = s1;
    *arrive = a1;
    return 0;
}

int dsp_trip(const dsp_world *w, const workcal_schedule *h, const travel_place *from,
             const travel_place *to, int64_t t, int64_t *depart, int64_t *arrive) {
    int64_t close1 = 0, open2 = WORKCAL_NEVER;
    int64_t s1 = dsp_work_start(w->cal, h, t, &close1, &open2);
    if (s1 == WORKCAL_NEVER) return -1;
    int64_t a1 = travel_time(w->g, from, to, s1);
    if (a1 != TRAVEL_NEVER && a1 <= close1) {
        *depart = s1;
        *arrive = a1;
        return 0;
    }
    int64_t close2 = 0, s2 = WORKCAL_NEVER, a2 = TRAVEL_NEVER;
    if (open2 != WORKCAL_NEVER) s2 = dsp_work_start(w->cal, h, open2, &close2, NULL);
    if (s2 != WORKCAL_NEVER) a2 = travel_time(w->g, from, to, s2);
    return trip_choose(s1, a1, close1, s2, a2, close2, depart, arrive);
}

int64_t dsp_target(const dsp_request *r, int64_t now) {
    return r->preferred > now ? r->preferred : now;
}

static double urgency(const dsp_request *r) {
    return r->urgent ? DISPATCH_URGENT_FACTOR : 1.0;
}

/* The part of the score that does not depend on load. */
static double base_score(const dsp_request *r, const dsp_agent *a, int remote, int64_t eta,
                         int64_t target) {
    double wait = eta > target ? (double)(eta - target) / 60.0 : 0.0;
    double s = urgency(r) * wait + DISPATCH_FAIR_MINUTES * a->served_today;
    if (remote && strcmp(a->town_code, r->town_code) != 0) s += DISPATCH_REMOTE_OTHER_TOWN;
    return s;
}

double dsp_score(const dsp_request *r, const dsp_agent *a, int remote, int64_t eta, int64_t target,
                 int extra_load) {
    return base_score(r, a, remote, eta, target) +
           DISPATCH_LOAD_MINUTES * (a->open_tasks + extra_load);
}

static int64_t max64(int64_t a, int64_t b) {
    return a > b ? a : b;
}

static int wait_minutes(int64_t eta, int64_t target) {
    return eta > target ? (int)((eta - target + 59) / 60) : 0;
}

int dsp_eval(const dsp_world *w, const dsp_request *r, const dsp_agent *a, int64_t now,
             dsp_cand *out) {
    memset(out, 0, sizeof(*out));
    out->agent = -1;
    if (!a->hours_ok) return -1;
    int64_t target = dsp_target(r, now);
    int64_t t = max64(now, a->free_at);
    int remote = r->item && r->item->remote;
    out->remote = remote;
    if (remote) {
        int64_t s = dsp_work_start(w->cal, &a->hours, max64(t, target), NULL, NULL);
        if (s == WORKCAL_NEVER) return -1;
        out->depart = out->arrive = out->eta = s;
    } else {
        if (dsp_trip(w, &a->hours, &a->origin, &r->place, t, &out->depart, &out->arrive) != 0)
            return -1;
        out->eta = max64(out->arrive, target);
    }
    out->wait_minutes = wait_minutes(out->eta, target);
    out->score = dsp_score(r, a, remote, out->eta, target, 0);
    return 0;
}

/* ---- ranking ---- */

/* A small memo of dsp_work_start() by (hours, t): agents share a few schedules. */
typedef struct work_memo {
    int n;
    struct {
        workcal_schedule h;
        int64_t t, start;
    } e[WORK_MEMO];
} work_memo;

static int64_t memo_start(work_memo *m, const workcal *cal, const workcal_schedule *h, int64_t t) {
    for (int i = 0; i < m->n; i++)
        if (m->e[i].t == t && !memcmp(&m->e[i].h, h, sizeof(*h))) return m->e[i].start;
    int64_t s = dsp_work_start(cal, h, t, NULL, NULL);
    if (m->n < WORK_MEMO) {
        memset(&m->e[m->n], 0, sizeof(m->e[m->n]));
        m->e[m->n].h = *h;
        m->e[m->n].t = t;
        m->e[m->n].start = s;
        m->n++;
    }
    return s;
}

static int excluded(int64_t id, const int64_t *exclude, int nexclude) {
    for (int i = 0; i < nexclude; i++)
        if (exclude[i] == id) return 1;
    return 0;
}

/* a better than b: lower score, then the tie hash. */
static int cand_better(const dsp_cand *a, uint64_t ta, const dsp_cand *b, uint64_t tb) {
    if (a->score != b->score) return a->score < b->score;
    return ta < tb;
}

/* Insert c into out (sorted best first, at most max). */
static void top_insert(dsp_cand *out, uint64_t *ties, int *n, int max, const dsp_cand *c,
                       uint64_t tie) {
    int k = *n;
    if (k == max) {
        if (!cand_better(c, tie, &out[k - 1], ties[k - 1])) return;
        k--;
    }
    while (k > 0 && cand_better(c, tie, &out[k - 1], ties[k - 1])) {
        out[k] = out[k - 1];
        ties[k] = ties[k - 1];
        k--;
    }
    out[k] = *c;
    ties[k] = tie;
    if (*n < max) (*n)++;
}

static int same_place(const travel_place *a, const travel_place *b);

/* Trips of one ranking by (origin, hours, departure): agents at one station with the
 * same hours travel alike, so each such trip is asked of the graph once. */
typedef struct trip_memo {
    struct trip_entry {
        travel_place origin;
        workcal_schedule hours;
        int64_t t, depart, arrive;
        int ok, used;
    } * e;
    size_t cap;
} trip_memo;

static void trip_memo_init(trip_memo *m, int n) {
    m->cap = 16;
    while (m->cap < (size_t)n * 2)
        m->cap <<= 1;
    m->e = xcalloc(m->cap, sizeof(*m->e));
}

static void trip_memo_free(trip_memo *m) {
    free(m->e);
}

static int trip_memo_get(trip_memo *m, const dsp_world *w, const dsp_agent *a,
                         const travel_place *to, int64_t t, int64_t *depart, int64_t *arrive) {
    uint64_t h = mix64((uint64_t)a->origin.kind * 7919u + (uint64_t)(int64_t)a->origin.index) ^
                 mix64((uint64_t)t) ^ bytes_hash((const char *)&a->hours, sizeof(a->hours));
    uint64_t la, lo;
    memcpy(&la, &a->origin.lat, sizeof(la));
    memcpy(&lo, &a->origin.lon, sizeof(lo));
    h ^= mix64(la ^ (lo << 1));
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        struct trip_entry *x = &m->e[i];
        if (!x->used) {
            x->used = 1;
            x->origin = a->origin;
            x->hours = a->hours;
            x->t = t;
            x->ok = dsp_trip(w, &a->hours, &a->origin, to, t, &x->depart, &x->arrive) == 0;
            *depart = x->depart;
            *arrive = x->arrive;
            return x->ok ? 0 : -1;
        }
        if (x->t == t && same_place(&x->origin, &a->origin) &&
            !memcmp(&x->hours, &a->hours, sizeof(x->hours))) {
            *depart = x->depart;
            *arrive = x->arrive;
            return x->ok ? 0 : -1;
        }
    }
}

typedef struct bounded {
    double bound;
    uint64_t tie;
    int agent;
} bounded;

static int pending_cmp(const void *x, const void *y) {
    const bounded *a = x, *b = y;
    if (a->bound != b->bound) return a->bound < b->bound ? -1 : 1;
    return a->tie < b->tie ? -1 : a->tie > b->tie;
}

int dsp_rank(const dsp_world *w, const dsp_request *r, const dsp_agent *agents, int nagents,
             int64_t now, const int64_t *exclude, int nexclude, dsp_cand *out, int max,
             dsp_counts *counts) {
    dsp_counts c = {0};
    c.agents = nagents;
    if (max < 1) max = 1;
    int remote = r->item && r->item->remote;
    int64_t target = dsp_target(r, now);
    bounded *todo = xmalloc((size_t)(nagents > 0 ? nagents : 1) * sizeof(*todo));
    uint64_t *ties = xmalloc((size_t)max * sizeof(*ties));
    work_memo memo = {0};
    dsp_matcher *match = xmalloc(sizeof(*match));
    dsp_matcher_init(match, r->item);
    int ntodo = 0, nout = 0;
    for (int i = 0; i < nagents; i++) {
        const dsp_agent *a = &agents[i];
        if (excluded(a->id, exclude, nexclude)) {
            c.excluded++;
            continue;
        }
        if (!a->hours_ok) {
            c.bad_hours++;
            continue;
        }
        if (a->open_tasks >= a->capacity) {
            c.full++;
            continue;
        }
        if (!dsp_matcher_match(match, a->skills)) {
            c.no_skill++;
            continue;
        }
        int64_t t = max64(now, a->free_at);
        uint64_t tie = tie_of(r->id, a->id);
        if (remote) {
            int64_t s = memo_start(&memo, w->cal, &a->hours, max64(t, target));
            if (s == WORKCAL_NEVER) {
                c.unreachable++;
                continue;
            }
            dsp_cand cand = {.agent = i, .remote = 1, .depart = s, .arrive = s, .eta = s};
            cand.wait_minutes = wait_minutes(s, target);
            cand.score = dsp_score(r, a, 1, s, target, 0);
            top_insert(out, ties, &nout, max, &cand, tie);
            continue;
        }
        int lb = lb_minutes(w, a->origin.island, r->place.island);
        if (lb >= DSP_LB_NONE) {
            c.unreachable++;
            continue;
        }
        int64_t s1 = memo_start(&memo, w->cal, &a->hours, t);
        if (s1 == WORKCAL_NEVER) {
            c.unreachable++;
            continue;
        }
        int64_t lbeta = max64(s1 + (int64_t)lb * 60, target);
        todo[ntodo++] = (bounded){dsp_score(r, a, 0, lbeta, target, 0), tie, i};
    }
    if (ntodo > 1) qsort(todo, (size_t)ntodo, sizeof(*todo), pending_cmp);
    trip_memo tm;
    trip_memo_init(&tm, ntodo);
    for (int k = 0; k < ntodo; k++) {
        if (nout == max && todo[k].bound > out[max - 1].score) break;
        const dsp_agent *a = &agents[todo[k].agent];
        dsp_cand cand = {.agent = todo[k].agent};
        if (trip_memo_get(&tm, w, a, &r->place, max64(now, a->free_at), &cand.depart,
                          &cand.arrive) != 0) {
            c.unreachable++;
            continue;
        }
        cand.eta = max64(cand.arrive, target);
        cand.wait_minutes = wait_minutes(cand.eta, target);
        cand.score = dsp_score(r, a, 0, cand.eta, target, 0);
        top_insert(out, ties, &nout, max, &cand, todo[k].tie);
    }
    trip_memo_free(&tm);
    c.ranked = nout;
    if (counts) *counts = c;
    free(match);
    free(todo);
    free(ties);
    return nout;
}

/* ---- reasons ---- */

/* "今天", "明天", "后天" or "12月3日" for t seen from now (Shanghai dates). */
static void day_label(int64_t t, int64_t now, char *buf, size_t n) {
    workcal_date a = workcal_local_date(now), b = workcal_local_date(t);
    int64_t days = (workcal_local_instant(b, 0) - workcal_local_instant(a, 0)) / 86400;
    if (days == 0)
        snprintf(buf, n, "今天");
    else if (days == 1)
        snprintf(buf, n, "明天");
    else if (days == 2)
        snprintf(buf, n, "后天");
    else
        snprintf(buf, n, "%d月%d日", b.month, b.day);
}

static void clock_of(int64_t t, char *buf, size_t n) {
    char full[32];
    workcal_local_format(t, full, sizeof(full));
    snprintf(buf, n, "%.5s", full + 11);
}

static int same_local_day(int64_t a, int64_t b) {
    workcal_date x = workcal_local_date(a), y = workcal_local_date(b);
    return x.year == y.year && x.month == y.month && x.day == y.day;
}

/* Whether the route from the agent to the request takes a boat (1), only bridges or
 * roads (0). */
static int route_has_ferry(const dsp_world *w, const dsp_agent *a, const dsp_request *r,
                           int64_t depart) {
    travel_route route;
    travel_route_find(w->g, &a->origin, &r->place, depart, &route);
    int ferry = 0;
    for (size_t i = 0; i < route.nlegs; i++)
        if (!strcmp(route.legs[i].mode, "ferry")) ferry = 1;
    travel_route_free(&route);
    return ferry;
}

void dsp_reason(const dsp_world *w, const dsp_request *r, const dsp_agent *a, const dsp_cand *c,
                int64_t now, int extra_load, char *buf, size_t n) {
    int load = a->open_tasks + extra_load;
    int64_t target = dsp_target(r, now);
    char day[32], hm[8], when[96];
    if (c->remote) {
        const char *why =
            r->item && r->item->remote == DSP_REMOTE_FULL ? "可全程网办" : "网上可办、无需到现场";
        if (c->eta <= target + 59) {
            snprintf(when, sizeof(when), "立即可办");
        } else {
            day_label(c->eta, now, day, sizeof(day));
            clock_of(c->eta, hm, sizeof(hm));
            snprintf(when, sizeof(when), "%s %s 起可办", day, hm);
        }
        snprintf(buf, n, "远程办理：%s（%s, %s, 当前 %d 件）", why, a->name, when, load);
        return;
    }
    char rel[48];
    if (a->origin.island == r->place.island) {
        if (a->at_home && !strcmp(a->village_code, r->village_code))
            snprintf(rel, sizeof(rel), "同村");
        else if (!strcmp(a->town_code, r->town_code))
            snprintf(rel, sizeof(rel), "同镇");
        else
            snprintf(rel, sizeof(rel), "同岛");
    } else {
        snprintf(rel, sizeof(rel), "%s%s",
                 !strcmp(a->town_code, r->town_code) ? "同镇跨岛" : "跨岛",
                 route_has_ferry(w, a, r, c->depart) ? "乘船" : "经大桥");
    }
    int travel = (int)((c->arrive - c->depart + 59) / 60);
    if (r->preferred > now && c->eta == r->preferred && c->arrive < r->preferred) {
        day_label(c->eta, now, day, sizeof(day));
        clock_of(c->eta, hm, sizeof(hm));
        snprintf(when, sizeof(when), "按预约 %s %s 上门", day, hm);
    } else if (c->depart <= target + 59 && same_local_day(c->arrive, now)) {
        snprintf(when, sizeof(when), "%d 分钟可达", travel);
    } else {
        char day2[32], hm2[8];
        day_label(c->depart, now, day, sizeof(day));
        clock_of(c->depart, hm, sizeof(hm));
        clock_of(c->arrive, hm2, sizeof(hm2));
        if (same_local_day(c->depart, c->arrive)) {
            snprintf(when, sizeof(when), "%s %s 出发, %s 可到", day, hm, hm2);
        } else {
            day_label(c->arrive, now, day2, sizeof(day2));
            snprintf(when, sizeof(when), "%s %s 出发, %s %s 可到", day, hm, day2, hm2);
        }
    }
    snprintf(buf, n, "%s: %s, %s, 当前 %d 件", a->name, rel, when, load);
}

void dsp_reason_nobody(const dsp_counts *c, char *buf, size_t n) {
    if (c->agents == 0) {
        snprintf(buf, n, "暂无在岗人员：请求等待派单，超时将升级");
        return;
    }
    char ex[48] = "";
    if (c->excluded) snprintf(ex, sizeof(ex), "，已拒单 %d", c->excluded);
    snprintf(
        buf, n,
        "暂无可派人员：在岗 %d 人，不对口 %d，已满额 %d，无法到达 %d%s；请求等待派单，超时将升级",
        c->agents, c->no_skill, c->full, c->unreachable + c->bad_hours, ex);
}

void dsp_choice_fill(const dsp_world *w, const dsp_request *r, const dsp_agent *agents,
                     const dsp_cand *c, const dsp_counts *counts, int64_t now, int extra_load,
                     dispatch_choice *out) {
    memset(out, 0, sizeof(*out));
    if (!c || c->agent < 0) {
        dsp_counts none = {0};
        dsp_reason_nobody(counts ? counts : &none, out->reason, sizeof(out->reason));
        return;
    }
    const dsp_agent *a = &agents[c->agent];
    out->agent_id = a->id;
    out->remote = c->remote;
    out->score = round(c->score * 100.0) / 100.0;
    out->eta = c->eta;
    dsp_reason(w, r, a, c, now, extra_load, out->reason, sizeof(out->reason));
}

/* ---- the database ---- */

void dsp_fleet_free(dsp_fleet *f) {
    if (!f) return;
    free(f->agents);
    dsp_skills_release(f->skills);
    memset(f, 0, sizeof(*f));
}

static const char *col_text(db_stmt *s, int i) {
    const char *t = db_column_text(s, i);
    return t ? t : "";
}

#define AGENT_COLUMNS                                                                              \
    "SELECT id, name, station_id, island_id, town_code, skills, hours, capacity, open_tasks, "     \
    "position_island, position_lat, position_lon, served_today FROM agents "

/* The agents of each dsp_agents_which, by id. */
static const char *const agents_sql[] = {
    [DSP_AGENTS_ON_DUTY] = AGENT_COLUMNS "WHERE on_duty = 1 ORDER BY id",
    [DSP_AGENTS_ALL] = AGENT_COLUMNS "ORDER BY id",
    [DSP_AGENTS_ISLAND] =
        AGENT_COLUMNS "WHERE on_duty = 1 AND (island_id = $1 OR position_island = $1) ORDER BY id",
    [DSP_AGENTS_NOT_ISLAND] = AGENT_COLUMNS
    "WHERE on_duty = 1 AND island_id <> $1 AND (position_island IS NULL OR position_island <> $1) "
    "ORDER BY id",
    [DSP_AGENTS_TOWN] = AGENT_COLUMNS "WHERE on_duty = 1 AND town_code = $1 ORDER BY id",
    [DSP_AGENTS_NOT_TOWN] = AGENT_COLUMNS "WHERE on_duty = 1 AND town_code <> $1 ORDER BY id",
    [DSP_AGENTS_POSITIONED] =
        AGENT_COLUMNS "WHERE on_duty = 1 AND position_island IS NOT NULL ORDER BY id",
    [DSP_AGENTS_TOWN_HOME] = AGENT_COLUMNS
    "WHERE on_duty = 1 AND town_code = $1 AND position_island IS NULL ORDER BY id",
};

int dsp_load_agents(db *d, const travel_graph *g, int all, dsp_fleet *out, err *e) {
    memset(out, 0, sizeof(*out));
    return dsp_load_agents_where(d, g, all ? DSP_AGENTS_ALL : DSP_AGENTS_ON_DUTY, NULL, out, e);
}

int dsp_load_agents_where(db *d, const travel_graph *g, dsp_agents_which which, const char *key,
                          dsp_fleet *out, err *e) {
    if ((int)which < 0 || which > DSP_AGENTS_TOWN_HOME) return err_internal(e, "bad agent filter");
    db_stmt *s =
        which == DSP_AGENTS_ON_DUTY || which == DSP_AGENTS_ALL || which == DSP_AGENTS_POSITIONED
            ? db_prepare(d, agents_sql[which], e)
            : db_query(d, e, agents_sql[which], "s", key ? key : "");
    if (!s) return -1;
    /* Agents share a few working-hour texts: parse each once per load. */
    struct {
        char text[64];
        workcal_schedule h;
        int ok;
    } hours_memo[8];
    int nhours = 0;
    int cap = out->n + 256, rc;
    out->agents = xrealloc(out->agents, (size_t)cap * sizeof(dsp_agent));
    if (!out->skills) out->skills = dsp_skills_hold();
    char last_station[64] = "";
    travel_place last_home = {0};
    int last_ok = -1;
    while ((rc = db_step(s)) == DB_ROW) {
        if (out->n == cap) {
            cap *= 2;
            out->agents = xrealloc(out->agents, (size_t)cap * sizeof(dsp_agent));
        }
        dsp_agent *a = &out->agents[out->n];
        memset(a, 0, sizeof(*a));
        a->id = db_column_int64(s, 0);
        copy_str(a->name, sizeof(a->name), col_text(s, 1));
        copy_str(a->town_code, sizeof(a->town_code), col_text(s, 4));
        /* Agents come station by station: remember the last station's place. */
        const char *station = col_text(s, 2);
        if (strcmp(station, last_station) != 0) {
            copy_str(last_station, sizeof(last_station), station);
            last_ok = travel_place_station(g, station, &last_home);
        }
        if (last_ok == 0) {
            a->home = last_home;
            const travel_station *st = travel_station_at(g, a->home.index);
            if (st) copy_str(a->village_code, sizeof(a->village_code), st->village_code);
        } else if (travel_place_island(g, col_text(s, 3), &a->home) != 0) {
            continue; /* not on the graph: cannot be routed */
        }
        a->origin = a->home;
        a->at_home = 1;
        const char *pos = db_column_text(s, 9);
        if (pos && *pos) {
            travel_place p;
            int ok = -1;
            if (db_column_type(s, 10) != DB_NULL && db_column_type(s, 11) != DB_NULL)
                ok = travel_place_point(g, pos, db_column_double(s, 10), db_column_double(s, 11),
                                        &p);
            else if (travel_place_island(g, pos, &p) == 0 && p.island != a->home.island)
                ok = 0;
            if (ok == 0) {
                a->origin = p;
                a->at_home = 0;
            }
        }
        const char *skills = col_text(s, 5);
        a->skills = dsp_skills_get(out->skills, skills, strlen(skills));
        const char *hours = col_text(s, 6);
        int m = 0;
        while (m < nhours && strcmp(hours_memo[m].text, hours) != 0)
            m++;
        if (m < nhours) {
            a->hours = hours_memo[m].h;
            a->hours_ok = hours_memo[m].ok;
        } else {
            err he = {0};
            a->hours_ok = workcal_schedule_parse(hours, &a->hours, &he) == 0;
            if (nhours < 8 && strlen(hours) < sizeof(hours_memo[0].text)) {
                copy_str(hours_memo[nhours].text, sizeof(hours_memo[0].text), hours);
                hours_memo[nhours].h = a->hours;
                hours_memo[nhours].ok = a->hours_ok;
                nhours++;
            }
        }
        a->capacity = (int)db_column_int64(s, 7);
        a->open_tasks = (int)db_column_int64(s, 8);
        a->served_today = (int)db_column_int64(s, 12);
        out->n++;
    }
    db_reset(s);
    if (rc == DB_ERROR) {
        err_internal(e, "agents: %s", db_errmsg(d));
        dsp_fleet_free(out);
        return -1;
    }
    return 0;
}

#define REQUEST_SQL                                                                                \
    "SELECT id, village_code, town_code, item_code, urgency, preferred_at, status "                \
    "FROM assist_requests WHERE id = $1"

/* The current row of REQUEST_SQL into r (item left NULL); the item code into code. */
static int request_from_row(db_stmt *s, const travel_graph *g, dsp_request *r, char *code,
                            size_t ncode, char *status, err *e) {
    memset(r, 0, sizeof(*r));
    r->id = db_column_int64(s, 0);
    copy_str(r->village_code, sizeof(r->village_code), col_text(s, 1));
    copy_str(r->town_code, sizeof(r->town_code), col_text(s, 2));
    copy_str(code, ncode, col_text(s, 3));
    r->urgent = !strcmp(col_text(s, 4), "urgent");
    const char *pref = db_column_text(s, 5);
    int64_t t;
    if (pref && *pref && time_parse_iso(pref, &t) == 0) r->preferred = t;
    if (status) copy_str(status, 32, col_text(s, 6));
    if (travel_place_village(g, r->village_code, &r->place) != 0)
        return err_set(e, 422, "unprocessable", "village_code",
                       "request %lld: village %s is not on the travel graph (re-import places?)",
                       (long long)r->id, r->village_code);
    return 0;
}

int dsp_load_request(db *d, const travel_graph *g, int64_t id, dsp_request *r, dsp_item *item,
                     char *status, err *e) {
    db_stmt *s = db_query(d, e, REQUEST_SQL, "i", id);
    if (!s) return -1;
    int rc = db_step(s);
    if (rc != DB_ROW) {
        db_reset(s);
        if (rc == DB_ERROR) return err_internal(e, "request: %s", db_errmsg(d));
        return err_notfound(e, "no assisted request %lld", (long long)id);
    }
    char code[DSP_CODE_MAX];
    int ret = request_from_row(s, g, r, code, sizeof(code), status, e);
    db_reset(s);
    if (ret != 0) return -1;
    memset(item, 0, sizeof(*item));
    if (code[0]) {
        if (dsp_load_item(d, code, item, e) != 0) return -1;
        r->item = item;
    }
    return 0;
}

static int status_closed(const char *status) {
    return !strcmp(status, "done") || !strcmp(status, "cancelled");
}

/* What one dispatch needs from the database. */
typedef struct dispatch_ctx {
    dsp_world w;
    dsp_fleet fleet;
    dsp_request r;
    dsp_item item;
    char status[32];
} dispatch_ctx;

static int ctx_load_world(db *d, dsp_world *w, err *e) {
    const travel_graph *g = travel_default(d, e);
    if (!g) return -1;
    const workcal *cal = workcal_default(e);
    if (!cal) return -1;
    return dsp_world_init(w, d, g, cal, e);
}

static void ctx_free(dispatch_ctx *c) {
    dsp_world_free(&c->w);
    dsp_fleet_free(&c->fleet);
}

static int ctx_load(db *d, int64_t request_id, dispatch_ctx *c, err *e) {
    memset(c, 0, sizeof(*c));
    if (ctx_load_world(d, &c->w, e) != 0) return -1;
    if (dsp_load_request(d, c->w.g, request_id, &c->r, &c->item, c->status, e) != 0 ||
        dsp_load_agents(d, c->w.g, 0, &c->fleet, e) != 0) {
        ctx_free(c);
        return -1;
    }
    if (status_closed(c->status)) {
        err_conflict(e, "status", "request %lld is %s: nothing to dispatch", (long long)request_id,
                     c->status);
        ctx_free(c);
        return -1;
    }
    return 0;
}

static void info_fill(const dispatch_ctx *c, const dsp_counts *k, dispatch_rank_info *info) {
    if (!info) return;
    memset(info, 0, sizeof(*info));
    info->agents_on_duty = k->agents;
    info->excluded = k->excluded;
    info->bad_hours = k->bad_hours;
    info->full = k->full;
    info->no_skill = k->no_skill;
    info->unreachable = k->unreachable;
    info->remote = c->r.item && c->r.item->remote;
    if (c->r.item) copy_str(info->item_name, sizeof(info->item_name), c->r.item->name);
    copy_str(info->village, sizeof(info->village), travel_place_name(c->w.g, &c->r.place));
}

int dispatch_rank(db *d, int64_t request_id, int64_t now, const int64_t *exclude, int nexclude,
                  dispatch_choice *out, int max, dispatch_rank_info *info, err *e) {
    if (max < 1 || max > DISPATCH_RANK_MAX)
        return err_invalid(e, "limit", "between 1 and %d candidates", DISPATCH_RANK_MAX);
    if (nexclude < 0 || (nexclude > 0 && !exclude))
        return err_invalid(e, "exclude", "bad exclusion list");
    dispatch_ctx c;
    if (ctx_load(d, request_id, &c, e) != 0) return -1;
    dsp_cand *cands = xcalloc((size_t)max, sizeof(*cands));
    dsp_counts k;
    int n = dsp_rank(&c.w, &c.r, c.fleet.agents, c.fleet.n, now, exclude, nexclude, cands, max, &k);
    for (int i = 0; i < n; i++)
        dsp_choice_fill(&c.w, &c.r, c.fleet.agents, &cands[i], &k, now, 0, &out[i]);
    info_fill(&c, &k, info);
    free(cands);
    ctx_free(&c);
    return n;
}

static void counts_add(dsp_counts *a, const dsp_counts *b) {
    a->agents += b->agents;
    a->excluded += b->excluded;
    a->bad_hours += b->bad_hours;
    a->full += b->full;
    a->no_skill += b->no_skill;
    a->unreachable += b->unreachable;
    a->ranked += b->ranked;
}

/* One read of agents in the staged single dispatch, with the least score any of them
 * can have. */
typedef struct stage {
    dsp_agents_which which;
    const char *key;
    double bound;
} stage;

static int stage_cmp(const void *x, const void *y) {
    const stage *a = x, *b = y;
    return a->bound < b->bound ? -1 : a->bound > b->bound;
}

/* The stages of request r: remote — its town, then the others (bound
 * DISPATCH_REMOTE_OTHER_TOWN); in person — the agents reporting a position (bound 0),
 * then each town's agents at home, bounded by the travel from the town's nearest
 * station: the drive on the request's island (or, at most, out and back over the
 * island's cheapest links), else the island bound. Towns no link reaches are left out.
 * Returns how many stages, sorted by bound; *cap must hold travel_town_count() + 2. */
static int stages_of(const dsp_world *w, const dsp_request *r, int64_t now, stage *st) {
    if (r->item && r->item->remote) {
        st[0] = (stage){DSP_AGENTS_TOWN, r->town_code, 0};
        st[1] = (stage){DSP_AGENTS_NOT_TOWN, r->town_code, DISPATCH_REMOTE_OTHER_TOWN};
        return 2;
    }
    const travel_graph *g = w->g;
    int nt = travel_town_count(g), home = r->place.island;
    int out_min = DSP_LB_NONE;
    for (int i = 0; i < w->nislands; i++)
        if (i != home && lb_minutes(w, home, i) < out_min) out_min = lb_minutes(w, home, i);
    int *town_min = xmalloc((size_t)(nt > 0 ? nt : 1) * sizeof(int));
    for (int t = 0; t < nt; t++)
        town_min[t] = -1; /* no station seen */
    for (int k = 0; k < travel_station_count(g); k++) {
        const travel_station *sta = travel_station_at(g, k);
        int t = travel_town_find(g, sta->town_code);
        if (t < 0) continue;
        int b;
        if (sta->island == home) {
            b = travel_drive_minutes(sta->lat, sta->lon, r->place.lat, r->place.lon);
            if (out_min < DSP_LB_NONE / 2 && 2 * out_min < b) b = 2 * out_min;
        } else {
            b = lb_minutes(w, sta->island, home);
        }
        if (town_min[t] < 0 || b < town_min[t]) town_min[t] = b;
    }
    int64_t target = dsp_target(r, now);
    int n = 0;
    st[n++] = (stage){DSP_AGENTS_POSITIONED, NULL, 0};
    for (int t = 0; t < nt; t++) {
        int b = town_min[t] < 0 ? 0 : town_min[t];
        if (b >= DSP_LB_NONE) continue;
        int64_t eta = now + (int64_t)b * 60;
        st[n++] = (stage){DSP_AGENTS_TOWN_HOME, travel_town_code(g, t),
                          eta > target ? urgency(r) * (double)(eta - target) / 60.0 : 0.0};
    }
    free(town_min);
    qsort(st, (size_t)n, sizeof(*st), stage_cmp);
    return n;
}

int dispatch_pick(db *d, int64_t request_id, int64_t now, const int64_t *exclude, int nexclude,
                  dispatch_choice *out, err *e) {
    if (nexclude < 0 || (nexclude > 0 && !exclude))
        return err_invalid(e, "exclude", "bad exclusion list");
    dispatch_ctx c;
    memset(&c, 0, sizeof(c));
    if (ctx_load_world(d, &c.w, e) != 0) return -1;
    if (dsp_load_request(d, c.w.g, request_id, &c.r, &c.item, c.status, e) != 0) {
        ctx_free(&c);
        return -1;
    }
    if (status_closed(c.status)) {
        ctx_free(&c);
        return err_conflict(e, "status", "request %lld is %s: nothing to dispatch",
                            (long long)request_id, c.status);
    }
    /* Read agents stage by stage (each an indexed lookup, in order of the least score
     * its agents can have) and stop when the best so far beats the next stage's bound.
     * The answer is the one the full ranking gives (a unit test holds them equal). */
    stage *st = xmalloc((size_t)(travel_town_count(c.w.g) + 2) * sizeof(*st));
    int nst = stages_of(&c.w, &c.r, now, st), found = 0;
    dsp_cand best = {.agent = -1};
    dsp_counts k = {0};
    int full = 0;
    for (int i = 0; i < nst; i++) {
        if (found && best.score < st[i].bound) break;
        /* Many stages still in play after a first candidate (a poor best, a far islet):
         * one read of everyone is cheaper than a lookup per town. */
        int left = 0;
        for (int j = i; found && j < nst && st[j].bound <= best.score; j++)
            left++;
        if (left > STAGES_MAX_LEFT) {
            full = 1;
            break;
        }
        int from = c.fleet.n;
        if (dsp_load_agents_where(d, c.w.g, st[i].which, st[i].key, &c.fleet, e) != 0) {
            free(st);
            ctx_free(&c);
            return -1;
        }
        if (c.fleet.n == from) continue;
        dsp_cand cand;
        dsp_counts kk;
        int n = dsp_rank(&c.w, &c.r, c.fleet.agents + from, c.fleet.n - from, now, exclude,
                         nexclude, &cand, 1, &kk);
        counts_add(&k, &kk);
        if (!n) continue;
        cand.agent += from;
        if (!found || cand.score < best.score ||
            (cand.score == best.score && tie_of(c.r.id, c.fleet.agents[cand.agent].id) <
                                             tie_of(c.r.id, c.fleet.agents[best.agent].id))) {
            best = cand;
            found = 1;
        }
    }
    free(st);
    if (full || !found) {
        /* Everyone on duty: the many-stages case, or nobody (counted for the reason). */
        dsp_fleet_free(&c.fleet);
        if (dsp_load_agents(d, c.w.g, 0, &c.fleet, e) != 0) {
            ctx_free(&c);
            return -1;
        }
        found = dsp_rank(&c.w, &c.r, c.fleet.agents, c.fleet.n, now, exclude, nexclude, &best, 1,
                         &k) > 0;
    }
    dsp_choice_fill(&c.w, &c.r, c.fleet.agents, found ? &best : NULL, &k, now, 0, out);
    ctx_free(&c);
    return 0;
}

/* ---- batch: candidates ---- */

/* A class: agents setting off from one place at one instant with one schedule. */
typedef struct agent_class {
    travel_place origin;
    workcal_schedule hours;
    int64_t t;
    int64_t s1, close1, s2, close2; /* s1 WORKCAL_NEVER: no hours left */
    travel_tree *tree1, *tree2;
    uint64_t hash;
    int next; /* hash chain */
} agent_class;

/* Agents with room and the skill for one item. In person: by the island they set
 * off from, then class, then load (a run of one class shares one travel lookup);
 * remote: by town, then load. With per-island and per-town minima for skipping
 * whole groups. */
typedef struct skill_group {
    const dsp_item *item; /* NULL: requests without an item */
    int n;
    int *by_island;    /* agent indexes */
    int *island_start; /* nislands + 1 offsets into by_island */
    int *island_run;   /* nislands + 1 offsets into run_start */
    int *run_start;    /* run k = by_island[run_start[k] .. run_start[k + 1]) */
    int nruns;
    int64_t *island_min_s1;
    double *island_min_load;
    int *by_town;    /* agent indexes */
    int *town_start; /* ntowns + 2 offsets (the last bucket: towns not on the graph) */
    double *town_min_load;
} skill_group;

typedef struct batch {
    const dsp_world *w;
    const dsp_agent *agents;
    int nagents;
    int64_t now;
    int *rem; /* room left per agent: capacity − open_tasks (0 when unusable) */
    int *cls; /* class of each agent */
    agent_class *classes;
    int nclasses;
    int *class_bucket;
    int nbuckets;
    int nvillages;
    int64_t **cell; /* per village: 2 × nclasses (depart, arrive); 0 unknown, -1 unreachable */
    skill_group *groups;
    int ngroups, groups_cap;
    work_memo memo;
    dsp_matcher match;
    int item_skills; /* some agent names item codes in its skills */
    double *loadkey; /* per agent: LOAD × (open_tasks + extra) + FAIR × served_today */
    int *town;       /* per agent: town index (ntowns when not on the graph) */
    int ntowns;
} batch;

static uint64_t class_hash(const travel_place *o, const workcal_schedule *h, int64_t t) {
    uint64_t x = mix64((uint64_t)o->kind * 1000003u + (uint64_t)(int64_t)o->index);
    uint64_t la, lo;
    memcpy(&la, &o->lat, sizeof(la));
    memcpy(&lo, &o->lon, sizeof(lo));
    x = mix64(x ^ la) ^ mix64(lo + (uint64_t)t);
    const unsigned char *p = (const unsigned char *)h;
    for (size_t i = 0; i < sizeof(*h); i++)
        x = (x ^ p[i]) * 1099511628211ull;
    return x;
}

static int same_place(const travel_place *a, const travel_place *b) {
    return a->kind == b->kind && a->index == b->index && a->island == b->island &&
           a->lat == b->lat && a->lon == b->lon;
}

static void batch_classes(batch *b) {
    b->nbuckets = 1;
    while (b->nbuckets < 2 * b->nagents + 1)
        b->nbuckets <<= 1;
    b->class_bucket = xmalloc((size_t)b->nbuckets * sizeof(int));
    for (int i = 0; i < b->nbuckets; i++)
        b->class_bucket[i] = -1;
    b->classes = xcalloc((size_t)(b->nagents > 0 ? b->nagents : 1), sizeof(agent_class));
    b->cls = xmalloc((size_t)(b->nagents > 0 ? b->nagents : 1) * sizeof(int));
    for (int i = 0; i < b->nagents; i++) {
        const dsp_agent *a = &b->agents[i];
        b->cls[i] = -1;
        if (b->rem[i] <= 0) continue;
        workcal_schedule h;
        memset(&h, 0, sizeof(h));
        h = a->hours;
        int64_t t = max64(b->now, a->free_at);
        uint64_t hash = class_hash(&a->origin, &h, t);
        int k = b->class_bucket[hash & (uint64_t)(b->nbuckets - 1)];
        while (k >= 0 && !(b->classes[k].hash == hash && b->classes[k].t == t &&
                           same_place(&b->classes[k].origin, &a->origin) &&
                           !memcmp(&b->classes[k].hours, &h, sizeof(h))))
            k = b->classes[k].next;
        if (k < 0) {
            k = b->nclasses++;
            agent_class *c = &b->classes[k];
            c->origin = a->origin;
            c->hours = h;
            c->t = t;
            c->hash = hash;
            c->s1 = dsp_work_start(b->w->cal, &h, t, &c->close1, &c->s2);
            c->close2 = 0;
            if (c->s1 != WORKCAL_NEVER && c->s2 != WORKCAL_NEVER)
                c->s2 = dsp_work_start(b->w->cal, &h, c->s2, &c->close2, NULL);
            else
                c->s2 = WORKCAL_NEVER;
            c->next = b->class_bucket[hash & (uint64_t)(b->nbuckets - 1)];
            b->class_bucket[hash & (uint64_t)(b->nbuckets - 1)] = k;
        }
        b->cls[i] = k;
    }
}

/* Depart and arrival of class c at request place p (village index v, or -1 to
 * compute without the matrix). -1 when unreachable. */
static int batch_cell(batch *b, int c, const dsp_request *r, int64_t *depart, int64_t *arrive) {
    agent_class *k = &b->classes[c];
    if (k->s1 == WORKCAL_NEVER) return -1;
    int v = r->place.kind == TRAVEL_PLACE_VILLAGE ? r->place.index : -1;
    int64_t *cell = NULL;
    if (v >= 0 && v < b->nvillages) {
        if (!b->cell[v]) b->cell[v] = xcalloc((size_t)b->nclasses * 2, sizeof(int64_t));
        cell = &b->cell[v][2 * c];
        if (cell[0] == -1) return -1;
        if (cell[0] != 0) {
            *depart = cell[0];
            *arrive = cell[1];
            return 0;
        }
    }
    if (!k->tree1) {
        k->tree1 = travel_tree_new(b->w->g);
        travel_tree_run(k->tree1, &k->origin, k->s1);
    }
    int64_t a1 = travel_tree_arrival(k->tree1, &r->place), a2 = TRAVEL_NEVER;
    if ((a1 == TRAVEL_NEVER || a1 > k->close1) && k->s2 != WORKCAL_NEVER) {
        if (!k->tree2) {
            k->tree2 = travel_tree_new(b->w->g);
            travel_tree_run(k->tree2, &k->origin, k->s2);
        }
        a2 = travel_tree_arrival(k->tree2, &r->place);
    }
    int ok = trip_choose(k->s1, a1, k->close1, k->s2, a2, k->close2, depart, arrive);
    if (cell) {
        cell[0] = ok == 0 ? *depart : -1;
        cell[1] = ok == 0 ? *arrive : -1;
    }
    return ok;
}

/* Orders for qsort_r (context: the batch). */
static int cmp_by_island(const void *x, const void *y, void *ctx) {
    const batch *b = ctx;
    int i = *(const int *)x, j = *(const int *)y;
    int ii = b->agents[i].origin.island, ij = b->agents[j].origin.island;
    if (ii != ij) return ii - ij;
    if (b->cls[i] != b->cls[j]) return b->cls[i] - b->cls[j];
    if (b->loadkey[i] != b->loadkey[j]) return b->loadkey[i] < b->loadkey[j] ? -1 : 1;
    return i - j;
}

static int cmp_by_town(const void *x, const void *y, void *ctx) {
    const batch *b = ctx;
    int i = *(const int *)x, j = *(const int *)y;
    if (b->town[i] != b->town[j]) return b->town[i] - b->town[j];
    if (b->loadkey[i] != b->loadkey[j]) return b->loadkey[i] < b->loadkey[j] ? -1 : 1;
    return i - j;
}

static void batch_groups_clear(batch *b) {
    for (int i = 0; i < b->ngroups; i++) {
        skill_group *gp = &b->groups[i];
        free(gp->by_island);
        free(gp->island_start);
        free(gp->island_run);
        free(gp->run_start);
        free(gp->island_min_s1);
        free(gp->island_min_load);
        free(gp->by_town);
        free(gp->town_start);
        free(gp->town_min_load);
    }
    b->ngroups = 0;
}

/* Requests share a group when their items' skilled agents are the same: one item,
 * or — when no agent names items in its skills — one department. */
static int group_same(const batch *b, const dsp_item *x, const dsp_item *y) {
    if (x == y) return 1;
    if (!x || !y || !x->known || !y->known) return (!x || !x->known) && (!y || !y->known);
    return !b->item_skills && !strcmp(x->department, y->department);
}

static skill_group *batch_group(batch *b, const dsp_item *item) {
    for (int i = 0; i < b->ngroups; i++)
        if (group_same(b, b->groups[i].item, item)) return &b->groups[i];
    if (b->ngroups == b->groups_cap) {
        b->groups_cap = b->groups_cap ? 2 * b->groups_cap : 64;
        b->groups = xrealloc(b->groups, (size_t)b->groups_cap * sizeof(skill_group));
    }
    skill_group *gp = &b->groups[b->ngroups++];
    memset(gp, 0, sizeof(*gp));
    gp->item = item;
    size_t na = (size_t)(b->nagents > 0 ? b->nagents : 1);
    gp->by_island = xmalloc(na * sizeof(int));
    gp->by_town = xmalloc(na * sizeof(int));
    gp->run_start = xmalloc((na + 1) * sizeof(int));
    dsp_matcher_init(&b->match, item);
    for (int i = 0; i < b->nagents; i++)
        if (b->rem[i] > 0 && b->cls[i] >= 0 && dsp_matcher_match(&b->match, b->agents[i].skills))
            gp->by_island[gp->n++] = i;
    memcpy(gp->by_town, gp->by_island, (size_t)gp->n * sizeof(int));
    qsort_r(gp->by_island, (size_t)gp->n, sizeof(int), cmp_by_island, b);
    qsort_r(gp->by_town, (size_t)gp->n, sizeof(int), cmp_by_town, b);
    int ni = b->w->nislands;
    gp->island_start = xcalloc((size_t)ni + 1, sizeof(int));
    gp->island_run = xcalloc((size_t)ni + 1, sizeof(int));
    gp->island_min_s1 = xmalloc((size_t)(ni > 0 ? ni : 1) * sizeof(int64_t));
    gp->island_min_load = xmalloc((size_t)(ni > 0 ? ni : 1) * sizeof(double));
    int k = 0;
    for (int isl = 0; isl < ni; isl++) {
        gp->island_start[isl] = k;
        gp->island_run[isl] = gp->nruns;
        gp->island_min_s1[isl] = WORKCAL_NEVER;
        gp->island_min_load[isl] = 1e300;
        while (k < gp->n && b->agents[gp->by_island[k]].origin.island == isl) {
            int ai = gp->by_island[k];
            if (k == gp->island_start[isl] || b->cls[gp->by_island[k - 1]] != b->cls[ai])
                gp->run_start[gp->nruns++] = k;
            int64_t s1 = b->classes[b->cls[ai]].s1;
            if (s1 < gp->island_min_s1[isl]) gp->island_min_s1[isl] = s1;
            if (b->loadkey[ai] < gp->island_min_load[isl])
                gp->island_min_load[isl] = b->loadkey[ai];
            k++;
        }
    }
    gp->island_start[ni] = gp->n;
    gp->island_run[ni] = gp->nruns;
    gp->run_start[gp->nruns] = gp->n;
    int nt = b->ntowns + 1;
    gp->town_start = xcalloc((size_t)nt + 1, sizeof(int));
    gp->town_min_load = xmalloc((size_t)nt * sizeof(double));
    k = 0;
    for (int t = 0; t < nt; t++) {
        gp->town_start[t] = k;
        gp->town_min_load[t] = 1e300;
        if (k < gp->n && b->town[gp->by_town[k]] == t)
            gp->town_min_load[t] = b->loadkey[gp->by_town[k]];
        while (k < gp->n && b->town[gp->by_town[k]] == t)
            k++;
    }
    gp->town_start[nt] = gp->n;
    return gp;
}

/* A bounded max-heap of the K best candidates of one request. */
typedef struct kbest {
    int n, k;
    dsp_cand c[DISPATCH_BATCH_CANDIDATES];
    uint64_t tie[DISPATCH_BATCH_CANDIDATES];
} kbest;

static int kb_worse(const kbest *h, int i, int j) { /* i worse than j */
    return cand_better(&h->c[j], h->tie[j], &h->c[i], h->tie[i]);
}

static void kb_swap(kbest *h, int i, int j) {
    dsp_cand c = h->c[i];
    h->c[i] = h->c[j];
    h->c[j] = c;
    uint64_t t = h->tie[i];
    h->tie[i] = h->tie[j];
    h->tie[j] = t;
}

static void kb_push(kbest *h, const dsp_cand *c, uint64_t tie) {
    if (h->n == h->k) {
        if (!cand_better(c, tie, &h->c[0], h->tie[0])) return;
        h->c[0] = *c;
        h->tie[0] = tie;
        for (int i = 0;;) { /* sift down: the root is the worst */
            int l = 2 * i + 1, r = l + 1, m = i;
            if (l < h->n && kb_worse(h, l, m)) m = l;
            if (r < h->n && kb_worse(h, r, m)) m = r;
            if (m == i) break;
            kb_swap(h, i, m);
            i = m;
        }
        return;
    }
    int i = h->n++;
    h->c[i] = *c;
    h->tie[i] = tie;
    while (i > 0 && kb_worse(h, i, (i - 1) / 2)) {
        kb_swap(h, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

/* The score a candidate of this heap must beat to get in (+inf while not full). */
static double kb_bar(const kbest *h) {
    return h->n < h->k ? 1e300 : h->c[0].score;
}

static void kb_offer(kbest *h, const dsp_request *r, const dsp_agent *a, int ai, int remote,
                     int64_t depart, int64_t arrive, int64_t eta, int64_t target, double score) {
    if (score > kb_bar(h)) return;
    dsp_cand c = {.agent = ai, .remote = remote, .depart = depart, .arrive = arrive, .eta = eta};
    c.wait_minutes = wait_minutes(eta, target);
    c.score = score;
    kb_push(h, &c, tie_of(r->id, a->id));
}

/* Remote: the request's own town first, then the other towns while their least
 * loaded agent could still get in. */
static void candidates_remote(batch *b, const dsp_request *r, skill_group *gp, int64_t target,
                              kbest *h) {
    int nt = b->ntowns + 1;
    int home = travel_town_find(b->w->g, r->town_code);
    if (home < 0) home = b->ntowns;
    double u = urgency(r);
    for (int pass = 0; pass < 2; pass++)
        for (int t = 0; t < nt; t++) {
            if ((pass == 0) != (t == home)) continue;
            double pen = t == home ? 0.0 : DISPATCH_REMOTE_OTHER_TOWN;
            if (gp->town_min_load[t] + pen > kb_bar(h)) continue;
            for (int k = gp->town_start[t]; k < gp->town_start[t + 1]; k++) {
                int ai = gp->by_town[k];
                if (b->rem[ai] <= 0) continue;
                if (b->loadkey[ai] + pen > kb_bar(h)) break; /* sorted by load */
                const dsp_agent *a = &b->agents[ai];
                const agent_class *c = &b->classes[b->cls[ai]];
                int64_t s =
                    target > c->t ? memo_start(&b->memo, b->w->cal, &a->hours, target) : c->s1;
                if (s == WORKCAL_NEVER) continue;
                double sc = u * (double)(s > target ? s - target : 0) / 60.0 + b->loadkey[ai] +
                            (strcmp(a->town_code, r->town_code) ? DISPATCH_REMOTE_OTHER_TOWN : 0);
                kb_offer(h, r, a, ai, 1, s, s, s, target, sc);
            }
        }
}

/* In person: the request's own island first (no crossing), then the other islands
 * while their bound (earliest start + the island lower bound, least load) can still
 * get in; within an island, one travel lookup per class. */
static void candidates_in_person(batch *b, const dsp_request *r, skill_group *gp, int64_t target,
                                 kbest *h) {
    int ni = b->w->nislands, home = r->place.island;
    double u = urgency(r);
    for (int pass = 0; pass < 2; pass++)
        for (int isl = 0; isl < ni; isl++) {
            if ((pass == 0) != (isl == home)) continue;
            if (gp->island_start[isl] == gp->island_start[isl + 1]) continue;
            int lb = lb_minutes(b->w, isl, home);
            if (lb >= DSP_LB_NONE || gp->island_min_s1[isl] == WORKCAL_NEVER) continue;
            int64_t lbeta = max64(gp->island_min_s1[isl] + (int64_t)lb * 60, target);
            if (u * (double)(lbeta - target) / 60.0 + gp->island_min_load[isl] > kb_bar(h))
                continue;
            for (int run = gp->island_run[isl]; run < gp->island_run[isl + 1]; run++) {
                int lo = gp->run_start[run], hi = gp->run_start[run + 1];
                int c = b->cls[gp->by_island[lo]];
                if (b->classes[c].s1 == WORKCAL_NEVER) continue;
                int64_t e = max64(b->classes[c].s1 + (int64_t)lb * 60, target);
                if (u * (double)(e - target) / 60.0 + b->loadkey[gp->by_island[lo]] > kb_bar(h))
                    continue;
                int64_t dep, arr;
                if (batch_cell(b, c, r, &dep, &arr) != 0) continue;
                int64_t eta = max64(arr, target);
                double wpart = u * (double)(eta - target) / 60.0;
                for (int k = lo; k < hi; k++) {
                    int ai = gp->by_island[k];
                    if (b->rem[ai] <= 0) continue;
                    double sc = wpart + b->loadkey[ai];
                    if (sc > kb_bar(h)) break; /* sorted by load */
                    kb_offer(h, r, &b->agents[ai], ai, 0, dep, arr, eta, target, sc);
                }
            }
        }
}

/* Fill h with the best candidates of r among agents with room. */
static void batch_candidates(batch *b, const dsp_request *r, kbest *h) {
    skill_group *gp = batch_group(b, r->item);
    int64_t target = dsp_target(r, b->now);
    h->n = 0;
    h->k = DISPATCH_BATCH_CANDIDATES;
    if (r->item && r->item->remote)
        candidates_remote(b, r, gp, target, h);
    else
        candidates_in_person(b, r, gp, target, h);
}

static void batch_free(batch *b) {
    for (int i = 0; i < b->nclasses; i++) {
        travel_tree_free(b->classes[i].tree1);
        travel_tree_free(b->classes[i].tree2);
    }
    free(b->classes);
    free(b->class_bucket);
    free(b->cls);
    if (b->cell)
        for (int v = 0; v < b->nvillages; v++)
            free(b->cell[v]);
    free(b->cell);
    batch_groups_clear(b);
    free(b->groups);
    free(b->loadkey);
    free(b->town);
}

/* ---- batch: the min-cost flow ---- */

/* Nodes: requests 0..nr-1, agents nr..nr+na-1, the sink T = nr+na. Arcs: request →
 * candidate agent (its base cost), request → T (waiting: its penalty), agent → T (the
 * next free slot: LOAD × (open + used)), and the residual reverses agent → request of
 * the current assignment. Costs are integers (hundredths of a minute), so reduced
 * costs are exact. */
typedef struct flow {
    int nr, na, T;
    const int *cstart, *cagent;
    const int64_t *ccost, *penalty;
    const int *rem, *open;
    int64_t slot_cost;
    int *asg; /* agent, -1 waiting, -2 not added yet */
    int64_t *asg_cost;
    int *list_off, *used, *list; /* each agent's assigned requests */
    int64_t *pot, *dist;
    int *stamp, *done, *pred, *settled;
    int cur;
    struct heap_item {
        int64_t key;
        int node;
    } * heap;
    int nheap, heap_cap;
    long settled_total;
} flow;

static void heap_push(flow *f, int64_t key, int node) {
    if (f->nheap == f->heap_cap) {
        f->heap_cap = f->heap_cap ? 2 * f->heap_cap : 1024;
        f->heap = xrealloc(f->heap, (size_t)f->heap_cap * sizeof(*f->heap));
    }
    int i = f->nheap++;
    while (i > 0 && f->heap[(i - 1) / 2].key > key) {
        f->heap[i] = f->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    f->heap[i].key = key;
    f->heap[i].node = node;
}

static int heap_pop(flow *f, int64_t *key, int *node) {
    if (f->nheap == 0) return 0;
    *key = f->heap[0].key;
    *node = f->heap[0].node;
    struct heap_item last = f->heap[--f->nheap];
    int i = 0;
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        int64_t mk = last.key;
        if (l < f->nheap && f->heap[l].key < mk) {
            m = l;
            mk = f->heap[l].key;
        }
        if (r < f->nheap && f->heap[r].key < mk) m = r;
        if (m == i) break;
        f->heap[i] = f->heap[m];
        i = m;
    }
    if (f->nheap > 0) f->heap[i] = last;
    return 1;
}

static void relax(flow *f, int v, int64_t nd, int from) {
    if (f->stamp[v] != f->cur || nd < f->dist[v]) {
        f->stamp[v] = f->cur;
        f->dist[v] = nd;
        f->pred[v] = from;
        heap_push(f, nd, v);
    }
}

static int64_t arc_cost(const flow *f, int r, int a) {
    for (int j = f->cstart[r]; j < f->cstart[r + 1]; j++)
        if (f->cagent[j] == a) return f->ccost[j];
    return 0;
}

static void list_remove(flow *f, int a, int r) {
    int *l = f->list + f->list_off[a];
    for (int k = 0; k < f->used[a]; k++)
        if (l[k] == r) {
            l[k] = l[--f->used[a]];
            return;
        }
}

/* Add request s: the shortest path from s to T on reduced costs, potentials updated,
 * the assignment changed along the path. */
static void flow_add(flow *f, int s) {
    f->cur++;
    f->nheap = 0;
    int nsettled = 0;
    relax(f, s, 0, -1);
    int64_t D = 0, d;
    int u;
    while (heap_pop(f, &d, &u)) {
        if (f->done[u] == f->cur || d != f->dist[u]) continue;
        f->done[u] = f->cur;
        if (u == f->T) {
            D = d;
            break;
        }
        f->settled[nsettled++] = u;
        if (u < f->nr) {
            for (int j = f->cstart[u]; j < f->cstart[u + 1]; j++) {
                int v = f->nr + f->cagent[j];
                if (f->asg[u] == f->cagent[j]) continue;
                relax(f, v, d + f->ccost[j] + f->pot[u] - f->pot[v], u);
            }
            if (f->asg[u] != -1) relax(f, f->T, d + f->penalty[u] + f->pot[u] - f->pot[f->T], u);
        } else {
            int a = u - f->nr;
            if (f->used[a] < f->rem[a])
                relax(f, f->T,
                      d + f->slot_cost * (f->open[a] + f->used[a]) + f->pot[u] - f->pot[f->T], u);
            const int *l = f->list + f->list_off[a];
            for (int k = 0; k < f->used[a]; k++)
                relax(f, l[k], d - f->asg_cost[l[k]] + f->pot[u] - f->pot[l[k]], u);
        }
    }
    for (int i = 0; i < nsettled; i++)
        f->pot[f->settled[i]] += f->dist[f->settled[i]] - D;
    f->settled_total += nsettled;
    /* Walk the path back from T. */
    int v = f->T;
    while (v != s) {
        int p = f->pred[v];
        if (v == f->T) {
            if (p < f->nr) f->asg[p] = -1; /* p waits (s itself, or one bumped) */
        } else if (v >= f->nr) {           /* p (a request) takes agent v */
            int a = v - f->nr;
            f->list[f->list_off[a] + f->used[a]++] = p;
            f->asg[p] = a;
            f->asg_cost[p] = arc_cost(f, p, a);
        } else { /* agent p gives request v up */
            list_remove(f, p - f->nr, v);
        }
        v = p;
    }
}

long dsp_flow_solve(int nr, int na, const int *cstart, const int *cagent, const int64_t *ccost,
                    const int64_t *penalty, const int *rem, const int *open, int64_t slot_cost,
                    const int *order, int *asg) {
    flow f = {0};
    f.nr = nr;
    f.na = na;
    f.T = nr + na;
    f.cstart = cstart;
    f.cagent = cagent;
    f.ccost = ccost;
    f.penalty = penalty;
    f.rem = rem;
    f.open = open;
    f.slot_cost = slot_cost;
    f.asg = asg;
    for (int i = 0; i < nr; i++)
        asg[i] = -2;
    f.asg_cost = xcalloc((size_t)(nr ? nr : 1), sizeof(int64_t));
    f.list_off = xmalloc((size_t)(na + 1) * sizeof(int));
    f.used = xcalloc((size_t)(na ? na : 1), sizeof(int));
    int off = 0;
    for (int a = 0; a < na; a++) {
        f.list_off[a] = off;
        off += rem[a] > 0 ? rem[a] : 0;
    }
    f.list_off[na] = off;
    f.list = xmalloc((size_t)(off ? off : 1) * sizeof(int));
    int nn = nr + na + 1;
    f.pot = xcalloc((size_t)nn, sizeof(int64_t));
    f.dist = xcalloc((size_t)nn, sizeof(int64_t));
    f.stamp = xcalloc((size_t)nn, sizeof(int));
    f.done = xcalloc((size_t)nn, sizeof(int));
    f.pred = xcalloc((size_t)nn, sizeof(int));
    f.settled = xmalloc((size_t)nn * sizeof(int));
    for (int i = 0; i < nr; i++)
        flow_add(&f, order ? order[i] : i);
    free(f.asg_cost);
    free(f.list_off);
    free(f.used);
    free(f.list);
    free(f.pot);
    free(f.dist);
    free(f.stamp);
    free(f.done);
    free(f.pred);
    free(f.settled);
    free(f.heap);
    return f.settled_total;
}

/* ---- batch: rounds ---- */

typedef struct round_input {
    int nr;
    int *req;     /* indexes into the batch's requests */
    kbest *cands; /* per request of this round */
} round_input;

typedef struct assigned_ctx {
    const int *asg, *req;
    const dsp_cand *out;
} assigned_ctx;

/* Assigned requests by agent, then arrival, then order. */
static int cmp_assigned(const void *x, const void *y, void *ctx) {
    const assigned_ctx *c = ctx;
    int i = *(const int *)x, j = *(const int *)y;
    if (c->asg[i] != c->asg[j]) return c->asg[i] - c->asg[j];
    int64_t ei = c->out[c->req[i]].eta, ej = c->out[c->req[j]].eta;
    if (ei != ej) return ei < ej ? -1 : 1;
    return i - j;
}

/* Solve one round (greedy = 0: min-cost flow; 1: one at a time) over the agents' room in
 * b->rem with extra loads already given in extra[] (added to open_tasks); write the
 * chosen candidate into out[req] and the load into load[req]; update extra/rem. */
static void solve_round(batch *b, const dsp_request *reqs, round_input *ri, int greedy, int *extra,
                        dsp_cand *out, int *load, dsp_assign_stats *st) {
    int nr = ri->nr, na = b->nagents;
    if (nr == 0) return;
    int *cstart = xmalloc((size_t)(nr + 1) * sizeof(int));
    int ncand = 0;
    for (int i = 0; i < nr; i++)
        ncand += ri->cands[i].n;
    int *cagent = xmalloc((size_t)(ncand ? ncand : 1) * sizeof(int));
    int64_t *ccost = xmalloc((size_t)(ncand ? ncand : 1) * sizeof(int64_t));
    int64_t *penalty = xmalloc((size_t)nr * sizeof(int64_t));
    int *open = xmalloc((size_t)(na ? na : 1) * sizeof(int));
    for (int a = 0; a < na; a++)
        open[a] = b->agents[a].open_tasks + extra[a];
    int k = 0;
    for (int i = 0; i < nr; i++) {
        const dsp_request *r = &reqs[ri->req[i]];
        cstart[i] = k;
        int64_t target = dsp_target(r, b->now);
        for (int j = 0; j < ri->cands[i].n; j++) {
            const dsp_cand *c = &ri->cands[i].c[j];
            cagent[k] = c->agent;
            ccost[k] =
                llround(base_score(r, &b->agents[c->agent], c->remote, c->eta, target) * 100.0);
            k++;
        }
        penalty[i] = llround(DISPATCH_UNASSIGNED_MINUTES * urgency(r) * 100.0);
    }
    cstart[nr] = k;
    st->candidates += ncand;
    int64_t slot = llround(DISPATCH_LOAD_MINUTES * 100.0);
    int *asg = xmalloc((size_t)nr * sizeof(int));
    for (int i = 0; i < nr; i++)
        asg[i] = -2;
    if (greedy) {
        int *used = xcalloc((size_t)(na ? na : 1), sizeof(int));
        for (int i = 0; i < nr; i++) {
            int best = -1;
            int64_t bc = 0;
            for (int j = cstart[i]; j < cstart[i + 1]; j++) {
                int a = cagent[j];
                if (used[a] >= b->rem[a]) continue;
                int64_t c = ccost[j] + slot * (open[a] + used[a]);
                if (best < 0 || c < bc) {
                    best = j;
                    bc = c;
                }
            }
            asg[i] = best < 0 ? -1 : cagent[best];
            if (best >= 0) used[cagent[best]]++;
        }
        free(used);
    } else {
        /* Urgent requests first (any order is optimal; this one settles the urgent early). */
        int *order = xmalloc((size_t)nr * sizeof(int));
        int no = 0;
        for (int i = 0; i < nr; i++)
            if (reqs[ri->req[i]].urgent) order[no++] = i;
        for (int i = 0; i < nr; i++)
            if (!reqs[ri->req[i]].urgent) order[no++] = i;
        st->searches_nodes += (int)dsp_flow_solve(nr, na, cstart, cagent, ccost, penalty, b->rem,
                                                  open, slot, order, asg);
        free(order);
    }
    /* Output: each agent's new tasks numbered in order of arrival, so the k-th one is
     * scored with the k − 1 before it as load. */
    int *byagent_n = xcalloc((size_t)(na ? na : 1), sizeof(int));
    int *idx = xmalloc((size_t)nr * sizeof(int));
    int m = 0;
    for (int i = 0; i < nr; i++) {
        int ri_idx = ri->req[i];
        if (asg[i] < 0) {
            out[ri_idx].agent = -1;
            continue;
        }
        for (int j = 0; j < ri->cands[i].n; j++)
            if (ri->cands[i].c[j].agent == asg[i]) out[ri_idx] = ri->cands[i].c[j];
        byagent_n[asg[i]]++;
        idx[m++] = i;
    }
    assigned_ctx ac = {asg, ri->req, out};
    qsort_r(idx, (size_t)m, sizeof(int), cmp_assigned, &ac);
    int before = 0;
    for (int q = 0; q < m; q++) {
        int i = idx[q], a = asg[i], ri_idx = ri->req[i];
        before = q > 0 && asg[idx[q - 1]] == a ? before + 1 : 0;
        const dsp_request *r = &reqs[ri_idx];
        int l = open[a] - b->agents[a].open_tasks + before; /* extra load ahead of this one */
        if (load) load[ri_idx] = b->agents[a].open_tasks + l;
        out[ri_idx].score = dsp_score(r, &b->agents[a], out[ri_idx].remote, out[ri_idx].eta,
                                      dsp_target(r, b->now), l);
    }
    free(idx);
    for (int a = 0; a < na; a++) {
        extra[a] += byagent_n[a];
        b->rem[a] -= byagent_n[a];
    }
    free(byagent_n);
    free(asg);
    free(cstart);
    free(cagent);
    free(ccost);
    free(penalty);
    free(open);
}

static int assign(const dsp_world *w, const dsp_request *reqs, int nreqs, const dsp_agent *agents,
                  int nagents, int64_t now, dsp_cand *out, int *load, dsp_assign_stats *st_out,
                  int greedy) {
    dsp_assign_stats st = {0};
    batch b = {0};
    b.w = w;
    b.agents = agents;
    b.nagents = nagents;
    b.now = now;
    b.rem = xcalloc((size_t)(nagents ? nagents : 1), sizeof(int));
    for (int i = 0; i < nagents; i++)
        b.rem[i] = agents[i].hours_ok && agents[i].capacity > agents[i].open_tasks
                       ? agents[i].capacity - agents[i].open_tasks
                       : 0;
    batch_classes(&b);
    b.nvillages = travel_village_count(w->g);
    b.cell = xcalloc((size_t)(b.nvillages > 0 ? b.nvillages : 1), sizeof(int64_t *));
    int *extra = xcalloc((size_t)(nagents ? nagents : 1), sizeof(int));
    b.loadkey = xcalloc((size_t)(nagents ? nagents : 1), sizeof(double));
    b.town = xcalloc((size_t)(nagents ? nagents : 1), sizeof(int));
    b.ntowns = travel_town_count(w->g);
    for (int i = 0; i < nagents; i++)
        if (agents[i].skills && agents[i].skills->nitems > 0) b.item_skills = 1;
    for (int i = 0; i < nagents; i++) {
        b.town[i] = travel_town_find(w->g, agents[i].town_code);
        if (b.town[i] < 0) b.town[i] = b.ntowns;
    }
    for (int i = 0; i < nreqs; i++) {
        memset(&out[i], 0, sizeof(out[i]));
        out[i].agent = -1;
        if (load) load[i] = 0;
    }
    round_input ri = {0};
    ri.req = xmalloc((size_t)(nreqs ? nreqs : 1) * sizeof(int));
    ri.cands = xmalloc((size_t)(nreqs ? nreqs : 1) * sizeof(kbest));
    int *pending = xmalloc((size_t)(nreqs ? nreqs : 1) * sizeof(int));
    int npending = nreqs;
    for (int i = 0; i < nreqs; i++)
        pending[i] = i;
    for (int round = 0; round < BATCH_ROUNDS && npending > 0; round++) {
        uint64_t c0 = time_mono_ns();
        batch_groups_clear(&b);
        for (int i = 0; i < nagents; i++)
            b.loadkey[i] = DISPATCH_LOAD_MINUTES * (agents[i].open_tasks + extra[i]) +
                           DISPATCH_FAIR_MINUTES * agents[i].served_today;
        ri.nr = 0;
        for (int i = 0; i < npending; i++) {
            kbest *h = &ri.cands[ri.nr];
            batch_candidates(&b, &reqs[pending[i]], h);
            if (h->n == 0) continue; /* nobody can: it waits */
            ri.req[ri.nr++] = pending[i];
        }
        uint64_t c1 = time_mono_ns();
        st.ms_candidates += (double)(c1 - c0) / 1e6;
        if (ri.nr == 0) break;
        solve_round(&b, reqs, &ri, greedy, extra, out, load, &st);
        st.ms_flow += (double)(time_mono_ns() - c1) / 1e6;
        /* Who still waits after this round, while agents have room, tries again. */
        int n2 = 0;
        for (int i = 0; i < ri.nr; i++)
            if (out[ri.req[i]].agent < 0) pending[n2++] = ri.req[i];
        npending = n2;
    }
    for (int i = 0; i < nreqs; i++) {
        if (out[i].agent < 0) {
            st.unassigned++;
            continue;
        }
        st.assigned++;
        if (out[i].remote) st.remote++;
        st.total_score += out[i].score;
    }
    free(pending);
    free(ri.req);
    free(ri.cands);
    free(extra);
    free(b.rem);
    batch_free(&b);
    if (st_out) *st_out = st;
    return 0;
}

int dsp_assign(const dsp_world *w, const dsp_request *reqs, int nreqs, const dsp_agent *agents,
               int nagents, int64_t now, dsp_cand *out, int *load, dsp_assign_stats *st) {
    return assign(w, reqs, nreqs, agents, nagents, now, out, load, st, 0);
}

int dsp_assign_greedy(const dsp_world *w, const dsp_request *reqs, int nreqs,
                      const dsp_agent *agents, int nagents, int64_t now, dsp_cand *out, int *load,
                      dsp_assign_stats *st) {
    return assign(w, reqs, nreqs, agents, nagents, now, out, load, st, 1);
}

/* ---- batch: the database ---- */

/* Distinct items of a batch, loaded once each: from the catalog's list pages when
 * there are many (one page holds CATALOG_MAX_LIMIT summaries; reading a few pages is
 * cheaper than hundreds of full guides), else one by one. */
#define ITEMS_BY_LIST_MIN   24
#define ITEMS_LIST_MAX_PAGE 50

typedef struct item_set {
    char **codes;    /* sorted, distinct */
    dsp_item *items; /* parallel; known = 0 until found */
    int *found;
    int n;
} item_set;

static int cmp_str(const void *x, const void *y) {
    return strcmp(*(char *const *)x, *(char *const *)y);
}

static int item_set_find(const item_set *s, const char *code) {
    int lo = 0, hi = s->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(s->codes[mid], code);
        if (c == 0) return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

/* codes[0..n) (NULL entries skipped; borrowed) → the set, every item loaded. */
static int item_set_load(item_set *s, db *d, char **codes, int n, err *e) {
    memset(s, 0, sizeof(*s));
    s->codes = xmalloc((size_t)(n ? n : 1) * sizeof(char *));
    for (int i = 0; i < n; i++)
        if (codes[i]) s->codes[s->n++] = codes[i];
    qsort(s->codes, (size_t)s->n, sizeof(char *), cmp_str);
    int k = 0;
    for (int i = 0; i < s->n; i++)
        if (k == 0 || strcmp(s->codes[k - 1], s->codes[i]) != 0) s->codes[k++] = s->codes[i];
    s->n = k;
    s->items = xcalloc((size_t)(k ? k : 1), sizeof(dsp_item));
    s->found = xcalloc((size_t)(k ? k : 1), sizeof(int));
    int left = k;
    if (k >= ITEMS_BY_LIST_MIN) {
        for (int page = 0; page < ITEMS_LIST_MAX_PAGE && left > 0; page++) {
            catalog_filter f = {.limit = CATALOG_MAX_LIMIT,
                                .offset = (int64_t)page * CATALOG_MAX_LIMIT};
            json_t *list = catalog_item_list(d, &f, e);
            if (!list) return -1;
            json_t *arr = json_object_get(list, "items"), *it;
            size_t i;
            json_array_foreach(arr, i, it) {
                int x = item_set_find(s, json_string_value(json_object_get(it, "code")));
                if (x < 0 || s->found[x]) continue;
                dsp_item_from_json(it, &s->items[x]);
                s->found[x] = 1;
                left--;
            }
            size_t got = json_array_size(arr);
            json_decref(list);
            if (got < CATALOG_MAX_LIMIT) break;
        }
    }
    for (int i = 0; i < k; i++)
        if (!s->found[i]) {
            if (dsp_load_item(d, s->codes[i], &s->items[i], e) != 0) return -1;
            s->found[i] = 1;
        }
    return 0;
}

static void item_set_free(item_set *s) {
    free(s->codes);
    free(s->items);
    free(s->found);
}

int dsp_batch_db(db *d, int64_t now, const int64_t *request_ids, int n, int greedy,
                 dispatch_choice *out, dsp_assign_stats *st_out, err *e) {
    if (n < 1 || n > DISPATCH_BATCH_MAX || !request_ids || !out)
        return err_invalid(e, "requests", "a batch holds 1 to %d requests", DISPATCH_BATCH_MAX);
    dsp_world w;
    if (ctx_load_world(d, &w, e) != 0) return -1;
    dsp_fleet fleet;
    if (dsp_load_agents(d, w.g, 0, &fleet, e) != 0) {
        dsp_world_free(&w);
        return -1;
    }
    dsp_request *reqs = xcalloc((size_t)n, sizeof(*reqs));
    item_set items = {0};
    char **codes = xcalloc((size_t)n, sizeof(char *));
    int ret = 0;
    for (int i = 0; i < n && ret == 0; i++) {
        db_stmt *s = db_query(d, e, REQUEST_SQL, "i", request_ids[i]);
        if (!s) {
            ret = -1;
            break;
        }
        int rc = db_step(s);
        if (rc != DB_ROW) {
            db_reset(s);
            ret = rc == DB_ERROR
                      ? err_internal(e, "request: %s", db_errmsg(d))
                      : err_notfound(e, "no assisted request %lld", (long long)request_ids[i]);
            break;
        }
        char code[DSP_CODE_MAX], status[32];
        ret = request_from_row(s, w.g, &reqs[i], code, sizeof(code), status, e);
        db_reset(s);
        if (ret == 0 && status_closed(status))
            ret = err_conflict(e, "status", "request %lld is %s: nothing to dispatch",
                               (long long)request_ids[i], status);
        if (ret == 0 && code[0]) codes[i] = xstrdup(code);
    }
    /* Items after the requests, each once. */
    if (ret == 0) ret = item_set_load(&items, d, codes, n, e);
    for (int i = 0; i < n && ret == 0; i++)
        if (codes[i]) reqs[i].item = &items.items[item_set_find(&items, codes[i])];
    if (ret == 0) {
        dsp_cand *cands = xcalloc((size_t)n, sizeof(*cands));
        int *load = xcalloc((size_t)n, sizeof(int));
        dsp_assign_stats st;
        assign(&w, reqs, n, fleet.agents, fleet.n, now, cands, load, &st, greedy);
        if (st_out) *st_out = st;
        for (int i = 0; i < n; i++) {
            if (cands[i].agent < 0) {
                memset(&out[i], 0, sizeof(out[i]));
                snprintf(out[i].reason, sizeof(out[i].reason),
                         "批量派单：暂无有空余的对口人员，请求等待派单，超时将升级");
                continue;
            }
            const dsp_agent *a = &fleet.agents[cands[i].agent];
            dsp_choice_fill(&w, &reqs[i], fleet.agents, &cands[i], NULL, now,
                            load[i] - a->open_tasks, &out[i]);
        }
        free(cands);
        free(load);
    }
    for (int i = 0; i < n; i++)
        free(codes[i]);
    free(codes);
    item_set_free(&items);
    free(reqs);
    dsp_fleet_free(&fleet);
    dsp_world_free(&w);
    return ret;
}

int dispatch_batch(db *d, int64_t now, const int64_t *request_ids, int n, dispatch_choice *out,
                   err *e) {
    return dsp_batch_db(d, now, request_ids, n, 0, out, NULL, e);
}
