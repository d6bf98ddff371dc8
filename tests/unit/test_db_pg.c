/* Unit tests for the PostgreSQL backend (db_pg.c), the per-backend migration
 * sections and the job queue on both backends.
 *
 * PostgreSQL cases run when $ISLE_TEST_PG_URL names a server
 * ("postgres://isle@127.0.0.1:PORT/", as scripts/test.sh sets it); each makes
 * its own database. Without it they pass vacuously. */
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "base/timeutil.h"
#include "db/db.h"
#include "db/migrate.h"
#include "jobs/jobs.h"

static char pg_url[512];

/* A new, migrated PostgreSQL database, or NULL when none is configured. Its URL goes to
 * url (may be NULL). */
static db *pg_fresh(char *url, size_t n) {
    const char *base = getenv("ISLE_TEST_PG_URL");
    if (!base || !*base) return NULL;
    static int seq;
    char admin[400], name[64];
    snprintf(admin, sizeof(admin), "%spostgres", base);
    snprintf(name, sizeof(name), "isle_u%ld_%d_%ld", (long)getpid(), seq++, (long)time(NULL));
    db *a = NULL;
    err e = {0};
    if (db_open(admin, &a, &e) != 0) {
        fprintf(stderr, "    %s\n", e.message);
        return NULL;
    }
    char sql[128];
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
    int rc = db_exec(a, sql, &e);
    db_close(a);
    if (rc != 0) {
        fprintf(stderr, "    create database: %s\n", e.message);
        return NULL;
    }
    snprintf(pg_url, sizeof(pg_url), "%s%s", base, name);
    if (url) snprintf(url, n, "%s", pg_url);
    db *d = NULL;
    if (db_open(pg_url, &d, &e) != 0 || db_migrate(d, NULL, &e) != 0) {
        fprintf(stderr, "    %s\n", e.message);
        db_close(d);
        return NULL;
    }
    return d;
}

TEST(migration_sections_per_backend) {
    const char *sql = "CREATE TABLE a (x INTEGER);\n"
                      "-- @sqlite\n"
                      "CREATE TABLE only_sqlite (y BLOB);\n"
                      "-- @end\n"
                      "-- @postgres\n"
                      "CREATE TABLE only_pg (y BYTEA);\n"
                      "-- @end\n"
                      "CREATE TABLE b (z TEXT);\n";
    char *s = db_migration_sql(sql, "sqlite");
    CHECK(strstr(s, "only_sqlite") != NULL);
    CHECK(strstr(s, "only_pg") == NULL);
    CHECK(strstr(s, "CREATE TABLE a") != NULL && strstr(s, "CREATE TABLE b") != NULL);
    CHECK(strstr(s, "@end") == NULL);
    free(s);
    s = db_migration_sql(sql, "postgres");
    CHECK(strstr(s, "only_sqlite") == NULL);
    CHECK(strstr(s, "only_pg") != NULL);
    CHECK(strstr(s, "CREATE TABLE b") != NULL);
    free(s);
}

TEST(dsn_kinds_and_redaction) {
    CHECK(db_dsn_is_postgres("postgres://u@h:5432/d"));
    CHECK(db_dsn_is_postgres("postgresql://u@h/d"));
    CHECK(!db_dsn_is_postgres("sqlite:/tmp/x.db"));
    CHECK(!db_dsn_is_postgres("isle.db"));
    CHECK_STR(db_dsn_path("sqlite:/tmp/x.db"), "/tmp/x.db");
    CHECK_STR(db_dsn_path("isle.db"), "isle.db");
    CHECK(db_dsn_path("postgres://h/d") == NULL);
    char buf[256];
    CHECK_STR(db_dsn_redact("postgres://isle:s3cret@db1:5432/isle", buf, sizeof(buf)),
              "postgres://isle:***@db1:5432/isle");
    CHECK_STR(db_dsn_redact("postgres://isle@db1/isle", buf, sizeof(buf)),
              "postgres://isle@db1/isle");
    CHECK(strstr(db_dsn_redact("postgres://a:b@h/d?password=zz&x=1", buf, sizeof(buf)), "zz") ==
          NULL);
    db *d = NULL;
    err e = {0};
    CHECK_INT(db_open("sqlite:", &d, &e), -1);
}

