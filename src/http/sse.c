/* sse: Server-Sent Events hub (see sse.h).
 *
 * Single node (SQLite): ids come from next_id under hub_mu and a publish fans
 * out at once. Cluster (PostgreSQL, sse_cluster_start): a publish only writes
 * the event to the database and NOTIFYs channel "isle_sse"; every node's
 * listener thread, this one included, receives it and fans it out locally
 * (hub_fanout), so all nodes deliver the same events with the same ids in the
 * same order. Ids come from the sse_counter row, whose lock is held until the
 * publishing transaction commits: ids are handed out in commit order, which is
 * the order notifications arrive in, so ids only grow on every node. The
 * notification carries "E <id>\n<topic>\n<event>\n<data>", or "R <id>" when
 * that would not fit PostgreSQL's 8000-byte limit and the listener reads the
 * event from sse_events instead. Every event also has a row in sse_events
 * (pruned after ten minutes), from which a listener that lost its connection
 * catches up when it is back. */
#include "http/sse.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/xmalloc.h"
#include "db/db.h"
#include "http/internal.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SSE_HISTORY     256
#define SSE_MAX_BACKLOG (1024 * 1024)
#define SSE_MAX_TOPICS  4096

typedef struct sse_msg {
    _Atomic int refs;
    int64_t id;
    char *topic;
    char *text; /* the whole "id: …\nevent: …\ndata: …\n\n" block */
    size_t len;
} sse_msg;

typedef struct sse_topic {
    char name[65];
    conn *head;
    long count;
} sse_topic;

static pthread_mutex_t hub_mu = PTHREAD_MUTEX_INITIALIZER;
static sse_msg *history[SSE_HISTORY];
static int64_t next_id = 1;
static _Atomic long subscribers;
static _Atomic uint64_t events_total;
static struct {
    char name[65];
    long count;
} topic_counts[SSE_MAX_TOPICS];
static int ntopic_counts;
static int hub_running;

/* Cluster mode (PostgreSQL). pub_db is the publishing connection, used under pub_mu;
 * last_delivered belongs to the listener thread. */
#define SSE_CHANNEL      "isle_sse"
#define SSE_INLINE_MAX   7900
#define SSE_KEEP_SECONDS 600
static pthread_mutex_t pub_mu = PTHREAD_MUTEX_INITIALIZER;
static db *pub_db;
static db_listener *listener;
static int64_t last_delivered;

static void msg_unref(sse_msg *m) {
    if (m && atomic_fetch_sub(&m->refs, 1) == 1) {
        free(m->topic);
        free(m->text);
        free(m);
    }
}

int sse_topic_valid(const char *t) {
    size_t n = t ? strlen(t) : 0;
    if (n < 1 || n > 64) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

long sse_subscribers_total(void) {
    return atomic_load(&subscribers);
}

uint64_t sse_events_total(void) {
    return atomic_load(&events_total);
}

/* hub_mu held */
static long *topic_count_slot(const char *topic, int create) {
    for (int i = 0; i < ntopic_counts; i++)
        if (strcmp(topic_counts[i].name, topic) == 0) return &topic_counts[i].count;
    if (!create) return NULL;
    for (int i = 0; i < ntopic_counts; i++)
        if (topic_counts[i].count == 0) {
            snprintf(topic_counts[i].name, sizeof(topic_counts[i].name), "%s", topic);
            return &topic_counts[i].count;
        }
    if (ntopic_counts == SSE_MAX_TOPICS) return NULL;
    snprintf(topic_counts[ntopic_counts].name, sizeof(topic_counts[0].name), "%s", topic);
    return &topic_counts[ntopic_counts++].count;
}

void sse_init(void) {
    pthread_mutex_lock(&hub_mu);
    hub_running = 1;
    pthread_mutex_unlock(&hub_mu);
}

static void heartbeat_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    worker *w = arg;
    for (size_t t = 0; t < w->ntopics; t++) {
        for (conn *c = w->topics[t].head, *next; c; c = next) {
            next = c->sse_next;
            evbuffer_add(bufferevent_get_output(c->bev), ": ping\n\n", 8);
            conn_flush(c);
        }
    }
}

static int batch_ms;

static void flush_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    sse_worker_drain(arg);
}

