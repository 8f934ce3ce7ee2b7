-- A staff member's standing (their account and their tenant both active),
-- checked inside the round trip that opens a tenant's read transaction
-- (`Db::run_for_staff`, used by the review queue) instead of by a query of
-- its own: one round trip less on the busiest route (BENCHMARKS.md). The
-- same rule as `db::staff::standing` + `StaffClaims::confirm`, which SQLite
-- and agents (whose agency comes from the row) still use. Runs as the
-- caller, so under row-level security it sees only the current tenant: a
-- staff member of another tenant is not in standing here either.
CREATE FUNCTION filingdesk_confirm_staff(staff_id text) RETURNS void
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM staff JOIN tenants ON tenants.id = staff.tenant_id
        WHERE staff.id = staff_id AND staff.status = 'active' AND tenants.status = 'active'
    ) THEN
        -- The message is matched by `db::DbError::from_batch`.
        RAISE EXCEPTION 'filingdesk: staff not in standing';
    END IF;
END
$$;
GRANT EXECUTE ON FUNCTION filingdesk_confirm_staff(text) TO filingdesk_tenant;
