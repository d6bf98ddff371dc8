/* tenders: tenders, notices, companies and deposits (see tenders.h for the rules).
 *
 * Inputs arrive as JSON objects checked field by field (jsonx_check, then the
 * domain rules below); money is yuan in, integer fen stored; times are ISO-8601
 * with a zone in, UTC "…Z" stored. Output JSON carries money both as *_fen and as
 * yuan strings, and labels for every vocabulary. */
#include "trade/tenders.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/roles.h"
#include "base/jsonx.h"
#include "base/timeutil.h"
#include "files/files.h"

#define DAY 86400

/* ---- small helpers ---- */

static const char *opt_str(json_t *o, const char *key) {
    const char *s = jsonx_str(o, key);
    if (!s) return NULL;
    for (const char *p = s; *p; p++)
        if (!isspace((unsigned char)*p)) return s;
    return NULL; /* blank counts as absent */
}

static char *iso(int64_t t, char *buf, size_t n) {
    if (!t) {
        buf[0] = '\0';
        return buf;
    }
    return time_iso(buf, n, t);
}

static const char *nz(const char *s) {
    return s && *s ? s : NULL;
}

static json_t *money_json(int64_t fen) {
    char b[32];
    return json_string(trade_money_str(fen, b, sizeof(b)));
}

static void set_money(json_t *o, const char *name, db_stmt *s, int col) {
    char key[48];
    snprintf(key, sizeof(key), "%s_fen", name);
    if (db_column_type(s, col) == DB_NULL) {
        json_object_set_new(o, key, json_null());
        json_object_set_new(o, name, json_null());
        return;
    }
    int64_t v = db_column_int64(s, col);
    json_object_set_new(o, key, json_integer(v));
    json_object_set_new(o, name, money_json(v));
}

static json_t *col_str(db_stmt *s, int col) {
    return jsonx_str_or_null(db_column_text(s, col));
}

static int audit_obj(db *d, const trade_actor *a, const char *action, const char *type, int64_t id,
                     json_t *before, json_t *after, err *e) {
    char oid[24];
    snprintf(oid, sizeof(oid), "%lld", (long long)id);
    int rc = audit_record(d, &a->audit, action, type, oid, before, after, e);
    json_decref(before);
    json_decref(after);
    return rc;
}

static int env_days(void) {
    const char *v = getenv("ISLE_TRADE_MIN_NOTICE_DAYS");
    if (!v || !*v) return -1;
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || n < 0 || n > 60) return -1;
    return (int)n;
}

int tenders_min_notice_days(const char *kind) {
    int n = env_days();
    if (n >= 0) return n;
    return trade_kind_is_sale(kind) ? TENDERS_SALE_NOTICE : TENDERS_WORKS_NOTICE;
}

int tenders_min_amend_days(void) {
    int n = env_days();
    return n >= 0 && n < TENDERS_AMEND_NOTICE ? n : TENDERS_AMEND_NOTICE;
}

/* ---- time ---- */

int tenders_parse_time(const char *s, int64_t *out) {
    if (!s) return -1;
    int y, mo, d, h, mi, se = 0, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10) return -1;
    const char *p = s + 10;
    if (*p != 'T' && *p != ' ') return -1;
    p++;
    if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]) || p[2] != ':' ||
        !isdigit((unsigned char)p[3]) || !isdigit((unsigned char)p[4]))
        return -1;
    h = (p[0] - '0') * 10 + (p[1] - '0');
    mi = (p[3] - '0') * 10 + (p[4] - '0');
    p += 5;
    if (*p == ':') {
        if (!isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2])) return -1;
        se = (p[1] - '0') * 10 + (p[2] - '0');
        p += 3;
        if (*p == '.') {
            p++;
            if (!isdigit((unsigned char)*p)) return -1;
            while (isdigit((unsigned char)*p))
                p++;
        }
    }
    int off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        if (!isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2])) return -1;
        int oh = (p[1] - '0') * 10 + (p[2] - '0'), om = 0;
        p += 3;
        if (*p == ':') p++;
        if (isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1])) {
            om = (p[0] - '0') * 10 + (p[1] - '0');
            p += 2;
        }
        if (oh > 14 || om > 59) return -1;
        off = sign * (oh * 3600 + om * 60);
    } else {
        return -1; /* no zone */
    }
    if (*p) return -1;
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
        se > 59)
        return -1;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[mo - 1] + (mo == 2 && leap)) return -1;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    *out = (int64_t)timegm(&tm) - off;
    return 0;
}

static int time_field(json_t *in, const char *key, int required, int64_t *out, err *e) {
    *out = 0;
    const char *s = opt_str(in, key);
    if (!s) return required ? err_invalid(e, key, "缺少必填字段“%s”", key) : 0;
    if (tenders_parse_time(s, out) != 0)
        return err_invalid(e, key, "%s 须为带时区的 ISO-8601 时间（如 2026-12-20T09:30:00+08:00）",
                           key);
    return 0;
}

/* "2026-12-20 09:30" in Asia/Shanghai, for messages. */
static char *local_text(int64_t t, char *buf, size_t n) {
    time_t tt = (time_t)(t + 8 * 3600);
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, n, "%Y-%m-%d %H:%M", &tm);
    return buf;
}

/* ---- the input of create/update ---- */

typedef struct tender_in {
    const char *kind, *title, *buyer, *agency, *town_code, *method, *qualification, *description;
    int64_t budget_fen, reserve_fen, deposit_fen;        /* -1 when absent */
    json_t *method_params;                               /* storage form, owned */
    json_t *lots;                                        /* storage form, owned */
    int64_t questions_until, deadline_at, evaluation_at; /* 0 when absent */
    int publicity_days, allow_backup, remote_opening, electronic;
} tender_in;

static void tender_in_free(tender_in *t) {
    json_decref(t->method_params);
    json_decref(t->lots);
    t->method_params = t->lots = NULL;
}

static const jsonx_field tender_spec[] = {
    {"kind", JX_STRING, 1, 16},
    {"title", JX_STRING, 1, TRADE_TITLE_MAX},
    {"buyer", JX_STRING, 1, TRADE_NAME_MAX},
    {"agency", JX_STRING, 0, TRADE_NAME_MAX},
    {"town_code", JX_STRING, 0, 16},
    {"budget", JX_ANY, 0, 0},
    {"reserve", JX_ANY, 0, 0},
    {"deposit", JX_ANY, 0, 0},
    {"method", JX_STRING, 1, 20},
    {"method_params", JX_OBJECT, 0, 0},
    {"qualification", JX_STRING, 0, TRADE_TEXT_MAX},
    {"description", JX_STRING, 0, TRADE_TEXT_MAX},
    {"lots", JX_ARRAY, 0, TENDERS_LOTS_MAX},
    {"questions_until", JX_STRING, 0, 40},
    {"deadline_at", JX_STRING, 1, 40},
    {"evaluation_at", JX_STRING, 0, 40},
    {"publicity_days", JX_INT, 0, 0},
    {"allow_backup", JX_BOOL, 0, 0},
    {"remote_opening", JX_BOOL, 0, 0},
    {"electronic", JX_BOOL, 0, 0},
    {"version", JX_INT, 0, 0},
    {NULL, 0, 0, 0},
};

static int money_field(json_t *in, const char *key, int64_t *fen, err *e) {
    *fen = -1;
    json_t *v = json_object_get(in, key);
    if (!v || json_is_null(v) || (json_is_string(v) && !opt_str(in, key))) return 0;
    return trade_money_from_json(v, key, fen, e);
}

static int number_of(json_t *v, double *out) {
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return isfinite(*out) ? 0 : -1;
    }
    if (json_is_string(v)) {
        char *end;
        *out = strtod(json_string_value(v), &end);
        return *end || end == json_string_value(v) || !isfinite(*out) ? -1 : 0;
    }
    return -1;
}

/* method_params in → storage form. */
static int method_params_parse(const char *method, json_t *mp, json_t **out, err *e) {
    static const char *const known[] = {"price_weight",  "tech_weight", "factor_min",
                                        "factor_max",    "increment",   "extend_seconds",
                                        "increment_fen", NULL};
    const char *key;
    json_t *val;
    if (mp) {
        json_object_foreach(mp, key, val) {
            int ok = 0;
            for (int i = 0; known[i]; i++)
                if (!strcmp(known[i], key)) ok = 1;
            if (!ok) return err_invalid(e, "method_params", "method_params 含未知字段“%.40s”", key);
        }
    }
    json_t *o = json_object();
    if (!strcmp(method, "composite")) {
        long long pw = mp ? jsonx_int(mp, "price_weight", 30) : 30;
        long long tw = mp ? jsonx_int(mp, "tech_weight", 100 - pw) : 70;
        if (pw < 0 || tw < 0 || pw > 100 || tw > 100 || pw + tw != 100) {
            json_decref(o);
            return err_invalid(e, "method_params",
                               "综合评分法的价格分权重与技术分权重须为整数且合计 100");
        }
        json_object_set_new(o, "price_weight", json_integer(pw));
        json_object_set_new(o, "tech_weight", json_integer(tw));
    } else if (!strcmp(method, "reasonable_low")) {
        double lo = 0.95, hi = 0.98;
        json_t *v;
        if (mp && (v = json_object_get(mp, "factor_min")) && !json_is_null(v) &&
            number_of(v, &lo) != 0)
            lo = -1;
        if (mp && (v = json_object_get(mp, "factor_max")) && !json_is_null(v) &&
            number_of(v, &hi) != 0)
            hi = -1;
        if (lo < 0.9 || hi > 1.0 || lo > hi) {
            json_decref(o);
            return err_invalid(e, "method_params",
                               "合理低价法的下浮系数范围须在 0.90 至 1.00 之间，且下限不大于上限");
        }
        json_object_set_new(o, "factor_min", json_real(lo));
        json_object_set_new(o, "factor_max", json_real(hi));
    } else if (!strcmp(method, "auction")) {
        int64_t inc = -1;
        json_t *v = mp ? json_object_get(mp, "increment") : NULL;
        if (v && !json_is_null(v)) {
            if (trade_money_from_json(v, "method_params", &inc, e) != 0) {
                json_decref(o);
                return -1;
            }
        } else if (mp && json_is_integer(json_object_get(mp, "increment_fen"))) {
            inc = json_integer_value(json_object_get(mp, "increment_fen"));
        }
        if (inc <= 0) {
            json_decref(o);
            return err_invalid(e, "method_params", "网络竞价须填写加价幅度（元，大于 0）");
        }
        long long ext = mp ? jsonx_int(mp, "extend_seconds", 300) : 300;
        if (ext < 30 || ext > 3600) {
            json_decref(o);
            return err_invalid(e, "method_params", "延时周期须在 30 至 3600 秒之间");
        }
        json_object_set_new(o, "increment_fen", json_integer(inc));
        json_object_set_new(o, "extend_seconds", json_integer(ext));
    }
    *out = o;
    return 0;
}

