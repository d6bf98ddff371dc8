/* api_ocds: the tenders as OCDS 1.1.5 release packages (with the bids extension).
 *
 *   GET /api/v1/ocds/releases?since=DATE&limit=N&offset=N&prefix=P&tender=ID   (public)
 *
 * One page of at most `limit` releases (default 100, at most 1000), oldest tender
 * first; a Link header rel="next" points at the next page when there is one. The
 * secrecy rules of src/trade/ocds.c apply: nothing about bids before the opening. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "trade/ocds.h"

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

#define OCDS_API_MAX_BYTES (64u << 20) /* a page of 1000 large releases stays far below */

static int to_buf(void *arg, const char *s, size_t n, err *e) {
    buf *b = arg;
    if (b->len + n + 1 > OCDS_API_MAX_BYTES)
        return err_set(e, 413, "too_large", "limit", "结果过大，请减小 limit");
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) return err_internal(e, "内存不足");
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static void releases_get(http_req *r) {
    int64_t limit, offset, tender;
    if (http_query_int(r, "limit", 100, 1, 1000, &limit) != 0) return;
    if (http_query_int(r, "offset", 0, 0, 100000000, &offset) != 0) return;
    if (http_query_int(r, "tender", 0, 0, INT64_MAX, &tender) != 0) return;
    const char *prefix = http_query(r, "prefix"), *since = http_query(r, "since");
    if (prefix && !ocds_prefix_valid(prefix)) {
        http_reply_error(r, 400, "invalid_argument", "prefix",
                         "ocid 前缀须为 1–64 位字母、数字或连字符");
        return;
    }
    ocds_opts o = {
        .prefix = prefix, .since = since, .tender_id = tender, .limit = limit, .offset = offset};
    buf b = {0};
    err e = {0};
    int64_t n = 0;
    int more = 0;
    if (ocds_write_package(r->db, &o, to_buf, &b, &n, &more, &e) != 0) {
        free(b.p);
        http_reply_err(r, &e);
        return;
    }
    if (more) {
        char link[600];
        snprintf(link, sizeof(link),
                 "</api/v1/ocds/releases?limit=%lld&offset=%lld%s%s%s%s>; rel=\"next\"",
                 (long long)limit, (long long)(offset + limit), since ? "&since=" : "",
                 since ? since : "", prefix ? "&prefix=" : "", prefix ? prefix : "");
        http_set_header(r, "Link", link);
    }
    http_set_header(r, "Cache-Control", "no-store");
    http_reply_bytes(r, 200, "application/json", b.p, b.len);
    free(b.p);
}

const http_route api_ocds_routes[] = {
    {M_GET, "/api/v1/ocds/releases", releases_get, 0, ROUTE_PUBLIC, 0, NULL},
};
const size_t api_ocds_route_count = sizeof(api_ocds_routes) / sizeof(api_ocds_routes[0]);
