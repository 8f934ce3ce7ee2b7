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
/// and one counting statement for all of them.
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
    let given_tenant = keys.tenant;
    // No transaction: on PostgreSQL the counting is one statement.
    let (wait, found) = state
        .db
        .run(move |conn| -> Result<(Option<u64>, Found), ApiError> {
            let (tenant, limits, found) = match (given_tenant, slug) {
                (Some(t), _) => (Some(t), db::settings::get(conn, t)?.rate_limits, None),
                (None, Some(slug)) => match db::settings::for_slug(conn, &slug)? {
                    Some(found) => (Some(found.0), found.2.rate_limits, Some(found)),
                    None => (None, RateLimits::default(), None),
                },
                (None, None) => (None, RateLimits::default(), None),
            };
            let minute = Duration::minutes(1);
            let mut checks = Vec::new();
            for (group, target) in &groups {
                if let Some(a) = &address {
                    checks
                        .push((format!("a:{group}:{a}"), Limit { max: limits.per_address_per_minute, window: minute }));
                }
                if let Some(a) = &actor {
                    checks
                        .push((format!("s:{group}:{a}"), Limit { max: limits.per_address_per_minute, window: minute }));
                }
                if let Some(t) = tenant {
                    checks
                        .push((format!("t:{group}:{t}"), Limit { max: limits.per_tenant_per_minute, window: minute }));
                    if let Some(f) = target {
                        let hour = Duration::hours(1);
                        checks.push((
                            format!("f:{group}:{t}:{f}"),
                            Limit { max: limits.per_filing_per_hour, window: hour },
                        ));
                    }
                }
            }
            let now = db::now();
            let (bounds, hits): (Vec<Limit>, Vec<db::rate::Hit>) = checks
                .into_iter()
                .map(|(bucket, limit)| {
                    let start = window_start(now, limit.window);
                    (limit, db::rate::Hit { bucket, start, previous_start: start - limit.window })
                })
                .unzip();
            let counts = db::rate::hit_all(conn, &hits)?;
            // Refused attempts count too: every hit is kept either way.
            let wait = bounds
                .into_iter()
                .zip(&hits)
                .zip(counts)
                .filter_map(|((limit, hit), (previous, current))| check(limit, previous, current, hit.start, now).err())
                .max();
            Ok((wait, found))
        })
        .await?;
    match wait {
        None => Ok(found),
        Some(secs) => Err(ApiError::RateLimited(secs)),
    }
}
