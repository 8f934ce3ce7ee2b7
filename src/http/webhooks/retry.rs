//! `POST /api/v1/webhooks/{id}/deliveries/{delivery_id}/retry`.

use actix_web::{post, web, HttpResponse};

use super::DeliveryQueued;
use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db;
use crate::domain::role::Role;
use crate::error::ApiError;
use crate::http::extract::{uuid_path_id, CurrentStaff};
use crate::http::AppState;

/// Send a delivery again (tenant admin).
///
/// A `failed`, `dead` or even `delivered` delivery is queued at once, with the same `webhook-id` and body (receivers deduplicate by the id); one still queued is 409 `already_queued`. Audited as `webhook.delivery_retried`.
#[utoipa::path(
    tag = "webhooks",
    params(
        ("id" = uuid::Uuid, Path, description = "Subscription id"),
        ("delivery_id" = uuid::Uuid, Path, description = "Delivery id"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "DeliveryQueued again", body = DeliveryQueued),
        (status = 409, description = "Still queued"),
    )
)]
#[post("/webhooks/{id}/deliveries/{delivery_id}/retry")]
pub async fn retry_delivery(
    state: web::Data<AppState>,
    me: CurrentStaff,
    meta: RequestMeta,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(&[Role::TenantAdmin], None)?;
    let (hook, delivery) = (uuid_path_id(&path.0)?, uuid_path_id(&path.1)?);
    let id = state
        .db
        .transaction_for(tenant, move |conn| -> Result<_, ApiError> {
            db::webhooks::find(conn, tenant, &hook)?.ok_or(ApiError::NotFound)?;
            let d = db::webhooks::find_delivery(conn, tenant, &hook, &delivery)?.ok_or(ApiError::NotFound)?;
            if !db::webhooks::requeue(conn, tenant, &d.id, db::now())? {
                return Err(ApiError::Conflict {
                    code: "already_queued",
                    detail: "this delivery is queued already".into(),
                });
            }
            let e = Event::new("webhook.delivery_retried", Actor::Staff(me.id))
                .tenant(Some(tenant))
                .target("webhook_delivery", &d.id)
                .details(serde_json::json!({"webhook_id": hook, "event_type": d.event_type, "status_was": d.status}));
            audit::record(conn, &meta, e)?;
            Ok(d.id)
        })
        .await?;
    Ok(HttpResponse::Accepted().json(DeliveryQueued { delivery_id: uuid::Uuid::parse_str(&id).unwrap_or_default() }))
}
