/* err: error filling helpers (see err.h). */
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int err_set(err *e, int status, const char *code, const char *field, const char *fmt, ...) {
    if (!e) return -1;
    e->status = status;
    snprintf(e->code, sizeof(e->code), "%s", code ? code : "internal");
    snprintf(e->field, sizeof(e->field), "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
    return -1;
}

void err_clear(err *e) {
    if (!e) return;
    memset(e, 0, sizeof(*e));
}
