/* sender: delivering the outbox — claim a "notify.sms" job, check its row,
 * hand it to the transport, record the outcome (see notify.h).
 *
 * Order of writes for one message, and why:
 *   1. jobs_claim (own transaction): the lease keeps other nodes off the job.
 *   2. read the outbox row: 'sent' or 'failed' means another worker finished it
 *      (it died, or its lease ran out, between steps 4 and 5): complete the job,
 *      send nothing.
 *   3. the transport call, outside any transaction (it may take seconds).
 *   4. UPDATE outbox … WHERE status = 'pending' (own transaction).
 *   5. jobs_complete / jobs_fail (own transaction).
 * The lease (NOTIFY_LEASE_SECONDS) is longer than the HTTP timeout, so a job
 * cannot be taken over while its transport call is still running. Steps 4 and 5
 * are single-row conditional updates, so they run in DB_TX_READ_COMMITTED: on
 * PostgreSQL the row lock suffices and senders on several nodes do not queue
 * behind the cluster-wide write lock of ordinary transactions.
 *
 * The worker thread owns its connection and transport; one per node. */
#include "notify/notify.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/xmalloc.h"
#include "jobs/jobs.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int retry_delay(int attempt) {
    const char *b = getenv("ISLE_SMS_RETRY_BASE");
    long base = 2;
    if (b && *b) {
        char *end;
        long v = strtol(b, &end, 10);
        if (!*end && v >= 0 && v <= 600) base = v;
    }
    long delay = base;
    for (int i = 1; i < attempt && delay < 600; i++)
        delay *= 2;
    return (int)(delay > 600 ? 600 : delay);
}

/* Record the outcome on the outbox row. status NULL keeps it pending. */
static int record(db *d, int64_t id, const char *status, const char *provider_id, const char *error,
                  err *e) {
    char now[32];
    time_iso(now, sizeof(now), time_now());
    if (db_begin_mode(d, DB_TX_READ_COMMITTED, e) != 0) return -1;
    int rc = db_execf(d, e,
                      "UPDATE outbox SET status = COALESCE($2, status), attempts = attempts + 1, "
                      "last_error = $3, provider_id = COALESCE($4, provider_id), "
                      "sent_at = CASE WHEN $2 = 'sent' THEN $5 ELSE sent_at END "
                      "WHERE id = $1 AND status = 'pending'",
                      "issss", id, status, error, provider_id, now);
    int64_t changed = rc == 0 ? db_changes(d) : 0;
    if (rc != 0 || db_commit(d, e) != 0) {
        db_rollback(d);
        return -1;
    }
    if (changed == 0)
        log_warn("notify: outbox %lld was no longer pending when its outcome came in",
                 (long long)id);
    return 0;
}

static int mark_failed(db *d, int64_t id, err *e) {
    if (db_begin_mode(d, DB_TX_READ_COMMITTED, e) != 0) return -1;
    int rc = db_execf(
        d, e, "UPDATE outbox SET status = 'failed' WHERE id = $1 AND status = 'pending'", "i", id);
    if (rc != 0 || db_commit(d, e) != 0) {
        db_rollback(d);
        return -1;
    }
    return 0;
}

/* Finish a job we hold; a lease taken over meanwhile (409) is only logged. */
static int complete(db *d, int64_t job_id, const char *worker, err *e) {
    err ce = {0};
    if (jobs_complete(d, job_id, worker, &ce) == 0) return 0;
    if (ce.status == 409) {
        log_warn("notify: job %lld was taken over before it completed", (long long)job_id);
        return 0;
    }
    if (e) *e = ce;
    return -1;
}

