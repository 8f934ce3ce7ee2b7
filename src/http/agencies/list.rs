//! `GET /api/v1/agencies`.

use actix_web::{get, web, HttpResponse};

use super::AgencyView;
use crate::db;
use crate::domain::role::Role;
use crate::error::ApiError;
use crate::http::extract::{CurrentStaff, Page, PageParams, Query};
use crate::http::settings::TenantParam;
use crate::http::AppState;

/// List the tenant's agencies, newest first.
///
/// Tenant admins only. Keyset paging with `limit` and `cursor`.
#[utoipa::path(
    tag = "agencies",
    params(TenantParam, PageParams),
    security(("bearer" = [])),
    responses((status = 200, description = "A page of agencies", body = Page<AgencyView>))
)]
#[get("/agencies")]
pub async fn list_agencies(
    state: web::Data<AppState>,
    me: CurrentStaff,
    q: Query<TenantParam>,
    p: Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(&[Role::TenantAdmin], q.tenant_id)?;
    let page = p.parse()?;
    let rows = state
        .db
        .run_for(tenant, move |conn| {
            db::agencies::list(conn, tenant, page.after.as_deref(), page.limit + 1).map_err(ApiError::from)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, page.limit, |r| r.id.clone(), AgencyView::from)))
}
