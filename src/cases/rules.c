/* rules: 智能秒办 rule files — loading, validation, the cache, the decision and
 * `isle rules` (see rules.h for the design and data/cases/rules/README.md for
 * the file format).
 *
 * A rule file is validated once when loaded, so the decision code can trust
 * every key it reads. The cache keeps the parsed JSON documents, immutable
 * once stored, and hands out references (jansson's reference counts are
 * atomic); a broken file is cached as its error so that a bad deployment logs
 * once per change, not once per application. Never builds SQL from input;
 * never writes. Details in the trace never quote personal numbers. */
#include "cases/rules.h"
#include "base/idcard.h"
#include "base/jsonx.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/xmalloc.h"
#include "catalog/catalog.h"
#include "licences/licences.h"
#include "workcal/workcal.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Statuses of an application still being worked on (cases.status). Drafts are not
 * applications yet; the rest are closed. */
#define OPEN_STATUSES                                                                              \
    "('submitted', 'accepted', 'returned_for_correction', 'in_review', 'approved', 'suspended')"
#define DONE_STATUSES "('approved', 'delivered')"

/* ---- the rule directory ---- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char explicit_dir[1024]; /* from rules_set_data_dir(), "" when not set */
static char resolved_dir[1024]; /* the directory in use */

typedef struct cache_entry {
    char code[40];
    time_t mtime;
    long mtime_ns;
    off_t size;
    uint64_t checked_ns; /* when the file was last stat()ed */
    json_t *doc;         /* the validated file, or NULL when broken */
    err error;           /* why, when doc is NULL */
} cache_entry;

static cache_entry *cache;
static size_t cache_len;

static void cache_clear_locked(void) {
    for (size_t i = 0; i < cache_len; i++)
        json_decref(cache[i].doc);
    free(cache);
    cache = NULL;
    cache_len = 0;
    resolved_dir[0] = '\0';
}

void rules_cache_clear(void) {
    pthread_mutex_lock(&lock);
    cache_clear_locked();
    pthread_mutex_unlock(&lock);
}

void rules_set_data_dir(const char *data_dir) {
    pthread_mutex_lock(&lock);
    cache_clear_locked();
    if (data_dir)
        snprintf(explicit_dir, sizeof(explicit_dir), "%s/cases/rules", data_dir);
    else
        explicit_dir[0] = '\0';
    pthread_mutex_unlock(&lock);
}

/* Decide the directory (under the lock). */
static const char *dir_locked(void) {
    if (resolved_dir[0]) return resolved_dir;
    if (explicit_dir[0]) {
        snprintf(resolved_dir, sizeof(resolved_dir), "%s", explicit_dir);
        return resolved_dir;
    }
    const workcal *cal = workcal_default(NULL);
    const char *hol = cal ? workcal_dir(cal) : NULL;
    size_t n = hol ? strlen(hol) : 0;
    if (n > 9 && strcmp(hol + n - 9, "/holidays") == 0 && n - 9 < sizeof(resolved_dir) - 20)
        snprintf(resolved_dir, sizeof(resolved_dir), "%.*s/cases/rules", (int)(n - 9), hol);
    else
        snprintf(resolved_dir, sizeof(resolved_dir), "data/cases/rules");
    return resolved_dir;
}

const char *rules_dir(void) {
    pthread_mutex_lock(&lock);
    const char *d = dir_locked();
    pthread_mutex_unlock(&lock);
    return d;
}

/* ---- validation ---- */

/* Fill e with 422 naming the file and the path, and return -1. */
static int bad(err *e, const char *file, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int bad(err *e, const char *file, const char *path, const char *fmt, ...) {
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return err_set(e, 422, "unprocessable", path, "%s: %s: %s", file, path, msg);
}

/* snprintf for field paths (truncation is harmless: paths are short). */
static void pathf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void pathf(char *buf, size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, n, fmt, ap);
    va_end(ap);
}

static int in_list(const char *s, const char *const *list) {
    for (int i = 0; s && list[i]; i++)
        if (strcmp(s, list[i]) == 0) return 1;
    return 0;
}

/* Keys allowed in an object; the first unknown one is an error. */
static int only_keys(json_t *o, const char *const *allowed, const char *file, const char *path,
                     err *e) {
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        if (!in_list(k, allowed)) {
            char p[96];
            pathf(p, sizeof(p), "%s%s%s", path, *path ? "." : "", k);
            return bad(e, file, p, "未知的键（允许：%s 等）", allowed[0]);
        }
    }
    return 0;
}

static int is_ident(const char *s, size_t max) {
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max || !(s[0] >= 'a' && s[0] <= 'z')) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

static int text_ok(json_t *v, size_t max) {
    const char *s = json_string_value(v);
    if (!s || !*s || strlen(s) > max) return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20) return 0;
    return 1;
}

static int is_scalar(json_t *v) {
    return json_is_string(v) || json_is_number(v) || json_is_boolean(v);
}

static const char *const checks[] = {"applicant", "licence",      "licence_absent",  "age",
                                     "residence", "no_open_case", "not_done_before", "field",
                                     NULL};
static const char *const ops[] = {"equals",  "not_equals",       "in", "not_in", "range",
                                  "present", "date_within_days", NULL};
/* The field types of the application forms (src/cases/forms.c). */
static const char *const field_types[] = {"text",   "textarea", "number",      "date", "select",
                                          "idcard", "phone",    "credit_code", NULL};
static const char *const kinds[] = {"citizen", "company", NULL};
static const char *const sources[] = {"hukou", "id_number", "town_code", NULL};

/* A non-negative integer member within [lo, hi] when present (required: must be). */
static int int_member(json_t *o, const char *key, long long lo, long long hi, int required,
                      const char *file, const char *path, err *e) {
    json_t *v = json_object_get(o, key);
    char p[96];
    pathf(p, sizeof(p), "%s.%s", path, key);
    if (!v) return required ? bad(e, file, p, "缺少此项") : 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return bad(e, file, p, "须为 %lld–%lld 的整数", lo, hi);
    return 0;
}

