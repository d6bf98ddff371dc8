/* catalog: validation, canonical form, import/export, queries and staff edits
 * of the service catalog (see catalog.h).
 *
 * Import runs in three phases so that the write lock is held only for the
 * writes: (1) licences.json, then items.jsonl line by line, then bundles.json
 * are parsed and validated in memory (each item is reduced to its canonical
 * text and the column values, so memory stays near the file size); (2) in one
 * transaction licences, items and bundles are upserted in that order, bundle
 * references are checked against the database, and the one audit row is
 * written; (3) commit. Any error rolls everything back.
 *
 * The canonical text of an item is jansson's default dump (", " and ": "
 * separators, UTF-8 unescaped) of the object rebuilt in the README's key order
 * with whole day counts as integers — which is exactly the layout of the
 * shipped items.jsonl, so exporting the shipped catalog gives its lines back.
 *
 * Validation problems are collected as (field path, problem) so that the API
 * can answer "字段“materials[2].form”…" and the import "items.jsonl line N:
 * field materials[2].form: …" from the same check. Quoted input in messages is
 * cut short on a UTF-8 boundary so that every message stays valid UTF-8.
 *
 * This file must never build SQL from input: every value is a bound parameter. */
#include "catalog/catalog.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/arena.h"
#include "base/jsonx.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "base/xmalloc.h"

/* ---- the schema's vocabularies (README.md of data/catalog) ---- */

static const char *const areas[] = {"330900", "330902", "330903", "330921", "330922", NULL};
static const char *const item_types[] = {"行政许可", "行政确认",     "行政给付", "行政裁决",
                                         "行政奖励", "其他行政权力", "公共服务", NULL};
static const char *const levels[] = {"市级", "区县级", "乡镇（街道）级", "村（社区）级", NULL};
static const char *const handle_places[] = {"市行政服务中心",
                                            "区县行政服务中心",
                                            "乡镇（街道）便民服务中心",
                                            "村（社区）便民服务站",
                                            "浙里办",
                                            "帮办代办",
                                            NULL};
/* The order of scopes matches the three scope_* columns. */
static const char *const scopes[] = {"跨省通办", "全省通办", "甬舟通办", NULL};
static const char *const material_forms[] = {"原件", "复印件", "电子证照", "表格", NULL};
static const char *const material_sources[] = {"申请人自备", "政府部门核发", "窗口领取",
                                               "告知承诺书", NULL};
static const char *const trust_levels[] = {"A", "B", NULL};

/* Keys of an item, a material, a FAQ entry, a bundle and a licence in file order. */
static const char *const item_keys[] = {
    "code",         "name",     "type",         "department", "level", "handle_at",  "legal_days",
    "promise_days", "fee",      "online_depth", "visits",     "scope", "commitment", "instant",
    "conditions",   "process",  "basis",        "place",      "hours", "phone",      "result",
    "materials",    "keywords", "faq",          NULL};
static const char *const material_keys[] = {"name",   "required", "form", "copies",
                                            "source", "licence",  NULL};
static const char *const faq_keys[] = {"q", "a", NULL};
static const char *const bundle_keys[] = {"code",          "name",        "items", "parallel",
                                          "promise_hours", "description", NULL};
static const char *const licence_keys[] = {"type", "issuer", "id_pattern", "trust_level", NULL};

/* Size limits of single values (UTF-8 bytes or list items). */
#define MAX_DAYS        365.0
#define MAX_COPIES      99
#define MAX_HANDLE_AT   6
#define MAX_PROCESS     50
#define MAX_MATERIALS   100
#define MAX_KEYWORDS    32
#define MAX_FAQ         50
#define MAX_PROMISE_HRS 100000
#define ITEM_MAX_DEPTH  8

static int in_set(const char *s, const char *const *set) {
    if (!s) return 0;
    for (; *set; set++)
        if (strcmp(s, *set) == 0) return 1;
    return 0;
}

/* "a、b、c" of a vocabulary, for messages. */
static const char *set_text(const char *const *set, char *buf, size_t n) {
    size_t o = 0;
    buf[0] = '\0';
    for (; *set && o < n; set++) {
        int w = snprintf(buf + o, n - o, "%s%s", o ? "、" : "", *set);
        if (w < 0) break;
        o += (size_t)w;
    }
    return buf;
}

int catalog_area_valid(const char *s) {
    return in_set(s, areas);
}

int catalog_type_valid(const char *s) {
    return in_set(s, item_types);
}

int catalog_code_valid(const char *s) {
    if (!s || strlen(s) < 6 + 1 + 2 + 1 + 6) return 0;
    char area[7];
    memcpy(area, s, 6);
    area[6] = '\0';
    if (!in_set(area, areas) || s[6] != '-') return 0;
    const char *p = s + 7;
    size_t letters = 0;
    while (p[letters] >= 'A' && p[letters] <= 'Z')
        letters++;
    if (letters < 2 || letters > 8 || p[letters] != '-') return 0;
    p += letters + 1;
    for (int i = 0; i < 6; i++)
        if (p[i] < '0' || p[i] > '9') return 0;
    return p[6] == '\0';
}

/* ---- UTF-8-safe messages ---- */

