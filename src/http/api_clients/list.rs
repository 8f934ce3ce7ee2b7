//! `GET /api/v1/api-clients`.

use actix_web::{get, web, HttpResponse};

use super::ApiClientView;
use crate::db;
use crate::domain::role::Role;
use crate::error::ApiError;
use crate::http::extract::{CurrentStaff, Page, PageParams, Query};
use crate::http::AppState;

/// List the tenant's API clients, newest first (tenant admin).
///
/// Revoked clients are left out; a secret is never shown here.
#[utoipa::path(
    tag = "api-clients",
    params(PageParams),
    security(("bearer" = [])),
    responses((status = 200, description = "A page of API clients", body = Page<ApiClientView>))
)]
#[get("/api-clients")]
pub async fn list_api_clients(
    state: web::Data<AppState>,
    me: CurrentStaff,
    p: Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(&[Role::TenantAdmin], None)?;
    let page = p.parse()?;
    let rows = state
        .db
        .run_for(tenant, move |conn| {
            db::api_clients::list(conn, tenant, page.after.as_deref(), page.limit + 1).map_err(ApiError::from)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, page.limit, |r| r.id.clone(), ApiClientView::from)))
}
