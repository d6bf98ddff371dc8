/* assist.c: assisted requests (帮办代办) — intake, the lifecycle, dispatch
 * through dispatch.h, consent, applications on the resident's behalf, the
 * timeline and the queries (see assist.h for the rules).
 *
 * Invariants:
 *   - every write is one transaction holding the request row change (version + 1,
 *     conditional on the version read), its assist_events row, its audit row and
 *     its notifications; SSE publishes go out only after the commit;
 *   - agents.open_tasks / served_today are recounted from the requests after every
 *     change of assignment (assist_agent_recount), never incremented blindly;
 *   - nothing here reveals a request to someone who may not see it (404), logs a
 *     phone number or puts one in an error message;
 *   - SQL is constant text; list filters are constant fragments (qbuild). */
#include "island/assist.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/roles.h"
#include "base/jsonx.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/xmalloc.h"
#include "cases/cases.h"
#include "catalog/catalog.h"
#include "files/files.h"
#include "island/agents.h"
#include "island/assist_internal.h"
#include "island/dispatch.h"
#include "island/places.h"
#include "notify/notify.h"

#define STAFF_ROLES    (ROLE_STAFF | ROLE_SUPERVISOR | ROLE_ADMIN)
#define RESIDENT_ROLES (ROLE_CITIZEN | ROLE_COMPANY)
#define OPEN_STATUSES  "('new', 'dispatched', 'accepted', 'in_progress', 'waiting_on_department')"
#define NO_ITEM_NAME   "帮办事项待确认"

static assist_publish_fn publish_hook;

void assist_set_publish_hook(assist_publish_fn fn) {
    __atomic_store_n(&publish_hook, fn, __ATOMIC_RELEASE);
}

/* ---- statuses and rules ---- */

static const struct {
    const char *status, *label;
} statuses[] = {
    {"new", "待派单"},
    {"dispatched", "已派单"},
    {"accepted", "已接单"},
    {"in_progress", "办理中"},
    {"waiting_on_department", "等待部门办理"},
    {"done", "已办结"},
    {"cancelled", "已取消"},
};

int assist_status_valid(const char *s) {
    for (size_t i = 0; s && i < sizeof(statuses) / sizeof(statuses[0]); i++)
        if (!strcmp(s, statuses[i].status)) return 1;
    return 0;
}

const char *assist_status_label(const char *status) {
    for (size_t i = 0; status && i < sizeof(statuses) / sizeof(statuses[0]); i++)
        if (!strcmp(status, statuses[i].status)) return statuses[i].label;
    return "";
}

int assist_status_open(const char *status) {
    return assist_status_valid(status) && strcmp(status, "done") && strcmp(status, "cancelled");
}

typedef struct rule {
    const char *action;
    const char *from[6];
    const char *to;
    unsigned who;
} rule;

static const rule rules[] = {
    {"accept", {"dispatched"}, "accepted", ASSIST_REL_AGENT},
    {"decline", {"dispatched"}, "new", ASSIST_REL_AGENT},
    {"start", {"accepted"}, "in_progress", ASSIST_REL_AGENT},
    {"wait", {"in_progress"}, "waiting_on_department", ASSIST_REL_AGENT},
    {"resume", {"waiting_on_department"}, "in_progress", ASSIST_REL_AGENT},
    {"complete", {"accepted", "in_progress", "waiting_on_department"}, "done", ASSIST_REL_AGENT},
    {"cancel",
     {"new", "dispatched", "accepted", "in_progress", "waiting_on_department"},
     "cancelled",
     ASSIST_REL_RESIDENT | ASSIST_REL_STAFF},
    {"reassign",
     {"new", "dispatched", "accepted", "in_progress", "waiting_on_department"},
     "dispatched",
     ASSIST_REL_STAFF},
};

static const rule *rule_find(const char *action) {
    for (size_t i = 0; action && i < sizeof(rules) / sizeof(rules[0]); i++)
        if (!strcmp(rules[i].action, action)) return &rules[i];
    return NULL;
}

int assist_rule(const char *action, const char *from, unsigned rel, const char **to, err *e) {
    const rule *r = rule_find(action);
    if (!r)
        return err_invalid(e, "action",
                           "未知操作（accept、decline、start、wait、resume、complete、cancel、"
                           "reassign）");
    if (!(r->who & rel)) {
        if (r->who == ASSIST_REL_AGENT) return err_forbidden(e, "只有接单的代办员可以这样操作");
        if (r->who == ASSIST_REL_STAFF) return err_forbidden(e, "只有工作人员可以改派");
        return err_forbidden(e, "只有居民本人或工作人员可以取消");
    }
    for (int i = 0; i < 6 && r->from[i]; i++)
        if (from && !strcmp(from, r->from[i])) {
            *to = r->to;
            return 0;
        }
    return err_conflict(e, "status", "请求当前为“%s”，不能%s", assist_status_label(from),
                        !strcmp(action, "accept")     ? "接单"
                        : !strcmp(action, "decline")  ? "拒单"
                        : !strcmp(action, "start")    ? "开始办理"
                        : !strcmp(action, "wait")     ? "转为等待部门办理"
                        : !strcmp(action, "resume")   ? "恢复办理"
                        : !strcmp(action, "complete") ? "办结"
                        : !strcmp(action, "cancel")   ? "取消"
                                                      : "改派");
}

int assist_sla_dues(const workcal *cal, int64_t created, int has_item, double promise_days,
                    int64_t *accept_due, int64_t *done_due, err *e) {
    if (workcal_add_hours(cal, created, ASSIST_ACCEPT_HOURS, accept_due, e) != 0) return -1;
    double days = ASSIST_DEFAULT_DONE_DAYS;
    if (has_item) {
        days = ceil((promise_days > 0 ? promise_days : 0) * 2.0) / 2.0;
        if (days < ASSIST_MIN_DONE_DAYS) days = ASSIST_MIN_DONE_DAYS;
        if (days > WORKCAL_MAX_DAYS) days = WORKCAL_MAX_DAYS;
    }
    return workcal_deadline(cal, created, days, done_due, e);
}

/* ---- actors ---- */

int assist_actor_load(db *d, assist_actor *a, err *e) {
    a->agent_id = 0;
    a->town_code[0] = a->name[0] = '\0';
    if (!a->user_id) {
        snprintf(a->name, sizeof(a->name), "%s", a->audit.login ? a->audit.login : "system");
        return 0;
    }
    db_stmt *s =
        db_query(d, e, "SELECT display_name, town_code FROM users WHERE id = $1", "i", a->user_id);
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ROW) {
        snprintf(a->name, sizeof(a->name), "%s", db_column_text(s, 0) ? db_column_text(s, 0) : "");
        if (db_column_text(s, 1))
            snprintf(a->town_code, sizeof(a->town_code), "%s", db_column_text(s, 1));
    }
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取用户失败");
    if (a->role & ROLE_AGENT) return agents_of_user(d, a->user_id, &a->agent_id, e);
    return 0;
}

static int is_staff(const assist_actor *a) {
    return !a->user_id || (a->role & STAFF_ROLES);
}

/* ---- the request row ---- */

typedef struct req_row {
    int64_t id, resident_id, agent_id, case_id, consent_by, created_by, version;
    int remote;
    char request_no[32], status[32], channel[12], urgency[12];
    char item_code[48], item_name[256], resident_name[256], resident_phone[32];
    char village_code[16], village_name[128], town_code[16], town_name[128];
    char island_id[72], island_name[128], agent_name[128];
    char accept_due[32], done_due[32], accepted_at[32], consent_at[32], created_at[32];
} req_row;

/* The wide SELECT behind req_load(), assist_get() and assist_list(). */
#define REQ_COLUMNS                                                                                \
    "r.id, r.request_no, r.status, r.channel, r.item_code, r.item_name, r.resident_id, "           \
    "r.resident_name, r.resident_phone, r.village_code, v.name, r.town_code, t.name, "             \
    "r.island_id, i.name, r.urgency, r.preferred_at, r.agent_id, ag.name, r.remote, "              \
    "r.dispatch_reason, r.dispatch_score, r.eta_at, r.dispatched_at, r.accept_due, r.done_due, "   \
    "r.escalated_at, r.done_escalated_at, r.accepted_at, r.started_at, r.done_at, "                \
    "r.cancelled_at, r.created_at, r.updated_at, r.version, r.case_id, r.consent_at, "             \
    "r.consent_by, r.consent_method, r.address, r.description, ag.phone, ag.kind, "                \
    "ag.station_id, st.name, r.created_by "
#define REQ_FROM                                                                                   \
    "FROM assist_requests r JOIN villages v ON v.code = r.village_code "                           \
    "JOIN towns t ON t.code = r.town_code JOIN islands i ON i.id = r.island_id "                   \
    "LEFT JOIN agents ag ON ag.id = r.agent_id LEFT JOIN stations st ON st.id = ag.station_id "

enum {
    C_ID,
    C_NO,
    C_STATUS,
    C_CHANNEL,
    C_ITEM_CODE,
    C_ITEM_NAME,
    C_RESIDENT_ID,
    C_RESIDENT_NAME,
    C_RESIDENT_PHONE,
    C_VILLAGE,
    C_VILLAGE_NAME,
    C_TOWN,
    C_TOWN_NAME,
    C_ISLAND,
    C_ISLAND_NAME,
    C_URGENCY,
    C_PREFERRED,
    C_AGENT_ID,
    C_AGENT_NAME,
    C_REMOTE,
    C_REASON,
    C_SCORE,
    C_ETA,
    C_DISPATCHED_AT,
    C_ACCEPT_DUE,
    C_DONE_DUE,
    C_ESCALATED,
    C_DONE_ESCALATED,
    C_ACCEPTED_AT,
    C_STARTED_AT,
    C_DONE_AT,
    C_CANCELLED_AT,
    C_CREATED_AT,
    C_UPDATED_AT,
    C_VERSION,
    C_CASE_ID,
    C_CONSENT_AT,
    C_CONSENT_BY,
    C_CONSENT_METHOD,
    C_ADDRESS,
    C_DESCRIPTION,
    C_AGENT_PHONE,
    C_AGENT_KIND,
    C_AGENT_STATION,
    C_AGENT_STATION_NAME,
    C_CREATED_BY,
};

static void col_copy(db_stmt *s, int col, char *buf, size_t n) {
    const char *t = db_column_text(s, col);
    snprintf(buf, n, "%s", t ? t : "");
}

static int64_t col_int(db_stmt *s, int col) {
    return db_column_type(s, col) == DB_NULL ? 0 : db_column_int64(s, col);
}

