-- bench/scale/pg-sample.sql: what isle's PostgreSQL connections are doing during a
-- bench/scale.sh run, sampled from pg_stat_activity and pg_locks every 100 ms, :n times
-- (psql -v n=N). Prints one line:
--   samples|running|lock_wait|in_tx_idle|conns|held|held_pg|held_isle
-- running, lock_wait, in_tx_idle and conns are the mean number of isle connections
-- (application_name 'isle', this database) that are
--   running     state 'active' and not waiting for a lock (executing, or waiting on
--               I/O or an internal lock: PostgreSQL's own work)
--   lock_wait   state 'active' waiting for a heavyweight lock (wait_event_type 'Lock':
--               isle's write transactions queue on one advisory lock, docs/OPERATIONS.md)
--   in_tx_idle  'idle in transaction': inside a transaction, PostgreSQL waiting for isle
--               (the node computing between statements, or the network round trip)
--   conns       seen at all (idle ones too);
-- held, held_pg and held_isle are the share of samples in which an isle connection holds
-- an advisory lock (the write lock: db_begin() on PostgreSQL), and in which its holder is
-- at that moment executing a statement, or idle in the transaction (waiting for isle).
-- Each sample commits, so no transaction stays open for the run.
\set ON_ERROR_STOP 1
SELECT set_config('isle_bench.n', :'n', false) \g /dev/null
CREATE TEMP TABLE bench_samples (i int, state text, wait_type text);
CREATE TEMP TABLE bench_held (i int, state text);
DO $$
DECLARE
    n int := current_setting('isle_bench.n')::int;
BEGIN
    FOR i IN 1..n LOOP
        PERFORM pg_stat_clear_snapshot();
        INSERT INTO bench_samples
            SELECT i, state, wait_event_type FROM pg_stat_activity
            WHERE application_name = 'isle' AND datname = current_database()
              AND pid <> pg_backend_pid();
        INSERT INTO bench_held
            SELECT i, a.state FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = 'isle'
              AND a.datname = current_database()
            LIMIT 1;
        COMMIT;
        PERFORM pg_sleep(0.1);
    END LOOP;
END
$$;
WITH n AS (SELECT current_setting('isle_bench.n')::int AS n)
SELECT n.n,
       round((SELECT count(*) FROM bench_samples
              WHERE state = 'active' AND wait_type IS DISTINCT FROM 'Lock')::numeric / n.n, 3),
       round((SELECT count(*) FROM bench_samples
              WHERE state = 'active' AND wait_type = 'Lock')::numeric / n.n, 3),
       round((SELECT count(*) FROM bench_samples
              WHERE state LIKE 'idle in transaction%')::numeric / n.n, 3),
       round((SELECT count(*) FROM bench_samples)::numeric / n.n, 2),
       round((SELECT count(*) FROM bench_held)::numeric / n.n, 3),
       round((SELECT count(*) FROM bench_held WHERE state = 'active')::numeric / n.n, 3),
       round((SELECT count(*) FROM bench_held WHERE state LIKE 'idle in transaction%')::numeric / n.n, 3)
FROM n;