/* Cut s (NUL-terminated) back to the last complete UTF-8 sequence. */
static void utf8_trim_tail(char *s) {
    size_t n = strlen(s);
    size_t i = n;
    /* Walk back over at most 3 continuation bytes to the lead byte. */
    while (i > 0 && n - i < 4 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
        i--;
    if (i == 0) return;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t need = lead < 0x80 ? 1 : (lead & 0xe0) == 0xc0 ? 2 : (lead & 0xf0) == 0xe0 ? 3 : 4;
    if (n - (i - 1) < need) s[i - 1] = '\0';
}

/* Copy at most max bytes of s into out (size > max) without splitting a character;
 * "…" marks a cut. */
static const char *clip(const char *s, char *out, size_t outsz, size_t max) {
    if (!s) s = "";
    size_t n = strlen(s);
    if (n <= max && n < outsz) {
        memcpy(out, s, n + 1);
        return out;
    }
    if (max + 4 > outsz) max = outsz > 4 ? outsz - 4 : 0;
    memcpy(out, s, max);
    out[max] = '\0';
    utf8_trim_tail(out);
    size_t l = strlen(out);
    memcpy(out + l, "…", sizeof("…"));
    return out;
}

/* err_set, then make sure field and message are valid UTF-8 after truncation. */
static int fail(err *e, int status, const char *code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int fail(err *e, int status, const char *code, const char *field, const char *fmt, ...) {
    if (!e) return -1;
    char msg[sizeof(e->message)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    err_set(e, status, code, field, "%s", msg);
    utf8_trim_tail(e->message);
    utf8_trim_tail(e->field);
    return -1;
}

/* ---- validation ---- */

/* The first problem found: where and what. */
typedef struct vfail {
    char field[64];
    char problem[256];
} vfail;

static int bad(vfail *v, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(vfail *v, const char *field, const char *fmt, ...) {
    snprintf(v->field, sizeof(v->field), "%s", field);
    utf8_trim_tail(v->field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->problem, sizeof(v->problem), fmt, ap);
    va_end(ap);
    utf8_trim_tail(v->problem);
    return -1;
}

/* Optional lookup of licence type names for material checks. */
typedef struct licence_check {
    int (*known)(void *ctx, const char *type); /* 1 known, 0 unknown, -1 error */
    void *ctx;
    const char *where; /* "licences.json" or "证照库" for messages */
} licence_check;

enum text_kind { ONE_LINE, MULTI_LINE };

/* A string member: type, size, control characters, emptiness. */
static int check_text(json_t *v, const char *path, size_t min, size_t max, enum text_kind kind,
                      vfail *f) {
    if (!json_is_string(v)) return bad(f, path, "须为字符串");
    size_t n = json_string_length(v);
    const unsigned char *s = (const unsigned char *)json_string_value(v);
    if (n < min) return bad(f, path, "不能为空");
    if (n > max) return bad(f, path, "超过 %zu 字节", max);
    for (size_t i = 0; i < n; i++) {
        unsigned c = s[i];
        if (c == 0x7f || (c < 0x20 && !(kind == MULTI_LINE && (c == '\n' || c == '\t'))))
            return bad(f, path, kind == MULTI_LINE ? "含有控制字符" : "含有换行或控制字符");
    }
    return 0;
}

static int check_enum(json_t *v, const char *path, const char *const *set, vfail *f) {
    if (!json_is_string(v)) return bad(f, path, "须为字符串");
    if (!in_set(json_string_value(v), set)) {
        char list[400];
        return bad(f, path, "须为以下之一：%s", set_text(set, list, sizeof(list)));
    }
    return 0;
}

/* An array of distinct vocabulary strings with min..max entries. */
static int check_enum_list(json_t *v, const char *path, const char *const *set, size_t min,
                           size_t max, vfail *f) {
    if (!json_is_array(v)) return bad(f, path, "须为数组");
    size_t n = json_array_size(v);
    if (n < min) return bad(f, path, "至少需要 %zu 项", min);
    if (n > max) return bad(f, path, "超过 %zu 项", max);
    for (size_t i = 0; i < n; i++) {
        char p[64];
        snprintf(p, sizeof(p), "%s[%zu]", path, i);
        if (check_enum(json_array_get(v, i), p, set, f) != 0) return -1;
        for (size_t k = 0; k < i; k++)
            if (json_equal(json_array_get(v, k), json_array_get(v, i)))
                return bad(f, p, "与第 %zu 项重复", k + 1);
    }
    return 0;
}

static int check_text_list(json_t *v, const char *path, size_t max_items, size_t max_len, vfail *f,
                           int distinct) {
    if (!json_is_array(v)) return bad(f, path, "须为数组");
    size_t n = json_array_size(v);
    if (n > max_items) return bad(f, path, "超过 %zu 项", max_items);
    for (size_t i = 0; i < n; i++) {
        char p[64];
        snprintf(p, sizeof(p), "%s[%zu]", path, i);
        if (check_text(json_array_get(v, i), p, 1, max_len, ONE_LINE, f) != 0) return -1;
        for (size_t k = 0; distinct && k < i; k++)
            if (json_equal(json_array_get(v, k), json_array_get(v, i)))
                return bad(f, p, "与第 %zu 项重复", k + 1);
    }
    return 0;
}

static int check_int(json_t *v, const char *path, long long min, long long max, vfail *f) {
    if (!json_is_integer(v)) return bad(f, path, "须为整数");
    long long x = (long long)json_integer_value(v);
    if (x < min || x > max) return bad(f, path, "须在 %lld 到 %lld 之间", min, max);
    return 0;
}

/* Working days: 0..MAX_DAYS in steps of half a day. */
static int check_days(json_t *v, const char *path, vfail *f) {
    if (!json_is_number(v)) return bad(f, path, "须为数字（工作日）");
    double x = json_number_value(v);
    if (!isfinite(x) || x < 0 || x > MAX_DAYS) return bad(f, path, "须在 0 到 %.0f 之间", MAX_DAYS);
    if (x * 2 != floor(x * 2)) return bad(f, path, "须为半天（0.5）的整数倍");
    return 0;
}

static int check_bool(json_t *v, const char *path, vfail *f) {
    if (!json_is_boolean(v)) return bad(f, path, "须为 true 或 false");
    return 0;
}

/* Every key of obj must be in keys; every key in keys but those in optional must be
 * present (null counts as absent unless the key is optional). prefix is the path of obj
 * ("" for the item itself, "materials[2]"). */
static int check_keys(json_t *obj, const char *prefix, const char *const *keys,
                      const char *optional, vfail *f) {
    const char *k;
    json_t *v;
    char p[64];
    json_object_foreach(obj, k, v) {
        if (!in_set(k, keys)) {
            char shown[48];
            clip(k, shown, sizeof(shown), 40);
            snprintf(p, sizeof(p), "%s%s%s", prefix, *prefix ? "." : "", shown);
            return bad(f, p, "未知字段");
        }
    }
    for (const char *const *key = keys; *key; key++) {
        if (optional && strcmp(*key, optional) == 0) continue;
        json_t *x = json_object_get(obj, *key);
        if (!x || json_is_null(x)) {
            snprintf(p, sizeof(p), "%s%s%s", prefix, *prefix ? "." : "", *key);
            return bad(f, p, "缺少此字段");
        }
    }
    return 0;
}

static int check_material(json_t *m, size_t i, const licence_check *lic, vfail *f) {
    char base[32], p[64];
    snprintf(base, sizeof(base), "materials[%zu]", i);
    if (!json_is_object(m)) return bad(f, base, "须为对象");
    if (check_keys(m, base, material_keys, "licence", f) != 0) return -1;
#define PATH(k) (snprintf(p, sizeof(p), "%s.%s", base, (k)), p)
    if (check_text(json_object_get(m, "name"), PATH("name"), 1, 512, ONE_LINE, f) != 0 ||
        check_bool(json_object_get(m, "required"), PATH("required"), f) != 0 ||
        check_enum(json_object_get(m, "form"), PATH("form"), material_forms, f) != 0 ||
        check_int(json_object_get(m, "copies"), PATH("copies"), 0, MAX_COPIES, f) != 0 ||
        check_enum(json_object_get(m, "source"), PATH("source"), material_sources, f) != 0)
        return -1;
    json_t *l = json_object_get(m, "licence");
    if (l && !json_is_null(l)) {
        if (check_text(l, PATH("licence"), 1, 128, ONE_LINE, f) != 0) return -1;
        if (lic && lic->known) {
            int k = lic->known(lic->ctx, json_string_value(l));
            if (k < 0) return bad(f, PATH("licence"), "无法查询证照类型");
            if (k == 0) {
                char shown[80];
                return bad(f, PATH("licence"), "证照类型“%s”不在%s中",
                           clip(json_string_value(l), shown, sizeof(shown), 60), lic->where);
            }
        }
    }
#undef PATH
    return 0;
}

static int check_faq(json_t *q, size_t i, vfail *f) {
    char base[32], p[64];
    snprintf(base, sizeof(base), "faq[%zu]", i);
    if (!json_is_object(q)) return bad(f, base, "须为对象");
    if (check_keys(q, base, faq_keys, NULL, f) != 0) return -1;
    snprintf(p, sizeof(p), "%s.q", base);
    if (check_text(json_object_get(q, "q"), p, 1, 1024, MULTI_LINE, f) != 0) return -1;
    snprintf(p, sizeof(p), "%s.a", base);
    return check_text(json_object_get(q, "a"), p, 1, 8192, MULTI_LINE, f);
}

/* The whole item. lic may be NULL (no licence check). */
static int validate_item(json_t *it, const licence_check *lic, vfail *f) {
    if (!json_is_object(it)) return bad(f, "", "须为 JSON 对象");
    if (check_keys(it, "", item_keys, NULL, f) != 0) return -1;
    json_t *code = json_object_get(it, "code");
    if (!json_is_string(code)) return bad(f, "code", "须为字符串");
    if (!catalog_code_valid(json_string_value(code)))
        return bad(f, "code",
                   "须为“区划-部门-六位数字”，如 330900-GA-100001（区划为 330900、330902、"
                   "330903、330921、330922 之一）");
    if (check_text(json_object_get(it, "name"), "name", 1, 256, ONE_LINE, f) != 0 ||
        check_enum(json_object_get(it, "type"), "type", item_types, f) != 0 ||
        check_text(json_object_get(it, "department"), "department", 1, 128, ONE_LINE, f) != 0 ||
        check_enum(json_object_get(it, "level"), "level", levels, f) != 0 ||
        check_enum_list(json_object_get(it, "handle_at"), "handle_at", handle_places, 1,
                        MAX_HANDLE_AT, f) != 0 ||
        check_days(json_object_get(it, "legal_days"), "legal_days", f) != 0 ||
        check_days(json_object_get(it, "promise_days"), "promise_days", f) != 0)
        return -1;
    double legal = json_number_value(json_object_get(it, "legal_days"));
    double promise = json_number_value(json_object_get(it, "promise_days"));
    if (legal > 0 && promise > legal) return bad(f, "promise_days", "承诺时限不能超过法定时限");
    if (check_text(json_object_get(it, "fee"), "fee", 1, 1024, ONE_LINE, f) != 0 ||
        check_int(json_object_get(it, "online_depth"), "online_depth", 1, 4, f) != 0 ||
        check_int(json_object_get(it, "visits"), "visits", 0, 2, f) != 0 ||
        check_enum_list(json_object_get(it, "scope"), "scope", scopes, 0, 3, f) != 0 ||
        check_bool(json_object_get(it, "commitment"), "commitment", f) != 0 ||
        check_bool(json_object_get(it, "instant"), "instant", f) != 0 ||
        check_text(json_object_get(it, "conditions"), "conditions", 0, 8192, MULTI_LINE, f) != 0)
        return -1;
    json_t *process = json_object_get(it, "process");
    if (!json_is_array(process)) return bad(f, "process", "须为数组");
    if (json_array_size(process) > MAX_PROCESS) return bad(f, "process", "超过 %d 项", MAX_PROCESS);
    for (size_t i = 0; i < json_array_size(process); i++) {
        char p[32];
        snprintf(p, sizeof(p), "process[%zu]", i);
        if (check_text(json_array_get(process, i), p, 1, 2048, MULTI_LINE, f) != 0) return -1;
    }
    if (check_text(json_object_get(it, "basis"), "basis", 0, 4096, MULTI_LINE, f) != 0 ||
        check_text(json_object_get(it, "place"), "place", 0, 2048, MULTI_LINE, f) != 0 ||
        check_text(json_object_get(it, "hours"), "hours", 0, 1024, MULTI_LINE, f) != 0 ||
        check_text(json_object_get(it, "phone"), "phone", 0, 128, ONE_LINE, f) != 0 ||
        check_text(json_object_get(it, "result"), "result", 0, 1024, MULTI_LINE, f) != 0)
        return -1;
    json_t *materials = json_object_get(it, "materials");
    if (!json_is_array(materials)) return bad(f, "materials", "须为数组");
    if (json_array_size(materials) > MAX_MATERIALS)
        return bad(f, "materials", "超过 %d 项", MAX_MATERIALS);
    for (size_t i = 0; i < json_array_size(materials); i++)
        if (check_material(json_array_get(materials, i), i, lic, f) != 0) return -1;
    if (check_text_list(json_object_get(it, "keywords"), "keywords", MAX_KEYWORDS, 64, f, 1) != 0)
        return -1;
    json_t *faq = json_object_get(it, "faq");
    if (!json_is_array(faq)) return bad(f, "faq", "须为数组");
    if (json_array_size(faq) > MAX_FAQ) return bad(f, "faq", "超过 %d 项", MAX_FAQ);
    for (size_t i = 0; i < json_array_size(faq); i++)
        if (check_faq(json_array_get(faq, i), i, f) != 0) return -1;
    return 0;
}

/* ---- canonical form ---- */

/* Whole numbers as integers, so that 20 and 20.0 are the same item. */
static json_t *days_json(double x) {
    if (x == floor(x) && fabs(x) < 1e15) return json_integer((json_int_t)x);
    return json_real(x);
}

/* A copy of obj with exactly keys, in that order (absent ones as null). */
static json_t *ordered(json_t *obj, const char *const *keys) {
    json_t *o = json_object();
    for (const char *const *k = keys; *k; k++) {
        json_t *v = json_object_get(obj, *k);
        json_object_set_new(o, *k, v ? json_deep_copy(v) : json_null());
    }
    return o;
}

/* The canonical object of a validated item. The caller owns it. */
static json_t *canonical_object(json_t *it) {
    json_t *o = ordered(it, item_keys);
    json_object_set_new(o, "legal_days",
                        days_json(json_number_value(json_object_get(it, "legal_days"))));
    json_object_set_new(o, "promise_days",
                        days_json(json_number_value(json_object_get(it, "promise_days"))));
    json_t *materials = json_array();
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(it, "materials"), i, m)
        json_array_append_new(materials, ordered(m, material_keys));
    json_object_set_new(o, "materials", materials);
    json_t *faq = json_array();
    json_array_foreach(json_object_get(it, "faq"), i, m)
        json_array_append_new(faq, ordered(m, faq_keys));
    json_object_set_new(o, "faq", faq);
    return o;
}

/* Canonical text of a validated item; NULL (with f filled) when it is too long. */
static char *canonical_text(json_t *it, vfail *f) {
    json_t *o = canonical_object(it);
    char *s = json_dumps(o, JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!s) abort(); /* only on out-of-memory */
    if (strlen(s) > CATALOG_MAX_LINE_BYTES) {
        free(s);
        bad(f, "", "整个事项超过 %u 字节", CATALOG_MAX_LINE_BYTES);
        return NULL;
    }
    return s;
}

static int api_fail(err *e, const vfail *f) {
    if (f->field[0])
        return fail(e, 400, "invalid_argument", f->field, "字段“%s”%s", f->field, f->problem);
    return fail(e, 400, "invalid_argument", "", "%s", f->problem);
}

int catalog_item_validate(json_t *item, err *e) {
    vfail f = {{0}};
    if (validate_item(item, NULL, &f) != 0) return api_fail(e, &f);
    return 0;
}

char *catalog_item_canonical(json_t *item, err *e) {
    vfail f = {{0}};
    if (validate_item(item, NULL, &f) != 0) {
        api_fail(e, &f);
        return NULL;
    }
    char *s = canonical_text(item, &f);
    if (!s) api_fail(e, &f);
    return s;
}

/* ---- a small string set (codes, licence types) ---- */

typedef struct strset {
    const char **key; /* borrowed */
    long *value;
    size_t cap, len;
} strset;

static uint64_t str_hash(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void strset_free(strset *s) {
    free(s->key);
    free(s->value);
    memset(s, 0, sizeof(*s));
}

/* Slot of key: its own, or the empty one where it would go. */
static size_t strset_slot(const strset *s, const char *key) {
    size_t i = (size_t)str_hash(key) & (s->cap - 1);
    while (s->key[i] && strcmp(s->key[i], key) != 0)
        i = (i + 1) & (s->cap - 1);
    return i;
}

/* The value stored under key, or 0 when absent (values are > 0). */
static long strset_get(const strset *s, const char *key) {
    if (!s->cap) return 0;
    size_t i = strset_slot(s, key);
    return s->key[i] ? s->value[i] : 0;
}

/* Add key (borrowed; must outlive the set) with value > 0 unless present. */
static void strset_put(strset *s, const char *key, long value) {
    if (2 * (s->len + 1) > s->cap) {
        strset old = *s;
        s->cap = old.cap ? old.cap * 2 : 64;
        s->key = xcalloc(s->cap, sizeof(*s->key));
        s->value = xcalloc(s->cap, sizeof(*s->value));
        s->len = 0;
        for (size_t i = 0; i < old.cap; i++)
            if (old.key[i]) strset_put(s, old.key[i], old.value[i]);
        free(old.key);
        free(old.value);
    }
    size_t i = strset_slot(s, key);
    if (s->key[i]) return;
    s->key[i] = key;
    s->value[i] = value;
    s->len++;
}

/* ---- import: reading ---- */

/* What phase 1 keeps of one item line. Strings live in the import arena. */
typedef struct item_rec {
    long line;
    const char *code, *name, *type, *department, *level, *fee;
    double legal_days, promise_days;
    int64_t online_depth, visits, commitment, instant;
    int64_t scope[3]; /* flags in the order of scopes[] */
    const char *doc;  /* canonical text */
} item_rec;

typedef struct licence_rec {
    const char *type, *issuer, *id_pattern, *trust_level;
} licence_rec;

typedef struct bundle_rec {
    long index; /* 1-based position in the file */
    const char *code, *name, *description, *doc;
    int parallel;
    int64_t promise_hours;
    const char **items;
    size_t nitems;
} bundle_rec;

typedef struct import_state {
    arena *a;
    const char *items_file; /* base names for messages */
    const char *bundles_file;
    const char *licences_file;
    item_rec *items;
    size_t nitems, cap;
    strset codes; /* code → line */
    licence_rec *licences;
    size_t nlicences;
    int have_licences;
    strset licence_types; /* type → index + 1 */
    bundle_rec *bundles;
    size_t nbundles;
} import_state;

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

static int line_fail(err *e, const char *file, long line, const vfail *f, int status,
                     const char *code) {
    if (f->field[0])
        return fail(e, status, code, f->field, "%s line %ld: field %s: %s", file, line, f->field,
                    f->problem);
    return fail(e, status, code, "", "%s line %ld: %s", file, line, f->problem);
}

static int entry_fail(err *e, const char *file, size_t index, const vfail *f) {
    if (f->field[0])
        return fail(e, 422, "unprocessable", f->field, "%s: entry %zu: field %s: %s", file, index,
                    f->field, f->problem);
    return fail(e, 422, "unprocessable", "", "%s: entry %zu: %s", file, index, f->problem);
}

static FILE *open_regular(const char *path, const char *shown, unsigned max, err *e) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fail(e, 422, "unprocessable", "", "%s: cannot open: %s", shown, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(fp);
        fail(e, 422, "unprocessable", "", "%s: not a regular file", shown);
        return NULL;
    }
    if ((uint64_t)st.st_size > max) {
        fclose(fp);
        fail(e, 413, "payload_too_large", "", "%s: larger than %u bytes", shown, max);
        return NULL;
    }
    return fp;
}

/* Read a whole small file (≤ max bytes) into a heap buffer the caller frees. */
static char *slurp(const char *path, const char *shown, unsigned max, size_t *len, err *e) {
    FILE *fp = open_regular(path, shown, max, e);
    if (!fp) return NULL;
    char *buf = xmalloc((size_t)max + 2);
    size_t n = fread(buf, 1, (size_t)max + 1, fp);
    int rd_err = ferror(fp);
    fclose(fp);
    if (rd_err || n > max) {
        free(buf);
        fail(e, rd_err ? 422 : 413, rd_err ? "unprocessable" : "payload_too_large", "",
             rd_err ? "%s: read error" : "%s: larger than the limit", shown);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int licence_known_in_file(void *ctx, const char *type) {
    const import_state *st = ctx;
    return strset_get(&st->licence_types, type) > 0;
}

static const char *str_member(arena *a, json_t *o, const char *key) {
    return arena_strdup(a, json_string_value(json_object_get(o, key)));
}

/* Phase 1a: licences.json, an array of {type, issuer, id_pattern, trust_level}. */
static int read_licences(import_state *st, const char *path, err *e) {
    size_t len;
    char *buf = slurp(path, st->licences_file, CATALOG_MAX_SIDE_BYTES, &len, e);
    if (!buf) return -1;
    err pe = {0};
    json_t *arr = jsonx_parse(buf, len, ITEM_MAX_DEPTH, &pe);
    free(buf);
    if (!arr) return fail(e, 422, "unprocessable", "", "%s: %s", st->licences_file, pe.message);
    int rc = 0;
    vfail f = {{0}};
    if (!json_is_array(arr)) {
        rc = fail(e, 422, "unprocessable", "", "%s: 须为 JSON 数组", st->licences_file);
    } else if (json_array_size(arr) > CATALOG_MAX_LICENCES) {
        rc = fail(e, 413, "payload_too_large", "", "%s: more than %d entries", st->licences_file,
                  CATALOG_MAX_LICENCES);
    }
    size_t n = rc == 0 ? json_array_size(arr) : 0;
    st->licences = arena_calloc(st->a, (n ? n : 1) * sizeof(*st->licences));
    for (size_t i = 0; i < n && rc == 0; i++) {
        json_t *l = json_array_get(arr, i);
        if (!json_is_object(l))
            rc = bad(&f, "", "须为 JSON 对象");
        else if (check_keys(l, "", licence_keys, NULL, &f) != 0 ||
                 check_text(json_object_get(l, "type"), "type", 1, 128, ONE_LINE, &f) != 0 ||
                 check_text(json_object_get(l, "issuer"), "issuer", 1, 256, ONE_LINE, &f) != 0 ||
                 check_text(json_object_get(l, "id_pattern"), "id_pattern", 0, 256, ONE_LINE, &f) !=
                     0 ||
                 check_enum(json_object_get(l, "trust_level"), "trust_level", trust_levels, &f) !=
                     0)
            rc = -1;
        else if (strset_get(&st->licence_types, json_string_value(json_object_get(l, "type"))))
            rc = bad(&f, "type", "与第 %ld 项重复",
                     strset_get(&st->licence_types, json_string_value(json_object_get(l, "type"))));
        if (rc != 0) {
            entry_fail(e, st->licences_file, i + 1, &f);
            break;
        }
        licence_rec *r = &st->licences[st->nlicences++];
        r->type = str_member(st->a, l, "type");
        r->issuer = str_member(st->a, l, "issuer");
        r->id_pattern = str_member(st->a, l, "id_pattern");
        r->trust_level = str_member(st->a, l, "trust_level");
        strset_put(&st->licence_types, r->type, (long)st->nlicences);
    }
    json_decref(arr);
    st->have_licences = rc == 0;
    return rc;
}

/* The columns of a validated item. Strings are borrowed from it and doc, or copied
 * into a when a is given (the import keeps rows after the JSON is gone). */
static void fill_rec(item_rec *r, json_t *it, const char *doc, arena *a) {
#define STR(key) (a ? arena_strdup(a, jsonx_str(it, key)) : jsonx_str(it, key))
    memset(r, 0, sizeof(*r));
    r->code = STR("code");
    r->name = STR("name");
    r->type = STR("type");
    r->department = STR("department");
    r->level = STR("level");
    r->fee = STR("fee");
#undef STR
    r->legal_days = json_number_value(json_object_get(it, "legal_days"));
    r->promise_days = json_number_value(json_object_get(it, "promise_days"));
    r->online_depth = json_integer_value(json_object_get(it, "online_depth"));
    r->visits = json_integer_value(json_object_get(it, "visits"));
    r->commitment = json_is_true(json_object_get(it, "commitment"));
    r->instant = json_is_true(json_object_get(it, "instant"));
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(it, "scope"), i, s) {
        for (int k = 0; k < 3; k++)
            if (strcmp(json_string_value(s), scopes[k]) == 0) r->scope[k] = 1;
    }
    r->doc = a ? arena_strdup(a, doc) : doc;
}

/* Keep what the transaction needs of a validated item. */
static void keep_item(import_state *st, json_t *it, long line, char *doc) {
    if (st->nitems == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 512;
        st->items = xrealloc(st->items, st->cap * sizeof(*st->items));
    }
    item_rec *r = &st->items[st->nitems++];
    fill_rec(r, it, doc, st->a);
    r->line = line;
    strset_put(&st->codes, r->code, line);
}

/* One non-blank line of items.jsonl. */
static int take_line(import_state *st, char *text, size_t len, long line, err *e) {
    if (st->nitems >= CATALOG_MAX_ITEMS)
        return fail(e, 413, "payload_too_large", "", "%s: more than %d items", st->items_file,
                    CATALOG_MAX_ITEMS);
    vfail f = {{0}};
    err pe = {0};
    json_t *it = jsonx_parse(text, len, ITEM_MAX_DEPTH, &pe);
    if (!it) {
        snprintf(f.problem, sizeof(f.problem), "%s", pe.message);
        utf8_trim_tail(f.problem);
        return line_fail(e, st->items_file, line, &f, 422, "unprocessable");
    }
    licence_check lic = {licence_known_in_file, st, st->licences_file};
    int rc = validate_item(it, st->have_licences ? &lic : NULL, &f);
    if (rc == 0) {
        long first = strset_get(&st->codes, json_string_value(json_object_get(it, "code")));
        if (first) rc = bad(&f, "code", "编码与第 %ld 行重复", first);
    }
    char *doc = rc == 0 ? canonical_text(it, &f) : NULL;
    if (rc == 0 && !doc) rc = -1;
    if (rc == 0) keep_item(st, it, line, doc);
    free(doc);
    json_decref(it);
    if (rc != 0) return line_fail(e, st->items_file, line, &f, 422, "unprocessable");
    return 0;
}

static int blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t') return 0;
    return 1;
}

/* Phase 1b: items.jsonl, line by line with a bounded line buffer. */
static int read_items(import_state *st, const char *path, err *e) {
    FILE *fp = open_regular(path, st->items_file, CATALOG_MAX_FILE_BYTES, e);
    if (!fp) return -1;
    char chunk[64 * 1024];
    strbuf line;
    strbuf_init(&line, CATALOG_MAX_LINE_BYTES + 1); /* + the '\r' of CRLF files */
    long lineno = 1;
    uint64_t total = 0;
    int rc = 0, eof = 0, too_long = 0;
    while (rc == 0 && !eof) {
        size_t n = fread(chunk, 1, sizeof(chunk), fp);
        if (n == 0) {
            if (ferror(fp))
                rc = fail(e, 422, "unprocessable", "", "%s: read error", st->items_file);
            eof = 1; /* a last line without newline is handled below */
        }
        total += n;
        if (total > CATALOG_MAX_FILE_BYTES)
            rc = fail(e, 413, "payload_too_large", "", "%s: larger than %u bytes", st->items_file,
                      CATALOG_MAX_FILE_BYTES);
        const char *p = chunk, *end = chunk + n;
        while (rc == 0 && (p < end || (eof && (line.len || too_long)))) {
            const char *nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
            size_t piece = nl ? (size_t)(nl - p) : (size_t)(end - p);
            if (!too_long && strbuf_append(&line, p, piece) != 0) too_long = 1;
            p += piece;
            if (!nl && !eof) break; /* the line continues in the next chunk */
            if (nl) p++;
            if (too_long) {
                vfail f = {{0}};
                snprintf(f.problem, sizeof(f.problem), "longer than %u bytes",
                         CATALOG_MAX_LINE_BYTES);
                rc = line_fail(e, st->items_file, lineno, &f, 413, "payload_too_large");
                break;
            }
            char *text = line.data ? line.data : "";
            size_t len = line.len;
            if (lineno == 1 && len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
                text += 3; /* UTF-8 byte order mark */
                len -= 3;
            }
            if (len && text[len - 1] == '\r') text[--len] = '\0';
            if (!blank(text, len)) rc = take_line(st, text, len, lineno, e);
            strbuf_reset(&line);
            lineno++;
            if (!nl) break;
        }
    }
    strbuf_free(&line);
    fclose(fp);
    return rc;
}

/* Phase 1c: bundles.json, an array of {code, name, items, parallel, promise_hours,
 * description}; items must be codes of this file or (checked later) of the database. */
static int bundle_code_valid(const char *s) {
    size_t n = strlen(s);
    if (n < 1 || n > 32) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

static int check_bundle(json_t *b, const strset *seen, vfail *f) {
    if (!json_is_object(b)) return bad(f, "", "须为 JSON 对象");
    if (check_keys(b, "", bundle_keys, NULL, f) != 0) return -1;
    json_t *code = json_object_get(b, "code");
    if (!json_is_string(code)) return bad(f, "code", "须为字符串");
    if (!bundle_code_valid(json_string_value(code)))
        return bad(f, "code", "须为 1–32 位字母、数字、- 或 _");
    if (strset_get(seen, json_string_value(code)))
        return bad(f, "code", "与第 %ld 项重复", strset_get(seen, json_string_value(code)));
    if (check_text(json_object_get(b, "name"), "name", 1, 256, ONE_LINE, f) != 0) return -1;
    json_t *items = json_object_get(b, "items");
    if (!json_is_array(items)) return bad(f, "items", "须为数组");
    size_t n = json_array_size(items);
    if (n < 1) return bad(f, "items", "至少需要 1 个事项");
    if (n > CATALOG_MAX_BUNDLE_SIZE) return bad(f, "items", "超过 %d 项", CATALOG_MAX_BUNDLE_SIZE);
    for (size_t i = 0; i < n; i++) {
        char p[32];
        snprintf(p, sizeof(p), "items[%zu]", i);
        json_t *c = json_array_get(items, i);
        if (!json_is_string(c)) return bad(f, p, "须为事项编码字符串");
        if (!catalog_code_valid(json_string_value(c))) return bad(f, p, "不是有效的事项编码");
        for (size_t k = 0; k < i; k++)
            if (json_equal(json_array_get(items, k), c)) return bad(f, p, "与第 %zu 项重复", k + 1);
    }
    if (check_bool(json_object_get(b, "parallel"), "parallel", f) != 0 ||
        check_int(json_object_get(b, "promise_hours"), "promise_hours", 0, MAX_PROMISE_HRS, f) !=
            0 ||
        check_text(json_object_get(b, "description"), "description", 0, 4096, MULTI_LINE, f) != 0)
        return -1;
    return 0;
}

static int read_bundles(import_state *st, const char *path, err *e) {
    size_t len;
    char *buf = slurp(path, st->bundles_file, CATALOG_MAX_SIDE_BYTES, &len, e);
    if (!buf) return -1;
    err pe = {0};
    json_t *arr = jsonx_parse(buf, len, ITEM_MAX_DEPTH, &pe);
    free(buf);
    if (!arr) return fail(e, 422, "unprocessable", "", "%s: %s", st->bundles_file, pe.message);
    int rc = 0;
    if (!json_is_array(arr))
        rc = fail(e, 422, "unprocessable", "", "%s: 须为 JSON 数组", st->bundles_file);
    else if (json_array_size(arr) > CATALOG_MAX_BUNDLES)
        rc = fail(e, 413, "payload_too_large", "", "%s: more than %d entries", st->bundles_file,
                  CATALOG_MAX_BUNDLES);
    size_t n = rc == 0 ? json_array_size(arr) : 0;
    st->bundles = arena_calloc(st->a, (n ? n : 1) * sizeof(*st->bundles));
    strset seen = {0};
    for (size_t i = 0; i < n && rc == 0; i++) {
        json_t *b = json_array_get(arr, i);
        vfail f = {{0}};
        if (check_bundle(b, &seen, &f) != 0) {
            rc = entry_fail(e, st->bundles_file, i + 1, &f);
            break;
        }
        bundle_rec *r = &st->bundles[st->nbundles++];
        r->index = (long)i + 1;
        r->code = str_member(st->a, b, "code");
        r->name = str_member(st->a, b, "name");
        r->description = str_member(st->a, b, "description");
        r->parallel = json_is_true(json_object_get(b, "parallel"));
        r->promise_hours = json_integer_value(json_object_get(b, "promise_hours"));
        json_t *items = json_object_get(b, "items");
        r->nitems = json_array_size(items);
        r->items = arena_alloc(st->a, r->nitems * sizeof(*r->items));
        for (size_t k = 0; k < r->nitems; k++)
            r->items[k] = arena_strdup(st->a, json_string_value(json_array_get(items, k)));
        json_t *canon = ordered(b, bundle_keys);
        char *doc = json_dumps(canon, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(canon);
        if (!doc) abort();
        r->doc = arena_strdup(st->a, doc);
        free(doc);
        strset_put(&seen, r->code, r->index);
    }
    strset_free(&seen);
    json_decref(arr);
    return rc;
}

/* ---- import: writing ---- */

static int db_fail(db *d, err *e) {
    return fail(e, 500, "internal", "", "%s", db_errmsg(d));
}

static int count_rows(db *d, int64_t out[3], err *e) {
    if (db_query_int(d, e, &out[0], "SELECT COUNT(*) FROM catalog_items", "") < 0 ||
        db_query_int(d, e, &out[1], "SELECT COUNT(*) FROM catalog_bundles", "") < 0 ||
        db_query_int(d, e, &out[2], "SELECT COUNT(*) FROM catalog_licences", "") < 0)
        return -1;
    return 0;
}

static int write_licences(db *d, const import_state *st, const char *now, err *e) {
    static const char sql[] =
        "INSERT INTO catalog_licences (type, issuer, id_pattern, trust_level, updated_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (type) DO UPDATE SET issuer = excluded.issuer, "
        "id_pattern = excluded.id_pattern, trust_level = excluded.trust_level, "
        "updated_at = excluded.updated_at";
    for (size_t i = 0; i < st->nlicences; i++) {
        const licence_rec *r = &st->licences[i];
        if (db_execf(d, e, sql, "sssss", r->type, r->issuer, r->id_pattern, r->trust_level, now) !=
            0)
            return -1;
    }
    return 0;
}

/* The stored doc and version of code: 1 found, 0 absent, -1 error. *doc is a heap copy. */
static int stored_item(db *d, const char *code, char **doc, int64_t *version, err *e) {
    db_stmt *s =
        db_query(d, e, "SELECT doc, version FROM catalog_items WHERE code = $1", "s", code);
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ERROR) {
        db_reset(s);
        return db_fail(d, e);
    }
    if (rc == DB_DONE) {
        db_reset(s);
        return 0;
    }
    const char *t = db_column_text(s, 0);
    *doc = xstrdup(t ? t : "");
    *version = db_column_int64(s, 1);
    db_reset(s);
    return 1;
}

static int write_version_row(db *d, const char *code, int64_t version, const char *doc,
                             const char *now, const char *by, err *e) {
    return db_execf(d, e,
                    "INSERT INTO catalog_item_versions (code, version, doc, changed_at, "
                    "changed_by) VALUES ($1, $2, $3, $4, $5)",
                    "sisss", code, version, doc, now, by);
}

/* Insert (version 1) or replace (version + 1) the item's row and add its history row. */
static int write_item_row(db *d, const item_rec *r, int64_t version, const char *now,
                          const char *by, err *e) {
    static const char insert_sql[] =
        "INSERT INTO catalog_items (code, name, type, department, level, legal_days, "
        "promise_days, fee, online_depth, visits, commitment, instant, scope_cross_province, "
        "scope_province, scope_yongzhou, area_code, doc, version, updated_at, updated_by) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, "
        "$18, $19, $20)";
    static const char update_sql[] =
        "UPDATE catalog_items SET name = $2, type = $3, department = $4, level = $5, "
        "legal_days = $6, promise_days = $7, fee = $8, online_depth = $9, visits = $10, "
        "commitment = $11, instant = $12, scope_cross_province = $13, scope_province = $14, "
        "scope_yongzhou = $15, area_code = $16, doc = $17, version = $18, updated_at = $19, "
        "updated_by = $20 WHERE code = $1";
    char area[7];
    snprintf(area, sizeof(area), "%.6s", r->code);
    if (db_execf(d, e, version == 1 ? insert_sql : update_sql, "sssssddsiiiiiiississ", r->code,
                 r->name, r->type, r->department, r->level, r->legal_days, r->promise_days, r->fee,
                 r->online_depth, r->visits, r->commitment, r->instant, r->scope[0], r->scope[1],
                 r->scope[2], area, r->doc, version, now, by) != 0)
        return -1;
    return write_version_row(d, r->code, version, r->doc, now, by, e);
}

static int write_items(db *d, const import_state *st, const char *now, const char *by,
                       catalog_counts *c, err *e) {
    for (size_t i = 0; i < st->nitems; i++) {
        const item_rec *r = &st->items[i];
        char *old = NULL;
        int64_t version = 0;
        int found = stored_item(d, r->code, &old, &version, e);
        if (found < 0) return -1;
        int rc = 0;
        if (!found) {
            rc = write_item_row(d, r, 1, now, by, e);
            c->inserted++;
        } else if (strcmp(old, r->doc) != 0) {
            rc = write_item_row(d, r, version + 1, now, by, e);
            c->updated++;
        } else {
            c->unchanged++;
        }
        free(old);
        if (rc != 0) {
            char why[sizeof(e->message)];
            snprintf(why, sizeof(why), "%s", e ? e->message : "");
            return fail(e, 500, "internal", "", "%s line %ld: cannot write: %s", st->items_file,
                        r->line, why);
        }
    }
    return 0;
}

static int write_bundles(db *d, const import_state *st, const char *now, err *e) {
    static const char upsert_sql[] =
        "INSERT INTO catalog_bundles (code, name, parallel, promise_hours, description, doc, "
        "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (code) DO UPDATE SET "
        "name = excluded.name, parallel = excluded.parallel, "
        "promise_hours = excluded.promise_hours, description = excluded.description, "
        "doc = excluded.doc, updated_at = excluded.updated_at";
    for (size_t i = 0; i < st->nbundles; i++) {
        const bundle_rec *b = &st->bundles[i];
        for (size_t k = 0; k < b->nitems; k++) {
            if (strset_get(&st->codes, b->items[k])) continue;
            int64_t one = 0;
            int rc = db_query_int(d, e, &one, "SELECT 1 FROM catalog_items WHERE code = $1", "s",
                                  b->items[k]);
            if (rc < 0) return -1;
            if (rc == 1) {
                vfail f = {{0}};
                char p[32];
                snprintf(p, sizeof(p), "items[%zu]", k);
                bad(&f, p, "事项 %s 不在目录中", b->items[k]);
                return entry_fail(e, st->bundles_file, (size_t)b->index, &f);
            }
        }
        if (db_execf(d, e, upsert_sql, "ssiisss", b->code, b->name, (int64_t)b->parallel,
                     b->promise_hours, b->description, b->doc, now) != 0 ||
            db_execf(d, e, "DELETE FROM catalog_bundle_items WHERE bundle_code = $1", "s",
                     b->code) != 0)
            return -1;
        for (size_t k = 0; k < b->nitems; k++)
            if (db_execf(d, e,
                         "INSERT INTO catalog_bundle_items (bundle_code, position, item_code) "
                         "VALUES ($1, $2, $3)",
                         "sis", b->code, (int64_t)k + 1, b->items[k]) != 0)
                return -1;
    }
    return 0;
}

static json_t *import_counts_json(const catalog_counts *c) {
    return json_pack("{sIsIsIsIsIsI}", "items", (json_int_t)c->items, "inserted",
                     (json_int_t)c->inserted, "updated", (json_int_t)c->updated, "unchanged",
                     (json_int_t)c->unchanged, "bundles", (json_int_t)c->bundles, "licences",
                     (json_int_t)c->licences);
}

static int write_all(db *d, const import_state *st, const audit_actor *actor, catalog_counts *c,
                     err *e) {
    char now[32];
    time_iso(now, sizeof(now), time_now());
    const char *by = actor->login ? actor->login : "system";
    int64_t before[3] = {0}, after[3] = {0};
    if (db_begin(d, e) != 0) return -1;
    int rc = count_rows(d, before, e);
    if (rc == 0) rc = write_licences(d, st, now, e);
    if (rc == 0) rc = write_items(d, st, now, by, c, e);
    if (rc == 0) rc = write_bundles(d, st, now, e);
    if (rc == 0) rc = count_rows(d, after, e);
    if (rc == 0) {
        json_t *jb = json_pack("{sIsIsI}", "items", (json_int_t)before[0], "bundles",
                               (json_int_t)before[1], "licences", (json_int_t)before[2]);
        json_t *ja = import_counts_json(c);
        json_object_set_new(ja, "total_items", json_integer(after[0]));
        json_object_set_new(ja, "total_bundles", json_integer(after[1]));
        json_object_set_new(ja, "total_licences", json_integer(after[2]));
        rc = audit_record(d, actor, "catalog.import", "catalog", st->items_file, jb, ja, e);
        json_decref(jb);
        json_decref(ja);
    }
    if (rc != 0) {
        db_rollback(d);
        return -1;
    }
    return db_commit(d, e);
}

int catalog_import_file(db *d, const char *path_jsonl, const char *bundles_path,
                        const char *licences_path, const audit_actor *actor, catalog_counts *counts,
                        err *e) {
    if (!path_jsonl || !*path_jsonl)
        return fail(e, 400, "invalid_argument", "file", "没有指定事项文件");
    if (!actor) return fail(e, 500, "internal", "", "catalog_import_file: no actor");
    import_state st = {0};
    st.a = arena_new();
    st.items_file = base_name(path_jsonl);
    st.bundles_file = bundles_path ? base_name(bundles_path) : "";
    st.licences_file = licences_path ? base_name(licences_path) : "";
    int rc = 0;
    if (licences_path) rc = read_licences(&st, licences_path, e);
    if (rc == 0) rc = read_items(&st, path_jsonl, e);
    if (rc == 0 && bundles_path) rc = read_bundles(&st, bundles_path, e);
    catalog_counts c = {.items = (int64_t)st.nitems,
                        .bundles = (int64_t)st.nbundles,
                        .licences = (int64_t)st.nlicences};
    if (rc == 0) rc = write_all(d, &st, actor, &c, e);
    free(st.items);
    strset_free(&st.codes);
    strset_free(&st.licence_types);
    arena_free(st.a);
    if (rc == 0 && counts) *counts = c;
    return rc;
}

/* ---- export ---- */

static int write_failed(err *e) {
    return fail(e, 500, "internal", "", "write error: %s", strerror(errno));
}

/* Dump an array in the layout of the shipped bundles.json / licences.json. */
static int write_array(FILE *out, json_t *arr, err *e) {
    char *s = json_dumps(arr, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    if (!s) abort();
    int ok = fputs(s, out) >= 0 && fputc('\n', out) != EOF;
    free(s);
    return ok ? 0 : write_failed(e);
}

static int cmp_licence(const void *a, const void *b) {
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    return strcmp(json_string_value(json_object_get(x, "type")),
                  json_string_value(json_object_get(y, "type")));
}

/* Licence types sorted by type in code-point order (independent of the database's
 * collation, which differs between SQLite and PostgreSQL locales for Chinese). */
static json_t *licence_array(db *d, err *e) {
    db_stmt *s =
        db_query(d, e, "SELECT type, issuer, id_pattern, trust_level FROM catalog_licences", "");
    if (!s) return NULL;
    json_t *rows = db_rows_json(s, CATALOG_MAX_LICENCES, e);
    if (!rows) return NULL;
    size_t n = json_array_size(rows);
    json_t **v = xcalloc(n ? n : 1, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(rows, i));
    qsort(v, n, sizeof(*v), cmp_licence);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(out, v[i]);
    free(v);
    json_decref(rows);
    return out;
}

/* Bundles as stored (the canonical objects), ordered by code. */
static json_t *bundle_array(db *d, err *e) {
    db_stmt *s = db_query(d, e, "SELECT doc FROM catalog_bundles ORDER BY code", "");
    if (!s) return NULL;
    json_t *out = json_array();
    int rc = DB_DONE;
    size_t n = 0;
    while (n++ < CATALOG_MAX_BUNDLES && (rc = db_step(s)) == DB_ROW) {
        const char *doc = db_column_text(s, 0);
        json_t *b = doc ? json_loads(doc, 0, NULL) : NULL;
        if (b) json_array_append_new(out, b);
    }
    if (rc == DB_ERROR) {
        db_reset(s);
        json_decref(out);
        db_fail(d, e);
        return NULL;
    }
    db_reset(s);
    return out;
}

int catalog_export(db *d, FILE *items, FILE *bundles, FILE *licences, err *e) {
    if (!items) return fail(e, 500, "internal", "", "catalog_export: no output");
    /* Codes are ASCII, so ORDER BY code is the same under any collation. */
    db_stmt *s = db_query(d, e, "SELECT doc FROM catalog_items ORDER BY code", "");
    if (!s) return -1;
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        const char *doc = db_column_text(s, 0);
        if (fputs(doc ? doc : "", items) < 0 || fputc('\n', items) == EOF) {
            db_reset(s);
            return write_failed(e);
        }
    }
    db_reset(s);
    if (rc == DB_ERROR) return db_fail(d, e);
    if (fflush(items) != 0) return write_failed(e);
    if (bundles) {
        json_t *arr = bundle_array(d, e);
        if (!arr) return -1;
        int w = write_array(bundles, arr, e);
        json_decref(arr);
        if (w != 0 || fflush(bundles) != 0) return write_failed(e);
    }
    if (licences) {
        json_t *arr = licence_array(d, e);
        if (!arr) return -1;
        int w = write_array(licences, arr, e);
        json_decref(arr);
        if (w != 0 || fflush(licences) != 0) return write_failed(e);
    }
    return 0;
}

/* ---- queries ---- */

static json_t *parse_doc(const char *doc) {
    json_t *v = doc ? json_loads(doc, 0, NULL) : NULL;
    return v ? v : json_object();
}

/* A DOUBLE PRECISION column of days as JSON (whole numbers as integers). */
static json_t *days_column(db_stmt *s, int col) {
    return days_json(db_column_double(s, col));
}

static json_t *text_column(db_stmt *s, int col) {
    const char *t = db_column_text(s, col);
    return json_string(t ? t : "");
}

json_t *catalog_item_get(db *d, const char *code, err *e) {
    if (!code || !catalog_code_valid(code)) {
        fail(e, 404, "not_found", "code", "没有这个事项");
        return NULL;
    }
    db_stmt *s = db_query(
        d, e, "SELECT doc, version, updated_at, popularity FROM catalog_items WHERE code = $1", "s",
        code);
    if (!s) return NULL;
    int rc = db_step(s);
    if (rc != DB_ROW) {
        db_reset(s);
        if (rc == DB_ERROR)
            db_fail(d, e);
        else
            fail(e, 404, "not_found", "code", "没有这个事项");
        return NULL;
    }
    json_t *item = parse_doc(db_column_text(s, 0));
    json_object_set_new(item, "version", json_integer(db_column_int64(s, 1)));
    json_object_set_new(item, "updated_at", text_column(s, 2));
    json_object_set_new(item, "popularity", json_integer(db_column_int64(s, 3)));
    db_reset(s);

    s = db_query(d, e,
                 "SELECT b.code, b.name FROM catalog_bundle_items bi "
                 "JOIN catalog_bundles b ON b.code = bi.bundle_code "
                 "WHERE bi.item_code = $1 ORDER BY b.code",
                 "s", code);
    json_t *bundles = s ? db_rows_json(s, CATALOG_MAX_BUNDLES, e) : NULL;
    if (!bundles) {
        json_decref(item);
        return NULL;
    }
    json_object_set_new(item, "bundles", bundles);

    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(item, "materials"), i, m) {
        const char *type = jsonx_str(m, "licence");
        if (!type) continue;
        s = db_query(d, e, "SELECT issuer, trust_level FROM catalog_licences WHERE type = $1", "s",
                     type);
        if (!s) {
            json_decref(item);
            return NULL;
        }
        rc = db_step(s);
        if (rc == DB_ROW) {
            json_object_set_new(m, "licence_issuer", text_column(s, 0));
            json_object_set_new(m, "licence_trust_level", text_column(s, 1));
        }
        db_reset(s);
        if (rc == DB_ERROR) {
            json_decref(item);
            db_fail(d, e);
            return NULL;
        }
    }
    return item;
}

/* A NULL filter matches everything: COALESCE($n, column) compares the column with
 * itself, which keeps one SQL text for both backends without building SQL. */
#define ITEM_WHERE                                                                                 \
    "WHERE department = COALESCE($1, department) AND type = COALESCE($2, type) "                   \
    "AND area_code = COALESCE($3, area_code) "

static json_t *summary_row(db_stmt *s) {
    json_t *scope = json_array();
    for (int k = 0; k < 3; k++)
        if (db_column_int64(s, 13 + k)) json_array_append_new(scope, json_string(scopes[k]));
    return json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:b, s:b, s:o, s:I, s:I}", "code",
        text_column(s, 0), "name", text_column(s, 1), "type", text_column(s, 2), "department",
        text_column(s, 3), "level", text_column(s, 4), "area_code", text_column(s, 5), "legal_days",
        days_column(s, 6), "promise_days", days_column(s, 7), "fee", text_column(s, 8),
        "online_depth", (json_int_t)db_column_int64(s, 9), "visits",
        (json_int_t)db_column_int64(s, 10), "commitment", (int)db_column_int64(s, 11), "instant",
        (int)db_column_int64(s, 12), "scope", scope, "version", (json_int_t)db_column_int64(s, 16),
        "popularity", (json_int_t)db_column_int64(s, 17));
}

json_t *catalog_item_list(db *d, const catalog_filter *f, err *e) {
    catalog_filter none = {0};
    if (!f) f = &none;
    int64_t limit = f->limit <= 0 ? CATALOG_DEFAULT_LIMIT : f->limit;
    if (limit > CATALOG_MAX_LIMIT) limit = CATALOG_MAX_LIMIT;
    int64_t offset = f->offset < 0 ? 0 : f->offset;
    int64_t total = 0;
    if (db_query_int(d, e, &total, "SELECT COUNT(*) FROM catalog_items " ITEM_WHERE, "sss",
                     f->department, f->type, f->area) < 0)
        return NULL;
    db_stmt *s =
        db_query(d, e,
                 "SELECT code, name, type, department, level, area_code, legal_days, "
                 "promise_days, fee, online_depth, visits, commitment, instant, "
                 "scope_cross_province, scope_province, scope_yongzhou, version, "
                 "popularity FROM catalog_items " ITEM_WHERE "ORDER BY code LIMIT $4 OFFSET $5",
                 "sssii", f->department, f->type, f->area, limit, offset);
    if (!s) return NULL;
    json_t *items = json_array();
    int rc;
    while ((rc = db_step(s)) == DB_ROW)
        json_array_append_new(items, summary_row(s));
    db_reset(s);
    if (rc == DB_ERROR) {
        json_decref(items);
        db_fail(d, e);
        return NULL;
    }
    return json_pack("{sosIsIsI}", "items", items, "total", (json_int_t)total, "limit",
                     (json_int_t)limit, "offset", (json_int_t)offset);
}

static int licence_known_in_db(void *ctx, const char *type) {
    db *d = ctx;
    int64_t one = 0;
    err e = {0};
    int rc = db_query_int(d, &e, &one, "SELECT 1 FROM catalog_licences WHERE type = $1", "s", type);
    return rc < 0 ? -1 : rc == 0;
}

/* Inside the transaction: validate against the licence table, compare, write. */
static int update_locked(db *d, const audit_actor *actor, const char *code, json_t *item,
                         int64_t expected_version, err *e) {
    int64_t nlicences = 0;
    if (db_query_int(d, e, &nlicences, "SELECT COUNT(*) FROM catalog_licences", "") < 0) return -1;
    licence_check lic = {licence_known_in_db, d, "证照库"};
    vfail f = {{0}};
    if (validate_item(item, nlicences > 0 ? &lic : NULL, &f) != 0) return api_fail(e, &f);
    if (strcmp(jsonx_str(item, "code"), code) != 0)
        return fail(e, 400, "invalid_argument", "code", "字段“code”与地址中的事项编码不一致");
    char *doc = canonical_text(item, &f);
    if (!doc) return api_fail(e, &f);
    char *old = NULL;
    int64_t version = 0;
    int found = stored_item(d, code, &old, &version, e);
    int rc = 0;
    if (found == 0) rc = fail(e, 404, "not_found", "code", "没有这个事项");
    if (found < 0) rc = -1;
    if (rc == 0 && expected_version > 0 && expected_version != version)
        rc = fail(e, 409, "conflict", "version",
                  "事项已被他人修改（当前第 %lld 版，提交的是第 %lld 版），请刷新后重试",
                  (long long)version, (long long)expected_version);
    if (rc == 0 && strcmp(old, doc) != 0) {
        char now[32];
        time_iso(now, sizeof(now), time_now());
        item_rec r;
        fill_rec(&r, item, doc, NULL);
        const char *by = actor->login ? actor->login : "system";
        rc = write_item_row(d, &r, version + 1, now, by, e);
        if (rc == 0) {
            json_t *before = parse_doc(old), *after = parse_doc(doc);
            json_object_set_new(before, "version", json_integer(version));
            json_object_set_new(after, "version", json_integer(version + 1));
            rc = audit_record(d, actor, "catalog.item.update", "catalog_item", code, before, after,
                              e);
            json_decref(before);
            json_decref(after);
        }
    }
    free(old);
    free(doc);
    return rc;
}

int catalog_item_update(db *d, const audit_actor *actor, const char *code, json_t *item,
                        int64_t expected_version, err *e) {
    if (!actor) return fail(e, 500, "internal", "", "catalog_item_update: no actor");
    if (!code || !catalog_code_valid(code))
        return fail(e, 404, "not_found", "code", "没有这个事项");
    if (db_begin(d, e) != 0) return -1;
    if (update_locked(d, actor, code, item, expected_version, e) != 0) {
        db_rollback(d);
        return -1;
    }
    return db_commit(d, e);
}

void catalog_item_strip_readonly(json_t *item, int64_t *version) {
    if (version) *version = 0;
    if (!json_is_object(item)) return;
    json_t *v = json_object_get(item, "version");
    if (version && json_is_integer(v) && json_integer_value(v) > 0)
        *version = json_integer_value(v);
    json_object_del(item, "version");
    json_object_del(item, "updated_at");
    json_object_del(item, "popularity");
    json_object_del(item, "bundles");
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(item, "materials"), i, m) {
        if (!json_is_object(m)) continue;
        json_object_del(m, "licence_issuer");
        json_object_del(m, "licence_trust_level");
    }
}

