/* multipart: a streaming multipart/form-data parser (RFC 7578 on RFC 2046).
 *
 * Upload bodies are too large to hold in memory, so the parser is fed chunks of
 * any size (a boundary may straddle chunk borders) and hands part data to
 * callbacks as it goes. It allocates once, in multipart_new(): a header buffer
 * of max_header_bytes and room for the decoded header values; nothing grows
 * with the body. Preamble and epilogue are ignored. Limits: max_parts parts,
 * max_header_bytes of header block per part, a boundary of 1..70 characters.
 *
 * Errors are 400 "invalid_argument" with field "body", except too many parts:
 * 413 "payload_too_large". After an error every later call fails the same way.
 *
 * The parser never interprets the filename: it is what the client sent (path
 * separators, "..", percent-escapes and all). Never use it as a path. */
#ifndef ISLE_HTTP_MULTIPART_H
#define ISLE_HTTP_MULTIPART_H

#include <stddef.h>

#include "base/err.h"

#define MULTIPART_DEFAULT_MAX_PARTS        16
#define MULTIPART_DEFAULT_MAX_HEADER_BYTES 8192
#define MULTIPART_BOUNDARY_MAX             70

/** One parser over one body. Owned by whoever called multipart_new(). */
typedef struct multipart_parser multipart_parser;

/** What a part's headers say. The strings belong to the parser and are valid only
 *  during the on_part_begin call: copy what you keep. */
typedef struct multipart_part_info {
    const char *name;         /* Content-Disposition name; never NULL, never "" */
    const char *filename;     /* Content-Disposition filename; NULL when absent, "" when an
                                 empty file input was submitted. filename* is ignored
                                 (RFC 7578 4.2 forbids it). */
    const char *content_type; /* the part's Content-Type value, trimmed; NULL when absent
                                 (RFC 7578 default: text/plain) */
} multipart_part_info;

/** Callbacks; each may be NULL. Each returns 0 to go on; any other value (by convention
 *  -1) aborts parsing: the feed returns -1 with a generic 400 "multipart part rejected"
 *  in e, so a callback with a more precise error (a 413 for a file that is too big, a
 *  500 for a full disk) should keep it in ctx for the caller to report instead.
 *  on_part_data is called zero or more times between on_part_begin and on_part_end,
 *  with len > 0. When parsing fails inside a part, on_part_end is NOT called: the
 *  caller cleans up the open part itself. Callbacks must not call the parser. */
typedef struct multipart_callbacks {
    int (*on_part_begin)(void *ctx, const multipart_part_info *info);
    int (*on_part_data)(void *ctx, const char *data, size_t len);
    int (*on_part_end)(void *ctx);
} multipart_callbacks;

/** Limits; a field left 0 takes its default. */
typedef struct multipart_limits {
    size_t max_parts;        /* 0 = MULTIPART_DEFAULT_MAX_PARTS */
    size_t max_header_bytes; /* per part, with its CRLFs; 0 = MULTIPART_DEFAULT_MAX_HEADER_BYTES */
} multipart_limits;

/** Create a parser for `boundary` (the Content-Type parameter, without the leading
 *  "--"; 1..70 characters of RFC 2046 bchars, not ending in a space). limits may be
 *  NULL (defaults), cb may be NULL (parse and check only); cb and limits are copied,
 *  ctx is passed to the callbacks as is. Returns 0 with *out set (the caller frees it
 *  with multipart_free()), or -1 with a 400 in e for a bad boundary. */
int multipart_new(const char *boundary, const multipart_limits *limits,
                  const multipart_callbacks *cb, void *ctx, multipart_parser **out, err *e);

/** Feed the next len bytes of the body (data may be NULL when len is 0). Calls the
 *  callbacks for what the bytes complete. Returns 0, or -1 with e filled (e may be
 *  NULL). Bytes after the closing boundary are ignored. */
int multipart_feed(multipart_parser *p, const char *data, size_t len, err *e);

/** Declare the end of the body. Returns 0 when the closing boundary was seen, else -1
 *  with a 400 in e (a truncated body); repeats the earlier error if one happened. */
int multipart_finish(multipart_parser *p, err *e);

/** Release the parser. NULL is accepted. Does not call any callback. */
void multipart_free(multipart_parser *p);

/** Parse the file at path (an upload spooled to disk) in 64 KiB chunks: multipart_new,
 *  multipart_feed until end of file, multipart_finish, multipart_free. Returns 0, or -1
 *  with e filled: the parser's errors, or 500 "internal" when the file cannot be read. */
int multipart_parse_file(const char *path, const char *boundary, const multipart_limits *limits,
                         const multipart_callbacks *cb, void *ctx, err *e);

#endif
