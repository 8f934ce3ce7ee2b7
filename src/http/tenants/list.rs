//! `GET /api/v1/tenants`.

use actix_web::{get, web, HttpResponse};

use super::TenantView;
use crate::db;
use crate::domain::role::Role;
use crate::error::ApiError;
use crate::http::extract::{CurrentStaff, Page, PageParams, Query};
use crate::http::AppState;

/// List tenants, newest first (platform admin).
///
/// Keyset paging with `limit` and `cursor`.
#[utoipa::path(
    tag = "tenants",
    params(PageParams),
    security(("bearer" = [])),
    responses((status = 200, description = "A page of tenants", body = Page<TenantView>))
)]
#[get("/tenants")]
pub async fn list_tenants(
    state: web::Data<AppState>,
    me: CurrentStaff,
    q: Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    me.require(&[Role::PlatformAdmin])?;
    let page = q.parse()?;
    let rows = state
        .db
        .run(move |conn| db::tenants::list(conn, page.after.as_deref(), page.limit + 1).map_err(ApiError::from))
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, page.limit, |r| r.id.clone(), TenantView::from)))
}
