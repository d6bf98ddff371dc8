/* server: listener, workers and the connection state machine (see server.h).
 *
 * Threads: N workers, each with its own event_base, listener (all on one
 * listening socket) and database connection. A connection lives and dies on
 * the worker that accepted it; the only cross-thread traffic is SSE messages,
 * queued under the worker's mutex and signalled with event_active().
 *
 * A connection reads requests with http-parser. Decisions that need only the
 * headers (route, body size, session, role) are taken in on_headers_complete,
 * so an oversized or unauthorised upload is refused before its body is read:
 * the error is sent, writes are shut down, and the rest of the input is drained
 * for a short while (a "lingering close", so the client sees the response
 * rather than a reset). Pipelined requests are answered in order: the parser
 * pauses at the end of each message while the handler runs. */
#include "http/internal.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/xmalloc.h"
#include "http/parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/thread.h>
#include <glib.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static http_server_config config;
static worker *workers;
static int nworkers;
static _Thread_local worker *current_worker;
static _Atomic long conn_count;
static _Atomic uint64_t request_seq;
static http_parser_settings settings;

const http_server_config *http_config(void) {
    return &config;
}

worker *http_workers(int *n) {
    *n = nworkers;
    return workers;
}

worker *http_current_worker(void) {
    return current_worker;
}

/* ---------- connection lifetime ---------- */

static void conn_reset_request(conn *c) {
    if (c->upload_fd >= 0) {
        close(c->upload_fd);
        c->upload_fd = -1;
    }
    if (c->upload_path[0]) {
        unlink(c->upload_path);
        c->upload_path[0] = '\0';
    }
    arena_reset(c->arena);
    c->req = NULL;
    strbuf_reset(&c->url);
    strbuf_reset(&c->hfield);
    strbuf_reset(&c->hvalue);
    c->in_value = 0;
    c->nheaders = 0;
    c->header_bytes = 0;
    /* Large bodies should not pin memory across keep-alive requests. */
    if (c->body.cap > 65536) strbuf_free(&c->body);
    strbuf_reset(&c->body);
    c->body_bytes = 0;
    c->body_max = 0;
    c->has_body = 0;
    c->reject_status = 0;
    c->reject_code = NULL;
    c->reject_msg[0] = c->reject_field[0] = '\0';
    c->message_done = 0;
    c->in_request = 0;
}

static void conn_free(conn *c) {
    if (c->sse) sse_conn_closed(c);
    if (c->all_prev)
        c->all_prev->all_next = c->all_next;
    else
        c->w->conns = c->all_next;
    if (c->all_next) c->all_next->all_prev = c->all_prev;
    conn_reset_request(c);
    if (c->timer) event_free(c->timer);
    bufferevent_free(c->bev);
    arena_free(c->arena);
    strbuf_free(&c->url);
    strbuf_free(&c->hfield);
    strbuf_free(&c->hvalue);
    strbuf_free(&c->body);
    free(c);
    atomic_fetch_sub(&conn_count, 1);
    metrics_conn_delta(-1);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg);

static void conn_arm_timer(conn *c, int seconds) {
    struct timeval tv = {seconds, 0};
    evtimer_add(c->timer, &tv);
}

/* ---------- request building ---------- */

static http_req *conn_req(conn *c) {
    if (c->req) return c->req;
    http_req *r = arena_calloc(c->arena, sizeof(*r));
    req_state *st = arena_calloc(c->arena, sizeof(*st));
    st->c = c;
    st->route_index = -2;
    r->internal = st;
    r->arena = c->arena;
    r->db = c->w->db;
    st->db_conn_errors = r->db ? db_conn_errors(r->db) : 0;
    r->body = "";
    snprintf(r->client_ip, sizeof(r->client_ip), "%s", c->ip);
    snprintf(r->request_id, sizeof(r->request_id), "%x-%llx", c->w->index,
             (unsigned long long)atomic_fetch_add(&request_seq, 1));
    c->req = r;
    return r;
}

