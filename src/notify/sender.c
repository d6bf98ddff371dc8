/* sender: delivering the outbox in batches (notify.h tells the design).
 *
 * One round of notify_send_pending(), and why it is built this way:
 *   1. claim — one DB_TX_SERIAL transaction (on PostgreSQL it holds the
 *      cluster-wide write lock, so the per-phone counts and the token bucket are
 *      read and written by one claimer at a time, whatever the node):
 *        a. the token bucket (sms_rate) says how many rows may go now;
 *        b. the due rows (status 'pending', run_after <= now) in (run_after, id)
 *           order, at most that many, each with whether its recipient opted out;
 *        c. a row claimed NOTIFY_MAX_ATTEMPTS times already (its last lease ran
 *           out: the sender died) turns 'failed'; an opted-out non-essential row
 *           turns 'suppressed';
 *        d. per phone, one query for the whole batch counts the rows handed over
 *           inside the window (sent, failed or in flight — not the due rows
 *           themselves) and decides how many of the phone's rows may go; the
 *           others get a later run_after, a window further for each
 *           ISLE_SMS_PER_PHONE of them: delayed, never dropped;
 *        e. the rest are leased in one UPDATE … RETURNING per 50 rows: attempts
 *           + 1, run_after = end of the lease (a claimed row is not due for anyone
 *           until then), locked_by, handed_at = now; the bucket pays for them.
 *   2. send — the transport gets the batch outside any transaction; the http
 *      transport keeps up to ISLE_SMS_CONCURRENCY requests in flight.
 *   3. record — one DB_TX_READ_COMMITTED transaction (row locks suffice) of
 *      updates of 50 rows each: sent → 'sent' whoever holds the row now (the
 *      message did go); a temporary failure → due again after the backoff, or
 *      'failed' after the last attempt; a refusal → 'failed'. The last two only
 *      while we still hold the lease, so a slow sender cannot undo a faster
 *      one's work.
 * The lease covers the whole batch: the transport's timeout times the rounds
 * its concurrency needs, plus a margin, never less than NOTIFY_LEASE_SECONDS.
 *
 * Before 024 each message was one job: a claim, a read, the transport call on a
 * new connection, an update and a job completion — three write transactions
 * and a TCP handshake per message, about 450 messages/s against a local
 * gateway. Batching the claim and the record and keeping connections alive is
 * what makes the figures in docs/BENCHMARKS.md.
 *
 * The worker thread owns its connection and transport; one per node. */
#include "notify/notify.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/xmalloc.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CLAIM_CHUNK 50 /* ids per leasing UPDATE */

/* ---- limits ---- */

static int env_long(const char *name, long def, long min, long max, long *out, err *e) {
    const char *v = getenv(name);
    *out = def;
    if (!v || !*v) return 0;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || *end || x < min || x > max)
        return err_invalid(e, name, "%s 须为 %ld–%ld 的整数", name, min, max);
    *out = x;
    return 0;
}

int notify_limits_from_env(notify_limits *out, err *e) {
    long per_phone, window, rate, batch, base;
    if (env_long("ISLE_SMS_PER_PHONE", 5, 0, 1000, &per_phone, e) != 0 ||
        env_long("ISLE_SMS_PHONE_WINDOW", 600, 1, 86400, &window, e) != 0 ||
        env_long("ISLE_SMS_RATE", 500, 0, 1000000, &rate, e) != 0 ||
        env_long("ISLE_SMS_BATCH", 200, 1, NOTIFY_BATCH_MAX, &batch, e) != 0 ||
        env_long("ISLE_SMS_RETRY_BASE", 2, 0, 600, &base, e) != 0)
        return -1;
    out->per_phone = (int)per_phone;
    out->window_seconds = (int)window;
    out->rate = (double)rate;
    out->batch = (int)batch;
    out->retry_base = (int)base;
    return 0;
}

int notify_rate_take(double *tokens, int64_t *updated_ms, int64_t now_ms, double rate, double burst,
                     int want) {
    if (now_ms > *updated_ms) {
        *tokens += (double)(now_ms - *updated_ms) * rate / 1000.0;
        *updated_ms = now_ms;
    }
    if (*tokens > burst) *tokens = burst;
    if (*tokens < 0) *tokens = 0;
    int take = (int)floor(*tokens);
    if (take > want) take = want;
    if (take < 0) take = 0;
    *tokens -= take;
    return take;
}

