/* sse_client: many concurrent Server-Sent Events subscribers, plus a publisher.
 *
 * Opens N HTTP/1.1 connections to GET /api/v1/events/TOPIC on a loopback
 * server, at most BATCH handshakes in flight at a time so the listen backlog is
 * never overrun, spread over J threads (one libevent base each). Each stream is
 * parsed as SSE (`id:`, `event:`, `data:` lines, `:` comments, a blank line ends
 * an event) over either chunked transfer encoding or a plain stream that ends at
 * close. When every subscriber is connected, the main thread (optionally)
 * publishes E events, INTERVAL ms apart, each on its own connection:
 *   POST /api/v1/events/TOPIC  Authorization: Bearer TOKEN
 *   {"event":"tick","data":{"seq":i,"t":<CLOCK_REALTIME microseconds>}}
 * For each event received whose data carries "t", delivery latency = now - t.
 * The program ends when every connected subscriber has all E events, or at a
 * timeout, and prints key=value lines (for bench/sse.sh) with: connected count,
 * failures, events per subscriber (min/max), deliveries, missing deliveries,
 * duplicates and latency percentiles. With -r PID it also samples that
 * process's VmRSS/VmHWM (the server's memory) while everyone is connected.
 *
 * Hall mode (bench/opening.sh's watchers): nothing is published (no -T:
 * bench/opening-drive.mjs drives the hall), and
 *   -P PATH   subscribes to PATH (the hall's /api/v1/trade/tenders/ID/hall/live)
 *             instead of /api/v1/events/TOPIC;
 *   -B BASE   an event's index is its data's "seq" minus BASE (the hall's seq of the
 *             first 唱标 event), so EVENTS consecutive hall events are counted;
 *   with -P, an event's origin time is its data's "at" (UTC, milliseconds, stamped
 *             when the server appended the event inside the revealing transaction)
 *             when it carries no "t": latency = arrival - at, so it includes the commit.
 *
 * It only ever connects to 127.0.0.0/8. Every wait has a time limit.
 * Build: gcc -O2 -o sse_client sse_client.c $(pkg-config --cflags --libs libevent) -lpthread */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define HEADER_MAX     16384 /* response header block cap */
#define LINE_MAX_BYTES 8192  /* longer SSE lines are counted and skipped */
#define MAX_THREADS    16

/* ---- options --------------------------------------------------------------------- */

static struct {
    const char *server_addr;
    int port;
    int subscribers;
    int events;
    int interval_ms;
    const char *token;
    const char *topic;
    const char *path; /* -P: the stream's path */
    int hall;         /* -P given: origin time may come from "at" */
    long base_seq;    /* -B */
    int batch;
    int sources;
    int threads;
    int timeout_s;
    int connect_timeout_s;
    int drain_timeout_s;
    int settle_ms;
    int server_pid;
    int verbose;
    struct sockaddr_in server;
} opt = {
    .server_addr = "127.0.0.1",
    .subscribers = 10000,
    .events = 100,
    .interval_ms = 20,
    .topic = "public.bench",
    .path = NULL,
    .base_seq = 0,
    .batch = 256,
    .sources = -1,
    .threads = 1,
    .timeout_s = 180,
    .connect_timeout_s = 90,
    .drain_timeout_s = 30,
    .settle_ms = 500,
};

/* ---- shared state (atomics: written by workers, read by the main thread) --------- */

static atomic_int g_established; /* got a 200 response head */
static atomic_int g_failed;      /* never got one */
static atomic_int g_dropped;     /* closed after the head, before all events */
static atomic_int g_complete;    /* received all expected events */
static atomic_int g_stop;        /* main thread asks workers to leave their loops */
static atomic_int g_first_failure_printed;

static int64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fprintf(stderr, "sse_client: out of memory\n");
        abort();
    }
    return p;
}

/* ---- subscribers ----------------------------------------------------------------- */

enum conn_state { C_IDLE, C_HEAD, C_STREAM, C_CLOSED, C_FAILED };
enum chunk_state { K_SIZE, K_DATA, K_CRLF, K_END };

struct worker;

typedef struct conn {
    struct worker *w;
    struct bufferevent *bev;
    struct evbuffer *decoded; /* de-chunked stream (chunked responses only) */
    int index;                /* global subscriber number */
    uint8_t state;
    uint8_t chunked;
    uint8_t chunk_state;
    uint8_t complete;
    uint8_t skipping_line; /* inside an over-long line */
    uint64_t chunk_left;
    int received; /* distinct expected events */
    /* the event being assembled */
    int has_seq, has_t;
    long seq;
    int64_t t;
} conn;

typedef struct worker {
    int index;
    struct event_base *base;
    pthread_t thread;
    conn **conns;
    int nconns;
    int next_to_open;
    int in_flight;
    int batch;
    struct event *tick;
    uint64_t *seen; /* nconns * words bits: which seqs each subscriber got */
    int words;
    int64_t *lat; /* delivery latencies, microseconds */
    size_t nlat, lat_cap;
    int64_t *fanout_max; /* per seq: the latest delivery of that event */
    uint64_t duplicates, other_events, comments, bad_lines, long_lines, non_sse;
    uint64_t bytes;
    int last_fail_status;
} worker;

