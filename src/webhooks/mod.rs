//! Webhooks to the registrar's own systems (Standard Webhooks 1.0): events
//! queued in the transaction of the change that causes them ([`emit`]),
//! delivered by their own job ([`deliver`]), so a slow receiver never holds
//! up SMS or e-mail.
//!
//! `data` carries ids, numbers, kinds, statuses and masked values — never a
//! secret or unmasked personal data.

pub mod deliver;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::SecondsFormat;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::db::{self, tickets::TicketRow, webhooks::DeliveryRow, DbConnection};
use crate::domain::ids::TenantId;
use crate::domain::webhook::EventType;
use crate::security::crypto::DataCipher;

/// Standard Webhooks secrets: `whsec_` and the base64 of the key.
pub const SECRET_PREFIX: &str = "whsec_";

/// How long a rotated-out secret still signs, beside the new one.
pub const PREVIOUS_SECRET_HOURS: i64 = 24;

/// A new secret: 32 random bytes.
pub fn new_secret() -> String {
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

fn context(webhook_id: &str) -> String {
    format!("webhook:{webhook_id}:secret")
}

/// The secret sealed with the data key (it must sign, so it is kept).
pub fn seal(cipher: &DataCipher, webhook_id: &str, secret: &str) -> String {
    cipher.encrypt(&context(webhook_id), secret.as_bytes())
}

pub fn open(cipher: &DataCipher, webhook_id: &str, sealed: &str) -> Option<String> {
    cipher.decrypt(&context(webhook_id), sealed).and_then(|b| String::from_utf8(b).ok())
}

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` keyed with the
/// base64 part of `secret`.
pub fn signature(secret: &str, msg_id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = STANDARD.decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret)).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{msg_id}.{timestamp}.{body}").as_bytes());
    Some(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// The JSON body of an event: fixed when queued, so every retry carries the
/// same bytes.
pub fn body(event: EventType, at: chrono::NaiveDateTime, data: Value) -> String {
    json!({
        "type": event.as_str(),
        "timestamp": at.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true),
        "data": data,
    })
    .to_string()
}

/// Queues `event` for every enabled subscription of `tenant` to it, in the
/// caller's transaction. Returns how many deliveries were queued.
pub fn emit(conn: &mut DbConnection, tenant: TenantId, event: EventType, data: Value) -> diesel::QueryResult<usize> {
    let hooks = db::webhooks::enabled(conn, tenant)?;
    emit_to(conn, tenant, &hooks, event, data)
}

/// [`emit`] to subscriptions the caller has already read in its
/// transaction (`(id, events)` of the tenant's enabled ones).
pub fn emit_to(
    conn: &mut DbConnection,
    tenant: TenantId,
    hooks: &[(String, String)],
    event: EventType,
    data: Value,
) -> diesel::QueryResult<usize> {
    let (tenant, now) = (tenant.to_string(), db::now());
    let mut n = 0;
    for (id, _) in hooks.iter().filter(|(_, events)| EventType::split(events).contains(&event)) {
        queue(conn, &tenant, id, event, body(event, now, data.clone()), now)?;
        n += 1;
    }
    Ok(n)
}

/// Queues one delivery to one subscription.
pub fn queue(
    conn: &mut DbConnection,
    tenant: &str,
    webhook: &str,
    event: EventType,
    payload: String,
    now: chrono::NaiveDateTime,
) -> diesel::QueryResult<DeliveryRow> {
    let row = DeliveryRow {
        id: db::new_id(),
        tenant_id: tenant.to_owned(),
        webhook_id: webhook.to_owned(),
        event_type: event.as_str().to_owned(),
        payload,
        status: "pending".to_owned(),
        attempts: 0,
        next_attempt_at: now,
        lease_until: None,
        response_status: None,
        response_excerpt: None,
        last_error: None,
        created_at: now,
        delivered_at: None,
    };
    db::webhooks::insert_delivery(conn, &row)?;
    Ok(row)
}

/// What ticket events say of a ticket.
pub fn ticket_data(t: &TicketRow) -> Value {
    json!({
        "ticket_id": t.id,
        "number": t.number,
        "kind": t.kind,
        "status": t.status,
        "filing_number": t.filing_number,
        "filing_id": t.filing_id,
        "sla_due_at": t.sla_due_at.and_utc(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification.
    #[test]
    fn signatures_match_the_specifications_example() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }
}
