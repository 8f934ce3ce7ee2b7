//! Service-wide key/value metadata (the generated JWT secret).

use diesel::prelude::*;

use super::schema::service_meta;
use super::DbConnection;

/// Returns the stored value for `key`, storing `make()` first when there is
/// none. Safe when several instances start at once: the first insert wins
/// and everyone reads it back.
pub fn get_or_insert(conn: &mut DbConnection, key: &str, make: impl FnOnce() -> String) -> QueryResult<String> {
    if let Some(v) = service_meta::table.find(key).select(service_meta::value).first::<String>(conn).optional()? {
        return Ok(v);
    }
    let row = (service_meta::key.eq(key), service_meta::value.eq(make()), service_meta::created_at.eq(super::now()));
    per_backend!(conn, |c| diesel::insert_into(service_meta::table)
        .values(row)
        .on_conflict(service_meta::key)
        .do_nothing()
        .execute(c))?;
    service_meta::table.find(key).select(service_meta::value).first(conn)
}
