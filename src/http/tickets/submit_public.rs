//! `POST /api/v1/public/{tenant}/tickets`.

use actix_web::{post, web, HttpResponse};

use super::{active_public_tenant, env, SubmittedView};
use crate::audit::RequestMeta;
use crate::domain::ticket::TicketStatus;
use crate::error::ApiError;
use crate::http::extract::Json;
use crate::http::limits::{enforce, Keys};
use crate::http::AppState;
use crate::tickets::submit::{in_submission, submit, Submission, Submitter, TicketRequest};

/// Submit a work order (anyone).
///
/// The answer is the same whether or not the filing exists here; reviewers
/// see how the identity data compared with the filing on file. The tracking
/// code is shown once.
#[utoipa::path(
    tag = "tickets",
    params(("tenant" = String, Path, description = "The tenant's slug")),
    request_body = TicketRequest,
    responses((status = 201, description = "Received", body = SubmittedView))
)]
#[post("/public/{tenant}/tickets")]
pub async fn submit_public_ticket(
    state: web::Data<AppState>,
    tenant: web::Path<String>,
    meta: RequestMeta,
    body: Json<TicketRequest>,
) -> Result<HttpResponse, ApiError> {
    body.refuse_console_claim().map_err(|e| ApiError::Validation(vec![e]))?;
    let s = Submission::parse(&body, chrono::Utc::now().date_naive()).map_err(ApiError::Validation)?;
    let keys = Keys {
        group: "ticket_submit",
        actor: None,
        address: meta.ip.as_deref(),
        tenant_slug: Some(&tenant),
        tenant: None,
        target: Some(s.number.as_str()),
    };
    // The tenant and its settings as the limits read them a moment ago:
    // reading them again would only cost round trips.
    let (tenant_id, tenant, settings) = active_public_tenant(enforce(&state, keys).await?)?;
    let st = state.clone();
    let done = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            in_submission(conn, &st.numbers, tenant_id, |conn, number| {
                Ok(submit(conn, &env(&st), &meta, &tenant, &settings, s, Submitter::Public, number)?)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(SubmittedView {
        number: done.ticket.number,
        tracking_code: done.tracking_code,
        status: TicketStatus::PendingReview,
    }))
}
