/* agents.c: station details, the agent registry, an agent's duty and position,
 * and the demo roster (see agents.h).
 *
 * Must never: write open_tasks or served_today (assist.c derives them from the
 * requests), log or put a phone number in an error message, or build SQL from
 * input (list filters are constant fragments with bound values, qbuild). */
#include "island/agents.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "base/jsonx.h"
#include "base/timeutil.h"
#include "base/xmalloc.h"
#include "catalog/catalog.h"
#include "island/assist_internal.h"
#include "island/coverage.h"
#include "island/places.h"
#include "notify/notify.h"
#include "workcal/workcal.h"

/* Default opening hours by station kind (editorial, for the demo and for stations
 * whose hours were never entered). */
static const char *station_default_hours(const char *kind) {
    if (kind && !strcmp(kind, PLACES_KIND_CENTRE)) return WORKCAL_DEFAULT_SCHEDULE;
    if (kind && !strcmp(kind, PLACES_KIND_STATION)) return "08:30-11:30,14:00-17:00";
    return "09:00-11:30";
}

static char *now_iso(char *buf, size_t n) {
    return time_iso(buf, n, time_now());
}

static json_t *text_or_null(db_stmt *s, int col) {
    const char *t = db_column_text(s, col);
    return t ? json_string(t) : json_null();
}

/* ---- stations ---- */

/* The services station kind `kind` offers by default: [{"code","name"}]. */
static json_t *default_services(const char *kind) {
    json_t *out = json_array();
    err e = {0};
    const coverage_services *cs = coverage_services_default(&e);
    if (!cs) return out;
    json_t *all = coverage_services_json(cs);
    size_t i, j;
    json_t *svc, *k;
    json_array_foreach(json_object_get(all, "services"), i, svc) {
        json_array_foreach(json_object_get(svc, "kinds"), j, k) {
            if (json_is_string(k) && kind && !strcmp(json_string_value(k), kind)) {
                json_array_append_new(out,
                                      json_pack("{s:O, s:O}", "code", json_object_get(svc, "code"),
                                                "name", json_object_get(svc, "name")));
                break;
            }
        }
    }
    json_decref(all);
    return out;
}

/* The name of a named service, or NULL when code is not one. */
static const char *service_name(json_t *all, const char *code) {
    size_t i;
    json_t *svc;
    json_array_foreach(json_object_get(all, "services"), i, svc) {
        if (!strcmp(jsonx_str(svc, "code") ? jsonx_str(svc, "code") : "", code))
            return jsonx_str(svc, "name");
    }
    return NULL;
}

/* Stored services (a JSON array of codes) as [{"code","name"}]. */
static json_t *named_services(db *d, const char *stored) {
    json_t *out = json_array();
    json_t *codes = json_loads(stored, 0, NULL);
    err e = {0};
    const coverage_services *cs = coverage_services_default(&e);
    json_t *all = cs ? coverage_services_json(cs) : json_object();
    size_t i;
    json_t *c;
    json_array_foreach(codes, i, c) {
        const char *code = json_string_value(c);
        if (!code) continue;
        const char *name = service_name(all, code);
        json_t *item = NULL;
        if (!name && catalog_code_valid(code)) {
            err e2 = {0};
            item = catalog_item_get(d, code, &e2);
            if (item) name = jsonx_str(item, "name");
        }
        json_array_append_new(out,
                              json_pack("{s:s, s:s}", "code", code, "name", name ? name : code));
        json_decref(item);
    }
    json_decref(all);
    json_decref(codes);
    return out;
}

json_t *agents_station_get(db *d, const char *id, err *e) {
    if (!id || !*id || strlen(id) > 64) {
        err_notfound(e, "没有这个服务网点");
        return NULL;
    }
    db_stmt *s = db_query(d, e,
                          "SELECT s.id, s.name, s.kind, s.village_code, v.name, s.town_code, "
                          "t.name, s.island_id, i.name, s.lat, s.lon, s.staff, s.hours, "
                          "s.services, s.phone, "
                          "(SELECT COUNT(*) FROM agents a WHERE a.station_id = s.id), "
                          "(SELECT COUNT(*) FROM agents a WHERE a.station_id = s.id "
                          "AND a.on_duty = 1) "
                          "FROM stations s JOIN villages v ON v.code = s.village_code "
                          "JOIN towns t ON t.code = s.town_code "
                          "JOIN islands i ON i.id = s.island_id WHERE s.id = $1",
                          "s", id);
    if (!s) return NULL;
    int rc = db_step(s);
    if (rc != DB_ROW) {
        db_reset(s);
        if (rc == DB_ERROR)
            err_internal(e, "读取服务网点失败：%s", db_errmsg(d));
        else
            err_notfound(e, "没有这个服务网点");
        return NULL;
    }
    const char *kind = db_column_text(s, 2);
    const char *hours = db_column_text(s, 12);
    const char *services = db_column_text(s, 13);
    json_t *o = json_object();
    json_object_set_new(o, "id", text_or_null(s, 0));
    json_object_set_new(o, "name", text_or_null(s, 1));
    json_object_set_new(o, "kind", text_or_null(s, 2));
    json_object_set_new(o, "village_code", text_or_null(s, 3));
    json_object_set_new(o, "village_name", text_or_null(s, 4));
    json_object_set_new(o, "town_code", text_or_null(s, 5));
    json_object_set_new(o, "town_name", text_or_null(s, 6));
    json_object_set_new(o, "island_id", text_or_null(s, 7));
    json_object_set_new(o, "island_name", text_or_null(s, 8));
    json_object_set_new(o, "lat", json_real(db_column_double(s, 9)));
    json_object_set_new(o, "lon", json_real(db_column_double(s, 10)));
    json_object_set_new(o, "staff", json_integer(db_column_int64(s, 11)));
    json_object_set_new(o, "hours", json_string(hours ? hours : station_default_hours(kind)));
    json_object_set_new(o, "hours_default", json_boolean(!hours));
    char *svc_copy = services ? xstrdup(services) : NULL;
    char *kind_copy = xstrdup(kind ? kind : "");
    json_object_set_new(o, "phone", text_or_null(s, 14));
    json_object_set_new(o, "agents",
                        json_pack("{s:I, s:I}", "total", (json_int_t)db_column_int64(s, 15),
                                  "on_duty", (json_int_t)db_column_int64(s, 16)));
    db_reset(s);
    /* Names may need the catalog: read them after the statement is done. */
    json_object_set_new(o, "services",
                        svc_copy ? named_services(d, svc_copy) : default_services(kind_copy));
    json_object_set_new(o, "services_default", json_boolean(!svc_copy));
    free(svc_copy);
    free(kind_copy);
    return o;
}

/* Check a services array: named services or catalog items that exist. On success
 * *out gets the canonical JSON text (caller frees). */
