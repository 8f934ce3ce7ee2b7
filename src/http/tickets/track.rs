//! `GET /api/v1/public/{tenant}/tickets/{number}`.

use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{applicants_ticket, limit_applicant, tracking_view, TrackingView};
use crate::db::tickets::QueueRow;
use crate::error::ApiError;
use crate::http::extract::Query;
use crate::http::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrackingQuery {
    /// The code shown at submission.
    pub tracking_code: String,
}

/// Follow a work order with its tracking code.
///
/// Status, dates and public comments only. A wrong code, an unknown number and another tenant's ticket are the same 404.
#[utoipa::path(
    tag = "tickets",
    params(
        ("tenant" = String, Path, description = "The tenant's slug"),
        ("number" = String, Path, description = "The ticket number, e.g. WO-20261124-0001"),
        TrackingQuery,
    ),
    responses((status = 200, description = "The ticket as the applicant sees it", body = TrackingView))
)]
#[get("/public/{tenant}/tickets/{number}")]
pub async fn track_ticket(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    meta: crate::audit::RequestMeta,
    q: Query<TrackingQuery>,
) -> Result<HttpResponse, ApiError> {
    let (slug, number) = path.into_inner();
    let (tenant, _, _) = limit_applicant(&state, &meta, &slug, &number).await?;
    let code = q.into_inner().tracking_code;
    let view = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            let t = applicants_ticket(conn, tenant, &number, &code)?;
            tracking_view(conn, tenant, QueueRow::from(&t))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