static int lots_parse(json_t *arr, json_t **out, int64_t *sum_fen, err *e) {
    json_t *o = json_array();
    *sum_fen = 0;
    size_t i;
    json_t *lot;
    json_array_foreach(arr, i, lot) {
        if (!json_is_object(lot)) {
            json_decref(o);
            return err_invalid(e, "lots", "第 %zu 个标段须为对象", i + 1);
        }
        const char *key;
        json_t *val;
        json_object_foreach(lot, key, val) {
            if (strcmp(key, "name") && strcmp(key, "budget") && strcmp(key, "no") &&
                strcmp(key, "budget_fen")) {
                json_decref(o);
                return err_invalid(e, "lots", "标段含未知字段“%.40s”", key);
            }
        }
        const char *name = opt_str(lot, "name");
        if (!name || strlen(name) > TRADE_NAME_MAX) {
            json_decref(o);
            return err_invalid(e, "lots", "第 %zu 个标段须有名称（至多 %d 字节）", i + 1,
                               TRADE_NAME_MAX);
        }
        json_t *l = json_pack("{s:I,s:s}", "no", (json_int_t)(i + 1), "name", name);
        json_t *b = json_object_get(lot, "budget");
        if (b && !json_is_null(b) && !(json_is_string(b) && !opt_str(lot, "budget"))) {
            int64_t fen;
            if (trade_money_from_json(b, "lots", &fen, e) != 0) {
                json_decref(l);
                json_decref(o);
                return -1;
            }
            json_object_set_new(l, "budget_fen", json_integer(fen));
            *sum_fen += fen;
        }
        json_array_append_new(o, l);
    }
    *out = o;
    return 0;
}

static int town_exists(db *d, const char *code, err *e) {
    int64_t one = 0;
    int rc = db_query_int(d, e, &one, "SELECT 1 FROM towns WHERE code = $1", "s", code);
    if (rc < 0) return -1;
    if (rc > 0) return err_invalid(e, "town_code", "没有这个乡镇（街道）代码");
    return 0;
}

/* Check in against every rule; fill t (t->method_params/lots owned by t). */
static int tender_in_parse(db *d, json_t *in, tender_in *t, err *e) {
    memset(t, 0, sizeof(*t));
    if (jsonx_check(in, tender_spec, e) != 0) return -1;
    t->kind = jsonx_str(in, "kind");
    if (!trade_kind_valid(t->kind))
        return err_invalid(e, "kind", "类别须为 works、procurement、property、land 或 emission");
    t->title = opt_str(in, "title");
    if (!t->title) return err_invalid(e, "title", "请填写项目名称");
    t->buyer = opt_str(in, "buyer");
    if (!t->buyer) return err_invalid(e, "buyer", "请填写招标人（采购人、出让人）");
    t->agency = opt_str(in, "agency");
    t->town_code = opt_str(in, "town_code");
    if (t->town_code && town_exists(d, t->town_code, e) != 0) return -1;
    t->method = jsonx_str(in, "method");
    if (!trade_method_valid(t->method)) return err_invalid(e, "method", "评标（交易）方式无效");
    t->qualification = opt_str(in, "qualification");
    t->description = opt_str(in, "description");
    if (money_field(in, "budget", &t->budget_fen, e) != 0 ||
        money_field(in, "reserve", &t->reserve_fen, e) != 0 ||
        money_field(in, "deposit", &t->deposit_fen, e) != 0)
        return -1;
    int sale = trade_kind_is_sale(t->kind);
    if (sale) {
        if (strcmp(t->method, "auction") != 0)
            return err_invalid(e, "method", "%s 须采用网络竞价", trade_kind_label(t->kind));
        if (t->reserve_fen <= 0) return err_invalid(e, "reserve", "请填写起拍价（元，大于 0）");
        if (t->budget_fen >= 0) return err_invalid(e, "budget", "出让类项目不设预算，请填写起拍价");
        if (t->deposit_fen > t->reserve_fen)
            return err_invalid(e, "deposit", "竞买保证金不能高于起拍价");
    } else {
        if (!strcmp(t->method, "auction"))
            return err_invalid(e, "method", "%s 须采用最低价法、综合评分法或合理低价法",
                               trade_kind_label(t->kind));
        if (t->budget_fen <= 0)
            return err_invalid(e, "budget", "请填写预算（最高限价，元，大于 0）");
        if (t->reserve_fen >= 0) return err_invalid(e, "reserve", "招标采购项目不设起拍价");
        /* 招标投标法实施条例 art. 26 / 政府采购法实施条例 art. 33: at most 2%. */
        if (t->deposit_fen > 0 &&
            t->deposit_fen > t->budget_fen / 1000 * TENDERS_DEPOSIT_PERMILLE +
                                 t->budget_fen % 1000 * TENDERS_DEPOSIT_PERMILLE / 1000)
            return err_invalid(e, "deposit", "投标保证金不得超过预算的 2%%");
    }
    if (t->deposit_fen < 0) t->deposit_fen = 0;
    if (method_params_parse(t->method, json_object_get(in, "method_params"), &t->method_params,
                            e) != 0)
        return -1;
    json_t *lots = json_object_get(in, "lots");
    int64_t lot_sum = 0;
    if (lots_parse(json_is_array(lots) ? lots : NULL, &t->lots, &lot_sum, e) != 0) {
        tender_in_free(t);
        return -1;
    }
    if (!sale && lot_sum > t->budget_fen) {
        tender_in_free(t);
        return err_invalid(e, "lots", "各标段预算之和超过项目预算");
    }
    if (time_field(in, "deadline_at", 1, &t->deadline_at, e) != 0 ||
        time_field(in, "questions_until", 0, &t->questions_until, e) != 0 ||
        time_field(in, "evaluation_at", 0, &t->evaluation_at, e) != 0) {
        tender_in_free(t);
        return -1;
    }
    if (t->questions_until && t->questions_until >= t->deadline_at) {
        tender_in_free(t);
        return err_invalid(e, "questions_until", "答疑截止时间须早于投标截止时间");
    }
    if (t->evaluation_at && t->evaluation_at < t->deadline_at) {
        tender_in_free(t);
        return err_invalid(e, "evaluation_at", "评标时间不得早于投标截止（开标）时间");
    }
    long long pd = jsonx_int(in, "publicity_days", 3);
    if (pd < 1 || pd > 30) {
        tender_in_free(t);
        return err_invalid(e, "publicity_days", "公示期须为 1 至 30 天");
    }
    t->publicity_days = (int)pd;
    t->allow_backup = jsonx_bool(in, "allow_backup", 1);
    t->remote_opening = jsonx_bool(in, "remote_opening", 1);
    t->electronic = jsonx_bool(in, "electronic", 1);
    return 0;
}

static const char *kind_code(const char *kind) {
    if (!strcmp(kind, "works")) return "GC";
    if (!strcmp(kind, "procurement")) return "ZC";
    if (!strcmp(kind, "property")) return "CQ";
    if (!strcmp(kind, "land")) return "TD";
    return "PW";
}

static int next_tender_no(db *d, const char *kind, int64_t now, char *out, size_t n, err *e) {
    time_t tt = (time_t)(now + 8 * 3600); /* the year in Zhoushan */
    struct tm tm;
    gmtime_r(&tt, &tm);
    char prefix[24], like[32];
    snprintf(prefix, sizeof(prefix), "ZS-%s-%04d-", kind_code(kind), tm.tm_year + 1900);
    snprintf(like, sizeof(like), "%s%%", prefix);
    int64_t last = 0;
    if (db_query_int(d, e, &last,
                     "SELECT COALESCE(MAX(CAST(SUBSTR(tender_no, 12) AS INTEGER)), 0) FROM tenders "
                     "WHERE tender_no LIKE $1",
                     "s", like) < 0)
        return -1;
    if (snprintf(out, n, "%s%04lld", prefix, (long long)last + 1) >= (int)n)
        return err_internal(e, "项目编号过长");
    return 0;
}

static int require_staff(const trade_actor *a, err *e) {
    if (!trade_actor_is_staff(a)) return err_forbidden(e, "仅交易中心工作人员可以操作");
    return 0;
}

static int begin(db *d, err *e) {
    return db_begin(d, e);
}

static int finish(db *d, int rc, err *e) {
    if (rc == 0 && db_commit(d, e) == 0) return 0;
    db_rollback(d);
    return -1;
}

