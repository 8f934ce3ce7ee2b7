//! `GET /api/v1/tickets`.

use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::TicketSummary;
use crate::db::{self, tickets::QueueFilter};
use crate::domain::role::Role;
use crate::domain::ticket::{TicketKind, TicketStatus};
use crate::error::ApiError;
use crate::http::extract::{Page, PageParams, Query, StaffClaims};
use crate::http::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    pub status: Option<TicketStatus>,
    pub kind: Option<TicketKind>,
    /// `me`, `none` (unassigned), or a staff id.
    pub assignee: Option<String>,
    pub sla_breached: Option<bool>,
}

/// The review queue, newest first.
///
/// Filters by status, kind, assignee (`me`, `none` or a staff id) and SLA breach; keyset paging. Agents see their agency's tickets only. The caller's standing is confirmed in the same round trip as the page.
#[utoipa::path(
    tag = "tickets",
    params(QueueQuery, PageParams),
    security(("bearer" = [])),
    responses((status = 200, description = "A page of tickets", body = Page<TicketSummary>))
)]
#[get("/tickets")]
pub async fn list_tickets(
    state: web::Data<AppState>,
    me: StaffClaims,
    q: Query<QueueQuery>,
    p: Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = p.parse()?;
    let assignee = match q.assignee.as_deref() {
        None => None,
        Some("me") => Some(Some(me.id.to_string())),
        Some("none") => Some(None),
        Some(id) => Some(Some(
            uuid::Uuid::parse_str(id)
                .map_err(|_| ApiError::field("assignee", "invalid", "assignee is me, none or a staff id"))?
                .to_string(),
        )),
    };
    let (status, kind, sla_breached) = (q.status, q.kind, q.sla_breached);
    // The standing is confirmed with the page, in its transaction: one trip
    // to the pool for the busiest route.
    let rows = me
        .run_for(&state.db, &[Role::TenantAdmin, Role::Reviewer, Role::Agent], move |conn, me| {
            let filter = QueueFilter {
                status: status.map(|s| s.as_str().to_owned()),
                kind: kind.map(|k| k.as_str().to_owned()),
                assignee,
                sla_breached,
                agency: me.agency_scope.clone(),
                filing: None,
            };
            Ok(db::tickets::queue(conn, me.tenant, &filter, page.after.as_deref(), page.limit + 1)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, page.limit, |r| r.id.clone(), TicketSummary::from)))
}
