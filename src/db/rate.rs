//! The `rate_windows` table (and `rate_counters`, its predecessor, until a
//! later release drops it).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Array, Nullable, Text, Timestamp};

use super::schema::{rate_counters, rate_windows};
use super::tenants::TenantRow;
use super::DbConnection;
use crate::domain::ids::TenantId;
use crate::domain::rate::Counted;
use crate::domain::settings::TenantSettings;

/// Counts a hit on `bucket` in the window `start`..`end` (SQLite, inside the
/// caller's transaction); returns the previous window's count and the
/// current one's (this hit included).
fn hit(
    conn: &mut DbConnection,
    bucket: &str,
    n: i32,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> QueryResult<(i64, i64)> {
    let kept = rate_windows::table
        .find(bucket)
        .select((rate_windows::window_start, rate_windows::window_end, rate_windows::hits, rate_windows::previous_hits))
        .first::<(NaiveDateTime, NaiveDateTime, i32, i32)>(conn)
        .optional()?
        .map(|(start, end, hits, previous_hits)| Counted { start, end, hits, previous_hits });
    let now = Counted::hits(kept, start, end, n);
    let values = (
        rate_windows::window_start.eq(now.start),
        rate_windows::window_end.eq(now.end),
        rate_windows::hits.eq(now.hits),
        rate_windows::previous_hits.eq(now.previous_hits),
    );
    per_backend!(conn, |c| diesel::insert_into(rate_windows::table)
        .values((rate_windows::bucket.eq(bucket), values))
        .on_conflict(rate_windows::bucket)
        .do_update()
        .set(values)
        .execute(c))?;
    Ok((i64::from(now.previous_hits), i64::from(now.hits)))
}

/// One bucket to count a hit on: its name, the current window's start and
/// the previous window's.
pub struct Hit {
    pub bucket: String,
    pub start: NaiveDateTime,
    pub previous_start: NaiveDateTime,
}

diesel::define_sql_function! {
    /// Migrations `…_prepared_writes`, `…_rate_windows`.
    fn filingdesk_hit_rates(
        buckets: Array<Text>,
        cur: Array<Timestamp>,
        prev: Array<Timestamp>,
        async_commit: diesel::sql_types::Bool,
    ) -> Array<diesel::sql_types::BigInt>;
}

/// Counts a hit on every bucket; returns each one's previous and current
/// count, in the order given. On PostgreSQL this is one prepared call of
/// `filingdesk_hit_rates` (one round trip, atomic without a transaction, the
/// buckets locked in name order so that concurrent requests sharing buckets
/// never deadlock; outside a transaction it commits without waiting for the
/// WAL flush, see the migration `…_prepared_writes`); SQLite counts them one
/// by one in a write transaction.
pub fn hit_all(conn: &mut DbConnection, hits: &[Hit]) -> QueryResult<Vec<(i64, i64)>> {
    match conn {
        DbConnection::Postgresql(c) => {
            let counts: Vec<i64> = diesel::select(filingdesk_hit_rates(
                hits.iter().map(|h| h.bucket.as_str()).collect::<Vec<_>>(),
                hits.iter().map(|h| h.start).collect::<Vec<_>>(),
                hits.iter().map(|h| h.previous_start).collect::<Vec<_>>(),
                super::outside_transaction(c),
            ))
            .get_result(c)?;
            pairs(&counts, hits.len())
        }
        DbConnection::Sqlite(c) => {
            let count = |conn: &mut DbConnection| -> QueryResult<Vec<(i64, i64)>> {
                hits.iter().map(|h| hit(conn, &h.bucket, 1, h.start, h.start + (h.start - h.previous_start))).collect()
            };
            // Each bucket is read and then written: the write lock is taken
            // first (`BEGIN IMMEDIATE`), or two requests counting at once
            // could both read and the second fail to upgrade (SQLITE_BUSY).
            if super::outside_transaction(c) {
                super::write_transaction(conn, count)
            } else {
                conn.transaction(count)
            }
        }
    }
}

diesel::define_sql_function! {
    /// Migration `…_leased_limits`.
    fn filingdesk_hit_rates_by(
        buckets: Array<Text>,
        hits: Array<diesel::sql_types::Integer>,
        cur: Array<Timestamp>,
        prev: Array<Timestamp>,
        async_commit: diesel::sql_types::Bool,
    ) -> Array<diesel::sql_types::BigInt>;
}

/// [`hit_all`], `n` hits on each bucket (leases, `http::limits::Leases`):
/// one prepared call of `filingdesk_hit_rates_by` on PostgreSQL.
pub fn hit_all_by(conn: &mut DbConnection, hits: &[(Hit, i32)]) -> QueryResult<Counts> {
    match conn {
        DbConnection::Postgresql(c) => {
            let counts: Vec<i64> = diesel::select(filingdesk_hit_rates_by(
                hits.iter().map(|(h, _)| h.bucket.as_str()).collect::<Vec<_>>(),
                hits.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
                hits.iter().map(|(h, _)| h.start).collect::<Vec<_>>(),
                hits.iter().map(|(h, _)| h.previous_start).collect::<Vec<_>>(),
                super::outside_transaction(c),
            ))
            .get_result(c)?;
            pairs(&counts, hits.len())
        }
        DbConnection::Sqlite(_) => super::write_transaction(conn, |conn| {
            hits.iter()
                .map(|(h, n)| hit(conn, &h.bucket, *n, h.start, h.start + (h.start - h.previous_start)))
                .collect()
        }),
    }
}

/// One hit on `h` inside the caller's transaction: the previous window's
/// count and the current one's. SQLite's counting of
/// `db::tickets::submission_context_counting`.
pub fn hit_in_transaction(conn: &mut DbConnection, h: &Hit) -> QueryResult<(i64, i64)> {
    hit(conn, &h.bucket, 1, h.start, h.start + (h.start - h.previous_start))
}

/// `filingdesk_hit_rates_for_tenant`'s answer: the counts, then the
/// tenant's columns (NULL when there is no such tenant).
type ForTenant = diesel::sql_types::Record<(
    Array<diesel::sql_types::BigInt>,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Timestamp>,
    Nullable<Timestamp>,
    Nullable<Text>,
)>;

diesel::define_sql_function! {
    /// Migration `…_rate_windows`.
    fn filingdesk_hit_rates_for_tenant(
        tenant: Text,
        buckets: Array<Text>,
        cur: Array<Timestamp>,
        prev: Array<Timestamp>,
        async_commit: diesel::sql_types::Bool,
    ) -> ForTenant;
}

/// A tenant as a request's limits read it: its row (whatever its status)
/// and its settings.
pub type TenantNow = (TenantRow, TenantSettings);

/// Each bucket's previous and current count, in the order given.
pub type Counts = Vec<(i64, i64)>;

/// [`hit_all`] for a request to the tenant `tenant`, which also reads the
/// tenant as it is now (`None`: no such tenant). On PostgreSQL one prepared
/// call does both (`filingdesk_hit_rates_for_tenant`); SQLite reads, then
/// counts.
pub fn hit_all_for_tenant(
    conn: &mut DbConnection,
    tenant: TenantId,
    hits: &[Hit],
) -> anyhow::Result<(Counts, Option<TenantNow>)> {
    let DbConnection::Postgresql(c) = conn else {
        let now = match super::tenants::find(conn, tenant)? {
            Some(row) => Some((row, super::settings::get(conn, tenant)?)),
            None => None,
        };
        return Ok((hit_all(conn, hits)?, now));
    };
    type Columns = (
        Vec<i64>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        Option<String>,
    );
    let (counts, slug, name, status, created_at, updated_at, document): Columns =
        diesel::select(filingdesk_hit_rates_for_tenant(
            tenant.to_string(),
            hits.iter().map(|h| h.bucket.as_str()).collect::<Vec<_>>(),
            hits.iter().map(|h| h.start).collect::<Vec<_>>(),
            hits.iter().map(|h| h.previous_start).collect::<Vec<_>>(),
            super::outside_transaction(c),
        ))
        .get_result(c)?;
    let now = tenant_now(tenant, (slug, name, status, created_at, updated_at, document))?;
    Ok((pairs(&counts, hits.len())?, now))
}

/// A tenant's columns as a counting call returns them (NULL: no such
/// tenant): `(slug, name, status, created_at, updated_at, settings)`.
pub type TenantColumns =
    (Option<String>, Option<String>, Option<String>, Option<NaiveDateTime>, Option<NaiveDateTime>, Option<String>);

/// The tenant `tenant` as a counting call read it.
pub fn tenant_now(tenant: TenantId, columns: TenantColumns) -> anyhow::Result<Option<TenantNow>> {
    Ok(match columns {
        (Some(slug), Some(name), Some(status), Some(created_at), Some(updated_at), document) => {
            let row = TenantRow { id: tenant.to_string(), slug, name, status, created_at, updated_at };
            Some((row, super::settings::stored(document)?))
        }
        _ => None,
    })
}

/// The previous windows' counts in order, then the current ones', as pairs.
pub(super) fn pairs(counts: &[i64], buckets: usize) -> QueryResult<Vec<(i64, i64)>> {
    let (previous, current) = counts.split_at(counts.len() / 2);
    if previous.len() != buckets {
        return Err(diesel::result::Error::DeserializationError("one count per bucket".into()));
    }
    Ok(previous.iter().copied().zip(current.iter().copied()).collect())
}

/// Forgets buckets whose window ended before `before` (and what is left of
/// `rate_counters`).
pub fn purge_before(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(rate_counters::table.filter(rate_counters::window_start.lt(before))).execute(conn)?;
    diesel::delete(rate_windows::table.filter(rate_windows::window_end.lt(before))).execute(conn)
}