static int services_check(db *d, json_t *arr, char **out, err *e) {
    if (!json_is_array(arr) || json_array_size(arr) > AGENTS_MAX_STATION_SVCS)
        return err_invalid(e, "services", "services 须为服务代码数组（最多 %d 项）",
                           AGENTS_MAX_STATION_SVCS);
    err e2 = {0};
    const coverage_services *cs = coverage_services_default(&e2);
    json_t *all = cs ? coverage_services_json(cs) : json_object();
    json_t *clean = json_array();
    size_t i;
    json_t *c;
    int rc = 0;
    json_array_foreach(arr, i, c) {
        char field[48];
        snprintf(field, sizeof(field), "services[%zu]", i);
        const char *code = json_string_value(c);
        if (!code || !*code || strlen(code) > 40) {
            rc = err_invalid(e, field, "服务代码须为非空字符串");
            break;
        }
        int dup = 0;
        size_t j;
        json_t *prev;
        json_array_foreach(clean, j, prev) {
            if (!strcmp(json_string_value(prev), code)) dup = 1;
        }
        if (dup) continue;
        if (!service_name(all, code)) {
            json_t *item = catalog_code_valid(code) ? catalog_item_get(d, code, &e2) : NULL;
            if (!item) {
                rc = err_invalid(e, field, "没有服务或事项“%s”", code);
                break;
            }
            json_decref(item);
        }
        json_array_append_new(clean, json_string(code));
    }
    if (rc == 0) *out = json_dumps(clean, JSON_COMPACT);
    json_decref(clean);
    json_decref(all);
    return rc;
}

int agents_station_update(db *d, const audit_actor *actor, const char *id, json_t *in, err *e) {
    static const jsonx_field spec[] = {{"hours", JX_STRING, 0, 100},
                                       {"services", JX_ARRAY, 0, AGENTS_MAX_STATION_SVCS},
                                       {"phone", JX_STRING, 0, 20},
                                       {NULL}};
    if (jsonx_check(in, spec, e) != 0) return -1;
    json_t *before = agents_station_get(d, id, e);
    if (!before) return -1;
    int rc = -1;
    char *services = NULL;
    json_t *after = NULL;
    json_t *h = json_object_get(in, "hours"), *sv = json_object_get(in, "services"),
           *ph = json_object_get(in, "phone");
    if (h && json_is_string(h)) {
        workcal_schedule sched;
        if (workcal_schedule_parse(json_string_value(h), &sched, e) != 0) {
            snprintf(e->field, sizeof(e->field), "hours");
            goto out;
        }
    }
    if (sv && !json_is_null(sv) && services_check(d, sv, &services, e) != 0) goto out;
    if (ph && json_is_string(ph) && !assist_phone_valid(json_string_value(ph))) {
        err_invalid(e, "phone", "电话须为 5–20 位数字、+ 或 -");
        goto out;
    }
    char now[32];
    now_iso(now, sizeof(now));
    if (db_begin(d, e) != 0) goto out;
    if (h && db_execf(d, e, "UPDATE stations SET hours = $1 WHERE id = $2", "ss",
                      json_is_string(h) ? json_string_value(h) : NULL, id) != 0)
        goto fail;
    if (sv &&
        db_execf(d, e, "UPDATE stations SET services = $1 WHERE id = $2", "ss", services, id) != 0)
        goto fail;
    if (ph && db_execf(d, e, "UPDATE stations SET phone = $1 WHERE id = $2", "ss",
                       json_is_string(ph) ? json_string_value(ph) : NULL, id) != 0)
        goto fail;
    after = agents_station_get(d, id, e);
    if (!after) goto fail;
    json_t *b =
        json_pack("{s:O, s:O, s:O}", "hours", json_object_get(before, "hours"), "services",
                  json_object_get(before, "services"), "phone", json_object_get(before, "phone"));
    json_t *a =
        json_pack("{s:O, s:O, s:O}", "hours", json_object_get(after, "hours"), "services",
                  json_object_get(after, "services"), "phone", json_object_get(after, "phone"));
    int ar = audit_record(d, actor, "station.update", "station", id, b, a, e);
    json_decref(b);
    json_decref(a);
    if (ar != 0 || db_commit(d, e) != 0) goto fail;
    rc = 0;
    goto out;
fail:
    db_rollback(d);
out:
    free(services);
    json_decref(before);
    json_decref(after);
    return rc;
}

/* ---- agents ---- */

#define AGENT_COLUMNS                                                                              \
    "a.id, a.user_id, u.login, a.name, a.phone, a.kind, a.station_id, s.name, a.island_id, "       \
    "i.name, a.town_code, t.name, a.skills, a.hours, a.capacity, a.open_tasks, a.on_duty, "        \
    "a.position_island, a.position_lat, a.position_lon, a.position_at, a.served_today, "           \
    "a.created_at, a.updated_at "
#define AGENT_FROM                                                                                 \
    "FROM agents a JOIN stations s ON s.id = a.station_id JOIN islands i ON i.id = a.island_id "   \
    "JOIN towns t ON t.code = a.town_code LEFT JOIN users u ON u.id = a.user_id "

/* The current row of an AGENT_COLUMNS query as JSON; phone masked unless reveal. */
static json_t *agent_json(db_stmt *s, int reveal) {
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(db_column_int64(s, 0)));
    json_object_set_new(o, "user_id",
                        db_column_type(s, 1) == DB_NULL ? json_null()
                                                        : json_integer(db_column_int64(s, 1)));
    json_object_set_new(o, "login", text_or_null(s, 2));
    json_object_set_new(o, "name", text_or_null(s, 3));
    const char *phone = db_column_text(s, 4);
    if (phone && !reveal) {
        char masked[32];
        json_object_set_new(o, "phone",
                            json_string(notify_mask_phone(phone, masked, sizeof(masked))));
    } else {
        json_object_set_new(o, "phone", text_or_null(s, 4));
    }
    const char *kind = db_column_text(s, 5);
    json_object_set_new(o, "kind", text_or_null(s, 5));
    json_object_set_new(o, "kind_label",
                        json_string(kind && !strcmp(kind, "full_time") ? "专职" : "兼职"));
    json_object_set_new(o, "station_id", text_or_null(s, 6));
    json_object_set_new(o, "station_name", text_or_null(s, 7));
    json_object_set_new(o, "island_id", text_or_null(s, 8));
    json_object_set_new(o, "island_name", text_or_null(s, 9));
    json_object_set_new(o, "town_code", text_or_null(s, 10));
    json_object_set_new(o, "town_name", text_or_null(s, 11));
    const char *skills = db_column_text(s, 12);
    json_t *sk = skills ? json_loads(skills, 0, NULL) : NULL;
    json_object_set_new(o, "skills", sk ? sk : json_object());
    json_object_set_new(o, "hours", text_or_null(s, 13));
    json_object_set_new(o, "capacity", json_integer(db_column_int64(s, 14)));
    json_object_set_new(o, "open_tasks", json_integer(db_column_int64(s, 15)));
    json_object_set_new(o, "on_duty", json_boolean(db_column_int64(s, 16) != 0));
    if (db_column_type(s, 17) != DB_NULL) {
        json_t *p = json_pack("{s:s}", "island_id", db_column_text(s, 17));
        json_object_set_new(p, "lat",
                            db_column_type(s, 18) == DB_NULL ? json_null()
                                                             : json_real(db_column_double(s, 18)));
        json_object_set_new(p, "lon",
                            db_column_type(s, 19) == DB_NULL ? json_null()
                                                             : json_real(db_column_double(s, 19)));
        json_object_set_new(p, "at", text_or_null(s, 20));
        json_object_set_new(o, "position", p);
    } else {
        json_object_set_new(o, "position", json_null());
    }
    json_object_set_new(o, "served_today", json_integer(db_column_int64(s, 21)));
    json_object_set_new(o, "created_at", text_or_null(s, 22));
    json_object_set_new(o, "updated_at", text_or_null(s, 23));
    return o;
}

