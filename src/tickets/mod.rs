//! Work orders: submission with verification against the filing on file,
//! the decisions of the state machine applied under an optimistic version
//! check, and the reset issued in the transaction that resolves a ticket.
//! Handlers in `http/tickets/` parse and authorize; this module does the
//! work inside the transaction they open.

pub mod flow;
pub mod grouped;
pub mod numbers;
pub mod reset;
pub mod submit;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::tickets::TicketRow;
use crate::notify::ChannelSet;
use crate::security::crypto::DataCipher;

/// What the ticket work needs besides the connection.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    pub cipher: &'a DataCipher,
    pub channels: ChannelSet,
    /// The console page that consumes reset links.
    pub reset_url: &'a str,
}

/// The applicant's identity data as submitted; stored encrypted as one
/// document, never shown in clear.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Identity {
    pub phone: String,
    pub id_number: String,
    pub email: Option<String>,
    pub new_phone: Option<String>,
    pub new_email: Option<String>,
}

/// The same, masked: what reviewers see.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MaskedIdentity {
    /// e.g. `138****5678`
    pub phone: String,
    /// e.g. `110***********123X`
    pub id_number: String,
    pub email: Option<String>,
    /// Contact changes: the phone to put on file.
    pub new_phone: Option<String>,
    /// Contact changes: the e-mail to put on file.
    pub new_email: Option<String>,
}

/// The encryption context of a ticket's identity document.
pub fn identity_context(ticket_id: &str) -> String {
    format!("ticket:{ticket_id}:identity")
}

pub fn open_identity(cipher: &DataCipher, t: &TicketRow) -> anyhow::Result<Identity> {
    let plain = cipher
        .decrypt(&identity_context(&t.id), &t.identity_enc)
        .ok_or_else(|| anyhow::anyhow!("ticket {} identity cannot be decrypted with the data key", t.id))?;
    Ok(serde_json::from_slice(&plain)?)
}

pub fn seal_identity(cipher: &DataCipher, ticket_id: &str, identity: &Identity) -> String {
    cipher.encrypt(&identity_context(ticket_id), &serde_json::to_vec(identity).unwrap_or_default())
}

/// Ticket news for the applicant, at the phone and e-mail the ticket gives
/// (never a secret: resets go to the contact on file). Not counted against
/// the filing's SMS budget, so submissions by others cannot delay the
/// filing's own messages. SMS only to a number on file: a number that only
/// an anonymous form supplied gets none (anyone could type a victim's
/// number, or a premium one, into the form: SMS pumping); that applicant has
/// the tracking code, and the e-mail if they gave one. Staff, agents and
/// signed-in subjects are not anonymous.
pub fn notify_applicant(
    conn: &mut crate::db::DbConnection,
    env: &Env<'_>,
    t: &TicketRow,
    settings: &crate::domain::settings::TenantSettings,
    kind: crate::notify::templates::Kind,
    mut params: serde_json::Map<String, serde_json::Value>,
    tenant_name: &str,
) -> anyhow::Result<Vec<crate::db::notifications::NotificationRow>> {
    use crate::domain::contact::{Email, PhoneNumber};
    use crate::notify::Recipient;
    let identity = open_identity(env.cipher, t)?;
    params.insert("tenant".into(), tenant_name.into());
    params.insert("number".into(), t.number.clone().into());
    params.insert("status".into(), t.status.clone().into());
    let on_file = serde_json::from_str::<crate::domain::ticket::Verification>(&t.verification)
        .is_ok_and(|v| v.phone == crate::domain::ticket::Check::Match);
    let known = t.submitted_by.is_some() || on_file;
    let phone = PhoneNumber::parse("phone", &identity.phone).ok().filter(|_| known).map(Recipient::Phone);
    let email = identity.email.as_deref().and_then(|e| Email::parse("email", e).ok()).map(Recipient::Email);
    let tenant = crate::domain::ids::TenantId::parse(&t.tenant_id).ok_or_else(|| anyhow::anyhow!("bad tenant id"))?;
    let to = crate::filings::ToContacts::new(env.cipher, env.channels, tenant, settings, Some(t.id.clone()));
    // News about a filing counts against the filing's SMS budget too.
    to.send_to(conn, t.filing_id.as_deref(), phone.into_iter().chain(email), kind, &params)
}
