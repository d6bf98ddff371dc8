/* dispatch_internal.h: the in-memory core of 智能派单, shared by dispatch.c (the
 * database entry points and the batch assignment), dispatch_sim.c (the synthetic
 * day) and the unit tests — not for other modules (they use dispatch.h).
 *
 * Everything here works on plain arrays of dsp_agent and dsp_request built by the
 * caller, so the same scoring serves a request read from the database, a simulated
 * day and a hand-made test world. The score is in minutes (see dispatch.h). */
#ifndef ISLE_DISPATCH_INTERNAL_H
#define ISLE_DISPATCH_INTERNAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "db/db.h"
#include "island/dispatch.h"
#include "island/travel.h"
#include "workcal/workcal.h"

#define DSP_NAME_MAX 64
#define DSP_CODE_MAX 40
#define DSP_DEPT_MAX 160
#define DSP_LB_NONE  (1 << 30) /* island lower bound: no link path at all */

/** Skills as parsed from the agents.skills JSON ({"all":bool,"departments":[…],
 *  "items":[…]}). Owned by a generation of the skills cache (dsp_skills_hold()). */
typedef struct dsp_skills {
    int all;
    int valid; /* 0: the text was not a skills object (matches nothing) */
    int ndepartments, nitems;
    char **departments;
    char **items;
    const int *department_ids; /* interned in the generation (-1: not interned) */
} dsp_skills;

/** What dispatch needs of a catalog item. */
typedef struct dsp_item {
    char code[DSP_CODE_MAX];
    char name[128];
    char department[DSP_DEPT_MAX];
    int known; /* 1: found in the catalog */
    int online_depth, visits;
    int remote;          /* DSP_REMOTE_*: can be handled online, no travel */
    int service_minutes; /* simulation: minutes of work at the resident's (or online) */
    double weight;       /* simulation: how often residents ask for it */
} dsp_item;

enum { DSP_REMOTE_NO = 0, DSP_REMOTE_FULL = 1 /* 全程网办 */, DSP_REMOTE_ZERO_VISIT = 2 };

/** An agent as dispatch sees it. Strings are copies; skills belongs to the skills
 *  generation its owner holds. */
typedef struct dsp_agent {
    int64_t id;
    char name[DSP_NAME_MAX];
    char town_code[16];
    char village_code[16]; /* the home station's village */
    travel_place home;     /* the home station */
    travel_place origin;   /* where the agent sets off from now (home or last position) */
    int at_home;           /* origin is the home station */
    const dsp_skills *skills;
    workcal_schedule hours;
    int hours_ok; /* 0: hours did not parse (the agent is never chosen) */
    int capacity, open_tasks, served_today;
    int64_t free_at; /* earliest departure known to dispatch (0: now) */
} dsp_agent;

/** A request as dispatch sees it. item NULL: no item named ("not sure what I need"). */
typedef struct dsp_request {
    int64_t id;
    travel_place place; /* the village */
    char village_code[16];
    char town_code[16];
    const dsp_item *item;
    int urgent;
    int64_t preferred; /* unix seconds, 0 = as soon as possible */
} dsp_request;

/** The graph, the calendar and the island-to-island lower bounds (minutes of
 *  bridges and sailings with boarding, drives counted as 0) used to skip agents
 *  who cannot win without asking the graph. */
typedef struct dsp_world {
    const travel_graph *g;
    const workcal *cal;
    int nislands;
    int *lb; /* nislands × nislands, DSP_LB_NONE when no link path */
} dsp_world;

/** One scored candidate. */
typedef struct dsp_cand {
    int agent; /* index into the agents array; -1 = nobody */
    int remote;
    double score;
    int64_t depart; /* when the agent sets off (remote: starts) */
    int64_t arrive; /* travel's arrival (remote: = depart) */
    int64_t eta;    /* max(arrive, target): with the resident (or starting) */
    int wait_minutes;
} dsp_cand;

/** Why agents were left out of a ranking (counts over the agents given). */
typedef struct dsp_counts {
    int agents, excluded, bad_hours, full, no_skill, unreachable, ranked;
} dsp_counts;

/* ---- world ---- */

/** Read the links (ferry_links) into island lower bounds for g (kept per graph: the
 *  graph is immutable; dsp_world_cache_reset() forgets them). 0 or -1. */
