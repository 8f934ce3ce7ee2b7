DROP INDEX notifications_tenant_filing_idx;
DROP INDEX notifications_tenant_recipient_idx;
ALTER TABLE notifications DROP COLUMN recipient_index;
