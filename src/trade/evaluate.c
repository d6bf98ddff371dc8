/* evaluate: online evaluation, candidate publicity, award and contract (see
 * evaluate.h for the rules). The pure methods come first (evaluate_rank,
 * evaluate_outliers), then the pool, the draw, scoring, compute, the views, and the
 * steps after the report. Never show an expert's identity before the report, nor a
 * company's identity to an expert. */
#include "trade/evaluate.h"

#include <ctype.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "auth/roles.h"
#include "base/jsonx.h"
#include "base/timeutil.h"
#include "base/xmalloc.h"
#include "trade/tenders.h"

#define QUAL_PASS_MIN 0.5 /* qualification rows store 1 (pass) or 0 (fail) */

/* ---- small helpers ---- */

static double round2(double x) {
    return round(x * 100.0) / 100.0;
}

/* "2026-11-28T06:41:50.123Z" or without ms → milliseconds since the epoch (0 when
 * unparsable). */
static int64_t iso_ms(const char *s) {
    if (!s || strlen(s) < 19) return 0;
    char b[24];
    memcpy(b, s, 19);
    b[19] = 'Z';
    b[20] = '\0';
    int64_t t = 0;
    if (time_parse_iso(b, &t) != 0) return 0;
    int ms = 0;
    if (s[19] == '.')
        for (int i = 20, k = 0; k < 3 && isdigit((unsigned char)s[i]); i++, k++)
            ms = ms * 10 + (s[i] - '0');
    return t * 1000 + ms;
}

static void now_iso(char *buf, size_t n) {
    time_iso(buf, n, time_now());
}

static json_t *money_json(int64_t fen) {
    char b[40];
    return json_string(trade_money_str(fen, b, sizeof(b)));
}

static int audit_tender(db *d, const trade_actor *a, const char *action, int64_t tender_id,
                        json_t *after, err *e) {
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)tender_id);
    int rc = audit_record(d, &a->audit, action, "tender", id, NULL, after, e);
    json_decref(after);
    return rc;
}

static int fail_tx(db *d) {
    db_rollback(d);
    trade_event_discard();
    return -1;
}

/* ---- the pure core ---- */

char *evaluate_bid_letter(int i, char *buf, size_t n) {
    if (i < 26)
        snprintf(buf, n, "%c", 'A' + i);
    else
        snprintf(buf, n, "%c%d", 'A' + i % 26, (i / 26) % 100);
    return buf;
}

double evaluate_savings(int64_t budget_fen, int64_t award_fen) {
    if (budget_fen <= 0) return 0;
    return (double)(budget_fen - award_fen) / (double)budget_fen;
}

int evaluate_outliers(const double *scores, int n, double max_score, int *flags) {
    int count = 0;
    for (int i = 0; i < n; i++)
        flags[i] = 0;
    if (n < 3) return 0;
    for (int i = 0; i < n; i++) {
        double sum = 0, sq = 0;
        for (int j = 0; j < n; j++)
            if (j != i) sum += scores[j];
        double mean = sum / (n - 1);
        for (int j = 0; j < n; j++)
            if (j != i) sq += (scores[j] - mean) * (scores[j] - mean);
        double sd = sqrt(sq / (n - 1));
        double limit = fmax(0.2 * max_score, 2 * sd);
        if (fabs(scores[i] - mean) > limit + 1e-9) {
            flags[i] = 1;
            count++;
        }
    }
    return count;
}

/* Order of two valid bids for the method: negative when a ranks before b. */
static int rank_cmp(const evaluate_bid *a, const evaluate_bid *b, const char *method,
                    double bench) {
    if (!strcmp(method, "composite")) {
        if (fabs(a->total_score - b->total_score) > 1e-9)
            return a->total_score > b->total_score ? -1 : 1;
    } else if (!strcmp(method, "reasonable_low")) {
        double da = fabs((double)a->price_fen - bench), db_ = fabs((double)b->price_fen - bench);
        if (fabs(da - db_) > 1e-6) return da < db_ ? -1 : 1;
    } else if (a->price_fen != b->price_fen) {
        return a->price_fen < b->price_fen ? -1 : 1;
    }
    if (a->submitted_at != b->submitted_at) return a->submitted_at < b->submitted_at ? -1 : 1;
    return a->bid_id < b->bid_id ? -1 : a->bid_id > b->bid_id;
}

int evaluate_rank(evaluate_bid *bids, int n, const evaluate_params *p, double *reference_fen) {
    const char *m = p->method ? p->method : "";
    if (strcmp(m, "lowest_price") && strcmp(m, "composite") && strcmp(m, "reasonable_low"))
        return -1;
    *reference_fen = 0;
    int nvalid = 0;
    int64_t lo = 0, hi = 0;
    double sum = 0;
    for (int i = 0; i < n; i++) {
        evaluate_bid *b = &bids[i];
        b->rank = 0;
        b->price_score = b->total_score = 0;
        if (!b->valid) continue;
        if (b->price_fen <= 0) {
            b->valid = 0;
            snprintf(b->reason, sizeof(b->reason), "投标报价无效");
        } else if (p->budget_fen > 0 && b->price_fen > p->budget_fen) {
            b->valid = 0;
            snprintf(b->reason, sizeof(b->reason), "投标报价超过最高限价");
        } else if (b->qual_total > 0 && b->qual_fail * 2 > b->qual_total) {
            b->valid = 0;
            snprintf(b->reason, sizeof(b->reason), "资格审查未通过（%d/%d 名专家判定不合格）",
                     b->qual_fail, b->qual_total);
        }
        if (!b->valid) continue;
        if (!nvalid || b->price_fen < lo) lo = b->price_fen;
        if (!nvalid || b->price_fen > hi) hi = b->price_fen;
        sum += (double)b->price_fen;
        nvalid++;
    }
    if (!nvalid) return 0;
    double ref = (double)lo;
    if (!strcmp(m, "reasonable_low")) {
        double mean = nvalid >= 5 ? (sum - (double)lo - (double)hi) / (nvalid - 2) : sum / nvalid;
        double f = p->benchmark_factor > 0 ? p->benchmark_factor : 1.0;
        ref = round(mean * f); /* in fen */
    }
    *reference_fen = ref;
    for (int i = 0; i < n; i++) {
        evaluate_bid *b = &bids[i];
        if (!b->valid) continue;
        if (!strcmp(m, "composite")) {
            b->price_score = round2(ref / (double)b->price_fen * p->price_weight);
            b->tech_score = round2(b->tech_score);
            b->total_score = round2(b->price_score + b->tech_score);
        }
    }
    /* Rank: count the valid bids that order before each one (quadratic; hundreds at most). */
    for (int i = 0; i < n; i++) {
        if (!bids[i].valid) continue;
        int r = 1;
        for (int j = 0; j < n; j++)
            if (j != i && bids[j].valid && rank_cmp(&bids[j], &bids[i], m, ref) < 0) r++;
        bids[i].rank = r;
    }
    return nvalid;
}

/* ---- tender context ---- */

typedef struct tender_ctx {
    trade_tender t;
    char agency[TRADE_NAME_MAX + 1];
    char publicity_until[32];
    double price_weight, tech_weight, factor_min, factor_max;
    char specialty[EVAL_SPECIALTY_MAX + 1]; /* method_params.specialty, "" when none */
    int64_t award_bid_id, award_fen, contract_fen;
    char contract_no[80];
    char awarded_at[32];
} tender_ctx;

static void copy_text(db_stmt *s, int col, char *dst, size_t n) {
    const char *v = db_column_text(s, col);
    snprintf(dst, n, "%s", v ? v : "");
}

/* Load the tender and its evaluation columns; drafts are 404 for non-staff. */
static int ctx_load(db *d, const trade_actor *a, int64_t id, tender_ctx *c, err *e) {
    memset(c, 0, sizeof(*c));
    if (trade_tender_load(d, id, &c->t, e) != 0) return -1;
    if (!strcmp(c->t.status, "draft") && !trade_actor_can_supervise(a))
        return err_notfound(e, "项目不存在");
    db_stmt *s = db_query(d, e,
                          "SELECT agency, publicity_until, method_params, award_bid_id, award_fen, "
                          "contract_no, contract_fen, awarded_at FROM tenders WHERE id = $1",
                          "i", id);
    if (!s) return -1;
    int rc = db_step(s);
    json_t *mp = NULL;
    if (rc == DB_ROW) {
        copy_text(s, 0, c->agency, sizeof(c->agency));
        copy_text(s, 1, c->publicity_until, sizeof(c->publicity_until));
        const char *p = db_column_text(s, 2);
        mp = p ? json_loads(p, 0, NULL) : NULL;
        c->award_bid_id = db_column_int64(s, 3);
        c->award_fen = db_column_int64(s, 4);
        copy_text(s, 5, c->contract_no, sizeof(c->contract_no));
        c->contract_fen = db_column_int64(s, 6);
        copy_text(s, 7, c->awarded_at, sizeof(c->awarded_at));
    }
    db_reset(s);
    if (rc != DB_ROW) return err_internal(e, "读取项目失败");
    c->price_weight = EVAL_PRICE_WEIGHT_DEFAULT;
    c->tech_weight = EVAL_TECH_WEIGHT_DEFAULT;
    c->factor_min = 0.95;
    c->factor_max = 0.98;
    if (json_is_object(mp)) {
        json_t *v;
        if ((v = json_object_get(mp, "price_weight")) && json_is_number(v) &&
            json_number_value(v) > 0 && json_number_value(v) <= 100)
            c->price_weight = json_number_value(v);
        if ((v = json_object_get(mp, "tech_weight")) && json_is_number(v) &&
            json_number_value(v) > 0 && json_number_value(v) <= 100)
            c->tech_weight = json_number_value(v);
        else if (json_object_get(mp, "price_weight"))
            c->tech_weight = 100 - c->price_weight;
        if ((v = json_object_get(mp, "factor_min")) && json_is_number(v))
            c->factor_min = json_number_value(v);
        if ((v = json_object_get(mp, "factor_max")) && json_is_number(v))
            c->factor_max = json_number_value(v);
        if (!(c->factor_min > 0.5 && c->factor_min <= c->factor_max && c->factor_max <= 1.2))
            c->factor_min = 0.95, c->factor_max = 0.98;
        const char *sp = jsonx_str(mp, "specialty");
        if (sp) snprintf(c->specialty, sizeof(c->specialty), "%s", sp);
    }
    json_decref(mp);
    return 0;
}

static int is_qualification(const tender_ctx *c) {
    return strcmp(c->t.method, "composite") != 0;
}

/* The evaluation report exists once the results are written. */
static int report_done(db *d, int64_t tender_id) {
    int64_t n = 0;
    err e = {0};
    if (db_query_int(d, &e, &n, "SELECT COUNT(*) FROM tender_results WHERE tender_id = $1", "i",
                     tender_id) != 0)
        return 0;
    return n > 0;
}

