/* jsonx: limits and field checks for untrusted JSON (see jsonx.h).
 *
 * The depth scan runs before jansson so that a hostile "[[[[…" is refused in
 * linear time without building anything; it only tracks string state and
 * bracket depth, it does not validate JSON (jansson does that next). */
#include "base/jsonx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int depth_exceeds(const char *buf, size_t len, int max_depth) {
    int depth = 0, in_string = 0;
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = 0;
            continue;
        }
        if (c == '"')
            in_string = 1;
        else if (c == '[' || c == '{') {
            if (++depth > max_depth) return 1;
        } else if (c == ']' || c == '}')
            depth--;
    }
    return 0;
}

/* 1 if a string anywhere in v contains a NUL (depth is bounded by jsonx_parse). */
static int has_nul(json_t *v) {
    if (json_is_string(v)) return memchr(json_string_value(v), 0, json_string_length(v)) != NULL;
    if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) if (has_nul(x)) return 1;
    } else if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) if (has_nul(x)) return 1;
    }
    return 0;
}

json_t *jsonx_parse(const char *buf, size_t len, int max_depth, err *e) {
    if (len == 0) {
        err_invalid(e, "", "请求体为空，需要 JSON 对象");
        return NULL;
    }
    if (depth_exceeds(buf, len, max_depth)) {
        err_invalid(e, "", "JSON 嵌套超过 %d 层", max_depth);
        return NULL;
    }
    json_error_t je;
    /* "\u0000" is parsed (JSON_ALLOW_NUL) only to be refused below naming the field:
     * C strings would silently cut the value there, and PostgreSQL's TEXT refuses it. */
    json_t *v =
        json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!v) {
        if (je.position >= 0 && memchr(buf, 0, len))
            err_invalid(e, "", "JSON 格式错误：包含 NUL 字节");
        else {
            /* jansson's text may quote the input ("near 'x'"); keep only the reason. */
            char why[160];
            snprintf(why, sizeof(why), "%s", je.text);
            char *near = strstr(why, " near ");
            if (near) *near = '\0';
            err_invalid(e, "", "JSON 格式错误（第 %d 行第 %d 列）：%s", je.line, je.column, why);
        }
        return NULL;
    }
    if (has_nul(v)) {
        const char *key = "";
        if (json_is_object(v)) {
            const char *k;
            json_t *x;
            json_object_foreach(v, k, x) if (has_nul(x)) {
                key = k;
                break;
            }
        }
        err_invalid(e, key, "字段“%.40s”包含 NUL 字符", key);
        json_decref(v);
        return NULL;
    }
    return v;
}

static const char *type_name(enum jsonx_type t) {
    switch (t) {
    case JX_STRING:
        return "字符串";
    case JX_INT:
        return "整数";
    case JX_BOOL:
        return "true 或 false";
    case JX_NUMBER:
        return "数字";
    case JX_OBJECT:
        return "对象";
    case JX_ARRAY:
        return "数组";
    default:
        return "值";
    }
}

static int type_matches(json_t *v, enum jsonx_type t) {
    switch (t) {
    case JX_STRING:
        return json_is_string(v);
    case JX_INT:
        return json_is_integer(v);
    case JX_BOOL:
        return json_is_boolean(v);
    case JX_NUMBER:
        return json_is_number(v);
    case JX_OBJECT:
        return json_is_object(v);
    case JX_ARRAY:
        return json_is_array(v);
    default:
        return 1;
    }
}

int jsonx_check(json_t *obj, const jsonx_field *spec, err *e) {
    if (!json_is_object(obj)) return err_invalid(e, "", "需要 JSON 对象");
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val) {
        const jsonx_field *f = spec;
        while (f->name && strcmp(f->name, key) != 0)
            f++;
        if (!f->name) return err_invalid(e, key, "未知字段“%.40s”", key);
        if (json_is_null(val)) continue;
        if (!type_matches(val, f->type))
            return err_invalid(e, f->name, "字段“%s”必须是%s", f->name, type_name(f->type));
        if (f->type == JX_STRING) {
            size_t max = f->max_len ? f->max_len : 4096;
            if (json_string_length(val) > max)
                return err_invalid(e, f->name, "字段“%s”超过 %zu 字节", f->name, max);
            if (memchr(json_string_value(val), 0, json_string_length(val)))
                return err_invalid(e, f->name, "字段“%s”包含 NUL 字符", f->name);
        }
        if (f->type == JX_ARRAY && f->max_len && json_array_size(val) > f->max_len)
            return err_invalid(e, f->name, "字段“%s”超过 %zu 项", f->name, f->max_len);
    }
    for (const jsonx_field *f = spec; f->name; f++) {
        if (!f->required) continue;
        json_t *v = json_object_get(obj, f->name);
        if (!v || json_is_null(v)) return err_invalid(e, f->name, "缺少必填字段“%s”", f->name);
    }
    return 0;
}

const char *jsonx_str(json_t *obj, const char *key) {
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

long long jsonx_int(json_t *obj, const char *key, long long def) {
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : def;
}

int jsonx_bool(json_t *obj, const char *key, int def) {
    json_t *v = json_object_get(obj, key);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

json_t *jsonx_str_or_null(const char *s) {
    return s ? json_string(s) : json_null();
}

char *jsonx_dump(const json_t *v) {
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
    if (!s) abort();
    return s;
}
