ALTER TABLE filings DROP COLUMN password_reminded_at;
