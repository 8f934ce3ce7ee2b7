//! The `webhooks` (subscriptions) and `webhook_deliveries` (their outbox)
//! tables.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{webhook_deliveries, webhooks};
use super::DbConnection;
use crate::domain::ids::TenantId;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhooks, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct WebhookRow {
    pub id: String,
    pub tenant_id: String,
    pub url: String,
    pub events: String,
    pub description: Option<String>,
    pub secret_enc: String,
    pub previous_secret_enc: Option<String>,
    pub previous_until: Option<NaiveDateTime>,
    pub enabled: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub deleted_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_deliveries, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct DeliveryRow {
    pub id: String,
    pub tenant_id: String,
    pub webhook_id: String,
    pub event_type: String,
    pub payload: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub lease_until: Option<NaiveDateTime>,
    pub response_status: Option<i32>,
    pub response_excerpt: Option<String>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub delivered_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConnection, row: &WebhookRow) -> QueryResult<()> {
    diesel::insert_into(webhooks::table).values(row).execute(conn).map(drop)
}

/// A subscription of `tenant` that is not deleted.
pub fn find(conn: &mut DbConnection, tenant: TenantId, id: &str) -> QueryResult<Option<WebhookRow>> {
    webhooks::table
        .filter(webhooks::tenant_id.eq(tenant.to_string()))
        .filter(webhooks::id.eq(id))
        .filter(webhooks::deleted_at.is_null())
        .select(WebhookRow::as_select())
        .first(conn)
        .optional()
}

/// Newest first, after the keyset cursor `before_id`.
pub fn list(
    conn: &mut DbConnection,
    tenant: TenantId,
    before_id: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<WebhookRow>> {
    let mut q = webhooks::table
        .filter(webhooks::tenant_id.eq(tenant.to_string()))
        .filter(webhooks::deleted_at.is_null())
        .select(WebhookRow::as_select())
        .order(webhooks::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(b) = before_id {
        q = q.filter(webhooks::id.lt(b.to_owned()));
    }
    q.load(conn)
}

/// The tenant's enabled subscriptions as event emission needs them: each
/// one's id and its stored (space-separated) events.
pub fn enabled(conn: &mut DbConnection, tenant: TenantId) -> QueryResult<Vec<(String, String)>> {
    webhooks::table
        .filter(webhooks::tenant_id.eq(tenant.to_string()))
        .filter(webhooks::deleted_at.is_null())
        .filter(webhooks::enabled.eq(true))
        .select((webhooks::id, webhooks::events))
        .load(conn)
}

/// The tenants with an enabled subscription to any event (the hourly
/// checkpoint job's list).
pub fn tenants_with_subscriptions(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    webhooks::table
        .filter(webhooks::deleted_at.is_null())
        .filter(webhooks::enabled.eq(true))
        .select(webhooks::tenant_id)
        .distinct()
        .load(conn)
}

/// Writes a subscription's changed fields back.
pub fn save(conn: &mut DbConnection, row: &WebhookRow) -> QueryResult<usize> {
    diesel::update(webhooks::table.filter(webhooks::tenant_id.eq(&row.tenant_id)).filter(webhooks::id.eq(&row.id)))
        .set((
            webhooks::url.eq(&row.url),
            webhooks::events.eq(&row.events),
            webhooks::description.eq(&row.description),
            webhooks::secret_enc.eq(&row.secret_enc),
            webhooks::previous_secret_enc.eq(&row.previous_secret_enc),
            webhooks::previous_until.eq(row.previous_until),
            webhooks::enabled.eq(row.enabled),
            webhooks::updated_at.eq(row.updated_at),
            webhooks::deleted_at.eq(row.deleted_at),
        ))
        .execute(conn)
}

pub fn insert_delivery(conn: &mut DbConnection, row: &DeliveryRow) -> QueryResult<()> {
    diesel::insert_into(webhook_deliveries::table).values(row).execute(conn).map(drop)
}

/// A subscription's deliveries, newest first.
pub fn deliveries(
    conn: &mut DbConnection,
    tenant: TenantId,
    webhook: &str,
    before_id: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<DeliveryRow>> {
    let mut q = webhook_deliveries::table
        .filter(webhook_deliveries::tenant_id.eq(tenant.to_string()))
        .filter(webhook_deliveries::webhook_id.eq(webhook))
        .select(DeliveryRow::as_select())
        .order(webhook_deliveries::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(b) = before_id {
        q = q.filter(webhook_deliveries::id.lt(b.to_owned()));
    }
    q.load(conn)
}

pub fn find_delivery(
    conn: &mut DbConnection,
    tenant: TenantId,
    webhook: &str,
    id: &str,
) -> QueryResult<Option<DeliveryRow>> {
    webhook_deliveries::table
        .filter(webhook_deliveries::tenant_id.eq(tenant.to_string()))
        .filter(webhook_deliveries::webhook_id.eq(webhook))
        .filter(webhook_deliveries::id.eq(id))
        .select(DeliveryRow::as_select())
        .first(conn)
        .optional()
}

/// Queues a delivery again now (retry by hand); `false` when it is
/// already queued or does not exist.
pub fn requeue(conn: &mut DbConnection, tenant: TenantId, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::tenant_id.eq(tenant.to_string()))
            .filter(webhook_deliveries::id.eq(id))
            .filter(webhook_deliveries::status.ne("pending")),
    )
    .set((
        webhook_deliveries::status.eq("pending"),
        webhook_deliveries::next_attempt_at.eq(now),
        webhook_deliveries::lease_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// Takes up to `limit` due deliveries for `lease` (across tenants: the
/// delivery job's work), oldest first. A lease keeps another instance off
/// them while they are being sent.
pub fn claim_due(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<DeliveryRow>> {
    let due = |conn: &mut DbConnection| -> QueryResult<Vec<String>> {
        webhook_deliveries::table
            .filter(webhook_deliveries::status.eq_any(["pending", "failed"]))
            .filter(webhook_deliveries::next_attempt_at.le(now))
            .filter(webhook_deliveries::lease_until.is_null().or(webhook_deliveries::lease_until.lt(now)))
            .order(webhook_deliveries::next_attempt_at.asc())
            .limit(limit)
            .select(webhook_deliveries::id)
            .load(conn)
    };
    let ids = due(conn)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Only rows still unleased are ours (another instance may have raced).
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::id.eq_any(&ids))
            .filter(webhook_deliveries::lease_until.is_null().or(webhook_deliveries::lease_until.lt(now))),
    )
    .set(webhook_deliveries::lease_until.eq(lease_until))
    .execute(conn)?;
    webhook_deliveries::table
        .filter(webhook_deliveries::id.eq_any(&ids))
        .filter(webhook_deliveries::lease_until.eq(lease_until))
        .select(DeliveryRow::as_select())
        .load(conn)
}

/// What one attempt came to.
pub struct AttemptRecord<'a> {
    pub status: &'static str,
    pub response_status: Option<i32>,
    pub excerpt: Option<&'a str>,
    pub error: Option<&'a str>,
    pub next_attempt_at: NaiveDateTime,
    pub delivered_at: Option<NaiveDateTime>,
}

/// Records an attempt on a leased delivery; `false` when the lease was lost.
pub fn record_attempt(conn: &mut DbConnection, row: &DeliveryRow, r: &AttemptRecord<'_>) -> QueryResult<bool> {
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::id.eq(&row.id))
            .filter(webhook_deliveries::lease_until.eq(row.lease_until)),
    )
    .set((
        webhook_deliveries::status.eq(r.status),
        webhook_deliveries::attempts.eq(row.attempts + 1),
        webhook_deliveries::next_attempt_at.eq(r.next_attempt_at),
        webhook_deliveries::lease_until.eq(None::<NaiveDateTime>),
        webhook_deliveries::response_status.eq(r.response_status),
        webhook_deliveries::response_excerpt.eq(r.excerpt),
        webhook_deliveries::last_error.eq(r.error),
        webhook_deliveries::delivered_at.eq(r.delivered_at),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// Gives a leased delivery back untried (its endpoint was skipped this
/// run), due at once again.
pub fn release(conn: &mut DbConnection, row: &DeliveryRow) -> QueryResult<()> {
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::id.eq(&row.id))
            .filter(webhook_deliveries::lease_until.eq(row.lease_until)),
    )
    .set(webhook_deliveries::lease_until.eq(None::<NaiveDateTime>))
    .execute(conn)
    .map(drop)
}

/// Forgets delivered and dead deliveries created before `before`.
pub fn purge_finished_before(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(
        webhook_deliveries::table
            .filter(webhook_deliveries::status.eq_any(["delivered", "dead"]))
            .filter(webhook_deliveries::created_at.lt(before)),
    )
    .execute(conn)
}

/// Subscriptions by id, deleted ones included (a delivery whose
/// subscription went is given up).
pub fn by_ids(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<WebhookRow>> {
    webhooks::table.filter(webhooks::id.eq_any(ids)).select(WebhookRow::as_select()).load(conn)
}

/// Subscriptions whose secret is not under the current data key (rotation).
pub fn not_sealed_with(conn: &mut DbConnection, prefix: &str, limit: i64) -> QueryResult<Vec<WebhookRow>> {
    let pattern = format!("{prefix}%");
    webhooks::table
        .filter(
            webhooks::secret_enc
                .not_like(pattern.clone())
                .or(webhooks::previous_secret_enc.is_not_null().and(webhooks::previous_secret_enc.not_like(pattern))),
        )
        .select(WebhookRow::as_select())
        .limit(limit)
        .load(conn)
}
