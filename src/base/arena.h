/* arena: a bump allocator whose whole contents die at once.
 *
 * Each HTTP request owns one arena; everything allocated for the request
 * (parsed headers, decoded parameters, temporary strings) is released by a
 * single arena_free() when the response is sent. Blocks are never freed
 * individually. Allocation never fails (it aborts through xmalloc). */
#ifndef ISLE_ARENA_H
#define ISLE_ARENA_H

#include <stdarg.h>
#include <stddef.h>

typedef struct arena arena;

/** Create an empty arena. The caller owns it and releases it with arena_free(). */
arena *arena_new(void);
/** Release the arena and every block allocated from it. NULL is accepted. */
void arena_free(arena *a);
/** Forget all allocations but keep the first chunk for reuse. Pointers handed out become invalid.
 */
void arena_reset(arena *a);
/** Allocate n bytes aligned for any type; valid until the arena is freed or reset. */
void *arena_alloc(arena *a, size_t n);
/** Allocate n zeroed bytes from the arena. */
void *arena_calloc(arena *a, size_t n);
/** Copy s (may be NULL, giving NULL) into the arena. */
char *arena_strdup(arena *a, const char *s);
/** Copy n bytes of s into the arena as a NUL-terminated string. */
char *arena_strndup(arena *a, const char *s, size_t n);
/** printf into the arena; the result lives as long as the arena. */
char *arena_printf(arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Total bytes handed out since creation or the last reset (for limits and tests). */
size_t arena_used(const arena *a);

#endif
