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

-- Appending in one round trip: take the chain's lock, read its head (each
-- statement of a PL/pgSQL function sees what committed before it, so the
-- head is current once the lock is held), link and insert. The link hash is
-- SHA-256 of "<prev_hash>:<seq>:<content digest>", where the content digest
-- (SHA-256 of the event's own fields) comes from the application; Rust
-- computes the same link in crate::audit::chain, for SQLite and for verify.
CREATE FUNCTION audit_append(
    p_id TEXT, p_chain TEXT, p_tenant_id TEXT, p_at TIMESTAMP, p_actor_type TEXT, p_actor_id TEXT,
    p_action TEXT, p_target_type TEXT, p_target_id TEXT, p_request_id TEXT, p_ip TEXT,
    p_user_agent TEXT, p_details TEXT, p_content_digest TEXT
) RETURNS TABLE (o_seq BIGINT, o_prev_hash TEXT, o_hash TEXT) AS $$
DECLARE
    v_seq BIGINT;
    v_prev TEXT;
BEGIN
    PERFORM pg_advisory_xact_lock(7321, hashtext(p_chain));
    SELECT e.seq, e.hash INTO v_seq, v_prev
        FROM audit_events e WHERE e.chain = p_chain ORDER BY e.seq DESC LIMIT 1;
    IF NOT FOUND THEN
        SELECT c.seq, c.hash INTO v_seq, v_prev FROM audit_checkpoints c WHERE c.chain = p_chain;
        IF NOT FOUND THEN
            v_seq := 0;
            v_prev := repeat('0', 64);
        END IF;
    END IF;
    o_seq := v_seq + 1;
    o_prev_hash := v_prev;
    o_hash := encode(sha256(convert_to(v_prev || ':' || o_seq || ':' || p_content_digest, 'UTF8')), 'hex');
    INSERT INTO audit_events (id, chain, seq, tenant_id, at, actor_type, actor_id, action, target_type,
                              target_id, request_id, ip, user_agent, details, prev_hash, hash)
    VALUES (p_id, p_chain, o_seq, p_tenant_id, p_at, p_actor_type, p_actor_id, p_action, p_target_type,
            p_target_id, p_request_id, p_ip, p_user_agent, p_details, o_prev_hash, o_hash);
    RETURN NEXT;
END;
$$ LANGUAGE plpgsql;

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