/* An array of strings from `allowed` (or of item codes when allowed is NULL), 1..max. */
static int string_list(json_t *o, const char *key, const char *const *allowed, size_t max,
                       int required, const char *file, const char *path, err *e) {
    json_t *a = json_object_get(o, key);
    char p[96];
    pathf(p, sizeof(p), "%s.%s", path, key);
    if (!a) return required ? bad(e, file, p, "缺少此项") : 0;
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > max)
        return bad(e, file, p, "须为 1–%zu 项的数组", max);
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        const char *s = json_string_value(v);
        int ok = allowed ? in_list(s, allowed) : catalog_code_valid(s);
        if (!ok) {
            char q[112];
            pathf(q, sizeof(q), "%s[%zu]", p, i);
            return bad(e, file, q, allowed ? "取值不在允许范围内" : "不是有效的事项编码");
        }
    }
    return 0;
}

static json_t *find_field(json_t *fields, const char *name) {
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f) {
        const char *n = jsonx_str(f, "name");
        if (n && name && strcmp(n, name) == 0) return f;
    }
    return NULL;
}

/* A value of a select field must be one of its options. */
static int option_ok(json_t *field, json_t *v) {
    json_t *opts = json_object_get(field, "options");
    if (!opts || !json_is_string(v)) return opts == NULL;
    size_t i;
    json_t *o;
    json_array_foreach(opts, i, o) {
        if (json_equal(o, v)) return 1;
    }
    return 0;
}

static int validate_fields(json_t *fields, const char *file, err *e) {
    static const char *const keys[] = {"name",     "label", "type", "options",
                                       "required", "min",   "max",  NULL};
    if (!json_is_array(fields) || json_array_size(fields) > 32)
        return bad(e, file, "fields", "须为至多 32 项的数组");
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f) {
        char p[64];
        pathf(p, sizeof(p), "fields[%zu]", i);
        if (!json_is_object(f)) return bad(e, file, p, "须为对象");
        if (only_keys(f, keys, file, p, e) != 0) return -1;
        char q[96];
        const char *name = jsonx_str(f, "name");
        pathf(q, sizeof(q), "%s.name", p);
        if (!is_ident(name, 40))
            return bad(e, file, q, "须为小写字母开头的 [a-z0-9_]，至多 40 字节");
        for (size_t k = 0; k < i; k++)
            if (!strcmp(jsonx_str(json_array_get(fields, k), "name"), name))
                return bad(e, file, q, "与 fields[%zu] 重名", k);
        pathf(q, sizeof(q), "%s.label", p);
        if (!text_ok(json_object_get(f, "label"), 128))
            return bad(e, file, q, "须为 1–128 字节的文字");
        const char *type = jsonx_str(f, "type");
        pathf(q, sizeof(q), "%s.type", p);
        if (!in_list(type, field_types))
            return bad(e, file, q,
                       "须为 text、textarea、number、date、select、idcard、phone 或 credit_code");
        json_t *opts = json_object_get(f, "options");
        pathf(q, sizeof(q), "%s.options", p);
        if ((strcmp(type, "select") == 0) != (opts != NULL))
            return bad(e, file, q, "select 类型须有 options，其他类型不能有");
        if (opts) {
            if (!json_is_array(opts) || json_array_size(opts) == 0 || json_array_size(opts) > 50)
                return bad(e, file, q, "须为 1–50 项的数组");
            size_t k;
            json_t *o;
            json_array_foreach(opts, k, o) {
                if (!text_ok(o, 128)) return bad(e, file, q, "第 %zu 项须为 1–128 字节的文字", k);
            }
        }
        json_t *req = json_object_get(f, "required");
        pathf(q, sizeof(q), "%s.required", p);
        if (req && !json_is_boolean(req)) return bad(e, file, q, "须为 true 或 false");
        json_t *min = json_object_get(f, "min"), *max = json_object_get(f, "max");
        pathf(q, sizeof(q), "%s.min", p);
        if ((min || max) && strcmp(type, "number") != 0)
            return bad(e, file, q, "min/max 只用于 number 字段");
        if ((min && !json_is_number(min)) || (max && !json_is_number(max)))
            return bad(e, file, q, "min/max 须为数字");
    }
    return 0;
}

static int validate_field_rule(json_t *r, json_t *fields, const char *file, const char *p, err *e) {
    char q[96];
    const char *fname = jsonx_str(r, "field");
    pathf(q, sizeof(q), "%s.field", p);
    json_t *field = fname ? find_field(fields, fname) : NULL;
    if (!field) return bad(e, file, q, "须为 fields 中声明的字段名");
    const char *op = jsonx_str(r, "op");
    pathf(q, sizeof(q), "%s.op", p);
    if (!in_list(op, ops))
        return bad(e, file, q,
                   "须为 equals、not_equals、in、not_in、range、present 或 date_within_days");
    const char *ftype = jsonx_str(field, "type");
    json_t *value = json_object_get(r, "value");
    json_t *values = json_object_get(r, "values");
    json_t *min = json_object_get(r, "min"), *max = json_object_get(r, "max");
    json_t *days = json_object_get(r, "days");
    int eq = !strcmp(op, "equals") || !strcmp(op, "not_equals");
    int in = !strcmp(op, "in") || !strcmp(op, "not_in");
    int range = !strcmp(op, "range");
    int within = !strcmp(op, "date_within_days");
    /* Each operator takes exactly its own operands. */
    struct {
        const char *key;
        json_t *v;
        int wanted;
    } operands[] = {{"value", value, eq},
                    {"values", values, in},
                    {"min", min, range},
                    {"max", max, range},
                    {"days", days, within}};
    for (size_t i = 0; i < sizeof(operands) / sizeof(operands[0]); i++) {
        pathf(q, sizeof(q), "%s.%s", p, operands[i].key);
        if (operands[i].v && !operands[i].wanted) return bad(e, file, q, "运算 %s 不使用此项", op);
    }
    if (eq) {
        pathf(q, sizeof(q), "%s.value", p);
        if (!value || !is_scalar(value)) return bad(e, file, q, "须为字符串、数字或布尔值");
        if (!option_ok(field, value)) return bad(e, file, q, "不是字段 %s 的选项之一", fname);
    }
    if (in) {
        pathf(q, sizeof(q), "%s.values", p);
        if (!json_is_array(values) || json_array_size(values) == 0 || json_array_size(values) > 50)
            return bad(e, file, q, "须为 1–50 项的数组");
        size_t i;
        json_t *v;
        json_array_foreach(values, i, v) {
            pathf(q, sizeof(q), "%s.values[%zu]", p, i);
            if (!is_scalar(v)) return bad(e, file, q, "须为字符串、数字或布尔值");
            if (!option_ok(field, v)) return bad(e, file, q, "不是字段 %s 的选项之一", fname);
        }
    }
    if (range) {
        pathf(q, sizeof(q), "%s.min", p);
        if (!min && !max) return bad(e, file, q, "range 须有 min 或 max");
        if (min && !json_is_number(min)) return bad(e, file, q, "须为数字");
        pathf(q, sizeof(q), "%s.max", p);
        if (max && !json_is_number(max)) return bad(e, file, q, "须为数字");
        if (min && max && json_number_value(min) > json_number_value(max))
            return bad(e, file, q, "不能小于 min");
        pathf(q, sizeof(q), "%s.op", p);
        if (strcmp(ftype, "number") != 0) return bad(e, file, q, "range 只用于 number 字段");
    }
    if (within) {
        if (int_member(r, "days", 0, 36500, 1, file, p, e) != 0) return -1;
        pathf(q, sizeof(q), "%s.op", p);
        if (strcmp(ftype, "date") != 0) return bad(e, file, q, "date_within_days 只用于 date 字段");
    }
    return 0;
}

