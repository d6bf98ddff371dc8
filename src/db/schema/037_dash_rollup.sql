-- 037: per-day rollups of the service indicators (src/stats/facts.c keeps them,
-- src/stats/services.c and src/dash/ read them), so that the overview and every
-- drill level sum a few thousand rows per day of the window instead of reading a
-- million stats_cases rows. Portable SQL (see 001); the Shanghai day of an instant
-- is the only thing written twice (the views below).
--
-- A day is the Asia/Shanghai calendar date of an instant, exactly as the windows
-- of stats_filter_parse() cut them: the windows compare the stored UTC text with
-- Shanghai midnights ("…T16:00:00Z" of the previous UTC date), so an instant whose
-- text is at or after "<its UTC date>T16:00:00Z" belongs to the next date.
--
-- Invariant: every rollup is the sum, over stats_cases and over the ratings up to
-- the watermark stats_state 'ratings.id', of the contributions below. stats_refresh()
-- keeps it in the same transaction that changes stats_cases: it subtracts the old
-- rows of the cases it re-derives, upserts them, and adds the new ones; new ratings
-- (immutable) are added once. stats_rebuild() recomputes everything.
--
-- Contributions (measures; dimension keys with NULL stored as ''):
--   a fact, on the day it was submitted: submitted 1, online, zero_visit,
--     materials_required, materials_waived, has_deadline, late, open_cases (1 while
--     submitted/accepted/returned_for_correction/in_review/suspended)
--   a fact with a duration, on the day it was decided: decided 1, wd_h (working
--     days in hundredths: exact integers), same_day, legal_n (1 when legal_days is
--     known), legal_sum, wd_legal_h (wd_h when legal_days is known)
--   a rating, on the day it was created: ratings 1, rating_sum (overall); keyed by
--     the rating's own department, item and channel and by the case's town — or
--     town '-' when the case has no fact (a bundle): the town figures leave those out,
--     as the join with stats_cases did.
-- Rows whose measures all fall to zero are left in place (keys of a case never
-- change, so this practically never happens); every reader requires a count > 0.

-- @sqlite
CREATE VIEW stats_fact_keys AS
SELECT case_id, department, channel, status, online, zero_visit, materials_required,
    materials_waived, has_deadline, late, working_days, same_day, legal_days,
    COALESCE(town_code, '') AS town_key,
    COALESCE(item_code, '') AS item_key,
    CASE WHEN submitted_at >= (substr(submitted_at, 1, 10) || 'T16:00:00Z')
         THEN COALESCE(date(substr(submitted_at, 1, 10), '+1 day'), substr(submitted_at, 1, 10))
         ELSE substr(submitted_at, 1, 10) END AS submitted_day,
    CASE WHEN decided_at >= (substr(decided_at, 1, 10) || 'T16:00:00Z')
         THEN COALESCE(date(substr(decided_at, 1, 10), '+1 day'), substr(decided_at, 1, 10))
         ELSE substr(decided_at, 1, 10) END AS decided_day,
    CAST(ROUND(working_days * 100) AS BIGINT) AS wd_h,
    CASE WHEN status IN ('submitted', 'accepted', 'returned_for_correction', 'in_review',
                         'suspended') THEN 1 ELSE 0 END AS is_open
FROM stats_cases;

CREATE VIEW stats_rating_keys AS
SELECT r.id AS rating_id, r.department, r.channel, r.overall,
    COALESCE(r.item_code, '') AS item_key,
    CASE WHEN c.kind = 'item' AND c.submitted_at IS NOT NULL AND c.submitted_at <> ''
         THEN COALESCE(c.town_code, '') ELSE '-' END AS town_key,
    CASE WHEN r.created_at >= (substr(r.created_at, 1, 10) || 'T16:00:00Z')
         THEN COALESCE(date(substr(r.created_at, 1, 10), '+1 day'), substr(r.created_at, 1, 10))
         ELSE substr(r.created_at, 1, 10) END AS day
FROM ratings r JOIN cases c ON c.id = r.case_id;
-- @end