TEST(pg_types_params_and_blobs) {
    db *d = pg_fresh(NULL, 0);
    if (!d) return;
    err e = {0};
    CHECK_INT(db_exec(d,
                      "CREATE TABLE t (id BIGINT, i INTEGER, f DOUBLE PRECISION, n NUMERIC, "
                      "s TEXT, b BYTEA, ok BOOLEAN)",
                      &e),
              0);
    static const unsigned char blob[] = {0, 1, 2, 0xff, '\\', 'x'};
    db_stmt *s = db_prepare(d, "INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6, $7)", &e);
    CHECK(s != NULL);
    if (!s) {
        db_close(d);
        return;
    }
    db_bind_int64(s, 1, 9007199254740993LL);
    db_bind_int64(s, 2, -5);
    db_bind_double(s, 3, 0.1);
    db_bind_text(s, 4, "12.50");
    db_bind_text(s, 5, "舟山 'quoted' $1");
    db_bind_blob(s, 6, blob, sizeof(blob));
    db_bind_text(s, 7, "true");
    CHECK_INT(db_bind_int64(s, 8, 1), -1); /* out of range */
    CHECK_INT(db_step(s), DB_DONE);
    CHECK_INT(db_changes(d), 1);
    db_reset(s);
    s = db_query(d, &e, "SELECT id, i, f, n, s, b, ok, NULL AS nothing, $2 || $1 AS swapped FROM t",
                 "ss", "b", "a");
    CHECK(s != NULL);
    if (!s) {
        db_close(d);
        return;
    }
    CHECK_INT(db_column_count(s), 9);
    CHECK_INT(db_step(s), DB_ROW);
    CHECK_INT(db_column_type(s, 0), DB_INT);
    CHECK_INT(db_column_int64(s, 0), 9007199254740993LL);
    CHECK_INT(db_column_type(s, 1), DB_INT);
    CHECK_INT(db_column_int64(s, 1), -5);
    CHECK_INT(db_column_type(s, 2), DB_FLOAT);
    CHECK(db_column_double(s, 2) == 0.1);
    CHECK_INT(db_column_type(s, 3), DB_FLOAT);
    CHECK(db_column_double(s, 3) == 12.5);
    CHECK_INT(db_column_type(s, 4), DB_TEXT);
    CHECK_STR(db_column_text(s, 4), "舟山 'quoted' $1");
    CHECK_INT(db_column_type(s, 5), DB_BLOB);
    size_t n = 0;
    const unsigned char *got = db_column_blob(s, 5, &n);
    CHECK_INT(n, sizeof(blob));
    CHECK(got && memcmp(got, blob, sizeof(blob)) == 0);
    CHECK_INT(db_column_type(s, 6), DB_INT);
    CHECK_INT(db_column_int64(s, 6), 1);
    CHECK_STR(db_column_text(s, 6), "1");
    CHECK_INT(db_column_type(s, 7), DB_NULL);
    CHECK(db_column_text(s, 7) == NULL);
    CHECK_STR(db_column_name(s, 8), "swapped");
    CHECK_STR(db_column_text(s, 8), "ab");
    CHECK_INT(db_step(s), DB_DONE);
    db_reset(s);
    /* The same statement from the cache, re-bound. */
    s = db_query(d, &e, "SELECT id, i, f, n, s, b, ok, NULL AS nothing, $2 || $1 AS swapped FROM t",
                 "ss", "y", "x");
    CHECK_INT(db_step(s), DB_ROW);
    CHECK_STR(db_column_text(s, 8), "xy");
    db_reset(s);
    /* Errors: a unique violation is a 409 through db_execf, a bad statement fails cleanly. */
    CHECK_INT(db_exec(d, "CREATE UNIQUE INDEX t_id ON t (id)", &e), 0);
    CHECK_INT(db_execf(d, &e, "INSERT INTO t (id) VALUES ($1)", "i", 9007199254740993LL), -1);
    CHECK_INT(e.status, 409);
    CHECK(db_prepare(d, "SELEKT 1", &e) == NULL);
    CHECK_INT(e.status, 500);
    /* Backup names pg_dump; notify without a transaction works. */
    CHECK_INT(db_backup(d, "/tmp/never", &e), -1);
    CHECK(strstr(e.message, "pg_dump") != NULL);
    CHECK_INT(db_notify(d, "isle_test", "hello", &e), 0);
    CHECK_INT(db_notify(d, "Bad-Channel", "x", &e), -1);
    db_close(d);
}