static void reject(conn *c, int status, const char *code, const char *field, const char *msg) {
    if (c->reject_status) return;
    c->reject_status = status;
    c->reject_code = code;
    snprintf(c->reject_field, sizeof(c->reject_field), "%s", field ? field : "");
    snprintf(c->reject_msg, sizeof(c->reject_msg), "%s", msg);
}

/* 1 if s is well-formed UTF-8 (glib's check: no overlongs, surrogates or code points
 * past U+10FFFF). Path and query text reach SQL as TEXT, which PostgreSQL refuses otherwise. */
static int utf8_ok(const char *s) {
    return g_utf8_validate(s, -1, NULL);
}

/* The first decoded query parameter that is not UTF-8: its name (or "" when the name
 * itself is not), NULL when all are. A malformed query is left to http_query(). */
static const char *query_not_utf8(arena *a, const char *q) {
    struct http_header_kv *kv;
    size_t n;
    if (http_parse_query(a, q, 64, &kv, &n) != 0) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (!utf8_ok(kv[i].name)) return "";
        if (!utf8_ok(kv[i].value)) return kv[i].name;
    }
    return NULL;
}

static int commit_header(conn *c) {
    if (!c->hfield.len) return 0;
    if (c->nheaders == HTTP_MAX_HEADERS) {
        reject(c, 431, "invalid_argument", "", "请求头字段过多");
        return -1;
    }
    c->headers[c->nheaders].name = arena_strndup(c->arena, strbuf_str(&c->hfield), c->hfield.len);
    c->headers[c->nheaders].value = arena_strndup(c->arena, strbuf_str(&c->hvalue), c->hvalue.len);
    c->nheaders++;
    strbuf_reset(&c->hfield);
    strbuf_reset(&c->hvalue);
    return 0;
}

static int on_message_begin(http_parser *p) {
    conn *c = p->data;
    c->in_request = 1;
    c->t_start = time_mono_ns();
    conn_arm_timer(c, config.request_timeout);
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len) {
    conn *c = p->data;
    if (strbuf_append(&c->url, at, len) != 0) {
        reject(c, 414, "invalid_argument", "", "网址过长");
        return -1;
    }
    return 0;
}

static int count_header_bytes(conn *c, size_t len) {
    c->header_bytes += len;
    if (c->header_bytes > config.max_header_bytes) {
        reject(c, 431, "invalid_argument", "", "请求头过大");
        return -1;
    }
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len) {
    conn *c = p->data;
    if (count_header_bytes(c, len) != 0) return -1;
    if (c->in_value) {
        if (commit_header(c) != 0) return -1;
        c->in_value = 0;
    }
    return strbuf_append(&c->hfield, at, len);
}

static int on_header_value(http_parser *p, const char *at, size_t len) {
    conn *c = p->data;
    if (count_header_bytes(c, len) != 0) return -1;
    c->in_value = 1;
    return strbuf_append(&c->hvalue, at, len);
}

static int method_bit(unsigned m) {
    switch (m) {
    case HTTP_GET:
        return M_GET;
    case HTTP_HEAD:
        return M_HEAD;
    case HTTP_POST:
        return M_POST;
    case HTTP_PUT:
        return M_PUT;
    case HTTP_PATCH:
        return M_PATCH;
    case HTTP_DELETE:
        return M_DELETE;
    case HTTP_OPTIONS:
        return M_OPTIONS;
    default:
        return 0;
    }
}

static int open_upload_file(conn *c) {
    snprintf(c->upload_path, sizeof(c->upload_path), "%s/upload-XXXXXX", config.upload_dir);
    c->upload_fd = mkostemp(c->upload_path, O_CLOEXEC);
    if (c->upload_fd < 0) {
        log_error("cannot create upload file in %s: %s", config.upload_dir, strerror(errno));
        c->upload_path[0] = '\0';
        return -1;
    }
    return 0;
}

