/* libFuzzer target: the streaming multipart/form-data parser.
 *
 * Byte 0 picks the boundary, the limits and the chunking; the rest is the body.
 * Each input is parsed twice, in one feed and in pseudo-random chunks (1 byte up
 * to a few hundred), and the two runs must report exactly the same parts, data
 * and error: any difference is a chunk-border bug, turned into a crash. The
 * callbacks also abort() on an illegal order (data outside a part, empty data,
 * a NULL or empty name). Byte 0 bit 3 makes the second on_part_begin fail. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const boundaries[] = {
    "b",
    "XyZ",
    "----WebKitFormBoundary7MA4YWxkTrZu0gW",
    "a'()+_,-./:=? z",
};

/* Everything the callbacks saw, in a form that does not depend on chunking:
 * consecutive data calls are concatenated under one 'D'. */
typedef struct transcript {
    char *buf;
    size_t len, cap;
    int in_part;
    int last_was_data;
    int parts;
    int fail_second_begin; /* exercise the callback-abort path (chunking-independent) */
} transcript;

static void put(transcript *t, const void *p, size_t n) {
    if (t->len + n > t->cap) {
        size_t cap = t->cap ? t->cap : 1024;
        while (cap < t->len + n)
            cap *= 2;
        t->buf = realloc(t->buf, cap);
        if (!t->buf) abort();
        t->cap = cap;
    }
    memcpy(t->buf + t->len, p, n);
    t->len += n;
}

static void put_str(transcript *t, const char *s) {
    if (!s) {
        put(t, "\xff", 1); /* absent, distinct from "" */
        return;
    }
    put(t, s, strlen(s) + 1);
}

static int on_begin(void *ctx, const multipart_part_info *info) {
    transcript *t = ctx;
    if (t->in_part || !info->name || !info->name[0]) abort();
    if (++t->parts == 2 && t->fail_second_begin) return -1;
    t->in_part = 1;
    t->last_was_data = 0;
    put(t, "B", 1);
    put_str(t, info->name);
    put_str(t, info->filename);
    put_str(t, info->content_type);
    return 0;
}

static int on_data(void *ctx, const char *data, size_t len) {
    transcript *t = ctx;
    if (!t->in_part || len == 0 || !data) abort();
    if (!t->last_was_data) put(t, "D", 1);
    t->last_was_data = 1;
    put(t, data, len);
    return 0;
}

static int on_end(void *ctx) {
    transcript *t = ctx;
    if (!t->in_part) abort();
    t->in_part = 0;
    t->last_was_data = 0;
    put(t, "E", 1);
    return 0;
}

static const multipart_callbacks callbacks = {on_begin, on_data, on_end};

/* Parse body with chunk sizes drawn from seed (0 = one feed); returns rc, fills t and e. */
static int run(const char *boundary, const multipart_limits *lim, const char *body, size_t len,
               uint32_t seed, transcript *t, err *e) {
    multipart_parser *p = NULL;
    if (multipart_new(boundary, lim, &callbacks, t, &p, e) != 0) abort();
    int rc = 0;
    size_t off = 0;
    while (rc == 0 && off < len) {
        size_t n = len - off;
        if (seed) {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            size_t max = (seed & 0x100) ? 8 : 300;
            size_t want = 1 + (seed >> 9) % max;
            if (want < n) n = want;
        }
        rc = multipart_feed(p, body + off, n, e);
        off += n;
    }
    if (rc == 0) rc = multipart_finish(p, e);
    multipart_free(p);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t ctl = data[0];
    const char *boundary = boundaries[ctl & 3];
    multipart_limits lim = {0};
    if (ctl & 4) {
        lim.max_parts = 3;
        lim.max_header_bytes = 96;
    }
    const char *body = (const char *)data + 1;
    size_t len = size - 1;

    transcript whole = {0}, chunked = {0};
    whole.fail_second_begin = chunked.fail_second_begin = (ctl & 8) != 0;
    err e1 = {0}, e2 = {0};
    int rc1 = run(boundary, &lim, body, len, 0, &whole, &e1);
    int rc2 = run(boundary, &lim, body, len,
                  0x9e3779b9u ^ (uint32_t)ctl ^ (uint32_t)len * 2654435761u, &chunked, &e2);
    if (rc1 != rc2 || whole.len != chunked.len ||
        (whole.len && memcmp(whole.buf, chunked.buf, whole.len) != 0))
        abort();
    if (rc1 != 0) {
        if (e1.status != e2.status || strcmp(e1.code, e2.code) != 0 ||
            strcmp(e1.message, e2.message) != 0 || strcmp(e1.field, "body") != 0)
            abort();
        if (e1.status != 400 && e1.status != 413) abort();
    } else if (whole.in_part || (whole.fail_second_begin && whole.parts >= 2)) {
        abort(); /* success with a part left open, or despite a failed callback */
    }
    free(whole.buf);
    free(chunked.buf);
    return 0;
}
