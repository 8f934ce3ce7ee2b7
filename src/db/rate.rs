//! The `rate_counters` table.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Array, Text, Timestamp};

use super::schema::rate_counters;
use super::DbConnection;

/// Counts a hit on `bucket` in the window starting at `start`; returns the
/// previous window's count and the current one's (this hit included).
pub fn hit(
    conn: &mut DbConnection,
    bucket: &str,
    start: NaiveDateTime,
    previous_start: NaiveDateTime,
) -> QueryResult<(i64, i64)> {
    per_backend!(conn, |c| diesel::insert_into(rate_counters::table)
        .values((rate_counters::bucket.eq(bucket), rate_counters::window_start.eq(start), rate_counters::hits.eq(1)))
        .on_conflict((rate_counters::bucket, rate_counters::window_start))
        .do_update()
        .set(rate_counters::hits.eq(rate_counters::hits + 1))
        .execute(c))?;
    let rows: Vec<(NaiveDateTime, i32)> = rate_counters::table
        .filter(rate_counters::bucket.eq(bucket))
        .filter(rate_counters::window_start.eq_any([start, previous_start]))
        .select((rate_counters::window_start, rate_counters::hits))
        .load(conn)?;
    let count = |at: NaiveDateTime| rows.iter().find(|(s, _)| *s == at).map_or(0, |(_, h)| i64::from(*h));
    Ok((count(previous_start), count(start)))
}

/// One bucket to count a hit on: its name, the current window's start and
/// the previous window's.
pub struct Hit {
    pub bucket: String,
    pub start: NaiveDateTime,
    pub previous_start: NaiveDateTime,
}

diesel::define_sql_function! {
    /// Migration `…_prepared_writes`.
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
/// WAL flush, see the migration); SQLite counts them one by one in a
/// transaction.
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
            // The previous windows' counts in order, then the current ones'.
            let (previous, current) = counts.split_at(counts.len() / 2);
            if previous.len() != hits.len() {
                return Err(diesel::result::Error::DeserializationError("one count per bucket".into()));
            }
            Ok(previous.iter().copied().zip(current.iter().copied()).collect())
        }
        DbConnection::Sqlite(_) => conn.transaction(|conn| {
            hits.iter().map(|h| hit(conn, &h.bucket, h.start, h.previous_start)).collect::<QueryResult<Vec<_>>>()
        }),
    }
}

/// Forgets windows that started before `before`.
pub fn purge_before(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(rate_counters::table.filter(rate_counters::window_start.lt(before))).execute(conn)
}
