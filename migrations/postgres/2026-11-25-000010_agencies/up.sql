-- Agencies (代理机构) act for filing subjects that authorized them; an
-- agent (staff role `agent`) belongs to one and sees only the filings its
-- agency holds a current authorization for.
CREATE TABLE agencies (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants (id),
    name           TEXT NOT NULL,
    license_number TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX agencies_license_key ON agencies (tenant_id, license_number);
CREATE INDEX agencies_tenant_idx ON agencies (tenant_id, id);

CREATE TABLE agency_authorizations (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    agency_id   TEXT NOT NULL REFERENCES agencies (id),
    filing_id   TEXT NOT NULL REFERENCES filings (id),
    valid_from  TIMESTAMP NOT NULL,
    valid_until TIMESTAMP NOT NULL,
    revoked_at  TIMESTAMP,
    created_by  TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX agency_authorizations_agency_idx ON agency_authorizations (tenant_id, agency_id, filing_id);
CREATE INDEX agency_authorizations_filing_idx ON agency_authorizations (tenant_id, filing_id);
