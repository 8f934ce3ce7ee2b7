-- pgbench: what GET /api/v1/tickets?status=pending_review&limit=50 runs per
-- request, under row-level security (a transaction as filingdesk_tenant with
-- the tenant set): the staff member's standing, then the page (run with -M prepared
-- -D staff=ID -D tenant=ID, as the server binds its parameters). The server
-- sends BEGIN, the settings and the standing in one round trip; pgbench
-- sends each statement on its own (queue-pipelined.sql does not).
BEGIN READ ONLY;
SELECT set_config('role', 'filingdesk_tenant', true), set_config('filingdesk.tenant_id', :tenant, true);
SELECT filingdesk_confirm_staff(:staff, 0, ARRAY['tenant_admin','reviewer']);
SELECT id, number, kind, status, filing_number, verification, mismatch_count, assignee_id, sla_due_at, sla_breached, created_at, updated_at FROM tickets WHERE tenant_id = :tenant AND status = 'pending_review' ORDER BY id DESC LIMIT 51;
COMMIT;
