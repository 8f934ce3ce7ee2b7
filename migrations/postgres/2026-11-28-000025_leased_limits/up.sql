-- Leased limits (http::limits::Leases, BENCHMARKS "Twelfth part"): an
-- instance counts the busy buckets (an address's, a tenant's) several hits
-- at a time and spends them itself, and a submission counts its filing
-- number's bucket inside its own transaction. Every function of
-- `…_rate_windows` stays: other routes, and instances of the previous
-- release during an upgrade, count with them in the same rows.

-- `filingdesk_hit_rates` with a number of hits per bucket: the same upsert,
-- the same answer (the previous windows' counts, then the current ones',
-- the hits given included), the same plan made once per connection.
CREATE FUNCTION filingdesk_hit_rates_by(
    p_buckets TEXT[], p_hits INTEGER[], p_cur TIMESTAMP[], p_prev TIMESTAMP[], p_async_commit BOOLEAN
) RETURNS BIGINT[] AS $$
DECLARE
    v_counts BIGINT[];
BEGIN
    IF p_async_commit THEN
        PERFORM set_config('synchronous_commit', 'off', true);
    END IF;
    WITH up AS (
        INSERT INTO rate_windows AS w (bucket, window_start, window_end, hits, previous_hits)
            SELECT b, c, c + (c - p), n, 0 FROM unnest(p_buckets, p_hits, p_cur, p_prev) AS i(b, n, c, p) ORDER BY b
            ON CONFLICT (bucket) DO UPDATE SET
                hits = CASE WHEN w.window_start >= EXCLUDED.window_start THEN w.hits + EXCLUDED.hits
                            ELSE EXCLUDED.hits END,
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

-- One bucket's hits inside a tenant's transaction. The tenant's role gets
-- no right on `rate_windows` (its bucket names carry other tenants' ids):
-- this function, running as the tables' owner, only ever adds hits. Its
-- answer: the previous window's count, then the current one's.
CREATE FUNCTION filingdesk_count_hits(p_bucket TEXT, p_hits INTEGER, p_cur TIMESTAMP, p_prev TIMESTAMP)
RETURNS BIGINT[] AS $$
DECLARE
    v_previous BIGINT;
    v_hits BIGINT;
BEGIN
    INSERT INTO rate_windows AS w (bucket, window_start, window_end, hits, previous_hits)
        VALUES (p_bucket, p_cur, p_cur + (p_cur - p_prev), p_hits, 0)
        ON CONFLICT (bucket) DO UPDATE SET
            hits = CASE WHEN w.window_start >= EXCLUDED.window_start THEN w.hits + EXCLUDED.hits
                        ELSE EXCLUDED.hits END,
            previous_hits = CASE WHEN w.window_start >= EXCLUDED.window_start THEN w.previous_hits
                                 WHEN w.window_end = EXCLUDED.window_start THEN w.hits
                                 ELSE 0 END,
            window_start = GREATEST(w.window_start, EXCLUDED.window_start),
            window_end = GREATEST(w.window_end, EXCLUDED.window_end)
        RETURNING w.previous_hits, w.hits INTO v_previous, v_hits;
    RETURN ARRAY[v_previous, v_hits];
END;
$$ LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public SET plan_cache_mode = force_generic_plan;
REVOKE ALL ON FUNCTION filingdesk_count_hits(TEXT, INTEGER, TIMESTAMP, TIMESTAMP) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION filingdesk_count_hits(TEXT, INTEGER, TIMESTAMP, TIMESTAMP) TO filingdesk_tenant;

-- A public submission's first statement, in its transaction under the
-- tenant's row-level security: the tenant as it is now (its columns NULL
-- when there is no such tenant), a hit on the filing number's bucket (only
-- requests for the same filing share that row, so holding it to COMMIT
-- costs nobody else; counted outside, the hit cost a transaction of its
-- own), and `filingdesk_submission_context`'s reads. Each statement reads
-- by an index that leads with the tenant, as that function's do.
CREATE FUNCTION filingdesk_submission_context_counting(
    p_tenant TEXT, p_number TEXT, p_since TIMESTAMP, p_bucket TEXT, p_cur TIMESTAMP, p_prev TIMESTAMP
) RETURNS TABLE (
    o_slug TEXT, o_name TEXT, o_status TEXT, o_created_at TIMESTAMP, o_updated_at TIMESTAMP, o_settings TEXT,
    o_counts BIGINT[],
    o_filing_id TEXT, o_responsible_person TEXT, o_phone_index TEXT, o_id_number_index TEXT, o_email_index TEXT,
    o_recent_mismatches BIGINT, o_webhook_ids TEXT[], o_webhook_events TEXT[]
) AS $$
BEGIN
    SELECT t.slug, t.name, t.status, t.created_at, t.updated_at, s.document
        INTO o_slug, o_name, o_status, o_created_at, o_updated_at, o_settings
        FROM tenants t LEFT JOIN tenant_settings s ON s.tenant_id = t.id
        WHERE t.id = p_tenant;
    o_counts := filingdesk_count_hits(p_bucket, 1, p_cur, p_prev);
    SELECT f.id, f.responsible_person, f.phone_index, f.id_number_index, f.email_index
        INTO o_filing_id, o_responsible_person, o_phone_index, o_id_number_index, o_email_index
        FROM filings f WHERE f.tenant_id = p_tenant AND f.filing_number = p_number;
    SELECT count(*) INTO o_recent_mismatches
        FROM tickets t
        WHERE t.tenant_id = p_tenant AND t.filing_number = p_number AND t.created_at >= p_since
          AND t.mismatch_count > 0;
    SELECT COALESCE(array_agg(w.id ORDER BY w.id), '{}'), COALESCE(array_agg(w.events ORDER BY w.id), '{}')
        INTO o_webhook_ids, o_webhook_events
        FROM webhooks w WHERE w.tenant_id = p_tenant AND w.deleted_at IS NULL AND w.enabled;
    RETURN NEXT;
END;
$$ LANGUAGE plpgsql;
