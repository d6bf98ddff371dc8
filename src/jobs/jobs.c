/* jobs: the durable job queue (see jobs.h).
 *
 * Every operation is one short transaction in DB_TX_READ_COMMITTED mode: on
 * PostgreSQL the row locks of the claim (FOR UPDATE SKIP LOCKED) are what keeps
 * claimers apart, so the cluster-wide write lock of db_begin() is not taken and
 * claimers on several nodes run side by side; SQLite serialises them anyway. */
#include "jobs/jobs.h"
#include "base/jsonx.h"
#include "base/timeutil.h"
#include "base/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int kind_valid(const char *k) {
    size_t n = k ? strlen(k) : 0;
    if (n < 1 || n > JOBS_KIND_MAX) return 0;
    return strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static int worker_valid(const char *w) {
    size_t n = w ? strlen(w) : 0;
    if (n < 1 || n > 64) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)w[i] < 0x20 || w[i] == 0x7f) return 0;
    return 1;
}

static const char *status_names[] = {"queued", "running", "done", "failed", NULL};

static int status_valid(const char *s) {
    for (const char **p = status_names; *p; p++)
        if (strcmp(*p, s) == 0) return 1;
    return 0;
}

int jobs_enqueue(db *d, const char *kind, const char *payload_json, int delay_seconds,
                 int max_attempts, int64_t *id_out, err *e) {
    if (!kind_valid(kind)) return err_invalid(e, "kind", "任务类型须为 1–64 位 a-z 0-9 . _ -");
    if (!payload_json) payload_json = "{}";
    if (strlen(payload_json) > JOBS_PAYLOAD_MAX)
        return err_invalid(e, "payload", "任务内容超过 64 KiB");
    json_error_t je;
    json_t *check = json_loads(payload_json, JSON_DECODE_ANY, &je);
    if (!check) return err_invalid(e, "payload", "任务内容须为 JSON：%s", je.text);
    json_decref(check);
    if (delay_seconds < 0 || delay_seconds > 366 * 86400)
        return err_invalid(e, "delay", "延迟须在 0 到 366 天之间");
    if (max_attempts == 0) max_attempts = 5;
    if (max_attempts < 1 || max_attempts > 100)
        return err_invalid(e, "max_attempts", "最多尝试次数须为 1–100");
    char now[32], after[32];
    int64_t t = time_now();
    time_iso(now, sizeof(now), t);
    time_iso(after, sizeof(after), t + delay_seconds);
    /* Inside the caller's transaction the job joins it (a transactional outbox: the
     * job exists exactly when the caller's change commits); otherwise it is its own. */
    int own_tx = !d->in_tx;
    if (own_tx && db_begin_mode(d, DB_TX_READ_COMMITTED, e) != 0) return -1;
    int64_t id = 0;
    int rc = db_query_int(d, e, &id,
                          "INSERT INTO jobs (kind, payload, status, attempts, max_attempts, "
                          "run_after, created_at, updated_at) "
                          "VALUES ($1, $2, 'queued', 0, $3, $4, $5, $5) RETURNING id",
                          "ssiss", kind, payload_json, (int64_t)max_attempts, after, now);
    if (rc > 0) rc = err_internal(e, "insert returned no id");
    if (!own_tx) {
        if (rc != 0) return -1;
    } else if (rc != 0 || db_commit(d, e) != 0) {
        db_rollback(d);
        return -1;
    }
    if (id_out) *id_out = id;
    return 0;
}

/* The claim differs only in its row lock; both texts are constants. */
static const char claim_pg[] =
    "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = $3, "
    "locked_until = $4, updated_at = $2 "
    "WHERE id = (SELECT id FROM jobs WHERE kind = $1 AND ((status = 'queued' AND run_after <= $2) "
    "OR (status = 'running' AND locked_until <= $2)) ORDER BY id LIMIT 1 "
    "FOR UPDATE SKIP LOCKED) "
    "RETURNING id, kind, payload, attempts, max_attempts, locked_until";
