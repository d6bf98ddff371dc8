/* internal: structures shared by the files of src/http/ only. */
#ifndef ISLE_HTTP_INTERNAL_H
#define ISLE_HTTP_INTERNAL_H

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <http_parser.h>
#include <pthread.h>
#include <stdint.h>

#include "base/strbuf.h"
#include "http/http.h"
#include "http/server.h"

#define HTTP_MAX_HEADERS 100

/* Event priorities per worker loop (lower runs first). */
enum { PRIO_REQUEST = 0, PRIO_DEFAULT = 1, PRIO_STREAM = 2, PRIO_LEVELS = 3 };
#define HTTP_MAX_RESP_HEADERS 32

struct sse_msg;

typedef struct worker {
    int index;
    pthread_t thread;
    struct event_base *base;
    struct evconnlistener *listener;
    db *db;
    struct event *notify_ev;    /* wakes the loop for queued SSE messages / stop */
    struct event *heartbeat_ev; /* SSE keep-alive comments */
    struct event *flush_ev;     /* delayed SSE fan-out (see sse_worker_notify) */
    uint64_t last_flush_ns;
    pthread_mutex_t mu;
    struct sse_msg **queue; /* pending messages, guarded by mu */
    size_t queue_len, queue_cap;
    struct sse_topic *topics; /* this worker's subscribers, by topic */
    size_t ntopics;
    int stopping;
    struct conn *conns; /* every open connection of this worker */
    char date[40];      /* cached HTTP Date header */
    int64_t date_sec;
} worker;

typedef struct conn {
    worker *w;
    struct bufferevent *bev;
    http_parser parser;
    char ip[64];
    int closing;   /* close once the output is flushed */
    int lingering; /* after flushing, shut down writes and drain input briefly */
    int shut_wr;   /* lingering: writes already shut down */
    int sse;
    struct event *timer; /* request deadline, then lingering deadline */

    /* the request being read */
    arena *arena;
    http_req *req;
    strbuf url;
    strbuf hfield, hvalue;
    int in_value;
    struct http_header_kv headers[HTTP_MAX_HEADERS];
    size_t nheaders;
    size_t header_bytes;
    strbuf body;
    int upload_fd;
    char upload_path[256];
    uint64_t body_bytes;
    size_t body_max;
    int has_body;
    int reject_status; /* error decided before the body was read */
    const char *reject_code;
    char reject_msg[160];
    char reject_field[32];
    int message_done;
    int in_request;
    uint64_t t_start;

    struct conn *all_prev, *all_next; /* worker->conns list */

    /* SSE */
    struct sse_topic *topic;
    struct conn *sse_prev, *sse_next;
    int sse_dropped;
} conn;

/* Server-private state of a request (http_req.internal). */
typedef struct req_state {
    conn *c;
    int replied;
    int status;
    size_t resp_bytes;
    const char *resp_hdr_names[HTTP_MAX_RESP_HEADERS];
    const char *resp_hdr_values[HTTP_MAX_RESP_HEADERS];
    int nresp;
    struct http_header_kv *query;
    size_t nquery;
    int query_parsed;
    struct http_header_kv *cookies;
    size_t ncookies;
    int cookies_parsed;
    int route_index;              /* for metrics; -1 static, -2 not found */
    unsigned long db_conn_errors; /* db_conn_errors() when the request began */
} req_state;

/* router.c */
void router_init(const http_route *routes, size_t n);
/** Match method+path. Fills r->params. Returns the route index or -1; *other_methods gets
 *  the M_* bits of routes whose pattern matches with another method. */
int router_match(int method, const char *path, http_req *r, int *other_methods);
const http_route *router_route(int index);
size_t router_count(void);

/* response.c */
void http_send(http_req *r, int status, const char *content_type, const void *body, size_t len,
               int body_is_static_ref);
const char *http_status_text(int status);

/* static.c */
void static_init(const char *web_root);
void static_serve(http_req *r);

/* sse.c */
void sse_init(void);
void sse_worker_init(worker *w, int heartbeat_seconds, int batch_ms);
void sse_worker_drain(worker *w);
/** Queued SSE messages wait: fan out now, or at most sse_batch_ms after the last fan-out. */
void sse_worker_notify(worker *w);
void sse_conn_closed(conn *c);
void sse_worker_stop(worker *w);
/** Cluster mode: the publishing connection and the listener on dsn (PostgreSQL). */
int sse_cluster_start(const char *dsn, err *e);
void sse_cluster_stop(void);

/* metrics.c */
void metrics_init(size_t nroutes);
void metrics_observe(int route_index, int status, uint64_t ns);
void metrics_conn_delta(int d);
long metrics_open_connections(void);

/* server.c */
worker *http_current_worker(void);
/** All workers (for SSE fan-out); *n gets their number. */
worker *http_workers(int *n);
void conn_write_head(conn *c, http_req *r, int status, const char *content_type,
                     long long content_length);
/** Write pending output straight to the socket; if some is left, let the bufferevent
 *  finish it when the socket has room. Never frees c. Returns the bytes left. */
size_t conn_try_write(conn *c);
/** conn_try_write(), then close the connection if it is closing and all output left.
 *  Returns 1 if c was freed (do not touch it any more). */
int conn_flush(conn *c);

#endif
