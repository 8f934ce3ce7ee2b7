//! `POST /api/v1/webhooks`.

use actix_web::{post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{parse_url, WebhookView, WebhookWithSecret};
use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db::{self, webhooks::WebhookRow};
use crate::domain::role::Role;
use crate::domain::webhook::EventType;
use crate::domain::{parse_text, Violations};
use crate::error::ApiError;
use crate::http::extract::{CurrentStaff, Json};
use crate::http::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://hooks.registrar.example.com/filingdesk", "events": ["ticket.submitted", "ticket.resolved", "audit.checkpoint"], "description": "ticket desk"}))]
pub struct CreateWebhook {
    /// `https://…`; `http://` only to a loopback or private address, and
    /// those only with `FILINGDESK_WEBHOOK_ALLOW_PRIVATE=1` (422 `url_not_allowed`).
    pub url: String,
    /// One or more of `ticket.submitted`, `ticket.status_changed`, `ticket.resolved`, `ticket.sla_breached`,
    /// `filing.password_changed`, `filing.contacts_changed`, `notification.dead`, `audit.checkpoint`.
    #[schema(min_items = 1)]
    pub events: Vec<String>,
    #[schema(max_length = 200)]
    pub description: Option<String>,
}

/// Subscribe to events (tenant admin).
///
/// Returns the subscription with its signing secret (`whsec_…`, Standard Webhooks), shown this once. Events are signed and delivered as Standard Webhooks 1.0 (`webhook-id`, `webhook-timestamp`, `webhook-signature`). Audited as `webhook.created`.
#[utoipa::path(
    tag = "webhooks",
    request_body = CreateWebhook,
    security(("bearer" = [])),
    responses((status = 201, description = "Created; the secret is shown this once", body = WebhookWithSecret))
)]
#[post("/webhooks")]
pub async fn create_webhook(
    state: web::Data<AppState>,
    me: CurrentStaff,
    meta: RequestMeta,
    body: Json<CreateWebhook>,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(&[Role::TenantAdmin], None)?;
    let mut v = Violations::default();
    let events = v.check(EventType::parse_list(&body.events));
    let description = match body.description.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => v.check(parse_text("description", d, 200)),
        None => None,
    };
    v.finish().map_err(ApiError::Validation)?;
    let events = events.expect("checked");
    let url = parse_url(&body.url, state.settings.webhook_allow_private)?;
    let secret = crate::webhooks::new_secret();
    let cipher = state.cipher.clone();
    let plain = secret.clone();
    let row = state
        .db
        .transaction_for(tenant, move |conn| -> Result<_, ApiError> {
            let now = db::now();
            let id = db::new_id();
            let row = WebhookRow {
                secret_enc: crate::webhooks::seal(&cipher, &id, &plain),
                id,
                tenant_id: tenant.to_string(),
                url: url.as_str().to_owned(),
                events: EventType::join(&events),
                description,
                previous_secret_enc: None,
                previous_until: None,
                enabled: true,
                created_at: now,
                updated_at: now,
                deleted_at: None,
            };
            db::webhooks::insert(conn, &row)?;
            let e = Event::new("webhook.created", Actor::Staff(me.id))
                .tenant(Some(tenant))
                .target("webhook", &row.id)
                .details(serde_json::json!({"url": row.url, "events": row.events}));
            audit::record(conn, &meta, e)?;
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Created().json(WebhookWithSecret { webhook: WebhookView::from(row), secret }))
}
