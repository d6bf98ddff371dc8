/* opening: the remote opening hall (see opening.h). */
#include "trade/opening.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/roles.h"
#include "base/jsonx.h"
#include "base/timeutil.h"
#include "proofs/proofs.h"

#include "trade/backup.h"
#include "trade/bids.h"
#include "trade/ca.h"
#include "trade/tenders.h"

/* ---- steps ---- */

static const struct {
    const char *status, *label;
} steps[] = {
    {"waiting", "等待开标"},   {"signin", "投标人签到"}, {"decrypting", "投标文件解密"},
    {"announced", "唱标完成"}, {"objections", "异议"},   {"confirming", "确认开标记录"},
    {"closed", "开标结束"},
};

static const char *step_label(const char *s) {
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
        if (!strcmp(steps[i].status, s)) return steps[i].label;
    return s;
}

enum who { HOST = 1, BIDDER = 2 };

typedef struct action_rule {
    const char *action;
    int who;
    const char *from[3]; /* hall statuses the action is allowed in */
    const char *label;
} action_rule;

static const action_rule rules[] = {
    {"start", HOST, {"waiting"}, "开始开标"},
    {"signin", BIDDER, {"signin"}, "签到"},
    {"begin_decrypt", HOST, {"signin"}, "开始解密"},
    {"reveal", BIDDER, {"decrypting"}, "提交解密结果"},
    {"backup_reveal", HOST, {"decrypting", "announced"}, "备用解密"},
    {"close_decrypt", HOST, {"decrypting"}, "结束解密并唱标"},
    {"open_objections", HOST, {"announced"}, "开始异议"},
    {"object", BIDDER, {"objections"}, "提出异议"},
    {"reply", HOST, {"objections"}, "答复异议"},
    {"begin_confirm", HOST, {"objections"}, "生成开标记录"},
    {"confirm", BIDDER, {"confirming"}, "确认开标记录"},
    {"close", HOST, {"confirming"}, "结束开标"},
};

static const action_rule *rule_find(const char *action) {
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        if (action && !strcmp(rules[i].action, action)) return &rules[i];
    return NULL;
}

static int is_bidder(const trade_actor *a) {
    return a && a->user_id && (a->role & (ROLE_BIDDER | ROLE_COMPANY)) && a->company_id > 0;
}

char *opening_confirm_string(const char *tender_no, const char *sha, char *buf, size_t n) {
    snprintf(buf, n, "isle-opening-confirm:v1:%s:%s", tender_no, sha);
    return buf;
}

char *opening_record_payload(const char *tender_no, const char *sha, char *buf, size_t n) {
    snprintf(buf, n, "isle-opening-record:v1:%s:%s", tender_no, sha);
    return buf;
}

/* ---- the hall row ---- */

typedef struct hall {
    int exists;
    char status[16];
    int64_t host_id;
    char started_at[32], decrypt_until[32], objections_until[32], closed_at[32];
    char record_sha256[65];
    char record_sig[160];
    int64_t version;
} hall;

static void col_copy(db_stmt *s, int c, char *dst, size_t n) {
    const char *v = db_column_text(s, c);
    snprintf(dst, n, "%s", v ? v : "");
}

static int hall_load(db *d, int64_t tender_id, hall *h, err *e) {
    memset(h, 0, sizeof(*h));
    snprintf(h->status, sizeof(h->status), "waiting");
    db_stmt *s = db_query(d, e,
                          "SELECT status, host_id, started_at, decrypt_until, objections_until, "
                          "closed_at, record_sha256, record_sig, version FROM openings "
                          "WHERE tender_id = $1",
                          "i", tender_id);
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ROW) {
        h->exists = 1;
        col_copy(s, 0, h->status, sizeof(h->status));
        h->host_id = db_column_int64(s, 1);
        col_copy(s, 2, h->started_at, sizeof(h->started_at));
        col_copy(s, 3, h->decrypt_until, sizeof(h->decrypt_until));
        col_copy(s, 4, h->objections_until, sizeof(h->objections_until));
        col_copy(s, 5, h->closed_at, sizeof(h->closed_at));
        col_copy(s, 6, h->record_sha256, sizeof(h->record_sha256));
        col_copy(s, 7, h->record_sig, sizeof(h->record_sig));
        h->version = db_column_int64(s, 8);
    }
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取开标大厅失败");
    return 0;
}

static int64_t iso_time(const char *s) {
    int64_t t = 0;
    if (!s || !*s || time_parse_iso(s, &t) != 0) return 0;
    return t;
}

/* A tender the caller may see: drafts only for staff. */
static int tender_visible(db *d, const trade_actor *a, int64_t id, trade_tender *t, err *e) {
    if (trade_tender_load(d, id, t, e) != 0) return -1;
    if (!strcmp(t->status, "draft") && !(a && trade_actor_is_staff(a)))
        return err_notfound(e, "项目不存在");
    return 0;
}

/* ---- small queries ---- */

static int count_of(db *d, err *e, int64_t *n, const char *sql, int64_t tender_id) {
    *n = 0;
    return db_query_int(d, e, n, sql, "i", tender_id) < 0 ? -1 : 0;
}

static int company_name(db *d, int64_t company_id, char *buf, size_t n, err *e) {
    buf[0] = '\0';
    db_stmt *s = db_query(d, e, "SELECT name FROM trade_companies WHERE id = $1", "i", company_id);
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ROW) col_copy(s, 0, buf, n);
    db_reset(s);
    return rc == DB_ERROR ? err_internal(e, "读取企业失败") : 0;
}

/* The company's current sealed bid of the tender: 0 and *bid_id (0 when none). */
static int sealed_bid_of(db *d, int64_t tender_id, int64_t company_id, int64_t *bid_id, err *e) {
    *bid_id = 0;
    int rc = db_query_int(d, e, bid_id,
                          "SELECT id FROM bids WHERE tender_id = $1 AND company_id = $2 AND "
                          "status = 'sealed' ORDER BY seq DESC LIMIT 1",
                          "ii", tender_id, company_id);
    return rc < 0 ? -1 : 0;
}

static int signed_in(db *d, int64_t tender_id, int64_t company_id, int *yes, err *e) {
    int64_t n = 0;
    if (db_query_int(
            d, e, &n,
            "SELECT COUNT(*) FROM opening_signins WHERE tender_id = $1 AND company_id = $2", "ii",
            tender_id, company_id) < 0)
        return -1;
    *yes = n > 0;
    return 0;
}

static int wrong_step(err *e, const hall *h, const action_rule *r) {
    return err_set(e, 409, "wrong_step", "status", "开标当前处于「%s」阶段，不能%s",
                   step_label(h->status), r->label);
}

/* Minutes of a window from in.minutes: def when absent, 1..OPENING_WINDOW_MAX. */
static int window_minutes(json_t *in, int def, int *out, err *e) {
    json_t *m = in ? json_object_get(in, "minutes") : NULL;
    if (!m || json_is_null(m)) {
        *out = def;
        return 0;
    }
    if (!json_is_integer(m) || json_integer_value(m) < 1 ||
        json_integer_value(m) > OPENING_WINDOW_MAX)
        return err_invalid(e, "minutes", "minutes 须为 1–%d 的整数（分钟）", OPENING_WINDOW_MAX);
    *out = (int)json_integer_value(m);
    return 0;
}

/* Number of UTF-8 characters, or -1 when s is not valid text for the hall (control
 * characters other than newlines and tabs). */