/* A second's worth is too bursty for a gateway; a fifth of it keeps claims small. */
static double rate_burst(double rate) {
    double b = rate / 5.0;
    return b < 1.0 ? 1.0 : b;
}

static int64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int retry_delay(int base, int attempt) {
    long delay = base;
    for (int i = 1; i < attempt && delay < 600; i++)
        delay *= 2;
    return (int)(delay > 600 ? 600 : delay);
}

/* ---- claim ---- */

enum action { A_TAKE, A_DEFER, A_SUPPRESS, A_EXPIRE };

typedef struct cand {
    int64_t id;
    char *phone, *body, *tmpl, *key;
    int attempts; /* after the claim */
    int opted_out;
    enum action action;
    int64_t defer_until;
    int claimed;
} cand;

static void cands_free(cand *c, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(c[i].phone);
        free(c[i].body);
        free(c[i].tmpl);
        free(c[i].key);
    }
    free(c);
}

/* Per-phone state of one batch: an open-addressing table keyed by the phone. */
typedef struct phone_slot {
    const char *phone; /* borrowed from a cand, NULL = empty */
    int handed;        /* rows handed over in the window before this batch */
    int64_t oldest;    /* the oldest of those hand-overs */
    int taken, deferred;
} phone_slot;

static uint64_t fnv(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static phone_slot *slot_of(phone_slot *tab, size_t cap, const char *phone) {
    for (size_t i = fnv(phone) & (cap - 1);; i = (i + 1) & (cap - 1)) {
        if (!tab[i].phone) {
            tab[i].phone = phone;
            return &tab[i];
        }
        if (strcmp(tab[i].phone, phone) == 0) return &tab[i];
    }
}

static const char due_sql[] =
    "SELECT o.id, o.phone, o.body, o.template, o.dedupe_key, o.attempts, "
    "CASE WHEN o.essential = 0 AND (EXISTS (SELECT 1 FROM sms_optouts x WHERE x.phone = o.phone) "
    "OR EXISTS (SELECT 1 FROM notifications n JOIN notification_settings s ON s.user_id = "
    "n.user_id WHERE n.id = o.notification_id AND s.sms_optional = 0)) THEN 1 ELSE 0 END "
    "FROM outbox o WHERE o.status = 'pending' AND o.run_after <= $1 "
    "ORDER BY o.run_after, o.id LIMIT $2";

static const char handed_sql[] =
    "SELECT phone, COUNT(*), MIN(handed_at) FROM outbox WHERE handed_at > $2 "
    "AND (status <> 'pending' OR run_after > $1) AND phone IN (SELECT phone FROM outbox "
    "WHERE status = 'pending' AND run_after <= $1 ORDER BY run_after, id LIMIT $3) "
    "GROUP BY phone";

/* "UPDATE … WHERE status = 'pending' AND id IN ($4, …, $53) RETURNING id", built once. */
static char lease_sql[1024];
static pthread_once_t lease_once = PTHREAD_ONCE_INIT;
static void lease_sql_build(void) {
    size_t o =
        (size_t)snprintf(lease_sql, sizeof(lease_sql),
                         "UPDATE outbox SET attempts = attempts + 1, run_after = $1, "
                         "locked_by = $2, handed_at = $3 WHERE status = 'pending' AND id IN (");
    for (int i = 0; i < CLAIM_CHUNK; i++)
        o += (size_t)snprintf(lease_sql + o, sizeof(lease_sql) - o, "%s$%d", i ? ", " : "", i + 4);
    snprintf(lease_sql + o, sizeof(lease_sql) - o, ") RETURNING id");
}

static int read_due(db *d, const char *now, int limit, cand **out, size_t *n, err *e) {
    *out = NULL;
    *n = 0;
    db_stmt *s = db_query(d, e, due_sql, "si", now, (int64_t)limit);
    if (!s) return -1;
    cand *c = xcalloc((size_t)limit, sizeof(*c));
    size_t k = 0;
    int st;
    while ((st = db_step(s)) == DB_ROW && k < (size_t)limit) {
        c[k].id = db_column_int64(s, 0);
        c[k].phone = xstrdup(db_column_text(s, 1));
        c[k].body = xstrdup(db_column_text(s, 2));
        c[k].tmpl = xstrdup(db_column_text(s, 3));
        c[k].key = xstrdup(db_column_text(s, 4));
        c[k].attempts = (int)db_column_int64(s, 5) + 1;
        c[k].opted_out = db_column_int64(s, 6) != 0;
        k++;
    }
    db_reset(s);
    if (st == DB_ERROR) {
        cands_free(c, k);
        return err_internal(e, "outbox claim: %s", db_errmsg(d));
    }
    *out = c;
    *n = k;
    return 0;
}

/* Decide, per phone, which rows go now (d. above). */
static int apply_phone_limit(db *d, const notify_limits *lim, int64_t now, const char *now_iso,
                             cand *c, size_t n, int limit, err *e) {
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    phone_slot *tab = xcalloc(cap, sizeof(*tab));
    char since[32];
    time_iso(since, sizeof(since), now - lim->window_seconds);
    db_stmt *s = db_query(d, e, handed_sql, "ssi", now_iso, since, (int64_t)limit);
    if (!s) {
        free(tab);
        return -1;
    }
    /* Phones of the due rows only: slot_of() needs a string that outlives the table. */
    int st;
    while ((st = db_step(s)) == DB_ROW) {
        const char *p = db_column_text(s, 0);
        for (size_t i = 0; i < n; i++)
            if (strcmp(c[i].phone, p) == 0) {
                phone_slot *sl = slot_of(tab, cap, c[i].phone);
                sl->handed = (int)db_column_int64(s, 1);
                int64_t t = now;
                const char *oldest = db_column_text(s, 2);
                if (oldest) time_parse_iso(oldest, &t);
                sl->oldest = t;
                break;
            }
    }
    db_reset(s);
    if (st == DB_ERROR) {
        free(tab);
        return err_internal(e, "outbox phone limit: %s", db_errmsg(d));
    }
    for (size_t i = 0; i < n; i++) {
        if (c[i].action != A_TAKE) continue;
        phone_slot *sl = slot_of(tab, cap, c[i].phone);
        if (sl->handed + sl->taken < lim->per_phone) {
            sl->taken++;
            continue;
        }
        /* The first slot frees when the oldest hand-over leaves the window. */
        int64_t base = (sl->handed > 0 ? sl->oldest : now) + lim->window_seconds;
        if (base <= now) base = now + 1;
        c[i].action = A_DEFER;
        c[i].defer_until = base + (int64_t)(sl->deferred / lim->per_phone) * lim->window_seconds;
        sl->deferred++;
    }
    free(tab);
    return 0;
}

/* Lease the rows marked A_TAKE; c[i].claimed tells which ones we got. */
static int lease(db *d, const char *worker, const char *now_iso, const char *until, cand *c,
                 size_t n, int *got, err *e) {
    pthread_once(&lease_once, lease_sql_build);
    *got = 0;
    size_t i = 0;
    while (i < n) {
        size_t chunk[CLAIM_CHUNK], k = 0;
        for (; i < n && k < CLAIM_CHUNK; i++)
            if (c[i].action == A_TAKE) chunk[k++] = i;
        if (k == 0) break;
        db_stmt *s = db_prepare(d, lease_sql, e);
        if (!s) return -1;
        db_bind_text(s, 1, until);
        db_bind_text(s, 2, worker);
        db_bind_text(s, 3, now_iso);
        for (size_t j = 0; j < CLAIM_CHUNK; j++)
            db_bind_int64(s, (int)j + 4, j < k ? c[chunk[j]].id : 0);
        int st;
        while ((st = db_step(s)) == DB_ROW) {
            int64_t id = db_column_int64(s, 0);
            for (size_t j = 0; j < k; j++)
                if (c[chunk[j]].id == id) {
                    c[chunk[j]].claimed = 1;
                    (*got)++;
                }
        }
        db_reset(s);
        if (st == DB_ERROR) return err_internal(e, "outbox lease: %s", db_errmsg(d));
    }
    return 0;
}

/* The lease of a batch of n: every call may take the transport's timeout, and
 * concurrency of them run at once. */
static int lease_seconds(const notify_transport *t, size_t n) {
    int conc = t->concurrency > 0 ? t->concurrency : 1;
    long rounds = (long)((n + (size_t)conc - 1) / (size_t)conc);
    long per_call = (t->timeout_ms + 999) / 1000;
    long s = rounds * per_call + 30;
    return (int)(s < NOTIFY_LEASE_SECONDS ? NOTIFY_LEASE_SECONDS : s > 86400 ? 86400 : s);
}

/* Step 1. *out gets the claimed rows only (caller frees with cands_free); *wait_ms > 0
 * when rows are due but the bucket is empty; *progress when rows changed without
 * being claimed (deferred, suppressed, expired). */
static int claim(db *d, notify_transport *t, const char *worker, const notify_limits *lim, int want,
                 cand **out, size_t *nout, int *wait_ms, int *progress, notify_send_stats *st,
                 err *e) {
    *out = NULL;
    *nout = 0;
    *wait_ms = 0;
    *progress = 0;
    int64_t now = time_now();
    char now_iso[32];
    time_iso(now_iso, sizeof(now_iso), now);
    if (db_begin(d, e) != 0) return -1;
    int rc = 0;
    double tokens = 0;
    int64_t updated_ms = 0, ms = wall_ms();
    int limit = want;
    if (lim->rate > 0) {
        db_stmt *s = db_query(d, e, "SELECT tokens, updated_ms FROM sms_rate WHERE id = 1", "");
        rc = s ? 0 : -1;
        if (s) {
            if (db_step(s) == DB_ROW) {
                tokens = db_column_double(s, 0);
                updated_ms = db_column_int64(s, 1);
            } else {
                rc = err_internal(e, "sms_rate has no row (migration 024)");
            }
            db_reset(s);
        }
        notify_rate_take(&tokens, &updated_ms, ms, lim->rate, rate_burst(lim->rate), 0);
        int avail = (int)floor(tokens);
        if (avail < limit) limit = avail;
    }
    cand *c = NULL;
    size_t n = 0;
    if (rc == 0 && limit <= 0) {
        int64_t one = 0;
        int q = db_query_int(d, e, &one,
                             "SELECT 1 FROM outbox WHERE status = 'pending' AND run_after <= $1 "
                             "LIMIT 1",
                             "s", now_iso);
        if (q < 0) rc = -1;
        if (q == 0) *wait_ms = (int)ceil((1.0 - tokens) * 1000.0 / lim->rate) + 1;
    }
    if (rc == 0 && limit > 0) rc = read_due(d, now_iso, limit, &c, &n, e);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (c[i].attempts > NOTIFY_MAX_ATTEMPTS)
            c[i].action = A_EXPIRE;
        else if (c[i].opted_out)
            c[i].action = A_SUPPRESS;
        else
            c[i].action = A_TAKE;
    }
    if (rc == 0 && n && lim->per_phone > 0)
        rc = apply_phone_limit(d, lim, now, now_iso, c, n, limit, e);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (c[i].action == A_EXPIRE) {
            rc = db_execf(d, e,
                          "UPDATE outbox SET status = 'failed', locked_by = NULL, "
                          "last_error = 'lease expired on the last attempt' "
                          "WHERE id = $1 AND status = 'pending'",
                          "i", c[i].id);
            st->failed++;
        } else if (c[i].action == A_SUPPRESS) {
            rc = db_execf(
                d, e,
                "UPDATE outbox SET status = 'suppressed', locked_by = NULL, "
                "last_error = '收件人已退订非必要短信' WHERE id = $1 AND status = 'pending'",
                "i", c[i].id);
            st->suppressed++;
        } else if (c[i].action == A_DEFER) {
            char until[32];
            time_iso(until, sizeof(until), c[i].defer_until);
            rc = db_execf(d, e,
                          "UPDATE outbox SET run_after = $2 WHERE id = $1 AND status = 'pending'",
                          "is", c[i].id, until);
            st->deferred++;
        } else {
            continue;
        }
        *progress = 1;
    }
    int got = 0;
    if (rc == 0 && n) {
        size_t takes = 0;
        for (size_t i = 0; i < n; i++)
            takes += c[i].action == A_TAKE;
        char until[32];
        time_iso(until, sizeof(until), now + lease_seconds(t, takes));
        rc = lease(d, worker, now_iso, until, c, n, &got, e);
    }
    if (rc == 0 && lim->rate > 0 && limit > 0) {
        tokens -= got;
        if (tokens < 0) tokens = 0;
        rc = db_execf(d, e, "UPDATE sms_rate SET tokens = $1, updated_ms = $2 WHERE id = 1", "di",
                      tokens, updated_ms);
    }
    if (rc != 0 || db_commit(d, e) != 0) {
        db_rollback(d);
        cands_free(c, n);
        return -1;
    }
    /* Keep the claimed rows, in order, at the front. */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (c[i].claimed) {
            cand tmp = c[k];
            c[k] = c[i];
            c[i] = tmp;
            k++;
        }
    }
    for (size_t i = k; i < n; i++) {
        free(c[i].phone);
        free(c[i].body);
        free(c[i].tmpl);
        free(c[i].key);
    }
    if (k == 0) {
        free(c);
        c = NULL;
    }
    *out = c;
    *nout = k;
    return 0;
}