static int deliver(db *d, notify_transport *t, const char *worker, const jobs_job *j,
                   notify_send_stats *st, err *e) {
    json_t *p = json_loads(j->payload, 0, NULL);
    int64_t oid = json_integer_value(json_object_get(p, "outbox_id"));
    json_decref(p);
    if (oid <= 0) {
        log_error("notify: job %lld has no outbox_id; dropped", (long long)j->id);
        st->skipped++;
        return complete(d, j->id, worker, e);
    }
    db_stmt *s = db_query(d, e,
                          "SELECT phone, body, status, template, dedupe_key FROM outbox "
                          "WHERE id = $1",
                          "i", oid);
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ERROR) {
        db_reset(s);
        return err_internal(e, "%s", db_errmsg(d));
    }
    if (rc == DB_DONE || strcmp(db_column_text(s, 2), "pending") != 0) {
        db_reset(s);
        st->skipped++;
        return complete(d, j->id, worker, e);
    }
    char *phone = xstrdup(db_column_text(s, 0)), *body = xstrdup(db_column_text(s, 1));
    char *tmpl = xstrdup(db_column_text(s, 3)), *key = xstrdup(db_column_text(s, 4));
    db_reset(s);
    notify_sms sms = {
        .outbox_id = oid, .phone = phone, .body = body, .template_name = tmpl, .dedupe_key = key};
    char provider[160] = "", why[256] = "";
    enum notify_send_result res = t->send(t, &sms, provider, sizeof(provider), why, sizeof(why));
    char masked[32];
    notify_mask_phone(phone, masked, sizeof(masked));
    free(phone);
    free(body);
    free(tmpl);
    free(key);
    if (res == NOTIFY_SENT) {
        if (record(d, oid, "sent", provider[0] ? provider : NULL, NULL, e) != 0) return -1;
        st->sent++;
        log_debug("notify: outbox %lld sent to %s via %s", (long long)oid, masked, t->name);
        return complete(d, j->id, worker, e);
    }
    if (res == NOTIFY_PERMANENT) {
        if (record(d, oid, "failed", NULL, why, e) != 0) return -1;
        st->failed++;
        log_warn("notify: outbox %lld to %s refused: %s", (long long)oid, masked, why);
        return complete(d, j->id, worker, e);
    }
    if (record(d, oid, NULL, NULL, why, e) != 0) return -1;
    int final = 0;
    err fe = {0};
    if (jobs_fail(d, j->id, worker, why, retry_delay(j->attempts), &final, &fe) != 0) {
        if (fe.status == 409) return 0; /* taken over: the new holder decides */
        if (e) *e = fe;
        return -1;
    }
    if (final) {
        if (mark_failed(d, oid, e) != 0) return -1;
        st->failed++;
        log_warn("notify: outbox %lld to %s failed after %d attempts: %s", (long long)oid, masked,
                 j->attempts, why);
    } else {
        st->retried++;
        log_info("notify: outbox %lld to %s will be retried (attempt %d): %s", (long long)oid,
                 masked, j->attempts, why);
    }
    return 0;
}

int notify_send_pending(db *d, notify_transport *t, const char *worker, int max,
                        notify_send_stats *st_out, err *e) {
    notify_send_stats st = {0};
    if (max < 1 || max > 100000) max = 100000;
    int rc = 0;
    for (int i = 0; i < max; i++) {
        jobs_job j;
        int got = jobs_claim(d, NOTIFY_JOB_KIND, worker, NOTIFY_LEASE_SECONDS, &j, e);
        if (got < 0) {
            rc = -1;
            break;
        }
        if (got == 0) break;
        st.claimed++;
        rc = deliver(d, t, worker, &j, &st, e);
        jobs_job_free(&j);
        if (rc != 0) break;
    }
    if (st_out) *st_out = st;
    return rc;
}

