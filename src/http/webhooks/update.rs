//! `PATCH /api/v1/webhooks/{id}`.

use actix_web::{patch, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{parse_url, WebhookView};
use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db;
use crate::domain::role::Role;
use crate::domain::webhook::EventType;
use crate::domain::{parse_text, Violations};
use crate::error::ApiError;
use crate::http::extract::{uuid_path_id, CurrentStaff, Json};
use crate::http::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"events": ["ticket.submitted", "ticket.status_changed"], "enabled": false}))]
pub struct UpdateWebhook {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    /// An empty string removes it.
    pub description: Option<String>,
    /// A disabled subscription gets nothing; its queued deliveries wait.
    pub enabled: Option<bool>,
}

/// Change a webhook subscription (tenant admin).
///
/// URL, events, description, enabled; the URL rules of creation apply (422 `url_not_allowed`). Audited as `webhook.updated`.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Subscription id")),
    request_body = UpdateWebhook,
    security(("bearer" = [])),
    responses((status = 200, description = "The subscription as it is now", body = WebhookView))
)]
#[patch("/webhooks/{id}")]
pub async fn update_webhook(
    state: web::Data<AppState>,
    me: CurrentStaff,
    meta: RequestMeta,
    id: web::Path<String>,
    body: Json<UpdateWebhook>,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(&[Role::TenantAdmin], None)?;
    let id = uuid_path_id(&id)?;
    let body = body.into_inner();
    let mut v = Violations::default();
    let events = match &body.events {
        Some(e) => v.check(EventType::parse_list(e)),
        None => None,
    };
    let description = match body.description.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(None),
        Some(d) => v.check(parse_text("description", d, 200)).map(Some),
    };
    v.finish().map_err(ApiError::Validation)?;
    let url = body.url.as_deref().map(|u| parse_url(u, state.settings.webhook_allow_private)).transpose()?;
    let enabled = body.enabled;
    let row = state
        .db
        .transaction_for(tenant, move |conn| -> Result<_, ApiError> {
            let mut row = db::webhooks::find(conn, tenant, &id)?.ok_or(ApiError::NotFound)?;
            let before = serde_json::json!({"url": row.url, "events": row.events, "description": row.description, "enabled": row.enabled});
            if let Some(u) = url {
                row.url = u.as_str().to_owned();
            }
            if let Some(e) = events {
                row.events = EventType::join(&e);
            }
            if let Some(d) = description {
                row.description = d;
            }
            if let Some(e) = enabled {
                row.enabled = e;
            }
            row.updated_at = db::now();
            db::webhooks::save(conn, &row)?;
            let after = serde_json::json!({"url": row.url, "events": row.events, "description": row.description, "enabled": row.enabled});
            let e = Event::new("webhook.updated", Actor::Staff(me.id))
                .tenant(Some(tenant))
                .target("webhook", &row.id)
                .details(serde_json::json!({"changes": audit::changes(&before, &after)}));
            audit::record(conn, &meta, e)?;
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(WebhookView::from(row)))
}
