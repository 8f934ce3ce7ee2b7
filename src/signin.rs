//! Sign-in, for staff and filing subjects alike: the one lockout rule.
//!
//! Failures count twice, each in one atomic statement:
//! - per (principal, client address): at the threshold (a tenant setting
//!   for subjects, `FILINGDESK_LOGIN_MAX_FAILURES` for staff) that address
//!   is locked out, each lock twice as long as the one before. Filing
//!   numbers are public, so a stranger's guesses lock the stranger's
//!   address, not the owner on the owner's own network;
//! - per account or filing, from any address: at [`Lockout::ceiling`] (ten
//!   times the threshold, what no owner produces) the account itself locks
//!   and every token it holds ends.
//!
//! The principal is the normalised filing number or username, whether or
//! not it exists: an unknown one costs the same statements as a real one,
//! so neither the answer nor its timing tells them apart.

use chrono::{Duration, NaiveDateTime};
use serde_json::json;

use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db::{self, staff::Owner, DbConnection};
use crate::domain::ids::TenantId;

/// The longest an address stays locked out, however often it was before.
const LONGEST_ADDRESS_LOCK: Duration = Duration::hours(24);

/// How many failures across addresses the account tolerates, as a multiple
/// of the per-address threshold.
const CEILING_FACTOR: u32 = 10;

/// The lockout rule's numbers.
#[derive(Debug, Clone, Copy)]
pub struct Lockout {
    /// Failures from one address before it is locked out.
    pub threshold: u32,
    /// How long the first lock lasts, and a lock of the whole account.
    pub minutes: u32,
}

impl Lockout {
    /// Failures from all addresses together before the account locks.
    pub fn ceiling(&self) -> i32 {
        (self.threshold * CEILING_FACTOR) as i32
    }
}

/// Who is signing in: a staff account or a filing, named as the caller
/// typed it (normalised), existing or not.
#[derive(Debug, Clone)]
pub enum Principal {
    Staff { owner: Owner, username: String },
    Filing { tenant: TenantId, number: String },
}

impl Principal {
    /// The key of its per-address failures.
    fn key(&self) -> String {
        match self {
            Principal::Staff { owner, username } => db::sign_in_failures::staff_key(*owner, username),
            Principal::Filing { tenant, number } => db::sign_in_failures::filing_key(*tenant, number),
        }
    }

    /// The tenant whose audit chain the attempt goes to.
    pub fn tenant(&self) -> Option<TenantId> {
        match self {
            Principal::Staff { owner: Owner::Platform, .. } => None,
            Principal::Staff { owner: Owner::Tenant(t), .. } | Principal::Filing { tenant: t, .. } => Some(*t),
        }
    }

    /// The audit action prefix and target type.
    fn names(&self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Principal::Staff { .. } => ("auth.login.failed", "auth.account.locked", "auth.address.locked", "staff"),
            Principal::Filing { .. } => {
                ("subject.login.failed", "subject.account.locked", "subject.address.locked", "filing")
            }
        }
    }
}

/// The address failures are counted against (`unknown` when the request
/// had none, which only happens outside a real listener).
fn address_of(meta: &RequestMeta) -> &str {
    meta.ip.as_deref().unwrap_or("unknown")
}

/// Seconds until `principal` may be tried again from this request's
/// address: the later of the address's lock and the account's own
/// (`account_locked_until`, read with the account). `None`: not locked.
pub fn retry_after(
    conn: &mut DbConnection,
    principal: &Principal,
    meta: &RequestMeta,
    account_locked_until: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> diesel::QueryResult<Option<u64>> {
    let address = db::sign_in_failures::locked_until(conn, &principal.key(), address_of(meta))?;
    Ok([address, account_locked_until]
        .into_iter()
        .flatten()
        .filter(|until| *until > now)
        .max()
        .map(|until| (until - now).num_seconds().max(1) as u64))
}

/// Records a wrong password (or an unknown principal) in the caller's
/// transaction: both counters, the audit event, and the locks it caused.
/// `details` describe the attempt (never the password).
pub fn record_failure(
    conn: &mut DbConnection,
    principal: &Principal,
    lockout: Lockout,
    meta: &RequestMeta,
    details: serde_json::Value,
    now: NaiveDateTime,
) -> anyhow::Result<()> {
    let lock_until = now + Duration::minutes(i64::from(lockout.minutes));
    let account = match principal {
        Principal::Staff { owner, username } => {
            db::staff::record_failure(conn, *owner, username, lockout.ceiling(), lock_until)?
        }
        Principal::Filing { tenant, number } => {
            db::filings::record_failure(conn, *tenant, number, lockout.ceiling(), lock_until)?
        }
    };
    let address_locked = db::sign_in_failures::record(
        conn,
        &principal.key(),
        address_of(meta),
        lockout.threshold as i32,
        Duration::minutes(i64::from(lockout.minutes)),
        LONGEST_ADDRESS_LOCK,
        now,
    )?;
    let (failed, locked, address_lock, target_type) = principal.names();
    let tenant = principal.tenant();
    let target = |e: Event| match &account {
        Some((id, _)) => e.target(target_type, id),
        None => e,
    };
    audit::record(conn, meta, target(Event::new(failed, Actor::Anonymous).tenant(tenant).details(details)))?;
    if let Some(until) = address_locked {
        let e = Event::new(address_lock, Actor::System("lockout"))
            .tenant(tenant)
            .details(json!({"failures": lockout.threshold, "until": until.and_utc()}));
        audit::record(conn, meta, target(e))?;
    }
    if let Some((_, true)) = &account {
        let e = Event::new(locked, Actor::System("lockout"))
            .tenant(tenant)
            .details(json!({"failures": lockout.ceiling(), "until": lock_until.and_utc(), "sessions_ended": true}));
        audit::record(conn, meta, target(e))?;
    }
    Ok(())
}

/// [`record_failure`] in a transaction of its own, for the sign-in routes.
pub async fn fail(
    db: &db::Db,
    principal: Principal,
    lockout: Lockout,
    meta: RequestMeta,
    details: serde_json::Value,
) -> Result<(), crate::error::ApiError> {
    let now = db::now();
    db.transaction(move |conn| -> Result<_, crate::error::ApiError> {
        Ok(record_failure(conn, &principal, lockout, &meta, details, now)?)
    })
    .await
}

/// After a good sign-in: the address's failures are forgotten, and the
/// account's count restarts.
pub fn record_success(
    conn: &mut DbConnection,
    principal: &Principal,
    meta: &RequestMeta,
    id: &str,
) -> diesel::QueryResult<()> {
    db::sign_in_failures::clear(conn, &principal.key(), address_of(meta))?;
    match principal {
        Principal::Staff { .. } => db::staff::record_success(conn, id)?,
        Principal::Filing { tenant, .. } => db::filings::record_success(conn, *tenant, id)?,
    };
    Ok(())
}