static worker g_workers[MAX_THREADS];
static struct sockaddr_in g_sources[64];
static int g_nsources;

static void conn_fail(conn *c, const char *why, int status);
static void conn_read_cb(struct bufferevent *bev, void *arg);
static void conn_event_cb(struct bufferevent *bev, short what, void *arg);

static void conn_close(conn *c, int new_state) {
    if (c->bev) {
        bufferevent_free(c->bev);
        c->bev = NULL;
    }
    if (c->decoded) {
        evbuffer_free(c->decoded);
        c->decoded = NULL;
    }
    c->state = (uint8_t)new_state;
}

static void conn_fail(conn *c, const char *why, int status) {
    if (c->state == C_IDLE || c->state == C_HEAD) {
        c->w->in_flight--;
        atomic_fetch_add(&g_failed, 1);
        if (status) c->w->last_fail_status = status;
        if (atomic_exchange(&g_first_failure_printed, 1) == 0)
            fprintf(stderr, "sse_client: first connection failure (subscriber %d): %s\n", c->index,
                    why);
        conn_close(c, C_FAILED);
    } else if (c->state == C_STREAM) {
        if (!c->complete) atomic_fetch_add(&g_dropped, 1);
        conn_close(c, C_CLOSED);
    }
}

static void conn_open(worker *w, conn *c) {
    static const char req_fmt[] = "GET %s HTTP/1.1\r\n"
                                  "Host: %s:%d\r\n"
                                  "Accept: text/event-stream\r\n"
                                  "Cache-Control: no-cache\r\n"
                                  "\r\n";
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    c->state = C_IDLE;
    w->in_flight++;
    if (fd < 0) {
        conn_fail(c, strerror(errno), 0);
        return;
    }
    if (g_nsources > 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        const struct sockaddr_in *src = &g_sources[c->index % g_nsources];
        if (bind(fd, (const struct sockaddr *)src, sizeof *src) != 0) {
            char why[128];
            snprintf(why, sizeof why, "bind source: %s", strerror(errno));
            close(fd);
            conn_fail(c, why, 0);
            return;
        }
    }
    c->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        close(fd);
        conn_fail(c, "bufferevent_socket_new", 0);
        return;
    }
    bufferevent_setcb(c->bev, conn_read_cb, NULL, conn_event_cb, c);
    /* The head must come within the connect timeout; the stream itself has none. */
    struct timeval tv = {opt.connect_timeout_s, 0};
    bufferevent_set_timeouts(c->bev, &tv, NULL);
    c->state = C_HEAD;
    if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&opt.server, sizeof opt.server) !=
        0) {
        conn_fail(c, "connect", 0);
        return;
    }
    evbuffer_add_printf(bufferevent_get_output(c->bev), req_fmt, opt.path, opt.server_addr,
                        opt.port);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* Case-insensitive search for a header named NAME (with the colon) in HEAD; copies
 * its value (trimmed) into OUT. Returns 1 if found. */
static int header_value(const char *head, const char *name, char *out, size_t out_size) {
    size_t name_len = strlen(name);
    const char *p = strstr(head, "\r\n");
    while (p && p[2] != '\0') {
        const char *line = p + 2;
        const char *end = strstr(line, "\r\n");
        if (!end) break;
        if ((size_t)(end - line) > name_len && strncasecmp(line, name, name_len) == 0) {
            const char *v = line + name_len;
            while (v < end && (*v == ' ' || *v == '\t'))
                v++;
            size_t n = (size_t)(end - v);
            if (n >= out_size) n = out_size - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return 1;
        }
        p = end;
    }
    return 0;
}

/* Parse the response head if complete. Returns 1 when streaming may start, 0 when more
 * bytes are needed, -1 when the connection failed. */
static int conn_parse_head(conn *c, struct evbuffer *in) {
    struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
    if (end.pos < 0) {
        if (evbuffer_get_length(in) > HEADER_MAX) {
            conn_fail(c, "response head too large", 0);
            return -1;
        }
        return 0;
    }
    size_t head_len = (size_t)end.pos + 4;
    char *head = xcalloc(1, head_len + 1);
    evbuffer_remove(in, head, head_len);
    int status = 0;
    if (strncmp(head, "HTTP/1.", 7) == 0 && strlen(head) > 12)
        status = (int)strtol(head + 9, NULL, 10);
    if (status != 200) {
        char why[256];
        char *crlf = strstr(head, "\r\n");
        if (crlf) *crlf = '\0';
        snprintf(why, sizeof why, "status line '%.120s'", head);
        free(head);
        conn_fail(c, why, status);
        return -1;
    }
    char value[256];
    if (header_value(head, "transfer-encoding:", value, sizeof value) &&
        strcasestr(value, "chunked"))
        c->chunked = 1;
    if (!header_value(head, "content-type:", value, sizeof value) ||
        !strcasestr(value, "text/event-stream"))
        c->w->non_sse++;
    free(head);
    if (c->chunked) {
        c->decoded = evbuffer_new();
        c->chunk_state = K_SIZE;
    }
    c->state = C_STREAM;
    c->w->in_flight--;
    atomic_fetch_add(&g_established, 1);
    bufferevent_set_timeouts(c->bev, NULL, NULL);
    return 1;
}