/* The actor's place on the panel: 1 drawn (with *submitted, *chair, *seq), 0 not. */
static int panel_member(db *d, const trade_actor *a, int64_t tender_id, int *submitted, int *chair,
                        int *seq) {
    if (!a->expert_id || !(a->role & ROLE_EXPERT)) return 0;
    err e = {0};
    db_stmt *s = db_query(d, &e,
                          "SELECT submitted_at, chair, draw_seq FROM tender_experts "
                          "WHERE tender_id = $1 AND expert_id = $2",
                          "ii", tender_id, a->expert_id);
    if (!s) return 0;
    int rc = db_step(s), found = 0;
    if (rc == DB_ROW) {
        found = 1;
        if (submitted) *submitted = db_column_type(s, 0) != DB_NULL;
        if (chair) *chair = (int)db_column_int64(s, 1);
        if (seq) *seq = (int)db_column_int64(s, 2);
    }
    db_reset(s);
    return found;
}

/* ---- bids of the hall ---- */

typedef struct obid {
    int64_t id, company_id, price_fen, submitted_ms;
    int has_price, duration_days, opened;
    char status[16], letter[8];
    char quality[64], company[TRADE_NAME_MAX + 1], uscc[24], invalid_reason[160];
} obid;

/* Bids that went through the hall, by id; letters for the opened ones. *out is
 * malloc'd (caller frees). */
static int bids_load(db *d, int64_t tender_id, obid **out, int *n, err *e) {
    *out = NULL;
    *n = 0;
    db_stmt *s =
        db_query(d, e,
                 "SELECT b.id, b.company_id, b.price_fen, b.submitted_at, b.duration_days, "
                 "b.quality, b.status, b.invalid_reason, c.name, c.uscc FROM bids b "
                 "JOIN trade_companies c ON c.id = b.company_id WHERE b.tender_id = $1 "
                 "AND b.status IN ('opened', 'invalid', 'not_decrypted') ORDER BY b.id",
                 "i", tender_id);
    if (!s) return -1;
    int cap = 32, k = 0, letters = 0, rc;
    obid *v = xcalloc((size_t)cap, sizeof(*v));
    while ((rc = db_step(s)) == DB_ROW) {
        if (k == cap) {
            cap *= 2;
            v = xrealloc(v, (size_t)cap * sizeof(*v));
        }
        obid *b = &v[k++];
        memset(b, 0, sizeof(*b));
        b->id = db_column_int64(s, 0);
        b->company_id = db_column_int64(s, 1);
        b->has_price = db_column_type(s, 2) != DB_NULL;
        b->price_fen = db_column_int64(s, 2);
        b->submitted_ms = iso_ms(db_column_text(s, 3));
        b->duration_days = (int)db_column_int64(s, 4);
        copy_text(s, 5, b->quality, sizeof(b->quality));
        copy_text(s, 6, b->status, sizeof(b->status));
        copy_text(s, 7, b->invalid_reason, sizeof(b->invalid_reason));
        copy_text(s, 8, b->company, sizeof(b->company));
        copy_text(s, 9, b->uscc, sizeof(b->uscc));
        b->opened = !strcmp(b->status, "opened");
        if (b->opened) evaluate_bid_letter(letters++, b->letter, sizeof(b->letter));
    }
    db_reset(s);
    if (rc == DB_ERROR) {
        free(v);
        return err_internal(e, "读取投标失败");
    }
    *out = v;
    *n = k;
    return 0;
}

static int opened_count(const obid *b, int n) {
    int c = 0;
    for (int i = 0; i < n; i++)
        c += b[i].opened;
    return c;
}

/* ---- the expert pool ---- */

static int staff_only(const trade_actor *a, err *e) {
    if (!trade_actor_is_staff(a)) return err_forbidden(e, "仅交易中心工作人员可以操作");
    return 0;
}

static int specialty_ok(const char *s) {
    size_t n = strlen(s);
    if (!n || n > EVAL_SPECIALTY_MAX) return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x80 && !isalnum(*p) && *p != '_' && *p != '-') return 0;
    return 1;
}

static int conflict_insert(db *d, int64_t expert_id, const char *party, const char *reason,
                           err *e) {
    if (!party || !*party || strlen(party) > TRADE_NAME_MAX)
        return err_invalid(e, "party", "回避对象须为统一社会信用代码或招标人名称（1–200 字节）");
    if (!reason || !*reason || strlen(reason) > 500)
        return err_invalid(e, "reason", "请填写回避原因（500 字节以内）");
    return db_execf(d, e,
                    "INSERT INTO expert_conflicts (expert_id, party, reason) VALUES ($1, $2, $3) "
                    "ON CONFLICT (expert_id, party) DO UPDATE SET reason = excluded.reason",
                    "iss", expert_id, party, reason);
}

int evaluate_expert_add(db *d, const trade_actor *a, json_t *in, int64_t *id, err *e) {
    if (staff_only(a, e) != 0) return -1;
    static const jsonx_field spec[] = {{"name", JX_STRING, 1, EVAL_EXPERT_NAME_MAX},
                                       {"specialties", JX_ARRAY, 1, EVAL_SPECIALTIES_MAX},
                                       {"employer", JX_STRING, 0, TRADE_NAME_MAX},
                                       {"employer_uscc", JX_STRING, 0, 18},
                                       {"user_login", JX_STRING, 0, 64},
                                       {"conflicts", JX_ARRAY, 0, 50},
                                       {NULL, 0, 0, 0}};
    if (jsonx_check(in, spec, e) != 0) return -1;
    const char *name = jsonx_str(in, "name");
    if (!*name) return err_invalid(e, "name", "请填写专家姓名");
    json_t *sp = json_object_get(in, "specialties");
    if (!json_array_size(sp)) return err_invalid(e, "specialties", "请至少填写一个专业");
    size_t i;
    json_t *v;
    json_array_foreach(sp, i, v) {
        if (!json_is_string(v) || !specialty_ok(json_string_value(v)))
            return err_invalid(e, "specialties", "专业须为项目类型或专业代码（字母、数字、_）");
    }
    const char *uscc = jsonx_str(in, "employer_uscc");
    if (uscc && *uscc && !trade_uscc_valid(uscc))
        return err_invalid(e, "employer_uscc", "统一社会信用代码不正确");
    if (uscc && !*uscc) uscc = NULL;
    const char *employer = jsonx_str(in, "employer");
    if (employer && !*employer) employer = NULL;
    json_t *conf = json_object_get(in, "conflicts");
    json_array_foreach(conf, i, v) {
        if (!json_is_object(v)) return err_invalid(e, "conflicts", "回避关系格式不正确");
    }
    int64_t user_id = 0;
    const char *login = jsonx_str(in, "user_login");
    if (login && *login) {
        if (auth_user_find(d, login, &user_id, e) != 0) return -1;
        if (!user_id) return err_invalid(e, "user_login", "没有这个账号");
        char role[32] = "";
        db_stmt *s = db_query(d, e, "SELECT role FROM users WHERE id = $1", "i", user_id);
        if (!s) return -1;
        if (db_step(s) == DB_ROW) copy_text(s, 0, role, sizeof(role));
        db_reset(s);
        if (strcmp(role, "expert") != 0)
            return err_invalid(e, "user_login", "关联账号的角色须为评标专家");
    }
    char *specs = jsonx_dump(sp);
    char now[32];
    now_iso(now, sizeof(now));
    if (db_begin(d, e) != 0) {
        free(specs);
        return -1;
    }
    int64_t linked = 0;
    if (user_id && db_query_int(d, e, &linked, "SELECT COUNT(*) FROM experts WHERE user_id = $1",
                                "i", user_id) < 0)
        goto fail;
    if (linked) {
        err_conflict(e, "user_login", "该账号已关联其他专家");
        goto fail;
    }
#define EXPERT_INSERT                                                                              \
    "INSERT INTO experts (user_id, name, specialties, employer, employer_uscc, active, "           \
    "created_at) "                                                                                 \
    "VALUES ($1, $2, $3, $4, $5, 1, $6) RETURNING id"
    db_stmt *s =
        user_id ? db_query(d, e, EXPERT_INSERT, "isssss", user_id, name, specs, employer, uscc, now)
                : db_query(d, e, EXPERT_INSERT, "nsssss", name, specs, employer, uscc, now);
    if (!s) goto fail;
    if (db_step(s) != DB_ROW) {
        db_reset(s);
        err_internal(e, "保存专家失败");
        goto fail;
    }
    *id = db_column_int64(s, 0);
    db_reset(s);
    json_array_foreach(conf, i, v) {
        if (conflict_insert(d, *id, jsonx_str(v, "party"), jsonx_str(v, "reason"), e) != 0) {
            snprintf(e->field, sizeof(e->field), "conflicts");
            goto fail;
        }
    }
    char oid[24];
    snprintf(oid, sizeof(oid), "%lld", (long long)*id);
    json_t *after =
        json_pack("{s:s,s:O,s:s?,s:I,s:I}", "name", name, "specialties", sp, "employer", employer,
                  "user_id", (json_int_t)user_id, "conflicts", (json_int_t)json_array_size(conf));
    int rc = audit_record(d, &a->audit, "expert.add", "expert", oid, NULL, after, e);
    json_decref(after);
    if (rc != 0 || db_commit(d, e) != 0) goto fail;
    free(specs);
    return 0;
fail:
    free(specs);
    return fail_tx(d);
}

int evaluate_expert_conflict_add(db *d, const trade_actor *a, int64_t expert_id, const char *party,
                                 const char *reason, err *e) {
    if (staff_only(a, e) != 0) return -1;
    int64_t n = 0;
    if (db_query_int(d, e, &n, "SELECT COUNT(*) FROM experts WHERE id = $1", "i", expert_id) < 0)
        return -1;
    if (!n) return err_notfound(e, "没有这个专家");
    if (db_begin(d, e) != 0) return -1;
    if (conflict_insert(d, expert_id, party, reason, e) != 0) return fail_tx(d);
    char oid[24];
    snprintf(oid, sizeof(oid), "%lld", (long long)expert_id);
    json_t *after = json_pack("{s:s,s:s}", "party", party, "reason", reason);
    int rc = audit_record(d, &a->audit, "expert.conflict", "expert", oid, NULL, after, e);
    json_decref(after);
    if (rc != 0 || db_commit(d, e) != 0) return fail_tx(d);
    return 0;
}

json_t *evaluate_expert_list(db *d, const trade_actor *a, const char *q, err *e) {
    if (staff_only(a, e) != 0) return NULL;
    if (q && strlen(q) > 100) {
        err_invalid(e, "q", "查询词过长");
        return NULL;
    }
    char like[128];
    snprintf(like, sizeof(like), "%%%s%%", q ? q : "");
    db_stmt *s = db_query(
        d, e,
        "SELECT x.id, x.name, x.specialties, x.employer, x.employer_uscc, u.login, x.active, "
        "(SELECT COUNT(*) FROM expert_conflicts c WHERE c.expert_id = x.id), "
        "(SELECT COUNT(*) FROM tender_experts t WHERE t.expert_id = x.id) "
        "FROM experts x LEFT JOIN users u ON u.id = x.user_id "
        "WHERE LOWER(x.name) LIKE LOWER($1) OR LOWER(COALESCE(x.employer, '')) LIKE LOWER($1) "
        "OR LOWER(x.specialties) LIKE LOWER($1) ORDER BY x.id LIMIT $2",
        "si", like, (int64_t)EVAL_EXPERTS_LIST_MAX);
    if (!s) return NULL;
    json_t *items = json_array();
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        const char *sp = db_column_text(s, 2);
        json_t *spj = sp ? json_loads(sp, 0, NULL) : NULL;
        json_array_append_new(
            items,
            json_pack("{s:I,s:s,s:o,s:o,s:o,s:o,s:b,s:I,s:I}", "id",
                      (json_int_t)db_column_int64(s, 0), "name", db_column_text(s, 1),
                      "specialties", spj ? spj : json_array(), "employer",
                      jsonx_str_or_null(db_column_text(s, 3)), "employer_uscc",
                      jsonx_str_or_null(db_column_text(s, 4)), "user_login",
                      jsonx_str_or_null(db_column_text(s, 5)), "active", (int)db_column_int64(s, 6),
                      "conflicts", (json_int_t)db_column_int64(s, 7), "drawn",
                      (json_int_t)db_column_int64(s, 8)));
    }
    db_reset(s);
    if (rc == DB_ERROR) {
        json_decref(items);
        err_internal(e, "读取专家库失败");
        return NULL;
    }
    return json_pack("{s:o,s:I}", "items", items, "total", (json_int_t)json_array_size(items));
}