/* ---- send and record ---- */

static void hand_over(notify_transport *t, const cand *c, size_t n, notify_outcome *out) {
    notify_sms *sms = xcalloc(n, sizeof(*sms));
    for (size_t i = 0; i < n; i++)
        sms[i] = (notify_sms){.outbox_id = c[i].id,
                              .phone = c[i].phone,
                              .body = c[i].body,
                              .template_name = c[i].tmpl,
                              .dedupe_key = c[i].key};
    if (t->send_batch) {
        t->send_batch(t, sms, n, out);
    } else {
        for (size_t i = 0; i < n; i++)
            out[i].result = t->send(t, &sms[i], out[i].provider_id, sizeof(out[i].provider_id),
                                    out[i].why, sizeof(out[i].why));
    }
    free(sms);
}

/* Outcomes are written RECORD_CHUNK rows per statement: UPDATE … FROM a UNION ALL
 * of typed parameter rows (portable: SQLite 3.33+ and PostgreSQL), so PostgreSQL
 * pays one round trip per chunk, not per message. Unused rows carry id 0. */
#define RECORD_CHUNK 50

static char sent_sql[8192], retry_sql[16384];
static pthread_once_t record_once = PTHREAD_ONCE_INIT;
static void record_sql_build(void) {
    size_t o = (size_t)snprintf(sent_sql, sizeof(sent_sql),
                                "UPDATE outbox SET status = 'sent', last_error = NULL, "
                                "locked_by = NULL, provider_id = COALESCE(v.pid, "
                                "outbox.provider_id), sent_at = $1 FROM (");
    for (int i = 0; i < RECORD_CHUNK; i++)
        o += (size_t)snprintf(sent_sql + o, sizeof(sent_sql) - o,
                              "%sSELECT CAST($%d AS BIGINT) AS id, CAST($%d AS TEXT) AS pid",
                              i ? " UNION ALL " : "", 2 + 2 * i, 3 + 2 * i);
    snprintf(sent_sql + o, sizeof(sent_sql) - o,
             ") AS v WHERE outbox.id = v.id AND outbox.status = 'pending'");
    o = (size_t)snprintf(
        retry_sql, sizeof(retry_sql),
        "UPDATE outbox SET status = v.st, last_error = v.why, run_after = v.after, "
        "locked_by = NULL FROM (");
    for (int i = 0; i < RECORD_CHUNK; i++)
        o += (size_t)snprintf(retry_sql + o, sizeof(retry_sql) - o,
                              "%sSELECT CAST($%d AS BIGINT) AS id, CAST($%d AS TEXT) AS st, "
                              "CAST($%d AS TEXT) AS why, CAST($%d AS TEXT) AS after",
                              i ? " UNION ALL " : "", 2 + 4 * i, 3 + 4 * i, 4 + 4 * i, 5 + 4 * i);
    snprintf(retry_sql + o, sizeof(retry_sql) - o,
             ") AS v WHERE outbox.id = v.id AND outbox.status = 'pending' AND "
             "outbox.locked_by = $1");
}

