-- See the PostgreSQL migration of the same name. SQLite cannot change a CHECK
-- constraint in place: the table is rebuilt (same columns, indexes, data).
CREATE TABLE notifications_new (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    channel          TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'log')),
    kind             TEXT NOT NULL,
    locale           TEXT NOT NULL,
    recipient        TEXT NOT NULL,
    recipient_masked TEXT NOT NULL,
    params           TEXT,
    carries_secret   BOOLEAN NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'dead', 'superseded', 'dropped')),
    attempts         INTEGER NOT NULL,
    next_attempt_at  TIMESTAMP NOT NULL,
    locked_until     TIMESTAMP,
    last_error       TEXT,
    dedupe_key       TEXT,
    ticket_id        TEXT,
    filing_id        TEXT,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    sent_at          TIMESTAMP,
    recipient_index  TEXT
);
INSERT INTO notifications_new
    SELECT id, tenant_id, channel, kind, locale, recipient, recipient_masked, params, carries_secret, status,
           attempts, next_attempt_at, locked_until, last_error, dedupe_key, ticket_id, filing_id, created_at,
           updated_at, sent_at, recipient_index
    FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_new RENAME TO notifications;
CREATE INDEX notifications_due_idx ON notifications (next_attempt_at) WHERE status IN ('pending', 'failed');
CREATE INDEX notifications_tenant_idx ON notifications (tenant_id, id);
CREATE INDEX notifications_tenant_ticket_idx ON notifications (tenant_id, ticket_id);
CREATE UNIQUE INDEX notifications_dedupe_key ON notifications (tenant_id, dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX notifications_tenant_recipient_idx ON notifications (tenant_id, recipient_index, next_attempt_at);
CREATE INDEX notifications_tenant_filing_idx ON notifications (tenant_id, filing_id, next_attempt_at);