/* ---- demo pool ---- */

/* Complete a 17-character USCC prefix with its check character (GB 32100-2015). */
static void uscc_complete(const char *prefix17, char out[19]) {
    static const char alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    static const int w[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
    int sum = 0;
    for (int i = 0; i < 17; i++) {
        const char *p = strchr(alphabet, prefix17[i]);
        sum += (int)(p ? p - alphabet : 0) * w[i];
        out[i] = prefix17[i];
    }
    int c = 31 - sum % 31;
    out[17] = alphabet[c == 31 ? 0 : c];
    out[18] = '\0';
}

int evaluate_demo_experts(db *d, const audit_actor *aa, int n, err *e) {
    static const char *const surnames[] = {"吴", "王", "陈", "林", "张", "李", "周", "徐", "郑",
                                           "孙", "胡", "朱", "何", "黄", "刘", "叶", "蒋", "邵"};
    static const char *const given[] = {"建国", "海明", "立新", "晓东", "志强",
                                        "文华", "国平", "秀英", "永军", "丽萍",
                                        "海涛", "春燕", "德明", "家宁", "一帆"};
    static const char *const employers[] = {
        "浙江海洋大学",         "舟山市建筑设计研究院",
        "浙江大学海洋学院",     "舟山市水利勘测设计院",
        "宁波大学工学院",       "舟山市港航工程咨询有限公司",
        "浙江省第一测绘院",     "舟山市财政局政府采购专家库（退休）",
        "舟山市市政工程设计院", "杭州造价咨询有限公司"};
    static const char *const specs[][3] = {
        {"works", "civil", "municipal"},      {"works", "water", "port"},
        {"procurement", "it", "equipment"},   {"procurement", "service", "medical"},
        {"works", "cost", "procurement"},     {"property", "land", "valuation"},
        {"emission", "environment", "works"}, {"procurement", "works", "fishery"},
    };
    if (n <= 0 || n > 1000) return err_invalid(e, "n", "专家人数须在 1–1000 之间");
    int64_t have = 0;
    if (db_query_int(d, e, &have, "SELECT COUNT(*) FROM experts", "") < 0) return -1;
    int64_t expert_user = 0;
    if (auth_user_find(d, "expert", &expert_user, e) != 0) return -1;
    if (expert_user) {
        int64_t linked = 0;
        if (db_query_int(d, e, &linked, "SELECT COUNT(*) FROM experts WHERE user_id = $1", "i",
                         expert_user) < 0)
            return -1;
        if (linked) expert_user = 0; /* already linked */
    }
    if (have >= n && !expert_user) return 0;
    char now[32];
    now_iso(now, sizeof(now));
    if (db_begin(d, e) != 0) return -1;
    int made = 0;
    for (int i = (int)have; i < n; i++) {
        char name[64], prefix[18], uscc[19];
        snprintf(name, sizeof(name), "%s%s", surnames[i % 18], given[(i * 7 + i / 18) % 15]);
        const char *const *sp = specs[i % 8];
        char spj[160];
        snprintf(spj, sizeof(spj), "[\"%s\",\"%s\",\"%s\"]", sp[0], sp[1], sp[2]);
        int emp = i % 10;
        snprintf(prefix, sizeof(prefix), "12330900%08d%c", 470000 + emp * 37, 'X');
        prefix[17] = '\0';
        uscc_complete(prefix, uscc);
        if (db_execf(d, e,
                     "INSERT INTO experts (name, specialties, employer, employer_uscc, active, "
                     "created_at) VALUES ($1, $2, $3, $4, 1, $5)",
                     "sssss", name, spj, employers[emp], uscc, now) != 0)
            return fail_tx(d);
        made++;
    }
    if (expert_user) {
        /* The demo login "expert" (吴专家) is the pool's first expert without a user. */
        int64_t first = 0;
        if (db_query_int(d, e, &first, "SELECT MIN(id) FROM experts WHERE user_id IS NULL", "") < 0)
            return fail_tx(d);
        if (first &&
            db_execf(d, e, "UPDATE experts SET user_id = $1, name = '吴专家' WHERE id = $2", "ii",
                     expert_user, first) != 0)
            return fail_tx(d);
    }
    json_t *after = json_pack("{s:i,s:b}", "created", made, "linked_demo_user", expert_user != 0);
    int rc = audit_record(d, aa, "expert.demo", "expert", "pool", NULL, after, e);
    json_decref(after);
    if (rc != 0 || db_commit(d, e) != 0) return fail_tx(d);
    return 0;
}

/* ---- the draw ---- */

/* A growing set of strings (bidder USCCs): no cap, so no bidder escapes avoidance. */
typedef struct strset {
    char **items;
    int n, cap;
} strset;

static int strset_has(const strset *s, const char *v) {
    if (!v || !*v) return 0;
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->items[i], v)) return 1;
    return 0;
}

static void strset_add(strset *s, const char *v) {
    if (!v || !*v || strset_has(s, v)) return;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->items = xrealloc(s->items, (size_t)s->cap * sizeof(char *));
    }
    size_t len = strlen(v) + 1;
    s->items[s->n] = xmalloc(len);
    memcpy(s->items[s->n++], v, len);
}

static void strset_free(strset *s) {
    for (int i = 0; i < s->n; i++)
        free(s->items[i]);
    free(s->items);
    free(s);
}

/* 1 if the JSON array text contains want. */
static int specialties_have(const char *json, const char *want) {
    json_t *a = json ? json_loads(json, 0, NULL) : NULL;
    int found = 0;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        if (json_is_string(v) && !strcmp(json_string_value(v), want)) found = 1;
    }
    json_decref(a);
    return found;
}

/* Why an expert must stay off this tender, NULL when none. */
static const char *avoid_reason(db *d, int64_t expert_id, int64_t user_id, const char *employer,
                                const char *employer_uscc, const strset *bidders,
                                const tender_ctx *c, err *e, int *error) {
    *error = 0;
    if (strset_has(bidders, employer_uscc)) return "受聘于投标人";
    if (employer && *employer && (!strcmp(employer, c->t.buyer) || !strcmp(employer, c->agency)))
        return "受聘于招标人或代理机构";
    db_stmt *s =
        db_query(d, e, "SELECT party FROM expert_conflicts WHERE expert_id = $1", "i", expert_id);
    if (!s) {
        *error = 1;
        return NULL;
    }
    const char *why = NULL;
    while (db_step(s) == DB_ROW) {
        const char *p = db_column_text(s, 0);
        if (strset_has(bidders, p))
            why = "与投标人存在利害关系";
        else if (p && (!strcmp(p, c->t.buyer) || (*c->agency && !strcmp(p, c->agency))))
            why = "与招标人存在利害关系";
        if (why) break;
    }
    db_reset(s);
    if (why || !user_id) return why;
    int64_t tied = 0;
    if (db_query_int(d, e, &tied,
                     "SELECT COUNT(*) FROM trade_company_users cu JOIN bids b ON b.company_id = "
                     "cu.company_id WHERE cu.user_id = $1 AND b.tender_id = $2",
                     "ii", user_id, c->t.id) < 0) {
        *error = 1;
        return NULL;
    }
    return tied ? "账号属于投标人" : NULL;
}

int evaluate_draw(db *d, const trade_actor *a, int64_t tender_id, int n, json_t **out, err *e) {
    if (out) *out = NULL;
    if (staff_only(a, e) != 0) return -1;
    if (n == 0) n = EVAL_DRAW_DEFAULT;
    if (n < EVAL_DRAW_MIN || n > EVAL_DRAW_MAX || n % 2 == 0)
        return err_invalid(e, "n", "评标专家人数须为 %d–%d 之间的奇数", EVAL_DRAW_MIN,
                           EVAL_DRAW_MAX);
    tender_ctx c;
    if (ctx_load(d, a, tender_id, &c, e) != 0) return -1;
    if (strcmp(c.t.status, "evaluation") != 0)
        return err_conflict(e, "status", "项目不在评标阶段（当前：%s）",
                            trade_status_label(c.t.status));
    if (db_begin(d, e) != 0) return -1;
    int64_t drawn = 0;
    if (db_query_int(d, e, &drawn, "SELECT COUNT(*) FROM tender_experts WHERE tender_id = $1", "i",
                     tender_id) < 0)
        return fail_tx(d);
    if (drawn) {
        err_conflict(e, "experts", "本项目已抽取评标专家");
        return fail_tx(d);
    }
    strset *bidders = xcalloc(1, sizeof(*bidders));
    int64_t *cand = NULL;
    int ncand = 0, nexcluded = 0, nspecialty = 0;
    db_stmt *s = db_query(d, e,
                          "SELECT DISTINCT c.uscc FROM bids b JOIN trade_companies c ON c.id = "
                          "b.company_id WHERE b.tender_id = $1",
                          "i", tender_id);
    if (!s) goto fail;
    while (db_step(s) == DB_ROW)
        strset_add(bidders, db_column_text(s, 0));
    db_reset(s);
    /* Candidates: read all first (the avoidance checks run their own statements). */
    typedef struct row {
        int64_t id, user_id;
        char employer[TRADE_NAME_MAX + 1], uscc[24];
        int match;
    } row;
    int cap = 256, nrows = 0;
    row *rows = xcalloc((size_t)cap, sizeof(*rows));
    s = db_query(d, e,
                 "SELECT id, user_id, specialties, employer, employer_uscc FROM experts "
                 "WHERE active = 1 ORDER BY id",
                 "");
    if (!s) {
        free(rows);
        goto fail;
    }
    while (db_step(s) == DB_ROW) {
        if (nrows == cap) {
            cap *= 2;
            rows = xrealloc(rows, (size_t)cap * sizeof(*rows));
        }
        row *r = &rows[nrows++];
        memset(r, 0, sizeof(*r));
        r->id = db_column_int64(s, 0);
        r->user_id = db_column_int64(s, 1);
        const char *sp = db_column_text(s, 2);
        r->match =
            specialties_have(sp, c.t.kind) || (*c.specialty && specialties_have(sp, c.specialty));
        copy_text(s, 3, r->employer, sizeof(r->employer));
        copy_text(s, 4, r->uscc, sizeof(r->uscc));
    }
    db_reset(s);
    cand = xcalloc((size_t)nrows + 1, sizeof(int64_t));
    for (int i = 0; i < nrows; i++) {
        if (!rows[i].match) continue;
        nspecialty++;
        int error = 0;
        const char *why = avoid_reason(d, rows[i].id, rows[i].user_id, rows[i].employer,
                                       rows[i].uscc, bidders, &c, e, &error);
        if (error) {
            free(rows);
            goto fail;
        }
        if (why)
            nexcluded++;
        else
            cand[ncand++] = rows[i].id;
    }
    free(rows);
    if (ncand < n) {
        err_conflict(e, "n",
                     "符合专业且无需回避的专家仅 %d 名，还差 %d 名（专业匹配 %d 名，回避 %d 名）",
                     ncand, n - ncand, nspecialty, nexcluded);
        goto fail;
    }
    /* Partial Fisher–Yates with the CSPRNG: the first n places are the panel. */
    for (int i = 0; i < n; i++) {
        int j = i + (int)randombytes_uniform((uint32_t)(ncand - i));
        int64_t t = cand[i];
        cand[i] = cand[j];
        cand[j] = t;
    }
    char now[32];
    now_iso(now, sizeof(now));
    json_t *ids = json_array();
    for (int i = 0; i < n; i++) {
        if (db_execf(d, e,
                     "INSERT INTO tender_experts (tender_id, expert_id, draw_seq, chair, drawn_at) "
                     "VALUES ($1, $2, $3, $4, $5)",
                     "iiiis", tender_id, cand[i], (int64_t)(i + 1), (int64_t)(i == 0), now) != 0) {
            json_decref(ids);
            goto fail;
        }
        json_array_append_new(ids, json_integer(cand[i]));
    }
    /* The audit row is the one place the sealed panel is written down by identity. */
    if (audit_tender(d, a, "evaluate.draw", tender_id,
                     json_pack("{s:i,s:o,s:i,s:i,s:s}", "n", n, "experts", ids, "candidates", ncand,
                               "avoided", nexcluded, "rng", "libsodium randombytes_uniform"),
                     e) != 0)
        goto fail;
    json_t *ev = json_pack("{s:i}", "count", n);
    int rc = trade_event_append(d, tender_id, "experts_drawn", ev, NULL, e);
    json_decref(ev);
    if (rc != 0 || db_commit(d, e) != 0) goto fail;
    trade_event_flush();
    strset_free(bidders);
    free(cand);
    if (out) *out = evaluate_experts_get(d, a, tender_id, e);
    return 0;
fail:
    strset_free(bidders);
    free(cand);
    return fail_tx(d);
}