-- @postgres
CREATE VIEW stats_fact_keys AS
SELECT case_id, department, channel, status, online, zero_visit, materials_required,
    materials_waived, has_deadline, late, working_days, same_day, legal_days,
    COALESCE(town_code, '') AS town_key,
    COALESCE(item_code, '') AS item_key,
    CASE WHEN submitted_at >= (substr(submitted_at, 1, 10) || 'T16:00:00Z')
         THEN to_char(CAST(substr(submitted_at, 1, 10) AS date) + 1, 'YYYY-MM-DD')
         ELSE substr(submitted_at, 1, 10) END AS submitted_day,
    CASE WHEN decided_at >= (substr(decided_at, 1, 10) || 'T16:00:00Z')
         THEN to_char(CAST(substr(decided_at, 1, 10) AS date) + 1, 'YYYY-MM-DD')
         ELSE substr(decided_at, 1, 10) END AS decided_day,
    CAST(ROUND(working_days * 100) AS BIGINT) AS wd_h,
    CASE WHEN status IN ('submitted', 'accepted', 'returned_for_correction', 'in_review',
                         'suspended') THEN 1 ELSE 0 END AS is_open
FROM stats_cases;

CREATE VIEW stats_rating_keys AS
SELECT r.id AS rating_id, r.department, r.channel, r.overall,
    COALESCE(r.item_code, '') AS item_key,
    CASE WHEN c.kind = 'item' AND c.submitted_at IS NOT NULL AND c.submitted_at <> ''
         THEN COALESCE(c.town_code, '') ELSE '-' END AS town_key,
    CASE WHEN r.created_at >= (substr(r.created_at, 1, 10) || 'T16:00:00Z')
         THEN to_char(CAST(substr(r.created_at, 1, 10) AS date) + 1, 'YYYY-MM-DD')
         ELSE substr(r.created_at, 1, 10) END AS day
FROM ratings r JOIN cases c ON c.id = r.case_id;
-- @end

-- The rollups are read as ranges of their primary key: on SQLite they are stored in
-- it (WITHOUT ROWID), so a range is contiguous.

-- Town × day × item × department × channel: the drill's town level (a town's
-- items, one town's rows together), and any filter or split by item.
CREATE TABLE stats_rollup (
    town_code TEXT NOT NULL,
    day TEXT NOT NULL,
    item_code TEXT NOT NULL,
    department TEXT NOT NULL,
    channel TEXT NOT NULL,
    submitted BIGINT NOT NULL,
    online BIGINT NOT NULL,
    zero_visit BIGINT NOT NULL,
    materials_required BIGINT NOT NULL,
    materials_waived BIGINT NOT NULL,
    has_deadline BIGINT NOT NULL,
    late BIGINT NOT NULL,
    open_cases BIGINT NOT NULL,
    decided BIGINT NOT NULL,
    wd_h BIGINT NOT NULL,
    same_day BIGINT NOT NULL,
    legal_n BIGINT NOT NULL,
    legal_sum DOUBLE PRECISION NOT NULL,
    wd_legal_h BIGINT NOT NULL,
    ratings BIGINT NOT NULL,
    rating_sum BIGINT NOT NULL,
    PRIMARY KEY (town_code, day, item_code, department, channel)
-- @sqlite
) WITHOUT ROWID;
-- @end
-- @postgres
);
-- @end
CREATE INDEX stats_rollup_item ON stats_rollup (item_code, day);

-- Day × town: the overview's towns, the city and county levels.
CREATE TABLE stats_rollup_town (
    day TEXT NOT NULL,
    town_code TEXT NOT NULL,
    submitted BIGINT NOT NULL,
    online BIGINT NOT NULL,
    zero_visit BIGINT NOT NULL,
    materials_required BIGINT NOT NULL,
    materials_waived BIGINT NOT NULL,
    has_deadline BIGINT NOT NULL,
    late BIGINT NOT NULL,
    open_cases BIGINT NOT NULL,
    decided BIGINT NOT NULL,
    wd_h BIGINT NOT NULL,
    same_day BIGINT NOT NULL,
    legal_n BIGINT NOT NULL,
    legal_sum DOUBLE PRECISION NOT NULL,
    wd_legal_h BIGINT NOT NULL,
    ratings BIGINT NOT NULL,
    rating_sum BIGINT NOT NULL,
    PRIMARY KEY (day, town_code)
-- @sqlite
) WITHOUT ROWID;
-- @end
-- @postgres
);
-- @end

