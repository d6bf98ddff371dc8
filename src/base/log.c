/* log: leveled stderr logging and the personal-data scrubber (see log.h). */
#include "base/log.h"
#include "base/timeutil.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static atomic_int current_level = LOG_INFO;

void log_set_level(enum log_level level) {
    atomic_store(&current_level, (int)level);
}

enum log_level log_get_level(void) {
    return (enum log_level)atomic_load(&current_level);
}

void log_init_from_env(void) {
    const char *v = getenv("ISLE_LOG_LEVEL");
    if (!v) return;
    static const char *names[] = {"debug", "info", "warn", "error", "off"};
    for (int i = 0; i < 5; i++)
        if (strcasecmp(v, names[i]) == 0) log_set_level((enum log_level)i);
}

void log_msg(enum log_level level, const char *fmt, ...) {
    if ((int)level < atomic_load(&current_level)) return;
    static const char *tags[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    char line[2048];
    char ts[40];
    time_iso_now_ms(ts, sizeof(ts));
    int n = snprintf(line, sizeof(line), "%s %s ", ts, tags[level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2) len = sizeof(line) - 2;
    line[len++] = '\n';
    /* One write per line keeps lines from different threads whole. */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

char *log_sanitize(char *dst, size_t n, const char *src) {
    if (n == 0) return dst;
    size_t o = 0;
    for (size_t i = 0; src[i] && o + 1 < n;) {
        size_t run = 0;
        while (src[i + run] >= '0' && src[i + run] <= '9')
            run++;
        if (run > 0 && (src[i + run] == 'X' || src[i + run] == 'x')) run++;
        if (run >= 7) {
            for (size_t k = 0; k < run && o + 1 < n; k++)
                dst[o++] = '#';
            i += run;
            continue;
        }
        if (run > 0) {
            for (size_t k = 0; k < run && o + 1 < n; k++)
                dst[o++] = src[i + k];
            i += run;
            continue;
        }
        unsigned char c = (unsigned char)src[i++];
        dst[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    dst[o] = '\0';
    return dst;
}
