DROP FUNCTION filingdesk_hit_rates_for_tenant(TEXT, TEXT[], TIMESTAMP[], TIMESTAMP[], BOOLEAN);
ALTER FUNCTION audit_append(TEXT, TEXT, TEXT, TIMESTAMP, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT)
    RESET ALL;
DROP FUNCTION filingdesk_take_ticket_numbers(TEXT, TEXT, INTEGER, BOOLEAN);

CREATE OR REPLACE FUNCTION filingdesk_hit_rates(
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

DROP TABLE rate_windows;