/* "when": {"field": F, "in": [values]} — the rule applies only when form field F has
 * one of the values. */
static int validate_when(json_t *when, json_t *fields, const char *file, const char *p, err *e) {
    static const char *const keys[] = {"field", "in", NULL};
    char q[96];
    pathf(q, sizeof(q), "%s.when", p);
    if (!json_is_object(when)) return bad(e, file, q, "须为对象 {\"field\", \"in\"}");
    if (only_keys(when, keys, file, q, e) != 0) return -1;
    const char *fname = jsonx_str(when, "field");
    json_t *field = fname ? find_field(fields, fname) : NULL;
    pathf(q, sizeof(q), "%s.when.field", p);
    if (!field) return bad(e, file, q, "须为 fields 中声明的字段名");
    json_t *values = json_object_get(when, "in");
    pathf(q, sizeof(q), "%s.when.in", p);
    if (!json_is_array(values) || json_array_size(values) == 0 || json_array_size(values) > 50)
        return bad(e, file, q, "须为 1–50 项的数组");
    size_t i;
    json_t *v;
    json_array_foreach(values, i, v) {
        pathf(q, sizeof(q), "%s.when.in[%zu]", p, i);
        if (!is_scalar(v)) return bad(e, file, q, "须为字符串、数字或布尔值");
        if (!option_ok(field, v)) return bad(e, file, q, "不是字段 %s 的选项之一", fname);
    }
    return 0;
}

static int validate_rule(json_t *r, json_t *fields, json_t *rules, size_t idx, const char *file,
                         err *e) {
    static const char *const common[] = {"id", "check", "description", "when"};
    static const char *const keys_by_check[][8] = {
        {"kinds"},
        {"licence", "expires_within_days"},
        {"licence"},
        {"min", "max"},
        {"region", "sources"},
        {"items"},
        {"items", "within_days"},
        {"field", "op", "value", "values", "min", "max", "days"},
    };
    char p[64], q[96];
    pathf(p, sizeof(p), "rules[%zu]", idx);
    if (!json_is_object(r)) return bad(e, file, p, "须为对象");
    const char *id = jsonx_str(r, "id");
    pathf(q, sizeof(q), "%s.id", p);
    if (!is_ident(id, 40)) return bad(e, file, q, "须为小写字母开头的 [a-z0-9_]，至多 40 字节");
    for (size_t k = 0; k < idx; k++)
        if (!strcmp(jsonx_str(json_array_get(rules, k), "id"), id))
            return bad(e, file, q, "与 rules[%zu] 重名", k);
    const char *check = jsonx_str(r, "check");
    pathf(q, sizeof(q), "%s.check", p);
    int ci = -1;
    for (int i = 0; checks[i]; i++)
        if (check && !strcmp(check, checks[i])) ci = i;
    if (ci < 0)
        return bad(e, file, q,
                   "须为 applicant、licence、licence_absent、age、residence、no_open_case、"
                   "not_done_before 或 field");
    pathf(q, sizeof(q), "%s.description", p);
    if (!text_ok(json_object_get(r, "description"), 512))
        return bad(e, file, q, "须为 1–512 字节的中文说明");
    const char *allowed[16];
    size_t na = 0;
    for (size_t i = 0; i < 4; i++)
        allowed[na++] = common[i];
    for (size_t i = 0; i < 8 && keys_by_check[ci][i]; i++)
        allowed[na++] = keys_by_check[ci][i];
    allowed[na] = NULL;
    if (only_keys(r, allowed, file, p, e) != 0) return -1;
    json_t *when = json_object_get(r, "when");
    if (when && validate_when(when, fields, file, p, e) != 0) return -1;
    switch (ci) {
    case 0:
        return string_list(r, "kinds", kinds, 2, 1, file, p, e);
    case 1:
    case 2:
        pathf(q, sizeof(q), "%s.licence", p);
        if (!text_ok(json_object_get(r, "licence"), LICENCES_TYPE_MAX))
            return bad(e, file, q, "须为证照类型名称（data/catalog/licences.json）");
        return int_member(r, "expires_within_days", 0, 3650, 0, file, p, e);
    case 3:
        if (!json_object_get(r, "min") && !json_object_get(r, "max"))
            return bad(e, file, p, "age 须有 min 或 max");
        if (int_member(r, "min", 0, 150, 0, file, p, e) != 0 ||
            int_member(r, "max", 0, 150, 0, file, p, e) != 0)
            return -1;
        if (json_object_get(r, "min") && json_object_get(r, "max") &&
            jsonx_int(r, "min", 0) > jsonx_int(r, "max", 0)) {
            pathf(q, sizeof(q), "%s.max", p);
            return bad(e, file, q, "不能小于 min");
        }
        return 0;
    case 4: {
        const char *region = jsonx_str(r, "region");
        size_t n = region ? strlen(region) : 0;
        int digits = n >= 2 && n <= 9;
        for (size_t i = 0; digits && i < n; i++)
            digits = region[i] >= '0' && region[i] <= '9';
        pathf(q, sizeof(q), "%s.region", p);
        if (!digits) return bad(e, file, q, "须为 2–9 位数字的行政区划前缀（如 3309）");
        return string_list(r, "sources", sources, 3, 0, file, p, e);
    }
    case 5:
        return string_list(r, "items", NULL, 20, 0, file, p, e);
    case 6:
        if (string_list(r, "items", NULL, 20, 0, file, p, e) != 0) return -1;
        return int_member(r, "within_days", 1, 36500, 0, file, p, e);
    default:
        return validate_field_rule(r, fields, file, p, e);
    }
}

