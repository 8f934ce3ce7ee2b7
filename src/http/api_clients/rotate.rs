//! `POST /api/v1/api-clients/{id}/rotate-secret`.

use actix_web::{post, web, HttpResponse};

use super::{new_secret, ApiClientWithSecret};
use crate::audit::{self, Event, RequestMeta};
use crate::db;
use crate::domain::role::Role;
use crate::error::ApiError;
use crate::http::extract::{uuid_path_id, CurrentStaff};
use crate::http::AppState;

/// Replace an API client's secret (tenant admin).
///
/// The new secret is shown this once; the old one, and every token issued with it, stop at once. Audited as `api_client.secret_rotated`.
#[utoipa::path(
    tag = "api-clients",
    params(("id" = uuid::Uuid, Path, description = "API client id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The client with its new secret, shown this once", body = ApiClientWithSecret))
)]
#[post("/api-clients/{id}/rotate-secret")]
pub async fn rotate_api_client_secret(
    state: web::Data<AppState>,
    me: CurrentStaff,
    meta: RequestMeta,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(&[Role::TenantAdmin], None)?;
    let id = uuid_path_id(&id)?;
    let (secret, hash) = new_secret();
    let row = state
        .db
        .transaction_for(tenant, move |conn| -> Result<_, ApiError> {
            let row = db::api_clients::rotate(conn, tenant, &id, &hash, db::now())?.ok_or(ApiError::NotFound)?;
            let e = Event::new("api_client.secret_rotated", audit::Actor::Staff(me.id))
                .tenant(Some(tenant))
                .target("api_client", &row.id)
                .details(serde_json::json!({"client_id": row.client_id, "secret_epoch": row.secret_epoch}));
            audit::record(conn, &meta, e)?;
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ApiClientWithSecret::new(row, secret)))
}
