-- Filing records. ID number, phone and e-mail are personal data: stored
-- encrypted with the data key (*_enc), found through a keyed hash (*_index,
-- the blind index) and shown only masked (*_masked).
CREATE TABLE filings (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL REFERENCES tenants (id),
    filing_number        TEXT NOT NULL,
    province             TEXT NOT NULL,
    subject_name         TEXT NOT NULL,
    subject_type         TEXT NOT NULL CHECK (subject_type IN ('enterprise', 'individual', 'government', 'institution', 'other')),
    responsible_person   TEXT NOT NULL,
    id_number_enc        TEXT NOT NULL,
    id_number_index      TEXT NOT NULL,
    id_number_masked     TEXT NOT NULL,
    phone_enc            TEXT NOT NULL,
    phone_index          TEXT NOT NULL,
    phone_masked         TEXT NOT NULL,
    email_enc            TEXT NOT NULL,
    email_index          TEXT NOT NULL,
    email_masked         TEXT NOT NULL,
    agency_id            TEXT,
    -- The query password: Argon2id; NULL until one is issued.
    password_hash        TEXT,
    must_change_password BOOLEAN NOT NULL,
    -- A generated password that is not used by then opens nothing.
    password_expires_at  TIMESTAMP,
    password_changed_at  TIMESTAMP,
    failed_logins        INTEGER NOT NULL,
    locked_until         TIMESTAMP,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX filings_tenant_number_key ON filings (tenant_id, filing_number);
CREATE INDEX filings_tenant_id_idx ON filings (tenant_id, id);
CREATE INDEX filings_tenant_phone_idx ON filings (tenant_id, phone_index);
CREATE INDEX filings_tenant_id_number_idx ON filings (tenant_id, id_number_index);

-- A domain belongs to one filing of a tenant.
CREATE TABLE filing_domains (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    domain    TEXT NOT NULL,
    filing_id TEXT NOT NULL REFERENCES filings (id),
    PRIMARY KEY (tenant_id, domain)
);
CREATE INDEX filing_domains_filing_idx ON filing_domains (tenant_id, filing_id);
