/* sse: Server-Sent Events hub (see sse.h). */
#include "http/sse.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/xmalloc.h"
#include "http/internal.h"

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

long sse_publish(const char *topic, const char *event, const char *data_json, int64_t *id_out) {
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
    m->id = next_id++;
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
