-- 026: public resource trading (src/trade/) — companies, the CA trust store and
-- certificate logins, tenders and their notices, deposits, sealed bids and the
-- backup key, the remote opening hall, experts and evaluation, auctions.
-- Portable SQL (see 001). Times are UTC ISO-8601 TEXT. Money is integer fen
-- (1 yuan = 100 fen) in BIGINT columns named *_fen.

-- A company that bids (投标人 / 竞买人), by its unified social credit code.
CREATE TABLE trade_companies (
    id @id_pk@,
    uscc TEXT NOT NULL UNIQUE,              -- 统一社会信用代码, 18 characters, checked
    name TEXT NOT NULL,
    legal_rep TEXT,                         -- 法定代表人 (screening: shared legal representative)
    phone TEXT,                             -- personal-ish data: never logged
    address TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Users acting for a company (role bidder or company). One company per user.
CREATE TABLE trade_company_users (
    user_id BIGINT PRIMARY KEY REFERENCES users (id),
    company_id BIGINT NOT NULL REFERENCES trade_companies (id),
    created_at TEXT NOT NULL
);
CREATE INDEX trade_company_users_company ON trade_company_users (company_id);

-- The CA trust store (统一CA互认): root certificates of every recognised CA.
-- home = 1 marks the centre's own CA; logins with certificates of the others
-- count for the CA mutual-recognition indicator.
CREATE TABLE ca_roots (
    id @id_pk@,
    name TEXT NOT NULL,                     -- display name ("浙江CA")
    subject TEXT NOT NULL,                  -- one-line RFC 2253 subject
    fingerprint TEXT NOT NULL UNIQUE,       -- SHA-256 of the DER, lower-case hex
    key_type TEXT NOT NULL CHECK (key_type IN ('rsa', 'ec', 'sm2')),
    pem TEXT NOT NULL,
    home INTEGER NOT NULL DEFAULT 0 CHECK (home IN (0, 1)),
    not_after TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    added_by BIGINT REFERENCES users (id),
    added_at TEXT NOT NULL
);

-- Intermediate CA certificates offered with chains, and CRLs of any issuer.
CREATE TABLE ca_intermediates (
    id @id_pk@,
    subject TEXT NOT NULL,
    fingerprint TEXT NOT NULL UNIQUE,
    pem TEXT NOT NULL,
    added_at TEXT NOT NULL
);
CREATE TABLE ca_crls (
    id @id_pk@,
    issuer TEXT NOT NULL,                   -- one-line subject of the issuing CA
    sha256 TEXT NOT NULL UNIQUE,
    pem TEXT NOT NULL,
    this_update TEXT NOT NULL,
    next_update TEXT,
    added_at TEXT NOT NULL
);
CREATE INDEX ca_crls_issuer ON ca_crls (issuer, this_update);

-- A user's registered signing certificate (a user may hold several, e.g. one per CA).
CREATE TABLE trade_certs (
    id @id_pk@,
    user_id BIGINT NOT NULL REFERENCES users (id),
    company_id BIGINT REFERENCES trade_companies (id),
    fingerprint TEXT NOT NULL UNIQUE,       -- SHA-256 of the DER, lower-case hex
    serial TEXT NOT NULL,                   -- hex
    subject TEXT NOT NULL,
    issuer TEXT NOT NULL,
    key_type TEXT NOT NULL CHECK (key_type IN ('rsa', 'ec', 'sm2')),
    pubkey_sha256 TEXT NOT NULL,            -- SHA-256 of the SubjectPublicKeyInfo DER (screening: same key)
    ca_root_id BIGINT NOT NULL REFERENCES ca_roots (id),
    pem TEXT NOT NULL,
    not_before TEXT NOT NULL,
    not_after TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked', 'removed')),
    registered_at TEXT NOT NULL
);
CREATE INDEX trade_certs_user ON trade_certs (user_id, status);

-- Certificate login: a one-time challenge, then the signature over it.
CREATE TABLE ca_challenges (
    nonce TEXT PRIMARY KEY,                 -- base64url, 32 random bytes
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE TABLE ca_logins (
    id @id_pk@,
    user_id BIGINT NOT NULL REFERENCES users (id),
    cert_id BIGINT NOT NULL REFERENCES trade_certs (id),
    ca_root_id BIGINT NOT NULL REFERENCES ca_roots (id),
    foreign_ca INTEGER NOT NULL CHECK (foreign_ca IN (0, 1)), -- 1: not the home CA (互认)
    at TEXT NOT NULL
);
CREATE INDEX ca_logins_at ON ca_logins (at);

-- A tender (招标/采购/出让项目).
--   kind:   works 建设工程 | procurement 政府采购 | property 国有产权 | land 土地出让 | emission 排污权
--   method: lowest_price 经评审的最低投标价法 | composite 综合评分法 | reasonable_low 合理低价法
--           | auction 网络竞价 (asset sales)
--   status: draft → announced (bids accepted until deadline_at) → opening (the hall)
--           → evaluation → publicity → awarded → contracted; auction kinds:
--           announced → auction → awarded → contracted; any open state → cancelled;
--           opening/evaluation/auction → failed (流标: fewer than 3 valid bids, no bidder).
CREATE TABLE tenders (
    id @id_pk@,
    tender_no TEXT NOT NULL UNIQUE,         -- ZS-GC-2026-0001 style
    kind TEXT NOT NULL CHECK (kind IN ('works', 'procurement', 'property', 'land', 'emission')),
    title TEXT NOT NULL,
    buyer TEXT NOT NULL,                    -- 招标人 / 采购人 / 出让人
    agency TEXT,                            -- 招标代理机构
    town_code TEXT REFERENCES towns (code),
    budget_fen BIGINT,                      -- 预算 / 最高限价 (works, procurement)
    reserve_fen BIGINT,                     -- 底价 / 起拍价 (asset sales)
    deposit_fen BIGINT NOT NULL DEFAULT 0,  -- 保证金 required
    method TEXT NOT NULL CHECK (method IN ('lowest_price', 'composite', 'reasonable_low', 'auction')),
    method_params TEXT NOT NULL DEFAULT '{}', -- JSON: price_weight, tech_weight, factor_min/max, increment_fen …
    qualification TEXT,                     -- 资格要求
    description TEXT,
    lots TEXT NOT NULL DEFAULT '[]',        -- JSON [{"no":1,"name":…,"budget_fen":…}]
    status TEXT NOT NULL CHECK (status IN ('draft', 'announced', 'opening', 'evaluation',
        'publicity', 'auction', 'awarded', 'contracted', 'cancelled', 'failed')),
    announce_at TEXT,
    questions_until TEXT,                   -- 答疑截止
    deadline_at TEXT NOT NULL,              -- bid deadline = opening time (auction: 挂牌 end)
    evaluation_at TEXT,
    publicity_days INTEGER NOT NULL DEFAULT 3 CHECK (publicity_days BETWEEN 1 AND 30),
    publicity_until TEXT,
    allow_backup INTEGER NOT NULL DEFAULT 1 CHECK (allow_backup IN (0, 1)), -- bids also sealed to the centre's backup key
    remote_opening INTEGER NOT NULL DEFAULT 1 CHECK (remote_opening IN (0, 1)), -- 不见面开标
    electronic INTEGER NOT NULL DEFAULT 1 CHECK (electronic IN (0, 1)),         -- 全流程电子化
    benchmark_factor DOUBLE PRECISION,      -- 合理低价法: factor drawn at the opening
    award_bid_id BIGINT,
    award_company_id BIGINT REFERENCES trade_companies (id),
    award_fen BIGINT,                       -- 中标价 / 成交价
    awarded_at TEXT,
    contract_no TEXT,
    contract_fen BIGINT,
    contracted_at TEXT,
    failed_reason TEXT,
    cancelled_reason TEXT,
    auction_ends_at TEXT,                   -- current end of the 竞价 phase (extends on late bids)
    auction_price_fen BIGINT,               -- current highest bid
    auction_leader_id BIGINT REFERENCES trade_companies (id),
    created_by BIGINT REFERENCES users (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX tenders_status ON tenders (status, deadline_at);
CREATE INDEX tenders_kind ON tenders (kind, awarded_at);

-- Public notices of a tender: the announcement, clarifications and amendments
-- (which may move the deadline), candidate publicity, award, failure, cancellation.
CREATE TABLE tender_notices (
    id @id_pk@,
    tender_id BIGINT NOT NULL REFERENCES tenders (id),
    kind TEXT NOT NULL CHECK (kind IN ('announcement', 'clarification', 'amendment',
        'candidates', 'award', 'failed', 'cancelled', 'result')),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    old_deadline_at TEXT,
    new_deadline_at TEXT,
    files TEXT NOT NULL DEFAULT '[]',       -- JSON array of file ids (src/files)
    created_by BIGINT REFERENCES users (id),
    created_at TEXT NOT NULL
);
CREATE INDEX tender_notices_tender ON tender_notices (tender_id, created_at);
CREATE INDEX tender_notices_kind ON tender_notices (kind, created_at);

-- 保证金: who paid, from which account (screening: same paying account).
CREATE TABLE trade_deposits (
    id @id_pk@,
    tender_id BIGINT NOT NULL REFERENCES tenders (id),
    company_id BIGINT NOT NULL REFERENCES trade_companies (id),
    amount_fen BIGINT NOT NULL CHECK (amount_fen >= 0),
    account_no TEXT NOT NULL,
    account_name TEXT NOT NULL,
    bank TEXT,
    paid_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'paid' CHECK (status IN ('paid', 'refunded', 'forfeited')),
    UNIQUE (tender_id, company_id)
);
CREATE INDEX trade_deposits_account ON trade_deposits (account_no);

-- A sealed bid. The server holds only the envelope (ciphertext, in the files
-- directory by its SHA-256), the bidder's signed commitment to the plaintext's
-- SHA-256 and the server's signed receipt. Re-submission before the deadline
-- marks the earlier row 'replaced' (history kept). After the opening the
-- plaintext fields are filled from the revealed, commitment-checked plaintext.
CREATE TABLE bids (
    id @id_pk@,
    tender_id BIGINT NOT NULL REFERENCES tenders (id),
    company_id BIGINT NOT NULL REFERENCES trade_companies (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    cert_id BIGINT NOT NULL REFERENCES trade_certs (id),
    seq INTEGER NOT NULL,                   -- 1, 2, … per (tender, company)
    status TEXT NOT NULL CHECK (status IN ('sealed', 'replaced', 'withdrawn', 'opened',
        'not_decrypted', 'invalid')),
    envelope_kind TEXT NOT NULL CHECK (envelope_kind IN ('cms', 'sm2')),
    envelope_sha256 TEXT NOT NULL,          -- hex; the file is FILES_DIR/bids/<sha256>
    envelope_size BIGINT NOT NULL,
    to_backup INTEGER NOT NULL DEFAULT 0 CHECK (to_backup IN (0, 1)), -- also sealed to the backup key
    commitment_sha256 TEXT NOT NULL,        -- hex SHA-256 of the plaintext
    commitment_sig TEXT NOT NULL,           -- base64 signature (bidder's cert) over the commitment string
    receipt TEXT NOT NULL,                  -- JSON receipt signed by the server
    receipt_sig TEXT NOT NULL,
    client_ip TEXT,                         -- screening: electronic traces
    machine_id TEXT,                        -- JSON {"mac":…,"cpu":…,"disk":…} from the bidding client
    submitted_at TEXT NOT NULL,
    decrypted_at TEXT,
    decrypted_via TEXT CHECK (decrypted_via IN ('bidder', 'backup')),
    price_fen BIGINT,                       -- from the plaintext bid form after opening
    duration_days INTEGER,
    quality TEXT,
    project_manager TEXT,
    deposit_ref TEXT,
    form TEXT,                              -- JSON: the whole bid form
    documents TEXT,                         -- JSON [{"name","sha256","size","author","creator","company"}]
    invalid_reason TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (tender_id, company_id, seq)
);
CREATE INDEX bids_tender ON bids (tender_id, status);
CREATE INDEX bids_company ON bids (company_id, submitted_at);

-- The centre's backup key: its certificate is public; the private key exists
-- only as shares (Shamir, threshold of n) handed to custodians when it is made.
-- The server keeps the SHA-256 of each share to recognise it, never the share.
CREATE TABLE trade_backup_keys (
    id @id_pk@,
    fingerprint TEXT NOT NULL UNIQUE,
    cert_pem TEXT NOT NULL,
    threshold INTEGER NOT NULL CHECK (threshold >= 2),
    shares INTEGER NOT NULL CHECK (shares >= threshold AND shares <= 16),
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
    created_by BIGINT REFERENCES users (id),
    created_at TEXT NOT NULL
);
CREATE TABLE trade_backup_custodians (
    key_id BIGINT NOT NULL REFERENCES trade_backup_keys (id),
    share_index INTEGER NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id),
    share_sha256 TEXT NOT NULL,
    PRIMARY KEY (key_id, share_index)
);
-- Each use of the backup path (art. 31: the system's fault), with who unlocked it.
CREATE TABLE trade_backup_uses (
    id @id_pk@,
    tender_id BIGINT NOT NULL REFERENCES tenders (id),
    bid_id BIGINT NOT NULL REFERENCES bids (id),
    key_id BIGINT NOT NULL REFERENCES trade_backup_keys (id),
    custodians TEXT NOT NULL,               -- JSON array of user ids
    reason TEXT NOT NULL,
    at TEXT NOT NULL
);

-- The remote opening hall (不见面开标) of one tender, driven by the host.
--   status: waiting → signin → decrypting → announced (唱标 done) → objections
--           → confirming → closed
CREATE TABLE openings (
    tender_id BIGINT PRIMARY KEY REFERENCES tenders (id),
    status TEXT NOT NULL CHECK (status IN ('waiting', 'signin', 'decrypting', 'announced',
        'objections', 'confirming', 'closed')),
    host_id BIGINT REFERENCES users (id),
    started_at TEXT,
    decrypt_until TEXT,
    objections_until TEXT,
    closed_at TEXT,
    record_sha256 TEXT,                     -- the signed opening record (PDF) in FILES_DIR/openings/
    record_sig TEXT,
    watchers_max INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 1,
    updated_at TEXT NOT NULL
);
CREATE TABLE opening_signins (
    tender_id BIGINT NOT NULL REFERENCES tenders (id),
    company_id BIGINT NOT NULL REFERENCES trade_companies (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    at TEXT NOT NULL,
    PRIMARY KEY (tender_id, company_id)
);
-- The hall's event log: every event pushed over SSE (topic tender.<id>) is also
-- a row here, so a client reconnecting catches up from seq.
CREATE TABLE opening_events (
    id @id_pk@,
    tender_id BIGINT NOT NULL REFERENCES tenders (id),
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,                     -- JSON
    at TEXT NOT NULL,
    UNIQUE (tender_id, seq)
);
-- Objections (异议) in the hall and during candidate publicity, with the reply.
CREATE TABLE trade_objections (
    id @id_pk@,
    tender_id BIGINT NOT NULL REFERENCES tenders (id),
    phase TEXT NOT NULL CHECK (phase IN ('opening', 'publicity')),
    company_id BIGINT REFERENCES trade_companies (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    text TEXT NOT NULL,
    reply TEXT,
    replied_by BIGINT REFERENCES users (id),
    at TEXT NOT NULL,
    replied_at TEXT
);
CREATE INDEX trade_objections_tender ON trade_objections (tender_id, phase);
-- Each bidder confirms the opening record with its certificate's signature.
CREATE TABLE opening_confirmations (
    tender_id BIGINT NOT NULL REFERENCES tenders (id),
    company_id BIGINT NOT NULL REFERENCES trade_companies (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    cert_id BIGINT NOT NULL REFERENCES trade_certs (id),
    signature TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (tender_id, company_id)
);

-- The expert pool (评标专家库) and each tender's drawn panel.
CREATE TABLE experts (
    id @id_pk@,
    user_id BIGINT UNIQUE REFERENCES users (id),
    name TEXT NOT NULL,
    specialties TEXT NOT NULL,              -- JSON array of kinds/specialty keys
    employer TEXT,                          -- avoidance: an expert employed by a bidder or the buyer
    employer_uscc TEXT,
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at TEXT NOT NULL
);
-- Declared ties (past employment, kinship) that must keep an expert off a tender.
CREATE TABLE expert_conflicts (
    expert_id BIGINT NOT NULL REFERENCES experts (id),
    party TEXT NOT NULL,                    -- a company uscc or a buyer name
    reason TEXT NOT NULL,
    PRIMARY KEY (expert_id, party)
);
CREATE TABLE tender_experts (
    tender_id BIGINT NOT NULL REFERENCES tenders (id),
    expert_id BIGINT NOT NULL REFERENCES experts (id),
    draw_seq INTEGER NOT NULL,
    chair INTEGER NOT NULL DEFAULT 0 CHECK (chair IN (0, 1)),
    drawn_at TEXT NOT NULL,
    submitted_at TEXT,                      -- the expert's scores are final
    PRIMARY KEY (tender_id, expert_id)
);
CREATE TABLE expert_scores (
    tender_id BIGINT NOT NULL REFERENCES tenders (id),
    expert_id BIGINT NOT NULL REFERENCES experts (id),
    bid_id BIGINT NOT NULL REFERENCES bids (id),
    tech_score DOUBLE PRECISION NOT NULL,
    comment TEXT,
    at TEXT NOT NULL,
    PRIMARY KEY (tender_id, expert_id, bid_id)
);
-- The computed evaluation: one row per opened bid.
CREATE TABLE tender_results (
    tender_id BIGINT NOT NULL REFERENCES tenders (id),
    bid_id BIGINT NOT NULL REFERENCES bids (id),
    company_id BIGINT NOT NULL REFERENCES trade_companies (id),
    valid INTEGER NOT NULL CHECK (valid IN (0, 1)),
    reason TEXT,
    price_fen BIGINT,
    price_score DOUBLE PRECISION,
    tech_score DOUBLE PRECISION,            -- mean of the experts' scores (outliers flagged, not dropped)
    total_score DOUBLE PRECISION,
    rank INTEGER,
    outliers TEXT,                          -- JSON: experts whose score deviates
    PRIMARY KEY (tender_id, bid_id)
);

-- Online ascending auction (网络竞价) bids for asset sales.
CREATE TABLE auction_bids (
    id @id_pk@,
    tender_id BIGINT NOT NULL REFERENCES tenders (id),
    company_id BIGINT NOT NULL REFERENCES trade_companies (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    amount_fen BIGINT NOT NULL,
    client_ip TEXT,
    at TEXT NOT NULL
);
CREATE INDEX auction_bids_tender ON auction_bids (tender_id, amount_fen);
