/* parse: percent-decoding, query strings, Cookie headers and Content-Type (see parse.h).
 *
 * Every function here reads untrusted bytes. Each walks its input with explicit
 * bounds, never reads past the terminating NUL (or past n for http_url_decode),
 * and allocates only in the caller's arena; no output is longer than its input,
 * so memory use is bounded by the (already capped) header or URL length. On
 * failure the out-parameters are reset to NULL/0 so that a caller can never act
 * on half a result. Nothing here may log the input: it can hold personal data. */
#include "http/parse.h"

#include <string.h>
#include <strings.h>

/* ---- character classes ---- */

static int hex_value(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* RFC 9110 tchar: the characters of a token. */
static int is_tchar(unsigned char c) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Characters allowed in an unquoted parameter value. Wider than a token on purpose:
 * some clients send boundaries such as `a=b/c` without the quotes RFC 2046 asks for. */
static int is_bare_value_char(unsigned char c) {
    return c > 0x20 && c < 0x7f && c != ';' && c != '"';
}

static int is_ows(char c) {
    return c == ' ' || c == '\t';
}

static const char *skip_ows(const char *p) {
    while (is_ows(*p))
        p++;
    return p;
}

/* ---- percent-decoding ---- */

char *http_url_decode(arena *a, const char *s, size_t n, int plus_is_space, size_t *outlen) {
    if (outlen) *outlen = 0;
    if (!s && n) return NULL;
    if (n == (size_t)-1) return NULL; /* n + 1 below must not wrap */
    char *out = arena_alloc(a, n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (n - i < 3) return NULL;
            int hi = hex_value((unsigned char)s[i + 1]);
            int lo = hex_value((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0) return NULL;
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        /* A NUL, encoded or raw, would silently cut the C string short. */
        if (c == '\0') return NULL;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    if (outlen) *outlen = o;
    return out;
}

/* ---- query strings ---- */

/* Length of the segment starting at p, up to the next sep or the NUL. */
static size_t segment_len(const char *p, char sep) {
    const char *end = strchr(p, sep);
    return end ? (size_t)(end - p) : strlen(p);
}

int http_parse_query(arena *a, const char *q, size_t max, struct http_header_kv **out, size_t *n) {
    *out = NULL;
    *n = 0;
    if (!q) return 0;

    /* First pass: count the pairs that will be kept, so that the limit is checked
     * before anything is decoded and the array is allocated once. */
    size_t count = 0;
    for (const char *p = q;;) {
        size_t len = segment_len(p, '&');
        if (len > 0 && p[0] != '=') count++;
        if (p[len] == '\0') break;
        p += len + 1;
    }
    if (count > max) return -1;
    if (count == 0) return 0;

    struct http_header_kv *kv = arena_alloc(a, count * sizeof(*kv));
    size_t k = 0;
    for (const char *p = q;;) {
        size_t len = segment_len(p, '&');
        if (len > 0 && p[0] != '=') {
            const char *eq = memchr(p, '=', len);
            size_t name_len = eq ? (size_t)(eq - p) : len;
            const char *value = eq ? eq + 1 : p + len;
            size_t value_len = eq ? len - name_len - 1 : 0;
            kv[k].name = http_url_decode(a, p, name_len, 1, NULL);
            kv[k].value = http_url_decode(a, value, value_len, 1, NULL);
            if (!kv[k].name || !kv[k].value) return -1;
            k++;
        }
        if (p[len] == '\0') break;
        p += len + 1;
    }
    *out = kv;
    *n = k;
    return 0;
}

/* ---- cookies ---- */

/* Trim OWS from both ends of [*start, *start + *len). */
static void trim_ows(const char **start, size_t *len) {
    while (*len > 0 && is_ows(**start)) {
        (*start)++;
        (*len)--;
    }
    while (*len > 0 && is_ows((*start)[*len - 1]))
        (*len)--;
}

/* Split one cookie-pair; 0 when it is to be kept, -1 when it is skipped
 * (no '=' or an empty name, which browsers never send for real cookies). */
static int cookie_pair(const char *p, size_t len, const char **name, size_t *name_len,
                       const char **value, size_t *value_len) {
    const char *eq = memchr(p, '=', len);
    if (!eq) return -1;
    *name = p;
    *name_len = (size_t)(eq - p);
    trim_ows(name, name_len);
    if (*name_len == 0) return -1;
    *value = eq + 1;
    *value_len = len - (size_t)(eq - p) - 1;
    trim_ows(value, value_len);
    if (*value_len >= 2 && (*value)[0] == '"' && (*value)[*value_len - 1] == '"') {
        (*value)++;
        *value_len -= 2;
    }
    return 0;
}

int http_parse_cookies(arena *a, const char *header, size_t max, struct http_header_kv **out,
                       size_t *n) {
    *out = NULL;
    *n = 0;
    if (!header) return 0;

    const char *name, *value;
    size_t name_len, value_len;
    size_t count = 0;
    for (const char *p = header;;) {
        size_t len = segment_len(p, ';');
        if (cookie_pair(p, len, &name, &name_len, &value, &value_len) == 0) count++;
        if (p[len] == '\0') break;
        p += len + 1;
    }
    if (count > max) return -1;
    if (count == 0) return 0;

    struct http_header_kv *kv = arena_alloc(a, count * sizeof(*kv));
    size_t k = 0;
    for (const char *p = header;;) {
        size_t len = segment_len(p, ';');
        if (cookie_pair(p, len, &name, &name_len, &value, &value_len) == 0) {
            kv[k].name = arena_strndup(a, name, name_len);
            kv[k].value = arena_strndup(a, value, value_len);
            k++;
        }
        if (p[len] == '\0') break;
        p += len + 1;
    }
    *out = kv;
    *n = k;
    return 0;
}

/* ---- Content-Type ---- */

/* Parse a quoted-string starting at the opening quote *pp. On success advance *pp past the
 * closing quote and return the unescaped value in the arena; NULL when malformed. */
static char *quoted_string(arena *a, const char **pp) {
    const char *p = *pp + 1;
    size_t len = 0;
    /* Validate and measure first, so that the copy below cannot overrun. */
    for (const char *q = p;; q++) {
        unsigned char c = (unsigned char)*q;
        if (c == '"') break;
        if (c == '\\') {
            c = (unsigned char)*++q;
            if (c == '\0' || (c < 0x20 && c != '\t') || c == 0x7f) return NULL;
        } else if (c == '\0' || (c < 0x20 && c != '\t') || c == 0x7f) {
            return NULL; /* unterminated, or a control character */
        }
        len++;
    }
    char *out = arena_alloc(a, len + 1);
    size_t o = 0;
    while (*p != '"') {
        if (*p == '\\') p++;
        out[o++] = *p++;
    }
    out[o] = '\0';
    *pp = p + 1;
    return out;
}

int http_parse_content_type(arena *a, const char *value, const char *param, char **media_type,
                            char **param_value) {
    if (media_type) *media_type = NULL;
    if (param_value) *param_value = NULL;
    if (!value) return -1;

    const char *p = skip_ows(value);
    const char *type = p;
    while (is_tchar((unsigned char)*p))
        p++;
    if (p == type || *p != '/') return -1;
    p++;
    const char *subtype = p;
    while (is_tchar((unsigned char)*p))
        p++;
    if (p == subtype) return -1;
    size_t type_len = (size_t)(p - type);
    p = skip_ows(p);
    if (*p != '\0' && *p != ';') return -1;

    char *found = NULL;
    size_t param_len = param ? strlen(param) : 0;
    while (*p == ';') {
        p = skip_ows(p + 1);
        if (*p == ';') continue; /* empty parameter: tolerated */
        if (*p == '\0') break;   /* trailing ';': tolerated */
        const char *name = p;
        while (is_tchar((unsigned char)*p))
            p++;
        size_t name_len = (size_t)(p - name);
        if (name_len == 0 || *p != '=') return -1;
        p++;
        char *v;
        if (*p == '"') {
            v = quoted_string(a, &p);
            if (!v) return -1;
        } else {
            const char *start = p;
            while (is_bare_value_char((unsigned char)*p))
                p++;
            if (p == start) return -1;
            v = arena_strndup(a, start, (size_t)(p - start));
        }
        p = skip_ows(p);
        if (*p != '\0' && *p != ';') return -1;
        if (param && name_len == param_len && strncasecmp(name, param, name_len) == 0) {
            /* Two boundaries (say) would let two parsers disagree: refuse. */
            if (found) return -1;
            found = v;
        }
    }

    if (media_type) {
        char *m = arena_strndup(a, type, type_len);
        for (char *c = m; *c; c++)
            if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
        *media_type = m;
    }
    if (param_value) *param_value = found;
    return 0;
}
