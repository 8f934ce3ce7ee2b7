-- Row-level security: the second enforcement of tenancy. Tenant-scoped work
-- runs in a transaction as role `filingdesk_tenant` with the setting
-- `filingdesk.tenant_id` (`Db::run_for` / `Db::transaction_for`); there,
-- every tenant-owned table shows and accepts only that tenant's rows, even
-- to a query that forgot its filter. Platform work (the platform admin's own
-- routes, jobs, commands) runs as the connecting user, the tables' owner.
-- Tables added later must be granted to the role and get their policy.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'filingdesk_tenant') THEN
        CREATE ROLE filingdesk_tenant NOLOGIN;
    END IF;
END
$$;
GRANT filingdesk_tenant TO CURRENT_USER;
GRANT USAGE ON SCHEMA public TO filingdesk_tenant;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO filingdesk_tenant;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO filingdesk_tenant;

ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants
    USING (id = current_setting('filingdesk.tenant_id', true))
    WITH CHECK (id = current_setting('filingdesk.tenant_id', true));

ALTER TABLE agencies ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON agencies
    USING (tenant_id = current_setting('filingdesk.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('filingdesk.tenant_id', true));

ALTER TABLE agency_authorizations ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON agency_authorizations
    USING (tenant_id = current_setting('filingdesk.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('filingdesk.tenant_id', true));

ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_events
    USING (tenant_id = current_setting('filingdesk.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('filingdesk.tenant_id', true));

ALTER TABLE filing_domains ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON filing_domains
    USING (tenant_id = current_setting('filingdesk.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('filingdesk.tenant_id', true));

ALTER TABLE filing_password_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON filing_password_history
    USING (tenant_id = current_setting('filingdesk.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('filingdesk.tenant_id', true));

ALTER TABLE filings ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON filings
    USING (tenant_id = current_setting('filingdesk.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('filingdesk.tenant_id', true));

ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON idempotency_keys
    USING (tenant_id = current_setting('filingdesk.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('filingdesk.tenant_id', true));

ALTER TABLE notification_templates ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON notification_templates
    USING (tenant_id = current_setting('filingdesk.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('filingdesk.tenant_id', true));

ALTER TABLE notifications ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON notifications
    USING (tenant_id = current_setting('filingdesk.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('filingdesk.tenant_id', true));

ALTER TABLE refresh_tokens ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON refresh_tokens
    USING (tenant_id = current_setting('filingdesk.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('filingdesk.tenant_id', true));

ALTER TABLE reset_links ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON reset_links
    USING (tenant_id = current_setting('filingdesk.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('filingdesk.tenant_id', true));

ALTER TABLE staff ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON staff
    USING (tenant_id = current_setting('filingdesk.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('filingdesk.tenant_id', true));

ALTER TABLE tenant_settings ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_settings
    USING (tenant_id = current_setting('filingdesk.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('filingdesk.tenant_id', true));

ALTER TABLE ticket_approvals ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ticket_approvals
    USING (tenant_id = current_setting('filingdesk.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('filingdesk.tenant_id', true));

ALTER TABLE ticket_comments ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ticket_comments
    USING (tenant_id = current_setting('filingdesk.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('filingdesk.tenant_id', true));

ALTER TABLE ticket_counters ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ticket_counters
    USING (tenant_id = current_setting('filingdesk.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('filingdesk.tenant_id', true));

ALTER TABLE tickets ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tickets
    USING (tenant_id = current_setting('filingdesk.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('filingdesk.tenant_id', true));
