/* response: reading request parts and writing responses (see http.h).
 *
 * Every response carries the security headers (CSP, nosniff, frame-ancestors,
 * referrer policy) and the request id. API responses are never cached. */
#include "base/jsonx.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "http/internal.h"
#include "http/parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CSP                                                                                        \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "                    \
    "form-action 'self'; frame-ancestors 'none'"

const char *http_status_text(int s) {
    switch (s) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 417:
        return "Expectation Failed";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    case 507:
        return "Insufficient Storage";
    default:
        return "Status";
    }
}

const char *http_header(http_req *r, const char *name) {
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0) return r->headers[i].value;
    return NULL;
}

const char *http_param(http_req *r, const char *name) {
    for (int i = 0; i < r->nparams; i++)
        if (strcmp(r->param_names[i], name) == 0) return r->param_values[i];
    return NULL;
}

const char *http_query(http_req *r, const char *name) {
    req_state *st = r->internal;
    if (!st->query_parsed) {
        st->query_parsed = 1;
        if (r->raw_query &&
            http_parse_query(r->arena, r->raw_query, 64, &st->query, &st->nquery) != 0) {
            st->query = NULL;
            st->nquery = 0;
        }
    }
    for (size_t i = 0; i < st->nquery; i++)
        if (strcmp(st->query[i].name, name) == 0) return st->query[i].value;
    return NULL;
}

int http_query_int(http_req *r, const char *name, int64_t def, int64_t min, int64_t max,
                   int64_t *out) {
    const char *v = http_query(r, name);
    if (!v || !*v) {
        *out = def;
        return 0;
    }
    char *end;
    long long x = strtoll(v, &end, 10);
    if (*end || end == v) {
        http_reply_error(r, 400, "invalid_argument", name, "查询参数 %s 必须是整数", name);
        return -1;
    }
    if (x < min) x = min;
    if (x > max) x = max;
    *out = x;
    return 0;
}

const char *http_cookie(http_req *r, const char *name) {
    req_state *st = r->internal;
    if (!st->cookies_parsed) {
        st->cookies_parsed = 1;
        const char *h = http_header(r, "Cookie");
        if (h && http_parse_cookies(r->arena, h, 50, &st->cookies, &st->ncookies) != 0) {
            st->cookies = NULL;
            st->ncookies = 0;
        }
    }
    for (size_t i = 0; i < st->ncookies; i++)
        if (strcmp(st->cookies[i].name, name) == 0) return st->cookies[i].value;
    return NULL;
}

int http_has_role(http_req *r, int mask) {
    return r->user.id && (r->user.role & mask);
}

json_t *http_json_body(http_req *r, const char *const *allowed) {
    const char *ct = http_header(r, "Content-Type");
    if (ct) {
        char *media = NULL, *unused = NULL;
        int ok = http_parse_content_type(r->arena, ct, "charset", &media, &unused) == 0;
        if (ok && strcmp(media, "application/json") != 0) {
            /* `curl -d '{…}'` labels JSON as a form; accept a body that is evidently
             * JSON under the two "simple" types, refuse real forms and anything else. */
            const char *b = r->body;
            while (*b == ' ' || *b == '\t' || *b == '\r' || *b == '\n')
                b++;
            ok = (strcmp(media, "application/x-www-form-urlencoded") == 0 ||
                  strcmp(media, "text/plain") == 0) &&
                 (*b == '{' || *b == '[');
        }
        if (!ok) {
            http_reply_error(r, 415, "unsupported_media_type", "Content-Type",
                             "请求体必须是 JSON（application/json）");
            return NULL;
        }
    }
    err e = {0};
    json_t *v = jsonx_parse(r->body, r->body_len, JSONX_MAX_DEPTH, &e);
    if (!v) {
        http_reply_err(r, &e);
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        http_reply_error(r, 400, "invalid_argument", "", "请求体必须是 JSON 对象");
        return NULL;
    }
    if (allowed) {
        const char *key;
        json_t *val;
        json_object_foreach(v, key, val) {
            int ok = 0;
            for (const char *const *a = allowed; *a; a++)
                if (strcmp(*a, key) == 0) ok = 1;
            if (!ok) {
                http_reply_error(r, 400, "invalid_argument", key, "未知字段“%.40s”", key);
                json_decref(v);
                return NULL;
            }
        }
    }
    return v;
}

void http_set_header(http_req *r, const char *name, const char *value) {
    req_state *st = r->internal;
    if (st->nresp == HTTP_MAX_RESP_HEADERS) return;
    st->resp_hdr_names[st->nresp] = arena_strdup(r->arena, name);
    st->resp_hdr_values[st->nresp] = arena_strdup(r->arena, value);
    st->nresp++;
}

void http_set_session_cookie(http_req *r, const char *value, int max_age) {
    char *c = arena_printf(
        r->arena, "isle_session=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d%s",
        value ? value : "", value ? max_age : 0, http_config()->secure_cookies ? "; Secure" : "");
    http_set_header(r, "Set-Cookie", c);
}

static const char *cached_date(worker *w) {
    int64_t now = time_now();
    if (now != w->date_sec) {
        time_http_date(w->date, sizeof(w->date), now);
        w->date_sec = now;
    }
    return w->date;
}

