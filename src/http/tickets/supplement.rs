//! `POST /api/v1/public/{tenant}/tickets/{number}/supplements`.

use actix_web::{post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{decide_as_applicant, text, TrackingView};
use crate::audit::RequestMeta;
use crate::domain::ticket::Action;
use crate::error::ApiError;
use crate::http::extract::Json;
use crate::http::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"tracking_code": "ABCD-EFGH-JKLM-NPQR", "message": "已补充营业执照照片"}))]
pub struct Supplement {
    pub tracking_code: String,
    /// What the reviewer asked for, 1–2000 characters.
    #[schema(min_length = 1, max_length = 2000)]
    pub message: String,
}

/// Answer a request for information.
///
/// With the tracking code; the ticket goes back to `pending_review` for the reviewers.
#[utoipa::path(
    tag = "tickets",
    params(
        ("tenant" = String, Path, description = "The tenant's slug"),
        ("number" = String, Path, description = "The ticket number"),
    ),
    request_body = Supplement,
    responses(
        (status = 201, description = "Added; the ticket is pending review again", body = TrackingView),
        (status = 409, description = "The ticket is not waiting for information"),
    )
)]
#[post("/public/{tenant}/tickets/{number}/supplements")]
pub async fn supplement_ticket(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    meta: RequestMeta,
    body: Json<Supplement>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let message = text("message", &body.message)?;
    let view =
        decide_as_applicant(state, meta, path.into_inner(), body.tracking_code, Action::Supplement, Some(message))
            .await?;
    Ok(HttpResponse::Created().json(view))
}
