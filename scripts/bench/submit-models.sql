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
