//! `POST /api/v1/tickets/{id}/approve`.

use actix_web::{post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{decide_as_reviewer, text, TicketView};
use crate::audit::RequestMeta;
use crate::domain::ticket::Action;
use crate::error::ApiError;
use crate::http::extract::{CurrentStaff, Json};
use crate::http::AppState;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"note": "证件与备案信息一致"}))]
pub struct Approval {
    /// For the record (not shown to the applicant).
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// Approve the ticket you hold.
///
/// With enough distinct approvals it resolves and the reset is issued in the same transaction, to the contact on file; otherwise it awaits another reviewer's approval. The submitter and an earlier approver get 403 `four_eyes`; a ticket moved meanwhile 409.
#[utoipa::path(
    tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "Ticket id")),
    request_body = Approval,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`awaiting_second_approval` or `resolved`", body = TicketView),
        (status = 403, description = "`four_eyes`: you submitted it, or already approved it"),
        (status = 409, description = "The state moved, or the ticket is not claimed by you"),
    )
)]
#[post("/tickets/{id}/approve")]
pub async fn approve_ticket(
    state: web::Data<AppState>,
    me: CurrentStaff,
    meta: RequestMeta,
    id: web::Path<String>,
    body: Option<Json<Approval>>,
) -> Result<HttpResponse, ApiError> {
    let note = body.and_then(|b| b.into_inner().note).filter(|n| !n.trim().is_empty());
    let note = note.map(|n| text("note", &n)).transpose()?;
    decide_as_reviewer(state, me, meta, &id, Action::Approve, note).await
}
