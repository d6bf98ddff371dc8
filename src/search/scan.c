/* search/scan.c: the catalog item as the index reads it (sitem), from a jansson
 * object or straight from the JSON text.
 *
 * Building the index from the database used to spend most of its time decoding
 * each item's JSON document with jansson (a malloc per string, object and array,
 * then freeing them all). The index needs only a few fields, as strings it reads
 * once, so the bulk load scans the text itself: one pass, strings unescaped into
 * one buffer, nothing else allocated. Anything the scanner does not accept
 * (malformed or unusual JSON) makes the caller fall back to jansson, so the two
 * paths index the same items the same way. */
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"
#include "search/internal.h"

void sitem_reset(sitem *it) {
    const char **list[SP_COUNT];
    size_t cap[SP_COUNT];
    memcpy(list, it->list, sizeof(list));
    memcpy(cap, it->cap, sizeof(cap));
    char *buf = it->buf;
    size_t bufcap = it->bufcap;
    memset(it, 0, sizeof(*it));
    memcpy(it->list, list, sizeof(list));
    memcpy(it->cap, cap, sizeof(cap));
    it->buf = buf;
    it->bufcap = bufcap;
}

void sitem_free(sitem *it) {
    for (int k = 0; k < SP_COUNT; k++)
        free(it->list[k]);
    free(it->buf);
    memset(it, 0, sizeof(*it));
}

static void push(sitem *it, int k, const char *text) {
    if (it->n[k] == it->cap[k]) {
        it->cap[k] = it->cap[k] ? it->cap[k] * 2 : 16;
        it->list[k] = xrealloc(it->list[k], it->cap[k] * sizeof(*it->list[k]));
    }
    it->list[k][it->n[k]++] = text;
}

static unsigned scope_bit(const char *t) {
    if (!t) return 0;
    if (!strcmp(t, "跨省通办")) return SCOPE_CROSS_PROVINCE;
    if (!strcmp(t, "全省通办")) return SCOPE_PROVINCE;
    if (!strcmp(t, "甬舟通办")) return SCOPE_YONGZHOU;
    return 0;
}

static unsigned handle_bit(const char *t) {
    for (unsigned k = 0; t && k < 6; k++)
        if (!strcmp(t, search_handle_places[k])) return 1u << k;
    return 0;
}

static const char *jstr(json_t *o, const char *k) {
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

void sitem_from_json(sitem *it, json_t *item) {
    sitem_reset(it);
    it->code = json_string_value(json_object_get(item, "code"));
    it->name = json_string_value(json_object_get(item, "name"));
    it->department = jstr(item, "department");
    it->type = jstr(item, "type");
    it->conditions = jstr(item, "conditions");
    it->result = jstr(item, "result");
    it->fee = jstr(item, "fee");
    json_t *pop = json_object_get(item, "popularity");
    it->popularity = json_is_number(pop) ? json_number_value(pop) : 0.0;
    json_t *pd = json_object_get(item, "promise_days");
    it->promise_days = json_is_number(pd) ? json_number_value(pd) : 0.0;
    it->online_depth = (long)json_integer_value(json_object_get(item, "online_depth"));
    it->commitment = json_is_true(json_object_get(item, "commitment"));
    it->instant = json_is_true(json_object_get(item, "instant"));
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(item, "keywords"), i, v)
        push(it, SP_KW, json_string_value(v));
    json_array_foreach(json_object_get(item, "materials"), i, v) push(it, SP_MAT, jstr(v, "name"));
    json_array_foreach(json_object_get(item, "process"), i, v)
        push(it, SP_PROC, json_string_value(v));
    json_array_foreach(json_object_get(item, "faq"), i, v) {
        push(it, SP_FAQ, jstr(v, "q"));
        push(it, SP_FAQ, jstr(v, "a"));
    }
    json_array_foreach(json_object_get(item, "scope"), i, v) it->scope |=
        scope_bit(json_string_value(v));
    json_array_foreach(json_object_get(item, "handle_at"), i, v) it->handle_at |=
        handle_bit(json_string_value(v));
}

/* ---- the scanner ---- */

typedef struct scanner {
    const char *p, *end;
    char *out; /* next free byte of it->buf */
    int depth;
} scanner;

#define SCAN_MAX_DEPTH 32