json_t *evaluate_experts_get(db *d, const trade_actor *a, int64_t tender_id, err *e) {
    tender_ctx c;
    if (ctx_load(d, a, tender_id, &c, e) != 0) return NULL;
    int submitted = 0, chair = 0, seq = 0;
    int member = panel_member(d, a, tender_id, &submitted, &chair, &seq);
    int done = report_done(d, tender_id);
    if (!done && !member && !trade_actor_can_supervise(a)) {
        err_forbidden(e, "评标专家名单在评标报告形成前保密");
        return NULL;
    }
    int64_t count = 0, nsub = 0;
    if (db_query_int(d, e, &count, "SELECT COUNT(*) FROM tender_experts WHERE tender_id = $1", "i",
                     tender_id) < 0 ||
        db_query_int(d, e, &nsub,
                     "SELECT COUNT(*) FROM tender_experts WHERE tender_id = $1 AND submitted_at "
                     "IS NOT NULL",
                     "i", tender_id) < 0)
        return NULL;
    json_t *o = json_pack("{s:b,s:I,s:I}", "sealed", !done, "count", (json_int_t)count, "submitted",
                          (json_int_t)nsub);
    if (member)
        json_object_set_new(
            o, "me",
            json_pack("{s:i,s:b,s:b}", "draw_seq", seq, "chair", chair, "submitted", submitted));
    if (!done) return o;
    db_stmt *s = db_query(d, e,
                          "SELECT x.name, x.employer, t.chair, t.draw_seq, t.submitted_at FROM "
                          "tender_experts t JOIN experts x ON x.id = t.expert_id WHERE t.tender_id "
                          "= $1 ORDER BY t.draw_seq",
                          "i", tender_id);
    if (!s) {
        json_decref(o);
        return NULL;
    }
    json_t *items = json_array();
    while (db_step(s) == DB_ROW)
        json_array_append_new(items,
                              json_pack("{s:s,s:o,s:b,s:I,s:o}", "name", db_column_text(s, 0),
                                        "employer", jsonx_str_or_null(db_column_text(s, 1)),
                                        "chair", (int)db_column_int64(s, 2), "draw_seq",
                                        (json_int_t)db_column_int64(s, 3), "submitted_at",
                                        jsonx_str_or_null(db_column_text(s, 4))));
    db_reset(s);
    json_object_set_new(o, "items", items);
    return o;
}

/* ---- scoring ---- */

/* The drawn expert's gate for scoring: status evaluation, on the panel, not final. */
static int scoring_gate(db *d, const trade_actor *a, int64_t tender_id, tender_ctx *c, err *e) {
    if (!(a->role & ROLE_EXPERT)) return err_forbidden(e, "仅评标专家可以评分");
    if (ctx_load(d, a, tender_id, c, e) != 0) return -1;
    int submitted = 0;
    if (!panel_member(d, a, tender_id, &submitted, NULL, NULL))
        return err_forbidden(e, "您不是本项目的评标专家");
    if (strcmp(c->t.status, "evaluation") != 0 || report_done(d, tender_id))
        return err_conflict(e, "status", "评标已结束，不能再评分");
    if (submitted) return err_conflict(e, "submitted", "您已提交评分，不能修改");
    return 0;
}

int evaluate_scores_put(db *d, const trade_actor *a, int64_t tender_id, json_t *in, err *e) {
    tender_ctx c;
    if (scoring_gate(d, a, tender_id, &c, e) != 0) return -1;
    static const jsonx_field spec[] = {{"scores", JX_ARRAY, 1, EVAL_BIDS_MAX}, {NULL, 0, 0, 0}};
    if (jsonx_check(in, spec, e) != 0) return -1;
    json_t *items = json_object_get(in, "scores");
    obid *bids;
    int nb;
    if (bids_load(d, tender_id, &bids, &nb, e) != 0) return -1;
    int qual = is_qualification(&c);
    char now[32];
    now_iso(now, sizeof(now));
    size_t i;
    json_t *v;
    /* Check everything before writing anything. */
    int64_t *ids = xcalloc(json_array_size(items) + 1, sizeof(int64_t));
    double *vals = xcalloc(json_array_size(items) + 1, sizeof(double));
    json_array_foreach(items, i, v) {
        char f[24];
        snprintf(f, sizeof(f), "scores[%d]", (int)(i % 1000));
        static const jsonx_field tech[] = {{"bid_ref", JX_STRING, 1, 8},
                                           {"tech_score", JX_NUMBER, 1, 0},
                                           {"comment", JX_STRING, 0, EVAL_COMMENT_MAX},
                                           {NULL, 0, 0, 0}};
        static const jsonx_field pass[] = {{"bid_ref", JX_STRING, 1, 8},
                                           {"pass", JX_BOOL, 1, 0},
                                           {"reason", JX_STRING, 0, EVAL_COMMENT_MAX},
                                           {NULL, 0, 0, 0}};
        if (!json_is_object(v)) {
            err_invalid(e, f, "第 %zu 项格式不正确", i + 1);
            goto bad;
        }
        if (jsonx_check(v, qual ? pass : tech, e) != 0) {
            char inner[32];
            snprintf(inner, sizeof(inner), "%.31s", e->field);
            snprintf(e->field, sizeof(e->field), "%s.%s", f, inner);
            goto bad;
        }
        const char *ref = jsonx_str(v, "bid_ref");
        for (int k = 0; k < nb; k++)
            if (bids[k].opened && !strcmp(bids[k].letter, ref)) ids[i] = bids[k].id;
        if (!ids[i]) {
            err_invalid(e, f, "没有投标人%s", ref);
            goto bad;
        }
        for (size_t k = 0; k < i; k++)
            if (ids[k] == ids[i]) {
                err_invalid(e, f, "投标人%s 重复评分", ref);
                goto bad;
            }
        if (qual) {
            vals[i] = jsonx_bool(v, "pass", 0) ? 1 : 0;
            const char *why = jsonx_str(v, "reason");
            if (!vals[i] && (!why || !*why)) {
                err_invalid(e, f, "判定投标人%s 资格不合格时须说明理由", ref);
                snprintf(e->field, sizeof(e->field), "%s.reason", f);
                goto bad;
            }
        } else {
            double sc = json_number_value(json_object_get(v, "tech_score"));
            if (!isfinite(sc) || sc < 0 || sc > c.tech_weight + 1e-9) {
                err_invalid(e, f, "投标人%s 的技术分须在 0–%g 之间", ref, c.tech_weight);
                snprintf(e->field, sizeof(e->field), "%s.tech_score", f);
                goto bad;
            }
            vals[i] = round2(sc);
        }
    }
    if (db_begin(d, e) != 0) goto bad;
    /* Under the write lock: a submit (or the report) since the gate makes this final. */
    int64_t open = 0;
    if (db_query_int(d, e, &open,
                     "SELECT COUNT(*) FROM tender_experts WHERE tender_id = $1 AND expert_id = $2 "
                     "AND submitted_at IS NULL AND NOT EXISTS (SELECT 1 FROM tender_results r "
                     "WHERE r.tender_id = $1)",
                     "ii", tender_id, a->expert_id) < 0) {
        fail_tx(d);
        goto bad;
    }
    if (!open) {
        err_conflict(e, "submitted", "您已提交评分，不能修改");
        fail_tx(d);
        goto bad;
    }
    json_t *log = json_array();
    json_array_foreach(items, i, v) {
        const char *comment = jsonx_str(v, qual ? "reason" : "comment");
        if (db_execf(
                d, e,
                "INSERT INTO expert_scores (tender_id, expert_id, bid_id, tech_score, comment, "
                "at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tender_id, expert_id, bid_id) "
                "DO UPDATE SET tech_score = excluded.tech_score, comment = excluded.comment, "
                "at = excluded.at",
                "iiidss", tender_id, a->expert_id, ids[i], vals[i], comment, now) != 0) {
            json_decref(log);
            fail_tx(d);
            goto bad;
        }
        json_array_append_new(
            log, json_pack("{s:s,s:f}", "ref", jsonx_str(v, "bid_ref"), "score", vals[i]));
    }
    if (audit_tender(d, a, "evaluate.scores", tender_id,
                     json_pack("{s:I,s:o}", "expert_id", (json_int_t)a->expert_id, "scores", log),
                     e) != 0 ||
        db_commit(d, e) != 0) {
        fail_tx(d);
        goto bad;
    }
    free(ids);
    free(vals);
    free(bids);
    return 0;
bad:
    free(ids);
    free(vals);
    free(bids);
    return -1;
}

