//! The `rate_counters` table.

use chrono::NaiveDateTime;
use diesel::prelude::*;

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

/// Forgets windows that started before `before`.
pub fn purge_before(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(rate_counters::table.filter(rate_counters::window_start.lt(before))).execute(conn)
}
