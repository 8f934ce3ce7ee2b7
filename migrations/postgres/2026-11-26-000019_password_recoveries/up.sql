-- Self-service recovery by SMS code. One row per request, whether or not
-- the filing exists and the phone matches (`code_hash` is NULL then), so
-- that a recovery id behaves the same either way: wrong codes count, five
-- of them or ten minutes end it.
CREATE TABLE password_recoveries (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    -- Only when the phone matched the filing's.
    filing_id       TEXT REFERENCES filings (id),
    -- The number asked about, and the phone's blind index: rate limits.
    filing_number   TEXT NOT NULL,
    phone_index     TEXT NOT NULL,
    -- Keyed hash of `id:code` (the data key's blind index); NULL: no code.
    code_hash       TEXT,
    wrong_codes     INTEGER NOT NULL DEFAULT 0,
    policy_failures INTEGER NOT NULL DEFAULT 0,
    expires_at      TIMESTAMP NOT NULL,
    -- Completed, withdrawn by a newer request, or burned.
    ended_at        TIMESTAMP,
    ended_by        TEXT,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX password_recoveries_filing_idx ON password_recoveries (tenant_id, filing_id, created_at);
CREATE INDEX password_recoveries_expiry_idx ON password_recoveries (expires_at);

GRANT SELECT, INSERT, UPDATE, DELETE ON password_recoveries TO filingdesk_tenant;
ALTER TABLE password_recoveries ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON password_recoveries
    USING (tenant_id = current_setting('filingdesk.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('filingdesk.tenant_id', true));
