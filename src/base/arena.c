/* arena: chunked bump allocator (see arena.h).
 *
 * Invariant: chunks form a singly linked list, newest first; `used` counts
 * the bytes returned to callers, not the chunk overhead. Large requests get a
 * chunk of their own so that one big allocation does not waste a normal one. */
#include "base/arena.h"
#include "base/xmalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK 8192
#define ARENA_ALIGN 16

struct chunk {
    struct chunk *next;
    size_t size;
    size_t off;
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

struct arena {
    struct chunk *head;
    size_t used;
};

static struct chunk *chunk_new(size_t size) {
    struct chunk *c = xmalloc(sizeof(*c) + size);
    c->next = NULL;
    c->size = size;
    c->off = 0;
    return c;
}

arena *arena_new(void) {
    arena *a = xmalloc(sizeof(*a));
    a->head = chunk_new(ARENA_CHUNK);
    a->used = 0;
    return a;
}

void arena_free(arena *a) {
    if (!a) return;
    struct chunk *c = a->head;
    while (c) {
        struct chunk *next = c->next;
        free(c);
        c = next;
    }
    free(a);
}

void arena_reset(arena *a) {
    /* Keep the oldest chunk (the standard-sized first one) for reuse. */
    struct chunk *c = a->head, *keep = NULL;
    while (c) {
        struct chunk *next = c->next;
        if (!next && c->size == ARENA_CHUNK)
            keep = c;
        else
            free(c);
        c = next;
    }
    if (!keep) keep = chunk_new(ARENA_CHUNK);
    keep->off = 0;
    keep->next = NULL;
    a->head = keep;
    a->used = 0;
}

void *arena_alloc(arena *a, size_t n) {
    if (n == 0) n = 1;
    if (n > SIZE_MAX - ARENA_ALIGN) abort();
    size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    struct chunk *c = a->head;
    if (c->size - c->off < need) {
        if (need > ARENA_CHUNK / 4) {
            /* Big block: own chunk, linked behind the current head so the
             * head keeps serving small allocations. */
            struct chunk *big = chunk_new(need);
            big->off = need;
            big->next = c->next;
            c->next = big;
            a->used += n;
            return big->data;
        }
        c = chunk_new(ARENA_CHUNK);
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->off;
    c->off += need;
    a->used += n;
    return p;
}

void *arena_calloc(arena *a, size_t n) {
    void *p = arena_alloc(a, n);
    memset(p, 0, n);
    return p;
}

char *arena_strndup(arena *a, const char *s, size_t n) {
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(arena *a, const char *s) {
    return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

char *arena_printf(arena *a, const char *fmt, ...) {
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    char *p = arena_alloc(a, (size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return p;
}

size_t arena_used(const arena *a) {
    return a->used;
}
