//! Audit retention: removes each chain's events older than its tenant's
//! `audit_retention_days`, behind a checkpoint so verification still works,
//! and records that it did.

use chrono::{Duration, NaiveDateTime};
use serde_json::json;

use crate::audit::{self, Actor, Event, RequestMeta, PLATFORM_CHAIN};
use crate::db::{self, Db};
use crate::domain::ids::TenantId;
use crate::domain::settings::TenantSettings;

/// What one run removed, per chain that lost events.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub removed: Vec<(String, i64)>,
}

pub fn run_once(database: &Db, now: NaiveDateTime) -> anyhow::Result<Report> {
    let chains = database.run_blocking(|conn| Ok(db::audit::chains(conn)?))?;
    let mut report = Report::default();
    for chain in chains {
        let tenant = if chain == PLATFORM_CHAIN { None } else { TenantId::parse(&chain) };
        let removed = database.run_blocking(|conn| {
            db::write_transaction(conn, |conn| {
                let days = match tenant {
                    Some(t) => db::settings::get(conn, t)?.audit_retention_days,
                    None => TenantSettings::default().audit_retention_days,
                };
                let before = now - Duration::days(i64::from(days));
                let removed = db::audit::remove_before(conn, &chain, before)?;
                if removed > 0 {
                    let e = Event::new("audit.retention.applied", Actor::System("audit_retention"))
                        .tenant(tenant)
                        .details(json!({"removed": removed, "before": before.and_utc(), "retention_days": days}));
                    audit::record(conn, &RequestMeta::default(), e)?;
                }
                Ok::<_, anyhow::Error>(removed)
            })
        })?;
        if removed > 0 {
            report.removed.push((chain, removed));
        }
    }
    Ok(report)
}