static long text_chars(const char *s) {
    long n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 && *p != '\n' && *p != '\t' && *p != '\r') return -1;
        if (*p == 0x7f) return -1;
        if ((*p & 0xC0) != 0x80) n++;
    }
    return n;
}

static int text_field(json_t *in, const char *field, const char **out, err *e) {
    const char *s = in ? jsonx_str(in, field) : NULL;
    if (!s) return err_invalid(e, field, "请填写 %s", field);
    long n = text_chars(s);
    if (n < 0) return err_invalid(e, field, "%s 含有不允许的控制字符", field);
    const char *p = s;
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
        p++;
    if (!*p) return err_invalid(e, field, "请填写 %s", field);
    if (n > OPENING_OBJECTION_MAX)
        return err_invalid(e, field, "%s 不能超过 %d 字", field, OPENING_OBJECTION_MAX);
    *out = s;
    return 0;
}

/* ---- the action context ---- */

typedef struct act_ctx {
    db *d;
    const trade_actor *a;
    trade_tender t;
    hall h;
    json_t *in;
    json_t *out;
    int64_t now;
    char now_s[32];
    json_t *audit_after;
    const unsigned char *plain; /* reveal: decoded before the transaction */
    size_t plain_len;
} act_ctx;

static int event(act_ctx *c, const char *kind, json_t *data, err *e) {
    int64_t seq = 0;
    int rc = trade_event_append(c->d, c->t.id, kind, data, &seq, e);
    json_decref(data);
    if (rc == 0) json_object_set_new(c->out, "seq", json_integer(seq));
    return rc;
}

static int hall_set(act_ctx *c, const char *to, err *e) {
    if (db_execf(c->d, e,
                 "UPDATE openings SET status = $1, updated_at = $2, version = version + 1 "
                 "WHERE tender_id = $3 AND version = $4",
                 "ssii", to, c->now_s, c->t.id, c->h.version) != 0)
        return -1;
    if (db_changes(c->d) != 1) return err_conflict(e, "status", "开标状态已变化，请刷新后重试");
    c->h.version++;
    snprintf(c->h.status, sizeof(c->h.status), "%s", to);
    return 0;
}

/* Serialise the hall's writers: every action first bumps the row's version (on
 * PostgreSQL this takes the row lock, so event seqs never collide). */
static int hall_lock(act_ctx *c, err *e) {
    if (db_execf(c->d, e,
                 "UPDATE openings SET version = version + 1, updated_at = $1 WHERE tender_id = $2",
                 "si", c->now_s, c->t.id) != 0)
        return -1;
    c->h.version++;
    return 0;
}

/* start: the tender is announced and its deadline has passed. */
static int act_start(act_ctx *c, err *e) {
    if (strcmp(c->t.status, "announced") != 0)
        return err_set(e, 409, "wrong_step", "status", "项目处于「%s」状态，不能开标",
                       trade_status_label(c->t.status));
    if (trade_kind_is_sale(c->t.kind) || !strcmp(c->t.method, "auction"))
        return err_set(e, 409, "wrong_step", "method", "网络竞价项目没有开标环节");
    if (c->now < c->t.deadline_at) {
        char dl[32];
        time_iso(dl, sizeof(dl), c->t.deadline_at);
        return err_set(e, 409, "wrong_step", "deadline_at", "未到开标时间（%s）", dl);
    }
    if (trade_tender_set_status(c->d, c->a, &c->t, "opening", e) != 0) return -1;
    /* host_id is NULL when the CLI operator hosts. */
    int64_t host = c->a->user_id;
    int rc;
    if (c->h.exists)
        rc = host
                 ? db_execf(c->d, e,
                            "UPDATE openings SET status = 'signin', host_id = $1, started_at = $2, "
                            "updated_at = $2, version = version + 1 WHERE tender_id = $3",
                            "isi", host, c->now_s, c->t.id)
                 : db_execf(c->d, e,
                            "UPDATE openings SET status = 'signin', host_id = NULL, "
                            "started_at = $1, updated_at = $1, version = version + 1 "
                            "WHERE tender_id = $2",
                            "si", c->now_s, c->t.id);
    else
        rc = host ? db_execf(c->d, e,
                             "INSERT INTO openings (tender_id, status, host_id, started_at, "
                             "updated_at) VALUES ($1, 'signin', $2, $3, $3)",
                             "iis", c->t.id, host, c->now_s)
                  : db_execf(c->d, e,
                             "INSERT INTO openings (tender_id, status, started_at, updated_at) "
                             "VALUES ($1, 'signin', $2, $2)",
                             "is", c->t.id, c->now_s);
    if (rc != 0) return -1;
    snprintf(c->h.status, sizeof(c->h.status), "signin");
    int64_t sealed = 0;
    if (count_of(c->d, e, &sealed,
                 "SELECT COUNT(*) FROM bids WHERE tender_id = $1 AND status = 'sealed'",
                 c->t.id) != 0)
        return -1;
    json_object_set_new(c->audit_after, "sealed_bids", json_integer(sealed));
    return event(c, "hall_started",
                 json_pack("{s:s,s:s,s:s,s:I}", "tender_no", c->t.tender_no, "title", c->t.title,
                           "host", c->a->name, "sealed_bids", (json_int_t)sealed),
                 e);
}

static int act_signin(act_ctx *c, err *e) {
    int64_t bid = 0;
    if (sealed_bid_of(c->d, c->t.id, c->a->company_id, &bid, e) != 0) return -1;
    if (!bid)
        return err_set(e, 403, "permission_denied", "", "贵单位没有本项目的有效投标，不能签到");
    int yes = 0;
    if (signed_in(c->d, c->t.id, c->a->company_id, &yes, e) != 0) return -1;
    if (yes) return err_set(e, 409, "already_done", "", "贵单位已签到");
    if (db_execf(c->d, e,
                 "INSERT INTO opening_signins (tender_id, company_id, user_id, at) "
                 "VALUES ($1, $2, $3, $4)",
                 "iiis", c->t.id, c->a->company_id, c->a->user_id, c->now_s) != 0)
        return -1;
    if (hall_lock(c, e) != 0) return -1;
    char name[TRADE_NAME_MAX + 1];
    if (company_name(c->d, c->a->company_id, name, sizeof(name), e) != 0) return -1;
    int64_t n = 0;
    if (count_of(c->d, e, &n, "SELECT COUNT(*) FROM opening_signins WHERE tender_id = $1",
                 c->t.id) != 0)
        return -1;
    return event(c, "signed_in",
                 json_pack("{s:I,s:s,s:s,s:I}", "company_id", (json_int_t)c->a->company_id,
                           "company_name", name, "at", c->now_s, "signins", (json_int_t)n),
                 e);
}

