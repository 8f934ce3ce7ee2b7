//! `POST /api/v1/auth/logout`.

use actix_web::{post, web, HttpResponse};
use serde_json::json;

use super::RefreshRequest;
use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db;
use crate::domain::ids::{StaffId, TenantId};
use crate::error::ApiError;
use crate::http::AppState;
use crate::security::tokens;

/// Sign out: revoke the session the refresh token belongs to.
///
/// Answers 204 whether or not the token was known, so it reveals nothing.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses((status = 204, description = "Signed out"))
)]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    meta: RequestMeta,
    body: web::Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let hash = tokens::digest(&body.refresh_token);
    state
        .db
        .transaction(move |conn| -> Result<_, ApiError> {
            let Some(row) = db::refresh_tokens::find_by_hash(conn, &hash)? else { return Ok(()) };
            let revoked = db::refresh_tokens::revoke_family(conn, &row.family_id, db::now())?;
            if let Some(staff) = StaffId::parse(&row.staff_id) {
                let e = Event::new("auth.logout", Actor::Staff(staff))
                    .tenant(row.tenant_id.as_deref().and_then(TenantId::parse))
                    .target("staff", staff)
                    .details(json!({"family_id": row.family_id, "tokens_revoked": revoked}));
                audit::record(conn, &meta, e)?;
            }
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