TEST(pg_failed_transaction_is_rolled_back_not_committed) {
    db *d = pg_fresh(NULL, 0);
    if (!d) return;
    err e = {0};
    CHECK_INT(db_exec(d, "CREATE TABLE t (id INTEGER PRIMARY KEY)", &e), 0);
    CHECK_INT(db_begin(d, &e), 0);
    CHECK_INT(db_execf(d, &e, "INSERT INTO t (id) VALUES ($1)", "i", (int64_t)1), 0);
    CHECK_INT(db_execf(d, &e, "INSERT INTO t (id) VALUES ($1)", "i", (int64_t)1), -1);
    CHECK_INT(db_commit(d, &e), -1); /* PostgreSQL answers COMMIT with ROLLBACK */
    CHECK_INT(d->in_tx, 0);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM t"), 0);
    db_close(d);
}

struct race {
    db *a, *b;
    int attempts;
};

/* A read-modify-write that collides with a write from another connection on its first
 * attempt: SERIALIZABLE refuses it (40001) and db_tx_run runs it again. */
static int bump(db *d, void *arg, err *e) {
    struct race *r = arg;
    r->attempts++;
    int64_t v = 0;
    if (db_query_int(d, e, &v, "SELECT v FROM c WHERE id = 1", "") != 0) return -1;
    if (r->attempts == 1 && db_execf(r->b, e, "UPDATE c SET v = v + 100 WHERE id = 1", "") != 0)
        return -1;
    return db_execf(d, e, "UPDATE c SET v = $1 WHERE id = 1", "i", v + 1);
}

TEST(pg_serializable_retry) {
    char url[512];
    db *a = pg_fresh(url, sizeof(url));
    if (!a) return;
    db *b = NULL;
    err e = {0};
    CHECK_INT(db_open(url, &b, &e), 0);
    CHECK_INT(db_exec(a,
                      "CREATE TABLE c (id INTEGER PRIMARY KEY, v BIGINT NOT NULL);"
                      "INSERT INTO c VALUES (1, 0)",
                      &e),
              0);
    struct race r = {a, b, 0};
    CHECK_INT(db_tx_run(a, DB_TX_SERIALIZABLE, bump, &r, &e), 0);
    CHECK_INT(r.attempts, 2);
    CHECK_INT(test_db_count(a, "SELECT v FROM c WHERE id = 1"), 101);
    db_close(b);
    db_close(a);
}

