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
