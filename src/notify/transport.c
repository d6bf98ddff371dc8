/* transport: how an SMS leaves isle — "log" (a file, for development, tests
 * and `make run`) or "http" (a JSON POST to the SMS gateway via libcurl).
 *
 * A transport is shared by the sender's calls and may be used from several
 * threads: the log transport serialises its writes with O_APPEND (one write per
 * line), the HTTP transport takes pooled curl handles under a lock and uses
 * each alone (keep-alive connections; a batch runs on a multi handle with
 * ISLE_SMS_CONCURRENCY requests in flight). Neither ever
 * logs a phone number: the log file holds it masked, and errors name the
 * outbox id, never the recipient. */
#include "notify/notify.h"
#include "base/hmac.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "base/xmalloc.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- log ---- */

/* The file is opened for each line (O_APPEND, one write): nothing is created until
 * the first SMS, several processes may share the file, and rotating it needs no
 * signal. */
typedef struct log_ctx {
    char path[1024];
} log_ctx;

static enum notify_send_result log_send(notify_transport *t, const notify_sms *sms,
                                        char *provider_id, size_t provider_id_n, char *why,
                                        size_t why_n) {
    log_ctx *c = t->ctx;
    char now[32], masked[32];
    time_iso(now, sizeof(now), time_now());
    strbuf b;
    strbuf_init(&b, 8192);
    strbuf_printf(&b, "%s\t%lld\t%s\t%s\t", now, (long long)sms->outbox_id,
                  notify_mask_phone(sms->phone, masked, sizeof(masked)), sms->dedupe_key);
    for (const char *p = sms->body; *p; p++) {
        char ch = (*p == '\t' || *p == '\n' || *p == '\r') ? ' ' : *p;
        if (strbuf_append(&b, &ch, 1) != 0) break;
    }
    strbuf_append(&b, "\n", 1);
    int fd = open(c->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    ssize_t w = fd >= 0 ? write(fd, strbuf_str(&b), b.len) : -1;
    int ok = w == (ssize_t)b.len;
    int saved = errno;
    if (fd >= 0 && close(fd) != 0 && ok) {
        ok = 0;
        saved = errno;
    }
    strbuf_free(&b);
    if (!ok) {
        snprintf(why, why_n, "log transport: cannot write %s: %s", c->path, strerror(saved));
        return NOTIFY_RETRY;
    }
    snprintf(provider_id, provider_id_n, "log-%lld", (long long)sms->outbox_id);
    return NOTIFY_SENT;
}

static void log_destroy(notify_transport *t) {
    free(t->ctx);
    free(t);
}

notify_transport *notify_transport_log_new(const char *path, err *e) {
    if (!path || !*path || strlen(path) >= sizeof(((log_ctx *)0)->path)) {
        err_invalid(e, "ISLE_SMS_LOG", "短信日志文件路径不正确");
        return NULL;
    }
    log_ctx *c = xcalloc(1, sizeof(*c));
    snprintf(c->path, sizeof(c->path), "%s", path);
    notify_transport *t = xcalloc(1, sizeof(*t));
    t->name = "log";
    t->send = log_send;
    t->destroy = log_destroy;
    t->ctx = c;
    return t;
}

/* ---- http ---- */

/* Connections are what a gateway costs: a TCP (and TLS) handshake per message
 * is slower than the message. So handles are kept between calls — easy handles
 * (each with its live connection) for send(), multi handles (each with its
 * connection cache and its easy handles) for send_batch() — in small pools
 * under the context's lock; a call takes one, uses it alone, and puts it back.
 * Options every request shares are set once per easy handle. */
#define HTTP_POOL 8

/* A multi handle with the easy handles that run on it, configured once. */
typedef struct http_multi {
    CURLM *m;
    CURL **easy;
    int neasy;
} http_multi;

typedef struct http_ctx {
    char *url;
    char *secret;
    int timeout_ms;
    int concurrency;
    pthread_mutex_t mu;
    CURL *easy[HTTP_POOL];
    int neasy;
    http_multi *multi[HTTP_POOL];
    int nmulti;
} http_ctx;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t collect(char *data, size_t size, size_t n, void *arg) {
    strbuf *b = arg;
    size_t len = size * n;
    /* Past the cap the rest is dropped, not an error: only the start is parsed. */
    strbuf_append(b, data, len);
    return len;
}

/* One request in flight: what its easy handle points at until it completes. */
typedef struct http_call {
    CURL *h;
    struct curl_slist *hdr;
    char *body;
    strbuf resp;
    size_t index; /* in the batch */
} http_call;

/* A new easy handle with the options every request shares (set once: a handle keeps
 * them, and its parsed URL, from one request to the next). NULL when curl cannot. */
static CURL *easy_new(http_ctx *c) {
    CURL *h = curl_easy_init();
    if (!h) return NULL;
    curl_easy_setopt(h, CURLOPT_URL, c->url);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for timeouts */
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "isle-notify/2");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    return h;
}

