//! `GET` and `POST /api/v1/subject/tickets`.

use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::CurrentSubject;
use crate::audit::RequestMeta;
use crate::db::{self, tickets::QueueFilter};
use crate::domain::ticket::{TicketKind, TicketStatus};
use crate::error::ApiError;
use crate::filings::contacts_on_file;
use crate::http::extract::{Json, Page, PageParams, Query};
use crate::http::limits::{enforce, Keys};
use crate::http::tickets::{env, tracking_view, SubmittedView, TrackingView};
use crate::http::AppState;
use crate::tickets::submit::{in_submission, submit, Submission, Submitter, TicketRequest};

/// A ticket a signed-in subject raises about its own filing: the identity
/// is the sign-in's, so only what the kind needs is asked.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "contact_change", "new_phone": "13712345678", "message": "原手机号已停用"}))]
pub struct SubjectTicketRequest {
    /// `contact_change` (the kind a signed-in subject needs: the password
    /// it changes itself).
    pub kind: TicketKind,
    /// The phone to put on file.
    pub new_phone: Option<String>,
    /// The e-mail to put on file.
    pub new_email: Option<String>,
    /// Up to 2,000 characters for the reviewer.
    #[schema(max_length = 2000)]
    pub message: Option<String>,
}

/// Raise a work order about the subject's own filing.
///
/// For a `contact_change` whose phone or e-mail on file no longer works.
/// The ticket's verification shows `"subject": "verified"`; reviewers still
/// decide it (two approvals by default), and old and new contacts are told.
/// Not open to a token narrowed to the password change; rate-limited per
/// filing.
#[utoipa::path(
    tag = "subject",
    request_body = SubjectTicketRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Received", body = SubmittedView),
        (status = 403, description = "`password_change_required`"),
        (status = 422, description = "A kind other than `contact_change`, or no new contact"),
        (status = 429, description = "Too many tickets for this filing"),
    )
)]
#[post("/subject/tickets")]
pub async fn submit_own_ticket(
    state: web::Data<AppState>,
    me: CurrentSubject,
    meta: RequestMeta,
    body: Json<SubjectTicketRequest>,
) -> Result<HttpResponse, ApiError> {
    me.require_full_access()?;
    let body = body.into_inner();
    if body.kind != TicketKind::ContactChange {
        return Err(ApiError::field("kind", "not_allowed", "a signed-in subject raises contact_change tickets"));
    }
    let filing = me.filing;
    let (phone, email) = contacts_on_file(&state.cipher, &filing)?;
    let id_number = crate::filings::open(&state.cipher, &filing.id, "id_number", &filing.id_number_enc)?;
    let request = TicketRequest {
        kind: body.kind,
        filing_number: filing.filing_number.clone(),
        contact_name: filing.responsible_person.clone(),
        phone: phone.as_str().to_owned(),
        id_number,
        email: Some(email.as_str().to_owned()),
        new_phone: body.new_phone,
        new_email: body.new_email,
        message: body.message,
        console_verified: None,
    };
    let s = Submission::parse(&request, chrono::Utc::now().date_naive()).map_err(ApiError::Validation)?;
    let tenant = me.tenant;
    let keys = Keys {
        group: "subject_ticket",
        actor: Some(&filing.id),
        address: meta.ip.as_deref(),
        tenant_slug: None,
        tenant: Some(tenant),
        target: Some(&filing.filing_number),
    };
    enforce(&state, keys).await?;
    let st = state.clone();
    let done = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            in_submission(conn, &st.numbers, tenant, |conn, number| {
                let row = db::tenants::find(conn, tenant)?.ok_or(ApiError::NotFound)?;
                let settings = db::settings::get(conn, tenant)?;
                let by = Submitter::Subject(filing.id.clone());
                Ok(submit(conn, &env(&st), &meta, &row, &settings, s, by, number)?)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(SubmittedView {
        number: done.ticket.number,
        tracking_code: done.tracking_code,
        status: TicketStatus::PendingReview,
    }))
}

/// List the subject's own work orders.
///
/// Newest first, as an applicant sees them. Not open to a token narrowed
/// to the password change.
#[utoipa::path(
    tag = "subject",
    params(PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of tickets", body = Page<TrackingView>),
        (status = 403, description = "`password_change_required`"),
    )
)]
#[get("/subject/tickets")]
pub async fn list_own_tickets(
    state: web::Data<AppState>,
    me: CurrentSubject,
    p: Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    me.require_full_access()?;
    let page = p.parse()?;
    let (tenant, filing) = (me.tenant, me.filing.id);
    let pairs = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            let f = QueueFilter { filing: Some(filing), ..Default::default() };
            let rows = db::tickets::queue(conn, tenant, &f, page.after.as_deref(), page.limit + 1)?;
            rows.into_iter()
                .map(|t| Ok((t.id.clone(), tracking_view(conn, tenant, t)?)))
                .collect::<Result<Vec<_>, ApiError>>()
        })
        .await?;
    let page = Page::from_rows(pairs, page.limit, |(id, _)| id.clone(), |(_, v)| v);
    Ok(HttpResponse::Ok().json(page))
}
