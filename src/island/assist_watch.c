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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "base/timeutil.h"
#include "island/assist_internal.h"

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
    if (!assist_dispatch_available()) return 0;
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

static struct {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int running, stop;
    char dsn[1024];
    long interval_ms;
} w = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void *watch_main(void *arg) {
    (void)arg;
    db *d = NULL;
    pthread_mutex_lock(&w.mu);
    while (!w.stop) {
        pthread_mutex_unlock(&w.mu);
        err e = {0};
        if (!d && db_open(w.dsn, &d, &e) != 0) {
            log_warn("assist watcher: %s", e.message);
            d = NULL;
        }
        if (d) {
            int n = 0, sent = 0;
            if (assist_sla_scan(d, time_now(), &n, &sent, &e) != 0) {
                log_warn("assist watcher: %s", e.message);
                db_close(d); /* reconnect next time (the database may have restarted) */
                d = NULL;
            } else if (n || sent) {
                log_info("assist watcher: %d escalation(s), %d request(s) dispatched", n, sent);
            }
        }
        pthread_mutex_lock(&w.mu);
        if (w.stop) break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += w.interval_ms / 1000;
        ts.tv_nsec += (w.interval_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&w.cv, &w.mu, &ts);
    }
    pthread_mutex_unlock(&w.mu);
    db_close(d);
    return NULL;
}

int assist_watch_start(const char *dsn, err *e) {
    const char *v = getenv("ISLE_ASSIST_SCAN_MS");
    long ms = 60000;
    if (v && *v) {
        char *end;
        ms = strtol(v, &end, 10);
        if (*end || ms < 0 || ms > 86400000L)
            return err_invalid(e, "ISLE_ASSIST_SCAN_MS",
                               "ISLE_ASSIST_SCAN_MS 须为 0–86400000 的毫秒数");
    }
    if (ms == 0 || w.running) return 0;
    snprintf(w.dsn, sizeof(w.dsn), "%s", dsn);
    w.interval_ms = ms < 50 ? 50 : ms;
    w.stop = 0;
    if (pthread_create(&w.thread, NULL, watch_main, NULL) != 0)
        return err_internal(e, "cannot start the assist watcher");
    w.running = 1;
    return 0;
}

void assist_watch_stop(void) {
    if (!w.running) return;
    pthread_mutex_lock(&w.mu);
    w.stop = 1;
    pthread_cond_broadcast(&w.cv);
    pthread_mutex_unlock(&w.mu);
    pthread_join(w.thread, NULL);
    w.running = 0;
}
