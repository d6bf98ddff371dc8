-- 035: 无感监测 (src/dash/): the daily history of the city's figures and the
-- alerts raised when a town or a department crosses an indicator's target.
-- Portable SQL (see 001). Times are UTC ISO-8601 TEXT; days and months are
-- Asia/Shanghai calendar dates.

-- One figure of one day: the indicator computed over that day's cohort, for the
-- city (dim '', key '') or one town (dim 'town', key = town code).
CREATE TABLE dash_daily (
    day TEXT NOT NULL,                      -- YYYY-MM-DD
    indicator TEXT NOT NULL,                -- a stats registry id
    dim TEXT NOT NULL DEFAULT '',
    key TEXT NOT NULL DEFAULT '',
    value DOUBLE PRECISION,                 -- NULL: nothing to compute it over that day
    numerator DOUBLE PRECISION,
    denominator DOUBLE PRECISION,
    computed_at TEXT NOT NULL,
    PRIMARY KEY (indicator, dim, key, day)
);

-- An alert: an indicator of a town or department on the wrong side of its target
-- over a month. One row per (indicator, dim, key, period): opened once, resolved
-- when the figure is back within target, reopened never (the next month has its own).
CREATE TABLE dash_alerts (
    id @id_pk@,
    indicator TEXT NOT NULL,
    dim TEXT NOT NULL,                      -- town | department
    key TEXT NOT NULL,                      -- town code or department name
    key_name TEXT NOT NULL,
    period TEXT NOT NULL,                   -- YYYY-MM
    value DOUBLE PRECISION NOT NULL,        -- the figure when last checked
    target DOUBLE PRECISION NOT NULL,
    direction INTEGER NOT NULL,             -- +1 higher is better, -1 lower
    sample INTEGER NOT NULL,                -- cases it was computed over
    status TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
    role TEXT NOT NULL,                     -- who is told: supervisor
    notified INTEGER NOT NULL DEFAULT 0,
    opened_at TEXT NOT NULL,
    checked_at TEXT NOT NULL,
    resolved_at TEXT,
    UNIQUE (indicator, dim, key, period)
);
CREATE INDEX dash_alerts_status ON dash_alerts (status, opened_at);
