/* watch.c: the applications' clock watcher. Once a minute (ISLE_CASES_SCAN_MS) a
 * thread of `isle serve` looks for cases in intake or review whose deadline has
 * passed and escalates each once per deadline: a timeline row ("overdue"), an
 * audit row, and a message to the assignee or the department's staff
 * (notify_case_overdue). The claim is a conditional UPDATE of
 * cases.escalated_deadline inside the same transaction, so with several nodes
 * exactly one escalates a case. Supervisors see every overdue case in their
 * queue (GET /api/v1/cases?due=overdue). */
#include <stdio.h>
#include <string.h>

#include "base/timeutil.h"
#include "cases/internal.h"
#include "jobs/periodic.h"
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

static int scan(db *d, int64_t now, char *summary, size_t n, err *e) {
    int escalated = 0;
    if (cases_overdue_scan(d, now, &escalated, e) != 0) return -1;
    if (escalated) snprintf(summary, n, "%d overdue case(s) escalated", escalated);
    return 0;
}

static periodic *watcher;

int cases_watch_start(const char *dsn, err *e) {
    if (watcher) return 0;
    return periodic_start("cases watcher", dsn, "ISLE_CASES_SCAN_MS", 60000, scan, &watcher, e);
}

void cases_watch_stop(void) {
    periodic_stop(watcher);
    watcher = NULL;
}
