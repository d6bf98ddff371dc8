/* log: one-line, leveled logging to stderr.
 *
 * Lines are "2026-11-28T01:28:00.123Z LEVEL message". The request logger uses
 * log_sanitize() on anything taken from a request so that ID numbers and phone
 * numbers never reach the log. Thread-safe (one write(2) per line). */
#ifndef ISLE_LOG_H
#define ISLE_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3, LOG_OFF = 4 };

/** Set the minimum level printed (default LOG_INFO; ISLE_LOG_LEVEL=debug|info|warn|error|off). */
void log_set_level(enum log_level level);
/** Read ISLE_LOG_LEVEL from the environment. */
void log_init_from_env(void);
enum log_level log_get_level(void);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

/** Copy src into dst (size n, always NUL-terminated), replacing every run of 7 or more
 *  digits (optionally ending in X, as resident ID numbers do) with '#' characters, and
 *  control characters with '?'. Returns dst. */
char *log_sanitize(char *dst, size_t n, const char *src);

#endif