static void row_from_stmt(db_stmt *s, req_row *r) {
    memset(r, 0, sizeof(*r));
    r->id = db_column_int64(s, C_ID);
    r->resident_id = col_int(s, C_RESIDENT_ID);
    r->agent_id = col_int(s, C_AGENT_ID);
    r->case_id = col_int(s, C_CASE_ID);
    r->consent_by = col_int(s, C_CONSENT_BY);
    r->created_by = col_int(s, C_CREATED_BY);
    r->version = db_column_int64(s, C_VERSION);
    r->remote = (int)col_int(s, C_REMOTE);
    col_copy(s, C_NO, r->request_no, sizeof(r->request_no));
    col_copy(s, C_STATUS, r->status, sizeof(r->status));
    col_copy(s, C_CHANNEL, r->channel, sizeof(r->channel));
    col_copy(s, C_URGENCY, r->urgency, sizeof(r->urgency));
    col_copy(s, C_ITEM_CODE, r->item_code, sizeof(r->item_code));
    col_copy(s, C_ITEM_NAME, r->item_name, sizeof(r->item_name));
    if (!r->item_name[0]) snprintf(r->item_name, sizeof(r->item_name), NO_ITEM_NAME);
    col_copy(s, C_RESIDENT_NAME, r->resident_name, sizeof(r->resident_name));
    col_copy(s, C_RESIDENT_PHONE, r->resident_phone, sizeof(r->resident_phone));
    col_copy(s, C_VILLAGE, r->village_code, sizeof(r->village_code));
    col_copy(s, C_VILLAGE_NAME, r->village_name, sizeof(r->village_name));
    col_copy(s, C_TOWN, r->town_code, sizeof(r->town_code));
    col_copy(s, C_TOWN_NAME, r->town_name, sizeof(r->town_name));
    col_copy(s, C_ISLAND, r->island_id, sizeof(r->island_id));
    col_copy(s, C_ISLAND_NAME, r->island_name, sizeof(r->island_name));
    col_copy(s, C_AGENT_NAME, r->agent_name, sizeof(r->agent_name));
    col_copy(s, C_ACCEPT_DUE, r->accept_due, sizeof(r->accept_due));
    col_copy(s, C_DONE_DUE, r->done_due, sizeof(r->done_due));
    col_copy(s, C_ACCEPTED_AT, r->accepted_at, sizeof(r->accepted_at));
    col_copy(s, C_CONSENT_AT, r->consent_at, sizeof(r->consent_at));
    col_copy(s, C_CREATED_AT, r->created_at, sizeof(r->created_at));
}

/* Load request id. 404 when it does not exist. */
static int req_load(db *d, int64_t id, req_row *r, err *e) {
    db_stmt *s = db_query(d, e, "SELECT " REQ_COLUMNS REQ_FROM "WHERE r.id = $1", "i", id);
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ROW) row_from_stmt(s, r);
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取帮办请求失败：%s", db_errmsg(d));
    if (rc != DB_ROW) return err_notfound(e, "没有这个帮办请求");
    return 0;
}

static unsigned relations(const assist_actor *a, const req_row *r) {
    unsigned rel = 0;
    if (is_staff(a)) rel |= ASSIST_REL_STAFF;
    if (a->user_id && r->resident_id == a->user_id) rel |= ASSIST_REL_RESIDENT;
    if (a->agent_id && r->agent_id == a->agent_id) rel |= ASSIST_REL_AGENT;
    return rel;
}

/* Load the request the actor may see; 404 otherwise (never reveal it exists). */
static int req_load_visible(db *d, const assist_actor *a, int64_t id, req_row *r, err *e) {
    if (id <= 0 || req_load(d, id, r, e) != 0) {
        if (id <= 0) err_notfound(e, "没有这个帮办请求");
        return -1;
    }
    if (!relations(a, r)) return err_notfound(e, "没有这个帮办请求");
    return 0;
}

/* ---- timeline, audit, counters ---- */

static int add_event(db *d, int64_t request_id, int64_t actor_user, const char *action,
                     const char *from, const char *to, const char *note, json_t *data,
                     int64_t agent_id, int64_t file_id, const char *now, err *e) {
    db_stmt *s = db_prepare(d,
                            "INSERT INTO assist_events (request_id, at, actor_id, action, "
                            "from_status, to_status, note, data, file_id, agent_id) VALUES ($1, "
                            "$2, $3, $4, $5, $6, $7, $8, $9, $10)",
                            e);
    if (!s) return -1;
    char *dj = data ? json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    db_bind_int64(s, 1, request_id);
    db_bind_text(s, 2, now);
    if (actor_user > 0)
        db_bind_int64(s, 3, actor_user);
    else
        db_bind_null(s, 3);
    db_bind_text(s, 4, action);
    db_bind_text(s, 5, from);
    db_bind_text(s, 6, to);
    db_bind_text(s, 7, note && *note ? note : NULL);
    db_bind_text(s, 8, dj);
    if (file_id > 0)
        db_bind_int64(s, 9, file_id);
    else
        db_bind_null(s, 9);
    if (agent_id > 0)
        db_bind_int64(s, 10, agent_id);
    else
        db_bind_null(s, 10);
    int rc = db_step(s);
    db_reset(s);
    free(dj);
    if (rc == DB_ERROR) return err_internal(e, "写入帮办时间线失败：%s", db_errmsg(d));
    return 0;
}

static int audit_change(db *d, const audit_actor *aa, const char *action, const req_row *r,
                        const char *from, int64_t from_agent, json_t *extra, err *e) {
    char oid[32], name[64];
    snprintf(oid, sizeof(oid), "%lld", (long long)r->id);
    snprintf(name, sizeof(name), "assist.%s", action);
    json_t *before =
        from ? json_pack("{s:s, s:I}", "status", from, "agent_id", (json_int_t)from_agent) : NULL;
    json_t *after =
        json_pack("{s:s, s:s, s:I, s:I}", "request_no", r->request_no, "status", r->status,
                  "agent_id", (json_int_t)r->agent_id, "version", (json_int_t)r->version);
    if (extra) json_object_update(after, extra);
    int rc = audit_record(d, aa, name, "assist_request", oid, before, after, e);
    json_decref(before);
    json_decref(after);
    return rc;
}

/* Local midnight (Shanghai) of the day of now, as ISO UTC. */
static void local_midnight_iso(int64_t now, char *buf, size_t n) {
    time_iso(buf, n, workcal_local_instant(workcal_local_date(now), 0));
}

int assist_agent_recount(db *d, int64_t agent_id, int64_t now, err *e) {
    if (agent_id <= 0) return 0;
    char midnight[32];
    local_midnight_iso(now, midnight, sizeof(midnight));
    return db_execf(d, e,
                    "UPDATE agents SET open_tasks = (SELECT COUNT(*) FROM assist_requests r WHERE "
                    "r.agent_id = $1 AND r.status IN ('dispatched', 'accepted', 'in_progress', "
                    "'waiting_on_department')), served_today = (SELECT COUNT(*) FROM "
                    "assist_requests r WHERE r.agent_id = $1 AND r.dispatched_at >= $2) "
                    "WHERE id = $1",
                    "is", agent_id, midnight);
}

/* ---- messages and live events ---- */

static void local_text(const char *iso, char *buf, size_t n) {
    int64_t t;
    if (iso && *iso && time_parse_iso(iso, &t) == 0)
        workcal_local_format(t, buf, n);
    else
        snprintf(buf, n, "—");
}

static void place_text(const req_row *r, char *buf, size_t n) {
    snprintf(buf, n, "%s%s", r->town_name, r->village_name);
}

/* Message the resident (their account, the phone they gave, or both). */
static int notify_resident(db *d, const req_row *r, const char *tmpl, const char *tag,
                           json_t *params, err *e) {
    if (r->resident_id <= 0 && !r->resident_phone[0]) return 0;
    char key[128], link[64];
    snprintf(key, sizeof(key), "assist:%lld:%s:v%lld:resident", (long long)r->id, tag,
             (long long)r->version);
    snprintf(link, sizeof(link), "/assist/%lld", (long long)r->id);
    json_object_set_new(params, "request_no", json_string(r->request_no));
    json_object_set_new(params, "item_name", json_string(r->item_name));
    notify_msg m = {.user_id = r->resident_id > 0 ? r->resident_id : 0,
                    .phone = r->resident_phone[0] ? r->resident_phone : NULL,
                    .template_name = tmpl,
                    .params = params,
                    .dedupe_key = key,
                    .link = link};
    return notify_send(d, &m, NULL, e) < 0 ? -1 : 0;
}

/* An in-app progress line to the resident (template assist_progress, no SMS). */
static int tell_resident(db *d, const req_row *r, const char *tag, const char *progress, err *e) {
    json_t *p = json_pack("{s:s}", "progress", progress);
    int rc = notify_resident(d, r, "assist_progress", tag, p, e);
    json_decref(p);
    return rc;
}

/* An agent's name and how to reach them. */
typedef struct agent_contact {
    int64_t user_id;
    char name[128], phone[32];
    int found;
} agent_contact;

static int agent_contact_load(db *d, int64_t agent_id, agent_contact *c, err *e) {
    memset(c, 0, sizeof(*c));
    db_stmt *s =
        db_query(d, e, "SELECT user_id, name, phone FROM agents WHERE id = $1", "i", agent_id);
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ROW) {
        c->found = 1;
        c->user_id = col_int(s, 0);
        col_copy(s, 1, c->name, sizeof(c->name));
        col_copy(s, 2, c->phone, sizeof(c->phone));
    }
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取代办员失败");
    return 0;
}

static int notify_agent(db *d, const req_row *r, const agent_contact *c, const char *tmpl,
                        const char *tag, json_t *params, err *e) {
    if (c->user_id <= 0 && !assist_phone_valid(c->phone)) return 0;
    char key[128], link[64];
    snprintf(key, sizeof(key), "assist:%lld:%s:v%lld:agent", (long long)r->id, tag,
             (long long)r->version);
    snprintf(link, sizeof(link), "/assist/%lld", (long long)r->id);
    json_object_set_new(params, "request_no", json_string(r->request_no));
    json_object_set_new(params, "item_name", json_string(r->item_name));
    notify_msg m = {.user_id = c->user_id,
                    .phone = assist_phone_valid(c->phone) ? c->phone : NULL,
                    .template_name = tmpl,
                    .params = params,
                    .dedupe_key = key,
                    .link = c->user_id > 0 ? link : NULL};
    return notify_send(d, &m, NULL, e) < 0 ? -1 : 0;
}

