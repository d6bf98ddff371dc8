/* api_search: the catalog search API (智能搜索), its autocomplete, the staff's
 * synonyms and the zero-result report. Handlers check the parameters, call
 * src/search/ and encode the answer; no SQL here.
 *
 *   GET    /api/v1/search?q=&limit=&offset=&department=&type=&scope=&commitment=
 *                        &instant=&handle_at=&town=         public
 *   GET    /api/v1/suggest?q=                                public
 *   GET    /api/v1/search/synonyms                           staff, approver, admin
 *   POST   /api/v1/search/synonyms {"term","canonical"}      staff, approver, admin (audited)
 *   DELETE /api/v1/search/synonyms/{id}                      staff, approver, admin (audited)
 *   GET    /api/v1/search/zero-results?limit=&offset=        staff, approver, admin, supervisor */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/timeutil.h"
#include "search/search.h"

#define SYNONYM_ROLES (ROLE_STAFF | ROLE_APPROVER | ROLE_ADMIN)
#define REPORT_ROLES  (ROLE_STAFF | ROLE_APPROVER | ROLE_ADMIN | ROLE_SUPERVISOR)

static search_engine *engine(http_req *r) {
    search_engine *s = search_global();
    if (!s) http_reply_error(r, 503, "unavailable", "", "搜索服务尚未就绪");
    return s;
}

/* The q parameter: present, ≤ SEARCH_QUERY_MAX_BYTES. -1 after replying 400. */
static int query_param(http_req *r, int required, const char **out) {
    const char *q = http_query(r, "q");
    if (!q) q = "";
    if (strlen(q) > SEARCH_QUERY_MAX_BYTES) {
        http_reply_error(r, 400, "invalid_argument", "q", "搜索内容过长（最多 %d 字节）",
                         SEARCH_QUERY_MAX_BYTES);
        return -1;
    }
    if (required && !*q) {
        http_reply_error(r, 400, "invalid_argument", "q", "请输入搜索内容");
        return -1;
    }
    *out = q;
    return 0;
}

/* An optional boolean parameter: -1 after replying 400, else 0 with *out = 0/1. */
static int bool_param(http_req *r, const char *name, int *out) {
    const char *v = http_query(r, name);
    *out = 0;
    if (!v || !*v) return 0;
    if (!strcmp(v, "true") || !strcmp(v, "1")) {
        *out = 1;
        return 0;
    }
    if (!strcmp(v, "false") || !strcmp(v, "0")) return 0;
    http_reply_error(r, 400, "invalid_argument", name, "%s 须为 true 或 false", name);
    return -1;
}

/* scope=跨省通办,全省通办 → SEARCH_SCOPE_* bits. */
static int scope_param(http_req *r, unsigned *out) {
    static const char *const names[] = {"跨省通办", "全省通办", "甬舟通办"};
    const char *v = http_query(r, "scope");
    *out = 0;
    if (!v || !*v) return 0;
    const char *p = v;
    while (*p) {
        size_t n = strcspn(p, ",");
        int found = 0;
        for (unsigned k = 0; k < 3; k++)
            if (n == strlen(names[k]) && !strncmp(p, names[k], n)) {
                *out |= 1u << k;
                found = 1;
            }
        if (!found) {
            http_reply_error(r, 400, "invalid_argument", "scope",
                             "scope 须为 跨省通办、全省通办 或 甬舟通办（可用逗号分隔多个）");
            return -1;
        }
        p += n;
        if (*p == ',') p++;
    }
    return 0;
}

static int handle_at_param(http_req *r, int *out) {
    const char *v = http_query(r, "handle_at");
    *out = 0;
    if (!v || !*v) return 0;
    for (int k = 0; k < 6; k++)
        if (!strcmp(v, search_handle_places[k])) {
            *out = k + 1;
            return 0;
        }
    http_reply_error(r, 400, "invalid_argument", "handle_at", "handle_at 须为办理地点之一（如 %s）",
                     search_handle_places[2]);
    return -1;
}

