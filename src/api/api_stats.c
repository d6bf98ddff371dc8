/* api_stats: the indicators (src/stats/). Public aggregates: no personal data.
 *
 *   GET /api/v1/stats/services?from=&to=&department=&town=&item=&channel=&by=
 *        the 一网通办 service indicators over a window (Shanghai dates, both
 *        included; default the last 365 days), optionally split by department,
 *        town, item or channel. Public; one combination is staff-only: a single
 *        item within a single town (town with item, or a split by item within a
 *        town, or by town within an item), where a handful of cases can point at
 *        the people behind them. Unknown parameters are refused (400 naming them),
 *        so a typo never silently widens the selection.
 *   GET /api/v1/stats/trading?from=&to=&kind=
 *        the 公共资源交易 indicators (projects, amount, savings, 增幅, e-rate,
 *        remote openings, CA mutual recognition, failures), by kind and by month.
 *        Public: aggregates only. Unknown parameters are refused.
 *   GET /api/v1/stats/indicators
 *        the registry: id, name, definition, unit, target, direction, dimensions. */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "base/timeutil.h"
#include "stats/stats.h"

#define STATS_STAFF (ROLE_STAFF | ROLE_APPROVER | ROLE_SUPERVISOR | ROLE_ADMIN)

static const char *const service_params[] = {"from", "to",      "department", "town",
                                             "item", "channel", "by",         NULL};

/* 0 when every query parameter name is one of allowed; else replies 400 naming it. */
static int only_known_params(http_req *r, const char *const *allowed) {
    const char *p = r->raw_query;
    while (p && *p) {
        size_t len = strcspn(p, "&"), name_len = strcspn(p, "=&");
        if (name_len > len) name_len = len;
        int ok = name_len == 0;
        for (int i = 0; !ok && allowed[i]; i++)
            ok = strlen(allowed[i]) == name_len && !strncmp(allowed[i], p, name_len);
        if (!ok) {
            char name[48];
            size_t n = name_len < sizeof(name) - 1 ? name_len : sizeof(name) - 1;
            size_t k = 0;
            for (size_t i = 0; i < n; i++)
                if ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
                    (p[i] >= '0' && p[i] <= '9') || p[i] == '_' || p[i] == '-')
                    name[k++] = p[i];
            name[k] = '\0';
            char list[160] = "";
            for (int i = 0; allowed[i]; i++)
                snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? "、" : "",
                         allowed[i]);
            http_reply_error(r, 400, "invalid_argument", k ? name : "query",
                             "未知的查询参数%s%s（可用：%s）", k ? " " : "", name, list);
            return -1;
        }
        p += len;
        if (*p == '&') p++;
    }
    return 0;
}

/* A query parameter, with "" read as absent. */
static const char *param(http_req *r, const char *name) {
    const char *v = http_query(r, name);
    return v && *v ? v : NULL;
}

static void services(http_req *r) {
    if (only_known_params(r, service_params) != 0) return;
    err e = {0};
    stats_filter f;
    stats_dim by;
    if (stats_filter_parse(&f, param(r, "from"), param(r, "to"), param(r, "department"),
                           param(r, "town"), param(r, "item"), param(r, "channel"), time_now(),
                           &e) != 0 ||
        stats_dim_parse(param(r, "by"), &by, &e) != 0) {
        http_reply_err(r, &e);
        return;
    }
    int narrow = (f.town_code && (f.item_code || by == STATS_DIM_ITEM)) ||
                 (f.item_code && by == STATS_DIM_TOWN);
    if (narrow && !http_has_role(r, STATS_STAFF)) {
        http_reply_error(r, r->user.id ? 403 : 401,
                         r->user.id ? "permission_denied" : "unauthenticated", "town",
                         "单个乡镇内单个事项的统计仅向工作人员开放（样本过小可能指向个人）");
        return;
    }
    json_t *o = stats_services_json(r->db, &f, by, &e);
    if (!o) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, o);
}

static const char *const trading_params[] = {"from", "to", "kind", NULL};

/* GET /api/v1/stats/trading?from=&to=&kind= — public aggregates of the trading side. */
static void trading(http_req *r) {
    if (only_known_params(r, trading_params) != 0) return;
    err e = {0};
    json_t *o = stats_trading_json(r->db, param(r, "from"), param(r, "to"), param(r, "kind"),
                                   time_now(), &e);
    if (!o) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, o);
}

static void indicators(http_req *r) {
    http_reply_json(r, 200, json_pack("{s:o}", "items", stats_indicators_json()));
}

const http_route api_stats_routes[] = {
    {M_GET, "/api/v1/stats/services", services, 0, ROUTE_PUBLIC | ROUTE_OPTIONAL_AUTH},
    {M_GET, "/api/v1/stats/indicators", indicators, 0, ROUTE_PUBLIC},
    {M_GET, "/api/v1/stats/trading", trading, 0, ROUTE_PUBLIC | ROUTE_OPTIONAL_AUTH},
};
const size_t api_stats_route_count = sizeof(api_stats_routes) / sizeof(api_stats_routes[0]);
