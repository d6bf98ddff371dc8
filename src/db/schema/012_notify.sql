-- 012: notifications (src/notify/): the in-app inbox and the SMS outbox.
-- Portable SQL (see 001). Times are UTC ISO-8601 TEXT.
--
-- notify_send() writes both inside the caller's transaction (a transactional
-- outbox): the message exists exactly when the event that caused it was
-- committed. dedupe_key (e.g. "case:12:accepted:3") is unique in both tables,
-- so replaying an event never produces a second message.

-- The in-app inbox (站内信): one row per message to a user.
CREATE TABLE notifications (
    id @id_pk@,
    user_id BIGINT NOT NULL REFERENCES users (id),
    template TEXT NOT NULL,                -- data/notify/templates.tsv name
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    link TEXT,                             -- in-app path, e.g. /cases/123
    dedupe_key TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    read_at TEXT                           -- NULL while unread
);
CREATE INDEX notifications_user ON notifications (user_id, id);
CREATE INDEX notifications_unread ON notifications (user_id, read_at);

-- One SMS to send. The phone is personal data: it is stored here because the
-- gateway needs it, but it is never logged, and the API shows it masked. Each
-- row has a job (jobs kind "notify.sms", payload {"outbox_id": id}) queued in
-- the same transaction; the sender worker claims the job, checks the row is
-- still pending, hands it to the transport, then marks it sent (or failed
-- for good after the last attempt). status 'sent' is final: a row is never
-- sent twice by isle, whichever node holds its job.
CREATE TABLE outbox (
    id @id_pk@,
    notification_id BIGINT REFERENCES notifications (id), -- NULL: to a phone without an account
    channel TEXT NOT NULL DEFAULT 'sms' CHECK (channel IN ('sms')),
    template TEXT NOT NULL,
    phone TEXT NOT NULL,
    body TEXT NOT NULL,                    -- the SMS text, signature included
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,   -- hand-overs to the transport so far
    last_error TEXT,
    dedupe_key TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    provider_id TEXT                       -- the gateway's message id, for receipts
);
CREATE INDEX outbox_status ON outbox (status, id);