/* Point call->h (from easy_new) at a POST of sms; call owns what h points at until
 * call_finish(). */
static void call_prepare(http_ctx *c, http_call *call, const notify_sms *sms) {
    json_t *o =
        json_pack("{s:I, s:s, s:s, s:s, s:s}", "id", (json_int_t)sms->outbox_id, "dedupe_key",
                  sms->dedupe_key, "template", sms->template_name ? sms->template_name : "",
                  "phone", sms->phone, "text", sms->body);
    call->body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    call->hdr = curl_slist_append(NULL, "Content-Type: application/json");
    call->hdr = curl_slist_append(call->hdr, "Accept: application/json");
    if (c->secret && *c->secret) {
        char ts[32], sig[HMAC_SIGNATURE_LEN + 1], line[200];
        snprintf(ts, sizeof(ts), "%lld", (long long)time_now());
        hmac_webhook_sign(c->secret, ts, call->body, strlen(call->body), sig, sizeof(sig));
        snprintf(line, sizeof(line), "%s: %s", HMAC_HEADER_TIME, ts);
        call->hdr = curl_slist_append(call->hdr, line);
        snprintf(line, sizeof(line), "%s: %s", HMAC_HEADER_SIGNATURE, sig);
        call->hdr = curl_slist_append(call->hdr, line);
    }
    strbuf_init(&call->resp, 64 * 1024);
    CURL *h = call->h;
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, call->body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(call->body));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, call->hdr);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &call->resp);
    curl_easy_setopt(h, CURLOPT_PRIVATE, call);
}

/* The outcome of a finished call; frees what call_prepare() allocated. */
static enum notify_send_result call_finish(http_call *call, CURLcode cc, char *provider_id,
                                           size_t provider_id_n, char *why, size_t why_n) {
    long status = 0;
    curl_easy_getinfo(call->h, CURLINFO_RESPONSE_CODE, &status);
    enum notify_send_result res;
    if (cc != CURLE_OK) {
        snprintf(why, why_n, "gateway: %s", curl_easy_strerror(cc));
        res = NOTIFY_RETRY;
    } else if (status >= 200 && status < 300) {
        res = NOTIFY_SENT;
        json_t *ans = call->resp.len ? json_loadb(call->resp.data, call->resp.len, 0, NULL) : NULL;
        json_t *id = json_object_get(ans, "id");
        if (!json_is_string(id) && !json_is_integer(id)) id = json_object_get(ans, "message_id");
        if (json_is_string(id))
            snprintf(provider_id, provider_id_n, "%.*s", 128, json_string_value(id));
        else if (json_is_integer(id))
            snprintf(provider_id, provider_id_n, "%lld", (long long)json_integer_value(id));
        json_decref(ans);
    } else {
        snprintf(why, why_n, "gateway answered HTTP %ld", status);
        res = (status == 408 || status == 429 || status >= 500 || status < 200) ? NOTIFY_RETRY
                                                                                : NOTIFY_PERMANENT;
    }
    curl_slist_free_all(call->hdr);
    call->hdr = NULL;
    free(call->body);
    call->body = NULL;
    strbuf_free(&call->resp);
    return res;
}

