/* demo.c: the demo year of applications (see demo.h for what it contains and
 * why it writes one audit row per batch).
 *
 * Each case is simulated as a timeline of events with instants computed on the
 * working-day calendar, then cut at "now": what happened by then is the case's
 * state. Rows are buffered per table for one batch and written in dependency
 * order (users, cases, licences, materials, events, ratings, scores, tickets)
 * with multi-row INSERTs. The statement text is built from the constant column
 * lists below — never from data; every value is a bound parameter. */
#include "cases/demo.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "auth/roles.h"
#include "base/idcard.h"
#include "base/log.h"
#include "base/rng.h"
#include "db/bulk.h"
#include "base/timeutil.h"
#include "base/xmalloc.h"
#include "cases/cases.h"
#include "stats/stats.h"
#include "workcal/workcal.h"

#define DAY                86400LL
#define DEMO_PASSWORD_HASH "!demo-applicant:no-password-matches"
#define MAX_EVENTS         20

/* ---- deterministic randomness (base/rng.h: splitmix64) ---- */

#define U(r)               rng_unit(r)
#define uniform(r, lo, hi) rng_uniform((r), (lo), (hi))
#define pick(r, n)         rng_pick((r), (n))

/* Index into a cumulative weight table (ascending, last = total). */
static int pick_cdf(rng *r, const double *cdf, int n) {
    double x = U(r) * cdf[n - 1];
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (cdf[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* A stable number in [0, 1) from a string (FNV-1a): item popularity. */
static double hash01(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (double)(h >> 11) / 9007199254740992.0;
}

/* ---- reference data ---- */

typedef struct material {
    char name[160];
    int licence; /* index into the licence types, -1 none */
    int required, form;
} material;

typedef struct item {
    char code[48], name[200], department[160];
    int version, visits, commitment, instant;
    double legal, promise, company_share;
    material *mats;
    int nmats;
} item;

typedef struct town {
    char code[16], name[64], county[32], county_code[8];
    int street; /* 街道 (urban) */
} town;

typedef struct person {
    int64_t id;
    int company, town;
    char name[96], id_number[20], phone[16], credit[20];
} person;

typedef struct licence_type {
    char type[96], issuer[160];
} licence_type;

typedef struct demo {
    db *d;
    const workcal *cal;
    rng r;
    int64_t now;
    double day_hours; /* working hours in a day (7.5) */
    item *items;
    int nitems;
    double *item_cdf;
    town *towns;
    int ntowns;
    double *town_cdf;
    person *people;
    int npeople, ncitizens;
    int *citizens, *companies; /* indexes into people */
    int ncompanies;
    licence_type *ltypes;
    int nltypes;
    int64_t *wallet; /* [person * nltypes + type] → licence id, 0 none */
    int64_t days0;   /* instant of the first day's Shanghai midnight */
    int ndays;
    double *cdf_online, *cdf_office;
    int64_t staff_id, approver_id, agent_id;
    int64_t next_case, next_user, next_licence, next_rating;
    db_bulk users, cases, licences, materials, events, ratings, scores, tickets;
    cases_demo_counts counts;
} demo;

static int load_items(demo *g, err *e) {
    db_stmt *s = db_query(g->d, e,
                          "SELECT code, name, department, type, legal_days, promise_days, visits, "
                          "commitment, instant, version, doc FROM catalog_items "
                          "WHERE online_depth >= 2 ORDER BY code",
                          "");
    if (!s) return -1;
    int cap = 0, rc;
    while ((rc = db_step(s)) == DB_ROW) {
        if (g->nitems == cap) {
            cap = cap ? 2 * cap : 512;
            g->items = xrealloc(g->items, (size_t)cap * sizeof(item));
        }
        item *it = &g->items[g->nitems++];
        memset(it, 0, sizeof(*it));
        snprintf(it->code, sizeof(it->code), "%s", db_column_text(s, 0));
        snprintf(it->name, sizeof(it->name), "%s", db_column_text(s, 1));
        snprintf(it->department, sizeof(it->department), "%s", db_column_text(s, 2));
        const char *type = db_column_text(s, 3) ? db_column_text(s, 3) : "";
        it->legal = db_column_double(s, 4);
        it->promise = db_column_double(s, 5);
        it->visits = (int)db_column_int64(s, 6);
        it->commitment = (int)db_column_int64(s, 7);
        it->instant = (int)db_column_int64(s, 8);
        it->version = (int)db_column_int64(s, 9);
        /* Who applies: enterprises for market, tax, port and transport matters and
         * for half of the licences; people for the rest. */
        const char *dep = it->department;
        it->company_share = strstr(dep, "市场监督") || strstr(dep, "税务") || strstr(dep, "港航") ||
                                    strstr(dep, "交通运输")
                                ? 0.7
                            : !strcmp(type, "行政许可") ? 0.45
                                                        : 0.08;
        /* Popularity: service type × department volume × a stable long-tail factor. */
        double tf = !strcmp(type, "公共服务")       ? 2.0
                    : !strcmp(type, "行政确认")     ? 1.6
                    : !strcmp(type, "行政给付")     ? 0.8
                    : !strcmp(type, "行政许可")     ? 1.0
                    : !strcmp(type, "其他行政权力") ? 1.0
                                                    : 0.2;
        double df = strstr(dep, "公安")       ? 2.0
                    : strstr(dep, "人力资源") ? 1.8
                    : strstr(dep, "医疗保障") ? 1.8
                    : strstr(dep, "公积金")   ? 1.6
                    : strstr(dep, "市场监督") ? 1.5
                    : strstr(dep, "税务")     ? 1.3
                                              : 1.0;
        double h = 0.25 + 1.5 * hash01(it->code);
        double w = tf * df * h * h * pow(1 + it->legal / 30, -0.2);
        json_t *doc = json_loads(db_column_text(s, 10) ? db_column_text(s, 10) : "{}", 0, NULL);
        json_t *mats = json_object_get(doc, "materials");
        it->nmats = (int)json_array_size(mats);
        it->mats = xcalloc(it->nmats ? (size_t)it->nmats : 1, sizeof(material));
        size_t i;
        json_t *m;
        json_array_foreach(mats, i, m) {
            material *mt = &it->mats[i];
            const char *name = json_string_value(json_object_get(m, "name"));
            const char *form = json_string_value(json_object_get(m, "form"));
            const char *lic = json_string_value(json_object_get(m, "licence"));
            snprintf(mt->name, sizeof(mt->name), "%s", name ? name : "");
            mt->required = json_is_true(json_object_get(m, "required"));
            mt->form = (form && !strcmp(form, "表格")) ||
                       (name && (strstr(name, "申请表") || strstr(name, "申请书") ||
                                 strstr(name, "登记表") || strstr(name, "申报表")));
            mt->licence = -1;
            if (lic && *lic) {
                int k = 0;
                while (k < g->nltypes && strcmp(g->ltypes[k].type, lic) != 0)
                    k++;
                if (k == g->nltypes) {
                    g->ltypes = xrealloc(g->ltypes, (size_t)(k + 1) * sizeof(licence_type));
                    snprintf(g->ltypes[k].type, sizeof(g->ltypes[k].type), "%s", lic);
                    snprintf(g->ltypes[k].issuer, sizeof(g->ltypes[k].issuer), "%s",
                             "舟山市政务服务中心");
                    g->nltypes++;
                }
                mt->licence = k;
            }
        }
        json_decref(doc);
        g->item_cdf = xrealloc(g->item_cdf, (size_t)g->nitems * sizeof(double));
        g->item_cdf[g->nitems - 1] = (g->nitems > 1 ? g->item_cdf[g->nitems - 2] : 0) + w;
    }
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取事项失败：%s", db_errmsg(g->d));
    if (!g->nitems)
        return err_set(e, 409, "conflict", "catalog", "目录中没有可网上申请的事项，请先导入目录");
    /* Issuers of the licence types, from the catalog when it has them. */
    for (int k = 0; k < g->nltypes; k++) {
        db_stmt *q = db_query(g->d, e, "SELECT issuer FROM catalog_licences WHERE type = $1", "s",
                              g->ltypes[k].type);
        if (!q) return -1;
        if (db_step(q) == DB_ROW && db_column_text(q, 0))
            snprintf(g->ltypes[k].issuer, sizeof(g->ltypes[k].issuer), "%s", db_column_text(q, 0));
        db_reset(q);
    }
    return 0;
}

static int load_towns(demo *g, err *e) {
    db_stmt *s = db_query(g->d, e,
                          "SELECT t.code, t.name, t.county, t.county_code, t.kind, "
                          "COALESCE((SELECT SUM(v.population) FROM villages v "
                          "WHERE v.town_code = t.code), 0) FROM towns t ORDER BY t.code",
                          "");
    if (!s) return -1;
    int cap = 0, rc;
    while ((rc = db_step(s)) == DB_ROW) {
        if (g->ntowns == cap) {
            cap = cap ? 2 * cap : 64;
            g->towns = xrealloc(g->towns, (size_t)cap * sizeof(town));
            g->town_cdf = xrealloc(g->town_cdf, (size_t)cap * sizeof(double));
        }
        town *t = &g->towns[g->ntowns];
        snprintf(t->code, sizeof(t->code), "%s", db_column_text(s, 0));
        snprintf(t->name, sizeof(t->name), "%s", db_column_text(s, 1));
        snprintf(t->county, sizeof(t->county), "%s", db_column_text(s, 2));
        snprintf(t->county_code, sizeof(t->county_code), "%s", db_column_text(s, 3));
        t->street = db_column_text(s, 4) && !strcmp(db_column_text(s, 4), "街道");
        double pop = db_column_double(s, 5);
        if (pop <= 0) pop = 3000; /* no villages loaded: equal weights */
        g->town_cdf[g->ntowns] = (g->ntowns ? g->town_cdf[g->ntowns - 1] : 0) + pop;
        g->ntowns++;
    }
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取乡镇失败：%s", db_errmsg(g->d));
    if (!g->ntowns)
        return err_set(e, 409, "conflict", "towns", "没有乡镇数据，请先导入 data/zhoushan");
    return 0;
}

static int64_t user_id(demo *g, const char *login) {
    int64_t id = 0;
    if (db_query_int(g->d, NULL, &id, "SELECT id FROM users WHERE login = $1", "s", login) != 0)
        return 0;
    return id;
}

/* ---- the calendar of a year: how busy each day is ---- */

static void build_days(demo *g) {
    workcal_date today = workcal_local_date(g->now);
    int64_t t_today = workcal_local_instant(today, 0);
    g->ndays = 365;
    g->days0 = t_today - (g->ndays - 1) * DAY;
    g->cdf_online = xcalloc((size_t)g->ndays, sizeof(double));
    g->cdf_office = xcalloc((size_t)g->ndays, sizeof(double));
    /* Months: spring and autumn peaks (开学, 社保年度, 工程开工), a year-end rush. */
    static const double month[13] = {0,    1.10, 1.0,  1.30, 1.05, 1.0, 1.0,
                                     0.95, 1.0,  1.25, 1.0,  1.05, 1.10};
    double *w_on = xcalloc((size_t)g->ndays, sizeof(double));
    double *w_off = xcalloc((size_t)g->ndays, sizeof(double));
    int *spring = xcalloc((size_t)g->ndays, sizeof(int));
    for (int i = 0; i < g->ndays; i++) {
        workcal_date dt = workcal_local_date(g->days0 + i * DAY + 12 * 3600);
        workcal_day info;
        if (workcal_day_info(g->cal, dt, &info, NULL) != 0) info.workday = 1, info.name = NULL;
        double m = month[dt.month];
        int festival = info.name && strstr(info.name, "春节");
        spring[i] = festival && !info.workday;
        if (info.workday) {
            w_on[i] = m;
            w_off[i] = m;
        } else if (info.name && (strstr(info.name, "春节") || strstr(info.name, "国庆"))) {
            w_on[i] = 0.12 * m; /* the great holidays: hardly anyone */
        } else if (info.name) {
            w_on[i] = 0.3 * m; /* 清明, 劳动节, 端午, 中秋, 元旦 */
        } else {
            w_on[i] = 0.35 * m; /* an ordinary weekend */
        }
    }
    /* The working week before 春节: people travel home, offices wind down. */
    for (int i = 0; i < g->ndays; i++) {
        if (!spring[i] || (i > 0 && spring[i - 1])) continue;
        for (int k = 1; k <= 7 && i - k >= 0; k++) {
            w_on[i - k] *= 0.7;
            w_off[i - k] *= 0.6;
        }
    }
    for (int i = 0; i < g->ndays; i++) {
        g->cdf_online[i] = (i ? g->cdf_online[i - 1] : 0) + w_on[i];
        g->cdf_office[i] = (i ? g->cdf_office[i - 1] : 0) + w_off[i];
    }
    free(w_on);
    free(w_off);
    free(spring);
}

/* A submission instant on day i: any hour online (evenings too), office hours at a
 * window or station. 0 when it would lie after now. */
static int64_t submit_instant(demo *g, int day, int office) {
    int64_t start = g->days0 + day * DAY;
    int64_t t;
    if (office) {
        workcal_schedule sc = workcal_get_schedule(g->cal);
        int total = 0;
        for (int i = 0; i < sc.nsessions; i++)
            total += sc.sessions[i].close - sc.sessions[i].open;
        int m = pick(&g->r, total > 0 ? total : 1), i = 0;
        while (i < sc.nsessions - 1 && m >= sc.sessions[i].close - sc.sessions[i].open) {
            m -= sc.sessions[i].close - sc.sessions[i].open;
            i++;
        }
        t = start + (int64_t)(sc.sessions[i].open + m) * 60 + pick(&g->r, 60);
    } else {
        static const double hours[24] = {0.2, 0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.8,
                                         1.5, 2.2, 2.3,  2.0,  1.2,  1.3, 2.0, 2.1,
                                         2.0, 1.6, 1.0,  1.2,  1.4,  1.3, 0.9, 0.5};
        double cdf[24];
        for (int h = 0; h < 24; h++)
            cdf[h] = (h ? cdf[h - 1] : 0) + hours[h];
        int h = pick_cdf(&g->r, cdf, 24);
        t = start + h * 3600 + pick(&g->r, 3600);
    }
    return t <= g->now ? t : 0;
}

/* t plus hours of working time (the calendar's rule: counted from the next opening). */
static int64_t work_after(demo *g, int64_t t, double hours) {
    int64_t out;
    if (hours < 0) hours = 0;
    if (workcal_add_hours(g->cal, t, hours, &out, NULL) != 0) return t;
    return out;
}

/* ---- people ---- */

static const char *const surnames[] = {
    "王", "张", "李", "陈", "林", "徐", "周", "胡", "刘", "杨", "金", "虞", "乐", "邬", "孙", "吴",
    "郑", "朱", "黄", "何", "应", "方", "钱", "贺", "夏", "竺", "俞", "戴", "丁", "沈", "傅", "叶"};
static const char *const given[] = {
    "海", "波", "明", "丽", "军", "芳", "建", "国", "华", "英", "伟", "敏", "静", "强", "磊", "娟",
    "涛", "燕", "杰", "红", "勇", "霞", "平", "琴", "斌", "蓉", "舟", "岚", "渔", "航", "帆", "潮"};
static const char *const firm_words[] = {"海丰", "东港", "鑫海", "渔丰", "蓝港", "顺达",
                                         "兴舟", "远洋", "金沙", "海星", "普安", "岱衢",
                                         "嵊泰", "甬舟", "恒通", "宏远"};
static const char *const firm_trades[] = {"水产", "船舶修造", "海运",     "贸易",
                                          "建设", "旅游开发", "食品",     "物流",
                                          "渔业", "电子商务", "海洋科技", "酒店管理"};

static void make_person(demo *g, person *p, int index, int company) {
    memset(p, 0, sizeof(*p));
    p->company = company;
    /* One resident in every town first, so that every town has applications; then by
     * population. */
    p->town = !company && index < g->ntowns ? index : pick_cdf(&g->r, g->town_cdf, g->ntowns);
    const town *t = &g->towns[p->town];
    snprintf(p->phone, sizeof(p->phone), "1%c%09llu", "3589"[pick(&g->r, 4)],
             (unsigned long long)(rng_next(&g->r) % 1000000000ull));
    if (company) {
        static const char *const kinds[] = {"", "实业", "发展", "科技"};
        if (index < 768)
            snprintf(p->name, sizeof(p->name), "舟山%s%s%s有限公司", firm_words[index % 16],
                     firm_trades[(index / 16) % 12], kinds[index / 192]);
        else
            snprintf(p->name, sizeof(p->name), "舟山%s%s第%d有限公司", firm_words[index % 16],
                     firm_trades[(index / 16) % 12], index / 192);
        /* 统一社会信用代码: 91 + 330900-area + MA + 8 characters from the index. */
        static const char alnum[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
        char tail[9];
        unsigned v = (unsigned)index * 2654435761u;
        for (int i = 0; i < 8; i++) {
            tail[i] = alnum[v % 31];
            v = v / 31 + (unsigned)index * 7u + (unsigned)i;
        }
        tail[8] = '\0';
        snprintf(p->credit, sizeof(p->credit), "91%.6sMA%s", t->county_code, tail);
        return;
    }
    snprintf(p->name, sizeof(p->name), "%s%s%s", surnames[pick(&g->r, 32)], given[pick(&g->r, 32)],
             U(&g->r) < 0.6 ? given[pick(&g->r, 32)] : "");
    /* Resident ID: the county's region code, a birth date 18–83 years back that no
     * other demo person shares (7919 is prime, so i·7919 mod 24000 never repeats
     * for i < 24000), a sequence from 500 (clear of the named demo accounts). */
    workcal_date today = workcal_local_date(g->now);
    int64_t young = workcal_local_instant((workcal_date){today.year - 18, 1, 1}, 0);
    int64_t born = young - (int64_t)(((int64_t)index * 7919) % 24000) * DAY;
    workcal_date b = workcal_local_date(born + 12 * 3600);
    char first17[64];
    snprintf(first17, sizeof(first17), "%.6s%04d%02d%02d%03d", t->county_code, b.year % 10000,
             b.month % 100, b.day % 100, 500 + pick(&g->r, 500));
    first17[17] = '\0';
    memcpy(p->id_number, first17, 17);
    p->id_number[17] = idcard_check_char(first17);
    p->id_number[18] = '\0';
}

static void add_people(demo *g, int count) {
    g->ncitizens = count / 10 < 200 ? 200 : count / 10 > 20000 ? 20000 : count / 10;
    g->ncompanies = count / 40 < 60 ? 60 : count / 40 > 5000 ? 5000 : count / 40;
    g->npeople = g->ncitizens + g->ncompanies;
    g->people = xcalloc((size_t)g->npeople, sizeof(person));
    g->citizens = xcalloc((size_t)g->ncitizens, sizeof(int));
    g->companies = xcalloc((size_t)g->ncompanies, sizeof(int));
    int64_t created = g->now - 400 * DAY;
    for (int i = 0; i < g->npeople; i++) {
        int company = i >= g->ncitizens;
        int index = company ? i - g->ncitizens : i;
        person *p = &g->people[i];
        make_person(g, p, index, company);
        p->id = g->next_user++;
        if (company)
            g->companies[index] = i;
        else
            g->citizens[index] = i;
        char login[32];
        snprintf(login, sizeof(login), "demo.%c%05d", company ? 'e' : 'p', index + 1);
        db_bulk *t = &g->users;
        db_bulk_int(t, p->id);
        db_bulk_text(t, login);
        db_bulk_text(t, p->name);
        db_bulk_text(t, company ? "company" : "citizen");
        db_bulk_text(t, DEMO_PASSWORD_HASH);
        if (company)
            db_bulk_null(t);
        else
            db_bulk_text(t, p->id_number);
        db_bulk_text(t, p->phone);
        db_bulk_text(t, g->towns[p->town].code);
        db_bulk_int(t, 0);
        db_bulk_time(t, created);
        db_bulk_time(t, created);
        db_bulk_time(t, created);
        if (company)
            g->counts.companies++;
        else
            g->counts.people++;
    }
    g->wallet =
        xcalloc((size_t)g->npeople * (size_t)(g->nltypes ? g->nltypes : 1), sizeof(int64_t));
}

/* The applicant's licence of type k (added to the wallet the first time). */
static int64_t wallet_licence(demo *g, int pi, int k, int64_t before) {
    int64_t *slot = &g->wallet[(size_t)pi * (size_t)g->nltypes + (size_t)k];
    if (*slot) return *slot;
    const person *p = &g->people[pi];
    const licence_type *lt = &g->ltypes[k];
    int64_t issued = before - (int64_t)uniform(&g->r, 60, 12 * 365) * DAY;
    workcal_date di = workcal_local_date(issued);
    char date[16], number[64];
    workcal_date_format(di, date, sizeof(date));
    if (!strcmp(lt->type, "居民身份证") && !p->company)
        snprintf(number, sizeof(number), "%s", p->id_number);
    else if (!strcmp(lt->type, "营业执照") && p->company)
        snprintf(number, sizeof(number), "%s", p->credit);
    else
        snprintf(number, sizeof(number), "ZSL%04d%02d%02d%06llu", di.year, di.month, di.day,
                 (unsigned long long)(rng_next(&g->r) % 1000000ull));
    *slot = g->next_licence++;
    db_bulk *t = &g->licences;
    db_bulk_int(t, *slot);
    db_bulk_int(t, p->id);
    db_bulk_text(t, lt->type);
    db_bulk_text(t, number);
    db_bulk_text(t, lt->issuer);
    db_bulk_text(t, p->name);
    db_bulk_text(t, date);
    db_bulk_null(t);
    db_bulk_text(t, "valid");
    db_bulk_text(t, "demo");
    db_bulk_null(t);
    db_bulk_text(t, "{}");
    db_bulk_time(t, issued);
    db_bulk_time(t, issued);
    g->counts.licences++;
    return *slot;
}

/* ---- one case ---- */

enum { A_NONE, A_APPLICANT, A_STAFF, A_APPROVER, A_AGENT };

typedef struct event {
    int64_t at;
    const char *action, *from, *to, *reason;
    int actor;
} event;

typedef struct sim {
    event ev[MAX_EVENTS];
    int n;
    const char *status; /* while building: the status after the last event */
} sim;

static void add(sim *s, int64_t at, const char *action, const char *to, int actor,
                const char *reason) {
    if (s->n == MAX_EVENTS) return;
    event *v = &s->ev[s->n++];
    v->at = at;
    v->action = action;
    v->from = s->status;
    v->to = to;
    v->actor = actor;
    v->reason = reason;
    s->status = to;
}

static const char *const return_reasons[] = {"材料不齐全，请补充上传身份证明材料",
                                             "申请表信息与证照信息不一致，请核对后重新提交",
                                             "上传材料不清晰，请重新上传"};
static const char *const reject_reasons[] = {"不属于本部门职责范围，请向属地部门申请",
                                             "申请事项不符合受理条件"};
static const char *const deny_reasons[] = {"经审查不符合法定条件，不予许可",
                                           "现场核查与申报情况不符，不予批准"};
static const char *const suspend_reasons[] = {"等待专家评审", "需现场核查，等待核查结果",
                                              "依法需公示，公示期间中止计时"};

/* Deadline of promise working days for something accepted at t (start_clock's rule). */
static int64_t deadline_of(demo *g, int64_t t, double promise) {
    double days = promise > WORKCAL_MAX_DAYS ? WORKCAL_MAX_DAYS : promise;
    days = floor(days * 2 + 0.5) / 2;
    int64_t due;
    if (workcal_deadline(g->cal, t, days, &due, NULL) != 0) return 0;
    return due;
}

static const char *rating_comment(rng *r, int overall) {
    static const char *const bad[] = {
        "审批时间太长，多次催办没有回音", "网上申请页面操作复杂，材料上传失败了好几次",
        "办事指南和实际要求不一致，来回补了两次材料", "窗口工作人员解释不清楚"};
    static const char *const good[] = {"全程网办，不用跑腿，点赞", "办事效率高，当天就办好了",
                                       "便民服务站帮忙代办，很方便", "指南清楚，一次就通过了"};
    if (overall <= 2) return bad[(int)(U(r) * 4)];
    if (overall == 5 && U(r) < 0.25) return good[(int)(U(r) * 4)];
    return NULL;
}

static int rating_overall(rng *r, int late, int denied) {
    double x = U(r);
    if (late) return x < 0.25 ? (x < 0.1 ? 1 : 2) : x < 0.45 ? 3 : x < 0.75 ? 4 : 5;
    if (denied) return x < 0.15 ? (x < 0.06 ? 1 : 2) : x < 0.35 ? 3 : x < 0.6 ? 4 : 5;
    return x < 0.01 ? 1 : x < 0.025 ? 2 : x < 0.05 ? 3 : x < 0.18 ? 4 : 5;
}

static void add_rating(demo *g, int64_t case_id, const person *p, const item *it,
                       const char *channel, int64_t finished, int late, int denied) {
    int64_t at = finished + (int64_t)uniform(&g->r, 600, 3 * DAY);
    if (at > g->now) return;
    int overall = rating_overall(&g->r, late, denied);
    int64_t rid = g->next_rating++;
    static const char *const online_dims[] = {"efficiency", "guide_accuracy", "convenience",
                                              "usability", NULL};
    static const char *const offline_dims[] = {"service_efficiency", "service_level",
                                               "service_attitude", NULL};
    const char *const *dims = !strcmp(channel, "online") ? online_dims : offline_dims;
    json_t *dj = json_object();
    for (int i = 0; dims[i]; i++) {
        double x = U(&g->r);
        int sc = overall + (x < 0.1 ? -1 : x > 0.9 ? 1 : 0);
        sc = sc < 1 ? 1 : sc > 5 ? 5 : sc;
        json_object_set_new(dj, dims[i], json_integer(sc));
        db_bulk_int(&g->scores, rid);
        db_bulk_text(&g->scores, dims[i]);
        db_bulk_int(&g->scores, sc);
    }
    char *dtext = json_dumps(dj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(dj);
    db_bulk *t = &g->ratings;
    db_bulk_int(t, rid);
    db_bulk_int(t, case_id);
    db_bulk_int(t, p->id);
    db_bulk_text(t, it->department);
    db_bulk_text(t, it->code);
    db_bulk_text(t, channel);
    db_bulk_int(t, overall);
    db_bulk_text(t, dtext);
    db_bulk_text(t, rating_comment(&g->r, overall));
    db_bulk_time(t, at);
    free(dtext);
    g->counts.ratings++;
    if (overall > 2) return;
    /* The 差评 ticket: callback within hours, rectification within the 5 working days,
     * the result reported to the rater, closed — cut at now like everything else. */
    int64_t due = deadline_of(g, at, 5);
    int64_t cb = work_after(g, at, uniform(&g->r, 0.5, 6));
    int64_t fixed = work_after(g, at, uniform(&g->r, 1, 4) * g->day_hours);
    int64_t reported = work_after(g, fixed, uniform(&g->r, 0.2, 3));
    int64_t closed = work_after(g, reported, uniform(&g->r, 0.1, 2));
    if (cb > g->now) cb = 0;
    if (!cb || fixed > g->now) fixed = 0;
    if (!fixed || reported > g->now) reported = 0;
    if (!reported || closed > g->now) closed = 0;
    const char *status = closed ? "closed" : fixed ? "rectifying" : cb ? "called_back" : "open";
    int64_t last = closed ? closed : reported ? reported : fixed ? fixed : cb ? cb : at;
    t = &g->tickets;
    db_bulk_int(t, rid);
    db_bulk_int(t, case_id);
    db_bulk_text(t, it->department);
    db_bulk_text(t, status);
    db_bulk_time(t, at);
    db_bulk_time(t, cb);
    db_bulk_id(t, cb ? g->staff_id : 0);
    if (cb)
        db_bulk_text(t, "已电话回访申请人，了解具体情况并致歉");
    else
        db_bulk_null(t);
    db_bulk_time(t, due);
    db_bulk_time(t, fixed);
    db_bulk_id(t, fixed ? g->staff_id : 0);
    if (fixed)
        db_bulk_text(t, "已优化办理流程并对窗口人员进行业务培训");
    else
        db_bulk_null(t);
    db_bulk_time(t, reported);
    if (reported)
        db_bulk_text(t, "整改情况已告知申请人，申请人表示认可");
    else
        db_bulk_null(t);
    db_bulk_time(t, closed);
    db_bulk_id(t, closed ? g->staff_id : 0);
    db_bulk_time(t, last);
    g->counts.tickets++;
}

static int64_t actor_id(demo *g, int actor, const person *p, const char *channel) {
    switch (actor) {
    case A_APPLICANT:
        if (!strcmp(channel, "assisted")) return g->agent_id;
        if (!strcmp(channel, "window") || !strcmp(channel, "station")) return g->staff_id;
        return p->id;
    case A_STAFF:
        return g->staff_id;
    case A_APPROVER:
        return g->approver_id;
    default:
        return 0;
    }
}

/* Who applies for what, how and when: drawn for the whole year first, so that the
 * cases can be written in the order they were submitted (ids grow with time, as
 * they do in a real database). */
typedef struct plan {
    int64_t t_sub;
    int item, person;
    const char *channel;
} plan;

static void plan_case(demo *g, plan *pl) {
    rng *r = &g->r;
    pl->item = pick_cdf(r, g->item_cdf, g->nitems);
    const item *it = &g->items[pl->item];
    int company = U(r) < it->company_share;
    pl->person =
        company ? g->companies[pick(r, g->ncompanies)] : g->citizens[pick(r, g->ncitizens)];
    const town *tw = &g->towns[g->people[pl->person].town];
    /* Channel: islands away from the city lean on stations and agents. */
    double x = U(r);
    pl->channel = tw->street ? (x < 0.935  ? "online"
                                : x < 0.97 ? "window"
                                : x < 0.99 ? "assisted"
                                           : "station")
                             : (x < 0.90    ? "online"
                                : x < 0.93  ? "window"
                                : x < 0.965 ? "assisted"
                                            : "station");
    int office = strcmp(pl->channel, "online") != 0 && strcmp(pl->channel, "assisted") != 0;
    pl->t_sub = 0;
    for (int tries = 0; !pl->t_sub && tries < 20; tries++) {
        int day = pick_cdf(r, office ? g->cdf_office : g->cdf_online, g->ndays);
        pl->t_sub = submit_instant(g, day, office);
    }
    if (!pl->t_sub) pl->t_sub = g->now - 3600;
}

static int plan_cmp(const void *a, const void *b) {
    const plan *x = a, *y = b;
    return x->t_sub < y->t_sub ? -1 : x->t_sub > y->t_sub;
}

static void one_case(demo *g, const plan *pl) {
    rng *r = &g->r;
    const item *it = &g->items[pl->item];
    int pi = pl->person;
    const person *p = &g->people[pi];
    const town *tw = &g->towns[p->town];
    const char *channel = pl->channel;
    int office = strcmp(channel, "online") != 0 && strcmp(channel, "assisted") != 0;
    int64_t t_sub = pl->t_sub;
    int64_t id = g->next_case++;

    /* Materials first: a commitment decides the path. */
    int commit = 0;
    for (int i = 0; i < it->nmats; i++) {
        const material *m = &it->mats[i];
        const char *sat = "none";
        int64_t lic = 0;
        int waived = 0;
        if (m->licence >= 0 && U(r) < 0.47) {
            sat = "licence";
            lic = wallet_licence(g, pi, m->licence, t_sub);
            waived = 1;
        } else if (m->form) {
            sat = "form";
        } else if (it->commitment && m->required && U(r) < 0.45) {
            sat = "commitment";
            waived = 1;
            commit = 1;
        } else if (m->required || U(r) < 0.4) {
            sat = "upload";
        }
        db_bulk *t = &g->materials;
        db_bulk_int(t, id);
        db_bulk_int(t, i);
        db_bulk_text(t, m->name);
        db_bulk_int(t, m->required);
        if (m->licence >= 0)
            db_bulk_text(t, g->ltypes[m->licence].type);
        else
            db_bulk_null(t);
        db_bulk_text(t, sat);
        db_bulk_id(t, lic);
        db_bulk_null(t);
        db_bulk_int(t, waived);
        db_bulk_time(t, t_sub);
        g->counts.materials++;
    }

    /* The timeline. */
    sim s = {.n = 0, .status = NULL};
    const char *path = commit ? "commitment" : "normal";
    int64_t t_create = t_sub - (office ? 60 + pick(r, 240) : 120 + pick(r, 1800));
    add(&s, t_create, "create", "draft", A_APPLICANT, NULL);
    add(&s, t_sub, "submit", "submitted", A_APPLICANT, NULL);
    int64_t accepted = 0, deadline = 0, decided = 0, delivered = 0, closed = 0;
    int64_t suspended_at = 0, suspended_secs = 0;
    int late = 0, denied = 0, reviewed = 0;
    int visits = office ? 1 : (!strcmp(channel, "online") && it->visits >= 1 && U(r) < 0.3) ? 1 : 0;
    if (it->instant && !office && U(r) < 0.8) {
        /* 智能秒办: the rules decide at once. */
        path = "instant";
        accepted = decided = t_sub;
        deadline = deadline_of(g, t_sub, it->promise);
        add(&s, t_sub, "accept", "accepted", A_NONE, NULL);
        add(&s, t_sub, "approve", "approved", A_NONE, "智能秒办：规则全部通过");
        delivered = work_after(g, t_sub, uniform(r, 0.05, 0.5) * g->day_hours);
        add(&s, delivered, "deliver", "delivered", A_STAFF, NULL);
    } else {
        double y = U(r);
        int64_t t_in =
            office ? t_sub + 60 + pick(r, 540) : work_after(g, t_sub, uniform(r, 0.1, 4));
        int go_on = 1;
        if (y < 0.008) {
            add(&s, t_in, "reject", "rejected_at_intake", A_STAFF, reject_reasons[pick(r, 2)]);
            go_on = 0;
        } else if (y < 0.02) {
            add(&s, t_sub + (int64_t)uniform(r, 1800, 2 * DAY), "withdraw", "withdrawn",
                A_APPLICANT, NULL);
            go_on = 0;
        } else if (y < 0.085) {
            add(&s, t_in, "return", "returned_for_correction", A_STAFF, return_reasons[pick(r, 3)]);
            double z = U(r);
            if (z < 0.85) {
                int64_t t2 = t_in + (int64_t)uniform(r, 0.3 * DAY, 5 * DAY);
                add(&s, t2, "submit", "submitted", A_APPLICANT, NULL);
                t_sub = t2;
                t_in = office ? t2 + 60 + pick(r, 540) : work_after(g, t2, uniform(r, 0.1, 4));
            } else {
                if (z < 0.93)
                    add(&s, t_in + (int64_t)uniform(r, 2 * DAY, 10 * DAY), "withdraw", "withdrawn",
                        A_APPLICANT, NULL);
                go_on = 0;
            }
        }
        if (go_on) {
            accepted = t_in;
            add(&s, t_in, "accept", "accepted", A_STAFF, NULL);
            deadline = deadline_of(g, t_in, it->promise);
            /* Working days from acceptance to decision. */
            double d;
            double q = U(r);
            if (it->promise <= 0) {
                /* 即办: within the acceptance day's remaining office hours. */
                int64_t end = deadline_of(g, t_in, 0);
                double left = end ? (double)workcal_working_seconds_between(g->cal, t_in, end) /
                                        (g->day_hours * 3600)
                                  : 0.5;
                d = uniform(r, 0.03, 0.45);
                if (d > left * 0.9) d = left * 0.9;
            } else if (q < (t_in > g->now - 45 * DAY ? 0.04 : 0.004)) {
                d = it->promise * uniform(r, 1.5, 4) + 1; /* stuck: long overdue */
            } else if (q < 0.02) {
                d = it->promise * uniform(r, 1.0, 1.3) + 1; /* late */
            } else {
                d = it->promise * pow(uniform(r, 0.2, 1.0), 0.7) * 0.82;
            }
            if (d < 0.01) d = 0.01;
            double susp = 0;
            if (it->promise >= 5 && U(r) < 0.02) susp = uniform(r, 2, 10);
            if (it->promise > 0) {
                add(&s, work_after(g, t_in, d * g->day_hours * uniform(r, 0.1, 0.4)), "review",
                    "in_review", A_APPROVER, NULL);
                reviewed = 1;
            }
            if (susp > 0) {
                int64_t t_s = work_after(g, t_in, d * g->day_hours * 0.5);
                int64_t t_r = work_after(g, t_s, susp * g->day_hours);
                const char *back = s.status;
                add(&s, t_s, "suspend", "suspended", A_APPROVER, suspend_reasons[pick(r, 3)]);
                add(&s, t_r, "resume", back, A_APPROVER, NULL);
                s.ev[s.n - 1].from = "suspended";
            }
            int64_t t_dec = work_after(g, t_in, (d + susp) * g->day_hours);
            if (U(r) < 0.008) {
                add(&s, work_after(g, t_in, (d * 0.6 + susp) * g->day_hours), "withdraw",
                    "withdrawn", A_APPLICANT, NULL);
            } else if (U(r) < 0.035) {
                add(&s, t_dec, "deny", "denied", A_APPROVER, deny_reasons[pick(r, 2)]);
            } else {
                add(&s, t_dec, "approve", "approved", A_APPROVER, NULL);
                add(&s, work_after(g, t_dec, uniform(r, 0.05, 1.0) * g->day_hours), "deliver",
                    "delivered", A_STAFF, NULL);
            }
        }
    }

    /* Cut at now. Events share instants at most in order, so the prefix up to now is
     * what has happened. */
    int n = 0;
    while (n < s.n && s.ev[n].at <= g->now)
        n++;
    const char *status = s.ev[n - 1].to, *suspended_from = NULL;
    accepted = deadline = decided = delivered = closed = 0;
    int64_t t_submitted = 0, t_susp = 0;
    for (int i = 0; i < n; i++) {
        const event *v = &s.ev[i];
        if (!strcmp(v->action, "submit")) t_submitted = v->at;
        if (!strcmp(v->action, "accept")) {
            accepted = v->at;
            deadline = deadline_of(g, v->at, it->promise);
        }
        if (!strcmp(v->action, "return")) accepted = deadline = 0;
        if (!strcmp(v->action, "suspend")) t_susp = v->at, suspended_from = v->from;
        if (!strcmp(v->action, "resume")) {
            int64_t ws = workcal_working_seconds_between(g->cal, t_susp, v->at);
            suspended_secs += ws;
            if (deadline) deadline = work_after(g, deadline, (double)ws / 3600.0);
            t_susp = 0;
            suspended_from = NULL;
        }
        if (!strcmp(v->action, "approve") || !strcmp(v->action, "deny")) decided = v->at;
        if (!strcmp(v->action, "deliver")) delivered = v->at;
        if (!strcmp(v->to, "delivered") || !strcmp(v->to, "denied") ||
            !strcmp(v->to, "withdrawn") || !strcmp(v->to, "rejected_at_intake"))
            closed = v->at;
    }
    suspended_at = t_susp;
    late = decided && deadline && decided > deadline;
    denied = !strcmp(status, "denied");
    int open = !closed && strcmp(status, "approved") != 0;
    if (open) g->counts.open++;
    if (open && deadline && deadline < g->now &&
        (!strcmp(status, "accepted") || !strcmp(status, "in_review")))
        g->counts.overdue++;

    for (int i = 0; i < n; i++) {
        const event *v = &s.ev[i];
        db_bulk *t = &g->events;
        db_bulk_int(t, id);
        db_bulk_time(t, v->at);
        db_bulk_id(t, actor_id(g, v->actor, p, channel));
        db_bulk_text(t, v->action);
        db_bulk_text(t, v->from);
        db_bulk_text(t, v->to);
        db_bulk_text(t, v->reason);
        db_bulk_null(t);
        g->counts.events++;
    }

    /* The case row. */
    char case_no[32], form_buf[512];
    workcal_date cd = workcal_local_date(t_create);
    snprintf(case_no, sizeof(case_no), "ZS%02d%02d%02d%07lld", cd.year % 100, cd.month, cd.day,
             (long long)id);
    int company = p->company;
    json_t *form = company
                       ? json_pack("{s:s, s:s, s:s, s:s}", "company_name", p->name, "credit_code",
                                   p->credit, "contact_name", "经办人", "contact_phone", p->phone)
                       : json_pack("{s:s, s:s, s:s, s:s}", "name", p->name, "id_number",
                                   p->id_number, "phone", p->phone, "address", "");
    if (!company) {
        snprintf(form_buf, sizeof(form_buf), "浙江省舟山市%s%s", tw->county, tw->name);
        json_object_set_new(form, "address", json_string(form_buf));
    }
    char *form_text = json_dumps(form, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(form);
    int64_t agent = !strcmp(channel, "assisted")                                ? g->agent_id
                    : !strcmp(channel, "window") || !strcmp(channel, "station") ? g->staff_id
                                                                                : 0;
    db_bulk *t = &g->cases;
    db_bulk_int(t, id);
    db_bulk_text(t, case_no);
    db_bulk_text(t, "item");
    db_bulk_text(t, it->code);
    db_bulk_int(t, it->version);
    db_bulk_text(t, it->name);
    db_bulk_null(t); /* bundle_code */
    db_bulk_null(t); /* parent_id */
    db_bulk_int(t, p->id);
    db_bulk_id(t, agent);
    db_bulk_text(t, channel);
    db_bulk_text(t, it->department);
    db_bulk_text(t, tw->code);
    db_bulk_text(t, status);
    db_bulk_text(t, suspended_from);
    db_bulk_text(t, form_text);
    db_bulk_text(t, path);
    db_bulk_null(t); /* rule_trace */
    db_bulk_real(t, it->promise);
    db_bulk_null(t); /* promise_hours */
    db_bulk_real(t, it->legal);
    db_bulk_time(t, t_submitted);
    db_bulk_time(t, accepted);
    db_bulk_time(t, accepted ? workcal_clock_start(g->cal, accepted) : 0);
    db_bulk_time(t, deadline);
    db_bulk_time(t, suspended_at);
    db_bulk_int(t, suspended_secs);
    db_bulk_time(t, decided);
    db_bulk_time(t, delivered);
    db_bulk_time(t, closed);
    db_bulk_id(t, reviewed && accepted ? g->approver_id : 0);
    db_bulk_int(t, visits);
    db_bulk_null(t); /* idempotency_key */
    db_bulk_int(t, n);
    db_bulk_time(t, t_create);
    db_bulk_time(t, s.ev[n - 1].at);
    free(form_text);
    g->counts.cases++;

    if (delivered && U(r) < 0.6)
        add_rating(g, id, p, it, channel, delivered, late, 0);
    else if (denied && decided && U(r) < 0.3)
        add_rating(g, id, p, it, channel, decided, late, 1);
}

/* ---- batches ---- */

static const char USERS_COLS[] =
    "users (id, login, display_name, role, password_hash, id_number, phone, town_code, disabled, "
    "created_at, updated_at, password_changed_at)";
static const char CASES_COLS[] =
    "cases (id, case_no, kind, item_code, item_version, item_name, bundle_code, parent_id, "
    "applicant_id, agent_id, channel, department, town_code, status, suspended_from, form, path, "
    "rule_trace, promise_days, promise_hours, legal_days, submitted_at, accepted_at, clock_start, "
    "deadline_at, suspended_at, suspended_seconds, decided_at, delivered_at, closed_at, "
    "assignee_id, visits, idempotency_key, version, created_at, updated_at)";
static const char LICENCES_COLS[] =
    "licences (id, holder_id, type, number, issuer, holder_name, issued_at, valid_until, status, "
    "source, source_case_id, data, created_at, updated_at)";
static const char MATERIALS_COLS[] =
    "case_materials (case_id, idx, name, required, licence_type, satisfied_by, licence_id, "
    "file_id, waived, created_at)";
static const char EVENTS_COLS[] =
    "case_events (case_id, at, actor_id, action, from_status, to_status, reason, data)";
static const char RATINGS_COLS[] =
    "ratings (id, case_id, rater_id, department, item_code, channel, overall, dims, comment, "
    "created_at)";
static const char SCORES_COLS[] = "rating_scores (rating_id, dimension, score)";
static const char TICKETS_COLS[] =
    "rating_tickets (rating_id, case_id, department, status, opened_at, callback_at, callback_by, "
    "callback_note, rectify_due, rectified_at, rectified_by, rectify_note, result_reported_at, "
    "result_note, closed_at, closed_by, updated_at)";

static void buffers_init(demo *g) {
    g->users = (db_bulk){.target = USERS_COLS, .ncols = 12};
    g->cases = (db_bulk){.target = CASES_COLS, .ncols = 36};
    g->licences = (db_bulk){.target = LICENCES_COLS, .ncols = 14};
    g->materials = (db_bulk){.target = MATERIALS_COLS, .ncols = 10};
    g->events = (db_bulk){.target = EVENTS_COLS, .ncols = 8};
    g->ratings = (db_bulk){.target = RATINGS_COLS, .ncols = 10};
    g->scores = (db_bulk){.target = SCORES_COLS, .ncols = 3};
    g->tickets = (db_bulk){.target = TICKETS_COLS, .ncols = 17};
}

static int next_id(db *d, const char *sql, int64_t *out, err *e) {
    int64_t mx = 0;
    if (db_query_int(d, e, &mx, sql, "") < 0) return -1;
    *out = mx + 1;
    return 0;
}

/* Write one batch's rows in dependency order, move the identity sequences past the
 * explicit ids, and write the batch's audit row. */
static int flush_batch(demo *g, int batch, int64_t first_case, err *e) {
    int64_t before[3] = {g->cases.rows, g->events.rows, g->materials.rows};
    int64_t rb[3] = {g->ratings.rows, g->tickets.rows, g->licences.rows};
    int64_t users_before = g->users.rows;
    db_bulk *order[] = {&g->users,  &g->cases,   &g->licences, &g->materials,
                        &g->events, &g->ratings, &g->scores,   &g->tickets};
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        if (db_bulk_flush(g->d, order[i], e) != 0) return -1;
    static const char *const tables[] = {"users", "cases", "licences", "ratings"};
    for (size_t i = 0; i < 4; i++)
        if (db_reset_identity(g->d, tables[i], e) != 0) return -1;
    static const audit_actor actor = {.user_id = 0, .login = "cli", .request_id = NULL};
    char oid[32];
    snprintf(oid, sizeof(oid), "demo-%d", batch);
    json_t *after = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "first_case_id", (json_int_t)first_case,
        "last_case_id", (json_int_t)(g->next_case - 1), "cases",
        (json_int_t)(g->cases.rows - before[0]), "events", (json_int_t)(g->events.rows - before[1]),
        "materials", (json_int_t)(g->materials.rows - before[2]), "ratings",
        (json_int_t)(g->ratings.rows - rb[0]), "tickets", (json_int_t)(g->tickets.rows - rb[1]),
        "licences", (json_int_t)(g->licences.rows - rb[2]), "users",
        (json_int_t)(g->users.rows - users_before));
    int rc = audit_record(g->d, &actor, "demo.cases", "cases", oid, NULL, after, e);
    json_decref(after);
    return rc;
}

static void demo_free(demo *g) {
    for (int i = 0; i < g->nitems; i++)
        free(g->items[i].mats);
    free(g->items);
    free(g->item_cdf);
    free(g->towns);
    free(g->town_cdf);
    free(g->people);
    free(g->citizens);
    free(g->companies);
    free(g->ltypes);
    free(g->wallet);
    free(g->cdf_online);
    free(g->cdf_office);
    db_bulk *all[] = {&g->users,  &g->cases,   &g->licences, &g->materials,
                      &g->events, &g->ratings, &g->scores,   &g->tickets};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        db_bulk_free(all[i]);
}

int cases_demo_run(db *d, const char *data_dir, int64_t now, unsigned seed, int count,
                   cases_demo_counts *out, err *e) {
    cases_demo_counts none = {0};
    if (out) *out = none;
    if (count < 0 || count > CASES_DEMO_MAX)
        return err_invalid(e, "cases", "cases 须为 0–%d", CASES_DEMO_MAX);
    if (count == 0) return 0;
    int64_t present = 0;
    if (db_query_int(d, e, &present, "SELECT COUNT(*) FROM users WHERE login = $1", "s",
                     "demo.p00001") < 0)
        return -1;
    if (present) {
        if (out) out->present = 1;
        return 0;
    }
    demo *g = xcalloc(1, sizeof(*g));
    workcal *own = NULL;
    plan *plans = NULL;
    int rc = -1;
    g->d = d;
    g->now = now;
    g->r.s = (uint64_t)seed * 0x2545F4914F6CDD1Dull + 1;
    if (data_dir) {
        char dir[1100];
        snprintf(dir, sizeof(dir), "%s/holidays", data_dir);
        own = workcal_load(dir, e);
        if (!own) goto out;
        g->cal = own;
    } else {
        g->cal = workcal_default(e);
        if (!g->cal) goto out;
    }
    g->day_hours = (double)workcal_day_seconds(g->cal) / 3600.0;
    buffers_init(g);
    if (load_towns(g, e) != 0 || load_items(g, e) != 0) goto out;
    g->staff_id = user_id(g, "staff");
    g->approver_id = user_id(g, "approver");
    g->agent_id = user_id(g, "agent");
    build_days(g);
    int batch = 0;
    for (int done = 0; done < count; batch++) {
        if (db_begin(d, e) != 0) goto out;
        if (next_id(d, "SELECT COALESCE(MAX(id), 0) FROM cases", &g->next_case, e) != 0 ||
            next_id(d, "SELECT COALESCE(MAX(id), 0) FROM licences", &g->next_licence, e) != 0 ||
            next_id(d, "SELECT COALESCE(MAX(id), 0) FROM ratings", &g->next_rating, e) != 0)
            goto rollback;
        if (batch == 0) {
            if (next_id(d, "SELECT COALESCE(MAX(id), 0) FROM users", &g->next_user, e) != 0)
                goto rollback;
            add_people(g, count);
            plans = xcalloc((size_t)count, sizeof(plan));
            for (int i = 0; i < count; i++)
                plan_case(g, &plans[i]);
            qsort(plans, (size_t)count, sizeof(plan), plan_cmp);
        }
        int64_t first = g->next_case;
        int n = count - done < CASES_DEMO_BATCH ? count - done : CASES_DEMO_BATCH;
        for (int i = 0; i < n; i++)
            one_case(g, &plans[done + i]);
        if (flush_batch(g, batch + 1, first, e) != 0) goto rollback;
        if (db_commit(d, e) != 0) goto out;
        done += n;
    }
    if (stats_rebuild(d, g->cal, NULL, e) != 0) goto out;
    if (out) *out = g->counts;
    rc = 0;
    goto out;
rollback:
    db_rollback(d);
out:
    free(plans);
    demo_free(g);
    free(g);
    workcal_free(own);
    return rc;
}

int cases_demo_year(db *d, const char *data_dir, int64_t now, unsigned seed, int count, err *e) {
    return cases_demo_run(d, data_dir, now, seed, count, NULL, e);
}

/* ---- the transition benchmark ---- */

typedef struct bench_actor {
    cases_actor a;
    char dept[256], town[16], login[64];
} bench_actor;

static int bench_actor_load(db *d, const char *login, bench_actor *b, err *e) {
    memset(b, 0, sizeof(*b));
    snprintf(b->login, sizeof(b->login), "%s", login);
    db_stmt *s = db_query(d, e, "SELECT id, role FROM users WHERE login = $1", "s", login);
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ROW) {
        b->a.user_id = db_column_int64(s, 0);
        b->a.role = role_from_name(db_column_text(s, 1));
    }
    db_reset(s);
    if (rc != DB_ROW)
        return err_set(e, 409, "conflict", "login", "没有演示用户 %s，请先运行 isle demo", login);
    b->a.audit = (audit_actor){.user_id = b->a.user_id, .login = b->login, .request_id = NULL};
    return cases_actor_load(d, &b->a, b->dept, sizeof(b->dept), b->town, sizeof(b->town), e);
}

static int ms_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int cases_demo_bench(db *d, int cases, double seconds, cases_demo_bench_result *out, err *e) {
    memset(out, 0, sizeof(*out));
    if (cases < 1 || cases > CASES_DEMO_MAX)
        return err_invalid(e, "cases", "须为 1–%d", CASES_DEMO_MAX);
    bench_actor staff, approver;
    if (bench_actor_load(d, "staff", &staff, e) != 0 ||
        bench_actor_load(d, "approver", &approver, e) != 0)
        return -1;
    int64_t citizen = 0;
    db_query_int(d, NULL, &citizen, "SELECT id FROM users WHERE login = 'citizen'", "");
    if (!citizen)
        return err_set(e, 409, "conflict", "login", "没有演示用户 citizen，请先运行 isle demo");
    /* The cases: submitted now, of one item with a promise, like an online application
     * that has just arrived (materials are not needed by the transitions). */
    if (db_begin(d, e) != 0) return -1;
    int64_t first = 0;
    char code[48] = "", name[200] = "", dep[160] = "", now_iso[32];
    double promise = 0, legal = 0;
    db_stmt *s =
        db_query(d, e,
                 "SELECT code, name, department, promise_days, legal_days FROM catalog_items "
                 "WHERE online_depth >= 2 AND promise_days > 0 ORDER BY code LIMIT 1",
                 "");
    if (s && db_step(s) == DB_ROW) {
        snprintf(code, sizeof(code), "%s", db_column_text(s, 0));
        snprintf(name, sizeof(name), "%s", db_column_text(s, 1));
        snprintf(dep, sizeof(dep), "%s", db_column_text(s, 2));
        promise = db_column_double(s, 3);
        legal = db_column_double(s, 4);
    }
    if (s) db_reset(s);
    if (!code[0] || next_id(d, "SELECT COALESCE(MAX(id), 0) FROM cases", &first, e) != 0) {
        if (!code[0]) err_set(e, 409, "conflict", "catalog", "目录中没有可网上申请的事项");
        db_rollback(d);
        return -1;
    }
    time_iso(now_iso, sizeof(now_iso), time_now());
    db_bulk t = {.target = CASES_COLS, .ncols = 36};
    for (int i = 0; i < cases; i++) {
        char no[40];
        snprintf(no, sizeof(no), "ZSBENCH%09lld", (long long)(first + i));
        db_bulk_int(&t, first + i);
        db_bulk_text(&t, no);
        db_bulk_text(&t, "item");
        db_bulk_text(&t, code);
        db_bulk_int(&t, 1);
        db_bulk_text(&t, name);
        db_bulk_null(&t);
        db_bulk_null(&t);
        db_bulk_int(&t, citizen);
        db_bulk_null(&t);
        db_bulk_text(&t, "online");
        db_bulk_text(&t, dep);
        db_bulk_text(&t, "330902100");
        db_bulk_text(&t, "submitted");
        db_bulk_null(&t);
        db_bulk_text(&t, "{}");
        db_bulk_text(&t, "normal");
        db_bulk_null(&t);
        db_bulk_real(&t, promise);
        db_bulk_null(&t);
        db_bulk_real(&t, legal);
        db_bulk_text(&t, now_iso); /* submitted_at */
        for (int k = 0; k < 4; k++)
            db_bulk_null(&t); /* accepted_at, clock_start, deadline_at, suspended_at */
        db_bulk_int(&t, 0);   /* suspended_seconds */
        for (int k = 0; k < 3; k++)
            db_bulk_null(&t); /* decided_at, delivered_at, closed_at */
        db_bulk_null(&t);     /* assignee_id */
        db_bulk_int(&t, 0);   /* visits */
        db_bulk_null(&t);     /* idempotency_key */
        db_bulk_int(&t, 1);   /* version */
        db_bulk_text(&t, now_iso);
        db_bulk_text(&t, now_iso);
    }
    static const audit_actor cli = {.user_id = 0, .login = "cli", .request_id = NULL};
    json_t *after = json_pack("{s:I, s:i, s:s}", "first_case_id", (json_int_t)first, "cases", cases,
                              "item_code", code);
    int rc =
        db_bulk_flush(d, &t, e) != 0 || db_reset_identity(d, "cases", e) != 0 ||
                audit_record(d, &cli, "demo.bench_cases", "cases", "bench", NULL, after, e) != 0
            ? -1
            : 0;
    json_decref(after);
    db_bulk_free(&t);
    if (rc != 0) {
        db_rollback(d);
        return -1;
    }
    if (db_commit(d, e) != 0) return -1;

    /* The walk, in chunks of 1,000 cases: each chunk through accept, then review, then
     * approve, so that every run mixes the three actions evenly. (Delivery, which may
     * also issue an e-licence, is not a state transition of the review path.) */
    static const char *const actions[] = {"accept", "review", "approve"};
    const cases_actor *who[] = {&staff.a, &approver.a, &approver.a};
    int64_t audit0 = 0, audit1 = 0;
    db_query_int(d, e, &audit0, "SELECT COALESCE(MAX(id), 0) FROM audit_log", "");
    size_t cap = (size_t)cases * 3;
    double *lat = xmalloc(cap * sizeof(double));
    size_t n = 0;
    uint64_t t0 = time_mono_ns(), limit = (uint64_t)(seconds * 1e9);
    for (int c0 = 0; c0 < cases && time_mono_ns() - t0 < limit; c0 += 1000) {
        int c1 = c0 + 1000 < cases ? c0 + 1000 : cases;
        for (int a = 0; a < 3; a++) {
            for (int i = c0; i < c1; i++) {
                uint64_t s0 = time_mono_ns();
                if (s0 - t0 >= limit) break;
                err te = {0};
                if (cases_transition(d, who[a], first + i, actions[a], NULL, 0, &te) != 0) {
                    if (!out->failed)
                        log_warn("bench: %s %lld: %s", actions[a], (long long)(first + i),
                                 te.message);
                    out->failed++;
                    continue;
                }
                lat[n++] = (double)(time_mono_ns() - s0) / 1e6;
            }
        }
    }
    out->seconds = (double)(time_mono_ns() - t0) / 1e9;
    out->transitions = (int64_t)n;
    db_query_int(d, e, &audit1,
                 "SELECT COUNT(*) FROM audit_log WHERE id > $1 AND action LIKE 'case.%'", "i",
                 audit0);
    out->audit_rows = audit1;
    if (n) {
        qsort(lat, n, sizeof(double), ms_cmp);
        out->p50_ms = lat[n / 2];
        out->p99_ms = lat[(size_t)((double)(n - 1) * 0.99)];
        out->max_ms = lat[n - 1];
    }
    free(lat);
    return 0;
}

/* A whole number in [min, max] or -1. */
static long long number(const char *s, long long min, long long max) {
    char *end;
    if (!s || !*s) return -1;
    long long v = strtoll(s, &end, 10);
    return *end || v < min || v > max ? -1 : v;
}

/* The options of `isle demo` (see cases_demo_cmd). -1 after printing the problem. */
typedef struct demo_opts {
    long long count, seed, bench, bench_seconds;
} demo_opts;

static int demo_args(int argc, char **argv, demo_opts *o) {
    const char *v[4] = {getenv("ISLE_DEMO_CASES"), NULL, NULL, NULL};
    static const char *const names[] = {"--cases", "--seed", "--bench-transitions",
                                        "--bench-seconds"};
    for (int i = 0; i < argc; i++) {
        int k = 0;
        while (k < 4 && strcmp(argv[i], names[k]) != 0)
            k++;
        if (k < 4 && i + 1 < argc) {
            v[k] = argv[++i];
            continue;
        }
        fprintf(stderr, "isle: demo: unknown argument %s (--cases N, --seed N)\n", argv[i]);
        return -1;
    }
    o->count = v[0] && *v[0] ? number(v[0], 0, CASES_DEMO_MAX) : CASES_DEMO_DEFAULT;
    o->seed = v[1] ? number(v[1], 0, 4294967295LL) : CASES_DEMO_SEED;
    o->bench = v[2] ? number(v[2], 1, CASES_DEMO_MAX) : 0;
    o->bench_seconds = v[3] ? number(v[3], 1, 3600) : 30;
    if (o->count < 0 || o->seed < 0 || o->bench < 0 || o->bench_seconds < 0) {
        fprintf(stderr, "isle: demo: --cases must be 0–%d and --seed 0–4294967295\n",
                CASES_DEMO_MAX);
        return -1;
    }
    return 0;
}

int cases_demo_args_ok(int argc, char **argv) {
    demo_opts o;
    return demo_args(argc, argv, &o);
}

int cases_demo_cmd(db *d, const char *data_dir, int argc, char **argv) {
    demo_opts o;
    if (demo_args(argc, argv, &o) != 0) return 2;
    err e = {0};
    cases_demo_counts c;
    uint64_t t0 = time_mono_ns();
    if (cases_demo_run(d, data_dir, time_now(), (unsigned)o.seed, (int)o.count, &c, &e) != 0) {
        fprintf(stderr, "isle: demo applications: %s\n", e.message);
        return 1;
    }
    if (c.present)
        printf("demo applications already present\n");
    else if (o.count)
        printf("demo applications: %lld cases over the last year (%lld still open, %lld overdue), "
               "%lld events, %lld materials, %lld e-licences, %lld ratings, %lld 差评 tickets, "
               "%lld people and %lld companies, in %.1f s\n",
               (long long)c.cases, (long long)c.open, (long long)c.overdue, (long long)c.events,
               (long long)c.materials, (long long)c.licences, (long long)c.ratings,
               (long long)c.tickets, (long long)c.people, (long long)c.companies,
               (double)(time_mono_ns() - t0) / 1e9);
    if (!o.bench) return 0;
    cases_demo_bench_result b;
    if (cases_demo_bench(d, (int)o.bench, (double)o.bench_seconds, &b, &e) != 0) {
        fprintf(stderr, "isle: demo bench: %s\n", e.message);
        return 1;
    }
    printf("bench_transitions %lld\nbench_failed %lld\nbench_seconds %.3f\nbench_per_second %.0f\n"
           "bench_p50_ms %.3f\nbench_p99_ms %.3f\nbench_max_ms %.3f\nbench_audit_rows %lld\n",
           (long long)b.transitions, (long long)b.failed, b.seconds,
           b.seconds > 0 ? (double)b.transitions / b.seconds : 0, b.p50_ms, b.p99_ms, b.max_ms,
           (long long)b.audit_rows);
    return 0;
}
