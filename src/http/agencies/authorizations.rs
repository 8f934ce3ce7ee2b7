//! `GET /api/v1/agencies/{id}/authorizations`.

use actix_web::{get, web, HttpResponse};

use super::{agency_id, AuthorizationView};
use crate::db;
use crate::domain::role::Role;
use crate::error::ApiError;
use crate::http::extract::{CurrentStaff, Page, PageParams, Query};
use crate::http::settings::TenantParam;
use crate::http::AppState;

/// List an agency's authorizations.
///
/// Newest first, withdrawn and expired ones included, so an admin sees the whole history.
#[utoipa::path(
    tag = "agencies",
    params(("id" = uuid::Uuid, Path, description = "Agency id"), TenantParam, PageParams),
    security(("bearer" = [])),
    responses((status = 200, description = "A page of authorizations", body = Page<AuthorizationView>))
)]
#[get("/agencies/{id}/authorizations")]
pub async fn list_authorizations(
    state: web::Data<AppState>,
    me: CurrentStaff,
    id: web::Path<String>,
    q: Query<TenantParam>,
    p: Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(&[Role::TenantAdmin], q.tenant_id)?;
    let agency = agency_id(&id)?;
    let page = p.parse()?;
    let rows = state
        .db
        .run_for(tenant, move |conn| -> Result<_, ApiError> {
            db::agencies::find(conn, tenant, agency)?.ok_or(ApiError::NotFound)?;
            Ok(db::agencies::authorizations(conn, tenant, agency, page.after.as_deref(), page.limit + 1)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, page.limit, |r| r.id.clone(), AuthorizationView::from)))
}
