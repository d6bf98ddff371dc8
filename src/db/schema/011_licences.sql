-- 011: the e-licence library (证照库) and the 告知承诺 follow-up: post-approval
-- verification of commitments and the credit records of failed ones.
-- Portable SQL (see 001). Instants are UTC ISO-8601 TEXT; licence dates
-- (issued_at, valid_until) are calendar dates "YYYY-MM-DD" in Asia/Shanghai.

-- One e-licence held by a user (a person or a company). type is one of the
-- catalog's licence types (catalog_licences.type, checked by licences_issue()
-- when the catalog has types; no foreign key, so a licence survives a catalog
-- edit). status is the stored lifecycle: valid, revoked (by an approver, or
-- because the case that issued it was revoked), expired (recorded as such, e.g.
-- by an import), superseded (replaced by a newer licence: superseded_by). A
-- 'valid' licence whose valid_until lies before today is shown as expired and
-- never counts as valid (licences_find_valid()); valid_until NULL means 长期.
CREATE TABLE licences (
    id @id_pk@,
    holder_id BIGINT NOT NULL REFERENCES users (id),
    type TEXT NOT NULL,
    number TEXT NOT NULL,                  -- personal data: holder and case staff only
    issuer TEXT NOT NULL,
    holder_name TEXT NOT NULL,
    issued_at TEXT NOT NULL,               -- date
    valid_until TEXT,                      -- date, inclusive; NULL = no expiry
    status TEXT NOT NULL CHECK (status IN ('valid', 'revoked', 'expired', 'superseded')),
    source TEXT NOT NULL CHECK (source IN ('demo', 'case', 'import')),
    source_case_id BIGINT REFERENCES cases (id),
    superseded_by BIGINT,                  -- licences.id of the replacement
    revoked_at TEXT,
    revoked_by BIGINT REFERENCES users (id),
    revoke_reason TEXT,
    data TEXT,                             -- JSON object: type-specific details
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX licences_holder ON licences (holder_id, type, status);
CREATE INDEX licences_case ON licences (source_case_id);

-- The 告知承诺 verification settings: one row. sample_rate is the percentage
-- of commitment approvals picked for an on-site check (0–100); verify_days the
-- working days the department has for it. ISLE_COMMITMENT_SAMPLE_RATE and
-- ISLE_COMMITMENT_VERIFY_DAYS override them (tests, drills).
CREATE TABLE commitment_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    sample_rate DOUBLE PRECISION NOT NULL CHECK (sample_rate >= 0 AND sample_rate <= 100),
    verify_days DOUBLE PRECISION NOT NULL CHECK (verify_days >= 0 AND verify_days <= 365),
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);
INSERT INTO commitment_settings (id, sample_rate, verify_days, updated_at, updated_by)
VALUES (1, 20, 20, '2026-01-01T00:00:00Z', 'migration');

-- One row per case approved on the applicant's signed commitment. Whether the
-- case is sampled is a deterministic function of its id and the rate in force
-- (kept in sample_rate), so it can be recomputed and audited. A sampled case
-- starts 'pending' and must be checked by due_at (approval + verify_days
-- working days); an unsampled one is 'not_sampled' but can still be checked
-- (a complaint, a tip-off). A failed check writes a credit record and revokes
-- the approval through the applications core.
CREATE TABLE commitment_checks (
    id @id_pk@,
    case_id BIGINT NOT NULL UNIQUE REFERENCES cases (id),
    applicant_id BIGINT NOT NULL REFERENCES users (id),
    case_no TEXT NOT NULL,
    item_code TEXT,
    item_name TEXT NOT NULL,
    department TEXT NOT NULL,
    approved_at TEXT NOT NULL,
    sampled INTEGER NOT NULL CHECK (sampled IN (0, 1)),
    sample_rate DOUBLE PRECISION NOT NULL,
    due_at TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'passed', 'failed', 'not_sampled')),
    checked_at TEXT,
    checker_id BIGINT REFERENCES users (id),
    note TEXT,
    case_revoked INTEGER NOT NULL DEFAULT 0, -- the core revoked the approval (failed)
    created_at TEXT NOT NULL
);
CREATE INDEX commitment_checks_status ON commitment_checks (status, due_at);
CREATE INDEX commitment_checks_department ON commitment_checks (department, status, due_at);

-- 信用记录: a failed commitment (and, later, other breaches) against the user.
CREATE TABLE credit_records (
    id @id_pk@,
    user_id BIGINT NOT NULL REFERENCES users (id),
    case_id BIGINT REFERENCES cases (id),
    kind TEXT NOT NULL CHECK (kind IN ('commitment_failed')),
    note TEXT NOT NULL,
    created_by BIGINT REFERENCES users (id),
    created_at TEXT NOT NULL
);
CREATE INDEX credit_records_user ON credit_records (user_id, created_at);