json_t *agents_get(db *d, int64_t id, err *e) {
    db_stmt *s = db_query(d, e, "SELECT " AGENT_COLUMNS AGENT_FROM "WHERE a.id = $1", "i", id);
    if (!s) return NULL;
    int rc = db_step(s);
    json_t *o = rc == DB_ROW ? agent_json(s, 1) : NULL;
    db_reset(s);
    if (rc == DB_ERROR)
        err_internal(e, "读取代办员失败：%s", db_errmsg(d));
    else if (!o)
        err_notfound(e, "没有这个代办员");
    return o;
}

int agents_of_user(db *d, int64_t user_id, int64_t *agent_id, err *e) {
    *agent_id = 0;
    if (user_id <= 0) return 0;
    int rc = db_query_int(d, e, agent_id, "SELECT id FROM agents WHERE user_id = $1", "i", user_id);
    return rc < 0 ? -1 : 0;
}

/* The WHERE clause of a list (constant fragments, bound values). */
static void agents_where(qbuild *q, const agents_filter *f, const char *like) {
    qb_text(q, "WHERE 1 = 1");
    if (f->town_code) qb_s(q, " AND a.town_code = $#", f->town_code);
    if (f->island_id) qb_s(q, " AND a.island_id = $#", f->island_id);
    if (f->station_id) qb_s(q, " AND a.station_id = $#", f->station_id);
    if (f->kind) qb_s(q, " AND a.kind = $#", f->kind);
    if (f->on_duty >= 0) qb_i(q, " AND a.on_duty = $#", f->on_duty ? 1 : 0);
    if (f->q) qb_s(q, " AND LOWER(a.name) LIKE LOWER($#)", like);
}

json_t *agents_list(db *d, const agents_filter *f, err *e) {
    agents_filter none = {.on_duty = -1};
    if (!f) f = &none;
    if (f->town_code && !places_town_code_valid(f->town_code)) {
        err_invalid(e, "town", "乡镇代码须为 9 位数字");
        return NULL;
    }
    if (f->island_id && !places_island_id_valid(f->island_id)) {
        err_invalid(e, "island", "海岛编号须为 1–64 位 a-z 0-9 _");
        return NULL;
    }
    if (f->kind && strcmp(f->kind, "full_time") && strcmp(f->kind, "part_time")) {
        err_invalid(e, "kind", "kind 须为 full_time 或 part_time");
        return NULL;
    }
    if ((f->station_id && strlen(f->station_id) > 64) || (f->q && strlen(f->q) > 64)) {
        err_invalid(e, f->q && strlen(f->q) > 64 ? "q" : "station", "筛选条件过长");
        return NULL;
    }
    int64_t limit = f->limit <= 0 ? AGENTS_DEFAULT_LIMIT : f->limit;
    if (limit > AGENTS_MAX_LIMIT) limit = AGENTS_MAX_LIMIT;
    int64_t offset = f->offset < 0 ? 0 : f->offset;
    char like[80] = "";
    if (f->q) snprintf(like, sizeof(like), "%%%s%%", f->q);

    qbuild c = {0};
    qb_text(&c, "SELECT COUNT(*), COALESCE(SUM(a.on_duty), 0) FROM agents a ");
    agents_where(&c, f, like);
    db_stmt *s = qb_prepare(d, &c, e);
    if (!s) return NULL;
    int rc = db_step(s);
    int64_t total = rc == DB_ROW ? db_column_int64(s, 0) : 0;
    int64_t on = rc == DB_ROW ? db_column_int64(s, 1) : 0;
    db_reset(s);
    if (rc == DB_ERROR) {
        err_internal(e, "读取代办员失败：%s", db_errmsg(d));
        return NULL;
    }
    qbuild q = {0};
    qb_text(&q, "SELECT " AGENT_COLUMNS AGENT_FROM);
    agents_where(&q, f, like);
    qb_i(&q, " ORDER BY a.id LIMIT $#", limit);
    qb_i(&q, " OFFSET $#", offset);
    s = qb_prepare(d, &q, e);
    if (!s) return NULL;
    json_t *items = json_array();
    while ((rc = db_step(s)) == DB_ROW)
        json_array_append_new(items, agent_json(s, 0));
    db_reset(s);
    if (rc == DB_ERROR) {
        json_decref(items);
        err_internal(e, "读取代办员失败：%s", db_errmsg(d));
        return NULL;
    }
    return json_pack("{s:o, s:I, s:I, s:I, s:I}", "items", items, "total", (json_int_t)total,
                     "limit", (json_int_t)limit, "offset", (json_int_t)offset, "on_duty",
                     (json_int_t)on);
}

int agents_skills_valid(json_t *skills, err *e) {
    if (!json_is_object(skills)) return err_invalid(e, "skills", "skills 须为对象");
    const char *key;
    json_t *v;
    json_object_foreach(skills, key, v) {
        char field[64];
        if (!strcmp(key, "all")) {
            if (!json_is_boolean(v)) return err_invalid(e, "skills.all", "skills.all 须为布尔值");
            continue;
        }
        if (strcmp(key, "departments") && strcmp(key, "items")) {
            snprintf(field, sizeof(field), "skills.%.40s", key);
            return err_invalid(e, field, "skills 只能包含 all、departments、items");
        }
        snprintf(field, sizeof(field), "skills.%s", key);
        if (!json_is_array(v) || json_array_size(v) > AGENTS_MAX_SKILLS)
            return err_invalid(e, field, "%s 须为数组（最多 %d 项）", field, AGENTS_MAX_SKILLS);
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            snprintf(field, sizeof(field), "skills.%s[%zu]", key, i);
            const char *t = json_string_value(x);
            if (!t || !*t || strlen(t) > 128) return err_invalid(e, field, "须为非空字符串");
            if (!strcmp(key, "items") && !catalog_code_valid(t))
                return err_invalid(e, field, "事项编码格式不正确");
        }
    }
    int all = json_is_true(json_object_get(skills, "all"));
    if (!all && !json_array_size(json_object_get(skills, "departments")) &&
        !json_array_size(json_object_get(skills, "items")))
        return err_invalid(e, "skills", "skills 须为 all，或列出部门或事项");
    return 0;
}