/* ---- the worker thread ---- */

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int running, stop, wake;
    char *dsn;
    notify_transport *transport;
    int poll_ms;
    char name[64];
} w = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void *worker_main(void *arg) {
    (void)arg;
    db *d = NULL;
    int64_t last_error_log = 0;
    for (;;) {
        pthread_mutex_lock(&w.mu);
        if (w.stop) {
            pthread_mutex_unlock(&w.mu);
            break;
        }
        w.wake = 0;
        pthread_mutex_unlock(&w.mu);

        err e = {0};
        if (!d && db_open(w.dsn, &d, &e) != 0) d = NULL;
        notify_send_stats st = {0};
        if (d && notify_send_pending(d, w.transport, w.name, 1000, &st, &e) != 0) {
            /* Database trouble: say so at most once a minute, keep trying. */
            if (time_now() - last_error_log >= 60) {
                log_warn("notify: sender: %s", e.message);
                last_error_log = time_now();
            }
        } else if (!d && time_now() - last_error_log >= 60) {
            log_warn("notify: sender cannot connect: %s", e.message);
            last_error_log = time_now();
        }
        if (st.claimed)
            log_info("notify: sender: %d sent, %d retried, %d failed, %d skipped", st.sent,
                     st.retried, st.failed, st.skipped);
        /* A full batch means more may be waiting: go again at once. */
        if (st.claimed >= 1000) continue;

        pthread_mutex_lock(&w.mu);
        if (!w.stop && !w.wake) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += w.poll_ms / 1000;
            until.tv_nsec += (long)(w.poll_ms % 1000) * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&w.cv, &w.mu, &until);
        }
        pthread_mutex_unlock(&w.mu);
    }
    db_close(d);
    return NULL;
}

int notify_worker_start(const char *dsn, err *e) {
    const char *on = getenv("ISLE_NOTIFY_WORKER");
    if (on && strcmp(on, "0") == 0) {
        log_info("notify: sender disabled on this node (ISLE_NOTIFY_WORKER=0)");
        return 0;
    }
    pthread_mutex_lock(&w.mu);
    int already = w.running;
    pthread_mutex_unlock(&w.mu);
    if (already) return err_conflict(e, "", "the notification sender is already running");
    int poll = 1000;
    const char *p = getenv("ISLE_NOTIFY_POLL_MS");
    if (p && *p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (*end || v < 50 || v > 60000)
            return err_invalid(e, "ISLE_NOTIFY_POLL_MS", "ISLE_NOTIFY_POLL_MS 须为 50–60000");
        poll = (int)v;
    }
    notify_transport *t = notify_transport_from_env(dsn, e);
    if (!t) return -1;
    /* Fail now, not silently in the thread, when the database is unusable. */
    db *probe = NULL;
    if (db_open(dsn, &probe, e) != 0) {
        notify_transport_free(t);
        return -1;
    }
    db_close(probe);
    char host[40] = "node";
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    pthread_mutex_lock(&w.mu);
    snprintf(w.name, sizeof(w.name), "notify@%s:%ld", host, (long)getpid());
    w.dsn = xstrdup(dsn);
    w.transport = t;
    w.poll_ms = poll;
    w.stop = w.wake = 0;
    int rc = pthread_create(&w.thread, NULL, worker_main, NULL);
    if (rc == 0) w.running = 1;
    pthread_mutex_unlock(&w.mu);
    if (rc != 0) {
        free(w.dsn);
        w.dsn = NULL;
        notify_transport_free(t);
        w.transport = NULL;
        return err_internal(e, "cannot start the notification sender: %s", strerror(rc));
    }
    log_info("notify: sender %s started (transport %s, every %d ms)", w.name, t->name, poll);
    return 0;
}

void notify_worker_wake(void) {
    pthread_mutex_lock(&w.mu);
    if (w.running) {
        w.wake = 1;
        pthread_cond_signal(&w.cv);
    }
    pthread_mutex_unlock(&w.mu);
}

void notify_worker_stop(void) {
    pthread_mutex_lock(&w.mu);
    if (!w.running) {
        pthread_mutex_unlock(&w.mu);
        return;
    }
    w.stop = 1;
    pthread_cond_signal(&w.cv);
    pthread_mutex_unlock(&w.mu);
    pthread_join(w.thread, NULL);
    pthread_mutex_lock(&w.mu);
    w.running = 0;
    notify_transport_free(w.transport);
    w.transport = NULL;
    free(w.dsn);
    w.dsn = NULL;
    pthread_mutex_unlock(&w.mu);
}