int rules_validate(const char *name, json_t *doc, err *e) {
    static const char *const keys[] = {"item",        "name",   "version", "basis",
                                       "description", "fields", "rules",   NULL};
    const char *file = name ? name : "rules";
    if (!json_is_object(doc)) return bad(e, file, "$", "规则文件须为 JSON 对象");
    if (only_keys(doc, keys, file, "", e) != 0) return -1;
    const char *item = jsonx_str(doc, "item");
    if (!catalog_code_valid(item)) return bad(e, file, "item", "须为事项编码，如 330900-GA-100031");
    size_t il = strlen(item);
    if (name && (strncmp(name, item, il) != 0 || strcmp(name + il, ".json") != 0))
        return bad(e, file, "item", "须与文件名一致（%s.json）", item);
    if (!text_ok(json_object_get(doc, "name"), 256)) return bad(e, file, "name", "须为事项名称");
    if (int_member(doc, "version", 1, 1000000, 0, file, "", e) != 0) return -1;
    json_t *basis = json_object_get(doc, "basis");
    if (basis && !text_ok(basis, 1024)) return bad(e, file, "basis", "须为 1–1024 字节的文字");
    json_t *desc = json_object_get(doc, "description");
    if (desc && !text_ok(desc, 1024)) return bad(e, file, "description", "须为 1–1024 字节的文字");
    json_t *fields = json_object_get(doc, "fields");
    json_t *empty = NULL;
    if (fields) {
        if (validate_fields(fields, file, e) != 0) return -1;
    } else {
        fields = empty = json_array();
    }
    json_t *rules = json_object_get(doc, "rules");
    int rc = 0;
    if (!json_is_array(rules) || json_array_size(rules) == 0 ||
        json_array_size(rules) > RULES_MAX_RULES)
        rc = bad(e, file, "rules", "须为 1–%d 条规则的数组", RULES_MAX_RULES);
    size_t i;
    json_t *r;
    if (rc == 0) json_array_foreach(rules, i, r) {
            if ((rc = validate_rule(r, fields, rules, i, file, e)) != 0) break;
        }
    json_decref(empty);
    return rc;
}

/* Read and validate path as file name `name`. New reference or NULL with e. */
static json_t *load_file(const char *path, const char *name, err *e) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) {
            err_notfound(e, "%s: 没有这个规则文件", name);
            return NULL;
        }
        err_set(e, 422, "unprocessable", "", "%s: 无法读取：%s", name, strerror(errno));
        return NULL;
    }
    char *buf = xmalloc(RULES_FILE_MAX + 1);
    size_t n = fread(buf, 1, RULES_FILE_MAX + 1, f);
    fclose(f);
    if (n > RULES_FILE_MAX) {
        free(buf);
        err_set(e, 413, "payload_too_large", "", "%s: 文件超过 %u 字节", name, RULES_FILE_MAX);
        return NULL;
    }
    err pe = {0};
    json_t *doc = jsonx_parse(buf, n, JSONX_MAX_DEPTH, &pe);
    free(buf);
    if (!doc) {
        err_set(e, 422, "unprocessable", "$", "%s: 不是有效的 JSON：%s", name, pe.message);
        return NULL;
    }
    if (rules_validate(name, doc, e) != 0) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* ---- the cache ---- */

static uint64_t mono_ns(void) {
    return time_mono_ns();
}

/* The validated document for code: a new reference, or NULL with e (404 no file,
 * 422/413 broken file). */
static json_t *cached(const char *code, err *e) {
    if (!catalog_code_valid(code)) {
        err_notfound(e, "没有事项 %.40s 的秒办规则", code ? code : "");
        return NULL;
    }
    pthread_mutex_lock(&lock);
    const char *dir = dir_locked();
    cache_entry *c = NULL;
    for (size_t i = 0; i < cache_len; i++)
        if (!strcmp(cache[i].code, code)) c = &cache[i];
    uint64_t now = mono_ns();
    if (!c || now - c->checked_ns > 1000000000ull) {
        char path[1200], name[64];
        snprintf(path, sizeof(path), "%s/%s.json", dir, code);
        snprintf(name, sizeof(name), "%s.json", code);
        struct stat st;
        int exists = stat(path, &st) == 0;
        int changed = !c || !exists || c->mtime != st.st_mtim.tv_sec ||
                      c->mtime_ns != st.st_mtim.tv_nsec || c->size != st.st_size;
        if (!c && cache_len < RULES_MAX_ITEMS) {
            cache = xrealloc(cache, (cache_len + 1) * sizeof(*cache));
            c = &cache[cache_len++];
            memset(c, 0, sizeof(*c));
            snprintf(c->code, sizeof(c->code), "%s", code);
        }
        if (c && changed) {
            json_decref(c->doc);
            c->doc = NULL;
            err_clear(&c->error);
            if (!exists) {
                err_notfound(&c->error, "%s: 没有这个规则文件", name);
            } else {
                c->doc = load_file(path, name, &c->error);
                if (!c->doc) log_error("rules: %s", c->error.message);
            }
            c->mtime = exists ? st.st_mtim.tv_sec : 0;
            c->mtime_ns = exists ? st.st_mtim.tv_nsec : 0;
            c->size = exists ? st.st_size : 0;
        }
        if (c) c->checked_ns = now;
        if (!c) { /* cache full: load without caching */
            json_t *doc = exists ? load_file(path, name, e) : NULL;
            if (!exists) err_notfound(e, "%s: 没有这个规则文件", name);
            pthread_mutex_unlock(&lock);
            return doc;
        }
    }
    json_t *doc = c->doc ? json_incref(c->doc) : NULL;
    if (!doc && e) *e = c->error;
    pthread_mutex_unlock(&lock);
    return doc;
}