int tenders_create(db *d, const trade_actor *a, json_t *in, int64_t *id, err *e) {
    if (require_staff(a, e) != 0) return -1;
    tender_in t;
    if (tender_in_parse(d, in, &t, e) != 0) return -1;
    int64_t now = time_now();
    if (t.deadline_at <= now) {
        tender_in_free(&t);
        return err_invalid(e, "deadline_at", "投标截止时间须晚于现在");
    }
    char no[40], now_s[32], qu[32], dl[32], ev[32];
    char *mp = jsonx_dump(t.method_params), *lots = jsonx_dump(t.lots);
    iso(now, now_s, sizeof(now_s));
    iso(t.questions_until, qu, sizeof(qu));
    iso(t.deadline_at, dl, sizeof(dl));
    iso(t.evaluation_at, ev, sizeof(ev));
    int rc = begin(d, e);
    if (rc == 0) {
        rc = next_tender_no(d, t.kind, now, no, sizeof(no), e);
        if (rc == 0) {
            rc = db_query_int(
                d, e, id,
                "INSERT INTO tenders (tender_no, kind, title, buyer, agency, town_code, "
                "budget_fen, "
                "reserve_fen, deposit_fen, method, method_params, qualification, description, "
                "lots, status, questions_until, deadline_at, evaluation_at, publicity_days, "
                "allow_backup, remote_opening, electronic, created_by, created_at, updated_at) "
                "VALUES ($1, $2, $3, $4, $5, $6, NULLIF(CAST($7 AS BIGINT), -1), "
                "NULLIF(CAST($8 AS BIGINT), -1), $9, $10, $11, $12, $13, $14, 'draft', $15, $16, "
                "$17, $18, $19, $20, $21, NULLIF(CAST($22 AS BIGINT), 0), $23, $23) RETURNING id",
                "ssssssiiissssssssiiiiis", no, t.kind, t.title, t.buyer, t.agency, t.town_code,
                t.budget_fen, t.reserve_fen, t.deposit_fen, t.method, mp, t.qualification,
                t.description, lots, nz(qu), dl, nz(ev), (int64_t)t.publicity_days,
                (int64_t)t.allow_backup, (int64_t)t.remote_opening, (int64_t)t.electronic,
                a->user_id, now_s);
            if (rc > 0) rc = err_internal(e, "未能创建项目");
        }
        if (rc == 0)
            rc = audit_obj(
                d, a, "tender.create", "tender", *id, NULL,
                json_pack("{s:s,s:s,s:s}", "tender_no", no, "kind", t.kind, "title", t.title), e);
        rc = finish(d, rc, e);
    }
    free(mp);
    free(lots);
    tender_in_free(&t);
    return rc;
}

/* The stored draft as create's input (to merge a PATCH into). */
static json_t *tender_as_input(db *d, int64_t id, int64_t *version, char *status, size_t sn,
                               err *e) {
    db_stmt *s = db_query(
        d, e,
        "SELECT kind, title, buyer, agency, town_code, budget_fen, reserve_fen, deposit_fen, "
        "method, method_params, qualification, description, lots, questions_until, deadline_at, "
        "evaluation_at, publicity_days, allow_backup, remote_opening, electronic, version, status "
        "FROM tenders WHERE id = $1",
        "i", id);
    if (!s) return NULL;
    int rc = db_step(s);
    if (rc != DB_ROW) {
        db_reset(s);
        if (rc == DB_ERROR)
            err_internal(e, "读取项目失败");
        else
            err_notfound(e, "项目不存在");
        return NULL;
    }
    json_t *o = json_object();
    const char *names[] = {"kind", "title", "buyer", "agency", "town_code"};
    for (int i = 0; i < 5; i++)
        if (db_column_type(s, i) != DB_NULL) json_object_set_new(o, names[i], col_str(s, i));
    const char *money[] = {"budget", "reserve", "deposit"};
    for (int i = 0; i < 3; i++)
        if (db_column_type(s, 5 + i) != DB_NULL)
            json_object_set_new(o, money[i], money_json(db_column_int64(s, 5 + i)));
    json_object_set_new(o, "method", col_str(s, 8));
    json_t *mp = json_loads(db_column_text(s, 9) ? db_column_text(s, 9) : "{}", 0, NULL);
    if (json_is_object(mp)) {
        json_t *inc = json_object_get(mp, "increment_fen");
        if (json_is_integer(inc)) {
            json_object_set_new(mp, "increment", money_json(json_integer_value(inc)));
            json_object_del(mp, "increment_fen");
        }
        json_object_set_new(o, "method_params", mp);
    } else {
        json_decref(mp);
    }
    if (db_column_type(s, 10) != DB_NULL) json_object_set_new(o, "qualification", col_str(s, 10));
    if (db_column_type(s, 11) != DB_NULL) json_object_set_new(o, "description", col_str(s, 11));
    json_t *lots = json_loads(db_column_text(s, 12) ? db_column_text(s, 12) : "[]", 0, NULL);
    if (json_is_array(lots)) {
        size_t i;
        json_t *l;
        json_array_foreach(lots, i, l) {
            json_t *b = json_object_get(l, "budget_fen");
            if (json_is_integer(b))
                json_object_set_new(l, "budget", money_json(json_integer_value(b)));
            json_object_del(l, "budget_fen");
            json_object_del(l, "no");
        }
        json_object_set_new(o, "lots", lots);
    } else {
        json_decref(lots);
    }
    const char *times[] = {"questions_until", "deadline_at", "evaluation_at"};
    for (int i = 0; i < 3; i++)
        if (db_column_type(s, 13 + i) != DB_NULL)
            json_object_set_new(o, times[i], col_str(s, 13 + i));
    json_object_set_new(o, "publicity_days", json_integer(db_column_int64(s, 16)));
    json_object_set_new(o, "allow_backup", json_boolean(db_column_int64(s, 17)));
    json_object_set_new(o, "remote_opening", json_boolean(db_column_int64(s, 18)));
    json_object_set_new(o, "electronic", json_boolean(db_column_int64(s, 19)));
    *version = db_column_int64(s, 20);
    snprintf(status, sn, "%s", db_column_text(s, 21) ? db_column_text(s, 21) : "");
    db_reset(s);
    return o;
}

int tenders_update(db *d, const trade_actor *a, int64_t id, json_t *in, err *e) {
    if (require_staff(a, e) != 0) return -1;
    if (!json_is_object(in)) return err_invalid(e, "", "需要 JSON 对象");
    if (begin(d, e) != 0) return -1;
    int64_t version = 0;
    char status[16];
    json_t *merged = tender_as_input(d, id, &version, status, sizeof(status), e);
    int rc = merged ? 0 : -1;
    if (rc == 0 && strcmp(status, "draft") != 0)
        rc = err_conflict(e, "status", "只有草稿可以修改；已发布的项目请发布澄清或修改公告");
    json_t *want = json_object_get(in, "version");
    if (rc == 0 && want && !json_is_null(want) &&
        (!json_is_integer(want) || json_integer_value(want) != version))
        rc = err_conflict(e, "version", "项目已被他人修改，请刷新后重试");
    const char *kind_in = jsonx_str(in, "kind");
    if (rc == 0 && kind_in && strcmp(kind_in, jsonx_str(merged, "kind")) != 0)
        rc = err_invalid(e, "kind", "项目类别创建后不能更改（编号随类别生成）");
    tender_in t;
    memset(&t, 0, sizeof(t));
    json_t *before = NULL;
    if (rc == 0) {
        before = json_deep_copy(merged);
        json_object_update(merged, in);
        json_object_del(merged, "version");
        rc = tender_in_parse(d, merged, &t, e);
    }
    if (rc == 0 && t.deadline_at <= time_now())
        rc = err_invalid(e, "deadline_at", "投标截止时间须晚于现在");
    if (rc == 0) {
        char now_s[32], qu[32], dl[32], ev[32];
        char *mp = jsonx_dump(t.method_params), *lots = jsonx_dump(t.lots);
        iso(time_now(), now_s, sizeof(now_s));
        iso(t.questions_until, qu, sizeof(qu));
        iso(t.deadline_at, dl, sizeof(dl));
        iso(t.evaluation_at, ev, sizeof(ev));
        rc = db_execf(
            d, e,
            "UPDATE tenders SET title = $1, buyer = $2, agency = $3, town_code = $4, "
            "budget_fen = NULLIF(CAST($5 AS BIGINT), -1), reserve_fen = NULLIF(CAST($6 AS "
            "BIGINT), -1), deposit_fen = $7, method = $8, method_params = $9, qualification = "
            "$10, description = $11, lots = $12, questions_until = $13, deadline_at = $14, "
            "evaluation_at = $15, publicity_days = $16, allow_backup = $17, remote_opening = "
            "$18, electronic = $19, updated_at = $20, version = version + 1 "
            "WHERE id = $21 AND version = $22 AND status = 'draft'",
            "ssssiiissssssssiiiisii", t.title, t.buyer, t.agency, t.town_code, t.budget_fen,
            t.reserve_fen, t.deposit_fen, t.method, mp, t.qualification, t.description, lots,
            nz(qu), dl, nz(ev), (int64_t)t.publicity_days, (int64_t)t.allow_backup,
            (int64_t)t.remote_opening, (int64_t)t.electronic, now_s, id, version);
        free(mp);
        free(lots);
        if (rc == 0 && db_changes(d) != 1)
            rc = err_conflict(e, "version", "项目已被他人修改，请刷新后重试");
        if (rc == 0) {
            json_t *after = json_deep_copy(merged);
            rc = audit_obj(d, a, "tender.update", "tender", id, before, after, e);
            before = NULL;
        }
    }
    json_decref(before);
    json_decref(merged);
    tender_in_free(&t);
    return finish(d, rc, e);
}

/* ---- notices ---- */

/* Check a "files" array of file ids; *out gets the compact JSON array text. A notice's
 * files are public (GET .../files/{fid}), so only the actor's own uploads may be
 * attached, never another user's (a citizen's case scan); the CLI operator (user 0) may. */
