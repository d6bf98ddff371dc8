/* err: the one error convention of isle.
 *
 * Functions return int 0 on success and -1 on failure, filling a caller's
 * `struct err` with an HTTP-style status, a stable machine code, the input
 * field at fault (if any) and a human message. The API layer turns it into
 * {"error":{"code","message","field"}} unchanged; the CLI prints the message.
 * Messages never contain personal data (ID numbers, phone numbers, passwords). */
#ifndef ISLE_ERR_H
#define ISLE_ERR_H

typedef struct err {
    int status;     /* HTTP status that fits: 400, 401, 403, 404, 409, 413, 422, 429, 500 */
    char code[40];  /* invalid_argument, unauthenticated, permission_denied, not_found, ... */
    char field[64]; /* offending input field, "" when none */
    char message[256];
} err;

/** Fill e (may be NULL) and return -1, so callers can write `return err_set(...)`. */
int err_set(err *e, int status, const char *code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/** Clear e to "no error". */
void err_clear(err *e);

/* Shorthands for the common cases; each returns -1. */
#define err_invalid(e, field, ...)  err_set((e), 400, "invalid_argument", (field), __VA_ARGS__)
#define err_notfound(e, ...)        err_set((e), 404, "not_found", "", __VA_ARGS__)
#define err_conflict(e, field, ...) err_set((e), 409, "conflict", (field), __VA_ARGS__)
#define err_forbidden(e, ...)       err_set((e), 403, "permission_denied", "", __VA_ARGS__)
#define err_internal(e, ...)        err_set((e), 500, "internal", "", __VA_ARGS__)

#endif