int rules_exist(const char *item_code) {
    json_t *doc = cached(item_code, NULL);
    json_decref(doc);
    return doc != NULL;
}

json_t *rules_load(const char *item_code, err *e) {
    json_t *doc = cached(item_code, e);
    if (!doc) return NULL;
    json_t *copy = json_deep_copy(doc);
    json_decref(doc);
    return copy;
}

json_t *rules_form_fields(const char *item_code) {
    json_t *doc = cached(item_code, NULL);
    json_t *fields = doc ? json_object_get(doc, "fields") : NULL;
    json_t *out = fields ? json_deep_copy(fields) : json_array();
    json_decref(doc);
    return out;
}

int rules_check_dir(const char *dir, err *e) {
    DIR *dh = opendir(dir);
    if (!dh)
        return err_set(e, 422, "unprocessable", "", "%s: 无法打开目录：%s", dir, strerror(errno));
    int count = 0, rc = 0;
    struct dirent *de;
    /* Sorted order would be nicer for messages, but the first error is what counts. */
    while ((de = readdir(dh))) {
        size_t n = strlen(de->d_name);
        if (de->d_name[0] == '.' || n < 6 || strcmp(de->d_name + n - 5, ".json") != 0) continue;
        char path[1200];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        json_t *doc = load_file(path, de->d_name, e);
        if (!doc) {
            rc = -1;
            break;
        }
        json_decref(doc);
        count++;
    }
    closedir(dh);
    return rc ? -1 : count;
}

/* ---- the decision ---- */

typedef struct ctx {
    db *d;
    const rules_input *in;
    json_t *fields;
    char today[16]; /* Shanghai date of the decision */
    int64_t now;
} ctx;

enum { PASS, FAIL, UNKNOWN };
static const char *const result_names[] = {"pass", "fail", "unknown"};

static int detailf(char *buf, size_t n, int result, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int detailf(char *buf, size_t n, int result, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    return result;
}

static const char *region_name(const char *code, char *buf, size_t n) {
    static const struct {
        const char *code, *name;
    } names[] = {{"33", "浙江省"},     {"3309", "舟山市"},   {"330900", "舟山市本级"},
                 {"330902", "定海区"}, {"330903", "普陀区"}, {"330921", "岱山县"},
                 {"330922", "嵊泗县"}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!strcmp(names[i].code, code)) return names[i].name;
    snprintf(buf, n, "区划 %s", code);
    return buf;
}

static int check_applicant(ctx *c, json_t *r, char *detail, size_t n) {
    const char *role = c->in->applicant_role;
    if (!role || !*role) return detailf(detail, n, UNKNOWN, "无法确定申请人类型");
    const char *label = !strcmp(role, "citizen")   ? "个人"
                        : !strcmp(role, "company") ? "企业"
                                                   : role;
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(r, "kinds"), i, k) {
        if (!strcmp(json_string_value(k), role))
            return detailf(detail, n, PASS, "申请人为%s", label);
    }
    return detailf(detail, n, FAIL, "申请人为%s，本事项不适用", label);
}

static const char *status_words(const char *status) {
    if (!strcmp(status, "expired")) return "已过有效期";
    if (!strcmp(status, "revoked")) return "已被撤销";
    if (!strcmp(status, "superseded")) return "已换发新证，旧证失效";
    return "无效";
}

static int check_licence(ctx *c, json_t *r, int absent, char *detail, size_t n, err *e) {
    const char *type = jsonx_str(r, "licence");
    licences_found f;
    int rc = licences_lookup(c->d, c->in->applicant_id, type, c->in->now_iso, &f, e);
    json_decref(f.data);
    if (rc < 0) return -1;
    if (absent) {
        if (rc == 1) return detailf(detail, n, FAIL, "证照库中已有有效的%s", type);
        return detailf(detail, n, PASS, "证照库中没有有效的%s", type);
    }
    if (rc == 0) {
        if (f.id == 0) return detailf(detail, n, FAIL, "证照库中没有%s", type);
        if (f.valid_until[0])
            return detailf(detail, n, FAIL, "证照库中的%s%s（有效期至 %s）", type,
                           status_words(f.status), f.valid_until);
        return detailf(detail, n, FAIL, "证照库中的%s%s", type, status_words(f.status));
    }
    json_t *within = json_object_get(r, "expires_within_days");
    if (within) {
        long w = (long)json_integer_value(within);
        if (!f.valid_until[0])
            return detailf(detail, n, FAIL, "证照库中的%s长期有效，无需换领", type);
        workcal_date a, b;
        workcal_date_parse(c->today, &a);
        workcal_date_parse(f.valid_until, &b);
        long left = (long)((workcal_local_instant(b, 0) - workcal_local_instant(a, 0)) / 86400);
        if (left > w)
            return detailf(detail, n, FAIL, "%s有效期至 %s，尚未进入届满前 %ld 日的换领期", type,
                           f.valid_until, w);
        return detailf(detail, n, PASS, "%s有效期至 %s，在届满前 %ld 日内", type, f.valid_until, w);
    }
    if (f.valid_until[0])
        return detailf(detail, n, PASS, "证照库核验：%s有效（有效期至 %s）", type, f.valid_until);
    return detailf(detail, n, PASS, "证照库核验：%s长期有效", type);
}

/* Age in whole years on the date `today` for a valid resident ID number; -1 if unknown. */
static int age_on(const char *id_number, const char *today) {
    if (!id_number || !idcard_valid(id_number)) return -1;
    int by = 0, bm = 0, bd = 0, ty = 0, tm = 0, td = 0;
    if (sscanf(id_number + 6, "%4d%2d%2d", &by, &bm, &bd) != 3) return -1;
    if (sscanf(today, "%4d-%2d-%2d", &ty, &tm, &td) != 3) return -1;
    int age = ty - by;
    if (tm < bm || (tm == bm && td < bd)) age--;
    return age;
}

static int check_age(ctx *c, json_t *r, char *detail, size_t n) {
    int age = age_on(c->in->id_number, c->today);
    if (age < 0) return detailf(detail, n, UNKNOWN, "没有可核验的公民身份号码，无法计算年龄");
    json_t *min = json_object_get(r, "min"), *max = json_object_get(r, "max");
    if (min && age < json_integer_value(min))
        return detailf(detail, n, FAIL, "申请人 %d 周岁，未满 %lld 周岁", age,
                       (long long)json_integer_value(min));
    if (max && age > json_integer_value(max))
        return detailf(detail, n, FAIL, "申请人 %d 周岁，超过 %lld 周岁", age,
                       (long long)json_integer_value(max));
    return detailf(detail, n, PASS, "申请人 %d 周岁，符合年龄条件", age);
}