static int files_parse(db *d, const trade_actor *a, json_t *in, char **out, err *e) {
    *out = NULL;
    json_t *arr = json_object_get(in, "files");
    if (!arr || json_is_null(arr)) {
        *out = strdup("[]");
        return 0;
    }
    if (!json_is_array(arr)) return err_invalid(e, "files", "files 须为文件编号数组");
    if (json_array_size(arr) > TENDERS_FILES_MAX)
        return err_invalid(e, "files", "一则公告至多附 %d 个文件", TENDERS_FILES_MAX);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        if (!json_is_integer(v) || json_integer_value(v) <= 0)
            return err_invalid(e, "files", "files 须为文件编号数组");
        int64_t one = 0;
        int rc = db_query_int(d, e, &one,
                              "SELECT 1 FROM files WHERE id = $1 AND (CAST($2 AS BIGINT) = 0 OR "
                              "owner_id = $2)",
                              "ii", (int64_t)json_integer_value(v), a->user_id);
        if (rc < 0) return -1;
        if (rc > 0)
            return err_invalid(e, "files", "文件 %lld 不存在或不是您上传的",
                               (long long)json_integer_value(v));
    }
    *out = jsonx_dump(arr);
    return 0;
}

static int notice_insert(db *d, const trade_actor *a, int64_t tender_id, const char *kind,
                         const char *title, const char *body, int64_t old_dl, int64_t new_dl,
                         const char *files, int64_t *id, err *e) {
    char now_s[32], od[32], nd[32];
    iso(time_now(), now_s, sizeof(now_s));
    iso(old_dl, od, sizeof(od));
    iso(new_dl, nd, sizeof(nd));
    int64_t nid = 0;
    int rc = db_query_int(
        d, e, &nid,
        "INSERT INTO tender_notices (tender_id, kind, title, body, old_deadline_at, "
        "new_deadline_at, files, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, "
        "NULLIF(CAST($8 AS BIGINT), 0), $9) RETURNING id",
        "issssssis", tender_id, kind, title, body, nz(od), nz(nd), files ? files : "[]", a->user_id,
        now_s);
    if (rc > 0) rc = err_internal(e, "未能写入公告");
    if (rc == 0 && id) *id = nid;
    return rc;
}

static const char *announcement_title(const char *kind) {
    if (!strcmp(kind, "works")) return "招标公告";
    if (!strcmp(kind, "procurement")) return "采购公告";
    if (!strcmp(kind, "property")) return "产权交易公告";
    if (!strcmp(kind, "land")) return "国有建设用地使用权挂牌出让公告";
    return "排污权出让公告";
}

int tenders_announce(db *d, const trade_actor *a, int64_t id, json_t *in, err *e) {
    if (require_staff(a, e) != 0) return -1;
    static const jsonx_field spec[] = {{"body", JX_STRING, 0, TRADE_TEXT_MAX},
                                       {"files", JX_ARRAY, 0, TENDERS_FILES_MAX},
                                       {"version", JX_INT, 0, 0},
                                       {NULL, 0, 0, 0}};
    if (in && jsonx_check(in, spec, e) != 0) return -1;
    if (begin(d, e) != 0) return -1;
    trade_tender t;
    char *files = NULL;
    int rc = trade_tender_load(d, id, &t, e);
    if (rc == 0 && strcmp(t.status, "draft") != 0)
        rc = err_conflict(e, "status", "项目已发布或已终止");
    if (rc == 0 && in && json_is_integer(json_object_get(in, "version")) &&
        json_integer_value(json_object_get(in, "version")) != t.version)
        rc = err_conflict(e, "version", "项目已被他人修改，请刷新后重试");
    int64_t now = time_now();
    if (rc == 0) {
        int days = tenders_min_notice_days(t.kind);
        if (t.deadline_at - now < (int64_t)days * DAY) {
            char b[32];
            rc = err_set(e, 422, "unprocessable", "deadline_at",
                         "自公告发布至投标截止不得少于 %d 日；请将截止时间改为 %s 之后", days,
                         local_text(now + (int64_t)days * DAY, b, sizeof(b)));
        }
    }
    if (rc == 0) rc = files_parse(d, a, in ? in : NULL, &files, e);
    char now_s[32];
    iso(now, now_s, sizeof(now_s));
    if (rc == 0) rc = trade_tender_set_status(d, a, &t, "announced", e);
    if (rc == 0)
        rc = db_execf(d, e, "UPDATE tenders SET announce_at = $1 WHERE id = $2", "si", now_s, id);
    if (rc == 0) {
        char body[TRADE_TEXT_MAX + 600], dl[32], money[48];
        const char *given = in ? opt_str(in, "body") : NULL;
        if (given) {
            snprintf(body, sizeof(body), "%s", given);
        } else {
            int sale = trade_kind_is_sale(t.kind);
            trade_money_display(sale ? t.reserve_fen : t.budget_fen, money, sizeof(money));
            snprintf(body, sizeof(body),
                     "%s（%s）已具备%s条件，现公开%s。%s：%s；%s：%s；%s截止时间（开标时间）：%s"
                     "（北京时间）。",
                     t.title, t.tender_no, sale ? "交易" : "招标", sale ? "挂牌" : "招标",
                     sale ? "出让人" : "招标人", t.buyer, sale ? "起拍价" : "预算（最高限价）",
                     money, sale ? "报名" : "投标", local_text(t.deadline_at, dl, sizeof(dl)));
        }
        rc = notice_insert(d, a, id, "announcement", announcement_title(t.kind), body, 0, 0, files,
                           NULL, e);
    }
    free(files);
    return finish(d, rc, e);
}

static const jsonx_field notice_spec[] = {
    {"kind", JX_STRING, 1, 16},
    {"title", JX_STRING, 1, TRADE_TITLE_MAX},
    {"body", JX_STRING, 1, TRADE_TEXT_MAX},
    {"new_deadline_at", JX_STRING, 0, 40},
    {"files", JX_ARRAY, 0, TENDERS_FILES_MAX},
    {NULL, 0, 0, 0},
};

int tenders_notice(db *d, const trade_actor *a, int64_t id, json_t *in, int64_t *notice_id,
                   err *e) {
    if (require_staff(a, e) != 0) return -1;
    if (jsonx_check(in, notice_spec, e) != 0) return -1;
    const char *kind = jsonx_str(in, "kind");
    if (strcmp(kind, "clarification") != 0 && strcmp(kind, "amendment") != 0)
        return err_invalid(e, "kind", "公告类型须为 clarification（澄清）或 amendment（修改）");
    const char *title = opt_str(in, "title"), *body = opt_str(in, "body");
    if (!title) return err_invalid(e, "title", "请填写公告标题");
    if (!body) return err_invalid(e, "body", "请填写公告内容");
    int64_t new_dl = 0;
    if (time_field(in, "new_deadline_at", 0, &new_dl, e) != 0) return -1;
    if (new_dl && strcmp(kind, "amendment") != 0)
        return err_invalid(e, "new_deadline_at", "变更截止时间须发布修改公告");
    if (begin(d, e) != 0) return -1;
    trade_tender t;
    char *files = NULL;
    int64_t now = time_now();
    int rc = trade_tender_load(d, id, &t, e);
    if (rc == 0 && strcmp(t.status, "announced") != 0)
        rc = err_conflict(e, "status", "只有公告中的项目可以发布澄清或修改");
    if (rc == 0 && now >= t.deadline_at)
        rc = err_conflict(e, "status", "投标已截止，不能再发布澄清或修改");
    if (rc == 0 && new_dl && new_dl <= t.deadline_at)
        rc = err_invalid(e, "new_deadline_at", "新的截止时间须晚于原截止时间（只能顺延）");
    /* 招标投标法 art. 23: less than 15 days before the deadline → move it. */
    int64_t need = now + (int64_t)tenders_min_amend_days() * DAY;
    int64_t eff = new_dl ? new_dl : t.deadline_at;
    if (rc == 0 && eff < need) {
        char b[32];
        rc = err_set(
            e, 422, "unprocessable", "new_deadline_at",
            "澄清或修改距投标截止不足 %d 日，须将截止时间顺延至 %s 之后（招标投标法第二十三条）",
            tenders_min_amend_days(), local_text(need, b, sizeof(b)));
    }
    if (rc == 0) rc = files_parse(d, a, in, &files, e);
    if (rc == 0)
        rc = notice_insert(d, a, id, kind, title, body, new_dl ? t.deadline_at : 0, new_dl, files,
                           notice_id, e);
    if (rc == 0 && new_dl) {
        char dl[32], now_s[32];
        iso(new_dl, dl, sizeof(dl));
        iso(now, now_s, sizeof(now_s));
        int64_t delta = new_dl - t.deadline_at;
        /* evaluation_at keeps its distance from the deadline. */
        db_stmt *s = db_query(d, e, "SELECT evaluation_at FROM tenders WHERE id = $1", "i", id);
        char ev[32] = "";
        if (!s)
            rc = -1;
        else {
            if (db_step(s) == DB_ROW && db_column_text(s, 0)) {
                int64_t old_ev = 0;
                if (tenders_parse_time(db_column_text(s, 0), &old_ev) == 0)
                    iso(old_ev + delta, ev, sizeof(ev));
            }
            db_reset(s);
        }
        if (rc == 0)
            rc = db_execf(d, e,
                          "UPDATE tenders SET deadline_at = $1, evaluation_at = COALESCE($2, "
                          "evaluation_at), version = version + 1, updated_at = $3 WHERE id = $4",
                          "sssi", dl, nz(ev), now_s, id);
    }
    if (rc == 0) {
        char od[32], nd[32];
        rc = audit_obj(
            d, a, !strcmp(kind, "amendment") ? "tender.amend" : "tender.clarify", "tender", id,
            new_dl ? json_pack("{s:s}", "deadline_at", iso(t.deadline_at, od, sizeof(od))) : NULL,
            json_pack("{s:s,s:s?}", "title", title, "deadline_at",
                      new_dl ? iso(new_dl, nd, sizeof(nd)) : NULL),
            e);
    }
    free(files);
    return finish(d, rc, e);
}

