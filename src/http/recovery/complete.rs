//! `POST /api/v1/public/{tenant}/password-recovery/{recovery_id}/complete`.

use actix_web::{post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db;
use crate::error::ApiError;
use crate::filings::{contacts_on_file, set_chosen_password, ToContacts};
use crate::http::extract::Json;
use crate::http::limits::{enforce, Keys};
use crate::http::subject::password::{check_new_password, TriedWith};
use crate::http::tickets::active_public_tenant;
use crate::http::AppState;
use crate::notify::templates::Kind;
use crate::notify::Recipient;
use crate::recovery::{code_matches, MAX_WRONG_CODES};
use crate::security::password;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "482913", "new_password": "Correct#Horse42"}))]
pub struct RecoveryCompletion {
    /// The 6-digit code the SMS brought.
    #[schema(max_length = 16)]
    pub code: String,
    /// Under the tenant's password policy.
    #[schema(min_length = 1, max_length = 256)]
    pub new_password: String,
}

const WRONG_CODE: ApiError =
    ApiError::Unprocessable { code: "invalid_code", detail: "the code is not this recovery's" };
const GONE: &str = "this recovery is over (used, replaced by a newer one, expired, or too many wrong codes); ask again";

/// Set a new query password with the recovery code.
///
/// 204: the password is set under the policy, any lockout lifted, every
/// earlier subject token ended, and the e-mail on file told. A wrong code is
/// 422 `invalid_code` (an unknown `recovery_id` answers the same); after 5
/// wrong codes, once used, replaced by a newer request, or 10 minutes after
/// it was asked for, the recovery answers 410 `gone`. A new password the
/// policy refuses is 422 listing every broken rule (the code is not spent).
#[utoipa::path(
    tag = "recovery",
    params(
        ("tenant" = String, Path, description = "The tenant's slug"),
        ("recovery_id" = uuid::Uuid, Path, description = "From `POST …/password-recovery`"),
    ),
    request_body = RecoveryCompletion,
    responses(
        (status = 204, description = "The password is set"),
        (status = 404, description = "No active tenant with this slug"),
        (status = 410, description = "`gone`: the recovery is over"),
        (status = 422, description = "`invalid_code`, or the new password breaks the policy"),
        (status = 429, description = "Too many requests; `Retry-After` says when to try again"),
    )
)]
#[post("/public/{tenant}/password-recovery/{recovery_id}/complete")]
pub async fn complete_recovery(
    state: web::Data<AppState>,
    meta: RequestMeta,
    path: web::Path<(String, String)>,
    body: Json<RecoveryCompletion>,
) -> Result<HttpResponse, ApiError> {
    let (slug, raw_id) = path.into_inner();
    let body = body.into_inner();
    let keys = Keys {
        group: "password_recovery_complete",
        actor: None,
        address: meta.ip.as_deref(),
        tenant_slug: Some(&slug),
        tenant: None,
        target: Some(raw_id.as_str()),
    };
    let found = enforce(&state, keys).await?;
    // An id that was never given out is a wrong code, like any other.
    let Ok(id) = uuid::Uuid::parse_str(&raw_id).map(|u| u.to_string()) else { return Err(WRONG_CODE) };
    let (tenant, _, _) = active_public_tenant(found)?;
    let row = {
        let id = id.clone();
        state.db.run(move |conn| -> Result<_, ApiError> { Ok(db::recoveries::find(conn, tenant, &id)?) }).await?
    };
    let Some(row) = row else { return Err(WRONG_CODE) };
    // The filing number and the phone asked about have limits of their own,
    // whatever recovery and address the tries come from.
    for (group, target) in [
        ("password_recovery_complete_filing", row.filing_number.as_str()),
        ("password_recovery_complete_phone", row.phone_index.as_str()),
    ] {
        let keys =
            Keys { group, actor: None, address: None, tenant_slug: None, tenant: Some(tenant), target: Some(target) };
        enforce(&state, keys).await?;
    }
    let now = db::now();
    if !row.open(now, MAX_WRONG_CODES) {
        return Err(ApiError::Gone(GONE));
    }
    let code = body.code.trim().to_owned();
    // A recovery without a filing (a miss) has no code: every code is wrong.
    let matching = row.filing_id.clone().filter(|_| code.len() <= 16 && code_matches(&state.cipher, &row, &code));
    let Some(filing_id) = matching else {
        let (id, meta) = (id.clone(), meta.clone());
        state
            .db
            .transaction_for(tenant, move |conn| -> Result<_, ApiError> {
                let wrong = db::recoveries::count_wrong_code(conn, tenant, &id)?;
                let e = Event::new("filing.recovery_code_refused", Actor::Anonymous)
                    .tenant(Some(tenant))
                    .details(serde_json::json!({"recovery_id": id, "wrong_codes": wrong}));
                audit::record(conn, &meta, e)?;
                Ok(())
            })
            .await?;
        return Err(WRONG_CODE);
    };
    let filing = {
        let filing_id = filing_id.clone();
        state
            .db
            .run_for(tenant, move |conn| -> Result<_, ApiError> {
                db::filings::find(conn, tenant, &filing_id)?.ok_or(ApiError::Gone(GONE))
            })
            .await?
    };
    check_new_password(&state, &meta, tenant, &filing, &body.new_password, TriedWith::Recovery(&id)).await?;
    let new_hash = password::hash_blocking(body.new_password).await?;
    let (cipher, channels) = (state.cipher.clone(), state.channels);
    state
        .db
        .transaction_for(tenant, move |conn| -> Result<_, ApiError> {
            let now = db::now();
            // Ended under a condition: of two completions at once, one wins.
            if !db::recoveries::end(conn, tenant, &id, "completed", MAX_WRONG_CODES, now)? {
                return Err(ApiError::Gone(GONE));
            }
            let filing = set_chosen_password(conn, tenant, &filing_id, new_hash, now)?.ok_or(ApiError::Gone(GONE))?;
            let e = Event::new("filing.password_recovered", Actor::Subject(filing.id.clone()))
                .tenant(Some(tenant))
                .target("filing", &filing.id)
                .details(serde_json::json!({"filing_number": filing.filing_number, "recovery_id": id}));
            audit::record(conn, &meta, e)?;
            // The e-mail on file hears of it: the way back if it was not them.
            let settings = db::settings::get(conn, tenant)?;
            let name = db::tenants::find(conn, tenant)?.map(|t| t.name).unwrap_or_default();
            let (_, email) = contacts_on_file(&cipher, &filing)?;
            let mut params = serde_json::Map::new();
            params.insert("tenant".into(), name.into());
            params.insert("filing_number".into(), filing.filing_number.clone().into());
            let to = ToContacts::new(&cipher, channels, tenant, &settings, None);
            to.send_to(conn, Some(&filing.id), [Recipient::Email(email)], Kind::PasswordRecovered, &params)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
