//! The `tenants` table.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::tenants;
use super::DbConnection;
use crate::domain::ids::TenantId;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tenants, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct TenantRow {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = tenants)]
pub struct NewTenant<'a> {
    pub id: String,
    pub slug: &'a str,
    pub name: &'a str,
    pub status: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(AsChangeset, Default)]
#[diesel(table_name = tenants)]
pub struct TenantChanges {
    pub name: Option<String>,
    pub status: Option<String>,
    pub updated_at: Option<NaiveDateTime>,
}

pub const SLUG_UNIQUE: &[&str] = &["tenants_slug_key", "tenants.slug"];

pub fn insert(conn: &mut DbConnection, new: &NewTenant<'_>) -> QueryResult<TenantRow> {
    diesel::insert_into(tenants::table).values(new).execute(conn)?;
    tenants::table.find(&new.id).select(TenantRow::as_select()).first(conn)
}

pub fn find(conn: &mut DbConnection, id: TenantId) -> QueryResult<Option<TenantRow>> {
    tenants::table.find(id.to_string()).select(TenantRow::as_select()).first(conn).optional()
}

pub fn find_by_slug(conn: &mut DbConnection, slug: &str) -> QueryResult<Option<TenantRow>> {
    tenants::table.filter(tenants::slug.eq(slug)).select(TenantRow::as_select()).first(conn).optional()
}

/// Newest first, after the keyset cursor `before_id` when given.
pub fn list(conn: &mut DbConnection, before_id: Option<&str>, limit: i64) -> QueryResult<Vec<TenantRow>> {
    let mut q = tenants::table.select(TenantRow::as_select()).order(tenants::id.desc()).limit(limit).into_boxed();
    if let Some(b) = before_id {
        q = q.filter(tenants::id.lt(b.to_owned()));
    }
    q.load(conn)
}

pub fn update(conn: &mut DbConnection, id: TenantId, changes: &TenantChanges) -> QueryResult<usize> {
    diesel::update(tenants::table.find(id.to_string())).set(changes).execute(conn)
}
