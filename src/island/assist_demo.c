/* assist_demo: a year of assisted requests (帮办代办) for `isle demo`, so that the
 * dispatch board, the agent inbox, the dashboards and the 数说 report show the
 * island service at work: phone, station and online intakes spread over the
 * villages, agents of the resident's own town, acceptance within the 2-working-
 * hour SLA for most (some late, and escalated), completion within the item's
 * promise, a few cancellations, and today's requests still open in every status.
 *
 * Rows are written directly (as the applications demo does) in one transaction,
 * deterministic for a seed; every request gets its timeline rows and SLA dues
 * from the working-day calendar; agents' open_tasks match their open requests.
 * Idempotent: nothing is written when requests exist. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "base/timeutil.h"
#include "base/xmalloc.h"
#include "island/assist.h"
#include "workcal/workcal.h"

typedef struct village {
    char code[16], town[16], island[72];
} village;
typedef struct agent {
    int64_t id;
    char town[16];
    int capacity, open;
} agent;
typedef struct item {
    char code[48], name[256];
    double promise;
    int depth;
} item;

static const char *const surnames = "王李张刘陈杨黄赵吴周徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董";
static const char *const notes[] = {"腿脚不便，请上门", "子女在外地，帮忙办理", "不会用手机申请",
                                    "渡船班次少，不方便进城", "材料不清楚，请指导"};

static int load(db *d, village **vs, int *nv, agent **as, int *na, item **is, int *ni, err *e) {
    db_stmt *s = db_query(
        d, e, "SELECT v.code, v.town_code, v.island_id FROM villages v ORDER BY v.code", "");
    if (!s) return -1;
    int cap = 512;
    *vs = xcalloc((size_t)cap, sizeof(**vs));
    *nv = 0;
    while (db_step(s) == DB_ROW) {
        if (*nv == cap) *vs = xrealloc(*vs, (size_t)(cap *= 2) * sizeof(**vs));
        village *v = &(*vs)[(*nv)++];
        snprintf(v->code, sizeof(v->code), "%s", db_column_text(s, 0));
        snprintf(v->town, sizeof(v->town), "%s", db_column_text(s, 1));
        snprintf(v->island, sizeof(v->island), "%s", db_column_text(s, 2));
    }
    db_reset(s);
    s = db_query(
        d, e,
        "SELECT id, town_code, capacity, open_tasks FROM agents WHERE on_duty = 1 ORDER BY id", "");
    if (!s) return -1;
    cap = 2048;
    *as = xcalloc((size_t)cap, sizeof(**as));
    *na = 0;
    while (db_step(s) == DB_ROW) {
        if (*na == cap) *as = xrealloc(*as, (size_t)(cap *= 2) * sizeof(**as));
        agent *a = &(*as)[(*na)++];
        a->id = db_column_int64(s, 0);
        snprintf(a->town, sizeof(a->town), "%s", db_column_text(s, 1));
        a->capacity = (int)db_column_int64(s, 2);
        a->open = (int)db_column_int64(s, 3);
    }
    db_reset(s);
    /* Items people most often need help with: the popular ones (by popularity). */
    s = db_query(d, e,
                 "SELECT code, name, promise_days, online_depth FROM catalog_items "
                 "ORDER BY popularity DESC, code LIMIT 120",
                 "");
    if (!s) return -1;
    cap = 128;
    *is = xcalloc((size_t)cap, sizeof(**is));
    *ni = 0;
    while (db_step(s) == DB_ROW && *ni < cap) {
        item *it = &(*is)[(*ni)++];
        snprintf(it->code, sizeof(it->code), "%s", db_column_text(s, 0));
        snprintf(it->name, sizeof(it->name), "%s", db_column_text(s, 1));
        it->promise = db_column_double(s, 2);
        it->depth = (int)db_column_int64(s, 3);
    }
    db_reset(s);
    return 0;
}

/* An agent of the town, with room; -1 when none. */
static int agent_in(agent *as, int na, const char *town, rng *r, int need_room) {
    int start = rng_pick(r, na), found = -1;
    for (int k = 0; k < na && found < 0; k++) {
        int i = (start + k) % na;
        if (strcmp(as[i].town, town)) continue;
        if (need_room && as[i].open >= as[i].capacity) continue;
        found = i;
    }
    return found;
}

static int add_event(db *d, int64_t req, int64_t at, const char *action, const char *from,
                     const char *to, const char *note, int64_t agent_id, err *e) {
    char t[32];
    time_iso(t, sizeof(t), at);
    db_stmt *s =
        db_query(d, e,
                 "INSERT INTO assist_events (request_id, at, actor_id, action, from_status, "
                 "to_status, note, agent_id) VALUES ($1, $2, NULL, $3, $4, $5, $6, $7)",
                 "isssss", req, t, action, from, to, note);
    if (!s) return -1;
    if (agent_id)
        db_bind_int64(s, 7, agent_id);
    else
        db_bind_null(s, 7);
    int rc = db_step(s);
    db_reset(s);
    return rc == DB_DONE ? 0 : err_internal(e, "写入演示事件失败");
}

