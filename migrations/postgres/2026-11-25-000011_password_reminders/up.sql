-- When the subject was last reminded that the query password is getting
-- old: one reminder per password (a change makes it older than the change).
ALTER TABLE filings ADD COLUMN password_reminded_at TIMESTAMP;
