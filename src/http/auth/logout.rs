//! `POST /api/v1/auth/logout`.

use actix_web::{post, web, HttpResponse};

use super::RefreshRequest;
use crate::db;
use crate::error::ApiError;
use crate::http::AppState;
use crate::security::tokens;

/// Sign out: revoke the session the refresh token belongs to.
///
/// Answers 204 whether or not the token was known, so it reveals nothing.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses((status = 204, description = "Signed out"))
)]
#[post("/auth/logout")]
pub async fn logout(state: web::Data<AppState>, body: web::Json<RefreshRequest>) -> Result<HttpResponse, ApiError> {
    let hash = tokens::digest(&body.refresh_token);
    state
        .db
        .transaction(move |conn| -> Result<_, ApiError> {
            if let Some(row) = db::refresh_tokens::find_by_hash(conn, &hash)? {
                db::refresh_tokens::revoke_family(conn, &row.family_id, db::now())?;
            }
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
