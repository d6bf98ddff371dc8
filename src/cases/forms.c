/* forms.c: the application form of an item.
 *
 * Every form starts with the applicant's fields, derived from who applies
 * (a person: name, resident ID, phone, address; a company: name, unified social
 * credit code, contact person and phone), then the item's own fields from
 * data/cases/forms.json ({"ITEM-CODE": [{"name","label","type","required",
 * "options","min","max"}]}), then a free-text 申请事由. The file is read at
 * first use (and again when its mtime changes), so staff can add fields to an
 * item without a rebuild; a malformed file is reported naming the field and
 * leaves the previous definitions in force.
 *
 * Field types: text (≤ 200 characters), textarea (≤ 2000), number (min/max),
 * date (YYYY-MM-DD), select (one of options), idcard (GB 11643 with check
 * digit), phone (mobile or landline digits), credit_code (18 characters). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/idcard.h"
#include "base/log.h"
#include "base/xmalloc.h"
#include "cases/forms.h"
#include "cases/rules.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char data_dir[1024] = "data";
static json_t *defs;      /* item code → array of fields */
static time_t defs_mtime; /* of the file last read */

void cases_set_data_dir(const char *dir) {
    pthread_mutex_lock(&lock);
    snprintf(data_dir, sizeof(data_dir), "%s", dir && *dir ? dir : "data");
    json_decref(defs);
    defs = NULL;
    defs_mtime = 0;
    pthread_mutex_unlock(&lock);
}

const char *cases_data_dir(void) {
    return data_dir;
}

static const char *const types[] = {"text",   "textarea", "number",      "date", "select",
                                    "idcard", "phone",    "credit_code", NULL};

static int type_known(const char *t) {
    for (int i = 0; types[i]; i++)
        if (!strcmp(types[i], t)) return 1;
    return 0;
}

/* Check the file's shape: every value an array of fields with name, label, type. */
static int check_defs(json_t *root, err *e) {
    if (!json_is_object(root)) return err_invalid(e, "forms", "forms.json 须为对象");
    const char *code;
    json_t *arr;
    json_object_foreach(root, code, arr) {
        if (!json_is_array(arr)) return err_invalid(e, code, "forms.json: %s 须为数组", code);
        size_t i;
        json_t *f;
        json_array_foreach(arr, i, f) {
            const char *name = json_string_value(json_object_get(f, "name"));
            const char *label = json_string_value(json_object_get(f, "label"));
            const char *type = json_string_value(json_object_get(f, "type"));
            if (!name || !*name || strlen(name) > 40 || !label || !type || !type_known(type))
                return err_invalid(e, code, "forms.json: %s[%zu] 缺少 name/label 或 type 无效",
                                   code, i);
            if (!strcmp(type, "select") && !json_is_array(json_object_get(f, "options")))
                return err_invalid(e, code, "forms.json: %s[%zu] 选择题须有 options", code, i);
        }
    }
    return 0;
}

/* The item-specific fields (new reference) or NULL. */
static json_t *item_fields(const char *code) {
    char path[1100];
    snprintf(path, sizeof(path), "%s/cases/forms.json", data_dir);
    struct stat st;
    json_t *out = NULL;
    pthread_mutex_lock(&lock);
    if (stat(path, &st) == 0 && st.st_mtime != defs_mtime) {
        json_error_t je;
        json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
        err e = {0};
        if (!root)
            log_warn("forms: %s:%d: %s (previous definitions kept)", path, je.line, je.text);
        else if (check_defs(root, &e) != 0) {
            log_warn("forms: %s (previous definitions kept)", e.message);
            json_decref(root);
        } else {
            json_decref(defs);
            defs = root;
        }
        defs_mtime = st.st_mtime;
    }
    if (defs) out = json_incref(json_object_get(defs, code));
    pthread_mutex_unlock(&lock);
    return out;
}

static json_t *field(const char *name, const char *label, const char *type, int required) {
    return json_pack("{s:s, s:s, s:s, s:b}", "name", name, "label", label, "type", type, "required",
                     required);
}