#define FOR_EACH_PAGE 256

int catalog_for_each(db *d, int (*fn)(void *ctx, json_t *item), void *ctx, err *e) {
    char after[64] = "";
    for (;;) {
        /* Copy one page out, so that fn may run queries on this connection. */
        db_stmt *s = db_query(d, e,
                              "SELECT code, doc, version, popularity FROM catalog_items "
                              "WHERE code > $1 ORDER BY code LIMIT $2",
                              "si", after, (int64_t)FOR_EACH_PAGE);
        if (!s) return -1;
        json_t *page = json_array();
        int rc;
        while ((rc = db_step(s)) == DB_ROW) {
            json_t *it = parse_doc(db_column_text(s, 1));
            json_object_set_new(it, "version", json_integer(db_column_int64(s, 2)));
            json_object_set_new(it, "popularity", json_integer(db_column_int64(s, 3)));
            json_array_append_new(page, it);
            const char *code = db_column_text(s, 0);
            snprintf(after, sizeof(after), "%s", code ? code : "");
        }
        db_reset(s);
        if (rc == DB_ERROR) {
            json_decref(page);
            return db_fail(d, e);
        }
        size_t n = json_array_size(page), i;
        json_t *it;
        int stop = 0;
        json_array_foreach(page, i, it) {
            stop = fn(ctx, it);
            if (stop) break;
        }
        json_decref(page);
        if (stop) return stop;
        if (n < FOR_EACH_PAGE) return 0;
    }
}

