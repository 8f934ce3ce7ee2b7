//! Notifications: an outbox row written in the transaction of the change
//! that causes it ([`enqueue`]), delivered later by [`deliver::Delivery`]
//! with retries. Nothing is sent inside a request.

pub mod channels;
pub mod deliver;
pub mod templates;

use serde_json::{Map, Value};

use crate::config::Settings;
use crate::db::{self, notifications::NotificationRow, DbConnection};
use crate::domain::budget;
use crate::domain::contact::{mask_email, Email, PhoneNumber};
use crate::domain::ids::TenantId;
use crate::domain::settings::Locale;
use crate::security::crypto::DataCipher;
use templates::Kind;

/// Where a notification goes.
#[derive(Debug, Clone)]
pub enum Recipient {
    Email(Email),
    Phone(PhoneNumber),
}

/// Which real channels this deployment has; the rest falls back to `log`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChannelSet {
    pub email: bool,
    pub sms: bool,
}

impl ChannelSet {
    pub fn from_settings(s: &Settings) -> Self {
        Self { email: s.smtp_url.is_some(), sms: s.sms_webhook_url.is_some() }
    }
}

/// A notification to queue.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub tenant: TenantId,
    pub recipient: Recipient,
    pub kind: Kind,
    pub locale: Locale,
    /// The template's values; a secret among them is encrypted at rest and
    /// scrubbed after delivery.
    pub params: Map<String, Value>,
    pub ticket_id: Option<String>,
    pub filing_id: Option<String>,
    /// The tenant's SMS budget (a setting): passed in, as every caller has
    /// the settings at hand, instead of read again for each message.
    pub sms_budget: crate::domain::settings::SendBudget,
}

/// Credentials first: places a new SMS in the phone's and the filing's
/// budget ([`crate::domain::budget::place`]) and moves or drops the waiting
/// news it overtakes. `None`: the new SMS does not go.
fn schedule_sms(
    conn: &mut DbConnection,
    tenant: TenantId,
    now: chrono::NaiveDateTime,
    new: budget::Incoming<'_>,
    by_recipient: Vec<db::notifications::Slot>,
    by_filing: Vec<db::notifications::Slot>,
    carrier: crate::domain::settings::SendBudget,
) -> diesel::QueryResult<Option<chrono::NaiveDateTime>> {
    let queued = |v: Vec<db::notifications::Slot>| v.into_iter().map(|s| s.queued(now)).collect::<Vec<_>>();
    let p = budget::place(now, new, &queued(by_recipient), &queued(by_filing), carrier);
    for (id, at) in &p.moves {
        db::notifications::reschedule(conn, id, *at)?;
    }
    drop_news(conn, tenant, &p.dropped, "overtaken by a credential or past its wait", now)?;
    Ok(p.at)
}

/// Marks waiting news `dropped` (recorded, audited): it will not be sent.
fn drop_news(
    conn: &mut DbConnection,
    tenant: TenantId,
    ids: &[String],
    reason: &str,
    now: chrono::NaiveDateTime,
) -> diesel::QueryResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    db::notifications::drop_waiting(conn, ids, reason, now)?;
    audit_dropped(conn, tenant, ids, reason)
}

/// The audit event of news that will not be sent.
fn audit_dropped(conn: &mut DbConnection, tenant: TenantId, ids: &[String], reason: &str) -> diesel::QueryResult<()> {
    let e = crate::audit::Event::new("notification.dropped", crate::audit::Actor::System("credentials_first"))
        .tenant(Some(tenant))
        .details(serde_json::json!({"notification_ids": ids, "reason": reason}));
    crate::audit::record(conn, &crate::audit::RequestMeta::default(), e)?;
    Ok(())
}

/// Why news was not sent by SMS.
const NEWS_OVER_BUDGET: &str = "over the informational SMS budget: not sent by SMS";

/// A recipient's blind index (phone numbers and e-mail addresses are
/// indexed apart): what SMS budgets count by.
pub fn recipient_index(cipher: &DataCipher, to: &str) -> String {
    cipher.blind_index(if to.contains('@') { "email" } else { "phone" }, to)
}

/// The context that binds an encrypted notification field to its row.
pub fn cipher_context(id: &str, field: &str) -> String {
    format!("notification:{id}:{field}")
}

