//! `POST /api/v1/auth/login`.

use actix_web::{post, web, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::{issue_session, may_sign_in, TokenPair};
use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db::{self, staff::Owner};
use crate::domain::ids::{StaffId, TenantId};
use crate::error::ApiError;
use crate::http::extract::Json;
use crate::http::limits::{enforce, Keys};
use crate::http::AppState;
use crate::security::password;
use crate::signin::{self, Lockout, Principal};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"tenant": "acme", "username": "rita", "password": "Correct-Horse-42"}))]
pub struct LoginRequest {
    /// The tenant's slug; `null` or absent for platform staff.
    #[serde(default)]
    pub tenant: Option<String>,
    #[schema(min_length = 1, max_length = 64)]
    pub username: String,
    #[schema(min_length = 1, max_length = 4096)]
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
/// get the same 401. After `FILINGDESK_LOGIN_MAX_FAILURES` failures from
/// one client address that address is locked out (423 with `Retry-After`),
/// each lock twice as long as the one before; after ten times as many from
/// anywhere the account itself locks and its sessions end. A correct password on a disabled account or a suspended tenant
/// gets 403. Every attempt is audited with the username tried.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenPair),
        (status = 401, description = "Bad credentials"),
        (status = 403, description = "Account disabled or tenant suspended"),
        (status = 423, description = "Locked after too many failures; see `Retry-After`"),
    )
)]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    meta: RequestMeta,
    body: Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let req = body.into_inner();
    if req.password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::field("password", "too_long", "password is too long"));
    }
    let username = req.username.trim().to_owned();
    let slug = req.tenant.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let keys = Keys {
        group: "staff_login",
        actor: None,
        address: meta.ip.as_deref(),
        tenant_slug: slug.as_deref(),
        tenant: None,
        target: None,
    };
    enforce(&state, keys).await?;
    let lookup = {
        let (username, slug, meta) = (username.clone(), slug.clone(), meta.clone());
        state
            .db
            .run(move |conn| -> Result<_, ApiError> {
                let owner = match slug.as_deref() {
                    None => Owner::Platform,
                    Some(s) => match db::tenants::find_by_slug(conn, s)? {
                        Some(t) => {
                            Owner::Tenant(TenantId::parse(&t.id).ok_or_else(|| anyhow::anyhow!("bad tenant id"))?)
                        }
                        None => return Ok(None),
                    },
                };
                let staff = db::staff::find_by_username(conn, owner, &username)?;
                let principal = Principal::Staff { owner, username };
                let locked_until = staff.as_ref().and_then(|s| s.locked_until);
                let retry = signin::retry_after(conn, &principal, &meta, locked_until, db::now())?;
                Ok(Some((principal, staff, retry)))
            })
            .await?
    };
    let stored_hash = lookup.as_ref().and_then(|(_, s, _)| s.as_ref()).map(|s| s.password_hash.clone());
    let ok = password::verify_blocking(req.password, stored_hash).await;
    let invalid = || ApiError::Unauthorized("invalid credentials");

    let attempt = |reason: &str| json!({"username": username, "tenant": slug, "reason": reason});
    let Some((principal, staff, retry)) = lookup else {
        let e = Event::new("auth.login.failed", Actor::Anonymous).details(attempt("unknown_tenant"));
        audit::record_alone(&state.db, meta, e).await?;
        return Err(invalid());
    };
    let tenant = principal.tenant();
    if let Some(secs) = retry {
        let e = Event::new("auth.login.refused", Actor::Anonymous).tenant(tenant).details(attempt("locked"));
        let e = match &staff {
            Some(s) => e.target("staff", &s.id),
            None => e,
        };
        audit::record_alone(&state.db, meta, e).await?;
        return Err(ApiError::Locked(secs));
    }
    let settings = state.settings.clone();
    let staff = match staff {
        Some(s) if ok => s,
        _ => {
            let lockout = Lockout { threshold: settings.login_max_failures, minutes: settings.lockout_minutes };
            let reason = if staff.is_some() { "wrong_password" } else { "unknown_user" };
            signin::fail(&state.db, principal, lockout, meta, attempt(reason)).await?;
            return Err(invalid());
        }
    };
    let refused = |reason: &str| {
        Event::new("auth.login.refused", Actor::Anonymous)
            .tenant(tenant)
            .target("staff", &staff.id)
            .details(attempt(reason))
    };
    let jwt = state.jwt.clone();
    let refused_inactive = refused("inactive");
    let meta_refused = meta.clone();
    let result = state
        .db
        .transaction(move |conn| -> Result<_, ApiError> {
            if let Err(e) = may_sign_in(conn, &staff)? {
                return Ok(Err(e));
            }
            signin::record_success(conn, &principal, &meta, &staff.id)?;
            let actor = StaffId::parse(&staff.id).map_or(Actor::Anonymous, Actor::Staff);
            let e = Event::new("auth.login.succeeded", actor).tenant(tenant).target("staff", &staff.id);
            audit::record(conn, &meta, e)?;
            Ok(Ok(issue_session(conn, &jwt, &settings, &staff, None)?))
        })
        .await?;
    match result {
        Ok(pair) => Ok(HttpResponse::Ok().json(pair)),
        Err(e) => {
            let reason = match &e {
                ApiError::Forbidden { code, .. } => *code,
                _ => "inactive",
            };
            audit::record_alone(&state.db, meta_refused, refused_inactive.details(attempt(reason))).await?;
            Err(e)
        }
    }
}
