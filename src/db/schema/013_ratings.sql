-- 013: 好差评 (GB/T 39734-2020 / 39735-2020): ratings of finished cases and
-- the 差评 tickets they open (src/ratings/). Portable SQL (see 001). Times are
-- UTC ISO-8601 TEXT.

-- One rating per case per rater. department, item_code and channel are copied
-- from the case when it is rated, so the statistics never join cases.
-- overall is 整体满意度 (5 非常满意 … 1 非常不满意); dims holds the channel's
-- dimensions as a JSON object {"efficiency": 5, …}, also kept one row per
-- dimension in rating_scores so that averages are plain SQL on both backends.
CREATE TABLE ratings (
    id @id_pk@,
    case_id BIGINT NOT NULL REFERENCES cases (id),
    rater_id BIGINT NOT NULL REFERENCES users (id),
    department TEXT NOT NULL,
    item_code TEXT,
    channel TEXT NOT NULL,                 -- the case's channel: online | window | assisted | station
    overall INTEGER NOT NULL CHECK (overall BETWEEN 1 AND 5),
    dims TEXT NOT NULL,                    -- JSON object of dimension → 1..5
    comment TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (case_id, rater_id)
);
CREATE INDEX ratings_department ON ratings (department, created_at);

CREATE TABLE rating_scores (
    rating_id BIGINT NOT NULL REFERENCES ratings (id),
    dimension TEXT NOT NULL,
    score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    PRIMARY KEY (rating_id, dimension)
);

-- A 差评 (overall 1 or 2) opens one ticket for the case's department:
-- open → called_back (回访, required) → rectifying (整改 recorded) → the result
-- reported to the rater (result_reported_at) → closed. rectify_due is the end
-- of the 5th working day after opening (workcal_deadline).
CREATE TABLE rating_tickets (
    id @id_pk@,
    rating_id BIGINT NOT NULL UNIQUE REFERENCES ratings (id),
    case_id BIGINT NOT NULL REFERENCES cases (id),
    department TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'called_back', 'rectifying', 'closed')),
    opened_at TEXT NOT NULL,
    callback_at TEXT,
    callback_by BIGINT REFERENCES users (id),
    callback_note TEXT,
    rectify_due TEXT NOT NULL,
    rectified_at TEXT,
    rectified_by BIGINT REFERENCES users (id),
    rectify_note TEXT,
    result_reported_at TEXT,
    result_note TEXT,
    closed_at TEXT,
    closed_by BIGINT REFERENCES users (id),
    updated_at TEXT NOT NULL
);
CREATE INDEX rating_tickets_department ON rating_tickets (department, status);
CREATE INDEX rating_tickets_status ON rating_tickets (status, rectify_due);