static void pub_queue(assist_pubs *p, int64_t agent_id, const char *event, const req_row *r) {
    if (!p || agent_id <= 0 || p->n >= ASSIST_PUB_MAX) return;
    char place[300];
    place_text(r, place, sizeof(place));
    json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "request_id", (json_int_t)r->id,
                          "request_no", r->request_no, "item_name", r->item_name, "place", place,
                          "urgency", r->urgency, "accept_due", r->accept_due, "status", r->status);
    p->item[p->n].agent_id = agent_id;
    snprintf(p->item[p->n].event, sizeof(p->item[p->n].event), "%s", event);
    p->item[p->n].data = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    p->n++;
}

void assist_pubs_flush(assist_pubs *p) {
    assist_publish_fn fn = __atomic_load_n(&publish_hook, __ATOMIC_ACQUIRE);
    for (int i = 0; i < p->n; i++) {
        if (fn && p->item[i].data) fn(p->item[i].agent_id, p->item[i].event, p->item[i].data);
        free(p->item[i].data);
    }
    p->n = 0;
}

void assist_pubs_drop(assist_pubs *p) {
    for (int i = 0; i < p->n; i++)
        free(p->item[i].data);
    p->n = 0;
}

/* ---- assignment ---- */

/* Give request r (already loaded, in the transaction) to agent_id: status dispatched,
 * the dispatch fields, counters, event, audit, messages to the agent, the resident
 * and a replaced agent, publishes. action: "dispatch" (the dispatcher) or "reassign"
 * (staff). */
static int assign_agent(db *d, const audit_actor *aa, int64_t actor_user, req_row *r,
                        int64_t agent_id, int remote, const double *score, int64_t eta,
                        const char *reason, const char *action, int64_t now, assist_pubs *pubs,
                        err *e) {
    char now_s[32], eta_s[32];
    time_iso(now_s, sizeof(now_s), now);
    if (eta > 0) time_iso(eta_s, sizeof(eta_s), eta);
    agent_contact c;
    if (agent_contact_load(d, agent_id, &c, e) != 0) return -1;
    if (!c.found) return err_invalid(e, "agent_id", "没有这个代办员");
    char from[32];
    snprintf(from, sizeof(from), "%s", r->status);
    int64_t old_agent = r->agent_id;
    db_stmt *s = db_prepare(d,
                            "UPDATE assist_requests SET status = 'dispatched', agent_id = $1, "
                            "remote = $2, dispatch_reason = $3, dispatch_score = $4, eta_at = $5, "
                            "dispatched_at = $6, version = version + 1, updated_at = $6 WHERE id "
                            "= $7 AND version = $8",
                            e);
    if (!s) return -1;
    db_bind_int64(s, 1, agent_id);
    db_bind_int64(s, 2, remote ? 1 : 0);
    db_bind_text(s, 3, reason);
    if (score)
        db_bind_double(s, 4, *score);
    else
        db_bind_null(s, 4);
    db_bind_text(s, 5, eta > 0 ? eta_s : NULL);
    db_bind_text(s, 6, now_s);
    db_bind_int64(s, 7, r->id);
    db_bind_int64(s, 8, r->version);
    int rc = db_step(s);
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "派单失败：%s", db_errmsg(d));
    if (db_changes(d) != 1) return err_conflict(e, "version", "请求已被他人更新，请刷新后重试");
    r->version++;
    r->agent_id = agent_id;
    r->remote = remote;
    snprintf(r->status, sizeof(r->status), "dispatched");
    snprintf(r->agent_name, sizeof(r->agent_name), "%s", c.name);
    if (assist_agent_recount(d, agent_id, now, e) != 0) return -1;
    if (old_agent && old_agent != agent_id && assist_agent_recount(d, old_agent, now, e) != 0)
        return -1;
    json_t *data = json_pack("{s:I, s:b, s:s}", "agent_id", (json_int_t)agent_id, "remote",
                             remote ? 1 : 0, "agent_name", c.name);
    if (score) json_object_set_new(data, "score", json_real(*score));
    if (eta > 0) json_object_set_new(data, "eta_at", json_string(eta_s));
    if (old_agent) json_object_set_new(data, "from_agent_id", json_integer(old_agent));
    int ok = add_event(d, r->id, actor_user, action, from, "dispatched", reason, data, agent_id, 0,
                       now_s, e) == 0 &&
             audit_change(d, aa, action, r, from, old_agent, NULL, e) == 0;
    json_decref(data);
    if (!ok) return -1;
    char place[300], accept_by[32];
    place_text(r, place, sizeof(place));
    local_text(r->accept_due, accept_by, sizeof(accept_by));
    json_t *p = json_pack("{s:s, s:s}", "place", place, "accept_by", accept_by);
    /* An agent taking in a request at their own station needs no message about it. */
    ok = (actor_user > 0 && c.user_id == actor_user) ||
         notify_agent(d, r, &c, "assist_dispatched", action, p, e) == 0;
    json_decref(p);
    if (!ok) return -1;
    p = json_pack("{s:s}", "agent_name", c.name);
    ok = notify_resident(d, r, "assist_assigned", action, p, e) == 0;
    json_decref(p);
    if (!ok) return -1;
    if (old_agent && old_agent != agent_id) {
        agent_contact oc;
        if (agent_contact_load(d, old_agent, &oc, e) != 0) return -1;
        p = json_pack("{s:s}", "why", "已改派给其他代办员");
        ok = notify_agent(d, r, &oc, "assist_task_withdrawn", "withdrawn", p, e) == 0;
        json_decref(p);
        if (!ok) return -1;
        pub_queue(pubs, old_agent, "task_withdrawn", r);
    }
    pub_queue(pubs, agent_id, "task", r);
    return 0;
}

/* The agents that declined request id (at most max). */
static int decliners(db *d, int64_t id, int64_t *out, int max, int *n, err *e) {
    *n = 0;
    db_stmt *s = db_query(d, e,
                          "SELECT DISTINCT agent_id FROM assist_events WHERE request_id = $1 AND "
                          "action = 'decline' AND agent_id IS NOT NULL ORDER BY agent_id",
                          "i", id);
    if (!s) return -1;
    int rc;
    while ((rc = db_step(s)) == DB_ROW && *n < max)
        out[(*n)++] = db_column_int64(s, 0);
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取拒单记录失败");
    return 0;
}

int assist_dispatch_in_tx(db *d, const audit_actor *aa, int64_t actor_user, int64_t id,
                          int64_t extra_exclude, int64_t now, assist_pubs *pubs, int64_t *assigned,
                          err *e) {
    *assigned = 0;
    int64_t ex[ASSIST_MAX_EXCLUDE + 1];
    int nex = 0;
    if (decliners(d, id, ex, ASSIST_MAX_EXCLUDE, &nex, e) != 0) return -1;
    if (extra_exclude > 0) ex[nex++] = extra_exclude;
    dispatch_choice ch;
    memset(&ch, 0, sizeof(ch));
    err de = {0};
    if (dispatch_pick(d, id, now, ex, nex, &ch, &de) != 0) {
        /* The request must not be lost because dispatch failed: it stays new and the
         * watcher tries again. */
        log_warn("assist: dispatch of request %lld failed: %s", (long long)id, de.message);
        return 0;
    }
    if (ch.agent_id <= 0) return 0;
    for (int i = 0; i < nex; i++)
        if (ex[i] == ch.agent_id) {
            log_warn("assist: dispatcher chose excluded agent %lld for request %lld",
                     (long long)ch.agent_id, (long long)id);
            return 0;
        }
    req_row r;
    if (req_load(d, id, &r, e) != 0) return -1;
    if (strcmp(r.status, "new") != 0) return 0;
    ch.reason[sizeof(ch.reason) - 1] = '\0';
    double score = ch.score;
    if (assign_agent(d, aa, actor_user, &r, ch.agent_id, ch.remote, isfinite(score) ? &score : NULL,
                     ch.eta, ch.reason[0] ? ch.reason : "智能派单", "dispatch", now, pubs, e) != 0)
        return -1;
    *assigned = ch.agent_id;
    return 0;
}

/* ---- intake ---- */

/* A user account usable as the resident: role citizen or company. Fills name and
 * phone from the account. */
static int resident_account(db *d, int64_t uid, char *name, size_t nn, char *phone, size_t pn,
                            err *e) {
    db_stmt *s = db_query(
        d, e, "SELECT role, display_name, phone, disabled FROM users WHERE id = $1", "i", uid);
    if (!s) return -1;
    int rc = db_step(s);
    int ok = 0;
    if (rc == DB_ROW) {
        const char *role = db_column_text(s, 0);
        ok = role && (!strcmp(role, "citizen") || !strcmp(role, "company")) &&
             !db_column_int64(s, 3);
        col_copy(s, 1, name, nn);
        col_copy(s, 2, phone, pn);
    }
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取用户失败");
    if (!ok) return err_invalid(e, "resident_id", "resident_id 须为群众或企业账号");
    return 0;
}

/* "YYYY-MM-DD HH:MM" (Shanghai) or ISO UTC into ISO UTC, within range of now. */
static int parse_preferred(const char *s, int64_t now, char *out, size_t n, err *e) {
    int64_t t;
    size_t len = strlen(s);
    int ok =
        (len && s[len - 1] == 'Z') ? time_parse_iso(s, &t) == 0 : workcal_local_parse(s, &t) == 0;
    if (!ok)
        return err_invalid(e, "preferred_at",
                           "preferred_at 须为“YYYY-MM-DD HH:MM”（北京时间）或 ISO-8601 UTC 时间");
    if (t < now - 86400 || t > now + (int64_t)ASSIST_PREFERRED_MAX_DAYS * 86400)
        return err_invalid(e, "preferred_at", "期望时间须在今天至 %d 天内",
                           ASSIST_PREFERRED_MAX_DAYS);
    time_iso(out, n, t);
    return 0;
}

/* A non-empty string without control characters (names, notes). */
static int text_ok(const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++)
        if (*p < 0x20 && *p != '\n' && *p != '\t') return 0;
    return 1;
}

typedef struct intake {
    const char *channel, *village, *item_code, *address, *urgency, *description;
    int64_t resident_id;
    char resident_name[256], resident_phone[32], preferred[32];
    char town[16], island[72];
    char item_name[256], department[256];
    double promise_days;
    int has_item;
} intake;

