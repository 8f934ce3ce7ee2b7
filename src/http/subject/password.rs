//! `PUT /api/v1/subject/password`.

use actix_web::{put, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::CurrentSubject;
use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db;
use crate::db::filings::FilingRow;
use crate::domain::filing::FilingNumber;
use crate::domain::ids::TenantId;
use crate::domain::password_policy::{violations, Context};
use crate::domain::FieldError;
use crate::error::ApiError;
use crate::http::extract::Json;
use crate::http::filings::open;
use crate::http::limits::{enforce, Keys};
use crate::http::AppState;
use crate::security::password;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"current_password": "aB3dE5gH7jK9", "new_password": "Correct#Horse42"}))]
pub struct SubjectPasswordChange {
    pub current_password: String,
    #[schema(min_length = 1, max_length = 256)]
    pub new_password: String,
}

/// Change the query password.
///
/// Every earlier subject token ends, this one included: sign in again.
/// Attempts are rate-limited per address and per filing (429); while a
/// generated password is in use, the tenth refused candidate burns it
/// (410: ask for a new one).
///
/// 422 `validation_failed` lists every broken rule of the tenant's policy,
/// one error each: `too_short`, `missing_letter`, `missing_digit`,
/// `missing_special`, `contains_personal_data` (birth date, phone or ID
/// number: one code, so the answer never tells which a candidate holds),
/// `contains_filing_number`, `reused`, `too_common`.
#[utoipa::path(
    tag = "subject",
    request_body = SubjectPasswordChange,
    security(("bearer" = [])),
    responses((status = 204, description = "Changed"))
)]
#[put("/subject/password")]
pub async fn change_subject_password(
    state: web::Data<AppState>,
    me: CurrentSubject,
    meta: RequestMeta,
    body: Json<SubjectPasswordChange>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let filing = me.filing;
    let tenant = me.tenant;
    let current_ok = password::verify_blocking(body.current_password.clone(), filing.password_hash.clone()).await;
    if !current_ok {
        return Err(ApiError::field("current_password", "incorrect", "the current password is not correct"));
    }
    check_new_password(&state, &meta, tenant, &filing, &body.new_password, TriedWith::Session).await?;
    let hash = password::hash_blocking(body.new_password).await?;
    state
        .db
        .transaction(move |conn| -> Result<_, ApiError> {
            let filing = crate::filings::set_chosen_password(conn, tenant, &filing.id, hash, db::now())?
                .ok_or(ApiError::NotFound)?;
            let e = Event::new("subject.password.changed", Actor::Subject(filing.id.clone()))
                .tenant(Some(tenant))
                .target("filing", &filing.id)
                .details(serde_json::json!({"filing_number": filing.filing_number}));
            audit::record(conn, &meta, e)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// What a new password was tried with.
#[derive(Debug, Clone, Copy)]
pub enum TriedWith<'a> {
    /// A subject token: a generated password's, or a chosen one's.
    Session,
    /// A reset link, by id.
    ResetLink(&'a str),
    /// A self-service recovery, by id.
    Recovery(&'a str),
}

/// Refusals that burn a generated password or a reset link: each refusal
/// tells which rule a candidate broke, so a holder of one could otherwise
/// test candidates against the filing's personal data without end.
pub const REFUSALS_BEFORE_BURN: i32 = 10;

/// Every rule of the tenant's policy that `new` breaks for this filing,
/// reuse of the last passwords included, as one 422. Attempts are
/// rate-limited per address and per filing (429); refusals count against
/// a generated password or a reset link, which the tenth burns (410).
pub async fn check_new_password(
    state: &AppState,
    meta: &RequestMeta,
    tenant: TenantId,
    filing: &FilingRow,
    new: &str,
    tried: TriedWith<'_>,
) -> Result<(), ApiError> {
    let keys = Keys {
        group: "password_policy",
        actor: None,
        address: meta.ip.as_deref(),
        tenant_slug: None,
        tenant: Some(tenant),
        target: Some(&filing.id),
    };
    enforce(state, keys).await?;
    let errors = match policy_errors(state, tenant, filing, new).await? {
        errors if errors.is_empty() => return Ok(()),
        errors => errors,
    };
    // What a refusal counts against, and what the tenth burns.
    enum Burns {
        Link(String),
        Recovery(String),
        Generated,
    }
    let burns = match tried {
        TriedWith::ResetLink(id) => Burns::Link(id.to_owned()),
        TriedWith::Recovery(id) => Burns::Recovery(id.to_owned()),
        TriedWith::Session if filing.must_change_password => Burns::Generated,
        TriedWith::Session => return Err(ApiError::Validation(errors)),
    };
    let (filing_id, meta) = (filing.id.clone(), meta.clone());
    let burned = state
        .db
        .transaction_for(tenant, move |conn| -> Result<_, ApiError> {
            let now = db::now();
            let refusals = match &burns {
                Burns::Link(link) => db::tickets::count_link_policy_failure(conn, tenant, link)?,
                Burns::Recovery(id) => db::recoveries::count_policy_failure(conn, tenant, id)?,
                Burns::Generated => db::filings::count_policy_failure(conn, tenant, &filing_id)?,
            };
            if refusals < REFUSALS_BEFORE_BURN {
                return Ok(false);
            }
            let credential = match &burns {
                Burns::Link(link) => {
                    db::tickets::expire_reset_link(conn, tenant, link, now)?;
                    "reset_link"
                }
                Burns::Recovery(id) => {
                    db::recoveries::end(conn, tenant, id, "burned", i32::MAX, now)?;
                    "recovery_code"
                }
                Burns::Generated => {
                    db::filings::burn_generated_password(conn, tenant, &filing_id, now)?;
                    "generated_password"
                }
            };
            let e = Event::new("filing.credential.burned", Actor::System("password_policy"))
                .tenant(Some(tenant))
                .target("filing", &filing_id)
                .details(serde_json::json!({"credential": credential, "refusals": refusals}));
            audit::record(conn, &meta, e)?;
            Ok(true)
        })
        .await?;
    if burned {
        return Err(ApiError::Gone(
            "too many refused passwords: this temporary password or link no longer works; ask for a new one",
        ));
    }
    Err(ApiError::Validation(errors))
}

/// The rules `new` breaks, reuse included.
async fn policy_errors(
    state: &AppState,
    tenant: TenantId,
    filing: &FilingRow,
    new: &str,
) -> Result<Vec<FieldError>, ApiError> {
    let (settings, history) = {
        let id = filing.id.clone();
        state
            .db
            .run(move |conn| -> Result<_, ApiError> {
                Ok((
                    db::settings::get(conn, tenant)?,
                    db::filings::password_history(conn, tenant, &id, crate::filings::PASSWORD_HISTORY)?,
                ))
            })
            .await?
    };
    let id_number = open(&state.cipher, &filing.id, "id_number", &filing.id_number_enc)?;
    let phone = open(&state.cipher, &filing.id, "phone", &filing.phone_enc)?;
    let digits = FilingNumber::parse(&filing.filing_number).map(|n| n.digits()).unwrap_or_default();
    let ctx = Context { birth_date: &id_number[6..14], phone: &phone, id_number: &id_number, filing_digits: &digits };
    let mut errors = violations(settings.password_policy, new, &ctx);
    let earlier: Vec<String> = filing.password_hash.iter().cloned().chain(history).collect();
    let candidate = new.to_owned();
    let reused = tokio::task::spawn_blocking(move || earlier.iter().any(|h| password::verify(&candidate, h)))
        .await
        .map_err(anyhow::Error::from)?;
    if reused {
        errors.push(FieldError::new("new_password", "reused", "must not be one of the last 5 passwords"));
    }
    Ok(errors)
}