static CURL *easy_take(http_ctx *c) {
    pthread_mutex_lock(&c->mu);
    CURL *h = c->neasy ? c->easy[--c->neasy] : NULL;
    pthread_mutex_unlock(&c->mu);
    return h ? h : easy_new(c);
}

static void easy_give(http_ctx *c, CURL *h) {
    if (!h) return;
    pthread_mutex_lock(&c->mu);
    if (c->neasy < HTTP_POOL) {
        c->easy[c->neasy++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    if (h) curl_easy_cleanup(h);
}

static enum notify_send_result http_send(notify_transport *t, const notify_sms *sms,
                                         char *provider_id, size_t provider_id_n, char *why,
                                         size_t why_n) {
    http_ctx *c = t->ctx;
    http_call call = {.h = easy_take(c)};
    if (!call.h) {
        snprintf(why, why_n, "http transport: curl_easy_init failed");
        return NOTIFY_RETRY;
    }
    call_prepare(c, &call, sms);
    CURLcode cc = curl_easy_perform(call.h);
    enum notify_send_result res = call_finish(&call, cc, provider_id, provider_id_n, why, why_n);
    /* The body and header options point at freed buffers now: the next call_prepare()
     * sets them again. The connection stays open in the handle. */
    easy_give(c, call.h);
    return res;
}

static void multi_free(http_multi *hm) {
    if (!hm) return;
    for (int i = 0; i < hm->neasy; i++)
        if (hm->easy[i]) curl_easy_cleanup(hm->easy[i]);
    if (hm->m) curl_multi_cleanup(hm->m);
    free(hm->easy);
    free(hm);
}

static http_multi *multi_take(http_ctx *c) {
    pthread_mutex_lock(&c->mu);
    http_multi *hm = c->nmulti ? c->multi[--c->nmulti] : NULL;
    pthread_mutex_unlock(&c->mu);
    if (hm) return hm;
    hm = xcalloc(1, sizeof(*hm));
    hm->easy = xcalloc((size_t)c->concurrency, sizeof(*hm->easy));
    hm->m = curl_multi_init();
    if (hm->m) {
        curl_multi_setopt(hm->m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)c->concurrency);
        curl_multi_setopt(hm->m, CURLMOPT_MAXCONNECTS, (long)c->concurrency);
    }
    for (hm->neasy = 0; hm->neasy < c->concurrency; hm->neasy++)
        hm->easy[hm->neasy] = easy_new(c);
    return hm;
}

static void multi_give(http_ctx *c, http_multi *hm) {
    pthread_mutex_lock(&c->mu);
    if (c->nmulti < HTTP_POOL) {
        c->multi[c->nmulti++] = hm;
        hm = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    multi_free(hm);
}

/* Up to concurrency requests in flight; each finished one makes room for the next. */
static void http_send_batch(notify_transport *t, const notify_sms *sms, size_t n,
                            notify_outcome *out) {
    http_ctx *c = t->ctx;
    http_multi *hm = multi_take(c);
    CURLM *m = hm->m;
    size_t slots = (size_t)c->concurrency < n ? (size_t)c->concurrency : n;
    http_call *calls = xcalloc(slots ? slots : 1, sizeof(*calls));
    size_t next = 0, running = 0;
    for (size_t i = 0; i < n; i++)
        out[i].result = NOTIFY_RETRY;
    for (size_t s = 0; m && s < slots; s++) {
        calls[s].h = hm->easy[s];
        if (!calls[s].h) continue;
        calls[s].index = next;
        call_prepare(c, &calls[s], &sms[next]);
        curl_multi_add_handle(m, calls[s].h);
        next++;
        running++;
    }
    while (running > 0) {
        int still = 0;
        curl_multi_perform(m, &still);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE) continue;
            http_call *call = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&call);
            CURLcode cc = msg->data.result;
            curl_multi_remove_handle(m, call->h);
            notify_outcome *o = &out[call->index];
            o->result = call_finish(call, cc, o->provider_id, sizeof(o->provider_id), o->why,
                                    sizeof(o->why));
            running--;
            if (next < n) {
                call->index = next;
                call_prepare(c, call, &sms[next]);
                curl_multi_add_handle(m, call->h);
                next++;
                running++;
            }
        }
        if (running > 0) curl_multi_poll(m, NULL, 0, still ? 1000 : 0, NULL);
    }
    /* Without handles (curl out of memory) the rest wait for a later attempt. */
    for (size_t i = next; i < n; i++)
        snprintf(out[i].why, sizeof(out[i].why), "http transport: no curl handle");
    free(calls);
    if (m)
        multi_give(c, hm);
    else
        multi_free(hm);
}

