//! `POST /api/v1/public/{tenant}/tickets/{number}/cancel`.

use actix_web::{post, web, HttpResponse};

use super::{applicants_ticket, env, public_tenant, tracking_view, TrackingCode, TrackingView};
use crate::audit::RequestMeta;
use crate::db;
use crate::db::tickets::QueueRow;
use crate::domain::ticket::{Action, Actor};
use crate::error::ApiError;
use crate::http::limits::{enforce, Keys};
use crate::http::AppState;
use crate::tickets::flow::{self, Decision};

/// Withdraw a work order that is still open.
#[utoipa::path(
    tag = "tickets",
    params(
        ("tenant" = String, Path, description = "The tenant's slug"),
        ("number" = String, Path, description = "The ticket number"),
    ),
    request_body = TrackingCode,
    responses(
        (status = 200, description = "Cancelled", body = TrackingView),
        (status = 409, description = "The ticket is already closed"),
    )
)]
#[post("/public/{tenant}/tickets/{number}/cancel")]
pub async fn cancel_ticket(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    meta: RequestMeta,
    body: web::Json<TrackingCode>,
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
    let code = body.into_inner().tracking_code;
    let st = state.clone();
    let view = state
        .db
        .transaction(move |conn| -> Result<_, ApiError> {
            let (tenant, _) = public_tenant(conn, &slug)?;
            db::enter_tenant(conn, tenant)?;
            let t = applicants_ticket(conn, tenant, &number, &code)?;
            let d = Decision { actor: Actor::Applicant, action: Action::Cancel, text: None };
            let t = flow::apply(conn, &env(&st), &meta, tenant, t, d, None, db::now())?;
            tracking_view(conn, tenant, QueueRow::from(&t))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
