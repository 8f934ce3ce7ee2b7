//! `PUT /api/v1/settings`.

use actix_web::{put, web, HttpResponse};

use super::TenantParam;
use crate::db;
use crate::domain::ids::TenantId;
use crate::domain::role::Role;
use crate::domain::settings::{SettingsUpdate, TenantSettings};
use crate::error::ApiError;
use crate::http::extract::CurrentStaff;
use crate::http::AppState;

/// Change the tenant's settings.
///
/// Fields left out keep their values; every broken rule is reported at once
/// and nothing is saved unless all pass.
#[utoipa::path(
    tag = "settings",
    params(TenantParam),
    request_body = SettingsUpdate,
    security(("bearer" = [])),
    responses((status = 200, description = "The saved settings", body = TenantSettings))
)]
#[put("/settings")]
pub async fn update_settings(
    state: web::Data<AppState>,
    me: CurrentStaff,
    q: web::Query<TenantParam>,
    body: web::Json<SettingsUpdate>,
) -> Result<HttpResponse, ApiError> {
    me.require(&[Role::PlatformAdmin, Role::TenantAdmin])?;
    let tenant = me.tenant_scope(q.tenant_id.map(TenantId::from))?;
    let update = body.into_inner();
    let saved = state
        .db
        .transaction(move |conn| -> Result<_, ApiError> {
            db::tenants::find(conn, tenant)?.ok_or(ApiError::NotFound)?;
            let next = db::settings::get(conn, tenant)?.apply(update).map_err(ApiError::Validation)?;
            db::settings::put(conn, tenant, &next)?;
            Ok(next)
        })
        .await?;
    Ok(HttpResponse::Ok().json(saved))
}
