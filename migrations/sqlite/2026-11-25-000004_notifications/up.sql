-- The notification outbox: written in the transaction of the change that
-- causes it, delivered by the outbox job. recipient and params are
-- encrypted with the data key; params of a notification that carries a
-- secret (a generated password, a reset link) are set to NULL once it is
-- sent or dead.
CREATE TABLE notifications (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    channel          TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'log')),
    kind             TEXT NOT NULL,
    locale           TEXT NOT NULL,
    recipient        TEXT NOT NULL,
    recipient_masked TEXT NOT NULL,
    params           TEXT,
    carries_secret   BOOLEAN NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'dead')),
    attempts         INTEGER NOT NULL,
    next_attempt_at  TIMESTAMP NOT NULL,
    -- A sender holds the row until then; a crashed sender's rows come back.
    locked_until     TIMESTAMP,
    last_error       TEXT,
    dedupe_key       TEXT,
    ticket_id        TEXT,
    filing_id        TEXT,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    sent_at          TIMESTAMP
);
-- The outbox job's scan crosses tenants on purpose: it serves them all.
CREATE INDEX notifications_due_idx ON notifications (next_attempt_at) WHERE status IN ('pending', 'failed');
CREATE INDEX notifications_tenant_idx ON notifications (tenant_id, id);
CREATE INDEX notifications_tenant_ticket_idx ON notifications (tenant_id, ticket_id);
CREATE UNIQUE INDEX notifications_dedupe_key ON notifications (tenant_id, dedupe_key) WHERE dedupe_key IS NOT NULL;
