-- 022: 办事不出岛 — station details, 帮办代办 agents and assisted requests.
-- Portable SQL (see 001). Times are UTC ISO-8601 TEXT.

-- Opening hours and services of a station (the registry of 002 has the place).
-- hours: "08:30-12:00,13:30-17:30" (workcal schedule syntax); services: JSON
-- array of service keys of data/island/station_services.json or item codes.
ALTER TABLE stations ADD COLUMN hours TEXT;
ALTER TABLE stations ADD COLUMN services TEXT;
ALTER TABLE stations ADD COLUMN phone TEXT;

-- An agent (帮办代办员): a user with role 'agent' (user_id) or a record without an
-- account yet (user_id NULL: reached by SMS only).
CREATE TABLE agents (
    id @id_pk@,
    user_id BIGINT UNIQUE REFERENCES users (id),
    name TEXT NOT NULL,
    phone TEXT,                               -- personal data: never logged in clear
    kind TEXT NOT NULL CHECK (kind IN ('full_time', 'part_time')),  -- 专职 / 兼职
    station_id TEXT NOT NULL REFERENCES stations (id),  -- home station
    island_id TEXT NOT NULL REFERENCES islands (id),
    town_code TEXT NOT NULL REFERENCES towns (code),
    skills TEXT NOT NULL,                     -- JSON: {"departments":[…],"items":[…],"all":bool}
    hours TEXT NOT NULL,                      -- working hours, workcal schedule syntax
    capacity INTEGER NOT NULL CHECK (capacity BETWEEN 1 AND 100),  -- open tasks at once
    open_tasks INTEGER NOT NULL DEFAULT 0 CHECK (open_tasks >= 0), -- open tasks now
    on_duty INTEGER NOT NULL DEFAULT 1 CHECK (on_duty IN (0, 1)),
    position_island TEXT REFERENCES islands (id), -- last known position (NULL: home station)
    position_at TEXT,
    served_today INTEGER NOT NULL DEFAULT 0,  -- fairness
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX agents_station ON agents (station_id);
CREATE INDEX agents_town ON agents (town_code, on_duty);
CREATE INDEX agents_island ON agents (island_id, on_duty);

-- An assisted request (帮办代办): new → dispatched → accepted → in_progress →
-- (waiting_on_department) → done | cancelled.
CREATE TABLE assist_requests (
    id @id_pk@,
    request_no TEXT NOT NULL UNIQUE,          -- BB + yymmdd + id
    resident_id BIGINT REFERENCES users (id), -- NULL for a phone intake of someone without an account
    resident_name TEXT NOT NULL,
    resident_phone TEXT,                      -- personal data
    item_code TEXT,                           -- catalog item (may be NULL: "not sure what I need")
    item_name TEXT,
    channel TEXT NOT NULL CHECK (channel IN ('phone', 'online', 'station')),
    village_code TEXT NOT NULL REFERENCES villages (code),
    town_code TEXT NOT NULL REFERENCES towns (code),
    island_id TEXT NOT NULL REFERENCES islands (id),
    address TEXT,
    urgency TEXT NOT NULL DEFAULT 'normal' CHECK (urgency IN ('normal', 'urgent')),
    preferred_at TEXT,                        -- when the resident would like it
    description TEXT,
    status TEXT NOT NULL CHECK (status IN ('new', 'dispatched', 'accepted', 'in_progress',
        'waiting_on_department', 'done', 'cancelled')),
    agent_id BIGINT REFERENCES agents (id),
    remote INTEGER NOT NULL DEFAULT 0,        -- handled online, no travel
    dispatch_reason TEXT,                     -- "金磊: 同岛, 12 分钟可达, 当前 2 件"
    dispatch_score DOUBLE PRECISION,
    eta_at TEXT,                              -- when the agent can be with the resident
    case_id BIGINT REFERENCES cases (id),     -- application opened on the resident's behalf
    consent_at TEXT,                          -- resident's consent to act for them
    consent_by BIGINT REFERENCES users (id),
    accept_due TEXT,                          -- SLA: accepted within 2 working hours
    done_due TEXT,                            -- SLA: done within the item's promise days
    escalated_at TEXT,
    created_by BIGINT REFERENCES users (id),
    created_at TEXT NOT NULL,
    dispatched_at TEXT,
    accepted_at TEXT,
    started_at TEXT,
    done_at TEXT,
    cancelled_at TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    updated_at TEXT NOT NULL
);
CREATE INDEX assist_requests_status ON assist_requests (status, town_code);
CREATE INDEX assist_requests_agent ON assist_requests (agent_id, status);
CREATE INDEX assist_requests_resident ON assist_requests (resident_id, created_at);
CREATE INDEX assist_requests_due ON assist_requests (status, accept_due);

-- Timeline of a request (the audit log keeps the hash-chained copy).
CREATE TABLE assist_events (
    id @id_pk@,
    request_id BIGINT NOT NULL REFERENCES assist_requests (id),
    at TEXT NOT NULL,
    actor_id BIGINT REFERENCES users (id),
    action TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT,
    note TEXT,
    data TEXT,                                -- JSON (dispatch candidates, declined agent …)
    file_id BIGINT REFERENCES files (id)      -- photo of the finished work
);
CREATE INDEX assist_events_request ON assist_events (request_id, id);