/* Run a chunk statement that matched changes rows; -1 with e on error. */
static int chunk_run(db *d, db_stmt *s, err *e) {
    int st = db_step(s);
    db_reset(s);
    return st == DB_ERROR ? err_internal(e, "outbox record: %s", db_errmsg(d)) : 0;
}

/* Sent rows (k of them, indexes in idx): 'sent' whoever holds the row now. */
static int record_sent(db *d, const char *now_iso, const cand *c, const notify_outcome *out,
                       const size_t *idx, size_t k, err *e) {
    db_stmt *s = db_prepare(d, sent_sql, e);
    if (!s) return -1;
    db_bind_text(s, 1, now_iso);
    for (size_t j = 0; j < RECORD_CHUNK; j++) {
        int col = 2 + 2 * (int)j;
        db_bind_int64(s, col, j < k ? c[idx[j]].id : 0);
        if (j < k && out[idx[j]].provider_id[0])
            db_bind_text(s, col + 1, out[idx[j]].provider_id);
        else
            db_bind_null(s, col + 1);
    }
    return chunk_run(d, s, e);
}

/* Failed rows: due again at after[j] ('pending') or 'failed', only while we hold them. */
static int record_failed(db *d, const char *worker, const cand *c, const notify_outcome *out,
                         const size_t *idx, const char (*after)[32], const char *const *status,
                         size_t k, err *e) {
    db_stmt *s = db_prepare(d, retry_sql, e);
    if (!s) return -1;
    db_bind_text(s, 1, worker);
    for (size_t j = 0; j < RECORD_CHUNK; j++) {
        int col = 2 + 4 * (int)j;
        db_bind_int64(s, col, j < k ? c[idx[j]].id : 0);
        db_bind_text(s, col + 1, j < k ? status[j] : NULL);
        db_bind_text(s, col + 2, j < k ? out[idx[j]].why : NULL);
        db_bind_text(s, col + 3, j < k ? after[j] : NULL);
    }
    return chunk_run(d, s, e);
}

