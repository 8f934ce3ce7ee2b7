//! `GET /api/v1/settings`.

use actix_web::{get, web, HttpResponse};

use super::TenantParam;
use crate::db;
use crate::domain::role::Role;
use crate::domain::settings::TenantSettings;
use crate::error::ApiError;
use crate::http::extract::{CurrentStaff, Query};
use crate::http::AppState;

/// Read the tenant's settings.
///
/// Password policy, generated password length and lifetime, reset mode, approvals and SLA hours per kind, lockout, rate limits, SMS budget, default locale (tenant admins).
#[utoipa::path(
    tag = "settings",
    params(TenantParam),
    security(("bearer" = [])),
    responses((status = 200, description = "The settings, defaults filled in", body = TenantSettings))
)]
#[get("/settings")]
pub async fn get_settings(
    state: web::Data<AppState>,
    me: CurrentStaff,
    q: Query<TenantParam>,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(&[Role::TenantAdmin], q.tenant_id)?;
    let settings = state
        .db
        .run_for(tenant, move |conn| -> Result<_, ApiError> {
            db::tenants::find(conn, tenant)?.ok_or(ApiError::NotFound)?;
            Ok(db::settings::get(conn, tenant)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(settings))
}
