//! `GET /api/v1/tenants/{id}`.

use actix_web::{get, web, HttpResponse};

use super::TenantView;
use crate::db;
use crate::domain::ids::TenantId;
use crate::error::ApiError;
use crate::http::extract::{parse_path_id, CurrentStaff};
use crate::http::AppState;

/// Read a tenant.
///
/// The platform admin reads any; a tenant's staff their own; any other is 404.
#[utoipa::path(
    tag = "tenants",
    params(("id" = uuid::Uuid, Path, description = "Tenant id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The tenant", body = TenantView))
)]
#[get("/tenants/{id}")]
pub async fn get_tenant(
    state: web::Data<AppState>,
    me: CurrentStaff,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_path_id(&id, TenantId::parse)?;
    if me.tenant.is_some_and(|own| own != id) {
        return Err(ApiError::NotFound);
    }
    let row = state.db.run(move |conn| db::tenants::find(conn, id).map_err(ApiError::from)).await?;
    Ok(HttpResponse::Ok().json(TenantView::from(row.ok_or(ApiError::NotFound)?)))
}
