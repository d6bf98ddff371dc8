/* libFuzzer target: jsonx_parse and jsonx_check on arbitrary bytes.
 *
 * Checks beyond "no crash": a refused input carries a 400; an accepted value is
 * no deeper than JSONX_MAX_DEPTH, jsonx_check answers 0 or -1 with a 400 naming
 * a field, and the value survives jsonx_dump + jsonx_parse unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const jsonx_field spec[] = {
    {"name", JX_STRING, 1, 16}, {"age", JX_INT, 0, 0},    {"ok", JX_BOOL, 0, 0},
    {"score", JX_NUMBER, 0, 0}, {"tags", JX_ARRAY, 0, 4}, {"meta", JX_OBJECT, 0, 0},
    {"any", JX_ANY, 0, 0},      {NULL, JX_ANY, 0, 0},
};

static int depth(json_t *v) {
    int d = 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *m;
        json_object_foreach(v, k, m) {
            int c = depth(m);
            if (c > d) d = c;
        }
        return d + 1;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m) {
            int c = depth(m);
            if (c > d) d = c;
        }
        return d + 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    err e = {0};
    json_t *v = jsonx_parse((const char *)data, size, JSONX_MAX_DEPTH, &e);
    if (!v) {
        if (e.status != 400 || strcmp(e.code, "invalid_argument") != 0) abort();
        return 0;
    }
    if (depth(v) > JSONX_MAX_DEPTH) abort();

    err ce = {0};
    int rc = jsonx_check(v, spec, &ce);
    if (rc != 0 && (rc != -1 || ce.status != 400)) abort();
    if (rc == 0 && (!json_is_object(v) || !jsonx_str(v, "name"))) abort();
    (void)jsonx_int(v, "age", 0);
    (void)jsonx_bool(v, "ok", 0);

    char *s = jsonx_dump(v);
    err e2 = {0};
    json_t *again = jsonx_parse(s, strlen(s), JSONX_MAX_DEPTH, &e2);
    if (!again || !json_equal(v, again)) abort();
    json_decref(again);
    free(s);
    json_decref(v);
    return 0;
}
