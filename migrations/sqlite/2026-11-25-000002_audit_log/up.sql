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

-- SQLite has no TRUNCATE; UPDATE and DELETE are refused the same way.
CREATE TRIGGER audit_events_no_update
    BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only (UPDATE refused)');
END;

CREATE TRIGGER audit_events_no_delete
    BEFORE DELETE ON audit_events
    WHEN NOT EXISTS (SELECT 1 FROM audit_retention_window)
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only (DELETE refused)');
END;
