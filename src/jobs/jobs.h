/* jobs: a small durable job queue in the database, for work that must happen
 * once even with several nodes (SMS outbox, screening runs, exports).
 *
 * jobs_enqueue() adds a job of a kind with a JSON payload. A worker calls
 * jobs_claim() for a kind: it gets the oldest ready job and a lease (the job
 * is "running", held by that worker until the lease ends), or nothing. Two
 * claimers never get the same job: on PostgreSQL the claim is one UPDATE whose
 * subquery picks the row with SELECT … FOR UPDATE SKIP LOCKED (concurrent
 * claimers skip each other's rows instead of waiting); on SQLite it runs in a
 * BEGIN IMMEDIATE transaction (one writer at a time). The worker then calls
 * jobs_complete() or jobs_fail(); a failure re-queues the job after a delay
 * until max_attempts claims have been made, then marks it failed. A job whose
 * lease ran out (its worker died) is claimable again; completing or failing a
 * job whose lease was taken over is refused (409), so a slow worker cannot
 * overwrite the outcome of the one that took over. */
#ifndef ISLE_JOBS_H
#define ISLE_JOBS_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"
#include "cli.h"
#include "db/db.h"

#define JOBS_KIND_MAX    64
#define JOBS_PAYLOAD_MAX (64 * 1024)

/** A claimed job. */
typedef struct jobs_job {
    int64_t id;
    char kind[JOBS_KIND_MAX + 1];
    char *payload; /* JSON text, owned: jobs_job_free() */
    int attempts;  /* claims so far, this one included */
    int max_attempts;
    char locked_until[32];
} jobs_job;

/** Queue a job. kind: 1–64 of [a-z0-9._-]; payload_json: JSON text (NULL = "{}"), at
 *  most 64 KiB; delay_seconds ≥ 0 before it may be claimed; max_attempts 1–100 (0 = 5).
 *  *id_out (may be NULL) gets its id. 0 or -1 (400 on bad input). Called inside an open
 *  transaction, the job joins it (visible and claimable only once the caller commits,
 *  gone if it rolls back: the outbox pattern); otherwise it runs in its own. */
int jobs_enqueue(db *d, const char *kind, const char *payload_json, int delay_seconds,
                 int max_attempts, int64_t *id_out, err *e);
/** Claim the oldest ready job of kind for worker (1–64 printable characters) for
 *  lease_seconds (1–86400). Returns 1 with *out filled, 0 when no job is ready, -1 on
 *  error. */
int jobs_claim(db *d, const char *kind, const char *worker, int lease_seconds, jobs_job *out,
               err *e);
/** Free what a claimed job owns (not the struct). */
void jobs_job_free(jobs_job *j);
/** Mark a job this worker holds as done. 409 when it does not hold it any more. */
int jobs_complete(db *d, int64_t id, const char *worker, err *e);
/** Record a failure (error: a short reason, stored) of a job this worker holds: back to
 *  the queue after retry_delay_seconds, or failed when its attempts are used up.
 *  *final_out (may be NULL) gets 1 when the job is now failed for good. */
int jobs_fail(db *d, int64_t id, const char *worker, const char *error, int retry_delay_seconds,
              int *final_out, err *e);
/** Jobs, newest first, optionally only of a kind and/or status (NULL = any), at most
 *  limit (1–1000). {"items": [...]}; caller owns it. NULL on error. */
json_t *jobs_list(db *d, const char *kind, const char *status, int limit, err *e);
/** Number of jobs per status: {"queued": n, "running": n, "done": n, "failed": n}. */
json_t *jobs_counts(db *d, err *e);

/** `isle jobs …` (jobs_cli.c); argv[0] is "jobs". */
int jobs_cli(const cli_env *env, int argc, char **argv);

#endif