static int intake_check(db *d, const assist_actor *a, json_t *in, int64_t now, intake *k, err *e) {
    static const jsonx_field spec[] = {{"channel", JX_STRING, 0, 16},
                                       {"village_code", JX_STRING, 1, 32},
                                       {"item_code", JX_STRING, 0, 40},
                                       {"resident_id", JX_INT, 0, 0},
                                       {"resident_name", JX_STRING, 0, 64},
                                       {"resident_phone", JX_STRING, 0, 20},
                                       {"address", JX_STRING, 0, ASSIST_ADDRESS_MAX},
                                       {"urgency", JX_STRING, 0, 16},
                                       {"preferred_at", JX_STRING, 0, 32},
                                       {"description", JX_STRING, 0, ASSIST_DESCRIPTION_MAX},
                                       {NULL}};
    memset(k, 0, sizeof(*k));
    if (jsonx_check(in, spec, e) != 0) return -1;
    k->channel = jsonx_str(in, "channel");
    k->village = jsonx_str(in, "village_code");
    k->item_code = jsonx_str(in, "item_code");
    k->address = jsonx_str(in, "address");
    k->urgency = jsonx_str(in, "urgency");
    k->description = jsonx_str(in, "description");
    if (!k->urgency) k->urgency = "normal";
    if (strcmp(k->urgency, "normal") && strcmp(k->urgency, "urgent"))
        return err_invalid(e, "urgency", "urgency 须为 normal 或 urgent");
    if (!text_ok(k->address)) return err_invalid(e, "address", "地址含有控制字符");
    if (!text_ok(k->description)) return err_invalid(e, "description", "描述含有控制字符");
    const char *rname = jsonx_str(in, "resident_name");
    const char *rphone = jsonx_str(in, "resident_phone");
    if (rname && (!*rname || !text_ok(rname)))
        return err_invalid(e, "resident_name", "居民姓名不能为空或含控制字符");
    if (rphone && !assist_phone_valid(rphone))
        return err_invalid(e, "resident_phone", "联系电话须为 5–20 位数字、+ 或 -");
    json_t *rid = json_object_get(in, "resident_id");
    int64_t resident_id = json_is_integer(rid) ? json_integer_value(rid) : 0;
    if (json_is_integer(rid) && resident_id <= 0)
        return err_invalid(e, "resident_id", "resident_id 须为正整数");
    char acct_name[256] = "", acct_phone[32] = "";

    if (a->role & RESIDENT_ROLES) {
        if (k->channel && strcmp(k->channel, "online"))
            return err_invalid(e, "channel", "居民只能在线提交（channel 为 online）");
        if (resident_id && resident_id != a->user_id)
            return err_forbidden(e, "只能为本人提交帮办请求");
        k->channel = "online";
        k->resident_id = a->user_id;
    } else if (a->role & ROLE_AGENT) {
        if (!a->agent_id) return err_forbidden(e, "您的账号尚未登记为代办员");
        if (k->channel && strcmp(k->channel, "station"))
            return err_invalid(e, "channel", "代办员只能登记站点受理（channel 为 station）");
        k->channel = "station";
        k->resident_id = resident_id;
    } else if (is_staff(a)) {
        if (!k->channel) k->channel = "phone";
        if (strcmp(k->channel, "phone") && strcmp(k->channel, "station"))
            return err_invalid(e, "channel", "工作人员登记的渠道须为 phone 或 station");
        k->resident_id = resident_id;
    } else {
        return err_forbidden(e, "您的角色不能提交帮办代办请求");
    }
    if (k->resident_id) {
        if (resident_account(d, k->resident_id, acct_name, sizeof(acct_name), acct_phone,
                             sizeof(acct_phone), e) != 0)
            return -1;
    } else {
        if (!rname) return err_invalid(e, "resident_name", "没有账号的居民须填写姓名");
        if (!rphone) return err_invalid(e, "resident_phone", "没有账号的居民须填写联系电话");
    }
    snprintf(k->resident_name, sizeof(k->resident_name), "%s",
             (a->role & RESIDENT_ROLES) || !rname ? acct_name : rname);
    if (!k->resident_name[0])
        snprintf(k->resident_name, sizeof(k->resident_name), "%s", rname ? rname : "居民");
    snprintf(k->resident_phone, sizeof(k->resident_phone), "%s",
             rphone                           ? rphone
             : assist_phone_valid(acct_phone) ? acct_phone
                                              : "");
    const char *pref = jsonx_str(in, "preferred_at");
    if (pref && parse_preferred(pref, now, k->preferred, sizeof(k->preferred), e) != 0) return -1;

    /* The village (its town and island follow). */
    if (!*k->village || strlen(k->village) > 16 ||
        strspn(k->village, "0123456789") != strlen(k->village))
        return err_invalid(e, "village_code", "村（社区）代码须为数字");
    db_stmt *s = db_query(d, e, "SELECT town_code, island_id FROM villages WHERE code = $1", "s",
                          k->village);
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ROW) {
        col_copy(s, 0, k->town, sizeof(k->town));
        col_copy(s, 1, k->island, sizeof(k->island));
    }
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取村（社区）失败");
    if (rc != DB_ROW) return err_invalid(e, "village_code", "没有村（社区）“%.16s”", k->village);

    if (k->item_code) {
        err ie = {0};
        json_t *item =
            catalog_code_valid(k->item_code) ? catalog_item_get(d, k->item_code, &ie) : NULL;
        if (!item) {
            if (ie.status >= 500) {
                *e = ie;
                return -1;
            }
            return err_invalid(e, "item_code", "没有事项“%.40s”", k->item_code);
        }
        k->has_item = 1;
        snprintf(k->item_name, sizeof(k->item_name), "%s", jsonx_str(item, "name"));
        snprintf(k->department, sizeof(k->department), "%s",
                 jsonx_str(item, "department") ? jsonx_str(item, "department") : "");
        json_t *pd = json_object_get(item, "promise_days");
        k->promise_days = json_is_number(pd) ? json_number_value(pd) : 0;
        json_decref(item);
    }
    if (k->resident_id && k->item_code) {
        int64_t other = 0;
        int r = db_query_int(d, e, &other,
                             "SELECT id FROM assist_requests WHERE resident_id = $1 AND item_code "
                             "= $2 AND status IN " OPEN_STATUSES,
                             "is", k->resident_id, k->item_code);
        if (r < 0) return -1;
        if (r == 0)
            return err_conflict(e, "item_code", "已有一件“%s”的帮办请求正在办理，请勿重复提交",
                                k->item_name);
    }
    return 0;
}

