//! SLA breaches: flags open tickets past their deadline, once, and tells the
//! tenant's admins by e-mail.

use chrono::NaiveDateTime;
use serde_json::json;

use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db::{self, Db};
use crate::domain::contact::Email;
use crate::domain::ids::TenantId;
use crate::domain::ticket::TicketStatus;
use crate::filings::ToContacts;
use crate::notify::{templates::Kind, ChannelSet, Recipient};
use crate::security::crypto::DataCipher;

const BATCH: i64 = 200;

/// Returns how many tickets were flagged.
pub fn run_once(database: &Db, cipher: &DataCipher, channels: ChannelSet, now: NaiveDateTime) -> anyhow::Result<u64> {
    let open: Vec<&str> = TicketStatus::OPEN.iter().map(|s| s.as_str()).collect();
    let mut flagged = 0;
    loop {
        let n = database.run_blocking(|conn| {
            db::write_transaction(conn, |conn| {
                let due = db::tickets::sla_due(conn, &open, now, BATCH)?;
                let mut n = 0;
                for t in &due {
                    if !db::tickets::flag_breach(conn, &t.id)? {
                        continue;
                    }
                    n += 1;
                    let tenant = TenantId::parse(&t.tenant_id).ok_or_else(|| anyhow::anyhow!("bad tenant id"))?;
                    let settings = db::settings::get(conn, tenant)?;
                    let name = db::tenants::find(conn, tenant)?.map(|t| t.name).unwrap_or_default();
                    let admins: Vec<Recipient> = db::staff::active_admin_emails(conn, tenant)?
                        .iter()
                        .filter_map(|a| Email::parse("email", a).ok().map(Recipient::Email))
                        .collect();
                    let mut params = serde_json::Map::new();
                    params.insert("tenant".into(), name.into());
                    params.insert("number".into(), t.number.clone().into());
                    params.insert("status".into(), t.status.clone().into());
                    let to = ToContacts::new(cipher, channels, tenant, &settings, Some(t.id.clone()));
                    let sent: Vec<String> =
                        to.send_to(conn, None, admins, Kind::SlaBreach, &params)?.into_iter().map(|r| r.id).collect();
                    let e = Event::new("ticket.sla_breached", Actor::System("sla_breaches"))
                        .tenant(Some(tenant))
                        .target("ticket", &t.id)
                        .details(json!({
                            "number": t.number,
                            "status": t.status,
                            "due_at": t.sla_due_at.and_utc(),
                            "notification_ids": sent,
                        }));
                    audit::record(conn, &RequestMeta::default(), e)?;
                    let mut data = crate::webhooks::ticket_data(t);
                    data["sla_breached"] = true.into();
                    crate::webhooks::emit(conn, tenant, crate::domain::webhook::EventType::TicketSlaBreached, data)?;
                }
                Ok::<_, anyhow::Error>((due.len(), n))
            })
        })?;
        flagged += n.1;
        if (n.0 as i64) < BATCH {
            return Ok(flagged);
        }
    }
}
