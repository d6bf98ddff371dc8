/* strbuf: bounded growable buffer (see strbuf.h). */
#include "base/strbuf.h"
#include "base/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void strbuf_init(strbuf *b, size_t max) {
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void strbuf_free(strbuf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void strbuf_reset(strbuf *b) {
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}

static int strbuf_reserve(strbuf *b, size_t extra) {
    if (extra > b->max || b->len > b->max - extra) return -1;
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    if (cap > b->max + 1) cap = b->max + 1;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
    return 0;
}

int strbuf_append(strbuf *b, const void *p, size_t n) {
    if (strbuf_reserve(b, n) != 0) return -1;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int strbuf_puts(strbuf *b, const char *s) {
    return strbuf_append(b, s, strlen(s));
}

int strbuf_printf(strbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return -1;
    if (strbuf_reserve(b, (size_t)n) != 0) return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

char *strbuf_detach(strbuf *b, size_t *len) {
    char *p = b->data ? b->data : xstrdup("");
    if (len) *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

const char *strbuf_str(const strbuf *b) {
    return b->data ? b->data : "";
}