/// Writes the outbox row. Call inside the transaction of the change that
/// causes it.
pub fn enqueue(
    conn: &mut DbConnection,
    cipher: &DataCipher,
    channels: ChannelSet,
    n: NewNotification,
) -> diesel::QueryResult<NotificationRow> {
    let id = db::new_id();
    let (channel, to, masked) = match &n.recipient {
        Recipient::Email(e) => {
            (if channels.email { "email" } else { "log" }, e.as_str().to_owned(), mask_email(e.as_str()))
        }
        Recipient::Phone(p) => (if channels.sms { "sms" } else { "log" }, p.as_str().to_owned(), p.masked()),
    };
    let now = db::now();
    let recipient_index = recipient_index(cipher, &to);
    // E-mail has no budget; an SMS takes its place in the phone's, or (news
    // over its share) is recorded as dropped and not sent.
    let send_at = match &n.recipient {
        Recipient::Email(_) => Some(now),
        Recipient::Phone(p) => {
            // Every accepted key's index: during a key rotation, earlier
            // notifications may still carry the previous key's.
            let indexes = cipher.blind_indexes("phone", p.as_str());
            let since = now - chrono::Duration::days(1);
            let (by_recipient, by_filing) =
                db::notifications::budget_times(conn, n.tenant, &indexes, n.filing_id.as_deref(), since)?;
            let new = budget::Incoming { priority: n.kind.priority(), ticket: n.ticket_id.as_deref() };
            schedule_sms(conn, n.tenant, now, new, by_recipient, by_filing, n.sms_budget)?
        }
    };
    if let (Some(_), Some(filing)) = (n.kind.secret(), n.filing_id.as_deref()) {
        let email = matches!(n.recipient, Recipient::Email(_));
        supersede(conn, n.tenant, filing, Some(email), n.kind.replaces(), &id)?;
    }
    let params = serde_json::to_vec(&n.params).unwrap_or_default();
    let row = NotificationRow {
        recipient: cipher.encrypt(&cipher_context(&id, "recipient"), to.as_bytes()),
        params: Some(cipher.encrypt(&cipher_context(&id, "params"), &params)),
        id,
        tenant_id: n.tenant.to_string(),
        channel: channel.to_owned(),
        kind: n.kind.as_str().to_owned(),
        locale: match n.locale {
            Locale::ZhCn => "zh-CN",
            Locale::En => "en",
        }
        .to_owned(),
        recipient_masked: masked,
        carries_secret: n.kind.secret().is_some(),
        status: if send_at.is_some() { "pending" } else { "dropped" }.to_owned(),
        attempts: 0,
        next_attempt_at: send_at.unwrap_or(now),
        locked_until: None,
        last_error: send_at.is_none().then(|| NEWS_OVER_BUDGET.to_owned()),
        dedupe_key: None,
        ticket_id: n.ticket_id,
        filing_id: n.filing_id,
        created_at: now,
        updated_at: now,
        sent_at: None,
        recipient_index: Some(recipient_index),
    };
    db::notifications::insert(conn, &row)?;
    if send_at.is_none() {
        audit_dropped(conn, n.tenant, std::slice::from_ref(&row.id), NEWS_OVER_BUDGET)?;
    }
    Ok(row)
}

/// Credentials first: withdraws the filing's credentials not yet sent (to
/// e-mail addresses or to phones when `email` says which; of `kinds`, or of
/// every kind when empty) because `by` replaced them: a newer credential, a password chosen
/// meanwhile, a link used. Audited as `notification.superseded`; nothing to
/// do is no event.
pub fn supersede(
    conn: &mut DbConnection,
    tenant: TenantId,
    filing: &str,
    email: Option<bool>,
    kinds: &[Kind],
    by: &str,
) -> diesel::QueryResult<Vec<String>> {
    let now = db::now();
    let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    let ids = db::notifications::supersede_credentials(conn, tenant, filing, email, &kinds, now)?;
    if !ids.is_empty() {
        let e = crate::audit::Event::new("notification.superseded", crate::audit::Actor::System("credentials_first"))
            .tenant(Some(tenant))
            .target("filing", filing)
            .details(serde_json::json!({"notification_ids": ids, "by": by}));
        crate::audit::record(conn, &crate::audit::RequestMeta::default(), e)?;
    }
    Ok(ids)
}
