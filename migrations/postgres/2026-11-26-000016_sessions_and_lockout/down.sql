ALTER TABLE job_runs DROP COLUMN skips;
ALTER TABLE job_runs DROP COLUMN last_skipped_at;
DROP FUNCTION filingdesk_confirm_staff(text, integer, text[]);
CREATE FUNCTION filingdesk_confirm_staff(staff_id text) RETURNS void
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM staff JOIN tenants ON tenants.id = staff.tenant_id
        WHERE staff.id = staff_id AND staff.status = 'active' AND tenants.status = 'active'
    ) THEN
        RAISE EXCEPTION 'filingdesk: staff not in standing';
    END IF;
END
$$;
GRANT EXECUTE ON FUNCTION filingdesk_confirm_staff(text) TO filingdesk_tenant;
DROP TABLE sign_in_failures;
ALTER TABLE reset_links DROP COLUMN policy_failures;
ALTER TABLE filings DROP COLUMN policy_failures;
ALTER TABLE filings DROP COLUMN session_epoch;
ALTER TABLE staff DROP COLUMN session_epoch;