/* Everything that can be decided from the request head is decided here. */
static int on_headers_complete(http_parser *p) {
    conn *c = p->data;
    if (c->in_value && commit_header(c) != 0) return -1;
    http_req *r = conn_req(c);
    r->headers = arena_alloc(c->arena, sizeof(*r->headers) * (c->nheaders ? c->nheaders : 1));
    memcpy(r->headers, c->headers, sizeof(*r->headers) * c->nheaders);
    r->nheaders = c->nheaders;
    r->method = method_bit(p->method);
    r->method_name = http_method_str((enum http_method)p->method);
    c->has_body =
        (p->flags & F_CHUNKED) || (p->content_length > 0 && p->content_length != ULLONG_MAX);

    struct http_parser_url u;
    http_parser_url_init(&u);
    const char *url = strbuf_str(&c->url);
    if (http_parser_parse_url(url, c->url.len, 0, &u) != 0 || !(u.field_set & (1 << UF_PATH))) {
        reject(c, 400, "invalid_argument", "", "请求地址格式错误");
        r->path = "/";
    } else {
        r->path = http_url_decode(c->arena, url + u.field_data[UF_PATH].off,
                                  u.field_data[UF_PATH].len, 0, NULL);
        if (!r->path) {
            reject(c, 400, "invalid_argument", "", "请求地址中的百分号编码错误");
            r->path = "/";
        }
        if (u.field_set & (1 << UF_QUERY))
            r->raw_query = arena_strndup(c->arena, url + u.field_data[UF_QUERY].off,
                                         u.field_data[UF_QUERY].len);
        const char *bad = r->raw_query ? query_not_utf8(c->arena, r->raw_query) : NULL;
        if (!utf8_ok(r->path)) {
            reject(c, 400, "invalid_argument", "", "请求地址不是有效的 UTF-8 编码");
            r->path = "/";
        } else if (bad) {
            char msg[160];
            snprintf(msg, sizeof(msg), "查询参数“%.40s”不是有效的 UTF-8 编码", bad);
            reject(c, 400, "invalid_argument", bad, msg);
        }
    }
    if (!r->method) reject(c, 405, "method_not_allowed", "", "不支持的请求方法");

    req_state *st = r->internal;
    int other = 0;
    int idx = c->reject_status ? -1 : router_match(r->method, r->path, r, &other);
    st->route_index = idx >= 0 ? idx : (strncmp(r->path, "/api/", 5) == 0 ? -2 : -1);
    r->route = idx >= 0 ? router_route(idx) : NULL;
    if (!c->reject_status && idx < 0 && other) {
        char allow[96] = "";
        static const char *names[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
        for (int i = 0; i < 7; i++)
            if (other & (1 << i)) {
                if (allow[0]) strncat(allow, ", ", sizeof(allow) - strlen(allow) - 1);
                strncat(allow, names[i], sizeof(allow) - strlen(allow) - 1);
            }
        http_set_header(r, "Allow", allow);
        reject(c, 405, "method_not_allowed", "", "该地址不支持此请求方法");
    }

    c->body_max = r->route ? (r->route->body_max ? r->route->body_max : config.json_body_max)
                           : config.json_body_max;
    if (!c->reject_status && (p->flags & F_CHUNKED) == 0 && p->content_length != ULLONG_MAX &&
        p->content_length > c->body_max) {
        char msg[128];
        snprintf(msg, sizeof(msg), "请求体超过 %zu 字节上限", c->body_max);
        reject(c, 413, "payload_too_large", "", msg);
    }

    /* Session and role, before any body is accepted. */
    if (!c->reject_status && r->route) {
        int public = r->route->flags & ROUTE_PUBLIC;
        if (config.auth && (!public || (r->route->flags & ROUTE_OPTIONAL_AUTH))) config.auth(r);
        if (r->db && db_conn_errors(r->db) != st->db_conn_errors)
            /* The session could not be looked up: not "unauthenticated" but "try later". */
            reject(c, 503, "unavailable", "", "数据库暂时不可用，请稍后重试");
        else if (!public) {
            if (!r->user.id)
                reject(c, 401, "unauthenticated", "", "请先登录");
            else if (!(r->user.role & r->route->roles))
                reject(c, 403, "permission_denied", "", "您的角色无权进行此操作");
        }
    }

    if (c->reject_status) {
        /* Without a body the request can finish normally and keep the connection;
         * with one, stop here and answer without reading it. */
        return c->has_body ? -1 : 0;
    }
    if (r->route && (r->route->flags & ROUTE_UPLOAD) && c->has_body && open_upload_file(c) != 0) {
        reject(c, 500, "internal", "", "无法保存上传内容");
        return -1;
    }
    const char *expect = http_header(r, "Expect");
    if (expect && c->has_body) {
        if (strcasecmp(expect, "100-continue") != 0) {
            reject(c, 417, "invalid_argument", "Expect", "不支持的 Expect 请求头");
            return -1;
        }
        bufferevent_write(c->bev, "HTTP/1.1 100 Continue\r\n\r\n", 25);
        conn_try_write(c);
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len) {
    conn *c = p->data;
    c->body_bytes += len;
    if (c->body_bytes > c->body_max) {
        char msg[128];
        snprintf(msg, sizeof(msg), "请求体超过 %zu 字节上限", c->body_max);
        reject(c, 413, "payload_too_large", "", msg);
        return -1;
    }
    if (c->upload_fd >= 0) {
        while (len > 0) {
            ssize_t w = write(c->upload_fd, at, len);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) {
                reject(c, 507, "internal", "", "无法保存上传内容");
                return -1;
            }
            at += w;
            len -= (size_t)w;
        }
        return 0;
    }
    if (c->body.max < c->body_max) c->body.max = c->body_max;
    return strbuf_append(&c->body, at, len);
}

static int on_message_complete(http_parser *p) {
    conn *c = p->data;
    c->message_done = 1;
    http_parser_pause(p, 1);
    return 0;
}

/* ---------- dispatch ---------- */

static int same_origin(http_req *r, const char *origin) {
    const char *host = http_header(r, "Host");
    if (!host) return 0;
    const char *o = strstr(origin, "://");
    if (!o) return 0;
    return strcasecmp(o + 3, host) == 0;
}

static void log_request(http_req *r, int status, uint64_t ns) {
    if (log_get_level() > LOG_INFO) return;
    req_state *st = r->internal;
    char path[160];
    const char *shown = r->route ? (r->route->name ? r->route->name : r->route->pattern) : r->path;
    log_sanitize(path, sizeof(path), shown ? shown : "-");
    log_info("%s %s %s %d %zu %.3fms w%d", r->request_id, r->method_name ? r->method_name : "-",
             path, status, st->resp_bytes, (double)ns / 1e6, st->c->w->index);
}

static void dispatch(conn *c) {
    http_req *r = conn_req(c);
    req_state *st = r->internal;
    if (c->reject_status) {
        http_reply_error(r, c->reject_status, c->reject_code, c->reject_field, "%s", c->reject_msg);
    } else {
        if (c->upload_fd >= 0) {
            close(c->upload_fd);
            c->upload_fd = -1;
            r->upload_path = c->upload_path;
            r->upload_len = c->body_bytes;
        } else {
            r->body = strbuf_str(&c->body);
            r->body_len = c->body.len;
        }
        int unsafe = r->method & (M_POST | M_PUT | M_PATCH | M_DELETE);
        const char *origin = http_header(r, "Origin");
        if (unsafe && origin && !same_origin(r, origin)) {
            http_reply_error(r, 403, "permission_denied", "", "拒绝跨站请求");
        } else if (r->route) {
            if (unsafe && r->user.via_cookie && !(r->route->flags & ROUTE_NO_CSRF)) {
                const char *tok = http_header(r, "X-CSRF-Token");
                if (!tok || strcmp(tok, r->user.csrf) != 0) {
                    http_reply_error(r, 403, "permission_denied", "X-CSRF-Token",
                                     "缺少或错误的 CSRF 令牌，请刷新页面后重试");
                    goto done;
                }
            }
            r->route->handler(r);
            if (!st->replied && !c->sse) {
                log_error("handler for %s returned without a reply", r->route->pattern);
                http_reply_error(r, 500, "internal", "", "系统内部错误");
            }
        } else if (strncmp(r->path, "/api/", 5) == 0 || !strcmp(r->path, "/api")) {
            http_reply_error(r, 404, "not_found", "", "没有这个接口");
        } else if (r->method & (M_GET | M_HEAD)) {
            static_serve(r);
        } else {
            http_set_header(r, "Allow", "GET, HEAD");
            http_reply_error(r, 405, "method_not_allowed", "", "该地址不支持此请求方法");
        }
    }
done:;
    uint64_t ns = time_mono_ns() - c->t_start;
    metrics_observe(st->route_index, st->status, ns);
    log_request(r, st->status, ns);
    evtimer_del(c->timer); /* an SSE stream too: the request timer would answer 408 into it */
    if (!http_should_keep_alive(&c->parser) && !c->sse) c->closing = 1;
}

/* ---------- libevent callbacks ---------- */

static void start_lingering(conn *c) {
    c->lingering = 1;
    c->closing = 1;
}

static void send_parse_error(conn *c) {
    enum http_errno en = HTTP_PARSER_ERRNO(&c->parser);
    http_req *r = conn_req(c);
    if (!r->path) r->path = "/";
    if (!c->reject_status) {
        if (en == HPE_HEADER_OVERFLOW)
            reject(c, 431, "invalid_argument", "", "请求头过大");
        else {
            char msg[160];
            snprintf(msg, sizeof(msg), "malformed HTTP request: %s", http_errno_description(en));
            reject(c, 400, "invalid_argument", "", msg);
        }
    }
    if (!c->t_start) c->t_start = time_mono_ns();
    ((req_state *)r->internal)->route_index = -2;
    c->closing = 1;
    http_reply_error(r, c->reject_status, c->reject_code, c->reject_field, "%s", c->reject_msg);
    metrics_observe(-2, c->reject_status, time_mono_ns() - c->t_start);
    log_request(r, c->reject_status, time_mono_ns() - c->t_start);
    start_lingering(c);
}

size_t conn_try_write(conn *c) {
    struct evbuffer *out = bufferevent_get_output(c->bev);
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    while (evbuffer_get_length(out) > 0)
        if (evbuffer_write(out, fd) <= 0) break; /* full, or an error the bufferevent will see */
    size_t left = evbuffer_get_length(out);
    if (left) bufferevent_enable(c->bev, EV_WRITE);
    return left;
}

/* All output has left: close, or start the lingering close. Returns 1 if c was freed. */
static int conn_output_done(conn *c) {
    if (!c->closing) return 0;
    if (c->lingering) {
        if (!c->shut_wr) {
            /* Keep reading (and discarding) for a moment so that the client receives the
             * response instead of a reset caused by unread data. */
            shutdown(bufferevent_getfd(c->bev), SHUT_WR);
            c->shut_wr = 1;
            conn_arm_timer(c, 2);
        }
        return 0;
    }
    conn_free(c);
    return 1;
}

int conn_flush(conn *c) {
    if (conn_try_write(c) > 0) return 0;
    return conn_output_done(c);
}

static void read_cb(struct bufferevent *bev, void *arg) {
    conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (c->lingering || c->sse) {
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    while (!c->closing && !c->sse && evbuffer_get_length(in) > 0) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1) break;
        size_t n = http_parser_execute(&c->parser, &settings, v.iov_base, v.iov_len);
        evbuffer_drain(in, n);
        enum http_errno en = HTTP_PARSER_ERRNO(&c->parser);
        if (en == HPE_PAUSED) {
            dispatch(c);
            if (!c->sse) {
                conn_reset_request(c);
                http_parser_pause(&c->parser, 0);
            }
            continue;
        }
        if (en != HPE_OK) {
            send_parse_error(c);
            evbuffer_drain(in, evbuffer_get_length(in));
            break;
        }
        if (n < v.iov_len) break; /* cannot happen without an error; be safe */
    }
    /* One write for everything this read produced (pipelined answers included). */
    conn_flush(c);
}

