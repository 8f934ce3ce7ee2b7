//! Rate limits of the public and sign-in routes: per client address, per
//! tenant, and per filing number (so that a filing's sign-ins and tickets are
//! limited however many addresses an attacker uses). Every attempt counts,
//! refused ones included. Counters live in the database, so the limits hold
//! across instances on PostgreSQL; limits are tenant settings.

use chrono::Duration;

use super::AppState;
use crate::db;
use crate::db::tenants::TenantRow;
use crate::domain::ids::TenantId;
use crate::domain::rate::{check, fitting, lease_cap, window_start, Limit};
use crate::domain::settings::{RateLimits, TenantSettings};
use crate::error::ApiError;

/// What a request is counted against.
pub struct Keys<'a> {
    /// The route group, e.g. `subject_login`: each group has its own counters.
    pub group: &'static str,
    pub address: Option<&'a str>,
    /// The signed-in staff member or client, counted like an address: a
    /// credential is one actor however many addresses it comes from.
    pub actor: Option<&'a str>,
    /// The tenant by slug (public routes) …
    pub tenant_slug: Option<&'a str>,
    /// … or by id.
    pub tenant: Option<TenantId>,
    /// What an attacker would aim at whatever their address: a filing
    /// number (sign-ins, submissions) or a ticket number (tracking codes).
    pub target: Option<&'a str>,
}

/// A tenant named by slug, as the limits found it: its row (whatever its
/// status) and its settings, so that the route need not read them again.
pub type Found = Option<(TenantId, TenantRow, TenantSettings)>;

/// Counts the request; 429 with the longest wait when any limit is exceeded.
/// Returns the tenant when `keys` named it by slug and it exists.
pub async fn enforce(state: &AppState, keys: Keys<'_>) -> Result<Found, ApiError> {
    enforce_groups(state, keys, &[]).await
}

