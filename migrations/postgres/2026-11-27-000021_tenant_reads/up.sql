-- Tenant reads without a transaction (`Db::read_for`): their connections
-- are the role `filingdesk_tenant` for their whole session, read-only, and
-- each read begins with this call, which sets the tenant for the session
-- and, for a staff member, confirms their standing (under that tenant's
-- row-level security), in one round trip. One function, so the order is
-- certain: the tenant first, then the standing; when the standing fails,
-- the statement fails and its setting is undone with it.
CREATE FUNCTION filingdesk_enter_tenant(tenant text, staff_id text, epoch integer, roles text[]) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM set_config('filingdesk.tenant_id', tenant, false);
    IF staff_id IS NOT NULL THEN
        PERFORM filingdesk_confirm_staff(staff_id, epoch, roles);
    END IF;
    RETURN true;
END
$$;
GRANT EXECUTE ON FUNCTION filingdesk_enter_tenant(text, text, integer, text[]) TO filingdesk_tenant;