/* The station's island and town (and hours for a default). 404 → 400 on field. */
static int station_place(db *d, const char *station_id, char *island, size_t in, char *town,
                         size_t tn, char *hours, size_t hn, err *e) {
    if (!station_id || !*station_id || strlen(station_id) > 64)
        return err_invalid(e, "station_id", "缺少服务网点");
    db_stmt *s =
        db_query(d, e, "SELECT island_id, town_code, hours, kind FROM stations WHERE id = $1", "s",
                 station_id);
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ROW) {
        snprintf(island, in, "%s", db_column_text(s, 0));
        snprintf(town, tn, "%s", db_column_text(s, 1));
        const char *h = db_column_text(s, 2);
        snprintf(hours, hn, "%s", h ? h : station_default_hours(db_column_text(s, 3)));
    }
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取服务网点失败");
    if (rc != DB_ROW) return err_invalid(e, "station_id", "没有服务网点“%.64s”", station_id);
    return 0;
}

/* user_id must be an active agent account not linked to another agent (self_id). */
static int user_linkable(db *d, int64_t user_id, int64_t self_id, err *e) {
    db_stmt *s = db_query(d, e, "SELECT role FROM users WHERE id = $1", "i", user_id);
    if (!s) return -1;
    int rc = db_step(s);
    int ok = rc == DB_ROW && db_column_text(s, 0) && !strcmp(db_column_text(s, 0), "agent");
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取用户失败");
    if (!ok) return err_invalid(e, "user_id", "user_id 须为角色为帮办代办员（agent）的账号");
    int64_t other = 0;
    rc = db_query_int(d, e, &other, "SELECT id FROM agents WHERE user_id = $1", "i", user_id);
    if (rc < 0) return -1;
    if (rc == 0 && other != self_id) return err_conflict(e, "user_id", "该账号已关联其他代办员");
    return 0;
}

/* Field checks shared by create and update (only present members are checked). */
static int check_fields(json_t *in, err *e) {
    const char *kind = jsonx_str(in, "kind");
    if (kind && strcmp(kind, "full_time") && strcmp(kind, "part_time"))
        return err_invalid(e, "kind", "kind 须为 full_time（专职）或 part_time（兼职）");
    const char *name = jsonx_str(in, "name");
    if (json_object_get(in, "name") && (!name || !*name))
        return err_invalid(e, "name", "姓名不能为空");
    const char *phone = jsonx_str(in, "phone");
    if (phone && !assist_phone_valid(phone))
        return err_invalid(e, "phone", "电话须为 5–20 位数字、+ 或 -");
    json_t *sk = json_object_get(in, "skills");
    if (sk && !json_is_null(sk) && agents_skills_valid(sk, e) != 0) return -1;
    const char *hours = jsonx_str(in, "hours");
    if (hours) {
        workcal_schedule sched;
        if (workcal_schedule_parse(hours, &sched, e) != 0) {
            snprintf(e->field, sizeof(e->field), "hours");
            return -1;
        }
    }
    json_t *cap = json_object_get(in, "capacity");
    if (cap && !json_is_null(cap) && (json_integer_value(cap) < 1 || json_integer_value(cap) > 100))
        return err_invalid(e, "capacity", "capacity 须为 1–100");
    return 0;
}

static const jsonx_field agent_spec[] = {{"name", JX_STRING, 0, AGENTS_NAME_MAX},
                                         {"phone", JX_STRING, 0, 20},
                                         {"kind", JX_STRING, 0, 16},
                                         {"station_id", JX_STRING, 0, 64},
                                         {"user_id", JX_INT, 0, 0},
                                         {"skills", JX_OBJECT, 0, 0},
                                         {"hours", JX_STRING, 0, 100},
                                         {"capacity", JX_INT, 0, 0},
                                         {"on_duty", JX_BOOL, 0, 0},
                                         {NULL}};

/* The audit view of an agent (no phone). Caller owns it. */
static json_t *agent_audit_view(json_t *a) {
    json_t *v = json_deep_copy(a);
    json_object_del(v, "phone");
    json_object_del(v, "created_at");
    json_object_del(v, "updated_at");
    json_object_del(v, "position");
    return v;
}

int agents_create(db *d, const audit_actor *actor, json_t *in, int64_t *id_out, err *e) {
    if (jsonx_check(in, agent_spec, e) != 0 || check_fields(in, e) != 0) return -1;
    const char *name = jsonx_str(in, "name"), *kind = jsonx_str(in, "kind");
    if (!name) return err_invalid(e, "name", "缺少必填字段“name”");
    if (!kind) return err_invalid(e, "kind", "缺少必填字段“kind”");
    char island[72], town[16], hours[128];
    if (station_place(d, jsonx_str(in, "station_id"), island, sizeof(island), town, sizeof(town),
                      hours, sizeof(hours), e) != 0)
        return -1;
    int64_t user_id = jsonx_int(in, "user_id", 0);
    if (json_object_get(in, "user_id") && !json_is_null(json_object_get(in, "user_id")) &&
        user_id <= 0)
        return err_invalid(e, "user_id", "user_id 须为正整数");
    json_t *sk = json_object_get(in, "skills");
    char *skills = sk && !json_is_null(sk) ? json_dumps(sk, JSON_COMPACT | JSON_SORT_KEYS)
                                           : xstrdup("{\"all\":true}");
    int full = !strcmp(kind, "full_time");
    int64_t capacity =
        jsonx_int(in, "capacity", full ? AGENTS_FULL_TIME_CAPACITY : AGENTS_PART_TIME_CAPACITY);
    const char *h = jsonx_str(in, "hours");
    char now[32];
    now_iso(now, sizeof(now));
    int rc = -1;
    if (db_begin(d, e) != 0) goto out;
    if (user_id > 0 && user_linkable(d, user_id, 0, e) != 0) goto fail;
    db_stmt *s =
        db_prepare(d,
                   "INSERT INTO agents (user_id, name, phone, kind, station_id, island_id, "
                   "town_code, skills, hours, capacity, open_tasks, on_duty, "
                   "served_today, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, "
                   "$6, $7, $8, $9, $10, 0, $11, 0, $12, $12) RETURNING id",
                   e);
    if (!s) goto fail;
    if (user_id > 0)
        db_bind_int64(s, 1, user_id);
    else
        db_bind_null(s, 1);
    db_bind_text(s, 2, name);
    db_bind_text(s, 3, jsonx_str(in, "phone"));
    db_bind_text(s, 4, kind);
    db_bind_text(s, 5, jsonx_str(in, "station_id"));
    db_bind_text(s, 6, island);
    db_bind_text(s, 7, town);
    db_bind_text(s, 8, skills);
    db_bind_text(s, 9, h ? h : hours);
    db_bind_int64(s, 10, capacity);
    db_bind_int64(s, 11, jsonx_bool(in, "on_duty", 1));
    db_bind_text(s, 12, now);
    int st = db_step(s);
    int64_t id = st == DB_ROW ? db_column_int64(s, 0) : 0;
    db_reset(s);
    if (!id) {
        err_internal(e, "新增代办员失败：%s", db_errmsg(d));
        goto fail;
    }
    json_t *after = agents_get(d, id, e);
    if (!after) goto fail;
    json_t *view = agent_audit_view(after);
    json_decref(after);
    char oid[32];
    snprintf(oid, sizeof(oid), "%lld", (long long)id);
    int ar = audit_record(d, actor, "agent.create", "agent", oid, NULL, view, e);
    json_decref(view);
    if (ar != 0 || db_commit(d, e) != 0) goto fail;
    *id_out = id;
    rc = 0;
    goto out;
fail:
    db_rollback(d);
out:
    free(skills);
    return rc;
}

