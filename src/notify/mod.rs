//! Notifications: an outbox row written in the transaction of the change
//! that causes it ([`enqueue`]), delivered later by [`deliver::Delivery`]
//! with retries. Nothing is sent inside a request.

pub mod channels;
pub mod deliver;
pub mod templates;

use serde_json::{Map, Value};

use crate::config::Settings;
use crate::db::{self, notifications::NotificationRow, DbConnection};
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
}

/// The first slot that fits both the recipient's and the filing's budget.
fn slot_for_both(
    now: chrono::NaiveDateTime,
    by_recipient: &[chrono::NaiveDateTime],
    by_filing: &[chrono::NaiveDateTime],
    budget: crate::domain::settings::SendBudget,
) -> chrono::NaiveDateTime {
    use crate::domain::budget::next_slot;
    let mut t = now;
    loop {
        let next = next_slot(next_slot(t, by_recipient, budget), by_filing, budget);
        if next == t {
            return t;
        }
        t = next;
    }
}

/// Credentials first: where a new SMS goes in the phone's (and filing's)
/// budget. A credential counts only what it cannot pass — other credentials,
/// and informational messages already sent or in a sender's hands — and the
/// informational ones still waiting move after it, first come first served
/// among themselves. An informational SMS queues behind everything.
fn schedule_sms(
    conn: &mut DbConnection,
    now: chrono::NaiveDateTime,
    credential: bool,
    by_recipient: Vec<db::notifications::Slot>,
    by_filing: Vec<db::notifications::Slot>,
    budget: crate::domain::settings::SendBudget,
) -> diesel::QueryResult<chrono::NaiveDateTime> {
    if !credential {
        let times = |v: &[db::notifications::Slot]| v.iter().map(|s| s.next_attempt_at).collect::<Vec<_>>();
        return Ok(slot_for_both(now, &times(&by_recipient), &times(&by_filing), budget));
    }
    // This phone's waiting informational messages may move; everything else
    // (other phones' messages counted for the filing included) stays put.
    let mut movable: Vec<&db::notifications::Slot> = by_recipient.iter().filter(|s| s.movable(now)).collect();
    let moves = |s: &db::notifications::Slot| movable.iter().any(|m| m.id == s.id);
    let fixed =
        |v: &[db::notifications::Slot]| v.iter().filter(|s| !moves(s)).map(|s| s.next_attempt_at).collect::<Vec<_>>();
    let (mut recipient_taken, mut filing_taken) = (fixed(&by_recipient), fixed(&by_filing));
    let at = slot_for_both(now, &recipient_taken, &filing_taken, budget);
    recipient_taken.push(at);
    filing_taken.push(at);
    // The moved ones in the order they were caused, after it.
    movable.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    for m in movable {
        let slot = slot_for_both(now.max(m.created_at), &recipient_taken, &filing_taken, budget);
        if slot != m.next_attempt_at {
            db::notifications::reschedule(conn, &m.id, slot)?;
        }
        recipient_taken.push(slot);
        if by_filing.iter().any(|f| f.id == m.id) {
            filing_taken.push(slot);
        }
    }
    Ok(at)
}

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
    let send_at = match &n.recipient {
        Recipient::Email(_) => now,
        Recipient::Phone(p) => {
            // Every accepted key's index: during a key rotation, earlier
            // notifications may still carry the previous key's.
            let indexes = cipher.blind_indexes("phone", p.as_str());
            let budget = db::settings::get(conn, n.tenant)
                .map_err(|e| diesel::result::Error::DeserializationError(e.into_boxed_dyn_error()))?;
            let since = now - chrono::Duration::days(1);
            let (by_recipient, by_filing) =
                db::notifications::budget_times(conn, n.tenant, &indexes, n.filing_id.as_deref(), since)?;
            schedule_sms(conn, now, n.kind.secret().is_some(), by_recipient, by_filing, budget.sms_budget)?
        }
    };
    if let (Some(_), Some(filing)) = (n.kind.secret(), n.filing_id.as_deref()) {
        let email = matches!(n.recipient, Recipient::Email(_));
        supersede(conn, n.tenant, filing, Some(email), None, &id)?;
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
        status: "pending".to_owned(),
        attempts: 0,
        next_attempt_at: send_at,
        locked_until: None,
        last_error: None,
        dedupe_key: None,
        ticket_id: n.ticket_id,
        filing_id: n.filing_id,
        created_at: now,
        updated_at: now,
        sent_at: None,
        recipient_index: Some(recipient_index),
    };
    db::notifications::insert(conn, &row)?;
    Ok(row)
}

/// Credentials first: withdraws the filing's credentials not yet sent (to
/// e-mail addresses or to phones when `email` says which, of `kind` when
/// given) because `by` replaced them: a newer credential, a password chosen
/// meanwhile, a link used. Audited as `notification.superseded`; nothing to
/// do is no event.
pub fn supersede(
    conn: &mut DbConnection,
    tenant: TenantId,
    filing: &str,
    email: Option<bool>,
    kind: Option<Kind>,
    by: &str,
) -> diesel::QueryResult<Vec<String>> {
    let now = db::now();
    let ids = db::notifications::supersede_credentials(conn, tenant, filing, email, kind.map(Kind::as_str), now)?;
    if !ids.is_empty() {
        let e = crate::audit::Event::new("notification.superseded", crate::audit::Actor::System("credentials_first"))
            .tenant(Some(tenant))
            .target("filing", filing)
            .details(serde_json::json!({"notification_ids": ids, "by": by}));
        crate::audit::record(conn, &crate::audit::RequestMeta::default(), e)?;
    }
    Ok(ids)
}
