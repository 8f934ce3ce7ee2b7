-- Send budgets: find a number's (and a filing's) recent and scheduled
-- messages. recipient_index is a keyed hash of the recipient (blind index),
-- so the number itself stays encrypted.
ALTER TABLE notifications ADD COLUMN recipient_index TEXT;
CREATE INDEX notifications_tenant_recipient_idx ON notifications (tenant_id, recipient_index, next_attempt_at);
CREATE INDEX notifications_tenant_filing_idx ON notifications (tenant_id, filing_id, next_attempt_at);
