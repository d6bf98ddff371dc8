-- 036: 防围串标 in the platform (src/screen/platform.c): screening runs over the
-- opened tenders, alerts in the supervisors' queue with their evidence, triage,
-- and investigation cases (立案) with notes, decisions and a PDF dossier.
-- Portable SQL (see 001). Times are UTC ISO-8601 TEXT. Nothing here is ever
-- shown to bidders.

-- One run: after an opening (kind 'opening', one tender), the nightly pass over
-- every opened tender ('nightly'), or by hand ('manual').
CREATE TABLE screen_runs (
    id @id_pk@,
    kind TEXT NOT NULL CHECK (kind IN ('opening', 'nightly', 'manual')),
    tender_id BIGINT REFERENCES tenders (id),
    started_at TEXT NOT NULL,
    finished_at TEXT,
    tenders INTEGER NOT NULL DEFAULT 0,
    flagged INTEGER NOT NULL DEFAULT 0,
    model TEXT
);

-- The latest screening of a tender: one row per tender, updated by later runs.
-- status: new (in the queue) → dismissed (with a reason) | watch | case (立案);
-- a later run never reopens a triaged alert, it only refreshes the evidence.
CREATE TABLE screen_alerts (
    id @id_pk@,
    tender_id BIGINT NOT NULL UNIQUE REFERENCES tenders (id),
    run_id BIGINT NOT NULL REFERENCES screen_runs (id),
    score DOUBLE PRECISION NOT NULL,
    price_score DOUBLE PRECISION,           -- the model's probability from prices alone
    flag INTEGER NOT NULL CHECK (flag IN (0, 1)),
    hard INTEGER NOT NULL DEFAULT 0 CHECK (hard IN (0, 1)), -- hard evidence: traces, patterns, mixed documents
    reasons TEXT NOT NULL,
    evidence TEXT NOT NULL,                 -- JSON: screens, explanation, traces, patterns, network
    status TEXT NOT NULL CHECK (status IN ('clear', 'new', 'dismissed', 'watch', 'case')),
    triage_reason TEXT,
    triaged_by BIGINT REFERENCES users (id),
    triaged_at TEXT,
    case_id BIGINT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX screen_alerts_status ON screen_alerts (status, hard, score);

-- An investigation case (立案) gathering one or more alerts.
CREATE TABLE screen_cases (
    id @id_pk@,
    case_no TEXT NOT NULL UNIQUE,           -- WB + yymmdd + id
    title TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    decision TEXT,                          -- the closing decision
    opened_by BIGINT NOT NULL REFERENCES users (id),
    opened_at TEXT NOT NULL,
    closed_by BIGINT REFERENCES users (id),
    closed_at TEXT,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE screen_case_alerts (
    case_id BIGINT NOT NULL REFERENCES screen_cases (id),
    alert_id BIGINT NOT NULL REFERENCES screen_alerts (id),
    PRIMARY KEY (case_id, alert_id)
);
-- Notes, evidence and decisions of a case, in order.
CREATE TABLE screen_case_entries (
    id @id_pk@,
    case_id BIGINT NOT NULL REFERENCES screen_cases (id),
    kind TEXT NOT NULL CHECK (kind IN ('note', 'evidence', 'decision')),
    text TEXT NOT NULL,
    author_id BIGINT NOT NULL REFERENCES users (id),
    at TEXT NOT NULL
);
CREATE INDEX screen_case_entries_case ON screen_case_entries (case_id, id);
