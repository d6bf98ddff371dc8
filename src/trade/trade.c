/* trade: the shared core of public resource trading (see trade.h). */
#include "trade/trade.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "auth/roles.h"
#include "base/jsonx.h"
#include "base/timeutil.h"
#include "base/xmalloc.h"
#include "files/files.h"

/* ---- vocabularies ---- */

typedef struct label {
    const char *key, *zh;
} label;

static const label kinds[] = {
    {"works", "建设工程"}, {"procurement", "政府采购"}, {"property", "国有产权"},
    {"land", "土地出让"},  {"emission", "排污权"},
};
static const label methods[] = {
    {"lowest_price", "经评审的最低投标价法"},
    {"composite", "综合评分法"},
    {"reasonable_low", "合理低价法"},
    {"auction", "网络竞价"},
};
static const label statuses[] = {
    {"draft", "草稿"},        {"announced", "公告中"},         {"opening", "开标中"},
    {"evaluation", "评标中"}, {"publicity", "中标候选人公示"}, {"auction", "竞价中"},
    {"awarded", "已定标"},    {"contracted", "已签合同"},      {"cancelled", "已终止"},
    {"failed", "流标"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *find(const label *t, size_t n, const char *key) {
    if (!key) return NULL;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(t[i].key, key)) return t[i].zh;
    return NULL;
}

int trade_kind_valid(const char *kind) {
    return find(kinds, COUNT(kinds), kind) != NULL;
}
const char *trade_kind_label(const char *kind) {
    const char *s = find(kinds, COUNT(kinds), kind);
    return s ? s : "";
}
int trade_kind_is_sale(const char *kind) {
    return kind &&
           (!strcmp(kind, "property") || !strcmp(kind, "land") || !strcmp(kind, "emission"));
}
int trade_method_valid(const char *method) {
    return find(methods, COUNT(methods), method) != NULL;
}
const char *trade_method_label(const char *method) {
    const char *s = find(methods, COUNT(methods), method);
    return s ? s : "";
}
int trade_status_valid(const char *status) {
    return find(statuses, COUNT(statuses), status) != NULL;
}
const char *trade_status_label(const char *status) {
    const char *s = find(statuses, COUNT(statuses), status);
    return s ? s : "";
}
int trade_status_bids_public(const char *s) {
    return s && (!strcmp(s, "opening") || !strcmp(s, "evaluation") || !strcmp(s, "publicity") ||
                 !strcmp(s, "awarded") || !strcmp(s, "contracted") || !strcmp(s, "failed"));
}

/* ---- money ---- */

/* Parse "1234.5" / "1,234.50" (digits, optional commas between groups, at most two
 * decimals) into fen. -1 when malformed. */
static int parse_yuan(const char *s, int64_t *fen) {
    int64_t whole = 0;
    int digits = 0, decimals = 0, frac = 0;
    const char *p = s;
    while (*p == ' ')
        p++;
    if (!*p) return -1;
    for (; *p && *p != '.'; p++) {
        if (*p == ',') {
            if (!digits) return -1;
            continue;
        }
        if (*p < '0' || *p > '9') return -1;
        if (whole > TRADE_MONEY_MAX_FEN / 10) return -1;
        whole = whole * 10 + (*p - '0');
        digits++;
    }
    if (!digits) return -1;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++) {
            if (++decimals > 2) return -1;
            frac = frac * 10 + (*p - '0');
        }
        if (!decimals) return -1;
        if (decimals == 1) frac *= 10;
    }
    while (*p == ' ')
        p++;
    if (*p) return -1;
    if (whole > TRADE_MONEY_MAX_FEN / 100) return -1;
    *fen = whole * 100 + frac;
    return 0;
}

