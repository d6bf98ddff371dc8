/* api_audit: the audit trail, for administrators and supervisors. */
#include "api/api.h"
#include "audit/audit.h"
#include "base/timeutil.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int valid_time(http_req *r, const char *name, const char **out) {
    const char *v = http_query(r, name);
    *out = NULL;
    if (!v || !*v) return 0;
    int64_t t;
    if (time_parse_iso(v, &t) != 0) {
        /* A bare date means the start of that day (UTC). */
        char buf[32];
        snprintf(buf, sizeof(buf), "%.10sT00:00:00Z", v);
        if (strlen(v) != 10 || time_parse_iso(buf, &t) != 0) {
            http_reply_error(r, 400, "invalid_argument", name,
                             "%s must be an ISO date or time (2026-11-28 or 2026-11-28T08:00:00Z)",
                             name);
            return -1;
        }
    }
    char iso[32];
    time_iso(iso, sizeof(iso), t);
    *out = arena_strdup(r->arena, iso);
    return 0;
}

static void list(http_req *r) {
    audit_filter f = {0};
    int64_t limit, before, actor;
    if (http_query_int(r, "limit", 50, 1, 200, &limit) != 0) return;
    if (http_query_int(r, "before", 0, 0, INT64_MAX, &before) != 0) return;
    if (http_query_int(r, "actor_id", 0, 0, INT64_MAX, &actor) != 0) return;
    f.limit = (int)limit;
    f.before_id = before;
    f.actor_id = actor;
    const char *s;
    /* actor: a login, or a user id when it is all digits */
    if ((s = http_query(r, "actor")) && *s) {
        char *end;
        long long id = strtoll(s, &end, 10);
        if (*end == '\0' && id > 0)
            f.actor_id = id;
        else
            f.actor_login = s;
    }
    if ((s = http_query(r, "action")) && *s) f.action = s;
    if ((s = http_query(r, "object_type")) && *s) f.object_type = s;
    if ((s = http_query(r, "object_id")) && *s) f.object_id = s;
    if (valid_time(r, "since", &f.since) != 0 || valid_time(r, "until", &f.until) != 0) return;
    err e = {0};
    json_t *out = audit_list(r->db, &f, &e);
    if (!out) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, out);
}

static void verify(http_req *r) {
    audit_verify_result v;
    err e = {0};
    if (audit_verify(r->db, &v, &e) != 0) {
        http_reply_err(r, &e);
        return;
    }
    json_t *out = json_pack("{s:b, s:I}", "ok", v.ok, "rows", (json_int_t)v.rows);
    if (!v.ok) {
        json_object_set_new(out, "first_broken", json_integer(v.first_broken));
        json_object_set_new(out, "reason", json_string(v.reason));
    }
    http_reply_json(r, 200, out);
}

const http_route api_audit_routes[] = {
    {M_GET, "/api/v1/audit", list, ROLE_ADMIN | ROLE_SUPERVISOR, 0},
    {M_GET, "/api/v1/audit/verify", verify, ROLE_ADMIN | ROLE_SUPERVISOR, 0},
};
const size_t api_audit_route_count = sizeof(api_audit_routes) / sizeof(api_audit_routes[0]);
