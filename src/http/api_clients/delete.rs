//! `DELETE /api/v1/api-clients/{id}`.

use actix_web::{delete, web, HttpResponse};

use crate::audit::{self, Event, RequestMeta};
use crate::db;
use crate::domain::role::Role;
use crate::error::ApiError;
use crate::http::extract::{uuid_path_id, CurrentStaff};
use crate::http::AppState;

/// Revoke an API client (tenant admin).
///
/// Its secret and every token it holds stop working at once (a client's standing is read on every request). Audited as `api_client.revoked`.
#[utoipa::path(
    tag = "api-clients",
    params(("id" = uuid::Uuid, Path, description = "API client id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Revoked"))
)]
#[delete("/api-clients/{id}")]
pub async fn delete_api_client(
    state: web::Data<AppState>,
    me: CurrentStaff,
    meta: RequestMeta,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(&[Role::TenantAdmin], None)?;
    let id = uuid_path_id(&id)?;
    state
        .db
        .transaction_for(tenant, move |conn| -> Result<_, ApiError> {
            if !db::api_clients::revoke(conn, tenant, &id, db::now())? {
                return Err(ApiError::NotFound);
            }
            let e = Event::new("api_client.revoked", audit::Actor::Staff(me.id))
                .tenant(Some(tenant))
                .target("api_client", &id);
            audit::record(conn, &meta, e)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
