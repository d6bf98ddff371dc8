/* server: the HTTP/1.1 server — listener, worker threads, connections.
 *
 * Built on libevent (event loop per thread, bufferevents, evconnlistener on one
 * shared listening socket) and Debian's http-parser for the wire format. We do
 * not use evhttp: libevent 2.1 gives no hook between a request's headers and
 * its body, so it could neither refuse an oversized body per route with our
 * JSON error before reading it, nor stream uploads to disk.
 *
 * Per request: limits (URL, headers, body per route, time), route match, session
 * and role check, CSRF/Origin check for unsafe methods, handler, metrics, one
 * log line without personal data. */
#ifndef ISLE_HTTP_SERVER_H
#define ISLE_HTTP_SERVER_H

#include <stddef.h>

#include "base/err.h"
#include "http/http.h"

/** Resolve the session of a request (cookie or bearer) into r->user. Called once per
 *  request before the role check; must not reply. */
typedef void (*http_auth_fn)(http_req *r);

typedef struct http_server_config {
    const char *listen;   /* "127.0.0.1:8080" or "[::1]:8080" */
    int threads;          /* event loops; 0 = number of cores */
    const char *db_path;  /* each worker opens its own connection */
    const char *web_root; /* static files */
    const char *upload_dir;
    size_t max_connections;  /* default 20000 */
    int request_timeout;     /* seconds to receive a whole request; default 30 */
    int idle_timeout;        /* keep-alive idle seconds; default 15 */
    size_t max_header_bytes; /* default 16 KiB */
    size_t max_url_bytes;    /* default 8 KiB */
    size_t json_body_max;    /* default 1 MiB */
    int sse_heartbeat;       /* seconds; default 15 */
    int sse_batch_ms;        /* SSE fan-outs at most this often per worker; 0 = at once */
    int secure_cookies;      /* add Secure to cookies (behind TLS) */
    http_auth_fn auth;
    void (*thread_exit)(void); /* called on each worker thread before it ends, or NULL */
    const http_route *routes;
    size_t nroutes;
} http_server_config;

/** Run the server until SIGINT or SIGTERM. Returns 0 after a clean shutdown, -1 when it
 *  cannot start (e filled: bad listen address, port in use, database unusable). */
int http_serve(const http_server_config *cfg, err *e);

/** The configuration in force (for handlers needing limits or paths). */
const http_server_config *http_config(void);

/** Build and queue a Set-Cookie header for the session cookie (value NULL clears it). */
void http_set_session_cookie(http_req *r, const char *value, int max_age);

#endif
