-- pgbench, limit-page.sql 9 940 rows deep (the keyset cursor).
SELECT id, number, kind, status, filing_number, verification, mismatch_count, assignee_id, sla_due_at, sla_breached, created_at, updated_at FROM plain_tickets WHERE tenant_id = :tenant AND status = 'pending_review' AND id < :cursor ORDER BY id DESC LIMIT 51;