/* Under a burst of publishes, fanning out at most every batch_ms lets several
 * events leave in one write per subscriber (each write to a socket costs about
 * as much as the event it carries); a lone event still goes out at once. */
void sse_worker_notify(worker *w) {
    uint64_t now = time_mono_ns(), gap = (uint64_t)batch_ms * 1000000u;
    if (!gap || now - w->last_flush_ns >= gap) {
        if (event_pending(w->flush_ev, EV_TIMEOUT, NULL)) event_del(w->flush_ev);
        sse_worker_drain(w);
        return;
    }
    if (event_pending(w->flush_ev, EV_TIMEOUT, NULL)) return;
    uint64_t wait = w->last_flush_ns + gap - now;
    struct timeval tv = {(time_t)(wait / 1000000000u), (suseconds_t)(wait % 1000000000u / 1000)};
    event_add(w->flush_ev, &tv);
}

void sse_worker_init(worker *w, int heartbeat_seconds, int batch) {
    batch_ms = batch;
    w->flush_ev = evtimer_new(w->base, flush_cb, w);
    w->heartbeat_ev = event_new(w->base, -1, EV_PERSIST, heartbeat_cb, w);
    struct timeval tv = {heartbeat_seconds, 0};
    event_add(w->heartbeat_ev, &tv);
}

void sse_worker_stop(worker *w) {
    if (w->heartbeat_ev) event_free(w->heartbeat_ev);
    w->heartbeat_ev = NULL;
    if (w->flush_ev) event_free(w->flush_ev);
    w->flush_ev = NULL;
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < w->queue_len; i++)
        msg_unref(w->queue[i]);
    free(w->queue);
    w->queue = NULL;
    w->queue_len = w->queue_cap = 0;
    pthread_mutex_unlock(&w->mu);
    free(w->topics);
    w->topics = NULL;
    w->ntopics = 0;
    pthread_mutex_lock(&hub_mu);
    if (hub_running && w->index == 0) {
        for (int i = 0; i < SSE_HISTORY; i++) {
            msg_unref(history[i]);
            history[i] = NULL;
        }
        hub_running = 0;
    }
    pthread_mutex_unlock(&hub_mu);
}

static sse_topic *worker_topic(worker *w, const char *name, int create) {
    for (size_t i = 0; i < w->ntopics; i++)
        if (strcmp(w->topics[i].name, name) == 0) return &w->topics[i];
    if (!create) return NULL;
    for (size_t i = 0; i < w->ntopics; i++)
        if (!w->topics[i].head) {
            snprintf(w->topics[i].name, sizeof(w->topics[i].name), "%s", name);
            return &w->topics[i];
        }
    /* Topics are referenced by pointer from connections, so the array never moves:
     * allocate it once at its maximum size. */
    if (!w->topics) w->topics = xcalloc(SSE_MAX_TOPICS, sizeof(*w->topics));
    if (w->ntopics == SSE_MAX_TOPICS) return NULL;
    sse_topic *t = &w->topics[w->ntopics++];
    snprintf(t->name, sizeof(t->name), "%s", name);
    t->head = NULL;
    t->count = 0;
    return t;
}

static void deliver(conn *c, sse_msg *m) {
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (evbuffer_get_length(out) > SSE_MAX_BACKLOG) {
        if (!c->sse_dropped) {
            /* A subscriber that stopped reading: drop it rather than buffer without end. */
            log_warn("dropping SSE subscriber on %s: client not reading", c->topic->name);
            shutdown(bufferevent_getfd(c->bev), SHUT_RDWR);
            c->sse_dropped = 1;
        }
        return;
    }
    evbuffer_add(out, m->text, m->len);
}

#define MAX_TOUCHED 64