int agents_update(db *d, const audit_actor *actor, int64_t id, json_t *in, err *e) {
    if (jsonx_check(in, agent_spec, e) != 0 || check_fields(in, e) != 0) return -1;
    json_t *kind_v = json_object_get(in, "kind"), *name_v = json_object_get(in, "name");
    if ((kind_v && json_is_null(kind_v)) || (name_v && json_is_null(name_v)))
        return err_invalid(e, kind_v && json_is_null(kind_v) ? "kind" : "name", "不能为空");
    if (json_is_null(json_object_get(in, "station_id")))
        return err_invalid(e, "station_id", "不能为空");
    json_t *before = agents_get(d, id, e);
    if (!before) return -1;
    int rc = -1;
    assist_pubs pubs = {0};
    char *skills = NULL;
    json_t *after = NULL;
    char island[72], town[16], hours[128], now[32];
    const char *station = jsonx_str(in, "station_id");
    if (station && station_place(d, station, island, sizeof(island), town, sizeof(town), hours,
                                 sizeof(hours), e) != 0)
        goto out;
    json_t *sk = json_object_get(in, "skills");
    if (sk && !json_is_null(sk)) skills = json_dumps(sk, JSON_COMPACT | JSON_SORT_KEYS);
    int64_t now_t = time_now();
    time_iso(now, sizeof(now), now_t);
    if (db_begin(d, e) != 0) goto out;
    json_t *uid = json_object_get(in, "user_id");
    if (uid) {
        if (json_is_integer(uid) && json_integer_value(uid) <= 0) {
            err_invalid(e, "user_id", "user_id 须为正整数");
            goto fail;
        }
        if (json_is_integer(uid) && user_linkable(d, json_integer_value(uid), id, e) != 0)
            goto fail;
        if (json_is_integer(uid)
                ? db_execf(d, e, "UPDATE agents SET user_id = $1 WHERE id = $2", "ii",
                           (int64_t)json_integer_value(uid), id)
                : db_execf(d, e, "UPDATE agents SET user_id = NULL WHERE id = $1", "i", id))
            goto fail;
    }
    if (jsonx_str(in, "name") && db_execf(d, e, "UPDATE agents SET name = $1 WHERE id = $2", "si",
                                          jsonx_str(in, "name"), id))
        goto fail;
    if (json_object_get(in, "phone") && db_execf(d, e, "UPDATE agents SET phone = $1 WHERE id = $2",
                                                 "si", jsonx_str(in, "phone"), id))
        goto fail;
    if (jsonx_str(in, "kind") && db_execf(d, e, "UPDATE agents SET kind = $1 WHERE id = $2", "si",
                                          jsonx_str(in, "kind"), id))
        goto fail;
    if (station && db_execf(d, e,
                            "UPDATE agents SET station_id = $1, island_id = $2, town_code = $3 "
                            "WHERE id = $4",
                            "sssi", station, island, town, id))
        goto fail;
    if (skills && db_execf(d, e, "UPDATE agents SET skills = $1 WHERE id = $2", "si", skills, id))
        goto fail;
    if (jsonx_str(in, "hours") && db_execf(d, e, "UPDATE agents SET hours = $1 WHERE id = $2", "si",
                                           jsonx_str(in, "hours"), id))
        goto fail;
    if (json_is_integer(json_object_get(in, "capacity")) &&
        db_execf(d, e, "UPDATE agents SET capacity = $1 WHERE id = $2", "ii",
                 (int64_t)jsonx_int(in, "capacity", 1), id))
        goto fail;
    int going_off = 0;
    if (json_is_boolean(json_object_get(in, "on_duty"))) {
        int on = jsonx_bool(in, "on_duty", 1);
        going_off = !on && json_is_true(json_object_get(before, "on_duty"));
        if (db_execf(d, e, "UPDATE agents SET on_duty = $1 WHERE id = $2", "ii", (int64_t)on, id))
            goto fail;
    }
    if (db_execf(d, e, "UPDATE agents SET updated_at = $1 WHERE id = $2", "si", now, id)) goto fail;
    if (going_off && assist_agent_released(d, actor, id, now_t, &pubs, NULL, e) != 0) goto fail;
    after = agents_get(d, id, e);
    if (!after) goto fail;
    json_t *bv = agent_audit_view(before), *av = agent_audit_view(after);
    char oid[32];
    snprintf(oid, sizeof(oid), "%lld", (long long)id);
    int ar = audit_record(d, actor, "agent.update", "agent", oid, bv, av, e);
    json_decref(bv);
    json_decref(av);
    if (ar != 0 || db_commit(d, e) != 0) goto fail;
    assist_pubs_flush(&pubs);
    rc = 0;
    goto out;
fail:
    db_rollback(d);
out:
    assist_pubs_drop(&pubs);
    free(skills);
    json_decref(before);
    json_decref(after);
    return rc;
}

