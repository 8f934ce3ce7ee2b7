-- Sessions end with the events that should end them: every access token
-- carries the epoch of its staff member or filing at issue, and a token
-- whose epoch is no longer the row's opens nothing. The epoch goes up on a
-- password change, a role change, disabling, logout, an approved reset, a
-- completed recovery and a lockout (`domain::session`).
ALTER TABLE staff ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE filings ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;

-- Refused new passwords tried with a generated password or a reset link:
-- each refusal says which rule a candidate broke, so after ten the
-- credential is burned (`http::subject::password`), and a new password
-- starts the count again.
ALTER TABLE filings ADD COLUMN policy_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reset_links ADD COLUMN policy_failures INTEGER NOT NULL DEFAULT 0;

-- Failed sign-ins per (principal, client address): a stranger's guesses lock
-- the stranger's address, not the owner. The principal is a normalised
-- filing number or username inside its tenant (`auth::signin`), known or
-- not, so an unknown filing costs the same work as a real one. Platform
-- table like `rate_counters` (sign-in runs before any tenant is entered);
-- rows untouched for a day are purged with the rate counters.
CREATE TABLE sign_in_failures (
    principal    TEXT NOT NULL,
    address      TEXT NOT NULL,
    failures     INTEGER NOT NULL,
    -- How many times this address was locked out: each lock lasts twice
    -- the one before (progressive delay).
    locks        INTEGER NOT NULL,
    locked_until TIMESTAMP,
    updated_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (principal, address)
);
CREATE INDEX sign_in_failures_updated_idx ON sign_in_failures (updated_at);
-- A new password clears its filing's rows from inside the tenant's
-- transaction (`db::filings::new_session`); the keys name the tenant.
GRANT SELECT, DELETE ON sign_in_failures TO filingdesk_tenant;

-- Standing is read, never remembered: the queue's round trip now also checks
-- the token's session epoch, the role against the roles the route allows,
-- and a pending password change. Same rule as `http::extract::Standing`;
-- change both together. Messages are matched by `db::DbError::from_batch`.
DROP FUNCTION filingdesk_confirm_staff(text);
CREATE FUNCTION filingdesk_confirm_staff(staff_id text, epoch integer, roles text[]) RETURNS void
LANGUAGE plpgsql STABLE AS $$
DECLARE
    s record;
BEGIN
    SELECT staff.role, staff.must_change_password INTO s
    FROM staff JOIN tenants ON tenants.id = staff.tenant_id
    WHERE staff.id = staff_id AND staff.status = 'active' AND tenants.status = 'active'
      AND staff.session_epoch = epoch;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'filingdesk: staff not in standing';
    END IF;
    IF s.must_change_password THEN
        RAISE EXCEPTION 'filingdesk: password change required';
    END IF;
    IF NOT (s.role = ANY (roles)) THEN
        RAISE EXCEPTION 'filingdesk: role not allowed';
    END IF;
END
$$;
GRANT EXECUTE ON FUNCTION filingdesk_confirm_staff(text, integer, text[]) TO filingdesk_tenant;

-- A job skipped on an instance that is not the leader no longer overwrites
-- the leader's record of its last run: skips are counted apart.
ALTER TABLE job_runs ADD COLUMN last_skipped_at TIMESTAMP;
ALTER TABLE job_runs ADD COLUMN skips BIGINT NOT NULL DEFAULT 0;