static void write_cb(struct bufferevent *bev, void *arg) {
    conn *c = arg;
    /* The backlog is gone: back to writing directly (see conn_try_write). */
    bufferevent_disable(bev, EV_WRITE);
    conn_output_done(c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg) {
    (void)bev;
    conn *c = arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) conn_free(c);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    conn *c = arg;
    if (c->lingering || !c->in_request) {
        conn_free(c);
        return;
    }
    /* The request did not arrive in time (slow client): answer 408 and close. */
    http_req *r = conn_req(c);
    if (!r->path) r->path = "/";
    c->closing = 1;
    ((req_state *)r->internal)->route_index = -2;
    http_reply_error(r, 408, "invalid_argument", "", "请求超时未收到");
    start_lingering(c);
    conn_flush(c);
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg) {
    (void)l;
    (void)salen;
    worker *w = arg;
    if ((size_t)atomic_load(&conn_count) >= config.max_connections) {
        static const char body[] =
            "{\"error\":{\"code\":\"unavailable\",\"message\":\"too many connections\","
            "\"field\":\"\"}}\n";
        char busy[256];
        int n = snprintf(busy, sizeof(busy),
                         "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                         "Connection: close\r\nRetry-After: 5\r\nContent-Length: %zu\r\n\r\n%s",
                         sizeof(body) - 1, body);
        ssize_t wr = send(fd, busy, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)wr;
        evutil_closesocket(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    conn *c = xcalloc(1, sizeof(*c));
    c->w = w;
    c->upload_fd = -1;
    c->arena = arena_new();
    strbuf_init(&c->url, config.max_url_bytes);
    strbuf_init(&c->hfield, config.max_header_bytes);
    strbuf_init(&c->hvalue, config.max_header_bytes);
    strbuf_init(&c->body, config.json_body_max);
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, c->ip, sizeof(c->ip));
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, c->ip, sizeof(c->ip));
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    c->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->timer = evtimer_new(w->base, timer_cb, c);
    bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
    struct timeval idle = {config.idle_timeout, 0};
    bufferevent_set_timeouts(c->bev, &idle, NULL);
    /* Writes go straight to the socket (conn_try_write); EV_WRITE is enabled only
     * while a backlog waits for room. Requests outrank SSE fan-out and timers. */
    bufferevent_priority_set(c->bev, PRIO_REQUEST);
    bufferevent_enable(c->bev, EV_READ);
    c->all_next = w->conns;
    if (w->conns) w->conns->all_prev = c;
    w->conns = c;
    atomic_fetch_add(&conn_count, 1);
    metrics_conn_delta(1);
}

