//! `POST /api/v1/webhooks/{id}/test`.

use actix_web::{post, web, HttpResponse};

use super::DeliveryQueued;
use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db;
use crate::domain::role::Role;
use crate::domain::webhook::EventType;
use crate::error::ApiError;
use crate::http::extract::{uuid_path_id, CurrentStaff};
use crate::http::AppState;

/// Send a test event (tenant admin).
///
/// Queues a `webhook.test` event for this subscription alone, delivered and logged like any other. Audited as `webhook.test_queued`.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Subscription id")),
    security(("bearer" = [])),
    responses((status = 202, description = "DeliveryQueued", body = DeliveryQueued))
)]
#[post("/webhooks/{id}/test")]
pub async fn test_webhook(
    state: web::Data<AppState>,
    me: CurrentStaff,
    meta: RequestMeta,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(&[Role::TenantAdmin], None)?;
    let id = uuid_path_id(&id)?;
    let delivery = state
        .db
        .transaction_for(tenant, move |conn| -> Result<_, ApiError> {
            let hook = db::webhooks::find(conn, tenant, &id)?.ok_or(ApiError::NotFound)?;
            let now = db::now();
            let data = serde_json::json!({"webhook_id": hook.id, "message": "a test event from filingdesk"});
            let body = crate::webhooks::body(EventType::WebhookTest, now, data);
            let d = crate::webhooks::queue(conn, &hook.tenant_id, &hook.id, EventType::WebhookTest, body, now)?;
            let e = Event::new("webhook.test_queued", Actor::Staff(me.id))
                .tenant(Some(tenant))
                .target("webhook", &hook.id)
                .details(serde_json::json!({"delivery_id": d.id}));
            audit::record(conn, &meta, e)?;
            Ok(d)
        })
        .await?;
    Ok(HttpResponse::Accepted()
        .json(DeliveryQueued { delivery_id: uuid::Uuid::parse_str(&delivery.id).unwrap_or_default() }))
}