void sse_worker_drain(worker *w) {
    w->last_flush_ns = time_mono_ns();
    pthread_mutex_lock(&w->mu);
    sse_msg **q = w->queue;
    size_t n = w->queue_len;
    w->queue = NULL;
    w->queue_len = w->queue_cap = 0;
    pthread_mutex_unlock(&w->mu);
    /* Append every queued event first, then write each subscriber once: events
     * published close together leave in one system call per connection. */
    sse_topic *touched[MAX_TOUCHED];
    size_t ntouched = 0;
    int overflow = 0;
    for (size_t i = 0; i < n; i++) {
        sse_topic *t = worker_topic(w, q[i]->topic, 0);
        if (t && t->head) {
            for (conn *c = t->head; c; c = c->sse_next)
                deliver(c, q[i]);
            size_t k = 0;
            while (k < ntouched && touched[k] != t)
                k++;
            if (k == ntouched) {
                if (ntouched < MAX_TOUCHED)
                    touched[ntouched++] = t;
                else
                    overflow = 1;
            }
        }
        msg_unref(q[i]);
    }
    free(q);
    if (overflow) {
        /* More topics than the list holds: flush every topic of this worker. */
        for (size_t t = 0; t < w->ntopics; t++)
            for (conn *c = w->topics[t].head, *next; c; c = next) {
                next = c->sse_next;
                conn_flush(c);
            }
        return;
    }
    for (size_t k = 0; k < ntouched; k++)
        for (conn *c = touched[k]->head, *next; c; c = next) {
            next = c->sse_next;
            conn_flush(c);
        }
}

/* Format the event once and queue it to every worker. id 0: take the next local id
 * (single node); otherwise the cluster's id. */
static long hub_fanout(int64_t id, const char *topic, const char *event, const char *data_json,
                       int64_t *id_out) {
    int nw = 0;
    worker *ws = http_workers(&nw);
    sse_msg *m = xcalloc(1, sizeof(*m));
    m->topic = xstrdup(topic);
    pthread_mutex_lock(&hub_mu);
    if (!hub_running) {
        pthread_mutex_unlock(&hub_mu);
        free(m->topic);
        free(m);
        return -1;
    }
    if (id) {
        m->id = id;
        if (id >= next_id) next_id = id + 1;
    } else {
        m->id = next_id++;
    }
    int len =
        snprintf(NULL, 0, "id: %lld\nevent: %s\ndata: %s\n\n", (long long)m->id, event, data_json);
    m->text = xmalloc((size_t)len + 1);
    snprintf(m->text, (size_t)len + 1, "id: %lld\nevent: %s\ndata: %s\n\n", (long long)m->id, event,
             data_json);
    m->len = (size_t)len;
    atomic_store(&m->refs, 1 + nw); /* history + one per worker */
    int slot = (int)(m->id % SSE_HISTORY);
    msg_unref(history[slot]);
    history[slot] = m;
    long *cnt = topic_count_slot(topic, 0);
    long subs = cnt ? *cnt : 0;
    pthread_mutex_unlock(&hub_mu);
    atomic_fetch_add(&events_total, 1);
    for (int i = 0; i < nw; i++) {
        worker *w = &ws[i];
        pthread_mutex_lock(&w->mu);
        if (w->queue_len == w->queue_cap) {
            w->queue_cap = w->queue_cap ? w->queue_cap * 2 : 16;
            w->queue = xrealloc(w->queue, w->queue_cap * sizeof(*w->queue));
        }
        w->queue[w->queue_len++] = m;
        pthread_mutex_unlock(&w->mu);
        event_active(w->notify_ev, EV_READ, 0);
    }
    if (id_out) *id_out = m->id;
    return subs;
}

/* ---------- cluster mode ---------- */

static long local_subscribers(const char *topic) {
    pthread_mutex_lock(&hub_mu);
    long *cnt = topic_count_slot(topic, 0);
    long subs = cnt ? *cnt : 0;
    pthread_mutex_unlock(&hub_mu);
    return subs;
}