static int act_begin_decrypt(act_ctx *c, err *e) {
    int minutes = 0;
    if (window_minutes(c->in, OPENING_DECRYPT_MIN_DEF, &minutes, e) != 0) return -1;
    char until[32];
    time_iso(until, sizeof(until), c->now + (int64_t)minutes * 60);
    if (hall_set(c, "decrypting", e) != 0) return -1;
    if (db_execf(c->d, e, "UPDATE openings SET decrypt_until = $1 WHERE tender_id = $2", "si",
                 until, c->t.id) != 0)
        return -1;
    snprintf(c->h.decrypt_until, sizeof(c->h.decrypt_until), "%s", until);
    int64_t n = 0;
    if (count_of(c->d, e, &n, "SELECT COUNT(*) FROM opening_signins WHERE tender_id = $1",
                 c->t.id) != 0)
        return -1;
    json_object_set_new(c->audit_after, "decrypt_until", json_string(until));
    if (event(c, "decrypt_started",
              json_pack("{s:s,s:i,s:I}", "decrypt_until", until, "minutes", minutes, "signins",
                        (json_int_t)n),
              e) != 0)
        return -1;
    if (n < TRADE_MIN_VALID_BIDS) {
        char msg[160];
        snprintf(msg, sizeof(msg), "签到投标人仅 %lld 家，少于 %d 家；有效投标不足 %d 家将依法流标",
                 (long long)n, TRADE_MIN_VALID_BIDS, TRADE_MIN_VALID_BIDS);
        if (event(c, "warning", json_pack("{s:s,s:I}", "message", msg, "signins", (json_int_t)n),
                  e) != 0)
            return -1;
    }
    return 0;
}

