/* provider: the HTTP face-verification provider (see idverify.h).
 *
 * One signed JSON POST per verification, one curl easy handle per call (the
 * calls are rare: a few a minute at most), a hard timeout. The request body
 * holds the resident's name and ID number: it is built, signed, sent and
 * freed here, and never logged; errors say what went wrong with the provider,
 * never what was sent to it. */
#include "idverify/idverify.h"
#include "base/hmac.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "base/xmalloc.h"

#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    strbuf_append(b, data, len); /* past the cap the rest is dropped */
    return len;
}

static int printable(const char *s, size_t max) {
    size_t n = strlen(s);
    if (n < 1 || n > max) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f) return 0;
    return 1;
}

static int http_start(idverify_provider *p, const idverify_request *req, idverify_session *out,
                      err *e) {
    http_ctx *c = p->ctx;
    memset(out, 0, sizeof(*out));
    json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s}", "request_id",
                          (json_int_t)req->verification_id, "name", req->name, "id_number",
                          req->id_number, "token", req->token, "expires_at", req->expires_at);
    if (req->callback_url) json_object_set_new(o, "callback_url", json_string(req->callback_url));
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    char ts[32], sig[HMAC_SIGNATURE_LEN + 1], line[200];
    snprintf(ts, sizeof(ts), "%lld", (long long)time_now());
    hmac_webhook_sign(c->secret, ts, body, strlen(body), sig, sizeof(sig));
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    hdr = curl_slist_append(hdr, "Accept: application/json");
    snprintf(line, sizeof(line), "%s: %s", HMAC_HEADER_TIME, ts);
    hdr = curl_slist_append(hdr, line);
    snprintf(line, sizeof(line), "%s: %s", HMAC_HEADER_SIGNATURE, sig);
    hdr = curl_slist_append(hdr, line);
    strbuf resp;
    strbuf_init(&resp, 64 * 1024);
    CURL *h = curl_easy_init();
    CURLcode cc = CURLE_FAILED_INIT;
    long status = 0;
    if (h) {
        curl_easy_setopt(h, CURLOPT_URL, c->url);
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->timeout_ms);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_USERAGENT, "isle-idverify/1");
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
        cc = curl_easy_perform(h);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(h);
    }
    curl_slist_free_all(hdr);
    sodium_memzero(body, strlen(body)); /* the ID number in clear */
    free(body);
    int rc = 0;
    if (cc == CURLE_OPERATION_TIMEDOUT) {
        rc = err_set(e, 504, "provider_timeout", "", "人脸核验服务在 %d 毫秒内没有应答",
                     c->timeout_ms);
    } else if (cc != CURLE_OK) {
        rc =
            err_set(e, 502, "provider_error", "", "人脸核验服务不可用：%s", curl_easy_strerror(cc));
    } else if (status < 200 || status >= 300) {
        rc = err_set(e, 502, "provider_error", "", "人脸核验服务拒绝了请求（HTTP %ld）", status);
    } else {
        json_t *ans = resp.len ? json_loadb(resp.data, resp.len, 0, NULL) : NULL;
        const char *sid = json_string_value(json_object_get(ans, "session_id"));
        json_t *url = json_object_get(ans, "url");
        const char *u = json_string_value(url);
        if (!sid || !printable(sid, IDVERIFY_REF_MAX))
            rc = err_set(e, 502, "provider_error", "", "人脸核验服务的应答缺少有效的 session_id");
        else if (url && !json_is_null(url) &&
                 (!u || !printable(u, IDVERIFY_URL_MAX) ||
                  (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0)))
            rc = err_set(e, 502, "provider_error", "", "人脸核验服务的应答中 url 无效");
        if (rc == 0) {
            snprintf(out->session_id, sizeof(out->session_id), "%s", sid);
            snprintf(out->url, sizeof(out->url), "%s", u ? u : "");
        }
        json_decref(ans);
    }
    strbuf_free(&resp);
    return rc;
}

static void http_destroy(idverify_provider *p) {
    http_ctx *c = p->ctx;
    free(c->url);
    if (c->secret) sodium_memzero(c->secret, strlen(c->secret));
    free(c->secret);
    free(c);
    free(p);
}

idverify_provider *idverify_provider_http_new(const char *url, const char *secret, int timeout_ms,
                                              err *e) {
    if (!url || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) ||
        strlen(url) > 2000) {
        err_invalid(e, "ISLE_IDV_URL", "人脸核验服务地址须为 http:// 或 https:// 开头的 URL");
        return NULL;
    }
    if (!secret || !*secret) {
        err_invalid(e, "ISLE_IDV_SECRET", "人脸核验服务须配置签名密钥");
        return NULL;
    }
    if (timeout_ms < 100 || timeout_ms > 30000) {
        err_invalid(e, "ISLE_IDV_TIMEOUT_MS", "人脸核验服务超时须为 100–30000 毫秒");
        return NULL;
    }
    pthread_once(&curl_once, curl_init_once);
    http_ctx *c = xcalloc(1, sizeof(*c));
    c->url = xstrdup(url);
    c->secret = xstrdup(secret);
    c->timeout_ms = timeout_ms;
    idverify_provider *p = xcalloc(1, sizeof(*p));
    p->name = "http";
    p->start = http_start;
    p->destroy = http_destroy;
    p->ctx = c;
    return p;
}

idverify_provider *idverify_provider_from_env(err *e) {
    const char *url = getenv("ISLE_IDV_URL");
    const char *secret = getenv("ISLE_IDV_SECRET");
    if (!url || !*url || !secret || !*secret) {
        err_set(e, 503, "unavailable", "",
                "未配置人脸核验服务（ISLE_IDV_URL、ISLE_IDV_SECRET），"
                "请改用工作人员见证核验");
        return NULL;
    }
    long timeout = 5000;
    const char *t = getenv("ISLE_IDV_TIMEOUT_MS");
    if (t && *t) {
        char *end;
        timeout = strtol(t, &end, 10);
        if (*end) timeout = -1;
    }
    return idverify_provider_http_new(url, secret, (int)timeout, e);
}

void idverify_provider_free(idverify_provider *p) {
    if (p && p->destroy) p->destroy(p);
}
