-- pgbench: what GET /api/v1/tickets?status=pending_review&limit=50 runs per
-- request on a connection for tenant reads (the role filingdesk_tenant and
-- read-only for its session, as PGOPTIONS sets them here and the server at
-- connect; db::tenancy::read_for_staff): the tenant entered and the staff
-- member's standing confirmed in one call, then the page under row-level
-- security (run with -M prepared -D staff=ID -D tenant=ID, as the server
-- binds its parameters).
SELECT filingdesk_enter_tenant(:tenant, :staff, 0, ARRAY['tenant_admin','reviewer']);
SELECT id, number, kind, status, filing_number, verification, mismatch_count, assignee_id, sla_due_at, sla_breached, created_at, updated_at FROM tickets WHERE tenant_id = :tenant AND status = 'pending_review' ORDER BY id DESC LIMIT 51;
