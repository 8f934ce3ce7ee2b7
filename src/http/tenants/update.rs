//! `PATCH /api/v1/tenants/{id}`.

use actix_web::{patch, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::TenantView;
use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db::{self, tenants::TenantChanges};
use crate::domain::ids::TenantId;
use crate::domain::parse_text;
use crate::domain::role::Role;
use crate::domain::tenant::TenantStatus;
use crate::error::ApiError;
use crate::http::extract::{parse_path_id, CurrentStaff, Json};
use crate::http::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "suspended"}))]
pub struct UpdateTenant {
    pub name: Option<String>,
    /// `suspended` signs out all of the tenant's staff and refuses new sign-ins.
    pub status: Option<TenantStatus>,
}

/// Rename, suspend or reactivate a tenant (platform admin).
///
/// Suspending ends every session of the tenant's staff at once and hides it from the public routes.
#[utoipa::path(
    tag = "tenants",
    params(("id" = uuid::Uuid, Path, description = "Tenant id")),
    request_body = UpdateTenant,
    security(("bearer" = [])),
    responses((status = 200, description = "The updated tenant", body = TenantView))
)]
#[patch("/tenants/{id}")]
pub async fn update_tenant(
    state: web::Data<AppState>,
    me: CurrentStaff,
    id: web::Path<String>,
    meta: RequestMeta,
    body: Json<UpdateTenant>,
) -> Result<HttpResponse, ApiError> {
    me.require(&[Role::PlatformAdmin])?;
    let id = parse_path_id(&id, TenantId::parse)?;
    let body = body.into_inner();
    let name = body
        .name
        .as_deref()
        .map(|n| parse_text("name", n, 200))
        .transpose()
        .map_err(|e| ApiError::Validation(vec![e]))?;
    let row = state
        .db
        .transaction(move |conn| -> Result<_, ApiError> {
            let before = TenantView::from(db::tenants::find(conn, id)?.ok_or(ApiError::NotFound)?);
            let now = db::now();
            let changes =
                TenantChanges { name, status: body.status.map(|s| s.as_str().to_owned()), updated_at: Some(now) };
            if db::tenants::update(conn, id, &changes)? == 0 {
                return Err(ApiError::NotFound);
            }
            if body.status == Some(TenantStatus::Suspended) {
                db::refresh_tokens::revoke_for_tenant(conn, &id.to_string(), now)?;
            }
            let row = db::tenants::find(conn, id)?.ok_or(ApiError::NotFound)?;
            let after = TenantView::from(row.clone());
            let diff = audit::changes(
                &serde_json::json!({"name": before.name, "status": before.status}),
                &serde_json::json!({"name": after.name, "status": after.status}),
            );
            let e = Event::new("tenant.updated", Actor::Staff(me.id))
                .tenant(Some(id))
                .target("tenant", id)
                .details(serde_json::json!({ "changes": diff }));
            audit::record(conn, &meta, e)?;
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(TenantView::from(row)))
}