void conn_write_head(conn *c, http_req *r, int status, const char *content_type,
                     long long content_length) {
    req_state *st = r->internal;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    evbuffer_add_printf(out,
                        "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: isle\r\n"
                        "X-Request-Id: %s\r\n"
                        "Content-Security-Policy: " CSP "\r\n"
                        "X-Content-Type-Options: nosniff\r\n"
                        "X-Frame-Options: DENY\r\n"
                        "Referrer-Policy: same-origin\r\n",
                        status, http_status_text(status), cached_date(c->w), r->request_id);
    if (content_type) evbuffer_add_printf(out, "Content-Type: %s\r\n", content_type);
    if (content_length >= 0) evbuffer_add_printf(out, "Content-Length: %lld\r\n", content_length);
    int has_cache_control = 0;
    for (int i = 0; i < st->nresp; i++) {
        if (!strcasecmp(st->resp_hdr_names[i], "Cache-Control")) has_cache_control = 1;
        evbuffer_add_printf(out, "%s: %s\r\n", st->resp_hdr_names[i], st->resp_hdr_values[i]);
    }
    if (!has_cache_control && r->route) evbuffer_add_printf(out, "Cache-Control: no-store\r\n");
    if (c->closing || !http_should_keep_alive(&c->parser))
        evbuffer_add_printf(out, "Connection: close\r\n");
    else if (c->parser.http_major == 1 && c->parser.http_minor == 0)
        evbuffer_add_printf(out, "Connection: keep-alive\r\n");
    evbuffer_add(out, "\r\n", 2);
}

void http_send(http_req *r, int status, const char *content_type, const void *body, size_t len,
               int body_is_static_ref) {
    req_state *st = r->internal;
    if (st->replied) {
        log_error("second reply to request %s ignored", r->request_id);
        return;
    }
    st->replied = 1;
    st->status = status;
    conn *c = st->c;
    int no_body = status == 204 || status == 304 || (status >= 100 && status < 200);
    conn_write_head(c, r, status, no_body ? NULL : content_type, no_body ? -1 : (long long)len);
    if (r->method == M_HEAD || no_body) return;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (body_is_static_ref)
        evbuffer_add_reference(out, body, len, NULL, NULL);
    else
        evbuffer_add(out, body, len);
    st->resp_bytes = len;
}

void http_reply_json(http_req *r, int status, json_t *body) {
    if (!body) body = json_object();
    char *s = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
    json_decref(body);
    if (!s) {
        http_reply_error(r, 500, "internal", "", "cannot encode the response");
        return;
    }
    size_t n = strlen(s);
    http_send(r, status, "application/json; charset=utf-8", s, n, 0);
    free(s);
}

void http_reply_error(http_req *r, int status, const char *code, const char *field, const char *fmt,
                      ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (status >= 500 && status != 503 && r->db &&
        db_conn_errors(r->db) != ((req_state *)r->internal)->db_conn_errors) {
        /* The database went away under this request (a restart, a full connection pool):
         * the client should retry, not report a bug. */
        status = 503;
        code = "unavailable";
        field = "";
        snprintf(msg, sizeof(msg), "数据库暂时不可用，请稍后重试");
    }
    if (status == 503) {
        int has = 0;
        req_state *st = r->internal;
        for (int i = 0; i < st->nresp; i++)
            if (!strcasecmp(st->resp_hdr_names[i], "Retry-After")) has = 1;
        if (!has) http_set_header(r, "Retry-After", "5");
    }
    if (status == 429) {
        /* Retry-After is set by the caller when it knows better. */
        int has = 0;
        req_state *st = r->internal;
        for (int i = 0; i < st->nresp; i++)
            if (!strcasecmp(st->resp_hdr_names[i], "Retry-After")) has = 1;
        if (!has) http_set_header(r, "Retry-After", "60");
    }
    json_t *body = json_pack("{s:{s:s, s:s, s:s}}", "error", "code", code ? code : "internal",
                             "message", msg, "field", field ? field : "");
    if (!body) /* message was not valid UTF-8: say so rather than fail */
        body = json_pack("{s:{s:s, s:s, s:s}}", "error", "code", code ? code : "internal",
                         "message", "invalid input", "field", "");
    if (status >= 500) log_error("%s: %d %s", r->request_id, status, msg);
    req_state *st = r->internal;
    int prev_has_cc = 0;
    for (int i = 0; i < st->nresp; i++)
        if (!strcasecmp(st->resp_hdr_names[i], "Cache-Control")) prev_has_cc = 1;
    if (!prev_has_cc) http_set_header(r, "Cache-Control", "no-store");
    http_reply_json(r, status, body);
}

void http_reply_err(http_req *r, const err *e) {
    http_reply_error(r, e->status ? e->status : 500, e->code[0] ? e->code : "internal", e->field,
                     "%s", e->message[0] ? e->message : "系统内部错误");
}

void http_reply_status(http_req *r, int status) {
    http_send(r, status, NULL, "", 0, 0);
}

void http_reply_bytes(http_req *r, int status, const char *content_type, const void *data,
                      size_t len) {
    http_send(r, status, content_type, data, len, 0);
}
