//! `DELETE /api/v1/agencies/{id}/authorizations/{authorization_id}`.

use actix_web::{delete, web, HttpResponse};

use super::agency_id;
use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db;
use crate::domain::role::Role;
use crate::error::ApiError;
use crate::http::extract::{parse_path_id, CurrentStaff, Query};
use crate::http::settings::TenantParam;
use crate::http::AppState;

/// Withdraw an authorization at once.
///
/// The row stays, with `revoked_at`; the agency's agents lose the filing on their next request. Audited.
#[utoipa::path(
    tag = "agencies",
    params(
        ("id" = uuid::Uuid, Path, description = "Agency id"),
        ("authorization_id" = uuid::Uuid, Path, description = "Authorization id"),
        TenantParam,
    ),
    security(("bearer" = [])),
    responses((status = 204, description = "Withdrawn"))
)]
#[delete("/agencies/{id}/authorizations/{authorization_id}")]
pub async fn revoke_authorization(
    state: web::Data<AppState>,
    me: CurrentStaff,
    meta: RequestMeta,
    path: web::Path<(String, String)>,
    q: Query<TenantParam>,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(&[Role::TenantAdmin], q.tenant_id)?;
    let agency = agency_id(&path.0)?;
    let auth = parse_path_id(&path.1, |s| uuid::Uuid::parse_str(s).ok())?.to_string();
    state
        .db
        .transaction_for(tenant, move |conn| -> Result<_, ApiError> {
            if !db::agencies::revoke(conn, tenant, agency, &auth, db::now())? {
                return Err(ApiError::NotFound);
            }
            let e = Event::new("agency.authorization.revoked", Actor::Staff(me.id))
                .tenant(Some(tenant))
                .target("agency", agency.to_string())
                .details(serde_json::json!({"authorization_id": auth}));
            audit::record(conn, &meta, e)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
