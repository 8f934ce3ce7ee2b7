//! `POST /api/v1/tickets/{id}/request-info`.

use actix_web::{post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{decide_as_reviewer, text, TicketView};
use crate::audit::RequestMeta;
use crate::domain::ticket::Action;
use crate::error::ApiError;
use crate::http::extract::{CurrentStaff, Json};
use crate::http::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"message": "请上传负责人手持身份证照片"}))]
pub struct InfoRequest {
    /// What the applicant should add; they see it (1–2000 characters).
    #[schema(min_length = 1, max_length = 2000)]
    pub message: String,
}

/// Ask the applicant for more.
///
/// The ticket goes to `needs_info` and the applicant is notified; their supplement brings it back.
#[utoipa::path(
    tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "Ticket id")),
    request_body = InfoRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The ticket", body = TicketView),
        (status = 409, description = "The state does not allow it, or the ticket is not claimed by you"),
    )
)]
#[post("/tickets/{id}/request-info")]
pub async fn request_info(
    state: web::Data<AppState>,
    me: CurrentStaff,
    meta: RequestMeta,
    id: web::Path<String>,
    body: Json<InfoRequest>,
) -> Result<HttpResponse, ApiError> {
    let message = text("message", &body.message)?;
    decide_as_reviewer(state, me, meta, &id, Action::RequestInfo, Some(message)).await
}
