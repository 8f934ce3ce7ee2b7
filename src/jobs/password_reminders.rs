//! Query-password age reminders: for tenants with a `password_max_age_days`,
//! e-mails the contact on file once per password, 14 days before it is too
//! old (and at once for a password already older).

use chrono::{Duration, NaiveDateTime};
use serde_json::json;

use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db::{self, Db};
use crate::filings::{contacts_on_file, ToContacts};
use crate::notify::{templates::Kind, ChannelSet, Recipient};
use crate::security::crypto::DataCipher;

/// Days before the maximum age that the reminder goes out.
pub const AHEAD_DAYS: i64 = 14;
const BATCH: i64 = 200;

/// Returns how many subjects were reminded.
pub fn run_once(database: &Db, cipher: &DataCipher, channels: ChannelSet, now: NaiveDateTime) -> anyhow::Result<u64> {
    let tenants = database.run_blocking(db::settings::all_saved)?;
    let mut reminded = 0;
    for (tenant, settings) in tenants.into_iter().filter(|(_, s)| s.password_max_age_days > 0) {
        let max_age = i64::from(settings.password_max_age_days);
        let changed_before = now - Duration::days(max_age - AHEAD_DAYS);
        loop {
            let n = database.run_blocking(|conn| {
                db::write_transaction(conn, |conn| {
                    let Some(t) = db::tenants::find(conn, tenant)?.filter(|t| t.status == "active") else {
                        return Ok::<_, anyhow::Error>(0);
                    };
                    let due = db::filings::due_for_age_reminder(conn, tenant, changed_before, BATCH)?;
                    for mut filing in due.iter().cloned() {
                        // E-mail only: a reminder is not worth an SMS.
                        let (_, email) = contacts_on_file(cipher, &filing)?;
                        let age = filing.password_changed_at.map_or(0, |c| (now - c).num_days());
                        let mut params = serde_json::Map::new();
                        params.insert("tenant".into(), t.name.clone().into());
                        params.insert("filing_number".into(), filing.filing_number.clone().into());
                        params.insert("days".into(), age.to_string().into());
                        let to = ToContacts::new(cipher, channels, tenant, &settings, None);
                        let row = to
                            .send_to(
                                conn,
                                Some(&filing.id),
                                [Recipient::Email(email)],
                                Kind::PasswordAgeReminder,
                                &params,
                            )?
                            .remove(0);
                        filing.password_reminded_at = Some(now);
                        db::filings::save(conn, &filing)?;
                        let e = Event::new("filing.password_age_reminded", Actor::System("password_reminders"))
                            .tenant(Some(tenant))
                            .target("filing", &filing.id)
                            .details(json!({
                                "filing_number": filing.filing_number,
                                "age_days": age,
                                "max_age_days": max_age,
                                "notification_id": row.id,
                                "recipient": row.recipient_masked,
                            }));
                        audit::record(conn, &RequestMeta::default(), e)?;
                    }
                    Ok(due.len() as u64)
                })
            })?;
            reminded += n;
            if n < BATCH as u64 {
                break;
            }
        }
    }
    Ok(reminded)
}
