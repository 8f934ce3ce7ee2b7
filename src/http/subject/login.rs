//! `POST /api/v1/public/{tenant}/subject/login`.

use actix_web::{post, web, HttpResponse};
use chrono::Duration;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::ROLE;
use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db;
use crate::domain::filing::FilingNumber;
use crate::domain::ids::TenantId;
use crate::error::ApiError;
use crate::http::limits::{enforce, Keys};
use crate::http::AppState;
use crate::security::jwt::ACCESS_TTL_SECS;
use crate::security::password;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectLogin {
    pub filing_number: String,
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
/// the same work. After the tenant's `lockout_threshold` failures the
/// filing is locked (423) for `lockout_minutes`; an approved reset lifts it.
/// A generated password not changed in time opens nothing.
#[utoipa::path(
    tag = "subject",
    params(("tenant" = String, Path, description = "The tenant's slug")),
    request_body = SubjectLogin,
    responses(
        (status = 200, description = "Signed in", body = SubjectToken),
        (status = 401, description = "Bad credentials"),
        (status = 423, description = "Locked after too many failures"),
    )
)]
#[post("/public/{tenant}/subject/login")]
pub async fn subject_login(
    state: web::Data<AppState>,
    meta: RequestMeta,
    tenant: web::Path<String>,
    body: web::Json<SubjectLogin>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    if body.password.len() > 4096 {
        return Err(ApiError::field("password", "too_long", "password is too long"));
    }
    let slug = tenant.into_inner();
    let number = FilingNumber::parse(&body.filing_number).ok();
    let keys = Keys {
        group: "subject_login",
        address: meta.ip.as_deref(),
        tenant_slug: Some(&slug),
        tenant: None,
        target: number.as_ref().map(FilingNumber::as_str),
    };
    enforce(&state, keys).await?;
    let found = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            let Some(t) = db::tenants::find_by_slug(conn, &slug)?.filter(|t| t.status == "active") else {
                return Ok(None);
            };
            let tenant = TenantId::parse(&t.id).ok_or_else(|| anyhow::anyhow!("bad tenant id"))?;
            let filing = match &number {
                Some(n) => db::filings::find_by_number(conn, tenant, n.as_str())?,
                None => None,
            };
            let settings = db::settings::get(conn, tenant)?;
            Ok(Some((tenant, filing, settings)))
        })
        .await?;
    let hash = found.as_ref().and_then(|(_, f, _)| f.as_ref()).and_then(|f| f.password_hash.clone());
    let ok = password::verify_blocking(body.password, hash).await;
    let invalid = || ApiError::Unauthorized("invalid credentials");
    let Some((tenant, Some(mut filing), settings)) = found else {
        return Err(invalid());
    };
    let now = db::now();
    let event = |action: &'static str, reason: &str| {
        Event::new(action, Actor::Anonymous)
            .tenant(Some(tenant))
            .target("filing", &filing.id)
            .details(json!({"filing_number": filing.filing_number, "reason": reason}))
    };
    if filing.locked_until.is_some_and(|t| t > now) {
        audit::record_alone(&state.db, meta, event("subject.login.refused", "locked")).await?;
        return Err(ApiError::Locked);
    }
    if !ok {
        let failed = event("subject.login.failed", "wrong_password");
        let (max, minutes) = (settings.lockout_threshold as i32, i64::from(settings.lockout_minutes));
        state
            .db
            .transaction(move |conn| -> Result<_, ApiError> {
                filing.failed_logins += 1;
                let lock = filing.failed_logins >= max;
                if lock {
                    filing.locked_until = Some(now + Duration::minutes(minutes));
                    filing.failed_logins = 0;
                }
                db::filings::save(conn, &filing)?;
                audit::record(conn, &meta, failed)?;
                if lock {
                    let e = Event::new("subject.account.locked", Actor::System("lockout"))
                        .tenant(Some(tenant))
                        .target("filing", &filing.id)
                        .details(json!({"failures": max, "until": filing.locked_until.map(|t| t.and_utc())}));
                    audit::record(conn, &meta, e)?;
                }
                Ok(())
            })
            .await?;
        return Err(invalid());
    }
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
        must_change.then_some("password_change"),
    )?;
    state
        .db
        .transaction(move |conn| -> Result<_, ApiError> {
            if filing.failed_logins != 0 || filing.locked_until.is_some() {
                filing.failed_logins = 0;
                filing.locked_until = None;
                db::filings::save(conn, &filing)?;
            }
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