/// [`enforce`], counting the request in further groups too, each against
/// its own target (the same address and tenant): one lookup of the tenant
/// and one counting statement for all of them — one round trip in all on
/// PostgreSQL once the tenant's id is known.
pub async fn enforce_groups(
    state: &AppState,
    keys: Keys<'_>,
    more: &[(&'static str, &str)],
) -> Result<Found, ApiError> {
    let groups: Vec<(&'static str, Option<String>)> = std::iter::once((keys.group, keys.target.map(str::to_owned)))
        .chain(more.iter().map(|(g, t)| (*g, Some((*t).to_owned()))))
        .collect();
    let address = keys.address.map(str::to_owned);
    let actor = keys.actor.map(str::to_owned);
    let slug = keys.tenant_slug.map(str::to_owned);
    // The tenant's id when the request names it, or when this instance has
    // seen its slug before (neither ever changes): the tenant is then read
    // with the counting, as it is now (its status and settings every time).
    let known = keys.tenant.or_else(|| keys.tenant_slug.and_then(|s| state.tenant_ids.get(s)));
    let tenant_ids = state.tenant_ids.clone();
    // No transaction: on PostgreSQL the counting is one statement.
    let (wait, found) = state
        .db
        .run(move |conn| -> Result<(Option<u64>, Found), ApiError> {
            let now = db::now();
            let buckets = |tenant| buckets(&groups, address.as_deref(), actor.as_deref(), tenant, now);
            let (limits, (scopes, hits), counts, found) = match known {
                Some(t) => {
                    let (scopes, hits) = buckets(Some(t));
                    let (counts, tenant) = db::rate::hit_all_for_tenant(conn, t, &hits)?;
                    let limits = tenant.as_ref().map_or_else(RateLimits::default, |(_, s)| s.rate_limits);
                    // A slug's id never changes, so the row read by id is
                    // the slug's; should that ever not hold, the slug is
                    // read again (this request counted against the id).
                    let found = match (&slug, tenant) {
                        (Some(slug), Some((row, settings))) if row.slug == *slug => Some((t, row, settings)),
                        (Some(slug), _) => {
                            tenant_ids.forget(slug);
                            db::settings::for_slug(conn, slug)?
                        }
                        (None, _) => None,
                    };
                    (limits, (scopes, hits), counts, found)
                }
                None => {
                    let found = match &slug {
                        Some(slug) => db::settings::for_slug(conn, slug)?,
                        None => None,
                    };
                    if let (Some(slug), Some((id, ..))) = (&slug, &found) {
                        tenant_ids.remember(slug, *id);
                    }
                    // An unknown tenant: the default limits, the address's
                    // and actor's buckets only.
                    let limits = found.as_ref().map_or_else(RateLimits::default, |(_, _, s)| s.rate_limits);
                    let (scopes, hits) = buckets(found.as_ref().map(|(id, ..)| *id));
                    let counts = db::rate::hit_all(conn, &hits)?;
                    (limits, (scopes, hits), counts, found)
                }
            };
            // Refused attempts count too: every hit is kept either way.
            let wait = scopes
                .into_iter()
                .zip(&hits)
                .zip(counts)
                .filter_map(|((scope, hit), (previous, current))| {
                    check(scope.limit(&limits), previous, current, hit.start, now).err()
                })
                .max();
            Ok((wait, found))
        })
        .await?;
    match wait {
        None => Ok(found),
        Some(secs) => Err(ApiError::RateLimited(secs)),
    }
}

/// What a bucket is limited by (its window is the limit's).
#[derive(Debug, Clone, Copy)]
enum Scope {
    /// An address or a signed-in actor, per minute.
    Address,
    /// A tenant, per minute.
    Tenant,
    /// One filing (or ticket) number in a tenant, per hour.
    Target,
}

impl Scope {
    fn window(self) -> Duration {
        match self {
            Scope::Address | Scope::Tenant => Duration::minutes(1),
            Scope::Target => Duration::hours(1),
        }
    }

    fn limit(self, limits: &RateLimits) -> Limit {
        let max = match self {
            Scope::Address => limits.per_address_per_minute,
            Scope::Tenant => limits.per_tenant_per_minute,
            Scope::Target => limits.per_filing_per_hour,
        };
        Limit { max, window: self.window() }
    }
}

/// The buckets a request counts in, each group apart, with the windows
/// that `now` falls in, and what limits each.
fn buckets(
    groups: &[(&'static str, Option<String>)],
    address: Option<&str>,
    actor: Option<&str>,
    tenant: Option<TenantId>,
    now: chrono::NaiveDateTime,
) -> (Vec<Scope>, Vec<db::rate::Hit>) {
    let mut named = Vec::new();
    for (group, target) in groups {
        if let Some(a) = address {
            named.push((Scope::Address, format!("a:{group}:{a}")));
        }
        if let Some(a) = actor {
            named.push((Scope::Address, format!("s:{group}:{a}")));
        }
        if let Some(t) = tenant {
            named.push((Scope::Tenant, format!("t:{group}:{t}")));
            if let Some(f) = target {
                named.push((Scope::Target, format!("f:{group}:{t}:{f}")));
            }
        }
    }
    named
        .into_iter()
        .map(|(scope, bucket)| {
            let start = window_start(now, scope.window());
            (scope, db::rate::Hit { bucket, start, previous_start: start - scope.window() })
        })
        .unzip()
}

/// The ids of the tenants this instance has seen by slug. A slug and its
/// tenant's id never change (a tenant is suspended, never renamed or
/// deleted), so remembering them is not remembering standing: the tenant
/// itself is read on every request. Only slugs found are kept, so the map
/// holds at most one entry per tenant.
#[derive(Default)]
pub struct TenantIds(std::sync::RwLock<std::collections::HashMap<String, TenantId>>);

impl TenantIds {
    pub fn get(&self, slug: &str) -> Option<TenantId> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).get(slug).copied()
    }

    fn remember(&self, slug: &str, id: TenantId) {
        self.0.write().unwrap_or_else(|p| p.into_inner()).insert(slug.to_owned(), id);
    }

    pub fn forget(&self, slug: &str) {
        self.0.write().unwrap_or_else(|p| p.into_inner()).remove(slug);
    }
}

/// Hits counted ahead on busy buckets: an instance counts several hits of a
/// bucket in one statement (all counted in the shared row, so every
/// instance sees them) and spends them on its next requests without asking
/// PostgreSQL again. Only hits that fit the limit when counted are granted
/// ([`fitting`]), so instances together never pass a limit; what they hold
/// unspent when a window ends was counted and stays counted (at most a 64th
/// of a limit per instance and bucket, [`lease_cap`]), so a busy bucket may
/// refuse a little early, never late. A lease starts at one hit and doubles
/// while its hits are all granted; limits under 128 are counted a hit at a
/// time, exactly as without leases.
///
/// Used for a public submission's address and tenant buckets, the busy ones
/// (its filing number's bucket is counted in its transaction): the limits
/// are the tenant's as its last submission here read them, so a changed
/// limit holds for leases taken from then on — within the window's minute.
#[derive(Default)]
pub struct Leases {
    held: std::sync::Mutex<std::collections::HashMap<String, Lease>>,
    limits: std::sync::RwLock<std::collections::HashMap<TenantId, RateLimits>>,
}

struct Lease {
    start: chrono::NaiveDateTime,
    left: i32,
    next: i32,
}

/// Entries of past windows go once the map holds this many.
const LEASES_KEPT: usize = 4096;

impl Leases {
    /// The tenant's limits as this instance last read them.
    pub fn limits(&self, tenant: TenantId) -> Option<RateLimits> {
        self.limits.read().unwrap_or_else(|p| p.into_inner()).get(&tenant).copied()
    }

    /// The tenant's limits as just read. When they changed, every lease
    /// held goes (they were granted under the old limits; changes are rare).
    pub fn learn(&self, tenant: TenantId, limits: RateLimits) {
        let known = self.limits(tenant);
        if known != Some(limits) {
            if known.is_some() {
                self.held.lock().unwrap_or_else(|p| p.into_inner()).clear();
            }
            self.limits.write().unwrap_or_else(|p| p.into_inner()).insert(tenant, limits);
        }
    }

    /// Spends a hit held for `bucket` in the window `start`; otherwise how
    /// many to count now.
    fn spend(&self, bucket: &str, start: chrono::NaiveDateTime) -> Result<(), i32> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        match held.get_mut(bucket) {
            Some(l) if l.start == start && l.left > 0 => {
                l.left -= 1;
                Ok(())
            }
            Some(l) => Err(l.next),
            None => Err(1),
        }
    }

    /// Keeps what a count granted beyond this request's hit.
    fn keep(&self, bucket: &str, start: chrono::NaiveDateTime, left: i32, next: i32) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if held.len() >= LEASES_KEPT {
            held.retain(|_, l| l.start >= start);
            // Many addresses within one window: forgetting a lease only
            // forfeits hits already counted, so the map never grows past this.
            if held.len() >= LEASES_KEPT {
                held.clear();
            }
        }
        let l = held.entry(bucket.to_owned()).or_insert(Lease { start, left: 0, next: 1 });
        // Two requests may have counted at once: both grants are kept.
        let left = if l.start == start { l.left + left } else { left };
        *l = Lease { start, left, next };
    }
}

/// Counts a request against its address's and its tenant's buckets from
/// [`Leases`], under `limits` (the tenant's, as last read): PostgreSQL is
/// asked only when a lease is spent. 429 with the longest wait when a
/// limit is exceeded; every attempt counts, refused ones included.
pub async fn enforce_leased(
    state: &AppState,
    group: &'static str,
    address: Option<&str>,
    tenant: TenantId,
    limits: RateLimits,
) -> Result<(), ApiError> {
    let now = db::now();
    let (scopes, hits) = buckets(&[(group, None)], address, None, Some(tenant), now);
    let mut wanted = Vec::new();
    for (scope, hit) in scopes.into_iter().zip(hits) {
        if let Err(n) = state.leases.spend(&hit.bucket, hit.start) {
            wanted.push((scope, (hit, n.min(lease_cap(scope.limit(&limits))))));
        }
    }
    if wanted.is_empty() {
        return Ok(());
    }
    let (scopes, counting): (Vec<Scope>, Vec<(db::rate::Hit, i32)>) = wanted.into_iter().unzip();
    let (counting, counts) = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            let counts = db::rate::hit_all_by(conn, &counting)?;
            Ok((counting, counts))
        })
        .await?;
    let mut wait = None;
    for ((scope, (hit, n)), (previous, current)) in scopes.into_iter().zip(counting).zip(counts) {
        let limit = scope.limit(&limits);
        let granted = fitting(limit, previous, current, n, hit.start, now);
        // A bucket counted a hit at a time (a limit under 128: an address's
        // by default) holds nothing to remember.
        let cap = lease_cap(limit);
        if cap > 1 || n > 1 {
            let next = if granted == n { (n * 2).min(cap) } else { 1 };
            state.leases.keep(&hit.bucket, hit.start, (granted - 1).max(0), next);
        }
        if granted == 0 {
            // Retry-After as for this one hit alone.
            let refused = check(limit, previous, current - i64::from(n) + 1, hit.start, now).err().unwrap_or(1);
            wait = wait.max(Some(refused));
        }
    }
    match wait {
        None => Ok(()),
        Some(secs) => Err(ApiError::RateLimited(secs)),
    }
}