int dsp_world_init(dsp_world *w, db *d, const travel_graph *g, const workcal *cal, err *e);
/** The same from links given in memory (tests): n links from[i] ↔ to[i] island ids,
 *  minutes[i], ferry[i] (boarding counted). */
int dsp_world_init_links(dsp_world *w, const travel_graph *g, const workcal *cal, int n,
                         const char *const *from, const char *const *to, const int *minutes,
                         const int *ferry, err *e);
void dsp_world_free(dsp_world *w);
/** Forget the cached island bounds (tests that load several graphs). */
void dsp_world_cache_reset(void);

/* ---- parts ---- */

/** Parsed skills texts are cached process-wide (parsing JSON for each of 1,470 agents on
 *  every dispatch would cost milliseconds). The cache lives in generations: a holder
 *  keeps its generation, and every dsp_skills it got from it, alive until it releases
 *  it; a full cache starts a new generation. Thread-safe. */
typedef struct dsp_skills_gen dsp_skills_gen;
/** Hold the current generation (never NULL). Release with dsp_skills_release(). */
dsp_skills_gen *dsp_skills_hold(void);
void dsp_skills_release(dsp_skills_gen *gen);
/** The parsed skills of a JSON text (len bytes), valid while gen is held. A text that
 *  is no skills object gives valid = 0 (matches only requests without an item). */
const dsp_skills *dsp_skills_get(dsp_skills_gen *gen, const char *text, size_t len);
/** Matching many agents against one item: a memo, by interned department, of whether
 *  the item's department contains it (so each department string is searched once). */
#define DSP_DEPTS_MAX 4096 /* interned departments per generation */
typedef struct dsp_matcher {
    const dsp_item *item;
    signed char memo[DSP_DEPTS_MAX]; /* -1 unknown, 0, 1 */
} dsp_matcher;
void dsp_matcher_init(dsp_matcher *m, const dsp_item *item);
/** dsp_skills_match(s, m->item), faster; all skills must come from one generation. */
int dsp_matcher_match(dsp_matcher *m, const dsp_skills *s);
/** Start a new generation (tests). */
void dsp_skills_cache_reset(void);
/** 1 when an agent with skills s may handle item (NULL item: anyone). A department
 *  skill matches an item whose department contains it ("舟山市公安局" covers
 *  "舟山市公安局定海区分局"; "公安" covers both). */
int dsp_skills_match(const dsp_skills *s, const dsp_item *item);
/** Fill the dispatch fields of an item from its catalog JSON (borrowed). */
void dsp_item_from_json(json_t *item, dsp_item *out);
/** Remote handling for online_depth/visits: DSP_REMOTE_*. */
int dsp_item_remote(int online_depth, int visits);

/** The first instant >= t within working hours h on a working day of cal;
 *  *day_close (may be NULL) gets the end of that day's hours, *next_open (may be
 *  NULL) the opening of the next working day. WORKCAL_NEVER when none within a year. */
int64_t dsp_work_start(const workcal *cal, const workcal_schedule *h, int64_t t, int64_t *day_close,
                       int64_t *next_open);

/** A trip by an agent with hours h from `from` to `to`, setting off no earlier than
 *  t: leaves at the start of working hours and must arrive before that day's hours
 *  end, else leaves when the next working day opens (after the last boat nobody
 *  arrives before morning; an agent does not wait overnight at a pier). When neither
 *  day's trip fits its day, the earlier arrival. 0 with *depart and *arrive, or -1 when
 *  no scheduled connection exists. */
int dsp_trip(const dsp_world *w, const workcal_schedule *h, const travel_place *from,
             const travel_place *to, int64_t t, int64_t *depart, int64_t *arrive);

/** The score (minutes, lower is better) of an agent for a request with the agent
 *  at eta: urgency × minutes from target to eta + DISPATCH_LOAD_MINUTES × load +
 *  DISPATCH_FAIR_MINUTES × served_today + (remote by another town's agent:
 *  DISPATCH_REMOTE_OTHER_TOWN). load = open_tasks + extra. */
double dsp_score(const dsp_request *r, const dsp_agent *a, int remote, int64_t eta, int64_t target,
                 int extra_load);
/** max(now, preferred). */
int64_t dsp_target(const dsp_request *r, int64_t now);