/* ---------- workers ---------- */

static void notify_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    worker *w = arg;
    sse_worker_notify(w);
    if (w->stopping) event_base_loopexit(w->base, NULL);
}

static void *worker_main(void *arg) {
    worker *w = arg;
    current_worker = w;
    event_base_dispatch(w->base);
    /* Domains may keep per-thread state (the search engine's scratch). */
    if (config.thread_exit) config.thread_exit();
    return NULL;
}

static struct event_base *main_base;
static void signal_cb(evutil_socket_t sig, short what, void *arg) {
    (void)what;
    (void)arg;
    log_info("signal %d: shutting down", (int)sig);
    event_base_loopexit(main_base, NULL);
}

static int listen_socket(const char *spec, err *e) {
    struct sockaddr_storage ss;
    int sslen = sizeof(ss);
    memset(&ss, 0, sizeof(ss));
    if (evutil_parse_sockaddr_port(spec, (struct sockaddr *)&ss, &sslen) != 0)
        return err_invalid(e, "listen", "cannot parse listen address \"%s\" (want HOST:PORT)",
                           spec);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return err_internal(e, "socket: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, (socklen_t)sslen) != 0) {
        int en = errno;
        close(fd);
        return err_set(e, 500, "internal", "listen", "cannot listen on %s: %s", spec, strerror(en));
    }
    if (listen(fd, 4096) != 0) {
        int en = errno;
        close(fd);
        return err_internal(e, "listen: %s", strerror(en));
    }
    return fd;
}

