-- See the PostgreSQL migration of the same name; the standing function is
-- PostgreSQL only (SQLite reads the standing with a query).
ALTER TABLE staff ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE filings ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;

-- Refused new passwords tried with a generated password or a reset link:
-- each refusal says which rule a candidate broke, so after ten the
-- credential is burned (`http::subject::password`), and a new password
-- starts the count again.
ALTER TABLE filings ADD COLUMN policy_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reset_links ADD COLUMN policy_failures INTEGER NOT NULL DEFAULT 0;

CREATE TABLE sign_in_failures (
    principal    TEXT NOT NULL,
    address      TEXT NOT NULL,
    failures     INTEGER NOT NULL,
    locks        INTEGER NOT NULL,
    locked_until TIMESTAMP,
    updated_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (principal, address)
);
CREATE INDEX sign_in_failures_updated_idx ON sign_in_failures (updated_at);

-- A job skipped on an instance that is not the leader no longer overwrites
-- the leader's record of its last run: skips are counted apart.
ALTER TABLE job_runs ADD COLUMN last_skipped_at TIMESTAMP;
ALTER TABLE job_runs ADD COLUMN skips BIGINT NOT NULL DEFAULT 0;
