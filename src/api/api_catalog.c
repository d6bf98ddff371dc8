/* api_catalog: the service catalog over HTTP — items, bundles (一件事),
 * departments and e-licence types for everyone, staff edits with version
 * history, and the catalog as Open311 GeoReport v2 services.
 *
 * Handlers check parameters, call src/catalog and encode; no SQL here. The
 * Open311 routes answer errors in Open311's own shape, [{"code","description"}],
 * because GeoReport clients parse that rather than isle's error object. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/log.h"
#include "base/xmalloc.h"
#include "catalog/catalog.h"
#include "search/search.h"

#define MAX_DEPARTMENT_PARAM 128
#define OPEN311_DESCRIPTION  240 /* bytes of the conditions text in a service list entry */

/* Reply with the domain's object, or with its error. Steals body. */
static void reply(http_req *r, json_t *body, const err *e) {
    if (!body) {
        http_reply_err(r, e);
        return;
    }
    http_reply_json(r, 200, body);
}

/* Tell the search index that an item changed. The edit is committed by then, so a
 * failure here is logged rather than turned into an error for the editor. */
static void reindex_after_edit(http_req *r, const char *code) {
    if (search_item_changed(r->db, code) != 0)
        log_warn("%s: search index not updated for item %s", r->request_id, code);
}

static void items_list(http_req *r) {
    catalog_filter f = {0};
    f.department = http_query(r, "department");
    if (f.department && !*f.department) f.department = NULL;
    if (f.department && strlen(f.department) > MAX_DEPARTMENT_PARAM) {
        http_reply_error(r, 400, "invalid_argument", "department", "部门名称不能超过 %d 字节",
                         MAX_DEPARTMENT_PARAM);
        return;
    }
    f.type = http_query(r, "type");
    if (f.type && !*f.type) f.type = NULL;
    if (f.type && !catalog_type_valid(f.type)) {
        http_reply_error(r, 400, "invalid_argument", "type",
                         "事项类型须为 行政许可、行政确认、行政给付、行政裁决、行政奖励、"
                         "其他行政权力 或 公共服务");
        return;
    }
    f.area = http_query(r, "area");
    if (f.area && !*f.area) f.area = NULL;
    if (f.area && !catalog_area_valid(f.area)) {
        http_reply_error(r, 400, "invalid_argument", "area",
                         "区划代码须为 330900、330902、330903、330921 或 330922");
        return;
    }
    if (http_query_int(r, "limit", CATALOG_DEFAULT_LIMIT, 1, CATALOG_MAX_LIMIT, &f.limit) != 0)
        return;
    if (http_query_int(r, "offset", 0, 0, CATALOG_MAX_ITEMS, &f.offset) != 0) return;
    err e = {0};
    reply(r, catalog_item_list(r->db, &f, &e), &e);
}

static void item_get(http_req *r) {
    err e = {0};
    reply(r, catalog_item_get(r->db, http_param(r, "code"), &e), &e);
}

static void item_put(http_req *r) {
    const char *code = http_param(r, "code");
    json_t *body = http_json_body(r, NULL);
    if (!body) return;
    /* A fetched item may be sent back as it came: drop what GET added, and use its
     * "version" as the precondition (409 when someone else saved in between). */
    int64_t expected = 0;
    catalog_item_strip_readonly(body, &expected);
    audit_actor a = api_actor(r);
    err e = {0};
    int rc = catalog_item_update(r->db, &a, code, body, expected, &e);
    json_decref(body);
    if (rc != 0) {
        http_reply_err(r, &e);
        return;
    }
    reindex_after_edit(r, code);
    reply(r, catalog_item_get(r->db, code, &e), &e);
}

static void item_versions(http_req *r) {
    err e = {0};
    reply(r, catalog_item_versions(r->db, http_param(r, "code"), &e), &e);
}

static void bundles_list(http_req *r) {
    err e = {0};
    reply(r, catalog_bundles(r->db, &e), &e);
}

static void bundle_get(http_req *r) {
    err e = {0};
    reply(r, catalog_bundle_get(r->db, http_param(r, "code"), &e), &e);
}

static void departments_list(http_req *r) {
    err e = {0};
    reply(r, catalog_departments(r->db, &e), &e);
}

static void licences_list(http_req *r) {
    err e = {0};
    reply(r, catalog_licences(r->db, &e), &e);
}

/* ---- Open311 GeoReport v2 ---- */

static void open311_error(http_req *r, int status, const char *description) {
    http_reply_json(r, status,
                    json_pack("[{s:i, s:s}]", "code", status, "description", description));
}

/* The first max bytes of s, cut on a character boundary, with "…" when cut. */
static json_t *clipped(const char *s, size_t max) {
    size_t n = strlen(s);
    if (max > OPEN311_DESCRIPTION) max = OPEN311_DESCRIPTION;
    if (n <= max) return json_string(s);
    while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
        max--;
    char buf[OPEN311_DESCRIPTION + 8];
    memcpy(buf, s, max);
    memcpy(buf + max, "…", sizeof("…"));
    return json_string(buf);
}

/* "a,b,c" from a JSON array of strings. */
static json_t *comma_list(json_t *arr) {
    size_t i, len = 0;
    json_t *v;
    json_array_foreach(arr, i, v) len += json_string_length(v) + 1;
    json_t *out;
    char *s = xmalloc(len + 1);
    size_t o = 0;
    json_array_foreach(arr, i, v) {
        if (!json_is_string(v)) continue;
        if (o) s[o++] = ',';
        memcpy(s + o, json_string_value(v), json_string_length(v));
        o += json_string_length(v);
    }
    s[o] = '\0';
    out = json_string(s);
    free(s);
    return out ? out : json_string("");
}