/* Write the event and notify every node (this one included). pub_mu held. */
static int cluster_publish(const char *topic, const char *event, const char *data_json,
                           int64_t *id_out, err *e) {
    char now[32], cutoff[32];
    int64_t t = time_now();
    time_iso(now, sizeof(now), t);
    time_iso(cutoff, sizeof(cutoff), t - SSE_KEEP_SECONDS);
    if (db_begin_mode(pub_db, DB_TX_READ_COMMITTED, e) != 0) return -1;
    int64_t id = 0;
    int rc = db_query_int(pub_db, e, &id,
                          "UPDATE sse_counter SET last_id = last_id + 1 WHERE id = 1 "
                          "RETURNING last_id",
                          "");
    if (rc == 1) rc = err_internal(e, "sse_counter row missing");
    if (rc == 0)
        rc = db_execf(pub_db, e,
                      "INSERT INTO sse_events (id, topic, event, data, created_at) "
                      "VALUES ($1, $2, $3, $4, $5)",
                      "issss", id, topic, event, data_json, now);
    if (rc == 0 && id % 100 == 0)
        rc = db_execf(pub_db, e, "DELETE FROM sse_events WHERE created_at < $1", "s", cutoff);
    if (rc == 0) {
        size_t need = strlen(topic) + strlen(event) + strlen(data_json) + 32;
        char *payload = xmalloc(need);
        if (need <= SSE_INLINE_MAX)
            snprintf(payload, need, "E %" PRId64 "\n%s\n%s\n%s", id, topic, event, data_json);
        else
            snprintf(payload, need, "R %" PRId64, id);
        rc = db_notify(pub_db, SSE_CHANNEL, payload, e);
        free(payload);
    }
    if (rc != 0 || db_commit(pub_db, e) != 0) {
        db_rollback(pub_db);
        return -1;
    }
    *id_out = id;
    return 0;
}

/* Deliver events after last_delivered from the table, oldest first. Listener thread. */
static void cluster_catch_up(db *d) {
    err e = {0};
    db_stmt *s = db_query(d, &e,
                          "SELECT id, topic, event, data FROM sse_events WHERE id > $1 "
                          "ORDER BY id LIMIT $2",
                          "ii", last_delivered, (int64_t)SSE_HISTORY * 4);
    if (!s) {
        log_warn("SSE catch-up failed: %s", e.message);
        return;
    }
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        int64_t id = db_column_int64(s, 0);
        hub_fanout(id, db_column_text(s, 1), db_column_text(s, 2), db_column_text(s, 3), NULL);
        last_delivered = id;
    }
    db_reset(s);
    if (rc == DB_ERROR) log_warn("SSE catch-up failed: %s", db_errmsg(d));
}

static void cluster_on_connect(db *d, void *arg) {
    (void)arg;
    if (last_delivered < 0) {
        /* First connection: start from the newest event; older ones are history. */
        int64_t v = 0;
        err e = {0};
        if (db_query_int(d, &e, &v, "SELECT last_id FROM sse_counter WHERE id = 1", "") == 0)
            last_delivered = v;
        else
            last_delivered = 0;
        pthread_mutex_lock(&hub_mu);
        if (last_delivered >= next_id) next_id = last_delivered + 1;
        pthread_mutex_unlock(&hub_mu);
    }
    cluster_catch_up(d);
}

static void cluster_on_notify(db *d, const char *channel, const char *payload, void *arg) {
    (void)channel;
    (void)arg;
    char *end;
    if ((payload[0] != 'E' && payload[0] != 'R') || payload[1] != ' ') return;
    int64_t id = strtoll(payload + 2, &end, 10);
    if (id <= last_delivered) return; /* already delivered by a catch-up */
    if (id != last_delivered + 1 || payload[0] == 'R') {
        /* A gap (notifications lost while reconnecting) or an event too large to ride
         * along: read from the table, which has everything up to id. */
        cluster_catch_up(d);
        return;
    }
    if (*end != '\n') return;
    const char *topic = end + 1, *nl1 = strchr(topic, '\n');
    if (!nl1) return;
    const char *event = nl1 + 1, *nl2 = strchr(event, '\n');
    if (!nl2) return;
    char t[65], ev[129];
    snprintf(t, sizeof(t), "%.*s", (int)(nl1 - topic), topic);
    snprintf(ev, sizeof(ev), "%.*s", (int)(nl2 - event), event);
    hub_fanout(id, t, ev, nl2 + 1, NULL);
    last_delivered = id;
}

int sse_cluster_start(const char *dsn, err *e) {
    if (db_open(dsn, &pub_db, e) != 0) return -1;
    last_delivered = -1;
    listener = db_listen_start(dsn, SSE_CHANNEL, cluster_on_notify, cluster_on_connect, NULL, e);
    if (!listener) {
        db_close(pub_db);
        pub_db = NULL;
        return -1;
    }
    log_info("SSE events cross nodes through PostgreSQL (channel %s)", SSE_CHANNEL);
    return 0;
}

