/* workcal/default.c: the process-wide calendar that the server's handlers and
 * the applications module share.
 *
 * Loaded at first use from DATA_DIR/holidays, then watched: at most once every
 * RECHECK_SECONDS a caller lists the directory and fingerprints its *.json files
 * (name, size, modification time); a different fingerprint means a reload. So a
 * server that runs across New Year picks up the next year's file when an
 * operator drops it in, without a restart. A reload that fails (a half-copied
 * file, a typo) is logged and the calendar in use is kept; the same fingerprint
 * is not retried, the next change of the files is.
 *
 * Calendars are immutable, so readers need no lock once they hold one. A
 * replaced calendar is not freed (a thread may still be reading it): it is kept
 * on a list until workcal_default_reset(). Reloads happen only when files
 * change, so the list stays a handful of small objects. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/timeutil.h"
#include "base/xmalloc.h"
#include "workcal/internal.h"

#define RECHECK_SECONDS 60

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *data_dir;    /* set by workcal_default_set_data_dir, or NULL */
static workcal *current;  /* the calendar handed out */
static workcal **retired; /* replaced calendars, freed by reset */
static size_t nretired;
static uint64_t checked_ns;  /* time_mono_ns() of the last directory check */
static int checked;          /* whether a check has happened since the last reset */
static uint64_t tried_print; /* fingerprint of the last attempted load */
static err last_error;       /* why the first load failed */

void workcal_default_set_data_dir(const char *dir) {
    pthread_mutex_lock(&lock);
    free(data_dir);
    data_dir = dir ? xstrdup(dir) : NULL;
    checked = 0;
    tried_print = 0;
    pthread_mutex_unlock(&lock);
}

/* The holiday directory into buf: the configured data dir, $ISLE_DATA_DIR, ./data,
 * or data/ next to the binary (build/isle, build/san/isle, an installed bin/). */
static const char *holiday_dir(char *buf, size_t n) {
    if (data_dir) {
        snprintf(buf, n, "%s/holidays", data_dir);
        return buf;
    }
    const char *env = getenv("ISLE_DATA_DIR");
    if (env && *env) {
        snprintf(buf, n, "%s/holidays", env);
        return buf;
    }
    struct stat st;
    if (stat("data/holidays", &st) == 0) {
        snprintf(buf, n, "data/holidays");
        return buf;
    }
    char exe[1024];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) *slash = '\0';
        static const char *const ups[] = {"/..", "/../..", "/../share/isle"};
        for (size_t i = 0; i < sizeof(ups) / sizeof(ups[0]); i++) {
            snprintf(buf, n, "%s%s/data/holidays", exe, ups[i]);
            if (stat(buf, &st) == 0) return buf;
        }
    }
    snprintf(buf, n, "data/holidays");
    return buf; /* not there: the load error names it */
}

/* FNV-1a over the name, size and mtime of every *.json; order-independent (summed). */
static uint64_t fingerprint(const char *dir) {
    DIR *dh = opendir(dir);
    if (!dh) return 1;
    uint64_t sum = 0;
    struct dirent *de;
    while ((de = readdir(dh))) {
        size_t len = strlen(de->d_name);
        if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".json") != 0) continue;
        struct stat st;
        if (fstatat(dirfd(dh), de->d_name, &st, 0) != 0) continue;
        uint64_t h = 1469598103934665603ull;
        for (size_t i = 0; i < len; i++)
            h = (h ^ (unsigned char)de->d_name[i]) * 1099511628211ull;
        int64_t parts[3] = {(int64_t)st.st_size, (int64_t)st.st_mtim.tv_sec,
                            (int64_t)st.st_mtim.tv_nsec};
        for (size_t i = 0; i < sizeof(parts); i++)
            h = (h ^ ((const unsigned char *)parts)[i]) * 1099511628211ull;
        sum += h;
    }
    closedir(dh);
    return sum ? sum : 2;
}

/* Load dir with the office hours of $ISLE_WORKCAL_HOURS. */
static workcal *load_configured(const char *dir, err *e) {
    workcal *cal = workcal_load(dir, e);
    if (!cal) return NULL;
    const char *spec = getenv("ISLE_WORKCAL_HOURS");
    if (spec && *spec) {
        workcal_schedule s;
        if (workcal_schedule_parse(spec, &s, e) != 0 || workcal_set_schedule(cal, &s, e) != 0) {
            char msg[sizeof(e->message)];
            snprintf(msg, sizeof(msg), "%s", e->message);
            err_set(e, 500, "internal", "ISLE_WORKCAL_HOURS", "ISLE_WORKCAL_HOURS：%s", msg);
            workcal_free(cal);
            return NULL;
        }
    }
    return cal;
}

const workcal *workcal_default(err *e) {
    pthread_mutex_lock(&lock);
    uint64_t now = time_mono_ns();
    if (!checked || now - checked_ns >= (uint64_t)RECHECK_SECONDS * 1000000000ull) {
        checked = 1;
        checked_ns = now;
        char dir[4096];
        holiday_dir(dir, sizeof(dir));
        uint64_t print = fingerprint(dir);
        if (print != tried_print) {
            tried_print = print;
            err le = {0};
            workcal *cal = load_configured(dir, &le);
            if (cal) {
                if (current) {
                    retired = xrealloc(retired, (nretired + 1) * sizeof(*retired));
                    retired[nretired++] = current;
                    log_info("workcal: holiday files in %s changed; reloaded", dir);
                }
                current = cal;
                int first, last;
                workcal_years(cal, &first, &last);
                log_info("workcal: holiday files for %d–%d from %s", first, last, dir);
            } else if (current) {
                log_warn("workcal: keeping the calendar in use: %s", le.message);
            } else {
                last_error = le;
                log_error("workcal: %s", le.message);
            }
        }
    }
    const workcal *cal = current;
    if (!cal && e) *e = last_error;
    pthread_mutex_unlock(&lock);
    return cal;
}

void workcal_default_reset(void) {
    pthread_mutex_lock(&lock);
    workcal_free(current);
    current = NULL;
    for (size_t i = 0; i < nretired; i++)
        workcal_free(retired[i]);
    free(retired);
    retired = NULL;
    nretired = 0;
    checked = 0;
    tried_print = 0;
    err_clear(&last_error);
    free(data_dir);
    data_dir = NULL;
    pthread_mutex_unlock(&lock);
}
