-- bench/cases/transitions.lua: wrk script for bench/cases.sh — every request is one
-- case state transition through the real path (POST /api/v1/cases/{id}/actions/{a}
-- → cases_transition(): one transaction with the case row, its timeline row, its
-- audit row and the applicant's notification).
--
-- Cases BENCH_FIRST .. BENCH_FIRST+BENCH_COUNT-1 are 'submitted'. Thread t of
-- BENCH_WRK_THREADS takes its own slice of them and walks it in chunks of CHUNK (5,000)
-- cases: the chunk through accept (window staff), then review and approve
-- (approver), so every run mixes the three actions evenly. A
-- case's next action is sent CHUNK requests after the previous one, so it has long
-- been answered whatever the number of connections. When a thread runs out of
-- cases it sends GET /healthz (not counted as a transition).
local first = tonumber(os.getenv("BENCH_FIRST"))
local count = tonumber(os.getenv("BENCH_COUNT"))
local nthreads = tonumber(os.getenv("BENCH_WRK_THREADS") or "2")
local staff = "Bearer " .. os.getenv("BENCH_STAFF_TOKEN")
local approver = "Bearer " .. os.getenv("BENCH_APPROVER_TOKEN")
local actions = { "accept", "review", "approve" }
local tokens = { staff, approver, approver }
local threads = {}

function setup(thread)
   thread:set("tid", #threads)
   table.insert(threads, thread)
end

function init(args)
   per = math.floor(count / nthreads)
   lo = first + tid * per
   k = 0
   sent, ok, failed, idle = 0, 0, 0, 0
end

local CHUNK = 5000 -- a case's next action follows ~3 s after its previous one

function request()
   -- wrk asks each thread for one request before the run and may not send it: let that
   -- one be a harmless GET, so that no case misses its accept.
   if not primed then
      primed = true
      return wrk.format("GET", "/healthz")
   end
   local chunk = math.floor(k / (CHUNK * #actions))
   local within = k % (CHUNK * #actions)
   local round = math.floor(within / CHUNK)
   local idx = chunk * CHUNK + within % CHUNK
   local id = lo + idx
   k = k + 1
   if idx >= per then
      idle = idle + 1
      return wrk.format("GET", "/healthz")
   end
   sent = sent + 1
   return wrk.format("POST", "/api/v1/cases/" .. id .. "/actions/" .. actions[round + 1],
      { ["Authorization"] = tokens[round + 1], ["Content-Type"] = "application/json" }, "{}")
end

function response(status, headers, body)
   -- /healthz answers 200 without a JSON case: only case answers carry "status".
   if status == 200 and body:find('"case_no"', 1, true) then
      ok = ok + 1
   elseif status ~= 200 then
      failed = failed + 1
   end
end

function done(summary, latency, requests)
   local s, o, f, i = 0, 0, 0, 0
   for _, t in ipairs(threads) do
      s = s + t:get("sent")
      o = o + t:get("ok")
      f = f + t:get("failed")
      i = i + t:get("idle")
   end
   io.write(string.format("transitions_sent %d\ntransitions_ok %d\ntransitions_failed %d\nidle_requests %d\n", s, o, f, i))
end
