//! `POST /api/v1/tickets/{id}/reject`.

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
#[schema(example = json!({"reason": "身份证号与备案信息不符"}))]
pub struct Rejection {
    /// Why; the applicant sees it (1–2000 characters).
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
}

/// Reject the ticket with a reason.
///
/// The applicant sees the reason and is notified.
#[utoipa::path(
    tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "Ticket id")),
    request_body = Rejection,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The ticket", body = TicketView),
        (status = 409, description = "The state does not allow it, or the ticket is not claimed by you"),
    )
)]
#[post("/tickets/{id}/reject")]
pub async fn reject_ticket(
    state: web::Data<AppState>,
    me: CurrentStaff,
    meta: RequestMeta,
    id: web::Path<String>,
    body: Json<Rejection>,
) -> Result<HttpResponse, ApiError> {
    let reason = text("reason", &body.reason)?;
    decide_as_reviewer(state, me, meta, &id, Action::Reject, Some(reason)).await
}
