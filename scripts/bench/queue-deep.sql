-- pgbench: the same page deep in the queue (keyset cursor).
SELECT filingdesk_enter_tenant(:tenant, :staff, 0, ARRAY['tenant_admin','reviewer']);
SELECT id, number, kind, status, filing_number, verification, mismatch_count, assignee_id, sla_due_at, sla_breached, created_at, updated_at FROM tickets WHERE tenant_id = :tenant AND status = 'pending_review' AND id < :cursor ORDER BY id DESC LIMIT 51;
