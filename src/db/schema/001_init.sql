-- 001: accounts, sessions and the hash-chained audit trail.
-- Portable SQL: @id_pk@ becomes the backend's auto-increment primary key;
-- times are UTC ISO-8601 TEXT; booleans are INTEGER 0/1.

CREATE TABLE users (
    id @id_pk@,
    login TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('citizen','company','agent','staff','approver',
                                       'trading_staff','bidder','expert','supervisor','admin')),
    password_hash TEXT NOT NULL,
    id_number TEXT,            -- resident ID (18 chars, canonical upper-case X); personal data
    phone TEXT,                -- personal data
    town_code TEXT,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    password_changed_at TEXT NOT NULL
);
CREATE UNIQUE INDEX users_id_number ON users (id_number);
CREATE INDEX users_role ON users (role);

-- A session is a cookie session or a bearer token. Only the SHA-256 of the
-- secret is stored, so a copy of the database gives no live sessions.
CREATE TABLE sessions (
    id @id_pk@,
    token_hash TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('cookie','token')),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE audit_log (
    id BIGINT PRIMARY KEY,     -- assigned from audit_head.last_id + 1, never reused
    at TEXT NOT NULL,
    actor_id BIGINT,
    actor_login TEXT NOT NULL,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT,
    before_json TEXT,
    after_json TEXT,
    request_id TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_object ON audit_log (object_type, object_id);
CREATE INDEX audit_log_actor ON audit_log (actor_id);
CREATE INDEX audit_log_at ON audit_log (at);

-- The chain head: one row, updated with every audit row in the same
-- transaction. It detects truncation of the newest rows and serialises
-- writers on PostgreSQL (row lock), as BEGIN IMMEDIATE does on SQLite.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_id BIGINT NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO audit_head (id, last_id, last_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
