//! The `idempotency_keys` table.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::idempotency_keys;
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = idempotency_keys, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct IdempotencyRow {
    pub scope: String,
    pub key: String,
    pub tenant_id: Option<String>,
    pub request_hash: String,
    pub status: Option<i32>,
    pub response: Option<String>,
    pub created_at: NaiveDateTime,
}

/// Claims `(scope, key)` for a request. Returns `None` when claimed now, or
/// the row of the earlier request holding it.
pub fn claim(
    conn: &mut DbConnection,
    scope: &str,
    key: &str,
    tenant_id: Option<&str>,
    request_hash: &str,
) -> QueryResult<Option<IdempotencyRow>> {
    let inserted = per_backend!(conn, |c| diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::scope.eq(scope),
            idempotency_keys::key.eq(key),
            idempotency_keys::tenant_id.eq(tenant_id),
            idempotency_keys::request_hash.eq(request_hash),
            idempotency_keys::created_at.eq(super::now()),
        ))
        .on_conflict((idempotency_keys::scope, idempotency_keys::key))
        .do_nothing()
        .execute(c))?;
    if inserted == 1 {
        return Ok(None);
    }
    idempotency_keys::table.find((scope, key)).select(IdempotencyRow::as_select()).first(conn).optional()
}

/// Stores the answer of the request that claimed the key.
pub fn complete(conn: &mut DbConnection, scope: &str, key: &str, status: i32, response: &str) -> QueryResult<usize> {
    diesel::update(idempotency_keys::table.find((scope, key)))
        .set((idempotency_keys::status.eq(Some(status)), idempotency_keys::response.eq(Some(response))))
        .execute(conn)
}

/// Gives the key back (the request failed on our side; a retry may run).
pub fn release(conn: &mut DbConnection, scope: &str, key: &str) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.find((scope, key))).execute(conn)
}

/// Forgets keys older than `before`.
pub fn purge_before(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(before))).execute(conn)
}

/// Up to `limit` stored answers not sealed under `prefix`:
/// `(scope, key, response)` for the data-key rotation.
pub fn not_sealed_with(
    conn: &mut DbConnection,
    prefix: &str,
    limit: i64,
) -> QueryResult<Vec<(String, String, String)>> {
    idempotency_keys::table
        .filter(idempotency_keys::response.is_not_null())
        .filter(idempotency_keys::response.not_like(format!("{prefix}%")))
        .select((idempotency_keys::scope, idempotency_keys::key, idempotency_keys::response.assume_not_null()))
        .order((idempotency_keys::scope, idempotency_keys::key))
        .limit(limit)
        .load(conn)
}

pub fn reseal(conn: &mut DbConnection, scope: &str, key: &str, response: &str) -> QueryResult<usize> {
    diesel::update(idempotency_keys::table.find((scope, key)))
        .set(idempotency_keys::response.eq(Some(response)))
        .execute(conn)
}