static void raise_fd_limit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Fill unset configuration with the defaults documented in server.h. */
static void config_apply_defaults(const http_server_config *cfg) {
    config = *cfg;
    if (config.threads <= 0) config.threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (config.threads <= 0) config.threads = 1;
    if (config.threads > 64) config.threads = 64;
    if (!config.max_connections) config.max_connections = 20000;
    if (!config.request_timeout) config.request_timeout = 30;
    if (!config.idle_timeout) config.idle_timeout = 15;
    if (!config.max_header_bytes) config.max_header_bytes = 16 * 1024;
    if (!config.max_url_bytes) config.max_url_bytes = 8 * 1024;
    if (!config.json_body_max) config.json_body_max = 1024 * 1024;
    if (!config.sse_heartbeat) config.sse_heartbeat = 15;
    if (config.sse_batch_ms < 0) config.sse_batch_ms = 0;
    if (config.sse_batch_ms > 1000) config.sse_batch_ms = 1000;
    if (!config.upload_dir) config.upload_dir = "/tmp";
}

static void parser_settings_init(void) {
    http_parser_set_max_header_size((uint32_t)config.max_header_bytes + 1024);
    memset(&settings, 0, sizeof(settings));
    settings.on_message_begin = on_message_begin;
    settings.on_url = on_url;
    settings.on_header_field = on_header_field;
    settings.on_header_value = on_header_value;
    settings.on_headers_complete = on_headers_complete;
    settings.on_body = on_body;
    settings.on_message_complete = on_message_complete;
}

