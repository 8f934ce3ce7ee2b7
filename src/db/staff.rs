//! The `staff` table. Every lookup names its [`Owner`]: a tenant, or the
//! platform (staff without a tenant), so no query can wander across tenants.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{staff, tenants};
use super::DbConnection;
use crate::domain::ids::{StaffId, TenantId};

/// Whose staff a query is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// Platform staff (no tenant).
    Platform,
    Tenant(TenantId),
}

impl Owner {
    pub fn from_tenant(t: Option<TenantId>) -> Self {
        t.map_or(Owner::Platform, Owner::Tenant)
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = staff, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct StaffRow {
    pub id: String,
    pub tenant_id: Option<String>,
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub role: String,
    pub status: String,
    pub password_hash: String,
    pub must_change_password: bool,
    pub failed_logins: i32,
    pub locked_until: Option<NaiveDateTime>,
    pub agency_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub session_epoch: i32,
}

#[derive(Insertable)]
#[diesel(table_name = staff)]
pub struct NewStaff<'a> {
    pub id: String,
    pub tenant_id: Option<String>,
    pub username: &'a str,
    pub display_name: &'a str,
    pub email: &'a str,
    pub role: &'a str,
    pub status: &'a str,
    pub password_hash: &'a str,
    pub must_change_password: bool,
    pub failed_logins: i32,
    pub agency_id: Option<&'a str>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(AsChangeset, Default)]
#[diesel(table_name = staff)]
pub struct StaffChanges {
    pub role: Option<String>,
    pub status: Option<String>,
    pub password_hash: Option<String>,
    pub must_change_password: Option<bool>,
    pub updated_at: Option<NaiveDateTime>,
}

pub const USERNAME_UNIQUE: &[&str] =
    &["staff_tenant_username_key", "staff_platform_username_key", "staff.tenant_id, staff.username", "staff.username"];

pub fn insert(conn: &mut DbConnection, new: &NewStaff<'_>) -> QueryResult<StaffRow> {
    diesel::insert_into(staff::table).values(new).execute(conn)?;
    staff::table.find(&new.id).select(StaffRow::as_select()).first(conn)
}

pub fn find(conn: &mut DbConnection, owner: Owner, id: StaffId) -> QueryResult<Option<StaffRow>> {
    let q = staff::table.find(id.to_string()).select(StaffRow::as_select()).into_boxed();
    let q = match owner {
        Owner::Platform => q.filter(staff::tenant_id.is_null()),
        Owner::Tenant(t) => q.filter(staff::tenant_id.eq(t.to_string())),
    };
    q.first(conn).optional()
}

pub fn find_by_username(conn: &mut DbConnection, owner: Owner, username: &str) -> QueryResult<Option<StaffRow>> {
    let q = staff::table.filter(staff::username.eq(username)).select(StaffRow::as_select()).into_boxed();
    let q = match owner {
        Owner::Platform => q.filter(staff::tenant_id.is_null()),
        Owner::Tenant(t) => q.filter(staff::tenant_id.eq(t.to_string())),
    };
    q.first(conn).optional()
}

/// Newest first, after the keyset cursor `before_id` when given.
pub fn list(conn: &mut DbConnection, owner: Owner, before_id: Option<&str>, limit: i64) -> QueryResult<Vec<StaffRow>> {
    let mut q = staff::table.select(StaffRow::as_select()).order(staff::id.desc()).limit(limit).into_boxed();
    q = match owner {
        Owner::Platform => q.filter(staff::tenant_id.is_null()),
        Owner::Tenant(t) => q.filter(staff::tenant_id.eq(t.to_string())),
    };
    if let Some(b) = before_id {
        q = q.filter(staff::id.lt(b.to_owned()));
    }
    q.load(conn)
}

pub fn update(conn: &mut DbConnection, owner: Owner, id: StaffId, changes: &StaffChanges) -> QueryResult<usize> {
    match owner {
        Owner::Platform => diesel::update(staff::table.find(id.to_string()).filter(staff::tenant_id.is_null()))
            .set(changes)
            .execute(conn),
        Owner::Tenant(t) => {
            diesel::update(staff::table.find(id.to_string()).filter(staff::tenant_id.eq(t.to_string())))
                .set(changes)
                .execute(conn)
        }
    }
}

/// Counts a failed sign-in against the account named `username` of `owner`,
/// known or not, in one conditional statement: the count never loses a
/// concurrent failure, and at `ceiling` the account locks until
/// `lock_until`, the count restarts and every session ends. Returns the
/// account's id and whether this failure locked it (`None`: no such account).
pub fn record_failure(
    conn: &mut DbConnection,
    owner: Owner,
    username: &str,
    ceiling: i32,
    lock_until: NaiveDateTime,
) -> QueryResult<Option<(String, bool)>> {
    use diesel::dsl::case_when;
    use diesel::sql_types::{Integer, Nullable, Timestamp};
    let reached = staff::failed_logins.ge(ceiling - 1);
    let changes = (
        staff::failed_logins.eq(case_when::<_, _, Integer>(reached, 0).otherwise(staff::failed_logins + 1)),
        staff::locked_until
            .eq(case_when::<_, _, Nullable<Timestamp>>(reached, Some(lock_until)).otherwise(staff::locked_until)),
        staff::session_epoch.eq(case_when(reached, staff::session_epoch + 1).otherwise(staff::session_epoch)),
    );
    let named = staff::table.filter(staff::username.eq(username));
    match owner {
        Owner::Platform => diesel::update(named.filter(staff::tenant_id.is_null())).set(changes).execute(conn)?,
        Owner::Tenant(t) => {
            diesel::update(named.filter(staff::tenant_id.eq(t.to_string()))).set(changes).execute(conn)?
        }
    };
    let after = find_by_username(conn, owner, username)?;
    Ok(after.map(|s| (s.id, s.locked_until == Some(lock_until))))
}

/// Clears failures and any expired lock after a good sign-in (a statement
/// only when there is something to clear).
pub fn record_success(conn: &mut DbConnection, id: &str) -> QueryResult<usize> {
    diesel::update(staff::table.find(id).filter(staff::failed_logins.ne(0).or(staff::locked_until.is_not_null())))
        .set((staff::failed_logins.eq(0), staff::locked_until.eq(None::<NaiveDateTime>)))
        .execute(conn)
}

/// Ends every access token of the staff member: their session epoch moves on.
pub fn end_sessions(conn: &mut DbConnection, id: StaffId) -> QueryResult<usize> {
    diesel::update(staff::table.find(id.to_string()))
        .set(staff::session_epoch.eq(staff::session_epoch + 1))
        .execute(conn)
}

pub fn count_platform_admins(conn: &mut DbConnection) -> QueryResult<i64> {
    staff::table.filter(staff::tenant_id.is_null()).count().get_result(conn)
}

/// What a token's holder may do now: read on every request, so a token
/// only names who is asking (`http::extract`).
#[derive(Debug, Queryable)]
pub struct Standing {
    pub role: String,
    pub tenant_id: Option<String>,
    pub status: String,
    pub tenant_status: Option<String>,
    pub agency_id: Option<String>,
    pub must_change_password: bool,
    pub session_epoch: i32,
}

pub fn standing(conn: &mut DbConnection, id: &str) -> QueryResult<Option<Standing>> {
    staff::table
        .left_join(tenants::table)
        .filter(staff::id.eq(id))
        .select((
            staff::role,
            staff::tenant_id,
            staff::status,
            tenants::status.nullable(),
            staff::agency_id,
            staff::must_change_password,
            staff::session_epoch,
        ))
        .first(conn)
        .optional()
}

/// For the platform admin only, who acts across tenants: a tenant's staff
/// member by id, whatever the tenant. Platform staff are not returned.
pub fn find_tenant_staff_for_platform(conn: &mut DbConnection, id: StaffId) -> QueryResult<Option<StaffRow>> {
    staff::table
        .find(id.to_string())
        .filter(staff::tenant_id.is_not_null())
        .select(StaffRow::as_select())
        .first(conn)
        .optional()
}

/// The e-mail addresses of a tenant's active admins (for SLA alerts).
pub fn active_admin_emails(conn: &mut DbConnection, tenant: TenantId) -> QueryResult<Vec<String>> {
    staff::table
        .filter(staff::tenant_id.eq(tenant.to_string()))
        .filter(staff::role.eq("tenant_admin"))
        .filter(staff::status.eq("active"))
        .select(staff::email)
        .order(staff::id)
        .load(conn)
}