int agents_self_update(db *d, const audit_actor *actor, int64_t user_id, json_t *in, err *e) {
    static const jsonx_field spec[] = {
        {"on_duty", JX_BOOL, 0, 0}, {"position", JX_OBJECT, 0, 0}, {NULL}};
    static const jsonx_field pos_spec[] = {{"island_id", JX_STRING, 1, 64},
                                           {"lat", JX_NUMBER, 0, 0},
                                           {"lon", JX_NUMBER, 0, 0},
                                           {NULL}};
    if (jsonx_check(in, spec, e) != 0) return -1;
    json_t *pos = json_object_get(in, "position");
    double lat = NAN, lon = NAN;
    const char *pisland = NULL;
    if (pos && !json_is_null(pos)) {
        if (jsonx_check(pos, pos_spec, e) != 0) {
            char f[sizeof(e->field)];
            snprintf(f, sizeof(f), "%s", e->field);
            snprintf(e->field, sizeof(e->field), "position.%.50s", f);
            return -1;
        }
        pisland = jsonx_str(pos, "island_id");
        if (!places_island_id_valid(pisland))
            return err_invalid(e, "position.island_id", "海岛编号须为 1–64 位 a-z 0-9 _");
        json_t *la = json_object_get(pos, "lat"), *lo = json_object_get(pos, "lon");
        if ((la && !json_is_null(la)) != (lo && !json_is_null(lo)))
            return err_invalid(e, "position.lat", "lat 与 lon 须同时给出");
        if (la && !json_is_null(la)) {
            lat = json_number_value(la);
            lon = json_number_value(lo);
            if (lat < -90 || lat > 90) return err_invalid(e, "position.lat", "纬度须在 −90…90");
            if (lon < -180 || lon > 180) return err_invalid(e, "position.lon", "经度须在 −180…180");
        }
    }
    int64_t id = 0;
    if (agents_of_user(d, user_id, &id, e) != 0) return -1;
    if (!id) return err_notfound(e, "您的账号尚未登记为代办员，请联系乡镇工作人员");
    json_t *before = agents_get(d, id, e);
    if (!before) return -1;
    assist_pubs pubs = {0};
    int64_t now_t = time_now();
    char now[32];
    time_iso(now, sizeof(now), now_t);
    char oid[32];
    snprintf(oid, sizeof(oid), "%lld", (long long)id);
    if (db_begin(d, e) != 0) {
        json_decref(before);
        return -1;
    }
    if (pisland) {
        int64_t one = 0;
        int r = db_query_int(d, e, &one, "SELECT 1 FROM islands WHERE id = $1", "s", pisland);
        if (r != 0) {
            if (r > 0) err_invalid(e, "position.island_id", "没有海岛“%.64s”", pisland);
            goto fail;
        }
    }
    json_t *on = json_object_get(in, "on_duty");
    if (on) {
        int v = json_is_true(on);
        int was = json_is_true(json_object_get(before, "on_duty"));
        if (db_execf(d, e, "UPDATE agents SET on_duty = $1, updated_at = $2 WHERE id = $3", "isi",
                     (int64_t)v, now, id) != 0)
            goto fail;
        if (v != was) {
            json_t *b = json_pack("{s:b}", "on_duty", was), *a = json_pack("{s:b}", "on_duty", v);
            int ar = audit_record(d, actor, "agent.duty", "agent", oid, b, a, e);
            json_decref(b);
            json_decref(a);
            if (ar != 0) goto fail;
            if (!v && assist_agent_released(d, actor, id, now_t, &pubs, NULL, e) != 0) goto fail;
        }
    }
    if (pos) {
        int r;
        if (!pisland)
            r = db_execf(d, e,
                         "UPDATE agents SET position_island = NULL, position_lat = NULL, "
                         "position_lon = NULL, position_at = NULL, updated_at = $1 WHERE id = $2",
                         "si", now, id);
        else if (isnan(lat))
            r = db_execf(d, e,
                         "UPDATE agents SET position_island = $1, position_lat = NULL, "
                         "position_lon = NULL, position_at = $2, updated_at = $2 WHERE id = $3",
                         "ssi", pisland, now, id);
        else
            r = db_execf(d, e,
                         "UPDATE agents SET position_island = $1, position_lat = $2, "
                         "position_lon = $3, position_at = $4, updated_at = $4 WHERE id = $5",
                         "sddsi", pisland, lat, lon, now, id);
        if (r != 0) goto fail;
        json_t *a =
            pisland ? json_pack("{s:s}", "island_id", pisland) : json_pack("{s:n}", "island_id");
        int ar = audit_record(d, actor, "agent.position", "agent", oid, NULL, a, e);
        json_decref(a);
        if (ar != 0) goto fail;
    }
    if (db_commit(d, e) != 0) goto fail;
    assist_pubs_flush(&pubs);
    json_decref(before);
    return 0;
fail:
    db_rollback(d);
    assist_pubs_drop(&pubs);
    json_decref(before);
    return -1;
}

/* ---- demo roster ---- */

typedef struct demo_rng {
    uint64_t s;
} demo_rng;

