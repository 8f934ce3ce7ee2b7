//! The `password_recoveries` table: self-service recovery by SMS code.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::password_recoveries;
use super::DbConnection;
use crate::domain::ids::TenantId;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = password_recoveries, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct RecoveryRow {
    pub id: String,
    pub tenant_id: String,
    pub filing_id: Option<String>,
    pub filing_number: String,
    pub phone_index: String,
    pub code_hash: Option<String>,
    pub wrong_codes: i32,
    pub policy_failures: i32,
    pub expires_at: NaiveDateTime,
    pub ended_at: Option<NaiveDateTime>,
    pub ended_by: Option<String>,
    pub created_at: NaiveDateTime,
}

impl RecoveryRow {
    /// Still open at `now`: not ended, not expired, not out of tries.
    pub fn open(&self, now: NaiveDateTime, max_wrong: i32) -> bool {
        self.ended_at.is_none() && self.expires_at > now && self.wrong_codes < max_wrong
    }
}

pub fn insert(conn: &mut DbConnection, row: &RecoveryRow) -> QueryResult<usize> {
    diesel::insert_into(password_recoveries::table).values(row).execute(conn)
}

pub fn find(conn: &mut DbConnection, tenant: TenantId, id: &str) -> QueryResult<Option<RecoveryRow>> {
    password_recoveries::table
        .filter(password_recoveries::tenant_id.eq(tenant.to_string()))
        .filter(password_recoveries::id.eq(id))
        .select(RecoveryRow::as_select())
        .first(conn)
        .optional()
}

/// Gives recovery `id` its code (hash): once its SMS is queued.
pub fn set_code(conn: &mut DbConnection, id: &str, code_hash: &str) -> QueryResult<usize> {
    diesel::update(password_recoveries::table.find(id))
        .set(password_recoveries::code_hash.eq(Some(code_hash)))
        .execute(conn)
}

/// Ends the filing's open recoveries other than `except` (`by`: why).
pub fn end_others(
    conn: &mut DbConnection,
    tenant: TenantId,
    filing: &str,
    except: &str,
    by: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        password_recoveries::table
            .filter(password_recoveries::tenant_id.eq(tenant.to_string()))
            .filter(password_recoveries::filing_id.eq(filing))
            .filter(password_recoveries::id.ne(except))
            .filter(password_recoveries::ended_at.is_null()),
    )
    .set((password_recoveries::ended_at.eq(Some(now)), password_recoveries::ended_by.eq(Some(by))))
    .execute(conn)
}

/// Counts a wrong code; returns the count.
pub fn count_wrong_code(conn: &mut DbConnection, tenant: TenantId, id: &str) -> QueryResult<i32> {
    let target = password_recoveries::table
        .filter(password_recoveries::tenant_id.eq(tenant.to_string()))
        .filter(password_recoveries::id.eq(id));
    diesel::update(target.clone())
        .set(password_recoveries::wrong_codes.eq(password_recoveries::wrong_codes + 1))
        .execute(conn)?;
    target.select(password_recoveries::wrong_codes).first(conn)
}

/// Counts a new password the policy refused; returns the count.
pub fn count_policy_failure(conn: &mut DbConnection, tenant: TenantId, id: &str) -> QueryResult<i32> {
    let target = password_recoveries::table
        .filter(password_recoveries::tenant_id.eq(tenant.to_string()))
        .filter(password_recoveries::id.eq(id));
    diesel::update(target.clone())
        .set(password_recoveries::policy_failures.eq(password_recoveries::policy_failures + 1))
        .execute(conn)?;
    target.select(password_recoveries::policy_failures).first(conn)
}

/// Ends recovery `id` if it is still open (`by`: completed, burned): of two
/// at once, one wins.
pub fn end(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: &str,
    by: &str,
    max_wrong: i32,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(
        password_recoveries::table
            .filter(password_recoveries::tenant_id.eq(tenant.to_string()))
            .filter(password_recoveries::id.eq(id))
            .filter(password_recoveries::ended_at.is_null())
            .filter(password_recoveries::expires_at.gt(now))
            .filter(password_recoveries::wrong_codes.lt(max_wrong)),
    )
    .set((password_recoveries::ended_at.eq(Some(now)), password_recoveries::ended_by.eq(Some(by))))
    .execute(conn)
    .map(|n| n == 1)
}

/// The filing's recoveries still open at `now`.
pub fn open_of_filing(
    conn: &mut DbConnection,
    tenant: TenantId,
    filing: &str,
    max_wrong: i32,
    now: NaiveDateTime,
) -> QueryResult<Vec<RecoveryRow>> {
    password_recoveries::table
        .filter(password_recoveries::tenant_id.eq(tenant.to_string()))
        .filter(password_recoveries::filing_id.eq(filing))
        .filter(password_recoveries::ended_at.is_null())
        .filter(password_recoveries::expires_at.gt(now))
        .filter(password_recoveries::wrong_codes.lt(max_wrong))
        .select(RecoveryRow::as_select())
        .load(conn)
}
