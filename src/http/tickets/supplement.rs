//! `POST /api/v1/public/{tenant}/tickets/{number}/supplements`.

use actix_web::{post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{applicants_ticket, env, public_tenant, text, tracking_view, TrackingView};
use crate::audit::RequestMeta;
use crate::db;
use crate::db::tickets::QueueRow;
use crate::domain::ticket::{Action, Actor};
use crate::error::ApiError;
use crate::http::limits::{enforce, Keys};
use crate::http::AppState;
use crate::tickets::flow::{self, Decision};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Supplement {
    pub tracking_code: String,
    /// What the reviewer asked for, 1–2000 characters.
    pub message: String,
}

/// Answer a request for information; the ticket goes back to the queue.
#[utoipa::path(
    tag = "tickets",
    params(
        ("tenant" = String, Path, description = "The tenant's slug"),
        ("number" = String, Path, description = "The ticket number"),
    ),
    request_body = Supplement,
    responses(
        (status = 201, description = "Added; the ticket is pending review again", body = TrackingView),
        (status = 409, description = "The ticket is not waiting for information"),
    )
)]
#[post("/public/{tenant}/tickets/{number}/supplements")]
pub async fn supplement_ticket(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    meta: RequestMeta,
    body: web::Json<Supplement>,
) -> Result<HttpResponse, ApiError> {
    let (slug, number) = path.into_inner();
    let keys = Keys {
        group: "ticket_follow",
        address: meta.ip.as_deref(),
        tenant_slug: Some(&slug),
        tenant: None,
        target: Some(number.trim()),
    };
    enforce(&state, keys).await?;
    let body = body.into_inner();
    let message = text("message", &body.message)?;
    let st = state.clone();
    let view = state
        .db
        .transaction(move |conn| -> Result<_, ApiError> {
            let (tenant, _) = public_tenant(conn, &slug)?;
            db::enter_tenant(conn, tenant)?;
            let t = applicants_ticket(conn, tenant, &number, &body.tracking_code)?;
            let d = Decision { actor: Actor::Applicant, action: Action::Supplement, text: Some(message) };
            let t = flow::apply(conn, &env(&st), &meta, tenant, t, d, None, db::now())?;
            tracking_view(conn, tenant, QueueRow::from(&t))
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}
