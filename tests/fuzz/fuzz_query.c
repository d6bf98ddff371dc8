/* libFuzzer target: http_url_decode, http_parse_query, http_parse_cookies and
 * http_parse_content_type on arbitrary bytes.
 *
 * Byte 0 picks the limits and the Content-Type parameter asked for; the rest is
 * the input. Besides "no crash, no sanitizer report", it checks the documented
 * results (lengths, limits, no NUL in outputs, lower-case media type) and that
 * percent-encoding any NUL-free bytes and decoding them gives them back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const params[] = {"boundary", "charset", "BOUNDARY", NULL};

static void check_pairs(const struct http_header_kv *kv, size_t n, size_t max, int rc) {
    if (rc != 0) {
        if (kv || n) abort();
        return;
    }
    if (n > max || (n && !kv) || (!n && kv)) abort();
    for (size_t i = 0; i < n; i++)
        if (!kv[i].name || !kv[i].value || kv[i].name[0] == '\0') abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t ctl = data[0];
    const char *raw = (const char *)data + 1;
    size_t len = size - 1;
    char *s = malloc(len + 1);
    if (!s) abort();
    memcpy(s, raw, len);
    s[len] = '\0';
    arena *a = arena_new();

    /* Percent-decoding, over the raw bytes (NULs included). */
    size_t outlen = 12345;
    char *d = http_url_decode(a, raw, len, ctl & 1, &outlen);
    if (d && (outlen > len || strlen(d) != outlen)) abort();
    if (!d && outlen != 0) abort();

    /* Round trip: encode the NUL-free bytes, decode, compare. */
    char *enc = malloc(len * 3 + 1);
    char *plain = malloc(len + 1);
    if (!enc || !plain) abort();
    size_t elen = 0, plen = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)raw[i];
        if (c == 0) continue;
        plain[plen++] = (char)c;
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.') {
            enc[elen++] = (char)c;
        } else {
            const char *hex = (i & 1) ? "0123456789ABCDEF" : "0123456789abcdef";
            enc[elen++] = '%';
            enc[elen++] = hex[c >> 4];
            enc[elen++] = hex[c & 15];
        }
    }
    d = http_url_decode(a, enc, elen, 1, &outlen);
    if (!d || outlen != plen || memcmp(d, plain, plen) != 0) abort();
    free(enc);
    free(plain);

    size_t max = (ctl >> 1) & 7;
    struct http_header_kv *kv = (struct http_header_kv *)1;
    size_t n = 99;
    int rc = http_parse_query(a, s, max, &kv, &n);
    check_pairs(kv, n, max, rc);

    kv = (struct http_header_kv *)1;
    n = 99;
    rc = http_parse_cookies(a, s, max, &kv, &n);
    check_pairs(kv, n, max, rc);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *nm = kv[i].name;
        size_t nl = strlen(nm);
        if (strchr(nm, '=') || strchr(nm, ';')) abort();
        if (nm[0] == ' ' || nm[0] == '\t' || nm[nl - 1] == ' ' || nm[nl - 1] == '\t') abort();
        if (strchr(kv[i].value, ';')) abort();
    }

    const char *param = params[(ctl >> 4) & 3];
    char *mt = (char *)1, *pv = (char *)1;
    rc = http_parse_content_type(a, s, param, &mt, &pv);
    if (rc != 0) {
        if (mt || pv) abort();
    } else {
        if (!mt) abort();
        const char *slash = strchr(mt, '/');
        if (!slash || slash == mt || !slash[1] || strchr(slash + 1, '/')) abort();
        for (const char *c = mt; *c; c++)
            if (*c >= 'A' && *c <= 'Z') abort();
        if (!param && pv) abort();
    }
    /* NULL outputs must be accepted too, with the same verdict. */
    if (http_parse_content_type(a, s, param, NULL, NULL) != rc) abort();

    arena_free(a);
    free(s);
    return 0;
}
