//! `GET /api/v1/tickets/{id}`.

use actix_web::{get, web, HttpResponse};

use super::{full_view, ticket_id, visible_ticket, Audience, TicketView};
use crate::domain::role::Role;
use crate::domain::scope::Scope;
use crate::error::ApiError;
use crate::http::caller::Bearer;
use crate::http::AppState;

/// Read a ticket.
///
/// With its per-field verification (never the stored values), approvals, comments (agents and API clients see public ones only), notifications and `version`. API clients need `tickets:read`.
#[utoipa::path(
    tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "Ticket id")),
    security(("bearer" = []), ("oauth2" = ["tickets:read"])),
    responses((status = 200, description = "The ticket", body = TicketView))
)]
#[get("/tickets/{id}")]
pub async fn get_ticket(
    state: web::Data<AppState>,
    bearer: Bearer,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let me = bearer.confirm(&state.db, Scope::TicketsRead).await?;
    let tenant = me.acting_for(&[Role::TenantAdmin, Role::Reviewer, Role::Agent], None)?;
    let id = ticket_id(&id)?;
    let view = state
        .db
        .run_for(tenant, move |conn| -> Result<_, ApiError> {
            let t = visible_ticket(conn, me.agency_scope(), tenant, &id)?;
            full_view(conn, tenant, t, Audience::of_caller(&me))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
