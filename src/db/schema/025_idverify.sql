-- 025: identity verification (src/idverify/): residents without their ID card
-- are verified by an external face-verification provider (the national CTID
-- service or the province's), or, failing that, witnessed in person by staff.
-- Portable SQL (see 001). Times are UTC ISO-8601 TEXT.
--
-- The subject is an account (user_id) or a resident without one (name and
-- masked ID number). The full ID number is never stored here: it goes to the
-- provider once, in the signed start request, and the subject sees their own
-- number from their account. isle never handles a face image: the provider
-- runs the liveness and face check on the resident's phone, tied to a one-time
-- token of which only the SHA-256 is kept.
--
-- status: pending (provider session open) → passed | failed | error;
--         a witness row is passed when written.
-- result: what the provider said (match | no_match | error), NULL for witness.
-- assurance: of a passed verification, low < substantial < high; the provider's
--         match is high unless it says otherwise, a staff witness substantial.
CREATE TABLE verifications (
    id @id_pk@,
    user_id BIGINT REFERENCES users (id),   -- NULL: a resident without an account
    subject_name TEXT NOT NULL,
    subject_id_masked TEXT NOT NULL,        -- "3309**********1234"
    method TEXT NOT NULL CHECK (method IN ('provider', 'witness')),
    status TEXT NOT NULL CHECK (status IN ('pending', 'passed', 'failed', 'error')),
    result TEXT CHECK (result IN ('match', 'no_match', 'error')),
    assurance TEXT CHECK (assurance IN ('low', 'substantial', 'high')),
    provider_ref TEXT UNIQUE,               -- the provider's session id
    token_hash TEXT,                        -- SHA-256 of the one-time session token
    reason TEXT,                            -- the provider's reason, or why it failed
    note TEXT,                              -- the witness's note (what was checked)
    fallback_for BIGINT REFERENCES verifications (id), -- the provider attempt a witness replaces
    requested_by BIGINT NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL,
    expires_at TEXT,                        -- the provider session's end
    completed_at TEXT
);
CREATE INDEX verifications_user ON verifications (user_id, id);
CREATE INDEX verifications_requested ON verifications (requested_by, created_at);