static void http_destroy(notify_transport *t) {
    http_ctx *c = t->ctx;
    for (int i = 0; i < c->neasy; i++)
        curl_easy_cleanup(c->easy[i]);
    for (int i = 0; i < c->nmulti; i++)
        multi_free(c->multi[i]);
    pthread_mutex_destroy(&c->mu);
    free(c->url);
    free(c->secret);
    free(c);
    free(t);
}

notify_transport *notify_transport_http_new(const char *url, const char *secret, int timeout_ms,
                                            int concurrency, err *e) {
    if (!url || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) ||
        strlen(url) > 2000) {
        err_invalid(e, "ISLE_SMS_URL", "短信网关地址须为 http:// 或 https:// 开头的 URL");
        return NULL;
    }
    if (timeout_ms < 100 || timeout_ms > 60000) {
        err_invalid(e, "ISLE_SMS_TIMEOUT_MS", "短信网关超时须为 100–60000 毫秒");
        return NULL;
    }
    if (concurrency < 1 || concurrency > 256) {
        err_invalid(e, "ISLE_SMS_CONCURRENCY", "短信网关并发数须为 1–256");
        return NULL;
    }
    pthread_once(&curl_once, curl_init_once);
    http_ctx *c = xcalloc(1, sizeof(*c));
    c->url = xstrdup(url);
    c->secret = secret ? xstrdup(secret) : NULL;
    c->timeout_ms = timeout_ms;
    c->concurrency = concurrency;
    pthread_mutex_init(&c->mu, NULL);
    notify_transport *t = xcalloc(1, sizeof(*t));
    t->name = "http";
    t->send = http_send;
    t->send_batch = http_send_batch;
    t->destroy = http_destroy;
    t->ctx = c;
    t->timeout_ms = timeout_ms;
    t->concurrency = concurrency;
    return t;
}

/* ---- from the environment ---- */

/* A whole-number setting; def when unset, -1 (refused by the caller) when malformed. */
static long env_number(const char *name, long def) {
    const char *v = getenv(name);
    if (!v || !*v) return def;
    char *end;
    long x = strtol(v, &end, 10);
    return *end || x < 0 || x > 1000000 ? -1 : x;
}

notify_transport *notify_transport_from_env(const char *dsn, err *e) {
    const char *kind = getenv("ISLE_SMS_TRANSPORT");
    const char *url = getenv("ISLE_SMS_URL");
    if (!kind || !*kind) kind = url && *url ? "http" : "log";
    if (strcmp(kind, "http") == 0) {
        long timeout = env_number("ISLE_SMS_TIMEOUT_MS", 5000);
        long concurrency = env_number("ISLE_SMS_CONCURRENCY", 32);
        return notify_transport_http_new(url, getenv("ISLE_SMS_SECRET"), (int)timeout,
                                         (int)concurrency, e);
    }
    if (strcmp(kind, "log") != 0) {
        err_invalid(e, "ISLE_SMS_TRANSPORT", "短信通道须为 log 或 http");
        return NULL;
    }
    const char *path = getenv("ISLE_SMS_LOG");
    char buf[1100];
    if (!path || !*path) {
        const char *file = dsn ? db_dsn_path(dsn) : NULL;
        if (file && strcmp(file, ":memory:") != 0) {
            snprintf(buf, sizeof(buf), "%s-sms.log", file);
            path = buf;
        } else {
            path = "isle-sms.log";
        }
    }
    return notify_transport_log_new(path, e);
}

void notify_transport_free(notify_transport *t) {
    if (t && t->destroy) t->destroy(t);
}