/* Move the payload of complete chunks from IN to c->decoded. Returns -1 on a framing error. */
static int conn_dechunk(conn *c, struct evbuffer *in) {
    for (int guard = 0; guard < 1000000; guard++) {
        if (c->chunk_state == K_SIZE) {
            size_t eol_len = 0;
            struct evbuffer_ptr p = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF);
            if (p.pos < 0) return evbuffer_get_length(in) > 1024 ? -1 : 0;
            char line[64];
            size_t n = (size_t)p.pos < sizeof line - 1 ? (size_t)p.pos : sizeof line - 1;
            evbuffer_copyout(in, line, n);
            line[n] = '\0';
            evbuffer_drain(in, (size_t)p.pos + eol_len);
            char *endp = NULL;
            unsigned long long size = strtoull(line, &endp, 16);
            if (endp == line) return -1;
            if (size == 0) {
                c->chunk_state = K_END; /* the stream ended; trailers are ignored */
                return 0;
            }
            c->chunk_left = size;
            c->chunk_state = K_DATA;
        } else if (c->chunk_state == K_DATA) {
            size_t avail = evbuffer_get_length(in);
            if (avail == 0) return 0;
            size_t n = avail < c->chunk_left ? avail : (size_t)c->chunk_left;
            evbuffer_remove_buffer(in, c->decoded, n);
            c->chunk_left -= n;
            if (c->chunk_left == 0) c->chunk_state = K_CRLF;
        } else if (c->chunk_state == K_CRLF) {
            if (evbuffer_get_length(in) < 2) return 0;
            char crlf[2];
            evbuffer_remove(in, crlf, 2);
            if (crlf[0] != '\r' || crlf[1] != '\n') return -1;
            c->chunk_state = K_SIZE;
        } else {
            evbuffer_drain(in, evbuffer_get_length(in));
            return 0;
        }
    }
    return 0;
}

/* Find "KEY": in JSON text and parse the integer after it. */
static int json_int_field(const char *json, const char *quoted_key, int64_t *out) {
    const char *p = strstr(json, quoted_key);
    if (!p) return 0;
    p += strlen(quoted_key);
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != ':') return 0;
    p++;
    char *endp = NULL;
    errno = 0;
    long long v = strtoll(p, &endp, 10);
    if (endp == p || errno) return 0;
    *out = v;
    return 1;
}

