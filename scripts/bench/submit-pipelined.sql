-- pgbench: scripts/bench/submit.sql in the three flights an asynchronous
-- driver with pipelining could send (the ticket depends on the context's
-- answer, so it cannot join the first): the limits; BEGIN, the settings and
-- the submission's context; the ticket, the audit append and COMMIT. Not sent
-- by the server today; kept to measure that lever (BENCHMARKS, "Ninth
-- part"). Same options as submit.sql.
\set n random(1, 1000000000)
SELECT filingdesk_hit_rates_for_tenant(:tenant::text, ARRAY['a' || ':' || 'ticket_submit' || ':' || '127.0.0.1', 't' || ':' || 'ticket_submit' || ':' || :tenant::text, 'f' || ':' || 'ticket_submit' || ':' || :tenant::text || ':' || :n::text]::text[], ARRAY[date_trunc('minute', now()), date_trunc('minute', now()), date_trunc('hour', now())]::timestamp[], ARRAY[date_trunc('minute', now()) - interval '1 minute', date_trunc('minute', now()) - interval '1 minute', date_trunc('hour', now()) - interval '1 hour']::timestamp[], true);
\set block random(1, 64)
\if :block = 1
SELECT filingdesk_take_ticket_numbers(:tenant::text, 'pgbench', 64, true);
\endif
\startpipeline
BEGIN;
SET LOCAL plan_cache_mode = auto;
SET LOCAL ROLE filingdesk_tenant;
SELECT set_config('filingdesk.tenant_id', :tenant::text, true);
SELECT filingdesk_submission_context(:tenant::text, ('京ICP备' || lpad((:n % 100000000)::text, 8, '0') || '号'), (now() - interval '7 days')::timestamp);
\endpipeline
\startpipeline
INSERT INTO tickets (id, tenant_id, number, kind, status, version, filing_number, filing_id, contact_name, identity_enc, identity_masked, message, verification, mismatch_count, tracking_hash, submitted_by, agency_id, assignee_id, approvals_required, reject_reason, sla_due_at, sla_breached, status_changed_at, resolved_at, created_at, updated_at) VALUES ('ffffffff-0000-7000-8000-' || lpad(to_hex(:n::bigint * 64 + :client_id::int), 12, '0'), :tenant::text, 'PGB-' || :n::bigint || '-' || :client_id::int, 'password_reset', 'pending_review', 1, ('京ICP备' || lpad((:n % 100000000)::text, 8, '0') || '号'), NULL, '张三', 'v1:420a5371:' || 'D/VPwx9PEsORbEO5gNdiTCfB9F8ePkcDLEmWCvtavrOlQnZPs/j9cWJIvtxGIb+8cbEOqAar2r/WY4zn7UvnQkpF4j3ps5FG1q4YJ3+lKhLA8+/SZWaZjUTtHTC80dIqxQzW+qnpUrqo/oikaFeC66bLb3+2gtKohhGzVPqFUv6s9fUvs60/Qj4PqJ9OtAM=', '{"phone":"139****0001","id_number":"110***********002X","email": null,"new_phone": null,"new_email": null}', 'bench', '{"filing_found":"match","contact_name":"match","phone":"mismatch","id_number":"match","email":"absent"}', 1, md5(:n::bigint::text), NULL, NULL, NULL, 1, NULL, now() + interval '48 hours', false, now(), NULL, now(), now());
SELECT audit_append(md5(:n::bigint::text || 'a'), :tenant::text, :tenant::text, now()::timestamp, 'anonymous', NULL, 'ticket.submitted', 'ticket', md5(:n::bigint::text), 'pgbench', '127.0.0.1', 'pgbench', '{"number":"WO-20261125-0001","kind":"password_reset","filing_number":"京ICP备00000001号","verification":{"filing_found":"match"},"mismatch_count":1,"agency_id": null,"notification_ids":["x"]}', md5(:n::bigint::text || 'd'));
COMMIT;
\endpipeline