-- Day × department × channel: the monitor's departments, any department filter.
CREATE TABLE stats_rollup_department (
    day TEXT NOT NULL,
    department TEXT NOT NULL,
    channel TEXT NOT NULL,
    submitted BIGINT NOT NULL,
    online BIGINT NOT NULL,
    zero_visit BIGINT NOT NULL,
    materials_required BIGINT NOT NULL,
    materials_waived BIGINT NOT NULL,
    has_deadline BIGINT NOT NULL,
    late BIGINT NOT NULL,
    open_cases BIGINT NOT NULL,
    decided BIGINT NOT NULL,
    wd_h BIGINT NOT NULL,
    same_day BIGINT NOT NULL,
    legal_n BIGINT NOT NULL,
    legal_sum DOUBLE PRECISION NOT NULL,
    wd_legal_h BIGINT NOT NULL,
    ratings BIGINT NOT NULL,
    rating_sum BIGINT NOT NULL,
    PRIMARY KEY (day, department, channel)
-- @sqlite
) WITHOUT ROWID;
-- @end
-- @postgres
);
-- @end

-- Day × channel: the city's figures, the trend and the channels.
CREATE TABLE stats_rollup_day (
    day TEXT NOT NULL,
    channel TEXT NOT NULL,
    submitted BIGINT NOT NULL,
    online BIGINT NOT NULL,
    zero_visit BIGINT NOT NULL,
    materials_required BIGINT NOT NULL,
    materials_waived BIGINT NOT NULL,
    has_deadline BIGINT NOT NULL,
    late BIGINT NOT NULL,
    open_cases BIGINT NOT NULL,
    decided BIGINT NOT NULL,
    wd_h BIGINT NOT NULL,
    same_day BIGINT NOT NULL,
    legal_n BIGINT NOT NULL,
    legal_sum DOUBLE PRECISION NOT NULL,
    wd_legal_h BIGINT NOT NULL,
    ratings BIGINT NOT NULL,
    rating_sum BIGINT NOT NULL,
    PRIMARY KEY (day, channel)
-- @sqlite
) WITHOUT ROWID;
-- @end
-- @postgres
);
-- @end

-- The city's decided cases per day by tenth of a working day (wd_h / 10): the
-- median is located in it, then read exactly from the one or two tenths of
-- stats_cases_days around it (services.c).
CREATE TABLE stats_rollup_wd (
    day TEXT NOT NULL,
    tenth BIGINT NOT NULL,
    cases BIGINT NOT NULL,
    PRIMARY KEY (day, tenth)
-- @sqlite
) WITHOUT ROWID;
-- @end
-- @postgres
);
-- @end

-- The drill's last level: one item's cases in one town, newest first; and, index
-- only, the durations of one item in one town (a rounding tie, services.c).
CREATE INDEX stats_cases_town_item ON stats_cases (town_code, item_code, submitted_at, case_id,
    decided_at, working_days, legal_days);

-- The town of a case without reading its row (the 差评 tickets of a town).
CREATE INDEX stats_cases_case_town ON stats_cases (case_id, town_code);

-- The rest of the overview from indexes alone: the 差评 tickets of a window, and the
-- trading figures (src/stats/trading.c: projects, awards, outcomes, openings, the
-- CA-mutual-recognition rate).
CREATE INDEX rating_tickets_opened ON rating_tickets (opened_at, status, callback_at, rectify_due,
    department, case_id, rating_id);
CREATE INDEX ca_logins_at_foreign ON ca_logins (at, foreign_ca);
CREATE INDEX tenders_announce_fig ON tenders (announce_at, status, kind, electronic);
CREATE INDEX tenders_awarded_fig ON tenders (awarded_at, status, kind, award_fen, budget_fen,
    reserve_fen);
CREATE INDEX tenders_deadline_fig ON tenders (deadline_at, status, kind);
CREATE INDEX openings_started ON openings (started_at, tender_id);

-- Backfill from the facts as they are (a database upgraded with stats_cases in
-- place); on a new database these insert nothing. The same statements as
-- facts.c's rebuild.
INSERT INTO stats_rollup (day, town_code, item_code, department, channel, submitted, online,
    zero_visit, materials_required, materials_waived, has_deadline, late, open_cases, decided,
    wd_h, same_day, legal_n, legal_sum, wd_legal_h, ratings, rating_sum)