/* "at":"YYYY-MM-DDTHH:MM:SS.mmmZ" → CLOCK_REALTIME microseconds. */
static int json_at_field(const char *json, int64_t *out) {
    const char *p = strstr(json, "\"at\":\"");
    if (!p) return 0;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int ms = 0;
    if (sscanf(p + 6, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = (int64_t)timegm(&tm) * 1000000 + (int64_t)ms * 1000;
    return 1;
}

static void conn_dispatch_event(conn *c, int64_t now) {
    worker *w = c->w;
    if (!c->has_seq || c->seq < 0 || c->seq >= opt.events) {
        w->other_events++;
    } else {
        uint64_t *bits = &w->seen[(size_t)(c->index / opt.threads) * (size_t)w->words];
        uint64_t mask = 1ull << (c->seq % 64);
        if (bits[c->seq / 64] & mask) {
            w->duplicates++;
        } else {
            bits[c->seq / 64] |= mask;
            c->received++;
            if (c->has_t) {
                int64_t lat = now - c->t;
                if (w->nlat == w->lat_cap) {
                    w->lat_cap = w->lat_cap ? w->lat_cap * 2 : 65536;
                    w->lat = realloc(w->lat, w->lat_cap * sizeof *w->lat);
                    if (!w->lat) abort();
                }
                w->lat[w->nlat++] = lat;
                if (lat > w->fanout_max[c->seq]) w->fanout_max[c->seq] = lat;
            }
            if (c->received == opt.events && !c->complete) {
                c->complete = 1;
                atomic_fetch_add(&g_complete, 1);
            }
        }
    }
    c->has_seq = c->has_t = 0;
}

static void conn_line(conn *c, char *line, size_t len, int64_t now) {
    if (len > 0 && line[len - 1] == '\r') line[--len] = '\0';
    if (len == 0) {
        if (c->has_seq || c->has_t) conn_dispatch_event(c, now);
        return;
    }
    if (line[0] == ':') {
        c->w->comments++;
        return;
    }
    if (strncmp(line, "data:", 5) == 0) {
        int64_t v;
        if (json_int_field(line + 5, "\"seq\"", &v)) {
            c->has_seq = 1;
            c->seq = (long)(v - opt.base_seq);
        }
        if (opt.hall && json_at_field(line + 5, &v)) {
            c->has_t = 1;
            c->t = v;
        }
        if (json_int_field(line + 5, "\"t\"", &v)) {
            c->has_t = 1;
            c->t = v;
        }
    } else if (strncmp(line, "id:", 3) != 0 && strncmp(line, "event:", 6) != 0 &&
               strncmp(line, "retry:", 6) != 0) {
        c->w->bad_lines++;
    }
}

/* Consume complete lines from BUF as SSE. */
static void conn_sse(conn *c, struct evbuffer *buf, int64_t now) {
    char line[LINE_MAX_BYTES + 1];
    for (;;) {
        size_t eol_len = 0;
        struct evbuffer_ptr p = evbuffer_search_eol(buf, NULL, &eol_len, EVBUFFER_EOL_LF);
        if (p.pos < 0) {
            size_t have = evbuffer_get_length(buf);
            if (have > LINE_MAX_BYTES) { /* keep memory bounded on a runaway line */
                evbuffer_drain(buf, have);
                c->skipping_line = 1;
                c->w->long_lines++;
            }
            return;
        }
        size_t len = (size_t)p.pos;
        if (c->skipping_line || len > LINE_MAX_BYTES) {
            evbuffer_drain(buf, len + eol_len);
            if (!c->skipping_line) c->w->long_lines++;
            c->skipping_line = 0;
            continue;
        }
        evbuffer_remove(buf, line, len);
        evbuffer_drain(buf, eol_len);
        line[len] = '\0';
        conn_line(c, line, len, now);
    }
}

static void conn_read_cb(struct bufferevent *bev, void *arg) {
    conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    int64_t now = now_us();
    c->w->bytes += evbuffer_get_length(in);
    if (c->state == C_HEAD && conn_parse_head(c, in) <= 0) return;
    if (c->state != C_STREAM) return;
    if (c->chunked) {
        if (conn_dechunk(c, in) < 0) {
            c->w->bad_lines++;
            conn_fail(c, "bad chunk framing", 0);
            return;
        }
        conn_sse(c, c->decoded, now);
        if (c->chunk_state == K_END) conn_fail(c, "stream ended", 0);
    } else {
        conn_sse(c, in, now);
    }
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg) {
    conn *c = arg;
    (void)bev;
    if (what & BEV_EVENT_CONNECTED) return;
    char why[160];
    if (what & BEV_EVENT_TIMEOUT)
        snprintf(why, sizeof why, "timed out waiting for the response head");
    else if (what & BEV_EVENT_EOF)
        snprintf(why, sizeof why, "connection closed by the server");
    else
        snprintf(why, sizeof why, "socket error: %s",
                 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    conn_fail(c, why, 0);
}

static void worker_tick(evutil_socket_t fd, short what, void *arg) {
    worker *w = arg;
    (void)fd;
    (void)what;
    if (atomic_load(&g_stop)) {
        event_base_loopbreak(w->base);
        return;
    }
    while (w->next_to_open < w->nconns && w->in_flight < w->batch) {
        conn_open(w, w->conns[w->next_to_open]);
        w->next_to_open++;
    }
}

static void *worker_main(void *arg) {
    worker *w = arg;
    event_base_dispatch(w->base);
    return NULL;
}

/* ---- publisher ------------------------------------------------------------------- */

static struct {
    struct event_base *base;
    struct event *timer;
    int sent, answered, ok, failed;
    long subscribers_min, subscribers_max;
    int last_status;
    int64_t started_mono, last_sent_mono, all_connected_mono, drain_start_mono;
    int phase; /* 0 connecting, 1 settling, 2 publishing, 3 draining */
    int64_t rss_connected_kb, rss_after_kb, hwm_kb;
    int64_t cpu_start_ticks, cpu_connected_ticks, cpu_end_ticks; /* the server's */
} pub = {.subscribers_min = -1, .subscribers_max = -1};

typedef struct pub_req {
    struct bufferevent *bev;
    int seq;
    int64_t sent_us; /* CLOCK_REALTIME, the "t" of the event */
} pub_req;

static int64_t *g_pub_answer_us; /* per seq: time from sending the POST to its answer */

static void pub_finish(pub_req *p) {
    struct evbuffer *in = bufferevent_get_input(p->bev);
    size_t len = evbuffer_get_length(in);
    if (len > 65536) len = 65536;
    char *text = xcalloc(1, len + 1);
    evbuffer_copyout(in, text, len);
    int status = 0;
    if (strncmp(text, "HTTP/1.", 7) == 0 && len > 12) status = (int)strtol(text + 9, NULL, 10);
    pub.answered++;
    pub.last_status = status;
    g_pub_answer_us[p->seq] = now_us() - p->sent_us;
    if (status == 202 || status == 200) {
        pub.ok++;
        int64_t n;
        char *body = strstr(text, "\r\n\r\n");
        if (body && json_int_field(body, "\"subscribers\"", &n)) {
            if (pub.subscribers_min < 0 || n < pub.subscribers_min) pub.subscribers_min = (long)n;
            if (n > pub.subscribers_max) pub.subscribers_max = (long)n;
        }
    } else {
        pub.failed++;
        if (pub.failed == 1) {
            char *crlf = strstr(text, "\r\n");
            if (crlf) *crlf = '\0';
            fprintf(stderr, "sse_client: publish %d failed: '%.200s'\n", p->seq, text);
        }
    }
    free(text);
    bufferevent_free(p->bev);
    free(p);
}

/* The answer is complete at EOF (we sent Connection: close) or once Content-Length
 * bytes of body follow the head, whichever comes first. */
static void pub_read_cb(struct bufferevent *bev, void *arg) {
    struct evbuffer *in = bufferevent_get_input(bev);
    struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
    if (end.pos < 0 || end.pos > HEADER_MAX) return;
    size_t head_len = (size_t)end.pos + 4;
    char *head = xcalloc(1, head_len + 1);
    evbuffer_copyout(in, head, head_len);
    char value[64];
    int have_length = header_value(head, "content-length:", value, sizeof value);
    free(head);
    if (have_length && evbuffer_get_length(in) >= head_len + strtoull(value, NULL, 10))
        pub_finish(arg);
}

static void pub_event_cb(struct bufferevent *bev, short what, void *arg) {
    (void)bev;
    if (what & BEV_EVENT_CONNECTED) return;
    pub_finish(arg);
}

static void pub_send(int seq) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    pub.sent++;
    if (fd < 0) {
        pub.answered++;
        pub.failed++;
        return;
    }
    pub_req *p = xcalloc(1, sizeof *p);
    p->seq = seq;
    p->bev = bufferevent_socket_new(pub.base, fd, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(p->bev, pub_read_cb, NULL, pub_event_cb, p);
    struct timeval tv = {30, 0};
    bufferevent_set_timeouts(p->bev, &tv, NULL);
    char body[160];
    int64_t t = now_us();
    p->sent_us = t;
    int body_len = snprintf(body, sizeof body,
                            "{\"event\":\"tick\",\"data\":{\"seq\":%d,\"t\":%" PRId64 "}}", seq, t);
    evbuffer_add_printf(bufferevent_get_output(p->bev),
                        "POST /api/v1/events/%s HTTP/1.1\r\n"
                        "Host: %s:%d\r\n"
                        "Authorization: Bearer %s\r\n"
                        "Content-Type: application/json\r\n"
                        "Content-Length: %d\r\n"
                        "Connection: close\r\n"
                        "\r\n%s",
                        opt.topic, opt.server_addr, opt.port, opt.token, body_len, body);
    if (bufferevent_socket_connect(p->bev, (struct sockaddr *)&opt.server, sizeof opt.server) !=
        0) {
        pub_finish(p);
        return;
    }
    bufferevent_enable(p->bev, EV_READ | EV_WRITE);
}

static int64_t status_kb(int pid, const char *field) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int64_t kb = -1;
    size_t flen = strlen(field);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
            kb = strtoll(line + flen + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

/* CPU ticks (user + system) used so far by process PID, or -1. */
static int64_t proc_cpu_ticks(int pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!p) return -1;
    /* After ") " come state (field 3) ... utime (14) and stime (15). */
    long long utime = 0, stime = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld", &utime, &stime) != 2)
        return -1;
    return utime + stime;
}

static void main_tick(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    (void)arg;
    int64_t now = mono_us();
    int established = atomic_load(&g_established), failed = atomic_load(&g_failed);
    int complete = atomic_load(&g_complete), dropped = atomic_load(&g_dropped);
    if (now - pub.started_mono > (int64_t)opt.timeout_s * 1000000) {
        fprintf(stderr, "sse_client: overall timeout (%d s) reached\n", opt.timeout_s);
        goto stop;
    }
    if (pub.phase == 0) {
        int resolved = established + failed;
        int late = now - pub.started_mono > (int64_t)opt.connect_timeout_s * 1000000;
        if (resolved >= opt.subscribers || late) {
            if (late) fprintf(stderr, "sse_client: connect phase timed out\n");
            pub.all_connected_mono = now;
            pub.phase = 1;
            fprintf(stderr, "sse_client: %d connected, %d failed in %.2f s\n", established, failed,
                    (now - pub.started_mono) / 1e6);
        }
        return;
    }
    if (pub.phase == 1) {
        if (now - pub.all_connected_mono < (int64_t)opt.settle_ms * 1000) return;
        if (opt.server_pid > 0) {
            pub.rss_connected_kb = status_kb(opt.server_pid, "VmRSS");
            pub.cpu_connected_ticks = proc_cpu_ticks(opt.server_pid);
        }
        if (established == 0) goto stop;
        pub.phase = 2;
        if (!opt.token) {
            printf("ready=1\n");
            fflush(stdout);
            pub.phase = 3;
            pub.drain_start_mono = now;
        }
    }
    if (pub.phase == 2) {
        if (pub.sent < opt.events &&
            (pub.sent == 0 || now - pub.last_sent_mono >= (int64_t)opt.interval_ms * 1000)) {
            pub.last_sent_mono = pub.sent == 0 ? now : pub.last_sent_mono + opt.interval_ms * 1000;
            pub_send(pub.sent);
        }
        if (pub.sent >= opt.events) {
            pub.phase = 3;
            pub.drain_start_mono = now;
        }
        return;
    }
    if (pub.phase == 3) {
        int live = established - dropped;
        int all_done = complete >= live && pub.answered >= pub.sent;
        if (!opt.token) all_done = complete >= live;
        /* If publishes failed, fewer events will come: wait for the drain timeout. */
        if (all_done && (pub.failed == 0 || !opt.token)) goto stop;
        int64_t drain_limit = (int64_t)opt.drain_timeout_s * 1000000;
        if (!opt.token) drain_limit = (int64_t)opt.timeout_s * 1000000;
        if (now - pub.drain_start_mono > drain_limit) {
            fprintf(stderr, "sse_client: drain timeout: %d of %d live subscribers complete\n",
                    complete, live);
            goto stop;
        }
    }
    return;
stop:
    if (opt.server_pid > 0) {
        pub.rss_after_kb = status_kb(opt.server_pid, "VmRSS");
        pub.hwm_kb = status_kb(opt.server_pid, "VmHWM");
        pub.cpu_end_ticks = proc_cpu_ticks(opt.server_pid);
    }
    atomic_store(&g_stop, 1);
    event_base_loopbreak(pub.base);
}

/* ---- report ---------------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double pct_ms(const int64_t *sorted, size_t n, double p) {
    if (n == 0) return 0;
    size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    if (i >= n) i = n - 1;
    return sorted[i] / 1000.0;
}

static void report(double elapsed_s) {
    size_t nlat = 0;
    uint64_t duplicates = 0, other = 0, comments = 0, bad = 0, long_lines = 0, non_sse = 0;
    uint64_t bytes = 0;
    int min_events = -1, max_events = 0, connected = 0, last_fail_status = 0;
    uint64_t deliveries = 0;
    int64_t *fanout = xcalloc((size_t)opt.events, sizeof *fanout);
    for (int i = 0; i < opt.threads; i++) {
        worker *w = &g_workers[i];
        nlat += w->nlat;
        duplicates += w->duplicates;
        other += w->other_events;
        comments += w->comments;
        bad += w->bad_lines;
        long_lines += w->long_lines;
        non_sse += w->non_sse;
        bytes += w->bytes;
        if (w->last_fail_status) last_fail_status = w->last_fail_status;
        for (int s = 0; s < opt.events; s++)
            if (w->fanout_max[s] > fanout[s]) fanout[s] = w->fanout_max[s];
        for (int k = 0; k < w->nconns; k++) {
            conn *c = w->conns[k];
            if (c->state != C_STREAM && c->state != C_CLOSED) continue;
            connected++;
            deliveries += (uint64_t)c->received;
            if (min_events < 0 || c->received < min_events) min_events = c->received;
            if (c->received > max_events) max_events = c->received;
        }
    }
    int64_t *all = xcalloc(nlat, sizeof *all);
    size_t k = 0;
    for (int i = 0; i < opt.threads; i++) {
        memcpy(all + k, g_workers[i].lat, g_workers[i].nlat * sizeof *all);
        k += g_workers[i].nlat;
    }
    qsort(all, nlat, sizeof *all, cmp_i64);
    int published = opt.token ? pub.ok : opt.events;
    uint64_t expected = (uint64_t)connected * (uint64_t)published;
    if (opt.verbose)
        for (int e = 0; e < opt.events; e++)
            fprintf(stderr, "seq=%d publish_answer_ms=%.3f last_delivery_ms=%.3f\n", e,
                    g_pub_answer_us[e] / 1000.0, fanout[e] / 1000.0);
    qsort(fanout, (size_t)opt.events, sizeof *fanout, cmp_i64);
    qsort(g_pub_answer_us, (size_t)opt.events, sizeof *g_pub_answer_us, cmp_i64);

    printf("subscribers_requested=%d\n", opt.subscribers);
    printf("connected=%d\n", connected);
    printf("connect_failures=%d\n", atomic_load(&g_failed));
    printf("last_failure_status=%d\n", last_fail_status);
    printf("dropped=%d\n", atomic_load(&g_dropped));
    printf("connect_seconds=%.2f\n", (pub.all_connected_mono - pub.started_mono) / 1e6);
    printf("threads=%d\n", opt.threads);
    printf("source_addresses=%d\n", g_nsources ? g_nsources : 1);
    printf("events_planned=%d\n", opt.events);
    printf("published_ok=%d\n", opt.token ? pub.ok : -1);
    printf("publish_failures=%d\n", opt.token ? pub.failed + (pub.sent - pub.answered) : -1);
    printf("server_subscribers_min=%ld\n", pub.subscribers_min);
    printf("server_subscribers_max=%ld\n", pub.subscribers_max);
    printf("events_per_subscriber_min=%d\n", min_events < 0 ? 0 : min_events);
    printf("events_per_subscriber_max=%d\n", max_events);
    printf("deliveries=%" PRIu64 "\n", deliveries);
    printf("deliveries_expected=%" PRIu64 "\n", expected);
    printf("missing=%" PRIu64 "\n", expected > deliveries ? expected - deliveries : 0);
    printf("duplicates=%" PRIu64 "\n", duplicates);
    printf("other_events=%" PRIu64 "\n", other);
    printf("comments=%" PRIu64 "\n", comments);
    printf("bad_lines=%" PRIu64 "\n", bad + long_lines);
    printf("non_sse_responses=%" PRIu64 "\n", non_sse);
    printf("bytes_received=%" PRIu64 "\n", bytes);
    printf("latency_samples=%zu\n", nlat);
    printf("latency_p50_ms=%.3f\n", pct_ms(all, nlat, 50));
    printf("latency_p90_ms=%.3f\n", pct_ms(all, nlat, 90));
    printf("latency_p99_ms=%.3f\n", pct_ms(all, nlat, 99));
    printf("latency_p999_ms=%.3f\n", pct_ms(all, nlat, 99.9));
    printf("latency_max_ms=%.3f\n", nlat ? all[nlat - 1] / 1000.0 : 0.0);
    printf("fanout_complete_p50_ms=%.3f\n", pct_ms(fanout, (size_t)opt.events, 50));
    printf("fanout_complete_max_ms=%.3f\n", opt.events ? fanout[opt.events - 1] / 1000.0 : 0.0);
    printf("publish_answer_p50_ms=%.3f\n", pct_ms(g_pub_answer_us, (size_t)opt.events, 50));
    printf("publish_answer_max_ms=%.3f\n",
           opt.events ? g_pub_answer_us[opt.events - 1] / 1000.0 : 0.0);
    printf("server_rss_connected_kb=%" PRId64 "\n", pub.rss_connected_kb);
    printf("server_rss_after_kb=%" PRId64 "\n", pub.rss_after_kb);
    printf("server_hwm_kb=%" PRId64 "\n", pub.hwm_kb);
    double hz = (double)sysconf(_SC_CLK_TCK);
    printf("server_cpu_connect_seconds=%.2f\n",
           (pub.cpu_connected_ticks - pub.cpu_start_ticks) / hz);
    printf("server_cpu_publish_seconds=%.2f\n", (pub.cpu_end_ticks - pub.cpu_connected_ticks) / hz);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("client_cpu_seconds=%.2f\n", ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                                            ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
    printf("elapsed_seconds=%.2f\n", elapsed_s);
    free(all);
    free(fanout);
}

/* ---- setup ----------------------------------------------------------------------- */

static void usage(void) {
    fprintf(
        stderr,
        "usage: sse_client -p PORT [-a 127.0.0.1] [-n SUBSCRIBERS=10000] [-e EVENTS=100]\n"
        "  [-i INTERVAL_MS=20] [-T TOKEN (publish; else only subscribe)] [-o TOPIC=public.bench]\n"
        "  [-P PATH (subscribe to PATH; hall mode) [-B BASE_SEQ=0 (subtracted from seq)]]\n"
        "  [-b BATCH=256 handshakes in flight] [-s SOURCES (127.0.0.2..; default auto)]\n"
        "  [-j THREADS=1] [-w TIMEOUT_S=180] [-c CONNECT_TIMEOUT_S=90] [-d DRAIN_TIMEOUT_S=30]\n"
        "  [-W SETTLE_MS=500] [-r SERVER_PID (sample its VmRSS/VmHWM)] [-v per-event lines]\n");
    exit(2);
}

static int parse_int(const char *s, int lo, int hi) {
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "sse_client: '%s' is not a number in [%d, %d]\n", s, lo, hi);
        exit(2);
    }
    return (int)v;
}

/* Source addresses: each (source, destination) pair has its own ephemeral port space,
 * so spread over 127.0.0.2.. when N is above half the local port range. */
static void choose_sources(void) {
    int n = opt.sources;
    if (n < 0) {
        int lo = 32768, hi = 60999;
        FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
        if (f) {
            if (fscanf(f, "%d %d", &lo, &hi) != 2) lo = 32768, hi = 60999;
            fclose(f);
        }
        int usable = (hi - lo + 1) / 2;
        if (usable < 1) usable = 1;
        n = opt.subscribers > usable ? (opt.subscribers + usable - 1) / usable : 0;
    }
    if (n > 64) n = 64;
    for (int i = 0; i < n; i++) {
        g_sources[i].sin_family = AF_INET;
        g_sources[i].sin_port = 0;
        g_sources[i].sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)i);
    }
    g_nsources = n;
}