static int source_wanted(json_t *r, const char *s) {
    json_t *list = json_object_get(r, "sources");
    if (!list) return 1;
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        if (!strcmp(json_string_value(v), s)) return 1;
    }
    return 0;
}

static int check_residence(ctx *c, json_t *r, char *detail, size_t n, err *e) {
    const char *region = jsonx_str(r, "region");
    size_t rl = strlen(region);
    char nb[32];
    const char *rname = region_name(region, nb, sizeof(nb));
    int known = 0;
    if (source_wanted(r, "hukou")) {
        licences_found f;
        int rc = licences_lookup(c->d, c->in->applicant_id, "居民户口簿", c->in->now_iso, &f, e);
        const char *code = rc == 1 ? jsonx_str(f.data, "region_code") : NULL;
        int match = code && strncmp(code, region, rl) == 0;
        known |= code != NULL;
        json_decref(f.data);
        if (rc < 0) return -1;
        if (match) return detailf(detail, n, PASS, "居民户口簿登记在%s", rname);
    }
    if (source_wanted(r, "id_number") && c->in->id_number && idcard_valid(c->in->id_number)) {
        known = 1;
        if (!strncmp(c->in->id_number, region, rl))
            return detailf(detail, n, PASS, "公民身份号码地址码属%s", rname);
    }
    const char *town = c->in->town_code;
    if (source_wanted(r, "town_code") && town && *town) {
        known = 1;
        if (!strncmp(town, region, rl))
            return detailf(detail, n, PASS, "申请人所在乡镇（街道）属%s", rname);
    }
    if (!known)
        return detailf(detail, n, UNKNOWN, "没有户籍、身份证或所在乡镇信息，无法核验是否属%s",
                       rname);
    return detailf(detail, n, FAIL, "户籍、身份证地址码和所在乡镇均不属%s", rname);
}

/* Count the applicant's cases of the items (the rule's, else this item) with a status
 * in `statuses` (an SQL list literal), optionally decided since `since`. The first
 * case number found goes to case_no. */
static int count_cases(ctx *c, json_t *r, int done, const char *since, int64_t *count,
                       char *case_no, size_t cn, err *e) {
    *count = 0;
    case_no[0] = '\0';
    json_t *items = json_object_get(r, "items");
    size_t nitems = items ? json_array_size(items) : 1;
    for (size_t i = 0; i < nitems; i++) {
        const char *item = items ? json_string_value(json_array_get(items, i)) : c->in->item_code;
        db_stmt *s;
        if (!done)
            s = db_query(c->d, e,
                         "SELECT case_no FROM cases WHERE applicant_id = $1 AND item_code = $2 "
                         "AND id <> $3 AND status IN " OPEN_STATUSES " ORDER BY id",
                         "isi", c->in->applicant_id, item, c->in->case_id);
        else
            s = db_query(c->d, e,
                         "SELECT case_no FROM cases WHERE applicant_id = $1 AND item_code = $2 "
                         "AND id <> $3 AND status IN " DONE_STATUSES
                         " AND COALESCE(decided_at, updated_at) >= $4 ORDER BY id",
                         "isis", c->in->applicant_id, item, c->in->case_id, since ? since : "0000");
        if (!s) return -1;
        int rc;
        while ((rc = db_step(s)) == DB_ROW) {
            if (!case_no[0]) {
                const char *no = db_column_text(s, 0);
                snprintf(case_no, cn, "%s", no ? no : "");
            }
            (*count)++;
        }
        db_reset(s);
        if (rc == DB_ERROR) return err_internal(e, "case lookup failed: %s", db_errmsg(c->d));
    }
    return 0;
}

static int check_cases(ctx *c, json_t *r, int done, char *detail, size_t n, err *e) {
    int64_t count = 0;
    char case_no[64], since[32] = "";
    json_t *within = json_object_get(r, "within_days");
    if (done && within)
        time_iso(since, sizeof(since), c->now - (int64_t)json_integer_value(within) * 86400);
    if (count_cases(c, r, done, since[0] ? since : NULL, &count, case_no, sizeof(case_no), e) != 0)
        return -1;
    if (!done) {
        if (count == 0) return detailf(detail, n, PASS, "没有未办结的同类申请");
        return detailf(detail, n, FAIL, "已有 %lld 件未办结的同类申请（受理编号 %s）",
                       (long long)count, case_no);
    }
    if (count == 0)
        return within ? detailf(detail, n, PASS, "%lld 日内没有办结过同类申请",
                                (long long)json_integer_value(within))
                      : detailf(detail, n, PASS, "没有办结过同类申请");
    if (within)
        return detailf(detail, n, FAIL, "%lld 日内已办结过同类申请（受理编号 %s）",
                       (long long)json_integer_value(within), case_no);
    return detailf(detail, n, FAIL, "已办结过同类申请（受理编号 %s），不能重复办理", case_no);
}

/* A form value shown in a detail: scalars, with digit runs and control characters
 * scrubbed and the length capped. */
static const char *shown(json_t *v, char *buf, size_t n) {
    char raw[128];
    if (json_is_string(v)) {
        /* At most 60 bytes, cut at a character boundary. */
        const char *s = json_string_value(v);
        size_t len = 0;
        while (s[len]) {
            size_t step = 1;
            unsigned char b = (unsigned char)s[len];
            if (b >= 0xf0)
                step = 4;
            else if (b >= 0xe0)
                step = 3;
            else if (b >= 0xc0)
                step = 2;
            if (len + step > 60) break;
            len += step;
        }
        snprintf(raw, sizeof(raw), "%.*s%s", (int)len, s, s[len] ? "…" : "");
    } else if (json_is_integer(v)) {
        snprintf(raw, sizeof(raw), "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        snprintf(raw, sizeof(raw), "%g", json_real_value(v));
    } else if (json_is_boolean(v)) {
        snprintf(raw, sizeof(raw), "%s", json_is_true(v) ? "是" : "否");
    } else {
        snprintf(raw, sizeof(raw), "（非文字值）");
    }
    return log_sanitize(buf, n, raw);
}

/* A number from a JSON number or a numeric string; 0 if neither. */
static int as_number(json_t *v, double *out) {
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 1;
    }
    const char *s = json_string_value(v);
    if (!s || !*s) return 0;
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (errno || *end || !isfinite(x)) return 0;
    *out = x;
    return 1;
}

