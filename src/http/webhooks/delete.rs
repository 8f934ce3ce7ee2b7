//! `DELETE /api/v1/webhooks/{id}`.

use actix_web::{delete, web, HttpResponse};

use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db;
use crate::domain::role::Role;
use crate::error::ApiError;
use crate::http::extract::{uuid_path_id, CurrentStaff};
use crate::http::AppState;

/// Delete a webhook subscription (tenant admin).
///
/// Nothing more is sent to it; deliveries still queued are given up (`dead`). Audited as `webhook.deleted`.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Subscription id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/webhooks/{id}")]
pub async fn delete_webhook(
    state: web::Data<AppState>,
    me: CurrentStaff,
    meta: RequestMeta,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(&[Role::TenantAdmin], None)?;
    let id = uuid_path_id(&id)?;
    state
        .db
        .transaction_for(tenant, move |conn| -> Result<_, ApiError> {
            let mut row = db::webhooks::find(conn, tenant, &id)?.ok_or(ApiError::NotFound)?;
            let now = db::now();
            row.deleted_at = Some(now);
            row.updated_at = now;
            db::webhooks::save(conn, &row)?;
            let e = Event::new("webhook.deleted", Actor::Staff(me.id))
                .tenant(Some(tenant))
                .target("webhook", &row.id)
                .details(serde_json::json!({"url": row.url}));
            audit::record(conn, &meta, e)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
