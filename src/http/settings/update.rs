//! `PUT /api/v1/settings`.

use actix_web::{put, web, HttpResponse};

use super::TenantParam;
use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db;
use crate::domain::role::Role;
use crate::domain::settings::{SettingsUpdate, TenantSettings};
use crate::error::ApiError;
use crate::http::extract::{CurrentStaff, Json, Query};
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
    q: Query<TenantParam>,
    meta: RequestMeta,
    body: Json<SettingsUpdate>,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(&[Role::TenantAdmin], q.tenant_id)?;
    let update = body.into_inner();
    let saved = state
        .db
        .transaction_for(tenant, move |conn| -> Result<_, ApiError> {
            db::tenants::find(conn, tenant)?.ok_or(ApiError::NotFound)?;
            let current = db::settings::get(conn, tenant)?;
            let next = current.apply(update).map_err(ApiError::Validation)?;
            db::settings::put(conn, tenant, &next)?;
            let diff = audit::changes(
                &serde_json::to_value(&current).map_err(anyhow::Error::from)?,
                &serde_json::to_value(&next).map_err(anyhow::Error::from)?,
            );
            let e = Event::new("settings.updated", Actor::Staff(me.id))
                .tenant(Some(tenant))
                .target("tenant", tenant)
                .details(serde_json::json!({ "changes": diff }));
            audit::record(conn, &meta, e)?;
            Ok(next)
        })
        .await?;
    Ok(HttpResponse::Ok().json(saved))
}