static int town_param(http_req *r, const char **out) {
    const char *v = http_query(r, "town");
    *out = NULL;
    if (!v || !*v) return 0;
    size_t n = strlen(v);
    int ok = n == 9;
    for (size_t i = 0; ok && i < n; i++)
        ok = v[i] >= '0' && v[i] <= '9';
    if (!ok) {
        http_reply_error(r, 400, "invalid_argument", "town", "乡镇代码须为 9 位数字");
        return -1;
    }
    *out = v;
    return 0;
}

static int text_param(http_req *r, const char *name, const char **out) {
    const char *v = http_query(r, name);
    *out = v && *v ? v : NULL;
    if (*out && strlen(*out) > 256) {
        http_reply_error(r, 400, "invalid_argument", name, "%s 过长", name);
        return -1;
    }
    return 0;
}

/* Send an encoded answer (a JSON object) with its took_ms and whether it came
 * from the cache appended. */
static void reply_encoded(http_req *r, const char *body, size_t len, uint64_t t0, int cached) {
    if (len < 2 || body[len - 1] != '}') {
        http_reply_error(r, 500, "internal", "", "cannot encode the response");
        return;
    }
    char tail[96];
    double took = (double)(time_mono_ns() - t0) / 1e6;
    int tn = snprintf(tail, sizeof(tail), ",\"took_ms\":%.3f,\"cached\":%s}", took,
                      cached ? "true" : "false");
    char *out = malloc(len - 1 + (size_t)tn);
    if (!out) {
        http_reply_error(r, 500, "internal", "", "内存不足");
        return;
    }
    memcpy(out, body, len - 1);
    memcpy(out + len - 1, tail, (size_t)tn);
    http_reply_bytes(r, 200, "application/json; charset=utf-8", out, len - 1 + (size_t)tn);
    free(out);
}

static void search_get(http_req *r) {
    uint64_t t0 = time_mono_ns();
    search_engine *s = engine(r);
    if (!s) return;
    search_request rq = {.facets = 1, .highlight = 1};
    int64_t limit, offset;
    if (query_param(r, 1, &rq.q) != 0) return;
    if (http_query_int(r, "limit", SEARCH_DEFAULT_LIMIT, 1, SEARCH_MAX_LIMIT, &limit) != 0) return;
    if (http_query_int(r, "offset", 0, 0, SEARCH_MAX_OFFSET, &offset) != 0) return;
    rq.limit = (int)limit;
    rq.offset = (int)offset;
    if (text_param(r, "department", &rq.department) != 0 || text_param(r, "type", &rq.type) != 0 ||
        scope_param(r, &rq.scope) != 0 || bool_param(r, "commitment", &rq.commitment) != 0 ||
        bool_param(r, "instant", &rq.instant) != 0 || handle_at_param(r, &rq.handle_at) != 0 ||
        town_param(r, &rq.town) != 0)
        return;
    /* Every parameter that shapes the answer, length-prefixed so that no two
     * requests share a key. */
    char key[SEARCH_QUERY_MAX_BYTES + 1024];
    const char *dep = rq.department ? rq.department : "", *typ = rq.type ? rq.type : "",
               *town = rq.town ? rq.town : "";
    int klen = snprintf(key, sizeof(key), "%d|%d|%u|%d|%d|%d|%s|%zu:%s|%zu:%s|%zu:%s", rq.limit,
                        rq.offset, rq.scope, rq.commitment, rq.instant, rq.handle_at, town,
                        strlen(dep), dep, strlen(typ), typ, strlen(rq.q), rq.q);
    int cacheable = klen > 0 && (size_t)klen < sizeof(key);
    uint64_t gen = search_engine_generation(s);
    search_cached hit;
    if (cacheable && search_cache_get(gen, key, (size_t)klen, &hit)) {
        search_log_query(r->db, hit.normalized, hit.total);
        reply_encoded(r, hit.body, hit.len, t0, 1);
        free(hit.body);
        return;
    }
    search_result *res = search_result_new();
    err e = {0};
    if (search_run(s, &rq, res, &e) != 0) {
        free(res);
        http_reply_err(r, &e);
        return;
    }
    search_log_query(r->db, res->normalized, res->total);
    json_t *body = search_result_json(res, rq.q, 0);
    json_object_del(body, "took_ms");
    char *txt = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
    json_decref(body);
    if (!txt) {
        free(res);
        http_reply_error(r, 500, "internal", "", "cannot encode the response");
        return;
    }
    size_t n = strlen(txt);
    if (cacheable) search_cache_put(gen, key, (size_t)klen, txt, n, res->normalized, res->total);
    free(res);
    reply_encoded(r, txt, n, t0, 0);
    free(txt);
}

