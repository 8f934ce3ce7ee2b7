-- Statements diesel sends unprepared (an upsert's DO UPDATE, a query written
-- as text) are parsed, analysed and planned by PostgreSQL on every request.
-- The submission's become functions: the server calls them with a prepared
-- `SELECT f(…)`, parsed once per connection, and PL/pgSQL keeps the inner
-- statements prepared for the session (BENCHMARKS.md, issue 18 sixth part).
--
-- Both update rows every request of a tenant (or of one client address)
-- shares, and a row stays locked until its transaction has committed, which
-- with synchronous commit means until the WAL is flushed: those requests
-- queued one flush each behind the other. Called outside a transaction
-- (`p_async_commit`, decided by the caller, which knows), they commit
-- without waiting for the flush. Nothing acknowledged is lost by it: the WAL
-- is written in order, so the flush of any later durable commit (the ticket
-- numbered, the request's own audit event) flushes the counter with it; a
-- crash can only forget counts and numbers no committed row carries.

-- The tenant's next ticket number of the day (was `db::tickets::next_number`'s
-- upsert). Runs as its caller, outside the submission's transaction.
CREATE FUNCTION filingdesk_next_ticket_number(p_tenant TEXT, p_day TEXT, p_async_commit BOOLEAN)
RETURNS INTEGER AS $$
DECLARE
    v_last INTEGER;
BEGIN
    IF p_async_commit THEN
        PERFORM set_config('synchronous_commit', 'off', true);
    END IF;
    INSERT INTO ticket_counters (tenant_id, day, last) VALUES (p_tenant, p_day, 1)
        ON CONFLICT (tenant_id, day) DO UPDATE SET last = ticket_counters.last + 1
        RETURNING last INTO v_last;
    RETURN v_last;
END;
$$ LANGUAGE plpgsql;

-- A hit on every bucket (was `db::rate::hit_all`'s statement): the buckets
-- counted in name order (concurrent requests sharing buckets never
-- deadlock), atomic as one statement. Returns the previous windows' counts
-- in the order given, then the current ones' (this hit included).
CREATE FUNCTION filingdesk_hit_rates(
    p_buckets TEXT[], p_cur TIMESTAMP[], p_prev TIMESTAMP[], p_async_commit BOOLEAN
) RETURNS BIGINT[] AS $$
DECLARE
    v_counts BIGINT[];
BEGIN
    IF p_async_commit THEN
        PERFORM set_config('synchronous_commit', 'off', true);
    END IF;
    WITH input AS (
        SELECT * FROM unnest(p_buckets, p_cur, p_prev) WITH ORDINALITY AS i(bucket, cur, prev, n)
    ), up AS (
        INSERT INTO rate_counters (bucket, window_start, hits)
            SELECT bucket, cur, 1 FROM input ORDER BY bucket
            ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_counters.hits + 1
            RETURNING bucket, hits
    )
    SELECT array_agg(COALESCE(p.hits, 0)::int8 ORDER BY i.n) || array_agg(up.hits::int8 ORDER BY i.n)
        INTO v_counts
        FROM input i JOIN up ON up.bucket = i.bucket
        LEFT JOIN rate_counters p ON p.bucket = i.bucket AND p.window_start = i.prev;
    RETURN v_counts;
END;
$$ LANGUAGE plpgsql;

-- Retention's purge was this index's only user, and it runs hourly; the
-- rate limits look their previous window up by the primary key, but with
-- statistics taken while the table was small the planner preferred this
-- index and filtered every bucket of the window (measured: 12 893 rows
-- read per bucket, 8.9 ms for the statement). The purge scans.
DROP INDEX rate_counters_window_idx;