static uint64_t demo_next(demo_rng *r) {
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int demo_pick(demo_rng *r, int n) {
    return (int)(demo_next(r) % (uint64_t)n);
}

static const char *const demo_surnames[] = {
    "王", "李", "张", "陈", "刘", "周", "徐", "孙", "金", "胡", "林", "朱", "何", "郭", "马", "罗",
    "梁", "宋", "郑", "谢", "韩", "唐", "冯", "董", "程", "曹", "袁", "邓", "许", "傅", "沈", "曾",
    "彭", "吕", "苏", "卢", "蒋", "蔡", "丁", "魏", "薛", "叶", "余", "潘", "杜", "戴", "夏", "钟",
    "汪", "任", "姜", "范", "方", "石", "姚", "邹", "陆", "孔", "毛", "邱", "江", "顾", "邵", "孟",
    "钱", "汤", "贺", "虞", "乐", "应", "翁", "邬", "竺", "岑", "舒", "施", "俞", "严", "庄", "鲍"};
static const char *const demo_given[] = {
    "磊",   "伟",   "芳",   "娜",   "敏",   "静",   "丽",   "强",   "军",   "杰",   "涛",   "明",
    "超",   "秀英", "海燕", "建国", "志强", "晓东", "丽萍", "海波", "国庆", "春花", "玲",   "燕",
    "红",   "波",   "斌",   "亮",   "辉",   "鹏",   "霞",   "萍",   "建华", "卫东", "雪",   "婷",
    "琴",   "峰",   "勇",   "刚",   "平",   "宁",   "海军", "渔生", "阿娣", "素珍", "雅琴", "文彬",
    "佳怡", "浩然", "一帆", "晨曦", "海峰", "明珠", "爱国", "桂英", "小燕", "立新", "红梅", "振华"};
/* Department skills as the part of a department's name common to the city's and the
 * counties' offices ("医疗保障局" matches 舟山市医疗保障局 and 岱山县医疗保障局). */
static const char *const demo_departments[] = {
    "人力资源和社会保障局", "医疗保障局", "民政局",       "公安局",
    "住房公积金管理中心",   "卫生健康",   "残疾人联合会", "退役军人事务局"};
static const char *const demo_part_hours[] = {"08:30-11:30,14:00-17:00", "08:30-11:30,14:00-17:00",
                                              "08:00-12:00", "13:30-17:30",
                                              "08:30-11:30,14:00-17:00,18:30-20:30"};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

typedef struct demo_station {
    char id[16], kind[32], village[16], island[72], town[16];
    int64_t village_pop;
    int centre;
    int agents;
    double share; /* population share for the part-time split */
} demo_station;

typedef struct demo_agent {
    int64_t user_id;
    char name[64], phone[16], kind[12], skills[512], hours[64];
    const demo_station *st;
    int capacity, on_duty;
} demo_agent;

static int demo_load_stations(db *d, demo_station **out, int *n_out, err *e) {
    db_stmt *s = db_query(d, e,
                          "SELECT s.id, s.kind, s.village_code, s.island_id, s.town_code, "
                          "v.population, (SELECT COUNT(*) FROM stations s2 WHERE s2.village_code "
                          "= s.village_code) FROM stations s JOIN villages v ON v.code = "
                          "s.village_code ORDER BY s.id",
                          "");
    if (!s) return -1;
    int cap = 512, n = 0, rc;
    demo_station *st = xcalloc((size_t)cap, sizeof(*st));
    while ((rc = db_step(s)) == DB_ROW) {
        if (n == cap) {
            cap *= 2;
            st = xrealloc(st, (size_t)cap * sizeof(*st));
            memset(st + n, 0, (size_t)(cap - n) * sizeof(*st));
        }
        demo_station *x = &st[n++];
        snprintf(x->id, sizeof(x->id), "%s", db_column_text(s, 0));
        snprintf(x->kind, sizeof(x->kind), "%s", db_column_text(s, 1));
        snprintf(x->village, sizeof(x->village), "%s", db_column_text(s, 2));
        snprintf(x->island, sizeof(x->island), "%s", db_column_text(s, 3));
        snprintf(x->town, sizeof(x->town), "%s", db_column_text(s, 4));
        int64_t same = db_column_int64(s, 6);
        x->village_pop = db_column_int64(s, 5) / (same > 0 ? same : 1);
        x->centre = !strcmp(x->kind, PLACES_KIND_CENTRE);
    }
    db_reset(s);
    if (rc == DB_ERROR) {
        free(st);
        return err_internal(e, "读取服务网点失败：%s", db_errmsg(d));
    }
    *out = st;
    *n_out = n;
    return 0;
}

/* How many agents each station gets: 专职 at a town's centre by the town's population
 * (2–10), every other station one 兼职 plus a share of the rest by population
 * (largest remainders, ties to the lower index). */
static void demo_allocate(demo_station *st, int n, int total) {
    int full = 0, others = 0;
    for (int i = 0; i < n; i++) {
        if (!st[i].centre) {
            others++;
            continue;
        }
        int64_t town_pop = 0;
        for (int j = 0; j < n; j++)
            if (!strcmp(st[j].town, st[i].town)) town_pop += st[j].village_pop;
        int k = (int)llround((double)town_pop / 20000.0);
        st[i].agents = k < 2 ? 2 : k > 10 ? 10 : k;
        full += st[i].agents;
    }
    int rest = total - full - others;
    if (!others) { /* only centres: spread what is left over them */
        for (int i = 0; rest > 0 && n > 0; i = (i + 1) % n) {
            st[i].agents++;
            rest--;
        }
        return;
    }
    double pop = 0;
    for (int i = 0; i < n; i++)
        if (!st[i].centre) {
            st[i].agents = 1;
            pop += (double)st[i].village_pop;
        }
    if (rest <= 0 || pop <= 0) return;
    int given = 0;
    for (int i = 0; i < n; i++) {
        if (st[i].centre) continue;
        double exact = rest * (double)st[i].village_pop / pop;
        int whole = (int)floor(exact);
        st[i].agents += whole;
        st[i].share = exact - whole;
        given += whole;
    }
    while (given < rest) {
        int best = -1;
        for (int i = 0; i < n; i++)
            if (!st[i].centre && (best < 0 || st[i].share > st[best].share)) best = i;
        if (best < 0) break;
        st[best].agents++;
        st[best].share = -1;
        given++;
    }
}

static void demo_make_agent(demo_rng *r, const demo_station *st, int full, demo_agent *a) {
    memset(a, 0, sizeof(*a));
    a->st = st;
    snprintf(a->name, sizeof(a->name), "%s%s", demo_surnames[demo_pick(r, NELEM(demo_surnames))],
             demo_given[demo_pick(r, NELEM(demo_given))]);
    snprintf(a->phone, sizeof(a->phone), "13%d%08llu", 5 + demo_pick(r, 5),
             (unsigned long long)(demo_next(r) % 100000000ull));
    snprintf(a->kind, sizeof(a->kind), "%s", full ? "full_time" : "part_time");
    if (full || demo_pick(r, 10) < 4) {
        snprintf(a->skills, sizeof(a->skills), "{\"all\":true}");
    } else {
        int k = 2 + demo_pick(r, 2), first = demo_pick(r, NELEM(demo_departments));
        size_t len = (size_t)snprintf(a->skills, sizeof(a->skills), "{\"departments\":[");
        for (int i = 0; i < k; i++)
            len +=
                (size_t)snprintf(a->skills + len, sizeof(a->skills) - len, "%s\"%s\"", i ? "," : "",
                                 demo_departments[(first + i) % NELEM(demo_departments)]);
        snprintf(a->skills + len, sizeof(a->skills) - len, "]}");
    }
    snprintf(a->hours, sizeof(a->hours), "%s",
             full ? WORKCAL_DEFAULT_SCHEDULE
                  : demo_part_hours[demo_pick(r, NELEM(demo_part_hours))]);
    a->capacity = full ? AGENTS_FULL_TIME_CAPACITY : AGENTS_PART_TIME_CAPACITY;
    a->on_duty = full ? 1 : demo_pick(r, 100) < 88;
}

#define DEMO_ROWS_PER_STMT 60
#define DEMO_COLS          12

static int demo_insert(db *d, const demo_agent *ag, int n, const char *now, err *e) {
    for (int at = 0; at < n; at += DEMO_ROWS_PER_STMT) {
        int k = n - at < DEMO_ROWS_PER_STMT ? n - at : DEMO_ROWS_PER_STMT;
        char sql[DEMO_ROWS_PER_STMT * 96 + 512];
        size_t len = (size_t)snprintf(
            sql, sizeof(sql),
            "INSERT INTO agents (user_id, name, phone, kind, station_id, island_id, town_code, "
            "skills, hours, capacity, on_duty, open_tasks, served_today, created_at, updated_at) "
            "VALUES ");
        for (int i = 0; i < k; i++) {
            int b = i * DEMO_COLS;
            len += (size_t)snprintf(sql + len, sizeof(sql) - len,
                                    "%s($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, 0, "
                                    "0, $%d, $%d)",
                                    i ? ", " : "", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7,
                                    b + 8, b + 9, b + 10, b + 11, b + 12, b + 12);
        }
        db_stmt *s = db_prepare(d, sql, e);
        if (!s) return -1;
        for (int i = 0; i < k; i++) {
            const demo_agent *a = &ag[at + i];
            int b = i * DEMO_COLS;
            if (a->user_id)
                db_bind_int64(s, b + 1, a->user_id);
            else
                db_bind_null(s, b + 1);
            db_bind_text(s, b + 2, a->name);
            db_bind_text(s, b + 3, a->phone);
            db_bind_text(s, b + 4, a->kind);
            db_bind_text(s, b + 5, a->st->id);
            db_bind_text(s, b + 6, a->st->island);
            db_bind_text(s, b + 7, a->st->town);
            db_bind_text(s, b + 8, a->skills);
            db_bind_text(s, b + 9, a->hours);
            db_bind_int64(s, b + 10, a->capacity);
            db_bind_int64(s, b + 11, a->on_duty);
            db_bind_text(s, b + 12, now);
        }
        int rc = db_step(s);
        db_reset(s);
        if (rc == DB_ERROR) return err_internal(e, "写入示例代办员失败：%s", db_errmsg(d));
    }
    return 0;
}

/* The demo login "agent": its id, display name, phone and town (0 id when absent). */
static int demo_agent_user(db *d, int64_t *id, char *name, size_t nn, char *phone, size_t pn,
                           char *town, size_t tn, err *e) {
    *id = 0;
    name[0] = phone[0] = town[0] = '\0';
    db_stmt *s = db_query(d, e,
                          "SELECT id, display_name, phone, town_code FROM users WHERE login = "
                          "'agent' AND role = 'agent'",
                          "");
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ROW) {
        *id = db_column_int64(s, 0);
        snprintf(name, nn, "%s", db_column_text(s, 1) ? db_column_text(s, 1) : "");
        snprintf(phone, pn, "%s", db_column_text(s, 2) ? db_column_text(s, 2) : "");
        snprintf(town, tn, "%s", db_column_text(s, 3) ? db_column_text(s, 3) : "");
    }
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取用户失败");
    return 0;
}

