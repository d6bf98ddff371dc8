/* router: match a method and a decoded path against the route table.
 *
 * Patterns are split into segments once at start-up; "{name}" matches one
 * non-empty segment, a final "{*name}" the rest of the path. The table is
 * small (tens of routes), so a linear scan over pre-split segments is simpler
 * and about as fast as a trie here. */
#include "base/xmalloc.h"
#include "http/internal.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SEGMENTS 16

struct compiled {
    const http_route *route;
    int nseg;
    char *seg[MAX_SEGMENTS];
    int is_param[MAX_SEGMENTS]; /* 1 = {name}, 2 = {*name} */
};

static struct compiled *table;
static size_t ntable;

void router_init(const http_route *routes, size_t n) {
    table = xcalloc(n ? n : 1, sizeof(*table));
    ntable = n;
    for (size_t i = 0; i < n; i++) {
        struct compiled *c = &table[i];
        c->route = &routes[i];
        char *copy = xstrdup(routes[i].pattern);
        char *save = NULL;
        for (char *s = strtok_r(copy, "/", &save); s && c->nseg < MAX_SEGMENTS;
             s = strtok_r(NULL, "/", &save)) {
            size_t l = strlen(s);
            if (l > 2 && s[0] == '{' && s[l - 1] == '}') {
                c->is_param[c->nseg] = s[1] == '*' ? 2 : 1;
                c->seg[c->nseg++] = xstrndup(s + (s[1] == '*' ? 2 : 1), l - (s[1] == '*' ? 3 : 2));
            } else {
                c->seg[c->nseg++] = xstrdup(s);
            }
        }
        free(copy);
    }
}

const http_route *router_route(int index) {
    return index >= 0 && (size_t)index < ntable ? table[index].route : NULL;
}

size_t router_count(void) {
    return ntable;
}

static int match(const struct compiled *c, const char *path, http_req *r) {
    const char *p = path;
    int np = 0;
    for (int i = 0; i < c->nseg; i++) {
        while (*p == '/')
            p++;
        if (c->is_param[i] == 2) {
            if (!*p) return 0;
            if (r && np < 8) {
                r->param_names[np] = c->seg[i];
                r->param_values[np++] = arena_strdup(r->arena, p);
            }
            if (r) r->nparams = np;
            return 1;
        }
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0) return 0;
        if (c->is_param[i]) {
            if (r && np < 8) {
                r->param_names[np] = c->seg[i];
                r->param_values[np++] = arena_strndup(r->arena, p, len);
            }
        } else if (strlen(c->seg[i]) != len || strncmp(c->seg[i], p, len) != 0) {
            return 0;
        }
        p += len;
    }
    while (*p == '/')
        p++;
    if (*p) return 0;
    if (r) r->nparams = np;
    return 1;
}

int router_match(int method, const char *path, http_req *r, int *other_methods) {
    *other_methods = 0;
    for (size_t i = 0; i < ntable; i++) {
        int m = table[i].route->method;
        if (m == M_GET) m |= M_HEAD;
        if (!match(&table[i], path, NULL)) continue;
        if (m & method) {
            match(&table[i], path, r);
            return (int)i;
        }
        *other_methods |= m;
    }
    return -1;
}
