//! `GET /api/v1/audit-events/verify`.

use actix_web::{get, web, HttpResponse};

use super::AuditFilter;
use crate::audit::chain::{self, ChainVerification};
use crate::error::ApiError;
use crate::http::extract::{CurrentStaff, Query};
use crate::http::AppState;

/// Verify the audit chain.
///
/// Walks the whole chain and names the first event whose hash does not match or that follows a gap (`ok: false`, `first_broken_id`).
#[utoipa::path(
    tag = "audit",
    params(AuditFilter),
    security(("bearer" = [])),
    responses((status = 200, description = "The result of the walk", body = ChainVerification))
)]
#[get("/audit-events/verify")]
pub async fn verify_audit_events(
    state: web::Data<AppState>,
    me: CurrentStaff,
    q: Query<AuditFilter>,
) -> Result<HttpResponse, ApiError> {
    let chain = q.chain(&me)?;
    let result = state.db.run(move |conn| chain::verify(conn, &chain).map_err(ApiError::from)).await?;
    Ok(HttpResponse::Ok().json(result))
}
