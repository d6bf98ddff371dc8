-- 010: applications (办件) of 一网通办: the case, its materials and its timeline.
-- Portable SQL (see 001). Times are UTC ISO-8601 TEXT ("2026-11-28T04:30:00Z");
-- working-day deadlines are computed by src/workcal/ and stored as instants.

-- Staff and approvers work for a department (the catalog's department string,
-- e.g. 舟山市公安局); NULL means every department (一窗受理 综合窗口). Their
-- town_code (001) narrows a queue to one town when set.
ALTER TABLE users ADD COLUMN department TEXT;

-- A case is one application for one catalog item, or a 一件事 bundle (kind
-- 'bundle', item_code NULL, bundle_code set) whose member cases point to it
-- with parent_id.
CREATE TABLE cases (
    id @id_pk@,
    case_no TEXT NOT NULL UNIQUE,          -- 受理编号 shown to people: ZS + yymmdd + id
    kind TEXT NOT NULL CHECK (kind IN ('item', 'bundle')),
    item_code TEXT,                        -- catalog_items.code (kind 'item')
    item_version INTEGER,                  -- the item's version the form was made from
    item_name TEXT NOT NULL,               -- item or bundle name at application time
    bundle_code TEXT,                      -- catalog_bundles.code (kind 'bundle')
    parent_id BIGINT REFERENCES cases (id),-- the bundle case of a member case
    applicant_id BIGINT NOT NULL REFERENCES users (id),
    agent_id BIGINT REFERENCES users (id), -- 帮办代办员 who applied on the applicant's behalf
    channel TEXT NOT NULL CHECK (channel IN ('online', 'window', 'assisted', 'station')),
    department TEXT NOT NULL,              -- responsible department (item's; bundle: lead)
    town_code TEXT,                        -- where the applicant is (9 digits)
    status TEXT NOT NULL CHECK (status IN ('draft', 'submitted', 'accepted',
        'returned_for_correction', 'rejected_at_intake', 'in_review', 'approved', 'denied',
        'delivered', 'withdrawn', 'suspended')),
    suspended_from TEXT,                   -- status to resume to while suspended
    form TEXT NOT NULL,                    -- JSON object: the applicant's form fields
    path TEXT NOT NULL DEFAULT 'normal' CHECK (path IN ('normal', 'commitment', 'instant')),
    rule_trace TEXT,                       -- JSON: 秒办 rule evaluation, when rules ran
    promise_days DOUBLE PRECISION,                     -- 承诺时限 in working days (item)
    promise_hours DOUBLE PRECISION,                    -- clock in working hours (企业开办 bundle)
    legal_days DOUBLE PRECISION,
    submitted_at TEXT,
    accepted_at TEXT,
    clock_start TEXT,                      -- start of the statutory clock (workcal rule)
    deadline_at TEXT,                      -- end of the Nth working day / hour, moved by suspensions
    suspended_at TEXT,
    suspended_seconds BIGINT NOT NULL DEFAULT 0,
    decided_at TEXT,
    delivered_at TEXT,
    closed_at TEXT,                        -- denied/withdrawn/rejected/delivered
    assignee_id BIGINT REFERENCES users (id),
    visits INTEGER NOT NULL DEFAULT 0,     -- times the applicant had to come in person
    idempotency_key TEXT,                  -- client key: a double submit returns the same case
    version INTEGER NOT NULL DEFAULT 1,    -- bumped by every change (optimistic checks)
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX cases_idem ON cases (applicant_id, idempotency_key);
CREATE INDEX cases_applicant ON cases (applicant_id, created_at);
CREATE INDEX cases_queue ON cases (status, department, deadline_at);
CREATE INDEX cases_town ON cases (town_code, status);
CREATE INDEX cases_deadline ON cases (deadline_at);
CREATE INDEX cases_parent ON cases (parent_id);
CREATE INDEX cases_item ON cases (item_code, status);
CREATE INDEX cases_assignee ON cases (assignee_id, status);

-- Each material the item asks for, and how it was satisfied: reused from the
-- applicant's e-licence (licence), covered by a signed 告知承诺 (commitment),
-- uploaded (upload), filled in by the online form itself (form: application
-- forms), or still missing (none; only for optional materials once
-- submitted). waived = 1 when the applicant did not have to hand anything in
-- (licence or commitment): the basis of 材料免提交率.
CREATE TABLE case_materials (
    id @id_pk@,
    case_id BIGINT NOT NULL REFERENCES cases (id),
    idx INTEGER NOT NULL,                  -- position in the item's materials
    name TEXT NOT NULL,
    required INTEGER NOT NULL,
    licence_type TEXT,                     -- the item's e-licence type for it, if any
    satisfied_by TEXT NOT NULL CHECK (satisfied_by IN ('licence', 'commitment', 'upload', 'form', 'none')),
    licence_id BIGINT,                     -- licences.id when reused
    file_id BIGINT REFERENCES files (id),  -- when uploaded
    waived INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    UNIQUE (case_id, idx)
);

-- The timeline: one row per transition or note, in order (the audit log keeps
-- the hash-chained copy with before/after).
CREATE TABLE case_events (
    id @id_pk@,
    case_id BIGINT NOT NULL REFERENCES cases (id),
    at TEXT NOT NULL,
    actor_id BIGINT REFERENCES users (id), -- NULL: the system (rules, clock)
    action TEXT NOT NULL,                  -- submit, accept, return, approve, … , note
    from_status TEXT,
    to_status TEXT,
    reason TEXT,
    data TEXT                              -- JSON with details (rule trace, reassignment…)
);
CREATE INDEX case_events_case ON case_events (case_id, id);