static int scalar_equal(json_t *a, json_t *b) {
    double x, y;
    if (json_is_number(a) && as_number(b, &x) && as_number(a, &y)) return x == y;
    if (json_is_number(b) && as_number(a, &x) && as_number(b, &y)) return x == y;
    if (json_is_boolean(a) && json_is_string(b))
        return !strcmp(json_string_value(b), json_is_true(a) ? "true" : "false");
    return json_equal(a, b);
}

static int check_field(ctx *c, json_t *r, char *detail, size_t n) {
    const char *name = jsonx_str(r, "field");
    const char *op = jsonx_str(r, "op");
    json_t *field = find_field(c->fields, name);
    const char *label = field ? jsonx_str(field, "label") : name;
    json_t *v = json_is_object(c->in->form) ? json_object_get(c->in->form, name) : NULL;
    if (!v || json_is_null(v) || (json_is_string(v) && !*json_string_value(v)))
        return detailf(detail, n, UNKNOWN, "未填写“%s”", label);
    char sb[160];
    if (!strcmp(op, "present")) return detailf(detail, n, PASS, "已填写“%s”", label);
    if (!strcmp(op, "equals") || !strcmp(op, "not_equals")) {
        int eq = scalar_equal(json_object_get(r, "value"), v);
        int want = !strcmp(op, "equals");
        char vb[160];
        const char *expect = shown(json_object_get(r, "value"), vb, sizeof(vb));
        if (eq == want)
            return detailf(detail, n, PASS, "“%s”为 %s", label, shown(v, sb, sizeof(sb)));
        return detailf(detail, n, FAIL, "“%s”为 %s，%s %s", label, shown(v, sb, sizeof(sb)),
                       want ? "须为" : "不能为", expect);
    }
    if (!strcmp(op, "in") || !strcmp(op, "not_in")) {
        int found = 0;
        size_t i;
        json_t *x;
        json_array_foreach(json_object_get(r, "values"), i, x) {
            if (scalar_equal(x, v)) found = 1;
        }
        int want = !strcmp(op, "in");
        if (found == want)
            return detailf(detail, n, PASS, "“%s”为 %s", label, shown(v, sb, sizeof(sb)));
        return detailf(detail, n, FAIL, "“%s”为 %s，%s", label, shown(v, sb, sizeof(sb)),
                       want ? "不在可即办的范围内" : "属于须人工审核的情形");
    }
    if (!strcmp(op, "range")) {
        double x;
        if (!as_number(v, &x)) return detailf(detail, n, UNKNOWN, "“%s”不是数字", label);
        json_t *min = json_object_get(r, "min"), *max = json_object_get(r, "max");
        if (min && x < json_number_value(min))
            return detailf(detail, n, FAIL, "“%s”为 %g，低于 %g", label, x, json_number_value(min));
        if (max && x > json_number_value(max))
            return detailf(detail, n, FAIL, "“%s”为 %g，超过 %g", label, x, json_number_value(max));
        return detailf(detail, n, PASS, "“%s”为 %g，在允许范围内", label, x);
    }
    /* date_within_days */
    workcal_date dd, td;
    const char *s = json_string_value(v);
    if (!s || workcal_date_parse(s, &dd) != 0)
        return detailf(detail, n, UNKNOWN, "“%s”不是 YYYY-MM-DD 日期", label);
    workcal_date_parse(c->today, &td);
    long ago = (long)((workcal_local_instant(td, 0) - workcal_local_instant(dd, 0)) / 86400);
    long days = (long)jsonx_int(r, "days", 0);
    if (ago < 0) return detailf(detail, n, FAIL, "“%s”（%s）晚于今天", label, s);
    if (ago > days)
        return detailf(detail, n, FAIL, "“%s”（%s）距今 %ld 日，超过 %ld 日", label, s, ago, days);
    return detailf(detail, n, PASS, "“%s”（%s）在 %ld 日以内", label, s, days);
}

/* 1 if rule r applies (no "when", or the form field has one of the values); 0 if not
 * (detail says so; the rule passes as not applicable); -1 if the field is not filled
 * (unknown). */
static int rule_applies(ctx *c, json_t *r, char *detail, size_t n) {
    json_t *when = json_object_get(r, "when");
    if (!when) return 1;
    const char *name = jsonx_str(when, "field");
    json_t *field = find_field(c->fields, name);
    const char *label = field ? jsonx_str(field, "label") : name;
    json_t *v = json_is_object(c->in->form) ? json_object_get(c->in->form, name) : NULL;
    if (!v || json_is_null(v) || (json_is_string(v) && !*json_string_value(v))) {
        detailf(detail, n, UNKNOWN, "未填写“%s”，无法判断本条是否适用", label);
        return -1;
    }
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(when, "in"), i, x) {
        if (scalar_equal(x, v)) return 1;
    }
    char sb[160];
    detailf(detail, n, PASS, "不适用（“%s”为 %s）", label, shown(v, sb, sizeof(sb)));
    return 0;
}

static json_t *trace_entry(const char *rule, const char *check, const char *description, int result,
                           const char *detail) {
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "rule", rule, "check", check, "description",
                     description, "result", result_names[result], "detail", detail);
}

