//! The `agencies` and `agency_authorizations` tables.

use chrono::NaiveDateTime;
use diesel::dsl::{exists, select};
use diesel::prelude::*;

use super::schema::{agencies, agency_authorizations};
use super::DbConnection;
use crate::domain::ids::{AgencyId, TenantId};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = agencies, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct AgencyRow {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub license_number: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = agency_authorizations, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct AuthorizationRow {
    pub id: String,
    pub tenant_id: String,
    pub agency_id: String,
    pub filing_id: String,
    pub valid_from: NaiveDateTime,
    pub valid_until: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

pub const LICENSE_UNIQUE: &[&str] = &["agencies_license_key", "agencies.tenant_id, agencies.license_number"];

pub fn insert(conn: &mut DbConnection, row: &AgencyRow) -> QueryResult<()> {
    diesel::insert_into(agencies::table).values(row).execute(conn).map(drop)
}

pub fn find(conn: &mut DbConnection, tenant: TenantId, id: AgencyId) -> QueryResult<Option<AgencyRow>> {
    agencies::table
        .filter(agencies::tenant_id.eq(tenant.to_string()))
        .filter(agencies::id.eq(id.to_string()))
        .select(AgencyRow::as_select())
        .first(conn)
        .optional()
}

/// Newest first, after the keyset cursor `before_id` when given.
pub fn list(
    conn: &mut DbConnection,
    tenant: TenantId,
    before_id: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<AgencyRow>> {
    let mut q = agencies::table
        .filter(agencies::tenant_id.eq(tenant.to_string()))
        .select(AgencyRow::as_select())
        .order(agencies::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(b) = before_id {
        q = q.filter(agencies::id.lt(b.to_owned()));
    }
    q.load(conn)
}

/// The tenant's agency ids (for checking many rows at once, as an import does).
pub fn ids(conn: &mut DbConnection, tenant: TenantId) -> QueryResult<Vec<String>> {
    agencies::table.filter(agencies::tenant_id.eq(tenant.to_string())).select(agencies::id).load(conn)
}

pub fn insert_authorization(conn: &mut DbConnection, row: &AuthorizationRow) -> QueryResult<()> {
    diesel::insert_into(agency_authorizations::table).values(row).execute(conn).map(drop)
}

/// An agency's authorizations, newest first.
pub fn authorizations(
    conn: &mut DbConnection,
    tenant: TenantId,
    agency: AgencyId,
    before_id: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<AuthorizationRow>> {
    let mut q = agency_authorizations::table
        .filter(agency_authorizations::tenant_id.eq(tenant.to_string()))
        .filter(agency_authorizations::agency_id.eq(agency.to_string()))
        .select(AuthorizationRow::as_select())
        .order(agency_authorizations::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(b) = before_id {
        q = q.filter(agency_authorizations::id.lt(b.to_owned()));
    }
    q.load(conn)
}

/// Ends an authorization now; `false` when there was no such live one.
pub fn revoke(
    conn: &mut DbConnection,
    tenant: TenantId,
    agency: AgencyId,
    id: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(
        agency_authorizations::table
            .filter(agency_authorizations::tenant_id.eq(tenant.to_string()))
            .filter(agency_authorizations::agency_id.eq(agency.to_string()))
            .filter(agency_authorizations::id.eq(id))
            .filter(agency_authorizations::revoked_at.is_null()),
    )
    .set(agency_authorizations::revoked_at.eq(now))
    .execute(conn)
    .map(|n| n == 1)
}

/// Whether `agency` holds a live authorization for `filing` at `now`.
pub fn is_authorized(
    conn: &mut DbConnection,
    tenant: TenantId,
    agency: &str,
    filing: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    select(exists(
        agency_authorizations::table
            .filter(agency_authorizations::tenant_id.eq(tenant.to_string()))
            .filter(agency_authorizations::agency_id.eq(agency))
            .filter(agency_authorizations::filing_id.eq(filing))
            .filter(agency_authorizations::revoked_at.is_null())
            .filter(agency_authorizations::valid_from.le(now))
            .filter(agency_authorizations::valid_until.gt(now)),
    ))
    .get_result(conn)
}