/* Station defaults: opening hours by kind where none were entered, a phone for each
 * town centre without one. */
static int demo_station_defaults(db *d, const demo_station *st, int n, err *e) {
    static const char *const kinds[] = {PLACES_KIND_CENTRE, PLACES_KIND_STATION, PLACES_KIND_AGENT};
    for (size_t i = 0; i < NELEM(kinds); i++)
        if (db_execf(d, e, "UPDATE stations SET hours = $1 WHERE kind = $2 AND hours IS NULL", "ss",
                     station_default_hours(kinds[i]), kinds[i]) != 0)
            return -1;
    for (int i = 0; i < n; i++) {
        if (!st[i].centre) continue;
        uint64_t h = 1469598103934665603ull;
        for (const char *p = st[i].id; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ull;
        char phone[24];
        snprintf(phone, sizeof(phone), "0580-%07llu", (unsigned long long)(h % 10000000ull));
        if (db_execf(d, e, "UPDATE stations SET phone = $1 WHERE id = $2 AND phone IS NULL", "ss",
                     phone, st[i].id) != 0)
            return -1;
    }
    return 0;
}

/* Link the demo login "agent" to a full-time agent of its town's centre (the first one
 * without an account), renamed after the user. *linked gets the user id or 0. */
static int demo_link_user(db *d, int64_t *linked, err *e) {
    *linked = 0;
    int64_t uid;
    char name[129], phone[32], town[16];
    if (demo_agent_user(d, &uid, name, sizeof(name), phone, sizeof(phone), town, sizeof(town), e))
        return -1;
    if (!uid) return 0;
    int64_t have = 0;
    int r = db_query_int(d, e, &have, "SELECT id FROM agents WHERE user_id = $1", "i", uid);
    if (r < 0) return -1;
    if (r == 0) {
        *linked = uid;
        return 0;
    }
    int64_t target = 0;
    r = db_query_int(d, e, &target,
                     "SELECT a.id FROM agents a JOIN stations s ON s.id = a.station_id WHERE "
                     "a.user_id IS NULL AND a.kind = 'full_time' AND s.kind = $1 AND "
                     "a.town_code = $2 ORDER BY a.id LIMIT 1",
                     "ss", PLACES_KIND_CENTRE, town);
    if (r < 0) return -1;
    if (r > 0) {
        r = db_query_int(d, e, &target,
                         "SELECT id FROM agents WHERE user_id IS NULL AND kind = 'full_time' "
                         "ORDER BY id LIMIT 1",
                         "");
        if (r < 0) return -1;
        if (r > 0) return 0;
    }
    if (db_execf(d, e,
                 "UPDATE agents SET user_id = $1, name = $2, phone = $3, on_duty = 1 WHERE id = $4",
                 "issi", uid, name, phone[0] ? phone : NULL, target) != 0)
        return -1;
    *linked = uid;
    return 0;
}

int agents_demo(db *d, const audit_actor *actor, agents_demo_counts *out, err *e) {
    agents_demo_counts c = {0};
    int64_t existing = 0;
    if (db_query_int(d, e, &existing, "SELECT COUNT(*) FROM agents", "") < 0) return -1;
    demo_station *st = NULL;
    int n = 0;
    demo_agent *ag = NULL;
    if (demo_load_stations(d, &st, &n, e) != 0) return -1;
    char now[32];
    now_iso(now, sizeof(now));
    if (db_begin(d, e) != 0) goto fail_free;
    if (existing > 0) {
        c.present = 1;
        db_stmt *s = db_query(d, e,
                              "SELECT COUNT(*), COALESCE(SUM(CASE WHEN kind = 'full_time' THEN 1 "
                              "ELSE 0 END), 0), COALESCE(SUM(on_duty), 0) FROM agents",
                              "");
        if (!s) goto fail;
        if (db_step(s) == DB_ROW) {
            c.agents = db_column_int64(s, 0);
            c.full_time = db_column_int64(s, 1);
            c.part_time = c.agents - c.full_time;
            c.on_duty = db_column_int64(s, 2);
        }
        db_reset(s);
    } else if (n > 0) {
        demo_allocate(st, n, AGENTS_DEMO_TOTAL);
        int total = 0;
        for (int i = 0; i < n; i++)
            total += st[i].agents;
        ag = xcalloc((size_t)(total ? total : 1), sizeof(*ag));
        demo_rng r = {20261128u};
        int k = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < st[i].agents; j++) {
                demo_make_agent(&r, &st[i], st[i].centre, &ag[k]);
                if (st[i].centre)
                    c.full_time++;
                else
                    c.part_time++;
                c.on_duty += ag[k].on_duty;
                k++;
            }
        c.agents = k;
        if (demo_insert(d, ag, k, now, e) != 0) goto fail;
        if (demo_station_defaults(d, st, n, e) != 0) goto fail;
    }
    if (demo_link_user(d, &c.linked_user, e) != 0) goto fail;
    if (!c.present) {
        json_t *after = json_pack("{s:I, s:I, s:I, s:I}", "agents", (json_int_t)c.agents,
                                  "full_time", (json_int_t)c.full_time, "part_time",
                                  (json_int_t)c.part_time, "on_duty", (json_int_t)c.on_duty);
        int ar = audit_record(d, actor, "demo.agents", "agents", "demo", NULL, after, e);
        json_decref(after);
        if (ar != 0) goto fail;
    }
    if (db_commit(d, e) != 0) goto fail;
    free(ag);
    free(st);
    if (out) *out = c;
    return 0;
fail:
    db_rollback(d);
fail_free:
    free(ag);
    free(st);
    return -1;
}
