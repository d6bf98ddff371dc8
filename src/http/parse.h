/* parse: decoding of the small HTTP grammars the server handles itself —
 * percent-encoding, query strings (application/x-www-form-urlencoded),
 * Cookie headers and Content-Type parameters. http-parser handles the message
 * framing; these never see more than a header value or a URL, both capped.
 * All results are allocated in the arena given. */
#ifndef ISLE_HTTP_PARSE_H
#define ISLE_HTTP_PARSE_H

#include <stddef.h>

#include "base/arena.h"
#include "http/http.h"

/** Percent-decode s[0..n) into a new arena string; '+' becomes ' ' when plus_is_space.
 *  Returns NULL for malformed escapes (%zz, truncated %) or an encoded NUL (a raw NUL
 *  inside s[0..n) is refused too). *outlen (may be NULL) gets the decoded length. The
 *  bytes are not checked to be UTF-8. */
char *http_url_decode(arena *a, const char *s, size_t n, int plus_is_space, size_t *outlen);

/** Parse "a=1&b=x%20y" into name/value pairs (decoded, '+' is a space). At most max pairs
 *  are kept; more yield -1. Malformed escapes yield -1. Empty names are skipped; "a"
 *  alone gives a = "". q may be NULL (no pairs). *out (an arena array, NULL when *n is 0)
 *  and *n are always written; both are NULL/0 after an error. */
int http_parse_query(arena *a, const char *q, size_t max, struct http_header_kv **out, size_t *n);

/** Parse a Cookie header ("a=1; b=2"). Values are not decoded (RFC 6265); surrounding
 *  double quotes are removed. At most max cookies; more yield -1. Pairs without '=' or
 *  with an empty name are skipped; whitespace around names and values is trimmed.
 *  header may be NULL. *out and *n are written as for http_parse_query(). */
int http_parse_cookies(arena *a, const char *header, size_t max, struct http_header_kv **out,
                       size_t *n);

/** From a Content-Type value, the media type in lower case (out: "multipart/form-data")
 *  and the value of parameter `param` (e.g. "boundary"), unquoted, or NULL. Returns 0 or
 *  -1 when the value is malformed. The parameter name matches case-insensitively; the
 *  parameter appearing twice is malformed (two readers could pick different ones).
 *  param, media_type and param_value may each be NULL; outputs are NULL after -1. */
int http_parse_content_type(arena *a, const char *value, const char *param, char **media_type,
                            char **param_value);

#endif
