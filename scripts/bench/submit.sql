-- pgbench: the statements POST /api/v1/public/{tenant}/tickets runs, in
-- order (captured with log_statement = all): the tenant with its settings
-- and the rate limits (address, tenant, filing number) as one statement
-- each, outside a transaction; the tenant again and the day's ticket number,
-- each in a statement of its own; then the submission's transaction under
-- row-level security: settings, filing, recent mismatches, ticket, then per
-- applicant channel the settings, the SMS budget lock and times, the outbox
-- row, the audit append and the tenant's webhooks. Run with -M simple
-- -D tenant="'ID'".
\set n random(1, 1000000000)
SELECT tenants.id, (SELECT tenant_settings.document FROM tenant_settings WHERE tenant_settings.tenant_id = tenants.id) FROM tenants WHERE tenants.slug = 'tenant-001' LIMIT 1;
WITH input AS (SELECT * FROM unnest(ARRAY['a:ticket_submit:127.0.0.1', 't:ticket_submit:' || :tenant, 'f:ticket_submit:' || :tenant || ':' || :n]::text[], ARRAY[date_trunc('minute', now()), date_trunc('minute', now()), date_trunc('hour', now())]::timestamp[], ARRAY[date_trunc('minute', now()) - interval '1 minute', date_trunc('minute', now()) - interval '1 minute', date_trunc('hour', now()) - interval '1 hour']::timestamp[]) AS i(bucket, cur, prev)), up AS (INSERT INTO rate_counters (bucket, window_start, hits) SELECT bucket, cur, 1 FROM input ORDER BY bucket ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_counters.hits + 1 RETURNING bucket, hits) SELECT i.bucket, up.hits::int8 AS current, COALESCE(p.hits, 0)::int8 AS previous FROM input i JOIN up ON up.bucket = i.bucket LEFT JOIN rate_counters p ON p.bucket = i.bucket AND p.window_start = i.prev;
SELECT id, slug, name, status, created_at, updated_at FROM tenants WHERE slug = 'tenant-001' LIMIT 1;
INSERT INTO ticket_counters (tenant_id, day, last) VALUES (:tenant, 'pgbench', 1) ON CONFLICT (tenant_id, day) DO UPDATE SET last = ticket_counters.last + 1 RETURNING last;
BEGIN;
SET LOCAL ROLE filingdesk_tenant;
SELECT set_config('filingdesk.tenant_id', :tenant, true);
SELECT document FROM tenant_settings WHERE tenant_id = :tenant LIMIT 1;
SELECT id, tenant_id, filing_number, province, subject_name, subject_type, responsible_person, id_number_enc, id_number_index, id_number_masked, phone_enc, phone_index, phone_masked, email_enc, email_index, email_masked, agency_id, password_hash, must_change_password, password_expires_at, password_changed_at, failed_logins, locked_until, created_at, updated_at, password_reminded_at FROM filings WHERE tenant_id = :tenant AND filing_number = '京ICP备00000001号' LIMIT 1;
SELECT COUNT(*) FROM tickets WHERE tenant_id = :tenant AND filing_number = '京ICP备00000001号' AND created_at >= now() - interval '7 days' AND mismatch_count > 0;
INSERT INTO tickets (id, tenant_id, number, kind, status, version, filing_number, filing_id, contact_name, identity_enc, identity_masked, message, verification, mismatch_count, tracking_hash, submitted_by, agency_id, assignee_id, approvals_required, reject_reason, sla_due_at, sla_breached, status_changed_at, resolved_at, created_at, updated_at) VALUES ('ffffffff-0000-7000-8000-' || lpad(to_hex(:n::bigint), 12, '0') || :client_id::int, :tenant, 'PGB-' || :n::bigint || '-' || :client_id::int, 'password_reset', 'pending_review', 1, '京ICP备00000001号', NULL, '张三', 'v1:420a5371:D/VPwx9PEsORbEO5gNdiTCfB9F8ePkcDLEmWCvtavrOlQnZPs/j9cWJIvtxGIb+8cbEOqAar2r/WY4zn7UvnQkpF4j3ps5FG1q4YJ3+lKhLA8+/SZWaZjUTtHTC80dIqxQzW+qnpUrqo/oikaFeC66bLb3+2gtKohhGzVPqFUv6s9fUvs60/Qj4PqJ9OtAM=', '{"phone":"139****0001","id_number":"110***********002X","email":null,"new_phone":null,"new_email":null}', 'bench', '{"filing_found":"match","contact_name":"match","phone":"mismatch","id_number":"match","email":"absent"}', 1, md5(:n::bigint::text), NULL, NULL, NULL, 1, NULL, now() + interval '48 hours', false, now(), NULL, now(), now());
SELECT document FROM tenant_settings WHERE tenant_id = :tenant LIMIT 1;
SELECT pg_advisory_xact_lock(7500, hashtext(md5(:n::bigint::text)));
SELECT next_attempt_at FROM notifications WHERE tenant_id = :tenant AND next_attempt_at > now() - interval '1 day' AND status != 'dead' AND recipient_index = ANY(ARRAY[md5(:n::bigint::text)]);
INSERT INTO notifications (id, tenant_id, channel, kind, locale, recipient, recipient_masked, params, carries_secret, status, attempts, next_attempt_at, locked_until, last_error, dedupe_key, ticket_id, filing_id, created_at, updated_at, sent_at, recipient_index) VALUES ('fffffffe-0000-7000-8000-' || lpad(to_hex(:n::bigint), 12, '0') || :client_id::int, :tenant, 'log', 'ticket_received', 'zh-CN', 'v1:420a5371:S0Al/wz/FPVUQntBQ0nvVOhG0cwO/DYKmhv86VBiCVY6W3HwNQR+A2WsQUgMTbX1SCSq', '139****0001', 'v1:420a5371:wTCjQzLyuzFRhvdj77cLA/dj6vWHg0homOWtGKfCfkMUBhZ5sQ7bN0Z', false, 'pending', 0, now(), NULL, NULL, NULL, NULL, NULL, now(), now(), NULL, md5(:n::bigint::text));
SELECT o_seq, o_prev_hash, o_hash FROM audit_append(md5(:n::bigint::text || 'a'), :tenant, :tenant, now()::timestamp, 'anonymous', NULL, 'ticket.submitted', 'ticket', md5(:n::bigint::text), 'pgbench', '127.0.0.1', 'pgbench', '{"number":"WO-20261125-0001","kind":"password_reset","filing_number":"京ICP备00000001号","verification":{"filing_found":"match"},"mismatch_count":1,"agency_id":null,"notification_ids":["x"]}', md5(:n::bigint::text || 'd'));
SELECT id, tenant_id, url, events, description, secret_enc, previous_secret_enc, previous_until, enabled, created_at, updated_at, deleted_at FROM webhooks WHERE tenant_id = :tenant AND enabled = true AND deleted_at IS NULL;
COMMIT;
