/* watch.c: the applications' clock watcher. Once a minute (ISLE_CASES_SCAN_MS) a
 * thread of `isle serve` looks for cases in intake or review whose deadline has
 * passed and escalates each once per deadline: a timeline row ("overdue"), an
 * audit row, and a message to the assignee or the department's staff
 * (notify_case_overdue). The claim is a conditional UPDATE of
 * cases.escalated_deadline inside the same transaction, so with several nodes
 * exactly one escalates a case. Supervisors see every overdue case in their
 * queue (GET /api/v1/cases?due=overdue). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "base/timeutil.h"
#include "cases/internal.h"
#include "notify/notify.h"

#define SCAN_BATCH 500

int cases_overdue_scan(db *d, int64_t now, int *escalated, err *e) {
    *escalated = 0;
    char now_s[32];
    time_iso(now_s, sizeof(now_s), now);
    db_stmt *s = db_query(d, e,
                          "SELECT id, deadline_at FROM cases WHERE status IN ('accepted', "
                          "'in_review') AND deadline_at < $1 AND (escalated_deadline IS NULL OR "
                          "escalated_deadline <> deadline_at) ORDER BY deadline_at LIMIT $2",
                          "si", now_s, (int64_t)SCAN_BATCH);
    if (!s) return -1;
    int64_t ids[SCAN_BATCH];
    char dl[SCAN_BATCH][32];
    int n = 0, r;
    while ((r = db_step(s)) == DB_ROW && n < SCAN_BATCH) {
        ids[n] = db_column_int64(s, 0);
        snprintf(dl[n], sizeof(dl[n]), "%s", db_column_text(s, 1));
        n++;
    }
    db_reset(s);
    if (r == DB_ERROR) return err_internal(e, "读取超期办件失败：%s", db_errmsg(d));
    static const audit_actor sys = {0, "system", NULL};
    for (int i = 0; i < n; i++) {
        if (db_begin(d, e) != 0) return -1;
        if (db_execf(d, e,
                     "UPDATE cases SET escalated_deadline = $1 WHERE id = $2 AND deadline_at = $1 "
                     "AND (escalated_deadline IS NULL OR escalated_deadline <> $1)",
                     "si", dl[i], ids[i]) != 0)
            goto fail;
        if (db_changes(d) != 1) { /* another node took it, or the deadline moved */
            db_rollback(d);
            continue;
        }
        json_t *data = json_pack("{s:s}", "deadline_at", dl[i]);
        char oid[32];
        snprintf(oid, sizeof(oid), "%lld", (long long)ids[i]);
        int ok = case_event(d, ids[i], 0, "overdue", NULL, NULL, "已超过办理时限，已提醒承办人员",
                            data, e) == 0 &&
                 audit_record(d, &sys, "case.overdue", "case", oid, NULL, data, e) == 0 &&
                 notify_case_overdue(d, ids[i], NULL, e) == 0;
        json_decref(data);
        if (!ok) goto fail;
        if (db_commit(d, e) != 0) return -1;
        (*escalated)++;
    }
    return 0;
fail:
    db_rollback(d);
    return -1;
}

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
            log_warn("cases watcher: %s", e.message);
            d = NULL;
        }
        if (d) {
            int n = 0;
            if (cases_overdue_scan(d, time_now(), &n, &e) != 0) {
                log_warn("cases watcher: %s", e.message);
                db_close(d); /* reconnect next time (the database may have restarted) */
                d = NULL;
            } else if (n) {
                log_info("cases watcher: %d overdue case(s) escalated", n);
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

int cases_watch_start(const char *dsn, err *e) {
    const char *v = getenv("ISLE_CASES_SCAN_MS");
    long ms = 60000;
    if (v && *v) {
        char *end;
        ms = strtol(v, &end, 10);
        if (*end || ms < 0 || ms > 86400000L)
            return err_invalid(e, "ISLE_CASES_SCAN_MS",
                               "ISLE_CASES_SCAN_MS 须为 0–86400000 的毫秒数");
    }
    if (ms == 0) return 0; /* off */
    snprintf(w.dsn, sizeof(w.dsn), "%s", dsn);
    w.interval_ms = ms < 50 ? 50 : ms;
    w.stop = 0;
    if (pthread_create(&w.thread, NULL, watch_main, NULL) != 0)
        return err_internal(e, "cannot start the cases watcher");
    w.running = 1;
    return 0;
}

void cases_watch_stop(void) {
    if (!w.running) return;
    pthread_mutex_lock(&w.mu);
    w.stop = 1;
    pthread_cond_broadcast(&w.cv);
    pthread_mutex_unlock(&w.mu);
    pthread_join(w.thread, NULL);
    w.running = 0;
}