void sse_cluster_stop(void) {
    db_listen_stop(listener);
    listener = NULL;
    pthread_mutex_lock(&pub_mu);
    db_close(pub_db);
    pub_db = NULL;
    pthread_mutex_unlock(&pub_mu);
}

long sse_publish(const char *topic, const char *event, const char *data_json, int64_t *id_out) {
    pthread_mutex_lock(&pub_mu);
    if (!pub_db) {
        pthread_mutex_unlock(&pub_mu);
        return hub_fanout(0, topic, event, data_json, id_out);
    }
    if (strchr(event, '\n') || strchr(topic, '\n') || strchr(data_json, '\n')) {
        pthread_mutex_unlock(&pub_mu);
        return -1;
    }
    err e = {0};
    int64_t id = 0;
    int rc = cluster_publish(topic, event, data_json, &id, &e);
    pthread_mutex_unlock(&pub_mu);
    if (rc != 0) {
        log_warn("SSE publish on %s failed: %s", topic, e.message);
        return -1;
    }
    if (id_out) *id_out = id;
    return local_subscribers(topic);
}

int http_sse_start(http_req *r, const char *topic) {
    req_state *st = r->internal;
    conn *c = st->c;
    if (!sse_topic_valid(topic)) {
        http_reply_error(r, 400, "invalid_argument", "topic", "频道名须为 1–64 位 a-z 0-9 . _ -");
        return -1;
    }
    sse_topic *t = worker_topic(c->w, topic, 1);
    pthread_mutex_lock(&hub_mu);
    long *cnt = t ? topic_count_slot(topic, 1) : NULL;
    if (cnt) (*cnt)++;
    pthread_mutex_unlock(&hub_mu);
    if (!t || !cnt) {
        http_reply_error(r, 503, "unavailable", "", "实时频道过多");
        return -1;
    }
    /* The stream has no length: it ends when either side closes. */
    c->sse = 1;
    c->closing = 0;
    st->replied = 1;
    st->status = 200;
    http_set_header(r, "Cache-Control", "no-store");
    http_set_header(r, "X-Accel-Buffering", "no");
    conn_write_head(c, r, 200, "text/event-stream; charset=utf-8", -1);
    /* Without a Content-Length the body runs until close; say so for HTTP/1.1 clients. */
    struct evbuffer *out = bufferevent_get_output(c->bev);
    evbuffer_add_printf(out, "retry: 3000\n\n");
    bufferevent_priority_set(c->bev, PRIO_STREAM);
    c->topic = t;
    c->sse_next = t->head;
    if (t->head) t->head->sse_prev = c;
    t->head = c;
    t->count++;
    atomic_fetch_add(&subscribers, 1);
    bufferevent_set_timeouts(c->bev, NULL, NULL);

    const char *last = http_header(r, "Last-Event-ID");
    if (last) {
        char *end;
        long long from = strtoll(last, &end, 10);
        if (*end == '\0' && from >= 0) {
            /* Replay what the client missed, oldest first, from the history ring. */
            pthread_mutex_lock(&hub_mu);
            if (from < next_id - SSE_HISTORY) from = next_id - SSE_HISTORY;
            for (int64_t id = from + 1; id < next_id; id++) {
                sse_msg *m = history[id % SSE_HISTORY];
                if (m && m->id == id && strcmp(m->topic, topic) == 0)
                    evbuffer_add(out, m->text, m->len);
            }
            pthread_mutex_unlock(&hub_mu);
        }
    }
    conn_try_write(c);
    return 0;
}

void sse_conn_closed(conn *c) {
    sse_topic *t = c->topic;
    if (!t) return;
    if (c->sse_prev)
        c->sse_prev->sse_next = c->sse_next;
    else
        t->head = c->sse_next;
    if (c->sse_next) c->sse_next->sse_prev = c->sse_prev;
    t->count--;
    c->topic = NULL;
    atomic_fetch_sub(&subscribers, 1);
    pthread_mutex_lock(&hub_mu);
    long *cnt = topic_count_slot(t->name, 0);
    if (cnt && *cnt > 0) (*cnt)--;
    pthread_mutex_unlock(&hub_mu);
}
