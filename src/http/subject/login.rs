//! `POST /api/v1/public/{tenant}/subject/login`.

use actix_web::{post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::ROLE;
use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db;
use crate::domain::filing::FilingNumber;
use crate::error::ApiError;
use crate::http::extract::Json;
use crate::http::limits::{enforce, Keys};
use crate::http::tickets::active_public_tenant;
use crate::http::AppState;
use crate::security::jwt::ACCESS_TTL_SECS;
use crate::security::password;
use crate::signin::{self, Lockout, Principal};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"filing_number": "浙ICP备2021035785号", "password": "Correct#Horse42"}))]
pub struct SubjectLogin {
    pub filing_number: String,
    #[schema(min_length = 1, max_length = 4096)]
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct SubjectToken {
    pub access_token: String,
    pub expires_in: i64,
    /// While true, the token opens only `GET /api/v1/subject/filing` and
    /// `PUT /api/v1/subject/password`.
    pub must_change_password: bool,
}

/// Sign in as a filing subject.
///
/// An unknown tenant or filing and a wrong password get the same 401 after
/// the same work. After the tenant's `lockout_threshold` failures from one
/// client address, that address may not try the filing for
/// `lockout_minutes` (doubling with each further lock); after ten times as
/// many from anywhere, the filing itself locks and its tokens end. Both
/// answer 423 with `Retry-After`; an approved reset lifts the lock. A
/// generated password not changed in time opens nothing.
#[utoipa::path(
    tag = "subject",
    params(("tenant" = String, Path, description = "The tenant's slug")),
    request_body = SubjectLogin,
    responses(
        (status = 200, description = "Signed in", body = SubjectToken),
        (status = 401, description = "Bad credentials"),
        (status = 423, description = "Locked after too many failures; see `Retry-After`"),
    )
)]
#[post("/public/{tenant}/subject/login")]
pub async fn subject_login(
    state: web::Data<AppState>,
    meta: RequestMeta,
    tenant: web::Path<String>,
    body: Json<SubjectLogin>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    if body.password.len() > 4096 {
        return Err(ApiError::field("password", "too_long", "password is too long"));
    }
    let slug = tenant.into_inner();
    let number = FilingNumber::parse(&body.filing_number).ok();
    let normalized = number.as_ref().map_or_else(String::new, |n| n.as_str().to_owned());
    let keys = Keys {
        group: "subject_login",
        actor: None,
        address: meta.ip.as_deref(),
        tenant_slug: Some(&slug),
        tenant: None,
        target: number.as_ref().map(FilingNumber::as_str),
    };
    // The tenant and its settings as the limits just read them.
    let Ok((tenant, _, settings)) = active_public_tenant(enforce(&state, keys).await?) else {
        // An unknown tenant: a hash's work all the same.
        password::verify_blocking(body.password, None).await;
        return Err(ApiError::Unauthorized("invalid credentials"));
    };
    let found = {
        let meta = meta.clone();
        state
            .db
            .run(move |conn| -> Result<_, ApiError> {
                let Some(number) = number else { return Ok(None) };
                let filing = db::filings::find_by_number(conn, tenant, number.as_str())?;
                let principal = Principal::Filing { tenant, number: number.as_str().to_owned() };
                let locked_until = filing.as_ref().and_then(|f| f.locked_until);
                let retry = signin::retry_after(conn, &principal, &meta, locked_until, db::now())?;
                Ok(Some((principal, filing, retry)))
            })
            .await?
    };
    let hash = found.as_ref().and_then(|(_, f, _)| f.as_ref()).and_then(|f| f.password_hash.clone());
    let ok = password::verify_blocking(body.password, hash).await;
    let invalid = || ApiError::Unauthorized("invalid credentials");
    // A malformed number: nothing to count against.
    let Some((principal, filing, retry)) = found else {
        return Err(invalid());
    };
    let now = db::now();
    let attempt = |reason: &str| json!({"filing_number": normalized, "reason": reason});
    if let Some(secs) = retry {
        let e = Event::new("subject.login.refused", Actor::Anonymous).tenant(Some(tenant)).details(attempt("locked"));
        let e = match &filing {
            Some(f) => e.target("filing", &f.id),
            None => e,
        };
        audit::record_alone(&state.db, meta, e).await?;
        return Err(ApiError::Locked(secs));
    }
    let filing = match filing {
        Some(f) if ok => f,
        // A wrong password and an unknown filing: the same statements.
        _ => {
            let lockout = Lockout { threshold: settings.lockout_threshold, minutes: settings.lockout_minutes };
            let reason = if filing.is_some() { "wrong_password" } else { "unknown_filing" };
            signin::fail(&state.db, principal, lockout, meta, attempt(reason)).await?;
            return Err(invalid());
        }
    };
    let event = |action: &'static str, reason: &str| {
        Event::new(action, Actor::Anonymous)
            .tenant(Some(tenant))
            .target("filing", &filing.id)
            .details(json!({"filing_number": filing.filing_number, "reason": reason}))
    };
    if filing.must_change_password && filing.password_expires_at.is_some_and(|t| t <= now) {
        audit::record_alone(&state.db, meta, event("subject.login.refused", "generated_password_expired")).await?;
        return Err(ApiError::Unauthorized("the generated password has expired; ask for a new one"));
    }
    let succeeded = event("subject.login.succeeded", "ok").details(json!({"filing_number": filing.filing_number}));
    // A password past the tenant's maximum age opens the change route only.
    let must_change = filing.must_change_password || settings.password_too_old(filing.password_changed_at, now);
    let access_token = state.jwt.issue_scoped(
        filing.id.clone(),
        Some(tenant.to_string()),
        ROLE,
        filing.session_epoch,
        must_change.then_some("password_change"),
    )?;
    state
        .db
        .transaction(move |conn| -> Result<_, ApiError> {
            signin::record_success(conn, &principal, &meta, &filing.id)?;
            audit::record(conn, &meta, succeeded)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::Ok().json(SubjectToken {
        access_token,
        expires_in: ACCESS_TTL_SECS,
        must_change_password: must_change,
    }))
}