/// A request's bucket for its target (a filing number) in `tenant`, with
/// the window `now` falls in, counted where the caller counts it.
pub fn target_hit(group: &'static str, tenant: TenantId, target: &str, now: chrono::NaiveDateTime) -> db::rate::Hit {
    let (_, mut hits) = buckets(&[(group, Some(target.to_owned()))], None, None, Some(tenant), now);
    hits.pop().expect("a tenant's target has a bucket")
}

/// `Err(seconds to wait)` when a target's counts pass its limit.
pub fn check_target(
    limits: &RateLimits,
    hit: &db::rate::Hit,
    counts: (i64, i64),
    now: chrono::NaiveDateTime,
) -> Result<(), u64> {
    check(Scope::Target.limit(limits), counts.0, counts.1, hit.start, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_are_spent_once_and_the_map_stays_bounded() {
        let leases = Leases::default();
        let start = window_start(db::now(), Duration::minutes(1));
        assert_eq!(leases.spend("a:x:1", start), Err(1), "nothing held yet: count one");
        leases.keep("a:x:1", start, 2, 4);
        assert_eq!(leases.spend("a:x:1", start), Ok(()));
        assert_eq!(leases.spend("a:x:1", start), Ok(()));
        assert_eq!(leases.spend("a:x:1", start), Err(4), "spent: count the next lease");
        // A lease of an earlier window is never spent.
        leases.keep("a:x:2", start - Duration::minutes(1), 5, 8);
        assert_eq!(leases.spend("a:x:2", start), Err(8));
        // Many addresses in one window: the map is emptied, never grown past its bound.
        for n in 0..2 * LEASES_KEPT {
            leases.keep(&format!("a:x:{n}"), start, 1, 2);
        }
        assert!(leases.held.lock().unwrap().len() <= LEASES_KEPT);
        // Changed limits end every lease.
        let tenant = TenantId::parse("00000000-0000-7000-8000-000000000001").unwrap();
        leases.learn(tenant, RateLimits::default());
        leases.keep("t:x:1", start, 3, 4);
        leases.learn(tenant, RateLimits::default());
        assert_eq!(leases.spend("t:x:1", start), Ok(()), "the same limits keep the leases");
        leases.learn(tenant, RateLimits { per_tenant_per_minute: 10, ..RateLimits::default() });
        assert_eq!(leases.spend("t:x:1", start), Err(1), "gone: leasing starts again at one hit");
    }
}