static int record(db *d, const char *worker, const notify_limits *lim, const cand *c, size_t n,
                  const notify_outcome *out, notify_send_stats *st, err *e) {
    pthread_once(&record_once, record_sql_build);
    int64_t now = time_now();
    char now_iso[32];
    time_iso(now_iso, sizeof(now_iso), now);
    if (db_begin_mode(d, DB_TX_READ_COMMITTED, e) != 0) return -1;
    int rc = 0;
    int sent = 0, retried = 0, failed = 0;
    size_t sent_idx[RECORD_CHUNK], fail_idx[RECORD_CHUNK], ns = 0, nf = 0;
    char after[RECORD_CHUNK][32];
    const char *status[RECORD_CHUNK];
    for (size_t i = 0; i < n && rc == 0; i++) {
        char masked[32];
        notify_mask_phone(c[i].phone, masked, sizeof(masked));
        if (out[i].result == NOTIFY_SENT) {
            sent_idx[ns++] = i;
            sent++;
            log_debug("notify: outbox %lld sent to %s", (long long)c[i].id, masked);
        } else {
            int final = out[i].result == NOTIFY_PERMANENT || c[i].attempts >= NOTIFY_MAX_ATTEMPTS;
            time_iso(after[nf], sizeof(after[nf]),
                     now + retry_delay(lim->retry_base, c[i].attempts));
            status[nf] = final ? "failed" : "pending";
            fail_idx[nf++] = i;
            if (out[i].result == NOTIFY_PERMANENT) {
                failed++;
                log_warn("notify: outbox %lld to %s refused: %s", (long long)c[i].id, masked,
                         out[i].why);
            } else if (final) {
                failed++;
                log_warn("notify: outbox %lld to %s failed after %d attempts: %s",
                         (long long)c[i].id, masked, c[i].attempts, out[i].why);
            } else {
                retried++;
                log_debug("notify: outbox %lld to %s will be retried (attempt %d): %s",
                          (long long)c[i].id, masked, c[i].attempts, out[i].why);
            }
        }
        if (ns == RECORD_CHUNK || (i + 1 == n && ns)) {
            rc = record_sent(d, now_iso, c, out, sent_idx, ns, e);
            ns = 0;
        }
        if (rc == 0 && (nf == RECORD_CHUNK || (i + 1 == n && nf))) {
            rc =
                record_failed(d, worker, c, out, fail_idx, (const char(*)[32])after, status, nf, e);
            nf = 0;
        }
    }
    if (rc != 0 || db_commit(d, e) != 0) {
        db_rollback(d);
        return -1;
    }
    st->sent += sent;
    st->retried += retried;
    st->failed += failed;
    return 0;
}