/* Decode standard base64 (padding optional, whitespace ignored). */
static int b64_decode(const char *s, unsigned char **out, size_t *len, size_t max, err *e,
                      const char *field) {
    size_t sl = strlen(s);
    if (sl / 4 * 3 > max + 3)
        return err_set(e, 413, "too_large", field, "%s 超过 %zu 字节", field, max);
    unsigned char *buf = malloc(sl / 4 * 3 + 4);
    if (!buf) return err_internal(e, "内存不足");
    size_t n = 0;
    const char *end = NULL;
    if (sodium_base642bin(buf, sl / 4 * 3 + 4, s, sl, " \t\r\n", &n, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        (end && *end)) {
        /* Retry without padding (some tools drop it). */
        if (sodium_base642bin(buf, sl / 4 * 3 + 4, s, sl, " \t\r\n=", &n, &end,
                              sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0 ||
            (end && *end)) {
            free(buf);
            return err_invalid(e, field, "%s 不是有效的 base64", field);
        }
    }
    if (n == 0 || n > max) {
        free(buf);
        return n ? err_set(e, 413, "too_large", field, "%s 超过 %zu 字节", field, max)
                 : err_invalid(e, field, "%s 为空", field);
    }
    *out = buf;
    *len = n;
    return 0;
}

static int announce_event(act_ctx *c, json_t *ann, const char *via, err *e) {
    json_t *data = json_deep_copy(ann);
    json_object_set_new(data, "via", json_string(via));
    json_object_set_new(data, "at", json_string(c->now_s));
    return event(c, "bid_opened", data, e);
}

static int act_reveal(act_ctx *c, err *e) {
    if (c->now > iso_time(c->h.decrypt_until))
        return err_set(e, 409, "window_closed", "", "解密时间已结束（%s）", c->h.decrypt_until);
    int yes = 0;
    if (signed_in(c->d, c->t.id, c->a->company_id, &yes, e) != 0) return -1;
    int64_t bid = 0;
    if (sealed_bid_of(c->d, c->t.id, c->a->company_id, &bid, e) != 0) return -1;
    if (!bid) {
        int64_t opened = 0;
        if (db_query_int(c->d, e, &opened,
                         "SELECT COUNT(*) FROM bids WHERE tender_id = $1 AND company_id = $2 AND "
                         "status IN ('opened', 'invalid')",
                         "ii", c->t.id, c->a->company_id) < 0)
            return -1;
        if (opened) return err_set(e, 409, "already_done", "", "贵单位的投标已解密唱标");
        return err_set(e, 403, "permission_denied", "", "贵单位没有本项目待解密的投标");
    }
    if (!yes) return err_set(e, 409, "wrong_step", "status", "请先签到再解密");
    json_t *ann = NULL;
    if (bids_reveal_tx(c->d, c->a, bid, c->plain, c->plain_len, "bidder", &ann, e) != 0) return -1;
    if (hall_lock(c, e) != 0 || announce_event(c, ann, "bidder", e) != 0) {
        json_decref(ann);
        return -1;
    }
    json_object_set_new(c->audit_after, "bid_id", json_integer(bid));
    json_object_set(c->out, "announce", ann);
    json_decref(ann);
    return 0;
}

/* The shares of a backup_reveal: an array of 2..16 non-empty strings. */
static int shares_of(json_t *in, const char ***out, int *n, err *e) {
    json_t *arr = in ? json_object_get(in, "shares") : NULL;
    if (!json_is_array(arr) || json_array_size(arr) < 2 || json_array_size(arr) > 16)
        return err_invalid(e, "shares", "shares 须为 2–16 位保管人的密钥分片");
    size_t k = json_array_size(arr);
    const char **v = calloc(k + 1, sizeof(*v));
    if (!v) return err_internal(e, "内存不足");
    for (size_t i = 0; i < k; i++) {
        const char *s = json_string_value(json_array_get(arr, i));
        if (!s || !*s || strlen(s) > 4096) {
            free(v);
            return err_invalid(e, "shares", "第 %zu 个分片无效", i + 1);
        }
        v[i] = s;
    }
    *out = v;
    *n = (int)k;
    return 0;
}

/* Backup decryption runs before the transaction (it may take its own); the reveal
 * itself is in the hall's transaction. The plaintext is passed in. */
static int act_backup_reveal(act_ctx *c, const unsigned char *plain, size_t len, int64_t bid,
                             const char *reason, err *e) {
    int64_t ok = 0;
    if (db_query_int(c->d, e, &ok,
                     "SELECT COUNT(*) FROM bids WHERE id = $1 AND tender_id = $2 AND "
                     "status = 'sealed'",
                     "ii", bid, c->t.id) < 0)
        return -1;
    if (!ok) return err_set(e, 409, "conflict", "bid_id", "该投标不处于待解密状态");
    json_t *ann = NULL;
    if (bids_reveal_tx(c->d, c->a, bid, plain, len, "backup", &ann, e) != 0) return -1;
    int rc = hall_lock(c, e);
    if (rc == 0)
        rc = event(c, "backup_used",
                   json_pack("{s:I,s:O,s:s}", "bid_id", (json_int_t)bid, "company_name",
                             json_object_get(ann, "company_name")
                                 ? json_object_get(ann, "company_name")
                                 : json_null(),
                             "reason", reason),
                   e);
    if (rc == 0) rc = announce_event(c, ann, "backup", e);
    json_object_set_new(c->audit_after, "bid_id", json_integer(bid));
    json_object_set_new(c->audit_after, "reason", json_string(reason));
    if (rc == 0) json_object_set(c->out, "announce", ann);
    json_decref(ann);
    return rc;
}

double opening_draw_factor(double lo, double hi) {
    uint32_t a = (uint32_t)llround(lo * 10000), b = (uint32_t)llround(hi * 10000);
    if (b < a) b = a;
    uint32_t k = a + randombytes_uniform(b - a + 1);
    return k / 10000.0;
}

static void factor_range(db *d, int64_t tender_id, double *lo, double *hi) {
    *lo = 0.95;
    *hi = 0.98;
    err e = {0};
    db_stmt *s = db_query(d, &e, "SELECT method_params FROM tenders WHERE id = $1", "i", tender_id);
    if (!s) return;
    if (db_step(s) == DB_ROW) {
        const char *p = db_column_text(s, 0);
        json_t *j = p ? json_loads(p, 0, NULL) : NULL;
        json_t *mn = j ? json_object_get(j, "factor_min") : NULL;
        json_t *mx = j ? json_object_get(j, "factor_max") : NULL;
        double a = json_is_number(mn) ? json_number_value(mn) : *lo;
        double b = json_is_number(mx) ? json_number_value(mx) : *hi;
        /* A range outside what 合理低价法 allows falls back to the defaults. */
        if (a > 0.5 && b <= 1.2 && a <= b) {
            *lo = a;
            *hi = b;
        }
        json_decref(j);
    }
    db_reset(s);
}

static int act_close_decrypt(act_ctx *c, err *e) {
    json_t *ids = c->in ? json_object_get(c->in, "system_fault_bid_ids") : NULL;
    if (ids && !json_is_null(ids) && (!json_is_array(ids) || json_array_size(ids) > 1000))
        return err_invalid(e, "system_fault_bid_ids", "system_fault_bid_ids 须为投标编号数组");
    size_t nids = json_is_array(ids) ? json_array_size(ids) : 0;
    for (size_t i = 0; i < nids; i++) {
        json_t *v = json_array_get(ids, i);
        int64_t ok = 0;
        if (!json_is_integer(v))
            return err_invalid(e, "system_fault_bid_ids", "system_fault_bid_ids 须为投标编号数组");
        if (db_query_int(c->d, e, &ok,
                         "SELECT COUNT(*) FROM bids WHERE id = $1 AND tender_id = $2 AND "
                         "status = 'sealed' AND to_backup = 1",
                         "ii", (int64_t)json_integer_value(v), c->t.id) < 0)
            return -1;
        if (!ok)
            return err_invalid(e, "system_fault_bid_ids",
                               "投标 %lld 不是本项目待解密且可备用解密的投标",
                               (long long)json_integer_value(v));
    }
    int64_t sealed = 0;
    if (count_of(c->d, e, &sealed,
                 "SELECT COUNT(*) FROM bids WHERE tender_id = $1 AND status = 'sealed'",
                 c->t.id) != 0)
        return -1;
    if (sealed > 0 && c->now < iso_time(c->h.decrypt_until))
        return err_set(e, 409, "window_open", "",
                       "解密时间尚未结束（至 %s），仍有 %lld 份投标未解密", c->h.decrypt_until,
                       (long long)sealed);
    if (hall_set(c, "announced", e) != 0) return -1;
    /* The sealed bids not kept for the backup path: the bidder's fault (art. 31). */
    db_stmt *s = db_query(c->d, e,
                          "SELECT b.id, b.company_id, c.name FROM bids b JOIN trade_companies c "
                          "ON c.id = b.company_id WHERE b.tender_id = $1 AND b.status = 'sealed' "
                          "ORDER BY b.id",
                          "i", c->t.id);
    if (!s) return -1;
    json_t *lapsed = json_array();
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        int64_t id = db_column_int64(s, 0);
        int kept = 0;
        for (size_t i = 0; i < nids; i++)
            if (json_integer_value(json_array_get(ids, i)) == id) kept = 1;
        if (!kept)
            json_array_append_new(lapsed, json_pack("{s:I,s:I,s:s}", "bid_id", (json_int_t)id,
                                                    "company_id", (json_int_t)db_column_int64(s, 1),
                                                    "company_name", db_column_text(s, 2)));
    }
    db_reset(s);
    if (rc == DB_ERROR) {
        json_decref(lapsed);
        return err_internal(e, "读取投标失败");
    }
    size_t i;
    json_t *b;
    json_array_foreach(lapsed, i, b) {
        int64_t id = json_integer_value(json_object_get(b, "bid_id"));
        if (db_execf(c->d, e,
                     "UPDATE bids SET status = 'not_decrypted', invalid_reason = $1, "
                     "updated_at = $2 WHERE id = $3 AND status = 'sealed'",
                     "ssi", "投标人原因未在规定时间内解密，视为撤回投标", c->now_s, id) != 0)
            break;
        char ids_s[24];
        snprintf(ids_s, sizeof(ids_s), "%lld", (long long)id);
        json_t *after = json_pack("{s:s}", "status", "not_decrypted");
        int arc =
            audit_record(c->d, &c->a->audit, "bid.not_decrypted", "bid", ids_s, NULL, after, e);
        json_decref(after);
        if (arc != 0) break;
        json_t *data = json_deep_copy(b);
        json_object_set_new(data, "reason", json_string("投标人原因未解密，视为撤回投标"));
        if (event(c, "bid_not_decrypted", data, e) != 0) break;
    }
    if (i < json_array_size(lapsed)) {
        json_decref(lapsed);
        return -1;
    }
    json_object_set_new(c->audit_after, "not_decrypted", lapsed);
    if (nids) json_object_set(c->audit_after, "system_fault_bid_ids", ids);
    if (!strcmp(c->t.method, "reasonable_low")) {
        double lo, hi;
        factor_range(c->d, c->t.id, &lo, &hi);
        double f = opening_draw_factor(lo, hi);
        if (db_execf(c->d, e,
                     "UPDATE tenders SET benchmark_factor = $1, updated_at = $2 WHERE id = $3",
                     "dsi", f, c->now_s, c->t.id) != 0)
            return -1;
        c->t.benchmark_factor = f;
        json_object_set_new(c->audit_after, "benchmark_factor", json_real(f));
        json_object_set_new(c->out, "benchmark_factor", json_real(f));
        if (event(c, "factor_drawn",
                  json_pack("{s:f,s:f,s:f}", "benchmark_factor", f, "factor_min", lo, "factor_max",
                            hi),
                  e) != 0)
            return -1;
    }
    int64_t opened = 0;
    if (count_of(c->d, e, &opened,
                 "SELECT COUNT(*) FROM bids WHERE tender_id = $1 AND status IN ('opened', "
                 "'invalid')",
                 c->t.id) != 0)
        return -1;
    return event(
        c, "decrypt_closed",
        json_pack("{s:I,s:I,s:I}", "opened", (json_int_t)opened, "not_decrypted",
                  (json_int_t)json_array_size(json_object_get(c->audit_after, "not_decrypted")),
                  "backup_pending", (json_int_t)nids),
        e);
}

static int act_open_objections(act_ctx *c, err *e) {
    int64_t pending = 0;
    if (count_of(c->d, e, &pending,
                 "SELECT COUNT(*) FROM bids WHERE tender_id = $1 AND status = 'sealed'",
                 c->t.id) != 0)
        return -1;
    if (pending)
        return err_set(e, 409, "wrong_step", "status",
                       "仍有 %lld 份投标待备用解密，不能进入异议环节", (long long)pending);
    int minutes = 0;
    if (window_minutes(c->in, OPENING_OBJECTION_MIN_DEF, &minutes, e) != 0) return -1;
    char until[32];
    time_iso(until, sizeof(until), c->now + (int64_t)minutes * 60);
    if (hall_set(c, "objections", e) != 0) return -1;
    if (db_execf(c->d, e, "UPDATE openings SET objections_until = $1 WHERE tender_id = $2", "si",
                 until, c->t.id) != 0)
        return -1;
    json_object_set_new(c->audit_after, "objections_until", json_string(until));
    return event(c, "objections_opened",
                 json_pack("{s:s,s:i}", "objections_until", until, "minutes", minutes), e);
}

static int act_object(act_ctx *c, err *e) {
    if (c->now > iso_time(c->h.objections_until))
        return err_set(e, 409, "window_closed", "", "异议时间已结束（%s）", c->h.objections_until);
    int64_t mine = 0;
    if (db_query_int(c->d, e, &mine,
                     "SELECT COUNT(*) FROM bids WHERE tender_id = $1 AND company_id = $2 AND "
                     "status IN ('opened', 'invalid', 'not_decrypted')",
                     "ii", c->t.id, c->a->company_id) < 0)
        return -1;
    if (!mine) return err_forbidden(e, "只有本项目的投标人可以提出异议");
    const char *text = NULL;
    if (text_field(c->in, "text", &text, e) != 0) return -1;
    int64_t n = 0;
    if (db_query_int(c->d, e, &n,
                     "SELECT COUNT(*) FROM trade_objections WHERE tender_id = $1 AND "
                     "company_id = $2 AND phase = 'opening'",
                     "ii", c->t.id, c->a->company_id) < 0)
        return -1;
    if (n >= 20) return err_set(e, 429, "too_many", "text", "每家投标人最多提出 20 条异议");
    if (db_execf(c->d, e,
                 "INSERT INTO trade_objections (tender_id, phase, company_id, user_id, text, at) "
                 "VALUES ($1, 'opening', $2, $3, $4, $5)",
                 "iiiss", c->t.id, c->a->company_id, c->a->user_id, text, c->now_s) != 0)
        return -1;
    int64_t id = 0;
    if (db_query_int(
            c->d, e, &id,
            "SELECT MAX(id) FROM trade_objections WHERE tender_id = $1 AND company_id = $2", "ii",
            c->t.id, c->a->company_id) < 0)
        return -1;
    if (hall_lock(c, e) != 0) return -1;
    char name[TRADE_NAME_MAX + 1];
    if (company_name(c->d, c->a->company_id, name, sizeof(name), e) != 0) return -1;
    json_object_set_new(c->audit_after, "objection_id", json_integer(id));
    json_object_set_new(c->out, "objection_id", json_integer(id));
    return event(c, "objection",
                 json_pack("{s:I,s:s,s:s,s:s}", "id", (json_int_t)id, "company_name", name, "text",
                           text, "at", c->now_s),
                 e);
}

static int act_reply(act_ctx *c, err *e) {
    json_t *oid = c->in ? json_object_get(c->in, "objection_id") : NULL;
    if (!json_is_integer(oid)) return err_invalid(e, "objection_id", "请指定要答复的异议");
    const char *text = NULL;
    if (text_field(c->in, "text", &text, e) != 0) return -1;
    int64_t id = json_integer_value(oid);
    int64_t uid = c->a->user_id;
    if ((uid ? db_execf(c->d, e,
                        "UPDATE trade_objections SET reply = $1, replied_by = $2, replied_at = $3 "
                        "WHERE id = $4 AND tender_id = $5 AND phase = 'opening' AND reply IS NULL",
                        "sisii", text, uid, c->now_s, id, c->t.id)
             : db_execf(c->d, e,
                        "UPDATE trade_objections SET reply = $1, replied_at = $2 "
                        "WHERE id = $3 AND tender_id = $4 AND phase = 'opening' AND reply IS NULL",
                        "ssii", text, c->now_s, id, c->t.id)) != 0)
        return -1;
    if (db_changes(c->d) != 1) {
        int64_t there = 0;
        if (db_query_int(c->d, e, &there,
                         "SELECT COUNT(*) FROM trade_objections WHERE id = $1 AND tender_id = $2 "
                         "AND phase = 'opening'",
                         "ii", id, c->t.id) < 0)
            return -1;
        return there ? err_set(e, 409, "already_done", "objection_id", "该异议已答复")
                     : err_set(e, 404, "not_found", "objection_id", "没有这条异议");
    }
    if (hall_lock(c, e) != 0) return -1;
    json_object_set_new(c->audit_after, "objection_id", json_integer(id));
    return event(
        c, "reply",
        json_pack("{s:I,s:s,s:s}", "objection_id", (json_int_t)id, "text", text, "at", c->now_s),
        e);
}

static int write_record(const unsigned char *pdf, size_t len, const char *sha, err *e) {
    char dir[1024], path[1200], tmp[1300];
    if (trade_dir("openings", dir, sizeof(dir), e) != 0) return -1;
    snprintf(path, sizeof(path), "%s/%s.pdf", dir, sha);
    snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return err_internal(e, "无法保存开标记录");
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, pdf + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        off += (size_t)w;
    }
    int ok = off == len && fsync(fd) == 0;
    close(fd);
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return err_internal(e, "无法保存开标记录");
    }
    return 0;
}