static void ws(scanner *sc) {
    while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\n' || *sc->p == '\r'))
        sc->p++;
}

static int hex4(const char *p, unsigned *v) {
    unsigned x = 0;
    for (int k = 0; k < 4; k++) {
        char c = p[k];
        x <<= 4;
        if (c >= '0' && c <= '9')
            x |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            x |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            x |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *v = x;
    return 0;
}

/* The first byte in [p, end) that is a quote, a backslash or a control character
 * (end when none), eight bytes a step: a byte b is flagged by the "has a zero
 * byte" test on b ^ '"', on b ^ '\\' and on b - 0x20 (below 0x20); a borrow
 * only spreads to higher bytes, so the lowest flag is exact. Bytes ≥ 0x80 (UTF-8)
 * are never flagged by the last test. Item texts are mostly long plain runs. */
static const char *plain_run(const char *p, const char *end) {
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    while (end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        uint64_t xq = w ^ (ones * '"'), xb = w ^ (ones * '\\');
        uint64_t m = ((xq - ones) & ~xq) | ((xb - ones) & ~xb) | ((w - ones * 0x20) & ~w);
        m &= highs;
        if (m) return p + (__builtin_ctzll(m) >> 3);
        p += 8;
    }
    while (p < end && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
        p++;
    return p;
}

/* A string at sc->p (the opening quote): unescaped and NUL-terminated into the
 * buffer when keep (else only checked: values the index does not read, such as
 * basis or place); returns its start (when not kept, a non-NULL pointer), or NULL
 * when malformed (or holding \u0000, which jansson refuses too). */
static const char *string_keep(scanner *sc, int keep) {
    if (sc->p >= sc->end || *sc->p != '"') return NULL;
    sc->p++;
    char *start = sc->out, *o = sc->out;
    for (;;) {
        /* Copy the plain run up to the next quote or backslash. */
        const char *q = plain_run(sc->p, sc->end);
        if (keep) {
            memcpy(o, sc->p, (size_t)(q - sc->p));
            o += q - sc->p;
        }
        sc->p = q;
        if (q >= sc->end || (unsigned char)*q < 0x20) return NULL;
        if (*q == '"') {
            sc->p++;
            break;
        }
        if (sc->end - q < 2) return NULL;
        char c = q[1];
        sc->p = q + 2;
        char scratch[4];
        if (!keep) o = scratch; /* escapes are decoded, then dropped */
        switch (c) {
        case '"':
            *o++ = '"';
            break;
        case '\\':
            *o++ = '\\';
            break;
        case '/':
            *o++ = '/';
            break;
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'u': {
            unsigned cp;
            if (sc->end - sc->p < 4 || hex4(sc->p, &cp) != 0) return NULL;
            sc->p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (sc->end - sc->p < 6 || sc->p[0] != '\\' || sc->p[1] != 'u' ||
                    hex4(sc->p + 2, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF)
                    return NULL;
                sc->p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return NULL;
            }
            if (cp == 0) return NULL;
            o += su_put(o, cp);
            break;
        }
        default:
            return NULL;
        }
    }
    if (!keep) return start;
    *o++ = '\0';
    sc->out = o;
    return start;
}

static const char *string(scanner *sc) {
    return string_keep(sc, 1);
}

/* A number: its value, and whether it was written as an integer. 0 or -1. */
static int number(scanner *sc, double *v, int *integer) {
    const char *s = sc->p;
    if (s < sc->end && *s == '-') s++;
    if (s >= sc->end || *s < '0' || *s > '9') return -1;
    *integer = 1;
    while (s < sc->end && ((*s >= '0' && *s <= '9') || *s == '.' || *s == 'e' || *s == 'E' ||
                           *s == '+' || *s == '-')) {
        if (*s == '.' || *s == 'e' || *s == 'E') *integer = 0;
        s++;
    }
    char tmp[64];
    size_t n = (size_t)(s - sc->p);
    if (n >= sizeof(tmp)) return -1;
    memcpy(tmp, sc->p, n);
    tmp[n] = '\0';
    char *e;
    *v = strtod(tmp, &e);
    if (e != tmp + n) return -1;
    sc->p = s;
    return 0;
}

static int literal(scanner *sc, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(sc->end - sc->p) < n || memcmp(sc->p, word, n) != 0) return -1;
    sc->p += n;
    return 0;
}

/* Skip any value. 0 or -1. */
static int skip(scanner *sc) {
    ws(sc);
    if (sc->p >= sc->end) return -1;
    char c = *sc->p;
    if (c == '"') {
        return string_keep(sc, 0) ? 0 : -1;
    }
    if (c == '{' || c == '[') {
        if (++sc->depth > SCAN_MAX_DEPTH) return -1;
        char close = c == '{' ? '}' : ']';
        sc->p++;
        ws(sc);
        if (sc->p < sc->end && *sc->p == close) {
            sc->p++;
            sc->depth--;
            return 0;
        }
        for (;;) {
            if (c == '{') {
                ws(sc);
                if (!string_keep(sc, 0)) return -1;
                ws(sc);
                if (sc->p >= sc->end || *sc->p != ':') return -1;
                sc->p++;
            }
            if (skip(sc) != 0) return -1;
            ws(sc);
            if (sc->p >= sc->end) return -1;
            if (*sc->p == ',') {
                sc->p++;
                continue;
            }
            if (*sc->p != close) return -1;
            sc->p++;
            sc->depth--;
            return 0;
        }
    }
    if (c == 't') return literal(sc, "true");
    if (c == 'f') return literal(sc, "false");
    if (c == 'n') return literal(sc, "null");
    double v;
    int integer;
    return number(sc, &v, &integer);
}

/* A string value, or "" (dflt) for any other value, which is skipped. */
static int string_or(scanner *sc, const char **out, const char *dflt) {
    ws(sc);
    if (sc->p < sc->end && *sc->p == '"') {
        *out = string(sc);
        return *out ? 0 : -1;
    }
    *out = dflt;
    return skip(sc);
}

/* Walk an array, calling elem for each element (which must consume it). A
 * value that is not an array is skipped. */
static int array(scanner *sc, sitem *it, int kind, int (*elem)(scanner *sc, sitem *it, int kind)) {
    ws(sc);
    if (sc->p >= sc->end || *sc->p != '[') return skip(sc);
    if (++sc->depth > SCAN_MAX_DEPTH) return -1;
    sc->p++;
    ws(sc);
    if (sc->p < sc->end && *sc->p == ']') {
        sc->p++;
        sc->depth--;
        return 0;
    }
    for (;;) {
        if (elem(sc, it, kind) != 0) return -1;
        ws(sc);
        if (sc->p >= sc->end) return -1;
        if (*sc->p == ',') {
            sc->p++;
            continue;
        }
        if (*sc->p != ']') return -1;
        sc->p++;
        sc->depth--;
        return 0;
    }
}

static int elem_string(scanner *sc, sitem *it, int kind) {
    const char *s;
    if (string_or(sc, &s, NULL) != 0) return -1;
    if (kind == SP_SCOPE)
        it->scope |= scope_bit(s);
    else if (kind == SP_HANDLE)
        it->handle_at |= handle_bit(s);
    else
        push(it, kind, s);
    return 0;
}

/* An object element (materials, faq): the string members wanted, "" if absent. */
static int elem_object(scanner *sc, sitem *it, int kind) {
    const char *a = "", *b = "";
    ws(sc);
    if (sc->p >= sc->end || *sc->p != '{') {
        if (skip(sc) != 0) return -1;
    } else {
        if (++sc->depth > SCAN_MAX_DEPTH) return -1;
        sc->p++;
        ws(sc);
        if (sc->p < sc->end && *sc->p == '}') {
            sc->p++;
        } else {
            for (;;) {
                ws(sc);
                char *save = sc->out;
                const char *key = string(sc);
                if (!key) return -1;
                sc->out = save; /* the key is not kept (the value overwrites it) */
                int which = kind == SP_MAT ? (!strcmp(key, "name") ? 1 : 0)
                                           : (!strcmp(key, "q")   ? 1
                                              : !strcmp(key, "a") ? 2
                                                                  : 0);
                ws(sc);
                if (sc->p >= sc->end || *sc->p != ':') return -1;
                sc->p++;
                if (which == 1) {
                    if (string_or(sc, &a, "") != 0) return -1;
                } else if (which == 2) {
                    if (string_or(sc, &b, "") != 0) return -1;
                } else if (skip(sc) != 0) {
                    return -1;
                }
                ws(sc);
                if (sc->p >= sc->end) return -1;
                if (*sc->p == ',') {
                    sc->p++;
                    continue;
                }
                if (*sc->p != '}') return -1;
                sc->p++;
                break;
            }
        }
        sc->depth--;
    }
    push(it, kind, a);
    if (kind == SP_FAQ) push(it, kind, b);
    return 0;
}

/* k (kl bytes) is the key lit: the length test first, as most keys differ in length. */
#define KEY(lit) (kl == sizeof(lit) - 1 && memcmp(k, lit, kl) == 0)

int sitem_scan(sitem *it, const char *json, size_t len) {
    sitem_reset(it);
    if (it->bufcap < len + 1) {
        free(it->buf);
        it->bufcap = len + 1;
        it->buf = xmalloc(it->bufcap);
    }
    scanner sc = {.p = json, .end = json + len, .out = it->buf};
    it->department = it->type = it->conditions = it->result = it->fee = "";
    ws(&sc);
    if (sc.p >= sc.end || *sc.p != '{') return -1;
    sc.p++;
    ws(&sc);
    if (sc.p < sc.end && *sc.p == '}') {
        sc.p++;
    } else {
        for (;;) {
            ws(&sc);
            char *save = sc.out;
            const char *key = string(&sc);
            if (!key) return -1;
            sc.out = save;
            /* The key's bytes are overwritten by the value's: compare it first. */
            char k[16];
            size_t kl = strlen(key);
            if (kl >= sizeof(k)) kl = 0; /* longer than every key wanted */
            memcpy(k, key, kl);
            k[kl] = '\0';
            ws(&sc);
            if (sc.p >= sc.end || *sc.p != ':') return -1;
            sc.p++;
            int rc;
            const char **str = KEY("code")         ? &it->code
                               : KEY("name")       ? &it->name
                               : KEY("department") ? &it->department
                               : KEY("type")       ? &it->type
                               : KEY("conditions") ? &it->conditions
                               : KEY("result")     ? &it->result
                               : KEY("fee")        ? &it->fee
                                                   : NULL;
            if (str) {
                int nullable = str == &it->code || str == &it->name;
                rc = string_or(&sc, str, nullable ? NULL : "");
            } else if (KEY("keywords")) {
                it->n[SP_KW] = 0;
                rc = array(&sc, it, SP_KW, elem_string);
            } else if (KEY("process")) {
                it->n[SP_PROC] = 0;
                rc = array(&sc, it, SP_PROC, elem_string);
            } else if (KEY("materials")) {
                it->n[SP_MAT] = 0;
                rc = array(&sc, it, SP_MAT, elem_object);
            } else if (KEY("faq")) {
                it->n[SP_FAQ] = 0;
                rc = array(&sc, it, SP_FAQ, elem_object);
            } else if (KEY("scope")) {
                it->scope = 0;
                rc = array(&sc, it, SP_SCOPE, elem_string);
            } else if (KEY("handle_at")) {
                it->handle_at = 0;
                rc = array(&sc, it, SP_HANDLE, elem_string);
            } else if (KEY("popularity") || KEY("promise_days") || KEY("online_depth")) {
                double v = 0;
                int integer = 0;
                ws(&sc);
                if (sc.p < sc.end && (*sc.p == '-' || (*sc.p >= '0' && *sc.p <= '9'))) {
                    rc = number(&sc, &v, &integer);
                } else {
                    rc = skip(&sc);
                    v = 0;
                    integer = 0;
                }
                if (k[0] == 'p' && k[1] == 'o')
                    it->popularity = v;
                else if (k[0] == 'p')
                    it->promise_days = v;
                else
                    it->online_depth = integer ? (long)v : 0;
            } else if (KEY("commitment") || KEY("instant")) {
                ws(&sc);
                int t = sc.p < sc.end && *sc.p == 't';
                rc = skip(&sc);
                if (k[0] == 'c')
                    it->commitment = t;
                else
                    it->instant = t;
            } else {
                rc = skip(&sc);
            }
            if (rc != 0) return -1;
            ws(&sc);
            if (sc.p >= sc.end) return -1;
            if (*sc.p == ',') {
                sc.p++;
                continue;
            }
            if (*sc.p != '}') return -1;
            sc.p++;
            break;
        }
    }
    ws(&sc);
    return sc.p == sc.end ? 0 : -1;
}
