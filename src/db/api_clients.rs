//! The `api_clients` table: registrar console back ends that call as OAuth
//! 2.0 clients.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{api_clients, tenants};
use super::DbConnection;
use crate::domain::ids::TenantId;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_clients, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct ApiClientRow {
    pub id: String,
    pub tenant_id: String,
    pub client_id: String,
    pub name: String,
    pub scopes: String,
    pub secret_hash: String,
    pub secret_epoch: i32,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub rotated_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConnection, row: &ApiClientRow) -> QueryResult<()> {
    diesel::insert_into(api_clients::table).values(row).execute(conn).map(drop)
}

/// A client of `tenant` that is not revoked.
pub fn find(conn: &mut DbConnection, tenant: TenantId, id: &str) -> QueryResult<Option<ApiClientRow>> {
    api_clients::table
        .filter(api_clients::tenant_id.eq(tenant.to_string()))
        .filter(api_clients::id.eq(id))
        .filter(api_clients::revoked_at.is_null())
        .select(ApiClientRow::as_select())
        .first(conn)
        .optional()
}

/// The token route's lookup, across tenants (the client id is unique): the
/// client, if not revoked and its tenant active.
pub fn find_by_client_id(conn: &mut DbConnection, client_id: &str) -> QueryResult<Option<ApiClientRow>> {
    api_clients::table
        .inner_join(tenants::table)
        .filter(api_clients::client_id.eq(client_id))
        .filter(api_clients::revoked_at.is_null())
        .filter(tenants::status.eq("active"))
        .select(ApiClientRow::as_select())
        .first(conn)
        .optional()
}

/// The scopes of the client of a token while it is in standing, for either
/// connection ([`in_standing`], [`in_standing_pipelined`]).
macro_rules! in_standing_query {
    ($tenant:expr, $id:expr, $epoch:expr) => {
        api_clients::table
            .inner_join(tenants::table)
            .filter(api_clients::tenant_id.eq($tenant.to_string()))
            .filter(api_clients::id.eq($id))
            .filter(api_clients::revoked_at.is_null())
            .filter(api_clients::secret_epoch.eq($epoch))
            .filter(tenants::status.eq("active"))
            .select(api_clients::scopes)
    };
}

/// Whether the client of a token is still in standing: not revoked, the
/// secret not rotated since (`epoch`), its tenant active.
pub fn in_standing(conn: &mut DbConnection, tenant: TenantId, id: &str, epoch: i32) -> QueryResult<Option<String>> {
    in_standing_query!(tenant, id, epoch).first(conn).optional()
}

/// [`in_standing`] on a pipelined connection ([`super::Pipelined`]).
pub async fn in_standing_pipelined(
    mut conn: &diesel_async::AsyncPgConnection,
    tenant: TenantId,
    id: String,
    epoch: i32,
) -> QueryResult<Option<String>> {
    diesel_async::RunQueryDsl::first(in_standing_query!(tenant, id, epoch), &mut conn).await.optional()
}

/// Newest first, revoked ones left out, after the keyset cursor `before_id`.
pub fn list(
    conn: &mut DbConnection,
    tenant: TenantId,
    before_id: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<ApiClientRow>> {
    let mut q = api_clients::table
        .filter(api_clients::tenant_id.eq(tenant.to_string()))
        .filter(api_clients::revoked_at.is_null())
        .select(ApiClientRow::as_select())
        .order(api_clients::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(b) = before_id {
        q = q.filter(api_clients::id.lt(b.to_owned()));
    }
    q.load(conn)
}

/// Revokes a client; `false` when there was none to revoke.
pub fn revoke(conn: &mut DbConnection, tenant: TenantId, id: &str, at: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(
        api_clients::table
            .filter(api_clients::tenant_id.eq(tenant.to_string()))
            .filter(api_clients::id.eq(id))
            .filter(api_clients::revoked_at.is_null()),
    )
    .set(api_clients::revoked_at.eq(at))
    .execute(conn)
    .map(|n| n == 1)
}

/// Replaces the secret and moves the epoch on, so the old secret and every
/// token it got stop at once; `None` when there is no such client.
pub fn rotate(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: &str,
    secret_hash: &str,
    at: NaiveDateTime,
) -> QueryResult<Option<ApiClientRow>> {
    let n = diesel::update(
        api_clients::table
            .filter(api_clients::tenant_id.eq(tenant.to_string()))
            .filter(api_clients::id.eq(id))
            .filter(api_clients::revoked_at.is_null()),
    )
    .set((
        api_clients::secret_hash.eq(secret_hash),
        api_clients::secret_epoch.eq(api_clients::secret_epoch + 1),
        api_clients::rotated_at.eq(at),
    ))
    .execute(conn)?;
    if n == 0 {
        return Ok(None);
    }
    find(conn, tenant, id)
}

/// Notes when a client last got a token.
pub fn touch(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(api_clients::table.find(id)).set(api_clients::last_used_at.eq(at)).execute(conn).map(drop)
}