static void sha256_hex(const unsigned char *p, size_t n, char out[65]) {
    unsigned char h[32];
    crypto_hash_sha256(h, p, n);
    sodium_bin2hex(out, 65, h, 32);
}

static int act_begin_confirm(act_ctx *c, err *e) {
    if (c->now <= iso_time(c->h.objections_until))
        return err_set(e, 409, "window_open", "", "异议时间尚未结束（至 %s）",
                       c->h.objections_until);
    int64_t open_obj = 0;
    if (count_of(c->d, e, &open_obj,
                 "SELECT COUNT(*) FROM trade_objections WHERE tender_id = $1 AND "
                 "phase = 'opening' AND reply IS NULL",
                 c->t.id) != 0)
        return -1;
    if (open_obj)
        return err_set(e, 409, "wrong_step", "status", "尚有 %lld 条异议未答复",
                       (long long)open_obj);
    if (hall_set(c, "confirming", e) != 0) return -1;
    unsigned char *pdf = NULL;
    size_t len = 0;
    if (opening_record_render(c->d, &c->t, &pdf, &len, e) != 0) return -1;
    char sha[65];
    sha256_hex(pdf, len, sha);
    int rc = write_record(pdf, len, sha, e);
    free(pdf);
    if (rc != 0) return -1;
    if (db_execf(c->d, e, "UPDATE openings SET record_sha256 = $1 WHERE tender_id = $2", "si", sha,
                 c->t.id) != 0)
        return -1;
    char confirm[200];
    opening_confirm_string(c->t.tender_no, sha, confirm, sizeof(confirm));
    json_object_set_new(c->audit_after, "record_sha256", json_string(sha));
    json_object_set_new(c->out, "record_sha256", json_string(sha));
    json_object_set_new(c->out, "confirm_string", json_string(confirm));
    return event(c, "confirm_started",
                 json_pack("{s:s,s:s,s:I}", "record_sha256", sha, "confirm_string", confirm, "size",
                           (json_int_t)len),
                 e);
}