int assist_create(db *d, const assist_actor *a, json_t *in, int64_t now, int64_t *id_out, err *e) {
    intake k;
    if (intake_check(d, a, in, now, &k, e) != 0) return -1;
    const workcal *cal = workcal_default(e);
    if (!cal) return -1;
    int64_t accept_due, done_due;
    if (assist_sla_dues(cal, now, k.has_item, k.promise_days, &accept_due, &done_due, e) != 0)
        return -1;
    char now_s[32], accept_s[32], done_s[32], tmp[64];
    time_iso(now_s, sizeof(now_s), now);
    time_iso(accept_s, sizeof(accept_s), accept_due);
    time_iso(done_s, sizeof(done_s), done_due);
    static unsigned long seq;
    snprintf(tmp, sizeof(tmp), "tmp-%llx-%lx", (unsigned long long)time_mono_ns(),
             __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
    assist_pubs pubs = {0};
    if (db_begin(d, e) != 0) return -1;
    db_stmt *s = db_prepare(
        d,
        "INSERT INTO assist_requests (request_no, resident_id, resident_name, resident_phone, "
        "item_code, item_name, channel, village_code, town_code, island_id, address, urgency, "
        "preferred_at, description, status, remote, accept_due, done_due, created_by, "
        "created_at, version, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
        "$12, $13, $14, 'new', 0, $15, $16, $17, $18, 1, $18) RETURNING id",
        e);
    if (!s) goto fail;
    db_bind_text(s, 1, tmp);
    if (k.resident_id)
        db_bind_int64(s, 2, k.resident_id);
    else
        db_bind_null(s, 2);
    db_bind_text(s, 3, k.resident_name);
    db_bind_text(s, 4, k.resident_phone[0] ? k.resident_phone : NULL);
    db_bind_text(s, 5, k.has_item ? k.item_code : NULL);
    db_bind_text(s, 6, k.has_item ? k.item_name : NULL);
    db_bind_text(s, 7, k.channel);
    db_bind_text(s, 8, k.village);
    db_bind_text(s, 9, k.town);
    db_bind_text(s, 10, k.island);
    db_bind_text(s, 11, k.address && *k.address ? k.address : NULL);
    db_bind_text(s, 12, k.urgency);
    db_bind_text(s, 13, k.preferred[0] ? k.preferred : NULL);
    db_bind_text(s, 14, k.description && *k.description ? k.description : NULL);
    db_bind_text(s, 15, accept_s);
    db_bind_text(s, 16, done_s);
    if (a->user_id)
        db_bind_int64(s, 17, a->user_id);
    else
        db_bind_null(s, 17);
    db_bind_text(s, 18, now_s);
    int rc = db_step(s);
    int64_t id = rc == DB_ROW ? db_column_int64(s, 0) : 0;
    db_reset(s);
    if (!id) {
        err_internal(e, "登记帮办请求失败：%s", db_errmsg(d));
        goto fail;
    }
    workcal_date day = workcal_local_date(now);
    char no[32];
    snprintf(no, sizeof(no), "BB%02d%02d%02d%07lld", day.year % 100, day.month, day.day,
             (long long)id);
    if (db_execf(d, e, "UPDATE assist_requests SET request_no = $1 WHERE id = $2", "si", no, id))
        goto fail;
    req_row r;
    if (req_load(d, id, &r, e) != 0) goto fail;
    json_t *data = json_pack("{s:s, s:s}", "channel", k.channel, "urgency", k.urgency);
    json_t *extra = json_pack("{s:s, s:s, s:s}", "channel", k.channel, "village_code", k.village,
                              "urgency", k.urgency);
    if (k.has_item) json_object_set_new(extra, "item_code", json_string(k.item_code));
    int ok = add_event(d, id, a->user_id, "create", NULL, "new", NULL, data, 0, 0, now_s, e) == 0 &&
             audit_change(d, &a->audit, "create", &r, NULL, 0, extra, e) == 0;
    json_decref(data);
    json_decref(extra);
    if (!ok) goto fail;
    json_t *p = json_object();
    ok = notify_resident(d, &r, "assist_created", "create", p, e) == 0;
    json_decref(p);
    if (!ok) goto fail;

    if (a->role & ROLE_AGENT) {
        /* Taken in at the agent's own station: the agent handles it. */
        if (assign_agent(d, &a->audit, a->user_id, &r, a->agent_id, 0, NULL, 0,
                         "站点受理：由受理的代办员办理", "dispatch", now, NULL, e) != 0)
            goto fail;
        if (db_execf(d, e,
                     "UPDATE assist_requests SET status = 'accepted', accepted_at = $1, version = "
                     "version + 1, updated_at = $1 WHERE id = $2",
                     "si", now_s, id) != 0)
            goto fail;
        r.version++;
        snprintf(r.status, sizeof(r.status), "accepted");
        if (add_event(d, id, a->user_id, "accept", "dispatched", "accepted", NULL, NULL,
                      a->agent_id, 0, now_s, e) != 0 ||
            audit_change(d, &a->audit, "accept", &r, "dispatched", a->agent_id, NULL, e) != 0)
            goto fail;
    } else {
        int64_t assigned = 0;
        if (assist_dispatch_in_tx(d, &a->audit, 0, id, 0, now, &pubs, &assigned, e) != 0) goto fail;
    }
    if (db_commit(d, e) != 0) goto fail;
    assist_pubs_flush(&pubs);
    *id_out = id;
    return 0;
fail:
    db_rollback(d);
    assist_pubs_drop(&pubs);
    return -1;
}

/* ---- actions ---- */

/* The photo of a completed task: a JPEG or PNG the caller uploaded (by content). */
static int check_photo(db *d, int64_t file_id, int64_t owner, err *e) {
    db_stmt *s = db_query(d, e, "SELECT sha256, owner_id FROM files WHERE id = $1", "i", file_id);
    if (!s) return -1;
    int rc = db_step(s);
    char sha[72] = "";
    int64_t who = 0;
    if (rc == DB_ROW) {
        col_copy(s, 0, sha, sizeof(sha));
        who = col_int(s, 1);
    }
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取文件失败");
    if (rc != DB_ROW || who != owner || strlen(sha) != 64)
        return err_invalid(e, "file_id", "没有这个上传文件（须为本人上传）");
    if (!files_dir() || !*files_dir()) return 0; /* no storage configured (unit tests) */
    char path[1200];
    snprintf(path, sizeof(path), "%s/%.2s/%s", files_dir(), sha, sha);
    unsigned char head[8] = {0};
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(head, 1, sizeof(head), f) : 0;
    if (f) fclose(f);
    int jpg = n >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF;
    int png = n >= 8 && !memcmp(head, "\x89PNG\r\n\x1a\n", 8);
    if (!jpg && !png)
        return err_set(e, 415, "unsupported_media_type", "file_id",
                       "办结照片只接受 JPG 或 PNG（按文件内容判断）");
    return 0;
}

static const struct {
    const char *action, *sql;
} status_sql[] = {
    {"accept",
     "UPDATE assist_requests SET status = $1, accepted_at = COALESCE(accepted_at, $2), version = "
     "version + 1, updated_at = $2 WHERE id = $3 AND version = $4"},
    {"start",
     "UPDATE assist_requests SET status = $1, started_at = COALESCE(started_at, $2), version = "
     "version + 1, updated_at = $2 WHERE id = $3 AND version = $4"},
    {"wait",
     "UPDATE assist_requests SET status = $1, version = version + 1, updated_at = $2 WHERE id = $3 "
     "AND version = $4"},
    {"resume",
     "UPDATE assist_requests SET status = $1, version = version + 1, updated_at = $2 WHERE id = $3 "
     "AND version = $4"},
    {"complete",
     "UPDATE assist_requests SET status = $1, started_at = COALESCE(started_at, $2), done_at = $2, "
     "version = version + 1, updated_at = $2 WHERE id = $3 AND version = $4"},
    {"cancel", "UPDATE assist_requests SET status = $1, cancelled_at = $2, version = version + 1, "
               "updated_at = $2 WHERE id = $3 AND version = $4"},
    {"decline",
     "UPDATE assist_requests SET status = $1, agent_id = NULL, remote = 0, dispatch_reason = NULL, "
     "dispatch_score = NULL, eta_at = NULL, dispatched_at = NULL, version = version + 1, "
     "updated_at = $2 WHERE id = $3 AND version = $4"},
};

static int set_status(db *d, req_row *r, const char *action, const char *to, const char *now_s,
                      err *e) {
    const char *sql = NULL;
    for (size_t i = 0; i < sizeof(status_sql) / sizeof(status_sql[0]); i++)
        if (!strcmp(status_sql[i].action, action)) sql = status_sql[i].sql;
    if (!sql) return err_internal(e, "no status update for %s", action);
    if (db_execf(d, e, sql, "ssii", to, now_s, r->id, r->version) != 0) return -1;
    if (db_changes(d) != 1) return err_conflict(e, "version", "请求已被他人更新，请刷新后重试");
    r->version++;
    snprintf(r->status, sizeof(r->status), "%s", to);
    return 0;
}

/* The resident's message for a plain status change (NULL: none). */
static const char *resident_template(const char *action) {
    if (!strcmp(action, "accept")) return "assist_accepted";
    if (!strcmp(action, "start") || !strcmp(action, "wait") || !strcmp(action, "resume"))
        return "assist_progress";
    if (!strcmp(action, "complete")) return "assist_done";
    if (!strcmp(action, "cancel")) return "assist_cancelled";
    return NULL;
}

static int act_in_tx(db *d, const assist_actor *a, req_row *r, const char *action, const char *to,
                     const assist_act_input *in, int64_t now, assist_pubs *pubs, err *e) {
    char now_s[32], from[32];
    time_iso(now_s, sizeof(now_s), now);
    snprintf(from, sizeof(from), "%s", r->status);
    int64_t agent_before = r->agent_id;
    const char *note = in->note && *in->note ? in->note : NULL;

    if (!strcmp(action, "reassign")) {
        if (in->agent_id > 0) {
            if (in->agent_id == r->agent_id && !strcmp(r->status, "dispatched"))
                return err_conflict(e, "agent_id", "请求已派给该代办员");
            char reason[256];
            snprintf(reason, sizeof(reason), "人工派单：%s%s%s", a->name, note ? "，" : "",
                     note ? note : "");
            return assign_agent(d, &a->audit, a->user_id, r, in->agent_id, 0, NULL, 0, reason,
                                "reassign", now, pubs, e);
        }
        /* Back to the dispatcher without the current agent; nobody else → unchanged. */
        int64_t keep_agent = r->agent_id;
        if (strcmp(r->status, "new") != 0) {
            if (set_status(d, r, "decline", "new", now_s, e) != 0) return -1;
            r->agent_id = 0;
        }
        /* The staff decision on the timeline; the dispatch that follows is its own row. */
        if (add_event(d, r->id, a->user_id, "reassign", from, "new", note ? note : "重新智能派单",
                      NULL, keep_agent, 0, now_s, e) != 0 ||
            audit_change(d, &a->audit, "reassign", r, from, keep_agent, NULL, e) != 0)
            return -1;
        int64_t got = 0;
        if (assist_dispatch_in_tx(d, &a->audit, a->user_id, r->id, keep_agent, now, pubs, &got, e))
            return -1;
        if (!got) return err_conflict(e, "agent_id", "暂无其他可派的代办员，请指定代办员");
        if (keep_agent && keep_agent != got) {
            if (assist_agent_recount(d, keep_agent, now, e) != 0) return -1;
            agent_contact oc;
            if (agent_contact_load(d, keep_agent, &oc, e) != 0) return -1;
            if (req_load(d, r->id, r, e) != 0) return -1;
            json_t *p = json_pack("{s:s}", "why", "已改派给其他代办员");
            int ok = notify_agent(d, r, &oc, "assist_task_withdrawn", "withdrawn", p, e) == 0;
            json_decref(p);
            if (!ok) return -1;
            pub_queue(pubs, keep_agent, "task_withdrawn", r);
        }
        return 0;
    }

    if (!strcmp(action, "wait") && !note)
        return err_invalid(e, "note", "转为等待部门办理须说明在等什么");
    if (!strcmp(action, "complete") && in->file_id > 0 &&
        check_photo(d, in->file_id, a->user_id, e))
        return -1;
    if (set_status(d, r, action, to, now_s, e) != 0) return -1;
    if (!strcmp(action, "decline")) r->agent_id = 0;
    json_t *data = NULL;
    if (!strcmp(action, "complete") && in->file_id > 0)
        data = json_pack("{s:I}", "file_id", (json_int_t)in->file_id);
    int ok = add_event(d, r->id, a->user_id, action, from, to, note, data, agent_before,
                       !strcmp(action, "complete") ? in->file_id : 0, now_s, e) == 0 &&
             audit_change(d, &a->audit, action, r, from, agent_before, data, e) == 0;
    json_decref(data);
    if (!ok) return -1;
    if (agent_before && assist_agent_recount(d, agent_before, now, e) != 0) return -1;

    const char *tmpl = resident_template(action);
    if (tmpl) {
        json_t *p = json_object();
        if (!strcmp(action, "accept") || !strcmp(action, "complete"))
            json_object_set_new(p, "agent_name", json_string(r->agent_name));
        if (!strcmp(action, "start"))
            json_object_set_new(p, "progress", json_string("代办员已开始办理。"));
        if (!strcmp(action, "resume"))
            json_object_set_new(p, "progress", json_string("已恢复办理。"));
        if (!strcmp(action, "wait")) {
            char prog[ASSIST_NOTE_MAX + 64];
            snprintf(prog, sizeof(prog), "正在等待部门办理：%s。", note);
            json_object_set_new(p, "progress", json_string(prog));
        }
        if (!strcmp(action, "cancel")) {
            char why[ASSIST_NOTE_MAX + 16];
            snprintf(why, sizeof(why), "%s%s", note ? "，原因：" : "", note ? note : "");
            json_object_set_new(p, "reason", json_string(why));
        }
        ok = notify_resident(d, r, tmpl, action, p, e) == 0;
        json_decref(p);
        if (!ok) return -1;
    }
    if (!strcmp(action, "cancel") && agent_before) {
        agent_contact c;
        if (agent_contact_load(d, agent_before, &c, e) != 0) return -1;
        json_t *p = json_pack("{s:s}", "why", "已被取消");
        ok = notify_agent(d, r, &c, "assist_task_withdrawn", "cancel", p, e) == 0;
        json_decref(p);
        if (!ok) return -1;
        pub_queue(pubs, agent_before, "task_withdrawn", r);
    }
    if (!strcmp(action, "decline")) {
        int64_t got = 0;
        if (assist_dispatch_in_tx(d, &a->audit, a->user_id, r->id, agent_before, now, pubs, &got,
                                  e) != 0)
            return -1;
        /* Nobody else yet: say so (a new agent announces themselves otherwise). */
        if (!got &&
            tell_resident(d, r, "decline", "原定代办员无法前往，正在为您重新安排代办员。", e))
            return -1;
    }
    return 0;
}

int assist_act(db *d, const assist_actor *a, int64_t id, const char *action,
               const assist_act_input *in, int64_t now, err *e) {
    assist_act_input none = {0};
    if (!in) in = &none;
    if (in->note && (strlen(in->note) > ASSIST_NOTE_MAX || !text_ok(in->note)))
        return err_invalid(e, "note", "说明不能超过 %d 字节或含控制字符", ASSIST_NOTE_MAX);
    if (in->file_id < 0) return err_invalid(e, "file_id", "file_id 须为正整数");
    if (in->agent_id < 0) return err_invalid(e, "agent_id", "agent_id 须为正整数");
    assist_pubs pubs = {0};
    if (db_begin(d, e) != 0) return -1;
    req_row r;
    const char *to = NULL;
    if (req_load_visible(d, a, id, &r, e) != 0) goto fail;
    if (in->expected_version > 0 && in->expected_version != r.version) {
        err_conflict(e, "version", "请求已被他人更新，请刷新后重试");
        goto fail;
    }
    if (assist_rule(action, r.status, relations(a, &r), &to, e) != 0) goto fail;
    if (act_in_tx(d, a, &r, action, to, in, now, &pubs, e) != 0) goto fail;
    if (db_commit(d, e) != 0) goto fail;
    assist_pubs_flush(&pubs);
    return 0;
fail:
    db_rollback(d);
    assist_pubs_drop(&pubs);
    return -1;
}

int assist_agent_released(db *d, const audit_actor *actor, int64_t agent_id, int64_t now,
                          assist_pubs *pubs, int *moved, err *e) {
    if (moved) *moved = 0;
    db_stmt *s = db_query(d, e,
                          "SELECT id FROM assist_requests WHERE agent_id = $1 AND status = "
                          "'dispatched' ORDER BY id LIMIT $2",
                          "ii", agent_id, (int64_t)ASSIST_SCAN_BATCH);
    if (!s) return -1;
    int64_t ids[ASSIST_SCAN_BATCH];
    int n = 0, rc;
    while ((rc = db_step(s)) == DB_ROW && n < ASSIST_SCAN_BATCH)
        ids[n++] = db_column_int64(s, 0);
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取代办员任务失败");
    char now_s[32];
    time_iso(now_s, sizeof(now_s), now);
    for (int i = 0; i < n; i++) {
        req_row r;
        if (req_load(d, ids[i], &r, e) != 0) return -1;
        /* Handed back: like a decline, recorded as "release" (not excluded later). */
        if (set_status(d, &r, "decline", "new", now_s, e) != 0) return -1;
        r.agent_id = 0;
        if (add_event(d, r.id, actor->user_id, "release", "dispatched", "new",
                      "代办员已下班，重新派单", NULL, agent_id, 0, now_s, e) != 0 ||
            audit_change(d, actor, "release", &r, "dispatched", agent_id, NULL, e) != 0)
            return -1;
        int64_t got = 0;
        if (assist_dispatch_in_tx(d, actor, actor->user_id, r.id, agent_id, now, pubs, &got, e))
            return -1;
        if (!got &&
            tell_resident(d, &r, "release", "原定代办员暂时无法前往，正在为您重新安排代办员。", e))
            return -1;
        if (moved) (*moved)++;
    }
    return assist_agent_recount(d, agent_id, now, e);
}

/* ---- consent, notes, applications ---- */

int assist_consent(db *d, const assist_actor *a, int64_t id, const char *method, const char *note,
                   int64_t now, err *e) {
    if (note && (strlen(note) > ASSIST_NOTE_MAX || !text_ok(note)))
        return err_invalid(e, "note", "说明不能超过 %d 字节或含控制字符", ASSIST_NOTE_MAX);
    if (db_begin(d, e) != 0) return -1;
    req_row r;
    if (req_load_visible(d, a, id, &r, e) != 0) goto fail;
    unsigned rel = relations(a, &r);
    const char *m;
    if (rel & ASSIST_REL_RESIDENT) {
        if (method && strcmp(method, "online")) {
            err_invalid(e, "method", "居民本人授权的方式为 online");
            goto fail;
        }
        m = "online";
    } else if (rel & ASSIST_REL_STAFF) {
        m = method ? method : "phone";
        if (strcmp(m, "phone") && strcmp(m, "station")) {
            err_invalid(e, "method", "工作人员记录授权的方式须为 phone 或 station");
            goto fail;
        }
    } else {
        err_forbidden(e, "授权须由居民本人作出，或由工作人员记录");
        goto fail;
    }
    if (!assist_status_open(r.status)) {
        err_conflict(e, "status", "请求已%s，不能再授权", assist_status_label(r.status));
        goto fail;
    }
    if (r.consent_at[0]) { /* already given: nothing changes */
        db_rollback(d);
        return 0;
    }
    char now_s[32];
    time_iso(now_s, sizeof(now_s), now);
    static const char consent_sql[] =
        "UPDATE assist_requests SET consent_at = $1, consent_by = $2, consent_method = $3, "
        "version = version + 1, updated_at = $1 WHERE id = $4 AND version = $5";
    if ((a->user_id ? db_execf(d, e, consent_sql, "sisii", now_s, a->user_id, m, r.id, r.version)
                    : db_execf(d, e, consent_sql, "snsii", now_s, m, r.id, r.version)) != 0)
        goto fail;
    if (db_changes(d) != 1) {
        err_conflict(e, "version", "请求已被他人更新，请刷新后重试");
        goto fail;
    }
    r.version++;
    json_t *data = json_pack("{s:s}", "method", m);
    int ok =
        add_event(d, r.id, a->user_id, "consent", NULL, NULL, note, data, 0, 0, now_s, e) == 0 &&
        audit_change(d, &a->audit, "consent", &r, NULL, 0, data, e) == 0 &&
        tell_resident(d, &r, "consent",
                      !strcmp(m, "online") ? "您已同意由代办员代为申请。"
                      : !strcmp(m, "phone") ? "工作人员已记录您在电话中同意由代办员代为申请。"
                                            : "工作人员已记录您当面同意由代办员代为申请。",
                      e) == 0;
    json_decref(data);
    if (!ok || db_commit(d, e) != 0) goto fail;
    return 0;
fail:
    db_rollback(d);
    return -1;
}

int assist_note(db *d, const assist_actor *a, int64_t id, const char *text, int64_t now, err *e) {
    if (!text || !*text) return err_invalid(e, "text", "备注不能为空");
    if (strlen(text) > ASSIST_NOTE_MAX || !text_ok(text))
        return err_invalid(e, "text", "备注不能超过 %d 字节或含控制字符", ASSIST_NOTE_MAX);
    if (db_begin(d, e) != 0) return -1;
    req_row r;
    if (req_load_visible(d, a, id, &r, e) != 0) goto fail;
    char now_s[32];
    time_iso(now_s, sizeof(now_s), now);
    if (add_event(d, r.id, a->user_id, "note", NULL, NULL, text, NULL, 0, 0, now_s, e) != 0 ||
        audit_change(d, &a->audit, "note", &r, NULL, 0, NULL, e) != 0 || db_commit(d, e) != 0)
        goto fail;
    return 0;
fail:
    db_rollback(d);
    return -1;
}

int assist_open_case(db *d, const assist_actor *a, int64_t id, json_t *in, int64_t now,
                     int64_t *case_id_out, int *created, err *e) {
    static const jsonx_field spec[] = {{"item_code", JX_STRING, 0, 40},
                                       {"form", JX_OBJECT, 0, 0},
                                       {"materials", JX_ARRAY, 0, 64},
                                       {"submit", JX_BOOL, 0, 0},
                                       {NULL}};
    *created = 0;
    if (jsonx_check(in, spec, e) != 0) return -1;
    req_row r;
    if (req_load_visible(d, a, id, &r, e) != 0) return -1;
    if (!(relations(a, &r) & ASSIST_REL_AGENT))
        return err_forbidden(e, "只有接单的代办员可以为居民代为申请");
    if (r.case_id) {
        *case_id_out = r.case_id;
        return 0;
    }
    if (strcmp(r.status, "accepted") && strcmp(r.status, "in_progress") &&
        strcmp(r.status, "waiting_on_department"))
        return err_conflict(e, "status", "请求当前为“%s”，接单后才能代为申请",
                            assist_status_label(r.status));
    if (!r.consent_at[0]) return err_conflict(e, "consent", "须先取得居民的代办授权");
    if (!r.resident_id)
        return err_conflict(e, "resident_id", "居民尚无账号，请先为其注册后再代为申请");
    const char *item = jsonx_str(in, "item_code");
    if (!item) item = r.item_code[0] ? r.item_code : NULL;
    if (!item) return err_invalid(e, "item_code", "请指定要申请的事项");

    json_t *cin = json_object();
    json_object_set_new(cin, "item_code", json_string(item));
    json_t *form = json_object_get(in, "form");
    json_object_set_new(cin, "form", json_is_object(form) ? json_incref(form) : json_object());
    if (json_is_array(json_object_get(in, "materials")))
        json_object_set(cin, "materials", json_object_get(in, "materials"));
    if (json_is_boolean(json_object_get(in, "submit")))
        json_object_set(cin, "submit", json_object_get(in, "submit"));
    json_object_set_new(cin, "on_behalf_of", json_integer(r.resident_id));
    json_object_set_new(cin, "channel", json_string("assisted"));
    json_object_set_new(cin, "town_code", json_string(r.town_code));
    char idem[48];
    snprintf(idem, sizeof(idem), "assist-%lld", (long long)r.id);
    json_object_set_new(cin, "idempotency_key", json_string(idem));

    cases_actor ca = {.user_id = a->user_id, .role = a->role, .audit = a->audit};
    char dept[256], town[16];
    if (cases_actor_load(d, &ca, dept, sizeof(dept), town, sizeof(town), e) != 0) {
        json_decref(cin);
        return -1;
    }
    int64_t case_id = 0;
    int case_created = 0;
    int rc = cases_create(d, &ca, cin, &case_id, &case_created, e);
    json_decref(cin);
    if (rc != 0) return -1;
    json_t *cj = cases_get(d, &ca, case_id, e);
    char case_no[48] = "";
    if (cj && jsonx_str(cj, "case_no"))
        snprintf(case_no, sizeof(case_no), "%s", jsonx_str(cj, "case_no"));
    json_decref(cj);

    /* Link it (a second transaction: cases_create commits its own). */
    char now_s[32];
    time_iso(now_s, sizeof(now_s), now);
    if (db_begin(d, e) != 0) return -1;
    if (req_load(d, id, &r, e) != 0) goto fail;
    if (!r.case_id) {
        if (db_execf(d, e,
                     "UPDATE assist_requests SET case_id = $1, version = version + 1, updated_at = "
                     "$2 WHERE id = $3",
                     "isi", case_id, now_s, r.id) != 0)
            goto fail;
        r.version++;
        r.case_id = case_id;
        json_t *data = json_pack("{s:I, s:s, s:s}", "case_id", (json_int_t)case_id, "case_no",
                                 case_no, "item_code", item);
        char prog[160];
        snprintf(prog, sizeof(prog), "代办员已为您申请办件（受理编号 %s）。", case_no);
        json_t *p = json_pack("{s:s}", "progress", prog);
        int ok = add_event(d, r.id, a->user_id, "case_opened", NULL, NULL, NULL, data, a->agent_id,
                           0, now_s, e) == 0 &&
                 audit_change(d, &a->audit, "case", &r, NULL, 0, data, e) == 0 &&
                 notify_resident(d, &r, "assist_progress", "case", p, e) == 0;
        json_decref(data);
        json_decref(p);
        if (!ok) goto fail;
    }
    if (db_commit(d, e) != 0) goto fail;
    *case_id_out = case_id;
    *created = case_created;
    return 0;
fail:
    db_rollback(d);
    return -1;
}

/* ---- queries ---- */

static json_t *col_json(db_stmt *s, int col) {
    const char *t = db_column_text(s, col);
    return t ? json_string(t) : json_null();
}

static json_t *summary_json(db_stmt *s, const char *now_iso_s, int reveal_phone) {
    json_t *o = json_object();
    const char *status = db_column_text(s, C_STATUS);
    json_object_set_new(o, "id", json_integer(db_column_int64(s, C_ID)));
    json_object_set_new(o, "request_no", col_json(s, C_NO));
    json_object_set_new(o, "status", col_json(s, C_STATUS));
    json_object_set_new(o, "status_label", json_string(assist_status_label(status)));
    json_object_set_new(o, "channel", col_json(s, C_CHANNEL));
    json_object_set_new(o, "item_code", col_json(s, C_ITEM_CODE));
    const char *iname = db_column_text(s, C_ITEM_NAME);
    json_object_set_new(o, "item_name", json_string(iname ? iname : NO_ITEM_NAME));
    json_t *res = json_object();
    json_object_set_new(res, "id",
                        db_column_type(s, C_RESIDENT_ID) == DB_NULL
                            ? json_null()
                            : json_integer(db_column_int64(s, C_RESIDENT_ID)));
    json_object_set_new(res, "name", col_json(s, C_RESIDENT_NAME));
    const char *phone = db_column_text(s, C_RESIDENT_PHONE);
    char masked[32];
    json_object_set_new(res, "phone",
                        !phone ? json_null()
                        : reveal_phone
                            ? json_string(phone)
                            : json_string(notify_mask_phone(phone, masked, sizeof(masked))));
    json_object_set_new(o, "resident", res);
    json_object_set_new(o, "village",
                        json_pack("{s:o, s:o}", "code", col_json(s, C_VILLAGE), "name",
                                  col_json(s, C_VILLAGE_NAME)));
    json_object_set_new(
        o, "town",
        json_pack("{s:o, s:o}", "code", col_json(s, C_TOWN), "name", col_json(s, C_TOWN_NAME)));
    json_object_set_new(
        o, "island",
        json_pack("{s:o, s:o}", "id", col_json(s, C_ISLAND), "name", col_json(s, C_ISLAND_NAME)));
    json_object_set_new(o, "urgency", col_json(s, C_URGENCY));
    json_object_set_new(o, "preferred_at", col_json(s, C_PREFERRED));
    if (db_column_type(s, C_AGENT_ID) != DB_NULL)
        json_object_set_new(o, "agent",
                            json_pack("{s:I, s:o}", "id",
                                      (json_int_t)db_column_int64(s, C_AGENT_ID), "name",
                                      col_json(s, C_AGENT_NAME)));
    else
        json_object_set_new(o, "agent", json_null());
    json_object_set_new(o, "remote", json_boolean(col_int(s, C_REMOTE) != 0));
    const char *acc_due = db_column_text(s, C_ACCEPT_DUE),
               *done_due = db_column_text(s, C_DONE_DUE);
    int open = assist_status_open(status);
    int acc_over = open && status && (!strcmp(status, "new") || !strcmp(status, "dispatched")) &&
                   db_column_type(s, C_ACCEPTED_AT) == DB_NULL && acc_due &&
                   strcmp(acc_due, now_iso_s) < 0;
    int done_over = open && done_due && strcmp(done_due, now_iso_s) < 0;
    json_t *sla = json_object();
    json_object_set_new(sla, "accept_due", col_json(s, C_ACCEPT_DUE));
    json_object_set_new(sla, "done_due", col_json(s, C_DONE_DUE));
    json_object_set_new(sla, "accept_overdue", json_boolean(acc_over));
    json_object_set_new(sla, "done_overdue", json_boolean(done_over));
    json_object_set_new(sla, "escalated_at", col_json(s, C_ESCALATED));
    json_object_set_new(sla, "done_escalated_at", col_json(s, C_DONE_ESCALATED));
    json_object_set_new(o, "sla", sla);
    json_object_set_new(o, "case_id",
                        db_column_type(s, C_CASE_ID) == DB_NULL
                            ? json_null()
                            : json_integer(db_column_int64(s, C_CASE_ID)));
    json_object_set_new(o, "created_at", col_json(s, C_CREATED_AT));
    json_object_set_new(o, "updated_at", col_json(s, C_UPDATED_AT));
    json_object_set_new(o, "version", json_integer(db_column_int64(s, C_VERSION)));
    return o;
}

static json_t *events_json(db *d, int64_t id, json_t **case_out, err *e) {
    db_stmt *s = db_query(d, e,
                          "SELECT ev.at, ev.action, ev.from_status, ev.to_status, ev.note, "
                          "ev.data, ev.actor_id, u.display_name, ev.agent_id, ev.file_id "
                          "FROM assist_events ev LEFT JOIN users u ON u.id = ev.actor_id "
                          "WHERE ev.request_id = $1 ORDER BY ev.id",
                          "i", id);
    if (!s) return NULL;
    json_t *out = json_array();
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        json_t *ev = json_object();
        json_object_set_new(ev, "at", col_json(s, 0));
        json_object_set_new(ev, "action", col_json(s, 1));
        json_object_set_new(ev, "from_status", col_json(s, 2));
        json_object_set_new(ev, "to_status", col_json(s, 3));
        json_object_set_new(ev, "note", col_json(s, 4));
        const char *dt = db_column_text(s, 5);
        json_t *data = dt ? json_loads(dt, 0, NULL) : NULL;
        if (data && !strcmp(db_column_text(s, 1), "case_opened")) {
            json_decref(*case_out);
            *case_out = json_pack("{s:O, s:O}", "id", json_object_get(data, "case_id"), "case_no",
                                  json_object_get(data, "case_no"));
        }
        json_object_set_new(ev, "data", data ? data : json_null());
        json_object_set_new(ev, "actor",
                            db_column_type(s, 6) == DB_NULL
                                ? json_null()
                                : json_pack("{s:I, s:o}", "id", (json_int_t)db_column_int64(s, 6),
                                            "name", col_json(s, 7)));
        json_object_set_new(ev, "agent_id",
                            db_column_type(s, 8) == DB_NULL ? json_null()
                                                            : json_integer(db_column_int64(s, 8)));
        json_object_set_new(ev, "file_id",
                            db_column_type(s, 9) == DB_NULL ? json_null()
                                                            : json_integer(db_column_int64(s, 9)));
        json_array_append_new(out, ev);
    }
    db_reset(s);
    if (rc == DB_ERROR) {
        json_decref(out);
        err_internal(e, "读取帮办时间线失败");
        return NULL;
    }
    return out;
}

