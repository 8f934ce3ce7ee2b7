//! `POST /api/v1/auth/logout`.

use actix_web::{post, web, HttpResponse};
use serde_json::json;

use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db;
use crate::domain::ids::{StaffId, TenantId};
use crate::error::ApiError;
use crate::http::extract::Json;
use crate::http::AppState;
use crate::security::tokens;
use serde::Deserialize;
use utoipa::ToSchema;

/// `{"refresh_token", "everywhere"?}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"refresh_token": "5Kq0…", "everywhere": false}))]
pub struct LogoutRequest {
    pub refresh_token: String,
    /// Also end every other sign-in of the account (every refresh token).
    #[serde(default)]
    pub everywhere: bool,
}

/// Sign out: revoke the session the refresh token belongs to.
///
/// Every access token of the account stops working at once (other
/// sign-ins renew theirs with their refresh token); with `everywhere`,
/// every refresh token of the account is revoked too. Answers 204 whether
/// or not the token was known, so it reveals nothing.
#[utoipa::path(
    tag = "auth",
    request_body = LogoutRequest,
    responses((status = 204, description = "Signed out"))
)]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    meta: RequestMeta,
    body: Json<LogoutRequest>,
) -> Result<HttpResponse, ApiError> {
    let hash = tokens::digest(&body.refresh_token);
    let everywhere = body.everywhere;
    state
        .db
        .transaction(move |conn| -> Result<_, ApiError> {
            let Some(row) = db::refresh_tokens::find_by_hash(conn, &hash)? else { return Ok(()) };
            let now = db::now();
            let revoked = if everywhere {
                db::refresh_tokens::revoke_for_staff(conn, &row.staff_id, now)?
            } else {
                db::refresh_tokens::revoke_family(conn, &row.family_id, now)?
            };
            if let Some(staff) = StaffId::parse(&row.staff_id) {
                db::staff::end_sessions(conn, staff)?;
                let e = Event::new("auth.logout", Actor::Staff(staff))
                    .tenant(row.tenant_id.as_deref().and_then(TenantId::parse))
                    .target("staff", staff)
                    .details(json!({"family_id": row.family_id, "tokens_revoked": revoked, "everywhere": everywhere}));
                audit::record(conn, &meta, e)?;
            }
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
