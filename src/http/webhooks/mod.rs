//! Webhook subscriptions (tenant admin): create (the secret shown once),
//! list, read, change, delete, rotate the secret, send a test event, read
//! the delivery log, retry a delivery.

pub mod create;
pub mod delete;
pub mod deliveries;
pub mod get;
pub mod list;
pub mod retry;
pub mod rotate;
pub mod test;
pub mod update;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::webhooks::{DeliveryRow, WebhookRow};
use crate::domain::webhook::{EventType, UrlNotAllowed, WebhookUrl};
use crate::error::ApiError;

/// A subscription, never its secret.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "019a5f3e-7c1d-7f00-8000-000000000002", "url": "https://hooks.registrar.example.com/filingdesk", "events": ["ticket.submitted", "ticket.resolved"], "description": "ticket desk", "enabled": true, "previous_secret_until": null, "created_at": "2026-11-26T08:00:00Z", "updated_at": "2026-11-26T08:00:00Z"}))]
pub struct WebhookView {
    pub id: uuid::Uuid,
    #[schema(example = "https://hooks.registrar.example.com/filingdesk")]
    pub url: String,
    pub events: Vec<EventType>,
    pub description: Option<String>,
    pub enabled: bool,
    /// Until then the secret replaced by the last rotation still signs,
    /// beside the new one.
    #[serde(serialize_with = "crate::http::time::utc_opt")]
    pub previous_secret_until: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::http::time::utc")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::http::time::utc")]
    pub updated_at: DateTime<Utc>,
}

impl From<WebhookRow> for WebhookView {
    fn from(r: WebhookRow) -> Self {
        Self {
            id: uuid::Uuid::parse_str(&r.id).unwrap_or_default(),
            url: r.url,
            events: EventType::split(&r.events),
            description: r.description,
            enabled: r.enabled,
            previous_secret_until: r.previous_until.filter(|_| r.previous_secret_enc.is_some()).map(|t| t.and_utc()),
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
        }
    }
}

/// A subscription with its secret: the answer to creating it or rotating
/// the secret, the only times it is shown.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "019a5f3e-7c1d-7f00-8000-000000000002", "url": "https://hooks.registrar.example.com/filingdesk", "events": ["ticket.submitted", "ticket.resolved"], "description": "ticket desk", "enabled": true, "previous_secret_until": null, "created_at": "2026-11-26T08:00:00Z", "updated_at": "2026-11-26T08:00:00Z", "secret": "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"}))]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// `whsec_` and the base64 signing key (Standard Webhooks); shown this once.
    pub secret: String,
}

/// One event's delivery to one subscription.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "019a5f40-0000-7000-8000-000000000003", "event_type": "ticket.submitted", "status": "failed", "attempts": 2, "response_status": 503, "response_excerpt": "upstream unavailable", "last_error": "answered 503", "next_attempt_at": "2026-11-26T08:35:05Z", "created_at": "2026-11-26T08:30:00Z", "delivered_at": null}))]
pub struct DeliveryView {
    /// Also the `webhook-id` header of every attempt.
    pub id: uuid::Uuid,
    pub event_type: String,
    /// `pending`, `delivered`, `failed` (will be retried) or `dead`.
    pub status: String,
    pub attempts: i32,
    /// The receiver's last HTTP status.
    pub response_status: Option<i32>,
    /// The first bytes of the receiver's last answer.
    pub response_excerpt: Option<String>,
    pub last_error: Option<String>,
    #[serde(serialize_with = "crate::http::time::utc_opt")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::http::time::utc")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::http::time::utc_opt")]
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<DeliveryRow> for DeliveryView {
    fn from(r: DeliveryRow) -> Self {
        let waiting = matches!(r.status.as_str(), "pending" | "failed");
        Self {
            id: uuid::Uuid::parse_str(&r.id).unwrap_or_default(),
            event_type: r.event_type,
            status: r.status,
            attempts: r.attempts,
            response_status: r.response_status,
            response_excerpt: r.response_excerpt,
            last_error: r.last_error,
            next_attempt_at: waiting.then(|| r.next_attempt_at.and_utc()),
            created_at: r.created_at.and_utc(),
            delivered_at: r.delivered_at.map(|t| t.and_utc()),
        }
    }
}

/// `{"delivery_id"}`: what was queued.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryQueued {
    pub delivery_id: uuid::Uuid,
}

fn url_refused(e: UrlNotAllowed) -> ApiError {
    ApiError::Unprocessable { code: "url_not_allowed", detail: e.0 }
}

fn parse_url(raw: &str, allow_private: bool) -> Result<WebhookUrl, ApiError> {
    WebhookUrl::parse(raw, allow_private).map_err(url_refused)
}