json_t *assist_get(db *d, const assist_actor *a, int64_t id, int64_t now, err *e) {
    req_row r;
    if (req_load_visible(d, a, id, &r, e) != 0) return NULL;
    unsigned rel = relations(a, &r);
    db_stmt *s = db_query(d, e, "SELECT " REQ_COLUMNS REQ_FROM "WHERE r.id = $1", "i", id);
    if (!s) return NULL;
    if (db_step(s) != DB_ROW) {
        db_reset(s);
        err_notfound(e, "没有这个帮办请求");
        return NULL;
    }
    char now_s[32];
    time_iso(now_s, sizeof(now_s), now);
    json_t *o = summary_json(s, now_s, 1);
    json_object_set_new(o, "address", col_json(s, C_ADDRESS));
    json_object_set_new(o, "description", col_json(s, C_DESCRIPTION));
    json_t *ag = json_object_get(o, "agent");
    if (json_is_object(ag)) {
        json_object_set_new(ag, "phone", col_json(s, C_AGENT_PHONE));
        json_object_set_new(ag, "kind", col_json(s, C_AGENT_KIND));
        json_object_set_new(ag, "station_id", col_json(s, C_AGENT_STATION));
        json_object_set_new(ag, "station_name", col_json(s, C_AGENT_STATION_NAME));
    }
    json_t *disp = json_object();
    json_object_set_new(disp, "reason", col_json(s, C_REASON));
    json_object_set_new(disp, "score",
                        db_column_type(s, C_SCORE) == DB_NULL
                            ? json_null()
                            : json_real(db_column_double(s, C_SCORE)));
    json_object_set_new(disp, "eta_at", col_json(s, C_ETA));
    json_object_set_new(disp, "dispatched_at", col_json(s, C_DISPATCHED_AT));
    json_object_set_new(o, "dispatch", disp);
    json_object_set_new(o, "consent",
                        db_column_type(s, C_CONSENT_AT) == DB_NULL
                            ? json_null()
                            : json_pack("{s:o, s:I, s:o}", "at", col_json(s, C_CONSENT_AT), "by",
                                        (json_int_t)col_int(s, C_CONSENT_BY), "method",
                                        col_json(s, C_CONSENT_METHOD)));
    json_object_set_new(o, "accepted_at", col_json(s, C_ACCEPTED_AT));
    json_object_set_new(o, "started_at", col_json(s, C_STARTED_AT));
    json_object_set_new(o, "done_at", col_json(s, C_DONE_AT));
    json_object_set_new(o, "cancelled_at", col_json(s, C_CANCELLED_AT));
    db_reset(s);
    if (r.status[0] && !strcmp(r.status, "new"))
        json_object_set_new(o, "waiting",
                            json_string("暂无可派的代办员，系统将继续派单并提醒监管人员"));

    /* What the actor may do now. */
    json_t *acts = json_array();
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        const char *to;
        err ignore = {0};
        if (assist_rule(rules[i].action, r.status, rel, &to, &ignore) == 0)
            json_array_append_new(acts, json_string(rules[i].action));
    }
    if (assist_status_open(r.status) && !r.consent_at[0] &&
        (rel & (ASSIST_REL_RESIDENT | ASSIST_REL_STAFF)))
        json_array_append_new(acts, json_string("consent"));
    if ((rel & ASSIST_REL_AGENT) && r.consent_at[0] && r.resident_id && !r.case_id &&
        (!strcmp(r.status, "accepted") || !strcmp(r.status, "in_progress") ||
         !strcmp(r.status, "waiting_on_department")))
        json_array_append_new(acts, json_string("open_case"));
    json_array_append_new(acts, json_string("note"));
    json_object_set_new(o, "actions", acts);

    json_t *case_info = NULL;
    json_t *events = events_json(d, id, &case_info, e);
    if (!events) {
        json_decref(case_info);
        json_decref(o);
        return NULL;
    }
    json_object_set_new(o, "events", events);
    if (!case_info && r.case_id)
        case_info = json_pack("{s:I, s:n}", "id", (json_int_t)r.case_id, "case_no");
    json_object_set_new(o, "case", case_info ? case_info : json_null());
    return o;
}

