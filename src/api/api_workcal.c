/* api_workcal: the public working-day calendar (工作日历). Handlers check the
 * query parameters, ask src/workcal/'s process-wide calendar and encode the
 * answer; nothing is stored.
 *
 *   GET /api/v1/workcal/add?date=YYYY-MM-DD&days=N     public
 *   GET /api/v1/workcal/between?from=YYYY-MM-DD&to=…   public
 *
 * "estimated": true marks an answer that used a year without a holiday file
 * (weekends only). */
#include <stdio.h>

#include "api/api.h"
#include "workcal/workcal.h"

/* The shared calendar, or NULL after replying 500. The reason (file, field, and the
 * server's paths) goes to the server log only, written by workcal_default(). */
static const workcal *calendar(http_req *r) {
    err e = {0};
    const workcal *cal = workcal_default(&e);
    if (!cal)
        http_reply_error(r, 500, "internal", "", "工作日历不可用：节假日文件有误，详见服务器日志");
    return cal;
}

/* A required YYYY-MM-DD parameter. -1 after replying 400 naming it. */
static int date_param(http_req *r, const char *name, workcal_date *out) {
    const char *v = http_query(r, name);
    if (v && workcal_date_parse(v, out) == 0) return 0;
    http_reply_error(r, 400, "invalid_argument", name, "%s 须为 %d–%d 年的日期 YYYY-MM-DD", name,
                     WORKCAL_YEAR_MIN, WORKCAL_YEAR_MAX);
    return -1;
}

static json_t *number(double v) {
    return v == (double)(long long)v ? json_integer((long long)v) : json_real(v);
}

static void workcal_add_get(http_req *r) {
    workcal_date from, to;
    double days;
    if (date_param(r, "date", &from) != 0) return;
    const char *d = http_query(r, "days");
    if (!d || workcal_days_parse(d, &days) != 0) {
        http_reply_error(r, 400, "invalid_argument", "days",
                         "days 须为 0–%d 的工作日数，以 0.5 为单位", WORKCAL_MAX_DAYS);
        return;
    }
    const workcal *cal = calendar(r);
    if (!cal) return;
    err e = {0};
    if (workcal_add_days(cal, from, days, &to, &e) != 0) {
        http_reply_err(r, &e);
        return;
    }
    int end = workcal_ends_at(cal, days);
    char a[16], b[16], deadline[64];
    workcal_date_format(from, a, sizeof(a));
    workcal_date_format(to, b, sizeof(b));
    snprintf(deadline, sizeof(deadline), "%sT%02d:%02d:00+08:00", b, end / 60 % 100, end % 60);
    http_reply_json(r, 200,
                    json_pack("{s:s, s:o, s:s, s:s, s:b}", "date", a, "days", number(days),
                              "result", b, "deadline", deadline, "estimated",
                              !workcal_covers(cal, from, to)));
}

static void workcal_between_get(http_req *r) {
    workcal_date from, to;
    if (date_param(r, "from", &from) != 0 || date_param(r, "to", &to) != 0) return;
    const workcal *cal = calendar(r);
    if (!cal) return;
    char a[16], b[16];
    http_reply_json(r, 200,
                    json_pack("{s:s, s:s, s:I, s:b}", "from",
                              workcal_date_format(from, a, sizeof(a)), "to",
                              workcal_date_format(to, b, sizeof(b)), "working_days",
                              (json_int_t)workcal_between(cal, from, to), "estimated",
                              !workcal_covers(cal, from, to)));
}

const http_route api_workcal_routes[] = {
    {M_GET, "/api/v1/workcal/add", workcal_add_get, 0, ROUTE_PUBLIC, 0, NULL},
    {M_GET, "/api/v1/workcal/between", workcal_between_get, 0, ROUTE_PUBLIC, 0, NULL},
};
const size_t api_workcal_route_count = sizeof(api_workcal_routes) / sizeof(api_workcal_routes[0]);
