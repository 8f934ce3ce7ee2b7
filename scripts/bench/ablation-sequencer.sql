-- pgbench, beside the load of submit-ablation.py's "audit pending" model:
-- a sequencer's batch, the oldest pending events moved into audit_events
-- (seq continuing per chain, a hash per event) in one statement.
WITH moved AS (
    DELETE FROM ablation_audit_pending
        WHERE id IN (SELECT id FROM ablation_audit_pending ORDER BY id LIMIT 256 FOR UPDATE SKIP LOCKED)
        RETURNING *
), heads AS (
    SELECT m.chain, (SELECT max(e.seq) FROM audit_events e WHERE e.chain = m.chain) AS seq
        FROM (SELECT DISTINCT chain FROM moved) m
)
INSERT INTO audit_events (id, chain, seq, tenant_id, at, actor_type, actor_id, action, target_type, target_id,
                          request_id, ip, user_agent, details, prev_hash, hash)
SELECT m.event_id, m.chain, COALESCE(h.seq, 0) + row_number() OVER (PARTITION BY m.chain ORDER BY m.id), m.tenant_id,
       m.at, m.actor_type, m.actor_id, m.action, m.target_type, m.target_id, m.request_id, m.ip, m.user_agent,
       m.details, m.content_digest, encode(sha256(convert_to(m.content_digest || ':' || m.id, 'UTF8')), 'hex')
    FROM moved m JOIN heads h ON h.chain = m.chain;
