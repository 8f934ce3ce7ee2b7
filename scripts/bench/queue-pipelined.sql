-- pgbench: scripts/bench/queue.sql with both statements sent in one flight
-- (a pipeline: one Sync, so a refused standing aborts the page too) — what
-- an asynchronous driver with pipelining would send. Not sent by the server
-- today (diesel's synchronous connection waits for each answer); kept to
-- measure that lever (BENCHMARKS, "Ninth part"). Same options as queue.sql.
\startpipeline
SELECT filingdesk_enter_tenant(:tenant, :staff, 0, ARRAY['tenant_admin','reviewer']);
SELECT id, number, kind, status, filing_number, verification, mismatch_count, assignee_id, sla_due_at, sla_breached, created_at, updated_at FROM tickets WHERE tenant_id = :tenant AND status = 'pending_review' ORDER BY id DESC LIMIT 51;
\endpipeline
