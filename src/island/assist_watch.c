/* assist_watch.c: the SLA watcher of assisted requests — a thread of `isle
 * serve` (every ISLE_ASSIST_SCAN_MS, default a minute) modelled on the cases
 * watcher (src/cases/watch.c).
 *
 * A pass: (1) requests still new go to the dispatcher again (an agent may have come
 * on duty since) — nothing waits forever unseen; (2) each request past accept_due
 * and never accepted, and each open request past done_due, is escalated ONCE to the
 * town's supervisors. The claim is a conditional UPDATE of escalated_at /
 * done_escalated_at inside the escalation's own transaction, so with several nodes
 * exactly one escalates a request, and a request that changed meanwhile (accepted,
 * finished) is skipped. Never drops or closes a request. */
#include <stdio.h>
#include <string.h>

#include "base/timeutil.h"
#include "island/assist_internal.h"
#include "jobs/periodic.h"

#define OPEN_STATUSES "('new', 'dispatched', 'accepted', 'in_progress', 'waiting_on_department')"

typedef struct due_item {
    int64_t id;
    char due[32];
} due_item;

/* Up to ASSIST_SCAN_BATCH rows (id, due) of a query with $1 = now, $2 = limit. */
static int collect(db *d, const char *sql, const char *now_s, due_item *out, int *n, err *e) {
    *n = 0;
    db_stmt *s = db_query(d, e, sql, "si", now_s, (int64_t)ASSIST_SCAN_BATCH);
    if (!s) return -1;
    int rc;
    while ((rc = db_step(s)) == DB_ROW && *n < ASSIST_SCAN_BATCH) {
        out[*n].id = db_column_int64(s, 0);
        const char *t = db_column_text(s, 1);
        snprintf(out[*n].due, sizeof(out[*n].due), "%s", t ? t : "");
        (*n)++;
    }
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取帮办请求失败：%s", db_errmsg(d));
    return 0;
}

static int redispatch_new(db *d, int64_t now, int *dispatched, err *e) {
    static const audit_actor sys = {0, "system", NULL};
    char now_s[32];
    time_iso(now_s, sizeof(now_s), now);
    due_item items[ASSIST_SCAN_BATCH];
    int n = 0;
    if (collect(d,
                "SELECT id, created_at FROM assist_requests WHERE status = 'new' AND "
                "created_at <= $1 ORDER BY urgency DESC, created_at LIMIT $2",
                now_s, items, &n, e) != 0)
        return -1;
    for (int i = 0; i < n; i++) {
        assist_pubs pubs = {0};
        int64_t got = 0;
        if (db_begin(d, e) != 0) return -1;
        if (assist_dispatch_in_tx(d, &sys, 0, items[i].id, 0, now, &pubs, &got, e) != 0 ||
            db_commit(d, e) != 0) {
            db_rollback(d);
            assist_pubs_drop(&pubs);
            return -1;
        }
        assist_pubs_flush(&pubs);
        if (got && dispatched) (*dispatched)++;
    }
    return 0;
}

/* Claim with claim_sql ($1 now, $2 id) and escalate; 1 escalated, 0 taken or changed,
 * -1 error. */
static int escalate_one(db *d, const char *claim_sql, const due_item *it, const char *kind,
                        int64_t now, err *e) {
    char now_s[32];
    time_iso(now_s, sizeof(now_s), now);
    if (db_begin(d, e) != 0) return -1;
    if (db_execf(d, e, claim_sql, "si", now_s, it->id) != 0) goto fail;
    if (db_changes(d) != 1) { /* another node took it, or it was accepted/finished */
        db_rollback(d);
        return 0;
    }
    if (assist_escalate_in_tx(d, it->id, kind, it->due, now, e) != 0) goto fail;
    if (db_commit(d, e) != 0) goto fail;
    return 1;
fail:
    db_rollback(d);
    return -1;
}

int assist_sla_scan(db *d, int64_t now, int *escalated, int *dispatched, err *e) {
    *escalated = 0;
    if (dispatched) *dispatched = 0;
    if (redispatch_new(d, now, dispatched, e) != 0) return -1;
    char now_s[32];
    time_iso(now_s, sizeof(now_s), now);
    due_item items[ASSIST_SCAN_BATCH];
    int n = 0;
    if (collect(d,
                "SELECT id, accept_due FROM assist_requests WHERE status IN ('new', "
                "'dispatched') AND accepted_at IS NULL AND escalated_at IS NULL AND accept_due "
                "< $1 ORDER BY accept_due LIMIT $2",
                now_s, items, &n, e) != 0)
        return -1;
    for (int i = 0; i < n; i++) {
        int r = escalate_one(d,
                             "UPDATE assist_requests SET escalated_at = $1 WHERE id = $2 AND "
                             "escalated_at IS NULL AND accepted_at IS NULL AND status IN ('new', "
                             "'dispatched') AND accept_due < $1",
                             &items[i], "accept", now, e);
        if (r < 0) return -1;
        *escalated += r;
    }
    if (collect(d,
                "SELECT id, done_due FROM assist_requests WHERE status IN " OPEN_STATUSES
                " AND done_escalated_at IS NULL AND done_due < $1 ORDER BY done_due LIMIT $2",
                now_s, items, &n, e) != 0)
        return -1;
    for (int i = 0; i < n; i++) {
        int r = escalate_one(d,
                             "UPDATE assist_requests SET done_escalated_at = $1, escalated_at = "
                             "COALESCE(escalated_at, $1) WHERE id = $2 AND done_escalated_at IS "
                             "NULL AND status IN " OPEN_STATUSES " AND done_due < $1",
                             &items[i], "done", now, e);
        if (r < 0) return -1;
        *escalated += r;
    }
    return 0;
}

/* ---- the thread ---- */

static int scan(db *d, int64_t now, char *summary, size_t n, err *e) {
    int escalated = 0, dispatched = 0;
    if (assist_sla_scan(d, now, &escalated, &dispatched, e) != 0) return -1;
    if (escalated || dispatched)
        snprintf(summary, n, "%d escalation(s), %d request(s) dispatched", escalated, dispatched);
    return 0;
}

static periodic *watcher;

int assist_watch_start(const char *dsn, err *e) {
    if (watcher) return 0;
    return periodic_start("assist watcher", dsn, "ISLE_ASSIST_SCAN_MS", 60000, scan, &watcher, e);
}

void assist_watch_stop(void) {
    periodic_stop(watcher);
    watcher = NULL;
}