static int status_filter_ok(const char *s) {
    return !s || !strcmp(s, "open") || !strcmp(s, "closed") || assist_status_valid(s);
}

json_t *assist_list(db *d, const assist_actor *a, const assist_filter *f, int64_t now, err *e) {
    assist_filter none = {0};
    if (!f) f = &none;
    if (!status_filter_ok(f->status)) {
        err_invalid(e, "status", "status 须为 open、closed 或一个状态");
        return NULL;
    }
    if (f->town_code && !places_town_code_valid(f->town_code)) {
        err_invalid(e, "town", "乡镇代码须为 9 位数字");
        return NULL;
    }
    if (f->village_code && (!*f->village_code || strlen(f->village_code) > 16 ||
                            strspn(f->village_code, "0123456789") != strlen(f->village_code))) {
        err_invalid(e, "village", "村（社区）代码须为数字");
        return NULL;
    }
    if (f->due && strcmp(f->due, "overdue") && strcmp(f->due, "accept_overdue") &&
        strcmp(f->due, "done_overdue")) {
        err_invalid(e, "due", "due 须为 overdue、accept_overdue 或 done_overdue");
        return NULL;
    }
    if (f->q && strlen(f->q) > 64) {
        err_invalid(e, "q", "搜索文字不能超过 64 字节");
        return NULL;
    }
    int64_t limit = f->limit <= 0 ? ASSIST_DEFAULT_LIMIT : f->limit;
    if (limit > ASSIST_MAX_LIMIT) limit = ASSIST_MAX_LIMIT;
    int64_t offset = f->offset < 0 ? 0 : f->offset;
    char now_s[32], like[80] = "";
    time_iso(now_s, sizeof(now_s), now);
    if (f->q) snprintf(like, sizeof(like), "%%%s%%", f->q);

    qbuild w = {0};
    qb_text(&w, "WHERE 1 = 1");
    if (a->role & RESIDENT_ROLES)
        qb_i(&w, " AND r.resident_id = $#", a->user_id);
    else if (a->role & ROLE_AGENT)
        qb_i(&w, " AND r.agent_id = $#", a->agent_id ? a->agent_id : -1);
    else if (!is_staff(a)) {
        err_forbidden(e, "您的角色不能查看帮办代办请求");
        return NULL;
    } else {
        if (f->mine && a->user_id) qb_i(&w, " AND r.created_by = $#", a->user_id);
        if (f->agent_id > 0) qb_i(&w, " AND r.agent_id = $#", f->agent_id);
    }
    if (f->status && !strcmp(f->status, "open"))
        qb_text(&w, " AND r.status IN " OPEN_STATUSES);
    else if (f->status && !strcmp(f->status, "closed"))
        qb_text(&w, " AND r.status IN ('done', 'cancelled')");
    else if (f->status)
        qb_s(&w, " AND r.status = $#", f->status);
    if (f->town_code) qb_s(&w, " AND r.town_code = $#", f->town_code);
    if (f->village_code) qb_s(&w, " AND r.village_code = $#", f->village_code);
    const char *order = " ORDER BY r.id DESC";
    if (f->due && !strcmp(f->due, "accept_overdue")) {
        qb_s(&w,
             " AND r.status IN ('new', 'dispatched') AND r.accepted_at IS NULL AND r.accept_due < "
             "$#",
             now_s);
        order = " ORDER BY r.accept_due, r.id";
    } else if (f->due && !strcmp(f->due, "done_overdue")) {
        qb_s(&w, " AND r.status IN " OPEN_STATUSES " AND r.done_due < $#", now_s);
        order = " ORDER BY r.done_due, r.id";
    } else if (f->due) {
        qb_s(&w,
             " AND r.status IN " OPEN_STATUSES " AND ((r.status IN ('new', 'dispatched') AND "
             "r.accepted_at IS NULL AND r.accept_due < $#) OR r.done_due < $#)",
             now_s);
        order = " ORDER BY r.accept_due, r.id";
    }
    if (f->q)
        qb_s(&w,
             " AND (r.request_no LIKE $# OR LOWER(r.resident_name) LIKE LOWER($#) OR "
             "LOWER(COALESCE(r.item_name, '')) LIKE LOWER($#))",
             like);

    qbuild c = {0};
    qb_text(&c, "SELECT COUNT(*) FROM assist_requests r ");
    qb_text(&c, w.sql);
    c.n = w.n;
    memcpy(c.p, w.p, sizeof(w.p));
    db_stmt *s = qb_prepare(d, &c, e);
    if (!s) return NULL;
    int rc = db_step(s);
    int64_t total = rc == DB_ROW ? db_column_int64(s, 0) : 0;
    db_reset(s);
    if (rc == DB_ERROR) {
        err_internal(e, "读取帮办请求失败：%s", db_errmsg(d));
        return NULL;
    }
    qbuild q = {0};
    qb_text(&q, "SELECT " REQ_COLUMNS REQ_FROM);
    qb_text(&q, w.sql);
    q.n = w.n;
    memcpy(q.p, w.p, sizeof(w.p));
    qb_text(&q, order);
    qb_i(&q, " LIMIT $#", limit);
    qb_i(&q, " OFFSET $#", offset);
    s = qb_prepare(d, &q, e);
    if (!s) return NULL;
    json_t *items = json_array();
    while ((rc = db_step(s)) == DB_ROW)
        json_array_append_new(items, summary_json(s, now_s, 0));
    db_reset(s);
    if (rc == DB_ERROR) {
        json_decref(items);
        err_internal(e, "读取帮办请求失败：%s", db_errmsg(d));
        return NULL;
    }
    return json_pack("{s:o, s:I, s:I, s:I}", "items", items, "total", (json_int_t)total, "limit",
                     (json_int_t)limit, "offset", (json_int_t)offset);
}