int rules_decide(db *d, const rules_input *in, json_t **trace_out, err *e) {
    if (trace_out) *trace_out = NULL;
    if (!in || !in->item_code || !*in->item_code)
        return err_invalid(e, "item_code", "缺少事项编码");
    if (in->applicant_id <= 0) return err_invalid(e, "applicant_id", "缺少申请人");
    ctx c = {.d = d, .in = in};
    c.now = time_now();
    if (in->now_iso && time_parse_iso(in->now_iso, &c.now) != 0)
        return err_invalid(e, "now", "时间须为 ISO-8601 格式");
    workcal_date_format(workcal_local_date(c.now), c.today, sizeof(c.today));
    json_t *trace = json_array();
    err le = {0};
    json_t *doc = cached(in->item_code, &le);
    if (!doc) {
        const char *why = le.status == 404 ? "本事项没有秒办规则，转人工审核"
                                           : "本事项的秒办规则文件有误，转人工审核";
        json_array_append_new(trace,
                              trace_entry("rules_file", "rules_file", "秒办规则", UNKNOWN, why));
        if (trace_out)
            *trace_out = trace;
        else
            json_decref(trace);
        return RULES_HUMAN;
    }
    c.fields = json_object_get(doc, "fields");
    json_t *empty = NULL;
    if (!c.fields) c.fields = empty = json_array();
    int all_pass = 1;
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(doc, "rules"), i, r) {
        const char *check = jsonx_str(r, "check");
        char detail[512] = "";
        int res;
        int applies = rule_applies(&c, r, detail, sizeof(detail));
        if (applies != 1)
            res = applies == 0 ? PASS : UNKNOWN;
        else if (!strcmp(check, "applicant"))
            res = check_applicant(&c, r, detail, sizeof(detail));
        else if (!strcmp(check, "licence"))
            res = check_licence(&c, r, 0, detail, sizeof(detail), e);
        else if (!strcmp(check, "licence_absent"))
            res = check_licence(&c, r, 1, detail, sizeof(detail), e);
        else if (!strcmp(check, "age"))
            res = check_age(&c, r, detail, sizeof(detail));
        else if (!strcmp(check, "residence"))
            res = check_residence(&c, r, detail, sizeof(detail), e);
        else if (!strcmp(check, "no_open_case"))
            res = check_cases(&c, r, 0, detail, sizeof(detail), e);
        else if (!strcmp(check, "not_done_before"))
            res = check_cases(&c, r, 1, detail, sizeof(detail), e);
        else
            res = check_field(&c, r, detail, sizeof(detail));
        if (res < 0) {
            json_decref(trace);
            json_decref(empty);
            json_decref(doc);
            return -1;
        }
        if (res != PASS) all_pass = 0;
        json_array_append_new(trace, trace_entry(jsonx_str(r, "id"), check,
                                                 jsonx_str(r, "description"), res, detail));
    }
    json_decref(empty);
    json_decref(doc);
    if (trace_out)
        *trace_out = trace;
    else
        json_decref(trace);
    return all_pass ? RULES_APPROVE : RULES_HUMAN;
}

/* ---- isle rules ---- */

static int cli_usage(void) {
    fprintf(stderr, "usage: isle rules check [--catalog]   validate data/cases/rules/*.json\n"
                    "       isle rules show CODE           print an item's validated rules\n");
    return 2;
}

/* Cross-check the files with the database's catalog. Returns problems found, -1 on error. */
static int cli_catalog_check(const cli_env *env, const char *dir) {
    db *d = NULL;
    err e = {0};
    if (db_open(env->db_path, &d, &e) != 0) {
        fprintf(stderr, "isle rules: %s\n", e.message);
        return -1;
    }
    int problems = 0;
    db_stmt *s = db_query(d, &e, "SELECT code, instant FROM catalog_items ORDER BY code", "");
    int rc = s ? DB_ROW : DB_ERROR;
    int items = 0;
    while (s && (rc = db_step(s)) == DB_ROW) {
        const char *code = db_column_text(s, 0);
        int instant = (int)db_column_int64(s, 1);
        char path[1200];
        snprintf(path, sizeof(path), "%s/%s.json", dir, code);
        struct stat st;
        int has = stat(path, &st) == 0;
        items++;
        if (instant && !has) {
            fprintf(stderr, "%s: instant item without a rule file\n", code);
            problems++;
        } else if (!instant && has) {
            fprintf(stderr, "%s.json: the item is not marked instant in the catalog\n", code);
            problems++;
        }
    }
    if (s) db_reset(s);
    if (rc == DB_ERROR) {
        fprintf(stderr, "isle rules: catalog query failed: %s\n", db_errmsg(d));
        db_close(d);
        return -1;
    }
    if (items == 0) fprintf(stderr, "isle rules: the database has no catalog (run isle demo)\n");
    /* Every licence type named by a rule must be a catalog type. */
    DIR *dh = opendir(dir);
    struct dirent *de;
    while (dh && (de = readdir(dh))) {
        size_t n = strlen(de->d_name);
        if (de->d_name[0] == '.' || n < 6 || strcmp(de->d_name + n - 5, ".json")) continue;
        char path[1200];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        json_t *doc = load_file(path, de->d_name, &e);
        size_t i;
        json_t *r;
        json_array_foreach(doc ? json_object_get(doc, "rules") : NULL, i, r) {
            const char *type = jsonx_str(r, "licence");
            int64_t one = 0;
            if (type && db_query_int(d, &e, &one, "SELECT 1 FROM catalog_licences WHERE type = $1",
                                     "s", type) == 1) {
                fprintf(stderr, "%s: rules[%zu].licence: %s is not a catalog licence type\n",
                        de->d_name, i, type);
                problems++;
            }
        }
        json_decref(doc);
    }
    if (dh) closedir(dh);
    db_close(d);
    return problems;
}

int rules_cli(const cli_env *env, int argc, char **argv) {
    if (argc < 2) return cli_usage();
    if (env && env->data_dir) rules_set_data_dir(env->data_dir);
    const char *dir = rules_dir();
    err e = {0};
    if (!strcmp(argv[1], "check")) {
        int catalog = argc > 2 && !strcmp(argv[2], "--catalog");
        if (argc > 2 + catalog) return cli_usage();
        int n = rules_check_dir(dir, &e);
        if (n < 0) {
            fprintf(stderr, "%s\n", e.message);
            return 1;
        }
        if (catalog) {
            int problems = cli_catalog_check(env, dir);
            if (problems != 0) return 1;
        }
        printf("%d rule files in %s: valid%s\n", n, dir,
               catalog ? ", consistent with the catalog" : "");
        return 0;
    }
    if (!strcmp(argv[1], "show") && argc == 3) {
        json_t *doc = rules_load(argv[2], &e);
        if (!doc) {
            fprintf(stderr, "%s\n", e.message);
            return 1;
        }
        char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", s);
        free(s);
        json_decref(doc);
        return 0;
    }
    return cli_usage();
}
