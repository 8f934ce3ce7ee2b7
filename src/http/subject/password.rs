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
use crate::http::filings::open;
use crate::http::AppState;
use crate::security::password;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectPasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// Change the query password.
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
    body: web::Json<SubjectPasswordChange>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let filing = me.filing;
    let tenant = me.tenant;
    let current_ok = password::verify_blocking(body.current_password.clone(), filing.password_hash.clone()).await;
    if !current_ok {
        return Err(ApiError::field("current_password", "incorrect", "the current password is not correct"));
    }
    check_new_password(&state, tenant, &filing, &body.new_password).await?;
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

/// Every rule of the tenant's policy that `new` breaks for this filing,
/// reuse of the last passwords included, as one 422.
pub async fn check_new_password(
    state: &AppState,
    tenant: TenantId,
    filing: &FilingRow,
    new: &str,
) -> Result<(), ApiError> {
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
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}
