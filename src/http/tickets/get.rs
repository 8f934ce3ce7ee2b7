//! `GET /api/v1/tickets/{id}`.

use actix_web::{get, web, HttpResponse};

use super::{full_view, ticket_id, visible_ticket, Audience, TicketView};
use crate::domain::role::Role;
use crate::error::ApiError;
use crate::http::extract::CurrentStaff;
use crate::http::AppState;

/// Read a ticket.
///
/// With its per-field verification (never the stored values), approvals, comments (agents see public ones only), notifications and `version`.
#[utoipa::path(
    tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "Ticket id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The ticket", body = TicketView))
)]
#[get("/tickets/{id}")]
pub async fn get_ticket(
    state: web::Data<AppState>,
    me: CurrentStaff,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(&[Role::TenantAdmin, Role::Reviewer, Role::Agent], None)?;
    let id = ticket_id(&id)?;
    let view = state
        .db
        .run_for(tenant, move |conn| -> Result<_, ApiError> {
            let t = visible_ticket(conn, &me, tenant, &id)?;
            full_view(conn, tenant, t, Audience::of(&me))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