/* The attributes of a service definition: the 受理条件 as an informational attribute,
 * then one attribute per material (what the applicant supplies). */
static json_t *attributes(json_t *item) {
    json_t *out = json_array();
    int order = 1;
    const char *conditions = json_string_value(json_object_get(item, "conditions"));
    if (conditions && *conditions)
        json_array_append_new(out, json_pack("{s:b, s:s, s:s, s:b, s:n, s:i, s:s}", "variable", 0,
                                             "code", "conditions", "datatype", "text", "required",
                                             0, "datatype_description", "order", order++,
                                             "description", conditions));
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(item, "materials"), i, m) {
        const char *licence = json_string_value(json_object_get(m, "licence"));
        char code[32], how[400];
        snprintf(code, sizeof(code), "material_%zu", i + 1);
        int n = snprintf(how, sizeof(how), "%s，%lld 份；来源：%s",
                         json_string_value(json_object_get(m, "form")),
                         (long long)json_integer_value(json_object_get(m, "copies")),
                         json_string_value(json_object_get(m, "source")));
        if (licence && n > 0 && (size_t)n < sizeof(how))
            snprintf(how + n, sizeof(how) - (size_t)n, "；可由电子证照“%s”免提交", licence);
        json_t *desc = json_pack("{s:b, s:s, s:s, s:b, s:s, s:i, s:s}", "variable", 1, "code", code,
                                 "datatype", "string", "required",
                                 json_is_true(json_object_get(m, "required")),
                                 "datatype_description", how, "order", order++, "description",
                                 json_string_value(json_object_get(m, "name")));
        if (desc) json_array_append_new(out, desc);
    }
    return out;
}

static int add_service(void *ctx, json_t *item) {
    json_t *list = ctx;
    json_t *attrs = attributes(item);
    int has_metadata = json_array_size(attrs) > 0;
    json_decref(attrs);
    const char *conditions = json_string_value(json_object_get(item, "conditions"));
    json_t *s = json_pack(
        "{s:O, s:O, s:o, s:b, s:s, s:o, s:O}", "service_code", json_object_get(item, "code"),
        "service_name", json_object_get(item, "name"), "description",
        clipped(conditions ? conditions : "", OPEN311_DESCRIPTION), "metadata", has_metadata,
        "type", "realtime", "keywords", comma_list(json_object_get(item, "keywords")), "group",
        json_object_get(item, "department"));
    if (s) json_array_append_new(list, s);
    return 0;
}

static void open311_services(http_req *r) {
    json_t *list = json_array();
    err e = {0};
    if (catalog_for_each(r->db, add_service, list, &e) != 0) {
        json_decref(list);
        open311_error(r, 500, "系统内部错误");
        return;
    }
    http_reply_json(r, 200, list);
}

static void open311_service(http_req *r) {
    const char *file = http_param(r, "file");
    size_t n = file ? strlen(file) : 0;
    if (n <= 5 || strcmp(file + n - 5, ".json") != 0) {
        open311_error(r, 404, "没有这个服务（仅支持 .json 格式）");
        return;
    }
    char code[64];
    if (n - 5 >= sizeof(code)) {
        open311_error(r, 404, "没有这个服务");
        return;
    }
    memcpy(code, file, n - 5);
    code[n - 5] = '\0';
    err e = {0};
    json_t *item = catalog_item_get(r->db, code, &e);
    if (!item) {
        open311_error(r, e.status == 404 ? 404 : 500,
                      e.status == 404 ? "没有这个服务" : "系统内部错误");
        return;
    }
    json_t *def = json_pack("{s:s, s:o}", "service_code", code, "attributes", attributes(item));
    json_decref(item);
    http_reply_json(r, 200, def);
}

#define STAFF_EDITORS (ROLE_STAFF | ROLE_APPROVER | ROLE_ADMIN)

const http_route api_catalog_routes[] = {
    {M_GET, "/api/v1/items", items_list, 0, ROUTE_PUBLIC, 0, NULL},
    {M_GET, "/api/v1/items/{code}", item_get, 0, ROUTE_PUBLIC, 0, NULL},
    {M_PUT, "/api/v1/items/{code}", item_put, STAFF_EDITORS, 0, 0, NULL},
    {M_GET, "/api/v1/items/{code}/versions", item_versions, STAFF_EDITORS | ROLE_SUPERVISOR, 0, 0,
     NULL},
    {M_GET, "/api/v1/bundles", bundles_list, 0, ROUTE_PUBLIC, 0, NULL},
    {M_GET, "/api/v1/bundles/{code}", bundle_get, 0, ROUTE_PUBLIC, 0, NULL},
    {M_GET, "/api/v1/departments", departments_list, 0, ROUTE_PUBLIC, 0, NULL},
    {M_GET, "/api/v1/licences", licences_list, 0, ROUTE_PUBLIC, 0, NULL},
    {M_GET, "/open311/v2/services.json", open311_services, 0, ROUTE_PUBLIC, 0, NULL},
    {M_GET, "/open311/v2/services/{file}", open311_service, 0, ROUTE_PUBLIC, 0,
     "/open311/v2/services/{code}.json"},
};
const size_t api_catalog_route_count = sizeof(api_catalog_routes) / sizeof(api_catalog_routes[0]);
