//! `POST /api/v1/auth/refresh`.

use actix_web::{post, web, HttpResponse};

use super::{issue_session, may_sign_in, RefreshRequest, TokenPair};
use crate::db::{self, staff::Owner};
use crate::domain::ids::{StaffId, TenantId};
use crate::error::ApiError;
use crate::http::AppState;
use crate::security::tokens;

enum Outcome {
    Renewed(TokenPair),
    /// A spent or revoked token was presented: its family is now revoked.
    Refused,
}

/// Renew a session.
///
/// The refresh token is spent and a new pair returned. Presenting a spent
/// token again revokes every token of its sign-in (reuse means it leaked).
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair", body = TokenPair),
        (status = 401, description = "Unknown, expired, spent or revoked refresh token"),
    )
)]
#[post("/auth/refresh")]
pub async fn refresh_token(
    state: web::Data<AppState>,
    body: web::Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let hash = tokens::digest(&body.refresh_token);
    let (settings, jwt) = (state.settings.clone(), state.jwt.clone());
    let outcome = state
        .db
        .transaction(move |conn| -> Result<_, ApiError> {
            let now = db::now();
            let Some(row) = db::refresh_tokens::find_by_hash(conn, &hash)? else {
                return Ok(Outcome::Refused);
            };
            if row.used_at.is_some() || row.revoked_at.is_some() || !db::refresh_tokens::spend(conn, &row.id, now)? {
                db::refresh_tokens::revoke_family(conn, &row.family_id, now)?;
                return Ok(Outcome::Refused);
            }
            if row.expires_at <= now {
                return Ok(Outcome::Refused);
            }
            let staff_id = StaffId::parse(&row.staff_id).ok_or_else(|| anyhow::anyhow!("bad staff id"))?;
            let owner = Owner::from_tenant(row.tenant_id.as_deref().and_then(TenantId::parse));
            let staff = db::staff::find(conn, owner, staff_id)?;
            let Some(staff) = staff.filter(|s| matches!(may_sign_in(conn, s), Ok(Ok(())))) else {
                db::refresh_tokens::revoke_family(conn, &row.family_id, now)?;
                return Ok(Outcome::Refused);
            };
            Ok(Outcome::Renewed(issue_session(conn, &jwt, &settings, &staff, Some(&row.family_id))?))
        })
        .await?;
    match outcome {
        Outcome::Renewed(pair) => Ok(HttpResponse::Ok().json(pair)),
        Outcome::Refused => Err(ApiError::Unauthorized("the refresh token is invalid, expired or already used")),
    }
}