int trade_money_from_json(json_t *v, const char *field, int64_t *fen, err *e) {
    int64_t out = 0;
    if (json_is_string(v)) {
        if (parse_yuan(json_string_value(v), &out) != 0)
            return err_invalid(e, field, "%s 不是有效金额（元，最多两位小数）", field);
    } else if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0 || i > TRADE_MONEY_MAX_FEN / 100)
            return err_invalid(e, field, "%s 超出范围", field);
        out = (int64_t)i * 100;
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!isfinite(d) || d < 0 || d * 100 > (double)TRADE_MONEY_MAX_FEN)
            return err_invalid(e, field, "%s 超出范围", field);
        double f = d * 100.0;
        double r = round(f);
        if (fabs(f - r) > 1e-6 * (1 + fabs(f)))
            return err_invalid(e, field, "%s 最多两位小数", field);
        out = (int64_t)r;
    } else {
        return err_invalid(e, field, "%s 应为金额（元）", field);
    }
    if (out > TRADE_MONEY_MAX_FEN) return err_invalid(e, field, "%s 超出范围", field);
    *fen = out;
    return 0;
}

char *trade_money_str(int64_t fen, char *buf, size_t n) {
    const char *sign = fen < 0 ? "-" : "";
    uint64_t a = fen < 0 ? (uint64_t)(-(fen + 1)) + 1 : (uint64_t)fen;
    snprintf(buf, n, "%s%llu.%02llu", sign, (unsigned long long)(a / 100),
             (unsigned long long)(a % 100));
    return buf;
}

char *trade_money_display(int64_t fen, char *buf, size_t n) {
    char digits[32];
    uint64_t a = fen < 0 ? (uint64_t)(-(fen + 1)) + 1 : (uint64_t)fen;
    snprintf(digits, sizeof(digits), "%llu", (unsigned long long)(a / 100));
    char grouped[48];
    size_t len = strlen(digits), o = 0;
    for (size_t i = 0; i < len; i++) {
        if (i && (len - i) % 3 == 0) grouped[o++] = ',';
        grouped[o++] = digits[i];
    }
    grouped[o] = '\0';
    snprintf(buf, n, "%s¥%s.%02llu", fen < 0 ? "-" : "", grouped, (unsigned long long)(a % 100));
    return buf;
}

/* ---- USCC (GB 32100-2015): 18 characters from "0-9A-HJ-NPQRTUWXY", the last a
 * check character: 31 - (Σ value(c_i) × w_i mod 31), w_i = 3^i mod 31. ---- */

static const char uscc_alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

int trade_uscc_valid(const char *s) {
    static const int w[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
    if (!s || strlen(s) != 18) return 0;
    int sum = 0;
    for (int i = 0; i < 18; i++) {
        const char *p = strchr(uscc_alphabet, s[i]);
        if (!p || !s[i]) return 0;
        int v = (int)(p - uscc_alphabet);
        if (i < 17)
            sum += v * w[i];
        else {
            int c = 31 - sum % 31;
            if (c == 31) c = 0;
            return v == c;
        }
    }
    return 0;
}

/* ---- the actor ---- */

int trade_actor_load(db *d, trade_actor *a, err *e) {
    a->company_id = a->expert_id = 0;
    a->name[0] = '\0';
    if (!a->user_id) {
        snprintf(a->name, sizeof(a->name), "%s", a->audit.login ? a->audit.login : "system");
        return 0;
    }
    db_stmt *s = db_query(d, e,
                          "SELECT u.display_name, cu.company_id, x.id FROM users u "
                          "LEFT JOIN trade_company_users cu ON cu.user_id = u.id "
                          "LEFT JOIN experts x ON x.user_id = u.id WHERE u.id = $1",
                          "i", a->user_id);
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ROW) {
        const char *n = db_column_text(s, 0);
        snprintf(a->name, sizeof(a->name), "%s", n ? n : "");
        a->company_id = db_column_int64(s, 1);
        a->expert_id = db_column_int64(s, 2);
    }
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取用户失败");
    return 0;
}

int trade_actor_is_staff(const trade_actor *a) {
    return !a->user_id || (a->role & (ROLE_TRADING_STAFF | ROLE_ADMIN));
}

int trade_actor_can_supervise(const trade_actor *a) {
    return trade_actor_is_staff(a) || (a->role & ROLE_SUPERVISOR);
}

/* ---- tenders ---- */

