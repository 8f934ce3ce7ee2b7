//! `POST /api/v1/tickets/{id}/release`.

use actix_web::{post, web, HttpResponse};

use super::{decide_as_reviewer, TicketView};
use crate::audit::RequestMeta;
use crate::domain::ticket::Action;
use crate::error::ApiError;
use crate::http::extract::CurrentStaff;
use crate::http::AppState;

/// Give the ticket back to the queue.
///
/// Only its holder may release it.
#[utoipa::path(
    tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "Ticket id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The ticket", body = TicketView),
        (status = 409, description = "The state does not allow it, or another reviewer holds the ticket"),
    )
)]
#[post("/tickets/{id}/release")]
pub async fn release_ticket(
    state: web::Data<AppState>,
    me: CurrentStaff,
    meta: RequestMeta,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    decide_as_reviewer(state, me, meta, &id, Action::Release, None).await
}
