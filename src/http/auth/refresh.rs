//! `POST /api/v1/auth/refresh`.

use actix_web::{post, web, HttpResponse};
use serde_json::json;

use super::{issue_session, may_sign_in, RefreshRequest, TokenPair};
use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db::{self, staff::Owner};
use crate::domain::ids::{StaffId, TenantId};
use crate::error::ApiError;
use crate::http::extract::Json;
use crate::http::limits::{enforce, Keys};
use crate::http::AppState;
use crate::security::tokens;

enum Outcome {
    Renewed(TokenPair),
    /// Unknown, spent, revoked or expired; a spent one revoked its family.
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
    meta: RequestMeta,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let keys = Keys {
        group: "refresh",
        actor: None,
        address: meta.ip.as_deref(),
        tenant_slug: None,
        tenant: None,
        target: None,
    };
    enforce(&state, keys).await?;
    let hash = tokens::digest(&body.refresh_token);
    let (settings, jwt) = (state.settings.clone(), state.jwt.clone());
    let outcome = state
        .db
        .transaction(move |conn| -> Result<_, ApiError> {
            let now = db::now();
            let Some(row) = db::refresh_tokens::find_by_hash(conn, &hash)? else {
                return Ok(Outcome::Refused);
            };
            let tenant = row.tenant_id.as_deref().and_then(TenantId::parse);
            let staff_id = StaffId::parse(&row.staff_id).ok_or_else(|| anyhow::anyhow!("bad staff id"))?;
            let event = |action: &'static str| {
                Event::new(action, Actor::Staff(staff_id)).tenant(tenant).target("staff", staff_id)
            };
            if row.revoked_at.is_some() && row.used_at.is_none() {
                // Signed out, or ended by a password change or a disabled
                // account: refused, and nothing more to revoke.
                return Ok(Outcome::Refused);
            }
            if row.used_at.is_some() || !db::refresh_tokens::spend(conn, &row.id, now)? {
                let revoked = db::refresh_tokens::revoke_family(conn, &row.family_id, now)?;
                let e = event("auth.refresh.reuse_detected")
                    .details(json!({"family_id": row.family_id, "tokens_revoked": revoked}));
                audit::record(conn, &meta, e)?;
                return Ok(Outcome::Refused);
            }
            if row.expires_at <= now {
                return Ok(Outcome::Refused);
            }
            let staff = db::staff::find(conn, Owner::from_tenant(tenant), staff_id)?;
            let Some(staff) = staff.filter(|s| matches!(may_sign_in(conn, s), Ok(Ok(())))) else {
                db::refresh_tokens::revoke_family(conn, &row.family_id, now)?;
                audit::record(conn, &meta, event("auth.refresh.refused").details(json!({"reason": "inactive"})))?;
                return Ok(Outcome::Refused);
            };
            audit::record(conn, &meta, event("auth.token.refreshed").details(json!({"family_id": row.family_id})))?;
            Ok(Outcome::Renewed(issue_session(conn, &jwt, &settings, &staff, Some(&row.family_id))?))
        })
        .await?;
    match outcome {
        Outcome::Renewed(pair) => Ok(HttpResponse::Ok().json(pair)),
        Outcome::Refused => Err(ApiError::Unauthorized("the refresh token is invalid, expired or already used")),
    }
}