/* ---- escalation (for assist_watch.c) ---- */

int assist_escalate_in_tx(db *d, int64_t id, const char *kind, const char *due_iso, int64_t now,
                          err *e) {
    static const audit_actor sys = {0, "system", NULL};
    req_row r;
    if (req_load(d, id, &r, e) != 0) return -1;
    int64_t users[200];
    int n = 0, rc;
    db_stmt *s = db_query(d, e,
                          "SELECT id FROM users WHERE role = 'supervisor' AND disabled = 0 AND "
                          "(town_code = $1 OR town_code IS NULL) ORDER BY id LIMIT 200",
                          "s", r.town_code);
    if (!s) return -1;
    while ((rc = db_step(s)) == DB_ROW && n < 200)
        users[n++] = db_column_int64(s, 0);
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取监管人员失败");
    if (!n) {
        s = db_query(d, e,
                     "SELECT id FROM users WHERE role = 'supervisor' AND disabled = 0 ORDER BY id "
                     "LIMIT 200",
                     "");
        if (!s) return -1;
        while ((rc = db_step(s)) == DB_ROW && n < 200)
            users[n++] = db_column_int64(s, 0);
        db_reset(s);
        if (rc == DB_ERROR) return err_internal(e, "读取监管人员失败");
    }
    int accept = !strcmp(kind, "accept");
    const char *problem = accept ? "超过 2 个工作小时无人接单" : "未在承诺时限内办结";
    char place[300], due_local[32], link[64];
    place_text(&r, place, sizeof(place));
    local_text(due_iso, due_local, sizeof(due_local));
    snprintf(link, sizeof(link), "/assist/%lld", (long long)r.id);
    int sent = 0;
    for (int i = 0; i < n; i++) {
        char key[128];
        snprintf(key, sizeof(key), "assist:%lld:escalated:%s:u%lld", (long long)r.id, kind,
                 (long long)users[i]);
        json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:s}", "request_no", r.request_no, "item_name",
                              r.item_name, "place", place, "problem", problem, "due", due_local);
        notify_msg m = {.user_id = users[i],
                        .template_name = "assist_escalated",
                        .params = p,
                        .dedupe_key = key,
                        .link = link};
        int nr = notify_send(d, &m, NULL, e);
        json_decref(p);
        if (nr < 0) return -1;
        if (nr == 0) sent++;
    }
    char now_s[32], note[160];
    time_iso(now_s, sizeof(now_s), now);
    snprintf(note, sizeof(note), "%s，已提醒监管人员（%d 人）", problem, n);
    json_t *data = json_pack("{s:s, s:s, s:i}", "kind", kind, "due", due_iso, "notified", sent);
    int ok = add_event(d, r.id, 0, "escalated", r.status, r.status, note, data, r.agent_id, 0,
                       now_s, e) == 0 &&
             audit_change(d, &sys, "escalate", &r, NULL, 0, data, e) == 0;
    json_decref(data);
    return ok ? 0 : -1;
}