TEST(pg_reconnects_after_the_server_drops_the_connection) {
    char url[512];
    db *victim = pg_fresh(url, sizeof(url));
    if (!victim) return;
    db *killer = NULL;
    err e = {0};
    CHECK_INT(db_open(url, &killer, &e), 0);
    int64_t pid = 0;
    CHECK_INT(db_query_int(victim, &e, &pid, "SELECT pg_backend_pid()", ""), 0);
    db_stmt *cached = db_prepare(victim, "SELECT 40 + $1", &e);
    CHECK(cached != NULL);
    int64_t ok = 0;
    CHECK_INT(
        db_query_int(killer, &e, &ok, "SELECT CAST(pg_terminate_backend($1) AS INTEGER)", "i", pid),
        0);
    CHECK_INT(ok, 1);
    usleep(100 * 1000);
    /* Outside a transaction: noticed and reset before the statement; cached statements
     * are prepared again on the new connection. */
    int64_t v = 0;
    CHECK_INT(db_query_int(victim, &e, &v, "SELECT 40 + $1", "i", (int64_t)2), 0);
    CHECK_INT(v, 42);
    int64_t pid2 = 0;
    CHECK_INT(db_query_int(victim, &e, &pid2, "SELECT pg_backend_pid()", ""), 0);
    CHECK(pid2 != pid);
    /* Inside a transaction: the statement fails as unavailable (503); afterwards the
     * connection recovers. */
    unsigned long before = db_conn_errors(victim);
    CHECK_INT(db_begin(victim, &e), 0);
    CHECK_INT(db_query_int(killer, &e, &ok, "SELECT CAST(pg_terminate_backend($1) AS INTEGER)", "i",
                           pid2),
              0);
    usleep(100 * 1000);
    CHECK_INT(db_query_int(victim, &e, &v, "SELECT 40 + $1", "i", (int64_t)1), -1);
    CHECK_INT(e.status, 503);
    CHECK(db_conn_errors(victim) > before);
    db_rollback(victim);
    CHECK_INT(victim->in_tx, 0);
    usleep(1100 * 1000); /* past the one-reset-a-second pause */
    CHECK_INT(db_query_int(victim, &e, &v, "SELECT 40 + $1", "i", (int64_t)3), 0);
    CHECK_INT(v, 43);
    db_close(killer);
    db_close(victim);
}

static struct {
    pthread_mutex_t mu;
    char got[8][64];
    int n;
    int connects;
} heard = {PTHREAD_MUTEX_INITIALIZER};

static void on_note(db *d, const char *channel, const char *payload, void *arg) {
    (void)d;
    (void)channel;
    (void)arg;
    pthread_mutex_lock(&heard.mu);
    if (heard.n < 8) snprintf(heard.got[heard.n++], sizeof(heard.got[0]), "%s", payload);
    pthread_mutex_unlock(&heard.mu);
}

static void on_conn(db *d, void *arg) {
    (void)d;
    (void)arg;
    pthread_mutex_lock(&heard.mu);
    heard.connects++;
    pthread_mutex_unlock(&heard.mu);
}

static int heard_count(void) {
    pthread_mutex_lock(&heard.mu);
    int n = heard.n;
    pthread_mutex_unlock(&heard.mu);
    return n;
}

static int wait_heard(int n) {
    for (int i = 0; i < 200 && heard_count() < n; i++)
        usleep(10 * 1000);
    return heard_count();
}

TEST(pg_listen_notify_in_commit_order) {
    char url[512];
    db *d = pg_fresh(url, sizeof(url));
    if (!d) return;
    err e = {0};
    heard.n = heard.connects = 0;
    db_listener *l = db_listen_start(url, "isle_unit", on_note, on_conn, NULL, &e);
    CHECK(l != NULL);
    if (!l) {
        db_close(d);
        return;
    }
    CHECK_INT(heard.connects, 1);
    CHECK_INT(db_notify(d, "isle_unit", "one", &e), 0);
    CHECK_INT(wait_heard(1), 1);
    /* Inside a transaction: nothing until COMMIT, nothing at all after ROLLBACK. */
    CHECK_INT(db_begin(d, &e), 0);
    CHECK_INT(db_notify(d, "isle_unit", "two", &e), 0);
    usleep(100 * 1000);
    CHECK_INT(heard_count(), 1);
    CHECK_INT(db_commit(d, &e), 0);
    CHECK_INT(wait_heard(2), 2);
    CHECK_INT(db_begin(d, &e), 0);
    CHECK_INT(db_notify(d, "isle_unit", "never", &e), 0);
    db_rollback(d);
    CHECK_INT(db_notify(d, "isle_unit", "three", &e), 0);
    CHECK_INT(wait_heard(3), 3);
    CHECK_STR(heard.got[0], "one");
    CHECK_STR(heard.got[1], "two");
    CHECK_STR(heard.got[2], "three");
    /* The listener survives its connection being killed, and says so through on_connect. */
    CHECK_INT(db_execf(d, &e,
                       "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()",
                       ""),
              0);
    for (int i = 0; i < 300; i++) {
        pthread_mutex_lock(&heard.mu);
        int c = heard.connects;
        pthread_mutex_unlock(&heard.mu);
        if (c >= 2) break;
        usleep(10 * 1000);
    }
    CHECK(heard.connects >= 2);
    CHECK_INT(db_notify(d, "isle_unit", "four", &e), 0);
    CHECK_INT(wait_heard(4), 4);
    db_listen_stop(l);
    db_close(d);
    CHECK(db_listen_start("isle.db", "isle_unit", on_note, NULL, NULL, &e) == NULL);
}

