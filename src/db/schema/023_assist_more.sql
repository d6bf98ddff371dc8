-- 023: more of 办事不出岛 (src/island/agents.c, assist.c, assist_watch.c).

-- An agent's last reported point on position_island (PUT /api/v1/me/agent), so
-- that dispatch can measure from where the agent is rather than from the
-- island's centre. NULL: at the home station (or only the island is known).
ALTER TABLE agents ADD COLUMN position_lat DOUBLE PRECISION;
ALTER TABLE agents ADD COLUMN position_lon DOUBLE PRECISION;

-- How consent to act for the resident was given: 'online' (the resident in the
-- app), 'phone' (recorded by staff on a call), 'station' (in person, recorded by
-- staff or the agent).
ALTER TABLE assist_requests ADD COLUMN consent_method TEXT;

-- The two SLA escalations are separate: escalated_at is the first escalation of
-- either kind (022); done_escalated_at the escalation for missing done_due.
-- Each is claimed once per request by a conditional UPDATE (assist_watch.c).
ALTER TABLE assist_requests ADD COLUMN done_escalated_at TEXT;
CREATE INDEX assist_requests_done_due ON assist_requests (status, done_due);

-- The agent an event concerns (dispatched to, declined by, reassigned from):
-- re-dispatch excludes every agent that declined the request.
ALTER TABLE assist_events ADD COLUMN agent_id BIGINT REFERENCES agents (id);
CREATE INDEX assist_events_agent ON assist_events (request_id, action, agent_id);
