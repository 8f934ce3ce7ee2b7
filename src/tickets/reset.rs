//! What an approved ticket issues, in the transaction that resolves it:
//! a temporary password or a single-use reset link for the password kinds,
//! the new contacts for a contact change. Always sent to the contact on
//! file (after a contact change: the new one, and the old one is told).

use chrono::{Duration, NaiveDateTime};
use serde_json::json;

use super::{open_identity, Env};
use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db::{self, tenants::TenantRow, tickets::ResetLinkRow, tickets::TicketRow, DbConnection};
use crate::domain::contact::{Email, PhoneNumber};
use crate::domain::ids::TenantId;
use crate::domain::settings::{ResetMode, TenantSettings};
use crate::domain::ticket::TicketKind;
use crate::filings::{contacts_on_file, seal_email, seal_phone, store_generated_password, ToContacts};
use crate::notify::templates::Kind;
use crate::notify::Recipient;
use crate::security::tokens;

/// A temporary password and its Argon2id hash, made before the transaction
/// (hashing takes tens of milliseconds; no lock should wait for it).
pub struct PreparedPassword {
    pub plain: String,
    pub hash: String,
}

/// Issues what the resolved ticket `t` grants.
#[allow(clippy::too_many_arguments)]
pub fn issue(
    conn: &mut DbConnection,
    env: &Env<'_>,
    meta: &RequestMeta,
    tenant: &TenantRow,
    settings: &TenantSettings,
    t: &TicketRow,
    prepared: Option<PreparedPassword>,
    now: NaiveDateTime,
) -> anyhow::Result<()> {
    let tenant_id = TenantId::parse(&tenant.id).ok_or_else(|| anyhow::anyhow!("bad tenant id"))?;
    let filing_id = t.filing_id.as_deref().ok_or_else(|| anyhow::anyhow!("a resolved ticket without a filing"))?;
    let mut filing =
        db::filings::find(conn, tenant_id, filing_id)?.ok_or_else(|| anyhow::anyhow!("the ticket's filing is gone"))?;
    let kind = TicketKind::parse(&t.kind).ok_or_else(|| anyhow::anyhow!("unknown ticket kind"))?;
    let to = ToContacts::new(env.cipher, env.channels, tenant_id, settings, Some(t.id.clone()));
    let mut params = serde_json::Map::new();
    params.insert("tenant".into(), tenant.name.clone().into());
    params.insert("filing_number".into(), filing.filing_number.clone().into());
    // A newer reset replaces any link still outstanding.
    db::tickets::withdraw_reset_links(conn, tenant_id, &filing.id, now)?;
    let (action, sent, details) = match kind {
        TicketKind::PasswordReset | TicketKind::InitialPasswordResend => match settings.reset_mode {
            ResetMode::TempPassword => {
                let p = prepared.ok_or_else(|| anyhow::anyhow!("no temporary password was prepared"))?;
                store_generated_password(
                    conn,
                    tenant_id,
                    &mut filing,
                    p.hash,
                    settings.generated_password_ttl_hours,
                    now,
                )?;
                params.insert("password".into(), p.plain.into());
                let kind = if kind == TicketKind::PasswordReset { Kind::ResetPassword } else { Kind::InitialPassword };
                let sent = to.send(conn, &filing, kind, &params)?;
                (
                    "filing.temporary_password_issued",
                    sent,
                    json!({"expires_at": filing.password_expires_at.map(|x| x.and_utc())}),
                )
            }
            ResetMode::Link => {
                let token = tokens::generate();
                let expires_at = now + Duration::hours(i64::from(settings.reset_link_ttl_hours));
                db::tickets::insert_reset_link(
                    conn,
                    &ResetLinkRow {
                        id: db::new_id(),
                        tenant_id: tenant.id.clone(),
                        filing_id: filing.id.clone(),
                        ticket_id: t.id.clone(),
                        token_hash: tokens::digest(&token),
                        expires_at,
                        used_at: None,
                        expired_at: None,
                        created_at: now,
                        policy_failures: 0,
                    },
                )?;
                // The approval lifts a lockout and ends earlier subject
                // tokens whichever way the reset goes.
                db::filings::new_session(conn, tenant_id, &filing.id)?;
                let link = format!("{}?tenant={}&token={token}", env.reset_url, tenant.slug);
                params.insert("link".into(), link.into());
                let sent = to.send(conn, &filing, Kind::ResetLink, &params)?;
                ("filing.reset_link_issued", sent, json!({"expires_at": expires_at.and_utc()}))
            }
        },
        TicketKind::ContactChange => {
            let identity = open_identity(env.cipher, t)?;
            let (old_phone, old_email) = contacts_on_file(env.cipher, &filing)?;
            let mut recipients = vec![Recipient::Phone(old_phone.clone()), Recipient::Email(old_email.clone())];
            let mut changed = Vec::new();
            if let Some(p) = identity.new_phone.as_deref() {
                let p = PhoneNumber::parse("new_phone", p).map_err(|e| anyhow::anyhow!("{}", e.message))?;
                seal_phone(&mut filing, env.cipher, &p);
                if p != old_phone {
                    recipients.push(Recipient::Phone(p));
                }
                changed.push("phone");
            }
            if let Some(e) = identity.new_email.as_deref() {
                let e = Email::parse("new_email", e).map_err(|e| anyhow::anyhow!("{}", e.message))?;
                seal_email(&mut filing, env.cipher, &e);
                if e.as_str() != old_email.as_str() {
                    recipients.push(Recipient::Email(e));
                }
                changed.push("email");
            }
            filing.updated_at = now;
            db::filings::save(conn, &filing)?;
            params.insert("number".into(), t.number.clone().into());
            params.insert("status".into(), t.status.clone().into());
            let sent = to.send_to(conn, Some(&filing.id), recipients, Kind::ContactChanged, &params)?;
            let data = json!({
                "filing_id": filing.id,
                "filing_number": filing.filing_number,
                "changed": changed,
                "phone_masked": filing.phone_masked,
                "email_masked": filing.email_masked,
                "ticket_id": t.id,
                "ticket_number": t.number,
            });
            crate::webhooks::emit(conn, tenant_id, crate::domain::webhook::EventType::FilingContactsChanged, data)?;
            (
                "filing.contact_changed",
                sent,
                json!({"changed": changed, "phone": filing.phone_masked, "email": filing.email_masked}),
            )
        }
    };
    let mut details = details;
    details["ticket"] = t.number.clone().into();
    details["notification_ids"] = sent.iter().map(|n| n.id.clone()).collect::<Vec<_>>().into();
    details["recipients"] = sent.iter().map(|n| n.recipient_masked.clone()).collect::<Vec<_>>().into();
    let e = Event::new(action, Actor::System("ticket_resolution"))
        .tenant(Some(tenant_id))
        .target("filing", &filing.id)
        .details(details);
    audit::record(conn, meta, e)?;
    Ok(())
}
