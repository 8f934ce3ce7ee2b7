-- The staff member's standing confirmed inside a read's own statement
-- (`db::StandingCheck::gate`), for a session already in their tenant:
-- `filingdesk_confirm_staff` raises when the standing is refused, so this is
-- true or an error. Plain SQL of one expression, so PostgreSQL inlines it
-- into the statement, where it names no column and becomes a one-time
-- filter, evaluated before the first row is looked for (also when there is
-- none).
CREATE FUNCTION filingdesk_in_standing(staff_id text, epoch integer, roles text[]) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT filingdesk_confirm_staff(staff_id, epoch, roles) IS NOT NULL
$$;
GRANT EXECUTE ON FUNCTION filingdesk_in_standing(text, integer, text[]) TO filingdesk_tenant;