static const char claim_sqlite[] =
    "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = $3, "
    "locked_until = $4, updated_at = $2 "
    "WHERE id = (SELECT id FROM jobs WHERE kind = $1 AND ((status = 'queued' AND run_after <= $2) "
    "OR (status = 'running' AND locked_until <= $2)) ORDER BY id LIMIT 1) "
    "RETURNING id, kind, payload, attempts, max_attempts, locked_until";

int jobs_claim(db *d, const char *kind, const char *worker, int lease_seconds, jobs_job *out,
               err *e) {
    memset(out, 0, sizeof(*out));
    if (!kind_valid(kind)) return err_invalid(e, "kind", "任务类型须为 1–64 位 a-z 0-9 . _ -");
    if (!worker_valid(worker)) return err_invalid(e, "worker", "工作者名称须为 1–64 个可见字符");
    if (lease_seconds < 1 || lease_seconds > 86400)
        return err_invalid(e, "lease", "租期须为 1–86400 秒");
    char now[32], until[32];
    int64_t t = time_now();
    time_iso(now, sizeof(now), t);
    time_iso(until, sizeof(until), t + lease_seconds);
    if (db_begin_mode(d, DB_TX_READ_COMMITTED, e) != 0) return -1;
    /* A job whose last lease ran out with no attempts left fails rather than running
     * once more. */
    int rc = db_execf(d, e,
                      "UPDATE jobs SET status = 'failed', locked_by = NULL, locked_until = NULL, "
                      "last_error = 'lease expired on the last attempt', updated_at = $2 "
                      "WHERE kind = $1 AND status = 'running' AND locked_until <= $2 "
                      "AND attempts >= max_attempts",
                      "ss", kind, now);
    db_stmt *s = NULL;
    if (rc == 0)
        s = db_query(d, e, strcmp(db_backend(d), "postgres") == 0 ? claim_pg : claim_sqlite, "ssss",
                     kind, now, worker, until);
    int got = 0;
    if (s) {
        int st = db_step(s);
        if (st == DB_ROW) {
            out->id = db_column_int64(s, 0);
            snprintf(out->kind, sizeof(out->kind), "%s", db_column_text(s, 1));
            out->payload = xstrdup(db_column_text(s, 2) ? db_column_text(s, 2) : "{}");
            out->attempts = (int)db_column_int64(s, 3);
            out->max_attempts = (int)db_column_int64(s, 4);
            snprintf(out->locked_until, sizeof(out->locked_until), "%s", db_column_text(s, 5));
            got = 1;
            st = db_step(s);
        }
        if (st == DB_ERROR) {
            err_internal(e, "claim: %s", db_errmsg(d));
            rc = -1;
        }
        db_reset(s);
    } else {
        rc = -1;
    }
    if (rc != 0 || db_commit(d, e) != 0) {
        db_rollback(d);
        jobs_job_free(out);
        memset(out, 0, sizeof(*out));
        return -1;
    }
    return got;
}

void jobs_job_free(jobs_job *j) {
    free(j->payload);
    j->payload = NULL;
}

/* After an UPDATE that matched nothing: 404 or 409. */
static int not_held(db *d, int64_t id, err *e) {
    int64_t one = 0;
    int rc = db_query_int(d, e, &one, "SELECT 1 FROM jobs WHERE id = $1", "i", id);
    if (rc < 0) return -1;
    if (rc == 1) return err_notfound(e, "没有这个任务");
    return err_conflict(e, "", "该任务不在此工作者手中（租期已过或已完成）");
}

int jobs_complete(db *d, int64_t id, const char *worker, err *e) {
    if (!worker_valid(worker)) return err_invalid(e, "worker", "工作者名称须为 1–64 个可见字符");
    char now[32];
    time_iso(now, sizeof(now), time_now());
    if (db_begin_mode(d, DB_TX_READ_COMMITTED, e) != 0) return -1;
    int rc = db_execf(d, e,
                      "UPDATE jobs SET status = 'done', locked_by = NULL, locked_until = NULL, "
                      "updated_at = $3 WHERE id = $1 AND status = 'running' AND locked_by = $2",
                      "iss", id, worker, now);
    if (rc == 0 && db_changes(d) == 0) rc = not_held(d, id, e);
    if (rc != 0 || db_commit(d, e) != 0) {
        db_rollback(d);
        return -1;
    }
    return 0;
}

