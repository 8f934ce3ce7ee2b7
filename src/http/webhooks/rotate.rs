//! `POST /api/v1/webhooks/{id}/rotate-secret`.

use actix_web::{post, web, HttpResponse};

use super::{WebhookView, WebhookWithSecret};
use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db;
use crate::domain::role::Role;
use crate::error::ApiError;
use crate::http::extract::{uuid_path_id, CurrentStaff};
use crate::http::AppState;
use crate::webhooks::PREVIOUS_SECRET_HOURS;

/// Replace a webhook subscription's signing secret (tenant admin).
///
/// The new secret is shown this once. For 24 hours deliveries carry two signatures (`v1,<new> v1,<old>`), so the receiver can switch without losing an event. Audited as `webhook.secret_rotated`.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Subscription id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The subscription with its new secret, shown this once", body = WebhookWithSecret))
)]
#[post("/webhooks/{id}/rotate-secret")]
pub async fn rotate_webhook_secret(
    state: web::Data<AppState>,
    me: CurrentStaff,
    meta: RequestMeta,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(&[Role::TenantAdmin], None)?;
    let id = uuid_path_id(&id)?;
    let secret = crate::webhooks::new_secret();
    let (plain, cipher) = (secret.clone(), state.cipher.clone());
    let row = state
        .db
        .transaction_for(tenant, move |conn| -> Result<_, ApiError> {
            let mut row = db::webhooks::find(conn, tenant, &id)?.ok_or(ApiError::NotFound)?;
            let now = db::now();
            row.previous_secret_enc =
                Some(std::mem::replace(&mut row.secret_enc, crate::webhooks::seal(&cipher, &row.id, &plain)));
            row.previous_until = Some(now + chrono::Duration::hours(PREVIOUS_SECRET_HOURS));
            row.updated_at = now;
            db::webhooks::save(conn, &row)?;
            let e = Event::new("webhook.secret_rotated", Actor::Staff(me.id))
                .tenant(Some(tenant))
                .target("webhook", &row.id)
                .details(serde_json::json!({"previous_until": row.previous_until.map(|t| t.and_utc())}));
            audit::record(conn, &meta, e)?;
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(WebhookWithSecret { webhook: WebhookView::from(row), secret }))
}
