-- The audit log: one hash chain per tenant ("chain" is the tenant id, or
-- 'platform' for events of no tenant). Each event's hash covers the previous
-- event's hash, so any edit or deletion shows in a verify walk.
CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY,
    chain       TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    tenant_id   TEXT,
    at          TIMESTAMP NOT NULL,
    actor_type  TEXT NOT NULL,
    actor_id    TEXT,
    action      TEXT NOT NULL,
    target_type TEXT,
    target_id   TEXT,
    request_id  TEXT,
    ip          TEXT,
    user_agent  TEXT,
    details     TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
-- No two events may claim the same place (and so the same predecessor) in a
-- chain, whatever the locking above it does. It also serves every list,
-- export and verify walk, which go by chain and seq.
CREATE UNIQUE INDEX audit_events_chain_seq_key ON audit_events (chain, seq);
CREATE INDEX audit_events_chain_action_idx ON audit_events (chain, action, seq);
CREATE INDEX audit_events_chain_at_idx ON audit_events (chain, at);

-- Where retention cut a chain: the last removed event's seq and hash, from
-- which verification continues.
CREATE TABLE audit_checkpoints (
    chain      TEXT PRIMARY KEY,
    seq        BIGINT NOT NULL,
    hash       TEXT NOT NULL,
    removed    BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Retention inserts a row here inside its own transaction, deletes, and
-- removes the row before committing; no other transaction ever sees it, so
-- the trigger below lets only retention delete.
CREATE TABLE audit_retention_window (
    id        TEXT PRIMARY KEY,
    opened_at TIMESTAMP NOT NULL
);

-- PostgreSQL refuses UPDATE, DELETE and TRUNCATE on the audit log itself.
CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM audit_retention_window) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