static int send_pending(db *d, notify_transport *t, const char *worker, int max,
                        const notify_limits *lim, volatile int *stop, notify_send_stats *st,
                        err *e) {
    if (max < 1 || max > 10000000) max = 10000000;
    int total = 0;
    while (total < max && !(stop && *stop)) {
        int want = lim->batch < max - total ? lim->batch : max - total;
        cand *c = NULL;
        size_t n = 0;
        int wait_ms = 0, progress = 0;
        if (claim(d, t, worker, lim, want, &c, &n, &wait_ms, &progress, st, e) != 0) return -1;
        if (n == 0) {
            if (wait_ms > 0) {
                st->rate_waits++;
                sleep_ms(wait_ms > 1000 ? 1000 : wait_ms);
                continue;
            }
            if (progress) continue;
            break;
        }
        total += (int)n;
        st->claimed += (int)n;
        notify_outcome *out = xcalloc(n, sizeof(*out));
        hand_over(t, c, n, out);
        int rc = record(d, worker, lim, c, n, out, st, e);
        free(out);
        cands_free(c, n);
        if (rc != 0) return -1;
    }
    return 0;
}

int notify_send_pending(db *d, notify_transport *t, const char *worker, int max,
                        notify_send_stats *st_out, err *e) {
    notify_send_stats st = {0};
    notify_limits lim;
    int rc = -1;
    if (!worker || !*worker || strlen(worker) > 64)
        rc = err_invalid(e, "worker", "发送者名称须为 1–64 个字符");
    else if (notify_limits_from_env(&lim, e) == 0)
        rc = send_pending(d, t, worker, max, &lim, NULL, &st, e);
    if (st_out) *st_out = st;
    return rc;
}