int evaluate_scores_submit(db *d, const trade_actor *a, int64_t tender_id, err *e) {
    tender_ctx c;
    if (scoring_gate(d, a, tender_id, &c, e) != 0) return -1;
    obid *bids;
    int nb;
    if (bids_load(d, tender_id, &bids, &nb, e) != 0) return -1;
    int need = opened_count(bids, nb);
    free(bids);
    int64_t have = 0;
    if (db_query_int(d, e, &have,
                     "SELECT COUNT(*) FROM expert_scores s JOIN bids b ON b.id = s.bid_id WHERE "
                     "s.tender_id = $1 AND s.expert_id = $2 AND b.status = 'opened'",
                     "ii", tender_id, a->expert_id) < 0)
        return -1;
    if (have < need) return err_conflict(e, "scores", "还有 %d 个投标人未评分", need - (int)have);
    char now[32];
    now_iso(now, sizeof(now));
    if (db_begin(d, e) != 0) return -1;
    if (db_execf(d, e,
                 "UPDATE tender_experts SET submitted_at = $1 WHERE tender_id = $2 AND expert_id = "
                 "$3 AND submitted_at IS NULL",
                 "sii", now, tender_id, a->expert_id) != 0)
        return fail_tx(d);
    if (db_changes(d) != 1) {
        err_conflict(e, "submitted", "您已提交评分");
        return fail_tx(d);
    }
    if (audit_tender(
            d, a, "evaluate.submit", tender_id,
            json_pack("{s:I,s:I}", "expert_id", (json_int_t)a->expert_id, "bids", (json_int_t)need),
            e) != 0)
        return fail_tx(d);
    int64_t left = 0;
    if (db_query_int(d, e, &left,
                     "SELECT COUNT(*) FROM tender_experts WHERE tender_id = $1 AND submitted_at IS "
                     "NULL",
                     "i", tender_id) < 0)
        return fail_tx(d);
    json_t *ev = json_pack("{s:I}", "waiting", (json_int_t)left);
    int rc = trade_event_append(d, tender_id, "expert_submitted", ev, NULL, e);
    json_decref(ev);
    if (rc != 0 || db_commit(d, e) != 0) return fail_tx(d);
    trade_event_flush();
    return 0;
}

/* ---- compute ---- */

/* A public notice of the tender (inside the caller's transaction). */
static int notice_add(db *d, const trade_actor *a, int64_t tender_id, const char *kind,
                      const char *title, const char *body, err *e) {
    char now[32];
    now_iso(now, sizeof(now));
#define NOTICE_INSERT                                                                              \
    "INSERT INTO tender_notices (tender_id, kind, title, body, created_by, created_at) "           \
    "VALUES ($1, $2, $3, $4, $5, $6)"
    if (a->user_id)
        return db_execf(d, e, NOTICE_INSERT, "isssis", tender_id, kind, title, body, a->user_id,
                        now);
    return db_execf(d, e, NOTICE_INSERT, "isssns", tender_id, kind, title, body, now);
}

#define PANEL_MAX EVAL_DRAW_MAX

/* Put a tender with too few valid bids into 流标: tenders_fail() writes the status,
 * the reason and the 'failed' notice the same way for every part (inside our tx). */
static int fail_tender(db *d, const trade_actor *a, tender_ctx *c, int nvalid, err *e) {
    char reason[200];
    snprintf(reason, sizeof(reason), "有效投标不足 %d 家（%d 家），依法流标", TRADE_MIN_VALID_BIDS,
             nvalid);
    return tenders_fail(d, a, &c->t, reason, e);
}

int evaluate_compute(db *d, const trade_actor *a, int64_t tender_id, err *e) {
    if (staff_only(a, e) != 0) return -1;
    tender_ctx c;
    if (ctx_load(d, a, tender_id, &c, e) != 0) return -1;
    if (strcmp(c.t.status, "evaluation") != 0)
        return err_conflict(e, "status", "项目不在评标阶段（当前：%s）",
                            trade_status_label(c.t.status));
    int64_t drawn = 0, nsub = 0;
    if (db_query_int(d, e, &drawn, "SELECT COUNT(*) FROM tender_experts WHERE tender_id = $1", "i",
                     tender_id) < 0 ||
        db_query_int(d, e, &nsub,
                     "SELECT COUNT(*) FROM tender_experts WHERE tender_id = $1 AND submitted_at IS "
                     "NOT NULL",
                     "i", tender_id) < 0)
        return -1;
    if (!drawn) return err_conflict(e, "experts", "尚未抽取评标专家");
    if (nsub < drawn)
        return err_conflict(e, "experts", "还有 %d 名专家未提交评分", (int)(drawn - nsub));
    obid *bids;
    int nb;
    if (bids_load(d, tender_id, &bids, &nb, e) != 0) return -1;
    evaluate_bid *eb = xcalloc((size_t)nb + 1, sizeof(*eb));
    json_t **outl = xcalloc((size_t)nb + 1, sizeof(json_t *));
    int qual = is_qualification(&c);
    for (int i = 0; i < nb; i++) {
        eb[i].bid_id = bids[i].id;
        eb[i].price_fen = bids[i].price_fen;
        eb[i].submitted_at = bids[i].submitted_ms;
        eb[i].valid = bids[i].opened && bids[i].has_price;
        if (!bids[i].opened)
            snprintf(eb[i].reason, sizeof(eb[i].reason), "%s",
                     *bids[i].invalid_reason                    ? bids[i].invalid_reason
                     : !strcmp(bids[i].status, "not_decrypted") ? "投标文件未能解密"
                                                                : "投标文件无效");
        else if (!bids[i].has_price)
            snprintf(eb[i].reason, sizeof(eb[i].reason), "未填写投标报价");
        outl[i] = json_array();
        double sc[PANEL_MAX];
        int64_t who[PANEL_MAX];
        char names[PANEL_MAX][EVAL_EXPERT_NAME_MAX + 1];
        int k = 0;
        db_stmt *s =
            db_query(d, e,
                     "SELECT s.expert_id, s.tech_score, x.name FROM expert_scores s "
                     "JOIN tender_experts t ON t.tender_id = s.tender_id AND t.expert_id = "
                     "s.expert_id JOIN experts x ON x.id = s.expert_id WHERE s.tender_id = "
                     "$1 AND s.bid_id = $2 ORDER BY t.draw_seq",
                     "ii", tender_id, bids[i].id);
        if (!s) goto fail;
        while (db_step(s) == DB_ROW && k < PANEL_MAX) {
            who[k] = db_column_int64(s, 0);
            sc[k] = db_column_double(s, 1);
            copy_text(s, 2, names[k], sizeof(names[k]));
            k++;
        }
        db_reset(s);
        if (qual) {
            eb[i].qual_total = k;
            for (int j = 0; j < k; j++)
                eb[i].qual_fail += sc[j] < QUAL_PASS_MIN;
        } else if (k) {
            double sum = 0;
            for (int j = 0; j < k; j++)
                sum += sc[j];
            eb[i].tech_score = sum / k;
            int flags[PANEL_MAX];
            if (evaluate_outliers(sc, k, c.tech_weight, flags))
                for (int j = 0; j < k; j++) {
                    if (!flags[j]) continue;
                    double others = (sum - sc[j]) / (k - 1);
                    json_array_append_new(outl[i],
                                          json_pack("{s:I,s:s,s:f,s:f}", "expert_id",
                                                    (json_int_t)who[j], "expert", names[j], "score",
                                                    sc[j], "others_mean", round2(others)));
                }
        }
    }
    if (db_begin(d, e) != 0) goto fail;
    double factor = c.t.benchmark_factor;
    if (!strcmp(c.t.method, "reasonable_low") && factor <= 0) {
        /* The hall should have drawn it at decryption; if it did not, draw it now, once. */
        uint32_t r = randombytes_uniform(10001);
        factor =
            round((c.factor_min + (c.factor_max - c.factor_min) * r / 10000.0) * 10000) / 10000;
        if (db_execf(d, e, "UPDATE tenders SET benchmark_factor = $1 WHERE id = $2", "di", factor,
                     tender_id) != 0)
            goto fail_tx;
    }
    evaluate_params p = {.method = c.t.method,
                         .budget_fen = c.t.budget_fen,
                         .price_weight = c.price_weight,
                         .benchmark_factor = factor};
    double ref = 0;
    int nvalid = evaluate_rank(eb, nb, &p, &ref);
    if (nvalid < 0) {
        err_conflict(e, "method", "评标办法 %s 不适用于在线评标", c.t.method);
        goto fail_tx;
    }
    if (db_execf(d, e, "DELETE FROM tender_results WHERE tender_id = $1", "i", tender_id) != 0)
        goto fail_tx;
    json_t *ranks = json_array();
    for (int i = 0; i < nb; i++) {
        char *ol = jsonx_dump(outl[i]);
        int rc = db_execf(
            d, e,
            "INSERT INTO tender_results (tender_id, bid_id, company_id, valid, reason, price_fen, "
            "price_score, tech_score, total_score, rank, outliers) VALUES ($1, $2, $3, $4, $5, "
            "$6, $7, $8, $9, $10, $11)",
            "iiiisidddis", tender_id, eb[i].bid_id, bids[i].company_id, (int64_t)eb[i].valid,
            eb[i].valid ? NULL : eb[i].reason, eb[i].price_fen, eb[i].price_score,
            qual ? 0.0 : round2(eb[i].tech_score), eb[i].total_score, (int64_t)eb[i].rank, ol);
        free(ol);
        if (rc != 0) {
            json_decref(ranks);
            goto fail_tx;
        }
        json_array_append_new(ranks, json_pack("{s:I,s:i,s:b}", "bid_id", (json_int_t)eb[i].bid_id,
                                               "rank", eb[i].rank, "valid", eb[i].valid));
    }
    if (audit_tender(d, a, "evaluate.compute", tender_id,
                     json_pack("{s:s,s:i,s:f,s:f,s:o}", "method", c.t.method, "valid", nvalid,
                               "reference_fen", ref, "benchmark_factor", factor, "ranks", ranks),
                     e) != 0)
        goto fail_tx;
    if (nvalid < TRADE_MIN_VALID_BIDS && fail_tender(d, a, &c, nvalid, e) != 0) goto fail_tx;
    json_t *ev = json_pack("{s:i,s:b}", "valid", nvalid, "failed", nvalid < TRADE_MIN_VALID_BIDS);
    int rc = trade_event_append(d, tender_id, "evaluation_done", ev, NULL, e);
    json_decref(ev);
    if (rc != 0 || db_commit(d, e) != 0) goto fail_tx;
    trade_event_flush();
    for (int i = 0; i < nb; i++)
        json_decref(outl[i]);
    free(outl);
    free(eb);
    free(bids);
    return 0;
fail_tx:
    fail_tx(d);
fail:
    for (int i = 0; i < nb; i++)
        json_decref(outl[i]);
    free(outl);
    free(eb);
    free(bids);
    return -1;
}

/* ---- views ---- */

static json_t *tender_json(const tender_ctx *c) {
    json_t *o =
        json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:f,s:f}", "id", (json_int_t)c->t.id,
                  "tender_no", c->t.tender_no, "title", c->t.title, "kind", c->t.kind, "kind_label",
                  trade_kind_label(c->t.kind), "method", c->t.method, "method_label",
                  trade_method_label(c->t.method), "status", c->t.status, "status_label",
                  trade_status_label(c->t.status), "publicity_days", c->t.publicity_days,
                  "price_weight", c->price_weight, "tech_weight", c->tech_weight);
    json_object_set_new(o, "buyer", json_string(c->t.buyer));
    json_object_set_new(o, "budget_fen",
                        c->t.budget_fen ? json_integer(c->t.budget_fen) : json_null());
    json_object_set_new(o, "budget", c->t.budget_fen ? money_json(c->t.budget_fen) : json_null());
    json_object_set_new(o, "benchmark_factor",
                        c->t.benchmark_factor > 0 ? json_real(c->t.benchmark_factor) : json_null());
    json_object_set_new(o, "publicity_until",
                        jsonx_str_or_null(*c->publicity_until ? c->publicity_until : NULL));
    json_object_set_new(o, "scoring", json_string(is_qualification(c) ? "qualification" : "tech"));
    return o;
}

