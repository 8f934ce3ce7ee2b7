-- What a submission reads before it writes, in one round trip instead of
-- three: the filing by number (the columns its verification compares), how
-- many mismatching tickets named that number since `p_since`, and the
-- tenant's enabled webhook subscriptions (ids and their space-separated
-- events; the caller picks the ones subscribed to its event, with the same
-- parser that reads them everywhere else). The same three reads as
-- db::tickets::submission_context does on SQLite, in the caller's transaction and under its
-- row-level security (SECURITY INVOKER); each is served by the index that
-- leads with the tenant (`filings_tenant_number_key`,
-- `tickets_filing_number_idx`, `webhooks_tenant_idx`). The function
-- sets no planner options: it plans as the submission's transaction does
-- (db::write_transaction_keeping_plans_for).
CREATE FUNCTION filingdesk_submission_context(p_tenant TEXT, p_number TEXT, p_since TIMESTAMP)
RETURNS TABLE (
    o_filing_id TEXT, o_responsible_person TEXT, o_phone_index TEXT, o_id_number_index TEXT, o_email_index TEXT,
    o_recent_mismatches BIGINT, o_webhook_ids TEXT[], o_webhook_events TEXT[]
) AS $$
BEGIN
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
