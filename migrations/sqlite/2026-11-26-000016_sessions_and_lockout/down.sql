ALTER TABLE job_runs DROP COLUMN skips;
ALTER TABLE job_runs DROP COLUMN last_skipped_at;
DROP TABLE sign_in_failures;
ALTER TABLE reset_links DROP COLUMN policy_failures;
ALTER TABLE filings DROP COLUMN policy_failures;
ALTER TABLE filings DROP COLUMN session_epoch;
ALTER TABLE staff DROP COLUMN session_epoch;
