//! `GET /api/v1/agencies/{id}`.

use actix_web::{get, web, HttpResponse};

use super::{agency_id, AgencyView};
use crate::db;
use crate::domain::role::Role;
use crate::error::ApiError;
use crate::http::extract::{CurrentStaff, Query};
use crate::http::settings::TenantParam;
use crate::http::AppState;

/// Read an agency.
///
/// Tenant admins only; another tenant's agency is 404.
#[utoipa::path(
    tag = "agencies",
    params(("id" = uuid::Uuid, Path, description = "Agency id"), TenantParam),
    security(("bearer" = [])),
    responses((status = 200, description = "The agency", body = AgencyView))
)]
#[get("/agencies/{id}")]
pub async fn get_agency(
    state: web::Data<AppState>,
    me: CurrentStaff,
    id: web::Path<String>,
    q: Query<TenantParam>,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(&[Role::TenantAdmin], q.tenant_id)?;
    let id = agency_id(&id)?;
    let row =
        state.db.run_for(tenant, move |conn| db::agencies::find(conn, tenant, id).map_err(ApiError::from)).await?;
    Ok(HttpResponse::Ok().json(AgencyView::from(row.ok_or(ApiError::NotFound)?)))
}