static int act_confirm(act_ctx *c, err *e) {
    int yes = 0;
    if (signed_in(c->d, c->t.id, c->a->company_id, &yes, e) != 0) return -1;
    if (!yes) return err_forbidden(e, "只有签到的投标人确认开标记录");
    int64_t done = 0;
    if (db_query_int(c->d, e, &done,
                     "SELECT COUNT(*) FROM opening_confirmations WHERE tender_id = $1 AND "
                     "company_id = $2",
                     "ii", c->t.id, c->a->company_id) < 0)
        return -1;
    if (done) return err_set(e, 409, "already_done", "", "贵单位已确认开标记录");
    const char *sig = c->in ? jsonx_str(c->in, "signature") : NULL;
    if (!sig || !*sig || strlen(sig) > 4096)
        return err_invalid(e, "signature", "请提交对开标记录确认串的签名（base64）");
    json_t *cid = c->in ? json_object_get(c->in, "cert_id") : NULL;
    if (cid && !json_is_null(cid) && (!json_is_integer(cid) || json_integer_value(cid) <= 0))
        return err_invalid(e, "cert_id", "cert_id 无效");
    int64_t cert = 0;
    if (ca_user_cert(c->d, c->a->user_id, json_is_integer(cid) ? json_integer_value(cid) : 0, &cert,
                     e) != 0)
        return -1;
    char msg[200];
    opening_confirm_string(c->t.tender_no, c->h.record_sha256, msg, sizeof(msg));
    if (ca_verify_signature(c->d, cert, msg, strlen(msg), sig, e) != 0) return -1;
    if (db_execf(c->d, e,
                 "INSERT INTO opening_confirmations (tender_id, company_id, user_id, cert_id, "
                 "signature, at) VALUES ($1, $2, $3, $4, $5, $6)",
                 "iiiiss", c->t.id, c->a->company_id, c->a->user_id, cert, sig, c->now_s) != 0)
        return -1;
    if (hall_lock(c, e) != 0) return -1;
    char name[TRADE_NAME_MAX + 1];
    if (company_name(c->d, c->a->company_id, name, sizeof(name), e) != 0) return -1;
    json_object_set_new(c->audit_after, "cert_id", json_integer(cert));
    return event(c, "confirmed",
                 json_pack("{s:I,s:s,s:s}", "company_id", (json_int_t)c->a->company_id,
                           "company_name", name, "at", c->now_s),
                 e);
}

static int act_close(act_ctx *c, err *e) {
    proofs_key k;
    if (proofs_key_current(&k, e) != 0) return -1;
    char payload[200], sig[100], sigcol[160];
    opening_record_payload(c->t.tender_no, c->h.record_sha256, payload, sizeof(payload));
    proofs_sign(&k, payload, sig, sizeof(sig));
    snprintf(sigcol, sizeof(sigcol), "ed25519:%s:%s", k.key_id, sig);
    int rc = proofs_key_register(c->d, &k, e);
    char key_id[17];
    snprintf(key_id, sizeof(key_id), "%s", k.key_id);
    proofs_key_wipe(&k);
    if (rc != 0) return -1;
    if (hall_set(c, "closed", e) != 0) return -1;
    if (db_execf(c->d, e,
                 "UPDATE openings SET record_sig = $1, closed_at = $2 WHERE tender_id = $3", "ssi",
                 sigcol, c->now_s, c->t.id) != 0)
        return -1;
    int64_t opened = 0, confirmed = 0, signins = 0;
    if (count_of(c->d, e, &opened,
                 "SELECT COUNT(*) FROM bids WHERE tender_id = $1 AND status = 'opened'",
                 c->t.id) != 0 ||
        count_of(c->d, e, &confirmed,
                 "SELECT COUNT(*) FROM opening_confirmations WHERE tender_id = $1", c->t.id) != 0 ||
        count_of(c->d, e, &signins, "SELECT COUNT(*) FROM opening_signins WHERE tender_id = $1",
                 c->t.id) != 0)
        return -1;
    json_object_set_new(c->audit_after, "record_sig", json_string(sigcol));
    json_object_set_new(c->audit_after, "opened", json_integer(opened));
    if (event(c, "closed",
              json_pack("{s:s,s:s,s:s,s:I,s:I,s:I}", "record_sha256", c->h.record_sha256,
                        "record_sig", sig, "key_id", key_id, "opened", (json_int_t)opened,
                        "confirmed", (json_int_t)confirmed, "signins", (json_int_t)signins),
              e) != 0)
        return -1;
    if (opened < TRADE_MIN_VALID_BIDS) {
        /* 流标 through the tenders part, so every part writes the same notice. */
        const char *reason = TENDERS_FAIL_FEW_BIDS;
        if (tenders_fail(c->d, c->a, &c->t, reason, e) != 0) return -1;
        json_object_set_new(c->out, "tender_status", json_string("failed"));
        return event(c, "failed",
                     json_pack("{s:s,s:I}", "reason", reason, "opened", (json_int_t)opened), e);
    }
    if (trade_tender_set_status(c->d, c->a, &c->t, "evaluation", e) != 0) return -1;
    json_object_set_new(c->out, "tender_status", json_string("evaluation"));
    return 0;
}

int opening_act(db *d, const trade_actor *a, int64_t tender_id, const char *action, json_t *in,
                json_t **out, err *e) {
    if (out) *out = NULL;
    const action_rule *r = rule_find(action);
    if (!r) return err_set(e, 404, "not_found", "action", "没有这个开标操作");
    if (in && !json_is_object(in)) return err_invalid(e, "body", "请求体须为 JSON 对象");
    act_ctx c = {.d = d, .a = a, .in = in};
    /* Refusals that need no transaction come first. */
    if (tender_visible(d, a, tender_id, &c.t, e) != 0) return -1;
    if (r->who == HOST && !trade_actor_is_staff(a))
        return err_forbidden(e, "只有交易中心工作人员（主持人）可以%s", r->label);
    if (r->who == BIDDER && !is_bidder(a))
        return err_forbidden(e, "只有投标企业的用户可以%s", r->label);

    /* The backup path decrypts before the transaction (the key reconstruction has
     * its own records); the reveal is then part of the hall's transaction. */
    unsigned char *plain = NULL;
    size_t plain_len = 0;
    int64_t backup_bid = 0;
    const char *reason = NULL;
    if (!strcmp(action, "reveal")) {
        /* Decoding up to 64 MiB of base64 needs no lock: do it before the transaction. */
        const char *b64 = in ? jsonx_str(in, "plaintext_base64") : NULL;
        if (!b64) return err_invalid(e, "plaintext_base64", "请提交解密后的投标文件（base64）");
        if (b64_decode(b64, &plain, &plain_len, OPENING_PLAIN_MAX, e, "plaintext_base64") != 0)
            return -1;
    } else if (!strcmp(action, "backup_reveal")) {
        hall h0;
        if (hall_load(d, tender_id, &h0, e) != 0) return -1;
        int ok = !strcmp(h0.status, "decrypting") || !strcmp(h0.status, "announced");
        if (!ok) return wrong_step(e, &h0, r);
        json_t *bid = in ? json_object_get(in, "bid_id") : NULL;
        if (!json_is_integer(bid) || json_integer_value(bid) <= 0)
            return err_invalid(e, "bid_id", "请指定要备用解密的投标");
        backup_bid = json_integer_value(bid);
        reason = in ? jsonx_str(in, "reason") : NULL;
        if (!reason || !*reason || strlen(reason) > OPENING_REASON_MAX || text_chars(reason) < 0)
            return err_invalid(e, "reason", "请说明系统原因（不超过 %d 字节）", OPENING_REASON_MAX);
        const char **shares = NULL;
        int nshares = 0;
        if (shares_of(in, &shares, &nshares, e) != 0) return -1;
        int rc = backup_decrypt_bid(d, a, backup_bid, shares, nshares, &plain, &plain_len, e);
        free(shares);
        if (rc != 0) return -1;
    }

    c.plain = plain;
    c.plain_len = plain_len;
    c.out = json_object();
    c.audit_after = json_object();
    int rc = db_begin(d, e);
    if (rc == 0) rc = trade_tender_load(d, tender_id, &c.t, e);
    if (rc == 0) rc = hall_load(d, tender_id, &c.h, e);
    c.now = time_now();
    time_iso(c.now_s, sizeof(c.now_s), c.now);
    hall before = c.h;
    if (rc == 0) {
        int allowed = 0;
        for (int i = 0; i < 3 && r->from[i]; i++)
            if (!strcmp(r->from[i], c.h.status)) allowed = 1;
        /* A tender whose opening was never started but whose status moved on (cancelled). */
        if (allowed && strcmp(action, "start") != 0 && strcmp(c.t.status, "opening") != 0)
            rc = err_set(e, 409, "wrong_step", "status", "项目处于「%s」状态，开标不能继续",
                         trade_status_label(c.t.status));
        else if (!allowed)
            rc = wrong_step(e, &c.h, r);
    }
    if (rc == 0) {
        if (!strcmp(action, "start"))
            rc = act_start(&c, e);
        else if (!strcmp(action, "signin"))
            rc = act_signin(&c, e);
        else if (!strcmp(action, "begin_decrypt"))
            rc = act_begin_decrypt(&c, e);
        else if (!strcmp(action, "reveal"))
            rc = act_reveal(&c, e);
        else if (!strcmp(action, "backup_reveal"))
            rc = act_backup_reveal(&c, plain, plain_len, backup_bid, reason, e);
        else if (!strcmp(action, "close_decrypt"))
            rc = act_close_decrypt(&c, e);
        else if (!strcmp(action, "open_objections"))
            rc = act_open_objections(&c, e);
        else if (!strcmp(action, "object"))
            rc = act_object(&c, e);
        else if (!strcmp(action, "reply"))
            rc = act_reply(&c, e);
        else if (!strcmp(action, "begin_confirm"))
            rc = act_begin_confirm(&c, e);
        else if (!strcmp(action, "confirm"))
            rc = act_confirm(&c, e);
        else
            rc = act_close(&c, e);
    }
    if (plain) {
        sodium_memzero(plain, plain_len);
        free(plain);
    }
    if (rc == 0) {
        char id[24], act[48];
        snprintf(id, sizeof(id), "%lld", (long long)tender_id);
        snprintf(act, sizeof(act), "opening.%s", action);
        json_t *bj = json_pack("{s:s}", "status", before.status);
        json_object_set_new(c.audit_after, "status", json_string(c.h.status));
        rc = audit_record(d, &a->audit, act, "opening", id, bj, c.audit_after, e);
        json_decref(bj);
    }
    if (rc == 0) rc = db_commit(d, e);
    json_decref(c.audit_after);
    if (rc != 0) {
        db_rollback(d);
        trade_event_discard();
        json_decref(c.out);
        return -1;
    }
    trade_event_flush();
    json_object_set_new(c.out, "status", json_string(c.h.status));
    json_object_set_new(c.out, "step_label", json_string(step_label(c.h.status)));
    if (out)
        *out = c.out;
    else
        json_decref(c.out);
    return 0;
}

