//! `POST /api/v1/public/{tenant}/password-resets`.

use actix_web::{post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::active_public_tenant;
use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db;
use crate::error::ApiError;
use crate::http::extract::Json;
use crate::http::limits::{enforce, Keys};
use crate::http::subject::password::{check_new_password, TriedWith};
use crate::http::AppState;
use crate::security::{password, tokens};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "mZ3…", "new_password": "Correct#Horse42"}))]
pub struct PasswordReset {
    /// The token of the reset link.
    pub token: String,
    /// Under the tenant's password policy.
    #[schema(min_length = 1, max_length = 256)]
    pub new_password: String,
}

/// Set a new query password with a single-use reset link.
///
/// 422 lists every broken policy rule; 410 `gone` once the link was used,
/// withdrawn by a newer reset, or expired; an unknown token is 404.
#[utoipa::path(
    tag = "tickets",
    params(("tenant" = String, Path, description = "The tenant's slug")),
    request_body = PasswordReset,
    responses(
        (status = 204, description = "The password is set"),
        (status = 410, description = "The link was used or expired"),
    )
)]
#[post("/public/{tenant}/password-resets")]
pub async fn consume_reset_link(
    state: web::Data<AppState>,
    tenant: web::Path<String>,
    meta: RequestMeta,
    body: Json<PasswordReset>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let keys = Keys {
        group: "password_reset",
        actor: None,
        address: meta.ip.as_deref(),
        tenant_slug: Some(&tenant),
        tenant: None,
        target: None,
    };
    let found = enforce(&state, keys).await?;
    if body.token.len() > 200 {
        return Err(ApiError::NotFound);
    }
    let hash = tokens::digest(body.token.trim());
    let now = db::now();
    let (tenant, _, _) = active_public_tenant(found)?;
    let (link, filing) = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            let link = db::tickets::find_reset_link(conn, tenant, &hash)?.ok_or(ApiError::NotFound)?;
            let filing = db::filings::find(conn, tenant, &link.filing_id)?.ok_or(ApiError::NotFound)?;
            Ok((link, filing))
        })
        .await?;
    let live = link.used_at.is_none() && link.expired_at.is_none() && link.expires_at > now;
    if !live {
        return Err(ApiError::Gone("this reset link was used or has expired; ask for a new one"));
    }
    check_new_password(&state, &meta, tenant, &filing, &body.new_password, TriedWith::ResetLink(&link.id)).await?;
    let new_hash = password::hash_blocking(body.new_password).await?;
    state
        .db
        .transaction_for(tenant, move |conn| -> Result<_, ApiError> {
            let now = db::now();
            // Spent under a condition: of two uses at once, one wins.
            if !db::tickets::spend_reset_link(conn, &link.id, now)? {
                return Err(ApiError::Gone("this reset link was used or has expired; ask for a new one"));
            }
            let filing = crate::filings::set_chosen_password(conn, tenant, &link.filing_id, new_hash, now)?
                .ok_or(ApiError::NotFound)?;
            let e = Event::new("subject.password.reset", Actor::Subject(filing.id.clone()))
                .tenant(Some(tenant))
                .target("filing", &filing.id)
                .details(serde_json::json!({"filing_number": filing.filing_number, "reset_link_id": link.id}));
            audit::record(conn, &meta, e)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