static void suggest_get(http_req *r) {
    search_engine *s = engine(r);
    if (!s) return;
    const char *q;
    if (query_param(r, 0, &q) != 0) return;
    search_hit *hits = calloc(SEARCH_SUGGEST_MAX, sizeof(*hits));
    if (!hits) {
        http_reply_error(r, 500, "internal", "", "内存不足");
        return;
    }
    err e = {0};
    int n = *q ? search_suggest(s, q, SEARCH_SUGGEST_MAX, hits, &e) : 0;
    if (n < 0) {
        free(hits);
        http_reply_err(r, &e);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "code", json_string(hits[i].code));
        json_object_set_new(o, "name", json_string(hits[i].name));
        json_array_append_new(items, o);
    }
    free(hits);
    json_t *body = json_object();
    json_object_set_new(body, "items", items);
    http_reply_json(r, 200, body);
}

static void synonyms_get(http_req *r) {
    err e = {0};
    json_t *body = search_synonyms_list(r->db, &e);
    if (!body) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, body);
}

static void synonyms_post(http_req *r) {
    static const char *const allowed[] = {"term", "canonical", NULL};
    json_t *body = http_json_body(r, allowed);
    if (!body) return;
    const char *term = json_string_value(json_object_get(body, "term"));
    const char *canonical = json_string_value(json_object_get(body, "canonical"));
    err e = {0};
    int64_t id = 0;
    audit_actor actor = api_actor(r);
    if (!term) {
        err_invalid(&e, "term", "缺少俗称 term");
    } else if (!canonical) {
        err_invalid(&e, "canonical", "缺少规范名称 canonical");
    } else if (search_synonym_add(r->db, &actor, term, canonical, &id, &e) == 0) {
        json_t *out = json_object();
        json_object_set_new(out, "id", json_integer(id));
        json_object_set_new(out, "term", json_string(term));
        json_object_set_new(out, "canonical", json_string(canonical));
        json_object_set_new(out, "source", json_string("db"));
        json_decref(body);
        http_reply_json(r, 201, out);
        return;
    }
    json_decref(body);
    http_reply_err(r, &e);
}

static void synonyms_delete(http_req *r) {
    const char *s = http_param(r, "id");
    char *end;
    long long id = s ? strtoll(s, &end, 10) : 0;
    if (!s || *end || id <= 0) {
        http_reply_error(r, 400, "invalid_argument", "id", "同义词编号无效");
        return;
    }
    err e = {0};
    audit_actor actor = api_actor(r);
    if (search_synonym_delete(r->db, &actor, id, &e) != 0) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_status(r, 204);
}

static void zero_results_get(http_req *r) {
    int64_t limit, offset;
    if (http_query_int(r, "limit", 50, 1, 200, &limit) != 0) return;
    if (http_query_int(r, "offset", 0, 0, 1000000, &offset) != 0) return;
    err e = {0};
    json_t *body = search_zero_results(r->db, (int)limit, (int)offset, &e);
    if (!body) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, body);
}

const http_route api_search_routes[] = {
    {M_GET, "/api/v1/search", search_get, 0, ROUTE_PUBLIC, 0, NULL},
    {M_GET, "/api/v1/suggest", suggest_get, 0, ROUTE_PUBLIC, 0, NULL},
    {M_GET, "/api/v1/search/synonyms", synonyms_get, SYNONYM_ROLES, 0, 0, NULL},
    {M_POST, "/api/v1/search/synonyms", synonyms_post, SYNONYM_ROLES, 0, 0, NULL},
    {M_DELETE, "/api/v1/search/synonyms/{id}", synonyms_delete, SYNONYM_ROLES, 0, 0, NULL},
    {M_GET, "/api/v1/search/zero-results", zero_results_get, REPORT_ROLES, 0, 0, NULL},
};
const size_t api_search_route_count = sizeof(api_search_routes) / sizeof(api_search_routes[0]);