/* ---- the job queue, on both backends ---- */

#define RACE_JOBS 120

struct claimer {
    const char *dsn;
    const char *name;
    int64_t ids[RACE_JOBS];
    int n, errors;
};

static void *claim_all(void *arg) {
    struct claimer *c = arg;
    db *d = NULL;
    err e = {0};
    if (db_open(c->dsn, &d, &e) != 0) {
        c->errors++;
        return NULL;
    }
    for (;;) {
        jobs_job j;
        int got = jobs_claim(d, "race", c->name, 60, &j, &e);
        if (got < 0) {
            fprintf(stderr, "    claim: %s\n", e.message);
            c->errors++;
            break;
        }
        if (!got) break;
        if (c->n < RACE_JOBS) c->ids[c->n++] = j.id;
        if (jobs_complete(d, j.id, c->name, &e) != 0) c->errors++;
        jobs_job_free(&j);
    }
    db_close(d);
    return NULL;
}

static void two_claimers(const char *dsn, db *d) {
    err e = {0};
    for (int i = 0; i < RACE_JOBS; i++) {
        char payload[32];
        snprintf(payload, sizeof(payload), "{\"n\":%d}", i);
        CHECK_INT(jobs_enqueue(d, "race", payload, 0, 3, NULL, &e), 0);
    }
    static struct claimer a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    a.dsn = b.dsn = dsn;
    a.name = "worker-a";
    b.name = "worker-b";
    pthread_t ta, tb;
    pthread_create(&ta, NULL, claim_all, &a);
    pthread_create(&tb, NULL, claim_all, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK_INT(a.errors + b.errors, 0);
    CHECK_INT(a.n + b.n, RACE_JOBS);
    static char seen[RACE_JOBS + 1];
    memset(seen, 0, sizeof(seen));
    int dup = 0;
    for (int k = 0; k < 2; k++) {
        struct claimer *c = k ? &b : &a;
        for (int i = 0; i < c->n; i++) {
            int64_t id = c->ids[i];
            if (id < 1 || id > RACE_JOBS || seen[id])
                dup++;
            else
                seen[id] = 1;
        }
    }
    CHECK_INT(dup, 0);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM jobs WHERE status = 'done'"), RACE_JOBS);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM jobs WHERE attempts <> 1"), 0);
}

TEST(jobs_two_claimers_never_share_a_job_sqlite) {
    char path[64];
    snprintf(path, sizeof(path), "/tmp/isle-unit-jobs-XXXXXX");
    int fd = mkstemp(path);
    close(fd);
    db *d = NULL;
    err e = {0};
    CHECK_INT(db_open(path, &d, &e), 0);
    CHECK_INT(db_migrate(d, NULL, &e), 0);
    two_claimers(path, d);
    db_close(d);
    char p[96];
    unlink(path);
    snprintf(p, sizeof(p), "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", path);
    unlink(p);
}

