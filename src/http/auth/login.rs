//! `POST /api/v1/auth/login`.

use actix_web::{post, web, HttpResponse};
use chrono::Duration;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{issue_session, may_sign_in, TokenPair};
use crate::db::{self, staff::Owner};
use crate::error::ApiError;
use crate::http::AppState;
use crate::security::password;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The tenant's slug; `null` or absent for platform staff.
    #[serde(default)]
    pub tenant: Option<String>,
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("tenant", &self.tenant)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Longest password we will hash: more is a denial-of-service attempt.
const MAX_PASSWORD_BYTES: usize = 4096;

/// Sign in as staff.
///
/// Unknown tenant, unknown user and wrong password take the same path and
/// get the same 401. After too many failures the account is locked (423) for
/// a while. A correct password on a disabled account or a suspended tenant
/// gets 403.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenPair),
        (status = 401, description = "Bad credentials"),
        (status = 403, description = "Account disabled or tenant suspended"),
        (status = 423, description = "Locked after too many failures"),
    )
)]
#[post("/auth/login")]
pub async fn login(state: web::Data<AppState>, body: web::Json<LoginRequest>) -> Result<HttpResponse, ApiError> {
    let req = body.into_inner();
    if req.password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::field("password", "too_long", "password is too long"));
    }
    let username = req.username.trim().to_owned();
    let slug = req.tenant.as_deref().map(str::trim).map(str::to_owned);
    let found = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            let owner = match slug.as_deref() {
                None | Some("") => Owner::Platform,
                Some(s) => match db::tenants::find_by_slug(conn, s)? {
                    Some(t) => Owner::Tenant(
                        crate::domain::ids::TenantId::parse(&t.id).ok_or_else(|| anyhow::anyhow!("bad tenant id"))?,
                    ),
                    None => return Ok(None),
                },
            };
            Ok(db::staff::find_by_username(conn, owner, &username)?)
        })
        .await?;

    let ok = password::verify_blocking(req.password, found.as_ref().map(|s| s.password_hash.clone())).await;
    let Some(staff) = found else {
        return Err(ApiError::Unauthorized("invalid credentials"));
    };
    let now = db::now();
    if staff.locked_until.is_some_and(|until| until > now) {
        return Err(ApiError::Locked);
    }
    let settings = state.settings.clone();
    let jwt = state.jwt.clone();
    if !ok {
        let (max, minutes) = (settings.login_max_failures as i32, i64::from(settings.lockout_minutes));
        let id = staff.id.clone();
        state
            .db
            .transaction(move |conn| -> Result<_, ApiError> {
                db::staff::record_failure(conn, &id, |n| (n >= max).then(|| now + Duration::minutes(minutes)))?;
                Ok(())
            })
            .await?;
        return Err(ApiError::Unauthorized("invalid credentials"));
    }
    let pair = state
        .db
        .transaction(move |conn| -> Result<_, ApiError> {
            may_sign_in(conn, &staff)??;
            db::staff::record_success(conn, &staff.id)?;
            issue_session(conn, &jwt, &settings, &staff, None)
        })
        .await?;
    Ok(HttpResponse::Ok().json(pair))
}