int main(int argc, char **argv) {
    int ch;
    while ((ch = getopt(argc, argv, "p:a:n:e:i:T:o:P:B:b:s:j:w:c:d:W:r:vh")) != -1) {
        switch (ch) {
        case 'p':
            opt.port = parse_int(optarg, 1, 65535);
            break;
        case 'a':
            opt.server_addr = optarg;
            break;
        case 'n':
            opt.subscribers = parse_int(optarg, 1, 1000000);
            break;
        case 'e':
            opt.events = parse_int(optarg, 1, 100000);
            break;
        case 'i':
            opt.interval_ms = parse_int(optarg, 0, 60000);
            break;
        case 'T':
            opt.token = optarg;
            break;
        case 'o':
            opt.topic = optarg;
            break;
        case 'P':
            opt.path = optarg;
            opt.hall = 1;
            break;
        case 'B':
            opt.base_seq = parse_int(optarg, 0, 1000000000);
            break;
        case 'b':
            opt.batch = parse_int(optarg, 1, 100000);
            break;
        case 's':
            opt.sources = parse_int(optarg, 0, 64);
            break;
        case 'j':
            opt.threads = parse_int(optarg, 1, MAX_THREADS);
            break;
        case 'w':
            opt.timeout_s = parse_int(optarg, 1, 3600);
            break;
        case 'c':
            opt.connect_timeout_s = parse_int(optarg, 1, 3600);
            break;
        case 'd':
            opt.drain_timeout_s = parse_int(optarg, 1, 3600);
            break;
        case 'W':
            opt.settle_ms = parse_int(optarg, 0, 600000);
            break;
        case 'r':
            opt.server_pid = parse_int(optarg, 1, 1 << 30);
            break;
        case 'v':
            opt.verbose = 1;
            break;
        default:
            usage();
        }
    }
    if (opt.port == 0) usage();
    opt.server.sin_family = AF_INET;
    opt.server.sin_port = htons((uint16_t)opt.port);
    if (inet_pton(AF_INET, opt.server_addr, &opt.server.sin_addr) != 1 ||
        (ntohl(opt.server.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "sse_client: the server must be an IPv4 loopback address (127.0.0.0/8)\n");
        return 2;
    }
    for (const char *p = opt.topic; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
              *p == '-'))
            usage();
    static char default_path[256];
    if (!opt.path) {
        int n = snprintf(default_path, sizeof default_path, "/api/v1/events/%s", opt.topic);
        if (n < 0 || (size_t)n >= sizeof default_path) usage();
        opt.path = default_path;
    }
    signal(SIGPIPE, SIG_IGN);

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)opt.subscribers + 64)
            fprintf(stderr, "sse_client: warning: open-file limit %llu < %d subscribers + 64\n",
                    (unsigned long long)rl.rlim_cur, opt.subscribers);
    }
    choose_sources();

    if (opt.threads > opt.subscribers) opt.threads = opt.subscribers;
    int words = (opt.events + 63) / 64;
    for (int i = 0; i < opt.threads; i++) {
        worker *w = &g_workers[i];
        w->index = i;
        w->base = event_base_new();
        if (!w->base) {
            fprintf(stderr, "sse_client: event_base_new failed\n");
            return 1;
        }
        w->nconns = opt.subscribers / opt.threads + (i < opt.subscribers % opt.threads);
        w->conns = xcalloc((size_t)w->nconns, sizeof *w->conns);
        w->words = words;
        w->seen = xcalloc((size_t)w->nconns * (size_t)words, sizeof *w->seen);
        w->fanout_max = xcalloc((size_t)opt.events, sizeof *w->fanout_max);
        w->batch = opt.batch / opt.threads > 0 ? opt.batch / opt.threads : 1;
        w->tick = event_new(w->base, -1, EV_PERSIST, worker_tick, w);
        struct timeval tv = {0, 5000};
        event_add(w->tick, &tv);
    }
    /* Subscriber g goes to worker g % threads, slot g / threads (conn_dispatch_event relies on it).
     */
    for (int g = 0; g < opt.subscribers; g++) {
        conn *c = xcalloc(1, sizeof *c);
        c->index = g;
        c->w = &g_workers[g % opt.threads];
        c->w->conns[g / opt.threads] = c;
    }

    g_pub_answer_us = xcalloc((size_t)opt.events, sizeof *g_pub_answer_us);
    if (opt.server_pid > 0) pub.cpu_start_ticks = proc_cpu_ticks(opt.server_pid);
    pub.base = event_base_new();
    pub.started_mono = mono_us();
    pub.timer = event_new(pub.base, -1, EV_PERSIST, main_tick, NULL);
    struct timeval tick = {0, 1000};
    event_add(pub.timer, &tick);
    for (int i = 0; i < opt.threads; i++)
        if (pthread_create(&g_workers[i].thread, NULL, worker_main, &g_workers[i]) != 0) {
            fprintf(stderr, "sse_client: pthread_create failed\n");
            return 1;
        }
    event_base_dispatch(pub.base);
    atomic_store(&g_stop, 1);
    for (int i = 0; i < opt.threads; i++)
        pthread_join(g_workers[i].thread, NULL);
    double elapsed = (mono_us() - pub.started_mono) / 1e6;

    report(elapsed);

    for (int i = 0; i < opt.threads; i++) {
        worker *w = &g_workers[i];
        for (int k = 0; k < w->nconns; k++) {
            conn_close(w->conns[k], w->conns[k]->state);
            free(w->conns[k]);
        }
        free(w->conns);
        free(w->seen);
        free(w->lat);
        free(w->fanout_max);
        event_free(w->tick);
        event_base_free(w->base);
    }
    free(g_pub_answer_us);
    event_free(pub.timer);
    event_base_free(pub.base);
    return 0;
}
