//! `GET /api/v1/webhooks/{id}/deliveries`.

use actix_web::{get, web, HttpResponse};

use super::DeliveryView;
use crate::db;
use crate::domain::role::Role;
use crate::error::ApiError;
use crate::http::extract::{uuid_path_id, CurrentStaff, Page, PageParams, Query};
use crate::http::AppState;

/// A subscription's delivery log, newest first (tenant admin).
///
/// Each event's status (`pending`, `delivered`, `failed`, `dead`), attempts, the receiver's last HTTP status and the first bytes of its answer.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Subscription id"), PageParams),
    security(("bearer" = [])),
    responses((status = 200, description = "A page of deliveries", body = Page<DeliveryView>))
)]
#[get("/webhooks/{id}/deliveries")]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    me: CurrentStaff,
    id: web::Path<String>,
    p: Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(&[Role::TenantAdmin], None)?;
    let id = uuid_path_id(&id)?;
    let page = p.parse()?;
    let rows = state
        .db
        .run_for(tenant, move |conn| -> Result<_, ApiError> {
            db::webhooks::find(conn, tenant, &id)?.ok_or(ApiError::NotFound)?;
            Ok(db::webhooks::deliveries(conn, tenant, &id, page.after.as_deref(), page.limit + 1)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, page.limit, |r| r.id.clone(), DeliveryView::from)))
}
