//! The outbox worker: takes due notifications in bounded batches, sends
//! them with bounded concurrency and a timeout, and records each outcome
//! (with its audit event): sent, failed with a backed-off retry, or dead.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{Duration, NaiveDateTime};
use diesel::QueryResult;
use futures_util::stream::{self, StreamExt};
use rand::Rng;
use serde_json::json;

use super::channels::{email::EmailSender, log::LogSender, sms::SmsGateway, sms::WebhookGateway, Outgoing};
use super::cipher_context;
use super::templates::{builtin, render, Kind};
use crate::audit::{self, Actor, Event, RequestMeta};
use crate::config::Settings;
use crate::db::notifications::{NotificationRow, Outcome};
use crate::db::{self, Db};
use crate::domain::ids::TenantId;
use crate::domain::settings::Locale;
use crate::security::crypto::DataCipher;

/// What rendering needs of a tenant.
struct TenantContext {
    slug: String,
    /// `(kind, locale, template)` the tenant replaced.
    templates: Vec<(String, String, super::templates::Template)>,
}

pub struct Delivery {
    db: Db,
    cipher: DataCipher,
    email: Option<EmailSender>,
    sms: Option<Arc<dyn SmsGateway>>,
    log: LogSender,
    /// Attempts before a notification is dead.
    pub max_attempts: i32,
    /// Rows taken per run.
    pub batch: i64,
    /// Sends in flight at once.
    pub concurrency: usize,
    /// Longest a single send may take.
    pub send_timeout: StdDuration,
    /// First retry delay in seconds (doubling after).
    pub retry_base_secs: u32,
    /// How long a sender holds the rows it took; a crashed sender's rows are
    /// taken again after it. Sends that could not end within its first half
    /// are not started ([`may_start`]).
    pub lease: Duration,
}

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub sent: usize,
    pub failed: usize,
    pub dead: usize,
    /// Credentials no longer valid at sending time, not sent.
    pub withdrawn: usize,
    /// Not attempted: the lease would have run out before the send could
    /// time out. Released for the next run, no attempt counted.
    pub deferred: usize,
}

impl Report {
    /// Rows whose attempt was recorded (deferred ones were not attempted).
    pub fn attempted(&self) -> usize {
        self.sent + self.failed + self.dead + self.withdrawn
    }
}

impl std::ops::AddAssign for Report {
    fn add_assign(&mut self, r: Report) {
        self.sent += r.sent;
        self.failed += r.failed;
        self.dead += r.dead;
        self.withdrawn += r.withdrawn;
        self.deferred += r.deferred;
    }
}

/// What one attempt came to.
#[derive(Debug, Clone)]
enum Attempt {
    Sent,
    Failed(String),
    /// The credential it carries is no longer valid: withdrawn, not sent.
    Withdrawn,
    /// Not started: it could not have ended within the lease.
    Deferred,
}

/// The recorded reason of a credential withdrawn at sending time.
const NO_LONGER_VALID: &str = "the password or link was no longer valid at sending time";

/// The token of a reset link (`…?tenant=…&token=…`).
fn link_token(link: &str) -> Option<String> {
    let query = link.split_once('?')?.1;
    query.split('&').find_map(|p| p.strip_prefix("token=")).map(str::to_owned)
}

/// Longest a single send may take.
const SEND_TIMEOUT: StdDuration = StdDuration::from_secs(15);

/// Whether a send may still start `elapsed` into a lease of `lease`: only
/// if it ends, even by timing out, within the lease's first half — the
/// second half is for recording the outcome. A send past the lease could be
/// repeated by another sender that took the row in the meantime.
pub fn may_start(elapsed: StdDuration, send_timeout: StdDuration, lease: StdDuration) -> bool {
    elapsed + send_timeout <= lease / 2
}

/// Pause between attempts to record outcomes while the database is away.
const RECORD_RETRY: StdDuration = StdDuration::from_millis(500);

/// The wait before attempt `attempts + 1`: `base_secs` doubling up to an
/// hour, with ±25 % jitter so a recovering gateway is not hit all at once.
pub fn backoff(base_secs: u32, attempts: i32) -> Duration {
    let base = i64::from(base_secs).saturating_mul(1i64 << attempts.clamp(0, 20)).min(3600);
    let jitter = rand::thread_rng().gen_range(0.75..1.25);
    Duration::milliseconds((base as f64 * 1000.0 * jitter) as i64)
}

