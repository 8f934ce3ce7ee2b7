-- Models of cheaper submission SQL, for submit-ablation.py only (never
-- migrated): what a change would cost PostgreSQL, measured before the
-- change is built.
--
-- ablation_audit_heads: each chain's head in a row of its own, so that an
-- append is one statement without PL/pgSQL: the head's row updated (its
-- row lock serialises the chain's appends until COMMIT, as the advisory
-- lock does now; the new values are computed from the row as it is once
-- the lock is held) and the event inserted with what it returned.
DROP TABLE IF EXISTS ablation_audit_heads;
CREATE TABLE ablation_audit_heads (
    chain     TEXT PRIMARY KEY,
    seq       BIGINT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
GRANT SELECT, INSERT, UPDATE ON ablation_audit_heads TO filingdesk_tenant;

-- ablation_audit_pending: the audit event inserted unlinked by the
-- request (no lock, no head read, no PL/pgSQL), under the tenant's
-- row-level security; a sequencer (ablation-sequencer.sql, run beside the
-- load) moves the oldest pending events into audit_events in one statement
-- per batch. Only the cost to PostgreSQL is modelled: the model's hashes
-- are not a chain.
DROP TABLE IF EXISTS ablation_audit_pending;
CREATE TABLE ablation_audit_pending (
    id             BIGSERIAL PRIMARY KEY,
    event_id       TEXT NOT NULL,
    chain          TEXT NOT NULL,
    tenant_id      TEXT,
    at             TIMESTAMP NOT NULL,
    actor_type     TEXT NOT NULL,
    actor_id       TEXT,
    action         TEXT NOT NULL,
    target_type    TEXT,
    target_id      TEXT,
    request_id     TEXT,
    ip             TEXT,
    user_agent     TEXT,
    details        TEXT NOT NULL,
    content_digest TEXT NOT NULL
);
ALTER TABLE ablation_audit_pending ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ablation_audit_pending
    USING (tenant_id = current_setting('filingdesk.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('filingdesk.tenant_id', true));
GRANT INSERT ON ablation_audit_pending TO filingdesk_tenant;
GRANT USAGE ON SEQUENCE ablation_audit_pending_id_seq TO filingdesk_tenant;

-- ablation_audit_at_commit: the event handed to a deferred constraint
-- trigger, which appends it (audit_append: the chain's lock, its head, the
-- link) while the transaction commits. The chain's lock is then held from
-- COMMIT's start through the flush only, not also through a round trip to
-- the client and back (the client's thread woken, scheduled, its COMMIT
-- sent) as when the append is a statement of its own. The hand-off row is
-- unlogged (it never outlives its transaction: the trigger deletes it).
DROP TABLE IF EXISTS ablation_audit_at_commit;
-- The event's columns, without its place in the chain, with its digest.
CREATE UNLOGGED TABLE ablation_audit_at_commit (LIKE audit_events);
ALTER TABLE ablation_audit_at_commit DROP COLUMN seq, DROP COLUMN prev_hash, DROP COLUMN hash,
    ADD COLUMN content_digest TEXT NOT NULL, ADD PRIMARY KEY (id);
ALTER TABLE ablation_audit_at_commit ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ablation_audit_at_commit
    USING (tenant_id = current_setting('filingdesk.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('filingdesk.tenant_id', true));
GRANT SELECT, INSERT, DELETE ON ablation_audit_at_commit TO filingdesk_tenant;
CREATE OR REPLACE FUNCTION ablation_audit_at_commit() RETURNS trigger AS $$
BEGIN
    PERFORM audit_append(NEW.id, NEW.chain, NEW.tenant_id, NEW.at, NEW.actor_type, NEW.actor_id, NEW.action,
                         NEW.target_type, NEW.target_id, NEW.request_id, NEW.ip, NEW.user_agent, NEW.details,
                         NEW.content_digest);
    DELETE FROM ablation_audit_at_commit WHERE id = NEW.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE CONSTRAINT TRIGGER ablation_audit_at_commit AFTER INSERT ON ablation_audit_at_commit
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ablation_audit_at_commit();

-- ablation_context_counting_tickets: the submission's context with the
-- filing number's hits counted from its tickets instead of a bucket row:
-- the same index the count of recent mismatches walks (tenant, filing
-- number, created at), read once for both, and a lock on the number's
-- hash held to COMMIT in place of the bucket row's, so that two
-- submissions for one number still count one after the other. It counts
-- tickets, not attempts (a refused attempt leaves nothing to count).
CREATE OR REPLACE FUNCTION ablation_context_counting_tickets(
    p_tenant TEXT, p_number TEXT, p_since TIMESTAMP, p_bucket TEXT, p_cur TIMESTAMP, p_prev TIMESTAMP
) RETURNS TABLE (
    o_slug TEXT, o_name TEXT, o_status TEXT, o_created_at TIMESTAMP, o_updated_at TIMESTAMP, o_settings TEXT,
    o_counts BIGINT[],
    o_filing_id TEXT, o_responsible_person TEXT, o_phone_index TEXT, o_id_number_index TEXT, o_email_index TEXT,
    o_recent_mismatches BIGINT, o_webhook_ids TEXT[], o_webhook_events TEXT[]
) AS $$
DECLARE
    v_previous BIGINT;
    v_current BIGINT;
BEGIN
    SELECT t.slug, t.name, t.status, t.created_at, t.updated_at, s.document
        INTO o_slug, o_name, o_status, o_created_at, o_updated_at, o_settings
        FROM tenants t LEFT JOIN tenant_settings s ON s.tenant_id = t.id
        WHERE t.id = p_tenant;
    PERFORM pg_advisory_xact_lock(hashtextextended(p_bucket, 0));
    SELECT f.id, f.responsible_person, f.phone_index, f.id_number_index, f.email_index
        INTO o_filing_id, o_responsible_person, o_phone_index, o_id_number_index, o_email_index
        FROM filings f WHERE f.tenant_id = p_tenant AND f.filing_number = p_number;
    SELECT count(*) FILTER (WHERE t.mismatch_count > 0),
           count(*) FILTER (WHERE t.created_at >= p_prev AND t.created_at < p_cur),
           count(*) FILTER (WHERE t.created_at >= p_cur)
        INTO o_recent_mismatches, v_previous, v_current
        FROM tickets t
        WHERE t.tenant_id = p_tenant AND t.filing_number = p_number AND t.created_at >= LEAST(p_since, p_prev);
    o_counts := ARRAY[v_previous, v_current + 1];
    SELECT COALESCE(array_agg(w.id ORDER BY w.id), '{}'), COALESCE(array_agg(w.events ORDER BY w.id), '{}')
        INTO o_webhook_ids, o_webhook_events
        FROM webhooks w WHERE w.tenant_id = p_tenant AND w.deleted_at IS NULL AND w.enabled;
    RETURN NEXT;
END;
$$ LANGUAGE plpgsql;
GRANT EXECUTE ON FUNCTION ablation_context_counting_tickets(TEXT, TEXT, TIMESTAMP, TEXT, TIMESTAMP, TIMESTAMP)
    TO filingdesk_tenant;