/* ---- the worker thread ---- */

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int running, wake;
    volatile int stop;
    char *dsn;
    notify_transport *transport;
    notify_limits limits;
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
        if (d && send_pending(d, w.transport, w.name, 0, &w.limits, &w.stop, &st, &e) != 0) {
            /* Database trouble: say so at most once a minute, keep trying. */
            if (time_now() - last_error_log >= 60) {
                log_warn("notify: sender: %s", e.message);
                last_error_log = time_now();
            }
        } else if (!d && time_now() - last_error_log >= 60) {
            log_warn("notify: sender cannot connect: %s", e.message);
            last_error_log = time_now();
        }
        if (st.claimed || st.deferred || st.suppressed || st.failed)
            log_info("notify: sender: %d sent, %d retried, %d failed, %d deferred, %d suppressed",
                     st.sent, st.retried, st.failed, st.deferred, st.suppressed);

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
    long poll;
    if (env_long("ISLE_NOTIFY_POLL_MS", 1000, 50, 60000, &poll, e) != 0) return -1;
    notify_limits lim;
    if (notify_limits_from_env(&lim, e) != 0) return -1;
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
    w.limits = lim;
    w.poll_ms = (int)poll;
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
    log_info("notify: sender %s started (transport %s, every %d ms; %d per phone per %d s, "
             "%.0f/s overall, batches of %d)",
             w.name, t->name, (int)poll, lim.per_phone, lim.window_seconds, lim.rate, lim.batch);
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
