//! Forgets Idempotency-Key answers after a day: clients retry within
//! minutes, and the stored answers should not pile up.

use chrono::{Duration, NaiveDateTime};

use crate::db::{self, Db};

/// How long a key's answer is replayed.
pub const KEEP: Duration = Duration::hours(24);

/// How long rate-limit windows are kept (the longest window is an hour,
/// and the previous one still counts).
pub const KEEP_RATE_WINDOWS: Duration = Duration::hours(3);

/// Returns how many keys were forgotten (rate-limit windows are purged too).
pub fn run_once(database: &Db, now: NaiveDateTime) -> anyhow::Result<usize> {
    database.run_blocking(|conn| {
        db::rate::purge_before(conn, now - KEEP_RATE_WINDOWS)?;
        Ok(db::idempotency::purge_before(conn, now - KEEP)?)
    })
}