int http_serve(const http_server_config *cfg, err *e) {
    config_apply_defaults(cfg);
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();
    evthread_use_pthreads();
    parser_settings_init();

    router_init(config.routes, config.nroutes);
    metrics_init(config.nroutes);
    static_init(config.web_root);
    sse_init();

    int fd = listen_socket(config.listen, e);
    if (fd < 0) return -1;

    nworkers = config.threads;
    workers = xcalloc((size_t)nworkers, sizeof(*workers));
    for (int i = 0; i < nworkers; i++) {
        worker *w = &workers[i];
        w->index = i;
        pthread_mutex_init(&w->mu, NULL);
        w->base = event_base_new();
        if (w->base) event_base_priority_init(w->base, PRIO_LEVELS);
        if (!w->base || db_open(config.db_path, &w->db, e) != 0) {
            close(fd);
            return -1;
        }
        w->listener = evconnlistener_new(w->base, accept_cb, w, LEV_OPT_CLOSE_ON_EXEC, -1, fd);
        if (!w->listener) {
            close(fd);
            return err_internal(e, "cannot start listener");
        }
        w->notify_ev = event_new(w->base, -1, 0, notify_cb, w);
        sse_worker_init(w, config.sse_heartbeat, config.sse_batch_ms);
    }
    if (strcmp(db_backend(workers[0].db), "postgres") == 0 &&
        sse_cluster_start(config.db_path, e) != 0) {
        close(fd);
        return -1;
    }
    char shown[512];
    log_info("isle serving http://%s with %d thread%s, db %s", config.listen, nworkers,
             nworkers == 1 ? "" : "s", db_dsn_redact(config.db_path, shown, sizeof(shown)));
    for (int i = 0; i < nworkers; i++)
        pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]);

    main_base = event_base_new();
    struct event *sigint = evsignal_new(main_base, SIGINT, signal_cb, NULL);
    struct event *sigterm = evsignal_new(main_base, SIGTERM, signal_cb, NULL);
    evsignal_add(sigint, NULL);
    evsignal_add(sigterm, NULL);
    event_base_dispatch(main_base);

    for (int i = 0; i < nworkers; i++) {
        pthread_mutex_lock(&workers[i].mu);
        workers[i].stopping = 1;
        pthread_mutex_unlock(&workers[i].mu);
        event_active(workers[i].notify_ev, EV_READ, 0);
    }
    for (int i = 0; i < nworkers; i++)
        pthread_join(workers[i].thread, NULL);
    sse_cluster_stop();
    for (int i = 0; i < nworkers; i++) {
        worker *w = &workers[i];
        while (w->conns)
            conn_free(w->conns);
        sse_worker_stop(w);
        evconnlistener_free(w->listener);
        event_free(w->notify_ev);
        db_close(w->db);
        event_base_free(w->base);
        pthread_mutex_destroy(&w->mu);
    }
    close(fd);
    event_free(sigint);
    event_free(sigterm);
    event_base_free(main_base);
    free(workers);
    log_info("isle stopped");
    return 0;
}
