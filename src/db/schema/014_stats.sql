-- 014: the service KPIs (src/stats/): one row of figures per application,
-- derived from `cases` and `case_materials`, so that every indicator is one
-- aggregate over a narrow table instead of a join over wide rows.
-- Portable SQL (see 001). Times are UTC ISO-8601 TEXT.

-- stats_refresh() keeps stats_cases in step with `cases` incrementally: every
-- change of a case writes a case_events row, so it re-derives the cases with a
-- timeline row after its watermark (the last case_events id it derived, kept in
-- stats_state) — a range of the primary key, and no extra index on `cases`.

-- Staff queues (src/cases/ cases_list: status, department, kind = 'item', sorted by
-- deadline) and the supervisor's overdue view (status, deadline_at < now) read
-- only this index to filter and count: kind is added to 010's cases_queue so that
-- no table row is read for the cases a page does not show.
DROP INDEX cases_queue;
CREATE INDEX cases_queue ON cases (status, department, kind, deadline_at);

-- One row per submitted item case (bundles are counted through their member
-- cases; drafts are not applications yet). department, town_code, item_code
-- and channel never change after creation; the rest follows the case.
--   online              1 when the case came through the online platform
--                       (channel online, or assisted: an agent filing online)
--   zero_visit          1 when the applicant never had to come in (visits = 0)
--   has_deadline        1 when the case has a deadline (it was accepted)
--   materials_required  the case's required materials
--   materials_waived    of those, the ones satisfied without handing anything in
--                       (e-licence reuse or 告知承诺: case_materials.waived)
--   working_days        acceptance → decision in working days (src/workcal/),
--                       suspended working time excluded, rounded to 0.01;
--                       NULL until decided (or when never accepted)
--   same_day            decided on the Shanghai date it was accepted (即办)
--   late                decided after its deadline
CREATE TABLE stats_cases (
    case_id BIGINT PRIMARY KEY,            -- cases.id (no REFERENCES: derived data, rebuilt at will)
    submitted_at TEXT NOT NULL,
    decided_at TEXT,
    department TEXT NOT NULL,
    town_code TEXT,
    item_code TEXT,
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    online INTEGER NOT NULL,
    visits INTEGER NOT NULL,
    zero_visit INTEGER NOT NULL,
    materials_required INTEGER NOT NULL,
    materials_waived INTEGER NOT NULL,
    deadline_at TEXT,
    has_deadline INTEGER NOT NULL,
    working_days DOUBLE PRECISION,
    same_day INTEGER,
    promise_days DOUBLE PRECISION,
    legal_days DOUBLE PRECISION,
    late INTEGER NOT NULL,
    case_updated_at TEXT NOT NULL          -- the case's updated_at when this row was derived
);
-- The indexes make every figure an index-only scan in the order the query needs
-- (no table rows, no sort), for the whole city and for one department, town or
-- item — or all of them, split:
--   the submission cohort: a range of submitted_at with the columns summed;
CREATE INDEX stats_cases_submitted ON stats_cases (submitted_at, online, zero_visit,
    materials_required, materials_waived, has_deadline, late);
--   the decided cases: grouped by duration for the median, window checked inside;
CREATE INDEX stats_cases_days ON stats_cases (working_days, decided_at, same_day, legal_days);
--   open cases and those past their deadline (few: a range of status);
CREATE INDEX stats_cases_open ON stats_cases (status, deadline_at, submitted_at);
--   the same two per dimension, led by it.
CREATE INDEX stats_cases_department ON stats_cases (department, submitted_at, online, zero_visit,
    materials_required, materials_waived, has_deadline, late);
CREATE INDEX stats_cases_department_days ON stats_cases (department, working_days, decided_at,
    same_day, legal_days);
CREATE INDEX stats_cases_town ON stats_cases (town_code, submitted_at, online, zero_visit,
    materials_required, materials_waived, has_deadline, late);
CREATE INDEX stats_cases_town_days ON stats_cases (town_code, working_days, decided_at, same_day,
    legal_days);
CREATE INDEX stats_cases_item ON stats_cases (item_code, submitted_at, online, zero_visit,
    materials_required, materials_waived, has_deadline, late);
CREATE INDEX stats_cases_item_days ON stats_cases (item_code, working_days, decided_at, same_day,
    legal_days);
CREATE INDEX stats_cases_channel ON stats_cases (channel, submitted_at, online, zero_visit,
    materials_required, materials_waived, has_deadline, late);
CREATE INDEX stats_cases_channel_days ON stats_cases (channel, working_days, decided_at, same_day,
    legal_days);

-- Small named values of the module: the refresh watermark ('case_events.id').
-- No rows at creation.
CREATE TABLE stats_state (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