/** Evaluate one agent for a request at now (skills/capacity not checked). 0, or -1
 *  when the agent cannot get there (no connection, no hours). */
int dsp_eval(const dsp_world *w, const dsp_request *r, const dsp_agent *a, int64_t now,
             dsp_cand *out);

/** Rank the agents for r at now: the best `max` candidates, best first, into out;
 *  returns how many. Agents excluded (ids), without hours, at capacity or without the
 *  skill are left out (counted in counts, may be NULL). In-person candidates are
 *  tried in order of a lower bound (travel by the island bounds) and the search
 *  stops when the bound cannot beat the max-th best. */
int dsp_rank(const dsp_world *w, const dsp_request *r, const dsp_agent *agents, int nagents,
             int64_t now, const int64_t *exclude, int nexclude, dsp_cand *out, int max,
             dsp_counts *counts);

/** The Chinese reason for a candidate ("金磊: 同岛, 12 分钟可达, 当前 2 件"), load
 *  = open_tasks + extra_load. */
void dsp_reason(const dsp_world *w, const dsp_request *r, const dsp_agent *a, const dsp_cand *c,
                int64_t now, int extra_load, char *buf, size_t n);
/** The reason when nobody can be sent, from the counts. */
void dsp_reason_nobody(const dsp_counts *c, char *buf, size_t n);

/* ---- batch ---- */

/** Totals of a batch assignment. */
typedef struct dsp_assign_stats {
    int assigned, unassigned, remote;
    double total_score; /* sum of the assigned requests' scores (with the slot loads) */
    int candidates;     /* arcs in the candidate graph */
    int searches_nodes; /* nodes settled by all shortest-path searches */
    double ms_candidates, ms_flow;
} dsp_assign_stats;

/** Assign requests to agents at now as a min-cost flow: each request goes to one of
 *  its DISPATCH_BATCH_CANDIDATES best agents (by dsp_score at the agent's current
 *  load) or stays waiting; an agent takes at most capacity − open_tasks of them, the
 *  k-th costing DISPATCH_LOAD_MINUTES × (open_tasks + k) (so the sum is what
 *  one-at-a-time scoring would charge); waiting costs DISPATCH_UNASSIGNED_MINUTES.
 *  Exact for that graph (successive shortest paths with potentials). out[i] gets
 *  request i's candidate (agent -1: waits); load[i] (may be NULL) the load its agent
 *  has with it before it (open_tasks + k). 0, or -1 when memory… never; always 0. */
int dsp_assign(const dsp_world *w, const dsp_request *reqs, int nreqs, const dsp_agent *agents,
               int nagents, int64_t now, dsp_cand *out, int *load, dsp_assign_stats *st);
/** The min-cost assignment under dsp_assign(): nr requests, request i's candidates
 *  cagent[cstart[i] .. cstart[i + 1]) (agent indexes < na) at costs ccost (integers),
 *  waiting at penalty[i]; agent a takes at most rem[a], its k-th at slot_cost × (open[a]
 *  + k). Requests are added in `order` (NULL: 0..nr-1). asg[i] gets the agent or -1
 *  (waits). Returns the nodes settled by the searches (the work done). */
long dsp_flow_solve(int nr, int na, const int *cstart, const int *cagent, const int64_t *ccost,
                    const int64_t *penalty, const int *rem, const int *open, int64_t slot_cost,
                    const int *order, int *asg);
/** The same candidate graph assigned one request at a time in order (each to its
 *  cheapest agent with room): the comparison for tests and the benchmark. */
int dsp_assign_greedy(const dsp_world *w, const dsp_request *reqs, int nreqs,
                      const dsp_agent *agents, int nagents, int64_t now, dsp_cand *out, int *load,
                      dsp_assign_stats *st);

/* ---- database ---- */

/** Agents with the skills generation they point into. */
typedef struct dsp_fleet {
    dsp_agent *agents;
    int n;
    dsp_skills_gen *skills;
} dsp_fleet;

/** On-duty agents (all agents when all is 1) from the agents table, by id, into out
 *  (the caller frees it with dsp_fleet_free()). An agent whose home station is not on
 *  the graph is left out. 0 or -1. */
