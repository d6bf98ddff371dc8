/* assist_internal.h: what agents.c, assist.c, assist_watch.c and assist_cli.c
 * share (not for other modules).
 *
 * qbuild: a statement assembled from constant SQL fragments with numbered
 * parameters, for list filters — the text never contains input, every value is
 * bound. A fragment marks its parameter with "$#" (several "$#" in one fragment
 * all mean the same parameter). */
#ifndef ISLE_ASSIST_INTERNAL_H
#define ISLE_ASSIST_INTERNAL_H

#include <stdio.h>
#include <string.h>

#include "island/assist.h"

#define QB_SQL_MAX    4096
#define QB_PARAMS_MAX 24

typedef struct qbuild {
    char sql[QB_SQL_MAX];
    size_t len;
    int overflow;
    int n;
    struct {
        char type; /* 's' text, 'i' integer */
        const char *s;
        int64_t i;
    } p[QB_PARAMS_MAX];
} qbuild;

/** Append a constant fragment; "$#" becomes "$N" for the next parameter when
 *  with_param is 1 (the parameter is added by the caller's qb_s/qb_i). */
static inline void qb_frag(qbuild *q, const char *frag, int param_no) {
    for (const char *p = frag; *p; p++) {
        if (p[0] == '$' && p[1] == '#' && param_no > 0) {
            char num[16];
            int k = snprintf(num, sizeof(num), "$%d", param_no);
            if (q->len + (size_t)k >= sizeof(q->sql)) {
                q->overflow = 1;
                return;
            }
            memcpy(q->sql + q->len, num, (size_t)k);
            q->len += (size_t)k;
            p++;
            continue;
        }
        if (q->len + 1 >= sizeof(q->sql)) {
            q->overflow = 1;
            return;
        }
        q->sql[q->len++] = *p;
    }
    q->sql[q->len] = '\0';
}

static inline void qb_text(qbuild *q, const char *frag) {
    qb_frag(q, frag, 0);
}

/** Append frag binding text v to its "$#". */
static inline void qb_s(qbuild *q, const char *frag, const char *v) {
    if (q->n >= QB_PARAMS_MAX) {
        q->overflow = 1;
        return;
    }
    q->p[q->n].type = 's';
    q->p[q->n].s = v;
    q->n++;
    qb_frag(q, frag, q->n);
}

/** Append frag binding integer v to its "$#". */
static inline void qb_i(qbuild *q, const char *frag, int64_t v) {
    if (q->n >= QB_PARAMS_MAX) {
        q->overflow = 1;
        return;
    }
    q->p[q->n].type = 'i';
    q->p[q->n].i = v;
    q->n++;
    qb_frag(q, frag, q->n);
}

/** Prepare and bind. NULL on error (e filled). */
static inline db_stmt *qb_prepare(db *d, qbuild *q, err *e) {
    if (q->overflow) {
        err_internal(e, "query too long");
        return NULL;
    }
    db_stmt *s = db_prepare(d, q->sql, e);
    if (!s) return NULL;
    for (int i = 0; i < q->n; i++) {
        if (q->p[i].type == 'i')
            db_bind_int64(s, i + 1, q->p[i].i);
        else
            db_bind_text(s, i + 1, q->p[i].s);
    }
    return s;
}

/** 1 if s is a phone number as notify accepts it: 5–20 of digits, '+', '-', starting
 *  with a digit or '+'. */
static inline int assist_phone_valid(const char *s) {
    size_t n = s ? strlen(s) : 0;
    if (n < 5 || n > 20) return 0;
    if (!((s[0] >= '0' && s[0] <= '9') || s[0] == '+')) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '-')) return 0;
    return 1;
}

/** Recompute agent_id's open_tasks and served_today from its requests (at now).
 *  Inside the caller's transaction; agent_id 0 does nothing. 0 or -1. */
int assist_agent_recount(db *d, int64_t agent_id, int64_t now, err *e);

/** Publishes waiting for the commit (assist.c). */
#define ASSIST_PUB_MAX 8
typedef struct assist_pubs {
    int n;
    struct {
        int64_t agent_id;
        char event[24];
        char *data; /* owned */
    } item[ASSIST_PUB_MAX];
} assist_pubs;
/** Send every queued publish through the hook and free them; call after the commit. */
void assist_pubs_flush(assist_pubs *p);
/** Free without sending (after a rollback). */
void assist_pubs_drop(assist_pubs *p);

/** Inside the caller's transaction (agents.c, when an agent goes off duty): every
 *  request dispatched to agent_id and not yet accepted goes back to dispatch without
 *  that agent (event "release"). Publishes are queued on pubs (may be NULL) for the
 *  caller to flush after its commit. *moved (may be NULL) gets the count. 0 or -1. */
int assist_agent_released(db *d, const audit_actor *actor, int64_t agent_id, int64_t now,
                          assist_pubs *pubs, int *moved, err *e);

/** Inside the caller's transaction: ask the dispatcher for request id (status new),
 *  excluding the agents that declined it and extra_exclude (0: none), and assign the
 *  choice (event, audit, messages, publish queued). *assigned gets the agent id or 0
 *  (nobody suitable). 0 or -1. */
int assist_dispatch_in_tx(db *d, const audit_actor *aa, int64_t actor_user, int64_t id,
                          int64_t extra_exclude, int64_t now, assist_pubs *pubs, int64_t *assigned,
                          err *e);

/** Inside the caller's transaction: escalate request id to the supervisors (kind
 *  "accept" or "done"); the caller has claimed it. 0 or -1. */
int assist_escalate_in_tx(db *d, int64_t id, const char *kind, const char *due_iso, int64_t now,
                          err *e);

#endif