json_t *cases_form_def(const char *item_code, int company) {
    json_t *arr = json_array();
    if (company) {
        json_array_append_new(arr, field("company_name", "企业名称", "text", 1));
        json_array_append_new(arr, field("credit_code", "统一社会信用代码", "credit_code", 1));
        json_array_append_new(arr, field("contact_name", "经办人姓名", "text", 1));
        json_array_append_new(arr, field("contact_phone", "经办人电话", "phone", 1));
    } else {
        json_array_append_new(arr, field("name", "申请人姓名", "text", 1));
        json_array_append_new(arr, field("id_number", "身份证号码", "idcard", 1));
        json_array_append_new(arr, field("phone", "联系电话", "phone", 1));
        json_array_append_new(arr, field("address", "联系地址", "text", 0));
    }
    json_t *extra = item_code ? item_fields(item_code) : NULL;
    if (extra) json_array_extend(arr, extra);
    json_decref(extra);
    /* Fields the item's 秒办 rules read (declared in its rule file). */
    json_t *ruled = item_code ? rules_form_fields(item_code) : NULL;
    size_t i;
    json_t *f;
    json_array_foreach(ruled, i, f) {
        const char *nm = json_string_value(json_object_get(f, "name"));
        int dup = !nm;
        size_t k;
        json_t *g;
        json_array_foreach(arr, k, g) {
            if (nm && !strcmp(json_string_value(json_object_get(g, "name")), nm)) dup = 1;
        }
        if (!dup) json_array_append(arr, f);
    }
    json_decref(ruled);
    json_array_append_new(arr, field("note", "申请事由或补充说明", "textarea", 0));
    return arr;
}

static size_t utf8_chars(const char *s) {
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) n++;
    return n;
}

static int digits_ok(const char *s, size_t min, size_t max, int allow_dash) {
    size_t n = 0;
    for (; *s; s++) {
        if (*s >= '0' && *s <= '9')
            n++;
        else if (!(allow_dash && *s == '-'))
            return 0;
    }
    return n >= min && n <= max;
}

static int date_ok(const char *s) {
    int y, m, d;
    char tail;
    if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3) return 0;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return y >= 1900 && y <= 2200 && m >= 1 && m <= 12 && d >= 1 && d <= mdays[m - 1];
}

static int credit_code_ok(const char *s) {
    if (strlen(s) != 18) return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z'))) return 0;
    return 1;
}

int cases_form_validate(json_t *def, json_t *form, err *e) {
    if (!json_is_object(form)) return err_invalid(e, "form", "表单须为对象");
    /* Unknown fields are refused: the form is what the item asks for. */
    const char *key;
    json_t *v;
    json_object_foreach(form, key, v) {
        int known = 0;
        size_t i;
        json_t *f;
        json_array_foreach(def, i, f) {
            if (!strcmp(json_string_value(json_object_get(f, "name")), key)) known = 1;
        }
        if (!known) {
            char fld[64];
            snprintf(fld, sizeof(fld), "form.%.50s", key);
            return err_invalid(e, fld, "表单没有这一项：%.50s", key);
        }
    }
    size_t i;
    json_t *f;
    json_array_foreach(def, i, f) {
        const char *name = json_string_value(json_object_get(f, "name"));
        const char *label = json_string_value(json_object_get(f, "label"));
        const char *type = json_string_value(json_object_get(f, "type"));
        int required = json_is_true(json_object_get(f, "required"));
        char fld[64];
        snprintf(fld, sizeof(fld), "form.%s", name);
        v = json_object_get(form, name);
        int empty = !v || json_is_null(v) || (json_is_string(v) && !*json_string_value(v));
        if (empty) {
            if (required) return err_invalid(e, fld, "请填写%s", label);
            continue;
        }
        if (!strcmp(type, "number")) {
            if (!json_is_number(v)) return err_invalid(e, fld, "%s须为数字", label);
            double x = json_number_value(v);
            json_t *mn = json_object_get(f, "min"), *mx = json_object_get(f, "max");
            if ((json_is_number(mn) && x < json_number_value(mn)) ||
                (json_is_number(mx) && x > json_number_value(mx)))
                return err_invalid(e, fld, "%s超出允许范围", label);
            continue;
        }
        if (!json_is_string(v)) return err_invalid(e, fld, "%s须为文字", label);
        const char *s = json_string_value(v);
        size_t chars = utf8_chars(s);
        if (!strcmp(type, "textarea")) {
            if (chars > 2000) return err_invalid(e, fld, "%s过长（最多 2000 字）", label);
        } else if (chars > 200) {
            return err_invalid(e, fld, "%s过长（最多 200 字）", label);
        }
        if (!strcmp(type, "date") && !date_ok(s))
            return err_invalid(e, fld, "%s须为日期（如 2026-01-31）", label);
        if (!strcmp(type, "idcard") && !idcard_valid(s))
            return err_invalid(e, fld, "%s不是有效的身份证号码", label);
        if (!strcmp(type, "phone") && !digits_ok(s, 7, 12, 1))
            return err_invalid(e, fld, "%s不是有效的电话号码", label);
        if (!strcmp(type, "credit_code") && !credit_code_ok(s))
            return err_invalid(e, fld, "%s须为 18 位统一社会信用代码", label);
        if (!strcmp(type, "select")) {
            int ok = 0;
            size_t k;
            json_t *o;
            json_array_foreach(json_object_get(f, "options"), k, o) {
                if (json_is_string(o) && !strcmp(json_string_value(o), s)) ok = 1;
            }
            if (!ok) return err_invalid(e, fld, "%s须为给定选项之一", label);
        }
    }
    return 0;
}