TEST(jobs_two_claimers_never_share_a_job_pg) {
    char url[512];
    db *d = pg_fresh(url, sizeof(url));
    if (!d) return;
    two_claimers(url, d);
    db_close(d);
}

TEST(jobs_retry_lease_and_failure) {
    db *d = test_db_open();
    if (!d) return;
    err e = {0};
    int64_t id = 0;
    time_set_fake(1800000000);
    CHECK_INT(jobs_enqueue(d, "sms", "{\"to\":\"x\"}", 0, 2, &id, &e), 0);
    CHECK_INT(jobs_enqueue(d, "BAD KIND", NULL, 0, 0, NULL, &e), -1);
    CHECK_INT(e.status, 400);
    CHECK_INT(jobs_enqueue(d, "sms", "{not json", 0, 0, NULL, &e), -1);
    CHECK_STR(e.field, "payload");
    jobs_job j;
    CHECK_INT(jobs_claim(d, "other", "w1", 30, &j, &e), 0);
    CHECK_INT(jobs_claim(d, "sms", "w1", 30, &j, &e), 1);
    CHECK_INT(j.id, id);
    CHECK_INT(j.attempts, 1);
    CHECK_STR(j.payload, "{\"to\":\"x\"}");
    jobs_job_free(&j);
    /* Held: nobody else gets it, and only the holder may finish it. */
    CHECK_INT(jobs_claim(d, "sms", "w2", 30, &j, &e), 0);
    CHECK_INT(jobs_complete(d, id, "w2", &e), -1);
    CHECK_INT(e.status, 409);
    CHECK_INT(jobs_complete(d, 999, "w1", &e), -1);
    CHECK_INT(e.status, 404);
    /* A failure puts it back after the delay. */
    int final = -1;
    CHECK_INT(jobs_fail(d, id, "w1", "gateway down", 60, &final, &e), 0);
    CHECK_INT(final, 0);
    CHECK_INT(jobs_claim(d, "sms", "w2", 30, &j, &e), 0);
    time_set_fake(1800000000 + 61);
    CHECK_INT(jobs_claim(d, "sms", "w2", 30, &j, &e), 1);
    CHECK_INT(j.attempts, 2);
    jobs_job_free(&j);
    /* w2 dies: the lease runs out with no attempt left, so the job fails for good. */
    time_set_fake(1800000000 + 61 + 31);
    CHECK_INT(jobs_claim(d, "sms", "w3", 30, &j, &e), 0);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM jobs WHERE status = 'failed'"), 1);
    CHECK_INT(jobs_complete(d, id, "w2", &e), -1);
    CHECK_INT(e.status, 409);
    /* A lease that ran out with attempts left is taken over. */
    CHECK_INT(jobs_enqueue(d, "sms", NULL, 0, 3, &id, &e), 0);
    CHECK_INT(jobs_claim(d, "sms", "w4", 30, &j, &e), 1);
    jobs_job_free(&j);
    time_set_fake(1800000000 + 61 + 31 + 31);
    CHECK_INT(jobs_claim(d, "sms", "w5", 30, &j, &e), 1);
    CHECK_INT(j.id, id);
    CHECK_INT(j.attempts, 2);
    jobs_job_free(&j);
    CHECK_INT(jobs_fail(d, id, "w4", "late", 0, NULL, &e), -1);
    CHECK_INT(jobs_complete(d, id, "w5", &e), 0);
    json_t *counts = jobs_counts(d, &e);
    CHECK(counts != NULL);
    CHECK_INT(json_integer_value(json_object_get(counts, "done")), 1);
    CHECK_INT(json_integer_value(json_object_get(counts, "failed")), 1);
    json_decref(counts);
    json_t *list = jobs_list(d, "sms", "failed", 10, &e);
    CHECK(list != NULL);
    CHECK_INT(json_array_size(json_object_get(list, "items")), 1);
    json_decref(list);
    time_set_fake(0);
    db_close(d);
}
