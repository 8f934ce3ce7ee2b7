//! `POST /api/v1/public/{tenant}/tickets/{number}/cancel`.

use actix_web::{post, web, HttpResponse};

use super::{decide_as_applicant, TrackingCode, TrackingView};
use crate::audit::RequestMeta;
use crate::domain::ticket::Action;
use crate::error::ApiError;
use crate::http::extract::Json;
use crate::http::AppState;

/// Withdraw a work order that is still open.
///
/// With the tracking code; a ticket already decided is 409 `invalid_transition`.
#[utoipa::path(
    tag = "tickets",
    params(
        ("tenant" = String, Path, description = "The tenant's slug"),
        ("number" = String, Path, description = "The ticket number"),
    ),
    request_body = TrackingCode,
    responses(
        (status = 200, description = "Cancelled", body = TrackingView),
        (status = 409, description = "The ticket is already closed"),
    )
)]
#[post("/public/{tenant}/tickets/{number}/cancel")]
pub async fn cancel_ticket(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    meta: RequestMeta,
    body: Json<TrackingCode>,
) -> Result<HttpResponse, ApiError> {
    let code = body.into_inner().tracking_code;
    let view = decide_as_applicant(state, meta, path.into_inner(), code, Action::Cancel, None).await?;
    Ok(HttpResponse::Ok().json(view))
}
