-- Work orders (工单). The applicant's identity data (phone, ID number,
-- e-mail, new contacts) is one encrypted JSON document, `identity_masked`
-- its masked form; `verification` holds only match/mismatch/absent per field. `version` is the optimistic lock of every decision.
CREATE TABLE tickets (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants (id),
    number             TEXT NOT NULL,
    kind               TEXT NOT NULL,
    status             TEXT NOT NULL,
    version            INTEGER NOT NULL,
    filing_number      TEXT NOT NULL,
    filing_id          TEXT REFERENCES filings (id),
    contact_name       TEXT NOT NULL,
    identity_enc       TEXT NOT NULL,
    identity_masked    TEXT NOT NULL,
    message            TEXT,
    verification       TEXT NOT NULL,
    mismatch_count     INTEGER NOT NULL,
    tracking_hash      TEXT NOT NULL,
    submitted_by       TEXT,
    agency_id          TEXT,
    assignee_id        TEXT,
    approvals_required INTEGER NOT NULL,
    reject_reason      TEXT,
    sla_due_at         TIMESTAMP NOT NULL,
    sla_breached       BOOLEAN NOT NULL,
    status_changed_at  TIMESTAMP NOT NULL,
    resolved_at        TIMESTAMP,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX tickets_number_key ON tickets (tenant_id, number);
CREATE INDEX tickets_queue_idx ON tickets (tenant_id, id);
CREATE INDEX tickets_status_idx ON tickets (tenant_id, status, id);
CREATE INDEX tickets_assignee_idx ON tickets (tenant_id, assignee_id, id);
CREATE INDEX tickets_agency_idx ON tickets (tenant_id, agency_id, id);
CREATE INDEX tickets_filing_number_idx ON tickets (tenant_id, filing_number, created_at);
-- The SLA and expiry jobs look across tenants for open tickets past a time.
CREATE INDEX tickets_sla_idx ON tickets (status, sla_due_at);

-- Per tenant and day, the last ticket number handed out.
CREATE TABLE ticket_counters (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    day       TEXT NOT NULL,
    last      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, day)
);

CREATE TABLE ticket_comments (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    ticket_id   TEXT NOT NULL REFERENCES tickets (id),
    author_type TEXT NOT NULL,
    author_id   TEXT,
    visibility  TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX ticket_comments_ticket_idx ON ticket_comments (tenant_id, ticket_id, id);

CREATE TABLE ticket_approvals (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    ticket_id   TEXT NOT NULL REFERENCES tickets (id),
    reviewer_id TEXT NOT NULL,
    note        TEXT,
    created_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX ticket_approvals_once_key ON ticket_approvals (tenant_id, ticket_id, reviewer_id);

-- Single-use reset links; only the token's SHA-256 is kept.
CREATE TABLE reset_links (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    filing_id  TEXT NOT NULL REFERENCES filings (id),
    ticket_id  TEXT NOT NULL REFERENCES tickets (id),
    token_hash TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP,
    expired_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX reset_links_token_key ON reset_links (token_hash);
CREATE INDEX reset_links_expiry_idx ON reset_links (expires_at);
