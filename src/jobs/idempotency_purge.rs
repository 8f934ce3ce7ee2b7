//! Forgets Idempotency-Key answers after a day: clients retry within
//! minutes, and the stored answers should not pile up.

use chrono::{Duration, NaiveDateTime};

use crate::db::{self, Db};

/// How long a key's answer is replayed.
pub const KEEP: Duration = Duration::hours(24);

/// Returns how many keys were forgotten.
pub fn run_once(database: &Db, now: NaiveDateTime) -> anyhow::Result<usize> {
    database.run_blocking(|conn| Ok(db::idempotency::purge_before(conn, now - KEEP)?))
}