/* ---- reading the hall ---- */

static json_t *rows(db *d, err *e, const char *sql, int64_t tender_id) {
    db_stmt *s = db_query(d, e, sql, "i", tender_id);
    if (!s) return NULL;
    return db_rows_json(s, 100000, e);
}

static void money_fields(json_t *o, const char *key) {
    char k2[40], buf[40];
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v)) return;
    snprintf(k2, sizeof(k2), "%.*s", (int)(strlen(key) - 4), key); /* strip "_fen" */
    json_object_set_new(o, k2,
                        json_string(trade_money_str(json_integer_value(v), buf, sizeof(buf))));
}

/* The caller's own position (a bidder's company): signed in, its bid, confirmed. A
 * company's own bid is its own business before the opening too. */
static int me_bidder(db *d, const trade_actor *a, int64_t tender_id, json_t *me, err *e) {
    int yes = 0;
    int64_t bid = 0, conf = 0;
    if (signed_in(d, tender_id, a->company_id, &yes, e) != 0) return -1;
    json_object_set_new(me, "company_id", json_integer(a->company_id));
    json_object_set_new(me, "signed_in", json_boolean(yes));
    db_stmt *s = db_query(d, e,
                          "SELECT id, status FROM bids WHERE tender_id = $1 AND "
                          "company_id = $2 AND status IN ('sealed', 'opened', 'invalid', "
                          "'not_decrypted') ORDER BY seq DESC LIMIT 1",
                          "ii", tender_id, a->company_id);
    if (!s) return -1;
    if (db_step(s) == DB_ROW) {
        bid = db_column_int64(s, 0);
        json_object_set_new(
            me, "bid",
            json_pack("{s:I,s:s}", "id", (json_int_t)bid, "status", db_column_text(s, 1)));
    } else {
        json_object_set_new(me, "bid", json_null());
    }
    db_reset(s);
    if (db_query_int(d, e, &conf,
                     "SELECT COUNT(*) FROM opening_confirmations WHERE tender_id = $1 AND "
                     "company_id = $2",
                     "ii", tender_id, a->company_id) < 0)
        return -1;
    json_object_set_new(me, "confirmed", json_boolean(conf > 0));
    return 0;
}

