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
use crate::domain::rate::{check, window_start, Limit};
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
    fn get(&self, slug: &str) -> Option<TenantId> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).get(slug).copied()
    }

    fn remember(&self, slug: &str, id: TenantId) {
        self.0.write().unwrap_or_else(|p| p.into_inner()).insert(slug.to_owned(), id);
    }

    fn forget(&self, slug: &str) {
        self.0.write().unwrap_or_else(|p| p.into_inner()).remove(slug);
    }
}
