//! `POST /api/v1/tickets`.

use actix_web::{post, web, HttpResponse};

use super::{env, SubmittedView};
use crate::audit::RequestMeta;
use crate::db;
use crate::domain::role::Role;
use crate::domain::scope::Scope;
use crate::domain::ticket::TicketStatus;
use crate::error::ApiError;
use crate::http::caller::{Bearer, Caller};
use crate::http::extract::Json;
use crate::http::limits::{enforce, Keys};
use crate::http::AppState;
use crate::tickets::submit::{in_submission, submit, Submission, Submitter, TicketRequest};

/// Submit a work order for a filing (staff, agents and API clients).
///
/// An agent for a filing its agency holds a current authorization for (unknown and unauthorized look alike: 403 `not_authorized`); a reviewer or tenant admin on a caller's behalf, who then may not approve it; an API client with `tickets:write` for its console's signed-in customer, with `console_verified: true` when the console identified them as the filing's owner (the verification shows `console: verified`; a reviewer still decides). Rate-limited per staff member or client and per filing.
#[utoipa::path(
    tag = "tickets",
    request_body = TicketRequest,
    security(("bearer" = []), ("oauth2" = ["tickets:write"])),
    responses(
        (status = 201, description = "Received", body = SubmittedView),
        (status = 403, description = "An agent without a current authorization for the filing; an API client without `tickets:write` (`insufficient_scope`)"),
        (status = 429, description = "Too many submissions by this staff member or client, or for this filing"),
    )
)]
#[post("/tickets")]
pub async fn submit_ticket(
    state: web::Data<AppState>,
    bearer: Bearer,
    meta: RequestMeta,
    body: Json<TicketRequest>,
) -> Result<HttpResponse, ApiError> {
    let me = bearer.confirm(&state.db, Scope::TicketsWrite).await?;
    let tenant_id = me.acting_for(&[Role::TenantAdmin, Role::Reviewer, Role::Agent], None)?;
    if let Caller::Staff(_) = me {
        body.refuse_console_claim().map_err(|e| ApiError::Validation(vec![e]))?;
    }
    let s = Submission::parse(&body, chrono::Utc::now().date_naive()).map_err(ApiError::Validation)?;
    // Each submission answers which identity fields match the filing on
    // file: limited per caller and per filing, so nobody learns a stored
    // phone or ID number by trying candidates.
    let (group, actor) = match &me {
        Caller::Staff(s) => ("staff_ticket", s.id.to_string()),
        Caller::Client(c) => ("client_ticket", c.id.clone()),
    };
    let keys = Keys {
        group,
        actor: Some(&actor),
        address: None,
        tenant_slug: None,
        tenant: Some(tenant_id),
        target: Some(s.number.as_str()),
    };
    enforce(&state, keys).await?;
    let st = state.clone();
    let agency = me.agency_scope().map(str::to_owned);
    let by = match &me {
        Caller::Staff(s) => Submitter::Staff { id: s.id, agency: agency.clone() },
        Caller::Client(c) => {
            Submitter::Client { id: c.id.clone(), console_verified: body.console_verified == Some(true) }
        }
    };
    let done = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            in_submission(conn, &st.numbers, tenant_id, |conn, number| {
                let now = db::now();
                if let Some(agency) = &agency {
                    // Unknown and unauthorized filings look the same to an agent.
                    let filing = db::filings::find_by_number(conn, tenant_id, s.number.as_str())?;
                    let authorized = match &filing {
                        Some(f) => db::agencies::is_authorized(conn, tenant_id, agency, &f.id, now)?,
                        None => false,
                    };
                    if !authorized {
                        return Err(ApiError::Forbidden {
                            code: "not_authorized",
                            detail: "your agency holds no current authorization for this filing".into(),
                        });
                    }
                }
                let tenant = db::tenants::find(conn, tenant_id)?.ok_or(ApiError::NotFound)?;
                let settings = db::settings::get(conn, tenant_id)?;
                Ok(submit(conn, &env(&st), &meta, &tenant, &settings, s, by, number)?)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(SubmittedView {
        number: done.ticket.number,
        tracking_code: done.tracking_code,
        status: TicketStatus::PendingReview,
    }))
}
