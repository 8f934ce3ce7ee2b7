//! `GET /api/v1/staff`.

use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::StaffView;
use crate::db::{self, staff::Owner};
use crate::domain::role::Role;
use crate::error::ApiError;
use crate::http::extract::{CurrentStaff, Page, PageParams, Query};
use crate::http::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StaffFilter {
    /// Not for use: the platform admin lists the platform's own staff only
    /// (a tenant's staff: 403).
    pub tenant_id: Option<uuid::Uuid>,
}

/// List staff, newest first.
///
/// A tenant admin lists the tenant's staff; the platform admin the platform's own (a tenant's staff: 403).
#[utoipa::path(
    tag = "staff",
    params(StaffFilter, PageParams),
    security(("bearer" = [])),
    responses((status = 200, description = "A page of staff", body = Page<StaffView>))
)]
#[get("/staff")]
pub async fn list_staff(
    state: web::Data<AppState>,
    me: CurrentStaff,
    filter: Query<StaffFilter>,
    q: Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    me.require(&[Role::PlatformAdmin, Role::TenantAdmin])?;
    let owner = match (me.tenant, filter.tenant_id) {
        (Some(own), _) => Owner::Tenant(own),
        (None, None) => Owner::Platform,
        // A tenant's staff are its own business (DESIGN.md, roles).
        (None, Some(_)) => return Err(ApiError::forbidden("the platform admin does not manage a tenant's staff")),
    };
    let page = q.parse()?;
    let rows = state
        .db
        .run(move |conn| db::staff::list(conn, owner, page.after.as_deref(), page.limit + 1).map_err(ApiError::from))
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, page.limit, |r| r.id.clone(), StaffView::from)))
}
