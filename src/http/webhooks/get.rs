//! `GET /api/v1/webhooks/{id}`.

use actix_web::{get, web, HttpResponse};

use super::WebhookView;
use crate::db;
use crate::domain::role::Role;
use crate::error::ApiError;
use crate::http::extract::{uuid_path_id, CurrentStaff};
use crate::http::AppState;

/// Read a webhook subscription (tenant admin).
///
/// Never its secret; another tenant's, or a deleted one, is 404.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Subscription id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The subscription", body = WebhookView))
)]
#[get("/webhooks/{id}")]
pub async fn get_webhook(
    state: web::Data<AppState>,
    me: CurrentStaff,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(&[Role::TenantAdmin], None)?;
    let id = uuid_path_id(&id)?;
    let row =
        state.db.run_for(tenant, move |conn| db::webhooks::find(conn, tenant, &id)?.ok_or(ApiError::NotFound)).await?;
    Ok(HttpResponse::Ok().json(WebhookView::from(row)))
}