int tenders_cancel(db *d, const trade_actor *a, int64_t id, const char *reason, err *e) {
    if (require_staff(a, e) != 0) return -1;
    if (!reason || !*reason) return err_invalid(e, "reason", "请填写终止原因");
    if (strlen(reason) > TENDERS_REASON_MAX)
        return err_invalid(e, "reason", "终止原因至多 %d 字节", TENDERS_REASON_MAX);
    if (begin(d, e) != 0) return -1;
    trade_tender t;
    int rc = trade_tender_load(d, id, &t, e);
    if (rc == 0 && (!strcmp(t.status, "awarded") || !strcmp(t.status, "contracted") ||
                    !strcmp(t.status, "cancelled") || !strcmp(t.status, "failed")))
        rc = err_conflict(e, "status", "项目已%s，不能终止", trade_status_label(t.status));
    int was_public = rc == 0 && strcmp(t.status, "draft") != 0;
    if (rc == 0) rc = trade_tender_set_status(d, a, &t, "cancelled", e);
    if (rc == 0)
        rc = db_execf(d, e, "UPDATE tenders SET cancelled_reason = $1 WHERE id = $2", "si", reason,
                      id);
    if (rc == 0 && was_public) {
        char title[TRADE_TITLE_MAX + 40];
        snprintf(title, sizeof(title), "终止公告");
        rc = notice_insert(d, a, id, "cancelled", title, reason, 0, 0, "[]", NULL, e);
    }
    return finish(d, rc, e);
}

int tenders_fail(db *d, const trade_actor *a, trade_tender *t, const char *reason, err *e) {
    if (!reason || !*reason) reason = TENDERS_FAIL_FEW_BIDS;
    if (strlen(reason) > TENDERS_REASON_MAX)
        return err_invalid(e, "reason", "流标原因至多 %d 字节", TENDERS_REASON_MAX);
    static const char *const from[] = {"announced", "opening", "evaluation",
                                       "publicity", "auction", NULL};
    int ok = 0;
    for (int i = 0; from[i]; i++)
        if (!strcmp(t->status, from[i])) ok = 1;
    if (!ok) return err_conflict(e, "status", "项目%s，不能流标", trade_status_label(t->status));
    int own = !d->in_tx;
    if (own && begin(d, e) != 0) return -1;
    int rc = trade_tender_set_status(d, a, t, "failed", e);
    if (rc == 0)
        rc = db_execf(d, e, "UPDATE tenders SET failed_reason = $1 WHERE id = $2", "si", reason,
                      t->id);
    if (rc == 0) rc = notice_insert(d, a, t->id, "failed", "流标公告", reason, 0, 0, "[]", NULL, e);
    if (!own) return rc;
    return finish(d, rc, e);
}

/* ---- reading ---- */

#define DETAIL_COLUMNS                                                                             \
    "t.id, t.tender_no, t.kind, t.title, t.buyer, t.agency, t.town_code, t.budget_fen, "           \
    "t.reserve_fen, t.deposit_fen, t.method, t.method_params, t.qualification, t.description, "    \
    "t.lots, t.status, t.announce_at, t.questions_until, t.deadline_at, t.evaluation_at, "         \
    "t.publicity_days, t.publicity_until, t.allow_backup, t.remote_opening, t.electronic, "        \
    "t.benchmark_factor, t.award_company_id, t.award_fen, t.awarded_at, t.contract_no, "           \
    "t.contract_fen, t.contracted_at, t.failed_reason, t.cancelled_reason, t.auction_ends_at, "    \
    "t.auction_price_fen, t.created_at, t.updated_at, t.version, c.name, c.uscc, w.name"
#define DETAIL_FROM                                                                                \
    " FROM tenders t LEFT JOIN trade_companies c ON c.id = t.award_company_id "                    \
    "LEFT JOIN towns w ON w.code = t.town_code "

static int is_sale_status_link(const char *kind, const char *status) {
    return trade_kind_is_sale(kind) && (!strcmp(status, "announced") ||
                                        !strcmp(status, "auction") || !strcmp(status, "awarded") ||
                                        !strcmp(status, "contracted") || !strcmp(status, "failed"));
}

static double rate4(double x) {
    return round(x * 10000.0) / 10000.0;
}

/* Row → JSON (the list form; full adds the long text fields). */
static json_t *tender_row(db_stmt *s, int full) {
    const char *kind = db_column_text(s, 2), *method = db_column_text(s, 10),
               *status = db_column_text(s, 15);
    kind = kind ? kind : "";
    method = method ? method : "";
    status = status ? status : "";
    json_t *o = json_object();
    int64_t id = db_column_int64(s, 0);
    json_object_set_new(o, "id", json_integer(id));
    json_object_set_new(o, "tender_no", col_str(s, 1));
    json_object_set_new(o, "kind", json_string(kind));
    json_object_set_new(o, "kind_label", json_string(trade_kind_label(kind)));
    json_object_set_new(o, "sale", json_boolean(trade_kind_is_sale(kind)));
    json_object_set_new(o, "title", col_str(s, 3));
    json_object_set_new(o, "buyer", col_str(s, 4));
    json_object_set_new(o, "agency", col_str(s, 5));
    json_object_set_new(o, "town_code", col_str(s, 6));
    json_object_set_new(o, "town_name", col_str(s, 41));
    set_money(o, "budget", s, 7);
    set_money(o, "reserve", s, 8);
    set_money(o, "deposit", s, 9);
    json_object_set_new(o, "method", json_string(method));
    json_object_set_new(o, "method_label", json_string(trade_method_label(method)));
    json_object_set_new(o, "status", json_string(status));
    json_object_set_new(o, "status_label", json_string(trade_status_label(status)));
    json_object_set_new(o, "announce_at", col_str(s, 16));
    json_object_set_new(o, "questions_until", col_str(s, 17));
    json_object_set_new(o, "deadline_at", col_str(s, 18));
    json_object_set_new(o, "evaluation_at", col_str(s, 19));
    json_object_set_new(o, "publicity_days", json_integer(db_column_int64(s, 20)));
    json_object_set_new(o, "publicity_until", col_str(s, 21));
    /* the result */
    if (db_column_type(s, 26) != DB_NULL)
        json_object_set_new(o, "award_company",
                            json_pack("{s:I,s:o,s:o}", "id", (json_int_t)db_column_int64(s, 26),
                                      "name", col_str(s, 39), "uscc", col_str(s, 40)));
    else
        json_object_set_new(o, "award_company", json_null());
    set_money(o, "award", s, 27);
    json_object_set_new(o, "awarded_at", col_str(s, 28));
    json_object_set_new(o, "contract_no", col_str(s, 29));
    set_money(o, "contract", s, 30);
    json_object_set_new(o, "contracted_at", col_str(s, 31));
    json_object_set_new(o, "failed_reason", col_str(s, 32));
    json_object_set_new(o, "cancelled_reason", col_str(s, 33));
    json_object_set_new(o, "savings_rate", json_null());
    json_object_set_new(o, "premium_rate", json_null());
    if (db_column_type(s, 27) != DB_NULL) {
        double award = (double)db_column_int64(s, 27);
        if (trade_kind_is_sale(kind) && db_column_int64(s, 8) > 0) {
            double r = (double)db_column_int64(s, 8);
            json_object_set_new(o, "premium_rate", json_real(rate4((award - r) / r)));
        } else if (!trade_kind_is_sale(kind) && db_column_int64(s, 7) > 0) {
            double b = (double)db_column_int64(s, 7);
            json_object_set_new(o, "savings_rate", json_real(rate4((b - award) / b)));
        }
    }
    json_object_set_new(o, "updated_at", col_str(s, 37));
    json_object_set_new(o, "version", json_integer(db_column_int64(s, 38)));
    if (!full) return o;
    json_t *mp = json_loads(db_column_text(s, 11) ? db_column_text(s, 11) : "{}", 0, NULL);
    if (!json_is_object(mp)) {
        json_decref(mp);
        mp = json_object();
    }
    json_t *inc = json_object_get(mp, "increment_fen");
    if (json_is_integer(inc))
        json_object_set_new(mp, "increment", money_json(json_integer_value(inc)));
    json_object_set_new(o, "method_params", mp);
    json_object_set_new(o, "qualification", col_str(s, 12));
    json_object_set_new(o, "description", col_str(s, 13));
    json_t *lots = json_loads(db_column_text(s, 14) ? db_column_text(s, 14) : "[]", 0, NULL);
    if (!json_is_array(lots)) {
        json_decref(lots);
        lots = json_array();
    }
    size_t i;
    json_t *l;
    json_array_foreach(lots, i, l) {
        json_t *b = json_object_get(l, "budget_fen");
        json_object_set_new(l, "budget",
                            json_is_integer(b) ? money_json(json_integer_value(b)) : json_null());
    }
    json_object_set_new(o, "lots", lots);
    json_object_set_new(o, "allow_backup", json_boolean(db_column_int64(s, 22)));
    json_object_set_new(o, "remote_opening", json_boolean(db_column_int64(s, 23)));
    json_object_set_new(o, "electronic", json_boolean(db_column_int64(s, 24)));
    json_object_set_new(o, "benchmark_factor",
                        db_column_type(s, 25) == DB_NULL ? json_null()
                                                         : json_real(db_column_double(s, 25)));
    json_object_set_new(o, "auction_ends_at", col_str(s, 34));
    set_money(o, "auction_price", s, 35);
    json_object_set_new(o, "created_at", col_str(s, 36));
    return o;
}

static int tender_visible(const trade_actor *a, const char *status, int announced) {
    if (trade_actor_can_supervise(a)) return 1;
    return strcmp(status, "draft") != 0 && announced;
}

