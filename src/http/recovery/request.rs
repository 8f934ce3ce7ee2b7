//! `POST /api/v1/public/{tenant}/password-recovery`.

use actix_web::{post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::RequestMeta;
use crate::db;
use crate::domain::contact::PhoneNumber;
use crate::domain::filing::FilingNumber;
use crate::error::ApiError;
use crate::http::extract::Json;
use crate::http::limits::{enforce_groups, Keys};
use crate::http::tickets::active_public_tenant;
use crate::http::AppState;
use crate::recovery::{self, Requested};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"filing_number": "京ICP备12345678号", "phone": "13812345678"}))]
pub struct RecoveryRequest {
    #[schema(max_length = 64)]
    pub filing_number: String,
    /// The phone number on file for the filing.
    #[schema(max_length = 32)]
    pub phone: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"recovery_id": "3f1c2a9e-7b4d-4c1e-9a57-2f8d6b0e4c11"}))]
pub struct RecoveryStarted {
    /// Name it when completing the recovery with the code.
    pub recovery_id: uuid::Uuid,
}

/// Ask for a recovery code by SMS.
///
/// Always 202 with a new `recovery_id`, the same answer whether or not the
/// filing exists and the phone is the one on file. Only when it is, and the
/// tenant offers self-service recovery, a 6-digit code goes to that phone by
/// SMS (`FD_RECOVERY_CODE`), ahead of any informational message; it works for
/// 10 minutes, and a newer request withdraws it. Rate-limited per address,
/// filing number and phone (429 with `Retry-After`). If the phone on file no
/// longer works, submit a `password_reset` ticket instead.
#[utoipa::path(
    tag = "recovery",
    params(("tenant" = String, Path, description = "The tenant's slug")),
    request_body = RecoveryRequest,
    responses(
        (status = 202, description = "Accepted; a code follows by SMS when the phone is the one on file", body = RecoveryStarted),
        (status = 404, description = "No active tenant with this slug"),
        (status = 422, description = "A malformed filing number or phone number"),
        (status = 429, description = "Too many requests; `Retry-After` says when to try again"),
    )
)]
#[post("/public/{tenant}/password-recovery")]
pub async fn request_recovery(
    state: web::Data<AppState>,
    meta: RequestMeta,
    tenant: web::Path<String>,
    body: Json<RecoveryRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let slug = tenant.into_inner();
    let number = FilingNumber::parse(&body.filing_number).map_err(|e| ApiError::Validation(vec![e]))?;
    let phone = PhoneNumber::parse("phone", &body.phone).map_err(|e| ApiError::Validation(vec![e]))?;
    // Every key's index: a filing sealed before a key rotation still matches.
    let phone_indexes = state.cipher.blind_indexes("phone", phone.as_str());
    let phone_index = phone_indexes[0].clone();
    // The filing number and the phone each have limits of their own.
    let keys = Keys {
        group: "password_recovery",
        actor: None,
        address: meta.ip.as_deref(),
        tenant_slug: Some(&slug),
        tenant: None,
        target: Some(number.as_str()),
    };
    let found = enforce_groups(&state, keys, &[("password_recovery_phone", phone_index.as_str())]).await?;
    // The tenant and its settings as the limits just read them.
    let (tenant, _, settings) = active_public_tenant(found)?;
    let id = uuid::Uuid::new_v4();
    let rid = id.to_string();
    let m = meta.clone();
    let send = state
        .db
        .transaction_for(tenant, move |conn| -> Result<_, ApiError> {
            let filing = db::filings::find_by_number(conn, tenant, number.as_str())?;
            let matched = filing.filter(|f| phone_indexes.contains(&f.phone_index)).map(|f| f.id);
            let outcome = match (&matched, settings.self_service_recovery) {
                (_, false) => Requested::Disabled,
                (Some(_), true) => Requested::CodeSent,
                (None, true) => Requested::NoMatch,
            };
            let now = db::now();
            recovery::record_request(
                conn,
                &m,
                tenant,
                &rid,
                number.as_str(),
                &phone_index,
                matched.as_deref(),
                outcome,
                now,
            )?;
            Ok(matched.filter(|_| outcome == Requested::CodeSent))
        })
        .await?;
    if let Some(filing) = send {
        // After the answer: a match must not take longer to answer than a miss.
        let (db, cipher, channels, rid) = (state.db.clone(), state.cipher.clone(), state.channels, id.to_string());
        state.afterwards.spawn(async move {
            // Once the answer has left: its bytes must not wait for this
            // work's CPU and database time either.
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let result = db
                .transaction_for(tenant, move |conn| {
                    recovery::send_code(conn, &cipher, channels, tenant, &rid, &filing).map_err(ApiError::from)
                })
                .await;
            if let Err(e) = result {
                tracing::error!(error = %e, "could not queue a recovery code");
            }
        });
    }
    Ok(HttpResponse::Accepted().json(RecoveryStarted { recovery_id: id }))
}
