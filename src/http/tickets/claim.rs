//! `POST /api/v1/tickets/{id}/claim`.

use actix_web::{post, web, HttpResponse};

use super::{decide_as_reviewer, TicketView};
use crate::audit::RequestMeta;
use crate::domain::ticket::Action;
use crate::error::ApiError;
use crate::http::extract::CurrentStaff;
use crate::http::AppState;

/// Claim a ticket.
///
/// It becomes `in_review`, held by you; 409 `held_by_another` when another reviewer holds it, 403 `four_eyes` when you already approved it.
#[utoipa::path(
    tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "Ticket id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The ticket", body = TicketView),
        (status = 409, description = "The state does not allow it, or another reviewer holds the ticket"),
    )
)]
#[post("/tickets/{id}/claim")]
pub async fn claim_ticket(
    state: web::Data<AppState>,
    me: CurrentStaff,
    meta: RequestMeta,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    decide_as_reviewer(state, me, meta, &id, Action::Claim, None).await
}