static json_t *notice_rows(db *d, int64_t id, err *e) {
    db_stmt *s = db_query(d, e,
                          "SELECT n.id, n.kind, n.title, n.body, n.old_deadline_at, "
                          "n.new_deadline_at, n.files, n.created_at FROM tender_notices n "
                          "WHERE n.tender_id = $1 ORDER BY n.created_at, n.id",
                          "i", id);
    if (!s) return NULL;
    json_t *items = json_array();
    int rc;
    static const struct {
        const char *k, *zh;
    } labels[] = {{"announcement", "公告"},     {"clarification", "澄清"}, {"amendment", "修改"},
                  {"candidates", "候选人公示"}, {"award", "结果公告"},     {"failed", "流标公告"},
                  {"cancelled", "终止公告"},    {"result", "成交公告"}};
    json_t *file_ids = json_array();
    while ((rc = db_step(s)) == DB_ROW) {
        const char *k = db_column_text(s, 1);
        const char *label = "";
        for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
            if (k && !strcmp(labels[i].k, k)) label = labels[i].zh;
        json_t *files = json_loads(db_column_text(s, 6) ? db_column_text(s, 6) : "[]", 0, NULL);
        if (!json_is_array(files)) {
            json_decref(files);
            files = json_array();
        }
        json_array_append(file_ids, files);
        json_array_append_new(
            items, json_pack("{s:I,s:o,s:s,s:o,s:o,s:o,s:o,s:o,s:o}", "id",
                             (json_int_t)db_column_int64(s, 0), "kind", col_str(s, 1), "kind_label",
                             label, "title", col_str(s, 2), "body", col_str(s, 3),
                             "old_deadline_at", col_str(s, 4), "new_deadline_at", col_str(s, 5),
                             "files", json_array(), "created_at", col_str(s, 7)));
        json_decref(files);
    }
    db_reset(s);
    if (rc == DB_ERROR) {
        json_decref(items);
        json_decref(file_ids);
        err_internal(e, "读取公告失败");
        return NULL;
    }
    /* resolve the files after the cursor is done (statements are cached per SQL) */
    size_t i;
    json_t *n;
    json_array_foreach(items, i, n) {
        json_t *ids = json_array_get(file_ids, i), *out = json_object_get(n, "files");
        size_t j;
        json_t *fid;
        json_array_foreach(ids, j, fid) {
            if (!json_is_integer(fid)) continue;
            err fe = {0};
            json_t *f = files_get(d, json_integer_value(fid), &fe);
            if (!f) continue;
            char url[96];
            snprintf(url, sizeof(url), "/api/v1/trade/tenders/%lld/files/%lld", (long long)id,
                     (long long)json_integer_value(fid));
            json_t *pub =
                json_pack("{s:O,s:O?,s:O?,s:O?,s:s}", "id", json_object_get(f, "id"), "filename",
                          json_object_get(f, "filename"), "size", json_object_get(f, "size"),
                          "sha256", json_object_get(f, "sha256"), "url", url);
            json_decref(f);
            if (pub) json_array_append_new(out, pub);
        }
    }
    json_decref(file_ids);
    return json_pack("{s:o}", "items", items);
}

static void timeline_add(json_t *tl, const char *status, const char *label, const char *at,
                         const char *state) {
    json_array_append_new(tl, json_pack("{s:s,s:s,s:s?,s:s}", "status", status, "label", label,
                                        "at", at, "state", state));
}

/* The lifecycle as steps with their (planned or actual) times. */
static json_t *timeline(json_t *o) {
    const char *status = jsonx_str(o, "status");
    int sale = json_is_true(json_object_get(o, "sale"));
    static const char *const works[] = {"announced", "opening",    "evaluation", "publicity",
                                        "awarded",   "contracted", NULL};
    static const char *const sales[] = {"announced", "auction", "awarded", "contracted", NULL};
    const char *const *steps = sale ? sales : works;
    int cur = -1, n = 0;
    for (; steps[n]; n++)
        if (!strcmp(steps[n], status)) cur = n;
    int ended = !strcmp(status, "cancelled") || !strcmp(status, "failed");
    json_t *tl = json_array();
    for (int i = 0; i < n; i++) {
        const char *at = NULL, *s = steps[i];
        if (!strcmp(s, "announced"))
            at = jsonx_str(o, "announce_at");
        else if (!strcmp(s, "opening") || !strcmp(s, "auction"))
            at = jsonx_str(o, "deadline_at");
        else if (!strcmp(s, "evaluation"))
            at = jsonx_str(o, "evaluation_at");
        else if (!strcmp(s, "publicity"))
            at = jsonx_str(o, "publicity_until");
        else if (!strcmp(s, "awarded"))
            at = jsonx_str(o, "awarded_at");
        else if (!strcmp(s, "contracted"))
            at = jsonx_str(o, "contracted_at");
        const char *label = trade_status_label(s);
        if (!strcmp(s, "announced"))
            label = "发布公告";
        else if (!strcmp(s, "opening"))
            label = "开标";
        else if (!strcmp(s, "evaluation"))
            label = "评标";
        else if (!strcmp(s, "auction"))
            label = "网络竞价";
        /* a cancelled or failed tender: the steps it went through are those whose
         * time lies before its end (updated_at), once it had been announced */
        const char *end = jsonx_str(o, "updated_at");
        const char *state = "todo";
        if (cur >= 0)
            state = i < cur ? "done" : i == cur ? "current" : "todo";
        else if (ended && jsonx_str(o, "announce_at") && at && end && strcmp(at, end) <= 0)
            state = "done";
        timeline_add(tl, s, label, at, state);
    }
    if (ended)
        timeline_add(tl, status, trade_status_label(status), jsonx_str(o, "updated_at"), "current");
    return tl;
}

json_t *tenders_get(db *d, const trade_actor *a, int64_t id, err *e) {
    db_stmt *s = db_query(d, e, "SELECT " DETAIL_COLUMNS DETAIL_FROM "WHERE t.id = $1", "i", id);
    if (!s) return NULL;
    int rc = db_step(s);
    if (rc != DB_ROW) {
        db_reset(s);
        if (rc == DB_ERROR)
            err_internal(e, "读取项目失败");
        else
            err_notfound(e, "项目不存在");
        return NULL;
    }
    const char *status = db_column_text(s, 15);
    if (!tender_visible(a, status ? status : "draft", db_column_type(s, 16) != DB_NULL)) {
        db_reset(s);
        err_notfound(e, "项目不存在");
        return NULL;
    }
    json_t *o = tender_row(s, 1);
    db_reset(s);
    json_t *notices = notice_rows(d, id, e);
    if (!notices) {
        json_decref(o);
        return NULL;
    }
    json_object_set(o, "notices", json_object_get(notices, "items"));
    json_decref(notices);
    json_object_set_new(o, "timeline", timeline(o));

    status = jsonx_str(o, "status");
    const char *kind = jsonx_str(o, "kind");
    int64_t deadline = 0, now = time_now();
    tenders_parse_time(jsonx_str(o, "deadline_at"), &deadline);
    int open = !strcmp(status, "announced") && now < deadline;
    int staff = trade_actor_is_staff(a);
    int bidder = a->user_id && (a->role & (ROLE_BIDDER | ROLE_COMPANY));
    json_t *links = json_object();
    char url[80];
    if (!trade_kind_is_sale(kind) && (trade_status_bids_public(status) ||
                                      (!strcmp(status, "announced") && now >= deadline - 3600))) {
        snprintf(url, sizeof(url), "/trade/tenders/%lld/hall", (long long)id);
        json_object_set_new(links, "hall", json_string(url));
    }
    if (is_sale_status_link(kind, status)) {
        snprintf(url, sizeof(url), "/trade/tenders/%lld/auction", (long long)id);
        json_object_set_new(links, "auction", json_string(url));
    }
    json_object_set_new(o, "links", links);
    json_object_set_new(o, "open_for_bids", json_boolean(open));
    json_object_set_new(
        o, "can",
        json_pack("{s:b,s:b,s:b,s:b,s:b,s:b}", "edit", staff && !strcmp(status, "draft"),
                  "announce", staff && !strcmp(status, "draft"), "notice", staff && open, "cancel",
                  staff && strcmp(status, "awarded") && strcmp(status, "contracted") &&
                      strcmp(status, "cancelled") && strcmp(status, "failed"),
                  "deposit", bidder && open, "bid", bidder && open && !trade_kind_is_sale(kind)));
    json_object_set_new(o, "min_notice_days", json_integer(tenders_min_notice_days(kind)));
    json_object_set_new(o, "min_amend_days", json_integer(tenders_min_amend_days()));
    if (bidder && a->company_id) {
        int64_t dep = 0, amount = 0;
        err de = {0};
        if (tenders_deposit_of(d, id, a->company_id, &dep, &amount, &de) == 0 && dep) {
            json_object_set_new(o, "my_deposit",
                                json_pack("{s:I,s:I,s:o}", "id", (json_int_t)dep, "amount_fen",
                                          (json_int_t)amount, "amount", money_json(amount)));
        } else {
            json_object_set_new(o, "my_deposit", json_null());
        }
    }
    return o;
}

json_t *tenders_notices(db *d, const trade_actor *a, int64_t id, err *e) {
    trade_tender t;
    if (trade_tender_load(d, id, &t, e) != 0) return NULL;
    if (!tender_visible(a, t.status, t.announce_at != 0)) {
        err_notfound(e, "项目不存在");
        return NULL;
    }
    return notice_rows(d, id, e);
}