#define TENDER_COLUMNS                                                                             \
    "id, tender_no, kind, method, status, title, buyer, budget_fen, reserve_fen, deposit_fen, "    \
    "deadline_at, announce_at, allow_backup, remote_opening, electronic, benchmark_factor, "       \
    "publicity_days, version"

static void copy_col(db_stmt *s, int col, char *dst, size_t n) {
    const char *v = db_column_text(s, col);
    snprintf(dst, n, "%s", v ? v : "");
}

static int64_t col_time(db_stmt *s, int col) {
    const char *v = db_column_text(s, col);
    int64_t t = 0;
    if (v && time_parse_iso(v, &t) != 0) t = 0;
    return t;
}

static int tender_fill(db_stmt *s, trade_tender *t, err *e) {
    int rc = db_step(s);
    if (rc == DB_ROW) {
        memset(t, 0, sizeof(*t));
        t->id = db_column_int64(s, 0);
        copy_col(s, 1, t->tender_no, sizeof(t->tender_no));
        copy_col(s, 2, t->kind, sizeof(t->kind));
        copy_col(s, 3, t->method, sizeof(t->method));
        copy_col(s, 4, t->status, sizeof(t->status));
        copy_col(s, 5, t->title, sizeof(t->title));
        copy_col(s, 6, t->buyer, sizeof(t->buyer));
        t->budget_fen = db_column_int64(s, 7);
        t->reserve_fen = db_column_int64(s, 8);
        t->deposit_fen = db_column_int64(s, 9);
        t->deadline_at = col_time(s, 10);
        t->announce_at = col_time(s, 11);
        t->allow_backup = (int)db_column_int64(s, 12);
        t->remote_opening = (int)db_column_int64(s, 13);
        t->electronic = (int)db_column_int64(s, 14);
        t->benchmark_factor = db_column_type(s, 15) == DB_NULL ? 0 : db_column_double(s, 15);
        t->publicity_days = (int)db_column_int64(s, 16);
        t->version = db_column_int64(s, 17);
    }
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取项目失败");
    if (rc != DB_ROW) return err_notfound(e, "项目不存在");
    return 0;
}

int trade_tender_load(db *d, int64_t id, trade_tender *t, err *e) {
    db_stmt *s = db_query(d, e, "SELECT " TENDER_COLUMNS " FROM tenders WHERE id = $1", "i", id);
    if (!s) return -1;
    return tender_fill(s, t, e);
}

int trade_tender_load_no(db *d, const char *no, trade_tender *t, err *e) {
    db_stmt *s =
        db_query(d, e, "SELECT " TENDER_COLUMNS " FROM tenders WHERE tender_no = $1", "s", no);
    if (!s) return -1;
    return tender_fill(s, t, e);
}

int trade_tender_set_status(db *d, const trade_actor *a, trade_tender *t, const char *to, err *e) {
    if (!trade_status_valid(to)) return err_internal(e, "未知状态 %s", to);
    char now[32];
    time_iso(now, sizeof(now), time_now());
    if (db_execf(d, e,
                 "UPDATE tenders SET status = $1, version = version + 1, updated_at = $2 "
                 "WHERE id = $3 AND status = $4 AND version = $5",
                 "ssisi", to, now, t->id, t->status, t->version) != 0)
        return -1;
    if (db_changes(d) != 1) return err_conflict(e, "status", "项目状态已变化，请刷新后重试");
    json_t *before = json_pack("{s:s}", "status", t->status);
    json_t *after = json_pack("{s:s}", "status", to);
    char id[24], action[40];
    snprintf(id, sizeof(id), "%lld", (long long)t->id);
    snprintf(action, sizeof(action), "tender.%s", to);
    int rc = audit_record(d, &a->audit, action, "tender", id, before, after, e);
    json_decref(before);
    json_decref(after);
    if (rc != 0) return -1;
    snprintf(t->status, sizeof(t->status), "%s", to);
    t->version++;
    return 0;
}

int64_t trade_company_of_user(db *d, int64_t user_id) {
    int64_t id = 0;
    err e = {0};
    if (db_query_int(d, &e, &id, "SELECT company_id FROM trade_company_users WHERE user_id = $1",
                     "i", user_id) != 0)
        return 0;
    return id;
}

