-- 024: the SMS outbox becomes its own queue, with rate limits, delivery
-- receipts and opt-out (src/notify/sender.c, receipts.c; policy in notify.h).
-- Portable SQL (see 001). Times are UTC ISO-8601 TEXT.
--
-- Until 023 every outbox row had a job (jobs kind "notify.sms"), and the sender
-- took one job at a time: three write transactions and one new TCP connection
-- per message (about 450 messages/s). Now the row itself carries its lease:
-- the sender claims a batch of due rows in one transaction (setting run_after
-- to the end of the lease, so a claimed row is not due for anyone else until
-- the lease runs out), hands them to the gateway over kept-alive connections,
-- and records all outcomes in one transaction.
--
-- New columns:
--   essential       1 = the template is marked essential (data/notify/templates.tsv):
--                   sent even to a recipient who turned non-essential SMS off
--   run_after       not claimed before this time: now for a new message, the end of
--                   the lease while claimed, the retry time after a failure, the time a
--                   slot frees for a message held back by the per-recipient limit
--   locked_by       the sender holding the row (for operators; the lease is run_after)
--   handed_at       when the row was last handed to the gateway: the per-recipient
--                   limit counts rows handed over in its window
--   receipt_status  the gateway's delivery receipt: delivered | failed (first one wins)
--   receipt_at, receipt_error
-- New status 'suppressed': not sent because the recipient opted out of
-- non-essential SMS after it was queued.

-- @sqlite
ALTER TABLE outbox RENAME TO outbox_old;
CREATE TABLE outbox (
    id @id_pk@,
    notification_id BIGINT REFERENCES notifications (id), -- NULL: to a phone without an account
    channel TEXT NOT NULL DEFAULT 'sms' CHECK (channel IN ('sms')),
    template TEXT NOT NULL,
    phone TEXT NOT NULL,                   -- normalised (digits; +86 dropped); personal data
    body TEXT NOT NULL,                    -- the SMS text, signature included
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'suppressed')),
    attempts INTEGER NOT NULL DEFAULT 0,   -- claims so far (hand-overs, and leases that ran out)
    last_error TEXT,
    dedupe_key TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    provider_id TEXT,                      -- the gateway's message id, for receipts
    essential INTEGER NOT NULL DEFAULT 0 CHECK (essential IN (0, 1)),
    run_after TEXT NOT NULL DEFAULT '1970-01-01T00:00:00Z',
    locked_by TEXT,
    handed_at TEXT,
    receipt_status TEXT CHECK (receipt_status IN ('delivered', 'failed')),
    receipt_at TEXT,
    receipt_error TEXT
);
INSERT INTO outbox (id, notification_id, channel, template, phone, body, status, attempts,
                    last_error, dedupe_key, created_at, sent_at, provider_id, run_after)
SELECT id, notification_id, channel, template, phone, body, status, attempts, last_error,
       dedupe_key, created_at, sent_at, provider_id, created_at
FROM outbox_old;
DROP TABLE outbox_old;
CREATE INDEX outbox_status ON outbox (status, id);
-- @end
-- @postgres
ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check
    CHECK (status IN ('pending', 'sent', 'failed', 'suppressed'));
ALTER TABLE outbox ADD COLUMN essential INTEGER NOT NULL DEFAULT 0 CHECK (essential IN (0, 1));
ALTER TABLE outbox ADD COLUMN run_after TEXT NOT NULL DEFAULT '1970-01-01T00:00:00Z';
ALTER TABLE outbox ADD COLUMN locked_by TEXT;
ALTER TABLE outbox ADD COLUMN handed_at TEXT;
ALTER TABLE outbox ADD COLUMN receipt_status TEXT CHECK (receipt_status IN ('delivered', 'failed'));
ALTER TABLE outbox ADD COLUMN receipt_at TEXT;
ALTER TABLE outbox ADD COLUMN receipt_error TEXT;
UPDATE outbox SET run_after = created_at;
-- @end
CREATE INDEX outbox_due ON outbox (status, run_after, id);
CREATE INDEX outbox_phone_handed ON outbox (phone, handed_at);
CREATE INDEX outbox_provider ON outbox (provider_id);

-- The jobs the old sender would have taken: their rows are due in the outbox now.
UPDATE jobs SET status = 'done', locked_by = NULL, locked_until = NULL,
    last_error = 'superseded by the outbox queue (024)'
WHERE kind = 'notify.sms' AND status IN ('queued', 'running');

-- A user's choice about non-essential SMS (no row: receive them). Essential
-- templates are sent whatever this says; the in-app inbox always gets everything.
CREATE TABLE notification_settings (
    user_id BIGINT PRIMARY KEY REFERENCES users (id),
    sms_optional INTEGER NOT NULL DEFAULT 1 CHECK (sms_optional IN (0, 1)),
    updated_at TEXT NOT NULL
);

-- Phones that replied "TD" (退订) through the gateway's inbound callback: no
-- non-essential SMS to that number, whoever it belongs to. The account holder
-- lifts it by turning non-essential SMS back on in their settings.
CREATE TABLE sms_optouts (
    phone TEXT PRIMARY KEY,                -- normalised, as in outbox.phone; personal data
    source TEXT NOT NULL CHECK (source IN ('reply', 'operator')),
    keyword TEXT,                          -- the reply that did it (TD, 退订 …)
    created_at TEXT NOT NULL
);

-- The global rate limit, shared by every node's sender: a token bucket
-- (ISLE_SMS_RATE tokens a second) read and written inside the claim.
CREATE TABLE sms_rate (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    tokens DOUBLE PRECISION NOT NULL,
    updated_ms BIGINT NOT NULL
);
INSERT INTO sms_rate (id, tokens, updated_ms) VALUES (1, 0, 0);