int dsp_load_agents(db *d, const travel_graph *g, int all, dsp_fleet *out, err *e);
/** Which agents dsp_load_agents_where() reads (key: an island id or a town code). */
typedef enum dsp_agents_which {
    DSP_AGENTS_ON_DUTY = 0,
    DSP_AGENTS_ALL,
    DSP_AGENTS_ISLAND,     /* on duty, home or reported position on island key */
    DSP_AGENTS_NOT_ISLAND, /* on duty, the rest */
    DSP_AGENTS_TOWN,       /* on duty, of town key */
    DSP_AGENTS_NOT_TOWN,   /* on duty, the rest */
    DSP_AGENTS_POSITIONED, /* on duty, reporting a position */
    DSP_AGENTS_TOWN_HOME,  /* on duty, of town key, no position (at home) */
} dsp_agents_which;
/** Append those agents to out (zeroed by the caller before the first call; one
 *  dsp_fleet_free() at the end). 0 or -1. */
int dsp_load_agents_where(db *d, const travel_graph *g, dsp_agents_which which, const char *key,
                          dsp_fleet *out, err *e);
void dsp_fleet_free(dsp_fleet *f);
/** An item by code (catalog_item_get); an unknown code gives known = 0. 0 or -1 (a
 *  database error). */
int dsp_load_item(db *d, const char *code, dsp_item *out, err *e);
/** A request by id into r (its item into item, r->item pointing at it or NULL) and
 *  its status into status (at least 32 bytes; may be NULL). 404 when unknown. */
int dsp_load_request(db *d, const travel_graph *g, int64_t id, dsp_request *r, dsp_item *item,
                     char *status, err *e);

/** Fill a dispatch_choice from a candidate (NULL: nobody, with counts for the why). */
void dsp_choice_fill(const dsp_world *w, const dsp_request *r, const dsp_agent *agents,
                     const dsp_cand *c, const dsp_counts *counts, int64_t now, int extra_load,
                     dispatch_choice *out);

/* ---- the synthetic day and roster (dispatch_sim.c) ---- */

/** An agent of a synthetic roster. */
typedef struct dsp_sim_agent_spec {
    char name[DSP_NAME_MAX];
    char station_id[32];
    char island_id[64];
    char town_code[16];
    int full_time, capacity;
    char hours[64];
    char skills[1024]; /* JSON */
} dsp_sim_agent_spec;

/** A synthetic request: when, which village (graph index), which item (index into the
 *  items given, -1: none), urgent or not. */
typedef struct dsp_sim_request_spec {
    int64_t at;
    int village;
    int item;
    int urgent;
} dsp_sim_request_spec;

/** Every catalog item with its simulation weight. *out is the caller's. 0 or -1. */
int dsp_sim_items(db *d, dsp_item **out, int *n, err *e);
/** A roster of nagents (at least one per station) spread by population; *out is the
 *  caller's. 0, or -1 when the graph has no stations. */
int dsp_sim_roster(const travel_graph *g, const dsp_item *items, int nitems, int nagents,
                   uint64_t seed, dsp_sim_agent_spec **out, int *n);
/** n requests over day into out (unsorted). 0, or -1 when the graph has no villages. */
int dsp_sim_requests(const travel_graph *g, const dsp_item *items, int nitems, workcal_date day,
                     int n, uint64_t seed, dsp_sim_request_spec *out);

/** What dsp_bench_seed() wrote. */
typedef struct dsp_bench_seeded {
    int agents_added; /* 0 when the database had agents */
    int requests_added;
} dsp_bench_seeded;

/** FOR BENCHMARK DATABASES ONLY: when the agents table is empty, insert a synthetic
 *  roster of nagents; then insert nrequests synthetic requests with status new,
 *  created at `at` (request_no "BX…", resident "基准测试"). One transaction, no audit
 *  rows, no notifications. 0 or -1. */
int dsp_bench_seed(db *d, int nagents, int nrequests, uint64_t seed, int64_t at,
                   dsp_bench_seeded *out, err *e);

/** dispatch_batch() with its statistics, and (greedy = 1) the one-at-a-time
 *  comparison on the same candidates. */
int dsp_batch_db(db *d, int64_t now, const int64_t *request_ids, int n, int greedy,
                 dispatch_choice *out, dsp_assign_stats *st, err *e);

#endif