int tenders_file(db *d, const trade_actor *a, int64_t id, int64_t file_id, char *path,
                 size_t path_n, char *name, size_t name_n, char *type, size_t type_n, err *e) {
    json_t *n = tenders_notices(d, a, id, e);
    if (!n) return -1;
    int found = 0;
    size_t i, j;
    json_t *x, *f;
    json_array_foreach(json_object_get(n, "items"), i, x) {
        json_array_foreach(json_object_get(x, "files"), j, f) {
            if (json_integer_value(json_object_get(f, "id")) == file_id) found = 1;
        }
    }
    json_decref(n);
    if (!found) return err_notfound(e, "没有这个文件");
    json_t *row = files_get(d, file_id, e);
    if (!row) return -1;
    const char *sha = jsonx_str(row, "sha256");
    snprintf(path, path_n, "%s/%.2s/%s", files_dir() ? files_dir() : ".", sha ? sha : "",
             sha ? sha : "");
    snprintf(name, name_n, "%s", jsonx_str(row, "filename") ? jsonx_str(row, "filename") : "file");
    snprintf(type, type_n, "%s",
             jsonx_str(row, "content_type") ? jsonx_str(row, "content_type")
                                            : "application/octet-stream");
    json_decref(row);
    return 0;
}

/* The list's WHERE, shared by the count and the page. Parameters: $1 kind, $2 status,
 * $3 keyword pattern, $4 staff (1 sees drafts), $5 phase, $6 company (mine). */
#define LIST_WHERE                                                                                 \
    "WHERE ($1 = '' OR t.kind = $1) AND ($2 = '' OR t.status = $2) "                               \
    "AND ($3 = '' OR LOWER(t.title) LIKE $3 ESCAPE '\\' OR LOWER(t.tender_no) LIKE $3 "            \
    "ESCAPE '\\' OR LOWER(t.buyer) LIKE $3 ESCAPE '\\') "                                          \
    "AND (CAST($4 AS BIGINT) = 1 OR (t.status <> 'draft' AND t.announce_at IS NOT NULL)) "         \
    "AND ($5 = '' OR ($5 = 'open' AND t.status IN ('announced', 'opening', 'evaluation', "         \
    "'publicity', 'auction')) OR ($5 = 'results' AND t.status IN ('awarded', 'contracted', "       \
    "'failed')) OR ($5 = 'closed' AND t.status IN ('awarded', 'contracted', 'failed', "            \
    "'cancelled'))) "                                                                              \
    "AND (CAST($6 AS BIGINT) = 0 OR EXISTS (SELECT 1 FROM trade_deposits dd WHERE dd.tender_id "   \
    "= t.id AND dd.company_id = $6) OR EXISTS (SELECT 1 FROM bids bb WHERE bb.tender_id = t.id "   \
    "AND bb.company_id = $6)) "

int tenders_list(db *d, const trade_actor *a, const tenders_filter *f, json_t **out, err *e) {
    *out = NULL;
    const char *kind = f->kind && *f->kind ? f->kind : "";
    const char *status = f->status && *f->status ? f->status : "";
    const char *phase = f->phase && *f->phase ? f->phase : "";
    if (*kind && !trade_kind_valid(kind)) return err_invalid(e, "kind", "没有这个项目类别");
    if (*status && !trade_status_valid(status)) return err_invalid(e, "status", "没有这个状态");
    if (*phase && strcmp(phase, "open") && strcmp(phase, "results") && strcmp(phase, "closed"))
        return err_invalid(e, "phase", "phase 须为 open、results 或 closed");
    int staff = trade_actor_can_supervise(a);
    if (!strcmp(status, "draft") && !staff) return err_invalid(e, "status", "没有这个状态");
    int64_t company = 0;
    if (f->mine) {
        if (!a->company_id) {
            *out = json_pack("{s:[],s:i,s:I,s:I}", "items", "total", 0, "limit",
                             (json_int_t)f->limit, "offset", (json_int_t)f->offset);
            return 0;
        }
        company = a->company_id;
    }
    char pat[300] = "";
    if (f->q && *f->q) {
        if (strlen(f->q) > 100) return err_invalid(e, "q", "关键词过长");
        size_t o = 0;
        pat[o++] = '%';
        for (const char *p = f->q; *p && o < sizeof(pat) - 3; p++) {
            if (*p == '%' || *p == '_' || *p == '\\') pat[o++] = '\\';
            pat[o++] = (char)tolower((unsigned char)*p);
        }
        pat[o++] = '%';
        pat[o] = '\0';
    }
    int64_t total = 0;
    if (db_query_int(d, e, &total, "SELECT COUNT(*) FROM tenders t " LIST_WHERE, "sssisi", kind,
                     status, pat, (int64_t)staff, phase, company) < 0)
        return -1;
    int results = !strcmp(phase, "results") || !strcmp(phase, "closed");
    db_stmt *s = results
                     ? db_query(d, e,
                                "SELECT " DETAIL_COLUMNS DETAIL_FROM LIST_WHERE
                                "ORDER BY COALESCE(t.awarded_at, t.updated_at) DESC, t.id DESC "
                                "LIMIT $7 OFFSET $8",
                                "sssisiii", kind, status, pat, (int64_t)staff, phase, company,
                                f->limit, f->offset)
                     : db_query(d, e,
                                "SELECT " DETAIL_COLUMNS DETAIL_FROM LIST_WHERE
                                "ORDER BY COALESCE(t.announce_at, t.created_at) DESC, t.id DESC "
                                "LIMIT $7 OFFSET $8",
                                "sssisiii", kind, status, pat, (int64_t)staff, phase, company,
                                f->limit, f->offset);
    if (!s) return -1;
    json_t *items = json_array();
    int rc;
    while ((rc = db_step(s)) == DB_ROW)
        json_array_append_new(items, tender_row(s, 0));
    db_reset(s);
    if (rc == DB_ERROR) {
        json_decref(items);
        return err_internal(e, "读取项目列表失败");
    }
    *out = json_pack("{s:o,s:I,s:I,s:I}", "items", items, "total", (json_int_t)total, "limit",
                     (json_int_t)f->limit, "offset", (json_int_t)f->offset);
    return 0;
}

/* ---- companies ---- */

static const jsonx_field company_spec[] = {
    {"uscc", JX_STRING, 1, 18},      {"name", JX_STRING, 1, TRADE_NAME_MAX},
    {"legal_rep", JX_STRING, 0, 64}, {"address", JX_STRING, 0, 200},
    {"phone", JX_STRING, 0, 20},     {NULL, 0, 0, 0},
};

static int phone_ok(const char *p) {
    size_t n = 0;
    for (; *p; p++) {
        if (isdigit((unsigned char)*p))
            n++;
        else if (*p != '-' && *p != ' ' && *p != '+')
            return 0;
    }
    return n >= 7 && n <= 15;
}

int tenders_company_register(db *d, const trade_actor *a, json_t *in, int64_t *company_id, err *e) {
    if (!a->user_id || !(a->role & (ROLE_BIDDER | ROLE_COMPANY)))
        return err_forbidden(e, "只有投标人或企业账号可以登记企业");
    if (jsonx_check(in, company_spec, e) != 0) return -1;
    char uscc[19];
    const char *u = jsonx_str(in, "uscc");
    size_t i = 0;
    for (; u[i] && i < 18; i++)
        uscc[i] = (char)toupper((unsigned char)u[i]);
    uscc[i] = '\0';
    if (!trade_uscc_valid(uscc))
        return err_invalid(e, "uscc", "统一社会信用代码无效（18 位，校验位不符）");
    const char *name = opt_str(in, "name"), *phone = opt_str(in, "phone");
    if (!name) return err_invalid(e, "name", "请填写企业名称");
    if (phone && !phone_ok(phone)) return err_invalid(e, "phone", "联系电话格式不正确");
    if (begin(d, e) != 0) return -1;
    int64_t other = 0;
    int rc =
        db_query_int(d, e, &other, "SELECT company_id FROM trade_company_users WHERE user_id = $1",
                     "i", a->user_id);
    if (rc == 0)
        rc = err_conflict(e, "user", "您的账号已关联企业");
    else if (rc > 0)
        rc = 0;
    if (rc == 0) {
        int q =
            db_query_int(d, e, &other, "SELECT id FROM trade_companies WHERE uscc = $1", "s", uscc);
        if (q < 0)
            rc = -1;
        else if (q == 0)
            rc = err_conflict(e, "uscc", "该统一社会信用代码已登记，请联系企业管理员或交易中心");
    }
    char now[32];
    iso(time_now(), now, sizeof(now));
    if (rc == 0) {
        rc = db_query_int(
            d, e, company_id,
            "INSERT INTO trade_companies (uscc, name, legal_rep, phone, address, "
            "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
            "ssssss", uscc, name, opt_str(in, "legal_rep"), phone, opt_str(in, "address"), now);
        if (rc > 0) rc = err_internal(e, "未能登记企业");
    }
    if (rc == 0)
        rc = db_execf(
            d, e,
            "INSERT INTO trade_company_users (user_id, company_id, created_at) VALUES ($1, "
            "$2, $3)",
            "iis", a->user_id, *company_id, now);
    /* the audit row names the company, never the phone */
    if (rc == 0)
        rc = audit_obj(d, a, "company.register", "company", *company_id, NULL,
                       json_pack("{s:s,s:s,s:I}", "uscc", uscc, "name", name, "user_id",
                                 (json_int_t)a->user_id),
                       e);
    return finish(d, rc, e);
}

static json_t *company_row(db_stmt *s) {
    return json_pack("{s:I,s:o,s:o,s:o,s:o,s:o,s:o}", "id", (json_int_t)db_column_int64(s, 0),
                     "uscc", col_str(s, 1), "name", col_str(s, 2), "legal_rep", col_str(s, 3),
                     "phone", col_str(s, 4), "address", col_str(s, 5), "created_at", col_str(s, 6));
}

json_t *tenders_company_me(db *d, const trade_actor *a, err *e) {
    if (!a->company_id) {
        err_notfound(e, "您的账号尚未登记企业");
        return NULL;
    }
    db_stmt *s = db_query(d, e,
                          "SELECT id, uscc, name, legal_rep, phone, address, created_at FROM "
                          "trade_companies WHERE id = $1",
                          "i", a->company_id);
    if (!s) return NULL;
    json_t *o = NULL;
    int rc = db_step(s);
    if (rc == DB_ROW) o = company_row(s);
    db_reset(s);
    if (!o) err_notfound(e, "您的账号尚未登记企业");
    return o;
}