/// The slug and replaced templates of each tenant in the batch: one lookup
/// per tenant, not per notification.
fn tenant_context(
    conn: &mut db::DbConnection,
    rows: &[NotificationRow],
) -> QueryResult<HashMap<String, TenantContext>> {
    let mut ids: Vec<&str> = rows.iter().map(|r| r.tenant_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut out = HashMap::new();
    for id in ids {
        let Some(tenant) = TenantId::parse(id) else { continue };
        if let Some(t) = db::tenants::find(conn, tenant)? {
            let templates = db::templates::all(conn, tenant)?;
            out.insert(id.to_owned(), TenantContext { slug: t.slug, templates });
        }
    }
    Ok(out)
}

impl Delivery {
    pub fn from_settings(db: Db, cipher: DataCipher, s: &Settings) -> anyhow::Result<Self> {
        let email = s.smtp_url.as_ref().map(|u| EmailSender::new(u.expose(), s.smtp_from.as_deref())).transpose()?;
        let sms = match &s.sms_webhook_url {
            Some(url) => {
                Some(Arc::new(WebhookGateway::new(url.clone(), s.sms_webhook_secret.as_ref().map(|x| x.expose()))?)
                    as Arc<dyn SmsGateway>)
            }
            None => None,
        };
        Ok(Self {
            db,
            cipher,
            email,
            sms,
            log: LogSender { show_secrets: s.dev_show_secrets },
            max_attempts: s.notify_max_attempts as i32,
            batch: 500,
            concurrency: 8,
            // A quarter of a short lease leaves a quarter for starting sends.
            send_timeout: SEND_TIMEOUT.min(StdDuration::from_secs(u64::from(s.notify_lease_secs) / 4)),
            retry_base_secs: s.notify_retry_base_secs,
            lease: Duration::seconds(i64::from(s.notify_lease_secs)),
        })
    }

    /// Sends what is due at `now`, one batch. Callers loop while it finds work.
    pub async fn run_once(&self, now: NaiveDateTime) -> anyhow::Result<Report> {
        let (batch, lease) = (self.batch, self.lease);
        // Counted from before the claim, so the lease is never thought to
        // have more left than it has.
        let leased_at = tokio::time::Instant::now();
        let lease_std = lease.to_std().unwrap_or_default();
        // The rows and what rendering them needs, in the one transaction
        // that leases them: a lease taken must be followed by a send.
        let (rows, tenants) = self
            .db
            .transaction(move |conn| {
                let rows = db::notifications::claim_due(conn, now, now + lease, batch)?;
                let tenants = tenant_context(conn, &rows)?;
                Ok::<_, db::DbError>((rows, tenants))
            })
            .await?;
        if rows.is_empty() {
            return Ok(Report::default());
        }
        let outcomes: Vec<(NotificationRow, Attempt)> = stream::iter(rows)
            .map(|row| {
                let context = tenants.get(&row.tenant_id);
                async move {
                    let msg = match self.prepare(&row, context) {
                        Ok(msg) => msg,
                        Err(e) => return (row, Attempt::Failed(e)),
                    };
                    let attempt = match self.still_valid(&row, &msg, now).await {
                        Err(e) => Attempt::Failed(e),
                        Ok(false) => Attempt::Withdrawn,
                        // Checked last, just before sending: the checks
                        // above take time too (a credential's hash).
                        Ok(true) if !may_start(leased_at.elapsed(), self.send_timeout, lease_std) => Attempt::Deferred,
                        Ok(true) => {
                            match tokio::time::timeout(self.send_timeout, self.send(&row.channel, &msg)).await {
                                Ok(Ok(())) => Attempt::Sent,
                                Ok(Err(e)) => Attempt::Failed(e),
                                Err(_) => Attempt::Failed("send timed out".to_owned()),
                            }
                        }
                    };
                    (row, attempt)
                }
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;

        // What was sent must be recorded as sent, or it would be sent again
        // once the lease runs out: while the database is away, keep trying
        // for as long as the lease keeps the rows ours.
        loop {
            match self.record(now, outcomes.clone()).await {
                Err(e) if e.is_unavailable() && leased_at.elapsed() + RECORD_RETRY < lease_std => {
                    tracing::warn!(error = %e, "cannot record delivery outcomes yet; retrying");
                    tokio::time::sleep(RECORD_RETRY).await;
                }
                result => return result.map_err(Into::into),
            }
        }
    }

    /// Records each outcome with its audit event, in one transaction: the
    /// sent ones (nearly all) in one update, every audit event in one
    /// append — a few statements per batch rather than two per row.
    async fn record(
        &self,
        now: NaiveDateTime,
        outcomes: Vec<(NotificationRow, Attempt)>,
    ) -> Result<Report, db::DbError> {
        let (max, base) = (self.max_attempts, self.retry_base_secs);
        self.db
            .transaction(move |conn| {
                let mut report = Report::default();
                let at = db::now();
                let sent: Vec<&NotificationRow> =
                    outcomes.iter().filter(|(_, a)| matches!(a, Attempt::Sent)).map(|(r, _)| r).collect();
                let sent_ids: std::collections::HashSet<String> =
                    db::notifications::record_sent_many(conn, &sent, at)?.into_iter().collect();
                let mut events = Vec::with_capacity(outcomes.len());
                let mut dead = Vec::new();
                for (row, attempt) in &outcomes {
                    let attempts = row.attempts + 1;
                    let (outcome, action, error) = match attempt {
                        Attempt::Deferred => {
                            if db::notifications::release(conn, row)? {
                                report.deferred += 1;
                            }
                            continue;
                        }
                        Attempt::Sent => (Outcome::Sent, "notification.sent", None),
                        Attempt::Withdrawn => (
                            Outcome::Withdrawn { reason: NO_LONGER_VALID },
                            "notification.superseded",
                            Some(NO_LONGER_VALID),
                        ),
                        Attempt::Failed(e) if attempts >= max => {
                            (Outcome::Dead { error: e }, "notification.dead", Some(e.as_str()))
                        }
                        Attempt::Failed(e) => (
                            Outcome::Failed { error: e, retry_at: now + backoff(base, row.attempts) },
                            "notification.failed",
                            Some(e.as_str()),
                        ),
                    };
                    let recorded = match outcome {
                        Outcome::Sent => sent_ids.contains(&row.id),
                        other => db::notifications::record_attempt(conn, row, other, at)?,
                    };
                    if !recorded {
                        continue; // the lease ran out and another sender took it
                    }
                    match action {
                        "notification.sent" => report.sent += 1,
                        "notification.dead" => report.dead += 1,
                        "notification.superseded" => report.withdrawn += 1,
                        _ => report.failed += 1,
                    }
                    events.push(
                        Event::new(action, Actor::System("outbox"))
                            .tenant(TenantId::parse(&row.tenant_id))
                            .target("notification", &row.id)
                            .details(json!({
                                "channel": row.channel,
                                "kind": row.kind,
                                "recipient": row.recipient_masked,
                                "attempt": attempts,
                                "error": error,
                            })),
                    );
                    if action == "notification.dead" {
                        dead.push((row, attempts));
                    }
                }
                audit::record_many(conn, &RequestMeta::default(), events)?;
                for (row, attempts) in dead {
                    let Some(tenant) = TenantId::parse(&row.tenant_id) else { continue };
                    let data = json!({
                        "notification_id": row.id,
                        "channel": row.channel,
                        "kind": row.kind,
                        "recipient_masked": row.recipient_masked,
                        "ticket_id": row.ticket_id,
                        "filing_id": row.filing_id,
                        "attempts": attempts,
                    });
                    crate::webhooks::emit(conn, tenant, crate::domain::webhook::EventType::NotificationDead, data)?;
                }
                Ok(report)
            })
            .await
    }

    /// Credentials first: a password or link that stopped being valid while
    /// its message waited (replaced, chosen over, used, expired) is not
    /// sent. Other kinds always are. An error: cannot tell now, try later.
    async fn still_valid(&self, row: &NotificationRow, msg: &Outgoing, now: NaiveDateTime) -> Result<bool, String> {
        let (Some(filing), Some(tenant)) = (row.filing_id.clone(), TenantId::parse(&row.tenant_id)) else {
            return Ok(true);
        };
        let secret = |key: &str| msg.params.get(key).and_then(|v| v.as_str()).map(str::to_owned);
        match msg.kind {
            Kind::InitialPassword | Kind::ResetPassword => {
                let Some(password) = secret("password") else { return Ok(false) };
                let f = self
                    .db
                    .run(move |conn| db::filings::find(conn, tenant, &filing).map_err(db::DbError::from))
                    .await
                    .map_err(|e| e.to_string())?;
                let Some(f) = f.filter(|f| f.must_change_password && f.password_expires_at.is_some_and(|e| e > now))
                else {
                    return Ok(false);
                };
                Ok(crate::security::password::verify_blocking(password, f.password_hash).await)
            }
            Kind::ResetLink => {
                let Some(token) = secret("link").as_deref().and_then(link_token) else { return Ok(false) };
                let hash = crate::security::tokens::digest(&token);
                let link = self
                    .db
                    .run(move |conn| db::tickets::find_reset_link(conn, tenant, &hash).map_err(db::DbError::from))
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(link.is_some_and(|l| {
                    l.filing_id == filing && l.used_at.is_none() && l.expired_at.is_none() && l.expires_at > now
                }))
            }
            Kind::RecoveryCode => {
                let Some(code) = secret("code") else { return Ok(false) };
                let cipher = self.cipher.clone();
                self.db
                    .run(move |conn| {
                        crate::recovery::code_still_valid(conn, &cipher, tenant, &filing, &code, now)
                            .map_err(db::DbError::from)
                    })
                    .await
                    .map_err(|e| e.to_string())
            }
            _ => Ok(true),
        }
    }

    /// Decrypts and renders a row. A row whose parameters were scrubbed (a
    /// dead secret retried by hand) cannot be sent again.
    fn prepare(&self, row: &NotificationRow, tenant: Option<&TenantContext>) -> Result<Outgoing, String> {
        let tenant = tenant.ok_or("the tenant no longer exists")?;
        let kind = Kind::parse(&row.kind).ok_or("unknown notification kind")?;
        let to = self
            .cipher
            .decrypt(&cipher_context(&row.id, "recipient"), &row.recipient)
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or("recipient cannot be decrypted with the data key")?;
        let params = row
            .params
            .as_deref()
            .ok_or("the secret was scrubbed; issue a new one instead")
            .and_then(|p| {
                self.cipher.decrypt(&cipher_context(&row.id, "params"), p).ok_or("parameters cannot be decrypted")
            })
            .and_then(|b| serde_json::from_slice(&b).map_err(|_| "parameters are unreadable"))?;
        let locale = if row.locale == "en" { Locale::En } else { Locale::ZhCn };
        let params = localized(params, locale);
        let t = tenant
            .templates
            .iter()
            .find(|(k, l, _)| *k == row.kind && *l == row.locale)
            .map_or_else(|| builtin(kind, locale), |(_, _, t)| t.clone());
        Ok(Outgoing {
            id: row.id.clone(),
            tenant_slug: tenant.slug.clone(),
            to,
            to_masked: row.recipient_masked.clone(),
            kind,
            subject: render(&t.subject, &params),
            body: render(&t.body, &params),
            sms_text: render(&t.sms, &params),
            params,
        })
    }

    async fn send(&self, channel: &str, msg: &Outgoing) -> Result<(), String> {
        match channel {
            "email" => match &self.email {
                Some(e) => e.send(msg).await,
                None => Err("no e-mail channel is configured".into()),
            },
            "sms" => match &self.sms {
                Some(s) => s.send(msg).await,
                None => Err("no SMS channel is configured".into()),
            },
            _ => self.log.send(msg),
        }
    }
}

/// A ticket's state as the recipient reads it (`待审核`, `pending review`),
/// not the API's word: in the text and in the SMS gateway's parameters.
fn localized(
    mut params: serde_json::Map<String, serde_json::Value>,
    locale: Locale,
) -> serde_json::Map<String, serde_json::Value> {
    let label = params
        .get("status")
        .and_then(|s| s.as_str())
        .and_then(crate::domain::ticket::TicketStatus::parse)
        .map(|s| s.label(locale));
    if let Some(label) = label {
        params.insert("status".into(), label.into());
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_send_starts_only_if_it_ends_within_the_first_half_of_the_lease() {
        let s = StdDuration::from_secs;
        assert!(may_start(s(0), s(15), s(120)));
        assert!(may_start(s(45), s(15), s(120)));
        assert!(!may_start(s(46), s(15), s(120)));
        // The shortest lease (20 s) with its quarter-lease timeout: sends start for 5 s.
        assert!(may_start(s(5), s(5), s(20)) && !may_start(s(6), s(5), s(20)));
        assert!(!may_start(s(0), s(2), s(2)));
    }
}