json_t *opening_get(db *d, const trade_actor *a, int64_t tender_id, err *e) {
    trade_tender t;
    if (tender_visible(d, a, tender_id, &t, e) != 0) return NULL;
    hall h;
    if (hall_load(d, tender_id, &h, e) != 0) return NULL;
    int64_t now = time_now();
    char buf[40], deadline[32], now_s[32];
    time_iso(deadline, sizeof(deadline), t.deadline_at);
    time_iso(now_s, sizeof(now_s), now);
    json_t *tj = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I}", "id", (json_int_t)t.id,
                           "tender_no", t.tender_no, "title", t.title, "kind", t.kind, "kind_label",
                           trade_kind_label(t.kind), "method", t.method, "method_label",
                           trade_method_label(t.method), "buyer", t.buyer, "status", t.status,
                           "status_label", trade_status_label(t.status), "budget_fen",
                           (json_int_t)t.budget_fen);
    json_object_set_new(tj, "budget", json_string(trade_money_str(t.budget_fen, buf, sizeof(buf))));
    json_object_set_new(tj, "deadline_at", json_string(deadline));
    json_object_set_new(tj, "benchmark_factor",
                        t.benchmark_factor > 0 && h.exists && strcmp(h.status, "signin") &&
                                strcmp(h.status, "decrypting")
                            ? json_real(t.benchmark_factor)
                            : json_null());
    json_t *o = json_pack("{s:o,s:s,s:s,s:s}", "tender", tj, "status", h.status, "step_label",
                          step_label(h.status), "now", now_s);
    json_t *steps_j = json_array();
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
        json_array_append_new(
            steps_j, json_pack("{s:s,s:s}", "status", steps[i].status, "label", steps[i].label));
    json_object_set_new(o, "steps", steps_j);
    json_object_set_new(o, "started_at", jsonx_str_or_null(h.started_at[0] ? h.started_at : NULL));
    json_object_set_new(o, "decrypt_until",
                        jsonx_str_or_null(h.decrypt_until[0] ? h.decrypt_until : NULL));
    json_object_set_new(o, "objections_until",
                        jsonx_str_or_null(h.objections_until[0] ? h.objections_until : NULL));
    json_object_set_new(o, "closed_at", jsonx_str_or_null(h.closed_at[0] ? h.closed_at : NULL));
    /* The countdown the page shows: to the opening, the end of decryption or of objections. */
    const char *target = NULL, *target_label = NULL;
    if (!strcmp(h.status, "waiting") && !strcmp(t.status, "announced"))
        target = deadline, target_label = "距开标";
    else if (!strcmp(h.status, "decrypting"))
        target = h.decrypt_until, target_label = "解密剩余";
    else if (!strcmp(h.status, "objections"))
        target = h.objections_until, target_label = "异议剩余";
    json_object_set_new(o, "countdown",
                        target ? json_pack("{s:s,s:s}", "until", target, "label", target_label)
                               : json_null());

    int started = h.exists && strcmp(h.status, "waiting") != 0;
    int64_t last_seq = 0;
    if (db_query_int(d, e, &last_seq,
                     "SELECT COALESCE(MAX(seq), 0) FROM opening_events WHERE tender_id = $1", "i",
                     tender_id) < 0)
        goto fail;
    json_object_set_new(o, "last_seq", json_integer(last_seq));
    json_t *me = json_object();
    json_object_set_new(o, "me", me);
    const char *role = "watcher";
    if (a && trade_actor_is_staff(a))
        role = "host";
    else if (is_bidder(a))
        role = "bidder";
    json_object_set_new(me, "role", json_string(role));
    if (is_bidder(a) && me_bidder(d, a, tender_id, me, e) != 0) goto fail;
    if (!started) {
        /* Before the opening nobody sees who bid (not even staff). */
        json_object_set_new(o, "signins", json_array());
        json_object_set_new(o, "bids", json_array());
        json_object_set_new(o, "objections", json_array());
        json_object_set_new(o, "confirmations", json_array());
        json_object_set_new(o, "record", json_null());
        return o;
    }
    json_t *v = rows(d, e,
                     "SELECT s.company_id, c.name AS company_name, s.at FROM opening_signins s "
                     "JOIN trade_companies c ON c.id = s.company_id WHERE s.tender_id = $1 "
                     "ORDER BY s.at, s.company_id",
                     tender_id);
    if (!v) goto fail;
    json_object_set_new(o, "signins", v);
    v = rows(d, e,
             "SELECT b.id AS bid_id, b.company_id, c.name AS company_name, c.uscc, b.status, "
             "b.price_fen, b.duration_days, b.quality, b.project_manager, b.deposit_ref, "
             "b.decrypted_at, b.decrypted_via AS via, b.invalid_reason FROM bids b "
             "JOIN trade_companies c ON c.id = b.company_id WHERE b.tender_id = $1 AND "
             "b.status IN ('opened', 'invalid', 'not_decrypted') ORDER BY b.decrypted_at IS NULL, "
             "b.decrypted_at, b.id",
             tender_id);
    if (!v) goto fail;
    size_t i;
    json_t *b;
    json_array_foreach(v, i, b) money_fields(b, "price_fen");
    json_object_set_new(o, "bids", v);
    int64_t sealed = 0;
    if (count_of(d, e, &sealed,
                 "SELECT COUNT(*) FROM bids WHERE tender_id = $1 AND status = 'sealed'",
                 tender_id) != 0)
        goto fail;
    json_object_set_new(o, "sealed_count", json_integer(sealed));
    /* Bids kept sealed for the backup path (after close_decrypt): the host needs their ids. */
    if (a && trade_actor_is_staff(a)) {
        v = rows(d, e,
                 "SELECT b.id AS bid_id, c.name AS company_name, b.to_backup FROM bids b "
                 "JOIN trade_companies c ON c.id = b.company_id WHERE b.tender_id = $1 AND "
                 "b.status = 'sealed' ORDER BY b.id",
                 tender_id);
        if (!v) goto fail;
        json_object_set_new(o, "sealed", v);
    }
    v = rows(d, e,
             "SELECT o.id, o.company_id, c.name AS company_name, o.text, o.at, o.reply, "
             "o.replied_at FROM trade_objections o LEFT JOIN trade_companies c ON "
             "c.id = o.company_id WHERE o.tender_id = $1 AND o.phase = 'opening' ORDER BY o.id",
             tender_id);
    if (!v) goto fail;
    json_object_set_new(o, "objections", v);
    v = rows(d, e,
             "SELECT f.company_id, c.name AS company_name, f.at FROM opening_confirmations f "
             "JOIN trade_companies c ON c.id = f.company_id WHERE f.tender_id = $1 ORDER BY f.at",
             tender_id);
    if (!v) goto fail;
    json_object_set_new(o, "confirmations", v);
    if (h.record_sha256[0]) {
        char confirm[200];
        opening_confirm_string(t.tender_no, h.record_sha256, confirm, sizeof(confirm));
        json_t *rj = json_pack("{s:s,s:s}", "sha256", h.record_sha256, "confirm_string", confirm);
        char url[96];
        snprintf(url, sizeof(url), "/api/v1/trade/tenders/%lld/hall/record.pdf",
                 (long long)tender_id);
        json_object_set_new(rj, "url", json_string(url));
        if (h.record_sig[0]) {
            /* "ed25519:<key_id>:<sig>" */
            const char *p1 = strchr(h.record_sig, ':');
            const char *p2 = p1 ? strchr(p1 + 1, ':') : NULL;
            if (p2) {
                char payload[200];
                json_object_set_new(rj, "key_id", json_stringn(p1 + 1, (size_t)(p2 - p1 - 1)));
                json_object_set_new(rj, "signature", json_string(p2 + 1));
                json_object_set_new(rj, "signed_payload",
                                    json_string(opening_record_payload(t.tender_no, h.record_sha256,
                                                                       payload, sizeof(payload))));
            }
        }
        json_object_set_new(o, "record", rj);
    } else {
        json_object_set_new(o, "record", json_null());
    }
    return o;
fail:
    json_decref(o);
    return NULL;
}

int opening_visible(db *d, const trade_actor *a, int64_t tender_id, err *e) {
    trade_tender t;
    return tender_visible(d, a, tender_id, &t, e);
}

json_t *opening_events(db *d, const trade_actor *a, int64_t tender_id, int64_t after, int limit,
                       err *e) {
    trade_tender t;
    if (tender_visible(d, a, tender_id, &t, e) != 0) return NULL;
    return trade_events_since(d, tender_id, after, limit, e);
}

int opening_record_get(db *d, const trade_actor *a, int64_t tender_id, unsigned char **out,
                       size_t *len, char *sha, char *sig, size_t sig_n, err *e) {
    *out = NULL;
    *len = 0;
    trade_tender t;
    if (tender_visible(d, a, tender_id, &t, e) != 0) return -1;
    hall h;
    if (hall_load(d, tender_id, &h, e) != 0) return -1;
    if (!h.record_sha256[0]) return err_notfound(e, "开标记录尚未生成");
    char dir[1024], path[1200];
    if (trade_dir("openings", dir, sizeof(dir), e) != 0) return -1;
    snprintf(path, sizeof(path), "%s/%s.pdf", dir, h.record_sha256);
    FILE *f = fopen(path, "rb");
    if (!f) return err_internal(e, "开标记录文件缺失");
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size <= 0 || st.st_size > OPENING_RECORD_MAX) {
        fclose(f);
        return err_internal(e, "开标记录文件大小异常");
    }
    unsigned char *buf = malloc((size_t)st.st_size);
    if (!buf) {
        fclose(f);
        return err_internal(e, "内存不足");
    }
    size_t n = fread(buf, 1, (size_t)st.st_size, f);
    fclose(f);
    char got[65];
    sha256_hex(buf, n, got);
    if (strcmp(got, h.record_sha256) != 0) {
        free(buf);
        return err_internal(e, "开标记录文件与登记的摘要不符");
    }
    snprintf(sha, 65, "%s", h.record_sha256);
    snprintf(sig, sig_n, "%s", h.record_sig);
    *out = buf;
    *len = n;
    return 0;
}
