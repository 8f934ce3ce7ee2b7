//! Forgets Idempotency-Key answers after a day: clients retry within
//! minutes, and the stored answers should not pile up.

use chrono::{Duration, NaiveDateTime};

use crate::db::{self, Db};

/// How long a key's answer is replayed.
pub const KEEP: Duration = Duration::hours(24);

/// How long rate-limit windows are kept (the longest window is an hour,
/// and the previous one still counts).
pub const KEEP_RATE_WINDOWS: Duration = Duration::hours(3);

/// How long the failed sign-ins of an address are remembered once its
/// lock, if any, is over.
pub const KEEP_SIGN_IN_FAILURES: Duration = Duration::hours(24);

/// How long finished webhook deliveries stay in the delivery log.
pub const KEEP_WEBHOOK_DELIVERIES: Duration = Duration::days(30);

/// Returns how many keys were forgotten (rate-limit windows, old failed
/// sign-ins and old finished webhook deliveries are purged too).
pub fn run_once(database: &Db, now: NaiveDateTime) -> anyhow::Result<usize> {
    database.run_blocking(|conn| {
        db::rate::purge_before(conn, now - KEEP_RATE_WINDOWS)?;
        db::webhooks::purge_finished_before(conn, now - KEEP_WEBHOOK_DELIVERIES)?;
        db::sign_in_failures::purge_before(conn, now - KEEP_SIGN_IN_FAILURES)?;
        Ok(db::idempotency::purge_before(conn, now - KEEP)?)
    })
}
