//! The `rate_counters` table.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text, Timestamp};

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

#[derive(QueryableByName)]
struct Counted {
    #[diesel(sql_type = Text)]
    bucket: String,
    #[diesel(sql_type = BigInt)]
    previous: i64,
    #[diesel(sql_type = BigInt)]
    current: i64,
}

/// Counts a hit on every bucket; returns each one's previous and current
/// count, in the order given. On PostgreSQL this is one statement (one round
/// trip, atomic without a transaction), the buckets locked in name order so
/// that concurrent requests sharing buckets never deadlock; SQLite counts
/// them one by one in a transaction.
pub fn hit_all(conn: &mut DbConnection, hits: &[Hit]) -> QueryResult<Vec<(i64, i64)>> {
    match conn {
        DbConnection::Postgresql(c) => {
            let rows: Vec<Counted> = diesel::sql_query(
                "WITH input AS (SELECT * FROM unnest($1::text[], $2::timestamp[], $3::timestamp[]) AS i(bucket, cur, prev)), \
                 up AS (INSERT INTO rate_counters (bucket, window_start, hits) \
                        SELECT bucket, cur, 1 FROM input ORDER BY bucket \
                        ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_counters.hits + 1 \
                        RETURNING bucket, hits) \
                 SELECT i.bucket, up.hits::int8 AS current, COALESCE(p.hits, 0)::int8 AS previous \
                 FROM input i JOIN up ON up.bucket = i.bucket \
                 LEFT JOIN rate_counters p ON p.bucket = i.bucket AND p.window_start = i.prev",
            )
            .bind::<Array<Text>, _>(hits.iter().map(|h| h.bucket.as_str()).collect::<Vec<_>>())
            .bind::<Array<Timestamp>, _>(hits.iter().map(|h| h.start).collect::<Vec<_>>())
            .bind::<Array<Timestamp>, _>(hits.iter().map(|h| h.previous_start).collect::<Vec<_>>())
            .load(c)?;
            Ok(hits
                .iter()
                .map(|h| rows.iter().find(|r| r.bucket == h.bucket).map_or((0, 1), |r| (r.previous, r.current)))
                .collect())
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
