//! Expiry: tickets left in `needs_info` past the tenant's
//! `needs_info_expiry_hours` become `expired`; reset links past their time
//! are marked expired. Both are audited.

use chrono::{Duration, NaiveDateTime};
use serde_json::json;

use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db::{self, Db};
use crate::domain::ids::TenantId;
use crate::domain::ticket::{Action, Actor as TicketActor, TicketStatus};
use crate::notify::ChannelSet;
use crate::security::crypto::DataCipher;
use crate::tickets::flow::{self, Decision};
use crate::tickets::Env;

const BATCH: i64 = 200;

/// What one run expired.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub tickets: u64,
    pub reset_links: u64,
}

pub fn run_once(
    database: &Db,
    cipher: &DataCipher,
    channels: ChannelSet,
    now: NaiveDateTime,
) -> anyhow::Result<Report> {
    let env = Env { cipher, channels, reset_url: "" };
    let mut report = Report::default();
    let waiting = TicketStatus::NeedsInfo.as_str();
    let tenants = database.run_blocking(|conn| Ok(db::tickets::tenants_with(conn, waiting)?))?;
    for tenant in tenants.iter().filter_map(|t| TenantId::parse(t)) {
        loop {
            let n = database.run_blocking(|conn| {
                db::write_transaction(conn, |conn| {
                    let hours = db::settings::get(conn, tenant)?.needs_info_expiry_hours;
                    let stale =
                        db::tickets::stale(conn, tenant, waiting, now - Duration::hours(i64::from(hours)), BATCH)?;
                    for t in &stale {
                        let d = Decision { actor: TicketActor::Scheduler, action: Action::Expire, text: None };
                        flow::apply(conn, &env, &RequestMeta::default(), tenant, &t.id, d, None, now)
                            .map_err(|e| anyhow::anyhow!("expiring ticket {}: {e:?}", t.number))?;
                    }
                    Ok::<_, anyhow::Error>(stale.len() as u64)
                })
            })?;
            report.tickets += n;
            if (n as i64) < BATCH {
                break;
            }
        }
    }
    loop {
        let n = database.run_blocking(|conn| {
            db::write_transaction(conn, |conn| {
                let links = db::tickets::expire_reset_links(conn, now, BATCH)?;
                for l in &links {
                    let e = Event::new("reset_link.expired", Actor::System("ticket_expiry"))
                        .tenant(TenantId::parse(&l.tenant_id))
                        .target("filing", &l.filing_id)
                        .details(json!({"reset_link_id": l.id, "ticket_id": l.ticket_id, "expires_at": l.expires_at.and_utc()}));
                    audit::record(conn, &RequestMeta::default(), e)?;
                }
                Ok::<_, anyhow::Error>(links.len() as u64)
            })
        })?;
        report.reset_links += n;
        if (n as i64) < BATCH {
            return Ok(report);
        }
    }
}
