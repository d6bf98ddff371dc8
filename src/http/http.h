/* http: the request/response API that handlers in src/api/ use.
 *
 * The server (server.c) parses requests with http-parser on libevent
 * bufferevents, finds the route, enforces limits, resolves the session and the
 * route's role mask, then calls the handler with an `http_req`. A handler must
 * answer exactly once with http_reply_json(), http_reply_error(), http_reply_err(),
 * http_reply_status(), http_reply_bytes() or http_sse_start(); if it returns without
 * answering, the server answers 500. Everything reachable from an http_req
 * (strings, params) lives in the request arena and dies with the request. */
#ifndef ISLE_HTTP_H
#define ISLE_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "db/db.h"

#include "auth/roles.h"

enum http_method_bits {
    M_GET = 1 << 0,
    M_HEAD = 1 << 1,
    M_POST = 1 << 2,
    M_PUT = 1 << 3,
    M_PATCH = 1 << 4,
    M_DELETE = 1 << 5,
    M_OPTIONS = 1 << 6,
};

/* Route flags. */
enum {
    ROUTE_PUBLIC = 1 << 0,        /* no session needed; roles ignored */
    ROUTE_UPLOAD = 1 << 1,        /* body streamed to a temp file, capped by body_max */
    ROUTE_NO_CSRF = 1 << 2,       /* unsafe method allowed without CSRF token (login) */
    ROUTE_OPTIONAL_AUTH = 1 << 3, /* public, but the session is resolved if present */
};

typedef struct http_req http_req;
typedef void (*http_handler)(http_req *r);

typedef struct http_route {
    int method;          /* one M_* bit; GET routes also answer HEAD */
    const char *pattern; /* "/api/v1/users/{id}"; a final "{*rest}" takes the remainder */
    http_handler handler;
    int roles;        /* ROLE_* mask allowed, ignored with ROUTE_PUBLIC */
    int flags;        /* ROUTE_* */
    size_t body_max;  /* 0 = default JSON cap (1 MiB) */
    const char *name; /* metrics label; defaults to the pattern */
} http_route;

/** The authenticated caller, resolved from the session cookie or bearer token. */
typedef struct http_user {
    int64_t id; /* 0 when anonymous */
    int role;   /* one ROLE_* bit */
    char login[65];
    char display_name[129];
    char csrf[64];
    int64_t session_id;
    int via_cookie;
    char expires_at[32];
} http_user;

struct http_header_kv {
    const char *name;
    const char *value;
};

struct http_req {
    arena *arena;
    db *db;     /* this worker thread's connection */
    int method; /* M_* bit */
    const char *method_name;
    const char *path;      /* percent-decoded path, no query */
    const char *raw_query; /* undecoded query string or NULL */
    struct http_header_kv *headers;
    size_t nheaders;
    const char *body; /* in-memory body, NUL-terminated ("" when none) */
    size_t body_len;
    const char *upload_path; /* ROUTE_UPLOAD: the temp file holding the body; removed after */
    uint64_t upload_len;
    const http_route *route;
    const char *param_names[8];
    const char *param_values[8];
    int nparams;
    http_user user;
    char client_ip[64];
    char request_id[24];
    void *internal; /* server-private */
};

/* ---- reading the request ---- */
/** Header value (case-insensitive name) or NULL. */
const char *http_header(http_req *r, const char *name);
/** Path parameter by name ("id" for "{id}") or NULL. */
const char *http_param(http_req *r, const char *name);
/** Decoded query parameter or NULL. The first occurrence wins. */
const char *http_query(http_req *r, const char *name);
/** Integer query parameter clamped to [min,max]; def when absent. Malformed → -1 with
 *  a 400 already sent (the handler must return). */
int http_query_int(http_req *r, const char *name, int64_t def, int64_t min, int64_t max,
                   int64_t *out);
/** Cookie value or NULL. */
const char *http_cookie(http_req *r, const char *name);
/** Parse the body as a JSON object, checking UTF-8, depth and, if `allowed` is given
 *  (NULL-terminated list), that no other field is present. On failure replies 400/415
 *  and returns NULL. The caller owns the result (json_decref). */
json_t *http_json_body(http_req *r, const char *const *allowed);
/** 1 if the caller has one of the roles in mask. */
int http_has_role(http_req *r, int mask);

/* ---- answering ---- */
/** Add a response header (copied). */
void http_set_header(http_req *r, const char *name, const char *value);
/** Reply with JSON; steals the reference to body (may be NULL for an empty object). */
void http_reply_json(http_req *r, int status, json_t *body);
/** Reply with the standard error body. */
void http_reply_error(http_req *r, int status, const char *code, const char *field, const char *fmt,
                      ...) __attribute__((format(printf, 5, 6)));
/** Reply with the error held in e. */
void http_reply_err(http_req *r, const err *e);
/** Reply with a status and no body (204, 304…). */
void http_reply_status(http_req *r, int status);
/** Reply with raw bytes (copied). */
void http_reply_bytes(http_req *r, int status, const char *content_type, const void *data,
                      size_t len);
/** Turn the connection into an SSE stream subscribed to topic. Returns 0, or -1 with
 *  an error already sent. After success the handler must return without replying. */
int http_sse_start(http_req *r, const char *topic);

#endif