json_t *catalog_departments(db *d, err *e) {
    db_stmt *s = db_query(d, e,
                          "SELECT department, COUNT(*) AS count FROM catalog_items "
                          "GROUP BY department ORDER BY COUNT(*) DESC, department",
                          "");
    if (!s) return NULL;
    json_t *rows = db_rows_json(s, CATALOG_MAX_ITEMS, e);
    return rows ? json_pack("{so}", "items", rows) : NULL;
}

json_t *catalog_bundles(db *d, err *e) {
    json_t *arr = bundle_array(d, e);
    return arr ? json_pack("{so}", "items", arr) : NULL;
}

json_t *catalog_bundle_get(db *d, const char *code, err *e) {
    if (!code || !bundle_code_valid(code)) {
        fail(e, 404, "not_found", "code", "没有这个“一件事”");
        return NULL;
    }
    db_stmt *s = db_query(d, e, "SELECT doc FROM catalog_bundles WHERE code = $1", "s", code);
    if (!s) return NULL;
    int rc = db_step(s);
    json_t *b = rc == DB_ROW ? parse_doc(db_column_text(s, 0)) : NULL;
    db_reset(s);
    if (rc == DB_ERROR) {
        db_fail(d, e);
        return NULL;
    }
    if (!b) {
        fail(e, 404, "not_found", "code", "没有这个“一件事”");
        return NULL;
    }
    json_t *expanded = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(b, "items"), i, c) {
        s = db_query(d, e,
                     "SELECT code, name, department, promise_days, online_depth "
                     "FROM catalog_items WHERE code = $1",
                     "s", json_string_value(c));
        if (!s) {
            json_decref(expanded);
            json_decref(b);
            return NULL;
        }
        rc = db_step(s);
        if (rc == DB_ROW)
            json_array_append_new(expanded,
                                  json_pack("{s:o, s:o, s:o, s:o, s:I}", "code", text_column(s, 0),
                                            "name", text_column(s, 1), "department",
                                            text_column(s, 2), "promise_days", days_column(s, 3),
                                            "online_depth", (json_int_t)db_column_int64(s, 4)));
        db_reset(s);
        if (rc == DB_ERROR) {
            json_decref(expanded);
            json_decref(b);
            db_fail(d, e);
            return NULL;
        }
    }
    json_object_set_new(b, "items", expanded);
    return b;
}

