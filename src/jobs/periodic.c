/* periodic.c: see periodic.h. */
#include "jobs/periodic.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/log.h"
#include "base/timeutil.h"
#include "base/xmalloc.h"

struct periodic {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    long interval_ms;
    periodic_fn fn;
    char name[64];
    char dsn[1024];
};

static void *periodic_main(void *arg) {
    periodic *p = arg;
    db *d = NULL;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        pthread_mutex_unlock(&p->mu);
        err e = {0};
        if (!d && db_open(p->dsn, &d, &e) != 0) {
            log_warn("%s: %s", p->name, e.message);
            d = NULL;
        }
        if (d) {
            char summary[256] = "";
            if (p->fn(d, time_now(), summary, sizeof(summary), &e) != 0) {
                log_warn("%s: %s", p->name, e.message);
                db_close(d); /* reconnect next time (the database may have restarted) */
                d = NULL;
            } else if (summary[0]) {
                log_info("%s: %s", p->name, summary);
            }
        }
        pthread_mutex_lock(&p->mu);
        if (p->stop) break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += p->interval_ms / 1000;
        ts.tv_nsec += (p->interval_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&p->cv, &p->mu, &ts);
    }
    pthread_mutex_unlock(&p->mu);
    db_close(d);
    return NULL;
}

int periodic_start(const char *name, const char *dsn, const char *env_var, long default_ms,
                   periodic_fn fn, periodic **out, err *e) {
    *out = NULL;
    const char *v = getenv(env_var);
    long ms = default_ms;
    if (v && *v) {
        char *end;
        ms = strtol(v, &end, 10);
        if (*end || ms < 0 || ms > 86400000L)
            return err_invalid(e, env_var, "%s 须为 0–86400000 的毫秒数", env_var);
    }
    if (ms == 0) return 0; /* off */
    periodic *p = xcalloc(1, sizeof(*p));
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    snprintf(p->name, sizeof(p->name), "%s", name);
    snprintf(p->dsn, sizeof(p->dsn), "%s", dsn);
    p->interval_ms = ms < 50 ? 50 : ms;
    p->fn = fn;
    if (pthread_create(&p->thread, NULL, periodic_main, p) != 0) {
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv);
        free(p);
        return err_internal(e, "cannot start the %s", name);
    }
    *out = p;
    return 0;
}

void periodic_stop(periodic *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}