/* Results rows ordered valid-by-rank then invalid; full adds outliers and USCCs. */
static json_t *results_json(db *d, int64_t tender_id, const obid *bids, int nb, int full, int limit,
                            err *e) {
    db_stmt *s = db_query(d, e,
                          "SELECT r.bid_id, r.valid, r.reason, r.price_fen, r.price_score, "
                          "r.tech_score, r.total_score, r.rank, r.outliers, c.name, c.uscc "
                          "FROM tender_results r JOIN trade_companies c ON c.id = r.company_id "
                          "WHERE r.tender_id = $1 ORDER BY r.valid DESC, r.rank, r.bid_id",
                          "i", tender_id);
    if (!s) return NULL;
    json_t *items = json_array();
    int rc, k = 0;
    while ((rc = db_step(s)) == DB_ROW) {
        int valid = (int)db_column_int64(s, 1);
        if (limit && (!valid || k >= limit)) break;
        k++;
        int64_t bid = db_column_int64(s, 0);
        const char *ref = "";
        for (int i = 0; i < nb; i++)
            if (bids[i].id == bid) ref = bids[i].letter;
        int64_t price = db_column_int64(s, 3);
        json_t *o =
            json_pack("{s:s,s:s,s:b,s:o,s:I,s:o}", "ref", ref, "company_name", db_column_text(s, 9),
                      "valid", valid, "reason", jsonx_str_or_null(db_column_text(s, 2)),
                      "price_fen", (json_int_t)price, "price", money_json(price));
        json_object_set_new(o, "rank", valid ? json_integer(db_column_int64(s, 7)) : json_null());
        json_object_set_new(o, "price_score", json_real(db_column_double(s, 4)));
        json_object_set_new(o, "tech_score", json_real(db_column_double(s, 5)));
        json_object_set_new(o, "total_score", json_real(db_column_double(s, 6)));
        if (full) {
            const char *ol = db_column_text(s, 8);
            json_t *olj = ol ? json_loads(ol, 0, NULL) : NULL;
            json_object_set_new(o, "outliers", olj ? olj : json_array());
            json_object_set_new(o, "uscc", json_string(db_column_text(s, 10)));
            json_object_set_new(o, "bid_id", json_integer(bid));
        }
        json_array_append_new(items, o);
    }
    db_reset(s);
    if (rc == DB_ERROR) {
        json_decref(items);
        err_internal(e, "读取评标结果失败");
        return NULL;
    }
    return items;
}

/* Publicity objections: staff see all with companies; a bidder its own. */
static json_t *objections_json(db *d, const trade_actor *a, int64_t tender_id, int all, err *e) {
    db_stmt *s = db_query(d, e,
                          "SELECT o.id, o.text, o.reply, o.at, o.replied_at, c.name, o.company_id "
                          "FROM trade_objections o LEFT JOIN trade_companies c ON c.id = "
                          "o.company_id WHERE o.tender_id = $1 AND o.phase = 'publicity' ORDER BY "
                          "o.id",
                          "i", tender_id);
    if (!s) return NULL;
    json_t *items = json_array();
    while (db_step(s) == DB_ROW) {
        int64_t company = db_column_int64(s, 6);
        if (!all && (!a->company_id || company != a->company_id)) continue;
        json_array_append_new(
            items,
            json_pack("{s:I,s:s,s:o,s:s,s:o,s:o}", "id", (json_int_t)db_column_int64(s, 0), "text",
                      db_column_text(s, 1), "reply", jsonx_str_or_null(db_column_text(s, 2)), "at",
                      db_column_text(s, 3), "replied_at", jsonx_str_or_null(db_column_text(s, 4)),
                      "company_name", jsonx_str_or_null(db_column_text(s, 5))));
    }
    db_reset(s);
    return items;
}

static void award_json(db *d, const tender_ctx *c, json_t *o) {
    if (strcmp(c->t.status, "awarded") && strcmp(c->t.status, "contracted")) return;
    char name[TRADE_NAME_MAX + 1] = "";
    err e = {0};
    db_stmt *s = db_query(d, &e,
                          "SELECT c.name FROM tenders t JOIN trade_companies c ON c.id = "
                          "t.award_company_id WHERE t.id = $1",
                          "i", c->t.id);
    if (s) {
        if (db_step(s) == DB_ROW) copy_text(s, 0, name, sizeof(name));
        db_reset(s);
    }
    json_t *aw = json_pack("{s:s,s:I,s:o,s:s,s:f}", "company_name", name, "award_fen",
                           (json_int_t)c->award_fen, "award", money_json(c->award_fen),
                           "awarded_at", c->awarded_at, "savings_rate",
                           round(evaluate_savings(c->t.budget_fen, c->award_fen) * 10000) / 10000);
    if (*c->contract_no) {
        json_object_set_new(aw, "contract_no", json_string(c->contract_no));
        json_object_set_new(aw, "contract_fen", json_integer(c->contract_fen));
        json_object_set_new(aw, "contract", money_json(c->contract_fen));
    }
    json_object_set_new(o, "award", aw);
}

static int public_phase(const char *status) {
    return !strcmp(status, "publicity") || !strcmp(status, "awarded") ||
           !strcmp(status, "contracted");
}

/* The expert's anonymised view: letters, opened price, duration, quality, own scores. */
/* What a bid offers (price, duration, quality) as the views show it; null when absent. */
static void offer_fields(json_t *b, const obid *bid) {
    json_object_set_new(b, "price_fen",
                        bid->has_price ? json_integer(bid->price_fen) : json_null());
    json_object_set_new(b, "price", bid->has_price ? money_json(bid->price_fen) : json_null());
    json_object_set_new(b, "duration_days",
                        bid->duration_days ? json_integer(bid->duration_days) : json_null());
    json_object_set_new(b, "quality", jsonx_str_or_null(*bid->quality ? bid->quality : NULL));
}

static json_t *expert_view(db *d, const trade_actor *a, const tender_ctx *c, const obid *bids,
                           int nb, int done, err *e) {
    json_t *o = json_pack("{s:s,s:o}", "view", "expert", "tender", tender_json(c));
    int submitted = 0, chair = 0, seq = 0;
    panel_member(d, a, c->t.id, &submitted, &chair, &seq);
    json_object_set_new(
        o, "me",
        json_pack("{s:i,s:b,s:b}", "draw_seq", seq, "chair", chair, "submitted", submitted));
    json_object_set_new(o, "max_score", json_real(c->tech_weight));
    json_object_set_new(o, "report", json_boolean(done));
    json_t *items = json_array();
    for (int i = 0; i < nb; i++) {
        if (!bids[i].opened) continue;
        json_t *b = json_pack("{s:s,s:b}", "ref", bids[i].letter, "over_budget",
                              c->t.budget_fen > 0 && bids[i].price_fen > c->t.budget_fen);
        offer_fields(b, &bids[i]);
        db_stmt *s = db_query(d, e,
                              "SELECT tech_score, comment FROM expert_scores WHERE tender_id = $1 "
                              "AND expert_id = $2 AND bid_id = $3",
                              "iii", c->t.id, a->expert_id, bids[i].id);
        if (s && db_step(s) == DB_ROW) {
            double v = db_column_double(s, 0);
            json_t *mine = is_qualification(c)
                               ? json_pack("{s:b,s:o}", "pass", v >= QUAL_PASS_MIN, "reason",
                                           jsonx_str_or_null(db_column_text(s, 1)))
                               : json_pack("{s:f,s:o}", "tech_score", v, "comment",
                                           jsonx_str_or_null(db_column_text(s, 1)));
            json_object_set_new(b, "my_score", mine);
        } else {
            json_object_set_new(b, "my_score", json_null());
        }
        if (s) db_reset(s);
        /* After the report the panel and the bidders are no longer sealed. */
        if (done) json_object_set_new(b, "company_name", json_string(bids[i].company));
        json_array_append_new(items, b);
    }
    json_object_set_new(o, "bids", items);
    if (done) {
        json_t *r = results_json(d, c->t.id, bids, nb, 0, 0, e);
        json_object_set_new(o, "results", r ? r : json_array());
    }
    return o;
}

/* Staff and supervisors: the bids with companies, the sealed panel's progress and,
 * after the report, everything. */
static json_t *staff_view(db *d, const trade_actor *a, const tender_ctx *c, const obid *bids,
                          int nb, int done, err *e) {
    json_t *o =
        json_pack("{s:s,s:o,s:b}", "view", "staff", "tender", tender_json(c), "report", done);
    json_t *panel = evaluate_experts_get(d, a, c->t.id, e);
    json_object_set_new(o, "panel", panel ? panel : json_null());
    json_t *items = json_array();
    for (int i = 0; i < nb; i++) {
        json_t *b =
            json_pack("{s:s,s:s,s:s,s:o}", "ref", bids[i].letter, "company_name", bids[i].company,
                      "status", bids[i].status, "invalid_reason",
                      jsonx_str_or_null(*bids[i].invalid_reason ? bids[i].invalid_reason : NULL));
        offer_fields(b, &bids[i]);
        json_array_append_new(items, b);
    }
    json_object_set_new(o, "bids", items);
    if (done) {
        json_t *r = results_json(d, c->t.id, bids, nb, 1, 0, e);
        json_object_set_new(o, "results", r ? r : json_array());
        json_t *cand = results_json(d, c->t.id, bids, nb, 0, 3, e);
        json_object_set_new(o, "candidates", cand ? cand : json_array());
        /* Each expert's scores, by letter (the report's annex). */
        db_stmt *s = db_query(d, e,
                              "SELECT x.name, t.chair, s.bid_id, s.tech_score, s.comment FROM "
                              "tender_experts t JOIN experts x ON x.id = t.expert_id LEFT JOIN "
                              "expert_scores s ON s.tender_id = t.tender_id AND s.expert_id = "
                              "t.expert_id WHERE t.tender_id = $1 ORDER BY t.draw_seq, s.bid_id",
                              "i", c->t.id);
        json_t *scores = json_array();
        while (s && db_step(s) == DB_ROW) {
            if (db_column_type(s, 2) == DB_NULL) continue;
            int64_t bid = db_column_int64(s, 2);
            const char *ref = "";
            for (int i = 0; i < nb; i++)
                if (bids[i].id == bid) ref = bids[i].letter;
            json_array_append_new(scores,
                                  json_pack("{s:s,s:b,s:s,s:f,s:o}", "expert", db_column_text(s, 0),
                                            "chair", (int)db_column_int64(s, 1), "ref", ref,
                                            "score", db_column_double(s, 3), "comment",
                                            jsonx_str_or_null(db_column_text(s, 4))));
        }
        if (s) db_reset(s);
        json_object_set_new(o, "scores", scores);
    }
    json_t *obj = objections_json(d, a, c->t.id, 1, e);
    json_object_set_new(o, "objections", obj ? obj : json_array());
    award_json(d, c, o);
    return o;
}