static void opt_time(char *buf, size_t n, int64_t t) {
    if (t)
        time_iso(buf, n, t);
    else
        buf[0] = '\0';
}

int assist_demo_run(db *d, int64_t now, unsigned seed, int count, int *created, err *e) {
    if (created) *created = 0;
    int64_t have = 0;
    if (db_query_int(d, e, &have, "SELECT COUNT(*) FROM assist_requests", "") < 0) return -1;
    if (have > 0 || count <= 0) return 0;
    const workcal *cal = workcal_default(e);
    if (!cal) return -1;
    village *vs = NULL;
    agent *as = NULL;
    item *is = NULL;
    int nv = 0, na = 0, ni = 0;
    if (load(d, &vs, &nv, &as, &na, &is, &ni, e) != 0 || !nv || !na) {
        free(vs);
        free(as);
        free(is);
        return nv && na ? -1 : 0; /* no places or agents: nothing to demo */
    }
    rng r = {0xA55157ULL ^ seed};
    int rc = db_begin(d, e), made = 0;
    for (int i = 0; rc == 0 && i < count; i++) {
        const village *v = &vs[rng_pick(&r, nv)];
        const item *it = rng_unit(&r) < 0.1 || !ni ? NULL : &is[rng_pick(&r, ni)];
        /* The last 2 % are today's: still open in every status. */
        int today = i >= count - count / 50 - 1;
        int64_t created_at = today ? now - (int64_t)(rng_unit(&r) * 6 * 3600)
                                   : now - 86400 * 2 - (int64_t)(rng_unit(&r) * 363 * 86400);
        /* Office hours, Shanghai: shift into 08:30–17:00 of that day. */
        int64_t day0 = ((created_at + 8 * 3600) / 86400) * 86400 - 8 * 3600;
        if (!today) created_at = day0 + 8 * 3600 + 1800 + (int64_t)(rng_unit(&r) * 8.5 * 3600);
        if (created_at > now) created_at = now - 60;
        double u = rng_unit(&r);
        const char *channel = u < 0.45 ? "phone" : u < 0.75 ? "station" : "online";
        int remote = it && it->depth >= 4;
        int ai = agent_in(as, na, v->town, &r, today);
        if (ai < 0) ai = agent_in(as, na, v->town, &r, 0);
        if (ai < 0) ai = rng_pick(&r, na);
        agent *ag = &as[ai];
        int64_t accept_due = 0, done_due = 0;
        if (assist_sla_dues(cal, created_at, it != NULL, it ? it->promise : 0, &accept_due,
                            &done_due, e) != 0) {
            rc = -1;
            break;
        }
        /* Acceptance: usually within half an hour; one in twenty late (escalated). */
        double late = rng_unit(&r);
        int64_t dispatched = created_at + 30;
        int64_t accepted =
            late < 0.05 ? accept_due + 600 + (int64_t)(rng_unit(&r) * 7200)
                        : dispatched + 120 + (int64_t)(-log(1 - rng_unit(&r) * 0.999) * 1500);
        int64_t started = accepted + 1800 + (int64_t)(rng_unit(&r) * 20 * 3600);
        int64_t done = started + 3600 + (int64_t)(rng_unit(&r) * 2.5 * 86400);
        if (done > done_due && rng_unit(&r) < 0.85) done = done_due - 3600;
        if (done < started) done = started + 1800;
        const char *status = "done";
        int cancelled = rng_unit(&r) < 0.03;
        if (today) {
            double s = rng_unit(&r);
            status = s < 0.3    ? "dispatched"
                     : s < 0.55 ? "accepted"
                     : s < 0.8  ? "in_progress"
                     : s < 0.9  ? "waiting_on_department"
                                : "done";
            if (!strcmp(status, "dispatched"))
                accepted = started = done = 0;
            else if (!strcmp(status, "accepted"))
                started = done = 0;
            else if (strcmp(status, "done"))
                done = 0;
            if (accepted && accepted > now) accepted = now - 60;
            if (started && started > now) started = now - 30;
            if (done && done > now) done = now;
        } else if (cancelled) {
            status = "cancelled";
        }
        int open = strcmp(status, "done") && strcmp(status, "cancelled");
        char name[32];
        int sidx = rng_pick(&r, (int)(strlen(surnames) / 3));
        snprintf(name, sizeof(name), "%.3s%s", surnames + sidx * 3,
                 rng_unit(&r) < 0.5 ? "阿婆" : "阿公");
        char phone[16];
        snprintf(phone, sizeof(phone), "139%08llu",
                 (unsigned long long)(rng_next(&r) % 100000000ULL));
        char c_at[32], d_at[32], a_at[32], s_at[32], dn_at[32], x_at[32], ad[32], dd[32], esc[32];
        time_iso(c_at, sizeof(c_at), created_at);
        time_iso(d_at, sizeof(d_at), dispatched);
        opt_time(a_at, sizeof(a_at), cancelled ? 0 : accepted);
        opt_time(s_at, sizeof(s_at), cancelled ? 0 : started);
        opt_time(dn_at, sizeof(dn_at), !strcmp(status, "done") ? done : 0);
        opt_time(x_at, sizeof(x_at), cancelled ? dispatched + 3600 : 0);
        time_iso(ad, sizeof(ad), accept_due);
        time_iso(dd, sizeof(dd), done_due);
        opt_time(esc, sizeof(esc), accepted > accept_due && !cancelled ? accept_due + 60 : 0);
        char reason[200];
        snprintf(reason, sizeof(reason), "本镇代办员, %s", remote ? "网上代办" : "上门服务");
        const char *last = cancelled ? x_at : *dn_at ? dn_at : *s_at ? s_at : *a_at ? a_at : d_at;
        db_stmt *s = db_query(
            d, e,
            "INSERT INTO assist_requests (request_no, resident_name, resident_phone, item_code, "
            "item_name, channel, village_code, town_code, island_id, urgency, description, status, "
            "agent_id, remote, dispatch_reason, eta_at, accept_due, done_due, escalated_at, "
            "created_at, dispatched_at, accepted_at, started_at, done_at, cancelled_at, version, "
            "updated_at) VALUES ('', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
            "$15, $16, $17, NULLIF($18, ''), $19, $20, NULLIF($21, ''), NULLIF($22, ''), "
            "NULLIF($23, ''), NULLIF($24, ''), 1, $25) RETURNING id",
            "sssssssssssiisssssssssss", name, phone, it ? it->code : NULL,
            it ? it->name : "帮办事项待确认", channel, v->code, v->town, v->island,
            rng_unit(&r) < 0.1 ? "urgent" : "normal", notes[rng_pick(&r, 5)], status, ag->id,
            (int64_t)remote, reason, d_at, ad, dd, esc, c_at, d_at, a_at, s_at, dn_at, x_at);
        if (!s) {
            rc = -1;
            break;
        }
        db_bind_text(s, 25, last);
        int64_t id = 0;
        if (db_step(s) == DB_ROW) id = db_column_int64(s, 0);
        db_reset(s);
        if (!id) {
            rc = err_internal(e, "写入演示帮办失败");
            break;
        }
        char no[32], ymd[32];
        time_iso(ymd, sizeof(ymd), created_at + 8 * 3600);
        snprintf(no, sizeof(no), "BB%.2s%.2s%.2s%07lld", ymd + 2, ymd + 5, ymd + 8, (long long)id);
        if (db_execf(d, e, "UPDATE assist_requests SET request_no = $1 WHERE id = $2", "si", no,
                     id) != 0) {
            rc = -1;
            break;
        }
        rc = add_event(d, id, created_at, "create", NULL, "new", NULL, 0, e);
        if (rc == 0)
            rc = add_event(d, id, dispatched, "dispatch", "new", "dispatched", reason, ag->id, e);
        if (rc == 0 && cancelled)
            rc = add_event(d, id, dispatched + 3600, "cancel", "dispatched", "cancelled",
                           "居民已自行办理", 0, e);
        if (rc == 0 && !cancelled && accepted)
            rc = add_event(d, id, accepted, "accept", "dispatched", "accepted", NULL, ag->id, e);
        if (rc == 0 && !cancelled && started)
            rc = add_event(d, id, started, "start", "accepted", "in_progress", NULL, ag->id, e);
        if (rc == 0 && !strcmp(status, "waiting_on_department"))
            rc = add_event(d, id, started + 60 > now ? now : started + 60, "wait", "in_progress",
                           "waiting_on_department", "材料已交部门", ag->id, e);
        if (rc == 0 && !strcmp(status, "done"))
            rc = add_event(d, id, done, "complete", "in_progress", "done", NULL, ag->id, e);
        if (rc == 0 && open) {
            ag->open++;
            rc = db_execf(d, e, "UPDATE agents SET open_tasks = open_tasks + 1 WHERE id = $1", "i",
                          ag->id);
        }
        if (rc == 0) made++;
    }
    free(vs);
    free(as);
    free(is);
    if (rc != 0) {
        db_rollback(d);
        return -1;
    }
    if (db_commit(d, e) != 0) return -1;
    if (created) *created = made;
    return 0;
}
