-- pgbench: the statements POST /api/v1/public/{tenant}/tickets sends for a
-- filing number not on file (99 of 100 requests of submit.lua), in order,
-- as captured with log_statement = all, once the instance has seen the
-- tenant: the address's and the tenant's rate limits come from the
-- instance's leases (http::limits::Leases), and about once in 32 requests
-- a lease of 64 hits on each is taken in one call; once in 64 requests (a
-- busy tenant's block of ticket numbers, tickets::numbers), a block of the
-- day's ticket numbers; each a prepared statement of its own outside a
-- transaction (calls of functions that commit without waiting for the WAL
-- flush); then the submission's transaction under row-level security,
-- keeping generic plans (BEGIN and the settings in one round trip: the
-- server sends them as one simple query, pgbench as one pipeline): the
-- tenant read, the filing number's rate-limit hit and the submission's
-- context (the filing, the number's recent mismatches and the tenant's
-- webhooks) in one call, ticket, the audit append, COMMIT. (A public
-- submission queues no SMS: it only goes to numbers on file.) Run with -M
-- prepared -D tenant=ID under the writers' session setting
-- (plan_cache_mode = force_custom_plan). Each transaction names a filing
-- number of its own, as the HTTP load does, and each event an id of its own
-- (the md5 of one of a billion numbers, as before, repeats among 20 000
-- transactions about once in five runs, and a repeat stops the run).
\set n random(1, 1000000000)
\set lease random(1, 32)
\if :lease = 1
SELECT filingdesk_hit_rates_by(ARRAY['a' || ':' || 'ticket_submit' || ':' || '127.0.0.1', 't' || ':' || 'ticket_submit' || ':' || :tenant::text]::text[], ARRAY[64, 64]::int[], ARRAY[date_trunc('minute', now()), date_trunc('minute', now())]::timestamp[], ARRAY[date_trunc('minute', now()) - interval '1 minute', date_trunc('minute', now()) - interval '1 minute']::timestamp[], true);
\endif
\set block random(1, 64)
\if :block = 1
SELECT filingdesk_take_ticket_numbers(:tenant::text, 'pgbench', 64, true);
\endif
\startpipeline
BEGIN;
SET LOCAL plan_cache_mode = auto;
SET LOCAL ROLE filingdesk_tenant;
SELECT set_config('filingdesk.tenant_id', :tenant::text, true);
\endpipeline
SELECT filingdesk_submission_context_counting(:tenant::text, ('京ICP备' || lpad((:n % 100000000)::text, 8, '0') || '号'), (now() - interval '7 days')::timestamp, 'f' || ':' || 'ticket_submit' || ':' || :tenant::text || ':' || :n::text, date_trunc('hour', now())::timestamp, (date_trunc('hour', now()) - interval '1 hour')::timestamp);
INSERT INTO tickets (id, tenant_id, number, kind, status, version, filing_number, filing_id, contact_name, identity_enc, identity_masked, message, verification, mismatch_count, tracking_hash, submitted_by, agency_id, assignee_id, approvals_required, reject_reason, sla_due_at, sla_breached, status_changed_at, resolved_at, created_at, updated_at) VALUES ('ffffffff-0000-7000-8000-' || lpad(to_hex(:n::bigint * 64 + :client_id::int), 12, '0'), :tenant::text, 'PGB-' || :n::bigint || '-' || :client_id::int, 'password_reset', 'pending_review', 1, ('京ICP备' || lpad((:n % 100000000)::text, 8, '0') || '号'), NULL, '张三', 'v1:420a5371:' || 'D/VPwx9PEsORbEO5gNdiTCfB9F8ePkcDLEmWCvtavrOlQnZPs/j9cWJIvtxGIb+8cbEOqAar2r/WY4zn7UvnQkpF4j3ps5FG1q4YJ3+lKhLA8+/SZWaZjUTtHTC80dIqxQzW+qnpUrqo/oikaFeC66bLb3+2gtKohhGzVPqFUv6s9fUvs60/Qj4PqJ9OtAM=', '{"phone":"139****0001","id_number":"110***********002X","email": null,"new_phone": null,"new_email": null}', 'bench', '{"filing_found":"match","contact_name":"match","phone":"mismatch","id_number":"match","email":"absent"}', 1, md5(:n::bigint::text), NULL, NULL, NULL, 1, NULL, now() + interval '48 hours', false, now(), NULL, now(), now());
SELECT audit_append(gen_random_uuid()::text, :tenant::text, :tenant::text, now()::timestamp, 'anonymous', NULL, 'ticket.submitted', 'ticket', md5(:n::bigint::text), 'pgbench', '127.0.0.1', 'pgbench', '{"number":"WO-20261125-0001","kind":"password_reset","filing_number":"京ICP备00000001号","verification":{"filing_found":"match"},"mismatch_count":1,"agency_id": null,"notification_ids":["x"]}', md5(:n::bigint::text || 'd'));
COMMIT;
