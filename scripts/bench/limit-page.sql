-- pgbench, the queue page's physical limit: its SELECT alone on a plain
-- copy of the tickets (12 columns, 51 rows), prepared, no transaction.
SELECT id, number, kind, status, filing_number, verification, mismatch_count, assignee_id, sla_due_at, sla_breached, created_at, updated_at FROM plain_tickets WHERE tenant_id = :tenant AND status = 'pending_review' ORDER BY id DESC LIMIT 51;