/* ---- events ---- */

typedef struct pending_event {
    char topic[32];
    char kind[40];
    char *data;
} pending_event;

#define PENDING_MAX 256
static _Thread_local pending_event pending[PENDING_MAX];
static _Thread_local int npending;
static trade_publish_fn publish_hook;

void trade_set_publish_hook(trade_publish_fn fn) {
    publish_hook = fn;
}

int trade_event_append(db *d, int64_t tender_id, const char *kind, json_t *data, int64_t *seq_out,
                       err *e) {
    int64_t seq = 0;
    if (db_query_int(d, e, &seq,
                     "SELECT COALESCE(MAX(seq), 0) + 1 FROM opening_events WHERE tender_id = $1",
                     "i", tender_id) < 0)
        return -1;
    json_t *body = data ? json_deep_copy(data) : json_object();
    if (!body) return err_internal(e, "事件编码失败");
    char at[40];
    time_iso_now_ms(at, sizeof(at));
    json_object_set_new(body, "seq", json_integer(seq));
    json_object_set_new(body, "kind", json_string(kind));
    json_object_set_new(body, "at", json_string(at));
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text) return err_internal(e, "事件编码失败");
    if (db_execf(d, e,
                 "INSERT INTO opening_events (tender_id, seq, kind, data, at) "
                 "VALUES ($1, $2, $3, $4, $5)",
                 "iisss", tender_id, seq, kind, text, at) != 0) {
        free(text);
        return -1;
    }
    if (npending < PENDING_MAX) {
        pending_event *p = &pending[npending++];
        snprintf(p->topic, sizeof(p->topic), "tender.%lld", (long long)tender_id);
        snprintf(p->kind, sizeof(p->kind), "%s", kind);
        p->data = text;
    } else {
        free(text); /* too many in one transaction: clients catch up from the log */
    }
    if (seq_out) *seq_out = seq;
    return 0;
}

void trade_event_flush(void) {
    for (int i = 0; i < npending; i++) {
        if (publish_hook) publish_hook(pending[i].topic, pending[i].kind, pending[i].data);
        free(pending[i].data);
    }
    npending = 0;
}

void trade_event_discard(void) {
    for (int i = 0; i < npending; i++)
        free(pending[i].data);
    npending = 0;
}

json_t *trade_events_since(db *d, int64_t tender_id, int64_t after, int limit, err *e) {
    if (limit <= 0 || limit > 1000) limit = 1000;
    db_stmt *s = db_query(d, e,
                          "SELECT seq, kind, data, at FROM opening_events WHERE tender_id = $1 "
                          "AND seq > $2 ORDER BY seq LIMIT $3",
                          "iii", tender_id, after, (int64_t)limit);
    if (!s) return NULL;
    json_t *items = json_array();
    int64_t last = after;
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        const char *data = db_column_text(s, 2);
        json_t *dj = data ? json_loads(data, 0, NULL) : NULL;
        int64_t seq = db_column_int64(s, 0);
        json_array_append_new(items,
                              json_pack("{s:I,s:s,s:o,s:s}", "seq", (json_int_t)seq, "kind",
                                        db_column_text(s, 1), "data", dj ? dj : json_object(), "at",
                                        db_column_text(s, 3)));
        last = seq;
    }
    db_reset(s);
    if (rc == DB_ERROR) {
        json_decref(items);
        err_internal(e, "读取事件失败");
        return NULL;
    }
    return json_pack("{s:o,s:I}", "items", items, "last_seq", (json_int_t)last);
}

/* ---- files ---- */

int trade_dir(const char *sub, char *buf, size_t n, err *e) {
    const char *base = files_dir();
    if (!base || !*base) return err_internal(e, "文件目录未设置");
    int w = snprintf(buf, n, "%s/%s", base, sub);
    if (w < 0 || (size_t)w >= n) return err_internal(e, "路径过长");
    if (mkdir(buf, 0700) != 0 && errno != EEXIST) return err_internal(e, "无法创建目录 %s", sub);
    return 0;
}
