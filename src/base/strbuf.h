/* strbuf: a growable byte buffer with a hard maximum size.
 *
 * Every buffer that grows from outside input has a limit (curl's dynbuf rule):
 * appends past `max` fail with -1 and leave the buffer unchanged, so callers
 * turn them into a clean "too large" error instead of unbounded memory. The
 * content is always NUL-terminated for convenience (the NUL is not counted). */
#ifndef ISLE_STRBUF_H
#define ISLE_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct strbuf {
    char *data; /* owned; NULL until the first append */
    size_t len;
    size_t cap;
    size_t max; /* the hard limit on len */
} strbuf;

/** Initialise an empty buffer that refuses to grow past max bytes. */
void strbuf_init(strbuf *b, size_t max);
/** Free the content; the buffer may be reused after strbuf_init(). */
void strbuf_free(strbuf *b);
/** Empty the buffer, keeping its memory. */
void strbuf_reset(strbuf *b);
/** Append n bytes. Returns 0, or -1 (buffer unchanged) when max would be exceeded. */
int strbuf_append(strbuf *b, const void *p, size_t n);
/** Append a NUL-terminated string. Same result convention as strbuf_append(). */
int strbuf_puts(strbuf *b, const char *s);
/** Append formatted text. Same result convention as strbuf_append(). */
int strbuf_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Hand the content to the caller (who frees it) and leave the buffer empty. Never NULL. */
char *strbuf_detach(strbuf *b, size_t *len);
/** The content as a C string; "" for an empty buffer. Valid until the next change. */
const char *strbuf_str(const strbuf *b);

#endif
