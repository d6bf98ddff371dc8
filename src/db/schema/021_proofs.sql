-- 021: proofs (证明事项协同) — requests checked by village, town and district,
-- issued as signed PDFs, verifiable by anyone (src/proofs/, docs/PROOFS.md).
-- Portable SQL (see 001). Instants are UTC ISO-8601 TEXT; valid_until is an
-- Asia/Shanghai date "YYYY-MM-DD", inclusive.

-- The public half of every key that ever signed a proof. The private key is a
-- file (never in the database); rotating it marks the old row retired, and the
-- old row keeps verifying what it signed.
CREATE TABLE proof_keys (
    key_id TEXT PRIMARY KEY,              -- first 16 hex of SHA-256(public key)
    public_key TEXT NOT NULL,             -- 32 bytes, base64url without padding
    created_at TEXT NOT NULL,
    retired_at TEXT
);

-- One proof request and, once issued, the proof. status moves only forward:
-- requested → village_checked → town_checked → issued → revoked, or → refused
-- before issue. version counts changes (issuing re-checks it, see proofs.h).
-- statement is the text printed on the PDF; content_sha256 its hash, signed.
-- payload and signature are exactly what the QR code carries.
CREATE TABLE proofs (
    id @id_pk@,
    proof_no TEXT NOT NULL UNIQUE,        -- "ZM" + 12 Crockford base32: public, unguessable
    kind TEXT NOT NULL,
    item_code TEXT NOT NULL,              -- the catalog item
    title TEXT NOT NULL,
    holder_id BIGINT NOT NULL REFERENCES users (id),
    holder_name TEXT NOT NULL,            -- personal data (copied at request)
    holder_masked TEXT NOT NULL,          -- what the QR code and public answers show
    village_code TEXT,
    town_code TEXT NOT NULL,
    county_code TEXT NOT NULL,            -- first 6 digits of town_code
    purpose TEXT NOT NULL,
    details TEXT NOT NULL,                -- personal data
    status TEXT NOT NULL CHECK (status IN ('requested', 'village_checked', 'town_checked',
                                           'issued', 'refused', 'revoked')),
    version INTEGER NOT NULL DEFAULT 1,
    issuer TEXT,
    statement TEXT,
    content_sha256 TEXT,
    issued_at TEXT,
    valid_until TEXT,
    key_id TEXT REFERENCES proof_keys (key_id),
    payload TEXT,
    signature TEXT,
    file_id BIGINT REFERENCES files (id),
    revoked_at TEXT,
    revoke_reason TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX proofs_holder ON proofs (holder_id, id);
CREATE INDEX proofs_queue ON proofs (town_code, status, id);
CREATE INDEX proofs_county ON proofs (county_code, status, id);
CREATE INDEX proofs_revoked ON proofs (status, revoked_at);

-- Every step: who, when, from which status to which, with the note or reason.
CREATE TABLE proof_steps (
    id @id_pk@,
    proof_id BIGINT NOT NULL REFERENCES proofs (id),
    action TEXT NOT NULL CHECK (action IN ('request', 'check_village', 'check_town', 'issue',
                                           'refuse', 'revoke')),
    from_status TEXT,
    to_status TEXT NOT NULL,
    actor_id BIGINT REFERENCES users (id),
    actor_name TEXT NOT NULL,
    note TEXT,
    at TEXT NOT NULL
);
CREATE INDEX proof_steps_proof ON proof_steps (proof_id, id);