json_t *catalog_licences(db *d, err *e) {
    json_t *arr = licence_array(d, e);
    return arr ? json_pack("{so}", "items", arr) : NULL;
}

json_t *catalog_item_versions(db *d, const char *code, err *e) {
    int64_t one = 0;
    int rc =
        code && catalog_code_valid(code)
            ? db_query_int(d, e, &one, "SELECT 1 FROM catalog_items WHERE code = $1", "s", code)
            : 1;
    if (rc < 0) return NULL;
    if (rc == 1) {
        fail(e, 404, "not_found", "code", "没有这个事项");
        return NULL;
    }
    db_stmt *s = db_query(d, e,
                          "SELECT version, changed_at, changed_by, doc FROM catalog_item_versions "
                          "WHERE code = $1 ORDER BY version DESC LIMIT $2",
                          "si", code, (int64_t)CATALOG_MAX_LIMIT);
    if (!s) return NULL;
    json_t *items = json_array();
    while ((rc = db_step(s)) == DB_ROW)
        json_array_append_new(items, json_pack("{s:I, s:o, s:o, s:o}", "version",
                                               (json_int_t)db_column_int64(s, 0), "changed_at",
                                               text_column(s, 1), "changed_by", text_column(s, 2),
                                               "item", parse_doc(db_column_text(s, 3))));
    db_reset(s);
    if (rc == DB_ERROR) {
        json_decref(items);
        db_fail(d, e);
        return NULL;
    }
    return json_pack("{s:s, s:o}", "code", code, "items", items);
}