int jobs_fail(db *d, int64_t id, const char *worker, const char *error, int retry_delay_seconds,
              int *final_out, err *e) {
    if (final_out) *final_out = 0;
    if (!worker_valid(worker)) return err_invalid(e, "worker", "工作者名称须为 1–64 个可见字符");
    if (retry_delay_seconds < 0 || retry_delay_seconds > 86400)
        return err_invalid(e, "delay", "重试延迟须为 0–86400 秒");
    char reason[512];
    snprintf(reason, sizeof(reason), "%s", error && *error ? error : "failed");
    char now[32], after[32];
    int64_t t = time_now();
    time_iso(now, sizeof(now), t);
    time_iso(after, sizeof(after), t + retry_delay_seconds);
    if (db_begin_mode(d, DB_TX_READ_COMMITTED, e) != 0) return -1;
    db_stmt *s = db_query(d, e,
                          "UPDATE jobs SET status = CASE WHEN attempts >= max_attempts "
                          "THEN 'failed' ELSE 'queued' END, run_after = $4, last_error = $5, "
                          "locked_by = NULL, locked_until = NULL, updated_at = $3 "
                          "WHERE id = $1 AND status = 'running' AND locked_by = $2 "
                          "RETURNING status",
                          "issss", id, worker, now, after, reason);
    int rc = s ? 0 : -1, found = 0;
    if (s) {
        int st = db_step(s);
        if (st == DB_ROW) {
            found = 1;
            if (final_out) *final_out = strcmp(db_column_text(s, 0), "failed") == 0;
            st = db_step(s);
        }
        if (st == DB_ERROR) rc = err_internal(e, "fail: %s", db_errmsg(d));
        db_reset(s);
    }
    if (rc == 0 && !found) rc = not_held(d, id, e);
    if (rc != 0 || db_commit(d, e) != 0) {
        db_rollback(d);
        return -1;
    }
    return 0;
}

json_t *jobs_list(db *d, const char *kind, const char *status, int limit, err *e) {
    if (kind && !kind_valid(kind)) {
        err_invalid(e, "kind", "任务类型须为 1–64 位 a-z 0-9 . _ -");
        return NULL;
    }
    if (status && !status_valid(status)) {
        err_invalid(e, "status", "状态须为 queued、running、done 或 failed");
        return NULL;
    }
    if (limit < 1 || limit > 1000) limit = 100;
    db_stmt *s = db_query(d, e,
                          "SELECT id, kind, status, attempts, max_attempts, run_after, locked_by, "
                          "locked_until, last_error, created_at, updated_at, payload FROM jobs "
                          "WHERE kind = COALESCE($1, kind) AND status = COALESCE($2, status) "
                          "ORDER BY id DESC LIMIT $3",
                          "ssi", kind, status, (int64_t)limit);
    if (!s) return NULL;
    json_t *items = db_rows_json(s, (size_t)limit, e);
    if (!items) return NULL;
    return json_pack("{s:o}", "items", items);
}

json_t *jobs_counts(db *d, err *e) {
    db_stmt *s = db_query(d, e, "SELECT status, COUNT(*) FROM jobs GROUP BY status", "");
    if (!s) return NULL;
    json_t *o = json_object();
    for (const char **p = status_names; *p; p++)
        json_object_set_new(o, *p, json_integer(0));
    int rc;
    while ((rc = db_step(s)) == DB_ROW)
        json_object_set_new(o, db_column_text(s, 0), json_integer(db_column_int64(s, 1)));
    db_reset(s);
    if (rc == DB_ERROR) {
        json_decref(o);
        err_internal(e, "%s", db_errmsg(d));
        return NULL;
    }
    return o;
}
