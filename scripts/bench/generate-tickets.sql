-- Generates :tenants tenants and :tickets tickets spread evenly across them
-- (psql variables), for the queue and submission benchmarks. Ids are
-- UUID-shaped, version 7, and ordered like real ones (newer is larger).
-- The identity document is a placeholder: the queue never opens it.
\set ON_ERROR_STOP on
BEGIN;
INSERT INTO tenants (id, slug, name, status, created_at, updated_at)
SELECT '00000000-0000-7000-8000-' || lpad(to_hex(t), 12, '0'), 'tenant-' || lpad(t::text, 3, '0'),
       'Tenant ' || t, 'active', now(), now()
FROM generate_series(1, :tenants) t;

INSERT INTO tickets (id, tenant_id, number, kind, status, version, filing_number, filing_id, contact_name,
                     identity_enc, identity_masked, message, verification, mismatch_count, tracking_hash,
                     submitted_by, agency_id, assignee_id, approvals_required, reject_reason, sla_due_at,
                     sla_breached, status_changed_at, resolved_at, created_at, updated_at)
SELECT '00000000-0000-7000-8001-' || lpad(to_hex(g), 12, '0'),
       '00000000-0000-7000-8000-' || lpad(to_hex(g % :tenants + 1), 12, '0'),
       'WO-20260101-' || g,
       (ARRAY['password_reset', 'initial_password_resend', 'contact_change'])[g % 3 + 1],
       (ARRAY['pending_review', 'pending_review', 'pending_review', 'in_review', 'needs_info', 'resolved',
              'resolved', 'rejected', 'cancelled', 'awaiting_second_approval'])[g % 10 + 1],
       1,
       '京ICP备' || lpad((g % 100000)::text, 8, '0') || '号',
       NULL, '张三', 'v1:placeholder',
       '{"phone":"138****5678","id_number":"110***********002X","email":null,"new_phone":null,"new_email":null}',
       NULL,
       '{"filing_found":"absent","contact_name":"absent","phone":"absent","id_number":"absent","email":"absent"}',
       0, md5(g::text), NULL, NULL, NULL, 1, NULL,
       now() - (:tickets - g) * interval '1 second' + interval '48 hours',
       g % 50 = 0,
       now() - (:tickets - g) * interval '1 second',
       NULL,
       now() - (:tickets - g) * interval '1 second',
       now() - (:tickets - g) * interval '1 second'
FROM generate_series(1, :tickets) g;
COMMIT;
ANALYZE tenants;
ANALYZE tickets;
