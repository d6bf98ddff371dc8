/* dispatch: 智能派单 — choose the agent for an assisted request (帮办代办).
 *
 * The requests module (src/island/assist.c) calls dispatch_pick() inside its
 * own write transaction when a request is created, when the assigned agent
 * declines (the decliner is excluded) and when staff ask for a re-dispatch;
 * it then writes the choice (agent_id, remote, dispatch_score, dispatch_reason,
 * eta_at) on the request, bumps the agent's open_tasks, notifies the agent and
 * publishes to the SSE topic agent.<agent_id>. dispatch_pick() itself only
 * reads (assist_requests, agents, stations, the travel graph, the catalog). */
#ifndef ISLE_DISPATCH_H
#define ISLE_DISPATCH_H

#include <stdint.h>

#include "base/err.h"
#include "cli.h"
#include "db/db.h"

/* dispatch: choose an agent for an assisted request (智能派单). */
typedef struct dispatch_choice {
    int64_t agent_id; /* 0 = nobody available now (the request waits and escalates) */
    int remote;       /* 1 = handled online, no travel */
    double score;     /* lower is better */
    int64_t eta;      /* unix seconds: when the agent can be with the resident (or start) */
    char reason[256]; /* "金磊: 同岛, 12 分钟可达, 当前 2 件" */
} dispatch_choice;
/** Pick the agent for request_id (reads the request and the agents; excludes agents in
 *  `exclude` — e.g. one who declined) at time now. Does not write. 0 or -1. */
int dispatch_pick(db *d, int64_t request_id, int64_t now, const int64_t *exclude, int nexclude,
                  dispatch_choice *out, err *e);

/* ---- additions by the dispatcher (dispatch.c, dispatch_sim.c, dispatch_cli.c) ----
 *
 * The score, in minutes (lower is better), of sending agent A to request R:
 *
 *   score = U × wait + DISPATCH_LOAD_MINUTES × open_tasks + DISPATCH_FAIR_MINUTES ×
 *           served_today [+ DISPATCH_REMOTE_OTHER_TOWN for a remote task of another town]
 *
 *   wait  = minutes from the target (now, or the resident's preferred time when later)
 *           until A can be with the resident: A sets off from their reported position
 *           (else the home station) when their working hours next begin on a working
 *           day, travels by the ferry graph (timetables, boarding) and must arrive
 *           before that day's hours end — else A leaves when the next working day opens
 *           (nobody waits at a pier overnight). Remote: until A's hours begin.
 *   U     = DISPATCH_URGENT_FACTOR for urgent requests, else 1.
 *
 * Hard constraints: on duty, not excluded, open_tasks < capacity, the skill (all, the
 * item's code, or a department contained in the item's department; a request without
 * an item may go to anyone), working hours that parse. A request whose item can be done
 * online (online_depth 4 全程网办, or 3 with no visit) is handled remotely by the best
 * skilled agent (no travel), preferring the resident's own town. */
#define DISPATCH_LOAD_MINUTES       30.0 /* per open task: roughly one visit ahead of this one */
#define DISPATCH_FAIR_MINUTES       5.0  /* per request served today */
#define DISPATCH_URGENT_FACTOR      3.0  /* urgent: waiting weighs three times */
#define DISPATCH_REMOTE_OTHER_TOWN  10.0 /* remote by an agent of another town */
#define DISPATCH_UNASSIGNED_MINUTES 100000.0 /* batch: cost of leaving a request waiting */
#define DISPATCH_BATCH_CANDIDATES   12       /* batch: best agents kept per request */
#define DISPATCH_BATCH_MAX          100000   /* requests in one batch */
#define DISPATCH_RANK_MAX           200      /* candidates dispatch_rank() can list */

/** Why agents were left out, from dispatch_rank(). */
typedef struct dispatch_rank_info {
    int agents_on_duty, excluded, bad_hours, full, no_skill, unreachable;
    int remote;          /* 1 when the request is handled online */
    char item_name[128]; /* "" without an item */
    char village[64];    /* the request's village name */
} dispatch_rank_info;

/** The candidates for request_id at now, best first: up to max (1..DISPATCH_RANK_MAX)
 *  into out, each filled as by dispatch_pick(); info (may be NULL) gets the counts of
 *  agents left out. Returns how many (0: nobody), or -1 with e (404 unknown request,
 *  409 a closed one). Does not write. */
int dispatch_rank(db *d, int64_t request_id, int64_t now, const int64_t *exclude, int nexclude,
                  dispatch_choice *out, int max, dispatch_rank_info *info, err *e);

/** Assign a backlog at once (requests by id, 1..DISPATCH_BATCH_MAX) at now as an
 *  assignment problem: a min-cost flow over each request's DISPATCH_BATCH_CANDIDATES
 *  best agents, agents expanded by their remaining capacity (capacity − open_tasks),
 *  the k-th extra task of an agent charged DISPATCH_LOAD_MINUTES × (open_tasks + k).
 *  out[i] gets request i's choice (agent_id 0: it waits). Does not write: the caller
 *  assigns. 0, or -1 with e (404 naming the first unknown id, 409 a closed one). */
int dispatch_batch(db *d, int64_t now, const int64_t *request_ids, int n, dispatch_choice *out,
                   err *e);

/** A synthetic day, from dispatch_simulate(). */
typedef struct dispatch_sim_side {
    double mean_minutes, p95_minutes; /* request time → agent with the resident (or starting) */
    double utilisation;               /* travel + service / scheduled working time */
    double in_person_mean_minutes;    /* the requests served in person */
    int served, remote, in_person, next_day, queued;
    double travel_minutes_total;
} dispatch_sim_side;

typedef struct dispatch_sim_result {
    char day[11];
    int workday;
    int requests, agents;
    int agents_generated; /* 1: the database had no agents; a roster was made in memory */
    uint64_t seed;
    dispatch_sim_side isle, baseline;
    /* For comparison: the baseline that also hands online items to its (nearest)
     * agent to do remotely — what is left is routing, load and working hours. */
    dispatch_sim_side baseline_remote;
    double improvement;        /* 1 − isle mean / baseline mean */
    double improvement_remote; /* 1 − isle mean / baseline_remote mean */
    double elapsed_ms;
} dispatch_sim_result;

/** Replay a synthetic day (dispatch_sim.c): `requests` requests over day (Shanghai
 *  "YYYY-MM-DD") from villages by population, items weighted from the catalog, some
 *  urgent, served by the database's agents (a fresh day: no open tasks) or, when it has
 *  none, by a roster of 1,470 made in memory spread by population over the stations;
 *  once with isle's dispatcher and once with the nearest-agent-by-straight-line
 *  baseline (haversine from the home station, preferring an agent on shift, blind to
 *  ferries, timetables and load, always in person; and, for comparison, the same
 *  baseline doing online items remotely). Each agent serves its tasks in order: travel by the graph
 * within working hours, service 20–40 minutes by item. 0 or -1 with e. */
int dispatch_simulate(db *d, const char *day, int requests, uint64_t seed, dispatch_sim_result *out,
                      err *e);

/** `isle dispatch simulate|explain|batch|bench …` (argv[0] = "dispatch"). Exit status:
 *  0 ok, 1 failure, 2 usage. */
int dispatch_cli(const cli_env *env, int argc, char **argv);

#endif
