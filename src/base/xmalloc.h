/* xmalloc: allocation that never returns NULL.
 *
 * Out-of-memory is not a condition isle tries to survive request by request:
 * a half-handled NULL is worse than a clean abort, so every allocation in the
 * program goes through these and aborts with a message when the heap is gone. */
#ifndef ISLE_XMALLOC_H
#define ISLE_XMALLOC_H

#include <stddef.h>

/** Allocate n bytes; never NULL. The caller owns the block and frees it with free(). */
void *xmalloc(size_t n);
/** Allocate n*size zeroed bytes, checking the multiplication; never NULL. Caller frees. */
void *xcalloc(size_t n, size_t size);
/** Resize p to n bytes; never NULL. p is no longer valid afterwards; the result is. */
void *xrealloc(void *p, size_t n);
/** Copy s into a new heap string; never NULL. Caller frees. */
char *xstrdup(const char *s);
/** Copy the first n bytes of s into a new NUL-terminated heap string. Caller frees. */
char *xstrndup(const char *s, size_t n);

#endif