static json_t *public_view(db *d, const trade_actor *a, const tender_ctx *c, const obid *bids,
                           int nb, err *e) {
    json_t *o = json_pack("{s:s,s:o}", "view", "public", "tender", tender_json(c));
    json_t *cand = public_phase(c->t.status) ? results_json(d, c->t.id, bids, nb, 0, 3, e) : NULL;
    if (cand) /* anonymous letters mean nothing to the public */
        for (size_t i = 0; i < json_array_size(cand); i++)
            json_object_del(json_array_get(cand, i), "ref");
    json_object_set_new(o, "candidates", cand ? cand : json_array());
    if (a->company_id) {
        json_t *obj = objections_json(d, a, c->t.id, 0, e);
        json_object_set_new(o, "my_objections", obj ? obj : json_array());
        int64_t n = 0;
        db_query_int(d, e, &n, "SELECT COUNT(*) FROM bids WHERE tender_id = $1 AND company_id = $2",
                     "ii", c->t.id, a->company_id);
        json_object_set_new(o, "can_object",
                            json_boolean(n > 0 && !strcmp(c->t.status, "publicity")));
    }
    award_json(d, c, o);
    return o;
}

json_t *evaluate_get(db *d, const trade_actor *a, int64_t tender_id, err *e) {
    tender_ctx c;
    if (ctx_load(d, a, tender_id, &c, e) != 0) return NULL;
    obid *bids;
    int nb;
    /* Before the hall opens, no bid exists for anyone (trade.h secrecy rules). */
    if (!trade_status_bids_public(c.t.status)) {
        nb = 0;
        bids = xcalloc(1, sizeof(*bids));
    } else if (bids_load(d, tender_id, &bids, &nb, e) != 0) {
        return NULL;
    }
    int done = report_done(d, tender_id);
    json_t *o;
    if (panel_member(d, a, tender_id, NULL, NULL, NULL))
        o = expert_view(d, a, &c, bids, nb, done, e);
    else if (trade_actor_can_supervise(a))
        o = staff_view(d, a, &c, bids, nb, done, e);
    else
        o = public_view(d, a, &c, bids, nb, e);
    free(bids);
    return o;
}

json_t *evaluate_report_json(db *d, const trade_actor *a, int64_t tender_id, err *e) {
    tender_ctx c;
    if (ctx_load(d, a, tender_id, &c, e) != 0) return NULL;
    int member = panel_member(d, a, tender_id, NULL, NULL, NULL);
    if (!member && !trade_actor_can_supervise(a)) {
        err_forbidden(e, "评标报告仅供评标委员会、交易中心和监管人员查阅");
        return NULL;
    }
    if (!report_done(d, tender_id)) {
        err_conflict(e, "status", "尚未形成评标报告");
        return NULL;
    }
    obid *bids;
    int nb;
    if (bids_load(d, tender_id, &bids, &nb, e) != 0) return NULL;
    /* The report is the staff view; a panel member may read it once it exists. */
    trade_actor as_staff = *a;
    as_staff.role = ROLE_SUPERVISOR;
    as_staff.expert_id = 0;
    json_t *o = staff_view(d, &as_staff, &c, bids, nb, 1, e);
    free(bids);
    if (!o) return NULL;
    json_object_set_new(o, "view", json_string("report"));
    double ref = 0;
    int64_t lo = 0;
    json_t *res = json_object_get(o, "results");
    for (size_t i = 0; i < json_array_size(res); i++) {
        json_t *r = json_array_get(res, i);
        if (!json_is_true(json_object_get(r, "valid"))) continue;
        int64_t p = json_integer_value(json_object_get(r, "price_fen"));
        if (!lo || p < lo) lo = p;
    }
    ref = (double)lo;
    if (!strcmp(c.t.method, "reasonable_low")) {
        /* Recompute the benchmark from the stored valid prices (the same formula). */
        evaluate_bid *eb = xcalloc(json_array_size(res) + 1, sizeof(*eb));
        int n = 0;
        for (size_t i = 0; i < json_array_size(res); i++) {
            json_t *r = json_array_get(res, i);
            if (!json_is_true(json_object_get(r, "valid"))) continue;
            memset(&eb[n], 0, sizeof(eb[n]));
            eb[n].bid_id = n + 1;
            eb[n].valid = 1;
            eb[n].price_fen = json_integer_value(json_object_get(r, "price_fen"));
            n++;
        }
        evaluate_params p = {.method = "reasonable_low", .benchmark_factor = c.t.benchmark_factor};
        evaluate_rank(eb, n, &p, &ref);
        free(eb);
    }
    json_object_set_new(o, "reference_fen", json_integer((json_int_t)ref));
    json_object_set_new(o, "reference", money_json((int64_t)ref));
    return o;
}

/* ---- publicity, objections, award, contract ---- */

int evaluate_publicize(db *d, const trade_actor *a, int64_t tender_id, err *e) {
    if (staff_only(a, e) != 0) return -1;
    tender_ctx c;
    if (ctx_load(d, a, tender_id, &c, e) != 0) return -1;
    if (strcmp(c.t.status, "evaluation") != 0)
        return err_conflict(e, "status", "项目不在评标阶段（当前：%s）",
                            trade_status_label(c.t.status));
    if (!report_done(d, tender_id)) return err_conflict(e, "status", "尚未形成评标报告");
    obid *bids;
    int nb;
    if (bids_load(d, tender_id, &bids, &nb, e) != 0) return -1;
    json_t *cand = results_json(d, tender_id, bids, nb, 0, 3, e);
    free(bids);
    if (!cand) return -1;
    if (json_array_size(cand) == 0) {
        json_decref(cand);
        return err_conflict(e, "results", "没有有效的中标候选人");
    }
    char until[32], body[2048];
    time_iso(until, sizeof(until), time_now() + (int64_t)c.t.publicity_days * 86400);
    static const char *const ord[] = {"第一", "第二", "第三"};
    size_t o =
        (size_t)snprintf(body, sizeof(body), "%s（%s）评标工作已结束，现将中标候选人公示如下：\n",
                         c.t.title, c.t.tender_no);
    for (size_t i = 0; i < json_array_size(cand) && i < 3 && o < sizeof(body); i++) {
        json_t *r = json_array_get(cand, i);
        char money[48];
        trade_money_display(json_integer_value(json_object_get(r, "price_fen")), money,
                            sizeof(money));
        o += (size_t)snprintf(body + o, sizeof(body) - o, "%s中标候选人：%s，投标报价 %s", ord[i],
                              jsonx_str(r, "company_name"), money);
        if (!strcmp(c.t.method, "composite") && o < sizeof(body))
            o += (size_t)snprintf(body + o, sizeof(body) - o, "，综合得分 %.2f",
                                  json_real_value(json_object_get(r, "total_score")));
        if (o < sizeof(body)) o += (size_t)snprintf(body + o, sizeof(body) - o, "。\n");
    }
    if (o < sizeof(body))
        snprintf(body + o, sizeof(body) - o,
                 "公示期 %d 日，至 %s 止。投标人对评标结果有异议的，请在公示期内在线提出。",
                 c.t.publicity_days, until);
    char title[TRADE_TITLE_MAX + 40];
    snprintf(title, sizeof(title), "%s 中标候选人公示", c.t.title);
    if (db_begin(d, e) != 0) {
        json_decref(cand);
        return -1;
    }
    if (trade_tender_set_status(d, a, &c.t, "publicity", e) != 0 ||
        db_execf(d, e, "UPDATE tenders SET publicity_until = $1 WHERE id = $2", "si", until,
                 tender_id) != 0 ||
        notice_add(d, a, tender_id, "candidates", title, body, e) != 0 ||
        audit_tender(d, a, "evaluate.publicize", tender_id,
                     json_pack("{s:s,s:O}", "publicity_until", until, "candidates", cand),
                     e) != 0) {
        json_decref(cand);
        return fail_tx(d);
    }
    json_t *ev = json_pack("{s:s,s:o}", "publicity_until", until, "candidates", cand);
    int rc = trade_event_append(d, tender_id, "candidates", ev, NULL, e);
    json_decref(ev);
    if (rc != 0 || db_commit(d, e) != 0) return fail_tx(d);
    trade_event_flush();
    return 0;
}

static int text_ok(const char *s, size_t max) {
    if (!s) return 0;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return n > 0 && strlen(s) <= max;
}

int evaluate_objection_add(db *d, const trade_actor *a, int64_t tender_id, const char *text,
                           int64_t *id, err *e) {
    if (!(a->role & (ROLE_BIDDER | ROLE_COMPANY)) || !a->company_id)
        return err_forbidden(e, "仅本项目的投标人可以提出异议");
    tender_ctx c;
    if (ctx_load(d, a, tender_id, &c, e) != 0) return -1;
    int64_t n = 0;
    if (db_query_int(d, e, &n, "SELECT COUNT(*) FROM bids WHERE tender_id = $1 AND company_id = $2",
                     "ii", tender_id, a->company_id) < 0)
        return -1;
    if (!n) return err_forbidden(e, "仅本项目的投标人可以提出异议");
    int64_t until = 0;
    if (strcmp(c.t.status, "publicity") != 0 || time_parse_iso(c.publicity_until, &until) != 0 ||
        time_now() >= until)
        return err_conflict(e, "status", "不在中标候选人公示期内");
    if (!text_ok(text, EVAL_OBJECTION_MAX))
        return err_invalid(e, "text", "请填写异议内容（%d 字节以内）", EVAL_OBJECTION_MAX);
    char now[32];
    now_iso(now, sizeof(now));
    if (db_begin(d, e) != 0) return -1;
    db_stmt *s = db_query(d, e,
                          "INSERT INTO trade_objections (tender_id, phase, company_id, user_id, "
                          "text, at) VALUES ($1, 'publicity', $2, $3, $4, $5) RETURNING id",
                          "iiiss", tender_id, a->company_id, a->user_id, text, now);
    if (!s || db_step(s) != DB_ROW) {
        if (s) db_reset(s);
        if (!s || !e->status) err_internal(e, "保存异议失败");
        return fail_tx(d);
    }
    *id = db_column_int64(s, 0);
    db_reset(s);
    if (audit_tender(d, a, "evaluate.objection", tender_id,
                     json_pack("{s:I,s:I}", "objection_id", (json_int_t)*id, "company_id",
                               (json_int_t)a->company_id),
                     e) != 0 ||
        db_commit(d, e) != 0)
        return fail_tx(d);
    return 0;
}

