/* jsonx: JSON helpers on top of jansson.
 *
 * jansson parses and validates UTF-8; jsonx adds the limits isle needs on
 * untrusted input (byte size, nesting depth, top-level type), and a small
 * declarative checker for request objects that names the offending field. */
#ifndef ISLE_JSONX_H
#define ISLE_JSONX_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"

#define JSONX_MAX_DEPTH 32

/** Parse buf[0..len) (need not be NUL-terminated) as one JSON value. Refuses nesting
 *  deeper than max_depth, invalid UTF-8, duplicate keys and trailing garbage, with a
 *  400 "invalid_argument" in e. Caller owns the result. NULL on error. */
json_t *jsonx_parse(const char *buf, size_t len, int max_depth, err *e);

enum jsonx_type { JX_STRING, JX_INT, JX_BOOL, JX_NUMBER, JX_OBJECT, JX_ARRAY, JX_ANY };

typedef struct jsonx_field {
    const char *name;
    enum jsonx_type type;
    int required;
    size_t max_len; /* strings: max UTF-8 bytes (0 = 4096); arrays: max items */
} jsonx_field;

/** Check obj against spec (terminated by an entry with name NULL): every present field
 *  has the right type and size, every required one is present (null counts as absent),
 *  and no other field exists. Returns 0, or -1 with e naming the field. */
int jsonx_check(json_t *obj, const jsonx_field *spec, err *e);

/** String member or NULL (absent, null or not a string). Borrowed from obj. */
const char *jsonx_str(json_t *obj, const char *key);
/** Integer member or def. */
long long jsonx_int(json_t *obj, const char *key, long long def);
/** Boolean member (true/false) or def. */
int jsonx_bool(json_t *obj, const char *key, int def);
/** json_string(s) or json_null() when s is NULL. New reference. */
json_t *jsonx_str_or_null(const char *s);
/** Serialize compactly (keys in insertion order). Caller frees. */
char *jsonx_dump(const json_t *v);

#endif
