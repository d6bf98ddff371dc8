-- 006: the job queue (src/jobs/) and the cross-node event log of the SSE hub
-- (src/http/sse.c, used when the database is PostgreSQL).

-- A job is queued, claimed by one worker for a lease (running), then done, or
-- back to queued after a failure until max_attempts, then failed. A running
-- job whose lease ran out (its worker died) may be claimed again. attempts
-- counts claims. Times are UTC ISO-8601 TEXT.
CREATE TABLE jobs (
    id @id_pk@,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,                -- JSON
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts INTEGER NOT NULL CHECK (max_attempts BETWEEN 1 AND 100),
    run_after TEXT NOT NULL,              -- not claimed before this time
    locked_by TEXT,                       -- worker holding the lease
    locked_until TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX jobs_ready ON jobs (kind, status, run_after, id);

-- Server-Sent Events crossing nodes: every event published on PostgreSQL gets
-- its id from sse_counter (a row lock, so ids are handed out in commit order
-- and every node sees them in increasing order) and a row in sse_events, so a
-- node whose listener reconnects catches up, and an event too large for a
-- NOTIFY payload travels by id. Rows older than ten minutes are pruned.
CREATE TABLE sse_counter (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_id BIGINT NOT NULL
);
INSERT INTO sse_counter (id, last_id) VALUES (1, 0);

CREATE TABLE sse_events (
    id BIGINT PRIMARY KEY,
    topic TEXT NOT NULL,
    event TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX sse_events_created ON sse_events (created_at);