int evaluate_objection_reply(db *d, const trade_actor *a, int64_t tender_id, int64_t objection_id,
                             const char *reply, err *e) {
    if (staff_only(a, e) != 0) return -1;
    if (!text_ok(reply, EVAL_OBJECTION_MAX))
        return err_invalid(e, "reply", "请填写答复内容（%d 字节以内）", EVAL_OBJECTION_MAX);
    char now[32];
    now_iso(now, sizeof(now));
    if (db_begin(d, e) != 0) return -1;
    if (a->user_id ? db_execf(d, e,
                              "UPDATE trade_objections SET reply = $1, replied_by = $2, replied_at "
                              "= $3 WHERE id = $4 AND tender_id = $5 AND phase = 'publicity' AND "
                              "reply IS NULL",
                              "sisii", reply, a->user_id, now, objection_id, tender_id)
                   : db_execf(d, e,
                              "UPDATE trade_objections SET reply = $1, replied_by = $2, replied_at "
                              "= $3 WHERE id = $4 AND tender_id = $5 AND phase = 'publicity' AND "
                              "reply IS NULL",
                              "snsii", reply, now, objection_id, tender_id))
        return fail_tx(d);
    if (db_changes(d) != 1) {
        int64_t n = 0;
        db_query_int(d, e, &n,
                     "SELECT COUNT(*) FROM trade_objections WHERE id = $1 AND tender_id = $2 AND "
                     "phase = 'publicity'",
                     "ii", objection_id, tender_id);
        if (n)
            err_conflict(e, "reply", "该异议已答复");
        else
            err_notfound(e, "没有这条异议");
        return fail_tx(d);
    }
    if (audit_tender(d, a, "evaluate.objection_reply", tender_id,
                     json_pack("{s:I}", "objection_id", (json_int_t)objection_id), e) != 0 ||
        db_commit(d, e) != 0)
        return fail_tx(d);
    return 0;
}

int evaluate_award(db *d, const trade_actor *a, int64_t tender_id, err *e) {
    if (staff_only(a, e) != 0) return -1;
    tender_ctx c;
    if (ctx_load(d, a, tender_id, &c, e) != 0) return -1;
    if (strcmp(c.t.status, "publicity") != 0)
        return err_conflict(e, "status", "项目不在公示阶段（当前：%s）",
                            trade_status_label(c.t.status));
    int64_t until = 0;
    if (time_parse_iso(c.publicity_until, &until) != 0) until = 0;
    if (time_now() < until) {
        /* Shown to staff in Zhoushan: Beijing time (UTC+8), no DST. */
        char local[40];
        time_t lt = (time_t)(until + 8 * 3600);
        struct tm tm;
        gmtime_r(&lt, &tm);
        strftime(local, sizeof(local), "%Y-%m-%d %H:%M", &tm);
        return err_conflict(e, "publicity_until", "公示期至 %s（北京时间）结束，不能提前定标",
                            local);
    }
    int64_t open = 0;
    if (db_query_int(d, e, &open,
                     "SELECT COUNT(*) FROM trade_objections WHERE tender_id = $1 AND phase = "
                     "'publicity' AND reply IS NULL",
                     "i", tender_id) < 0)
        return -1;
    if (open) return err_conflict(e, "objections", "还有 %d 条异议未答复，不能定标", (int)open);
    int64_t bid = 0, company = 0, price = 0;
    char name[TRADE_NAME_MAX + 1] = "";
    db_stmt *s =
        db_query(d, e,
                 "SELECT r.bid_id, r.company_id, r.price_fen, c.name FROM tender_results r "
                 "JOIN trade_companies c ON c.id = r.company_id WHERE r.tender_id = $1 AND "
                 "r.valid = 1 AND r.rank = 1 ORDER BY r.bid_id LIMIT 1",
                 "i", tender_id);
    if (!s) return -1;
    if (db_step(s) == DB_ROW) {
        bid = db_column_int64(s, 0);
        company = db_column_int64(s, 1);
        price = db_column_int64(s, 2);
        copy_text(s, 3, name, sizeof(name));
    }
    db_reset(s);
    if (!bid) return err_conflict(e, "results", "没有第一中标候选人");
    double rate = evaluate_savings(c.t.budget_fen, price);
    char now[32], money[48], budget[48], body[1024], title[TRADE_TITLE_MAX + 40];
    now_iso(now, sizeof(now));
    trade_money_display(price, money, sizeof(money));
    trade_money_display(c.t.budget_fen, budget, sizeof(budget));
    if (c.t.budget_fen > 0)
        snprintf(
            body, sizeof(body),
            "%s（%s）经评标委员会评审并公示期满，确定中标人为%s，中标价 %s。预算（最高限价）%s，"
            "节约率 %.2f%%。",
            c.t.title, c.t.tender_no, name, money, budget, rate * 100);
    else
        snprintf(body, sizeof(body),
                 "%s（%s）经评标委员会评审并公示期满，确定中标人为%s，中标价 %s。", c.t.title,
                 c.t.tender_no, name, money);
    snprintf(title, sizeof(title), "%s 中标结果公告", c.t.title);
    if (db_begin(d, e) != 0) return -1;
    if (trade_tender_set_status(d, a, &c.t, "awarded", e) != 0 ||
        db_execf(d, e,
                 "UPDATE tenders SET award_bid_id = $1, award_company_id = $2, award_fen = $3, "
                 "awarded_at = $4 WHERE id = $5",
                 "iiisi", bid, company, price, now, tender_id) != 0 ||
        notice_add(d, a, tender_id, "award", title, body, e) != 0 ||
        audit_tender(d, a, "evaluate.award", tender_id,
                     json_pack("{s:I,s:I,s:I,s:f}", "bid_id", (json_int_t)bid, "company_id",
                               (json_int_t)company, "award_fen", (json_int_t)price, "savings_rate",
                               rate),
                     e) != 0)
        return fail_tx(d);
    json_t *ev = json_pack("{s:s,s:I}", "company_name", name, "award_fen", (json_int_t)price);
    int rc = trade_event_append(d, tender_id, "awarded", ev, NULL, e);
    json_decref(ev);
    if (rc != 0 || db_commit(d, e) != 0) return fail_tx(d);
    trade_event_flush();
    return 0;
}

int evaluate_contract(db *d, const trade_actor *a, int64_t tender_id, const char *contract_no,
                      int64_t contract_fen, err *e) {
    if (staff_only(a, e) != 0) return -1;
    if (!contract_no || !*contract_no || strlen(contract_no) > 64)
        return err_invalid(e, "contract_no", "请填写合同编号（64 字节以内）");
    for (const unsigned char *p = (const unsigned char *)contract_no; *p; p++)
        if (*p < 0x20 || *p == 0x7f) return err_invalid(e, "contract_no", "合同编号含有控制字符");
    if (contract_fen < 0 || contract_fen > TRADE_MONEY_MAX_FEN)
        return err_invalid(e, "contract_amount", "合同金额超出范围");
    tender_ctx c;
    if (ctx_load(d, a, tender_id, &c, e) != 0) return -1;
    if (strcmp(c.t.status, "awarded") != 0)
        return err_conflict(e, "status", "项目尚未定标或已签合同（当前：%s）",
                            trade_status_label(c.t.status));
    if (!contract_fen) contract_fen = c.award_fen;
    char now[32];
    now_iso(now, sizeof(now));
    if (db_begin(d, e) != 0) return -1;
    if (trade_tender_set_status(d, a, &c.t, "contracted", e) != 0 ||
        db_execf(d, e,
                 "UPDATE tenders SET contract_no = $1, contract_fen = $2, contracted_at = $3 "
                 "WHERE id = $4",
                 "sisi", contract_no, contract_fen, now, tender_id) != 0 ||
        audit_tender(d, a, "evaluate.contract", tender_id,
                     json_pack("{s:s,s:I}", "contract_no", contract_no, "contract_fen",
                               (json_int_t)contract_fen),
                     e) != 0 ||
        db_commit(d, e) != 0)
        return fail_tx(d);
    return 0;
}

/* ---- the evaluation desk ---- */

json_t *evaluate_assignments(db *d, const trade_actor *a, err *e) {
    int expert = (a->role & ROLE_EXPERT) != 0;
    if (!expert && !trade_actor_can_supervise(a)) {
        err_forbidden(e, "仅评标专家和交易中心工作人员可以查看");
        return NULL;
    }
    if (expert && !a->expert_id)
        return json_pack("{s:s,s:n,s:[]}", "role", "expert", "expert", "items");
    db_stmt *s =
        expert
            ? db_query(d, e,
                       "SELECT t.id, t.tender_no, t.title, t.kind, t.method, t.status, te.chair, "
                       "te.submitted_at, te.drawn_at, (SELECT COUNT(*) FROM tender_results r WHERE "
                       "r.tender_id = t.id), 0, 0 FROM tender_experts te JOIN tenders t ON t.id = "
                       "te.tender_id WHERE te.expert_id = $1 ORDER BY te.drawn_at DESC, t.id DESC "
                       "LIMIT 200",
                       "i", a->expert_id)
            : db_query(d, e,
                       "SELECT t.id, t.tender_no, t.title, t.kind, t.method, t.status, 0, NULL, "
                       "NULL, (SELECT COUNT(*) FROM tender_results r WHERE r.tender_id = t.id), "
                       "(SELECT COUNT(*) FROM tender_experts x WHERE x.tender_id = t.id), "
                       "(SELECT COUNT(*) FROM tender_experts x WHERE x.tender_id = t.id AND "
                       "x.submitted_at IS NOT NULL) FROM tenders t WHERE t.status IN "
                       "('evaluation', 'publicity') OR (t.status = 'awarded' AND t.method <> "
                       "'auction') ORDER BY CASE t.status WHEN 'evaluation' THEN 0 WHEN "
                       "'publicity' THEN 1 ELSE 2 END, t.updated_at DESC, t.id DESC LIMIT 100",
                       "");
    if (!s) return NULL;
    json_t *items = json_array();
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        const char *kind = db_column_text(s, 3), *method = db_column_text(s, 4),
                   *status = db_column_text(s, 5);
        json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b}", "id",
                              (json_int_t)db_column_int64(s, 0), "tender_no", db_column_text(s, 1),
                              "title", db_column_text(s, 2), "kind", kind, "kind_label",
                              trade_kind_label(kind), "method", method, "method_label",
                              trade_method_label(method), "status", status, "status_label",
                              trade_status_label(status), "report", db_column_int64(s, 9) > 0);
        if (expert) {
            json_object_set_new(o, "chair", json_boolean(db_column_int64(s, 6)));
            json_object_set_new(o, "submitted", json_boolean(db_column_type(s, 7) != DB_NULL));
            json_object_set_new(o, "drawn_at", jsonx_str_or_null(db_column_text(s, 8)));
        } else {
            json_object_set_new(o, "panel", json_integer(db_column_int64(s, 10)));
            json_object_set_new(o, "submitted", json_integer(db_column_int64(s, 11)));
        }
        json_array_append_new(items, o);
    }
    db_reset(s);
    if (rc == DB_ERROR) {
        json_decref(items);
        err_internal(e, "读取评标任务失败");
        return NULL;
    }
    json_t *out = json_pack("{s:s,s:o}", "role", expert ? "expert" : "staff", "items", items);
    if (expert) {
        s = db_query(d, e, "SELECT name, employer, specialties FROM experts WHERE id = $1", "i",
                     a->expert_id);
        if (s && db_step(s) == DB_ROW) {
            const char *sp = db_column_text(s, 2);
            json_t *spj = sp ? json_loads(sp, 0, NULL) : NULL;
            json_object_set_new(out, "expert",
                                json_pack("{s:s,s:o,s:o}", "name", db_column_text(s, 0), "employer",
                                          jsonx_str_or_null(db_column_text(s, 1)), "specialties",
                                          spj ? spj : json_array()));
        }
        if (s) db_reset(s);
    }
    return out;
}