json_t *tenders_company_list(db *d, const trade_actor *a, const char *q, int64_t limit,
                             int64_t offset, err *e) {
    if (!trade_actor_can_supervise(a)) {
        err_forbidden(e, "仅交易中心工作人员和监管人员可以查看企业库");
        return NULL;
    }
    char pat[220] = "";
    if (q && *q) {
        if (strlen(q) > 100) {
            err_invalid(e, "q", "关键词过长");
            return NULL;
        }
        size_t o = 0;
        pat[o++] = '%';
        for (const char *p = q; *p && o < sizeof(pat) - 3; p++) {
            if (*p == '%' || *p == '_' || *p == '\\') pat[o++] = '\\';
            pat[o++] = (char)tolower((unsigned char)*p);
        }
        pat[o++] = '%';
        pat[o] = '\0';
    }
    int64_t total = 0;
    if (db_query_int(d, e, &total,
                     "SELECT COUNT(*) FROM trade_companies WHERE $1 = '' OR LOWER(name) LIKE $1 "
                     "ESCAPE '\\' OR LOWER(uscc) LIKE $1 ESCAPE '\\'",
                     "s", pat) < 0)
        return NULL;
    db_stmt *s = db_query(d, e,
                          "SELECT id, uscc, name, legal_rep, phone, address, created_at FROM "
                          "trade_companies WHERE $1 = '' OR LOWER(name) LIKE $1 ESCAPE '\\' OR "
                          "LOWER(uscc) LIKE $1 ESCAPE '\\' ORDER BY name, id LIMIT $2 OFFSET $3",
                          "sii", pat, limit, offset);
    if (!s) return NULL;
    json_t *items = json_array();
    int rc;
    while ((rc = db_step(s)) == DB_ROW)
        json_array_append_new(items, company_row(s));
    db_reset(s);
    if (rc == DB_ERROR) {
        json_decref(items);
        err_internal(e, "读取企业失败");
        return NULL;
    }
    return json_pack("{s:o,s:I}", "items", items, "total", (json_int_t)total);
}

/* ---- deposits ---- */

int tenders_deposit_of(db *d, int64_t id, int64_t company_id, int64_t *deposit_id,
                       int64_t *amount_fen, err *e) {
    *deposit_id = 0;
    db_stmt *s = db_query(d, e,
                          "SELECT id, amount_fen FROM trade_deposits WHERE tender_id = $1 AND "
                          "company_id = $2 AND status = 'paid'",
                          "ii", id, company_id);
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ROW) {
        *deposit_id = db_column_int64(s, 0);
        if (amount_fen) *amount_fen = db_column_int64(s, 1);
    }
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取保证金失败");
    return 0;
}

static const jsonx_field deposit_spec[] = {
    {"amount", JX_ANY, 1, 0},
    {"account_no", JX_STRING, 1, 40},
    {"account_name", JX_STRING, 1, TRADE_NAME_MAX},
    {"bank", JX_STRING, 0, 100},
    {"company_id", JX_INT, 0, 0},
    {NULL, 0, 0, 0},
};

int tenders_deposit_pay(db *d, const trade_actor *a, int64_t id, json_t *in, int64_t *deposit_id,
                        err *e) {
    if (jsonx_check(in, deposit_spec, e) != 0) return -1;
    int staff = trade_actor_is_staff(a);
    int64_t company = 0;
    if (staff) {
        company = jsonx_int(in, "company_id", 0);
        if (company <= 0) return err_invalid(e, "company_id", "请指明缴纳保证金的企业");
    } else if (a->role & (ROLE_BIDDER | ROLE_COMPANY)) {
        if (json_object_get(in, "company_id") && jsonx_int(in, "company_id", 0) != a->company_id)
            return err_forbidden(e, "只能为本企业缴纳保证金");
        company = a->company_id;
        if (!company) return err_set(e, 409, "conflict", "company", "请先登记企业信息");
    } else {
        return err_forbidden(e, "只有投标人可以缴纳保证金");
    }
    int64_t amount = 0;
    if (trade_money_from_json(json_object_get(in, "amount"), "amount", &amount, e) != 0) return -1;
    /* account numbers compared by the screening: keep digits only */
    char acct[41];
    size_t n = 0;
    for (const char *p = jsonx_str(in, "account_no"); *p; p++) {
        if (isdigit((unsigned char)*p)) {
            if (n < sizeof(acct) - 1) acct[n++] = *p;
        } else if (*p != ' ' && *p != '-') {
            return err_invalid(e, "account_no", "账号只能包含数字");
        }
    }
    acct[n] = '\0';
    if (n < 8 || n > 32) return err_invalid(e, "account_no", "账号须为 8 至 32 位数字");
    const char *acct_name = opt_str(in, "account_name");
    if (!acct_name) return err_invalid(e, "account_name", "请填写付款账户名称");
    if (begin(d, e) != 0) return -1;
    trade_tender t;
    int rc = trade_tender_load(d, id, &t, e);
    if (rc == 0 && !strcmp(t.status, "draft") && !staff) rc = err_notfound(e, "项目不存在");
    if (rc == 0 && (strcmp(t.status, "announced") != 0 || time_now() >= t.deadline_at))
        rc = err_conflict(e, "status", "项目不在报名（投标）期内，不能缴纳保证金");
    if (rc == 0 && amount < t.deposit_fen) {
        char b[48];
        rc = err_invalid(e, "amount", "保证金不足：本项目须缴纳 %s",
                         trade_money_display(t.deposit_fen, b, sizeof(b)));
    }
    if (rc == 0 && amount > TRADE_MONEY_MAX_FEN) rc = err_invalid(e, "amount", "金额超出范围");
    if (rc == 0 && staff) {
        int64_t one = 0;
        int q =
            db_query_int(d, e, &one, "SELECT 1 FROM trade_companies WHERE id = $1", "i", company);
        if (q < 0)
            rc = -1;
        else if (q > 0)
            rc = err_invalid(e, "company_id", "没有这个企业");
    }
    if (rc == 0) {
        int64_t dep = 0;
        rc = tenders_deposit_of(d, id, company, &dep, NULL, e);
        if (rc == 0 && dep) rc = err_conflict(e, "amount", "本企业已缴纳该项目保证金");
    }
    char now[32];
    iso(time_now(), now, sizeof(now));
    if (rc == 0) {
        rc =
            db_query_int(d, e, deposit_id,
                         "INSERT INTO trade_deposits (tender_id, company_id, amount_fen, "
                         "account_no, account_name, bank, paid_at) VALUES ($1, $2, $3, $4, $5, "
                         "$6, $7) RETURNING id",
                         "iiissss", id, company, amount, acct, acct_name, opt_str(in, "bank"), now);
        if (rc > 0) rc = err_internal(e, "未能登记保证金");
        if (rc < 0 && e->status == 409) rc = err_conflict(e, "amount", "本企业已缴纳该项目保证金");
    }
    if (rc == 0)
        rc = audit_obj(d, a, "deposit.pay", "deposit", *deposit_id, NULL,
                       json_pack("{s:I,s:I,s:I}", "tender_id", (json_int_t)id, "company_id",
                                 (json_int_t)company, "amount_fen", (json_int_t)amount),
                       e);
    return finish(d, rc, e);
}

json_t *tenders_deposits(db *d, const trade_actor *a, int64_t id, err *e) {
    trade_tender t;
    if (trade_tender_load(d, id, &t, e) != 0) return NULL;
    int super = trade_actor_can_supervise(a);
    if (!tender_visible(a, t.status, t.announce_at != 0)) {
        err_notfound(e, "项目不存在");
        return NULL;
    }
    int64_t company = 0;
    if (super) {
        if (!trade_status_bids_public(t.status) && time_now() < t.deadline_at) {
            err_forbidden(e, "投标截止前不公开保证金缴纳情况");
            return NULL;
        }
    } else if (a->company_id && (a->role & (ROLE_BIDDER | ROLE_COMPANY))) {
        company = a->company_id;
    } else {
        err_forbidden(e, "您无权查看保证金");
        return NULL;
    }
    db_stmt *s = db_query(d, e,
                          "SELECT p.id, p.company_id, c.name, c.uscc, p.amount_fen, p.account_no, "
                          "p.account_name, p.bank, p.paid_at, p.status FROM trade_deposits p "
                          "JOIN trade_companies c ON c.id = p.company_id WHERE p.tender_id = $1 "
                          "AND (CAST($2 AS BIGINT) = 0 OR p.company_id = $2) ORDER BY p.paid_at, "
                          "p.id",
                          "ii", id, company);
    if (!s) return NULL;
    json_t *items = json_array();
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        char ref[80];
        snprintf(ref, sizeof(ref), "BZJ-%s-%04lld", t.tender_no, (long long)db_column_int64(s, 0));
        json_t *row =
            json_pack("{s:I,s:s,s:I,s:o,s:o,s:I,s:o,s:o,s:o,s:o,s:o,s:o}", "id",
                      (json_int_t)db_column_int64(s, 0), "ref", ref, "company_id",
                      (json_int_t)db_column_int64(s, 1), "company_name", col_str(s, 2), "uscc",
                      col_str(s, 3), "amount_fen", (json_int_t)db_column_int64(s, 4), "amount",
                      money_json(db_column_int64(s, 4)), "account_no", col_str(s, 5),
                      "account_name", col_str(s, 6), "bank", col_str(s, 7), "paid_at",
                      col_str(s, 8), "status", col_str(s, 9));
        json_array_append_new(items, row);
    }
    db_reset(s);
    if (rc == DB_ERROR) {
        json_decref(items);
        err_internal(e, "读取保证金失败");
        return NULL;
    }
    return json_pack("{s:o,s:I}", "items", items, "count", (json_int_t)json_array_size(items));
}
