//! `GET /api/v1/tickets`.

use actix_web::http::header::ContentType;
use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::TicketSummary;
use crate::db::{self, tickets::QueueFilter};
use crate::domain::filing::FilingNumber;
use crate::domain::role::Role;
use crate::domain::scope::Scope;
use crate::domain::ticket::{TicketKind, TicketStatus};
use crate::error::ApiError;
use crate::http::caller::Bearer;
use crate::http::extract::{Page, PageParams, Query};
use crate::http::AppState;

/// Who may read the queue (agents: their agency's tickets).
const QUEUE_ROLES: &[Role] = &[Role::TenantAdmin, Role::Reviewer, Role::Agent];

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    pub status: Option<TicketStatus>,
    pub kind: Option<TicketKind>,
    /// `me`, `none` (unassigned), or a staff id.
    pub assignee: Option<String>,
    pub sla_breached: Option<bool>,
    /// Tickets for one filing number (e.g. `浙ICP备2021035785号`).
    pub filing_number: Option<String>,
}

/// The review queue, newest first.
///
/// Filters by status, kind, assignee (`me`, `none` or a staff id), SLA breach and filing number; keyset paging. Agents see their agency's tickets only. API clients need `tickets:read`. A staff member's standing is confirmed by the statement sent just before the page, in the same flight, with no transaction around them.
#[utoipa::path(
    tag = "tickets",
    params(QueueQuery, PageParams),
    security(("bearer" = []), ("oauth2" = ["tickets:read"])),
    responses((status = 200, description = "A page of tickets", body = Page<TicketSummary>))
)]
#[get("/tickets")]
pub async fn list_tickets(
    state: web::Data<AppState>,
    bearer: Bearer,
    q: Query<QueueQuery>,
    p: Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = p.parse()?;
    let filing_number = match q.filing_number.as_deref() {
        None => None,
        Some(raw) => Some(FilingNumber::parse(raw).map_err(|e| ApiError::Validation(vec![e]))?.as_str().to_owned()),
    };
    let me_id = match &bearer {
        Bearer::Staff(c) => Some(c.id.to_string()),
        Bearer::Client(_) => None,
    };
    let assignee = match q.assignee.as_deref() {
        None => None,
        Some("me") => Some(Some(me_id.ok_or_else(|| {
            ApiError::field("assignee", "invalid", "an API client holds no tickets: use none or a staff id")
        })?)),
        Some("none") => Some(None),
        Some(id) => Some(Some(
            uuid::Uuid::parse_str(id)
                .map_err(|_| ApiError::field("assignee", "invalid", "assignee is me, none or a staff id"))?
                .to_string(),
        )),
    };
    let filter = QueueFilter {
        status: q.status.map(|s| s.as_str().to_owned()),
        kind: q.kind.map(|k| k.as_str().to_owned()),
        assignee,
        sla_breached: q.sla_breached,
        agency: None,
        filing: None,
        filing_number,
    };
    let rows = match bearer {
        // The busiest route. On PostgreSQL the tenant entered, the standing
        // (a staff member's, or an API client's row) and the page go in one
        // flight from this task; elsewhere, for agents (their agency comes
        // from their row), and once a stop has closed those connections (also
        // while this read waited for one), one trip to a database worker.
        Bearer::Staff(me) => {
            let pipelined = match me.pipelined(&state.db, QUEUE_ROLES)? {
                Some((reads, tenant, check)) => {
                    let (f, after) = (filter.clone(), page.after.clone());
                    db::tickets::queue_pipelined(reads, tenant, check, f, after, page.limit + 1).await?
                }
                None => None,
            };
            match pipelined {
                Some(rows) => rows,
                None => {
                    me.read_for(&state.db, QUEUE_ROLES, move |conn, me| {
                        let filter = QueueFilter { agency: me.agency_scope.clone(), ..filter };
                        Ok(db::tickets::queue(conn, me.tenant, &filter, page.after.as_deref(), page.limit + 1)?)
                    })
                    .await?
                }
            }
        }
        Bearer::Client(c) => {
            let pipelined = match state.db.pipelined() {
                Some(reads) => {
                    let (f, after) = (filter.clone(), page.after.clone());
                    db::tickets::queue_pipelined_for_client(reads, c.tenant, c.standing_key(), f, after, page.limit + 1)
                        .await?
                }
                None => None,
            };
            match pipelined {
                // The page is dropped when the client is not in standing.
                Some((stored, rows)) => {
                    c.confirm_as_stored(stored, Scope::TicketsRead)?;
                    rows
                }
                None => {
                    state
                        .db
                        .read_for(c.tenant, move |conn| -> Result<_, ApiError> {
                            c.confirm(conn, Scope::TicketsRead)?;
                            Ok(db::tickets::queue(conn, c.tenant, &filter, page.after.as_deref(), page.limit + 1)?)
                        })
                        .await?
                }
            }
        }
    };
    let page = Page::from_rows(rows, page.limit, |r| r.id.clone(), TicketSummary::from);
    Ok(HttpResponse::Ok().insert_header(ContentType::json()).body(super::queue_page_json(&page)))
}
