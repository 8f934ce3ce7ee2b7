-- Earlier query passwords of a filing (Argon2id), so a change cannot bring
-- back one of the last five.
CREATE TABLE filing_password_history (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    filing_id     TEXT NOT NULL REFERENCES filings (id),
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL
);
CREATE INDEX filing_password_history_filing_idx ON filing_password_history (tenant_id, filing_id, id);
