-- The rate limits' counters, one row per bucket: its current window and the
-- previous window's count, which is all the sliding estimate needs
-- (domain::rate). `rate_counters` kept a row per bucket and window, and
-- counting read the previous window back with a join whose plan depended on
-- the table's statistics; every statement here is an upsert by primary key,
-- whose plan does not (BENCHMARKS.md, issue 18 seventh part).
CREATE TABLE rate_windows (
    bucket        TEXT PRIMARY KEY,
    window_start  TIMESTAMP NOT NULL,
    -- The next window's start: a row whose end is a request's start holds
    -- that request's previous window.
    window_end    TIMESTAMP NOT NULL,
    hits          INTEGER NOT NULL,
    previous_hits INTEGER NOT NULL
);

-- Same signature and answer as before (migration `…_prepared_writes`), so
-- an instance of the previous release counts in the same rows as this one
-- while both run. A request whose window is older than the stored one (the
-- clocks of two instances a little apart) counts in the stored window. The
-- inner statements have no plan to choose (upserts by primary key, arrays
-- unnested), so they are planned once per connection whatever the caller's
-- `plan_cache_mode` (the writers plan every statement anew, db::pool).
CREATE OR REPLACE FUNCTION filingdesk_hit_rates(
    p_buckets TEXT[], p_cur TIMESTAMP[], p_prev TIMESTAMP[], p_async_commit BOOLEAN
) RETURNS BIGINT[] AS $$
DECLARE
    v_counts BIGINT[];
BEGIN
    IF p_async_commit THEN
        PERFORM set_config('synchronous_commit', 'off', true);
    END IF;
    WITH up AS (
        INSERT INTO rate_windows AS w (bucket, window_start, window_end, hits, previous_hits)
            SELECT b, c, c + (c - p), 1, 0 FROM unnest(p_buckets, p_cur, p_prev) AS i(b, c, p) ORDER BY b
            ON CONFLICT (bucket) DO UPDATE SET
                hits = CASE WHEN w.window_start >= EXCLUDED.window_start THEN w.hits + 1 ELSE 1 END,
                previous_hits = CASE WHEN w.window_start >= EXCLUDED.window_start THEN w.previous_hits
                                     WHEN w.window_end = EXCLUDED.window_start THEN w.hits
                                     ELSE 0 END,
                window_start = GREATEST(w.window_start, EXCLUDED.window_start),
                window_end = GREATEST(w.window_end, EXCLUDED.window_end)
            RETURNING w.bucket, w.hits, w.previous_hits
    )
    SELECT array_agg(up.previous_hits::int8 ORDER BY i.n) || array_agg(up.hits::int8 ORDER BY i.n)
        INTO v_counts
        FROM unnest(p_buckets) WITH ORDINALITY AS i(bucket, n) JOIN up ON up.bucket = i.bucket;
    RETURN v_counts;
END;
$$ LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan;

-- Ticket numbers in blocks (tickets::numbers): the tenant's next
-- `p_count` numbers of the day, returning the last. An upsert by primary
-- key, planned once per connection. `filingdesk_next_ticket_number` stays
-- for instances of the previous release during an upgrade (they take one
-- number at a time from the same counter) and goes in a later release.
CREATE FUNCTION filingdesk_take_ticket_numbers(p_tenant TEXT, p_day TEXT, p_count INTEGER, p_async_commit BOOLEAN)
RETURNS INTEGER AS $$
DECLARE
    v_last INTEGER;
BEGIN
    IF p_async_commit THEN
        PERFORM set_config('synchronous_commit', 'off', true);
    END IF;
    INSERT INTO ticket_counters (tenant_id, day, last) VALUES (p_tenant, p_day, p_count)
        ON CONFLICT (tenant_id, day) DO UPDATE SET last = ticket_counters.last + p_count
        RETURNING last INTO v_last;
    RETURN v_last;
END;
$$ LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan;

-- `rate_counters` is no longer written; the purge empties it within hours,
-- and a later release drops it (expand, then contract: migrations/README.md).

-- The audit append reads the chain's head from a table that starts empty
-- and grows with every request: its generic plan, made while the table was
-- small, scanned the table and was kept as it grew (measured: a fresh
-- database's first benchmark run at half the speed of the next). Planned
-- with its parameters each call, it planned while holding the chain's lock.
-- Its plan is made once per connection with the two choices that could go
-- wrong taken away: no sequential scan and no sort leave one plan for the
-- head, the chain's (chain, seq) index walked backwards, whatever the
-- statistics (checked with EXPLAIN on an empty, analysed table), and the
-- checkpoint's primary key.
ALTER FUNCTION audit_append(TEXT, TEXT, TEXT, TIMESTAMP, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT)
    SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION audit_append(TEXT, TEXT, TEXT, TIMESTAMP, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT)
    SET enable_seqscan = off;
ALTER FUNCTION audit_append(TEXT, TEXT, TEXT, TIMESTAMP, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT)
    SET enable_sort = off;

-- A request's limits in one round trip when its tenant's id is known (an
-- instance remembers the id of a slug it has seen: neither ever changes):
-- the tenant as it is now (status and settings, read every time) and a hit
-- on every bucket. The tenant's columns are NULL when there is no such id.
-- Both tenant reads are by primary key in tables of one row per tenant
-- (registrars: tens to hundreds), so the plan is made once per connection
-- (planned with parameters each call, the function cost as much as the two
-- statements it replaces: pgbench, one client, 0.226 against 0.219 ms; planned
-- once, 0.142 ms).
CREATE FUNCTION filingdesk_hit_rates_for_tenant(
    p_tenant TEXT, p_buckets TEXT[], p_cur TIMESTAMP[], p_prev TIMESTAMP[], p_async_commit BOOLEAN
) RETURNS TABLE (
    o_counts BIGINT[], o_slug TEXT, o_name TEXT, o_status TEXT, o_created_at TIMESTAMP, o_updated_at TIMESTAMP,
    o_settings TEXT
) AS $$
BEGIN
    SELECT t.slug, t.name, t.status, t.created_at, t.updated_at, s.document
        INTO o_slug, o_name, o_status, o_created_at, o_updated_at, o_settings
        FROM tenants t LEFT JOIN tenant_settings s ON s.tenant_id = t.id
        WHERE t.id = p_tenant;
    o_counts := filingdesk_hit_rates(p_buckets, p_cur, p_prev, p_async_commit);
    RETURN NEXT;
END;
$$ LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan;
