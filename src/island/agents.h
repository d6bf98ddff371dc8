/* agents: the people of 办事不出岛 — station details (hours, services, phone)
 * and 帮办代办 agents (专职 full-time at the town service centres, 兼职
 * part-time in the villages), managed by staff; an agent's own duty switch and
 * position; the demo roster.
 *
 * An agent has a home station (its island and town are the station's, kept in
 * the row so that "agents of a town/island" is an indexed lookup), skills
 * ({"all":true} or {"departments":[…],"items":[item codes]}), working hours in
 * workcal's schedule syntax, a capacity of open tasks, and on/off duty.
 * open_tasks and served_today are maintained by the requests module (assist.c)
 * from the requests themselves, never edited here.
 *
 * Every write runs in its own transaction with one audit row; an agent who goes
 * off duty hands the tasks not yet accepted back to dispatch in the same
 * transaction (assist_agent_released). Query functions return new jansson
 * objects the caller owns. Phone numbers are personal data: lists mask them,
 * single records (for staff and the agent) show them. */
#ifndef ISLE_AGENTS_H
#define ISLE_AGENTS_H

#include <jansson.h>
#include <stdint.h>

#include "audit/audit.h"
#include "base/err.h"
#include "db/db.h"

#define AGENTS_DEFAULT_LIMIT      50
#define AGENTS_MAX_LIMIT          200
#define AGENTS_NAME_MAX           64   /* bytes of a name */
#define AGENTS_MAX_SKILLS         64   /* departments or items in skills */
#define AGENTS_MAX_STATION_SVCS   64   /* services of a station */
#define AGENTS_FULL_TIME_CAPACITY 8    /* default capacity of a 专职 agent */
#define AGENTS_PART_TIME_CAPACITY 3    /* default capacity of a 兼职 agent */
#define AGENTS_DEMO_TOTAL         1470 /* agents in the demo roster */

/* ---- stations ---- */

/** One station with its details: {"id","name","kind","village_code","village_name",
 *  "town_code","town_name","island_id","island_name","lat","lon","staff","hours",
 *  "hours_default"(bool: the kind's default shown),"services":[{"code","name"}],
 *  "services_default"(bool: derived from the kind via station_services.json),"phone",
 *  "agents":{"total","on_duty"}}. NULL with 404 when there is no such station. */
json_t *agents_station_get(db *d, const char *id, err *e);

/** Staff edit of a station's details. in (borrowed): {"hours": "08:30-12:00,…" | null,
 *  "services": ["proxy", "330900-GA-100001", …] | null, "phone": "0580-…" | null}, any
 *  subset; null restores the default. hours must parse as a workcal schedule, services
 *  must be codes of station_services.json or catalog item codes that exist, phone 5–20
 *  of digits, '+', '-'. Audited "station.update" (before/after). 400 naming the field,
 *  404 unknown station. 0 or -1. */
int agents_station_update(db *d, const audit_actor *actor, const char *id, json_t *in, err *e);

/* ---- agents ---- */

/** Filter for agents_list(). NULL strings match everything; strings are borrowed. */
typedef struct agents_filter {
    const char *town_code;
    const char *island_id;
    const char *station_id;
    const char *kind; /* "full_time" | "part_time" */
    int on_duty;      /* -1 any, 0 off duty, 1 on duty */
    const char *q;    /* name substring */
    int64_t limit;    /* 0 = AGENTS_DEFAULT_LIMIT; clamped to AGENTS_MAX_LIMIT */
    int64_t offset;
} agents_filter;

/** A page of agents ordered by id: {"items":[agent summary],"total","limit","offset",
 *  "on_duty": count of on-duty matches}. Phones masked. 400 naming a malformed filter
 *  field. The caller owns the result; NULL on error. */
json_t *agents_list(db *d, const agents_filter *f, err *e);

/** One agent: {"id","user_id","login","name","phone","kind","station_id",
 *  "station_name","island_id","island_name","town_code","town_name","skills",
 *  "hours","capacity","open_tasks","on_duty","position":{"island_id","lat","lon",
 *  "at"}|null,"served_today","created_at","updated_at"}; the phone in clear. NULL
 *  with 404 when unknown. The caller owns it. */
json_t *agents_get(db *d, int64_t id, err *e);

/** The agent record of user_id: *agent_id gets its id, or 0 when the user is no
 *  agent. 0 or -1. */
int agents_of_user(db *d, int64_t user_id, int64_t *agent_id, err *e);

/** Create an agent. in (borrowed): {"name" (required), "kind": "full_time"|"part_time"
 *  (required), "station_id" (required), "phone", "user_id" (a user with role agent not
 *  yet linked), "skills" (default {"all":true}), "hours" (default the station's hours,
 *  else the office hours), "capacity" 1–100 (default by kind), "on_duty" (default
 *  true)}. Audited "agent.create". *id_out gets the id. 400 naming the field, 409 when
 *  the user is already an agent. 0 or -1. */
int agents_create(db *d, const audit_actor *actor, json_t *in, int64_t *id_out, err *e);

/** Update an agent (staff): any of name, phone, kind, station_id, skills, hours,
 *  capacity, on_duty, user_id (null unlinks). Going off duty hands back the tasks
 *  not yet accepted (assist_agent_released). Audited "agent.update". 0 or -1. */
int agents_update(db *d, const audit_actor *actor, int64_t id, json_t *in, err *e);

/** The agent's own update (PUT /api/v1/me/agent): {"on_duty": bool, "position":
 *  {"island_id", "lat", "lon"} | null}. position null clears it (back at the home
 *  station); lat/lon may be omitted (the island only). 404 when user_id is no agent.
 *  Audited "agent.duty" / "agent.position" (the island only, never the point). */
int agents_self_update(db *d, const audit_actor *actor, int64_t user_id, json_t *in, err *e);

/** Validate a skills object ({"all":bool,"departments":[strings],"items":[item
 *  codes]}); field names the bad member ("skills.items[2]"). 0 or -1 (400). */
int agents_skills_valid(json_t *skills, err *e);

/* ---- demo ---- */

/** What agents_demo() wrote. */
typedef struct agents_demo_counts {
    int present; /* the roster was there already: nothing but the link written */
    int64_t agents, full_time, part_time, on_duty;
    int64_t linked_user; /* the user id linked to the demo login "agent" (0: none) */
} agents_demo_counts;

/** The demo roster: AGENTS_DEMO_TOTAL agents spread over the stations by the
 *  population of their villages (every station at least one), 专职 at the 36 town
 *  service centres, 兼职 at the village stations and 代办点; deterministic names,
 *  phones, skills, hours; the user with login "agent" (if present and not linked)
 *  becomes the first full-time agent of its town's centre. Station hours and phones
 *  left empty get their kind's defaults. Multi-row INSERTs in one transaction with
 *  one "demo.agents" audit row. Idempotent: with agents present only the link is
 *  made. out may be NULL. 0 or -1. */
int agents_demo(db *d, const audit_actor *actor, agents_demo_counts *out, err *e);

#endif