SELECT day, town_code, item_code, department, channel, SUM(submitted), SUM(online),
    SUM(zero_visit), SUM(materials_required), SUM(materials_waived), SUM(has_deadline), SUM(late),
    SUM(open_cases), SUM(decided), SUM(wd_h), SUM(same_day), SUM(legal_n), SUM(legal_sum),
    SUM(wd_legal_h), SUM(ratings), SUM(rating_sum)
FROM (
    SELECT submitted_day AS day, town_key AS town_code, item_key AS item_code, department,
        channel, 1 AS submitted, online, zero_visit, materials_required, materials_waived,
        has_deadline, late, is_open AS open_cases, 0 AS decided, 0 AS wd_h, 0 AS same_day,
        0 AS legal_n, 0.0 AS legal_sum, 0 AS wd_legal_h, 0 AS ratings, 0 AS rating_sum
    FROM stats_fact_keys
    UNION ALL
    SELECT decided_day, town_key, item_key, department, channel, 0, 0, 0, 0, 0, 0, 0, 0, 1,
        wd_h, same_day, CASE WHEN legal_days IS NULL THEN 0 ELSE 1 END, COALESCE(legal_days, 0),
        CASE WHEN legal_days IS NULL THEN 0 ELSE wd_h END, 0, 0
    FROM stats_fact_keys WHERE working_days IS NOT NULL
    UNION ALL
    SELECT day, town_key, item_key, department, channel, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 1, overall
    FROM stats_rating_keys
) x
GROUP BY town_code, day, item_code, department, channel;

INSERT INTO stats_rollup_town (day, town_code, submitted, online, zero_visit,
    materials_required, materials_waived, has_deadline, late, open_cases, decided, wd_h, same_day,
    legal_n, legal_sum, wd_legal_h, ratings, rating_sum)
SELECT day, town_code, SUM(submitted), SUM(online), SUM(zero_visit),
    SUM(materials_required), SUM(materials_waived), SUM(has_deadline), SUM(late), SUM(open_cases),
    SUM(decided), SUM(wd_h), SUM(same_day), SUM(legal_n), SUM(legal_sum), SUM(wd_legal_h),
    SUM(ratings), SUM(rating_sum)
FROM stats_rollup GROUP BY day, town_code;

INSERT INTO stats_rollup_department (day, department, channel, submitted, online, zero_visit,
    materials_required, materials_waived, has_deadline, late, open_cases, decided, wd_h, same_day,
    legal_n, legal_sum, wd_legal_h, ratings, rating_sum)
SELECT day, department, channel, SUM(submitted), SUM(online), SUM(zero_visit),
    SUM(materials_required), SUM(materials_waived), SUM(has_deadline), SUM(late), SUM(open_cases),
    SUM(decided), SUM(wd_h), SUM(same_day), SUM(legal_n), SUM(legal_sum), SUM(wd_legal_h),
    SUM(ratings), SUM(rating_sum)
FROM stats_rollup GROUP BY day, department, channel;

INSERT INTO stats_rollup_day (day, channel, submitted, online, zero_visit, materials_required,
    materials_waived, has_deadline, late, open_cases, decided, wd_h, same_day, legal_n, legal_sum,
    wd_legal_h, ratings, rating_sum)
SELECT day, channel, SUM(submitted), SUM(online), SUM(zero_visit), SUM(materials_required),
    SUM(materials_waived), SUM(has_deadline), SUM(late), SUM(open_cases), SUM(decided), SUM(wd_h),
    SUM(same_day), SUM(legal_n), SUM(legal_sum), SUM(wd_legal_h), SUM(ratings), SUM(rating_sum)
FROM stats_rollup_department GROUP BY day, channel;

INSERT INTO stats_rollup_wd (day, tenth, cases)
SELECT decided_day, wd_h / 10, COUNT(*) FROM stats_fact_keys WHERE working_days IS NOT NULL
GROUP BY decided_day, wd_h / 10;

-- The ratings are in up to the newest one now.
INSERT INTO stats_state (name, value)
SELECT 'ratings.id', CAST(COALESCE(MAX(id), 0) AS TEXT) FROM ratings;
