//! The `sign_in_failures` table: failed sign-ins per (principal, client
//! address), for the lockout that a stranger's guesses cannot turn against
//! the owner (`signin`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::sign_in_failures as t;
use super::staff::Owner;
use super::DbConnection;
use crate::domain::ids::TenantId;

/// The principal of a filing's sign-ins: its normalised number in its tenant.
pub fn filing_key(tenant: TenantId, number: &str) -> String {
    format!("filing:{tenant}:{number}")
}

/// The principal of a staff account's sign-ins.
pub fn staff_key(owner: Owner, username: &str) -> String {
    match owner {
        Owner::Platform => format!("staff:platform:{username}"),
        Owner::Tenant(t) => format!("staff:{t}:{username}"),
    }
}

/// Until when `address` may not try `principal` again, if it is locked out.
pub fn locked_until(conn: &mut DbConnection, principal: &str, address: &str) -> QueryResult<Option<NaiveDateTime>> {
    Ok(t::table
        .find((principal, address))
        .select(t::locked_until)
        .first::<Option<NaiveDateTime>>(conn)
        .optional()?
        .flatten())
}

/// Counts one failure of `address` on `principal`. At `threshold` failures
/// the address is locked out for `base` times two to the power of the
/// locks it already had (capped at `cap`), and its count restarts. Returns
/// the lock's end when this failure locked it. Atomic: the upsert holds the
/// row (PostgreSQL) or the write lock (SQLite) until the caller commits.
pub fn record(
    conn: &mut DbConnection,
    principal: &str,
    address: &str,
    threshold: i32,
    base: chrono::Duration,
    cap: chrono::Duration,
    now: NaiveDateTime,
) -> QueryResult<Option<NaiveDateTime>> {
    per_backend!(conn, |c| diesel::insert_into(t::table)
        .values((
            t::principal.eq(principal),
            t::address.eq(address),
            t::failures.eq(1),
            t::locks.eq(0),
            t::updated_at.eq(now),
        ))
        .on_conflict((t::principal, t::address))
        .do_update()
        .set((t::failures.eq(t::failures + 1), t::updated_at.eq(now)))
        .execute(c))?;
    let (failures, locks): (i32, i32) =
        t::table.find((principal, address)).select((t::failures, t::locks)).first(conn)?;
    if failures < threshold {
        return Ok(None);
    }
    let until = now + lock_length(locks, base, cap);
    diesel::update(t::table.find((principal, address)))
        .set((t::failures.eq(0), t::locks.eq(t::locks + 1), t::locked_until.eq(Some(until))))
        .execute(conn)?;
    Ok(Some(until))
}

/// `base`, doubled for every earlier lock, at most `cap`.
pub fn lock_length(earlier_locks: i32, base: chrono::Duration, cap: chrono::Duration) -> chrono::Duration {
    let factor = 1i32 << earlier_locks.clamp(0, 16);
    (base * factor).min(cap)
}

/// Forgets the failures of `address` on `principal` after a good sign-in.
pub fn clear(conn: &mut DbConnection, principal: &str, address: &str) -> QueryResult<usize> {
    diesel::delete(t::table.find((principal, address))).execute(conn)
}

/// Forgets every address's failures on `principal` (a new password).
pub fn clear_principal(conn: &mut DbConnection, principal: &str) -> QueryResult<usize> {
    diesel::delete(t::table.filter(t::principal.eq(principal))).execute(conn)
}

/// Forgets rows untouched since `before` whose lock is over.
pub fn purge_before(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(
        t::table.filter(t::updated_at.lt(before)).filter(t::locked_until.is_null().or(t::locked_until.lt(before))),
    )
    .execute(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_lock_lasts_twice_the_one_before_up_to_the_cap() {
        let (base, cap) = (chrono::Duration::minutes(15), chrono::Duration::hours(24));
        let lengths: Vec<i64> = (0..9).map(|n| lock_length(n, base, cap).num_minutes()).collect();
        assert_eq!(lengths, [15, 30, 60, 120, 240, 480, 960, 1440, 1440]);
        assert_eq!(lock_length(1000, base, cap), cap);
    }
}
