/* transport: how an SMS leaves isle — "log" (a file, for development, tests
 * and `make run`) or "http" (a JSON POST to the SMS gateway via libcurl).
 *
 * A transport is shared by the sender's calls and may be used from several
 * threads: the log transport serialises its writes with O_APPEND (one write per
 * line), the HTTP transport makes one curl easy handle per call. Neither ever
 * logs a phone number: the log file holds it masked, and errors name the
 * outbox id, never the recipient. */
#include "notify/notify.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "base/xmalloc.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
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

typedef struct http_ctx {
    char *url;
    char *secret;
    int timeout_ms;
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

static enum notify_send_result http_send(notify_transport *t, const notify_sms *sms,
                                         char *provider_id, size_t provider_id_n, char *why,
                                         size_t why_n) {
    http_ctx *c = t->ctx;
    json_t *o =
        json_pack("{s:I, s:s, s:s, s:s, s:s}", "id", (json_int_t)sms->outbox_id, "dedupe_key",
                  sms->dedupe_key, "template", sms->template_name ? sms->template_name : "",
                  "phone", sms->phone, "text", sms->body);
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    CURL *h = curl_easy_init();
    if (!h) {
        free(body);
        snprintf(why, why_n, "http transport: curl_easy_init failed");
        return NOTIFY_RETRY;
    }
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    hdr = curl_slist_append(hdr, "Accept: application/json");
    char line[200];
    if (c->secret && *c->secret) {
        char ts[32];
        snprintf(ts, sizeof(ts), "%lld", (long long)time_now());
        crypto_auth_hmacsha256_state st;
        unsigned char mac[crypto_auth_hmacsha256_BYTES];
        crypto_auth_hmacsha256_init(&st, (const unsigned char *)c->secret, strlen(c->secret));
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, strlen(ts));
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
        crypto_auth_hmacsha256_final(&st, mac);
        char hex[2 * sizeof(mac) + 1];
        sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
        snprintf(line, sizeof(line), "X-Isle-Timestamp: %s", ts);
        hdr = curl_slist_append(hdr, line);
        snprintf(line, sizeof(line), "X-Isle-Signature: sha256=%s", hex);
        hdr = curl_slist_append(hdr, line);
    }
    strbuf resp;
    strbuf_init(&resp, 64 * 1024);
    curl_easy_setopt(h, CURLOPT_URL, c->url);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for timeouts */
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "isle-notify/1");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdr);
    free(body);
    enum notify_send_result res;
    if (cc != CURLE_OK) {
        snprintf(why, why_n, "gateway: %s", curl_easy_strerror(cc));
        res = NOTIFY_RETRY;
    } else if (status >= 200 && status < 300) {
        res = NOTIFY_SENT;
        json_t *ans = resp.len ? json_loadb(resp.data, resp.len, 0, NULL) : NULL;
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
    strbuf_free(&resp);
    return res;
}

static void http_destroy(notify_transport *t) {
    http_ctx *c = t->ctx;
    free(c->url);
    free(c->secret);
    free(c);
    free(t);
}

notify_transport *notify_transport_http_new(const char *url, const char *secret, int timeout_ms,
                                            err *e) {
    if (!url || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) ||
        strlen(url) > 2000) {
        err_invalid(e, "ISLE_SMS_URL", "短信网关地址须为 http:// 或 https:// 开头的 URL");
        return NULL;
    }
    if (timeout_ms < 100 || timeout_ms > 60000) {
        err_invalid(e, "ISLE_SMS_TIMEOUT_MS", "短信网关超时须为 100–60000 毫秒");
        return NULL;
    }
    pthread_once(&curl_once, curl_init_once);
    http_ctx *c = xcalloc(1, sizeof(*c));
    c->url = xstrdup(url);
    c->secret = secret ? xstrdup(secret) : NULL;
    c->timeout_ms = timeout_ms;
    notify_transport *t = xcalloc(1, sizeof(*t));
    t->name = "http";
    t->send = http_send;
    t->destroy = http_destroy;
    t->ctx = c;
    return t;
}

/* ---- from the environment ---- */

notify_transport *notify_transport_from_env(const char *dsn, err *e) {
    const char *kind = getenv("ISLE_SMS_TRANSPORT");
    const char *url = getenv("ISLE_SMS_URL");
    if (!kind || !*kind) kind = url && *url ? "http" : "log";
    if (strcmp(kind, "http") == 0) {
        const char *to = getenv("ISLE_SMS_TIMEOUT_MS");
        long timeout = 5000;
        if (to && *to) {
            char *end;
            timeout = strtol(to, &end, 10);
            if (*end) timeout = -1;
        }
        return notify_transport_http_new(url, getenv("ISLE_SMS_SECRET"), (int)timeout, e);
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
